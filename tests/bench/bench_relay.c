/*
 * Durable messages per second and end-to-end latency through a real
 * hotline-relay on 127.0.0.1, each figure beside the ceiling it is compared
 * with, measured in the same run on the same machine:
 *
 *   A  raw SQLite group commit on the same disk (WAL, synchronous=FULL),
 *      one row per commit and the relay's own mean commit batch size;
 *   B  a bare libmicrohttpd server in this process, threaded like the
 *      relay, that answers every POST 202 without touching a disk, driven
 *      by the same load generator with the same concurrency;
 *   and for latency, the relay's own POST round trip at the same load.
 *   Beside the relay on SQLite, the same load on a second relay whose
 *   store is PostgreSQL (a throwaway cluster on the same disk, fsync on).
 *
 *   bench_relay [SECONDS_PER_ROW]     (default 3, at most 60)
 */
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "crypto/hl_db.h"
#include "crypto/hl_err.h"
#include "tests/lib/hl_testapi.h"
#include "tests/lib/hl_testhttp.h"
#include "tests/lib/hl_testpg.h"
#include "tests/lib/hl_testrelay.h"
#include "tests/bench/bench_keys.h"
#include "tests/bench/store_fill.h"

#define DEFAULT_SECONDS 3.0
#define SLICE_SECONDS 1.0       /* rows alternate measures in slices */
#define HTTP_THREADS 4          /* the relay's default pool, and B's */
#define BODY_BYTES 1024         /* ciphertext per message, decoded */
#define POST_MAX 1700           /* the JSON of one message */
#define ROW_BLOB 1434           /* A's row: 1.4 KiB, the size of a POST */
#define NSENDERS 32
#define NRCPTS 4
#define DRAIN_US 5000000LL      /* wait for in-flight work after a row */
#define GRACE_US 5000000LL      /* wait for late deliveries after sending */
#define REQUEST_TIMEOUT_MS 15000L
#define LONG_POLL_S 30
#define LAT_SLOTS 256           /* POSTs in flight at once, open loop */
#define FETCH_CAP (16u << 20)

static const int concurrency[] = { 1, 8, 32, 128 };
#define NCONC (sizeof concurrency / sizeof concurrency[0])
static const int latency_rates[] = { 100, 1000, 5000 };
#define NRATES (sizeof latency_rates / sizeof latency_rates[0])

static long long
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_relay: %s\n", what);
	exit(1);
}

static size_t
discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/* One POST /v1/messages body: a fresh random 1 KiB ciphertext under the
 * given id. Returns its length. */
static size_t
make_message(char *out, size_t len, const char *to, const char *id)
{
	unsigned char raw[BODY_BYTES];
	char b64[sodium_base64_ENCODED_LEN(BODY_BYTES,
	    sodium_base64_VARIANT_ORIGINAL)];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(b64, sizeof b64, raw, sizeof raw,
	    sodium_base64_VARIANT_ORIGINAL);
	int n = snprintf(out, len, "{\"to\":\"%s\",\"id\":\"%s\",\"type\":2,"
	    "\"body\":\"%s\"}", to, id, b64);
	if (n < 0 || (size_t)n >= len)
		die("message body does not fit");
	return (size_t)n;
}

static struct curl_slist *
post_headers(const char *token)
{
	char auth[128];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	struct curl_slist *h = curl_slist_append(NULL, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	/* As the client does: no 100-continue round trip before a body. */
	h = curl_slist_append(h, "Expect:");
	if (h == NULL)
		die("out of memory");
	return h;
}

/* --- the load generator: C senders on keep-alive connections, one
 * libcurl multi handle in this thread, each sender POSTing again as soon
 * as its answer arrives --- */

struct load {
	const char *base_url;
	const struct hl_test_account *senders;     /* NSENDERS */
	const struct hl_test_account *rcpts;       /* NRCPTS */
	int c;
	double seconds;
};

/* Summed over the slices of a row. */
struct load_result {
	long accepted;          /* 202 answers within the windows */
	long refused;           /* any other status */
	long failed;            /* no answer */
	long last_bad_status;
	double seconds;         /* the windows */
};

struct load_slot {
	CURL *easy;
	struct curl_slist *headers;
	char json[POST_MAX];
	unsigned long sent;
	int index;
};

static void
load_slot_post(CURLM *m, struct load_slot *s, const struct load *ld)
{
	char id[33];
	hl_test_api_id(id);
	const char *to = ld->rcpts[(s->index + s->sent++) % NRCPTS].handle;
	size_t n = make_message(s->json, sizeof s->json, to, id);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)n);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->json);
	if (curl_multi_add_handle(m, s->easy) != CURLM_OK)
		die("curl_multi_add_handle");
}

/* Runs the load for ld->seconds and adds what it got to *out. */
static void
run_load(const struct load *ld, struct load_result *out)
{
	char url[256];
	snprintf(url, sizeof url, "%s/v1/messages", ld->base_url);
	CURLM *m = curl_multi_init();
	struct load_slot *slots = calloc((size_t)ld->c, sizeof *slots);
	if (m == NULL || slots == NULL)
		die("out of memory");
	for (int i = 0; i < ld->c; i++) {
		struct load_slot *s = &slots[i];
		s->index = i;
		s->easy = curl_easy_init();
		if (s->easy == NULL)
			die("curl_easy_init");
		s->headers = post_headers(ld->senders[i % NSENDERS].token);
		curl_easy_setopt(s->easy, CURLOPT_URL, url);
		curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
		curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS,
		    REQUEST_TIMEOUT_MS);
		curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	}
	long long t0 = now_us();
	long long end = t0 + (long long)(ld->seconds * 1e6);
	for (int i = 0; i < ld->c; i++)
		load_slot_post(m, &slots[i], ld);
	/* After the window, answers still in flight are waited for (and not
	 * counted) so the relay's commits are all done when the row ends. */
	int running = ld->c;
	while (running > 0 && now_us() < end + DRAIN_US) {
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			char *priv = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    &priv);
			struct load_slot *s = (void *)priv;
			CURLcode cc = msg->data.result;
			long status = 0;
			curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE,
			    &status);
			curl_multi_remove_handle(m, s->easy);
			long long t = now_us();
			if (t < end) {
				if (cc != CURLE_OK)
					out->failed++;
				else if (status == 202)
					out->accepted++;
				else {
					out->refused++;
					out->last_bad_status = status;
				}
				load_slot_post(m, s, ld);
				running++;
			}
		}
		if (running > 0)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	for (int i = 0; i < ld->c; i++) {
		curl_multi_remove_handle(m, slots[i].easy);
		curl_easy_cleanup(slots[i].easy);
		curl_slist_free_all(slots[i].headers);
	}
	curl_multi_cleanup(m);
	free(slots);
	out->seconds += ld->seconds;
}

/* --- ceiling B: a bare libmicrohttpd server, threaded as the relay is,
 * that reads each body and answers 202 with a small JSON body --- */

static int bare_marker;

static enum MHD_Result
bare_answer(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **ctx)
{
	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	if (*ctx == NULL) {
		*ctx = &bare_marker;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	char id[33], body[96];
	hl_test_api_id(id);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int n = snprintf(body, sizeof body, "{\"id\":\"%s\",\"accepted\":%lld}",
	    id, (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	struct MHD_Response *res = MHD_create_response_from_buffer((size_t)n,
	    body, MHD_RESPMEM_MUST_COPY);
	if (res == NULL)
		return MHD_NO;
	MHD_add_response_header(res, "Content-Type", "application/json");
	enum MHD_Result rc = MHD_queue_response(conn, 202, res);
	MHD_destroy_response(res);
	return rc;
}

static struct MHD_Daemon *
bare_start(char *url, size_t len)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL,
	    bare_answer, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)HTTP_THREADS,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    MHD_OPTION_END);
	if (d == NULL)
		die("cannot start the bare libmicrohttpd server");
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d,
	    MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL || info->port == 0)
		die("no port for the bare libmicrohttpd server");
	snprintf(url, len, "http://127.0.0.1:%u", (unsigned)info->port);
	return d;
}

/* --- ceiling A: SQLite group commit on the same disk --- */

/* One database for the whole run, beside the relay's, growing as the
 * relay's does. */
struct ceiling_db {
	char path[HL_TEST_PATH + 32];
	sqlite3 *db;
	sqlite3_stmt *ins;
	long long rows;
};

/* A's tally at one batch size, summed over slices. */
struct tally {
	double rows, us;
};

static void
ceiling_open(struct ceiling_db *c, const char *dir)
{
	char cause[HL_CAUSE_MAX];
	memset(c, 0, sizeof *c);
	snprintf(c->path, sizeof c->path, "%s/ceiling.db", dir);
	if (hl_db_open(c->path, 1, &c->db, cause) != 0)
		die(cause);
	if (hl_db_exec(c->db, "CREATE TABLE q (qid INTEGER PRIMARY KEY "
	    "AUTOINCREMENT, sender INTEGER NOT NULL, recipient INTEGER "
	    "NOT NULL, body BLOB NOT NULL)", cause) != 0)
		die(cause);
	if (sqlite3_prepare_v2(c->db, "INSERT INTO q (sender, recipient, body) "
	    "VALUES (?, ?, ?)", -1, &c->ins, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(c->db));
}

static void
ceiling_close(struct ceiling_db *c)
{
	sqlite3_finalize(c->ins);
	hl_db_close(c->db);
	static const char *const suffix[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		char p[sizeof c->path + 8];
		snprintf(p, sizeof p, "%s%s", c->path, suffix[i]);
		unlink(p);
	}
}

/* Inserts rows for `seconds`, committing `batch` rows per transaction on
 * average (a fractional batch alternates the two nearest sizes so that
 * the mean matches), and adds the rows and the time taken to *t. */
static void
ceiling_run(struct ceiling_db *c, double batch, double seconds,
    struct tally *t)
{
	unsigned char blob[ROW_BLOB];
	long long rows = 0, commits = 0;
	long long t0 = now_us(), end = t0 + (long long)(seconds * 1e6), now;
	do {
		long long want = llround((double)(commits + 1) * batch) - rows;
		if (want < 1)
			want = 1;
		if (hl_db_begin(c->db) != 0)
			die("BEGIN");
		for (long long i = 0; i < want; i++) {
			long long k = c->rows + rows + i;
			randombytes_buf(blob, sizeof blob);
			sqlite3_bind_int64(c->ins, 1, k % NSENDERS + 1);
			sqlite3_bind_int64(c->ins, 2, k % NRCPTS + 1);
			sqlite3_bind_blob(c->ins, 3, blob, sizeof blob,
			    SQLITE_STATIC);
			if (sqlite3_step(c->ins) != SQLITE_DONE)
				die(sqlite3_errmsg(c->db));
			sqlite3_reset(c->ins);
		}
		if (hl_db_commit(c->db) != 0)
			die("COMMIT");
		rows += want;
		commits++;
		now = now_us();
	} while (now < end);
	c->rows += rows;
	t->rows += (double)rows;
	t->us += (double)(now - t0);
}

/* The load generator checked: wrk (when on PATH) against the bare server
 * at concurrency c for `seconds`, the same POST body. Requests per second,
 * or -1 when wrk is absent or its answer is unreadable. */
static double
wrk_check(const char *dir, int c, double seconds)
{
	char script[512], body[POST_MAX], cmd[1400], line[256], url[64];
	snprintf(script, sizeof script, "%s/post.lua", dir);
	FILE *f = fopen(script, "w");
	if (f == NULL)
		return -1;
	make_message(body, sizeof body, "rcpt1.bench",
	    "00000000000000000000000000000001");
	fprintf(f, "wrk.method = \"POST\"\nwrk.body = '%s'\n"
	    "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
	    "wrk.headers[\"Authorization\"] = \"Bearer 00\"\n", body);
	fclose(f);
	struct MHD_Daemon *d = bare_start(url, sizeof url);
	snprintf(cmd, sizeof cmd, "wrk -t1 -c%d -d%ds -s '%s' "
	    "%s/v1/messages 2>/dev/null", c,
	    (int)(seconds < 1 ? 1 : seconds + 0.5), script, url);
	double rps = -1;
	FILE *p = popen(cmd, "r");
	while (p != NULL && fgets(line, sizeof line, p) != NULL)
		if (strncmp(line, "Requests/sec:", 13) == 0)
			rps = strtod(line + 13, NULL);
	if (p != NULL)
		pclose(p);
	MHD_stop_daemon(d);
	unlink(script);
	return rps;
}

/* --- ceiling C: the relay's own store (schema, statements, batch
 * rules) driven through relay/store.h from this thread, as the writer
 * drives it, with no HTTP: a store of its own in the same folder --- */

struct ceiling_store {
	struct hl_store *st;
	int64_t senders[NSENDERS];
	char path[512];
	long long n;
};

static void
store_ceiling_open(struct ceiling_store *c, const char *dir)
{
	char url[600], cause[256] = "", handle[64];
	snprintf(c->path, sizeof c->path, "%s/ceiling-store.db", dir);
	snprintf(url, sizeof url, "sqlite:%s", c->path);
	if (hl_store_open(url, 1, 1, &c->st, cause) != 0)
		die(cause);
	for (int i = 0; i < NSENDERS + NRCPTS; i++) {
		int64_t id;
		if (i < NSENDERS)
			snprintf(handle, sizeof handle, "send%02d.bench", i + 1);
		else
			snprintf(handle, sizeof handle, "rcpt%d.bench",
			    i - NSENDERS + 1);
		if (store_fill_account(c->st, handle, &id, NULL, cause) != 0)
			die(cause);
		if (i < NSENDERS)
			c->senders[i] = id;
	}
	c->n = 0;
}

static void
store_ceiling_close(struct ceiling_store *c)
{
	hl_store_close(c->st);
	static const char *const suffix[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		char p[sizeof c->path + 8];
		snprintf(p, sizeof p, "%s%s", c->path, suffix[i]);
		unlink(p);
	}
}

/* As ceiling_run, through the store: batch_begin, queue_message for each
 * message of BODY_BYTES random bytes, batch_commit. */
static void
store_ceiling_run(struct ceiling_store *c, double batch, double seconds,
    struct tally *t)
{
	uint8_t body[BODY_BYTES];
	char cause[256] = "", from[64], to[64];
	long long rows = 0, commits = 0;
	long long t0 = now_us(), end = t0 + (long long)(seconds * 1e6), now;
	do {
		long long want = llround((double)(commits + 1) * batch) - rows;
		if (want < 1)
			want = 1;
		if (c->st->ops->batch_begin(c->st, cause) != 0)
			die(cause);
		for (long long i = 0; i < want; i++) {
			long long k = c->n + rows + i;
			randombytes_buf(body, sizeof body);
			snprintf(from, sizeof from, "send%02lld.bench",
			    k % NSENDERS + 1);
			snprintf(to, sizeof to, "rcpt%lld.bench", k % NRCPTS + 1);
			if (store_fill_message(c->st, c->senders[k % NSENDERS],
			    from, to, body, sizeof body, cause) != 0)
				die(cause);
		}
		if (c->st->ops->batch_commit(c->st, cause) != 0)
			die(cause);
		rows += want;
		commits++;
		now = now_us();
	} while (now < end);
	c->n += rows;
	t->rows += (double)rows;
	t->us += (double)(now - t0);
}

/* --- the relay's commit batch sizes, from /metrics --- */

struct batches {
	double sum, count;
};

static double
metric(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	die("a metric is missing from /metrics");
	return 0;
}

static void
read_batches(struct hl_test_relay *r, struct batches *b)
{
	struct hl_test_http res;
	if (hl_test_api(r, "GET", "/metrics", NULL, NULL, &res) != 0 ||
	    res.status != 200 || res.body == NULL)
		die("GET /metrics failed");
	b->sum = metric(res.body, "hotline_commit_batch_size_sum");
	b->count = metric(res.body, "hotline_commit_batch_size_count");
	hl_test_http_free(&res);
}

/* --- latency: one sender at a fixed rate, the recipient in a long-poll
 * that is re-issued as soon as it answers and its items are acked --- */

struct grow {
	char *p;
	size_t len, cap;
};

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
	struct grow *g = arg;
	size_t add = size * n;
	if (g->len + add + 1 > FETCH_CAP)
		return 0;
	if (g->len + add + 1 > g->cap) {
		size_t cap = g->cap ? g->cap : 65536;
		while (cap < g->len + add + 1)
			cap *= 2;
		char *p = realloc(g->p, cap);
		if (p == NULL)
			return 0;
		g->p = p;
		g->cap = cap;
	}
	memcpy(g->p + g->len, data, add);
	g->len += add;
	g->p[g->len] = '\0';
	return add;
}

struct lat_slot {
	CURL *easy;
	char json[POST_MAX];
	long seq;                /* -1 when free */
};

/* One rate's figures, summed over its slices (microseconds). */
struct latency {
	int rate;
	size_t cap;              /* room in each array */
	long total, sent, accepted, delivered, errors, paired;
	long long *post_us;      /* per accepted POST */
	long long *e2e_us;       /* per delivered message */
	long long *wake_us;      /* per delivered message: e2e minus the
	                          * round trip of its own POST */
};

static void
latency_init(struct latency *lat, int rate, double seconds, int slices)
{
	memset(lat, 0, sizeof *lat);
	lat->rate = rate;
	lat->cap = (size_t)ceil(rate * seconds) + (size_t)slices;
	lat->post_us = calloc(lat->cap, sizeof *lat->post_us);
	lat->e2e_us = calloc(lat->cap, sizeof *lat->e2e_us);
	lat->wake_us = calloc(lat->cap, sizeof *lat->wake_us);
	if (!lat->post_us || !lat->e2e_us || !lat->wake_us)
		die("out of memory");
}

static void
latency_free(struct latency *lat)
{
	free(lat->post_us);
	free(lat->e2e_us);
	free(lat->wake_us);
}

struct lat_run {
	CURLM *m;
	struct latency *lat;
	long n;                  /* messages measured in this slice */
	char prefix[17];         /* ids are prefix + 16 hex of the sequence */
	long long *start_us;     /* per sequence, n + 1 (the last closes) */
	long long *post_by_seq, *e2e_by_seq;      /* -1: none yet */
	struct lat_slot slots[LAT_SLOTS];
	struct curl_slist *send_headers, *recv_headers;
	CURL *fetch, *ack;
	struct grow fetched;
	char *ack_body;
	int fetch_busy, ack_busy, closing;
	long long fetch_not_before;
};

static CURL *
lat_easy(const char *url, struct curl_slist *headers, long timeout_ms)
{
	CURL *e = curl_easy_init();
	if (e == NULL)
		die("curl_easy_init");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	return e;
}

static void
lat_fetch(struct lat_run *lr)
{
	lr->fetched.len = 0;
	if (curl_multi_add_handle(lr->m, lr->fetch) != CURLM_OK)
		die("curl_multi_add_handle");
	lr->fetch_busy = 1;
}

static int
lat_send(struct lat_run *lr, const char *to, long seq)
{
	struct lat_slot *s = NULL;
	for (size_t i = 0; i < LAT_SLOTS && s == NULL; i++)
		if (lr->slots[i].seq < 0)
			s = &lr->slots[i];
	if (s == NULL)
		return -1;
	char id[33];
	snprintf(id, sizeof id, "%s%016lx", lr->prefix, (unsigned long)seq);
	size_t len = make_message(s->json, sizeof s->json, to, id);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->json);
	s->seq = seq;
	lr->start_us[seq] = now_us();
	if (curl_multi_add_handle(lr->m, s->easy) != CURLM_OK)
		die("curl_multi_add_handle");
	if (seq < lr->n)
		lr->lat->sent++;
	return 0;
}

/* The sequence number in one of our ids (n for the closing message), or
 * -1. */
static long
lat_seq(const struct lat_run *lr, const char *id)
{
	if (id == NULL || strlen(id) != 32 || strncmp(id, lr->prefix, 16) != 0)
		return -1;
	char *end;
	unsigned long v = strtoul(id + 16, &end, 16);
	if (*end != '\0' || v > (unsigned long)lr->n)
		return -1;
	return (long)v;
}

/* A fetch answered at time t: records the latency of every message seen
 * for the first time and acks everything it holds (the next fetch goes
 * out once the ack is answered, else it would get the same items). */
static void
lat_fetched(struct lat_run *lr, long status, long long t)
{
	struct latency *lat = lr->lat;
	json_t *j = status == 200 && lr->fetched.p != NULL ?
	    json_loadb(lr->fetched.p, lr->fetched.len, 0, NULL) : NULL;
	json_t *items = json_object_get(j, "messages");
	if (j == NULL || !json_is_array(items)) {
		lat->errors++;
		lr->fetch_not_before = t + 100000;
		json_decref(j);
		return;
	}
	json_t *qids = json_array();
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		json_array_append(qids, json_object_get(it, "qid"));
		long seq = lat_seq(lr, json_string_value(json_object_get(it,
		    "id")));
		if (seq >= 0 && seq < lr->n && lr->e2e_by_seq[seq] < 0) {
			lr->e2e_by_seq[seq] = t - lr->start_us[seq];
			lat->e2e_us[lat->delivered++] = lr->e2e_by_seq[seq];
		}
	}
	if (json_array_size(qids) > 0) {
		json_t *body = json_pack("{s:o}", "qids", qids);
		free(lr->ack_body);
		lr->ack_body = body ? json_dumps(body, JSON_COMPACT) : NULL;
		json_decref(body);
		if (lr->ack_body == NULL)
			die("out of memory");
		curl_easy_setopt(lr->ack, CURLOPT_POSTFIELDS, lr->ack_body);
		if (curl_multi_add_handle(lr->m, lr->ack) != CURLM_OK)
			die("curl_multi_add_handle");
		lr->ack_busy = 1;
	} else {
		json_decref(qids);
	}
	json_decref(j);
}

/* A transfer finished; t is when this turn of the loop saw it, the same
 * time for every answer that arrived together. */
static void
lat_done(struct lat_run *lr, CURLMsg *msg, long long t)
{
	struct latency *lat = lr->lat;
	CURL *e = msg->easy_handle;
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (msg->data.result != CURLE_OK)
		status = 0;
	curl_multi_remove_handle(lr->m, e);
	if (e == lr->fetch) {
		lr->fetch_busy = 0;
		lat_fetched(lr, status, t);
		if (!lr->closing && !lr->ack_busy && lr->fetch_not_before <= t)
			lat_fetch(lr);
		return;
	}
	if (e == lr->ack) {
		lr->ack_busy = 0;
		if (status != 200) {
			lat->errors++;
			lr->fetch_not_before = t + 100000;
		} else if (!lr->closing) {
			lat_fetch(lr);
		}
		return;
	}
	for (size_t i = 0; i < LAT_SLOTS; i++) {
		struct lat_slot *s = &lr->slots[i];
		if (s->easy != e)
			continue;
		if (s->seq < lr->n && status == 202) {
			lr->post_by_seq[s->seq] = t - lr->start_us[s->seq];
			lat->post_us[lat->accepted++] = lr->post_by_seq[s->seq];
		} else if (status != 202) {
			lat->errors++;
		}
		s->seq = -1;
	}
}

static int
lat_posts_busy(const struct lat_run *lr)
{
	for (size_t i = 0; i < LAT_SLOTS; i++)
		if (lr->slots[i].seq >= 0)
			return 1;
	return 0;
}

/* One slice: from POSTs `rate` messages a second to `to` for `seconds`,
 * open loop (each on schedule, whether or not earlier ones are answered).
 * With a receiver (the account of `to`), a long-poll is held meanwhile and
 * each message's end-to-end latency is recorded; the slice ends with one
 * more message, not counted, that answers the last long-poll so none is
 * left held in the relay. Without a receiver, only the POSTs' round trips
 * are recorded. Adds to *lat. */
static void
run_latency(struct hl_test_relay *r, const struct hl_test_account *from,
    const char *to, const struct hl_test_account *receiver, double seconds,
    struct latency *lat)
{
	struct lat_run lr;
	memset(&lr, 0, sizeof lr);
	lr.lat = lat;
	lr.n = (long)ceil(lat->rate * seconds);
	if ((size_t)(lat->total + lr.n) > lat->cap)
		die("latency arrays too small");
	lat->total += lr.n;
	size_t n = (size_t)lr.n + 1;
	lr.m = curl_multi_init();
	lr.start_us = calloc(n, sizeof *lr.start_us);
	lr.post_by_seq = calloc(n, sizeof *lr.post_by_seq);
	lr.e2e_by_seq = calloc(n, sizeof *lr.e2e_by_seq);
	if (lr.m == NULL || !lr.start_us || !lr.post_by_seq || !lr.e2e_by_seq)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		lr.post_by_seq[i] = lr.e2e_by_seq[i] = -1;
	unsigned char raw[8];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(lr.prefix, sizeof lr.prefix, raw, sizeof raw);

	char send_url[256], fetch_url[256], ack_url[256];
	snprintf(send_url, sizeof send_url, "%s/v1/messages", r->url);
	snprintf(fetch_url, sizeof fetch_url, "%s/v1/messages?wait=%d", r->url,
	    LONG_POLL_S);
	snprintf(ack_url, sizeof ack_url, "%s/v1/messages/ack", r->url);
	lr.send_headers = post_headers(from->token);
	for (size_t i = 0; i < LAT_SLOTS; i++) {
		lr.slots[i].seq = -1;
		lr.slots[i].easy = lat_easy(send_url, lr.send_headers,
		    REQUEST_TIMEOUT_MS);
	}
	if (receiver != NULL) {
		lr.recv_headers = post_headers(receiver->token);
		lr.fetch = lat_easy(fetch_url, lr.recv_headers,
		    (LONG_POLL_S + 10) * 1000L);
		curl_easy_setopt(lr.fetch, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(lr.fetch, CURLOPT_WRITEDATA, &lr.fetched);
		lr.ack = lat_easy(ack_url, lr.recv_headers,
		    REQUEST_TIMEOUT_MS);
		/* The long-poll goes out first and is held by the relay
		 * before the first message is sent. */
		lat_fetch(&lr);
	}
	long long t0 = now_us() + 300000;
	long long stop = t0 + (long long)(seconds * 1e6) + GRACE_US;
	long next = 0;
	int running = 1;
	for (;;) {
		long long t = now_us();
		if (t >= stop)
			break;
		while (next < lr.n && t >= t0 + next * 1000000LL / lat->rate &&
		    lat_send(&lr, to, next) == 0)
			next++;
		if (receiver != NULL && !lr.closing && !lr.fetch_busy &&
		    !lr.ack_busy && t >= lr.fetch_not_before)
			lat_fetch(&lr);
		curl_multi_perform(lr.m, &running);
		long long seen = now_us();
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(lr.m, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE)
				lat_done(&lr, msg, seen);
		int idle = next == lr.n && !lat_posts_busy(&lr);
		if (idle && receiver == NULL)
			break;
		if (idle && !lr.closing) {
			long got = 0;
			for (long i = 0; i < lr.n; i++)
				got += lr.e2e_by_seq[i] >= 0 ||
				    lr.post_by_seq[i] < 0;
			if (got == lr.n) {
				lr.closing = 1;
				if (lr.fetch_busy)
					lat_send(&lr, to, lr.n);
			}
		}
		if (lr.closing && !lr.fetch_busy && !lr.ack_busy &&
		    !lat_posts_busy(&lr))
			break;
		t = now_us();
		long long wake = next < lr.n ? t0 + next * 1000000LL /
		    lat->rate : stop;
		if (receiver != NULL && !lr.fetch_busy && !lr.ack_busy &&
		    lr.fetch_not_before > t && lr.fetch_not_before < wake)
			wake = lr.fetch_not_before;
		long long wait_ms = (wake - t + 999) / 1000;
		if (wait_ms > 100)
			wait_ms = 100;
		if (wait_ms > 0)
			curl_multi_poll(lr.m, NULL, 0, (int)wait_ms, NULL);
	}
	for (size_t i = 0; i < LAT_SLOTS; i++) {
		curl_multi_remove_handle(lr.m, lr.slots[i].easy);
		curl_easy_cleanup(lr.slots[i].easy);
	}
	if (receiver != NULL) {
		curl_multi_remove_handle(lr.m, lr.fetch);
		curl_multi_remove_handle(lr.m, lr.ack);
		curl_easy_cleanup(lr.fetch);
		curl_easy_cleanup(lr.ack);
	}
	curl_multi_cleanup(lr.m);
	curl_slist_free_all(lr.send_headers);
	curl_slist_free_all(lr.recv_headers);
	free(lr.fetched.p);
	free(lr.ack_body);
	for (long i = 0; i < lr.n; i++)
		if (lr.post_by_seq[i] >= 0 && lr.e2e_by_seq[i] >= 0)
			lat->wake_us[lat->paired++] = lr.e2e_by_seq[i] -
			    lr.post_by_seq[i];
	free(lr.post_by_seq);
	free(lr.e2e_by_seq);
	free(lr.start_us);
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile q (0..1] of n sorted values, in milliseconds. */
static double
pct_ms(const long long *v, long n, double q)
{
	if (n <= 0)
		return NAN;
	long k = (long)ceil(q * (double)n) - 1;
	if (k < 0)
		k = 0;
	if (k >= n)
		k = n - 1;
	return (double)v[k] / 1000.0;
}

/* --- setup --- */

static const char *
fs_name(const char *path)
{
	static const struct { long magic; const char *name; } known[] = {
		{ 0xEF53, "ext2/3/4" }, { 0x01021994, "tmpfs (fsync is free)" },
		{ 0x58465342, "xfs" }, { 0x9123683E, "btrfs" },
		{ 0x794C7630, "overlayfs" }, { 0x2FC12FC1, "zfs" },
	};
	struct statfs sf;
	if (statfs(path, &sf) != 0)
		return "unknown";
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if ((long)sf.f_type == known[i].magic)
			return known[i].name;
	return "other";
}

static void
make_account(struct hl_test_relay *r, const char *handle,
    struct hl_test_account *out)
{
	if (hl_test_relay_account(r, handle, 1, out) != 0)
		die("cannot create an account");
	/* An account's first authenticated request is itself a write; make
	 * it now so that no row counts it. */
	struct hl_test_http res;
	if (hl_test_api(r, "GET", "/v1/keys", NULL, out->token, &res) != 0 ||
	    res.status != 200)
		die("GET /v1/keys failed");
	hl_test_http_free(&res);
}

static void
start_relay(struct hl_test_relay *r, const char *store_url)
{
	char threads[16];
	snprintf(threads, sizeof threads, "%d", HTTP_THREADS);
	if (hl_test_relay_new(r) != 0)
		die("cannot set up a relay (is hotline-relay built?)");
	/* Defaults, except the limits one sender or one client address would
	 * hit long before the relay's own capacity: every sender here is on
	 * 127.0.0.1, and nothing is fetched during the throughput rows. */
	hl_test_relay_set(r, "server", "threads", threads);
	hl_test_relay_set(r, "server", "metrics", "true");
	hl_test_relay_set(r, "server", "max_wait", "60s");
	hl_test_relay_set(r, "server", "max_connections_per_ip", "1000");
	hl_test_relay_set(r, "limits", "rate_per_minute", "1000000");
	hl_test_relay_set(r, "limits", "max_queue_per_recipient", "10000000");
	hl_test_relay_set(r, "limits", "max_queue_per_sender", "10000000");
	if (store_url != NULL) {
		static const char *const init[] = { "init", NULL };
		char err[1024];
		hl_test_relay_set(r, "store", "url", store_url);
		if (hl_test_relay_write_config(r) != 0 ||
		    hl_test_relay_cmd(r, NULL, 0, err, sizeof err, init) != 0)
			die("cannot initialise the PostgreSQL store");
	}
	if (hl_test_relay_start(r) != 0)
		die("cannot start the relay");
}

/* --- the run --- */

/* One concurrency: every measure summed over interleaved slices. */
struct row {
	int c;
	struct load_result relay, bare;
	struct load_result pg;           /* the relay on PostgreSQL */
	struct batches batches;          /* the relay's commits, this row */
	struct tally sqlite_at_batch;    /* A at the running mean batch */
	struct tally sqlite_one;         /* A at 1 row/commit (first row) */
	struct tally store_at_batch;     /* C at the running mean batch */
};

static double
mean_batch(const struct row *w)
{
	return w->batches.sum / w->batches.count;
}

static void
print_throughput(const struct row *rows, double wrk32)
{
	printf("durable messages per second: POST /v1/messages, 1 KiB random "
	    "bodies, C senders\non keep-alive connections, each posting again "
	    "on its answer; 202 = committed\n\n");
	printf("%-40s %10s %10s %6s  %s\n", "measure", "hotline/s",
	    "ceiling/s", "ratio", "ceiling");
	for (size_t i = 0; i < NCONC; i++) {
		const struct row *w = &rows[i];
		double rate = (double)w->relay.accepted / w->relay.seconds;
		double bare = (double)w->bare.accepted / w->bare.seconds;
		const struct tally *t = &w->sqlite_at_batch;
		double a = t->rows * 1e6 / t->us;
		char what[64], ceil_a[48], ceil_b[48];
		snprintf(what, sizeof what, "C=%-2d  mean commit batch %6.2f",
		    w->c, mean_batch(w));
		snprintf(ceil_a, sizeof ceil_a, "A: SQLite, %.2f rows/commit",
		    mean_batch(w));
		snprintf(ceil_b, sizeof ceil_b, "B: bare MHD, C=%d", w->c);
		printf("%-40s %10.0f %10.0f %5.0f%%  %s\n", what, rate, a,
		    100 * rate / a, ceil_a);
		printf("%-40s %10.0f %10.0f %5.0f%%  %s\n", "", rate, bare,
		    100 * rate / bare, ceil_b);
		const struct tally *ts = &w->store_at_batch;
		double cs = ts->rows * 1e6 / ts->us;
		char ceil_c[48];
		snprintf(ceil_c, sizeof ceil_c, "C: relay store, %.2f msgs/commit",
		    mean_batch(w));
		printf("%-40s %10.0f %10.0f %5.0f%%  %s\n", "", rate, cs,
		    100 * rate / cs, ceil_c);
		if (w->pg.seconds > 0) {
			double pg = (double)w->pg.accepted / w->pg.seconds;
			printf("%-40s %10.0f %10.0f %5.0f%%  %s\n",
			    "  the same on PostgreSQL", pg, rate,
			    100 * pg / rate, "the relay on SQLite");
			if (w->pg.refused || w->pg.failed)
				printf("  (C=%d on PostgreSQL: refused %ld "
				    "(last status %ld), no answer %ld)\n",
				    w->c, w->pg.refused, w->pg.last_bad_status,
				    w->pg.failed);
		}
		if (w->c == 32) {
			bench_key("relay_msgs_per_s", rate);
			bench_key("ceiling_sqlite_rows_per_s", a);
			bench_key("ceiling_http_req_per_s", bare);
			bench_key("relay_vs_sqlite", rate / a);
		} else if (w->c == 128) {
			bench_key("relay_msgs_per_s_128", rate);
		}
		if (w->relay.refused || w->relay.failed || w->bare.refused ||
		    w->bare.failed)
			printf("  (C=%d: relay refused %ld (last status %ld), "
			    "no answer %ld; bare refused %ld, no answer %ld)\n",
			    w->c, w->relay.refused, w->relay.last_bad_status,
			    w->relay.failed, w->bare.refused, w->bare.failed);
	}
	printf("%-40s %10s %10.0f %6s  %s\n", "no group commit (reference)", "",
	    rows[0].sqlite_one.rows * 1e6 / rows[0].sqlite_one.us, "",
	    "A: SQLite, 1 row/commit");
	const struct row *w32 = NULL;
	for (size_t i = 0; i < NCONC; i++)
		if (rows[i].c == 32)
			w32 = &rows[i];
	if (w32 != NULL && wrk32 > 0)
		printf("%-40s %10.0f %10.0f %5.0f%%  %s\n",
		    "load generator check, C=32",
		    (double)w32->bare.accepted / w32->bare.seconds, wrk32,
		    100 * ((double)w32->bare.accepted / w32->bare.seconds) /
		    wrk32, "wrk against B, same body");
	else
		printf("(wrk not found: the load generator is not checked)\n");
	printf("\nA: raw SQLite on the relay's disk (same folder), WAL, "
	    "synchronous=FULL, one table\n   (integer key, sender, recipient, "
	    "1.4 KiB random blob), inserting in a loop and\n   committing the "
	    "relay's measured mean batch per transaction (1 row: no\n   "
	    "grouping). The relay's commit also writes its idempotency row and "
	    "indexes.\n"
	    "load generator check: B driven by wrk (one thread, 32 "
	    "connections, the same\n   POST) against B driven by this "
	    "program's libcurl loop; below 100%% the loop,\n   not the "
	    "server, bounds B.\n"
	    "C: the relay's own store (schema, statements, idempotency row, "
	    "quotas)\n   driven through relay/store.h from the benchmark's "
	    "thread as the writer\n   drives it (batch_begin, queue_message "
	    "each, batch_commit), same batch, no\n   HTTP; a store of its own "
	    "in the same folder, synchronous=FULL.\n"
	    "B: libmicrohttpd alone in this process, threaded as the relay "
	    "(internal epoll\n   thread, pool of %d), reading each body and "
	    "answering 202 with a small JSON\n   body, no disk; driven by the "
	    "same single-threaded libcurl load generator.\n"
	    "Each row alternates short slices of the relay, A and B, so that "
	    "whatever else\nthe machine does weighs on all of them alike.\n",
	    HTTP_THREADS);
}

static void
print_latency(struct latency *lat, struct latency *alone)
{
	printf("\nend-to-end latency: one sender at a fixed rate, the "
	    "recipient in a long-poll\n(GET /v1/messages?wait=%d, re-issued "
	    "once its items are acked); from the start of\nthe POST to the "
	    "long-poll answer holding that message\n\n", LONG_POLL_S);
	printf("%-32s %10s %10s %6s  %s\n", "measure", "hotline ms",
	    "POST alone", "ratio", "wake-up path adds, ms");
	static const struct { const char *name; double q; } pcts[] = {
		{ "median", 0.5 }, { "p90", 0.9 }, { "p99", 0.99 },
		{ "max", 1.0 },
	};
	for (size_t i = 0; i < NRATES; i++) {
		struct latency *l = &lat[i], *a = &alone[i];
		qsort(l->e2e_us, (size_t)l->delivered, sizeof *l->e2e_us,
		    cmp_ll);
		qsort(l->post_us, (size_t)l->accepted, sizeof *l->post_us,
		    cmp_ll);
		qsort(a->post_us, (size_t)a->accepted, sizeof *a->post_us,
		    cmp_ll);
		qsort(l->wake_us, (size_t)l->paired, sizeof *l->wake_us,
		    cmp_ll);
		for (size_t p = 0; p < sizeof pcts / sizeof pcts[0]; p++) {
			double e = pct_ms(l->e2e_us, l->delivered, pcts[p].q);
			double s = pct_ms(a->post_us, a->accepted, pcts[p].q);
			char what[64];
			snprintf(what, sizeof what, "%4d msg/s, %s", l->rate,
			    pcts[p].name);
			printf("%-32s %10.2f %10.2f %5.1fx  %+.2f\n", what, e,
			    s, e / s, pct_ms(l->wake_us, l->paired, pcts[p].q));
			if (l->rate == 1000 && pcts[p].q == 0.5)
				bench_key("e2e_p50_ms_1000", e);
			else if (l->rate == 1000 && pcts[p].q == 0.99)
				bench_key("e2e_p99_ms_1000", e);
			else if (l->rate == 5000 && pcts[p].q == 0.99)
				bench_key("e2e_p99_ms_5000", e);
		}
		printf("  (%d msg/s: %ld of %ld accepted and %ld delivered, "
		    "%ld errors; POST alone: %ld of %ld\n   accepted, %ld "
		    "errors; POST median beside the long-poll %.2f ms)\n",
		    l->rate, l->accepted, l->total, l->delivered, l->errors,
		    a->accepted, a->total, a->errors,
		    pct_ms(l->post_us, l->accepted, 0.5));
	}
	printf("\nPOST alone: the relay's own round trip for a POST (202 after "
	    "commit) at the same\nrate with no long-poll and no acks, at the "
	    "same percentile; its slices alternate\nwith the end-to-end ones.\n"
	    "wake-up path adds: per message, its end-to-end time minus its own "
	    "POST's round\ntrip in the same slice (commit, wake and fetch "
	    "answer against commit and 202),\nat the same percentile; 0 when "
	    "both answers reached the load generator together.\n");
}

int
main(int argc, char **argv)
{
	double secs = DEFAULT_SECONDS;
	if (argc > 2 || (argc == 2 && ((secs = atof(argv[1])) <= 0 ||
	    secs > 60))) {
		fprintf(stderr,
		    "usage: bench_relay [SECONDS_PER_ROW (0..60]]\n");
		return 2;
	}
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		die("library initialisation failed");
	/* Everything here shares the machine's CPUs and disk with whatever
	 * else runs: the load before the run says how quiet it was. */
	double load[1] = { -1 };
	getloadavg(load, 1);
	int slices = (int)lround(secs / SLICE_SECONDS);
	if (slices < 1)
		slices = 1;
	double slice = secs / slices;

	struct hl_test_relay r;
	start_relay(&r, NULL);
	/* The same relay on PostgreSQL, when its server is installed. */
	static struct hl_test_pg pg = { .durable = 1 };
	struct hl_test_relay rp;
	char pg_url[256];
	int with_pg = hl_test_pg_available() && hl_test_pg_start(&pg) == 0 &&
	    hl_test_pg_createdb(&pg, "bench", pg_url, sizeof pg_url) == 0;
	if (with_pg)
		start_relay(&rp, pg_url);
	struct hl_test_account senders[NSENDERS], rcpts[NRCPTS];
	struct hl_test_account lat_from[NRATES], lat_to[NRATES], sink[NRATES];
	char handle[64];
	for (int i = 0; i < NSENDERS; i++) {
		snprintf(handle, sizeof handle, "send%02d.bench", i + 1);
		make_account(&r, handle, &senders[i]);
	}
	for (int i = 0; i < NRCPTS; i++) {
		snprintf(handle, sizeof handle, "rcpt%d.bench", i + 1);
		make_account(&r, handle, &rcpts[i]);
	}
	struct hl_test_account pg_senders[NSENDERS], pg_rcpts[NRCPTS];
	for (int i = 0; with_pg && i < NSENDERS; i++) {
		snprintf(handle, sizeof handle, "send%02d.bench", i + 1);
		make_account(&rp, handle, &pg_senders[i]);
	}
	for (int i = 0; with_pg && i < NRCPTS; i++) {
		snprintf(handle, sizeof handle, "rcpt%d.bench", i + 1);
		make_account(&rp, handle, &pg_rcpts[i]);
	}
	/* Accounts of their own per rate: nothing one rate leaves behind
	 * reaches the next. The sink is a recipient nobody fetches for. */
	for (size_t i = 0; i < NRATES; i++) {
		snprintf(handle, sizeof handle, "lat%zu-send.bench", i + 1);
		make_account(&r, handle, &lat_from[i]);
		snprintf(handle, sizeof handle, "lat%zu-recv.bench", i + 1);
		make_account(&r, handle, &lat_to[i]);
		snprintf(handle, sizeof handle, "lat%zu-sink.bench", i + 1);
		make_account(&r, handle, &sink[i]);
	}

	struct ceiling_db cdb;
	ceiling_open(&cdb, r.dir);
	struct ceiling_store csd;
	store_ceiling_open(&csd, r.dir);
	struct row rows[NCONC];
	char bare_url[64];
	for (size_t i = 0; i < NCONC; i++) {
		struct row *w = &rows[i];
		memset(w, 0, sizeof *w);
		w->c = concurrency[i];
		for (int k = 0; k < slices; k++) {
			struct load ld = { r.url, senders, rcpts, w->c, slice };
			struct batches b0, b1;
			read_batches(&r, &b0);
			run_load(&ld, &w->relay);
			read_batches(&r, &b1);
			w->batches.sum += b1.sum - b0.sum;
			w->batches.count += b1.count - b0.count;
			if (w->batches.count <= 0)
				die("the relay committed nothing in a slice");

			ceiling_run(&cdb, mean_batch(w), slice,
			    &w->sqlite_at_batch);
			if (i == 0)
				ceiling_run(&cdb, 1.0, slice, &w->sqlite_one);
			store_ceiling_run(&csd, mean_batch(w), slice,
			    &w->store_at_batch);

			if (with_pg) {
				struct load lp = { rp.url, pg_senders,
					pg_rcpts, w->c, slice };
				run_load(&lp, &w->pg);
			}

			struct MHD_Daemon *d = bare_start(bare_url,
			    sizeof bare_url);
			ld.base_url = bare_url;
			run_load(&ld, &w->bare);
			MHD_stop_daemon(d);
		}
	}
	ceiling_close(&cdb);
	double wrk32 = wrk_check(r.dir, 32, secs);
	store_ceiling_close(&csd);

	struct latency alone[NRATES], lat[NRATES];
	for (size_t i = 0; i < NRATES; i++) {
		latency_init(&alone[i], latency_rates[i], secs, slices);
		latency_init(&lat[i], latency_rates[i], secs, slices);
		for (int k = 0; k < slices; k++) {
			run_latency(&r, &lat_from[i], sink[i].handle, NULL,
			    slice, &alone[i]);
			run_latency(&r, &lat_from[i], lat_to[i].handle,
			    &lat_to[i], slice, &lat[i]);
		}
	}

	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	printf("hotline-relay on 127.0.0.1 (plain HTTP, %d HTTP threads), "
	    "%g s per row in %d slices,\n%ld CPUs, load average %.2f before "
	    "the run, data in %s on %s\n\n", HTTP_THREADS, secs, slices, cpus,
	    load[0], r.dir, fs_name(r.dir));
	print_throughput(rows, wrk32);
	print_latency(lat, alone);
	for (size_t i = 0; i < NRATES; i++) {
		latency_free(&lat[i]);
		latency_free(&alone[i]);
	}
	hl_test_relay_free(&r);
	if (with_pg) {
		hl_test_relay_free(&rp);
		hl_test_pg_free(&pg);
	} else {
		printf("\n(no PostgreSQL row: its server is not installed or "
		    "did not start)\n");
	}
	curl_global_cleanup();
	return 0;
}
