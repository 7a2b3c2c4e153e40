/*
 * store_pg: the store in a PostgreSQL database, shared by any number of
 * relay processes. The rules are store_sql.c's; this file is the schema,
 * the statements (with the row locks that make limits and one-time
 * prekeys hold across processes) and a driver over libpq.
 *
 * One write connection (the writer thread or an admin command), a pool of
 * read connections, and a listener connection that turns NOTIFY into
 * wake-ups. A connection that breaks is made again on its next use
 * outside a transaction; a batch whose connection broke fails as a whole,
 * so nothing is answered as accepted unless its COMMIT succeeded.
 */
#include "relay/store_sql.h"

#include "crypto/hl_err.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_VERSION 1
#define MAX_PARAMS 16
#define CHANNEL "hotline_queue"
/* A lost notification only delays a long-poll by this much. */
#define RECHECK_MS 2000

static const char schema_v1[] =
	"CREATE TABLE accounts ("
	" id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" handle TEXT NOT NULL UNIQUE,"
	" token_hash BYTEA UNIQUE,"
	" device_id BIGINT NOT NULL,"
	" registration_id BIGINT NOT NULL,"
	" identity_key BYTEA NOT NULL,"
	" spk_id BIGINT NOT NULL,"
	" spk_key BYTEA NOT NULL,"
	" spk_sig BYTEA NOT NULL,"
	" name TEXT NOT NULL,"
	" organisation TEXT NOT NULL,"
	" country TEXT NOT NULL,"
	" role TEXT NOT NULL,"
	" languages TEXT NOT NULL,"
	" timezone TEXT NOT NULL,"
	" alternate TEXT NOT NULL,"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL,"
	" revoked BIGINT,"
	" first_auth BIGINT);"
	"CREATE TABLE prekeys ("
	" account BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" key_id BIGINT NOT NULL,"
	" key BYTEA NOT NULL,"
	" PRIMARY KEY (account, key_id));"
	"CREATE TABLE codes ("
	" id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" handle TEXT NOT NULL,"
	" code_hash BYTEA NOT NULL,"
	" created BIGINT NOT NULL,"
	" expires BIGINT NOT NULL,"
	" used BIGINT,"
	" account BIGINT);"
	"CREATE INDEX codes_handle ON codes(handle);"
	"CREATE TABLE queue ("
	" qid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" recipient BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" kind BIGINT NOT NULL,"
	" sender BIGINT REFERENCES accounts(id) ON DELETE SET NULL,"
	" peer TEXT NOT NULL,"
	" peer_device BIGINT NOT NULL DEFAULT 0,"
	" msg_id TEXT NOT NULL,"
	" type BIGINT NOT NULL DEFAULT 0,"
	" body BYTEA,"
	" accepted BIGINT NOT NULL,"
	" at BIGINT NOT NULL DEFAULT 0,"
	" reason TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX queue_recipient ON queue(recipient, qid);"
	"CREATE INDEX queue_sender ON queue(sender);"
	"CREATE INDEX queue_pair ON queue(recipient, sender) WHERE kind = 0;"
	"CREATE INDEX queue_expiry ON queue(accepted) WHERE kind = 0;"
	"CREATE INDEX queue_notices ON queue(at) WHERE kind != 0;"
	"CREATE TABLE sent ("
	" sender BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" msg_id TEXT NOT NULL,"
	" digest BYTEA NOT NULL,"
	" accepted BIGINT NOT NULL,"
	" PRIMARY KEY (sender, msg_id));"
	"CREATE INDEX sent_accepted ON sent(accepted);"
	"CREATE TABLE bundle_fetches ("
	" requester BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" target BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" at BIGINT NOT NULL);"
	"CREATE INDEX bundle_fetches_pair"
	" ON bundle_fetches(requester, target, at);"
	"CREATE INDEX bundle_fetches_target ON bundle_fetches(target);"
	"CREATE INDEX bundle_fetches_at ON bundle_fetches(at);"
	/* Every relay listening wakes the long-polls of the recipient when
	 * the item commits (NOTIFY is delivered at COMMIT only). */
	"CREATE FUNCTION hotline_queued() RETURNS trigger LANGUAGE plpgsql AS"
	" $$BEGIN PERFORM pg_notify('" CHANNEL "', NEW.recipient::text);"
	" RETURN NULL; END$$;"
	"CREATE TRIGGER queue_notify AFTER INSERT ON queue"
	" FOR EACH ROW EXECUTE FUNCTION hotline_queued();";

/* migrations[v] takes a database from version v to v + 1. */
static const char *const migrations[SCHEMA_VERSION] = {
	schema_v1,
};

#define PROFILE_COLUMNS \
	"name, organisation, country, role, languages, timezone, alternate"
#define FOLD(x) "translate(" x ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'," \
	" 'abcdefghijklmnopqrstuvwxyz')"
#define HAS(x) " OR strpos(" FOLD(x) ", $1) > 0"

/* The same parameters and columns as store_sqlite.c's statements. Rows
 * that another relay may change at the same time are locked (FOR UPDATE)
 * before the counts that decide a limit are read. */
static const char *const sql_text[HL_SQL_N] = {
	[HL_SQL_AUTH] = "SELECT id, handle, device_id, token_hash,"
	    " first_auth IS NULL FROM accounts"
	    " WHERE token_hash = $1 AND revoked IS NULL",
	[HL_SQL_ACTIVE] = "SELECT 1 FROM accounts WHERE id = $1"
	    " AND revoked IS NULL",
	[HL_SQL_FETCH] = "SELECT qid, kind, peer, peer_device, msg_id, type,"
	    " body, accepted, at, reason FROM queue WHERE recipient = $1"
	    " ORDER BY qid LIMIT $2",
	[HL_SQL_PREKEY_COUNT] = "SELECT count(*) FROM prekeys"
	    " WHERE account = $1",
	[HL_SQL_KEY_STATUS] = "SELECT spk_id FROM accounts"
	    " WHERE id = $1 AND revoked IS NULL",
	[HL_SQL_DIRECTORY] = "SELECT handle, " PROFILE_COLUMNS ","
	    " identity_key, updated FROM accounts WHERE revoked IS NULL"
	    " AND ($1::text = ''" HAS("handle") HAS("name")
	    HAS("organisation") HAS("country") HAS("role") ")"
	    " ORDER BY handle COLLATE \"C\" LIMIT $2",
	[HL_SQL_GAUGES] = "SELECT (SELECT count(*) FROM queue),"
	    " (SELECT count(*) FROM accounts WHERE revoked IS NULL)",
	[HL_SQL_OLDEST] = "SELECT coalesce(min(accepted), 0) FROM queue"
	    " WHERE kind = 0",
	[HL_SQL_CODES_FOR] = "SELECT id, code_hash, expires, used, account"
	    " FROM codes WHERE handle = $1",
	[HL_SQL_CODE_USE] = "UPDATE codes SET used = $2, account = $3"
	    " WHERE id = $1",
	[HL_SQL_CODES_RETIRE] = "UPDATE codes SET used = $2"
	    " WHERE handle = $1 AND used IS NULL",
	[HL_SQL_CODES_DROP] = "DELETE FROM codes WHERE handle = $1"
	    " AND used IS NULL",
	[HL_SQL_REISSUE_ACCOUNT] = "SELECT handle, identity_key,"
	    " registration_id, created, first_auth IS NULL, revoked IS NULL"
	    " FROM accounts WHERE id = $1 FOR UPDATE",
	[HL_SQL_TOKEN_REPLACE] = "UPDATE accounts SET token_hash = $2"
	    " WHERE id = $1",
	[HL_SQL_MARK_USED] = "UPDATE accounts SET first_auth ="
	    " coalesce(first_auth, $3) WHERE id = $1 AND token_hash = $2"
	    " AND revoked IS NULL",
	[HL_SQL_SENDER_QUEUED] = "SELECT count(*) FROM queue"
	    " WHERE recipient = $1 AND sender = $2 AND kind = 0",
	[HL_SQL_ACCOUNT_BY_HANDLE] = "SELECT id, revoked IS NOT NULL"
	    " FROM accounts WHERE handle = $1 FOR UPDATE",
	[HL_SQL_ACCOUNT_DELETE] = "DELETE FROM accounts WHERE id = $1",
	[HL_SQL_ACCOUNT_INSERT] = "INSERT INTO accounts (handle, token_hash,"
	    " device_id, registration_id, identity_key, spk_id, spk_key,"
	    " spk_sig, " PROFILE_COLUMNS ", created, updated)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
	    " $14, $15, $16, $16) RETURNING id",
	[HL_SQL_PREKEY_INSERT] = "INSERT INTO prekeys (account, key_id, key)"
	    " VALUES ($1, $2, $3)",
	[HL_SQL_PREKEY_EXISTS] = "SELECT 1 FROM prekeys WHERE account = $1"
	    " AND key_id = $2",
	[HL_SQL_SPK_UPDATE] = "UPDATE accounts SET spk_id = $2, spk_key = $3,"
	    " spk_sig = $4 WHERE id = $1",
	[HL_SQL_TARGET] = "SELECT id, handle, device_id, registration_id,"
	    " identity_key, spk_id, spk_key, spk_sig FROM accounts"
	    " WHERE handle = $1 AND revoked IS NULL FOR UPDATE",
	[HL_SQL_BUNDLE_COUNT] = "SELECT count(*), min(at) FROM bundle_fetches"
	    " WHERE requester = $1 AND target = $2 AND at > $3",
	[HL_SQL_BUNDLE_RECORD] = "INSERT INTO bundle_fetches"
	    " (requester, target, at) VALUES ($1, $2, $3)",
	[HL_SQL_PREKEY_FIRST] = "SELECT key_id, key FROM prekeys"
	    " WHERE account = $1 ORDER BY key_id LIMIT 1"
	    " FOR UPDATE SKIP LOCKED",
	[HL_SQL_PREKEY_DELETE] = "DELETE FROM prekeys WHERE account = $1"
	    " AND key_id = $2",
	[HL_SQL_PROFILE_UPDATE] = "UPDATE accounts SET name = $2,"
	    " organisation = $3, country = $4, role = $5, languages = $6,"
	    " timezone = $7, alternate = $8, updated = $9"
	    " WHERE id = $1 AND revoked IS NULL",
	[HL_SQL_ENTRY] = "SELECT handle, " PROFILE_COLUMNS ", identity_key,"
	    " updated FROM accounts WHERE id = $1",
	[HL_SQL_SENT_GET] = "SELECT digest, accepted FROM sent"
	    " WHERE sender = $1 AND msg_id = $2",
	/* The lock orders every relay's inserts for one recipient, so qids
	 * commit in the order they were drawn: per-recipient FIFO. */
	[HL_SQL_RECIPIENT] = "SELECT id FROM accounts WHERE handle = $1"
	    " AND revoked IS NULL FOR UPDATE",
	[HL_SQL_QUEUED_COUNT] = "SELECT count(*) FROM queue"
	    " WHERE recipient = $1",
	[HL_SQL_QUEUE_INSERT] = "INSERT INTO queue (recipient, kind, sender,"
	    " peer, peer_device, msg_id, type, body, accepted, at, reason)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
	[HL_SQL_SENT_INSERT] = "INSERT INTO sent (sender, msg_id, digest,"
	    " accepted) VALUES ($1, $2, $3, $4)",
	[HL_SQL_ACK] = "DELETE FROM queue WHERE qid = $1 AND recipient = $2",
	/* SKIP LOCKED: two relays purging at once expire distinct rows. */
	[HL_SQL_EXPIRED] = "SELECT q.qid, q.sender, q.msg_id, q.accepted,"
	    " r.handle FROM queue q JOIN accounts r ON r.id = q.recipient"
	    " WHERE q.kind = 0 AND q.accepted < $1"
	    " ORDER BY q.accepted LIMIT $2 FOR UPDATE OF q SKIP LOCKED",
	[HL_SQL_QUEUE_DELETE] = "DELETE FROM queue WHERE qid = $1",
	[HL_SQL_PURGE_NOTICES] = "DELETE FROM queue WHERE kind != 0"
	    " AND at < $1",
	[HL_SQL_PURGE_SENT] = "DELETE FROM sent WHERE accepted < $1",
	[HL_SQL_PURGE_FETCHES] = "DELETE FROM bundle_fetches WHERE at <= $1",
	[HL_SQL_PURGE_CODES] = "DELETE FROM codes WHERE expires < $1"
	    " OR (used IS NOT NULL AND used < $1)",
	[HL_SQL_INVITE] = "INSERT INTO codes (handle, code_hash, created,"
	    " expires) VALUES ($1, $2, $3, $4)",
	[HL_SQL_REVOKE] = "UPDATE accounts SET revoked = $2,"
	    " token_hash = NULL WHERE id = $1",
	[HL_SQL_QUEUED_FOR] = "SELECT qid, sender, msg_id, accepted FROM queue"
	    " WHERE recipient = $1 AND kind = 0 AND qid > $2 ORDER BY qid"
	    " LIMIT $3",
	[HL_SQL_QUEUE_CLEAR] = "DELETE FROM queue WHERE recipient = $1",
	[HL_SQL_PREKEY_CLEAR] = "DELETE FROM prekeys WHERE account = $1",
	[HL_SQL_FETCHES_CLEAR] = "DELETE FROM bundle_fetches"
	    " WHERE requester = $1 OR target = $1",
	[HL_SQL_ACCOUNTS] = "SELECT a.handle, a.name, a.revoked, a.created,"
	    " (SELECT count(*) FROM prekeys p WHERE p.account = a.id),"
	    " (SELECT count(*) FROM queue q WHERE q.recipient = a.id)"
	    " FROM accounts a ORDER BY a.handle COLLATE \"C\"",
	[HL_SQL_STATS] = "SELECT"
	    " (SELECT count(*) FROM accounts WHERE revoked IS NULL),"
	    " (SELECT count(*) FROM accounts WHERE revoked IS NOT NULL),"
	    " (SELECT count(*) FROM queue WHERE kind = 0),"
	    " (SELECT count(*) FROM queue WHERE kind != 0),"
	    " (SELECT coalesce(min(accepted), 0) FROM queue WHERE kind = 0),"
	    " (SELECT count(*) FROM prekeys),"
	    " (SELECT count(*) FROM codes WHERE used IS NULL"
	    " AND expires > $1::bigint)",
};

struct conn;

struct stmt {
	struct hl_sql_stmt base;
	struct conn *conn;
	enum hl_sql id;
	const char *values[MAX_PARAMS];
	int lengths[MAX_PARAMS];
	int formats[MAX_PARAMS];
	char numbers[MAX_PARAMS][24];
	int nparams;
	int bind_err;
	PGresult *res;
	int row;
	int ran;
};

struct conn {
	struct hl_sql_conn base;
	PGconn *pg;
	const char *conninfo;        /* the store's */
	int in_batch;                /* BEGIN sent, COMMIT/ROLLBACK not yet */
	unsigned char prepared[HL_SQL_N];
	struct stmt st;              /* one statement runs at a time */
};

struct pg_store {
	struct hl_sql_store sql;
	char *conninfo;
	struct conn writer;

	/* the listener */
	pthread_t listener;
	int listening;
	int stop_pipe[2];
	void (*wake)(int64_t account, void *arg);
	void *wake_arg;
};

static const struct hl_sql_driver driver;

static struct pg_store *
impl(struct hl_store *st)
{
	return (struct pg_store *)st;
}

static struct stmt *
S(struct hl_sql_stmt *s)
{
	return (struct stmt *)s;
}

/* A connection with a bounded connect time unless conninfo sets one. */
static PGconn *
pg_connect(const char *conninfo)
{
	const char *keys[] = { "connect_timeout", "application_name",
		"dbname", NULL };
	const char *vals[] = { "5", "hotline-relay", conninfo, NULL };
	return PQconnectdbParams(keys, vals, 1);
}

static void
quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Makes c's connection again when it broke and no transaction of it can
 * be spoilt by that. */
static int
conn_ensure(struct conn *c, char *cause)
{
	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
		return 0;
	if (c->in_batch)
		return hl_fail(cause, HL_EDB,
		    "the PostgreSQL connection was lost in a transaction");
	if (c->pg != NULL)
		PQfinish(c->pg);
	memset(c->prepared, 0, sizeof c->prepared);
	c->pg = pg_connect(c->conninfo);
	if (c->pg == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	if (PQstatus(c->pg) != CONNECTION_OK) {
		char msg[HL_CAUSE_MAX];
		snprintf(msg, sizeof msg, "%s", PQerrorMessage(c->pg));
		msg[strcspn(msg, "\n")] = '\0';
		return hl_fail(cause, HL_EDB, "PostgreSQL is unreachable: %s",
		    msg);
	}
	PQsetNoticeProcessor(c->pg, quiet, NULL);
	return 0;
}

/* The error of res (or of the connection), as HL_EBUSY when a retry can
 * succeed and HL_EDB otherwise. */
static int
pg_error(struct conn *c, PGresult *res, char *cause)
{
	if (PQstatus(c->pg) != CONNECTION_OK)
		return hl_fail(cause, HL_EDB,
		    "the PostgreSQL connection was lost");
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) :
	    NULL;
	const char *msg = res ? PQresultErrorField(res,
	    PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (msg == NULL)
		msg = PQerrorMessage(c->pg);
	/* Serialisation failures, deadlocks, a unique key another relay
	 * took first, a lock not granted: the same request can succeed
	 * when tried again. */
	int busy = state != NULL && (strcmp(state, "40001") == 0 ||
	    strcmp(state, "40P01") == 0 || strcmp(state, "23505") == 0 ||
	    strcmp(state, "55P03") == 0 || strncmp(state, "57P", 3) == 0 ||
	    strncmp(state, "08", 2) == 0);
	char text[HL_CAUSE_MAX];
	snprintf(text, sizeof text, "%s", msg);
	text[strcspn(text, "\n")] = '\0';
	return hl_fail(cause, busy ? HL_EBUSY : HL_EDB, "postgresql: %s%s%s",
	    text, state ? " " : "", state ? state : "");
}

static int
conn_exec(struct conn *c, const char *sql, char *cause)
{
	PGresult *res = PQexec(c->pg, sql);
	int ret = 0;
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		ret = pg_error(c, res, cause);
	PQclear(res);
	return ret;
}

static struct hl_sql_stmt *
d_stmt(struct hl_sql_conn *hc, enum hl_sql id, int *err, char *cause)
{
	struct conn *c = (struct conn *)hc;
	struct stmt *s = &c->st;
	if (s->res != NULL) {
		PQclear(s->res);
		s->res = NULL;
	}
	int ret = conn_ensure(c, cause);
	if (ret == 0 && !c->prepared[id]) {
		char name[16];
		snprintf(name, sizeof name, "hl%d", (int)id);
		PGresult *res = PQprepare(c->pg, name, sql_text[id], 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			ret = pg_error(c, res, cause);
		else
			c->prepared[id] = 1;
		PQclear(res);
	}
	if (ret != 0) {
		*err = ret;
		return NULL;
	}
	memset(s, 0, sizeof *s);
	s->base.drv = &driver;
	s->conn = c;
	s->id = id;
	return &s->base;
}

static void
bind_raw(struct hl_sql_stmt *hs, int i, const char *v, int len, int format)
{
	struct stmt *s = S(hs);
	if (i < 1 || i > MAX_PARAMS) {
		s->bind_err = 1;
		return;
	}
	s->values[i - 1] = v;
	s->lengths[i - 1] = len;
	s->formats[i - 1] = format;
	if (i > s->nparams)
		s->nparams = i;
}

static void
d_bind_int64(struct hl_sql_stmt *hs, int i, int64_t v)
{
	struct stmt *s = S(hs);
	if (i < 1 || i > MAX_PARAMS) {
		s->bind_err = 1;
		return;
	}
	snprintf(s->numbers[i - 1], sizeof s->numbers[i - 1], "%lld",
	    (long long)v);
	bind_raw(hs, i, s->numbers[i - 1], 0, 0);
}

static void
d_bind_text(struct hl_sql_stmt *s, int i, const char *v)
{
	bind_raw(s, i, v, 0, 0);
}

static void
d_bind_blob(struct hl_sql_stmt *s, int i, const void *v, size_t n)
{
	/* Binary, so bytes go as they are; an empty blob is not NULL. */
	bind_raw(s, i, v != NULL ? v : "", (int)n, 1);
}

static void
d_bind_null(struct hl_sql_stmt *s, int i)
{
	bind_raw(s, i, NULL, 0, 0);
}

static int
d_step(struct hl_sql_stmt *hs, char *cause)
{
	struct stmt *s = S(hs);
	if (!s->ran) {
		s->ran = 1;
		s->row = -1;
		if (s->bind_err)
			return hl_fail(cause, HL_EDB, "a parameter out of range");
		char name[16];
		snprintf(name, sizeof name, "hl%d", (int)s->id);
		s->res = PQexecPrepared(s->conn->pg, name, s->nparams,
		    s->values, s->lengths, s->formats, 1);
		ExecStatusType st = PQresultStatus(s->res);
		if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
			return pg_error(s->conn, s->res, cause);
	}
	if (s->res == NULL)
		return 0;
	s->row++;
	return s->row < PQntuples(s->res) ? 1 : 0;
}

static int
d_is_null(struct hl_sql_stmt *hs, int i)
{
	struct stmt *s = S(hs);
	return PQgetisnull(s->res, s->row, i);
}

/* Binary results: integers in network order, of the column's width;
 * booleans one byte. */
static int64_t
d_col_int64(struct hl_sql_stmt *hs, int i)
{
	struct stmt *s = S(hs);
	if (PQgetisnull(s->res, s->row, i))
		return 0;
	const unsigned char *b =
	    (const unsigned char *)PQgetvalue(s->res, s->row, i);
	int n = PQgetlength(s->res, s->row, i);
	if (n != 1 && n != 2 && n != 4 && n != 8)
		return 0;
	uint64_t v = (b[0] & 0x80) && n > 1 ? UINT64_MAX : 0;
	for (int k = 0; k < n; k++)
		v = (v << 8) | b[k];
	return (int64_t)v;
}

static const char *
d_col_text(struct hl_sql_stmt *hs, int i)
{
	struct stmt *s = S(hs);
	if (PQgetisnull(s->res, s->row, i))
		return NULL;
	/* libpq ends every value with a zero byte. */
	return PQgetvalue(s->res, s->row, i);
}

static const void *
d_col_blob(struct hl_sql_stmt *hs, int i, size_t *n)
{
	struct stmt *s = S(hs);
	*n = 0;
	if (PQgetisnull(s->res, s->row, i))
		return NULL;
	*n = (size_t)PQgetlength(s->res, s->row, i);
	return PQgetvalue(s->res, s->row, i);
}

static int64_t
d_changes(struct hl_sql_stmt *hs)
{
	struct stmt *s = S(hs);
	return s->res ? strtoll(PQcmdTuples(s->res), NULL, 10) : 0;
}

static void
d_finish(struct hl_sql_stmt *hs)
{
	struct stmt *s = S(hs);
	PQclear(s->res);
	s->res = NULL;
}

static int
d_tx(struct hl_sql_conn *hc, enum hl_sql_tx what, char *cause)
{
	struct conn *c = (struct conn *)hc;
	int ret;
	switch (what) {
	case HL_TX_BEGIN:
	case HL_TX_BEGIN_READ:
		c->in_batch = 0;
		if ((ret = conn_ensure(c, cause)) != 0)
			return ret;
		ret = conn_exec(c, what == HL_TX_BEGIN ? "BEGIN" :
		    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", cause);
		c->in_batch = ret == 0;
		return ret;
	case HL_TX_COMMIT: {
		/* A COMMIT on a broken or aborted transaction must never
		 * look like success. */
		int ok = c->in_batch && PQstatus(c->pg) == CONNECTION_OK &&
		    PQtransactionStatus(c->pg) == PQTRANS_INTRANS;
		c->in_batch = 0;
		if (!ok) {
			if (PQstatus(c->pg) == CONNECTION_OK)
				conn_exec(c, "ROLLBACK", NULL);
			return hl_fail(cause, HL_EDB, "%s",
			    PQstatus(c->pg) != CONNECTION_OK ?
			    "the PostgreSQL connection was lost" :
			    "the transaction was aborted");
		}
		PGresult *res = PQexec(c->pg, "COMMIT");
		ret = 0;
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			ret = pg_error(c, res, cause);
		else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
			ret = hl_fail(cause, HL_EDB,
			    "the transaction was rolled back");
		PQclear(res);
		return ret;
	}
	case HL_TX_ROLLBACK:
		c->in_batch = 0;
		if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK)
			return 0;
		return conn_exec(c, "ROLLBACK", cause);
	case HL_TX_SAVEPOINT:
		return conn_exec(c, "SAVEPOINT op", cause);
	case HL_TX_RELEASE:
		return conn_exec(c, "RELEASE SAVEPOINT op", cause);
	case HL_TX_ROLLBACK_TO:
		return conn_exec(c, "ROLLBACK TO SAVEPOINT op", cause);
	}
	return HL_EINVAL;
}

static int
d_in_tx(struct hl_sql_conn *hc)
{
	struct conn *c = (struct conn *)hc;
	return c->in_batch && c->pg != NULL &&
	    PQstatus(c->pg) == CONNECTION_OK &&
	    PQtransactionStatus(c->pg) == PQTRANS_INTRANS;
}

static int64_t
d_database_bytes(struct hl_store *st)
{
	struct conn *c = &impl(st)->writer;
	if (conn_ensure(c, NULL) != 0)
		return 0;
	PGresult *res = PQexec(c->pg,
	    "SELECT pg_database_size(current_database())");
	int64_t n = 0;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}

static const struct hl_sql_driver driver = { HL_SQL_DRIVER };

static void
conn_close(struct hl_sql_conn *hc)
{
	struct conn *c = (struct conn *)hc;
	PQclear(c->st.res);
	c->st.res = NULL;
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
}

/* --- schema --- */

static int
schema_version(struct conn *c, int *version, char *cause)
{
	PGresult *res = PQexec(c->pg, "SELECT to_regclass('hotline_schema')"
	    " IS NOT NULL");
	int ret = 0;
	*version = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		ret = pg_error(c, res, cause);
	int exists = ret == 0 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (ret != 0 || !exists)
		return ret;
	res = PQexec(c->pg, "SELECT max(version) FROM hotline_schema");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		ret = pg_error(c, res, cause);
	else if (!PQgetisnull(res, 0, 0))
		*version = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return ret;
}

static int
migrate(struct conn *c, int *version, char *cause)
{
	/* Two inits at once: the second waits, then finds it done. */
	int ret = conn_exec(c, "BEGIN", cause);
	if (ret == 0)
		ret = conn_exec(c, "SELECT pg_advisory_xact_lock(7260315)",
		    cause);
	if (ret == 0)
		ret = schema_version(c, version, cause);
	if (ret == 0 && *version == 0)
		ret = conn_exec(c, "CREATE TABLE hotline_schema ("
		    " version INTEGER NOT NULL, applied TIMESTAMPTZ NOT NULL"
		    " DEFAULT now())", cause);
	for (int v = *version; ret == 0 && v < SCHEMA_VERSION; v++) {
		char ins[96];
		snprintf(ins, sizeof ins,
		    "INSERT INTO hotline_schema (version) VALUES (%d)", v + 1);
		ret = conn_exec(c, migrations[v], cause);
		if (ret == 0)
			ret = conn_exec(c, ins, cause);
	}
	if (ret == 0)
		ret = conn_exec(c, "COMMIT", cause);
	if (ret != 0)
		conn_exec(c, "ROLLBACK", NULL);
	return ret;
}

static int
schema(struct conn *c, int create, char *cause)
{
	int version = 0;
	int ret = schema_version(c, &version, cause);
	if (ret != 0)
		return ret;
	ret = hl_sql_schema_policy("postgresql", version, SCHEMA_VERSION,
	    create, cause);
	if (ret <= 0)
		return ret;
	char why[HL_CAUSE_MAX] = "";
	if (migrate(c, &version, why) != 0)
		return hl_fail(cause, HL_EDB, "postgresql: cannot %s the "
		    "schema: %s", version == 0 ? "create" : "upgrade", why);
	return 0;
}

/* --- the listener --- */

static void
stop_listener(struct pg_store *ps)
{
	if (!ps->listening)
		return;
	ssize_t w = write(ps->stop_pipe[1], "x", 1);
	(void)w;
	pthread_join(ps->listener, NULL);
	ps->listening = 0;
	close(ps->stop_pipe[0]);
	close(ps->stop_pipe[1]);
}

static int
sleep_or_stop(struct pg_store *ps, int ms)
{
	struct pollfd p = { .fd = ps->stop_pipe[0], .events = POLLIN };
	return poll(&p, 1, ms) != 0;
}

/* Delivers what arrived on pg; 0, or -1 when the connection broke. */
static int
drain(struct pg_store *ps, PGconn *pg)
{
	if (!PQconsumeInput(pg))
		return -1;
	PGnotify *n;
	while ((n = PQnotifies(pg)) != NULL) {
		char *end = NULL;
		long long account = strtoll(n->extra, &end, 10);
		if (end != n->extra && *end == '\0' && account > 0)
			ps->wake((int64_t)account, ps->wake_arg);
		PQfreemem(n);
	}
	return 0;
}

static void *
listener_main(void *arg)
{
	struct pg_store *ps = arg;
	int backoff = 100;
	for (;;) {
		PGconn *pg = pg_connect(ps->conninfo);
		PGresult *res = NULL;
		if (pg != NULL && PQstatus(pg) == CONNECTION_OK)
			res = PQexec(pg, "LISTEN " CHANNEL);
		if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
			PQclear(res);
			if (pg != NULL)
				PQfinish(pg);
			if (sleep_or_stop(ps, backoff))
				return NULL;
			backoff = backoff < 2000 ? backoff * 2 : 2000;
			continue;
		}
		PQclear(res);
		backoff = 100;
		/* Whatever committed while no one listened: everyone looks
		 * again. */
		ps->wake(0, ps->wake_arg);
		for (;;) {
			struct pollfd p[2] = {
				{ .fd = ps->stop_pipe[0], .events = POLLIN },
				{ .fd = PQsocket(pg), .events = POLLIN },
			};
			int n = poll(p, 2, RECHECK_MS);
			if (n > 0 && p[0].revents) {
				PQfinish(pg);
				return NULL;
			}
			if (n == 0) {
				ps->wake(0, ps->wake_arg);
				continue;
			}
			if (n < 0)
				continue;
			if (drain(ps, pg) != 0 || PQstatus(pg) != CONNECTION_OK)
				break;
		}
		PQfinish(pg);
	}
}

static int
pg_watch(struct hl_store *st, void (*wake)(int64_t account, void *arg),
    void *arg, char *cause)
{
	struct pg_store *ps = impl(st);
	if (wake == NULL) {
		stop_listener(ps);
		return 0;
	}
	if (ps->listening)
		return hl_fail(cause, HL_ESTATE, "already watching");
	if (pipe(ps->stop_pipe) != 0)
		return hl_fail(cause, HL_EIO, "pipe: %s", strerror(errno));
	ps->wake = wake;
	ps->wake_arg = arg;
	if (pthread_create(&ps->listener, NULL, listener_main, ps) != 0) {
		close(ps->stop_pipe[0]);
		close(ps->stop_pipe[1]);
		return hl_fail(cause, HL_ENOMEM, "cannot start a thread");
	}
	ps->listening = 1;
	return 0;
}

/* --- opening --- */

static void
pg_close(struct hl_store *st)
{
	struct pg_store *ps = impl(st);
	if (ps == NULL)
		return;
	stop_listener(ps);
	hl_sql_store_destroy(&ps->sql, conn_close);
	conn_close(&ps->writer.base);
	free(ps->conninfo);
	free(ps);
}

static int
conn_open(struct hl_sql_store *sql, struct hl_sql_conn *hc, char *cause)
{
	struct pg_store *ps = (struct pg_store *)sql;
	struct conn *c = (struct conn *)hc;
	c->base.drv = &driver;
	c->conninfo = ps->conninfo;
	return conn_ensure(c, cause);
}

static int
pg_open(const char *location, int create, unsigned readers,
    struct hl_store **out, char *cause)
{
	*out = NULL;
	struct pg_store *ps = calloc(1, sizeof *ps);
	if (ps == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	if (hl_sql_store_init(&ps->sql, &hl_store_pg_ops, cause) != 0) {
		free(ps);
		return HL_ENOMEM;
	}
	int rc = 0;
	ps->conninfo = strdup(location);
	if (ps->conninfo == NULL)
		rc = hl_fail(cause, HL_ENOMEM, "out of memory");
	ps->sql.writer = &ps->writer.base;
	if (rc == 0)
		rc = conn_open(&ps->sql, &ps->writer.base, cause);
	if (rc == 0)
		rc = schema(&ps->writer, create, cause);
	if (rc == 0)
		rc = hl_sql_store_open_readers(&ps->sql, readers,
		    sizeof(struct conn), conn_open, cause);
	if (rc != 0) {
		pg_close(&ps->sql.base);
		return rc;
	}
	*out = &ps->sql.base;
	return 0;
}

static int
pg_disk_full(struct hl_store *st)
{
	/* The database server keeps its own disk; a full one is an error
	 * like any other. */
	(void)st;
	return 0;
}

static int
pg_backup(struct hl_store *st, const char *path, char *cause)
{
	(void)st;
	return hl_fail(cause, HL_EINVAL, "%s: a PostgreSQL store is backed "
	    "up with pg_dump (see OPERATIONS.md), not by the relay", path);
}

const struct hl_store_ops hl_store_pg_ops = {
	.scheme = "postgresql",
	.open = pg_open,
	.close = pg_close,
	HL_SQL_STORE_OPS,
	.disk_full = pg_disk_full,
	.watch = pg_watch,
	.backup = pg_backup,
};
