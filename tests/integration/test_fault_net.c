/* Network faults: the relay and the clients each in a network namespace
 * made by the test, joined by a veth pair whose two ends drop 20% of the
 * packets and delay each by 500 ms. Real client engines (and `hotline
 * register` processes) exchange messages over TLS through it; every
 * message arrives once and reaches `delivered`.
 *
 * The faults come from tc netem where the kernel has it. Where it does
 * not, the loss comes from iptables (the statistic match, 20% of the
 * packets leaving each end) and the delay from tests/lib/hl_testdelay, a
 * forwarder in the clients' namespace that holds every chunk 500 ms each
 * way before it crosses the lossy link. Needs root (ip netns): else, or
 * with neither netem nor iptables, the test says so once and is skipped.
 * The namespaces are deleted always, at teardown or at exit. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/hl_testclient.h"
#include "tests/lib/hl_testdelay.h"
#include "tests/lib/hl_testfault.h"
#include "tests/lib/hl_testhttp.h"
#include "tests/lib/hl_testrelay.h"

#define MAX_CLIENTS 4
#define RELAY_ADDR "10.231.77.2"
#define CLIENT_ADDR "10.231.77.1"

static char ns_relay[32], ns_clients[32];
static int made;
static int skipped;
static struct hl_test_relay relay;
static pid_t relay_pid;
static struct hl_test_client clients[MAX_CLIENTS];
static struct hl_test_engine eng[MAX_CLIENTS];
static size_t nclients;
static int with_netem;
static struct hl_test_delay *delay;
static char veth_r[16], veth_c[16];

/* Runs argv (no shell) to completion, quietly; 0 when it exited 0. */
static int
run(const char *const *argv)
{
	pid_t pid;
	int status = 0;
	if (hl_test_spawn(argv, NULL, NULL, &pid) != 0 ||
	    hl_test_wait(pid, 30000, &status) != 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void
delete_namespaces(void)
{
	if (!made)
		return;
	const char *a[] = { "ip", "netns", "delete", ns_relay, NULL };
	const char *b[] = { "ip", "netns", "delete", ns_clients, NULL };
	if (run(a) != 0 || run(b) != 0)
		fprintf(stderr, "test_fault_net: deleting the namespaces %s and %s "
		    "failed\n", ns_relay, ns_clients);
	made = 0;
}

/* Namespaces left by an earlier run of this test whose process is gone
 * (one killed before its clean-up ran): named hlf-r<pid> and hlf-c<pid>. */
static void
delete_stale(void)
{
	DIR *d = opendir("/run/netns");
	struct dirent *e;
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *end;
		if (strncmp(e->d_name, "hlf-", 4) != 0 ||
		    (e->d_name[4] != 'r' && e->d_name[4] != 'c'))
			continue;
		long pid = strtol(e->d_name + 5, &end, 10);
		if (*end != '\0' || pid <= 0 || kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH)
			continue;
		const char *argv[] = { "ip", "netns", "delete", e->d_name, NULL };
		run(argv);
	}
	closedir(d);
}

static int
make_namespaces(void)
{
	delete_stale();
	snprintf(ns_relay, sizeof ns_relay, "hlf-r%d", (int)getpid());
	snprintf(ns_clients, sizeof ns_clients, "hlf-c%d", (int)getpid());
	char *vr = veth_r, *vc = veth_c;
	snprintf(veth_r, sizeof veth_r, "hlr%d", (int)getpid() % 100000);
	snprintf(veth_c, sizeof veth_c, "hlc%d", (int)getpid() % 100000);
	const char *add_r[] = { "ip", "netns", "add", ns_relay, NULL };
	if (run(add_r) != 0) {
		fprintf(stderr, "test_fault_net: SKIPPED: cannot create a network "
		    "namespace (needs root with CAP_NET_ADMIN and ip(8))\n");
		return 1;
	}
	made = 1;
	const char *add_c[] = { "ip", "netns", "add", ns_clients, NULL };
	const char *veth[] = { "ip", "-n", ns_relay, "link", "add", vr, "type",
	    "veth", "peer", "name", vc, "netns", ns_clients, NULL };
	const char *addr_r[] = { "ip", "-n", ns_relay, "addr", "add",
	    RELAY_ADDR "/30", "dev", vr, NULL };
	const char *addr_c[] = { "ip", "-n", ns_clients, "addr", "add",
	    CLIENT_ADDR "/30", "dev", vc, NULL };
	const char *up_r[] = { "ip", "-n", ns_relay, "link", "set", vr, "up", NULL };
	const char *up_c[] = { "ip", "-n", ns_clients, "link", "set", vc, "up",
	    NULL };
	const char *lo_r[] = { "ip", "-n", ns_relay, "link", "set", "lo", "up",
	    NULL };
	const char *lo_c[] = { "ip", "-n", ns_clients, "link", "set", "lo", "up",
	    NULL };
	const char *const *steps[] = { add_c, veth, addr_r, addr_c, up_r, up_c,
	    lo_r, lo_c };
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (run(steps[i]) != 0) {
			fprintf(stderr, "test_fault_net: SKIPPED: setting up the "
			    "namespaces failed at step %zu (%s %s %s ...)\n", i,
			    steps[i][0], steps[i][1], steps[i][2]);
			return 1;
		}
	/* Each way: 500 ms and one packet in five lost. */
	const char *tc_r[] = { "ip", "netns", "exec", ns_relay, "tc", "qdisc",
	    "add", "dev", vr, "root", "netem", "delay", "500ms", "loss", "20%",
	    NULL };
	const char *tc_c[] = { "ip", "netns", "exec", ns_clients, "tc", "qdisc",
	    "add", "dev", vc, "root", "netem", "delay", "500ms", "loss", "20%",
	    NULL };
	if (run(tc_r) == 0 && run(tc_c) == 0) {
		with_netem = 1;
		return 0;
	}
	const char *ipt_r[] = { "ip", "netns", "exec", ns_relay, "iptables", "-A",
	    "OUTPUT", "-o", vr, "-m", "statistic", "--mode", "random",
	    "--probability", "0.2", "-j", "DROP", NULL };
	const char *ipt_c[] = { "ip", "netns", "exec", ns_clients, "iptables",
	    "-A", "OUTPUT", "-o", vc, "-m", "statistic", "--mode", "random",
	    "--probability", "0.2", "-j", "DROP", NULL };
	if (run(ipt_r) != 0 || run(ipt_c) != 0) {
		fprintf(stderr, "test_fault_net: SKIPPED: this kernel has no tc "
		    "netem and iptables' statistic match failed: no way to lose "
		    "packets\n");
		return 1;
	}
	fprintf(stderr, "test_fault_net: no tc netem in this kernel: loss by "
	    "iptables, delay by a forwarder\n");
	return 0;
}

/* This process (and what it starts) joins the clients' namespace. */
static int
enter_clients(void)
{
	char path[64];
	snprintf(path, sizeof path, "/run/netns/%s", ns_clients);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc;
}

static int
cert_for_relay(void)
{
	char cert[HL_TEST_DIR + 16], key[HL_TEST_DIR + 16];
	snprintf(cert, sizeof cert, "%s/cert.pem", relay.dir);
	snprintf(key, sizeof key, "%s/key.pem", relay.dir);
	const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
	    "-out", cert, "-days", "2", "-subj", "/CN=" RELAY_ADDR, "-addext",
	    "subjectAltName=IP:" RELAY_ADDR ",IP:127.0.0.1", NULL };
	if (run(argv) != 0)
		return -1;
	chmod(key, 0600);
	snprintf(relay.ca_file, sizeof relay.ca_file, "%s", cert);
	hl_test_relay_set(&relay, "server", "tls_cert", "cert.pem");
	hl_test_relay_set(&relay, "server", "tls_key", "key.pem");
	hl_test_relay_set(&relay, "server", "allow_plain_http", "false");
	return 0;
}

/* serve inside the relay's namespace, on its address; health through
 * the lossy link, within a generous bound. */
static int
start_relay(void)
{
	char listen[64], prog[HL_TEST_PATH];
	relay.port = 8443;
	snprintf(listen, sizeof listen, RELAY_ADDR ":%d", relay.port);
	hl_test_relay_set(&relay, "server", "listen", listen);
	hl_test_relay_set(&relay, "limits", "rate_per_minute", "100000");
	hl_test_relay_set(&relay, "limits", "bundle_rate_per_hour", "100000");
	if (cert_for_relay() != 0 || hl_test_relay_write_config(&relay) != 0)
		return -1;
	snprintf(relay.url, sizeof relay.url, "https://" RELAY_ADDR ":%d",
	    relay.port);
	if (!with_netem) {
		/* The clients reach the relay through the delay forwarder. */
		int port;
		if (hl_test_delay_start(RELAY_ADDR, relay.port, 500, &port,
		    &delay) != 0)
			return -1;
		snprintf(relay.url, sizeof relay.url, "https://127.0.0.1:%d", port);
	}
	const char *argv[] = { "ip", "netns", "exec", ns_relay,
	    hl_test_program("hotline-relay", prog, sizeof prog), "serve", "-c",
	    relay.config, NULL };
	if (hl_test_spawn(argv, NULL, relay.log, &relay_pid) != 0)
		return -1;
	for (long long end = hl_test_now_ms() + 60000; hl_test_now_ms() < end;) {
		struct hl_test_http res;
		struct hl_test_http_opts o = { .ca_file = relay.ca_file, .timeout_s = 10 };
		int ok = hl_test_http(relay.url, "GET", "/v1/health", NULL, NULL, &o,
		    &res) == 0 && res.status == 200;
		hl_test_http_free(&res);
		if (ok)
			return 0;
		hl_test_sleep_ms(300);
	}
	fprintf(stderr, "test_fault_net: the relay never answered (see %s)\n",
	    relay.log);
	return -1;
}

static int
group_setup(void **state)
{
	(void)state;
	hl_fault_seed("fault_net");
	nclients = hl_fault_long() ? 4 : 3;
	if (hl_test_relay_new(&relay) != 0)
		return -1;
	atexit(delete_namespaces);
	int rc = make_namespaces();
	if (rc != 0) {
		skipped = 1;
		return 0;
	}
	if (enter_clients() != 0) {
		fprintf(stderr, "test_fault_net: joining %s: %s\n", ns_clients,
		    strerror(errno));
		return -1;
	}
	if (start_relay() != 0)
		return -1;
	for (size_t i = 0; i < nclients; i++) {
		if (hl_test_client_new(&clients[i]) != 0)
			return -1;
		/* Over this line a TLS handshake can outlast the client's
		 * connect timeout: an officer would try again, with a new code
		 * (here a new handle, as a lost answer may have used the code).
		 * The failed try left an identity bound to its handle in the
		 * profile, so each new handle gets a new profile. */
		int ok = 0;
		for (int attempt = 0; attempt < 5 && !ok; attempt++) {
			char h[32];
			snprintf(h, sizeof h, "net%zu%c.test", i, 'a' + attempt);
			if (attempt > 0) {
				hl_test_client_free(&clients[i]);
				if (hl_test_client_new(&clients[i]) != 0)
					return -1;
			}
			ok = hl_test_client_register(&clients[i], &relay, h, NULL) == 0;
		}
		if (!ok || hl_test_engine_open(&eng[i], &clients[i]) != 0)
			return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < nclients; i++) {
		hl_test_engine_free(&eng[i]);
		hl_test_client_free(&clients[i]);
	}
	if (relay_pid > 0) {
		kill(relay_pid, SIGTERM);
		int status;
		if (hl_test_wait(relay_pid, 15000, &status) != 0) {
			kill(relay_pid, SIGKILL);
			hl_test_wait(relay_pid, 5000, &status);
		}
		relay_pid = 0;
	}
	hl_test_delay_free(delay);
	delay = NULL;
	hl_test_relay_free(&relay);
	delete_namespaces();
	return 0;
}

/* Packets the iptables rule of ns dropped, -1 when unknown. */
static long
dropped_packets(const char *ns)
{
	char out[HL_TEST_DIR + 32], buf[4096];
	snprintf(out, sizeof out, "%s/iptables-%s.txt", relay.dir, ns);
	const char *argv[] = { "ip", "netns", "exec", ns, "iptables", "-L",
	    "OUTPUT", "-v", "-x", "-n", NULL };
	pid_t pid;
	int status = 0;
	if (hl_test_spawn(argv, out, NULL, &pid) != 0 ||
	    hl_test_wait(pid, 30000, &status) != 0 ||
	    hl_test_read_file(out, buf, sizeof buf) != 0)
		return -1;
	char *line = strstr(buf, "DROP");
	if (line == NULL)
		return -1;
	while (line > buf && line[-1] != '\n')
		line--;
	return strtol(line, NULL, 10);
}

static void
test_lossy_slow_network(void **state)
{
	(void)state;
	if (skipped)
		skip();
	long long t0 = hl_test_now_ms();
	long nmessages = hl_fault_long() ? 120 : 24;
	for (long k = 0; k < nmessages; k++) {
		size_t a = (size_t)k % nclients;
		size_t b = (a + 1 + hl_fault_rand((uint32_t)nclients - 1)) % nclients;
		char body[64], id[HL_ID_HEX + 1];
		snprintf(body, sizeof body, "over a bad line %ld", k);
		assert_int_equal(hl_test_engine_send(&eng[a], clients[b].handle, body,
		    id), 0);
	}
	int drained = hl_fault_drain(eng, nclients, hl_test_now_ms() +
	    (hl_fault_long() ? 900000 : 420000));
	struct hl_fault_tally t;
	assert_int_equal(hl_fault_tally(eng, nclients, &t), 0);
	long dropped = -1;
	if (!with_netem) {
		long dr = dropped_packets(ns_relay), dc = dropped_packets(ns_clients);
		if (dr >= 0 && dc >= 0)
			dropped = dr + dc;
	}
	char extra[256];
	snprintf(extra, sizeof extra, "delay=500ms loss=20%% each_way by=%s "
	    "dropped_packets=%ld clients=%zu outbound=%ld seconds=%lld",
	    with_netem ? "netem" : "iptables+forwarder", dropped, nclients,
	    t.outbound, (hl_test_now_ms() - t0) / 1000);
	hl_fault_summary("network", 1, t.accepted, t.delivered, t.lost,
	    t.duplicates, extra);
	assert_int_equal(t.lost, 0);
	assert_int_equal(t.duplicates, 0);
	assert_int_equal(drained, 0);
	assert_int_equal(t.delivered, nmessages);
	/* The loss happened: these figures are not of a clean line. */
	if (!with_netem)
		assert_true(dropped > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lossy_slow_network),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
