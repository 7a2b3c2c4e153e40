#include "client/tui_text.h"

#include <string.h>
#include <wchar.h>

size_t
hl_tui_char(const char *s, size_t len, int *cols)
{
	mbstate_t ps;
	wchar_t wc;
	if (len == 0) {
		*cols = 0;
		return 0;
	}
	memset(&ps, 0, sizeof ps);
	size_t n = mbrtowc(&wc, s, len, &ps);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		*cols = 1;    /* shown as one replacement column */
		return 1;
	}
	int w = wcwidth(wc);
	*cols = w < 0 ? 1 : w;
	return n;
}

int
hl_tui_width(const char *s, size_t len)
{
	int total = 0, w;
	for (size_t i = 0; i < len;) {
		i += hl_tui_char(s + i, len - i, &w);
		total += w;
	}
	return total;
}

size_t
hl_tui_fit(const char *s, size_t len, int cols, int *used)
{
	size_t i = 0;
	int total = 0, w;
	while (i < len) {
		size_t n = hl_tui_char(s + i, len - i, &w);
		if (total + w > cols)
			break;
		total += w;
		i += n;
	}
	if (used != NULL)
		*used = total;
	return i;
}

static void
put(struct hl_tui_span *out, size_t max, size_t k, size_t off, size_t len,
    int cols)
{
	if (k < max) {
		out[k].off = off;
		out[k].len = len;
		out[k].cols = cols;
	}
}

size_t
hl_tui_wrap(const char *s, size_t len, int width, struct hl_tui_span *out,
    size_t max)
{
	size_t k = 0, start = 0, i = 0;
	size_t brk = 0;        /* end of the line before the last blank, 0 none */
	int cols = 0, brk_cols = 0, w;
	if (width < 1)
		width = 1;
	while (i < len) {
		if (s[i] == '\n') {
			put(out, max, k++, start, i - start, cols);
			start = ++i;
			cols = 0;
			brk = 0;
			continue;
		}
		size_t n = hl_tui_char(s + i, len - i, &w);
		if (cols + w > width && i > start) {
			size_t end = i, next = i;
			int ecols = cols;
			if (brk > start) {
				end = brk;
				ecols = brk_cols;
				next = brk;
			}
			put(out, max, k++, start, end - start, ecols);
			while (next < len && s[next] == ' ')
				next++;
			start = i = next;
			cols = 0;
			brk = 0;
			continue;
		}
		if (s[i] == ' ' && i > start) {
			brk = i;
			brk_cols = cols;
		}
		cols += w;
		i += n;
	}
	if (start < len || k == 0 || s[len - 1] == '\n')
		put(out, max, k++, start, len - start, cols);
	return k;
}
