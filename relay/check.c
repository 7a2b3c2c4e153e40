/*
 * check: the check-config subcommand, like `nginx -t`: everything serve
 * would refuse at start, found without starting it. Each problem is one
 * line on stderr ("FILE:LINE: ..." where it has a line); exit 0 when there
 * is none, else the configuration exit code serve would give.
 */
#include "relay/cli.h"

#include "crypto/hl_err.h"
#include "crypto/hl_time.h"
#include "relay/config.h"
#include "relay/store.h"
#include "relay/tls.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct problems {
	const struct hl_relay_cli *cli;
	int count;
};

static void
say(void *arg, const char *problem)
{
	struct problems *p = arg;
	fprintf(stderr, "hotline-relay %s: %s\n", p->cli->command, problem);
	p->count++;
}

static void sayf(struct problems *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
sayf(struct problems *p, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "hotline-relay %s: ", p->cli->command);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	p->count++;
}

/* The database's folder must exist and be writable: serve (or init)
 * creates the file, never the folder. */
static void
check_store(const struct hl_relay_config *cfg, struct problems *p)
{
	char dir[PATH_MAX];
	if (strncmp(cfg->store_url, "sqlite:", 7) != 0)
		return;         /* a database server's, not a folder here */
	const char *path = cfg->store_url + strlen("sqlite:");
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return;
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof dir)
		return;
	memcpy(dir, path, n);
	dir[n] = '\0';
	struct stat sb;
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		sayf(p, "%s: [store] url: the folder %s does not exist",
		    cfg->path, dir);
	else if (access(dir, W_OK | X_OK) != 0)
		sayf(p, "%s: [store] url: the folder %s is not writable by "
		    "this user (%s)", cfg->path, dir, strerror(errno));
}

int
hl_relay_cmd_check_config(const struct hl_relay_cli *cli)
{
	struct problems p = { cli, 0 };
	struct hl_relay_config cfg;
	char cause[HL_CAUSE_MAX];
	if (hl_relay_config_load_report(cli->config, &cfg, say, &p,
	    cause) != 0)
		return HL_RELAY_EXIT_CONFIG;
	int use_tls = 0;
	char until[HL_TIME_STR] = "";
	if (hl_relay_config_check(&cfg, &use_tls, cause) != 0) {
		say(&p, cause);
	} else if (use_tls) {
		char older[64] = "";
		struct hl_tls *tls = NULL;
		if (hl_tls_load(cfg.tls_cert, cfg.tls_key, cfg.tls_priorities,
		    older, sizeof older, &tls, cause) != 0) {
			say(&p, cause);
		} else {
			int64_t t = hl_tls_not_after(tls);
			hl_time_utc(t * 1000, until);
			if (t * 1000 < hl_now_ms())
				sayf(&p, "%s: [server] tls_cert: the "
				    "certificate expired at %s", cfg.path, until);
			if (older[0] != '\0')
				fprintf(stderr, "hotline-relay %s: warning: "
				    "[server] tls_priorities allows %s (older "
				    "than TLS 1.3)\n", cli->command, older);
		}
		hl_tls_free(tls);
	}
	check_store(&cfg, &p);
	if (p.count > 0)
		return HL_RELAY_EXIT_CONFIG;
	char store[sizeof cfg.store_url];
	hl_store_url_shown(cfg.store_url, store, sizeof store);
	printf("%s: configuration ok: listen %s, %s%s%s, store %s\n", cfg.path,
	    cfg.listen, use_tls ? "TLS" : "plain HTTP (loopback)",
	    use_tls ? ", certificate valid until " : "", until, store);
	return HL_RELAY_EXIT_OK;
}
