/* The operator's tools: check-config reports every problem with its line
 * (exit 3) or says the file is fine (exit 0); a missing or folder -c FILE
 * is an error; accounts and stats --json print one JSON object; both
 * programs answer --version. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/lib/hl_testrelay.h"

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
	hl_test_relay_set(&relay, "store", "url", "sqlite:no/such/relay.db");
	assert_int_equal(hl_test_relay_write_config(&relay), 0);
	assert_int_equal(hl_test_relay_cmd(&relay, out, sizeof out, err,
	    sizeof err, check), 3);
	assert_non_null(strstr(err, "[store] url: the folder"));
	hl_test_relay_set(&relay, "store", "url", "sqlite:relay.db");
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_config),
		cmocka_unit_test(test_json_and_version),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
