#include "relay/config.h"

#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum key_type {
	KEY_TEXT,      /* a string, stored as given */
	KEY_PATH,      /* a file name, made absolute against the file's dir */
	KEY_LISTEN,    /* ADDR:PORT */
	KEY_LISTEN_OPT, /* ADDR:PORT, or empty */
	KEY_STORE,     /* sqlite:PATH or postgresql:CONNINFO */
	KEY_BOOL,
	KEY_UINT,      /* unsigned, [min, max] */
	KEY_INT64,     /* int64_t, [min, max] */
	KEY_DURATION,  /* a duration into int64_t ms, [min, max] ms */
	KEY_SECONDS,   /* a duration into unsigned seconds, [min, max] ms */
	KEY_DAYS,      /* whole days into int64_t ms, [min, max] days */
};

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size;           /* of the field, for text */
	int64_t min, max;
};

#define F(field) offsetof(struct hl_relay_config, field), \
	sizeof(((struct hl_relay_config *)0)->field)

#define DAY_MS 86400000LL

static const struct key keys[] = {
	{ "server", "listen", KEY_LISTEN, F(listen), 0, 0 },
	{ "server", "tls_cert", KEY_PATH, F(tls_cert), 0, 0 },
	{ "server", "tls_key", KEY_PATH, F(tls_key), 0, 0 },
	{ "server", "tls_priorities", KEY_TEXT, F(tls_priorities), 0, 0 },
	{ "server", "allow_plain_http", KEY_BOOL, F(allow_plain_http), 0, 1 },
	{ "server", "threads", KEY_UINT, F(threads), 1, 256 },
	{ "server", "max_connections", KEY_UINT, F(max_connections),
	    1, 1000000 },
	{ "server", "max_connections_per_ip", KEY_UINT,
	    F(max_connections_per_ip), 1, 1000000 },
	{ "server", "ipv4_prefix", KEY_UINT, F(ipv4_prefix), 8, 32 },
	{ "server", "ipv6_prefix", KEY_UINT, F(ipv6_prefix), 16, 128 },
	{ "server", "max_pending_connections", KEY_UINT,
	    F(max_pending_connections), 1, 1000000 },
	{ "server", "header_timeout", KEY_DURATION, F(header_timeout_ms),
	    1000, 600000 },
	{ "server", "body_timeout", KEY_DURATION, F(body_timeout_ms),
	    1000, 3600000 },
	{ "server", "connection_memory_kib", KEY_UINT, F(connection_memory_kib),
	    8, 1024 },
	{ "server", "connection_timeout", KEY_SECONDS, F(connection_timeout_s),
	    1000, 3600000 },
	{ "server", "max_wait", KEY_SECONDS, F(max_wait_s), 0, 3600000 },
	{ "server", "max_fetch", KEY_UINT, F(max_fetch), 1, 1000 },
	{ "server", "max_fetch_bytes", KEY_INT64, F(max_fetch_bytes),
	    65536, 64 << 20 },
	{ "server", "max_fetches_per_account", KEY_UINT,
	    F(max_fetches_per_account), 1, 1000 },
	{ "server", "metrics", KEY_BOOL, F(metrics), 0, 1 },
	{ "server", "metrics_listen", KEY_LISTEN_OPT, F(metrics_listen), 0, 0 },
	{ "store", "url", KEY_STORE, F(store_url), 0, 0 },
	{ "store", "reserve_mib", KEY_UINT, F(reserve_mib), 0, 65536 },
	{ "limits", "max_message_bytes", KEY_INT64, F(max_message_bytes),
	    1024, 16 << 20 },
	{ "limits", "max_body_bytes", KEY_INT64, F(max_body_bytes),
	    4096, 16 << 20 },
	{ "limits", "max_queue_per_recipient", KEY_INT64,
	    F(max_queue_per_recipient), 1, 10000000 },
	{ "limits", "max_queue_per_sender", KEY_INT64,
	    F(max_queue_per_sender), 1, 10000000 },
	{ "limits", "rate_per_minute", KEY_INT64, F(rate_per_minute),
	    1, 1000000 },
	{ "limits", "bundle_rate_per_hour", KEY_INT64, F(bundle_rate_per_hour),
	    1, 1000000 },
	{ "limits", "register_rate_per_hour", KEY_INT64,
	    F(register_rate_per_hour), 1, 1000000 },
	{ "limits", "max_prekeys_per_upload", KEY_INT64,
	    F(max_prekeys_per_upload), 1, 1000 },
	{ "limits", "max_prekeys_stored", KEY_INT64, F(max_prekeys_stored),
	    1, 100000 },
	{ "limits", "retention_days", KEY_DAYS, F(retention_ms), 1, 3650 },
	{ "limits", "retention", KEY_DURATION, F(retention_ms),
	    1000, 3650 * DAY_MS },
	{ "limits", "purge_interval", KEY_DURATION, F(purge_interval_ms),
	    1000, DAY_MS },
};

#define NKEYS (sizeof keys / sizeof keys[0])

void
hl_relay_config_defaults(struct hl_relay_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->listen, sizeof cfg->listen, "127.0.0.1:8443");
	snprintf(cfg->tls_priorities, sizeof cfg->tls_priorities,
	    "NORMAL:-VERS-ALL:+VERS-TLS1.3");
	cfg->threads = 4;
	cfg->max_connections = 1024;
	cfg->max_connections_per_ip = 64;
	cfg->ipv4_prefix = 32;
	cfg->ipv6_prefix = 64;
	cfg->max_pending_connections = 256;
	cfg->header_timeout_ms = 10000;
	cfg->body_timeout_ms = 30000;
	cfg->connection_memory_kib = 32;
	cfg->connection_timeout_s = 30;
	cfg->max_wait_s = 60;
	cfg->max_fetch = 100;
	cfg->max_fetch_bytes = 1 << 20;
	cfg->max_fetches_per_account = 4;
	snprintf(cfg->store_url, sizeof cfg->store_url,
	    "sqlite:/var/lib/hotline-relay/relay.db");
	cfg->reserve_mib = 64;
	cfg->max_message_bytes = 81920;
	cfg->max_body_bytes = 65536;
	cfg->max_queue_per_recipient = 10000;
	cfg->max_queue_per_sender = 1000;
	cfg->rate_per_minute = 300;
	cfg->bundle_rate_per_hour = 20;
	cfg->register_rate_per_hour = 20;
	cfg->max_prekeys_per_upload = 100;
	cfg->max_prekeys_stored = 1000;
	cfg->retention_ms = 30 * DAY_MS;
	cfg->purge_interval_ms = 3600000;
}

const char *
hl_relay_config_path(void)
{
	const char *env = getenv(HL_RELAY_CONFIG_ENV);
	return (env != NULL && env[0] != '\0') ? env : HL_RELAY_CONFIG_PATH;
}

static int
parse_port(const char *s, uint16_t *port)
{
	if (*s == '\0' || strlen(s) > 5)
		return -1;
	unsigned long v = 0;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
hl_relay_listen_parse(const char *s, struct sockaddr_storage *addr,
    socklen_t *addrlen, int *loopback, char *cause)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port_str;
	uint16_t port;
	memset(addr, 0, sizeof *addr);
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || end[1] != ':' ||
		    (size_t)(end - s - 1) >= sizeof host)
			return hl_fail(cause, HL_EPARSE,
			    "'%s': expected [IPV6]:PORT", s);
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		port_str = end + 2;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return hl_fail(cause, HL_EPARSE,
			    "'%s': '%s' is not an IPv6 address", s, host);
		if (parse_port(port_str, &port) != 0)
			return hl_fail(cause, HL_EPARSE,
			    "'%s': the port must be 1 to 65535", s);
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*addrlen = sizeof *a6;
		*loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
		return 0;
	}
	const char *colon = strrchr(s, ':');
	if (colon == NULL || (size_t)(colon - s) >= sizeof host ||
	    strchr(s, ':') != colon)
		return hl_fail(cause, HL_EPARSE,
		    "'%s': expected ADDR:PORT (IPv4) or [ADDR]:PORT (IPv6)", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
	if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
		return hl_fail(cause, HL_EPARSE,
		    "'%s': '%s' is not an IPv4 address", s, host);
	if (parse_port(colon + 1, &port) != 0)
		return hl_fail(cause, HL_EPARSE,
		    "'%s': the port must be 1 to 65535", s);
	a4->sin_family = AF_INET;
	a4->sin_port = htons(port);
	*addrlen = sizeof *a4;
	*loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
	return 0;
}

/* Strict decimal: digits only, no sign, no spaces, no overflow. */
static int
parse_int64(const char *s, int64_t *out)
{
	int64_t v = 0;
	if (*s == '\0')
		return -1;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	*out = v;
	return 0;
}

static int
parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* Joins a relative path to dir; absolute paths stay as they are. */
static int
absolute_path(const char *dir, const char *value, char *out, size_t outlen)
{
	int n;
	if (value[0] == '/' || dir[0] == '\0')
		n = snprintf(out, outlen, "%s", value);
	else
		n = snprintf(out, outlen, "%s/%s", dir, value);
	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

struct parse_state {
	struct hl_relay_config *cfg;
	const char *name;
	int line;                /* the line the reader last returned */
	int error_line;          /* the first error our handler saw */
	char error[HL_CAUSE_MAX];
	int too_long;
	int unclosed_line;       /* the first "[name" without "]" */
	int syntax_line;         /* the first line reported as syntax */
	hl_relay_config_report_fn report;    /* every problem, when set */
	void *report_arg;
	int problems;
	unsigned char seen[NKEYS];
	/* reader input: a FILE or a string */
	FILE *file;
	const char *text;
};

static int
key_error(struct parse_state *ps, const struct key *k, const char *section,
    const char *name, const char *what)
{
	if (ps->report != NULL) {
		char msg[HL_CAUSE_MAX + 64];
		snprintf(msg, sizeof msg, "%s:%d: [%.32s] %.48s: %.160s",
		    ps->name, ps->line, k ? k->section : section,
		    k ? k->name : name, what);
		ps->report(ps->report_arg, msg);
		ps->problems++;
	}
	if (ps->error_line != 0)
		return 0;
	ps->error_line = ps->line;
	snprintf(ps->error, sizeof ps->error, "[%.32s] %.48s: %.160s",
	    k ? k->section : section, k ? k->name : name, what);
	return 0;
}

/* postgresql:CONNINFO, checked by libpq's own parser so that a typo is
 * reported at load, not at the first connection. */
static int
store_pg(struct parse_state *ps, const struct key *k, const char *value,
    char *field)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(value + 11, &err);
	if (opts == NULL) {
		char what[HL_CAUSE_MAX];
		snprintf(what, sizeof what, "postgresql: %s",
		    err ? err : "out of memory");
		what[strcspn(what, "\n")] = '\0';
		PQfreemem(err);
		return key_error(ps, k, NULL, NULL, what);
	}
	PQconninfoFree(opts);
	if (strlen(value) >= k->size)
		return key_error(ps, k, NULL, NULL, "url is too long");
	snprintf(field, k->size, "%s", value);
	return 1;
}

static int
set_value(struct parse_state *ps, const struct key *k, const char *value)
{
	char *field = (char *)ps->cfg + k->offset;
	char range[160];
	char why[HL_CAUSE_MAX];
	int64_t v;
	switch (k->type) {
	case KEY_TEXT:
		if (strlen(value) >= k->size)
			return key_error(ps, k, NULL, NULL,
			    "value is too long");
		memcpy(field, value, strlen(value) + 1);
		return 1;
	case KEY_PATH:
		if (value[0] == '\0') {
			field[0] = '\0';
			return 1;
		}
		if (absolute_path(ps->cfg->dir, value, field, k->size) != 0)
			return key_error(ps, k, NULL, NULL, "path is too long");
		return 1;
	case KEY_LISTEN_OPT:
		if (value[0] == '\0') {
			field[0] = '\0';
			return 1;
		}
		/* fall through */
	case KEY_LISTEN: {
		struct sockaddr_storage ss;
		socklen_t len;
		int loop;
		if (hl_relay_listen_parse(value, &ss, &len, &loop, why) != 0)
			return key_error(ps, k, NULL, NULL, why);
		if (strlen(value) >= k->size)
			return key_error(ps, k, NULL, NULL,
			    "value is too long");
		memcpy(field, value, strlen(value) + 1);
		return 1;
	}
	case KEY_STORE: {
		char path[PATH_MAX];
		if (strncmp(value, "postgresql:", 11) == 0)
			return store_pg(ps, k, value, field);
		if (strncmp(value, "sqlite:", 7) != 0 || value[7] == '\0')
			return key_error(ps, k, NULL, NULL,
			    "expected sqlite:PATH or postgresql:CONNINFO");
		if (absolute_path(ps->cfg->dir, value + 7, path,
		    sizeof path) != 0)
			return key_error(ps, k, NULL, NULL, "path is too long");
		snprintf(field, k->size, "sqlite:%s", path);
		return 1;
	}
	case KEY_BOOL:
		if (parse_bool(value, (int *)field) != 0)
			return key_error(ps, k, NULL, NULL,
			    "expected true or false");
		return 1;
	case KEY_UINT:
	case KEY_INT64:
	case KEY_DAYS:
		snprintf(range, sizeof range,
		    "expected an integer from %lld to %lld",
		    (long long)k->min, (long long)k->max);
		if (parse_int64(value, &v) != 0 || v < k->min || v > k->max)
			return key_error(ps, k, NULL, NULL, range);
		if (k->type == KEY_UINT)
			*(unsigned *)field = (unsigned)v;
		else if (k->type == KEY_DAYS)
			*(int64_t *)field = v * DAY_MS;
		else
			*(int64_t *)field = v;
		return 1;
	case KEY_DURATION:
	case KEY_SECONDS: {
		char lo[32], hi[32];
		hl_duration_format(k->min, lo, sizeof lo);
		hl_duration_format(k->max, hi, sizeof hi);
		snprintf(range, sizeof range,
		    "expected a duration from %s to %s (e.g. 30s, 15m, 2h, 7d)",
		    k->min == 0 ? "0s" : lo, hi);
		if (hl_duration_parse(value, k->max, &v, NULL) != 0 ||
		    v < k->min)
			return key_error(ps, k, NULL, NULL, range);
		if (k->type == KEY_SECONDS) {
			if (v % 1000 != 0)
				return key_error(ps, k, NULL, NULL,
				    "expected whole seconds");
			*(unsigned *)field = (unsigned)(v / 1000);
		} else {
			*(int64_t *)field = v;
		}
		return 1;
	}
	}
	return key_error(ps, k, NULL, NULL, "unsupported key");
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *ps = user;
	if (section[0] == '\0')
		return key_error(ps, NULL, "", name,
		    "a key outside any section");
	int known_section = 0;
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].section, section) != 0)
			continue;
		known_section = 1;
		if (strcmp(keys[i].name, name) != 0)
			continue;
		if (ps->seen[i])
			return key_error(ps, &keys[i], NULL, NULL,
			    "set twice (or continued on an indented line)");
		ps->seen[i] = 1;
		return set_value(ps, &keys[i], value);
	}
	if (!known_section)
		return key_error(ps, NULL, section, name,
		    "unknown section (expected [server], [store] or [limits])");
	return key_error(ps, NULL, section, name, "unknown key");
}

static void
say_syntax(struct parse_state *ps, int line, int unclosed)
{
	char msg[HL_CAUSE_MAX + 64];
	if (unclosed)
		snprintf(msg, sizeof msg, "%s:%d: a section name without its "
		    "closing ']' (expected [server], [store] or [limits])",
		    ps->name, line);
	else
		snprintf(msg, sizeof msg, "%s:%d: syntax error (expected "
		    "[section], key = value or a comment)", ps->name, line);
	ps->report(ps->report_arg, msg);
	ps->problems++;
}

/* inih says only where its first syntax error is; for a report of every
 * problem, lines it will refuse are found here as they are read. */
static void
report_syntax(struct parse_state *ps, const char *line)
{
	const char *p = line + strspn(line, " \t\r\n");
	if (*p == '\0' || *p == ';' || *p == '#')
		return;
	int bad = 0, unclosed = 0;
	if (*p == '[')
		unclosed = bad = strchr(p, ']') == NULL;
	else if (strpbrk(p, "=:") == NULL && p == line)
		bad = 1;       /* indented lines continue a value */
	if (!bad)
		return;
	if (ps->syntax_line == 0)
		ps->syntax_line = ps->line;
	say_syntax(ps, ps->line, unclosed);
}

/* Feeds inih one line at a time, so the handler knows the line number. */
static char *
reader(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	if (ps->too_long)
		return NULL;
	char *got;
	if (ps->file != NULL) {
		got = fgets(str, num, ps->file);
		if (got == NULL)
			return NULL;
	} else {
		if (*ps->text == '\0')
			return NULL;
		const char *nl = strchr(ps->text, '\n');
		size_t len = nl ? (size_t)(nl - ps->text) + 1 :
		    strlen(ps->text);
		if (len > (size_t)num - 1)
			len = (size_t)num - 1;
		memcpy(str, ps->text, len);
		str[len] = '\0';
		ps->text += len;
		got = str;
	}
	ps->line++;
	const char *p = got + strspn(got, " \t");
	if (*p == '[' && strchr(p, ']') == NULL && ps->unclosed_line == 0)
		ps->unclosed_line = ps->line;
	if (ps->report != NULL)
		report_syntax(ps, got);
	size_t len = strlen(got);
	int at_end = ps->file ? feof(ps->file) : *ps->text == '\0';
	if (len > 0 && got[len - 1] != '\n' && !at_end) {
		ps->too_long = 1;
		return NULL;
	}
	return got;
}

/* Was the key set in the file? */
static int
seen(const struct parse_state *ps, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return ps->seen[i];
	return 0;
}

static int
cross_checks(struct parse_state *ps, char *cause)
{
	struct hl_relay_config *c = ps->cfg;
	if (seen(ps, "retention_days") && seen(ps, "retention"))
		return hl_fail(cause, HL_ECONFIG,
		    "%s: [limits] retention and retention_days both set; keep "
		    "one", ps->name);
	/* One sender's share of a queue: its default shrinks with a small
	 * queue; set explicitly above the queue, it is a mistake. */
	if (c->max_queue_per_sender > c->max_queue_per_recipient) {
		if (seen(ps, "max_queue_per_sender"))
			return hl_fail(cause, HL_ECONFIG,
			    "%s: [limits] max_queue_per_sender (%lld) is above "
			    "max_queue_per_recipient (%lld)", ps->name,
			    (long long)c->max_queue_per_sender,
			    (long long)c->max_queue_per_recipient);
		c->max_queue_per_sender = c->max_queue_per_recipient;
	}
	if (c->max_prekeys_stored < c->max_prekeys_per_upload)
		return hl_fail(cause, HL_ECONFIG,
		    "%s: [limits] max_prekeys_stored (%lld) is below "
		    "max_prekeys_per_upload (%lld)", ps->name,
		    (long long)c->max_prekeys_stored,
		    (long long)c->max_prekeys_per_upload);
	/* A registration carries a profile and up to max_prekeys_per_upload
	 * prekeys of about 70 bytes of JSON each. */
	int64_t need = 4096 + 72 * c->max_prekeys_per_upload;
	if (c->max_body_bytes < need)
		return hl_fail(cause, HL_ECONFIG,
		    "%s: [limits] max_body_bytes (%lld) is too small for "
		    "max_prekeys_per_upload = %lld (needs at least "
		    "%lld)", ps->name, (long long)c->max_body_bytes,
		    (long long)c->max_prekeys_per_upload, (long long)need);
	return 0;
}

static int
run_parse(struct parse_state *ps, char *cause)
{
	int rc = ini_parse_stream(reader, ps, handler, ps);
	if (ps->too_long)
		return hl_fail(cause, HL_ECONFIG,
		    "%s:%d: line too long (at most %d characters)", ps->name,
		    ps->line, 200 - 3);
	if (rc == -2)
		return hl_fail(cause, HL_ENOMEM, "%s: out of memory", ps->name);
	/* inih returns the first line it refused, and a line the handler
	 * refused counts: that one is reported already, as what it is. */
	if (ps->report != NULL && rc > 0 && ps->syntax_line == 0 &&
	    (ps->error_line == 0 || rc < ps->error_line)) {
		say_syntax(ps, rc, rc == ps->unclosed_line);
		ps->syntax_line = rc;
	}
	if (rc > 0 && (ps->error_line == 0 || rc < ps->error_line) &&
	    rc == ps->unclosed_line)
		return hl_fail(cause, HL_ECONFIG,
		    "%s:%d: a section name without its closing ']' (expected "
		    "[server], [store] or [limits])", ps->name, rc);
	if (rc > 0 && (ps->error_line == 0 || rc < ps->error_line))
		return hl_fail(cause, HL_ECONFIG,
		    "%s:%d: syntax error (expected [section], key = value or a "
		    "comment)", ps->name, rc);
	if (ps->error_line != 0)
		return hl_fail(cause, HL_ECONFIG, "%s:%d: %s", ps->name,
		    ps->error_line, ps->error);
	return cross_checks(ps, cause);
}

static int
set_dir(struct hl_relay_config *cfg, const char *path, const char *dir)
{
	if (dir != NULL) {
		if (snprintf(cfg->dir, sizeof cfg->dir, "%s", dir) >=
		    (int)sizeof cfg->dir)
			return -1;
	} else {
		const char *slash = strrchr(path, '/');
		if (slash == NULL) {
			if (getcwd(cfg->dir, sizeof cfg->dir) == NULL)
				return -1;
		} else if (slash == path) {
			snprintf(cfg->dir, sizeof cfg->dir, "/");
		} else {
			if ((size_t)(slash - path) >= sizeof cfg->dir)
				return -1;
			memcpy(cfg->dir, path, (size_t)(slash - path));
			cfg->dir[slash - path] = '\0';
		}
		/* A relative config path gets an absolute directory, so that
		 * paths in it stay right if the process changes directory. */
		if (cfg->dir[0] != '/') {
			char cwd[PATH_MAX], joined[PATH_MAX];
			if (getcwd(cwd, sizeof cwd) == NULL)
				return -1;
			int n = snprintf(joined, sizeof joined, "%s/%s", cwd,
			    cfg->dir);
			if (n < 0 || (size_t)n >= sizeof joined)
				return -1;
			memcpy(cfg->dir, joined, sizeof joined);
		}
	}
	return 0;
}

int
hl_relay_config_parse(const char *text, const char *name, const char *dir,
    struct hl_relay_config *cfg, char *cause)
{
	hl_relay_config_defaults(cfg);
	snprintf(cfg->path, sizeof cfg->path, "%s", name);
	if (set_dir(cfg, name, dir) != 0)
		return hl_fail(cause, HL_ECONFIG, "%s: path too long", name);
	struct parse_state ps;
	memset(&ps, 0, sizeof ps);
	ps.cfg = cfg;
	ps.name = name;
	ps.text = text;
	return run_parse(&ps, cause);
}

static int
load(const char *path, struct hl_relay_config *cfg,
    hl_relay_config_report_fn report, void *arg, char *cause)
{
	hl_relay_config_defaults(cfg);
	if (snprintf(cfg->path, sizeof cfg->path, "%s", path) >=
	    (int)sizeof cfg->path || set_dir(cfg, path, NULL) != 0)
		return hl_fail(cause, HL_ECONFIG, "%s: path too long", path);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		int e = errno;
		return hl_fail(cause, e == ENOENT ? HL_ENOTFOUND : HL_EIO,
		    "%s: %s", path, strerror(e));
	}
	/* fopen() opens a folder too; reading it would fail without saying
	 * why. */
	struct stat sb;
	if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
		fclose(f);
		return hl_fail(cause, HL_ECONFIG,
		    "%s: is a folder, not a configuration file", path);
	}
	struct parse_state ps;
	memset(&ps, 0, sizeof ps);
	ps.cfg = cfg;
	ps.name = path;
	ps.file = f;
	ps.report = report;
	ps.report_arg = arg;
	int rc = run_parse(&ps, cause);
	if (rc == 0 && ferror(f))
		rc = hl_fail(cause, HL_EIO, "%s: read error", path);
	fclose(f);
	return rc;
}

int
hl_relay_config_load(const char *path, struct hl_relay_config *cfg, char *cause)
{
	return load(path, cfg, NULL, NULL, cause);
}

struct reported {
	hl_relay_config_report_fn fn;
	void *arg;
	int count;
	char first[HL_CAUSE_MAX + 64];
};

static void
count_report(void *arg, const char *problem)
{
	struct reported *r = arg;
	if (r->count++ == 0)
		snprintf(r->first, sizeof r->first, "%s", problem);
	r->fn(r->arg, problem);
}

int
hl_relay_config_load_report(const char *path, struct hl_relay_config *cfg,
    hl_relay_config_report_fn report, void *arg, char *cause)
{
	struct reported r = { report, arg, 0, "" };
	int rc = load(path, cfg, count_report, &r, cause);
	/* What stopped the load and was not among the lines reported: the
	 * file itself, a line too long, a cross-check between keys. */
	if (rc != 0 && (r.count == 0 || strcmp(r.first, cause) != 0))
		report(arg, cause);
	return rc;
}

int
hl_relay_config_check(const struct hl_relay_config *cfg, int *use_tls,
    char *cause)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int loopback;
	char why[HL_CAUSE_MAX];
	if (hl_relay_listen_parse(cfg->listen, &ss, &len, &loopback, why) != 0)
		return hl_fail(cause, HL_ECONFIG, "listen %s", why);
	if (cfg->metrics_listen[0] != '\0' &&
	    strcmp(cfg->metrics_listen, cfg->listen) == 0)
		return hl_fail(cause, HL_ECONFIG,
		    "%s: [server] metrics_listen is the listen address; give "
		    "it another port", cfg->path);
	int have_cert = cfg->tls_cert[0] != '\0';
	int have_key = cfg->tls_key[0] != '\0';
	if (have_cert != have_key)
		return hl_fail(cause, HL_ECONFIG,
		    "%s: [server] tls_cert and tls_key go together; %s is "
		    "missing", cfg->path, have_cert ? "tls_key" : "tls_cert");
	if (have_cert) {
		*use_tls = 1;
		return 0;
	}
	*use_tls = 0;
	if (!cfg->allow_plain_http)
		return hl_fail(cause, HL_ECONFIG,
		    "%s: no TLS certificate: set [server] tls_cert and tls_key "
		    "(plain HTTP needs allow_plain_http = true and a loopback "
		    "listen address)", cfg->path);
	if (!loopback)
		return hl_fail(cause, HL_ECONFIG,
		    "refusing plain HTTP on %s: allow_plain_http is honoured "
		    "only on a loopback address (127.0.0.0/8 or [::1]); "
		    "configure tls_cert and tls_key", cfg->listen);
	return 0;
}
