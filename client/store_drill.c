#include "client/store_drill.h"
#include "client/tlv.h"
#include "crypto/hl_db.h"
#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"
#include "crypto/hl_vault.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_DRILLS "drills"
#define T_MEMBERS "drill_members"

enum { TAG_NOTE = 1, TAG_PEER, TAG_REASON };

static const char drill_schema[] =
    "CREATE TABLE IF NOT EXISTS " T_DRILLS " (id TEXT PRIMARY KEY,"
    " started INTEGER NOT NULL, ack_within INTEGER NOT NULL, v BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS " T_MEMBERS " (drill TEXT NOT NULL,"
    " pos INTEGER NOT NULL, msg TEXT NOT NULL, v BLOB NOT NULL,"
    " PRIMARY KEY (drill, pos));";

int
hl_store_drill_init(struct hl_crypto *c, char *cause)
{
	return hl_db_exec(hl_crypto_db(c), drill_schema, cause);
}

static int
prep(struct hl_crypto *c, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(hl_crypto_db(c), sql, -1, st, NULL) != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
		return HL_EDB;
	}
	return 0;
}

/* The sealed part of a row is bound to the row's identity. */
static int
seal(struct hl_crypto *c, const char *table, const char *key,
    struct hl_tlv_buf *b, uint8_t **ct, size_t *ctlen)
{
	if (b->failed)
		return HL_ENOMEM;
	return hl_vault_seal(hl_crypto_vault(c), table, (const uint8_t *)key,
	    strlen(key), b->data ? b->data : (const uint8_t *)"", b->len, ct, ctlen);
}

int
hl_store_drill_put(struct hl_crypto *c, const struct hl_drill_rec *d)
{
	struct hl_tlv_buf b = { 0 };
	uint8_t *ct = NULL;
	size_t ctlen = 0;
	sqlite3_stmt *st = NULL;
	if (d->note != NULL)
		hl_tlv_put_str(&b, TAG_NOTE, d->note);
	int rc = seal(c, T_DRILLS, d->id, &b, &ct, &ctlen);
	hl_tlv_buf_free(&b);
	if (rc == 0)
		rc = prep(c, "INSERT INTO " T_DRILLS " (id, started, ack_within, v)"
		    " VALUES (?, ?, ?, ?)", &st);
	if (rc == 0) {
		sqlite3_bind_text(st, 1, d->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, d->started_ms);
		sqlite3_bind_int64(st, 3, d->ack_within_ms);
		sqlite3_bind_blob(st, 4, ct, (int)ctlen, SQLITE_STATIC);
		int step = sqlite3_step(st);
		rc = step == SQLITE_DONE ? 0 : step == SQLITE_CONSTRAINT ?
		    HL_EEXIST : HL_EDB;
	}
	sqlite3_finalize(st);
	free(ct);
	return rc;
}

int
hl_store_drill_add(struct hl_crypto *c, const char *drill, int pos,
    const struct hl_drill_member *m)
{
	struct hl_tlv_buf b = { 0 };
	uint8_t *ct = NULL;
	size_t ctlen = 0;
	sqlite3_stmt *st = NULL;
	char key[HL_DRILL_ID_HEX + 16];
	snprintf(key, sizeof key, "%s/%d", drill, pos);
	hl_tlv_put_str(&b, TAG_PEER, m->peer);
	if (m->reason[0])
		hl_tlv_put_str(&b, TAG_REASON, m->reason);
	int rc = seal(c, T_MEMBERS, key, &b, &ct, &ctlen);
	hl_tlv_buf_free(&b);
	if (rc == 0)
		rc = prep(c, "INSERT INTO " T_MEMBERS " (drill, pos, msg, v)"
		    " VALUES (?, ?, ?, ?)", &st);
	if (rc == 0) {
		sqlite3_bind_text(st, 1, drill, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, pos);
		sqlite3_bind_text(st, 3, m->msg_id, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 4, ct, (int)ctlen, SQLITE_STATIC);
		int step = sqlite3_step(st);
		rc = step == SQLITE_DONE ? 0 : step == SQLITE_CONSTRAINT ?
		    HL_EEXIST : HL_EDB;
	}
	sqlite3_finalize(st);
	free(ct);
	return rc;
}

static int
open_row(struct hl_crypto *c, const char *table, const char *key,
    sqlite3_stmt *st, int col, uint8_t **pt, size_t *ptlen)
{
	const void *v = sqlite3_column_blob(st, col);
	int vlen = sqlite3_column_bytes(st, col);
	if (v == NULL || vlen <= 0)
		return HL_EVAULT;
	return hl_vault_open(hl_crypto_vault(c), table, (const uint8_t *)key,
	    strlen(key), v, (size_t)vlen, pt, ptlen);
}

static int
load_drill(struct hl_crypto *c, sqlite3_stmt *st, struct hl_drill_rec *d)
{
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	const char *id = (const char *)sqlite3_column_text(st, 0);
	memset(d, 0, sizeof *d);
	if (id == NULL || strlen(id) != HL_DRILL_ID_HEX)
		return HL_EVAULT;
	memcpy(d->id, id, HL_DRILL_ID_HEX + 1);
	d->started_ms = sqlite3_column_int64(st, 1);
	d->ack_within_ms = sqlite3_column_int64(st, 2);
	int rc = open_row(c, T_DRILLS, d->id, st, 3, &pt, &ptlen);
	if (rc != 0)
		return rc;
	const uint8_t *v;
	size_t vlen;
	int has = hl_tlv_get(pt, ptlen, TAG_NOTE, &v, &vlen);
	if (has < 0)
		rc = HL_EVAULT;
	if (has == 1) {
		d->note = malloc(vlen + 1);
		if (d->note == NULL) {
			rc = HL_ENOMEM;
		} else {
			memcpy(d->note, v, vlen);
			d->note[vlen] = '\0';
		}
	}
	hl_vault_free_plain(pt, ptlen);
	return rc;
}

#define DRILL_COLUMNS "id, started, ack_within, v"

int
hl_store_drill_get(struct hl_crypto *c, const char *which,
    struct hl_drill_rec *d, char *cause)
{
	sqlite3_stmt *st = NULL;
	size_t len = strlen(which);
	int rc;
	memset(d, 0, sizeof *d);
	if (strcmp(which, "last") == 0) {
		rc = prep(c, "SELECT " DRILL_COLUMNS " FROM " T_DRILLS
		    " ORDER BY started DESC, rowid DESC LIMIT 1", &st);
	} else {
		if (len < 4 || len > HL_DRILL_ID_HEX || !hl_is_lowerhex(which, len))
			return hl_fail(cause, HL_EUSAGE, "'%s' is not a drill id (4 to %d "
			    "lower-case hex digits, or 'last')", which, HL_DRILL_ID_HEX);
		rc = prep(c, "SELECT " DRILL_COLUMNS " FROM " T_DRILLS
		    " WHERE substr(id, 1, ?) = ? ORDER BY rowid LIMIT 2", &st);
		if (rc == 0) {
			sqlite3_bind_int(st, 1, (int)len);
			sqlite3_bind_text(st, 2, which, -1, SQLITE_STATIC);
		}
	}
	if (rc != 0)
		return hl_fail(cause, rc, "database error");
	int step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		sqlite3_finalize(st);
		return step == SQLITE_DONE ?
		    hl_fail(cause, HL_ENOTFOUND, "no drill %s", which) :
		    hl_fail(cause, HL_EDB, "database error");
	}
	rc = load_drill(c, st, d);
	if (rc != 0) {
		hl_drill_rec_clear(d);
		rc = hl_fail(cause, rc, "drill %s: %s", which, hl_strerror(rc));
	} else if (strcmp(which, "last") != 0 && sqlite3_step(st) == SQLITE_ROW) {
		hl_drill_rec_clear(d);
		rc = hl_fail(cause, HL_EEXIST, "'%s' matches more than one drill: "
		    "give more digits", which);
	}
	sqlite3_finalize(st);
	return rc;
}

int
hl_store_drill_members(struct hl_crypto *c, const char *drill,
    struct hl_drill_member **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct hl_drill_member *v = NULL;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	int rc = prep(c, "SELECT pos, msg, v FROM " T_MEMBERS " WHERE drill = ?"
	    " ORDER BY pos", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(st, 1, drill, -1, SQLITE_STATIC);
	int step;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void *nv = realloc(v, ncap * sizeof *v);
			if (nv == NULL) {
				rc = HL_ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		struct hl_drill_member *m = &v[*n];
		char key[HL_DRILL_ID_HEX + 16];
		uint8_t *pt = NULL;
		size_t ptlen = 0;
		memset(m, 0, sizeof *m);
		snprintf(key, sizeof key, "%s/%d", drill, sqlite3_column_int(st, 0));
		const char *msg = (const char *)sqlite3_column_text(st, 1);
		snprintf(m->msg_id, sizeof m->msg_id, "%s", msg ? msg : "");
		rc = open_row(c, T_MEMBERS, key, st, 2, &pt, &ptlen);
		if (rc != 0)
			break;
		if (hl_tlv_get_str(pt, ptlen, TAG_PEER, m->peer, sizeof m->peer) != 0 ||
		    hl_tlv_get_str(pt, ptlen, TAG_REASON, m->reason,
		    sizeof m->reason) != 0 || !hl_handle_valid(m->peer))
			rc = HL_EVAULT;
		hl_vault_free_plain(pt, ptlen);
		if (rc == 0)
			(*n)++;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = HL_EDB;
	sqlite3_finalize(st);
	if (rc != 0) {
		free(v);
		*n = 0;
		return rc;
	}
	*out = v;
	return 0;
}

int
hl_store_drill_each(struct hl_crypto *c,
    int (*fn)(const struct hl_drill_rec *d, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(c, "SELECT " DRILL_COLUMNS " FROM " T_DRILLS
	    " ORDER BY started, rowid", &st);
	if (rc != 0)
		return rc;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct hl_drill_rec d;
		rc = load_drill(c, st, &d);
		if (rc != 0) {
			hl_drill_rec_clear(&d);
			break;
		}
		int stop = fn(&d, arg);
		hl_drill_rec_clear(&d);
		if (stop)
			break;
	}
	if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
		rc = HL_EDB;
	sqlite3_finalize(st);
	return rc;
}

void
hl_drill_rec_clear(struct hl_drill_rec *d)
{
	if (d->note != NULL) {
		sodium_memzero(d->note, strlen(d->note));
		free(d->note);
	}
	memset(d, 0, sizeof *d);
}
