/*
 * A refused fetch is never silent: with the account's only fetch place
 * taken by a long-poll, the relay answers 429 (Retry-After 1). `sync`
 * says so (a line, or a fetch_failed JSON object with the status and the
 * next try), exits 6 because no fetch succeeded, and `sync --wait 5`
 * keeps trying until its wait ends instead of returning at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/hl_testassert.h"
#include "tests/lib/hl_testclient.h"

#define TRIES 40

static size_t
count_failed(json_t *lines, int status)
{
	size_t n = 0, i;
	json_t *o;
	json_array_foreach(lines, i, o) {
		const char *ev = hl_test_json_str(o, "event");
		if (ev == NULL || strcmp(ev, "fetch_failed") != 0)
			continue;
		assert_int_equal(json_integer_value(json_object_get(o, "status")),
		    status);
		assert_non_null(hl_test_json_str(o, "retry_at"));
		assert_true(json_is_integer(json_object_get(o, "retry_in_ms")));
		assert_non_null(strstr(hl_test_json_str(o, "text"), "429"));
		n++;
	}
	return n;
}

static void
test_refused_fetch_is_reported(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_run hold, r;
	hl_test_relay_set(&w->relay, "server", "max_fetches_per_account", "1");
	assert_int_equal(hl_test_relay_stop(&w->relay, SIGTERM, NULL), 0);
	assert_int_equal(hl_test_relay_write_config(&w->relay), 0);
	assert_int_equal(hl_test_relay_restart(&w->relay), 0);
	struct hl_test_client *a = hl_test_client_of(w, "fx.a");
	assert_non_null(a);

	/* A long-poll takes the one place. */
	const char *args[] = { "sync", "--wait", "60", NULL };
	assert_int_equal(hl_test_client_start(a, &hold, args), 0);
	int refused = 0;
	for (int i = 0; i < TRIES && !refused; i++) {
		hl_test_client_run(a, &r, "--json", "sync", NULL);
		json_t *lines = hl_test_run_json(&r);
		refused = lines != NULL && count_failed(lines, 429) > 0;
		if (refused) {
			hl_test_expect(&r, 6);
			json_t *sum = hl_test_json_find(lines, "event", "summary");
			assert_non_null(sum);
			assert_true(json_is_false(json_object_get(sum, "fetched")));
		}
		json_decref(lines);
		hl_test_run_free(&r);
		if (!refused)
			hl_test_sleep_ms(250);
	}
	if (!refused) {
		kill(hold.pid, SIGTERM);
		hl_test_client_finish(a, &hold, 60000);
		hl_test_run_print(&hold);
		char log[8192];
		hl_test_read_file(w->relay.log, log, sizeof log);
		fprintf(stderr, "%s\n", log);
	}
	assert_true(refused);

	/* With a wait, it tries again (Retry-After 1) until the wait ends. */
	hl_test_client_run(a, &r, "--json", "sync", "--wait", "5", NULL);
	hl_test_expect(&r, 6);
	json_t *lines = hl_test_run_json(&r);
	assert_non_null(lines);
	assert_true(count_failed(lines, 429) >= 2);
	json_decref(lines);
	hl_test_run_free(&r);

	/* For people: what happened, and when the next try is. */
	hl_test_client_run(a, &r, "sync", NULL);
	hl_test_expect(&r, 6);
	assert_non_null(strstr(r.out, "fetching messages failed: relay answered 429"));
	assert_non_null(strstr(r.out, "next try in"));
	assert_non_null(strstr(r.out, "nothing fetched"));
	hl_test_run_free(&r);

	/* The place free again: a plain sync succeeds. */
	kill(hold.pid, SIGTERM);
	hl_test_client_finish(a, &hold, 60000);
	hl_test_run_free(&hold);
	hl_test_client_run(a, &r, "sync", NULL);
	hl_test_expect(&r, 0);
	assert_null(strstr(r.out, "failed"));
	hl_test_run_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refused_fetch_is_reported,
		    hl_test_setup_world, hl_test_teardown_world),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
