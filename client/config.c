#include "client/config.h"
#include "crypto/hl_err.h"
#include "crypto/hl_handle.h"
#include "crypto/hl_time.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SEEN_MAX 256

struct seen {
	char key[96];    /* "section\nname" */
	int line;
};

struct load {
	struct hl_client_config *cfg;
	const char *path;
	char *cause;
	int failed;    /* the line of the first error in a key, else 0 */
	FILE *f;
	int line;    /* libinih was built without line numbers: we count */
	struct seen seen[SEEN_MAX];
	size_t nseen;
};

/* A key given twice would leave the officer guessing which one counts. 0,
 * or the line of the first when this one repeats it. */
static int
first_seen(struct load *l, const char *section, const char *name, int line)
{
	char key[96];
	snprintf(key, sizeof key, "%s\n%s", section, name);
	for (size_t i = 0; i < l->nseen; i++)
		if (strcmp(l->seen[i].key, key) == 0)
			return l->seen[i].line;
	if (l->nseen < SEEN_MAX) {
		snprintf(l->seen[l->nseen].key, sizeof l->seen[0].key, "%s", key);
		l->seen[l->nseen++].line = line;
	}
	return 0;
}

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
	int first = first_seen(l, section, name, lineno);
	if (first > 0) {
		l->failed = lineno;
		hl_fail(l->cause, HL_ECONFIG, "%s:%d: [%s] %s given twice (first on "
		    "line %d)", l->path, lineno, section, name, first);
		return 1;
	}
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
	} else if (strcmp(section, "notify") == 0) {
		if (strcmp(name, "command") == 0) {
			/* Run without a shell: the first word must be a path. */
			bad = copy(c->notify_command, sizeof c->notify_command, value) ||
			    value[0] != '/';
			if (bad && value[0] != '/')
				snprintf(why, sizeof why, "an absolute path to a program");
		} else if (strcmp(name, "include_body") == 0) {
			if (strcmp(value, "true") == 0)
				c->notify_include_body = 1;
			else if (strcmp(value, "false") == 0)
				c->notify_include_body = 0;
			else
				bad = 1, snprintf(why, sizeof why, "expected true or false");
		} else {
			known = 0;
		}
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
		l->failed = lineno;
		hl_fail(l->cause, HL_ECONFIG, "%s:%d: unknown key '%s' in [%s]",
		    l->path, lineno, name, section);
	} else if (bad) {
		l->failed = lineno;
		hl_fail(l->cause, HL_ECONFIG, "%s:%d: [%s] %s: bad value '%s'%s%s",
		    l->path, lineno, section, name, value, why[0] ? ": " : "", why);
	}
	return 1;
}

/* What is wrong with line lineno of path, which libinih refused. */
static int
bad_line(const char *path, int lineno, char *cause)
{
	char buf[512];
	const char *why = "not a key = value line";
	FILE *f = fopen(path, "r");
	if (f != NULL) {
		for (int i = 0; i < lineno && fgets(buf, sizeof buf, f) != NULL; i++)
			if (i == lineno - 1) {
				const char *p = buf + strspn(buf, " \t");
				if (*p == '[' && strchr(p, ']') == NULL)
					why = "a section header without its closing ']'";
				else if (*p == '[')
					why = "a broken section header";
			}
		fclose(f);
	}
	return hl_fail(cause, HL_ECONFIG, "%s:%d: %s", path, lineno, why);
}

int
hl_client_config_load(const char *path, int explicit_path,
    struct hl_client_config *cfg, char *cause)
{
	struct stat st;
	memset(cfg, 0, sizeof *cfg);
	cfg->connect_timeout_ms = 10000;
	if (path == NULL || *path == '\0')
		return 0;
	if (stat(path, &st) != 0) {
		if (errno == ENOENT && !explicit_path)
			return 0;
		return hl_fail(cause, HL_ECONFIG, "%s: %s", path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return hl_fail(cause, HL_ECONFIG, "%s: not a file%s", path,
		    S_ISDIR(st.st_mode) ? " but a folder" : "");
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return hl_fail(cause, HL_ECONFIG, "%s: %s", path, strerror(errno));
	struct load *l = calloc(1, sizeof *l);
	if (l == NULL) {
		fclose(f);
		return hl_fail(cause, HL_ENOMEM, "%s: out of memory", path);
	}
	*l = (struct load){ .cfg = cfg, .path = path, .cause = cause, .f = f };
	int r = ini_parse_stream(reader, l, on_key, l);
	int failed = l->failed;
	fclose(f);
	free(l);
	/* A broken line before the first bad key explains that key: a key
	 * under "[relay" seems to stand in no section at all. */
	if (r > 0 && (failed == 0 || r <= failed))
		return bad_line(path, r, cause);
	if (failed)
		return HL_ECONFIG;
	if (r != 0)
		return hl_fail(cause, HL_ECONFIG, "%s: cannot be read", path);
	if (cfg->profile.n_languages > 0 || cfg->profile.name[0] != '\0') {
		int rc = hl_profile_validate(&cfg->profile, cause);
		if (rc != 0)
			return hl_fail(cause, HL_ECONFIG, "%s: [profile]: %s", path,
			    cause);
	}
	return 0;
}
