#include "tests/lib/hl_testhttp.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
	char *p;
	size_t len, cap;
	int failed;
};

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		while (cap < s->len + n + 1)
			cap *= 2;
		char *p = realloc(s->p, cap);
		if (p == NULL) {
			s->failed = 1;
			return 0;
		}
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->len, data, n);
	s->len += n;
	s->p[s->len] = '\0';
	return n;
}

struct source {
	const char *p;
	size_t len, off;
};

static size_t
on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct source *src = arg;
	size_t n = size * nmemb;
	/* Small pieces, so a large body arrives as many chunks. */
	if (n > 4096)
		n = 4096;
	if (n > src->len - src->off)
		n = src->len - src->off;
	memcpy(buf, src->p + src->off, n);
	src->off += n;
	return n;
}

static void
header_value(const char *line, size_t n, const char *name, char *out,
    size_t outlen)
{
	size_t nl = strlen(name);
	if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	const char *v = line + nl + 1;
	const char *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && strchr("\r\n ", end[-1]) != NULL)
		end--;
	size_t len = (size_t)(end - v);
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, v, len);
	out[len] = '\0';
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct hl_test_http *res = arg;
	size_t n = size * nmemb;
	header_value(data, n, "Retry-After", res->retry_after,
	    sizeof res->retry_after);
	header_value(data, n, "Date", res->date, sizeof res->date);
	header_value(data, n, "Allow", res->allow, sizeof res->allow);
	header_value(data, n, "Content-Type", res->content_type,
	    sizeof res->content_type);
	header_value(data, n, "WWW-Authenticate", res->www_authenticate,
	    sizeof res->www_authenticate);
	return n;
}

int
hl_test_http(const char *base_url, const char *method, const char *path,
    const char *body, const char *token, const struct hl_test_http_opts *opts,
    struct hl_test_http *out)
{
	memset(out, 0, sizeof *out);
	pthread_once(&curl_once, curl_init_once);
	CURL *c = curl_easy_init();
	if (c == NULL) {
		out->curl_error = CURLE_FAILED_INIT;
		return -1;
	}
	char url[1024];
	snprintf(url, sizeof url, "%s%s", base_url, path);
	struct curl_slist *hdrs = NULL;
	char auth[160];
	if (token != NULL) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (body != NULL)
		hdrs = curl_slist_append(hdrs,
		    "Content-Type: application/json");
	/* "Expect: 100-continue" only when asked for: a body that the relay
	 * refuses from its headers is then never sent. */
	hdrs = curl_slist_append(hdrs, opts != NULL && opts->expect_continue ?
	    "Expect: 100-continue" : "Expect:");
	if (opts != NULL && opts->chunked)
		hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
	for (size_t i = 0; opts != NULL && opts->headers != NULL &&
	    opts->headers[i] != NULL; i++)
		hdrs = curl_slist_append(hdrs, opts->headers[i]);
	struct sink s = { NULL, 0, 0, 0 };
	struct source src = { body, 0, 0 };
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT,
	    opts != NULL && opts->timeout_s > 0 ? opts->timeout_s : 30L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		size_t len = opts != NULL && opts->body_len ? opts->body_len :
		    strlen(body);
		if (opts != NULL && opts->chunked) {
			/* A read callback without a size makes libcurl send the
			 * body chunked. */
			src.len = len;
			curl_easy_setopt(c, CURLOPT_POST, 1L);
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, &src);
		} else {
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)len);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		}
	}
	if (opts != NULL && opts->ca_file != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, opts->ca_file);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	if (opts != NULL && opts->tls12_only)
		curl_easy_setopt(c, CURLOPT_SSLVERSION,
		    (long)(CURL_SSLVERSION_TLSv1_2 |
		    CURL_SSLVERSION_MAX_TLSv1_2));
	CURLcode rc = curl_easy_perform(c);
	int ret = 0;
	if (rc != CURLE_OK) {
		out->curl_error = (int)rc;
		ret = -1;
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (s.p == NULL) {
		s.p = calloc(1, 1);
		s.len = 0;
	}
	out->body = s.p;
	out->len = s.len;
	return ret;
}

void
hl_test_http_free(struct hl_test_http *res)
{
	free(res->body);
	res->body = NULL;
	res->len = 0;
}

json_t *
hl_test_http_json(const struct hl_test_http *res)
{
	if (res->body == NULL)
		return NULL;
	return json_loadb(res->body, res->len, 0, NULL);
}

const char *
hl_test_http_error(const struct hl_test_http *res, char *buf, size_t n)
{
	buf[0] = '\0';
	json_t *j = hl_test_http_json(res);
	const char *code = json_string_value(json_object_get(
	    json_object_get(j, "error"), "code"));
	if (code != NULL)
		snprintf(buf, n, "%s", code);
	json_decref(j);
	return buf;
}

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Case-insensitive search for a lower-case needle. */
static const char *
find_header(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *p = hay; *p != '\0'; p++)
		if (strncasecmp(p, needle, n) == 0)
			return p;
	return NULL;
}

int
hl_test_raw(int port, const char *request, size_t len, char *reply,
    size_t replylen, int timeout_ms)
{
	if (replylen > 0)
		reply[0] = '\0';
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	int64_t deadline = now_ms() + timeout_ms;
	size_t sent = 0;
	/* The server may answer and close before taking everything (an
	 * oversize header, a refused body); stop sending then. */
	while (sent < len && now_ms() < deadline) {
		ssize_t n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	size_t got = 0;
	while (replylen > 1 && got < replylen - 1) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			break;
		struct pollfd p = { fd, POLLIN, 0 };
		int pr = poll(&p, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		ssize_t n = recv(fd, reply + got, replylen - 1 - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		reply[got] = '\0';
		/* One complete answer is enough: headers and a body of the
		 * announced length. */
		const char *end = strstr(reply, "\r\n\r\n");
		const char *cl = find_header(reply, "\r\ncontent-length:");
		if (end != NULL && cl != NULL && cl < end) {
			size_t want = (size_t)strtoul(cl + 17, NULL, 10);
			if (got >= (size_t)(end + 4 - reply) + want)
				break;
		}
	}
	close(fd);
	int status = 0;
	if (got > 12 && sscanf(reply, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
	return status;
}
