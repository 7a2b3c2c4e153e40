/* Connections before their request, through the real relay: a client that
 * sends its request head a byte a second is closed once header_timeout
 * has passed while health checks keep answering; connections are counted
 * per address prefix (here a /24: the test reaches the relay from several
 * loopback addresses); connections still waiting for their head are
 * bounded in all; libmicrohttpd's complaints are logged within a budget. */
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

#define HEADER_TIMEOUT_MS 3000

static struct hl_test_relay relay;

static int
group_setup(void **state)
{
	(void)state;
	if (hl_test_relay_new(&relay) != 0)
		return -1;
	hl_test_relay_set(&relay, "server", "header_timeout", "3s");
	hl_test_relay_set(&relay, "server", "ipv4_prefix", "24");
	hl_test_relay_set(&relay, "server", "max_connections_per_ip", "3");
	hl_test_relay_set(&relay, "server", "max_pending_connections", "6");
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

/* A TCP connection to the relay from the loopback address src. */
static int
connect_from(const char *src, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, src, &a.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	a.sin_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

/* Did the relay close fd (end of stream or reset) within ms? Anything it
 * sends first is read and ignored. */
static int
closed_within(int fd, long ms)
{
	long long deadline = hl_test_now_ms() + ms;
	for (;;) {
		long long left = deadline - hl_test_now_ms();
		if (left < 0)
			left = 0;
		struct pollfd p = { fd, POLLIN, 0 };
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		char buf[512];
		ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
			return 1;
	}
}

/* GET /v1/health from src, on a connection of its own; the status, or 0
 * when the connection was closed without an answer. */
static int
health_from(const char *src, int port)
{
	int fd = connect_from(src, port);
	const char *req = "GET /v1/health HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n";
	ssize_t w = send(fd, req, strlen(req), MSG_NOSIGNAL);
	(void)w;
	char reply[2048];
	size_t got = 0;
	long long deadline = hl_test_now_ms() + 5000;
	while (got < sizeof reply - 1 && hl_test_now_ms() < deadline) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t n = recv(fd, reply + got, sizeof reply - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	reply[got] = '\0';
	close(fd);
	int status = 0;
	if (sscanf(reply, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
	return status;
}

/* Does the relay's log have needle, within a few seconds? The relay
 * writes a line about a connection after it has shut the socket down. */
static int
log_has(const char *needle)
{
	static char log[1 << 20];
	long long deadline = hl_test_now_ms() + 3000;
	for (;;) {
		if (hl_test_read_file(relay.log, log, sizeof log) == 0 &&
		    strstr(log, needle) != NULL)
			return 1;
		if (hl_test_now_ms() >= deadline)
			return 0;
		hl_test_sleep_ms(20);
	}
}

static void
test_trickled_head_is_closed(void **state)
{
	(void)state;
	const char *head = "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Pad: ";
	int fd = connect_from("127.0.0.1", relay.port);
	long long t0 = hl_test_now_ms();
	long long closed_after = -1;
	int healthy = 0;
	for (size_t i = 0; i < 12 && closed_after < 0; i++) {
		char b = i < strlen(head) ? head[i] : 'a';
		ssize_t w = send(fd, &b, 1, MSG_NOSIGNAL);
		(void)w;
		long long next = t0 + (long long)(i + 1) * 1000;
		/* The relay keeps serving others meanwhile. */
		assert_int_equal(hl_test_api_health(&relay), 200);
		healthy++;
		long long left = next - hl_test_now_ms();
		if (closed_within(fd, left > 0 ? left : 0))
			closed_after = hl_test_now_ms() - t0;
	}
	close(fd);
	if (closed_after < 0)
		fail_msg("a head sent a byte a second was never cut off");
	/* header_timeout, give or take the reaper's round and a margin. */
	assert_true(closed_after >= HEADER_TIMEOUT_MS - 500);
	assert_true(closed_after <= HEADER_TIMEOUT_MS + 2000);
	assert_true(healthy >= 2);
	assert_true(log_has("event=conn action=closed reason=header_timeout"));
	assert_int_equal(hl_test_api_health(&relay), 200);
}

static void
test_prefix_limit(void **state)
{
	(void)state;
	/* 127.0.0.0/24 holds three connections: three idle ones fill it. */
	int fds[3];
	const char *srcs[3] = { "127.0.0.2", "127.0.0.3", "127.0.0.4" };
	for (int i = 0; i < 3; i++) {
		fds[i] = connect_from(srcs[i], relay.port);
		/* Let the relay take each before the next. */
		hl_test_sleep_ms(50);
	}
	/* A fourth address of that /24 is turned away without an answer;
	 * another /24 is another client. */
	assert_int_equal(health_from("127.0.0.5", relay.port), 0);
	assert_int_equal(health_from("127.0.1.1", relay.port), 200);
	assert_true(log_has("event=conn action=refused reason=prefix_limit"));
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	long long deadline = hl_test_now_ms() + 5000;
	int status = 0;
	while (status != 200 && hl_test_now_ms() < deadline) {
		status = health_from("127.0.0.5", relay.port);
		if (status != 200)
			hl_test_sleep_ms(100);
	}
	assert_int_equal(status, 200);
}

static void
test_pending_limit(void **state)
{
	(void)state;
	/* Six connections without a request head, two from each of three
	 * prefixes, fill the relay's room for them. */
	int fds[6];
	char src[32];
	for (int i = 0; i < 6; i++) {
		snprintf(src, sizeof src, "127.0.%d.%d", 10 + i / 2, 1 + i % 2);
		fds[i] = connect_from(src, relay.port);
		hl_test_sleep_ms(50);
	}
	long long t0 = hl_test_now_ms();
	assert_int_equal(health_from("127.0.20.1", relay.port), 0);
	assert_true(log_has("event=conn action=refused reason=pending_limit"));
	/* They are cut off at header_timeout, and new clients get in. */
	for (int i = 0; i < 6; i++)
		assert_true(closed_within(fds[i], HEADER_TIMEOUT_MS + 3000));
	assert_true(hl_test_now_ms() - t0 <= HEADER_TIMEOUT_MS + 3000);
	for (int i = 0; i < 6; i++)
		close(fds[i]);
	long long deadline = hl_test_now_ms() + 5000;
	int status = 0;
	while (status != 200 && hl_test_now_ms() < deadline) {
		status = health_from("127.0.20.1", relay.port);
		if (status != 200)
			hl_test_sleep_ms(100);
	}
	assert_int_equal(status, 200);
}

/* A kept-alive connection waits for its next head no longer than a new
 * one does. */
static void
test_keep_alive_idle(void **state)
{
	(void)state;
	int fd = connect_from("127.0.0.1", relay.port);
	const char *req = "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
	ssize_t w = send(fd, req, strlen(req), MSG_NOSIGNAL);
	(void)w;
	char buf[2048];
	struct pollfd p = { fd, POLLIN, 0 };
	assert_int_equal(poll(&p, 1, 5000), 1);
	ssize_t got = recv(fd, buf, sizeof buf - 1, 0);
	assert_true(got > 12);
	buf[got] = '\0';
	assert_non_null(strstr(buf, " 200 "));
	long long t0 = hl_test_now_ms();
	assert_true(closed_within(fd, HEADER_TIMEOUT_MS + 3000));
	long long after = hl_test_now_ms() - t0;
	assert_true(after >= HEADER_TIMEOUT_MS - 500);
	close(fd);
}

/* Lines of the relay's log that contain needle. */
static int
count_lines(const char *needle)
{
	static char log[1 << 20];
	if (hl_test_read_file(relay.log, log, sizeof log) != 0)
		return -1;
	int n = 0;
	for (const char *p = log; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
test_httpd_log_budget(void **state)
{
	(void)state;
	/* libmicrohttpd writes two lines about each of these requests; 40
	 * of them must not write 80. */
	const char *bad = "GET /v1/health HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: abc\r\n\r\n";
	char reply[1024];
	for (int i = 0; i < 40; i++)
		assert_int_equal(hl_test_raw(relay.port, bad, strlen(bad), reply,
		    sizeof reply, 5000), 400);
	hl_test_sleep_ms(200);
	int lines = count_lines("event=httpd message=");
	if (lines < 1 || lines > 20)
		fail_msg("%d event=httpd lines for 40 malformed requests", lines);
	assert_int_equal(hl_test_api_health(&relay), 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trickled_head_is_closed),
		cmocka_unit_test(test_prefix_limit),
		cmocka_unit_test(test_pending_limit),
		cmocka_unit_test(test_keep_alive_idle),
		cmocka_unit_test(test_httpd_log_budget),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
