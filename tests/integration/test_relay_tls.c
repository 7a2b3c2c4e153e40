/* TLS: a relay with a certificate made by the openssl command for this
 * test serves HTTPS with TLS 1.3 only by default (a TLS 1.2-only client is
 * refused); plain HTTP is refused at start off loopback, and without a
 * certificate unless allowed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/lib/hl_testapi.h"
#include "tests/lib/hl_testhttp.h"
#include "tests/lib/hl_testrelay.h"

static struct hl_test_relay relay;

static int
group_setup(void **state)
{
	(void)state;
	if (hl_test_relay_new(&relay) != 0 || hl_test_relay_tls(&relay) != 0)
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

static void
test_https_works(void **state)
{
	(void)state;
	assert_non_null(strstr(relay.url, "https://127.0.0.1:"));
	assert_int_equal(hl_test_api_health(&relay), 200);
	/* A whole exchange over TLS. */
	struct hl_test_account a, b;
	assert_int_equal(hl_test_relay_account(&relay, "tls.a", 1, &a), 0);
	assert_int_equal(hl_test_relay_account(&relay, "tls.b", 1, &b), 0);
	char id[33];
	hl_test_api_id(id);
	struct hl_test_http res;
	assert_int_equal(hl_test_api_send(&relay, &a, "tls.b", id, "over tls",
	    &res), 0);
	assert_int_equal(res.status, 202);
	hl_test_http_free(&res);
	json_t *got;
	assert_int_equal(hl_test_api_fetch(&relay, &b, 0, &got), 200);
	assert_int_equal(json_array_size(json_object_get(got, "messages")), 1);
	json_decref(got);
}

static void
test_untrusted_and_old_clients_refused(void **state)
{
	(void)state;
	struct hl_test_http res;
	struct hl_test_http_opts opts;
	memset(&opts, 0, sizeof opts);
	/* Without the test certificate as CA the handshake fails. */
	assert_int_equal(hl_test_http(relay.url, "GET", "/v1/health", NULL, NULL,
	    &opts, &res), -1);
	assert_int_equal(res.status, 0);
	hl_test_http_free(&res);
	/* TLS 1.2 at most: refused by the default priorities. */
	opts.ca_file = relay.ca_file;
	opts.tls12_only = 1;
	assert_int_equal(hl_test_http(relay.url, "GET", "/v1/health", NULL, NULL,
	    &opts, &res), -1);
	assert_int_equal(res.status, 0);
	hl_test_http_free(&res);
	/* Plain HTTP to the TLS port gets no HTTP answer. */
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", relay.port);
	memset(&opts, 0, sizeof opts);
	opts.timeout_s = 10;
	hl_test_http(url, "GET", "/v1/health", NULL, NULL, &opts, &res);
	assert_int_not_equal(res.status, 200);
	hl_test_http_free(&res);
	/* The relay is unharmed. */
	assert_int_equal(hl_test_api_health(&relay), 200);
}

/* Runs serve with a config and a --listen; returns its exit code. */
static int
serve_refused(const char *ini_text, const char *listen, char *err, size_t n)
{
	char ini[HL_TEST_DIR + 16], e[HL_TEST_DIR + 16], prog[HL_TEST_PATH];
	snprintf(ini, sizeof ini, "%s/refuse.ini", relay.dir);
	snprintf(e, sizeof e, "%s/refuse.err", relay.dir);
	remove(e);
	FILE *f = fopen(ini, "w");
	assert_non_null(f);
	fputs(ini_text, f);
	fclose(f);
	const char *argv[] = { hl_test_program("hotline-relay", prog, sizeof prog),
	    "serve", "-c", ini, "--listen", listen, NULL };
	pid_t pid;
	int status = 0;
	assert_int_equal(hl_test_spawn(argv, NULL, e, &pid), 0);
	if (hl_test_wait(pid, 20000, &status) != 0) {
		kill(pid, SIGKILL);
		hl_test_wait(pid, 5000, NULL);
		return -1;
	}
	hl_test_read_file(e, err, n);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_plain_http_rules(void **state)
{
	(void)state;
	char err[1024];
	/* Plain HTTP allowed, but not on a loopback address: refused before
	 * anything is opened, with the reason. */
	assert_int_equal(serve_refused("[server]\nallow_plain_http = true\n"
	    "[store]\nurl = sqlite:relay.db\n", "0.0.0.0:1", err, sizeof err), 3);
	assert_non_null(strstr(err, "refusing plain HTTP on 0.0.0.0:1"));
	assert_non_null(strstr(err, "loopback"));
	/* No certificate and plain HTTP not allowed. */
	assert_int_equal(serve_refused("[store]\nurl = sqlite:relay.db\n",
	    "127.0.0.1:1", err, sizeof err), 3);
	assert_non_null(strstr(err, "no TLS certificate"));
	/* A certificate file that is not there. */
	assert_int_equal(serve_refused("[server]\ntls_cert = missing.pem\n"
	    "tls_key = key.pem\n[store]\nurl = sqlite:relay.db\n", "127.0.0.1:1",
	    err, sizeof err), 3);
	assert_non_null(strstr(err, "missing.pem"));
	/* A bad --listen is a usage error. */
	assert_int_equal(serve_refused("[store]\nurl = sqlite:relay.db\n",
	    "localhost:99", err, sizeof err), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_https_works),
		cmocka_unit_test(test_untrusted_and_old_clients_refused),
		cmocka_unit_test(test_plain_http_rules),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
