/* One sanitizer for everything shown on a terminal that came from another
 * person or from the relay: the CLI, the TUI and the drill runner all use it,
 * so a peer cannot move the cursor, retitle the window, ring the bell or
 * reorder a line with bidi controls. */
#ifndef HL_SANITIZE_H
#define HL_SANITIZE_H

#include <stddef.h>

#define HL_SANITIZE_ONELINE 1  /* also escape \n and \t: names, handles, one-line fields */

/* A newly allocated NUL-terminated copy of s[0..len) that is safe to write to a
 * terminal; caller frees with free(). NULL only when allocation fails. Valid UTF-8
 * is kept as it is (wide and combining characters included); C0 controls except
 * \n and \t (both escaped too with HL_SANITIZE_ONELINE), DEL and C1 controls are
 * shown as \xNN (C1 by its code point, e.g. \x9b); U+202A-U+202E,
 * U+2066-U+2069, the direction marks U+061C, U+200E, U+200F and the separators
 * U+2028, U+2029 are shown as <U+202E>; bytes that are not valid UTF-8 are
 * shown as \xNN. */
char *hl_sanitize(const char *s, size_t len, int flags);

/* Sanitized copies for one piece of output, wiped and freed together:
 *   struct hl_san_pool p = { 0 };
 *   printf("%s: %s\n", hl_san(&p, name, HL_SANITIZE_ONELINE), hl_san(&p, body, 0));
 *   hl_san_free(&p);
 * hl_san returns a copy owned by the pool ("" for NULL; a fixed placeholder,
 * never the raw text, when the pool is full or memory runs out). */
#define HL_SAN_POOL_MAX 48
struct hl_san_pool {
	char *v[HL_SAN_POOL_MAX];
	size_t n;
};
const char *hl_san(struct hl_san_pool *p, const char *s, int flags);
/* Wipes and frees every copy; the pool can be used again. */
void hl_san_free(struct hl_san_pool *p);

#endif
