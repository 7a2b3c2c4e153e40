/*
 * A relay at scale: 10,000 accounts and 1,000,000 queued 1 KiB messages.
 * The stores are built once through relay/store.h (no HTTP: that would
 * take longer than the whole benchmark budget) and cached under
 * $HOTLINE_BUILD/bench/scale/; later runs reuse them. A real hotline-relay
 * then serves each store and this program measures:
 *
 *   - the relay's RSS serving the 1,000,000-message store;
 *   - database bytes per queued message;
 *   - the fetch latency for one recipient with 10 messages queued, in the
 *     1,000,000-message store and, as its ceiling, in a store with the
 *     same 10,000 accounts and 10,000 messages in all: it must not grow
 *     with the total queue.
 *
 *   bench_scale [FETCHES]     (default 50)
 */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/hl_err.h"
#include "tests/bench/bench_keys.h"
#include "tests/bench/store_fill.h"
#include "tests/lib/hl_testapi.h"
#include "tests/lib/hl_testrelay.h"

#define ACCOUNTS 10000
#define BIG 1000000L
#define SMALL 10000L
#define PROBE_QUEUED 10
#define BODY_BYTES 1024
#define BATCH 5000
#define FETCHES_MAX 1000

static long long
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_scale: %s\n", what);
	exit(1);
}

static void
handle_of(int i, char *out, size_t n)
{
	snprintf(out, n, "acct%05d.scale", i);
}

/* Queues total messages: PROBE_QUEUED for account 0 (the probe), the rest
 * spread over the other accounts, from senders in turn, BATCH per
 * commit. */
static void
fill_messages(const char *path, const int64_t *ids, long total)
{
	char url[600], cause[256] = "", from[64], to[64];
	struct hl_store *st = NULL;
	snprintf(url, sizeof url, "sqlite:%s", path);
	if (hl_store_open(url, 0, 1, &st, cause) != 0)
		die(cause);
	uint8_t body[BODY_BYTES];
	long done = 0;
	while (done < total) {
		if (st->ops->batch_begin(st, cause) != 0)
			die(cause);
		for (long k = 0; k < BATCH && done < total; k++, done++) {
			int r = done < PROBE_QUEUED ? 0 :
			    1 + (int)(done % (ACCOUNTS - 1));
			int s = (r + 1 + (int)(done % 97)) % ACCOUNTS;
			handle_of(r, to, sizeof to);
			handle_of(s, from, sizeof from);
			/* Fresh bytes in every body so that nothing in the
			 * file is smaller than real ciphertext would be. */
			randombytes_buf(body, sizeof body);
			if (store_fill_message(st, ids[s], from, to, body,
			    sizeof body, cause) != 0)
				die(cause);
		}
		if (st->ops->batch_commit(st, cause) != 0)
			die(cause);
	}
	hl_store_close(st);
}

/* Builds base (the accounts), then the two stores from copies of it. The
 * probe's token goes to dir/probe.token; dir/ready marks the end. */
static void
build(const char *dir)
{
	char path[600], small[600], big[600], url[640], cause[256] = "";
	char handle[64], token[HL_SECRET_TOKEN_HEX + 1];
	snprintf(path, sizeof path, "%s/base.db", dir);
	snprintf(small, sizeof small, "%s/small.db", dir);
	snprintf(big, sizeof big, "%s/big.db", dir);
	unlink(path);
	unlink(small);
	unlink(big);
	snprintf(url, sizeof url, "sqlite:%s", path);
	struct hl_store *st = NULL;
	if (hl_store_open(url, 1, 1, &st, cause) != 0)
		die(cause);
	int64_t *ids = calloc(ACCOUNTS, sizeof *ids);
	if (ids == NULL)
		die("out of memory");
	long long t0 = now_us();
	for (int i = 0; i < ACCOUNTS; i++) {
		handle_of(i, handle, sizeof handle);
		if (store_fill_account(st, handle, &ids[i], i == 0 ? token :
		    NULL, cause) != 0)
			die(cause);
	}
	if (st->ops->backup(st, small, cause) != 0 ||
	    st->ops->backup(st, big, cause) != 0)
		die(cause);
	hl_store_close(st);
	unlink(path);
	long long t1 = now_us();
	fill_messages(small, ids, SMALL);
	fill_messages(big, ids, BIG);
	long long t2 = now_us();
	printf("built once: %d accounts in %.1f s, %ld + %ld messages in "
	    "%.1f s (%.0f msg/s through relay/store.h, %d per commit)\n",
	    ACCOUNTS, (t1 - t0) / 1e6, SMALL, BIG, (t2 - t1) / 1e6,
	    (SMALL + BIG) / ((t2 - t1) / 1e6), BATCH);
	free(ids);
	snprintf(path, sizeof path, "%s/probe.token", dir);
	FILE *f = fopen(path, "w");
	if (f == NULL || fprintf(f, "%s\n", token) < 0 || fclose(f) != 0)
		die("cannot write the probe's token");
	sodium_memzero(token, sizeof token);
	snprintf(path, sizeof path, "%s/ready", dir);
	if ((f = fopen(path, "w")) == NULL || fclose(f) != 0)
		die("cannot mark the stores ready");
}

static long
file_bytes(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

static double
rss_mb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	double kb = -1;
	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtod(line + 6, NULL);
	if (f != NULL)
		fclose(f);
	return kb / 1024;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct served {
	double fetch_ms;        /* median */
	double fetch_p99_ms;
	double rss_mb;
	long items;
};

/* Serves the store at path with a real relay and fetches the probe's
 * queue n times (no ack: the same 10 items each time). */
static void
serve(const char *path, const struct hl_test_account *probe, int n,
    struct served *out)
{
	struct hl_test_relay r;
	char url[640];
	if (hl_test_relay_new(&r) != 0)
		die("cannot set up a relay (is hotline-relay built?)");
	snprintf(url, sizeof url, "sqlite:%s", path);
	hl_test_relay_set(&r, "store", "url", url);
	if (hl_test_relay_start(&r) != 0)
		die("the relay did not start on the store");
	double *ms = calloc((size_t)n, sizeof *ms);
	if (ms == NULL)
		die("out of memory");
	out->items = -1;
	for (int i = 0; i < n; i++) {
		json_t *j = NULL;
		long long t0 = now_us();
		long status = hl_test_api_fetch(&r, probe, 0, &j);
		ms[i] = (now_us() - t0) / 1000.0;
		if (status != 200)
			die("a fetch was refused");
		out->items = (long)json_array_size(json_object_get(j,
		    "messages"));
		json_decref(j);
	}
	qsort(ms, (size_t)n, sizeof *ms, cmp_d);
	out->fetch_ms = ms[n / 2];
	out->fetch_p99_ms = ms[(int)(0.99 * (n - 1))];
	out->rss_mb = rss_mb(r.pid);
	free(ms);
	hl_test_relay_free(&r);
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 50;
	if (argc > 2 || n < 1 || n > FETCHES_MAX) {
		fprintf(stderr, "usage: bench_scale [FETCHES (1..%d)]\n",
		    FETCHES_MAX);
		return 2;
	}
	if (sodium_init() < 0)
		die("libsodium");
	const char *b = getenv("HOTLINE_BUILD");
	char dir[512], path[600], small[600], big[600];
	snprintf(dir, sizeof dir, "%s/bench/scale", b ? b : "build");
	snprintf(path, sizeof path, "mkdir -p '%s'", dir);
	if (system(path) != 0)
		die("cannot make the cache folder");
	snprintf(path, sizeof path, "%s/ready", dir);
	if (access(path, F_OK) != 0)
		build(dir);
	else
		printf("stores cached in %s (remove the folder to build them "
		    "again)\n", dir);
	snprintf(small, sizeof small, "%s/small.db", dir);
	snprintf(big, sizeof big, "%s/big.db", dir);

	struct hl_test_account probe;
	handle_of(0, probe.handle, sizeof probe.handle);
	snprintf(path, sizeof path, "%s/probe.token", dir);
	FILE *f = fopen(path, "r");
	if (f == NULL || fgets(probe.token, sizeof probe.token, f) == NULL)
		die("the probe's token is missing: remove the cache folder");
	fclose(f);
	probe.token[strcspn(probe.token, "\n")] = '\0';

	struct served s10k, s1m;
	serve(small, &probe, n, &s10k);
	serve(big, &probe, n, &s1m);
	double bytes = (double)(file_bytes(big) - file_bytes(small)) /
	    (double)(BIG - SMALL);
	char wal[640];
	snprintf(wal, sizeof wal, "%s-wal", big);

	printf("\na relay holding %d accounts and %ld queued 1 KiB messages, "
	    "against the same\naccounts with %ld; the recipient measured has "
	    "%d queued in both; %d fetches each\n(GET /v1/messages, no ack)\n\n",
	    ACCOUNTS, BIG, SMALL, PROBE_QUEUED, n);
	printf("%-44s %12s %12s %7s\n", "measure", "1,000,000", "10,000",
	    "ratio");
	printf("%-44s %12.2f %12.2f %6.2fx\n", "fetch of 10 items, median ms",
	    s1m.fetch_ms, s10k.fetch_ms, s1m.fetch_ms / s10k.fetch_ms);
	printf("%-44s %12.2f %12.2f %6.2fx\n", "fetch of 10 items, p99 ms",
	    s1m.fetch_p99_ms, s10k.fetch_p99_ms,
	    s1m.fetch_p99_ms / s10k.fetch_p99_ms);
	printf("%-44s %12.1f %12.1f\n", "relay RSS after the fetches, MB",
	    s1m.rss_mb, s10k.rss_mb);
	printf("%-44s %12ld %12ld\n", "items in each answer", s1m.items,
	    s10k.items);
	printf("%-44s %12.0f\n", "database bytes per queued message", bytes);
	printf("%-44s %12ld\n", "the big store's file, bytes", file_bytes(big));
	printf("\nbytes per message: the big store's file less the small "
	    "one's (the same accounts),\nover the messages between them; "
	    "each body is 1,024 random bytes.\n");
	bench_key("fetch_ms_1m", s1m.fetch_ms);
	bench_key("fetch_ms_10k", s10k.fetch_ms);
	bench_key("relay_rss_mb_1m", s1m.rss_mb);
	bench_key("relay_db_bytes_per_msg", bytes);
	return 0;
}
