#include "client/config.h"
#include "crypto/hl_err.h"
#include "crypto/hl_handle.h"
#include "crypto/hl_time.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>

struct load {
	struct hl_client_config *cfg;
	const char *path;
	char *cause;
	int failed;
	FILE *f;
	int line;    /* libinih was built without line numbers: we count */
};

static char *
reader(char *str, int num, void *stream)
{
	struct load *l = stream;
	char *got = fgets(str, num, l->f);
	if (got != NULL)
		l->line++;
	return got;
}

static int
copy(char *dst, size_t cap, const char *v)
{
	if (strlen(v) >= cap)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* Languages come as "en, et". */
static int
set_languages(struct hl_profile *p, const char *v)
{
	char buf[256];
	if (copy(buf, sizeof buf, v) != 0)
		return -1;
	p->n_languages = 0;
	for (char *s = buf, *tok; (tok = strsep(&s, ",")) != NULL;) {
		while (*tok == ' ')
			tok++;
		size_t n = strlen(tok);
		while (n > 0 && tok[n - 1] == ' ')
			tok[--n] = '\0';
		if (n == 0)
			continue;
		if (p->n_languages == HL_LANGUAGES_MAX || n >= sizeof p->languages[0])
			return -1;
		memcpy(p->languages[p->n_languages++], tok, n + 1);
	}
	return 0;
}

static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load *l = user;
	int lineno = l->line;
	struct hl_client_config *c = l->cfg;
	char why[HL_CAUSE_MAX] = "";
	int bad = 0, known = 1;

	if (l->failed)
		return 0;
	if (strcmp(section, "relay") == 0) {
		if (strcmp(name, "url") == 0)
			bad = copy(c->relay_url, sizeof c->relay_url, value);
		else if (strcmp(name, "pin") == 0)
			bad = copy(c->pin, sizeof c->pin, value);
		else if (strcmp(name, "ca") == 0)
			bad = copy(c->ca_file, sizeof c->ca_file, value);
		else if (strcmp(name, "connect_timeout") == 0)
			bad = hl_duration_parse(value, 300000, &c->connect_timeout_ms, why) != 0 ||
			    c->connect_timeout_ms < 1000;
		else
			known = 0;
	} else if (strcmp(section, "messages") == 0) {
		if (strcmp(name, "escalate") == 0) {
			if (strcmp(value, "auto") == 0)
				c->auto_escalate = 1;
			else if (strcmp(value, "off") == 0)
				c->auto_escalate = 0;
			else
				bad = 1, snprintf(why, sizeof why, "expected auto or off");
		} else if (strcmp(name, "ack_within") == 0) {
			bad = hl_duration_parse(value, 30LL * 86400000,
			    &c->default_ack_within_ms, why) != 0;
		} else {
			known = 0;
		}
	} else if (strcmp(section, "profile") == 0) {
		struct hl_profile *p = &c->profile;
		if (strcmp(name, "name") == 0)
			bad = copy(p->name, sizeof p->name, value);
		else if (strcmp(name, "organisation") == 0)
			bad = copy(p->organisation, sizeof p->organisation, value);
		else if (strcmp(name, "country") == 0)
			bad = copy(p->country, sizeof p->country, value);
		else if (strcmp(name, "role") == 0)
			bad = copy(p->role, sizeof p->role, value);
		else if (strcmp(name, "languages") == 0)
			bad = set_languages(p, value);
		else if (strcmp(name, "timezone") == 0)
			bad = copy(p->timezone, sizeof p->timezone, value);
		else if (strcmp(name, "alternate") == 0)
			bad = copy(p->alternate, sizeof p->alternate, value) ||
			    !hl_handle_valid(value);
		else
			known = 0;
	} else if (strcmp(section, "alternates") == 0) {
		/* The officer's own choice of alternates, trusted over the
		 * directory's (which the relay serves). */
		if (!hl_handle_valid(name) || !hl_handle_valid(value) ||
		    strcmp(name, value) == 0) {
			bad = 1;
			snprintf(why, sizeof why, "expected HANDLE = ALTERNATE handle");
		} else if (c->n_alternates == HL_ALTERNATES_MAX) {
			bad = 1;
			snprintf(why, sizeof why, "at most %d alternates",
			    HL_ALTERNATES_MAX);
		} else {
			struct hl_alternate *a = &c->alternates[c->n_alternates++];
			snprintf(a->handle, sizeof a->handle, "%s", name);
			snprintf(a->alternate, sizeof a->alternate, "%s", value);
		}
	} else {
		known = 0;
	}
	if (!known) {
		l->failed = 1;
		hl_fail(l->cause, HL_ECONFIG, "%s:%d: unknown key '%s' in [%s]",
		    l->path, lineno, name, section);
	} else if (bad) {
		l->failed = 1;
		hl_fail(l->cause, HL_ECONFIG, "%s:%d: [%s] %s: bad value '%s'%s%s",
		    l->path, lineno, section, name, value, why[0] ? ": " : "", why);
	}
	return 1;
}

int
hl_client_config_load(const char *path, struct hl_client_config *cfg, char *cause)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->connect_timeout_ms = 10000;
	if (path == NULL || *path == '\0')
		return 0;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		return hl_fail(cause, HL_ECONFIG, "%s: %s", path, strerror(errno));
	}
	struct load l = { cfg, path, cause, 0, f, 0 };
	int r = ini_parse_stream(reader, &l, on_key, &l);
	fclose(f);
	if (l.failed)
		return HL_ECONFIG;
	if (r != 0)
		return hl_fail(cause, HL_ECONFIG, "%s:%d: not a key = value line",
		    path, r);
	if (cfg->profile.n_languages > 0 || cfg->profile.name[0] != '\0') {
		int rc = hl_profile_validate(&cfg->profile, cause);
		if (rc != 0)
			return hl_fail(cause, HL_ECONFIG, "%s: [profile]: %s", path,
			    cause);
	}
	return 0;
}
