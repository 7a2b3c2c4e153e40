/*
 * waiters: long-polls parked until something is queued for their account
 * or their wait ends. A waiter is owned by its caller (the HTTP request);
 * the table only links it. One timer thread ends expired waits; no thread
 * is held per waiter.
 *
 * A waiter leaves the table exactly once, through its wake callback, which
 * runs without any lock held and after which the table never touches the
 * waiter again (the callback may let the waiter be freed at once).
 *
 * To close the gap between "the queue was empty" and "the waiter is in the
 * table", a caller reads hl_waiters_seq() before looking at the queue and
 * hands it to hl_waiters_add(): if anything was queued for the account in
 * between, add refuses and the caller looks again.
 */
#ifndef HL_RELAY_WAITERS_H
#define HL_RELAY_WAITERS_H

#include <stddef.h>
#include <stdint.h>

struct hl_waiter {
	int64_t account;
	int64_t deadline_ms;                  /* on hl_mono_ms()'s clock */
	void (*wake)(struct hl_waiter *w);    /* runs once, unlocked */

	/* the table's own links */
	struct hl_waiter *next, *prev, *woken;
	size_t heap_index;
	int linked;
};

struct hl_waiters;

/* Starts the timer thread. *out is the caller's: hl_waiters_stop() then
 * hl_waiters_free(). 0, HL_ENOMEM or HL_EIO. */
int hl_waiters_start(struct hl_waiters **out, char *cause);

/* The account's wake-up counter, to pass to hl_waiters_add(). */
uint64_t hl_waiters_seq(struct hl_waiters *ws, int64_t account);

/* Links w (account, deadline_ms and wake set by the caller). 0 when
 * linked; HL_ESTATE when something was queued for the account since seq was
 * read (look again); HL_ESTOPPING after hl_waiters_stop(); HL_ENOMEM. On an
 * error w is not linked and wake will not run. */
int hl_waiters_add(struct hl_waiters *ws, struct hl_waiter *w, uint64_t seq);

/* Something was committed for account: wakes its waiters. */
void hl_waiters_notify(struct hl_waiters *ws, int64_t account);

/* Something may have been committed for anyone (by another relay
 * process, while its notifications could be lost): every waiter looks
 * again. */
void hl_waiters_notify_all(struct hl_waiters *ws);

/* Unlinks w if it is still linked, without waking it. Returns 1 if it was
 * linked. */
int hl_waiters_cancel(struct hl_waiters *ws, struct hl_waiter *w);

/* Waiters linked now. */
size_t hl_waiters_count(struct hl_waiters *ws);

/* Wakes every waiter, refuses new ones, ends the timer thread. */
void hl_waiters_stop(struct hl_waiters *ws);

/* Frees the table (after hl_waiters_stop()). NULL is fine. */
void hl_waiters_free(struct hl_waiters *ws);

#endif
