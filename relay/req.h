/*
 * req: the contract between the HTTP transport (http.c: libmicrohttpd
 * callbacks, bodies, authentication, suspending and resuming) and the
 * routes (api.c: what each endpoint does), and the state both share with
 * server.c. Not used elsewhere.
 *
 * A request lives from the first call of the access handler to the
 * request-completed callback, which frees it. While it waits for the
 * writer or for a long-poll its connection is suspended, and exactly one
 * other thread (the writer, or whoever wakes the waiter) owns the right to
 * resume it; that thread touches the request only before resuming.
 */
#ifndef HL_RELAY_REQ_H
#define HL_RELAY_REQ_H

#include "relay/config.h"
#include "relay/log.h"
#include "relay/secret.h"
#include "relay/request.h"
#include "relay/store.h"
#include "relay/waiters.h"
#include "relay/writer.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

struct hl_guard;
struct hl_metrics;
struct hl_ratelimit;
struct hl_tally;

struct hl_server {
	const struct hl_relay_config *cfg;
	struct hl_store *store;
	struct hl_writer *writer;
	struct hl_waiters *waiters;
	struct hl_ratelimit *message_rate;     /* per account */
	struct hl_ratelimit *register_rate;    /* failed registrations, per
	                                          client address prefix */
	struct hl_ratelimit *profile_rate;     /* per account */
	struct hl_tally *fetches;              /* in progress, per account */
	struct hl_guard *guard;                /* connections before a request */
	struct hl_log_budget httpd_log;        /* libmicrohttpd's messages */
	struct hl_metrics *metrics;
	struct hl_tls *tls;                    /* NULL without TLS */
	struct hl_request_limits parse_limits;
	struct MHD_Daemon *daemon;
	struct MHD_Daemon *metrics_daemon;     /* metrics_listen, or NULL */
	int metrics_fd;
	int listen_fd;
	atomic_int stopping;
	uint8_t address_key[crypto_shorthash_KEYBYTES];

	pthread_mutex_t lock;                  /* guards inflight */
	pthread_cond_t idle;
	unsigned inflight;                     /* requests not yet completed */
};

/* What the relay keeps per connection, as MHD's socket context, from its
 * accept to its close. */
struct hl_conn {
	struct hl_guard_conn *guard;   /* NULL when the guard refused it */
	int bad_url;                   /* the request being read had a control
	                                  character in its path or query */
};

struct hl_req;

enum hl_auth {
	HL_AUTH_NONE,
	HL_AUTH_TOKEN,
};

enum hl_body {
	HL_BODY_NONE,
	HL_BODY_JSON,          /* capped at max_body_bytes */
	HL_BODY_MESSAGE,       /* capped for a max_message_bytes ciphertext */
};

struct hl_route {
	const char *method;
	const char *path;      /* a trailing "{handle}" is the one parameter */
	enum hl_auth auth;
	enum hl_body body;
	const char *const *query;              /* allowed parameters, or NULL */
	/* Before the body is read (rate limits): MHD_YES to go on, or the
	 * result of a hl_reply_*() that refused. NULL: nothing to check. */
	enum MHD_Result (*admit)(struct hl_req *r);
	/* The body is complete: reply, or hand off with hl_req_write() or
	 * hl_req_park(). */
	enum MHD_Result (*start)(struct hl_req *r);
	/* The write completed or the long-poll woke: reply. */
	enum MHD_Result (*finish)(struct hl_req *r);
};

extern const struct hl_route hl_routes[];
extern const size_t hl_nroutes;

enum hl_req_phase {
	HL_REQ_HEADERS,        /* first call: headers only */
	HL_REQ_BODY,           /* reading the body */
	HL_REQ_WRITING,        /* suspended: the writer has the write */
	HL_REQ_WRITTEN,        /* resumed by the writer */
	HL_REQ_WAITING,        /* suspended: parked as a long-poll */
	HL_REQ_WOKEN,          /* resumed by a commit, the timer or shutdown */
	HL_REQ_ANSWERED,
};

struct hl_req {
	struct hl_server *srv;
	struct MHD_Connection *conn;
	const struct hl_route *route;
	size_t metrics_route;
	const char *method;                    /* for the log; static strings */
	const char *route_label;               /* path template for the log */
	char arg[HL_HANDLE_MAX + 1];           /* the {handle} parameter */
	struct hl_store_account account;             /* when route->auth */
	uint8_t token_hash[HL_SECRET_HASH];    /* its token's; wiped */
	int marking;                           /* recording its first use */

	char *body;                            /* wiped and freed at the end */
	size_t body_len, body_cap, body_limit;
	size_t body_expected;                  /* Content-Length, 0 if none */
	size_t body_seen;                      /* bytes received, kept or not */
	int body_too_large;

	_Atomic int phase;                     /* enum hl_req_phase */
	struct hl_write write;
	struct hl_waiter waiter;
	int64_t *park_deadline;                /* hl_req_park()'s deadline */
	int client_gone;                       /* woken because it left */

	/* route data, released by the route's clear() at the end */
	union {
		struct hl_store_registration reg;
		struct hl_store_keys keys;
		struct hl_store_profile profile;
		struct {
			struct hl_request_message in;
			struct hl_store_envelope env;
		} msg;
		struct {
			int64_t *qids;
			size_t n;
		} ack;
		struct {
			int64_t limit;
			int64_t deadline_ms;   /* hl_mono_ms(); 0: no wait */
			int counted;           /* holds a place in fetches */
		} fetch;
	} u;
	void (*clear)(struct hl_req *r);
	char token[HL_SECRET_TOKEN_HEX + 1];          /* registration; wiped */

	/* extra response headers for the next reply */
	int64_t retry_after_s;                 /* Retry-After when > 0 */
	const char *allow;                     /* Allow (405) */
	int challenge;                         /* WWW-Authenticate (401) */

	int64_t t0_us;
	unsigned status;
	const char *error;                     /* error code for the log */
};

/* --- replies (take ownership of what they are given) --- */

/* body is consumed. */
enum MHD_Result hl_reply_json(struct hl_req *r, unsigned status, json_t *body);

/* text (NUL-terminated, malloc'd) is consumed and wiped when sent. */
enum MHD_Result hl_reply_text(struct hl_req *r, unsigned status, char *text,
    const char *content_type);

/* The documented error for rc (HL_E...), with cause as its message. */
enum MHD_Result hl_reply_fail(struct hl_req *r, int rc, const char *cause,
    int64_t retry_after_s);

/* An error with an explicit status and code. */
enum MHD_Result hl_reply_error(struct hl_req *r, unsigned status,
    const char *code, const char *message, int64_t retry_after_s);

/* --- hand-offs --- */

/* Suspends the request and gives r->write (filled by the route) to the
 * writer; route->finish runs when it is done. */
enum MHD_Result hl_req_write(struct hl_req *r);

/* Suspends the request as a long-poll for r->account until something is
 * queued for it or deadline_ms (hl_mono_ms()) passes; seq comes from
 * hl_waiters_seq() read before the queue was found empty. route->finish
 * runs when it wakes; it may park again until the deadline. When the
 * table cannot take the request (out of memory, shutdown), it wakes at
 * once with its deadline set to 0, so that it answers. */
enum MHD_Result hl_req_park(struct hl_req *r, int64_t *deadline_ms,
    uint64_t seq);

/* A query parameter, NULL when absent (parameters without a value were
 * refused before the route ran). */
const char *hl_req_query(struct hl_req *r, const char *name);

/* --- callbacks for server.c --- */

enum MHD_Result hl_http_access(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls);

void hl_http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe);

/* MHD's URL decoding (MHD_OPTION_UNESCAPE_CALLBACK): MHD's own, which
 * also notes on the connection when the result holds a control character
 * (a %00 would otherwise cut the string short and be let through). */
size_t hl_http_unescape(void *cls, struct MHD_Connection *conn, char *s);

/* MHD's messages: its format and arguments, passed on. */
void hl_http_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* The index metrics use for requests that match no route. */
size_t hl_http_other_route(void);

#endif
