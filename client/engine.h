/*
 * engine: the client's messaging machinery, shared by the CLI and the TUI.
 *
 * It owns the outbox (queue, session setup from bundles, encrypt-and-store
 * in one transaction, send, retry with backoff and jitter, per-contact
 * order), the inbox (fetch, decrypt-and-store in one transaction, dedupe,
 * receipts, sequence gaps, held messages under changed keys, then ack the
 * relay), and the timers (ack deadlines, escalation, prekey refill). It is
 * driven by the caller's poll() loop through hl_engine_pollfds and
 * hl_engine_dispatch; it never sleeps and never prints: what happens is
 * reported through the event callback.
 */
#ifndef HL_ENGINE_H
#define HL_ENGINE_H

#include <poll.h>
#include <stdint.h>

#include "client/api.h"
#include "client/store.h"
#include "crypto/hl_content.h"

struct hl_engine;
struct hl_crypto;

enum hl_event_kind {
	HL_EV_RECEIVED,    /* msg: a new inbound message was stored */
	HL_EV_STATE,       /* msg: an outbound message changed state */
	HL_EV_ESCALATED,   /* msg: the overdue original; peer: the alternate */
	HL_EV_GAP,         /* peer, n: n messages missing from peer */
	HL_EV_GAP_CLOSED,  /* peer, n: the missing seq n arrived */
	HL_EV_KEY_CHANGED, /* peer: a new identity key, waiting for trust */
	HL_EV_HELD,        /* peer, text: an item kept unread (why) */
	HL_EV_SKEW,        /* n: local clock minus relay clock, ms */
	HL_EV_RELAY,       /* n: 1 reachable, 0 not; text: why not */
	HL_EV_PREKEYS,     /* n: one-time prekeys uploaded */
	HL_EV_AUTH,        /* text: the relay refused our token */
	HL_EV_NOT_ESCALATED, /* msg: overdue, but no alternate to trust; text: why */
	HL_EV_FETCH_FAILED, /* n: the HTTP status of a refused fetch (not 401,
	                     * which is HL_EV_AUTH); text: what the relay said;
	                     * at_ms: when the next fetch is due */
};

struct hl_event {
	enum hl_event_kind kind;
	const struct hl_msg *msg;   /* borrowed, valid during the callback */
	const char *peer;
	int64_t n;
	const char *text;
	int64_t at_ms;              /* HL_EV_FETCH_FAILED: wall clock ms */
};

typedef void (*hl_event_fn)(const struct hl_event *ev, void *arg);

/* An alternate named by the officer (client.ini [alternates]). */
struct hl_alternate {
	char handle[HL_HANDLE_MAX + 1];
	char alternate[HL_HANDLE_MAX + 1];
};

struct hl_engine_opts {
	struct hl_crypto *crypto;   /* borrowed; outlives the engine */
	/* Send overdue messages on to the contact's alternate: one named in
	 * alternates, else the directory's when its key is verified (the
	 * directory comes from the relay, which must not be able to steer a
	 * message to an account of its choosing). */
	int auto_escalate;
	const struct hl_alternate *alternates;   /* borrowed, may be NULL */
	size_t n_alternates;
	long connect_timeout_ms;    /* 0: 10 s */
	hl_event_fn on_event;       /* may be NULL */
	void *arg;
};

/* What to send. Strings are borrowed for the call. */
struct hl_send_req {
	const char *to;
	enum hl_kind kind;           /* text, check or incident (receipts and
	                              * acks are made by the engine) */
	enum hl_prio prio;
	int64_t ack_within_ms;       /* 0: no deadline */
	const char *thread;          /* NULL or "" for none */
	const char *body;
	const struct hl_incident *incident;   /* for incidents */
};

/* Reads the account (HL_ESTATE when not registered) and prepares the
 * transport. *out is the caller's (hl_engine_free). */
int hl_engine_new(const struct hl_engine_opts *o, struct hl_engine **out,
    char *cause);
void hl_engine_free(struct hl_engine *e);

/* Stores a new message in the outbox (sealed, before any network call) and
 * returns its id. Refused with HL_EUNTRUSTED while the contact's key change
 * waits for trust, HL_EINVAL for a bad request (cause says what). */
int hl_engine_queue(struct hl_engine *e, const struct hl_send_req *r,
    char id[HL_ID_HEX + 1], char *cause);

/* Acknowledges an inbound message: queues the ack content and moves the
 * message to acknowledged. HL_ESTATE for receipts and acks, or when it was
 * acknowledged already. */
int hl_engine_ack(struct hl_engine *e, const struct hl_msg *m,
    enum hl_response response, const char *note, char *cause);

/* Retries the messages held for peer (after its key was trusted): those
 * that now decrypt become inbound messages. *n_done counts them. */
int hl_engine_release_held(struct hl_engine *e, const char *peer, int *n_done,
    char *cause);

/* Compares a directory entry's identity key with the accepted one; a
 * different key waits as pending, like one seen in a bundle, and blocks
 * sending until trusted. Returns 1 when the key changed (now or before),
 * 0 when not, < 0 on error. */
int hl_engine_note_directory_key(struct hl_crypto *c,
    const struct hl_dir_entry *entry);

/* 1 when a new identity key of peer waits for 'trust' (its messages are
 * shown with the KEY CHANGED warning meanwhile), 0 when not, < 0 on error. */
int hl_engine_key_pending(struct hl_crypto *c, const char *peer);

/* Starts sending what is due now. */
void hl_engine_kick(struct hl_engine *e);

/* Starts a fetch (a long-poll when wait_s > 0) unless one is in flight;
 * while the relay says there is more, fetches again at once. */
void hl_engine_fetch(struct hl_engine *e, int wait_s);

/* Work in flight: requests not answered yet. */
int hl_engine_inflight(const struct hl_engine *e);

/* Fetches completed since the engine started. */
int hl_engine_fetches(const struct hl_engine *e);

/* Whether the last fetch was answered and stored (1) or not (0), and the
 * Retry-After it carried (-1 when none): callers that fetch again and again
 * back off on failure. */
int hl_engine_fetch_ok(const struct hl_engine *e, long *retry_after_s);

/* Fetches answered 2xx and stored since the engine started. */
int hl_engine_fetch_successes(const struct hl_engine *e);

/* After a failed fetch: the wall-clock time (ms) before which the next one
 * should not start (the relay's Retry-After, else a backoff doubling from
 * one second to a minute), and the HTTP status of the last refusal (0 when
 * the relay was not reached). 0 when the last fetch succeeded. */
int64_t hl_engine_fetch_next_ms(const struct hl_engine *e, int *last_status);

/* 1 once the relay answered anything, 0 while unreachable, -1 before any
 * attempt. */
int hl_engine_relay_ok(const struct hl_engine *e);

/* Poll integration: adds the transport's fds (at most max) and lowers
 * *timeout_ms to the next timer (retry or deadline). */
int hl_engine_pollfds(struct hl_engine *e, struct pollfd *fds, int max,
    int *timeout_ms);
/* After poll(): runs transfers and callbacks, then due timers. */
void hl_engine_dispatch(struct hl_engine *e, const struct pollfd *fds, int n);

/* Checks deadlines now: overdue transitions and escalation. */
void hl_engine_check_deadlines(struct hl_engine *e);

#endif
