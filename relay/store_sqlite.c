/*
 * store_sqlite: the store in one SQLite file (WAL, synchronous=FULL through
 * hl_db). One write connection, used by the single writer thread or an
 * admin command; a small pool of read-only connections for the HTTP
 * threads, which WAL lets read while the writer writes. The rules are
 * store_sql.c's; this file is the schema, the statements and the driver.
 */
#include "relay/store_sql.h"

#include "crypto/hl_db.h"
#include "crypto/hl_err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA_VERSION 3

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

/* Version 3: a table of the versions applied, as the PostgreSQL store
 * has (user_version stays the one the relay checks). Earlier versions
 * were applied at a time nobody recorded. */
static const char schema_v3[] =
	"CREATE TABLE hotline_schema ("
	" version INTEGER NOT NULL PRIMARY KEY,"
	" applied INTEGER);"
	"INSERT INTO hotline_schema (version) VALUES (1), (2);";

/* migrations[v] takes a store from version v to v + 1. */
static const char *const migrations[SCHEMA_VERSION] = {
	schema_v1,
	schema_v2,
	schema_v3,
};

/* Recorded after each migration from version 3 on. */
static const char version_applied[] =
	"INSERT INTO hotline_schema (version, applied) VALUES (%d,"
	" CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))";

#define PROFILE_COLUMNS \
	"name, organisation, country, role, languages, timezone, alternate"

static const char *const sql_text[HL_SQL_N] = {
	[HL_SQL_AUTH] = "SELECT id, handle, device_id, token_hash,"
	    " first_auth IS NULL FROM accounts"
	    " WHERE token_hash = ?1 AND revoked IS NULL",
	[HL_SQL_ACTIVE] = "SELECT 1 FROM accounts WHERE id = ?1 AND revoked IS NULL",
	[HL_SQL_FETCH] = "SELECT qid, kind, peer, peer_device, msg_id, type, body,"
	    " accepted, at, reason FROM queue WHERE recipient = ?1"
	    " ORDER BY qid LIMIT ?2",
	[HL_SQL_PREKEY_COUNT] = "SELECT count(*) FROM prekeys WHERE account = ?1",
	[HL_SQL_KEY_STATUS] = "SELECT spk_id FROM accounts"
	    " WHERE id = ?1 AND revoked IS NULL",
	[HL_SQL_DIRECTORY] = "SELECT handle, " PROFILE_COLUMNS ", identity_key,"
	    " updated FROM accounts WHERE revoked IS NULL AND (?1 = ''"
	    " OR instr(lower(handle), ?1) > 0 OR instr(lower(name), ?1) > 0"
	    " OR instr(lower(organisation), ?1) > 0"
	    " OR instr(lower(country), ?1) > 0 OR instr(lower(role), ?1) > 0)"
	    " ORDER BY handle LIMIT ?2",
	[HL_SQL_GAUGES] = "SELECT coalesce(sum(queued), 0),"
	    " coalesce(sum(revoked IS NULL), 0) FROM accounts",
	[HL_SQL_OLDEST] = "SELECT coalesce(min(accepted), 0) FROM queue"
	    " WHERE kind = 0",
	[HL_SQL_CODES_FOR] = "SELECT id, code_hash, expires, used, account"
	    " FROM codes WHERE handle = ?1",
	[HL_SQL_CODE_USE] = "UPDATE codes SET used = ?2, account = ?3 WHERE id = ?1",
	[HL_SQL_CODES_RETIRE] = "UPDATE codes SET used = ?2 WHERE handle = ?1"
	    " AND used IS NULL",
	[HL_SQL_CODES_DROP] = "DELETE FROM codes WHERE handle = ?1 AND used IS NULL",
	[HL_SQL_REISSUE_ACCOUNT] = "SELECT handle, identity_key, registration_id,"
	    " created, first_auth IS NULL, revoked IS NULL FROM accounts"
	    " WHERE id = ?1",
	[HL_SQL_TOKEN_REPLACE] = "UPDATE accounts SET token_hash = ?2 WHERE id = ?1",
	[HL_SQL_MARK_USED] = "UPDATE accounts SET first_auth = coalesce(first_auth,"
	    " ?3) WHERE id = ?1 AND token_hash = ?2 AND revoked IS NULL",
	[HL_SQL_SENDER_QUEUED] = "SELECT count(*) FROM queue WHERE recipient = ?1"
	    " AND sender = ?2 AND kind = 0",
	[HL_SQL_ACCOUNT_BY_HANDLE] = "SELECT id, revoked IS NOT NULL FROM accounts"
	    " WHERE handle = ?1",
	[HL_SQL_ACCOUNT_DELETE] = "DELETE FROM accounts WHERE id = ?1",
	[HL_SQL_ACCOUNT_INSERT] = "INSERT INTO accounts (handle, token_hash,"
	    " device_id, registration_id, identity_key, spk_id, spk_key,"
	    " spk_sig, " PROFILE_COLUMNS ", created, updated)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	    " ?14, ?15, ?16, ?16) RETURNING id",
	[HL_SQL_PREKEY_INSERT] = "INSERT INTO prekeys (account, key_id, key)"
	    " VALUES (?1, ?2, ?3)",
	[HL_SQL_PREKEY_EXISTS] = "SELECT 1 FROM prekeys WHERE account = ?1"
	    " AND key_id = ?2",
	[HL_SQL_SPK_UPDATE] = "UPDATE accounts SET spk_id = ?2, spk_key = ?3,"
	    " spk_sig = ?4 WHERE id = ?1",
	[HL_SQL_TARGET] = "SELECT id, handle, device_id, registration_id,"
	    " identity_key, spk_id, spk_key, spk_sig FROM accounts"
	    " WHERE handle = ?1 AND revoked IS NULL",
	[HL_SQL_BUNDLE_COUNT] = "SELECT count(*), min(at) FROM bundle_fetches"
	    " WHERE requester = ?1 AND target = ?2 AND at > ?3",
	[HL_SQL_BUNDLE_RECORD] = "INSERT INTO bundle_fetches (requester, target, at)"
	    " VALUES (?1, ?2, ?3)",
	[HL_SQL_PREKEY_FIRST] = "SELECT key_id, key FROM prekeys WHERE account = ?1"
	    " ORDER BY key_id LIMIT 1",
	[HL_SQL_PREKEY_DELETE] = "DELETE FROM prekeys WHERE account = ?1"
	    " AND key_id = ?2",
	[HL_SQL_PROFILE_UPDATE] = "UPDATE accounts SET name = ?2, organisation = ?3,"
	    " country = ?4, role = ?5, languages = ?6, timezone = ?7,"
	    " alternate = ?8, updated = ?9 WHERE id = ?1 AND revoked IS NULL",
	[HL_SQL_ENTRY] = "SELECT handle, " PROFILE_COLUMNS ", identity_key, updated"
	    " FROM accounts WHERE id = ?1",
	[HL_SQL_SENT_GET] = "SELECT digest, accepted FROM sent WHERE sender = ?1"
	    " AND msg_id = ?2",
	[HL_SQL_RECIPIENT] = "SELECT id FROM accounts WHERE handle = ?1"
	    " AND revoked IS NULL",
	[HL_SQL_QUEUED_COUNT] = "SELECT queued FROM accounts WHERE id = ?1",
	[HL_SQL_QUEUE_INSERT] = "INSERT INTO queue (recipient, kind, sender, peer,"
	    " peer_device, msg_id, type, body, accepted, at, reason)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[HL_SQL_SENT_INSERT] = "INSERT INTO sent (sender, msg_id, digest, accepted)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[HL_SQL_ACK] = "DELETE FROM queue WHERE qid = ?1 AND recipient = ?2",
	[HL_SQL_EXPIRED] = "SELECT q.qid, q.sender, q.msg_id, q.accepted, r.handle"
	    " FROM queue q JOIN accounts r ON r.id = q.recipient"
	    " WHERE q.kind = 0 AND q.accepted < ?1"
	    " ORDER BY q.accepted LIMIT ?2",
	[HL_SQL_QUEUE_DELETE] = "DELETE FROM queue WHERE qid = ?1",
	[HL_SQL_PURGE_NOTICES] = "DELETE FROM queue WHERE kind != 0 AND at < ?1",
	[HL_SQL_PURGE_SENT] = "DELETE FROM sent WHERE accepted < ?1",
	[HL_SQL_PURGE_FETCHES] = "DELETE FROM bundle_fetches WHERE at <= ?1",
	[HL_SQL_PURGE_CODES] = "DELETE FROM codes WHERE expires < ?1"
	    " OR (used IS NOT NULL AND used < ?1)",
	[HL_SQL_INVITE] = "INSERT INTO codes (handle, code_hash, created, expires)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[HL_SQL_REVOKE] = "UPDATE accounts SET revoked = ?2, token_hash = NULL"
	    " WHERE id = ?1",
	[HL_SQL_QUEUED_FOR] = "SELECT qid, sender, msg_id, accepted FROM queue"
	    " WHERE recipient = ?1 AND kind = 0 AND qid > ?2 ORDER BY qid"
	    " LIMIT ?3",
	[HL_SQL_QUEUE_CLEAR] = "DELETE FROM queue WHERE recipient = ?1",
	[HL_SQL_PREKEY_CLEAR] = "DELETE FROM prekeys WHERE account = ?1",
	[HL_SQL_FETCHES_CLEAR] = "DELETE FROM bundle_fetches WHERE requester = ?1"
	    " OR target = ?1",
	[HL_SQL_ACCOUNTS] = "SELECT a.handle, a.name, a.revoked, a.created,"
	    " (SELECT count(*) FROM prekeys p WHERE p.account = a.id), a.queued"
	    " FROM accounts a ORDER BY a.handle",
	[HL_SQL_STATS] = "SELECT"
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
	struct hl_sql_conn base;
	sqlite3 *db;
	int full;              /* a write failed: the disk is full */
	struct stmt {
		struct hl_sql_stmt base;
		sqlite3_stmt *s;
		int bind_rc;
		struct conn *conn;
	} st[HL_SQL_N];
};

struct sqlite_store {
	struct hl_sql_store sql;
	char path[PATH_MAX];
	struct conn writer;
};

static const struct hl_sql_driver driver;

static struct sqlite_store *
impl(struct hl_store *st)
{
	return (struct sqlite_store *)st;
}

static struct stmt *
S(struct hl_sql_stmt *s)
{
	return (struct stmt *)s;
}

static sqlite3 *
db_of(struct hl_sql_stmt *s)
{
	return sqlite3_db_handle(S(s)->s);
}

static struct hl_sql_stmt *
d_stmt(struct hl_sql_conn *hc, enum hl_sql id, int *err, char *cause)
{
	struct conn *c = (struct conn *)hc;
	struct stmt *s = &c->st[id];
	if (s->s == NULL) {
		int rc = sqlite3_prepare_v3(c->db, sql_text[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->s, NULL);
		if (rc != SQLITE_OK) {
			*err = hl_db_error(c->db, rc, cause);
			return NULL;
		}
		s->base.drv = &driver;
		s->conn = c;
	}
	sqlite3_reset(s->s);
	sqlite3_clear_bindings(s->s);
	s->bind_rc = SQLITE_OK;
	return &s->base;
}

static void
bound(struct hl_sql_stmt *s, int rc)
{
	if (S(s)->bind_rc == SQLITE_OK)
		S(s)->bind_rc = rc;
}

static void
d_bind_int64(struct hl_sql_stmt *s, int i, int64_t v)
{
	bound(s, sqlite3_bind_int64(S(s)->s, i, v));
}

static void
d_bind_text(struct hl_sql_stmt *s, int i, const char *v)
{
	bound(s, sqlite3_bind_text(S(s)->s, i, v, -1, SQLITE_STATIC));
}

static void
d_bind_blob(struct hl_sql_stmt *s, int i, const void *v, size_t n)
{
	bound(s, sqlite3_bind_blob(S(s)->s, i, v, (int)n, SQLITE_STATIC));
}

static void
d_bind_null(struct hl_sql_stmt *s, int i)
{
	bound(s, sqlite3_bind_null(S(s)->s, i));
}

static int
d_step(struct hl_sql_stmt *s, char *cause)
{
	if (S(s)->bind_rc != SQLITE_OK)
		return hl_db_error(db_of(s), S(s)->bind_rc, cause);
	int rc = sqlite3_step(S(s)->s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) == SQLITE_FULL)
		S(s)->conn->full = 1;
	return hl_db_error(db_of(s), rc, cause);
}

static int
d_is_null(struct hl_sql_stmt *s, int i)
{
	return sqlite3_column_type(S(s)->s, i) == SQLITE_NULL;
}

static int64_t
d_col_int64(struct hl_sql_stmt *s, int i)
{
	return sqlite3_column_int64(S(s)->s, i);
}

static const char *
d_col_text(struct hl_sql_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(S(s)->s, i);
}

static const void *
d_col_blob(struct hl_sql_stmt *s, int i, size_t *n)
{
	const void *b = sqlite3_column_blob(S(s)->s, i);
	*n = (size_t)sqlite3_column_bytes(S(s)->s, i);
	return b;
}

static int64_t
d_changes(struct hl_sql_stmt *s)
{
	return sqlite3_changes(db_of(s));
}

/* Resets s so it holds no read snapshot between uses. */
static void
d_finish(struct hl_sql_stmt *s)
{
	sqlite3_reset(S(s)->s);
}

static int
d_tx(struct hl_sql_conn *hc, enum hl_sql_tx what, char *cause)
{
	struct conn *c = (struct conn *)hc;
	sqlite3 *db = c->db;
	int rc;
	switch (what) {
	case HL_TX_BEGIN: rc = hl_db_begin(db); break;
	case HL_TX_BEGIN_READ: rc = hl_db_exec(db, "BEGIN", NULL); break;
	case HL_TX_COMMIT: rc = hl_db_commit(db); break;
	case HL_TX_ROLLBACK: rc = hl_db_rollback(db); break;
	case HL_TX_SAVEPOINT: rc = hl_db_savepoint(db, "op"); break;
	case HL_TX_RELEASE: rc = hl_db_release(db, "op"); break;
	case HL_TX_ROLLBACK_TO: rc = hl_db_rollback_to(db, "op"); break;
	default: rc = HL_EINVAL; break;
	}
	if (rc != 0) {
		/* Read before a rollback, which resets the error. */
		if ((sqlite3_errcode(db) & 0xff) == SQLITE_FULL)
			c->full = 1;
		return hl_fail(cause, rc, "%s", sqlite3_errmsg(db));
	}
	return 0;
}

static int
d_in_tx(struct hl_sql_conn *hc)
{
	return !sqlite3_get_autocommit(((struct conn *)hc)->db);
}

static int64_t
d_database_bytes(struct hl_store *st)
{
	struct sqlite_store *ss = impl(st);
	struct stat sb;
	if (stat(ss->path, &sb) != 0)
		return 0;
	int64_t n = (int64_t)sb.st_size;
	char wal[PATH_MAX + 8];
	snprintf(wal, sizeof wal, "%s-wal", ss->path);
	if (stat(wal, &sb) == 0)
		n += (int64_t)sb.st_size;
	return n;
}

static int
sqlite_disk_full(struct hl_store *st)
{
	struct sqlite_store *ss = impl(st);
	int full = ss->writer.full;
	ss->writer.full = 0;
	return full;
}

static const struct hl_sql_driver driver = { HL_SQL_DRIVER };

static void
conn_close(struct hl_sql_conn *hc)
{
	struct conn *c = (struct conn *)hc;
	for (size_t i = 0; i < HL_SQL_N; i++)
		sqlite3_finalize(c->st[i].s);
	memset(c->st, 0, sizeof c->st);
	hl_db_close(c->db);
	c->db = NULL;
}

/* --- opening --- */

static int
reader_open(struct hl_sql_store *sql, struct hl_sql_conn *hc, char *cause)
{
	struct sqlite_store *ss = (struct sqlite_store *)sql;
	struct conn *c = (struct conn *)hc;
	c->base.drv = &driver;
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
	hl_sql_store_destroy(&ss->sql, conn_close);
	conn_close(&ss->writer.base);
	free(ss);
}

/* Brings the store to version target (SCHEMA_VERSION but in tests of
 * the upgrade path). */
static int
schema(struct sqlite_store *ss, int create, int target, char *cause)
{
	int version = 0;
	if (hl_db_user_version(ss->writer.db, &version) != 0)
		return hl_fail(cause, HL_EDB,
		    "%s: cannot read the schema version", ss->path);
	int rc = hl_sql_schema_policy(ss->path, version, target, create,
	    cause);
	if (rc <= 0)
		return rc;
	rc = hl_db_begin(ss->writer.db);
	if (rc != 0)
		return hl_fail(cause, rc, "%s: cannot start a transaction",
		    ss->path);
	for (int v = version; rc == 0 && v < target; v++) {
		rc = hl_db_exec(ss->writer.db, migrations[v], cause);
		char ins[sizeof version_applied + 16];
		snprintf(ins, sizeof ins, version_applied, v + 1);
		if (rc == 0 && v + 1 >= 3)
			rc = hl_db_exec(ss->writer.db, ins, cause);
	}
	if (rc == 0)
		rc = hl_db_set_user_version(ss->writer.db, target);
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
	if (hl_sql_store_init(&ss->sql, &hl_store_sqlite_ops, cause) != 0) {
		free(ss);
		return HL_ENOMEM;
	}
	ss->writer.base.drv = &driver;
	ss->sql.writer = &ss->writer.base;
	int rc = hl_db_open(ss->path, create, &ss->writer.db, cause);
	if (rc == HL_ENOTFOUND)
		hl_fail(cause, rc, "%s: no database; run 'hotline-relay init'",
		    ss->path);
	if (rc == 0)
		rc = schema(ss, create, SCHEMA_VERSION, cause);
	if (rc == 0)
		rc = hl_sql_store_open_readers(&ss->sql, readers,
		    sizeof(struct conn), reader_open, cause);
	if (rc != 0) {
		sqlite_close(&ss->sql.base);
		return rc;
	}
	*out = &ss->sql.base;
	return 0;
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

int
hl_store_sqlite_make(const char *path, int version, char *cause)
{
	if (version < 1 || version > SCHEMA_VERSION)
		return hl_fail(cause, HL_EINVAL, "no schema version %d",
		    version);
	struct sqlite_store *ss = calloc(1, sizeof *ss);
	if (ss == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	snprintf(ss->path, sizeof ss->path, "%s", path);
	int rc = hl_db_open(path, 1, &ss->writer.db, cause);
	if (rc == 0)
		rc = schema(ss, 1, version, cause);
	hl_db_close(ss->writer.db);
	free(ss);
	return rc;
}

const struct hl_store_ops hl_store_sqlite_ops = {
	.scheme = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	HL_SQL_STORE_OPS,
	.disk_full = sqlite_disk_full,
	.backup = sqlite_backup,
};
