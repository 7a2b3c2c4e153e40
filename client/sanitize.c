/* Terminal-safe copies of untrusted text. */
#include "client/sanitize.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at p[0..n), or 0 when it is not
 * one (overlong forms, surrogates, code points above U+10FFFF, stray or
 * missing continuation bytes); the code point goes to *cp. Follows the
 * table of well-formed byte sequences in the Unicode standard, so every
 * rejected form is rejected at its first byte that cannot belong. */
static size_t
utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	unsigned char b = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;
	uint32_t v;

	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		need = 1;
		v = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		need = 2;
		v = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0;	/* overlong below U+0800 */
		else if (b == 0xed)
			hi = 0x9f;	/* UTF-16 surrogates */
	} else if (b >= 0xf0 && b <= 0xf4) {
		need = 3;
		v = b & 0x07;
		if (b == 0xf0)
			lo = 0x90;	/* overlong below U+10000 */
		else if (b == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return 0;
	if (n < need + 1)
		return 0;
	for (size_t i = 1; i <= need; i++) {
		unsigned char c = p[i];
		unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xbf;
		if (c < l || c > h)
			return 0;
		v = (v << 6) | (c & 0x3f);
	}
	*cp = v;
	return need + 1;
}

/* Characters that reorder or break a line without looking like anything:
 * the bidi embeddings, overrides and isolates, the direction marks (which
 * can move a neighbouring word across a boundary), and the line and
 * paragraph separators (which some viewers break on, forging a line). */
static int
is_bidi_control(uint32_t cp)
{
	return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	    cp == 0x061c || cp == 0x200e || cp == 0x200f || cp == 0x2028 ||
	    cp == 0x2029;
}

char *
hl_sanitize(const char *s, size_t len, int flags)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;

	/* Worst case: every byte becomes \xNN; an escaped character of two
	 * or three bytes becomes the eight characters <U+XXXX>, at most four
	 * per byte. */
	if (len > (SIZE_MAX - 1) / 4)
		return NULL;
	out = malloc(4 * len + 1);
	if (out == NULL)
		return NULL;
	o = out;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_seq(p + i, len - i, &cp);
		if (n == 0) {
			o += sprintf(o, "\\x%02x", p[i]);
			i++;
			continue;
		}
		if ((cp == '\n' || cp == '\t') && !(flags & HL_SANITIZE_ONELINE))
			*o++ = (char)cp;
		else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			o += sprintf(o, "\\x%02x", (unsigned)cp);
		else if (is_bidi_control(cp))
			o += sprintf(o, "<U+%04X>", (unsigned)cp);
		else {
			memcpy(o, p + i, n);
			o += n;
		}
		i += n;
	}
	*o = '\0';
	/* Not shrunk with realloc: the copy may be a plaintext, and a moved
	 * block would leave it behind unwiped. */
	return out;
}

const char *
hl_san(struct hl_san_pool *p, const char *s, int flags)
{
	if (s == NULL)
		return "";
	if (p->n == HL_SAN_POOL_MAX)
		return "<not shown>";
	char *c = hl_sanitize(s, strlen(s), flags);
	if (c == NULL)
		return "<not shown>";
	p->v[p->n++] = c;
	return c;
}

void
hl_san_free(struct hl_san_pool *p)
{
	for (size_t i = 0; i < p->n; i++) {
		sodium_memzero(p->v[i], strlen(p->v[i]));
		free(p->v[i]);
	}
	p->n = 0;
}
