/*
 * metrics: counters and histograms for /metrics, in the Prometheus text
 * format (version 0.0.4). Routes are fixed at creation; every update is
 * lock-free. Thread-safe.
 */
#ifndef HL_RELAY_METRICS_H
#define HL_RELAY_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct hl_metrics;

struct hl_metrics_route {
	const char *method;    /* label values, borrowed as long as the */
	const char *route;     /* metrics live */
};

/* Gauges read when the page is rendered. */
struct hl_metrics_gauges {
	int64_t queue_depth;
	int64_t accounts;
	int64_t waiting_fetches;
	int64_t oldest_queued_age_ms;  /* 0 when nothing is queued */
	int64_t tls_not_after;         /* Unix seconds; 0: no TLS */
};

/* The refusals counted by reason. */
enum hl_metrics_refusal {
	HL_REFUSED_RATE_LIMIT,
	HL_REFUSED_QUEUE_FULL,
	HL_REFUSED_AUTH,
	HL_REFUSED_N,
};

/* routes is borrowed for the life of the metrics. 0 or HL_ENOMEM; *out is
 * the caller's, freed with hl_metrics_free(). */
int hl_metrics_new(const struct hl_metrics_route *routes, size_t nroutes,
    struct hl_metrics **out);

void hl_metrics_free(struct hl_metrics *m);

/* One finished request on route (an index into routes) with status
 * (100..599, else counted as 0) that took seconds. */
void hl_metrics_request(struct hl_metrics *m, size_t route, unsigned status,
    double seconds);

/* A request refused with the API error code (NULL or any other code:
 * nothing is counted): rate_limited, queue_full, unauthorized. */
void hl_metrics_refused(struct hl_metrics *m, const char *code);

/* One group commit of n writes. */
void hl_metrics_batch(struct hl_metrics *m, size_t n);

/* The page; the caller frees it with free(). NULL when out of memory. */
char *hl_metrics_render(struct hl_metrics *m, const struct hl_metrics_gauges *g,
    size_t *len);

#endif
