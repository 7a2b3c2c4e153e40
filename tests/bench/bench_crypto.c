/*
 * Session setups and messages per second through hotline's crypto core
 * (sealed SQLite stores, savepoints, the OpenSSL provider) beside the
 * ceiling: bare libsignal-protocol-c with in-memory stores and the same
 * provider, in the same process, on the same machine.
 *
 *   bench_crypto [SECONDS_PER_ROW]     (default 2)
 */
#include <key_helper.h>
#include <protocol.h>
#include <session_builder.h>
#include <session_cipher.h>
#include <session_pre_key.h>
#include <signal_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/hl_err.h"
#include "crypto/hl_provider.h"
#include "crypto/hl_session.h"
#include "tests/bench/bench_keys.h"

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_crypto: %s failed\n", what);
	exit(1);
}

/* --- the ceiling: libsignal with stores in memory --- */

#define MEM_SLOTS 4096

struct mem_rec {
	int used;
	char name[64];
	int32_t dev;
	uint32_t id;
	signal_buffer *rec;
};

struct mem {
	signal_context *g;
	signal_protocol_store_context *s;
	ratchet_identity_key_pair *ikp;
	uint32_t reg;
	struct mem_rec sessions[64], prekeys[MEM_SLOTS], signed_keys[4];
};

static struct mem_rec *
slot(struct mem_rec *t, size_t n, const char *name, size_t nl, int32_t dev,
    uint32_t id, int create)
{
	struct mem_rec *free_slot = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!t[i].used) {
			if (free_slot == NULL)
				free_slot = &t[i];
			continue;
		}
		if (t[i].id == id && t[i].dev == dev && strlen(t[i].name) == nl &&
		    memcmp(t[i].name, name, nl) == 0)
			return &t[i];
	}
	if (!create || free_slot == NULL)
		return NULL;
	memset(free_slot, 0, sizeof *free_slot);
	free_slot->used = 1;
	memcpy(free_slot->name, name, nl);
	free_slot->dev = dev;
	free_slot->id = id;
	return free_slot;
}

static int
m_load_session(signal_buffer **r, signal_buffer **u,
    const signal_protocol_address *a, void *ud)
{
	struct mem *m = ud;
	(void)u;
	struct mem_rec *x = slot(m->sessions, 64, a->name, a->name_len,
	    a->device_id, 0, 0);
	if (x == NULL)
		return 0;
	*r = signal_buffer_copy(x->rec);
	return 1;
}

static int
m_sub(signal_int_list **s, const char *n, size_t l, void *ud)
{
	(void)n;
	(void)l;
	(void)ud;
	*s = signal_int_list_alloc();
	return 0;
}

static int
m_store_session(const signal_protocol_address *a, uint8_t *r, size_t rl,
    uint8_t *u, size_t ul, void *ud)
{
	struct mem *m = ud;
	(void)u;
	(void)ul;
	struct mem_rec *x = slot(m->sessions, 64, a->name, a->name_len,
	    a->device_id, 0, 1);
	signal_buffer_free(x->rec);
	x->rec = signal_buffer_create(r, rl);
	return 0;
}

static int
m_contains_session(const signal_protocol_address *a, void *ud)
{
	struct mem *m = ud;
	return slot(m->sessions, 64, a->name, a->name_len, a->device_id, 0, 0) != NULL;
}

static int
m_delete_session(const signal_protocol_address *a, void *ud)
{
	(void)a;
	(void)ud;
	return 0;
}

static int
m_delete_all(const char *n, size_t l, void *ud)
{
	(void)n;
	(void)l;
	(void)ud;
	return 0;
}

static int
m_load_key(struct mem_rec *t, size_t n, signal_buffer **r, uint32_t id)
{
	struct mem_rec *x = slot(t, n, "", 0, 0, id, 0);
	if (x == NULL)
		return SG_ERR_INVALID_KEY_ID;
	*r = signal_buffer_copy(x->rec);
	return SG_SUCCESS;
}

static int
m_store_key(struct mem_rec *t, size_t n, uint32_t id, uint8_t *r, size_t l)
{
	struct mem_rec *x = slot(t, n, "", 0, 0, id, 1);
	if (x == NULL)
		return -1;
	signal_buffer_free(x->rec);
	x->rec = signal_buffer_create(r, l);
	return 0;
}

static int
m_remove_key(struct mem_rec *t, size_t n, uint32_t id)
{
	struct mem_rec *x = slot(t, n, "", 0, 0, id, 0);
	if (x != NULL) {
		signal_buffer_free(x->rec);
		memset(x, 0, sizeof *x);
	}
	return 0;
}

#define MEM_KEY_STORE(field, n) \
static int m_load_##field(signal_buffer **r, uint32_t id, void *ud) \
{ return m_load_key(((struct mem *)ud)->field, n, r, id); } \
static int m_store_##field(uint32_t id, uint8_t *r, size_t l, void *ud) \
{ return m_store_key(((struct mem *)ud)->field, n, id, r, l); } \
static int m_contains_##field(uint32_t id, void *ud) \
{ return slot(((struct mem *)ud)->field, n, "", 0, 0, id, 0) != NULL; } \
static int m_remove_##field(uint32_t id, void *ud) \
{ return m_remove_key(((struct mem *)ud)->field, n, id); }

MEM_KEY_STORE(prekeys, MEM_SLOTS)
MEM_KEY_STORE(signed_keys, 4)

static int
m_key_pair(signal_buffer **pub, signal_buffer **priv, void *ud)
{
	struct mem *m = ud;
	ec_public_key_serialize(pub, ratchet_identity_key_pair_get_public(m->ikp));
	ec_private_key_serialize(priv, ratchet_identity_key_pair_get_private(m->ikp));
	return 0;
}

static int
m_reg(void *ud, uint32_t *r)
{
	*r = ((struct mem *)ud)->reg;
	return 0;
}

static int
m_save_identity(const signal_protocol_address *a, uint8_t *k, size_t l, void *ud)
{
	(void)a;
	(void)k;
	(void)l;
	(void)ud;
	return 0;
}

static int
m_trusted(const signal_protocol_address *a, uint8_t *k, size_t l, void *ud)
{
	(void)a;
	(void)k;
	(void)l;
	(void)ud;
	return 1;
}

static int
m_store_sk(const signal_protocol_sender_key_name *n, uint8_t *r, size_t l,
    uint8_t *u, size_t ul, void *ud)
{
	(void)n;
	(void)r;
	(void)l;
	(void)u;
	(void)ul;
	(void)ud;
	return 0;
}

static int
m_load_sk(signal_buffer **r, signal_buffer **u,
    const signal_protocol_sender_key_name *n, void *ud)
{
	(void)r;
	(void)u;
	(void)n;
	(void)ud;
	return 0;
}

static void
mem_init(struct mem *m, uint32_t nprekeys)
{
	signal_crypto_provider p;
	signal_protocol_key_helper_pre_key_list_node *head = NULL;
	session_signed_pre_key *spk = NULL;
	memset(m, 0, sizeof *m);
	hl_provider_fill(&p);
	if (signal_context_create(&m->g, m) < 0 ||
	    signal_context_set_crypto_provider(m->g, &p) < 0 ||
	    signal_protocol_store_context_create(&m->s, m->g) < 0)
		die("bare context");
	signal_protocol_session_store ss = { m_load_session, m_sub, m_store_session,
	    m_contains_session, m_delete_session, m_delete_all, NULL, m };
	signal_protocol_pre_key_store ps = { m_load_prekeys, m_store_prekeys,
	    m_contains_prekeys, m_remove_prekeys, NULL, m };
	signal_protocol_signed_pre_key_store sps = { m_load_signed_keys,
	    m_store_signed_keys, m_contains_signed_keys, m_remove_signed_keys, NULL, m };
	signal_protocol_identity_key_store is = { m_key_pair, m_reg, m_save_identity,
	    m_trusted, NULL, m };
	signal_protocol_sender_key_store sk = { m_store_sk, m_load_sk, NULL, m };
	signal_protocol_store_context_set_session_store(m->s, &ss);
	signal_protocol_store_context_set_pre_key_store(m->s, &ps);
	signal_protocol_store_context_set_signed_pre_key_store(m->s, &sps);
	signal_protocol_store_context_set_identity_key_store(m->s, &is);
	signal_protocol_store_context_set_sender_key_store(m->s, &sk);
	if (signal_protocol_key_helper_generate_identity_key_pair(&m->ikp, m->g) < 0 ||
	    signal_protocol_key_helper_generate_registration_id(&m->reg, 0, m->g) < 0 ||
	    signal_protocol_key_helper_generate_signed_pre_key(&spk, m->ikp, 1, 0,
	    m->g) < 0 || signal_protocol_signed_pre_key_store_key(m->s, spk) < 0 ||
	    signal_protocol_key_helper_generate_pre_keys(&head, 1, nprekeys, m->g) < 0)
		die("bare keys");
	for (signal_protocol_key_helper_pre_key_list_node *n = head; n;
	    n = signal_protocol_key_helper_key_list_next(n))
		signal_protocol_pre_key_store_key(m->s,
		    signal_protocol_key_helper_key_list_element(n));
	signal_protocol_key_helper_key_list_free(head);
	SIGNAL_UNREF(spk);
}

static void
mem_free(struct mem *m)
{
	for (int i = 0; i < 64; i++)
		signal_buffer_free(m->sessions[i].rec);
	for (int i = 0; i < MEM_SLOTS; i++)
		signal_buffer_free(m->prekeys[i].rec);
	for (int i = 0; i < 4; i++)
		signal_buffer_free(m->signed_keys[i].rec);
	SIGNAL_UNREF(m->ikp);
	signal_protocol_store_context_destroy(m->s);
	signal_context_destroy(m->g);
}

static session_pre_key_bundle *
mem_bundle(struct mem *m, uint32_t prekey_id)
{
	session_pre_key *pk = NULL;
	session_signed_pre_key *spk = NULL;
	session_pre_key_bundle *b = NULL;
	if (signal_protocol_pre_key_load_key(m->s, &pk, prekey_id) < 0 ||
	    signal_protocol_signed_pre_key_load_key(m->s, &spk, 1) < 0 ||
	    session_pre_key_bundle_create(&b, m->reg, 1, prekey_id,
	    ec_key_pair_get_public(session_pre_key_get_key_pair(pk)), 1,
	    ec_key_pair_get_public(session_signed_pre_key_get_key_pair(spk)),
	    session_signed_pre_key_get_signature(spk),
	    session_signed_pre_key_get_signature_len(spk),
	    ratchet_identity_key_pair_get_public(m->ikp)) < 0)
		die("bare bundle");
	SIGNAL_UNREF(pk);
	SIGNAL_UNREF(spk);
	return b;
}

static const uint8_t payload[256] = "a padded content of one block";
/* An incident report with its indicators: sixteen padded blocks. */
static uint8_t payload_4k[4096];

/* Bare: one session set-up (both sides) per iteration. */
static double
bare_setups(double secs)
{
	int n = 0;
	double spent = 0;
	/* Only the set-up is timed, not making the two identities. */
	while (spent < secs && n < MEM_SLOTS - 1) {
		struct mem a, b;
		mem_init(&a, 1);
		mem_init(&b, 1);
		session_pre_key_bundle *bundle = mem_bundle(&b, 1);
		signal_protocol_address addr_b = { "fi.ncsc", 7, 1 };
		signal_protocol_address addr_a = { "ee.cert", 7, 1 };
		session_builder *sb = NULL;
		session_cipher *ca = NULL, *cb = NULL;
		ciphertext_message *msg = NULL;
		pre_key_signal_message *pm = NULL;
		signal_buffer *pt = NULL;
		double s0 = now_s();
		if (session_builder_create(&sb, a.s, &addr_b, a.g) < 0 ||
		    session_builder_process_pre_key_bundle(sb, bundle) < 0 ||
		    session_cipher_create(&ca, a.s, &addr_b, a.g) < 0 ||
		    session_cipher_encrypt(ca, payload, sizeof payload, &msg) < 0 ||
		    pre_key_signal_message_deserialize(&pm,
		    signal_buffer_data(ciphertext_message_get_serialized(msg)),
		    signal_buffer_len(ciphertext_message_get_serialized(msg)), b.g) < 0 ||
		    session_cipher_create(&cb, b.s, &addr_a, b.g) < 0 ||
		    session_cipher_decrypt_pre_key_signal_message(cb, pm, NULL, &pt) < 0)
			die("bare setup");
		spent += now_s() - s0;
		signal_buffer_free(pt);
		SIGNAL_UNREF(pm);
		SIGNAL_UNREF(msg);
		session_cipher_free(ca);
		session_cipher_free(cb);
		session_builder_free(sb);
		SIGNAL_UNREF(bundle);
		mem_free(&a);
		mem_free(&b);
		n++;
	}
	return n / spent;
}

/* Bare: messages one way (encrypt + decrypt) on an established session. */
static double
bare_messages(double secs, const uint8_t *body, size_t body_len)
{
	struct mem a, b;
	mem_init(&a, 1);
	mem_init(&b, 1);
	session_pre_key_bundle *bundle = mem_bundle(&b, 1);
	signal_protocol_address addr_b = { "fi.ncsc", 7, 1 };
	signal_protocol_address addr_a = { "ee.cert", 7, 1 };
	session_builder *sb = NULL;
	session_cipher *ca = NULL, *cb = NULL;
	if (session_builder_create(&sb, a.s, &addr_b, a.g) < 0 ||
	    session_builder_process_pre_key_bundle(sb, bundle) < 0 ||
	    session_cipher_create(&ca, a.s, &addr_b, a.g) < 0 ||
	    session_cipher_create(&cb, b.s, &addr_a, b.g) < 0)
		die("bare session");
	int n = 0;
	double t0 = now_s();
	while (now_s() - t0 < secs) {
		ciphertext_message *msg = NULL;
		signal_buffer *pt = NULL;
		signal_buffer *ser;
		if (session_cipher_encrypt(ca, body, body_len, &msg) < 0)
			die("bare encrypt");
		ser = ciphertext_message_get_serialized(msg);
		if (ciphertext_message_get_type(msg) == CIPHERTEXT_PREKEY_TYPE) {
			pre_key_signal_message *pm = NULL;
			if (pre_key_signal_message_deserialize(&pm, signal_buffer_data(ser),
			    signal_buffer_len(ser), b.g) < 0 ||
			    session_cipher_decrypt_pre_key_signal_message(cb, pm, NULL,
			    &pt) < 0)
				die("bare decrypt");
			SIGNAL_UNREF(pm);
		} else {
			signal_message *sm = NULL;
			if (signal_message_deserialize(&sm, signal_buffer_data(ser),
			    signal_buffer_len(ser), b.g) < 0 ||
			    session_cipher_decrypt_signal_message(cb, sm, NULL, &pt) < 0)
				die("bare decrypt");
			SIGNAL_UNREF(sm);
		}
		signal_buffer_free(pt);
		SIGNAL_UNREF(msg);
		n++;
	}
	double rate = n / (now_s() - t0);
	session_cipher_free(ca);
	session_cipher_free(cb);
	session_builder_free(sb);
	SIGNAL_UNREF(bundle);
	mem_free(&a);
	mem_free(&b);
	return rate;
}

/* Decrypts msg on cipher c (whichever kind it is). */
static void
bare_deliver(session_cipher *c, ciphertext_message *msg, signal_context *g)
{
	signal_buffer *pt = NULL;
	signal_buffer *ser = ciphertext_message_get_serialized(msg);
	if (ciphertext_message_get_type(msg) == CIPHERTEXT_PREKEY_TYPE) {
		pre_key_signal_message *pm = NULL;
		if (pre_key_signal_message_deserialize(&pm, signal_buffer_data(ser),
		    signal_buffer_len(ser), g) < 0 ||
		    session_cipher_decrypt_pre_key_signal_message(c, pm, NULL,
		    &pt) < 0)
			die("bare decrypt");
		SIGNAL_UNREF(pm);
	} else {
		signal_message *sm = NULL;
		if (signal_message_deserialize(&sm, signal_buffer_data(ser),
		    signal_buffer_len(ser), g) < 0 ||
		    session_cipher_decrypt_signal_message(c, sm, NULL, &pt) < 0)
			die("bare decrypt");
		SIGNAL_UNREF(sm);
	}
	signal_buffer_free(pt);
}

/* Bare: ping-pong, each side answering the other's message, so that every
 * message starts a DH ratchet step. Messages (both directions) per second. */
static double
bare_pingpong(double secs)
{
	struct mem a, b;
	mem_init(&a, 1);
	mem_init(&b, 1);
	session_pre_key_bundle *bundle = mem_bundle(&b, 1);
	signal_protocol_address addr_b = { "fi.ncsc", 7, 1 };
	signal_protocol_address addr_a = { "ee.cert", 7, 1 };
	session_builder *sb = NULL;
	session_cipher *ca = NULL, *cb = NULL;
	if (session_builder_create(&sb, a.s, &addr_b, a.g) < 0 ||
	    session_builder_process_pre_key_bundle(sb, bundle) < 0 ||
	    session_cipher_create(&ca, a.s, &addr_b, a.g) < 0 ||
	    session_cipher_create(&cb, b.s, &addr_a, b.g) < 0)
		die("bare session");
	int n = 0;
	double t0 = now_s();
	while (now_s() - t0 < secs) {
		ciphertext_message *msg = NULL;
		if (session_cipher_encrypt(ca, payload, sizeof payload, &msg) < 0)
			die("bare encrypt");
		bare_deliver(cb, msg, b.g);
		SIGNAL_UNREF(msg);
		if (session_cipher_encrypt(cb, payload, sizeof payload, &msg) < 0)
			die("bare encrypt");
		bare_deliver(ca, msg, a.g);
		SIGNAL_UNREF(msg);
		n += 2;
	}
	double rate = n / (now_s() - t0);
	session_cipher_free(ca);
	session_cipher_free(cb);
	session_builder_free(sb);
	SIGNAL_UNREF(bundle);
	mem_free(&a);
	mem_free(&b);
	return rate;
}

/* --- hotline's core --- */

struct side {
	char path[128];
	struct hl_crypto *c;
};

static void
side_new(struct side *s, const char *dir, const char *name, const char *handle,
    uint32_t nprekeys)
{
	struct hl_kdf_params kdf;
	char cause[HL_CAUSE_MAX];
	hl_kdf_params_minimum(&kdf);
	snprintf(s->path, sizeof s->path, "%s/%s.db", dir, name);
	if (hl_crypto_create(s->path, "bench", 5, &kdf, &s->c, cause) != 0 ||
	    hl_identity_create(s->c, handle, nprekeys, cause) != 0)
		die(cause);
}

static void
side_free(struct side *s)
{
	char p[160];
	hl_crypto_close(s->c);
	unlink(s->path);
	snprintf(p, sizeof p, "%s-wal", s->path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", s->path);
	unlink(p);
}

static double
ours_setups(const char *dir, double secs)
{
	struct side a, b;
	struct hl_prekey_pub *pks;
	size_t npks;
	char cause[HL_CAUSE_MAX];
	/* One receiver with many prekeys; each setup is a new sender. */
	side_new(&b, dir, "recv", "fi.ncsc", 1000);
	if (hl_prekeys_public(b.c, &pks, &npks) != 0)
		die("prekeys");
	int n = 0;
	double spent = 0;
	while (spent < secs && (size_t)n < npks) {
		char handle[32], name[32];
		snprintf(handle, sizeof handle, "s%d.cert", n);
		snprintf(name, sizeof name, "send%d", n);
		side_new(&a, dir, name, handle, 1);
		struct hl_bundle bundle;
		struct hl_ciphertext ct;
		uint8_t *pt;
		size_t ptlen;
		hl_identity_public(b.c, &bundle);
		bundle.has_prekey = 1;
		bundle.prekey = pks[n];
		double s0 = now_s();
		if (hl_session_start(a.c, "fi.ncsc", &bundle, cause) != 0 ||
		    hl_session_encrypt(a.c, "fi.ncsc", payload, sizeof payload, &ct,
		    cause) != 0 ||
		    hl_session_decrypt(b.c, handle, ct.type, ct.data, ct.len, &pt,
		    &ptlen, cause) != 0)
			die(cause);
		spent += now_s() - s0;
		hl_plaintext_free(pt, ptlen);
		hl_ciphertext_free(&ct);
		side_free(&a);
		n++;
	}
	free(pks);
	side_free(&b);
	return n / spent;
}

/* batch: messages per transaction on each side (1 = every message commits
 * on its own, as a lone send does; 100 = a fetched batch). */
static double
ours_messages(const char *dir, double secs, int batch, const uint8_t *body,
    size_t body_len)
{
	struct side a, b;
	struct hl_bundle bundle;
	struct hl_prekey_pub *pks;
	size_t npks;
	char cause[HL_CAUSE_MAX];
	side_new(&a, dir, "a", "ee.cert", 1);
	side_new(&b, dir, "b", "fi.ncsc", 1);
	hl_identity_public(b.c, &bundle);
	hl_prekeys_public(b.c, &pks, &npks);
	bundle.has_prekey = 1;
	bundle.prekey = pks[0];
	free(pks);
	if (hl_session_start(a.c, "fi.ncsc", &bundle, cause) != 0)
		die(cause);
	int n = 0;
	double t0 = now_s();
	struct hl_ciphertext *cts = calloc((size_t)batch, sizeof *cts);
	while (now_s() - t0 < secs) {
		if (batch > 1 && hl_crypto_begin(a.c) != 0)
			die("begin");
		for (int i = 0; i < batch; i++)
			if (hl_session_encrypt(a.c, "fi.ncsc", body, body_len,
			    &cts[i], cause) != 0)
				die(cause);
		if (batch > 1 && (hl_crypto_commit(a.c) != 0 || hl_crypto_begin(b.c) != 0))
			die("commit");
		for (int i = 0; i < batch; i++) {
			uint8_t *pt;
			size_t ptlen;
			if (hl_session_decrypt(b.c, "ee.cert", cts[i].type, cts[i].data,
			    cts[i].len, &pt, &ptlen, cause) != 0)
				die(cause);
			hl_plaintext_free(pt, ptlen);
			hl_ciphertext_free(&cts[i]);
		}
		if (batch > 1 && hl_crypto_commit(b.c) != 0)
			die("commit");
		n += batch;
	}
	double rate = n / (now_s() - t0);
	free(cts);
	side_free(&a);
	side_free(&b);
	return rate;
}

/* Ours: ping-pong, each message committed on its own (a reply cannot
 * wait for a batch), every message a DH ratchet step. */
static double
ours_pingpong(const char *dir, double secs)
{
	struct side a, b;
	struct hl_bundle bundle;
	struct hl_prekey_pub *pks;
	size_t npks;
	char cause[HL_CAUSE_MAX];
	side_new(&a, dir, "a", "ee.cert", 1);
	side_new(&b, dir, "b", "fi.ncsc", 1);
	hl_identity_public(b.c, &bundle);
	hl_prekeys_public(b.c, &pks, &npks);
	bundle.has_prekey = 1;
	bundle.prekey = pks[0];
	free(pks);
	if (hl_session_start(a.c, "fi.ncsc", &bundle, cause) != 0)
		die(cause);
	struct side *from[2] = { &a, &b }, *to[2] = { &b, &a };
	const char *peer_of_to[2] = { "ee.cert", "fi.ncsc" };
	const char *peer_of_from[2] = { "fi.ncsc", "ee.cert" };
	int n = 0;
	double t0 = now_s();
	while (now_s() - t0 < secs) {
		int k = n % 2;
		struct hl_ciphertext ct;
		uint8_t *pt;
		size_t ptlen;
		if (hl_session_encrypt(from[k]->c, peer_of_from[k], payload,
		    sizeof payload, &ct, cause) != 0)
			die(cause);
		if (hl_session_decrypt(to[k]->c, peer_of_to[k], ct.type, ct.data,
		    ct.len, &pt, &ptlen, cause) != 0)
			die(cause);
		hl_plaintext_free(pt, ptlen);
		hl_ciphertext_free(&ct);
		n++;
	}
	double rate = n / (now_s() - t0);
	side_free(&a);
	side_free(&b);
	return rate;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	char dir[] = "/tmp/hl-bench.XXXXXX";
	if (secs <= 0 || secs > 60 || mkdtemp(dir) == NULL) {
		fprintf(stderr, "usage: bench_crypto [SECONDS_PER_ROW (0..60]]\n");
		return 2;
	}
	double bs = bare_setups(secs), os = ours_setups(dir, secs);
	memset(payload_4k, 'r', sizeof payload_4k);
	double bm = bare_messages(secs, payload, sizeof payload);
	double o1 = ours_messages(dir, secs, 1, payload, sizeof payload);
	double o100 = ours_messages(dir, secs, 100, payload, sizeof payload);
	double bm4 = bare_messages(secs, payload_4k, sizeof payload_4k);
	double o4 = ours_messages(dir, secs, 100, payload_4k, sizeof payload_4k);
	double bp = bare_pingpong(secs), op = ours_pingpong(dir, secs);
	rmdir(dir);
	printf("crypto core, %.0f s per row, one process\n\n", secs);
	printf("%-52s %12s %12s %7s\n", "measure", "hotline/s", "ceiling/s", "ratio");
	printf("%-52s %12.0f %12.0f %6.0f%%\n",
	    "session setups (X3DH, first message both sides)", os, bs, 100 * os / bs);
	printf("%-52s %12.0f %12.0f %6.0f%%\n",
	    "messages one way, each its own commit (fsync)", o1, bm, 100 * o1 / bm);
	printf("%-52s %12.0f %12.0f %6.0f%%\n",
	    "messages one way, 100 per transaction", o100, bm, 100 * o100 / bm);
	printf("%-52s %12.0f %12.0f %6.0f%%\n",
	    "4 KiB messages one way, 100 per transaction", o4, bm4, 100 * o4 / bm4);
	printf("%-52s %12.0f %12.0f %6.0f%%\n",
	    "ping-pong, each its own commit (DH ratchet each)", op, bp,
	    100 * op / bp);
	/* The 256-byte one-way figure is the batched one: 100 received
	 * messages decrypted and stored in one transaction. */
	bench_key("crypto_oneway_256_per_s", o100);
	bench_key("bare_oneway_256_per_s", bm);
	bench_key("crypto_vs_bare_oneway", o100 / bm);
	bench_key("crypto_oneway_4k_per_s", o4);
	bench_key("bare_oneway_4k_per_s", bm4);
	bench_key("crypto_vs_bare_oneway_4k", o4 / bm4);
	bench_key("crypto_vs_bare_pingpong", op / bp);
	printf("\nceiling: libsignal-protocol-c with in-memory stores and the same "
	    "OpenSSL provider\nhotline: sealed SQLite stores (WAL, synchronous=FULL), "
	    "savepoints, trust checks\n");
	return 0;
}
