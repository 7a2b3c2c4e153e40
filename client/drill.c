#include "client/drill.h"
#include "client/engine.h"
#include "client/out.h"
#include "client/store.h"
#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_LINE_MAX 256

int
hl_drill_init(struct hl_crypto *c, char *cause)
{
	return hl_store_drill_init(c, cause);
}

char *
hl_drill_check_body(const char *id, int64_t ack_by_ms, const char *note)
{
	char t[HL_TIME_STR];
	hl_time_utc(ack_by_ms, t);
	size_t len = 256 + (note ? strlen(note) : 0);
	char *b = malloc(len);
	if (b == NULL)
		return NULL;
	snprintf(b, len, "EXERCISE - communication check %s. This is a drill, "
	    "not a real incident. Please acknowledge by %s.%s%s", id, t,
	    note && *note ? "\n" : "", note ? note : "");
	return b;
}

static int
seen(const char *const *v, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(v[j], v[i]) == 0)
			return 1;
	return 0;
}

int
hl_drill_start(struct hl_engine *e, struct hl_crypto *c,
    const struct hl_drill_start *s, char id[HL_DRILL_ID_HEX + 1],
    char *cause)
{
	struct hl_drill_rec d;
	uint8_t rnd[HL_DRILL_ID_HEX / 2];
	if (s->n == 0)
		return hl_fail(cause, HL_EINVAL, "no contacts to check");
	if (s->n > HL_DRILL_MAX_CONTACTS)
		return hl_fail(cause, HL_EINVAL, "at most %d contacts in a drill",
		    HL_DRILL_MAX_CONTACTS);
	if (s->note != NULL && strlen(s->note) > HL_CONTENT_BODY_MAX - 256)
		return hl_fail(cause, HL_EINVAL, "the note is too long");
	for (size_t i = 0; i < s->n; i++)
		if (!hl_handle_valid(s->to[i]))
			return hl_fail(cause, HL_EINVAL, "'%s' is not a handle", s->to[i]);
	int rc = hl_drill_init(c, cause);
	if (rc != 0)
		return rc;
	memset(&d, 0, sizeof d);
	randombytes_buf(rnd, sizeof rnd);
	sodium_bin2hex(d.id, sizeof d.id, rnd, sizeof rnd);
	d.started_ms = hl_now_ms();
	d.ack_within_ms = s->ack_within_ms > 0 ? s->ack_within_ms :
	    HL_DRILL_DEFAULT_ACK_MS;
	d.note = (char *)s->note;
	char *body = hl_drill_check_body(d.id, d.started_ms + d.ack_within_ms,
	    s->note);
	if (body == NULL)
		return HL_ENOMEM;
	/* The drill first: a check queued is always found in its drill. */
	rc = hl_crypto_begin(c);
	if (rc == 0)
		rc = hl_store_drill_put(c, &d);
	if (rc == 0)
		rc = hl_crypto_commit(c);
	else
		hl_crypto_rollback(c);
	if (rc != 0) {
		free(body);
		return hl_fail(cause, rc, "storing the drill: %s", hl_strerror(rc));
	}
	int pos = 0;
	for (size_t i = 0; i < s->n && rc == 0; i++) {
		struct hl_drill_member m;
		char why[HL_CAUSE_MAX] = "";
		if (seen(s->to, i))
			continue;
		memset(&m, 0, sizeof m);
		snprintf(m.peer, sizeof m.peer, "%s", s->to[i]);
		struct hl_send_req req = {
			.to = s->to[i], .kind = HL_KIND_CHECK, .prio = HL_PRIO_URGENT,
			.ack_within_ms = d.ack_within_ms, .body = body,
		};
		if (hl_engine_queue(e, &req, m.msg_id, why) != 0) {
			m.msg_id[0] = '\0';
			snprintf(m.reason, sizeof m.reason, "%s", why[0] ? why : "refused");
		}
		rc = hl_store_drill_add(c, d.id, pos++, &m);
	}
	sodium_memzero(body, strlen(body));
	free(body);
	if (rc != 0)
		return hl_fail(cause, rc, "storing the drill: %s", hl_strerror(rc));
	memcpy(id, d.id, sizeof d.id);
	return 0;
}

static int
fill_row(struct hl_crypto *c, const struct hl_drill_member *mem,
    struct hl_drill_row *row)
{
	struct hl_msg m;
	memset(row, 0, sizeof *row);
	snprintf(row->peer, sizeof row->peer, "%s", mem->peer);
	if (mem->msg_id[0] == '\0') {
		row->reason = strdup(mem->reason[0] ? mem->reason : "not sent");
		return row->reason ? 0 : HL_ENOMEM;
	}
	memcpy(row->msg_id, mem->msg_id, sizeof row->msg_id);
	int rc = hl_store_msg_get(c, HL_OUT, mem->peer, mem->msg_id, &m);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		row->reason = strdup("the check is no longer in the store");
		return row->reason ? 0 : HL_ENOMEM;
	}
	row->state = hl_out_state(&m);
	row->sent_ms = m.at[HL_ST_SENT];
	row->delivered_ms = m.at[HL_ST_DELIVERED];
	row->acked_ms = m.at[HL_ST_ACKNOWLEDGED];
	row->ack_by_ms = m.content.ack_by;
	row->response = m.ack_response;
	if (m.ack_note != NULL && *m.ack_note) {
		row->note = strdup(m.ack_note);
		if (row->note == NULL)
			rc = HL_ENOMEM;
	}
	if (m.state == HL_ST_FAILED || m.state == HL_ST_EXPIRED) {
		row->reason = strdup(m.reason[0] ? m.reason : hl_state_name(m.state));
		if (row->reason == NULL)
			rc = HL_ENOMEM;
	}
	snprintf(row->escalated_to, sizeof row->escalated_to, "%s", m.escalated_to);
	hl_msg_clear(&m);
	return rc < 0 ? rc : 0;
}

static int
load_rec(struct hl_crypto *c, const struct hl_drill_rec *d,
    struct hl_drill_report *r)
{
	struct hl_drill_member *mem = NULL;
	size_t n = 0;
	memset(r, 0, sizeof *r);
	memcpy(r->id, d->id, sizeof r->id);
	r->started_ms = d->started_ms;
	r->ack_within_ms = d->ack_within_ms;
	r->now_ms = hl_now_ms();
	if (d->note != NULL && (r->note = strdup(d->note)) == NULL)
		return HL_ENOMEM;
	int rc = hl_store_drill_members(c, d->id, &mem, &n);
	if (rc != 0)
		return rc;
	r->rows = calloc(n ? n : 1, sizeof *r->rows);
	if (r->rows == NULL) {
		free(mem);
		return HL_ENOMEM;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = fill_row(c, &mem[i], &r->rows[i]);
		r->n = i + 1;
	}
	free(mem);
	return rc;
}

int
hl_drill_load(struct hl_crypto *c, const char *which,
    struct hl_drill_report *r, char *cause)
{
	struct hl_drill_rec d;
	memset(r, 0, sizeof *r);
	int rc = hl_drill_init(c, cause);
	if (rc != 0)
		return rc;
	rc = hl_store_drill_get(c, which, &d, cause);
	if (rc != 0)
		return rc;
	rc = load_rec(c, &d, r);
	hl_drill_rec_clear(&d);
	if (rc != 0) {
		hl_drill_report_clear(r);
		return hl_fail(cause, rc, "reading the drill: %s", hl_strerror(rc));
	}
	return 0;
}

struct hist_ctx {
	struct hl_crypto *c;
	struct hl_drill_hist *v;
	size_t n, cap;
	int rc;
};

static int
hist_one(const struct hl_drill_rec *d, void *arg)
{
	struct hist_ctx *x = arg;
	struct hl_drill_report r;
	if (x->n == x->cap) {
		size_t ncap = x->cap ? x->cap * 2 : 16;
		void *nv = realloc(x->v, ncap * sizeof *x->v);
		if (nv == NULL) {
			x->rc = HL_ENOMEM;
			return 1;
		}
		x->v = nv;
		x->cap = ncap;
	}
	x->rc = load_rec(x->c, d, &r);
	if (x->rc == 0) {
		struct hl_drill_hist *h = &x->v[x->n];
		memcpy(h->id, d->id, sizeof h->id);
		h->started_ms = d->started_ms;
		x->rc = hl_drill_summarize(&r, &h->s);
		if (x->rc == 0)
			x->n++;
	}
	hl_drill_report_clear(&r);
	return x->rc != 0;
}

int
hl_drill_history(struct hl_crypto *c, struct hl_drill_hist **out, size_t *n)
{
	struct hist_ctx x = { c, NULL, 0, 0, 0 };
	*out = NULL;
	*n = 0;
	int rc = hl_drill_init(c, NULL);
	if (rc == 0)
		rc = hl_store_drill_each(c, hist_one, &x);
	if (rc == 0)
		rc = x.rc;
	if (rc != 0) {
		free(x.v);
		return rc;
	}
	*out = x.v;
	*n = x.n;
	return 0;
}

void
hl_drill_group_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
push(char ***v, size_t *n, size_t *cap, const char *s, size_t len)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		char **nv = realloc(*v, ncap * sizeof *nv);
		if (nv == NULL)
			return HL_ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	char *c = malloc(len + 1);
	if (c == NULL)
		return HL_ENOMEM;
	memcpy(c, s, len);
	c[len] = '\0';
	(*v)[(*n)++] = c;
	return 0;
}

/* Trims blanks around s[0..*len). */
static const char *
trim(const char *s, size_t *len)
{
	while (*len > 0 && (*s == ' ' || *s == '\t' || *s == '\r')) {
		s++;
		(*len)--;
	}
	while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t' ||
	    s[*len - 1] == '\r'))
		(*len)--;
	return s;
}

static int
add_handle(char ***v, size_t *n, size_t *cap, const char *s, size_t len,
    const char *where, int line, char *cause)
{
	s = trim(s, &len);
	if (len == 0)
		return 0;
	char h[HL_HANDLE_MAX + 2];
	if (len > HL_HANDLE_MAX || (memcpy(h, s, len), h[len] = '\0',
	    !hl_handle_valid(h))) {
		if (line > 0)
			return hl_fail(cause, HL_EPARSE, "%s:%d: not a handle", where, line);
		return hl_fail(cause, HL_EPARSE, "%s: '%.*s' is not a handle", where,
		    (int)(len > 64 ? 64 : len), s);
	}
	if (*n >= HL_DRILL_MAX_CONTACTS)
		return hl_fail(cause, HL_ETOOBIG, "%s: more than %d contacts", where,
		    HL_DRILL_MAX_CONTACTS);
	return push(v, n, cap, s, len);
}

int
hl_drill_group_split(const char *list, char ***out, size_t *n, char *cause)
{
	size_t cap = 0;
	int rc = 0;
	*out = NULL;
	*n = 0;
	for (const char *p = list; rc == 0;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		rc = add_handle(out, n, &cap, p, len, "--to", 0, cause);
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (rc == 0 && *n == 0)
		rc = hl_fail(cause, HL_EPARSE, "--to: no handles");
	if (rc != 0) {
		hl_drill_group_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int
hl_drill_group_read(const char *path, char ***out, size_t *n, char *cause)
{
	char line[GROUP_LINE_MAX + 2];
	size_t cap = 0;
	int rc = 0, lineno = 0;
	*out = NULL;
	*n = 0;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return hl_fail(cause, HL_EIO, "%s: %s", path, strerror(errno));
	while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
		size_t len = strlen(line);
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(f)) {
			rc = hl_fail(cause, HL_EPARSE, "%s:%d: line too long", path, lineno);
			break;
		}
		char *hash = strchr(line, '#');
		if (hash != NULL)
			len = (size_t)(hash - line);
		rc = add_handle(out, n, &cap, line, len, path, lineno, cause);
	}
	if (rc == 0 && ferror(f))
		rc = hl_fail(cause, HL_EIO, "%s: read error", path);
	fclose(f);
	if (rc == 0 && *n == 0)
		rc = hl_fail(cause, HL_EPARSE, "%s: no handles in it", path);
	if (rc != 0) {
		hl_drill_group_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}
