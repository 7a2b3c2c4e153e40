/*
 * The terminal interface in a real terminal: tmux (on a socket of this
 * test's own) runs `hotline` against the real relay on 127.0.0.1; keys are
 * typed with send-keys and the screen is read with capture-pane. A FLASH
 * arrives with no key pressed and raises the banner; /ack reaches the
 * sender; the screen reflows from 120x40 to 80x24; a changed key is shown
 * and blocks sending until /trust; a dead relay shows in the status line
 * while typing goes on; escape sequences from a peer are shown escaped;
 * the notification hook runs (from the interface and from sync --follow);
 * without colour (TERM=vt100, NO_COLOR) nothing is coloured; /drill starts
 * a check whose report fills in as the contact answers. Every wait is
 * bounded; nothing is timed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/hl_testassert.h"
#include "tests/lib/hl_testclient.h"

#define TRIES 30
#define AWAIT_MS 60000
#define SCREEN_MS 45000      /* the longest wait for the screen to show */
#define SCREEN_MAX 65536

/* One tmux server of our own, running one hotline. */
struct term {
	char dir[HL_TEST_DIR];
	char sock[HL_TEST_PATH];
	char screen[SCREEN_MAX];
	int up;
};

/* Every server started, by socket, for teardown and the exit handler: a
 * failed assertion leaves the test's own struct behind on a dead stack. */
#define SERVERS_MAX 32
static char servers[SERVERS_MAX][HL_TEST_PATH];
static size_t nservers;

/* Runs tmux -S SOCK ARGS... (NULL-ended) to completion; its stdout into
 * out when given. Returns its exit code or -1. */
static int
tmux(struct term *t, char *out, size_t outlen, const char *const *args)
{
	const char *argv[64];
	char outp[HL_TEST_PATH];
	size_t n = 0;
	argv[n++] = "tmux";
	argv[n++] = "-S";
	argv[n++] = t->sock;
	argv[n++] = "-f";
	argv[n++] = "/dev/null";
	for (size_t i = 0; args[i] != NULL && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(outp, sizeof outp, "%s/tmux.out", t->dir);
	if (out != NULL)
		unlink(outp);    /* the output is appended to what the file holds */
	pid_t pid;
	int st;
	if (hl_test_spawn(argv, out != NULL ? outp : NULL, NULL, &pid) != 0)
		return -1;
	if (hl_test_wait(pid, 20000, &st) != 0) {
		kill(pid, SIGKILL);
		hl_test_wait(pid, 5000, &st);
		return -1;
	}
	if (out != NULL && hl_test_read_file(outp, out, outlen) != 0)
		out[0] = '\0';
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
term_kill(struct term *t)
{
	if (!t->up)
		return;
	const char *args[] = { "kill-server", NULL };
	tmux(t, NULL, 0, args);
	t->up = 0;
}

static void
kill_live(void)
{
	static struct term t;
	for (size_t i = 0; i < nservers; i++) {
		memcpy(t.sock, servers[i], sizeof t.sock);
		t.up = 1;    /* no output is read: t.dir is not used */
		term_kill(&t);
	}
	nservers = 0;
}

/* Starts hotline for c in a cols x rows tmux window, with TERM set to
 * term and extra "NAME=value" (may be NULL) added to its environment. */
static void
term_start(struct term *t, struct hl_test_client *c, int cols, int rows,
    const char *termname, const char *extra)
{
	char prog[HL_TEST_PATH], x[16], y[16], termvar[64];
	const char *argv[HL_TEST_CLIENT_ENV + 24];
	size_t n = 0;
	memset(t, 0, sizeof *t);
	assert_int_equal(hl_test_tempdir(t->dir, sizeof t->dir), 0);
	snprintf(t->sock, sizeof t->sock, "%s/tmux.sock", t->dir);
	snprintf(x, sizeof x, "%d", cols);
	snprintf(y, sizeof y, "%d", rows);
	snprintf(termvar, sizeof termvar, "TERM=%s", termname);
	hl_test_program("hotline", prog, sizeof prog);
	argv[n++] = "new-session";
	argv[n++] = "-d";
	argv[n++] = "-x";
	argv[n++] = x;
	argv[n++] = "-y";
	argv[n++] = y;
	argv[n++] = "-s";
	argv[n++] = "tui";
	/* The pane's process gets exactly the client's environment. */
	argv[n++] = "env";
	argv[n++] = "-i";
	for (size_t i = 0; i < c->nenv; i++)
		if (strncmp(c->env[i], "LANG=", 5) != 0 &&
		    strncmp(c->env[i], "LC_", 3) != 0)
			argv[n++] = c->env[i];
	argv[n++] = "LC_ALL=C.UTF-8";
	argv[n++] = termvar;
	if (extra != NULL)
		argv[n++] = extra;
	argv[n++] = prog;
	argv[n] = NULL;
	if (nservers < SERVERS_MAX)
		snprintf(servers[nservers++], sizeof servers[0], "%s", t->sock);
	t->up = 1;
	assert_int_equal(tmux(t, NULL, 0, argv), 0);
	/* The window keeps its size whatever clients attach. */
	const char *opt[] = { "set-option", "-g", "window-size", "manual", NULL };
	tmux(t, NULL, 0, opt);
}

static const char *
capture(struct term *t, int escapes)
{
	const char *args[] = { "capture-pane", "-p", "-t", "tui", escapes ? "-e" :
	    NULL, NULL };
	if (tmux(t, t->screen, sizeof t->screen, args) != 0)
		t->screen[0] = '\0';
	return t->screen;
}

/* Waits (bounded) until the screen shows want, or, with absent, no
 * longer shows it. Prints the screen when it never does. */
static int
wait_screen(struct term *t, const char *want, int absent)
{
	long long end = hl_test_now_ms() + SCREEN_MS;
	do {
		int has = strstr(capture(t, 0), want) != NULL;
		if (has != absent)
			return 1;
		hl_test_sleep_ms(200);
	} while (hl_test_now_ms() < end);
	fprintf(stderr, "screen never %s '%s':\n%s\n", absent ? "lost" : "showed",
	    want, t->screen);
	return 0;
}

static void
type(struct term *t, const char *text, int enter)
{
	const char *lit[] = { "send-keys", "-t", "tui", "-l", text, NULL };
	assert_int_equal(tmux(t, NULL, 0, lit), 0);
	if (enter) {
		const char *k[] = { "send-keys", "-t", "tui", "Enter", NULL };
		assert_int_equal(tmux(t, NULL, 0, k), 0);
	}
}

static void
key(struct term *t, const char *name)
{
	const char *k[] = { "send-keys", "-t", "tui", name, NULL };
	assert_int_equal(tmux(t, NULL, 0, k), 0);
}

static void
resize(struct term *t, int cols, int rows)
{
	char x[16], y[16];
	snprintf(x, sizeof x, "%d", cols);
	snprintf(y, sizeof y, "%d", rows);
	const char *args[] = { "resize-window", "-t", "tui", "-x", x, "-y", y, NULL };
	assert_int_equal(tmux(t, NULL, 0, args), 0);
}

static int
teardown(void **state)
{
	kill_live();
	return hl_test_teardown_world(state);
}

/* A hook that writes its HOTLINE_ variables to a file once it has them
 * all (written then renamed: the test never reads half a file). */
static void
write_hook(struct hl_test_client *c, char *out_path, size_t len)
{
	char script[HL_TEST_PATH], text[1024], ini[HL_TEST_PATH + 64];
	snprintf(script, sizeof script, "%s/hook.sh", c->dir);
	snprintf(out_path, len, "%s/hook.out", c->dir);
	/* It also counts the sockets it was handed: it must get none of the
	 * client's relay connections. */
	snprintf(text, sizeof text, "#!/bin/sh\n{ env | grep '^HOTLINE_' | sort; "
	    "echo \"SOCKETS=$(ls -l /proc/$$/fd | grep -c socket:)\"; } > "
	    "'%s.tmp' && mv '%s.tmp' '%s'\n", out_path, out_path, out_path);
	FILE *f = fopen(script, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(script, 0700);
	snprintf(ini, sizeof ini, "[notify]\ncommand = %s\n", script);
	assert_int_equal(hl_test_client_config(c, ini), 0);
}

static int
wait_file(const char *path, char *buf, size_t len)
{
	long long end = hl_test_now_ms() + SCREEN_MS;
	do {
		if (access(path, F_OK) == 0 && hl_test_read_file(path, buf, len) == 0)
			return 1;
		hl_test_sleep_ms(200);
	} while (hl_test_now_ms() < end);
	return 0;
}

/* A flash, with no key pressed; the banner; /ack; the sender sees it. */
static void
test_flash_banner_and_ack(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *ee = hl_test_client_of(w, "ee.cert");
	struct hl_test_client *fi = hl_test_client_of(w, "fi.ncsc");
	struct term t;
	char id[33], hook_out[HL_TEST_PATH], env[4096], want[128];
	write_hook(fi, hook_out, sizeof hook_out);
	assert_int_equal(hl_test_client_send(ee, id, "fi.ncsc", "first contact",
	    NULL), 0);
	term_start(&t, fi, 120, 40, "xterm-256color", NULL);
	assert_true(wait_screen(&t, "relay ok", 0));
	assert_true(wait_screen(&t, "first contact", 0));
	/* Unread when it came: shown as new (a bullet, or * in ASCII). */
	assert_true(strstr(t.screen, "< ee.cert \u25cf") != NULL ||
	    strstr(t.screen, "< ee.cert *") != NULL);
	assert_int_equal(hl_test_client_send(ee, id, "fi.ncsc", "--flash",
	    "--ack-within", "30m", "Ransomware at the ministry", NULL), 0);
	/* No key is pressed: the long poll brings it. */
	assert_true(wait_screen(&t, "FLASH from ee.cert", 0));
	assert_true(wait_screen(&t, "Ransomware at the ministry", 0));
	assert_true(wait_screen(&t, "ack in 29m", 0));
	/* The banner is the top line, in colour and reverse video. */
	assert_true(strncmp(t.screen, " FLASH from ee.cert", 19) == 0);
	capture(&t, 1);
	assert_non_null(strstr(t.screen, "31m"));
	/* The hook ran, with the flash and without the body. */
	assert_true(wait_file(hook_out, env, sizeof env));
	assert_non_null(strstr(env, "HOTLINE_EVENT=flash\n"));
	assert_non_null(strstr(env, "HOTLINE_PRIORITY=flash\n"));
	assert_non_null(strstr(env, "HOTLINE_FROM=ee.cert\n"));
	assert_non_null(strstr(env, "SOCKETS=0\n"));
	snprintf(want, sizeof want, "HOTLINE_MESSAGE_ID=%s\n", id);
	assert_non_null(strstr(env, want));
	assert_null(strstr(env, "HOTLINE_BODY"));
	assert_null(strstr(env, "Ransomware"));

	type(&t, "/ack will-comply Isolating the network now", 1);
	assert_true(wait_screen(&t, "acknowledged", 0));
	assert_true(wait_screen(&t, "FLASH from ee.cert", 1));
	json_t *m = hl_test_client_await(ee, id, "acknowledged", TRIES, AWAIT_MS);
	assert_non_null(m);
	hl_test_assert_str(m, "ack.response", "will-comply");
	hl_test_assert_str(m, "ack.note", "Isolating the network now");
	json_decref(m);
	/* The sender's acknowledgement shows on our side too: the message
	 * carries its response code. */
	assert_true(wait_screen(&t, "will-comply", 0));
	type(&t, "/quit", 1);
	term_kill(&t);
}

/* /ack with nothing selected takes the most urgent waiting message. */
static void
test_ack_takes_most_urgent(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *ee = hl_test_client_of(w, "ee.cert");
	struct hl_test_client *fi = hl_test_client_of(w, "fi.ncsc");
	struct term t;
	char routine[33], urgent[33], flash[33];
	assert_int_equal(hl_test_client_send(ee, routine, "fi.ncsc", "--ack-within",
	    "1h", "routine but asks", NULL), 0);
	assert_int_equal(hl_test_client_send(ee, urgent, "fi.ncsc", "--urgent",
	    "urgent one", NULL), 0);
	assert_int_equal(hl_test_client_send(ee, flash, "fi.ncsc", "--flash",
	    "flash one", NULL), 0);
	term_start(&t, fi, 100, 30, "xterm-256color", NULL);
	assert_true(wait_screen(&t, "flash one", 0));
	assert_true(wait_screen(&t, "3 to ack", 0));
	type(&t, "/ack", 1);
	assert_true(wait_screen(&t, "2 to ack", 0));
	type(&t, "/ack unable", 1);
	assert_true(wait_screen(&t, "1 to ack", 0));
	json_t *m = hl_test_client_await(ee, urgent, "acknowledged", TRIES, AWAIT_MS);
	assert_non_null(m);
	hl_test_assert_str(m, "ack.response", "unable");
	json_decref(m);
	m = hl_test_client_message(ee, flash);
	assert_non_null(m);
	hl_test_assert_str(m, "ack.response", "received");
	json_decref(m);
	m = hl_test_client_message(ee, routine);
	assert_non_null(m);
	assert_null(hl_test_json_str(m, "ack.response"));
	json_decref(m);
	term_kill(&t);
}

/* 120x40 to 80x24: everything still there, the line being typed too. */
static void
test_resize_reflows(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *ee = hl_test_client_of(w, "ee.cert");
	struct hl_test_client *fi = hl_test_client_of(w, "fi.ncsc");
	struct term t;
	char id[33];
	assert_int_equal(hl_test_client_send(ee, id, "fi.ncsc", "--urgent",
	    "A long report that needs more than one line at eighty columns: the "
	    "sender domains are blocked, the indicators follow in the thread, "
	    "END-OF-REPORT", NULL), 0);
	term_start(&t, fi, 120, 40, "xterm-256color", NULL);
	assert_true(wait_screen(&t, "END-OF-REPORT", 0));
	type(&t, "a draft being typed", 0);
	assert_true(wait_screen(&t, "> a draft being typed", 0));
	resize(&t, 80, 24);
	assert_true(wait_screen(&t, "Contacts", 0));
	/* Reflowed: the panes, the wrapped body to its end, the status and
	 * the input line, each within 80 columns. */
	long long end = hl_test_now_ms() + SCREEN_MS;
	int ok = 0;
	do {
		capture(&t, 0);
		ok = strstr(t.screen, "END-OF-REPORT") && strstr(t.screen,
		    "[fi.ncsc] relay ok") && strstr(t.screen, "> a draft being typed") &&
		    strstr(t.screen, "ee.cert URGENT") && strstr(t.screen, "1 to ack");
		if (!ok)
			hl_test_sleep_ms(200);
	} while (!ok && hl_test_now_ms() < end);
	if (!ok)
		fprintf(stderr, "after the resize:\n%s\n", t.screen);
	assert_true(ok);
	int lines = 0;
	for (char *p = t.screen, *nl; *p; p = nl + 1, lines++) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		/* tmux cuts at 80 columns; the screen must be 24 lines. */
	}
	assert_int_equal(lines, 24);
	/* And typing goes on where it was. */
	type(&t, " still", 0);
	assert_true(wait_screen(&t, "> a draft being typed still", 0));
	resize(&t, 120, 40);
	assert_true(wait_screen(&t, "> a draft being typed still", 0));
	term_kill(&t);
}

/* The relay killed: the status line says so, typing goes on; back up, ok. */
static void
test_relay_down_status(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *ee = hl_test_client_of(w, "ee.cert");
	struct hl_test_client *fi = hl_test_client_of(w, "fi.ncsc");
	struct term t;
	char id[33];
	assert_int_equal(hl_test_client_send(ee, id, "fi.ncsc", "before the outage",
	    NULL), 0);
	term_start(&t, fi, 80, 24, "xterm-256color", NULL);
	assert_true(wait_screen(&t, "before the outage", 0));
	assert_true(wait_screen(&t, "relay ok", 0));
	assert_int_equal(hl_test_relay_stop(&w->relay, SIGKILL, NULL), 0);
	assert_true(wait_screen(&t, "RELAY UNREACHABLE", 0));
	type(&t, "typing while the relay is away", 0);
	assert_true(wait_screen(&t, "> typing while the relay is away", 0));
	/* Sent while down: queued, and it goes once the relay is back. */
	key(&t, "Enter");
	assert_true(wait_screen(&t, "1 queued", 0));
	assert_true(wait_screen(&t, "RELAY UNREACHABLE", 0));
	assert_int_equal(hl_test_relay_restart(&w->relay), 0);
	assert_true(wait_screen(&t, "relay ok", 0));
	assert_true(wait_screen(&t, " queued", 1));
	json_t *m = hl_test_client_await_body(ee, "typing while the relay is away",
	    TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	term_kill(&t);
}

/* Escape sequences and bidi controls from a peer are shown, never acted
 * on: the window title stays, the screen is not cleared. */
static void
test_escapes_shown_escaped(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *ee = hl_test_client_of(w, "ee.cert");
	struct hl_test_client *fi = hl_test_client_of(w, "fi.ncsc");
	struct term t;
	char id[33], title[256];
	term_start(&t, fi, 120, 40, "xterm-256color", NULL);
	assert_true(wait_screen(&t, "relay ok", 0));
	assert_int_equal(hl_test_client_send(ee, id, "fi.ncsc",
	    "evil \x1b]0;pwned\x07 title \x1b[2J clear \xe2\x80\xae" "drow END",
	    NULL), 0);
	assert_true(wait_screen(&t, "END", 0));
	assert_non_null(strstr(t.screen, "evil \\x1b]0;pwned\\x07 title "
	    "\\x1b[2J clear <U+202E>drow END"));
	const char *args[] = { "display-message", "-p", "-t", "tui",
	    "#{pane_title}", NULL };
	assert_int_equal(tmux(&t, title, sizeof title, args), 0);
	assert_null(strstr(title, "pwned"));
	term_kill(&t);
}

/* A changed key: a warning on every message from the contact, sending
 * refused until /trust, then what was held is read. */
static void
test_changed_key(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "key.a");
	struct hl_test_client *b_old = hl_test_client_of(w, "key.b");
	struct term t;
	char id[33], out[512], err[512];
	assert_int_equal(hl_test_client_send(b_old, id, "key.a", "old key one",
	    NULL), 0);
	assert_int_equal(hl_test_client_send(b_old, id, "key.a", "old key two",
	    NULL), 0);
	json_t *m = hl_test_client_await_body(a, "old key two", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	const char *revoke[] = { "revoke", "key.b", NULL };
	assert_int_equal(hl_test_relay_cmd(&w->relay, out, sizeof out, err,
	    sizeof err, revoke), 0);
	struct hl_test_client *b_new = hl_test_world_client(w, "key.b", NULL);
	assert_non_null(b_new);
	assert_int_equal(hl_test_client_send(b_new, id, "key.a",
	    "new laptop, same desk", NULL), 0);

	term_start(&t, a, 120, 40, "xterm-256color", NULL);
	assert_true(wait_screen(&t, "KEY CHANGED", 0));
	assert_true(wait_screen(&t, "held", 0));
	/* Each message from the contact carries the warning. */
	long long end = hl_test_now_ms() + SCREEN_MS;
	int n = 0;
	do {
		n = 0;
		capture(&t, 0);
		for (const char *p = t.screen; (p = strstr(p, "!! KEY CHANGED for this "
		    "contact")) != NULL; p++)
			n++;
		if (n < 2)
			hl_test_sleep_ms(200);
	} while (n < 2 && hl_test_now_ms() < end);
	assert_int_equal(n, 2);
	assert_null(strstr(t.screen, "new laptop"));
	type(&t, "this must not go", 1);
	assert_true(wait_screen(&t, "NOT SENT", 0));
	assert_null(strstr(t.screen, " queued"));
	type(&t, "/trust", 1);
	assert_true(wait_screen(&t, "accepted key.b's new key", 0));
	assert_true(wait_screen(&t, "new laptop, same desk", 0));
	assert_true(wait_screen(&t, "!! KEY CHANGED for this contact", 1));
	/* Accepted late: said on the message that came under it. */
	assert_true(wait_screen(&t, "accepted later", 0));
	type(&t, "now it goes", 1);
	m = hl_test_client_await_body(b_new, "now it goes", TRIES, AWAIT_MS);
	assert_non_null(m);
	json_decref(m);
	term_kill(&t);
}

/* A held item that is no key change (its ciphertext was damaged in the
 * relay) is not blamed on one: there is nothing to trust. */
static void
test_held_not_key_change(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *ee = hl_test_client_of(w, "ee.cert");
	struct hl_test_client *fi = hl_test_client_of(w, "fi.ncsc");
	struct term t;
	char id[33];
	assert_int_equal(hl_test_client_send(ee, id, "fi.ncsc",
	    "damaged on the way", NULL), 0);
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(w->relay.db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE queue SET body = "
	    "zeroblob(length(body)) WHERE msg_id = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
	term_start(&t, fi, 120, 40, "xterm-256color", NULL);
	assert_true(wait_screen(&t, "relay ok", 0));
	type(&t, "/msg ee.cert", 1);
	assert_true(wait_screen(&t, "held unread", 0));
	assert_null(strstr(t.screen, "its key changed"));
	term_kill(&t);
}

/* No colour on a vt100, nor with NO_COLOR; still usable. */
static void
test_no_colour(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *ee = hl_test_client_of(w, "ee.cert");
	struct hl_test_client *fi = hl_test_client_of(w, "fi.ncsc");
	struct term t;
	char id[33];
	assert_int_equal(hl_test_client_send(ee, id, "fi.ncsc", "--flash",
	    "plain flash", NULL), 0);
	static const char *const terms[][2] = {
		{ "vt100", NULL }, { "xterm-256color", "NO_COLOR=1" },
	};
	for (size_t i = 0; i < 2; i++) {
		term_start(&t, fi, 80, 24, terms[i][0], terms[i][1]);
		assert_true(wait_screen(&t, "FLASH from ee.cert", 0));
		assert_true(wait_screen(&t, "plain flash", 0));
		capture(&t, 1);
		/* Attributes (bold, reverse) but no colour. */
		assert_non_null(strstr(t.screen, "\x1b[7m") ? t.screen :
		    strstr(t.screen, ";7m"));
		for (int c = 30; c <= 37; c++) {
			char sgr[8];
			snprintf(sgr, sizeof sgr, "[%dm", c);
			assert_null(strstr(t.screen, sgr));
			snprintf(sgr, sizeof sgr, ";%dm", c);
			assert_null(strstr(t.screen, sgr));
		}
		if (i == 0)    /* a vt100 gets ASCII for lines and glyphs */
			assert_non_null(strstr(capture(&t, 0), "|Conversation with"));
		term_kill(&t);
	}
}

/* sync --follow runs the hook too, for urgent messages. */
static void
test_follow_hook(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *ee = hl_test_client_of(w, "ee.cert");
	struct hl_test_client *fi = hl_test_client_of(w, "fi.ncsc");
	struct hl_test_run r;
	char id[33], hook_out[HL_TEST_PATH], env[4096], want[128];
	write_hook(fi, hook_out, sizeof hook_out);
	static const char ini_body[] = "include_body = true\n";
	char ini[HL_TEST_PATH * 2];
	snprintf(ini, sizeof ini, "[notify]\ncommand = %s/hook.sh\n%s", fi->dir,
	    ini_body);
	assert_int_equal(hl_test_client_config(fi, ini), 0);
	const char *args[] = { "sync", "--follow", NULL };
	assert_int_equal(hl_test_client_start(fi, &r, args), 0);
	assert_int_equal(hl_test_client_send(ee, id, "fi.ncsc", "--urgent",
	    "call the duty desk", NULL), 0);
	int got = wait_file(hook_out, env, sizeof env);
	kill(r.pid, SIGTERM);
	hl_test_client_finish(fi, &r, 30000);
	if (!got)
		hl_test_run_print(&r);
	hl_test_run_free(&r);
	assert_true(got);
	assert_non_null(strstr(env, "HOTLINE_EVENT=urgent\n"));
	assert_non_null(strstr(env, "HOTLINE_FROM=ee.cert\n"));
	snprintf(want, sizeof want, "HOTLINE_MESSAGE_ID=%s\n", id);
	assert_non_null(strstr(env, want));
	assert_non_null(strstr(env, "HOTLINE_BODY=call the duty desk\n"));
	assert_non_null(strstr(env, "SOCKETS=0\n"));
}

#define ASKING "asking the directory"

static int
count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* An AMBER report's fields are not echoed as notices, a summary says it
 * was queued; /directory prints only the fields an entry has and its
 * "asking" notice goes when the answer comes. */
static void
test_incident_and_directory(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *ee = hl_test_client_of(w, "ee.cert");
	struct hl_test_client *fi = hl_test_client_of(w, "fi.ncsc");
	struct term t;
	char id[33];
	assert_int_equal(hl_test_client_send(ee, id, "fi.ncsc", "hello there",
	    NULL), 0);
	term_start(&t, fi, 120, 40, "xterm-256color", NULL);
	assert_true(wait_screen(&t, "relay ok", 0));
	assert_true(wait_screen(&t, "hello there", 0));
	type(&t, "/incident", 1);
	assert_true(wait_screen(&t, "incident title>", 0));
	const char *fields[] = { "Phishing wave", "high", "amber", "open",
	    "evil.example.com; 203.0.113.9", "block the domain",
	    "SECRET-DETAILS-XYZ" };
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		type(&t, fields[i], 1);
	assert_true(wait_screen(&t, "incident report 'Phishing wave' queued, "
	    "TLP:AMBER", 0));
	/* The report itself is in the conversation, once; no echo beside it. */
	assert_true(wait_screen(&t, "SECRET-DETAILS-XYZ", 0));
	capture(&t, 0);
	assert_int_equal(count_of(t.screen, "SECRET-DETAILS-XYZ"), 1);
	assert_null(strstr(t.screen, "evil.example.com; 203.0.113.9"));

	type(&t, "/directory ee", 1);
	assert_true(wait_screen(&t, "Directory: ", 0));
	assert_true(wait_screen(&t, ASKING, 1));
	capture(&t, 0);
	assert_non_null(strstr(t.screen, "ee.cert"));
	assert_null(strstr(t.screen, ",  "));
	assert_null(strstr(t.screen, "()"));
	type(&t, "/quit", 1);
	term_kill(&t);
}

/* A notice longer than the pane wraps: its end (a file name) is read. */
static void
test_notice_wraps(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *ee = hl_test_client_of(w, "ee.cert");
	struct hl_test_client *fi = hl_test_client_of(w, "fi.ncsc");
	struct term t;
	char id[33], cmd[HL_TEST_PATH + 64];
	assert_int_equal(hl_test_client_send(ee, id, "fi.ncsc", "hello there",
	    NULL), 0);
	term_start(&t, fi, 80, 24, "xterm-256color", NULL);
	assert_true(wait_screen(&t, "hello there", 0));
	snprintf(cmd, sizeof cmd, "/export %s/export-WRAPPED-END.jsonl", fi->dir);
	type(&t, cmd, 1);
	assert_true(wait_screen(&t, "WRAPPED-END.jsonl", 0));
	assert_true(wait_screen(&t, "mode 0600)", 0));
	type(&t, "/quit", 1);
	term_kill(&t);
}

/* /drill from the interface: the check goes out, the contact answers it
 * from the CLI, and the open report turns to pass with no key pressed. */
static void
test_drill_from_tui(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *ee = hl_test_client_of(w, "ee.cert");
	struct hl_test_client *fi = hl_test_client_of(w, "fi.ncsc");
	struct hl_test_run r;
	struct term t;
	term_start(&t, fi, 100, 30, "xterm-256color", NULL);
	assert_true(wait_screen(&t, "relay ok", 0));
	type(&t, "/drill ee.cert 1h morning check", 1);
	assert_true(wait_screen(&t, "EXERCISE communication check", 0));
	assert_true(wait_screen(&t, "waiting", 0));
	int seen = 0;
	long long end = hl_test_now_ms() + AWAIT_MS;
	for (int i = 0; i < TRIES && !seen && hl_test_now_ms() < end; i++) {
		hl_test_client_run(ee, &r, "sync", "--wait", "1", NULL);
		hl_test_run_free(&r);
		hl_test_client_run(ee, &r, "inbox", NULL);
		seen = r.exit_code == 0 && strstr(r.out, "EXERCISE") != NULL &&
		    strstr(r.out, "morning check") != NULL;
		hl_test_run_free(&r);
	}
	assert_true(seen);
	hl_test_client_run(ee, &r, "ack", "last", "--response", "will-comply",
	    NULL);
	assert_true(hl_test_run_expect(&r, 0));
	hl_test_run_free(&r);
	assert_true(wait_screen(&t, "will-comply", 0));
	capture(&t, 0);
	assert_non_null(strstr(t.screen, "pass"));
	/* A drill that does not exist is named, not shown empty. */
	key(&t, "Escape");
	type(&t, "/drill 000000000000", 1);
	assert_true(wait_screen(&t, "drill: ", 0));
	type(&t, "/quit", 1);
	term_kill(&t);
}

int
main(void)
{
	atexit(kill_live);
	/* TUI_TEST=name runs one test (when iterating on it). */
	if (getenv("TUI_TEST") != NULL)
		cmocka_set_test_filter(getenv("TUI_TEST"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flash_banner_and_ack,
		    hl_test_setup_world, teardown),
		cmocka_unit_test_setup_teardown(test_ack_takes_most_urgent,
		    hl_test_setup_world, teardown),
		cmocka_unit_test_setup_teardown(test_resize_reflows,
		    hl_test_setup_world, teardown),
		cmocka_unit_test_setup_teardown(test_relay_down_status,
		    hl_test_setup_world, teardown),
		cmocka_unit_test_setup_teardown(test_escapes_shown_escaped,
		    hl_test_setup_world, teardown),
		cmocka_unit_test_setup_teardown(test_changed_key,
		    hl_test_setup_world, teardown),
		cmocka_unit_test_setup_teardown(test_no_colour,
		    hl_test_setup_world, teardown),
		cmocka_unit_test_setup_teardown(test_follow_hook,
		    hl_test_setup_world, teardown),
		cmocka_unit_test_setup_teardown(test_incident_and_directory,
		    hl_test_setup_world, teardown),
		cmocka_unit_test_setup_teardown(test_notice_wraps,
		    hl_test_setup_world, teardown),
		cmocka_unit_test_setup_teardown(test_held_not_key_change,
		    hl_test_setup_world, teardown),
		cmocka_unit_test_setup_teardown(test_drill_from_tui,
		    hl_test_setup_world, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
