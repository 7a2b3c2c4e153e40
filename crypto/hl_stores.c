/*
 * libsignal's session, prekey, signed-prekey and sender-key stores over
 * sealed SQLite rows. Return conventions follow signal_protocol.h (see
 * LIBSIGNAL-NOTES): found 1 / not found 0 / error < 0 for loads of
 * sessions and sender keys, SG_SUCCESS / SG_ERR_INVALID_KEY_ID for prekeys.
 * A database or vault failure is also recorded in c->store_err.
 */
#include "crypto/hl_crypto_int.h"
#include "crypto/hl_err.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Row key of a session: the blind index of name, then the device id. */
static void
address_key(struct hl_crypto *c, const char *name, size_t len, int32_t device,
    uint8_t out[HL_VAULT_INDEX_LEN + 4])
{
	hl_name_index(c, name, len, out);
	hl_u32_key((uint32_t)device, out + HL_VAULT_INDEX_LEN);
}

/* Hands a plaintext to libsignal as a signal_buffer, wiping ours. */
static int
to_signal_buffer(uint8_t *pt, size_t n, signal_buffer **out)
{
	*out = signal_buffer_create(pt, n);
	hl_vault_free_plain(pt, n);
	return *out != NULL ? 0 : SG_ERR_NOMEM;
}

/* --- sessions --- */

static int
load_session(signal_buffer **record, signal_buffer **user_record,
    const signal_protocol_address *address, void *user_data)
{
	struct hl_crypto *c = user_data;
	uint8_t k[HL_VAULT_INDEX_LEN + 4];
	uint8_t *pt;
	size_t n;
	(void)user_record;
	address_key(c, address->name, address->name_len, address->device_id, k);
	int rc = hl_row_get(c, HL_T_SESSIONS, k, sizeof k, &pt, &n);
	if (rc < 0)
		return hl_store_failed(c, rc);
	if (rc == 0)
		return 0;
	return to_signal_buffer(pt, n, record) == 0 ? 1 : SG_ERR_NOMEM;
}

static int
get_sub_device_sessions(signal_int_list **sessions, const char *name,
    size_t name_len, void *user_data)
{
	struct hl_crypto *c = user_data;
	uint8_t idx[HL_VAULT_INDEX_LEN];
	sqlite3_stmt *st = NULL;
	hl_name_index(c, name, name_len, idx);
	signal_int_list *list = signal_int_list_alloc();
	if (list == NULL)
		return SG_ERR_NOMEM;
	if (sqlite3_prepare_v2(c->db, "SELECT device FROM " HL_T_SESSIONS
	    " WHERE name_idx = ? ORDER BY device", -1, &st, NULL) != SQLITE_OK) {
		signal_int_list_free(list);
		return hl_store_failed(c, HL_EDB);
	}
	sqlite3_bind_blob(st, 1, idx, sizeof idx, SQLITE_STATIC);
	int rc, count = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (signal_int_list_push_back(list, sqlite3_column_int(st, 0)) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
		count++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		signal_int_list_free(list);
		return hl_store_failed(c, rc == SQLITE_NOMEM ? HL_ENOMEM : HL_EDB);
	}
	*sessions = list;
	return count;
}

static int
store_session(const signal_protocol_address *address, uint8_t *record,
    size_t record_len, uint8_t *user_record, size_t user_record_len,
    void *user_data)
{
	struct hl_crypto *c = user_data;
	uint8_t k[HL_VAULT_INDEX_LEN + 4];
	uint8_t *sealed;
	size_t slen;
	sqlite3_stmt *st = NULL;
	(void)user_record;
	(void)user_record_len;
	address_key(c, address->name, address->name_len, address->device_id, k);
	int rc = hl_vault_seal(c->vault, HL_T_SESSIONS, k, sizeof k, record,
	    record_len, &sealed, &slen);
	/* libsignal frees its serialised record unwiped after this call; the
	 * buffer is writable and sealed now: clear it here. */
	sodium_memzero(record, record_len);
	if (rc != 0)
		return hl_store_failed(c, rc);
	if (sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO " HL_T_SESSIONS
	    " (k, v, name_idx, device) VALUES (?, ?, ?, ?)", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_blob(st, 1, k, sizeof k, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, sealed, (int)slen, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, k, HL_VAULT_INDEX_LEN, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, address->device_id);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	} else {
		rc = HL_EDB;
	}
	sqlite3_finalize(st);
	free(sealed);
	return rc == 0 ? 0 : hl_store_failed(c, rc);
}

static int
contains_session(const signal_protocol_address *address, void *user_data)
{
	struct hl_crypto *c = user_data;
	uint8_t k[HL_VAULT_INDEX_LEN + 4];
	address_key(c, address->name, address->name_len, address->device_id, k);
	int rc = hl_row_exists(c, HL_T_SESSIONS, k, sizeof k);
	if (rc < 0) {
		hl_store_failed(c, rc);
		return 0;
	}
	return rc;
}

static int
delete_session(const signal_protocol_address *address, void *user_data)
{
	struct hl_crypto *c = user_data;
	uint8_t k[HL_VAULT_INDEX_LEN + 4];
	address_key(c, address->name, address->name_len, address->device_id, k);
	int rc = hl_row_del(c, HL_T_SESSIONS, k, sizeof k);
	return rc < 0 ? hl_store_failed(c, rc) : rc > 0;
}

static int
delete_all_sessions(const char *name, size_t name_len, void *user_data)
{
	struct hl_crypto *c = user_data;
	uint8_t idx[HL_VAULT_INDEX_LEN];
	sqlite3_stmt *st = NULL;
	hl_name_index(c, name, name_len, idx);
	if (sqlite3_prepare_v2(c->db, "DELETE FROM " HL_T_SESSIONS
	    " WHERE name_idx = ?", -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return hl_store_failed(c, HL_EDB);
	}
	sqlite3_bind_blob(st, 1, idx, sizeof idx, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(c->db) : -1;
	sqlite3_finalize(st);
	return rc < 0 ? hl_store_failed(c, HL_EDB) : rc;
}

/* --- one-time and signed prekeys: the same shape, two tables --- */

static int
load_key(struct hl_crypto *c, const char *table, signal_buffer **record,
    uint32_t id)
{
	uint8_t k[4];
	uint8_t *pt;
	size_t n;
	hl_u32_key(id, k);
	int rc = hl_row_get(c, table, k, sizeof k, &pt, &n);
	if (rc < 0)
		return hl_store_failed(c, rc);
	if (rc == 0)
		return SG_ERR_INVALID_KEY_ID;
	return to_signal_buffer(pt, n, record) == 0 ? SG_SUCCESS : SG_ERR_NOMEM;
}

static int
store_key(struct hl_crypto *c, const char *table, uint32_t id,
    uint8_t *record, size_t len)
{
	uint8_t k[4];
	hl_u32_key(id, k);
	int rc = hl_row_put(c, table, k, sizeof k, record, len);
	/* A serialised prekey holds its private key, and libsignal frees the
	 * buffer unwiped after this call: it is sealed now, clear it. */
	sodium_memzero(record, len);
	return rc == 0 ? 0 : hl_store_failed(c, rc);
}

static int
contains_key(struct hl_crypto *c, const char *table, uint32_t id)
{
	uint8_t k[4];
	hl_u32_key(id, k);
	int rc = hl_row_exists(c, table, k, sizeof k);
	if (rc < 0) {
		hl_store_failed(c, rc);
		return 0;
	}
	return rc;
}

static int
remove_key(struct hl_crypto *c, const char *table, uint32_t id)
{
	uint8_t k[4];
	hl_u32_key(id, k);
	int rc = hl_row_del(c, table, k, sizeof k);
	return rc < 0 ? hl_store_failed(c, rc) : 0;
}

static int
load_pre_key(signal_buffer **record, uint32_t id, void *user_data)
{
	return load_key(user_data, HL_T_PREKEYS, record, id);
}

static int
store_pre_key(uint32_t id, uint8_t *record, size_t len, void *user_data)
{
	return store_key(user_data, HL_T_PREKEYS, id, record, len);
}

static int
contains_pre_key(uint32_t id, void *user_data)
{
	return contains_key(user_data, HL_T_PREKEYS, id);
}

static int
remove_pre_key(uint32_t id, void *user_data)
{
	return remove_key(user_data, HL_T_PREKEYS, id);
}

static int
load_signed_pre_key(signal_buffer **record, uint32_t id, void *user_data)
{
	return load_key(user_data, HL_T_SIGNED, record, id);
}

static int
store_signed_pre_key(uint32_t id, uint8_t *record, size_t len, void *user_data)
{
	return store_key(user_data, HL_T_SIGNED, id, record, len);
}

static int
contains_signed_pre_key(uint32_t id, void *user_data)
{
	return contains_key(user_data, HL_T_SIGNED, id);
}

static int
remove_signed_pre_key(uint32_t id, void *user_data)
{
	return remove_key(user_data, HL_T_SIGNED, id);
}

/* --- sender keys: unused by hotline (no groups), required by libsignal --- */

/* Row key of a sender key: the blind index of (group id, sender, device). */
static int
sender_key_index(struct hl_crypto *c, const signal_protocol_sender_key_name *n,
    uint8_t out[HL_VAULT_INDEX_LEN])
{
	uint8_t buf[512];
	size_t glen = n->group_id_len, alen = n->sender.name_len;
	if (glen + 1 + alen + 4 > sizeof buf)
		return SG_ERR_INVAL;
	memcpy(buf, n->group_id, glen);
	buf[glen] = 0;
	memcpy(buf + glen + 1, n->sender.name, alen);
	hl_u32_key((uint32_t)n->sender.device_id, buf + glen + 1 + alen);
	hl_vault_index(c->vault, HL_T_SENDERKEYS, buf, glen + 1 + alen + 4, out);
	return 0;
}

static int
store_sender_key(const signal_protocol_sender_key_name *name, uint8_t *record,
    size_t len, uint8_t *user_record, size_t user_len, void *user_data)
{
	struct hl_crypto *c = user_data;
	uint8_t k[HL_VAULT_INDEX_LEN];
	(void)user_record;
	(void)user_len;
	if (sender_key_index(c, name, k) != 0)
		return SG_ERR_INVAL;
	int rc = hl_row_put(c, HL_T_SENDERKEYS, k, sizeof k, record, len);
	return rc == 0 ? 0 : hl_store_failed(c, rc);
}

static int
load_sender_key(signal_buffer **record, signal_buffer **user_record,
    const signal_protocol_sender_key_name *name, void *user_data)
{
	struct hl_crypto *c = user_data;
	uint8_t k[HL_VAULT_INDEX_LEN];
	uint8_t *pt;
	size_t n;
	(void)user_record;
	if (sender_key_index(c, name, k) != 0)
		return SG_ERR_INVAL;
	int rc = hl_row_get(c, HL_T_SENDERKEYS, k, sizeof k, &pt, &n);
	if (rc < 0)
		return hl_store_failed(c, rc);
	if (rc == 0)
		return 0;
	return to_signal_buffer(pt, n, record) == 0 ? 1 : SG_ERR_NOMEM;
}

void
hl_stores_register(struct hl_crypto *c)
{
	signal_protocol_session_store sessions = {
		.load_session_func = load_session,
		.get_sub_device_sessions_func = get_sub_device_sessions,
		.store_session_func = store_session,
		.contains_session_func = contains_session,
		.delete_session_func = delete_session,
		.delete_all_sessions_func = delete_all_sessions,
		.user_data = c,
	};
	signal_protocol_pre_key_store prekeys = {
		.load_pre_key = load_pre_key,
		.store_pre_key = store_pre_key,
		.contains_pre_key = contains_pre_key,
		.remove_pre_key = remove_pre_key,
		.user_data = c,
	};
	signal_protocol_signed_pre_key_store signed_prekeys = {
		.load_signed_pre_key = load_signed_pre_key,
		.store_signed_pre_key = store_signed_pre_key,
		.contains_signed_pre_key = contains_signed_pre_key,
		.remove_signed_pre_key = remove_signed_pre_key,
		.user_data = c,
	};
	signal_protocol_sender_key_store sender_keys = {
		.store_sender_key = store_sender_key,
		.load_sender_key = load_sender_key,
		.user_data = c,
	};
	signal_protocol_identity_key_store identities;
	hl_identity_store_fill(&identities, c);

	/* The structs are copied in; they may live on the stack. */
	signal_protocol_store_context_set_session_store(c->sctx, &sessions);
	signal_protocol_store_context_set_pre_key_store(c->sctx, &prekeys);
	signal_protocol_store_context_set_signed_pre_key_store(c->sctx,
	    &signed_prekeys);
	signal_protocol_store_context_set_sender_key_store(c->sctx, &sender_keys);
	signal_protocol_store_context_set_identity_key_store(c->sctx, &identities);
}
