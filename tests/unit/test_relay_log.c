/* The log: quoting values, and the budget that keeps what clients can
 * provoke from flooding the journal (lines refused are reported once, in
 * one count, after their window). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "relay/log.h"

static void
test_budget(void **state)
{
	(void)state;
	struct hl_log_budget b;
	uint64_t dropped = 99;
	hl_log_budget_init(&b, 3, 60000);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(hl_log_budget_take(&b, 1000 + i, &dropped), 1);
		assert_int_equal(dropped, 0);
	}
	/* Over budget: refused and counted, not yet reported. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(hl_log_budget_take(&b, 2000 + i, &dropped), 0);
		assert_int_equal(dropped, 0);
	}
	assert_int_equal(hl_log_budget_flush(&b, 60999), 0);
	/* The window has ended: the count comes once. */
	assert_int_equal(hl_log_budget_flush(&b, 61000), 5);
	assert_int_equal(hl_log_budget_flush(&b, 61001), 0);
	/* A new window has its own budget. */
	assert_int_equal(hl_log_budget_take(&b, 61002, &dropped), 1);
	assert_int_equal(dropped, 0);
	assert_int_equal(hl_log_budget_take(&b, 61003, &dropped), 1);
	assert_int_equal(hl_log_budget_take(&b, 61004, &dropped), 1);
	assert_int_equal(hl_log_budget_take(&b, 61005, &dropped), 0);
	assert_int_equal(hl_log_budget_take(&b, 61006, &dropped), 0);
	/* Without a timer, the next line after the window brings the count
	 * along. */
	assert_int_equal(hl_log_budget_take(&b, 200000, &dropped), 1);
	assert_int_equal(dropped, 2);
	assert_int_equal(hl_log_budget_flush(&b, 300000), 0);
	hl_log_budget_destroy(&b);
}

static void
test_quote(void **state)
{
	(void)state;
	char out[HL_LOG_VALUE_MAX];
	assert_string_equal(hl_log_quote("a \"b\"\\\n", out),
	    "\"a \\\"b\\\"\\\\\\x0a\"");
	char longer[600];
	memset(longer, 'x', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	hl_log_quote(longer, out);
	assert_true(strlen(out) < HL_LOG_VALUE_MAX);
	assert_int_equal(out[strlen(out) - 1], '"');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
