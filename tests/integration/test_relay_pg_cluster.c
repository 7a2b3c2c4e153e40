/* Two relay processes on one PostgreSQL database (a throwaway cluster of
 * the test's own): clients on relay A and relay B exchange 1,000 messages
 * with acknowledgements, each delivered once and in order; 32 concurrent
 * bundle requests split across both relays hand out distinct prekeys; a
 * relay killed with SIGKILL mid-load loses nothing once its clients move
 * to the other; PostgreSQL restarted mid-load makes the relays answer 503,
 * then they recover by themselves and nothing accepted is lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "tests/lib/hl_testapi.h"
#include "tests/lib/hl_testhttp.h"
#include "tests/lib/hl_testpg.h"
#include "tests/lib/hl_testrelay.h"

#define EXCHANGE 500           /* each way: 1,000 in all */
#define CONCURRENT 32
#define PREKEYS 10
#define LOAD 200
#define LOAD_MAX 20000         /* a sender that waits out an outage */
#define AFTER_OUTAGE 50        /* sent once the database is back */
#define RETRIES 600            /* 503 answers one message may get */

static struct hl_test_pg pg;
static struct hl_test_relay ra, rb;
static char url[256];

static void
pause_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

static int
relay_on(struct hl_test_relay *r)
{
	if (hl_test_relay_new(r) != 0)
		return -1;
	hl_test_relay_set(r, "store", "url", url);
	hl_test_relay_set(r, "server", "threads", "8");
	hl_test_relay_set(r, "limits", "bundle_rate_per_hour", "100000");
	hl_test_relay_set(r, "limits", "max_queue_per_recipient", "100000");
	hl_test_relay_set(r, "limits", "max_queue_per_sender", "100000");
	if (hl_test_relay_write_config(r) != 0)
		return -1;
	/* Both run init: the second finds the schema made. */
	char err[1024];
	static const char *const init[] = { "init", NULL };
	if (hl_test_relay_cmd(r, NULL, 0, err, sizeof err, init) != 0) {
		fprintf(stderr, "init: %s\n", err);
		return -1;
	}
	return hl_test_relay_start(r);
}

static int
group_setup(void **state)
{
	(void)state;
	if (hl_test_pg_start(&pg) != 0 ||
	    hl_test_pg_createdb(&pg, "cluster", url, sizeof url) != 0)
		return -1;
	return relay_on(&ra) == 0 && relay_on(&rb) == 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	hl_test_relay_free(&ra);
	hl_test_relay_free(&rb);
	hl_test_pg_free(&pg);
	return 0;
}

/* Sends (from, id, text) until the relay answers 202, on r and then, if
 * r stops answering, on other. Returns the status of the last answer. */
static long
send_retrying(struct hl_test_relay **r, struct hl_test_relay *other,
    const struct hl_test_account *from, const char *to, const char *id,
    const char *text, atomic_int *unavailable)
{
	long status = 0;
	for (int i = 0; i < RETRIES; i++) {
		struct hl_test_http res;
		int rc = hl_test_api_send(*r, from, to, id, text, &res);
		status = res.status;
		hl_test_http_free(&res);
		if (rc == 0 && status == 202)
			return status;
		if (rc == 0 && status == 503 && unavailable != NULL)
			(*unavailable)++;
		if (rc != 0 && other != NULL)
			*r = other;             /* the relay is gone: move */
		pause_ms(50);
	}
	return status;
}

struct sender {
	pthread_t thread;
	struct hl_test_relay *relay;
	struct hl_test_relay *fallback;
	const struct hl_test_account *from;
	const char *to;
	int count;
	/* Sends past count until it has been told 503 and then sent
	 * AFTER_OUTAGE more, so a fast machine cannot finish its load
	 * before the outage it is meant to meet (at most LOAD_MAX). */
	int through_outage;
	int failed;
	atomic_int sent;
	atomic_int unavailable;
};

static void *
send_all(void *p)
{
	struct sender *s = p;
	int outage_met = 0;
	for (int i = 0; i < s->count; i++) {
		char id[33], text[32];
		hl_test_api_id(id);
		snprintf(text, sizeof text, "m%d", i);
		if (send_retrying(&s->relay, s->fallback, s->from, s->to, id,
		    text, &s->unavailable) != 202)
			s->failed++;
		atomic_store(&s->sent, i + 1);
		if (!s->through_outage)
			continue;
		if (!outage_met && atomic_load(&s->unavailable) > 0) {
			outage_met = 1;
			if (s->count < i + 1 + AFTER_OUTAGE)
				s->count = i + 1 + AFTER_OUTAGE;
		}
		if (!outage_met && i + 1 == s->count && s->count < LOAD_MAX)
			s->count++;
	}
	return NULL;
}

/* Fetches on r (moving to other when r is gone) and acknowledges until
 * want messages came; seen[i] counts message "m<i>" and the order is
 * checked: each text arrives after the one before it. */
static int
receive_all(struct hl_test_relay *r, struct hl_test_relay *other,
    const struct hl_test_account *who, int want, int *seen, int *in_order)
{
	int got = 0, last = -1;
	*in_order = 1;
	for (int round = 0; round < 4000 && got < want; round++) {
		json_t *j = NULL;
		long st = hl_test_api_fetch(r, who, 5, &j);
		if (st == 0 && other != NULL)
			r = other;
		if (st != 200) {
			json_decref(j);
			pause_ms(50);
			continue;
		}
		json_t *items = json_object_get(j, "messages");
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it) {
			const char *b64 = json_string_value(json_object_get(it,
			    "body"));
			unsigned char text[64];
			size_t n = 0;
			if (b64 == NULL || sodium_base642bin(text,
			    sizeof text - 1, b64, strlen(b64), NULL, &n, NULL,
			    sodium_base64_VARIANT_ORIGINAL) != 0)
				continue;
			text[n] = '\0';
			int k = atoi((const char *)text + 1);
			if (k < 0 || k >= want)
				continue;
			if (seen[k]++ == 0)
				got++;
			if (k <= last)
				*in_order = 0;
			last = k;
		}
		/* An ack lost with a killed relay: the items come again. */
		if (json_array_size(items) > 0 &&
		    hl_test_api_ack_all(r, who, j) < 0 && other != NULL)
			r = other;
		json_decref(j);
	}
	return got;
}

static void
check_once(const int *seen, int n)
{
	for (int i = 0; i < n; i++)
		if (seen[i] != 1)
			fail_msg("message m%d arrived %d times", i, seen[i]);
}

static void
test_exchange_across_relays(void **state)
{
	(void)state;
	struct hl_test_account x, y;
	assert_int_equal(hl_test_relay_account(&ra, "cx.alice", 1, &x), 0);
	assert_int_equal(hl_test_relay_account(&rb, "cx.bob", 1, &y), 0);
	/* alice talks to relay A only, bob to relay B only. */
	struct sender sx = { .relay = &ra, .from = &x, .to = "cx.bob",
		.count = EXCHANGE };
	struct sender sy = { .relay = &rb, .from = &y, .to = "cx.alice",
		.count = EXCHANGE };
	assert_int_equal(pthread_create(&sx.thread, NULL, send_all, &sx), 0);
	assert_int_equal(pthread_create(&sy.thread, NULL, send_all, &sy), 0);
	static int seen_x[EXCHANGE], seen_y[EXCHANGE];
	int order_x = 0, order_y = 0;
	int got_y = receive_all(&rb, NULL, &y, EXCHANGE, seen_y, &order_y);
	int got_x = receive_all(&ra, NULL, &x, EXCHANGE, seen_x, &order_x);
	pthread_join(sx.thread, NULL);
	pthread_join(sy.thread, NULL);
	assert_int_equal(sx.failed, 0);
	assert_int_equal(sy.failed, 0);
	assert_int_equal(got_x, EXCHANGE);
	assert_int_equal(got_y, EXCHANGE);
	check_once(seen_x, EXCHANGE);
	check_once(seen_y, EXCHANGE);
	assert_true(order_x);
	assert_true(order_y);
	/* Everything acknowledged: nothing left on either relay. */
	json_t *j = NULL;
	assert_int_equal(hl_test_api_fetch(&ra, &y, 0, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "messages")), 0);
	json_decref(j);
}

/* A long-poll parked on B wakes when the message commits through A. */
struct poller {
	pthread_t thread;
	const struct hl_test_account *who;
	long status;
	size_t n;
};

static void *
poll_b(void *p)
{
	struct poller *q = p;
	json_t *j = NULL;
	q->status = hl_test_api_fetch(&rb, q->who, 25, &j);
	q->n = json_array_size(json_object_get(j, "messages"));
	json_decref(j);
	return NULL;
}

static void
test_long_poll_across_relays(void **state)
{
	(void)state;
	struct hl_test_account s, r;
	assert_int_equal(hl_test_relay_account(&ra, "lp.sender", 1, &s), 0);
	assert_int_equal(hl_test_relay_account(&ra, "lp.reader", 1, &r), 0);
	struct poller q = { .who = &r };
	assert_int_equal(pthread_create(&q.thread, NULL, poll_b, &q), 0);
	pause_ms(500);
	char id[33];
	hl_test_api_id(id);
	struct hl_test_http res;
	assert_int_equal(hl_test_api_send(&ra, &s, "lp.reader", id, "hi",
	    &res), 0);
	assert_int_equal(res.status, 202);
	hl_test_http_free(&res);
	pthread_join(q.thread, NULL);
	assert_int_equal(q.status, 200);
	assert_int_equal(q.n, 1);
}

struct fetcher {
	pthread_t thread;
	struct hl_test_relay *relay;
	const struct hl_test_account *who;
	pthread_barrier_t *start;
	long status;
	long prekey_id;
};

static void *
fetch_bundle(void *p)
{
	struct fetcher *f = p;
	struct hl_test_http res;
	pthread_barrier_wait(f->start);
	f->prekey_id = -1;
	for (int i = 0; i < 50; i++) {
		hl_test_api(f->relay, "GET", "/v1/keys/pk.target", NULL,
		    f->who->token, &res);
		f->status = res.status;
		json_t *j = hl_test_http_json(&res);
		json_t *pk = json_object_get(j, "prekey");
		if (pk != NULL)
			f->prekey_id = (long)json_integer_value(
			    json_object_get(pk, "id"));
		json_decref(j);
		hl_test_http_free(&res);
		/* 503: two relays raced for one row; asked again. */
		if (f->status != 503)
			break;
		pause_ms(20);
	}
	return NULL;
}

static void
test_prekeys_across_relays(void **state)
{
	(void)state;
	struct hl_test_account target, requester;
	assert_int_equal(hl_test_relay_account(&ra, "pk.target", PREKEYS,
	    &target), 0);
	assert_int_equal(hl_test_relay_account(&rb, "pk.req", 1, &requester),
	    0);
	static struct fetcher f[CONCURRENT];
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, CONCURRENT);
	for (int i = 0; i < CONCURRENT; i++) {
		f[i].relay = i % 2 ? &rb : &ra;
		f[i].who = &requester;
		f[i].start = &start;
		assert_int_equal(pthread_create(&f[i].thread, NULL,
		    fetch_bundle, &f[i]), 0);
	}
	for (int i = 0; i < CONCURRENT; i++)
		pthread_join(f[i].thread, NULL);
	pthread_barrier_destroy(&start);
	int with = 0, seen[PREKEYS + 1] = { 0 };
	for (int i = 0; i < CONCURRENT; i++) {
		assert_int_equal(f[i].status, 200);
		if (f[i].prekey_id < 0)
			continue;
		with++;
		assert_true(f[i].prekey_id >= 1 && f[i].prekey_id <= PREKEYS);
		seen[f[i].prekey_id]++;
	}
	assert_int_equal(with, PREKEYS);
	for (int id = 1; id <= PREKEYS; id++)
		assert_int_equal(seen[id], 1);
}

static void
test_relay_killed_mid_load(void **state)
{
	(void)state;
	struct hl_test_account s, r;
	assert_int_equal(hl_test_relay_account(&ra, "kill.sender", 1, &s), 0);
	assert_int_equal(hl_test_relay_account(&ra, "kill.reader", 1, &r), 0);
	/* The sender starts on A and moves to B when A dies; the reader
	 * reads on B (an ack lost with A would only bring items again). */
	struct sender snd = { .relay = &ra, .fallback = &rb, .from = &s,
		.to = "kill.reader", .count = LOAD };
	assert_int_equal(pthread_create(&snd.thread, NULL, send_all, &snd), 0);
	pause_ms(300);
	assert_int_equal(hl_test_relay_stop(&ra, SIGKILL, NULL), 0);
	static int seen[LOAD];
	int order = 0;
	int got = receive_all(&rb, NULL, &r, LOAD, seen, &order);
	pthread_join(snd.thread, NULL);
	assert_int_equal(snd.failed, 0);
	assert_int_equal(got, LOAD);
	check_once(seen, LOAD);
	assert_true(order);
	/* A comes back for the tests after this one. */
	assert_int_equal(hl_test_relay_restart(&ra), 0);
}

static void
test_database_restart_mid_load(void **state)
{
	(void)state;
	struct hl_test_account s, r;
	assert_int_equal(hl_test_relay_account(&ra, "db.sender", 1, &s), 0);
	assert_int_equal(hl_test_relay_account(&rb, "db.reader", 1, &r), 0);
	struct sender snd = { .relay = &ra, .from = &s, .to = "db.reader",
		.count = LOAD, .through_outage = 1 };
	assert_int_equal(pthread_create(&snd.thread, NULL, send_all, &snd), 0);
	/* Mid-load: some accepted before the database goes away. */
	for (int i = 0; i < 600 && atomic_load(&snd.sent) < LOAD / 4; i++)
		pause_ms(10);
	assert_int_equal(hl_test_pg_stop(&pg), 0);
	/* Down until the sender has been told 503 (bounded). */
	for (int i = 0; i < 600 && atomic_load(&snd.unavailable) == 0; i++)
		pause_ms(50);
	long during = hl_test_api_health(&rb);
	assert_int_equal(hl_test_pg_start(&pg), 0);
	/* The sender ends by itself once AFTER_OUTAGE more got through. */
	pthread_join(snd.thread, NULL);
	assert_true(atomic_load(&snd.unavailable) > 0);
	assert_true(during == 200 || during == 503);
	assert_int_equal(snd.failed, 0);
	static int seen[LOAD_MAX];
	int order = 0;
	int got = receive_all(&rb, NULL, &r, snd.count, seen, &order);
	assert_int_equal(got, snd.count);
	check_once(seen, snd.count);
	assert_true(order);
}

/* Runs one statement on the test's database with psql. */
static int
psql(const char *statement)
{
	char prog[192], log[192];
	snprintf(prog, sizeof prog, "%s/psql", pg.bindir);
	snprintf(log, sizeof log, "%s/psql.log", pg.dir);
	const char *argv[] = { prog, "-X", "-q", "-v", "ON_ERROR_STOP=1",
	    "-h", pg.dir, "-U", "hotline", "-d", "cluster", "-c", statement,
	    NULL };
	pid_t pid;
	int status = 0;
	if (hl_test_spawn(argv, log, log, &pid) != 0 ||
	    hl_test_wait(pid, 30000, &status) != 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The version table decides: a database a newer relay has upgraded is
 * refused with a clear message; init here changes nothing. */
static void
test_schema_version_table(void **state)
{
	(void)state;
	char out[1024], err[1024];
	static const char *const stats[] = { "stats", NULL };
	assert_int_equal(hl_test_relay_cmd(&ra, out, sizeof out, err,
	    sizeof err, stats), 0);
	assert_int_equal(psql("INSERT INTO hotline_schema (version)"
	    " VALUES (99)"), 0);
	assert_true(hl_test_relay_cmd(&ra, out, sizeof out, err, sizeof err,
	    stats) != 0);
	assert_non_null(strstr(err, "newer than this relay knows"));
	assert_int_equal(psql("DELETE FROM hotline_schema WHERE version = 99"),
	    0);
	static const char *const init[] = { "init", NULL };
	assert_int_equal(hl_test_relay_cmd(&ra, out, sizeof out, err,
	    sizeof err, init), 0);
	assert_int_equal(hl_test_relay_cmd(&ra, out, sizeof out, err,
	    sizeof err, stats), 0);
}

int
main(void)
{
	if (!hl_test_pg_available()) {
		fprintf(stderr, "PostgreSQL's server is not installed; "
		    "run make deps\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exchange_across_relays),
		cmocka_unit_test(test_long_poll_across_relays),
		cmocka_unit_test(test_prekeys_across_relays),
		cmocka_unit_test(test_relay_killed_mid_load),
		cmocka_unit_test(test_database_restart_mid_load),
		cmocka_unit_test(test_schema_version_table),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
