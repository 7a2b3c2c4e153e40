/*
 * api: what each endpoint of the relay API (docs/PROTOCOL.md) does, given a
 * request that http.c has routed, authenticated and read.
 */
#include "relay/req.h"

#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"
#include "crypto/hl_time.h"
#include "relay/guard.h"
#include "relay/log.h"
#include "relay/metrics.h"
#include "relay/server.h"
#include "relay/ratelimit.h"
#include "relay/tally.h"
#include "relay/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIRECTORY_MAX 500

/* --- JSON building --- */

/* Sets key to the base64 of bin; 0 or HL_ENOMEM. */
static int
set_b64(json_t *obj, const char *key, const uint8_t *bin, size_t len)
{
	char *b64 = hl_b64_encode(bin, len);
	if (b64 == NULL)
		return HL_ENOMEM;
	int rc = json_object_set_new(obj, key, json_string(b64));
	free(b64);
	return rc == 0 ? 0 : HL_ENOMEM;
}

static json_t *
entry_json(const struct hl_store_entry *e)
{
	json_t *langs = json_array();
	if (langs == NULL)
		return NULL;
	const char *p = e->profile.languages;
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (json_array_append_new(langs, json_stringn(p, n)) != 0) {
			json_decref(langs);
			return NULL;
		}
		p += n + (comma ? 1 : 0);
	}
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:I}",
	    "handle", e->handle, "name", e->profile.name,
	    "organisation", e->profile.organisation, "role", e->profile.role,
	    "languages", langs, "timezone", e->profile.timezone,
	    "updated", (json_int_t)e->updated);
	/* country and alternate have no empty form: absent when not set. */
	int rc = o ? 0 : HL_ENOMEM;
	if (rc == 0 && e->profile.country[0] != '\0' &&
	    json_object_set_new(o, "country", json_string(e->profile.country)))
		rc = HL_ENOMEM;
	if (rc == 0 && e->profile.alternate[0] != '\0' &&
	    json_object_set_new(o, "alternate",
	    json_string(e->profile.alternate)))
		rc = HL_ENOMEM;
	if (rc == 0)
		rc = set_b64(o, "identity_key", e->identity_key,
		    HL_STORE_KEY_LEN);
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
item_json(const struct hl_store_item *it)
{
	char qid[24];
	snprintf(qid, sizeof qid, "%lld", (long long)it->qid);
	json_t *o;
	switch (it->kind) {
	case HL_STORE_MESSAGE:
		o = json_pack("{s:s,s:s,s:s,s:I,s:s,s:i,s:I}", "qid", qid,
		    "kind", "message", "from", it->peer,
		    "from_device", (json_int_t)it->peer_device, "id", it->id,
		    "type", it->type, "accepted", (json_int_t)it->accepted);
		if (o != NULL && set_b64(o, "body", it->body,
		    it->body_len) != 0) {
			json_decref(o);
			o = NULL;
		}
		return o;
	case HL_STORE_EXPIRED:
		return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "qid", qid,
		    "kind", "expired", "id", it->id, "to", it->peer,
		    "accepted", (json_int_t)it->accepted,
		    "at", (json_int_t)it->at);
	case HL_STORE_DROPPED:
		return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "qid", qid,
		    "kind", "dropped", "id", it->id, "to", it->peer,
		    "accepted", (json_int_t)it->accepted,
		    "at", (json_int_t)it->at, "reason", it->reason);
	}
	return NULL;
}

/* --- POST /v1/accounts --- */

/* The client's address prefix (ipv4_prefix, ipv6_prefix): one budget
 * per site, as for connections. */
static uint64_t
client_key(struct hl_req *r)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct hl_relay_config *cfg = r->srv->cfg;
	return hl_guard_prefix_key(ci != NULL ? ci->client_addr : NULL,
	    cfg->ipv4_prefix, cfg->ipv6_prefix, r->srv->address_key);
}

/* The budget is for failed attempts (guessing codes), not for officers
 * enrolling: every attempt takes a token, so that parallel guesses are
 * bounded too, and one that succeeds, or fails through the relay's own
 * fault, gives it back. */
static enum MHD_Result
admit_register(struct hl_req *r)
{
	int64_t retry = 0;
	if (hl_ratelimit_take(r->srv->register_rate, client_key(r),
	    hl_mono_ms(), &retry) != 0)
		return hl_reply_fail(r, HL_ERATE,
		    "too many failed registrations from this address", retry);
	return MHD_YES;
}

static void
refund_register(struct hl_req *r)
{
	hl_ratelimit_give(r->srv->register_rate, client_key(r));
}

static void
clear_register(struct hl_req *r)
{
	hl_request_registration_clear(&r->u.reg);
}

static enum MHD_Result
start_register(struct hl_req *r)
{
	char cause[HL_CAUSE_MAX];
	r->clear = clear_register;
	int rc = hl_request_parse_registration(r->body, r->body_len,
	    &r->srv->parse_limits, &r->u.reg, cause);
	if (rc != 0)
		return hl_reply_fail(r, rc, cause, 0);
	hl_secret_token_new(r->token, r->u.reg.token_hash);
	r->write.kind = HL_WRITE_REGISTER;
	r->write.reg = &r->u.reg;
	return hl_req_write(r);
}

static enum MHD_Result
finish_register(struct hl_req *r)
{
	int rc = r->write.rc;
	if (rc == 0 || rc == HL_EDB || rc == HL_EBUSY || rc == HL_EIO ||
	    rc == HL_ENOMEM || rc == HL_ESTOPPING)
		refund_register(r);
	if (rc != 0)
		return hl_reply_fail(r, rc, r->write.cause, 0);
	hl_log(HL_LOG_INFO, "account_registered", "handle=%s%s",
	    r->u.reg.handle, r->write.reissued ? " retry=reissued" : "");
	/* Built by hand, not through jansson, so that the one copy of the
	 * token in the reply is wiped when it is sent. */
	size_t n = strlen(r->u.reg.handle) + HL_SECRET_TOKEN_HEX + 32;
	char *text = malloc(n);
	if (text == NULL)
		return hl_reply_fail(r, HL_ENOMEM, NULL, 0);
	snprintf(text, n, "{\"handle\":\"%s\",\"token\":\"%s\"}",
	    r->u.reg.handle, r->token);
	sodium_memzero(r->token, sizeof r->token);
	return hl_reply_text(r, MHD_HTTP_CREATED, text, "application/json");
}

/* --- keys --- */

static enum MHD_Result
start_key_status(struct hl_req *r)
{
	int64_t remaining = 0;
	uint32_t spk = 0;
	struct hl_store *st = r->srv->store;
	int rc = st->ops->key_status(st, r->account.id, &remaining, &spk);
	if (rc != 0)
		return hl_reply_fail(r, rc, NULL, 0);
	return hl_reply_json(r, MHD_HTTP_OK, json_pack("{s:I,s:I}",
	    "prekeys_remaining", (json_int_t)remaining,
	    "signed_prekey_id", (json_int_t)spk));
}

static void
clear_keys(struct hl_req *r)
{
	hl_request_keys_clear(&r->u.keys);
}

static enum MHD_Result
start_keys(struct hl_req *r)
{
	char cause[HL_CAUSE_MAX];
	r->clear = clear_keys;
	int rc = hl_request_parse_keys(r->body, r->body_len,
	    &r->srv->parse_limits, &r->u.keys, cause);
	if (rc != 0)
		return hl_reply_fail(r, rc, cause, 0);
	r->write.kind = HL_WRITE_KEYS;
	r->write.account = r->account.id;
	r->write.keys = &r->u.keys;
	return hl_req_write(r);
}

static enum MHD_Result
finish_keys(struct hl_req *r)
{
	if (r->write.rc != 0)
		return hl_reply_fail(r, r->write.rc, r->write.cause, 0);
	return hl_reply_json(r, MHD_HTTP_OK, json_pack("{s:I}",
	    "prekeys_remaining", (json_int_t)r->write.prekeys_remaining));
}

static enum MHD_Result
start_bundle(struct hl_req *r)
{
	r->write.kind = HL_WRITE_BUNDLE;
	r->write.account = r->account.id;
	r->write.target = r->arg;
	return hl_req_write(r);
}

static enum MHD_Result
finish_bundle(struct hl_req *r)
{
	const struct hl_write *w = &r->write;
	if (w->rc != 0)
		return hl_reply_fail(r, w->rc, w->cause, w->retry_after_s);
	const struct hl_store_bundle *b = &w->bundle;
	json_t *spk = json_pack("{s:I}", "id", (json_int_t)b->signed_prekey.id);
	json_t *o = json_pack("{s:s,s:I,s:I}", "handle", b->handle,
	    "device_id", (json_int_t)b->device_id,
	    "registration_id", (json_int_t)b->registration_id);
	int rc = (spk && o) ? 0 : HL_ENOMEM;
	if (rc == 0)
		rc = set_b64(spk, "key", b->signed_prekey.key,
		    HL_STORE_KEY_LEN);
	if (rc == 0)
		rc = set_b64(spk, "signature", b->signed_prekey.signature,
		    HL_STORE_SIG_LEN);
	if (rc == 0)
		rc = set_b64(o, "identity_key", b->identity_key,
		    HL_STORE_KEY_LEN);
	if (rc == 0) {
		rc = json_object_set_new(o, "signed_prekey", spk) == 0 ? 0 :
		    HL_ENOMEM;
		spk = NULL;
	}
	if (rc == 0 && b->has_prekey) {
		json_t *pk = json_pack("{s:I}", "id", (json_int_t)b->prekey.id);
		rc = pk ? set_b64(pk, "key", b->prekey.key,
		    HL_STORE_KEY_LEN) : HL_ENOMEM;
		if (rc == 0 && json_object_set_new(o, "prekey", pk) != 0)
			rc = HL_ENOMEM;
		else if (rc != 0)
			json_decref(pk);
	}
	json_decref(spk);
	if (rc != 0) {
		json_decref(o);
		return hl_reply_fail(r, rc, NULL, 0);
	}
	return hl_reply_json(r, MHD_HTTP_OK, o);
}

/* --- directory and profile --- */

static enum MHD_Result
start_directory(struct hl_req *r)
{
	const char *q = hl_req_query(r, "q");
	char cause[HL_CAUSE_MAX];
	if (q == NULL)
		q = "";
	int rc = hl_request_parse_search(q, cause);
	if (rc != 0)
		return hl_reply_fail(r, rc, cause, 0);
	struct hl_store_entry *entries = NULL;
	size_t n = 0;
	struct hl_store *st = r->srv->store;
	rc = st->ops->directory(st, q, DIRECTORY_MAX, &entries, &n, cause);
	if (rc != 0)
		return hl_reply_fail(r, rc, cause, 0);
	json_t *arr = json_array();
	for (size_t i = 0; arr != NULL && i < n; i++) {
		json_t *e = entry_json(&entries[i]);
		if (e == NULL || json_array_append_new(arr, e) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	free(entries);
	if (arr == NULL)
		return hl_reply_fail(r, HL_ENOMEM, NULL, 0);
	return hl_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "entries",
	    arr));
}

static enum MHD_Result
start_profile(struct hl_req *r)
{
	char cause[HL_CAUSE_MAX];
	int rc = hl_request_parse_profile(r->body, r->body_len, &r->u.profile,
	    cause);
	if (rc != 0)
		return hl_reply_fail(r, rc, cause, 0);
	r->write.kind = HL_WRITE_PROFILE;
	r->write.account = r->account.id;
	r->write.profile = &r->u.profile;
	return hl_req_write(r);
}

static enum MHD_Result
finish_profile(struct hl_req *r)
{
	if (r->write.rc != 0)
		return hl_reply_fail(r, r->write.rc, r->write.cause, 0);
	json_t *e = entry_json(&r->write.entry);
	if (e == NULL)
		return hl_reply_fail(r, HL_ENOMEM, NULL, 0);
	return hl_reply_json(r, MHD_HTTP_OK, e);
}

/* A profile update is a durable write like a message: the same number a
 * minute, in a budget of its own. */
static enum MHD_Result
admit_profile(struct hl_req *r)
{
	int64_t retry = 0;
	if (hl_ratelimit_take(r->srv->profile_rate, (uint64_t)r->account.id,
	    hl_mono_ms(), &retry) != 0) {
		char msg[96];
		snprintf(msg, sizeof msg, "at most %lld profile updates a minute",
		    (long long)r->srv->cfg->rate_per_minute);
		return hl_reply_fail(r, HL_ERATE, msg, retry);
	}
	return MHD_YES;
}

/* --- messages --- */

static enum MHD_Result
admit_message(struct hl_req *r)
{
	int64_t retry = 0;
	if (hl_ratelimit_take(r->srv->message_rate, (uint64_t)r->account.id,
	    hl_mono_ms(), &retry) != 0) {
		char msg[96];
		snprintf(msg, sizeof msg, "at most %lld messages a minute",
		    (long long)r->srv->cfg->rate_per_minute);
		return hl_reply_fail(r, HL_ERATE, msg, retry);
	}
	return MHD_YES;
}

static void
clear_message(struct hl_req *r)
{
	hl_request_message_clear(&r->u.msg.in);
}

static enum MHD_Result
start_send(struct hl_req *r)
{
	char cause[HL_CAUSE_MAX];
	r->clear = clear_message;
	struct hl_request_message *in = &r->u.msg.in;
	int rc = hl_request_parse_message(r->body, r->body_len,
	    &r->srv->parse_limits, in, cause);
	if (rc != 0)
		return hl_reply_fail(r, rc, cause, 0);
	struct hl_store_envelope *env = &r->u.msg.env;
	env->sender = r->account.id;
	memcpy(env->sender_handle, r->account.handle,
	    sizeof env->sender_handle);
	env->sender_device = r->account.device_id;
	memcpy(env->to, in->to, sizeof env->to);
	memcpy(env->id, in->id, sizeof env->id);
	env->type = in->type;
	env->body = in->body;
	env->body_len = in->body_len;
	hl_store_envelope_digest(env);
	r->write.kind = HL_WRITE_MESSAGE;
	r->write.account = r->account.id;
	r->write.env = env;
	return hl_req_write(r);
}

static enum MHD_Result
finish_send(struct hl_req *r)
{
	if (r->write.rc != 0)
		return hl_reply_fail(r, r->write.rc, r->write.cause, 0);
	return hl_reply_json(r, MHD_HTTP_ACCEPTED, json_pack("{s:s,s:I}",
	    "id", r->u.msg.env.id,
	    "accepted", (json_int_t)r->write.accepted.accepted));
}

static void
clear_fetch(struct hl_req *r)
{
	if (r->u.fetch.counted)
		hl_tally_give(r->srv->fetches, (uint64_t)r->account.id);
	r->u.fetch.counted = 0;
}

/* Answers with the items of f, which it frees. */
static enum MHD_Result
reply_items(struct hl_req *r, struct hl_store_fetch *f)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr != NULL && i < f->n; i++) {
		json_t *it = item_json(&f->items[i]);
		if (it == NULL || json_array_append_new(arr, it) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	json_t *o = arr ? json_pack("{s:o,s:I,s:b}", "messages", arr,
	    "prekeys_remaining", (json_int_t)f->prekeys_remaining,
	    "more", f->more) : NULL;
	hl_store_fetch_free(f);
	if (o == NULL)
		return hl_reply_fail(r, HL_ENOMEM, NULL, 0);
	return hl_reply_json(r, MHD_HTTP_OK, o);
}

static int
fetch(struct hl_req *r, struct hl_store_fetch *f, char *cause)
{
	struct hl_store *st = r->srv->store;
	return st->ops->fetch(st, r->account.id, (size_t)r->u.fetch.limit,
	    r->srv->cfg->max_fetch_bytes, f, cause);
}

/* Every fetch in progress holds the answer it builds (up to about three
 * times max_fetch_bytes, and until a slow reader has taken it all), and a
 * parked one builds it when it wakes: the places per account are few. */
static enum MHD_Result
admit_fetch(struct hl_req *r)
{
	struct hl_server *srv = r->srv;
	unsigned limit = srv->cfg->max_fetches_per_account;
	int rc = hl_tally_take(srv->fetches, (uint64_t)r->account.id, limit);
	if (rc == HL_ERATE) {
		char msg[96];
		snprintf(msg, sizeof msg,
		    "at most %u fetches of one account at once", limit);
		return hl_reply_fail(r, HL_ERATE, msg, 1);
	}
	if (rc != 0)
		return hl_reply_fail(r, rc, "too many accounts fetching", 0);
	r->u.fetch.counted = 1;
	r->clear = clear_fetch;
	return MHD_YES;
}

/* Looks at the queue; answers, or parks until the deadline while it is
 * empty. */
static enum MHD_Result
look(struct hl_req *r)
{
	char cause[HL_CAUSE_MAX];
	/* Read the wake-up counter before looking, so a message committed
	 * between the look and the park still wakes this request. */
	uint64_t seq = hl_waiters_seq(r->srv->waiters, r->account.id);
	struct hl_store_fetch f;
	int rc = fetch(r, &f, cause);
	if (rc != 0)
		return hl_reply_fail(r, rc, cause, 0);
	if (f.n > 0 || r->u.fetch.deadline_ms == 0 ||
	    hl_mono_ms() >= r->u.fetch.deadline_ms ||
	    atomic_load(&r->srv->stopping))
		return reply_items(r, &f);
	hl_store_fetch_free(&f);
	return hl_req_park(r, &r->u.fetch.deadline_ms, seq);
}

static enum MHD_Result
start_fetch(struct hl_req *r)
{
	const struct hl_relay_config *cfg = r->srv->cfg;
	char cause[HL_CAUSE_MAX];
	int64_t wait = 0;
	const char *v = hl_req_query(r, "wait");
	int rc = 0;
	if (v != NULL)
		rc = hl_request_parse_int("wait", v, 0, cfg->max_wait_s, &wait,
		    cause);
	r->u.fetch.limit = cfg->max_fetch;
	v = hl_req_query(r, "limit");
	if (rc == 0 && v != NULL)
		rc = hl_request_parse_int("limit", v, 1, cfg->max_fetch,
		    &r->u.fetch.limit, cause);
	if (rc != 0)
		return hl_reply_fail(r, rc, cause, 0);
	r->u.fetch.deadline_ms = wait > 0 ? hl_mono_ms() + wait * 1000 : 0;
	return look(r);
}

/* Woken: by a commit for this account, by the deadline, by shutdown, or
 * because parking was refused when another account of the same waiter
 * bucket got something; the last finds the queue empty and parks again
 * for the rest of its wait. */
static enum MHD_Result
finish_fetch(struct hl_req *r)
{
	return look(r);
}

static void
clear_ack(struct hl_req *r)
{
	free(r->u.ack.qids);
	r->u.ack.qids = NULL;
}

static enum MHD_Result
start_ack(struct hl_req *r)
{
	char cause[HL_CAUSE_MAX];
	r->clear = clear_ack;
	int rc = hl_request_parse_ack(r->body, r->body_len,
	    &r->srv->parse_limits, &r->u.ack.qids, &r->u.ack.n, cause);
	if (rc != 0)
		return hl_reply_fail(r, rc, cause, 0);
	r->write.kind = HL_WRITE_ACK;
	r->write.account = r->account.id;
	r->write.qids = r->u.ack.qids;
	r->write.nqids = r->u.ack.n;
	return hl_req_write(r);
}

static enum MHD_Result
finish_ack(struct hl_req *r)
{
	if (r->write.rc != 0)
		return hl_reply_fail(r, r->write.rc, r->write.cause, 0);
	return hl_reply_json(r, MHD_HTTP_OK, json_pack("{s:I}", "deleted",
	    (json_int_t)r->write.deleted));
}

/* --- health and metrics --- */

static enum MHD_Result
start_health(struct hl_req *r)
{
	if (atomic_load(&r->srv->stopping))
		return hl_reply_fail(r, HL_ESTOPPING, NULL, 0);
	return hl_reply_json(r, MHD_HTTP_OK, json_pack("{s:s,s:I,s:s}",
	    "status", "ok", "time", (json_int_t)hl_now_ms(),
	    "version", HL_RELAY_VERSION));
}

static enum MHD_Result
start_metrics(struct hl_req *r)
{
	struct hl_server *srv = r->srv;
	if (srv->cfg->metrics_listen[0] != '\0')
		return hl_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		    "metrics are served on [server] metrics_listen only", 0);
	if (!srv->cfg->metrics)
		return hl_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		    "metrics are off ([server] metrics = false)", 0);
	size_t len = 0;
	char *text = NULL;
	int rc = hl_server_metrics_page(srv, &text, &len);
	if (rc != 0)
		return hl_reply_fail(r, rc, NULL, 0);
	return hl_reply_text(r, MHD_HTTP_OK, text,
	    "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result
no_finish(struct hl_req *r)
{
	return hl_reply_fail(r, HL_ESTATE, "unexpected resume", 0);
}

static const char *const query_fetch[] = { "wait", "limit", NULL };
static const char *const query_directory[] = { "q", NULL };

const struct hl_route hl_routes[] = {
	{ "POST", "/v1/accounts", HL_AUTH_NONE, HL_BODY_JSON, NULL,
	    admit_register, start_register, finish_register },
	{ "GET", "/v1/keys", HL_AUTH_TOKEN, HL_BODY_NONE, NULL,
	    NULL, start_key_status, no_finish },
	{ "PUT", "/v1/keys", HL_AUTH_TOKEN, HL_BODY_JSON, NULL,
	    NULL, start_keys, finish_keys },
	{ "GET", "/v1/keys/{handle}", HL_AUTH_TOKEN, HL_BODY_NONE, NULL,
	    NULL, start_bundle, finish_bundle },
	{ "GET", "/v1/directory", HL_AUTH_TOKEN, HL_BODY_NONE, query_directory,
	    NULL, start_directory, no_finish },
	{ "PUT", "/v1/profile", HL_AUTH_TOKEN, HL_BODY_JSON, NULL,
	    admit_profile, start_profile, finish_profile },
	{ "POST", "/v1/messages", HL_AUTH_TOKEN, HL_BODY_MESSAGE, NULL,
	    admit_message, start_send, finish_send },
	{ "GET", "/v1/messages", HL_AUTH_TOKEN, HL_BODY_NONE, query_fetch,
	    admit_fetch, start_fetch, finish_fetch },
	{ "POST", "/v1/messages/ack", HL_AUTH_TOKEN, HL_BODY_JSON, NULL,
	    NULL, start_ack, finish_ack },
	{ "GET", "/v1/health", HL_AUTH_NONE, HL_BODY_NONE, NULL,
	    NULL, start_health, no_finish },
	{ "GET", "/metrics", HL_AUTH_NONE, HL_BODY_NONE, NULL,
	    NULL, start_metrics, no_finish },
};

const size_t hl_nroutes = sizeof hl_routes / sizeof hl_routes[0];
