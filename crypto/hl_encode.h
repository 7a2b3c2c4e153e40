/*
 * hl_encode: base64 and hex, strict on the way in. Thin wrappers over
 * libsodium so that every parser of binary fields fails the same way.
 */
#ifndef HL_ENCODE_H
#define HL_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/* Standard base64 with padding. Returns a NUL-terminated string the caller
 * frees with free(), or NULL when out of memory. */
char *hl_b64_encode(const uint8_t *bin, size_t len);

/* Decodes standard, padded base64 with no whitespace. At most max bytes are
 * accepted (HL_ETOOBIG beyond). On success *out (caller frees with free())
 * holds *outlen bytes; a zero-length result gives a non-NULL *out. Returns
 * 0, HL_EPARSE (cause says where), HL_ETOOBIG or HL_ENOMEM. */
int hl_b64_decode(const char *b64, size_t b64len, size_t max, uint8_t **out,
    size_t *outlen, char *cause);

/* Decodes into a fixed buffer that must be filled exactly: want bytes. */
int hl_b64_decode_exact(const char *b64, uint8_t *out, size_t want,
    char *cause);

/* Lower-case hex into out, which has room for 2 * len + 1 bytes. */
void hl_hex_encode(const uint8_t *bin, size_t len, char *out);

/* Decodes exactly want bytes of hex (either case, nothing else).
 * Returns 0 or HL_EPARSE. */
int hl_hex_decode_exact(const char *hex, uint8_t *out, size_t want);

/* Copies at most max bytes of s into out (max + 4 bytes), printable ASCII
 * only ('?' for the rest) and "..." when cut, so that text from a peer or a
 * relay quoted in an error cannot drive the terminal that shows it.
 * Returns out. */
const char *hl_printable(const char *s, char *out, size_t max);

/* True when s is exactly n lower-case hex digits. */
int hl_is_lowerhex(const char *s, size_t n);

#endif
