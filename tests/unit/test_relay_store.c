/* The relay's store through relay/store.h, on a temporary SQLite file:
 * registration and codes (retired by a registration, dropped by a revoke,
 * a lost answer retried), prekeys handed out once, the FIFO queue with
 * idempotent inserts and each sender's share, acks, purges and
 * revocations with their notices, the schema version. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/hl_err.h"
#include "relay/secret.h"
#include "relay/store.h"

#define T0 1795000000000LL
#define DAY 86400000LL

struct fixture {
	char dir[64];
	char path[96];
	char url[112];
	struct hl_store *st;
	struct hl_store_limits lim;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (f == NULL || sodium_init() < 0)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/hl-unit-store.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof f->path, "%s/relay.db", f->dir);
	snprintf(f->url, sizeof f->url, "sqlite:%s", f->path);
	char cause[HL_CAUSE_MAX];
	if (hl_store_open(f->url, 1, 2, &f->st, cause) != 0)
		return -1;
	f->lim.max_queue_per_recipient = 100;
	f->lim.bundle_rate_per_hour = 1000;
	f->lim.max_prekeys_stored = 10;
	f->lim.max_fetch_bytes = 1 << 20;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	hl_store_close(f->st);
	char p[160];
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
		unlink(p);
	}
	snprintf(p, sizeof p, "%s/backup.db", f->dir);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
begin(struct fixture *f)
{
	assert_int_equal(f->st->ops->batch_begin(f->st, NULL), 0);
}

static void
commit(struct fixture *f)
{
	assert_int_equal(f->st->ops->batch_commit(f->st, NULL), 0);
}

static void
fill_key(uint8_t *k, uint8_t v)
{
	memset(k, v, HL_STORE_KEY_LEN);
	k[0] = 0x05;
}

/* Invites handle and returns the code's hash. */
static void
invite(struct fixture *f, const char *handle, int64_t now, int64_t expires,
    uint8_t hash[HL_SECRET_HASH])
{
	char code[HL_SECRET_CODE_STR + 1];
	hl_secret_code_new(code, hash);
	assert_int_equal(f->st->ops->invite(f->st, handle, hash, now, expires,
	    NULL), 0);
}

/* Registers handle as an identity (its key filled with identity) and a
 * registration id; *reissued (may be NULL) tells a retry. */
static int
register_as(struct fixture *f, const char *handle,
    const uint8_t code_hash[HL_SECRET_HASH], uint8_t identity,
    uint32_t registration_id, int64_t now, uint8_t token_hash[HL_SECRET_HASH],
    int *reissued)
{
	struct hl_store_registration reg;
	memset(&reg, 0, sizeof reg);
	snprintf(reg.handle, sizeof reg.handle, "%s", handle);
	memcpy(reg.code_hash, code_hash, HL_SECRET_HASH);
	char token[HL_SECRET_TOKEN_HEX + 1];
	hl_secret_token_new(token, token_hash);
	memcpy(reg.token_hash, token_hash, HL_SECRET_HASH);
	fill_key(reg.identity_key, identity);
	reg.registration_id = registration_id;
	reg.device_id = 1;
	reg.signed_prekey.id = 3;
	fill_key(reg.signed_prekey.key, 0x22);
	memset(reg.signed_prekey.signature, 0x33, HL_STORE_SIG_LEN);
	struct hl_store_prekey key = { 100, { 0 } };
	fill_key(key.key, 0x40);
	reg.prekeys = &key;
	reg.nprekeys = 1;
	snprintf(reg.profile.name, sizeof reg.profile.name, "Duty officer");
	begin(f);
	int rc = f->st->ops->register_account(f->st, &reg, now, reissued, NULL);
	commit(f);
	return rc;
}

/* Runs sql on the database file from a connection of its own, as an
 * older relay (or an operator) would. */
static void
sql(struct fixture *f, const char *text)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	char *err = NULL;
	if (sqlite3_exec(db, text, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", text, err ? err : "?");
	sqlite3_close(db);
}

/* One integer from the database file. */
static int64_t
sql_int(struct fixture *f, const char *text)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, text, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static int
do_register(struct fixture *f, const char *handle,
    const uint8_t code_hash[HL_SECRET_HASH], size_t nprekeys, int64_t now,
    uint8_t token_hash[HL_SECRET_HASH])
{
	struct hl_store_registration reg;
	memset(&reg, 0, sizeof reg);
	snprintf(reg.handle, sizeof reg.handle, "%s", handle);
	memcpy(reg.code_hash, code_hash, HL_SECRET_HASH);
	char token[HL_SECRET_TOKEN_HEX + 1];
	hl_secret_token_new(token, token_hash);
	memcpy(reg.token_hash, token_hash, HL_SECRET_HASH);
	fill_key(reg.identity_key, 0x11);
	reg.registration_id = 812;
	reg.device_id = 1;
	reg.signed_prekey.id = 3;
	fill_key(reg.signed_prekey.key, 0x22);
	memset(reg.signed_prekey.signature, 0x33, HL_STORE_SIG_LEN);
	struct hl_store_prekey keys[16];
	for (size_t i = 0; i < nprekeys; i++) {
		keys[i].id = (uint32_t)(100 + i);
		fill_key(keys[i].key, (uint8_t)(0x40 + i));
	}
	reg.prekeys = keys;
	reg.nprekeys = nprekeys;
	snprintf(reg.profile.name, sizeof reg.profile.name, "Duty officer %s",
	    handle);
	snprintf(reg.profile.organisation, sizeof reg.profile.organisation,
	    "CERT");
	begin(f);
	int rc = f->st->ops->register_account(f->st, &reg, now, NULL, NULL);
	commit(f);
	return rc;
}

/* Registers handle with nprekeys prekeys; returns its account id. */
static int64_t
account(struct fixture *f, const char *handle, size_t nprekeys)
{
	uint8_t code[HL_SECRET_HASH], token[HL_SECRET_HASH];
	invite(f, handle, T0, T0 + DAY, code);
	assert_int_equal(do_register(f, handle, code, nprekeys, T0, token), 0);
	struct hl_store_account a;
	assert_int_equal(f->st->ops->authenticate(f->st, token, &a), 0);
	assert_string_equal(a.handle, handle);
	return a.id;
}

static int
send_msg(struct fixture *f, int64_t sender, const char *from, const char *to,
    const char *id, const char *body, int64_t now, struct hl_store_accepted *out)
{
	struct hl_store_envelope env;
	memset(&env, 0, sizeof env);
	env.sender = sender;
	snprintf(env.sender_handle, sizeof env.sender_handle, "%s", from);
	env.sender_device = 1;
	snprintf(env.to, sizeof env.to, "%s", to);
	snprintf(env.id, sizeof env.id, "%s", id);
	env.type = 3;
	env.body = (const uint8_t *)body;
	env.body_len = strlen(body);
	hl_store_envelope_digest(&env);
	begin(f);
	int rc = f->st->ops->queue_message(f->st, &env, now, &f->lim, out, NULL);
	commit(f);
	return rc;
}

#define ID(n) "0000000000000000000000000000000" #n

static void
test_open_requires_init(void **state)
{
	struct fixture *f = *state;
	char url[160], cause[HL_CAUSE_MAX];
	struct hl_store *st = NULL;
	snprintf(url, sizeof url, "sqlite:%s/none.db", f->dir);
	assert_int_equal(hl_store_open(url, 0, 0, &st, cause), HL_ENOTFOUND);
	assert_null(st);
	assert_non_null(strstr(cause, "init"));
	assert_int_equal(hl_store_open("mysql:x", 0, 0, &st, cause),
	    HL_ECONFIG);
	/* A database that cannot be reached says so. */
	assert_int_equal(hl_store_open("postgresql:host=/nonexistent "
	    "dbname=x connect_timeout=2", 0, 0, &st, cause), HL_EDB);
	assert_null(st);
	assert_non_null(strstr(cause, "unreachable"));
	/* What the relay logs of a url never holds its password. */
	char shown[256];
	hl_store_url_shown("postgresql:host=db password=s3cret dbname=h",
	    shown, sizeof shown);
	assert_null(strstr(shown, "s3cret"));
	assert_non_null(strstr(shown, "host=db"));
	assert_non_null(strstr(shown, "dbname=h"));
	hl_store_url_shown(f->url, shown, sizeof shown);
	assert_string_equal(shown, f->url);
	assert_int_equal(hl_store_open("nothing", 0, 0, &st, cause), HL_ECONFIG);
	/* Opening again is fine, creating again is a no-op. */
	assert_int_equal(hl_store_open(f->url, 1, 1, &st, cause), 0);
	hl_store_close(st);
}

static void
test_register_codes(void **state)
{
	struct fixture *f = *state;
	uint8_t code[HL_SECRET_HASH], token[HL_SECRET_HASH], other[HL_SECRET_HASH];
	invite(f, "ee.cert", T0, T0 + DAY, code);
	/* Another handle's code, a made-up code, an expired code: refused
	 * alike. */
	invite(f, "fi.ncsc", T0, T0 + DAY, other);
	assert_int_equal(do_register(f, "ee.cert", other, 1, T0, token), HL_ECODE);
	uint8_t wrong[HL_SECRET_HASH];
	memset(wrong, 7, sizeof wrong);
	assert_int_equal(do_register(f, "ee.cert", wrong, 1, T0, token), HL_ECODE);
	assert_int_equal(do_register(f, "ee.cert", code, 1, T0 + DAY, token),
	    HL_ECODE);
	/* The right one works once. */
	assert_int_equal(do_register(f, "ee.cert", code, 1, T0 + 1, token), 0);
	struct hl_store_account a;
	assert_int_equal(f->st->ops->authenticate(f->st, token, &a), 0);
	assert_string_equal(a.handle, "ee.cert");
	assert_int_equal(a.device_id, 1);
	assert_true(a.first_use);
	begin(f);
	assert_int_equal(f->st->ops->mark_used(f->st, a.id, token, T0 + 1, NULL),
	    0);
	commit(f);
	assert_int_equal(f->st->ops->authenticate(f->st, token, &a), 0);
	assert_false(a.first_use);
	assert_int_equal(do_register(f, "ee.cert", code, 1, T0 + 2, token),
	    HL_ECODE);
	/* A second valid code for a handle that now has an account. */
	assert_int_equal(f->st->ops->invite(f->st, "ee.cert", code, T0, T0 + DAY,
	    NULL), HL_ETAKEN);
	uint8_t unknown[HL_SECRET_HASH];
	memset(unknown, 0, sizeof unknown);
	assert_int_equal(f->st->ops->authenticate(f->st, unknown, &a), HL_EAUTH);
}

static void
test_handle_taken(void **state)
{
	struct fixture *f = *state;
	uint8_t c1[HL_SECRET_HASH], c2[HL_SECRET_HASH], token[HL_SECRET_HASH];
	invite(f, "lv.cert", T0, T0 + DAY, c1);
	invite(f, "lv.cert", T0, T0 + DAY, c2);
	assert_int_equal(do_register(f, "lv.cert", c1, 1, T0, token), 0);
	/* The registration retired the second code. */
	assert_int_equal(do_register(f, "lv.cert", c2, 1, T0, token), HL_ECODE);
	/* A code still pending from before codes were retired meets the
	 * account that holds the handle. */
	sql(f, "UPDATE codes SET used = NULL WHERE account IS NULL");
	assert_int_equal(do_register(f, "lv.cert", c2, 1, T0, token), HL_ETAKEN);
}

static void
test_codes_retired_and_dropped(void **state)
{
	struct fixture *f = *state;
	uint8_t c1[HL_SECRET_HASH], c2[HL_SECRET_HASH], c3[HL_SECRET_HASH];
	uint8_t token[HL_SECRET_HASH];
	invite(f, "ee.cert", T0, T0 + 400 * DAY, c1);
	invite(f, "ee.cert", T0, T0 + 400 * DAY, c2);
	invite(f, "fi.ncsc", T0, T0 + 400 * DAY, c3);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM codes WHERE used IS "
	    "NULL"), 3);
	assert_int_equal(do_register(f, "ee.cert", c1, 1, T0 + 1, token), 0);
	/* Every unused code of the handle is used now; another handle's code
	 * is not touched. */
	assert_int_equal(sql_int(f, "SELECT count(*) FROM codes WHERE used IS "
	    "NULL AND handle = 'ee.cert'"), 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM codes WHERE used IS "
	    "NULL AND handle = 'fi.ncsc'"), 1);
	/* After a revoke the old second code enrols nobody. */
	struct hl_store_revoke rv;
	assert_int_equal(f->st->ops->revoke(f->st, "ee.cert", T0 + 2, &rv, NULL),
	    0);
	assert_int_equal(do_register(f, "ee.cert", c2, 1, T0 + 3, token),
	    HL_ECODE);
	/* A code left pending (a database from before) is deleted by the
	 * revoke. */
	uint8_t c4[HL_SECRET_HASH];
	invite(f, "ee.cert", T0, T0 + 400 * DAY, c4);
	assert_int_equal(do_register(f, "ee.cert", c4, 1, T0 + 4, token), 0);
	sql(f, "UPDATE codes SET used = NULL WHERE handle = 'ee.cert' AND "
	    "account IS NULL");
	assert_int_equal(sql_int(f, "SELECT count(*) FROM codes WHERE used IS "
	    "NULL AND handle = 'ee.cert'"), 1);
	assert_int_equal(f->st->ops->revoke(f->st, "ee.cert", T0 + 5, &rv, NULL),
	    0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM codes WHERE used IS "
	    "NULL AND handle = 'ee.cert'"), 0);
	assert_int_equal(do_register(f, "ee.cert", c2, 1, T0 + 6, token),
	    HL_ECODE);
	/* A fresh invite still works. */
	uint8_t c5[HL_SECRET_HASH];
	invite(f, "ee.cert", T0 + 6, T0 + 400 * DAY, c5);
	assert_int_equal(do_register(f, "ee.cert", c5, 1, T0 + 7, token), 0);
}

static void
test_register_retry(void **state)
{
	struct fixture *f = *state;
	uint8_t code[HL_SECRET_HASH], first[HL_SECRET_HASH];
	uint8_t second[HL_SECRET_HASH], other[HL_SECRET_HASH];
	int reissued = -1;
	invite(f, "ee.cert", T0, T0 + DAY, code);
	assert_int_equal(register_as(f, "ee.cert", code, 0x11, 812, T0, first,
	    &reissued), 0);
	assert_int_equal(reissued, 0);
	struct hl_store_account a;
	assert_int_equal(f->st->ops->authenticate(f->st, first, &a), 0);
	int64_t id = a.id;
	/* The answer was lost: the same code, identity key and registration
	 * id get a new token; the first one is gone. */
	assert_int_equal(register_as(f, "ee.cert", code, 0x11, 812, T0 + 1000,
	    second, &reissued), 0);
	assert_int_equal(reissued, 1);
	assert_int_equal(f->st->ops->authenticate(f->st, first, &a), HL_EAUTH);
	assert_int_equal(f->st->ops->authenticate(f->st, second, &a), 0);
	assert_int_equal(a.id, id);
	assert_true(a.first_use);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM accounts"), 1);
	/* Another identity key, another registration id, or an hour after
	 * the registration: refused alike. */
	assert_int_equal(register_as(f, "ee.cert", code, 0x12, 812, T0 + 2000,
	    other, &reissued), HL_ECODE);
	assert_int_equal(reissued, 0);
	assert_int_equal(register_as(f, "ee.cert", code, 0x11, 813, T0 + 2000,
	    other, &reissued), HL_ECODE);
	assert_int_equal(register_as(f, "ee.cert", code, 0x11, 812,
	    T0 + 3600000, other, &reissued), HL_ECODE);
	assert_int_equal(f->st->ops->authenticate(f->st, second, &a), 0);
	/* Recording a use with a replaced token fails; with the live one it
	 * ends the retries. */
	begin(f);
	assert_int_equal(f->st->ops->mark_used(f->st, id, first, T0 + 3000,
	    NULL), HL_EAUTH);
	assert_int_equal(f->st->ops->mark_used(f->st, id, second, T0 + 3000,
	    NULL), 0);
	assert_int_equal(f->st->ops->mark_used(f->st, id, second, T0 + 4000,
	    NULL), 0);
	commit(f);
	assert_int_equal(sql_int(f, "SELECT first_auth FROM accounts"),
	    T0 + 3000);
	assert_int_equal(register_as(f, "ee.cert", code, 0x11, 812, T0 + 5000,
	    other, &reissued), HL_ECODE);
	assert_int_equal(f->st->ops->authenticate(f->st, second, &a), 0);
	/* A revoked account cannot be retried into life. */
	uint8_t code2[HL_SECRET_HASH];
	invite(f, "fi.ncsc", T0, T0 + DAY, code2);
	assert_int_equal(register_as(f, "fi.ncsc", code2, 0x21, 9, T0, first,
	    &reissued), 0);
	struct hl_store_revoke rv;
	assert_int_equal(f->st->ops->revoke(f->st, "fi.ncsc", T0 + 10, &rv, NULL),
	    0);
	assert_int_equal(register_as(f, "fi.ncsc", code2, 0x21, 9, T0 + 20,
	    other, &reissued), HL_ECODE);
	begin(f);
	assert_int_equal(f->st->ops->mark_used(f->st, id + 1, first, T0 + 30,
	    NULL), HL_EAUTH);
	commit(f);
}

static void
test_schema_version(void **state)
{
	struct fixture *f = *state;
	char cause[HL_CAUSE_MAX];
	struct hl_store *st = NULL;
	/* An older schema is not served; init upgrades it. */
	hl_store_close(f->st);
	f->st = NULL;
	sql(f, "PRAGMA user_version = 1");
	assert_int_equal(hl_store_open(f->url, 0, 0, &st, cause), HL_EDB);
	assert_null(st);
	assert_non_null(strstr(cause, "older"));
	assert_non_null(strstr(cause, "init"));
	sql(f, "PRAGMA user_version = 99");
	assert_int_equal(hl_store_open(f->url, 1, 0, &st, cause), HL_EDB);
	assert_non_null(strstr(cause, "newer"));
	sql(f, "PRAGMA user_version = 3");
	assert_int_equal(hl_store_open(f->url, 0, 1, &f->st, cause), 0);
}

/* A store made by the first relay, with an account and a message in it,
 * is refused until init upgrades it; then both are served as before and
 * the versions are recorded. */
static void
test_upgrade_from_v1(void **state)
{
	struct fixture *f = *state;
	char cause[HL_CAUSE_MAX];
	hl_store_close(f->st);
	f->st = NULL;
	char p[160];
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
		unlink(p);
	}
	assert_int_equal(hl_store_sqlite_make(f->path, 1, cause), 0);
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 1);
	sql(f, "INSERT INTO accounts (handle, token_hash, device_id,"
	    " registration_id, identity_key, spk_id, spk_key, spk_sig, name,"
	    " organisation, country, role, languages, timezone, alternate,"
	    " created, updated) VALUES ('up.old', zeroblob(32), 1, 7,"
	    " zeroblob(33), 1, zeroblob(33), zeroblob(64), 'Old', '', '', '',"
	    " '', '', '', 1, 1)");
	sql(f, "INSERT INTO queue (recipient, kind, sender, peer, msg_id,"
	    " type, body, accepted) VALUES (1, 0, 1, 'up.old',"
	    " '0123456789abcdef0123456789abcdef', 3, x'6869', 5)");
	struct hl_store *st = NULL;
	assert_int_equal(hl_store_open(f->url, 0, 0, &st, cause), HL_EDB);
	assert_non_null(strstr(cause, "older"));
	assert_int_equal(hl_store_open(f->url, 1, 1, &f->st, cause), 0);

	uint8_t token_hash[HL_SECRET_HASH] = { 0 };
	struct hl_store_account acc;
	assert_int_equal(f->st->ops->authenticate(f->st, token_hash, &acc), 0);
	assert_string_equal(acc.handle, "up.old");
	assert_int_equal(acc.first_use, 1);
	struct hl_store_fetch fe;
	assert_int_equal(f->st->ops->fetch(f->st, acc.id, 10, 1 << 20, &fe,
	    cause), 0);
	assert_int_equal(fe.n, 1);
	assert_int_equal(fe.items[0].body_len, 2);
	assert_memory_equal(fe.items[0].body, "hi", 2);
	hl_store_fetch_free(&fe);
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 3);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM hotline_schema"), 3);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM hotline_schema"
	    " WHERE version = 3 AND applied > 0"), 1);
}

static void
test_prekeys_once(void **state)
{
	struct fixture *f = *state;
	int64_t a = account(f, "ee.cert", 3);
	int64_t b = account(f, "fi.ncsc", 0);
	struct hl_store_bundle bundle;
	int64_t retry = 0;
	uint32_t seen[3];
	for (int i = 0; i < 4; i++) {
		begin(f);
		assert_int_equal(f->st->ops->take_bundle(f->st, b, "ee.cert", T0,
		    &f->lim, &bundle, &retry, NULL), 0);
		commit(f);
		assert_string_equal(bundle.handle, "ee.cert");
		assert_int_equal(bundle.registration_id, 812);
		assert_int_equal(bundle.signed_prekey.id, 3);
		assert_int_equal(bundle.identity_key[1], 0x11);
		if (i < 3) {
			assert_true(bundle.has_prekey);
			seen[i] = bundle.prekey.id;
			for (int k = 0; k < i; k++)
				assert_int_not_equal(seen[k], bundle.prekey.id);
		} else {
			assert_false(bundle.has_prekey);
		}
	}
	int64_t remaining = -1;
	uint32_t spk = 0;
	assert_int_equal(f->st->ops->key_status(f->st, a, &remaining, &spk), 0);
	assert_int_equal(remaining, 0);
	assert_int_equal(spk, 3);
	begin(f);
	assert_int_equal(f->st->ops->take_bundle(f->st, b, "xx.none", T0, &f->lim,
	    &bundle, &retry, NULL), HL_ENOTFOUND);
	commit(f);
}

static void
test_bundle_rate(void **state)
{
	struct fixture *f = *state;
	account(f, "ee.cert", 1);
	int64_t b = account(f, "fi.ncsc", 0);
	f->lim.bundle_rate_per_hour = 2;
	struct hl_store_bundle bundle;
	int64_t retry = 0;
	for (int i = 0; i < 2; i++) {
		begin(f);
		assert_int_equal(f->st->ops->take_bundle(f->st, b, "ee.cert",
		    T0 + i * 1000, &f->lim, &bundle, &retry, NULL), 0);
		commit(f);
	}
	begin(f);
	assert_int_equal(f->st->ops->take_bundle(f->st, b, "ee.cert", T0 + 2000,
	    &f->lim, &bundle, &retry, NULL), HL_ERATE);
	commit(f);
	/* The oldest fetch leaves the window an hour after it was made. */
	assert_int_equal(retry, 3600 - 2);
	begin(f);
	assert_int_equal(f->st->ops->take_bundle(f->st, b, "ee.cert",
	    T0 + 3600001, &f->lim, &bundle, &retry, NULL), 0);
	commit(f);
}

static void
test_upload_keys(void **state)
{
	struct fixture *f = *state;
	int64_t a = account(f, "ee.cert", 2);   /* ids 100, 101 */
	struct hl_store_prekey keys[9];
	for (size_t i = 0; i < 9; i++) {
		keys[i].id = (uint32_t)(200 + i);
		fill_key(keys[i].key, 0x50);
	}
	struct hl_store_keys up = { keys, 9, 0, { 0, { 0 }, { 0 } } };
	int64_t remaining = 0;
	char cause[HL_CAUSE_MAX];
	begin(f);
	/* 2 + 9 > 10 */
	assert_int_equal(f->st->ops->upload_keys(f->st, a, &up, &f->lim,
	    &remaining, cause), HL_EINVAL);
	up.nprekeys = 8;
	assert_int_equal(f->st->ops->upload_keys(f->st, a, &up, &f->lim,
	    &remaining, cause), 0);
	assert_int_equal(remaining, 10);
	commit(f);
	keys[0].id = 101;
	up.nprekeys = 1;
	f->lim.max_prekeys_stored = 100;
	begin(f);
	assert_int_equal(f->st->ops->upload_keys(f->st, a, &up, &f->lim,
	    &remaining, cause), HL_EEXIST);
	assert_non_null(strstr(cause, "101"));
	/* A new signed prekey alone. */
	up.nprekeys = 0;
	up.has_signed_prekey = 1;
	up.signed_prekey.id = 9;
	fill_key(up.signed_prekey.key, 0x66);
	assert_int_equal(f->st->ops->upload_keys(f->st, a, &up, &f->lim,
	    &remaining, cause), 0);
	commit(f);
	uint32_t spk = 0;
	assert_int_equal(f->st->ops->key_status(f->st, a, &remaining, &spk), 0);
	assert_int_equal(remaining, 10);
	assert_int_equal(spk, 9);
}

static void
test_queue_fifo_and_ack(void **state)
{
	struct fixture *f = *state;
	int64_t a = account(f, "ee.cert", 0);
	int64_t b = account(f, "fi.ncsc", 0);
	struct hl_store_accepted acc;
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(1), "one", T0,
	    &acc), 0);
	assert_int_equal(acc.recipient, b);
	assert_false(acc.duplicate);
	assert_int_equal(acc.accepted, T0);
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(2), "two",
	    T0 + 1, &acc), 0);
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(3), "three",
	    T0 + 2, &acc), 0);

	struct hl_store_fetch fe;
	assert_int_equal(f->st->ops->fetch(f->st, b, 2, 1 << 20, &fe, NULL), 0);
	assert_int_equal(fe.n, 2);
	assert_true(fe.more);
	assert_int_equal(fe.items[0].kind, HL_STORE_MESSAGE);
	assert_string_equal(fe.items[0].id, ID(1));
	assert_string_equal(fe.items[0].peer, "ee.cert");
	assert_int_equal(fe.items[0].type, 3);
	assert_int_equal(fe.items[0].body_len, 3);
	assert_memory_equal(fe.items[0].body, "one", 3);
	assert_string_equal(fe.items[1].id, ID(2));
	assert_true(fe.items[0].qid < fe.items[1].qid);
	int64_t qids[2] = { fe.items[0].qid, fe.items[1].qid };
	hl_store_fetch_free(&fe);

	/* A body budget smaller than two bodies still returns one item. */
	assert_int_equal(f->st->ops->fetch(f->st, b, 10, 4, &fe, NULL), 0);
	assert_int_equal(fe.n, 1);
	assert_true(fe.more);
	hl_store_fetch_free(&fe);

	int64_t deleted = -1;
	begin(f);
	/* Someone else's acks delete nothing. */
	assert_int_equal(f->st->ops->ack(f->st, a, qids, 2, &deleted, NULL), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(f->st->ops->ack(f->st, b, qids, 2, &deleted, NULL), 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(f->st->ops->ack(f->st, b, qids, 2, &deleted, NULL), 0);
	assert_int_equal(deleted, 0);
	commit(f);
	assert_int_equal(f->st->ops->fetch(f->st, b, 10, 1 << 20, &fe, NULL), 0);
	assert_int_equal(fe.n, 1);
	assert_false(fe.more);
	assert_string_equal(fe.items[0].id, ID(3));
	assert_int_equal(fe.prekeys_remaining, 0);
	hl_store_fetch_free(&fe);
}

static void
test_idempotent(void **state)
{
	struct fixture *f = *state;
	int64_t a = account(f, "ee.cert", 0);
	int64_t b = account(f, "fi.ncsc", 0);
	struct hl_store_accepted acc;
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(1), "body", T0,
	    &acc), 0);
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(1), "body",
	    T0 + 5000, &acc), 0);
	assert_true(acc.duplicate);
	assert_int_equal(acc.accepted, T0);
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(1), "other",
	    T0 + 6000, &acc), HL_ECONFLICT);
	assert_int_equal(send_msg(f, a, "ee.cert", "ee.cert", ID(1), "body",
	    T0 + 6000, &acc), HL_ECONFLICT);
	/* The same id from another sender is another message. */
	assert_int_equal(send_msg(f, b, "fi.ncsc", "ee.cert", ID(1), "body", T0,
	    &acc), 0);
	assert_false(acc.duplicate);
	assert_int_equal(send_msg(f, a, "ee.cert", "xx.none", ID(2), "body", T0,
	    &acc), HL_ERECIPIENT);
	struct hl_store_fetch fe;
	assert_int_equal(f->st->ops->fetch(f->st, b, 10, 1 << 20, &fe, NULL), 0);
	assert_int_equal(fe.n, 1);
	hl_store_fetch_free(&fe);
}

static void
test_queue_full(void **state)
{
	struct fixture *f = *state;
	int64_t a = account(f, "ee.cert", 0);
	account(f, "fi.ncsc", 0);
	f->lim.max_queue_per_recipient = 2;
	struct hl_store_accepted acc;
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(1), "x", T0,
	    &acc), 0);
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(2), "x", T0,
	    &acc), 0);
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(3), "x", T0,
	    &acc), HL_EQUEUEFULL);
	/* A retry of an accepted message still gets its answer. */
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(2), "x", T0,
	    &acc), 0);
	assert_true(acc.duplicate);
}

static void
test_queue_per_sender(void **state)
{
	struct fixture *f = *state;
	int64_t a = account(f, "ee.cert", 0);
	int64_t b = account(f, "fi.ncsc", 0);
	int64_t c = account(f, "lv.cert", 0);
	f->lim.max_queue_per_recipient = 5;
	f->lim.max_queue_per_sender = 2;
	struct hl_store_accepted acc;
	char cause[HL_CAUSE_MAX];
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(1), "x", T0,
	    &acc), 0);
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(2), "x", T0,
	    &acc), 0);
	/* a's share of b's queue is full; b's queue is not. */
	struct hl_store_envelope env;
	memset(&env, 0, sizeof env);
	env.sender = a;
	snprintf(env.sender_handle, sizeof env.sender_handle, "ee.cert");
	snprintf(env.to, sizeof env.to, "fi.ncsc");
	snprintf(env.id, sizeof env.id, "%s", ID(3));
	env.type = 3;
	env.body = (const uint8_t *)"x";
	env.body_len = 1;
	hl_store_envelope_digest(&env);
	begin(f);
	assert_int_equal(f->st->ops->queue_message(f->st, &env, T0, &f->lim,
	    &acc, cause), HL_EQUEUEFULL);
	commit(f);
	assert_non_null(strstr(cause, "from you"));
	/* A retry of an accepted one is still answered. */
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(2), "x", T0,
	    &acc), 0);
	assert_true(acc.duplicate);
	/* Others still reach b, and a still reaches others and itself. */
	assert_int_equal(send_msg(f, c, "lv.cert", "fi.ncsc", ID(4), "x", T0,
	    &acc), 0);
	assert_int_equal(send_msg(f, a, "ee.cert", "lv.cert", ID(5), "x", T0,
	    &acc), 0);
	/* Once b acks one of a's, a may send one more. */
	struct hl_store_fetch fe;
	assert_int_equal(f->st->ops->fetch(f->st, b, 1, 1 << 20, &fe, NULL), 0);
	assert_int_equal(fe.n, 1);
	int64_t qid = fe.items[0].qid;
	hl_store_fetch_free(&fe);
	int64_t deleted = 0;
	begin(f);
	assert_int_equal(f->st->ops->ack(f->st, b, &qid, 1, &deleted, NULL), 0);
	commit(f);
	assert_int_equal(deleted, 1);
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(3), "x", T0,
	    &acc), 0);
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(7), "x", T0,
	    &acc), HL_EQUEUEFULL);
}

static void
test_purge_notices(void **state)
{
	struct fixture *f = *state;
	int64_t a = account(f, "ee.cert", 0);
	int64_t b = account(f, "fi.ncsc", 0);
	struct hl_store_accepted acc;
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(1), "old", T0,
	    &acc), 0);
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(2), "new",
	    T0 + 10 * DAY, &acc), 0);
	struct hl_store_purge p;
	begin(f);
	assert_int_equal(f->st->ops->purge(f->st, T0 + 30 * DAY + 1, 30 * DAY, &p,
	    NULL), 0);
	commit(f);
	assert_int_equal(p.expired, 1);
	assert_int_equal(p.nwoken, 1);
	assert_int_equal(p.woken[0], a);
	free(p.woken);

	struct hl_store_fetch fe;
	assert_int_equal(f->st->ops->fetch(f->st, b, 10, 1 << 20, &fe, NULL), 0);
	assert_int_equal(fe.n, 1);
	assert_string_equal(fe.items[0].id, ID(2));
	hl_store_fetch_free(&fe);
	assert_int_equal(f->st->ops->fetch(f->st, a, 10, 1 << 20, &fe, NULL), 0);
	assert_int_equal(fe.n, 1);
	assert_int_equal(fe.items[0].kind, HL_STORE_EXPIRED);
	assert_string_equal(fe.items[0].id, ID(1));
	assert_string_equal(fe.items[0].peer, "fi.ncsc");
	assert_int_equal(fe.items[0].accepted, T0);
	assert_int_equal(fe.items[0].at, T0 + 30 * DAY + 1);
	assert_null(fe.items[0].body);
	hl_store_fetch_free(&fe);

	/* Nothing more to purge the same day; the notice goes a retention
	 * period after it was made. */
	begin(f);
	assert_int_equal(f->st->ops->purge(f->st, T0 + 30 * DAY + 2, 30 * DAY, &p,
	    NULL), 0);
	commit(f);
	assert_int_equal(p.expired, 0);
	assert_int_equal(p.notices_dropped, 0);
	free(p.woken);
	begin(f);
	assert_int_equal(f->st->ops->purge(f->st, T0 + 60 * DAY + 2, 30 * DAY, &p,
	    NULL), 0);
	commit(f);
	assert_int_equal(p.expired, 1);          /* ID(2) */
	assert_int_equal(p.notices_dropped, 1);  /* the first notice */
	free(p.woken);
}

static void
test_revoke_notices(void **state)
{
	struct fixture *f = *state;
	int64_t a = account(f, "ee.cert", 0);
	int64_t b = account(f, "fi.ncsc", 0);
	int64_t x = account(f, "xx.cert", 2);
	struct hl_store_accepted acc;
	assert_int_equal(send_msg(f, a, "ee.cert", "xx.cert", ID(1), "m", T0,
	    &acc), 0);
	assert_int_equal(send_msg(f, b, "fi.ncsc", "xx.cert", ID(2), "m", T0 + 1,
	    &acc), 0);
	assert_int_equal(send_msg(f, x, "xx.cert", "ee.cert", ID(3), "m", T0 + 2,
	    &acc), 0);
	struct hl_store_revoke rv;
	char cause[HL_CAUSE_MAX];
	assert_int_equal(f->st->ops->revoke(f->st, "xx.cert", T0 + 100, &rv,
	    cause), 0);
	assert_int_equal(rv.dropped, 2);
	assert_int_equal(rv.notices, 2);
	assert_int_equal(f->st->ops->revoke(f->st, "xx.cert", T0 + 100, &rv,
	    cause), HL_ENOTFOUND);

	struct hl_store_fetch fe;
	assert_int_equal(f->st->ops->fetch(f->st, b, 10, 1 << 20, &fe, NULL), 0);
	assert_int_equal(fe.n, 1);
	assert_int_equal(fe.items[0].kind, HL_STORE_DROPPED);
	assert_string_equal(fe.items[0].id, ID(2));
	assert_string_equal(fe.items[0].peer, "xx.cert");
	assert_string_equal(fe.items[0].reason, "revoked");
	assert_int_equal(fe.items[0].accepted, T0 + 1);
	assert_int_equal(fe.items[0].at, T0 + 100);
	hl_store_fetch_free(&fe);
	/* What the revoked account sent before stays deliverable. */
	assert_int_equal(f->st->ops->fetch(f->st, a, 10, 1 << 20, &fe, NULL), 0);
	assert_int_equal(fe.n, 2);
	assert_int_equal(fe.items[0].kind, HL_STORE_MESSAGE);
	assert_string_equal(fe.items[0].id, ID(3));
	assert_int_equal(fe.items[1].kind, HL_STORE_DROPPED);
	hl_store_fetch_free(&fe);

	assert_int_equal(f->st->ops->fetch(f->st, x, 10, 1 << 20, &fe, NULL),
	    HL_EAUTH);
	assert_int_equal(send_msg(f, a, "ee.cert", "xx.cert", ID(4), "m", T0,
	    &acc), HL_ERECIPIENT);
	assert_int_equal(send_msg(f, x, "xx.cert", "ee.cert", ID(5), "m", T0,
	    &acc), HL_EAUTH);
	struct hl_store_bundle bundle;
	int64_t retry;
	begin(f);
	assert_int_equal(f->st->ops->take_bundle(f->st, a, "xx.cert", T0, &f->lim,
	    &bundle, &retry, NULL), HL_ENOTFOUND);
	commit(f);
	/* The handle can enrol again with a new code, as a new account. */
	int64_t x2 = account(f, "xx.cert", 1);
	assert_int_not_equal(x2, x);
}

static void
test_profile_directory(void **state)
{
	struct fixture *f = *state;
	int64_t a = account(f, "ee.cert", 0);
	account(f, "fi.ncsc", 0);
	struct hl_store_profile p;
	memset(&p, 0, sizeof p);
	snprintf(p.name, sizeof p.name, "RIA duty desk");
	snprintf(p.country, sizeof p.country, "EE");
	snprintf(p.languages, sizeof p.languages, "en,et");
	snprintf(p.alternate, sizeof p.alternate, "ee.ria");
	struct hl_store_entry e;
	begin(f);
	assert_int_equal(f->st->ops->update_profile(f->st, a, &p, T0 + 9, &e,
	    NULL), 0);
	commit(f);
	assert_string_equal(e.handle, "ee.cert");
	assert_string_equal(e.profile.name, "RIA duty desk");
	assert_string_equal(e.profile.languages, "en,et");
	assert_int_equal(e.updated, T0 + 9);

	struct hl_store_entry *list = NULL;
	size_t n = 0;
	assert_int_equal(f->st->ops->directory(f->st, "", 500, &list, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].handle, "ee.cert");
	assert_string_equal(list[1].handle, "fi.ncsc");
	free(list);
	assert_int_equal(f->st->ops->directory(f->st, "ria DUTY", 500, &list, &n,
	    NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].handle, "ee.cert");
	free(list);
	/* LIKE wildcards are plain characters here. */
	assert_int_equal(f->st->ops->directory(f->st, "%", 500, &list, &n, NULL),
	    0);
	assert_int_equal(n, 0);
	free(list);
	assert_int_equal(f->st->ops->directory(f->st, "", 1, &list, &n, NULL), 0);
	assert_int_equal(n, 1);
	free(list);
}

static void
test_admin_views_and_backup(void **state)
{
	struct fixture *f = *state;
	int64_t a = account(f, "ee.cert", 2);
	account(f, "fi.ncsc", 0);
	struct hl_store_accepted acc;
	assert_int_equal(send_msg(f, a, "ee.cert", "fi.ncsc", ID(1), "m", T0,
	    &acc), 0);
	struct hl_store_account_info *list;
	size_t n;
	assert_int_equal(f->st->ops->accounts(f->st, &list, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].handle, "ee.cert");
	assert_int_equal(list[0].prekeys, 2);
	assert_int_equal(list[1].queued, 1);
	assert_false(list[1].revoked);
	free(list);
	struct hl_store_stats s;
	assert_int_equal(f->st->ops->stats(f->st, &s, NULL), 0);
	assert_int_equal(s.accounts_active, 2);
	assert_int_equal(s.queued_messages, 1);
	assert_int_equal(s.oldest_queued, T0);
	int64_t depth = 0, accounts = 0;
	assert_int_equal(f->st->ops->gauges(f->st, &depth, &accounts), 0);
	assert_int_equal(depth, 1);
	assert_int_equal(accounts, 2);

	char path[160], url[170], cause[HL_CAUSE_MAX];
	snprintf(path, sizeof path, "%s/backup.db", f->dir);
	assert_int_equal(f->st->ops->backup(f->st, path, cause), 0);
	/* Never over an existing file. */
	assert_int_equal(f->st->ops->backup(f->st, path, cause), HL_EEXIST);
	snprintf(url, sizeof url, "sqlite:%s", path);
	struct hl_store *copy = NULL;
	assert_int_equal(hl_store_open(url, 0, 0, &copy, cause), 0);
	assert_int_equal(copy->ops->stats(copy, &s, NULL), 0);
	assert_int_equal(s.accounts_active, 2);
	assert_int_equal(s.queued_messages, 1);
	hl_store_close(copy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_requires_init, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_register_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handle_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_codes_retired_and_dropped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_retry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_schema_version, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_from_v1, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_prekeys_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bundle_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_fifo_and_ack, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_per_sender, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_purge_notices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke_notices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profile_directory, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_admin_views_and_backup, setup,
		    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
