/*
 * Keys and secrets with real processes: a contact whose identity key
 * changed (the operator revoked the account and the handle enrolled
 * again) blocks sending until `trust`, and what the new key sent before is
 * held, then readable; a wrong passphrase changes nothing; a relay whose
 * public key does not match the pin is refused, the right pin works, and
 * plain http is refused off loopback. Every test has its own relay and
 * profiles, removed in teardown even when it fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/lib/hl_testassert.h"
#include "tests/lib/hl_testclient.h"

#define TRIES 30
#define AWAIT_MS 60000

/* --- a changed identity key --- */

static void
test_changed_key_blocks_until_trust(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "key.a");
	struct hl_test_client *b_old = hl_test_client_of(w, "key.b");
	struct hl_test_run r;
	char id[33], reply[33];

	/* A conversation under the first key, both ways. */
	assert_int_equal(hl_test_client_send(a, id, "key.b", "hello", NULL), 0);
	json_t *m = hl_test_client_await(b_old, id, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	assert_int_equal(hl_test_client_send(b_old, reply, "key.a", "hello back",
	    NULL), 0);
	m = hl_test_client_await(a, reply, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	hl_test_client_run(a, &r, "--json", "verify", "key.b", NULL);
	hl_test_expect(&r, 0);
	json_t *v = hl_test_only_line(&r);
	hl_test_run_free(&r);
	hl_test_assert_str(v, "trust", "unverified");
	const char *old_sn = hl_test_json_str(v, "safety_number");
	assert_non_null(old_sn);
	char old_safety[128];
	snprintf(old_safety, sizeof old_safety, "%s", old_sn);
	assert_null(hl_test_json_str(v, "new_safety_number"));
	json_decref(v);

	/* The operator revokes key.b; it enrols again with a new profile. */
	char out[512], err[512];
	const char *revoke[] = { "revoke", "key.b", NULL };
	int ex = hl_test_relay_cmd(&w->relay, out, sizeof out, err, sizeof err,
	    revoke);
	if (ex != 0)
		fprintf(stderr, "revoke: exit %d: %s%s", ex, out, err);
	assert_int_equal(ex, 0);
	struct hl_test_client *b_new = hl_test_world_client(w, "key.b", NULL);
	/* NULL here means the relay refused to enrol a revoked handle again:
	 * a relay bug (printed above). */
	assert_non_null(b_new);

	/* The new key speaks first: a's copy is held, not lost. */
	char early[33];
	assert_int_equal(hl_test_client_send(b_new, early, "key.a",
	    "new laptop, same desk", NULL), 0);
	hl_test_client_run(a, &r, "--json", "sync", NULL);
	hl_test_expect(&r, 0);
	json_t *lines = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	assert_true(hl_test_json_count(lines, "event", "key_changed") +
	    hl_test_json_count(lines, "event", "held") >= 1);
	json_t *summary = hl_test_json_find(lines, "event", "summary");
	assert_non_null(summary);
	assert_int_equal(json_integer_value(json_object_get(summary, "held")), 1);
	json_decref(lines);
	json_t *inbox = hl_test_client_inbox(a);
	assert_non_null(inbox);
	assert_null(hl_test_json_find(inbox, "id", early));
	json_decref(inbox);
	json_t *o = hl_test_client_overview(a);
	assert_non_null(o);
	json_t *held = json_object_get(o, "held");
	assert_int_equal(json_array_size(held), 1);
	hl_test_assert_str(json_array_get(held, 0), "from", "key.b");
	json_decref(o);

	/* Sending is refused, clearly, and nothing is queued. */
	hl_test_client_run(a, &r, "send", "key.b", "are you really you?", NULL);
	hl_test_expect(&r, 4);
	assert_non_null(strstr(r.err, "identity key has changed"));
	assert_non_null(strstr(r.err, "hotline trust key.b"));
	hl_test_run_free(&r);
	o = hl_test_client_overview(a);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(
	    json_object_get(o, "outbound"), "queued")), 0);
	json_decref(o);

	/* verify shows the change: both safety numbers and the key log. */
	hl_test_client_run(a, &r, "--json", "verify", "key.b", NULL);
	hl_test_expect(&r, 0);
	v = hl_test_only_line(&r);
	hl_test_run_free(&r);
	hl_test_assert_str(v, "trust", "changed");
	hl_test_assert_str(v, "safety_number", old_safety);
	const char *sn = hl_test_json_str(v, "new_safety_number");
	assert_non_null(sn);
	assert_string_not_equal(sn, old_safety);
	char new_sn[128];
	snprintf(new_sn, sizeof new_sn, "%s", sn);
	json_t *log = json_object_get(v, "key_log");
	assert_true(json_array_size(log) >= 2);
	json_t *last = json_array_get(log, json_array_size(log) - 1);
	const char *oldfp = hl_test_json_str(last, "old");
	const char *newfp = hl_test_json_str(last, "new");
	assert_non_null(oldfp);
	assert_non_null(newfp);
	assert_string_not_equal(oldfp, newfp);
	json_decref(v);
	hl_test_client_run(a, &r, "verify", "key.b", NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "THE KEY CHANGED"));
	hl_test_run_free(&r);
	/* verify --confirm does not accept a changed key. */
	hl_test_client_run(a, &r, "verify", "--confirm", "key.b", NULL);
	hl_test_expect(&r, 4);
	hl_test_run_free(&r);

	/* trust with a number that is not the waiting key's accepts nothing. */
	char wrong_sn[128];
	snprintf(wrong_sn, sizeof wrong_sn, "%s", new_sn);
	wrong_sn[7] = wrong_sn[7] == '0' ? '1' : '0';
	hl_test_client_run(a, &r, "trust", "key.b", wrong_sn, NULL);
	hl_test_expect(&r, 4);
	assert_non_null(strstr(r.err, "not the safety number"));
	hl_test_run_free(&r);

	/* trust with the number read out: the held message becomes
	 * readable, flagged. */
	hl_test_client_run(a, &r, "--json", "trust", "key.b", new_sn, NULL);
	hl_test_expect(&r, 0);
	v = hl_test_only_line(&r);
	hl_test_run_free(&r);
	assert_int_equal(json_integer_value(json_object_get(v, "released")), 1);
	json_decref(v);
	inbox = hl_test_client_inbox(a);
	assert_non_null(inbox);
	m = hl_test_json_find(inbox, "id", early);
	assert_non_null(m);
	hl_test_assert_str(m, "body", "new laptop, same desk");
	assert_true(json_is_true(json_object_get(m, "key_changed")));
	assert_int_equal(hl_test_json_count(inbox, "id", early), 1);
	json_decref(inbox);
	o = hl_test_client_overview(a);
	assert_non_null(o);
	assert_int_equal(json_array_size(json_object_get(o, "held")), 0);
	json_decref(o);
	hl_test_client_run(a, &r, "--json", "verify", "key.b", NULL);
	hl_test_expect(&r, 0);
	v = hl_test_only_line(&r);
	hl_test_run_free(&r);
	hl_test_assert_str(v, "trust", "verified");
	hl_test_assert_str(v, "safety_number", new_sn);
	json_decref(v);

	/* Sending works again, and the new identity reads it. */
	char after[33];
	assert_int_equal(hl_test_client_send(a, after, "key.b",
	    "welcome back", NULL), 0);
	m = hl_test_client_await(b_new, after, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	hl_test_assert_str(m, "body", "welcome back");
	json_decref(m);
	/* ... and the receipt for it comes back from the new key. */
	m = hl_test_client_await(a, after, "delivered", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
}

/* A message that decrypts in the old session while the contact's new key
 * waits is flagged too, in sync, inbox and export; once the key is
 * trusted, new messages are not. */
static void
test_changed_key_flags_every_message(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "kf.a");
	struct hl_test_client *b_old = hl_test_client_of(w, "kf.b");
	struct hl_test_run r;
	char id[33], old_msg[33], new_msg[33], later[33];

	assert_int_equal(hl_test_client_send(a, id, "kf.b", "hello", NULL), 0);
	json_t *m = hl_test_client_await(b_old, id, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	/* Sent by the old key, fetched by a only after the change. */
	assert_int_equal(hl_test_client_send(b_old, old_msg, "kf.a",
	    "from the old laptop", NULL), 0);
	char out[512], err[512];
	const char *revoke[] = { "revoke", "kf.b", NULL };
	assert_int_equal(hl_test_relay_cmd(&w->relay, out, sizeof out, err,
	    sizeof err, revoke), 0);
	struct hl_test_client *b_new = hl_test_world_client(w, "kf.b", NULL);
	assert_non_null(b_new);
	assert_int_equal(hl_test_client_send(b_new, new_msg, "kf.a",
	    "from the new laptop", NULL), 0);

	hl_test_client_run(a, &r, "--json", "sync", NULL);
	hl_test_expect(&r, 0);
	json_t *lines = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	m = hl_test_json_find(lines, "id", old_msg);
	assert_non_null(m);
	hl_test_assert_str(m, "event", "received");
	assert_true(json_is_true(json_object_get(m, "key_changed")));
	json_decref(lines);
	json_t *inbox = hl_test_client_inbox(a);
	assert_non_null(inbox);
	m = hl_test_json_find(inbox, "id", old_msg);
	assert_non_null(m);
	assert_true(json_is_true(json_object_get(m, "key_changed")));
	json_decref(inbox);
	const char *const views[][4] = {
		{ "inbox", "--all", NULL, NULL },
		{ "export", "--format", "text", NULL },
		{ "status", old_msg, NULL, NULL },
	};
	for (size_t i = 0; i < 3; i++) {
		hl_test_client_runv(a, &r, views[i]);
		hl_test_expect(&r, 0);
		const char *at = strstr(r.out, old_msg);
		if (at == NULL || strstr(at, "KEY CHANGED") == NULL) {
			hl_test_run_print(&r);
			fail_msg("%s: no KEY CHANGED on the old key's message", views[i][0]);
		}
		hl_test_run_free(&r);
	}

	/* Trusted: what was held is released flagged; new messages are not. */
	hl_test_client_run(a, &r, "trust", "kf.b", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	assert_int_equal(hl_test_client_send(b_new, later, "kf.a",
	    "after the trust", NULL), 0);
	m = hl_test_client_await(a, later, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	assert_false(json_is_true(json_object_get(m, "key_changed")));
	json_decref(m);
	hl_test_client_run(a, &r, "status", later, NULL);
	hl_test_expect(&r, 0);
	assert_null(strstr(r.out, "KEY CHANGED"));
	hl_test_run_free(&r);
	m = hl_test_client_message(a, new_msg);
	assert_non_null(m);
	assert_true(json_is_true(json_object_get(m, "key_changed")));
	json_decref(m);
}

/* --- passphrases --- */

/* Everything the profile shows, to compare before and after. */
static char *
snapshot(struct hl_test_client *c)
{
	struct hl_test_run r;
	hl_test_client_run(c, &r, "export", "--format", "json", NULL);
	hl_test_expect(&r, 0);
	char *s = strdup(r.out);
	hl_test_run_free(&r);
	assert_non_null(s);
	return s;
}

/* A digest of the profile's files as they are on disk: the database and
 * its write-ahead log, if one was left. */
static void
disk_digest(struct hl_test_client *c, unsigned char out[32])
{
	static const char *const names[] = { "hotline.db", "hotline.db-wal" };
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, 32);
	for (size_t i = 0; i < 2; i++) {
		char path[HL_TEST_PATH + 32];
		unsigned char buf[4096];
		size_t n;
		snprintf(path, sizeof path, "%s/%s", c->home, names[i]);
		FILE *f = fopen(path, "rb");
		crypto_generichash_update(&h, (const unsigned char *)names[i],
		    f != NULL ? strlen(names[i]) : 0);
		while (f != NULL && (n = fread(buf, 1, sizeof buf, f)) > 0)
			crypto_generichash_update(&h, buf, n);
		if (f != NULL)
			fclose(f);
	}
	crypto_generichash_final(&h, out, 32);
}

static void
test_wrong_passphrase(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "pass.a");
	struct hl_test_client *b = hl_test_client_of(w, "pass.b");
	struct hl_test_run r;
	char id[33];
	assert_int_equal(hl_test_client_send(b, id, "pass.a", "for a", NULL), 0);
	assert_int_equal(hl_test_client_send(a, id, "pass.b", "for b", NULL), 0);
	char *before = snapshot(a);
	assert_non_null(strstr(before, "for b"));
	unsigned char disk_before[32], disk_after[32];
	disk_digest(a, disk_before);

	assert_int_equal(hl_test_client_passphrase(a, "not the passphrase"), 0);
	static const char *const cmds[][5] = {
		{ "status", NULL },
		{ "inbox", NULL },
		{ "sync", NULL },
		{ "send", "pass.b", "forged", NULL },
		{ "export", NULL },
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		hl_test_client_runv(a, &r, cmds[i]);
		hl_test_expect(&r, 3);
		assert_non_null(strstr(r.err, "wrong passphrase"));
		assert_int_equal(strlen(r.out), 0);
		hl_test_run_free(&r);
	}
	/* An empty file is refused as such. */
	assert_int_equal(hl_test_client_passphrase(a, ""), 0);
	hl_test_client_run(a, &r, "status", NULL);
	hl_test_expect(&r, 3);
	assert_non_null(strstr(r.err, "empty"));
	hl_test_run_free(&r);

	disk_digest(a, disk_after);
	assert_memory_equal(disk_after, disk_before, 32);

	/* With the right one everything is as it was: nothing was sent,
	 * received or marked. */
	assert_int_equal(hl_test_client_passphrase(a, "correct horse battery "
	    "staple"), 0);
	char *after = snapshot(a);
	assert_string_equal(after, before);
	assert_null(strstr(after, "forged"));
	free(before);
	free(after);
	json_t *o = hl_test_client_overview(a);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(
	    json_object_get(o, "inbound"), "new")), 0);
	json_decref(o);
	hl_test_client_run(a, &r, "sync", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	json_t *inbox = hl_test_client_inbox(a);
	assert_non_null(inbox);
	assert_int_equal(hl_test_json_count(inbox, "body", "for a"), 1);
	json_decref(inbox);
}

/* --- relay pinning --- */

/* The pin of the relay's certificate, as an operator computes it with
 * the openssl command. */
static void
relay_pin(struct hl_test_world *w, char *pin, size_t len)
{
	char cmd[1024], out[HL_TEST_PATH + 16], buf[128];
	snprintf(out, sizeof out, "%s/pin.txt", w->relay.dir);
	snprintf(cmd, sizeof cmd, "openssl x509 -in '%s' -pubkey -noout | "
	    "openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | "
	    "openssl base64 -A", w->relay.ca_file);
	const char *argv[] = { "sh", "-c", cmd, NULL };
	pid_t pid;
	int status = 0;
	assert_int_equal(hl_test_spawn(argv, out, NULL, &pid), 0);
	assert_int_equal(hl_test_wait(pid, 30000, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(hl_test_read_file(out, buf, sizeof buf), 0);
	buf[strcspn(buf, "\r\n")] = '\0';
	assert_int_equal(strlen(buf), 44);
	snprintf(pin, len, "sha256//%s", buf);
}

/* Writes code to a file of the client's for --code-file. */
static void
code_file(struct hl_test_client *c, const char *code, char *path, size_t len)
{
	snprintf(path, len, "%s/code", c->dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", code);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
}

/* A pin as the docs' one-liner prints it (bare base64) is accepted like
 * sha256//BASE64, and a relative --ca is stored absolute, so commands
 * run from another folder still find it. */
static void
test_pinned_key(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_world_client(w, NULL, NULL);
	struct hl_test_run r;
	char pin[96], code[64], cf[HL_TEST_PATH + 16], cwd[HL_TEST_PATH];
	assert_non_null(a);
	relay_pin(w, pin, sizeof pin);
	assert_int_equal(hl_test_relay_invite(&w->relay, "pin.a", NULL, code), 0);
	code_file(a, code, cf, sizeof cf);

	/* Another key's pin: refused before anything is sent. */
	hl_test_client_run(a, &r, "register", "--relay", w->relay.url, "--handle",
	    "pin.a", "--code-file", cf, "--ca", w->relay.ca_file, "--pin",
	    "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL);
	hl_test_expect(&r, 6);
	assert_non_null(strstr(r.err, "pin"));
	hl_test_run_free(&r);
	hl_test_client_run(a, &r, "status", NULL);
	assert_int_not_equal(r.exit_code, 0);
	assert_non_null(strstr(r.err, "not registered"));
	hl_test_run_free(&r);
	/* Not base64 of 32 bytes, with or without the prefix. */
	hl_test_client_run(a, &r, "register", "--relay", w->relay.url, "--handle",
	    "pin.a", "--code-file", cf, "--ca", w->relay.ca_file, "--pin",
	    "AAAA", NULL);
	hl_test_expect(&r, 2);
	hl_test_run_free(&r);

	/* The right pin, bare, and the CA named relative to the relay's
	 * folder: the same code still works (it was never used). */
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(w->relay.dir), 0);
	hl_test_client_run(a, &r, "--json", "register", "--relay", w->relay.url,
	    "--handle", "pin.a", "--code-file", cf, "--ca", "cert.pem", "--pin",
	    pin + strlen("sha256//"), NULL);
	assert_int_equal(chdir(cwd), 0);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);

	/* Messages go through the pinned transport. */
	struct hl_test_client *b = hl_test_client_of(w, "pin.b");
	char id[33];
	assert_int_equal(hl_test_client_send(a, id, "pin.b", "over pinned TLS",
	    NULL), 0);
	json_t *m = hl_test_client_await(b, id, "new", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	m = hl_test_client_await(a, id, "delivered", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
}

static void
test_plain_http_off_loopback(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_world_client(w, NULL, NULL);
	struct hl_test_run r;
	assert_non_null(a);
	/* 192.0.2.1 is a documentation address: refused before any
	 * connection is tried. */
	static const char *const urls[] = {
		"http://192.0.2.1:8080", "http://relay.example.org",
		"ftp://127.0.0.1:21",
	};
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		hl_test_client_run(a, &r, "register", "--relay", urls[i], "--handle",
		    "plain.a", "--code-file", "/dev/null", NULL);
		hl_test_expect(&r, 2);
		assert_non_null(strstr(r.err, "https"));
		hl_test_run_free(&r);
	}
	/* A pin needs TLS. */
	hl_test_client_run(a, &r, "register", "--relay", w->relay.url, "--handle",
	    "plain.a", "--code-file", "/dev/null", "--pin",
	    "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL);
	hl_test_expect(&r, 2);
	hl_test_run_free(&r);
	/* Loopback over plain http is fine. */
	assert_int_equal(hl_test_client_register(a, &w->relay, "plain.a", NULL),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_changed_key_flags_every_message,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_changed_key_blocks_until_trust,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_wrong_passphrase, hl_test_setup_world,
		    hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_pinned_key, hl_test_setup_world_tls,
		    hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_plain_http_off_loopback, hl_test_setup_world,
		    hl_test_teardown_world),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
