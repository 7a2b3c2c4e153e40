/*
 * Identities: ours (the key pair libsignal asks for) and our contacts'
 * (trust on first use, then a changed key is held as pending and blocks
 * sending until the officer accepts it), with a log of every key event.
 */
#include "crypto/hl_crypto_int.h"
#include "crypto/hl_db.h"
#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Sealed layout of an identity record (85 bytes): version 1, the trust of
 * the accepted key (none, unverified or verified: "changed" is not stored,
 * it is having a pending key), flags
 * (1 has_key, 2 has_pending), key (33), pending (33), first seen (8),
 * changed (8); integers big-endian. */
#define ID_REC_LEN (3 + 2 * HL_KEY_LEN + 16)
/* Sealed layout of a log entry (76 bytes): at (8), event, has_old, old
 * key (33), new key (33). */
#define LOG_REC_LEN (8 + 2 + 2 * HL_KEY_LEN)

static void
put64(uint8_t *p, int64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
}

static int64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

/* 1 and *info when known, 0 when not, < 0 on error. */
static int
id_load(struct hl_crypto *c, const char *name, size_t len,
    struct hl_identity_info *info)
{
	uint8_t k[HL_VAULT_INDEX_LEN];
	uint8_t *pt;
	size_t n;
	memset(info, 0, sizeof *info);
	hl_name_index(c, name, len, k);
	int rc = hl_row_get(c, HL_T_IDENTITIES, k, sizeof k, &pt, &n);
	if (rc <= 0)
		return rc;
	if (n != ID_REC_LEN || pt[0] != 1 || pt[1] > HL_TRUST_CHANGED) {
		hl_vault_free_plain(pt, n);
		return HL_EVAULT;
	}
	info->trust = (enum hl_trust)pt[1];
	info->has_key = (pt[2] & 1) != 0;
	info->has_pending = (pt[2] & 2) != 0;
	memcpy(info->key, pt + 3, HL_KEY_LEN);
	memcpy(info->pending, pt + 3 + HL_KEY_LEN, HL_KEY_LEN);
	info->first_seen_ms = get64(pt + 3 + 2 * HL_KEY_LEN);
	info->changed_ms = get64(pt + 3 + 2 * HL_KEY_LEN + 8);
	hl_vault_free_plain(pt, n);
	return 1;
}

static int
id_save(struct hl_crypto *c, const char *name, size_t len,
    const struct hl_identity_info *info)
{
	uint8_t k[HL_VAULT_INDEX_LEN];
	uint8_t rec[ID_REC_LEN];
	hl_name_index(c, name, len, k);
	rec[0] = 1;
	rec[1] = (uint8_t)info->trust;
	rec[2] = (uint8_t)((info->has_key ? 1 : 0) | (info->has_pending ? 2 : 0));
	memcpy(rec + 3, info->key, HL_KEY_LEN);
	memcpy(rec + 3 + HL_KEY_LEN, info->pending, HL_KEY_LEN);
	put64(rec + 3 + 2 * HL_KEY_LEN, info->first_seen_ms);
	put64(rec + 3 + 2 * HL_KEY_LEN + 8, info->changed_ms);
	return hl_row_put(c, HL_T_IDENTITIES, k, sizeof k, rec, sizeof rec);
}

static int
log_add(struct hl_crypto *c, const char *name, size_t len,
    enum hl_key_event ev, const uint8_t *old, const uint8_t *new_key)
{
	uint8_t idx[HL_VAULT_INDEX_LEN];
	uint8_t rec[LOG_REC_LEN];
	uint8_t *sealed;
	size_t slen;
	sqlite3_stmt *st = NULL;

	hl_name_index(c, name, len, idx);
	memset(rec, 0, sizeof rec);
	put64(rec, hl_now_ms());
	rec[8] = (uint8_t)ev;
	rec[9] = old != NULL;
	if (old != NULL)
		memcpy(rec + 10, old, HL_KEY_LEN);
	memcpy(rec + 10 + HL_KEY_LEN, new_key, HL_KEY_LEN);
	int rc = hl_vault_seal(c->vault, HL_T_KEYLOG, idx, sizeof idx, rec,
	    sizeof rec, &sealed, &slen);
	if (rc != 0)
		return rc;
	if (sqlite3_prepare_v2(c->db, "INSERT INTO " HL_T_KEYLOG
	    " (name_idx, v) VALUES (?, ?)", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, idx, sizeof idx, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, sealed, (int)slen, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	} else {
		rc = HL_EDB;
	}
	sqlite3_finalize(st);
	free(sealed);
	return rc;
}

/* --- libsignal's identity store --- */

static int
get_identity_key_pair(signal_buffer **public_data, signal_buffer **private_data,
    void *user_data)
{
	struct hl_crypto *c = user_data;
	if (!c->has_identity)
		return hl_store_failed(c, HL_ENOIDENTITY);
	/* libsignal frees the private buffer without wiping it; our own copy
	 * stays in locked memory and is wiped on close. */
	*public_data = signal_buffer_create(c->pub, HL_KEY_LEN);
	*private_data = signal_buffer_create(c->priv, HL_PRIV_LEN);
	if (*public_data == NULL || *private_data == NULL) {
		signal_buffer_free(*public_data);
		signal_buffer_bzero_free(*private_data);
		*public_data = *private_data = NULL;
		return SG_ERR_NOMEM;
	}
	return 0;
}

static int
get_local_registration_id(void *user_data, uint32_t *registration_id)
{
	struct hl_crypto *c = user_data;
	if (!c->has_identity)
		return hl_store_failed(c, HL_ENOIDENTITY);
	*registration_id = c->registration_id;
	return 0;
}

static int
save_identity(const signal_protocol_address *address, uint8_t *key_data,
    size_t key_len, void *user_data)
{
	struct hl_crypto *c = user_data;
	struct hl_identity_info info;
	const char *name = address->name;
	size_t len = address->name_len;
	int rc;

	/* libsignal asks to forget an identity after a PreKey message fails;
	 * what an officer verified is not forgotten on a stranger's say-so. */
	if (key_data == NULL)
		return 0;
	if (key_len != HL_KEY_LEN)
		return SG_ERR_INVALID_KEY;
	rc = id_load(c, name, len, &info);
	if (rc < 0)
		return hl_store_failed(c, rc);
	if (rc == 1 && info.has_key &&
	    sodium_memcmp(info.key, key_data, HL_KEY_LEN) == 0)
		return 0;
	int64_t now = hl_now_ms();
	if (rc == 0 || !info.has_key) {
		info.trust = HL_TRUST_UNVERIFIED;
		info.has_pending = 0;
		info.has_key = 1;
		memcpy(info.key, key_data, HL_KEY_LEN);
		info.first_seen_ms = info.changed_ms = now;
		rc = id_save(c, name, len, &info);
		if (rc == 0)
			rc = log_add(c, name, len, HL_KEY_FIRST_SEEN, NULL, key_data);
	} else if (!info.has_pending) {
		/* is_trusted_identity refuses another key, so libsignal never
		 * saves one; were it to, the key waits as pending like any
		 * other change rather than replacing the accepted one. */
		info.has_pending = 1;
		memcpy(info.pending, key_data, HL_KEY_LEN);
		info.changed_ms = now;
		rc = id_save(c, name, len, &info);
		if (rc == 0)
			rc = log_add(c, name, len, HL_KEY_CHANGED, info.key, key_data);
	}
	return rc == 0 ? 0 : hl_store_failed(c, rc);
}

static int
is_trusted_identity(const signal_protocol_address *address, uint8_t *key_data,
    size_t key_len, void *user_data)
{
	struct hl_crypto *c = user_data;
	struct hl_identity_info info;
	if (key_len != HL_KEY_LEN)
		return 0;
	int rc = id_load(c, address->name, address->name_len, &info);
	if (rc < 0)
		return hl_store_failed(c, rc);
	if (rc == 0 || !info.has_key)
		return 1;    /* trust on first use */
	return sodium_memcmp(info.key, key_data, HL_KEY_LEN) == 0;
}

void
hl_identity_store_fill(signal_protocol_identity_key_store *s,
    struct hl_crypto *c)
{
	memset(s, 0, sizeof *s);
	s->get_identity_key_pair = get_identity_key_pair;
	s->get_local_registration_id = get_local_registration_id;
	s->save_identity = save_identity;
	s->is_trusted_identity = is_trusted_identity;
	s->user_data = c;
}

/* --- the public face --- */

int
hl_identity_record_pending(struct hl_crypto *c, const char *handle,
    const uint8_t key[HL_KEY_LEN])
{
	struct hl_identity_info info;
	size_t len = strlen(handle);
	int rc = hl_db_savepoint(c->db, HL_SAVEPOINT);
	if (rc != 0)
		return rc;
	rc = id_load(c, handle, len, &info);
	if (rc < 0)
		goto out;
	if ((rc == 1 && info.has_key &&
	    sodium_memcmp(info.key, key, HL_KEY_LEN) == 0) ||
	    (rc == 1 && info.has_pending &&
	    sodium_memcmp(info.pending, key, HL_KEY_LEN) == 0)) {
		rc = 0;    /* nothing new */
		goto out;
	}
	int64_t now = hl_now_ms();
	if (rc == 1 && info.has_pending) {
		/* Another key while one waits: logged loudly, never swapped in,
		 * so the key the officer was shown stays the one to accept. */
		rc = log_add(c, handle, len, HL_KEY_CHANGED, info.pending, key);
		goto out;
	}
	if (rc == 0)
		info.first_seen_ms = now;
	info.has_pending = 1;
	memcpy(info.pending, key, HL_KEY_LEN);
	info.changed_ms = now;
	rc = id_save(c, handle, len, &info);
	if (rc == 0)
		rc = log_add(c, handle, len, HL_KEY_CHANGED,
		    info.has_key ? info.key : NULL, key);
out:
	if (rc < 0) {
		hl_db_rollback_to(c->db, HL_SAVEPOINT);
		return rc;
	}
	return hl_db_release(c->db, HL_SAVEPOINT);
}

int
hl_identity_note_key(struct hl_crypto *c, const char *handle,
    const uint8_t key[HL_KEY_LEN])
{
	struct hl_identity_info info;
	if (!hl_handle_valid(handle))
		return HL_EINVAL;
	int rc = id_load(c, handle, strlen(handle), &info);
	if (rc <= 0 || !info.has_key)
		return rc < 0 ? rc : 0;
	return hl_identity_record_pending(c, handle, key);
}

int
hl_identity_note_first(struct hl_crypto *c, const char *handle,
    const uint8_t key[HL_KEY_LEN])
{
	struct hl_identity_info info;
	if (!hl_handle_valid(handle))
		return HL_EINVAL;
	size_t len = strlen(handle);
	int rc = id_load(c, handle, len, &info);
	if (rc < 0)
		return rc;
	if (rc == 1 && (info.has_key || info.has_pending))
		return hl_identity_note_key(c, handle, key);
	/* Trust on first use, as a first PreKey bundle would give it: the
	 * key the officer is about to compare becomes the accepted one. */
	rc = hl_db_savepoint(c->db, HL_SAVEPOINT);
	if (rc != 0)
		return rc;
	memset(&info, 0, sizeof info);
	info.trust = HL_TRUST_UNVERIFIED;
	info.has_key = 1;
	memcpy(info.key, key, HL_KEY_LEN);
	info.first_seen_ms = info.changed_ms = hl_now_ms();
	rc = id_save(c, handle, len, &info);
	if (rc == 0)
		rc = log_add(c, handle, len, HL_KEY_FIRST_SEEN, NULL, key);
	if (rc < 0) {
		hl_db_rollback_to(c->db, HL_SAVEPOINT);
		return rc;
	}
	return hl_db_release(c->db, HL_SAVEPOINT);
}

int
hl_identity_info(struct hl_crypto *c, const char *handle,
    struct hl_identity_info *out)
{
	if (!hl_handle_valid(handle))
		return HL_EINVAL;
	int rc = id_load(c, handle, strlen(handle), out);
	if (rc < 0)
		return rc;
	if (out->has_pending)
		out->trust = HL_TRUST_CHANGED;
	return 0;
}

static int
drop_sessions(struct hl_crypto *c, const char *handle, size_t len)
{
	uint8_t idx[HL_VAULT_INDEX_LEN];
	sqlite3_stmt *st = NULL;
	hl_name_index(c, handle, len, idx);
	if (sqlite3_prepare_v2(c->db, "DELETE FROM " HL_T_SESSIONS
	    " WHERE name_idx = ?", -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return HL_EDB;
	}
	sqlite3_bind_blob(st, 1, idx, sizeof idx, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

int
hl_identity_trust(struct hl_crypto *c, const char *handle,
    const uint8_t key[HL_KEY_LEN], int verified)
{
	struct hl_identity_info info;
	if (!hl_handle_valid(handle))
		return HL_EINVAL;
	size_t len = strlen(handle);
	int rc = hl_db_savepoint(c->db, HL_SAVEPOINT);
	if (rc != 0)
		return rc;
	rc = id_load(c, handle, len, &info);
	if (rc <= 0) {
		rc = rc == 0 ? HL_ENOTFOUND : rc;
		goto out;
	}
	enum hl_trust want = verified ? HL_TRUST_VERIFIED : HL_TRUST_UNVERIFIED;
	enum hl_key_event ev = verified ? HL_KEY_VERIFIED : HL_KEY_TRUSTED;
	if (info.has_pending) {
		if (sodium_memcmp(info.pending, key, HL_KEY_LEN) != 0) {
			rc = HL_ESTATE;
			goto out;
		}
		uint8_t old[HL_KEY_LEN];
		int had_old = info.has_key;
		memcpy(old, info.key, HL_KEY_LEN);
		memcpy(info.key, info.pending, HL_KEY_LEN);
		info.has_key = 1;
		info.has_pending = 0;
		memset(info.pending, 0, HL_KEY_LEN);
		info.trust = want;
		info.changed_ms = hl_now_ms();
		/* A session built on the old key must not carry on: the next
		 * message starts from a fresh bundle or the peer's PreKey
		 * message. */
		rc = drop_sessions(c, handle, len);
		if (rc == 0)
			rc = id_save(c, handle, len, &info);
		if (rc == 0)
			rc = log_add(c, handle, len, ev, had_old ? old : NULL, key);
	} else if (info.has_key &&
	    sodium_memcmp(info.key, key, HL_KEY_LEN) == 0) {
		if (info.trust == want) {
			rc = 0;
			goto out;
		}
		info.trust = want;
		info.changed_ms = hl_now_ms();
		rc = id_save(c, handle, len, &info);
		if (rc == 0)
			rc = log_add(c, handle, len, ev, NULL, key);
	} else {
		rc = HL_ESTATE;
	}
out:
	if (rc < 0) {
		hl_db_rollback_to(c->db, HL_SAVEPOINT);
		return rc;
	}
	return hl_db_release(c->db, HL_SAVEPOINT);
}

int
hl_identity_reject(struct hl_crypto *c, const char *handle,
    const uint8_t key[HL_KEY_LEN])
{
	struct hl_identity_info info;
	if (!hl_handle_valid(handle))
		return HL_EINVAL;
	size_t len = strlen(handle);
	int rc = hl_db_savepoint(c->db, HL_SAVEPOINT);
	if (rc != 0)
		return rc;
	rc = id_load(c, handle, len, &info);
	if (rc <= 0) {
		rc = rc == 0 ? HL_ENOTFOUND : rc;
	} else if (!info.has_pending ||
	    sodium_memcmp(info.pending, key, HL_KEY_LEN) != 0) {
		rc = HL_ESTATE;
	} else {
		info.has_pending = 0;
		memset(info.pending, 0, HL_KEY_LEN);
		info.changed_ms = hl_now_ms();
		rc = id_save(c, handle, len, &info);
		if (rc == 0)
			rc = log_add(c, handle, len, HL_KEY_REJECTED,
			    info.has_key ? info.key : NULL, key);
	}
	if (rc < 0) {
		hl_db_rollback_to(c->db, HL_SAVEPOINT);
		return rc;
	}
	return hl_db_release(c->db, HL_SAVEPOINT);
}

int
hl_identity_log(struct hl_crypto *c, const char *handle,
    void (*fn)(const struct hl_key_log_entry *e, void *arg), void *arg)
{
	uint8_t idx[HL_VAULT_INDEX_LEN];
	sqlite3_stmt *st = NULL;
	if (!hl_handle_valid(handle))
		return HL_EINVAL;
	hl_name_index(c, handle, strlen(handle), idx);
	if (sqlite3_prepare_v2(c->db, "SELECT v FROM " HL_T_KEYLOG
	    " WHERE name_idx = ? ORDER BY seq", -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return HL_EDB;
	}
	sqlite3_bind_blob(st, 1, idx, sizeof idx, SQLITE_STATIC);
	int rc, step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		uint8_t *pt;
		size_t n;
		rc = hl_vault_open(c->vault, HL_T_KEYLOG, idx, sizeof idx,
		    sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
		    &pt, &n);
		if (rc == 0 && (n != LOG_REC_LEN || pt[8] > HL_KEY_REJECTED)) {
			hl_vault_free_plain(pt, n);
			rc = HL_EVAULT;
		}
		if (rc != 0) {
			sqlite3_finalize(st);
			return rc;
		}
		struct hl_key_log_entry e;
		e.at_ms = get64(pt);
		e.event = (enum hl_key_event)pt[8];
		e.has_old = pt[9] != 0;
		memcpy(e.old_key, pt + 10, HL_KEY_LEN);
		memcpy(e.new_key, pt + 10 + HL_KEY_LEN, HL_KEY_LEN);
		hl_vault_free_plain(pt, n);
		fn(&e, arg);
	}
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? 0 : HL_EDB;
}

const char *
hl_key_event_name(enum hl_key_event e)
{
	switch (e) {
	case HL_KEY_FIRST_SEEN: return "first-seen";
	case HL_KEY_CHANGED: return "changed";
	case HL_KEY_TRUSTED: return "trusted";
	case HL_KEY_VERIFIED: return "verified";
	case HL_KEY_REJECTED: return "rejected";
	}
	return "?";
}

const char *
hl_trust_name(enum hl_trust t)
{
	switch (t) {
	case HL_TRUST_NONE: return "none";
	case HL_TRUST_UNVERIFIED: return "unverified";
	case HL_TRUST_VERIFIED: return "verified";
	case HL_TRUST_CHANGED: return "changed";
	}
	return "?";
}
