/*
 * tui_edit: the input line: UTF-8 text with a cursor, the editing keys
 * (left/right, home/end, backspace, delete, Ctrl-U, Ctrl-W) and a history
 * of entered lines. Knows nothing of ncurses; the cursor moves by whole
 * characters (a combining mark goes with its base).
 */
#ifndef HL_TUI_EDIT_H
#define HL_TUI_EDIT_H

#include <stddef.h>

#define HL_TUI_LINE_MAX 4096     /* bytes of one input line */
#define HL_TUI_HISTORY 100       /* lines remembered */

struct hl_tui_edit {
	char buf[HL_TUI_LINE_MAX + 1];
	size_t len, cur;             /* bytes; cur on a character boundary */
	char *hist[HL_TUI_HISTORY];  /* owned, oldest first */
	size_t nhist;
	size_t hpos;                 /* == nhist: the line being typed */
	char *draft;                 /* owned: the line before history browsing */
};

enum hl_tui_edit_op {
	HL_EDIT_LEFT, HL_EDIT_RIGHT, HL_EDIT_HOME, HL_EDIT_END,
	HL_EDIT_BACKSPACE, HL_EDIT_DELETE, HL_EDIT_KILL_LINE, HL_EDIT_KILL_WORD,
	HL_EDIT_HIST_PREV, HL_EDIT_HIST_NEXT,
};

void hl_tui_edit_init(struct hl_tui_edit *e);
/* Frees the history and wipes the line. */
void hl_tui_edit_free(struct hl_tui_edit *e);

/* Inserts bytes (one or more whole UTF-8 characters) at the cursor;
 * -1 when the line would be too long. */
int hl_tui_edit_insert(struct hl_tui_edit *e, const char *s, size_t n);
void hl_tui_edit_op(struct hl_tui_edit *e, enum hl_tui_edit_op op);

/* Takes the line (copied to out, of HL_TUI_LINE_MAX + 1 bytes), adds it to
 * the history when not empty, and empties the line. */
void hl_tui_edit_take(struct hl_tui_edit *e, char *out);

/* The first byte to show and the cursor's column in a field of cols
 * columns, so that the cursor is always visible. */
void hl_tui_edit_view(const struct hl_tui_edit *e, int cols, size_t *first,
    int *cursor_col);

#endif
