/* The connection guard: address prefixes (an IPv6 /64 is one client, an
 * IPv4 address mapped into IPv6 is that IPv4 address), the per-prefix and
 * pending limits at accept and at open, and header_timeout enforced by
 * shutting sockets down, measured from the accept or from the end of the
 * previous request; body_timeout from the head; watched sockets whose
 * client left. Sockets are socketpairs: a shut down one reads as
 * closed from the other end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/hl_time.h"
#include "relay/guard.h"

static struct sockaddr_storage
addr(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
	}
	return ss;
}

static uint64_t
key_of(const char *text, unsigned v4, unsigned v6, const uint8_t *k)
{
	struct sockaddr_storage ss = addr(text);
	return hl_guard_prefix_key((struct sockaddr *)&ss, v4, v6, k);
}

static void
test_prefix_key(void **state)
{
	(void)state;
	assert_true(sodium_init() >= 0);
	uint8_t k[HL_GUARD_KEY_BYTES], k2[HL_GUARD_KEY_BYTES];
	randombytes_buf(k, sizeof k);
	randombytes_buf(k2, sizeof k2);
	/* One /64: one client, whatever its interface identifiers. */
	assert_true(key_of("2001:db8:1:2::1", 32, 64, k) ==
	    key_of("2001:db8:1:2:ffff:1234:5678:9abc", 32, 64, k));
	assert_true(key_of("2001:db8:1:2::1", 32, 64, k) !=
	    key_of("2001:db8:1:3::1", 32, 64, k));
	assert_true(key_of("2001:db8:1:2::1", 32, 128, k) !=
	    key_of("2001:db8:1:2::2", 32, 128, k));
	assert_true(key_of("2001:db8:1:2::1", 32, 48, k) ==
	    key_of("2001:db8:1:3::1", 32, 48, k));
	/* Prefixes that end inside a byte. */
	assert_true(key_of("2001:db8:1:2::1", 32, 63, k) ==
	    key_of("2001:db8:1:3::1", 32, 63, k));
	assert_true(key_of("2001:db8:1:2::1", 32, 63, k) !=
	    key_of("2001:db8:1:4::1", 32, 63, k));
	/* IPv4: each address by default, a /24 when asked. */
	assert_true(key_of("192.0.2.1", 32, 64, k) !=
	    key_of("192.0.2.2", 32, 64, k));
	assert_true(key_of("192.0.2.1", 24, 64, k) ==
	    key_of("192.0.2.200", 24, 64, k));
	assert_true(key_of("192.0.2.1", 24, 64, k) !=
	    key_of("192.0.3.1", 24, 64, k));
	/* An IPv4 address seen through IPv6 is that IPv4 address. */
	assert_true(key_of("::ffff:192.0.2.1", 32, 64, k) ==
	    key_of("192.0.2.1", 32, 64, k));
	assert_true(key_of("::ffff:192.0.2.1", 32, 64, k) !=
	    key_of("::ffff:192.0.2.2", 32, 64, k));
	/* Families do not meet, and the key keeps hashes unguessable. */
	assert_true(key_of("0.0.0.0", 8, 16, k) != key_of("::", 8, 16, k));
	assert_true(key_of("192.0.2.1", 32, 64, k) !=
	    key_of("192.0.2.1", 32, 64, k2));
	assert_true(hl_guard_prefix_key(NULL, 32, 64, k) ==
	    hl_guard_prefix_key(NULL, 32, 64, k));
}

struct pair {
	int ours, theirs;
};

static struct pair
pair_new(void)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct pair p = { sv[0], sv[1] };
	return p;
}

/* Was our end shut down? The other end then reads the end of the
 * stream. */
static int
shut_down(const struct pair *p)
{
	struct pollfd pfd = { p->theirs, POLLIN, 0 };
	if (poll(&pfd, 1, 0) != 1)
		return 0;
	char c;
	return recv(p->theirs, &c, 1, MSG_DONTWAIT) == 0;
}

static void
pair_close(struct pair *p)
{
	close(p->ours);
	close(p->theirs);
}

/* Far ahead of the monotonic clock, so that the guard's own thread, on
 * the real clock, never finds these connections overdue. */
static int64_t
base_ms(void)
{
	return hl_mono_ms() + 100LL * 86400000;
}

static struct hl_guard *
guard_new(unsigned per_prefix, unsigned pending)
{
	struct hl_guard_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.max_per_prefix = per_prefix;
	cfg.max_pending = pending;
	cfg.ipv4_prefix = 32;
	cfg.ipv6_prefix = 64;
	cfg.header_timeout_ms = 1000;
	cfg.max_connections = 16;
	struct hl_guard *g = NULL;
	assert_int_equal(hl_guard_start(&cfg, &g, NULL), 0);
	return g;
}

static void
test_limits(void **state)
{
	(void)state;
	struct hl_guard_config bad;
	memset(&bad, 0, sizeof bad);
	struct hl_guard *g = NULL;
	assert_int_not_equal(hl_guard_start(&bad, &g, NULL), 0);
	assert_null(g);

	g = guard_new(2, 3);
	int64_t t = base_ms();
	struct sockaddr_storage a1 = addr("2001:db8:a:a::1");
	struct sockaddr_storage a2 = addr("2001:db8:a:a::2");
	struct sockaddr_storage b = addr("2001:db8:b:b::1");
	struct sockaddr_storage c = addr("192.0.2.7");
	struct pair p[5];
	for (int i = 0; i < 5; i++)
		p[i] = pair_new();
	assert_true(hl_guard_admit(g, (struct sockaddr *)&a1));
	struct hl_guard_conn *c1 = hl_guard_open(g, p[0].ours,
	    (struct sockaddr *)&a1, t);
	struct hl_guard_conn *c2 = hl_guard_open(g, p[1].ours,
	    (struct sockaddr *)&a2, t);
	assert_non_null(c1);
	assert_non_null(c2);
	/* The /64 holds two: a third from it is refused at accept, and shut
	 * down when it gets past accept in a race. */
	assert_false(hl_guard_admit(g, (struct sockaddr *)&a2));
	assert_null(hl_guard_open(g, p[2].ours, (struct sockaddr *)&a1, t));
	assert_true(shut_down(&p[2]));
	assert_false(shut_down(&p[0]));
	assert_int_equal(hl_guard_open_count(g), 2);
	/* Another /64 is another client; three pending fill the guard. */
	assert_true(hl_guard_admit(g, (struct sockaddr *)&b));
	struct hl_guard_conn *c3 = hl_guard_open(g, p[3].ours,
	    (struct sockaddr *)&b, t);
	assert_non_null(c3);
	assert_int_equal(hl_guard_pending_count(g), 3);
	assert_false(hl_guard_admit(g, (struct sockaddr *)&c));
	assert_null(hl_guard_open(g, p[4].ours, (struct sockaddr *)&c, t));
	assert_true(shut_down(&p[4]));
	/* A request head makes room among the pending. */
	hl_guard_head(g, c1, hl_mono_ms());
	assert_int_equal(hl_guard_pending_count(g), 2);
	assert_true(hl_guard_admit(g, (struct sockaddr *)&c));
	/* Closing makes room in the prefix. */
	hl_guard_close(g, c2);
	assert_true(hl_guard_admit(g, (struct sockaddr *)&a2));
	assert_int_equal(hl_guard_open_count(g), 2);
	assert_int_equal(hl_guard_pending_count(g), 1);
	/* NULL records (refused connections) are ignored. */
	hl_guard_head(g, NULL, 0);
	hl_guard_idle(g, NULL, t);
	hl_guard_close(g, NULL);
	hl_guard_close(g, c1);
	hl_guard_close(g, c3);
	assert_int_equal(hl_guard_open_count(g), 0);
	assert_int_equal(hl_guard_pending_count(g), 0);
	hl_guard_free(g);
	for (int i = 0; i < 5; i++)
		pair_close(&p[i]);
}

static void
test_header_timeout(void **state)
{
	(void)state;
	struct hl_guard *g = guard_new(10, 10);
	int64_t t = base_ms();
	struct sockaddr_storage a = addr("198.51.100.1");
	struct pair p[2] = { pair_new(), pair_new() };
	struct hl_guard_conn *c1 = hl_guard_open(g, p[0].ours,
	    (struct sockaddr *)&a, t);
	struct hl_guard_conn *c2 = hl_guard_open(g, p[1].ours,
	    (struct sockaddr *)&a, t + 500);
	int64_t next = -1;
	assert_int_equal(hl_guard_reap(g, t + 999, &next), 0);
	assert_int_equal(next, t + 1000);
	assert_false(shut_down(&p[0]));
	/* A byte at a time changes nothing: the deadline is from accept. */
	assert_int_equal(hl_guard_reap(g, t + 1000, &next), 1);
	assert_true(shut_down(&p[0]));
	assert_false(shut_down(&p[1]));
	assert_int_equal(next, t + 1500);
	/* Once only. */
	assert_int_equal(hl_guard_reap(g, t + 1200, &next), 0);
	/* A complete head stops the clock; the request may take long. */
	hl_guard_head(g, c2, hl_mono_ms());
	assert_int_equal(hl_guard_reap(g, t + 9000, &next), 0);
	assert_int_equal(next, 0);
	assert_false(shut_down(&p[1]));
	/* Kept alive after its answer: the next head is due in time too. */
	hl_guard_idle(g, c2, t + 9000);
	assert_int_equal(hl_guard_reap(g, t + 9999, &next), 0);
	assert_int_equal(next, t + 10000);
	assert_int_equal(hl_guard_reap(g, t + 10000, &next), 1);
	assert_true(shut_down(&p[1]));
	hl_guard_close(g, c1);
	hl_guard_close(g, c2);
	hl_guard_free(g);
	pair_close(&p[0]);
	pair_close(&p[1]);
}

static void
test_body_timeout(void **state)
{
	(void)state;
	struct hl_guard_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.max_per_prefix = 10;
	cfg.max_pending = 10;
	cfg.ipv4_prefix = 32;
	cfg.ipv6_prefix = 64;
	cfg.header_timeout_ms = 1000;
	cfg.body_timeout_ms = 5000;
	cfg.max_connections = 16;
	struct hl_guard *g = NULL;
	assert_int_equal(hl_guard_start(&cfg, &g, NULL), 0);
	int64_t t = base_ms();
	struct sockaddr_storage a = addr("198.51.100.2");
	struct pair p[2] = { pair_new(), pair_new() };
	struct hl_guard_conn *c1 = hl_guard_open(g, p[0].ours,
	    (struct sockaddr *)&a, t);
	struct hl_guard_conn *c2 = hl_guard_open(g, p[1].ours,
	    (struct sockaddr *)&a, t);
	/* Heads in at t + 100: bodies are due 5 s later, whatever trickles
	 * in meanwhile. */
	hl_guard_head(g, c1, t + 100);
	hl_guard_head(g, c2, t + 100);
	int64_t next = -1;
	assert_int_equal(hl_guard_reap(g, t + 5099, &next), 0);
	assert_int_equal(next, t + 5100);
	/* c2's body is complete: its request may then take long. */
	hl_guard_body_done(g, c2);
	assert_int_equal(hl_guard_reap(g, t + 5100, &next), 1);
	assert_true(shut_down(&p[0]));
	assert_false(shut_down(&p[1]));
	assert_int_equal(hl_guard_reap(g, t + 60000, &next), 0);
	assert_false(shut_down(&p[1]));
	hl_guard_close(g, c1);
	hl_guard_close(g, c2);
	hl_guard_free(g);
	pair_close(&p[0]);
	pair_close(&p[1]);
}

struct gone_count {
	int calls;
	int answer;            /* what gone returns */
};

static int
count_gone(void *arg)
{
	struct gone_count *n = arg;
	__atomic_add_fetch(&n->calls, 1, __ATOMIC_SEQ_CST);
	return n->answer;
}

/* Waits (bounded) until n->calls reaches want. */
static int
calls_reach(struct hl_guard *g, struct gone_count *n, int want)
{
	(void)g;
	for (int i = 0; i < 1000; i++) {
		if (__atomic_load_n(&n->calls, __ATOMIC_SEQ_CST) >= want)
			return 1;
		usleep(10000);
	}
	return 0;
}

static void
test_watch(void **state)
{
	(void)state;
	struct hl_guard *g = guard_new(10, 10);
	int64_t t = base_ms();
	struct sockaddr_storage a = addr("198.51.100.3");
	struct pair p[2] = { pair_new(), pair_new() };
	struct hl_guard_conn *c1 = hl_guard_open(g, p[0].ours,
	    (struct sockaddr *)&a, t);
	struct hl_guard_conn *c2 = hl_guard_open(g, p[1].ours,
	    (struct sockaddr *)&a, t);
	hl_guard_head(g, c1, t);
	hl_guard_head(g, c2, t);
	struct gone_count n1 = { 0, 0 }, n2 = { 0, 1 };
	hl_guard_watch(g, c1, count_gone, &n1);
	hl_guard_watch(g, c1, count_gone, &n1);
	hl_guard_watch(g, c2, count_gone, &n2);
	/* Data from the client is not a hang-up. */
	assert_int_equal(send(p[1].theirs, "G", 1, 0), 1);
	usleep(100000);
	assert_int_equal(__atomic_load_n(&n2.calls, __ATOMIC_SEQ_CST), 0);
	/* The client of c2 leaves: told once, as its callback took it. */
	close(p[1].theirs);
	p[1].theirs = -1;
	assert_true(calls_reach(g, &n2, 1));
	/* c1's leaves, but its callback cannot end it yet: told again
	 * until the watch ends. */
	close(p[0].theirs);
	p[0].theirs = -1;
	assert_true(calls_reach(g, &n1, 3));
	hl_guard_unwatch(g, c1);
	int after = __atomic_load_n(&n1.calls, __ATOMIC_SEQ_CST);
	usleep(200000);
	assert_int_equal(__atomic_load_n(&n1.calls, __ATOMIC_SEQ_CST), after);
	assert_int_equal(__atomic_load_n(&n2.calls, __ATOMIC_SEQ_CST), 1);
	/* Unwatching what is not watched, and NULL, is fine. */
	hl_guard_unwatch(g, c2);
	hl_guard_unwatch(g, NULL);
	hl_guard_watch(g, NULL, count_gone, &n1);
	hl_guard_close(g, c1);
	hl_guard_close(g, c2);
	hl_guard_free(g);
	close(p[0].ours);
	close(p[1].ours);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_key),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_header_timeout),
		cmocka_unit_test(test_body_timeout),
		cmocka_unit_test(test_watch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
