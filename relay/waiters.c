#include "relay/waiters.h"

#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NBUCKETS 1024

struct bucket {
	struct hl_waiter *head;
	uint64_t seq;
};

/* Waiters hang in a bucket by account (for notify) and in a min-heap by
 * deadline (for the timer). */
struct hl_waiters {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t timer;
	int timer_started;
	int stopping;
	struct bucket buckets[NBUCKETS];
	struct hl_waiter **heap;
	size_t nheap, capheap;
};

static size_t
bucket_of(int64_t account)
{
	uint64_t k = (uint64_t)account;
	k ^= k >> 29;
	k *= 0xbf58476d1ce4e5b9ULL;
	k ^= k >> 32;
	return (size_t)(k % NBUCKETS);
}

static void
heap_swap(struct hl_waiters *ws, size_t a, size_t b)
{
	struct hl_waiter *t = ws->heap[a];
	ws->heap[a] = ws->heap[b];
	ws->heap[b] = t;
	ws->heap[a]->heap_index = a;
	ws->heap[b]->heap_index = b;
}

static void
heap_up(struct hl_waiters *ws, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (ws->heap[parent]->deadline_ms <= ws->heap[i]->deadline_ms)
			break;
		heap_swap(ws, parent, i);
		i = parent;
	}
}

static void
heap_down(struct hl_waiters *ws, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = i;
		if (l < ws->nheap &&
		    ws->heap[l]->deadline_ms < ws->heap[min]->deadline_ms)
			min = l;
		if (r < ws->nheap &&
		    ws->heap[r]->deadline_ms < ws->heap[min]->deadline_ms)
			min = r;
		if (min == i)
			return;
		heap_swap(ws, i, min);
		i = min;
	}
}

static void
heap_remove(struct hl_waiters *ws, size_t i)
{
	size_t last = ws->nheap - 1;
	if (i != last)
		heap_swap(ws, i, last);
	ws->nheap--;
	if (i < ws->nheap) {
		heap_down(ws, i);
		heap_up(ws, i);
	}
}

/* Takes w out of both structures; the lock is held. */
static void
unlink_waiter(struct hl_waiters *ws, struct hl_waiter *w)
{
	struct bucket *b = &ws->buckets[bucket_of(w->account)];
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		b->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->next = w->prev = NULL;
	heap_remove(ws, w->heap_index);
	w->linked = 0;
}

/* Runs the wake callbacks of a chain collected under the lock, unlocked.
 * The next link is read before each callback, which may free its waiter. */
static void
run_woken(struct hl_waiter *chain)
{
	while (chain != NULL) {
		struct hl_waiter *next = chain->woken;
		chain->woken = NULL;
		chain->wake(chain);
		chain = next;
	}
}

static void
to_timespec(int64_t mono_ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(mono_ms / 1000);
	ts->tv_nsec = (long)(mono_ms % 1000) * 1000000L;
}

static void *
timer_main(void *arg)
{
	struct hl_waiters *ws = arg;
	pthread_mutex_lock(&ws->lock);
	while (!ws->stopping) {
		if (ws->nheap == 0) {
			pthread_cond_wait(&ws->cond, &ws->lock);
			continue;
		}
		int64_t now = hl_mono_ms();
		int64_t next = ws->heap[0]->deadline_ms;
		if (next > now) {
			struct timespec ts;
			to_timespec(next, &ts);
			pthread_cond_timedwait(&ws->cond, &ws->lock, &ts);
			continue;
		}
		struct hl_waiter *chain = NULL;
		while (ws->nheap > 0 && ws->heap[0]->deadline_ms <= now) {
			struct hl_waiter *w = ws->heap[0];
			unlink_waiter(ws, w);
			w->woken = chain;
			chain = w;
		}
		pthread_mutex_unlock(&ws->lock);
		run_woken(chain);
		pthread_mutex_lock(&ws->lock);
	}
	pthread_mutex_unlock(&ws->lock);
	return NULL;
}

int
hl_waiters_start(struct hl_waiters **out, char *cause)
{
	*out = NULL;
	struct hl_waiters *ws = calloc(1, sizeof *ws);
	if (ws == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&ws->lock, NULL) != 0 ||
	    pthread_cond_init(&ws->cond, &attr) != 0) {
		pthread_condattr_destroy(&attr);
		free(ws);
		return hl_fail(cause, HL_EIO,
		    "cannot create the waiters' lock");
	}
	pthread_condattr_destroy(&attr);
	int rc = pthread_create(&ws->timer, NULL, timer_main, ws);
	if (rc != 0) {
		pthread_cond_destroy(&ws->cond);
		pthread_mutex_destroy(&ws->lock);
		free(ws);
		return hl_fail(cause, HL_EIO,
		    "cannot start the timer thread: %s", strerror(rc));
	}
	ws->timer_started = 1;
	*out = ws;
	return 0;
}

uint64_t
hl_waiters_seq(struct hl_waiters *ws, int64_t account)
{
	pthread_mutex_lock(&ws->lock);
	uint64_t seq = ws->buckets[bucket_of(account)].seq;
	pthread_mutex_unlock(&ws->lock);
	return seq;
}

int
hl_waiters_add(struct hl_waiters *ws, struct hl_waiter *w, uint64_t seq)
{
	pthread_mutex_lock(&ws->lock);
	if (ws->stopping) {
		pthread_mutex_unlock(&ws->lock);
		return HL_ESTOPPING;
	}
	struct bucket *b = &ws->buckets[bucket_of(w->account)];
	if (b->seq != seq) {
		pthread_mutex_unlock(&ws->lock);
		return HL_ESTATE;
	}
	if (ws->nheap == ws->capheap) {
		size_t cap = ws->capheap ? ws->capheap * 2 : 64;
		struct hl_waiter **heap = realloc(ws->heap, cap * sizeof *heap);
		if (heap == NULL) {
			pthread_mutex_unlock(&ws->lock);
			return HL_ENOMEM;
		}
		ws->heap = heap;
		ws->capheap = cap;
	}
	w->prev = NULL;
	w->next = b->head;
	if (b->head != NULL)
		b->head->prev = w;
	b->head = w;
	w->woken = NULL;
	w->heap_index = ws->nheap;
	ws->heap[ws->nheap++] = w;
	heap_up(ws, w->heap_index);
	w->linked = 1;
	/* The timer sleeps until the earliest deadline; a new earliest one
	 * must wake it. */
	if (w->heap_index == 0)
		pthread_cond_signal(&ws->cond);
	pthread_mutex_unlock(&ws->lock);
	return 0;
}

void
hl_waiters_notify(struct hl_waiters *ws, int64_t account)
{
	struct hl_waiter *chain = NULL;
	pthread_mutex_lock(&ws->lock);
	struct bucket *b = &ws->buckets[bucket_of(account)];
	b->seq++;
	struct hl_waiter *w = b->head;
	while (w != NULL) {
		struct hl_waiter *next = w->next;
		if (w->account == account) {
			unlink_waiter(ws, w);
			w->woken = chain;
			chain = w;
		}
		w = next;
	}
	pthread_mutex_unlock(&ws->lock);
	run_woken(chain);
}

void
hl_waiters_notify_all(struct hl_waiters *ws)
{
	struct hl_waiter *chain = NULL;
	pthread_mutex_lock(&ws->lock);
	for (size_t i = 0; i < NBUCKETS; i++) {
		struct bucket *b = &ws->buckets[i];
		b->seq++;
		while (b->head != NULL) {
			struct hl_waiter *w = b->head;
			unlink_waiter(ws, w);
			w->woken = chain;
			chain = w;
		}
	}
	pthread_mutex_unlock(&ws->lock);
	run_woken(chain);
}

int
hl_waiters_cancel(struct hl_waiters *ws, struct hl_waiter *w)
{
	pthread_mutex_lock(&ws->lock);
	int was = w->linked;
	if (was)
		unlink_waiter(ws, w);
	pthread_mutex_unlock(&ws->lock);
	return was;
}

size_t
hl_waiters_count(struct hl_waiters *ws)
{
	pthread_mutex_lock(&ws->lock);
	size_t n = ws->nheap;
	pthread_mutex_unlock(&ws->lock);
	return n;
}

void
hl_waiters_stop(struct hl_waiters *ws)
{
	struct hl_waiter *chain = NULL;
	pthread_mutex_lock(&ws->lock);
	ws->stopping = 1;
	while (ws->nheap > 0) {
		struct hl_waiter *w = ws->heap[ws->nheap - 1];
		unlink_waiter(ws, w);
		w->woken = chain;
		chain = w;
	}
	pthread_cond_broadcast(&ws->cond);
	pthread_mutex_unlock(&ws->lock);
	run_woken(chain);
	if (ws->timer_started) {
		pthread_join(ws->timer, NULL);
		ws->timer_started = 0;
	}
}

void
hl_waiters_free(struct hl_waiters *ws)
{
	if (ws == NULL)
		return;
	if (ws->timer_started)
		hl_waiters_stop(ws);
	pthread_cond_destroy(&ws->cond);
	pthread_mutex_destroy(&ws->lock);
	free(ws->heap);
	free(ws);
}
