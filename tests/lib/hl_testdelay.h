/*
 * hl_testdelay: a TCP forwarder that holds every chunk it reads for a
 * fixed time before passing it on, each way: the network delay for the
 * network fault test where the kernel has no netem. Threads in the test
 * process; its sockets live in the network namespace of the thread that
 * starts it.
 */
#ifndef HL_TESTDELAY_H
#define HL_TESTDELAY_H

struct hl_test_delay;

/* Listens on 127.0.0.1 (a free port: *port) and forwards each connection
 * to to_addr:to_port, delay_ms late each way. *out is the caller's. 0 or
 * -1. */
int hl_test_delay_start(const char *to_addr, int to_port, int delay_ms,
    int *port, struct hl_test_delay **out);

/* Stops, waits (bounded) for the connections to end, frees. */
void hl_test_delay_free(struct hl_test_delay *d);

#endif
