/* Prekey bundles through the real relay: 32 requests at once against 10
 * one-time prekeys hand out 10 distinct prekeys and 22 bundles without
 * one; the per-(requester, target) rate limit answers 429 with
 * Retry-After. */
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

#define CONCURRENT 32
#define PREKEYS 10

static struct hl_test_relay relay;

static int
group_setup(void **state)
{
	(void)state;
	if (hl_test_relay_new(&relay) != 0)
		return -1;
	hl_test_relay_set(&relay, "server", "threads", "8");
	hl_test_relay_set(&relay, "limits", "bundle_rate_per_hour", "40");
	return hl_test_relay_start(&relay);
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

struct fetcher {
	pthread_t thread;
	const struct hl_test_account *who;
	pthread_barrier_t *start;
	long status;
	long prekey_id;       /* -1: no prekey in the bundle */
	char handle[64];
};

static void *
fetch_bundle(void *p)
{
	struct fetcher *f = p;
	struct hl_test_http res;
	pthread_barrier_wait(f->start);
	hl_test_api(&relay, "GET", "/v1/keys/bun.target", NULL, f->who->token,
	    &res);
	f->status = res.status;
	f->prekey_id = -1;
	json_t *j = hl_test_http_json(&res);
	json_t *pk = json_object_get(j, "prekey");
	if (pk != NULL)
		f->prekey_id = (long)json_integer_value(json_object_get(pk, "id"));
	snprintf(f->handle, sizeof f->handle, "%s",
	    json_string_value(json_object_get(j, "handle")) ?
	    json_string_value(json_object_get(j, "handle")) : "");
	json_decref(j);
	hl_test_http_free(&res);
	return NULL;
}

static void
test_concurrent_prekeys(void **state)
{
	(void)state;
	struct hl_test_account target, requester;
	assert_int_equal(hl_test_relay_account(&relay, "bun.target", PREKEYS,
	    &target), 0);
	assert_int_equal(hl_test_relay_account(&relay, "bun.req", 1, &requester),
	    0);
	static struct fetcher f[CONCURRENT];
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, CONCURRENT);
	for (int i = 0; i < CONCURRENT; i++) {
		f[i].who = &requester;
		f[i].start = &start;
		assert_int_equal(pthread_create(&f[i].thread, NULL, fetch_bundle,
		    &f[i]), 0);
	}
	for (int i = 0; i < CONCURRENT; i++)
		pthread_join(f[i].thread, NULL);
	pthread_barrier_destroy(&start);

	int with = 0, without = 0;
	int seen[PREKEYS + 1] = { 0 };
	for (int i = 0; i < CONCURRENT; i++) {
		assert_int_equal(f[i].status, 200);
		assert_string_equal(f[i].handle, "bun.target");
		if (f[i].prekey_id < 0) {
			without++;
			continue;
		}
		with++;
		assert_true(f[i].prekey_id >= 1 && f[i].prekey_id <= PREKEYS);
		seen[f[i].prekey_id]++;
	}
	assert_int_equal(with, PREKEYS);
	assert_int_equal(without, CONCURRENT - PREKEYS);
	for (int id = 1; id <= PREKEYS; id++)
		assert_int_equal(seen[id], 1);

	/* The target sees it has none left. */
	struct hl_test_http res;
	hl_test_api(&relay, "GET", "/v1/keys", NULL, target.token, &res);
	json_t *j = hl_test_http_json(&res);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "prekeys_remaining")), 0);
	json_decref(j);
	hl_test_http_free(&res);
}

static void
test_bundle_rate_limit(void **state)
{
	(void)state;
	struct hl_test_account target, r1, r2;
	assert_int_equal(hl_test_relay_account(&relay, "rate.target", 50, &target),
	    0);
	assert_int_equal(hl_test_relay_account(&relay, "rate.r1", 1, &r1), 0);
	assert_int_equal(hl_test_relay_account(&relay, "rate.r2", 1, &r2), 0);
	struct hl_test_http res;
	for (int i = 0; i < 40; i++) {
		hl_test_api(&relay, "GET", "/v1/keys/rate.target", NULL, r1.token,
		    &res);
		assert_int_equal(res.status, 200);
		hl_test_http_free(&res);
	}
	hl_test_api(&relay, "GET", "/v1/keys/rate.target", NULL, r1.token, &res);
	assert_int_equal(res.status, 429);
	char code[64];
	assert_string_equal(hl_test_http_error(&res, code, sizeof code),
	    "rate_limited");
	long retry = strtol(res.retry_after, NULL, 10);
	assert_true(retry >= 1 && retry <= 3600);
	hl_test_http_free(&res);
	/* The limit is per pair: another requester still gets one. */
	hl_test_api(&relay, "GET", "/v1/keys/rate.target", NULL, r2.token, &res);
	assert_int_equal(res.status, 200);
	hl_test_http_free(&res);
	/* Unknown and malformed targets. */
	hl_test_api(&relay, "GET", "/v1/keys/no.such", NULL, r2.token, &res);
	assert_int_equal(res.status, 404);
	assert_string_equal(hl_test_http_error(&res, code, sizeof code),
	    "not_found");
	hl_test_http_free(&res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_prekeys),
		cmocka_unit_test(test_bundle_rate_limit),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
