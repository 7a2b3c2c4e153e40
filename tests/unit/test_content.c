#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hl_content.h"
#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"

#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210"

/* The head of a valid text content; each case appends the rest. */
#define HEAD_V(kind) "{\"v\":1,\"id\":\"" ID_A "\",\"kind\":\"" kind "\"," \
	"\"from\":\"ee.cert\",\"sent\":1795000000000,\"prio\":\"urgent\"," \
	"\"seq\":17"
#define TEXT HEAD_V("text")
/* The start of a text up to its kind, and the rest of one after its id. */
#define OPEN "{\"v\":1,\"id\":\"" ID_A "\",\"kind\":\"text\","
#define TAIL "\"kind\":\"text\",\"from\":\"ee.cert\",\"sent\":1," \
	"\"prio\":\"flash\",\"seq\":1,\"body\":\"\"}"
#define INC_OK "{\"title\":\"t\",\"severity\":\"high\",\"tlp\":\"RED\"," \
	"\"status\":\"open\""

/* Pads a JSON text the way the protocol does, so that JSON-level faults
 * reach the parser. Caller frees. */
static uint8_t *
pad(const char *text, size_t n, size_t *outlen)
{
	size_t len = (n / HL_CONTENT_BLOCK + 1) * HL_CONTENT_BLOCK;
	uint8_t *buf = calloc(1, len);
	assert_non_null(buf);
	memcpy(buf, text, n);
	buf[n] = 0x80;
	*outlen = len;
	return buf;
}

/* Decodes a JSON text after padding it; returns the code. */
static int
decode_text(const char *text, size_t n, struct hl_content *c, char *cause)
{
	size_t len;
	uint8_t *buf = pad(text, n, &len);
	int rc = hl_content_decode(buf, len, c, cause);
	free(buf);
	return rc;
}

static void
assert_cleared(const struct hl_content *c)
{
	struct hl_content zero;
	memset(&zero, 0, sizeof zero);
	assert_memory_equal(c, &zero, sizeof zero);
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);
	assert_non_null(d);
	return d;
}

static char *
filled(size_t n, char ch)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

static void
base_content(struct hl_content *c, enum hl_kind kind)
{
	memset(c, 0, sizeof *c);
	c->v = HL_CONTENT_VERSION;
	strcpy(c->id, ID_A);
	c->kind = kind;
	strcpy(c->from, "ee.cert");
	c->sent = 1795000000000;
	c->prio = HL_PRIO_URGENT;
	c->seq = 17;
	c->body = xstrdup("");
}

static struct hl_incident *
new_incident(enum hl_tlp tlp, size_t n_ind, size_t n_act)
{
	struct hl_incident *inc = calloc(1, sizeof *inc);
	assert_non_null(inc);
	inc->title = xstrdup("Phishing wave against ministries");
	inc->severity = HL_SEV_HIGH;
	inc->tlp = tlp;
	inc->status = xstrdup("open");
	inc->n_indicators = n_ind;
	inc->n_actions = n_act;
	if (n_ind > 0) {
		inc->indicators = calloc(n_ind, sizeof *inc->indicators);
		assert_non_null(inc->indicators);
		for (size_t i = 0; i < n_ind; i++) {
			char buf[64];
			snprintf(buf, sizeof buf, "evil-%zu.example", i);
			inc->indicators[i] = xstrdup(buf);
		}
	}
	if (n_act > 0) {
		inc->actions = calloc(n_act, sizeof *inc->actions);
		assert_non_null(inc->actions);
		for (size_t i = 0; i < n_act; i++) {
			char buf[64];
			snprintf(buf, sizeof buf, "block at the border %zu",
			    i);
			inc->actions[i] = xstrdup(buf);
		}
	}
	return inc;
}

static void
assert_opt_string_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void
assert_list_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		assert_string_equal(a[i], b[i]);
}

static void
assert_content_equal(const struct hl_content *a, const struct hl_content *b)
{
	assert_int_equal(a->v, b->v);
	assert_string_equal(a->id, b->id);
	assert_int_equal(a->kind, b->kind);
	assert_string_equal(a->from, b->from);
	assert_int_equal(a->sent, b->sent);
	assert_int_equal(a->prio, b->prio);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->ack_by, b->ack_by);
	assert_string_equal(a->thread, b->thread);
	assert_string_equal(a->ref, b->ref);
	assert_int_equal(a->response, b->response);
	assert_opt_string_equal(a->body, b->body);
	if (a->incident == NULL || b->incident == NULL) {
		assert_ptr_equal(a->incident, b->incident);
		return;
	}
	const struct hl_incident *x = a->incident, *y = b->incident;
	assert_string_equal(x->title, y->title);
	assert_int_equal(x->severity, y->severity);
	assert_int_equal(x->tlp, y->tlp);
	assert_string_equal(x->status, y->status);
	assert_list_equal(x->indicators, x->n_indicators, y->indicators,
	    y->n_indicators);
	assert_list_equal(x->actions, x->n_actions, y->actions, y->n_actions);
}

/* Length of the JSON text in front of the padding of an encoding. */
static size_t
text_length(const uint8_t *buf, size_t len)
{
	size_t end = len;
	while (end > 0 && buf[end - 1] == 0)
		end--;
	assert_true(end > 0);
	assert_int_equal(buf[end - 1], 0x80);
	return end - 1;
}

/* Encodes c, checks the padding, decodes, compares, re-encodes and checks
 * the bytes are the same. Returns the padded length. */
static size_t
round_trip(const struct hl_content *c)
{
	char cause[HL_CAUSE_MAX] = "";
	uint8_t *buf = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	struct hl_content d;

	int rc = hl_content_encode(c, &buf, &len, cause);
	if (rc != 0)
		fail_msg("encode: %s (%s)", hl_strerror(rc), cause);
	assert_non_null(buf);
	assert_true(len >= HL_CONTENT_BLOCK);
	assert_int_equal(len % HL_CONTENT_BLOCK, 0);
	size_t n = text_length(buf, len);
	assert_true(len - n >= 1 && len - n <= HL_CONTENT_BLOCK);
	assert_int_equal(buf[0], '{');
	assert_int_equal(buf[n - 1], '}');

	rc = hl_content_decode(buf, len, &d, cause);
	if (rc != 0)
		fail_msg("decode: %s (%s)", hl_strerror(rc), cause);
	assert_content_equal(c, &d);

	assert_int_equal(hl_content_encode(&d, &again, &len2, cause), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(again, buf, len);

	hl_content_clear(&d);
	assert_cleared(&d);
	hl_content_free_bytes(again, len2);
	hl_content_free_bytes(buf, len);
	return len;
}

static void
test_text_exact_encoding(void **state)
{
	(void)state;
	struct hl_content c;
	uint8_t *buf;
	size_t len;
	char cause[HL_CAUSE_MAX];
	static const char want[] =
	    "{\"v\":1,\"id\":\"" ID_A "\",\"kind\":\"text\","
	    "\"from\":\"ee.cert\",\"sent\":1795000000000,\"prio\":\"urgent\","
	    "\"seq\":17,\"ack_by\":1795000900000,\"thread\":\"INC-2026-0042\","
	    "\"body\":\"Phishing wave against ministries, IOCs follow.\"}";

	base_content(&c, HL_KIND_TEXT);
	c.ack_by = 1795000900000;
	strcpy(c.thread, "INC-2026-0042");
	free(c.body);
	c.body = xstrdup("Phishing wave against ministries, IOCs follow.");
	assert_int_equal(hl_content_encode(&c, &buf, &len, cause), 0);
	assert_int_equal(len, 256);
	assert_int_equal(text_length(buf, len), strlen(want));
	assert_memory_equal(buf, want, strlen(want));
	for (size_t i = strlen(want) + 1; i < len; i++)
		assert_int_equal(buf[i], 0);
	hl_content_free_bytes(buf, len);
	assert_int_equal(round_trip(&c), 256);
	hl_content_clear(&c);
}

static void
test_text_utf8_round_trip(void **state)
{
	(void)state;
	struct hl_content c;
	base_content(&c, HL_KIND_TEXT);
	free(c.body);
	c.body = xstrdup("Tallinn \xe2\x80\x93 Helsinki \xe2\x80\x93 "
	    "\xe6\x9d\xb1\xe4\xba\xac; quotes \" and \\ and\nnew lines\t\x01");
	strcpy(c.thread, "a.B_c-9");
	c.prio = HL_PRIO_FLASH;
	c.ack_by = 1;
	round_trip(&c);
	hl_content_clear(&c);
	assert_cleared(&c);
}

static void
test_receipt_and_check_round_trip(void **state)
{
	(void)state;
	struct hl_content c;
	base_content(&c, HL_KIND_RECEIPT);
	strcpy(c.ref, ID_B);
	c.prio = HL_PRIO_ROUTINE;
	round_trip(&c);
	hl_content_clear(&c);

	base_content(&c, HL_KIND_CHECK);
	c.ack_by = 1795000900000;
	free(c.body);
	c.body = xstrdup("EXERCISE communication check");
	round_trip(&c);
	hl_content_clear(&c);
}

static void
test_ack_each_response(void **state)
{
	(void)state;
	static const enum hl_response responses[] = {
		HL_RESP_RECEIVED, HL_RESP_WILL_COMPLY, HL_RESP_UNABLE,
		HL_RESP_NEED_INFO,
	};
	for (size_t i = 0; i < sizeof responses / sizeof responses[0]; i++) {
		struct hl_content c;
		base_content(&c, HL_KIND_ACK);
		strcpy(c.ref, ID_B);
		c.response = responses[i];
		free(c.body);
		c.body = xstrdup(i % 2 ? "" : "On it; block list by 14:00Z.");
		round_trip(&c);
		hl_content_clear(&c);
	}
}

static void
test_incident_each_tlp(void **state)
{
	(void)state;
	static const enum hl_tlp tlps[] = {
		HL_TLP_CLEAR, HL_TLP_GREEN, HL_TLP_AMBER, HL_TLP_AMBER_STRICT,
		HL_TLP_RED,
	};
	for (size_t i = 0; i < sizeof tlps / sizeof tlps[0]; i++) {
		struct hl_content c;
		base_content(&c, HL_KIND_INCIDENT);
		strcpy(c.thread, "INC-2026-0042");
		c.incident = new_incident(tlps[i], i == 0 ? 0 : 3,
		    i == 1 ? 0 : 2);
		c.incident->severity = (enum hl_severity)(HL_SEV_LOW + i % 4);
		round_trip(&c);
		hl_content_clear(&c);
	}
}

static void
test_incident_list_limits_round_trip(void **state)
{
	(void)state;
	struct hl_content c;
	base_content(&c, HL_KIND_INCIDENT);
	c.incident = new_incident(HL_TLP_AMBER_STRICT, HL_INCIDENT_LIST_MAX,
	    1);
	free(c.incident->actions[0]);
	c.incident->actions[0] = filled(HL_INCIDENT_ITEM_MAX, 'a');
	free(c.incident->title);
	c.incident->title = filled(HL_INCIDENT_FIELD_MAX, 't');
	round_trip(&c);
	hl_content_clear(&c);
}

static void
test_body_at_limit(void **state)
{
	(void)state;
	struct hl_content c;
	base_content(&c, HL_KIND_TEXT);
	free(c.body);
	c.body = filled(HL_CONTENT_BODY_MAX, 'x');
	size_t len = round_trip(&c);
	assert_true(len > HL_CONTENT_BODY_MAX);
	hl_content_clear(&c);

	/* The same limit in bytes of multi-byte characters. */
	base_content(&c, HL_KIND_TEXT);
	free(c.body);
	c.body = malloc(HL_CONTENT_BODY_MAX + 1);
	assert_non_null(c.body);
	for (size_t i = 0; i < HL_CONTENT_BODY_MAX; i += 4)
		memcpy(c.body + i, "\xf0\x9f\x93\x9e", 4);
	c.body[HL_CONTENT_BODY_MAX] = '\0';
	round_trip(&c);
	hl_content_clear(&c);
}

/* A JSON text of exactly one block still gets a padding byte. */
static void
test_padding_boundaries(void **state)
{
	(void)state;
	struct hl_content c;
	uint8_t *buf;
	size_t len;
	char cause[HL_CAUSE_MAX];

	base_content(&c, HL_KIND_TEXT);
	assert_int_equal(hl_content_encode(&c, &buf, &len, cause), 0);
	size_t empty = text_length(buf, len);
	hl_content_free_bytes(buf, len);
	assert_true(empty < 255);

	static const struct {
		size_t text, padded;
	} cases[] = { { 255, 256 }, { 256, 512 }, { 257, 512 },
	    { 511, 512 }, { 512, 768 } };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		free(c.body);
		c.body = filled(cases[i].text - empty, 'b');
		assert_int_equal(hl_content_encode(&c, &buf, &len, cause), 0);
		assert_int_equal(len, cases[i].padded);
		assert_int_equal(text_length(buf, len), cases[i].text);
		assert_int_equal(buf[cases[i].text], 0x80);
		hl_content_free_bytes(buf, len);
		assert_int_equal(round_trip(&c), cases[i].padded);
	}
	hl_content_clear(&c);
}

struct bad_case {
	const char *name;
	const char *text;
	size_t len; /* 0: strlen(text) */
	int code;
	const char *cause; /* a substring the cause must hold */
};

static const char nul_text[] = TEXT ",\"body\":\"a\0b\"}";

static const struct bad_case bad_cases[] = {
	{ "control: valid text", TEXT ",\"body\":\"\"}", 0, 0, NULL },
	{ "not JSON", "hello", 0, HL_ECONTENT_JSON, "invalid JSON" },
	{ "empty text", "", 0, HL_ECONTENT_JSON, "invalid JSON" },
	{ "array root", "[1,2]", 0, HL_ECONTENT_JSON, "not an object" },
	{ "string root", "\"x\"", 0, HL_ECONTENT_JSON, "invalid JSON" },
	{ "trailing garbage", TEXT ",\"body\":\"\"}x", 0, HL_ECONTENT_JSON,
	    "end of file expected" },
	{ "two objects", TEXT ",\"body\":\"\"}{}", 0, HL_ECONTENT_JSON,
	    "end of file expected" },
	{ "embedded NUL", nul_text, sizeof nul_text - 1, HL_ECONTENT_JSON,
	    "NUL byte" },
	{ "escaped NUL", TEXT ",\"body\":\"a\\u0000b\"}", 0, HL_ECONTENT_JSON,
	    "JSON_ALLOW_NUL" },
	{ "invalid UTF-8", TEXT ",\"body\":\"\xc3\x28\"}", 0,
	    HL_ECONTENT_JSON, "invalid JSON" },
	{ "duplicate key", TEXT ",\"seq\":18,\"body\":\"\"}", 0,
	    HL_ECONTENT_JSON, "duplicate object key near '\"seq\"'" },
	{ "duplicate key in incident", HEAD_V("incident") ",\"body\":\"\","
	    "\"incident\":" INC_OK ",\"tlp\":\"RED\"}}", 0, HL_ECONTENT_JSON,
	    "\"tlp\"" },
	{ "unknown kind", "{\"v\":1,\"id\":\"" ID_A "\",\"kind\":\"memo\"}", 0,
	    HL_ECONTENT_KIND, "'kind'" },
	{ "kind missing", "{\"v\":1,\"id\":\"" ID_A "\"}", 0,
	    HL_ECONTENT_MISSING, "'kind'" },
	{ "kind not a string", "{\"v\":1,\"id\":\"" ID_A "\",\"kind\":1}", 0,
	    HL_ECONTENT_TYPE, "'kind'" },
	{ "missing id", "{\"v\":1,\"kind\":\"text\"}", 0, HL_ECONTENT_ID,
	    "'id' is missing" },
	{ "id 31 hex", "{\"v\":1,\"id\":\"0123456789abcdef0123456789abcde\"}",
	    0, HL_ECONTENT_ID, "'id'" },
	{ "id 33 hex",
	    "{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef0\"}", 0,
	    HL_ECONTENT_ID, "'id'" },
	{ "id upper-case",
	    "{\"v\":1,\"id\":\"0123456789ABCDEF0123456789abcdef\"," TAIL, 0,
	    HL_ECONTENT_ID, "'id'" },
	{ "id non-hex",
	    "{\"v\":1,\"id\":\"0123456789abcdeg0123456789abcdef\"," TAIL, 0,
	    HL_ECONTENT_ID, "'id'" },
	{ "id a number", "{\"v\":1,\"id\":12}", 0, HL_ECONTENT_ID, "'id'" },
	{ "v 2", "{\"v\":2,\"id\":\"" ID_A "\",\"colour\":1}", 0,
	    HL_ECONTENT_VERSION, "'v'" },
	{ "v missing", "{\"id\":\"" ID_A "\"}", 0, HL_ECONTENT_MISSING,
	    "'v'" },
	{ "v a string", "{\"v\":\"1\"}", 0, HL_ECONTENT_TYPE, "'v'" },
	{ "v a real", "{\"v\":1.0}", 0, HL_ECONTENT_TYPE, "'v'" },
	{ "seq as string", OPEN
	    "\"from\":\"ee.cert\",\"sent\":1,\"prio\":\"flash\",\"seq\":\"1\","
	    "\"body\":\"\"}", 0, HL_ECONTENT_TYPE, "'seq' must be an integer" },
	{ "seq as real", OPEN
	    "\"from\":\"ee.cert\",\"sent\":1,\"prio\":\"flash\",\"seq\":1.0,"
	    "\"body\":\"\"}", 0, HL_ECONTENT_TYPE, "'seq'" },
	{ "seq as boolean", OPEN
	    "\"from\":\"ee.cert\",\"sent\":1,\"prio\":\"flash\",\"seq\":true,"
	    "\"body\":\"\"}", 0, HL_ECONTENT_TYPE, "'seq'" },
	{ "seq 0", OPEN
	    "\"from\":\"ee.cert\",\"sent\":1,\"prio\":\"flash\",\"seq\":0,"
	    "\"body\":\"\"}", 0, HL_ECONTENT_VALUE,
	    "'seq' must be an integer >= 1" },
	{ "sent negative", OPEN
	    "\"from\":\"ee.cert\",\"sent\":-5,\"prio\":\"flash\",\"seq\":1,"
	    "\"body\":\"\"}", 0, HL_ECONTENT_VALUE, "'sent'" },
	{ "sent missing", OPEN
	    "\"from\":\"ee.cert\",\"prio\":\"flash\",\"seq\":1,"
	    "\"body\":\"\"}", 0, HL_ECONTENT_MISSING, "'sent'" },
	{ "sent too big for an integer", "{\"v\":1,\"id\":\"" ID_A "\","
	    "\"kind\":\"text\",\"from\":\"ee.cert\","
	    "\"sent\":99999999999999999999}", 0, HL_ECONTENT_JSON,
	    "too big integer" },
	{ "from invalid handle", OPEN "\"from\":\"EE.CERT\",\"sent\":1,"
	    "\"prio\":\"flash\",\"seq\":1,\"body\":\"\"}", 0, HL_ECONTENT_VALUE,
	    "'from'" },
	{ "from too long", OPEN
	    "\"from\":\"a123456789012345678901234567890123456789012345678901234"
	    "567890123\"}", 0, HL_ECONTENT_VALUE, "'from'" },
	{ "from missing", "{\"v\":1,\"id\":\"" ID_A "\",\"kind\":\"text\"}", 0,
	    HL_ECONTENT_MISSING, "'from'" },
	{ "prio unknown", OPEN
	    "\"from\":\"ee.cert\",\"sent\":1,\"prio\":\"normal\",\"seq\":1,"
	    "\"body\":\"\"}", 0, HL_ECONTENT_VALUE,
	    "'prio' has no value 'normal'" },
	{ "prio in upper case", OPEN "\"from\":\"ee.cert\",\"sent\":1,"
	    "\"prio\":\"Urgent\",\"seq\":1,\"body\":\"\"}", 0,
	    HL_ECONTENT_VALUE, "'prio'" },
	{ "body not a string", TEXT ",\"body\":5}", 0, HL_ECONTENT_TYPE,
	    "'body'" },
	{ "body missing", TEXT "}", 0, HL_ECONTENT_MISSING, "'body'" },
	{ "body null", TEXT ",\"body\":null}", 0, HL_ECONTENT_TYPE, "'body'" },
	{ "unknown field", TEXT ",\"body\":\"\",\"colour\":\"red\"}", 0,
	    HL_ECONTENT_UNKNOWN, "'colour'" },
	{ "unknown field, hostile name", TEXT ",\"\\u001b[2J\":1}", 0,
	    HL_ECONTENT_UNKNOWN, "'?[2J'" },
	{ "ref on a text", TEXT ",\"ref\":\"" ID_B "\",\"body\":\"\"}", 0,
	    HL_ECONTENT_UNKNOWN, "'ref' is not allowed in kind 'text'" },
	{ "empty ref on a text", TEXT ",\"ref\":\"\",\"body\":\"\"}", 0,
	    HL_ECONTENT_UNKNOWN, "'ref'" },
	{ "response on a receipt", HEAD_V("receipt") ",\"ref\":\"" ID_B "\","
	    "\"response\":\"received\",\"body\":\"\"}", 0, HL_ECONTENT_UNKNOWN,
	    "'response'" },
	{ "incident on a text", TEXT ",\"body\":\"\",\"incident\":{}}", 0,
	    HL_ECONTENT_UNKNOWN, "'incident'" },
	{ "receipt without ref", HEAD_V("receipt") ",\"body\":\"\"}", 0,
	    HL_ECONTENT_MISSING, "'ref'" },
	{ "receipt with bad ref", HEAD_V("receipt") ",\"ref\":\"" ID_B "0\","
	    "\"body\":\"\"}", 0, HL_ECONTENT_VALUE, "'ref'" },
	{ "receipt with empty ref", HEAD_V("receipt") ",\"ref\":\"\","
	    "\"body\":\"\"}", 0, HL_ECONTENT_VALUE, "'ref'" },
	{ "ack without response", HEAD_V("ack") ",\"ref\":\"" ID_B "\","
	    "\"body\":\"\"}", 0, HL_ECONTENT_MISSING, "'response'" },
	{ "ack with bad response", HEAD_V("ack") ",\"ref\":\"" ID_B "\","
	    "\"response\":\"will_comply\",\"body\":\"\"}", 0, HL_ECONTENT_VALUE,
	    "'response'" },
	{ "incident without incident", HEAD_V("incident") ",\"body\":\"\"}", 0,
	    HL_ECONTENT_MISSING, "'incident'" },
	{ "incident not an object", HEAD_V("incident") ",\"body\":\"\","
	    "\"incident\":[]}", 0, HL_ECONTENT_TYPE, "'incident'" },
	{ "incident with bad tlp", HEAD_V("incident") ",\"body\":\"\","
	    "\"incident\":{\"title\":\"t\",\"severity\":\"high\","
	    "\"tlp\":\"amber\",\"status\":\"open\"}}", 0, HL_ECONTENT_VALUE,
	    "'incident.tlp'" },
	{ "incident with AMBER_STRICT", HEAD_V("incident") ",\"body\":\"\","
	    "\"incident\":{\"title\":\"t\",\"severity\":\"high\","
	    "\"tlp\":\"AMBER_STRICT\",\"status\":\"open\"}}", 0,
	    HL_ECONTENT_VALUE, "'incident.tlp'" },
	{ "incident with bad severity", HEAD_V("incident") ",\"body\":\"\","
	    "\"incident\":{\"title\":\"t\",\"severity\":\"severe\","
	    "\"tlp\":\"RED\",\"status\":\"open\"}}", 0, HL_ECONTENT_VALUE,
	    "'incident.severity'" },
	{ "incident without status", HEAD_V("incident") ",\"body\":\"\","
	    "\"incident\":{\"title\":\"t\",\"severity\":\"high\","
	    "\"tlp\":\"RED\"}}", 0, HL_ECONTENT_MISSING, "'incident.status'" },
	{ "incident with empty title", HEAD_V("incident") ",\"body\":\"\","
	    "\"incident\":{\"title\":\"\",\"severity\":\"high\","
	    "\"tlp\":\"RED\",\"status\":\"open\"}}", 0, HL_ECONTENT_VALUE,
	    "'incident.title'" },
	{ "incident with unknown field", HEAD_V("incident") ",\"body\":\"\","
	    "\"incident\":" INC_OK ",\"owner\":\"x\"}}", 0,
	    HL_ECONTENT_UNKNOWN, "'incident.owner'" },
	{ "indicators not an array", HEAD_V("incident") ",\"body\":\"\","
	    "\"incident\":" INC_OK ",\"indicators\":\"x\"}}", 0,
	    HL_ECONTENT_TYPE, "'incident.indicators'" },
	{ "indicator not a string", HEAD_V("incident") ",\"body\":\"\","
	    "\"incident\":" INC_OK ",\"actions\":[\"a\",7]}}", 0,
	    HL_ECONTENT_TYPE, "'incident.actions[1]'" },
	{ "ack_by as string", TEXT ",\"ack_by\":\"soon\",\"body\":\"\"}", 0,
	    HL_ECONTENT_TYPE, "'ack_by'" },
	{ "ack_by 0", TEXT ",\"ack_by\":0,\"body\":\"\"}", 0, HL_ECONTENT_VALUE,
	    "'ack_by' must be an integer >= 1" },
	{ "thread with a space",
	    TEXT ",\"thread\":\"INC 42\",\"body\":\"\"}", 0, HL_ECONTENT_VALUE,
	    "'thread'" },
	{ "thread empty", TEXT ",\"thread\":\"\",\"body\":\"\"}", 0,
	    HL_ECONTENT_VALUE, "'thread'" },
	{ "thread 65 characters", TEXT ",\"thread\":\"0123456789012345678901234"
	    "5678901234567890123456789012345678901234\",\"body\":\"\"}", 0,
	    HL_ECONTENT_VALUE, "'thread'" },
};

static void
test_malformed_table(void **state)
{
	(void)state;
	size_t checked = 0;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *t = &bad_cases[i];
		struct hl_content c;
		char cause[HL_CAUSE_MAX] = "";
		size_t n = t->len ? t->len : strlen(t->text);
		memset(&c, 0xa5, sizeof c);
		int rc = decode_text(t->text, n, &c, cause);
		if (t->code == 0) {
			/* A control row: the base it varies must be valid. */
			if (rc != 0)
				fail_msg("%s: %s", t->name, cause);
			hl_content_clear(&c);
			continue;
		}
		if (rc != t->code)
			fail_msg("%s: got %d (%s), want %d", t->name, rc, cause,
			    t->code);
		if (strstr(cause, t->cause) == NULL)
			fail_msg("%s: cause '%s' lacks '%s'", t->name, cause,
			    t->cause);
		assert_cleared(&c);
		checked++;
	}
	assert_true(checked >= 25);
}

/* Builds a valid text whose body is n 'x' and decodes it. */
static void
test_body_over_limit(void **state)
{
	(void)state;
	char cause[HL_CAUSE_MAX] = "";
	struct hl_content c;
	size_t cap = HL_CONTENT_BODY_MAX + 256;
	char *text = malloc(cap);
	assert_non_null(text);
	for (size_t n = HL_CONTENT_BODY_MAX; n <= HL_CONTENT_BODY_MAX + 1;
	    n++) {
		char *body = filled(n, 'x');
		int len = snprintf(text, cap, TEXT ",\"body\":\"%s\"}", body);
		free(body);
		assert_true(len > 0 && (size_t)len < cap);
		int rc = decode_text(text, (size_t)len, &c, cause);
		if (n == HL_CONTENT_BODY_MAX) {
			assert_int_equal(rc, 0);
			assert_int_equal(strlen(c.body), n);
			hl_content_clear(&c);
		} else {
			assert_int_equal(rc, HL_ECONTENT_SIZE);
			assert_non_null(strstr(cause, "'body'"));
			assert_cleared(&c);
		}
	}
	free(text);
}

/* A list of n indicators, one more than allowed or exactly the limit. */
static void
test_indicator_count(void **state)
{
	(void)state;
	char cause[HL_CAUSE_MAX] = "";
	struct hl_content c;
	size_t cap = 4096;
	char *text = malloc(cap);
	assert_non_null(text);
	for (size_t n = HL_INCIDENT_LIST_MAX; n <= HL_INCIDENT_LIST_MAX + 1;
	    n++) {
		size_t at = (size_t)snprintf(text, cap, HEAD_V("incident")
		    ",\"body\":\"\",\"incident\":" INC_OK ",\"indicators\":[");
		for (size_t i = 0; i < n; i++)
			at += (size_t)snprintf(text + at, cap - at,
			    "%s\"i%zu\"", i ? "," : "", i);
		at += (size_t)snprintf(text + at, cap - at, "]}}");
		assert_true(at < cap);
		int rc = decode_text(text, at, &c, cause);
		if (n == HL_INCIDENT_LIST_MAX) {
			assert_int_equal(rc, 0);
			assert_int_equal(c.incident->n_indicators, n);
			assert_string_equal(c.incident->indicators[n - 1],
			    "i63");
			assert_int_equal(c.incident->n_actions, 0);
			assert_null(c.incident->actions);
			hl_content_clear(&c);
		} else {
			assert_int_equal(rc, HL_ECONTENT_SIZE);
			assert_non_null(strstr(cause, "'incident.indicators'"));
			assert_cleared(&c);
		}
	}
	free(text);
}

/* An incident item one byte over its limit, after others were copied. */
static void
test_incident_item_over_limit(void **state)
{
	(void)state;
	char cause[HL_CAUSE_MAX] = "";
	struct hl_content c;
	size_t cap = HL_INCIDENT_ITEM_MAX + 1024;
	char *text = malloc(cap);
	char *item = filled(HL_INCIDENT_ITEM_MAX + 1, 'q');
	assert_non_null(text);
	int len = snprintf(text, cap, HEAD_V("incident") ",\"body\":\"b\","
	    "\"incident\":" INC_OK ",\"indicators\":[\"a\",\"b\"],"
	    "\"actions\":[\"c\",\"%s\"]}}", item);
	assert_true(len > 0 && (size_t)len < cap);
	assert_int_equal(decode_text(text, (size_t)len, &c, cause),
	    HL_ECONTENT_SIZE);
	assert_non_null(strstr(cause, "'incident.actions[1]'"));
	assert_cleared(&c);
	free(item);
	free(text);
}

struct pad_case {
	const char *name;
	size_t len;
	size_t marker_at; /* where the last non-zero byte goes */
	uint8_t marker;   /* 0: all zero */
	int code;
};

static void
test_padding_errors(void **state)
{
	(void)state;
	static const char json[] = TEXT ",\"body\":\"\"}";
	const size_t text = sizeof json - 1;
	const struct pad_case cases[] = {
		{ "length 0", 0, 0, 0, HL_ECONTENT_PADDING },
		{ "length 255", 255, text, 0x80, HL_ECONTENT_PADDING },
		{ "length 257", 257, text, 0x80, HL_ECONTENT_PADDING },
		{ "256 zero bytes", 256, 0, 0, HL_ECONTENT_PADDING },
		{ "last non-zero 0x81", 256, text, 0x81, HL_ECONTENT_PADDING },
		{ "no zeros, last byte 0x01", 256, 255, 0x01,
		    HL_ECONTENT_PADDING },
		{ "length 65536+256", HL_CONTENT_MAX_PADDED + 256, text, 0x80,
		    HL_ECONTENT_PADDING },
		{ "marker at the very start", 256, 0, 0x80, HL_ECONTENT_JSON },
		{ "marker in the last byte, spaces before", 256, 255, 0x80, 0 },
		{ "control: valid", 256, text, 0x80, 0 },
		{ "control: 65536 bytes", HL_CONTENT_MAX_PADDED, text, 0x80,
		    0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct pad_case *t = &cases[i];
		uint8_t *buf = calloc(1, t->len + 1);
		char cause[HL_CAUSE_MAX] = "";
		struct hl_content c;
		assert_non_null(buf);
		if (t->marker != 0) {
			/* Fill with JSON text, or with spaces where a marker
			 * sits later than the text (still one JSON object). */
			memset(buf, ' ', t->marker_at);
			memcpy(buf, json, t->marker_at < text ? t->marker_at :
			    text);
			buf[t->marker_at] = t->marker;
		}
		memset(&c, 0x5a, sizeof c);
		int rc = hl_content_decode(buf, t->len, &c, cause);
		free(buf);
		if (rc != t->code)
			fail_msg("%s: got %d (%s), want %d", t->name, rc, cause,
			    t->code);
		if (rc == 0) {
			hl_content_clear(&c);
			continue;
		}
		assert_true(strncmp(cause, "content: ", 9) == 0);
		assert_cleared(&c);
	}
	/* NULL with length 0 is an empty input, not a crash. */
	struct hl_content c;
	assert_int_equal(hl_content_decode(NULL, 0, &c, NULL),
	    HL_ECONTENT_PADDING);
	assert_int_equal(hl_content_decode(NULL, 256, &c, NULL), HL_EINVAL);
}

/* encode refuses what decode would refuse, with the same code. */
static void
expect_refused(struct hl_content *c, int code, const char *field,
    const char *json)
{
	char cause[HL_CAUSE_MAX] = "", cause2[HL_CAUSE_MAX] = "";
	static uint8_t sentinel[1];
	uint8_t *buf = sentinel;
	size_t len = 99;
	struct hl_content d;
	assert_int_equal(hl_content_validate(c, cause), code);
	assert_non_null(strstr(cause, field));
	assert_int_equal(hl_content_encode(c, &buf, &len, cause2), code);
	assert_string_equal(cause, cause2);
	assert_null(buf);
	assert_int_equal(len, 0);
	if (json != NULL) {
		assert_int_equal(decode_text(json, strlen(json), &d, cause2),
		    code);
		assert_string_equal(cause, cause2);
	}
	hl_content_clear(c);
}

static void
test_encode_refuses_invalid(void **state)
{
	(void)state;
	struct hl_content c;

	base_content(&c, HL_KIND_TEXT);
	strcpy(c.ref, ID_B);
	expect_refused(&c, HL_ECONTENT_UNKNOWN, "'ref'",
	    TEXT ",\"ref\":\"" ID_B "\",\"body\":\"\"}");

	base_content(&c, HL_KIND_TEXT);
	strcpy(c.id, "0123456789ABCDEF0123456789abcdef");
	expect_refused(&c, HL_ECONTENT_ID, "'id'",
	    "{\"v\":1,\"id\":\"0123456789ABCDEF0123456789abcdef\","
	    "\"kind\":\"text\",\"from\":\"ee.cert\",\"sent\":1,"
	    "\"prio\":\"flash\",\"seq\":1,\"body\":\"\"}");

	base_content(&c, HL_KIND_TEXT);
	c.id[0] = '\0';
	expect_refused(&c, HL_ECONTENT_ID, "'id'", NULL);

	base_content(&c, HL_KIND_TEXT);
	c.seq = 0;
	expect_refused(&c, HL_ECONTENT_VALUE, "'seq'",
	    OPEN
	    "\"from\":\"ee.cert\",\"sent\":1,\"prio\":\"flash\",\"seq\":0,"
	    "\"body\":\"\"}");

	base_content(&c, HL_KIND_TEXT);
	c.v = 2;
	expect_refused(&c, HL_ECONTENT_VERSION, "'v'", NULL);

	base_content(&c, HL_KIND_TEXT);
	c.kind = (enum hl_kind)42;
	expect_refused(&c, HL_ECONTENT_KIND, "'kind'", NULL);

	base_content(&c, HL_KIND_TEXT);
	strcpy(c.from, "-ee");
	expect_refused(&c, HL_ECONTENT_VALUE, "'from'", NULL);

	base_content(&c, HL_KIND_TEXT);
	memset(c.from, 'a', sizeof c.from); /* unterminated */
	expect_refused(&c, HL_ECONTENT_VALUE, "'from'", NULL);

	base_content(&c, HL_KIND_TEXT);
	c.sent = 0;
	expect_refused(&c, HL_ECONTENT_VALUE, "'sent'", NULL);

	base_content(&c, HL_KIND_TEXT);
	c.prio = (enum hl_prio)3;
	expect_refused(&c, HL_ECONTENT_VALUE, "'prio'", NULL);

	base_content(&c, HL_KIND_TEXT);
	c.ack_by = -1;
	expect_refused(&c, HL_ECONTENT_VALUE, "'ack_by'", NULL);

	base_content(&c, HL_KIND_TEXT);
	strcpy(c.thread, "INC 42");
	expect_refused(&c, HL_ECONTENT_VALUE, "'thread'",
	    TEXT ",\"thread\":\"INC 42\",\"body\":\"\"}");

	base_content(&c, HL_KIND_TEXT);
	c.response = HL_RESP_RECEIVED;
	expect_refused(&c, HL_ECONTENT_UNKNOWN, "'response'", NULL);

	base_content(&c, HL_KIND_TEXT);
	free(c.body);
	c.body = NULL;
	expect_refused(&c, HL_ECONTENT_MISSING, "'body'", TEXT "}");

	base_content(&c, HL_KIND_TEXT);
	free(c.body);
	c.body = filled(HL_CONTENT_BODY_MAX + 1, 'x');
	expect_refused(&c, HL_ECONTENT_SIZE, "'body'", NULL);

	base_content(&c, HL_KIND_TEXT);
	free(c.body);
	c.body = xstrdup("bad \xc3\x28 UTF-8");
	expect_refused(&c, HL_ECONTENT_VALUE, "'body'", NULL);

	base_content(&c, HL_KIND_TEXT);
	c.incident = new_incident(HL_TLP_RED, 0, 0);
	expect_refused(&c, HL_ECONTENT_UNKNOWN, "'incident'", NULL);

	base_content(&c, HL_KIND_RECEIPT);
	expect_refused(&c, HL_ECONTENT_MISSING, "'ref'",
	    HEAD_V("receipt") ",\"body\":\"\"}");

	base_content(&c, HL_KIND_ACK);
	strcpy(c.ref, ID_B);
	expect_refused(&c, HL_ECONTENT_MISSING, "'response'",
	    HEAD_V("ack") ",\"ref\":\"" ID_B "\",\"body\":\"\"}");

	base_content(&c, HL_KIND_ACK);
	strcpy(c.ref, "xyz");
	c.response = HL_RESP_UNABLE;
	expect_refused(&c, HL_ECONTENT_VALUE, "'ref'", NULL);

	base_content(&c, HL_KIND_ACK);
	strcpy(c.ref, ID_B);
	c.response = (enum hl_response)9;
	expect_refused(&c, HL_ECONTENT_VALUE, "'response'", NULL);

	base_content(&c, HL_KIND_INCIDENT);
	expect_refused(&c, HL_ECONTENT_MISSING, "'incident'",
	    HEAD_V("incident") ",\"body\":\"\"}");

	base_content(&c, HL_KIND_INCIDENT);
	c.incident = new_incident(HL_TLP_NONE, 0, 0);
	expect_refused(&c, HL_ECONTENT_MISSING, "'incident.tlp'", NULL);

	base_content(&c, HL_KIND_INCIDENT);
	c.incident = new_incident(HL_TLP_RED, 0, 0);
	c.incident->severity = HL_SEV_NONE;
	expect_refused(&c, HL_ECONTENT_MISSING, "'incident.severity'", NULL);

	base_content(&c, HL_KIND_INCIDENT);
	c.incident = new_incident(HL_TLP_RED, 0, 0);
	free(c.incident->status);
	c.incident->status = xstrdup("");
	expect_refused(&c, HL_ECONTENT_VALUE, "'incident.status'", NULL);

	base_content(&c, HL_KIND_INCIDENT);
	c.incident = new_incident(HL_TLP_RED, 0, 0);
	free(c.incident->title);
	c.incident->title = filled(HL_INCIDENT_FIELD_MAX + 1, 't');
	expect_refused(&c, HL_ECONTENT_SIZE, "'incident.title'", NULL);

	base_content(&c, HL_KIND_INCIDENT);
	c.incident = new_incident(HL_TLP_RED, HL_INCIDENT_LIST_MAX + 1, 0);
	expect_refused(&c, HL_ECONTENT_SIZE, "'incident.indicators'", NULL);

	base_content(&c, HL_KIND_INCIDENT);
	c.incident = new_incident(HL_TLP_RED, 2, 0);
	free(c.incident->indicators[1]);
	c.incident->indicators[1] = NULL;
	expect_refused(&c, HL_ECONTENT_MISSING, "'incident.indicators[1]'",
	    NULL);

	assert_int_equal(hl_content_validate(NULL, NULL), HL_EINVAL);
}

/* Within every field's limit, but too large once put together. */
static void
test_encode_refuses_oversize(void **state)
{
	(void)state;
	struct hl_content c;
	uint8_t *buf;
	size_t len;
	char cause[HL_CAUSE_MAX];
	base_content(&c, HL_KIND_INCIDENT);
	c.incident = new_incident(HL_TLP_RED, HL_INCIDENT_LIST_MAX,
	    HL_INCIDENT_LIST_MAX);
	for (size_t i = 0; i < HL_INCIDENT_LIST_MAX; i++) {
		free(c.incident->indicators[i]);
		c.incident->indicators[i] = filled(HL_INCIDENT_ITEM_MAX, 'i');
	}
	assert_int_equal(hl_content_validate(&c, cause), 0);
	assert_int_equal(hl_content_encode(&c, &buf, &len, cause),
	    HL_ECONTENT_SIZE);
	assert_null(buf);
	assert_int_equal(len, 0);

	/* Escaping grows the text: 16384 control bytes are 6 bytes each. */
	hl_content_clear(&c);
	base_content(&c, HL_KIND_TEXT);
	free(c.body);
	c.body = filled(HL_CONTENT_BODY_MAX, '\x01');
	assert_int_equal(hl_content_encode(&c, &buf, &len, cause),
	    HL_ECONTENT_SIZE);
	hl_content_clear(&c);
	assert_int_equal(hl_content_encode(NULL, &buf, &len, cause), HL_EINVAL);
}

static void
test_decoded_fields(void **state)
{
	(void)state;
	static const char json[] = " { \"body\" : \"b\\u00e9\\n\", \"v\":1,"
	    "\"seq\":9007199254740993,\"id\":\"" ID_A "\",\"kind\":\"ack\","
	    "\"response\":\"need-info\",\"prio\":\"flash\","
	    "\"sent\":9223372036854775807,\"from\":\"a0\",\"ref\":\"" ID_B "\","
	    "\"ack_by\":2,\"thread\":\"x\"} ";
	char cause[HL_CAUSE_MAX] = "";
	struct hl_content c;
	int rc = decode_text(json, strlen(json), &c, cause);
	if (rc != 0)
		fail_msg("%s", cause);
	assert_int_equal(c.v, 1);
	assert_string_equal(c.id, ID_A);
	assert_int_equal(c.kind, HL_KIND_ACK);
	assert_string_equal(c.from, "a0");
	assert_true(c.sent == INT64_MAX);
	assert_int_equal(c.prio, HL_PRIO_FLASH);
	assert_true(c.seq == 9007199254740993LL);
	assert_int_equal(c.ack_by, 2);
	assert_string_equal(c.thread, "x");
	assert_string_equal(c.ref, ID_B);
	assert_int_equal(c.response, HL_RESP_NEED_INFO);
	assert_string_equal(c.body, "b\xc3\xa9\n");
	assert_null(c.incident);
	hl_content_clear(&c);
	assert_cleared(&c);
	/* Clearing twice, or a zeroed struct, is harmless. */
	hl_content_clear(&c);
	hl_content_clear(NULL);
	hl_content_free_bytes(NULL, 10);
}

static void
test_names(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int value;
	} kinds[] = { { "text", HL_KIND_TEXT }, { "receipt", HL_KIND_RECEIPT },
	    { "ack", HL_KIND_ACK }, { "check", HL_KIND_CHECK },
	    { "incident", HL_KIND_INCIDENT } },
	prios[] = { { "routine", HL_PRIO_ROUTINE },
	    { "urgent", HL_PRIO_URGENT }, { "flash", HL_PRIO_FLASH } },
	responses[] = { { "received", HL_RESP_RECEIVED },
	    { "will-comply", HL_RESP_WILL_COMPLY },
	    { "unable", HL_RESP_UNABLE },
	    { "need-info", HL_RESP_NEED_INFO } },
	severities[] = { { "low", HL_SEV_LOW }, { "medium", HL_SEV_MEDIUM },
	    { "high", HL_SEV_HIGH }, { "critical", HL_SEV_CRITICAL } },
	tlps[] = { { "CLEAR", HL_TLP_CLEAR }, { "GREEN", HL_TLP_GREEN },
	    { "AMBER", HL_TLP_AMBER }, { "AMBER+STRICT", HL_TLP_AMBER_STRICT },
	    { "RED", HL_TLP_RED } };

	for (size_t i = 0; i < 5; i++) {
		enum hl_kind k = HL_KIND_CHECK;
		assert_string_equal(hl_kind_name(kinds[i].value),
		    kinds[i].name);
		assert_int_equal(hl_kind_parse(kinds[i].name, &k), 0);
		assert_int_equal(k, kinds[i].value);
	}
	for (size_t i = 0; i < 3; i++) {
		enum hl_prio p = HL_PRIO_FLASH;
		assert_string_equal(hl_prio_name(prios[i].value),
		    prios[i].name);
		assert_int_equal(hl_prio_parse(prios[i].name, &p), 0);
		assert_int_equal(p, prios[i].value);
	}
	for (size_t i = 0; i < 4; i++) {
		enum hl_response r = HL_RESP_NONE;
		enum hl_severity s = HL_SEV_NONE;
		assert_string_equal(hl_response_name(responses[i].value),
		    responses[i].name);
		assert_int_equal(hl_response_parse(responses[i].name, &r), 0);
		assert_int_equal(r, responses[i].value);
		assert_string_equal(hl_severity_name(severities[i].value),
		    severities[i].name);
		assert_int_equal(hl_severity_parse(severities[i].name, &s), 0);
		assert_int_equal(s, severities[i].value);
	}
	for (size_t i = 0; i < 5; i++) {
		enum hl_tlp t = HL_TLP_NONE;
		assert_string_equal(hl_tlp_name(tlps[i].value), tlps[i].name);
		assert_int_equal(hl_tlp_parse(tlps[i].name, &t), 0);
		assert_int_equal(t, tlps[i].value);
	}

	/* No wire name for NONE or out of range; parsers are exact. */
	assert_string_equal(hl_response_name(HL_RESP_NONE), "");
	assert_string_equal(hl_severity_name(HL_SEV_NONE), "");
	assert_string_equal(hl_tlp_name(HL_TLP_NONE), "");
	assert_string_equal(hl_kind_name((enum hl_kind)5), "");
	assert_string_equal(hl_prio_name((enum hl_prio)-1), "");
	assert_string_equal(hl_tlp_name((enum hl_tlp)6), "");

	enum hl_kind k = HL_KIND_ACK;
	enum hl_prio p = HL_PRIO_FLASH;
	enum hl_response r = HL_RESP_UNABLE;
	enum hl_severity s = HL_SEV_LOW;
	enum hl_tlp t = HL_TLP_GREEN;
	assert_int_equal(hl_kind_parse("Text", &k), HL_EPARSE);
	assert_int_equal(hl_kind_parse("", &k), HL_EPARSE);
	assert_int_equal(hl_kind_parse(NULL, &k), HL_EPARSE);
	assert_int_equal(hl_prio_parse("urgent ", &p), HL_EPARSE);
	assert_int_equal(hl_response_parse("will_comply", &r), HL_EPARSE);
	assert_int_equal(hl_response_parse("", &r), HL_EPARSE);
	assert_int_equal(hl_severity_parse("HIGH", &s), HL_EPARSE);
	assert_int_equal(hl_tlp_parse("amber+strict", &t), HL_EPARSE);
	assert_int_equal(hl_tlp_parse("AMBER_STRICT", &t), HL_EPARSE);
	assert_int_equal(hl_tlp_parse("WHITE", &t), HL_EPARSE);
	assert_int_equal(hl_tlp_parse("", &t), HL_EPARSE);
	assert_int_equal(k, HL_KIND_ACK);
	assert_int_equal(p, HL_PRIO_FLASH);
	assert_int_equal(r, HL_RESP_UNABLE);
	assert_int_equal(s, HL_SEV_LOW);
	assert_int_equal(t, HL_TLP_GREEN);
}

static void
test_new_id(void **state)
{
	(void)state;
	char a[HL_ID_HEX + 1], b[HL_ID_HEX + 1];
	memset(a, 'Z', sizeof a);
	memset(b, 'Z', sizeof b);
	assert_int_equal(hl_content_new_id(a), 0);
	assert_int_equal(hl_content_new_id(b), 0);
	assert_true(hl_is_lowerhex(a, HL_ID_HEX));
	assert_true(hl_is_lowerhex(b, HL_ID_HEX));
	assert_string_not_equal(a, b);

	struct hl_content c;
	base_content(&c, HL_KIND_TEXT);
	assert_int_equal(hl_content_new_id(c.id), 0);
	round_trip(&c);
	hl_content_clear(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_exact_encoding),
		cmocka_unit_test(test_text_utf8_round_trip),
		cmocka_unit_test(test_receipt_and_check_round_trip),
		cmocka_unit_test(test_ack_each_response),
		cmocka_unit_test(test_incident_each_tlp),
		cmocka_unit_test(test_incident_list_limits_round_trip),
		cmocka_unit_test(test_body_at_limit),
		cmocka_unit_test(test_padding_boundaries),
		cmocka_unit_test(test_malformed_table),
		cmocka_unit_test(test_body_over_limit),
		cmocka_unit_test(test_indicator_count),
		cmocka_unit_test(test_incident_item_over_limit),
		cmocka_unit_test(test_padding_errors),
		cmocka_unit_test(test_encode_refuses_invalid),
		cmocka_unit_test(test_encode_refuses_oversize),
		cmocka_unit_test(test_decoded_fields),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_new_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
