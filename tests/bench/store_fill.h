/*
 * The relay's own store driven directly through relay/store.h, with no
 * HTTP in front: accounts made as an invitation and a registration are,
 * and messages queued in commit batches as the writer thread queues them
 * (batch_begin, queue_message per message, batch_commit). Used by the
 * benchmarks for the store's ceiling and to build large stores quickly.
 * Included by one benchmark file each; everything is static.
 */
#ifndef HL_BENCH_STORE_FILL_H
#define HL_BENCH_STORE_FILL_H

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crypto/hl_time.h"
#include "relay/secret.h"
#include "relay/store.h"

/* Limits that never refuse: the ceiling measures the statements, not the
 * quotas. */
static const struct hl_store_limits store_fill_limits = {
	.max_queue_per_recipient = INT64_MAX / 2,
	.max_queue_per_sender = 0,
	.bundle_rate_per_hour = 1000000,
	.max_prekeys_stored = 1000,
	.max_fetch_bytes = 16 << 20,
};

static void
store_fill_key(uint8_t k[HL_STORE_KEY_LEN])
{
	randombytes_buf(k, HL_STORE_KEY_LEN);
	k[0] = 0x05;
}

/* Invites and registers handle inside the caller's batch, as
 * POST /v1/register does; *id is its account id and token (may be NULL,
 * HL_SECRET_TOKEN_HEX + 1 bytes) its bearer token. Returns 0 or an HL_E
 * code. */
static int
store_fill_account(struct hl_store *st, const char *handle, int64_t *id,
    char *token, char *cause)
{
	int64_t now = hl_now_ms();
	char code[HL_SECRET_CODE_STR + 1], tok[HL_SECRET_TOKEN_HEX + 1];
	struct hl_store_registration reg;
	memset(&reg, 0, sizeof reg);
	hl_secret_code_new(code, reg.code_hash);
	int rc = st->ops->invite(st, handle, reg.code_hash, now,
	    now + 86400000, cause);
	if (rc != 0)
		return rc;
	snprintf(reg.handle, sizeof reg.handle, "%s", handle);
	hl_secret_token_new(tok, reg.token_hash);
	store_fill_key(reg.identity_key);
	reg.registration_id = 1 + randombytes_uniform(
	    HL_STORE_REGISTRATION_ID_MAX);
	reg.device_id = 1;
	reg.signed_prekey.id = 1;
	store_fill_key(reg.signed_prekey.key);
	randombytes_buf(reg.signed_prekey.signature, HL_STORE_SIG_LEN);
	snprintf(reg.profile.name, sizeof reg.profile.name, "Bench %s",
	    handle);
	if ((rc = st->ops->batch_begin(st, cause)) != 0)
		return rc;
	rc = st->ops->register_account(st, &reg, now, NULL, cause);
	if (rc == 0)
		rc = st->ops->batch_commit(st, cause);
	else
		st->ops->batch_rollback(st);
	if (rc != 0)
		return rc;
	struct hl_store_account acc;
	if ((rc = st->ops->authenticate(st, reg.token_hash, &acc)) != 0)
		return rc;
	*id = acc.id;
	if (token != NULL)
		memcpy(token, tok, sizeof tok);
	sodium_memzero(tok, sizeof tok);
	return 0;
}

/* Queues one message of body_len random bytes from sender to `to` under a
 * fresh id, inside the caller's batch. */
static int
store_fill_message(struct hl_store *st, int64_t sender,
    const char *sender_handle, const char *to, const uint8_t *body,
    size_t body_len, char *cause)
{
	struct hl_store_envelope env;
	memset(&env, 0, sizeof env);
	env.sender = sender;
	snprintf(env.sender_handle, sizeof env.sender_handle, "%s",
	    sender_handle);
	env.sender_device = 1;
	snprintf(env.to, sizeof env.to, "%s", to);
	unsigned char raw[16];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(env.id, sizeof env.id, raw, sizeof raw);
	env.type = 2;
	env.body = body;
	env.body_len = body_len;
	hl_store_envelope_digest(&env);
	struct hl_store_accepted acc;
	return st->ops->queue_message(st, &env, hl_now_ms(),
	    &store_fill_limits, &acc, cause);
}

#endif
