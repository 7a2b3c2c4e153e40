/*
 * hotline-drill: runs a scenario file against a throwaway relay and real
 * hotline clients (hotline-drill(1)).
 */
#include "client/harden.h"
#include "client/sanitize.h"
#include "client/scenario.h"
#include "client/scenario_run.h"
#include "client/version.h"
#include "crypto/hl_err.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
on_signal(int sig)
{
	(void)sig;
	hl_scenario_interrupt();
}

/* A program beside this one, else on PATH. */
static int
find_program(const char *name, char *out, size_t len)
{
	char self[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			snprintf(out, len, "%s/%s", self, name);
			if (access(out, X_OK) == 0)
				return 0;
		}
	}
	const char *path = getenv("PATH");
	if (path == NULL)
		return -1;
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *s = buf, *dir; (dir = strsep(&s, ":")) != NULL;) {
		if (*dir == '\0')
			continue;
		snprintf(out, len, "%s/%s", dir, name);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	while (buf != NULL) {
		if (n == cap) {
			if (cap > HL_SCENARIO_MAX_BYTES)
				break;
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: hotline-drill [--check] [--verbose] FILE\n"
	    "Runs a scenario against a throwaway relay on 127.0.0.1 and real "
	    "hotline clients.\n--check only parses FILE. See hotline-drill(1).\n");
}

int
main(int argc, char **argv)
{
	int check_only = 0, verbose = 0, i = 1;
	/* The runner writes its profiles' passphrases and opens their vaults
	 * in-process: the same protection as hotline itself. */
	if (hl_harden_process() != 0)
		fprintf(stderr, "hotline-drill: warning: core dumps could not be turned off\n");
	setlocale(LC_ALL, "");
	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--check") == 0)
			check_only = 1;
		else if (strcmp(argv[i], "--verbose") == 0)
			verbose = 1;
		else if (strcmp(argv[i], "--version") == 0) {
			printf("hotline-drill %s\n", HL_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i + 1 != argc) {
		usage(stderr);
		return 2;
	}
	const char *file = argv[i];
	size_t len = 0;
	char *text = slurp(file, &len);
	if (text == NULL) {
		fprintf(stderr, "hotline-drill: %s: %s\n", file,
		    errno ? strerror(errno) : "cannot read it");
		return 2;
	}
	char cause[HL_CAUSE_MAX] = "";
	struct hl_scenario *s = NULL;
	int rc = hl_scenario_parse(text, len, file, &s, cause);
	free(text);
	if (rc != 0) {
		/* The cause quotes the scenario's bytes. */
		char *c = hl_sanitize(cause, strlen(cause), HL_SANITIZE_ONELINE);
		fprintf(stderr, "hotline-drill: %s\n", c ? c : cause);
		free(c);
		return 2;
	}
	if (check_only) {
		printf("%s: %zu steps, well formed\n", file, s->n);
		hl_scenario_free(s);
		return 0;
	}
	char hotline[PATH_MAX], relay[PATH_MAX];
	if (find_program("hotline", hotline, sizeof hotline) != 0 ||
	    find_program("hotline-relay", relay, sizeof relay) != 0) {
		fprintf(stderr, "hotline-drill: hotline and hotline-relay must be "
		    "beside hotline-drill or on PATH\n");
		hl_scenario_free(s);
		return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed pipe on our output must not leave a relay behind. */
	signal(SIGPIPE, SIG_IGN);
	struct hl_scenario_opts o = {
		.file = file, .hotline = hotline, .relay = relay, .verbose = verbose,
	};
	rc = hl_scenario_run(s, &o);
	hl_scenario_free(s);
	return rc;
}
