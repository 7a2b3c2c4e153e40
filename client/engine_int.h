/*
 * Internal to the engine's files (engine.c, engine_send.c, engine_recv.c).
 */
#ifndef HL_ENGINE_INT_H
#define HL_ENGINE_INT_H

#include "client/engine.h"
#include "client/net.h"
#include "client/store.h"

#define HL_PREKEY_LOW 20          /* refill below this many on the relay */
#define HL_PREKEY_TARGET 100      /* ... up to this many */
#define HL_RETRY_BASE_MS 1000
#define HL_RETRY_CAP_MS 300000    /* five minutes */
#define HL_REQUEST_TIMEOUT_MS 30000
/* The longest long-poll asked for: within the relay's max_wait (60 s by
 * default); callers wanting longer ask again. */
#define HL_FETCH_WAIT_MAX_S 30
#define HL_SIGNED_PREKEY_AGE_MS (7LL * 86400000)
#define HL_SKEW_WARN_MS 120000

/* A small set of handles. */
struct hl_handle_set {
	char (*v)[HL_HANDLE_MAX + 1];
	size_t n, cap;
};

int hl_handle_set_has(const struct hl_handle_set *s, const char *h);
/* Adds or removes h; adding can fail quietly when out of memory. */
void hl_handle_set_put(struct hl_handle_set *s, const char *h, int present);
void hl_handle_set_free(struct hl_handle_set *s);

struct hl_engine {
	struct hl_crypto *c;
	struct hl_net *net;
	struct hl_account acct;
	struct hl_engine_opts o;

	/* Contacts with a send or a bundle fetch in flight: one at a time
	 * per contact keeps their messages in order. */
	struct hl_handle_set busy;
	/* Contacts whose directory entry was looked at by this engine: a
	 * re-enrolled contact shows its new key there before anywhere else. */
	struct hl_handle_set checked;

	int inflight;             /* requests started and not finished */
	int fetching;             /* a fetch is in flight */
	int fetch_wait_s;         /* the wait of the current fetch cycle */
	int fetches;              /* completed fetches */
	int fetch_ok;             /* the last fetch was answered and stored */
	long fetch_retry_after_s; /* its Retry-After, -1 when none */
	int fetch_successes;      /* fetches answered 2xx and stored */
	int64_t fetch_backoff_ms; /* after failures: 0, then 1 s doubling */
	int64_t fetch_next_ms;    /* no fetch before this (wall ms); 0 none */
	int fetch_status;         /* the last failed fetch's HTTP status */
	int fetch_limit;          /* items per fetch asked for; 0: the relay's */
	int keys_inflight;
	/* The store could not record a failed attempt (a full disk): the
	 * message is still due, so nothing is sent before this, or
	 * the outbox would spin on it. Wall ms, like next_timer_ms. */
	int64_t send_hold_until_ms;
	int relay_ok;             /* -1 unknown, 0 unreachable, 1 answered */
	int auth_failed;
	int skew_reported;
	int skew_stored;
	/* Contexts of requests in flight, freed with the engine when their
	 * callbacks never come (the transport cancels without calling). */
	void **ctxs;
	size_t nctxs, capctxs;
	int late_escalation_done;  /* overdue before this run: looked at once */
	int keys_refilled;         /* one prekey refill per run at most */
	int64_t next_timer_ms;    /* hl_now_ms() of the next retry/deadline */
};

/* engine.c */
void hl_engine_keep_ctx(struct hl_engine *e, void *ctx);
void hl_engine_forget_ctx(struct hl_engine *e, void *ctx);
void hl_engine_emit(struct hl_engine *e, enum hl_event_kind kind,
    const struct hl_msg *m, const char *peer, int64_t n, const char *text);
void hl_engine_note_response(struct hl_engine *e, const struct hl_net_resp *r);
void hl_engine_refresh_timer(struct hl_engine *e);
/* Builds and queues a content for peer in the caller's transaction: id,
 * from, sent and seq are filled here; takes ownership of c's strings. */
int hl_engine_queue_content(struct hl_engine *e, const char *peer,
    struct hl_content *c, const char *escalation_of, char *id_out,
    char *cause);
void hl_engine_maybe_refill(struct hl_engine *e, int remaining);

/* The outcome of an HTTP answer. */
enum hl_outcome {
	HL_OUT_OK,        /* 2xx */
	HL_OUT_RETRY,     /* network, 429, 503, 5xx: try again later */
	HL_OUT_FAIL,      /* refused for good: 4xx */
	HL_OUT_AUTH,      /* 401: our token is no good */
};
enum hl_outcome hl_engine_outcome(const struct hl_net_resp *r, char *why,
    size_t whylen);

/* engine_send.c */
void hl_engine_send_due(struct hl_engine *e);

/* engine_recv.c */
void hl_engine_start_fetch(struct hl_engine *e);

#endif
