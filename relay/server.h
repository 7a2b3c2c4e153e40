/*
 * server: the running relay: libmicrohttpd's epoll thread pool over a
 * listening socket, the writer thread, the long-poll table and the limits,
 * started together and stopped in the order that loses no answer.
 */
#ifndef HL_RELAY_SERVER_H
#define HL_RELAY_SERVER_H

#include "relay/config.h"
#include "relay/store.h"

struct hl_tls;

struct hl_server;

struct hl_server_options {
	int listen_fd;                 /* bound and listening; taken over */
	int ipv6;
	struct hl_tls *tls;            /* NULL for plain HTTP; borrowed, and
	                                * freed only after hl_server_stop() */
	int metrics_fd;                /* -1, or a listening socket that
	                                * serves /metrics alone; taken over */
	int metrics_ipv6;
};

/* Starts serving. cfg and store are borrowed and outlive the server.
 * *out is the caller's, ended with hl_server_stop(). The listening socket
 * belongs to the server from the call on, even when it fails. */
int hl_server_start(const struct hl_relay_config *cfg, struct hl_store *store,
    const struct hl_server_options *opt, struct hl_server **out, char *cause);

/* The /metrics page in the Prometheus text format: counters and the
 * gauges read now. *text is the caller's (free()). 0 or an HL_E code. */
int hl_server_metrics_page(struct hl_server *srv, char **text, size_t *len);

/* Stops accepting connections, answers every write already handed to the
 * writer and every parked long-poll, waits a bounded time for requests in
 * flight, then stops the threads and frees everything. NULL is fine. */
void hl_server_stop(struct hl_server *srv);

#endif
