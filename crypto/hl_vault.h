/*
 * hl_vault: the at-rest protection of a client database.
 *
 * A random 256-bit data key seals every sensitive column with
 * XChaCha20-Poly1305. The data key itself is stored wrapped by a key that
 * Argon2id derives from the passphrase; the Argon2id parameters and salt
 * sit beside it in the `vault` table, so they can be raised (or the
 * passphrase changed) by rewrapping one value. Each sealed value carries
 * associated data naming its table and row, so a value copied into another
 * row does not open. Lookups by a secret value (a contact's handle) use a
 * keyed hash, the blind index, so the file holds no handle in clear.
 *
 * Keys live in sodium_malloc'd memory (locked, guarded) and are wiped when
 * the vault is freed.
 */
#ifndef HL_VAULT_H
#define HL_VAULT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define HL_VAULT_INDEX_LEN 32    /* bytes of a blind index */
#define HL_VAULT_OVERHEAD (1 + 24 + 16) /* version, nonce, tag */

struct hl_vault;

struct hl_kdf_params {
	uint64_t opslimit;  /* Argon2id passes */
	size_t memlimit;    /* bytes */
};

/* Argon2id "moderate" (3 passes, 256 MiB): the default for new profiles. */
void hl_kdf_params_default(struct hl_kdf_params *p);
/* The smallest libsodium accepts: for tests and benchmarks only. */
void hl_kdf_params_minimum(struct hl_kdf_params *p);

/* Creates the vault table in db (which must have none) with a fresh data
 * key wrapped under pass. HL_EEXIST when db already has a vault. *out is
 * the caller's (free with hl_vault_free). pass is borrowed. */
int hl_vault_create(sqlite3 *db, const char *pass, size_t passlen,
    const struct hl_kdf_params *params, struct hl_vault **out, char *cause);

/* Unlocks the vault of db. HL_ENOVAULT when there is none, HL_EPASSPHRASE
 * when pass is wrong (or the vault row was tampered with). */
int hl_vault_unlock(sqlite3 *db, const char *pass, size_t passlen,
    struct hl_vault **out, char *cause);

/* Rewraps the data key, unwrapped with oldpass, under newpass with params
 * (NULL: the default): a passphrase change, or stronger parameters. Sealed
 * values are unchanged. HL_EPASSPHRASE when oldpass is wrong. */
int hl_vault_rewrap(sqlite3 *db, const char *oldpass, size_t oldlen,
    const char *newpass, size_t newlen, const struct hl_kdf_params *params,
    char *cause);

/* Reads the recorded KDF parameters of db's vault. */
int hl_vault_params(sqlite3 *db, struct hl_kdf_params *out);

/* Wipes the keys and frees v. NULL is fine. */
void hl_vault_free(struct hl_vault *v);

/* Seals pt for the row (table, rowkey). *ct (caller frees with free())
 * holds *ctlen = ptlen + HL_VAULT_OVERHEAD bytes. */
int hl_vault_seal(const struct hl_vault *v, const char *table,
    const uint8_t *rowkey, size_t rowkeylen, const uint8_t *pt, size_t ptlen,
    uint8_t **ct, size_t *ctlen);

/* Opens a value sealed for (table, rowkey). *pt is the caller's, freed
 * with hl_vault_free_plain (which wipes); it is NUL-terminated one byte past
 * *ptlen for convenience. HL_EVAULT when the value does not open. */
int hl_vault_open(const struct hl_vault *v, const char *table,
    const uint8_t *rowkey, size_t rowkeylen, const uint8_t *ct, size_t ctlen,
    uint8_t **pt, size_t *ptlen);

/* Wipes and frees a plaintext from hl_vault_open. NULL is fine. */
void hl_vault_free_plain(uint8_t *pt, size_t len);

/* The blind index of value within table: a keyed BLAKE2b hash, stable for
 * this vault, meaningless without its key. */
void hl_vault_index(const struct hl_vault *v, const char *table,
    const void *value, size_t len, uint8_t out[HL_VAULT_INDEX_LEN]);

#endif
