/*
 * The relay's secret parsers (relay/secret.h): the Authorization value of
 * every authenticated request, and the enrollment code a registration
 * carries. The input is the text, NUL-terminated.
 *
 * Properties:
 *   - a token is accepted exactly when the text is "Bearer " (the scheme in
 *     any case) and 64 lower-case hex digits, and its hash is SHA-256 of
 *     those 32 bytes;
 *   - a code that is accepted hashes the same whatever the case of its
 *     letters, with its dashes and spaces removed, and with O, I and L
 *     written 0, 1 and 1; a refusal is HL_EPARSE with a cause.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/hl_err.h"
#include "relay/secret.h"
#include "tests/fuzz/fuzz.h"

__attribute__((noreturn)) static void
broken(const char *what, const char *text)
{
	fprintf(stderr, "fuzz_relay_secret: property broken: %s: '%s'\n", what,
	    text);
	abort();
}

static int
token_shape(const char *s)
{
	if (strncasecmp(s, "Bearer ", 7) != 0 ||
	    strlen(s) != 7 + HL_SECRET_TOKEN_HEX)
		return 0;
	for (size_t i = 7; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void
check_token(const char *text)
{
	uint8_t hash[HL_SECRET_HASH], raw[HL_SECRET_TOKEN_BYTES];
	uint8_t want[HL_SECRET_HASH];
	int rc = hl_secret_token_parse(text, hash);
	int shape = token_shape(text);
	if (rc != 0 && rc != HL_EAUTH)
		broken("token: undocumented failure", text);
	if ((rc == 0) != shape)
		broken(rc == 0 ? "token: accepts a malformed value" :
		    "token: refuses a well-formed value", text);
	if (rc != 0)
		return;
	if (sodium_hex2bin(raw, sizeof raw, text + 7, HL_SECRET_TOKEN_HEX, NULL,
	    NULL, NULL) != 0)
		broken("token: hex does not decode", text);
	crypto_hash_sha256(want, raw, sizeof raw);
	if (memcmp(hash, want, sizeof hash) != 0)
		broken("token: hash is not SHA-256 of the token", text);
}

/* Another spelling of the same code: case flipped, separators dropped or
 * the look-alike letters replaced. */
static void
respell(const char *text, char *out, size_t cap, int how)
{
	size_t o = 0;
	for (size_t i = 0; text[i] != '\0' && o + 1 < cap; i++) {
		char c = text[i];
		if (how == 0)
			c = (char)(islower((unsigned char)c) ?
			    toupper((unsigned char)c) : tolower((unsigned char)c));
		else if (how == 1 && (c == '-' || c == ' '))
			continue;
		else if (how == 2 && (c == 'O' || c == 'o'))
			c = '0';
		else if (how == 2 && (c == 'I' || c == 'i' || c == 'L' || c == 'l'))
			c = '1';
		out[o++] = c;
	}
	out[o] = '\0';
}

static void
check_code(const char *text)
{
	uint8_t hash[HL_SECRET_HASH], again[HL_SECRET_HASH];
	char cause[HL_CAUSE_MAX] = "";
	char other[HL_SECRET_CODE_INPUT_MAX + 1];
	int rc = hl_secret_code_hash(text, hash, cause);
	if (rc != 0) {
		if (rc != HL_EPARSE || cause[0] == '\0' ||
		    memchr(cause, '\0', sizeof cause) == NULL)
			broken("code: undocumented failure or no cause", text);
		return;
	}
	if (strlen(text) > HL_SECRET_CODE_INPUT_MAX)
		broken("code: accepted over its length limit", text);
	for (int how = 0; how < 3; how++) {
		respell(text, other, sizeof other, how);
		if (hl_secret_code_hash(other, again, cause) != 0 ||
		    memcmp(hash, again, sizeof hash) != 0)
			broken("code: another spelling hashes differently", other);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	if (size > 0)
		memcpy(text, data, size);
	text[size] = '\0';
	check_token(text);
	check_code(text);
	free(text);
	return 0;
}
