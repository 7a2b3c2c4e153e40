/* The message queue through the real relay: FIFO fetch, idempotent
 * retries, conflicts, acks that touch only the caller's items, and a
 * long-poll woken by a send. */
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

static int
group_setup(void **state)
{
	(void)state;
	if (hl_test_relay_new(&relay) != 0)
		return -1;
	return hl_test_relay_start(&relay);
}

static int
group_teardown(void **state)
{
	(void)state;
	int status = -1;
	int rc = hl_test_relay_stop(&relay, SIGTERM, &status);
	hl_test_relay_free(&relay);
	/* A clean stop exits 0 (and, under the sanitizers, leaks nothing). */
	return rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void
make_account(const char *handle, struct hl_test_account *a)
{
	assert_int_equal(hl_test_relay_account(&relay, handle, 5, a), 0);
}

static json_t *
item(json_t *fetched, size_t i)
{
	return json_array_get(json_object_get(fetched, "messages"), i);
}

static const char *
field(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

static void
test_fifo_fetch_and_ack(void **state)
{
	(void)state;
	struct hl_test_account a, b, c;
	make_account("fifo.a", &a);
	make_account("fifo.b", &b);
	make_account("fifo.c", &c);
	char ids[5][33];
	for (int i = 0; i < 5; i++) {
		struct hl_test_http res;
		char text[32];
		hl_test_api_id(ids[i]);
		snprintf(text, sizeof text, "message %d", i);
		assert_int_equal(hl_test_api_send(&relay, &a, "fifo.b", ids[i], text,
		    &res), 0);
		assert_int_equal(res.status, 202);
		json_t *j = hl_test_http_json(&res);
		assert_string_equal(field(j, "id"), ids[i]);
		assert_true(json_integer_value(json_object_get(j, "accepted")) > 0);
		json_decref(j);
		assert_true(res.date[0] != '\0');
		hl_test_http_free(&res);
	}
	json_t *got;
	assert_int_equal(hl_test_api_fetch(&relay, &b, 0, &got), 200);
	assert_int_equal(json_array_size(json_object_get(got, "messages")), 5);
	assert_false(json_is_true(json_object_get(got, "more")));
	assert_int_equal(json_integer_value(json_object_get(got,
	    "prekeys_remaining")), 5);
	for (size_t i = 0; i < 5; i++) {
		json_t *it = item(got, i);
		assert_string_equal(field(it, "kind"), "message");
		assert_string_equal(field(it, "from"), "fifo.a");
		assert_string_equal(field(it, "id"), ids[i]);
		assert_int_equal(json_integer_value(json_object_get(it, "type")), 3);
		assert_int_equal(json_integer_value(json_object_get(it,
		    "from_device")), 1);
	}
	/* "message 0" in base64. */
	assert_string_equal(field(item(got, 0), "body"), "bWVzc2FnZSAw");

	/* Limit and more. */
	struct hl_test_http res;
	hl_test_api(&relay, "GET", "/v1/messages?limit=2", NULL, b.token, &res);
	assert_int_equal(res.status, 200);
	json_t *two = hl_test_http_json(&res);
	hl_test_http_free(&res);
	assert_int_equal(json_array_size(json_object_get(two, "messages")), 2);
	assert_true(json_is_true(json_object_get(two, "more")));
	json_decref(two);

	/* Another account's ack of these qids deletes nothing. */
	assert_int_equal(hl_test_api_ack_all(&relay, &c, got), 0);
	assert_int_equal(hl_test_api_ack_all(&relay, &a, got), 0);
	assert_int_equal(hl_test_api_ack_all(&relay, &b, got), 5);
	assert_int_equal(hl_test_api_ack_all(&relay, &b, got), 0);
	json_decref(got);
	assert_int_equal(hl_test_api_fetch(&relay, &b, 0, &got), 200);
	assert_int_equal(json_array_size(json_object_get(got, "messages")), 0);
	json_decref(got);
}

static void
test_idempotent_retry(void **state)
{
	(void)state;
	struct hl_test_account a, b;
	make_account("idem.a", &a);
	make_account("idem.b", &b);
	char id[33];
	hl_test_api_id(id);
	struct hl_test_http r1, r2, r3;
	assert_int_equal(hl_test_api_send(&relay, &a, "idem.b", id, "same", &r1),
	    0);
	assert_int_equal(hl_test_api_send(&relay, &a, "idem.b", id, "same", &r2),
	    0);
	assert_int_equal(r1.status, 202);
	assert_int_equal(r2.status, 202);
	/* The first answer again, byte for byte (same accepted time). */
	assert_string_equal(r1.body, r2.body);
	assert_int_equal(hl_test_api_send(&relay, &a, "idem.b", id, "other", &r3),
	    0);
	assert_int_equal(r3.status, 409);
	char code[64];
	assert_string_equal(hl_test_http_error(&r3, code, sizeof code),
	    "id_conflict");
	hl_test_http_free(&r1);
	hl_test_http_free(&r2);
	hl_test_http_free(&r3);
	json_t *got;
	assert_int_equal(hl_test_api_fetch(&relay, &b, 0, &got), 200);
	assert_int_equal(json_array_size(json_object_get(got, "messages")), 1);
	assert_string_equal(field(item(got, 0), "id"), id);
	json_decref(got);
	/* An unknown recipient is refused for good. */
	hl_test_api_id(id);
	assert_int_equal(hl_test_api_send(&relay, &a, "nobody.here", id, "x",
	    &r1), 0);
	assert_int_equal(r1.status, 404);
	assert_string_equal(hl_test_http_error(&r1, code, sizeof code),
	    "unknown_recipient");
	hl_test_http_free(&r1);
}

struct waiter_arg {
	struct hl_test_account *who;
	long status;
	json_t *json;
	long long elapsed_ms;
};

static void *
waiter_main(void *p)
{
	struct waiter_arg *w = p;
	long long t0 = hl_test_now_ms();
	w->status = hl_test_api_fetch(&relay, w->who, 25, &w->json);
	w->elapsed_ms = hl_test_now_ms() - t0;
	return NULL;
}

static void
test_long_poll_wakes(void **state)
{
	(void)state;
	struct hl_test_account a, b;
	make_account("poll.a", &a);
	make_account("poll.b", &b);
	struct waiter_arg w = { &b, 0, NULL, 0 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
	/* Give the fetch time to park; a send that comes first is found by
	 * the fetch at once, which passes the test the same way. */
	hl_test_sleep_ms(300);
	char id[33];
	hl_test_api_id(id);
	struct hl_test_http res;
	assert_int_equal(hl_test_api_send(&relay, &a, "poll.b", id, "wake", &res),
	    0);
	assert_int_equal(res.status, 202);
	hl_test_http_free(&res);
	pthread_join(t, NULL);
	assert_int_equal(w.status, 200);
	/* It came back with the message, before its 25 s were over. */
	assert_int_equal(json_array_size(json_object_get(w.json, "messages")), 1);
	assert_string_equal(field(item(w.json, 0), "id"), id);
	assert_true(w.elapsed_ms < 24000);
	json_decref(w.json);

	/* A wait with nothing coming ends empty. */
	json_t *got;
	assert_int_equal(hl_test_api_fetch(&relay, &a, 1, &got), 200);
	assert_int_equal(json_array_size(json_object_get(got, "messages")), 0);
	json_decref(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_fetch_and_ack),
		cmocka_unit_test(test_idempotent_retry),
		cmocka_unit_test(test_long_poll_wakes),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
