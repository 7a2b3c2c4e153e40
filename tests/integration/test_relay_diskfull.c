/* A full disk, through the real relay on a small tmpfs of its own: once
 * a write fails for want of space, the relay gives up its reserve, acks
 * still commit (so recipients can make room) while sends get 503 with
 * Retry-After, and once there is room again the reserve is made anew and
 * sends are taken again. Mounting needs root (CAP_SYS_ADMIN); without it
 * the test says so once and is skipped. The tmpfs is unmounted and its
 * mount point removed always, at teardown or at exit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/hl_testapi.h"
#include "tests/lib/hl_testhttp.h"
#include "tests/lib/hl_testrelay.h"

#define RESERVE_MIB 1
#define LEFT_FREE (640 * 1024)     /* beside the filler, before sending */
#define TEXT_BYTES 40000           /* one message's plaintext here */
#define SENDS_MAX 400

static struct hl_test_relay relay;
static struct hl_test_account acct_a, acct_b;
static char mnt[64];
static int mounted;
static int skipped;

static void
unmount_now(void)
{
	if (mounted) {
		/* Lazy: works while the relay still holds files open. */
		if (umount2(mnt, MNT_DETACH) != 0)
			fprintf(stderr, "umount %s: %s\n", mnt,
			    strerror(errno));
		mounted = 0;
	}
	if (mnt[0] != '\0') {
		rmdir(mnt);
		mnt[0] = '\0';
	}
}

static int
group_setup(void **state)
{
	(void)state;
	/* First, so that its own clean-up at exit is registered before
	 * ours, and runs after it. */
	if (hl_test_relay_new(&relay) != 0)
		return -1;
	snprintf(mnt, sizeof mnt, "/tmp/hl-diskfull.XXXXXX");
	if (mkdtemp(mnt) == NULL)
		return -1;
	atexit(unmount_now);
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    "size=8m,mode=0700") != 0) {
		fprintf(stderr, "test_relay_diskfull: SKIPPED: cannot mount a "
		    "tmpfs (needs root with CAP_SYS_ADMIN): %s\n",
		    strerror(errno));
		skipped = 1;
		return 0;
	}
	mounted = 1;
	char url[128], reserve[8];
	snprintf(url, sizeof url, "sqlite:%s/relay.db", mnt);
	snprintf(reserve, sizeof reserve, "%d", RESERVE_MIB);
	hl_test_relay_set(&relay, "store", "url", url);
	hl_test_relay_set(&relay, "store", "reserve_mib", reserve);
	hl_test_relay_set(&relay, "limits", "max_queue_per_recipient",
	    "100000");
	hl_test_relay_set(&relay, "limits", "max_queue_per_sender", "100000");
	if (hl_test_relay_write_config(&relay) != 0)
		return -1;
	char err[1024];
	static const char *const init[] = { "init", NULL };
	if (hl_test_relay_cmd(&relay, NULL, 0, err, sizeof err, init) != 0) {
		fprintf(stderr, "init on the tmpfs: %s\n", err);
		return -1;
	}
	if (hl_test_relay_start(&relay) != 0)
		return -1;
	if (hl_test_relay_account(&relay, "full.a", 1, &acct_a) != 0 ||
	    hl_test_relay_account(&relay, "full.b", 1, &acct_b) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	int rc = 0;
	if (relay.pid > 0) {
		int status = -1;
		rc = hl_test_relay_stop(&relay, SIGTERM, &status);
		if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
			rc = -1;
	}
	hl_test_relay_free(&relay);
	unmount_now();
	return rc;
}

static long long
free_bytes(void)
{
	struct statvfs v;
	assert_int_equal(statvfs(mnt, &v), 0);
	return (long long)v.f_bavail * (long long)v.f_frsize;
}

static int
reserve_held(void)
{
	char path[128];
	snprintf(path, sizeof path, "%s/relay.db.reserve", mnt);
	struct stat st;
	return stat(path, &st) == 0 && st.st_size >= (RESERVE_MIB << 20) &&
	    (long long)st.st_blocks * 512 >= (RESERVE_MIB << 20);
}

/* Sends one big message from a to b; the status, and Retry-After and the
 * error code into retry and code. */
static long
send_big(char *retry, char *code)
{
	static char text[TEXT_BYTES + 1];
	memset(text, 'x', TEXT_BYTES);
	char id[33];
	hl_test_api_id(id);
	struct hl_test_http res;
	hl_test_api_send(&relay, &acct_a, "full.b", id, text, &res);
	long status = res.status;
	snprintf(retry, 32, "%s", res.retry_after);
	hl_test_http_error(&res, code, 64);
	hl_test_http_free(&res);
	return status;
}

static void
test_full_disk_drains(void **state)
{
	(void)state;
	if (skipped)
		skip();
	assert_true(reserve_held());
	/* Leave little room beside the reserve. */
	char filler[128];
	snprintf(filler, sizeof filler, "%s/filler", mnt);
	int fd = open(filler, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	long long room = free_bytes() - LEFT_FREE;
	assert_true(room > 0);
	assert_int_equal(posix_fallocate(fd, 0, (off_t)room), 0);
	close(fd);
	/* Send until the disk is full. */
	char retry[32], code[64];
	long status = 0;
	int sent = 0;
	while (sent < SENDS_MAX && (status = send_big(retry, code)) == 202)
		sent++;
	assert_int_equal(status, 503);
	assert_string_equal(code, "unavailable");
	assert_true(strtol(retry, NULL, 10) >= 1);
	assert_true(sent > 0);
	assert_false(reserve_held());
	/* Sends stay refused, with Retry-After. */
	assert_int_equal(send_big(retry, code), 503);
	assert_true(strtol(retry, NULL, 10) >= 1);
	/* The recipient can still fetch, and ack, which makes room. */
	long acked = 0;
	for (int round = 0; round < 100 && acked < sent; round++) {
		json_t *got = NULL;
		assert_int_equal(hl_test_api_fetch(&relay, &acct_b, 0, &got),
		    200);
		size_t n = json_array_size(json_object_get(got, "messages"));
		if (n == 0) {
			json_decref(got);
			break;
		}
		long d = hl_test_api_ack_all(&relay, &acct_b, got);
		json_decref(got);
		assert_int_equal(d, (long)n);
		acked += d;
	}
	assert_int_equal(acked, sent);
	/* Still too little room for the reserve: sends wait. */
	assert_int_equal(send_big(retry, code), 503);
	/* Room comes back: the reserve is made again and sends are taken. */
	assert_int_equal(unlink(filler), 0);
	long long deadline = hl_test_now_ms() + 30000;
	while ((status = send_big(retry, code)) != 202 &&
	    hl_test_now_ms() < deadline)
		hl_test_sleep_ms(200);
	assert_int_equal(status, 202);
	assert_true(reserve_held());
	char log[65536];
	assert_int_equal(hl_test_read_file(relay.log, log, sizeof log), 0);
	assert_non_null(strstr(log, "event=disk_full action=reserve_released"));
	assert_non_null(strstr(log, "event=disk_full action=reserve_restored"));
	assert_int_equal(hl_test_api_health(&relay), 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_disk_drains),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
