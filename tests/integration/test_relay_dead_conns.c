/* Connections that hold the relay without using it, through the real
 * relay: long-polls whose client reset the connection give back the
 * account's fetch places and the address's connections at once, not at
 * the end of their wait; a request body trickled a byte at a time is cut
 * off after body_timeout, registration (no token needed) included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/hl_testapi.h"
#include "tests/lib/hl_testhttp.h"
#include "tests/lib/hl_testrelay.h"

#define POLLS 4                /* max_fetches_per_account */
#define PER_IP 6               /* max_connections_per_ip */

static struct hl_test_relay relay;
static struct hl_test_account who;

static int
group_setup(void **state)
{
	(void)state;
	if (hl_test_relay_new(&relay) != 0)
		return -1;
	hl_test_relay_set(&relay, "server", "max_fetches_per_account", "4");
	hl_test_relay_set(&relay, "server", "max_connections_per_ip", "6");
	/* Far beyond any wait below: what ends early is not the timeout. */
	hl_test_relay_set(&relay, "server", "max_wait", "600s");
	hl_test_relay_set(&relay, "server", "connection_timeout", "600s");
	hl_test_relay_set(&relay, "server", "body_timeout", "2s");
	if (hl_test_relay_start(&relay) != 0)
		return -1;
	return hl_test_relay_account(&relay, "dead.a", 1, &who);
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

static int
connect_relay(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)relay.port);
	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

static void
send_all(int fd, const char *s)
{
	size_t len = strlen(s);
	assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Closes fd with a reset (RST), as a client that crashed or lost its
 * network does. */
static void
reset(int fd)
{
	struct linger l = { 1, 0 };
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l), 0);
	close(fd);
}

/* The status of the first answer on fd within ms, 0 when the relay
 * closed the connection or nothing came. */
static int
status_within(int fd, long ms)
{
	char reply[1024];
	size_t got = 0;
	long long deadline = hl_test_now_ms() + ms;
	while (got < sizeof reply - 1 && hl_test_now_ms() < deadline) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = recv(fd, reply + got, sizeof reply - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		reply[got] = '\0';
		if (strstr(reply, "\r\n") != NULL)
			break;
	}
	reply[got] = '\0';
	int status = 0;
	if (sscanf(reply, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
	return status;
}

/* hotline_waiting_fetches from /metrics, or -1. */
static long
waiting_fetches(void)
{
	struct hl_test_http res;
	hl_test_api(&relay, "GET", "/metrics", NULL, NULL, &res);
	const char *p = res.body ? strstr(res.body,
	    "\nhotline_waiting_fetches ") : NULL;
	long n = p ? strtol(p + 25, NULL, 10) : -1;
	hl_test_http_free(&res);
	return n;
}

/* The status of GET path; tried again while the connection is refused
 * (the relay may not yet have seen the test's previous connections close,
 * and refuses one beyond max_connections_per_ip until it has). */
static long
get_status(const char *path, const char *token)
{
	long status = 0;
	for (int i = 0; i < 100 && status == 0; i++) {
		if (i > 0)
			hl_test_sleep_ms(20);
		struct hl_test_http res;
		hl_test_api(&relay, "GET", path, NULL, token, &res);
		status = res.status;
		hl_test_http_free(&res);
	}
	return status;
}

static long
fetch_status(void)
{
	return get_status("/v1/messages", who.token);
}

/* Can PER_IP connections from this address all be answered at once? */
static int
all_connections_answered(void)
{
	int fds[PER_IP];
	int answered = 0;
	for (int i = 0; i < PER_IP; i++) {
		fds[i] = connect_relay();
		send_all(fds[i], "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
	}
	for (int i = 0; i < PER_IP; i++)
		if (status_within(fds[i], 5000) == 200)
			answered++;
	for (int i = 0; i < PER_IP; i++)
		close(fds[i]);
	return answered == PER_IP;
}

static void
test_reset_long_polls_free_their_places(void **state)
{
	(void)state;
	char req[512];
	snprintf(req, sizeof req, "GET /v1/messages?wait=300 HTTP/1.1\r\n"
	    "Host: x\r\nAuthorization: Bearer %s\r\n\r\n", who.token);
	int fds[POLLS];
	for (int i = 0; i < POLLS; i++) {
		fds[i] = connect_relay();
		send_all(fds[i], req);
	}
	long long deadline = hl_test_now_ms() + 10000;
	while (waiting_fetches() < POLLS && hl_test_now_ms() < deadline)
		hl_test_sleep_ms(20);
	assert_int_equal(waiting_fetches(), POLLS);
	/* They hold every place of the account. */
	assert_int_equal(fetch_status(), 429);
	for (int i = 0; i < POLLS; i++)
		reset(fds[i]);
	/* Well before their 300 s wait ends, the places are free again. */
	long status = 0;
	deadline = hl_test_now_ms() + 30000;
	while ((status = fetch_status()) != 200 &&
	    hl_test_now_ms() < deadline)
		hl_test_sleep_ms(50);
	assert_int_equal(status, 200);
	assert_int_equal(waiting_fetches(), 0);
	/* And so are the address's connections. */
	int ok = 0;
	deadline = hl_test_now_ms() + 30000;
	while (!(ok = all_connections_answered()) &&
	    hl_test_now_ms() < deadline)
		hl_test_sleep_ms(100);
	assert_true(ok);
	char log[65536];
	assert_int_equal(hl_test_read_file(relay.log, log, sizeof log), 0);
	assert_non_null(strstr(log, "end=client_gone"));
	assert_int_equal(get_status("/v1/health", NULL), 200);
}

/* Sends the head of a request with a 1000-byte body, then the body a byte
 * every 200 ms; 1 when the relay cut the connection off (closed it, or
 * answered 408) before 30 s, far from the 200 s the body would take. */
static int
trickle_is_cut_off(const char *head)
{
	int fd = connect_relay();
	send_all(fd, head);
	int cut = 0;
	long long deadline = hl_test_now_ms() + 30000;
	while (!cut && hl_test_now_ms() < deadline) {
		if (send(fd, "{", 1, MSG_NOSIGNAL) != 1) {
			cut = 1;
			break;
		}
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 200) > 0) {
			char buf[512];
			ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN &&
			    errno != EINTR))
				cut = 1;
			if (n > 0) {
				buf[n] = '\0';
				cut = strstr(buf, " 408 ") != NULL;
				assert_true(cut);
			}
		}
	}
	close(fd);
	return cut;
}

static void
test_trickled_body_is_cut_off(void **state)
{
	(void)state;
	/* Registration needs no token. */
	assert_true(trickle_is_cut_off("POST /v1/accounts HTTP/1.1\r\n"
	    "Host: x\r\nContent-Length: 1000\r\n\r\n"));
	char head[512];
	snprintf(head, sizeof head, "POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Bearer %s\r\nContent-Length: 1000\r\n\r\n",
	    who.token);
	assert_true(trickle_is_cut_off(head));
	char log[65536];
	assert_int_equal(hl_test_read_file(relay.log, log, sizeof log), 0);
	assert_non_null(strstr(log, "reason=body_timeout"));
	/* A body sent at once is unaffected. */
	struct hl_test_http res;
	hl_test_api(&relay, "PUT", "/v1/profile", "{\"name\":\"Desk\"}",
	    who.token, &res);
	assert_int_equal(res.status, 200);
	hl_test_http_free(&res);
	assert_int_equal(hl_test_api_health(&relay), 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_long_polls_free_their_places),
		cmocka_unit_test(test_trickled_body_is_cut_off),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
