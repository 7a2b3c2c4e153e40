/*
 * Sequence numbers across a contact's re-enrolment, with a real relay and
 * real clients: the operator revokes sq.ee, it enrols again with a new
 * identity key, and sq.fi accepts the changed key with `trust`. The
 * conversation with the new identity counts from 1 on both sides: neither
 * reports the old identity's numbers (or an old open gap) as missing, a
 * message sq.fi queued before trusting goes as number 1, the new
 * identity's messages held before the trust count from 1, and a message
 * the relay really drops after the re-enrolment is still reported.
 * Every test has its own relay and profiles, removed in teardown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/hl_testassert.h"
#include "tests/lib/hl_testclient.h"

#define TRIES 30
#define AWAIT_MS 60000

/* The relay loses a stored message: its queue row is deleted. */
static void
drop_in_relay(struct hl_test_world *w, const char *id)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(w->relay.db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	assert_int_equal(sqlite3_prepare_v2(db, "DELETE FROM queue WHERE msg_id = ?",
	    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The open gaps c reports ("missing" of status --json); caller decrefs. */
static json_t *
missing_of(struct hl_test_client *c)
{
	json_t *o = hl_test_client_overview(c);
	assert_non_null(o);
	json_t *g = json_object_get(o, "missing");
	assert_non_null(g);
	json_incref(g);
	json_decref(o);
	return g;
}

static void
send_await(struct hl_test_client *from, struct hl_test_client *to,
    const char *to_handle, const char *body, char id[33])
{
	assert_int_equal(hl_test_client_send(from, id, to_handle, body, NULL), 0);
	json_t *m = hl_test_client_await(to, id, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
}

/* The seq of message id as c stored it. */
static long long
seq_of(struct hl_test_client *c, const char *id)
{
	json_t *m = hl_test_client_message(c, id);
	assert_non_null(m);
	long long s = json_integer_value(json_object_get(m, "seq"));
	json_decref(m);
	return s;
}

/*
 * A history under the old identity (with one message the relay lost, so
 * sq.fi has an open gap for it), then the re-enrolment; sq.fi queues a
 * message before it knows, the new identity writes twice before sq.fi
 * trusts (held), and sq.fi trusts. Returns sq.fi; *ee_new is the new
 * profile; q_id the message sq.fi queued before the trust.
 */
static struct hl_test_client *
reenrol(struct hl_test_world *w, struct hl_test_client **ee_new, char q_id[33])
{
	struct hl_test_client *fi = hl_test_client_of(w, "sq.fi");
	struct hl_test_client *ee_old = hl_test_client_of(w, "sq.ee");
	struct hl_test_run r;
	char id[33], lost[33];

	/* Numbers 1-3 arrive, 4 is lost, 5 arrives: the gap is above what
	 * the new identity sends before the trust. */
	for (int i = 1; i <= 3; i++) {
		char body[32];
		snprintf(body, sizeof body, "old %d", i);
		send_await(ee_old, fi, "sq.fi", body, id);
	}
	assert_int_equal(hl_test_client_send(ee_old, lost, "sq.fi", "old 4, lost",
	    NULL), 0);
	drop_in_relay(w, lost);
	send_await(ee_old, fi, "sq.fi", "old 5", id);
	json_t *g = missing_of(fi);
	assert_int_equal(json_array_size(g), 1);
	hl_test_assert_str(json_array_get(g, 0), "peer", "sq.ee");
	json_decref(g);
	for (int i = 0; i < 8; i++) {
		char body[32];
		snprintf(body, sizeof body, "fi old %d", i);
		send_await(fi, ee_old, "sq.ee", body, id);
	}
	json_t *m = hl_test_client_await(fi, id, "delivered", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);

	char out[512], err[512];
	const char *revoke[] = { "revoke", "sq.ee", NULL };
	int ex = hl_test_relay_cmd(&w->relay, out, sizeof out, err, sizeof err,
	    revoke);
	if (ex != 0)
		fprintf(stderr, "revoke: exit %d: %s%s", ex, out, err);
	assert_int_equal(ex, 0);
	*ee_new = hl_test_world_client(w, "sq.ee", NULL);
	assert_non_null(*ee_new);

	/* Queued before sq.fi knows: the directory shows the new key, so it
	 * waits for the trust (the send's own exit says so). */
	hl_test_client_send(fi, q_id, "sq.ee", "queued before trust", NULL);
	assert_int_equal(strlen(q_id), 32);

	/* The new identity writes first: held at sq.fi. */
	assert_int_equal(hl_test_client_send(*ee_new, id, "sq.fi", "new 1", NULL), 0);
	assert_int_equal(hl_test_client_send(*ee_new, id, "sq.fi", "new 2", NULL), 0);
	hl_test_client_run(fi, &r, "--json", "sync", NULL);
	hl_test_run_free(&r);

	hl_test_client_run(fi, &r, "--json", "trust", "sq.ee", NULL);
	hl_test_expect(&r, 0);
	json_t *v = hl_test_only_line(&r);
	hl_test_run_free(&r);
	assert_int_equal(json_integer_value(json_object_get(v, "released")), 2);
	json_decref(v);
	m = hl_test_client_await_body(fi, "new 2", TRIES, AWAIT_MS);
	assert_non_null(m);
	assert_int_equal(json_integer_value(json_object_get(m, "seq")), 2);
	json_decref(m);
	return fi;
}

static void
test_new_identity_counts_from_one(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *ee_new = NULL;
	char q_id[33], id[33];
	struct hl_test_client *fi = reenrol(w, &ee_new, q_id);

	/* The old identity's gap went with it; the held 1 and 2 opened none
	 * and closed none. */
	json_t *g = missing_of(fi);
	size_t fi_missing = json_array_size(g);
	json_decref(g);

	/* What sq.fi queued before the trust is number 1 of the new count. */
	json_t *m = hl_test_client_await(ee_new, q_id, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	hl_test_assert_str(m, "body", "queued before trust");
	long long q_seq = json_integer_value(json_object_get(m, "seq"));
	json_decref(m);
	send_await(fi, ee_new, "sq.ee", "after trust", id);
	send_await(ee_new, fi, "sq.fi", "new 3", id);
	struct hl_test_run r;
	hl_test_client_run(ee_new, &r, "sync", NULL);
	hl_test_run_free(&r);
	hl_test_client_run(fi, &r, "sync", NULL);
	hl_test_run_free(&r);
	g = missing_of(ee_new);
	size_t ee_missing = json_array_size(g);
	json_decref(g);

	/* Neither side takes anything for missing. */
	if (fi_missing != 0 || ee_missing != 0 || q_seq != 1)
		fprintf(stderr, "missing at sq.fi %zu, at the new sq.ee %zu; the "
		    "queued message went as %lld\n", fi_missing, ee_missing, q_seq);
	assert_int_equal(fi_missing, 0);
	assert_int_equal(ee_missing, 0);
	assert_int_equal(q_seq, 1);
	assert_int_equal(seq_of(fi, q_id), 1);
	g = missing_of(fi);
	assert_int_equal(json_array_size(g), 0);
	json_decref(g);
}

static void
test_real_gap_after_reenrolment(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *ee_new = NULL;
	char q_id[33], id[33], lost[33];
	struct hl_test_client *fi = reenrol(w, &ee_new, q_id);
	json_t *m = hl_test_client_await(ee_new, q_id, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);

	/* sq.fi to the new identity: the relay loses one; it is reported. */
	assert_int_equal(hl_test_client_send(fi, lost, "sq.ee", "lost to new",
	    NULL), 0);
	drop_in_relay(w, lost);
	send_await(fi, ee_new, "sq.ee", "after the lost one", id);
	json_t *g = missing_of(ee_new);
	assert_int_equal(json_array_size(g), 1);
	hl_test_assert_str(json_array_get(g, 0), "peer", "sq.fi");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(g, 0),
	    "seq")), seq_of(fi, lost));
	json_decref(g);

	/* The new identity to sq.fi: the same, numbered in the new count
	 * (below the old identity's highest, where it used to hide). */
	assert_int_equal(hl_test_client_send(ee_new, lost, "sq.fi", "lost to fi",
	    NULL), 0);
	long long lost_seq = seq_of(ee_new, lost);
	drop_in_relay(w, lost);
	send_await(ee_new, fi, "sq.fi", "after the lost one", id);
	g = missing_of(fi);
	assert_int_equal(json_array_size(g), 1);
	hl_test_assert_str(json_array_get(g, 0), "peer", "sq.ee");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(g, 0),
	    "seq")), lost_seq);
	json_decref(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_identity_counts_from_one,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_real_gap_after_reenrolment,
		    hl_test_setup_world, hl_test_teardown_world),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
