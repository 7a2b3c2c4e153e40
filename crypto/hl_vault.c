#include "crypto/hl_vault.h"
#include "crypto/hl_db.h"
#include "crypto/hl_err.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define DATA_KEY_LEN 32
#define SEAL_VERSION 1
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define KDF_NAME "argon2id13"
#define AD_MAX 256
/* A tampered vault row must not make unlocking allocate without bound. */
#define MEMLIMIT_CEILING ((size_t)4 << 30)

struct hl_vault {
	/* sodium_malloc'd: guarded, locked, wiped by sodium_free. */
	uint8_t *seal_key;
	uint8_t *index_key;
};

void
hl_kdf_params_default(struct hl_kdf_params *p)
{
	p->opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
	p->memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
}

void
hl_kdf_params_minimum(struct hl_kdf_params *p)
{
	p->opslimit = crypto_pwhash_OPSLIMIT_MIN;
	p->memlimit = crypto_pwhash_MEMLIMIT_MIN;
}

static int
params_ok(const struct hl_kdf_params *p)
{
	return p->opslimit >= crypto_pwhash_OPSLIMIT_MIN &&
	    p->opslimit <= 64 && p->memlimit >= crypto_pwhash_MEMLIMIT_MIN &&
	    p->memlimit <= MEMLIMIT_CEILING;
}

static const char vault_schema[] =
    "CREATE TABLE IF NOT EXISTS vault ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " kdf TEXT NOT NULL,"
    " opslimit INTEGER NOT NULL,"
    " memlimit INTEGER NOT NULL,"
    " salt BLOB NOT NULL,"
    " wrapped BLOB NOT NULL)";

/* The wrapped data key is bound to the parameters it was wrapped with. */
static size_t
wrap_ad(const struct hl_kdf_params *p, const uint8_t *salt, uint8_t *ad)
{
	uint8_t *q = ad;
	memcpy(q, "hotline-vault/" KDF_NAME, sizeof("hotline-vault/" KDF_NAME) - 1);
	q += sizeof("hotline-vault/" KDF_NAME) - 1;
	for (int i = 0; i < 8; i++)
		*q++ = (uint8_t)(p->opslimit >> (8 * i));
	for (int i = 0; i < 8; i++)
		*q++ = (uint8_t)((uint64_t)p->memlimit >> (8 * i));
	memcpy(q, salt, crypto_pwhash_SALTBYTES);
	q += crypto_pwhash_SALTBYTES;
	return (size_t)(q - ad);
}

static int
derive_kek(const char *pass, size_t passlen, const uint8_t *salt,
    const struct hl_kdf_params *p, uint8_t *kek, char *cause)
{
	if (crypto_pwhash(kek, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, pass,
	    passlen, salt, p->opslimit, p->memlimit,
	    crypto_pwhash_ALG_ARGON2ID13) != 0)
		return hl_fail(cause, HL_ENOMEM,
		    "vault: Argon2id could not get %zu KiB of memory",
		    p->memlimit / 1024);
	return 0;
}

/* Wraps data_key under pass; writes the vault row (insert or replace). */
static int
store_wrapped(sqlite3 *db, const uint8_t *data_key, const char *pass,
    size_t passlen, const struct hl_kdf_params *p, char *cause)
{
	uint8_t salt[crypto_pwhash_SALTBYTES];
	uint8_t wrapped[NONCE_LEN + DATA_KEY_LEN + TAG_LEN];
	uint8_t ad[64];
	uint8_t *kek = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
	if (kek == NULL)
		return HL_ENOMEM;
	randombytes_buf(salt, sizeof salt);
	int rc = derive_kek(pass, passlen, salt, p, kek, cause);
	if (rc != 0) {
		sodium_free(kek);
		return rc;
	}
	size_t adlen = wrap_ad(p, salt, ad);
	randombytes_buf(wrapped, NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped + NONCE_LEN, NULL,
	    data_key, DATA_KEY_LEN, ad, adlen, NULL, wrapped, kek);
	sodium_free(kek);

	sqlite3_stmt *st = NULL;
	int src = sqlite3_prepare_v2(db,
	    "INSERT OR REPLACE INTO vault (id, kdf, opslimit, memlimit, salt, wrapped)"
	    " VALUES (1, ?, ?, ?, ?, ?)", -1, &st, NULL);
	if (src == SQLITE_OK) {
		sqlite3_bind_text(st, 1, KDF_NAME, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)p->opslimit);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)p->memlimit);
		sqlite3_bind_blob(st, 4, salt, sizeof salt, SQLITE_STATIC);
		sqlite3_bind_blob(st, 5, wrapped, sizeof wrapped, SQLITE_STATIC);
		src = sqlite3_step(st);
	}
	rc = (src == SQLITE_DONE) ? 0 : hl_db_error(db, src, cause);
	sqlite3_finalize(st);
	return rc;
}

static int
vault_from_data_key(const uint8_t *data_key, struct hl_vault **out)
{
	struct hl_vault *v = calloc(1, sizeof *v);
	if (v == NULL)
		return HL_ENOMEM;
	v->seal_key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
	v->index_key = sodium_malloc(crypto_generichash_KEYBYTES);
	if (v->seal_key == NULL || v->index_key == NULL) {
		hl_vault_free(v);
		return HL_ENOMEM;
	}
	crypto_kdf_derive_from_key(v->seal_key,
	    crypto_aead_xchacha20poly1305_ietf_KEYBYTES, 1, "hlvault1", data_key);
	crypto_kdf_derive_from_key(v->index_key, crypto_generichash_KEYBYTES, 2,
	    "hlvault1", data_key);
	sodium_mprotect_readonly(v->seal_key);
	sodium_mprotect_readonly(v->index_key);
	*out = v;
	return 0;
}

static int
vault_exists(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM vault WHERE id = 1", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		found = 1;
	sqlite3_finalize(st);
	return found;
}

int
hl_vault_create(sqlite3 *db, const char *pass, size_t passlen,
    const struct hl_kdf_params *params, struct hl_vault **out, char *cause)
{
	struct hl_kdf_params def;
	*out = NULL;
	if (sodium_init() < 0)
		return hl_fail(cause, HL_ECRYPTO, "vault: libsodium failed to start");
	if (params == NULL) {
		hl_kdf_params_default(&def);
		params = &def;
	}
	if (!params_ok(params))
		return hl_fail(cause, HL_EINVAL, "vault: KDF parameters out of range");
	if (passlen == 0)
		return hl_fail(cause, HL_EINVAL, "vault: empty passphrase");
	int rc = hl_db_exec(db, vault_schema, cause);
	if (rc != 0)
		return rc;
	if (vault_exists(db))
		return hl_fail(cause, HL_EEXIST, "vault: this database has a vault already");

	uint8_t *data_key = sodium_malloc(DATA_KEY_LEN);
	if (data_key == NULL)
		return HL_ENOMEM;
	crypto_kdf_keygen(data_key);
	rc = store_wrapped(db, data_key, pass, passlen, params, cause);
	if (rc == 0)
		rc = vault_from_data_key(data_key, out);
	sodium_free(data_key);
	return rc;
}

struct vault_row {
	struct hl_kdf_params p;
	uint8_t salt[crypto_pwhash_SALTBYTES];
	uint8_t wrapped[NONCE_LEN + DATA_KEY_LEN + TAG_LEN];
};

static int
read_row(sqlite3 *db, struct vault_row *r, char *cause)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db,
	    "SELECT kdf, opslimit, memlimit, salt, wrapped FROM vault WHERE id = 1",
	    -1, &st, NULL);
	if (rc != SQLITE_OK) {
		/* No vault table at all: not a hotline profile yet. */
		sqlite3_finalize(st);
		return hl_fail(cause, HL_ENOVAULT, "vault: this database has no vault");
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = (rc == SQLITE_DONE) ?
		    hl_fail(cause, HL_ENOVAULT, "vault: this database has no vault") :
		    hl_db_error(db, rc, cause);
		sqlite3_finalize(st);
		return rc;
	}
	const char *kdf = (const char *)sqlite3_column_text(st, 0);
	sqlite3_int64 ops = sqlite3_column_int64(st, 1);
	sqlite3_int64 mem = sqlite3_column_int64(st, 2);
	r->p.opslimit = ops > 0 ? (uint64_t)ops : 0;
	r->p.memlimit = mem > 0 ? (size_t)mem : 0;
	if (kdf == NULL || strcmp(kdf, KDF_NAME) != 0 || !params_ok(&r->p) ||
	    sqlite3_column_bytes(st, 3) != (int)sizeof r->salt ||
	    sqlite3_column_bytes(st, 4) != (int)sizeof r->wrapped) {
		sqlite3_finalize(st);
		return hl_fail(cause, HL_EVAULT, "vault: the vault record is damaged");
	}
	memcpy(r->salt, sqlite3_column_blob(st, 3), sizeof r->salt);
	memcpy(r->wrapped, sqlite3_column_blob(st, 4), sizeof r->wrapped);
	sqlite3_finalize(st);
	return 0;
}

/* Unwraps the data key into data_key (DATA_KEY_LEN, sodium_malloc'd). */
static int
unwrap(sqlite3 *db, const char *pass, size_t passlen, uint8_t *data_key,
    char *cause)
{
	struct vault_row r;
	int rc = read_row(db, &r, cause);
	if (rc != 0)
		return rc;
	uint8_t *kek = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
	if (kek == NULL)
		return HL_ENOMEM;
	rc = derive_kek(pass, passlen, r.salt, &r.p, kek, cause);
	if (rc == 0) {
		uint8_t ad[64];
		size_t adlen = wrap_ad(&r.p, r.salt, ad);
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(data_key, NULL, NULL,
		    r.wrapped + NONCE_LEN, sizeof r.wrapped - NONCE_LEN, ad, adlen,
		    r.wrapped, kek) != 0)
			rc = hl_fail(cause, HL_EPASSPHRASE, "wrong passphrase");
	}
	sodium_free(kek);
	return rc;
}

int
hl_vault_unlock(sqlite3 *db, const char *pass, size_t passlen,
    struct hl_vault **out, char *cause)
{
	*out = NULL;
	if (sodium_init() < 0)
		return hl_fail(cause, HL_ECRYPTO, "vault: libsodium failed to start");
	uint8_t *data_key = sodium_malloc(DATA_KEY_LEN);
	if (data_key == NULL)
		return HL_ENOMEM;
	int rc = unwrap(db, pass, passlen, data_key, cause);
	if (rc == 0)
		rc = vault_from_data_key(data_key, out);
	sodium_free(data_key);
	return rc;
}

int
hl_vault_rewrap(sqlite3 *db, const char *oldpass, size_t oldlen,
    const char *newpass, size_t newlen, const struct hl_kdf_params *params,
    char *cause)
{
	struct hl_kdf_params def;
	if (params == NULL) {
		hl_kdf_params_default(&def);
		params = &def;
	}
	if (!params_ok(params))
		return hl_fail(cause, HL_EINVAL, "vault: KDF parameters out of range");
	if (newlen == 0)
		return hl_fail(cause, HL_EINVAL, "vault: empty passphrase");
	uint8_t *data_key = sodium_malloc(DATA_KEY_LEN);
	if (data_key == NULL)
		return HL_ENOMEM;
	int rc = unwrap(db, oldpass, oldlen, data_key, cause);
	if (rc == 0)
		rc = store_wrapped(db, data_key, newpass, newlen, params, cause);
	sodium_free(data_key);
	return rc;
}

int
hl_vault_params(sqlite3 *db, struct hl_kdf_params *out)
{
	struct vault_row r;
	int rc = read_row(db, &r, NULL);
	if (rc == 0)
		*out = r.p;
	return rc;
}

void
hl_vault_free(struct hl_vault *v)
{
	if (v == NULL)
		return;
	if (v->seal_key != NULL)
		sodium_free(v->seal_key);
	if (v->index_key != NULL)
		sodium_free(v->index_key);
	free(v);
}

static int
build_ad(const char *table, const uint8_t *rowkey, size_t rowkeylen,
    uint8_t *ad, size_t *adlen)
{
	size_t tl = strlen(table);
	if (4 + tl + 1 + rowkeylen > AD_MAX)
		return HL_EINVAL;
	memcpy(ad, "hl1", 4);    /* with its NUL: a separator */
	memcpy(ad + 4, table, tl + 1);
	if (rowkeylen > 0)
		memcpy(ad + 4 + tl + 1, rowkey, rowkeylen);
	*adlen = 4 + tl + 1 + rowkeylen;
	return 0;
}

int
hl_vault_seal(const struct hl_vault *v, const char *table,
    const uint8_t *rowkey, size_t rowkeylen, const uint8_t *pt, size_t ptlen,
    uint8_t **ct, size_t *ctlen)
{
	uint8_t ad[AD_MAX];
	size_t adlen;
	*ct = NULL;
	*ctlen = 0;
	if (build_ad(table, rowkey, rowkeylen, ad, &adlen) != 0)
		return HL_EINVAL;
	size_t n = ptlen + HL_VAULT_OVERHEAD;
	uint8_t *out = malloc(n);
	if (out == NULL)
		return HL_ENOMEM;
	out[0] = SEAL_VERSION;
	randombytes_buf(out + 1, NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + NONCE_LEN, NULL, pt,
	    ptlen, ad, adlen, NULL, out + 1, v->seal_key);
	*ct = out;
	*ctlen = n;
	return 0;
}

int
hl_vault_open(const struct hl_vault *v, const char *table,
    const uint8_t *rowkey, size_t rowkeylen, const uint8_t *ct, size_t ctlen,
    uint8_t **pt, size_t *ptlen)
{
	uint8_t ad[AD_MAX];
	size_t adlen;
	*pt = NULL;
	*ptlen = 0;
	if (build_ad(table, rowkey, rowkeylen, ad, &adlen) != 0)
		return HL_EINVAL;
	if (ct == NULL || ctlen < HL_VAULT_OVERHEAD || ct[0] != SEAL_VERSION)
		return HL_EVAULT;
	size_t n = ctlen - HL_VAULT_OVERHEAD;
	uint8_t *out = malloc(n + 1);
	if (out == NULL)
		return HL_ENOMEM;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL,
	    ct + 1 + NONCE_LEN, ctlen - 1 - NONCE_LEN, ad, adlen, ct + 1,
	    v->seal_key) != 0) {
		free(out);
		return HL_EVAULT;
	}
	out[n] = '\0';
	*pt = out;
	*ptlen = n;
	return 0;
}

void
hl_vault_free_plain(uint8_t *pt, size_t len)
{
	if (pt == NULL)
		return;
	sodium_memzero(pt, len);
	free(pt);
}

void
hl_vault_index(const struct hl_vault *v, const char *table, const void *value,
    size_t len, uint8_t out[HL_VAULT_INDEX_LEN])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, v->index_key, crypto_generichash_KEYBYTES,
	    HL_VAULT_INDEX_LEN);
	crypto_generichash_update(&st, (const uint8_t *)table, strlen(table) + 1);
	crypto_generichash_update(&st, value, len);
	crypto_generichash_final(&st, out, HL_VAULT_INDEX_LEN);
	sodium_memzero(&st, sizeof st);
}
