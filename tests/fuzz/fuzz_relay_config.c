/*
 * The relay's configuration parser (relay/config.h) on hostile relay.ini
 * text, and its listen-address parser on the same bytes.
 *
 * Properties:
 *   - a refusal is HL_ECONFIG (or HL_ENOMEM) with a terminated cause;
 *   - an accepted file gives a usable configuration: every text and path
 *     terminated, paths absolute, the store a "sqlite:/..." url, the listen
 *     address one that parses, booleans 0 or 1, counts and limits positive,
 *     max_prekeys_stored not below max_prekeys_per_upload; the serve check
 *     then answers 0 or HL_ECONFIG;
 *   - an accepted listen address is IPv4 or IPv6 with a port, and
 *     "loopback" means 127.0.0.0/8 or ::1.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hl_err.h"
#include "relay/config.h"
#include "tests/fuzz/fuzz.h"

#define CONFIG_DIR "/etc/hotline"

__attribute__((noreturn)) static void
broken(const char *what)
{
	fprintf(stderr, "fuzz_relay_config: property broken: %s\n", what);
	abort();
}

static void
check_cause(const char *cause)
{
	if (memchr(cause, '\0', HL_CAUSE_MAX) == NULL || cause[0] == '\0')
		broken("cause missing or not terminated");
}

static void
check_string(const char *s, size_t cap, const char *what)
{
	if (memchr(s, '\0', cap) == NULL)
		broken(what);
}

static void
check_listen(const char *s)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int loopback = -1;
	char cause[HL_CAUSE_MAX] = "";
	int rc = hl_relay_listen_parse(s, &ss, &len, &loopback, cause);
	if (rc != 0) {
		if (rc != HL_EPARSE)
			broken("listen: undocumented failure");
		check_cause(cause);
		return;
	}
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
		if (len != sizeof *a || a->sin_port == 0 ||
		    loopback != ((ntohl(a->sin_addr.s_addr) >> 24) == 127))
			broken("listen: IPv4 address inconsistent");
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
		if (len != sizeof *a || a->sin6_port == 0 ||
		    loopback != IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
			broken("listen: IPv6 address inconsistent");
	} else {
		broken("listen: neither IPv4 nor IPv6");
	}
}

static void
check_config(const struct hl_relay_config *c)
{
	check_string(c->listen, sizeof c->listen, "listen not terminated");
	check_string(c->tls_cert, sizeof c->tls_cert, "tls_cert not terminated");
	check_string(c->tls_key, sizeof c->tls_key, "tls_key not terminated");
	check_string(c->tls_priorities, sizeof c->tls_priorities,
	    "tls_priorities not terminated");
	check_string(c->store_url, sizeof c->store_url,
	    "store url not terminated");
	if ((c->tls_cert[0] != '\0' && c->tls_cert[0] != '/') ||
	    (c->tls_key[0] != '\0' && c->tls_key[0] != '/'))
		broken("a TLS path is not absolute");
	if (strncmp(c->store_url, "sqlite:/", 8) != 0)
		broken("store url is not sqlite:/...");
	if ((c->allow_plain_http != 0 && c->allow_plain_http != 1) ||
	    (c->metrics != 0 && c->metrics != 1))
		broken("a boolean is neither 0 nor 1");
	if (c->threads < 1 || c->max_connections < 1 ||
	    c->max_connections_per_ip < 1 || c->connection_memory_kib < 1 ||
	    c->connection_timeout_s < 1 || c->max_fetch < 1 ||
	    c->max_fetch_bytes < 1 || c->max_message_bytes < 1 ||
	    c->max_body_bytes < 1 || c->max_queue_per_recipient < 1 ||
	    c->rate_per_minute < 1 || c->bundle_rate_per_hour < 1 ||
	    c->register_rate_per_hour < 1 || c->max_prekeys_per_upload < 1 ||
	    c->max_prekeys_stored < c->max_prekeys_per_upload ||
	    c->retention_ms < 1 || c->purge_interval_ms < 1)
		broken("a count or limit is out of range");
	check_listen(c->listen);

	int use_tls = -1;
	char cause[HL_CAUSE_MAX] = "";
	int rc = hl_relay_config_check(c, &use_tls, cause);
	if (rc != 0 && rc != HL_ECONFIG)
		broken("serve check: undocumented failure");
	if (rc != 0)
		check_cause(cause);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hl_relay_config cfg;
	char cause[HL_CAUSE_MAX] = "";
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	if (size > 0)
		memcpy(text, data, size);
	text[size] = '\0';
	int rc = hl_relay_config_parse(text, "relay.ini", CONFIG_DIR, &cfg,
	    cause);
	if (rc == 0)
		check_config(&cfg);
	else if (rc != HL_ECONFIG && rc != HL_ENOMEM)
		broken("config: undocumented failure");
	else
		check_cause(cause);
	check_listen(text);
	free(text);
	return 0;
}
