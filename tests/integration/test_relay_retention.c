/* Retention through the real relay: an undelivered message is purged and
 * its sender is told, through its own queue, with a notice that wakes its
 * long-poll. The retention is 2 s here ([limits] retention, a duration). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
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
	hl_test_relay_set(&relay, "limits", "retention", "2s");
	hl_test_relay_set(&relay, "limits", "purge_interval", "1s");
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
test_expired_notice(void **state)
{
	(void)state;
	struct hl_test_account a, b;
	assert_int_equal(hl_test_relay_account(&relay, "exp.a", 1, &a), 0);
	assert_int_equal(hl_test_relay_account(&relay, "exp.b", 1, &b), 0);
	char id[33];
	hl_test_api_id(id);
	struct hl_test_http res;
	assert_int_equal(hl_test_api_send(&relay, &a, "exp.b", id, "late", &res),
	    0);
	assert_int_equal(res.status, 202);
	json_t *acc = hl_test_http_json(&res);
	json_int_t accepted = json_integer_value(json_object_get(acc, "accepted"));
	json_decref(acc);
	hl_test_http_free(&res);
	/* The retention is 2 s and the purge runs every second: a long-poll
	 * by the sender is woken by the notice. Bounded to 30 s. */
	json_t *notice = NULL;
	long long deadline = hl_test_now_ms() + 30000;
	while (notice == NULL && hl_test_now_ms() < deadline) {
		json_t *got;
		assert_int_equal(hl_test_api_fetch(&relay, &a, 5, &got), 200);
		if (json_array_size(json_object_get(got, "messages")) > 0)
			notice = got;
		else
			json_decref(got);
	}
	assert_non_null(notice);
	json_t *it = item(notice, 0);
	assert_string_equal(field(it, "kind"), "expired");
	assert_string_equal(field(it, "id"), id);
	assert_string_equal(field(it, "to"), "exp.b");
	assert_int_equal(json_integer_value(json_object_get(it, "accepted")),
	    accepted);
	assert_true(json_integer_value(json_object_get(it, "at")) >= accepted);
	assert_null(json_object_get(it, "body"));
	json_decref(notice);
	/* The recipient never sees it. */
	json_t *got;
	assert_int_equal(hl_test_api_fetch(&relay, &b, 0, &got), 200);
	assert_int_equal(json_array_size(json_object_get(got, "messages")), 0);
	json_decref(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expired_notice),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
