/*
 * Acknowledged messaging between real `hotline` profiles through a real
 * relay: the round trip and its four timestamps, `send --wait-for` and its
 * exit codes, acks by prefix and `last`, overdue deadlines and escalation
 * to the alternate, and the command line's refusals. Every test has its
 * own relay and profiles, removed in teardown even when it fails.
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

#define TRIES 30
#define AWAIT_MS 60000

static void
test_round_trip_acknowledged(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "rt.a");
	struct hl_test_client *b = hl_test_client_of(w, "rt.b");
	struct hl_test_run r;
	char id[33];

	assert_int_equal(hl_test_client_send(a, id, "rt.b", "--urgent",
	    "--ack-within", "1h", "Phishing wave; IOCs follow", NULL), 0);
	json_t *m = hl_test_client_message(a, id);
	assert_non_null(m);
	hl_test_assert_str(m, "state", "sent");
	hl_test_assert_str(m, "priority", "urgent");
	assert_non_null(hl_test_json_str(m, "ack_by"));
	json_decref(m);

	/* The receiver gets it (and so sends the receipt), then acks it. */
	m = hl_test_client_await(b, id, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	hl_test_assert_str(m, "dir", "in");
	hl_test_assert_str(m, "peer", "rt.a");
	hl_test_assert_str(m, "body", "Phishing wave; IOCs follow");
	json_decref(m);
	hl_test_client_run(b, &r, "--json", "ack", id, "--response",
	    "will-comply", "Blocking", "now", NULL);
	hl_test_expect(&r, 0);
	m = hl_test_only_line(&r);
	hl_test_run_free(&r);
	hl_test_assert_str(m, "state", "acknowledged");
	hl_test_assert_str(m, "ack.response", "will-comply");
	hl_test_assert_str(m, "ack.note", "Blocking now");
	assert_true(json_is_true(json_object_get(m, "ack_sent")));
	json_decref(m);

	/* The receiver's own view keeps the response and the note. */
	json_t *inbox = hl_test_client_inbox(b);
	assert_non_null(inbox);
	assert_int_equal(json_array_size(inbox), 1);
	m = hl_test_json_find(inbox, "id", id);
	assert_non_null(m);
	hl_test_assert_str(m, "state", "acknowledged");
	hl_test_assert_str(m, "ack.response", "will-comply");
	hl_test_assert_str(m, "ack.note", "Blocking now");
	assert_true(hl_test_json_time(m, "times.new") > 0);
	assert_true(hl_test_json_time(m, "times.acknowledged") >=
	    hl_test_json_time(m, "times.new"));
	json_decref(inbox);

	/* The sender: acknowledged, with all four times in order. */
	m = hl_test_client_await(a, id, "acknowledged", TRIES, AWAIT_MS);
	assert_non_null(m);
	hl_test_assert_str(m, "state", "acknowledged");
	hl_test_assert_str(m, "ack.response", "will-comply");
	hl_test_assert_str(m, "ack.note", "Blocking now");
	hl_test_assert_four_times(m);
	json_decref(m);

	json_t *o = hl_test_client_overview(a);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(
	    json_object_get(o, "outbound"), "acknowledged")), 1);
	assert_int_equal(json_array_size(json_object_get(o, "missing")), 0);
	json_decref(o);

	/* Nothing is acknowledged twice. */
	hl_test_client_run(b, &r, "ack", id, NULL);
	assert_int_not_equal(r.exit_code, 0);
	assert_non_null(strstr(r.err, "acknowledged already"));
	hl_test_run_free(&r);
}

static void
test_wait_for_ack_in_time(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "wa.a");
	struct hl_test_client *b = hl_test_client_of(w, "wa.b");
	struct hl_test_run send, r;
	const char *text = "acknowledge this while I wait";
	const char *args[] = { "--json", "send", "wa.b", "--wait-for", "ack",
	    "--timeout", "90s", text, NULL };

	assert_int_equal(hl_test_client_start(a, &send, args), 0);
	json_t *m = hl_test_client_await_body(b, text, TRIES, AWAIT_MS);
	assert_non_null(m);
	const char *id = hl_test_json_str(m, "id");
	assert_non_null(id);
	hl_test_client_run(b, &r, "ack", id, "--response", "need-info",
	    "which hosts?", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);

	hl_test_client_finish(a, &send, 120000);
	hl_test_expect(&send, 0);
	json_t *out = hl_test_only_line(&send);
	hl_test_run_free(&send);
	hl_test_assert_str(out, "id", id);
	hl_test_assert_str(out, "state", "acknowledged");
	hl_test_assert_str(out, "ack.response", "need-info");
	hl_test_assert_str(out, "ack.note", "which hosts?");
	hl_test_assert_four_times(out);
	json_decref(out);
	json_decref(m);
}

static void
test_wait_for_timeouts(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "wt.a");
	struct hl_test_client *b = hl_test_client_of(w, "wt.b");
	struct hl_test_run r, send;

	/* Nobody fetches: the message only reaches the relay. */
	hl_test_client_run(a, &r, "--json", "send", "wt.b", "--wait-for", "ack",
	    "--timeout", "2s", "nobody reads this yet", NULL);
	hl_test_expect(&r, 11);
	json_t *m = hl_test_only_line(&r);
	hl_test_run_free(&r);
	hl_test_assert_str(m, "state", "sent");
	assert_null(hl_test_json_str(m, "times.delivered"));
	json_decref(m);

	/* The receiver fetches (a receipt goes back) but does not ack. */
	const char *text = "delivered, never acknowledged";
	const char *args[] = { "--json", "send", "wt.b", "--wait-for", "ack",
	    "--timeout", "12s", text, NULL };
	assert_int_equal(hl_test_client_start(a, &send, args), 0);
	long long started = hl_test_now_ms();
	m = hl_test_client_await_body(b, text, TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	long long receipt_out = hl_test_now_ms() - started;
	hl_test_client_finish(a, &send, 120000);
	m = hl_test_only_line(&send);
	/* The exit code is the state reached; when the receipt left in the
	 * first half of the wait, that state is delivered. */
	if (hl_test_json_str(m, "times.delivered") != NULL) {
		hl_test_expect(&send, 12);
		hl_test_assert_str(m, "state", "delivered");
	} else {
		hl_test_expect(&send, 11);
		hl_test_assert_str(m, "state", "sent");
		assert_true(receipt_out > 6000);
	}
	hl_test_run_free(&send);
	json_decref(m);

	/* --wait-for relay: done once the relay has it. */
	hl_test_client_run(a, &r, "--json", "send", "wt.b", "--wait-for", "relay",
	    "--timeout", "60s", "only to the relay", NULL);
	hl_test_expect(&r, 0);
	m = hl_test_only_line(&r);
	hl_test_run_free(&r);
	hl_test_assert_str(m, "state", "sent");
	assert_true(hl_test_json_time(m, "times.sent") >=
	    hl_test_json_time(m, "times.queued"));
	json_decref(m);

	/* --wait-for delivered, with the receiver fetching meanwhile. */
	text = "tell me when it is there";
	const char *args2[] = { "--json", "send", "wt.b", "--wait-for",
	    "delivered", "--timeout", "90s", text, NULL };
	assert_int_equal(hl_test_client_start(a, &send, args2), 0);
	m = hl_test_client_await_body(b, text, TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	hl_test_client_finish(a, &send, 120000);
	hl_test_expect(&send, 0);
	m = hl_test_only_line(&send);
	hl_test_run_free(&send);
	hl_test_assert_str(m, "state", "delivered");
	json_decref(m);
}

static void
test_ack_prefix_and_last(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "ap.a");
	struct hl_test_client *b = hl_test_client_of(w, "ap.b");
	struct hl_test_run r;
	char id1[33], id2[33], prefix[9];

	assert_int_equal(hl_test_client_send(a, id1, "ap.b", "first", NULL), 0);
	assert_int_equal(hl_test_client_send(a, id2, "ap.b", "second", NULL), 0);
	json_t *m = hl_test_client_await(b, id2, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);

	/* A unique prefix of eight hex digits names the first. */
	memcpy(prefix, id1, 8);
	prefix[8] = '\0';
	hl_test_client_run(b, &r, "--json", "ack", prefix, "--response", "unable",
	    NULL);
	hl_test_expect(&r, 0);
	m = hl_test_only_line(&r);
	hl_test_run_free(&r);
	hl_test_assert_str(m, "id", id1);
	hl_test_assert_str(m, "ack.response", "unable");
	json_decref(m);

	/* `last` is the newest message received. */
	hl_test_client_run(b, &r, "--json", "ack", "last", NULL);
	hl_test_expect(&r, 0);
	m = hl_test_only_line(&r);
	hl_test_run_free(&r);
	hl_test_assert_str(m, "id", id2);
	hl_test_assert_str(m, "ack.response", "received");
	json_decref(m);

	/* A prefix that matches nothing. */
	hl_test_client_run(b, &r, "ack", "ffffffff0000", NULL);
	if (strncmp(id1, "ffffffff0000", 12) != 0 &&
	    strncmp(id2, "ffffffff0000", 12) != 0)
		hl_test_expect(&r, 7);
	hl_test_run_free(&r);

	m = hl_test_client_await(a, id1, "acknowledged", TRIES, AWAIT_MS);
	assert_non_null(m);
	hl_test_assert_str(m, "ack.response", "unable");
	json_decref(m);
	m = hl_test_client_await(a, id2, "acknowledged", TRIES, AWAIT_MS);
	assert_non_null(m);
	hl_test_assert_str(m, "ack.response", "received");
	json_decref(m);

	json_t *o = hl_test_client_overview(b);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o,
	    "awaiting_your_ack")), 0);
	json_decref(o);
}

/* --- deadlines and escalation --- */

/* Sends an urgent message from a to "esc.b" due within 2s, and waits (by
 * the wall clock) until that deadline has passed. */
static void
send_overdue(struct hl_test_client *a, char *id)
{
	assert_int_equal(hl_test_client_send(a, id, "esc.b", "--urgent",
	    "--ack-within", "2s", "Confirm the block list", NULL), 0);
	json_t *m = hl_test_client_message(a, id);
	assert_non_null(m);
	long long due = hl_test_json_time(m, "ack_by");
	json_decref(m);
	assert_true(due > 0);
	for (int i = 0; i < 100 && hl_test_wall_ms() <= due + 200; i++)
		hl_test_sleep_ms(100);
	assert_true(hl_test_wall_ms() > due);
}

#define ALTERNATES "[alternates]\nesc.b = esc.c\n"

/* Three officers: esc.b names esc.c as its alternate in the directory; a
 * names it too, in its own client.ini (the directory alone comes from the
 * relay, which must not pick where an overdue message goes). */
static void
three(struct hl_test_world *w, struct hl_test_client **a,
    struct hl_test_client **c)
{
	struct hl_test_run r;
	*a = hl_test_client_of(w, "esc.a");
	assert_non_null(hl_test_world_client(w, "esc.b", "--alternate", "esc.c",
	    "--timezone", "Europe/Tallinn", NULL));
	*c = hl_test_client_of(w, "esc.c");
	hl_test_client_run(*a, &r, "--json", "directory", NULL);
	hl_test_expect(&r, 0);
	json_t *lines = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	json_t *b = hl_test_json_find(lines, "handle", "esc.b");
	assert_non_null(b);
	json_decref(lines);
	assert_int_equal(hl_test_client_config(*a, ALTERNATES), 0);
}

/* The original is overdue and linked to its escalation, which reached
 * the alternate. */
static void
assert_escalated(struct hl_test_client *a, struct hl_test_client *c,
    const char *id)
{
	json_t *m = hl_test_client_message(a, id);
	assert_non_null(m);
	/* Overdue, and no longer only that: it went on to the alternate. */
	hl_test_assert_str(m, "state", "escalated");
	assert_true(hl_test_json_time(m, "times.overdue") >=
	    hl_test_json_time(m, "ack_by"));
	hl_test_assert_str(m, "escalated_to", "esc.c");
	const char *eid = hl_test_json_str(m, "escalated_id");
	assert_non_null(eid);
	assert_int_equal(strlen(eid), 32);
	assert_string_not_equal(eid, id);

	json_t *e = hl_test_client_message(a, eid);
	assert_non_null(e);
	hl_test_assert_str(e, "peer", "esc.c");
	hl_test_assert_str(e, "escalation_of", id);
	hl_test_assert_str(e, "priority", "urgent");
	assert_non_null(hl_test_json_str(e, "times.sent"));
	json_decref(e);

	e = hl_test_client_await(c, eid, "new", TRIES, AWAIT_MS);
	assert_non_null(e);
	hl_test_assert_str(e, "peer", "esc.a");
	const char *body = hl_test_json_str(e, "body");
	assert_non_null(body);
	assert_non_null(strstr(body, "esc.b"));
	assert_non_null(strstr(body, "Confirm the block list"));
	assert_non_null(hl_test_json_str(e, "ack_by"));
	json_decref(e);
	json_decref(m);
}

static void
test_overdue_auto_escalate(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a, *c;
	struct hl_test_run r;
	char id[33];
	three(w, &a, &c);
	send_overdue(a, id);

	hl_test_client_run(a, &r, "--json", "sync", "--auto-escalate", NULL);
	hl_test_expect(&r, 0);
	json_t *lines = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	/* sync reports the overdue message and the escalation. */
	assert_true(hl_test_json_count(lines, "state", "overdue") >= 1);
	json_t *ev = hl_test_json_find(lines, "event", "escalated");
	assert_non_null(ev);
	hl_test_assert_str(ev, "id", id);
	hl_test_assert_str(ev, "alternate", "esc.c");
	assert_int_equal(hl_test_json_count(lines, "event", "escalated"), 1);
	json_decref(lines);
	assert_escalated(a, c, id);

	json_t *o = hl_test_client_overview(a);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(
	    json_object_get(o, "outbound"), "overdue")), 1);
	json_decref(o);

	/* Once is enough: another sync escalates nothing more. */
	hl_test_client_run(a, &r, "sync", "--auto-escalate", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	json_t *inbox = hl_test_client_inbox(c);
	assert_non_null(inbox);
	assert_int_equal(json_array_size(inbox), 1);
	json_decref(inbox);
}

static void
test_overdue_escalate_from_config(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a, *c;
	struct hl_test_run r;
	char id[33];
	three(w, &a, &c);
	assert_int_equal(hl_test_client_config(a, "[messages]\nescalate = auto\n"
	    ALTERNATES), 0);
	send_overdue(a, id);
	hl_test_client_run(a, &r, "sync", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	assert_escalated(a, c, id);

	/* The alternate answers: the original shows it, still escalated. */
	json_t *m = hl_test_client_message(a, id);
	assert_non_null(m);
	char eid[33];
	snprintf(eid, sizeof eid, "%s", hl_test_json_str(m, "escalated_id"));
	json_decref(m);
	hl_test_client_run(c, &r, "ack", eid, "--response", "will-comply",
	    "on it", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	m = hl_test_client_await(a, eid, "acknowledged", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	m = hl_test_client_message(a, id);
	assert_non_null(m);
	hl_test_assert_str(m, "state", "escalated");
	const char *reason = hl_test_json_str(m, "reason");
	assert_non_null(reason);
	assert_non_null(strstr(reason, "esc.c acknowledged: will-comply - on it"));
	json_decref(m);
	hl_test_client_run(a, &r, "status", id, NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "escalated"));
	assert_non_null(strstr(r.out, "will-comply"));
	hl_test_run_free(&r);
}

/* Overdue first seen without escalation (a plain sync), escalated by a
 * later sync that has it on. */
static void
test_overdue_then_escalate(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a, *c;
	struct hl_test_run r;
	char id[33];
	three(w, &a, &c);
	send_overdue(a, id);

	hl_test_client_run(a, &r, "sync", NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "overdue"));
	hl_test_run_free(&r);
	json_t *m = hl_test_client_message(a, id);
	assert_non_null(m);
	hl_test_assert_str(m, "state", "overdue");
	assert_true(hl_test_json_time(m, "times.overdue") > 0);
	assert_null(hl_test_json_str(m, "escalated_to"));
	json_decref(m);

	hl_test_client_run(a, &r, "sync", "--auto-escalate", NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "escalated"));
	hl_test_run_free(&r);
	assert_escalated(a, c, id);
}

/* An alternate only the directory names, with a key nobody verified, is
 * not used: the relay serves the directory and must not choose where an
 * overdue message goes. sync says why instead. */
static void
test_directory_alternate_needs_verification(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a, *c;
	struct hl_test_run r;
	char id[33];
	three(w, &a, &c);
	assert_int_equal(hl_test_client_config(a, "[messages]\nescalate = auto\n"),
	    0);
	send_overdue(a, id);
	hl_test_client_run(a, &r, "--json", "sync", NULL);
	hl_test_expect(&r, 0);
	json_t *lines = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	assert_null(hl_test_json_find(lines, "event", "escalated"));
	json_t *ev = hl_test_json_find(lines, "event", "not_escalated");
	assert_non_null(ev);
	hl_test_assert_str(ev, "id", id);
	assert_non_null(strstr(hl_test_json_str(ev, "text"), "not verified"));
	json_decref(lines);
	/* Said once for the message, not again at every sync. */
	for (int i = 0; i < 2; i++) {
		hl_test_client_run(a, &r, "--json", "sync", NULL);
		hl_test_expect(&r, 0);
		lines = hl_test_run_json(&r);
		hl_test_run_free(&r);
		assert_non_null(lines);
		assert_null(hl_test_json_find(lines, "event", "not_escalated"));
		json_decref(lines);
	}
	json_t *m = hl_test_client_message(a, id);
	assert_non_null(m);
	hl_test_assert_str(m, "state", "overdue");
	assert_null(hl_test_json_str(m, "escalated_to"));
	json_decref(m);
	json_t *inbox = hl_test_client_inbox(c);
	assert_non_null(inbox);
	assert_int_equal(json_array_size(inbox), 0);
	json_decref(inbox);
}

/* An acknowledgement in time: never overdue, never escalated. */
static void
test_acked_in_time_not_escalated(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a, *c;
	struct hl_test_run r;
	char id[33];
	three(w, &a, &c);
	struct hl_test_client *b = &w->clients[1];
	assert_int_equal(hl_test_client_send(a, id, "esc.b", "--urgent",
	    "--ack-within", "10m", "ack me soon", NULL), 0);
	json_t *m = hl_test_client_await(b, id, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	hl_test_client_run(b, &r, "ack", "last", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	m = hl_test_client_await(a, id, "acknowledged", TRIES, AWAIT_MS);
	assert_non_null(m);
	assert_null(hl_test_json_str(m, "times.overdue"));
	assert_null(hl_test_json_str(m, "escalated_to"));
	json_decref(m);
	hl_test_client_run(c, &r, "sync", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	json_t *inbox = hl_test_client_inbox(c);
	assert_non_null(inbox);
	assert_int_equal(json_array_size(inbox), 0);
	json_decref(inbox);
}

/* --- refusals --- */

static void
test_bad_flags(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "bf.a");
	struct hl_test_run r;
	static const char *const cases[][6] = {
		{ "--bogus", NULL },
		{ "frobnicate", NULL },
		{ "send", "bf.b", "--bogus", "text", NULL },
		{ "send", "bf.b", "--wait-for", "forever", "text", NULL },
		{ "send", "bf.b", "--timeout", "5s", "text", NULL },
		{ "send", "bf.b", "--ack-within", "soon", "text", NULL },
		{ "send", "Not A Handle", "text", NULL },
		{ "send", "bf.b", NULL },
		{ "sync", "--wait", "-1", NULL },
		{ "ack", NULL },
		{ "ack", "last", "--response", "maybe", NULL },
		{ "status", "a", "b", NULL },
		{ "register", "--relay", "http://127.0.0.1:1", NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		hl_test_client_runv(a, &r, cases[i]);
		hl_test_expect(&r, 2);
		assert_true(strlen(r.err) > 0);
		assert_int_equal(strlen(r.out), 0);
		hl_test_run_free(&r);
	}
	hl_test_client_run(a, &r, "--help", NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "send"));
	hl_test_run_free(&r);
	hl_test_client_run(a, &r, "--version", NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "hotline"));
	hl_test_run_free(&r);

	/* Nothing was queued by any of them. */
	json_t *o = hl_test_client_overview(a);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(
	    json_object_get(o, "outbound"), "queued")), 0);
	json_decref(o);
}

static void
test_unknown_recipient(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "ur.a");
	struct hl_test_run r;
	/* The relay answers: refused before anything is queued (7). */
	hl_test_client_run(a, &r, "--json", "send", "nobody.here", "hello?", NULL);
	hl_test_expect(&r, 7);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "nobody.here"));
	assert_non_null(strstr(r.err, "unknown_recipient"));
	hl_test_run_free(&r);

	/* Queued while the relay is away, it fails once the relay says so,
	 * and waiting for it ends at once (13). */
	assert_int_equal(hl_test_relay_stop(&w->relay, SIGTERM, NULL), 0);
	hl_test_client_run(a, &r, "send", "nobody.else", "hello?", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	assert_int_equal(hl_test_relay_restart(&w->relay), 0);
	hl_test_client_run(a, &r, "sync", NULL);
	assert_non_null(strstr(r.out, "unknown recipient"));
	hl_test_run_free(&r);
	json_t *o = hl_test_client_overview(a);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o,
	    "outbound"), "failed")), 1);
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_acknowledged, hl_test_setup_world,
		    hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_wait_for_ack_in_time, hl_test_setup_world,
		    hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_wait_for_timeouts, hl_test_setup_world,
		    hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_ack_prefix_and_last, hl_test_setup_world,
		    hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_overdue_auto_escalate, hl_test_setup_world,
		    hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_overdue_escalate_from_config,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_overdue_then_escalate, hl_test_setup_world,
		    hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_directory_alternate_needs_verification,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_acked_in_time_not_escalated,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_bad_flags, hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_unknown_recipient, hl_test_setup_world,
		    hl_test_teardown_world),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
