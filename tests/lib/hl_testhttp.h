/*
 * hl_testhttp: HTTP requests for integration tests. One libcurl easy
 * request per call (thread-safe: call from several threads at once), and a
 * raw TCP sender for requests libcurl will not make (oversize or broken
 * headers). Network traffic goes to 127.0.0.1 only.
 */
#ifndef HL_TESTHTTP_H
#define HL_TESTHTTP_H

#include <jansson.h>
#include <stddef.h>

struct hl_test_http {
	long status;              /* 0 when no answer came */
	char *body;               /* NUL-terminated; hl_test_http_free() */
	size_t len;
	char retry_after[32];     /* header values, "" when absent */
	char date[64];
	char allow[64];
	char content_type[96];
	char www_authenticate[96];
	int curl_error;           /* CURLcode when status is 0 */
};

struct hl_test_http_opts {
	const char *ca_file;      /* trust this certificate (TLS) */
	int tls12_only;           /* offer nothing newer than TLS 1.2 */
	long timeout_s;           /* whole request; default 30 */
	const char *const *headers; /* extra "Name: value" lines, NULL-ended */
	size_t body_len;          /* for a body with NUL bytes; 0: strlen */
	int chunked;              /* send the body with chunked encoding */
	int expect_continue;      /* wait for "100 Continue" before the body */
};

/* method on base_url + path. body may be NULL; token adds "Authorization:
 * Bearer token"; opts may be NULL. Returns 0 when an HTTP answer came
 * (out->status), -1 otherwise (out->curl_error). out is always to be
 * released with hl_test_http_free(). */
int hl_test_http(const char *base_url, const char *method, const char *path,
    const char *body, const char *token, const struct hl_test_http_opts *opts,
    struct hl_test_http *out);

void hl_test_http_free(struct hl_test_http *res);

/* The body as JSON (caller json_decref()s), NULL when it is not JSON. */
json_t *hl_test_http_json(const struct hl_test_http *res);

/* The "error.code" of an error body into buf (n bytes); "" when none. */
const char *hl_test_http_error(const struct hl_test_http *res, char *buf,
    size_t n);

/* Sends len raw bytes to 127.0.0.1:port, half-closes nothing, and reads
 * the answer until the server closes or timeout_ms passes. Returns the
 * status code of the first status line, 0 when none came, -1 when the
 * connection failed. reply (replylen bytes) gets what was read, cut. */
int hl_test_raw(int port, const char *request, size_t len, char *reply,
    size_t replylen, int timeout_ms);

#endif
