/* A faulty HTTP proxy for tests: see hl_testproxy.h. */
#include "tests/lib/hl_testproxy.h"
#include "tests/lib/hl_testfault.h"
#include "tests/lib/hl_testrelay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MSG_MAX (32u << 20)
#define IDLE_MS 120000
#define STOP_WAIT_MS 20000

struct seen {
	char key[128];     /* from|id */
	char qid[24];
	int counted;       /* its second qid was counted already */
};

struct hl_test_proxy {
	int listen_fd;
	int relay_port;
	char url[64];
	pthread_t acceptor;
	pthread_mutex_t lock;
	int stop;
	int active;
	int drop_pct, cut_pct;
	char *canned_prefix, *canned_body;  /* hl_test_proxy_answer */
	int canned_status;
	uint64_t rng;
	struct hl_test_proxy_stats st;
	struct seen *seen;
	size_t nseen, capseen;
};

struct conn {
	struct hl_test_proxy *p;
	int fd;
};

struct buf {
	char *d;
	size_t n, cap;
};

static int
stopping(struct hl_test_proxy *p)
{
	pthread_mutex_lock(&p->lock);
	int s = p->stop;
	pthread_mutex_unlock(&p->lock);
	return s;
}

static uint32_t
pick(struct hl_test_proxy *p)
{
	pthread_mutex_lock(&p->lock);
	p->rng ^= p->rng >> 12;
	p->rng ^= p->rng << 25;
	p->rng ^= p->rng >> 27;
	uint32_t r = (uint32_t)((p->rng * 2685821657736338717ull) >> 32) % 100;
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* Reads more bytes into b: 1 read, 0 at EOF, -1 on error, stop or idle. */
static int
fill(struct hl_test_proxy *p, int fd, struct buf *b)
{
	long long idle_end = hl_test_now_ms() + IDLE_MS;
	for (;;) {
		if (stopping(p) || hl_test_now_ms() > idle_end)
			return -1;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, 200);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		if (b->cap - b->n < 65536) {
			size_t cap = b->cap ? b->cap * 2 : 131072;
			if (cap > MSG_MAX)
				return -1;
			char *d = realloc(b->d, cap + 1);
			if (d == NULL)
				return -1;
			b->d = d;
			b->cap = cap;
		}
		ssize_t k = read(fd, b->d + b->n, b->cap - b->n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k == 0 ? 0 : -1;
		b->n += (size_t)k;
		b->d[b->n] = '\0';
		return 1;
	}
}

static const char *
header(const char *head, size_t head_len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *p = head, *end = head + head_len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) > nl + 1 && strncasecmp(p, name, nl) == 0 &&
		    p[nl] == ':') {
			const char *v = p + nl + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			const char *ve = eol;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
				ve--;
			*vlen = (size_t)(ve - v);
			return v;
		}
		p = eol + 1;
	}
	return NULL;
}

/* Reads one whole HTTP message (request or answer) from fd into b, which
 * may already hold its start. *total is its length. 1, 0 (EOF before
 * any byte), -1. */
static int
read_message(struct hl_test_proxy *p, int fd, struct buf *b, size_t *total,
    size_t *head_len, int is_answer)
{
	char *eoh;
	while (b->n == 0 || (eoh = strstr(b->d, "\r\n\r\n")) == NULL) {
		int r = fill(p, fd, b);
		if (r <= 0)
			return b->n == 0 && r == 0 ? 0 : -1;
	}
	*head_len = (size_t)(eoh - b->d) + 4;
	size_t vl;
	const char *cl = header(b->d, *head_len, "Content-Length", &vl);
	const char *te = header(b->d, *head_len, "Transfer-Encoding", &vl);
	if (te != NULL && strncasecmp(te, "chunked", 7) == 0) {
		/* Enough for the relay's answers: the last chunk ends it. */
		for (;;) {
			if (b->n >= *head_len + 5 &&
			    memcmp(b->d + b->n - 5, "0\r\n\r\n", 5) == 0)
				break;
			if (fill(p, fd, b) <= 0)
				return -1;
		}
		*total = b->n;
		return 1;
	}
	size_t body = 0;
	if (cl != NULL)
		body = strtoul(cl, NULL, 10);
	else if (is_answer && strncmp(b->d + 9, "204", 3) != 0 &&
	    strncmp(b->d + 9, "304", 3) != 0) {
		while (fill(p, fd, b) > 0)
			;
		*total = b->n;
		return 1;
	}
	if (body > MSG_MAX)
		return -1;
	while (b->n < *head_len + body)
		if (fill(p, fd, b) <= 0)
			return -1;
	*total = *head_len + body;
	return 1;
}

static int
write_all(int fd, const char *d, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, d, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		d += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
connect_relay(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Notes every (from, id) under its qid; a second qid for one pair is a
 * message the relay stored twice. */
static void
note_fetch(struct hl_test_proxy *p, const char *body, size_t len)
{
	json_t *o = json_loadb(body, len, 0, NULL);
	json_t *items = json_object_get(o, "messages"), *it;
	size_t i;
	pthread_mutex_lock(&p->lock);
	json_array_foreach(items, i, it) {
		const char *from = json_string_value(json_object_get(it, "from"));
		const char *id = json_string_value(json_object_get(it, "id"));
		const char *qid = json_string_value(json_object_get(it, "qid"));
		if (from == NULL || id == NULL || qid == NULL)
			continue;
		p->st.items_seen++;
		char key[128];
		snprintf(key, sizeof key, "%s|%s", from, id);
		int found = 0;
		for (size_t k = 0; k < p->nseen; k++) {
			struct seen *s = &p->seen[k];
			if (strcmp(s->key, key) != 0)
				continue;
			found = 1;
			if (strcmp(s->qid, qid) != 0 && !s->counted) {
				s->counted = 1;
				p->st.stored_twice++;
			}
			break;
		}
		if (found)
			continue;
		if (p->nseen == p->capseen) {
			size_t cap = p->capseen ? p->capseen * 2 : 1024;
			void *d = realloc(p->seen, cap * sizeof *p->seen);
			if (d == NULL)
				break;
			p->seen = d;
			p->capseen = cap;
		}
		struct seen *s = &p->seen[p->nseen++];
		snprintf(s->key, sizeof s->key, "%s", key);
		snprintf(s->qid, sizeof s->qid, "%s", qid);
		s->counted = 0;
	}
	pthread_mutex_unlock(&p->lock);
	json_decref(o);
}

/* When the request matches the canned prefix: answers it with the
 * canned answer (the relay never sees it), consumes it, 1. */
static int
canned(struct hl_test_proxy *p, int cfd, struct buf *req, size_t total)
{
	pthread_mutex_lock(&p->lock);
	if (p->canned_prefix == NULL ||
	    strncmp(req->d, p->canned_prefix, strlen(p->canned_prefix)) != 0) {
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	size_t blen = strlen(p->canned_body);
	size_t cap = blen + 160;
	char *ans = malloc(cap);
	int n = ans == NULL ? -1 : snprintf(ans, cap, "HTTP/1.1 %d Canned\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    p->canned_status, blen, p->canned_body);
	p->st.requests++;
	pthread_mutex_unlock(&p->lock);
	memmove(req->d, req->d + total, req->n - total);
	req->n -= total;
	req->d[req->n] = '\0';
	if (n > 0)
		write_all(cfd, ans, (size_t)n);
	free(ans);
	return 1;
}

/* One exchange: 1 to go on with this connection, 0 to close it. */
static int
exchange(struct hl_test_proxy *p, int cfd, struct buf *req)
{
	size_t total, head;
	int r = read_message(p, cfd, req, &total, &head, 0);
	if (r <= 0)
		return 0;
	if (canned(p, cfd, req, total))
		return 1;
	int ufd = connect_relay(p->relay_port);
	if (ufd < 0)
		return 0;
	struct buf ans = { 0 };
	size_t atotal = 0, ahead = 0;
	int ok = write_all(ufd, req->d, total) == 0 &&
	    read_message(p, ufd, &ans, &atotal, &ahead, 1) == 1 && ans.n >= 12;
	close(ufd);
	int post_msg = strncmp(req->d, "POST /v1/messages ", 18) == 0;
	int get_msg = strncmp(req->d, "GET /v1/messages", 16) == 0 &&
	    (req->d[16] == ' ' || req->d[16] == '?');
	/* What follows this request in the buffer is the next one. */
	memmove(req->d, req->d + total, req->n - total);
	req->n -= total;
	req->d[req->n] = '\0';
	if (!ok) {
		free(ans.d);
		return 0;
	}
	int status = atoi(ans.d + 9);
	pthread_mutex_lock(&p->lock);
	p->st.requests++;
	int drop = p->drop_pct, cut = p->cut_pct;
	pthread_mutex_unlock(&p->lock);
	if (get_msg && status == 200)
		note_fetch(p, ans.d + ahead, atotal - ahead);
	int go_on = 1;
	if (post_msg && status == 202 && (int)pick(p) < drop) {
		pthread_mutex_lock(&p->lock);
		p->st.dropped_202++;
		pthread_mutex_unlock(&p->lock);
		go_on = 0;
	} else if ((int)pick(p) < cut) {
		write_all(cfd, ans.d, atotal / 2);
		pthread_mutex_lock(&p->lock);
		p->st.cut++;
		pthread_mutex_unlock(&p->lock);
		go_on = 0;
	} else {
		size_t vl;
		const char *c = header(ans.d, ahead, "Connection", &vl);
		if (write_all(cfd, ans.d, atotal) != 0 ||
		    (c != NULL && strncasecmp(c, "close", 5) == 0))
			go_on = 0;
	}
	free(ans.d);
	return go_on;
}

static void *
serve_conn(void *arg)
{
	struct conn *c = arg;
	struct hl_test_proxy *p = c->p;
	struct buf req = { 0 };
	while (exchange(p, c->fd, &req))
		;
	free(req.d);
	close(c->fd);
	free(c);
	pthread_mutex_lock(&p->lock);
	p->active--;
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void *
accept_loop(void *arg)
{
	struct hl_test_proxy *p = arg;
	while (!stopping(p)) {
		struct pollfd pfd = { .fd = p->listen_fd, .events = POLLIN };
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		int fd = accept(p->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		struct conn *c = malloc(sizeof *c);
		pthread_t t;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_mutex_lock(&p->lock);
		p->active++;
		pthread_mutex_unlock(&p->lock);
		if (c == NULL) {
			close(fd);
			pthread_mutex_lock(&p->lock);
			p->active--;
			pthread_mutex_unlock(&p->lock);
		} else {
			c->p = p;
			c->fd = fd;
			if (pthread_create(&t, &attr, serve_conn, c) != 0) {
				close(fd);
				free(c);
				pthread_mutex_lock(&p->lock);
				p->active--;
				pthread_mutex_unlock(&p->lock);
			}
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

int
hl_test_proxy_start(int relay_port, struct hl_test_proxy **out)
{
	struct hl_test_proxy *p = calloc(1, sizeof *p);
	if (p == NULL)
		return -1;
	p->relay_port = relay_port;
	p->rng = ((uint64_t)hl_fault_rand(UINT32_MAX) << 32) | 0x9e3779b9u;
	pthread_mutex_init(&p->lock, NULL);
	p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(p->listen_fd, 64) != 0 ||
	    getsockname(p->listen_fd, (struct sockaddr *)&a, &al) != 0 ||
	    pthread_create(&p->acceptor, NULL, accept_loop, p) != 0) {
		fprintf(stderr, "proxy: %s\n", strerror(errno));
		if (p->listen_fd >= 0)
			close(p->listen_fd);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return -1;
	}
	snprintf(p->url, sizeof p->url, "http://127.0.0.1:%d", ntohs(a.sin_port));
	*out = p;
	return 0;
}

const char *
hl_test_proxy_url(const struct hl_test_proxy *p)
{
	return p->url;
}

void
hl_test_proxy_faults(struct hl_test_proxy *p, int drop_202_pct, int cut_pct)
{
	pthread_mutex_lock(&p->lock);
	p->drop_pct = drop_202_pct;
	p->cut_pct = cut_pct;
	pthread_mutex_unlock(&p->lock);
}

int
hl_test_proxy_answer(struct hl_test_proxy *p, const char *prefix, int status,
    const char *body)
{
	char *np = prefix ? strdup(prefix) : NULL;
	char *nb = prefix ? strdup(body ? body : "") : NULL;
	if (prefix != NULL && (np == NULL || nb == NULL)) {
		free(np);
		free(nb);
		return -1;
	}
	pthread_mutex_lock(&p->lock);
	free(p->canned_prefix);
	free(p->canned_body);
	p->canned_prefix = np;
	p->canned_body = nb;
	p->canned_status = status;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void
hl_test_proxy_stats(struct hl_test_proxy *p, struct hl_test_proxy_stats *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->st;
	pthread_mutex_unlock(&p->lock);
}

void
hl_test_proxy_free(struct hl_test_proxy *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->acceptor, NULL);
	close(p->listen_fd);
	/* Connection threads see stop within a poll interval. */
	long long end = hl_test_now_ms() + STOP_WAIT_MS;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		int active = p->active;
		pthread_mutex_unlock(&p->lock);
		if (active == 0 || hl_test_now_ms() > end)
			break;
		hl_test_sleep_ms(50);
	}
	pthread_mutex_lock(&p->lock);
	int left = p->active;
	pthread_mutex_unlock(&p->lock);
	if (left != 0)
		return;    /* a thread still holds it: leak rather than crash */
	pthread_mutex_destroy(&p->lock);
	free(p->canned_prefix);
	free(p->canned_body);
	free(p->seen);
	free(p);
}
