/*
 * http: the libmicrohttpd side of a request. Finds the route, enforces the
 * limits that need no work (body size from Content-Length, query
 * parameters), authenticates, runs the route's admission check, reads the
 * body raw with a hard cap, and suspends and resumes connections for the
 * writer and for long-polls. Logs and counts every request when it ends.
 */
#include "relay/req.h"

#include "crypto/hl_err.h"
#include "crypto/hl_handle.h"
#include "crypto/hl_time.h"
#include "relay/guard.h"
#include "relay/log.h"
#include "relay/metrics.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Past its limit a chunked body is still read (to answer 413), but only
 * this much more before the connection is dropped. */
#define DISCARD_MAX (1 << 20)
#define RETRY_UNAVAILABLE_S 5
#define RETRY_QUEUE_FULL_S 60
#define RETRY_DISK_FULL_S 30

static int64_t
mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

size_t
hl_http_other_route(void)
{
	return hl_nroutes;
}

/* --- replies --- */

static void
wipe_free(void *p)
{
	if (p != NULL) {
		sodium_memzero(p, strlen(p));
		free(p);
	}
}

static void
add_header(struct MHD_Response *resp, const char *name, const char *value)
{
	/* Only fails on bad input or memory; the reply goes out without it. */
	if (MHD_add_response_header(resp, name, value) != MHD_YES)
		hl_log(HL_LOG_WARN, "response", "header=%s error=not_added",
		    name);
}

enum MHD_Result
hl_reply_text(struct hl_req *r, unsigned status, char *text,
    const char *content_type)
{
	struct MHD_Response *resp;
	resp = MHD_create_response_from_buffer_with_free_callback(strlen(text),
	    text, wipe_free);
	if (resp == NULL) {
		wipe_free(text);
		atomic_store(&r->phase, HL_REQ_ANSWERED);
		return MHD_NO;
	}
	add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	add_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	add_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->retry_after_s > 0) {
		char v[32];
		snprintf(v, sizeof v, "%lld", (long long)r->retry_after_s);
		add_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
	}
	if (r->allow != NULL)
		add_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->challenge)
		add_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"hotline\"");
	r->status = status;
	atomic_store(&r->phase, HL_REQ_ANSWERED);
	enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The JSON text of j in a buffer from malloc() (jansson's own allocator
 * may be a different one), or NULL. */
static char *
dump_json(const json_t *j)
{
	if (j == NULL)
		return NULL;
	size_t n = json_dumpb(j, NULL, 0, JSON_COMPACT);
	if (n == 0)
		return NULL;
	char *text = malloc(n + 1);
	if (text == NULL)
		return NULL;
	if (json_dumpb(j, text, n, JSON_COMPACT) != n) {
		free(text);
		return NULL;
	}
	text[n] = '\0';
	return text;
}

enum MHD_Result
hl_reply_json(struct hl_req *r, unsigned status, json_t *body)
{
	char *text = dump_json(body);
	json_decref(body);
	if (text == NULL)
		return hl_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable", "out of memory", RETRY_UNAVAILABLE_S);
	return hl_reply_text(r, status, text, "application/json");
}

enum MHD_Result
hl_reply_error(struct hl_req *r, unsigned status, const char *code,
    const char *message, int64_t retry_after_s)
{
	json_t *body = json_pack("{s:{s:s,s:s}}", "error", "code", code,
	    "message", message);
	if (body == NULL)
		body = json_pack("{s:{s:s,s:s}}", "error", "code", code,
		    "message", "request refused");
	char *text = dump_json(body);
	json_decref(body);
	if (text == NULL) {
		static const char oom[] =
		    "{\"error\":{\"code\":\"unavailable\",\"message\":\"out of "
		    "memory\"}}";
		text = malloc(sizeof oom);
		if (text == NULL)
			return MHD_NO;
		memcpy(text, oom, sizeof oom);
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
		code = "unavailable";
	}
	r->error = code;
	r->retry_after_s = retry_after_s;
	return hl_reply_text(r, status, text, "application/json");
}

enum MHD_Result
hl_reply_fail(struct hl_req *r, int rc, const char *cause,
    int64_t retry_after_s)
{
	const char *msg = (cause != NULL && cause[0] != '\0') ? cause :
	    hl_strerror(rc);
	switch (rc) {
	case HL_EPARSE:
	case HL_EINVAL:
	case HL_EEXIST:
		return hl_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		    msg, 0);
	case HL_EAUTH:
		r->challenge = 1;
		return hl_reply_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized",
		    "missing, malformed, unknown or revoked token", 0);
	case HL_ECODE:
		return hl_reply_error(r, MHD_HTTP_FORBIDDEN, "invalid_code",
		    "the enrollment code is wrong, used, expired or for "
		    "another handle", 0);
	case HL_ENOTFOUND:
		return hl_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", msg,
		    0);
	case HL_ERECIPIENT:
		return hl_reply_error(r, MHD_HTTP_NOT_FOUND,
		    "unknown_recipient", msg, 0);
	case HL_ETAKEN:
		return hl_reply_error(r, MHD_HTTP_CONFLICT, "handle_taken", msg,
		    0);
	case HL_ECONFLICT:
		return hl_reply_error(r, MHD_HTTP_CONFLICT, "id_conflict", msg,
		    0);
	case HL_ETOOBIG:
		return hl_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE,
		    "too_large", msg, 0);
	case HL_ERATE:
		return hl_reply_error(r, MHD_HTTP_TOO_MANY_REQUESTS,
		    "rate_limited", msg, retry_after_s > 0 ? retry_after_s : 1);
	case HL_EQUEUEFULL:
		return hl_reply_error(r, MHD_HTTP_TOO_MANY_REQUESTS,
		    "queue_full", msg, RETRY_QUEUE_FULL_S);
	case HL_EDISKFULL:
		/* Logged once by the writer when it happens, not per
		 * request. */
		return hl_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable", "the relay's disk is full; acks are still "
		    "taken; retry later", RETRY_DISK_FULL_S);
	case HL_EDB:
	case HL_EBUSY:
	case HL_EIO:
	case HL_ENOMEM:
	case HL_ESTOPPING: {
		char q[HL_LOG_VALUE_MAX];
		if (rc != HL_ESTOPPING)
			hl_log(HL_LOG_ERROR, "store", "error=%s",
			    hl_log_quote(msg, q));
		return hl_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable",
		    rc == HL_ESTOPPING ? "the relay is shutting down; retry" :
		    "the relay cannot do this now; retry", RETRY_UNAVAILABLE_S);
	}
	default: {
		char q[HL_LOG_VALUE_MAX];
		hl_log(HL_LOG_ERROR, "internal", "code=%d error=%s", rc,
		    hl_log_quote(msg, q));
		return hl_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal", "internal error", 0);
	}
	}
}

/* --- hand-offs --- */

static void
write_done(struct hl_write *w, void *arg)
{
	(void)w;
	struct hl_req *r = arg;
	atomic_store(&r->phase, HL_REQ_WRITTEN);
	/* The last touch: once resumed, the request may finish and be freed
	 * on an HTTP thread at any moment. */
	MHD_resume_connection(r->conn);
}

enum MHD_Result
hl_req_write(struct hl_req *r)
{
	r->write.done = write_done;
	r->write.arg = r;
	atomic_store(&r->phase, HL_REQ_WRITING);
	/* Suspend before the writer can see the write, so its resume always
	 * finds a suspended connection. */
	MHD_suspend_connection(r->conn);
	if (hl_writer_submit(r->srv->writer, &r->write) != 0) {
		r->write.rc = HL_ESTOPPING;
		r->write.cause[0] = '\0';
		atomic_store(&r->phase, HL_REQ_WRITTEN);
		MHD_resume_connection(r->conn);
	}
	return MHD_YES;
}

static void
waiter_wake(struct hl_waiter *w)
{
	struct hl_req *r = (struct hl_req *)((char *)w -
	    offsetof(struct hl_req, waiter));
	atomic_store(&r->phase, HL_REQ_WOKEN);
	MHD_resume_connection(r->conn);
}

static struct hl_conn *conn_of(struct MHD_Connection *conn);

/* The guard saw the client of a parked request close or reset its
 * connection: wake the request at once, so that it answers (into the
 * void), ends and gives back its place among the account's fetches and
 * its address's connections, instead of holding them for its whole wait.
 * 0 while the request is not parked (not yet, or woken already). */
static int
parked_gone(void *arg)
{
	struct hl_req *r = arg;
	if (!hl_waiters_cancel(r->srv->waiters, &r->waiter))
		return 0;
	r->client_gone = 1;
	*r->park_deadline = 0;
	waiter_wake(&r->waiter);
	return 1;
}

enum MHD_Result
hl_req_park(struct hl_req *r, int64_t *deadline_ms, uint64_t seq)
{
	r->waiter.account = r->account.id;
	r->waiter.deadline_ms = *deadline_ms;
	r->waiter.wake = waiter_wake;
	r->park_deadline = deadline_ms;
	/* MHD does not look at a suspended connection: the guard watches
	 * it. Before suspending, while nobody else can end the request. */
	struct hl_conn *hc = conn_of(r->conn);
	if (hc != NULL)
		hl_guard_watch(r->srv->guard, hc->guard, parked_gone, r);
	atomic_store(&r->phase, HL_REQ_WAITING);
	MHD_suspend_connection(r->conn);
	int rc = hl_waiters_add(r->srv->waiters, &r->waiter, seq);
	if (rc != 0) {
		/* Something was queued for the bucket meanwhile: look again
		 * at once. Stopping or out of memory: answer. */
		if (rc != HL_ESTATE)
			*deadline_ms = 0;
		atomic_store(&r->phase, HL_REQ_WOKEN);
		MHD_resume_connection(r->conn);
	}
	return MHD_YES;
}

const char *
hl_req_query(struct hl_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    name);
}

/* --- the first call: route, limits, authentication --- */

static struct hl_conn *
conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

size_t
hl_http_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	size_t n = MHD_http_unescape(s);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f) {
			struct hl_conn *c = conn_of(conn);
			if (c != NULL)
				c->bad_url = 1;
			break;
		}
	}
	return n;
}

static const char *
known_method(const char *m)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "DELETE",
	    "HEAD", "OPTIONS", "PATCH" };
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strcmp(m, methods[i]) == 0)
			return methods[i];
	return "OTHER";
}

/* Does url match the route's path? A trailing "{handle}" takes one
 * non-empty segment into arg (up to HL_HANDLE_MAX + 1 bytes; longer ones
 * are cut and fail validation later). */
static int
path_match(const char *tpl, const char *url, char *arg, int *arg_too_long)
{
	const char *brace = strchr(tpl, '{');
	if (brace == NULL)
		return strcmp(tpl, url) == 0;
	size_t n = (size_t)(brace - tpl);
	if (strncmp(tpl, url, n) != 0)
		return 0;
	const char *seg = url + n;
	size_t len = strlen(seg);
	if (len == 0 || strchr(seg, '/') != NULL)
		return 0;
	*arg_too_long = len > HL_HANDLE_MAX;
	if (len > HL_HANDLE_MAX)
		len = HL_HANDLE_MAX;
	memcpy(arg, seg, len);
	arg[len] = '\0';
	return 1;
}

struct query_check {
	const char *const *allowed;
	const char *bad;
	int duplicate;
	int no_value;
	char seen[8];
};

static enum MHD_Result
check_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	(void)kind;
	struct query_check *qc = cls;
	size_t i = 0;
	if (qc->allowed != NULL)
		for (; qc->allowed[i] != NULL; i++)
			if (strcmp(qc->allowed[i], key) == 0)
				break;
	if (qc->allowed == NULL || qc->allowed[i] == NULL) {
		qc->bad = key;
		return MHD_NO;
	}
	if (i < sizeof qc->seen && qc->seen[i]) {
		qc->bad = key;
		qc->duplicate = 1;
		return MHD_NO;
	}
	if (i < sizeof qc->seen)
		qc->seen[i] = 1;
	/* "?wait" without "=" is not "?wait=" and not an absent wait. */
	if (value == NULL) {
		qc->bad = key;
		qc->no_value = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

static size_t
body_limit(const struct hl_req *r)
{
	const struct hl_relay_config *cfg = r->srv->cfg;
	switch (r->route->body) {
	case HL_BODY_JSON:
		return (size_t)cfg->max_body_bytes;
	case HL_BODY_MESSAGE:
		/* The base64 of the largest ciphertext and room for the
		 * other fields. */
		return 4 * (((size_t)cfg->max_message_bytes + 2) / 3) + 1024;
	case HL_BODY_NONE:
		break;
	}
	return 0;
}

static int
parse_length(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (s == NULL || *s == '\0' || strlen(s) > 19)
		return -1;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

static enum MHD_Result
begin(struct hl_req *r, const char *url, const char *method)
{
	struct hl_server *srv = r->srv;
	int arg_too_long = 0;
	int path_found = 0;
	char allow[64] = "";
	struct hl_conn *hc = conn_of(r->conn);
	if (hc != NULL && hc->bad_url) {
		hc->bad_url = 0;
		return hl_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "path or query: control characters (%00 to %1F, %7F) are "
		    "not allowed", 0);
	}
	for (size_t i = 0; i < hl_nroutes; i++) {
		const struct hl_route *rt = &hl_routes[i];
		if (!path_match(rt->path, url, r->arg, &arg_too_long))
			continue;
		if (!path_found)
			r->route_label = rt->path;
		path_found = 1;
		if (strcmp(rt->method, method) == 0) {
			r->route = rt;
			r->metrics_route = i;
			break;
		}
		size_t used = strlen(allow);
		snprintf(allow + used, sizeof allow - used, "%s%s",
		    used ? ", " : "", rt->method);
	}
	if (r->route == NULL) {
		if (!path_found) {
			r->metrics_route = hl_http_other_route();
			return hl_reply_error(r, MHD_HTTP_NOT_FOUND,
			    "not_found", "no such route", 0);
		}
		/* A 405 is counted as "other": the route's label is for its
		 * own method. */
		r->metrics_route = hl_http_other_route();
		r->allow = allow;
		enum MHD_Result ret = hl_reply_error(r,
		    MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method_not_allowed", "this path takes another method", 0);
		r->allow = NULL;
		return ret;
	}
	const struct hl_route *rt = r->route;
	if (strchr(rt->path, '{') != NULL &&
	    (arg_too_long || !hl_handle_valid(r->arg)))
		return hl_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "handle: not a handle ([a-z0-9][a-z0-9.-]{1,62})", 0);

	struct query_check qc;
	memset(&qc, 0, sizeof qc);
	qc.allowed = rt->query;
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND,
	    check_query_arg, &qc);
	if (qc.bad != NULL) {
		char msg[128];
		int printable = hl_request_text_ok(qc.bad, strlen(qc.bad));
		if (qc.no_value)
			snprintf(msg, sizeof msg,
			    "query parameter '%.16s' without a value "
			    "(expected %.16s=VALUE)", qc.bad, qc.bad);
		else
			snprintf(msg, sizeof msg, "%s query parameter '%.40s'",
			    qc.duplicate ? "repeated" : "unknown",
			    printable ? qc.bad : "?");
		return hl_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		    msg, 0);
	}

	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING);
	/* Both framings at once is how a request is smuggled past a proxy
	 * that reads the other one: refused, and the connection closes with
	 * the body unread, so nothing after it is taken for a request. */
	if (cl != NULL && te != NULL)
		return hl_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "Content-Length and Transfer-Encoding together: send one", 0);
	uint64_t length = 0;
	if (cl != NULL && parse_length(cl, &length) != 0)
		return hl_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "Content-Length: expected a decimal number", 0);
	r->body_limit = body_limit(r);
	if (rt->body == HL_BODY_NONE) {
		if (length > 0 || te != NULL)
			return hl_reply_error(r, MHD_HTTP_BAD_REQUEST,
			    "bad_request", "this request takes no body", 0);
	} else if (length > r->body_limit) {
		char msg[96];
		snprintf(msg, sizeof msg, "body: more than %zu bytes",
		    r->body_limit);
		return hl_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE,
		    "too_large", msg, 0);
	}

	if (rt->auth == HL_AUTH_TOKEN) {
		const char *h = MHD_lookup_connection_value(r->conn,
		    MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
		uint8_t hash[HL_SECRET_HASH];
		int rc = hl_secret_token_parse(h, hash);
		if (rc == 0)
			rc = srv->store->ops->authenticate(srv->store, hash,
			    &r->account);
		/* Kept for recording a first use, which must still find this
		 * token in place. */
		if (rc == 0)
			memcpy(r->token_hash, hash, sizeof hash);
		sodium_memzero(hash, sizeof hash);
		if (rc != 0)
			return hl_reply_fail(r, rc, NULL, 0);
	}
	if (rt->admit != NULL) {
		enum MHD_Result ret = rt->admit(r);
		if (atomic_load(&r->phase) == HL_REQ_ANSWERED)
			return ret;
	}

	/* The buffer grows as the body arrives: headers alone never make
	 * the relay allocate a body's worth. */
	r->body_expected = (size_t)length;
	atomic_store(&r->phase, HL_REQ_BODY);
	return MHD_YES;
}

static void
drop_body(struct hl_req *r)
{
	if (r->body != NULL) {
		sodium_memzero(r->body, r->body_cap);
		free(r->body);
	}
	r->body = NULL;
	r->body_len = r->body_cap = 0;
}

/* Keeps a chunk of the body; past the limit the body is discarded and the
 * request will end with 413. Returns MHD_NO to drop the connection. */
static enum MHD_Result
take_body(struct hl_req *r, const char *data, size_t n)
{
	if (r->route == NULL || r->route->body == HL_BODY_NONE) {
		/* Cannot happen: such requests were answered at once. */
		return MHD_NO;
	}
	r->body_seen += n;
	if (r->body_too_large || r->body_seen > r->body_limit) {
		r->body_too_large = 1;
		drop_body(r);
		return r->body_seen > r->body_limit + DISCARD_MAX ? MHD_NO :
		    MHD_YES;
	}
	if (r->body_len + n + 1 > r->body_cap) {
		/* Double, up to the limit, or to the announced length. */
		size_t ceiling = r->body_limit + 1;
		if (r->body_expected > 0 && r->body_expected < r->body_limit)
			ceiling = r->body_expected + 1;
		size_t cap = r->body_cap ? r->body_cap : 4096;
		while (cap < r->body_len + n + 1)
			cap *= 2;
		if (cap > ceiling)
			cap = ceiling;
		if (cap < r->body_len + n + 1)
			cap = r->body_len + n + 1;
		char *p = malloc(cap);
		if (p == NULL)
			return MHD_NO;
		size_t keep = r->body_len;
		if (keep > 0)
			memcpy(p, r->body, keep);
		drop_body(r);
		r->body = p;
		r->body_cap = cap;
		r->body_len = keep;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return MHD_YES;
}

/* The account's first authenticated request: record that before the
 * request does anything, through the writer, so that from then on a
 * retried registration can no longer replace its token (store.h). */
static enum MHD_Result
mark_used(struct hl_req *r)
{
	r->account.first_use = 0;
	r->marking = 1;
	r->write.kind = HL_WRITE_MARK_USED;
	r->write.account = r->account.id;
	r->write.token_hash = r->token_hash;
	return hl_req_write(r);
}

enum MHD_Result
hl_http_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct hl_server *srv = cls;
	struct hl_req *r = *con_cls;
	if (r == NULL) {
		/* The request head is complete: its connection no longer
		 * runs against header_timeout. */
		struct hl_conn *hc = conn_of(conn);
		if (hc != NULL)
			hl_guard_head(srv->guard, hc->guard, hl_mono_ms());
		r = calloc(1, sizeof *r);
		if (r == NULL)
			return MHD_NO;
		r->srv = srv;
		r->conn = conn;
		r->t0_us = mono_us();
		r->method = known_method(method);
		r->metrics_route = hl_http_other_route();
		atomic_init(&r->phase, HL_REQ_HEADERS);
		*con_cls = r;
		pthread_mutex_lock(&srv->lock);
		srv->inflight++;
		pthread_mutex_unlock(&srv->lock);
		return begin(r, url, method);
	}
	if (*upload_data_size != 0) {
		enum MHD_Result ret = take_body(r, upload_data,
		    *upload_data_size);
		*upload_data_size = 0;
		return ret;
	}
	switch (atomic_load(&r->phase)) {
	case HL_REQ_HEADERS:
	case HL_REQ_BODY: {
		struct hl_conn *hc = conn_of(conn);
		if (hc != NULL)
			hl_guard_body_done(srv->guard, hc->guard);
		if (r->body_too_large) {
			char msg[96];
			snprintf(msg, sizeof msg, "body: more than %zu bytes",
			    r->body_limit);
			return hl_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE,
			    "too_large", msg, 0);
		}
		/* Routes always get a buffer, empty for an empty body. */
		if (r->body == NULL) {
			r->body = calloc(1, 1);
			if (r->body == NULL)
				return MHD_NO;
			r->body_cap = 1;
		}
		if (r->account.first_use)
			return mark_used(r);
		return r->route->start(r);
	}
	case HL_REQ_WRITTEN:
		if (r->marking) {
			r->marking = 0;
			if (r->write.rc != 0)
				return hl_reply_fail(r, r->write.rc,
				    r->write.cause, 0);
			return r->route->start(r);
		}
		return r->route->finish(r);
	case HL_REQ_WOKEN:
		return r->route->finish(r);
	default:
		/* Suspended or answered: nothing to do until resumed. */
		return MHD_YES;
	}
}

static const char *
termination(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:
		return NULL;
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		return "timeout";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		return "shutdown";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
	case MHD_REQUEST_TERMINATED_READ_ERROR:
		return "client_abort";
	default:
		return "error";
	}
}

void
hl_http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct hl_server *srv = cls;
	struct hl_req *r = *con_cls;
	if (r == NULL)
		return;
	*con_cls = NULL;
	/* First, so that the guard's thread no longer reaches r. */
	struct hl_conn *hc = conn_of(conn);
	if (hc != NULL)
		hl_guard_unwatch(srv->guard, hc->guard);
	int phase = atomic_load(&r->phase);
	if (phase == HL_REQ_WRITING ||
	    (phase == HL_REQ_WAITING &&
	    !hl_waiters_cancel(srv->waiters, &r->waiter))) {
		/* Another thread still holds this request and will resume it;
		 * freeing it now would hand that thread freed memory. The
		 * shutdown order makes this unreachable; if it ever happens,
		 * leaking is the safe answer. */
		hl_log(HL_LOG_ERROR, "request",
		    "phase=%d error=completed_while_held", phase);
		return;
	}
	double seconds = (double)(mono_us() - r->t0_us) / 1e6;
	const char *end = r->client_gone ? "client_gone" : termination(toe);
	const char *route = r->route_label ? r->route_label : "other";
	hl_log(HL_LOG_INFO, "request",
	    "method=%s route=%s status=%u ms=%.1f%s%s%s%s", r->method, route,
	    r->status, seconds * 1000, r->error ? " error=" : "",
	    r->error ? r->error : "", end ? " end=" : "", end ? end : "");
	hl_metrics_request(srv->metrics, r->metrics_route, r->status, seconds);
	hl_metrics_refused(srv->metrics, r->error);
	if (r->clear != NULL)
		r->clear(r);
	drop_body(r);
	sodium_memzero(r->token, sizeof r->token);
	sodium_memzero(r->token_hash, sizeof r->token_hash);
	free(r);
	/* A kept-alive connection now waits for its next request head. */
	if (hc != NULL) {
		hc->bad_url = 0;
		hl_guard_idle(srv->guard, hc->guard, hl_mono_ms());
	}
	pthread_mutex_lock(&srv->lock);
	srv->inflight--;
	if (srv->inflight == 0)
		pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
}

void
hl_http_log(void *cls, const char *fmt, va_list ap)
{
	struct hl_server *srv = cls;
	char msg[512];
	char q[HL_LOG_VALUE_MAX];
	uint64_t dropped = 0;
	int ok = hl_log_budget_take(&srv->httpd_log, hl_mono_ms(), &dropped);
	if (dropped > 0)
		hl_log(HL_LOG_WARN, "httpd", "suppressed=%llu",
		    (unsigned long long)dropped);
	if (!ok)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	hl_log(HL_LOG_WARN, "httpd", "message=%s", hl_log_quote(msg, q));
}
