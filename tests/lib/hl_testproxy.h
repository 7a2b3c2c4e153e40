/*
 * hl_testproxy: an HTTP/1.1 proxy on 127.0.0.1 between clients and a
 * relay, for the lost-replies fault test and for answers a misbehaving
 * relay could give. Threads in the test process.
 *
 * Each request is read whole (headers and Content-Length body), sent to
 * the relay on a connection of its own, and the whole answer read back;
 * only then is the fault chosen, so a dropped answer is one the relay has
 * already committed:
 *   - drop_202_pct: an answer 202 to POST /v1/messages is never sent on;
 *     the client's connection is closed instead;
 *   - cut_pct: any answer is cut after half of its bytes and the
 *     connection closed.
 * The proxy also reads every fetch answer (GET /v1/messages) it passes
 * and counts the (sender, id) pairs the relay holds under more than one
 * queue id: messages stored twice.
 */
#ifndef HL_TESTPROXY_H
#define HL_TESTPROXY_H

#include <pthread.h>

struct hl_test_proxy_stats {
	long requests;        /* answers read from the relay */
	long dropped_202;     /* 202s never passed on */
	long cut;             /* answers cut mid-way */
	long items_seen;      /* queue items seen in fetch answers */
	long stored_twice;    /* (from, id) pairs under two or more qids */
};

struct hl_test_proxy;

/* Listens on a free 127.0.0.1 port and forwards to 127.0.0.1:relay_port.
 * *out is the caller's (hl_test_proxy_free). 0 or -1. */
int hl_test_proxy_start(int relay_port, struct hl_test_proxy **out);

/* The proxy's own URL, http://127.0.0.1:PORT (borrowed). */
const char *hl_test_proxy_url(const struct hl_test_proxy *p);

/* Sets the fault rates (percent) for the answers that follow. */
void hl_test_proxy_faults(struct hl_test_proxy *p, int drop_202_pct,
    int cut_pct);

/* From now on a request whose first bytes are prefix (e.g. "PUT
 * /v1/profile ") is answered by the proxy itself with status and the body
 * (a copy; Content-Type application/json), never reaching the relay: a
 * misbehaving relay. prefix NULL: forward everything again. 0 or -1. */
int hl_test_proxy_answer(struct hl_test_proxy *p, const char *prefix,
    int status, const char *body);

void hl_test_proxy_stats(struct hl_test_proxy *p,
    struct hl_test_proxy_stats *out);

/* Stops accepting, waits (bounded) for the connections to end, frees. */
void hl_test_proxy_free(struct hl_test_proxy *p);

#endif
