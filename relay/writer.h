/*
 * writer: the one thread that writes to the store. HTTP threads hand it
 * writes; it takes every write pending, applies them in one transaction,
 * commits once (group commit: one fsync for the batch), and only then
 * completes each write through its callback. It also purges on a timer.
 *
 * On a full disk it gives up its reserve (relay/reserve.h) and takes only
 * the writes that make room (acks, and an account's first-use mark, which
 * its first ack needs) until the reserve can be made again; the others
 * fail with HL_EDISKFULL meanwhile.
 *
 * A submitted write belongs to the writer until its done callback runs;
 * done runs exactly once, on the writer thread, after which the writer
 * never touches the write again.
 */
#ifndef HL_RELAY_WRITER_H
#define HL_RELAY_WRITER_H

#include "crypto/hl_err.h"
#include "relay/store.h"

#include <stddef.h>
#include <stdint.h>

struct hl_metrics;
struct hl_reserve;

enum hl_write_kind {
	HL_WRITE_REGISTER,
	HL_WRITE_KEYS,
	HL_WRITE_BUNDLE,
	HL_WRITE_PROFILE,
	HL_WRITE_MESSAGE,
	HL_WRITE_ACK,
	HL_WRITE_MARK_USED,            /* an account's first authentication */
};

struct hl_write {
	enum hl_write_kind kind;
	int64_t account;                       /* the caller (not register) */

	/* inputs, borrowed from the submitter until done */
	const struct hl_store_registration *reg;
	const struct hl_store_keys *keys;
	const char *target;                    /* bundle */
	const struct hl_store_profile *profile;
	const struct hl_store_envelope *env;
	const int64_t *qids;
	size_t nqids;
	const uint8_t *token_hash;             /* mark used */

	/* results */
	int rc;                                /* 0 or HL_E... */
	char cause[HL_CAUSE_MAX];
	int64_t retry_after_s;
	int64_t prekeys_remaining;             /* keys */
	struct hl_store_bundle bundle;
	struct hl_store_entry entry;             /* profile */
	struct hl_store_accepted accepted;           /* message */
	int64_t deleted;                       /* ack */
	int reissued;                          /* register: a retry */

	void (*done)(struct hl_write *w, void *arg);
	void *arg;

	struct hl_write *next;                 /* the writer's queue */
};

struct hl_writer_config {
	struct hl_store_limits limits;
	int64_t retention_ms;
	int64_t purge_interval_ms;
	size_t max_batch;                      /* writes per transaction */
	struct hl_reserve *reserve;            /* borrowed; NULL: none */
};

struct hl_writer;

/* Called after each commit with an account that has new items. */
typedef void (*hl_writer_wake_fn)(int64_t account, void *arg);

/* Starts the writer thread on st (borrowed; outlives the writer). Purges
 * once right away. metrics may be NULL. *out is the caller's, ended with
 * hl_writer_stop() and hl_writer_free(). */
int hl_writer_start(struct hl_store *st, const struct hl_writer_config *cfg,
    hl_writer_wake_fn wake, void *wake_arg, struct hl_metrics *metrics,
    struct hl_writer **out, char *cause);

/* Queues w. 0, or HL_ESTOPPING once stopping (w is then untouched and its
 * done callback will not run). */
int hl_writer_submit(struct hl_writer *wr, struct hl_write *w);

/* Refuses new writes (submit returns HL_ESTOPPING from now on), commits
 * and completes every pending one, and joins the thread. */
void hl_writer_stop(struct hl_writer *wr);

/* Frees the writer, stopping it first if needed. NULL is fine. */
void hl_writer_free(struct hl_writer *wr);

#endif
