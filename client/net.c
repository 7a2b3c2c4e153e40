#include "client/net.h"
#include "crypto/hl_encode.h"
#include "crypto/hl_time.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_RESPONSE ((size_t)16 << 20)
#define PIN_PREFIX "sha256//"
#define PIN_HASH_LEN 32
#define HEADER_VALUE_MAX 128   /* longer Date or Retry-After lines are ignored */
#define RETRY_AFTER_MAX 86400L /* a relay asking for more is capped at a day */
#define IDLE_RECHECK_MS 100
/* Each connection holds at most three sockets at once (two while racing
 * IPv6 against IPv4, one for the resolver's wake-up), so this many keeps
 * the socket count within HL_NET_MAX_FDS. */
#define MAX_CONNECTIONS (HL_NET_MAX_FDS / 4)

struct net_sock {
	curl_socket_t fd;
	short events;
};

struct net_req {
	struct hl_net *net;
	CURL *easy;
	struct curl_slist *headers;
	char *url;
	char *body;                  /* the request body, wiped when freed */
	size_t body_len;
	char *resp;                  /* the response body, wiped when freed */
	size_t resp_len, resp_cap;
	int too_big;
	int out_of_memory;
	long retry_after_s;
	int64_t date_ms;
	CURLcode result;             /* once finished */
	hl_net_cb cb;
	void *arg;
	struct net_req *prev, *next;
	char errbuf[CURL_ERROR_SIZE];
};

struct hl_net {
	CURLM *multi;
	char *base;                  /* scheme://host[:port], no trailing slash */
	char *scheme;                /* "https" or "http" */
	char *pin;
	char *ca_file;
	long connect_timeout_ms;
	size_t max_response;
	struct net_req *reqs;        /* in flight */
	int pending;
	struct net_sock *socks;
	int nsocks, capsocks;
	int64_t timer_at;            /* hl_mono_ms() when libcurl wants a call, -1 none */
	struct pollfd *scratch;      /* hl_net_run's own poll array */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc = -1;

static void
global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static char *
dup_or_null(const char *s)
{
	return (s != NULL && s[0] != '\0') ? strdup(s) : NULL;
}

static void
wipe_free(char *s, size_t len)
{
	if (s == NULL)
		return;
	sodium_memzero(s, len);
	free(s);
}

/* --- option checks --- */

static int
is_loopback_host(const char *host)
{
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	struct in_addr a4;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	size_t n = strlen(host);
	if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
		char inner[INET6_ADDRSTRLEN + 1];
		struct in6_addr a6;
		if (n - 2 >= sizeof inner)
			return 0;
		memcpy(inner, host + 1, n - 2);
		inner[n - 2] = '\0';
		if (inet_pton(AF_INET6, inner, &a6) == 1)
			return memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
	}
	return 0;
}

/* True when part is present in the parsed URL. */
static int
url_has(CURLU *u, CURLUPart part)
{
	char *v = NULL;
	if (curl_url_get(u, part, &v, 0) != CURLUE_OK)
		return 0;
	curl_free(v);
	return 1;
}

static int
check_url(struct hl_net *n, const char *url, char *cause)
{
	static const char *const plain_refused =
	    "relay URL must be https:// (plain http only to a loopback address)";
	if (url == NULL || url[0] == '\0')
		return hl_fail(cause, HL_EUSAGE, "no relay URL given");
	CURLU *u = curl_url();
	if (u == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	int rc = 0;
	CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (uc != CURLUE_OK) {
		rc = hl_fail(cause, HL_EUSAGE, "relay URL '%s': %s", url,
		    curl_url_strerror(uc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = hl_fail(cause, HL_EUSAGE, "relay URL '%s' has no host", url);
		goto out;
	}
	if (strcmp(scheme, "http") == 0) {
		if (!is_loopback_host(host)) {
			rc = hl_fail(cause, HL_EUSAGE, "%s", plain_refused);
			goto out;
		}
	} else if (strcmp(scheme, "https") != 0) {
		rc = hl_fail(cause, HL_EUSAGE, "%s", plain_refused);
		goto out;
	}
	if (url_has(u, CURLUPART_USER) || url_has(u, CURLUPART_PASSWORD) ||
	    url_has(u, CURLUPART_OPTIONS)) {
		rc = hl_fail(cause, HL_EUSAGE,
		    "relay URL must not hold a user name or password");
		goto out;
	}
	if (url_has(u, CURLUPART_QUERY) || url_has(u, CURLUPART_FRAGMENT)) {
		rc = hl_fail(cause, HL_EUSAGE,
		    "relay URL must not hold a query or fragment");
		goto out;
	}
	if (url_has(u, CURLUPART_ZONEID)) {
		rc = hl_fail(cause, HL_EUSAGE,
		    "relay URL must not hold an IPv6 zone id");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
	    strcmp(path, "/") != 0 && path[0] != '\0') {
		rc = hl_fail(cause, HL_EUSAGE,
		    "relay URL must have no path (the API lives under /v1)");
		goto out;
	}
	(void)curl_url_get(u, CURLUPART_PORT, &port, 0);
	size_t len = strlen(scheme) + strlen(host) + (port ? strlen(port) : 0)
	    + 5;
	n->base = malloc(len);
	n->scheme = strdup(scheme);
	if (n->base == NULL || n->scheme == NULL) {
		rc = hl_fail(cause, HL_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(n->base, len, "%s://%s%s%s", scheme, host, port ? ":" : "",
	    port ? port : "");
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

/* "sha256//<base64 of 32 bytes>", several joined by ';'. Anything else
 * (curl would also take a file name here) is refused. */
static int
check_pin(const char *pin, char *cause)
{
	const char *p = pin;
	for (;;) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		size_t plen = strlen(PIN_PREFIX);
		char b64[64];
		uint8_t hash[PIN_HASH_LEN];
		char why[HL_CAUSE_MAX];
		if (len <= plen || strncmp(p, PIN_PREFIX, plen) != 0)
			return hl_fail(cause, HL_EUSAGE,
			    "pin must be sha256//<base64 of 32 bytes>, "
			    "several separated by ';'");
		if (len - plen >= sizeof b64)
			return hl_fail(cause, HL_EUSAGE,
			    "pin: the hash must be 32 bytes of base64");
		memcpy(b64, p + plen, len - plen);
		b64[len - plen] = '\0';
		if (hl_b64_decode_exact(b64, hash, sizeof hash, why) != 0)
			return hl_fail(cause, HL_EUSAGE, "pin: %s", why);
		if (end == NULL)
			return 0;
		p = end + 1;
	}
}

/* --- libcurl's callbacks --- */

static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct hl_net *n = userp;
	(void)easy;
	(void)socketp;
	int i;
	for (i = 0; i < n->nsocks; i++)
		if (n->socks[i].fd == fd)
			break;
	if (what == CURL_POLL_REMOVE) {
		if (i < n->nsocks)
			n->socks[i] = n->socks[--n->nsocks];
		return 0;
	}
	short events = 0;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= POLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= POLLOUT;
	if (i == n->nsocks) {
		if (n->nsocks == n->capsocks) {
			int cap = n->capsocks * 2;
			struct net_sock *s = realloc(n->socks, (size_t)cap *
			    sizeof *s);
			if (s == NULL)
				return -1;
			n->socks = s;
			n->capsocks = cap;
		}
		n->socks[n->nsocks].fd = fd;
		n->nsocks++;
	}
	n->socks[i].events = events;
	return 0;
}

static int
on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct hl_net *n = userp;
	(void)multi;
	n->timer_at = timeout_ms < 0 ? -1 : hl_mono_ms() + timeout_ms;
	return 0;
}

static size_t
on_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct net_req *r = userp;
	size_t len = size * nmemb;
	size_t max = r->net->max_response;
	if (len > max - r->resp_len) {
		r->too_big = 1;
		return 0;
	}
	if (r->resp_len + len + 1 > r->resp_cap) {
		size_t cap = r->resp_cap ? r->resp_cap : 4096;
		while (cap < r->resp_len + len + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		/* Not realloc: a token may be in the old block, which must be
		 * wiped before it goes. */
		char *grown = malloc(cap);
		if (grown == NULL) {
			r->out_of_memory = 1;
			return 0;
		}
		if (r->resp != NULL) {
			memcpy(grown, r->resp, r->resp_len);
			wipe_free(r->resp, r->resp_cap);
		}
		r->resp = grown;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, data, len);
	r->resp_len += len;
	r->resp[r->resp_len] = '\0';
	return len;
}

/* Copies a header's value (after "Name:") without surrounding blanks into
 * out; 0 when line is not that header or the value does not fit. */
static int
header_value(const char *line, size_t len, const char *name, char *out,
    size_t outlen)
{
	size_t nlen = strlen(name);
	if (len <= nlen || strncasecmp(line, name, nlen) != 0 ||
	    line[nlen] != ':')
		return 0;
	const char *v = line + nlen + 1;
	const char *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
	    end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vlen = (size_t)(end - v);
	if (vlen == 0 || vlen >= outlen)
		return 0;
	memcpy(out, v, vlen);
	out[vlen] = '\0';
	return 1;
}

/* Retry-After is either a number of seconds or an HTTP-date. */
static long
parse_retry_after(const char *v)
{
	if (v[0] >= '0' && v[0] <= '9') {
		long s = 0;
		for (const char *p = v; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			s = s * 10 + (*p - '0');
			if (s > RETRY_AFTER_MAX)
				s = RETRY_AFTER_MAX;
		}
		return s;
	}
	time_t at = curl_getdate(v, NULL);
	if (at == (time_t)-1)
		return -1;
	time_t now = time(NULL);
	if (at <= now)
		return 0;
	return at - now > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (long)(at - now);
}

static size_t
on_header(char *line, size_t size, size_t nmemb, void *userp)
{
	struct net_req *r = userp;
	size_t len = size * nmemb;
	char v[HEADER_VALUE_MAX];
	/* A new status line (after a 100 Continue) starts a new header set. */
	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		r->retry_after_s = -1;
		r->date_ms = 0;
	} else if (header_value(line, len, "Retry-After", v, sizeof v)) {
		r->retry_after_s = parse_retry_after(v);
	} else if (header_value(line, len, "Date", v, sizeof v)) {
		time_t t = curl_getdate(v, NULL);
		r->date_ms = (t == (time_t)-1 || t <= 0) ? 0 : (int64_t)t * 1000;
	}
	return len;
}

/* --- requests --- */

static void
req_free(struct net_req *r)
{
	if (r == NULL)
		return;
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	for (struct curl_slist *h = r->headers; h != NULL; h = h->next)
		sodium_memzero(h->data, strlen(h->data));
	curl_slist_free_all(r->headers);
	free(r->url);
	wipe_free(r->body, r->body_len);
	wipe_free(r->resp, r->resp_cap);
	free(r);
}

static void
req_link(struct hl_net *n, struct net_req *r)
{
	r->prev = NULL;
	r->next = n->reqs;
	if (n->reqs != NULL)
		n->reqs->prev = r;
	n->reqs = r;
	n->pending++;
}

static void
req_unlink(struct hl_net *n, struct net_req *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		n->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	n->pending--;
}

/* Printable ASCII without blanks: nothing that could end a header line or
 * change the URL's host. */
static int
printable_token(const char *s)
{
	if (s[0] == '\0')
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return 0;
	return 1;
}

static int
add_header(struct net_req *r, const char *line)
{
	struct curl_slist *h = curl_slist_append(r->headers, line);
	if (h == NULL)
		return HL_ENOMEM;
	r->headers = h;
	return 0;
}

static int
set_headers(struct net_req *r, const char *token, int has_body)
{
	int rc = add_header(r, "Accept: application/json");
	if (rc == 0 && has_body)
		rc = add_header(r, "Content-Type: application/json");
	/* No "Expect: 100-continue" round trip before a body. */
	if (rc == 0 && has_body)
		rc = add_header(r, "Expect:");
	if (rc == 0 && token != NULL) {
		size_t len = strlen("Authorization: Bearer ") + strlen(token) + 1;
		char *line = malloc(len);
		if (line == NULL)
			return HL_ENOMEM;
		snprintf(line, len, "Authorization: Bearer %s", token);
		rc = add_header(r, line);
		wipe_free(line, len);
	}
	return rc;
}

/* The security settings every request carries, whatever it is. */
static int
set_policy(struct hl_net *n, struct net_req *r, long timeout_ms)
{
	CURL *e = r->easy;
	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, n->scheme) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, n->scheme)
	    != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_3) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	if (n->pin != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, n->pin)
		    != CURLE_OK;
	if (n->ca_file != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO, n->ca_file)
		    != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    n->connect_timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOPROGRESS, 1L) != CURLE_OK;
	/* An empty proxy overrides http_proxy and friends from the
	 * environment: the relay is reached directly or not at all. */
	bad |= curl_easy_setopt(e, CURLOPT_PROXY, "") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, (char *)NULL)
	    != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)n->max_response) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "hotline") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header)
	    != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, r) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK;
	return bad ? HL_ENET : 0;
}

static int
set_method(struct net_req *r, const char *method)
{
	CURL *e = r->easy;
	if (strcmp(method, "GET") == 0)
		return curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK ?
		    0 : HL_ENET;
	int bad = curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)r->body_len) != CURLE_OK;
	if (strcmp(method, "PUT") == 0)
		bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT")
		    != CURLE_OK;
	return bad ? HL_ENET : 0;
}

int
hl_net_request(struct hl_net *n, const char *method, const char *path,
    const char *token, const char *body, long timeout_ms, hl_net_cb cb,
    void *arg)
{
	if (n == NULL || method == NULL || path == NULL || cb == NULL ||
	    timeout_ms <= 0 || path[0] != '/' || !printable_token(path) ||
	    (token != NULL && !printable_token(token)))
		return HL_EINVAL;
	int is_get = strcmp(method, "GET") == 0;
	if (!is_get && strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0)
		return HL_EINVAL;
	if (is_get && body != NULL)
		return HL_EINVAL;

	struct net_req *r = calloc(1, sizeof *r);
	if (r == NULL)
		return HL_ENOMEM;
	r->net = n;
	r->cb = cb;
	r->arg = arg;
	r->retry_after_s = -1;
	r->body_len = body ? strlen(body) : 0;
	r->body = strdup(body ? body : "");
	size_t ulen = strlen(n->base) + strlen(path) + 1;
	r->url = malloc(ulen);
	r->easy = curl_easy_init();
	if (r->body == NULL || r->url == NULL || r->easy == NULL) {
		req_free(r);
		return HL_ENOMEM;
	}
	snprintf(r->url, ulen, "%s%s", n->base, path);
	int rc = set_headers(r, token, !is_get);
	if (rc == 0)
		rc = set_policy(n, r, timeout_ms);
	if (rc == 0)
		rc = set_method(r, method);
	if (rc == 0 && (curl_easy_setopt(r->easy, CURLOPT_URL, r->url)
	    != CURLE_OK || curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER,
	    r->headers) != CURLE_OK))
		rc = HL_ENET;
	if (rc == 0) {
		CURLMcode mc = curl_multi_add_handle(n->multi, r->easy);
		if (mc != CURLM_OK)
			rc = mc == CURLM_OUT_OF_MEMORY ? HL_ENOMEM : HL_ENET;
	}
	if (rc != 0) {
		req_free(r);
		return rc;
	}
	req_link(n, r);
	return 0;
}

/* --- results --- */

static int
tls_error(CURLcode c)
{
	switch (c) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
		return 1;
	default:
		return 0;
	}
}

/* Fills out from a finished transfer. libcurl's error text never holds a
 * header or a body, so no token reaches the cause. */
static void
req_result(struct net_req *r, CURLcode code, struct hl_net_resp *out)
{
	memset(out, 0, sizeof *out);
	long status = 0;
	if (curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status)
	    == CURLE_OK)
		out->status = (int)status;
	out->retry_after_s = r->retry_after_s;
	out->date_ms = r->date_ms;
	out->body = "";
	out->len = 0;
	const char *why = r->errbuf[0] ? r->errbuf : curl_easy_strerror(code);
	if (code == CURLE_OK) {
		if (r->resp != NULL) {
			out->body = r->resp;
			out->len = r->resp_len;
		}
		return;
	}
	if (r->too_big || code == CURLE_FILESIZE_EXCEEDED)
		out->err = hl_fail(out->cause, HL_ETOOBIG,
		    "relay answer over %zu bytes", r->net->max_response);
	else if (code == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
		out->err = hl_fail(out->cause, HL_EPIN,
		    "the relay's public key does not match the configured pin "
		    "(a different server, or its key changed): %s", why);
	else if (code == CURLE_OPERATION_TIMEDOUT)
		out->err = hl_fail(out->cause, HL_ETIMEOUT, "%s", why);
	else if (tls_error(code))
		out->err = hl_fail(out->cause, HL_ETLS, "%s", why);
	else if (code == CURLE_OUT_OF_MEMORY || r->out_of_memory)
		out->err = hl_fail(out->cause, HL_ENOMEM, "%s", why);
	else
		out->err = hl_fail(out->cause, HL_ENET, "%s", why);
}

/* Takes every finished transfer out of libcurl first, then runs the
 * callbacks, so that a callback may start new requests while no libcurl
 * list is being walked. */
static void
finish_done(struct hl_net *n)
{
	struct net_req *done = NULL, **tail = &done;
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(n->multi, &left)) != NULL) {
		char *priv = NULL;
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *easy = msg->easy_handle;
		if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK ||
		    priv == NULL)
			continue;
		struct net_req *r = (struct net_req *)(void *)priv;
		r->result = msg->data.result;
		curl_multi_remove_handle(n->multi, easy);
		req_unlink(n, r);
		*tail = r;
		tail = &r->next;
	}
	while (done != NULL) {
		struct net_req *r = done;
		struct hl_net_resp resp;
		done = r->next;
		req_result(r, r->result, &resp);
		r->cb(&resp, r->arg);
		req_free(r);
	}
}

/* --- the handle and the loop --- */

int
hl_net_new(const struct hl_net_opts *opts, struct hl_net **out, char *cause)
{
	if (out == NULL || opts == NULL)
		return hl_fail(cause, HL_EINVAL, "no options given");
	*out = NULL;
	pthread_once(&global_once, global_init);
	if (global_rc != 0)
		return hl_fail(cause, HL_ENET, "libcurl failed to initialise");
	if (opts->connect_timeout_ms < 0)
		return hl_fail(cause, HL_EUSAGE,
		    "connect timeout must not be negative");
	struct hl_net *n = calloc(1, sizeof *n);
	if (n == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	n->timer_at = -1;
	n->connect_timeout_ms = opts->connect_timeout_ms ?
	    opts->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	n->max_response = opts->max_response ? opts->max_response :
	    DEFAULT_MAX_RESPONSE;
	int rc = check_url(n, opts->base_url, cause);
	if (rc == 0 && opts->pin != NULL && opts->pin[0] != '\0') {
		rc = check_pin(opts->pin, cause);
		if (rc == 0 && strcmp(n->scheme, "https") != 0)
			rc = hl_fail(cause, HL_EUSAGE,
			    "a pin needs an https:// relay URL");
	}
	if (rc == 0 && opts->ca_file != NULL && opts->ca_file[0] != '\0' &&
	    access(opts->ca_file, R_OK) != 0)
		rc = hl_fail(cause, HL_EUSAGE, "CA file '%s': %s",
		    opts->ca_file, strerror(errno));
	if (rc != 0) {
		hl_net_free(n);
		return rc;
	}
	n->pin = dup_or_null(opts->pin);
	n->ca_file = dup_or_null(opts->ca_file);
	n->capsocks = HL_NET_MAX_FDS;
	n->socks = calloc((size_t)n->capsocks, sizeof *n->socks);
	n->multi = curl_multi_init();
	if ((opts->pin && opts->pin[0] && n->pin == NULL) ||
	    (opts->ca_file && opts->ca_file[0] && n->ca_file == NULL) ||
	    n->socks == NULL || n->multi == NULL) {
		hl_net_free(n);
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	}
	int bad = curl_multi_setopt(n->multi, CURLMOPT_SOCKETFUNCTION, on_socket)
	    != CURLM_OK;
	bad |= curl_multi_setopt(n->multi, CURLMOPT_SOCKETDATA, n) != CURLM_OK;
	bad |= curl_multi_setopt(n->multi, CURLMOPT_TIMERFUNCTION, on_timer)
	    != CURLM_OK;
	bad |= curl_multi_setopt(n->multi, CURLMOPT_TIMERDATA, n) != CURLM_OK;
	bad |= curl_multi_setopt(n->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)MAX_CONNECTIONS) != CURLM_OK;
	if (bad) {
		hl_net_free(n);
		return hl_fail(cause, HL_ENET, "libcurl refused an option");
	}
	*out = n;
	return 0;
}

void
hl_net_free(struct hl_net *n)
{
	if (n == NULL)
		return;
	while (n->reqs != NULL) {
		struct net_req *r = n->reqs;
		if (n->multi != NULL)
			curl_multi_remove_handle(n->multi, r->easy);
		req_unlink(n, r);
		req_free(r);
	}
	/* libcurl may still report sockets while closing its connections, so
	 * the table outlives the multi handle. */
	if (n->multi != NULL)
		curl_multi_cleanup(n->multi);
	free(n->socks);
	free(n->scratch);
	free(n->base);
	free(n->scheme);
	free(n->pin);
	free(n->ca_file);
	free(n);
}

int
hl_net_pending(const struct hl_net *n)
{
	return n ? n->pending : 0;
}

int
hl_net_pollfds(struct hl_net *n, struct pollfd *fds, int max,
    int *timeout_ms)
{
	int count = 0;
	for (int i = 0; i < n->nsocks && count < max; i++) {
		fds[count].fd = n->socks[i].fd;
		fds[count].events = n->socks[i].events;
		fds[count].revents = 0;
		count++;
	}
	if (n->timer_at >= 0 && timeout_ms != NULL) {
		int64_t left = n->timer_at - hl_mono_ms();
		if (left < 0)
			left = 0;
		if (left > INT_MAX)
			left = INT_MAX;
		if (*timeout_ms < 0 || left < *timeout_ms)
			*timeout_ms = (int)left;
	}
	return count;
}

static int
tracked(const struct hl_net *n, int fd)
{
	for (int i = 0; i < n->nsocks; i++)
		if (n->socks[i].fd == fd)
			return 1;
	return 0;
}

void
hl_net_dispatch(struct hl_net *n, const struct pollfd *fds, int nfds)
{
	int running;
	for (int i = 0; i < nfds; i++) {
		short ev = fds[i].revents;
		/* An earlier action may have closed this socket already. */
		if (ev == 0 || !tracked(n, fds[i].fd))
			continue;
		int mask = 0;
		if (ev & (POLLIN | POLLHUP | POLLERR))
			mask |= CURL_CSELECT_IN;
		if (ev & (POLLOUT | POLLERR))
			mask |= CURL_CSELECT_OUT;
		if (ev & POLLNVAL)
			mask |= CURL_CSELECT_ERR;
		curl_multi_socket_action(n->multi, fds[i].fd, mask, &running);
	}
	if (n->timer_at >= 0 && hl_mono_ms() >= n->timer_at) {
		/* Cleared first: the action usually sets the next timer. */
		n->timer_at = -1;
		curl_multi_socket_action(n->multi, CURL_SOCKET_TIMEOUT, 0,
		    &running);
	}
	finish_done(n);
}

int
hl_net_run(struct hl_net *n, int64_t deadline_ms)
{
	if (n->scratch == NULL) {
		n->scratch = calloc(HL_NET_MAX_FDS, sizeof *n->scratch);
		if (n->scratch == NULL)
			return HL_ENOMEM;
	}
	while (n->pending > 0) {
		int timeout = -1;
		if (deadline_ms > 0) {
			int64_t left = deadline_ms - hl_mono_ms();
			if (left <= 0)
				return HL_ETIMEOUT;
			timeout = left > INT_MAX ? INT_MAX : (int)left;
		}
		/* Transfers pending with neither a socket nor a timer would
		 * block poll() for good: look at them again shortly. */
		if (n->nsocks == 0 && n->timer_at < 0)
			n->timer_at = hl_mono_ms() + IDLE_RECHECK_MS;
		int nfds = hl_net_pollfds(n, n->scratch, HL_NET_MAX_FDS,
		    &timeout);
		if (poll(n->scratch, (nfds_t)nfds, timeout) < 0 &&
		    errno != EINTR)
			return HL_EIO;
		hl_net_dispatch(n, n->scratch, nfds);
	}
	return 0;
}
