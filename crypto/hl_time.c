#include "crypto/hl_time.h"
#include "crypto/hl_err.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t
hl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
hl_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
unit_ms(const char *u, size_t n)
{
	static const struct { const char *name; int64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 }, { "w", 604800000 },
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0)
			return units[i].ms;
	return 0;
}

int
hl_duration_parse(const char *s, int64_t max_ms, int64_t *out_ms, char *cause)
{
	const char *p = s;
	int64_t total = 0, last_mult = INT64_MAX;
	if (*p == '\0')
		return hl_fail(cause, HL_EPARSE, "empty duration");
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p))
			return hl_fail(cause, HL_EPARSE,
			    "duration '%s': expected a number at '%s'", s, p);
		const char *start = p;
		int64_t n = 0;
		while (isdigit((unsigned char)*p)) {
			if (n > (INT64_MAX - 9) / 10)
				return hl_fail(cause, HL_EPARSE,
				    "duration '%s' is too long", s);
			n = n * 10 + (*p++ - '0');
		}
		const char *u = p;
		while (isalpha((unsigned char)*p))
			p++;
		int64_t mult = (p == u) ? 1000 : unit_ms(u, (size_t)(p - u));
		if (mult == 0)
			return hl_fail(cause, HL_EPARSE,
			    "duration '%s': unknown unit '%.*s' (use ms, s, m, h, d, w)",
			    s, (int)(p - u), u);
		/* Largest unit first, each once: "1m1m" or "30m1h" is a typo. */
		if (mult >= last_mult)
			return hl_fail(cause, HL_EPARSE,
			    "duration '%s': give units largest first, each once", s);
		last_mult = mult;
		/* A bare number is seconds only when it is the whole duration:
		 * "1h30" is more likely a typo than ninety minutes. */
		if (p == u && !(start == s && *p == '\0'))
			return hl_fail(cause, HL_EPARSE,
			    "duration '%s': expected a unit after %lld", s,
			    (long long)n);
		if (n > (max_ms - total) / mult)
			return hl_fail(cause, HL_EPARSE,
			    "duration '%s' is too long", s);
		total += n * mult;
	}
	*out_ms = total;
	return 0;
}

void
hl_duration_format(int64_t ms, char *out, size_t outlen)
{
	const char *sign = ms < 0 ? "-" : "";
	int64_t v = ms < 0 ? -ms : ms;
	int64_t d = v / 86400000, h = v / 3600000 % 24, m = v / 60000 % 60;
	int64_t sec = v / 1000 % 60;
	if (d > 0)
		snprintf(out, outlen, "%s%lldd%02lldh", sign, (long long)d, (long long)h);
	else if (h > 0)
		snprintf(out, outlen, "%s%lldh%02lldm", sign, (long long)h, (long long)m);
	else if (m > 0)
		snprintf(out, outlen, "%s%lldm%02llds", sign, (long long)m, (long long)sec);
	else if (v >= 1000)
		snprintf(out, outlen, "%s%llds", sign, (long long)sec);
	else
		snprintf(out, outlen, "%s%lldms", sign, (long long)v);
}

/* strftime with a literal format at each call site keeps -Wformat=2 able to
 * check them; this only converts. */
static int
to_tm(int64_t ms, int local, struct tm *tm)
{
	time_t t = (time_t)(ms / 1000);
	return (local ? localtime_r(&t, tm) : gmtime_r(&t, tm)) != NULL;
}

static void
fallback(int64_t ms, char *out)
{
	snprintf(out, HL_TIME_STR, "@%lld", (long long)ms);
}

void
hl_time_utc(int64_t ms, char *out)
{
	struct tm tm;
	if (!to_tm(ms, 0, &tm) ||
	    strftime(out, HL_TIME_STR, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		fallback(ms, out);
}

void
hl_time_local(int64_t ms, char *out)
{
	struct tm tm;
	if (!to_tm(ms, 1, &tm) ||
	    strftime(out, HL_TIME_STR, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		fallback(ms, out);
}

void
hl_time_rfc3339(int64_t ms, char *out)
{
	struct tm tm;
	char base[HL_TIME_STR];
	if (!to_tm(ms, 0, &tm) ||
	    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		fallback(ms, out);
		return;
	}
	snprintf(out, HL_TIME_STR, "%.24s.%03dZ", base,
	    (int)((ms % 1000 + 1000) % 1000));
}

/* Exactly n ASCII digits at *p, advancing it. */
static int
digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

int
hl_time_parse(const char *s, int64_t now_ms, int64_t *out_ms, char *cause)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	if (digits(&p, 4, &y) == 0 && *p == '-') {
		p++;
		if (digits(&p, 2, &mo) != 0 || *p++ != '-' || digits(&p, 2, &d) != 0)
			return hl_fail(cause, HL_EPARSE,
			    "time: expected YYYY-MM-DD[THH:MM[:SS]Z]");
		if (*p == 'T' || *p == ' ') {
			p++;
			if (digits(&p, 2, &h) != 0 || *p++ != ':' ||
			    digits(&p, 2, &mi) != 0)
				return hl_fail(cause, HL_EPARSE,
				    "time: expected HH:MM after the date");
			if (*p == ':') {
				p++;
				if (digits(&p, 2, &sec) != 0)
					return hl_fail(cause, HL_EPARSE,
					    "time: expected two digits of seconds");
			}
			if (*p++ != 'Z')
				return hl_fail(cause, HL_EPARSE,
				    "time: must end in Z (UTC)");
		}
		if (*p != '\0')
			return hl_fail(cause, HL_EPARSE,
			    "time: unexpected text after the time");
		if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
		    d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
			return hl_fail(cause, HL_EPARSE, "time: out of range");
		struct tm tm;
		memset(&tm, 0, sizeof tm);
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
		tm.tm_hour = h;
		tm.tm_min = mi;
		tm.tm_sec = sec;
		time_t t = timegm(&tm);
		if (t == (time_t)-1)
			return hl_fail(cause, HL_EPARSE, "time: out of range");
		*out_ms = (int64_t)t * 1000;
		return 0;
	}
	int64_t ago;
	if (hl_duration_parse(s, INT64_MAX / 2, &ago, NULL) == 0) {
		*out_ms = now_ms - ago;
		return 0;
	}
	return hl_fail(cause, HL_EPARSE,
	    "time: expected YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or a duration");
}
