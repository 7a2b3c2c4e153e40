/* A delaying TCP forwarder: see hl_testdelay.h. */
#include "tests/lib/hl_testdelay.h"
#include "tests/lib/hl_testrelay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK 16384
#define QUEUE_MAX 256
#define STOP_WAIT_MS 20000

struct hl_test_delay {
	int listen_fd;
	struct sockaddr_in to;
	int delay_ms;
	pthread_t acceptor;
	pthread_mutex_t lock;
	int stop, active;
};

struct chunk {
	long long due;
	size_t n;
	char d[CHUNK];
};

struct way {
	struct hl_test_delay *p;
	int from, to;
	struct pair *pair;
};

struct pair {
	int a, b;
	int left;            /* directions still running */
	pthread_mutex_t lock;
	struct way ways[2];
};

static int
stopping(struct hl_test_delay *p)
{
	pthread_mutex_lock(&p->lock);
	int s = p->stop;
	pthread_mutex_unlock(&p->lock);
	return s;
}

static void
done(struct hl_test_delay *p)
{
	pthread_mutex_lock(&p->lock);
	p->active--;
	pthread_mutex_unlock(&p->lock);
}

/* One direction: read, hold each chunk delay_ms, write; at EOF pass the
 * end on once everything read went out. */
static void *
forward(void *arg)
{
	struct way *w = arg;
	struct hl_test_delay *p = w->p;
	struct chunk *q = calloc(QUEUE_MAX, sizeof *q);
	size_t head = 0, n = 0;
	int eof = q == NULL, failed = q == NULL;
	while (!failed && !stopping(p) && (!eof || n > 0)) {
		long long now = hl_test_now_ms();
		while (n > 0 && q[head].due <= now) {
			const char *d = q[head].d;
			size_t left = q[head].n;
			while (left > 0) {
				ssize_t k = send(w->to, d, left, MSG_NOSIGNAL);
				if (k < 0 && errno == EINTR)
					continue;
				if (k <= 0) {
					failed = 1;
					break;
				}
				d += k;
				left -= (size_t)k;
			}
			head = (head + 1) % QUEUE_MAX;
			n--;
		}
		if (failed)
			break;
		int timeout = 200;
		if (n > 0 && q[head].due - now < timeout)
			timeout = (int)(q[head].due - now);
		struct pollfd pfd = { .fd = w->from,
		    .events = (!eof && n < QUEUE_MAX) ? POLLIN : 0 };
		int r = poll(&pfd, 1, timeout < 0 ? 0 : timeout);
		if (r > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
			size_t tail = (head + n) % QUEUE_MAX;
			ssize_t k = read(w->from, q[tail].d, CHUNK);
			if (k > 0) {
				q[tail].n = (size_t)k;
				q[tail].due = hl_test_now_ms() + p->delay_ms;
				n++;
			} else if (k == 0 || errno != EINTR) {
				eof = 1;
			}
		}
	}
	shutdown(w->to, SHUT_WR);
	if (failed)
		shutdown(w->from, SHUT_RD);
	free(q);
	struct pair *pr = w->pair;
	pthread_mutex_lock(&pr->lock);
	int last = --pr->left == 0;
	pthread_mutex_unlock(&pr->lock);
	if (last) {
		close(pr->a);
		close(pr->b);
		pthread_mutex_destroy(&pr->lock);
		free(pr);
	}
	done(p);
	return NULL;
}

static void *
accept_loop(void *arg)
{
	struct hl_test_delay *p = arg;
	while (!stopping(p)) {
		struct pollfd pfd = { .fd = p->listen_fd, .events = POLLIN };
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		int a = accept(p->listen_fd, NULL, NULL);
		if (a < 0)
			continue;
		int b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct pair *pr = calloc(1, sizeof *pr);
		if (b < 0 || pr == NULL ||
		    connect(b, (struct sockaddr *)&p->to, sizeof p->to) != 0) {
			close(a);
			if (b >= 0)
				close(b);
			free(pr);
			continue;
		}
		pr->a = a;
		pr->b = b;
		pr->left = 2;
		pthread_mutex_init(&pr->lock, NULL);
		pr->ways[0] = (struct way){ p, a, b, pr };
		pr->ways[1] = (struct way){ p, b, a, pr };
		for (int i = 0; i < 2; i++) {
			pthread_t t;
			pthread_attr_t attr;
			pthread_attr_init(&attr);
			pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
			pthread_mutex_lock(&p->lock);
			p->active++;
			pthread_mutex_unlock(&p->lock);
			if (pthread_create(&t, &attr, forward, &pr->ways[i]) != 0) {
				/* Stand in for the thread that did not start. */
				pthread_attr_destroy(&attr);
				shutdown(a, SHUT_RDWR);
				shutdown(b, SHUT_RDWR);
				forward(&pr->ways[i]);
				continue;
			}
			pthread_attr_destroy(&attr);
		}
	}
	return NULL;
}

int
hl_test_delay_start(const char *to_addr, int to_port, int delay_ms, int *port,
    struct hl_test_delay **out)
{
	struct hl_test_delay *p = calloc(1, sizeof *p);
	if (p == NULL)
		return -1;
	p->delay_ms = delay_ms;
	p->to.sin_family = AF_INET;
	p->to.sin_port = htons((uint16_t)to_port);
	if (inet_pton(AF_INET, to_addr, &p->to.sin_addr) != 1) {
		free(p);
		return -1;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(p->listen_fd, 64) != 0 ||
	    getsockname(p->listen_fd, (struct sockaddr *)&a, &al) != 0 ||
	    pthread_create(&p->acceptor, NULL, accept_loop, p) != 0) {
		fprintf(stderr, "delay forwarder: %s\n", strerror(errno));
		if (p->listen_fd >= 0)
			close(p->listen_fd);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return -1;
	}
	*port = ntohs(a.sin_port);
	*out = p;
	return 0;
}

void
hl_test_delay_free(struct hl_test_delay *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->acceptor, NULL);
	close(p->listen_fd);
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
	free(p);
}
