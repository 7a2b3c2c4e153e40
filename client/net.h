/*
 * net: the client's HTTP transport to its relay, on libcurl's multi
 * interface, driven by the caller's poll() loop.
 *
 * libcurl is held tight: only the relay's scheme (https; http only to a
 * loopback address), no redirects, TLS 1.3 minimum, optional public-key
 * pinning, a cap on every response body, a connect timeout and a total
 * timeout per request. Knows nothing of JSON or of messages.
 */
#ifndef HL_NET_H
#define HL_NET_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/hl_err.h"

/* hl_net_pollfds never has more descriptors to offer than this: libcurl
 * is kept to few enough connections that an array of this size always
 * holds them all. */
#define HL_NET_MAX_FDS 64

struct hl_net;

struct hl_net_opts {
	const char *base_url;     /* "https://relay.example:8443" (no path) */
	const char *pin;          /* "sha256//<base64>" (';'-separated list);
	                           * NULL or "": none; needs https */
	const char *ca_file;      /* PEM bundle to trust; NULL or "": the system
	                           * store. Verification is never turned off: a
	                           * self-signed relay needs its certificate here */
	long connect_timeout_ms;  /* 0: 10000 */
	size_t max_response;      /* 0: 16 MiB */
};

/* One finished request. An HTTP error status is not a failure here: err is
 * 0 whenever an answer came whole, whatever its status. body is
 * NUL-terminated ("" when err != 0), owned by net, valid only during the
 * callback. */
struct hl_net_resp {
	int err;                  /* 0, HL_ENET, HL_ETLS, HL_EPIN, HL_ETIMEOUT,
	                           * HL_ETOOBIG or HL_ENOMEM */
	char cause[HL_CAUSE_MAX]; /* why, when err != 0; libcurl's words */
	int status;               /* HTTP status, 0 when no status line came */
	const char *body;
	size_t len;
	long retry_after_s;       /* Retry-After in seconds (an HTTP-date is
	                           * turned into seconds from now; at most a
	                           * day), -1 when absent */
	int64_t date_ms;          /* the Date header, 0 when absent */
};

typedef void (*hl_net_cb)(const struct hl_net_resp *r, void *arg);

/* Checks the options (scheme, host, pin syntax) and prepares a multi handle.
 * HL_EUSAGE with a cause for a URL that is not https and not plain http to
 * a loopback address (127.0.0.0/8, [::1], localhost), for a URL with a
 * path, user name, query or fragment, for a malformed pin or a pin with
 * http, and for a CA file that cannot be read. *out is the caller's
 * (hl_net_free). Strings in opts are copied. */
int hl_net_new(const struct hl_net_opts *opts, struct hl_net **out,
    char *cause);

/* Cancels what is in flight (callbacks are not called) and frees. NULL ok.
 * Not from inside a callback. */
void hl_net_free(struct hl_net *n);

/* Starts a request: method "GET", "POST" or "PUT"; path begins with '/',
 * is already percent-encoded (printable ASCII, no blanks) and is appended
 * to the base URL; token (Bearer) and body (JSON, sent as
 * application/json; GET takes none) may be NULL. timeout_ms (> 0) bounds
 * the whole exchange (long-polls pass their wait plus a margin). cb runs
 * from hl_net_dispatch, exactly once, unless the request is cancelled; it
 * may start new requests. Strings are copied (token and body are wiped
 * when freed). Returns 0, HL_EINVAL for arguments outside these rules,
 * HL_ENOMEM, or HL_ENET when libcurl refuses the transfer. */
int hl_net_request(struct hl_net *n, const char *method, const char *path,
    const char *token, const char *body, long timeout_ms, hl_net_cb cb,
    void *arg);

/* Requests started and not yet finished. */
int hl_net_pending(const struct hl_net *n);

/* Fills at most max pollfds (HL_NET_MAX_FDS always suffices) with what
 * libcurl waits on, returns how many, and lowers *timeout_ms (a poll()
 * timeout, -1 = none) to libcurl's next deadline. */
int hl_net_pollfds(struct hl_net *n, struct pollfd *fds, int max,
    int *timeout_ms);

/* After poll() returned (or timed out): lets libcurl act on fds (the same
 * array and count as filled; descriptors that are not libcurl's are
 * skipped) and runs the callbacks of finished requests. Not from inside a
 * callback. */
void hl_net_dispatch(struct hl_net *n, const struct pollfd *fds, int nfds);

/* Runs a private poll() loop until no request is pending or deadline_ms
 * (a hl_mono_ms() value, 0 = none: every request has its own timeout)
 * passes. For one-shot commands. Returns 0, HL_ETIMEOUT with requests
 * still pending, HL_EIO when poll() fails, or HL_ENOMEM. Not from inside a
 * callback. */
int hl_net_run(struct hl_net *n, int64_t deadline_ms);

#endif
