/*
 * serve: the serve subcommand. Checks the configuration (TLS settings as
 * GnuTLS sees them, plain HTTP only on loopback), opens the store and the
 * listening socket, starts the server, and waits for SIGTERM or SIGINT to
 * stop it cleanly.
 */
#include "relay/cli.h"

#include "crypto/hl_err.h"
#include "crypto/hl_time.h"
#include "relay/config.h"
#include "relay/jsonwipe.h"
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
#include <unistd.h>

#define PEM_MAX (1 << 20)

static void
say_error(const char *msg)
{
	fprintf(stderr, "hotline-relay serve: %s\n", msg);
}

/* Reads a PEM file whole into a NUL-terminated buffer (caller wipes and
 * frees; *len is its length). */
static int
read_pem(const char *path, const char *what, char **out, size_t *len,
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

static void
wipe_pem(char *p, size_t len)
{
	if (p != NULL) {
		sodium_memzero(p, len);
		free(p);
	}
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
	char *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	char older[64] = "";
	if (use_tls && (read_pem(cfg.tls_cert, "tls_cert", &cert, &cert_len,
	    cause) != 0 || read_pem(cfg.tls_key, "tls_key", &key, &key_len,
	    cause) != 0 || hl_tls_check(cert, key, cfg.tls_priorities, older,
	    sizeof older, cause) != 0)) {
		wipe_pem(cert, cert_len);
		wipe_pem(key, key_len);
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
	int rc = hl_store_open(cfg.store_url, 0, cfg.threads + 2, &st, cause);
	int fd = -1, ipv6 = 0;
	if (rc == 0)
		rc = open_listener(cfg.listen, &ipv6, &fd, cause);
	struct hl_server *srv = NULL;
	if (rc == 0) {
		struct hl_server_options opt = { fd, ipv6, cert, key };
		rc = hl_server_start(&cfg, st, &opt, &srv, cause);
	}
	wipe_pem(cert, cert_len);
	wipe_pem(key, key_len);
	if (rc != 0) {
		say_error(cause);
		hl_store_close(st);
		return HL_RELAY_EXIT_FAIL;
	}
	char retention[32];
	hl_duration_format(cfg.retention_ms, retention, sizeof retention);
	hl_log(HL_LOG_INFO, "start",
	    "version=%s pid=%ld listen=%s tls=%s threads=%u store=%s "
	    "retention=%s metrics=%s", HL_RELAY_VERSION, (long)getpid(),
	    cfg.listen, use_tls ? "on" : "off", cfg.threads, cfg.store_url,
	    retention, cfg.metrics ? "on" : "off");

	int sig = 0;
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			hl_log(HL_LOG_INFO, "signal",
			    "signal=SIGHUP action=ignored (restart to reload)");
			continue;
		}
		break;
	}
	hl_log(HL_LOG_INFO, "stopping", "signal=%s",
	    sig == SIGTERM ? "SIGTERM" : "SIGINT");
	hl_server_stop(srv);
	hl_store_close(st);
	hl_log(HL_LOG_INFO, "stop", "status=clean");
	return HL_RELAY_EXIT_OK;
}
