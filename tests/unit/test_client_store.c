/* The client's sealed tables: messages and their transitions, sequence
 * gaps, the outbox order, held items, and nothing readable on disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/store.h"
#include "client/tlv.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"

#define PASS "store test passphrase"

struct fixture {
	char dir[64];
	char path[128];
	struct hl_crypto *c;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct hl_kdf_params kdf;
	char cause[HL_CAUSE_MAX];
	hl_kdf_params_minimum(&kdf);
	snprintf(f->dir, sizeof f->dir, "/tmp/hl-store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/c.db", f->dir);
	assert_int_equal(hl_crypto_create(f->path, PASS, strlen(PASS), &kdf, &f->c,
	    cause), 0);
	assert_int_equal(hl_store_init(f->c, cause), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];
	hl_crypto_close(f->c);
	unlink(f->path);
	snprintf(p, sizeof p, "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A stored outbound or inbound text message. */
static void
make_msg(struct hl_msg *m, enum hl_dir dir, const char *peer, const char *body,
    int64_t seq, int64_t created)
{
	memset(m, 0, sizeof *m);
	assert_int_equal(hl_content_new_id(m->content.id), 0);
	memcpy(m->id, m->content.id, sizeof m->id);
	m->content.v = 1;
	m->content.kind = HL_KIND_TEXT;
	snprintf(m->content.from, sizeof m->content.from, "%s",
	    dir == HL_OUT ? "ee.cert" : peer);
	m->content.sent = created;
	m->content.prio = HL_PRIO_URGENT;
	m->content.seq = seq;
	m->content.body = strdup(body);
	m->dir = dir;
	snprintf(m->peer, sizeof m->peer, "%s", peer);
	m->state = dir == HL_OUT ? HL_ST_QUEUED : HL_ST_NEW;
	m->created_ms = created;
}

static void
test_tlv(void **state)
{
	(void)state;
	struct hl_tlv_buf b = { 0 };
	char s[16];
	int64_t v;
	const uint8_t *p;
	size_t n;
	hl_tlv_put_str(&b, 1, "fi.ncsc");
	hl_tlv_put_i64(&b, 2, -5);
	hl_tlv_put(&b, 3, "", 0);
	assert_false(b.failed);
	assert_int_equal(hl_tlv_get_str(b.data, b.len, 1, s, sizeof s), 0);
	assert_string_equal(s, "fi.ncsc");
	assert_int_equal(hl_tlv_get_i64(b.data, b.len, 2, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(hl_tlv_get(b.data, b.len, 3, &p, &n), 1);
	assert_int_equal(n, 0);
	assert_int_equal(hl_tlv_get(b.data, b.len, 9, &p, &n), 0);
	/* Too small a destination, a truncated record, a wrong-size integer. */
	assert_int_equal(hl_tlv_get_str(b.data, b.len, 1, s, 7), -1);
	assert_int_equal(hl_tlv_get(b.data, b.len - 1, 9, &p, &n), -1);
	assert_int_equal(hl_tlv_get_i64(b.data, b.len, 1, &v), -1);
	uint8_t bad[] = { 1, 0xff, 0xff, 0xff, 0xff, 'x' };
	assert_int_equal(hl_tlv_get(bad, sizeof bad, 1, &p, &n), -1);
	hl_tlv_buf_free(&b);
	assert_null(b.data);
}

static void
test_message_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct hl_msg m, got;
	make_msg(&m, HL_OUT, "fi.ncsc", "Phishing wave", 1, 1000);
	m.content.ack_by = 5000;
	assert_int_equal(hl_store_msg_insert(f->c, &m), 0);
	assert_true(m.rowid > 0);
	/* The same (direction, peer, id) twice is refused. */
	struct hl_msg dup;
	make_msg(&dup, HL_OUT, "fi.ncsc", "again", 2, 1000);
	memcpy(dup.id, m.id, sizeof dup.id);
	memcpy(dup.content.id, m.id, sizeof dup.id);
	assert_int_equal(hl_store_msg_insert(f->c, &dup), HL_EEXIST);
	hl_msg_clear(&dup);

	m.ct_type = HL_MSG_PREKEY;
	m.ct = malloc(3);
	memcpy(m.ct, "abc", 3);
	m.ct_len = 3;
	assert_int_equal(hl_store_msg_update(f->c, &m), 0);
	assert_int_equal(hl_store_msg_transition(f->c, &m, HL_ST_SENT, 2000), 0);
	assert_int_equal(hl_store_msg_transition(f->c, &m, HL_ST_DELIVERED, 3000), 0);
	assert_int_equal(hl_store_msg_event(f->c, &m, HL_ST_DELIVERED, 9999), 0);
	m.ack_response = HL_RESP_WILL_COMPLY;
	m.ack_note = strdup("on it");
	assert_int_equal(hl_store_msg_transition(f->c, &m, HL_ST_ACKNOWLEDGED, 4000),
	    0);

	assert_int_equal(hl_store_msg_get(f->c, HL_OUT, "fi.ncsc", m.id, &got), 1);
	assert_int_equal(got.state, HL_ST_ACKNOWLEDGED);
	assert_int_equal(got.at[HL_ST_QUEUED], 1000);
	assert_int_equal(got.at[HL_ST_SENT], 2000);
	assert_int_equal(got.at[HL_ST_DELIVERED], 3000);   /* the first time kept */
	assert_int_equal(got.at[HL_ST_ACKNOWLEDGED], 4000);
	assert_int_equal(got.ct_len, 3);
	assert_memory_equal(got.ct, "abc", 3);
	assert_int_equal(got.ack_response, HL_RESP_WILL_COMPLY);
	assert_string_equal(got.ack_note, "on it");
	assert_string_equal(got.content.body, "Phishing wave");
	assert_int_equal(got.content.ack_by, 5000);
	hl_msg_clear(&got);
	/* Another peer or direction does not find it. */
	assert_int_equal(hl_store_msg_get(f->c, HL_OUT, "lv.cert", m.id, &got), 0);
	assert_int_equal(hl_store_msg_get(f->c, HL_IN, "fi.ncsc", m.id, &got), 0);
	hl_msg_clear(&m);
}

static void
test_find(void **state)
{
	struct fixture *f = *state;
	struct hl_msg a, b, got;
	char cause[HL_CAUSE_MAX];
	make_msg(&a, HL_IN, "fi.ncsc", "first", 1, 1000);
	make_msg(&b, HL_IN, "lv.cert", "second", 1, 2000);
	/* Two ids sharing a prefix. */
	memcpy(a.id, "abcd0000000000000000000000000001", 33);
	memcpy(a.content.id, a.id, 33);
	memcpy(b.id, "abcd0000000000000000000000000002", 33);
	memcpy(b.content.id, b.id, 33);
	assert_int_equal(hl_store_msg_insert(f->c, &a), 0);
	assert_int_equal(hl_store_msg_insert(f->c, &b), 0);
	assert_int_equal(hl_store_msg_find(f->c, "abcd", &got, cause), HL_EEXIST);
	assert_non_null(strstr(cause, "more than one"));
	assert_int_equal(hl_store_msg_find(f->c, "abcd0000000000000000000000000001",
	    &got, cause), 0);
	assert_string_equal(got.content.body, "first");
	hl_msg_clear(&got);
	assert_int_equal(hl_store_msg_find(f->c, "last", &got, cause), 0);
	assert_string_equal(got.content.body, "second");
	hl_msg_clear(&got);
	assert_int_equal(hl_store_msg_find(f->c, "ffff", &got, cause), HL_ENOTFOUND);
	assert_int_equal(hl_store_msg_find(f->c, "abc", &got, cause), HL_EUSAGE);
	assert_int_equal(hl_store_msg_find(f->c, "ABCD", &got, cause), HL_EUSAGE);
	assert_int_equal(hl_store_msg_find(f->c, "abcd'--", &got, cause), HL_EUSAGE);
	hl_msg_clear(&a);
	hl_msg_clear(&b);
}

static int
collect_head(const char *peer, const char *id, int64_t next_try, void *arg)
{
	char (*heads)[80] = arg;
	for (int i = 0; i < 4; i++)
		if (heads[i][0] == '\0') {
			snprintf(heads[i], sizeof heads[i], "%s %.4s %lld", peer, id,
			    (long long)next_try);
			break;
		}
	return 0;
}

/* Each contact's oldest queued message heads the line, even when a younger
 * one would be due sooner: contacts see our messages in order. */
static void
test_outbox_heads(void **state)
{
	struct fixture *f = *state;
	struct hl_msg m[4];
	const char *peers[4] = { "fi.ncsc", "lv.cert", "fi.ncsc", "lv.cert" };
	int64_t seq;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(hl_store_next_seq(f->c, peers[i], &seq), 0);
		make_msg(&m[i], HL_OUT, peers[i], "x", seq, 1000 + i);
		snprintf(m[i].id, sizeof m[i].id, "%04d0000000000000000000000000000", i);
		memcpy(m[i].content.id, m[i].id, sizeof m[i].id);
		m[i].next_try_ms = i == 0 ? 9000 : 0;
		assert_int_equal(hl_store_msg_insert(f->c, &m[i]), 0);
	}
	assert_int_equal(m[2].content.seq, 2);
	char heads[4][80];
	memset(heads, 0, sizeof heads);
	assert_int_equal(hl_store_outbox_heads(f->c, collect_head, heads), 0);
	assert_string_equal(heads[0], "fi.ncsc 0000 9000");
	assert_string_equal(heads[1], "lv.cert 0001 0");
	assert_string_equal(heads[2], "");

	int64_t next_try, next_ack;
	assert_int_equal(hl_store_next_due(f->c, &next_try, &next_ack), 0);
	assert_int_equal(next_try, 0);
	assert_int_equal(next_ack, 0);
	assert_int_equal(hl_store_msg_transition(f->c, &m[0], HL_ST_SENT, 5000), 0);
	memset(heads, 0, sizeof heads);
	assert_int_equal(hl_store_outbox_heads(f->c, collect_head, heads), 0);
	assert_string_equal(heads[0], "lv.cert 0001 0");
	assert_string_equal(heads[1], "fi.ncsc 0002 0");
	for (int i = 0; i < 4; i++)
		hl_msg_clear(&m[i]);
}

static void
test_sequence_gaps(void **state)
{
	struct fixture *f = *state;
	struct hl_gap *gaps;
	size_t n;
	int closed;
	int64_t opened;
	assert_int_equal(hl_store_observe_seq(f->c, "fi.ncsc", 1, 10, &closed,
	    &opened), 0);
	assert_int_equal(opened, 0);
	assert_int_equal(hl_store_observe_seq(f->c, "fi.ncsc", 4, 20, &closed,
	    &opened), 0);
	assert_int_equal(opened, 2);
	assert_int_equal(hl_store_gaps(f->c, &gaps, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(gaps[0].peer, "fi.ncsc");
	assert_int_equal(gaps[0].seq, 2);
	assert_int_equal(gaps[1].seq, 3);
	assert_int_equal(gaps[0].since_ms, 20);
	free(gaps);
	/* The late message 3 closes its gap; a replay of 1 closes nothing. */
	assert_int_equal(hl_store_observe_seq(f->c, "fi.ncsc", 3, 30, &closed,
	    &opened), 0);
	assert_true(closed);
	assert_int_equal(hl_store_observe_seq(f->c, "fi.ncsc", 1, 30, &closed,
	    &opened), 0);
	assert_false(closed);
	assert_int_equal(hl_store_gaps(f->c, &gaps, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(gaps[0].seq, 2);
	free(gaps);
	/* A forged huge jump opens a bounded number of gaps. */
	assert_int_equal(hl_store_observe_seq(f->c, "lv.cert", 1000000, 40, &closed,
	    &opened), 0);
	assert_int_equal(opened, 1000);
	assert_int_equal(hl_store_gaps(f->c, &gaps, &n), 0);
	assert_int_equal(n, 1001);
	free(gaps);
	/* Jumping again and again adds no more: the total per contact is
	 * bounded. */
	for (int i = 2; i <= 5; i++) {
		assert_int_equal(hl_store_observe_seq(f->c, "lv.cert", 1000000LL * i,
		    50, &closed, &opened), 0);
		assert_int_equal(opened, 0);
	}
	assert_int_equal(hl_store_gaps(f->c, &gaps, &n), 0);
	assert_int_equal(n, 1001);
	free(gaps);
}

/* Accepting a contact's new identity: what is still queued to it is
 * numbered 1, 2, ... in queue order, the next number follows them, and
 * the old identity's inbound count and gaps are gone; other contacts keep
 * theirs. */
static void
test_new_identity_sequence(void **state)
{
	struct fixture *f = *state;
	struct hl_msg m[3], got;
	struct hl_gap *gaps;
	size_t n;
	int closed;
	int64_t opened, seq;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(hl_store_next_seq(f->c, "fi.ncsc", &seq), 0);
		make_msg(&m[i], HL_OUT, "fi.ncsc", "x", seq, 1000 + i);
		assert_int_equal(hl_store_msg_insert(f->c, &m[i]), 0);
	}
	/* The first went to the old identity; 2 and 3 still wait. */
	assert_int_equal(hl_store_msg_transition(f->c, &m[0], HL_ST_SENT, 2000), 0);
	assert_int_equal(hl_store_next_seq(f->c, "lv.cert", &seq), 0);
	assert_int_equal(hl_store_observe_seq(f->c, "fi.ncsc", 5, 10, &closed,
	    &opened), 0);
	assert_int_equal(opened, 4);
	assert_int_equal(hl_store_observe_seq(f->c, "lv.cert", 3, 10, &closed,
	    &opened), 0);
	assert_int_equal(opened, 2);

	assert_int_equal(hl_store_reencrypt_queued(f->c, "fi.ncsc"), 0);
	for (int i = 1; i < 3; i++) {
		assert_int_equal(hl_store_msg_get(f->c, HL_OUT, "fi.ncsc", m[i].id,
		    &got), 1);
		assert_int_equal(got.content.seq, i);
		assert_int_equal(got.state, HL_ST_QUEUED);
		hl_msg_clear(&got);
	}
	assert_int_equal(hl_store_msg_get(f->c, HL_OUT, "fi.ncsc", m[0].id, &got), 1);
	assert_int_equal(got.content.seq, 1);
	hl_msg_clear(&got);
	assert_int_equal(hl_store_next_seq(f->c, "fi.ncsc", &seq), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(hl_store_next_seq(f->c, "lv.cert", &seq), 0);
	assert_int_equal(seq, 2);

	/* Only lv.cert's gaps are left; fi.ncsc's new 1 is no late arrival
	 * and its 3 after it opens a gap for 2. */
	assert_int_equal(hl_store_gaps(f->c, &gaps, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(gaps[0].peer, "lv.cert");
	assert_string_equal(gaps[1].peer, "lv.cert");
	free(gaps);
	assert_int_equal(hl_store_observe_seq(f->c, "fi.ncsc", 1, 20, &closed,
	    &opened), 0);
	assert_false(closed);
	assert_int_equal(opened, 0);
	assert_int_equal(hl_store_observe_seq(f->c, "fi.ncsc", 3, 30, &closed,
	    &opened), 0);
	assert_int_equal(opened, 1);
	assert_int_equal(hl_store_gaps(f->c, &gaps, &n), 0);
	assert_int_equal(n, 3);
	size_t fi_gaps = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(gaps[i].peer, "fi.ncsc") == 0) {
			fi_gaps++;
			assert_int_equal(gaps[i].seq, 2);
		}
	assert_int_equal(fi_gaps, 1);
	free(gaps);
	for (int i = 0; i < 3; i++)
		hl_msg_clear(&m[i]);
}

static void
test_held_and_account(void **state)
{
	struct fixture *f = *state;
	struct hl_held h, *list;
	size_t n;
	memset(&h, 0, sizeof h);
	snprintf(h.qid, sizeof h.qid, "17");
	snprintf(h.from, sizeof h.from, "fi.ncsc");
	snprintf(h.id, sizeof h.id, "%032d", 5);
	h.type = HL_MSG_PREKEY;
	h.ct = (uint8_t *)"ciphertext";
	h.ct_len = 10;
	h.received_ms = 77;
	snprintf(h.reason, sizeof h.reason, "identity key changed");
	assert_int_equal(hl_store_held_put(f->c, &h), 0);
	assert_int_equal(hl_store_held_list(f->c, "fi.ncsc", &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].reason, "identity key changed");
	assert_int_equal(list[0].ct_len, 10);
	assert_memory_equal(list[0].ct, "ciphertext", 10);
	assert_null(list[0].pt);
	hl_held_free(list, n);
	/* One that decrypted but could not be taken keeps its plaintext. */
	struct hl_held d = h;
	snprintf(d.qid, sizeof d.qid, "18");
	d.ct = NULL;
	d.ct_len = 0;
	d.pt = (uint8_t *)"{\"v\":2,\"body\":\"from the future\"}";
	d.pt_len = strlen((const char *)d.pt);
	snprintf(d.reason, sizeof d.reason, "unreadable content");
	assert_int_equal(hl_store_held_put(f->c, &d), 0);
	assert_int_equal(hl_store_held_list(f->c, "fi.ncsc", &list, &n), 0);
	assert_int_equal(n, 2);
	assert_null(list[1].ct);
	assert_int_equal(list[1].pt_len, d.pt_len);
	assert_memory_equal(list[1].pt, d.pt, d.pt_len);
	hl_held_free(list, n);
	assert_int_equal(hl_store_held_del(f->c, "18"), 0);
	assert_int_equal(hl_store_held_list(f->c, "lv.cert", &list, &n), 0);
	assert_int_equal(n, 0);
	hl_held_free(list, n);
	assert_int_equal(hl_store_held_del(f->c, "17"), 0);
	assert_int_equal(hl_store_held_list(f->c, NULL, &list, &n), 0);
	assert_int_equal(n, 0);
	hl_held_free(list, n);

	struct hl_account a, b;
	memset(&a, 0, sizeof a);
	assert_int_equal(hl_store_account_get(f->c, &b), 0);
	snprintf(a.relay, sizeof a.relay, "https://relay.example:8443");
	snprintf(a.handle, sizeof a.handle, "ee.cert");
	memset(a.token, 'a', HL_TOKEN_HEX);
	a.registered_ms = 123;
	assert_int_equal(hl_store_account_put(f->c, &a), 0);
	assert_int_equal(hl_store_account_get(f->c, &b), 1);
	assert_string_equal(b.token, a.token);
	assert_int_equal(b.registered_ms, 123);
}

static int
file_has(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return 0;
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, fp);
	fclose(fp);
	size_t len = strlen(needle);
	for (size_t i = 0; i + len <= n; i++)
		if (memcmp(buf + i, needle, len) == 0)
			return 1;
	return 0;
}

/* Handles, bodies, notes, tokens and profiles never reach the file. */
static void
test_nothing_in_clear(void **state)
{
	struct fixture *f = *state;
	struct hl_msg m;
	struct hl_contact ct;
	struct hl_account a;
	make_msg(&m, HL_IN, "zz.secret-desk", "TLP:RED body 4711", 1, 1000);
	m.ack_note = strdup("note 0815");
	assert_int_equal(hl_store_msg_insert(f->c, &m), 0);
	hl_msg_clear(&m);
	memset(&ct, 0, sizeof ct);
	snprintf(ct.entry.handle, sizeof ct.entry.handle, "zz.secret-desk");
	snprintf(ct.entry.profile.name, sizeof ct.entry.profile.name, "Hidden Name");
	ct.entry.identity_key[0] = 5;
	assert_int_equal(hl_store_contact_put(f->c, &ct), 0);
	memset(&a, 0, sizeof a);
	snprintf(a.handle, sizeof a.handle, "ee.cert");
	snprintf(a.token, sizeof a.token, "feedfacefeedface0123");
	assert_int_equal(hl_store_account_put(f->c, &a), 0);
	int64_t seq;
	assert_int_equal(hl_store_next_seq(f->c, "zz.secret-desk", &seq), 0);

	char wal[160];
	snprintf(wal, sizeof wal, "%s-wal", f->path);
	const char *needles[] = { "zz.secret-desk", "TLP:RED", "note 0815",
	    "Hidden Name", "feedfacefeedface" };
	for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++) {
		assert_false(file_has(f->path, needles[i]));
		assert_false(file_has(wal, needles[i]));
	}
	/* The search finds what is there. */
	assert_true(file_has(wal, "client_meta") || file_has(f->path, "client_meta"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tlv),
		cmocka_unit_test_setup_teardown(test_message_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_heads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequence_gaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_identity_sequence, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_held_and_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_in_clear, setup, teardown),
	};
	return cmocka_run_group_tests_name("client_store", tests, NULL, NULL);
}
