/*
 * secret: the relay's two secrets and their stored forms.
 *
 * A token is 32 random bytes, given to the client once as 64 lower-case hex
 * digits; the store keeps only SHA-256 of the bytes. An enrollment code is
 * 120 random bits written as 24 Crockford base32 symbols in dash-separated
 * groups of four ("K7QD-M2XW-9FHT-R4PV-ZC6N-8JYB"); typed input may use
 * either case, omit or add dashes and spaces, and write O for 0 and I or L
 * for 1. The store keeps only SHA-256 of the 15 decoded bytes.
 */
#ifndef HL_RELAY_SECRET_H
#define HL_RELAY_SECRET_H

#include <stddef.h>
#include <stdint.h>

#define HL_SECRET_TOKEN_BYTES 32
#define HL_SECRET_TOKEN_HEX (2 * HL_SECRET_TOKEN_BYTES)
#define HL_SECRET_HASH 32          /* SHA-256 */
#define HL_SECRET_CODE_BYTES 15
#define HL_SECRET_CODE_SYMBOLS 24
#define HL_SECRET_CODE_GROUP 4
/* the symbols and a dash after every group but the last */
#define HL_SECRET_CODE_STR \
	(HL_SECRET_CODE_SYMBOLS + HL_SECRET_CODE_SYMBOLS / HL_SECRET_CODE_GROUP)
#define HL_SECRET_CODE_INPUT_MAX 64       /* longest typed form accepted */

/* A fresh token: hex (HL_SECRET_TOKEN_HEX + 1 bytes, NUL-terminated) for the
 * client and its hash for the store. The caller wipes hex when done. */
void hl_secret_token_new(char *hex, uint8_t hash[HL_SECRET_HASH]);

/* The hash of the token in an Authorization value "Bearer <64 hex>" (the
 * scheme in any case, one space, lower-case hex, nothing else). 0 or
 * HL_EAUTH. */
int hl_secret_token_parse(const char *value, uint8_t hash[HL_SECRET_HASH]);

/* A fresh code in its printed form (HL_SECRET_CODE_STR bytes) and its hash. The
 * caller wipes out when done. */
void hl_secret_code_new(char *out, uint8_t hash[HL_SECRET_HASH]);

/* The hash of a typed code. 0 or HL_EPARSE with the reason in cause. */
int hl_secret_code_hash(const char *typed, uint8_t hash[HL_SECRET_HASH],
    char *cause);

#endif
