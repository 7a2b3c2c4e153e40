/* Drill reports: median, 90th percentile, verdicts, the summary, and what
 * each format does with other people's text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/drill_report.h"
#include "crypto/hl_err.h"

static void
test_median(void **state)
{
	(void)state;
	int64_t one[] = { 7 };
	assert_int_equal(hl_drill_median(one, 1), 7);
	int64_t odd[] = { 9, 1, 5 };
	assert_int_equal(hl_drill_median(odd, 3), 5);
	int64_t even[] = { 4, 1, 3, 2 };
	assert_int_equal(hl_drill_median(even, 4), 2);   /* (2 + 3) / 2, down */
	int64_t even2[] = { 10, 20 };
	assert_int_equal(hl_drill_median(even2, 2), 15);
	int64_t big[] = { INT64_MAX - 1, INT64_MAX - 3 };
	assert_int_equal(hl_drill_median(big, 2), INT64_MAX - 2);
	assert_int_equal(hl_drill_median(NULL, 0), 0);
}

static void
test_percentile(void **state)
{
	(void)state;
	int64_t v[10];
	for (int i = 0; i < 10; i++)
		v[i] = (10 - i) * 1000;          /* 10000 .. 1000, unsorted */
	/* Nearest rank: ceil(0.9 * 10) = 9th smallest. */
	assert_int_equal(hl_drill_percentile(v, 10, 90), 9000);
	assert_int_equal(hl_drill_percentile(v, 10, 100), 10000);
	assert_int_equal(hl_drill_percentile(v, 10, 50), 5000);
	int64_t w[] = { 3, 1, 2 };
	/* ceil(0.9 * 3) = 3rd. */
	assert_int_equal(hl_drill_percentile(w, 3, 90), 3);
	int64_t x[21];
	for (int i = 0; i < 21; i++)
		x[i] = i;
	/* ceil(0.9 * 21) = 19th smallest = 18. */
	assert_int_equal(hl_drill_percentile(x, 21, 90), 18);
	int64_t s[] = { 42 };
	assert_int_equal(hl_drill_percentile(s, 1, 90), 42);
	assert_int_equal(hl_drill_percentile(NULL, 0, 90), 0);
}

static struct hl_drill_row
row(const char *peer, int64_t sent, int64_t delivered, int64_t acked,
    int64_t ack_by)
{
	struct hl_drill_row r;
	memset(&r, 0, sizeof r);
	snprintf(r.peer, sizeof r.peer, "%s", peer);
	snprintf(r.msg_id, sizeof r.msg_id, "%032x", 1);
	r.state = "sent";
	r.sent_ms = sent;
	r.delivered_ms = delivered;
	r.acked_ms = acked;
	r.ack_by_ms = ack_by;
	r.response = acked ? HL_RESP_RECEIVED : HL_RESP_NONE;
	return r;
}

static void
test_verdicts(void **state)
{
	(void)state;
	struct hl_drill_row r = row("a.b", 1000, 2000, 5000, 5000);
	assert_int_equal(hl_drill_verdict(&r, 9000), HL_DV_PASS);   /* on the dot */
	r.acked_ms = 5001;
	assert_int_equal(hl_drill_verdict(&r, 9000), HL_DV_LATE);
	assert_int_equal(hl_drill_response_ms(&r, 0), 4001);
	r.acked_ms = 0;
	assert_int_equal(hl_drill_verdict(&r, 4000), HL_DV_WAITING);
	assert_int_equal(hl_drill_verdict(&r, 5001), HL_DV_NO_ANSWER);
	assert_int_equal(hl_drill_response_ms(&r, 0), -1);
	/* Never queued: no answer at once, whatever the time. */
	r.msg_id[0] = '\0';
	assert_int_equal(hl_drill_verdict(&r, 0), HL_DV_NO_ANSWER);
	/* Not marked sent: timed from the drill's start. */
	struct hl_drill_row q = row("c.d", 0, 0, 3000, 9000);
	assert_int_equal(hl_drill_response_ms(&q, 1000), 2000);
	assert_string_equal(hl_drill_verdict_name(HL_DV_NO_ANSWER), "no answer");
}

static void
test_summary(void **state)
{
	(void)state;
	struct hl_drill_row rows[5] = {
		row("a.a", 1000, 1500, 2000, 61000),   /* 1 s, pass */
		row("b.b", 1000, 1500, 4000, 61000),   /* 3 s, pass */
		row("c.c", 1000, 1500, 71000, 61000),  /* 70 s, late */
		row("d.d", 1000, 1500, 0, 61000),      /* delivered, no answer */
		row("e.e", 1000, 0, 0, 61000),         /* no answer */
	};
	struct hl_drill_report r = { .started_ms = 900, .ack_within_ms = 60000,
	    .now_ms = 100000, .rows = rows, .n = 5 };
	struct hl_drill_summary s;
	assert_int_equal(hl_drill_summarize(&r, &s), 0);
	assert_int_equal(s.contacts, 5);
	assert_int_equal(s.delivered, 4);
	assert_int_equal(s.in_time, 2);
	assert_int_equal(s.late, 1);
	assert_int_equal(s.no_answer, 2);
	assert_int_equal(s.waiting, 0);
	assert_true(s.rate > 0.399 && s.rate < 0.401);
	assert_int_equal(s.n_times, 3);
	assert_int_equal(s.median_ms, 3000);
	assert_int_equal(s.p90_ms, 70000);
	/* Before the deadline the silent ones are waiting, not failed. */
	r.now_ms = 50000;
	assert_int_equal(hl_drill_summarize(&r, &s), 0);
	assert_int_equal(s.no_answer, 0);
	assert_int_equal(s.waiting, 2);
	struct hl_drill_report empty = { .now_ms = 1 };
	assert_int_equal(hl_drill_summarize(&empty, &s), 0);
	assert_int_equal(s.contacts, 0);
	assert_true(s.rate == 0.0);
}

/* The report of rows, in fmt, as a string (caller frees). */
static char *
render(struct hl_drill_row *rows, size_t n, enum hl_drill_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	struct hl_drill_report r = { .id = "0123456789ab", .started_ms = 900,
	    .ack_within_ms = 60000, .now_ms = 100000, .rows = rows, .n = n };
	assert_int_equal(hl_drill_report_write(f, &r, fmt), 0);
	fclose(f);
	return buf;
}

static void
test_formats_escape(void **state)
{
	(void)state;
	struct hl_drill_row rows[2] = {
		row("a.a", 1000, 1500, 2000, 61000),
		row("b.b", 1000, 1500, 0, 61000),
	};
	char evil[] = "<script>alert(1)</script> \"q\" \x1b[2J\xe2\x80\xae end";
	rows[0].note = evil;
	char *html = render(rows, 2, HL_DRILL_HTML);
	assert_null(strstr(html, "<script"));
	assert_non_null(strstr(html, "&lt;script&gt;"));
	assert_null(strstr(html, "\x1b"));
	assert_null(strstr(html, "\xe2\x80\xae"));     /* no bidi override */
	assert_non_null(strstr(html, "<svg"));
	assert_null(strstr(html, "http://www.example"));
	assert_null(strstr(html, "src="));             /* nothing fetched */
	assert_non_null(strstr(html, "@media print"));
	assert_non_null(strstr(html, "EXERCISE"));
	free(html);

	char *text = render(rows, 2, HL_DRILL_TEXT);
	assert_null(strstr(text, "\x1b"));
	assert_null(strstr(text, "\xe2\x80\xae"));
	assert_non_null(strstr(text, "no answer"));
	assert_non_null(strstr(text, "response rate 50%"));
	free(text);

	/* For the terminal: every line of the table within 80 columns, two
	 * lines a contact, the note sanitized. */
	rows[1].escalated_to[0] = '\0';
	snprintf(rows[0].peer, sizeof rows[0].peer, "a-rather-long.handle.example");
	char *narrow = render(rows, 2, HL_DRILL_NARROW);
	assert_null(strstr(narrow, "\x1b"));
	assert_non_null(strstr(narrow, "a-rather-long.handle.example"));
	assert_non_null(strstr(narrow, "  sent 00:00:01Z delivered 00:00:01Z "
	    "acked 00:00:02Z"));
	assert_non_null(strstr(narrow, "no answer"));
	const char *summary = strstr(narrow, "\ncontacts ");
	assert_non_null(summary);
	for (const char *p = narrow, *nl; p < summary; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		/* The note is the one free-length part and may wrap. */
		if (strstr(p, "end") == NULL || strstr(p, "end") > nl)
			assert_true(nl - p <= 80);
	}
	free(narrow);
	snprintf(rows[0].peer, sizeof rows[0].peer, "a.a");

	char *csv = render(rows, 2, HL_DRILL_CSV);
	assert_null(strstr(csv, "\x1b"));
	assert_non_null(strstr(csv, "\"\"q\"\""));        /* quotes doubled */
	assert_non_null(strstr(csv, "0123456789ab,a.a,pass,"));
	free(csv);

	/* A note that a spreadsheet would run as a formula stays text. */
	const char *formulas[] = { "=cmd|'/C calc'!A0", "+1+1", "-2+3",
	    "@SUM(1+1)" };
	for (size_t i = 0; i < sizeof formulas / sizeof *formulas; i++) {
		rows[0].note = (char *)formulas[i];
		csv = render(rows, 2, HL_DRILL_CSV);
		char want[64];
		snprintf(want, sizeof want, ",\"'%c", formulas[i][0]);
		assert_non_null(strstr(csv, want));
		free(csv);
	}
	rows[0].note = evil;

	/* JSON keeps the exact text, escaped as JSON. */
	char *json = render(rows, 2, HL_DRILL_JSON);
	assert_non_null(strstr(json, "\\u001B[2J"));
	assert_non_null(strstr(json, "\"in_time\":1"));
	assert_non_null(strstr(json, "\"no_answer\":1"));
	free(json);
	rows[0].note = NULL;

	enum hl_drill_format f;
	assert_int_equal(hl_drill_format_parse("html", &f), 0);
	assert_int_equal(f, HL_DRILL_HTML);
	assert_int_equal(hl_drill_format_parse("pdf", &f), HL_EINVAL);
}

static void
test_history(void **state)
{
	(void)state;
	struct hl_drill_hist h[2];
	memset(h, 0, sizeof h);
	snprintf(h[0].id, sizeof h[0].id, "aaaaaaaaaaaa");
	snprintf(h[1].id, sizeof h[1].id, "bbbbbbbbbbbb");
	h[0].started_ms = 1000;
	h[1].started_ms = 2000;
	h[0].s.contacts = 4;
	h[0].s.in_time = 2;
	h[0].s.rate = 0.5;
	h[1].s.contacts = 4;
	h[1].s.in_time = 4;
	h[1].s.rate = 1.0;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(hl_drill_history_write(f, h, 2, HL_DRILL_TEXT), 0);
	fclose(f);
	assert_non_null(strstr(buf, "aaaaaaaaaaaa"));
	assert_non_null(strstr(buf, "100%"));
	assert_non_null(strstr(buf, " 50%"));
	free(buf);
	f = open_memstream(&buf, &len);
	assert_int_equal(hl_drill_history_write(f, h, 2, HL_DRILL_HTML), 0);
	fclose(f);
	assert_non_null(strstr(buf, "<polyline"));
	free(buf);
	f = open_memstream(&buf, &len);
	assert_int_equal(hl_drill_history_write(f, h, 2, HL_DRILL_CSV), HL_EINVAL);
	fclose(f);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_median),
		cmocka_unit_test(test_percentile),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_formats_escape),
		cmocka_unit_test(test_history),
	};
	return cmocka_run_group_tests_name("drill_report", tests, NULL, NULL);
}
