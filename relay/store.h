/*
 * store: the relay's storage, as a table of operations that a backend
 * implements. The SQL backends share their rules (store_sql.c) and differ
 * only in statements and connections (store_sqlite.c, store_pg.c).
 * hl_store_open() picks the backend from the url's scheme.
 *
 * Threads: the read operations may be called from any thread at once (the
 * backend keeps its own connections for them). The write operations are
 * called by one thread only (the writer, or an admin command), between
 * batch_begin and batch_commit/batch_rollback; each write is atomic on its
 * own inside the batch, so one refused write does not spoil the others.
 * The admin operations open and close their own transactions and are not
 * mixed with a batch.
 *
 * Times are Unix milliseconds passed in by the caller. Handles are valid
 * (hl_handle_valid) before they reach the store.
 */
#ifndef HL_RELAY_STORE_H
#define HL_RELAY_STORE_H

#include "crypto/hl_handle.h"
#include "relay/secret.h"

#include <stddef.h>
#include <stdint.h>

#define HL_STORE_KEY_LEN 33        /* 0x05 and a Curve25519 point */
#define HL_STORE_SIG_LEN 64
#define HL_STORE_ID_HEX 32
#define HL_STORE_TEXT_MAX 128
#define HL_STORE_LANGUAGES_MAX 8
#define HL_STORE_LANGUAGE_LEN 8
#define HL_STORE_TIMEZONE_MAX 64
#define HL_STORE_DIGEST_LEN 32
#define HL_STORE_PREKEY_ID_MAX 16777214u
#define HL_STORE_REGISTRATION_ID_MAX 16380u

struct hl_store_prekey {
	uint32_t id;
	uint8_t key[HL_STORE_KEY_LEN];
};

struct hl_store_signed_prekey {
	uint32_t id;
	uint8_t key[HL_STORE_KEY_LEN];
	uint8_t signature[HL_STORE_SIG_LEN];
};

/* A directory entry as its owner writes it. Absent optional values are
 * empty strings. */
struct hl_store_profile {
	char name[HL_STORE_TEXT_MAX + 1];
	char organisation[HL_STORE_TEXT_MAX + 1];
	char country[3];
	char role[HL_STORE_TEXT_MAX + 1];
	/* comma-separated: "en,et" */
	char languages[HL_STORE_LANGUAGES_MAX * (HL_STORE_LANGUAGE_LEN + 1)];
	char timezone[HL_STORE_TIMEZONE_MAX + 1];
	char alternate[HL_HANDLE_MAX + 1];
};

struct hl_store_entry {
	char handle[HL_HANDLE_MAX + 1];
	struct hl_store_profile profile;
	uint8_t identity_key[HL_STORE_KEY_LEN];
	int64_t updated;
};

/* An authenticated caller. */
struct hl_store_account {
	int64_t id;
	char handle[HL_HANDLE_MAX + 1];
	uint32_t device_id;
	int first_use;          /* it has never authenticated a request */
};

struct hl_store_registration {
	char handle[HL_HANDLE_MAX + 1];
	uint8_t code_hash[HL_SECRET_HASH];
	uint8_t token_hash[HL_SECRET_HASH];
	uint8_t identity_key[HL_STORE_KEY_LEN];
	uint32_t registration_id;
	uint32_t device_id;
	struct hl_store_signed_prekey signed_prekey;
	struct hl_store_prekey *prekeys;   /* owned by whoever filled it */
	size_t nprekeys;
	struct hl_store_profile profile;
};

struct hl_store_keys {
	struct hl_store_prekey *prekeys;   /* owned by whoever filled it */
	size_t nprekeys;
	int has_signed_prekey;
	struct hl_store_signed_prekey signed_prekey;
};

struct hl_store_bundle {
	char handle[HL_HANDLE_MAX + 1];
	uint32_t device_id;
	uint32_t registration_id;
	uint8_t identity_key[HL_STORE_KEY_LEN];
	struct hl_store_signed_prekey signed_prekey;
	int has_prekey;
	struct hl_store_prekey prekey;
};

/* One ciphertext to queue. */
struct hl_store_envelope {
	int64_t sender;
	char sender_handle[HL_HANDLE_MAX + 1];
	uint32_t sender_device;
	char to[HL_HANDLE_MAX + 1];
	char id[HL_STORE_ID_HEX + 1];
	int type;
	const uint8_t *body;               /* borrowed */
	size_t body_len;
	uint8_t digest[HL_STORE_DIGEST_LEN];     /* of to, type and body */
};

struct hl_store_accepted {
	int64_t accepted;                  /* when it was first accepted */
	int64_t recipient;                 /* account id, to wake its fetches */
	int duplicate;                     /* a retry: nothing new queued */
};

enum hl_store_item_kind {
	HL_STORE_MESSAGE = 0,
	HL_STORE_EXPIRED = 1,
	HL_STORE_DROPPED = 2,
};

/* One queued item. For a message, peer is the sender; for a notice, the
 * recipient of the message it is about. */
struct hl_store_item {
	int64_t qid;
	enum hl_store_item_kind kind;
	char peer[HL_HANDLE_MAX + 1];
	uint32_t peer_device;
	char id[HL_STORE_ID_HEX + 1];
	int type;
	uint8_t *body;                     /* messages; owned by the fetch */
	size_t body_len;
	int64_t accepted;
	int64_t at;                        /* notices: purged or dropped */
	char reason[16];                   /* dropped: "revoked" */
};

struct hl_store_fetch {
	struct hl_store_item *items;
	size_t n;
	int more;                          /* items left beyond these */
	int64_t prekeys_remaining;
};

struct hl_store_limits {
	int64_t max_queue_per_recipient;
	int64_t max_queue_per_sender;      /* one sender's share; 0: none */
	int64_t bundle_rate_per_hour;
	int64_t max_prekeys_stored;
	int64_t max_fetch_bytes;           /* a fetch stops adding past it */
};

/* What a purge did; woken lists the accounts that got notices. */
struct hl_store_purge {
	int64_t expired;
	int64_t notices_dropped;
	int64_t *woken;                    /* caller frees with free() */
	size_t nwoken;
};

/* What revoke did: messages dropped, and notices queued for their
 * senders. */
struct hl_store_revoke {
	int64_t dropped;
	int64_t notices;
};

struct hl_store_account_info {
	char handle[HL_HANDLE_MAX + 1];
	char name[HL_STORE_TEXT_MAX + 1];
	int revoked;
	int64_t created;
	int64_t revoked_at;
	int64_t prekeys;
	int64_t queued;
};

struct hl_store_stats {
	int64_t accounts_active;
	int64_t accounts_revoked;
	int64_t queued_messages;
	int64_t queued_notices;
	int64_t oldest_queued;             /* accepted time, 0 when none */
	int64_t prekeys;
	int64_t codes_pending;
	int64_t database_bytes;
};

struct hl_store;

struct hl_store_ops {
	const char *scheme;

	/* Opens location (the url after "scheme:"). create: make the schema
	 * if it is not there (init); else a missing or uninitialised store
	 * is HL_ENOTFOUND. readers: connections kept for concurrent reads. */
	int (*open)(const char *location, int create, unsigned readers,
	    struct hl_store **out, char *cause);
	void (*close)(struct hl_store *st);

	/* --- reads: any thread --- */

	/* The active account whose token hashes to token_hash. HL_EAUTH when
	 * none (unknown or revoked). */
	int (*authenticate)(struct hl_store *st,
	    const uint8_t token_hash[HL_SECRET_HASH],
	    struct hl_store_account *out);
	/* The oldest items for account, at most limit (and about max_bytes of
	 * bodies, never fewer than one item). HL_EAUTH when the account was
	 * revoked meanwhile. Free with hl_store_fetch_free(). */
	int (*fetch)(struct hl_store *st, int64_t account, size_t limit,
	    int64_t max_bytes, struct hl_store_fetch *out, char *cause);
	int (*key_status)(struct hl_store *st, int64_t account,
	    int64_t *prekeys_remaining, uint32_t *signed_prekey_id);
	/* Active accounts matching q (empty: all), by handle, at most max.
	 * *out is the caller's (free()). */
	int (*directory)(struct hl_store *st, const char *q, size_t max,
	    struct hl_store_entry **out, size_t *n, char *cause);
	int (*gauges)(struct hl_store *st, int64_t *queue_depth,
	    int64_t *accounts);
	/* When the oldest queued message was accepted (ms), 0 when none. */
	int (*oldest_queued)(struct hl_store *st, int64_t *accepted);

	/* --- writes: one thread, inside a batch --- */
	int (*batch_begin)(struct hl_store *st, char *cause);
	int (*batch_commit)(struct hl_store *st, char *cause);
	void (*batch_rollback)(struct hl_store *st);
	/* 1 when a write or a commit failed because the disk is full since
	 * the last call (which clears it). */
	int (*disk_full)(struct hl_store *st);

	/* Creates the account, marks the code used (with the account it
	 * created) and every other unused code of the handle used too.
	 * A retry whose answer was lost: the same handle and code, the same
	 * identity key and registration id as the account that code created,
	 * which has never authenticated a request and is less than an hour
	 * old, replaces that account's token hash with reg->token_hash and
	 * changes nothing else (*reissued = 1; reissued may be NULL).
	 * HL_ECODE (code wrong, used, expired or for another handle; a retry
	 * that is not one), HL_ETAKEN (an active account has the handle). */
	int (*register_account)(struct hl_store *st,
	    const struct hl_store_registration *reg, int64_t now, int *reissued,
	    char *cause);
	/* Records that account has authenticated a request with the token
	 * hashing to token_hash (the first time only; after it a lost
	 * registration answer can no longer be retried). HL_EAUTH when the
	 * account was revoked or its token replaced meanwhile. */
	int (*mark_used)(struct hl_store *st, int64_t account,
	    const uint8_t token_hash[HL_SECRET_HASH], int64_t now, char *cause);
	/* HL_EEXIST (a prekey id already stored), HL_EINVAL (over
	 * max_prekeys_stored), HL_EAUTH (revoked meanwhile). */
	int (*upload_keys)(struct hl_store *st, int64_t account,
	    const struct hl_store_keys *up, const struct hl_store_limits *lim,
	    int64_t *prekeys_remaining, char *cause);
	/* Hands out target's bundle and removes the one-time prekey in it.
	 * HL_ENOTFOUND (no active account), HL_ERATE (with *retry_after_s). */
	int (*take_bundle)(struct hl_store *st, int64_t requester,
	    const char *target, int64_t now, const struct hl_store_limits *lim,
	    struct hl_store_bundle *out, int64_t *retry_after_s, char *cause);
	int (*update_profile)(struct hl_store *st, int64_t account,
	    const struct hl_store_profile *profile, int64_t now,
	    struct hl_store_entry *out, char *cause);
	/* Queues env once per (sender, id). HL_ERECIPIENT, HL_ECONFLICT,
	 * HL_EQUEUEFULL (the recipient's queue is full, or holds the
	 * sender's share of it), HL_EAUTH. */
	int (*queue_message)(struct hl_store *st,
	    const struct hl_store_envelope *env,
	    int64_t now, const struct hl_store_limits *lim,
	    struct hl_store_accepted *out, char *cause);
	/* Deletes account's items among qids; *deleted counts them. */
	int (*ack)(struct hl_store *st, int64_t account, const int64_t *qids,
	    size_t n, int64_t *deleted, char *cause);
	/* Removes messages accepted before now - retention_ms, queueing an
	 * "expired" notice for each sender, and drops old bookkeeping. */
	int (*purge)(struct hl_store *st, int64_t now, int64_t retention_ms,
	    struct hl_store_purge *out, char *cause);

	/* --- admin: own transactions --- */
	/* HL_ETAKEN when handle has an active account. */
	int (*invite)(struct hl_store *st, const char *handle,
	    const uint8_t code_hash[HL_SECRET_HASH], int64_t now,
	    int64_t expires, char *cause);
	/* Also deletes the handle's unused codes. HL_ENOTFOUND when handle
	 * has no active account. */
	int (*revoke)(struct hl_store *st, const char *handle, int64_t now,
	    struct hl_store_revoke *out, char *cause);
	/* *out is the caller's (free()). */
	int (*accounts)(struct hl_store *st, struct hl_store_account_info **out,
	    size_t *n, char *cause);
	int (*stats)(struct hl_store *st, struct hl_store_stats *out,
	    char *cause);
	/* Optional (NULL when one process owns the store): calls wake, from
	 * a thread of the store's, with each account that something was
	 * committed for by any process, or with 0 when anything may have
	 * been (after a reconnect, and every few seconds, so that a lost
	 * notification only delays). Runs until close, or until called
	 * with wake NULL. */
	int (*watch)(struct hl_store *st,
	    void (*wake)(int64_t account, void *arg), void *arg, char *cause);
	/* A consistent copy at path, which must not exist yet. */
	int (*backup)(struct hl_store *st, const char *path, char *cause);
};

/* Every backend starts its store struct with this. */
struct hl_store {
	const struct hl_store_ops *ops;
};

/* The backends, one file each. */
extern const struct hl_store_ops hl_store_sqlite_ops;
extern const struct hl_store_ops hl_store_pg_ops;

/* Creates a SQLite store at path at schema version (1 up to the
 * current), for tests of the upgrade path that init runs. */
int hl_store_sqlite_make(const char *path, int version, char *cause);

/* Opens the store a url names ("sqlite:/var/lib/hotline-relay/relay.db",
 * "postgresql:host=/run/postgresql dbname=hotline").
 * *out is the caller's, closed with hl_store_close(). */
int hl_store_open(const char *url, int create, unsigned readers,
    struct hl_store **out, char *cause);

/* NULL is fine. */
void hl_store_close(struct hl_store *st);

/* url as it may be shown or logged: a PostgreSQL password left out. */
void hl_store_url_shown(const char *url, char *out, size_t n);

/* Frees the items of a fetch and their bodies; f itself is the caller's. */
void hl_store_fetch_free(struct hl_store_fetch *f);

/* The digest that tells a retried message from a conflicting one. */
void hl_store_envelope_digest(struct hl_store_envelope *env);

#endif
