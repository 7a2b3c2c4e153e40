#include "client/drill_report.h"
#include "client/sanitize.h"
#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum hl_drill_verdict
hl_drill_verdict(const struct hl_drill_row *r, int64_t now_ms)
{
	if (r->acked_ms > 0)
		return r->ack_by_ms > 0 && r->acked_ms > r->ack_by_ms ?
		    HL_DV_LATE : HL_DV_PASS;
	if (r->msg_id[0] != '\0' && r->ack_by_ms > 0 && now_ms <= r->ack_by_ms)
		return HL_DV_WAITING;
	return HL_DV_NO_ANSWER;
}

const char *
hl_drill_verdict_name(enum hl_drill_verdict v)
{
	switch (v) {
	case HL_DV_PASS: return "pass";
	case HL_DV_LATE: return "late";
	case HL_DV_WAITING: return "waiting";
	default: return "no answer";
	}
}

int64_t
hl_drill_response_ms(const struct hl_drill_row *r, int64_t started_ms)
{
	if (r->acked_ms <= 0)
		return -1;
	int64_t from = r->sent_ms > 0 ? r->sent_ms : started_ms;
	return r->acked_ms > from ? r->acked_ms - from : 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int64_t
hl_drill_median(int64_t *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_i64);
	if (n % 2 == 1)
		return v[n / 2];
	/* Halves first: the sum of two large times must not overflow. */
	return v[n / 2 - 1] / 2 + v[n / 2] / 2 + (v[n / 2 - 1] % 2 + v[n / 2] % 2) / 2;
}

int64_t
hl_drill_percentile(int64_t *v, size_t n, int p)
{
	if (n == 0)
		return 0;
	if (p < 1)
		p = 1;
	if (p > 100)
		p = 100;
	qsort(v, n, sizeof *v, cmp_i64);
	/* Nearest rank: ceil(p/100 * n), counted from 1. */
	size_t rank = ((size_t)p * n + 99) / 100;
	return v[rank > 0 ? rank - 1 : 0];
}

int
hl_drill_summarize(const struct hl_drill_report *r, struct hl_drill_summary *s)
{
	memset(s, 0, sizeof *s);
	int64_t *t = calloc(r->n ? r->n : 1, sizeof *t);
	if (t == NULL)
		return HL_ENOMEM;
	s->contacts = r->n;
	for (size_t i = 0; i < r->n; i++) {
		const struct hl_drill_row *row = &r->rows[i];
		if (row->delivered_ms > 0 || row->acked_ms > 0)
			s->delivered++;
		switch (hl_drill_verdict(row, r->now_ms)) {
		case HL_DV_PASS: s->in_time++; break;
		case HL_DV_LATE: s->late++; break;
		case HL_DV_WAITING: s->waiting++; break;
		default: s->no_answer++; break;
		}
		int64_t ms = hl_drill_response_ms(row, r->started_ms);
		if (ms >= 0)
			t[s->n_times++] = ms;
	}
	s->rate = r->n ? (double)s->in_time / (double)r->n : 0.0;
	s->p90_ms = hl_drill_percentile(t, s->n_times, 90);
	s->median_ms = hl_drill_median(t, s->n_times);
	free(t);
	return 0;
}

int
hl_drill_format_parse(const char *s, enum hl_drill_format *out)
{
	static const char *names[] = { "text", "csv", "json", "html" };
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum hl_drill_format)i;
			return 0;
		}
	return HL_EINVAL;
}

/* --- helpers --- */

/* Other people's text, safe for a terminal on one line; caller frees. */
static char *
clean(const char *s)
{
	if (s == NULL)
		s = "";
	return hl_sanitize(s, strlen(s), HL_SANITIZE_ONELINE);
}

static void
dur(int64_t ms, char *out, size_t len)
{
	if (ms < 0) {
		snprintf(out, len, "-");
		return;
	}
	if (ms < 60000) {
		snprintf(out, len, "%lld.%01llds", (long long)(ms / 1000),
		    (long long)(ms % 1000 / 100));
		return;
	}
	hl_duration_format(ms, out, len);
}

static void
utc(int64_t ms, char *out)
{
	if (ms <= 0)
		snprintf(out, HL_TIME_STR, "-");
	else
		hl_time_utc(ms, out);
}

static const char *
resp_name(const struct hl_drill_row *r)
{
	return r->acked_ms > 0 ? hl_response_name(r->response) : "-";
}

/* --- text --- */

static void
summary_text(FILE *f, const struct hl_drill_summary *s)
{
	char m[32], p[32];
	dur(s->n_times ? s->median_ms : -1, m, sizeof m);
	dur(s->n_times ? s->p90_ms : -1, p, sizeof p);
	fprintf(f, "contacts %zu, delivered %zu, acknowledged in time %zu, late %zu, "
	    "no answer %zu", s->contacts, s->delivered, s->in_time, s->late,
	    s->no_answer);
	if (s->waiting)
		fprintf(f, ", waiting %zu", s->waiting);
	fprintf(f, "\nresponse rate %.0f%% (%zu of %zu in time), median response "
	    "%s, 90th percentile %s\n", s->rate * 100.0, s->in_time, s->contacts,
	    m, p);
}

static int
write_text(FILE *f, const struct hl_drill_report *r,
    const struct hl_drill_summary *s)
{
	char t[HL_TIME_STR], d[32];
	hl_time_utc(r->started_ms, t);
	hl_duration_format(r->ack_within_ms, d, sizeof d);
	fprintf(f, "EXERCISE communication check %s, started %s, acknowledge "
	    "within %s\n", r->id, t, d);
	if (r->note != NULL && *r->note) {
		char *n = clean(r->note);
		fprintf(f, "note: %s\n", n ? n : "");
		free(n);
	}
	fprintf(f, "\n%-24s %-9s %-20s %-20s %-20s %-9s %-11s %s\n", "contact",
	    "verdict", "sent", "delivered", "acknowledged", "response", "code",
	    "note");
	for (size_t i = 0; i < r->n; i++) {
		const struct hl_drill_row *row = &r->rows[i];
		char st[HL_TIME_STR], dl[HL_TIME_STR], ak[HL_TIME_STR], rt[32];
		utc(row->sent_ms, st);
		utc(row->delivered_ms, dl);
		utc(row->acked_ms, ak);
		dur(hl_drill_response_ms(row, r->started_ms), rt, sizeof rt);
		char *note = clean(row->reason ? row->reason : row->note);
		fprintf(f, "%-24s %-9s %-20s %-20s %-20s %-9s %-11s %s%s\n",
		    row->peer, hl_drill_verdict_name(hl_drill_verdict(row, r->now_ms)),
		    st, dl, ak, rt, resp_name(row), row->reason ? "not sent: " : "",
		    note ? note : "");
		if (row->escalated_to[0])
			fprintf(f, "%*s escalated to %s\n", 24, "", row->escalated_to);
		free(note);
	}
	fprintf(f, "\n");
	summary_text(f, s);
	return 0;
}

/* "04:41:07Z", or "-" when it did not happen. */
static void
clock_utc(int64_t ms, char *out, size_t len)
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);
	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%02d:%02d:%02dZ", tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
}

static int
write_narrow(FILE *f, const struct hl_drill_report *r,
    const struct hl_drill_summary *s)
{
	char t[HL_TIME_STR], d[32];
	hl_time_utc(r->started_ms, t);
	hl_duration_format(r->ack_within_ms, d, sizeof d);
	fprintf(f, "EXERCISE communication check %s\nstarted %s, acknowledge "
	    "within %s\n", r->id, t, d);
	if (r->note != NULL && *r->note) {
		char *n = clean(r->note);
		fprintf(f, "note: %s\n", n ? n : "");
		free(n);
	}
	fprintf(f, "\n%-24s %-9s %-9s %s\n", "contact", "verdict", "response",
	    "code");
	for (size_t i = 0; i < r->n; i++) {
		const struct hl_drill_row *row = &r->rows[i];
		char st[16], dl[16], ak[16], rt[32];
		clock_utc(row->sent_ms, st, sizeof st);
		clock_utc(row->delivered_ms, dl, sizeof dl);
		clock_utc(row->acked_ms, ak, sizeof ak);
		dur(hl_drill_response_ms(row, r->started_ms), rt, sizeof rt);
		char *note = clean(row->reason ? row->reason : row->note);
		fprintf(f, "%-24s %-9s %-9s %s\n", row->peer,
		    hl_drill_verdict_name(hl_drill_verdict(row, r->now_ms)), rt,
		    resp_name(row));
		fprintf(f, "  sent %s delivered %s acked %s%s%s%s\n", st, dl, ak,
		    note && *note ? "  " : "", row->reason ? "not sent: " : "",
		    note ? note : "");
		if (row->escalated_to[0])
			fprintf(f, "  escalated to %s\n", row->escalated_to);
		free(note);
	}
	fprintf(f, "\n");
	summary_text(f, s);
	return 0;
}

/* --- CSV (RFC 4180) --- */

static void
csv_field(FILE *f, const char *s, int last)
{
	char *c = clean(s);
	fputc('"', f);
	/* A note is another person's text, and a spreadsheet runs a cell that
	 * starts like a formula: a leading apostrophe keeps it text. */
	if (c != NULL && c[0] != '\0' && strchr("=+-@\t\r", c[0]) != NULL)
		fputc('\'', f);
	for (const char *p = c ? c : ""; *p; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	fputc('"', f);
	fputs(last ? "\r\n" : ",", f);
	free(c);
}

static void
csv_time(FILE *f, int64_t ms)
{
	char t[HL_TIME_STR] = "";
	if (ms > 0)
		hl_time_rfc3339(ms, t);
	fprintf(f, "%s,", t);
}

static int
write_csv(FILE *f, const struct hl_drill_report *r)
{
	fputs("drill,contact,verdict,state,sent,delivered,acknowledged,deadline,"
	    "response_ms,response,note,escalated_to\r\n", f);
	for (size_t i = 0; i < r->n; i++) {
		const struct hl_drill_row *row = &r->rows[i];
		int64_t ms = hl_drill_response_ms(row, r->started_ms);
		fprintf(f, "%s,%s,%s,%s,", r->id, row->peer,
		    hl_drill_verdict_name(hl_drill_verdict(row, r->now_ms)),
		    row->state ? row->state : "not sent");
		csv_time(f, row->sent_ms);
		csv_time(f, row->delivered_ms);
		csv_time(f, row->acked_ms);
		csv_time(f, row->ack_by_ms);
		if (ms >= 0)
			fprintf(f, "%lld", (long long)ms);
		fprintf(f, ",%s,", row->acked_ms > 0 ? hl_response_name(row->response) : "");
		csv_field(f, row->reason ? row->reason : row->note, 0);
		fprintf(f, "%s\r\n", row->escalated_to);
	}
	return 0;
}

/* --- JSON --- */

static void
jtime(json_t *o, const char *k, int64_t ms)
{
	char t[HL_TIME_STR];
	if (ms <= 0)
		return;
	hl_time_rfc3339(ms, t);
	json_object_set_new(o, k, json_string(t));
}

static json_t *
summary_json(const struct hl_drill_summary *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "contacts", json_integer((json_int_t)s->contacts));
	json_object_set_new(o, "delivered", json_integer((json_int_t)s->delivered));
	json_object_set_new(o, "in_time", json_integer((json_int_t)s->in_time));
	json_object_set_new(o, "late", json_integer((json_int_t)s->late));
	json_object_set_new(o, "no_answer", json_integer((json_int_t)s->no_answer));
	json_object_set_new(o, "waiting", json_integer((json_int_t)s->waiting));
	json_object_set_new(o, "rate", json_real(s->rate));
	if (s->n_times) {
		json_object_set_new(o, "median_ms", json_integer(s->median_ms));
		json_object_set_new(o, "p90_ms", json_integer(s->p90_ms));
	}
	return o;
}

static int
write_json(FILE *f, const struct hl_drill_report *r,
    const struct hl_drill_summary *s)
{
	json_t *o = json_object(), *rows = json_array();
	json_object_set_new(o, "type", json_string("drill_report"));
	json_object_set_new(o, "drill", json_string(r->id));
	json_object_set_new(o, "exercise", json_true());
	jtime(o, "started", r->started_ms);
	json_object_set_new(o, "ack_within_ms", json_integer(r->ack_within_ms));
	if (r->note != NULL)
		json_object_set_new(o, "note", json_string(r->note));
	for (size_t i = 0; i < r->n; i++) {
		const struct hl_drill_row *row = &r->rows[i];
		json_t *x = json_object();
		json_object_set_new(x, "contact", json_string(row->peer));
		if (row->msg_id[0])
			json_object_set_new(x, "id", json_string(row->msg_id));
		json_object_set_new(x, "verdict", json_string(
		    hl_drill_verdict_name(hl_drill_verdict(row, r->now_ms))));
		if (row->state)
			json_object_set_new(x, "state", json_string(row->state));
		jtime(x, "sent", row->sent_ms);
		jtime(x, "delivered", row->delivered_ms);
		jtime(x, "acknowledged", row->acked_ms);
		jtime(x, "deadline", row->ack_by_ms);
		int64_t ms = hl_drill_response_ms(row, r->started_ms);
		if (ms >= 0) {
			json_object_set_new(x, "response_ms", json_integer(ms));
			json_object_set_new(x, "response",
			    json_string(hl_response_name(row->response)));
		}
		if (row->note)
			json_object_set_new(x, "note", json_string(row->note));
		if (row->reason)
			json_object_set_new(x, "not_sent", json_string(row->reason));
		if (row->escalated_to[0])
			json_object_set_new(x, "escalated_to", json_string(row->escalated_to));
		json_array_append_new(rows, x);
	}
	json_object_set_new(o, "contacts", rows);
	json_object_set_new(o, "summary", summary_json(s));
	int rc = json_dumpf(o, f, JSON_COMPACT | JSON_ENSURE_ASCII) == 0 ? 0 : HL_EIO;
	fputc('\n', f);
	json_decref(o);
	return rc;
}

/* --- HTML --- */

/* Everything that is not plain ASCII text is written as a character
 * reference, so nothing from a note can open a tag or an attribute. */
static void
esc(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "&#xFFFD;");
			else
				fputc(*p, f);
		}
	}
}

/* Sanitized first (no controls, no bidi overrides), then escaped. */
static void
esc_other(FILE *f, const char *s)
{
	char *c = clean(s);
	esc(f, c ? c : "");
	free(c);
}

static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>%s</title>\n<style>\n"
    "body{font-family:sans-serif;margin:2em;color:#111;background:#fff}\n"
    "h1{font-size:1.4em}.ex{color:#a00;font-weight:bold;letter-spacing:.1em}\n"
    "table{border-collapse:collapse;margin:1em 0;font-size:.9em}\n"
    "th,td{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}\n"
    "th{background:#eee}.pass{color:#060}.late{color:#a60}.no{color:#a00}\n"
    "dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}\n"
    "dt{font-weight:bold}svg{max-width:100%%;height:auto}\n"
    "@media print{body{margin:0;font-size:10pt}th{background:none}"
    "tr{page-break-inside:avoid}}\n"
    "</style>\n</head>\n<body>\n";

static const char *
verdict_class(enum hl_drill_verdict v)
{
	return v == HL_DV_PASS ? "pass" : v == HL_DV_LATE ? "late" : "no";
}

/* Response time per contact as horizontal bars, the deadline as a line:
 * readable in black and white too (the deadline is dashed, late bars are
 * hatched by their label). */
static void
chart(FILE *f, const struct hl_drill_report *r)
{
	const int left = 180, width = 460, bar = 18, gap = 6, top = 30;
	int64_t max = r->ack_within_ms > 0 ? r->ack_within_ms : 1;
	for (size_t i = 0; i < r->n; i++) {
		int64_t ms = hl_drill_response_ms(&r->rows[i], r->started_ms);
		if (ms > max)
			max = ms;
	}
	max += max / 10 + 1;
	int h = top + (int)r->n * (bar + gap) + 30;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
	    "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
	    "aria-label=\"Response time per contact against the deadline\">\n",
	    left + width + 90, h, left + width + 90, h);
	fprintf(f, "<text x=\"%d\" y=\"18\" font-size=\"13\" font-family=\"sans-serif\">"
	    "Response time per contact (dashed line: deadline)</text>\n", left);
	for (size_t i = 0; i < r->n; i++) {
		const struct hl_drill_row *row = &r->rows[i];
		int y = top + (int)i * (bar + gap);
		int64_t ms = hl_drill_response_ms(row, r->started_ms);
		enum hl_drill_verdict v = hl_drill_verdict(row, r->now_ms);
		char d[32];
		fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" "
		    "font-family=\"sans-serif\" text-anchor=\"end\">", left - 6,
		    y + bar - 5);
		esc(f, row->peer);
		fprintf(f, "</text>\n");
		if (ms >= 0) {
			int w = (int)((double)ms / (double)max * width);
			dur(ms, d, sizeof d);
			fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			    "fill=\"%s\" stroke=\"#000\" stroke-width=\"0.5\"/>\n", left, y,
			    w < 1 ? 1 : w, bar, v == HL_DV_PASS ? "#4a4" : "#d80");
			fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" "
			    "font-family=\"sans-serif\">%s%s</text>\n", left + w + 4,
			    y + bar - 5, d, v == HL_DV_LATE ? " late" : "");
		} else {
			fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" "
			    "font-family=\"sans-serif\" fill=\"#a00\">%s</text>\n", left + 4,
			    y + bar - 5, hl_drill_verdict_name(v));
		}
	}
	if (r->ack_within_ms > 0) {
		int x = left + (int)((double)r->ack_within_ms / (double)max * width);
		char d[32];
		hl_duration_format(r->ack_within_ms, d, sizeof d);
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#a00\" "
		    "stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n", x, top - 4, x,
		    h - 24);
		fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" "
		    "font-family=\"sans-serif\" text-anchor=\"middle\" fill=\"#a00\">"
		    "deadline %s</text>\n", x, h - 10, d);
	}
	fprintf(f, "</svg>\n");
}

static int
write_html(FILE *f, const struct hl_drill_report *r,
    const struct hl_drill_summary *s)
{
	char t[HL_TIME_STR], d[32], m[32], p[32];
	char title[96];
	snprintf(title, sizeof title, "EXERCISE communication check %s", r->id);
	fprintf(f, html_head, title);
	fprintf(f, "<h1><span class=\"ex\">EXERCISE</span> communication check %s</h1>\n",
	    r->id);
	hl_time_utc(r->started_ms, t);
	hl_duration_format(r->ack_within_ms, d, sizeof d);
	dur(s->n_times ? s->median_ms : -1, m, sizeof m);
	dur(s->n_times ? s->p90_ms : -1, p, sizeof p);
	fprintf(f, "<dl>\n<dt>Started</dt><dd>%s</dd>\n<dt>Acknowledge within</dt>"
	    "<dd>%s</dd>\n", t, d);
	if (r->note != NULL && *r->note) {
		fprintf(f, "<dt>Note</dt><dd>");
		esc_other(f, r->note);
		fprintf(f, "</dd>\n");
	}
	fprintf(f, "<dt>Contacts</dt><dd>%zu</dd>\n<dt>Delivered</dt><dd>%zu</dd>\n"
	    "<dt>Acknowledged in time</dt><dd>%zu</dd>\n<dt>Late</dt><dd>%zu</dd>\n"
	    "<dt>No answer</dt><dd>%zu</dd>\n", s->contacts, s->delivered,
	    s->in_time, s->late, s->no_answer);
	if (s->waiting)
		fprintf(f, "<dt>Waiting</dt><dd>%zu</dd>\n", s->waiting);
	fprintf(f, "<dt>Response rate</dt><dd>%.0f%%</dd>\n<dt>Median response</dt>"
	    "<dd>%s</dd>\n<dt>90th percentile</dt><dd>%s</dd>\n</dl>\n",
	    s->rate * 100.0, m, p);
	chart(f, r);
	fprintf(f, "<table>\n<thead><tr><th>Contact</th><th>Verdict</th><th>Sent</th>"
	    "<th>Delivered</th><th>Acknowledged</th><th>Response time</th>"
	    "<th>Code</th><th>Note</th></tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct hl_drill_row *row = &r->rows[i];
		enum hl_drill_verdict v = hl_drill_verdict(row, r->now_ms);
		char st[HL_TIME_STR], dl[HL_TIME_STR], ak[HL_TIME_STR], rt[32];
		utc(row->sent_ms, st);
		utc(row->delivered_ms, dl);
		utc(row->acked_ms, ak);
		dur(hl_drill_response_ms(row, r->started_ms), rt, sizeof rt);
		fprintf(f, "<tr><td>");
		esc(f, row->peer);
		fprintf(f, "</td><td class=\"%s\">%s</td><td>%s</td><td>%s</td>"
		    "<td>%s</td><td>%s</td><td>%s</td><td>", verdict_class(v),
		    hl_drill_verdict_name(v), st, dl, ak, rt, resp_name(row));
		if (row->reason) {
			fprintf(f, "not sent: ");
			esc_other(f, row->reason);
		} else {
			esc_other(f, row->note);
		}
		if (row->escalated_to[0]) {
			fprintf(f, " (escalated to ");
			esc(f, row->escalated_to);
			fprintf(f, ")");
		}
		fprintf(f, "</td></tr>\n");
	}
	fprintf(f, "</tbody>\n</table>\n<p>Times in UTC. Response time: from "
	    "the relay's acceptance of the check to the contact's "
	    "acknowledgement. Response rate: contacts that acknowledged in "
	    "time, of all contacts.</p>\n</body>\n</html>\n");
	return 0;
}

int
hl_drill_report_write(FILE *f, const struct hl_drill_report *r,
    enum hl_drill_format fmt)
{
	struct hl_drill_summary s;
	int rc = hl_drill_summarize(r, &s);
	if (rc != 0)
		return rc;
	switch (fmt) {
	case HL_DRILL_TEXT: rc = write_text(f, r, &s); break;
	case HL_DRILL_CSV: rc = write_csv(f, r); break;
	case HL_DRILL_JSON: rc = write_json(f, r, &s); break;
	case HL_DRILL_HTML: rc = write_html(f, r, &s); break;
	case HL_DRILL_NARROW: rc = write_narrow(f, r, &s); break;
	default: rc = HL_EINVAL; break;
	}
	if (rc == 0 && (fflush(f) != 0 || ferror(f)))
		rc = HL_EIO;
	return rc;
}

/* --- history --- */

static void
history_chart(FILE *f, const struct hl_drill_hist *h, size_t n)
{
	const int left = 50, width = 520, height = 200, top = 20;
	int step = n > 1 ? width / (int)(n - 1) : 0;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
	    "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" aria-label=\"Response "
	    "rate of every drill over time\">\n", left + width + 40,
	    top + height + 40, left + width + 40, top + height + 40);
	for (int pct = 0; pct <= 100; pct += 25) {
		int y = top + height - pct * height / 100;
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ccc\"/>"
		    "<text x=\"%d\" y=\"%d\" font-size=\"11\" font-family=\"sans-serif\" "
		    "text-anchor=\"end\">%d%%</text>\n", left, y, left + width, y,
		    left - 4, y + 4, pct);
	}
	fprintf(f, "<polyline fill=\"none\" stroke=\"#036\" stroke-width=\"2\" points=\"");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%d,%d ", left + (int)i * step,
		    top + height - (int)(h[i].s.rate * height));
	fprintf(f, "\"/>\n");
	for (size_t i = 0; i < n; i++) {
		int x = left + (int)i * step;
		fprintf(f, "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"#036\"/>"
		    "<text x=\"%d\" y=\"%d\" font-size=\"10\" font-family=\"monospace\" "
		    "text-anchor=\"middle\">%.6s</text>\n", x,
		    top + height - (int)(h[i].s.rate * height), x, top + height + 16,
		    h[i].id);
	}
	fprintf(f, "</svg>\n");
}

int
hl_drill_history_write(FILE *f, const struct hl_drill_hist *h, size_t n,
    enum hl_drill_format fmt)
{
	if (fmt != HL_DRILL_TEXT && fmt != HL_DRILL_HTML)
		return HL_EINVAL;
	if (fmt == HL_DRILL_HTML) {
		fprintf(f, html_head, "Communication checks: history");
		fprintf(f, "<h1><span class=\"ex\">EXERCISE</span> communication "
		    "checks: history</h1>\n");
		history_chart(f, h, n);
		fprintf(f, "<table>\n<thead><tr><th>Drill</th><th>Started</th>"
		    "<th>Contacts</th><th>In time</th><th>Late</th><th>No answer</th>"
		    "<th>Response rate</th><th>Median</th><th>90th percentile</th>"
		    "</tr></thead>\n<tbody>\n");
	} else {
		fprintf(f, "%-12s  %-20s  %8s  %7s  %4s  %9s  %5s  %8s  %8s\n", "drill",
		    "started", "contacts", "in time", "late", "no answer", "rate",
		    "median", "p90");
	}
	for (size_t i = 0; i < n; i++) {
		char t[HL_TIME_STR], m[32], p[32];
		const struct hl_drill_summary *s = &h[i].s;
		hl_time_utc(h[i].started_ms, t);
		dur(s->n_times ? s->median_ms : -1, m, sizeof m);
		dur(s->n_times ? s->p90_ms : -1, p, sizeof p);
		if (fmt == HL_DRILL_HTML)
			fprintf(f, "<tr><td>%s</td><td>%s</td><td>%zu</td><td>%zu</td>"
			    "<td>%zu</td><td>%zu</td><td>%.0f%%</td><td>%s</td><td>%s</td>"
			    "</tr>\n", h[i].id, t, s->contacts, s->in_time, s->late,
			    s->no_answer, s->rate * 100.0, m, p);
		else
			fprintf(f, "%-12s  %-20s  %8zu  %7zu  %4zu  %9zu  %4.0f%%  %8s  %8s\n",
			    h[i].id, t, s->contacts, s->in_time, s->late, s->no_answer,
			    s->rate * 100.0, m, p);
	}
	if (fmt == HL_DRILL_HTML)
		fprintf(f, "</tbody>\n</table>\n<p>Times in UTC.</p>\n</body>\n</html>\n");
	return fflush(f) != 0 || ferror(f) ? HL_EIO : 0;
}

void
hl_drill_report_clear(struct hl_drill_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->rows[i].note);
		free(r->rows[i].reason);
	}
	free(r->rows);
	free(r->note);
	memset(r, 0, sizeof *r);
}
