/*
 * The outbox: for each contact, its oldest due message goes out, one at a
 * time, so contacts see our messages in the order we wrote them. A message
 * is encrypted once, in the transaction that stores its ciphertext; every
 * retry sends those same bytes.
 */
#include "client/engine_int.h"
#include "client/api.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"
#include "crypto/hl_time.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUE_BATCH 256

struct due {
	char peer[HL_HANDLE_MAX + 1];
	char id[HL_ID_HEX + 1];
};

struct due_list {
	struct hl_engine *e;
	int64_t now;
	struct due items[DUE_BATCH];
	size_t n;
};

struct req_ctx {
	struct hl_engine *e;
	char peer[HL_HANDLE_MAX + 1];
	char id[HL_ID_HEX + 1];
};

/* Exponential backoff with jitter: half the step plus up to another half,
 * so clients that failed together do not retry together. */
static int64_t
backoff_ms(int attempts, long retry_after_s)
{
	int shift = attempts < 9 ? attempts : 9;
	int64_t step = (int64_t)HL_RETRY_BASE_MS << shift;
	if (step > HL_RETRY_CAP_MS)
		step = HL_RETRY_CAP_MS;
	int64_t delay = step / 2 + randombytes_uniform((uint32_t)(step / 2) + 1);
	if (retry_after_s > 0 && retry_after_s * 1000 > delay)
		delay = retry_after_s * 1000 + randombytes_uniform(1000);
	return delay;
}

static int
collect_due(const char *peer, const char *id, int64_t next_try, void *arg)
{
	struct due_list *d = arg;
	if (next_try > d->now || hl_handle_set_has(&d->e->busy, peer))
		return 0;
	snprintf(d->items[d->n].peer, sizeof d->items[0].peer, "%s", peer);
	snprintf(d->items[d->n].id, sizeof d->items[0].id, "%s", id);
	return ++d->n == DUE_BATCH;
}

/* Records a failed attempt: later retry, or failed for good. In its own
 * transaction. */
static void
settle(struct hl_engine *e, const char *peer, const char *id,
    enum hl_outcome how, const char *why, long retry_after_s)
{
	struct hl_msg m;
	if (hl_crypto_begin(e->c) != 0)
		return;
	if (hl_store_msg_get(e->c, HL_OUT, peer, id, &m) != 1) {
		hl_crypto_rollback(e->c);
		return;
	}
	int rc;
	snprintf(m.reason, sizeof m.reason, "%s", why);
	if (how == HL_OUT_FAIL) {
		rc = hl_store_msg_transition(e->c, &m, HL_ST_FAILED, hl_now_ms());
	} else {
		m.attempts++;
		m.next_try_ms = how == HL_OUT_AUTH ? HL_NEXT_TRY_BLOCKED :
		    hl_now_ms() + backoff_ms(m.attempts, retry_after_s);
		rc = hl_store_msg_update(e->c, &m);
	}
	if (rc == 0 && hl_crypto_commit(e->c) == 0) {
		if (how == HL_OUT_FAIL)
			hl_engine_emit(e, HL_EV_STATE, &m, m.peer, 0, why);
	} else {
		hl_crypto_rollback(e->c);
		e->send_hold_until_ms = hl_now_ms() + HL_RETRY_BASE_MS;
	}
	hl_msg_clear(&m);
}

/* Holds every queued message to peer until its new key is accepted. */
static void
block_peer(struct hl_engine *e, const char *peer, const char *why);

static int
block_one(struct hl_msg *m, void *arg)
{
	struct hl_engine *e = ((void **)arg)[0];
	const char *why = ((void **)arg)[1];
	snprintf(m->reason, sizeof m->reason, "%s", why);
	m->next_try_ms = HL_NEXT_TRY_BLOCKED;
	return hl_store_msg_update(e->c, m) != 0;
}

static void
block_peer(struct hl_engine *e, const char *peer, const char *why)
{
	void *arg[2] = { e, (void *)why };
	struct hl_msg_query q = {
		.dir = HL_OUT, .state = HL_ST_QUEUED, .peer = peer,
	};
	if (hl_crypto_begin(e->c) != 0)
		return;
	if (hl_store_msg_each(e->c, &q, block_one, arg) == 0 &&
	    hl_crypto_commit(e->c) == 0) {
		hl_engine_emit(e, HL_EV_KEY_CHANGED, NULL, peer, 0, why);
		return;
	}
	hl_crypto_rollback(e->c);
}

static int
fail_one(struct hl_msg *m, void *arg)
{
	struct hl_engine *e = ((void **)arg)[0];
	const char *why = ((void **)arg)[1];
	snprintf(m->reason, sizeof m->reason, "%s", why);
	if (hl_store_msg_transition(e->c, m, HL_ST_FAILED, hl_now_ms()) != 0)
		return 1;
	hl_engine_emit(e, HL_EV_STATE, m, m->peer, 0, why);
	return 0;
}

/* The relay has no such contact: nothing queued for them can go. */
static void
fail_peer(struct hl_engine *e, const char *peer, const char *why)
{
	void *arg[2] = { e, (void *)why };
	struct hl_msg_query q = {
		.dir = HL_OUT, .state = HL_ST_QUEUED, .peer = peer,
	};
	if (hl_crypto_begin(e->c) != 0)
		return;
	if (hl_store_msg_each(e->c, &q, fail_one, arg) == 0 &&
	    hl_crypto_commit(e->c) == 0)
		return;
	hl_crypto_rollback(e->c);
}

static void auth_failed(struct hl_engine *e, const char *why);

static void
bundle_done(const struct hl_net_resp *r, void *arg)
{
	struct req_ctx *x = arg;
	struct hl_engine *e = x->e;
	struct hl_bundle b;
	char why[HL_CAUSE_MAX + 96], cause[HL_CAUSE_MAX];
	e->inflight--;
	hl_handle_set_put(&e->busy, x->peer, 0);
	hl_engine_note_response(e, r);
	enum hl_outcome how = hl_engine_outcome(r, why, sizeof why);
	if (how == HL_OUT_OK) {
		int rc = hl_api_parse_bundle(r->body, r->len, x->peer, &b, cause);
		if (rc == 0)
			rc = hl_session_start(e->c, x->peer, &b, cause);
		if (rc == HL_EUNTRUSTED) {
			block_peer(e, x->peer, "identity key changed: waiting for "
			    "'hotline trust'");
		} else if (rc != 0) {
			snprintf(why, sizeof why, "bundle for %s: %s", x->peer, cause);
			settle(e, x->peer, x->id, HL_OUT_RETRY, why, -1);
		}
	} else if (how == HL_OUT_FAIL && r->status == 404) {
		snprintf(why, sizeof why, "unknown recipient %s", x->peer);
		fail_peer(e, x->peer, why);
	} else if (how == HL_OUT_AUTH) {
		auth_failed(e, why);
	} else {
		settle(e, x->peer, x->id, how, why, r->retry_after_s);
	}
	hl_engine_forget_ctx(e, x);
	free(x);
	hl_engine_kick(e);
}

/* The contact's directory entry, looked at once per engine before sending:
 * a contact who enrolled again under the same handle shows a new identity
 * key there, while our old session would carry on into the void. */
static void
directory_done(const struct hl_net_resp *r, void *arg)
{
	struct req_ctx *x = arg;
	struct hl_engine *e = x->e;
	struct hl_dir_entry *entries = NULL;
	size_t n = 0;
	char why[HL_CAUSE_MAX + 96];
	e->inflight--;
	hl_handle_set_put(&e->busy, x->peer, 0);
	hl_handle_set_put(&e->checked, x->peer, 1);
	hl_engine_note_response(e, r);
	enum hl_outcome how = hl_engine_outcome(r, why, sizeof why);
	if (how == HL_OUT_AUTH) {
		auth_failed(e, why);
	} else if (how == HL_OUT_OK &&
	    hl_api_parse_directory(r->body, r->len, &entries, &n, NULL) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (strcmp(entries[i].handle, x->peer) != 0)
				continue;
			struct hl_contact ct = { .entry = entries[i],
			    .fetched_ms = hl_now_ms() };
			hl_store_contact_put(e->c, &ct);
			if (hl_engine_note_directory_key(e->c, &entries[i]) == 1)
				block_peer(e, x->peer, "identity key changed (the "
				    "directory shows a new one): waiting for 'hotline trust'");
		}
		free(entries);
	}
	/* Otherwise the send itself meets whatever is wrong. */
	hl_engine_forget_ctx(e, x);
	free(x);
	hl_engine_kick(e);
}

static void
post_done(const struct hl_net_resp *r, void *arg)
{
	struct req_ctx *x = arg;
	struct hl_engine *e = x->e;
	char why[HL_CAUSE_MAX + 64];
	int64_t accepted;
	e->inflight--;
	hl_handle_set_put(&e->busy, x->peer, 0);
	hl_engine_note_response(e, r);
	enum hl_outcome how = hl_engine_outcome(r, why, sizeof why);
	if (how == HL_OUT_OK &&
	    hl_api_parse_accepted(r->body, r->len, x->id, &accepted, NULL) != 0) {
		/* 2xx without the promised answer: not proof it is stored. */
		snprintf(why, sizeof why, "relay answered %d without accepting %.8s",
		    r->status, x->id);
		how = HL_OUT_RETRY;
	}
	if (how == HL_OUT_OK) {
		struct hl_msg m;
		/* Accepted but not recorded (a full disk): it stays queued and
		 * due, so hold the outbox a while rather than post it again and
		 * again; the relay takes the retry as the same message. */
		int recorded = 0;
		if (hl_crypto_begin(e->c) == 0) {
			int rc = hl_store_msg_get(e->c, HL_OUT, x->peer, x->id, &m);
			if (rc == 0)
				recorded = 1;    /* gone meanwhile: nothing to hold */
			if (rc == 1 && m.state == HL_ST_QUEUED) {
				m.reason[0] = '\0';
				rc = hl_store_msg_transition(e->c, &m, HL_ST_SENT,
				    hl_now_ms());
				if (rc == 0 && hl_crypto_commit(e->c) == 0) {
					recorded = 1;
					hl_engine_emit(e, HL_EV_STATE, &m, m.peer, 0, NULL);
				} else {
					hl_crypto_rollback(e->c);
				}
			} else if (rc == 1) {
				recorded = 1;
				hl_crypto_rollback(e->c);
			} else {
				hl_crypto_rollback(e->c);
			}
			if (rc == 1 || rc == 0)
				hl_msg_clear(&m);
		}
		if (!recorded)
			e->send_hold_until_ms = hl_now_ms() + HL_RETRY_BASE_MS;
	} else if (how == HL_OUT_AUTH) {
		auth_failed(e, why);
	} else {
		settle(e, x->peer, x->id, how, why, r->retry_after_s);
	}
	hl_engine_forget_ctx(e, x);
	free(x);
	hl_engine_kick(e);
}

static void
auth_failed(struct hl_engine *e, const char *why)
{
	if (!e->auth_failed)
		hl_engine_emit(e, HL_EV_AUTH, NULL, NULL, 0, why);
	e->auth_failed = 1;
}

static int
start_request(struct hl_engine *e, const char *method, const char *path,
    const char *body, const char *peer, const char *id, hl_net_cb cb)
{
	struct req_ctx *x = calloc(1, sizeof *x);
	if (x == NULL)
		return HL_ENOMEM;
	x->e = e;
	snprintf(x->peer, sizeof x->peer, "%s", peer);
	snprintf(x->id, sizeof x->id, "%s", id);
	int rc = hl_net_request(e->net, method, path, e->acct.token, body,
	    HL_REQUEST_TIMEOUT_MS, cb, x);
	if (rc != 0) {
		free(x);
		return rc;
	}
	e->inflight++;
	hl_handle_set_put(&e->busy, peer, 1);
	hl_engine_keep_ctx(e, x);
	return 0;
}

/* Encrypts m and stores the ciphertext, in one transaction: the ratchet
 * step and the bytes it produced are kept together or not at all. Another
 * process (a second `hotline` on the same profile) may have done it
 * first: then its ciphertext is the one, never a second encryption. */
static int
encrypt_and_store(struct hl_engine *e, struct hl_msg *m, char *cause)
{
	uint8_t *padded = NULL;
	size_t plen = 0;
	struct hl_ciphertext ct;
	struct hl_msg now;
	int rc = hl_crypto_begin(e->c);
	if (rc != 0)
		return hl_fail(cause, rc, "database busy");
	rc = hl_store_msg_get(e->c, HL_OUT, m->peer, m->id, &now);
	if (rc != 1) {
		hl_crypto_rollback(e->c);
		return hl_fail(cause, rc < 0 ? rc : HL_ENOTFOUND, "message gone");
	}
	if (now.state != HL_ST_QUEUED || now.ct != NULL) {
		hl_crypto_rollback(e->c);
		hl_msg_clear(m);
		*m = now;
		return now.state == HL_ST_QUEUED ? 0 :
		    hl_fail(cause, HL_ESTATE, "no longer queued");
	}
	hl_msg_clear(&now);
	rc = hl_content_encode(&m->content, &padded, &plen, cause);
	if (rc == 0)
		rc = hl_session_encrypt(e->c, m->peer, padded, plen, &ct, cause);
	if (rc == 0) {
		m->ct_type = ct.type;
		m->ct = ct.data;
		m->ct_len = ct.len;
		rc = hl_store_msg_update(e->c, m);
	}
	if (rc == 0)
		rc = hl_crypto_commit(e->c);
	if (rc != 0)
		hl_crypto_rollback(e->c);
	hl_content_free_bytes(padded, plen);
	return rc;
}

static void
send_one(struct hl_engine *e, const struct due *d)
{
	struct hl_msg m;
	char cause[HL_CAUSE_MAX], path[96];
	if (hl_store_msg_get(e->c, HL_OUT, d->peer, d->id, &m) != 1)
		return;
	if (m.state != HL_ST_QUEUED) {
		hl_msg_clear(&m);
		return;
	}
	if (!hl_handle_set_has(&e->checked, m.peer)) {
		snprintf(path, sizeof path, "/v1/directory?q=%s", m.peer);
		if (start_request(e, "GET", path, NULL, m.peer, m.id,
		    directory_done) != 0)
			hl_handle_set_put(&e->checked, m.peer, 1);
		hl_msg_clear(&m);
		return;
	}
	if (m.ct == NULL) {
		int has = hl_session_exists(e->c, m.peer);
		int rc = has == 1 ? encrypt_and_store(e, &m, cause) : HL_ENOSESSION;
		if (rc == HL_ESTATE) {
			hl_msg_clear(&m);
			return;
		}
		if (rc == HL_ENOSESSION) {
			snprintf(path, sizeof path, "/v1/keys/%s", m.peer);
			start_request(e, "GET", path, NULL, m.peer, m.id, bundle_done);
			hl_msg_clear(&m);
			return;
		}
		if (rc == HL_EUNTRUSTED) {
			hl_msg_clear(&m);
			block_peer(e, d->peer, "identity key changed: waiting for "
			    "'hotline trust'");
			return;
		}
		if (rc != 0) {
			hl_msg_clear(&m);
			settle(e, d->peer, d->id, HL_OUT_RETRY, cause, -1);
			return;
		}
	}
	char *body = hl_api_build_message(m.peer, m.id, m.ct_type, m.ct, m.ct_len);
	if (body != NULL)
		start_request(e, "POST", "/v1/messages", body, m.peer, m.id, post_done);
	free(body);
	hl_msg_clear(&m);
}

void
hl_engine_send_due(struct hl_engine *e)
{
	if (hl_now_ms() < e->send_hold_until_ms)
		return;
	struct due_list *d = calloc(1, sizeof *d);
	if (d == NULL || e->auth_failed) {
		free(d);
		return;
	}
	d->e = e;
	d->now = hl_now_ms();
	/* Collect first: sending writes to the table being read. */
	if (hl_store_outbox_heads(e->c, collect_due, d) == 0)
		for (size_t i = 0; i < d->n; i++)
			send_one(e, &d->items[i]);
	free(d);
}
