/* Crash consistency: real client engines send between many profiles while
 * the relay is SIGKILLed at random moments and restarted; then real
 * `hotline send` and `hotline sync` processes are SIGKILLed mid-way.
 * Afterwards every message any outbox held (so every one the relay
 * answered 202 for) is in its recipient's inbox exactly once, and every
 * sender has it at least `sent` (here: delivered, receipts included).
 * Short by default; HL_FAULTS_LONG=1 is the long run of make test-faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/hl_testclient.h"
#include "tests/lib/hl_testfault.h"
#include "tests/lib/hl_testrelay.h"

#define MAX_CLIENTS 20

static struct hl_test_relay relay;
static struct hl_test_client clients[MAX_CLIENTS];
static struct hl_test_engine eng[MAX_CLIENTS];
static size_t nclients;
static char fast[HL_TEST_DIR];
static long nmessages, relay_kills, client_kills;

static int
group_setup(void **state)
{
	(void)state;
	hl_fault_seed("fault_crash");
	int lng = hl_fault_long();
	nclients = (size_t)hl_fault_param("HL_FAULT_CLIENTS", lng ? 20 : 5, 2,
	    MAX_CLIENTS);
	nmessages = hl_fault_param("HL_FAULT_MESSAGES", lng ? 10000 : 250, 1,
	    1000000);
	relay_kills = hl_fault_param("HL_FAULT_KILLS", lng ? 25 : 5, 1, 1000);
	client_kills = hl_fault_param("HL_FAULT_CLIENT_KILLS", lng ? 40 : 8, 0,
	    1000);
	if (hl_test_relay_new(&relay) != 0 || hl_fault_fast_dir(fast, sizeof fast) != 0)
		return -1;
	char url[HL_TEST_DIR + 32];
	snprintf(url, sizeof url, "sqlite:%s/relay.db", fast);
	hl_test_relay_set(&relay, "store", "url", url);
	static const char *const init[] = { "init", NULL };
	if (hl_test_relay_write_config(&relay) != 0 ||
	    hl_test_relay_cmd(&relay, NULL, 0, NULL, 0, init) != 0)
		return -1;
	/* Many clients from one address, and bursts after every restart. */
	hl_test_relay_set(&relay, "limits", "rate_per_minute", "100000");
	/* A bundle answer lost in a kill is taken again: more than the
	 * default 20 an hour between 20 contacts. */
	hl_test_relay_set(&relay, "limits", "bundle_rate_per_hour", "100000");
	if (hl_test_relay_start(&relay) != 0)
		return -1;
	for (size_t i = 0; i < nclients; i++) {
		char h[32];
		snprintf(h, sizeof h, "crash%02zu.test", i);
		if (hl_test_client_new(&clients[i]) != 0 ||
		    hl_test_client_register(&clients[i], &relay, h, NULL) != 0 ||
		    hl_fault_move_home(&clients[i], fast) != 0)
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
	hl_test_relay_free(&relay);
	return 0;
}

static long queued;
static long long t_start;

static void
queue_some(long count)
{
	for (long k = 0; k < count && queued < nmessages; k++) {
		size_t a = hl_fault_rand((uint32_t)nclients);
		size_t b = (a + 1 + hl_fault_rand((uint32_t)nclients - 1)) % nclients;
		char body[64], id[HL_ID_HEX + 1];
		snprintf(body, sizeof body, "crash message %ld", queued);
		assert_int_equal(hl_test_engine_send(&eng[a], clients[b].handle, body,
		    id), 0);
		queued++;
	}
}

static void
open_all(void)
{
	for (size_t i = 0; i < nclients; i++)
		assert_int_equal(hl_test_engine_open(&eng[i], &clients[i]), 0);
}

static void
close_all(void)
{
	for (size_t i = 0; i < nclients; i++)
		hl_test_engine_close(&eng[i]);
}

/* The relay dies with traffic in flight: each round queues a share of
 * the messages, lets them move for a random while, then SIGKILLs. */
static long
relay_kill_phase(void)
{
	long kills = 0;
	long share = nmessages / relay_kills + 1;
	long long deadline = hl_test_now_ms() + (hl_fault_long() ? 1800000 : 300000);
	while (kills < relay_kills && hl_test_now_ms() < deadline) {
		queue_some(share);
		hl_test_engines_pump(eng, nclients, hl_fault_long() ?
		    2000 + (int)hl_fault_rand(6000) : 200 + (int)hl_fault_rand(2500), 400);
		assert_int_equal(hl_test_relay_stop(&relay, SIGKILL, NULL), 0);
		kills++;
		/* Clients meet a closed port for a moment. */
		hl_test_engines_pump(eng, nclients, (int)hl_fault_rand(600), 400);
		assert_int_equal(hl_test_relay_restart(&relay), 0);
		fprintf(stderr, "fault_crash: relay kill %ld/%ld, %ld queued, %lld s\n",
		    kills, relay_kills, queued, (hl_test_now_ms() - t_start) / 1000);
	}
	queue_some(nmessages);
	return kills;
}

/* Real CLI processes killed mid-send and mid-sync. For a sync to have
 * work, another profile first queues messages to it at the relay. */
static long
client_kill_phase(void)
{
	long kills = 0;
	for (long k = 0; k < client_kills; k++) {
		size_t c = hl_fault_rand((uint32_t)nclients);
		size_t p = (c + 1 + hl_fault_rand((uint32_t)nclients - 1)) % nclients;
		struct hl_test_run r;
		char body[64];
		if (k % 2 == 0) {
			snprintf(body, sizeof body, "killed send %ld", k);
			const char *args[] = { "--json", "send", clients[p].handle, body,
			    NULL };
			assert_int_equal(hl_test_client_start(&clients[c], &r, args), 0);
		} else {
			assert_int_equal(hl_test_engine_open(&eng[p], &clients[p]), 0);
			for (int i = 0; i < 8; i++) {
				char id[HL_ID_HEX + 1];
				snprintf(body, sizeof body, "for a killed sync %ld.%d", k, i);
				assert_int_equal(hl_test_engine_send(&eng[p],
				    clients[c].handle, body, id), 0);
			}
			hl_test_engines_pump(&eng[p], 1, 1500, 0);
			hl_test_engine_close(&eng[p]);
			const char *args[] = { "--json", "sync", "--wait", "1", NULL };
			assert_int_equal(hl_test_client_start(&clients[c], &r, args), 0);
		}
		/* Argon2id alone takes a while: the kill lands anywhere from
		 * opening the vault to the last ack. */
		hl_test_sleep_ms(50 + (long)hl_fault_rand(1200));
		if (kill(r.pid, SIGKILL) == 0)
			kills++;
		hl_test_client_finish(&clients[c], &r, 30000);
		hl_test_run_free(&r);
	}
	return kills;
}

static void
test_crash_consistency(void **state)
{
	(void)state;
	long long t0 = hl_test_now_ms();
	t_start = t0;
	open_all();
	long rk = relay_kill_phase();
	close_all();
	long ck = client_kill_phase();
	open_all();
	int drained = hl_fault_drain(eng, nclients, hl_test_now_ms() +
	    (hl_fault_long() ? 900000 : 180000));
	struct hl_fault_tally t;
	assert_int_equal(hl_fault_tally(eng, nclients, &t), 0);
	char extra[256];
	snprintf(extra, sizeof extra, "relay_kills=%ld client_kills=%ld clients=%zu "
	    "outbound=%ld below_sent=%ld seconds=%lld", rk, ck, nclients,
	    t.outbound, t.below_sent, (hl_test_now_ms() - t0) / 1000);
	hl_fault_summary("crash", rk + ck, t.accepted, t.delivered, t.lost,
	    t.duplicates, extra);
	close_all();
	assert_int_equal(t.lost, 0);
	assert_int_equal(t.duplicates, 0);
	assert_int_equal(t.below_sent, 0);
	assert_true(rk >= relay_kills);
	assert_true(t.outbound >= nmessages);
	assert_int_equal(drained, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_consistency),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
