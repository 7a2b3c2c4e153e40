/*
 * tally: how many of something each 64-bit key holds right now (open
 * connections per client address prefix, fetches in progress per account),
 * with a cap per key. The table has a fixed size chosen at creation: the
 * relay never tracks more keys than it has connections, so a full table
 * means refusing, never growing. Thread-safe.
 */
#ifndef HL_RELAY_TALLY_H
#define HL_RELAY_TALLY_H

#include <stddef.h>
#include <stdint.h>

struct hl_tally;

/* A table for at most max_keys keys at once (at least 1). *out is the
 * caller's, freed with hl_tally_free(). 0, HL_EINVAL or HL_ENOMEM. */
int hl_tally_new(size_t max_keys, struct hl_tally **out);

/* NULL is fine. */
void hl_tally_free(struct hl_tally *t);

/* One more for key, unless it holds limit already. 0; HL_ERATE when key is
 * at its limit; HL_ENOMEM when max_keys other keys are held. */
int hl_tally_take(struct hl_tally *t, uint64_t key, unsigned limit);

/* One less for key; a key that reaches 0 leaves the table. A key that
 * holds nothing is ignored. */
void hl_tally_give(struct hl_tally *t, uint64_t key);

/* What key holds now. */
unsigned hl_tally_count(struct hl_tally *t, uint64_t key);

/* Keys that hold something. */
size_t hl_tally_keys(struct hl_tally *t);

#endif
