/*
 * The terminal interface's first complete frame over a big history: a
 * profile with 100,000 stored messages (10 contacts, 10,000 each, a FLASH
 * waiting), then, in a fresh process each time, the profile opened and
 * the time from there to the first frame drawn (the store read and the
 * screen written, 80x24, to /dev/null), with the process's peak RSS.
 * Beside it, in the same run, the ceilings it is made of: one page of the
 * conversation read from the store, and the same screen drawn by bare
 * ncurses from memory.
 *
 *   bench_tui [RUNS]       prints tui_first_frame_ms_100k (median of RUNS,
 *                          default 5) and client_rss_mb_100k
 *   bench_tui --populate DB   only makes the profile (to profile the frame)
 *   bench_tui --frame DB      one first frame over it
 */
#include <curses.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/cli.h"
#include "client/config.h"
#include "client/store.h"
#include "client/tui.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"
#include "crypto/hl_time.h"
#include "tests/bench/bench_keys.h"

#define PASS "bench tui passphrase"
#define CONTACTS 10
#define PER_CONTACT 10000
#define RUNS_MAX 21

static void
die(const char *what, const char *cause)
{
	fprintf(stderr, "bench_tui: %s: %s\n", what, cause ? cause : "failed");
	exit(1);
}

static void
populate(const char *db)
{
	struct hl_kdf_params kdf;
	struct hl_crypto *c;
	char cause[HL_CAUSE_MAX] = "";
	hl_kdf_params_minimum(&kdf);
	if (hl_crypto_create(db, PASS, strlen(PASS), &kdf, &c, cause) != 0)
		die("create", cause);
	if (hl_store_init(c, cause) != 0)
		die("store", cause);
	struct hl_account a;
	memset(&a, 0, sizeof a);
	snprintf(a.relay, sizeof a.relay, "http://127.0.0.1:9");
	snprintf(a.handle, sizeof a.handle, "bench.me");
	memset(a.token, 'a', HL_TOKEN_HEX);
	a.registered_ms = hl_now_ms();
	if (hl_store_account_put(c, &a) != 0)
		die("account", NULL);
	int64_t t0 = hl_now_ms() - (int64_t)CONTACTS * PER_CONTACT * 1000;
	for (int k = 0; k < CONTACTS * PER_CONTACT; k++) {
		if (k % 5000 == 0 && hl_crypto_begin(c) != 0)
			die("begin", NULL);
		struct hl_msg m;
		char peer[32], body[160];
		int64_t seq;
		memset(&m, 0, sizeof m);
		snprintf(peer, sizeof peer, "c%02d.cert", k % CONTACTS);
		if (hl_content_new_id(m.content.id) != 0 ||
		    hl_store_next_seq(c, peer, &seq) != 0)
			die("id", NULL);
		memcpy(m.id, m.content.id, sizeof m.id);
		int in = k % 3 != 0;
		int last = k == CONTACTS * PER_CONTACT - 1;
		m.content.v = 1;
		m.content.kind = HL_KIND_TEXT;
		m.content.prio = last ? HL_PRIO_FLASH : k % 50 == 0 ? HL_PRIO_URGENT :
		    HL_PRIO_ROUTINE;
		snprintf(m.content.from, sizeof m.content.from, "%s",
		    in ? peer : "bench.me");
		m.created_ms = m.content.sent = t0 + (int64_t)k * 1000;
		m.content.seq = seq;
		snprintf(body, sizeof body, "Message %d of the history: indicators "
		    "and actions as a duty desk writes them, long enough to wrap "
		    "once at eighty columns.", k);
		m.content.body = strdup(body);
		m.dir = in ? HL_IN : HL_OUT;
		snprintf(m.peer, sizeof m.peer, "%s", peer);
		m.state = in ? (last ? HL_ST_NEW : k % 50 == 0 ?
		    HL_ST_ACKNOWLEDGED : HL_ST_READ) : HL_ST_DELIVERED;
		if (hl_store_msg_insert(c, &m) != 0)
			die("insert", NULL);
		hl_msg_clear(&m);
		if ((k % 5000 == 4999 || last) && hl_crypto_commit(c) != 0)
			die("commit", NULL);
	}
	hl_crypto_close(c);
}

static double
peak_rss_mb(void)
{
	char line[256];
	double mb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			mb = strtod(line + 6, NULL) / 1024.0;
	fclose(f);
	return mb;
}

static int
count_one(struct hl_msg *m, void *arg)
{
	(void)m;
	(*(int *)arg)++;
	return 0;
}

/* In a fresh process: open, first frame; then the two ceilings. Prints
 * "frame_ms rss_mb page_ms bare_ms". */
static int
frame(const char *db)
{
	struct hl_cli cli;
	struct hl_tui *t;
	char cause[HL_CAUSE_MAX] = "";
	FILE *in = fopen("/dev/null", "r"), *out = fopen("/dev/null", "w");
	if (in == NULL || out == NULL)
		die("/dev/null", strerror(errno));
	memset(&cli, 0, sizeof cli);
	if (hl_client_config_load(NULL, 0, &cli.cfg, cause) != 0)
		die("config", cause);
	if (hl_crypto_open(db, PASS, strlen(PASS), &cli.crypto, cause) != 0)
		die("open", cause);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (hl_tui_open(&cli, in, out, &t, cause) != 0)
		die("tui", cause);
	hl_tui_first_frame(t);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double frame_ms = (double)(b.tv_sec - a.tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	double rss = peak_rss_mb();
	/* Ceiling 1: one page of one conversation from the store. */
	int n = 0;
	struct hl_msg_query q = { .dir = -1, .state = -1, .peer = "c09.cert",
	    .exclude_receipts = 1, .before_rowid = INT64_MAX, .limit = 64 };
	clock_gettime(CLOCK_MONOTONIC, &a);
	hl_store_msg_each(cli.crypto, &q, count_one, &n);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double page_ms = (double)(b.tv_sec - a.tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	/* Ceiling 2: the same screen from memory, bare ncurses. */
	clock_gettime(CLOCK_MONOTONIC, &a);
	erase();
	for (int y = 0; y < LINES; y++)
		mvaddstr(y, 0, "Message 99999 of the history: indicators and "
		    "actions as a duty desk writes them, long");
	refresh();
	clock_gettime(CLOCK_MONOTONIC, &b);
	double bare_ms = (double)(b.tv_sec - a.tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	hl_tui_close(t);
	hl_crypto_close(cli.crypto);
	fclose(in);
	fclose(out);
	if (n != 64)
		die("page", "not 64 messages");
	printf("%.3f %.1f %.3f %.3f\n", frame_ms, rss, page_ms, bare_ms);
	return 0;
}

static int
cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

int
main(int argc, char **argv)
{
	setenv("TERM", "xterm-256color", 1);
	setenv("LINES", "24", 1);
	setenv("COLUMNS", "80", 1);
	setenv("LC_ALL", "C.UTF-8", 1);
	if (argc == 3 && strcmp(argv[1], "--frame") == 0)
		return frame(argv[2]);
	/* For profiling the frame: make the profile once, keep it. */
	if (argc == 3 && strcmp(argv[1], "--populate") == 0) {
		populate(argv[2]);
		return 0;
	}
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	if (runs < 1 || runs > RUNS_MAX) {
		fprintf(stderr, "usage: bench_tui [RUNS (1..%d)]\n", RUNS_MAX);
		return 2;
	}
	char dir[] = "/tmp/hl-bench-tui.XXXXXX", db[64], p[80];
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", strerror(errno));
	snprintf(db, sizeof db, "%s/c.db", dir);
	int64_t s0 = hl_mono_ms();
	populate(db);
	printf("terminal interface, first frame over %d stored messages (%d "
	    "contacts), 80x24, stored in %.1f s\n\n", CONTACTS * PER_CONTACT,
	    CONTACTS, (double)(hl_mono_ms() - s0) / 1000.0);
	double fr[RUNS_MAX], rss[RUNS_MAX], pg[RUNS_MAX], bare[RUNS_MAX];
	int ok = 1;
	for (int i = 0; i < runs && ok; i++) {
		int fd[2];
		if (pipe(fd) != 0)
			die("pipe", strerror(errno));
		pid_t pid = fork();
		if (pid == 0) {
			dup2(fd[1], STDOUT_FILENO);
			close(fd[0]);
			close(fd[1]);
			execl("/proc/self/exe", argv[0], "--frame", db, (char *)NULL);
			_exit(127);
		}
		close(fd[1]);
		char buf[256] = "";
		ssize_t n = read(fd[0], buf, sizeof buf - 1);
		close(fd[0]);
		int st;
		waitpid(pid, &st, 0);
		if (n <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
		    sscanf(buf, "%lf %lf %lf %lf", &fr[i], &rss[i], &pg[i],
		    &bare[i]) != 4)
			ok = 0;
	}
	snprintf(p, sizeof p, "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", db);
	unlink(p);
	unlink(db);
	rmdir(dir);
	if (!ok)
		die("frame run", NULL);
	qsort(fr, (size_t)runs, sizeof *fr, cmp);
	qsort(rss, (size_t)runs, sizeof *rss, cmp);
	qsort(pg, (size_t)runs, sizeof *pg, cmp);
	qsort(bare, (size_t)runs, sizeof *bare, cmp);
	int mid = runs / 2;
	printf("%-44s %10s\n", "measure (median of runs, each a new process)",
	    "value");
	printf("%-44s %10.1f\n", "tui_first_frame_ms_100k", fr[mid]);
	printf("%-44s %10.1f\n", "client_rss_mb_100k", rss[mid]);
	bench_key("tui_first_frame_ms_100k", fr[mid]);
	bench_key("client_rss_mb_100k", rss[mid]);
	printf("%-44s %10.2f\n", "ceiling: one page from the store, ms", pg[mid]);
	printf("%-44s %10.2f\n", "ceiling: bare ncurses 80x24 frame, ms", bare[mid]);
	printf("\nfirst frame: from the profile opened (the key derived) to the "
	    "screen written: contacts and their counts, the awaiting list, one "
	    "page of the open conversation, drawn.\n");
	return 0;
}
