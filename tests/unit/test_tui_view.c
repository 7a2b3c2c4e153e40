/* The terminal interface's view model: layout, UTF-8 wrapping with wide
 * and combining characters, glyphs, deadlines, /ack's choice, the input
 * line. No terminal involved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/tui_edit.h"
#include "client/tui_text.h"
#include "client/tui_view.h"

static void
layout_sizes(void **state)
{
	struct hl_tui_layout l;
	(void)state;
	static const int sizes[][2] = { { 24, 80 }, { 40, 120 }, { 10, 40 },
	    { 50, 200 }, { 24, 60 } };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		for (int banner = 0; banner <= 1; banner++) {
			int rows = sizes[i][0], cols = sizes[i][1];
			hl_tui_layout(rows, cols, banner, 0, &l);
			assert_true(l.usable);
			assert_int_equal(l.input.y, rows - 1);
			assert_int_equal(l.status.y, rows - 2);
			assert_int_equal(l.input.w, cols);
			assert_int_equal(l.banner.h, banner);
			/* The conversation is always there and within the screen. */
			assert_true(l.conv.w >= 30);
			assert_int_equal(l.conv.y, banner);
			assert_int_equal(l.conv.h, rows - 2 - banner);
			assert_true(l.conv.x + l.conv.w <= cols);
			if (cols >= 70) {
				assert_true(l.contacts.w >= 22);
				assert_int_equal(l.contacts.x + l.contacts.w + 1, l.conv.x);
			}
		}
	}
	hl_tui_layout(24, 80, 0, 0, &l);
	/* Room at 80 columns for a handle, its counts, trust and local time. */
	assert_int_equal(l.contacts.w, 30);
	assert_int_equal(l.conv.w, 49);
	/* Narrow: one pane at a time, the focused one. */
	hl_tui_layout(24, 50, 0, 1, &l);
	assert_int_equal(l.contacts.w, 50);
	assert_int_equal(l.conv.w, 0);
	hl_tui_layout(24, 50, 0, 0, &l);
	assert_int_equal(l.contacts.w, 0);
	assert_int_equal(l.conv.w, 50);
	/* Too small: a notice only. */
	hl_tui_layout(9, 80, 0, 0, &l);
	assert_false(l.usable);
	hl_tui_layout(24, 39, 0, 0, &l);
	assert_false(l.usable);
}

static void
widths(void **state)
{
	(void)state;
	assert_int_equal(hl_tui_width("abc", 3), 3);
	/* U+65E5 U+672C: two wide characters, two columns each. */
	assert_int_equal(hl_tui_width("\xe6\x97\xa5\xe6\x9c\xac", 6), 4);
	/* e + U+0301 combining acute: one column. */
	assert_int_equal(hl_tui_width("e\xcc\x81", 3), 1);
	/* A stray continuation byte counts as one column. */
	assert_int_equal(hl_tui_width("\x80z", 2), 2);
	int used;
	/* A wide character that does not fit whole is left out. */
	assert_int_equal(hl_tui_fit("a\xe6\x97\xa5", 4, 2, &used), 1);
	assert_int_equal(used, 1);
	/* A combining mark stays with its base at the edge. */
	assert_int_equal(hl_tui_fit("ae\xcc\x81z", 5, 2, &used), 4);
	assert_int_equal(used, 2);
}

static void
wrapping(void **state)
{
	struct hl_tui_span sp[16];
	(void)state;
	const char *t = "the quick brown fox";
	size_t n = hl_tui_wrap(t, strlen(t), 10, sp, 16);
	assert_int_equal(n, 2);
	assert_int_equal(sp[0].len, 9);        /* "the quick" */
	assert_memory_equal(t + sp[1].off, "brown fox", 9);
	assert_int_equal(sp[1].len, 9);
	/* A word longer than the line is cut inside. */
	t = "abcdefghijkl";
	n = hl_tui_wrap(t, strlen(t), 5, sp, 16);
	assert_int_equal(n, 3);
	assert_int_equal(sp[0].len, 5);
	assert_int_equal(sp[2].len, 2);
	/* Wide characters are never split: 3 of them in 5 columns. */
	t = "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e";
	n = hl_tui_wrap(t, strlen(t), 5, sp, 16);
	assert_int_equal(n, 2);
	assert_int_equal(sp[0].len, 6);
	assert_int_equal(sp[0].cols, 4);
	assert_int_equal(sp[1].cols, 2);
	/* Combining marks stay with their base across a break. */
	t = "abcde\xcc\x81" "f";
	n = hl_tui_wrap(t, strlen(t), 5, sp, 16);
	assert_int_equal(n, 2);
	assert_int_equal(sp[0].len, 7);        /* "abcde" + U+0301 */
	assert_int_equal(sp[0].cols, 5);
	assert_memory_equal(t + sp[1].off, "f", 1);
	/* Newlines break; an empty text is one line; the count goes beyond
	 * the room given. */
	t = "a\n\nb";
	n = hl_tui_wrap(t, strlen(t), 5, sp, 16);
	assert_int_equal(n, 3);
	assert_int_equal(sp[1].len, 0);
	assert_int_equal(hl_tui_wrap("", 0, 5, sp, 16), 1);
	t = "aaaa aaaa aaaa aaaa";
	assert_int_equal(hl_tui_wrap(t, strlen(t), 4, sp, 2), 4);
}

static void
glyphs(void **state)
{
	(void)state;
	assert_string_equal(hl_tui_glyph(HL_ST_QUEUED, 0), ".");
	assert_string_equal(hl_tui_glyph(HL_ST_SENT, 0), ">");
	assert_string_equal(hl_tui_glyph(HL_ST_DELIVERED, 0), ">>");
	assert_string_equal(hl_tui_glyph(HL_ST_ACKNOWLEDGED, 0), "OK");
	assert_string_equal(hl_tui_glyph(HL_ST_OVERDUE, 0), "!!");
	assert_string_equal(hl_tui_glyph(HL_ST_FAILED, 0), "XX");
	assert_string_equal(hl_tui_glyph(HL_ST_DELIVERED, 1), "\u2713\u2713");
	assert_string_equal(hl_tui_glyph(HL_ST_ACKNOWLEDGED, 1), "\u2714");
	assert_string_equal(hl_tui_glyph((enum hl_state)99, 0), "?");
	/* Each glyph distinct within its set. */
	for (int a = 0; a < HL_ST_COUNT; a++)
		for (int b = a + 1; b < HL_ST_COUNT; b++)
			assert_string_not_equal(hl_tui_glyph(a, 1), hl_tui_glyph(b, 1));
}

static void
msg_init(struct hl_msg *m, enum hl_dir dir, enum hl_state st, int64_t ack_by)
{
	memset(m, 0, sizeof *m);
	m->dir = dir;
	m->state = st;
	m->content.ack_by = ack_by;
	m->content.sent = 1700000000000;
	snprintf(m->peer, sizeof m->peer, "fi.ncsc");
}

static void
deadlines(void **state)
{
	struct hl_msg m;
	char out[64];
	const int64_t now = 1800000000000;
	(void)state;
	msg_init(&m, HL_OUT, HL_ST_SENT, now + 12 * 60000);
	assert_int_equal(hl_tui_deadline(&m, now, out, sizeof out), 0);
	assert_string_equal(out, "ack in 12m");
	m.content.ack_by = now + 65 * 60000;
	hl_tui_deadline(&m, now, out, sizeof out);
	assert_string_equal(out, "ack in 1h05m");
	m.content.ack_by = now + 400;
	hl_tui_deadline(&m, now, out, sizeof out);
	assert_string_equal(out, "ack in 1s");
	m.content.ack_by = now - 3 * 60000;
	m.state = HL_ST_OVERDUE;
	assert_int_equal(hl_tui_deadline(&m, now, out, sizeof out), 1);
	assert_string_equal(out, "OVERDUE 3m");
	/* Past its deadline but not yet marked: overdue all the same. */
	m.state = HL_ST_DELIVERED;
	m.content.ack_by = now - 28 * 3600000LL;
	assert_int_equal(hl_tui_deadline(&m, now, out, sizeof out), 1);
	assert_string_equal(out, "OVERDUE 1d04h");
	assert_int_equal(hl_tui_msg_emph(&m, now), HL_TUI_OVERDUE);
	/* Passed on to the alternate: no longer late. */
	m.state = HL_ST_OVERDUE;
	snprintf(m.escalated_to, sizeof m.escalated_to, "fi.backup");
	assert_int_equal(hl_tui_deadline(&m, now, out, sizeof out), 0);
	assert_string_equal(out, "");
	assert_int_not_equal(hl_tui_msg_emph(&m, now), HL_TUI_OVERDUE);
	m.escalated_to[0] = '\0';
	m.state = HL_ST_ACKNOWLEDGED;
	assert_int_equal(hl_tui_deadline(&m, now, out, sizeof out), 0);
	assert_string_equal(out, "");
	msg_init(&m, HL_OUT, HL_ST_SENT, 0);
	hl_tui_deadline(&m, now, out, sizeof out);
	assert_string_equal(out, "");
	/* Inbound: the deadline is ours to meet until we ack. */
	msg_init(&m, HL_IN, HL_ST_READ, now - 10000);
	assert_int_equal(hl_tui_deadline(&m, now, out, sizeof out), 1);
	assert_string_equal(out, "OVERDUE 10s");
	m.state = HL_ST_ACKNOWLEDGED;
	assert_int_equal(hl_tui_deadline(&m, now, out, sizeof out), 0);
}

static void
headers(void **state)
{
	struct hl_msg m;
	char out[256];
	const int64_t now = 1700000000000 + 60000;
	(void)state;
	msg_init(&m, HL_IN, HL_ST_NEW, now + 30 * 60000);
	m.content.prio = HL_PRIO_URGENT;
	m.content.kind = HL_KIND_CHECK;
	hl_tui_msg_header(&m, "ee.cert", now, 0, out, sizeof out);
	assert_non_null(strstr(out, "22:13Z"));
	assert_non_null(strstr(out, "< fi.ncsc URGENT EXERCISE check *"));
	assert_non_null(strstr(out, "ack in 30m"));
	assert_int_equal(hl_tui_msg_emph(&m, now), HL_TUI_URGENT);
	msg_init(&m, HL_OUT, HL_ST_ACKNOWLEDGED, 0);
	m.content.prio = HL_PRIO_FLASH;
	m.ack_response = HL_RESP_WILL_COMPLY;
	hl_tui_msg_header(&m, "ee.cert", now, 0, out, sizeof out);
	assert_non_null(strstr(out, "> to fi.ncsc FLASH OK will-comply"));
	/* Another day: the date is shown. */
	hl_tui_msg_header(&m, "ee.cert", now + 2 * 86400000LL, 0, out, sizeof out);
	assert_non_null(strstr(out, "2023-11-14 "));
	m.state = HL_ST_FAILED;
	assert_int_equal(hl_tui_msg_emph(&m, now), HL_TUI_FAILED);
	/* Escalated: said so, with the alternate, and not as overdue. */
	msg_init(&m, HL_OUT, HL_ST_OVERDUE, now - 2 * 60000);
	hl_tui_msg_header(&m, "ee.cert", now, 0, out, sizeof out);
	assert_non_null(strstr(out, "> to fi.ncsc !! OVERDUE 2m"));
	snprintf(m.escalated_to, sizeof m.escalated_to, "fi.backup");
	assert_int_equal(hl_tui_msg_header(&m, "ee.cert", now, 0, out,
	    sizeof out), 0);
	assert_non_null(strstr(out, "> to fi.ncsc escalated to fi.backup"));
	assert_null(strstr(out, "OVERDUE"));
	assert_null(strstr(out, "!!"));
	/* The CLI's word for it is the same rule. */
	assert_true(hl_msg_escalated(&m));
	m.dir = HL_IN;
	assert_false(hl_msg_escalated(&m));
}

static void
contact_and_status(void **state)
{
	struct hl_tui_contact c;
	struct hl_tui_status s;
	char out[512];
	(void)state;
	memset(&c, 0, sizeof c);
	snprintf(c.handle, sizeof c.handle, "fi.ncsc");
	snprintf(c.name, sizeof c.name, "NCSC-FI \xe6\x97\xa5\xe6\x9c\xac desk");
	snprintf(c.local_time, sizeof c.local_time, "12:00 Europe/Helsinki");
	c.unread = 3;
	c.awaiting = 1;
	c.overdue = 2;
	c.trust = 3;
	hl_tui_contact_line(&c, 200, out, sizeof out);
	assert_string_equal(out, "fi.ncsc NCSC-FI \xe6\x97\xa5\xe6\x9c\xac desk "
	    "3 new 1 ack! 2 late CHANGED 12:00 Europe/Helsinki");
	for (int cols = 5; cols < 80; cols++) {
		hl_tui_contact_line(&c, cols, out, sizeof out);
		assert_true(hl_tui_width(out, strlen(out)) <= cols);
	}
	/* Short of room the handle, counts, trust and clock stay; the name
	 * goes first, then the zone's name. */
	hl_tui_contact_line(&c, 42, out, sizeof out);
	assert_string_equal(out, "fi.ncsc 3 new 1 ack! 2 late CHANGED 12:00");
	/* The pane's width at 80 columns (30, less the marker): the display
	 * name is what is shortened, and says so. */
	memset(&c, 0, sizeof c);
	snprintf(c.handle, sizeof c.handle, "ee.cert");
	snprintf(c.name, sizeof c.name, "CERT-EE duty officer");
	snprintf(c.local_time, sizeof c.local_time, "12:00 Europe/Tallinn");
	c.overdue = 1;
	hl_tui_contact_line(&c, 28, out, sizeof out);
	assert_string_equal(out, "ee.cert CERT... 1 late 12:00");
	c.trust = 2;
	c.unread = 2;
	c.overdue = 0;
	hl_tui_contact_line(&c, 28, out, sizeof out);
	assert_string_equal(out, "ee.cert 2 new verified 12:00");
	c.trust = 0;
	c.unread = 0;
	hl_tui_contact_line(&c, 28, out, sizeof out);
	assert_string_equal(out, "ee.cert CERT-EE dut... 12:00");
	for (int cols = 5; cols < 80; cols++) {
		hl_tui_contact_line(&c, cols, out, sizeof out);
		assert_true(hl_tui_width(out, strlen(out)) <= cols);
	}

	memset(&s, 0, sizeof s);
	s.self = "ee.cert";
	s.relay = 0;
	s.retry_at_ms = 1000 + 8000;
	snprintf(s.why, sizeof s.why, "connection refused");
	s.awaiting = 2;
	s.peer = "fi.ncsc";
	s.peer_trust = 3;
	hl_tui_status_line(&s, 1000, 300, out, sizeof out);
	assert_string_equal(out, "[ee.cert] RELAY UNREACHABLE, retry 8s | 2 to ack "
	    "| fi.ncsc KEY CHANGED: /trust | connection refused");
	/* At 80 columns what matters stays: the relay's state and the counts. */
	hl_tui_status_line(&s, 1000, 80, out, sizeof out);
	assert_non_null(strstr(out, "RELAY UNREACHABLE, retry 8s | 2 to ack"));
	assert_true(hl_tui_width(out, strlen(out)) <= 80);
	hl_tui_status_line(&s, 9000, 300, out, sizeof out);
	assert_true(strncmp(out, "[ee.cert] RELAY UNREACHABLE, retrying |", 39) == 0);
	s.relay = 1;
	hl_tui_status_line(&s, 1000, 80, out, sizeof out);
	assert_true(strncmp(out, "[ee.cert] relay ok | 2 to ack | fi.ncsc KEY", 43) == 0);
	s.awaiting = 0;
	s.queued = 3;
	s.overdue = 1;
	hl_tui_status_line(&s, 1000, 300, out, sizeof out);
	assert_string_equal(out, "[ee.cert] relay ok | 1 overdue 3 queued | "
	    "fi.ncsc KEY CHANGED: /trust");
	assert_true(hl_tui_width(out, strlen(out)) <= 80);
	/* A line cut short ends in an ellipsis, not mid-word as if whole. */
	s.notice = "KEY CHANGED: ee.cert has a new identity key; sending to it "
	    "waits until you /verify and /trust it";
	hl_tui_status_line(&s, 1000, 80, out, sizeof out);
	assert_int_equal(hl_tui_width(out, strlen(out)), 80);
	assert_string_equal(out + strlen(out) - 3, "...");
	for (int cols = 4; cols < 200; cols++) {
		hl_tui_status_line(&s, 1000, cols, out, sizeof out);
		assert_true(hl_tui_width(out, strlen(out)) <= cols);
	}
	hl_tui_status_line(&s, 1000, 400, out, sizeof out);
	assert_string_equal(out + strlen(out) - 8, "trust it");
}

static void
ack_choice(void **state)
{
	(void)state;
	struct hl_tui_ack_cand c[] = {
		{ HL_PRIO_ROUTINE, 1, 0, 1 },
		{ HL_PRIO_URGENT, 2, 0, 1 },
		{ HL_PRIO_FLASH, 5, 0, 1 },
		{ HL_PRIO_FLASH, 4, 0, 1 },
		{ HL_PRIO_FLASH, 3, 1, 1 },    /* acked already */
		{ HL_PRIO_FLASH, 0, 0, 0 },    /* needs none */
	};
	/* Flash first, the oldest of them. */
	assert_int_equal(hl_tui_ack_pick(c, 6, -1), 3);
	c[3].acked = 1;
	assert_int_equal(hl_tui_ack_pick(c, 6, -1), 2);
	c[2].acked = 1;
	assert_int_equal(hl_tui_ack_pick(c, 6, -1), 1);
	c[1].acked = 1;
	assert_int_equal(hl_tui_ack_pick(c, 6, -1), 0);
	c[0].acked = 1;
	assert_int_equal(hl_tui_ack_pick(c, 6, -1), -1);
	/* The selected message, or nothing: never another in its place. */
	c[0].acked = 0;
	assert_int_equal(hl_tui_ack_pick(c, 6, 0), 0);
	assert_int_equal(hl_tui_ack_pick(c, 6, 1), -1);
	assert_int_equal(hl_tui_ack_pick(c, 6, 5), -1);
	assert_int_equal(hl_tui_ack_pick(c, 6, 9), -1);
	assert_int_equal(hl_tui_ack_pick(c, 0, -1), -1);
}

static void
editing(void **state)
{
	struct hl_tui_edit e;
	char out[HL_TUI_LINE_MAX + 1];
	size_t first;
	int col;
	(void)state;
	hl_tui_edit_init(&e);
	hl_tui_edit_insert(&e, "hello wor", 9);
	hl_tui_edit_insert(&e, "ld", 2);
	assert_string_equal(e.buf, "hello world");
	hl_tui_edit_op(&e, HL_EDIT_KILL_WORD);
	assert_string_equal(e.buf, "hello ");
	hl_tui_edit_insert(&e, "e\xcc\x81t\xc3\xa9", 6);     /* e + U+0301, t, é */
	hl_tui_edit_op(&e, HL_EDIT_LEFT);
	hl_tui_edit_op(&e, HL_EDIT_LEFT);
	hl_tui_edit_op(&e, HL_EDIT_LEFT);
	assert_int_equal(e.cur, 6);      /* before the e and its mark */
	hl_tui_edit_op(&e, HL_EDIT_DELETE);
	assert_string_equal(e.buf, "hello t\xc3\xa9");
	hl_tui_edit_op(&e, HL_EDIT_END);
	hl_tui_edit_op(&e, HL_EDIT_BACKSPACE);
	assert_string_equal(e.buf, "hello t");
	hl_tui_edit_op(&e, HL_EDIT_HOME);
	hl_tui_edit_op(&e, HL_EDIT_RIGHT);
	hl_tui_edit_insert(&e, "X", 1);
	assert_string_equal(e.buf, "hXello t");
	hl_tui_edit_op(&e, HL_EDIT_KILL_LINE);
	assert_string_equal(e.buf, "ello t");
	hl_tui_edit_take(&e, out);
	assert_string_equal(out, "ello t");
	assert_int_equal(e.len, 0);
	hl_tui_edit_insert(&e, "/help", 5);
	hl_tui_edit_take(&e, out);
	hl_tui_edit_insert(&e, "draft", 5);
	hl_tui_edit_op(&e, HL_EDIT_HIST_PREV);
	assert_string_equal(e.buf, "/help");
	hl_tui_edit_op(&e, HL_EDIT_HIST_PREV);
	assert_string_equal(e.buf, "ello t");
	hl_tui_edit_op(&e, HL_EDIT_HIST_PREV);
	assert_string_equal(e.buf, "ello t");
	hl_tui_edit_op(&e, HL_EDIT_HIST_NEXT);
	hl_tui_edit_op(&e, HL_EDIT_HIST_NEXT);
	assert_string_equal(e.buf, "draft");
	/* A long line scrolls so the cursor stays in the field. */
	hl_tui_edit_op(&e, HL_EDIT_KILL_LINE);
	for (int i = 0; i < 50; i++)
		hl_tui_edit_insert(&e, "\xe6\x97\xa5", 3);
	hl_tui_edit_view(&e, 20, &first, &col);
	assert_true(col <= 19);
	assert_int_equal(first % 3, 0);
	assert_true(hl_tui_width(e.buf + first, e.cur - first) <= 19);
	hl_tui_edit_free(&e);
}

int
main(void)
{
	if (setlocale(LC_ALL, "C.UTF-8") == NULL) {
		fprintf(stderr, "test_tui_view: no C.UTF-8 locale\n");
		return 1;
	}
	setenv("TZ", "UTC", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(layout_sizes),
		cmocka_unit_test(widths),
		cmocka_unit_test(wrapping),
		cmocka_unit_test(glyphs),
		cmocka_unit_test(deadlines),
		cmocka_unit_test(headers),
		cmocka_unit_test(contact_and_status),
		cmocka_unit_test(ack_choice),
		cmocka_unit_test(editing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
