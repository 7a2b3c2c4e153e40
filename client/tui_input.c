/* Keys: what each does to the state; the terminal is read in tui_draw.c. */
#include "client/tui_int.h"

#include <curses.h>
#include <limits.h>
#include <string.h>
#include <wchar.h>

static void
move_selection(struct hl_tui *t, int up)
{
	switch (t->focus) {
	case TUI_FOCUS_INPUT:
		hl_tui_edit_op(&t->edit, up ? HL_EDIT_HIST_PREV : HL_EDIT_HIST_NEXT);
		break;
	case TUI_FOCUS_CONTACTS:
		if (up && t->sel_contact > 0)
			t->sel_contact--;
		else if (!up && (size_t)(t->sel_contact + 1) < t->ncontacts)
			t->sel_contact++;
		break;
	case TUI_FOCUS_CONV:
		/* Up goes back in time: items are newest first. */
		if (up && (size_t)(t->sel + 1) < t->nitems)
			t->sel++;
		else if (!up && t->sel >= 0)
			t->sel--;
		if (up && (size_t)(t->sel + 2) >= t->nitems)
			hl_tui_older(t);
		break;
	}
}

static void
page(struct hl_tui *t, int up)
{
	int step = t->conv_h > 4 ? t->conv_h - 3 : 1;
	if (up) {
		if (t->at_top)
			hl_tui_older(t);
		t->scroll += step;
	} else {
		t->scroll = t->scroll > step ? t->scroll - step : 0;
	}
}

static void
enter(struct hl_tui *t)
{
	char line[HL_TUI_LINE_MAX + 1];
	if (t->edit.len == 0 && !t->form.active) {
		if (t->focus == TUI_FOCUS_CONTACTS && t->sel_contact >= 0 &&
		    (size_t)t->sel_contact < t->ncontacts) {
			hl_tui_open_peer(t, t->contacts[t->sel_contact].handle);
			t->focus = TUI_FOCUS_INPUT;
		}
		hl_tui_info_close(t);
		return;
	}
	hl_tui_edit_take(&t->edit, line);
	hl_tui_submit(t, line);
	memset(line, 0, sizeof line);
}

static void
special(struct hl_tui *t, unsigned int k)
{
	switch (k) {
	case KEY_LEFT: hl_tui_edit_op(&t->edit, HL_EDIT_LEFT); break;
	case KEY_RIGHT: hl_tui_edit_op(&t->edit, HL_EDIT_RIGHT); break;
	case KEY_HOME: hl_tui_edit_op(&t->edit, HL_EDIT_HOME); break;
	case KEY_END: hl_tui_edit_op(&t->edit, HL_EDIT_END); break;
	case KEY_BACKSPACE: hl_tui_edit_op(&t->edit, HL_EDIT_BACKSPACE); break;
	case KEY_DC: hl_tui_edit_op(&t->edit, HL_EDIT_DELETE); break;
	case KEY_UP: move_selection(t, 1); break;
	case KEY_DOWN: move_selection(t, 0); break;
	case KEY_PPAGE: page(t, 1); break;
	case KEY_NPAGE: page(t, 0); break;
	case KEY_ENTER: enter(t); break;
	case KEY_BTAB:
		t->focus = (enum tui_focus)((t->focus + 2) % 3);
		break;
	default:
		if (k == (unsigned int)KEY_F(1))
			hl_tui_submit(t, "/help");
		break;
	}
}

void
hl_tui_key(struct hl_tui *t, int is_key, unsigned int ch)
{
	t->redraw = 1;
	if (is_key) {
		special(t, ch);
		return;
	}
	switch (ch) {
	case '\r':
	case '\n':
		enter(t);
		return;
	case '\t':
		if (t->edit.len > 0 && t->edit.buf[0] == '/' &&
		    memchr(t->edit.buf, ' ', t->edit.len) == NULL)
			hl_tui_complete(t);
		else
			t->focus = (enum tui_focus)((t->focus + 1) % 3);
		return;
	case 0x7f:
	case 0x08:
		hl_tui_edit_op(&t->edit, HL_EDIT_BACKSPACE);
		return;
	case 0x01: hl_tui_edit_op(&t->edit, HL_EDIT_HOME); return;
	case 0x05: hl_tui_edit_op(&t->edit, HL_EDIT_END); return;
	case 0x04: hl_tui_edit_op(&t->edit, HL_EDIT_DELETE); return;
	case 0x15: hl_tui_edit_op(&t->edit, HL_EDIT_KILL_LINE); return;
	case 0x17: hl_tui_edit_op(&t->edit, HL_EDIT_KILL_WORD); return;
	case 0x0c:
		t->clear = 1;
		return;
	case 0x1b:
		/* Esc: out of whatever is open, one thing at a time. */
		if (t->help)
			hl_tui_info_close(t);
		else if (t->form.active)
			hl_tui_submit(t, "/incident cancel");
		else
			t->sel = -1;
		return;
	default:
		break;
	}
	if (ch < 0x20 || (ch >= 0x80 && ch < 0xa0))
		return;    /* other controls do nothing */
	char mb[MB_LEN_MAX];
	mbstate_t ps;
	memset(&ps, 0, sizeof ps);
	size_t n = wcrtomb(mb, (wchar_t)ch, &ps);
	if (n != (size_t)-1)
		hl_tui_edit_insert(&t->edit, mb, n);
}
