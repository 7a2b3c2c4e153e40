/* Long-polls under load, through the real relay: a held fetch answers
 * early only when something arrives for its own account. Parked fetches
 * share wake-up counters with other accounts (relay/waiters.c hashes
 * account ids into buckets); a commit for another account of the bucket
 * between a fetch's look at its queue and its parking makes the parking
 * fail, and such a fetch must park again for the rest of its wait rather
 * than answer an empty list at once.
 *
 * Account ids are given in order of registration from 1; accounts 13 and
 * 34 share a bucket. The test floods 34 with messages while 13 holds many
 * long-polls at once, and every one of 13's polls must last its whole
 * wait. Looking at a queue includes counting the account's one-time
 * prekeys: 13 holds many, which makes the look slow enough for each of
 * its parkings to have a fair chance of meeting one of 34's commits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/lib/hl_testapi.h"
#include "tests/lib/hl_testhttp.h"
#include "tests/lib/hl_testrelay.h"

#define ACCOUNTS 34
#define WAITER 13          /* shares a bucket with FLOODED */
#define FLOODED 34
#define SENDERS 4
#define POLLS 32
#define ROUNDS 2
#define WAIT_S 1
#define UPLOADS 50
#define PER_UPLOAD 1000
#define KEY "BRERERERERERERERERERERERERERERERERERERERERER"

static struct hl_test_relay relay;
static struct hl_test_account accts[ACCOUNTS + 1];   /* by account id */
static atomic_int flooding;

static int
group_setup(void **state)
{
	(void)state;
	if (hl_test_relay_new(&relay) != 0)
		return -1;
	hl_test_relay_set(&relay, "server", "max_fetches_per_account", "64");
	hl_test_relay_set(&relay, "server", "max_connections_per_ip", "256");
	hl_test_relay_set(&relay, "limits", "max_prekeys_per_upload", "1000");
	hl_test_relay_set(&relay, "limits", "max_prekeys_stored", "100000");
	hl_test_relay_set(&relay, "limits", "max_body_bytes", "131072");
	hl_test_relay_set(&relay, "limits", "max_queue_per_recipient",
	    "1000000");
	hl_test_relay_set(&relay, "limits", "max_queue_per_sender", "1000000");
	if (hl_test_relay_start(&relay) != 0)
		return -1;
	for (int id = 1; id <= ACCOUNTS; id++) {
		char handle[32];
		snprintf(handle, sizeof handle, "poll.%02d", id);
		if (hl_test_relay_account(&relay, handle, 1, &accts[id]) != 0)
			return -1;
	}
	static char body[PER_UPLOAD * 80 + 64];
	for (int u = 0; u < UPLOADS; u++) {
		size_t o = (size_t)snprintf(body, sizeof body, "{\"prekeys\":[");
		for (int k = 0; k < PER_UPLOAD; k++)
			o += (size_t)snprintf(body + o, sizeof body - o,
			    "%s{\"id\":%d,\"key\":\"%s\"}", k ? "," : "",
			    1000 + u * PER_UPLOAD + k, KEY);
		snprintf(body + o, sizeof body - o, "]}");
		struct hl_test_http res;
		hl_test_api(&relay, "PUT", "/v1/keys", body,
		    accts[WAITER].token, &res);
		long status = res.status;
		if (status != 200)
			fprintf(stderr, "PUT /v1/keys: %ld %s\n", status,
			    res.body ? res.body : "");
		hl_test_http_free(&res);
		if (status != 200)
			return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	int status = -1;
	int rc = hl_test_relay_stop(&relay, SIGTERM, &status);
	hl_test_relay_free(&relay);
	return rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void *
flood_main(void *arg)
{
	const struct hl_test_account *from = arg;
	/* Bounded: at most this many sends, and only while polls run. */
	for (int i = 0; i < 20000 && atomic_load(&flooding); i++) {
		char id[33];
		struct hl_test_http res;
		hl_test_api_id(id);
		hl_test_api_send(&relay, from, accts[FLOODED].handle, id, "x",
		    &res);
		hl_test_http_free(&res);
	}
	return NULL;
}

struct poll {
	pthread_t thread;
	long status;
	size_t n;
	long long ms;
};

static void *
poll_main(void *arg)
{
	struct poll *p = arg;
	json_t *got = NULL;
	long long t0 = hl_test_now_ms();
	p->status = hl_test_api_fetch(&relay, &accts[WAITER], WAIT_S, &got);
	p->ms = hl_test_now_ms() - t0;
	p->n = json_array_size(json_object_get(got, "messages"));
	json_decref(got);
	return NULL;
}

static void
test_polls_last_their_wait(void **state)
{
	(void)state;
	pthread_t senders[SENDERS];
	atomic_store(&flooding, 1);
	for (int i = 0; i < SENDERS; i++)
		assert_int_equal(pthread_create(&senders[i], NULL, flood_main,
		    &accts[1 + i]), 0);
	int early = 0, polls = 0;
	for (int round = 0; round < ROUNDS; round++) {
		struct poll p[POLLS];
		for (int i = 0; i < POLLS; i++) {
			memset(&p[i], 0, sizeof p[i]);
			assert_int_equal(pthread_create(&p[i].thread, NULL,
			    poll_main, &p[i]), 0);
		}
		for (int i = 0; i < POLLS; i++) {
			pthread_join(p[i].thread, NULL);
			assert_int_equal(p[i].status, 200);
			assert_int_equal(p[i].n, 0);
			polls++;
			if (p[i].ms < WAIT_S * 1000 - 100)
				early++;
		}
	}
	atomic_store(&flooding, 0);
	for (int i = 0; i < SENDERS; i++)
		pthread_join(senders[i], NULL);
	/* The flood reached the other account of the bucket. */
	json_t *got = NULL;
	assert_int_equal(hl_test_api_fetch(&relay, &accts[FLOODED], 0, &got),
	    200);
	assert_true(json_array_size(json_object_get(got, "messages")) > 0);
	json_decref(got);
	if (early > 0)
		fail_msg("%d of %d long-polls answered before their wait ended",
		    early, polls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_polls_last_their_wait),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
