#include "client/engine_int.h"
#include "client/api.h"
#include "crypto/hl_db.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"
#include "crypto/hl_time.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
hl_engine_new(const struct hl_engine_opts *o, struct hl_engine **out,
    char *cause)
{
	*out = NULL;
	struct hl_engine *e = calloc(1, sizeof *e);
	if (e == NULL)
		return HL_ENOMEM;
	e->o = *o;
	e->c = o->crypto;
	e->relay_ok = -1;
	int rc = hl_store_init(e->c, cause);
	if (rc == 0) {
		rc = hl_store_account_get(e->c, &e->acct);
		if (rc == 0)
			rc = hl_fail(cause, HL_ESTATE,
			    "not registered: run 'hotline register' first");
		else if (rc == 1)
			rc = 0;
	}
	if (rc == 0) {
		struct hl_net_opts no = {
			.base_url = e->acct.relay,
			.pin = e->acct.pin[0] ? e->acct.pin : NULL,
			.ca_file = e->acct.ca_file[0] ? e->acct.ca_file : NULL,
			.connect_timeout_ms = o->connect_timeout_ms,
		};
		rc = hl_net_new(&no, &e->net, cause);
	}
	if (rc != 0) {
		hl_engine_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

void
hl_engine_free(struct hl_engine *e)
{
	if (e == NULL)
		return;
	hl_net_free(e->net);
	for (size_t i = 0; i < e->nctxs; i++)
		free(e->ctxs[i]);
	free(e->ctxs);
	hl_handle_set_free(&e->busy);
	hl_handle_set_free(&e->checked);
	sodium_memzero(&e->acct, sizeof e->acct);
	free(e);
}

void
hl_engine_emit(struct hl_engine *e, enum hl_event_kind kind,
    const struct hl_msg *m, const char *peer, int64_t n, const char *text)
{
	if (e->o.on_event == NULL)
		return;
	struct hl_event ev = { kind, m, peer, n, text, 0 };
	e->o.on_event(&ev, e->o.arg);
}

void
hl_engine_keep_ctx(struct hl_engine *e, void *ctx)
{
	if (e->nctxs == e->capctxs) {
		size_t ncap = e->capctxs ? e->capctxs * 2 : 16;
		void **n = realloc(e->ctxs, ncap * sizeof *n);
		if (n == NULL)
			return;    /* at worst a leak at exit, never a double free */
		e->ctxs = n;
		e->capctxs = ncap;
	}
	e->ctxs[e->nctxs++] = ctx;
}

void
hl_engine_forget_ctx(struct hl_engine *e, void *ctx)
{
	for (size_t i = 0; i < e->nctxs; i++)
		if (e->ctxs[i] == ctx) {
			e->ctxs[i] = e->ctxs[--e->nctxs];
			return;
		}
}

int
hl_handle_set_has(const struct hl_handle_set *s, const char *h)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], h) == 0)
			return 1;
	return 0;
}

void
hl_handle_set_put(struct hl_handle_set *s, const char *h, int present)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->v[i], h) == 0) {
			if (!present)
				memmove(s->v[i], s->v[--s->n], sizeof s->v[0]);
			return;
		}
	}
	if (!present)
		return;
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 8;
		void *nv = realloc(s->v, ncap * sizeof s->v[0]);
		if (nv == NULL)
			return;
		s->v = nv;
		s->cap = ncap;
	}
	snprintf(s->v[s->n++], sizeof s->v[0], "%s", h);
}

void
hl_handle_set_free(struct hl_handle_set *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

int
hl_engine_note_directory_key(struct hl_crypto *c,
    const struct hl_dir_entry *entry)
{
	struct hl_identity_info info;
	int rc = hl_identity_info(c, entry->handle, &info);
	if (rc != 0)
		return rc;
	if (!info.has_key ||
	    sodium_memcmp(info.key, entry->identity_key, HL_KEY_LEN) == 0)
		return info.trust == HL_TRUST_CHANGED;
	if (info.has_pending &&
	    sodium_memcmp(info.pending, entry->identity_key, HL_KEY_LEN) == 0)
		return 1;
	rc = hl_identity_note_key(c, entry->handle, entry->identity_key);
	return rc < 0 ? rc : 1;
}

/* The relay's clock, from its Date header, against ours: deadlines depend
 * on both. Reported once per engine. */
void
hl_engine_note_response(struct hl_engine *e, const struct hl_net_resp *r)
{
	int ok = r->status != 0;
	if (ok != e->relay_ok)
		hl_engine_emit(e, HL_EV_RELAY, NULL, NULL, ok, ok ? NULL : r->cause);
	/* The relay answers (again): what waited out an outage goes now, not
	 * when its backoff would have let it. */
	if (ok && e->relay_ok != 1 && hl_store_requeue_waiting(e->c) == 0)
		e->next_timer_ms = hl_now_ms();
	e->relay_ok = ok;
	if (r->date_ms > 0) {
		/* The Date header has one-second resolution. */
		int64_t skew = hl_now_ms() - r->date_ms;
		/* Remembered once a run: not an fsync'd write per answer. */
		if (!e->skew_stored)
			e->skew_stored = hl_store_meta_set(e->c, "clock_skew_ms",
			    skew) == 0;
		if ((skew > HL_SKEW_WARN_MS + 1000 || skew < -HL_SKEW_WARN_MS) &&
		    !e->skew_reported) {
			e->skew_reported = 1;
			hl_engine_emit(e, HL_EV_SKEW, NULL, NULL, skew, NULL);
		}
	}
}

enum hl_outcome
hl_engine_outcome(const struct hl_net_resp *r, char *why, size_t whylen)
{
	char code[64], message[200];
	if (r->err != 0 || r->status == 0) {
		snprintf(why, whylen, "%s", r->cause[0] ? r->cause : hl_strerror(r->err));
		/* A pin mismatch or a TLS failure will not mend by itself, but
		 * an operator may fix it: keep retrying, loudly. */
		return HL_OUT_RETRY;
	}
	if (r->status >= 200 && r->status < 300) {
		why[0] = '\0';
		return HL_OUT_OK;
	}
	hl_api_parse_error(r->body, r->len, code, sizeof code, message,
	    sizeof message);
	snprintf(why, whylen, "relay answered %d%s%s%s%s", r->status,
	    code[0] ? " " : "", code, message[0] ? ": " : "", message);
	if (r->status == 401)
		return HL_OUT_AUTH;
	if (r->status == 429 || r->status == 408 || r->status >= 500)
		return HL_OUT_RETRY;
	return HL_OUT_FAIL;
}

/* --- queueing --- */

static char *
dup_or_null(const char *s, int *failed)
{
	if (s == NULL)
		return NULL;
	char *d = strdup(s);
	if (d == NULL)
		*failed = 1;
	return d;
}

/* A deep copy, so the stored message owns its incident. */
static struct hl_incident *
incident_copy(const struct hl_incident *in)
{
	int failed = 0;
	struct hl_incident *o = calloc(1, sizeof *o);
	if (o == NULL)
		return NULL;
	o->title = dup_or_null(in->title, &failed);
	o->severity = in->severity;
	o->tlp = in->tlp;
	o->status = dup_or_null(in->status, &failed);
	o->indicators = calloc(in->n_indicators + 1, sizeof(char *));
	o->actions = calloc(in->n_actions + 1, sizeof(char *));
	failed |= o->indicators == NULL || o->actions == NULL;
	for (size_t i = 0; !failed && i < in->n_indicators; i++, o->n_indicators++)
		o->indicators[i] = dup_or_null(in->indicators[i], &failed);
	for (size_t i = 0; !failed && i < in->n_actions; i++, o->n_actions++)
		o->actions[i] = dup_or_null(in->actions[i], &failed);
	if (failed) {
		struct hl_content tmp = { .incident = o };
		hl_content_clear(&tmp);
		return NULL;
	}
	return o;
}

int
hl_engine_queue_content(struct hl_engine *e, const char *peer,
    struct hl_content *c, const char *escalation_of, char *id_out,
    char *cause)
{
	struct hl_msg m;
	memset(&m, 0, sizeof m);
	int rc = hl_content_new_id(c->id);
	if (rc != 0) {
		hl_content_clear(c);
		return hl_fail(cause, rc, "no randomness");
	}
	c->v = HL_CONTENT_VERSION;
	snprintf(c->from, sizeof c->from, "%s", e->acct.handle);
	c->sent = hl_now_ms();
	/* Validated before a sequence number is taken: a refused content
	 * must not leave a gap the contact would report as missing. */
	c->seq = 1;
	rc = hl_content_validate(c, cause);
	if (rc != 0) {
		hl_content_clear(c);
		return rc == HL_ECONTENT_SIZE ? HL_ETOOBIG : HL_EINVAL;
	}
	rc = hl_store_next_seq(e->c, peer, &c->seq);
	if (rc != 0) {
		hl_content_clear(c);
		return hl_fail(cause, rc, "database: %s", hl_strerror(rc));
	}
	memcpy(m.id, c->id, sizeof m.id);
	m.dir = HL_OUT;
	snprintf(m.peer, sizeof m.peer, "%s", peer);
	m.state = HL_ST_QUEUED;
	m.created_ms = c->sent;
	m.content = *c;
	memset(c, 0, sizeof *c);
	if (escalation_of != NULL)
		snprintf(m.escalation_of, sizeof m.escalation_of, "%s", escalation_of);
	rc = hl_store_msg_insert(e->c, &m);
	if (rc == 0 && id_out != NULL)
		memcpy(id_out, m.id, HL_ID_HEX + 1);
	hl_msg_clear(&m);
	if (rc != 0)
		return hl_fail(cause, rc, "storing the message: %s", hl_strerror(rc));
	return 0;
}

int
hl_engine_queue(struct hl_engine *e, const struct hl_send_req *r,
    char id[HL_ID_HEX + 1], char *cause)
{
	struct hl_content c;
	struct hl_identity_info info;
	memset(&c, 0, sizeof c);
	if (!hl_handle_valid(r->to))
		return hl_fail(cause, HL_EINVAL, "'%s' is not a handle", r->to);
	if (strcmp(r->to, e->acct.handle) == 0)
		return hl_fail(cause, HL_EINVAL, "that is your own handle");
	if (r->kind != HL_KIND_TEXT && r->kind != HL_KIND_CHECK &&
	    r->kind != HL_KIND_INCIDENT)
		return hl_fail(cause, HL_EINVAL, "only text, check and incident are sent by hand");
	int rc = hl_identity_info(e->c, r->to, &info);
	if (rc != 0)
		return hl_fail(cause, rc, "%s", hl_strerror(rc));
	if (info.trust == HL_TRUST_CHANGED)
		return hl_fail(cause, HL_EUNTRUSTED,
		    "%s's identity key has changed: compare the safety number "
		    "('hotline verify %s'), then 'hotline trust %s'", r->to, r->to,
		    r->to);
	c.kind = r->kind;
	c.prio = r->prio;
	if (r->ack_within_ms > 0)
		c.ack_by = hl_now_ms() + r->ack_within_ms;
	if (r->thread != NULL)
		snprintf(c.thread, sizeof c.thread, "%s", r->thread);
	if (r->thread != NULL && strlen(r->thread) > HL_THREAD_MAX)
		return hl_fail(cause, HL_EINVAL, "thread id longer than %d",
		    HL_THREAD_MAX);
	c.body = strdup(r->body != NULL ? r->body : "");
	if (c.body == NULL)
		return HL_ENOMEM;
	if (r->incident != NULL) {
		c.incident = incident_copy(r->incident);
		if (c.incident == NULL) {
			hl_content_clear(&c);
			return HL_ENOMEM;
		}
	}
	rc = hl_crypto_begin(e->c);
	if (rc != 0) {
		hl_content_clear(&c);
		return hl_fail(cause, rc, "database busy");
	}
	rc = hl_engine_queue_content(e, r->to, &c, NULL, id, cause);
	if (rc == 0)
		rc = hl_crypto_commit(e->c);
	if (rc != 0)
		hl_crypto_rollback(e->c);
	return rc;
}

int
hl_engine_ack(struct hl_engine *e, const struct hl_msg *in,
    enum hl_response response, const char *note, char *cause)
{
	struct hl_content c;
	struct hl_msg m;
	memset(&c, 0, sizeof c);
	if (in->dir != HL_IN)
		return hl_fail(cause, HL_ESTATE, "message %.8s is one you sent", in->id);
	if (in->content.kind == HL_KIND_RECEIPT || in->content.kind == HL_KIND_ACK)
		return hl_fail(cause, HL_ESTATE, "receipts and acks are not acknowledged");
	if (in->state == HL_ST_ACKNOWLEDGED)
		return hl_fail(cause, HL_ESTATE, "message %.8s is acknowledged already",
		    in->id);
	if (response == HL_RESP_NONE)
		response = HL_RESP_RECEIVED;
	c.kind = HL_KIND_ACK;
	c.prio = HL_PRIO_ROUTINE;
	c.response = response;
	memcpy(c.ref, in->id, sizeof c.ref);
	snprintf(c.thread, sizeof c.thread, "%s", in->content.thread);
	c.body = strdup(note != NULL ? note : "");
	if (c.body == NULL)
		return HL_ENOMEM;
	int rc = hl_crypto_begin(e->c);
	if (rc != 0) {
		hl_content_clear(&c);
		return hl_fail(cause, rc, "database busy");
	}
	/* Reload inside the transaction: the state may have moved. */
	rc = hl_store_msg_get(e->c, HL_IN, in->peer, in->id, &m);
	if (rc == 1) {
		rc = hl_engine_queue_content(e, in->peer, &c, NULL, NULL, cause);
		if (rc == 0) {
			m.ack_response = response;
			if (note != NULL && *note != '\0')
				m.ack_note = strdup(note);
			rc = hl_store_msg_transition(e->c, &m, HL_ST_ACKNOWLEDGED,
			    hl_now_ms());
		}
		hl_msg_clear(&m);
	} else {
		hl_content_clear(&c);
		rc = rc == 0 ? hl_fail(cause, HL_ENOTFOUND, "message vanished") : rc;
	}
	if (rc == 0)
		rc = hl_crypto_commit(e->c);
	if (rc != 0)
		hl_crypto_rollback(e->c);
	return rc;
}

/* --- timers --- */

struct timer_ctx {
	struct hl_engine *e;
	int64_t next;
};

static int
earliest_head(const char *peer, const char *id, int64_t next_try, void *arg)
{
	struct timer_ctx *t = arg;
	(void)id;
	/* A contact with a request in flight is woken by its answer, and one
	 * waiting for a decision by the decision. */
	if (hl_handle_set_has(&t->e->busy, peer) || next_try >= HL_NEXT_TRY_BLOCKED)
		return 0;
	if (t->next == 0 || next_try < t->next)
		t->next = next_try > 0 ? next_try : 1;
	return 0;
}

void
hl_engine_refresh_timer(struct hl_engine *e)
{
	int64_t next_try, next_ack_by;
	struct timer_ctx t = { e, 0 };
	e->next_timer_ms = 0;
	if (hl_store_next_due(e->c, &next_try, &next_ack_by) != 0 ||
	    hl_store_outbox_heads(e->c, earliest_head, &t) != 0)
		return;
	e->next_timer_ms = t.next;
	if (next_ack_by > 0 && (e->next_timer_ms == 0 || next_ack_by < e->next_timer_ms))
		e->next_timer_ms = next_ack_by;
	if (e->next_timer_ms > 0 && e->next_timer_ms < e->send_hold_until_ms)
		e->next_timer_ms = e->send_hold_until_ms;
}

struct overdue_ctx {
	struct hl_engine *e;
	int64_t now;
};

/* Cuts s to at most max bytes without splitting a UTF-8 character. */
static void
cut_utf8(char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	s[max] = '\0';
}

/* Whom an overdue message to peer goes on to: the officer's own choice
 * (client.ini), else the directory's when that alternate's key has been
 * verified. 1 with alt set, or 0 with why set when there is none to use. */
static int
escalation_target(struct hl_engine *e, const char *peer,
    char alt[HL_HANDLE_MAX + 1], char *why, size_t whylen)
{
	struct hl_contact ct;
	struct hl_identity_info info;
	for (size_t i = 0; i < e->o.n_alternates; i++)
		if (strcmp(e->o.alternates[i].handle, peer) == 0) {
			snprintf(alt, HL_HANDLE_MAX + 1, "%s", e->o.alternates[i].alternate);
			return 1;
		}
	if (hl_store_contact_get(e->c, peer, &ct) != 1 ||
	    ct.entry.profile.alternate[0] == '\0' ||
	    strcmp(ct.entry.profile.alternate, peer) == 0) {
		snprintf(why, whylen, "%s has no alternate", peer);
		return 0;
	}
	const char *dir_alt = ct.entry.profile.alternate;
	if (hl_identity_info(e->c, dir_alt, &info) != 0 ||
	    info.trust != HL_TRUST_VERIFIED) {
		snprintf(why, whylen, "the directory names %s as %s's alternate, but "
		    "%s's key is not verified: name it in client.ini [alternates] or "
		    "verify it first", dir_alt, peer, dir_alt);
		return 0;
	}
	snprintf(alt, HL_HANDLE_MAX + 1, "%s", dir_alt);
	return 1;
}

#define NOT_ESCALATED "not escalated: "

static void
escalate(struct hl_engine *e, struct hl_msg *m, int64_t now, int report)
{
	struct hl_content c;
	char cause[HL_CAUSE_MAX], when[HL_TIME_STR], id[HL_ID_HEX + 1];
	char alt[HL_HANDLE_MAX + 1], why[384];
	sqlite3 *db = hl_crypto_db(e->c);
	if (!e->o.auto_escalate || m->escalated_to[0] != '\0' ||
	    m->escalation_of[0] != '\0')
		return;
	if (!escalation_target(e, m->peer, alt, why, sizeof why)) {
		/* Said once per message, not at every sync: the reason is kept
		 * with the message (status shows it) and marks it as told. */
		if (report && strncmp(m->reason, NOT_ESCALATED,
		    strlen(NOT_ESCALATED)) != 0) {
			char line[sizeof m->reason + sizeof why];
			snprintf(line, sizeof line, "%s%s", NOT_ESCALATED, why);
			cut_utf8(line, sizeof m->reason - 1);
			memcpy(m->reason, line, strlen(line) + 1);
			if (hl_store_msg_update(e->c, m) == 0)
				hl_engine_emit(e, HL_EV_NOT_ESCALATED, m, m->peer, 0, why);
		}
		return;
	}
	memset(&c, 0, sizeof c);
	hl_time_utc(m->content.ack_by, when);
	size_t blen = strlen(m->content.body) + 256;
	c.body = malloc(blen);
	if (c.body == NULL)
		return;
	snprintf(c.body, blen, "ESCALATION: %s did not acknowledge by %s. "
	    "Original message %.8s follows.\n\n%s", m->peer, when, m->id,
	    m->content.body);
	cut_utf8(c.body, HL_CONTENT_BODY_MAX);
	c.kind = m->content.kind;
	if (m->content.incident != NULL &&
	    (c.incident = incident_copy(m->content.incident)) == NULL) {
		hl_content_clear(&c);
		return;
	}
	c.prio = m->content.prio == HL_PRIO_ROUTINE ? HL_PRIO_URGENT : m->content.prio;
	/* The alternate gets as long as the original recipient had. */
	int64_t window = m->content.ack_by - m->content.sent;
	c.ack_by = now + (window > 60000 ? window : 60000);
	snprintf(c.thread, sizeof c.thread, "%s", m->content.thread);
	/* All of it or nothing: a failed escalation leaves no trace to retry
	 * into on every later check. */
	if (hl_db_savepoint(db, "hl_escalate") != 0) {
		hl_content_clear(&c);
		return;
	}
	int rc = hl_engine_queue_content(e, alt, &c, m->id, id, cause);
	if (rc == 0) {
		snprintf(m->escalated_to, sizeof m->escalated_to, "%s", alt);
		memcpy(m->escalated_id, id, sizeof m->escalated_id);
		m->reason[0] = '\0';
		rc = hl_store_msg_update(e->c, m);
	}
	if (rc != 0) {
		hl_db_rollback_to(db, "hl_escalate");
		m->escalated_to[0] = m->escalated_id[0] = '\0';
		return;
	}
	hl_db_release(db, "hl_escalate");
	hl_engine_emit(e, HL_EV_ESCALATED, m, alt, 0, id);
}

static int
mark_overdue(struct hl_msg *m, void *arg)
{
	struct overdue_ctx *x = arg;
	if (m->dir != HL_OUT || (m->state != HL_ST_QUEUED &&
	    m->state != HL_ST_SENT && m->state != HL_ST_DELIVERED))
		return 0;
	if (m->at[HL_ST_OVERDUE] != 0)
		return 0;
	/* A queued message stays queued (it still has to go out); its
	 * deadline passing is recorded all the same. */
	if (m->state == HL_ST_QUEUED) {
		if (hl_store_msg_event(x->e->c, m, HL_ST_OVERDUE, x->now) != 0)
			return 1;
	} else if (hl_store_msg_transition(x->e->c, m, HL_ST_OVERDUE, x->now) != 0) {
		return 1;
	}
	hl_engine_emit(x->e, HL_EV_STATE, m, m->peer, 0, NULL);
	escalate(x->e, m, x->now, 1);
	return 0;
}

static int
escalate_late(struct hl_msg *m, void *arg)
{
	struct overdue_ctx *x = arg;
	escalate(x->e, m, x->now, 1);
	return 0;
}

void
hl_engine_check_deadlines(struct hl_engine *e)
{
	struct overdue_ctx x = { e, hl_now_ms() };
	struct hl_msg_query q = {
		.dir = HL_OUT, .state = -1, .ack_by_before_ms = x.now,
	};
	if (hl_crypto_begin(e->c) != 0)
		return;
	int rc = hl_store_msg_each(e->c, &q, mark_overdue, &x);
	/* Messages that went overdue in a run that did not escalate are
	 * escalated by the first run that does, once. */
	if (rc == 0 && e->o.auto_escalate && !e->late_escalation_done) {
		struct hl_msg_query late = { .dir = HL_OUT, .state = HL_ST_OVERDUE };
		rc = hl_store_msg_each(e->c, &late, escalate_late, &x);
		if (rc == 0)
			e->late_escalation_done = 1;
	}
	if (rc == 0 && hl_crypto_commit(e->c) == 0)
		return;
	hl_crypto_rollback(e->c);
}

/* --- prekeys --- */

#define PREKEYS_LOCAL_MAX 400   /* beyond this, failed uploads are not redone */

struct keys_ctx {
	struct hl_engine *e;
	int n;
	uint32_t spk_id;      /* the signed prekey uploaded, 0 for none */
};

static void
keys_done(const struct hl_net_resp *r, void *arg)
{
	struct keys_ctx *k = arg;
	struct hl_engine *e = k->e;
	char why[256];
	e->inflight--;
	e->keys_inflight = 0;
	hl_engine_note_response(e, r);
	if (hl_engine_outcome(r, why, sizeof why) == HL_OUT_OK) {
		if (k->spk_id != 0)
			hl_store_meta_set(e->c, "signed_prekey_published", k->spk_id);
		hl_engine_emit(e, HL_EV_PREKEYS, NULL, NULL, k->n, NULL);
	}
	hl_engine_forget_ctx(e, k);
	free(k);
}

/* Keeps the relay stocked: one-time prekeys when it holds few, and the
 * signed prekey, rotated weekly. One refill per run at most. One-time
 * prekeys that failed to upload are never sent again (the relay may have
 * stored them after all: new ids cannot collide); so that failures do not
 * pile keys up, no more are made once the profile holds PREKEYS_LOCAL_MAX.
 * A signed prekey is rotated only once the previous one is known to be on
 * the relay, and sent again until it is: the relay never serves one that
 * was pruned here. */
void
hl_engine_maybe_refill(struct hl_engine *e, int remaining)
{
	struct hl_prekey_pub *pks = NULL, *local = NULL;
	struct hl_signed_prekey_pub spk;
	struct hl_bundle mine;
	size_t n = 0, nlocal = 0;
	int64_t published = 0;
	int send_spk = 0;
	if (e->keys_inflight || e->keys_refilled || remaining < 0)
		return;
	if (hl_identity_public(e->c, &mine) != 0)
		return;
	spk = mine.signed_prekey;
	int have = hl_store_meta_get(e->c, "signed_prekey_published", &published);
	if (have == 0) {
		/* Registration published the first one. */
		published = spk.id;
		hl_store_meta_set(e->c, "signed_prekey_published", published);
	}
	if (published != (int64_t)spk.id)
		send_spk = 1;
	else if (hl_now_ms() - spk.created_ms > HL_SIGNED_PREKEY_AGE_MS)
		send_spk = hl_signed_prekey_rotate(e->c, &spk) == 0;
	if (remaining < HL_PREKEY_LOW &&
	    hl_prekeys_public(e->c, &local, &nlocal) == 0 &&
	    nlocal < PREKEYS_LOCAL_MAX &&
	    hl_prekeys_generate(e->c, (uint32_t)(HL_PREKEY_TARGET - remaining),
	    &pks, &n) != 0)
		n = 0;
	free(local);
	if (n == 0 && !send_spk)
		return;
	e->keys_refilled = 1;
	char *body = hl_api_build_keys(pks, n, send_spk ? &spk : NULL);
	free(pks);
	struct keys_ctx *k = malloc(sizeof *k);
	if (body == NULL || k == NULL) {
		free(body);
		free(k);
		return;
	}
	k->e = e;
	k->n = (int)n;
	k->spk_id = send_spk ? spk.id : 0;
	if (hl_net_request(e->net, "PUT", "/v1/keys", e->acct.token, body,
	    HL_REQUEST_TIMEOUT_MS, keys_done, k) == 0) {
		e->inflight++;
		e->keys_inflight = 1;
		hl_engine_keep_ctx(e, k);
	} else {
		free(k);
	}
	free(body);
}

/* --- driving --- */

void
hl_engine_kick(struct hl_engine *e)
{
	if (e->auth_failed)
		return;
	hl_engine_check_deadlines(e);
	hl_engine_send_due(e);
	hl_engine_refresh_timer(e);
}

void
hl_engine_fetch(struct hl_engine *e, int wait_s)
{
	if (e->fetching || e->auth_failed)
		return;
	e->fetch_wait_s = wait_s > HL_FETCH_WAIT_MAX_S ? HL_FETCH_WAIT_MAX_S :
	    wait_s < 0 ? 0 : wait_s;
	hl_engine_start_fetch(e);
}

int
hl_engine_inflight(const struct hl_engine *e)
{
	return e->inflight;
}

int
hl_engine_fetches(const struct hl_engine *e)
{
	return e->fetches;
}

int
hl_engine_fetch_ok(const struct hl_engine *e, long *retry_after_s)
{
	if (retry_after_s != NULL)
		*retry_after_s = e->fetch_retry_after_s;
	return e->fetch_ok;
}

int
hl_engine_key_pending(struct hl_crypto *c, const char *peer)
{
	struct hl_identity_info info;
	int rc = hl_identity_info(c, peer, &info);
	if (rc != 0)
		return rc;
	return info.trust == HL_TRUST_CHANGED || info.has_pending;
}

int
hl_engine_fetch_successes(const struct hl_engine *e)
{
	return e->fetch_successes;
}

int64_t
hl_engine_fetch_next_ms(const struct hl_engine *e, int *last_status)
{
	if (last_status != NULL)
		*last_status = e->fetch_status;
	return e->fetch_ok ? 0 : e->fetch_next_ms;
}

int
hl_engine_relay_ok(const struct hl_engine *e)
{
	return e->relay_ok;
}

int
hl_engine_pollfds(struct hl_engine *e, struct pollfd *fds, int max,
    int *timeout_ms)
{
	int n = hl_net_pollfds(e->net, fds, max, timeout_ms);
	if (e->next_timer_ms > 0 && !e->auth_failed) {
		int64_t wait = e->next_timer_ms - hl_now_ms();
		if (wait < 0)
			wait = 0;
		if (wait > 3600000)
			wait = 3600000;
		if (*timeout_ms < 0 || wait < *timeout_ms)
			*timeout_ms = (int)wait;
	}
	return n;
}

void
hl_engine_dispatch(struct hl_engine *e, const struct pollfd *fds, int n)
{
	hl_net_dispatch(e->net, fds, n);
	if (e->next_timer_ms > 0 && hl_now_ms() >= e->next_timer_ms)
		hl_engine_kick(e);
}
