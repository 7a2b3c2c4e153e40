/* Power loss: the relay's store (through relay/store.h) and a client's
 * database run on tests/lib/hl_testvfs, which keeps every write in memory
 * until its file is synced. After a few acknowledged writes (202-worthy
 * commits on the relay, stored inbound messages on the client) the power
 * is cut at a random write or sync: whatever was not synced is gone. The
 * files are then opened again: every acknowledged write must be there and
 * integrity_check must pass. A control run with synchronous=NORMAL must
 * lose acknowledged writes, or the test could not see a loss. Short by
 * default; HL_FAULTS_LONG=1 makes 1,000 cuts for each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/store.h"
#include "crypto/hl_db.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"
#include "crypto/hl_time.h"
#include "crypto/hl_vault.h"
#include "relay/store.h"
#include "tests/lib/hl_testfault.h"
#include "tests/lib/hl_testrelay.h"
#include "tests/lib/hl_testvfs.h"

#define MAX_ACKED 64

struct run {
	long cuts, acked, missing, integrity_failures, dropped;
};

static void
sync_normal(sqlite3 *db)
{
	sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
}

static void
use_vfs(int control)
{
	assert_int_equal(hl_testvfs_register(), 0);
	hl_db_test_hook("hl_testvfs", control ? sync_normal : NULL);
}

/* integrity_check through the plain unix VFS: the file as a reboot
 * finds it. 1 when "ok". */
static int
integrity_ok(const char *path)
{
	sqlite3 *db = NULL;
	int ok = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
		sqlite3_stmt *s = NULL;
		if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) ==
		    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
			ok = strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0;
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return ok;
}

static long
cuts_wanted(int control)
{
	if (control)
		return hl_fault_long() ? 200 : 40;
	return hl_fault_long() ? 1000 : 80;
}

/* --- the relay's store --- */

struct relay_side {
	char dir[HL_TEST_DIR], path[HL_TEST_PATH], url[HL_TEST_PATH + 8];
	struct hl_store *st;
	int64_t sender, rcpt;
};

static int64_t
account(struct relay_side *r, const char *handle, uint8_t token[HL_SECRET_HASH])
{
	char cause[HL_CAUSE_MAX] = "";
	uint8_t code[HL_SECRET_HASH];
	randombytes_buf(code, sizeof code);
	randombytes_buf(token, HL_SECRET_HASH);
	int64_t now = hl_now_ms();
	assert_int_equal(r->st->ops->invite(r->st, handle, code, now,
	    now + 86400000, cause), 0);
	struct hl_store_registration reg;
	memset(&reg, 0, sizeof reg);
	snprintf(reg.handle, sizeof reg.handle, "%s", handle);
	memcpy(reg.code_hash, code, sizeof code);
	memcpy(reg.token_hash, token, HL_SECRET_HASH);
	reg.identity_key[0] = 0x05;
	randombytes_buf(reg.identity_key + 1, HL_STORE_KEY_LEN - 1);
	reg.registration_id = 7;
	reg.device_id = 1;
	reg.signed_prekey.id = 1;
	reg.signed_prekey.key[0] = 0x05;
	assert_int_equal(r->st->ops->batch_begin(r->st, cause), 0);
	assert_int_equal(r->st->ops->register_account(r->st, &reg, now, NULL,
	    cause), 0);
	assert_int_equal(r->st->ops->batch_commit(r->st, cause), 0);
	struct hl_store_account a;
	assert_int_equal(r->st->ops->authenticate(r->st, token, &a), 0);
	return a.id;
}

static const struct hl_store_limits limits = {
	.max_queue_per_recipient = 1000000, .bundle_rate_per_hour = 1000000,
	.max_prekeys_stored = 1000, .max_fetch_bytes = 64 << 20,
};

/* One 202's worth: queue and commit. 0 when acknowledged. */
static int
relay_send(struct relay_side *r, const char *id)
{
	char cause[HL_CAUSE_MAX] = "";
	uint8_t body[300];
	randombytes_buf(body, sizeof body);
	struct hl_store_envelope env;
	memset(&env, 0, sizeof env);
	env.sender = r->sender;
	snprintf(env.sender_handle, sizeof env.sender_handle, "pw.sender");
	env.sender_device = 1;
	snprintf(env.to, sizeof env.to, "pw.rcpt");
	snprintf(env.id, sizeof env.id, "%s", id);
	env.type = 1;
	env.body = body;
	env.body_len = sizeof body;
	hl_store_envelope_digest(&env);
	struct hl_store_accepted acc;
	if (r->st->ops->batch_begin(r->st, cause) != 0)
		return -1;
	if (r->st->ops->queue_message(r->st, &env, hl_now_ms(), &limits, &acc,
	    cause) != 0) {
		r->st->ops->batch_rollback(r->st);
		return -1;
	}
	return r->st->ops->batch_commit(r->st, cause) == 0 ? 0 : -1;
}

static void
random_id(char id[HL_STORE_ID_HEX + 1])
{
	uint8_t b[16];
	randombytes_buf(b, sizeof b);
	sodium_bin2hex(id, HL_STORE_ID_HEX + 1, b, sizeof b);
}

/* Every acked id in the recipient's queue; the queue is then emptied. */
static long
relay_missing(struct relay_side *r, char (*acked)[HL_STORE_ID_HEX + 1], int n)
{
	char cause[HL_CAUSE_MAX] = "";
	struct hl_store_fetch f;
	memset(&f, 0, sizeof f);
	assert_int_equal(r->st->ops->fetch(r->st, r->rcpt, 100000, 64 << 20, &f,
	    cause), 0);
	long missing = 0;
	for (int i = 0; i < n; i++) {
		int found = 0;
		for (size_t k = 0; k < f.n && !found; k++)
			found = strcmp(f.items[k].id, acked[i]) == 0;
		missing += !found;
	}
	if (f.n > 0) {
		int64_t *qids = calloc(f.n, sizeof *qids), deleted = 0;
		assert_non_null(qids);
		for (size_t k = 0; k < f.n; k++)
			qids[k] = f.items[k].qid;
		assert_int_equal(r->st->ops->batch_begin(r->st, cause), 0);
		assert_int_equal(r->st->ops->ack(r->st, r->rcpt, qids, f.n, &deleted,
		    cause), 0);
		assert_int_equal(r->st->ops->batch_commit(r->st, cause), 0);
		free(qids);
	}
	hl_store_fetch_free(&f);
	return missing;
}

static void
relay_run(int control, struct run *out)
{
	struct relay_side r;
	char cause[HL_CAUSE_MAX] = "";
	memset(&r, 0, sizeof r);
	memset(out, 0, sizeof *out);
	assert_int_equal(hl_test_tempdir(r.dir, sizeof r.dir), 0);
	snprintf(r.path, sizeof r.path, "%s/relay.db", r.dir);
	snprintf(r.url, sizeof r.url, "sqlite:%s", r.path);
	use_vfs(control);
	hl_testvfs_power_on();
	int orc = hl_store_open(r.url, 1, 1, &r.st, cause);
	if (orc != 0)
		fprintf(stderr, "relay store: %s\n", cause);
	assert_int_equal(orc, 0);
	uint8_t ts[HL_SECRET_HASH], tr[HL_SECRET_HASH];
	r.sender = account(&r, "pw.sender", ts);
	r.rcpt = account(&r, "pw.rcpt", tr);
	/* Closing checkpoints and syncs: the accounts are on the disk before
	 * the first cut even under synchronous=NORMAL. */
	hl_store_close(r.st);
	assert_int_equal(hl_store_open(r.url, 0, 1, &r.st, cause), 0);
	static char acked[MAX_ACKED][HL_STORE_ID_HEX + 1];
	long want = cuts_wanted(control);
	for (long cycle = 0; cycle < want; cycle++) {
		int n = 0;
		hl_testvfs_arm(1 + (long)hl_fault_rand(200));
		while (!hl_testvfs_cut_done() && n < MAX_ACKED) {
			char id[HL_STORE_ID_HEX + 1];
			random_id(id);
			if (relay_send(&r, id) == 0 && !hl_testvfs_cut_done())
				memcpy(acked[n++], id, sizeof id);
		}
		if (!hl_testvfs_cut_done())
			hl_testvfs_cut();
		out->cuts++;
		out->acked += n;
		hl_store_close(r.st);
		r.st = NULL;
		hl_testvfs_power_on();
		if (!integrity_ok(r.path))
			out->integrity_failures++;
		assert_int_equal(hl_store_open(r.url, 0, 1, &r.st, cause), 0);
		out->missing += relay_missing(&r, acked, n);
	}
	hl_store_close(r.st);
	hl_db_test_hook(NULL, NULL);
	hl_test_tempdir_remove(r.dir);
}

/* --- a client's database --- */

static const char client_pass[] = "power loss test passphrase";

static struct hl_crypto *
client_open(const char *path, int create)
{
	char cause[HL_CAUSE_MAX] = "";
	struct hl_crypto *c = NULL;
	int rc;
	if (create) {
		struct hl_kdf_params k;
		hl_kdf_params_minimum(&k);
		rc = hl_crypto_create(path, client_pass, sizeof client_pass - 1, &k, &c,
		    cause);
	} else {
		rc = hl_crypto_open(path, client_pass, sizeof client_pass - 1, &c,
		    cause);
	}
	if (rc == 0)
		rc = hl_store_init(c, cause);
	if (rc != 0)
		fprintf(stderr, "client db: %s (%s)\n", hl_strerror(rc), cause);
	assert_int_equal(rc, 0);
	return c;
}

/* What the engine stores before it acks a message to the relay. */
static int
client_store(struct hl_crypto *c, const char *id)
{
	struct hl_msg m;
	memset(&m, 0, sizeof m);
	snprintf(m.id, sizeof m.id, "%s", id);
	m.dir = HL_IN;
	snprintf(m.peer, sizeof m.peer, "pw.peer");
	m.state = HL_ST_NEW;
	m.created_ms = hl_now_ms();
	m.content.v = 1;
	snprintf(m.content.id, sizeof m.content.id, "%s", id);
	m.content.kind = HL_KIND_TEXT;
	snprintf(m.content.from, sizeof m.content.from, "pw.peer");
	m.content.sent = m.created_ms;
	m.content.prio = HL_PRIO_ROUTINE;
	m.content.seq = 1;
	m.content.body = (char *)"stored before the relay's ack";
	return hl_store_msg_insert(c, &m) == 0 ? 0 : -1;
}

static void
client_run(int control, struct run *out)
{
	char dir[HL_TEST_DIR], path[HL_TEST_PATH];
	memset(out, 0, sizeof *out);
	assert_int_equal(hl_test_tempdir(dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/hotline.db", dir);
	use_vfs(control);
	hl_testvfs_power_on();
	struct hl_crypto *c = client_open(path, 1);
	/* As for the relay: the new profile is on the disk before any cut. */
	hl_crypto_close(c);
	c = client_open(path, 0);
	static char acked[MAX_ACKED][HL_ID_HEX + 1];
	long want = cuts_wanted(control);
	for (long cycle = 0; cycle < want; cycle++) {
		int n = 0;
		hl_testvfs_arm(1 + (long)hl_fault_rand(200));
		while (!hl_testvfs_cut_done() && n < MAX_ACKED) {
			char id[HL_ID_HEX + 1];
			random_id(id);
			if (client_store(c, id) == 0 && !hl_testvfs_cut_done())
				memcpy(acked[n++], id, sizeof id);
		}
		if (!hl_testvfs_cut_done())
			hl_testvfs_cut();
		out->cuts++;
		out->acked += n;
		hl_crypto_close(c);
		hl_testvfs_power_on();
		if (!integrity_ok(path))
			out->integrity_failures++;
		c = client_open(path, 0);
		for (int i = 0; i < n; i++) {
			struct hl_msg m;
			int rc = hl_store_msg_get(c, HL_IN, "pw.peer", acked[i], &m);
			if (rc == 1)
				hl_msg_clear(&m);
			else
				out->missing++;
		}
	}
	hl_crypto_close(c);
	hl_db_test_hook(NULL, NULL);
	hl_test_tempdir_remove(dir);
}

static void
report(const char *name, const struct run *r, struct hl_testvfs_stats *before,
    int control)
{
	struct hl_testvfs_stats now;
	hl_testvfs_stats(&now);
	char extra[200];
	snprintf(extra, sizeof extra, "acknowledged_missing=%ld "
	    "integrity_failures=%ld writes=%ld syncs=%ld dropped_writes=%ld",
	    r->missing, r->integrity_failures, now.writes - before->writes,
	    now.syncs - before->syncs, now.dropped_writes - before->dropped_writes);
	if (control)
		printf("control: %s (synchronous=NORMAL, losses expected) cuts=%ld "
		    "acknowledged=%ld %s\n", name, r->cuts, r->acked, extra);
	else
		hl_fault_summary(name, r->cuts, r->acked, r->acked - r->missing,
		    r->missing, 0, extra);
}

static void
test_power_relay(void **state)
{
	(void)state;
	struct hl_testvfs_stats s0;
	struct run r;
	hl_testvfs_stats(&s0);
	relay_run(0, &r);
	report("power_relay", &r, &s0, 0);
	assert_int_equal(r.missing, 0);
	assert_int_equal(r.integrity_failures, 0);
	assert_true(r.cuts >= cuts_wanted(0));
	assert_true(r.acked > 0);
}

static void
test_power_client(void **state)
{
	(void)state;
	struct hl_testvfs_stats s0;
	struct run r;
	hl_testvfs_stats(&s0);
	client_run(0, &r);
	report("power_client", &r, &s0, 0);
	assert_int_equal(r.missing, 0);
	assert_int_equal(r.integrity_failures, 0);
	assert_true(r.cuts >= cuts_wanted(0));
	assert_true(r.acked > 0);
}

/* The controls: synchronous=NORMAL does not sync a WAL at commit, so a
 * cut loses acknowledged writes. They print a "control:" line, not a
 * fault summary: their losses are the point. */
static void
test_power_control_relay(void **state)
{
	(void)state;
	struct hl_testvfs_stats s0;
	struct run r;
	hl_testvfs_stats(&s0);
	relay_run(1, &r);
	report("power_relay", &r, &s0, 1);
	assert_true(r.missing > 0);
	assert_int_equal(r.integrity_failures, 0);
}

static void
test_power_control_client(void **state)
{
	(void)state;
	struct hl_testvfs_stats s0;
	struct run r;
	hl_testvfs_stats(&s0);
	client_run(1, &r);
	report("power_client", &r, &s0, 1);
	assert_true(r.missing > 0);
	assert_int_equal(r.integrity_failures, 0);
}

static void
sqlite_log(void *arg, int code, const char *msg)
{
	(void)arg;
	if (getenv("HL_FAULT_SQLITE_LOG") != NULL)
		fprintf(stderr, "sqlite log %d: %s\n", code, msg);
}

int
main(void)
{
	sqlite3_config(SQLITE_CONFIG_LOG, sqlite_log, NULL);
	hl_fault_seed("fault_power");
	if (sodium_init() < 0)
		return 1;
	if (getenv("HL_FAULT_FILTER") != NULL)
		cmocka_set_test_filter(getenv("HL_FAULT_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_power_relay),
		cmocka_unit_test(test_power_client),
		cmocka_unit_test(test_power_control_relay),
		cmocka_unit_test(test_power_control_client),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
