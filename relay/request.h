/*
 * request: the relay API's request bodies and query values, parsed strictly
 * into structs. Every refusal names the field ("prekeys[3].key: expected 33
 * bytes of base64"); unknown and duplicate fields are refused. Returns 0,
 * HL_EPARSE (400), HL_ETOOBIG (413: a message body over its limit) or
 * HL_ENOMEM. Text fields must be UTF-8 without control characters (C0, DEL,
 * C1) or bidirectional formatting characters, since clients show them on
 * terminals.
 */
#ifndef HL_RELAY_REQUEST_H
#define HL_RELAY_REQUEST_H

#include "relay/store.h"

#include <stddef.h>
#include <stdint.h>

#define HL_REQUEST_SEARCH_MAX 128

struct hl_request_limits {
	size_t max_prekeys_per_upload;
	size_t max_message_bytes;
	size_t max_fetch;
};

/* POST /v1/messages */
struct hl_request_message {
	char to[HL_HANDLE_MAX + 1];
	char id[HL_STORE_ID_HEX + 1];
	int type;
	uint8_t *body;              /* owned; hl_request_message_clear() */
	size_t body_len;
};

/* POST /v1/accounts. Fills everything but token_hash. out->prekeys is
 * allocated; release with hl_request_registration_clear(). */
int hl_request_parse_registration(const char *body, size_t len,
    const struct hl_request_limits *lim, struct hl_store_registration *out,
    char *cause);
void hl_request_registration_clear(struct hl_store_registration *reg);

/* PUT /v1/keys. Release with hl_request_keys_clear(). */
int hl_request_parse_keys(const char *body, size_t len,
    const struct hl_request_limits *lim, struct hl_store_keys *out,
    char *cause);
void hl_request_keys_clear(struct hl_store_keys *up);

/* PUT /v1/profile: the body is the profile object itself. */
int hl_request_parse_profile(const char *body, size_t len,
    struct hl_store_profile *out, char *cause);

/* POST /v1/messages. Release with hl_request_message_clear(). */
int hl_request_parse_message(const char *body, size_t len,
    const struct hl_request_limits *lim, struct hl_request_message *out,
    char *cause);
void hl_request_message_clear(struct hl_request_message *m);

/* POST /v1/messages/ack. *qids is the caller's (free()). */
int hl_request_parse_ack(const char *body, size_t len,
    const struct hl_request_limits *lim, int64_t **qids, size_t *n,
    char *cause);

/* A query value that must be a decimal integer in [min, max]. */
int hl_request_parse_int(const char *name, const char *value, int64_t min,
    int64_t max, int64_t *out, char *cause);

/* The directory query: at most HL_REQUEST_SEARCH_MAX bytes of plain text. */
int hl_request_parse_search(const char *q, char *cause);

/* True when s is text a terminal can show safely (see above). */
int hl_request_text_ok(const char *s, size_t len);

#endif
