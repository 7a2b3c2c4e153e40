#include "client/zone.h"
#include "crypto/hl_err.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The name's form first, so that nothing like "../" ever reaches a path. */
static int
form_ok(const char *z)
{
	size_t comp = 0;
	if (strlen(z) > 64)
		return 0;
	for (const char *p = z; ; p++) {
		if (*p == '/' || *p == '\0') {
			if (comp == 0)
				return 0;    /* empty component, leading or trailing '/' */
			if (*p == '\0')
				return 1;
			comp = 0;
			continue;
		}
		int letter = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z');
		if (comp == 0 && !letter)
			return 0;
		if (!letter && !(*p >= '0' && *p <= '9') && strchr("_-+", *p) == NULL)
			return 0;
		comp++;
	}
}

int
hl_zone_check(const char *zone, char *cause)
{
	char path[512], magic[4];
	struct stat st;
	if (zone == NULL || *zone == '\0')
		return 0;
	if (!form_ok(zone))
		return hl_fail(cause, HL_EUSAGE, "--timezone: '%s' is not a zone "
		    "name such as Europe/Tallinn", zone);
	const char *dir = getenv("TZDIR");
	if (dir == NULL || *dir != '/')
		dir = "/usr/share/zoneinfo";
	snprintf(path, sizeof path, "%s/%s", dir, zone);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    read(fd, magic, sizeof magic) == (ssize_t)sizeof magic &&
	    memcmp(magic, "TZif", 4) == 0;
	if (fd >= 0)
		close(fd);
	if (!ok)
		return hl_fail(cause, HL_EUSAGE, "--timezone: '%s' is not a zone "
		    "this system knows (%s); check the spelling, e.g. "
		    "Europe/Helsinki", zone, dir);
	return 0;
}
