/*
 * guard: what a connection may hold before it has asked for anything.
 *
 * A client that opens connections and sends its request head a byte at a
 * time (slowloris) costs itself nothing and holds a connection each; an
 * idle timeout never fires, since every byte is activity. The guard
 * therefore
 * - counts open connections per client address prefix (an IPv4 /32 and
 *   an IPv6 /64 by default: one site's addresses are one client) and
 *   refuses a prefix past its limit;
 * - counts connections that have not delivered a complete request head
 *   (new ones, and kept-alive ones between requests: "pending") and
 *   refuses new connections while too many are pending;
 * - gives every pending connection header_timeout from its accept, or
 *   from the end of its previous request, to deliver a request head, and
 *   body_timeout from its head to deliver the whole body, and shuts down
 *   the socket of one that has not, from its own thread (a body sent a
 *   byte at a time is activity too);
 * - watches the socket of a request that the HTTP library does not read
 *   while it is held (a parked long-poll): when the client has closed or
 *   reset it, the guard says so at once, so that the request ends and
 *   gives back what it holds, instead of at the end of its wait.
 *
 * The HTTP library calls in: admit (accept policy), open and close (the
 * connection started and closed; the socket stays open until close
 * returns, which is what makes shutting it down from another thread
 * safe), head (a request's head is complete) and idle (its request
 * ended). Times are on hl_mono_ms()'s clock. Lines about refused and
 * closed connections are logged as event=conn within a budget. All
 * functions are thread-safe.
 */
#ifndef HL_RELAY_GUARD_H
#define HL_RELAY_GUARD_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HL_GUARD_KEY_BYTES crypto_shorthash_KEYBYTES

struct hl_guard_config {
	unsigned max_per_prefix;       /* open connections from one prefix */
	unsigned max_pending;          /* connections without a request head */
	unsigned ipv4_prefix;          /* bits, 1..32 */
	unsigned ipv6_prefix;          /* bits, 1..128 */
	int64_t header_timeout_ms;
	int64_t body_timeout_ms;       /* 0: bodies have no deadline */
	size_t max_connections;        /* sizes the prefix table */
	/* Called on the guard's thread at least once a second, unlocked;
	 * may be NULL. */
	void (*tick)(void *arg, int64_t now_ms);
	void *tick_arg;
};

struct hl_guard;
struct hl_guard_conn;

/* Starts the guard and its thread. *out is the caller's, ended with
 * hl_guard_free() once the HTTP library has closed every connection.
 * 0, HL_EINVAL, HL_ENOMEM or HL_EIO. */
int hl_guard_start(const struct hl_guard_config *cfg, struct hl_guard **out,
    char *cause);

/* Stops the thread and frees the guard. NULL is fine. */
void hl_guard_free(struct hl_guard *g);

/* The key of addr's prefix: the first ipv4_bits of an IPv4 address (also
 * one mapped into IPv6), the first ipv6_bits of an IPv6 address, hashed
 * with key so that clients cannot aim at collisions. Other families all
 * share one key. */
uint64_t hl_guard_prefix_key(const struct sockaddr *addr, unsigned ipv4_bits,
    unsigned ipv6_bits, const uint8_t key[HL_GUARD_KEY_BYTES]);

/* May a connection from addr be accepted now? 1 or 0 (logged). */
int hl_guard_admit(struct hl_guard *g, const struct sockaddr *addr);

/* A connection from addr on socket fd was accepted at now_ms. Returns its
 * record, for the calls below; NULL when it is over a limit after all (a
 * race between threads that admit checked alone) or out of memory: the
 * guard has then shut the socket down, and the caller lets it close. */
struct hl_guard_conn *hl_guard_open(struct hl_guard *g, int fd,
    const struct sockaddr *addr, int64_t now_ms);

/* The connection is closing; c is freed. NULL is fine. */
void hl_guard_close(struct hl_guard *g, struct hl_guard_conn *c);

/* The request head on c is complete at now_ms: its body (if any) must
 * be complete within body_timeout. NULL is fine. */
void hl_guard_head(struct hl_guard *g, struct hl_guard_conn *c,
    int64_t now_ms);

/* The request's body on c is complete: no deadline until it ends. NULL is
 * fine. */
void hl_guard_body_done(struct hl_guard *g, struct hl_guard_conn *c);

/* Watches c's socket while its request is held unread. Once the client
 * has closed or reset it, gone(arg) runs on the guard's thread, without
 * the guard's lock, and again about every 50 ms until it returns 1 or the
 * watch ends (the request may not be in a state to end yet). Watching
 * again with the same gone and arg is a no-op. NULL c is fine. */
void hl_guard_watch(struct hl_guard *g, struct hl_guard_conn *c,
    int (*gone)(void *arg), void *arg);

/* Ends the watch on c: once this returns, gone is not running and will
 * not run again. NULL c, or one not watched, is fine. */
void hl_guard_unwatch(struct hl_guard *g, struct hl_guard_conn *c);

/* The request on c ended; a kept-alive connection waits for its next
 * head from now_ms on. NULL is fine. */
void hl_guard_idle(struct hl_guard *g, struct hl_guard_conn *c,
    int64_t now_ms);

/* Shuts down every connection whose head or body is overdue at now_ms
 * (each once) and returns how many. *next_ms (may be NULL) gets the
 * earliest deadline still ahead, or 0 when there is none. The guard's
 * thread calls this; tests may too. */
size_t hl_guard_reap(struct hl_guard *g, int64_t now_ms, int64_t *next_ms);

/* Connections open now, and pending now. */
size_t hl_guard_open_count(struct hl_guard *g);
size_t hl_guard_pending_count(struct hl_guard *g);

#endif
