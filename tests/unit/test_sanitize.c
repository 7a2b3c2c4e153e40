/* The display sanitizer: every class of dangerous or malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "client/sanitize.h"

/* Sanitizes s[0..len) with flags and compares with want. */
static void
check(const char *s, size_t len, int flags, const char *want)
{
	char *got = hl_sanitize(s, len, flags);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

#define CHECK(lit, flags, want) check(lit, sizeof(lit) - 1, flags, want)

static void
test_plain_and_utf8_kept(void **state)
{
	(void)state;
	CHECK("", 0, "");
	CHECK("hello, world ~!", 0, "hello, world ~!");
	/* Accents, a combining mark, CJK (wide), an emoji (4 bytes). */
	CHECK("caf\xc3\xa9 e\xcc\x81 \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x98\x80", 0,
	    "caf\xc3\xa9 e\xcc\x81 \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x98\x80");
	/* Backslashes are text, kept as they are. */
	CHECK("a\\x1bb", 0, "a\\x1bb");
	/* The highest code point and the first after the surrogates. */
	CHECK("\xf4\x8f\xbf\xbf\xee\x80\x80", 0, "\xf4\x8f\xbf\xbf\xee\x80\x80");
	/* Near the escaped characters but not among them: U+202F, U+2065,
	 * U+206A, U+200D, U+2027, U+061B. */
	CHECK("\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa\xe2\x80\x8d\xe2\x80\xa7\xd8\x9b",
	    0, "\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa\xe2\x80\x8d\xe2\x80\xa7\xd8\x9b");
}

static void
test_c0_del(void **state)
{
	(void)state;
	CHECK("\x1b[2J\x1b]0;pwned\x07", 0, "\\x1b[2J\\x1b]0;pwned\\x07");
	CHECK("a\rb\bc\x7f" "d", 0, "a\\x0db\\x08c\\x7fd");
	check("a\0b", 3, 0, "a\\x00b");
	CHECK("\x01\x1f", 0, "\\x01\\x1f");
}

static void
test_newline_tab_and_oneline(void **state)
{
	(void)state;
	CHECK("line1\nline2\tcol", 0, "line1\nline2\tcol");
	CHECK("line1\nline2\tcol", HL_SANITIZE_ONELINE, "line1\\x0aline2\\x09col");
	CHECK("\x1b\n", HL_SANITIZE_ONELINE, "\\x1b\\x0a");
}

static void
test_c1_by_code_point(void **state)
{
	(void)state;
	/* U+009B (CSI), U+0085 (NEL), U+0080 and U+009F as UTF-8. */
	CHECK("\xc2\x9b" "31m\xc2\x85\xc2\x80\xc2\x9f", 0, "\\x9b31m\\x85\\x80\\x9f");
	/* U+00A0 is the first character after C1 and is kept. */
	CHECK("\xc2\xa0", 0, "\xc2\xa0");
	/* A raw 8-bit CSI byte is not UTF-8 at all. */
	CHECK("\x9b" "31m", 0, "\\x9b31m");
}

static void
test_bidi(void **state)
{
	(void)state;
	CHECK("a\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad\xe2\x80\xae" "b", 0,
	    "a<U+202A><U+202B><U+202C><U+202D><U+202E>b");
	CHECK("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", 0,
	    "<U+2066><U+2067><U+2068><U+2069>");
	/* Direction marks and the line and paragraph separators. */
	CHECK("a\xd8\x9c\xe2\x80\x8e\xe2\x80\x8f\xe2\x80\xa8\xe2\x80\xa9" "b", 0,
	    "a<U+061C><U+200E><U+200F><U+2028><U+2029>b");
	CHECK("\xe2\x80\xa8", HL_SANITIZE_ONELINE, "<U+2028>");
}

static void
test_invalid_utf8(void **state)
{
	(void)state;
	/* Overlong encodings of '/', of NUL and of U+07FF / U+FFFF. */
	CHECK("\xc0\xaf", 0, "\\xc0\\xaf");
	CHECK("\xc1\xbf", 0, "\\xc1\\xbf");
	CHECK("\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf");
	CHECK("\xe0\x9f\xbf", 0, "\\xe0\\x9f\\xbf");
	CHECK("\xf0\x8f\xbf\xbf", 0, "\\xf0\\x8f\\xbf\\xbf");
	/* An overlong ESC must not turn back into ESC. */
	CHECK("\xc0\x9b", 0, "\\xc0\\x9b");
	/* Surrogates U+D800 and U+DFFF. */
	CHECK("\xed\xa0\x80", 0, "\\xed\\xa0\\x80");
	CHECK("\xed\xbf\xbf", 0, "\\xed\\xbf\\xbf");
	/* Above U+10FFFF and bytes that never start a sequence. */
	CHECK("\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80");
	CHECK("\xf5\xfe\xff", 0, "\\xf5\\xfe\\xff");
	/* Stray continuation bytes. */
	CHECK("a\x80\xbf" "b", 0, "a\\x80\\xbfb");
	/* Truncated sequences, at the end and before ASCII. */
	CHECK("ok\xe2\x80", 0, "ok\\xe2\\x80");
	CHECK("\xf0\x9f\x98", 0, "\\xf0\\x9f\\x98");
	CHECK("\xc3" "A", 0, "\\xc3A");
	/* A truncated sequence followed by a valid one keeps the valid one. */
	CHECK("\xe6\xbc\xe6\xbc\xa2", 0, "\\xe6\\xbc\xe6\xbc\xa2");
	/* The length bounds the input: a sequence cut by len is invalid. */
	check("\xc3\xa9", 1, 0, "\\xc3");
}

static void
test_worst_case_size(void **state)
{
	(void)state;
	char in[300];
	memset(in, 0x1b, sizeof in);
	char *got = hl_sanitize(in, sizeof in, HL_SANITIZE_ONELINE);
	assert_non_null(got);
	assert_int_equal(strlen(got), 4 * sizeof in);
	free(got);
	/* All U+061C: eight characters for two bytes, the worst case. */
	char alm[300];
	for (size_t i = 0; i < sizeof alm; i += 2)
		memcpy(alm + i, "\xd8\x9c", 2);
	got = hl_sanitize(alm, sizeof alm, 0);
	assert_non_null(got);
	assert_int_equal(strlen(got), 8 * (sizeof alm / 2));
	free(got);
	/* All bidi: eight characters for three bytes. */
	char bidi[300];
	for (size_t i = 0; i < sizeof bidi; i += 3)
		memcpy(bidi + i, "\xe2\x80\xae", 3);
	got = hl_sanitize(bidi, sizeof bidi, 0);
	assert_non_null(got);
	assert_int_equal(strlen(got), 8 * (sizeof bidi / 3));
	free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_utf8_kept),
		cmocka_unit_test(test_c0_del),
		cmocka_unit_test(test_newline_tab_and_oneline),
		cmocka_unit_test(test_c1_by_code_point),
		cmocka_unit_test(test_bidi),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_worst_case_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
