/*
 * The peer in the same run: a mosquitto broker (the Debian package),
 * started here on a free 127.0.0.1 port with its own configuration and
 * persistence on, carrying 1 KiB messages from one publisher to one
 * subscriber at QoS 1. The publisher keeps WINDOW publishes unacknowledged
 * (as bench_relay's C=32 keeps 32 POSTs in flight); the subscriber
 * acknowledges each delivery. Each payload carries its send time: the
 * latency is publish to delivery in this process.
 *
 * The MQTT 3.1.1 packets are written by hand (CONNECT, SUBSCRIBE,
 * PUBLISH, PUBACK): a few bytes each, so that the load generator is not a
 * library's event loop and costs next to nothing.
 *
 * mosquitto answers PUBACK before anything is on disk: its persistence is
 * a snapshot written every autosave_interval seconds, not a log fsync'd
 * per message.
 *
 *   bench_mosquitto [SECONDS]     (default 3, at most 60)
 *   MOSQUITTO=/path/to/mosquitto  (default /usr/sbin/mosquitto)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/bench/bench_keys.h"
#include "tests/lib/hl_testrelay.h"

#define DEFAULT_SECONDS 3.0
#define PAYLOAD 1024
#define WINDOW 32
#define TOPIC "bench/one"
#define START_MS 5000
#define DRAIN_MS 5000
#define MAX_SAMPLES (4u << 20)

static long long
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static pid_t broker = -1;
static char dir[] = "/tmp/hl-bench-mqtt.XXXXXX";

static void
cleanup(void)
{
	if (broker > 0) {
		kill(broker, SIGTERM);
		waitpid(broker, NULL, 0);
		broker = -1;
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_mosquitto: could not remove %s\n", dir);
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_mosquitto: %s\n", what);
	cleanup();
	exit(1);
}

static void
send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("send to the broker failed");
		p += w;
		n -= (size_t)w;
	}
}

/* A fixed header and MQTT's variable-length remaining length. */
static size_t
header(uint8_t *out, uint8_t type, size_t len)
{
	size_t n = 0;
	out[n++] = type;
	do {
		uint8_t b = len % 128;
		len /= 128;
		out[n++] = (uint8_t)(b | (len > 0 ? 0x80 : 0));
	} while (len > 0);
	return n;
}

static size_t
put_str(uint8_t *out, const char *s)
{
	size_t l = strlen(s);
	out[0] = (uint8_t)(l >> 8);
	out[1] = (uint8_t)l;
	memcpy(out + 2, s, l);
	return l + 2;
}

/* Incoming bytes and the packets cut from them. */
struct conn {
	int fd;
	uint8_t buf[1 << 16];
	size_t len;
};

/* The next complete packet, or 0 when more bytes are needed; *type,
 * *body and *blen describe it until the next call. */
static int
next_packet(struct conn *c, size_t *consumed, uint8_t *type,
    const uint8_t **body, size_t *blen)
{
	size_t off = *consumed;
	if (c->len - off < 2)
		return 0;
	size_t len = 0, mul = 1, i = off + 1;
	for (;;) {
		if (i >= c->len)
			return 0;
		uint8_t b = c->buf[i++];
		len += (b & 127u) * mul;
		mul *= 128;
		if (!(b & 0x80))
			break;
		if (mul > 128u * 128 * 128)
			die("malformed packet from the broker");
	}
	if (c->len - i < len)
		return 0;
	*type = c->buf[off];
	*body = c->buf + i;
	*blen = len;
	*consumed = i + len;
	return 1;
}

static void
conn_fill(struct conn *c, size_t consumed)
{
	memmove(c->buf, c->buf + consumed, c->len - consumed);
	c->len -= consumed;
	if (c->len == sizeof c->buf)
		die("packet larger than the buffer");
	ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
	if (r <= 0)
		die("the broker closed the connection");
	c->len += (size_t)r;
}

/* Connects and waits for CONNACK (and SUBACK for a subscriber). */
static void
mqtt_open(struct conn *c, int port, const char *client, int subscribe)
{
	c->len = 0;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("connect to the broker failed");
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	uint8_t vh[64], pkt[80];
	size_t n = put_str(vh, "MQTT");
	vh[n++] = 4;              /* 3.1.1 */
	vh[n++] = 0x02;           /* clean session */
	vh[n++] = 0;
	vh[n++] = 60;             /* keep-alive, seconds */
	n += put_str(vh + n, client);
	size_t h = header(pkt, 0x10, n);
	memcpy(pkt + h, vh, n);
	send_all(c->fd, pkt, h + n);
	int want_sub = subscribe;
	int connected = 0;
	size_t used = 0;
	while (!connected || want_sub) {
		uint8_t type;
		const uint8_t *body;
		size_t blen;
		if (!next_packet(c, &used, &type, &body, &blen)) {
			conn_fill(c, used);
			used = 0;
			continue;
		}
		if ((type & 0xf0) == 0x20) {
			if (blen < 2 || body[1] != 0)
				die("the broker refused the connection");
			connected = 1;
			if (subscribe) {
				n = 0;
				vh[n++] = 0;
				vh[n++] = 1;     /* packet id */
				n += put_str(vh + n, TOPIC);
				vh[n++] = 1;     /* QoS 1 */
				h = header(pkt, 0x82, n);
				memcpy(pkt + h, vh, n);
				send_all(c->fd, pkt, h + n);
			}
		} else if ((type & 0xf0) == 0x90) {
			if (blen < 3 || body[2] != 1)
				die("the broker did not grant QoS 1");
			want_sub = 0;
		}
	}
	memmove(c->buf, c->buf + used, c->len - used);
	c->len -= used;
}

static void
start_broker(int port)
{
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	char conf[256], line[512];
	snprintf(conf, sizeof conf, "%s/mosquitto.conf", dir);
	FILE *f = fopen(conf, "w");
	if (f == NULL)
		die("cannot write the broker's configuration");
	/* Persistence on, as a durable broker would run; no limits on
	 * in-flight or queued messages so that none is dropped. */
	snprintf(line, sizeof line,
	    "listener %d 127.0.0.1\nallow_anonymous true\n"
	    "persistence true\npersistence_location %s/\n"
	    "max_inflight_messages 0\nmax_queued_messages 0\n"
	    "log_dest stderr\nlog_type error\n", port, dir);
	fputs(line, f);
	/* As root, mosquitto would drop to its own user, which may not write
	 * this folder. */
	if (geteuid() == 0)
		fputs("user root\n", f);
	fclose(f);
	const char *bin = getenv("MOSQUITTO");
	if (bin == NULL)
		bin = "/usr/sbin/mosquitto";
	if (access(bin, X_OK) != 0)
		die("no mosquitto (make deps installs it; or set MOSQUITTO)");
	broker = fork();
	if (broker < 0)
		die("fork");
	if (broker == 0) {
		execl(bin, bin, "-c", conf, (char *)NULL);
		_exit(127);
	}
	long long until = now_us() + START_MS * 1000LL;
	while (now_us() < until) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET,
			.sin_port = htons((uint16_t)port) };
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a,
		    sizeof a) == 0;
		if (fd >= 0)
			close(fd);
		if (ok)
			return;
		usleep(20000);
	}
	die("the broker did not start listening");
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : DEFAULT_SECONDS;
	if (argc > 2 || secs <= 0 || secs > 60) {
		fprintf(stderr, "usage: bench_mosquitto [SECONDS (0..60]]\n");
		return 2;
	}
	int port = hl_test_free_port();
	if (port <= 0)
		die("no free port");
	start_broker(port);
	struct conn *sub = calloc(1, sizeof *sub), *pub = calloc(1, sizeof *pub);
	long long *lat = calloc(MAX_SAMPLES, sizeof *lat);
	if (sub == NULL || pub == NULL || lat == NULL)
		die("out of memory");
	mqtt_open(sub, port, "bench-sub", 1);
	mqtt_open(pub, port, "bench-pub", 0);

	/* One PUBLISH, rewritten for each message: its packet id and the
	 * send time at the start of the payload. */
	uint8_t msg[PAYLOAD + 64];
	size_t vlen = 2 + strlen(TOPIC) + 2 + PAYLOAD;
	size_t h = header(msg, 0x32, vlen);
	size_t off = h + put_str(msg + h, TOPIC);
	size_t id_at = off, pay_at = off + 2, msg_len = pay_at + PAYLOAD;
	for (size_t i = 0; i < PAYLOAD; i++)
		msg[pay_at + i] = (uint8_t)rand();

	long inflight = 0, sent = 0, acked = 0, got = 0, n = 0;
	uint16_t next_id = 1;
	long long t0 = now_us(), end = t0 + (long long)(secs * 1e6);
	long long drain_end = end + DRAIN_MS * 1000LL, t_last = t0;
	size_t pused = 0, sused = 0;
	while (now_us() < drain_end && (now_us() < end || got < sent)) {
		while (now_us() < end && inflight < WINDOW) {
			msg[id_at] = (uint8_t)(next_id >> 8);
			msg[id_at + 1] = (uint8_t)next_id;
			if (++next_id == 0)
				next_id = 1;
			long long t = now_us();
			memcpy(msg + pay_at, &t, sizeof t);
			send_all(pub->fd, msg, msg_len);
			inflight++;
			sent++;
		}
		struct pollfd p[2] = { { pub->fd, POLLIN, 0 },
			{ sub->fd, POLLIN, 0 } };
		if (poll(p, 2, 100) < 0 && errno != EINTR)
			die("poll");
		if (p[0].revents) {
			conn_fill(pub, pused);
			pused = 0;
			uint8_t type;
			const uint8_t *body;
			size_t blen;
			while (next_packet(pub, &pused, &type, &body, &blen))
				if ((type & 0xf0) == 0x40) {
					inflight--;
					acked++;
				}
		}
		if (p[1].revents) {
			conn_fill(sub, sused);
			sused = 0;
			uint8_t type, ack[4] = { 0x40, 2, 0, 0 };
			const uint8_t *body;
			size_t blen;
			uint8_t acks[4 * 256];
			size_t na = 0;
			while (next_packet(sub, &sused, &type, &body, &blen)) {
				if ((type & 0xf0) != 0x30 || blen < 2)
					continue;
				size_t tl = (size_t)body[0] << 8 | body[1];
				if (blen < 2 + tl + 2 + sizeof(long long))
					die("short PUBLISH from the broker");
				long long t;
				memcpy(&t, body + 2 + tl + 2, sizeof t);
				long long at = now_us();
				if (n < (long)MAX_SAMPLES)
					lat[n++] = at - t;
				got++;
				t_last = at;
				ack[2] = body[2 + tl];
				ack[3] = body[2 + tl + 1];
				memcpy(acks + na, ack, 4);
				na += 4;
				if (na == sizeof acks) {
					send_all(sub->fd, acks, na);
					na = 0;
				}
			}
			if (na > 0)
				send_all(sub->fd, acks, na);
		}
	}
	double span = (t_last - t0) / 1e6;
	double rate = span > 0 ? got / span : 0;
	qsort(lat, (size_t)n, sizeof *lat, cmp_ll);
	double p50 = n ? lat[(long)(0.5 * (n - 1))] / 1000.0 : NAN;
	double p99 = n ? lat[(long)(0.99 * (n - 1))] / 1000.0 : NAN;
	double mx = n ? lat[n - 1] / 1000.0 : NAN;
	printf("mosquitto (%s), QoS 1, persistence on, 127.0.0.1:%d; one "
	    "publisher with %d\nunacknowledged PUBLISHes of %d bytes, one "
	    "subscriber acknowledging each, %g s\n\n",
	    getenv("MOSQUITTO") ? getenv("MOSQUITTO") : "/usr/sbin/mosquitto",
	    port, WINDOW, PAYLOAD, secs);
	printf("%-40s %12s\n", "measure", "value");
	printf("%-40s %12.0f\n", "delivered msg/s", rate);
	printf("%-40s %12ld\n", "published / acked / delivered", sent);
	printf("%-40s %12ld\n", "", acked);
	printf("%-40s %12ld\n", "", got);
	printf("%-40s %12.2f\n", "latency p50, ms", p50);
	printf("%-40s %12.2f\n", "latency p99, ms", p99);
	printf("%-40s %12.2f\n", "latency max, ms", mx);
	printf("\nmosquitto answers PUBACK before anything is on disk (its "
	    "persistence is a\nperiodic snapshot); hotline answers 202 only "
	    "after the commit is fsync'd.\n");
	if (got < sent)
		printf("(%ld published messages were not delivered within "
		    "%d ms)\n", sent - got, DRAIN_MS);
	bench_key("mosquitto_qos1_msgs_per_s", rate);
	bench_key("mosquitto_qos1_p99_ms", p99);
	close(pub->fd);
	close(sub->fd);
	free(pub);
	free(sub);
	free(lat);
	cleanup();
	return 0;
}
