/*
 * A misbehaving relay, played by a proxy in front of the real relay that
 * answers some requests itself: its error text reaches the terminal with
 * \x1b-style escapes (not raw, not flattened to '?'); a fetch answer the
 * client refuses is reported as an invalid answer, not as the relay being
 * unreachable; a 200 to a profile update that is not the new entry is not
 * taken as success.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/hl_testassert.h"
#include "tests/lib/hl_testclient.h"
#include "tests/lib/hl_testproxy.h"
#include "tests/lib/hl_testrelay.h"

struct bad {
	struct hl_test_relay relay;
	struct hl_test_proxy *proxy;
	struct hl_test_client a;
};

static int
setup(void **state)
{
	struct bad *b = calloc(1, sizeof *b);
	if (b == NULL)
		return -1;
	*state = b;
	if (hl_test_relay_new(&b->relay) != 0 ||
	    hl_test_relay_start(&b->relay) != 0 ||
	    hl_test_proxy_start(b->relay.port, &b->proxy) != 0)
		return -1;
	/* Registered through the proxy: the relay address the profile keeps. */
	struct hl_test_relay via = b->relay;
	snprintf(via.url, sizeof via.url, "%s", hl_test_proxy_url(b->proxy));
	if (hl_test_client_new(&b->a) != 0 ||
	    hl_test_client_register(&b->a, &via, "bad.a", NULL) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	struct bad *b = *state;
	if (b == NULL)
		return 0;
	hl_test_client_free(&b->a);
	hl_test_proxy_free(b->proxy);
	hl_test_relay_free(&b->relay);
	free(b);
	return 0;
}

static void
test_error_text_escaped(void **state)
{
	struct bad *b = *state;
	struct hl_test_run r;
	assert_int_equal(hl_test_proxy_answer(b->proxy, "PUT /v1/profile ", 400,
	    "{\"error\":{\"code\":\"bad_request\",\"message\":"
	    "\"x\\u001b[2J\\u001b]0;owned\\u0007\\nforged line\"}}"), 0);
	hl_test_client_run(&b->a, &r, "profile", "--name", "Y", NULL);
	if (r.exit_code == 0 || strstr(r.err, "x\\x1b[2J\\x1b]0;owned\\x07"
	    "\\x0aforged line") == NULL || strchr(r.err, '\x1b') != NULL ||
	    strchr(r.err, '\a') != NULL) {
		hl_test_run_print(&r);
		fail_msg("the relay's error text is not shown escaped");
	}
	hl_test_run_free(&r);
}

static void
test_profile_answer_checked(void **state)
{
	struct bad *b = *state;
	struct hl_test_run r;
	assert_int_equal(hl_test_proxy_answer(b->proxy, "PUT /v1/profile ", 200,
	    "{\"ok\":true}"), 0);
	hl_test_client_run(&b->a, &r, "profile", "--name", "Y", NULL);
	if (r.exit_code == 0 || strstr(r.err, "profile") == NULL) {
		hl_test_run_print(&r);
		fail_msg("a 200 that is not the entry was taken as success");
	}
	hl_test_run_free(&r);
	/* The real relay's answer is. */
	assert_int_equal(hl_test_proxy_answer(b->proxy, NULL, 0, NULL), 0);
	hl_test_client_run(&b->a, &r, "profile", "--name", "Y", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
}

static void
test_fetch_invalid_not_unreachable(void **state)
{
	struct bad *b = *state;
	struct hl_test_run r;
	/* 100000 items: over what the client takes in one answer. */
	size_t n = 100000, cap = 64 + 3 * n;
	char *body = malloc(cap);
	assert_non_null(body);
	size_t at = (size_t)snprintf(body, cap, "{\"messages\":[");
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(body + at, cap - at, "%s{}", i ? "," : "");
	snprintf(body + at, cap - at, "],\"more\":false}");
	assert_int_equal(hl_test_proxy_answer(b->proxy, "GET /v1/messages", 200,
	    body), 0);
	free(body);
	hl_test_client_run(&b->a, &r, "sync", NULL);
	if (strstr(r.out, "unreachable") != NULL ||
	    strstr(r.err, "unreachable") != NULL ||
	    strstr(r.out, "answer is invalid") == NULL) {
		hl_test_run_print(&r);
		fail_msg("an invalid fetch answer was not reported as one");
	}
	hl_test_run_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_error_text_escaped, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_profile_answer_checked, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fetch_invalid_not_unreachable,
		    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
