/*
 * The inbox: fetch a batch, decrypt and store it in one transaction (each
 * item in its own savepoint), then ack the relay. A crash before the commit
 * means the relay sends the batch again, and what was stored is recognised.
 * What cannot be read yet (a changed key, a session we do not have) is held,
 * never dropped.
 */
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

#define FETCH_MARGIN_MS 15000
#define FETCH_BACKOFF_MAX_MS 60000
#define ITEM_SAVEPOINT "hl_item"
#define DECRYPT_SAVEPOINT "hl_decrypt"

/* Events wait for the commit, so nothing is announced that was rolled
 * back. */
struct deferred {
	enum hl_event_kind kind;
	int has_msg;
	enum hl_dir dir;
	char peer[HL_HANDLE_MAX + 1];
	char id[HL_ID_HEX + 1];
	int64_t n;
	char text[192];
};

struct batch {
	struct hl_engine *e;
	struct deferred *ev;
	size_t nev, capev;
	const char **qids;      /* borrowed from the fetch */
	size_t nqids;
};

static void
defer(struct batch *b, enum hl_event_kind kind, const struct hl_msg *m,
    const char *peer, int64_t n, const char *text)
{
	/* A message's event is emitted with the message as it is after the
	 * commit: one is enough, however many changes the batch made. */
	for (size_t i = 0; m != NULL && i < b->nev; i++)
		if (b->ev[i].has_msg && b->ev[i].kind == kind &&
		    b->ev[i].dir == m->dir && strcmp(b->ev[i].id, m->id) == 0 &&
		    strcmp(b->ev[i].peer, m->peer) == 0)
			return;
	if (b->nev == b->capev) {
		size_t ncap = b->capev ? b->capev * 2 : 16;
		struct deferred *nd = realloc(b->ev, ncap * sizeof *nd);
		if (nd == NULL)
			return;
		b->ev = nd;
		b->capev = ncap;
	}
	struct deferred *d = &b->ev[b->nev++];
	memset(d, 0, sizeof *d);
	d->kind = kind;
	if (m != NULL) {
		d->has_msg = 1;
		d->dir = m->dir;
		memcpy(d->peer, m->peer, sizeof d->peer);
		memcpy(d->id, m->id, sizeof d->id);
	} else if (peer != NULL) {
		snprintf(d->peer, sizeof d->peer, "%s", peer);
	}
	d->n = n;
	if (text != NULL)
		snprintf(d->text, sizeof d->text, "%s", text);
}

static void
emit_deferred(struct batch *b)
{
	for (size_t i = 0; i < b->nev; i++) {
		struct deferred *d = &b->ev[i];
		struct hl_msg m;
		if (d->has_msg) {
			if (hl_store_msg_get(b->e->c, d->dir, d->peer, d->id, &m) != 1)
				continue;
			/* A change noticed later in the batch concerns what came
			 * before it too. */
			if (m.dir == HL_IN && hl_engine_key_pending(b->e->c, m.peer) == 1)
				m.key_changed = 1;
			hl_engine_emit(b->e, d->kind, &m, d->peer, d->n,
			    d->text[0] ? d->text : NULL);
			hl_msg_clear(&m);
		} else {
			hl_engine_emit(b->e, d->kind, NULL, d->peer, d->n,
			    d->text[0] ? d->text : NULL);
		}
	}
	b->nev = 0;
}

/* Keeps an item that cannot be read now, or cannot be taken although it
 * decrypted (pt: then it is the only copy, its key spent). Returns 1
 * (held) or < 0. */
static int
hold_pt(struct batch *b, const char *qid, const char *from, const char *id,
    int type, const uint8_t *ct, size_t ct_len, const uint8_t *pt,
    size_t pt_len, const char *reason)
{
	struct hl_held h;
	memset(&h, 0, sizeof h);
	snprintf(h.qid, sizeof h.qid, "%s", qid);
	snprintf(h.from, sizeof h.from, "%s", from);
	snprintf(h.id, sizeof h.id, "%s", id);
	h.type = type;
	h.ct = (uint8_t *)ct;
	h.ct_len = ct_len;
	h.pt = (uint8_t *)pt;
	h.pt_len = pt_len;
	h.received_ms = hl_now_ms();
	snprintf(h.reason, sizeof h.reason, "%s", reason);
	int rc = hl_store_held_put(b->e->c, &h);
	if (rc != 0)
		return rc;
	char why[sizeof h.reason + 64];
	snprintf(why, sizeof why, "%s%s", h.reason, pt != NULL ?
	    " (decrypted and kept: 'hotline inbox --held' shows it)" : "");
	defer(b, HL_EV_HELD, NULL, from, 0, why);
	return 1;
}

static int
hold(struct batch *b, const char *qid, const char *from, const char *id,
    int type, const uint8_t *ct, size_t ct_len, const char *reason)
{
	return hold_pt(b, qid, from, id, type, ct, ct_len, NULL, 0, reason);
}

/* The escalation esc reached its alternate or was acknowledged there: the
 * original says so, so that it does not read as merely overdue. */
static int
note_alternate_answer(struct batch *b, const struct hl_msg *esc)
{
	struct hl_msg orig;
	if (hl_store_msg_find(b->e->c, esc->escalation_of, &orig, NULL) != 0)
		return 0;    /* discarded, or never ours: nothing to note */
	if (orig.dir == HL_OUT && strcmp(orig.escalated_id, esc->id) == 0 &&
	    orig.state != HL_ST_ACKNOWLEDGED) {
		if (esc->state == HL_ST_ACKNOWLEDGED)
			snprintf(orig.reason, sizeof orig.reason, "the alternate %s "
			    "acknowledged: %s%s%s", esc->peer,
			    hl_response_name(esc->ack_response),
			    esc->ack_note ? " - " : "", esc->ack_note ? esc->ack_note : "");
		else
			snprintf(orig.reason, sizeof orig.reason, "the alternate %s has "
			    "it (delivered), no acknowledgement yet", esc->peer);
		int rc = hl_store_msg_update(b->e->c, &orig);
		if (rc == 0)
			defer(b, HL_EV_STATE, &orig, NULL, 0, NULL);
		hl_msg_clear(&orig);
		return rc;
	}
	hl_msg_clear(&orig);
	return 0;
}

/* A receipt or an ack from peer moves our message ref forward. Only the
 * contact we sent it to can: a receipt from anyone else matches nothing. */
static int
advance_outbound(struct batch *b, const char *peer, const struct hl_content *c)
{
	struct hl_msg m;
	int64_t now = hl_now_ms();
	int rc = hl_store_msg_get(b->e->c, HL_OUT, peer, c->ref, &m);
	if (rc != 1)
		return rc;
	rc = 0;
	if (m.state == HL_ST_QUEUED)
		/* The relay took it but its answer never reached us. */
		rc = hl_store_msg_event(b->e->c, &m, HL_ST_SENT, now);
	/* Delivered or acknowledged when the contact's client stored it or
	 * its officer acked, not when we happened to fetch the news: a
	 * deadline met while this client was offline is met. The contact's
	 * clock is believed only between our send and now. */
	int64_t at = c->sent > 0 && c->sent < now ? c->sent : now;
	int64_t floor = m.at[HL_ST_SENT] > 0 ? m.at[HL_ST_SENT] : m.created_ms;
	if (at < floor)
		at = floor;
	if (rc == 0 && c->kind == HL_KIND_RECEIPT) {
		if (m.state == HL_ST_QUEUED || m.state == HL_ST_SENT)
			rc = hl_store_msg_transition(b->e->c, &m, HL_ST_DELIVERED, at);
		else
			rc = hl_store_msg_event(b->e->c, &m, HL_ST_DELIVERED, at);
	} else if (rc == 0 && c->kind == HL_KIND_ACK &&
	    m.state != HL_ST_ACKNOWLEDGED) {
		/* An ack implies delivery, even if the receipt is late. */
		rc = hl_store_msg_event(b->e->c, &m, HL_ST_DELIVERED, at);
		m.ack_response = c->response;
		if (m.ack_note != NULL) {
			sodium_memzero(m.ack_note, strlen(m.ack_note));
			free(m.ack_note);
		}
		m.ack_note = c->body[0] ? strdup(c->body) : NULL;
		if (rc == 0)
			rc = hl_store_msg_transition(b->e->c, &m, HL_ST_ACKNOWLEDGED, at);
	}
	if (rc == 0)
		defer(b, HL_EV_STATE, &m, NULL, 0, NULL);
	if (rc == 0 && m.escalation_of[0] != '\0' &&
	    (c->kind == HL_KIND_ACK || c->kind == HL_KIND_RECEIPT))
		rc = note_alternate_answer(b, &m);
	hl_msg_clear(&m);
	return rc;
}

/* A decrypted content from `from`: checked, stored, answered. Takes
 * ownership of nothing; pt is the padded plaintext. Returns 0 (stored, or
 * known already), 1 (held as unreadable), 2 (forged: nothing stored,
 * forged (HL_CAUSE_MAX + 32 bytes) says why; the caller holds it), or
 * < 0. */
static int
accept_plaintext(struct batch *b, const char *qid, const char *from,
    const char *env_id, const uint8_t *pt, size_t ptlen, int key_changed,
    char *forged)
{
	struct hl_engine *e = b->e;
	struct hl_msg m;
	char cause[HL_CAUSE_MAX], why[HL_CAUSE_MAX + 32];
	memset(&m, 0, sizeof m);
	int rc = hl_content_decode(pt, ptlen, &m.content, cause);
	if (rc != 0) {
		snprintf(why, sizeof why, "unreadable content: %s", cause);
		return hold_pt(b, qid, from, env_id, 0, NULL, 0, pt, ptlen, why);
	}
	/* The sender is authenticated by the session, the envelope's id only
	 * by the relay: a content from someone else than the session's peer is
	 * a forgery, kept aside; one whose id differs (a relay renaming it) is
	 * the peer's own message, stored under its own id and flagged. */
	if (strcmp(m.content.from, from) != 0) {
		snprintf(forged, HL_CAUSE_MAX + 32, "rejected: content claims to "
		    "be from %s, the session is with %s", m.content.from, from);
		hl_content_clear(&m.content);
		return 2;
	}
	if (strcmp(m.content.id, env_id) != 0)
		snprintf(m.reason, sizeof m.reason, "the relay delivered it under "
		    "another id (%.32s): the relay changed the envelope", env_id);
	struct hl_msg dup;
	rc = hl_store_msg_get(e->c, HL_IN, from, m.content.id, &dup);
	if (rc != 0) {
		if (rc == 1)
			hl_msg_clear(&dup);
		hl_content_clear(&m.content);
		return rc < 0 ? rc : 0;    /* seen before: nothing to do */
	}
	int closed;
	int64_t opened;
	rc = hl_store_observe_seq(e->c, from, m.content.seq, hl_now_ms(), &closed,
	    &opened);
	if (rc != 0) {
		hl_content_clear(&m.content);
		return rc;
	}
	if (opened > 0)
		defer(b, HL_EV_GAP, NULL, from, opened, NULL);
	if (closed)
		defer(b, HL_EV_GAP_CLOSED, NULL, from, m.content.seq, NULL);

	memcpy(m.id, m.content.id, sizeof m.id);
	m.dir = HL_IN;
	snprintf(m.peer, sizeof m.peer, "%s", from);
	m.created_ms = hl_now_ms();
	m.key_changed = key_changed;
	enum hl_kind kind = m.content.kind;
	m.state = (kind == HL_KIND_RECEIPT || kind == HL_KIND_ACK) ?
	    HL_ST_READ : HL_ST_NEW;
	struct hl_content ref_copy = { 0 };
	if (kind == HL_KIND_RECEIPT || kind == HL_KIND_ACK) {
		ref_copy.kind = kind;
		memcpy(ref_copy.ref, m.content.ref, sizeof ref_copy.ref);
		ref_copy.response = m.content.response;
		ref_copy.sent = m.content.sent;
		ref_copy.body = m.content.body;
	}
	rc = hl_store_msg_insert(e->c, &m);
	if (rc <= HL_ECONTENT_PADDING && rc >= HL_ECONTENT_UNKNOWN) {
		/* Decoded but not storable: a peer's content must never stall
		 * the whole inbox, so it is held with the reason instead. */
		snprintf(why, sizeof why, "content cannot be stored: %s",
		    hl_strerror(rc));
		hl_msg_clear(&m);
		return hold_pt(b, qid, from, env_id, 0, NULL, 0, pt, ptlen, why);
	}
	if (rc == 0 && (kind == HL_KIND_RECEIPT || kind == HL_KIND_ACK))
		rc = advance_outbound(b, from, &ref_copy);
	if (rc == 0 && m.state == HL_ST_NEW) {
		/* The automatic receipt: decrypted and stored. */
		struct hl_content r;
		memset(&r, 0, sizeof r);
		r.kind = HL_KIND_RECEIPT;
		r.prio = HL_PRIO_ROUTINE;
		memcpy(r.ref, m.id, sizeof r.ref);
		snprintf(r.thread, sizeof r.thread, "%s", m.content.thread);
		r.body = strdup("");
		rc = r.body == NULL ? HL_ENOMEM :
		    hl_engine_queue_content(e, from, &r, NULL, NULL, NULL);
		if (rc == 0)
			defer(b, HL_EV_RECEIVED, &m, NULL, 0, NULL);
	}
	hl_msg_clear(&m);
	return rc;
}

/* One ciphertext. Returns 0 when it is dealt with (stored, held, or known
 * already), < 0 when the batch must stop (the database failed). */
static int
take_message(struct batch *b, const struct hl_item *it)
{
	struct hl_engine *e = b->e;
	struct hl_msg dup;
	struct hl_identity_info info;
	uint8_t *pt;
	size_t ptlen;
	char cause[HL_CAUSE_MAX], why[HL_CAUSE_MAX + 96];

	/* Stored before, and the relay did not get our ack. */
	int rc = hl_store_msg_get(e->c, HL_IN, it->from, it->id, &dup);
	if (rc == 1) {
		hl_msg_clear(&dup);
		return 0;
	}
	if (rc < 0)
		return rc;
	rc = hl_identity_info(e->c, it->from, &info);
	if (rc != 0)
		return rc;
	if (it->type == HL_MSG_PREKEY && !info.has_key && !info.has_pending) {
		/* The first session must use the key the directory gave for
		 * this handle (hotline(1), verify): recorded as first seen, so
		 * a PreKey message under another key is held as a change
		 * rather than trusted on first use. */
		struct hl_contact ct;
		rc = hl_store_contact_get(e->c, it->from, &ct);
		if (rc == 1)
			rc = hl_identity_note_first(e->c, it->from,
			    ct.entry.identity_key);
		if (rc == 0)
			rc = hl_identity_info(e->c, it->from, &info);
		if (rc != 0)
			return rc;
	}
	/* What decrypting commits (session, identity, spent prekey) stays
	 * only if the content is the session peer's own. */
	rc = hl_db_savepoint(hl_crypto_db(e->c), DECRYPT_SAVEPOINT);
	if (rc != 0)
		return rc;
	rc = hl_session_decrypt(e->c, it->from, it->type, it->body, it->body_len,
	    &pt, &ptlen, cause);
	if (rc != 0) {
		int rb = hl_db_release(hl_crypto_db(e->c), DECRYPT_SAVEPOINT);
		if (rb != 0)
			return rb;
	}
	switch (rc) {
	case 0:
		/* Decrypted in a session with the accepted key, but while a new
		 * key of the contact waits for trust: flagged too, since which
		 * one is the contact's is in question. */
		rc = accept_plaintext(b, it->qid, it->from, it->id, pt, ptlen,
		    info.trust == HL_TRUST_CHANGED || info.has_pending, why);
		if (rc == 2) {
			/* A forgery leaves no session or key behind as the
			 * accepted one for this peer. */
			rc = hl_db_rollback_to(hl_crypto_db(e->c),
			    DECRYPT_SAVEPOINT);
			if (rc == 0)
				rc = hold_pt(b, it->qid, it->from, it->id, 0, NULL,
				    0, pt, ptlen, why);
		} else if (rc >= 0) {
			int rl = hl_db_release(hl_crypto_db(e->c),
			    DECRYPT_SAVEPOINT);
			if (rl != 0)
				rc = rl;
		}
		hl_plaintext_free(pt, ptlen);
		return rc;
	case HL_EDUPLICATE:
		return 0;
	case HL_EUNTRUSTED:
		defer(b, HL_EV_KEY_CHANGED, NULL, it->from, 0, NULL);
		return hold(b, it->qid, it->from, it->id, it->type, it->body,
		    it->body_len, "identity key changed: readable after 'hotline trust'");
	case HL_ENOSESSION:
	case HL_ETAMPERED:
		/* Sent in a session we do not have (yet): kept, and tried
		 * again when the contact's key is trusted. */
		snprintf(why, sizeof why, "%s%s",
		    info.trust == HL_TRUST_CHANGED ?
		    "sent under the new key: readable after 'hotline trust'; " :
		    "could not decrypt: ", cause);
		return hold(b, it->qid, it->from, it->id, it->type, it->body,
		    it->body_len, why);
	default:
		return rc;
	}
}

static int
take_notice(struct batch *b, const struct hl_item *it)
{
	struct hl_msg m;
	int rc = hl_store_msg_get(b->e->c, HL_OUT, it->to, it->id, &m);
	if (rc != 1)
		return rc;    /* not ours, or gone: nothing to mark */
	/* The contact's own receipt outranks the relay's word: a message
	 * delivered end to end is not marked expired or dropped. */
	if ((m.state == HL_ST_QUEUED || m.state == HL_ST_SENT ||
	    m.state == HL_ST_OVERDUE) && m.at[HL_ST_DELIVERED] == 0) {
		int64_t at = it->at_ms > 0 ? it->at_ms : hl_now_ms();
		if (it->kind == HL_ITEM_EXPIRED) {
			snprintf(m.reason, sizeof m.reason,
			    "the relay's retention ended before %s fetched it", it->to);
			rc = hl_store_msg_transition(b->e->c, &m, HL_ST_EXPIRED, at);
		} else {
			snprintf(m.reason, sizeof m.reason,
			    "removed by the relay before delivery: %s", it->reason);
			rc = hl_store_msg_transition(b->e->c, &m, HL_ST_FAILED, at);
		}
		/* A receipt or ack the relay dropped is bookkeeping: the
		 * officer never wrote it, so it is not announced. */
		if (rc == 0 && m.content.kind != HL_KIND_RECEIPT &&
		    m.content.kind != HL_KIND_ACK)
			defer(b, HL_EV_STATE, &m, NULL, 0, m.reason);
	}
	hl_msg_clear(&m);
	return rc;
}

static void
ack_done(const struct hl_net_resp *r, void *arg)
{
	struct hl_engine *e = arg;
	e->inflight--;
	hl_engine_note_response(e, r);
	/* A lost ack only means a redelivery, which is recognised. */
}

static void
ack_relay(struct hl_engine *e, const char **qids, size_t n)
{
	if (n == 0)
		return;
	char *body = hl_api_build_ack(qids, n);
	if (body == NULL)
		return;
	if (hl_net_request(e->net, "POST", "/v1/messages/ack", e->acct.token, body,
	    HL_REQUEST_TIMEOUT_MS, ack_done, e) == 0)
		e->inflight++;
	free(body);
}

/* Stores a fetched batch; returns how many items to ack, or < 0. */
static int
take_batch(struct batch *b, const struct hl_fetch *f)
{
	struct hl_engine *e = b->e;
	int rc = hl_crypto_begin(e->c);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < f->n; i++) {
		const struct hl_item *it = &f->items[i];
		size_t nev = b->nev;
		rc = hl_db_savepoint(hl_crypto_db(e->c), ITEM_SAVEPOINT);
		if (rc != 0)
			break;
		if (it->kind == HL_ITEM_MESSAGE)
			rc = take_message(b, it);
		else if (it->kind == HL_ITEM_INVALID)
			rc = hold(b, it->qid, it->from[0] ? it->from : "relay",
			    it->id[0] ? it->id : "", 0, NULL, 0, it->error);
		else
			rc = take_notice(b, it);
		if (rc < 0) {
			hl_db_rollback_to(hl_crypto_db(e->c), ITEM_SAVEPOINT);
			b->nev = nev;
			break;
		}
		rc = hl_db_release(hl_crypto_db(e->c), ITEM_SAVEPOINT);
		if (rc != 0)
			break;
		b->qids[b->nqids++] = it->qid;
	}
	if (rc >= 0)
		rc = hl_crypto_commit(e->c);
	if (rc < 0) {
		hl_crypto_rollback(e->c);
		/* Ack only what is on disk: nothing of a rolled-back batch. */
		b->nqids = 0;
		b->nev = 0;
		return rc;
	}
	return 0;
}

/* A fetch that did not succeed: when to try again (the relay's
 * Retry-After, at least a backoff that doubles), and, when the relay
 * answered, an event saying what it said: a refused fetch is never
 * silent. */
static void
fetch_failed(struct hl_engine *e, const struct hl_net_resp *r, const char *why)
{
	e->fetch_backoff_ms = e->fetch_backoff_ms == 0 ? 1000 :
	    e->fetch_backoff_ms * 2 > FETCH_BACKOFF_MAX_MS ? FETCH_BACKOFF_MAX_MS :
	    e->fetch_backoff_ms * 2;
	int64_t wait = e->fetch_backoff_ms;
	if (r->retry_after_s > 0 && r->retry_after_s * 1000 > wait)
		wait = r->retry_after_s * 1000 > 3600000 ? 3600000 :
		    r->retry_after_s * 1000;
	e->fetch_next_ms = hl_now_ms() + wait;
	e->fetch_status = r->status;
	if (r->status == 0 || r->status == 401 || e->o.on_event == NULL)
		return;    /* HL_EV_RELAY and HL_EV_AUTH say these */
	struct hl_event ev = { .kind = HL_EV_FETCH_FAILED, .n = r->status,
	    .text = why, .at_ms = e->fetch_next_ms };
	e->o.on_event(&ev, e->o.arg);
}

static void
fetch_done(const struct hl_net_resp *r, void *arg)
{
	struct hl_engine *e = arg;
	struct hl_fetch f;
	char why[HL_CAUSE_MAX + 64], cause[HL_CAUSE_MAX] = "";
	int again = 0;
	e->inflight--;
	e->fetching = 0;
	e->fetch_ok = 0;
	e->fetch_retry_after_s = r->retry_after_s;
	hl_engine_note_response(e, r);
	enum hl_outcome how = hl_engine_outcome(r, why, sizeof why);
	if (how == HL_OUT_AUTH) {
		if (!e->auth_failed)
			hl_engine_emit(e, HL_EV_AUTH, NULL, NULL, 0, why);
		e->auth_failed = 1;
	} else if (how == HL_OUT_OK) {
		if (hl_api_parse_fetch(r->body, r->len, &f, cause) != 0) {
			/* The relay answered: refused as invalid, not
			 * unreachable. */
			snprintf(why, sizeof why, "the relay's answer is invalid "
			    "(%s)", cause);
		} else {
			struct batch b = { .e = e };
			b.qids = calloc(f.n + 1, sizeof *b.qids);
			if (b.qids != NULL && take_batch(&b, &f) == 0) {
				ack_relay(e, b.qids, b.nqids);
				emit_deferred(&b);
				e->fetch_ok = 1;
				e->fetch_successes++;
				e->fetch_backoff_ms = 0;
				e->fetch_next_ms = 0;
				e->fetch_status = 0;
				/* "more" with nothing in hand is no reason to ask
				 * again at once. */
				again = f.more && f.n > 0;
			}
			hl_engine_maybe_refill(e, f.prekeys_remaining);
			free(b.qids);
			free(b.ev);
			hl_api_fetch_free(&f);
		}
	}
	if (!e->fetch_ok && r->err != HL_ETOOBIG)
		fetch_failed(e, r, why[0] ? why : cause);
	/* An answer too big for this client: ask for one item at a time
	 * before giving up (a relay allowing bigger answers than we take). */
	if (r->err == HL_ETOOBIG && e->fetch_limit != 1) {
		e->fetch_limit = 1;
		again = 1;
	} else if (e->fetch_ok) {
		e->fetch_limit = 0;
	}
	if (again) {
		e->fetch_wait_s = 0;
		hl_engine_start_fetch(e);
	} else {
		e->fetches++;
	}
	hl_engine_kick(e);
}

void
hl_engine_start_fetch(struct hl_engine *e)
{
	char path[64];
	if (e->fetch_limit > 0)
		snprintf(path, sizeof path, "/v1/messages?wait=%d&limit=%d",
		    e->fetch_wait_s, e->fetch_limit);
	else
		snprintf(path, sizeof path, "/v1/messages?wait=%d", e->fetch_wait_s);
	if (hl_net_request(e->net, "GET", path, e->acct.token, NULL,
	    (long)e->fetch_wait_s * 1000 + FETCH_MARGIN_MS, fetch_done, e) == 0) {
		e->inflight++;
		e->fetching = 1;
	}
}

int
hl_engine_release_held(struct hl_engine *e, const char *peer, int *n_done,
    char *cause)
{
	struct hl_held *h;
	size_t n;
	struct batch b = { .e = e };
	*n_done = 0;
	int rc = hl_store_held_list(e->c, peer, &h, &n);
	if (rc != 0)
		return hl_fail(cause, rc, "held messages: %s", hl_strerror(rc));
	rc = hl_crypto_begin(e->c);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint8_t *pt;
		size_t ptlen;
		if (h[i].ct == NULL)
			continue;    /* nothing to retry: it stays as a record */
		char forged[HL_CAUSE_MAX + 32];
		rc = hl_db_savepoint(hl_crypto_db(e->c), DECRYPT_SAVEPOINT);
		if (rc != 0)
			break;
		int d = hl_session_decrypt(e->c, h[i].from, h[i].type, h[i].ct,
		    h[i].ct_len, &pt, &ptlen, NULL);
		if (d == 0) {
			rc = accept_plaintext(&b, h[i].qid, h[i].from, h[i].id, pt,
			    ptlen, 1, forged);
			if (rc == 2) {
				/* As when fetched: a forgery's session goes. */
				rc = hl_db_rollback_to(hl_crypto_db(e->c),
				    DECRYPT_SAVEPOINT);
				if (rc == 0)
					rc = hold_pt(&b, h[i].qid, h[i].from, h[i].id,
					    0, NULL, 0, pt, ptlen, forged);
			} else if (rc >= 0) {
				int rl = hl_db_release(hl_crypto_db(e->c),
				    DECRYPT_SAVEPOINT);
				if (rl != 0)
					rc = rl;
			}
			hl_plaintext_free(pt, ptlen);
			if (rc == 1) {
				rc = 0;    /* replaced by a record of why */
			} else if (rc == 0) {
				rc = hl_store_held_del(e->c, h[i].qid);
				if (rc == 0)
					(*n_done)++;
			}
		} else {
			rc = hl_db_release(hl_crypto_db(e->c), DECRYPT_SAVEPOINT);
			if (rc == 0 && d == HL_EDUPLICATE)
				rc = hl_store_held_del(e->c, h[i].qid);
		}
	}
	if (rc == 0)
		rc = hl_crypto_commit(e->c);
	if (rc != 0) {
		hl_crypto_rollback(e->c);
		*n_done = 0;
		b.nev = 0;
		rc = hl_fail(cause, rc, "releasing held messages: %s", hl_strerror(rc));
	}
	emit_deferred(&b);
	free(b.ev);
	hl_held_free(h, n);
	return rc;
}
