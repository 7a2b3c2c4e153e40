/*
 * hl_content: the JSON content carried inside each Signal ciphertext
 * (docs/PROTOCOL.md, "Content layer"), padded to 256-byte blocks before it is
 * encrypted so that lengths leak little, and parsed strictly on the way in.
 *
 * Knows nothing of sessions or of the relay: bytes in, a struct out.
 */
#ifndef HL_CONTENT_H
#define HL_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hl_handle.h"

#define HL_CONTENT_VERSION 1
#define HL_CONTENT_BLOCK 256          /* padded length is a multiple of this */
#define HL_CONTENT_MAX_PADDED 65536   /* largest padded content accepted */
#define HL_CONTENT_BODY_MAX 16384     /* bytes of UTF-8 in "body" */
#define HL_ID_HEX 32                  /* message ids: 32 lower-case hex digits */
#define HL_THREAD_MAX 64              /* [A-Za-z0-9._-]{1,64} */
#define HL_INCIDENT_FIELD_MAX 512     /* title, status: bytes of UTF-8 */
#define HL_INCIDENT_LIST_MAX 64       /* indicators, actions: entries */
#define HL_INCIDENT_ITEM_MAX 1024     /* one indicator or action */

enum hl_kind {
	HL_KIND_TEXT,
	HL_KIND_RECEIPT,   /* automatic: decrypted and stored */
	HL_KIND_ACK,       /* an officer acknowledged "ref" */
	HL_KIND_CHECK,     /* drill communication check; EXERCISE */
	HL_KIND_INCIDENT,  /* structured incident report */
};

enum hl_prio {
	HL_PRIO_ROUTINE,
	HL_PRIO_URGENT,
	HL_PRIO_FLASH,
};

enum hl_response {
	HL_RESP_NONE,         /* only in non-ack contents */
	HL_RESP_RECEIVED,
	HL_RESP_WILL_COMPLY,
	HL_RESP_UNABLE,
	HL_RESP_NEED_INFO,
};

enum hl_severity {
	HL_SEV_NONE,          /* only in non-incident contents */
	HL_SEV_LOW,
	HL_SEV_MEDIUM,
	HL_SEV_HIGH,
	HL_SEV_CRITICAL,
};

enum hl_tlp {
	HL_TLP_NONE,          /* only in non-incident contents */
	HL_TLP_CLEAR,
	HL_TLP_GREEN,
	HL_TLP_AMBER,
	HL_TLP_AMBER_STRICT,
	HL_TLP_RED,
};

/* An incident report, present only when kind is HL_KIND_INCIDENT. */
struct hl_incident {
	char *title;               /* required, non-empty */
	enum hl_severity severity; /* required */
	enum hl_tlp tlp;           /* required */
	char *status;              /* required, non-empty, e.g. "open" */
	char **indicators;         /* n_indicators strings, may be 0 */
	size_t n_indicators;
	char **actions;            /* requested actions, may be 0 */
	size_t n_actions;
};

/*
 * One content. Strings are owned by the struct (heap, NUL-terminated) and
 * freed, after wiping, by hl_content_clear(). Absent optional fields are
 * empty strings ("") in the fixed arrays, 0 in ack_by, NULL in pointers.
 */
struct hl_content {
	int v;                           /* HL_CONTENT_VERSION */
	char id[HL_ID_HEX + 1];          /* required */
	enum hl_kind kind;
	char from[HL_HANDLE_MAX + 1];    /* required: the sender's handle */
	int64_t sent;                    /* unix ms, > 0 */
	enum hl_prio prio;
	int64_t seq;                     /* per conversation and sender, >= 1 */
	int64_t ack_by;                  /* unix ms, optional (0 = none) */
	char thread[HL_THREAD_MAX + 1];  /* optional incident thread id */
	char ref[HL_ID_HEX + 1];         /* required for receipt and ack */
	enum hl_response response;       /* required for ack, else NONE */
	char *body;                      /* required string, may be ""; UTF-8 */
	struct hl_incident *incident;    /* required for incident, else NULL */
};

/*
 * Checks c against every rule the decoder enforces on values, with the
 * decoder's codes and causes (the cause names the field, e.g. "content:
 * field 'seq' must be an integer >= 1"):
 *   HL_ECONTENT_VERSION  v is not 1
 *   HL_ECONTENT_ID       id is missing or not 32 lower-case hex digits
 *   HL_ECONTENT_KIND     kind is not one of enum hl_kind
 *   HL_ECONTENT_MISSING  a required field is absent: body NULL; ref,
 *                        response or incident absent where the kind needs
 *                        them; an incident's title, status, severity, tlp
 *                        or a NULL entry of its lists
 *   HL_ECONTENT_UNKNOWN  ref, response or incident in a kind that does not
 *                        take it
 *   HL_ECONTENT_SIZE     body, title, status, a list entry or a list's
 *                        length over its limit
 *   HL_ECONTENT_VALUE    anything else out of range or malformed (from,
 *                        sent, prio, seq, ack_by < 0, thread, ref, an
 *                        empty title or status, invalid UTF-8)
 * HL_EINVAL when c is NULL.
 */
int hl_content_validate(const struct hl_content *c, char *cause);

/* Validates c, serialises it to compact JSON (fields in the order of
 * docs/PROTOCOL.md; ack_by, thread, ref, response only when set; an
 * incident's lists always, [] when empty) and pads it. On success *out
 * (caller frees with hl_content_free_bytes) holds *outlen bytes, a multiple
 * of HL_CONTENT_BLOCK. Returns 0, a code of hl_content_validate(),
 * HL_ECONTENT_SIZE when the padded content would exceed
 * HL_CONTENT_MAX_PADDED, or HL_ENOMEM; on failure *out is NULL. */
int hl_content_encode(const struct hl_content *c, uint8_t **out,
    size_t *outlen, char *cause);

/*
 * Removes the padding and parses strictly; the cause names the field.
 *   HL_ECONTENT_PADDING  len not a positive multiple of HL_CONTENT_BLOCK,
 *                        over HL_CONTENT_MAX_PADDED, or the zeros at the
 *                        end not preceded by 0x80
 *   HL_ECONTENT_JSON     not exactly one JSON object: bad syntax, trailing
 *                        bytes, a NUL byte (raw or \u0000), invalid UTF-8,
 *                        a duplicate field (anywhere), a root that is not
 *                        an object
 *   HL_ECONTENT_TYPE     a field of the wrong JSON type (reals and booleans
 *                        are not integers)
 *   HL_ECONTENT_UNKNOWN  a field version 1 does not know, or one the kind
 *                        does not take
 *   and the codes of hl_content_validate() for values, with "" for thread
 *   or ref and 0 for ack_by refused as HL_ECONTENT_VALUE.
 * On success fills *c (caller clears with hl_content_clear); what *c held
 * before is overwritten, not freed. On failure *c is left cleared. in may
 * be NULL only when len is 0.
 */
int hl_content_decode(const uint8_t *in, size_t len, struct hl_content *c,
    char *cause);

/* Wipes and frees what c owns and zeroes c. Safe on a zeroed struct. */
void hl_content_clear(struct hl_content *c);

/* Wipes and frees a buffer from hl_content_encode. NULL is fine. */
void hl_content_free_bytes(uint8_t *buf, size_t len);

/* Names as they appear on the wire (static; "" for a NONE value or a value
 * out of range, never NULL), and their parsers: exact, case-sensitive
 * matches of those names, 0 or HL_EPARSE (NULL s included; *out untouched
 * on failure). */
const char *hl_kind_name(enum hl_kind k);
const char *hl_prio_name(enum hl_prio p);
const char *hl_response_name(enum hl_response r);
const char *hl_severity_name(enum hl_severity s);
const char *hl_tlp_name(enum hl_tlp t);
int hl_kind_parse(const char *s, enum hl_kind *out);
int hl_prio_parse(const char *s, enum hl_prio *out);
int hl_response_parse(const char *s, enum hl_response *out);
int hl_severity_parse(const char *s, enum hl_severity *out);
int hl_tlp_parse(const char *s, enum hl_tlp *out);

/* Fills id with a fresh random message id (32 lower-case hex digits from
 * 16 random bytes). Returns 0, or HL_ECRYPTO when libsodium cannot start. */
int hl_content_new_id(char id[HL_ID_HEX + 1]);

#endif
