#include "crypto/hl_crypto_int.h"
#include "crypto/hl_db.h"
#include "crypto/hl_err.h"
#include "crypto/hl_provider.h"

#include <curve.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char crypto_schema[] =
    "CREATE TABLE IF NOT EXISTS " HL_T_LOCAL " (k BLOB PRIMARY KEY, v BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS " HL_T_PREKEYS " (k BLOB PRIMARY KEY, v BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS " HL_T_SIGNED " (k BLOB PRIMARY KEY, v BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS " HL_T_SESSIONS " (k BLOB PRIMARY KEY, v BLOB NOT NULL,"
    " name_idx BLOB NOT NULL, device INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS sessions_by_name ON " HL_T_SESSIONS " (name_idx);"
    "CREATE TABLE IF NOT EXISTS " HL_T_IDENTITIES " (k BLOB PRIMARY KEY, v BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS " HL_T_KEYLOG " (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name_idx BLOB NOT NULL, v BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS identity_log_by_name ON " HL_T_KEYLOG " (name_idx);"
    "CREATE TABLE IF NOT EXISTS " HL_T_SENDERKEYS " (k BLOB PRIMARY KEY, v BLOB NOT NULL);"
    /* Counters that are not secret: the next prekey id and the like. */
    "CREATE TABLE IF NOT EXISTS crypto_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);";

static void
lock_fn(void *user_data)
{
	struct hl_crypto *c = user_data;
	pthread_mutex_lock(&c->lock);
}

static void
unlock_fn(void *user_data)
{
	struct hl_crypto *c = user_data;
	pthread_mutex_unlock(&c->lock);
}

int
hl_store_failed(struct hl_crypto *c, int hl_code)
{
	if (c->store_err == 0)
		c->store_err = hl_code;
	return SG_ERR_UNKNOWN;
}

int
hl_signal_error(struct hl_crypto *c, int sg, char *cause)
{
	if (c->store_err != 0)
		return hl_fail(cause, c->store_err, "%s", hl_strerror(c->store_err));
	switch (sg) {
	case SG_ERR_NOMEM:
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	case SG_ERR_DUPLICATE_MESSAGE:
		return hl_fail(cause, HL_EDUPLICATE, "message already received");
	case SG_ERR_UNTRUSTED_IDENTITY:
		return hl_fail(cause, HL_EUNTRUSTED, "identity key changed");
	case SG_ERR_NO_SESSION:
		return hl_fail(cause, HL_ENOSESSION, "no session");
	case SG_ERR_INVALID_KEY:
	case SG_ERR_INVALID_KEY_ID:
	case SG_ERR_INVALID_MAC:
	case SG_ERR_INVALID_MESSAGE:
	case SG_ERR_INVALID_VERSION:
	case SG_ERR_LEGACY_MESSAGE:
	case SG_ERR_STALE_KEY_EXCHANGE:
	case SG_ERR_INVALID_PROTO_BUF:
	case SG_ERR_VRF_SIG_VERIF_FAILED:
		return hl_fail(cause, HL_ETAMPERED, "%s", hl_strerror(sg));
	default:
		return hl_fail(cause, HL_ECRYPTO, "%s (%d)", hl_strerror(sg), sg);
	}
}

int
hl_pubkey_bytes(const ec_public_key *k, uint8_t out[HL_KEY_LEN])
{
	signal_buffer *b = NULL;
	if (ec_public_key_serialize(&b, k) < 0)
		return HL_ECRYPTO;
	int rc = 0;
	if (signal_buffer_len(b) != HL_KEY_LEN)
		rc = HL_ECRYPTO;
	else
		memcpy(out, signal_buffer_data(b), HL_KEY_LEN);
	signal_buffer_free(b);
	return rc;
}

void
hl_u32_key(uint32_t id, uint8_t out[4])
{
	out[0] = (uint8_t)(id >> 24);
	out[1] = (uint8_t)(id >> 16);
	out[2] = (uint8_t)(id >> 8);
	out[3] = (uint8_t)id;
}

void
hl_name_index(struct hl_crypto *c, const char *name, size_t len,
    uint8_t out[HL_VAULT_INDEX_LEN])
{
	hl_vault_index(c->vault, "contact", name, len, out);
}

/* --- sealed rows --- */

/* Table names are our constants, never input. */
static int
prepare(struct hl_crypto *c, const char *head, const char *table,
    const char *tail, sqlite3_stmt **st)
{
	char sql[256];
	snprintf(sql, sizeof sql, "%s%s%s", head, table, tail);
	if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
		return HL_EDB;
	}
	return 0;
}

int
hl_row_put(struct hl_crypto *c, const char *table, const uint8_t *k,
    size_t klen, const uint8_t *pt, size_t ptlen)
{
	uint8_t *sealed;
	size_t slen;
	int rc = hl_vault_seal(c->vault, table, k, klen, pt, ptlen, &sealed, &slen);
	if (rc != 0)
		return rc;
	sqlite3_stmt *st = NULL;
	rc = prepare(c, "INSERT OR REPLACE INTO ", table, " (k, v) VALUES (?, ?)", &st);
	if (rc == 0) {
		sqlite3_bind_blob(st, 1, k, (int)klen, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, sealed, (int)slen, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	}
	sqlite3_finalize(st);
	free(sealed);
	return rc;
}

int
hl_row_get(struct hl_crypto *c, const char *table, const uint8_t *k,
    size_t klen, uint8_t **pt, size_t *ptlen)
{
	sqlite3_stmt *st = NULL;
	*pt = NULL;
	*ptlen = 0;
	int rc = prepare(c, "SELECT v FROM ", table, " WHERE k = ?", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_blob(st, 1, k, (int)klen, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		rc = hl_vault_open(c->vault, table, k, klen,
		    sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), pt, ptlen);
		if (rc == 0)
			rc = 1;
	} else {
		rc = step == SQLITE_DONE ? 0 : HL_EDB;
	}
	sqlite3_finalize(st);
	return rc;
}

int
hl_row_del(struct hl_crypto *c, const char *table, const uint8_t *k,
    size_t klen)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(c, "DELETE FROM ", table, " WHERE k = ?", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_blob(st, 1, k, (int)klen, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(c->db) : HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

int
hl_row_exists(struct hl_crypto *c, const char *table, const uint8_t *k,
    size_t klen)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(c, "SELECT 1 FROM ", table, " WHERE k = ?", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_blob(st, 1, k, (int)klen, SQLITE_STATIC);
	int step = sqlite3_step(st);
	rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

/* --- open and close --- */

/* Layout of the sealed local identity: registration id (4, big-endian),
 * handle length (1), handle, public key (33), private key (32). */
static int
load_local_identity(struct hl_crypto *c)
{
	uint8_t *pt;
	size_t n;
	static const uint8_t key[1] = { 1 };
	int rc = hl_row_get(c, HL_T_LOCAL, key, sizeof key, &pt, &n);
	if (rc <= 0)
		return rc;
	size_t hlen = n > 5 ? pt[4] : 0;
	if (n != 5 + hlen + HL_KEY_LEN + HL_PRIV_LEN || hlen > HL_HANDLE_MAX) {
		hl_vault_free_plain(pt, n);
		return HL_EVAULT;
	}
	c->registration_id = (uint32_t)pt[0] << 24 | (uint32_t)pt[1] << 16 |
	    (uint32_t)pt[2] << 8 | pt[3];
	memcpy(c->handle, pt + 5, hlen);
	c->handle[hlen] = '\0';
	memcpy(c->pub, pt + 5 + hlen, HL_KEY_LEN);
	memcpy(c->priv, pt + 5 + hlen + HL_KEY_LEN, HL_PRIV_LEN);
	c->has_identity = 1;
	hl_vault_free_plain(pt, n);
	return 0;
}

static int
setup(struct hl_crypto *c, char *cause)
{
	signal_crypto_provider provider;

	c->priv = sodium_malloc(HL_PRIV_LEN);
	if (c->priv == NULL)
		return HL_ENOMEM;
	int rc = hl_db_exec(c->db, crypto_schema, cause);
	if (rc != 0)
		return rc;
	hl_provider_fill(&provider);
	if (signal_context_create(&c->gctx, c) < 0 ||
	    signal_context_set_crypto_provider(c->gctx, &provider) < 0 ||
	    signal_context_set_locking_functions(c->gctx, lock_fn, unlock_fn) < 0 ||
	    signal_protocol_store_context_create(&c->sctx, c->gctx) < 0)
		return hl_fail(cause, HL_ECRYPTO, "libsignal: context setup failed");
	hl_stores_register(c);
	rc = load_local_identity(c);
	if (rc < 0)
		return hl_fail(cause, rc, "local identity: %s", hl_strerror(rc));
	return 0;
}

static struct hl_crypto *
crypto_new(void)
{
	pthread_mutexattr_t attr;
	if (sodium_init() < 0)
		return NULL;
	struct hl_crypto *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&c->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return c;
}

int
hl_crypto_create(const char *path, const char *pass, size_t passlen,
    const struct hl_kdf_params *params, struct hl_crypto **out, char *cause)
{
	*out = NULL;
	struct hl_crypto *c = crypto_new();
	if (c == NULL)
		return HL_ENOMEM;
	int rc = hl_db_open(path, 1, &c->db, cause);
	if (rc == 0)
		rc = hl_vault_create(c->db, pass, passlen, params, &c->vault, cause);
	if (rc == 0)
		rc = setup(c, cause);
	if (rc != 0) {
		hl_crypto_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

int
hl_crypto_open(const char *path, const char *pass, size_t passlen,
    struct hl_crypto **out, char *cause)
{
	*out = NULL;
	struct hl_crypto *c = crypto_new();
	if (c == NULL)
		return HL_ENOMEM;
	int rc = hl_db_open(path, 0, &c->db, cause);
	if (rc == 0)
		rc = hl_vault_unlock(c->db, pass, passlen, &c->vault, cause);
	if (rc == 0)
		rc = setup(c, cause);
	if (rc != 0) {
		hl_crypto_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void
hl_crypto_close(struct hl_crypto *c)
{
	if (c == NULL)
		return;
	if (c->db != NULL)
		hl_db_rollback(c->db);
	/* The store context before the signal context, as libsignal wants. */
	if (c->sctx != NULL)
		signal_protocol_store_context_destroy(c->sctx);
	if (c->gctx != NULL)
		signal_context_destroy(c->gctx);
	if (c->priv != NULL)
		sodium_free(c->priv);
	pthread_mutex_destroy(&c->lock);
	hl_vault_free(c->vault);
	hl_db_close(c->db);
	sodium_memzero(c, sizeof *c);
	free(c);
}

sqlite3 *
hl_crypto_db(struct hl_crypto *c)
{
	return c->db;
}

const struct hl_vault *
hl_crypto_vault(struct hl_crypto *c)
{
	return c->vault;
}

int
hl_crypto_begin(struct hl_crypto *c)
{
	return hl_db_begin(c->db);
}

int
hl_crypto_commit(struct hl_crypto *c)
{
	return hl_db_commit(c->db);
}

int
hl_crypto_rollback(struct hl_crypto *c)
{
	return hl_db_rollback(c->db);
}
