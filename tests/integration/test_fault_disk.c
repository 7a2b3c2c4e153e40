/* Disk faults: a full disk under the relay (real client engines send to
 * it) and under a client (real `hotline send` processes). The relay
 * answers 503 with a clear error and keeps what it accepted; the client
 * refuses with a clear error and keeps what it queued; once the space
 * comes back everything queued or accepted reaches its recipient exactly
 * once. Each disk is a small tmpfs mounted by the test (root only: else
 * the test says so once and is skipped), unmounted always, at teardown
 * or at exit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "crypto/hl_content.h"
#include "tests/lib/hl_testapi.h"
#include "tests/lib/hl_testclient.h"
#include "tests/lib/hl_testfault.h"
#include "tests/lib/hl_testhttp.h"
#include "tests/lib/hl_testrelay.h"

#define RELAY_LEFT_FREE (640 * 1024)
#define CLIENT_LEFT_FREE (256 * 1024)
#define SENDS 60

static char mnt[2][64];
static int mounted[2];
static int skipped;

static void
unmount_all(void)
{
	for (int i = 0; i < 2; i++) {
		if (mounted[i] && umount2(mnt[i], MNT_DETACH) != 0)
			fprintf(stderr, "umount %s: %s\n", mnt[i], strerror(errno));
		mounted[i] = 0;
		if (mnt[i][0] != '\0')
			rmdir(mnt[i]);
		mnt[i][0] = '\0';
	}
}

/* A tmpfs of size_mib at mnt[i]; 0, or 1 when mounting is not allowed. */
static int
mount_small(int i, int size_mib)
{
	char opts[64];
	snprintf(mnt[i], sizeof mnt[i], "/tmp/hl-faultdisk.XXXXXX");
	if (mkdtemp(mnt[i]) == NULL)
		return -1;
	snprintf(opts, sizeof opts, "size=%dm,mode=0700", size_mib);
	if (mount("tmpfs", mnt[i], "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    opts) != 0) {
		fprintf(stderr, "test_fault_disk: SKIPPED: cannot mount a tmpfs "
		    "(needs root with CAP_SYS_ADMIN): %s\n", strerror(errno));
		return 1;
	}
	mounted[i] = 1;
	return 0;
}

static int
group_setup(void **state)
{
	(void)state;
	hl_fault_seed("fault_disk");
	/* A throwaway relay first, so that the test library's clean-up at
	 * exit is registered before ours and runs after it. */
	struct hl_test_relay first;
	if (hl_test_relay_new(&first) != 0)
		return -1;
	hl_test_relay_free(&first);
	atexit(unmount_all);
	int rc = mount_small(0, 8);
	if (rc == 0)
		rc = mount_small(1, 4);
	if (rc == 1)
		skipped = 1;
	return rc < 0 ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	unmount_all();
	return 0;
}

/* Fills the disk at dir but for left bytes; the filler's path into out. */
static void
fill(const char *dir, long long left, char *out, size_t len)
{
	struct statvfs v;
	snprintf(out, len, "%s/filler", dir);
	int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(statvfs(dir, &v), 0);
	long long room = (long long)v.f_bavail * (long long)v.f_frsize - left;
	assert_true(room > 0);
	assert_int_equal(posix_fallocate(fd, 0, (off_t)room), 0);
	close(fd);
}

/* POSTs the relay answered 503, from its /metrics. */
static long
refused_503(struct hl_test_relay *r)
{
	struct hl_test_http res;
	long n = 0;
	if (hl_test_http(r->url, "GET", "/metrics", NULL, NULL, NULL, &res) == 0 &&
	    res.status == 200) {
		for (char *p = res.body; (p = strstr(p, "hotline_requests_total{")) != NULL;
		    p++) {
			char *eol = strchr(p, '\n');
			char *st = strstr(p, "status=\"503\"");
			if (st != NULL && (eol == NULL || st < eol) &&
			    strstr(p, "method=\"POST\"") < st)
				n += strtol(strchr(st, '}') + 1, NULL, 10);
		}
	}
	hl_test_http_free(&res);
	return n;
}

static void
big_text(char *buf, size_t len, long k)
{
	memset(buf, 'a' + (int)(k % 26), len - 1);
	buf[len - 1] = '\0';
	snprintf(buf, 32, "full disk %ld ", k);
	buf[strlen(buf)] = ' ';
}

/* The relay's disk fills while real engines send; it answers 503 (with
 * the error a person can read) and acks still drain; with room again
 * every message reaches its recipient once. */
static void
test_relay_disk_full(void **state)
{
	(void)state;
	if (skipped)
		skip();
	struct hl_test_relay relay;
	struct hl_test_client c[2];
	struct hl_test_engine eng[2];
	memset(eng, 0, sizeof eng);
	assert_int_equal(hl_test_relay_new(&relay), 0);
	char url[128];
	snprintf(url, sizeof url, "sqlite:%s/relay.db", mnt[0]);
	hl_test_relay_set(&relay, "store", "url", url);
	hl_test_relay_set(&relay, "store", "reserve_mib", "1");
	hl_test_relay_set(&relay, "limits", "rate_per_minute", "100000");
	assert_int_equal(hl_test_relay_write_config(&relay), 0);
	static const char *const init[] = { "init", NULL };
	assert_int_equal(hl_test_relay_cmd(&relay, NULL, 0, NULL, 0, init), 0);
	assert_int_equal(hl_test_relay_start(&relay), 0);
	for (int i = 0; i < 2; i++) {
		char h[32];
		snprintf(h, sizeof h, "disk%d.test", i);
		assert_int_equal(hl_test_client_new(&c[i]), 0);
		assert_int_equal(hl_test_client_register(&c[i], &relay, h, NULL), 0);
		assert_int_equal(hl_test_engine_open(&eng[i], &c[i]), 0);
	}
	/* A first message sets the session up while there is room. */
	char id[HL_ID_HEX + 1];
	assert_int_equal(hl_test_engine_send(&eng[0], c[1].handle, "hello", id), 0);
	assert_int_equal(hl_fault_drain(eng, 2, hl_test_now_ms() + 60000), 0);

	char filler[128];
	fill(mnt[0], RELAY_LEFT_FREE, filler, sizeof filler);
	static char text[HL_CONTENT_BODY_MAX - 64];
	for (long k = 0; k < SENDS; k++) {
		big_text(text, sizeof text, k);
		assert_int_equal(hl_test_engine_send(&eng[0], c[1].handle, text, id), 0);
	}
	/* Only the sender runs: the recipient does not make room yet. */
	long long end = hl_test_now_ms() + 60000;
	while (refused_503(&relay) == 0 && hl_test_now_ms() < end)
		hl_test_engines_pump(eng, 1, 500, 0);
	long refused = refused_503(&relay);
	assert_true(refused > 0);
	long accepted_while_full = eng[0].accepted;
	/* The answer says why, in words. */
	struct hl_test_account probe;
	int probe_ok = hl_test_relay_account(&relay, "disk.probe", 1, &probe);
	if (probe_ok == 0) {
		struct hl_test_http res;
		char pid[33];
		hl_test_api_id(pid);
		hl_test_api_send(&relay, &probe, c[1].handle, pid, "probe", &res);
		assert_int_equal(res.status, 503);
		assert_non_null(strstr(res.body, "disk is full"));
		hl_test_http_free(&res);
	}
	/* The recipient drains what was accepted (acks commit on a full
	 * disk), then the room comes back. */
	hl_test_engines_pump(eng, 2, 3000, 300);
	assert_int_equal(unlink(filler), 0);
	int drained = hl_fault_drain(eng, 2, hl_test_now_ms() +
	    (hl_fault_long() ? 300000 : 120000));
	struct hl_fault_tally t;
	assert_int_equal(hl_fault_tally(eng, 2, &t), 0);
	char extra[200];
	snprintf(extra, sizeof extra, "refused_503=%ld accepted_before_refusal=%ld "
	    "outbound=%ld below_sent=%ld", refused_503(&relay),
	    accepted_while_full, t.outbound, t.below_sent);
	hl_fault_summary("disk_relay", 1, t.accepted, t.delivered, t.lost,
	    t.duplicates, extra);
	for (int i = 0; i < 2; i++) {
		hl_test_engine_free(&eng[i]);
		hl_test_client_free(&c[i]);
	}
	hl_test_relay_free(&relay);
	assert_int_equal(t.lost, 0);
	assert_int_equal(t.duplicates, 0);
	assert_int_equal(drained, 0);
	assert_int_equal(t.outbound, SENDS + 1);
}

/* The client's own disk fills: send refuses with a clear error and
 * leaves the profile whole; with room again everything it queued goes. */
static void
test_client_disk_full(void **state)
{
	(void)state;
	if (skipped)
		skip();
	struct hl_test_world w;
	assert_int_equal(hl_test_world_new(&w, 0), 0);
	struct hl_test_client *a = hl_test_world_client(&w, "diskc.a", NULL);
	struct hl_test_client *b = hl_test_world_client(&w, "diskc.b", NULL);
	assert_non_null(a);
	assert_non_null(b);
	/* a's profile moves onto the small disk; its old path points there. */
	char cmd[512], moved[HL_TEST_PATH + 8];
	snprintf(cmd, sizeof cmd, "cp -a '%s' '%s/home'", a->home, mnt[1]);
	assert_int_equal(system(cmd), 0);
	snprintf(moved, sizeof moved, "%s.old", a->home);
	assert_int_equal(rename(a->home, moved), 0);
	snprintf(cmd, sizeof cmd, "%s/home", mnt[1]);
	assert_int_equal(symlink(cmd, a->home), 0);
	char id[HL_ID_HEX + 1];
	assert_int_equal(hl_test_client_send(a, id, "diskc.b", "before", NULL), 0);

	char filler[128];
	fill(mnt[1], CLIENT_LEFT_FREE, filler, sizeof filler);
	static char text[HL_CONTENT_BODY_MAX - 64];
	int queued = 1, refused = 0, unclear = 0, crashed = 0;
	for (long k = 0; k < SENDS; k++) {
		big_text(text, sizeof text, k);
		struct hl_test_run r;
		int code = hl_test_client_run(a, &r, "send", "diskc.b", text, NULL);
		if (r.signal != 0 || r.timed_out)
			crashed++;
		if (code == 0) {
			queued++;
		} else {
			refused++;
			if (strstr(r.err, "full") == NULL) {
				unclear++;
				hl_test_run_print(&r);
			}
		}
		hl_test_run_free(&r);
		if (refused >= 3)
			break;
	}
	/* The profile still opens and reads while full. */
	struct hl_test_run r;
	int status_code = hl_test_client_run(a, &r, "status", NULL);
	if (status_code != 0)
		hl_test_run_print(&r);
	hl_test_run_free(&r);
	assert_int_equal(unlink(filler), 0);
	struct hl_test_engine eng[2];
	memset(eng, 0, sizeof eng);
	assert_int_equal(hl_test_engine_open(&eng[0], a), 0);
	assert_int_equal(hl_test_engine_open(&eng[1], b), 0);
	int drained = hl_fault_drain(eng, 2, hl_test_now_ms() + 120000);
	struct hl_fault_tally t;
	assert_int_equal(hl_fault_tally(eng, 2, &t), 0);
	char extra[200];
	snprintf(extra, sizeof extra, "sends_refused=%d refused_unclear=%d "
	    "crashed=%d status_while_full=%d outbound=%ld", refused, unclear,
	    crashed, status_code, t.outbound);
	hl_fault_summary("disk_client", 1, t.accepted, t.delivered, t.lost,
	    t.duplicates, extra);
	hl_test_engine_free(&eng[0]);
	hl_test_engine_free(&eng[1]);
	unlink(a->home);
	rename(moved, a->home);
	hl_test_world_free(&w);
	assert_int_equal(t.lost, 0);
	assert_int_equal(t.duplicates, 0);
	assert_int_equal(drained, 0);
	assert_true(refused > 0);
	assert_int_equal(unclear, 0);
	assert_int_equal(crashed, 0);
	assert_int_equal(status_code, 0);
	assert_int_equal(t.outbound, queued);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_disk_full),
		cmocka_unit_test(test_client_disk_full),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
