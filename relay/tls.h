/*
 * tls: what GnuTLS will say about the relay's TLS settings, asked before
 * the HTTP server starts, so that a bad certificate, key or priority string
 * is a configuration error with its reason (serve exits 3, and systemd
 * does not restart into the same failure) rather than a server that fails
 * to start.
 */
#ifndef HL_RELAY_TLS_H
#define HL_RELAY_TLS_H

#include <stddef.h>

/* Checks that priorities is a valid GnuTLS priority string and that
 * cert_pem (the chain) and key_pem parse and belong together. older
 * (older_len bytes) gets the protocol versions below TLS 1.3 that the
 * priorities allow, comma-separated ("TLS1.2,TLS1.1"), or "" when none.
 * 0 or HL_ECONFIG with the reason in cause. */
int hl_tls_check(const char *cert_pem, const char *key_pem,
    const char *priorities, char *older, size_t older_len, char *cause);

#endif
