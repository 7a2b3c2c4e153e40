/* Tokens and enrollment codes: formats, typed variants, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crypto/hl_err.h"
#include "relay/secret.h"

static int
init(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void
test_token(void **state)
{
	(void)state;
	char hex[HL_SECRET_TOKEN_HEX + 1], hex2[HL_SECRET_TOKEN_HEX + 1];
	uint8_t hash[HL_SECRET_HASH], again[HL_SECRET_HASH], h2[HL_SECRET_HASH];
	hl_secret_token_new(hex, hash);
	hl_secret_token_new(hex2, h2);
	assert_int_equal(strlen(hex), 64);
	assert_string_not_equal(hex, hex2);
	for (size_t i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", hex[i]));
	char header[100];
	snprintf(header, sizeof header, "Bearer %s", hex);
	assert_int_equal(hl_secret_token_parse(header, again), 0);
	assert_memory_equal(hash, again, sizeof hash);
	snprintf(header, sizeof header, "bearer %s", hex);
	assert_int_equal(hl_secret_token_parse(header, again), 0);
	/* The hash is of the 32 bytes: known answer for all-zero bytes. */
	assert_int_equal(hl_secret_token_parse("Bearer 0000000000000000000000000000"
	    "000000000000000000000000000000000000", again), 0);
	uint8_t zero[32] = { 0 }, want[32];
	crypto_hash_sha256(want, zero, sizeof zero);
	assert_memory_equal(again, want, sizeof want);

	char bad[6][120];
	snprintf(bad[0], sizeof bad[0], "Bearer %.63s", hex);
	snprintf(bad[1], sizeof bad[1], "Bearer %sa", hex);
	snprintf(bad[2], sizeof bad[2], "Basic %s", hex);
	snprintf(bad[3], sizeof bad[3], "Bearer  %s", hex);
	snprintf(bad[4], sizeof bad[4], "Bearer %s", hex);
	bad[4][7] = 'A';
	snprintf(bad[5], sizeof bad[5], "Bearer %.62sg0", hex);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(hl_secret_token_parse(bad[i], again), HL_EAUTH);
	assert_int_equal(hl_secret_token_parse(NULL, again), HL_EAUTH);
	assert_int_equal(hl_secret_token_parse("", again), HL_EAUTH);
}

static void
test_code_format(void **state)
{
	(void)state;
	char code[HL_SECRET_CODE_STR + 1];
	uint8_t hash[HL_SECRET_HASH], h[HL_SECRET_HASH];
	for (int round = 0; round < 50; round++) {
		hl_secret_code_new(code, hash);
		assert_int_equal(strlen(code), 29);
		for (size_t i = 0; i < 29; i++) {
			if (i % 5 == 4)
				assert_int_equal(code[i], '-');
			else
				assert_non_null(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ",
				    code[i]));
		}
		assert_int_equal(hl_secret_code_hash(code, h, NULL), 0);
		assert_memory_equal(hash, h, sizeof h);
	}
}

static void
test_code_typed(void **state)
{
	(void)state;
	uint8_t a[HL_SECRET_HASH], b[HL_SECRET_HASH];
	char cause[HL_CAUSE_MAX];
	assert_int_equal(hl_secret_code_hash("K7QD-M2XW-9FHT-R4PV-ZC6N-8JYB", a, cause),
	    0);
	static const char *const same[] = {
		"k7qd-m2xw-9fht-r4pv-zc6n-8jyb",
		"K7QDM2XW9FHTR4PVZC6N8JYB",
		"K7QD M2XW 9FHT R4PV ZC6N 8JYB",
		"K7QD--M2XW-9FHT-R4PV-ZC6N-8JYB-",
	};
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		assert_int_equal(hl_secret_code_hash(same[i], b, cause), 0);
		assert_memory_equal(a, b, sizeof a);
	}
	/* O means 0, I and L mean 1. */
	assert_int_equal(hl_secret_code_hash("0000-1111-0000-1111-0000-1111", a, cause),
	    0);
	assert_int_equal(hl_secret_code_hash("oOoO-iIlL-0000-1111-0000-1111", b, cause),
	    0);
	assert_memory_equal(a, b, sizeof a);
	/* A different last symbol is a different code. */
	assert_int_equal(hl_secret_code_hash("0000-1111-0000-1111-0000-1112", b, cause),
	    0);
	assert_memory_not_equal(a, b, sizeof a);

	static const struct {
		const char *code;
		const char *needle;
	} bad[] = {
		{ "", "expected 24 symbols, got 0" },
		{ "K7QD-M2XW-9FHT-R4PV-ZC6N", "expected 24 symbols, got 20" },
		{ "K7QD-M2XW-9FHT-R4PV-ZC6N-8JYB-A", "more than 24 symbols" },
		{ "K7QD-M2XW-9FHT-R4PV-ZC6N-8JYU", "character 29 is not a code symbol" },
		{ "K7QD_M2XW", "character 5" },
		{ "K7QD-M2XW-9FHT-R4PV-ZC6N-8JY\xc3\xa4", "not a code symbol" },
		{ "----------------------------------------------------------------"
		    "-", "longer than 64" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause[0] = '\0';
		if (hl_secret_code_hash(bad[i].code, b, cause) != HL_EPARSE ||
		    strstr(cause, bad[i].needle) == NULL)
			fail_msg("case %zu: cause '%s'", i, cause);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_code_format),
		cmocka_unit_test(test_code_typed),
	};
	return cmocka_run_group_tests(tests, init, NULL);
}
