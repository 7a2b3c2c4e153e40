/*
 * hl_session: end-to-end sessions with contacts, over libsignal-protocol-c,
 * kept in one SQLite database sealed by the vault.
 *
 * Bytes in, bytes and an error out: nothing here prints, and nothing above
 * this header sees a libsignal type. One struct hl_crypto belongs to one
 * thread at a time.
 *
 * Transactions: every operation that changes state runs inside an SQLite
 * savepoint, so it is atomic alone and also joins a transaction the caller
 * opened with hl_crypto_begin(). Rolling that transaction back leaves every
 * session exactly as it was, which is how a caller keeps "encrypt + store
 * the ciphertext" and "decrypt + store the message" all-or-nothing.
 */
#ifndef HL_SESSION_H
#define HL_SESSION_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/hl_vault.h"

#define HL_KEY_LEN 33        /* a serialised Curve25519 public key: 0x05 + 32 */
#define HL_SIG_LEN 64
#define HL_DEVICE_ID 1       /* one device per handle in version 1 */
#define HL_SAFETY_LEN 60     /* digits of a displayable safety number */

/* Signal message types as they travel in the relay envelope. */
#define HL_MSG_SIGNAL 2
#define HL_MSG_PREKEY 3

struct hl_crypto;

struct hl_prekey_pub {
	uint32_t id;
	uint8_t key[HL_KEY_LEN];
};

struct hl_signed_prekey_pub {
	uint32_t id;
	uint8_t key[HL_KEY_LEN];
	uint8_t signature[HL_SIG_LEN];
	int64_t created_ms;
};

/* What a contact publishes, and what the relay hands out: one one-time
 * prekey at most (has_prekey 0 when the relay ran out). */
struct hl_bundle {
	uint32_t registration_id;
	uint32_t device_id;
	uint8_t identity_key[HL_KEY_LEN];
	struct hl_signed_prekey_pub signed_prekey;
	int has_prekey;
	struct hl_prekey_pub prekey;
};

struct hl_ciphertext {
	int type;           /* HL_MSG_PREKEY or HL_MSG_SIGNAL */
	uint8_t *data;      /* owned; free with hl_ciphertext_free */
	size_t len;
};

enum hl_trust {
	HL_TRUST_NONE,        /* no key known yet */
	HL_TRUST_UNVERIFIED,  /* first seen, or accepted without comparison */
	HL_TRUST_VERIFIED,    /* safety number compared out of band */
	HL_TRUST_CHANGED,     /* a new key was seen: sending is blocked */
};

struct hl_identity_info {
	enum hl_trust trust;
	int has_key;
	uint8_t key[HL_KEY_LEN];          /* the accepted key */
	int has_pending;
	uint8_t pending[HL_KEY_LEN];      /* the new, not yet accepted key */
	int64_t first_seen_ms;
	int64_t changed_ms;               /* when trust last changed */
};

enum hl_key_event {
	HL_KEY_FIRST_SEEN,
	HL_KEY_CHANGED,     /* a new key seen; also a further one while one waits */
	HL_KEY_TRUSTED,     /* accepted without comparing safety numbers */
	HL_KEY_VERIFIED,    /* safety number compared */
	HL_KEY_REJECTED,    /* a waiting key dismissed; the old one stays */
};

struct hl_key_log_entry {
	int64_t at_ms;
	enum hl_key_event event;
	int has_old;
	uint8_t old_key[HL_KEY_LEN];
	uint8_t new_key[HL_KEY_LEN];
};

/* Creates the database at path (which must not hold a vault yet), its
 * vault under pass with params (NULL: the default), and its tables. No
 * identity yet: see hl_identity_create. *out is the caller's. */
int hl_crypto_create(const char *path, const char *pass, size_t passlen,
    const struct hl_kdf_params *params, struct hl_crypto **out, char *cause);

/* Opens an existing database and unlocks its vault. HL_ENOTFOUND,
 * HL_ENOVAULT or HL_EPASSPHRASE with a cause. *out is the caller's. */
int hl_crypto_open(const char *path, const char *pass, size_t passlen,
    struct hl_crypto **out, char *cause);

/* Wipes every key held in memory and closes the database. NULL is fine.
 * An open transaction is rolled back. */
void hl_crypto_close(struct hl_crypto *c);

/* Borrowed: the database, for the caller's own tables in the same
 * transactions, and the vault, to seal the caller's own columns. */
sqlite3 *hl_crypto_db(struct hl_crypto *c);
const struct hl_vault *hl_crypto_vault(struct hl_crypto *c);

/* The caller's transaction (BEGIN IMMEDIATE / COMMIT / ROLLBACK). */
int hl_crypto_begin(struct hl_crypto *c);
int hl_crypto_commit(struct hl_crypto *c);
int hl_crypto_rollback(struct hl_crypto *c);

/* Creates our identity: identity key pair, registration id, signed prekey
 * and n_prekeys one-time prekeys, all sealed. handle is our own handle (for
 * safety numbers). HL_EEXIST when an identity exists. */
int hl_identity_create(struct hl_crypto *c, const char *handle,
    uint32_t n_prekeys, char *cause);

/* 1 when an identity exists, 0 when not, < 0 on error. */
int hl_identity_exists(struct hl_crypto *c);

/* Our own handle (borrowed, valid while c is open), or NULL. */
const char *hl_identity_handle(struct hl_crypto *c);

/* Our public bundle without a one-time prekey (registration id, device,
 * identity key and current signed prekey). */
int hl_identity_public(struct hl_crypto *c, struct hl_bundle *out);

/* The public halves of every one-time prekey we hold. *out (caller frees
 * with free()) holds *n entries, oldest first. */
int hl_prekeys_public(struct hl_crypto *c, struct hl_prekey_pub **out,
    size_t *n);

/* Generates and stores n more one-time prekeys, ids continuing after the
 * last ever used. *out (caller frees with free()) holds their public
 * halves, to upload. */
int hl_prekeys_generate(struct hl_crypto *c, uint32_t n,
    struct hl_prekey_pub **out, size_t *nout);

/* How long a replaced signed prekey is kept: a first message built on it
 * can wait at the relay for its whole retention (retention_days, 30 by
 * default) after the last bundle with it was handed out; a week more
 * covers a relay with a longer retention than usual and clocks that
 * differ. */
#define HL_SIGNED_PREKEY_KEEP_MS ((30LL + 14) * 86400000)

/* Generates a new signed prekey and makes it current. The previous one
 * stays usable for messages in flight: it and every other replaced one
 * are removed only HL_SIGNED_PREKEY_KEEP_MS after they were replaced. */
int hl_signed_prekey_rotate(struct hl_crypto *c,
    struct hl_signed_prekey_pub *out);

/* Removes the signed prekeys replaced before replaced_before_ms (the
 * current one is never removed). Rotation calls it; tests and a later
 * retention setting may too. */
int hl_signed_prekeys_prune(struct hl_crypto *c, int64_t replaced_before_ms);

/* Starts a session with handle from its bundle (fetched from the relay).
 * HL_EUNTRUSTED when the bundle's identity key differs from the one we
 * know (recorded as pending; see hl_identity_trust); HL_EBUNDLE when the
 * bundle is malformed or its signature does not verify. */
int hl_session_start(struct hl_crypto *c, const char *handle,
    const struct hl_bundle *b, char *cause);

/* 1 when a session with handle exists, 0 when not, < 0 on error. */
int hl_session_exists(struct hl_crypto *c, const char *handle);

/* Encrypts pt for handle. HL_ENOSESSION when there is none (start one from
 * a bundle), HL_EUNTRUSTED when the contact's key changed and was not yet
 * accepted. On success *out owns the ciphertext. */
int hl_session_encrypt(struct hl_crypto *c, const char *handle,
    const uint8_t *pt, size_t ptlen, struct hl_ciphertext *out, char *cause);

/* Decrypts a ciphertext of type (HL_MSG_*) from handle. On success *pt
 * (caller frees with hl_plaintext_free) holds *ptlen bytes. Failures:
 *   HL_EUNTRUSTED  a PreKey message under a changed identity key; the key
 *                  is recorded as pending; after hl_identity_trust the same
 *                  ciphertext decrypts
 *   HL_EDUPLICATE  already decrypted (a replay or a redelivery)
 *   HL_ETAMPERED   malformed, forged or altered
 *   HL_ENOSESSION  a Signal message with no session to decrypt it
 * Nothing is changed on failure, except the pending key. */
int hl_session_decrypt(struct hl_crypto *c, const char *handle, int type,
    const uint8_t *ct, size_t ctlen, uint8_t **pt, size_t *ptlen, char *cause);

void hl_ciphertext_free(struct hl_ciphertext *ct);
void hl_plaintext_free(uint8_t *pt, size_t len);

/* What we know of handle's identity. HL_TRUST_NONE and has_key 0 when
 * nothing. */
int hl_identity_info(struct hl_crypto *c, const char *handle,
    struct hl_identity_info *out);

/* Accepts key as handle's identity (the officer compared it, or decided to
 * carry on): the pending key becomes the accepted one, trust becomes
 * VERIFIED when verified is set, else UNVERIFIED, and a session built on the
 * old key is dropped so the next send starts afresh. key must equal the
 * pending key, or the accepted one when nothing is pending (HL_ESTATE
 * otherwise): nobody accepts a key they were not shown. A pending key is
 * never replaced by a later one, so the key shown is the key accepted. */
int hl_identity_trust(struct hl_crypto *c, const char *handle,
    const uint8_t key[HL_KEY_LEN], int verified);

/* Dismisses the pending key (it did not match what the contact read out):
 * the accepted key and its trust stay. key must equal the pending key
 * (HL_ESTATE otherwise). A later message under another key shows as a new
 * change. */
int hl_identity_reject(struct hl_crypto *c, const char *handle,
    const uint8_t key[HL_KEY_LEN]);

/* A key for handle seen outside a session (the relay's directory): when it
 * differs from the accepted key it waits as pending, exactly like a changed
 * key in a bundle, and sending is blocked until hl_identity_trust. Nothing
 * happens when no key is known yet or the key is the accepted one. */
int hl_identity_note_key(struct hl_crypto *c, const char *handle,
    const uint8_t key[HL_KEY_LEN]);

/* A key for handle seen before any conversation (the directory, for
 * `verify`): with no key known it becomes the accepted one, unverified,
 * logged as first seen, so that its safety number can be compared before
 * the first message; otherwise as hl_identity_note_key. */
int hl_identity_note_first(struct hl_crypto *c, const char *handle,
    const uint8_t key[HL_KEY_LEN]);

/* Calls fn for each key event of handle, oldest first. */
int hl_identity_log(struct hl_crypto *c, const char *handle,
    void (*fn)(const struct hl_key_log_entry *e, void *arg), void *arg);

/* The 60-digit safety number of our identity and handle's key: the
 * accepted key, or the pending one when pending is set. Equal on both sides.
 * out has room for HL_SAFETY_LEN + 1 bytes. */
int hl_safety_number(struct hl_crypto *c, const char *handle, int pending,
    char *out);

/* The key event's name ("first-seen", "changed", "trusted", "verified",
 * "rejected")
 * and the trust state's ("none", "unverified", "verified", "changed"). */
const char *hl_key_event_name(enum hl_key_event e);
const char *hl_trust_name(enum hl_trust t);

#endif
