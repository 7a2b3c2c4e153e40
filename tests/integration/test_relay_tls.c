/* TLS: a relay with a certificate made by the openssl command for this
 * test serves HTTPS with TLS 1.3 only by default (a TLS 1.2-only client is
 * refused); plain HTTP is refused at start off loopback, and without a
 * certificate unless allowed; priorities that allow older versions are
 * warned about; a key that does not match the certificate, or priorities
 * GnuTLS refuses, stop serve with the configuration exit code; a key file
 * readable by others (not by the group) is warned about. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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

/* Runs serve with a config until it has started (then stops it) or
 * exits; log gets its standard error. Returns its exit code. */
static int
serve_log(const char *ini_text, char *log, size_t n)
{
	char ini[HL_TEST_DIR + 16], e[HL_TEST_DIR + 16], prog[HL_TEST_PATH];
	char listen[32];
	snprintf(ini, sizeof ini, "%s/brief.ini", relay.dir);
	snprintf(e, sizeof e, "%s/brief.err", relay.dir);
	snprintf(listen, sizeof listen, "127.0.0.1:%d", hl_test_free_port());
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
	long long deadline = hl_test_now_ms() + 15000;
	int exited = 0;
	while (hl_test_now_ms() < deadline) {
		if (hl_test_wait(pid, 50, &status) == 0) {
			exited = 1;
			break;
		}
		hl_test_read_file(e, log, n);
		if (strstr(log, "event=start") != NULL)
			break;
	}
	if (!exited) {
		kill(pid, SIGTERM);
		if (hl_test_wait(pid, 15000, &status) != 0) {
			kill(pid, SIGKILL);
			hl_test_wait(pid, 5000, NULL);
			return -1;
		}
	}
	hl_test_read_file(e, log, n);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_tls_settings_checked(void **state)
{
	(void)state;
	/* Its relay.ini files name a SQLite store of their own; the TLS
	 * checks do not depend on the store. */
	if (hl_test_store_is_pg()) {
		skip();
		return;
	}
	char log[8192], other[HL_TEST_DIR + 16], key[HL_TEST_DIR + 16];
	static const char *const base = "[store]\nurl = sqlite:relay.db\n"
	    "[server]\ntls_cert = cert.pem\n";
	char ini[512];
	/* TLS 1.2 allowed: it serves, and says so. */
	snprintf(ini, sizeof ini, "%stls_key = key.pem\n"
	    "tls_priorities = NORMAL\n", base);
	assert_int_equal(serve_log(ini, log, sizeof log), 0);
	assert_non_null(strstr(log, "level=warn event=tls "
	    "warning=older_than_tls1.3 allows="));
	assert_non_null(strstr(log, "TLS1.2"));
	/* The default allows TLS 1.3 alone: no warning. */
	snprintf(ini, sizeof ini, "%stls_key = key.pem\n", base);
	assert_int_equal(serve_log(ini, log, sizeof log), 0);
	assert_null(strstr(log, "older_than_tls1.3"));
	assert_null(strstr(log, "readable_by_others"));
	/* Priorities GnuTLS cannot read: exit 3 with the reason. */
	snprintf(ini, sizeof ini, "%stls_key = key.pem\n"
	    "tls_priorities = NORMAL:+NO-SUCH-THING\n", base);
	assert_int_equal(serve_log(ini, log, sizeof log), 3);
	assert_non_null(strstr(log, "tls_priorities"));
	/* A key that is not the certificate's: exit 3 with the reason. */
	snprintf(other, sizeof other, "%s/other.pem", relay.dir);
	const char *argv[] = { "openssl", "genpkey", "-algorithm", "EC",
	    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", other, NULL };
	pid_t pid;
	int status = 0;
	assert_int_equal(hl_test_spawn(argv, NULL, NULL, &pid), 0);
	assert_int_equal(hl_test_wait(pid, 30000, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	chmod(other, 0600);
	snprintf(ini, sizeof ini, "%stls_key = other.pem\n", base);
	assert_int_equal(serve_log(ini, log, sizeof log), 3);
	assert_non_null(strstr(log, "GnuTLS refuses"));
	/* A key its group may read is the documented setup; one others may
	 * read is warned about. */
	snprintf(key, sizeof key, "%s/key.pem", relay.dir);
	snprintf(ini, sizeof ini, "%stls_key = key.pem\n", base);
	assert_int_equal(chmod(key, 0640), 0);
	assert_int_equal(serve_log(ini, log, sizeof log), 0);
	assert_null(strstr(log, "readable_by_others"));
	assert_int_equal(chmod(key, 0604), 0);
	assert_int_equal(serve_log(ini, log, sizeof log), 0);
	assert_non_null(strstr(log, "warning=readable_by_others"));
	assert_int_equal(chmod(key, 0600), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_https_works),
		cmocka_unit_test(test_untrusted_and_old_clients_refused),
		cmocka_unit_test(test_plain_http_rules),
		cmocka_unit_test(test_tls_settings_checked),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
