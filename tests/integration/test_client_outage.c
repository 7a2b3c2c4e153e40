/*
 * The outbox across failures, with real processes: a relay that is down
 * when a message is sent (it stays queued, and goes once the relay is
 * back), and a client killed with SIGKILL after storing a message and
 * before the relay answered (the next run sends it). Either way the
 * recipient sees the message exactly once. Every test has its own relay
 * and profiles, removed in teardown even when it fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/hl_testassert.h"
#include "tests/lib/hl_testclient.h"

#define TRIES 40
#define AWAIT_MS 90000

static void
assert_state(json_t *m, const char *want)
{
	const char *got = hl_test_json_str(m, "state");
	if (got == NULL || strcmp(got, want) != 0) {
		char *dump = json_dumps(m, JSON_COMPACT);
		fprintf(stderr, "want state %s in %s\n", want, dump ? dump : "?");
		free(dump);
	}
	assert_non_null(got);
	assert_string_equal(got, want);
}

static json_int_t
outbound(struct hl_test_client *c, const char *state)
{
	json_t *o = hl_test_client_overview(c);
	assert_non_null(o);
	json_int_t n = json_integer_value(json_object_get(
	    json_object_get(o, "outbound"), state));
	json_decref(o);
	return n;
}

/* The inbox holds body exactly once, under id, with nothing missing. */
static void
assert_once(struct hl_test_client *c, const char *id, const char *body)
{
	json_t *inbox = hl_test_client_inbox(c);
	assert_non_null(inbox);
	assert_int_equal(hl_test_json_count(inbox, "body", body), 1);
	assert_int_equal(hl_test_json_count(inbox, "id", id), 1);
	json_decref(inbox);
	json_t *o = hl_test_client_overview(c);
	assert_non_null(o);
	assert_int_equal(json_array_size(json_object_get(o, "missing")), 0);
	assert_int_equal(json_array_size(json_object_get(o, "held")), 0);
	json_decref(o);
}

/* One `--json send`: its exit code must be want, its only line the
 * message, its stderr must hold err_has (unless NULL); the id goes to id. */
static json_t *
send_json(struct hl_test_client *c, int want, char *id, const char *to,
    const char *text, const char *err_has)
{
	struct hl_test_run r;
	hl_test_client_run(c, &r, "--json", "send", to, text, NULL);
	hl_test_expect(&r, want);
	if (err_has != NULL && strstr(r.err, err_has) == NULL)
		hl_test_run_print(&r);
	assert_true(err_has == NULL || strstr(r.err, err_has) != NULL);
	json_t *lines = hl_test_run_json(&r);
	if (lines == NULL || json_array_size(lines) != 1)
		hl_test_run_print(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	assert_int_equal(json_array_size(lines), 1);
	json_t *m = json_incref(json_array_get(lines, 0));
	json_decref(lines);
	const char *s = hl_test_json_str(m, "id");
	assert_non_null(s);
	assert_int_equal(strlen(s), 32);
	memcpy(id, s, 33);
	return m;
}

static void
test_relay_down_then_back(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "down.a");
	struct hl_test_client *b = hl_test_client_of(w, "down.b");
	struct hl_test_client *c = hl_test_client_of(w, "down.c");
	struct hl_test_run r;
	char id0[33], id1[33], id2[33];

	/* a and b have a session already; a and c do not. */
	json_t *m = send_json(a, 0, id0, "down.b", "before the outage",
	    NULL);
	assert_state(m, "sent");
	json_decref(m);
	m = hl_test_client_await(b, id0, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);

	assert_int_equal(hl_test_relay_stop(&w->relay, SIGTERM, NULL), 0);

	/* Stored and kept: an outage is not a failure. */
	m = send_json(a, 0, id1, "down.b", "during the outage",
	    "relay unreachable");
	assert_state(m, "queued");
	assert_non_null(hl_test_json_str(m, "times.queued"));
	assert_null(hl_test_json_str(m, "times.sent"));
	json_decref(m);
	m = send_json(a, 0, id2, "down.c", "to a new contact, during the outage",
	    "relay unreachable");
	assert_state(m, "queued");
	json_decref(m);
	hl_test_client_run(a, &r, "send", "down.b", "human output", NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "queued"));
	hl_test_run_free(&r);
	/* Waiting for the relay ends at the timeout, still queued: 10. */
	hl_test_client_run(a, &r, "--json", "send", "down.b", "--wait-for",
	    "relay", "--timeout", "2s", "waited for in vain", NULL);
	hl_test_expect(&r, 10);
	assert_non_null(strstr(r.out, "\"queued\""));
	hl_test_run_free(&r);

	/* An ack given meanwhile is kept, and says so. */
	hl_test_client_run(b, &r, "--json", "ack", id0, "--response", "received",
	    NULL);
	hl_test_expect(&r, 0);
	json_t *ack = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(ack);
	assert_true(json_is_false(json_object_get(json_array_get(ack, 0),
	    "ack_sent")));
	json_decref(ack);

	/* sync says the relay is away, and keeps everything. */
	hl_test_client_run(a, &r, "--json", "sync", NULL);
	hl_test_expect(&r, 6);
	hl_test_run_free(&r);
	assert_int_equal(outbound(a, "queued"), 4);
	m = hl_test_client_message(a, id1);
	assert_non_null(m);
	assert_state(m, "queued");
	assert_non_null(hl_test_json_str(m, "reason"));
	json_decref(m);

	assert_int_equal(hl_test_relay_restart(&w->relay), 0);

	/* The next syncs send them all (each as soon as its retry is due). */
	m = hl_test_client_await(a, id1, "sent", TRIES, AWAIT_MS);
	assert_non_null(m);
	assert_state(m, "sent");
	assert_true(hl_test_json_time(m, "times.sent") >
	    hl_test_json_time(m, "times.queued"));
	json_decref(m);
	m = hl_test_client_await(a, id2, "sent", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	for (int i = 0; i < TRIES && outbound(a, "queued") > 0; i++) {
		hl_test_client_run(a, &r, "sync", "--wait", "1", NULL);
		hl_test_run_free(&r);
	}
	assert_int_equal(outbound(a, "queued"), 0);

	/* Each recipient sees each message once, in order. */
	m = hl_test_client_await(b, id1, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	m = hl_test_client_await_body(b, "waited for in vain", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	m = hl_test_client_await(c, id2, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	hl_test_client_run(b, &r, "sync", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	assert_once(b, id0, "before the outage");
	assert_once(b, id1, "during the outage");
	assert_once(c, id2, "to a new contact, during the outage");
	json_t *inbox = hl_test_client_inbox(b);
	assert_non_null(inbox);
	/* In the order written. */
	static const char *const order[] = { "before the outage",
	    "during the outage", "human output", "waited for in vain" };
	assert_int_equal(json_array_size(inbox), 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(hl_test_json_str(json_array_get(inbox, i),
		    "body"), order[i]);
	json_decref(inbox);

	/* Their receipts come back (delivered), and the ack given during
	 * the outage arrives once b's retry of it is due. */
	m = hl_test_client_await(a, id1, "delivered", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	m = NULL;
	for (int i = 0; i < TRIES && m == NULL; i++) {
		hl_test_client_run(b, &r, "sync", "--wait", "1", NULL);
		hl_test_run_free(&r);
		m = hl_test_client_await(a, id0, "acknowledged", 1, AWAIT_MS);
	}
	assert_non_null(m);
	hl_test_assert_four_times(m);
	json_decref(m);
}

/* Waits until c's outbox shows n queued messages, polled from another
 * process while the sender still runs (the profile is in WAL mode). */
static void
await_queued(struct hl_test_client *c, json_int_t n)
{
	json_int_t got = -1;
	long long deadline = hl_test_now_ms() + AWAIT_MS;
	for (int i = 0; i < 200 && hl_test_now_ms() < deadline; i++) {
		got = outbound(c, "queued");
		if (got >= n)
			break;
		hl_test_sleep_ms(100);
	}
	assert_int_equal(got, n);
}

/* The sender dies by SIGKILL while its request hangs on a relay that
 * accepted the connection but answers nothing (stopped by SIGSTOP). */
static void
killed_while_sending(struct hl_test_world *w, struct hl_test_client *a,
    const char *to, const char *text)
{
	struct hl_test_run send;
	const char *args[] = { "send", to, text, NULL };
	assert_int_equal(kill(w->relay.pid, SIGSTOP), 0);
	assert_int_equal(hl_test_client_start(a, &send, args), 0);
	await_queued(a, 1);
	/* Time to write the request into the relay's socket (whether it
	 * did or not, the retry must be harmless). */
	hl_test_sleep_ms(700);
	assert_int_equal(kill(send.pid, SIGKILL), 0);
	hl_test_client_finish(a, &send, 30000);
	assert_int_equal(send.signal, SIGKILL);
	hl_test_run_free(&send);
	assert_int_equal(kill(w->relay.pid, SIGCONT), 0);
}

/* The killed run never recorded a failed attempt, so nothing delays the
 * retry: the next run sends it. */
static void
sent_by_next_run(struct hl_test_client *a, const char *id)
{
	struct hl_test_run r;
	hl_test_client_run(a, &r, "sync", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	json_t *m = hl_test_client_message(a, id);
	assert_non_null(m);
	assert_state(m, "sent");
	json_decref(m);
}

static void
test_sigkill_between_store_and_send(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "kill.a");
	struct hl_test_client *b = hl_test_client_of(w, "kill.b");
	struct hl_test_client *c = hl_test_client_of(w, "kill.c");
	struct hl_test_run r;
	char id0[33];

	/* With a session: the message is encrypted, stored and POSTed. */
	json_t *m = send_json(a, 0, id0, "kill.b", "warm up", NULL);
	json_decref(m);
	killed_while_sending(w, a, "kill.b", "sent by a process that died");

	json_t *stored = NULL;
	hl_test_client_run(a, &r, "--json", "status", NULL);
	hl_test_expect(&r, 0);
	json_t *lines = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	stored = json_incref(hl_test_json_find(lines, "body",
	    "sent by a process that died"));
	json_decref(lines);
	assert_non_null(stored);
	assert_state(stored, "queued");
	char id1[33];
	snprintf(id1, sizeof id1, "%s", hl_test_json_str(stored, "id"));
	json_decref(stored);

	sent_by_next_run(a, id1);
	m = hl_test_client_await(b, id1, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);

	/* Without a session: the bundle request is what hangs. */
	killed_while_sending(w, a, "kill.c", "first words, interrupted");
	hl_test_client_run(a, &r, "--json", "status", NULL);
	hl_test_expect(&r, 0);
	lines = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	stored = hl_test_json_find(lines, "body", "first words, interrupted");
	assert_non_null(stored);
	char id2[33];
	snprintf(id2, sizeof id2, "%s", hl_test_json_str(stored, "id"));
	json_decref(lines);
	sent_by_next_run(a, id2);
	m = hl_test_client_await(c, id2, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);

	/* More syncs bring nothing twice. */
	for (int i = 0; i < 2; i++) {
		hl_test_client_run(b, &r, "sync", NULL);
		hl_test_expect(&r, 0);
		hl_test_run_free(&r);
		hl_test_client_run(c, &r, "sync", NULL);
		hl_test_expect(&r, 0);
		hl_test_run_free(&r);
	}
	assert_once(b, id0, "warm up");
	assert_once(b, id1, "sent by a process that died");
	assert_once(c, id2, "first words, interrupted");
	assert_int_equal(outbound(a, "queued"), 0);
	m = hl_test_client_await(a, id1, "delivered", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_relay_down_then_back, hl_test_setup_world,
		    hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_sigkill_between_store_and_send,
		    hl_test_setup_world, hl_test_teardown_world),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
