#include "relay/tls.h"

#include "crypto/hl_err.h"
#include "relay/log.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEM_MAX (1 << 20)
#define CHAIN_MAX 16

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

static gnutls_datum_t
datum(const char *pem)
{
	/* GnuTLS only reads these buffers. */
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)pem,
	    (unsigned int)strlen(pem) };
	return d;
}

int
hl_tls_check(const char *cert_pem, const char *key_pem,
    const char *priorities, char *older, size_t older_len, char *cause)
{
	int rc = check_priorities(priorities, older, older_len, cause);
	if (rc != 0)
		return rc;
	gnutls_datum_t cert = datum(cert_pem);
	gnutls_datum_t key = datum(key_pem);
	/* The chain alone first: GnuTLS 3.7 leaks what it read of a good key
	 * when the certificate beside it is unreadable. */
	gnutls_x509_crt_t *chain = NULL;
	unsigned nchain = 0;
	int g = gnutls_x509_crt_list_import2(&chain, &nchain, &cert,
	    GNUTLS_X509_FMT_PEM, 0);
	if (g < 0)
		return hl_fail(cause, HL_ECONFIG,
		    "[server] tls_cert: GnuTLS cannot read it: %s",
		    gnutls_strerror(g));
	for (unsigned i = 0; i < nchain; i++)
		gnutls_x509_crt_deinit(chain[i]);
	gnutls_free(chain);
	gnutls_certificate_credentials_t cred;
	if (gnutls_certificate_allocate_credentials(&cred) != GNUTLS_E_SUCCESS)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	g = gnutls_certificate_set_x509_key_mem(cred, &cert, &key,
	    GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cred);
	if (g < 0)
		return hl_fail(cause, HL_ECONFIG,
		    "[server] tls_cert and tls_key: GnuTLS refuses them: %s",
		    gnutls_strerror(g));
	return 0;
}

int
hl_tls_read_pem(const char *path, const char *what, char **out, size_t *len,
    char *cause)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hl_fail(cause, HL_ECONFIG, "%s %s: %s", what, path,
		    strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
	    sb.st_size > PEM_MAX) {
		close(fd);
		return hl_fail(cause, HL_ECONFIG,
		    "%s %s: expected a PEM file of at most %d bytes", what,
		    path, PEM_MAX);
	}
	/* Group read is the documented setup (0640 root:hotline-relay). */
	if (strcmp(what, "tls_key") == 0 && (sb.st_mode & 007) != 0) {
		char q[HL_LOG_VALUE_MAX];
		hl_log(HL_LOG_WARN, "tls", "key=%s warning=readable_by_others",
		    hl_log_quote(path, q));
	}
	size_t n = (size_t)sb.st_size;
	char *buf = malloc(n + 1);
	if (buf == NULL) {
		close(fd);
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	}
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	if (got != n || memchr(buf, '\0', got) != NULL) {
		sodium_memzero(buf, n + 1);
		free(buf);
		return hl_fail(cause, HL_ECONFIG,
		    "%s %s: cannot read it as PEM text", what, path);
	}
	*out = buf;
	*len = n;
	return 0;
}

void
hl_tls_pem_free(char *pem, size_t len)
{
	if (pem != NULL) {
		sodium_memzero(pem, len + 1);
		free(pem);
	}
}

/* One certificate chain and key, as handed to handshakes. */
struct pair {
	gnutls_pcert_st chain[CHAIN_MAX];
	unsigned nchain;
	gnutls_privkey_t key;
	int64_t not_after;
	struct pair *replaced;   /* the pair in use before this one */
};

struct hl_tls {
	char *cert_path, *key_path, *priorities;
	_Atomic(struct pair *) current;
	pthread_mutex_t lock;    /* one reload at a time */
};

static void
pair_free(struct pair *p)
{
	while (p != NULL) {
		struct pair *next = p->replaced;
		for (unsigned i = 0; i < p->nchain; i++)
			gnutls_pcert_deinit(&p->chain[i]);
		if (p->key != NULL)
			gnutls_privkey_deinit(p->key);
		free(p);
		p = next;
	}
}

static int64_t
expiry(const gnutls_pcert_st *pc)
{
	gnutls_x509_crt_t crt;
	int64_t t = 0;
	if (gnutls_x509_crt_init(&crt) != 0)
		return 0;
	if (gnutls_x509_crt_import(crt, &pc->cert, GNUTLS_X509_FMT_DER) == 0)
		t = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
	gnutls_x509_crt_deinit(crt);
	return t;
}

/* Reads, checks and imports both files. *out is the caller's. */
static int
pair_load(const struct hl_tls *t, char *older, size_t older_len,
    struct pair **out, char *cause)
{
	*out = NULL;
	char *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	int rc = hl_tls_read_pem(t->cert_path, "tls_cert", &cert, &cert_len,
	    cause);
	if (rc == 0)
		rc = hl_tls_read_pem(t->key_path, "tls_key", &key, &key_len,
		    cause);
	if (rc == 0)
		rc = hl_tls_check(cert, key, t->priorities, older, older_len,
		    cause);
	struct pair *p = NULL;
	if (rc == 0 && (p = calloc(1, sizeof *p)) == NULL)
		rc = hl_fail(cause, HL_ENOMEM, "out of memory");
	if (rc == 0) {
		gnutls_datum_t c = datum(cert), k = datum(key);
		unsigned n = CHAIN_MAX;
		int g = gnutls_pcert_list_import_x509_raw(p->chain, &n, &c,
		    GNUTLS_X509_FMT_PEM, 0);
		if (g >= 0)
			p->nchain = n;
		if (g >= 0)
			g = gnutls_privkey_init(&p->key);
		if (g >= 0)
			g = gnutls_privkey_import_x509_raw(p->key, &k,
			    GNUTLS_X509_FMT_PEM, NULL, 0);
		if (g < 0 || p->nchain == 0)
			rc = hl_fail(cause, HL_ECONFIG,
			    "[server] tls_cert and tls_key: GnuTLS refuses "
			    "them: %s (at most %d certificates in the chain)",
			    gnutls_strerror(g), CHAIN_MAX);
		else
			p->not_after = expiry(&p->chain[0]);
	}
	hl_tls_pem_free(cert, cert_len);
	hl_tls_pem_free(key, key_len);
	if (rc != 0) {
		pair_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int
hl_tls_load(const char *cert_path, const char *key_path,
    const char *priorities, char *older, size_t older_len,
    struct hl_tls **out, char *cause)
{
	*out = NULL;
	struct hl_tls *t = calloc(1, sizeof *t);
	if (t == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	t->cert_path = strdup(cert_path);
	t->key_path = strdup(key_path);
	t->priorities = strdup(priorities);
	atomic_init(&t->current, NULL);
	pthread_mutex_init(&t->lock, NULL);
	struct pair *p = NULL;
	int rc = t->cert_path && t->key_path && t->priorities ? 0 :
	    hl_fail(cause, HL_ENOMEM, "out of memory");
	if (rc == 0)
		rc = pair_load(t, older, older_len, &p, cause);
	if (rc != 0) {
		hl_tls_free(t);
		return rc;
	}
	atomic_store(&t->current, p);
	*out = t;
	return 0;
}

int
hl_tls_reload(struct hl_tls *t, char *cause)
{
	char older[64];
	struct pair *p = NULL;
	pthread_mutex_lock(&t->lock);
	int rc = pair_load(t, older, sizeof older, &p, cause);
	if (rc == 0) {
		p->replaced = atomic_load(&t->current);
		atomic_store(&t->current, p);
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int64_t
hl_tls_not_after(struct hl_tls *t)
{
	struct pair *p = t != NULL ? atomic_load(&t->current) : NULL;
	return p != NULL ? p->not_after : 0;
}

static _Atomic(struct hl_tls *) bound;

static int
retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn,
    int nreqs, const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
    gnutls_pcert_st **pcert, unsigned int *pcert_length,
    gnutls_privkey_t *pkey)
{
	(void)session;
	(void)req_ca_dn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	struct hl_tls *t = atomic_load(&bound);
	struct pair *p = t != NULL ? atomic_load(&t->current) : NULL;
	if (p == NULL)
		return -1;
	*pcert = p->chain;
	*pcert_length = p->nchain;
	*pkey = p->key;
	return 0;
}

void *
hl_tls_callback(void)
{
	gnutls_certificate_retrieve_function2 *fn = retrieve;
	return (void *)(uintptr_t)fn;
}

void
hl_tls_bind(struct hl_tls *t)
{
	atomic_store(&bound, t);
}

void
hl_tls_free(struct hl_tls *t)
{
	if (t == NULL)
		return;
	struct hl_tls *self = t;
	atomic_compare_exchange_strong(&bound, &self, NULL);
	pair_free(atomic_load(&t->current));
	pthread_mutex_destroy(&t->lock);
	free(t->cert_path);
	free(t->key_path);
	free(t->priorities);
	free(t);
}
