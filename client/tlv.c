#include "client/tlv.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void
grow(struct hl_tlv_buf *b, size_t more)
{
	if (b->failed)
		return;
	if (b->len + more <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 128;
	while (cap < b->len + more)
		cap *= 2;
	/* Not realloc: the old block must be wiped before it goes. */
	uint8_t *n = malloc(cap);
	if (n == NULL) {
		b->failed = 1;
		return;
	}
	if (b->data != NULL) {
		memcpy(n, b->data, b->len);
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	b->data = n;
	b->cap = cap;
}

void
hl_tlv_put(struct hl_tlv_buf *b, uint8_t tag, const void *v, size_t len)
{
	if (len > UINT32_MAX) {
		b->failed = 1;
		return;
	}
	grow(b, 5 + len);
	if (b->failed)
		return;
	uint8_t *p = b->data + b->len;
	p[0] = tag;
	p[1] = (uint8_t)(len >> 24);
	p[2] = (uint8_t)(len >> 16);
	p[3] = (uint8_t)(len >> 8);
	p[4] = (uint8_t)len;
	if (len > 0)
		memcpy(p + 5, v, len);
	b->len += 5 + len;
}

void
hl_tlv_put_str(struct hl_tlv_buf *b, uint8_t tag, const char *s)
{
	hl_tlv_put(b, tag, s, strlen(s));
}

void
hl_tlv_put_i64(struct hl_tlv_buf *b, uint8_t tag, int64_t v)
{
	uint8_t x[8];
	for (int i = 0; i < 8; i++)
		x[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
	hl_tlv_put(b, tag, x, sizeof x);
}

void
hl_tlv_buf_free(struct hl_tlv_buf *b)
{
	if (b->data != NULL) {
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	memset(b, 0, sizeof *b);
}

int
hl_tlv_get(const uint8_t *rec, size_t len, uint8_t tag, const uint8_t **v,
    size_t *vlen)
{
	size_t off = 0;
	while (off < len) {
		if (len - off < 5)
			return -1;
		uint32_t n = (uint32_t)rec[off + 1] << 24 |
		    (uint32_t)rec[off + 2] << 16 | (uint32_t)rec[off + 3] << 8 |
		    rec[off + 4];
		if (n > len - off - 5)
			return -1;
		if (rec[off] == tag) {
			*v = rec + off + 5;
			*vlen = n;
			return 1;
		}
		off += 5 + (size_t)n;
	}
	return 0;
}

int
hl_tlv_get_str(const uint8_t *rec, size_t len, uint8_t tag, char *out,
    size_t outlen)
{
	const uint8_t *v;
	size_t n;
	out[0] = '\0';
	int r = hl_tlv_get(rec, len, tag, &v, &n);
	if (r < 0)
		return -1;
	if (r == 0)
		return 0;
	if (n >= outlen || memchr(v, '\0', n) != NULL)
		return -1;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

int
hl_tlv_get_i64(const uint8_t *rec, size_t len, uint8_t tag, int64_t *v)
{
	const uint8_t *p;
	size_t n;
	*v = 0;
	int r = hl_tlv_get(rec, len, tag, &p, &n);
	if (r < 0 || (r == 1 && n != 8))
		return -1;
	if (r == 1) {
		uint64_t x = 0;
		for (int i = 0; i < 8; i++)
			x = x << 8 | p[i];
		*v = (int64_t)x;
	}
	return 0;
}
