/*
 * Sessions end to end: two (or three) identities, each in its own database
 * file, exchanging messages through the public session API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <protocol.h>
#include <session_pre_key.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/hl_crypto_int.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"
#include "crypto/hl_time.h"

#define PASS "correct horse battery staple"

struct peer {
	char path[256];
	char handle[32];
	struct hl_crypto *c;
};

struct world {
	char dir[64];
	struct peer alice, bob;
};

static void
peer_open(struct peer *p)
{
	char cause[HL_CAUSE_MAX] = "";
	int rc = hl_crypto_open(p->path, PASS, strlen(PASS), &p->c, cause);
	if (rc != 0)
		fail_msg("open %s: %s", p->path, cause);
}

static void
peer_create(struct world *w, struct peer *p, const char *handle,
    const char *file)
{
	struct hl_kdf_params kdf;
	char cause[HL_CAUSE_MAX] = "";
	hl_kdf_params_minimum(&kdf);
	snprintf(p->path, sizeof p->path, "%s/%s", w->dir, file);
	snprintf(p->handle, sizeof p->handle, "%s", handle);
	assert_int_equal(hl_crypto_create(p->path, PASS, strlen(PASS), &kdf, &p->c,
	    cause), 0);
	if (hl_identity_create(p->c, handle, 20, cause) != 0)
		fail_msg("identity: %s", cause);
}

static void
peer_reopen(struct peer *p)
{
	hl_crypto_close(p->c);
	p->c = NULL;
	peer_open(p);
}

/* The bundle a relay would hand out: the identity, the signed prekey and one
 * one-time prekey (the lowest id left, as a relay hands them out once). */
static void
bundle_of(struct peer *p, int with_prekey, uint32_t skip, struct hl_bundle *b)
{
	struct hl_prekey_pub *pks;
	size_t n;
	assert_int_equal(hl_identity_public(p->c, b), 0);
	b->has_prekey = 0;
	if (!with_prekey)
		return;
	assert_int_equal(hl_prekeys_public(p->c, &pks, &n), 0);
	assert_true(n > skip);
	b->has_prekey = 1;
	b->prekey = pks[skip];
	free(pks);
}

static void
connect(struct peer *from, struct peer *to)
{
	struct hl_bundle b;
	char cause[HL_CAUSE_MAX] = "";
	bundle_of(to, 1, 0, &b);
	if (hl_session_start(from->c, to->handle, &b, cause) != 0)
		fail_msg("session_start: %s", cause);
}

static int
setup(void **state)
{
	struct world *w = calloc(1, sizeof *w);
	snprintf(w->dir, sizeof w->dir, "/tmp/hl-session.XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	peer_create(w, &w->alice, "ee.cert", "alice.db");
	peer_create(w, &w->bob, "fi.ncsc", "bob.db");
	*state = w;
	return 0;
}

static void
remove_db(const char *path)
{
	char p[320];
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

static int
teardown(void **state)
{
	struct world *w = *state;
	hl_crypto_close(w->alice.c);
	hl_crypto_close(w->bob.c);
	remove_db(w->alice.path);
	remove_db(w->bob.path);
	char extra[300];
	snprintf(extra, sizeof extra, "%s/bob2.db", w->dir);
	remove_db(extra);
	snprintf(extra, sizeof extra, "%s/bob3.db", w->dir);
	remove_db(extra);
	snprintf(extra, sizeof extra, "%s/bob4.db", w->dir);
	remove_db(extra);
	rmdir(w->dir);
	free(w);
	return 0;
}

struct msg {
	struct hl_ciphertext ct;
	char text[96];
};

static void
encrypt_text(struct peer *from, struct peer *to, const char *text,
    struct msg *m)
{
	char cause[HL_CAUSE_MAX] = "";
	snprintf(m->text, sizeof m->text, "%s", text);
	if (hl_session_encrypt(from->c, to->handle, (const uint8_t *)text,
	    strlen(text), &m->ct, cause) != 0)
		fail_msg("encrypt: %s", cause);
}

static void
expect_decrypt(struct peer *to, struct peer *from, const struct msg *m)
{
	char cause[HL_CAUSE_MAX] = "";
	uint8_t *pt;
	size_t n;
	int rc = hl_session_decrypt(to->c, from->handle, m->ct.type, m->ct.data,
	    m->ct.len, &pt, &n, cause);
	if (rc != 0)
		fail_msg("decrypt '%s': %s (%d)", m->text, cause, rc);
	assert_int_equal(n, strlen(m->text));
	assert_memory_equal(pt, m->text, n);
	hl_plaintext_free(pt, n);
}

/* The message counter and sender ratchet key of a ciphertext, read with
 * libsignal, to prove message keys are never reused. */
static uint32_t
counter_of(struct hl_crypto *c, const struct hl_ciphertext *ct,
    uint8_t ratchet[HL_KEY_LEN])
{
	signal_message *sm = NULL;
	pre_key_signal_message *pm = NULL;
	uint32_t counter;
	if (ct->type == HL_MSG_PREKEY) {
		assert_int_equal(pre_key_signal_message_deserialize(&pm, ct->data,
		    ct->len, c->gctx), 0);
		sm = pre_key_signal_message_get_signal_message(pm);
	} else {
		assert_int_equal(signal_message_deserialize(&sm, ct->data, ct->len,
		    c->gctx), 0);
	}
	counter = signal_message_get_counter(sm);
	assert_int_equal(hl_pubkey_bytes(signal_message_get_sender_ratchet_key(sm),
	    ratchet), 0);
	if (pm != NULL)
		SIGNAL_UNREF(pm);
	else
		SIGNAL_UNREF(sm);
	return counter;
}

/* 1,000 messages each way in batches of varying size, one batch of 50
 * delivered out of order, one message never delivered, and both databases
 * closed and reopened half way. */
static void
test_thousand_each_way(void **state)
{
	struct world *w = *state;
	enum { TOTAL = 1000, BATCH_MAX = 12 };
	struct msg *batch = calloc(60, sizeof *batch);
	int sent_ab = 0, sent_ba = 0, round = 0, reopened = 0, ooo_done = 0;
	int lost_done = 0;
	unsigned seed = 12345;

	connect(&w->alice, &w->bob);
	while (sent_ab < TOTAL || sent_ba < TOTAL) {
		for (int dir = 0; dir < 2; dir++) {
			struct peer *from = dir ? &w->bob : &w->alice;
			struct peer *to = dir ? &w->alice : &w->bob;
			int *sent = dir ? &sent_ba : &sent_ab;
			int n = 1 + (int)(rand_r(&seed) % BATCH_MAX);
			int ooo = !dir && !ooo_done && sent_ab >= 300;
			if (ooo)
				n = 50;
			if (n > TOTAL - *sent)
				n = TOTAL - *sent;
			if (n <= 0)
				continue;
			/* A batch is one transaction, as the client commits it. */
			assert_int_equal(hl_crypto_begin(from->c), 0);
			for (int i = 0; i < n; i++) {
				char text[96];
				snprintf(text, sizeof text, "%s #%d to %s", from->handle,
				    *sent + i, to->handle);
				encrypt_text(from, to, text, &batch[i]);
			}
			assert_int_equal(hl_crypto_commit(from->c), 0);
			/* Out of order: deliver the batch of 50 back to front,
			 * with pairs swapped again in the middle. */
			int order[60];
			for (int i = 0; i < n; i++)
				order[i] = ooo ? n - 1 - i : i;
			if (ooo)
				for (int i = 10; i + 1 < 40; i += 3) {
					int t = order[i];
					order[i] = order[i + 1];
					order[i + 1] = t;
				}
			int lose = (!dir && !lost_done && sent_ab >= 600 && n >= 3) ? 1 : -1;
			assert_int_equal(hl_crypto_begin(to->c), 0);
			for (int i = 0; i < n; i++)
				if (order[i] != lose)
					expect_decrypt(to, from, &batch[order[i]]);
			assert_int_equal(hl_crypto_commit(to->c), 0);
			if (lose >= 0)
				lost_done = 1;
			if (ooo)
				ooo_done = 1;
			for (int i = 0; i < n; i++)
				hl_ciphertext_free(&batch[i].ct);
			*sent += n;
		}
		if (!reopened && sent_ab >= TOTAL / 2) {
			peer_reopen(&w->alice);
			peer_reopen(&w->bob);
			reopened = 1;
		}
		round++;
	}
	assert_true(ooo_done);
	assert_true(lost_done);
	assert_true(reopened);
	assert_true(round > 50);
	free(batch);
}

static void
test_replay_and_tamper(void **state)
{
	struct world *w = *state;
	struct msg m1, m2, m3;
	char cause[HL_CAUSE_MAX];
	uint8_t *pt;
	size_t n;

	connect(&w->alice, &w->bob);
	encrypt_text(&w->alice, &w->bob, "first", &m1);
	assert_int_equal(m1.ct.type, HL_MSG_PREKEY);
	expect_decrypt(&w->bob, &w->alice, &m1);
	/* A replayed PreKey message. */
	assert_int_equal(hl_session_decrypt(w->bob.c, w->alice.handle, m1.ct.type,
	    m1.ct.data, m1.ct.len, &pt, &n, cause), HL_EDUPLICATE);
	assert_null(pt);

	encrypt_text(&w->bob, &w->alice, "reply", &m2);
	assert_int_equal(m2.ct.type, HL_MSG_SIGNAL);
	expect_decrypt(&w->alice, &w->bob, &m2);
	/* A replayed Signal message. */
	assert_int_equal(hl_session_decrypt(w->alice.c, w->bob.handle, m2.ct.type,
	    m2.ct.data, m2.ct.len, &pt, &n, cause), HL_EDUPLICATE);

	/* One flipped bit anywhere is refused and changes nothing. */
	encrypt_text(&w->alice, &w->bob, "third", &m3);
	assert_int_equal(m3.ct.type, HL_MSG_SIGNAL);
	size_t positions[] = { 0, 1, m3.ct.len / 2, m3.ct.len - 9, m3.ct.len - 1 };
	for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
		m3.ct.data[positions[i]] ^= 0x04;
		int rc = hl_session_decrypt(w->bob.c, w->alice.handle, m3.ct.type,
		    m3.ct.data, m3.ct.len, &pt, &n, cause);
		assert_int_equal(rc, HL_ETAMPERED);
		assert_null(pt);
		m3.ct.data[positions[i]] ^= 0x04;
	}
	/* Truncated, and the wrong type. */
	assert_int_equal(hl_session_decrypt(w->bob.c, w->alice.handle, m3.ct.type,
	    m3.ct.data, m3.ct.len - 1, &pt, &n, cause), HL_ETAMPERED);
	assert_int_equal(hl_session_decrypt(w->bob.c, w->alice.handle,
	    HL_MSG_PREKEY, m3.ct.data, m3.ct.len, &pt, &n, cause), HL_ETAMPERED);
	assert_int_equal(hl_session_decrypt(w->bob.c, w->alice.handle, 7,
	    m3.ct.data, m3.ct.len, &pt, &n, cause), HL_ETAMPERED);
	expect_decrypt(&w->bob, &w->alice, &m3);

	/* A message from someone with no session. */
	assert_int_equal(hl_session_decrypt(w->bob.c, "lv.cert", m3.ct.type,
	    m3.ct.data, m3.ct.len, &pt, &n, cause), HL_ENOSESSION);
	struct hl_ciphertext none;
	assert_int_equal(hl_session_encrypt(w->alice.c, "lv.cert",
	    (const uint8_t *)"x", 1, &none, cause), HL_ENOSESSION);
	assert_null(none.data);

	hl_ciphertext_free(&m1.ct);
	hl_ciphertext_free(&m2.ct);
	hl_ciphertext_free(&m3.ct);
}

/* A one-time prekey is used once: a second session start from the same
 * bundle by another sender would find it gone on the receiving side. */
static void
test_signed_prekey_only_bundle(void **state)
{
	struct world *w = *state;
	struct hl_bundle b;
	char cause[HL_CAUSE_MAX];
	struct msg m;
	bundle_of(&w->bob, 0, 0, &b);
	assert_int_equal(hl_session_start(w->alice.c, w->bob.handle, &b, cause), 0);
	encrypt_text(&w->alice, &w->bob, "no one-time prekey left", &m);
	expect_decrypt(&w->bob, &w->alice, &m);
	hl_ciphertext_free(&m.ct);

	/* A forged signature on the signed prekey is refused. */
	bundle_of(&w->bob, 1, 0, &b);
	b.signed_prekey.signature[5] ^= 1;
	assert_int_equal(hl_session_start(w->alice.c, w->bob.handle, &b, cause),
	    HL_EBUNDLE);
	bundle_of(&w->bob, 1, 0, &b);
	b.identity_key[0] = 0x07;
	assert_int_equal(hl_session_start(w->alice.c, w->bob.handle, &b, cause),
	    HL_EBUNDLE);
	bundle_of(&w->bob, 1, 0, &b);
	b.device_id = 2;
	assert_int_equal(hl_session_start(w->alice.c, w->bob.handle, &b, cause),
	    HL_EBUNDLE);
}

static void
count_events(const struct hl_key_log_entry *e, void *arg)
{
	int *counts = arg;
	counts[e->event]++;
}

/* Bob reinstalls: a new identity under the same handle. */
static void
test_changed_identity(void **state)
{
	struct world *w = *state;
	struct peer bob2;
	struct hl_bundle b;
	struct msg m;
	char cause[HL_CAUSE_MAX];
	char sn_alice[HL_SAFETY_LEN + 1], sn_bob[HL_SAFETY_LEN + 1];
	char sn_old[HL_SAFETY_LEN + 1], sn_new[HL_SAFETY_LEN + 1];
	char sn_bob2[HL_SAFETY_LEN + 1];
	uint8_t *pt;
	size_t n;

	connect(&w->alice, &w->bob);
	encrypt_text(&w->alice, &w->bob, "hello", &m);
	expect_decrypt(&w->bob, &w->alice, &m);
	hl_ciphertext_free(&m.ct);

	/* Safety numbers: equal on both sides, 60 digits. */
	assert_int_equal(hl_safety_number(w->alice.c, w->bob.handle, 0, sn_alice), 0);
	assert_int_equal(hl_safety_number(w->bob.c, w->alice.handle, 0, sn_bob), 0);
	assert_string_equal(sn_alice, sn_bob);
	assert_int_equal(strlen(sn_alice), HL_SAFETY_LEN);
	assert_int_equal(strspn(sn_alice, "0123456789"), HL_SAFETY_LEN);
	memcpy(sn_old, sn_alice, sizeof sn_old);

	peer_create(w, &bob2, w->bob.handle, "bob2.db");

	/* Alice fetches the new bundle: refused, the key is pending. */
	bundle_of(&bob2, 1, 0, &b);
	assert_int_equal(hl_session_start(w->alice.c, w->bob.handle, &b, cause),
	    HL_EUNTRUSTED);
	struct hl_identity_info info;
	assert_int_equal(hl_identity_info(w->alice.c, w->bob.handle, &info), 0);
	assert_int_equal(info.trust, HL_TRUST_CHANGED);
	assert_true(info.has_pending);
	assert_memory_equal(info.pending, b.identity_key, HL_KEY_LEN);

	/* Sending is blocked until the officer accepts the key. */
	struct hl_ciphertext ct;
	assert_int_equal(hl_session_encrypt(w->alice.c, w->bob.handle,
	    (const uint8_t *)"x", 1, &ct, cause), HL_EUNTRUSTED);

	/* The new Bob writes first: a PreKey message under the new key. */
	connect(&bob2, &w->alice);
	encrypt_text(&bob2, &w->alice, "it is me, reinstalled", &m);
	assert_int_equal(hl_session_decrypt(w->alice.c, w->bob.handle, m.ct.type,
	    m.ct.data, m.ct.len, &pt, &n, cause), HL_EUNTRUSTED);
	assert_null(pt);

	/* The safety number of the pending key differs from the old one and
	 * matches the one the new Bob sees. */
	assert_int_equal(hl_safety_number(w->alice.c, w->bob.handle, 1, sn_new), 0);
	assert_string_not_equal(sn_new, sn_old);
	assert_int_equal(hl_safety_number(bob2.c, w->alice.handle, 0, sn_bob2), 0);
	assert_string_equal(sn_new, sn_bob2);

	/* A third key while the second waits is logged, never swapped in:
	 * the key the officer was shown stays the one to accept. */
	struct peer bob3;
	struct msg m3;
	peer_create(w, &bob3, w->bob.handle, "bob3.db");
	connect(&bob3, &w->alice);
	encrypt_text(&bob3, &w->alice, "a third key", &m3);
	assert_int_equal(hl_session_decrypt(w->alice.c, w->bob.handle, m3.ct.type,
	    m3.ct.data, m3.ct.len, &pt, &n, cause), HL_EUNTRUSTED);
	struct hl_identity_info still;
	assert_int_equal(hl_identity_info(w->alice.c, w->bob.handle, &still), 0);
	assert_memory_equal(still.pending, info.pending, HL_KEY_LEN);
	hl_ciphertext_free(&m3.ct);
	hl_crypto_close(bob3.c);

	/* Accepting another key than the one shown is refused. */
	uint8_t wrong[HL_KEY_LEN];
	memcpy(wrong, info.pending, HL_KEY_LEN);
	wrong[9] ^= 1;
	assert_int_equal(hl_identity_trust(w->alice.c, w->bob.handle, wrong, 1),
	    HL_ESTATE);

	assert_int_equal(hl_identity_trust(w->alice.c, w->bob.handle, info.pending,
	    1), 0);
	assert_int_equal(hl_identity_info(w->alice.c, w->bob.handle, &info), 0);
	assert_int_equal(info.trust, HL_TRUST_VERIFIED);
	assert_false(info.has_pending);

	/* The kept message now decrypts, and the conversation carries on. */
	expect_decrypt(&w->alice, &bob2, &m);
	hl_ciphertext_free(&m.ct);
	encrypt_text(&w->alice, &bob2, "welcome back", &m);
	expect_decrypt(&bob2, &w->alice, &m);
	hl_ciphertext_free(&m.ct);

	int counts[5] = { 0 };
	assert_int_equal(hl_identity_log(w->alice.c, w->bob.handle, count_events,
	    counts), 0);
	assert_int_equal(counts[HL_KEY_FIRST_SEEN], 1);
	assert_int_equal(counts[HL_KEY_CHANGED], 2);
	assert_int_equal(counts[HL_KEY_VERIFIED], 1);
	hl_crypto_close(bob2.c);
}

/* A key that did not match what the contact read out is dismissed; the
 * verified key and its session carry on. */
static void
test_reject_pending(void **state)
{
	struct world *w = *state;
	struct peer mallory;
	struct hl_bundle b;
	struct hl_identity_info info;
	struct msg m;
	char cause[HL_CAUSE_MAX];

	connect(&w->alice, &w->bob);
	encrypt_text(&w->alice, &w->bob, "hello", &m);
	expect_decrypt(&w->bob, &w->alice, &m);
	hl_ciphertext_free(&m.ct);
	assert_int_equal(hl_identity_info(w->alice.c, w->bob.handle, &info), 0);
	assert_int_equal(hl_identity_trust(w->alice.c, w->bob.handle, info.key, 1), 0);

	/* A forged bundle under another key for Bob's handle. */
	peer_create(w, &mallory, w->bob.handle, "bob2.db");
	bundle_of(&mallory, 1, 0, &b);
	assert_int_equal(hl_session_start(w->alice.c, w->bob.handle, &b, cause),
	    HL_EUNTRUSTED);
	assert_int_equal(hl_identity_info(w->alice.c, w->bob.handle, &info), 0);
	assert_int_equal(info.trust, HL_TRUST_CHANGED);
	uint8_t wrong[HL_KEY_LEN];
	memcpy(wrong, info.pending, HL_KEY_LEN);
	wrong[3] ^= 1;
	assert_int_equal(hl_identity_reject(w->alice.c, w->bob.handle, wrong),
	    HL_ESTATE);
	assert_int_equal(hl_identity_reject(w->alice.c, w->bob.handle, info.pending),
	    0);
	assert_int_equal(hl_identity_info(w->alice.c, w->bob.handle, &info), 0);
	assert_int_equal(info.trust, HL_TRUST_VERIFIED);
	assert_false(info.has_pending);
	encrypt_text(&w->alice, &w->bob, "still talking to the real Bob", &m);
	expect_decrypt(&w->bob, &w->alice, &m);
	hl_ciphertext_free(&m.ct);
	int counts[5] = { 0 };
	assert_int_equal(hl_identity_log(w->alice.c, w->bob.handle, count_events,
	    counts), 0);
	assert_int_equal(counts[HL_KEY_REJECTED], 1);
	hl_crypto_close(mallory.c);
}

/* An encrypt whose transaction is rolled back leaves the session as it was;
 * what was committed goes out exactly as stored, and no committed
 * ciphertext reuses a message key. */
static void
test_rollback_keeps_session(void **state)
{
	struct world *w = *state;
	struct msg committed[8], discarded;
	uint8_t rk[8][HL_KEY_LEN], rk_discarded[HL_KEY_LEN];
	uint32_t ctr[8], ctr_discarded;
	int nc = 0;

	connect(&w->alice, &w->bob);
	encrypt_text(&w->alice, &w->bob, "opening", &committed[nc]);
	ctr[nc] = counter_of(w->alice.c, &committed[nc].ct, rk[nc]);
	nc++;

	/* Encrypt inside a transaction, then roll it back (a crash before
	 * the outbox row was committed). */
	assert_int_equal(hl_crypto_begin(w->alice.c), 0);
	encrypt_text(&w->alice, &w->bob, "never sent", &discarded);
	ctr_discarded = counter_of(w->alice.c, &discarded.ct, rk_discarded);
	assert_int_equal(hl_crypto_rollback(w->alice.c), 0);
	peer_reopen(&w->alice);

	/* The next encrypt starts from the state before the rollback: it
	 * takes the counter the discarded one had, which was never sent. */
	for (int i = 0; i < 5; i++) {
		char text[32];
		snprintf(text, sizeof text, "after rollback %d", i);
		assert_int_equal(hl_crypto_begin(w->alice.c), 0);
		encrypt_text(&w->alice, &w->bob, text, &committed[nc]);
		assert_int_equal(hl_crypto_commit(w->alice.c), 0);
		ctr[nc] = counter_of(w->alice.c, &committed[nc].ct, rk[nc]);
		nc++;
		if (i == 2)
			peer_reopen(&w->alice);
	}
	assert_int_equal(ctr[1], ctr_discarded);
	assert_memory_equal(rk[1], rk_discarded, HL_KEY_LEN);
	for (int i = 0; i < nc; i++)
		for (int j = i + 1; j < nc; j++)
			assert_false(ctr[i] == ctr[j] &&
			    memcmp(rk[i], rk[j], HL_KEY_LEN) == 0);
	for (int i = 1; i < nc; i++)
		assert_int_equal(ctr[i], ctr[i - 1] + 1);

	for (int i = 0; i < nc; i++) {
		expect_decrypt(&w->bob, &w->alice, &committed[i]);
		hl_ciphertext_free(&committed[i].ct);
	}
	hl_ciphertext_free(&discarded.ct);

	/* A decrypt rolled back is undone too: the same bytes decrypt again. */
	struct msg m;
	encrypt_text(&w->alice, &w->bob, "decrypt twice", &m);
	assert_int_equal(hl_crypto_begin(w->bob.c), 0);
	expect_decrypt(&w->bob, &w->alice, &m);
	assert_int_equal(hl_crypto_rollback(w->bob.c), 0);
	peer_reopen(&w->bob);
	expect_decrypt(&w->bob, &w->alice, &m);
	hl_ciphertext_free(&m.ct);
}

static void
test_prekeys(void **state)
{
	struct world *w = *state;
	struct hl_prekey_pub *pks, *more;
	size_t n, nmore;
	assert_int_equal(hl_prekeys_public(w->bob.c, &pks, &n), 0);
	assert_int_equal(n, 20);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(pks[i].id, i + 1);
		assert_int_equal(pks[i].key[0], 0x05);
	}
	assert_int_equal(hl_prekeys_generate(w->bob.c, 5, &more, &nmore), 0);
	assert_int_equal(nmore, 5);
	assert_int_equal(more[0].id, 21);
	assert_int_equal(more[4].id, 25);
	free(pks);
	assert_int_equal(hl_prekeys_public(w->bob.c, &pks, &n), 0);
	assert_int_equal(n, 25);
	assert_memory_equal(pks[24].key, more[4].key, HL_KEY_LEN);
	free(pks);
	free(more);

	/* A session built on prekey 3 consumes it on Bob's side. */
	struct hl_bundle b;
	struct msg m;
	char cause[HL_CAUSE_MAX];
	bundle_of(&w->bob, 1, 2, &b);
	assert_int_equal(b.prekey.id, 3);
	assert_int_equal(hl_session_start(w->alice.c, w->bob.handle, &b, cause), 0);
	encrypt_text(&w->alice, &w->bob, "uses prekey 3", &m);
	expect_decrypt(&w->bob, &w->alice, &m);
	hl_ciphertext_free(&m.ct);
	assert_int_equal(hl_prekeys_public(w->bob.c, &pks, &n), 0);
	assert_int_equal(n, 24);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(pks[i].id, 3);
	free(pks);

	/* Signed prekey rotation: new id, the old one still decrypts. */
	struct hl_bundle before, after;
	struct hl_signed_prekey_pub spk;
	assert_int_equal(hl_identity_public(w->bob.c, &before), 0);
	assert_int_equal(hl_signed_prekey_rotate(w->bob.c, &spk), 0);
	assert_int_equal(hl_identity_public(w->bob.c, &after), 0);
	assert_int_equal(after.signed_prekey.id, before.signed_prekey.id + 1);
	assert_int_equal(spk.id, after.signed_prekey.id);
	assert_memory_equal(spk.key, after.signed_prekey.key, HL_KEY_LEN);

	struct peer carol;
	peer_create(w, &carol, "lv.cert", "bob2.db");
	before.has_prekey = 0;
	assert_int_equal(hl_session_start(carol.c, w->bob.handle, &before, cause), 0);
	encrypt_text(&carol, &w->bob, "built on the previous signed prekey", &m);
	expect_decrypt(&w->bob, &carol, &m);
	hl_ciphertext_free(&m.ct);
	hl_crypto_close(carol.c);

	/* A first message built on a signed prekey replaced many times since
	 * (weekly for the relay's whole retention) still decrypts ... */
	struct hl_bundle first;
	assert_int_equal(hl_identity_public(w->bob.c, &first), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(hl_signed_prekey_rotate(w->bob.c, &spk), 0);
	struct peer dave;
	peer_create(w, &dave, "lt.cert", "bob3.db");
	first.has_prekey = 0;
	assert_int_equal(hl_session_start(dave.c, w->bob.handle, &first, cause), 0);
	encrypt_text(&dave, &w->bob, "late first message", &m);
	expect_decrypt(&w->bob, &dave, &m);
	hl_ciphertext_free(&m.ct);
	/* ... and replaced ones go only once their time is up. */
	assert_int_equal(hl_signed_prekeys_prune(w->bob.c,
	    hl_now_ms() - HL_SIGNED_PREKEY_KEEP_MS), 0);
	encrypt_text(&dave, &w->bob, "still there", &m);
	assert_int_equal(hl_signed_prekeys_prune(w->bob.c, hl_now_ms() + 1000), 0);
	expect_decrypt(&w->bob, &dave, &m);    /* the session needs it no more */
	hl_ciphertext_free(&m.ct);
	hl_crypto_close(dave.c);
	struct peer erin;
	peer_create(w, &erin, "pl.cert", "bob4.db");
	assert_int_equal(hl_session_start(erin.c, w->bob.handle, &first, cause), 0);
	encrypt_text(&erin, &w->bob, "too late", &m);
	uint8_t *pt;
	size_t ptn;
	int drc = hl_session_decrypt(w->bob.c, erin.handle, m.ct.type, m.ct.data,
	    m.ct.len, &pt, &ptn, cause);
	assert_int_not_equal(drc, 0);
	assert_int_not_equal(drc, HL_EUNTRUSTED);
	hl_ciphertext_free(&m.ct);
	assert_int_equal(hl_identity_public(w->bob.c, &after), 0);
	assert_int_equal(after.signed_prekey.id, spk.id);   /* current kept */
	hl_crypto_close(erin.c);

	/* A second identity is refused. */
	assert_int_equal(hl_identity_create(w->bob.c, "fi.ncsc", 5, cause),
	    HL_EEXIST);
}

static void
test_open_errors(void **state)
{
	struct world *w = *state;
	struct hl_crypto *c = NULL;
	char cause[HL_CAUSE_MAX] = "";
	assert_int_equal(hl_crypto_open(w->alice.path, "wrong", 5, &c, cause),
	    HL_EPASSPHRASE);
	assert_null(c);
	assert_string_equal(cause, "wrong passphrase");
	char missing[300];
	snprintf(missing, sizeof missing, "%s/missing.db", w->dir);
	assert_int_equal(hl_crypto_open(missing, PASS, strlen(PASS), &c, cause),
	    HL_ENOTFOUND);
	assert_int_equal(access(missing, F_OK), -1);
	struct hl_kdf_params kdf;
	hl_kdf_params_minimum(&kdf);
	assert_int_equal(hl_crypto_create(w->alice.path, PASS, strlen(PASS), &kdf,
	    &c, cause), HL_EEXIST);
	assert_null(c);
	assert_string_equal(hl_identity_handle(w->alice.c), "ee.cert");
}

/* Searches a file for a byte string. */
static int
file_contains(const char *path, const void *needle, size_t len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc((size_t)size + 1);
	size_t got = fread(buf, 1, (size_t)size, f);
	fclose(f);
	int found = 0;
	for (size_t i = 0; !found && i + len <= got; i++)
		found = memcmp(buf + i, needle, len) == 0;
	free(buf);
	return found;
}

static int
db_files_contain(const char *path, const void *needle, size_t len)
{
	char p[320];
	snprintf(p, sizeof p, "%s-wal", path);
	return file_contains(path, needle, len) || file_contains(p, needle, len);
}

/* After sessions and messages, neither the database nor its WAL holds a
 * private key, a plaintext, or a contact's handle. */
static void
test_no_secret_on_disk(void **state)
{
	struct world *w = *state;
	static const char secret[] = "EXERCISE plaintext 7f3a: pipeline IOC list";
	struct msg m;
	char cause[HL_CAUSE_MAX];
	uint8_t *pt;
	size_t n;

	connect(&w->alice, &w->bob);
	for (int i = 0; i < 3; i++) {
		encrypt_text(&w->alice, &w->bob, secret, &m);
		assert_int_equal(hl_session_decrypt(w->bob.c, w->alice.handle,
		    m.ct.type, m.ct.data, m.ct.len, &pt, &n, cause), 0);
		hl_plaintext_free(pt, n);
		hl_ciphertext_free(&m.ct);
		encrypt_text(&w->bob, &w->alice, secret, &m);
		expect_decrypt(&w->alice, &w->bob, &m);
		hl_ciphertext_free(&m.ct);
	}
	/* Keys to look for, read while the vault is open. */
	uint8_t alice_priv[HL_PRIV_LEN], bob_priv[HL_PRIV_LEN];
	uint8_t spk_priv[HL_PRIV_LEN];
	memcpy(alice_priv, w->alice.c->priv, HL_PRIV_LEN);
	memcpy(bob_priv, w->bob.c->priv, HL_PRIV_LEN);
	session_signed_pre_key *spk = NULL;
	assert_int_equal(signal_protocol_signed_pre_key_load_key(w->bob.c->sctx,
	    &spk, 1), 0);
	signal_buffer *sb = NULL;
	assert_int_equal(ec_private_key_serialize(&sb, ec_key_pair_get_private(
	    session_signed_pre_key_get_key_pair(spk))), 0);
	assert_int_equal(signal_buffer_len(sb), HL_PRIV_LEN);
	memcpy(spk_priv, signal_buffer_data(sb), HL_PRIV_LEN);
	signal_buffer_bzero_free(sb);
	SIGNAL_UNREF(spk);

	/* The search must be able to find what it looks for. */
	assert_true(file_contains(__FILE__, secret, strlen(secret)));
	for (int side = 0; side < 2; side++) {
		const char *path = side ? w->bob.path : w->alice.path;
		assert_false(db_files_contain(path, secret, strlen(secret)));
		assert_false(db_files_contain(path, "EXERCISE", 8));
		assert_false(db_files_contain(path, alice_priv, HL_PRIV_LEN));
		assert_false(db_files_contain(path, bob_priv, HL_PRIV_LEN));
		assert_false(db_files_contain(path, spk_priv, HL_PRIV_LEN));
		assert_false(db_files_contain(path, "ee.cert", 7));
		assert_false(db_files_contain(path, "fi.ncsc", 7));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_thousand_each_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_and_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signed_prekey_only_bundle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_keeps_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prekeys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_secret_on_disk, setup, teardown),
	};
	return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
