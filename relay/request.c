#include "relay/request.h"

#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"
#include "crypto/hl_handle.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_LEN 96

/* --- text --- */

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int
utf8_valid(const unsigned char *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = p[i];
		size_t n;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i - 1 < n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int
hl_request_text_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
		/* U+0080..U+009F (C1 controls) */
		if (c == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f)
			return 0;
		/* U+061C (the Arabic letter mark) */
		if (c == 0xd8 && i + 1 < len && p[i + 1] == 0x9c)
			return 0;
		/* U+202A..U+202E and U+2066..U+2069 (bidi embeddings,
		 * overrides and isolates), U+200E and U+200F (direction marks),
		 * U+2028 and U+2029 (line and paragraph separators) */
		if (c == 0xe2 && i + 2 < len) {
			unsigned char b = p[i + 1], c3 = p[i + 2];
			if (b == 0x80 && c3 >= 0xaa && c3 <= 0xae)
				return 0;
			if (b == 0x80 && (c3 == 0x8e || c3 == 0x8f || c3 == 0xa8 ||
			    c3 == 0xa9))
				return 0;
			if (b == 0x81 && c3 >= 0xa6 && c3 <= 0xa9)
				return 0;
		}
	}
	/* jansson has already refused invalid UTF-8; query strings have not
	 * been through it. */
	return utf8_valid(p, len);
}

/* --- JSON helpers --- */

/* What was wrong, in the relay's words: jansson's own text names its
 * flags and echoes input bytes, and is not for clients. */
static const char *
json_problem(const json_error_t *err)
{
	switch (json_error_code(err)) {
	case json_error_invalid_utf8:
		return "not UTF-8";
	case json_error_premature_end_of_input:
		return "ends too early";
	case json_error_end_of_input_expected:
		return "more after the end of the value";
	case json_error_null_character:
	case json_error_null_byte_in_key:
		return "a NUL character (\\u0000 included) is not allowed";
	case json_error_duplicate_key:
		return "a field is repeated";
	case json_error_numeric_overflow:
		return "a number is out of range";
	case json_error_stack_overflow:
		return "nested too deep";
	case json_error_out_of_memory:
		return "too large to read now";
	default:
		return "not valid JSON";
	}
}

static json_t *
load_object(const char *body, size_t len, int *rc, char *cause)
{
	json_error_t err;
	/* jansson reads a raw NUL byte as the end of its input. */
	if (memchr(body, '\0', len) != NULL) {
		*rc = hl_fail(cause, HL_EPARSE, "body: invalid JSON: a NUL "
		    "character (\\u0000 included) is not allowed");
		return NULL;
	}
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		*rc = hl_fail(cause, HL_EPARSE,
		    "body: invalid JSON at line %d column %d: %s", err.line,
		    err.column, json_problem(&err));
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		*rc = hl_fail(cause, HL_EPARSE, "body: expected a JSON object");
		return NULL;
	}
	*rc = 0;
	return root;
}

static void
join(char *out, const char *prefix, const char *key)
{
	snprintf(out, PATH_LEN, "%s%s", prefix, key);
}

static int
check_fields(json_t *obj, const char *prefix, const char *const *allowed,
    char *cause)
{
	const char *key;
	json_t *value;
	json_object_foreach(obj, key, value) {
		(void)value;
		int known = 0;
		for (size_t i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				known = 1;
		if (!known) {
			int printable = hl_request_text_ok(key, strlen(key));
			return hl_fail(cause, HL_EPARSE,
			    "unknown field '%s%.40s'",
			    prefix, printable ? key : "?");
		}
	}
	return 0;
}

/* The member key of obj, NULL when absent (an error when required). */
static int
member(json_t *obj, const char *prefix, const char *key, int required,
    json_t **out, char *cause)
{
	*out = json_object_get(obj, key);
	if (*out == NULL && required)
		return hl_fail(cause, HL_EPARSE, "missing field '%s%s'", prefix,
		    key);
	return 0;
}

static int
get_int(json_t *obj, const char *prefix, const char *key, int64_t min,
    int64_t max, int64_t *out, char *cause)
{
	json_t *v;
	int rc = member(obj, prefix, key, 1, &v, cause);
	if (rc != 0)
		return rc;
	if (!json_is_integer(v))
		return hl_fail(cause, HL_EPARSE, "%s%s: expected an integer",
		    prefix, key);
	json_int_t n = json_integer_value(v);
	if (n < min || n > max)
		return hl_fail(cause, HL_EPARSE, "%s%s: expected %lld to %lld",
		    prefix, key, (long long)min, (long long)max);
	*out = (int64_t)n;
	return 0;
}

/* A string member; *s and *len point into the JSON value. */
static int
get_string(json_t *obj, const char *prefix, const char *key, int required,
    const char **s, size_t *len, char *cause)
{
	json_t *v;
	*s = NULL;
	*len = 0;
	int rc = member(obj, prefix, key, required, &v, cause);
	if (rc != 0 || v == NULL)
		return rc;
	if (!json_is_string(v))
		return hl_fail(cause, HL_EPARSE, "%s%s: expected a string",
		    prefix, key);
	*s = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

/* Text of min..max bytes into out (max + 1 bytes); absent is "" when not
 * required. */
static int
get_text(json_t *obj, const char *prefix, const char *key, int required,
    size_t min, size_t max, char *out, char *cause)
{
	const char *s;
	size_t len;
	int rc = get_string(obj, prefix, key, required, &s, &len, cause);
	if (rc != 0)
		return rc;
	if (s == NULL) {
		out[0] = '\0';
		return 0;
	}
	if (len < min || len > max)
		return hl_fail(cause, HL_EPARSE,
		    "%s%s: expected %zu to %zu bytes", prefix, key, min, max);
	if (!hl_request_text_ok(s, len))
		return hl_fail(cause, HL_EPARSE,
		    "%s%s: control or bidirectional formatting characters are "
		    "not allowed", prefix, key);
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static int
get_handle(json_t *obj, const char *prefix, const char *key, int required,
    char *out, char *cause)
{
	const char *s;
	size_t len;
	int rc = get_string(obj, prefix, key, required, &s, &len, cause);
	if (rc != 0)
		return rc;
	if (s == NULL) {
		out[0] = '\0';
		return 0;
	}
	if (len != strlen(s) || !hl_handle_valid(s))
		return hl_fail(cause, HL_EPARSE, "%s%s: not a handle "
		    "([a-z0-9][a-z0-9.-]{1,62})", prefix, key);
	memcpy(out, s, len + 1);
	return 0;
}

static int
get_bytes(json_t *obj, const char *prefix, const char *key, uint8_t *out,
    size_t want, char *cause)
{
	const char *s;
	size_t len;
	int rc = get_string(obj, prefix, key, 1, &s, &len, cause);
	if (rc != 0)
		return rc;
	char why[HL_CAUSE_MAX];
	if (len != strlen(s) || hl_b64_decode_exact(s, out, want, why) != 0)
		return hl_fail(cause, HL_EPARSE,
		    "%s%s: expected %zu bytes of padded base64", prefix, key,
		    want);
	return 0;
}

static int
get_pubkey(json_t *obj, const char *prefix, const char *key,
    uint8_t out[HL_STORE_KEY_LEN], char *cause)
{
	int rc = get_bytes(obj, prefix, key, out, HL_STORE_KEY_LEN, cause);
	if (rc != 0)
		return rc;
	if (out[0] != 0x05)
		return hl_fail(cause, HL_EPARSE,
		    "%s%s: not a Curve25519 public key (first byte must be "
		    "0x05)", prefix, key);
	return 0;
}

static int
get_object(json_t *obj, const char *prefix, const char *key, int required,
    json_t **out, char *cause)
{
	int rc = member(obj, prefix, key, required, out, cause);
	if (rc != 0 || *out == NULL)
		return rc;
	if (!json_is_object(*out))
		return hl_fail(cause, HL_EPARSE, "%s%s: expected an object",
		    prefix, key);
	return 0;
}

/* --- keys --- */

static int
parse_signed_prekey(json_t *v, const char *path,
    struct hl_store_signed_prekey *out, char *cause)
{
	static const char *const fields[] = { "id", "key", "signature", NULL };
	char prefix[PATH_LEN];
	join(prefix, path, ".");
	int64_t id;
	int rc = check_fields(v, prefix, fields, cause);
	if (rc == 0)
		rc = get_int(v, prefix, "id", 0, HL_STORE_PREKEY_ID_MAX, &id,
		    cause);
	if (rc == 0)
		rc = get_pubkey(v, prefix, "key", out->key, cause);
	if (rc == 0)
		rc = get_bytes(v, prefix, "signature", out->signature,
		    HL_STORE_SIG_LEN, cause);
	if (rc == 0)
		out->id = (uint32_t)id;
	return rc;
}

static int
cmp_prekey_id(const void *a, const void *b)
{
	uint32_t x = ((const struct hl_store_prekey *)a)->id;
	uint32_t y = ((const struct hl_store_prekey *)b)->id;
	return x < y ? -1 : x > y;
}

static int
parse_prekeys(json_t *arr, size_t max, struct hl_store_prekey **out, size_t *n,
    char *cause)
{
	static const char *const fields[] = { "id", "key", NULL };
	*out = NULL;
	*n = 0;
	if (!json_is_array(arr))
		return hl_fail(cause, HL_EPARSE, "prekeys: expected an array");
	size_t count = json_array_size(arr);
	if (count < 1 || count > max)
		return hl_fail(cause, HL_EPARSE,
		    "prekeys: expected 1 to %zu entries", max);
	struct hl_store_prekey *keys = calloc(count, sizeof *keys);
	if (keys == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	int rc = 0;
	for (size_t i = 0; i < count && rc == 0; i++) {
		json_t *v = json_array_get(arr, i);
		char prefix[PATH_LEN];
		snprintf(prefix, sizeof prefix, "prekeys[%zu].", i);
		if (!json_is_object(v)) {
			rc = hl_fail(cause, HL_EPARSE,
			    "prekeys[%zu]: expected an object", i);
			break;
		}
		int64_t id = 0;
		rc = check_fields(v, prefix, fields, cause);
		if (rc == 0)
			rc = get_int(v, prefix, "id", 1, HL_STORE_PREKEY_ID_MAX,
			    &id, cause);
		if (rc == 0)
			rc = get_pubkey(v, prefix, "key", keys[i].key, cause);
		keys[i].id = (uint32_t)id;
	}
	if (rc == 0) {
		/* Ids must be distinct; sorting a copy finds repeats. */
		struct hl_store_prekey *sorted = malloc(count * sizeof *sorted);
		if (sorted == NULL) {
			rc = hl_fail(cause, HL_ENOMEM, "out of memory");
		} else {
			memcpy(sorted, keys, count * sizeof *sorted);
			qsort(sorted, count, sizeof *sorted, cmp_prekey_id);
			for (size_t i = 1; i < count && rc == 0; i++)
				if (sorted[i].id == sorted[i - 1].id)
					rc = hl_fail(cause, HL_EPARSE,
					    "prekeys: id %u appears twice",
					    sorted[i].id);
			free(sorted);
		}
	}
	if (rc != 0) {
		free(keys);
		return rc;
	}
	*out = keys;
	*n = count;
	return 0;
}

/* --- profile --- */

static int
is_language(const char *s, size_t len)
{
	if (len < 2 || len > HL_STORE_LANGUAGE_LEN)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '-'))
			return 0;
	}
	return 1;
}

/* The form of an IANA zone name (Europe/Tallinn, America/Port-au-Prince,
 * Etc/GMT+2): components of [A-Za-z0-9_+-] that start with a letter,
 * joined by single '/'. Empty means no zone. Whether the zone exists is
 * the client's to check against its zoneinfo. */
static int
is_timezone(const char *s)
{
	size_t comp = 0;
	if (*s == '\0')
		return 1;
	for (const char *p = s; ; p++) {
		char c = *p;
		if (c == '/' || c == '\0') {
			if (comp == 0)
				return 0;
			if (c == '\0')
				return 1;
			comp = 0;
			continue;
		}
		int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (comp == 0 && !letter)
			return 0;
		if (!letter && !(c >= '0' && c <= '9') && strchr("_-+", c) == NULL)
			return 0;
		comp++;
	}
}

static int
get_country(json_t *obj, const char *prefix, char out[3], char *cause)
{
	const char *s;
	size_t len;
	int rc = get_string(obj, prefix, "country", 0, &s, &len, cause);
	if (rc != 0 || s == NULL)
		return rc;
	if (len != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z')
		return hl_fail(cause, HL_EPARSE, "%scountry: expected two "
		    "capital letters (ISO 3166-1 alpha-2)", prefix);
	memcpy(out, s, 3);
	return 0;
}

/* The languages array, joined with commas into out. */
static int
get_languages(json_t *obj, const char *prefix, char *out, char *cause)
{
	json_t *langs;
	int rc = member(obj, prefix, "languages", 0, &langs, cause);
	out[0] = '\0';
	if (rc != 0 || langs == NULL)
		return rc;
	if (!json_is_array(langs) ||
	    json_array_size(langs) > HL_STORE_LANGUAGES_MAX)
		return hl_fail(cause, HL_EPARSE, "%slanguages: expected an "
		    "array of at most %d codes", prefix,
		    HL_STORE_LANGUAGES_MAX);
	size_t o = 0;
	for (size_t i = 0; i < json_array_size(langs); i++) {
		json_t *l = json_array_get(langs, i);
		const char *s = json_string_value(l);
		size_t len = s ? json_string_length(l) : 0;
		if (s == NULL || !is_language(s, len)) {
			out[0] = '\0';
			return hl_fail(cause, HL_EPARSE, "%slanguages[%zu]: "
			    "expected 2 to %d letters or '-'", prefix, i,
			    HL_STORE_LANGUAGE_LEN);
		}
		if (o > 0)
			out[o++] = ',';
		memcpy(out + o, s, len);
		o += len;
	}
	out[o] = '\0';
	return 0;
}

static int
parse_profile_object(json_t *obj, const char *prefix,
    struct hl_store_profile *p, char *cause)
{
	static const char *const fields[] = { "name", "organisation", "country",
	    "role", "languages", "timezone", "alternate", NULL };
	memset(p, 0, sizeof *p);
	int rc = check_fields(obj, prefix, fields, cause);
	if (rc == 0)
		rc = get_text(obj, prefix, "name", 1, 1, HL_STORE_TEXT_MAX,
		    p->name, cause);
	if (rc == 0)
		rc = get_text(obj, prefix, "organisation", 0, 0,
		    HL_STORE_TEXT_MAX, p->organisation, cause);
	if (rc == 0)
		rc = get_text(obj, prefix, "role", 0, 0, HL_STORE_TEXT_MAX,
		    p->role, cause);
	if (rc == 0)
		rc = get_text(obj, prefix, "timezone", 0, 0,
		    HL_STORE_TIMEZONE_MAX, p->timezone, cause);
	if (rc == 0 && !is_timezone(p->timezone))
		rc = hl_fail(cause, HL_EPARSE,
		    "%stimezone: expected a zone name such as Europe/Tallinn",
		    prefix);
	if (rc == 0)
		rc = get_country(obj, prefix, p->country, cause);
	if (rc == 0)
		rc = get_handle(obj, prefix, "alternate", 0, p->alternate,
		    cause);
	if (rc == 0)
		rc = get_languages(obj, prefix, p->languages, cause);
	return rc;
}

int
hl_request_parse_profile(const char *body, size_t len,
    struct hl_store_profile *out, char *cause)
{
	int rc;
	json_t *root = load_object(body, len, &rc, cause);
	if (root == NULL)
		return rc;
	rc = parse_profile_object(root, "", out, cause);
	json_decref(root);
	return rc;
}

/* --- registration --- */

void
hl_request_registration_clear(struct hl_store_registration *reg)
{
	free(reg->prekeys);
	sodium_memzero(reg, sizeof *reg);
}

static int
parse_registration(json_t *root, const struct hl_request_limits *lim,
    struct hl_store_registration *out, char *cause)
{
	static const char *const fields[] = { "handle", "code",
	    "identity_key", "registration_id", "device_id", "signed_prekey",
	    "prekeys", "profile", NULL };
	int rc = check_fields(root, "", fields, cause);
	if (rc == 0)
		rc = get_handle(root, "", "handle", 1, out->handle, cause);
	if (rc == 0) {
		const char *code;
		size_t len;
		char why[HL_CAUSE_MAX] = "code: malformed";
		rc = get_string(root, "", "code", 1, &code, &len, cause);
		if (rc == 0 && (len != strlen(code) ||
		    hl_secret_code_hash(code, out->code_hash, why) != 0))
			rc = hl_fail(cause, HL_EPARSE, "%s", why);
	}
	if (rc == 0)
		rc = get_pubkey(root, "", "identity_key", out->identity_key,
		    cause);
	int64_t v = 0;
	if (rc == 0)
		rc = get_int(root, "", "registration_id", 1,
		    HL_STORE_REGISTRATION_ID_MAX, &v, cause);
	out->registration_id = (uint32_t)v;
	if (rc == 0)
		rc = get_int(root, "", "device_id", 1, 1, &v, cause);
	out->device_id = (uint32_t)v;
	json_t *o;
	if (rc == 0)
		rc = get_object(root, "", "signed_prekey", 1, &o, cause);
	if (rc == 0)
		rc = parse_signed_prekey(o, "signed_prekey",
		    &out->signed_prekey, cause);
	if (rc == 0)
		rc = get_object(root, "", "profile", 1, &o, cause);
	if (rc == 0)
		rc = parse_profile_object(o, "profile.", &out->profile, cause);
	if (rc == 0)
		rc = member(root, "", "prekeys", 1, &o, cause);
	if (rc == 0)
		rc = parse_prekeys(o, lim->max_prekeys_per_upload,
		    &out->prekeys, &out->nprekeys, cause);
	return rc;
}

int
hl_request_parse_registration(const char *body, size_t len,
    const struct hl_request_limits *lim, struct hl_store_registration *out,
    char *cause)
{
	memset(out, 0, sizeof *out);
	int rc;
	json_t *root = load_object(body, len, &rc, cause);
	if (root == NULL)
		return rc;
	rc = parse_registration(root, lim, out, cause);
	json_decref(root);
	if (rc != 0)
		hl_request_registration_clear(out);
	return rc;
}

/* --- key upload --- */

void
hl_request_keys_clear(struct hl_store_keys *up)
{
	free(up->prekeys);
	memset(up, 0, sizeof *up);
}

int
hl_request_parse_keys(const char *body, size_t len,
    const struct hl_request_limits *lim, struct hl_store_keys *out, char *cause)
{
	static const char *const fields[] = { "prekeys", "signed_prekey",
	    NULL };
	memset(out, 0, sizeof *out);
	int rc;
	json_t *root = load_object(body, len, &rc, cause);
	if (root == NULL)
		return rc;
	json_t *pk = NULL, *spk = NULL;
	rc = check_fields(root, "", fields, cause);
	if (rc == 0)
		rc = member(root, "", "prekeys", 0, &pk, cause);
	if (rc == 0)
		rc = get_object(root, "", "signed_prekey", 0, &spk, cause);
	if (rc == 0 && pk == NULL && spk == NULL)
		rc = hl_fail(cause, HL_EPARSE,
		    "missing field 'prekeys' or 'signed_prekey' (give either "
		    "or both)");
	if (rc == 0 && pk != NULL)
		rc = parse_prekeys(pk, lim->max_prekeys_per_upload,
		    &out->prekeys, &out->nprekeys, cause);
	if (rc == 0 && spk != NULL) {
		rc = parse_signed_prekey(spk, "signed_prekey",
		    &out->signed_prekey, cause);
		out->has_signed_prekey = rc == 0;
	}
	json_decref(root);
	if (rc != 0)
		hl_request_keys_clear(out);
	return rc;
}

/* --- messages --- */

void
hl_request_message_clear(struct hl_request_message *m)
{
	free(m->body);
	memset(m, 0, sizeof *m);
}

static int
parse_message(json_t *root, const struct hl_request_limits *lim,
    struct hl_request_message *out, char *cause)
{
	static const char *const fields[] = { "to", "id", "type", "body",
	    NULL };
	int rc = check_fields(root, "", fields, cause);
	if (rc == 0)
		rc = get_handle(root, "", "to", 1, out->to, cause);
	const char *s;
	size_t len;
	if (rc == 0)
		rc = get_string(root, "", "id", 1, &s, &len, cause);
	if (rc == 0) {
		if (len != HL_STORE_ID_HEX ||
		    !hl_is_lowerhex(s, HL_STORE_ID_HEX))
			return hl_fail(cause, HL_EPARSE,
			    "id: expected 32 lower-case hex digits");
		memcpy(out->id, s, HL_STORE_ID_HEX + 1);
	}
	int64_t type = 0;
	if (rc == 0)
		rc = get_int(root, "", "type", 2, 3, &type, cause);
	out->type = (int)type;
	if (rc == 0)
		rc = get_string(root, "", "body", 1, &s, &len, cause);
	if (rc != 0)
		return rc;
	/* Refuse by length before decoding: base64 of max bytes is at most
	 * 4 * ceil(max / 3) characters. */
	size_t max = lim->max_message_bytes;
	if (len > 4 * ((max + 2) / 3))
		return hl_fail(cause, HL_ETOOBIG,
		    "body: more than %zu bytes once decoded", max);
	if (len == 0)
		return hl_fail(cause, HL_EPARSE, "body: empty");
	char why[HL_CAUSE_MAX];
	rc = hl_b64_decode(s, len, max, &out->body, &out->body_len, why);
	if (rc == HL_ETOOBIG)
		return hl_fail(cause, HL_ETOOBIG,
		    "body: more than %zu bytes once decoded", max);
	if (rc == HL_ENOMEM)
		return hl_fail(cause, rc, "out of memory");
	if (rc != 0)
		return hl_fail(cause, HL_EPARSE, "body: %s", why);
	return 0;
}

int
hl_request_parse_message(const char *body, size_t len,
    const struct hl_request_limits *lim, struct hl_request_message *out,
    char *cause)
{
	memset(out, 0, sizeof *out);
	int rc;
	json_t *root = load_object(body, len, &rc, cause);
	if (root == NULL)
		return rc;
	rc = parse_message(root, lim, out, cause);
	json_decref(root);
	if (rc != 0)
		hl_request_message_clear(out);
	return rc;
}

/* --- ack --- */

static int
parse_qid(const char *s, size_t len, int64_t *out)
{
	/* 1 to 18 digits, no leading zero: always fits in int64_t. */
	if (len < 1 || len > 18 || s[0] == '0')
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
hl_request_parse_ack(const char *body, size_t len,
    const struct hl_request_limits *lim, int64_t **qids, size_t *n, char *cause)
{
	static const char *const fields[] = { "qids", NULL };
	*qids = NULL;
	*n = 0;
	int rc;
	json_t *root = load_object(body, len, &rc, cause);
	if (root == NULL)
		return rc;
	json_t *arr = NULL;
	rc = check_fields(root, "", fields, cause);
	if (rc == 0)
		rc = member(root, "", "qids", 1, &arr, cause);
	size_t count = 0;
	if (rc == 0) {
		count = json_is_array(arr) ? json_array_size(arr) : 0;
		if (!json_is_array(arr) || count < 1 || count > lim->max_fetch)
			rc = hl_fail(cause, HL_EPARSE,
			    "qids: expected an array of 1 to %zu queue ids",
			    lim->max_fetch);
	}
	int64_t *ids = NULL;
	if (rc == 0 && (ids = calloc(count, sizeof *ids)) == NULL)
		rc = hl_fail(cause, HL_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < count; i++) {
		json_t *v = json_array_get(arr, i);
		const char *s = json_string_value(v);
		size_t slen = s ? json_string_length(v) : 0;
		if (s == NULL || parse_qid(s, slen, &ids[i]) != 0)
			rc = hl_fail(cause, HL_EPARSE, "qids[%zu]: expected a "
			    "queue id (a string of digits)", i);
	}
	json_decref(root);
	if (rc != 0) {
		free(ids);
		return rc;
	}
	*qids = ids;
	*n = count;
	return 0;
}

/* --- query values --- */

int
hl_request_parse_int(const char *name, const char *value, int64_t min,
    int64_t max, int64_t *out, char *cause)
{
	size_t len = strlen(value);
	int64_t v = 0;
	int ok = len >= 1 && len <= 18;
	for (size_t i = 0; ok && i < len; i++) {
		if (value[i] < '0' || value[i] > '9')
			ok = 0;
		else
			v = v * 10 + (value[i] - '0');
	}
	if (!ok || v < min || v > max)
		return hl_fail(cause, HL_EPARSE,
		    "%s: expected an integer from %lld to %lld", name,
		    (long long)min, (long long)max);
	*out = v;
	return 0;
}

int
hl_request_parse_search(const char *q, char *cause)
{
	size_t len = strlen(q);
	if (len > HL_REQUEST_SEARCH_MAX)
		return hl_fail(cause, HL_EPARSE, "q: at most %d bytes",
		    HL_REQUEST_SEARCH_MAX);
	if (!hl_request_text_ok(q, len))
		return hl_fail(cause, HL_EPARSE,
		    "q: expected UTF-8 text without control characters");
	return 0;
}
