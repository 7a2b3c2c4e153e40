/*
 * A message is never lost after its key is spent: a relay that renames a
 * message (its envelope id no longer the content's) gets it stored under
 * the content's own id, readable and flagged, and its receipt still
 * reaches the sender; a content that decrypts but that this version cannot
 * read (a newer one) is held with its decrypted text, which the officer
 * can read.
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

#include "client/store.h"
#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"
#include "tests/lib/hl_testapi.h"
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

/* As a newer client of a would: a version 2 content, padded, encrypted in
 * a's real session with b and queued at the relay with a's token. */
static void
send_newer_content(struct hl_test_client *a, struct hl_test_world *w,
    const char *to, char *id)
{
	char path[HL_TEST_PATH + 16], pass[256], cause[HL_CAUSE_MAX] = "";
	struct hl_crypto *c = NULL;
	struct hl_account acct;
	assert_int_equal(hl_test_read_file(a->passfile, pass, sizeof pass), 0);
	pass[strcspn(pass, "\n")] = '\0';
	snprintf(path, sizeof path, "%s/hotline.db", a->home);
	if (hl_crypto_open(path, pass, strlen(pass), &c, cause) != 0)
		fail_msg("open %s: %s", path, cause);
	assert_int_equal(hl_store_account_get(c, &acct), 1);
	hl_test_api_id(id);
	char json[512];
	int n = snprintf(json, sizeof json, "{\"v\":2,\"id\":\"%s\",\"kind\":"
	    "\"text\",\"from\":\"%s\",\"sent\":%lld,\"prio\":\"routine\","
	    "\"seq\":2,\"body\":\"written by a newer client\"}", id, acct.handle,
	    hl_test_wall_ms());
	uint8_t padded[512];
	memset(padded, 0, sizeof padded);
	memcpy(padded, json, (size_t)n);
	padded[n] = 0x80;
	size_t plen = ((size_t)n / 256 + 1) * 256;
	struct hl_ciphertext ct;
	assert_int_equal(hl_crypto_begin(c), 0);
	if (hl_session_encrypt(c, to, padded, plen, &ct, cause) != 0)
		fail_msg("encrypt: %s", cause);
	assert_int_equal(hl_crypto_commit(c), 0);
	char *b64 = hl_b64_encode(ct.data, ct.len);
	assert_non_null(b64);
	char body[4096];
	snprintf(body, sizeof body, "{\"to\":\"%s\",\"id\":\"%s\",\"type\":%d,"
	    "\"body\":\"%s\"}", to, id, ct.type, b64);
	free(b64);
	hl_ciphertext_free(&ct);
	struct hl_test_http res;
	assert_int_equal(hl_test_api(&w->relay, "POST", "/v1/messages", body,
	    acct.token, &res), 0);
	assert_int_equal(res.status, 202);
	hl_test_http_free(&res);
	hl_crypto_close(c);
}

static void
test_unreadable_content_kept_readable(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "hd.a");
	struct hl_test_client *b = hl_test_client_of(w, "hd.b");
	struct hl_test_run r;
	char first[33], newer[33];

	assert_int_equal(hl_test_client_send(a, first, "hd.b", "a first message",
	    NULL), 0);
	json_t *m = hl_test_client_await(b, first, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	send_newer_content(a, w, "hd.b", newer);

	/* Held, said so, and not a received message. */
	hl_test_client_run(b, &r, "--json", "sync", NULL);
	hl_test_expect(&r, 0);
	json_t *lines = hl_test_run_json(&r);
	assert_non_null(lines);
	m = hl_test_json_find(lines, "event", "held");
	if (m == NULL)
		hl_test_run_print(&r);
	hl_test_run_free(&r);
	assert_non_null(m);
	assert_non_null(strstr(hl_test_json_str(m, "text"), "inbox --held"));
	json_decref(lines);
	assert_null(hl_test_client_message(b, newer));

	/* Readable: its key is spent, the held row has the text. */
	hl_test_client_run(b, &r, "--json", "inbox", "--held", NULL);
	hl_test_expect(&r, 0);
	lines = hl_test_run_json(&r);
	assert_non_null(lines);
	m = hl_test_json_find(lines, "type", "held");
	if (m == NULL)
		hl_test_run_print(&r);
	hl_test_run_free(&r);
	assert_non_null(m);
	hl_test_assert_str(m, "from", "hd.a");
	assert_true(json_is_true(json_object_get(m, "decrypted")));
	assert_non_null(strstr(hl_test_json_str(m, "content"),
	    "written by a newer client"));
	json_decref(lines);
	hl_test_client_run(b, &r, "inbox", "--held", NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "the decrypted content"));
	assert_non_null(strstr(r.out, "written by a newer client"));
	hl_test_run_free(&r);
	/* Kept across runs, and the summary still counts it. */
	json_t *o = hl_test_client_overview(b);
	assert_non_null(o);
	assert_int_equal(json_array_size(json_object_get(o, "held")), 1);
	json_decref(o);
}

/* As a hostile relay would: the queued message id from hh.cert claims
 * to be from cc.cert (sender and peer columns rewritten). */
static void
resend_as(struct hl_test_world *w, const char *id, const char *as)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(w->relay.db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE queue SET sender = "
	    "(SELECT id FROM accounts WHERE handle = ?1), peer = ?1"
	    " WHERE msg_id = ?2", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, as, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* `--json verify handle` of c: member key of its line, into out. */
static void
verify_str(struct hl_test_client *c, const char *handle, const char *key,
    char *out, size_t cap)
{
	struct hl_test_run r;
	hl_test_client_run(c, &r, "--json", "verify", handle, NULL);
	hl_test_expect(&r, 0);
	json_t *o = hl_test_only_line(&r);
	assert_non_null(o);
	const char *v = hl_test_json_str(o, key);
	snprintf(out, cap, "%s", v ? v : "");
	json_decref(o);
	hl_test_run_free(&r);
}

/* The relay puts hh's first (PreKey) message to bb under cc's name; bb
 * has never talked to cc. Whatever bb knew of cc before, hh's key must
 * not end up as cc's accepted one: the accepted key is cc's own (its
 * safety number is the one cc sees for bb). */
static void
forged_first_message(struct hl_test_world *w, int directory_first)
{
	struct hl_test_client *hh = hl_test_client_of(w, "hh.cert");
	struct hl_test_client *bb = hl_test_client_of(w, "bb.cert");
	struct hl_test_client *cc = hl_test_client_of(w, "cc.cert");
	struct hl_test_run r;
	char id[33], mine[HL_TEST_PATH], theirs[HL_TEST_PATH], pending[HL_TEST_PATH];
	assert_non_null(hh);
	assert_non_null(bb);
	assert_non_null(cc);
	if (directory_first) {
		/* The genuine directory entry of cc, cached by bb. */
		hl_test_client_run(bb, &r, "directory", NULL);
		hl_test_expect(&r, 0);
		hl_test_run_free(&r);
	}
	assert_int_equal(hl_test_client_send(hh, id, "bb.cert", "I am cc, "
	    "believe me", NULL), 0);
	resend_as(w, id, "cc.cert");

	hl_test_client_run(bb, &r, "--json", "sync", NULL);
	hl_test_expect(&r, 0);
	json_t *lines = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	json_t *h = hl_test_json_find(lines, "event", "held");
	assert_non_null(h);
	assert_null(hl_test_json_find(lines, "event", "received"));
	json_decref(lines);

	verify_str(cc, "bb.cert", "safety_number", theirs, sizeof theirs);
	assert_true(theirs[0] != '\0');
	verify_str(bb, "cc.cert", "safety_number", mine, sizeof mine);
	assert_string_equal(mine, theirs);
	verify_str(bb, "cc.cert", "new_safety_number", pending, sizeof pending);
	if (directory_first) {
		/* hh's key waits as a change, shown loudly, not accepted. */
		assert_true(pending[0] != '\0');
		assert_string_not_equal(pending, theirs);
		verify_str(bb, "cc.cert", "trust", mine, sizeof mine);
		assert_string_equal(mine, "changed");
	} else {
		assert_string_equal(pending, "");
	}
}

static void
test_forged_sender_with_directory_key(void **state)
{
	forged_first_message(*state, 1);
}

static void
test_forged_sender_leaves_no_session(void **state)
{
	forged_first_message(*state, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_renamed_id_is_readable_and_flagged,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_unreadable_content_kept_readable,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_forged_sender_with_directory_key,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_forged_sender_leaves_no_session,
		    hl_test_setup_world, hl_test_teardown_world),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
