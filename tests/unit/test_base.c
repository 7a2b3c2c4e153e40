/* The shared base: base64, hex, handles, durations, times, error table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"
#include "crypto/hl_handle.h"
#include "crypto/hl_time.h"

static void
test_base64(void **state)
{
	(void)state;
	static const uint8_t bin[] = { 0x05, 0xff, 0x00, 0x10, 0x80 };
	char cause[HL_CAUSE_MAX];
	char *s = hl_b64_encode(bin, sizeof bin);
	assert_string_equal(s, "Bf8AEIA=");
	uint8_t *out;
	size_t n;
	assert_int_equal(hl_b64_decode(s, strlen(s), 64, &out, &n, cause), 0);
	assert_int_equal(n, sizeof bin);
	assert_memory_equal(out, bin, n);
	free(out);
	free(s);

	assert_int_equal(hl_b64_decode("", 0, 8, &out, &n, cause), 0);
	assert_int_equal(n, 0);
	assert_non_null(out);
	free(out);

	static const char *bad[] = {
		"Bf8AEIA", "Bf8AEI==", "Bf8A EIA=", "Bf8AEIA=\n", "B*8AEIA=",
		"Bf8AEIA=AAAA=", "====", "Bf-_EIA=",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		out = (uint8_t *)"x";
		assert_int_equal(hl_b64_decode(bad[i], strlen(bad[i]), 64, &out, &n,
		    cause), HL_EPARSE);
		assert_null(out);
		assert_non_null(strstr(cause, "base64"));
	}
	assert_int_equal(hl_b64_decode("AAAAAAAA", 8, 5, &out, &n, cause),
	    HL_ETOOBIG);

	uint8_t fixed[5];
	assert_int_equal(hl_b64_decode_exact("Bf8AEIA=", fixed, 5, cause), 0);
	assert_memory_equal(fixed, bin, 5);
	assert_int_equal(hl_b64_decode_exact("Bf8AEIA=", fixed, 4, cause), HL_EPARSE);
	assert_int_equal(hl_b64_decode_exact("Bf8AEIA=", fixed, 6, cause), HL_EPARSE);
	assert_non_null(strstr(cause, "expected 6 bytes, got 5"));
}

static void
test_hex(void **state)
{
	(void)state;
	uint8_t b[3] = { 0xab, 0x01, 0xff };
	char hex[7];
	hl_hex_encode(b, 3, hex);
	assert_string_equal(hex, "ab01ff");
	uint8_t back[3];
	assert_int_equal(hl_hex_decode_exact("AB01ff", back, 3), 0);
	assert_memory_equal(back, b, 3);
	assert_int_equal(hl_hex_decode_exact("ab01f", back, 3), HL_EPARSE);
	assert_int_equal(hl_hex_decode_exact("ab01fg", back, 3), HL_EPARSE);
	assert_int_equal(hl_hex_decode_exact("ab01ff00", back, 3), HL_EPARSE);
	assert_true(hl_is_lowerhex("00ff", 4));
	assert_false(hl_is_lowerhex("00FF", 4));
	assert_false(hl_is_lowerhex("00f", 4));
	assert_false(hl_is_lowerhex("00ff0", 4));
}

static void
test_handles(void **state)
{
	(void)state;
	static const char *good[] = { "ee.cert", "fi.ncsc", "a1", "x-y.z",
	    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc" };
	static const char *bad[] = { "", "a", "Ee.cert", ".ee", "-ee", "ee cert",
	    "ee_cert", "ée.cert",
	    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd" };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_true(hl_handle_valid(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(hl_handle_valid(bad[i]));
	assert_false(hl_handle_valid(NULL));
}

static void
test_durations(void **state)
{
	(void)state;
	int64_t ms;
	char cause[HL_CAUSE_MAX];
	static const struct { const char *in; int64_t ms; } good[] = {
		{ "90", 90000 }, { "90s", 90000 }, { "15m", 900000 },
		{ "2h", 7200000 }, { "7d", 604800000 }, { "1w", 604800000 },
		{ "1h30m", 5400000 }, { "250ms", 250 }, { "0s", 0 },
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_int_equal(hl_duration_parse(good[i].in, INT64_MAX, &ms, cause), 0);
		assert_int_equal(ms, good[i].ms);
	}
	static const char *bad[] = { "", "s", "5x", "-5s", "5 s", "1h30", "1.5h",
	    "99999999999999999999s", "1m1m", "30m1h" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(hl_duration_parse(bad[i], INT64_MAX, &ms, cause),
		    HL_EPARSE);
	assert_int_equal(hl_duration_parse("8d", 7 * 86400000LL, &ms, cause),
	    HL_EPARSE);
	assert_non_null(strstr(cause, "too long"));

	char out[32];
	hl_duration_format(5400000, out, sizeof out);
	assert_string_equal(out, "1h30m");
	hl_duration_format(45000, out, sizeof out);
	assert_string_equal(out, "45s");
	hl_duration_format(-90061000, out, sizeof out);
	assert_string_equal(out, "-1d01h");
}

static void
test_times(void **state)
{
	(void)state;
	char out[HL_TIME_STR];
	int64_t ms;
	char cause[HL_CAUSE_MAX];
	hl_time_utc(1795000000123LL, out);
	assert_string_equal(out, "2026-11-18 11:06:40Z");
	hl_time_rfc3339(1795000000123LL, out);
	assert_string_equal(out, "2026-11-18T11:06:40.123Z");
	/* A POSIX zone string needs no tzdata. */
	setenv("TZ", "EET-2", 1);
	tzset();
	hl_time_local(1795000000123LL, out);
	assert_string_equal(out, "2026-11-18 13:06:40 EET");

	assert_int_equal(hl_time_parse("2026-11-18", 0, &ms, cause), 0);
	assert_int_equal(ms, 1794960000000LL);
	assert_int_equal(hl_time_parse("2026-11-18T11:06:40Z", 0, &ms, cause), 0);
	assert_int_equal(ms, 1795000000000LL);
	assert_int_equal(hl_time_parse("2026-11-18 11:06Z", 0, &ms, cause), 0);
	assert_int_equal(ms, 1794999960000LL);
	assert_int_equal(hl_time_parse("2028-02-29", 0, &ms, cause), 0);
	assert_int_equal(hl_time_parse("2h", 1795000000000LL, &ms, cause), 0);
	assert_int_equal(ms, 1795000000000LL - 7200000);
	static const char *bad[] = { "2026-13-01", "2026-11-18T09:46:40",
	    "2026-11-18T25:00Z", "yesterday", "2026-11-18T09:46:40+02:00",
	    "2026-02-31", "2026-+1-+1", "2026- 1- 1", " 999-01-01",
	    "2026-11-27T 1:+5Z", "2026-11-27x" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(hl_time_parse(bad[i], 0, &ms, cause), HL_EPARSE);
	assert_true(hl_now_ms() > 1700000000000LL);
	assert_true(hl_mono_ms() >= 0);
}

static void
test_errors(void **state)
{
	(void)state;
	char cause[HL_CAUSE_MAX];
	assert_string_equal(hl_strerror(HL_EPASSPHRASE), "wrong passphrase");
	assert_string_equal(hl_strerror(-1001), "libsignal: duplicate message");
	assert_string_equal(hl_strerror(-42424), "unknown error");
	assert_int_equal(hl_fail(cause, HL_EPARSE, "field '%s'", "seq"), HL_EPARSE);
	assert_string_equal(cause, "field 'seq'");
	assert_int_equal(hl_fail(NULL, HL_EIO, "ignored"), HL_EIO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_handles),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
