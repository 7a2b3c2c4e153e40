/*
 * hl_content_decode on hostile bytes, twice per input: as received (the
 * padding rules), and padded here (0x80, then zeros to the next block) so
 * that any text reaches the JSON reader and the seed files stay readable.
 *
 * Properties:
 *   - a failure returns one of the documented codes, leaves the struct
 *     zeroed, and writes a cause of printable ASCII only (a peer's value
 *     must never reach the terminal raw);
 *   - a success is valid (hl_content_validate), encodes, and decodes again
 *     to an equal struct; encoding that again gives the same bytes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hl_content.h"
#include "crypto/hl_err.h"
#include "tests/fuzz/fuzz.h"

__attribute__((format(printf, 1, 2), noreturn)) static void
broken(const char *fmt, ...)
{
	va_list ap;
	fputs("fuzz_content: property broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static int
documented_failure(int rc)
{
	switch (rc) {
	case HL_ECONTENT_PADDING:
	case HL_ECONTENT_JSON:
	case HL_ECONTENT_VERSION:
	case HL_ECONTENT_MISSING:
	case HL_ECONTENT_TYPE:
	case HL_ECONTENT_VALUE:
	case HL_ECONTENT_KIND:
	case HL_ECONTENT_ID:
	case HL_ECONTENT_SIZE:
	case HL_ECONTENT_UNKNOWN:
	case HL_ENOMEM:
		return 1;
	default:
		return 0;
	}
}

static void
check_cause(const char *cause, int rc)
{
	const char *end = memchr(cause, '\0', HL_CAUSE_MAX);
	if (end == NULL)
		broken("cause of %s is not terminated", hl_strerror(rc));
	if (end == cause)
		broken("no cause given for %s", hl_strerror(rc));
	for (const char *p = cause; p < end; p++)
		if (*p < 0x20 || *p > 0x7e)
			broken("cause holds byte 0x%02x: %s", (unsigned char)*p,
			    cause);
}

static int
text_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
list_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (!text_eq(a[i], b[i]))
			return 0;
	return 1;
}

static int
incident_eq(const struct hl_incident *a, const struct hl_incident *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return text_eq(a->title, b->title) && a->severity == b->severity &&
	    a->tlp == b->tlp && text_eq(a->status, b->status) &&
	    list_eq(a->indicators, a->n_indicators, b->indicators,
	    b->n_indicators) &&
	    list_eq(a->actions, a->n_actions, b->actions, b->n_actions);
}

/* Names the first field that differs, or returns NULL. */
static const char *
content_diff(const struct hl_content *a, const struct hl_content *b)
{
	if (a->v != b->v)
		return "v";
	if (strcmp(a->id, b->id) != 0)
		return "id";
	if (a->kind != b->kind)
		return "kind";
	if (strcmp(a->from, b->from) != 0)
		return "from";
	if (a->sent != b->sent)
		return "sent";
	if (a->prio != b->prio)
		return "prio";
	if (a->seq != b->seq)
		return "seq";
	if (a->ack_by != b->ack_by)
		return "ack_by";
	if (strcmp(a->thread, b->thread) != 0)
		return "thread";
	if (strcmp(a->ref, b->ref) != 0)
		return "ref";
	if (a->response != b->response)
		return "response";
	if (!text_eq(a->body, b->body))
		return "body";
	if (!incident_eq(a->incident, b->incident))
		return "incident";
	return NULL;
}

static void
round_trip(const struct hl_content *c)
{
	char cause[HL_CAUSE_MAX] = "";
	uint8_t *enc = NULL, *enc2 = NULL;
	size_t len = 0, len2 = 0;
	struct hl_content again;

	int rc = hl_content_validate(c, cause);
	if (rc != 0)
		broken("decoded content fails validation: %s (%s)",
		    hl_strerror(rc), cause);
	rc = hl_content_encode(c, &enc, &len, cause);
	if (rc != 0)
		broken("decoded content does not encode: %s (%s)",
		    hl_strerror(rc), cause);
	if (len == 0 || len % HL_CONTENT_BLOCK != 0 ||
	    len > HL_CONTENT_MAX_PADDED)
		broken("encoded length %zu is not a padded length", len);
	rc = hl_content_decode(enc, len, &again, cause);
	if (rc != 0)
		broken("encoded content does not decode: %s (%s)",
		    hl_strerror(rc), cause);
	const char *diff = content_diff(c, &again);
	if (diff != NULL)
		broken("field '%s' changes in a round trip", diff);
	rc = hl_content_encode(&again, &enc2, &len2, cause);
	if (rc != 0 || len2 != len || memcmp(enc, enc2, len) != 0)
		broken("encoding is not stable: %s, %zu then %zu bytes",
		    hl_strerror(rc), len, len2);
	hl_content_free_bytes(enc, len);
	hl_content_free_bytes(enc2, len2);
	hl_content_clear(&again);
}

static void
decode_one(const uint8_t *in, size_t len)
{
	static const struct hl_content zero;
	struct hl_content c;
	char cause[HL_CAUSE_MAX];
	/* Garbage first: the decoder must not read what was there, and must
	 * leave a cleared struct behind on failure. */
	memset(&c, 0xa5, sizeof c);
	memset(cause, 0xa5, sizeof cause);
	int rc = hl_content_decode(in, len, &c, cause);
	if (rc == 0) {
		round_trip(&c);
		hl_content_clear(&c);
		return;
	}
	if (!documented_failure(rc))
		broken("undocumented failure %d (%s)", rc, hl_strerror(rc));
	check_cause(cause, rc);
	if (memcmp(&c, &zero, sizeof c) != 0)
		broken("struct not cleared after %s", hl_strerror(rc));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_one(data, size);
	if (size >= HL_CONTENT_MAX_PADDED)
		return 0;
	size_t padded = (size / HL_CONTENT_BLOCK + 1) * HL_CONTENT_BLOCK;
	uint8_t *buf = calloc(1, padded);
	if (buf == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	buf[size] = 0x80;
	decode_one(buf, padded);
	free(buf);
	return 0;
}
