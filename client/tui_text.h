/*
 * tui_text: UTF-8 text measured in terminal columns, for the terminal
 * interface's view model. Wide characters take two columns and are never
 * split; combining characters take none and stay with the character they
 * follow; a byte that is not UTF-8 counts as one column. Knows nothing of
 * ncurses; needs an LC_CTYPE that is UTF-8 for wcwidth().
 */
#ifndef HL_TUI_TEXT_H
#define HL_TUI_TEXT_H

#include <stddef.h>

/* One piece of a text: bytes [off, off + len), cols columns wide. */
struct hl_tui_span {
	size_t off;
	size_t len;
	int cols;
};

/* The length in bytes of the character at s (at least 1 when len > 0) and
 * its width in columns (0 for combining marks, 2 for wide ones). */
size_t hl_tui_char(const char *s, size_t len, int *cols);

/* Columns taken by s[0..len). */
int hl_tui_width(const char *s, size_t len);

/* How many bytes of s[0..len) fit in cols columns (whole characters, with
 * their combining marks); *used gets the columns they take (may be NULL). */
size_t hl_tui_fit(const char *s, size_t len, int cols, int *used);

/* Wraps s[0..len) into lines of at most width columns (width >= 1):
 * breaks at '\n', else after the last blank that fits, else inside the
 * word; blanks at a break are dropped. Fills at most max spans and returns
 * how many lines the whole text takes (which may be more than max; an
 * empty text is one empty line). */
size_t hl_tui_wrap(const char *s, size_t len, int width,
    struct hl_tui_span *out, size_t max);

#endif
