/* 202 means durable: messages accepted before a SIGTERM or a SIGKILL are
 * all there after a restart; a backup taken while serving is a usable
 * copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/lib/hl_testapi.h"
#include "tests/lib/hl_testhttp.h"
#include "tests/lib/hl_testrelay.h"

#define SENDERS 4
#define PER_SENDER 25

static struct hl_test_relay relay;
static struct hl_test_account rcpt;

static int
group_setup(void **state)
{
	(void)state;
	if (hl_test_relay_new(&relay) != 0 || hl_test_relay_start(&relay) != 0)
		return -1;
	return hl_test_relay_account(&relay, "rst.rcpt", 1, &rcpt);
}

static int
group_teardown(void **state)
{
	(void)state;
	hl_test_relay_free(&relay);
	return 0;
}

/* The ids in the recipient's queue, acked away as they are read. */
static int
drain(char (*ids)[33], int max)
{
	int n = 0;
	for (int round = 0; round < 50; round++) {
		json_t *got;
		assert_int_equal(hl_test_api_fetch(&relay, &rcpt, 0, &got), 200);
		json_t *items = json_object_get(got, "messages");
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it) {
			if (n < max)
				snprintf(ids[n], 33, "%s",
				    json_string_value(json_object_get(it, "id")));
			n++;
		}
		size_t count = json_array_size(items);
		if (count > 0)
			assert_int_equal(hl_test_api_ack_all(&relay, &rcpt, got),
			    (long)count);
		json_decref(got);
		if (count == 0)
			break;
	}
	return n;
}

static int
contains(char (*ids)[33], int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return 1;
	return 0;
}

static void
restart_keeps(int sig)
{
	struct hl_test_account a;
	char handle[32];
	snprintf(handle, sizeof handle, "rst.sig%d", sig);
	assert_int_equal(hl_test_relay_account(&relay, handle, 1, &a), 0);
	char ids[10][33];
	for (int i = 0; i < 10; i++) {
		struct hl_test_http res;
		hl_test_api_id(ids[i]);
		assert_int_equal(hl_test_api_send(&relay, &a, "rst.rcpt", ids[i],
		    "durable", &res), 0);
		assert_int_equal(res.status, 202);
		hl_test_http_free(&res);
	}
	int status = 0;
	assert_int_equal(hl_test_relay_stop(&relay, sig, &status), 0);
	if (sig == SIGTERM) {
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	} else {
		assert_true(WIFSIGNALED(status));
	}
	assert_int_equal(hl_test_relay_start(&relay), 0);
	char got[64][33];
	int n = drain(got, 64);
	assert_int_equal(n, 10);
	for (int i = 0; i < 10; i++)
		assert_true(contains(got, n, ids[i]));
	/* The sender's token survives too, and a retry is still recognised. */
	struct hl_test_http res;
	assert_int_equal(hl_test_api_send(&relay, &a, "rst.rcpt", ids[0],
	    "durable", &res), 0);
	assert_int_equal(res.status, 202);
	hl_test_http_free(&res);
	assert_int_equal(drain(got, 64), 0);
}

static void
test_restart_sigterm(void **state)
{
	(void)state;
	restart_keeps(SIGTERM);
}

static void
test_restart_sigkill(void **state)
{
	(void)state;
	restart_keeps(SIGKILL);
}

struct sender {
	pthread_t thread;
	struct hl_test_account acct;
	char ids[PER_SENDER][33];
	int accepted[PER_SENDER];
};

static void *
send_many(void *p)
{
	struct sender *s = p;
	for (int i = 0; i < PER_SENDER; i++) {
		struct hl_test_http res;
		hl_test_api_id(s->ids[i]);
		hl_test_api_send(&relay, &s->acct, "rst.rcpt", s->ids[i], "racing",
		    &res);
		s->accepted[i] = res.status == 202;
		hl_test_http_free(&res);
	}
	return NULL;
}

/* Senders race a SIGKILL: whatever got its 202 before the kill is there
 * afterwards (others may or may not be). */
static void
test_kill_during_sends(void **state)
{
	(void)state;
	static struct sender s[SENDERS];
	for (int i = 0; i < SENDERS; i++) {
		char handle[32];
		snprintf(handle, sizeof handle, "rst.race%d", i);
		assert_int_equal(hl_test_relay_account(&relay, handle, 1, &s[i].acct),
		    0);
	}
	for (int i = 0; i < SENDERS; i++)
		assert_int_equal(pthread_create(&s[i].thread, NULL, send_many, &s[i]),
		    0);
	hl_test_sleep_ms(100);
	assert_int_equal(hl_test_relay_stop(&relay, SIGKILL, NULL), 0);
	for (int i = 0; i < SENDERS; i++)
		pthread_join(s[i].thread, NULL);
	assert_int_equal(hl_test_relay_start(&relay), 0);
	static char got[SENDERS * PER_SENDER + 8][33];
	int n = drain(got, SENDERS * PER_SENDER + 8);
	int accepted = 0;
	for (int i = 0; i < SENDERS; i++)
		for (int k = 0; k < PER_SENDER; k++)
			if (s[i].accepted[k]) {
				accepted++;
				assert_true(contains(got, n, s[i].ids[k]));
			}
	assert_true(n >= accepted);
	assert_true(n <= SENDERS * PER_SENDER);
}

static void
test_backup_while_serving(void **state)
{
	(void)state;
	/* hotline-relay backup is SQLite's; pg_dump backs up PostgreSQL. */
	if (hl_test_store_is_pg()) {
		skip();
		return;
	}
	struct hl_test_account a;
	assert_int_equal(hl_test_relay_account(&relay, "rst.backup", 1, &a), 0);
	char id[33];
	struct hl_test_http res;
	hl_test_api_id(id);
	assert_int_equal(hl_test_api_send(&relay, &a, "rst.rcpt", id, "kept",
	    &res), 0);
	assert_int_equal(res.status, 202);
	hl_test_http_free(&res);
	char path[HL_TEST_DIR + 16], out[512], err[512];
	snprintf(path, sizeof path, "%s/backup.db", relay.dir);
	const char *args[] = { "backup", path, NULL };
	assert_int_equal(hl_test_relay_cmd(&relay, out, sizeof out, err,
	    sizeof err, args), 0);
	assert_non_null(strstr(out, "backup written to"));
	/* Not over an existing file. */
	assert_int_equal(hl_test_relay_cmd(&relay, out, sizeof out, err,
	    sizeof err, args), 1);

	/* A relay.ini pointing at the copy sees the same accounts and the
	 * queued message. */
	char ini[HL_TEST_DIR + 16];
	snprintf(ini, sizeof ini, "%s/copy.ini", relay.dir);
	FILE *f = fopen(ini, "w");
	assert_non_null(f);
	fprintf(f, "[store]\nurl = sqlite:backup.db\n");
	fclose(f);
	char prog[HL_TEST_PATH], o[HL_TEST_DIR + 16];
	snprintf(o, sizeof o, "%s/copy.out", relay.dir);
	const char *argv[] = { hl_test_program("hotline-relay", prog, sizeof prog),
	    "stats", "-c", ini, NULL };
	pid_t pid;
	int status = 0;
	assert_int_equal(hl_test_spawn(argv, o, NULL, &pid), 0);
	assert_int_equal(hl_test_wait(pid, 30000, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(hl_test_read_file(o, out, sizeof out), 0);
	assert_non_null(strstr(out, "queued_messages: 1\n"));
	assert_null(strstr(out, "accounts_active: 0\n"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart_sigterm),
		cmocka_unit_test(test_restart_sigkill),
		cmocka_unit_test(test_kill_during_sends),
		cmocka_unit_test(test_backup_while_serving),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
