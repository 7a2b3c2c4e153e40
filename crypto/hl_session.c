/*
 * Sessions: start from a bundle, encrypt, decrypt. Every libsignal object
 * is unref'd on every path; every state change runs in a savepoint.
 */
#include "crypto/hl_crypto_int.h"
#include "crypto/hl_db.h"
#include "crypto/hl_err.h"

#include <curve.h>
#include <protocol.h>
#include <session_builder.h>
#include <session_cipher.h>
#include <session_pre_key.h>
#include <session_record.h>
#include <session_state.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* The largest ciphertext we hand to libsignal: a padded content of 64 KiB
 * plus the protocol's framing. */
#define CIPHERTEXT_MAX (65536 + 1024)

static int
check_handle(const char *handle, char *cause)
{
	if (!hl_handle_valid(handle))
		return hl_fail(cause, HL_EINVAL, "invalid handle");
	return 0;
}

static signal_protocol_address
address_of(const char *handle)
{
	signal_protocol_address a = {
		.name = handle,
		.name_len = strlen(handle),
		.device_id = HL_DEVICE_ID,
	};
	return a;
}

static int
decode_point(struct hl_crypto *c, const uint8_t *bytes, ec_public_key **out)
{
	return curve_decode_point(out, bytes, HL_KEY_LEN, c->gctx) < 0 ?
	    HL_EBUNDLE : 0;
}

int
hl_session_start(struct hl_crypto *c, const char *handle,
    const struct hl_bundle *b, char *cause)
{
	ec_public_key *ik = NULL, *spk = NULL, *opk = NULL;
	session_pre_key_bundle *bundle = NULL;
	session_builder *builder = NULL;
	int rc = check_handle(handle, cause);
	if (rc != 0)
		return rc;
	if (!c->has_identity)
		return hl_fail(cause, HL_ENOIDENTITY, "no local identity");
	if (b->device_id != HL_DEVICE_ID)
		return hl_fail(cause, HL_EBUNDLE, "bundle: device %u is not supported",
		    b->device_id);
	if (decode_point(c, b->identity_key, &ik) != 0 ||
	    decode_point(c, b->signed_prekey.key, &spk) != 0 ||
	    (b->has_prekey && decode_point(c, b->prekey.key, &opk) != 0)) {
		rc = hl_fail(cause, HL_EBUNDLE, "bundle: malformed public key");
		goto out;
	}
	if (session_pre_key_bundle_create(&bundle, b->registration_id,
	    (int)b->device_id, b->has_prekey ? b->prekey.id : 0, opk,
	    b->signed_prekey.id, spk, b->signed_prekey.signature, HL_SIG_LEN,
	    ik) < 0) {
		rc = hl_fail(cause, HL_EBUNDLE, "bundle: rejected");
		goto out;
	}
	signal_protocol_address addr = address_of(handle);
	if (session_builder_create(&builder, c->sctx, &addr, c->gctx) < 0) {
		rc = hl_fail(cause, HL_ENOMEM, "out of memory");
		goto out;
	}
	rc = hl_db_savepoint(c->db, HL_SAVEPOINT);
	if (rc != 0)
		goto out;
	c->store_err = 0;
	int sg = session_builder_process_pre_key_bundle(builder, bundle);
	if (sg < 0) {
		hl_db_rollback_to(c->db, HL_SAVEPOINT);
		if (sg == SG_ERR_UNTRUSTED_IDENTITY && c->store_err == 0) {
			rc = hl_identity_record_pending(c, handle, b->identity_key);
			rc = rc != 0 ? hl_fail(cause, rc, "%s", hl_strerror(rc)) :
			    hl_fail(cause, HL_EUNTRUSTED,
			    "%s's identity key has changed", handle);
		} else if (sg == SG_ERR_INVALID_KEY && c->store_err == 0) {
			rc = hl_fail(cause, HL_EBUNDLE,
			    "bundle: signed prekey signature does not verify");
		} else {
			rc = hl_signal_error(c, sg, cause);
		}
		goto out;
	}
	rc = hl_db_release(c->db, HL_SAVEPOINT);
out:
	session_builder_free(builder);
	SIGNAL_UNREF(bundle);
	SIGNAL_UNREF(ik);
	SIGNAL_UNREF(spk);
	SIGNAL_UNREF(opk);
	return rc;
}

int
hl_session_exists(struct hl_crypto *c, const char *handle)
{
	if (!hl_handle_valid(handle))
		return HL_EINVAL;
	signal_protocol_address addr = address_of(handle);
	c->store_err = 0;
	int r = signal_protocol_session_contains_session(c->sctx, &addr);
	if (c->store_err != 0)
		return c->store_err;
	return r == 1;
}

/* libsignal's encrypt never asks whether the peer is trusted: we check that
 * the session's remote identity is the key the officer accepted, and that
 * no changed key is waiting for a decision. */
static int
check_send_trust(struct hl_crypto *c, const char *handle, char *cause)
{
	struct hl_identity_info info;
	session_record *rec = NULL;
	uint8_t remote[HL_KEY_LEN];
	int rc = hl_identity_info(c, handle, &info);
	if (rc != 0)
		return hl_fail(cause, rc, "%s", hl_strerror(rc));
	if (info.trust == HL_TRUST_CHANGED)
		return hl_fail(cause, HL_EUNTRUSTED,
		    "%s's identity key has changed: compare safety numbers, then trust it",
		    handle);
	signal_protocol_address addr = address_of(handle);
	c->store_err = 0;
	int r = signal_protocol_session_load_session(c->sctx, &rec, &addr);
	if (r < 0)
		return hl_signal_error(c, r, cause);
	session_state *state = session_record_get_state(rec);
	ec_public_key *rk = state ? session_state_get_remote_identity_key(state) : NULL;
	if (rk == NULL || session_record_is_fresh(rec)) {
		SIGNAL_UNREF(rec);
		return hl_fail(cause, HL_ENOSESSION, "no session with %s", handle);
	}
	rc = hl_pubkey_bytes(rk, remote);
	SIGNAL_UNREF(rec);
	if (rc != 0)
		return hl_fail(cause, rc, "session: unreadable remote key");
	if (!info.has_key || sodium_memcmp(remote, info.key, HL_KEY_LEN) != 0)
		return hl_fail(cause, HL_EUNTRUSTED,
		    "the session with %s uses a key that was not accepted", handle);
	return 0;
}

int
hl_session_encrypt(struct hl_crypto *c, const char *handle, const uint8_t *pt,
    size_t ptlen, struct hl_ciphertext *out, char *cause)
{
	session_cipher *cipher = NULL;
	ciphertext_message *msg = NULL;
	memset(out, 0, sizeof *out);
	int rc = check_handle(handle, cause);
	if (rc != 0)
		return rc;
	if (!c->has_identity)
		return hl_fail(cause, HL_ENOIDENTITY, "no local identity");
	rc = hl_session_exists(c, handle);
	if (rc < 0)
		return hl_fail(cause, rc, "%s", hl_strerror(rc));
	if (rc == 0)
		return hl_fail(cause, HL_ENOSESSION, "no session with %s", handle);
	rc = check_send_trust(c, handle, cause);
	if (rc != 0)
		return rc;

	signal_protocol_address addr = address_of(handle);
	if (session_cipher_create(&cipher, c->sctx, &addr, c->gctx) < 0)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	rc = hl_db_savepoint(c->db, HL_SAVEPOINT);
	if (rc != 0) {
		session_cipher_free(cipher);
		return hl_fail(cause, rc, "database busy");
	}
	c->store_err = 0;
	int sg = session_cipher_encrypt(cipher, pt, ptlen, &msg);
	if (sg < 0) {
		rc = hl_signal_error(c, sg, cause);
		goto fail;
	}
	signal_buffer *ser = ciphertext_message_get_serialized(msg);
	out->type = ciphertext_message_get_type(msg) == CIPHERTEXT_PREKEY_TYPE ?
	    HL_MSG_PREKEY : HL_MSG_SIGNAL;
	out->len = signal_buffer_len(ser);
	out->data = malloc(out->len);
	if (out->data == NULL) {
		rc = hl_fail(cause, HL_ENOMEM, "out of memory");
		goto fail;
	}
	memcpy(out->data, signal_buffer_data(ser), out->len);
	rc = hl_db_release(c->db, HL_SAVEPOINT);
	if (rc != 0) {
		hl_ciphertext_free(out);
		hl_fail(cause, rc, "database: %s", hl_strerror(rc));
	}
	SIGNAL_UNREF(msg);
	session_cipher_free(cipher);
	return rc;
fail:
	hl_db_rollback_to(c->db, HL_SAVEPOINT);
	free(out->data);
	memset(out, 0, sizeof *out);
	SIGNAL_UNREF(msg);
	session_cipher_free(cipher);
	return rc;
}

/* Decrypts a PreKey message. When its identity key is not trusted, copies
 * the key into untrusted_key and sets *untrusted, so the caller can record it
 * once the savepoint is rolled back. */
static int
decrypt_prekey(struct hl_crypto *c, session_cipher *cipher, const uint8_t *ct,
    size_t ctlen, signal_buffer **plain, int *untrusted,
    uint8_t untrusted_key[HL_KEY_LEN], char *cause)
{
	pre_key_signal_message *msg = NULL;
	if (pre_key_signal_message_deserialize(&msg, ct, ctlen, c->gctx) < 0)
		return hl_fail(cause, HL_ETAMPERED, "malformed PreKey message");
	c->store_err = 0;
	int sg = session_cipher_decrypt_pre_key_signal_message(cipher, msg, NULL,
	    plain);
	int rc = 0;
	if (sg == SG_ERR_UNTRUSTED_IDENTITY && c->store_err == 0) {
		rc = hl_pubkey_bytes(pre_key_signal_message_get_identity_key(msg),
		    untrusted_key);
		if (rc == 0) {
			*untrusted = 1;
			rc = HL_EUNTRUSTED;
		}
	} else if (sg < 0) {
		rc = hl_signal_error(c, sg, cause);
	}
	SIGNAL_UNREF(msg);
	return rc;
}

static int
decrypt_signal(struct hl_crypto *c, const char *handle, session_cipher *cipher,
    const uint8_t *ct, size_t ctlen, signal_buffer **plain, char *cause)
{
	signal_message *msg = NULL;
	if (signal_message_deserialize(&msg, ct, ctlen, c->gctx) < 0)
		return hl_fail(cause, HL_ETAMPERED, "malformed message");
	c->store_err = 0;
	int sg = session_cipher_decrypt_signal_message(cipher, msg, NULL, plain);
	int rc = 0;
	if (sg == SG_ERR_NO_SESSION && c->store_err == 0)
		rc = hl_fail(cause, HL_ENOSESSION, "no session with %s", handle);
	else if (sg < 0)
		rc = hl_signal_error(c, sg, cause);
	SIGNAL_UNREF(msg);
	return rc;
}

int
hl_session_decrypt(struct hl_crypto *c, const char *handle, int type,
    const uint8_t *ct, size_t ctlen, uint8_t **pt, size_t *ptlen, char *cause)
{
	session_cipher *cipher = NULL;
	signal_buffer *plain = NULL;
	*pt = NULL;
	*ptlen = 0;
	int rc = check_handle(handle, cause);
	if (rc != 0)
		return rc;
	if (!c->has_identity)
		return hl_fail(cause, HL_ENOIDENTITY, "no local identity");
	if (type != HL_MSG_PREKEY && type != HL_MSG_SIGNAL)
		return hl_fail(cause, HL_ETAMPERED, "unknown message type %d", type);
	if (ctlen == 0 || ctlen > CIPHERTEXT_MAX)
		return hl_fail(cause, HL_ETAMPERED, "ciphertext of %zu bytes", ctlen);

	signal_protocol_address addr = address_of(handle);
	if (session_cipher_create(&cipher, c->sctx, &addr, c->gctx) < 0)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	rc = hl_db_savepoint(c->db, HL_SAVEPOINT);
	if (rc != 0) {
		session_cipher_free(cipher);
		return hl_fail(cause, rc, "database busy");
	}
	int untrusted = 0;
	uint8_t new_key[HL_KEY_LEN];
	rc = type == HL_MSG_PREKEY ?
	    decrypt_prekey(c, cipher, ct, ctlen, &plain, &untrusted, new_key,
	    cause) :
	    decrypt_signal(c, handle, cipher, ct, ctlen, &plain, cause);
	session_cipher_free(cipher);
	if (untrusted) {
		/* Nothing of this message is kept but the key, so the officer
		 * can compare it and accept it; then the same bytes decrypt. */
		hl_db_rollback_to(c->db, HL_SAVEPOINT);
		rc = hl_identity_record_pending(c, handle, new_key);
		if (rc != 0)
			return hl_fail(cause, rc, "%s", hl_strerror(rc));
		return hl_fail(cause, HL_EUNTRUSTED,
		    "%s's identity key has changed", handle);
	}
	if (rc == 0) {
		size_t n = signal_buffer_len(plain);
		*pt = malloc(n + 1);
		if (*pt == NULL)
			rc = hl_fail(cause, HL_ENOMEM, "out of memory");
		else {
			memcpy(*pt, signal_buffer_data(plain), n);
			(*pt)[n] = '\0';
			*ptlen = n;
		}
		signal_buffer_bzero_free(plain);
	}
	if (rc == 0)
		rc = hl_db_release(c->db, HL_SAVEPOINT);
	if (rc != 0) {
		hl_db_rollback_to(c->db, HL_SAVEPOINT);
		hl_plaintext_free(*pt, *ptlen);
		*pt = NULL;
		*ptlen = 0;
	}
	return rc;
}

void
hl_ciphertext_free(struct hl_ciphertext *ct)
{
	if (ct == NULL)
		return;
	free(ct->data);
	memset(ct, 0, sizeof *ct);
}

void
hl_plaintext_free(uint8_t *pt, size_t len)
{
	if (pt == NULL)
		return;
	sodium_memzero(pt, len);
	free(pt);
}
