#include "relay/metrics.h"

#include "crypto/hl_err.h"
#include "relay/version.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSTATUS 600

static const double latency_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
	10, 30, 60, 120,
};
#define NLATENCY (sizeof latency_bounds / sizeof latency_bounds[0])

static const double batch_bounds[] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024,
};
#define NBATCH (sizeof batch_bounds / sizeof batch_bounds[0])

struct route_stats {
	atomic_uint_fast64_t status[NSTATUS];
	atomic_uint_fast64_t latency[NLATENCY + 1];   /* last: +Inf */
	atomic_uint_fast64_t latency_us_sum;
	atomic_uint_fast64_t count;
};

struct hl_metrics {
	const struct hl_metrics_route *routes;
	size_t nroutes;
	struct route_stats *stats;
	atomic_uint_fast64_t batch[NBATCH + 1];
	atomic_uint_fast64_t batch_sum;
	atomic_uint_fast64_t batch_count;
	atomic_uint_fast64_t refused[HL_REFUSED_N];
};

static const struct {
	const char *code;      /* the API's error code */
	const char *reason;    /* the label */
} refusals[HL_REFUSED_N] = {
	[HL_REFUSED_RATE_LIMIT] = { "rate_limited", "rate_limit" },
	[HL_REFUSED_QUEUE_FULL] = { "queue_full", "queue_full" },
	[HL_REFUSED_AUTH] = { "unauthorized", "auth" },
};

int
hl_metrics_new(const struct hl_metrics_route *routes, size_t nroutes,
    struct hl_metrics **out)
{
	*out = NULL;
	struct hl_metrics *m = calloc(1, sizeof *m);
	if (m == NULL)
		return HL_ENOMEM;
	m->stats = calloc(nroutes ? nroutes : 1, sizeof *m->stats);
	if (m->stats == NULL) {
		free(m);
		return HL_ENOMEM;
	}
	/* calloc's zero bytes are valid zero atomics on every platform we
	 * build for; initialise them anyway as the standard asks. */
	for (size_t r = 0; r < nroutes; r++) {
		for (size_t i = 0; i < NSTATUS; i++)
			atomic_init(&m->stats[r].status[i], 0);
		for (size_t i = 0; i <= NLATENCY; i++)
			atomic_init(&m->stats[r].latency[i], 0);
		atomic_init(&m->stats[r].latency_us_sum, 0);
		atomic_init(&m->stats[r].count, 0);
	}
	for (size_t i = 0; i <= NBATCH; i++)
		atomic_init(&m->batch[i], 0);
	atomic_init(&m->batch_sum, 0);
	atomic_init(&m->batch_count, 0);
	for (size_t i = 0; i < HL_REFUSED_N; i++)
		atomic_init(&m->refused[i], 0);
	m->routes = routes;
	m->nroutes = nroutes;
	*out = m;
	return 0;
}

void
hl_metrics_free(struct hl_metrics *m)
{
	if (m == NULL)
		return;
	free(m->stats);
	free(m);
}

void
hl_metrics_request(struct hl_metrics *m, size_t route, unsigned status,
    double seconds)
{
	if (m == NULL || route >= m->nroutes)
		return;
	struct route_stats *s = &m->stats[route];
	size_t slot = status < NSTATUS && status >= 100 ? status : 0;
	atomic_fetch_add(&s->status[slot], 1);
	size_t b = 0;
	while (b < NLATENCY && seconds > latency_bounds[b])
		b++;
	atomic_fetch_add(&s->latency[b], 1);
	if (seconds < 0)
		seconds = 0;
	atomic_fetch_add(&s->latency_us_sum, (uint_fast64_t)(seconds * 1e6));
	atomic_fetch_add(&s->count, 1);
}

void
hl_metrics_refused(struct hl_metrics *m, const char *code)
{
	if (m == NULL || code == NULL)
		return;
	for (size_t i = 0; i < HL_REFUSED_N; i++)
		if (strcmp(refusals[i].code, code) == 0)
			atomic_fetch_add(&m->refused[i], 1);
}

void
hl_metrics_batch(struct hl_metrics *m, size_t n)
{
	if (m == NULL)
		return;
	size_t b = 0;
	while (b < NBATCH && (double)n > batch_bounds[b])
		b++;
	atomic_fetch_add(&m->batch[b], 1);
	atomic_fetch_add(&m->batch_sum, n);
	atomic_fetch_add(&m->batch_count, 1);
}

struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void
put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct buf *b, const char *fmt, ...)
{
	if (b->failed)
		return;
	for (int attempt = 0; attempt < 2; attempt++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)n;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

static void
bound_label(double v, char *out, size_t n)
{
	snprintf(out, n, "%g", v);
}

char *
hl_metrics_render(struct hl_metrics *m, const struct hl_metrics_gauges *g,
    size_t *len)
{
	struct buf b = { malloc(8192), 0, 8192, 0 };
	if (b.p == NULL)
		return NULL;
	b.p[0] = '\0';
	char le[32];

	put(&b, "# HELP hotline_build_info The relay's version.\n"
	    "# TYPE hotline_build_info gauge\n"
	    "hotline_build_info{version=\"%s\"} 1\n", HL_RELAY_VERSION);
	put(&b, "# HELP hotline_refusals_total Requests refused, by reason "
	    "(rate_limit: 429 rate_limited; queue_full: 429 queue_full; auth: "
	    "401).\n# TYPE hotline_refusals_total counter\n");
	for (size_t i = 0; i < HL_REFUSED_N; i++)
		put(&b, "hotline_refusals_total{reason=\"%s\"} %llu\n",
		    refusals[i].reason,
		    (unsigned long long)atomic_load(&m->refused[i]));

	put(&b,
	    "# HELP hotline_requests_total HTTP requests answered, by route "
	    "and status.\n# TYPE hotline_requests_total counter\n");
	for (size_t r = 0; r < m->nroutes; r++)
		for (size_t s = 0; s < NSTATUS; s++) {
			uint_fast64_t v = atomic_load(&m->stats[r].status[s]);
			if (v == 0)
				continue;
			put(&b,
			    "hotline_requests_total{method=\"%s\",route=\"%s\","
			    "status=\"%zu\"} %llu\n", m->routes[r].method,
			    m->routes[r].route, s, (unsigned long long)v);
		}

	put(&b, "# HELP hotline_request_duration_seconds Time from the request "
	    "headers to the end of the answer, by route.\n"
	    "# TYPE hotline_request_duration_seconds histogram\n");
	for (size_t r = 0; r < m->nroutes; r++) {
		struct route_stats *s = &m->stats[r];
		uint_fast64_t count = atomic_load(&s->count);
		if (count == 0)
			continue;
		uint_fast64_t cum = 0;
		for (size_t i = 0; i <= NLATENCY; i++) {
			cum += atomic_load(&s->latency[i]);
			if (i < NLATENCY)
				bound_label(latency_bounds[i], le, sizeof le);
			else
				snprintf(le, sizeof le, "+Inf");
			put(&b, "hotline_request_duration_seconds_bucket"
			    "{method=\"%s\",route=\"%s\",le=\"%s\"} %llu\n",
			    m->routes[r].method,
			    m->routes[r].route, le, (unsigned long long)cum);
		}
		put(&b, "hotline_request_duration_seconds_sum"
		    "{method=\"%s\",route=\"%s\"} %.6f\n",
		    m->routes[r].method, m->routes[r].route,
		    (double)atomic_load(&s->latency_us_sum) / 1e6);
		put(&b, "hotline_request_duration_seconds_count"
		    "{method=\"%s\",route=\"%s\"} %llu\n",
		    m->routes[r].method, m->routes[r].route,
		    (unsigned long long)cum);
	}

	put(&b, "# HELP hotline_commit_batch_size Writes committed together in "
	    "one transaction.\n# TYPE hotline_commit_batch_size histogram\n");
	uint_fast64_t cum = 0;
	for (size_t i = 0; i <= NBATCH; i++) {
		cum += atomic_load(&m->batch[i]);
		if (i < NBATCH)
			bound_label(batch_bounds[i], le, sizeof le);
		else
			snprintf(le, sizeof le, "+Inf");
		put(&b, "hotline_commit_batch_size_bucket{le=\"%s\"} %llu\n",
		    le, (unsigned long long)cum);
	}
	put(&b, "hotline_commit_batch_size_sum %llu\n",
	    (unsigned long long)atomic_load(&m->batch_sum));
	put(&b, "hotline_commit_batch_size_count %llu\n",
	    (unsigned long long)cum);

	put(&b,
	    "# HELP hotline_queue_depth Items queued for delivery (messages "
	    "and notices).\n# TYPE hotline_queue_depth gauge\n"
	    "hotline_queue_depth %lld\n", (long long)g->queue_depth);
	put(&b, "# HELP hotline_accounts Active accounts.\n"
	    "# TYPE hotline_accounts gauge\nhotline_accounts %lld\n",
	    (long long)g->accounts);
	put(&b, "# HELP hotline_waiting_fetches Long-polls held open now.\n"
	    "# TYPE hotline_waiting_fetches gauge\nhotline_waiting_fetches "
	    "%lld\n", (long long)g->waiting_fetches);
	put(&b, "# HELP hotline_oldest_queued_age_seconds Age of the oldest "
	    "queued message (0 when none).\n"
	    "# TYPE hotline_oldest_queued_age_seconds gauge\n"
	    "hotline_oldest_queued_age_seconds %.3f\n",
	    (double)g->oldest_queued_age_ms / 1000.0);
	if (g->tls_not_after > 0)
		put(&b, "# HELP hotline_tls_cert_not_after_seconds When the TLS "
		    "certificate in use expires (Unix time).\n"
		    "# TYPE hotline_tls_cert_not_after_seconds gauge\n"
		    "hotline_tls_cert_not_after_seconds %lld\n",
		    (long long)g->tls_not_after);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
