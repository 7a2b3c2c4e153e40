#include "relay/tally.h"

#include "crypto/hl_err.h"

#include <pthread.h>
#include <stdlib.h>

/* Open addressing with linear probing; a slot with count 0 is empty.
 * Removal shifts the following entries back instead of leaving
 * tombstones, so lookups never slow down with churn. */
struct slot {
	uint64_t key;
	unsigned count;
};

struct hl_tally {
	pthread_mutex_t lock;
	struct slot *slots;
	size_t mask;
	size_t used, max_keys;
};

/* Account ids are small and sequential: mix them before taking bits. */
static size_t
home(const struct hl_tally *t, uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	key *= 0xc4ceb9fe1a85ec53ULL;
	key ^= key >> 33;
	return (size_t)key & t->mask;
}

int
hl_tally_new(size_t max_keys, struct hl_tally **out)
{
	*out = NULL;
	if (max_keys == 0 || max_keys > ((size_t)1 << 40))
		return HL_EINVAL;
	/* At most half full, so probes stay short. */
	size_t cap = 16;
	while (cap < 2 * max_keys)
		cap *= 2;
	struct hl_tally *t = calloc(1, sizeof *t);
	if (t == NULL)
		return HL_ENOMEM;
	t->slots = calloc(cap, sizeof *t->slots);
	if (t->slots == NULL || pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t->slots);
		free(t);
		return HL_ENOMEM;
	}
	t->mask = cap - 1;
	t->max_keys = max_keys;
	*out = t;
	return 0;
}

void
hl_tally_free(struct hl_tally *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->slots);
	free(t);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t
find(const struct hl_tally *t, uint64_t key)
{
	size_t i = home(t, key);
	while (t->slots[i].count != 0 && t->slots[i].key != key)
		i = (i + 1) & t->mask;
	return i;
}

int
hl_tally_take(struct hl_tally *t, uint64_t key, unsigned limit)
{
	int rc = 0;
	pthread_mutex_lock(&t->lock);
	size_t i = find(t, key);
	struct slot *s = &t->slots[i];
	if (s->count >= limit) {
		rc = HL_ERATE;
	} else if (s->count == 0 && t->used == t->max_keys) {
		rc = HL_ENOMEM;
	} else {
		if (s->count == 0) {
			s->key = key;
			t->used++;
		}
		s->count++;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void
hl_tally_give(struct hl_tally *t, uint64_t key)
{
	pthread_mutex_lock(&t->lock);
	size_t i = find(t, key);
	if (t->slots[i].count > 1) {
		t->slots[i].count--;
	} else if (t->slots[i].count == 1) {
		t->used--;
		/* Close the gap: move back every later entry of the run whose
		 * home is not between the gap and itself. */
		size_t j = i;
		for (;;) {
			j = (j + 1) & t->mask;
			if (t->slots[j].count == 0)
				break;
			size_t k = home(t, t->slots[j].key);
			int stays = i <= j ? (i < k && k <= j) :
			    (i < k || k <= j);
			if (stays)
				continue;
			t->slots[i] = t->slots[j];
			i = j;
		}
		t->slots[i].count = 0;
		t->slots[i].key = 0;
	}
	pthread_mutex_unlock(&t->lock);
}

unsigned
hl_tally_count(struct hl_tally *t, uint64_t key)
{
	pthread_mutex_lock(&t->lock);
	unsigned n = t->slots[find(t, key)].count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

size_t
hl_tally_keys(struct hl_tally *t)
{
	pthread_mutex_lock(&t->lock);
	size_t n = t->used;
	pthread_mutex_unlock(&t->lock);
	return n;
}
