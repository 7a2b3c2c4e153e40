/*
 * store_sql: the store's rules (limits, notices for senders, purge policy,
 * idempotent ids, one-time prekeys) written once over a small SQL driver.
 * A backend (store_sqlite.c, store_pg.c) supplies its statements' text, a
 * connection and the driver calls below; everything else about behaviour
 * lives here, so the backends differ only in how they speak SQL.
 *
 * Statements are numbered by enum hl_sql; a backend's text for each takes
 * the same parameters (1-based) and returns the same columns (0-based) as
 * the SQLite text in store_sqlite.c, which documents them.
 */
#ifndef HL_RELAY_STORE_SQL_H
#define HL_RELAY_STORE_SQL_H

#include "relay/store.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

enum hl_sql {
	HL_SQL_AUTH,
	HL_SQL_ACTIVE,
	HL_SQL_FETCH,
	HL_SQL_PREKEY_COUNT,
	HL_SQL_KEY_STATUS,
	HL_SQL_DIRECTORY,
	HL_SQL_GAUGES,
	HL_SQL_OLDEST,
	HL_SQL_CODES_FOR,
	HL_SQL_CODE_USE,
	HL_SQL_CODES_RETIRE,
	HL_SQL_CODES_DROP,
	HL_SQL_REISSUE_ACCOUNT,
	HL_SQL_TOKEN_REPLACE,
	HL_SQL_MARK_USED,
	HL_SQL_SENDER_QUEUED,
	HL_SQL_ACCOUNT_BY_HANDLE,
	HL_SQL_ACCOUNT_DELETE,
	HL_SQL_ACCOUNT_INSERT,
	HL_SQL_PREKEY_INSERT,
	HL_SQL_PREKEY_EXISTS,
	HL_SQL_SPK_UPDATE,
	HL_SQL_TARGET,
	HL_SQL_BUNDLE_COUNT,
	HL_SQL_BUNDLE_RECORD,
	HL_SQL_PREKEY_FIRST,
	HL_SQL_PREKEY_DELETE,
	HL_SQL_PROFILE_UPDATE,
	HL_SQL_ENTRY,
	HL_SQL_SENT_GET,
	HL_SQL_RECIPIENT,
	HL_SQL_QUEUED_COUNT,
	HL_SQL_QUEUE_INSERT,
	HL_SQL_SENT_INSERT,
	HL_SQL_ACK,
	HL_SQL_EXPIRED,
	HL_SQL_QUEUE_DELETE,
	HL_SQL_PURGE_NOTICES,
	HL_SQL_PURGE_SENT,
	HL_SQL_PURGE_FETCHES,
	HL_SQL_PURGE_CODES,
	HL_SQL_INVITE,
	HL_SQL_REVOKE,
	HL_SQL_QUEUED_FOR,
	HL_SQL_QUEUE_CLEAR,
	HL_SQL_PREKEY_CLEAR,
	HL_SQL_FETCHES_CLEAR,
	HL_SQL_ACCOUNTS,
	HL_SQL_STATS,
	HL_SQL_N
};

/* Transaction control, each one statement of the backend's dialect. */
enum hl_sql_tx {
	HL_TX_BEGIN,          /* a write transaction */
	HL_TX_BEGIN_READ,     /* one consistent snapshot for a read */
	HL_TX_COMMIT,
	HL_TX_ROLLBACK,
	HL_TX_SAVEPOINT,
	HL_TX_RELEASE,
	HL_TX_ROLLBACK_TO,
};

struct hl_sql_driver;

/* Every backend connection and statement starts with these. */
struct hl_sql_conn {
	const struct hl_sql_driver *drv;
};

struct hl_sql_stmt {
	const struct hl_sql_driver *drv;
};

struct hl_sql_driver {
	/* Statement id on c, without bindings; NULL with *err and cause set
	 * when it cannot be prepared. Owned by c. */
	struct hl_sql_stmt *(*stmt)(struct hl_sql_conn *c, enum hl_sql id,
	    int *err, char *cause);
	/* A failed bind (out of memory) is reported by the next step. */
	void (*bind_int64)(struct hl_sql_stmt *s, int i, int64_t v);
	void (*bind_text)(struct hl_sql_stmt *s, int i, const char *v);
	void (*bind_blob)(struct hl_sql_stmt *s, int i, const void *v,
	    size_t n);
	void (*bind_null)(struct hl_sql_stmt *s, int i);
	/* 1: a row is current; 0: no more rows; < 0: HL_EDB or HL_EBUSY
	 * (retry) with cause. */
	int (*step)(struct hl_sql_stmt *s, char *cause);
	int (*is_null)(struct hl_sql_stmt *s, int i);
	int64_t (*col_int64)(struct hl_sql_stmt *s, int i);
	const char *(*col_text)(struct hl_sql_stmt *s, int i); /* NULL: NULL */
	const void *(*col_blob)(struct hl_sql_stmt *s, int i, size_t *n);
	/* Rows the statement inserted, updated or deleted. */
	int64_t (*changes)(struct hl_sql_stmt *s);
	/* Ends the statement's run (no snapshot held after it). */
	void (*finish)(struct hl_sql_stmt *s);
	int (*tx)(struct hl_sql_conn *c, enum hl_sql_tx what, char *cause);
	/* Whether c is inside a transaction that can still commit. */
	int (*in_tx)(struct hl_sql_conn *c);
	/* Bytes the database takes, for stats; 0 when unknown. */
	int64_t (*database_bytes)(struct hl_store *st);
};

/* A backend's driver table, when it names its calls d_stmt, d_step... */
#define HL_SQL_DRIVER \
	.stmt = d_stmt, .bind_int64 = d_bind_int64, .bind_text = d_bind_text, \
	.bind_blob = d_bind_blob, .bind_null = d_bind_null, .step = d_step, \
	.is_null = d_is_null, .col_int64 = d_col_int64, \
	.col_text = d_col_text, .col_blob = d_col_blob, \
	.changes = d_changes, .finish = d_finish, .tx = d_tx, \
	.in_tx = d_in_tx, .database_bytes = d_database_bytes

/* What to do with a store found at schema version, for a relay that
 * knows latest: 0 serve it; 1 migrate it (create: init is running);
 * < 0 refuse it, with cause naming the store (where). */
int hl_sql_schema_policy(const char *where, int version, int latest,
    int create, char *cause);

/* The shared part of a backend's store; the backend's struct starts with
 * it. With no readers, reads use the writer. */
struct hl_sql_store {
	struct hl_store base;
	struct hl_sql_conn *writer;
	struct hl_sql_conn **readers;
	unsigned char *reader_mem;
	unsigned char *reader_busy;
	unsigned nreaders;
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	int pool_init;
};

/* Sets up the reader pool's lock. */
int hl_sql_store_init(struct hl_sql_store *ss, const struct hl_store_ops *ops,
    char *cause);
/* Opens n read connections, each size bytes starting with a struct
 * hl_sql_conn, through open (which may leave a failed one for close). */
int hl_sql_store_open_readers(struct hl_sql_store *ss, unsigned n,
    size_t size, int (*open)(struct hl_sql_store *ss, struct hl_sql_conn *c,
    char *cause), char *cause);
/* Closes the readers with close and frees what the pool holds. */
void hl_sql_store_destroy(struct hl_sql_store *ss,
    void (*close)(struct hl_sql_conn *c));

/* A read connection for this call, and its return. */
struct hl_sql_conn *hl_sql_reader_get(struct hl_sql_store *ss,
    unsigned *slot);
void hl_sql_reader_put(struct hl_sql_store *ss, unsigned slot);

/* The store operations every SQL backend shares. */
int hl_sql_authenticate(struct hl_store *st,
    const uint8_t token_hash[HL_SECRET_HASH], struct hl_store_account *out);
int hl_sql_fetch(struct hl_store *st, int64_t account, size_t limit,
    int64_t max_bytes, struct hl_store_fetch *out, char *cause);
int hl_sql_key_status(struct hl_store *st, int64_t account,
    int64_t *prekeys_remaining, uint32_t *signed_prekey_id);
int hl_sql_directory(struct hl_store *st, const char *q, size_t max,
    struct hl_store_entry **out, size_t *n, char *cause);
int hl_sql_gauges(struct hl_store *st, int64_t *queue_depth,
    int64_t *accounts);
int hl_sql_oldest_queued(struct hl_store *st, int64_t *accepted);
int hl_sql_batch_begin(struct hl_store *st, char *cause);
int hl_sql_batch_commit(struct hl_store *st, char *cause);
void hl_sql_batch_rollback(struct hl_store *st);
int hl_sql_register(struct hl_store *st,
    const struct hl_store_registration *reg, int64_t now, int *reissued,
    char *cause);
int hl_sql_mark_used(struct hl_store *st, int64_t account,
    const uint8_t token_hash[HL_SECRET_HASH], int64_t now, char *cause);
int hl_sql_upload_keys(struct hl_store *st, int64_t account,
    const struct hl_store_keys *up, const struct hl_store_limits *lim,
    int64_t *prekeys_remaining, char *cause);
int hl_sql_take_bundle(struct hl_store *st, int64_t requester,
    const char *target, int64_t now, const struct hl_store_limits *lim,
    struct hl_store_bundle *out, int64_t *retry_after_s, char *cause);
int hl_sql_update_profile(struct hl_store *st, int64_t account,
    const struct hl_store_profile *profile, int64_t now,
    struct hl_store_entry *out, char *cause);
int hl_sql_queue_message(struct hl_store *st,
    const struct hl_store_envelope *env, int64_t now,
    const struct hl_store_limits *lim, struct hl_store_accepted *out,
    char *cause);
int hl_sql_ack(struct hl_store *st, int64_t account, const int64_t *qids,
    size_t n, int64_t *deleted, char *cause);
int hl_sql_purge(struct hl_store *st, int64_t now, int64_t retention_ms,
    struct hl_store_purge *out, char *cause);
int hl_sql_invite(struct hl_store *st, const char *handle,
    const uint8_t code_hash[HL_SECRET_HASH], int64_t now, int64_t expires,
    char *cause);
int hl_sql_revoke(struct hl_store *st, const char *handle, int64_t now,
    struct hl_store_revoke *out, char *cause);
int hl_sql_accounts(struct hl_store *st, struct hl_store_account_info **out,
    size_t *n, char *cause);
int hl_sql_stats(struct hl_store *st, struct hl_store_stats *out,
    char *cause);

/* The ops fields above, for a backend's table. */
#define HL_SQL_STORE_OPS \
	.authenticate = hl_sql_authenticate, \
	.fetch = hl_sql_fetch, \
	.key_status = hl_sql_key_status, \
	.directory = hl_sql_directory, \
	.gauges = hl_sql_gauges, \
	.oldest_queued = hl_sql_oldest_queued, \
	.batch_begin = hl_sql_batch_begin, \
	.batch_commit = hl_sql_batch_commit, \
	.batch_rollback = hl_sql_batch_rollback, \
	.register_account = hl_sql_register, \
	.mark_used = hl_sql_mark_used, \
	.upload_keys = hl_sql_upload_keys, \
	.take_bundle = hl_sql_take_bundle, \
	.update_profile = hl_sql_update_profile, \
	.queue_message = hl_sql_queue_message, \
	.ack = hl_sql_ack, \
	.purge = hl_sql_purge, \
	.invite = hl_sql_invite, \
	.revoke = hl_sql_revoke, \
	.accounts = hl_sql_accounts, \
	.stats = hl_sql_stats

#endif
