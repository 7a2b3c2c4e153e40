/* Accounts through the real relay: registration with good, wrong, used,
 * expired and malformed codes; a registration whose answer was lost,
 * retried; codes retired by a registration; bearer-token failures;
 * revocation while serving (the token stops at once, queued messages
 * become notices); keys, profile and directory; and the command line's
 * exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/lib/hl_testapi.h"
#include "tests/lib/hl_testhttp.h"
#include "tests/lib/hl_testrelay.h"

#define KEY "BRERERERERERERERERERERERERERERERERERERERERER"
#define KEY2 "BSIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIi"
#define SIG "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIi" \
	"IiIiIiIiIiIiIiIiIiIiIg=="

static struct hl_test_relay relay;

static int
group_setup(void **state)
{
	(void)state;
	if (hl_test_relay_new(&relay) != 0)
		return -1;
	return hl_test_relay_start(&relay);
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

static const char *
field(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

/* Posts a registration for handle with code, as identity key and
 * registration id; returns the status and, on 201, the token. */
static long
register_as(const char *handle, const char *code, const char *identity,
    int registration_id, char *token, char *error)
{
	char body[1024];
	snprintf(body, sizeof body, "{\"handle\":\"%s\",\"code\":\"%s\","
	    "\"identity_key\":\"%s\",\"registration_id\":%d,\"device_id\":1,"
	    "\"signed_prekey\":{\"id\":1,\"key\":\"%s\",\"signature\":\"%s\"},"
	    "\"prekeys\":[{\"id\":1,\"key\":\"%s\"}],\"profile\":{\"name\":\"x\"}}",
	    handle, code, identity, registration_id, KEY, SIG, KEY);
	struct hl_test_http res;
	hl_test_api(&relay, "POST", "/v1/accounts", body, NULL, &res);
	long status = res.status;
	if (error != NULL)
		hl_test_http_error(&res, error, 64);
	if (token != NULL) {
		json_t *j = hl_test_http_json(&res);
		snprintf(token, 65, "%s", field(j, "token"));
		json_decref(j);
	}
	hl_test_http_free(&res);
	return status;
}

static long
register_with(const char *handle, const char *code, char *token,
    char *error)
{
	return register_as(handle, code, KEY, 77, token, error);
}

/* The status of GET /v1/keys with token. */
static long
keys_status(const char *token)
{
	struct hl_test_http res;
	hl_test_api(&relay, "GET", "/v1/keys", NULL, token, &res);
	long status = res.status;
	hl_test_http_free(&res);
	return status;
}

static void
test_registration_codes(void **state)
{
	(void)state;
	char code[64], other[64], token[65], err[64];
	assert_int_equal(hl_test_relay_invite(&relay, "reg.one", NULL, code), 0);
	assert_int_equal(hl_test_relay_invite(&relay, "reg.two", NULL, other), 0);
	/* Another handle's code, then a well-formed made-up one. */
	assert_int_equal(register_with("reg.one", other, NULL, err), 403);
	assert_string_equal(err, "invalid_code");
	assert_int_equal(register_with("reg.one",
	    "0000-0000-0000-0000-0000-0000", NULL, err), 403);
	assert_string_equal(err, "invalid_code");
	/* Malformed is a bad request, not a wrong code. */
	assert_int_equal(register_with("reg.one", "short", NULL, err), 400);
	assert_string_equal(err, "bad_request");
	/* Good, typed in lower case without dashes. */
	char typed[64];
	size_t o = 0;
	for (const char *p = code; *p != '\0'; p++)
		if (*p != '-')
			typed[o++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	typed[o] = '\0';
	assert_int_equal(register_with("reg.one", typed, token, NULL), 201);
	assert_int_equal(strlen(token), 64);
	/* Used, by an account that has used its token since. */
	assert_int_equal(keys_status(token), 200);
	assert_int_equal(register_with("reg.one", code, NULL, err), 403);
	assert_string_equal(err, "invalid_code");
	/* Expired: a code valid for one second, tried after it. */
	char brief[64];
	assert_int_equal(hl_test_relay_invite(&relay, "reg.three", "1s", brief), 0);
	hl_test_sleep_ms(1500);
	assert_int_equal(register_with("reg.three", brief, NULL, err), 403);
	assert_string_equal(err, "invalid_code");
	/* Two codes for one handle: the registration retires the second,
	 * which stays refused after a revoke. */
	char c1[64], c2[64], c3[64];
	assert_int_equal(hl_test_relay_invite(&relay, "reg.four", NULL, c1), 0);
	assert_int_equal(hl_test_relay_invite(&relay, "reg.four", NULL, c2), 0);
	assert_int_equal(register_with("reg.four", c1, NULL, NULL), 201);
	assert_int_equal(register_with("reg.four", c2, NULL, err), 403);
	assert_string_equal(err, "invalid_code");
	char out[256], errout[512];
	const char *revoke[] = { "revoke", "reg.five", NULL };
	assert_int_equal(hl_test_relay_invite(&relay, "reg.five", NULL, c1), 0);
	assert_int_equal(hl_test_relay_invite(&relay, "reg.five", NULL, c2), 0);
	assert_int_equal(register_with("reg.five", c1, NULL, NULL), 201);
	assert_int_equal(hl_test_relay_cmd(&relay, out, sizeof out, errout,
	    sizeof errout, revoke), 0);
	assert_int_equal(register_with("reg.five", c2, NULL, err), 403);
	assert_string_equal(err, "invalid_code");
	assert_int_equal(hl_test_relay_invite(&relay, "reg.five", NULL, c3), 0);
	assert_int_equal(register_with("reg.five", c3, NULL, NULL), 201);
	/* invite refuses a handle that has an account. */
	const char *args[] = { "invite", "reg.four", NULL };
	assert_int_equal(hl_test_relay_cmd(&relay, out, sizeof out, errout,
	    sizeof errout, args), 1);
	assert_non_null(strstr(errout, "already has an active account"));
}

static void
test_registration_retry(void **state)
{
	(void)state;
	char code[64], lost[65], token[65], again[65], err[64];
	assert_int_equal(hl_test_relay_invite(&relay, "retry.a", NULL, code), 0);
	/* The answer to this one is lost on its way. */
	assert_int_equal(register_with("retry.a", code, lost, NULL), 201);
	/* Someone else with the code cannot take the account over. */
	assert_int_equal(register_as("retry.a", code, KEY2, 77, NULL, err), 403);
	assert_string_equal(err, "invalid_code");
	assert_int_equal(register_as("retry.a", code, KEY, 78, NULL, err), 403);
	/* The same registration again gets a new token; the lost one, which
	 * nobody saw, no longer works. */
	assert_int_equal(register_with("retry.a", code, token, NULL), 201);
	assert_int_equal(strlen(token), 64);
	assert_string_not_equal(token, lost);
	assert_int_equal(keys_status(lost), 401);
	/* A client that got both answers uses the last; retried again
	 * before any use, the same holds. */
	assert_int_equal(register_with("retry.a", code, again, NULL), 201);
	assert_int_equal(keys_status(token), 401);
	assert_int_equal(keys_status(again), 200);
	/* Once the account has authenticated a request, no more. */
	assert_int_equal(register_with("retry.a", code, NULL, err), 403);
	assert_string_equal(err, "invalid_code");
	assert_int_equal(keys_status(again), 200);
	/* The directory has one account for the handle. */
	struct hl_test_http res;
	hl_test_api(&relay, "GET", "/v1/directory?q=retry.a", NULL, again, &res);
	assert_int_equal(res.status, 200);
	json_t *j = hl_test_http_json(&res);
	assert_int_equal(json_array_size(json_object_get(j, "entries")), 1);
	json_decref(j);
	hl_test_http_free(&res);
	static char log[1 << 20];
	assert_int_equal(hl_test_read_file(relay.log, log, sizeof log), 0);
	assert_non_null(strstr(log, "event=account_registered handle=retry.a "
	    "retry=reissued"));
}

static void
test_auth_failures(void **state)
{
	(void)state;
	struct hl_test_account a;
	assert_int_equal(hl_test_relay_account(&relay, "auth.a", 1, &a), 0);
	struct hl_test_http res;
	char err[64];
	hl_test_api(&relay, "GET", "/v1/keys", NULL, a.token, &res);
	assert_int_equal(res.status, 200);
	hl_test_http_free(&res);

	hl_test_api(&relay, "GET", "/v1/keys", NULL, NULL, &res);
	assert_int_equal(res.status, 401);
	assert_string_equal(hl_test_http_error(&res, err, sizeof err),
	    "unauthorized");
	assert_non_null(strstr(res.www_authenticate, "Bearer"));
	hl_test_http_free(&res);

	char unknown[65];
	unsigned char raw[32];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(unknown, sizeof unknown, raw, sizeof raw);
	hl_test_api(&relay, "GET", "/v1/keys", NULL, unknown, &res);
	assert_int_equal(res.status, 401);
	hl_test_http_free(&res);

	static const char *const malformed[] = {
		"Authorization: Bearer abc",
		"Authorization: Basic dXNlcjpwYXNz",
		"Authorization: Bearer",
	};
	for (size_t i = 0; i < 3; i++) {
		const char *hdrs[] = { malformed[i], NULL };
		struct hl_test_http_opts opts;
		memset(&opts, 0, sizeof opts);
		opts.headers = hdrs;
		hl_test_http(relay.url, "GET", "/v1/messages", NULL, NULL, &opts, &res);
		assert_int_equal(res.status, 401);
		hl_test_http_free(&res);
	}
	/* Upper-case hex is not the token. */
	char upper[65];
	for (size_t i = 0; i < 65; i++)
		upper[i] = (char)(a.token[i] >= 'a' && a.token[i] <= 'f' ?
		    a.token[i] - 32 : a.token[i]);
	hl_test_api(&relay, "GET", "/v1/keys", NULL, upper, &res);
	assert_int_equal(res.status, strcmp(upper, a.token) == 0 ? 200 : 401);
	hl_test_http_free(&res);
}

static void
test_revoke_while_serving(void **state)
{
	(void)state;
	struct hl_test_account a, b, x;
	assert_int_equal(hl_test_relay_account(&relay, "rev.a", 1, &a), 0);
	assert_int_equal(hl_test_relay_account(&relay, "rev.b", 1, &b), 0);
	assert_int_equal(hl_test_relay_account(&relay, "rev.x", 3, &x), 0);
	char ids[3][33];
	struct hl_test_http res;
	for (int i = 0; i < 3; i++) {
		hl_test_api_id(ids[i]);
		assert_int_equal(hl_test_api_send(&relay, i < 2 ? &a : &b, "rev.x",
		    ids[i], "for x", &res), 0);
		assert_int_equal(res.status, 202);
		hl_test_http_free(&res);
	}
	hl_test_api(&relay, "GET", "/v1/keys", NULL, x.token, &res);
	assert_int_equal(res.status, 200);
	hl_test_http_free(&res);

	char out[256], err[256];
	const char *args[] = { "revoke", "rev.x", NULL };
	assert_int_equal(hl_test_relay_cmd(&relay, out, sizeof out, err,
	    sizeof err, args), 0);
	assert_non_null(strstr(out, "3 queued message(s) dropped"));

	/* The very next request with the token is refused. */
	hl_test_api(&relay, "GET", "/v1/keys", NULL, x.token, &res);
	assert_int_equal(res.status, 401);
	hl_test_http_free(&res);
	json_t *got;
	assert_int_equal(hl_test_api_fetch(&relay, &x, 0, &got), 401);

	/* The senders hear of each dropped message. */
	assert_int_equal(hl_test_api_fetch(&relay, &a, 0, &got), 200);
	json_t *items = json_object_get(got, "messages");
	assert_int_equal(json_array_size(items), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *it = json_array_get(items, i);
		assert_string_equal(field(it, "kind"), "dropped");
		assert_string_equal(field(it, "id"), ids[i]);
		assert_string_equal(field(it, "to"), "rev.x");
		assert_string_equal(field(it, "reason"), "revoked");
	}
	json_decref(got);
	assert_int_equal(hl_test_api_fetch(&relay, &b, 0, &got), 200);
	assert_int_equal(json_array_size(json_object_get(got, "messages")), 1);
	json_decref(got);

	/* Nobody can write to it or fetch its keys any more. */
	char id[33], code[64];
	hl_test_api_id(id);
	assert_int_equal(hl_test_api_send(&relay, &a, "rev.x", id, "late", &res),
	    0);
	assert_int_equal(res.status, 404);
	assert_string_equal(hl_test_http_error(&res, code, sizeof code),
	    "unknown_recipient");
	hl_test_http_free(&res);
	hl_test_api(&relay, "GET", "/v1/keys/rev.x", NULL, a.token, &res);
	assert_int_equal(res.status, 404);
	hl_test_http_free(&res);
	/* Revoking again says so. */
	assert_int_equal(hl_test_relay_cmd(&relay, out, sizeof out, err,
	    sizeof err, args), 1);
	assert_non_null(strstr(err, "no active account"));
	/* The handle may enrol again with a new code. */
	struct hl_test_account x2;
	assert_int_equal(hl_test_relay_account(&relay, "rev.x", 1, &x2), 0);
	assert_string_not_equal(x2.token, x.token);
	hl_test_api(&relay, "GET", "/v1/keys", NULL, x.token, &res);
	assert_int_equal(res.status, 401);
	hl_test_http_free(&res);
}

static void
test_keys_profile_directory(void **state)
{
	(void)state;
	struct hl_test_account a;
	assert_int_equal(hl_test_relay_account(&relay, "dir.a", 2, &a), 0);
	struct hl_test_http res;
	hl_test_api(&relay, "GET", "/v1/keys", NULL, a.token, &res);
	json_t *j = hl_test_http_json(&res);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "prekeys_remaining")), 2);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "signed_prekey_id")), 1);
	json_decref(j);
	hl_test_http_free(&res);

	hl_test_api(&relay, "PUT", "/v1/keys", "{\"prekeys\":[{\"id\":9,\"key\":\""
	    KEY "\"}],\"signed_prekey\":{\"id\":2,\"key\":\"" KEY "\","
	    "\"signature\":\"" SIG "\"}}", a.token, &res);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body, "{\"prekeys_remaining\":3}");
	hl_test_http_free(&res);
	hl_test_api(&relay, "PUT", "/v1/keys", "{\"prekeys\":[{\"id\":9,\"key\":\""
	    KEY "\"}]}", a.token, &res);
	assert_int_equal(res.status, 400);
	assert_non_null(strstr(res.body, "id 9 is already stored"));
	hl_test_http_free(&res);

	hl_test_api(&relay, "PUT", "/v1/profile", "{\"name\":\"Dir duty desk\","
	    "\"organisation\":\"Test CERT\",\"country\":\"LV\",\"languages\":[\"lv\","
	    "\"en\"],\"timezone\":\"Europe/Riga\",\"alternate\":\"dir.b\"}", a.token,
	    &res);
	assert_int_equal(res.status, 200);
	j = hl_test_http_json(&res);
	assert_string_equal(field(j, "handle"), "dir.a");
	assert_string_equal(field(j, "organisation"), "Test CERT");
	assert_string_equal(field(j, "alternate"), "dir.b");
	assert_string_equal(json_string_value(json_array_get(json_object_get(j,
	    "languages"), 1)), "en");
	json_decref(j);
	hl_test_http_free(&res);

	hl_test_api(&relay, "GET", "/v1/directory?q=DUTY%20DESK", NULL, a.token,
	    &res);
	assert_int_equal(res.status, 200);
	j = hl_test_http_json(&res);
	json_t *entries = json_object_get(j, "entries");
	assert_int_equal(json_array_size(entries), 1);
	json_t *e = json_array_get(entries, 0);
	assert_string_equal(field(e, "handle"), "dir.a");
	assert_string_equal(field(e, "country"), "LV");
	assert_int_equal(strlen(field(e, "identity_key")), 44);
	assert_true(json_integer_value(json_object_get(e, "updated")) > 0);
	json_decref(j);
	hl_test_http_free(&res);

	hl_test_api(&relay, "GET", "/v1/directory", NULL, a.token, &res);
	j = hl_test_http_json(&res);
	assert_true(json_array_size(json_object_get(j, "entries")) >= 1);
	json_decref(j);
	hl_test_http_free(&res);
}

/* Runs hotline-relay with args (no -c added); returns the exit code. */
static int
run_raw(const char *const *args, char *out, size_t outlen, char *err,
    size_t errlen)
{
	char prog[HL_TEST_PATH], o[HL_TEST_DIR + 16], e[HL_TEST_DIR + 16];
	const char *argv[16];
	size_t n = 0;
	argv[n++] = hl_test_program("hotline-relay", prog, sizeof prog);
	for (size_t i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(o, sizeof o, "%s/raw.out", relay.dir);
	snprintf(e, sizeof e, "%s/raw.err", relay.dir);
	remove(o);
	remove(e);
	pid_t pid;
	int status = 0;
	if (hl_test_spawn(argv, o, e, &pid) != 0 ||
	    hl_test_wait(pid, 30000, &status) != 0)
		return -1;
	hl_test_read_file(o, out, outlen);
	hl_test_read_file(e, err, errlen);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
count_lines(const char *s)
{
	int n = 0;
	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
test_command_line(void **state)
{
	(void)state;
	char out[4096], err[4096];
	static const char *const commands[] = { "init", "serve", "invite",
	    "revoke", "accounts", "stats", "backup" };
	for (size_t i = 0; i < 7; i++) {
		const char *help[] = { commands[i], "--help", NULL };
		assert_int_equal(run_raw(help, out, sizeof out, err, sizeof err), 0);
		assert_non_null(strstr(out, "usage: hotline-relay"));
		const char *version[] = { commands[i], "--version", NULL };
		assert_int_equal(run_raw(version, out, sizeof out, err, sizeof err), 0);
		assert_non_null(strstr(out, "hotline-relay "));
		const char *bad[] = { commands[i], "--no-such-flag", NULL };
		assert_int_equal(run_raw(bad, out, sizeof out, err, sizeof err), 2);
		assert_int_equal(count_lines(err), 1);
		assert_non_null(strstr(err, "unknown option --no-such-flag"));
	}
	const char *top[] = { "--help", NULL };
	assert_int_equal(run_raw(top, out, sizeof out, err, sizeof err), 0);
	const char *none[] = { NULL };
	assert_int_equal(run_raw(none, out, sizeof out, err, sizeof err), 2);
	const char *unknown[] = { "frobnicate", NULL };
	assert_int_equal(run_raw(unknown, out, sizeof out, err, sizeof err), 2);
	assert_int_equal(count_lines(err), 1);
	const char *missing[] = { "invite", "-c", relay.config, NULL };
	assert_int_equal(run_raw(missing, out, sizeof out, err, sizeof err), 2);
	assert_non_null(strstr(err, "missing HANDLE"));
	const char *nofile[] = { "backup", "-c", relay.config, NULL };
	assert_int_equal(run_raw(nofile, out, sizeof out, err, sizeof err), 2);
	const char *extra[] = { "stats", "extra", "-c", relay.config, NULL };
	assert_int_equal(run_raw(extra, out, sizeof out, err, sizeof err), 2);
	const char *noval[] = { "stats", "-c", NULL };
	assert_int_equal(run_raw(noval, out, sizeof out, err, sizeof err), 2);
	const char *badhandle[] = { "invite", "Not_A_Handle", "-c", relay.config,
	    NULL };
	assert_int_equal(run_raw(badhandle, out, sizeof out, err, sizeof err), 2);
	const char *badexp[] = { "invite", "ok.handle", "--expires", "soon", "-c",
	    relay.config, NULL };
	assert_int_equal(run_raw(badexp, out, sizeof out, err, sizeof err), 2);
	assert_non_null(strstr(err, "--expires"));

	/* A bad relay.ini: exit 3, one line naming file, line and key. */
	char bad_ini[HL_TEST_DIR + 16];
	snprintf(bad_ini, sizeof bad_ini, "%s/bad.ini", relay.dir);
	FILE *f = fopen(bad_ini, "w");
	assert_non_null(f);
	fputs("[server]\nthreads = 2\n[limits]\nrate_per_minute = lots\n", f);
	fclose(f);
	const char *badcfg[] = { "stats", "-c", bad_ini, NULL };
	assert_int_equal(run_raw(badcfg, out, sizeof out, err, sizeof err), 3);
	assert_int_equal(count_lines(err), 1);
	assert_non_null(strstr(err, "bad.ini:4: [limits] rate_per_minute: "
	    "expected an integer"));
	const char *nocfg[] = { "stats", "-c", "/nonexistent/relay.ini", NULL };
	assert_int_equal(run_raw(nocfg, out, sizeof out, err, sizeof err), 3);

	/* The admin views work while the relay serves. */
	const char *accounts[] = { "accounts", NULL };
	assert_int_equal(hl_test_relay_cmd(&relay, out, sizeof out, err,
	    sizeof err, accounts), 0);
	assert_non_null(strstr(out, "HANDLE"));
	const char *stats[] = { "stats", NULL };
	assert_int_equal(hl_test_relay_cmd(&relay, out, sizeof out, err,
	    sizeof err, stats), 0);
	assert_non_null(strstr(out, "accounts_active: "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registration_codes),
		cmocka_unit_test(test_registration_retry),
		cmocka_unit_test(test_auth_failures),
		cmocka_unit_test(test_revoke_while_serving),
		cmocka_unit_test(test_keys_profile_directory),
		cmocka_unit_test(test_command_line),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
