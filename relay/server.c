#include "relay/server.h"

#include "crypto/hl_err.h"
#include "crypto/hl_time.h"
#include "relay/guard.h"
#include "relay/log.h"
#include "relay/metrics.h"
#include "relay/ratelimit.h"
#include "relay/req.h"
#include "relay/reserve.h"
#include "relay/tally.h"
#include "relay/tls.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 512
#define RATE_KEYS 65536
#define DRAIN_MS 5000
/* libmicrohttpd's messages: at most this many a minute. */
#define HTTPD_LOG_LINES 20
#define HTTPD_LOG_WINDOW_MS 60000
/* metrics_listen is for one monitoring system, not for clients. */
#define METRICS_CONNECTIONS 16
#define METRICS_TIMEOUT_S 10

/* The metrics labels: one per route, then one for everything else. */
struct server_extra {
	struct hl_server srv;
	struct hl_metrics_route *labels;
	struct hl_reserve *reserve;    /* the writer's; NULL: none */
};

static void
wake(int64_t account, void *arg)
{
	hl_waiters_notify(arg, account);
}

/* A commit by another relay process on the same store; 0: anyone's. */
static void
remote_wake(int64_t account, void *arg)
{
	if (account == 0)
		hl_waiters_notify_all(arg);
	else
		hl_waiters_notify(arg, account);
}

/* The guard's thread reports lines of libmicrohttpd that were over budget
 * even when no further line comes. */
static void
tick(void *arg, int64_t now_ms)
{
	struct hl_server *srv = arg;
	uint64_t dropped = hl_log_budget_flush(&srv->httpd_log, now_ms);
	if (dropped > 0)
		hl_log(HL_LOG_WARN, "httpd", "suppressed=%llu",
		    (unsigned long long)dropped);
}

static enum MHD_Result
accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
	(void)len;
	struct hl_server *srv = cls;
	return hl_guard_admit(srv->guard, addr) ? MHD_YES : MHD_NO;
}

static void
notify_connection(void *cls, struct MHD_Connection *conn, void **ctx,
    enum MHD_ConnectionNotificationCode code)
{
	struct hl_server *srv = cls;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct hl_conn *hc = *ctx;
		if (hc != NULL) {
			hl_guard_close(srv->guard, hc->guard);
			free(hc);
		}
		*ctx = NULL;
		return;
	}
	const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *addr = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	*ctx = NULL;
	if (fd == NULL)
		return;
	struct hl_conn *hc = calloc(1, sizeof *hc);
	if (hc == NULL) {
		/* As the guard does when it refuses: MHD reads the end of
		 * the stream and closes the connection. */
		shutdown(fd->connect_fd, SHUT_RDWR);
		return;
	}
	hc->guard = hl_guard_open(srv->guard, fd->connect_fd,
	    addr != NULL ? addr->client_addr : NULL, hl_mono_ms());
	*ctx = hc;
}

static enum MHD_Result metrics_access(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls);

static void
release(struct server_extra *x)
{
	struct hl_server *srv = &x->srv;
	/* Its thread wakes waiters: stopped before they go. */
	if (srv->store != NULL && srv->store->ops->watch != NULL)
		srv->store->ops->watch(srv->store, NULL, NULL, NULL);
	hl_writer_free(srv->writer);
	hl_reserve_free(x->reserve);
	hl_waiters_free(srv->waiters);
	hl_ratelimit_free(srv->message_rate);
	hl_ratelimit_free(srv->register_rate);
	hl_ratelimit_free(srv->profile_rate);
	hl_tally_free(srv->fetches);
	/* After the HTTP server: it has closed every connection. */
	hl_guard_free(srv->guard);
	hl_log_budget_destroy(&srv->httpd_log);
	hl_metrics_free(srv->metrics);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->metrics_fd >= 0)
		close(srv->metrics_fd);
	pthread_cond_destroy(&srv->idle);
	pthread_mutex_destroy(&srv->lock);
	free(x->labels);
	free(x);
}

static struct MHD_OptionItem
option(enum MHD_OPTION which, intptr_t value, const void *ptr)
{
	struct MHD_OptionItem it = { which, value, (void *)(uintptr_t)ptr };
	return it;
}

int
hl_server_start(const struct hl_relay_config *cfg, struct hl_store *store,
    const struct hl_server_options *opt, struct hl_server **out, char *cause)
{
	*out = NULL;
	struct server_extra *x = calloc(1, sizeof *x);
	if (x == NULL) {
		close(opt->listen_fd);
		if (opt->metrics_fd >= 0)
			close(opt->metrics_fd);
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	}
	struct hl_server *srv = &x->srv;
	srv->cfg = cfg;
	srv->store = store;
	srv->listen_fd = opt->listen_fd;
	srv->metrics_fd = opt->metrics_fd;
	srv->tls = opt->tls;
	atomic_init(&srv->stopping, 0);
	randombytes_buf(srv->address_key, sizeof srv->address_key);
	hl_log_budget_init(&srv->httpd_log, HTTPD_LOG_LINES,
	    HTTPD_LOG_WINDOW_MS);
	srv->parse_limits.max_prekeys_per_upload =
	    (size_t)cfg->max_prekeys_per_upload;
	srv->parse_limits.max_message_bytes = (size_t)cfg->max_message_bytes;
	srv->parse_limits.max_fetch = cfg->max_fetch;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->idle, &attr);
	pthread_condattr_destroy(&attr);

	int rc = 0;
	x->labels = calloc(hl_nroutes + 1, sizeof *x->labels);
	if (x->labels == NULL)
		rc = hl_fail(cause, HL_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < hl_nroutes; i++) {
		x->labels[i].method = hl_routes[i].method;
		x->labels[i].route = hl_routes[i].path;
	}
	if (rc == 0) {
		x->labels[hl_nroutes].method = "other";
		x->labels[hl_nroutes].route = "other";
		if (hl_metrics_new(x->labels, hl_nroutes + 1,
		    &srv->metrics) != 0)
			rc = hl_fail(cause, HL_ENOMEM, "out of memory");
	}
	if (rc == 0 && (hl_ratelimit_new(cfg->rate_per_minute, 60000, RATE_KEYS,
	    &srv->message_rate) != 0 ||
	    hl_ratelimit_new(cfg->register_rate_per_hour, 3600000, RATE_KEYS,
	    &srv->register_rate) != 0 ||
	    hl_ratelimit_new(cfg->rate_per_minute, 60000, RATE_KEYS,
	    &srv->profile_rate) != 0 ||
	    hl_tally_new(cfg->max_connections, &srv->fetches) != 0))
		rc = hl_fail(cause, HL_ENOMEM, "out of memory");
	if (rc == 0) {
		struct hl_guard_config gc;
		memset(&gc, 0, sizeof gc);
		gc.max_per_prefix = cfg->max_connections_per_ip;
		gc.max_pending = cfg->max_pending_connections;
		gc.ipv4_prefix = cfg->ipv4_prefix;
		gc.ipv6_prefix = cfg->ipv6_prefix;
		gc.header_timeout_ms = cfg->header_timeout_ms;
		gc.body_timeout_ms = cfg->body_timeout_ms;
		gc.max_connections = cfg->max_connections;
		gc.tick = tick;
		gc.tick_arg = srv;
		rc = hl_guard_start(&gc, &srv->guard, cause);
	}
	if (rc == 0)
		rc = hl_waiters_start(&srv->waiters, cause);
	if (rc == 0 && cfg->reserve_mib > 0 &&
	    strncmp(cfg->store_url, "sqlite:", 7) == 0) {
		/* Beside the database, on its file system. */
		char path[sizeof cfg->store_url + 16];
		snprintf(path, sizeof path, "%s.reserve", cfg->store_url + 7);
		rc = hl_reserve_open(path, (int64_t)cfg->reserve_mib << 20,
		    &x->reserve, cause);
		if (rc == 0 && !hl_reserve_held(x->reserve))
			hl_log(HL_LOG_WARN, "disk_full",
			    "action=no_reserve reason=no_room_at_start");
	}
	if (rc == 0) {
		struct hl_writer_config wc;
		memset(&wc, 0, sizeof wc);
		struct hl_store_limits *lim = &wc.limits;
		lim->max_queue_per_recipient = cfg->max_queue_per_recipient;
		lim->max_queue_per_sender = cfg->max_queue_per_sender;
		lim->bundle_rate_per_hour = cfg->bundle_rate_per_hour;
		lim->max_prekeys_stored = cfg->max_prekeys_stored;
		lim->max_fetch_bytes = cfg->max_fetch_bytes;
		wc.retention_ms = cfg->retention_ms;
		wc.purge_interval_ms = cfg->purge_interval_ms;
		wc.max_batch = MAX_BATCH;
		wc.reserve = x->reserve;
		rc = hl_writer_start(store, &wc, wake, srv->waiters,
		    srv->metrics, &srv->writer, cause);
	}
	if (rc == 0 && store->ops->watch != NULL)
		rc = store->ops->watch(store, remote_wake, srv->waiters, cause);
	if (rc != 0) {
		release(x);
		return rc;
	}

	/* The options that depend on the configuration; MHD takes string
	 * options as void pointers it does not write through. */
	struct MHD_OptionItem extra[8];
	size_t ne = 0;
	if (cfg->threads > 1)
		extra[ne++] = option(MHD_OPTION_THREAD_POOL_SIZE,
		    (intptr_t)cfg->threads, NULL);
	if (opt->tls != NULL) {
		/* Each handshake asks for the pair in use, so that SIGHUP can
		 * replace it without a restart. */
		hl_tls_bind(opt->tls);
		extra[ne++] = option(MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
		    hl_tls_callback());
		extra[ne++] = option(MHD_OPTION_HTTPS_PRIORITIES, 0,
		    cfg->tls_priorities);
	}
	extra[ne++] = option(MHD_OPTION_END, 0, NULL);

	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (opt->tls != NULL)
		flags |= MHD_USE_TLS;
	if (opt->ipv6)
		flags |= MHD_USE_IPv6;
	/* Connections per address prefix, and how long one may take to
	 * deliver a request head, are the guard's (accept policy and
	 * connection notices); MHD's own idle timeout stays for the rest. */
	srv->daemon = MHD_start_daemon(flags, 0, accept_policy, srv,
	    hl_http_access, srv, MHD_OPTION_EXTERNAL_LOGGER, hl_http_log, srv,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)opt->listen_fd,
	    MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)cfg->connection_memory_kib * 1024,
	    MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout_s,
	    MHD_OPTION_NOTIFY_COMPLETED, hl_http_completed, srv,
	    MHD_OPTION_NOTIFY_CONNECTION, notify_connection, srv,
	    MHD_OPTION_UNESCAPE_CALLBACK, hl_http_unescape, srv,
	    MHD_OPTION_ARRAY, extra, MHD_OPTION_END);
	if (srv->daemon == NULL) {
		/* MHD closes a listening socket it was given when it fails. */
		srv->listen_fd = -1;
		release(x);
		return hl_fail(cause, HL_EIO,
		    "cannot start the HTTP server (see the httpd lines above; "
		    "for TLS, check the certificate, key and tls_priorities)");
	}
	if (srv->metrics_fd >= 0) {
		srv->metrics_daemon = MHD_start_daemon(
		    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
		    MHD_USE_ERROR_LOG | (opt->metrics_ipv6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, metrics_access, srv,
		    MHD_OPTION_EXTERNAL_LOGGER, hl_http_log, srv,
		    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)srv->metrics_fd,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNECTIONS,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT_S,
		    MHD_OPTION_END);
		srv->metrics_fd = -1;   /* MHD's now, started or not */
		if (srv->metrics_daemon == NULL) {
			hl_server_stop(srv);
			return hl_fail(cause, HL_EIO, "cannot serve /metrics on "
			    "[server] metrics_listen");
		}
	}
	*out = srv;
	return 0;
}

int
hl_server_metrics_page(struct hl_server *srv, char **text, size_t *len)
{
	*text = NULL;
	struct hl_metrics_gauges g;
	memset(&g, 0, sizeof g);
	int rc = srv->store->ops->gauges(srv->store, &g.queue_depth,
	    &g.accounts);
	int64_t oldest = 0;
	if (rc == 0)
		rc = srv->store->ops->oldest_queued(srv->store, &oldest);
	if (rc != 0)
		return rc;
	int64_t now = hl_now_ms();
	if (oldest > 0 && now > oldest)
		g.oldest_queued_age_ms = now - oldest;
	g.waiting_fetches = (int64_t)hl_waiters_count(srv->waiters);
	g.tls_not_after = hl_tls_not_after(srv->tls);
	*text = hl_metrics_render(srv->metrics, &g, len);
	return *text != NULL ? 0 : HL_ENOMEM;
}

/* metrics_listen: GET /metrics, nothing else, no body taken. */
static enum MHD_Result
metrics_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	(void)version;
	(void)upload_data;
	struct hl_server *srv = cls;
	if (*con_cls == NULL) {
		*con_cls = srv;         /* headers only, the first time */
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0;  /* a body is ignored */
		return MHD_YES;
	}
	unsigned status = MHD_HTTP_OK;
	char *text = NULL;
	size_t len = 0;
	static const char not_found[] = "only GET /metrics here\n";
	if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0)
		status = MHD_HTTP_NOT_FOUND;
	else if (hl_server_metrics_page(srv, &text, &len) != 0)
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
	struct MHD_Response *res = text != NULL ?
	    MHD_create_response_from_buffer(len, text,
	    MHD_RESPMEM_MUST_FREE) :
	    MHD_create_response_from_buffer(sizeof not_found - 1,
	    (void *)(uintptr_t)not_found, MHD_RESPMEM_PERSISTENT);
	if (res == NULL) {
		free(text);
		return MHD_NO;
	}
	if (text != NULL)
		MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "text/plain; version=0.0.4; charset=utf-8");
	enum MHD_Result ret = MHD_queue_response(conn, status, res);
	MHD_destroy_response(res);
	return ret;
}

void
hl_server_stop(struct hl_server *srv)
{
	if (srv == NULL)
		return;
	struct server_extra *x = (struct server_extra *)srv;
	atomic_store(&srv->stopping, 1);
	/* 1. No new connections. If MHD cannot hand the socket back, it
	 * closes it itself. */
	if (MHD_quiesce_daemon(srv->daemon) == MHD_INVALID_SOCKET)
		srv->listen_fd = -1;
	/* 2. Every write handed over is committed and answered; writes
	 * arriving from now on are refused with 503. */
	hl_writer_stop(srv->writer);
	/* 3. Every parked long-poll answers with what it has. */
	hl_waiters_stop(srv->waiters);
	/* 4. Let the answers go out, for a bounded time. No connection is
	 * suspended any more, which MHD_stop_daemon requires. */
	int64_t deadline = hl_mono_ms() + DRAIN_MS;
	struct timespec ts = { (time_t)(deadline / 1000),
	    (long)(deadline % 1000) * 1000000L };
	pthread_mutex_lock(&srv->lock);
	while (srv->inflight > 0) {
		if (pthread_cond_timedwait(&srv->idle, &srv->lock, &ts) != 0)
			break;
	}
	unsigned left = srv->inflight;
	pthread_mutex_unlock(&srv->lock);
	if (left > 0)
		hl_log(HL_LOG_WARN, "stopping", "requests_cut=%u", left);
	MHD_stop_daemon(srv->daemon);
	if (srv->metrics_daemon != NULL)
		MHD_stop_daemon(srv->metrics_daemon);
	release(x);
}
