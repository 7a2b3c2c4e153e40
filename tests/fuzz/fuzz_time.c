/*
 * hl_duration_parse and hl_time_parse on a NUL-terminated copy of the
 * input, then the formatters on whatever they produced.
 *
 * Properties:
 *   - failures are HL_EPARSE with a terminated cause;
 *   - a duration is >= 0 and within the limit, and the limit is exact: the
 *     same text parses under a limit of its own value and fails one below;
 *   - hl_time_parse of a duration is "that long before now"; anything else
 *     it accepts is a date: whole seconds between the years -999 and 10000;
 *   - the formatters write terminated strings within their buffers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hl_err.h"
#include "crypto/hl_time.h"
#include "tests/fuzz/fuzz.h"

/* A fixed "now" keeps every run reproducible: 2026-11-27 14:05:09Z. */
#define NOW_MS INT64_C(1795788309000)
#define DAY_MS INT64_C(86400000)
/* Loose bounds of what "%4d-%2d-%2d" can name, with day and month
 * overflow normalised by timegm: 366-day years either side. */
#define DATE_MIN_MS (-(INT64_C(1970) + 1000) * 366 * DAY_MS)
#define DATE_MAX_MS ((INT64_C(10001) - 1970) * 366 * DAY_MS)
/* hl_time_parse reads durations up to this far back. */
#define AGO_MAX (INT64_MAX / 2)

__attribute__((noreturn)) static void
broken(const char *what, const char *text, int64_t value)
{
	fprintf(stderr, "fuzz_time: property broken: %s: '%s' -> %lld\n",
	    what, text, (long long)value);
	abort();
}

static void
check_failure(int rc, const char *cause, const char *what, const char *text)
{
	if (rc != HL_EPARSE)
		broken(what, text, rc);
	if (memchr(cause, '\0', HL_CAUSE_MAX) == NULL || cause[0] == '\0')
		broken("cause missing or not terminated", text, rc);
}

static void
check_formats(int64_t ms)
{
	char out[HL_TIME_STR + 1];
	/* One byte more than promised, marked, to see it stays untouched. */
	out[HL_TIME_STR] = 'x';
	hl_time_utc(ms, out);
	if (memchr(out, '\0', HL_TIME_STR) == NULL || out[HL_TIME_STR] != 'x')
		broken("hl_time_utc overflows", "", ms);
	hl_time_rfc3339(ms, out);
	if (memchr(out, '\0', HL_TIME_STR) == NULL || out[HL_TIME_STR] != 'x')
		broken("hl_time_rfc3339 overflows", "", ms);
	hl_time_local(ms, out);
	if (memchr(out, '\0', HL_TIME_STR) == NULL || out[HL_TIME_STR] != 'x')
		broken("hl_time_local overflows", "", ms);
	char dur[24];
	hl_duration_format(ms, dur, sizeof dur);
	if (memchr(dur, '\0', sizeof dur) == NULL)
		broken("hl_duration_format overflows", "", ms);
}

static void
check_duration(const char *text)
{
	char cause[HL_CAUSE_MAX];
	int64_t v = -1, w = -1;
	int rc = hl_duration_parse(text, INT64_MAX, &v, cause);
	if (rc != 0) {
		check_failure(rc, cause, "duration: unexpected failure", text);
		return;
	}
	if (v < 0)
		broken("negative duration", text, v);
	rc = hl_duration_parse(text, v, &w, cause);
	if (rc != 0 || w != v)
		broken("duration refused under a limit of its own value", text,
		    v);
	if (v > 0) {
		rc = hl_duration_parse(text, v - 1, &w, cause);
		if (rc != HL_EPARSE)
			broken("duration accepted over its limit", text, v);
	}
	check_formats(v);
}

static void
check_time(const char *text)
{
	char cause[HL_CAUSE_MAX];
	int64_t t = 0, ago = -1;
	int is_duration = hl_duration_parse(text, AGO_MAX, &ago, cause) == 0;
	int rc = hl_time_parse(text, NOW_MS, &t, cause);
	if (rc != 0) {
		if (is_duration)
			broken("time refuses a duration", text, ago);
		check_failure(rc, cause, "time: unexpected failure", text);
		return;
	}
	if (is_duration) {
		if (t != NOW_MS - ago)
			broken("time of a duration is not now minus it", text, t);
	} else if (t % 1000 != 0 || t < DATE_MIN_MS || t > DATE_MAX_MS) {
		broken("date out of range", text, t);
	}
	check_formats(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	if (size > 0)
		memcpy(text, data, size);
	text[size] = '\0';
	check_duration(text);
	check_time(text);
	free(text);
	return 0;
}
