#include "relay/log.h"

#include "crypto/hl_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const level_names[] = { "info", "warn", "error" };

void
hl_log(enum hl_log_level level, const char *event, const char *fmt, ...)
{
	char line[2048];
	char ts[HL_TIME_STR];
	hl_time_rfc3339(hl_now_ms(), ts);
	int n = snprintf(line, sizeof line, "ts=%s level=%s event=%s", ts,
	    level_names[level], event);
	if (n < 0)
		return;
	size_t used = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	if (fmt != NULL && fmt[0] != '\0' && used < sizeof line - 2) {
		line[used++] = ' ';
		va_list ap;
		va_start(ap, fmt);
		n = vsnprintf(line + used, sizeof line - used, fmt, ap);
		va_end(ap);
		if (n > 0)
			used += (size_t)n < sizeof line - used ? (size_t)n :
			    sizeof line - used - 1;
	}
	/* A cut line still ends with a newline: the next one starts clean. */
	if (used > sizeof line - 2)
		used = sizeof line - 2;
	line[used++] = '\n';
	fwrite(line, 1, used, stderr);
}

const char *
hl_log_quote(const char *s, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	out[o++] = '"';
	const unsigned char *p = (const unsigned char *)s;
	for (; *p != '\0'; p++) {
		/* Room for the longest escape, the closing quote and NUL. */
		if (o + 4 + 2 > HL_LOG_VALUE_MAX)
			break;
		if (*p == '"' || *p == '\\') {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}
