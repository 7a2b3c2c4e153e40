/*
 * api: the relay API's JSON, client side (docs/PROTOCOL.md, "Relay API"):
 * builders for request bodies and strict parsers for responses. Pure: no
 * I/O, no crypto; every parser has a hard limit at each level and says
 * which field is wrong.
 */
#ifndef HL_API_H
#define HL_API_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hl_content.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"

#define HL_TOKEN_HEX 64
#define HL_QID_MAX 24          /* decimal queue ids */
#define HL_API_FETCH_MAX 1000  /* items accepted in one fetch answer */
#define HL_API_DIR_MAX 1000    /* directory entries accepted */
#define HL_PROFILE_FIELD_MAX 128
#define HL_LANGUAGES_MAX 8

/* A directory entry and the profile part of it. Strings are fixed arrays,
 * "" when absent. */
struct hl_profile {
	char name[HL_PROFILE_FIELD_MAX + 1];
	char organisation[HL_PROFILE_FIELD_MAX + 1];
	char country[3];
	char role[HL_PROFILE_FIELD_MAX + 1];
	char languages[HL_LANGUAGES_MAX][9];
	size_t n_languages;
	char timezone[65];
	char alternate[HL_HANDLE_MAX + 1];
};

struct hl_dir_entry {
	char handle[HL_HANDLE_MAX + 1];
	struct hl_profile profile;
	uint8_t identity_key[HL_KEY_LEN];
	int64_t updated_ms;
};

enum hl_item_kind {
	HL_ITEM_MESSAGE,   /* a ciphertext from a contact */
	HL_ITEM_EXPIRED,   /* notice: our message to `to` was purged unread */
	HL_ITEM_DROPPED,   /* notice: our message was removed (reason) */
	HL_ITEM_INVALID,   /* an item this client cannot take (error says why):
	                    * kept as a record and acked, so one bad item never
	                    * stalls the inbox; from and id are set when known */
};

/* One item of GET /v1/messages. body is owned (freed with the whole answer
 * by hl_api_fetch_free). */
struct hl_item {
	char qid[HL_QID_MAX + 1];
	enum hl_item_kind kind;
	char id[HL_ID_HEX + 1];
	char from[HL_HANDLE_MAX + 1];    /* message */
	int type;                        /* message: HL_MSG_* */
	uint8_t *body;                   /* message: the ciphertext */
	size_t body_len;
	char to[HL_HANDLE_MAX + 1];      /* notices */
	char reason[33];                 /* dropped */
	int64_t accepted_ms;
	int64_t at_ms;                   /* notices */
	int err;                         /* invalid items: the HL_E code */
	char error[HL_CAUSE_MAX];        /* ... and why */
};

struct hl_fetch {
	struct hl_item *items;
	size_t n;
	int prekeys_remaining;           /* -1 when absent */
	int more;
};

/* --- request bodies: each returns a NUL-terminated compact JSON string
 * the caller frees with free(), or NULL when out of memory or when a string
 * argument is NULL or not UTF-8. Builders write what they are given; check
 * a profile first with hl_profile_validate. --- */

/* POST /v1/accounts. prekeys: n entries. */
char *hl_api_build_register(const char *handle, const char *code,
    const struct hl_bundle *identity, const struct hl_prekey_pub *prekeys,
    size_t n, const struct hl_profile *profile);

/* PUT /v1/keys: prekeys (n may be 0) and/or a signed prekey (NULL: none). */
char *hl_api_build_keys(const struct hl_prekey_pub *prekeys, size_t n,
    const struct hl_signed_prekey_pub *spk);

/* PUT /v1/profile */
char *hl_api_build_profile(const struct hl_profile *profile);

/* POST /v1/messages */
char *hl_api_build_message(const char *to, const char *id, int type,
    const uint8_t *ct, size_t len);

/* POST /v1/messages/ack: n queue ids. */
char *hl_api_build_ack(const char *const *qids, size_t n);

/* --- responses: 0, or HL_EPARSE / HL_ETOOBIG (HL_ENOMEM) with the field
 * in cause ("fetch: messages[3].body: base64: ..."). Fields the client
 * does not know are ignored, so that a newer relay may add some; known
 * fields are checked strictly. Nothing is kept on failure. --- */

/* 201 of POST /v1/accounts: the token (64 lower-case hex). */
int hl_api_parse_token(const char *json, size_t len,
    char token[HL_TOKEN_HEX + 1], char *cause);

/* 200 of GET /v1/keys/{handle}; checks the handle matches. created_ms of
 * the signed prekey is not on the wire and is left 0. */
int hl_api_parse_bundle(const char *json, size_t len, const char *handle,
    struct hl_bundle *out, char *cause);

/* 200 of PUT /v1/keys or GET /v1/keys: prekeys_remaining. */
int hl_api_parse_key_count(const char *json, size_t len, int *remaining,
    char *cause);

/* 202 of POST /v1/messages: the accepted time. */
int hl_api_parse_accepted(const char *json, size_t len, const char *id,
    int64_t *accepted_ms, char *cause);

/* 200 of GET /v1/messages. On success *out owns its items (free with
 * hl_api_fetch_free). An item with a valid qid that is wrong in any other
 * way comes back as HL_ITEM_INVALID rather than failing the whole answer;
 * only an answer whose frame or a qid is broken fails. */
int hl_api_parse_fetch(const char *json, size_t len, struct hl_fetch *out,
    char *cause);
void hl_api_fetch_free(struct hl_fetch *f);

/* 200 of GET /v1/directory. *out (caller frees with free()) holds *n.
 * organisation, country, role, languages, timezone and alternate may be
 * absent or null (meaning empty). */
int hl_api_parse_directory(const char *json, size_t len,
    struct hl_dir_entry **out, size_t *n, char *cause);

/* 200 of PUT /v1/profile: one directory entry, which must be handle's.
 * 0 or HL_EPARSE with the field in cause. */
int hl_api_parse_entry(const char *json, size_t len, const char *handle,
    struct hl_dir_entry *out, char *cause);

/* An error body {"error":{"code","message"}}: copies what it can (empty
 * strings when the body is not one), escaped for a terminal by
 * hl_sanitize (HL_SANITIZE_ONELINE: \x1b-style escapes) and truncated to
 * the buffers without splitting a character or an escape; never fails. */
void hl_api_parse_error(const char *json, size_t len, char *code,
    size_t codelen, char *message, size_t msglen);

/* Checks a profile as the relay would (lengths, country, languages,
 * alternate handle). 0 or HL_EPARSE with the field in cause. */
int hl_profile_validate(const struct hl_profile *p, char *cause);

#endif
