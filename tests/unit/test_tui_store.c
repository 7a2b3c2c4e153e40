/* The store queries the terminal interface pages with: a page of a
 * conversation before a given row, and the contacts with their counts,
 * both without reading the whole history. */
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
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"

#define PASS "tui store test passphrase"

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
	snprintf(f->dir, sizeof f->dir, "/tmp/hl-tuistore.XXXXXX");
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

static void
put(struct hl_crypto *c, enum hl_dir dir, const char *peer, enum hl_kind kind,
    enum hl_state st, int needs_ack, int64_t created, int64_t *seq)
{
	struct hl_msg m;
	char body[32];
	memset(&m, 0, sizeof m);
	assert_int_equal(hl_content_new_id(m.content.id), 0);
	memcpy(m.id, m.content.id, sizeof m.id);
	m.content.v = 1;
	m.content.kind = kind;
	snprintf(m.content.from, sizeof m.content.from, "%s",
	    dir == HL_OUT ? "ee.cert" : peer);
	m.content.sent = created;
	m.content.prio = needs_ack ? HL_PRIO_URGENT : HL_PRIO_ROUTINE;
	if (kind == HL_KIND_RECEIPT)
		memcpy(m.content.ref, m.content.id, sizeof m.content.ref);
	assert_int_equal(hl_store_next_seq(c, peer, seq), 0);
	m.content.seq = *seq;
	snprintf(body, sizeof body, "n%lld", (long long)created);
	m.content.body = strdup(body);
	m.dir = dir;
	snprintf(m.peer, sizeof m.peer, "%s", peer);
	m.state = st;
	m.created_ms = created;
	assert_int_equal(hl_store_msg_insert(c, &m), 0);
	hl_msg_clear(&m);
}

struct page {
	int64_t rows[64];
	char bodies[64][32];
	size_t n;
};

static int
collect(struct hl_msg *m, void *arg)
{
	struct page *p = arg;
	p->rows[p->n] = m->rowid;
	snprintf(p->bodies[p->n], sizeof p->bodies[0], "%s", m->content.body);
	p->n++;
	return 0;
}

static void
test_pages(void **state)
{
	struct fixture *f = *state;
	int64_t seq;
	for (int i = 1; i <= 30; i++) {
		put(f->c, i % 2 ? HL_IN : HL_OUT, "fi.ncsc", HL_KIND_TEXT,
		    i % 2 ? HL_ST_NEW : HL_ST_SENT, 0, 1000 * i, &seq);
		put(f->c, HL_IN, "de.bsi", HL_KIND_TEXT, HL_ST_READ, 0, 1000 * i + 1,
		    &seq);
		if (i % 10 == 0)
			put(f->c, HL_IN, "fi.ncsc", HL_KIND_RECEIPT, HL_ST_NEW, 0,
			    1000 * i + 2, &seq);
	}
	/* The newest page: 10 of fi.ncsc's, receipts left out, newest first. */
	struct page p;
	memset(&p, 0, sizeof p);
	struct hl_msg_query q = { .dir = -1, .state = -1, .peer = "fi.ncsc",
	    .exclude_receipts = 1, .before_rowid = INT64_MAX, .limit = 10 };
	assert_int_equal(hl_store_msg_each(f->c, &q, collect, &p), 0);
	assert_int_equal(p.n, 10);
	assert_string_equal(p.bodies[0], "n30000");
	assert_string_equal(p.bodies[9], "n21000");
	for (size_t i = 1; i < p.n; i++)
		assert_true(p.rows[i] < p.rows[i - 1]);
	/* The page before it continues exactly where it stopped. */
	q.before_rowid = p.rows[9];
	memset(&p, 0, sizeof p);
	assert_int_equal(hl_store_msg_each(f->c, &q, collect, &p), 0);
	assert_int_equal(p.n, 10);
	assert_string_equal(p.bodies[0], "n20000");
	/* The last page is short. */
	q.before_rowid = p.rows[9];
	q.limit = 64;
	memset(&p, 0, sizeof p);
	assert_int_equal(hl_store_msg_each(f->c, &q, collect, &p), 0);
	assert_int_equal(p.n, 10);
	assert_string_equal(p.bodies[9], "n1000");
}

struct convs {
	struct hl_conv_summary s[8];
	size_t n;
};

static int
conv_collect(const struct hl_conv_summary *s, void *arg)
{
	struct convs *c = arg;
	c->s[c->n++] = *s;
	return 0;
}

static const struct hl_conv_summary *
conv_of(const struct convs *c, const char *peer)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->s[i].peer, peer) == 0)
			return &c->s[i];
	return NULL;
}

static void
test_conversations(void **state)
{
	struct fixture *f = *state;
	int64_t seq;
	put(f->c, HL_IN, "fi.ncsc", HL_KIND_TEXT, HL_ST_NEW, 0, 1000, &seq);
	put(f->c, HL_IN, "fi.ncsc", HL_KIND_TEXT, HL_ST_NEW, 1, 2000, &seq);
	put(f->c, HL_IN, "fi.ncsc", HL_KIND_CHECK, HL_ST_READ, 1, 3000, &seq);
	put(f->c, HL_IN, "fi.ncsc", HL_KIND_TEXT, HL_ST_ACKNOWLEDGED, 1, 4000, &seq);
	put(f->c, HL_IN, "fi.ncsc", HL_KIND_RECEIPT, HL_ST_NEW, 0, 5000, &seq);
	put(f->c, HL_OUT, "de.bsi", HL_KIND_TEXT, HL_ST_OVERDUE, 0, 6000, &seq);
	put(f->c, HL_OUT, "de.bsi", HL_KIND_TEXT, HL_ST_SENT, 0, 7000, &seq);
	struct convs c;
	memset(&c, 0, sizeof c);
	assert_int_equal(hl_store_conversations(f->c, conv_collect, &c), 0);
	assert_int_equal(c.n, 2);
	const struct hl_conv_summary *fi = conv_of(&c, "fi.ncsc");
	const struct hl_conv_summary *de = conv_of(&c, "de.bsi");
	assert_non_null(fi);
	assert_non_null(de);
	assert_int_equal(fi->unread, 2);
	assert_int_equal(fi->awaiting, 2);   /* the urgent one and the check */
	assert_int_equal(fi->overdue, 0);
	assert_int_equal(fi->last_ms, 5000);
	assert_int_equal(de->unread, 0);
	assert_int_equal(de->overdue, 1);
	assert_int_equal(de->last_ms, 7000);
	/* The status line's counts, receipts aside. */
	int64_t n;
	assert_int_equal(hl_store_msg_count_state(f->c, HL_IN, HL_ST_NEW, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(hl_store_msg_count_state(f->c, HL_OUT, HL_ST_OVERDUE,
	    &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(hl_store_msg_count_state(f->c, HL_OUT, HL_ST_QUEUED,
	    &n), 0);
	assert_int_equal(n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conversations, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
