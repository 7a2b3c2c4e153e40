/*
 * Our keys: the identity, one-time prekeys and signed prekeys, generated
 * with libsignal's key helper and kept sealed through the stores.
 */
#include "crypto/hl_crypto_int.h"
#include "crypto/hl_db.h"
#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <curve.h>
#include <key_helper.h>
#include <ratchet.h>
#include <session_pre_key.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PREKEY_ID_MAX 0xFFFFFEu   /* libsignal's medium id range */
#define REPLACED_PREFIX "signed_prekey_replaced:"
#define PREKEYS_PER_CALL_MAX 1000

static int
meta_get(struct hl_crypto *c, const char *name, int64_t *value)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT value FROM crypto_meta WHERE name = ?",
	    -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return HL_EDB;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	int rc = 0;
	if (step == SQLITE_ROW)
		*value = sqlite3_column_int64(st, 0);
	else
		rc = step == SQLITE_DONE ? HL_ENOTFOUND : HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

static int
meta_set(struct hl_crypto *c, const char *name, int64_t value)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO crypto_meta"
	    " (name, value) VALUES (?, ?)", -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return HL_EDB;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

static uint32_t
next_id(uint32_t id)
{
	return id >= PREKEY_ID_MAX ? 1 : id + 1;
}

/* Generates n prekeys from the stored counter, stores them, and returns
 * their public halves when out is not NULL. Runs inside the caller's
 * savepoint. */
static int
generate_prekeys(struct hl_crypto *c, uint32_t n, struct hl_prekey_pub *out)
{
	int64_t start;
	signal_protocol_key_helper_pre_key_list_node *head = NULL;
	int rc = meta_get(c, "next_prekey_id", &start);
	if (rc == HL_ENOTFOUND) {
		start = 1;
		rc = 0;
	}
	if (rc != 0)
		return rc;
	if (start < 1 || start > PREKEY_ID_MAX)
		start = 1;
	if (signal_protocol_key_helper_generate_pre_keys(&head, (unsigned)start,
	    n, c->gctx) < 0)
		return HL_ECRYPTO;
	uint32_t last = (uint32_t)start, i = 0;
	for (signal_protocol_key_helper_pre_key_list_node *node = head;
	    node != NULL && rc == 0;
	    node = signal_protocol_key_helper_key_list_next(node), i++) {
		session_pre_key *pk = signal_protocol_key_helper_key_list_element(node);
		c->store_err = 0;
		if (signal_protocol_pre_key_store_key(c->sctx, pk) < 0) {
			rc = c->store_err ? c->store_err : HL_EDB;
			break;
		}
		last = session_pre_key_get_id(pk);
		if (out != NULL) {
			out[i].id = last;
			rc = hl_pubkey_bytes(ec_key_pair_get_public(
			    session_pre_key_get_key_pair(pk)), out[i].key);
		}
	}
	signal_protocol_key_helper_key_list_free(head);
	if (rc == 0 && i != n)
		rc = HL_ECRYPTO;
	if (rc == 0)
		rc = meta_set(c, "next_prekey_id", next_id(last));
	return rc;
}

static int
make_signed_prekey(struct hl_crypto *c, uint32_t id,
    struct hl_signed_prekey_pub *out)
{
	ratchet_identity_key_pair *ikp = NULL;
	session_signed_pre_key *spk = NULL;
	int64_t now = hl_now_ms();
	int rc;

	c->store_err = 0;
	if (signal_protocol_identity_get_key_pair(c->sctx, &ikp) < 0)
		return c->store_err ? c->store_err : HL_ECRYPTO;
	if (signal_protocol_key_helper_generate_signed_pre_key(&spk, ikp, id,
	    (uint64_t)now, c->gctx) < 0) {
		SIGNAL_UNREF(ikp);
		return HL_ECRYPTO;
	}
	SIGNAL_UNREF(ikp);
	int64_t old;
	rc = meta_get(c, "signed_prekey_current", &old);
	if (rc == HL_ENOTFOUND) {
		old = -1;
		rc = 0;
	}
	/* The time the old one stopped being handed out: messages built on it
	 * may arrive until the relay's retention ends after that. */
	if (rc == 0 && old >= 0 && old != (int64_t)id) {
		char name[64];
		snprintf(name, sizeof name, REPLACED_PREFIX "%lld", (long long)old);
		rc = meta_set(c, name, now);
	}
	if (rc == 0 && signal_protocol_signed_pre_key_store_key(c->sctx, spk) < 0)
		rc = c->store_err ? c->store_err : HL_EDB;
	if (rc == 0)
		rc = meta_set(c, "signed_prekey_current", id);
	if (rc == 0)
		rc = meta_set(c, "next_signed_prekey_id", next_id(id));
	if (rc == 0 && session_signed_pre_key_get_signature_len(spk) != HL_SIG_LEN)
		rc = HL_ECRYPTO;
	if (rc == 0 && out != NULL) {
		out->id = id;
		out->created_ms = now;
		memcpy(out->signature, session_signed_pre_key_get_signature(spk),
		    HL_SIG_LEN);
		rc = hl_pubkey_bytes(ec_key_pair_get_public(
		    session_signed_pre_key_get_key_pair(spk)), out->key);
	}
	SIGNAL_UNREF(spk);
	return rc;
}

static int
finish(struct hl_crypto *c, int rc)
{
	if (rc < 0) {
		hl_db_rollback_to(c->db, HL_SAVEPOINT);
		return rc;
	}
	return hl_db_release(c->db, HL_SAVEPOINT);
}

static int
serialize_key(const void *key, int is_private, uint8_t *out, size_t want)
{
	signal_buffer *b = NULL;
	int r = is_private ? ec_private_key_serialize(&b, key) :
	    ec_public_key_serialize(&b, key);
	if (r < 0)
		return HL_ECRYPTO;
	int rc = signal_buffer_len(b) == want ? 0 : HL_ECRYPTO;
	if (rc == 0)
		memcpy(out, signal_buffer_data(b), want);
	signal_buffer_bzero_free(b);
	return rc;
}

int
hl_identity_create(struct hl_crypto *c, const char *handle,
    uint32_t n_prekeys, char *cause)
{
	ratchet_identity_key_pair *ikp = NULL;
	uint32_t reg_id;
	uint8_t rec[5 + HL_HANDLE_MAX + HL_KEY_LEN + HL_PRIV_LEN];
	static const uint8_t key[1] = { 1 };

	if (!hl_handle_valid(handle))
		return hl_fail(cause, HL_EINVAL, "invalid handle '%s'", handle);
	if (n_prekeys < 1 || n_prekeys > PREKEYS_PER_CALL_MAX)
		return hl_fail(cause, HL_EINVAL, "prekey count must be 1..%d",
		    PREKEYS_PER_CALL_MAX);
	if (c->has_identity)
		return hl_fail(cause, HL_EEXIST, "an identity exists already (%s)",
		    c->handle);
	if (signal_protocol_key_helper_generate_identity_key_pair(&ikp, c->gctx) < 0 ||
	    signal_protocol_key_helper_generate_registration_id(&reg_id, 0,
	    c->gctx) < 0) {
		SIGNAL_UNREF(ikp);
		return hl_fail(cause, HL_ECRYPTO, "key generation failed");
	}
	size_t hlen = strlen(handle);
	rec[0] = (uint8_t)(reg_id >> 24);
	rec[1] = (uint8_t)(reg_id >> 16);
	rec[2] = (uint8_t)(reg_id >> 8);
	rec[3] = (uint8_t)reg_id;
	rec[4] = (uint8_t)hlen;
	memcpy(rec + 5, handle, hlen);
	int rc = serialize_key(ratchet_identity_key_pair_get_public(ikp), 0,
	    rec + 5 + hlen, HL_KEY_LEN);
	if (rc == 0)
		rc = serialize_key(ratchet_identity_key_pair_get_private(ikp), 1,
		    rec + 5 + hlen + HL_KEY_LEN, HL_PRIV_LEN);
	SIGNAL_UNREF(ikp);
	size_t reclen = 5 + hlen + HL_KEY_LEN + HL_PRIV_LEN;
	if (rc != 0) {
		sodium_memzero(rec, sizeof rec);
		return hl_fail(cause, rc, "key serialisation failed");
	}

	rc = hl_db_savepoint(c->db, HL_SAVEPOINT);
	if (rc != 0) {
		sodium_memzero(rec, sizeof rec);
		return hl_fail(cause, rc, "database busy");
	}
	rc = hl_row_put(c, HL_T_LOCAL, key, sizeof key, rec, reclen);
	if (rc == 0) {
		/* The stores serve the new identity from here on. */
		c->registration_id = reg_id;
		memcpy(c->handle, handle, hlen + 1);
		memcpy(c->pub, rec + 5 + hlen, HL_KEY_LEN);
		memcpy(c->priv, rec + 5 + hlen + HL_KEY_LEN, HL_PRIV_LEN);
		c->has_identity = 1;
		rc = make_signed_prekey(c, 1, NULL);
	}
	sodium_memzero(rec, sizeof rec);
	if (rc == 0)
		rc = generate_prekeys(c, n_prekeys, NULL);
	rc = finish(c, rc);
	if (rc != 0) {
		c->has_identity = 0;
		sodium_memzero(c->priv, HL_PRIV_LEN);
		return hl_fail(cause, rc, "storing the identity: %s", hl_strerror(rc));
	}
	return 0;
}

int
hl_identity_exists(struct hl_crypto *c)
{
	return c->has_identity;
}

const char *
hl_identity_handle(struct hl_crypto *c)
{
	return c->has_identity ? c->handle : NULL;
}

int
hl_identity_public(struct hl_crypto *c, struct hl_bundle *out)
{
	int64_t cur;
	session_signed_pre_key *spk = NULL;
	memset(out, 0, sizeof *out);
	if (!c->has_identity)
		return HL_ENOIDENTITY;
	int rc = meta_get(c, "signed_prekey_current", &cur);
	if (rc != 0)
		return rc;
	c->store_err = 0;
	if (signal_protocol_signed_pre_key_load_key(c->sctx, &spk,
	    (uint32_t)cur) < 0)
		return c->store_err ? c->store_err : HL_ENOTFOUND;
	out->registration_id = c->registration_id;
	out->device_id = HL_DEVICE_ID;
	memcpy(out->identity_key, c->pub, HL_KEY_LEN);
	out->signed_prekey.id = session_signed_pre_key_get_id(spk);
	out->signed_prekey.created_ms =
	    (int64_t)session_signed_pre_key_get_timestamp(spk);
	if (session_signed_pre_key_get_signature_len(spk) != HL_SIG_LEN)
		rc = HL_ECRYPTO;
	else
		memcpy(out->signed_prekey.signature,
		    session_signed_pre_key_get_signature(spk), HL_SIG_LEN);
	if (rc == 0)
		rc = hl_pubkey_bytes(ec_key_pair_get_public(
		    session_signed_pre_key_get_key_pair(spk)), out->signed_prekey.key);
	SIGNAL_UNREF(spk);
	return rc;
}

int
hl_prekeys_public(struct hl_crypto *c, struct hl_prekey_pub **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0, count = 0;
	struct hl_prekey_pub *list = NULL;
	int rc = 0, step;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(c->db, "SELECT k, v FROM " HL_T_PREKEYS " ORDER BY k",
	    -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return HL_EDB;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *k = sqlite3_column_blob(st, 0);
		uint8_t *pt;
		size_t ptlen;
		session_pre_key *pk = NULL;
		if (sqlite3_column_bytes(st, 0) != 4) {
			rc = HL_EVAULT;
			break;
		}
		rc = hl_vault_open(c->vault, HL_T_PREKEYS, k, 4,
		    sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
		    &pt, &ptlen);
		if (rc != 0)
			break;
		if (session_pre_key_deserialize(&pk, pt, ptlen, c->gctx) < 0)
			rc = HL_EVAULT;
		hl_vault_free_plain(pt, ptlen);
		if (rc != 0)
			break;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct hl_prekey_pub *nl = realloc(list, ncap * sizeof *nl);
			if (nl == NULL) {
				SIGNAL_UNREF(pk);
				rc = HL_ENOMEM;
				break;
			}
			list = nl;
			cap = ncap;
		}
		list[count].id = session_pre_key_get_id(pk);
		rc = hl_pubkey_bytes(ec_key_pair_get_public(
		    session_pre_key_get_key_pair(pk)), list[count].key);
		SIGNAL_UNREF(pk);
		if (rc != 0)
			break;
		count++;
	}
	sqlite3_finalize(st);
	if (rc == 0 && step != SQLITE_DONE)
		rc = HL_EDB;
	if (rc != 0) {
		free(list);
		return rc;
	}
	*out = list;
	*n = count;
	return 0;
}

int
hl_prekeys_generate(struct hl_crypto *c, uint32_t n, struct hl_prekey_pub **out,
    size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (!c->has_identity)
		return HL_ENOIDENTITY;
	if (n < 1 || n > PREKEYS_PER_CALL_MAX)
		return HL_EINVAL;
	struct hl_prekey_pub *list = calloc(n, sizeof *list);
	if (list == NULL)
		return HL_ENOMEM;
	int rc = hl_db_savepoint(c->db, HL_SAVEPOINT);
	if (rc == 0)
		rc = finish(c, generate_prekeys(c, n, list));
	if (rc != 0) {
		free(list);
		return rc;
	}
	*out = list;
	*nout = n;
	return 0;
}

/* Removes the signed prekeys replaced before before_ms. Runs inside the
 * caller's savepoint. */
static int
prune_signed_prekeys(struct hl_crypto *c, int64_t before_ms)
{
	sqlite3_stmt *st = NULL;
	uint32_t ids[64];
	size_t n = 0;
	if (sqlite3_prepare_v2(c->db, "SELECT name FROM crypto_meta WHERE"
	    " substr(name, 1, ?) = ? AND value < ? LIMIT 64", -1, &st,
	    NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return HL_EDB;
	}
	sqlite3_bind_int(st, 1, (int)strlen(REPLACED_PREFIX));
	sqlite3_bind_text(st, 2, REPLACED_PREFIX, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, before_ms);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW && n < 64) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		char *end;
		unsigned long id = strtoul(name + strlen(REPLACED_PREFIX), &end, 10);
		if (*end == '\0' && id <= PREKEY_ID_MAX)
			ids[n++] = (uint32_t)id;
	}
	sqlite3_finalize(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return HL_EDB;
	for (size_t i = 0; i < n; i++) {
		uint8_t k[4];
		char name[64];
		hl_u32_key(ids[i], k);
		int rc = hl_row_del(c, HL_T_SIGNED, k, sizeof k);
		if (rc < 0)
			return rc;
		snprintf(name, sizeof name, REPLACED_PREFIX "%u", ids[i]);
		if (sqlite3_prepare_v2(c->db, "DELETE FROM crypto_meta WHERE name = ?",
		    -1, &st, NULL) != SQLITE_OK) {
			sqlite3_finalize(st);
			return HL_EDB;
		}
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
		sqlite3_finalize(st);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
hl_signed_prekeys_prune(struct hl_crypto *c, int64_t replaced_before_ms)
{
	int rc = hl_db_savepoint(c->db, HL_SAVEPOINT);
	if (rc != 0)
		return rc;
	return finish(c, prune_signed_prekeys(c, replaced_before_ms));
}

int
hl_signed_prekey_rotate(struct hl_crypto *c, struct hl_signed_prekey_pub *out)
{
	int64_t id;
	if (!c->has_identity)
		return HL_ENOIDENTITY;
	int rc = hl_db_savepoint(c->db, HL_SAVEPOINT);
	if (rc != 0)
		return rc;
	rc = meta_get(c, "next_signed_prekey_id", &id);
	if (rc == 0 && (id < 1 || id > PREKEY_ID_MAX))
		id = 1;
	if (rc == 0)
		rc = make_signed_prekey(c, (uint32_t)id, out);
	if (rc == 0)
		rc = prune_signed_prekeys(c, hl_now_ms() - HL_SIGNED_PREKEY_KEEP_MS);
	return finish(c, rc);
}
