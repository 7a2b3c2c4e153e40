/*
 * log: one line per event on stderr, key=value pairs, for journald and
 * grep. Lines are written whole, so threads never interleave them. Callers
 * never pass tokens, codes, bodies or keys.
 */
#ifndef HL_RELAY_LOG_H
#define HL_RELAY_LOG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

enum hl_log_level {
	HL_LOG_INFO,
	HL_LOG_WARN,
	HL_LOG_ERROR,
};

#define HL_LOG_VALUE_MAX 256

/* Looks whether standard error is the journal ($JOURNAL_STREAM names its
 * device and inode, as systemd sets it): then every line starts with its
 * syslog priority ("<6>", "<4>", "<3>"), which journald keeps as the
 * entry's priority. Called at start; until then, and when it is not,
 * lines have no prefix. */
void hl_log_init(void);

/* Writes "ts=... level=... event=EVENT " followed by the formatted pairs.
 * fmt holds key=value pairs; values that may contain spaces or quotes go
 * through hl_log_quote(). */
void hl_log(enum hl_log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A budget of lines per window, for events that clients can provoke at
 * will (libmicrohttpd's complaints, refused connections): an attack must
 * not flood the journal. Lines over the budget are counted, and the count
 * is reported in one line once their window has ended. Thread-safe. */
struct hl_log_budget {
	pthread_mutex_t lock;
	int64_t window_ms;
	int64_t window_start;
	unsigned per_window;
	unsigned used;
	uint64_t dropped;        /* in windows that ended or the current one */
	int64_t dropped_until;   /* the end of the window that dropped last */
};

/* Allows per_window lines every window_ms (both at least 1). */
void hl_log_budget_init(struct hl_log_budget *b, unsigned per_window,
    int64_t window_ms);

void hl_log_budget_destroy(struct hl_log_budget *b);

/* May a line be written at now_ms (a monotonic clock)? 1 or 0; a refused
 * line is counted. *dropped gets the lines refused in windows that have
 * ended, to be reported before this one (0 when none; they are reported
 * once). */
int hl_log_budget_take(struct hl_log_budget *b, int64_t now_ms,
    uint64_t *dropped);

/* The lines refused in windows that have ended by now_ms, once: for a
 * timer, so that the summary comes even when no further line does. */
uint64_t hl_log_budget_flush(struct hl_log_budget *b, int64_t now_ms);

/* Quotes s for a value: "..." with \" \\ and control bytes as \xNN, cut
 * to fit out (HL_LOG_VALUE_MAX bytes). Returns out. */
const char *hl_log_quote(const char *s, char *out);

#endif
