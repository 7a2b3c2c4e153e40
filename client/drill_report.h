/*
 * drill_report: the report of a communication check: per contact, when the
 * check was sent, delivered and acknowledged, the response time, and the
 * verdict against the deadline; a summary (response rate, median and 90th
 * percentile); and the same as text, CSV, JSON or one self-contained HTML
 * page with an SVG chart. Knows nothing of the store or the network: the
 * rows come filled in (drill.h fills them from the client's store).
 */
#ifndef HL_DRILL_REPORT_H
#define HL_DRILL_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto/hl_content.h"

#define HL_DRILL_ID_HEX 12

enum hl_drill_verdict {
	HL_DV_PASS,       /* acknowledged by the deadline */
	HL_DV_LATE,       /* acknowledged after it */
	HL_DV_NO_ANSWER,  /* no acknowledgement and the deadline has passed */
	HL_DV_WAITING,    /* no acknowledgement yet, the deadline is ahead */
};

/* One contact of a drill. Times are Unix ms, 0 when not reached. */
struct hl_drill_row {
	char peer[HL_HANDLE_MAX + 1];
	char msg_id[HL_ID_HEX + 1];      /* "" when the check was never queued */
	const char *state;               /* the state shown (hl_out_state), static */
	int64_t sent_ms;                 /* accepted by the relay */
	int64_t delivered_ms;            /* the receipt came back */
	int64_t acked_ms;                /* the contact acknowledged */
	int64_t ack_by_ms;               /* the deadline */
	enum hl_response response;
	char *note;                      /* owned; the contact's note, or NULL */
	char *reason;                    /* owned; why not sent, or NULL */
	char escalated_to[HL_HANDLE_MAX + 1];
};

struct hl_drill_report {
	char id[HL_DRILL_ID_HEX + 1];
	int64_t started_ms;
	int64_t ack_within_ms;
	int64_t now_ms;                  /* when the report was made */
	char *note;                      /* owned; the coordinator's, or NULL */
	struct hl_drill_row *rows;       /* owned */
	size_t n;
};

struct hl_drill_summary {
	size_t contacts, delivered, in_time, late, no_answer, waiting;
	double rate;                     /* in_time / contacts, 0..1 */
	size_t n_times;                  /* acknowledged rows (in time or late) */
	int64_t median_ms, p90_ms;       /* over those; 0 when none */
};

/* The verdict of a row at time now_ms. */
enum hl_drill_verdict hl_drill_verdict(const struct hl_drill_row *r,
    int64_t now_ms);
const char *hl_drill_verdict_name(enum hl_drill_verdict v);

/* The response time of a row: acknowledged minus sent (queued when it was
 * never marked sent), -1 when not acknowledged. */
int64_t hl_drill_response_ms(const struct hl_drill_row *r,
    int64_t started_ms);

/* Median of v (the mean of the two middle values for an even count) and
 * the p-th percentile by nearest rank (the smallest value with at least p
 * percent of values at or below it). v is sorted in place. 0 for n = 0. */
int64_t hl_drill_median(int64_t *v, size_t n);
int64_t hl_drill_percentile(int64_t *v, size_t n, int p);

/* Fills s from r. Returns 0 or HL_ENOMEM. */
int hl_drill_summarize(const struct hl_drill_report *r,
    struct hl_drill_summary *s);

enum hl_drill_format {
	HL_DRILL_TEXT, HL_DRILL_CSV, HL_DRILL_JSON, HL_DRILL_HTML,
	/* Text within 80 columns, two lines a contact (times of day, UTC):
	 * for the terminal interface; not a choice of the command line. */
	HL_DRILL_NARROW,
};
/* "text", "csv", "json", "html": 0 and *out, or HL_EINVAL. */
int hl_drill_format_parse(const char *s, enum hl_drill_format *out);

/* Writes the report. Text from other people (notes, reasons) goes through
 * the display sanitizer in text and CSV, is exact in JSON and escaped in
 * HTML. Returns 0, HL_EIO when f failed, or HL_ENOMEM. */
int hl_drill_report_write(FILE *f, const struct hl_drill_report *r,
    enum hl_drill_format fmt);

/* One line of the history: a drill and its summary. */
struct hl_drill_hist {
	char id[HL_DRILL_ID_HEX + 1];
	int64_t started_ms;
	struct hl_drill_summary s;
};

/* The history as text or HTML (an SVG chart of the response rate and the
 * median time over time). Other formats: HL_EINVAL. */
int hl_drill_history_write(FILE *f, const struct hl_drill_hist *h, size_t n,
    enum hl_drill_format fmt);

/* Frees what r owns and zeroes it. */
void hl_drill_report_clear(struct hl_drill_report *r);

#endif
