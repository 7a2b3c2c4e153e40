/* Shared pieces of the fault tests: see hl_testfault.h. */
#include "tests/lib/hl_testfault.h"

#include "client/store.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"
#include "crypto/hl_time.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define POLL_MAX 256

static uint64_t rng_state;
static char fast_dirs[4][HL_TEST_DIR];
static int nfast;

int
hl_fault_long(void)
{
	const char *v = getenv("HL_FAULTS_LONG");
	return v != NULL && strcmp(v, "1") == 0;
}

long
hl_fault_param(const char *name, long dflt, long lo, long hi)
{
	const char *v = getenv(name);
	if (v == NULL || *v == '\0')
		return dflt;
	char *end;
	long n = strtol(v, &end, 10);
	return (*end == '\0' && n >= lo && n <= hi) ? n : dflt;
}

void
hl_fault_seed(const char *name)
{
	const char *s = getenv("HL_FAULT_SEED");
	uint64_t seed;
	if (s != NULL && s[0] != '\0') {
		seed = strtoull(s, NULL, 10);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec;
	}
	rng_state = seed != 0 ? seed : 1;
	printf("%s: HL_FAULT_SEED=%llu %s\n", name, (unsigned long long)seed,
	    hl_fault_long() ? "(long run)" : "(short run)");
	fflush(stdout);
}

uint32_t
hl_fault_rand(uint32_t n)
{
	/* xorshift64*: repeatable from the seed, unlike the CSPRNG. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	uint64_t r = rng_state * 2685821657736338717ull;
	return n == 0 ? 0 : (uint32_t)((r >> 32) % n);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* hl_test_rmtree removes only /tmp/hl-test.* folders: ours are named
 * hl-fault.* and checked the same way here. */
static void
remove_fast(void)
{
	for (int i = 0; i < nfast; i++) {
		const char *base = strrchr(fast_dirs[i], '/');
		if (base != NULL && strncmp(base, "/hl-fault.", 10) == 0)
			nftw(fast_dirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	nfast = 0;
}

int
hl_fault_fast_dir(char *out, size_t len)
{
	struct stat st;
	if (nfast == (int)(sizeof fast_dirs / sizeof fast_dirs[0]))
		return -1;
	const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(out, len, "%s/hl-fault.XXXXXX", base);
	if (mkdtemp(out) == NULL)
		return -1;
	if (nfast == 0)
		atexit(remove_fast);
	snprintf(fast_dirs[nfast++], HL_TEST_DIR, "%s", out);
	return 0;
}

int
hl_fault_move_home(struct hl_test_client *c, const char *dir)
{
	static unsigned n;
	char to[HL_TEST_PATH], old[HL_TEST_PATH + 8], cmd[3 * HL_TEST_PATH];
	snprintf(to, sizeof to, "%s/home%u", dir, n++);
	snprintf(old, sizeof old, "%s.old", c->home);
	snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", c->home, to);
	if (system(cmd) != 0 || rename(c->home, old) != 0 ||
	    symlink(to, c->home) != 0) {
		fprintf(stderr, "moving %s to %s failed\n", c->home, to);
		return -1;
	}
	return hl_test_rmtree(old);
}

void
hl_fault_summary(const char *name, long cycles, long accepted, long delivered,
    long lost, long duplicates, const char *extra)
{
	printf("fault: %s cycles=%ld accepted=%ld delivered=%ld lost=%ld "
	    "duplicates=%ld%s%s\n", name, cycles, accepted, delivered, lost,
	    duplicates, extra != NULL ? " " : "", extra != NULL ? extra : "");
	fflush(stdout);
}

static void
on_event(const struct hl_event *ev, void *arg)
{
	struct hl_test_engine *te = arg;
	if (ev->msg == NULL || ev->msg->content.kind != HL_KIND_TEXT)
		return;
	if (ev->kind == HL_EV_STATE && ev->msg->dir == HL_OUT &&
	    ev->msg->state == HL_ST_SENT)
		te->accepted++;
	if (ev->kind != HL_EV_RECEIVED)
		return;
	if (te->nreceived == te->capreceived) {
		size_t cap = te->capreceived ? te->capreceived * 2 : 256;
		void *p = realloc(te->received, cap * sizeof te->received[0]);
		if (p == NULL)
			return;
		te->received = p;
		te->capreceived = cap;
	}
	snprintf(te->received[te->nreceived++], HL_ID_HEX + 1, "%s", ev->msg->id);
}

int
hl_test_engine_open(struct hl_test_engine *te, struct hl_test_client *c)
{
	char pass[256], cause[HL_CAUSE_MAX] = "", db[HL_TEST_PATH + 16];
	te->client = c;
	if (hl_test_read_file(c->passfile, pass, sizeof pass) != 0)
		return -1;
	size_t len = strcspn(pass, "\n");
	snprintf(db, sizeof db, "%s/hotline.db", c->home);
	int rc = hl_crypto_open(db, pass, len, &te->crypto, cause);
	if (rc == 0)
		rc = hl_store_init(te->crypto, cause);
	struct hl_engine_opts o = {
		.crypto = te->crypto, .on_event = on_event, .arg = te,
		.connect_timeout_ms = 10000,
	};
	if (rc == 0)
		rc = hl_engine_new(&o, &te->e, cause);
	if (rc != 0) {
		fprintf(stderr, "engine %s: %s (%s)\n", c->handle, hl_strerror(rc),
		    cause);
		hl_crypto_close(te->crypto);
		te->crypto = NULL;
		return -1;
	}
	te->last_fetch_ms = 0;
	return 0;
}

void
hl_test_engine_close(struct hl_test_engine *te)
{
	if (te->e != NULL)
		hl_engine_free(te->e);
	te->e = NULL;
	hl_crypto_close(te->crypto);
	te->crypto = NULL;
}

void
hl_test_engine_free(struct hl_test_engine *te)
{
	hl_test_engine_close(te);
	free(te->received);
	te->received = NULL;
	te->nreceived = te->capreceived = 0;
}

int
hl_test_engine_send(struct hl_test_engine *te, const char *to,
    const char *body, char id[HL_ID_HEX + 1])
{
	char cause[HL_CAUSE_MAX] = "";
	struct hl_send_req r = {
		.to = to, .kind = HL_KIND_TEXT, .prio = HL_PRIO_ROUTINE, .body = body,
	};
	int rc = hl_engine_queue(te->e, &r, id, cause);
	if (rc != 0) {
		fprintf(stderr, "queue %s -> %s: %s (%s)\n", te->client->handle, to,
		    hl_strerror(rc), cause);
		return -1;
	}
	return 0;
}

void
hl_test_engines_pump(struct hl_test_engine *v, size_t n, int ms, int fetch_ms)
{
	static struct pollfd fds[POLL_MAX];
	int first[64], count[64];
	long long end = hl_test_now_ms() + ms;
	if (n > 64)
		n = 64;
	for (size_t i = 0; i < n; i++)
		if (v[i].e != NULL)
			hl_engine_kick(v[i].e);
	for (;;) {
		long long now = hl_test_now_ms();
		int timeout = (int)(end - now);
		if (timeout <= 0)
			break;
		if (timeout > 50)
			timeout = 50;
		int nfds = 0;
		for (size_t i = 0; i < n; i++) {
			first[i] = nfds;
			count[i] = 0;
			if (v[i].e == NULL)
				continue;
			if (fetch_ms > 0 && now - v[i].last_fetch_ms >= fetch_ms) {
				hl_engine_fetch(v[i].e, 0);
				v[i].last_fetch_ms = now;
			}
			int t = timeout;
			int k = hl_engine_pollfds(v[i].e, fds + nfds, POLL_MAX - nfds, &t);
			if (k > 0) {
				count[i] = k;
				nfds += k;
			}
			if (t >= 0 && t < timeout)
				timeout = t;
		}
		poll(fds, (nfds_t)nfds, timeout < 1 ? 1 : timeout);
		for (size_t i = 0; i < n; i++)
			if (v[i].e != NULL)
				hl_engine_dispatch(v[i].e, fds + first[i], count[i]);
	}
}

void
hl_test_engine_due_now(struct hl_test_engine *te, struct hl_test_engine *v,
    size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (&v[i] != te)
			hl_store_requeue_peer(te->crypto, v[i].client->handle);
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

struct ids {
	char (*id)[HL_ID_HEX + 1];
	size_t n, cap;
};

static int
collect_in(struct hl_msg *m, void *arg)
{
	struct ids *s = arg;
	if (m->content.kind != HL_KIND_TEXT)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		void *p = realloc(s->id, cap * sizeof s->id[0]);
		if (p == NULL)
			return -1;
		s->id = p;
		s->cap = cap;
	}
	snprintf(s->id[s->n++], HL_ID_HEX + 1, "%s", m->id);
	return 0;
}

struct out_walk {
	struct hl_test_engine *v;
	size_t n;
	struct ids *in;      /* per profile, sorted */
	struct hl_fault_tally *t;
};

static int
check_out(struct hl_msg *m, void *arg)
{
	struct out_walk *w = arg;
	if (m->content.kind != HL_KIND_TEXT)
		return 0;
	struct hl_fault_tally *t = w->t;
	t->outbound++;
	if (m->state == HL_ST_QUEUED || m->state == HL_ST_FAILED ||
	    m->state == HL_ST_EXPIRED)
		t->below_sent++;
	else
		t->accepted++;
	if (m->state == HL_ST_DELIVERED || m->state == HL_ST_ACKNOWLEDGED)
		t->delivered++;
	for (size_t i = 0; i < w->n; i++) {
		if (strcmp(w->v[i].client->handle, m->peer) != 0)
			continue;
		if (w->in[i].n == 0 || bsearch(m->id, w->in[i].id, w->in[i].n,
		    sizeof w->in[i].id[0], cmp_id) == NULL)
			t->lost++;
		return 0;
	}
	t->lost++;
	return 0;
}

static long
dups_sorted(char (*id)[HL_ID_HEX + 1], size_t n)
{
	long d = 0;
	for (size_t i = 1; i < n; i++)
		if (strcmp(id[i - 1], id[i]) == 0)
			d++;
	return d;
}

int
hl_fault_tally(struct hl_test_engine *v, size_t n, struct hl_fault_tally *t)
{
	memset(t, 0, sizeof *t);
	struct ids *in = calloc(n, sizeof *in);
	if (in == NULL)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct hl_msg_query q = { .dir = HL_IN, .state = -1,
		    .exclude_receipts = 1 };
		rc = hl_store_msg_each(v[i].crypto, &q, collect_in, &in[i]);
		if (in[i].n > 0)
			qsort(in[i].id, in[i].n, sizeof in[i].id[0], cmp_id);
		t->duplicates += dups_sorted(in[i].id, in[i].n);
		if (v[i].nreceived > 0)
			qsort(v[i].received, v[i].nreceived, sizeof v[i].received[0],
			    cmp_id);
		t->duplicates += dups_sorted(v[i].received, v[i].nreceived);
	}
	struct out_walk w = { v, n, in, t };
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct hl_msg_query q = { .dir = HL_OUT, .state = -1,
		    .exclude_receipts = 1 };
		rc = hl_store_msg_each(v[i].crypto, &q, check_out, &w);
	}
	for (size_t i = 0; i < n; i++)
		free(in[i].id);
	free(in);
	return rc == 0 ? 0 : -1;
}

int
hl_fault_drain(struct hl_test_engine *v, size_t n, long long deadline_ms)
{
	long long next_due = 0, next_tally = 0, t0 = hl_test_now_ms();
	while (hl_test_now_ms() < deadline_ms) {
		if (hl_test_now_ms() >= next_due) {
			for (size_t i = 0; i < n; i++)
				hl_test_engine_due_now(&v[i], v, n);
			next_due = hl_test_now_ms() + 5000;
		}
		hl_test_engines_pump(v, n, 1000, 300);
		/* A tally opens every message: not every second of a long run. */
		if (hl_test_now_ms() < next_tally)
			continue;
		struct hl_fault_tally t;
		if (hl_fault_tally(v, n, &t) == 0 && t.delivered == t.outbound)
			return 0;
		next_tally = hl_test_now_ms() + (t.outbound > 2000 ? 10000 : 1000);
		if (t.outbound > 2000)
			fprintf(stderr, "drain: %ld of %ld delivered, %ld queued, "
			    "%lld s\n", t.delivered, t.outbound, t.below_sent,
			    (hl_test_now_ms() - t0) / 1000);
	}
	return -1;
}
