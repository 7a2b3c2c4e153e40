#include "client/store.h"
#include "client/tlv.h"
#include "crypto/hl_db.h"
#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"
#include "crypto/hl_vault.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_ACCOUNT "account"
#define T_CONTACTS "contacts"
#define T_MESSAGES "messages"
#define T_CONV "conversations"
#define T_HELD "held"
#define GAPS_OPEN_MAX 1000   /* open gaps kept per contact */

/* The SQL below spells these values out. */
_Static_assert(HL_KIND_RECEIPT == 1 && HL_KIND_ACK == 2, "kind numbers");
_Static_assert(HL_ST_QUEUED == 0 && HL_ST_ACKNOWLEDGED == 3 &&
    HL_ST_OVERDUE == 4, "state numbers");
_Static_assert(HL_OUT == 0 && HL_IN == 1, "direction numbers");

static const char client_schema[] =
    "CREATE TABLE IF NOT EXISTS " T_ACCOUNT " (k BLOB PRIMARY KEY, v BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS " T_CONTACTS " (k BLOB PRIMARY KEY, v BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS " T_MESSAGES " ("
    " rowid INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL, dir INTEGER NOT NULL, peer_idx BLOB NOT NULL,"
    " kind INTEGER NOT NULL, prio INTEGER NOT NULL, state INTEGER NOT NULL,"
    " created INTEGER NOT NULL, ack_by INTEGER NOT NULL DEFAULT 0,"
    " next_try INTEGER NOT NULL DEFAULT 0, needs_ack INTEGER NOT NULL DEFAULT 0,"
    " v BLOB NOT NULL, UNIQUE (dir, peer_idx, id));"
    "CREATE INDEX IF NOT EXISTS messages_by_id ON " T_MESSAGES " (id);"
    "CREATE INDEX IF NOT EXISTS messages_by_state ON " T_MESSAGES " (dir, state, next_try);"
    "CREATE INDEX IF NOT EXISTS messages_by_peer ON " T_MESSAGES " (peer_idx, dir, state);"
    "CREATE INDEX IF NOT EXISTS messages_by_peer_row ON " T_MESSAGES " (peer_idx, rowid);"
    "CREATE TABLE IF NOT EXISTS events (msg INTEGER NOT NULL, state INTEGER NOT NULL,"
    " at INTEGER NOT NULL, PRIMARY KEY (msg, state));"
    "CREATE TABLE IF NOT EXISTS " T_CONV " (peer_idx BLOB PRIMARY KEY,"
    " out_seq INTEGER NOT NULL DEFAULT 0, in_max INTEGER NOT NULL DEFAULT 0,"
    " v BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS gaps (peer_idx BLOB NOT NULL, seq INTEGER NOT NULL,"
    " since INTEGER NOT NULL, PRIMARY KEY (peer_idx, seq));"
    "CREATE TABLE IF NOT EXISTS " T_HELD " (qid TEXT PRIMARY KEY, peer_idx BLOB NOT NULL,"
    " received INTEGER NOT NULL, v BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS client_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);";

/* TLV tags of the sealed records. */
enum {
	TAG_PEER = 1, TAG_CONTENT, TAG_CT_TYPE, TAG_CT, TAG_ATTEMPTS, TAG_REASON,
	TAG_ESC_TO, TAG_ESC_ID, TAG_ESC_OF, TAG_KEY_CHANGED, TAG_ACK_RESP,
	TAG_ACK_NOTE,
	TAG_RELAY = 20, TAG_HANDLE, TAG_TOKEN, TAG_PIN, TAG_CA, TAG_REGISTERED,
	TAG_NAME = 30, TAG_ORG, TAG_COUNTRY, TAG_ROLE, TAG_LANGS, TAG_TZ, TAG_ALT,
	TAG_IKEY, TAG_UPDATED, TAG_FETCHED,
	TAG_FROM = 40, TAG_ID, TAG_TYPE, TAG_HELD_CT, TAG_HELD_REASON,
	TAG_HELD_PT,
};

static sqlite3 *
db_of(struct hl_crypto *c)
{
	return hl_crypto_db(c);
}

static void
peer_index(struct hl_crypto *c, const char *peer, uint8_t idx[HL_VAULT_INDEX_LEN])
{
	hl_vault_index(hl_crypto_vault(c), "contact", peer, strlen(peer), idx);
}

static int
prep(struct hl_crypto *c, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(db_of(c), sql, -1, st, NULL) != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
		return HL_EDB;
	}
	return 0;
}

int
hl_store_init(struct hl_crypto *c, char *cause)
{
	return hl_db_exec(db_of(c), client_schema, cause);
}

/* --- sealed key/value rows (account, contacts) --- */

static int
kv_put(struct hl_crypto *c, const char *table, const uint8_t *k, size_t klen,
    const struct hl_tlv_buf *b)
{
	uint8_t *sealed;
	size_t slen;
	char sql[128];
	sqlite3_stmt *st = NULL;
	if (b->failed)
		return HL_ENOMEM;
	int rc = hl_vault_seal(hl_crypto_vault(c), table, k, klen, b->data, b->len,
	    &sealed, &slen);
	if (rc != 0)
		return rc;
	snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO %s (k, v) VALUES (?, ?)",
	    table);
	rc = prep(c, sql, &st);
	if (rc == 0) {
		sqlite3_bind_blob(st, 1, k, (int)klen, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, sealed, (int)slen, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	}
	sqlite3_finalize(st);
	free(sealed);
	return rc;
}

/* 1 and the plaintext (free with hl_vault_free_plain), 0, or < 0. */
static int
kv_get(struct hl_crypto *c, const char *table, const uint8_t *k, size_t klen,
    uint8_t **pt, size_t *ptlen)
{
	char sql[128];
	sqlite3_stmt *st = NULL;
	snprintf(sql, sizeof sql, "SELECT v FROM %s WHERE k = ?", table);
	int rc = prep(c, sql, &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_blob(st, 1, k, (int)klen, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		rc = hl_vault_open(hl_crypto_vault(c), table, k, klen,
		    sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
		    pt, ptlen);
		rc = rc == 0 ? 1 : rc;
	} else {
		rc = step == SQLITE_DONE ? 0 : HL_EDB;
	}
	sqlite3_finalize(st);
	return rc;
}

static const uint8_t account_key[1] = { 1 };

int
hl_store_account_get(struct hl_crypto *c, struct hl_account *a)
{
	uint8_t *pt;
	size_t n;
	memset(a, 0, sizeof *a);
	int rc = kv_get(c, T_ACCOUNT, account_key, sizeof account_key, &pt, &n);
	if (rc <= 0)
		return rc;
	if (hl_tlv_get_str(pt, n, TAG_RELAY, a->relay, sizeof a->relay) < 0 ||
	    hl_tlv_get_str(pt, n, TAG_HANDLE, a->handle, sizeof a->handle) < 0 ||
	    hl_tlv_get_str(pt, n, TAG_TOKEN, a->token, sizeof a->token) < 0 ||
	    hl_tlv_get_str(pt, n, TAG_PIN, a->pin, sizeof a->pin) < 0 ||
	    hl_tlv_get_str(pt, n, TAG_CA, a->ca_file, sizeof a->ca_file) < 0 ||
	    hl_tlv_get_i64(pt, n, TAG_REGISTERED, &a->registered_ms) < 0)
		rc = HL_EVAULT;
	hl_vault_free_plain(pt, n);
	return rc;
}

int
hl_store_account_put(struct hl_crypto *c, const struct hl_account *a)
{
	struct hl_tlv_buf b = { 0 };
	hl_tlv_put_str(&b, TAG_RELAY, a->relay);
	hl_tlv_put_str(&b, TAG_HANDLE, a->handle);
	hl_tlv_put_str(&b, TAG_TOKEN, a->token);
	hl_tlv_put_str(&b, TAG_PIN, a->pin);
	hl_tlv_put_str(&b, TAG_CA, a->ca_file);
	hl_tlv_put_i64(&b, TAG_REGISTERED, a->registered_ms);
	int rc = kv_put(c, T_ACCOUNT, account_key, sizeof account_key, &b);
	hl_tlv_buf_free(&b);
	return rc;
}

/* A contact record's plaintext into out: 0, or HL_EVAULT. */
static int
contact_decode(const uint8_t *pt, size_t n, struct hl_contact *out)
{
	char langs[HL_LANGUAGES_MAX * 9 + 1];
	struct hl_dir_entry *e = &out->entry;
	struct hl_profile *p = &e->profile;
	const uint8_t *key;
	size_t keylen;
	memset(out, 0, sizeof *out);
	if (hl_tlv_get_str(pt, n, TAG_HANDLE, e->handle, sizeof e->handle) < 0 ||
	    hl_tlv_get_str(pt, n, TAG_NAME, p->name, sizeof p->name) < 0 ||
	    hl_tlv_get_str(pt, n, TAG_ORG, p->organisation, sizeof p->organisation) < 0 ||
	    hl_tlv_get_str(pt, n, TAG_COUNTRY, p->country, sizeof p->country) < 0 ||
	    hl_tlv_get_str(pt, n, TAG_ROLE, p->role, sizeof p->role) < 0 ||
	    hl_tlv_get_str(pt, n, TAG_LANGS, langs, sizeof langs) < 0 ||
	    hl_tlv_get_str(pt, n, TAG_TZ, p->timezone, sizeof p->timezone) < 0 ||
	    hl_tlv_get_str(pt, n, TAG_ALT, p->alternate, sizeof p->alternate) < 0 ||
	    hl_tlv_get_i64(pt, n, TAG_UPDATED, &e->updated_ms) < 0 ||
	    hl_tlv_get_i64(pt, n, TAG_FETCHED, &out->fetched_ms) < 0 ||
	    hl_tlv_get(pt, n, TAG_IKEY, &key, &keylen) != 1 || keylen != HL_KEY_LEN)
		return HL_EVAULT;
	memcpy(e->identity_key, key, HL_KEY_LEN);
	/* Languages travel comma-separated in the record. */
	for (char *s = langs, *tok; p->n_languages < HL_LANGUAGES_MAX &&
	    (tok = strsep(&s, ",")) != NULL;) {
		if (*tok != '\0' && strlen(tok) < sizeof p->languages[0])
			memcpy(p->languages[p->n_languages++], tok, strlen(tok) + 1);
	}
	return 0;
}

int
hl_store_contact_get(struct hl_crypto *c, const char *handle,
    struct hl_contact *out)
{
	uint8_t idx[HL_VAULT_INDEX_LEN];
	uint8_t *pt;
	size_t n;
	memset(out, 0, sizeof *out);
	if (!hl_handle_valid(handle))
		return HL_EINVAL;
	peer_index(c, handle, idx);
	int rc = kv_get(c, T_CONTACTS, idx, sizeof idx, &pt, &n);
	if (rc <= 0)
		return rc;
	rc = contact_decode(pt, n, out);
	hl_vault_free_plain(pt, n);
	return rc == 0 ? 1 : rc;
}

int
hl_store_contact_each(struct hl_crypto *c,
    int (*fn)(const struct hl_contact *ct, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(c, "SELECT k, v FROM " T_CONTACTS, &st);
	int step = SQLITE_DONE;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		uint8_t *pt;
		size_t n;
		struct hl_contact ct;
		rc = hl_vault_open(hl_crypto_vault(c), T_CONTACTS,
		    sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
		    sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
		    &pt, &n);
		if (rc != 0)
			break;
		rc = contact_decode(pt, n, &ct);
		hl_vault_free_plain(pt, n);
		if (rc == 0)
			rc = fn(&ct, arg);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = HL_EDB;
	sqlite3_finalize(st);
	return rc < 0 ? rc : 0;
}

int
hl_store_contact_put(struct hl_crypto *c, const struct hl_contact *ct)
{
	const struct hl_dir_entry *e = &ct->entry;
	const struct hl_profile *p = &e->profile;
	uint8_t idx[HL_VAULT_INDEX_LEN];
	char langs[HL_LANGUAGES_MAX * 9 + 1] = "";
	struct hl_tlv_buf b = { 0 };
	if (!hl_handle_valid(e->handle))
		return HL_EINVAL;
	for (size_t i = 0; i < p->n_languages && i < HL_LANGUAGES_MAX; i++) {
		if (i > 0)
			strcat(langs, ",");
		strncat(langs, p->languages[i], 8);
	}
	hl_tlv_put_str(&b, TAG_HANDLE, e->handle);
	hl_tlv_put_str(&b, TAG_NAME, p->name);
	hl_tlv_put_str(&b, TAG_ORG, p->organisation);
	hl_tlv_put_str(&b, TAG_COUNTRY, p->country);
	hl_tlv_put_str(&b, TAG_ROLE, p->role);
	hl_tlv_put_str(&b, TAG_LANGS, langs);
	hl_tlv_put_str(&b, TAG_TZ, p->timezone);
	hl_tlv_put_str(&b, TAG_ALT, p->alternate);
	hl_tlv_put(&b, TAG_IKEY, e->identity_key, HL_KEY_LEN);
	hl_tlv_put_i64(&b, TAG_UPDATED, e->updated_ms);
	hl_tlv_put_i64(&b, TAG_FETCHED, ct->fetched_ms);
	peer_index(c, e->handle, idx);
	int rc = kv_put(c, T_CONTACTS, idx, sizeof idx, &b);
	hl_tlv_buf_free(&b);
	return rc;
}

/* --- messages --- */

/* The row key a message is sealed under: direction, peer and id, so a
 * sealed value moved to another row does not open. */
static void
msg_rowkey(const uint8_t idx[HL_VAULT_INDEX_LEN], enum hl_dir dir,
    const char *id, uint8_t out[1 + HL_VAULT_INDEX_LEN + HL_ID_HEX])
{
	out[0] = (uint8_t)dir;
	memcpy(out + 1, idx, HL_VAULT_INDEX_LEN);
	memcpy(out + 1 + HL_VAULT_INDEX_LEN, id, HL_ID_HEX);
}

int
hl_msg_needs_ack(const struct hl_content *c)
{
	if (c->kind == HL_KIND_RECEIPT || c->kind == HL_KIND_ACK)
		return 0;
	return c->kind == HL_KIND_CHECK || c->kind == HL_KIND_INCIDENT ||
	    c->ack_by > 0 || c->prio != HL_PRIO_ROUTINE;
}

static int
msg_seal(struct hl_crypto *c, const struct hl_msg *m,
    const uint8_t idx[HL_VAULT_INDEX_LEN], uint8_t **sealed, size_t *slen)
{
	struct hl_tlv_buf b = { 0 };
	uint8_t *padded = NULL;
	size_t plen = 0;
	uint8_t rk[1 + HL_VAULT_INDEX_LEN + HL_ID_HEX];
	int rc = hl_content_encode(&m->content, &padded, &plen, NULL);
	if (rc != 0)
		return rc;
	hl_tlv_put_str(&b, TAG_PEER, m->peer);
	hl_tlv_put(&b, TAG_CONTENT, padded, plen);
	hl_content_free_bytes(padded, plen);
	if (m->ct != NULL) {
		hl_tlv_put_i64(&b, TAG_CT_TYPE, m->ct_type);
		hl_tlv_put(&b, TAG_CT, m->ct, m->ct_len);
	}
	hl_tlv_put_i64(&b, TAG_ATTEMPTS, m->attempts);
	hl_tlv_put_str(&b, TAG_REASON, m->reason);
	hl_tlv_put_str(&b, TAG_ESC_TO, m->escalated_to);
	hl_tlv_put_str(&b, TAG_ESC_ID, m->escalated_id);
	hl_tlv_put_str(&b, TAG_ESC_OF, m->escalation_of);
	hl_tlv_put_i64(&b, TAG_KEY_CHANGED, m->key_changed);
	hl_tlv_put_i64(&b, TAG_ACK_RESP, (int64_t)m->ack_response);
	if (m->ack_note != NULL)
		hl_tlv_put_str(&b, TAG_ACK_NOTE, m->ack_note);
	if (b.failed) {
		hl_tlv_buf_free(&b);
		return HL_ENOMEM;
	}
	msg_rowkey(idx, m->dir, m->id, rk);
	rc = hl_vault_seal(hl_crypto_vault(c), T_MESSAGES, rk, sizeof rk, b.data,
	    b.len, sealed, slen);
	hl_tlv_buf_free(&b);
	return rc;
}

static int
record_event(struct hl_crypto *c, int64_t rowid, enum hl_state st, int64_t at)
{
	sqlite3_stmt *st_ = NULL;
	int rc = prep(c, "INSERT OR IGNORE INTO events (msg, state, at) VALUES (?, ?, ?)",
	    &st_);
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(st_, 1, rowid);
	sqlite3_bind_int(st_, 2, (int)st);
	sqlite3_bind_int64(st_, 3, at);
	rc = sqlite3_step(st_) == SQLITE_DONE ? 0 : HL_EDB;
	sqlite3_finalize(st_);
	return rc;
}

int
hl_store_msg_insert(struct hl_crypto *c, struct hl_msg *m)
{
	uint8_t idx[HL_VAULT_INDEX_LEN];
	uint8_t *sealed;
	size_t slen;
	sqlite3_stmt *st = NULL;
	if (!hl_handle_valid(m->peer) || !hl_is_lowerhex(m->id, HL_ID_HEX))
		return HL_EINVAL;
	peer_index(c, m->peer, idx);
	int rc = msg_seal(c, m, idx, &sealed, &slen);
	if (rc != 0)
		return rc;
	rc = prep(c, "INSERT INTO " T_MESSAGES " (id, dir, peer_idx, kind, prio,"
	    " state, created, ack_by, next_try, needs_ack, v)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st);
	if (rc == 0) {
		sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, (int)m->dir);
		sqlite3_bind_blob(st, 3, idx, sizeof idx, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, (int)m->content.kind);
		sqlite3_bind_int(st, 5, (int)m->content.prio);
		sqlite3_bind_int(st, 6, (int)m->state);
		sqlite3_bind_int64(st, 7, m->created_ms);
		sqlite3_bind_int64(st, 8, m->content.ack_by);
		sqlite3_bind_int64(st, 9, m->next_try_ms);
		sqlite3_bind_int(st, 10, m->dir == HL_IN &&
		    hl_msg_needs_ack(&m->content));
		sqlite3_bind_blob(st, 11, sealed, (int)slen, SQLITE_STATIC);
		int step = sqlite3_step(st);
		rc = step == SQLITE_DONE ? 0 :
		    step == SQLITE_CONSTRAINT ? HL_EEXIST : HL_EDB;
	}
	sqlite3_finalize(st);
	free(sealed);
	if (rc != 0)
		return rc;
	m->rowid = sqlite3_last_insert_rowid(db_of(c));
	if (m->at[m->state] == 0)
		m->at[m->state] = m->created_ms;
	return record_event(c, m->rowid, m->state, m->at[m->state]);
}

int
hl_store_msg_update(struct hl_crypto *c, const struct hl_msg *m)
{
	uint8_t idx[HL_VAULT_INDEX_LEN];
	uint8_t *sealed;
	size_t slen;
	sqlite3_stmt *st = NULL;
	peer_index(c, m->peer, idx);
	int rc = msg_seal(c, m, idx, &sealed, &slen);
	if (rc != 0)
		return rc;
	rc = prep(c, "UPDATE " T_MESSAGES " SET state = ?, next_try = ?, v = ?"
	    " WHERE rowid = ?", &st);
	if (rc == 0) {
		sqlite3_bind_int(st, 1, (int)m->state);
		sqlite3_bind_int64(st, 2, m->next_try_ms);
		sqlite3_bind_blob(st, 3, sealed, (int)slen, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, m->rowid);
		rc = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db_of(c)) == 1 ?
		    0 : HL_EDB;
	}
	sqlite3_finalize(st);
	free(sealed);
	return rc;
}

int
hl_store_msg_event(struct hl_crypto *c, struct hl_msg *m, enum hl_state st,
    int64_t at)
{
	if (m->at[st] != 0)
		return 0;
	m->at[st] = at;
	return record_event(c, m->rowid, st, at);
}

int
hl_store_msg_transition(struct hl_crypto *c, struct hl_msg *m,
    enum hl_state st, int64_t at)
{
	if (m->at[st] == 0)
		m->at[st] = at;
	m->state = st;
	int rc = record_event(c, m->rowid, st, m->at[st]);
	return rc != 0 ? rc : hl_store_msg_update(c, m);
}

void
hl_msg_clear(struct hl_msg *m)
{
	hl_content_clear(&m->content);
	free(m->ct);
	if (m->ack_note != NULL) {
		sodium_memzero(m->ack_note, strlen(m->ack_note));
		free(m->ack_note);
	}
	memset(m, 0, sizeof *m);
}

#define MSG_COLUMNS "rowid, id, dir, peer_idx, state, created, next_try, v"

/* Fills m from a row selected with MSG_COLUMNS. */
static int
msg_load(struct hl_crypto *c, sqlite3_stmt *st, struct hl_msg *m)
{
	uint8_t rk[1 + HL_VAULT_INDEX_LEN + HL_ID_HEX];
	uint8_t *pt;
	size_t n;
	const uint8_t *v;
	size_t vlen;
	memset(m, 0, sizeof *m);
	const char *id = (const char *)sqlite3_column_text(st, 1);
	if (id == NULL || !hl_is_lowerhex(id, HL_ID_HEX) ||
	    sqlite3_column_bytes(st, 3) != HL_VAULT_INDEX_LEN)
		return HL_EVAULT;
	m->rowid = sqlite3_column_int64(st, 0);
	memcpy(m->id, id, HL_ID_HEX + 1);
	m->dir = sqlite3_column_int(st, 2) ? HL_IN : HL_OUT;
	int state = sqlite3_column_int(st, 4);
	if (state < 0 || state >= HL_ST_COUNT)
		return HL_EVAULT;
	m->state = (enum hl_state)state;
	m->created_ms = sqlite3_column_int64(st, 5);
	m->next_try_ms = sqlite3_column_int64(st, 6);
	msg_rowkey(sqlite3_column_blob(st, 3), m->dir, m->id, rk);
	int rc = hl_vault_open(hl_crypto_vault(c), T_MESSAGES, rk, sizeof rk,
	    sqlite3_column_blob(st, 7), (size_t)sqlite3_column_bytes(st, 7), &pt, &n);
	if (rc != 0)
		return rc;
	int64_t ct_type, attempts, key_changed, ack_resp;
	rc = HL_EVAULT;
	if (hl_tlv_get_str(pt, n, TAG_PEER, m->peer, sizeof m->peer) < 0 ||
	    hl_tlv_get(pt, n, TAG_CONTENT, &v, &vlen) != 1 ||
	    hl_tlv_get_i64(pt, n, TAG_CT_TYPE, &ct_type) < 0 ||
	    hl_tlv_get_i64(pt, n, TAG_ATTEMPTS, &attempts) < 0 ||
	    hl_tlv_get_str(pt, n, TAG_REASON, m->reason, sizeof m->reason) < 0 ||
	    hl_tlv_get_str(pt, n, TAG_ESC_TO, m->escalated_to,
	    sizeof m->escalated_to) < 0 ||
	    hl_tlv_get_str(pt, n, TAG_ESC_ID, m->escalated_id,
	    sizeof m->escalated_id) < 0 ||
	    hl_tlv_get_str(pt, n, TAG_ESC_OF, m->escalation_of,
	    sizeof m->escalation_of) < 0 ||
	    hl_tlv_get_i64(pt, n, TAG_KEY_CHANGED, &key_changed) < 0 ||
	    hl_tlv_get_i64(pt, n, TAG_ACK_RESP, &ack_resp) < 0 ||
	    ack_resp < HL_RESP_NONE || ack_resp > HL_RESP_NEED_INFO)
		goto out;
	m->ack_response = (enum hl_response)ack_resp;
	if (hl_content_decode(v, vlen, &m->content, NULL) != 0)
		goto out;
	m->ct_type = (int)ct_type;
	m->attempts = (int)attempts;
	m->key_changed = key_changed != 0;
	int r = hl_tlv_get(pt, n, TAG_ACK_NOTE, &v, &vlen);
	if (r < 0 || (r == 1 && memchr(v, '\0', vlen) != NULL))
		goto out;
	if (r == 1) {
		m->ack_note = malloc(vlen + 1);
		if (m->ack_note == NULL) {
			rc = HL_ENOMEM;
			goto out;
		}
		memcpy(m->ack_note, v, vlen);
		m->ack_note[vlen] = '\0';
	}
	r = hl_tlv_get(pt, n, TAG_CT, &v, &vlen);
	if (r < 0)
		goto out;
	if (r == 1) {
		m->ct = malloc(vlen ? vlen : 1);
		if (m->ct == NULL) {
			rc = HL_ENOMEM;
			goto out;
		}
		memcpy(m->ct, v, vlen);
		m->ct_len = vlen;
	}
	rc = 0;
out:
	hl_vault_free_plain(pt, n);
	if (rc != 0) {
		hl_msg_clear(m);
		return rc;
	}
	/* The time of every state reached. */
	sqlite3_stmt *ev = NULL;
	rc = prep(c, "SELECT state, at FROM events WHERE msg = ?", &ev);
	if (rc != 0) {
		hl_msg_clear(m);
		return rc;
	}
	sqlite3_bind_int64(ev, 1, m->rowid);
	while (sqlite3_step(ev) == SQLITE_ROW) {
		int s = sqlite3_column_int(ev, 0);
		if (s >= 0 && s < HL_ST_COUNT)
			m->at[s] = sqlite3_column_int64(ev, 1);
	}
	sqlite3_finalize(ev);
	return 0;
}

int
hl_store_msg_get(struct hl_crypto *c, enum hl_dir dir, const char *peer,
    const char *id, struct hl_msg *m)
{
	uint8_t idx[HL_VAULT_INDEX_LEN];
	sqlite3_stmt *st = NULL;
	memset(m, 0, sizeof *m);
	if (!hl_handle_valid(peer))
		return HL_EINVAL;
	peer_index(c, peer, idx);
	int rc = prep(c, "SELECT " MSG_COLUMNS " FROM " T_MESSAGES
	    " WHERE dir = ? AND peer_idx = ? AND id = ?", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_int(st, 1, (int)dir);
	sqlite3_bind_blob(st, 2, idx, sizeof idx, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		rc = msg_load(c, st, m) == 0 ? 1 : HL_EVAULT;
	else
		rc = step == SQLITE_DONE ? 0 : HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

int
hl_store_msg_find(struct hl_crypto *c, const char *what, struct hl_msg *m,
    char *cause)
{
	sqlite3_stmt *st = NULL;
	size_t len = strlen(what);
	memset(m, 0, sizeof *m);
	int rc;
	if (strcmp(what, "last") == 0) {
		rc = prep(c, "SELECT " MSG_COLUMNS " FROM " T_MESSAGES
		    " WHERE dir = 1 AND kind NOT IN (1, 2)"
		    " ORDER BY created DESC, rowid DESC LIMIT 2", &st);
	} else {
		if (len < 4 || len > HL_ID_HEX || !hl_is_lowerhex(what, len))
			return hl_fail(cause, HL_EUSAGE,
			    "'%s' is not a message id (4 to 32 lower-case hex digits, or 'last')",
			    what);
		rc = prep(c, "SELECT " MSG_COLUMNS " FROM " T_MESSAGES
		    " WHERE substr(id, 1, ?) = ? ORDER BY rowid LIMIT 2", &st);
		if (rc == 0) {
			sqlite3_bind_int(st, 1, (int)len);
			sqlite3_bind_text(st, 2, what, -1, SQLITE_STATIC);
		}
	}
	if (rc != 0)
		return hl_fail(cause, rc, "database error");
	int step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		sqlite3_finalize(st);
		return step == SQLITE_DONE ?
		    hl_fail(cause, HL_ENOTFOUND, "no message %s", what) :
		    hl_fail(cause, HL_EDB, "database error");
	}
	rc = msg_load(c, st, m);
	if (rc == 0 && strcmp(what, "last") != 0 &&
	    sqlite3_step(st) == SQLITE_ROW) {
		hl_msg_clear(m);
		rc = hl_fail(cause, HL_EEXIST,
		    "'%s' matches more than one message: give more digits", what);
	} else if (rc != 0) {
		rc = hl_fail(cause, rc, "message %s: %s", what, hl_strerror(rc));
	}
	sqlite3_finalize(st);
	return rc;
}

int
hl_store_msg_each(struct hl_crypto *c, const struct hl_msg_query *q,
    int (*fn)(struct hl_msg *m, void *arg), void *arg)
{
	char sql[640];
	uint8_t idx[HL_VAULT_INDEX_LEN];
	sqlite3_stmt *st = NULL;
	/* The matching rows are listed first and read one by one after, so
	 * fn may change the messages it is given (and the table) safely. */
	size_t off = (size_t)snprintf(sql, sizeof sql, "SELECT rowid"
	    " FROM " T_MESSAGES " WHERE 1");
	/* Only fixed clauses are appended; every value is bound below. */
	if (q->dir >= 0)
		off += (size_t)snprintf(sql + off, sizeof sql - off, " AND dir = ?1");
	if (q->state >= 0)
		off += (size_t)snprintf(sql + off, sizeof sql - off, " AND state = ?2");
	if (q->peer != NULL)
		off += (size_t)snprintf(sql + off, sizeof sql - off, " AND peer_idx = ?3");
	if (q->since_ms > 0)
		off += (size_t)snprintf(sql + off, sizeof sql - off, " AND created >= ?4");
	if (q->due_before_ms > 0)
		off += (size_t)snprintf(sql + off, sizeof sql - off,
		    " AND dir = 0 AND state = 0 AND next_try <= ?5");
	if (q->ack_by_before_ms > 0)
		off += (size_t)snprintf(sql + off, sizeof sql - off,
		    " AND ack_by > 0 AND ack_by <= ?6 AND NOT EXISTS (SELECT 1"
		    " FROM events WHERE msg = " T_MESSAGES ".rowid AND state = 4)");
	if (q->awaiting_ack)
		off += (size_t)snprintf(sql + off, sizeof sql - off,
		    " AND dir = 1 AND needs_ack = 1 AND state != 3");
	if (q->exclude_receipts)
		off += (size_t)snprintf(sql + off, sizeof sql - off,
		    " AND kind NOT IN (1, 2)");
	if (q->before_rowid > 0)
		off += (size_t)snprintf(sql + off, sizeof sql - off, " AND rowid < ?7");
	off += (size_t)snprintf(sql + off, sizeof sql - off, " ORDER BY %s",
	    q->before_rowid > 0 ? "rowid DESC" :
	    q->newest_first ? "created DESC, rowid DESC" : "rowid");
	if (q->limit > 0)
		snprintf(sql + off, sizeof sql - off, " LIMIT %d", q->limit);
	int rc = prep(c, sql, &st);
	if (rc != 0)
		return rc;
	if (q->dir >= 0)
		sqlite3_bind_int(st, 1, q->dir);
	if (q->state >= 0)
		sqlite3_bind_int(st, 2, q->state);
	if (q->peer != NULL) {
		peer_index(c, q->peer, idx);
		sqlite3_bind_blob(st, 3, idx, sizeof idx, SQLITE_STATIC);
	}
	sqlite3_bind_int64(st, 4, q->since_ms);
	sqlite3_bind_int64(st, 5, q->due_before_ms);
	sqlite3_bind_int64(st, 6, q->ack_by_before_ms);
	sqlite3_bind_int64(st, 7, q->before_rowid);
	int64_t *rows = NULL;
	size_t n = 0, cap = 0;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			int64_t *nr = realloc(rows, ncap * sizeof *nr);
			if (nr == NULL) {
				rc = HL_ENOMEM;
				break;
			}
			rows = nr;
			cap = ncap;
		}
		rows[n++] = sqlite3_column_int64(st, 0);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = HL_EDB;
	sqlite3_finalize(st);
	st = NULL;
	if (rc == 0)
		rc = prep(c, "SELECT " MSG_COLUMNS " FROM " T_MESSAGES
		    " WHERE rowid = ?", &st);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct hl_msg m;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, rows[i]);
		step = sqlite3_step(st);
		if (step == SQLITE_DONE)
			continue;    /* gone meanwhile */
		if (step != SQLITE_ROW) {
			rc = HL_EDB;
			break;
		}
		rc = msg_load(c, st, &m);
		if (rc != 0)
			break;
		int stop = fn(&m, arg);
		hl_msg_clear(&m);
		if (stop)
			break;
	}
	sqlite3_finalize(st);
	free(rows);
	return rc;
}

int
hl_store_next_due(struct hl_crypto *c, int64_t *next_try, int64_t *next_ack_by)
{
	sqlite3_stmt *st = NULL;
	*next_try = *next_ack_by = 0;
	int rc = prep(c, "SELECT"
	    " (SELECT min(next_try) FROM " T_MESSAGES " WHERE dir = 0 AND state = 0),"
	    " (SELECT min(ack_by) FROM " T_MESSAGES " m WHERE dir = 0 AND ack_by > 0"
	    "  AND state IN (0, 1, 2) AND NOT EXISTS (SELECT 1 FROM events"
	    "  WHERE msg = m.rowid AND state = 4))", &st);
	if (rc != 0)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*next_try = sqlite3_column_int64(st, 0);
		*next_ack_by = sqlite3_column_int64(st, 1);
	} else {
		rc = HL_EDB;
	}
	sqlite3_finalize(st);
	return rc;
}

int
hl_store_requeue_peer(struct hl_crypto *c, const char *peer)
{
	uint8_t idx[HL_VAULT_INDEX_LEN];
	sqlite3_stmt *st = NULL;
	peer_index(c, peer, idx);
	int rc = prep(c, "UPDATE " T_MESSAGES " SET next_try = 0"
	    " WHERE dir = 0 AND state = 0 AND peer_idx = ?", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_blob(st, 1, idx, sizeof idx, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

/* The conversation row holds the contact's handle, sealed once. */
static int
conv_handle(struct hl_crypto *c, const void *idx, int idxlen, const void *v,
    int vlen, char out[HL_HANDLE_MAX + 1])
{
	uint8_t *pt;
	size_t n;
	if (idxlen != HL_VAULT_INDEX_LEN)
		return HL_EVAULT;
	int rc = hl_vault_open(hl_crypto_vault(c), T_CONV, idx, HL_VAULT_INDEX_LEN,
	    v, (size_t)vlen, &pt, &n);
	if (rc != 0)
		return rc;
	if (n > HL_HANDLE_MAX) {
		hl_vault_free_plain(pt, n);
		return HL_EVAULT;
	}
	memcpy(out, pt, n + 1);
	hl_vault_free_plain(pt, n);
	return 0;
}

static int
forget_ciphertext(struct hl_msg *m, void *arg)
{
	struct hl_crypto *c = arg;
	free(m->ct);
	m->ct = NULL;
	m->ct_len = 0;
	m->ct_type = 0;
	m->next_try_ms = 0;
	return hl_store_msg_update(c, m) != 0;
}

static int conv_ensure(struct hl_crypto *c, const char *peer,
    const uint8_t idx[HL_VAULT_INDEX_LEN]);

struct renumber {
	struct hl_crypto *c;
	int64_t next;
};

/* A queued message goes to the new identity, so it takes the next number
 * of the new sequence, in the order the messages were queued. */
static int
renumber_one(struct hl_msg *m, void *arg)
{
	struct renumber *r = arg;
	m->content.seq = ++r->next;
	return forget_ciphertext(m, r->c);
}

/* The conversation with a new identity counts from 1 again on both sides:
 * the new profile starts its own numbers at 1 and expects ours from 1, so
 * the old identity's numbers, its highest seen and its open gaps mean
 * nothing any more (they would report messages of the old identity as
 * missing, or take the new one's 1, 2, 3 for late arrivals). */
static int
conv_restart(struct hl_crypto *c, const uint8_t idx[HL_VAULT_INDEX_LEN],
    int64_t out_seq)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(c, "UPDATE " T_CONV " SET out_seq = ?, in_max = 0"
	    " WHERE peer_idx = ?", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(st, 1, out_seq);
	sqlite3_bind_blob(st, 2, idx, HL_VAULT_INDEX_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	sqlite3_finalize(st);
	st = NULL;
	if (rc != 0)
		return rc;
	rc = prep(c, "DELETE FROM gaps WHERE peer_idx = ?", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_blob(st, 1, idx, HL_VAULT_INDEX_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

int
hl_store_reencrypt_queued(struct hl_crypto *c, const char *peer)
{
	uint8_t idx[HL_VAULT_INDEX_LEN];
	struct hl_msg_query q = { .dir = HL_OUT, .state = HL_ST_QUEUED, .peer = peer };
	struct renumber r = { .c = c, .next = 0 };
	int rc = hl_store_msg_each(c, &q, renumber_one, &r);
	if (rc != 0)
		return rc;
	peer_index(c, peer, idx);
	rc = conv_ensure(c, peer, idx);
	if (rc != 0)
		return rc;
	return conv_restart(c, idx, r.next);
}

int
hl_store_requeue_waiting(struct hl_crypto *c)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(c, "UPDATE " T_MESSAGES " SET next_try = 0"
	    " WHERE dir = 0 AND state = 0 AND next_try > 0 AND next_try < ?", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(st, 1, HL_NEXT_TRY_BLOCKED);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

int
hl_store_outbox_heads(struct hl_crypto *c,
    int (*fn)(const char *peer, const char *id, int64_t next_try, void *arg),
    void *arg)
{
	sqlite3_stmt *st = NULL;
	/* From the conversations, one index seek each: run at every kick, it
	 * must not read the whole history (a scan of every message made a
	 * profile with thousands slower with each one). */
	int rc = prep(c, "SELECT m.id, m.next_try, c.peer_idx, c.v FROM " T_CONV
	    " c JOIN " T_MESSAGES " m ON m.rowid = (SELECT min(rowid) FROM "
	    T_MESSAGES " o WHERE o.peer_idx = c.peer_idx AND o.dir = 0 AND"
	    " o.state = 0) ORDER BY m.rowid", &st);
	if (rc != 0)
		return rc;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		char peer[HL_HANDLE_MAX + 1];
		const char *id = (const char *)sqlite3_column_text(st, 0);
		rc = conv_handle(c, sqlite3_column_blob(st, 2),
		    sqlite3_column_bytes(st, 2), sqlite3_column_blob(st, 3),
		    sqlite3_column_bytes(st, 3), peer);
		if (rc != 0 || id == NULL)
			break;
		if (fn(peer, id, sqlite3_column_int64(st, 1), arg))
			break;
	}
	if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
		rc = HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

int
hl_store_msg_delete(struct hl_crypto *c, const struct hl_msg *m)
{
	sqlite3_stmt *st = NULL;
	int rc = hl_crypto_begin(c);
	if (rc != 0)
		return rc;
	rc = prep(c, "DELETE FROM events WHERE msg = ?", &st);
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, m->rowid);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == 0)
		rc = prep(c, "DELETE FROM " T_MESSAGES " WHERE rowid = ?", &st);
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, m->rowid);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	}
	sqlite3_finalize(st);
	if (rc == 0 && sqlite3_changes(db_of(c)) != 1)
		rc = HL_ENOTFOUND;
	if (rc == 0)
		return hl_crypto_commit(c);
	hl_crypto_rollback(c);
	return rc;
}

int
hl_store_msg_counts(struct hl_crypto *c, enum hl_dir dir,
    int64_t counts[HL_ST_COUNT])
{
	sqlite3_stmt *st = NULL;
	memset(counts, 0, sizeof(int64_t) * HL_ST_COUNT);
	int rc = prep(c, "SELECT state, count(*) FROM " T_MESSAGES
	    " WHERE dir = ? AND kind NOT IN (1, 2) GROUP BY state", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_int(st, 1, (int)dir);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int s = sqlite3_column_int(st, 0);
		if (s >= 0 && s < HL_ST_COUNT)
			counts[s] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return 0;
}

int
hl_store_conversations(struct hl_crypto *c,
    int (*fn)(const struct hl_conv_summary *s, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	/* Counted from the plain columns: no message is unsealed. */
	int rc = prep(c, "SELECT c.peer_idx, c.v,"
	    " (SELECT count(*) FROM " T_MESSAGES " m WHERE m.peer_idx = c.peer_idx"
	    "  AND m.dir = 1 AND m.state = 7 AND m.kind NOT IN (1, 2)),"
	    " (SELECT count(*) FROM " T_MESSAGES " m WHERE m.peer_idx = c.peer_idx"
	    "  AND m.dir = 1 AND m.needs_ack = 1 AND m.state != 3),"
	    " (SELECT count(*) FROM " T_MESSAGES " m WHERE m.peer_idx = c.peer_idx"
	    "  AND m.dir = 0 AND m.state = 4),"
	    " (SELECT created FROM " T_MESSAGES " WHERE rowid = (SELECT max(rowid)"
	    "  FROM " T_MESSAGES " m WHERE m.peer_idx = c.peer_idx))"
	    " FROM " T_CONV " c", &st);
	if (rc != 0)
		return rc;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct hl_conv_summary sum;
		memset(&sum, 0, sizeof sum);
		rc = conv_handle(c, sqlite3_column_blob(st, 0),
		    sqlite3_column_bytes(st, 0), sqlite3_column_blob(st, 1),
		    sqlite3_column_bytes(st, 1), sum.peer);
		if (rc != 0)
			break;
		sum.unread = sqlite3_column_int64(st, 2);
		sum.awaiting = sqlite3_column_int64(st, 3);
		sum.overdue = sqlite3_column_int64(st, 4);
		sum.last_ms = sqlite3_column_int64(st, 5);
		if (fn(&sum, arg))
			break;
	}
	if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
		rc = HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

int
hl_store_msg_count_state(struct hl_crypto *c, enum hl_dir dir,
    enum hl_state st, int64_t *n)
{
	sqlite3_stmt *st_ = NULL;
	*n = 0;
	int rc = prep(c, "SELECT count(*) FROM " T_MESSAGES
	    " WHERE dir = ? AND state = ? AND kind NOT IN (1, 2)", &st_);
	if (rc != 0)
		return rc;
	sqlite3_bind_int(st_, 1, (int)dir);
	sqlite3_bind_int(st_, 2, (int)st);
	if (sqlite3_step(st_) == SQLITE_ROW)
		*n = sqlite3_column_int64(st_, 0);
	else
		rc = HL_EDB;
	sqlite3_finalize(st_);
	return rc;
}

/* --- conversations and gaps --- */

static int
conv_ensure(struct hl_crypto *c, const char *peer,
    const uint8_t idx[HL_VAULT_INDEX_LEN])
{
	uint8_t *sealed;
	size_t slen;
	sqlite3_stmt *st = NULL;
	int rc = hl_vault_seal(hl_crypto_vault(c), T_CONV, idx, HL_VAULT_INDEX_LEN,
	    (const uint8_t *)peer, strlen(peer), &sealed, &slen);
	if (rc != 0)
		return rc;
	rc = prep(c, "INSERT OR IGNORE INTO " T_CONV " (peer_idx, v) VALUES (?, ?)",
	    &st);
	if (rc == 0) {
		sqlite3_bind_blob(st, 1, idx, HL_VAULT_INDEX_LEN, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, sealed, (int)slen, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	}
	sqlite3_finalize(st);
	free(sealed);
	return rc;
}

int
hl_store_next_seq(struct hl_crypto *c, const char *peer, int64_t *seq)
{
	uint8_t idx[HL_VAULT_INDEX_LEN];
	sqlite3_stmt *st = NULL;
	peer_index(c, peer, idx);
	int rc = conv_ensure(c, peer, idx);
	if (rc != 0)
		return rc;
	rc = prep(c, "UPDATE " T_CONV " SET out_seq = out_seq + 1 WHERE peer_idx = ?"
	    " RETURNING out_seq", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_blob(st, 1, idx, sizeof idx, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*seq = sqlite3_column_int64(st, 0);
	else
		rc = HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

int
hl_store_observe_seq(struct hl_crypto *c, const char *peer, int64_t n,
    int64_t now_ms, int *closed_gap, int64_t *opened)
{
	uint8_t idx[HL_VAULT_INDEX_LEN];
	sqlite3_stmt *st = NULL;
	int64_t in_max = 0;
	*closed_gap = 0;
	*opened = 0;
	peer_index(c, peer, idx);
	int rc = conv_ensure(c, peer, idx);
	if (rc == 0)
		rc = prep(c, "SELECT in_max FROM " T_CONV " WHERE peer_idx = ?", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_blob(st, 1, idx, sizeof idx, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		in_max = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;

	if (n <= in_max) {
		/* A late arrival: it fills a gap, if it left one. */
		rc = prep(c, "DELETE FROM gaps WHERE peer_idx = ? AND seq = ?", &st);
		if (rc != 0)
			return rc;
		sqlite3_bind_blob(st, 1, idx, sizeof idx, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, n);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
		*closed_gap = sqlite3_changes(hl_crypto_db(c)) > 0;
		sqlite3_finalize(st);
		return rc;
	}
	if (n > in_max + 1) {
		/* At most GAPS_OPEN_MAX open gaps per contact in all: a peer
		 * jumping its numbers again and again must not fill the disk.
		 * The newest gaps are the ones kept. */
		int64_t open_now = 0;
		rc = prep(c, "SELECT count(*) FROM gaps WHERE peer_idx = ?", &st);
		if (rc != 0)
			return rc;
		sqlite3_bind_blob(st, 1, idx, sizeof idx, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			open_now = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		st = NULL;
		int64_t room = GAPS_OPEN_MAX - open_now;
		rc = prep(c, "INSERT OR IGNORE INTO gaps (peer_idx, seq, since)"
		    " VALUES (?, ?, ?)", &st);
		if (rc != 0)
			return rc;
		int64_t first = n - in_max - 1 > room ? n - room : in_max + 1;
		for (int64_t s = first; s < n && rc == 0; s++) {
			sqlite3_reset(st);
			sqlite3_bind_blob(st, 1, idx, sizeof idx, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, s);
			sqlite3_bind_int64(st, 3, now_ms);
			rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
		}
		sqlite3_finalize(st);
		st = NULL;
		if (rc != 0)
			return rc;
		*opened = n > first ? n - first : 0;
	}
	rc = prep(c, "UPDATE " T_CONV " SET in_max = ? WHERE peer_idx = ?", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(st, 1, n);
	sqlite3_bind_blob(st, 2, idx, sizeof idx, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

int
hl_store_gaps(struct hl_crypto *c, struct hl_gap **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	size_t count = 0, cap = 0;
	struct hl_gap *list = NULL;
	*out = NULL;
	*n = 0;
	int rc = prep(c, "SELECT g.seq, g.since, c.peer_idx, c.v FROM gaps g"
	    " JOIN " T_CONV " c ON c.peer_idx = g.peer_idx ORDER BY g.peer_idx, g.seq",
	    &st);
	if (rc != 0)
		return rc;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct hl_gap *nl = realloc(list, ncap * sizeof *nl);
			if (nl == NULL) {
				rc = HL_ENOMEM;
				break;
			}
			list = nl;
			cap = ncap;
		}
		rc = conv_handle(c, sqlite3_column_blob(st, 2),
		    sqlite3_column_bytes(st, 2), sqlite3_column_blob(st, 3),
		    sqlite3_column_bytes(st, 3), list[count].peer);
		if (rc != 0)
			break;
		list[count].seq = sqlite3_column_int64(st, 0);
		list[count].since_ms = sqlite3_column_int64(st, 1);
		count++;
	}
	sqlite3_finalize(st);
	if (rc != 0) {
		free(list);
		return rc;
	}
	*out = list;
	*n = count;
	return 0;
}

/* --- held --- */

int
hl_store_held_put(struct hl_crypto *c, const struct hl_held *h)
{
	uint8_t idx[HL_VAULT_INDEX_LEN];
	uint8_t *sealed;
	size_t slen;
	struct hl_tlv_buf b = { 0 };
	sqlite3_stmt *st = NULL;
	hl_tlv_put_str(&b, TAG_FROM, h->from);
	hl_tlv_put_str(&b, TAG_ID, h->id);
	hl_tlv_put_i64(&b, TAG_TYPE, h->type);
	if (h->ct != NULL)
		hl_tlv_put(&b, TAG_HELD_CT, h->ct, h->ct_len);
	hl_tlv_put_str(&b, TAG_HELD_REASON, h->reason);
	if (h->pt != NULL)
		hl_tlv_put(&b, TAG_HELD_PT, h->pt, h->pt_len);
	if (b.failed) {
		hl_tlv_buf_free(&b);
		return HL_ENOMEM;
	}
	int rc = hl_vault_seal(hl_crypto_vault(c), T_HELD, (const uint8_t *)h->qid,
	    strlen(h->qid), b.data, b.len, &sealed, &slen);
	hl_tlv_buf_free(&b);
	if (rc != 0)
		return rc;
	peer_index(c, h->from, idx);
	rc = prep(c, "INSERT OR REPLACE INTO " T_HELD " (qid, peer_idx, received, v)"
	    " VALUES (?, ?, ?, ?)", &st);
	if (rc == 0) {
		sqlite3_bind_text(st, 1, h->qid, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, idx, sizeof idx, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, h->received_ms);
		sqlite3_bind_blob(st, 4, sealed, (int)slen, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	}
	sqlite3_finalize(st);
	free(sealed);
	return rc;
}

void
hl_held_free(struct hl_held *h, size_t n)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(h[i].ct);
		if (h[i].pt != NULL) {
			sodium_memzero(h[i].pt, h[i].pt_len);
			free(h[i].pt);
		}
	}
	free(h);
}

int
hl_store_held_list(struct hl_crypto *c, const char *from, struct hl_held **out,
    size_t *n)
{
	uint8_t idx[HL_VAULT_INDEX_LEN];
	sqlite3_stmt *st = NULL;
	size_t count = 0, cap = 0;
	struct hl_held *list = NULL;
	*out = NULL;
	*n = 0;
	/* qids are decimal: ordered as numbers, the relay's order. */
	int rc = prep(c, from != NULL ?
	    "SELECT qid, received, v FROM " T_HELD " WHERE peer_idx = ?"
	    " ORDER BY received, CAST(qid AS INTEGER)" :
	    "SELECT qid, received, v FROM " T_HELD
	    " ORDER BY received, CAST(qid AS INTEGER)", &st);
	if (rc != 0)
		return rc;
	if (from != NULL) {
		peer_index(c, from, idx);
		sqlite3_bind_blob(st, 1, idx, sizeof idx, SQLITE_STATIC);
	}
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		const char *qid = (const char *)sqlite3_column_text(st, 0);
		uint8_t *pt;
		size_t ptlen;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct hl_held *nl = realloc(list, ncap * sizeof *nl);
			if (nl == NULL) {
				rc = HL_ENOMEM;
				break;
			}
			list = nl;
			cap = ncap;
		}
		struct hl_held *h = &list[count];
		memset(h, 0, sizeof *h);
		if (qid == NULL || strlen(qid) > HL_QID_MAX) {
			rc = HL_EVAULT;
			break;
		}
		memcpy(h->qid, qid, strlen(qid) + 1);
		h->received_ms = sqlite3_column_int64(st, 1);
		rc = hl_vault_open(hl_crypto_vault(c), T_HELD, (const uint8_t *)qid,
		    strlen(qid), sqlite3_column_blob(st, 2),
		    (size_t)sqlite3_column_bytes(st, 2), &pt, &ptlen);
		if (rc != 0)
			break;
		int64_t type;
		const uint8_t *v;
		size_t vlen;
		int r;
		if (hl_tlv_get_str(pt, ptlen, TAG_FROM, h->from, sizeof h->from) < 0 ||
		    hl_tlv_get_str(pt, ptlen, TAG_ID, h->id, sizeof h->id) < 0 ||
		    hl_tlv_get_i64(pt, ptlen, TAG_TYPE, &type) < 0 ||
		    hl_tlv_get_str(pt, ptlen, TAG_HELD_REASON, h->reason,
		    sizeof h->reason) < 0 ||
		    (r = hl_tlv_get(pt, ptlen, TAG_HELD_CT, &v, &vlen)) < 0) {
			hl_vault_free_plain(pt, ptlen);
			rc = HL_EVAULT;
			break;
		}
		h->type = (int)type;
		if (r == 1) {
			h->ct = malloc(vlen ? vlen : 1);
			if (h->ct == NULL) {
				hl_vault_free_plain(pt, ptlen);
				rc = HL_ENOMEM;
				break;
			}
			memcpy(h->ct, v, vlen);
			h->ct_len = vlen;
		}
		r = hl_tlv_get(pt, ptlen, TAG_HELD_PT, &v, &vlen);
		if (r == 1) {
			h->pt = malloc(vlen ? vlen : 1);
			if (h->pt == NULL) {
				hl_vault_free_plain(pt, ptlen);
				count++;    /* freed with the list */
				rc = HL_ENOMEM;
				break;
			}
			memcpy(h->pt, v, vlen);
			h->pt_len = vlen;
		}
		hl_vault_free_plain(pt, ptlen);
		count++;
	}
	sqlite3_finalize(st);
	if (rc != 0) {
		hl_held_free(list, count);
		return rc;
	}
	*out = list;
	*n = count;
	return 0;
}

int
hl_store_held_del(struct hl_crypto *c, const char *qid)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(c, "DELETE FROM " T_HELD " WHERE qid = ?", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(st, 1, qid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

/* --- meta --- */

int
hl_store_meta_get(struct hl_crypto *c, const char *name, int64_t *value)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(c, "SELECT value FROM client_meta WHERE name = ?", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*value = sqlite3_column_int64(st, 0);
	rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

int
hl_store_meta_set(struct hl_crypto *c, const char *name, int64_t value)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(c, "INSERT OR REPLACE INTO client_meta (name, value)"
	    " VALUES (?, ?)", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

const char *
hl_state_name(enum hl_state s)
{
	static const char *names[HL_ST_COUNT] = {
		"queued", "sent", "delivered", "acknowledged", "overdue", "failed",
		"expired", "new", "read",
	};
	return (unsigned)s < HL_ST_COUNT ? names[s] : "?";
}

int
hl_msg_escalated(const struct hl_msg *m)
{
	return m->dir == HL_OUT && m->state == HL_ST_OVERDUE &&
	    m->escalated_to[0] != '\0';
}
