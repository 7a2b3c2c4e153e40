/*
 * log: one line per event on stderr, key=value pairs, for journald and
 * grep. Lines are written whole, so threads never interleave them. Callers
 * never pass tokens, codes, bodies or keys.
 */
#ifndef HL_RELAY_LOG_H
#define HL_RELAY_LOG_H

#include <stddef.h>

enum hl_log_level {
	HL_LOG_INFO,
	HL_LOG_WARN,
	HL_LOG_ERROR,
};

#define HL_LOG_VALUE_MAX 256

/* Writes "ts=... level=... event=EVENT " followed by the formatted pairs.
 * fmt holds key=value pairs; values that may contain spaces or quotes go
 * through hl_log_quote(). */
void hl_log(enum hl_log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Quotes s for a value: "..." with \" \\ and control bytes as \xNN, cut
 * to fit out (HL_LOG_VALUE_MAX bytes). Returns out. */
const char *hl_log_quote(const char *s, char *out);

#endif
