/* Lost replies: clients talk to the relay through a proxy that drops 20%
 * of the relay's 202 answers to sends (after the relay committed them) and
 * cuts 5% of all answers mid-way. Clients retry; the relay stores no
 * message twice, no inbox holds one twice, and every message reaches
 * `delivered`. Short by default; HL_FAULTS_LONG=1 for make test-faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tests/lib/hl_testclient.h"
#include "tests/lib/hl_testfault.h"
#include "tests/lib/hl_testproxy.h"
#include "tests/lib/hl_testrelay.h"

#define MAX_CLIENTS 8

static struct hl_test_relay relay;
static struct hl_test_proxy *proxy;
static struct hl_test_client clients[MAX_CLIENTS];
static struct hl_test_engine eng[MAX_CLIENTS];
static size_t nclients;
static char fast[HL_TEST_DIR];
static long nmessages;

static int
group_setup(void **state)
{
	(void)state;
	hl_fault_seed("fault_replies");
	nclients = hl_fault_long() ? 8 : 4;
	nmessages = hl_fault_long() ? 2000 : 200;
	if (hl_test_relay_new(&relay) != 0 || hl_fault_fast_dir(fast, sizeof fast) != 0)
		return -1;
	char url[HL_TEST_DIR + 32];
	snprintf(url, sizeof url, "sqlite:%s/relay.db", fast);
	hl_test_relay_set(&relay, "store", "url", url);
	static const char *const init[] = { "init", NULL };
	if (hl_test_relay_write_config(&relay) != 0 ||
	    hl_test_relay_cmd(&relay, NULL, 0, NULL, 0, init) != 0)
		return -1;
	hl_test_relay_set(&relay, "limits", "rate_per_minute", "100000");
	/* A cut bundle answer is taken again. */
	hl_test_relay_set(&relay, "limits", "bundle_rate_per_hour", "100000");
	if (hl_test_relay_start(&relay) != 0 ||
	    hl_test_proxy_start(relay.port, &proxy) != 0)
		return -1;
	/* Registered through the proxy (faults off), so that is the relay
	 * address every profile keeps. */
	struct hl_test_relay via = relay;
	snprintf(via.url, sizeof via.url, "%s", hl_test_proxy_url(proxy));
	for (size_t i = 0; i < nclients; i++) {
		char h[32];
		snprintf(h, sizeof h, "reply%02zu.test", i);
		if (hl_test_client_new(&clients[i]) != 0 ||
		    hl_test_client_register(&clients[i], &via, h, NULL) != 0 ||
		    hl_fault_move_home(&clients[i], fast) != 0 ||
		    hl_test_engine_open(&eng[i], &clients[i]) != 0)
			return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < nclients; i++) {
		hl_test_engine_free(&eng[i]);
		hl_test_client_free(&clients[i]);
	}
	hl_test_proxy_free(proxy);
	hl_test_relay_free(&relay);
	return 0;
}

static void
test_lost_replies(void **state)
{
	(void)state;
	long long t0 = hl_test_now_ms();
	hl_test_proxy_faults(proxy, 20, 5);
	long queued = 0, rounds = 0;
	while (queued < nmessages) {
		for (int k = 0; k < 40 && queued < nmessages; k++, queued++) {
			size_t a = hl_fault_rand((uint32_t)nclients);
			size_t b = (a + 1 + hl_fault_rand((uint32_t)nclients - 1)) % nclients;
			char body[64], id[HL_ID_HEX + 1];
			snprintf(body, sizeof body, "reply message %ld", queued);
			assert_int_equal(hl_test_engine_send(&eng[a], clients[b].handle,
			    body, id), 0);
		}
		hl_test_engines_pump(eng, nclients, 500, 300);
		rounds++;
	}
	int drained = hl_fault_drain(eng, nclients, hl_test_now_ms() +
	    (hl_fault_long() ? 900000 : 240000));
	struct hl_fault_tally t;
	assert_int_equal(hl_fault_tally(eng, nclients, &t), 0);
	struct hl_test_proxy_stats ps;
	hl_test_proxy_stats(proxy, &ps);
	char extra[256];
	snprintf(extra, sizeof extra, "requests=%ld dropped_202=%ld cut=%ld "
	    "items_seen=%ld stored_twice=%ld inbox_duplicates=%ld outbound=%ld seconds=%lld",
	    ps.requests, ps.dropped_202, ps.cut, ps.items_seen, ps.stored_twice, t.duplicates,
	    t.outbound, (hl_test_now_ms() - t0) / 1000);
	hl_fault_summary("lost_replies", rounds, t.accepted, t.delivered, t.lost,
	    t.duplicates + ps.stored_twice, extra);
	assert_int_equal(t.lost, 0);
	assert_int_equal(t.duplicates, 0);
	assert_int_equal(ps.stored_twice, 0);
	assert_int_equal(drained, 0);
	assert_int_equal(t.delivered, t.outbound);
	assert_true(t.outbound >= nmessages);
	/* The faults happened: the figures above are not of a clean run. */
	assert_true(ps.dropped_202 > 0);
	assert_true(ps.cut > 0);
	/* And the proxy read the fetches it judges stored_twice by. */
	assert_true(ps.items_seen >= nmessages);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lost_replies),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
