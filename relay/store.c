#include "relay/store.h"

#include "crypto/hl_err.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct hl_store_ops *const backends[] = {
	&hl_store_sqlite_ops,
	&hl_store_pg_ops,
};

int
hl_store_open(const char *url, int create, unsigned readers,
    struct hl_store **out, char *cause)
{
	*out = NULL;
	const char *colon = strchr(url, ':');
	if (colon == NULL)
		return hl_fail(cause, HL_ECONFIG,
		    "store url '%s': expected SCHEME:LOCATION", url);
	size_t n = (size_t)(colon - url);
	for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
		const struct hl_store_ops *ops = backends[i];
		if (strlen(ops->scheme) == n &&
		    memcmp(ops->scheme, url, n) == 0)
			return ops->open(colon + 1, create, readers, out,
			    cause);
	}
	return hl_fail(cause, HL_ECONFIG,
	    "store url '%s': unknown scheme (this relay supports sqlite: and postgresql:)",
	    url);
}

void
hl_store_close(struct hl_store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

void
hl_store_fetch_free(struct hl_store_fetch *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++)
		free(f->items[i].body);
	free(f->items);
	f->items = NULL;
	f->n = 0;
}

void
hl_store_envelope_digest(struct hl_store_envelope *env)
{
	crypto_hash_sha256_state h;
	uint8_t type = (uint8_t)env->type;
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const uint8_t *)env->to,
	    strlen(env->to) + 1);
	crypto_hash_sha256_update(&h, &type, 1);
	crypto_hash_sha256_update(&h, env->body, env->body_len);
	crypto_hash_sha256_final(&h, env->digest);
}

void
hl_store_url_shown(const char *url, char *out, size_t n)
{
	if (strncmp(url, "postgresql:", 11) != 0) {
		snprintf(out, n, "%s", url);
		return;
	}
	PQconninfoOption *opts = PQconninfoParse(url + 11, NULL);
	snprintf(out, n, "postgresql:");
	if (opts == NULL)
		return;
	size_t len = strlen(out);
	for (PQconninfoOption *o = opts; o->keyword != NULL && len < n; o++) {
		/* A password (or anything marked secret) is never shown. */
		if (o->val == NULL || o->val[0] == '\0' ||
		    strcmp(o->keyword, "password") == 0 ||
		    strchr(o->dispchar, '*') != NULL)
			continue;
		int w = snprintf(out + len, n - len, "%s%s=%s",
		    len > 11 ? " " : "", o->keyword, o->val);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	if (len >= n && n > 0)
		out[n - 1] = '\0';
	PQconninfoFree(opts);
}
