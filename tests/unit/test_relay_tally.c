/* The tally: counts per key with a cap, a fixed number of keys, slots
 * freed and reused under churn without losing any key's count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "crypto/hl_err.h"
#include "relay/tally.h"

static void
test_take_and_give(void **state)
{
	(void)state;
	struct hl_tally *t = NULL;
	assert_int_equal(hl_tally_new(0, &t), HL_EINVAL);
	assert_null(t);
	assert_int_equal(hl_tally_new(2, &t), 0);
	assert_int_equal(hl_tally_take(t, 7, 2), 0);
	assert_int_equal(hl_tally_take(t, 7, 2), 0);
	assert_int_equal(hl_tally_take(t, 7, 2), HL_ERATE);
	assert_int_equal(hl_tally_count(t, 7), 2);
	/* A limit is per call: a higher one lets the same key grow. */
	assert_int_equal(hl_tally_take(t, 7, 3), 0);
	assert_int_equal(hl_tally_count(t, 7), 3);
	assert_int_equal(hl_tally_take(t, 8, 1), 0);
	/* Two keys held: a third is refused until one leaves. */
	assert_int_equal(hl_tally_take(t, 9, 5), HL_ENOMEM);
	assert_int_equal(hl_tally_keys(t), 2);
	hl_tally_give(t, 8);
	assert_int_equal(hl_tally_count(t, 8), 0);
	assert_int_equal(hl_tally_keys(t), 1);
	assert_int_equal(hl_tally_take(t, 9, 5), 0);
	/* Giving what a key does not hold changes nothing. */
	hl_tally_give(t, 12345);
	assert_int_equal(hl_tally_keys(t), 2);
	hl_tally_give(t, 7);
	hl_tally_give(t, 7);
	hl_tally_give(t, 7);
	hl_tally_give(t, 7);
	assert_int_equal(hl_tally_count(t, 7), 0);
	assert_int_equal(hl_tally_count(t, 9), 1);
	assert_int_equal(hl_tally_keys(t), 1);
	hl_tally_free(t);
	hl_tally_free(NULL);
}

/* Many keys in and out in an order that makes probe runs wrap and shift:
 * every count stays what a plain array says it is. */
static void
test_churn(void **state)
{
	(void)state;
	enum { KEYS = 200, ROUNDS = 20000 };
	struct hl_tally *t = NULL;
	assert_int_equal(hl_tally_new(KEYS, &t), 0);
	unsigned want[KEYS] = { 0 };
	uint64_t x = 88172645463325252ULL;
	for (int i = 0; i < ROUNDS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t k = (size_t)(x % KEYS);
		/* Sequential and hashed-looking keys alike. */
		uint64_t key = (k % 2) ? (uint64_t)k : (uint64_t)k * 0x9e3779b97f4a7c15ULL;
		if ((x >> 20) % 3 == 0 && want[k] > 0) {
			hl_tally_give(t, key);
			want[k]--;
		} else {
			int rc = hl_tally_take(t, key, 4);
			if (want[k] == 4) {
				assert_int_equal(rc, HL_ERATE);
			} else {
				assert_int_equal(rc, 0);
				want[k]++;
			}
		}
	}
	size_t held = 0;
	for (size_t k = 0; k < KEYS; k++) {
		uint64_t key = (k % 2) ? (uint64_t)k : (uint64_t)k * 0x9e3779b97f4a7c15ULL;
		assert_int_equal(hl_tally_count(t, key), want[k]);
		held += want[k] > 0;
	}
	assert_int_equal(hl_tally_keys(t), held);
	hl_tally_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_and_give),
		cmocka_unit_test(test_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
