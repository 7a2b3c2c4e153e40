/*
 * serve: the serve subcommand. Checks the configuration (TLS settings as
 * GnuTLS sees them, plain HTTP only on loopback), opens the store and the
 * listening socket, starts the server, tells systemd it is ready, reloads
 * the TLS certificate and key on SIGHUP, and waits for SIGTERM or SIGINT
 * to stop it cleanly.
 */
#include "relay/cli.h"

#include "crypto/hl_err.h"
#include "crypto/hl_time.h"
#include "relay/config.h"
#include "crypto/hl_jsonwipe.h"
#include "relay/log.h"
#include "relay/server.h"
#include "relay/store.h"
#include "relay/tls.h"
#include "relay/version.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

static void
say_error(const char *msg)
{
	fprintf(stderr, "hotline-relay serve: %s\n", msg);
}

static int
open_listener(const char *listen_str, int *ipv6, int *fd_out, char *cause)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int loopback;
	int rc = hl_relay_listen_parse(listen_str, &ss, &len, &loopback, cause);
	if (rc != 0)
		return rc;
	*ipv6 = ss.ss_family == AF_INET6;
	int fd = socket(ss.ss_family,
	    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return hl_fail(cause, HL_EIO, "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (*ipv6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(fd, SOMAXCONN) != 0) {
		int e = errno;
		close(fd);
		return hl_fail(cause, HL_EIO, "cannot listen on %s: %s",
		    listen_str, strerror(e));
	}
	*fd_out = fd;
	return 0;
}

/* Tells systemd (Type=notify) how the relay stands; nothing when not
 * started by it ($NOTIFY_SOCKET unset). */
static void
notify(const char *state)
{
	int rc = sd_notify(0, state);
	if (rc < 0)
		hl_log(HL_LOG_WARN, "notify", "error=%s", strerror(-rc));
}

/* SIGHUP: the certificate and key again, for handshakes from now on. */
static void
reload_tls(struct hl_tls *tls)
{
	char cause[HL_CAUSE_MAX];
	if (tls == NULL) {
		hl_log(HL_LOG_INFO, "reload", "tls=off action=none");
		return;
	}
	notify("RELOADING=1");
	if (hl_tls_reload(tls, cause) != 0) {
		char q[HL_LOG_VALUE_MAX];
		hl_log(HL_LOG_ERROR, "reload", "status=failed kept=previous "
		    "error=%s", hl_log_quote(cause, q));
	} else {
		char until[HL_TIME_STR];
		hl_time_rfc3339(hl_tls_not_after(tls) * 1000, until);
		hl_log(HL_LOG_INFO, "reload", "status=ok tls_not_after=%s",
		    until);
	}
	notify("READY=1");
}

int
hl_relay_cmd_serve(const struct hl_relay_cli *cli)
{
	struct hl_relay_config cfg;
	char cause[HL_CAUSE_MAX];
	int ex = hl_relay_cli_config(cli, &cfg);
	if (ex != HL_RELAY_EXIT_OK)
		return ex;
	if (cli->listen != NULL) {
		struct sockaddr_storage ss;
		socklen_t len;
		int loop;
		/* A valid address is always much shorter than cfg.listen. */
		if (hl_relay_listen_parse(cli->listen, &ss, &len, &loop,
		    cause) != 0) {
			char msg[HL_CAUSE_MAX + 16];
			snprintf(msg, sizeof msg, "--listen %s", cause);
			say_error(msg);
			return HL_RELAY_EXIT_USAGE;
		}
		snprintf(cfg.listen, sizeof cfg.listen, "%s", cli->listen);
	}
	int use_tls = 0;
	if (hl_relay_config_check(&cfg, &use_tls, cause) != 0) {
		say_error(cause);
		return HL_RELAY_EXIT_CONFIG;
	}
	if (use_tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		say_error("this libmicrohttpd was built without TLS");
		return HL_RELAY_EXIT_CONFIG;
	}
	struct hl_tls *tls = NULL;
	char older[64] = "";
	if (use_tls && hl_tls_load(cfg.tls_cert, cfg.tls_key,
	    cfg.tls_priorities, older, sizeof older, &tls, cause) != 0) {
		say_error(cause);
		return HL_RELAY_EXIT_CONFIG;
	}
	if (older[0] != '\0') {
		char q[HL_LOG_VALUE_MAX];
		hl_log(HL_LOG_WARN, "tls", "warning=older_than_tls1.3 "
		    "allows=%s priorities=%s", older,
		    hl_log_quote(cfg.tls_priorities, q));
	}

	/* Every thread started from here on inherits this mask, so the
	 * signals reach only sigwait() below. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	hl_jsonwipe_install();

	struct hl_store *st = NULL;
	int rc = hl_store_open(cfg.store_url, cli->init, cfg.threads + 2, &st,
	    cause);
	int fd = -1, ipv6 = 0, mfd = -1, mipv6 = 0;
	if (rc == 0)
		rc = open_listener(cfg.listen, &ipv6, &fd, cause);
	if (rc == 0 && cfg.metrics_listen[0] != '\0' &&
	    (rc = open_listener(cfg.metrics_listen, &mipv6, &mfd, cause)) != 0)
		close(fd);
	struct hl_server *srv = NULL;
	if (rc == 0) {
		struct hl_server_options opt = { fd, ipv6, tls, mfd, mipv6 };
		rc = hl_server_start(&cfg, st, &opt, &srv, cause);
	}
	if (rc != 0) {
		say_error(cause);
		hl_store_close(st);
		hl_tls_free(tls);
		return rc == HL_ECONFIG ? HL_RELAY_EXIT_CONFIG :
		    HL_RELAY_EXIT_FAIL;
	}
	char retention[32];
	hl_duration_format(cfg.retention_ms, retention, sizeof retention);
	char shown[sizeof cfg.store_url], store[HL_LOG_VALUE_MAX];
	hl_store_url_shown(cfg.store_url, shown, sizeof shown);
	hl_log_quote(shown, store);
	hl_log(HL_LOG_INFO, "start",
	    "version=%s pid=%ld listen=%s tls=%s threads=%u store=%s "
	    "retention=%s metrics=%s", HL_RELAY_VERSION, (long)getpid(),
	    cfg.listen, use_tls ? "on" : "off", cfg.threads, store,
	    retention, cfg.metrics_listen[0] != '\0' ? cfg.metrics_listen :
	    cfg.metrics ? "on" : "off");
	notify("READY=1");

	int sig = 0;
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload_tls(tls);
			continue;
		}
		break;
	}
	notify("STOPPING=1");
	hl_log(HL_LOG_INFO, "stopping", "signal=%s",
	    sig == SIGTERM ? "SIGTERM" : "SIGINT");
	hl_server_stop(srv);
	hl_store_close(st);
	hl_tls_free(tls);
	hl_log(HL_LOG_INFO, "stop", "status=clean");
	return HL_RELAY_EXIT_OK;
}
