/*
 * tlv: the small binary records sealed into the client's tables: a tag
 * byte, a 32-bit big-endian length, the bytes. Buffers holding them are
 * wiped when freed, which a JSON library's internal copies would not be.
 */
#ifndef HL_TLV_H
#define HL_TLV_H

#include <stddef.h>
#include <stdint.h>

struct hl_tlv_buf {
	uint8_t *data;    /* owned; wiped and freed by hl_tlv_buf_free */
	size_t len, cap;
	int failed;       /* an allocation failed: the record is incomplete */
};

void hl_tlv_put(struct hl_tlv_buf *b, uint8_t tag, const void *v, size_t len);
void hl_tlv_put_str(struct hl_tlv_buf *b, uint8_t tag, const char *s);
void hl_tlv_put_i64(struct hl_tlv_buf *b, uint8_t tag, int64_t v);
void hl_tlv_buf_free(struct hl_tlv_buf *b);

/* Finds tag in rec (the first occurrence). Returns 1 and points *v at the
 * bytes (borrowed) when found, 0 when absent, -1 when rec is malformed. */
int hl_tlv_get(const uint8_t *rec, size_t len, uint8_t tag, const uint8_t **v,
    size_t *vlen);
/* Copies a string field into out (size outlen, NUL-terminated); "" when
 * absent. -1 when malformed or too long, else 0. */
int hl_tlv_get_str(const uint8_t *rec, size_t len, uint8_t tag, char *out,
    size_t outlen);
/* An 8-byte integer; *v = 0 when absent. -1 when malformed. */
int hl_tlv_get_i64(const uint8_t *rec, size_t len, uint8_t tag, int64_t *v);

#endif
