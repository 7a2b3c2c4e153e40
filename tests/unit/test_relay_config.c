/* relay.ini: defaults, a full good file, and each kind of bad line refused
 * with the file, the line and the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/hl_err.h"
#include "relay/config.h"

static void
test_defaults(void **state)
{
	(void)state;
	struct hl_relay_config c;
	char cause[HL_CAUSE_MAX];
	assert_int_equal(hl_relay_config_parse("", "relay.ini", "/etc/hotline",
	    &c, cause), 0);
	assert_string_equal(c.listen, "127.0.0.1:8443");
	assert_string_equal(c.tls_priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.3");
	assert_false(c.allow_plain_http);
	assert_int_equal(c.threads, 4);
	assert_int_equal(c.max_wait_s, 60);
	assert_int_equal(c.max_fetch, 100);
	assert_int_equal(c.max_fetch_bytes, 1048576);
	assert_int_equal(c.max_fetches_per_account, 4);
	assert_int_equal(c.max_connections_per_ip, 64);
	assert_int_equal(c.ipv4_prefix, 32);
	assert_int_equal(c.ipv6_prefix, 64);
	assert_int_equal(c.max_pending_connections, 256);
	assert_int_equal(c.header_timeout_ms, 10000);
	assert_int_equal(c.body_timeout_ms, 30000);
	assert_int_equal(c.max_queue_per_recipient, 10000);
	assert_int_equal(c.max_queue_per_sender, 1000);
	assert_false(c.metrics);
	assert_string_equal(c.store_url, "sqlite:/var/lib/hotline-relay/relay.db");
	assert_int_equal(c.max_message_bytes, 81920);
	assert_int_equal(c.rate_per_minute, 300);
	assert_int_equal(c.retention_ms, 30LL * 86400000);
	assert_int_equal(c.purge_interval_ms, 3600000);
}

static void
test_good_file(void **state)
{
	(void)state;
	const char *text =
	    "; a comment\n"
	    "# another\n"
	    "[server]\n"
	    "listen = [::1]:9443\n"
	    "tls_cert = certs/relay.crt\n"
	    "tls_key = /etc/hotline/relay.key ; inline comment\n"
	    "allow_plain_http = no\n"
	    "threads = 8\n"
	    "max_connections = 2000\n"
	    "max_connections_per_ip = 16\n"
	    "ipv4_prefix = 24\n"
	    "ipv6_prefix = 56\n"
	    "max_pending_connections = 100\n"
	    "header_timeout = 2500ms\n"
	    "connection_memory_kib = 64\n"
	    "connection_timeout = 1m\n"
	    "max_wait = 90\n"
	    "max_fetch = 50\n"
	    "max_fetch_bytes = 2097152\n"
	    "max_fetches_per_account = 2\n"
	    "metrics = on\n"
	    "\n"
	    "[store]\n"
	    "url = sqlite:data/relay.db\n"
	    "[limits]\n"
	    "max_message_bytes = 100000\n"
	    "max_body_bytes = 200000\n"
	    "max_queue_per_recipient = 5\n"
	    "rate_per_minute = 7\n"
	    "bundle_rate_per_hour = 3\n"
	    "register_rate_per_hour = 4\n"
	    "max_prekeys_per_upload = 200\n"
	    "max_prekeys_stored = 400\n"
	    "retention = 2s\n"
	    "purge_interval = 1s\n";
	struct hl_relay_config c;
	char cause[HL_CAUSE_MAX] = "";
	int rc = hl_relay_config_parse(text, "relay.ini", "/srv/relay", &c, cause);
	if (rc != 0)
		fail_msg("%s", cause);
	assert_string_equal(c.listen, "[::1]:9443");
	assert_string_equal(c.tls_cert, "/srv/relay/certs/relay.crt");
	assert_string_equal(c.tls_key, "/etc/hotline/relay.key");
	assert_int_equal(c.threads, 8);
	assert_int_equal(c.max_connections, 2000);
	assert_int_equal(c.max_connections_per_ip, 16);
	assert_int_equal(c.ipv4_prefix, 24);
	assert_int_equal(c.ipv6_prefix, 56);
	assert_int_equal(c.max_pending_connections, 100);
	assert_int_equal(c.header_timeout_ms, 2500);
	assert_int_equal(c.connection_memory_kib, 64);
	assert_int_equal(c.connection_timeout_s, 60);
	assert_int_equal(c.max_wait_s, 90);
	assert_int_equal(c.max_fetch, 50);
	assert_int_equal(c.max_fetch_bytes, 2097152);
	assert_int_equal(c.max_fetches_per_account, 2);
	assert_true(c.metrics);
	assert_string_equal(c.store_url, "sqlite:/srv/relay/data/relay.db");
	assert_int_equal(c.max_message_bytes, 100000);
	assert_int_equal(c.max_queue_per_recipient, 5);
	/* One sender's share follows a queue smaller than its default. */
	assert_int_equal(c.max_queue_per_sender, 5);
	assert_int_equal(c.rate_per_minute, 7);
	assert_int_equal(c.bundle_rate_per_hour, 3);
	assert_int_equal(c.register_rate_per_hour, 4);
	assert_int_equal(c.max_prekeys_per_upload, 200);
	assert_int_equal(c.retention_ms, 2000);
	assert_int_equal(c.purge_interval_ms, 1000);

	assert_int_equal(hl_relay_config_parse("[limits]\nretention_days = 7\n",
	    "relay.ini", "/", &c, cause), 0);
	assert_int_equal(c.retention_ms, 7LL * 86400000);
	assert_int_equal(hl_relay_config_parse("[limits]\n"
	    "max_queue_per_recipient = 50\nmax_queue_per_sender = 50\n",
	    "relay.ini", "/", &c, cause), 0);
	assert_int_equal(c.max_queue_per_sender, 50);
}

static void
test_bad_lines(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "[server]\nthreads = 0\n",
		    "relay.ini:2: [server] threads: expected an integer from 1 to 256" },
		{ "[server]\n\nthreads = four\n",
		    "relay.ini:3: [server] threads: expected an integer" },
		{ "[limits]\nrate_per_minute = -5\n",
		    "relay.ini:2: [limits] rate_per_minute: expected an integer from 1" },
		{ "[limits]\nrate_per_minute = 99999999999999999999999\n",
		    "relay.ini:2: [limits] rate_per_minute: expected an integer" },
		{ "[server]\nmetrics = maybe\n",
		    "relay.ini:2: [server] metrics: expected true or false" },
		{ "[server]\nlisten = localhost:80\n",
		    "relay.ini:2: [server] listen: 'localhost:80': 'localhost' is not "
		    "an IPv4 address" },
		{ "[server]\nlisten = 127.0.0.1:0\n",
		    "relay.ini:2: [server] listen: '127.0.0.1:0': the port" },
		{ "[server]\nlisten = 127.0.0.1\n",
		    "relay.ini:2: [server] listen: '127.0.0.1': expected ADDR:PORT" },
		{ "[server]\nlisten = [::1:80\n",
		    "relay.ini:2: [server] listen: '[::1:80': expected [IPV6]:PORT" },
		{ "[server]\nmetrics_listen = nowhere\n",
		    "relay.ini:2: [server] metrics_listen: 'nowhere': expected "
		    "ADDR:PORT" },
		{ "[server]\ncolour = blue\n",
		    "relay.ini:2: [server] colour: unknown key" },
		{ "[serve]\nthreads = 2\n",
		    "relay.ini:2: [serve] threads: unknown section" },
		{ "threads = 2\n", "relay.ini:1: [] threads: a key outside any section" },
		{ "[server]\nthreads = 2\nthreads = 3\n",
		    "relay.ini:3: [server] threads: set twice" },
		{ "[server]\nthreads\n", "relay.ini:2: syntax error" },
		{ "[server\nthreads = 2\n", "relay.ini:1: a section name "
		    "without its closing ']'" },
		{ "[server]\nthreads = 2\n[limits\n",
		    "relay.ini:3: a section name without its closing ']'" },
		{ "[store]\nurl = mysql:host=db\n",
		    "relay.ini:2: [store] url: expected sqlite:PATH or "
		    "postgresql:CONNINFO" },
		{ "[store]\nurl = postgresql:host=db nonsense\n",
		    "relay.ini:2: [store] url: postgresql: missing \"=\" after "
		    "\"nonsense\" in connection info string" },
		{ "[store]\nurl = sqlite:\n",
		    "relay.ini:2: [store] url: expected sqlite:PATH" },
		{ "[limits]\nretention = 1h\nretention_days = 3\n",
		    "relay.ini: [limits] retention and retention_days both set" },
		{ "[limits]\nretention = 500ms\n",
		    "relay.ini:2: [limits] retention: expected a duration from 1s" },
		{ "[limits]\npurge_interval = soon\n",
		    "relay.ini:2: [limits] purge_interval: expected a duration" },
		{ "[server]\nmax_wait = 1500ms\n",
		    "relay.ini:2: [server] max_wait: expected whole seconds" },
		{ "[limits]\nmax_prekeys_stored = 10\n",
		    "relay.ini: [limits] max_prekeys_stored (10) is below "
		    "max_prekeys_per_upload (100)" },
		{ "[limits]\nmax_body_bytes = 5000\n",
		    "relay.ini: [limits] max_body_bytes (5000) is too small" },
		{ "[limits]\nmax_queue_per_recipient = 10\n"
		    "max_queue_per_sender = 11\n",
		    "relay.ini: [limits] max_queue_per_sender (11) is above "
		    "max_queue_per_recipient (10)" },
		{ "[server]\nipv6_prefix = 129\n",
		    "relay.ini:2: [server] ipv6_prefix: expected an integer from "
		    "16 to 128" },
		{ "[server]\nipv4_prefix = 7\n",
		    "relay.ini:2: [server] ipv4_prefix: expected an integer from "
		    "8 to 32" },
		{ "[server]\nheader_timeout = 500ms\n",
		    "relay.ini:2: [server] header_timeout: expected a duration "
		    "from 1s" },
		{ "[server]\nmax_fetches_per_account = 0\n",
		    "relay.ini:2: [server] max_fetches_per_account: expected an "
		    "integer from 1" },
		/* The first error wins, with its own line. */
		{ "[server]\nthreads = 2\nmetrics = x\ncolour = y\n",
		    "relay.ini:3: [server] metrics" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hl_relay_config c;
		char cause[HL_CAUSE_MAX] = "";
		int rc = hl_relay_config_parse(cases[i].text, "relay.ini", "/", &c,
		    cause);
		if (rc != HL_ECONFIG || strncmp(cause, cases[i].want,
		    strlen(cases[i].want)) != 0)
			fail_msg("case %zu: rc %d, cause '%s'", i, rc, cause);
	}
}

static void
test_long_line(void **state)
{
	(void)state;
	char text[600];
	snprintf(text, sizeof text, "[server]\ntls_cert = /");
	size_t n = strlen(text);
	memset(text + n, 'a', 300);
	snprintf(text + n + 300, sizeof text - n - 300, "\nthreads = 2\n");
	struct hl_relay_config c;
	char cause[HL_CAUSE_MAX] = "";
	assert_int_equal(hl_relay_config_parse(text, "relay.ini", "/", &c, cause),
	    HL_ECONFIG);
	assert_non_null(strstr(cause, "relay.ini:2: line too long"));
}

static void
test_load_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/hl-unit-config.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof path, "%s/relay.ini", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("[store]\nurl = sqlite:relay.db\n[limits]\nrate_per_minute = x\n", f);
	fclose(f);
	struct hl_relay_config c;
	char cause[HL_CAUSE_MAX], want[128];
	assert_int_equal(hl_relay_config_load(path, &c, cause), HL_ECONFIG);
	snprintf(want, sizeof want, "%s:4: [limits] rate_per_minute:", path);
	assert_non_null(strstr(cause, want));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[store]\nurl = sqlite:relay.db\n", f);
	fclose(f);
	assert_int_equal(hl_relay_config_load(path, &c, cause), 0);
	snprintf(want, sizeof want, "sqlite:%s/relay.db", dir);
	assert_string_equal(c.store_url, want);
	unlink(path);
	assert_int_equal(hl_relay_config_load(path, &c, cause), HL_ENOTFOUND);
	snprintf(want, sizeof want, "%s: No such file", path);
	assert_non_null(strstr(cause, want));
	/* A folder named as the file is an error that says so. */
	assert_int_equal(hl_relay_config_load(dir, &c, cause), HL_ECONFIG);
	snprintf(want, sizeof want, "%s: is a folder", dir);
	assert_non_null(strstr(cause, want));
	rmdir(dir);
}

static void
test_listen_and_serve_rules(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len;
	int loop = -1;
	char cause[HL_CAUSE_MAX];
	assert_int_equal(hl_relay_listen_parse("127.0.0.2:8443", &ss, &len, &loop, cause),
	    0);
	assert_true(loop);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8443);
	assert_int_equal(hl_relay_listen_parse("0.0.0.0:443", &ss, &len, &loop, cause), 0);
	assert_false(loop);
	assert_int_equal(hl_relay_listen_parse("[::1]:443", &ss, &len, &loop, cause), 0);
	assert_true(loop);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(hl_relay_listen_parse("[::]:443", &ss, &len, &loop, cause), 0);
	assert_false(loop);
	assert_int_equal(hl_relay_listen_parse("1.2.3.4:65536", &ss, &len, &loop, cause),
	    HL_EPARSE);
	assert_int_equal(hl_relay_listen_parse("::1:443", &ss, &len, &loop, cause),
	    HL_EPARSE);

	struct hl_relay_config c;
	int tls = -1;
	hl_relay_config_defaults(&c);
	assert_int_equal(hl_relay_config_check(&c, &tls, cause), HL_ECONFIG);
	assert_non_null(strstr(cause, "no TLS certificate"));
	c.allow_plain_http = 1;
	assert_int_equal(hl_relay_config_check(&c, &tls, cause), 0);
	assert_false(tls);
	snprintf(c.listen, sizeof c.listen, "0.0.0.0:8443");
	assert_int_equal(hl_relay_config_check(&c, &tls, cause), HL_ECONFIG);
	assert_non_null(strstr(cause, "refusing plain HTTP on 0.0.0.0:8443"));
	snprintf(c.tls_cert, sizeof c.tls_cert, "/c.pem");
	assert_int_equal(hl_relay_config_check(&c, &tls, cause), HL_ECONFIG);
	assert_non_null(strstr(cause, "tls_key is missing"));
	snprintf(c.tls_key, sizeof c.tls_key, "/k.pem");
	assert_int_equal(hl_relay_config_check(&c, &tls, cause), 0);
	assert_true(tls);
	snprintf(c.metrics_listen, sizeof c.metrics_listen, "%s", c.listen);
	assert_int_equal(hl_relay_config_check(&c, &tls, cause), HL_ECONFIG);
	assert_non_null(strstr(cause, "metrics_listen is the listen address"));
	snprintf(c.metrics_listen, sizeof c.metrics_listen, "127.0.0.1:9464");
	assert_int_equal(hl_relay_config_check(&c, &tls, cause), 0);
}

struct problems {
	int n;
	char all[4096];
};

static void
collect(void *arg, const char *problem)
{
	struct problems *p = arg;
	p->n++;
	size_t at = strlen(p->all);
	snprintf(p->all + at, sizeof p->all - at, "%s\n", problem);
}

/* load_report() on text written to a temp file: the problems it reported. */
static void
report_of(const char *text, struct problems *p)
{
	char path[] = "/tmp/test_relay_config.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct hl_relay_config c;
	char cause[HL_CAUSE_MAX];
	memset(p, 0, sizeof *p);
	int rc = hl_relay_config_load_report(path, &c, collect, p, cause);
	unlink(path);
	assert_int_equal(rc, HL_ECONFIG);
}

/* Each problem is one line: a key the handler refused is not reported a
 * second time as a syntax error of the same line. */
static void
test_report_once(void **state)
{
	(void)state;
	struct problems p;
	report_of("[server]\nthreads = 2\nbogus_key = 1\n", &p);
	if (p.n != 1 || strstr(p.all, ":3: [server] bogus_key: unknown key") == NULL)
		fail_msg("want one 'unknown key' on line 3, got:\n%s", p.all);
	report_of("[server]\nthreads = 2\nthreads = 3\n", &p);
	if (p.n != 1 || strstr(p.all, ":3: [server] threads: set twice") == NULL)
		fail_msg("want one 'set twice' on line 3, got:\n%s", p.all);
	/* A real syntax error still is one, once, beside a key error. */
	report_of("[server]\nbogus_key = 1\njust words\n", &p);
	if (p.n != 2 || strstr(p.all, ":2: [server] bogus_key: unknown key") == NULL ||
	    strstr(p.all, ":3: syntax error") == NULL)
		fail_msg("want 'unknown key' on 2 and a syntax error on 3, got:\n%s",
		    p.all);
	report_of("[server]\njust words\nbogus_key = 1\n", &p);
	if (p.n != 2 || strstr(p.all, ":2: syntax error") == NULL ||
	    strstr(p.all, ":3: [server] bogus_key: unknown key") == NULL)
		fail_msg("want a syntax error on 2 and 'unknown key' on 3, got:\n%s",
		    p.all);
}

static void
test_default_path(void **state)
{
	(void)state;
	unsetenv(HL_RELAY_CONFIG_ENV);
	assert_string_equal(hl_relay_config_path(), "/etc/hotline/relay.ini");
	setenv(HL_RELAY_CONFIG_ENV, "/tmp/x.ini", 1);
	assert_string_equal(hl_relay_config_path(), "/tmp/x.ini");
	unsetenv(HL_RELAY_CONFIG_ENV);
}

/* The shipped config/relay.ini parses, and every default it shows in a
 * comment is the default the code has. */
static void
test_example_file(void **state)
{
	(void)state;
	struct hl_relay_config c, shown, def;
	char cause[HL_CAUSE_MAX] = "";
	const char *path = "config/relay.ini";
	if (hl_relay_config_load(path, &c, cause) != 0)
		fail_msg("%s", cause);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char text[16384];
	size_t n = 0;
	char line[256];
	while (fgets(line, sizeof line, f) != NULL) {
		const char *l = line;
		/* ";key = value" is a default shown; "; words" is prose. */
		if (line[0] == ';' && line[1] >= 'a' && line[1] <= 'z' &&
		    strstr(line, " = ") != NULL && strncmp(line, ";retention =", 12))
			l = line + 1;
		size_t len = strlen(l);
		assert_true(n + len < sizeof text);
		memcpy(text + n, l, len);
		n += len;
	}
	text[n] = '\0';
	fclose(f);
	if (hl_relay_config_parse(text, "relay.ini", "/etc/hotline", &shown,
	    cause) != 0)
		fail_msg("%s", cause);
	hl_relay_config_defaults(&def);
	assert_string_equal(shown.listen, def.listen);
	assert_string_equal(shown.tls_priorities, def.tls_priorities);
	assert_int_equal(shown.allow_plain_http, def.allow_plain_http);
	assert_int_equal(shown.threads, def.threads);
	assert_int_equal(shown.max_connections, def.max_connections);
	assert_int_equal(shown.max_connections_per_ip, def.max_connections_per_ip);
	assert_int_equal(shown.ipv4_prefix, def.ipv4_prefix);
	assert_int_equal(shown.ipv6_prefix, def.ipv6_prefix);
	assert_int_equal(shown.max_pending_connections,
	    def.max_pending_connections);
	assert_int_equal(shown.header_timeout_ms, def.header_timeout_ms);
	assert_int_equal(shown.connection_memory_kib, def.connection_memory_kib);
	assert_int_equal(shown.connection_timeout_s, def.connection_timeout_s);
	assert_int_equal(shown.max_wait_s, def.max_wait_s);
	assert_int_equal(shown.max_fetch, def.max_fetch);
	assert_int_equal(shown.max_fetch_bytes, def.max_fetch_bytes);
	assert_int_equal(shown.max_fetches_per_account,
	    def.max_fetches_per_account);
	assert_int_equal(shown.metrics, def.metrics);
	assert_string_equal(shown.store_url, def.store_url);
	assert_int_equal(shown.max_message_bytes, def.max_message_bytes);
	assert_int_equal(shown.max_body_bytes, def.max_body_bytes);
	assert_int_equal(shown.max_queue_per_recipient,
	    def.max_queue_per_recipient);
	assert_int_equal(shown.max_queue_per_sender, def.max_queue_per_sender);
	assert_int_equal(shown.rate_per_minute, def.rate_per_minute);
	assert_int_equal(shown.bundle_rate_per_hour, def.bundle_rate_per_hour);
	assert_int_equal(shown.register_rate_per_hour,
	    def.register_rate_per_hour);
	assert_int_equal(shown.max_prekeys_per_upload,
	    def.max_prekeys_per_upload);
	assert_int_equal(shown.max_prekeys_stored, def.max_prekeys_stored);
	assert_int_equal(shown.retention_ms, def.retention_ms);
	assert_int_equal(shown.purge_interval_ms, def.purge_interval_ms);
	/* Every key the code knows is shown: the uncommented file sets them
	 * all, so setting any again is refused as a repeat. */
	static const char *const keys[][2] = {
		{ "server", "listen" }, { "server", "tls_cert" },
		{ "server", "tls_key" }, { "server", "tls_priorities" },
		{ "server", "allow_plain_http" }, { "server", "threads" },
		{ "server", "max_connections" },
		{ "server", "max_connections_per_ip" },
		{ "server", "ipv4_prefix" }, { "server", "ipv6_prefix" },
		{ "server", "max_pending_connections" },
		{ "server", "header_timeout" },
		{ "server", "max_fetches_per_account" },
		{ "server", "connection_memory_kib" },
		{ "server", "connection_timeout" }, { "server", "max_wait" },
		{ "server", "max_fetch" }, { "server", "max_fetch_bytes" },
		{ "server", "metrics" }, { "store", "url" },
		{ "limits", "max_message_bytes" }, { "limits", "max_body_bytes" },
		{ "limits", "max_queue_per_recipient" },
		{ "limits", "max_queue_per_sender" },
		{ "limits", "rate_per_minute" }, { "limits", "bundle_rate_per_hour" },
		{ "limits", "register_rate_per_hour" },
		{ "limits", "max_prekeys_per_upload" },
		{ "limits", "max_prekeys_stored" }, { "limits", "retention_days" },
		{ "limits", "purge_interval" },
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		char more[16384 + 128];
		snprintf(more, sizeof more, "%s[%s]\n%s = 1\n", text, keys[i][0],
		    keys[i][1]);
		cause[0] = '\0';
		assert_int_equal(hl_relay_config_parse(more, "relay.ini", "/",
		    &shown, cause), HL_ECONFIG);
		if (strstr(cause, "set twice") == NULL)
			fail_msg("%s.%s is not in the example: %s", keys[i][0],
			    keys[i][1], cause);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_listen_and_serve_rules),
		cmocka_unit_test(test_report_once),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_example_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
