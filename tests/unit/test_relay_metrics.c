/* The /metrics page: counters by route and status, cumulative histogram
 * buckets, the commit-batch histogram and the gauges, in Prometheus text
 * format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crypto/hl_err.h"
#include "relay/metrics.h"

static const struct hl_metrics_route routes[] = {
	{ "POST", "/v1/messages" },
	{ "GET", "/v1/keys/{handle}" },
};

static void
has(const char *page, const char *line)
{
	if (strstr(page, line) == NULL)
		fail_msg("missing '%s' in:\n%s", line, page);
}

static void
test_render(void **state)
{
	(void)state;
	struct hl_metrics *m;
	assert_int_equal(hl_metrics_new(routes, 2, &m), 0);
	hl_metrics_request(m, 0, 202, 0.0004);
	hl_metrics_request(m, 0, 202, 0.003);
	hl_metrics_request(m, 0, 429, 0.2);
	hl_metrics_request(m, 1, 200, 500);
	hl_metrics_request(m, 7, 200, 1);        /* no such route: ignored */
	hl_metrics_request(m, 1, 42, 1);         /* odd status: counted as 0 */
	hl_metrics_batch(m, 1);
	hl_metrics_batch(m, 3);
	hl_metrics_batch(m, 5000);
	hl_metrics_refused(m, "rate_limited");
	hl_metrics_refused(m, "rate_limited");
	hl_metrics_refused(m, "unauthorized");
	hl_metrics_refused(m, "invalid_code");    /* not a refusal counted */
	hl_metrics_refused(m, NULL);
	struct hl_metrics_gauges g = { 12, 3, 2, 90500, 1900000000 };
	size_t len = 0;
	char *page = hl_metrics_render(m, &g, &len);
	assert_non_null(page);
	assert_int_equal(strlen(page), len);
	has(page, "# TYPE hotline_requests_total counter\n");
	has(page, "hotline_requests_total{method=\"POST\",route=\"/v1/messages\","
	    "status=\"202\"} 2\n");
	has(page, "hotline_requests_total{method=\"POST\",route=\"/v1/messages\","
	    "status=\"429\"} 1\n");
	has(page, "hotline_requests_total{method=\"GET\",route=\"/v1/keys/{handle}"
	    "\",status=\"0\"} 1\n");
	/* Buckets are cumulative: 0.4 ms and 3 ms are under 5 ms, all three
	 * under 0.25 s. */
	has(page, "hotline_request_duration_seconds_bucket{method=\"POST\","
	    "route=\"/v1/messages\",le=\"0.001\"} 1\n");
	has(page, "hotline_request_duration_seconds_bucket{method=\"POST\","
	    "route=\"/v1/messages\",le=\"0.005\"} 2\n");
	has(page, "hotline_request_duration_seconds_bucket{method=\"POST\","
	    "route=\"/v1/messages\",le=\"0.25\"} 3\n");
	has(page, "hotline_request_duration_seconds_bucket{method=\"GET\","
	    "route=\"/v1/keys/{handle}\",le=\"120\"} 1\n");
	has(page, "hotline_request_duration_seconds_bucket{method=\"GET\","
	    "route=\"/v1/keys/{handle}\",le=\"+Inf\"} 2\n");
	has(page, "hotline_request_duration_seconds_count{method=\"POST\","
	    "route=\"/v1/messages\"} 3\n");
	has(page, "hotline_commit_batch_size_bucket{le=\"1\"} 1\n");
	has(page, "hotline_commit_batch_size_bucket{le=\"4\"} 2\n");
	has(page, "hotline_commit_batch_size_bucket{le=\"1024\"} 2\n");
	has(page, "hotline_commit_batch_size_bucket{le=\"+Inf\"} 3\n");
	has(page, "hotline_commit_batch_size_sum 5004\n");
	has(page, "hotline_commit_batch_size_count 3\n");
	has(page, "hotline_queue_depth 12\n");
	has(page, "hotline_accounts 3\n");
	has(page, "hotline_waiting_fetches 2\n");
	has(page, "hotline_build_info{version=\"");
	has(page, "hotline_refusals_total{reason=\"rate_limit\"} 2\n");
	has(page, "hotline_refusals_total{reason=\"queue_full\"} 0\n");
	has(page, "hotline_refusals_total{reason=\"auth\"} 1\n");
	has(page, "hotline_oldest_queued_age_seconds 90.500\n");
	has(page, "hotline_tls_cert_not_after_seconds 1900000000\n");
	free(page);
	hl_metrics_free(m);
	hl_metrics_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
