/* Running under systemd: serve tells $NOTIFY_SOCKET READY=1 once it
 * answers and STOPPING=1 when it stops; SIGHUP loads a renewed TLS
 * certificate and key (made here by the openssl command) that new
 * handshakes see at once, with the queue and the process kept, and a bad
 * pair on SIGHUP keeps the one in use; a bad relay.ini stops serve with
 * the exit code the unit file does not restart on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/hl_testapi.h"
#include "tests/lib/hl_testhttp.h"
#include "tests/lib/hl_testrelay.h"

/* Waits (at most timeout_ms) for what to appear in the file at path. */
static int
wait_for_text(const char *path, const char *what, int timeout_ms)
{
	static char buf[65536];
	long long end = hl_test_now_ms() + timeout_ms;
	while (hl_test_now_ms() < end) {
		if (hl_test_read_file(path, buf, sizeof buf) == 0 &&
		    strstr(buf, what) != NULL)
			return 0;
		hl_test_sleep_ms(50);
	}
	return -1;
}

/* Reads datagrams from fd until one holds what (at most timeout_ms). */
static int
wait_for_notice(int fd, const char *what, int timeout_ms)
{
	long long end = hl_test_now_ms() + timeout_ms;
	while (hl_test_now_ms() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		char msg[512];
		ssize_t n = recv(fd, msg, sizeof msg - 1, 0);
		if (n <= 0)
			continue;
		msg[n] = '\0';
		if (strstr(msg, what) != NULL)
			return 0;
	}
	return -1;
}

static void
test_notify_ready_and_stopping(void **state)
{
	(void)state;
	struct hl_test_relay r;
	assert_int_equal(hl_test_relay_new(&r), 0);
	char path[HL_TEST_PATH];
	snprintf(path, sizeof path, "%s/notify.sock", r.dir);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof sa.sun_path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(hl_test_relay_start(&r), 0);
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(wait_for_notice(fd, "READY=1", 15000), 0);
	int status = -1;
	assert_int_equal(hl_test_relay_stop(&r, SIGTERM, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(wait_for_notice(fd, "STOPPING=1", 5000), 0);
	close(fd);
	hl_test_relay_free(&r);
}

/* A fresh self-signed certificate for 127.0.0.1 at cert, key at key. */
static int
new_cert(const char *dir, const char *cert, const char *key)
{
	const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
	    "-keyout", key, "-out", cert, "-days", "3", "-subj",
	    "/CN=127.0.0.1 renewed", "-addext", "subjectAltName=IP:127.0.0.1",
	    NULL };
	char log[HL_TEST_PATH];
	snprintf(log, sizeof log, "%s/openssl-renew.log", dir);
	pid_t pid;
	int status = 0;
	if (hl_test_spawn(argv, log, log, &pid) != 0 ||
	    hl_test_wait(pid, 30000, &status) != 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

static long
health_with_ca(struct hl_test_relay *r, const char *ca)
{
	struct hl_test_http res;
	struct hl_test_http_opts opts;
	memset(&opts, 0, sizeof opts);
	opts.ca_file = ca;
	opts.timeout_s = 10;
	hl_test_http(r->url, "GET", "/v1/health", NULL, NULL, &opts, &res);
	long status = res.status;
	hl_test_http_free(&res);
	return status;
}

/* hotline_tls_cert_not_after_seconds from /metrics, trusting ca; -1. */
static long long
cert_expiry_metric(struct hl_test_relay *r, const char *ca)
{
	struct hl_test_http res;
	struct hl_test_http_opts opts;
	memset(&opts, 0, sizeof opts);
	opts.ca_file = ca;
	opts.timeout_s = 10;
	long long v = -1;
	const char *name = "\nhotline_tls_cert_not_after_seconds ";
	if (hl_test_http(r->url, "GET", "/metrics", NULL, NULL, &opts,
	    &res) == 0 && res.status == 200 && strstr(res.body, name) != NULL)
		v = atoll(strstr(res.body, name) + strlen(name));
	hl_test_http_free(&res);
	return v;
}

static int
copy_file(const char *from, const char *to)
{
	static char buf[65536];
	if (hl_test_read_file(from, buf, sizeof buf) != 0)
		return -1;
	FILE *f = fopen(to, "w");
	if (f == NULL)
		return -1;
	fputs(buf, f);
	return fclose(f);
}

/* A long-poll held across the reload, on the connection it began with. */
struct held_poll {
	struct hl_test_relay *relay;
	const struct hl_test_account *who;
	const char *ca;
	long status;
	size_t messages;
};

static void *
hold_poll(void *arg)
{
	struct held_poll *h = arg;
	struct hl_test_http res;
	struct hl_test_http_opts opts;
	memset(&opts, 0, sizeof opts);
	opts.ca_file = h->ca;
	opts.timeout_s = 60;
	hl_test_http(h->relay->url, "GET", "/v1/messages?wait=30", NULL,
	    h->who->token, &opts, &res);
	h->status = res.status;
	json_t *j = res.status == 200 ? hl_test_http_json(&res) : NULL;
	h->messages = json_array_size(json_object_get(j, "messages"));
	json_decref(j);
	hl_test_http_free(&res);
	return NULL;
}

/* Waits until the relay holds n long-polls (its /metrics gauge). */
static int
wait_for_polls(struct hl_test_relay *r, const char *ca, int n)
{
	char want[64];
	snprintf(want, sizeof want, "\nhotline_waiting_fetches %d\n", n);
	long long end = hl_test_now_ms() + 15000;
	while (hl_test_now_ms() < end) {
		struct hl_test_http res;
		struct hl_test_http_opts opts;
		memset(&opts, 0, sizeof opts);
		opts.ca_file = ca;
		opts.timeout_s = 10;
		int ok = hl_test_http(r->url, "GET", "/metrics", NULL, NULL,
		    &opts, &res) == 0 && res.status == 200 &&
		    strstr(res.body, want) != NULL;
		hl_test_http_free(&res);
		if (ok)
			return 0;
		hl_test_sleep_ms(50);
	}
	return -1;
}

static void
test_sighup_reloads_tls(void **state)
{
	(void)state;
	struct hl_test_relay r;
	assert_int_equal(hl_test_relay_new(&r), 0);
	assert_int_equal(hl_test_relay_tls(&r), 0);
	assert_int_equal(hl_test_relay_start(&r), 0);
	pid_t pid = r.pid;

	/* Something queued before the reload. */
	struct hl_test_account a, b;
	assert_int_equal(hl_test_relay_account(&r, "hup.a", 1, &a), 0);
	assert_int_equal(hl_test_relay_account(&r, "hup.b", 1, &b), 0);
	char id[33];
	hl_test_api_id(id);
	struct hl_test_http res;
	assert_int_equal(hl_test_api_send(&r, &a, "hup.b", id, "kept", &res),
	    0);
	assert_int_equal(res.status, 202);
	hl_test_http_free(&res);

	char old[HL_TEST_PATH], cert[HL_TEST_PATH], key[HL_TEST_PATH];
	char ncert[HL_TEST_PATH], nkey[HL_TEST_PATH];
	snprintf(old, sizeof old, "%s/old.pem", r.dir);
	snprintf(cert, sizeof cert, "%s/cert.pem", r.dir);
	snprintf(key, sizeof key, "%s/key.pem", r.dir);
	snprintf(ncert, sizeof ncert, "%s/new-cert.pem", r.dir);
	snprintf(nkey, sizeof nkey, "%s/new-key.pem", r.dir);
	assert_int_equal(copy_file(cert, old), 0);
	assert_int_equal(health_with_ca(&r, old), 200);
	long long expiry = cert_expiry_metric(&r, old);
	assert_true(expiry > 0);

	/* c holds a long-poll over the old certificate's connection. */
	struct hl_test_account c;
	assert_int_equal(hl_test_relay_account(&r, "hup.c", 1, &c), 0);
	struct held_poll held = { &r, &c, old, 0, 0 };
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, hold_poll, &held), 0);
	assert_int_equal(wait_for_polls(&r, old, 1), 0);

	/* Renewed in place, as certbot or an operator would. */
	assert_int_equal(new_cert(r.dir, ncert, nkey), 0);
	assert_int_equal(rename(nkey, key), 0);
	assert_int_equal(rename(ncert, cert), 0);
	assert_int_equal(kill(r.pid, SIGHUP), 0);
	assert_int_equal(wait_for_text(r.log, "event=reload status=ok",
	    15000), 0);
	assert_int_equal(health_with_ca(&r, cert), 200);
	assert_int_equal(health_with_ca(&r, old), 0);
	/* Valid for 3 days instead of 2: /metrics tells the new expiry. */
	assert_true(cert_expiry_metric(&r, cert) > expiry + 3600);
	assert_int_equal(r.pid, pid);
	assert_int_equal(kill(r.pid, 0), 0);

	/* The long-poll held across the reload gets what comes now. */
	hl_test_api_id(id);
	/* r.ca_file is cert.pem: the renewed certificate now. */
	assert_int_equal(hl_test_api_send(&r, &a, "hup.c", id, "held", &res),
	    0);
	assert_int_equal(res.status, 202);
	hl_test_http_free(&res);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(held.status, 200);
	assert_int_equal(held.messages, 1);

	/* The queue is as it was. */
	json_t *got = NULL;
	assert_int_equal(hl_test_api_fetch(&r, &b, 0, &got), 200);
	assert_int_equal(json_array_size(json_object_get(got, "messages")), 1);
	json_decref(got);

	/* A bad pair on SIGHUP: said in the log, the good one stays. */
	FILE *f = fopen(cert, "w");
	assert_non_null(f);
	fputs("-----BEGIN CERTIFICATE-----\nbroken\n"
	    "-----END CERTIFICATE-----\n", f);
	fclose(f);
	assert_int_equal(kill(r.pid, SIGHUP), 0);
	assert_int_equal(wait_for_text(r.log,
	    "event=reload status=failed kept=previous", 15000), 0);
	assert_int_equal(hl_test_api_health(&r), 0);   /* r.ca_file: broken */
	assert_int_equal(copy_file(old, cert), 0);     /* not what is served */
	assert_int_equal(health_with_ca(&r, old), 0);

	int status = -1;
	assert_int_equal(hl_test_relay_stop(&r, SIGTERM, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	hl_test_relay_free(&r);
}

/* The exit code of a bad relay.ini is one the unit does not restart on. */
static void
test_bad_config_exit_code_in_unit(void **state)
{
	(void)state;
	struct hl_test_relay r;
	assert_int_equal(hl_test_relay_new(&r), 0);
	hl_test_relay_set(&r, "server", "threads", "many");
	assert_int_equal(hl_test_relay_write_config(&r), 0);
	char err[1024];
	const char *serve[] = { "serve", "--init", NULL };
	int code = hl_test_relay_cmd(&r, NULL, 0, err, sizeof err, serve);
	assert_non_null(strstr(err, "relay.ini:"));
	const char *check[] = { "check-config", NULL };
	assert_int_equal(hl_test_relay_cmd(&r, NULL, 0, err, sizeof err,
	    check), code);

	static char unit[16384];
	assert_int_equal(hl_test_read_file("config/hotline-relay.service", unit,
	    sizeof unit), 0);
	const char *line = strstr(unit, "\nRestartPreventExitStatus=");
	assert_non_null(line);
	char want[8];
	snprintf(want, sizeof want, " %d", code);
	const char *eol = strchr(line + 1, '\n');
	char copy[128];
	snprintf(copy, sizeof copy, " %.*s", (int)(eol - line - 26), line + 26);
	assert_non_null(strstr(copy, want));
	/* Nothing runs before serve whose failure would be restarted. */
	assert_null(strstr(unit, "\nExecStartPre="));
	assert_non_null(strstr(unit, " serve --init "));
	assert_non_null(strstr(unit, "\nType=notify"));
	hl_test_relay_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_ready_and_stopping),
		cmocka_unit_test(test_sighup_reloads_tls),
		cmocka_unit_test(test_bad_config_exit_code_in_unit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
