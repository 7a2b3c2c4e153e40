#include "relay/guard.h"

#include "crypto/hl_err.h"
#include "crypto/hl_time.h"
#include "relay/log.h"
#include "relay/tally.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ROUND_MAX_MS 1000
#define ROUND_MIN_MS 20
/* While a watched client is gone but its request could not end yet. */
#define ROUND_GONE_MS 50
#define EVENTS_MAX 64
#define GONE_BATCH 64
/* The epoll key of the guard's own wake-up; connections count from 1. */
#define WAKE_ID 0
#define LOG_LINES 20
#define LOG_WINDOW_MS 60000

struct hl_guard_conn {
	struct hl_guard_conn *prev, *next;
	int fd;
	uint64_t prefix;
	int pending;            /* waiting for a request head */
	int body;               /* its head is in, its body not yet */
	int reaped;             /* its socket was shut down */
	int64_t since_ms;       /* accepted, its last request ended, or (body)
	                           its head came */
	uint64_t id;            /* its key in the epoll set */
	int (*gone)(void *arg); /* watched when not NULL */
	void *gone_arg;
	int hangup;             /* watched, and the client is gone */
	int calling;            /* gone() is running */
};

struct hl_guard {
	struct hl_guard_config cfg;
	uint8_t key[HL_GUARD_KEY_BYTES];
	struct hl_tally *prefixes;
	struct hl_log_budget budget;

	pthread_mutex_t lock;          /* the list, the counts, stopping */
	pthread_cond_t cond;
	struct hl_guard_conn *head;
	size_t open, pending;
	size_t hangups;                /* watched connections with hangup */
	uint64_t next_id;
	int stopping;
	pthread_t thread;
	int started;
	int epfd, wakefd;              /* watched sockets; the stop signal */
};

uint64_t
hl_guard_prefix_key(const struct sockaddr *addr, unsigned ipv4_bits,
    unsigned ipv6_bits, const uint8_t key[HL_GUARD_KEY_BYTES])
{
	/* family, prefix length, then the address with the host bits
	 * cleared */
	uint8_t in[2 + 16];
	memset(in, 0, sizeof in);
	const uint8_t *bytes = NULL;
	unsigned bits = 0, len = 0;
	if (addr != NULL && addr->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
		bytes = (const uint8_t *)&a->sin_addr;
		len = 4;
		bits = ipv4_bits;
		in[0] = 4;
	} else if (addr != NULL && addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
		bytes = a->sin6_addr.s6_addr;
		len = 16;
		bits = ipv6_bits;
		in[0] = 6;
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			bytes += 12;
			len = 4;
			bits = ipv4_bits;
			in[0] = 4;
		}
	}
	if (bits > len * 8)
		bits = len * 8;
	in[1] = (uint8_t)bits;
	for (unsigned i = 0; i < len && i * 8 < bits; i++) {
		unsigned left = bits - i * 8;
		uint8_t mask = left >= 8 ? 0xff : (uint8_t)(0xff << (8 - left));
		in[2 + i] = bytes[i] & mask;
	}
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, in, sizeof in, key);
	uint64_t k;
	memcpy(&k, h, sizeof k);
	return k;
}

/* One event=conn line, within the budget. */
static void
say(struct hl_guard *g, int64_t now_ms, const char *action,
    const char *reason)
{
	uint64_t dropped = 0;
	int ok = hl_log_budget_take(&g->budget, now_ms, &dropped);
	if (dropped > 0)
		hl_log(HL_LOG_WARN, "conn", "suppressed=%llu",
		    (unsigned long long)dropped);
	if (ok)
		hl_log(HL_LOG_WARN, "conn", "action=%s reason=%s", action,
		    reason);
}

/* Ends c's watch; under the lock, with gone() not running. */
static void
unwatch_locked(struct hl_guard *g, struct hl_guard_conn *c)
{
	if (c->gone == NULL)
		return;
	/* Fails only if the socket is already closed, which takes it out
	 * of the set anyway. */
	(void)epoll_ctl(g->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->hangup)
		g->hangups--;
	c->gone = NULL;
	c->gone_arg = NULL;
	c->hangup = 0;
}

/* Marks the connections the epoll set reported gone. */
static void
mark_gone(struct hl_guard *g, const struct epoll_event *ev, int n)
{
	pthread_mutex_lock(&g->lock);
	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64 == WAKE_ID)
			continue;
		/* The connection may have closed since: find it by its id,
		 * never through a pointer kept from before. */
		for (struct hl_guard_conn *c = g->head; c != NULL; c = c->next) {
			if (c->id != ev[i].data.u64)
				continue;
			if (c->gone != NULL && !c->hangup) {
				c->hangup = 1;
				g->hangups++;
			}
			break;
		}
	}
	pthread_mutex_unlock(&g->lock);
}

/* Tells the owners of gone watched connections, without the lock (their
 * callback resumes requests in the HTTP library); unwatch and close wait
 * until it is done. */
static void
call_gone(struct hl_guard *g)
{
	struct hl_guard_conn *batch[GONE_BATCH];
	int (*fn[GONE_BATCH])(void *);
	void *arg[GONE_BATCH];
	size_t n = 0;
	pthread_mutex_lock(&g->lock);
	for (struct hl_guard_conn *c = g->head; c != NULL && n < GONE_BATCH;
	    c = c->next) {
		if (!c->hangup || c->calling)
			continue;
		c->calling = 1;
		batch[n] = c;
		fn[n] = c->gone;
		arg[n] = c->gone_arg;
		n++;
	}
	pthread_mutex_unlock(&g->lock);
	if (n == 0)
		return;
	int done[GONE_BATCH];
	for (size_t i = 0; i < n; i++)
		done[i] = fn[i](arg[i]);
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < n; i++) {
		batch[i]->calling = 0;
		if (done[i])
			unwatch_locked(g, batch[i]);
	}
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static void *
guard_main(void *arg)
{
	struct hl_guard *g = arg;
	struct epoll_event ev[EVENTS_MAX];
	pthread_mutex_lock(&g->lock);
	while (!g->stopping) {
		pthread_mutex_unlock(&g->lock);
		int64_t now = hl_mono_ms();
		int64_t next = 0;
		hl_guard_reap(g, now, &next);
		call_gone(g);
		uint64_t dropped = hl_log_budget_flush(&g->budget, now);
		if (dropped > 0)
			hl_log(HL_LOG_WARN, "conn", "suppressed=%llu",
			    (unsigned long long)dropped);
		if (g->cfg.tick != NULL)
			g->cfg.tick(g->cfg.tick_arg, now);
		int64_t wait = ROUND_MAX_MS;
		if (next > 0 && next - now < wait)
			wait = next - now;
		pthread_mutex_lock(&g->lock);
		if (g->hangups > 0 && wait > ROUND_GONE_MS)
			wait = ROUND_GONE_MS;
		int stop = g->stopping;
		pthread_mutex_unlock(&g->lock);
		if (stop)
			break;
		if (wait < ROUND_MIN_MS)
			wait = ROUND_MIN_MS;
		int got = epoll_wait(g->epfd, ev, EVENTS_MAX, (int)wait);
		if (got > 0)
			mark_gone(g, ev, got);
		pthread_mutex_lock(&g->lock);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int
hl_guard_start(const struct hl_guard_config *cfg, struct hl_guard **out,
    char *cause)
{
	*out = NULL;
	if (cfg->max_per_prefix == 0 || cfg->max_pending == 0 ||
	    cfg->ipv4_prefix == 0 || cfg->ipv4_prefix > 32 ||
	    cfg->ipv6_prefix == 0 || cfg->ipv6_prefix > 128 ||
	    cfg->header_timeout_ms <= 0 || cfg->max_connections == 0)
		return hl_fail(cause, HL_EINVAL, "guard: bad configuration");
	struct hl_guard *g = calloc(1, sizeof *g);
	if (g == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	g->cfg = *cfg;
	randombytes_buf(g->key, sizeof g->key);
	/* A few more keys than connections: MHD may notify a new connection
	 * before it has cleaned up a closed one. */
	if (hl_tally_new(cfg->max_connections + 64, &g->prefixes) != 0) {
		free(g);
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	}
	hl_log_budget_init(&g->budget, LOG_LINES, LOG_WINDOW_MS);
	g->next_id = WAKE_ID + 1;
	g->epfd = epoll_create1(EPOLL_CLOEXEC);
	g->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct epoll_event wev = { .events = EPOLLIN,
	    .data = { .u64 = WAKE_ID } };
	if (g->epfd < 0 || g->wakefd < 0 ||
	    epoll_ctl(g->epfd, EPOLL_CTL_ADD, g->wakefd, &wev) != 0) {
		if (g->epfd >= 0)
			close(g->epfd);
		if (g->wakefd >= 0)
			close(g->wakefd);
		hl_log_budget_destroy(&g->budget);
		hl_tally_free(g->prefixes);
		free(g);
		return hl_fail(cause, HL_EIO, "guard: cannot make its epoll set");
	}
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, &attr);
	pthread_condattr_destroy(&attr);
	int rc = pthread_create(&g->thread, NULL, guard_main, g);
	if (rc != 0) {
		g->started = 0;
		hl_guard_free(g);
		return hl_fail(cause, HL_EIO, "guard: cannot start its thread");
	}
	g->started = 1;
	*out = g;
	return 0;
}

void
hl_guard_free(struct hl_guard *g)
{
	if (g == NULL)
		return;
	if (g->started) {
		pthread_mutex_lock(&g->lock);
		g->stopping = 1;
		pthread_mutex_unlock(&g->lock);
		uint64_t one = 1;
		if (write(g->wakefd, &one, sizeof one) != (ssize_t)sizeof one)
			hl_log(HL_LOG_WARN, "conn", "error=wake_failed");
		pthread_join(g->thread, NULL);
	}
	/* The HTTP library has closed every connection by now; records
	 * left are only those it never reported closed. */
	struct hl_guard_conn *c = g->head;
	while (c != NULL) {
		struct hl_guard_conn *next = c->next;
		free(c);
		c = next;
	}
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	close(g->epfd);
	close(g->wakefd);
	hl_log_budget_destroy(&g->budget);
	hl_tally_free(g->prefixes);
	free(g);
}

int
hl_guard_admit(struct hl_guard *g, const struct sockaddr *addr)
{
	uint64_t key = hl_guard_prefix_key(addr, g->cfg.ipv4_prefix,
	    g->cfg.ipv6_prefix, g->key);
	const char *refused = NULL;
	if (hl_tally_count(g->prefixes, key) >= g->cfg.max_per_prefix)
		refused = "prefix_limit";
	pthread_mutex_lock(&g->lock);
	if (refused == NULL && g->pending >= g->cfg.max_pending)
		refused = "pending_limit";
	pthread_mutex_unlock(&g->lock);
	if (refused != NULL)
		say(g, hl_mono_ms(), "refused", refused);
	return refused == NULL;
}

struct hl_guard_conn *
hl_guard_open(struct hl_guard *g, int fd, const struct sockaddr *addr,
    int64_t now_ms)
{
	uint64_t key = hl_guard_prefix_key(addr, g->cfg.ipv4_prefix,
	    g->cfg.ipv6_prefix, g->key);
	const char *refused = NULL;
	struct hl_guard_conn *c = NULL;
	int rc = hl_tally_take(g->prefixes, key, g->cfg.max_per_prefix);
	if (rc == HL_ERATE)
		refused = "prefix_limit";
	else if (rc != 0 || (c = calloc(1, sizeof *c)) == NULL)
		refused = "no_memory";
	if (refused == NULL) {
		pthread_mutex_lock(&g->lock);
		if (g->pending >= g->cfg.max_pending) {
			refused = "pending_limit";
		} else {
			c->fd = fd;
			c->prefix = key;
			c->id = g->next_id++;
			c->pending = 1;
			c->since_ms = now_ms;
			c->next = g->head;
			if (g->head != NULL)
				g->head->prev = c;
			g->head = c;
			g->open++;
			g->pending++;
		}
		pthread_mutex_unlock(&g->lock);
		if (refused != NULL) {
			hl_tally_give(g->prefixes, key);
			free(c);
			c = NULL;
		}
	}
	if (refused != NULL) {
		shutdown(fd, SHUT_RDWR);
		say(g, now_ms, "refused", refused);
	}
	return c;
}

void
hl_guard_close(struct hl_guard *g, struct hl_guard_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	while (c->calling)
		pthread_cond_wait(&g->cond, &g->lock);
	unwatch_locked(g, c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	g->open--;
	if (c->pending)
		g->pending--;
	pthread_mutex_unlock(&g->lock);
	hl_tally_give(g->prefixes, c->prefix);
	free(c);
}

void
hl_guard_head(struct hl_guard *g, struct hl_guard_conn *c, int64_t now_ms)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->pending) {
		c->pending = 0;
		g->pending--;
	}
	c->body = g->cfg.body_timeout_ms > 0;
	c->since_ms = now_ms;
	pthread_mutex_unlock(&g->lock);
}

void
hl_guard_body_done(struct hl_guard *g, struct hl_guard_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	c->body = 0;
	pthread_mutex_unlock(&g->lock);
}

void
hl_guard_watch(struct hl_guard *g, struct hl_guard_conn *c,
    int (*gone)(void *arg), void *arg)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->gone == gone && c->gone_arg == arg) {
		pthread_mutex_unlock(&g->lock);
		return;
	}
	while (c->calling)
		pthread_cond_wait(&g->cond, &g->lock);
	unwatch_locked(g, c);
	/* Hang-ups only: data the client sends meanwhile (a pipelined
	 * request) is for the HTTP library. One report; the flag then
	 * keeps it. */
	struct epoll_event ev = { .events = EPOLLRDHUP | EPOLLHUP | EPOLLERR |
	    EPOLLONESHOT, .data = { .u64 = c->id } };
	if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, c->fd, &ev) == 0) {
		c->gone = gone;
		c->gone_arg = arg;
	} else {
		say(g, hl_mono_ms(), "unwatched", errno == ENOMEM ||
		    errno == ENOSPC ? "no_memory" : "epoll_error");
	}
	pthread_mutex_unlock(&g->lock);
}

void
hl_guard_unwatch(struct hl_guard *g, struct hl_guard_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	while (c->calling)
		pthread_cond_wait(&g->cond, &g->lock);
	unwatch_locked(g, c);
	pthread_mutex_unlock(&g->lock);
}

void
hl_guard_idle(struct hl_guard *g, struct hl_guard_conn *c, int64_t now_ms)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	if (!c->pending) {
		c->pending = 1;
		g->pending++;
	}
	c->body = 0;
	c->since_ms = now_ms;
	pthread_mutex_unlock(&g->lock);
}

size_t
hl_guard_reap(struct hl_guard *g, int64_t now_ms, int64_t *next_ms)
{
	size_t n = 0, bodies = 0;
	int64_t next = 0;
	pthread_mutex_lock(&g->lock);
	for (struct hl_guard_conn *c = g->head; c != NULL; c = c->next) {
		if ((!c->pending && !c->body) || c->reaped)
			continue;
		int64_t deadline = c->since_ms + (c->pending ?
		    g->cfg.header_timeout_ms : g->cfg.body_timeout_ms);
		if (deadline > now_ms) {
			if (next == 0 || deadline < next)
				next = deadline;
			continue;
		}
		/* The socket is still open: the HTTP library closes it only
		 * after hl_guard_close(), which waits for this lock. Shut
		 * down, it reads the end of the stream and closes the
		 * connection in its own thread. */
		shutdown(c->fd, SHUT_RDWR);
		c->reaped = 1;
		n++;
		if (!c->pending)
			bodies++;
	}
	pthread_mutex_unlock(&g->lock);
	for (size_t i = 0; i < n; i++)
		say(g, now_ms, "closed", i < bodies ? "body_timeout" :
		    "header_timeout");
	if (next_ms != NULL)
		*next_ms = next;
	return n;
}

size_t
hl_guard_open_count(struct hl_guard *g)
{
	pthread_mutex_lock(&g->lock);
	size_t n = g->open;
	pthread_mutex_unlock(&g->lock);
	return n;
}

size_t
hl_guard_pending_count(struct hl_guard *g)
{
	pthread_mutex_lock(&g->lock);
	size_t n = g->pending;
	pthread_mutex_unlock(&g->lock);
	return n;
}
