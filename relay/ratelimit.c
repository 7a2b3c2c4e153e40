#include "relay/ratelimit.h"

#include "crypto/hl_err.h"

#include <pthread.h>
#include <stdlib.h>

#define NBUCKETS 4096

/* Levels are kept in token-milliseconds: a token is window_ms units and
 * every elapsed millisecond adds capacity units, so integer arithmetic is
 * exact. */
struct entry {
	uint64_t key;
	int64_t level;
	int64_t last_ms;
	struct entry *next;
};

struct hl_ratelimit {
	pthread_mutex_t lock;
	int64_t capacity;
	int64_t window_ms;
	int64_t full;          /* capacity * window_ms */
	size_t max_keys;
	size_t count;
	struct entry *buckets[NBUCKETS];
};

int
hl_ratelimit_new(int64_t capacity, int64_t window_ms, size_t max_keys,
    struct hl_ratelimit **out)
{
	*out = NULL;
	if (capacity <= 0 || window_ms <= 0 || max_keys == 0 ||
	    capacity > INT64_MAX / window_ms)
		return HL_EINVAL;
	struct hl_ratelimit *rl = calloc(1, sizeof *rl);
	if (rl == NULL)
		return HL_ENOMEM;
	if (pthread_mutex_init(&rl->lock, NULL) != 0) {
		free(rl);
		return HL_ENOMEM;
	}
	rl->capacity = capacity;
	rl->window_ms = window_ms;
	rl->full = capacity * window_ms;
	rl->max_keys = max_keys;
	*out = rl;
	return 0;
}

void
hl_ratelimit_free(struct hl_ratelimit *rl)
{
	if (rl == NULL)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		struct entry *e = rl->buckets[i];
		while (e != NULL) {
			struct entry *next = e->next;
			free(e);
			e = next;
		}
	}
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

static size_t
slot(uint64_t key)
{
	/* Keys are ids or already hashed; mix them so runs spread out. */
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)(key % NBUCKETS);
}

static int64_t
refill(const struct hl_ratelimit *rl, const struct entry *e, int64_t now_ms)
{
	int64_t elapsed = now_ms - e->last_ms;
	if (elapsed <= 0)
		return e->level;
	if (elapsed >= rl->window_ms)
		return rl->full;
	int64_t level = e->level + elapsed * rl->capacity;
	return level > rl->full ? rl->full : level;
}

static void
sweep(struct hl_ratelimit *rl, int64_t now_ms)
{
	for (size_t i = 0; i < NBUCKETS; i++) {
		struct entry **pp = &rl->buckets[i];
		while (*pp != NULL) {
			struct entry *e = *pp;
			if (refill(rl, e, now_ms) >= rl->full) {
				*pp = e->next;
				free(e);
				rl->count--;
			} else {
				pp = &e->next;
			}
		}
	}
}

int
hl_ratelimit_take(struct hl_ratelimit *rl, uint64_t key, int64_t now_ms,
    int64_t *retry_after_s)
{
	*retry_after_s = 0;
	pthread_mutex_lock(&rl->lock);
	size_t s = slot(key);
	struct entry *e = rl->buckets[s];
	while (e != NULL && e->key != key)
		e = e->next;
	if (e == NULL) {
		if (rl->count >= rl->max_keys)
			sweep(rl, now_ms);
		if (rl->count >= rl->max_keys ||
		    (e = calloc(1, sizeof *e)) == NULL) {
			pthread_mutex_unlock(&rl->lock);
			*retry_after_s = (rl->window_ms + 999) / 1000;
			return HL_ERATE;
		}
		e->key = key;
		e->level = rl->full;
		e->last_ms = now_ms;
		e->next = rl->buckets[s];
		rl->buckets[s] = e;
		rl->count++;
	}
	int64_t level = refill(rl, e, now_ms);
	if (now_ms > e->last_ms)
		e->last_ms = now_ms;
	e->level = level;
	if (level >= rl->window_ms) {
		e->level = level - rl->window_ms;
		pthread_mutex_unlock(&rl->lock);
		return 0;
	}
	int64_t missing = rl->window_ms - level;
	int64_t wait_ms = (missing + rl->capacity - 1) / rl->capacity;
	pthread_mutex_unlock(&rl->lock);
	*retry_after_s = (wait_ms + 999) / 1000;
	if (*retry_after_s < 1)
		*retry_after_s = 1;
	return HL_ERATE;
}

void
hl_ratelimit_give(struct hl_ratelimit *rl, uint64_t key)
{
	pthread_mutex_lock(&rl->lock);
	struct entry *e = rl->buckets[slot(key)];
	while (e != NULL && e->key != key)
		e = e->next;
	if (e != NULL) {
		e->level += rl->window_ms;
		if (e->level > rl->full)
			e->level = rl->full;
	}
	pthread_mutex_unlock(&rl->lock);
}

size_t
hl_ratelimit_size(struct hl_ratelimit *rl)
{
	pthread_mutex_lock(&rl->lock);
	size_t n = rl->count;
	pthread_mutex_unlock(&rl->lock);
	return n;
}
