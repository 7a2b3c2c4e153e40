#include "relay/log.h"

#include "crypto/hl_time.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const level_names[] = { "info", "warn", "error" };
/* syslog's LOG_INFO, LOG_WARNING, LOG_ERR. */
static const char *const priorities[] = { "<6>", "<4>", "<3>" };
static atomic_int to_journal;

void
hl_log_init(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat sb;
	int yes = js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &sb) == 0 &&
	    (unsigned long long)sb.st_dev == dev &&
	    (unsigned long long)sb.st_ino == ino;
	atomic_store(&to_journal, yes);
}

void
hl_log(enum hl_log_level level, const char *event, const char *fmt, ...)
{
	char line[2048];
	char ts[HL_TIME_STR];
	hl_time_rfc3339(hl_now_ms(), ts);
	int n = snprintf(line, sizeof line, "%sts=%s level=%s event=%s",
	    atomic_load(&to_journal) ? priorities[level] : "", ts,
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

void
hl_log_budget_init(struct hl_log_budget *b, unsigned per_window,
    int64_t window_ms)
{
	pthread_mutex_init(&b->lock, NULL);
	b->window_ms = window_ms > 0 ? window_ms : 1;
	b->per_window = per_window > 0 ? per_window : 1;
	b->window_start = INT64_MIN;
	b->used = 0;
	b->dropped = 0;
	b->dropped_until = 0;
}

void
hl_log_budget_destroy(struct hl_log_budget *b)
{
	pthread_mutex_destroy(&b->lock);
}

/* The dropped count once the window that dropped last has ended; the
 * lock is held. */
static uint64_t
take_dropped(struct hl_log_budget *b, int64_t now_ms)
{
	if (b->dropped == 0 || now_ms < b->dropped_until)
		return 0;
	uint64_t n = b->dropped;
	b->dropped = 0;
	return n;
}

int
hl_log_budget_take(struct hl_log_budget *b, int64_t now_ms, uint64_t *dropped)
{
	pthread_mutex_lock(&b->lock);
	if (b->window_start == INT64_MIN ||
	    now_ms - b->window_start >= b->window_ms) {
		b->window_start = now_ms;
		b->used = 0;
	}
	*dropped = take_dropped(b, now_ms);
	int ok = b->used < b->per_window;
	if (ok) {
		b->used++;
	} else {
		b->dropped++;
		b->dropped_until = b->window_start + b->window_ms;
	}
	pthread_mutex_unlock(&b->lock);
	return ok;
}

uint64_t
hl_log_budget_flush(struct hl_log_budget *b, int64_t now_ms)
{
	pthread_mutex_lock(&b->lock);
	uint64_t n = take_dropped(b, now_ms);
	pthread_mutex_unlock(&b->lock);
	return n;
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
