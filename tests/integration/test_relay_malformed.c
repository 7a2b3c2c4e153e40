/* Malformed requests against the real relay: each gets its documented
 * status and error code, and the relay keeps serving (health is checked
 * after every batch). Also the limits that need no parsing: oversize
 * headers and bodies, chunked bodies, per-address connections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
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

#define KEY "BRERERERERERERERERERERERERERERERERERERERERER"
#define SIG "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIi" \
	"IiIiIiIiIiIiIiIiIiIiIg=="
#define ID "0123456789abcdef0123456789abcdef"
#define MSG(fields) "{" fields "}"
#define GOOD_TO "\"to\":\"bad.b\""
#define GOOD_ID "\"id\":\"" ID "\""

static struct hl_test_relay relay;
static struct hl_test_account acct_a, acct_b;

static int
group_setup(void **state)
{
	(void)state;
	if (hl_test_relay_new(&relay) != 0)
		return -1;
	hl_test_relay_set(&relay, "limits", "max_message_bytes", "1024");
	hl_test_relay_set(&relay, "limits", "max_body_bytes", "16384");
	hl_test_relay_set(&relay, "server", "max_wait", "60s");
	hl_test_relay_set(&relay, "server", "max_fetch", "10");
	hl_test_relay_set(&relay, "server", "connection_memory_kib", "32");
	hl_test_relay_set(&relay, "server", "max_connections_per_ip", "8");
	if (hl_test_relay_start(&relay) != 0)
		return -1;
	if (hl_test_relay_account(&relay, "bad.a", 1, &acct_a) != 0 ||
	    hl_test_relay_account(&relay, "bad.b", 1, &acct_b) != 0)
		return -1;
	return 0;
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

struct bad_request {
	const char *method;
	const char *path;
	const char *body;          /* NULL: none */
	int auth;                  /* send acct_a's token */
	long status;
	const char *code;          /* error.code */
};

static const struct bad_request cases[] = {
	/* bodies that are not the JSON asked for */
	{ "POST", "/v1/messages", "not json", 1, 400, "bad_request" },
	{ "POST", "/v1/messages", "", 1, 400, "bad_request" },
	{ "POST", "/v1/messages", "[]", 1, 400, "bad_request" },
	{ "POST", "/v1/messages", "{", 1, 400, "bad_request" },
	{ "POST", "/v1/messages", "{\"to\":\"bad.b\",\"to\":\"bad.a\"}", 1, 400,
	    "bad_request" },
	/* wrong types, missing and unknown fields */
	{ "POST", "/v1/messages", MSG("\"to\":5," GOOD_ID ",\"type\":3,"
	    "\"body\":\"AAAA\""), 1, 400, "bad_request" },
	{ "POST", "/v1/messages", MSG(GOOD_TO ",\"type\":3,\"body\":\"AAAA\""), 1,
	    400, "bad_request" },
	{ "POST", "/v1/messages", MSG(GOOD_TO "," GOOD_ID ",\"type\":\"3\","
	    "\"body\":\"AAAA\""), 1, 400, "bad_request" },
	{ "POST", "/v1/messages", MSG(GOOD_TO "," GOOD_ID ",\"type\":3.0,"
	    "\"body\":\"AAAA\""), 1, 400, "bad_request" },
	{ "POST", "/v1/messages", MSG(GOOD_TO "," GOOD_ID ",\"type\":3,"
	    "\"body\":\"AAAA\",\"prio\":\"flash\""), 1, 400, "bad_request" },
	{ "POST", "/v1/messages", MSG(GOOD_TO "," GOOD_ID ",\"type\":1,"
	    "\"body\":\"AAAA\""), 1, 400, "bad_request" },
	/* bad base64, bad id, bad handle */
	{ "POST", "/v1/messages", MSG(GOOD_TO "," GOOD_ID ",\"type\":3,"
	    "\"body\":\"@@@@\""), 1, 400, "bad_request" },
	{ "POST", "/v1/messages", MSG(GOOD_TO "," GOOD_ID ",\"type\":3,"
	    "\"body\":\"AAA\""), 1, 400, "bad_request" },
	{ "POST", "/v1/messages", MSG(GOOD_TO "," GOOD_ID ",\"type\":3,"
	    "\"body\":\"\""), 1, 400, "bad_request" },
	{ "POST", "/v1/messages", MSG(GOOD_TO ",\"id\":\"0123456789ABCDEF0123456789"
	    "abcdef\",\"type\":3,\"body\":\"AAAA\""), 1, 400, "bad_request" },
	{ "POST", "/v1/messages", MSG(GOOD_TO ",\"id\":\"12\",\"type\":3,"
	    "\"body\":\"AAAA\""), 1, 400, "bad_request" },
	{ "POST", "/v1/messages", MSG("\"to\":\"Bad_Handle\"," GOOD_ID ","
	    "\"type\":3,\"body\":\"AAAA\""), 1, 400, "bad_request" },
	/* an unknown handle */
	{ "POST", "/v1/messages", MSG("\"to\":\"no.such\"," GOOD_ID ",\"type\":3,"
	    "\"body\":\"AAAA\""), 1, 404, "unknown_recipient" },
	{ "GET", "/v1/keys/no.such", NULL, 1, 404, "not_found" },
	{ "GET", "/v1/keys/Not_A_Handle", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/keys/" "a123456789a123456789a123456789a123456789a123456789"
	    "a123456789abcd", NULL, 1, 400, "bad_request" },
	/* query values */
	{ "GET", "/v1/messages?wait=-1", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/messages?wait=abc", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/messages?wait=1.5", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/messages?wait=61", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/messages?wait=99999999999999999999999", NULL, 1, 400,
	    "bad_request" },
	{ "GET", "/v1/messages?limit=0", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/messages?limit=11", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/messages?wait=1&wait=2", NULL, 1, 400, "bad_request" },
	/* A parameter without "=" is not an absent one. */
	{ "GET", "/v1/messages?wait", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/messages?limit", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/messages?limit=5&wait", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/directory?q", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/messages?since=5", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/keys?x=1", NULL, 1, 400, "bad_request" },
	/* Control characters, decoded or not, in a path or a query: a %00
	 * must not cut a path or a value short. */
	{ "GET", "/v1/keys/bad.b%00", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/keys/bad.b%00x", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/directory?q=%00", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/directory?q=bad%00", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/directory?q=a%0ab", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/directory?q=%7f", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/directory?q%00=x", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/messages?wait=0%00", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/messages?limit=1%09", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/health%00.html", NULL, 0, 400, "bad_request" },
	{ "GET", "/v1/health%00", NULL, 0, 400, "bad_request" },
	{ "GET", "/v1/health%1b", NULL, 0, 400, "bad_request" },
	/* routes and methods */
	{ "GET", "/v1/nothing", NULL, 1, 404, "not_found" },
	{ "GET", "/v1/messages/", NULL, 1, 404, "not_found" },
	{ "DELETE", "/v1/messages", NULL, 1, 405, "method_not_allowed" },
	{ "PUT", "/v1/accounts", "{}", 0, 405, "method_not_allowed" },
	{ "POST", "/v1/health", "{}", 0, 405, "method_not_allowed" },
	{ "GET", "/v1/health", "{}", 0, 400, "bad_request" },
	/* acks */
	{ "POST", "/v1/messages/ack", "{\"qids\":[1]}", 1, 400, "bad_request" },
	{ "POST", "/v1/messages/ack", "{\"qids\":[]}", 1, 400, "bad_request" },
	{ "POST", "/v1/messages/ack", "{\"qids\":[\"1\",\"2\",\"3\",\"4\",\"5\","
	    "\"6\",\"7\",\"8\",\"9\",\"10\",\"11\"]}", 1, 400, "bad_request" },
	/* profile and directory */
	{ "PUT", "/v1/profile", "{\"name\":\"\"}", 1, 400, "bad_request" },
	{ "PUT", "/v1/profile", "{\"name\":\"x\\u001b]0;pwned\\u0007\"}", 1, 400,
	    "bad_request" },
	{ "PUT", "/v1/profile", "{\"name\":\"x\",\"country\":\"Estonia\"}", 1, 400,
	    "bad_request" },
	{ "GET", "/v1/directory?q=%01", NULL, 1, 400, "bad_request" },
	{ "GET", "/v1/directory?q=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaa", NULL, 1, 400, "bad_request" },
	/* registration */
	{ "POST", "/v1/accounts", "{\"handle\":\"x.y\"}", 0, 400, "bad_request" },
	{ "POST", "/v1/accounts", "{\"handle\":\"x.y\",\"code\":\"!!!!\"}", 0, 400,
	    "bad_request" },
	{ "POST", "/v1/accounts", "{\"handle\":\"x.y\",\"code\":"
	    "\"0000-0000-0000-0000-0000-0000\",\"identity_key\":\"" KEY "\","
	    "\"registration_id\":1,\"device_id\":1,\"signed_prekey\":{\"id\":1,"
	    "\"key\":\"" KEY "\",\"signature\":\"" SIG "\"},\"prekeys\":[{\"id\":1,"
	    "\"key\":\"" KEY "\"}],\"profile\":{\"name\":\"n\"}}", 0, 403,
	    "invalid_code" },
	{ "PUT", "/v1/keys", "{\"prekeys\":[{\"id\":1,\"key\":\"" KEY "\"}]}", 1,
	    400, "bad_request" },
	/* authentication */
	{ "GET", "/v1/messages", NULL, 0, 401, "unauthorized" },
	{ "POST", "/v1/messages", "{}", 0, 401, "unauthorized" },
};

static void
check_health(void)
{
	assert_int_equal(hl_test_api_health(&relay), 200);
}

static void
test_table(void **state)
{
	(void)state;
	size_t n = sizeof cases / sizeof cases[0];
	assert_true(n >= 30);
	for (size_t i = 0; i < n; i++) {
		const struct bad_request *c = &cases[i];
		struct hl_test_http res;
		char code[64];
		hl_test_api(&relay, c->method, c->path, c->body,
		    c->auth ? acct_a.token : NULL, &res);
		hl_test_http_error(&res, code, sizeof code);
		if (res.status != c->status || strcmp(code, c->code) != 0)
			fail_msg("case %zu (%s %s): got %ld %s, want %ld %s: %s", i,
			    c->method, c->path, res.status, code, c->status, c->code,
			    res.body ? res.body : "");
		/* Every error is JSON and carries a message. */
		json_t *j = hl_test_http_json(&res);
		assert_non_null(json_string_value(json_object_get(json_object_get(j,
		    "error"), "message")));
		json_decref(j);
		if (c->status == 405)
			assert_true(res.allow[0] != '\0');
		hl_test_http_free(&res);
		if (i % 10 == 9)
			check_health();
	}
	check_health();
	/* None of it queued anything. */
	json_t *got;
	assert_int_equal(hl_test_api_fetch(&relay, &acct_b, 0, &got), 200);
	assert_int_equal(json_array_size(json_object_get(got, "messages")), 0);
	json_decref(got);
}

/* Hostile bodies are refused in the relay's own words: nothing of the JSON
 * library's messages (its flag names, the bytes it could not decode)
 * reaches the client. */
struct hostile {
	const char *body;
	size_t len;                /* 0: strlen */
	const char *problem;       /* the end of the message */
};

static void
check_words(const char *path, int auth, const struct hostile *h)
{
	struct hl_test_http_opts o;
	memset(&o, 0, sizeof o);
	o.body_len = h->len;
	struct hl_test_http res;
	hl_test_http(relay.url, "POST", path, h->body, auth ? acct_a.token :
	    NULL, &o, &res);
	assert_int_equal(res.status, 400);
	json_t *j = hl_test_http_json(&res);
	const char *msg = json_string_value(json_object_get(json_object_get(j,
	    "error"), "message"));
	if (msg == NULL || strncmp(msg, "body: invalid JSON", 18) != 0 ||
	    strlen(msg) < strlen(h->problem) ||
	    strcmp(msg + strlen(msg) - strlen(h->problem), h->problem) != 0)
		fail_msg("POST %s: want '...%s', got: %s", path, h->problem,
		    res.body ? res.body : "");
	static const char *const library[] = { "JSON_", "decode", "byte",
	    "0x", "near", "end of file", "object key", "depth", "'", "\\u0000 is" };
	for (size_t i = 0; i < sizeof library / sizeof library[0]; i++)
		if (strstr(msg, library[i]) != NULL)
			fail_msg("POST %s: library text '%s' in: %s", path,
			    library[i], msg);
	json_decref(j);
	hl_test_http_free(&res);
}

static void
test_error_words(void **state)
{
	(void)state;
	/* Deeper than the parser goes, and still within the smallest body
	 * limit here (a message's). */
	static char deep[2200];
	memset(deep, '[', 2100);
	deep[2100] = '\0';
	const struct hostile cases_h[] = {
		{ "\xff", 0, "not UTF-8" },
		{ "{\"to\":\"x\xff\xfe\"}", 0, "not UTF-8" },
		{ "{\"to\":\"\\u0000\"}", 0,
		    "a NUL character (\\u0000 included) is not allowed" },
		{ "{\"to\"\0:1}", 9, "a NUL character (\\u0000 included) is "
		    "not allowed" },
		{ "{\"a\":1}{}", 0, "more after the end of the value" },
		{ "{\"a\":1,\"a\":2}", 0, "a field is repeated" },
		{ "{\"type\":1e999}", 0, "a number is out of range" },
		{ "{\"type\":99999999999999999999999}", 0,
		    "a number is out of range" },
		{ "{\"to\":", 0, "ends too early" },
		{ "{'to':1}", 0, "not valid JSON" },
		{ deep, 0, "nested too deep" },
	};
	for (size_t i = 0; i < sizeof cases_h / sizeof cases_h[0]; i++) {
		check_words("/v1/messages", 1, &cases_h[i]);
		check_words("/v1/accounts", 0, &cases_h[i]);
		check_words("/v1/messages/ack", 1, &cases_h[i]);
	}
	check_health();
}

static char *
big_message(size_t decoded)
{
	/* base64 of decoded zero bytes: "AAAA" per 3 bytes */
	size_t b64 = 4 * ((decoded + 2) / 3);
	char *body = malloc(b64 + 128);
	assert_non_null(body);
	int n = snprintf(body, 128, "{\"to\":\"bad.b\",\"id\":\"" ID "\","
	    "\"type\":3,\"body\":\"");
	memset(body + n, 'A', b64);
	if (decoded % 3 == 1)
		memcpy(body + n + b64 - 2, "==", 2);
	else if (decoded % 3 == 2)
		body[n + b64 - 1] = '=';
	snprintf(body + n + b64, 8, "\"}");
	return body;
}

static void
test_sizes(void **state)
{
	(void)state;
	struct hl_test_http res;
	char code[64];
	/* Just at the limit: accepted. */
	char *body = big_message(1024);
	hl_test_api(&relay, "POST", "/v1/messages", body, acct_a.token, &res);
	assert_int_equal(res.status, 202);
	hl_test_http_free(&res);
	free(body);
	/* One byte over, decided after decoding. */
	body = big_message(1025);
	hl_test_api(&relay, "POST", "/v1/messages", body, acct_a.token, &res);
	assert_int_equal(res.status, 413);
	assert_string_equal(hl_test_http_error(&res, code, sizeof code),
	    "too_large");
	hl_test_http_free(&res);
	free(body);
	/* Far over, decided from Content-Length before the body is read: the
	 * client that waits for "100 Continue" never sends it. */
	body = big_message(100000);
	struct hl_test_http_opts opts;
	memset(&opts, 0, sizeof opts);
	opts.expect_continue = 1;
	hl_test_http(relay.url, "POST", "/v1/messages", body, acct_a.token, &opts,
	    &res);
	assert_int_equal(res.status, 413);
	assert_string_equal(hl_test_http_error(&res, code, sizeof code),
	    "too_large");
	hl_test_http_free(&res);
	/* The same without Content-Length (chunked), decided while reading. */
	memset(&opts, 0, sizeof opts);
	opts.chunked = 1;
	hl_test_http(relay.url, "POST", "/v1/messages", body, acct_a.token, &opts,
	    &res);
	assert_int_equal(res.status, 413);
	assert_string_equal(hl_test_http_error(&res, code, sizeof code),
	    "too_large");
	hl_test_http_free(&res);
	free(body);
	/* A small chunked body is fine. */
	hl_test_http(relay.url, "POST", "/v1/messages/ack", "{\"qids\":[\"1\"]}",
	    acct_a.token, &opts, &res);
	assert_int_equal(res.status, 200);
	hl_test_http_free(&res);
	/* A JSON body over max_body_bytes. */
	char *huge = malloc(20001);
	assert_non_null(huge);
	memset(huge, ' ', 20000);
	huge[0] = '{';
	huge[19999] = '}';
	huge[20000] = '\0';
	memset(&opts, 0, sizeof opts);
	opts.expect_continue = 1;
	hl_test_http(relay.url, "PUT", "/v1/profile", huge, acct_a.token, &opts,
	    &res);
	assert_int_equal(res.status, 413);
	hl_test_http_free(&res);
	/* Deep nesting within the size limit. */
	memset(huge, '[', 6000);
	memset(huge + 6000, ']', 6000);
	huge[12000] = '\0';
	hl_test_api(&relay, "POST", "/v1/accounts", huge, NULL, &res);
	assert_int_equal(res.status, 400);
	hl_test_http_free(&res);
	free(huge);
	check_health();
}

static void
test_raw_requests(void **state)
{
	(void)state;
	char reply[4096];
	/* Headers larger than the connection's memory: refused by the HTTP
	 * layer with 431. */
	size_t big = 64 * 1024;
	char *req = malloc(big + 256);
	assert_non_null(req);
	int n = snprintf(req, 256, "GET /v1/health HTTP/1.1\r\nHost: x\r\n"
	    "X-Filler: ");
	memset(req + n, 'a', big);
	memcpy(req + n + big, "\r\n\r\n", 5);
	assert_int_equal(hl_test_raw(relay.port, req, strlen(req), reply,
	    sizeof reply, 10000), 431);
	free(req);
	check_health();
	/* A Content-Length that is not a number (refused by the HTTP layer;
	 * no body follows, so the answer is not lost to a reset). */
	const char *cl = "POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: abc\r\n\r\n";
	long status = hl_test_raw(relay.port, cl, strlen(cl), reply, sizeof reply,
	    10000);
	assert_int_equal(status, 400);
	/* A Content-Length far over the limit, with no body sent at all:
	 * answered at once. */
	char hdr[256];
	snprintf(hdr, sizeof hdr, "POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Bearer %s\r\nContent-Length: 1000000000\r\n\r\n",
	    acct_a.token);
	assert_int_equal(hl_test_raw(relay.port, hdr, strlen(hdr), reply,
	    sizeof reply, 10000), 413);
	assert_non_null(strstr(reply, "too_large"));
	/* Content-Length and Transfer-Encoding together (a smuggling
	 * attempt): 400, and the request pipelined behind it is not served. */
	char both[512];
	snprintf(both, sizeof both, "POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Bearer %s\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	    "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n", acct_a.token);
	assert_int_equal(hl_test_raw(relay.port, both, strlen(both), reply,
	    sizeof reply, 10000), 400);
	assert_non_null(strstr(reply, "Transfer-Encoding together"));
	assert_null(strstr(reply + 1, "HTTP/1.1 200"));
	check_health();
	/* Not HTTP at all. */
	const char *junk = "\x16\x03\x01 hello\r\n\r\n";
	status = hl_test_raw(relay.port, junk, strlen(junk), reply, sizeof reply,
	    10000);
	assert_true(status == 400 || status == 0);
	/* Control bytes sent raw in a path or query, as libcurl would not. */
	static const char *const raw_ctl[] = {
		"GET /v1/health\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /v1/health\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /v1/directory?q=a\x1b[2J HTTP/1.1\r\nHost: x\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof raw_ctl / sizeof raw_ctl[0]; i++) {
		assert_int_equal(hl_test_raw(relay.port, raw_ctl[i],
		    strlen(raw_ctl[i]), reply, sizeof reply, 10000), 400);
		assert_non_null(strstr(reply, "bad_request"));
	}
	/* Invalid UTF-8 inside a JSON string. */
	const char *bad_utf8 = "POST /v1/accounts HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 15\r\n\r\n{\"handle\":\"\xff\xfe\"}";
	assert_int_equal(hl_test_raw(relay.port, bad_utf8, strlen(bad_utf8), reply,
	    sizeof reply, 10000), 400);
	assert_non_null(strstr(reply, "bad_request"));
	check_health();
}

static void
test_connections_per_address(void **state)
{
	(void)state;
	/* max_connections_per_ip is 8: hold 8 idle connections, the 9th is
	 * closed at once; the 8 leave and health answers again. */
	int fds[9];
	for (int i = 0; i < 9; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fds[i] >= 0);
		struct sockaddr_in a;
		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		a.sin_port = htons((uint16_t)relay.port);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(connect(fds[i], (struct sockaddr *)&a, sizeof a), 0);
		/* Let the relay accept this one before the next. */
		hl_test_sleep_ms(50);
	}
	const char *ping = "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
	ssize_t w = send(fds[8], ping, strlen(ping), MSG_NOSIGNAL);
	(void)w;
	struct timeval tv = { 10, 0 };
	setsockopt(fds[8], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char buf[256];
	ssize_t got = recv(fds[8], buf, sizeof buf - 1, 0);
	/* Closed without an answer (0), or reset (-1). */
	assert_true(got <= 0);
	for (int i = 0; i < 9; i++)
		close(fds[i]);
	long long deadline = hl_test_now_ms() + 10000;
	long health = 0;
	while (health != 200 && hl_test_now_ms() < deadline) {
		health = hl_test_api_health(&relay);
		if (health != 200)
			hl_test_sleep_ms(50);
	}
	assert_int_equal(health, 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_words),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_raw_requests),
		cmocka_unit_test(test_connections_per_address),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
