#include "client/tui_edit.h"
#include "client/tui_text.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void
hl_tui_edit_init(struct hl_tui_edit *e)
{
	memset(e, 0, sizeof *e);
}

void
hl_tui_edit_free(struct hl_tui_edit *e)
{
	for (size_t i = 0; i < e->nhist; i++)
		free(e->hist[i]);
	free(e->draft);
	/* The line may hold a note or a report being typed. */
	sodium_memzero(e, sizeof *e);
}

/* The start of the character before off, with its combining marks. */
static size_t
prev_char(const struct hl_tui_edit *e, size_t off)
{
	size_t i = 0, last = 0;
	int w;
	while (i < off) {
		size_t n = hl_tui_char(e->buf + i, e->len - i, &w);
		if (w > 0 || i == 0)
			last = i;
		i += n;
	}
	return last;
}

/* The end of the character at off, with the combining marks after it. */
static size_t
next_char(const struct hl_tui_edit *e, size_t off)
{
	int w;
	if (off >= e->len)
		return e->len;
	off += hl_tui_char(e->buf + off, e->len - off, &w);
	while (off < e->len) {
		size_t n = hl_tui_char(e->buf + off, e->len - off, &w);
		if (w != 0)
			break;
		off += n;
	}
	return off;
}

int
hl_tui_edit_insert(struct hl_tui_edit *e, const char *s, size_t n)
{
	if (e->len + n > HL_TUI_LINE_MAX)
		return -1;
	memmove(e->buf + e->cur + n, e->buf + e->cur, e->len - e->cur);
	memcpy(e->buf + e->cur, s, n);
	e->len += n;
	e->cur += n;
	e->buf[e->len] = '\0';
	return 0;
}

static void
cut(struct hl_tui_edit *e, size_t from, size_t to)
{
	memmove(e->buf + from, e->buf + to, e->len - to);
	e->len -= to - from;
	e->buf[e->len] = '\0';
	e->cur = from;
}

static void
set_line(struct hl_tui_edit *e, const char *s)
{
	size_t n = strlen(s);
	if (n > HL_TUI_LINE_MAX)
		n = HL_TUI_LINE_MAX;
	memcpy(e->buf, s, n);
	e->buf[n] = '\0';
	e->len = e->cur = n;
}

void
hl_tui_edit_op(struct hl_tui_edit *e, enum hl_tui_edit_op op)
{
	size_t p;
	switch (op) {
	case HL_EDIT_LEFT:
		if (e->cur > 0)
			e->cur = prev_char(e, e->cur);
		break;
	case HL_EDIT_RIGHT:
		e->cur = next_char(e, e->cur);
		break;
	case HL_EDIT_HOME:
		e->cur = 0;
		break;
	case HL_EDIT_END:
		e->cur = e->len;
		break;
	case HL_EDIT_BACKSPACE:
		if (e->cur > 0)
			cut(e, prev_char(e, e->cur), e->cur);
		break;
	case HL_EDIT_DELETE:
		cut(e, e->cur, next_char(e, e->cur));
		break;
	case HL_EDIT_KILL_LINE:
		cut(e, 0, e->cur);
		break;
	case HL_EDIT_KILL_WORD:
		/* Blanks before the cursor, then the word before them. */
		p = e->cur;
		while (p > 0 && e->buf[p - 1] == ' ')
			p--;
		while (p > 0 && e->buf[p - 1] != ' ')
			p--;
		cut(e, p, e->cur);
		break;
	case HL_EDIT_HIST_PREV:
		if (e->hpos == 0)
			break;
		if (e->hpos == e->nhist) {
			free(e->draft);
			e->draft = strdup(e->buf);
		}
		e->hpos--;
		set_line(e, e->hist[e->hpos]);
		break;
	case HL_EDIT_HIST_NEXT:
		if (e->hpos >= e->nhist)
			break;
		e->hpos++;
		set_line(e, e->hpos == e->nhist ? (e->draft ? e->draft : "") :
		    e->hist[e->hpos]);
		break;
	}
}

void
hl_tui_edit_take(struct hl_tui_edit *e, char *out)
{
	memcpy(out, e->buf, e->len + 1);
	if (e->len > 0 && (e->nhist == 0 || strcmp(e->hist[e->nhist - 1], e->buf))) {
		char *copy = strdup(e->buf);
		if (copy != NULL) {
			if (e->nhist == HL_TUI_HISTORY) {
				free(e->hist[0]);
				memmove(e->hist, e->hist + 1,
				    (HL_TUI_HISTORY - 1) * sizeof *e->hist);
				e->nhist--;
			}
			e->hist[e->nhist++] = copy;
		}
	}
	e->hpos = e->nhist;
	free(e->draft);
	e->draft = NULL;
	sodium_memzero(e->buf, e->len);
	e->len = e->cur = 0;
}

void
hl_tui_edit_view(const struct hl_tui_edit *e, int cols, size_t *first,
    int *cursor_col)
{
	size_t f = 0;
	if (cols < 2)
		cols = 2;
	/* Scroll by whole characters until the cursor fits, leaving its own
	 * column free at the end. */
	while (hl_tui_width(e->buf + f, e->cur - f) > cols - 1) {
		int w;
		f += hl_tui_char(e->buf + f, e->len - f, &w);
	}
	*first = f;
	*cursor_col = hl_tui_width(e->buf + f, e->cur - f);
}
