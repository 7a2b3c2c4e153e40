#include "relay/secret.h"

#include "crypto/hl_err.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
hl_secret_token_new(char *hex, uint8_t hash[HL_SECRET_HASH])
{
	uint8_t raw[HL_SECRET_TOKEN_BYTES];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(hex, HL_SECRET_TOKEN_HEX + 1, raw, sizeof raw);
	crypto_hash_sha256(hash, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
}

int
hl_secret_token_parse(const char *value, uint8_t hash[HL_SECRET_HASH])
{
	if (value == NULL || strncasecmp(value, "Bearer ", 7) != 0)
		return HL_EAUTH;
	const char *hex = value + 7;
	for (size_t i = 0; i < HL_SECRET_TOKEN_HEX; i++) {
		char c = hex[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return HL_EAUTH;
	}
	if (hex[HL_SECRET_TOKEN_HEX] != '\0')
		return HL_EAUTH;
	uint8_t raw[HL_SECRET_TOKEN_BYTES];
	size_t n = 0;
	if (sodium_hex2bin(raw, sizeof raw, hex, HL_SECRET_TOKEN_HEX, NULL, &n,
	    NULL) != 0 ||
	    n != sizeof raw) {
		sodium_memzero(raw, sizeof raw);
		return HL_EAUTH;
	}
	crypto_hash_sha256(hash, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
	return 0;
}

/* Bits are taken most significant first, five per symbol. */
void
hl_secret_code_new(char *out, uint8_t hash[HL_SECRET_HASH])
{
	uint8_t raw[HL_SECRET_CODE_BYTES];
	randombytes_buf(raw, sizeof raw);
	size_t o = 0;
	for (size_t i = 0; i < HL_SECRET_CODE_SYMBOLS; i++) {
		if (i > 0 && i % HL_SECRET_CODE_GROUP == 0)
			out[o++] = '-';
		size_t bit = i * 5;
		unsigned v = (unsigned)raw[bit / 8] << 8;
		if (bit / 8 + 1 < sizeof raw)
			v |= raw[bit / 8 + 1];
		out[o++] = crockford[(v >> (11 - bit % 8)) & 31];
	}
	out[o] = '\0';
	crypto_hash_sha256(hash, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
}

static int
symbol_value(char c)
{
	switch (c) {
	case 'o': case 'O':
		return 0;
	case 'i': case 'I': case 'l': case 'L':
		return 1;
	}
	char up = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
	const char *p = up != '\0' ? strchr(crockford, up) : NULL;
	return p ? (int)(p - crockford) : -1;
}

int
hl_secret_code_hash(const char *typed, uint8_t hash[HL_SECRET_HASH],
    char *cause)
{
	uint8_t raw[HL_SECRET_CODE_BYTES];
	size_t nsym = 0;
	size_t len = strlen(typed);
	if (len > HL_SECRET_CODE_INPUT_MAX)
		return hl_fail(cause, HL_EPARSE,
		    "code: longer than %d characters",
		    HL_SECRET_CODE_INPUT_MAX);
	memset(raw, 0, sizeof raw);
	for (size_t i = 0; i < len; i++) {
		char c = typed[i];
		if (c == '-' || c == ' ')
			continue;
		int v = symbol_value(c);
		if (v < 0) {
			sodium_memzero(raw, sizeof raw);
			return hl_fail(cause, HL_EPARSE,
			    "code: character %zu is not a code symbol "
			    "(0-9, A-Z without U)", i + 1);
		}
		if (nsym == HL_SECRET_CODE_SYMBOLS) {
			sodium_memzero(raw, sizeof raw);
			return hl_fail(cause, HL_EPARSE,
			    "code: more than %d symbols",
			    HL_SECRET_CODE_SYMBOLS);
		}
		size_t bit = nsym * 5;
		/* Spread the five bits over at most two bytes. */
		unsigned shifted = (unsigned)v << (11 - bit % 8);
		raw[bit / 8] |= (uint8_t)(shifted >> 8);
		if (bit / 8 + 1 < sizeof raw)
			raw[bit / 8 + 1] |= (uint8_t)(shifted & 0xff);
		nsym++;
	}
	if (nsym != HL_SECRET_CODE_SYMBOLS) {
		sodium_memzero(raw, sizeof raw);
		return hl_fail(cause, HL_EPARSE,
		    "code: expected %d symbols, got %zu",
		    HL_SECRET_CODE_SYMBOLS, nsym);
	}
	crypto_hash_sha256(hash, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
	return 0;
}
