/*
 * Safety numbers: libsignal's displayable fingerprint of our identity and a
 * contact's, with the handles as stable identifiers, so both sides compute
 * the same 60 digits.
 */
#include "crypto/hl_crypto_int.h"
#include "crypto/hl_err.h"

#include <curve.h>
#include <fingerprint.h>
#include <string.h>

/* Every client must use the same count, or the numbers never match. */
#define FINGERPRINT_ITERATIONS 5200

int
hl_safety_number(struct hl_crypto *c, const char *handle, int pending,
    char *out)
{
	struct hl_identity_info info;
	ec_public_key *local = NULL, *remote = NULL;
	fingerprint_generator *gen = NULL;
	fingerprint *fp = NULL;
	out[0] = '\0';
	if (!c->has_identity)
		return HL_ENOIDENTITY;
	int rc = hl_identity_info(c, handle, &info);
	if (rc != 0)
		return rc;
	const uint8_t *key = pending ? info.pending : info.key;
	if (pending ? !info.has_pending : !info.has_key)
		return HL_ENOTFOUND;
	if (curve_decode_point(&local, c->pub, HL_KEY_LEN, c->gctx) < 0 ||
	    curve_decode_point(&remote, key, HL_KEY_LEN, c->gctx) < 0 ||
	    fingerprint_generator_create(&gen, FINGERPRINT_ITERATIONS, 1,
	    c->gctx) < 0 ||
	    fingerprint_generator_create_for(gen, c->handle, local, handle, remote,
	    &fp) < 0) {
		rc = HL_ECRYPTO;
	} else {
		const char *text = displayable_fingerprint_text(
		    fingerprint_get_displayable(fp));
		if (text == NULL || strlen(text) != HL_SAFETY_LEN)
			rc = HL_ECRYPTO;
		else
			memcpy(out, text, HL_SAFETY_LEN + 1);
	}
	SIGNAL_UNREF(fp);
	fingerprint_generator_free(gen);
	SIGNAL_UNREF(local);
	SIGNAL_UNREF(remote);
	return rc;
}
