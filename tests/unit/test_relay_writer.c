/* The writer thread on a real store: a write is committed and completed; a
 * batch whose transaction cannot even begin (another connection holds the
 * database's write lock past the busy timeout) completes its writes with
 * HL_EDB and logs the store's own reason, quoted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/hl_err.h"
#include "relay/store.h"
#include "relay/writer.h"

struct done {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int n;
};

static void
on_done(struct hl_write *w, void *arg)
{
	(void)w;
	struct done *d = arg;
	pthread_mutex_lock(&d->lock);
	d->n++;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void
wait_done(struct done *d, int n)
{
	pthread_mutex_lock(&d->lock);
	while (d->n < n)
		pthread_cond_wait(&d->cond, &d->lock);
	pthread_mutex_unlock(&d->lock);
}

static void
test_commit_failure_logged(void **state)
{
	(void)state;
	assert_true(sodium_init() >= 0);
	char dir[] = "/tmp/hl-unit-writer.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64], url[80], errpath[64];
	snprintf(path, sizeof path, "%s/relay.db", dir);
	snprintf(url, sizeof url, "sqlite:%s", path);
	snprintf(errpath, sizeof errpath, "%s/stderr", dir);
	struct hl_store *st = NULL;
	char cause[HL_CAUSE_MAX];
	assert_int_equal(hl_store_open(url, 1, 1, &st, cause), 0);

	/* The log goes to stderr: keep it in a file for the test. */
	fflush(stderr);
	int saved = dup(2);
	int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);

	struct hl_writer_config wc;
	memset(&wc, 0, sizeof wc);
	wc.retention_ms = 86400000;
	wc.purge_interval_ms = 86400000;
	wc.max_batch = 8;
	struct hl_writer *wr = NULL;
	assert_int_equal(hl_writer_start(st, &wc, NULL, NULL, NULL, &wr, cause),
	    0);
	struct done d = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	    0 };
	/* An ack for an account that does not exist: refused, but its batch
	 * commits (and the first purge has run before it). */
	int64_t qid = 1;
	struct hl_write w1;
	memset(&w1, 0, sizeof w1);
	w1.kind = HL_WRITE_ACK;
	w1.account = 42;
	w1.qids = &qid;
	w1.nqids = 1;
	w1.done = on_done;
	w1.arg = &d;
	assert_int_equal(hl_writer_submit(wr, &w1), 0);
	wait_done(&d, 1);
	assert_int_equal(w1.rc, HL_EAUTH);

	/* Someone else holds the write lock: the next batch cannot begin. */
	sqlite3 *other = NULL;
	assert_int_equal(sqlite3_open_v2(path, &other, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL), SQLITE_OK);
	struct hl_write w2 = w1;
	w2.rc = 0;
	assert_int_equal(hl_writer_submit(wr, &w2), 0);
	wait_done(&d, 2);
	assert_int_equal(w2.rc, HL_EDB);
	assert_non_null(strstr(w2.cause, "cannot accept writes"));
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	hl_writer_stop(wr);
	hl_writer_free(wr);
	hl_store_close(st);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char log[4096] = "";
	FILE *f = fopen(errpath, "r");
	assert_non_null(f);
	size_t n = fread(log, 1, sizeof log - 1, f);
	log[n] = '\0';
	fclose(f);
	char p[112];
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
		unlink(p);
	}
	unlink(errpath);
	rmdir(dir);
	if (strstr(log, "level=error event=commit writes=1 error=") == NULL ||
	    strstr(log, "cause=\"cannot begin: database is locked\"") == NULL)
		fail_msg("no commit line with its cause in:\n%s", log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_failure_logged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
