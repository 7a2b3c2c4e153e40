/*
 * ratelimit: token buckets keyed by a 64-bit key (an account id, or a hash
 * of a client address). A bucket holds `capacity` tokens and refills
 * `capacity` tokens per `window_ms`, so a full bucket allows a burst of one
 * window's worth. Thread-safe. The table holds at most max_keys buckets;
 * full buckets are dropped when room is needed (a full bucket and no
 * bucket mean the same), and when every bucket is in use new keys are
 * refused rather than let through.
 */
#ifndef HL_RELAY_RATELIMIT_H
#define HL_RELAY_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct hl_ratelimit;

/* *out is the caller's, freed with hl_ratelimit_free(). 0, HL_EINVAL or
 * HL_ENOMEM. */
int hl_ratelimit_new(int64_t capacity, int64_t window_ms, size_t max_keys,
    struct hl_ratelimit **out);

void hl_ratelimit_free(struct hl_ratelimit *rl);

/* Takes one token for key at now_ms (a monotonic clock). 0, or HL_ERATE
 * with *retry_after_s (>= 1) saying when a token will be there. */
int hl_ratelimit_take(struct hl_ratelimit *rl, uint64_t key, int64_t now_ms,
    int64_t *retry_after_s);

/* Gives back one token taken for key (an attempt that turned out not to
 * count), up to a full bucket. A key without a bucket is already full. */
void hl_ratelimit_give(struct hl_ratelimit *rl, uint64_t key);

/* Buckets held now (for tests and metrics). */
size_t hl_ratelimit_size(struct hl_ratelimit *rl);

#endif
