/*
 * tls: the relay's certificate and key, as GnuTLS sees them. They are
 * checked before the HTTP server starts, so that a bad certificate, key or
 * priority string is a configuration error with its reason (serve exits
 * 3, and systemd does not restart into the same failure) rather than a
 * server that fails to start. They are handed to each TLS handshake from
 * here, so that SIGHUP can load a renewed pair while connections stay
 * open: handshakes after the reload use the new pair.
 */
#ifndef HL_RELAY_TLS_H
#define HL_RELAY_TLS_H

#include <stddef.h>
#include <stdint.h>

/* Checks that priorities is a valid GnuTLS priority string and that
 * cert_pem (the chain) and key_pem parse and belong together. older
 * (older_len bytes) gets the protocol versions below TLS 1.3 that the
 * priorities allow, comma-separated ("TLS1.2,TLS1.1"), or "" when none.
 * 0 or HL_ECONFIG with the reason in cause. */
int hl_tls_check(const char *cert_pem, const char *key_pem,
    const char *priorities, char *older, size_t older_len, char *cause);

/* Reads a PEM file (at most 1 MiB) whole into a NUL-terminated buffer;
 * *out is the caller's, released with hl_tls_pem_free(). what names the
 * key in messages ("tls_cert", "tls_key"); a tls_key readable by others
 * is warned about in the log. 0 or HL_ECONFIG / HL_ENOMEM. */
int hl_tls_read_pem(const char *path, const char *what, char **out,
    size_t *len, char *cause);

/* Wipes and frees what hl_tls_read_pem() gave. NULL is fine. */
void hl_tls_pem_free(char *pem, size_t len);

struct hl_tls;

/* Loads cert_path and key_path (checked as hl_tls_check() does with
 * priorities; older as there). *out is the caller's, freed with
 * hl_tls_free() after the HTTP server has stopped. The paths are copied.
 * 0 or HL_ECONFIG / HL_ENOMEM with the reason in cause. */
int hl_tls_load(const char *cert_path, const char *key_path,
    const char *priorities, char *older, size_t older_len,
    struct hl_tls **out, char *cause);

/* Reads both files again; when they are good, the next handshakes use
 * them. When they are not, the pair in use stays and cause says why.
 * Pairs replaced are kept until hl_tls_free(): a handshake in progress
 * may still hold one. Thread-safe. 0 or as hl_tls_load(). */
int hl_tls_reload(struct hl_tls *t, char *cause);

/* When the certificate in use stops being valid (Unix seconds). */
int64_t hl_tls_not_after(struct hl_tls *t);

/* The function libmicrohttpd's MHD_OPTION_HTTPS_CERT_CALLBACK takes
 * (a gnutls_certificate_retrieve_function2), to be given with
 * hl_tls_bind() for the daemon's sessions. */
void *hl_tls_callback(void);

/* The hl_tls the callback answers from; one per process. */
void hl_tls_bind(struct hl_tls *t);

void hl_tls_free(struct hl_tls *t);

#endif
