/*
 * The client's transport against real servers on 127.0.0.1: `openssl
 * s_server` with a certificate made at test time (pinning, trust, TLS
 * versions, the response cap), a socket that never answers (timeouts), a
 * closed port, and a small HTTP responder thread for headers, redirects
 * and what the client sends; then the real relay (plain HTTP on
 * loopback), spoken to through hl_net with the bodies of client/api.
 * Everything runs in temporary folders and every child is stopped by its
 * PID.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/api.h"
#include "client/net.h"
#include "crypto/hl_err.h"
#include "crypto/hl_time.h"
#include "tests/lib/hl_testrelay.h"

#define WAIT_MS 10000          /* the longest any single step may take */
#define BIG_LEN ((size_t)2 << 20)

static char tmpdir[PATH_MAX] = "";
static char cert[PATH_MAX + 16], key[PATH_MAX + 16], www[PATH_MAX + 16];
static char pin[128];
static pid_t srv13 = -1, srv12 = -1;
static int port13, port12;
static char url13[64], url12[64];

/* --- processes and files --- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
stop_child(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = -1;
			return;
		}
		usleep(10000);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = -1;
}

/* Runs at exit too, so that a test that fails half-way leaves nothing. */
static void
cleanup_all(void)
{
	stop_child(&srv13);
	stop_child(&srv12);
	if (tmpdir[0] != '\0') {
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		tmpdir[0] = '\0';
	}
}

/* Runs argv with its output in the folder's log; returns the exit code. */
static int
run(char *const argv[])
{
	char log[PATH_MAX + 16];
	snprintf(log, sizeof log, "%s/openssl.log", tmpdir);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int
free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

/* A listening socket on 127.0.0.1 that nobody serves. */
static int
listen_socket(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static int
port_open(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Starts `openssl s_server -WWW` serving the www folder with one TLS
 * version; waits (bounded) until it accepts connections. */
static int
start_server(const char *version, int *port, pid_t *pid)
{
	char accept[32];
	char log[PATH_MAX + 16];
	for (int attempt = 0; attempt < 5; attempt++) {
		*port = free_port();
		if (*port <= 0)
			return -1;
		snprintf(accept, sizeof accept, "127.0.0.1:%d", *port);
		snprintf(log, sizeof log, "%s/s_server.log", tmpdir);
		*pid = fork();
		if (*pid < 0)
			return -1;
		if (*pid == 0) {
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
			if (chdir(www) != 0)
				_exit(126);
			execlp("openssl", "openssl", "s_server", "-accept", accept,
			    "-cert", cert, "-key", key, "-WWW", version, "-quiet",
			    (char *)NULL);
			_exit(127);
		}
		int64_t until = hl_mono_ms() + WAIT_MS;
		while (hl_mono_ms() < until) {
			if (waitpid(*pid, NULL, WNOHANG) == *pid) {
				*pid = -1;   /* lost the port to someone: again */
				break;
			}
			if (port_open(*port))
				return 0;
			usleep(20000);
		}
		stop_child(pid);
	}
	return -1;
}

static int
write_file(const char *name, const void *data, size_t len)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/%s", www, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	size_t n = fwrite(data, 1, len, f);
	return fclose(f) == 0 && n == len ? 0 : -1;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/hl-net-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	atexit(cleanup_all);
	snprintf(cert, sizeof cert, "%s/cert.pem", tmpdir);
	snprintf(key, sizeof key, "%s/key.pem", tmpdir);
	snprintf(www, sizeof www, "%s/www", tmpdir);
	if (mkdir(www, 0700) != 0)
		return -1;
	char *req[] = { "openssl", "req", "-x509", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
	    "-keyout", key, "-out", cert, "-days", "2",
	    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
	    NULL };
	if (run(req) != 0)
		return -1;

	/* The pin as an operator would compute it. */
	char cmd[4 * PATH_MAX];
	snprintf(cmd, sizeof cmd, "openssl x509 -in '%s' -pubkey -noout | "
	    "openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | "
	    "base64", cert);
	FILE *p = popen(cmd, "r");
	char b64[80] = "";
	if (p == NULL)
		return -1;
	if (fgets(b64, sizeof b64, p) == NULL)
		b64[0] = '\0';
	if (pclose(p) != 0 || strlen(b64) != 45)
		return -1;
	b64[44] = '\0';
	snprintf(pin, sizeof pin, "sha256//%s", b64);

	char *big = malloc(BIG_LEN);
	if (big == NULL)
		return -1;
	for (size_t i = 0; i < BIG_LEN; i++)
		big[i] = (char)('a' + i % 26);
	int rc = write_file("big.txt", big, BIG_LEN);
	free(big);
	if (rc != 0 || write_file("hello.json", "{\"hello\":1}", 11) != 0)
		return -1;
	for (char c = 'a'; c <= 'e'; c++) {
		char name[8] = { c, '.', 't', 'x', 't', 0 };
		char body[4] = { c, c, c, 0 };
		if (write_file(name, body, 3) != 0)
			return -1;
	}
	if (start_server("-tls1_3", &port13, &srv13) != 0 ||
	    start_server("-tls1_2", &port12, &srv12) != 0)
		return -1;
	snprintf(url13, sizeof url13, "https://127.0.0.1:%d", port13);
	snprintf(url12, sizeof url12, "https://127.0.0.1:%d", port12);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	cleanup_all();
	return 0;
}

/* --- collecting answers --- */

struct got {
	int calls;
	int err;
	int status;
	char cause[HL_CAUSE_MAX];
	char *body;
	size_t len;
	long retry_after_s;
	int64_t date_ms;
	int64_t at_ms;
};

static void
on_done(const struct hl_net_resp *r, void *arg)
{
	struct got *g = arg;
	g->calls++;
	g->err = r->err;
	g->status = r->status;
	snprintf(g->cause, sizeof g->cause, "%s", r->cause);
	free(g->body);
	g->body = malloc(r->len + 1);
	assert_non_null(g->body);
	memcpy(g->body, r->body, r->len + 1);
	g->len = r->len;
	g->retry_after_s = r->retry_after_s;
	g->date_ms = r->date_ms;
	g->at_ms = hl_mono_ms();
}

static void
got_clear(struct got *g)
{
	free(g->body);
	memset(g, 0, sizeof *g);
}

/* One request through a new hl_net; the answer lands in g. */
static void
fetch(const struct hl_net_opts *o, const char *method, const char *path,
    const char *token, const char *body, long timeout_ms, struct got *g)
{
	struct hl_net *n;
	char cause[HL_CAUSE_MAX];
	memset(g, 0, sizeof *g);
	int rc = hl_net_new(o, &n, cause);
	if (rc != 0)
		fail_msg("hl_net_new: %s", cause);
	assert_int_equal(hl_net_request(n, method, path, token, body,
	    timeout_ms, on_done, g), 0);
	assert_int_equal(hl_net_pending(n), 1);
	assert_int_equal(hl_net_run(n, hl_mono_ms() + WAIT_MS), 0);
	assert_int_equal(hl_net_pending(n), 0);
	assert_int_equal(g->calls, 1);
	hl_net_free(n);
}

/* --- TLS against s_server --- */

static void
test_pinned_answer(void **state)
{
	(void)state;
	struct hl_net_opts o = { .base_url = url13, .pin = pin,
	    .ca_file = cert };
	struct got g;
	fetch(&o, "GET", "/hello.json", NULL, NULL, 5000, &g);
	if (g.err != 0)
		fail_msg("%s", g.cause);
	assert_int_equal(g.status, 200);
	assert_int_equal(g.len, 11);
	assert_string_equal(g.body, "{\"hello\":1}");
	got_clear(&g);

	/* The pin among others still matches. */
	char two[256];
	snprintf(two, sizeof two,
	    "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;%s", pin);
	o.pin = two;
	fetch(&o, "GET", "/hello.json", NULL, NULL, 5000, &g);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.status, 200);
	got_clear(&g);
}

static void
test_wrong_pin(void **state)
{
	(void)state;
	struct hl_net_opts o = { .base_url = url13, .ca_file = cert,
	    .pin = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" };
	struct got g;
	fetch(&o, "GET", "/hello.json", "secret-token-value", NULL, 5000, &g);
	assert_int_equal(g.err, HL_EPIN);
	assert_int_equal(g.len, 0);
	assert_non_null(strstr(g.cause, "does not match the configured pin"));
	assert_null(strstr(g.cause, "secret-token-value"));
	got_clear(&g);
}

static void
test_untrusted_certificate(void **state)
{
	(void)state;
	/* Neither a CA file nor a pin: the self-signed certificate is not
	 * in the system store. A pin alone does not replace verification. */
	struct hl_net_opts o = { .base_url = url13 };
	struct got g;
	fetch(&o, "GET", "/hello.json", NULL, NULL, 5000, &g);
	assert_int_equal(g.err, HL_ETLS);
	assert_int_equal(g.status, 0);
	assert_true(strlen(g.cause) > 0);
	got_clear(&g);
	o.pin = pin;
	fetch(&o, "GET", "/hello.json", NULL, NULL, 5000, &g);
	assert_int_equal(g.err, HL_ETLS);
	got_clear(&g);
}

static void
test_tls12_refused(void **state)
{
	(void)state;
	struct hl_net_opts o = { .base_url = url12, .ca_file = cert,
	    .pin = pin };
	struct got g;
	fetch(&o, "GET", "/hello.json", NULL, NULL, 5000, &g);
	assert_int_equal(g.err, HL_ETLS);
	assert_int_equal(g.status, 0);
	got_clear(&g);
}

static void
test_response_cap(void **state)
{
	(void)state;
	struct hl_net_opts o = { .base_url = url13, .ca_file = cert,
	    .max_response = 65536 };
	struct got g;
	fetch(&o, "GET", "/big.txt", NULL, NULL, 5000, &g);
	assert_int_equal(g.err, HL_ETOOBIG);
	assert_non_null(strstr(g.cause, "over 65536 bytes"));
	assert_int_equal(g.len, 0);
	got_clear(&g);

	/* Under the default cap the same file comes whole. */
	o.max_response = 0;
	fetch(&o, "GET", "/big.txt", NULL, NULL, 5000, &g);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.len, BIG_LEN);
	assert_int_equal(g.body[0], 'a');
	assert_int_equal(g.body[BIG_LEN - 1], 'a' + (BIG_LEN - 1) % 26);
	assert_int_equal(g.body[BIG_LEN], '\0');
	got_clear(&g);
}

/* Five requests in flight at once on one hl_net, each with its own
 * callback argument; the first callback starts a sixth request. */
struct chain {
	struct hl_net *net;
	struct got first, second;
};

static void
on_first(const struct hl_net_resp *r, void *arg)
{
	struct chain *c = arg;
	on_done(r, &c->first);
	assert_int_equal(hl_net_request(c->net, "GET", "/hello.json", NULL,
	    NULL, 5000, on_done, &c->second), 0);
}

static void
test_many_in_flight(void **state)
{
	(void)state;
	struct hl_net_opts o = { .base_url = url13, .ca_file = cert,
	    .pin = pin };
	struct hl_net *n;
	char cause[HL_CAUSE_MAX];
	struct got g[4];
	struct chain c;
	memset(g, 0, sizeof g);
	memset(&c, 0, sizeof c);
	assert_int_equal(hl_net_new(&o, &n, cause), 0);
	c.net = n;
	for (int i = 0; i < 4; i++) {
		char path[16];
		snprintf(path, sizeof path, "/%c.txt", 'b' + i);
		assert_int_equal(hl_net_request(n, "GET", path, NULL, NULL, 8000,
		    on_done, &g[i]), 0);
	}
	assert_int_equal(hl_net_request(n, "GET", "/a.txt", NULL, NULL, 8000,
	    on_first, &c), 0);
	assert_int_equal(hl_net_pending(n), 5);
	assert_int_equal(hl_net_run(n, hl_mono_ms() + WAIT_MS), 0);
	assert_int_equal(hl_net_pending(n), 0);
	for (int i = 0; i < 4; i++) {
		char want[4] = { (char)('b' + i), (char)('b' + i),
		    (char)('b' + i), 0 };
		assert_int_equal(g[i].calls, 1);
		assert_int_equal(g[i].err, 0);
		assert_string_equal(g[i].body, want);
		got_clear(&g[i]);
	}
	assert_int_equal(c.first.calls, 1);
	assert_string_equal(c.first.body, "aaa");
	assert_int_equal(c.second.calls, 1);
	assert_string_equal(c.second.body, "{\"hello\":1}");
	got_clear(&c.first);
	got_clear(&c.second);
	hl_net_free(n);
}

/* The caller's own poll() loop, as the TUI drives it. */
static void
test_external_loop(void **state)
{
	(void)state;
	struct hl_net_opts o = { .base_url = url13, .ca_file = cert,
	    .pin = pin };
	struct hl_net *n;
	char cause[HL_CAUSE_MAX];
	struct got g;
	memset(&g, 0, sizeof g);
	assert_int_equal(hl_net_new(&o, &n, cause), 0);
	assert_int_equal(hl_net_request(n, "GET", "/c.txt", NULL, NULL, 5000,
	    on_done, &g), 0);
	/* A descriptor of the caller's own, always readable, beside
	 * libcurl's: dispatch must leave it alone. */
	int own[2];
	assert_int_equal(pipe(own), 0);
	assert_int_equal(write(own[1], "x", 1), 1);
	int64_t until = hl_mono_ms() + WAIT_MS;
	int rounds = 0;
	while (hl_net_pending(n) > 0 && hl_mono_ms() < until) {
		struct pollfd fds[HL_NET_MAX_FDS + 1];
		int timeout = 1000;
		int nf = hl_net_pollfds(n, fds, HL_NET_MAX_FDS, &timeout);
		assert_true(nf >= 0 && nf <= HL_NET_MAX_FDS);
		assert_true(timeout >= 0 && timeout <= 1000);
		fds[nf].fd = own[0];
		fds[nf].events = POLLIN;
		fds[nf].revents = 0;
		assert_true(poll(fds, (nfds_t)nf + 1, timeout) >= 0);
		hl_net_dispatch(n, fds, nf + 1);
		rounds++;
	}
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.err, 0);
	assert_string_equal(g.body, "ccc");
	assert_true(rounds >= 2);
	char byte;
	assert_int_equal(read(own[0], &byte, 1), 1);
	close(own[0]);
	close(own[1]);
	/* Nothing pending: no descriptor and no deadline. */
	got_clear(&g);
	hl_net_free(n);
}

/* --- plain failures on loopback --- */

static void
test_closed_port(void **state)
{
	(void)state;
	char url[64];
	int port = free_port();
	assert_true(port > 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	struct hl_net_opts o = { .base_url = url };
	struct got g;
	fetch(&o, "GET", "/v1/health", NULL, NULL, 5000, &g);
	assert_int_equal(g.err, HL_ENET);
	assert_int_equal(g.status, 0);
	assert_true(strlen(g.cause) > 0);
	got_clear(&g);
}

static void
test_total_timeout(void **state)
{
	(void)state;
	int port;
	int fd = listen_socket(&port);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	struct hl_net_opts o = { .base_url = url };
	struct got g;
	int64_t start = hl_mono_ms();
	fetch(&o, "POST", "/v1/messages", "tok", "{}", 400, &g);
	int64_t took = g.at_ms - start;
	assert_int_equal(g.err, HL_ETIMEOUT);
	assert_true(took >= 350 && took < 3000);
	got_clear(&g);

	/* hl_net_run's own deadline ends first: the request stays pending,
	 * and freeing cancels it without a callback. */
	struct hl_net *n;
	char cause[HL_CAUSE_MAX];
	memset(&g, 0, sizeof g);
	assert_int_equal(hl_net_new(&o, &n, cause), 0);
	assert_int_equal(hl_net_request(n, "GET", "/v1/messages?wait=30",
	    "tok", NULL, 30000, on_done, &g), 0);
	start = hl_mono_ms();
	assert_int_equal(hl_net_run(n, start + 300), HL_ETIMEOUT);
	assert_true(hl_mono_ms() - start < 3000);
	assert_int_equal(hl_net_pending(n), 1);
	hl_net_free(n);
	assert_int_equal(g.calls, 0);
	close(fd);
}

/* --- a small HTTP responder for headers and requests --- */

struct responder {
	int fd, port;
	const char *answers[2];  /* for each connection in turn */
	int serve;               /* connections to answer */
	char request[8192];      /* the last request, headers and body */
	size_t req_len;
	int served;
	pthread_t thread;
};

static size_t
content_length(const char *head)
{
	const char *p = head;
	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			return (size_t)strtoul(p + 15, NULL, 10);
	}
	return 0;
}

static void *
respond(void *arg)
{
	struct responder *r = arg;
	for (; r->served < r->serve; r->served++) {
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		if (poll(&p, 1, WAIT_MS) != 1)
			break;
		int c = accept(r->fd, NULL, NULL);
		if (c < 0)
			break;
		struct timeval tv = { .tv_sec = 5 };
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		r->req_len = 0;
		for (;;) {
			ssize_t k = recv(c, r->request + r->req_len,
			    sizeof r->request - 1 - r->req_len, 0);
			if (k <= 0)
				break;
			r->req_len += (size_t)k;
			r->request[r->req_len] = '\0';
			char *end = strstr(r->request, "\r\n\r\n");
			if (end != NULL && r->req_len >= (size_t)(end + 4 -
			    r->request) + content_length(r->request))
				break;
			if (r->req_len == sizeof r->request - 1)
				break;
		}
		const char *a = r->answers[r->served];
		ssize_t sent = send(c, a, strlen(a), MSG_NOSIGNAL);
		(void)sent;
		close(c);
	}
	return NULL;
}

static void
responder_start(struct responder *r, const char *first, const char *second)
{
	memset(r, 0, sizeof *r);
	r->fd = listen_socket(&r->port);
	r->answers[0] = first;
	r->answers[1] = second;
	r->serve = second ? 2 : 1;
	assert_int_equal(pthread_create(&r->thread, NULL, respond, r), 0);
}

static void
responder_stop(struct responder *r)
{
	/* Shutting the listener down wakes the thread if it still waits. */
	shutdown(r->fd, SHUT_RDWR);
	pthread_join(r->thread, NULL);
	close(r->fd);
}

static int
has_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay != '\0'; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return 1;
	return 0;
}

static void
test_headers_and_request(void **state)
{
	(void)state;
	struct responder r;
	responder_start(&r, "HTTP/1.1 429 Too Many Requests\r\n"
	    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	    "Retry-After: 7\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 46\r\n"
	    "Connection: close\r\n\r\n"
	    "{\"error\":{\"code\":\"rate_limited\",\"message\":\"\"}}", NULL);
	char url[64];
	snprintf(url, sizeof url, "http://localhost:%d", r.port);
	struct hl_net_opts o = { .base_url = url };
	struct got g;
	fetch(&o, "PUT", "/v1/keys", "0123abcd", "{\"prekeys\":[]}", 5000, &g);
	responder_stop(&r);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.status, 429);
	assert_int_equal(g.retry_after_s, 7);
	assert_int_equal(g.date_ms, 784111777000LL);
	assert_int_equal(g.len, 46);
	assert_non_null(strstr(g.body, "rate_limited"));
	got_clear(&g);

	/* What went out: the method, the path, the bearer, JSON, the body,
	 * and no proxy although the environment names one. */
	assert_int_equal(r.served, 1);
	assert_non_null(strstr(r.request, "PUT /v1/keys HTTP/1.1\r\n"));
	assert_non_null(strstr(r.request, "\r\nAuthorization: Bearer 0123abcd\r\n"));
	assert_non_null(strstr(r.request, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(r.request, "\r\nContent-Length: 14\r\n"));
	assert_false(has_nocase(r.request, "\nExpect:"));
	assert_false(has_nocase(r.request, "\nAccept-Encoding:"));
	assert_false(has_nocase(r.request, "\nProxy-"));
	assert_non_null(strstr(r.request, "\r\n\r\n{\"prekeys\":[]}"));
}

static void
test_retry_after_date_and_absent(void **state)
{
	(void)state;
	char answer[256], date[64];
	time_t later = time(NULL) + 120;
	struct tm tm;
	gmtime_r(&later, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(answer, sizeof answer, "HTTP/1.1 503 Service Unavailable\r\n"
	    "Retry-After: %s\r\nContent-Length: 0\r\n\r\n", date);
	struct responder r;
	responder_start(&r, answer, NULL);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", r.port);
	struct hl_net_opts o = { .base_url = url };
	struct got g;
	fetch(&o, "POST", "/v1/messages", "t", "{}", 5000, &g);
	responder_stop(&r);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.status, 503);
	assert_true(g.retry_after_s >= 115 && g.retry_after_s <= 120);
	assert_int_equal(g.date_ms, 0);
	assert_int_equal(g.len, 0);
	assert_string_equal(g.body, "");
	got_clear(&g);

	responder_start(&r, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
	    NULL);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", r.port);
	fetch(&o, "GET", "/v1/health", NULL, NULL, 5000, &g);
	responder_stop(&r);
	assert_int_equal(g.status, 200);
	assert_int_equal(g.retry_after_s, -1);
	assert_int_equal(g.date_ms, 0);
	assert_string_equal(g.body, "{}");
	assert_non_null(strstr(r.request, "GET /v1/health HTTP/1.1\r\n"));
	assert_null(strstr(r.request, "Authorization"));
	got_clear(&g);
}

static void
test_no_redirect_and_declared_size(void **state)
{
	(void)state;
	struct responder r;
	char answer[256];
	int other;
	int ofd = listen_socket(&other);
	snprintf(answer, sizeof answer, "HTTP/1.1 302 Found\r\n"
	    "Location: http://127.0.0.1:%d/elsewhere\r\n"
	    "Content-Length: 0\r\n\r\n", other);
	/* Then a declared length over the cap. */
	responder_start(&r, answer,
	    "HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n{");
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", r.port);
	struct hl_net_opts o = { .base_url = url, .max_response = 1000 };
	struct got g;
	fetch(&o, "GET", "/v1/health", NULL, NULL, 5000, &g);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.status, 302);
	got_clear(&g);
	/* Nobody came to the other address. */
	struct pollfd p = { .fd = ofd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 100), 0);
	close(ofd);

	/* A declared length over the cap ends before the body is read. */
	fetch(&o, "GET", "/v1/health", NULL, NULL, 5000, &g);
	responder_stop(&r);
	assert_int_equal(g.err, HL_ETOOBIG);
	assert_non_null(strstr(g.cause, "over 1000 bytes"));
	got_clear(&g);
}

/* --- options and arguments --- */

static void
test_options(void **state)
{
	(void)state;
	static const struct {
		const char *url, *pin;
		int code;
	} cases[] = {
		{ "http://example.org", NULL, HL_EUSAGE },
		{ "http://127.0.0.1:1", NULL, 0 },
		{ "http://localhost", NULL, 0 },
		{ "http://LOCALHOST:8080/", NULL, 0 },
		{ "http://[::1]:8080", NULL, 0 },
		{ "http://127.9.9.9", NULL, 0 },
		{ "http://128.0.0.1", NULL, HL_EUSAGE },
		{ "http://127.0.0.1.example.org", NULL, HL_EUSAGE },
		{ "http://[::2]", NULL, HL_EUSAGE },
		{ "https://x/path", NULL, HL_EUSAGE },
		{ "https://x/v1/", NULL, HL_EUSAGE },
		{ "ftp://127.0.0.1/", NULL, HL_EUSAGE },
		{ "file:///etc/passwd", NULL, HL_EUSAGE },
		{ "https://relay.example:8443", NULL, 0 },
		{ "https://relay.example/", NULL, 0 },
		{ "https://user:pw@relay.example", NULL, HL_EUSAGE },
		{ "https://relay.example/?q=1", NULL, HL_EUSAGE },
		{ "https://relay.example/#top", NULL, HL_EUSAGE },
		{ "", NULL, HL_EUSAGE },
		{ NULL, NULL, HL_EUSAGE },
		{ "relay.example", NULL, HL_EUSAGE },
		{ "https://relay example", NULL, HL_EUSAGE },
		{ "https://relay.example",
		    "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0 },
		{ "https://relay.example",
		    "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;"
		    "sha256//BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ=", 0 },
		{ "https://relay.example", "", 0 },
		{ "https://relay.example", "sha256//abc", HL_EUSAGE },
		{ "https://relay.example",
		    "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", HL_EUSAGE },
		{ "https://relay.example",
		    "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;",
		    HL_EUSAGE },
		{ "https://relay.example", "/etc/ssl/pubkey.der", HL_EUSAGE },
		{ "https://relay.example",
		    "sha1//AAAAAAAAAAAAAAAAAAAAAAAAAAA=", HL_EUSAGE },
		{ "http://127.0.0.1:8080",
		    "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		    HL_EUSAGE },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hl_net_opts o = { .base_url = cases[i].url,
		    .pin = cases[i].pin };
		struct hl_net *n = (struct hl_net *)&o;
		char cause[HL_CAUSE_MAX] = "";
		int rc = hl_net_new(&o, &n, cause);
		if (rc != cases[i].code)
			fail_msg("case %zu (%s, %s): got %d (%s), want %d", i,
			    cases[i].url ? cases[i].url : "NULL",
			    cases[i].pin ? cases[i].pin : "no pin", rc, cause,
			    cases[i].code);
		if (rc == 0) {
			assert_non_null(n);
			hl_net_free(n);
		} else {
			assert_null(n);
			assert_true(strlen(cause) > 0);
		}
	}
	char cause[HL_CAUSE_MAX];
	struct hl_net *n;
	struct hl_net_opts o = { .base_url = "http://example.org" };
	assert_int_equal(hl_net_new(&o, &n, cause), HL_EUSAGE);
	assert_string_equal(cause, "relay URL must be https:// (plain http "
	    "only to a loopback address)");
	o.base_url = "https://relay.example";
	o.ca_file = "/nonexistent/ca.pem";
	assert_int_equal(hl_net_new(&o, &n, cause), HL_EUSAGE);
	assert_non_null(strstr(cause, "/nonexistent/ca.pem"));
	o.ca_file = NULL;
	o.connect_timeout_ms = -1;
	assert_int_equal(hl_net_new(&o, &n, cause), HL_EUSAGE);
}

static void
on_never(const struct hl_net_resp *r, void *arg)
{
	(void)r;
	(void)arg;
	fail_msg("a refused request called back");
}

static void
test_request_arguments(void **state)
{
	(void)state;
	struct hl_net_opts o = { .base_url = "http://127.0.0.1:9" };
	struct hl_net *n;
	char cause[HL_CAUSE_MAX];
	assert_int_equal(hl_net_new(&o, &n, cause), 0);
	assert_int_equal(hl_net_request(n, "GET", "v1/health", NULL, NULL, 100,
	    on_never, NULL), HL_EINVAL);
	assert_int_equal(hl_net_request(n, "GET", "/v1/a b", NULL, NULL, 100,
	    on_never, NULL), HL_EINVAL);
	assert_int_equal(hl_net_request(n, "GET", "/v1/\r\nX: y", NULL, NULL,
	    100, on_never, NULL), HL_EINVAL);
	assert_int_equal(hl_net_request(n, "GET", "/v1/health", NULL, "{}",
	    100, on_never, NULL), HL_EINVAL);
	assert_int_equal(hl_net_request(n, "DELETE", "/v1/health", NULL, NULL,
	    100, on_never, NULL), HL_EINVAL);
	assert_int_equal(hl_net_request(n, "GET", "/v1/health", "a\r\nX: y",
	    NULL, 100, on_never, NULL), HL_EINVAL);
	assert_int_equal(hl_net_request(n, "GET", "/v1/health", NULL, NULL, 0,
	    on_never, NULL), HL_EINVAL);
	assert_int_equal(hl_net_request(n, "GET", "/v1/health", NULL, NULL,
	    100, NULL, NULL), HL_EINVAL);
	assert_int_equal(hl_net_pending(n), 0);
	assert_int_equal(hl_net_run(n, 0), 0);
	hl_net_free(n);
	hl_net_free(NULL);
}

/* --- against the real relay --- */

static struct hl_test_relay relay;
static int relay_made;

static int
relay_setup(void **state)
{
	(void)state;
	if (hl_test_relay_new(&relay) != 0)
		return -1;
	relay_made = 1;
	/* Low enough that a test reaches it, high enough for the others. */
	hl_test_relay_set(&relay, "limits", "rate_per_minute", "4");
	return hl_test_relay_start(&relay);
}

static int
relay_teardown(void **state)
{
	(void)state;
	if (relay_made)
		hl_test_relay_free(&relay);
	relay_made = 0;
	return 0;
}

/* One request to the relay; the answer lands in g. */
static void
call(const char *method, const char *path, const char *token,
    const char *body, struct got *g)
{
	struct hl_net_opts o = { .base_url = relay.url };
	fetch(&o, method, path, token, body, 5000, g);
	if (g->err != 0)
		fail_msg("%s %s: %s", method, path, g->cause);
}

static void
test_relay_health(void **state)
{
	(void)state;
	struct got g;
	int64_t now = hl_now_ms();
	call("GET", "/v1/health", NULL, NULL, &g);
	assert_int_equal(g.status, 200);
	assert_true(g.date_ms > 0);
	assert_true(g.date_ms > now - 60000 && g.date_ms < now + 60000);
	assert_int_equal(g.date_ms % 1000, 0);
	json_t *j = json_loadb(g.body, g.len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "status")),
	    "ok");
	json_decref(j);
	got_clear(&g);
}

static void
test_relay_errors(void **state)
{
	(void)state;
	struct got g;
	char code[64], msg[256];
	call("GET", "/v1/nothing/here", NULL, NULL, &g);
	assert_int_equal(g.status, 404);
	hl_api_parse_error(g.body, g.len, code, sizeof code, msg, sizeof msg);
	assert_string_equal(code, "not_found");
	got_clear(&g);

	call("GET", "/v1/keys", NULL, NULL, &g);
	assert_int_equal(g.status, 401);
	hl_api_parse_error(g.body, g.len, code, sizeof code, msg, sizeof msg);
	assert_string_equal(code, "unauthorized");
	got_clear(&g);

	struct hl_test_account a;
	assert_int_equal(hl_test_relay_account(&relay, "err.cert", 1, &a), 0);
	call("GET", "/v1/keys/nobody.cert", a.token, NULL, &g);
	assert_int_equal(g.status, 404);
	hl_api_parse_error(g.body, g.len, code, sizeof code, msg, sizeof msg);
	assert_string_equal(code, "not_found");
	assert_true(strlen(msg) > 0);
	got_clear(&g);
}

static void
fill_key(uint8_t *k, uint8_t v)
{
	memset(k, v, HL_KEY_LEN);
	k[0] = 0x05;
}

/* Registration, keys, bundle, send, fetch, ack, directory and profile,
 * each body built by client/api and each answer read by it. */
static void
test_relay_contract(void **state)
{
	(void)state;
	char code[64], cause[HL_CAUSE_MAX];
	struct got g;
	assert_int_equal(hl_test_relay_invite(&relay, "ee.cert", NULL, code), 0);

	struct hl_bundle me;
	struct hl_prekey_pub pks[5];
	struct hl_profile p;
	memset(&me, 0, sizeof me);
	me.registration_id = 4711;
	me.device_id = 1;
	fill_key(me.identity_key, 0x21);
	me.signed_prekey.id = 1;
	fill_key(me.signed_prekey.key, 0x22);
	memset(me.signed_prekey.signature, 0x23, HL_SIG_LEN);
	for (uint32_t i = 0; i < 5; i++) {
		pks[i].id = i + 1;
		fill_key(pks[i].key, (uint8_t)(0x30 + i));
	}
	memset(&p, 0, sizeof p);
	strcpy(p.name, "CERT-EE duty officer");
	strcpy(p.organisation, "RIA / CERT-EE");
	strcpy(p.country, "EE");
	strcpy(p.role, "national CSIRT");
	strcpy(p.languages[0], "en");
	strcpy(p.languages[1], "et");
	p.n_languages = 2;
	strcpy(p.timezone, "Europe/Tallinn");
	strcpy(p.alternate, "ee.ria");
	assert_int_equal(hl_profile_validate(&p, cause), 0);
	char *body = hl_api_build_register("ee.cert", code, &me, pks, 5, &p);
	assert_non_null(body);
	call("POST", "/v1/accounts", NULL, body, &g);
	free(body);
	if (g.status != 201)
		fail_msg("register: %d %s", g.status, g.body);
	char token[HL_TOKEN_HEX + 1];
	assert_int_equal(hl_api_parse_token(g.body, g.len, token, cause), 0);
	got_clear(&g);

	int remaining = -1;
	call("GET", "/v1/keys", token, NULL, &g);
	assert_int_equal(g.status, 200);
	assert_int_equal(hl_api_parse_key_count(g.body, g.len, &remaining,
	    cause), 0);
	assert_int_equal(remaining, 5);
	got_clear(&g);

	struct hl_test_account fi;
	assert_int_equal(hl_test_relay_account(&relay, "fi.ncsc", 3, &fi), 0);
	struct hl_bundle b;
	call("GET", "/v1/keys/ee.cert", fi.token, NULL, &g);
	assert_int_equal(g.status, 200);
	if (hl_api_parse_bundle(g.body, g.len, "ee.cert", &b, cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(b.registration_id, 4711);
	assert_memory_equal(b.identity_key, me.identity_key, HL_KEY_LEN);
	assert_int_equal(b.signed_prekey.id, 1);
	assert_memory_equal(b.signed_prekey.signature,
	    me.signed_prekey.signature, HL_SIG_LEN);
	assert_int_equal(b.has_prekey, 1);
	assert_int_equal(b.prekey.id, 1);
	assert_memory_equal(b.prekey.key, pks[0].key, HL_KEY_LEN);
	got_clear(&g);

	static const uint8_t ct[] = { 0x33, 1, 2, 3, 4, 5, 6, 7 };
	const char *id = "00112233445566778899aabbccddeeff";
	body = hl_api_build_message("fi.ncsc", id, HL_MSG_PREKEY, ct, sizeof ct);
	call("POST", "/v1/messages", token, body, &g);
	free(body);
	assert_int_equal(g.status, 202);
	int64_t accepted = 0;
	assert_int_equal(hl_api_parse_accepted(g.body, g.len, id, &accepted,
	    cause), 0);
	assert_true(accepted > 0);
	got_clear(&g);

	struct hl_fetch f;
	call("GET", "/v1/messages?wait=0", fi.token, NULL, &g);
	assert_int_equal(g.status, 200);
	if (hl_api_parse_fetch(g.body, g.len, &f, cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.items[0].kind, HL_ITEM_MESSAGE);
	assert_string_equal(f.items[0].from, "ee.cert");
	assert_string_equal(f.items[0].id, id);
	assert_int_equal(f.items[0].type, HL_MSG_PREKEY);
	assert_int_equal(f.items[0].accepted_ms, accepted);
	assert_int_equal(f.items[0].body_len, sizeof ct);
	assert_memory_equal(f.items[0].body, ct, sizeof ct);
	assert_int_equal(f.more, 0);
	assert_int_equal(f.prekeys_remaining, 3);
	const char *qids[] = { f.items[0].qid };
	body = hl_api_build_ack(qids, 1);
	hl_api_fetch_free(&f);
	got_clear(&g);
	call("POST", "/v1/messages/ack", fi.token, body, &g);
	free(body);
	assert_int_equal(g.status, 200);
	got_clear(&g);
	call("GET", "/v1/messages", fi.token, NULL, &g);
	assert_int_equal(hl_api_parse_fetch(g.body, g.len, &f, cause), 0);
	assert_int_equal(f.n, 0);
	hl_api_fetch_free(&f);
	got_clear(&g);

	struct hl_dir_entry *e;
	size_t n;
	call("GET", "/v1/directory?q=ee.cert", fi.token, NULL, &g);
	assert_int_equal(g.status, 200);
	if (hl_api_parse_directory(g.body, g.len, &e, &n, cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].handle, "ee.cert");
	assert_string_equal(e[0].profile.name, p.name);
	assert_string_equal(e[0].profile.organisation, p.organisation);
	assert_string_equal(e[0].profile.country, "EE");
	assert_string_equal(e[0].profile.role, p.role);
	assert_int_equal(e[0].profile.n_languages, 2);
	assert_string_equal(e[0].profile.languages[1], "et");
	assert_string_equal(e[0].profile.timezone, p.timezone);
	assert_string_equal(e[0].profile.alternate, "ee.ria");
	assert_memory_equal(e[0].identity_key, me.identity_key, HL_KEY_LEN);
	assert_true(e[0].updated_ms > 0);
	free(e);
	got_clear(&g);

	/* Profile without country and alternate: the relay takes the
	 * absent fields, and the directory shows them empty. */
	p.country[0] = '\0';
	p.alternate[0] = '\0';
	p.n_languages = 0;
	body = hl_api_build_profile(&p);
	call("PUT", "/v1/profile", token, body, &g);
	free(body);
	assert_int_equal(g.status, 200);
	got_clear(&g);
	call("GET", "/v1/directory", fi.token, NULL, &g);
	assert_int_equal(hl_api_parse_directory(g.body, g.len, &e, &n, cause), 0);
	int seen = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].handle, "ee.cert") == 0) {
			seen = 1;
			assert_string_equal(e[i].profile.country, "");
			assert_string_equal(e[i].profile.alternate, "");
			assert_int_equal(e[i].profile.n_languages, 0);
		}
	assert_true(seen);
	free(e);
	got_clear(&g);

	struct hl_prekey_pub more[2] = { { .id = 6 }, { .id = 7 } };
	fill_key(more[0].key, 0x60);
	fill_key(more[1].key, 0x61);
	struct hl_signed_prekey_pub spk = { .id = 2 };
	fill_key(spk.key, 0x62);
	memset(spk.signature, 0x63, HL_SIG_LEN);
	body = hl_api_build_keys(more, 2, &spk);
	call("PUT", "/v1/keys", token, body, &g);
	free(body);
	assert_int_equal(g.status, 200);
	assert_int_equal(hl_api_parse_key_count(g.body, g.len, &remaining,
	    cause), 0);
	assert_int_equal(remaining, 6);
	got_clear(&g);
}

/* A long-poll, health checks and the send that ends the long-poll, all in
 * flight at once on one hl_net. */
static void
test_relay_in_flight(void **state)
{
	(void)state;
	struct hl_test_account a, b;
	char cause[HL_CAUSE_MAX];
	assert_int_equal(hl_test_relay_account(&relay, "lv.cert", 1, &a), 0);
	assert_int_equal(hl_test_relay_account(&relay, "lt.cert", 1, &b), 0);
	struct hl_net_opts o = { .base_url = relay.url };
	struct hl_net *n;
	assert_int_equal(hl_net_new(&o, &n, cause), 0);
	struct got poll_g, send_g, health[4];
	memset(&poll_g, 0, sizeof poll_g);
	memset(&send_g, 0, sizeof send_g);
	memset(health, 0, sizeof health);
	int64_t start = hl_mono_ms();
	assert_int_equal(hl_net_request(n, "GET", "/v1/messages?wait=8",
	    b.token, NULL, 15000, on_done, &poll_g), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(hl_net_request(n, "GET", "/v1/health", NULL,
		    NULL, 5000, on_done, &health[i]), 0);
	static const uint8_t ct[] = { 0x33, 9, 9 };
	const char *id = "ffeeddccbbaa99887766554433221100";
	char *body = hl_api_build_message("lt.cert", id, HL_MSG_PREKEY, ct,
	    sizeof ct);
	/* Sent a moment later, so the long-poll is waiting when it lands. */
	assert_int_equal(hl_net_run(n, hl_mono_ms() + 300), HL_ETIMEOUT);
	assert_int_equal(poll_g.calls, 0);
	assert_int_equal(hl_net_pending(n), 1);
	assert_int_equal(hl_net_request(n, "POST", "/v1/messages", a.token, body,
	    5000, on_done, &send_g), 0);
	free(body);
	assert_int_equal(hl_net_run(n, hl_mono_ms() + WAIT_MS), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(health[i].calls, 1);
		assert_int_equal(health[i].status, 200);
		got_clear(&health[i]);
	}
	assert_int_equal(send_g.status, 202);
	assert_int_equal(poll_g.calls, 1);
	assert_int_equal(poll_g.status, 200);
	/* Woken by the send, long before its 8 s ran out. */
	assert_true(poll_g.at_ms - start < 6000);
	struct hl_fetch f;
	assert_int_equal(hl_api_parse_fetch(poll_g.body, poll_g.len, &f, cause),
	    0);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.items[0].from, "lv.cert");
	assert_string_equal(f.items[0].id, id);
	hl_api_fetch_free(&f);
	got_clear(&send_g);
	got_clear(&poll_g);
	hl_net_free(n);
}

static void
test_relay_retry_after(void **state)
{
	(void)state;
	struct hl_test_account a, b;
	assert_int_equal(hl_test_relay_account(&relay, "se.cert", 1, &a), 0);
	assert_int_equal(hl_test_relay_account(&relay, "no.cert", 1, &b), 0);
	static const uint8_t ct[] = { 0x33, 1 };
	struct got g;
	int limited = 0;
	/* rate_per_minute is 4: the fifth message at the latest is refused. */
	for (int i = 0; i < 8 && !limited; i++) {
		char id[HL_ID_HEX + 1];
		snprintf(id, sizeof id, "%032x", i + 1);
		char *body = hl_api_build_message("no.cert", id, HL_MSG_SIGNAL,
		    ct, sizeof ct);
		call("POST", "/v1/messages", a.token, body, &g);
		free(body);
		if (g.status == 429) {
			char code[64], msg[256];
			limited = 1;
			assert_true(i >= 4);
			assert_true(g.retry_after_s >= 1 && g.retry_after_s <= 60);
			hl_api_parse_error(g.body, g.len, code, sizeof code, msg,
			    sizeof msg);
			assert_string_equal(code, "rate_limited");
		} else {
			assert_int_equal(g.status, 202);
			assert_int_equal(g.retry_after_s, -1);
		}
		got_clear(&g);
	}
	assert_true(limited);
}

int
main(void)
{
	/* A proxy in the environment must not be used. */
	setenv("http_proxy", "http://127.0.0.1:9", 1);
	setenv("https_proxy", "http://127.0.0.1:9", 1);
	setenv("HTTPS_PROXY", "http://127.0.0.1:9", 1);
	setenv("ALL_PROXY", "http://127.0.0.1:9", 1);
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pinned_answer),
		cmocka_unit_test(test_wrong_pin),
		cmocka_unit_test(test_untrusted_certificate),
		cmocka_unit_test(test_tls12_refused),
		cmocka_unit_test(test_response_cap),
		cmocka_unit_test(test_many_in_flight),
		cmocka_unit_test(test_external_loop),
		cmocka_unit_test(test_closed_port),
		cmocka_unit_test(test_total_timeout),
		cmocka_unit_test(test_headers_and_request),
		cmocka_unit_test(test_retry_after_date_and_absent),
		cmocka_unit_test(test_no_redirect_and_declared_size),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_request_arguments),
	};
	const struct CMUnitTest relay_tests[] = {
		cmocka_unit_test(test_relay_health),
		cmocka_unit_test(test_relay_errors),
		cmocka_unit_test(test_relay_contract),
		cmocka_unit_test(test_relay_in_flight),
		cmocka_unit_test(test_relay_retry_after),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	rc |= cmocka_run_group_tests(relay_tests, relay_setup, relay_teardown);
	curl_global_cleanup();
	return rc;
}
