/* Token buckets: bursts, refill, Retry-After, separate keys, bounded
 * memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/hl_err.h"
#include "relay/ratelimit.h"

static void
test_burst_and_refill(void **state)
{
	(void)state;
	struct hl_ratelimit *rl;
	assert_int_equal(hl_ratelimit_new(3, 60000, 16, &rl), 0);
	int64_t retry = -1;
	for (int i = 0; i < 3; i++)
		assert_int_equal(hl_ratelimit_take(rl, 1, 1000, &retry), 0);
	assert_int_equal(hl_ratelimit_take(rl, 1, 1000, &retry), HL_ERATE);
	/* One token comes back every 20 s. */
	assert_int_equal(retry, 20);
	assert_int_equal(hl_ratelimit_take(rl, 1, 1000 + 19999, &retry), HL_ERATE);
	assert_int_equal(retry, 1);
	assert_int_equal(hl_ratelimit_take(rl, 1, 1000 + 20000, &retry), 0);
	assert_int_equal(hl_ratelimit_take(rl, 1, 1000 + 20000, &retry), HL_ERATE);
	/* Another key has its own bucket. */
	assert_int_equal(hl_ratelimit_take(rl, 2, 1000, &retry), 0);
	/* A full window later the bucket is full again, and no fuller. */
	assert_int_equal(hl_ratelimit_take(rl, 1, 10000000, &retry), 0);
	assert_int_equal(hl_ratelimit_take(rl, 1, 10000000, &retry), 0);
	assert_int_equal(hl_ratelimit_take(rl, 1, 10000000, &retry), 0);
	assert_int_equal(hl_ratelimit_take(rl, 1, 10000000, &retry), HL_ERATE);
	/* A clock that goes back refills nothing. */
	assert_int_equal(hl_ratelimit_take(rl, 1, 5, &retry), HL_ERATE);
	hl_ratelimit_free(rl);
}

static void
test_bounded(void **state)
{
	(void)state;
	struct hl_ratelimit *rl;
	assert_int_equal(hl_ratelimit_new(1, 1000, 4, &rl), 0);
	int64_t retry;
	for (uint64_t k = 0; k < 4; k++)
		assert_int_equal(hl_ratelimit_take(rl, k, 0, &retry), 0);
	assert_int_equal(hl_ratelimit_size(rl), 4);
	/* Every bucket is in use: a fifth key is refused, not let through. */
	assert_int_equal(hl_ratelimit_take(rl, 99, 10, &retry), HL_ERATE);
	assert_int_equal(retry, 1);
	/* Once they have refilled they are dropped to make room. */
	assert_int_equal(hl_ratelimit_take(rl, 99, 2000, &retry), 0);
	assert_int_equal(hl_ratelimit_size(rl), 1);
	hl_ratelimit_free(rl);
	assert_int_equal(hl_ratelimit_new(0, 1000, 4, &rl), HL_EINVAL);
	assert_int_equal(hl_ratelimit_new(1, 0, 4, &rl), HL_EINVAL);
	assert_int_equal(hl_ratelimit_new(INT64_MAX, 2, 4, &rl), HL_EINVAL);
	hl_ratelimit_free(NULL);
}

static void
test_give_back(void **state)
{
	(void)state;
	struct hl_ratelimit *rl;
	assert_int_equal(hl_ratelimit_new(2, 3600000, 16, &rl), 0);
	int64_t retry;
	/* Attempts given back do not count: any number of them pass. */
	for (int i = 0; i < 50; i++) {
		assert_int_equal(hl_ratelimit_take(rl, 7, 1000, &retry), 0);
		hl_ratelimit_give(rl, 7);
	}
	assert_int_equal(hl_ratelimit_take(rl, 7, 1000, &retry), 0);
	assert_int_equal(hl_ratelimit_take(rl, 7, 1000, &retry), 0);
	assert_int_equal(hl_ratelimit_take(rl, 7, 1000, &retry), HL_ERATE);
	/* Never past a full bucket, and a key never seen is untouched. */
	hl_ratelimit_give(rl, 7);
	hl_ratelimit_give(rl, 7);
	hl_ratelimit_give(rl, 7);
	hl_ratelimit_give(rl, 8);
	assert_int_equal(hl_ratelimit_take(rl, 7, 1000, &retry), 0);
	assert_int_equal(hl_ratelimit_take(rl, 7, 1000, &retry), 0);
	assert_int_equal(hl_ratelimit_take(rl, 7, 1000, &retry), HL_ERATE);
	hl_ratelimit_free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_and_refill),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_give_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
