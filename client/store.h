/*
 * store: the client's own tables (account, contacts, messages and their
 * transitions, conversations, gaps, held messages), in the same SQLite file
 * as the crypto core and sealed by the same vault, so one transaction can
 * cover a ratchet step and the row it produced.
 *
 * What stays in clear: message ids (the relay sees them too), directions,
 * kinds, states and their times, deadlines, sequence numbers, and blind
 * indexes of handles. Handles, contents, ciphertexts, tokens and profiles
 * are sealed.
 */
#ifndef HL_STORE_H
#define HL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "client/api.h"
#include "crypto/hl_content.h"
#include "crypto/hl_session.h"

enum hl_dir {
	HL_OUT = 0,
	HL_IN = 1,
};

/* Sender side: queued -> sent -> delivered -> acknowledged, or overdue,
 * failed, expired. Receiver side: new -> read -> acknowledged. */
enum hl_state {
	HL_ST_QUEUED = 0,
	HL_ST_SENT = 1,
	HL_ST_DELIVERED = 2,
	HL_ST_ACKNOWLEDGED = 3,
	HL_ST_OVERDUE = 4,
	HL_ST_FAILED = 5,
	HL_ST_EXPIRED = 6,
	HL_ST_NEW = 7,
	HL_ST_READ = 8,
};
#define HL_ST_COUNT 9

struct hl_account {
	char relay[256];
	char handle[HL_HANDLE_MAX + 1];
	char token[HL_TOKEN_HEX + 1];
	char pin[256];                 /* "" when not pinned */
	char ca_file[256];             /* "" for the system store */
	int64_t registered_ms;
};

struct hl_contact {
	struct hl_dir_entry entry;
	int64_t fetched_ms;
};

/* One message as the store keeps it. content is owned (hl_msg_clear). */
struct hl_msg {
	int64_t rowid;                 /* also the queue order */
	char id[HL_ID_HEX + 1];
	enum hl_dir dir;
	char peer[HL_HANDLE_MAX + 1];
	enum hl_state state;
	int64_t created_ms;
	struct hl_content content;
	/* outbound */
	int ct_type;                   /* 0 until encrypted */
	uint8_t *ct;                   /* owned */
	size_t ct_len;
	int attempts;
	int64_t next_try_ms;
	char reason[256];              /* why failed, or why still queued */
	char escalated_to[HL_HANDLE_MAX + 1];
	char escalated_id[HL_ID_HEX + 1];
	char escalation_of[HL_ID_HEX + 1];
	/* the acknowledgement: received (outbound) or given (inbound) */
	enum hl_response ack_response; /* HL_RESP_NONE until acked */
	char *ack_note;                /* owned, may be NULL */
	/* inbound */
	int key_changed;               /* arrived under a key accepted late */
	/* both: the time of each state reached, 0 when not */
	int64_t at[HL_ST_COUNT];
};

/* A ciphertext or notice kept because it could not be read yet. */
struct hl_held {
	char qid[HL_QID_MAX + 1];
	char from[HL_HANDLE_MAX + 1];
	char id[HL_ID_HEX + 1];
	int type;
	uint8_t *ct;                   /* owned; NULL when nothing to retry */
	size_t ct_len;
	/* The decrypted content when it decrypted but could not be taken
	 * (a newer version, a forged sender): sealed like the rest, owned,
	 * wiped by hl_held_free; NULL when it never decrypted. The key that
	 * decrypted it is spent: this is the only copy. */
	uint8_t *pt;
	size_t pt_len;
	int64_t received_ms;
	char reason[128];
};

struct hl_gap {
	char peer[HL_HANDLE_MAX + 1];
	int64_t seq;
	int64_t since_ms;
};

struct hl_crypto;

/* Creates the client tables when missing. */
int hl_store_init(struct hl_crypto *c, char *cause);

/* Account: 1 and *a when registered, 0 when not. */
int hl_store_account_get(struct hl_crypto *c, struct hl_account *a);
int hl_store_account_put(struct hl_crypto *c, const struct hl_account *a);

/* Contacts (the directory cache): 1 when known, 0 when not. */
int hl_store_contact_get(struct hl_crypto *c, const char *handle,
    struct hl_contact *out);
int hl_store_contact_put(struct hl_crypto *c, const struct hl_contact *ct);
/* Calls fn for every stored contact (the last directory entries fetched),
 * in no order, until it returns non-zero. 0 or < 0. */
int hl_store_contact_each(struct hl_crypto *c,
    int (*fn)(const struct hl_contact *ct, void *arg), void *arg);

/* Messages. insert fills m->rowid and records the transition to m->state
 * at m->created_ms. HL_EEXIST when (dir, peer, id) is already stored. */
int hl_store_msg_insert(struct hl_crypto *c, struct hl_msg *m);
/* Rewrites the sealed part and the plain columns of a stored message. */
int hl_store_msg_update(struct hl_crypto *c, const struct hl_msg *m);
/* Moves m to state at time at (records the transition, keeps the first
 * time a state was reached) and updates the row. */
int hl_store_msg_transition(struct hl_crypto *c, struct hl_msg *m,
    enum hl_state st, int64_t at);
/* Records that m reached st at time at without making it m's state (a
 * queued message whose deadline passed stays queued). Keeps the first time. */
int hl_store_msg_event(struct hl_crypto *c, struct hl_msg *m, enum hl_state st,
    int64_t at);
/* 1 and *m (caller clears with hl_msg_clear) when found, 0 when not. */
int hl_store_msg_get(struct hl_crypto *c, enum hl_dir dir, const char *peer,
    const char *id, struct hl_msg *m);
/* By id or unique id prefix (at least 4 hex digits) in either direction;
 * "last" is the newest inbound message. HL_ENOTFOUND, or HL_EEXIST when
 * the prefix is ambiguous. */
int hl_store_msg_find(struct hl_crypto *c, const char *id_or_prefix,
    struct hl_msg *m, char *cause);

/* Removes message m (by its rowid) and the times of its states, in one
 * transaction: for `discard`. 0, HL_ENOTFOUND, or < 0. */
int hl_store_msg_delete(struct hl_crypto *c, const struct hl_msg *m);

/* Selects messages and calls fn for each (the message is cleared after fn
 * returns; fn returns non-zero to stop). fn may change and store the
 * messages it is given. */
struct hl_msg_query {
	int dir;                  /* -1 any, else enum hl_dir */
	int state;                /* -1 any, else enum hl_state */
	const char *peer;         /* NULL any */
	int64_t since_ms;         /* created at or after; 0 any */
	int64_t due_before_ms;    /* outbound queued with next_try <= this; 0 off */
	int64_t ack_by_before_ms; /* with ack_by set and <= this; 0 off */
	int awaiting_ack;         /* inbound, needing an ack, not acknowledged */
	int exclude_receipts;     /* leave out receipts and acks */
	int newest_first;
	int64_t before_rowid;     /* rowid below this, highest first (a page
	                           * of history before the one shown); 0 off */
	int limit;                /* 0: no limit */
};
int hl_store_msg_each(struct hl_crypto *c, const struct hl_msg_query *q,
    int (*fn)(struct hl_msg *m, void *arg), void *arg);

/* The earliest retry time of a queued outbound message and the earliest
 * deadline of an outbound message not yet acknowledged, overdue, failed or
 * expired; 0 when there is none. */
int hl_store_next_due(struct hl_crypto *c, int64_t *next_try,
    int64_t *next_ack_by);

/* The retry time of a queued message that waits for a decision (a key to
 * trust, a token the relay refused) rather than for time. */
#define HL_NEXT_TRY_BLOCKED (INT64_MAX / 4)

/* Makes every queued outbound message to peer due now (after its key was
 * accepted, say). */
int hl_store_requeue_peer(struct hl_crypto *c, const char *peer);

/* After the contact's changed key was accepted: the conversation with the
 * new identity starts a fresh sequence. Queued outbound messages to peer
 * forget ciphertexts made in the dropped session (so they are encrypted
 * again in the new one), are numbered 1, 2, ... in the order they were
 * queued, and are due now; the next outbound seq follows them; the
 * inbound expectation and every open gap of peer are cleared, so the new
 * identity's messages count from 1. */
int hl_store_reencrypt_queued(struct hl_crypto *c, const char *peer);

/* Makes every queued outbound message that waits for time (not for a
 * decision) due now: the relay answers again after an outage. */
int hl_store_requeue_waiting(struct hl_crypto *c);

/* For each contact with queued outbound messages, the oldest one (which
 * must go before the others): its id and retry time. Reads no sealed
 * message. fn returns non-zero to stop. */
int hl_store_outbox_heads(struct hl_crypto *c,
    int (*fn)(const char *peer, const char *id, int64_t next_try, void *arg),
    void *arg);

/* Each conversation with its counts, read from plain columns only (no
 * message is unsealed), for a contacts list. fn returns non-zero to stop. */
struct hl_conv_summary {
	char peer[HL_HANDLE_MAX + 1];
	int64_t unread;           /* inbound new, receipts and acks aside */
	int64_t awaiting;         /* inbound needing our ack, not acked */
	int64_t overdue;          /* outbound overdue */
	int64_t last_ms;          /* the newest message's time, 0 none */
};
int hl_store_conversations(struct hl_crypto *c,
    int (*fn)(const struct hl_conv_summary *s, void *arg), void *arg);

/* The count of one state in one direction, receipts and acks aside: found
 * through the state index, so only those rows are read (a status line
 * over a big history). */
int hl_store_msg_count_state(struct hl_crypto *c, enum hl_dir dir,
    enum hl_state st, int64_t *n);

/* Counts per state (array of HL_ST_COUNT) over one direction. */
int hl_store_msg_counts(struct hl_crypto *c, enum hl_dir dir,
    int64_t counts[HL_ST_COUNT]);

void hl_msg_clear(struct hl_msg *m);

/* Whether an inbound content asks for an officer's ack: checks, incidents,
 * anything with a deadline or above routine priority. */
int hl_msg_needs_ack(const struct hl_content *c);

/* Conversations: the next outbound seq (incremented and returned) and the
 * inbound bookkeeping. observe records seq n from peer: opens gaps for
 * what was skipped, closes the gap n filled. *was_gap tells the caller a
 * gap closed; *opened how many new gaps (capped). */
int hl_store_next_seq(struct hl_crypto *c, const char *peer, int64_t *seq);
int hl_store_observe_seq(struct hl_crypto *c, const char *peer, int64_t n,
    int64_t now_ms, int *closed_gap, int64_t *opened);
/* Every open gap, by contact. *out is the caller's (free with free()). */
int hl_store_gaps(struct hl_crypto *c, struct hl_gap **out, size_t *n);

/* Held ciphertexts and unreadable items. */
int hl_store_held_put(struct hl_crypto *c, const struct hl_held *h);
/* Held items (of from, or all when from is NULL), oldest first. *out is
 * the caller's: free with hl_held_free(*out, *n). */
int hl_store_held_list(struct hl_crypto *c, const char *from,
    struct hl_held **out, size_t *n);
int hl_store_held_del(struct hl_crypto *c, const char *qid);
void hl_held_free(struct hl_held *h, size_t n);

/* Small integers the client remembers (last clock skew, ...). */
int hl_store_meta_get(struct hl_crypto *c, const char *name, int64_t *value);
int hl_store_meta_set(struct hl_crypto *c, const char *name, int64_t value);

const char *hl_state_name(enum hl_state s);

/* Whether m is an outbound message that went overdue and was passed on to
 * the contact's alternate: shown as escalated, no longer as merely late
 * (its reason holds the alternate's answer). */
int hl_msg_escalated(const struct hl_msg *m);

#endif
