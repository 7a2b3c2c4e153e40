/* The drawing layer: puts the state of tui_int.h on the terminal with
 * ncursesw. It reads that state and the view model, and calls neither the
 * engine nor the store. */
#include "client/tui_int.h"
#include "client/tui_text.h"
#include "client/tui_view.h"
#include "crypto/hl_time.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lines the notices may take at the bottom of the conversation. */
#define NOTE_LINES 5

enum {
	PAIR_RED = 1,
	PAIR_YELLOW,
	PAIR_CYAN,
	PAIR_MAGENTA,
};

/* One line of the conversation pane. */
struct line {
	const char *s;
	size_t len;
	int indent;
	attr_t attr;
};

#define LINES_MAX 512

static int colors;

static attr_t
emph_attr(enum hl_tui_emph e)
{
	switch (e) {
	case HL_TUI_FLASH:
		return A_BOLD | (colors ? COLOR_PAIR(PAIR_RED) : A_REVERSE);
	case HL_TUI_URGENT:
		return A_BOLD | (colors ? COLOR_PAIR(PAIR_YELLOW) : A_UNDERLINE);
	case HL_TUI_OVERDUE:
	case HL_TUI_FAILED:
		return A_BOLD | (colors ? COLOR_PAIR(PAIR_RED) : A_REVERSE);
	default:
		return A_BOLD;
	}
}

int
hl_tui_draw_start(struct hl_tui *t, FILE *in, FILE *out)
{
	if (getenv("ESCDELAY") == NULL)
		set_escdelay(50);
	if (newterm(NULL, out, in) == NULL)
		return -1;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	intrflush(stdscr, FALSE);
	/* NO_COLOR (no-color.org): any value turns colour off. */
	colors = has_colors() && getenv("NO_COLOR") == NULL;
	if (colors) {
		start_color();
		use_default_colors();
		init_pair(PAIR_RED, COLOR_RED, -1);
		init_pair(PAIR_YELLOW, COLOR_YELLOW, -1);
		init_pair(PAIR_CYAN, COLOR_CYAN, -1);
		init_pair(PAIR_MAGENTA, COLOR_MAGENTA, -1);
	}
	t->color = colors;
	/* The symbols only where the terminal is more than a vt100. */
	const char *term = getenv("TERM");
	if (term != NULL && (strncmp(term, "vt1", 3) == 0 ||
	    strncmp(term, "vt2", 3) == 0))
		t->utf8 = 0;
	return 0;
}

void
hl_tui_draw_end(void)
{
	endwin();
}

void
hl_tui_bell(void)
{
	beep();
}

/* Writes s (at most len bytes) at y, x within w columns, padding with
 * blanks when pad is set. */
static void
put(int y, int x, int w, const char *s, size_t len, attr_t attr, int pad)
{
	int used = 0;
	if (w <= 0)
		return;
	size_t n = hl_tui_fit(s, len, w, &used);
	attron(attr);
	mvaddnstr(y, x, s, (int)n);
	if (pad)
		for (int i = used; i < w; i++)
			mvaddch(y, x + i, ' ');
	attroff(attr);
}

static void
puts0(int y, int x, int w, const char *s, attr_t attr, int pad)
{
	put(y, x, w, s, strlen(s), attr, pad);
}

static void
draw_banner(struct hl_tui *t, const struct hl_tui_rect *r)
{
	const struct tui_await *f = hl_tui_flash_waiting(t);
	char buf[512];
	if (f == NULL || r->h == 0)
		return;
	char when[HL_TIME_STR];
	hl_time_utc(f->sent_ms, when);
	snprintf(buf, sizeof buf, " FLASH from %s at %s: %s  -- /ack to "
	    "acknowledge ", f->peer, when, f->first_line);
	attr_t a = A_REVERSE | A_BOLD | (colors ? COLOR_PAIR(PAIR_RED) : 0);
	puts0(r->y, r->x, r->w, buf, a, 1);
}

static void
draw_contacts(struct hl_tui *t, const struct hl_tui_rect *r)
{
	char buf[512];
	if (r->w == 0)
		return;
	puts0(r->y, r->x, r->w, "Contacts", A_BOLD | A_UNDERLINE, 0);
	int rows = r->h - 1;
	int first = 0;
	if (t->sel_contact >= rows)
		first = t->sel_contact - rows + 1;
	for (int i = 0; i < rows && (size_t)(first + i) < t->ncontacts; i++) {
		const struct hl_tui_contact *c = &t->contacts[first + i];
		int open = strcmp(c->handle, t->peer) == 0;
		hl_tui_contact_line(c, r->w - 2, buf, sizeof buf);
		attr_t a = 0;
		if (first + i == t->sel_contact && t->focus == TUI_FOCUS_CONTACTS)
			a |= A_REVERSE;
		if (c->trust == 3 || c->overdue > 0)
			a |= colors ? COLOR_PAIR(PAIR_RED) : A_BOLD;
		else if (c->awaiting > 0)
			a |= A_BOLD;
		puts0(r->y + 1 + i, r->x, 2, open ? "> " : "  ", A_BOLD, 0);
		puts0(r->y + 1 + i, r->x + 2, r->w - 2, buf, a, a & A_REVERSE);
	}
}

/* Adds the lines of one message, top to bottom, to out. */
static size_t
item_lines(struct hl_tui *t, size_t idx, int w, int64_t now, char *hdr,
    size_t hdrlen, struct line *out, size_t max)
{
	const struct tui_item *it = &t->items[idx];
	struct hl_tui_span sp[LINES_MAX];
	size_t n = 0;
	hl_tui_msg_header(&it->m, t->acct.handle, now, t->utf8, hdr, hdrlen);
	attr_t a = emph_attr(hl_tui_msg_emph(&it->m, now));
	if ((int)idx == t->sel)
		a |= A_REVERSE;
	/* The header wraps too: the deadline at its end must stay in view. */
	int hw = w - 2 < 1 ? 1 : w - 2;
	size_t hk = hl_tui_wrap(hdr, strlen(hdr), hw, sp, LINES_MAX);
	for (size_t i = 0; i < hk && i < LINES_MAX && n < max; i++)
		out[n++] = (struct line){ hdr + sp[i].off, sp[i].len, i ? 2 : 0, a };
	if (it->m.dir == HL_IN && (t->peer_trust == 3 || it->m.key_changed) &&
	    n < max) {
		static const char changed[] = "!! KEY CHANGED for this contact: "
		    "/verify, then /trust";
		static const char late[] = "!! arrived under an identity key "
		    "accepted later";
		const char *s = t->peer_trust == 3 ? changed : late;
		out[n++] = (struct line){ s, strlen(s), 2,
		    A_BOLD | (colors ? COLOR_PAIR(PAIR_MAGENTA) : A_REVERSE) };
	}
	int bw = w - 2 < 1 ? 1 : w - 2;
	size_t k = hl_tui_wrap(it->text, strlen(it->text), bw, sp, LINES_MAX);
	if (k > LINES_MAX)
		k = LINES_MAX;
	for (size_t i = 0; i < k && n < max; i++)
		out[n++] = (struct line){ it->text + sp[i].off, sp[i].len, 2, 0 };
	return n;
}

static void
draw_info(struct hl_tui *t, const struct hl_tui_rect *r)
{
	struct hl_tui_span sp[64];
	int row = 0;
	for (size_t i = 0; row < r->h && i < t->ninfo; i++) {
		const char *s = t->info[i];
		int w = r->w - 2 < 1 ? 1 : r->w - 2;
		size_t k = hl_tui_wrap(s, strlen(s), w, sp, 64);
		for (size_t j = 0; j < k && j < 64 && row < r->h; j++, row++)
			put(r->y + row, r->x + (j ? 2 : 0), r->w - (j ? 2 : 0),
			    s + sp[j].off, sp[j].len, i == 0 ? A_BOLD : 0, 0);
	}
}

static void
draw_conv(struct hl_tui *t, const struct hl_tui_rect *r)
{
	static struct line lines[LINES_MAX * 2];
	static char hdrs[64][256];
	char title[256], held[160];
	int64_t now = hl_now_ms();
	if (r->w == 0)
		return;
	t->conv_h = r->h;
	if (t->help) {
		draw_info(t, r);
		return;
	}
	snprintf(title, sizeof title, "%s%s", t->peer[0] ? "Conversation with " :
	    "No conversation open: /msg HANDLE", t->peer);
	puts0(r->y, r->x, r->w, title, A_BOLD | A_UNDERLINE, 0);
	/* Notices at the bottom: the newest few, each wrapped (a file name or
	 * a cause must be read to its end), within a few lines. */
	struct hl_tui_span nsp[NOTE_LINES];
	int budget = r->h < 12 ? 2 : NOTE_LINES, used = 0;
	size_t first = t->nnotes;
	while (first > 0 && t->nnotes - first < 3) {
		const char *s = t->notes[first - 1];
		int k = (int)hl_tui_wrap(s, strlen(s), r->w, nsp, NOTE_LINES);
		if (k > budget - used)
			k = budget - used;
		if (k <= 0)
			break;
		used += k;
		first--;
	}
	int bottom = r->y + r->h, y = bottom - used;
	for (size_t i = first; i < t->nnotes && y < bottom; i++) {
		const char *s = t->notes[i];
		size_t k = hl_tui_wrap(s, strlen(s), r->w, nsp, NOTE_LINES);
		for (size_t j = 0; j < k && j < NOTE_LINES && y < bottom; j++)
			put(y++, r->x, r->w, s + nsp[j].off, nsp[j].len,
			    colors ? COLOR_PAIR(PAIR_CYAN) : A_DIM, 0);
	}
	bottom -= used;
	if (t->peer_held > 0) {
		/* Only a pending key is a reason to trust; anything else held
		 * (a damaged or unreadable item) is for reading, not trusting. */
		if (t->peer_trust == HL_TRUST_CHANGED)
			snprintf(held, sizeof held, "!! %zu message(s) from %s held: "
			    "its key changed; /verify, then /trust", t->peer_held,
			    t->peer);
		else
			snprintf(held, sizeof held, "!! %zu item(s) from %s held "
			    "unread: see hotline inbox --held", t->peer_held, t->peer);
		bottom--;
		puts0(bottom, r->x, r->w, held, A_BOLD |
		    (colors ? COLOR_PAIR(PAIR_MAGENTA) : A_REVERSE), 0);
	}
	int h = bottom - (r->y + 1);
	if (h <= 0)
		return;
	/* Lines from the newest message up, until the screen (and the
	 * scroll) is filled. */
	size_t nl = 0;
	int need = h + t->scroll;
	size_t idx;
	for (idx = 0; idx < t->nitems && (int)nl < need && idx < 64; idx++) {
		struct line tmp[LINES_MAX];
		size_t k = item_lines(t, idx, r->w, now, hdrs[idx], sizeof hdrs[idx],
		    tmp, LINES_MAX);
		if (nl + k > sizeof lines / sizeof lines[0])
			break;
		/* lines[] holds the newest at the start; each message's own
		 * lines go in reverse. */
		for (size_t j = 0; j < k; j++)
			lines[nl + j] = tmp[k - 1 - j];
		nl += k;
	}
	t->at_top = idx >= t->nitems && (int)nl <= need;
	if (t->scroll > (int)nl - h)
		t->scroll = (int)nl - h > 0 ? (int)nl - h : 0;
	for (int row = 0; row < h; row++) {
		size_t li = (size_t)(t->scroll + row);
		if (li >= nl)
			break;
		const struct line *l = &lines[li];
		put(bottom - 1 - row, r->x + l->indent, r->w - l->indent, l->s, l->len,
		    l->attr, 0);
	}
	if (t->scroll > 0)
		puts0(r->y, r->x + r->w - 12 > 0 ? r->x + r->w - 12 : r->x, 12,
		    " [scrolled]", A_BOLD, 0);
}

static void
draw_status(struct hl_tui *t, const struct hl_tui_rect *r)
{
	struct hl_tui_status s;
	char buf[1024];
	memset(&s, 0, sizeof s);
	s.self = t->acct.handle;
	/* Answering but refusing to hand over messages is not "ok". */
	s.relay = t->relay == 1 && t->fetch_failed && !t->fetching ? 0 : t->relay;
	s.retry_at_ms = s.relay == 1 ? 0 : t->retry_at_ms;
	snprintf(s.why, sizeof s.why, "%s", t->relay_why);
	s.unread = t->counts_in[HL_ST_NEW];
	s.awaiting = (int64_t)t->nawait;
	s.overdue = t->counts_out[HL_ST_OVERDUE];
	s.queued = t->counts_out[HL_ST_QUEUED];
	s.peer = t->peer;
	s.peer_trust = t->peer_trust;
	hl_tui_status_line(&s, hl_now_ms(), r->w, buf, sizeof buf);
	attr_t a = A_REVERSE;
	if (t->relay == 0)
		a |= A_BOLD | (colors ? COLOR_PAIR(PAIR_RED) : 0);
	puts0(r->y, r->x, r->w, buf, a, 1);
}

static const char *const form_prompts[] = {
	"incident title> ", "severity (low|medium|high|critical)> ",
	"TLP (clear|green|amber|amber+strict|red)> ", "status (e.g. open)> ",
	"indicators (separated by ;)> ", "requested actions (separated by ;)> ",
	"details> ",
};

static void
draw_input(struct hl_tui *t, const struct hl_tui_rect *r)
{
	const char *prompt = t->form.active ? form_prompts[t->form.field] : "> ";
	int pw = hl_tui_width(prompt, strlen(prompt));
	if (pw > r->w / 2)
		pw = r->w / 2;
	size_t first;
	int col;
	puts0(r->y, r->x, pw, prompt, A_BOLD, 0);
	hl_tui_edit_view(&t->edit, r->w - pw, &first, &col);
	put(r->y, r->x + pw, r->w - pw, t->edit.buf + first, t->edit.len - first,
	    0, 1);
	move(r->y, r->x + pw + col);
}

void
hl_tui_draw(struct hl_tui *t)
{
	struct hl_tui_layout l;
	if (t->clear) {
		clearok(curscr, TRUE);
		t->clear = 0;
	}
	erase();
	hl_tui_layout(LINES, COLS, hl_tui_flash_waiting(t) != NULL,
	    t->focus == TUI_FOCUS_CONTACTS, &l);
	if (!l.usable) {
		char buf[128];
		snprintf(buf, sizeof buf, "hotline needs at least %dx%d (now %dx%d)",
		    HL_TUI_MIN_COLS, HL_TUI_MIN_ROWS, COLS, LINES);
		puts0(0, 0, COLS, buf, A_BOLD, 0);
		refresh();
		return;
	}
	draw_banner(t, &l.banner);
	draw_contacts(t, &l.contacts);
	if (l.contacts.w > 0 && l.conv.w > 0)
		for (int y = 0; y < l.conv.h; y++)
			mvaddstr(l.conv.y + y, l.conv.x - 1, t->utf8 ? "\u2502" : "|");
	draw_conv(t, &l.conv);
	draw_status(t, &l.status);
	draw_input(t, &l.input);
	refresh();
	t->redraw = 0;
}

void
hl_tui_read_keys(struct hl_tui *t)
{
	wint_t ch;
	int r, n = 0;
	/* Bounded: a paste of a few thousand characters at most per turn. */
	while (n++ < 4096 && (r = get_wch(&ch)) != ERR) {
		if (r == KEY_CODE_YES && ch == KEY_RESIZE) {
			t->redraw = 1;
			continue;
		}
		hl_tui_key(t, r == KEY_CODE_YES, (unsigned int)ch);
	}
}
