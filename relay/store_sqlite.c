/*
 * store_sqlite: the store in one SQLite file (WAL, synchronous=FULL through
 * hl_db). One write connection, used by the single writer thread or an
 * admin command; a small pool of read-only connections for the HTTP
 * threads, which WAL lets read while the writer writes.
 */
#include "relay/store.h"

#include "crypto/hl_db.h"
#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA_VERSION 2
#define HOUR_MS 3600000LL
#define PURGE_CHUNK 256
#define PURGE_ROUNDS 4096

/* Version 1, as it was first created; later versions are migrations from
 * it, run by init in one transaction. */
static const char schema_v1[] =
	/* AUTOINCREMENT: an id names one account forever, so nothing keyed
	 * by it (a parked long-poll, a rate bucket) can reach the next
	 * account that enrols under a revoked handle. */
	"CREATE TABLE accounts ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" handle TEXT NOT NULL UNIQUE,"
	" token_hash BLOB UNIQUE,"
	" device_id INTEGER NOT NULL,"
	" registration_id INTEGER NOT NULL,"
	" identity_key BLOB NOT NULL,"
	" spk_id INTEGER NOT NULL,"
	" spk_key BLOB NOT NULL,"
	" spk_sig BLOB NOT NULL,"
	" name TEXT NOT NULL,"
	" organisation TEXT NOT NULL,"
	" country TEXT NOT NULL,"
	" role TEXT NOT NULL,"
	" languages TEXT NOT NULL,"
	" timezone TEXT NOT NULL,"
	" alternate TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" revoked INTEGER,"
	" queued INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE prekeys ("
	" account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" key_id INTEGER NOT NULL,"
	" key BLOB NOT NULL,"
	" PRIMARY KEY (account, key_id)) WITHOUT ROWID;"
	"CREATE TABLE codes ("
	" id INTEGER PRIMARY KEY,"
	" handle TEXT NOT NULL,"
	" code_hash BLOB NOT NULL,"
	" created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL,"
	" used INTEGER);"
	"CREATE INDEX codes_handle ON codes(handle);"
	/* AUTOINCREMENT: a qid is never reused, so a late ack can never
	 * delete a newer item. */
	"CREATE TABLE queue ("
	" qid INTEGER PRIMARY KEY AUTOINCREMENT,"
	" recipient INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" kind INTEGER NOT NULL,"
	" sender INTEGER REFERENCES accounts(id) ON DELETE SET NULL,"
	" peer TEXT NOT NULL,"
	" peer_device INTEGER NOT NULL DEFAULT 0,"
	" msg_id TEXT NOT NULL,"
	" type INTEGER NOT NULL DEFAULT 0,"
	" body BLOB,"
	" accepted INTEGER NOT NULL,"
	" at INTEGER NOT NULL DEFAULT 0,"
	" reason TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX queue_recipient ON queue(recipient, qid);"
	"CREATE INDEX queue_sender ON queue(sender);"
	"CREATE INDEX queue_expiry ON queue(accepted) WHERE kind = 0;"
	"CREATE INDEX queue_notices ON queue(at) WHERE kind != 0;"
	"CREATE TABLE sent ("
	" sender INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" msg_id TEXT NOT NULL,"
	" digest BLOB NOT NULL,"
	" accepted INTEGER NOT NULL,"
	" PRIMARY KEY (sender, msg_id)) WITHOUT ROWID;"
	"CREATE INDEX sent_accepted ON sent(accepted);"
	"CREATE TABLE bundle_fetches ("
	" requester INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" target INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" at INTEGER NOT NULL);"
	"CREATE INDEX bundle_fetches_pair"
	" ON bundle_fetches(requester, target, at);"
	"CREATE INDEX bundle_fetches_target ON bundle_fetches(target);"
	"CREATE INDEX bundle_fetches_at ON bundle_fetches(at);"
	/* accounts.queued counts every item queued for the account, so the
	 * queue limit costs one row read, not a count. */
	"CREATE TRIGGER queue_added AFTER INSERT ON queue BEGIN"
	" UPDATE accounts SET queued = queued + 1 WHERE id = NEW.recipient;"
	" END;"
	"CREATE TRIGGER queue_removed AFTER DELETE ON queue BEGIN"
	" UPDATE accounts SET queued = queued - 1 WHERE id = OLD.recipient;"
	" END;";

/* Version 2: whether an account has ever authenticated a request, and
 * which account a used code created (so that a registration whose answer
 * was lost can be retried; account ids are never reused, so a stale id
 * finds nothing); one sender's share of a queue is counted by index; and
 * codes left unused by a handle that has an account are retired. */
static const char schema_v2[] =
	"ALTER TABLE accounts ADD COLUMN first_auth INTEGER;"
	"ALTER TABLE codes ADD COLUMN account INTEGER;"
	"CREATE INDEX queue_pair ON queue(recipient, sender) WHERE kind = 0;"
	"UPDATE codes SET used ="
	" CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
	" WHERE used IS NULL AND handle IN"
	" (SELECT handle FROM accounts WHERE revoked IS NULL);";

/* migrations[v] takes a store from version v to v + 1. */
static const char *const migrations[SCHEMA_VERSION] = {
	schema_v1,
	schema_v2,
};

enum sql {
	S_AUTH,
	S_ACTIVE,
	S_FETCH,
	S_PREKEY_COUNT,
	S_KEY_STATUS,
	S_DIRECTORY,
	S_GAUGES,
	S_OLDEST,
	S_CODES_FOR,
	S_CODE_USE,
	S_CODES_RETIRE,
	S_CODES_DROP,
	S_REISSUE_ACCOUNT,
	S_TOKEN_REPLACE,
	S_MARK_USED,
	S_SENDER_QUEUED,
	S_ACCOUNT_BY_HANDLE,
	S_ACCOUNT_DELETE,
	S_ACCOUNT_INSERT,
	S_PREKEY_INSERT,
	S_PREKEY_EXISTS,
	S_SPK_UPDATE,
	S_TARGET,
	S_BUNDLE_COUNT,
	S_BUNDLE_RECORD,
	S_PREKEY_FIRST,
	S_PREKEY_DELETE,
	S_PROFILE_UPDATE,
	S_ENTRY,
	S_SENT_GET,
	S_RECIPIENT,
	S_QUEUE_INSERT,
	S_SENT_INSERT,
	S_ACK,
	S_EXPIRED,
	S_QUEUE_DELETE,
	S_PURGE_NOTICES,
	S_PURGE_SENT,
	S_PURGE_FETCHES,
	S_PURGE_CODES,
	S_INVITE,
	S_REVOKE,
	S_QUEUED_FOR,
	S_QUEUE_CLEAR,
	S_PREKEY_CLEAR,
	S_FETCHES_CLEAR,
	S_ACCOUNTS,
	S_STATS,
	NSQL
};

#define PROFILE_COLUMNS \
	"name, organisation, country, role, languages, timezone, alternate"

static const char *const sql_text[NSQL] = {
	[S_AUTH] = "SELECT id, handle, device_id, token_hash,"
	    " first_auth IS NULL FROM accounts"
	    " WHERE token_hash = ?1 AND revoked IS NULL",
	[S_ACTIVE] = "SELECT 1 FROM accounts WHERE id = ?1 AND revoked IS NULL",
	[S_FETCH] = "SELECT qid, kind, peer, peer_device, msg_id, type, body,"
	    " accepted, at, reason FROM queue WHERE recipient = ?1"
	    " ORDER BY qid LIMIT ?2",
	[S_PREKEY_COUNT] = "SELECT count(*) FROM prekeys WHERE account = ?1",
	[S_KEY_STATUS] = "SELECT spk_id FROM accounts"
	    " WHERE id = ?1 AND revoked IS NULL",
	[S_DIRECTORY] = "SELECT handle, " PROFILE_COLUMNS ", identity_key,"
	    " updated FROM accounts WHERE revoked IS NULL AND (?1 = ''"
	    " OR instr(lower(handle), ?1) > 0 OR instr(lower(name), ?1) > 0"
	    " OR instr(lower(organisation), ?1) > 0"
	    " OR instr(lower(country), ?1) > 0 OR instr(lower(role), ?1) > 0)"
	    " ORDER BY handle LIMIT ?2",
	[S_GAUGES] = "SELECT coalesce(sum(queued), 0),"
	    " coalesce(sum(revoked IS NULL), 0) FROM accounts",
	[S_OLDEST] = "SELECT coalesce(min(accepted), 0) FROM queue"
	    " WHERE kind = 0",
	[S_CODES_FOR] = "SELECT id, code_hash, expires, used, account"
	    " FROM codes WHERE handle = ?1",
	[S_CODE_USE] = "UPDATE codes SET used = ?2, account = ?3 WHERE id = ?1",
	[S_CODES_RETIRE] = "UPDATE codes SET used = ?2 WHERE handle = ?1"
	    " AND used IS NULL",
	[S_CODES_DROP] = "DELETE FROM codes WHERE handle = ?1 AND used IS NULL",
	[S_REISSUE_ACCOUNT] = "SELECT handle, identity_key, registration_id,"
	    " created, first_auth IS NULL, revoked IS NULL FROM accounts"
	    " WHERE id = ?1",
	[S_TOKEN_REPLACE] = "UPDATE accounts SET token_hash = ?2 WHERE id = ?1",
	[S_MARK_USED] = "UPDATE accounts SET first_auth = coalesce(first_auth,"
	    " ?3) WHERE id = ?1 AND token_hash = ?2 AND revoked IS NULL",
	[S_SENDER_QUEUED] = "SELECT count(*) FROM queue WHERE recipient = ?1"
	    " AND sender = ?2 AND kind = 0",
	[S_ACCOUNT_BY_HANDLE] = "SELECT id, revoked IS NOT NULL FROM accounts"
	    " WHERE handle = ?1",
	[S_ACCOUNT_DELETE] = "DELETE FROM accounts WHERE id = ?1",
	[S_ACCOUNT_INSERT] = "INSERT INTO accounts (handle, token_hash,"
	    " device_id, registration_id, identity_key, spk_id, spk_key,"
	    " spk_sig, " PROFILE_COLUMNS ", created, updated)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	    " ?14, ?15, ?16, ?16)",
	[S_PREKEY_INSERT] = "INSERT INTO prekeys (account, key_id, key)"
	    " VALUES (?1, ?2, ?3)",
	[S_PREKEY_EXISTS] = "SELECT 1 FROM prekeys WHERE account = ?1"
	    " AND key_id = ?2",
	[S_SPK_UPDATE] = "UPDATE accounts SET spk_id = ?2, spk_key = ?3,"
	    " spk_sig = ?4 WHERE id = ?1",
	[S_TARGET] = "SELECT id, handle, device_id, registration_id,"
	    " identity_key, spk_id, spk_key, spk_sig FROM accounts"
	    " WHERE handle = ?1 AND revoked IS NULL",
	[S_BUNDLE_COUNT] = "SELECT count(*), min(at) FROM bundle_fetches"
	    " WHERE requester = ?1 AND target = ?2 AND at > ?3",
	[S_BUNDLE_RECORD] = "INSERT INTO bundle_fetches (requester, target, at)"
	    " VALUES (?1, ?2, ?3)",
	[S_PREKEY_FIRST] = "SELECT key_id, key FROM prekeys WHERE account = ?1"
	    " ORDER BY key_id LIMIT 1",
	[S_PREKEY_DELETE] = "DELETE FROM prekeys WHERE account = ?1"
	    " AND key_id = ?2",
	[S_PROFILE_UPDATE] = "UPDATE accounts SET name = ?2, organisation = ?3,"
	    " country = ?4, role = ?5, languages = ?6, timezone = ?7,"
	    " alternate = ?8, updated = ?9 WHERE id = ?1 AND revoked IS NULL",
	[S_ENTRY] = "SELECT handle, " PROFILE_COLUMNS ", identity_key, updated"
	    " FROM accounts WHERE id = ?1",
	[S_SENT_GET] = "SELECT digest, accepted FROM sent WHERE sender = ?1"
	    " AND msg_id = ?2",
	[S_RECIPIENT] = "SELECT id, queued FROM accounts WHERE handle = ?1"
	    " AND revoked IS NULL",
	[S_QUEUE_INSERT] = "INSERT INTO queue (recipient, kind, sender, peer,"
	    " peer_device, msg_id, type, body, accepted, at, reason)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[S_SENT_INSERT] = "INSERT INTO sent (sender, msg_id, digest, accepted)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[S_ACK] = "DELETE FROM queue WHERE qid = ?1 AND recipient = ?2",
	[S_EXPIRED] = "SELECT q.qid, q.sender, q.msg_id, q.accepted, r.handle"
	    " FROM queue q JOIN accounts r ON r.id = q.recipient"
	    " WHERE q.kind = 0 AND q.accepted < ?1"
	    " ORDER BY q.accepted LIMIT ?2",
	[S_QUEUE_DELETE] = "DELETE FROM queue WHERE qid = ?1",
	[S_PURGE_NOTICES] = "DELETE FROM queue WHERE kind != 0 AND at < ?1",
	[S_PURGE_SENT] = "DELETE FROM sent WHERE accepted < ?1",
	[S_PURGE_FETCHES] = "DELETE FROM bundle_fetches WHERE at <= ?1",
	[S_PURGE_CODES] = "DELETE FROM codes WHERE expires < ?1"
	    " OR (used IS NOT NULL AND used < ?1)",
	[S_INVITE] = "INSERT INTO codes (handle, code_hash, created, expires)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[S_REVOKE] = "UPDATE accounts SET revoked = ?2, token_hash = NULL"
	    " WHERE id = ?1",
	[S_QUEUED_FOR] = "SELECT qid, sender, msg_id, accepted FROM queue"
	    " WHERE recipient = ?1 AND kind = 0 AND qid > ?2 ORDER BY qid"
	    " LIMIT ?3",
	[S_QUEUE_CLEAR] = "DELETE FROM queue WHERE recipient = ?1",
	[S_PREKEY_CLEAR] = "DELETE FROM prekeys WHERE account = ?1",
	[S_FETCHES_CLEAR] = "DELETE FROM bundle_fetches WHERE requester = ?1"
	    " OR target = ?1",
	[S_ACCOUNTS] = "SELECT a.handle, a.name, a.revoked, a.created,"
	    " (SELECT count(*) FROM prekeys p WHERE p.account = a.id), a.queued"
	    " FROM accounts a ORDER BY a.handle",
	[S_STATS] = "SELECT"
	    " (SELECT count(*) FROM accounts WHERE revoked IS NULL),"
	    " (SELECT count(*) FROM accounts WHERE revoked IS NOT NULL),"
	    " (SELECT count(*) FROM queue WHERE kind = 0),"
	    " (SELECT count(*) FROM queue WHERE kind != 0),"
	    " (SELECT coalesce(min(accepted), 0) FROM queue WHERE kind = 0),"
	    " (SELECT count(*) FROM prekeys),"
	    " (SELECT count(*) FROM codes WHERE used IS NULL AND expires > ?1)",
};

/* A connection and its prepared statements, made on first use. */
struct conn {
	sqlite3 *db;
	sqlite3_stmt *st[NSQL];
	int full;              /* a write failed: the disk is full */
};

struct sqlite_store {
	struct hl_store base;
	char path[PATH_MAX];
	struct conn writer;
	struct conn *readers;
	unsigned char *reader_busy;
	unsigned nreaders;
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	int pool_init;
};

static struct sqlite_store *
impl(struct hl_store *st)
{
	return (struct sqlite_store *)st;
}

static int
fail_db(struct conn *c, int rc, char *cause)
{
	if ((rc & 0xff) == SQLITE_FULL)
		c->full = 1;
	return hl_db_error(c->db, rc, cause);
}

/* After a helper of hl_db failed on c: was it the disk? Read before a
 * rollback, which resets the connection's error. */
static void
note_full(struct conn *c)
{
	if ((sqlite3_errcode(c->db) & 0xff) == SQLITE_FULL)
		c->full = 1;
}

/* The statement for id, reset and cleared; NULL with cause set when it
 * cannot be prepared. */
static sqlite3_stmt *
stmt(struct conn *c, enum sql id, int *err, char *cause)
{
	if (c->st[id] == NULL) {
		int rc = sqlite3_prepare_v3(c->db, sql_text[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &c->st[id], NULL);
		if (rc != SQLITE_OK) {
			*err = fail_db(c, rc, cause);
			return NULL;
		}
	}
	sqlite3_reset(c->st[id]);
	sqlite3_clear_bindings(c->st[id]);
	return c->st[id];
}

/* Resets s so it holds no read snapshot between uses. */
static void
finish(sqlite3_stmt *s)
{
	if (s != NULL)
		sqlite3_reset(s);
}

static void
conn_close(struct conn *c)
{
	for (size_t i = 0; i < NSQL; i++)
		sqlite3_finalize(c->st[i]);
	memset(c->st, 0, sizeof c->st);
	hl_db_close(c->db);
	c->db = NULL;
}

static int
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* The account holding handle: 1 with *id and *revoked when there is one,
 * 0 when none, < 0 on a database error. */
static int
account_by_handle(struct conn *c, const char *handle, int64_t *id,
    int *revoked, char *cause)
{
	int err = 0;
	sqlite3_stmt *s = stmt(c, S_ACCOUNT_BY_HANDLE, &err, cause);
	if (s == NULL)
		return err;
	bind_text(s, 1, handle);
	int rc = sqlite3_step(s);
	*id = 0;
	*revoked = 0;
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		*revoked = sqlite3_column_int(s, 1);
	}
	finish(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail_db(c, rc, cause);
	return rc == SQLITE_ROW;
}

static int
bind_blob(sqlite3_stmt *s, int i, const void *v, size_t n)
{
	return sqlite3_bind_blob(s, i, v, (int)n, SQLITE_STATIC);
}

/* Copies a text column into out (size n); NULL becomes "". */
static void
col_text(sqlite3_stmt *s, int i, char *out, size_t n)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	snprintf(out, n, "%s", t ? (const char *)t : "");
}

/* An id column that may be NULL (0 then). */
static int64_t
col_id(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return 0;
	return sqlite3_column_int64(s, i);
}

/* Copies a blob column of exactly n bytes; anything else is corruption. */
static int
col_blob_exact(sqlite3_stmt *s, int i, uint8_t *out, size_t n)
{
	const void *b = sqlite3_column_blob(s, i);
	if (b == NULL || (size_t)sqlite3_column_bytes(s, i) != n)
		return HL_EDB;
	memcpy(out, b, n);
	return 0;
}

/* Runs a statement that returns no row. */
static int
step_done(struct conn *c, sqlite3_stmt *s, char *cause)
{
	int rc = sqlite3_step(s);
	int ret = rc == SQLITE_DONE ? 0 : fail_db(c, rc, cause);
	finish(s);
	return ret;
}

/* Runs statement id with its one integer parameter, expecting no rows. */
static int
exec_int64(struct conn *c, enum sql id, int64_t v, char *cause)
{
	int err = 0;
	sqlite3_stmt *s = stmt(c, id, &err, cause);
	if (s == NULL)
		return err;
	sqlite3_bind_int64(s, 1, v);
	return step_done(c, s, cause);
}

/* --- opening --- */

static int
reader_open(struct sqlite_store *ss, struct conn *c, char *cause)
{
	int rc = hl_db_open(ss->path, 0, &c->db, cause);
	if (rc != 0)
		return rc;
	return hl_db_exec(c->db, "PRAGMA query_only=ON", cause);
}

static void
sqlite_close(struct hl_store *st)
{
	struct sqlite_store *ss = impl(st);
	if (ss == NULL)
		return;
	for (unsigned i = 0; i < ss->nreaders; i++)
		conn_close(&ss->readers[i]);
	free(ss->readers);
	free(ss->reader_busy);
	conn_close(&ss->writer);
	if (ss->pool_init) {
		pthread_cond_destroy(&ss->pool_cond);
		pthread_mutex_destroy(&ss->pool_lock);
	}
	free(ss);
}

static int
schema(struct sqlite_store *ss, int create, char *cause)
{
	int version = 0;
	if (hl_db_user_version(ss->writer.db, &version) != 0)
		return hl_fail(cause, HL_EDB,
		    "%s: cannot read the schema version", ss->path);
	if (version == SCHEMA_VERSION)
		return 0;
	if (version > SCHEMA_VERSION)
		return hl_fail(cause, HL_EDB,
		    "%s: schema version %d is newer than this relay knows (%d)",
		    ss->path, version, SCHEMA_VERSION);
	if (!create && version == 0)
		return hl_fail(cause, HL_ENOTFOUND,
		    "%s: not initialised; run 'hotline-relay init'", ss->path);
	if (!create)
		return hl_fail(cause, HL_EDB,
		    "%s: schema version %d is older than this relay's (%d); run "
		    "'hotline-relay init' to upgrade it", ss->path, version,
		    SCHEMA_VERSION);
	int rc = hl_db_begin(ss->writer.db);
	if (rc != 0)
		return hl_fail(cause, rc, "%s: cannot start a transaction",
		    ss->path);
	for (int v = version; rc == 0 && v < SCHEMA_VERSION; v++)
		rc = hl_db_exec(ss->writer.db, migrations[v], cause);
	if (rc == 0)
		rc = hl_db_set_user_version(ss->writer.db, SCHEMA_VERSION);
	if (rc == 0)
		rc = hl_db_commit(ss->writer.db);
	if (rc != 0) {
		hl_db_rollback(ss->writer.db);
		return hl_fail(cause, HL_EDB, "%s: cannot %s the schema",
		    ss->path, version == 0 ? "create" : "upgrade");
	}
	return 0;
}

static int
sqlite_open(const char *location, int create, unsigned readers,
    struct hl_store **out, char *cause)
{
	*out = NULL;
	if (location[0] == '\0')
		return hl_fail(cause, HL_ECONFIG, "sqlite: empty path");
	struct sqlite_store *ss = calloc(1, sizeof *ss);
	if (ss == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	if (snprintf(ss->path, sizeof ss->path, "%s", location) >=
	    (int)sizeof ss->path) {
		free(ss);
		return hl_fail(cause, HL_ECONFIG, "sqlite: path too long");
	}
	ss->base.ops = &hl_store_sqlite_ops;
	if (pthread_mutex_init(&ss->pool_lock, NULL) != 0) {
		free(ss);
		return hl_fail(cause, HL_ENOMEM, "cannot create a lock");
	}
	if (pthread_cond_init(&ss->pool_cond, NULL) != 0) {
		pthread_mutex_destroy(&ss->pool_lock);
		free(ss);
		return hl_fail(cause, HL_ENOMEM, "cannot create a condition");
	}
	ss->pool_init = 1;
	int rc = hl_db_open(ss->path, create, &ss->writer.db, cause);
	if (rc == HL_ENOTFOUND)
		hl_fail(cause, rc, "%s: no database; run 'hotline-relay init'",
		    ss->path);
	if (rc == 0)
		rc = schema(ss, create, cause);
	if (rc == 0 && readers > 0) {
		ss->readers = calloc(readers, sizeof *ss->readers);
		ss->reader_busy = calloc(readers, 1);
		if (ss->readers == NULL || ss->reader_busy == NULL)
			rc = hl_fail(cause, HL_ENOMEM, "out of memory");
		for (unsigned i = 0; rc == 0 && i < readers; i++) {
			rc = reader_open(ss, &ss->readers[i], cause);
			if (rc == 0)
				ss->nreaders = i + 1;
			else
				conn_close(&ss->readers[i]);
		}
	}
	if (rc != 0) {
		sqlite_close(&ss->base);
		return rc;
	}
	*out = &ss->base;
	return 0;
}

/* A read connection for this call: from the pool, or the write connection
 * when the store was opened without readers (admin commands). */
static struct conn *
reader_get(struct sqlite_store *ss, unsigned *slot)
{
	if (ss->nreaders == 0) {
		*slot = UINT_MAX;
		return &ss->writer;
	}
	pthread_mutex_lock(&ss->pool_lock);
	for (;;) {
		for (unsigned i = 0; i < ss->nreaders; i++) {
			if (!ss->reader_busy[i]) {
				ss->reader_busy[i] = 1;
				pthread_mutex_unlock(&ss->pool_lock);
				*slot = i;
				return &ss->readers[i];
			}
		}
		pthread_cond_wait(&ss->pool_cond, &ss->pool_lock);
	}
}

static void
reader_put(struct sqlite_store *ss, unsigned slot)
{
	if (slot == UINT_MAX)
		return;
	pthread_mutex_lock(&ss->pool_lock);
	ss->reader_busy[slot] = 0;
	pthread_cond_signal(&ss->pool_cond);
	pthread_mutex_unlock(&ss->pool_lock);
}

/* --- reads --- */

/* The index found the row by the hash; compare again in constant time, so
 * that a match never rests on a variable-time comparison alone. */
static int
row_account(sqlite3_stmt *s, const uint8_t token_hash[HL_SECRET_HASH],
    struct hl_store_account *out)
{
	const void *h = sqlite3_column_blob(s, 3);
	if (h == NULL || sqlite3_column_bytes(s, 3) != HL_SECRET_HASH ||
	    sodium_memcmp(h, token_hash, HL_SECRET_HASH) != 0)
		return HL_EAUTH;
	out->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, out->handle, sizeof out->handle);
	out->device_id = (uint32_t)sqlite3_column_int64(s, 2);
	out->first_use = sqlite3_column_int(s, 4);
	return 0;
}

static int
sqlite_authenticate(struct hl_store *st,
    const uint8_t token_hash[HL_SECRET_HASH], struct hl_store_account *out)
{
	struct sqlite_store *ss = impl(st);
	unsigned slot;
	struct conn *c = reader_get(ss, &slot);
	int err = 0;
	sqlite3_stmt *s = stmt(c, S_AUTH, &err, NULL);
	if (s == NULL) {
		reader_put(ss, slot);
		return err;
	}
	int ret = HL_EAUTH;
	if (bind_blob(s, 1, token_hash, HL_SECRET_HASH) != SQLITE_OK) {
		ret = HL_EDB;
	} else {
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			ret = row_account(s, token_hash, out);
		} else if (rc != SQLITE_DONE) {
			ret = fail_db(c, rc, NULL);
		}
	}
	finish(s);
	reader_put(ss, slot);
	return ret;
}

static int
account_active(struct conn *c, int64_t account, char *cause)
{
	int err = 0;
	sqlite3_stmt *s = stmt(c, S_ACTIVE, &err, cause);
	if (s == NULL)
		return err;
	sqlite3_bind_int64(s, 1, account);
	int rc = sqlite3_step(s);
	int ret = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ?
	    hl_fail(cause, HL_EAUTH, "the account was revoked") :
	    fail_db(c, rc, cause);
	finish(s);
	return ret;
}

static int
prekey_count(struct conn *c, int64_t account, int64_t *n, char *cause)
{
	int err = 0;
	sqlite3_stmt *s = stmt(c, S_PREKEY_COUNT, &err, cause);
	if (s == NULL)
		return err;
	sqlite3_bind_int64(s, 1, account);
	int rc = sqlite3_step(s);
	int ret = 0;
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(s, 0);
	else
		ret = fail_db(c, rc, cause);
	finish(s);
	return ret;
}

static int
read_item(sqlite3_stmt *s, struct hl_store_item *it)
{
	memset(it, 0, sizeof *it);
	it->qid = sqlite3_column_int64(s, 0);
	int kind = sqlite3_column_int(s, 1);
	if (kind < HL_STORE_MESSAGE || kind > HL_STORE_DROPPED)
		return HL_EDB;
	it->kind = (enum hl_store_item_kind)kind;
	col_text(s, 2, it->peer, sizeof it->peer);
	it->peer_device = (uint32_t)sqlite3_column_int64(s, 3);
	col_text(s, 4, it->id, sizeof it->id);
	it->type = sqlite3_column_int(s, 5);
	if (it->kind == HL_STORE_MESSAGE) {
		const void *b = sqlite3_column_blob(s, 6);
		size_t n = (size_t)sqlite3_column_bytes(s, 6);
		it->body = malloc(n ? n : 1);
		if (it->body == NULL)
			return HL_ENOMEM;
		if (n > 0)
			memcpy(it->body, b, n);
		it->body_len = n;
	}
	it->accepted = sqlite3_column_int64(s, 7);
	it->at = sqlite3_column_int64(s, 8);
	col_text(s, 9, it->reason, sizeof it->reason);
	return 0;
}

static int
sqlite_fetch(struct hl_store *st, int64_t account, size_t limit,
    int64_t max_bytes, struct hl_store_fetch *out, char *cause)
{
	struct sqlite_store *ss = impl(st);
	memset(out, 0, sizeof *out);
	if (limit == 0)
		return hl_fail(cause, HL_EINVAL, "limit 0");
	unsigned slot;
	struct conn *c = reader_get(ss, &slot);
	int ret = hl_db_exec(c->db, "BEGIN", cause);
	if (ret != 0) {
		reader_put(ss, slot);
		return ret;
	}
	ret = account_active(c, account, cause);
	if (ret == 0)
		ret = prekey_count(c, account, &out->prekeys_remaining, cause);
	sqlite3_stmt *s = NULL;
	int err = 0;
	if (ret == 0 && (s = stmt(c, S_FETCH, &err, cause)) == NULL)
		ret = err;
	if (ret == 0) {
		out->items = calloc(limit, sizeof *out->items);
		if (out->items == NULL)
			ret = hl_fail(cause, HL_ENOMEM, "out of memory");
	}
	if (ret == 0) {
		sqlite3_bind_int64(s, 1, account);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)limit + 1);
		int64_t bytes = 0;
		int rc;
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			if (out->n == limit) {
				out->more = 1;
				break;
			}
			int64_t len = sqlite3_column_bytes(s, 6);
			if (out->n > 0 && bytes + len > max_bytes) {
				out->more = 1;
				break;
			}
			ret = read_item(s, &out->items[out->n]);
			if (ret != 0) {
				free(out->items[out->n].body);
				hl_fail(cause, ret, "cannot read queued item");
				break;
			}
			bytes += len;
			out->n++;
		}
		if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
			ret = fail_db(c, rc, cause);
	}
	finish(s);
	hl_db_exec(c->db, "COMMIT", NULL);
	reader_put(ss, slot);
	if (ret != 0)
		hl_store_fetch_free(out);
	return ret;
}

static int
sqlite_key_status(struct hl_store *st, int64_t account,
    int64_t *prekeys_remaining, uint32_t *signed_prekey_id)
{
	struct sqlite_store *ss = impl(st);
	unsigned slot;
	struct conn *c = reader_get(ss, &slot);
	int err = 0;
	int ret = prekey_count(c, account, prekeys_remaining, NULL);
	sqlite3_stmt *s = NULL;
	if (ret == 0 && (s = stmt(c, S_KEY_STATUS, &err, NULL)) == NULL)
		ret = err;
	if (ret == 0) {
		sqlite3_bind_int64(s, 1, account);
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			*signed_prekey_id = (uint32_t)sqlite3_column_int(s, 0);
		else if (rc == SQLITE_DONE)
			ret = HL_EAUTH;
		else
			ret = fail_db(c, rc, NULL);
	}
	finish(s);
	reader_put(ss, slot);
	return ret;
}

/* Columns: handle, the profile columns, identity_key, updated. */
static int
read_entry(sqlite3_stmt *s, struct hl_store_entry *e)
{
	memset(e, 0, sizeof *e);
	col_text(s, 0, e->handle, sizeof e->handle);
	col_text(s, 1, e->profile.name, sizeof e->profile.name);
	col_text(s, 2, e->profile.organisation, sizeof e->profile.organisation);
	col_text(s, 3, e->profile.country, sizeof e->profile.country);
	col_text(s, 4, e->profile.role, sizeof e->profile.role);
	col_text(s, 5, e->profile.languages, sizeof e->profile.languages);
	col_text(s, 6, e->profile.timezone, sizeof e->profile.timezone);
	col_text(s, 7, e->profile.alternate, sizeof e->profile.alternate);
	if (col_blob_exact(s, 8, e->identity_key, HL_STORE_KEY_LEN) != 0)
		return HL_EDB;
	e->updated = sqlite3_column_int64(s, 9);
	return 0;
}

static int
sqlite_directory(struct hl_store *st, const char *q, size_t max,
    struct hl_store_entry **out, size_t *n, char *cause)
{
	struct sqlite_store *ss = impl(st);
	*out = NULL;
	*n = 0;
	char lowered[HL_STORE_TEXT_MAX + 1];
	size_t qlen = strlen(q);
	if (qlen >= sizeof lowered)
		return hl_fail(cause, HL_EINVAL, "query too long");
	/* SQLite's lower() folds ASCII only; fold the query the same way. */
	for (size_t i = 0; i <= qlen; i++) {
		char ch = q[i];
		lowered[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
	}
	struct hl_store_entry *entries = calloc(max ? max : 1, sizeof *entries);
	if (entries == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	unsigned slot;
	struct conn *c = reader_get(ss, &slot);
	int err = 0, ret = 0;
	sqlite3_stmt *s = stmt(c, S_DIRECTORY, &err, cause);
	if (s == NULL)
		ret = err;
	if (ret == 0) {
		bind_text(s, 1, lowered);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
		int rc = SQLITE_DONE;
		while (*n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
			if (read_entry(s, &entries[*n]) != 0) {
				ret = hl_fail(cause, HL_EDB,
				    "a corrupt directory entry");
				break;
			}
			(*n)++;
		}
		if (ret == 0 && *n < max && rc != SQLITE_DONE)
			ret = fail_db(c, rc, cause);
	}
	finish(s);
	reader_put(ss, slot);
	if (ret != 0) {
		free(entries);
		*n = 0;
		return ret;
	}
	*out = entries;
	return 0;
}

static int
sqlite_oldest_queued(struct hl_store *st, int64_t *accepted)
{
	struct sqlite_store *ss = impl(st);
	unsigned slot;
	struct conn *c = reader_get(ss, &slot);
	int err = 0, ret = 0;
	*accepted = 0;
	sqlite3_stmt *s = stmt(c, S_OLDEST, &err, NULL);
	if (s == NULL) {
		ret = err;
	} else {
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			*accepted = sqlite3_column_int64(s, 0);
		else
			ret = fail_db(c, rc, NULL);
	}
	finish(s);
	reader_put(ss, slot);
	return ret;
}

static int
sqlite_gauges(struct hl_store *st, int64_t *queue_depth, int64_t *accounts)
{
	struct sqlite_store *ss = impl(st);
	unsigned slot;
	struct conn *c = reader_get(ss, &slot);
	int err = 0, ret = 0;
	sqlite3_stmt *s = stmt(c, S_GAUGES, &err, NULL);
	if (s == NULL) {
		ret = err;
	} else {
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*queue_depth = sqlite3_column_int64(s, 0);
			*accounts = sqlite3_column_int64(s, 1);
		} else {
			ret = fail_db(c, rc, NULL);
		}
	}
	finish(s);
	reader_put(ss, slot);
	return ret;
}

/* --- writes --- */

static int
sqlite_batch_begin(struct hl_store *st, char *cause)
{
	struct sqlite_store *ss = impl(st);
	int rc = hl_db_begin(ss->writer.db);
	if (rc != 0) {
		note_full(&ss->writer);
		return hl_fail(cause, rc, "cannot begin: %s",
		    sqlite3_errmsg(ss->writer.db));
	}
	return 0;
}

static int
sqlite_batch_commit(struct hl_store *st, char *cause)
{
	struct sqlite_store *ss = impl(st);
	int rc = hl_db_commit(ss->writer.db);
	if (rc != 0) {
		note_full(&ss->writer);
		hl_fail(cause, rc, "cannot commit: %s",
		    sqlite3_errmsg(ss->writer.db));
		hl_db_rollback(ss->writer.db);
	}
	return rc;
}

static int
sqlite_disk_full(struct hl_store *st)
{
	struct sqlite_store *ss = impl(st);
	int full = ss->writer.full;
	ss->writer.full = 0;
	return full;
}

static void
sqlite_batch_rollback(struct hl_store *st)
{
	hl_db_rollback(impl(st)->writer.db);
}

/* Every write runs inside its own savepoint, so a refused one leaves the
 * rest of the batch alone. */
static int
op_begin(struct conn *c, char *cause)
{
	/* Some errors (disk full, I/O) make SQLite roll back the whole
	 * transaction; a write must not then run on its own, outside the
	 * batch the writer will try to commit. */
	if (sqlite3_get_autocommit(c->db))
		return hl_fail(cause, HL_EDB, "no batch transaction is open");
	int rc = hl_db_savepoint(c->db, "op");
	if (rc != 0) {
		note_full(c);
		return hl_fail(cause, rc, "savepoint: %s",
		    sqlite3_errmsg(c->db));
	}
	return 0;
}

static int
op_end(struct conn *c, int ret)
{
	if (ret == 0) {
		int rc = hl_db_release(c->db, "op");
		if (rc != 0) {
			note_full(c);
			hl_db_rollback_to(c->db, "op");
			return rc;
		}
		return 0;
	}
	hl_db_rollback_to(c->db, "op");
	return ret;
}

static int
insert_prekeys(struct conn *c, int64_t account,
    const struct hl_store_prekey *keys, size_t n, char *cause)
{
	int err = 0;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s = stmt(c, S_PREKEY_EXISTS, &err, cause);
		if (s == NULL)
			return err;
		sqlite3_bind_int64(s, 1, account);
		sqlite3_bind_int64(s, 2, keys[i].id);
		int rc = sqlite3_step(s);
		finish(s);
		if (rc == SQLITE_ROW)
			return hl_fail(cause, HL_EEXIST,
			    "prekeys: id %u is already stored", keys[i].id);
		if (rc != SQLITE_DONE)
			return fail_db(c, rc, cause);
		s = stmt(c, S_PREKEY_INSERT, &err, cause);
		if (s == NULL)
			return err;
		sqlite3_bind_int64(s, 1, account);
		sqlite3_bind_int64(s, 2, keys[i].id);
		bind_blob(s, 3, keys[i].key, HL_STORE_KEY_LEN);
		int ret = step_done(c, s, cause);
		if (ret != 0)
			return ret;
	}
	return 0;
}

static int
bind_profile(sqlite3_stmt *s, int first, const struct hl_store_profile *p)
{
	int rc = bind_text(s, first, p->name);
	if (rc == SQLITE_OK)
		rc = bind_text(s, first + 1, p->organisation);
	if (rc == SQLITE_OK)
		rc = bind_text(s, first + 2, p->country);
	if (rc == SQLITE_OK)
		rc = bind_text(s, first + 3, p->role);
	if (rc == SQLITE_OK)
		rc = bind_text(s, first + 4, p->languages);
	if (rc == SQLITE_OK)
		rc = bind_text(s, first + 5, p->timezone);
	if (rc == SQLITE_OK)
		rc = bind_text(s, first + 6, p->alternate);
	return rc;
}

/* The code of handle whose hash matches, in any state. */
struct code_match {
	int64_t id;
	int64_t expires;
	int used;
	int64_t account;           /* the account it created; 0: none */
};

/* Every stored hash of the handle is compared, in constant time, so the
 * time taken does not tell how close a guess came. */
static int
find_code(struct conn *c, const char *handle,
    const uint8_t code_hash[HL_SECRET_HASH], struct code_match *m,
    char *cause)
{
	int err = 0;
	sqlite3_stmt *s = stmt(c, S_CODES_FOR, &err, cause);
	if (s == NULL)
		return err;
	bind_text(s, 1, handle);
	int found = 0, rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(s, 1);
		if (h == NULL || sqlite3_column_bytes(s, 1) != HL_SECRET_HASH ||
		    sodium_memcmp(h, code_hash, HL_SECRET_HASH) != 0 || found)
			continue;
		found = 1;
		m->id = sqlite3_column_int64(s, 0);
		m->expires = sqlite3_column_int64(s, 2);
		m->used = sqlite3_column_type(s, 3) != SQLITE_NULL;
		m->account = col_id(s, 4);
	}
	finish(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return fail_db(c, rc, cause);
	if (!found)
		return hl_fail(cause, HL_ECODE,
		    "the enrollment code is not valid for this handle");
	return 0;
}

/* A used code again: a retry of the registration it made, if the answer
 * can only have been lost (see store.h); anything else is HL_ECODE. */
static int
reissue_in_op(struct conn *c, const struct hl_store_registration *reg,
    const struct code_match *m, int64_t now, int *reissued, char *cause)
{
	int err = 0, ret = 0;
	if (m->account <= 0)
		return hl_fail(cause, HL_ECODE,
		    "the enrollment code is not valid for this handle");
	sqlite3_stmt *s = stmt(c, S_REISSUE_ACCOUNT, &err, cause);
	if (s == NULL)
		return err;
	sqlite3_bind_int64(s, 1, m->account);
	int rc = sqlite3_step(s);
	int same = 0;
	if (rc == SQLITE_ROW) {
		const unsigned char *handle = sqlite3_column_text(s, 0);
		const void *ik = sqlite3_column_blob(s, 1);
		same = handle != NULL &&
		    strcmp((const char *)handle, reg->handle) == 0 &&
		    ik != NULL &&
		    sqlite3_column_bytes(s, 1) == HL_STORE_KEY_LEN &&
		    sodium_memcmp(ik, reg->identity_key,
		    HL_STORE_KEY_LEN) == 0 &&
		    sqlite3_column_int64(s, 2) == reg->registration_id &&
		    sqlite3_column_int64(s, 3) > now - HOUR_MS &&
		    sqlite3_column_int(s, 4) == 1 &&
		    sqlite3_column_int(s, 5) == 1;
	}
	finish(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail_db(c, rc, cause);
	if (!same)
		return hl_fail(cause, HL_ECODE,
		    "the enrollment code is not valid for this handle");
	if ((s = stmt(c, S_TOKEN_REPLACE, &err, cause)) == NULL)
		return err;
	sqlite3_bind_int64(s, 1, m->account);
	bind_blob(s, 2, reg->token_hash, HL_SECRET_HASH);
	if ((ret = step_done(c, s, cause)) != 0)
		return ret;
	if (reissued != NULL)
		*reissued = 1;
	return 0;
}

static int
register_in_op(struct conn *c, const struct hl_store_registration *reg,
    int64_t now, int *reissued, char *cause)
{
	struct code_match code;
	memset(&code, 0, sizeof code);
	int err = 0;
	int ret = find_code(c, reg->handle, reg->code_hash, &code, cause);
	if (ret != 0)
		return ret;
	if (code.used)
		return reissue_in_op(c, reg, &code, now, reissued, cause);
	if (code.expires <= now)
		return hl_fail(cause, HL_ECODE,
		    "the enrollment code is not valid for this handle");
	int64_t old;
	int old_revoked;
	sqlite3_stmt *s;
	int rc = account_by_handle(c, reg->handle, &old, &old_revoked, cause);
	if (rc < 0)
		return rc;
	if (rc == 1 && !old_revoked)
		return hl_fail(cause, HL_ETAKEN, "'%s' already has an account",
		    reg->handle);
	if (rc == 1) {
		/* A revoked account gives its handle to the new enrollment;
		 * its keys and bookkeeping go with it. */
		if ((ret = exec_int64(c, S_ACCOUNT_DELETE, old, cause)) != 0)
			return ret;
	}
	if ((s = stmt(c, S_ACCOUNT_INSERT, &err, cause)) == NULL)
		return err;
	rc = bind_text(s, 1, reg->handle);
	if (rc == SQLITE_OK)
		rc = bind_blob(s, 2, reg->token_hash, HL_SECRET_HASH);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 3, reg->device_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 4, reg->registration_id);
	if (rc == SQLITE_OK)
		rc = bind_blob(s, 5, reg->identity_key, HL_STORE_KEY_LEN);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 6, reg->signed_prekey.id);
	if (rc == SQLITE_OK)
		rc = bind_blob(s, 7, reg->signed_prekey.key, HL_STORE_KEY_LEN);
	if (rc == SQLITE_OK)
		rc = bind_blob(s, 8, reg->signed_prekey.signature,
		    HL_STORE_SIG_LEN);
	if (rc == SQLITE_OK)
		rc = bind_profile(s, 9, &reg->profile);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 16, now);
	if (rc != SQLITE_OK) {
		finish(s);
		return fail_db(c, rc, cause);
	}
	if ((ret = step_done(c, s, cause)) != 0)
		return ret;
	int64_t account = sqlite3_last_insert_rowid(c->db);
	if ((ret = insert_prekeys(c, account, reg->prekeys, reg->nprekeys,
	    cause)) != 0)
		return ret;
	if ((s = stmt(c, S_CODE_USE, &err, cause)) == NULL)
		return err;
	sqlite3_bind_int64(s, 1, code.id);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int64(s, 3, account);
	if ((ret = step_done(c, s, cause)) != 0)
		return ret;
	/* Other codes issued for the handle must not outlive the
	 * registration: one could enrol the handle again after a revoke. */
	if ((s = stmt(c, S_CODES_RETIRE, &err, cause)) == NULL)
		return err;
	bind_text(s, 1, reg->handle);
	sqlite3_bind_int64(s, 2, now);
	return step_done(c, s, cause);
}

static int
sqlite_register(struct hl_store *st, const struct hl_store_registration *reg,
    int64_t now, int *reissued, char *cause)
{
	struct conn *c = &impl(st)->writer;
	if (reissued != NULL)
		*reissued = 0;
	int ret = op_begin(c, cause);
	if (ret != 0)
		return ret;
	ret = op_end(c, register_in_op(c, reg, now, reissued, cause));
	if (ret != 0 && reissued != NULL)
		*reissued = 0;
	return ret;
}

static int
mark_in_op(struct conn *c, int64_t account,
    const uint8_t token_hash[HL_SECRET_HASH], int64_t now, char *cause)
{
	int err = 0;
	sqlite3_stmt *s = stmt(c, S_MARK_USED, &err, cause);
	if (s == NULL)
		return err;
	sqlite3_bind_int64(s, 1, account);
	bind_blob(s, 2, token_hash, HL_SECRET_HASH);
	sqlite3_bind_int64(s, 3, now);
	int ret = step_done(c, s, cause);
	if (ret == 0 && sqlite3_changes(c->db) != 1)
		ret = hl_fail(cause, HL_EAUTH,
		    "the account was revoked or its token replaced");
	return ret;
}

static int
sqlite_mark_used(struct hl_store *st, int64_t account,
    const uint8_t token_hash[HL_SECRET_HASH], int64_t now, char *cause)
{
	struct conn *c = &impl(st)->writer;
	int ret = op_begin(c, cause);
	if (ret != 0)
		return ret;
	return op_end(c, mark_in_op(c, account, token_hash, now, cause));
}

static int
upload_in_op(struct conn *c, int64_t account, const struct hl_store_keys *up,
    const struct hl_store_limits *lim, int64_t *remaining, char *cause)
{
	int ret = account_active(c, account, cause);
	int64_t have = 0;
	if (ret == 0)
		ret = prekey_count(c, account, &have, cause);
	if (ret != 0)
		return ret;
	if (have + (int64_t)up->nprekeys > lim->max_prekeys_stored)
		return hl_fail(cause, HL_EINVAL,
		    "prekeys: the account holds %lld and may hold at most %lld",
		    (long long)have, (long long)lim->max_prekeys_stored);
	if ((ret = insert_prekeys(c, account, up->prekeys, up->nprekeys,
	    cause)) != 0)
		return ret;
	if (up->has_signed_prekey) {
		int err = 0;
		sqlite3_stmt *s = stmt(c, S_SPK_UPDATE, &err, cause);
		if (s == NULL)
			return err;
		sqlite3_bind_int64(s, 1, account);
		sqlite3_bind_int64(s, 2, up->signed_prekey.id);
		bind_blob(s, 3, up->signed_prekey.key, HL_STORE_KEY_LEN);
		bind_blob(s, 4, up->signed_prekey.signature, HL_STORE_SIG_LEN);
		if ((ret = step_done(c, s, cause)) != 0)
			return ret;
	}
	*remaining = have + (int64_t)up->nprekeys;
	return 0;
}

static int
sqlite_upload_keys(struct hl_store *st, int64_t account,
    const struct hl_store_keys *up, const struct hl_store_limits *lim,
    int64_t *prekeys_remaining, char *cause)
{
	struct conn *c = &impl(st)->writer;
	int ret = op_begin(c, cause);
	if (ret != 0)
		return ret;
	return op_end(c, upload_in_op(c, account, up, lim, prekeys_remaining,
	    cause));
}

static int
bundle_in_op(struct conn *c, int64_t requester, const char *target,
    int64_t now, const struct hl_store_limits *lim, struct hl_store_bundle *b,
    int64_t *retry_after_s, char *cause)
{
	int err = 0;
	int ret = account_active(c, requester, cause);
	if (ret != 0)
		return ret;
	sqlite3_stmt *s = stmt(c, S_TARGET, &err, cause);
	if (s == NULL)
		return err;
	bind_text(s, 1, target);
	int rc = sqlite3_step(s);
	int64_t target_id = 0;
	if (rc == SQLITE_ROW) {
		target_id = sqlite3_column_int64(s, 0);
		col_text(s, 1, b->handle, sizeof b->handle);
		b->device_id = (uint32_t)sqlite3_column_int64(s, 2);
		b->registration_id = (uint32_t)sqlite3_column_int64(s, 3);
		b->signed_prekey.id = (uint32_t)sqlite3_column_int64(s, 5);
		struct hl_store_signed_prekey *spk = &b->signed_prekey;
		if (col_blob_exact(s, 4, b->identity_key, HL_STORE_KEY_LEN) ||
		    col_blob_exact(s, 6, spk->key, HL_STORE_KEY_LEN) ||
		    col_blob_exact(s, 7, spk->signature, HL_STORE_SIG_LEN))
			ret = hl_fail(cause, HL_EDB, "corrupt keys for '%s'",
			    target);
	}
	finish(s);
	if (ret != 0)
		return ret;
	if (rc == SQLITE_DONE)
		return hl_fail(cause, HL_ENOTFOUND, "no account '%s'", target);
	if (rc != SQLITE_ROW)
		return fail_db(c, rc, cause);

	if ((s = stmt(c, S_BUNDLE_COUNT, &err, cause)) == NULL)
		return err;
	sqlite3_bind_int64(s, 1, requester);
	sqlite3_bind_int64(s, 2, target_id);
	sqlite3_bind_int64(s, 3, now - HOUR_MS);
	rc = sqlite3_step(s);
	int64_t count = 0, oldest = 0;
	if (rc == SQLITE_ROW) {
		count = sqlite3_column_int64(s, 0);
		oldest = sqlite3_column_int64(s, 1);
	}
	finish(s);
	if (rc != SQLITE_ROW)
		return fail_db(c, rc, cause);
	if (count >= lim->bundle_rate_per_hour) {
		int64_t wait = oldest + HOUR_MS - now;
		*retry_after_s = wait <= 0 ? 1 : (wait + 999) / 1000;
		return hl_fail(cause, HL_ERATE,
		    "at most %lld bundles of '%s' per hour",
		    (long long)lim->bundle_rate_per_hour, target);
	}

	if ((s = stmt(c, S_PREKEY_FIRST, &err, cause)) == NULL)
		return err;
	sqlite3_bind_int64(s, 1, target_id);
	rc = sqlite3_step(s);
	b->has_prekey = 0;
	if (rc == SQLITE_ROW) {
		b->prekey.id = (uint32_t)sqlite3_column_int64(s, 0);
		if (col_blob_exact(s, 1, b->prekey.key, HL_STORE_KEY_LEN) != 0)
			ret = hl_fail(cause, HL_EDB, "a corrupt prekey");
		else
			b->has_prekey = 1;
	}
	finish(s);
	if (ret != 0)
		return ret;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail_db(c, rc, cause);
	if (b->has_prekey) {
		if ((s = stmt(c, S_PREKEY_DELETE, &err, cause)) == NULL)
			return err;
		sqlite3_bind_int64(s, 1, target_id);
		sqlite3_bind_int64(s, 2, b->prekey.id);
		if ((ret = step_done(c, s, cause)) != 0)
			return ret;
	}
	if ((s = stmt(c, S_BUNDLE_RECORD, &err, cause)) == NULL)
		return err;
	sqlite3_bind_int64(s, 1, requester);
	sqlite3_bind_int64(s, 2, target_id);
	sqlite3_bind_int64(s, 3, now);
	return step_done(c, s, cause);
}

static int
sqlite_take_bundle(struct hl_store *st, int64_t requester, const char *target,
    int64_t now, const struct hl_store_limits *lim, struct hl_store_bundle *out,
    int64_t *retry_after_s, char *cause)
{
	struct conn *c = &impl(st)->writer;
	memset(out, 0, sizeof *out);
	*retry_after_s = 0;
	int ret = op_begin(c, cause);
	if (ret != 0)
		return ret;
	return op_end(c, bundle_in_op(c, requester, target, now, lim, out,
	    retry_after_s, cause));
}

static int
read_entry_by_id(struct conn *c, int64_t account, struct hl_store_entry *out,
    char *cause)
{
	int err = 0;
	sqlite3_stmt *s = stmt(c, S_ENTRY, &err, cause);
	if (s == NULL)
		return err;
	sqlite3_bind_int64(s, 1, account);
	int rc = sqlite3_step(s);
	int ret = 0;
	if (rc == SQLITE_ROW)
		ret = read_entry(s, out) == 0 ? 0 :
		    hl_fail(cause, HL_EDB, "a corrupt directory entry");
	else
		ret = rc == SQLITE_DONE ?
		    hl_fail(cause, HL_EAUTH, "no account") :
		    fail_db(c, rc, cause);
	finish(s);
	return ret;
}

static int
profile_in_op(struct conn *c, int64_t account, const struct hl_store_profile *p,
    int64_t now, struct hl_store_entry *out, char *cause)
{
	int err = 0;
	sqlite3_stmt *s = stmt(c, S_PROFILE_UPDATE, &err, cause);
	if (s == NULL)
		return err;
	sqlite3_bind_int64(s, 1, account);
	int rc = bind_profile(s, 2, p);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 9, now);
	if (rc != SQLITE_OK) {
		finish(s);
		return fail_db(c, rc, cause);
	}
	int ret = step_done(c, s, cause);
	if (ret != 0)
		return ret;
	if (sqlite3_changes(c->db) != 1)
		return hl_fail(cause, HL_EAUTH, "the account was revoked");
	return read_entry_by_id(c, account, out, cause);
}

static int
sqlite_update_profile(struct hl_store *st, int64_t account,
    const struct hl_store_profile *profile, int64_t now,
    struct hl_store_entry *out, char *cause)
{
	struct conn *c = &impl(st)->writer;
	int ret = op_begin(c, cause);
	if (ret != 0)
		return ret;
	return op_end(c, profile_in_op(c, account, profile, now, out, cause));
}

/* One row of the queue to insert. */
struct queue_row {
	int64_t recipient;
	enum hl_store_item_kind kind;
	int64_t sender;              /* 0: none */
	const char *peer;
	uint32_t peer_device;
	const char *id;
	int type;
	const uint8_t *body;         /* NULL for notices */
	size_t body_len;
	int64_t accepted;
	int64_t at;
	const char *reason;
};

static int
insert_item(struct conn *c, const struct queue_row *q, char *cause)
{
	int err = 0;
	sqlite3_stmt *s = stmt(c, S_QUEUE_INSERT, &err, cause);
	if (s == NULL)
		return err;
	int rc = sqlite3_bind_int64(s, 1, q->recipient);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(s, 2, (int)q->kind);
	if (rc == SQLITE_OK)
		rc = q->sender > 0 ? sqlite3_bind_int64(s, 3, q->sender) :
		    sqlite3_bind_null(s, 3);
	if (rc == SQLITE_OK)
		rc = bind_text(s, 4, q->peer);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 5, q->peer_device);
	if (rc == SQLITE_OK)
		rc = bind_text(s, 6, q->id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(s, 7, q->type);
	if (rc == SQLITE_OK)
		rc = q->body ? bind_blob(s, 8, q->body, q->body_len) :
		    sqlite3_bind_null(s, 8);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 9, q->accepted);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 10, q->at);
	if (rc == SQLITE_OK)
		rc = bind_text(s, 11, q->reason ? q->reason : "");
	if (rc != SQLITE_OK) {
		finish(s);
		return fail_db(c, rc, cause);
	}
	return step_done(c, s, cause);
}

static int
queue_in_op(struct conn *c, const struct hl_store_envelope *env, int64_t now,
    const struct hl_store_limits *lim, struct hl_store_accepted *out,
    char *cause)
{
	int err = 0;
	int ret = account_active(c, env->sender, cause);
	if (ret != 0)
		return ret;
	sqlite3_stmt *s = stmt(c, S_SENT_GET, &err, cause);
	if (s == NULL)
		return err;
	sqlite3_bind_int64(s, 1, env->sender);
	bind_text(s, 2, env->id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const void *d = sqlite3_column_blob(s, 0);
		int same = d != NULL &&
		    sqlite3_column_bytes(s, 0) == HL_STORE_DIGEST_LEN &&
		    sodium_memcmp(d, env->digest, HL_STORE_DIGEST_LEN) == 0;
		out->accepted = sqlite3_column_int64(s, 1);
		finish(s);
		if (!same)
			return hl_fail(cause, HL_ECONFLICT,
			    "id %s was already used for another message",
			    env->id);
		out->duplicate = 1;
		out->recipient = 0;
		return 0;
	}
	finish(s);
	if (rc != SQLITE_DONE)
		return fail_db(c, rc, cause);

	if ((s = stmt(c, S_RECIPIENT, &err, cause)) == NULL)
		return err;
	bind_text(s, 1, env->to);
	rc = sqlite3_step(s);
	int64_t recipient = 0, queued = 0;
	if (rc == SQLITE_ROW) {
		recipient = sqlite3_column_int64(s, 0);
		queued = sqlite3_column_int64(s, 1);
	}
	finish(s);
	if (rc == SQLITE_DONE)
		return hl_fail(cause, HL_ERECIPIENT, "no account '%s'",
		    env->to);
	if (rc != SQLITE_ROW)
		return fail_db(c, rc, cause);
	if (queued >= lim->max_queue_per_recipient)
		return hl_fail(cause, HL_EQUEUEFULL,
		    "the queue of '%s' is full", env->to);
	if (lim->max_queue_per_sender > 0) {
		if ((s = stmt(c, S_SENDER_QUEUED, &err, cause)) == NULL)
			return err;
		sqlite3_bind_int64(s, 1, recipient);
		sqlite3_bind_int64(s, 2, env->sender);
		rc = sqlite3_step(s);
		int64_t mine = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
		finish(s);
		if (rc != SQLITE_ROW)
			return fail_db(c, rc, cause);
		if (mine >= lim->max_queue_per_sender)
			return hl_fail(cause, HL_EQUEUEFULL,
			    "the queue of '%s' holds %lld messages from you, "
			    "your share of it", env->to, (long long)mine);
	}

	struct queue_row row = {
		.recipient = recipient, .kind = HL_STORE_MESSAGE,
		.sender = env->sender, .peer = env->sender_handle,
		.peer_device = env->sender_device, .id = env->id,
		.type = env->type, .body = env->body, .body_len = env->body_len,
		.accepted = now,
	};
	ret = insert_item(c, &row, cause);
	if (ret != 0)
		return ret;
	if ((s = stmt(c, S_SENT_INSERT, &err, cause)) == NULL)
		return err;
	sqlite3_bind_int64(s, 1, env->sender);
	bind_text(s, 2, env->id);
	bind_blob(s, 3, env->digest, HL_STORE_DIGEST_LEN);
	sqlite3_bind_int64(s, 4, now);
	if ((ret = step_done(c, s, cause)) != 0)
		return ret;
	out->accepted = now;
	out->recipient = recipient;
	out->duplicate = 0;
	return 0;
}

static int
sqlite_queue_message(struct hl_store *st, const struct hl_store_envelope *env,
    int64_t now, const struct hl_store_limits *lim,
    struct hl_store_accepted *out, char *cause)
{
	struct conn *c = &impl(st)->writer;
	memset(out, 0, sizeof *out);
	int ret = op_begin(c, cause);
	if (ret != 0)
		return ret;
	return op_end(c, queue_in_op(c, env, now, lim, out, cause));
}

static int
ack_in_op(struct conn *c, int64_t account, const int64_t *qids, size_t n,
    int64_t *deleted, char *cause)
{
	int err = 0;
	int ret = account_active(c, account, cause);
	if (ret != 0)
		return ret;
	*deleted = 0;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s = stmt(c, S_ACK, &err, cause);
		if (s == NULL)
			return err;
		sqlite3_bind_int64(s, 1, qids[i]);
		sqlite3_bind_int64(s, 2, account);
		if ((ret = step_done(c, s, cause)) != 0)
			return ret;
		*deleted += sqlite3_changes(c->db);
	}
	return 0;
}

static int
sqlite_ack(struct hl_store *st, int64_t account, const int64_t *qids,
    size_t n, int64_t *deleted, char *cause)
{
	struct conn *c = &impl(st)->writer;
	int ret = op_begin(c, cause);
	if (ret != 0)
		return ret;
	return op_end(c, ack_in_op(c, account, qids, n, deleted, cause));
}

static int
push_id(int64_t **ids, size_t *n, size_t *cap, int64_t id)
{
	for (size_t i = *n; i > 0 && i + 8 > *n; i--)
		if ((*ids)[i - 1] == id)
			return 0;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		int64_t *p = realloc(*ids, ncap * sizeof *p);
		if (p == NULL)
			return HL_ENOMEM;
		*ids = p;
		*cap = ncap;
	}
	(*ids)[(*n)++] = id;
	return 0;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void
unique_ids(int64_t *ids, size_t *n)
{
	if (*n < 2)
		return;
	qsort(ids, *n, sizeof *ids, cmp_id);
	size_t o = 1;
	for (size_t i = 1; i < *n; i++)
		if (ids[i] != ids[o - 1])
			ids[o++] = ids[i];
	*n = o;
}

/* One row of S_EXPIRED, copied out before the statement moves on. */
struct expired_row {
	int64_t qid;
	int64_t sender;
	char id[HL_STORE_ID_HEX + 1];
	int64_t accepted;
	char to[HL_HANDLE_MAX + 1];
};

static int
is_active(struct conn *c, int64_t account, int *active, char *cause)
{
	int ret = account_active(c, account, NULL);
	if (ret == HL_EAUTH) {
		*active = 0;
		return 0;
	}
	if (ret != 0)
		return hl_fail(cause, ret, "cannot read accounts");
	*active = 1;
	return 0;
}

static int
purge_in_tx(struct conn *c, int64_t now, int64_t retention_ms,
    struct hl_store_purge *out, size_t *cap, char *cause)
{
	int err = 0, ret = 0;
	int64_t cutoff = now - retention_ms;
	struct expired_row rows[PURGE_CHUNK];
	for (int round = 0; round < PURGE_ROUNDS; round++) {
		sqlite3_stmt *s = stmt(c, S_EXPIRED, &err, cause);
		if (s == NULL)
			return err;
		sqlite3_bind_int64(s, 1, cutoff);
		sqlite3_bind_int64(s, 2, PURGE_CHUNK);
		size_t n = 0;
		int rc = SQLITE_DONE;
		while (n < PURGE_CHUNK &&
		    (rc = sqlite3_step(s)) == SQLITE_ROW) {
			rows[n].qid = sqlite3_column_int64(s, 0);
			rows[n].sender = col_id(s, 1);
			col_text(s, 2, rows[n].id, sizeof rows[n].id);
			rows[n].accepted = sqlite3_column_int64(s, 3);
			col_text(s, 4, rows[n].to, sizeof rows[n].to);
			n++;
		}
		finish(s);
		if (n < PURGE_CHUNK && rc != SQLITE_DONE)
			return fail_db(c, rc, cause);
		for (size_t i = 0; i < n; i++) {
			int active = 0;
			if (rows[i].sender > 0 &&
			    (ret = is_active(c, rows[i].sender, &active,
			    cause)) != 0)
				return ret;
			if (active) {
				struct queue_row row = {
					.recipient = rows[i].sender,
					.kind = HL_STORE_EXPIRED,
					.peer = rows[i].to, .id = rows[i].id,
					.accepted = rows[i].accepted, .at = now,
				};
				ret = insert_item(c, &row, cause);
				if (ret == 0)
					ret = push_id(&out->woken, &out->nwoken,
					    cap, rows[i].sender);
				if (ret != 0)
					return ret;
			}
			if ((ret = exec_int64(c, S_QUEUE_DELETE, rows[i].qid, cause)) != 0)
				return ret;
			out->expired++;
		}
		if (n < PURGE_CHUNK)
			break;
	}
	/* Notices are kept as long as messages; nobody is told about an
	 * expired notice. */
	sqlite3_stmt *s = stmt(c, S_PURGE_NOTICES, &err, cause);
	if (s == NULL)
		return err;
	sqlite3_bind_int64(s, 1, cutoff);
	if ((ret = step_done(c, s, cause)) != 0)
		return ret;
	out->notices_dropped = sqlite3_changes(c->db);
	/* Ids are remembered for two retention periods, longer than any
	 * retry of a message that could still be queued. */
	if ((ret = exec_int64(c, S_PURGE_SENT, now - 2 * retention_ms, cause)) != 0)
		return ret;
	if ((ret = exec_int64(c, S_PURGE_FETCHES, now - HOUR_MS, cause)) != 0)
		return ret;
	return exec_int64(c, S_PURGE_CODES, cutoff, cause);
}

static int
sqlite_purge(struct hl_store *st, int64_t now, int64_t retention_ms,
    struct hl_store_purge *out, char *cause)
{
	struct conn *c = &impl(st)->writer;
	memset(out, 0, sizeof *out);
	size_t cap = 0;
	int ret = op_begin(c, cause);
	if (ret == 0)
		ret = op_end(c, purge_in_tx(c, now, retention_ms, out, &cap,
		    cause));
	if (ret != 0) {
		free(out->woken);
		memset(out, 0, sizeof *out);
		return ret;
	}
	unique_ids(out->woken, &out->nwoken);
	return 0;
}

/* --- admin --- */

static int
admin_tx_begin(struct conn *c, char *cause)
{
	int rc = hl_db_begin(c->db);
	if (rc != 0)
		return hl_fail(cause, rc, "cannot begin a transaction: %s",
		    sqlite3_errmsg(c->db));
	return 0;
}

static int
admin_tx_end(struct conn *c, int ret, char *cause)
{
	if (ret != 0) {
		hl_db_rollback(c->db);
		return ret;
	}
	int rc = hl_db_commit(c->db);
	if (rc != 0) {
		hl_db_rollback(c->db);
		return hl_fail(cause, rc, "cannot commit: %s",
		    sqlite3_errmsg(c->db));
	}
	return 0;
}

static int
invite_in_tx(struct conn *c, const char *handle,
    const uint8_t code_hash[HL_SECRET_HASH], int64_t now, int64_t expires,
    char *cause)
{
	int err = 0;
	int64_t id;
	int revoked;
	sqlite3_stmt *s;
	int rc = account_by_handle(c, handle, &id, &revoked, cause);
	if (rc < 0)
		return rc;
	if (rc == 1 && !revoked)
		return hl_fail(cause, HL_ETAKEN,
		    "'%s' already has an active account; revoke it first",
		    handle);
	if ((s = stmt(c, S_INVITE, &err, cause)) == NULL)
		return err;
	bind_text(s, 1, handle);
	bind_blob(s, 2, code_hash, HL_SECRET_HASH);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, expires);
	return step_done(c, s, cause);
}

static int
sqlite_invite(struct hl_store *st, const char *handle,
    const uint8_t code_hash[HL_SECRET_HASH], int64_t now, int64_t expires,
    char *cause)
{
	struct conn *c = &impl(st)->writer;
	int ret = admin_tx_begin(c, cause);
	if (ret != 0)
		return ret;
	return admin_tx_end(c, invite_in_tx(c, handle, code_hash, now, expires,
	    cause), cause);
}

static int
revoke_in_tx(struct conn *c, const char *handle, int64_t now,
    struct hl_store_revoke *out, char *cause)
{
	int err = 0, ret;
	int64_t account;
	int revoked;
	sqlite3_stmt *s;
	int rc = account_by_handle(c, handle, &account, &revoked, cause);
	if (rc < 0)
		return rc;
	if (rc == 0 || revoked)
		return hl_fail(cause, HL_ENOTFOUND,
		    "'%s' has no active account", handle);
	if ((s = stmt(c, S_REVOKE, &err, cause)) == NULL)
		return err;
	sqlite3_bind_int64(s, 1, account);
	sqlite3_bind_int64(s, 2, now);
	if ((ret = step_done(c, s, cause)) != 0)
		return ret;

	/* Every message queued for the account becomes a "dropped" notice to
	 * its sender; rows are read in chunks so the statement is never
	 * stepped while the queue changes under it. */
	int64_t after = 0;
	for (int round = 0; round < PURGE_ROUNDS; round++) {
		struct expired_row rows[PURGE_CHUNK];
		size_t n = 0;
		if ((s = stmt(c, S_QUEUED_FOR, &err, cause)) == NULL)
			return err;
		sqlite3_bind_int64(s, 1, account);
		sqlite3_bind_int64(s, 2, after);
		sqlite3_bind_int64(s, 3, PURGE_CHUNK);
		rc = SQLITE_DONE;
		while (n < PURGE_CHUNK &&
		    (rc = sqlite3_step(s)) == SQLITE_ROW) {
			rows[n].qid = sqlite3_column_int64(s, 0);
			rows[n].sender = col_id(s, 1);
			col_text(s, 2, rows[n].id, sizeof rows[n].id);
			rows[n].accepted = sqlite3_column_int64(s, 3);
			n++;
		}
		finish(s);
		if (n < PURGE_CHUNK && rc != SQLITE_DONE)
			return fail_db(c, rc, cause);
		for (size_t i = 0; i < n; i++) {
			int active = 0;
			after = rows[i].qid;
			out->dropped++;
			if (rows[i].sender <= 0 || rows[i].sender == account)
				continue;
			if ((ret = is_active(c, rows[i].sender, &active,
			    cause)) != 0)
				return ret;
			if (!active)
				continue;
			struct queue_row row = {
				.recipient = rows[i].sender,
				.kind = HL_STORE_DROPPED, .peer = handle,
				.id = rows[i].id, .accepted = rows[i].accepted,
				.at = now, .reason = "revoked",
			};
			ret = insert_item(c, &row, cause);
			if (ret != 0)
				return ret;
			out->notices++;
		}
		if (n < PURGE_CHUNK)
			break;
	}
	static const enum sql clears[] = {
		S_QUEUE_CLEAR, S_PREKEY_CLEAR, S_FETCHES_CLEAR,
	};
	for (size_t i = 0; i < sizeof clears / sizeof clears[0]; i++)
		if ((ret = exec_int64(c, clears[i], account, cause)) != 0)
			return ret;
	/* A code still pending for the handle would enrol it again. */
	if ((s = stmt(c, S_CODES_DROP, &err, cause)) == NULL)
		return err;
	bind_text(s, 1, handle);
	return step_done(c, s, cause);
}

static int
sqlite_revoke(struct hl_store *st, const char *handle, int64_t now,
    struct hl_store_revoke *out, char *cause)
{
	struct conn *c = &impl(st)->writer;
	memset(out, 0, sizeof *out);
	int ret = admin_tx_begin(c, cause);
	if (ret != 0)
		return ret;
	ret = admin_tx_end(c, revoke_in_tx(c, handle, now, out, cause), cause);
	if (ret != 0)
		memset(out, 0, sizeof *out);
	return ret;
}

static int
sqlite_accounts(struct hl_store *st, struct hl_store_account_info **out,
    size_t *n, char *cause)
{
	struct conn *c = &impl(st)->writer;
	*out = NULL;
	*n = 0;
	int err = 0;
	sqlite3_stmt *s = stmt(c, S_ACCOUNTS, &err, cause);
	if (s == NULL)
		return err;
	size_t cap = 0;
	struct hl_store_account_info *list = NULL;
	int rc, ret = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct hl_store_account_info *p;
			p = realloc(list, ncap * sizeof *p);
			if (p == NULL) {
				ret = hl_fail(cause, HL_ENOMEM,
				    "out of memory");
				break;
			}
			list = p;
			cap = ncap;
		}
		struct hl_store_account_info *a = &list[*n];
		memset(a, 0, sizeof *a);
		col_text(s, 0, a->handle, sizeof a->handle);
		col_text(s, 1, a->name, sizeof a->name);
		a->revoked = sqlite3_column_type(s, 2) != SQLITE_NULL;
		a->revoked_at = sqlite3_column_int64(s, 2);
		a->created = sqlite3_column_int64(s, 3);
		a->prekeys = sqlite3_column_int64(s, 4);
		a->queued = sqlite3_column_int64(s, 5);
		(*n)++;
	}
	finish(s);
	if (ret == 0 && rc != SQLITE_DONE)
		ret = fail_db(c, rc, cause);
	if (ret != 0) {
		free(list);
		*n = 0;
		return ret;
	}
	*out = list;
	return 0;
}

static int
sqlite_stats(struct hl_store *st, struct hl_store_stats *out, char *cause)
{
	struct sqlite_store *ss = impl(st);
	struct conn *c = &ss->writer;
	memset(out, 0, sizeof *out);
	int err = 0;
	sqlite3_stmt *s = stmt(c, S_STATS, &err, cause);
	if (s == NULL)
		return err;
	sqlite3_bind_int64(s, 1, hl_now_ms());
	int rc = sqlite3_step(s);
	int ret = 0;
	if (rc == SQLITE_ROW) {
		out->accounts_active = sqlite3_column_int64(s, 0);
		out->accounts_revoked = sqlite3_column_int64(s, 1);
		out->queued_messages = sqlite3_column_int64(s, 2);
		out->queued_notices = sqlite3_column_int64(s, 3);
		out->oldest_queued = sqlite3_column_int64(s, 4);
		out->prekeys = sqlite3_column_int64(s, 5);
		out->codes_pending = sqlite3_column_int64(s, 6);
	} else {
		ret = fail_db(c, rc, cause);
	}
	finish(s);
	struct stat sb;
	if (ret == 0 && stat(ss->path, &sb) == 0) {
		out->database_bytes = (int64_t)sb.st_size;
		char wal[PATH_MAX + 8];
		snprintf(wal, sizeof wal, "%s-wal", ss->path);
		if (stat(wal, &sb) == 0)
			out->database_bytes += (int64_t)sb.st_size;
	}
	return ret;
}

static int
sqlite_backup(struct hl_store *st, const char *path, char *cause)
{
	struct sqlite_store *ss = impl(st);
	/* Created here, owner-only and exclusively: a backup never
	 * overwrites anything and is never readable by others. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return hl_fail(cause, errno == EEXIST ? HL_EEXIST : HL_EIO,
		    "%s: %s", path, strerror(errno));
	close(fd);
	sqlite3 *dst = NULL;
	int rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE, NULL);
	int ret = 0;
	if (rc != SQLITE_OK) {
		ret = hl_fail(cause, HL_EIO, "%s: %s", path,
		    dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
	} else {
		sqlite3_backup *b = sqlite3_backup_init(dst, "main",
		    ss->writer.db, "main");
		if (b == NULL) {
			ret = hl_fail(cause, HL_EDB, "backup: %s",
			    sqlite3_errmsg(dst));
		} else {
			/* One step copies every page under one read
			 * transaction: a consistent snapshot, while the relay
			 * keeps writing to its WAL. */
			rc = sqlite3_backup_step(b, -1);
			int frc = sqlite3_backup_finish(b);
			if (rc != SQLITE_DONE || frc != SQLITE_OK)
				ret = hl_fail(cause, HL_EDB, "backup: %s",
				    sqlite3_errstr(rc != SQLITE_DONE ? rc :
				    frc));
		}
	}
	if (ret == 0 && hl_db_exec(dst, "PRAGMA journal_mode=DELETE",
	    cause) != 0)
		ret = HL_EDB;
	sqlite3_close(dst);
	if (ret != 0)
		unlink(path);
	return ret;
}

const struct hl_store_ops hl_store_sqlite_ops = {
	.scheme = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	.authenticate = sqlite_authenticate,
	.fetch = sqlite_fetch,
	.key_status = sqlite_key_status,
	.directory = sqlite_directory,
	.gauges = sqlite_gauges,
	.oldest_queued = sqlite_oldest_queued,
	.batch_begin = sqlite_batch_begin,
	.batch_commit = sqlite_batch_commit,
	.batch_rollback = sqlite_batch_rollback,
	.disk_full = sqlite_disk_full,
	.register_account = sqlite_register,
	.mark_used = sqlite_mark_used,
	.upload_keys = sqlite_upload_keys,
	.take_bundle = sqlite_take_bundle,
	.update_profile = sqlite_update_profile,
	.queue_message = sqlite_queue_message,
	.ack = sqlite_ack,
	.purge = sqlite_purge,
	.invite = sqlite_invite,
	.revoke = sqlite_revoke,
	.accounts = sqlite_accounts,
	.stats = sqlite_stats,
	.backup = sqlite_backup,
};
