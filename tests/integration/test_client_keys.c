/*
 * One-time prekeys: when bundle fetches by others leave the relay with
 * fewer than 20 of a contact's prekeys, that contact's next sync uploads
 * fresh ones, and later bundles carry them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/hl_testapi.h"
#include "tests/lib/hl_testassert.h"
#include "tests/lib/hl_testclient.h"

#define DRAINERS 7
#define FIRST_ROUND 12     /* per drainer: 84 of the 100 prekeys */
#define SECOND_ROUND 5     /* per drainer: 35 more than the 16 left */

/* Fetches keys.a's bundle as who; returns 1 when it carried a one-time
 * prekey, 0 when not. */
static int
fetch_bundle(struct hl_test_world *w, const struct hl_test_account *who)
{
	struct hl_test_http res;
	assert_int_equal(hl_test_api(&w->relay, "GET", "/v1/keys/keys.a", NULL,
	    who->token, &res), 0);
	assert_int_equal(res.status, 200);
	json_t *b = json_loads(res.body, 0, NULL);
	assert_non_null(b);
	int has = json_object_get(b, "prekey") != NULL;
	json_decref(b);
	hl_test_http_free(&res);
	return has;
}

static void
test_prekeys_refilled(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_account drain[DRAINERS];
	struct hl_test_run r;
	struct hl_test_client *a = hl_test_client_of(w, "keys.a");

	for (int i = 0; i < DRAINERS; i++) {
		char handle[32];
		snprintf(handle, sizeof handle, "drain%d.test", i);
		assert_int_equal(hl_test_relay_account(&w->relay, handle, 1,
		    &drain[i]), 0);
	}
	for (int i = 0; i < DRAINERS; i++)
		for (int k = 0; k < FIRST_ROUND; k++)
			assert_true(fetch_bundle(w, &drain[i]));

	/* 16 left: the next sync refills to 100 and says so. */
	hl_test_client_run(a, &r, "--json", "sync", NULL);
	hl_test_expect(&r, 0);
	json_t *lines = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	json_t *ev = hl_test_json_find(lines, "event", "prekeys");
	assert_non_null(ev);
	assert_int_equal(json_integer_value(json_object_get(ev, "n")),
	    100 - (100 - DRAINERS * FIRST_ROUND));
	json_decref(lines);

	/* Every one of the next 35 bundles carries a prekey: the upload landed. */
	for (int i = 0; i < DRAINERS; i++)
		for (int k = 0; k < SECOND_ROUND; k++)
			assert_true(fetch_bundle(w, &drain[i]));

	/* Enough left now: a sync uploads nothing. */
	hl_test_client_run(a, &r, "--json", "sync", NULL);
	hl_test_expect(&r, 0);
	lines = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	assert_null(hl_test_json_find(lines, "event", "prekeys"));
	json_decref(lines);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prekeys_refilled,
		    hl_test_setup_world, hl_test_teardown_world),
	};
	return cmocka_run_group_tests_name("client_keys", tests, NULL, NULL);
}
