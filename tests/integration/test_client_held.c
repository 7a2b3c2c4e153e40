/*
 * A message is never lost after its key is spent: a relay that renames a
 * message (its envelope id no longer the content's) gets it stored under
 * the content's own id, readable and flagged, and its receipt still
 * reaches the sender.
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
#define OTHER_ID "0123456789abcdef0123456789abcdef"

static void
rename_in_relay(struct hl_test_world *w, const char *id)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(w->relay.db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE queue SET msg_id = ?"
	    " WHERE msg_id = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, OTHER_ID, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
test_renamed_id_is_readable_and_flagged(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "rn.a");
	struct hl_test_client *b = hl_test_client_of(w, "rn.b");
	struct hl_test_run r;
	char id[33];

	assert_int_equal(hl_test_client_send(a, id, "rn.b", "renamed on the way",
	    NULL), 0);
	rename_in_relay(w, id);

	hl_test_client_run(b, &r, "--json", "sync", NULL);
	hl_test_expect(&r, 0);
	json_t *lines = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	json_t *m = hl_test_json_find(lines, "event", "received");
	assert_non_null(m);
	hl_test_assert_str(m, "id", id);
	hl_test_assert_str(m, "body", "renamed on the way");
	assert_non_null(strstr(hl_test_json_str(m, "reason"), OTHER_ID));
	assert_null(hl_test_json_find(lines, "event", "held"));
	json_decref(lines);

	/* Stored under the content's id, flagged, in every view. */
	m = hl_test_client_message(b, id);
	assert_non_null(m);
	hl_test_assert_str(m, "body", "renamed on the way");
	assert_non_null(strstr(hl_test_json_str(m, "reason"), "another id"));
	json_decref(m);
	assert_null(hl_test_client_message(b, OTHER_ID));
	hl_test_client_run(b, &r, "status", id, NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "renamed on the way"));
	assert_non_null(strstr(r.out, "note: the relay delivered it under another id"));
	hl_test_run_free(&r);
	json_t *o = hl_test_client_overview(b);
	assert_non_null(o);
	assert_int_equal(json_array_size(json_object_get(o, "held")), 0);
	json_decref(o);

	/* The receipt names the content's id: the sender sees it delivered. */
	m = hl_test_client_await(a, id, "delivered", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_renamed_id_is_readable_and_flagged,
		    hl_test_setup_world, hl_test_teardown_world),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
