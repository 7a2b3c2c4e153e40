#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

char *
hl_b64_encode(const uint8_t *bin, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(n);
	if (out == NULL)
		return NULL;
	sodium_bin2base64(out, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

int
hl_b64_decode(const char *b64, size_t b64len, size_t max, uint8_t **out,
    size_t *outlen, char *cause)
{
	*out = NULL;
	*outlen = 0;
	if (b64len % 4 != 0)
		return hl_fail(cause, HL_EPARSE,
		    "base64: length %zu is not a multiple of 4", b64len);
	size_t cap = b64len / 4 * 3;
	if (cap > 2 && cap - 2 > max)
		return hl_fail(cause, HL_ETOOBIG,
		    "base64: more than %zu bytes", max);
	uint8_t *buf = malloc(cap ? cap : 1);
	if (buf == NULL)
		return HL_ENOMEM;
	size_t n = 0;
	const char *end = NULL;
	if (sodium_base642bin(buf, cap ? cap : 1, b64, b64len, NULL, &n, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != b64 + b64len) {
		size_t at = end ? (size_t)(end - b64) : 0;
		free(buf);
		return hl_fail(cause, HL_EPARSE,
		    "base64: invalid character or padding at offset %zu", at);
	}
	if (n > max) {
		free(buf);
		return hl_fail(cause, HL_ETOOBIG,
		    "base64: more than %zu bytes", max);
	}
	/* One spelling per value: the decoded bytes must encode back to the
	 * input. This refuses stray bits before the padding, and it refuses
	 * bytes above 0x7f, which libsodium 1.0.18's decoder misreads as '/'. */
	char *again = hl_b64_encode(buf, n);
	int canonical = again != NULL && strlen(again) == b64len &&
	    memcmp(again, b64, b64len) == 0;
	free(again);
	if (!canonical) {
		sodium_memzero(buf, cap ? cap : 1);
		free(buf);
		return hl_fail(cause, HL_EPARSE,
		    "base64: invalid character or non-canonical encoding");
	}
	*out = buf;
	*outlen = n;
	return 0;
}

int
hl_b64_decode_exact(const char *b64, uint8_t *out, size_t want, char *cause)
{
	uint8_t *buf;
	size_t n;
	int rc = hl_b64_decode(b64, strlen(b64), want, &buf, &n, cause);
	if (rc == HL_ETOOBIG)
		return hl_fail(cause, HL_EPARSE,
		    "base64: expected %zu bytes, got more", want);
	if (rc != 0)
		return rc;
	if (n != want) {
		free(buf);
		return hl_fail(cause, HL_EPARSE,
		    "base64: expected %zu bytes, got %zu", want, n);
	}
	memcpy(out, buf, n);
	sodium_memzero(buf, n);
	free(buf);
	return 0;
}

void
hl_hex_encode(const uint8_t *bin, size_t len, char *out)
{
	sodium_bin2hex(out, 2 * len + 1, bin, len);
}

int
hl_hex_decode_exact(const char *hex, uint8_t *out, size_t want)
{
	size_t n = 0;
	const char *end = NULL;
	if (strlen(hex) != 2 * want)
		return HL_EPARSE;
	if (sodium_hex2bin(out, want, hex, 2 * want, NULL, &n, &end) != 0 ||
	    n != want || end != hex + 2 * want)
		return HL_EPARSE;
	return 0;
}

int
hl_is_lowerhex(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return s[i] == '\0';
}

const char *
hl_printable(const char *s, char *out, size_t max)
{
	size_t i;
	for (i = 0; s[i] != '\0' && i < max; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}
