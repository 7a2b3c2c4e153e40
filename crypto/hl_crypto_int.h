/*
 * Internal to crypto/: the state behind struct hl_crypto, shared by the
 * store callbacks, key management, sessions and safety numbers. Nothing
 * outside crypto/ includes this file.
 */
#ifndef HL_CRYPTO_INT_H
#define HL_CRYPTO_INT_H

#include <pthread.h>
#include <signal_protocol.h>
#include <sqlite3.h>

#include "crypto/hl_handle.h"
#include "crypto/hl_session.h"
#include "crypto/hl_vault.h"

#define HL_PRIV_LEN 32
#define HL_SAVEPOINT "hl_crypto_op"

/* Sealed tables: every value column is sealed with the table's name and the
 * row key as associated data; row keys for contacts are blind indexes. */
#define HL_T_LOCAL "local_identity"
#define HL_T_PREKEYS "prekeys"
#define HL_T_SIGNED "signed_prekeys"
#define HL_T_SESSIONS "sessions"
#define HL_T_IDENTITIES "identities"
#define HL_T_KEYLOG "identity_log"
#define HL_T_SENDERKEYS "sender_keys"

struct hl_crypto {
	sqlite3 *db;
	struct hl_vault *vault;
	signal_context *gctx;
	signal_protocol_store_context *sctx;
	pthread_mutex_t lock;        /* recursive: libsignal nests it */

	/* Our identity, cached once unlocked. priv is sodium_malloc'd. */
	int has_identity;
	char handle[HL_HANDLE_MAX + 1];
	uint32_t registration_id;
	uint8_t pub[HL_KEY_LEN];
	uint8_t *priv;

	/* The first failure a store callback met during one libsignal call,
	 * so the caller can say "database" or "vault" rather than what
	 * libsignal made of a negative return. */
	int store_err;
};

/* Sealed rows: (k BLOB PRIMARY KEY, v BLOB) tables, the value sealed with
 * (table, k). get returns 1 and the plaintext (free with
 * hl_vault_free_plain), 0 when absent, < 0 on error. */
int hl_row_put(struct hl_crypto *c, const char *table, const uint8_t *k,
    size_t klen, const uint8_t *pt, size_t ptlen);
int hl_row_get(struct hl_crypto *c, const char *table, const uint8_t *k,
    size_t klen, uint8_t **pt, size_t *ptlen);
int hl_row_del(struct hl_crypto *c, const char *table, const uint8_t *k,
    size_t klen);
int hl_row_exists(struct hl_crypto *c, const char *table, const uint8_t *k,
    size_t klen);

/* Blind index of a contact's handle (and device) for the sessions,
 * identities and log tables. */
void hl_name_index(struct hl_crypto *c, const char *name, size_t len,
    uint8_t out[HL_VAULT_INDEX_LEN]);

/* The store vtables, registered with the store context by hl_crypto.c. */
void hl_stores_register(struct hl_crypto *c);

/* Records a first failure of a store callback and returns SG_ERR_UNKNOWN. */
int hl_store_failed(struct hl_crypto *c, int hl_code);

/* The identity store vtable (hl_store_identity.c). */
void hl_identity_store_fill(signal_protocol_identity_key_store *s,
    struct hl_crypto *c);

/* Remote identities (hl_store_identity.c). */
int hl_identity_record_pending(struct hl_crypto *c, const char *handle,
    const uint8_t key[HL_KEY_LEN]);

/* Maps a libsignal result to ours, preferring a store failure. */
int hl_signal_error(struct hl_crypto *c, int sg, char *cause);

/* 33-byte serialisation of a libsignal public key. */
int hl_pubkey_bytes(const ec_public_key *k, uint8_t out[HL_KEY_LEN]);

/* Big-endian 4-byte row key for prekey ids. */
void hl_u32_key(uint32_t id, uint8_t out[4]);

#endif
