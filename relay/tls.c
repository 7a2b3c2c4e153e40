#include "relay/tls.h"

#include "crypto/hl_err.h"

#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int
check_priorities(const char *priorities, char *older, size_t older_len,
    char *cause)
{
	gnutls_priority_t prio;
	const char *err_pos = NULL;
	older[0] = '\0';
	int rc = gnutls_priority_init(&prio, priorities, &err_pos);
	if (rc != GNUTLS_E_SUCCESS) {
		size_t at = err_pos != NULL && err_pos >= priorities ?
		    (size_t)(err_pos - priorities) : 0;
		return hl_fail(cause, HL_ECONFIG,
		    "[server] tls_priorities: GnuTLS refuses it at character "
		    "%zu: %s", at + 1, gnutls_strerror(rc));
	}
	const unsigned int *list = NULL;
	int n = gnutls_priority_protocol_list(prio, &list);
	size_t used = 0;
	for (int i = 0; i < n && list != NULL; i++) {
		/* Stream protocols older than TLS 1.3; DTLS is not ours. */
		if (list[i] < GNUTLS_SSL3 || list[i] >= GNUTLS_TLS1_3)
			continue;
		const char *name = gnutls_protocol_get_name(
		    (gnutls_protocol_t)list[i]);
		int w = snprintf(older + used, older_len - used, "%s%s",
		    used ? "," : "", name ? name : "?");
		if (w < 0 || (size_t)w >= older_len - used)
			break;
		used += (size_t)w;
	}
	gnutls_priority_deinit(prio);
	if (n <= 0)
		return hl_fail(cause, HL_ECONFIG,
		    "[server] tls_priorities: enables no TLS version");
	return 0;
}

int
hl_tls_check(const char *cert_pem, const char *key_pem,
    const char *priorities, char *older, size_t older_len, char *cause)
{
	int rc = check_priorities(priorities, older, older_len, cause);
	if (rc != 0)
		return rc;
	gnutls_certificate_credentials_t cred;
	if (gnutls_certificate_allocate_credentials(&cred) != GNUTLS_E_SUCCESS)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	/* GnuTLS only reads these buffers. */
	gnutls_datum_t cert = { (unsigned char *)(uintptr_t)cert_pem,
	    (unsigned int)strlen(cert_pem) };
	gnutls_datum_t key = { (unsigned char *)(uintptr_t)key_pem,
	    (unsigned int)strlen(key_pem) };
	int g = gnutls_certificate_set_x509_key_mem(cred, &cert, &key,
	    GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cred);
	if (g < 0)
		return hl_fail(cause, HL_ECONFIG,
		    "[server] tls_cert and tls_key: GnuTLS refuses them: %s",
		    gnutls_strerror(g));
	return 0;
}
