#include "crypto/hl_content.h"
#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PADDING_MARK 0x80
#define SHOWN_MAX 32 /* bytes of a peer's value quoted in a cause */

static const char *const kind_names[] = {
	"text", "receipt", "ack", "check", "incident",
};
static const char *const prio_names[] = {
	"routine", "urgent", "flash",
};
/* Index 0 of the next three is the NONE value, which has no wire name. */
static const char *const response_names[] = {
	"", "received", "will-comply", "unable", "need-info",
};
static const char *const severity_names[] = {
	"", "low", "medium", "high", "critical",
};
static const char *const tlp_names[] = {
	"", "CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED",
};

/* Every field version 1 knows; anything else is refused by name. */
static const char *const root_fields[] = {
	"v", "id", "kind", "from", "sent", "prio", "seq", "ack_by", "thread",
	"ref", "response", "body", "incident",
};
static const char *const incident_fields[] = {
	"title", "severity", "tlp", "status", "indicators", "actions",
};

#define COUNT(a) (sizeof (a) / sizeof (a)[0])

static const char *
name_of(const char *const *names, size_t count, int value)
{
	if (value < 0 || (size_t)value >= count)
		return "";
	return names[value];
}

static int
parse_name(const char *const *names, size_t count, size_t first,
    const char *s, int *out)
{
	if (s == NULL)
		return HL_EPARSE;
	for (size_t i = first; i < count; i++)
		if (strcmp(names[i], s) == 0) {
			*out = (int)i;
			return 0;
		}
	return HL_EPARSE;
}

const char *
hl_kind_name(enum hl_kind k)
{
	return name_of(kind_names, COUNT(kind_names), (int)k);
}

const char *
hl_prio_name(enum hl_prio p)
{
	return name_of(prio_names, COUNT(prio_names), (int)p);
}

const char *
hl_response_name(enum hl_response r)
{
	return name_of(response_names, COUNT(response_names), (int)r);
}

const char *
hl_severity_name(enum hl_severity s)
{
	return name_of(severity_names, COUNT(severity_names), (int)s);
}

const char *
hl_tlp_name(enum hl_tlp t)
{
	return name_of(tlp_names, COUNT(tlp_names), (int)t);
}

int
hl_kind_parse(const char *s, enum hl_kind *out)
{
	int v;
	int rc = parse_name(kind_names, COUNT(kind_names), 0, s, &v);
	if (rc == 0)
		*out = (enum hl_kind)v;
	return rc;
}

int
hl_prio_parse(const char *s, enum hl_prio *out)
{
	int v;
	int rc = parse_name(prio_names, COUNT(prio_names), 0, s, &v);
	if (rc == 0)
		*out = (enum hl_prio)v;
	return rc;
}

int
hl_response_parse(const char *s, enum hl_response *out)
{
	int v;
	int rc = parse_name(response_names, COUNT(response_names), 1, s, &v);
	if (rc == 0)
		*out = (enum hl_response)v;
	return rc;
}

int
hl_severity_parse(const char *s, enum hl_severity *out)
{
	int v;
	int rc = parse_name(severity_names, COUNT(severity_names), 1, s, &v);
	if (rc == 0)
		*out = (enum hl_severity)v;
	return rc;
}

int
hl_tlp_parse(const char *s, enum hl_tlp *out)
{
	int v;
	int rc = parse_name(tlp_names, COUNT(tlp_names), 1, s, &v);
	if (rc == 0)
		*out = (enum hl_tlp)v;
	return rc;
}

int
hl_content_new_id(char id[HL_ID_HEX + 1])
{
	uint8_t raw[HL_ID_HEX / 2];
	if (sodium_init() < 0)
		return HL_ECRYPTO;
	randombytes_buf(raw, sizeof raw);
	hl_hex_encode(raw, sizeof raw, id);
	return 0;
}


/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF
 * (the rules jansson applies when it reads). */
static int
utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		unsigned char b = s[i];
		size_t len;
		uint32_t cp, min;
		if (b < 0x80) {
			i++;
			continue;
		} else if (b >= 0xc2 && b <= 0xdf) {
			len = 2, cp = b & 0x1f, min = 0x80;
		} else if (b >= 0xe0 && b <= 0xef) {
			len = 3, cp = b & 0x0f, min = 0x800;
		} else if (b >= 0xf0 && b <= 0xf4) {
			len = 4, cp = b & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* True when the fixed array holds a terminated string. */
static int
terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static int
thread_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > HL_THREAD_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '-'))
			return 0;
	}
	return 1;
}

static int
kind_takes(enum hl_kind k, const char *field)
{
	if (strcmp(field, "ref") == 0)
		return k == HL_KIND_RECEIPT || k == HL_KIND_ACK;
	if (strcmp(field, "response") == 0)
		return k == HL_KIND_ACK;
	if (strcmp(field, "incident") == 0)
		return k == HL_KIND_INCIDENT;
	return 1;
}

/* The causes below are shared by the struct checks and the JSON reader so
 * that encode and decode word the same fault the same way. */

static int
fail_missing(char *cause, int code, const char *field)
{
	return hl_fail(cause, code, "content: field '%s' is missing", field);
}

static int
fail_type(char *cause, int code, const char *field, const char *want)
{
	return hl_fail(cause, code, "content: field '%s' must be %s", field,
	    want);
}

static int
fail_not_taken(char *cause, const char *field, enum hl_kind k)
{
	return hl_fail(cause, HL_ECONTENT_UNKNOWN,
	    "content: field '%s' is not allowed in kind '%s'", field,
	    hl_kind_name(k));
}

static int
fail_positive(char *cause, const char *field, int min)
{
	return hl_fail(cause, HL_ECONTENT_VALUE,
	    "content: field '%s' must be an integer >= %d", field, min);
}

static int
fail_too_many(char *cause, const char *field, size_t n)
{
	return hl_fail(cause, HL_ECONTENT_SIZE,
	    "content: field '%s' holds %zu entries, at most %d allowed", field,
	    n, HL_INCIDENT_LIST_MAX);
}

static int
fail_ref(char *cause)
{
	return hl_fail(cause, HL_ECONTENT_VALUE,
	    "content: field 'ref' must be %d lower-case hex digits", HL_ID_HEX);
}

static int
fail_thread(char *cause)
{
	return hl_fail(cause, HL_ECONTENT_VALUE,
	    "content: field 'thread' must match [A-Za-z0-9._-]{1,%d}",
	    HL_THREAD_MAX);
}

/* A UTF-8 text of at most max bytes; empty only when allowed. */
static int
check_text(const char *field, const char *s, size_t max, int may_be_empty,
    char *cause)
{
	if (s == NULL)
		return fail_missing(cause, HL_ECONTENT_MISSING, field);
	size_t n = strlen(s);
	if (n > max)
		return hl_fail(cause, HL_ECONTENT_SIZE,
		    "content: field '%s' is %zu bytes, at most %zu allowed",
		    field, n, max);
	if (n == 0 && !may_be_empty)
		return hl_fail(cause, HL_ECONTENT_VALUE,
		    "content: field '%s' must not be empty", field);
	if (!utf8_valid(s, n))
		return hl_fail(cause, HL_ECONTENT_VALUE,
		    "content: field '%s' is not valid UTF-8", field);
	return 0;
}

static int
check_list(const char *field, char *const *items, size_t n, char *cause)
{
	char name[48];
	if (n > HL_INCIDENT_LIST_MAX)
		return fail_too_many(cause, field, n);
	if (n > 0 && items == NULL)
		return fail_missing(cause, HL_ECONTENT_MISSING, field);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof name, "%s[%zu]", field, i);
		int rc = check_text(name, items[i], HL_INCIDENT_ITEM_MAX, 1,
		    cause);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
check_incident(const struct hl_incident *inc, char *cause)
{
	int rc = check_text("incident.title", inc->title,
	    HL_INCIDENT_FIELD_MAX, 0, cause);
	if (rc != 0)
		return rc;
	if (inc->severity == HL_SEV_NONE)
		return fail_missing(cause, HL_ECONTENT_MISSING,
		    "incident.severity");
	if (hl_severity_name(inc->severity)[0] == '\0')
		return hl_fail(cause, HL_ECONTENT_VALUE,
		    "content: field 'incident.severity' has no such value");
	if (inc->tlp == HL_TLP_NONE)
		return fail_missing(cause, HL_ECONTENT_MISSING, "incident.tlp");
	if (hl_tlp_name(inc->tlp)[0] == '\0')
		return hl_fail(cause, HL_ECONTENT_VALUE,
		    "content: field 'incident.tlp' has no such value");
	rc = check_text("incident.status", inc->status, HL_INCIDENT_FIELD_MAX,
	    0, cause);
	if (rc != 0)
		return rc;
	rc = check_list("incident.indicators", inc->indicators,
	    inc->n_indicators, cause);
	if (rc != 0)
		return rc;
	return check_list("incident.actions", inc->actions, inc->n_actions,
	    cause);
}

static int
check_kind_fields(const struct hl_content *c, char *cause)
{
	if (kind_takes(c->kind, "ref")) {
		if (c->ref[0] == '\0')
			return fail_missing(cause, HL_ECONTENT_MISSING, "ref");
		if (!hl_is_lowerhex(c->ref, HL_ID_HEX))
			return fail_ref(cause);
	} else if (c->ref[0] != '\0') {
		return fail_not_taken(cause, "ref", c->kind);
	}
	if (kind_takes(c->kind, "response")) {
		if (c->response == HL_RESP_NONE)
			return fail_missing(cause, HL_ECONTENT_MISSING,
			    "response");
		if (hl_response_name(c->response)[0] == '\0')
			return hl_fail(cause, HL_ECONTENT_VALUE,
			    "content: field 'response' has no such value");
	} else if (c->response != HL_RESP_NONE) {
		return fail_not_taken(cause, "response", c->kind);
	}
	if (kind_takes(c->kind, "incident")) {
		if (c->incident == NULL)
			return fail_missing(cause, HL_ECONTENT_MISSING,
			    "incident");
	} else if (c->incident != NULL) {
		return fail_not_taken(cause, "incident", c->kind);
	}
	return 0;
}

int
hl_content_validate(const struct hl_content *c, char *cause)
{
	if (c == NULL)
		return hl_fail(cause, HL_EINVAL, "content: no content given");
	if (c->v != HL_CONTENT_VERSION)
		return hl_fail(cause, HL_ECONTENT_VERSION,
		    "content: field 'v' must be %d, not %d", HL_CONTENT_VERSION,
		    c->v);
	if (!hl_is_lowerhex(c->id, HL_ID_HEX))
		return hl_fail(cause, HL_ECONTENT_ID,
		    "content: field 'id' must be %d lower-case hex digits",
		    HL_ID_HEX);
	if (hl_kind_name(c->kind)[0] == '\0')
		return hl_fail(cause, HL_ECONTENT_KIND,
		    "content: field 'kind' has no such value");
	if (!terminated(c->from, sizeof c->from) || !hl_handle_valid(c->from))
		return hl_fail(cause, HL_ECONTENT_VALUE,
		    "content: field 'from' must be a handle "
		    "([a-z0-9][a-z0-9.-]{1,62})");
	if (c->sent <= 0)
		return fail_positive(cause, "sent", 1);
	if (hl_prio_name(c->prio)[0] == '\0')
		return hl_fail(cause, HL_ECONTENT_VALUE,
		    "content: field 'prio' has no such value");
	if (c->seq < 1)
		return fail_positive(cause, "seq", 1);
	if (c->ack_by < 0)
		return fail_positive(cause, "ack_by", 1);
	if (!terminated(c->thread, sizeof c->thread) ||
	    (c->thread[0] != '\0' && !thread_valid(c->thread)))
		return fail_thread(cause);
	if (!terminated(c->ref, sizeof c->ref))
		return fail_ref(cause);
	int rc = check_kind_fields(c, cause);
	if (rc != 0)
		return rc;
	rc = check_text("body", c->body, HL_CONTENT_BODY_MAX, 1, cause);
	if (rc != 0)
		return rc;
	if (c->incident != NULL)
		return check_incident(c->incident, cause);
	return 0;
}

/* Sets key to value, which it takes; -1 when value is NULL or on failure. */
static int
put(json_t *obj, const char *key, json_t *value)
{
	return json_object_set_new(obj, key, value);
}

static json_t *
list_json(char *const *items, size_t n)
{
	json_t *arr = json_array();
	if (arr == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, json_string(items[i])) != 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static json_t *
incident_json(const struct hl_incident *inc)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	int bad = put(o, "title", json_string(inc->title)) != 0 ||
	    put(o, "severity",
	    json_string(hl_severity_name(inc->severity))) != 0 ||
	    put(o, "tlp", json_string(hl_tlp_name(inc->tlp))) != 0 ||
	    put(o, "status", json_string(inc->status)) != 0 ||
	    put(o, "indicators",
	    list_json(inc->indicators, inc->n_indicators)) != 0 ||
	    put(o, "actions", list_json(inc->actions, inc->n_actions)) != 0;
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Builds the JSON tree of a validated content; NULL when out of memory.
 * Caller releases with json_decref(). */
static json_t *
content_json(const struct hl_content *c)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	int bad = put(o, "v", json_integer(c->v)) != 0 ||
	    put(o, "id", json_string(c->id)) != 0 ||
	    put(o, "kind", json_string(hl_kind_name(c->kind))) != 0 ||
	    put(o, "from", json_string(c->from)) != 0 ||
	    put(o, "sent", json_integer(c->sent)) != 0 ||
	    put(o, "prio", json_string(hl_prio_name(c->prio))) != 0 ||
	    put(o, "seq", json_integer(c->seq)) != 0;
	if (!bad && c->ack_by > 0)
		bad = put(o, "ack_by", json_integer(c->ack_by)) != 0;
	if (!bad && c->thread[0] != '\0')
		bad = put(o, "thread", json_string(c->thread)) != 0;
	if (!bad && c->ref[0] != '\0')
		bad = put(o, "ref", json_string(c->ref)) != 0;
	if (!bad && c->response != HL_RESP_NONE)
		bad = put(o, "response",
		    json_string(hl_response_name(c->response))) != 0;
	if (!bad)
		bad = put(o, "body", json_string(c->body)) != 0;
	if (!bad && c->incident != NULL)
		bad = put(o, "incident", incident_json(c->incident)) != 0;
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* What decode accepts, encode must be able to write back (the client
 * stores received contents that way): escapes can make a content that
 * arrived within the limit too large once written compactly, so decode
 * measures it too. */
static int
fits_when_encoded(const struct hl_content *c, char *cause)
{
	json_t *root = content_json(c);
	if (root == NULL)
		return hl_fail(cause, HL_ENOMEM, "content: out of memory");
	size_t textlen = json_dumpb(root, NULL, 0, JSON_COMPACT);
	json_decref(root);
	if (textlen == 0)
		return hl_fail(cause, HL_ENOMEM, "content: out of memory");
	if (textlen >= HL_CONTENT_MAX_PADDED)
		return hl_fail(cause, HL_ECONTENT_SIZE,
		    "content: %zu bytes of JSON once written back, over %d",
		    textlen, HL_CONTENT_MAX_PADDED - 1);
	return 0;
}

int
hl_content_encode(const struct hl_content *c, uint8_t **out, size_t *outlen,
    char *cause)
{
	if (out == NULL || outlen == NULL)
		return hl_fail(cause, HL_EINVAL, "content: no output given");
	*out = NULL;
	*outlen = 0;
	int rc = hl_content_validate(c, cause);
	if (rc != 0)
		return rc;
	json_t *root = content_json(c);
	if (root == NULL)
		return hl_fail(cause, HL_ENOMEM, "content: out of memory");
	/* Dumping straight into the padded buffer leaves no second plaintext
	 * copy behind; the first pass only measures. */
	size_t textlen = json_dumpb(root, NULL, 0, JSON_COMPACT);
	if (textlen == 0) {
		json_decref(root);
		return hl_fail(cause, HL_ENOMEM, "content: out of memory");
	}
	if (textlen >= HL_CONTENT_MAX_PADDED) {
		json_decref(root);
		return hl_fail(cause, HL_ECONTENT_SIZE,
		    "content: %zu bytes of JSON do not fit %d padded bytes",
		    textlen, HL_CONTENT_MAX_PADDED);
	}
	size_t padded = (textlen / HL_CONTENT_BLOCK + 1) * HL_CONTENT_BLOCK;
	uint8_t *buf = malloc(padded);
	if (buf == NULL) {
		json_decref(root);
		return hl_fail(cause, HL_ENOMEM, "content: out of memory");
	}
	size_t written = json_dumpb(root, (char *)buf, textlen, JSON_COMPACT);
	json_decref(root);
	if (written != textlen) {
		hl_content_free_bytes(buf, padded);
		return hl_fail(cause, HL_ENOMEM, "content: out of memory");
	}
	buf[textlen] = PADDING_MARK;
	memset(buf + textlen + 1, 0, padded - textlen - 1);
	*out = buf;
	*outlen = padded;
	return 0;
}

void
hl_content_free_bytes(uint8_t *buf, size_t len)
{
	if (buf == NULL)
		return;
	sodium_memzero(buf, len);
	free(buf);
}

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

static void
wipe_free_list(char **items, size_t n)
{
	if (items == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		wipe_free(items[i]);
	free(items);
}

void
hl_content_clear(struct hl_content *c)
{
	if (c == NULL)
		return;
	wipe_free(c->body);
	if (c->incident != NULL) {
		struct hl_incident *inc = c->incident;
		wipe_free(inc->title);
		wipe_free(inc->status);
		wipe_free_list(inc->indicators, inc->n_indicators);
		wipe_free_list(inc->actions, inc->n_actions);
		sodium_memzero(inc, sizeof *inc);
		free(inc);
	}
	sodium_memzero(c, sizeof *c);
}

/* Returns the length of the JSON text in front of the padding, or a
 * negative code. */
static int
unpad(const uint8_t *in, size_t len, size_t *textlen, char *cause)
{
	if (len == 0 || len % HL_CONTENT_BLOCK != 0)
		return hl_fail(cause, HL_ECONTENT_PADDING,
		    "content: length %zu is not a positive multiple of %d", len,
		    HL_CONTENT_BLOCK);
	if (len > HL_CONTENT_MAX_PADDED)
		return hl_fail(cause, HL_ECONTENT_PADDING,
		    "content: length %zu is over %d", len,
		    HL_CONTENT_MAX_PADDED);
	size_t end = len;
	while (end > 0 && in[end - 1] == 0x00)
		end--;
	if (end == 0)
		return hl_fail(cause, HL_ECONTENT_PADDING,
		    "content: padding holds no 0x80 marker");
	if (in[end - 1] != PADDING_MARK)
		return hl_fail(cause, HL_ECONTENT_PADDING,
		    "content: padding ends in 0x%02x, not 0x80", in[end - 1]);
	*textlen = end - 1;
	return 0;
}

static int
check_keys(json_t *obj, const char *prefix, const char *const *known,
    size_t count, char *cause)
{
	const char *key;
	json_t *value;
	char buf[SHOWN_MAX + 4];
	json_object_foreach(obj, key, value) {
		size_t i;
		for (i = 0; i < count; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == count)
			return hl_fail(cause, HL_ECONTENT_UNKNOWN,
			    "content: field '%s%s' is unknown", prefix,
			    hl_printable(key, buf, SHOWN_MAX));
	}
	return 0;
}

/*
 * Finds a string member. Absent: MISSING-style code when required, else 0
 * with *s NULL. The string is borrowed from the tree.
 */
static int
get_string(json_t *obj, const char *key, const char *field, int required,
    int code_missing, int code_type, const char **s, size_t *n, char *cause)
{
	json_t *v = json_object_get(obj, key);
	*s = NULL;
	*n = 0;
	if (v == NULL)
		return required ? fail_missing(cause, code_missing, field) : 0;
	if (!json_is_string(v))
		return fail_type(cause, code_type, field, "a string");
	*s = json_string_value(v);
	*n = json_string_length(v);
	/* jansson refuses NUL without JSON_ALLOW_NUL; a NUL would cut the C
	 * string short of what was signed, so check again. */
	if (memchr(*s, '\0', *n) != NULL)
		return hl_fail(cause, HL_ECONTENT_VALUE,
		    "content: field '%s' holds a NUL byte", field);
	return 0;
}

static int
get_integer(json_t *obj, const char *key, int required, int64_t *out,
    int *present, char *cause)
{
	json_t *v = json_object_get(obj, key);
	if (present != NULL)
		*present = v != NULL;
	if (v == NULL)
		return required ?
		    fail_missing(cause, HL_ECONTENT_MISSING, key) : 0;
	if (!json_is_integer(v))
		return fail_type(cause, HL_ECONTENT_TYPE, key, "an integer");
	*out = json_integer_value(v);
	return 0;
}

static int
copy_fixed(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static char *
dup_text(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static int
get_text(json_t *obj, const char *key, const char *field, int required,
    char **out, char *cause)
{
	const char *s;
	size_t n;
	int rc = get_string(obj, key, field, required, HL_ECONTENT_MISSING,
	    HL_ECONTENT_TYPE, &s, &n, cause);
	if (rc != 0 || s == NULL)
		return rc;
	*out = dup_text(s, n);
	if (*out == NULL)
		return hl_fail(cause, HL_ENOMEM, "content: out of memory");
	return 0;
}

static int
get_list(json_t *obj, const char *key, const char *field, char ***items,
    size_t *count, char *cause)
{
	json_t *arr = json_object_get(obj, key);
	char name[48];
	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return fail_type(cause, HL_ECONTENT_TYPE, field, "an array");
	size_t n = json_array_size(arr);
	if (n > HL_INCIDENT_LIST_MAX)
		return fail_too_many(cause, field, n);
	if (n == 0)
		return 0;
	*items = calloc(n, sizeof **items);
	if (*items == NULL)
		return hl_fail(cause, HL_ENOMEM, "content: out of memory");
	/* Set at once so that a failure part-way frees what was copied. */
	*count = n;
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);
		snprintf(name, sizeof name, "%s[%zu]", field, i);
		if (!json_is_string(v))
			return fail_type(cause, HL_ECONTENT_TYPE, name,
			    "a string");
		size_t len = json_string_length(v);
		const char *s = json_string_value(v);
		if (memchr(s, '\0', len) != NULL)
			return hl_fail(cause, HL_ECONTENT_VALUE,
			    "content: field '%s' holds a NUL byte", name);
		(*items)[i] = dup_text(s, len);
		if ((*items)[i] == NULL)
			return hl_fail(cause, HL_ENOMEM,
			    "content: out of memory");
	}
	return 0;
}

static int
get_enum(json_t *obj, const char *key, const char *field, int required,
    int (*parse)(const char *, int *), int *out, char *cause)
{
	const char *s;
	size_t n;
	char buf[SHOWN_MAX + 4];
	int rc = get_string(obj, key, field, required, HL_ECONTENT_MISSING,
	    HL_ECONTENT_TYPE, &s, &n, cause);
	if (rc != 0 || s == NULL)
		return rc;
	if (parse(s, out) != 0)
		return hl_fail(cause, HL_ECONTENT_VALUE,
		    "content: field '%s' has no value '%s'", field,
		    hl_printable(s, buf, SHOWN_MAX));
	return 0;
}

/* Adapters so that one reader serves every enum. */
static int
parse_prio(const char *s, int *out)
{
	return parse_name(prio_names, COUNT(prio_names), 0, s, out);
}

static int
parse_response(const char *s, int *out)
{
	return parse_name(response_names, COUNT(response_names), 1, s, out);
}

static int
parse_severity(const char *s, int *out)
{
	return parse_name(severity_names, COUNT(severity_names), 1, s, out);
}

static int
parse_tlp(const char *s, int *out)
{
	return parse_name(tlp_names, COUNT(tlp_names), 1, s, out);
}

static int
read_incident(json_t *obj, struct hl_content *c, char *cause)
{
	int sev = 0, tlp = 0;
	if (!json_is_object(obj))
		return fail_type(cause, HL_ECONTENT_TYPE, "incident",
		    "an object");
	int rc = check_keys(obj, "incident.", incident_fields,
	    COUNT(incident_fields), cause);
	if (rc != 0)
		return rc;
	c->incident = calloc(1, sizeof *c->incident);
	if (c->incident == NULL)
		return hl_fail(cause, HL_ENOMEM, "content: out of memory");
	struct hl_incident *inc = c->incident;
	if ((rc = get_text(obj, "title", "incident.title", 1, &inc->title,
	    cause)) != 0 ||
	    (rc = get_enum(obj, "severity", "incident.severity", 1,
	    parse_severity, &sev, cause)) != 0 ||
	    (rc = get_enum(obj, "tlp", "incident.tlp", 1, parse_tlp, &tlp,
	    cause)) != 0 ||
	    (rc = get_text(obj, "status", "incident.status", 1, &inc->status,
	    cause)) != 0 ||
	    (rc = get_list(obj, "indicators", "incident.indicators",
	    &inc->indicators, &inc->n_indicators, cause)) != 0 ||
	    (rc = get_list(obj, "actions", "incident.actions", &inc->actions,
	    &inc->n_actions, cause)) != 0)
		return rc;
	inc->severity = (enum hl_severity)sev;
	inc->tlp = (enum hl_tlp)tlp;
	return 0;
}

/* Reads the members whose presence or type the struct cannot express;
 * every rule on values is then left to hl_content_validate(). */
static int
read_content(json_t *root, struct hl_content *c, char *cause)
{
	const char *s;
	size_t n;
	int64_t num = 0;
	int present, kind = 0, prio = 0, resp = 0;
	char buf[SHOWN_MAX + 4];

	json_t *v = json_object_get(root, "v");
	if (v == NULL)
		return fail_missing(cause, HL_ECONTENT_MISSING, "v");
	if (!json_is_integer(v))
		return fail_type(cause, HL_ECONTENT_TYPE, "v", "an integer");
	if (json_integer_value(v) != HL_CONTENT_VERSION)
		return hl_fail(cause, HL_ECONTENT_VERSION,
		    "content: field 'v' must be %d, not %lld",
		    HL_CONTENT_VERSION, (long long)json_integer_value(v));
	c->v = HL_CONTENT_VERSION;

	int rc = check_keys(root, "", root_fields, COUNT(root_fields), cause);
	if (rc != 0)
		return rc;

	rc = get_string(root, "id", "id", 1, HL_ECONTENT_ID, HL_ECONTENT_ID,
	    &s, &n, cause);
	if (rc != 0)
		return rc;
	if (n != HL_ID_HEX || copy_fixed(c->id, sizeof c->id, s, n) != 0)
		return hl_fail(cause, HL_ECONTENT_ID,
		    "content: field 'id' must be %d lower-case hex digits",
		    HL_ID_HEX);

	rc = get_string(root, "kind", "kind", 1, HL_ECONTENT_MISSING,
	    HL_ECONTENT_TYPE, &s, &n, cause);
	if (rc != 0)
		return rc;
	if (parse_name(kind_names, COUNT(kind_names), 0, s, &kind) != 0)
		return hl_fail(cause, HL_ECONTENT_KIND,
		    "content: field 'kind' has no value '%s'",
		    hl_printable(s, buf, SHOWN_MAX));
	c->kind = (enum hl_kind)kind;
	static const char *const by_kind[] = { "ref", "response", "incident" };
	for (size_t i = 0; i < COUNT(by_kind); i++)
		if (json_object_get(root, by_kind[i]) != NULL &&
		    !kind_takes(c->kind, by_kind[i]))
			return fail_not_taken(cause, by_kind[i], c->kind);

	rc = get_string(root, "from", "from", 1, HL_ECONTENT_MISSING,
	    HL_ECONTENT_TYPE, &s, &n, cause);
	if (rc != 0)
		return rc;
	if (copy_fixed(c->from, sizeof c->from, s, n) != 0)
		return hl_fail(cause, HL_ECONTENT_VALUE,
		    "content: field 'from' must be a handle "
		    "([a-z0-9][a-z0-9.-]{1,62})");

	if ((rc = get_integer(root, "sent", 1, &c->sent, NULL, cause)) != 0)
		return rc;
	if ((rc = get_enum(root, "prio", "prio", 1, parse_prio, &prio,
	    cause)) != 0)
		return rc;
	c->prio = (enum hl_prio)prio;
	if ((rc = get_integer(root, "seq", 1, &c->seq, NULL, cause)) != 0)
		return rc;
	if ((rc = get_integer(root, "ack_by", 0, &num, &present, cause)) != 0)
		return rc;
	/* 0 means "none" in the struct, so a sent 0 must be caught here. */
	if (present && num <= 0)
		return fail_positive(cause, "ack_by", 1);
	c->ack_by = present ? num : 0;

	/* Likewise "" means absent for thread and ref. */
	rc = get_string(root, "thread", "thread", 0, 0, HL_ECONTENT_TYPE, &s,
	    &n, cause);
	if (rc != 0)
		return rc;
	if (s != NULL && (copy_fixed(c->thread, sizeof c->thread, s, n) != 0 ||
	    !thread_valid(c->thread)))
		return fail_thread(cause);
	rc = get_string(root, "ref", "ref", 0, 0, HL_ECONTENT_TYPE, &s, &n,
	    cause);
	if (rc != 0)
		return rc;
	if (s != NULL && (copy_fixed(c->ref, sizeof c->ref, s, n) != 0 ||
	    !hl_is_lowerhex(c->ref, HL_ID_HEX)))
		return fail_ref(cause);

	if ((rc = get_enum(root, "response", "response", 0, parse_response,
	    &resp, cause)) != 0)
		return rc;
	c->response = (enum hl_response)resp;
	if ((rc = get_text(root, "body", "body", 1, &c->body, cause)) != 0)
		return rc;
	json_t *inc = json_object_get(root, "incident");
	if (inc != NULL && (rc = read_incident(inc, c, cause)) != 0)
		return rc;
	return hl_content_validate(c, cause);
}

int
hl_content_decode(const uint8_t *in, size_t len, struct hl_content *c,
    char *cause)
{
	size_t textlen = 0;
	char text[JSON_ERROR_TEXT_LENGTH + 4];
	if (c == NULL || (in == NULL && len != 0))
		return hl_fail(cause, HL_EINVAL, "content: no input given");
	memset(c, 0, sizeof *c);
	int rc = unpad(in, len, &textlen, cause);
	if (rc != 0)
		return rc;
	const uint8_t *nul = memchr(in, '\0', textlen);
	if (nul != NULL)
		return hl_fail(cause, HL_ECONTENT_JSON,
		    "content: JSON text holds a NUL byte at offset %zu",
		    (size_t)(nul - in));
	json_error_t err;
	json_t *root = json_loadb((const char *)in, textlen,
	    JSON_REJECT_DUPLICATES, &err);
	if (root == NULL)
		return hl_fail(cause, HL_ECONTENT_JSON,
		    "content: invalid JSON at byte %d: %s", err.position,
		    hl_printable(err.text, text, JSON_ERROR_TEXT_LENGTH));
	if (!json_is_object(root)) {
		json_decref(root);
		return hl_fail(cause, HL_ECONTENT_JSON,
		    "content: JSON text is not an object");
	}
	rc = read_content(root, c, cause);
	json_decref(root);
	if (rc == 0)
		rc = fits_when_encoded(c, cause);
	if (rc != 0)
		hl_content_clear(c);
	return rc;
}
