/*
 * config: relay.ini. Every key has a default; an unknown section or key, a
 * key given twice, or a bad value is an error naming the file, the line and
 * the key ("relay.ini:12: [limits] rate_per_minute: expected a positive
 * integer"). Relative paths are taken relative to the file's directory.
 */
#ifndef HL_RELAY_CONFIG_H
#define HL_RELAY_CONFIG_H

#include <limits.h>
#include <stdint.h>
#include <sys/socket.h>

#define HL_RELAY_CONFIG_PATH "/etc/hotline/relay.ini"
#define HL_RELAY_CONFIG_ENV "HOTLINE_RELAY_CONFIG"
#define HL_RELAY_CONFIG_TEXT 256

struct hl_relay_config {
	char path[PATH_MAX];             /* the file read */
	char dir[PATH_MAX];              /* its directory */

	/* [server] */
	char listen[HL_RELAY_CONFIG_TEXT];     /* ADDR:PORT or [ADDR6]:PORT */
	char tls_cert[PATH_MAX];         /* "" when not set */
	char tls_key[PATH_MAX];
	char tls_priorities[HL_RELAY_CONFIG_TEXT];
	int allow_plain_http;
	unsigned threads;
	unsigned max_connections;
	unsigned max_connections_per_ip;       /* per address prefix */
	unsigned ipv4_prefix;                  /* bits of that prefix */
	unsigned ipv6_prefix;
	unsigned max_pending_connections;      /* without a request head */
	int64_t header_timeout_ms;
	int64_t body_timeout_ms;               /* from the head to the body's end */
	unsigned connection_memory_kib;
	unsigned connection_timeout_s;
	unsigned max_wait_s;
	unsigned max_fetch;
	int64_t max_fetch_bytes;
	unsigned max_fetches_per_account;
	int metrics;
	char metrics_listen[HL_RELAY_CONFIG_TEXT];   /* "" when not set */

	/* [store] */
	char store_url[PATH_MAX + 16];   /* "sqlite:/abs/path" after loading */
	unsigned reserve_mib;            /* held back for a full disk; 0: none */

	/* [limits] */
	int64_t max_message_bytes;
	int64_t max_body_bytes;
	int64_t max_queue_per_recipient;
	int64_t max_queue_per_sender;          /* of one recipient's queue */
	int64_t rate_per_minute;
	int64_t bundle_rate_per_hour;
	int64_t register_rate_per_hour;
	int64_t max_prekeys_per_upload;
	int64_t max_prekeys_stored;
	int64_t retention_ms;
	int64_t purge_interval_ms;
};

/* Fills cfg with every default. */
void hl_relay_config_defaults(struct hl_relay_config *cfg);

/* Defaults, then the file at path. 0, HL_ENOTFOUND (no such file), HL_EIO
 * or HL_ECONFIG; cause says where and why. */
int hl_relay_config_load(const char *path, struct hl_relay_config *cfg,
    char *cause);

/* Called with each problem found, one line each ("FILE:LINE: ..."). */
typedef void (*hl_relay_config_report_fn)(void *arg, const char *problem);

/* hl_relay_config_load() that goes on after the first problem and
 * reports every one it finds in the lines (the cross-checks between keys
 * only when the lines are good). Returns as hl_relay_config_load(), with
 * the first problem in cause. */
int hl_relay_config_load_report(const char *path, struct hl_relay_config *cfg,
    hl_relay_config_report_fn report, void *arg, char *cause);

/* The same for text already in memory; name is used in messages and dir
 * resolves relative paths. */
int hl_relay_config_parse(const char *text, const char *name, const char *dir,
    struct hl_relay_config *cfg, char *cause);

/* The file `-c` did not name: $HOTLINE_RELAY_CONFIG, else the default.
 * Borrowed. */
const char *hl_relay_config_path(void);

/* Parses "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6) into addr. *loopback
 * tells 127.0.0.0/8 and ::1. 0 or HL_EPARSE. */
int hl_relay_listen_parse(const char *s, struct sockaddr_storage *addr,
    socklen_t *addrlen, int *loopback, char *cause);

/* What serve must refuse: TLS files half given, plain HTTP off loopback,
 * no TLS without allow_plain_http. Sets *use_tls. 0 or HL_ECONFIG. */
int hl_relay_config_check(const struct hl_relay_config *cfg, int *use_tls,
    char *cause);

#endif
