/*
 * hl_time: wall-clock milliseconds, durations ("90s", "1h30m", "7d") and
 * timestamps as people read them (UTC and local).
 */
#ifndef HL_TIME_H
#define HL_TIME_H

#include <stddef.h>
#include <stdint.h>

#define HL_TIME_STR 40

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t hl_now_ms(void);

/* Milliseconds of a monotonic clock, for timeouts and intervals. */
int64_t hl_mono_ms(void);

/* Parses a duration: one or more <number><unit> with units ms, s, m, h, d,
 * w; a bare number means seconds. The total must fit max_ms. Returns 0 or
 * HL_EPARSE with the reason in cause. */
int hl_duration_parse(const char *s, int64_t max_ms, int64_t *out_ms,
    char *cause);

/* Formats a duration compactly ("2h05m", "45s", "3d04h"). */
void hl_duration_format(int64_t ms, char *out, size_t outlen);

/* "2026-11-27 14:05:09Z" into out (HL_TIME_STR bytes). */
void hl_time_utc(int64_t ms, char *out);

/* "2026-11-27 15:05:09 CET" in the process's local zone (TZ). */
void hl_time_local(int64_t ms, char *out);

/* RFC 3339 with milliseconds, for exports: "2026-11-27T14:05:09.123Z". */
void hl_time_rfc3339(int64_t ms, char *out);

/* Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS]Z" (also with a space instead
 * of T), or a duration meaning that long ago. Returns 0 or HL_EPARSE. */
int hl_time_parse(const char *s, int64_t now_ms, int64_t *out_ms, char *cause);

#endif
