/*
 * Terminal safety: a peer (or a relay) puts escape sequences, BEL, C1
 * controls and bidi overrides into a body, an ack note, incident fields,
 * an indicator and a display name. What sync, inbox, export, status and
 * directory print for people holds none of those raw bytes and shows their
 * escapes; --json keeps the exact text.
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

/* Clear screen, a window title (OSC ... BEL), an 8-bit CSI as UTF-8 (C1),
 * a right-to-left override, DEL. */
#define NASTY "\x1b[2J\x1b]0;owned\x07 \xc2\x9b" "31m exe.live\xe2\x80\xae" "exe.\x7f"

/* None of the raw dangerous bytes, and the escapes are there. */
static void
assert_clean(const struct hl_test_run *r, const char *text)
{
	static const char *raw[] = { "\x1b", "\x07", "\xc2\x9b", "\xe2\x80\xae",
	    "\x7f" };
	for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++)
		if (strstr(text, raw[i]) != NULL) {
			hl_test_run_print(r);
			fail_msg("raw control byte %zu reached the terminal", i);
		}
	static const char *shown[] = { "\\x1b[2J", "\\x1b]0;owned\\x07",
	    "\\x9b31m", "exe.live<U+202E>exe.\\x7f" };
	for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
		if (strstr(text, shown[i]) == NULL) {
			hl_test_run_print(r);
			fail_msg("escape '%s' not shown", shown[i]);
		}
}

static void
check_run(struct hl_test_client *c, const char *const *args)
{
	struct hl_test_run r;
	hl_test_client_runv(c, &r, args);
	hl_test_expect(&r, 0);
	assert_clean(&r, r.out);
	assert_null(strstr(r.err, "\x1b"));
	hl_test_run_free(&r);
}

/* The relay refuses such a name; one that is compromised serves it anyway. */
static void
poison_name(struct hl_test_world *w, const char *handle)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(w->relay.db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE accounts SET name = ?, "
	    "organisation = ?, role = ? WHERE handle = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, "Mallory " NASTY, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, "Org " NASTY, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, "Role " NASTY, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, handle, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
test_untrusted_text_is_escaped(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *m = hl_test_client_of(w, "dp.mallory");
	struct hl_test_client *v = hl_test_client_of(w, "dp.victim");
	struct hl_test_run r;
	char id[33], vid[33];

	/* A body and an incident with nasty fields. */
	assert_int_equal(hl_test_client_send(m, id, "dp.victim", "body " NASTY
	    "\nsecond line", NULL), 0);
	assert_int_equal(hl_test_client_send(m, id, "dp.victim", "--incident",
	    "--title", "title " NASTY, "--severity", "high", "--tlp", "AMBER",
	    "--status", "status " NASTY, "--indicator", "ioc " NASTY,
	    "--action", "act " NASTY, "see the indicator", NULL), 0);
	/* The victim writes; the peer's ack note carries the sequences. */
	assert_int_equal(hl_test_client_send(v, vid, "dp.mallory", "--ack-within",
	    "1h", "please ack", NULL), 0);
	json_t *got = hl_test_client_await(m, vid, "new", TRIES, AWAIT_MS);
	assert_non_null(got);
	json_decref(got);
	hl_test_client_run(m, &r, "ack", vid, "note " NASTY, NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	poison_name(w, "dp.mallory");

	/* The directory first, so the name is known beside messages too. */
	check_run(v, (const char *const[]){ "directory", "dp", NULL });
	check_run(v, (const char *const[]){ "sync", "--wait", "2", NULL });
	got = hl_test_client_await(v, id, "new", TRIES, AWAIT_MS);
	assert_non_null(got);
	json_decref(got);
	got = hl_test_client_await(v, vid, "acknowledged", TRIES, AWAIT_MS);
	assert_non_null(got);
	/* JSON stays exact. */
	hl_test_assert_str(got, "ack.note", "note " NASTY);
	json_decref(got);
	check_run(v, (const char *const[]){ "inbox", "--all", NULL });
	check_run(v, (const char *const[]){ "export", "--format", "text", NULL });
	check_run(v, (const char *const[]){ "status", id, NULL });

	/* In one text export every field is there, escaped. */
	hl_test_client_run(v, &r, "export", "--format", "text", NULL);
	hl_test_expect(&r, 0);
	static const char *fields[] = { "body \\x1b", "title \\x1b", "status \\x1b",
	    "indicator: ioc \\x1b", "requested: act \\x1b", "note \\x1b",
	    "Mallory \\x1b" };
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (strstr(r.out, fields[i]) == NULL) {
			hl_test_run_print(&r);
			fail_msg("'%s' missing from the export", fields[i]);
		}
	/* A body keeps its lines. */
	assert_non_null(strstr(r.out, "   | second line"));
	hl_test_run_free(&r);

	json_t *inbox = hl_test_client_inbox(v);
	assert_non_null(inbox);
	json_t *body = hl_test_json_find(inbox, "body", "body " NASTY "\nsecond line");
	assert_non_null(body);
	json_decref(inbox);
	hl_test_client_run(v, &r, "--json", "directory", "dp.mallory", NULL);
	hl_test_expect(&r, 0);
	json_t *lines = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	assert_non_null(hl_test_json_find(lines, "name", "Mallory " NASTY));
	json_decref(lines);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_untrusted_text_is_escaped,
		    hl_test_setup_world, hl_test_teardown_world),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
