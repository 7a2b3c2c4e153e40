/*
 * store_sql: the rules of the relay's store, once, over the SQL driver of
 * store_sql.h. See store.h for what each operation promises.
 */
#include "relay/store_sql.h"

#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS 3600000LL
#define PURGE_CHUNK 256
#define PURGE_ROUNDS 4096

typedef struct hl_sql_conn conn;
typedef struct hl_sql_stmt stmt_t;

static struct hl_sql_store *
impl(struct hl_store *st)
{
	return (struct hl_sql_store *)st;
}

static stmt_t *
stmt(conn *c, enum hl_sql id, int *err, char *cause)
{
	return c->drv->stmt(c, id, err, cause);
}

static void
bind_int(stmt_t *s, int i, int64_t v)
{
	s->drv->bind_int64(s, i, v);
}

static void
bind_text(stmt_t *s, int i, const char *v)
{
	s->drv->bind_text(s, i, v);
}

static void
bind_blob(stmt_t *s, int i, const void *v, size_t n)
{
	s->drv->bind_blob(s, i, v, n);
}

static int
step(stmt_t *s, char *cause)
{
	return s->drv->step(s, cause);
}

static void
finish(stmt_t *s)
{
	if (s != NULL)
		s->drv->finish(s);
}

static int64_t
col_int(stmt_t *s, int i)
{
	return s->drv->col_int64(s, i);
}

static int
col_null(stmt_t *s, int i)
{
	return s->drv->is_null(s, i);
}

/* An id column that may be NULL (0 then). */
static int64_t
col_id(stmt_t *s, int i)
{
	return col_null(s, i) ? 0 : col_int(s, i);
}

/* Copies a text column into out (size n); NULL becomes "". */
static void
col_text(stmt_t *s, int i, char *out, size_t n)
{
	const char *t = s->drv->col_text(s, i);
	snprintf(out, n, "%s", t ? t : "");
}

/* Copies a blob column of exactly n bytes; anything else is corruption. */
static int
col_blob_exact(stmt_t *s, int i, uint8_t *out, size_t n)
{
	size_t len = 0;
	const void *b = s->drv->col_blob(s, i, &len);
	if (b == NULL || len != n)
		return HL_EDB;
	memcpy(out, b, n);
	return 0;
}

/* Whether a blob column equals v (n bytes), in constant time. */
static int
col_blob_equal(stmt_t *s, int i, const void *v, size_t n)
{
	size_t len = 0;
	const void *b = s->drv->col_blob(s, i, &len);
	return b != NULL && len == n && sodium_memcmp(b, v, n) == 0;
}

/* Runs a statement that returns no row; *changes (may be NULL) gets the
 * rows it changed. */
static int
step_done_n(stmt_t *s, int64_t *changes, char *cause)
{
	int rc = step(s, cause);
	int ret = rc < 0 ? rc : 0;
	if (ret == 0 && changes != NULL)
		*changes = s->drv->changes(s);
	finish(s);
	return ret;
}

static int
step_done(stmt_t *s, char *cause)
{
	return step_done_n(s, NULL, cause);
}

/* Runs statement id with its one integer parameter, expecting no rows. */
static int
exec_int64(conn *c, enum hl_sql id, int64_t v, int64_t *changes,
    char *cause)
{
	int err = 0;
	stmt_t *s = stmt(c, id, &err, cause);
	if (s == NULL)
		return err;
	bind_int(s, 1, v);
	return step_done_n(s, changes, cause);
}

/* Runs statement id with one integer parameter and reads one integer
 * column of its one row into *out; HL_EDB when it returns no row. */
static int
query_int64(conn *c, enum hl_sql id, int64_t v, int64_t *out, char *cause)
{
	int err = 0;
	stmt_t *s = stmt(c, id, &err, cause);
	if (s == NULL)
		return err;
	bind_int(s, 1, v);
	int rc = step(s, cause);
	if (rc == 1)
		*out = col_int(s, 0);
	finish(s);
	if (rc == 0)
		return hl_fail(cause, HL_EDB, "a count returned no row");
	return rc < 0 ? rc : 0;
}

/* --- the schema --- */

int
hl_sql_schema_policy(const char *where, int version, int latest,
    int create, char *cause)
{
	if (version == latest)
		return 0;
	if (version > latest)
		return hl_fail(cause, HL_EDB,
		    "%s: schema version %d is newer than this relay knows (%d)",
		    where, version, latest);
	if (!create && version == 0)
		return hl_fail(cause, HL_ENOTFOUND,
		    "%s: not initialised; run 'hotline-relay init'", where);
	if (!create)
		return hl_fail(cause, HL_EDB,
		    "%s: schema version %d is older than this relay's (%d); run "
		    "'hotline-relay init' to upgrade it", where, version, latest);
	return 1;
}

/* --- the reader pool --- */

int
hl_sql_store_init(struct hl_sql_store *ss, const struct hl_store_ops *ops,
    char *cause)
{
	ss->base.ops = ops;
	if (pthread_mutex_init(&ss->pool_lock, NULL) != 0)
		return hl_fail(cause, HL_ENOMEM, "cannot create a lock");
	if (pthread_cond_init(&ss->pool_cond, NULL) != 0) {
		pthread_mutex_destroy(&ss->pool_lock);
		return hl_fail(cause, HL_ENOMEM, "cannot create a condition");
	}
	ss->pool_init = 1;
	return 0;
}

int
hl_sql_store_open_readers(struct hl_sql_store *ss, unsigned n, size_t size,
    int (*open)(struct hl_sql_store *ss, struct hl_sql_conn *c, char *cause),
    char *cause)
{
	if (n == 0)
		return 0;
	ss->readers = calloc(n, sizeof *ss->readers);
	ss->reader_busy = calloc(n, 1);
	ss->reader_mem = calloc(n, size);
	if (ss->readers == NULL || ss->reader_busy == NULL ||
	    ss->reader_mem == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		struct hl_sql_conn *c =
		    (struct hl_sql_conn *)(void *)(ss->reader_mem + i * size);
		ss->readers[i] = c;
		ss->nreaders = i + 1;
		int rc = open(ss, c, cause);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void
hl_sql_store_destroy(struct hl_sql_store *ss,
    void (*close)(struct hl_sql_conn *c))
{
	for (unsigned i = 0; i < ss->nreaders; i++)
		close(ss->readers[i]);
	free(ss->readers);
	free(ss->reader_busy);
	free(ss->reader_mem);
	ss->readers = NULL;
	ss->reader_busy = NULL;
	ss->reader_mem = NULL;
	ss->nreaders = 0;
	if (ss->pool_init) {
		pthread_cond_destroy(&ss->pool_cond);
		pthread_mutex_destroy(&ss->pool_lock);
		ss->pool_init = 0;
	}
}

struct hl_sql_conn *
hl_sql_reader_get(struct hl_sql_store *ss, unsigned *slot)
{
	if (ss->nreaders == 0) {
		*slot = UINT_MAX;
		return ss->writer;
	}
	pthread_mutex_lock(&ss->pool_lock);
	for (;;) {
		for (unsigned i = 0; i < ss->nreaders; i++) {
			if (!ss->reader_busy[i]) {
				ss->reader_busy[i] = 1;
				pthread_mutex_unlock(&ss->pool_lock);
				*slot = i;
				return ss->readers[i];
			}
		}
		pthread_cond_wait(&ss->pool_cond, &ss->pool_lock);
	}
}

void
hl_sql_reader_put(struct hl_sql_store *ss, unsigned slot)
{
	if (slot == UINT_MAX)
		return;
	pthread_mutex_lock(&ss->pool_lock);
	ss->reader_busy[slot] = 0;
	pthread_cond_signal(&ss->pool_cond);
	pthread_mutex_unlock(&ss->pool_lock);
}

/* --- shared lookups --- */

/* The account holding handle: 1 with *id and *revoked when there is one,
 * 0 when none, < 0 on a database error. */
static int
account_by_handle(conn *c, const char *handle, int64_t *id, int *revoked,
    char *cause)
{
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_ACCOUNT_BY_HANDLE, &err, cause);
	if (s == NULL)
		return err;
	bind_text(s, 1, handle);
	int rc = step(s, cause);
	*id = 0;
	*revoked = 0;
	if (rc == 1) {
		*id = col_int(s, 0);
		*revoked = col_int(s, 1) != 0;
	}
	finish(s);
	return rc;
}

static int
account_active(conn *c, int64_t account, char *cause)
{
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_ACTIVE, &err, cause);
	if (s == NULL)
		return err;
	bind_int(s, 1, account);
	int rc = step(s, cause);
	finish(s);
	if (rc == 0)
		return hl_fail(cause, HL_EAUTH, "the account was revoked");
	return rc < 0 ? rc : 0;
}

static int
prekey_count(conn *c, int64_t account, int64_t *n, char *cause)
{
	return query_int64(c, HL_SQL_PREKEY_COUNT, account, n, cause);
}

/* --- reads --- */

/* The index found the row by the hash; compare again in constant time, so
 * that a match never rests on a variable-time comparison alone. */
static int
row_account(stmt_t *s, const uint8_t token_hash[HL_SECRET_HASH],
    struct hl_store_account *out)
{
	if (!col_blob_equal(s, 3, token_hash, HL_SECRET_HASH))
		return HL_EAUTH;
	out->id = col_int(s, 0);
	col_text(s, 1, out->handle, sizeof out->handle);
	out->device_id = (uint32_t)col_int(s, 2);
	out->first_use = col_int(s, 4) != 0;
	return 0;
}

int
hl_sql_authenticate(struct hl_store *st,
    const uint8_t token_hash[HL_SECRET_HASH], struct hl_store_account *out)
{
	struct hl_sql_store *ss = impl(st);
	unsigned slot;
	conn *c = hl_sql_reader_get(ss, &slot);
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_AUTH, &err, NULL);
	if (s == NULL) {
		hl_sql_reader_put(ss, slot);
		return err;
	}
	bind_blob(s, 1, token_hash, HL_SECRET_HASH);
	int ret = HL_EAUTH;
	int rc = step(s, NULL);
	if (rc == 1)
		ret = row_account(s, token_hash, out);
	else if (rc < 0)
		ret = rc;
	finish(s);
	hl_sql_reader_put(ss, slot);
	return ret;
}

static int
read_item(stmt_t *s, struct hl_store_item *it)
{
	memset(it, 0, sizeof *it);
	it->qid = col_int(s, 0);
	int64_t kind = col_int(s, 1);
	if (kind < HL_STORE_MESSAGE || kind > HL_STORE_DROPPED)
		return HL_EDB;
	it->kind = (enum hl_store_item_kind)kind;
	col_text(s, 2, it->peer, sizeof it->peer);
	it->peer_device = (uint32_t)col_int(s, 3);
	col_text(s, 4, it->id, sizeof it->id);
	it->type = (int)col_int(s, 5);
	if (it->kind == HL_STORE_MESSAGE) {
		size_t n = 0;
		const void *b = s->drv->col_blob(s, 6, &n);
		it->body = malloc(n ? n : 1);
		if (it->body == NULL)
			return HL_ENOMEM;
		if (n > 0)
			memcpy(it->body, b, n);
		it->body_len = n;
	}
	it->accepted = col_int(s, 7);
	it->at = col_int(s, 8);
	col_text(s, 9, it->reason, sizeof it->reason);
	return 0;
}

static int
fetch_items(conn *c, int64_t account, size_t limit, int64_t max_bytes,
    struct hl_store_fetch *out, char *cause)
{
	int ret = account_active(c, account, cause);
	if (ret == 0)
		ret = prekey_count(c, account, &out->prekeys_remaining, cause);
	if (ret != 0)
		return ret;
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_FETCH, &err, cause);
	if (s == NULL)
		return err;
	out->items = calloc(limit, sizeof *out->items);
	if (out->items == NULL) {
		finish(s);
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	}
	bind_int(s, 1, account);
	bind_int(s, 2, (int64_t)limit + 1);
	int64_t bytes = 0;
	int rc;
	while ((rc = step(s, cause)) == 1) {
		if (out->n == limit) {
			out->more = 1;
			break;
		}
		size_t len = 0;
		s->drv->col_blob(s, 6, &len);
		if (out->n > 0 && bytes + (int64_t)len > max_bytes) {
			out->more = 1;
			break;
		}
		ret = read_item(s, &out->items[out->n]);
		if (ret != 0) {
			free(out->items[out->n].body);
			hl_fail(cause, ret, "cannot read queued item");
			break;
		}
		bytes += (int64_t)len;
		out->n++;
	}
	if (ret == 0 && rc < 0)
		ret = rc;
	finish(s);
	return ret;
}

int
hl_sql_fetch(struct hl_store *st, int64_t account, size_t limit,
    int64_t max_bytes, struct hl_store_fetch *out, char *cause)
{
	struct hl_sql_store *ss = impl(st);
	memset(out, 0, sizeof *out);
	if (limit == 0)
		return hl_fail(cause, HL_EINVAL, "limit 0");
	unsigned slot;
	conn *c = hl_sql_reader_get(ss, &slot);
	int ret = c->drv->tx(c, HL_TX_BEGIN_READ, cause);
	if (ret == 0) {
		ret = fetch_items(c, account, limit, max_bytes, out, cause);
		c->drv->tx(c, HL_TX_COMMIT, NULL);
	}
	hl_sql_reader_put(ss, slot);
	if (ret != 0)
		hl_store_fetch_free(out);
	return ret;
}

int
hl_sql_key_status(struct hl_store *st, int64_t account,
    int64_t *prekeys_remaining, uint32_t *signed_prekey_id)
{
	struct hl_sql_store *ss = impl(st);
	unsigned slot;
	conn *c = hl_sql_reader_get(ss, &slot);
	int err = 0;
	int ret = prekey_count(c, account, prekeys_remaining, NULL);
	stmt_t *s = NULL;
	if (ret == 0 && (s = stmt(c, HL_SQL_KEY_STATUS, &err, NULL)) == NULL)
		ret = err;
	if (ret == 0) {
		bind_int(s, 1, account);
		int rc = step(s, NULL);
		if (rc == 1)
			*signed_prekey_id = (uint32_t)col_int(s, 0);
		else
			ret = rc == 0 ? HL_EAUTH : rc;
	}
	finish(s);
	hl_sql_reader_put(ss, slot);
	return ret;
}

/* Columns: handle, the profile columns, identity_key, updated. */
static int
read_entry(stmt_t *s, struct hl_store_entry *e)
{
	memset(e, 0, sizeof *e);
	col_text(s, 0, e->handle, sizeof e->handle);
	col_text(s, 1, e->profile.name, sizeof e->profile.name);
	col_text(s, 2, e->profile.organisation, sizeof e->profile.organisation);
	col_text(s, 3, e->profile.country, sizeof e->profile.country);
	col_text(s, 4, e->profile.role, sizeof e->profile.role);
	col_text(s, 5, e->profile.languages, sizeof e->profile.languages);
	col_text(s, 6, e->profile.timezone, sizeof e->profile.timezone);
	col_text(s, 7, e->profile.alternate, sizeof e->profile.alternate);
	if (col_blob_exact(s, 8, e->identity_key, HL_STORE_KEY_LEN) != 0)
		return HL_EDB;
	e->updated = col_int(s, 9);
	return 0;
}

int
hl_sql_directory(struct hl_store *st, const char *q, size_t max,
    struct hl_store_entry **out, size_t *n, char *cause)
{
	struct hl_sql_store *ss = impl(st);
	*out = NULL;
	*n = 0;
	char lowered[HL_STORE_TEXT_MAX + 1];
	size_t qlen = strlen(q);
	if (qlen >= sizeof lowered)
		return hl_fail(cause, HL_EINVAL, "query too long");
	/* The statements fold ASCII only; fold the query the same way. */
	for (size_t i = 0; i <= qlen; i++) {
		char ch = q[i];
		lowered[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
	}
	struct hl_store_entry *entries = calloc(max ? max : 1, sizeof *entries);
	if (entries == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	unsigned slot;
	conn *c = hl_sql_reader_get(ss, &slot);
	int err = 0, ret = 0;
	stmt_t *s = stmt(c, HL_SQL_DIRECTORY, &err, cause);
	if (s == NULL)
		ret = err;
	if (ret == 0) {
		bind_text(s, 1, lowered);
		bind_int(s, 2, (int64_t)max);
		int rc = 0;
		while (*n < max && (rc = step(s, cause)) == 1) {
			if (read_entry(s, &entries[*n]) != 0) {
				ret = hl_fail(cause, HL_EDB,
				    "a corrupt directory entry");
				break;
			}
			(*n)++;
		}
		if (ret == 0 && rc < 0)
			ret = rc;
	}
	finish(s);
	hl_sql_reader_put(ss, slot);
	if (ret != 0) {
		free(entries);
		*n = 0;
		return ret;
	}
	*out = entries;
	return 0;
}

int
hl_sql_gauges(struct hl_store *st, int64_t *queue_depth, int64_t *accounts)
{
	struct hl_sql_store *ss = impl(st);
	unsigned slot;
	conn *c = hl_sql_reader_get(ss, &slot);
	int err = 0, ret = 0;
	stmt_t *s = stmt(c, HL_SQL_GAUGES, &err, NULL);
	if (s == NULL) {
		ret = err;
	} else {
		int rc = step(s, NULL);
		if (rc == 1) {
			*queue_depth = col_int(s, 0);
			*accounts = col_int(s, 1);
		} else {
			ret = rc < 0 ? rc : HL_EDB;
		}
	}
	finish(s);
	hl_sql_reader_put(ss, slot);
	return ret;
}

int
hl_sql_oldest_queued(struct hl_store *st, int64_t *accepted)
{
	struct hl_sql_store *ss = impl(st);
	unsigned slot;
	conn *c = hl_sql_reader_get(ss, &slot);
	*accepted = 0;
	int err = 0, ret = 0;
	stmt_t *s = stmt(c, HL_SQL_OLDEST, &err, NULL);
	if (s == NULL) {
		ret = err;
	} else {
		int rc = step(s, NULL);
		if (rc == 1)
			*accepted = col_int(s, 0);
		else
			ret = rc < 0 ? rc : HL_EDB;
	}
	finish(s);
	hl_sql_reader_put(ss, slot);
	return ret;
}

/* --- writes --- */

/* Runs transaction step what, its failure told as "doing: why". */
static int
tx_said(conn *c, enum hl_sql_tx what, const char *doing, char *cause)
{
	char why[HL_CAUSE_MAX] = "";
	int rc = c->drv->tx(c, what, why);
	if (rc != 0)
		return hl_fail(cause, rc, "%s: %s", doing, why);
	return 0;
}

int
hl_sql_batch_begin(struct hl_store *st, char *cause)
{
	return tx_said(impl(st)->writer, HL_TX_BEGIN, "cannot begin", cause);
}

int
hl_sql_batch_commit(struct hl_store *st, char *cause)
{
	conn *c = impl(st)->writer;
	int rc = tx_said(c, HL_TX_COMMIT, "cannot commit", cause);
	if (rc != 0)
		c->drv->tx(c, HL_TX_ROLLBACK, NULL);
	return rc;
}

void
hl_sql_batch_rollback(struct hl_store *st)
{
	conn *c = impl(st)->writer;
	c->drv->tx(c, HL_TX_ROLLBACK, NULL);
}

/* Every write runs inside its own savepoint, so a refused one leaves the
 * rest of the batch alone. */
static int
op_begin(conn *c, char *cause)
{
	/* Some errors (disk full, I/O, a lost connection) end the whole
	 * transaction; a write must not then run on its own, outside the
	 * batch the writer will try to commit. */
	if (!c->drv->in_tx(c))
		return hl_fail(cause, HL_EDB, "no batch transaction is open");
	return tx_said(c, HL_TX_SAVEPOINT, "savepoint", cause);
}

static int
op_end(conn *c, int ret)
{
	if (ret == 0) {
		int rc = c->drv->tx(c, HL_TX_RELEASE, NULL);
		if (rc != 0) {
			c->drv->tx(c, HL_TX_ROLLBACK_TO, NULL);
			return rc;
		}
		return 0;
	}
	c->drv->tx(c, HL_TX_ROLLBACK_TO, NULL);
	return ret;
}

static int
insert_prekeys(conn *c, int64_t account, const struct hl_store_prekey *keys,
    size_t n, char *cause)
{
	int err = 0;
	for (size_t i = 0; i < n; i++) {
		stmt_t *s = stmt(c, HL_SQL_PREKEY_EXISTS, &err, cause);
		if (s == NULL)
			return err;
		bind_int(s, 1, account);
		bind_int(s, 2, keys[i].id);
		int rc = step(s, cause);
		finish(s);
		if (rc == 1)
			return hl_fail(cause, HL_EEXIST,
			    "prekeys: id %u is already stored", keys[i].id);
		if (rc < 0)
			return rc;
		s = stmt(c, HL_SQL_PREKEY_INSERT, &err, cause);
		if (s == NULL)
			return err;
		bind_int(s, 1, account);
		bind_int(s, 2, keys[i].id);
		bind_blob(s, 3, keys[i].key, HL_STORE_KEY_LEN);
		int ret = step_done(s, cause);
		if (ret != 0)
			return ret;
	}
	return 0;
}

static void
bind_profile(stmt_t *s, int first, const struct hl_store_profile *p)
{
	bind_text(s, first, p->name);
	bind_text(s, first + 1, p->organisation);
	bind_text(s, first + 2, p->country);
	bind_text(s, first + 3, p->role);
	bind_text(s, first + 4, p->languages);
	bind_text(s, first + 5, p->timezone);
	bind_text(s, first + 6, p->alternate);
}

/* The code of handle whose hash matches, in any state. */
struct code_match {
	int64_t id;
	int64_t expires;
	int used;
	int64_t account;           /* the account it created; 0: none */
};

/* Every stored hash of the handle is compared, in constant time, so the
 * time taken does not tell how close a guess came. */
static int
find_code(conn *c, const char *handle,
    const uint8_t code_hash[HL_SECRET_HASH], struct code_match *m,
    char *cause)
{
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_CODES_FOR, &err, cause);
	if (s == NULL)
		return err;
	bind_text(s, 1, handle);
	int found = 0, rc;
	while ((rc = step(s, cause)) == 1) {
		if (!col_blob_equal(s, 1, code_hash, HL_SECRET_HASH) || found)
			continue;
		found = 1;
		m->id = col_int(s, 0);
		m->expires = col_int(s, 2);
		m->used = !col_null(s, 3);
		m->account = col_id(s, 4);
	}
	finish(s);
	if (rc < 0)
		return rc;
	if (!found)
		return hl_fail(cause, HL_ECODE,
		    "the enrollment code is not valid for this handle");
	return 0;
}

/* A used code again: a retry of the registration it made, if the answer
 * can only have been lost (see store.h); anything else is HL_ECODE. */
static int
reissue_in_op(conn *c, const struct hl_store_registration *reg,
    const struct code_match *m, int64_t now, int *reissued, char *cause)
{
	int err = 0, ret = 0;
	if (m->account <= 0)
		return hl_fail(cause, HL_ECODE,
		    "the enrollment code is not valid for this handle");
	stmt_t *s = stmt(c, HL_SQL_REISSUE_ACCOUNT, &err, cause);
	if (s == NULL)
		return err;
	bind_int(s, 1, m->account);
	int rc = step(s, cause);
	int same = 0;
	if (rc == 1) {
		const char *handle = s->drv->col_text(s, 0);
		same = handle != NULL && strcmp(handle, reg->handle) == 0 &&
		    col_blob_equal(s, 1, reg->identity_key,
		    HL_STORE_KEY_LEN) &&
		    col_int(s, 2) == reg->registration_id &&
		    col_int(s, 3) > now - HOUR_MS &&
		    col_int(s, 4) == 1 && col_int(s, 5) == 1;
	}
	finish(s);
	if (rc < 0)
		return rc;
	if (!same)
		return hl_fail(cause, HL_ECODE,
		    "the enrollment code is not valid for this handle");
	if ((s = stmt(c, HL_SQL_TOKEN_REPLACE, &err, cause)) == NULL)
		return err;
	bind_int(s, 1, m->account);
	bind_blob(s, 2, reg->token_hash, HL_SECRET_HASH);
	if ((ret = step_done(s, cause)) != 0)
		return ret;
	if (reissued != NULL)
		*reissued = 1;
	return 0;
}

static int
insert_account(conn *c, const struct hl_store_registration *reg, int64_t now,
    int64_t *account, char *cause)
{
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_ACCOUNT_INSERT, &err, cause);
	if (s == NULL)
		return err;
	bind_text(s, 1, reg->handle);
	bind_blob(s, 2, reg->token_hash, HL_SECRET_HASH);
	bind_int(s, 3, reg->device_id);
	bind_int(s, 4, reg->registration_id);
	bind_blob(s, 5, reg->identity_key, HL_STORE_KEY_LEN);
	bind_int(s, 6, reg->signed_prekey.id);
	bind_blob(s, 7, reg->signed_prekey.key, HL_STORE_KEY_LEN);
	bind_blob(s, 8, reg->signed_prekey.signature, HL_STORE_SIG_LEN);
	bind_profile(s, 9, &reg->profile);
	bind_int(s, 16, now);
	int rc = step(s, cause);
	if (rc == 1)
		*account = col_int(s, 0);
	finish(s);
	if (rc == 0)
		return hl_fail(cause, HL_EDB, "the new account has no id");
	return rc < 0 ? rc : 0;
}

static int
register_in_op(conn *c, const struct hl_store_registration *reg, int64_t now,
    int *reissued, char *cause)
{
	struct code_match code;
	memset(&code, 0, sizeof code);
	int err = 0;
	int ret = find_code(c, reg->handle, reg->code_hash, &code, cause);
	if (ret != 0)
		return ret;
	if (code.used)
		return reissue_in_op(c, reg, &code, now, reissued, cause);
	if (code.expires <= now)
		return hl_fail(cause, HL_ECODE,
		    "the enrollment code is not valid for this handle");
	int64_t old;
	int old_revoked;
	stmt_t *s;
	int rc = account_by_handle(c, reg->handle, &old, &old_revoked, cause);
	if (rc < 0)
		return rc;
	if (rc == 1 && !old_revoked)
		return hl_fail(cause, HL_ETAKEN, "'%s' already has an account",
		    reg->handle);
	if (rc == 1) {
		/* A revoked account gives its handle to the new enrollment;
		 * its keys and bookkeeping go with it. */
		if ((ret = exec_int64(c, HL_SQL_ACCOUNT_DELETE, old, NULL,
		    cause)) != 0)
			return ret;
	}
	int64_t account = 0;
	if ((ret = insert_account(c, reg, now, &account, cause)) != 0)
		return ret;
	if ((ret = insert_prekeys(c, account, reg->prekeys, reg->nprekeys,
	    cause)) != 0)
		return ret;
	if ((s = stmt(c, HL_SQL_CODE_USE, &err, cause)) == NULL)
		return err;
	bind_int(s, 1, code.id);
	bind_int(s, 2, now);
	bind_int(s, 3, account);
	if ((ret = step_done(s, cause)) != 0)
		return ret;
	/* Other codes issued for the handle must not outlive the
	 * registration: one could enrol the handle again after a revoke. */
	if ((s = stmt(c, HL_SQL_CODES_RETIRE, &err, cause)) == NULL)
		return err;
	bind_text(s, 1, reg->handle);
	bind_int(s, 2, now);
	return step_done(s, cause);
}

int
hl_sql_register(struct hl_store *st, const struct hl_store_registration *reg,
    int64_t now, int *reissued, char *cause)
{
	conn *c = impl(st)->writer;
	if (reissued != NULL)
		*reissued = 0;
	int ret = op_begin(c, cause);
	if (ret != 0)
		return ret;
	ret = op_end(c, register_in_op(c, reg, now, reissued, cause));
	if (ret != 0 && reissued != NULL)
		*reissued = 0;
	return ret;
}

static int
mark_in_op(conn *c, int64_t account, const uint8_t token_hash[HL_SECRET_HASH],
    int64_t now, char *cause)
{
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_MARK_USED, &err, cause);
	if (s == NULL)
		return err;
	bind_int(s, 1, account);
	bind_blob(s, 2, token_hash, HL_SECRET_HASH);
	bind_int(s, 3, now);
	int64_t changed = 0;
	int ret = step_done_n(s, &changed, cause);
	if (ret == 0 && changed != 1)
		ret = hl_fail(cause, HL_EAUTH,
		    "the account was revoked or its token replaced");
	return ret;
}

int
hl_sql_mark_used(struct hl_store *st, int64_t account,
    const uint8_t token_hash[HL_SECRET_HASH], int64_t now, char *cause)
{
	conn *c = impl(st)->writer;
	int ret = op_begin(c, cause);
	if (ret != 0)
		return ret;
	return op_end(c, mark_in_op(c, account, token_hash, now, cause));
}

static int
upload_in_op(conn *c, int64_t account, const struct hl_store_keys *up,
    const struct hl_store_limits *lim, int64_t *remaining, char *cause)
{
	int ret = account_active(c, account, cause);
	int64_t have = 0;
	if (ret == 0)
		ret = prekey_count(c, account, &have, cause);
	if (ret != 0)
		return ret;
	if (have + (int64_t)up->nprekeys > lim->max_prekeys_stored)
		return hl_fail(cause, HL_EINVAL,
		    "prekeys: the account holds %lld and may hold at most %lld",
		    (long long)have, (long long)lim->max_prekeys_stored);
	if ((ret = insert_prekeys(c, account, up->prekeys, up->nprekeys,
	    cause)) != 0)
		return ret;
	if (up->has_signed_prekey) {
		int err = 0;
		stmt_t *s = stmt(c, HL_SQL_SPK_UPDATE, &err, cause);
		if (s == NULL)
			return err;
		bind_int(s, 1, account);
		bind_int(s, 2, up->signed_prekey.id);
		bind_blob(s, 3, up->signed_prekey.key, HL_STORE_KEY_LEN);
		bind_blob(s, 4, up->signed_prekey.signature, HL_STORE_SIG_LEN);
		if ((ret = step_done(s, cause)) != 0)
			return ret;
	}
	*remaining = have + (int64_t)up->nprekeys;
	return 0;
}

int
hl_sql_upload_keys(struct hl_store *st, int64_t account,
    const struct hl_store_keys *up, const struct hl_store_limits *lim,
    int64_t *prekeys_remaining, char *cause)
{
	conn *c = impl(st)->writer;
	int ret = op_begin(c, cause);
	if (ret != 0)
		return ret;
	return op_end(c, upload_in_op(c, account, up, lim, prekeys_remaining,
	    cause));
}

/* The target's account and keys. The backend's statement locks the row
 * where other processes write too, so the rate count and the prekey taken
 * after it see every other hand-out of the same target. */
static int
bundle_target(conn *c, const char *target, struct hl_store_bundle *b,
    int64_t *target_id, char *cause)
{
	int err = 0, ret = 0;
	stmt_t *s = stmt(c, HL_SQL_TARGET, &err, cause);
	if (s == NULL)
		return err;
	bind_text(s, 1, target);
	int rc = step(s, cause);
	if (rc == 1) {
		*target_id = col_int(s, 0);
		col_text(s, 1, b->handle, sizeof b->handle);
		b->device_id = (uint32_t)col_int(s, 2);
		b->registration_id = (uint32_t)col_int(s, 3);
		b->signed_prekey.id = (uint32_t)col_int(s, 5);
		struct hl_store_signed_prekey *spk = &b->signed_prekey;
		if (col_blob_exact(s, 4, b->identity_key, HL_STORE_KEY_LEN) ||
		    col_blob_exact(s, 6, spk->key, HL_STORE_KEY_LEN) ||
		    col_blob_exact(s, 7, spk->signature, HL_STORE_SIG_LEN))
			ret = hl_fail(cause, HL_EDB, "corrupt keys for '%s'",
			    target);
	}
	finish(s);
	if (ret != 0)
		return ret;
	if (rc == 0)
		return hl_fail(cause, HL_ENOTFOUND, "no account '%s'", target);
	return rc < 0 ? rc : 0;
}

static int
bundle_rate(conn *c, int64_t requester, int64_t target_id, const char *target,
    int64_t now, const struct hl_store_limits *lim, int64_t *retry_after_s,
    char *cause)
{
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_BUNDLE_COUNT, &err, cause);
	if (s == NULL)
		return err;
	bind_int(s, 1, requester);
	bind_int(s, 2, target_id);
	bind_int(s, 3, now - HOUR_MS);
	int rc = step(s, cause);
	int64_t count = 0, oldest = 0;
	if (rc == 1) {
		count = col_int(s, 0);
		oldest = col_id(s, 1);
	}
	finish(s);
	if (rc <= 0)
		return rc < 0 ? rc : hl_fail(cause, HL_EDB, "no count");
	if (count >= lim->bundle_rate_per_hour) {
		int64_t wait = oldest + HOUR_MS - now;
		*retry_after_s = wait <= 0 ? 1 : (wait + 999) / 1000;
		return hl_fail(cause, HL_ERATE,
		    "at most %lld bundles of '%s' per hour",
		    (long long)lim->bundle_rate_per_hour, target);
	}
	return 0;
}

static int
bundle_prekey(conn *c, int64_t target_id, struct hl_store_bundle *b,
    char *cause)
{
	int err = 0, ret = 0;
	stmt_t *s = stmt(c, HL_SQL_PREKEY_FIRST, &err, cause);
	if (s == NULL)
		return err;
	bind_int(s, 1, target_id);
	int rc = step(s, cause);
	b->has_prekey = 0;
	if (rc == 1) {
		b->prekey.id = (uint32_t)col_int(s, 0);
		if (col_blob_exact(s, 1, b->prekey.key, HL_STORE_KEY_LEN) != 0)
			ret = hl_fail(cause, HL_EDB, "a corrupt prekey");
		else
			b->has_prekey = 1;
	}
	finish(s);
	if (ret != 0)
		return ret;
	if (rc < 0)
		return rc;
	if (!b->has_prekey)
		return 0;
	if ((s = stmt(c, HL_SQL_PREKEY_DELETE, &err, cause)) == NULL)
		return err;
	bind_int(s, 1, target_id);
	bind_int(s, 2, b->prekey.id);
	int64_t deleted = 0;
	if ((ret = step_done_n(s, &deleted, cause)) != 0)
		return ret;
	/* Handed out exactly once: a key another process took meanwhile is
	 * not handed out again. */
	if (deleted != 1)
		return hl_fail(cause, HL_EBUSY, "the prekey was taken; retry");
	return 0;
}

static int
bundle_in_op(conn *c, int64_t requester, const char *target, int64_t now,
    const struct hl_store_limits *lim, struct hl_store_bundle *b,
    int64_t *retry_after_s, char *cause)
{
	int ret = account_active(c, requester, cause);
	int64_t target_id = 0;
	if (ret == 0)
		ret = bundle_target(c, target, b, &target_id, cause);
	if (ret == 0)
		ret = bundle_rate(c, requester, target_id, target, now, lim,
		    retry_after_s, cause);
	if (ret == 0)
		ret = bundle_prekey(c, target_id, b, cause);
	if (ret != 0)
		return ret;
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_BUNDLE_RECORD, &err, cause);
	if (s == NULL)
		return err;
	bind_int(s, 1, requester);
	bind_int(s, 2, target_id);
	bind_int(s, 3, now);
	return step_done(s, cause);
}

int
hl_sql_take_bundle(struct hl_store *st, int64_t requester, const char *target,
    int64_t now, const struct hl_store_limits *lim, struct hl_store_bundle *out,
    int64_t *retry_after_s, char *cause)
{
	conn *c = impl(st)->writer;
	memset(out, 0, sizeof *out);
	*retry_after_s = 0;
	int ret = op_begin(c, cause);
	if (ret != 0)
		return ret;
	return op_end(c, bundle_in_op(c, requester, target, now, lim, out,
	    retry_after_s, cause));
}

static int
read_entry_by_id(conn *c, int64_t account, struct hl_store_entry *out,
    char *cause)
{
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_ENTRY, &err, cause);
	if (s == NULL)
		return err;
	bind_int(s, 1, account);
	int rc = step(s, cause);
	int ret = 0;
	if (rc == 1)
		ret = read_entry(s, out) == 0 ? 0 :
		    hl_fail(cause, HL_EDB, "a corrupt directory entry");
	else
		ret = rc == 0 ? hl_fail(cause, HL_EAUTH, "no account") : rc;
	finish(s);
	return ret;
}

static int
profile_in_op(conn *c, int64_t account, const struct hl_store_profile *p,
    int64_t now, struct hl_store_entry *out, char *cause)
{
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_PROFILE_UPDATE, &err, cause);
	if (s == NULL)
		return err;
	bind_int(s, 1, account);
	bind_profile(s, 2, p);
	bind_int(s, 9, now);
	int64_t changed = 0;
	int ret = step_done_n(s, &changed, cause);
	if (ret != 0)
		return ret;
	if (changed != 1)
		return hl_fail(cause, HL_EAUTH, "the account was revoked");
	return read_entry_by_id(c, account, out, cause);
}

int
hl_sql_update_profile(struct hl_store *st, int64_t account,
    const struct hl_store_profile *profile, int64_t now,
    struct hl_store_entry *out, char *cause)
{
	conn *c = impl(st)->writer;
	int ret = op_begin(c, cause);
	if (ret != 0)
		return ret;
	return op_end(c, profile_in_op(c, account, profile, now, out, cause));
}

/* One row of the queue to insert. */
struct queue_row {
	int64_t recipient;
	enum hl_store_item_kind kind;
	int64_t sender;              /* 0: none */
	const char *peer;
	uint32_t peer_device;
	const char *id;
	int type;
	const uint8_t *body;         /* NULL for notices */
	size_t body_len;
	int64_t accepted;
	int64_t at;
	const char *reason;
};

static int
insert_item(conn *c, const struct queue_row *q, char *cause)
{
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_QUEUE_INSERT, &err, cause);
	if (s == NULL)
		return err;
	bind_int(s, 1, q->recipient);
	bind_int(s, 2, (int64_t)q->kind);
	if (q->sender > 0)
		bind_int(s, 3, q->sender);
	else
		s->drv->bind_null(s, 3);
	bind_text(s, 4, q->peer);
	bind_int(s, 5, q->peer_device);
	bind_text(s, 6, q->id);
	bind_int(s, 7, q->type);
	if (q->body != NULL)
		bind_blob(s, 8, q->body, q->body_len);
	else
		s->drv->bind_null(s, 8);
	bind_int(s, 9, q->accepted);
	bind_int(s, 10, q->at);
	bind_text(s, 11, q->reason ? q->reason : "");
	return step_done(s, cause);
}

/* A message already accepted under (sender, id): 1 (a retry, or
 * HL_ECONFLICT when its content differs), 0 when the id is new. */
static int
already_sent(conn *c, const struct hl_store_envelope *env,
    struct hl_store_accepted *out, char *cause)
{
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_SENT_GET, &err, cause);
	if (s == NULL)
		return err;
	bind_int(s, 1, env->sender);
	bind_text(s, 2, env->id);
	int rc = step(s, cause);
	if (rc != 1) {
		finish(s);
		return rc;
	}
	int same = col_blob_equal(s, 0, env->digest, HL_STORE_DIGEST_LEN);
	out->accepted = col_int(s, 1);
	finish(s);
	if (!same)
		return hl_fail(cause, HL_ECONFLICT,
		    "id %s was already used for another message", env->id);
	out->duplicate = 1;
	out->recipient = 0;
	return 1;
}

/* The recipient's id, with room in its queue for one more from sender.
 * The backend's statement locks the recipient where other processes
 * write too, so the counts after it are exact. */
static int
queue_room(conn *c, const struct hl_store_envelope *env,
    const struct hl_store_limits *lim, int64_t *recipient, char *cause)
{
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_RECIPIENT, &err, cause);
	if (s == NULL)
		return err;
	bind_text(s, 1, env->to);
	int rc = step(s, cause);
	if (rc == 1)
		*recipient = col_int(s, 0);
	finish(s);
	if (rc == 0)
		return hl_fail(cause, HL_ERECIPIENT, "no account '%s'",
		    env->to);
	if (rc < 0)
		return rc;
	int64_t queued = 0;
	int ret = query_int64(c, HL_SQL_QUEUED_COUNT, *recipient, &queued,
	    cause);
	if (ret != 0)
		return ret;
	if (queued >= lim->max_queue_per_recipient)
		return hl_fail(cause, HL_EQUEUEFULL,
		    "the queue of '%s' is full", env->to);
	if (lim->max_queue_per_sender <= 0)
		return 0;
	if ((s = stmt(c, HL_SQL_SENDER_QUEUED, &err, cause)) == NULL)
		return err;
	bind_int(s, 1, *recipient);
	bind_int(s, 2, env->sender);
	rc = step(s, cause);
	int64_t mine = rc == 1 ? col_int(s, 0) : 0;
	finish(s);
	if (rc <= 0)
		return rc < 0 ? rc : hl_fail(cause, HL_EDB, "no count");
	if (mine >= lim->max_queue_per_sender)
		return hl_fail(cause, HL_EQUEUEFULL,
		    "the queue of '%s' holds %lld messages from you, "
		    "your share of it", env->to, (long long)mine);
	return 0;
}

static int
queue_in_op(conn *c, const struct hl_store_envelope *env, int64_t now,
    const struct hl_store_limits *lim, struct hl_store_accepted *out,
    char *cause)
{
	int err = 0;
	int ret = account_active(c, env->sender, cause);
	if (ret != 0)
		return ret;
	if ((ret = already_sent(c, env, out, cause)) != 0)
		return ret < 0 ? ret : 0;
	int64_t recipient = 0;
	if ((ret = queue_room(c, env, lim, &recipient, cause)) != 0)
		return ret;
	struct queue_row row = {
		.recipient = recipient, .kind = HL_STORE_MESSAGE,
		.sender = env->sender, .peer = env->sender_handle,
		.peer_device = env->sender_device, .id = env->id,
		.type = env->type, .body = env->body, .body_len = env->body_len,
		.accepted = now,
	};
	ret = insert_item(c, &row, cause);
	if (ret != 0)
		return ret;
	stmt_t *s = stmt(c, HL_SQL_SENT_INSERT, &err, cause);
	if (s == NULL)
		return err;
	bind_int(s, 1, env->sender);
	bind_text(s, 2, env->id);
	bind_blob(s, 3, env->digest, HL_STORE_DIGEST_LEN);
	bind_int(s, 4, now);
	if ((ret = step_done(s, cause)) != 0)
		return ret;
	out->accepted = now;
	out->recipient = recipient;
	out->duplicate = 0;
	return 0;
}

int
hl_sql_queue_message(struct hl_store *st, const struct hl_store_envelope *env,
    int64_t now, const struct hl_store_limits *lim,
    struct hl_store_accepted *out, char *cause)
{
	conn *c = impl(st)->writer;
	memset(out, 0, sizeof *out);
	int ret = op_begin(c, cause);
	if (ret != 0)
		return ret;
	return op_end(c, queue_in_op(c, env, now, lim, out, cause));
}

static int
ack_in_op(conn *c, int64_t account, const int64_t *qids, size_t n,
    int64_t *deleted, char *cause)
{
	int err = 0;
	int ret = account_active(c, account, cause);
	if (ret != 0)
		return ret;
	*deleted = 0;
	for (size_t i = 0; i < n; i++) {
		stmt_t *s = stmt(c, HL_SQL_ACK, &err, cause);
		if (s == NULL)
			return err;
		bind_int(s, 1, qids[i]);
		bind_int(s, 2, account);
		int64_t one = 0;
		if ((ret = step_done_n(s, &one, cause)) != 0)
			return ret;
		*deleted += one;
	}
	return 0;
}

int
hl_sql_ack(struct hl_store *st, int64_t account, const int64_t *qids,
    size_t n, int64_t *deleted, char *cause)
{
	conn *c = impl(st)->writer;
	int ret = op_begin(c, cause);
	if (ret != 0)
		return ret;
	return op_end(c, ack_in_op(c, account, qids, n, deleted, cause));
}

static int
push_id(int64_t **ids, size_t *n, size_t *cap, int64_t id)
{
	for (size_t i = *n; i > 0 && i + 8 > *n; i--)
		if ((*ids)[i - 1] == id)
			return 0;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		int64_t *p = realloc(*ids, ncap * sizeof *p);
		if (p == NULL)
			return HL_ENOMEM;
		*ids = p;
		*cap = ncap;
	}
	(*ids)[(*n)++] = id;
	return 0;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void
unique_ids(int64_t *ids, size_t *n)
{
	if (*n < 2)
		return;
	qsort(ids, *n, sizeof *ids, cmp_id);
	size_t o = 1;
	for (size_t i = 1; i < *n; i++)
		if (ids[i] != ids[o - 1])
			ids[o++] = ids[i];
	*n = o;
}

/* One row of HL_SQL_EXPIRED or HL_SQL_QUEUED_FOR, copied out before the
 * statement moves on. */
struct expired_row {
	int64_t qid;
	int64_t sender;
	char id[HL_STORE_ID_HEX + 1];
	int64_t accepted;
	char to[HL_HANDLE_MAX + 1];
};

static int
is_active(conn *c, int64_t account, int *active, char *cause)
{
	int ret = account_active(c, account, NULL);
	if (ret == HL_EAUTH) {
		*active = 0;
		return 0;
	}
	if (ret != 0)
		return hl_fail(cause, ret, "cannot read accounts");
	*active = 1;
	return 0;
}

/* Reads up to PURGE_CHUNK rows of s (bound by the caller) into rows;
 * with_to: the fifth column is the recipient's handle. */
static int
read_rows(stmt_t *s, struct expired_row *rows, int with_to, size_t *n,
    char *cause)
{
	int rc = 0;
	*n = 0;
	while (*n < PURGE_CHUNK && (rc = step(s, cause)) == 1) {
		struct expired_row *r = &rows[*n];
		r->qid = col_int(s, 0);
		r->sender = col_id(s, 1);
		col_text(s, 2, r->id, sizeof r->id);
		r->accepted = col_int(s, 3);
		r->to[0] = '\0';
		if (with_to)
			col_text(s, 4, r->to, sizeof r->to);
		(*n)++;
	}
	finish(s);
	return rc < 0 ? rc : 0;
}

/* Notices are queued for senders still active, about their own message. */
static int
notify_sender(conn *c, const struct expired_row *r,
    enum hl_store_item_kind kind, const char *peer, int64_t now,
    int *queued, char *cause)
{
	int active = 0;
	*queued = 0;
	if (r->sender <= 0)
		return 0;
	int ret = is_active(c, r->sender, &active, cause);
	if (ret != 0 || !active)
		return ret;
	struct queue_row row = {
		.recipient = r->sender, .kind = kind, .peer = peer,
		.id = r->id, .accepted = r->accepted, .at = now,
		.reason = kind == HL_STORE_DROPPED ? "revoked" : "",
	};
	ret = insert_item(c, &row, cause);
	if (ret == 0)
		*queued = 1;
	return ret;
}

static int
expire_messages(conn *c, int64_t now, int64_t cutoff,
    struct hl_store_purge *out, size_t *cap, char *cause)
{
	int err = 0, ret = 0;
	struct expired_row rows[PURGE_CHUNK];
	for (int round = 0; round < PURGE_ROUNDS; round++) {
		stmt_t *s = stmt(c, HL_SQL_EXPIRED, &err, cause);
		if (s == NULL)
			return err;
		bind_int(s, 1, cutoff);
		bind_int(s, 2, PURGE_CHUNK);
		size_t n = 0;
		if ((ret = read_rows(s, rows, 1, &n, cause)) != 0)
			return ret;
		for (size_t i = 0; i < n; i++) {
			int queued = 0;
			ret = notify_sender(c, &rows[i], HL_STORE_EXPIRED,
			    rows[i].to, now, &queued, cause);
			if (ret == 0 && queued)
				ret = push_id(&out->woken, &out->nwoken, cap,
				    rows[i].sender);
			if (ret == 0)
				ret = exec_int64(c, HL_SQL_QUEUE_DELETE,
				    rows[i].qid, NULL, cause);
			if (ret != 0)
				return ret;
			out->expired++;
		}
		if (n < PURGE_CHUNK)
			break;
	}
	return 0;
}

static int
purge_in_tx(conn *c, int64_t now, int64_t retention_ms,
    struct hl_store_purge *out, size_t *cap, char *cause)
{
	int64_t cutoff = now - retention_ms;
	int ret = expire_messages(c, now, cutoff, out, cap, cause);
	/* Notices are kept as long as messages; nobody is told about an
	 * expired notice. */
	if (ret == 0)
		ret = exec_int64(c, HL_SQL_PURGE_NOTICES, cutoff,
		    &out->notices_dropped, cause);
	/* Ids are remembered for two retention periods, longer than any
	 * retry of a message that could still be queued. */
	if (ret == 0)
		ret = exec_int64(c, HL_SQL_PURGE_SENT, now - 2 * retention_ms,
		    NULL, cause);
	if (ret == 0)
		ret = exec_int64(c, HL_SQL_PURGE_FETCHES, now - HOUR_MS, NULL,
		    cause);
	if (ret == 0)
		ret = exec_int64(c, HL_SQL_PURGE_CODES, cutoff, NULL, cause);
	return ret;
}

int
hl_sql_purge(struct hl_store *st, int64_t now, int64_t retention_ms,
    struct hl_store_purge *out, char *cause)
{
	conn *c = impl(st)->writer;
	memset(out, 0, sizeof *out);
	size_t cap = 0;
	int ret = op_begin(c, cause);
	if (ret == 0)
		ret = op_end(c, purge_in_tx(c, now, retention_ms, out, &cap,
		    cause));
	if (ret != 0) {
		free(out->woken);
		memset(out, 0, sizeof *out);
		return ret;
	}
	unique_ids(out->woken, &out->nwoken);
	return 0;
}

/* --- admin --- */

static int
admin_tx_end(conn *c, int ret, char *cause)
{
	if (ret != 0) {
		c->drv->tx(c, HL_TX_ROLLBACK, NULL);
		return ret;
	}
	int rc = tx_said(c, HL_TX_COMMIT, "cannot commit", cause);
	if (rc != 0)
		c->drv->tx(c, HL_TX_ROLLBACK, NULL);
	return rc;
}

static int
invite_in_tx(conn *c, const char *handle,
    const uint8_t code_hash[HL_SECRET_HASH], int64_t now, int64_t expires,
    char *cause)
{
	int err = 0;
	int64_t id;
	int revoked;
	int rc = account_by_handle(c, handle, &id, &revoked, cause);
	if (rc < 0)
		return rc;
	if (rc == 1 && !revoked)
		return hl_fail(cause, HL_ETAKEN,
		    "'%s' already has an active account; revoke it first",
		    handle);
	stmt_t *s = stmt(c, HL_SQL_INVITE, &err, cause);
	if (s == NULL)
		return err;
	bind_text(s, 1, handle);
	bind_blob(s, 2, code_hash, HL_SECRET_HASH);
	bind_int(s, 3, now);
	bind_int(s, 4, expires);
	return step_done(s, cause);
}

int
hl_sql_invite(struct hl_store *st, const char *handle,
    const uint8_t code_hash[HL_SECRET_HASH], int64_t now, int64_t expires,
    char *cause)
{
	conn *c = impl(st)->writer;
	int ret = tx_said(c, HL_TX_BEGIN, "cannot begin a transaction", cause);
	if (ret != 0)
		return ret;
	return admin_tx_end(c, invite_in_tx(c, handle, code_hash, now, expires,
	    cause), cause);
}

/* Every message queued for the account becomes a "dropped" notice to its
 * sender; rows are read in chunks so a statement is never stepped while
 * the queue changes under it. */
static int
drop_queued(conn *c, int64_t account, const char *handle, int64_t now,
    struct hl_store_revoke *out, char *cause)
{
	int err = 0, ret = 0;
	int64_t after = 0;
	struct expired_row rows[PURGE_CHUNK];
	for (int round = 0; round < PURGE_ROUNDS; round++) {
		stmt_t *s = stmt(c, HL_SQL_QUEUED_FOR, &err, cause);
		if (s == NULL)
			return err;
		bind_int(s, 1, account);
		bind_int(s, 2, after);
		bind_int(s, 3, PURGE_CHUNK);
		size_t n = 0;
		if ((ret = read_rows(s, rows, 0, &n, cause)) != 0)
			return ret;
		for (size_t i = 0; i < n; i++) {
			after = rows[i].qid;
			out->dropped++;
			if (rows[i].sender == account)
				continue;
			int queued = 0;
			ret = notify_sender(c, &rows[i], HL_STORE_DROPPED,
			    handle, now, &queued, cause);
			if (ret != 0)
				return ret;
			out->notices += queued;
		}
		if (n < PURGE_CHUNK)
			break;
	}
	return 0;
}

static int
revoke_in_tx(conn *c, const char *handle, int64_t now,
    struct hl_store_revoke *out, char *cause)
{
	int err = 0, ret;
	int64_t account;
	int revoked;
	stmt_t *s;
	int rc = account_by_handle(c, handle, &account, &revoked, cause);
	if (rc < 0)
		return rc;
	if (rc == 0 || revoked)
		return hl_fail(cause, HL_ENOTFOUND,
		    "'%s' has no active account", handle);
	if ((s = stmt(c, HL_SQL_REVOKE, &err, cause)) == NULL)
		return err;
	bind_int(s, 1, account);
	bind_int(s, 2, now);
	if ((ret = step_done(s, cause)) != 0)
		return ret;
	if ((ret = drop_queued(c, account, handle, now, out, cause)) != 0)
		return ret;
	static const enum hl_sql clears[] = {
		HL_SQL_QUEUE_CLEAR, HL_SQL_PREKEY_CLEAR, HL_SQL_FETCHES_CLEAR,
	};
	for (size_t i = 0; i < sizeof clears / sizeof clears[0]; i++)
		if ((ret = exec_int64(c, clears[i], account, NULL,
		    cause)) != 0)
			return ret;
	/* A code still pending for the handle would enrol it again. */
	if ((s = stmt(c, HL_SQL_CODES_DROP, &err, cause)) == NULL)
		return err;
	bind_text(s, 1, handle);
	return step_done(s, cause);
}

int
hl_sql_revoke(struct hl_store *st, const char *handle, int64_t now,
    struct hl_store_revoke *out, char *cause)
{
	conn *c = impl(st)->writer;
	memset(out, 0, sizeof *out);
	int ret = tx_said(c, HL_TX_BEGIN, "cannot begin a transaction", cause);
	if (ret != 0)
		return ret;
	ret = admin_tx_end(c, revoke_in_tx(c, handle, now, out, cause), cause);
	if (ret != 0)
		memset(out, 0, sizeof *out);
	return ret;
}

int
hl_sql_accounts(struct hl_store *st, struct hl_store_account_info **out,
    size_t *n, char *cause)
{
	conn *c = impl(st)->writer;
	*out = NULL;
	*n = 0;
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_ACCOUNTS, &err, cause);
	if (s == NULL)
		return err;
	size_t cap = 0;
	struct hl_store_account_info *list = NULL;
	int rc, ret = 0;
	while ((rc = step(s, cause)) == 1) {
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct hl_store_account_info *p;
			p = realloc(list, ncap * sizeof *p);
			if (p == NULL) {
				ret = hl_fail(cause, HL_ENOMEM,
				    "out of memory");
				break;
			}
			list = p;
			cap = ncap;
		}
		struct hl_store_account_info *a = &list[*n];
		memset(a, 0, sizeof *a);
		col_text(s, 0, a->handle, sizeof a->handle);
		col_text(s, 1, a->name, sizeof a->name);
		a->revoked = !col_null(s, 2);
		a->revoked_at = col_id(s, 2);
		a->created = col_int(s, 3);
		a->prekeys = col_int(s, 4);
		a->queued = col_int(s, 5);
		(*n)++;
	}
	finish(s);
	if (ret == 0 && rc < 0)
		ret = rc;
	if (ret != 0) {
		free(list);
		*n = 0;
		return ret;
	}
	*out = list;
	return 0;
}

int
hl_sql_stats(struct hl_store *st, struct hl_store_stats *out, char *cause)
{
	conn *c = impl(st)->writer;
	memset(out, 0, sizeof *out);
	int err = 0;
	stmt_t *s = stmt(c, HL_SQL_STATS, &err, cause);
	if (s == NULL)
		return err;
	bind_int(s, 1, hl_now_ms());
	int rc = step(s, cause);
	if (rc == 1) {
		out->accounts_active = col_int(s, 0);
		out->accounts_revoked = col_int(s, 1);
		out->queued_messages = col_int(s, 2);
		out->queued_notices = col_int(s, 3);
		out->oldest_queued = col_int(s, 4);
		out->prekeys = col_int(s, 5);
		out->codes_pending = col_int(s, 6);
	}
	finish(s);
	if (rc <= 0)
		return rc < 0 ? rc : hl_fail(cause, HL_EDB, "no stats");
	out->database_bytes = c->drv->database_bytes(st);
	return 0;
}
