#include "client/api.h"
#include "client/sanitize.h"
#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"
#include "crypto/hl_handle.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Responses are read strictly in what they say, but fields this version
 * does not know are accepted and ignored: a relay that is newer than the
 * client may add fields, and refusing them would cut older clients off a
 * channel that must keep working in a crisis. (Requests are the other way
 * round: the relay refuses unknown fields, so these builders write exactly
 * the documented ones.)
 */

#define CIPHERTEXT_MAX (128 * 1024)  /* decoded body of one queued message */
#define REGISTRATION_ID_MAX 16380
#define PREKEY_ID_MAX 16777214       /* one-time prekeys: 1..this */
#define SIGNED_PREKEY_ID_MAX 16777215
#define REASON_MAX 32
#define TIMEZONE_MAX 64
#define LANGUAGE_MIN 2
#define LANGUAGE_MAX 8
#define SHOWN_MAX 32                 /* bytes of a relay's value quoted in a cause */
#define PATH_MAX_LEN 64

/* Where a parser is: the answer it reads ("fetch") and the object within
 * it ("messages[3]", "" at the root). */
struct at {
	const char *what;
	char obj[PATH_MAX_LEN];
	char *cause;
};

static int
at_fail(const struct at *at, const char *key, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "what: obj.key: detail", leaving out the parts that are empty. */
static int
at_fail(const struct at *at, const char *key, int code, const char *fmt, ...)
{
	if (at->cause == NULL)
		return code;
	char detail[HL_CAUSE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	const char *dot = (at->obj[0] != '\0' && key != NULL) ? "." : "";
	const char *sep = (at->obj[0] != '\0' || key != NULL) ? ": " : "";
	return hl_fail(at->cause, code, "%s: %s%s%s%s%s", at->what, at->obj, dot,
	    key ? key : "", sep, detail);
}

static const char *
shown(const char *s, char out[SHOWN_MAX + 4])
{
	return hl_printable(s, out, SHOWN_MAX);
}

/* --- readers: each names the field it refuses --- */

static int
load(struct at *at, const char *json, size_t len, json_t **root)
{
	json_error_t err;
	char text[JSON_ERROR_TEXT_LENGTH + 4];
	*root = NULL;
	if (json == NULL)
		return at_fail(at, NULL, HL_EPARSE, "no answer");
	json_t *r = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (r == NULL)
		return at_fail(at, NULL, HL_EPARSE,
		    "not JSON: %s (line %d, column %d)",
		    hl_printable(err.text, text, JSON_ERROR_TEXT_LENGTH),
		    err.line, err.column);
	if (!json_is_object(r)) {
		json_decref(r);
		return at_fail(at, NULL, HL_EPARSE, "the answer is not a JSON "
		    "object");
	}
	*root = r;
	return 0;
}

/* The member key of obj into *v (borrowed); NULL when absent or null and
 * not required. */
static int
member(const struct at *at, json_t *obj, const char *key, int required,
    json_t **v)
{
	json_t *m = json_object_get(obj, key);
	if (m != NULL && json_is_null(m))
		m = NULL;
	*v = m;
	if (m == NULL && required)
		return at_fail(at, key, HL_EPARSE, "missing");
	return 0;
}

/* A string of min..max bytes, copied into out (max + 1 bytes); "" when an
 * optional field is absent. */
static int
get_str(const struct at *at, json_t *obj, const char *key, int required,
    size_t min, size_t max, char *out)
{
	json_t *v;
	int rc = member(at, obj, key, required, &v);
	out[0] = '\0';
	if (rc != 0 || v == NULL)
		return rc;
	if (!json_is_string(v))
		return at_fail(at, key, HL_EPARSE, "must be a string");
	size_t n = json_string_length(v);
	if (n < min || n > max)
		return at_fail(at, key, HL_EPARSE,
		    "must be %zu..%zu bytes, not %zu", min, max, n);
	memcpy(out, json_string_value(v), n + 1);
	return 0;
}

static int
get_int(const struct at *at, json_t *obj, const char *key, int required,
    int64_t min, int64_t max, int64_t *out)
{
	json_t *v;
	int rc = member(at, obj, key, required, &v);
	if (rc != 0 || v == NULL)
		return rc;
	if (!json_is_integer(v))
		return at_fail(at, key, HL_EPARSE, "must be an integer");
	json_int_t i = json_integer_value(v);
	if ((i < min || i > max) && max == INT64_MAX)
		return at_fail(at, key, HL_EPARSE,
		    "%lld is out of range (at least %lld)", (long long)i,
		    (long long)min);
	if (i < min || i > max)
		return at_fail(at, key, HL_EPARSE,
		    "%lld is out of range %lld..%lld", (long long)i,
		    (long long)min, (long long)max);
	*out = i;
	return 0;
}

static int
get_handle(const struct at *at, json_t *obj, const char *key, int required,
    char out[HL_HANDLE_MAX + 1])
{
	char text[SHOWN_MAX + 4];
	json_t *v;
	int rc = member(at, obj, key, required, &v);
	out[0] = '\0';
	if (rc != 0 || v == NULL)
		return rc;
	if (!json_is_string(v))
		return at_fail(at, key, HL_EPARSE, "must be a string");
	const char *s = json_string_value(v);
	if (!hl_handle_valid(s))
		return at_fail(at, key, HL_EPARSE,
		    "'%s' is not a handle ([a-z0-9][a-z0-9.-]{1,62})",
		    shown(s, text));
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int
get_id(const struct at *at, json_t *obj, const char *key,
    char out[HL_ID_HEX + 1])
{
	json_t *v;
	int rc = member(at, obj, key, 1, &v);
	if (rc != 0)
		return rc;
	if (!json_is_string(v))
		return at_fail(at, key, HL_EPARSE, "must be a string");
	const char *s = json_string_value(v);
	if (!hl_is_lowerhex(s, HL_ID_HEX))
		return at_fail(at, key, HL_EPARSE,
		    "must be %d lower-case hex digits", HL_ID_HEX);
	memcpy(out, s, HL_ID_HEX + 1);
	return 0;
}

/* Base64 of exactly want bytes. */
static int
get_b64_exact(const struct at *at, json_t *obj, const char *key,
    uint8_t *out, size_t want)
{
	char why[HL_CAUSE_MAX];
	json_t *v;
	int rc = member(at, obj, key, 1, &v);
	if (rc != 0)
		return rc;
	if (!json_is_string(v))
		return at_fail(at, key, HL_EPARSE, "must be a string");
	rc = hl_b64_decode_exact(json_string_value(v), out, want, why);
	if (rc != 0)
		return at_fail(at, key, rc == HL_ENOMEM ? rc : HL_EPARSE, "%s",
		    why);
	return 0;
}

/* A serialised Curve25519 public key: 0x05 and 32 bytes. */
static int
get_key(const struct at *at, json_t *obj, const char *key,
    uint8_t out[HL_KEY_LEN])
{
	int rc = get_b64_exact(at, obj, key, out, HL_KEY_LEN);
	if (rc == 0 && out[0] != 0x05)
		return at_fail(at, key, HL_EPARSE,
		    "key type 0x%02x, not 0x05 (Curve25519)", out[0]);
	return rc;
}

static int
get_object(const struct at *at, json_t *obj, const char *key, int required,
    json_t **out)
{
	int rc = member(at, obj, key, required, out);
	if (rc == 0 && *out != NULL && !json_is_object(*out))
		return at_fail(at, key, HL_EPARSE, "must be an object");
	return rc;
}

/* An array of at most max entries; HL_ETOOBIG beyond. */
static int
get_array(const struct at *at, json_t *obj, const char *key, int required,
    size_t max, json_t **out)
{
	int rc = member(at, obj, key, required, out);
	if (rc != 0 || *out == NULL)
		return rc;
	if (!json_is_array(*out))
		return at_fail(at, key, HL_EPARSE, "must be an array");
	size_t n = json_array_size(*out);
	if (n > max)
		return at_fail(at, key, HL_ETOOBIG,
		    "%zu entries, at most %zu accepted", n, max);
	return 0;
}

/* Descends into obj.key (or key[i] when i >= 0) for the causes that
 * follow. */
static void
at_enter(struct at *inner, const struct at *outer, const char *key, long i)
{
	inner->what = outer->what;
	inner->cause = outer->cause;
	const char *dot = outer->obj[0] != '\0' ? "." : "";
	int n;
	if (i >= 0)
		n = snprintf(inner->obj, sizeof inner->obj, "%s%s%s[%ld]",
		    outer->obj, dot, key, i);
	else
		n = snprintf(inner->obj, sizeof inner->obj, "%s%s%s", outer->obj,
		    dot, key);
	/* The answers nest two levels deep; a cut path still names its
	 * start. */
	if (n < 0)
		inner->obj[0] = '\0';
}

/* --- responses --- */

int
hl_api_parse_token(const char *json, size_t len,
    char token[HL_TOKEN_HEX + 1], char *cause)
{
	struct at at = { .what = "register", .cause = cause };
	char handle[HL_HANDLE_MAX + 1];
	json_t *root, *v;
	int rc = load(&at, json, len, &root);
	if (rc != 0)
		return rc;
	rc = get_handle(&at, root, "handle", 1, handle);
	if (rc == 0)
		rc = member(&at, root, "token", 1, &v);
	if (rc == 0 && (!json_is_string(v) ||
	    !hl_is_lowerhex(json_string_value(v), HL_TOKEN_HEX)))
		rc = at_fail(&at, "token", HL_EPARSE,
		    "must be %d lower-case hex digits", HL_TOKEN_HEX);
	if (rc == 0)
		memcpy(token, json_string_value(v), HL_TOKEN_HEX + 1);
	json_decref(root);
	return rc;
}

static int
parse_signed_prekey(const struct at *outer, json_t *obj,
    struct hl_signed_prekey_pub *out)
{
	struct at at;
	json_t *o;
	int64_t id = 0;
	int rc = get_object(outer, obj, "signed_prekey", 1, &o);
	if (rc != 0)
		return rc;
	at_enter(&at, outer, "signed_prekey", -1);
	rc = get_int(&at, o, "id", 1, 0, SIGNED_PREKEY_ID_MAX, &id);
	if (rc == 0)
		rc = get_key(&at, o, "key", out->key);
	if (rc == 0)
		rc = get_b64_exact(&at, o, "signature", out->signature,
		    HL_SIG_LEN);
	out->id = (uint32_t)id;
	out->created_ms = 0;
	return rc;
}

int
hl_api_parse_bundle(const char *json, size_t len, const char *handle,
    struct hl_bundle *out, char *cause)
{
	struct at at = { .what = "bundle", .cause = cause };
	char got[HL_HANDLE_MAX + 1];
	char text[SHOWN_MAX + 4];
	int64_t device = 0, reg = 0, id = 0;
	json_t *root, *pk;
	memset(out, 0, sizeof *out);
	int rc = load(&at, json, len, &root);
	if (rc != 0)
		return rc;
	rc = get_handle(&at, root, "handle", 1, got);
	if (rc == 0 && (handle == NULL || strcmp(got, handle) != 0))
		rc = at_fail(&at, "handle", HL_EPARSE,
		    "'%s' is not the handle asked for", shown(got, text));
	if (rc == 0)
		rc = get_int(&at, root, "device_id", 1, 1, INT32_MAX, &device);
	if (rc == 0)
		rc = get_int(&at, root, "registration_id", 1, 1,
		    REGISTRATION_ID_MAX, &reg);
	if (rc == 0)
		rc = get_key(&at, root, "identity_key", out->identity_key);
	if (rc == 0)
		rc = parse_signed_prekey(&at, root, &out->signed_prekey);
	if (rc == 0)
		rc = get_object(&at, root, "prekey", 0, &pk);
	if (rc == 0 && pk != NULL) {
		struct at in;
		at_enter(&in, &at, "prekey", -1);
		rc = get_int(&in, pk, "id", 1, 1, PREKEY_ID_MAX, &id);
		if (rc == 0)
			rc = get_key(&in, pk, "key", out->prekey.key);
		out->prekey.id = (uint32_t)id;
		out->has_prekey = rc == 0;
	}
	out->device_id = (uint32_t)device;
	out->registration_id = (uint32_t)reg;
	json_decref(root);
	if (rc != 0)
		memset(out, 0, sizeof *out);
	return rc;
}

int
hl_api_parse_key_count(const char *json, size_t len, int *remaining,
    char *cause)
{
	struct at at = { .what = "keys", .cause = cause };
	int64_t n = 0;
	json_t *root;
	int rc = load(&at, json, len, &root);
	if (rc != 0)
		return rc;
	rc = get_int(&at, root, "prekeys_remaining", 1, 0, INT_MAX, &n);
	if (rc == 0)
		*remaining = (int)n;
	json_decref(root);
	return rc;
}

int
hl_api_parse_accepted(const char *json, size_t len, const char *id,
    int64_t *accepted_ms, char *cause)
{
	struct at at = { .what = "send", .cause = cause };
	char got[HL_ID_HEX + 1];
	int64_t ms = 0;
	json_t *root;
	int rc = load(&at, json, len, &root);
	if (rc != 0)
		return rc;
	rc = get_id(&at, root, "id", got);
	if (rc == 0 && (id == NULL || strcmp(got, id) != 0))
		rc = at_fail(&at, "id", HL_EPARSE,
		    "%s is not the id of the message sent", got);
	if (rc == 0)
		rc = get_int(&at, root, "accepted", 1, 1, INT64_MAX, &ms);
	if (rc == 0)
		*accepted_ms = ms;
	json_decref(root);
	return rc;
}

static int
qid_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > HL_QID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int
printable_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s >= 0x7f)
			return 0;
	return 1;
}

static int
parse_message_item(const struct at *at, json_t *o, struct hl_item *it)
{
	char why[HL_CAUSE_MAX];
	int64_t device = 0, type = 0;
	json_t *v;
	int rc = get_handle(at, o, "from", 1, it->from);
	if (rc == 0)
		rc = get_int(at, o, "from_device", 1, 1, INT32_MAX, &device);
	if (rc == 0)
		rc = get_int(at, o, "type", 1, HL_MSG_SIGNAL, HL_MSG_PREKEY,
		    &type);
	it->type = (int)type;
	if (rc == 0)
		rc = member(at, o, "body", 1, &v);
	if (rc != 0)
		return rc;
	if (!json_is_string(v))
		return at_fail(at, "body", HL_EPARSE, "must be a string");
	rc = hl_b64_decode(json_string_value(v), json_string_length(v),
	    CIPHERTEXT_MAX, &it->body, &it->body_len, why);
	if (rc != 0)
		return at_fail(at, "body", rc, "%s", why);
	if (it->body_len == 0)
		return at_fail(at, "body", HL_EPARSE, "empty ciphertext");
	return 0;
}

static int
parse_notice_item(const struct at *at, json_t *o, struct hl_item *it)
{
	int rc = get_handle(at, o, "to", 1, it->to);
	if (rc == 0)
		rc = get_int(at, o, "at", 1, 1, INT64_MAX, &it->at_ms);
	if (rc != 0 || it->kind != HL_ITEM_DROPPED)
		return rc;
	rc = get_str(at, o, "reason", 1, 1, REASON_MAX, it->reason);
	if (rc == 0 && !printable_ascii(it->reason))
		rc = at_fail(at, "reason", HL_EPARSE,
		    "must be printable ASCII");
	return rc;
}

static int
parse_item(const struct at *at, json_t *o, struct hl_item *it)
{
	char text[SHOWN_MAX + 4];
	json_t *v;
	if (!json_is_object(o))
		return at_fail(at, NULL, HL_EPARSE, "must be an object");
	int rc = member(at, o, "qid", 1, &v);
	if (rc != 0)
		return rc;
	if (!json_is_string(v) || !qid_valid(json_string_value(v)))
		return at_fail(at, "qid", HL_EPARSE,
		    "must be a string of 1..%d decimal digits", HL_QID_MAX);
	memcpy(it->qid, json_string_value(v), json_string_length(v) + 1);
	rc = member(at, o, "kind", 1, &v);
	if (rc != 0)
		return rc;
	if (!json_is_string(v))
		return at_fail(at, "kind", HL_EPARSE, "must be a string");
	const char *k = json_string_value(v);
	if (strcmp(k, "message") == 0)
		it->kind = HL_ITEM_MESSAGE;
	else if (strcmp(k, "expired") == 0)
		it->kind = HL_ITEM_EXPIRED;
	else if (strcmp(k, "dropped") == 0)
		it->kind = HL_ITEM_DROPPED;
	else
		return at_fail(at, "kind", HL_EPARSE,
		    "unknown kind '%s'", shown(k, text));
	rc = get_id(at, o, "id", it->id);
	if (rc == 0)
		rc = get_int(at, o, "accepted", 1, 1, INT64_MAX, &it->accepted_ms);
	if (rc != 0)
		return rc;
	if (it->kind == HL_ITEM_MESSAGE)
		return parse_message_item(at, o, it);
	return parse_notice_item(at, o, it);
}

void
hl_api_fetch_free(struct hl_fetch *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; f->items != NULL && i < f->n; i++)
		free(f->items[i].body);
	free(f->items);
	f->items = NULL;
	f->n = 0;
}

int
hl_api_parse_fetch(const char *json, size_t len, struct hl_fetch *out,
    char *cause)
{
	struct at at = { .what = "fetch", .cause = cause };
	int64_t remaining = -1;
	json_t *root, *arr, *more;
	memset(out, 0, sizeof *out);
	out->prekeys_remaining = -1;
	int rc = load(&at, json, len, &root);
	if (rc != 0)
		return rc;
	rc = get_array(&at, root, "messages", 1, HL_API_FETCH_MAX, &arr);
	if (rc == 0)
		rc = get_int(&at, root, "prekeys_remaining", 0, 0, INT_MAX,
		    &remaining);
	if (rc == 0)
		rc = member(&at, root, "more", 1, &more);
	if (rc == 0 && !json_is_boolean(more))
		rc = at_fail(&at, "more", HL_EPARSE, "must be true or false");
	if (rc != 0) {
		json_decref(root);
		return rc;
	}
	size_t n = json_array_size(arr);
	struct hl_item *items = calloc(n ? n : 1, sizeof *items);
	if (items == NULL) {
		json_decref(root);
		return at_fail(&at, NULL, HL_ENOMEM, "out of memory");
	}
	out->items = items;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct at in;
		struct hl_item *it = &items[i];
		at_enter(&in, &at, "messages", (long)i);
		in.cause = it->error;
		rc = parse_item(&in, json_array_get(arr, i), it);
		out->n = i + 1;
		if (rc != 0 && rc != HL_ENOMEM && it->qid[0] != '\0') {
			/* The relay can ack this one: it becomes a record. */
			free(it->body);
			it->body = NULL;
			it->body_len = 0;
			it->kind = HL_ITEM_INVALID;
			it->err = rc;
			if (!hl_handle_valid(it->from))
				it->from[0] = '\0';
			if (!hl_is_lowerhex(it->id, HL_ID_HEX))
				it->id[0] = '\0';
			rc = 0;
		} else if (rc != 0) {
			hl_fail(cause, rc, "%s", it->error);
		}
	}
	if (rc == 0) {
		out->n = n;
		out->prekeys_remaining = (int)remaining;
		out->more = json_is_true(more);
	} else {
		hl_api_fetch_free(out);
		out->prekeys_remaining = -1;
	}
	json_decref(root);
	return rc;
}

/* --- profiles --- */

/* Why p breaks the registration rules, naming the field; NULL when it
 * does not. why has HL_CAUSE_MAX bytes. */
static const char *
profile_fault(const struct hl_profile *p, char *why)
{
	static const struct {
		const char *name;
		size_t off, cap, min, max;
	} texts[] = {
		{ "name", offsetof(struct hl_profile, name),
		    sizeof p->name, 1, HL_PROFILE_FIELD_MAX },
		{ "organisation", offsetof(struct hl_profile, organisation),
		    sizeof p->organisation, 0, HL_PROFILE_FIELD_MAX },
		{ "role", offsetof(struct hl_profile, role),
		    sizeof p->role, 0, HL_PROFILE_FIELD_MAX },
		{ "timezone", offsetof(struct hl_profile, timezone),
		    sizeof p->timezone, 0, TIMEZONE_MAX },
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		const char *s = (const char *)p + texts[i].off;
		if (memchr(s, '\0', texts[i].cap) == NULL) {
			snprintf(why, HL_CAUSE_MAX, "is not terminated");
			return texts[i].name;
		}
		size_t n = strlen(s);
		if (n < texts[i].min || n > texts[i].max) {
			snprintf(why, HL_CAUSE_MAX, "must be %zu..%zu bytes, "
			    "not %zu", texts[i].min, texts[i].max, n);
			return texts[i].name;
		}
		/* jansson refuses what is not UTF-8, and so would the relay. */
		json_t *probe = json_stringn(s, n);
		if (probe == NULL) {
			snprintf(why, HL_CAUSE_MAX, "is not valid UTF-8");
			return texts[i].name;
		}
		json_decref(probe);
	}
	if (!printable_ascii(p->timezone)) {
		snprintf(why, HL_CAUSE_MAX, "must be printable ASCII");
		return "timezone";
	}
	if (memchr(p->country, '\0', sizeof p->country) == NULL ||
	    (p->country[0] != '\0' && (strlen(p->country) != 2 ||
	    p->country[0] < 'A' || p->country[0] > 'Z' ||
	    p->country[1] < 'A' || p->country[1] > 'Z'))) {
		snprintf(why, HL_CAUSE_MAX,
		    "must be two capital letters (ISO 3166-1 alpha-2) or absent");
		return "country";
	}
	if (p->n_languages > HL_LANGUAGES_MAX) {
		snprintf(why, HL_CAUSE_MAX, "%zu entries, at most %d",
		    p->n_languages, HL_LANGUAGES_MAX);
		return "languages";
	}
	for (size_t i = 0; i < p->n_languages; i++) {
		const char *l = p->languages[i];
		size_t n = strnlen(l, sizeof p->languages[i]);
		int ok = n >= LANGUAGE_MIN && n <= LANGUAGE_MAX;
		for (size_t k = 0; ok && k < n; k++)
			ok = (l[k] >= 'a' && l[k] <= 'z') ||
			    (l[k] >= 'A' && l[k] <= 'Z') || l[k] == '-';
		if (!ok) {
			snprintf(why, HL_CAUSE_MAX, "entry %zu must be %d..%d of "
			    "[a-zA-Z-]", i, LANGUAGE_MIN, LANGUAGE_MAX);
			return "languages";
		}
	}
	if (memchr(p->alternate, '\0', sizeof p->alternate) == NULL ||
	    (p->alternate[0] != '\0' && !hl_handle_valid(p->alternate))) {
		snprintf(why, HL_CAUSE_MAX, "must be a handle or absent");
		return "alternate";
	}
	return NULL;
}

int
hl_profile_validate(const struct hl_profile *p, char *cause)
{
	char why[HL_CAUSE_MAX];
	if (p == NULL)
		return hl_fail(cause, HL_EINVAL, "profile: none given");
	const char *field = profile_fault(p, why);
	if (field != NULL)
		return hl_fail(cause, HL_EPARSE, "profile: %s %s", field, why);
	return 0;
}

/* Reads the profile fields of a directory entry. Fields a profile may
 * leave empty may also be absent or null in the answer. */
static int
parse_profile(const struct at *at, json_t *o, struct hl_profile *p)
{
	char why[HL_CAUSE_MAX];
	json_t *langs;
	int rc = get_str(at, o, "name", 1, 1, HL_PROFILE_FIELD_MAX, p->name);
	if (rc == 0)
		rc = get_str(at, o, "organisation", 0, 0, HL_PROFILE_FIELD_MAX,
		    p->organisation);
	if (rc == 0)
		rc = get_str(at, o, "country", 0, 0, 2, p->country);
	if (rc == 0)
		rc = get_str(at, o, "role", 0, 0, HL_PROFILE_FIELD_MAX, p->role);
	if (rc == 0)
		rc = get_str(at, o, "timezone", 0, 0, TIMEZONE_MAX, p->timezone);
	if (rc == 0)
		rc = get_str(at, o, "alternate", 0, 0, HL_HANDLE_MAX,
		    p->alternate);
	if (rc == 0)
		rc = get_array(at, o, "languages", 0, HL_LANGUAGES_MAX, &langs);
	if (rc != 0)
		return rc == HL_ETOOBIG ? at_fail(at, "languages", HL_EPARSE,
		    "more than %d entries", HL_LANGUAGES_MAX) : rc;
	p->n_languages = langs ? json_array_size(langs) : 0;
	for (size_t i = 0; i < p->n_languages; i++) {
		json_t *l = json_array_get(langs, i);
		if (!json_is_string(l) || json_string_length(l) > LANGUAGE_MAX)
			return at_fail(at, "languages", HL_EPARSE,
			    "entry %zu must be a string of %d..%d of [a-zA-Z-]",
			    i, LANGUAGE_MIN, LANGUAGE_MAX);
		memcpy(p->languages[i], json_string_value(l),
		    json_string_length(l) + 1);
	}
	const char *field = profile_fault(p, why);
	if (field != NULL)
		return at_fail(at, field, HL_EPARSE, "%s", why);
	return 0;
}

static int
parse_entry(const struct at *at, json_t *o, struct hl_dir_entry *e)
{
	int rc = get_handle(at, o, "handle", 1, e->handle);
	if (rc == 0)
		rc = parse_profile(at, o, &e->profile);
	if (rc == 0)
		rc = get_key(at, o, "identity_key", e->identity_key);
	if (rc == 0)
		rc = get_int(at, o, "updated", 1, 1, INT64_MAX, &e->updated_ms);
	return rc;
}

int
hl_api_parse_entry(const char *json, size_t len, const char *handle,
    struct hl_dir_entry *out, char *cause)
{
	struct at at = { .what = "profile", .cause = cause };
	json_t *root;
	memset(out, 0, sizeof *out);
	int rc = load(&at, json, len, &root);
	if (rc != 0)
		return rc;
	rc = parse_entry(&at, root, out);
	json_decref(root);
	if (rc == 0 && strcmp(out->handle, handle) != 0)
		rc = at_fail(&at, "handle", HL_EPARSE, "is not this account's");
	return rc;
}

int
hl_api_parse_directory(const char *json, size_t len,
    struct hl_dir_entry **out, size_t *n, char *cause)
{
	struct at at = { .what = "directory", .cause = cause };
	json_t *root, *arr;
	*out = NULL;
	*n = 0;
	int rc = load(&at, json, len, &root);
	if (rc != 0)
		return rc;
	rc = get_array(&at, root, "entries", 1, HL_API_DIR_MAX, &arr);
	if (rc != 0) {
		json_decref(root);
		return rc;
	}
	size_t count = json_array_size(arr);
	struct hl_dir_entry *e = calloc(count ? count : 1, sizeof *e);
	if (e == NULL) {
		json_decref(root);
		return at_fail(&at, NULL, HL_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < count && rc == 0; i++) {
		struct at in;
		json_t *o = json_array_get(arr, i);
		at_enter(&in, &at, "entries", (long)i);
		if (!json_is_object(o)) {
			rc = at_fail(&in, NULL, HL_EPARSE, "must be an object");
			break;
		}
		rc = parse_entry(&in, o, &e[i]);
	}
	json_decref(root);
	if (rc != 0) {
		free(e);
		return rc;
	}
	*out = e;
	*n = count;
	return 0;
}

/* s escaped by hl_sanitize (one line) into out (cap bytes), cut so that
 * neither a UTF-8 character nor an escape is split. */
static void
copy_shown(const char *s, char *out, size_t cap)
{
	char *san = hl_sanitize(s, strlen(s), HL_SANITIZE_ONELINE);
	if (san == NULL) {
		snprintf(out, cap, "%s", "(unreadable)");
		return;
	}
	size_t n = strlen(san);
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)san[n] & 0xC0) == 0x80)
			n--;
		/* "\xNN" is 4 bytes, "<U+202E>" 8. */
		for (size_t back = 1; back <= 8 && back <= n; back++) {
			char ch = san[n - back];
			if ((ch == '\\' && back < 4) || (ch == '<' &&
			    memchr(san + n - back, '>', back) == NULL)) {
				n -= back;
				break;
			}
		}
	}
	memcpy(out, san, n);
	out[n] = '\0';
	free(san);
}

void
hl_api_parse_error(const char *json, size_t len, char *code, size_t codelen,
    char *message, size_t msglen)
{
	if (code != NULL && codelen > 0)
		code[0] = '\0';
	if (message != NULL && msglen > 0)
		message[0] = '\0';
	if (json == NULL)
		return;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *err = json_object_get(root, "error");
	const char *c = json_string_value(json_object_get(err, "code"));
	const char *m = json_string_value(json_object_get(err, "message"));
	/* The words end up on a terminal: escaped there as everything else
	 * from the relay is, so the operator sees what was sent. */
	if (c != NULL && code != NULL && codelen > 0)
		copy_shown(c, code, codelen);
	if (m != NULL && message != NULL && msglen > 0)
		copy_shown(m, message, msglen);
	json_decref(root);
}

/* --- request bodies --- */

/* Sets key to value, which it takes; nonzero when value is NULL. */
static int
put(json_t *obj, const char *key, json_t *value)
{
	return json_object_set_new(obj, key, value) != 0;
}

static json_t *
b64_json(const uint8_t *bin, size_t len)
{
	char *s = hl_b64_encode(bin, len);
	if (s == NULL)
		return NULL;
	json_t *v = json_string(s);
	free(s);
	return v;
}

/* Dumps root compactly into a buffer of our own allocation (free()), so
 * the result does not depend on jansson's allocator, and releases root. */
static char *
dump(json_t *root)
{
	if (root == NULL)
		return NULL;
	size_t n = json_dumpb(root, NULL, 0, JSON_COMPACT);
	char *out = n ? malloc(n + 1) : NULL;
	if (out != NULL && json_dumpb(root, out, n, JSON_COMPACT) != n) {
		free(out);
		out = NULL;
	}
	if (out != NULL)
		out[n] = '\0';
	json_decref(root);
	return out;
}

static json_t *
prekey_json(const struct hl_prekey_pub *pk)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	if (put(o, "id", json_integer(pk->id)) ||
	    put(o, "key", b64_json(pk->key, HL_KEY_LEN))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
prekeys_json(const struct hl_prekey_pub *prekeys, size_t n)
{
	json_t *arr = json_array();
	if (arr == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, prekey_json(&prekeys[i])) != 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static json_t *
signed_prekey_json(const struct hl_signed_prekey_pub *spk)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	if (put(o, "id", json_integer(spk->id)) ||
	    put(o, "key", b64_json(spk->key, HL_KEY_LEN)) ||
	    put(o, "signature", b64_json(spk->signature, HL_SIG_LEN))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Leaves out country and alternate when empty: the protocol has them
 * absent, not "". */
static json_t *
profile_json(const struct hl_profile *p)
{
	json_t *o = json_object();
	json_t *langs = json_array();
	int bad = o == NULL || langs == NULL;
	size_t nl = p->n_languages > HL_LANGUAGES_MAX ? HL_LANGUAGES_MAX :
	    p->n_languages;
	for (size_t i = 0; !bad && i < nl; i++)
		bad = json_array_append_new(langs,
		    json_stringn(p->languages[i],
		    strnlen(p->languages[i], sizeof p->languages[i]))) != 0;
	if (!bad)
		bad = put(o, "name", json_string(p->name)) ||
		    put(o, "organisation", json_string(p->organisation));
	if (!bad && p->country[0] != '\0')
		bad = put(o, "country", json_stringn(p->country,
		    strnlen(p->country, sizeof p->country)));
	if (!bad)
		bad = put(o, "role", json_string(p->role));
	if (!bad) {
		bad = put(o, "languages", langs);
		langs = NULL;
	}
	if (!bad)
		bad = put(o, "timezone", json_string(p->timezone));
	if (!bad && p->alternate[0] != '\0')
		bad = put(o, "alternate", json_string(p->alternate));
	json_decref(langs);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *
hl_api_build_register(const char *handle, const char *code,
    const struct hl_bundle *identity, const struct hl_prekey_pub *prekeys,
    size_t n, const struct hl_profile *profile)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	int bad = put(o, "handle", json_string(handle)) ||
	    put(o, "code", json_string(code)) ||
	    put(o, "identity_key", b64_json(identity->identity_key,
	    HL_KEY_LEN)) ||
	    put(o, "registration_id", json_integer(identity->registration_id)) ||
	    put(o, "device_id", json_integer(identity->device_id)) ||
	    put(o, "signed_prekey",
	    signed_prekey_json(&identity->signed_prekey)) ||
	    put(o, "prekeys", prekeys_json(prekeys, n)) ||
	    put(o, "profile", profile_json(profile));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

char *
hl_api_build_keys(const struct hl_prekey_pub *prekeys, size_t n,
    const struct hl_signed_prekey_pub *spk)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	int bad = 0;
	if (n > 0)
		bad = put(o, "prekeys", prekeys_json(prekeys, n));
	if (!bad && spk != NULL)
		bad = put(o, "signed_prekey", signed_prekey_json(spk));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

char *
hl_api_build_profile(const struct hl_profile *profile)
{
	return dump(profile_json(profile));
}

char *
hl_api_build_message(const char *to, const char *id, int type,
    const uint8_t *ct, size_t len)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	if (put(o, "to", json_string(to)) || put(o, "id", json_string(id)) ||
	    put(o, "type", json_integer(type)) ||
	    put(o, "body", b64_json(ct, len))) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

char *
hl_api_build_ack(const char *const *qids, size_t n)
{
	json_t *o = json_object();
	json_t *arr = json_array();
	int bad = o == NULL || arr == NULL;
	for (size_t i = 0; !bad && i < n; i++)
		bad = json_array_append_new(arr, json_string(qids[i])) != 0;
	if (!bad) {
		bad = put(o, "qids", arr);
		arr = NULL;
	}
	json_decref(arr);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}
