#include "client/tui_view.h"
#include "client/tui_text.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The contacts pane takes a third of a wide screen, within bounds. */
#define CONTACTS_MIN 30
#define CONTACTS_MAX 36
#define SPLIT_COLS 70
/* What ends a shortened name or line: plain ASCII, any terminal shows it. */
#define ELLIPSIS "..."
/* Columns of a display name worth more than the name of a time zone. */
#define NAME_MIN 10

void
hl_tui_layout(int rows, int cols, int banner, int focus_contacts,
    struct hl_tui_layout *l)
{
	memset(l, 0, sizeof *l);
	l->rows = rows;
	l->cols = cols;
	if (rows < HL_TUI_MIN_ROWS || cols < HL_TUI_MIN_COLS)
		return;
	l->usable = 1;
	int top = 0;
	if (banner) {
		l->banner = (struct hl_tui_rect){ 0, 0, 1, cols };
		top = 1;
	}
	l->status = (struct hl_tui_rect){ rows - 2, 0, 1, cols };
	l->input = (struct hl_tui_rect){ rows - 1, 0, 1, cols };
	int h = rows - 2 - top;
	if (cols >= SPLIT_COLS) {
		int cw = cols * 3 / 8;
		if (cw < CONTACTS_MIN)
			cw = CONTACTS_MIN;
		if (cw > CONTACTS_MAX)
			cw = CONTACTS_MAX;
		/* One column between the panes for the separator. */
		l->contacts = (struct hl_tui_rect){ top, 0, h, cw };
		l->conv = (struct hl_tui_rect){ top, cw + 1, h, cols - cw - 1 };
	} else if (focus_contacts) {
		l->contacts = (struct hl_tui_rect){ top, 0, h, cols };
	} else {
		l->conv = (struct hl_tui_rect){ top, 0, h, cols };
	}
}

const char *
hl_tui_glyph(enum hl_state st, int utf8)
{
	static const char *const ascii[HL_ST_COUNT] = {
		".", ">", ">>", "OK", "!!", "XX", "--", "*", " ",
	};
	static const char *const sym[HL_ST_COUNT] = {
		"\u2026", "\u2713", "\u2713\u2713", "\u2714", "\u23f0", "\u2717",
		"\u231b", "\u25cf", " ",
	};
	if ((int)st < 0 || st >= HL_ST_COUNT)
		return "?";
	return utf8 ? sym[st] : ascii[st];
}

void
hl_tui_duration(int64_t ms, char *out, size_t len)
{
	int64_t s = ms / 1000;
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(out, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(out, len, "%lldm", (long long)(s / 60));
	else if (s < 86400)
		snprintf(out, len, "%lldh%02lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else
		snprintf(out, len, "%lldd%02lldh", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
}

/* Whether the message still waits for an ack against its deadline. */
static int
deadline_open(const struct hl_msg *m)
{
	if (m->content.ack_by <= 0 || hl_msg_escalated(m))
		return 0;
	if (m->dir == HL_IN)
		return m->state != HL_ST_ACKNOWLEDGED;
	return m->state == HL_ST_QUEUED || m->state == HL_ST_SENT ||
	    m->state == HL_ST_DELIVERED || m->state == HL_ST_OVERDUE;
}

int
hl_tui_deadline(const struct hl_msg *m, int64_t now_ms, char *out, size_t len)
{
	char d[32];
	out[0] = '\0';
	if (!deadline_open(m))
		return 0;
	int64_t left = m->content.ack_by - now_ms;
	if (left > 0 && m->state != HL_ST_OVERDUE) {
		/* Round up: "ack in 0s" would read as already late. */
		hl_tui_duration(left + 999, d, sizeof d);
		snprintf(out, len, "ack in %s", d);
		return 0;
	}
	hl_tui_duration(left < 0 ? -left : 0, d, sizeof d);
	snprintf(out, len, "OVERDUE %s", d);
	return 1;
}

static void
clock_of(int64_t ms, int utc, char *out, size_t len)
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);
	if ((utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)) == NULL) {
		snprintf(out, len, "--:--");
		return;
	}
	snprintf(out, len, "%02d:%02d%s", tm.tm_hour, tm.tm_min, utc ? "Z" : "");
}

static const char *
prio_word(enum hl_prio p)
{
	return p == HL_PRIO_FLASH ? " FLASH" : p == HL_PRIO_URGENT ? " URGENT" : "";
}

static const char *
kind_word(enum hl_kind k)
{
	switch (k) {
	case HL_KIND_CHECK: return " EXERCISE check";
	case HL_KIND_INCIDENT: return " INCIDENT";
	case HL_KIND_RECEIPT: return " receipt";
	case HL_KIND_ACK: return " ack";
	default: return "";
	}
}

int
hl_tui_msg_header(const struct hl_msg *m, const char *self, int64_t now_ms,
    int utf8, char *out, size_t len)
{
	char utc[48], local[48], day[48] = "", dl[48], resp[HL_HANDLE_MAX + 32] = "";
	struct tm tm, today;
	int64_t at = m->content.sent > 0 ? m->content.sent : m->created_ms;
	time_t t = (time_t)(at / 1000), n = (time_t)(now_ms / 1000);
	clock_of(at, 1, utc, sizeof utc);
	clock_of(at, 0, local, sizeof local);
	if (gmtime_r(&t, &tm) != NULL && gmtime_r(&n, &today) != NULL &&
	    (tm.tm_yday != today.tm_yday || tm.tm_year != today.tm_year))
		snprintf(day, sizeof day, "%04d-%02d-%02d ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday);
	int late = hl_tui_deadline(m, now_ms, dl, sizeof dl);
	if (m->ack_response != HL_RESP_NONE)
		snprintf(resp, sizeof resp, " %s", hl_response_name(m->ack_response));
	else if (hl_msg_escalated(m))
		snprintf(resp, sizeof resp, " escalated to %s", m->escalated_to);
	/* Escalated, the words say it; the alarm of overdue would not. */
	const char *glyph = hl_msg_escalated(m) ? " " :
	    hl_tui_glyph(m->state, utf8);
	(void)self;
	snprintf(out, len, "%s%s %s %s %s%s%s%s%s%s%s%s%s", day, utc, local,
	    m->dir == HL_IN ? "<" : ">", m->dir == HL_IN ? "" : "to ", m->peer,
	    prio_word(m->content.prio), kind_word(m->content.kind),
	    strcmp(glyph, " ") != 0 ? " " : "", strcmp(glyph, " ") != 0 ? glyph :
	    "", resp, dl[0] ? " " : "", dl);
	return late;
}

enum hl_tui_emph
hl_tui_msg_emph(const struct hl_msg *m, int64_t now_ms)
{
	char dl[48];
	if (m->state == HL_ST_FAILED || m->state == HL_ST_EXPIRED)
		return HL_TUI_FAILED;
	if (hl_tui_deadline(m, now_ms, dl, sizeof dl))
		return HL_TUI_OVERDUE;
	if (m->content.prio == HL_PRIO_FLASH)
		return HL_TUI_FLASH;
	if (m->content.prio == HL_PRIO_URGENT)
		return HL_TUI_URGENT;
	return HL_TUI_NORMAL;
}

/* Appends s to out (of len bytes, at *off) as long as it fits in the
 * columns left; whole characters only. */
static void
append_cols(char *out, size_t len, size_t *off, int *left, const char *s)
{
	int used;
	size_t n = hl_tui_fit(s, strlen(s), *left, &used);
	if (*off + n + 1 > len)
		n = len - *off - 1;
	memcpy(out + *off, s, n);
	*off += n;
	out[*off] = '\0';
	*left -= used;
}

static const char *
trust_word(int trust)
{
	switch (trust) {
	case 2: return " verified";
	case 3: return " CHANGED";
	default: return "";
	}
}

void
hl_tui_contact_line(const struct hl_tui_contact *c, int cols, char *out,
    size_t len)
{
	char counts[96] = "", part[64];
	size_t off = 0;
	int left = cols;
	out[0] = '\0';
	if (len == 0)
		return;
	if (c->unread > 0) {
		snprintf(part, sizeof part, " %lld new", (long long)c->unread);
		strcat(counts, part);
	}
	if (c->awaiting > 0) {
		snprintf(part, sizeof part, " %lld ack!", (long long)c->awaiting);
		strcat(counts, part);
	}
	if (c->overdue > 0) {
		snprintf(part, sizeof part, " %lld late", (long long)c->overdue);
		strcat(counts, part);
	}
	/* The handle, counts, trust and local time matter most; the display
	 * name takes what room is left, shortened with an ellipsis. */
	char tail[192];
	int tw;
	snprintf(tail, sizeof tail, "%s%s%s%s", counts, trust_word(c->trust),
	    c->local_time[0] ? " " : "", c->local_time);
	hl_tui_fit(tail, strlen(tail), 1 << 20, &tw);
	int nw = hl_tui_width(c->name, strlen(c->name));
	if (nw > NAME_MIN)
		nw = NAME_MIN;
	if (tw + hl_tui_width(c->handle, strlen(c->handle)) +
	    (nw > 0 ? nw + 1 : 0) > cols) {
		/* Short of room the clock stays, its zone's name goes: a part
		 * of the display name is worth more. */
		const char *sp = strchr(c->local_time, ' ');
		int n = sp != NULL ? (int)(sp - c->local_time) :
		    (int)strlen(c->local_time);
		snprintf(tail, sizeof tail, "%s%s%s%.*s", counts,
		    trust_word(c->trust), c->local_time[0] ? " " : "", n,
		    c->local_time);
		hl_tui_fit(tail, strlen(tail), 1 << 20, &tw);
	}
	append_cols(out, len, &off, &left, c->handle);
	int room = left - tw - 1;    /* the blank before the name */
	if (c->name[0] && room >= 4) {
		append_cols(out, len, &off, &left, " ");
		if (hl_tui_fit(c->name, strlen(c->name), room, NULL) ==
		    strlen(c->name)) {
			append_cols(out, len, &off, &left, c->name);
		} else {
			char cut[sizeof c->name];
			size_t n = hl_tui_fit(c->name, strlen(c->name),
			    room - (int)strlen(ELLIPSIS), NULL);
			memcpy(cut, c->name, n);
			cut[n] = '\0';
			append_cols(out, len, &off, &left, cut);
			append_cols(out, len, &off, &left, ELLIPSIS);
		}
	}
	append_cols(out, len, &off, &left, tail);
}

void
hl_tui_status_line(const struct hl_tui_status *s, int64_t now_ms, int cols,
    char *out, size_t len)
{
	char relay[200], counts[128], peer[128] = "", d[32], full[1024];
	size_t off = 0;
	int left = 1 << 20;
	out[0] = '\0';
	if (len == 0)
		return;
	full[0] = '\0';
	if (s->relay == 1) {
		snprintf(relay, sizeof relay, "relay ok");
	} else if (s->relay < 0) {
		snprintf(relay, sizeof relay, "relay: connecting");
	} else if (s->retry_at_ms > 0 && s->retry_at_ms <= now_ms + 500) {
		snprintf(relay, sizeof relay, "RELAY UNREACHABLE, retrying");
	} else if (s->retry_at_ms > 0) {
		hl_tui_duration(s->retry_at_ms > now_ms ? s->retry_at_ms - now_ms : 0,
		    d, sizeof d);
		snprintf(relay, sizeof relay, "RELAY UNREACHABLE, retry %s", d);
	} else {
		snprintf(relay, sizeof relay, "RELAY UNREACHABLE");
	}
	/* Only what is not zero: the line must hold at 80 columns. */
	counts[0] = '\0';
	const int64_t vals[] = { s->unread, s->awaiting, s->overdue, s->queued };
	static const char *const names[] = { "new", "to ack", "overdue", "queued" };
	for (size_t i = 0; i < 4; i++)
		if (vals[i] > 0) {
			size_t o = strlen(counts);
			snprintf(counts + o, sizeof counts - o, " %lld %s",
			    (long long)vals[i], names[i]);
		}
	if (counts[0]) {
		memmove(counts + 2, counts, strlen(counts) + 1);
		counts[0] = ' ';
		counts[1] = '|';
	}
	if (s->peer != NULL && s->peer[0])
		snprintf(peer, sizeof peer, " | %s %s", s->peer,
		    s->peer_trust == 3 ? "KEY CHANGED: /trust" :
		    s->peer_trust == 2 ? "verified" : s->peer_trust == 1 ?
		    "unverified" : "no key yet");
	append_cols(full, sizeof full, &off, &left, "[");
	append_cols(full, sizeof full, &off, &left, s->self != NULL ? s->self : "?");
	append_cols(full, sizeof full, &off, &left, "] ");
	append_cols(full, sizeof full, &off, &left, relay);
	append_cols(full, sizeof full, &off, &left, counts);
	append_cols(full, sizeof full, &off, &left, peer);
	/* Why last: libcurl's words are long, the rest must stay in view. */
	if (s->relay == 0 && s->why[0]) {
		append_cols(full, sizeof full, &off, &left, " | ");
		append_cols(full, sizeof full, &off, &left, s->why);
	}
	if (s->notice != NULL && s->notice[0]) {
		append_cols(full, sizeof full, &off, &left, " | ");
		append_cols(full, sizeof full, &off, &left, s->notice);
	}
	/* Cut, it says so: the end of the line is not where the words end. */
	size_t n = hl_tui_fit(full, off, cols, NULL);
	if (n < off && cols > (int)strlen(ELLIPSIS))
		n = hl_tui_fit(full, off, cols - (int)strlen(ELLIPSIS), NULL);
	if (n + strlen(ELLIPSIS) + 1 > len)
		n = len > strlen(ELLIPSIS) + 1 ? len - strlen(ELLIPSIS) - 1 : 0;
	memcpy(out, full, n);
	out[n] = '\0';
	if (n < off && cols > (int)strlen(ELLIPSIS))
		strcat(out, ELLIPSIS);
}


int
hl_tui_ack_pick(const struct hl_tui_ack_cand *c, size_t n, int selected)
{
	if (selected >= 0)
		return (size_t)selected < n && c[selected].needs_ack &&
		    !c[selected].acked ? selected : -1;
	int best = -1;
	for (size_t i = 0; i < n; i++) {
		if (!c[i].needs_ack || c[i].acked)
			continue;
		if (best < 0 || c[i].prio > c[best].prio ||
		    (c[i].prio == c[best].prio && c[i].rowid < c[best].rowid))
			best = (int)i;
	}
	return best;
}
