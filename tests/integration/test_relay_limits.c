/* Limits from relay.ini through the real relay: messages and profile
 * updates per minute per account, and failed registrations per hour per
 * address, answer 429 with Retry-After; a full recipient queue, or one
 * sender's full share of it, answers 429 queue_full; fetches in progress per account are capped;
 * /metrics counts what happened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/lib/hl_testapi.h"
#include "tests/lib/hl_testhttp.h"
#include "tests/lib/hl_testrelay.h"

static struct hl_test_relay relay;
static struct hl_test_account acct_a, acct_b, acct_c;

static int
group_setup(void **state)
{
	(void)state;
	if (hl_test_relay_new(&relay) != 0)
		return -1;
	hl_test_relay_set(&relay, "limits", "rate_per_minute", "5");
	hl_test_relay_set(&relay, "limits", "max_queue_per_recipient", "3");
	hl_test_relay_set(&relay, "limits", "max_queue_per_sender", "2");
	hl_test_relay_set(&relay, "server", "max_fetches_per_account", "2");
	hl_test_relay_set(&relay, "limits", "register_rate_per_hour", "4");
	if (hl_test_relay_start(&relay) != 0)
		return -1;
	if (hl_test_relay_account(&relay, "lim.a", 1, &acct_a) != 0 ||
	    hl_test_relay_account(&relay, "lim.b", 1, &acct_b) != 0 ||
	    hl_test_relay_account(&relay, "lim.c", 1, &acct_c) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	int status = -1;
	int rc = hl_test_relay_stop(&relay, SIGTERM, &status);
	hl_test_relay_free(&relay);
	return rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static long
send_one(const struct hl_test_account *from, const char *to, char *code,
    char *retry)
{
	char id[33];
	struct hl_test_http res;
	hl_test_api_id(id);
	hl_test_api_send(&relay, from, to, id, "limit", &res);
	long status = res.status;
	hl_test_http_error(&res, code, 64);
	snprintf(retry, 32, "%s", res.retry_after);
	hl_test_http_free(&res);
	return status;
}

static void
test_queue_full_then_rate(void **state)
{
	(void)state;
	char code[64], retry[32];
	/* b's queue holds 3, at most 2 of them from one sender. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(send_one(&acct_a, "lim.b", code, retry), 202);
	assert_int_equal(send_one(&acct_a, "lim.b", code, retry), 429);
	assert_string_equal(code, "queue_full");
	assert_true(strtol(retry, NULL, 10) >= 1);
	/* Another sender has its own share, up to the queue's size. */
	assert_int_equal(send_one(&acct_c, "lim.b", code, retry), 202);
	assert_int_equal(send_one(&acct_c, "lim.b", code, retry), 429);
	assert_string_equal(code, "queue_full");
	/* Five a minute (refused attempts count): a's fourth and fifth go
	 * elsewhere, the sixth is refused. */
	assert_int_equal(send_one(&acct_a, "lim.c", code, retry), 202);
	assert_int_equal(send_one(&acct_a, "lim.c", code, retry), 202);
	assert_int_equal(send_one(&acct_a, "lim.c", code, retry), 429);
	assert_string_equal(code, "rate_limited");
	long wait = strtol(retry, NULL, 10);
	assert_true(wait >= 1 && wait <= 60);
	/* Someone else is not held back. */
	assert_int_equal(send_one(&acct_c, "lim.a", code, retry), 202);
	/* Fetching and acking make room in b's queue. */
	json_t *got;
	assert_int_equal(hl_test_api_fetch(&relay, &acct_b, 0, &got), 200);
	assert_int_equal(hl_test_api_ack_all(&relay, &acct_b, got), 3);
	json_decref(got);
	assert_int_equal(send_one(&acct_c, "lim.b", code, retry), 202);
}

struct held_fetch {
	pthread_t thread;
	long status;
	size_t n;
};

static void *
held_fetch_main(void *arg)
{
	struct held_fetch *h = arg;
	json_t *got = NULL;
	h->status = hl_test_api_fetch(&relay, &acct_a, 20, &got);
	h->n = json_array_size(json_object_get(got, "messages"));
	json_decref(got);
	return NULL;
}

/* hotline_waiting_fetches from /metrics, or -1. */
static long
waiting_fetches(void)
{
	struct hl_test_http res;
	hl_test_api(&relay, "GET", "/metrics", NULL, NULL, &res);
	const char *p = res.body ? strstr(res.body,
	    "\nhotline_waiting_fetches ") : NULL;
	long n = p ? strtol(p + 25, NULL, 10) : -1;
	hl_test_http_free(&res);
	return n;
}

static void
test_fetches_per_account(void **state)
{
	(void)state;
	/* a's queue is emptied first: what c sent it in the last test. */
	json_t *got;
	assert_int_equal(hl_test_api_fetch(&relay, &acct_a, 0, &got), 200);
	hl_test_api_ack_all(&relay, &acct_a, got);
	json_decref(got);
	/* Two long-polls of a are held; a third fetch of a is refused, one of
	 * b is not. */
	struct held_fetch h[2];
	for (int i = 0; i < 2; i++) {
		memset(&h[i], 0, sizeof h[i]);
		assert_int_equal(pthread_create(&h[i].thread, NULL,
		    held_fetch_main, &h[i]), 0);
	}
	long long deadline = hl_test_now_ms() + 10000;
	while (waiting_fetches() < 2 && hl_test_now_ms() < deadline)
		hl_test_sleep_ms(20);
	assert_int_equal(waiting_fetches(), 2);
	struct hl_test_http res;
	char code[64], retry[32];
	hl_test_api(&relay, "GET", "/v1/messages", NULL, acct_a.token, &res);
	assert_int_equal(res.status, 429);
	assert_string_equal(hl_test_http_error(&res, code, sizeof code),
	    "rate_limited");
	assert_true(strtol(res.retry_after, NULL, 10) >= 1);
	hl_test_http_free(&res);
	assert_int_equal(hl_test_api_fetch(&relay, &acct_b, 0, &got), 200);
	json_decref(got);
	/* A message wakes both; their places are free again. */
	assert_int_equal(send_one(&acct_b, "lim.a", code, retry), 202);
	for (int i = 0; i < 2; i++) {
		pthread_join(h[i].thread, NULL);
		assert_int_equal(h[i].status, 200);
		assert_int_equal(h[i].n, 1);
	}
	assert_int_equal(hl_test_api_fetch(&relay, &acct_a, 0, &got), 200);
	assert_int_equal(hl_test_api_ack_all(&relay, &acct_a, got), 1);
	json_decref(got);
}

/* Registrations are limited by their failures: 30 officers behind one
 * address, each with a valid code, all enrol within the hour although
 * the budget is 4 an hour; guessing is still cut off after 4 failures. */
static void
test_registration_rate(void **state)
{
	(void)state;
	struct hl_test_account a;
	char handle[32];
	for (int i = 0; i < 30; i++) {
		snprintf(handle, sizeof handle, "nat.%02d", i);
		assert_int_equal(hl_test_relay_account(&relay, handle, 1, &a), 0);
	}
	char code[64];
	char body[256];
	snprintf(body, sizeof body, "{\"handle\":\"lim.d\",\"code\":\"%s\"}",
	    "guess");
	struct hl_test_http res;
	for (int i = 0; i < 4; i++) {
		hl_test_api(&relay, "POST", "/v1/accounts", i % 2 ? body :
		    "{\"handle\":\"lim.d\"}", NULL, &res);
		assert_int_equal(res.status, 400);
		hl_test_http_free(&res);
	}
	hl_test_api(&relay, "POST", "/v1/accounts", body, NULL, &res);
	assert_int_equal(res.status, 429);
	assert_string_equal(hl_test_http_error(&res, code, sizeof code),
	    "rate_limited");
	assert_true(strtol(res.retry_after, NULL, 10) >= 1);
	hl_test_http_free(&res);
	/* Once limited, the address waits, whatever it sends. */
	assert_int_not_equal(hl_test_relay_account(&relay, "nat.late", 1, &a),
	    0);
}

/* A profile update is a durable write: rate_per_minute (5) a minute per
 * account, then 429 with Retry-After; another account is not held back. */
static long
put_profile(const struct hl_test_account *who, char *retry)
{
	struct hl_test_http res;
	hl_test_api(&relay, "PUT", "/v1/profile", "{\"name\":\"Desk\","
	    "\"organisation\":\"Test CERT\"}", who->token, &res);
	long status = res.status;
	char code[64];
	if (status == 429)
		assert_string_equal(hl_test_http_error(&res, code,
		    sizeof code), "rate_limited");
	snprintf(retry, 32, "%s", res.retry_after);
	hl_test_http_free(&res);
	return status;
}

static void
test_profile_rate(void **state)
{
	(void)state;
	char retry[32];
	for (int i = 0; i < 5; i++)
		assert_int_equal(put_profile(&acct_c, retry), 200);
	assert_int_equal(put_profile(&acct_c, retry), 429);
	long wait = strtol(retry, NULL, 10);
	assert_true(wait >= 1 && wait <= 60);
	assert_int_equal(put_profile(&acct_b, retry), 200);
}

static void
test_metrics(void **state)
{
	(void)state;
	struct hl_test_http res;
	hl_test_api(&relay, "GET", "/metrics", NULL, NULL, &res);
	assert_int_equal(res.status, 200);
	assert_non_null(strstr(res.content_type, "text/plain; version=0.0.4"));
	static const char *const want[] = {
		"hotline_requests_total{method=\"POST\",route=\"/v1/messages\","
		    "status=\"202\"}",
		"hotline_requests_total{method=\"POST\",route=\"/v1/messages\","
		    "status=\"429\"}",
		"hotline_request_duration_seconds_bucket{method=\"POST\","
		    "route=\"/v1/messages\",le=\"+Inf\"}",
		"# TYPE hotline_commit_batch_size histogram",
		"hotline_commit_batch_size_count ",
		"hotline_queue_depth ",
		"hotline_accounts 33\n",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		if (strstr(res.body, want[i]) == NULL)
			fail_msg("metrics lack '%s':\n%s", want[i], res.body);
	hl_test_http_free(&res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_full_then_rate),
		cmocka_unit_test(test_fetches_per_account),
		cmocka_unit_test(test_registration_rate),
		cmocka_unit_test(test_profile_rate),
		cmocka_unit_test(test_metrics),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
