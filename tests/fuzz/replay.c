/*
 * Replays a fuzzer's inputs without libFuzzer: every file named on the
 * command line, and every regular file of every directory named there
 * (sorted, dot files skipped), goes once through LLVMFuzzerTestOneInput in
 * a buffer of exactly its size, so that an over-read shows under the
 * sanitizers or valgrind. A broken property aborts inside the target; a
 * file that cannot be read, or no input at all, fails the run here.
 *
 *   replay_<name> [-v] PATH...
 *
 * -v names each input on stderr before it runs, so that the last name
 * printed before a crash is the input that caused it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

/* Seed inputs are small by rule; anything bigger is a mistake. */
#define INPUT_MAX (4 * 1024 * 1024)

struct run {
	const char *name;
	int verbose;
	size_t count;
};

static int
read_file(const char *path, uint8_t **out, size_t *outlen)
{
	struct stat st;
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) != 0 || st.st_size > INPUT_MAX) {
		fprintf(stderr, "replay: %s: unreadable or over %d bytes\n",
		    path, INPUT_MAX);
		fclose(f);
		return -1;
	}
	size_t len = (size_t)st.st_size;
	/* At least one byte so that an empty input still has a valid,
	 * distinct pointer, as libFuzzer gives. */
	uint8_t *buf = malloc(len ? len : 1);
	if (buf == NULL || fread(buf, 1, len, f) != len) {
		fprintf(stderr, "replay: %s: read failed\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	*out = buf;
	*outlen = len;
	return 0;
}

static int
run_file(struct run *r, const char *path)
{
	uint8_t *data;
	size_t len;
	if (read_file(path, &data, &len) != 0)
		return -1;
	if (r->verbose)
		fprintf(stderr, "replay: %s: %s (%zu bytes)\n", r->name, path,
		    len);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	r->count++;
	return 0;
}

static int
skip_entry(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static int
run_dir(struct run *r, const char *dir)
{
	struct dirent **list;
	int n = scandir(dir, &list, skip_entry, alphasort);
	int rc = 0;
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		int len = snprintf(path, sizeof path, "%s/%s", dir,
		    list[i]->d_name);
		if (len < 0 || (size_t)len >= sizeof path) {
			fprintf(stderr, "replay: %s/%s: path too long\n", dir,
			    list[i]->d_name);
			rc = -1;
		} else if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    run_file(r, path) != 0) {
			rc = -1;
		}
		free(list[i]);
	}
	free(list);
	return rc;
}

/* "replay_content" -> "content", for the summary line. */
static const char *
fuzzer_name(const char *argv0)
{
	const char *base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	if (strncmp(base, "replay_", 7) == 0 && base[7] != '\0')
		return base + 7;
	return base;
}

int
main(int argc, char **argv)
{
	struct run r = { .name = fuzzer_name(argv[0]), .verbose = 0, .count = 0 };
	int first = 1, failed = 0;
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		r.verbose = 1;
		first = 2;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: %s [-v] FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = first; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			failed = 1;
		} else if (S_ISDIR(st.st_mode)) {
			failed |= run_dir(&r, argv[i]) != 0;
		} else {
			failed |= run_file(&r, argv[i]) != 0;
		}
	}
	if (r.count == 0) {
		fprintf(stderr, "replay: %s: no inputs\n", r.name);
		failed = 1;
	}
	if (failed) {
		printf("== fuzz-replay: %s: FAILED after %zu inputs\n", r.name,
		    r.count);
		return 1;
	}
	printf("== fuzz-replay: %s: %zu inputs ok\n", r.name, r.count);
	return 0;
}
