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
	int64_t total = 0;
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

int
hl_time_parse(const char *s, int64_t now_ms, int64_t *out_ms, char *cause)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	char sep;
	size_t len = strlen(s);
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == 10) {
		if ((size_t)n != len) {
			int m2 = 0;
			if (sscanf(s + n, "%c%2d:%2d%n", &sep, &h, &mi, &m2) != 3 ||
			    (sep != 'T' && sep != ' '))
				return hl_fail(cause, HL_EPARSE,
				    "time '%s': expected YYYY-MM-DD[THH:MM[:SS]Z]", s);
			n += m2;
			if (s[n] == ':') {
				m2 = 0;
				if (sscanf(s + n, ":%2d%n", &sec, &m2) != 1)
					return hl_fail(cause, HL_EPARSE,
					    "time '%s': bad seconds", s);
				n += m2;
			}
			if (strcmp(s + n, "Z") != 0)
				return hl_fail(cause, HL_EPARSE,
				    "time '%s': must end in Z (UTC)", s);
		}
		if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
		    sec > 60 || h < 0 || mi < 0 || sec < 0)
			return hl_fail(cause, HL_EPARSE, "time '%s' is out of range", s);
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
		tm.tm_hour = h;
		tm.tm_min = mi;
		tm.tm_sec = sec;
		time_t t = timegm(&tm);
		if (t == (time_t)-1)
			return hl_fail(cause, HL_EPARSE, "time '%s' is out of range", s);
		*out_ms = (int64_t)t * 1000;
		return 0;
	}
	int64_t ago;
	char why[HL_CAUSE_MAX];
	if (hl_duration_parse(s, INT64_MAX / 2, &ago, why) == 0) {
		*out_ms = now_ms - ago;
		return 0;
	}
	return hl_fail(cause, HL_EPARSE,
	    "time '%s': expected YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or a duration", s);
}
