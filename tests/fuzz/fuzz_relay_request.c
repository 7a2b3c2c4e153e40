/*
 * The relay's request parsers (relay/request.h) on hostile bodies. The
 * first byte picks the parser, the rest is the body or query value:
 *   r registration   k keys   p profile   m message   a ack
 *   i, s a query value (the integer and the search parsers both)
 * (any other byte picks one by its value), so the seed files stay
 * readable: "m{"to":...}".
 *
 * Small limits make every limit reachable. Properties:
 *   - a failure is HL_EPARSE, HL_ETOOBIG or HL_ENOMEM with a terminated
 *     cause in the relay's own words, and leaves the output cleared;
 *   - a success holds only what the parser promises: valid handles, keys
 *     starting 0x05, ids and counts within their limits, distinct prekey
 *     ids, text a terminal can show.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"
#include "crypto/hl_handle.h"
#include "relay/request.h"
#include "tests/fuzz/fuzz.h"

static const struct hl_request_limits limits = {
	.max_prekeys_per_upload = 4,
	.max_message_bytes = 300,
	.max_fetch = 8,
};

/* The input being parsed, for the checks. */
static const char *input;
static size_t input_len;

/* Does the n bytes at p hold the text s? */
static int
holds(const char *p, size_t n, const char *s)
{
	size_t k = strlen(s);
	for (size_t i = 0; k <= n && i <= n - k; i++)
		if (memcmp(p + i, s, k) == 0)
			return 1;
	return 0;
}

__attribute__((format(printf, 1, 2), noreturn)) static void
broken(const char *fmt, ...)
{
	va_list ap;
	fputs("fuzz_relay_request: property broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static int
all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static void
check_failure(const char *what, int rc, const char *cause)
{
	if (rc != HL_EPARSE && rc != HL_ETOOBIG && rc != HL_ENOMEM)
		broken("%s: undocumented failure %d (%s)", what, rc,
		    hl_strerror(rc));
	if (memchr(cause, '\0', HL_CAUSE_MAX) == NULL || cause[0] == '\0')
		broken("%s: cause missing after %s", what, hl_strerror(rc));
	/* The cause goes to the client: the relay's words only, never the
	 * JSON library's (its flag names, the bytes it met). A cause may
	 * still name a field of the input, so only text the input does not
	 * hold counts. */
	static const char *const library[] = { "JSON_", "decode byte",
	    "expected near", "end of file", "object key" };
	for (size_t i = 0; i < sizeof library / sizeof library[0]; i++)
		if (strstr(cause, library[i]) != NULL &&
		    !holds(input, input_len, library[i]))
			broken("%s: library text in the cause: %s", what, cause);
}

static void
check_text(const char *what, const char *s, size_t cap, int may_be_empty)
{
	const char *end = memchr(s, '\0', cap);
	if (end == NULL)
		broken("%s: not terminated", what);
	size_t len = (size_t)(end - s);
	if (len == 0 && !may_be_empty)
		broken("%s: empty", what);
	if (!hl_request_text_ok(s, len))
		broken("%s: text a terminal cannot show safely", what);
}

static void
check_profile(const struct hl_store_profile *p)
{
	check_text("profile.name", p->name, sizeof p->name, 0);
	check_text("profile.organisation", p->organisation,
	    sizeof p->organisation, 1);
	check_text("profile.role", p->role, sizeof p->role, 1);
	check_text("profile.timezone", p->timezone, sizeof p->timezone, 1);
	check_text("profile.languages", p->languages, sizeof p->languages, 1);
	if (p->country[0] != '\0' && (strlen(p->country) != 2 ||
	    p->country[0] < 'A' || p->country[0] > 'Z' ||
	    p->country[1] < 'A' || p->country[1] > 'Z'))
		broken("profile.country '%s'", p->country);
	if (memchr(p->alternate, '\0', sizeof p->alternate) == NULL ||
	    (p->alternate[0] != '\0' && !hl_handle_valid(p->alternate)))
		broken("profile.alternate is not a handle");
}

static void
check_signed_prekey(const struct hl_store_signed_prekey *s)
{
	if (s->id > HL_STORE_PREKEY_ID_MAX || s->key[0] != 0x05)
		broken("signed prekey %u out of range or not a key", s->id);
}

static void
check_prekeys(const struct hl_store_prekey *k, size_t n)
{
	if (n < 1 || n > limits.max_prekeys_per_upload || k == NULL)
		broken("%zu prekeys", n);
	for (size_t i = 0; i < n; i++) {
		if (k[i].id < 1 || k[i].id > HL_STORE_PREKEY_ID_MAX ||
		    k[i].key[0] != 0x05)
			broken("prekey %zu: id %u or key out of range", i, k[i].id);
		for (size_t j = 0; j < i; j++)
			if (k[j].id == k[i].id)
				broken("prekey id %u twice", k[i].id);
	}
}

static void
fuzz_registration(const char *body, size_t len)
{
	struct hl_store_registration reg;
	char cause[HL_CAUSE_MAX] = "";
	memset(&reg, 0xa5, sizeof reg);
	int rc = hl_request_parse_registration(body, len, &limits, &reg, cause);
	if (rc != 0) {
		check_failure("registration", rc, cause);
		if (!all_zero(&reg, sizeof reg))
			broken("registration: not cleared on failure");
		return;
	}
	if (!hl_handle_valid(reg.handle) || reg.identity_key[0] != 0x05 ||
	    reg.registration_id < 1 ||
	    reg.registration_id > HL_STORE_REGISTRATION_ID_MAX ||
	    reg.device_id != 1)
		broken("registration: handle, key or ids out of range");
	check_signed_prekey(&reg.signed_prekey);
	check_prekeys(reg.prekeys, reg.nprekeys);
	check_profile(&reg.profile);
	hl_request_registration_clear(&reg);
}

static void
fuzz_keys(const char *body, size_t len)
{
	struct hl_store_keys keys;
	char cause[HL_CAUSE_MAX] = "";
	memset(&keys, 0xa5, sizeof keys);
	int rc = hl_request_parse_keys(body, len, &limits, &keys, cause);
	if (rc != 0) {
		check_failure("keys", rc, cause);
		if (!all_zero(&keys, sizeof keys))
			broken("keys: not cleared on failure");
		return;
	}
	if (keys.nprekeys == 0 && !keys.has_signed_prekey)
		broken("keys: success with nothing in it");
	if (keys.nprekeys > 0)
		check_prekeys(keys.prekeys, keys.nprekeys);
	if (keys.has_signed_prekey)
		check_signed_prekey(&keys.signed_prekey);
	hl_request_keys_clear(&keys);
}

static void
fuzz_profile(const char *body, size_t len)
{
	struct hl_store_profile p;
	char cause[HL_CAUSE_MAX] = "";
	memset(&p, 0xa5, sizeof p);
	int rc = hl_request_parse_profile(body, len, &p, cause);
	if (rc != 0) {
		check_failure("profile", rc, cause);
		return;
	}
	check_profile(&p);
}

static void
fuzz_message(const char *body, size_t len)
{
	struct hl_request_message m;
	char cause[HL_CAUSE_MAX] = "";
	memset(&m, 0xa5, sizeof m);
	int rc = hl_request_parse_message(body, len, &limits, &m, cause);
	if (rc != 0) {
		check_failure("message", rc, cause);
		if (!all_zero(&m, sizeof m))
			broken("message: not cleared on failure");
		return;
	}
	if (!hl_handle_valid(m.to) || !hl_is_lowerhex(m.id, HL_STORE_ID_HEX) ||
	    (m.type != 2 && m.type != 3))
		broken("message: recipient, id or type out of range");
	if (m.body == NULL || m.body_len > limits.max_message_bytes)
		broken("message: body of %zu bytes", m.body_len);
	hl_request_message_clear(&m);
}

static void
fuzz_ack(const char *body, size_t len)
{
	int64_t *qids = (int64_t *)&len;
	size_t n = 1;
	char cause[HL_CAUSE_MAX] = "";
	int rc = hl_request_parse_ack(body, len, &limits, &qids, &n, cause);
	if (rc != 0) {
		check_failure("ack", rc, cause);
		if (qids != NULL || n != 0)
			broken("ack: output left set on failure");
		return;
	}
	if (qids == NULL || n < 1 || n > limits.max_fetch)
		broken("ack: %zu queue ids", n);
	for (size_t i = 0; i < n; i++)
		if (qids[i] < 1)
			broken("ack: queue id %lld", (long long)qids[i]);
	free(qids);
}

static void
fuzz_query(const char *value)
{
	char cause[HL_CAUSE_MAX] = "";
	int64_t v = -1;
	int rc = hl_request_parse_int("limit", value, 1, 1000, &v, cause);
	if (rc != 0)
		check_failure("int", rc, cause);
	else if (v < 1 || v > 1000)
		broken("int: %lld outside [1, 1000]", (long long)v);
	rc = hl_request_parse_search(value, cause);
	if (rc != 0)
		check_failure("search", rc, cause);
	else if (strlen(value) > HL_REQUEST_SEARCH_MAX ||
	    !hl_request_text_ok(value, strlen(value)))
		broken("search: accepted text it should refuse");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t len = size - 1;
	/* A copy of exactly the body, terminated: the parsers take a length,
	 * the query values a C string. */
	char *body = malloc(len + 1);
	if (body == NULL)
		return 0;
	memcpy(body, data + 1, len);
	body[len] = '\0';
	input = body;
	input_len = len;
	switch (data[0]) {
	case 'r': fuzz_registration(body, len); break;
	case 'k': fuzz_keys(body, len); break;
	case 'p': fuzz_profile(body, len); break;
	case 'm': fuzz_message(body, len); break;
	case 'a': fuzz_ack(body, len); break;
	case 'i':
	case 's': fuzz_query(body); break;
	default:
		switch (data[0] % 6) {
		case 0: fuzz_registration(body, len); break;
		case 1: fuzz_keys(body, len); break;
		case 2: fuzz_profile(body, len); break;
		case 3: fuzz_message(body, len); break;
		case 4: fuzz_ack(body, len); break;
		default: fuzz_query(body); break;
		}
	}
	free(body);
	return 0;
}
