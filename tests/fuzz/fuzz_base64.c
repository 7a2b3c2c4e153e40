/*
 * hl_b64_decode and hl_b64_decode_exact on a NUL-terminated copy of the
 * input (as callers hold base64 from JSON strings).
 *
 * Properties:
 *   - a failure is HL_EPARSE or HL_ETOOBIG (HL_ENOMEM aside) with *out NULL
 *     and *outlen 0;
 *   - a success re-encodes to exactly the input: strict base64 has one
 *     spelling per byte string;
 *   - the limit is exact: the same text with max one below its length is
 *     HL_ETOOBIG; hl_b64_decode_exact accepts exactly that length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"
#include "tests/fuzz/fuzz.h"

#define EXACT_MAX 4096 /* largest "want" tried with hl_b64_decode_exact */

__attribute__((noreturn)) static void
broken(const char *what, int rc)
{
	fprintf(stderr, "fuzz_base64: property broken: %s (%d: %s)\n", what,
	    rc, hl_strerror(rc));
	abort();
}

static void
check_exact(const char *text, const uint8_t *want, size_t n)
{
	char cause[HL_CAUSE_MAX];
	uint8_t *buf = malloc(n + 1);
	if (buf == NULL)
		return;
	int rc = hl_b64_decode_exact(text, buf, n, cause);
	if (rc != 0 || memcmp(buf, want, n) != 0)
		broken("decode_exact refuses the decoded length", rc);
	rc = hl_b64_decode_exact(text, buf, n + 1, cause);
	if (rc != HL_EPARSE)
		broken("decode_exact accepts one byte more", rc);
	if (n > 0) {
		rc = hl_b64_decode_exact(text, buf, n - 1, cause);
		if (rc != HL_EPARSE)
			broken("decode_exact accepts one byte less", rc);
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char cause[HL_CAUSE_MAX];
	uint8_t *out = (uint8_t *)&cause, *small = (uint8_t *)&cause;
	size_t outlen = 1, smalllen = 1;
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	if (size > 0)
		memcpy(text, data, size);
	text[size] = '\0';

	/* A limit of the input's own length can never be the reason to fail. */
	int rc = hl_b64_decode(text, size, size, &out, &outlen, cause);
	if (rc != 0) {
		if (rc != HL_EPARSE && rc != HL_ENOMEM)
			broken("unexpected failure", rc);
		if (out != NULL || outlen != 0)
			broken("output left set on failure", rc);
		free(text);
		return 0;
	}
	if (out == NULL || outlen > size)
		broken("success without a plausible output", rc);

	char *again = hl_b64_encode(out, outlen);
	if (again != NULL && (strlen(again) != size ||
	    memcmp(again, text, size) != 0))
		broken("decoded bytes re-encode differently", rc);
	free(again);

	if (outlen > 0) {
		rc = hl_b64_decode(text, size, outlen - 1, &small, &smalllen,
		    cause);
		if (rc != HL_ETOOBIG || small != NULL || smalllen != 0)
			broken("limit one below the length is not HL_ETOOBIG",
			    rc);
	}
	if (outlen < EXACT_MAX && strlen(text) == size)
		check_exact(text, out, outlen);
	free(out);
	free(text);
	return 0;
}
