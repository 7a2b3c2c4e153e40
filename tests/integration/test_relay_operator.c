/* The operator's tools: check-config reports every problem with its line
 * (exit 3) or says the file is fine (exit 0); a missing or folder -c FILE
 * is an error; accounts and stats --json print one JSON object; both
 * programs answer --version; /metrics has the build, refusals by reason
 * and the oldest message's age, and can be served on metrics_listen
 * alone; log lines carry syslog priorities when stderr is the journal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>

#include "tests/lib/hl_testapi.h"
#include "tests/lib/hl_testhttp.h"
#include "tests/lib/hl_testrelay.h"

#include <stdlib.h>
#include <sys/stat.h>

static struct hl_test_relay relay;

static int
setup(void **state)
{
	(void)state;
	return hl_test_relay_new(&relay);
}

static int
teardown(void **state)
{
	(void)state;
	hl_test_relay_free(&relay);
	return 0;
}

/* Runs hotline-relay ARGS (no -c added); its exit code. */
static int
relay_raw(const char *const *args, char *out, size_t outlen, char *err,
    size_t errlen)
{
	char prog[HL_TEST_PATH], op[HL_TEST_PATH], ep[HL_TEST_PATH];
	const char *argv[16];
	int n = 0;
	argv[n++] = hl_test_program("hotline-relay", prog, sizeof prog);
	for (int i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(op, sizeof op, "%s/raw.out", relay.dir);
	snprintf(ep, sizeof ep, "%s/raw.err", relay.dir);
	pid_t pid;
	int status = 0;
	if (hl_test_spawn(argv, op, ep, &pid) != 0 ||
	    hl_test_wait(pid, 30000, &status) != 0 || !WIFEXITED(status))
		return -1;
	out[0] = err[0] = '\0';
	hl_test_read_file(op, out, outlen);
	hl_test_read_file(ep, err, errlen);
	return WEXITSTATUS(status);
}

static void
test_check_config(void **state)
{
	(void)state;
	char out[2048], err[4096];
	const char *check[] = { "check-config", NULL };
	assert_int_equal(hl_test_relay_cmd(&relay, out, sizeof out, err,
	    sizeof err, check), 0);
	assert_non_null(strstr(out, "configuration ok"));

	char bad[HL_TEST_PATH];
	snprintf(bad, sizeof bad, "%s/bad.ini", relay.dir);
	FILE *f = fopen(bad, "w");
	assert_non_null(f);
	fputs("[server]\nthreads = many\nlisten = 127.0.0.1:1\n"
	    "listen = 127.0.0.1:2\n[limits\nrate_per_minute = 5\n"
	    "[store]\ncolour = blue\n", f);
	fclose(f);
	const char *bad_args[] = { "check-config", "-c", bad, NULL };
	assert_int_equal(relay_raw(bad_args, out, sizeof out, err, sizeof err),
	    3);
	static const char *const want[] = {
		"bad.ini:2: [server] threads: expected an integer",
		"bad.ini:4: [server] listen: set twice",
		"bad.ini:5: a section name without its closing ']'",
		"bad.ini:8: [store] colour: unknown key",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		if (strstr(err, want[i]) == NULL)
			fail_msg("missing '%s' in:\n%s", want[i], err);
	/* One line per problem: line 2's bad value is not a syntax error too. */
	if (strstr(err, "syntax error") != NULL)
		fail_msg("a handler's error reported again as syntax:\n%s", err);
	assert_string_equal(out, "");

	/* A missing file and a folder: errors, not defaults. */
	char missing[HL_TEST_PATH];
	snprintf(missing, sizeof missing, "%s/none.ini", relay.dir);
	const char *m[] = { "check-config", "-c", missing, NULL };
	assert_int_equal(relay_raw(m, out, sizeof out, err, sizeof err), 3);
	assert_non_null(strstr(err, "none.ini: No such file"));
	const char *d[] = { "stats", "-c", relay.dir, NULL };
	assert_int_equal(relay_raw(d, out, sizeof out, err, sizeof err), 3);
	assert_non_null(strstr(err, "is a folder"));

	/* A store folder that is not there. */
	char url[256] = "";
	for (size_t i = 0; i < relay.nsettings; i++)
		if (strcmp(relay.settings[i].key, "url") == 0)
			snprintf(url, sizeof url, "%s", relay.settings[i].value);
	hl_test_relay_set(&relay, "store", "url", "sqlite:no/such/relay.db");
	assert_int_equal(hl_test_relay_write_config(&relay), 0);
	assert_int_equal(hl_test_relay_cmd(&relay, out, sizeof out, err,
	    sizeof err, check), 3);
	assert_non_null(strstr(err, "[store] url: the folder"));
	hl_test_relay_set(&relay, "store", "url", url);
	assert_int_equal(hl_test_relay_write_config(&relay), 0);
}

static void
test_json_and_version(void **state)
{
	(void)state;
	char out[4096], err[2048], code[64];
	assert_int_equal(hl_test_relay_start(&relay), 0);
	struct hl_test_account a;
	assert_int_equal(hl_test_relay_account(&relay, "ops.a", 3, &a), 0);
	assert_int_equal(hl_test_relay_invite(&relay, "ops.b", NULL, code), 0);

	const char *acc[] = { "accounts", "--json", NULL };
	assert_int_equal(hl_test_relay_cmd(&relay, out, sizeof out, err,
	    sizeof err, acc), 0);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "type")),
	    "accounts");
	json_t *list = json_object_get(j, "accounts");
	assert_int_equal(json_array_size(list), 1);
	json_t *one = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(one, "handle")),
	    "ops.a");
	assert_string_equal(json_string_value(json_object_get(one, "status")),
	    "active");
	assert_int_equal(json_integer_value(json_object_get(one, "prekeys")),
	    3);
	json_decref(j);

	const char *st[] = { "stats", "--json", NULL };
	assert_int_equal(hl_test_relay_cmd(&relay, out, sizeof out, err,
	    sizeof err, st), 0);
	j = json_loads(out, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "type")),
	    "stats");
	assert_int_equal(json_integer_value(json_object_get(j,
	    "accounts_active")), 1);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "codes_pending")), 1);
	assert_null(json_object_get(j, "oldest_queued"));
	json_decref(j);

	const char *v[] = { "--version", NULL };
	assert_int_equal(relay_raw(v, out, sizeof out, err, sizeof err), 0);
	assert_non_null(strstr(out, "hotline-relay "));
	char prog[HL_TEST_PATH], op[HL_TEST_PATH];
	const char *hv[] = { hl_test_program("hotline", prog, sizeof prog),
	    "--version", NULL };
	snprintf(op, sizeof op, "%s/hv.out", relay.dir);
	pid_t pid;
	int status = 0;
	assert_int_equal(hl_test_spawn(hv, op, NULL, &pid), 0);
	assert_int_equal(hl_test_wait(pid, 30000, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(hl_test_read_file(op, out, sizeof out), 0);
	assert_true(strncmp(out, "hotline ", 8) == 0);
}

/* The value of the metric line that starts with name (a full name with
 * labels), or -1 when there is none. */
static double
metric(const char *page, const char *name)
{
	const char *p = page;
	size_t n = strlen(name);
	while ((p = strstr(p, name)) != NULL) {
		if ((p == page || p[-1] == '\n') && p[n] == ' ')
			return atof(p + n + 1);
		p += n;
	}
	return -1;
}

static void
test_metrics(void **state)
{
	(void)state;
	struct hl_test_relay r;
	assert_int_equal(hl_test_relay_new(&r), 0);
	hl_test_relay_set(&r, "limits", "rate_per_minute", "3");
	hl_test_relay_set(&r, "limits", "max_queue_per_recipient", "2");
	hl_test_relay_set(&r, "limits", "max_queue_per_sender", "2");
	assert_int_equal(hl_test_relay_start(&r), 0);
	struct hl_test_account a, b;
	assert_int_equal(hl_test_relay_account(&r, "met.a", 1, &a), 0);
	assert_int_equal(hl_test_relay_account(&r, "met.b", 1, &b), 0);
	struct hl_test_http res;
	long want[] = { 202, 202, 429, 429 };   /* queue full, then rate */
	for (int i = 0; i < 4; i++) {
		char id[33];
		hl_test_api_id(id);
		assert_int_equal(hl_test_api_send(&r, &a, "met.b", id, "m",
		    &res), 0);
		assert_int_equal(res.status, want[i]);
		hl_test_http_free(&res);
	}
	assert_int_equal(hl_test_api(&r, "GET", "/v1/messages", NULL,
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    &res), 0);
	assert_int_equal(res.status, 401);
	hl_test_http_free(&res);
	hl_test_sleep_ms(20);

	assert_int_equal(hl_test_api(&r, "GET", "/metrics", NULL, NULL, &res),
	    0);
	assert_int_equal(res.status, 200);
	assert_true(metric(res.body, "hotline_build_info{version=\"") < 0);
	assert_non_null(strstr(res.body, "\nhotline_build_info{version=\""));
	assert_true(metric(res.body,
	    "hotline_refusals_total{reason=\"queue_full\"}") == 1);
	assert_true(metric(res.body,
	    "hotline_refusals_total{reason=\"rate_limit\"}") == 1);
	assert_true(metric(res.body,
	    "hotline_refusals_total{reason=\"auth\"}") == 1);
	assert_true(metric(res.body, "hotline_oldest_queued_age_seconds") > 0);
	/* Plain HTTP: no certificate to expire. */
	assert_null(strstr(res.body, "hotline_tls_cert_not_after_seconds"));
	hl_test_http_free(&res);

	/* metrics_listen: there and only there. */
	int mport = hl_test_free_port();
	assert_true(mport > 0);
	char addr[64], url[96];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", mport);
	snprintf(url, sizeof url, "http://%s", addr);
	assert_int_equal(hl_test_relay_stop(&r, SIGTERM, NULL), 0);
	hl_test_relay_set(&r, "server", "metrics_listen", addr);
	assert_int_equal(hl_test_relay_restart(&r), 0);
	assert_int_equal(hl_test_http(url, "GET", "/metrics", NULL, NULL, NULL,
	    &res), 0);
	assert_int_equal(res.status, 200);
	assert_non_null(strstr(res.body, "\nhotline_queue_depth 2\n"));
	hl_test_http_free(&res);
	assert_int_equal(hl_test_http(url, "GET", "/v1/health", NULL, NULL,
	    NULL, &res), 0);
	assert_int_equal(res.status, 404);
	hl_test_http_free(&res);
	assert_int_equal(hl_test_api(&r, "GET", "/metrics", NULL, NULL, &res),
	    0);
	assert_int_equal(res.status, 404);
	hl_test_http_free(&res);
	hl_test_relay_free(&r);
}

/* Runs serve with stderr appended to log and JOURNAL_STREAM set to js
 * until it has started, then stops it; 0 or -1. */
static int
serve_once(struct hl_test_relay *r, const char *log, const char *js)
{
	char prog[HL_TEST_PATH], listen[64];
	snprintf(listen, sizeof listen, "127.0.0.1:%d", hl_test_free_port());
	hl_test_relay_set(r, "server", "listen", listen);
	if (hl_test_relay_write_config(r) != 0)
		return -1;
	const char *argv[] = { hl_test_program("hotline-relay", prog,
	    sizeof prog), "serve", "-c", r->config, NULL };
	setenv("JOURNAL_STREAM", js, 1);
	pid_t pid;
	int rc = hl_test_spawn(argv, NULL, log, &pid);
	unsetenv("JOURNAL_STREAM");
	if (rc != 0)
		return -1;
	static char buf[16384];
	long long end = hl_test_now_ms() + 15000;
	int started = 0;
	while (!started && hl_test_now_ms() < end) {
		started = hl_test_read_file(log, buf, sizeof buf) == 0 &&
		    strstr(buf, "event=start") != NULL;
		if (!started)
			hl_test_sleep_ms(50);
	}
	int status = 0;
	kill(pid, SIGTERM);
	if (hl_test_wait(pid, 15000, &status) != 0)
		return -1;
	return started && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 :
	    -1;
}

/* JOURNAL_STREAM naming serve's stderr: "<6>ts=..." lines. */
static void
test_journal_priorities(void **state)
{
	(void)state;
	struct hl_test_relay r;
	assert_int_equal(hl_test_relay_new(&r), 0);
	char log[HL_TEST_PATH];
	snprintf(log, sizeof log, "%s/journal.log", r.dir);
	FILE *f = fopen(log, "w");
	assert_non_null(f);
	fclose(f);
	struct stat sb;
	assert_int_equal(stat(log, &sb), 0);
	char js[64];
	snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)sb.st_dev,
	    (unsigned long long)sb.st_ino);
	assert_int_equal(serve_once(&r, log, js), 0);
	static char text[16384];
	assert_int_equal(hl_test_read_file(log, text, sizeof text), 0);
	assert_true(strncmp(text, "<6>ts=", 6) == 0);
	assert_non_null(strstr(text, "\n<6>ts="));
	assert_null(strstr(text, "\nts="));

	/* Another file's device and inode (not the journal): no prefix. */
	char other[HL_TEST_PATH];
	snprintf(other, sizeof other, "%s/plain.log", r.dir);
	struct stat os;
	assert_int_equal(stat(r.config, &os), 0);
	snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)os.st_dev,
	    (unsigned long long)os.st_ino);
	assert_int_equal(serve_once(&r, other, js), 0);
	assert_int_equal(hl_test_read_file(other, text, sizeof text), 0);
	assert_true(strncmp(text, "ts=", 3) == 0);
	assert_null(strstr(text, "<6>"));
	hl_test_relay_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_config),
		cmocka_unit_test(test_json_and_version),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_journal_priorities),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
