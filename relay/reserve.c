#include "relay/reserve.h"

#include "crypto/hl_err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

struct hl_reserve {
	char path[PATH_MAX];
	char dir[PATH_MAX];
	int64_t bytes;
	int held;
};

/* Does the file at path hold bytes of allocated space? */
static int
file_holds(const char *path, int64_t bytes)
{
	struct stat st;
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	return st.st_size >= bytes && (int64_t)st.st_blocks * 512 >= bytes;
}

/* Allocates the file; on any failure removes what was made. */
static int
make_file(struct hl_reserve *rv, char *cause)
{
	int fd = open(rv->path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return hl_fail(cause, HL_EIO, "%s: %s", rv->path,
		    strerror(errno));
	/* posix_fallocate returns the error itself; a file system without
	 * fallocate gets glibc's emulation, which writes every block. */
	int err = posix_fallocate(fd, 0, (off_t)rv->bytes);
	if (err == 0 && fsync(fd) != 0)
		err = errno;
	close(fd);
	if (err != 0) {
		unlink(rv->path);
		return hl_fail(cause, err == ENOSPC ? HL_EDISKFULL : HL_EIO,
		    "%s: %s", rv->path, strerror(err));
	}
	return 0;
}

int
hl_reserve_open(const char *path, int64_t bytes, struct hl_reserve **out,
    char *cause)
{
	*out = NULL;
	if (bytes <= 0 || strlen(path) >= PATH_MAX)
		return hl_fail(cause, HL_EINVAL, "reserve: bad size or path");
	struct hl_reserve *rv = calloc(1, sizeof *rv);
	if (rv == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	snprintf(rv->path, sizeof rv->path, "%s", path);
	snprintf(rv->dir, sizeof rv->dir, "%s", path);
	char *slash = strrchr(rv->dir, '/');
	if (slash == NULL)
		snprintf(rv->dir, sizeof rv->dir, ".");
	else if (slash == rv->dir)
		rv->dir[1] = '\0';
	else
		*slash = '\0';
	rv->bytes = bytes;
	rv->held = file_holds(path, bytes);
	if (!rv->held) {
		/* A first start, another size, or a start on a full disk:
		 * then the writer tries again later. */
		char why[HL_CAUSE_MAX];
		rv->held = make_file(rv, why) == 0;
	}
	*out = rv;
	return 0;
}

void
hl_reserve_free(struct hl_reserve *rv)
{
	free(rv);
}

int
hl_reserve_held(const struct hl_reserve *rv)
{
	return rv->held;
}

int
hl_reserve_release(struct hl_reserve *rv)
{
	int was = rv->held;
	/* Removed even when not counted as held: a half-made file is space
	 * too. */
	unlink(rv->path);
	rv->held = 0;
	return was;
}

int
hl_reserve_restore(struct hl_reserve *rv, char *cause)
{
	if (rv->held)
		return 0;
	struct statvfs vfs;
	if (statvfs(rv->dir, &vfs) != 0)
		return hl_fail(cause, HL_EIO, "%s: %s", rv->dir,
		    strerror(errno));
	/* Twice over: making the reserve must not itself fill the disk
	 * again at once. */
	if ((int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize < 2 * rv->bytes)
		return hl_fail(cause, HL_EDISKFULL, "%s: not enough room yet",
		    rv->dir);
	int rc = make_file(rv, cause);
	if (rc == 0)
		rv->held = 1;
	return rc;
}
