/*
 * The client as a new officer meets it, against a real relay: a body
 * typed on a terminal and interrupted is never queued, global options
 * count wherever they stand, `send --wait-for` paces its fetches,
 * client.ini mistakes are named with file:line, and time zones are
 * checked. Every test has its own relay and profiles, removed in
 * teardown even when it fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/hl_testapi.h"
#include "tests/lib/hl_testassert.h"
#include "tests/lib/hl_testclient.h"

#define WAIT_MS 60000

/* `sh -c CMD` in the client's environment; stdout and stderr into out and
 * err (each cut to len). Returns the exit code, or -1. */
static int
sh_run(struct hl_test_client *c, const char *cmd, char *out, char *err,
    size_t len)
{
	char op[HL_TEST_PATH + 16], ep[HL_TEST_PATH + 16];
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	pid_t pid;
	int status;
	snprintf(op, sizeof op, "%s/sh.out", c->dir);
	snprintf(ep, sizeof ep, "%s/sh.err", c->dir);
	unlink(op);
	unlink(ep);
	if (hl_test_spawn_env(argv, (const char *const *)c->env, op, ep, &pid) != 0)
		return -1;
	if (hl_test_wait(pid, WAIT_MS, &status) != 0) {
		kill(pid, SIGKILL);
		hl_test_wait(pid, 5000, &status);
		return -1;
	}
	if (out != NULL && hl_test_read_file(op, out, len) != 0)
		out[0] = '\0';
	if (err != NULL && hl_test_read_file(ep, err, len) != 0)
		err[0] = '\0';
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Writes an enrolment code to DIR/NAME for --code-file; path (at least
 * HL_TEST_PATH + 32 bytes) gets its name. */
static void
code_file(struct hl_test_client *c, const char *name, const char *code,
    char *path)
{
	snprintf(path, HL_TEST_PATH + 32, "%s/%s", c->dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", code);
	fclose(f);
	chmod(path, 0600);
}

/* Outbound messages of any state in the overview's counts. */
static long long
outbound_total(struct hl_test_client *c)
{
	json_t *o = hl_test_client_overview(c);
	assert_non_null(o);
	json_t *ob = json_object_get(o, "outbound");
	long long n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(ob, k, v)
		n += json_integer_value(v);
	json_decref(o);
	return n;
}

/* --- item: Ctrl-C while composing --- */

/* The PID of a process named hotline whose parent is ppid, or 0. */
static pid_t
child_hotline(pid_t ppid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;
	if (d == NULL)
		return 0;
	while (found == 0 && (de = readdir(d)) != NULL) {
		char path[300], buf[512];
		int pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
		FILE *f = fopen(path, "r");    /* /proc files have no size */
		if (f == NULL)
			continue;
		int got = fgets(buf, sizeof buf, f) != NULL;
		fclose(f);
		if (!got)
			continue;
		/* pid (comm) state ppid ... */
		char *rp = strrchr(buf, ')');
		char state;
		int pp;
		if (rp == NULL || strstr(buf, "(hotline)") == NULL ||
		    sscanf(rp + 1, " %c %d", &state, &pp) != 2)
			continue;
		if (pp == ppid && state == 'S')
			found = pid;
	}
	closedir(d);
	return found;
}

static int
tmux(struct hl_test_client *c, const char *sock, const char *const *args)
{
	const char *argv[24];
	size_t n = 0;
	pid_t pid;
	int status;
	argv[n++] = "tmux";
	argv[n++] = "-S";
	argv[n++] = sock;
	for (size_t i = 0; args[i] != NULL && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (hl_test_spawn_env(argv, (const char *const *)c->env, NULL, NULL,
	    &pid) != 0 || hl_test_wait(pid, 30000, &status) != 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Types keys into `hotline send PEER -` on a real terminal (a tmux pane)
 * and returns its exit code, or -1. */
static int
compose_in_pty(struct hl_test_client *c, const char *peer,
    const char *const *keys)
{
	char sock[HL_TEST_PATH + 16], rcfile[HL_TEST_PATH + 16], cmd[4096];
	char prog[HL_TEST_PATH], pidbuf[32], rcbuf[32];
	snprintf(sock, sizeof sock, "%s/tmux.sock", c->dir);
	snprintf(rcfile, sizeof rcfile, "%s/pty.rc", c->dir);
	unlink(rcfile);
	snprintf(cmd, sizeof cmd, "%s/pty.pid", c->dir);
	unlink(cmd);
	hl_test_program("hotline", prog, sizeof prog);
	/* The shell catches SIGINT so that it outlives hotline and writes
	 * its exit code; hotline installs its own handler. */
	snprintf(cmd, sizeof cmd, "trap : INT; echo $$ >%s/pty.pid.tmp; mv "
	    "%s/pty.pid.tmp %s/pty.pid; '%s' send %s - >%s/pty.out 2>%s/pty.err; "
	    "echo $? >%s.tmp; mv %s.tmp %s; sleep 60", c->dir, c->dir, c->dir,
	    prog, peer, c->dir, c->dir, rcfile, rcfile, rcfile);
	const char *start[] = { "new-session", "-d", "-x", "100", "-y", "20",
	    "/bin/sh", "-c", cmd, NULL };
	if (tmux(c, sock, start) != 0)
		return -1;
	int rc = -1;
	char pidfile[HL_TEST_PATH + 16];
	pid_t shell = 0, hl = 0;
	snprintf(pidfile, sizeof pidfile, "%s/pty.pid", c->dir);
	for (int i = 0; i < 300 && shell == 0; i++) {
		if (hl_test_read_file(pidfile, pidbuf, sizeof pidbuf) == 0)
			shell = atoi(pidbuf);
		else
			hl_test_sleep_ms(100);
	}
	/* Keys go in once hotline sleeps in its read of the terminal. */
	for (int i = 0; shell > 0 && i < 300 && hl == 0; i++) {
		hl = child_hotline(shell);
		if (hl == 0)
			hl_test_sleep_ms(100);
	}
	if (hl > 0) {
		hl_test_sleep_ms(300);
		for (size_t i = 0; keys[i] != NULL; i++) {
			const char *k[] = { "send-keys", "-t", "0", keys[i], NULL };
			tmux(c, sock, k);
			hl_test_sleep_ms(200);
		}
		for (int i = 0; i < 600; i++) {
			if (hl_test_read_file(rcfile, rcbuf, sizeof rcbuf) == 0) {
				rc = atoi(rcbuf);
				break;
			}
			hl_test_sleep_ms(100);
		}
	} else {
		char ep[HL_TEST_PATH + 16], eb[2048];
		snprintf(ep, sizeof ep, "%s/pty.err", c->dir);
		if (hl_test_read_file(ep, eb, sizeof eb) != 0)
			eb[0] = '\0';
		fprintf(stderr, "compose_in_pty: hotline did not start in the pane "
		    "(shell %d): %s\n", (int)shell, eb);
	}
	const char *kill_server[] = { "kill-server", NULL };
	tmux(c, sock, kill_server);
	return rc;
}

static void
test_ctrl_c_while_composing(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "cc.a");
	hl_test_client_of(w, "cc.b");
	char out[4096], err[4096];

	/* A line typed, then Ctrl-C: nothing queued, exit 130. */
	const char *interrupted[] = { "half a message", "Enter", "C-c", NULL };
	assert_int_equal(compose_in_pty(a, "cc.b", interrupted), 130);
	snprintf(out, sizeof out, "%s/pty.err", a->dir);
	assert_int_equal(hl_test_read_file(out, err, sizeof err), 0);
	assert_non_null(strstr(err, "nothing was queued"));
	assert_int_equal(outbound_total(a), 0);

	/* The same on the same terminal, ended by end of input: sent. */
	const char *ended[] = { "a whole message", "Enter", "C-d", NULL };
	assert_int_equal(compose_in_pty(a, "cc.b", ended), 0);
	assert_int_equal(outbound_total(a), 1);

	/* A closed standard input and one that fails to read: an error, and
	 * nothing queued. */
	char prog[HL_TEST_PATH], cmd[600];
	hl_test_program("hotline", prog, sizeof prog);
	snprintf(cmd, sizeof cmd, "exec '%s' send cc.b - <&-", prog);
	assert_int_equal(sh_run(a, cmd, out, err, sizeof out), 1);
	assert_non_null(strstr(err, "nothing was queued"));
	snprintf(cmd, sizeof cmd, "exec '%s' --json send cc.b - </", prog);
	assert_int_equal(sh_run(a, cmd, out, err, sizeof out), 1);
	json_t *e = json_loads(err, 0, NULL);
	if (e == NULL)
		fprintf(stderr, "not one JSON object: %s\n", err);
	assert_non_null(e);
	hl_test_assert_str(e, "type", "error");
	assert_int_equal(json_integer_value(json_object_get(e, "exit")), 1);
	json_decref(e);
	assert_int_equal(outbound_total(a), 1);
}

/* --- item: global options anywhere --- */

static void
test_global_options_anywhere(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "go.a");
	struct hl_test_run r;
	char other[HL_TEST_PATH + 16];
	snprintf(other, sizeof other, "%s/other", a->dir);

	/* init --home DIR makes the profile in DIR, not in HOTLINE_HOME. */
	hl_test_client_run(a, &r, "init", "--kdf", "interactive", "--home", other,
	    NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	char db[HL_TEST_PATH + 32];
	struct stat st;
	snprintf(db, sizeof db, "%s/hotline.db", other);
	assert_int_equal(stat(db, &st), 0);

	/* status --home DIR reads that profile: not registered there. */
	hl_test_client_run(a, &r, "status", "--home", other, NULL);
	hl_test_expect(&r, 7);
	assert_non_null(strstr(r.err, "not registered"));
	hl_test_run_free(&r);
	/* ... while without it the registered one answers. */
	hl_test_client_run(a, &r, "status", NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "go.a"));
	hl_test_run_free(&r);

	/* --json after the command and after its arguments. */
	hl_test_client_run(a, &r, "status", "--json", NULL);
	hl_test_expect(&r, 0);
	json_t *lines = hl_test_run_json(&r);
	assert_non_null(lines);
	json_decref(lines);
	hl_test_run_free(&r);

	/* --config after the command: a file that is not there is an error. */
	hl_test_client_run(a, &r, "status", "--config", "/nonexistent/client.ini",
	    NULL);
	hl_test_expect(&r, 1);
	assert_non_null(strstr(r.err, "/nonexistent/client.ini"));
	hl_test_run_free(&r);

	/* --passphrase-file after the command: a wrong one fails (3). */
	char pf[HL_TEST_PATH + 16];
	snprintf(pf, sizeof pf, "%s/wrong", a->dir);
	FILE *f = fopen(pf, "w");
	assert_non_null(f);
	fputs("not the passphrase\n", f);
	fclose(f);
	chmod(pf, 0600);
	hl_test_client_run(a, &r, "status", "--passphrase-file", pf, NULL);
	hl_test_expect(&r, 3);
	hl_test_run_free(&r);
}

/* --- item: send --wait-for paces its fetches --- */

/* GET /v1/messages answered, from /metrics. */
static long long
fetch_requests(struct hl_test_relay *relay)
{
	struct hl_test_http res;
	long long total = 0;
	assert_int_equal(hl_test_api(relay, "GET", "/metrics", NULL, NULL, &res), 0);
	assert_int_equal(res.status, 200);
	for (char *line = strtok(res.body, "\n"); line != NULL;
	    line = strtok(NULL, "\n")) {
		char *sp = strrchr(line, ' ');
		if (strncmp(line, "hotline_requests_total{", 23) == 0 &&
		    strstr(line, "method=\"GET\"") != NULL &&
		    strstr(line, "route=\"/v1/messages\"") != NULL && sp != NULL)
			total += atoll(sp + 1);
	}
	hl_test_http_free(&res);
	return total;
}

static void
test_wait_for_never_floods(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "wf.a");
	hl_test_client_of(w, "wf.b");
	struct hl_test_run r;

	/* wf.b never syncs: the wait runs to its end, 3 s, and its last
	 * second is where the time left rounds down to nothing. */
	long long before = fetch_requests(&w->relay);
	hl_test_client_run(a, &r, "send", "wf.b", "--wait-for", "delivered",
	    "--timeout", "3s", "nobody reads this", NULL);
	hl_test_expect(&r, 11);
	long long ran_s = (r.ms + 999) / 1000;
	hl_test_run_free(&r);
	long long fetches = fetch_requests(&w->relay) - before;
	fprintf(stderr, "wait-for: %lld fetches in about %lld s\n", fetches, ran_s);
	/* At most one a second (and one at the start). */
	assert_true(fetches >= 1);
	assert_true(fetches <= ran_s + 1);
}

/* --- item: client.ini mistakes --- */

static void
test_config_errors(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "ci.a");
	struct hl_test_run r;

	/* A folder given as --config. */
	hl_test_client_run(a, &r, "--config", a->dir, "status", NULL);
	hl_test_expect(&r, 1);
	assert_non_null(strstr(r.err, "folder"));
	hl_test_run_free(&r);
	/* A folder where the default file would be. */
	char dir[HL_TEST_PATH + 16];
	snprintf(dir, sizeof dir, "%s/hotline", a->config_home);
	mkdir(dir, 0700);
	assert_int_equal(mkdir(a->config, 0700), 0);
	hl_test_client_run(a, &r, "status", NULL);
	hl_test_expect(&r, 1);
	assert_non_null(strstr(r.err, "folder"));
	hl_test_run_free(&r);
	assert_int_equal(rmdir(a->config), 0);

	/* A key given twice, with both lines. */
	assert_int_equal(hl_test_client_config(a, "[messages]\nescalate = off\n"
	    "ack_within = 1h\nescalate = auto\n"), 0);
	hl_test_client_run(a, &r, "status", NULL);
	hl_test_expect(&r, 1);
	char want[HL_TEST_PATH + 64];
	snprintf(want, sizeof want, "%s:4:", a->config);
	assert_non_null(strstr(r.err, want));
	assert_non_null(strstr(r.err, "twice"));
	assert_non_null(strstr(r.err, "line 2"));
	hl_test_run_free(&r);

	/* A section header without its ']'. */
	assert_int_equal(hl_test_client_config(a, "# defaults\n[relay\n"
	    "connect_timeout = 5s\n"), 0);
	hl_test_client_run(a, &r, "status", NULL);
	hl_test_expect(&r, 1);
	snprintf(want, sizeof want, "%s:2:", a->config);
	assert_non_null(strstr(r.err, want));
	assert_non_null(strstr(r.err, "']'"));
	hl_test_run_free(&r);

	/* A good file still works. */
	assert_int_equal(hl_test_client_config(a, "[relay]\nconnect_timeout = "
	    "5s\n"), 0);
	hl_test_client_run(a, &r, "status", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
}

/* --- item: time zones checked --- */

static void
test_timezones_checked(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "tz.a");
	struct hl_test_run r;

	/* A misspelt zone is refused before anything is published. */
	hl_test_client_run(a, &r, "profile", "--timezone", "Europe/Helsinky", NULL);
	hl_test_expect(&r, 2);
	assert_non_null(strstr(r.err, "Europe/Helsinky"));
	hl_test_run_free(&r);
	hl_test_client_run(a, &r, "profile", "--timezone", "../../etc/passwd", NULL);
	hl_test_expect(&r, 2);
	hl_test_run_free(&r);
	hl_test_client_run(a, &r, "--json", "directory", "tz.a", NULL);
	hl_test_expect(&r, 0);
	json_t *lines = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	json_t *e = hl_test_json_find(lines, "handle", "tz.a");
	assert_non_null(e);
	hl_test_assert_str(e, "timezone", "");
	json_decref(lines);

	/* A real one is taken, at registration too. */
	hl_test_client_run(a, &r, "profile", "--timezone", "Europe/Helsinki", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	struct hl_test_client *b = hl_test_world_client(w, NULL, NULL);
	assert_non_null(b);
	char code[128];
	assert_int_equal(hl_test_relay_invite(&w->relay, "tz.b", NULL, code), 0);
	hl_test_client_run(b, &r, "register", "--relay", w->relay.url, "--handle",
	    "tz.b", "--code-file", "/dev/null", "--name", "B", "--timezone",
	    "Mars/Olympus", NULL);
	hl_test_expect(&r, 2);
	assert_non_null(strstr(r.err, "Mars/Olympus"));
	hl_test_run_free(&r);

	/* The relay refuses what is not a zone name's form. */
	struct hl_test_account acct;
	assert_int_equal(hl_test_relay_account(&w->relay, "tz.raw", 2, &acct), 0);
	static const char *const bad[] = { "Europe//Helsinki", "/Europe/Helsinki",
	    "Europe/", "../etc/passwd", "-Europe", "Europe Helsinki" };
	static const char *const good[] = { "Europe/Helsinki", "Etc/GMT+2",
	    "America/Port-au-Prince", "America/Argentina/Buenos_Aires", "" };
	char body[256];
	struct hl_test_http res;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(body, sizeof body, "{\"name\":\"Raw\",\"timezone\":\"%s\"}",
		    bad[i]);
		assert_int_equal(hl_test_api(&w->relay, "PUT", "/v1/profile", body,
		    acct.token, &res), 0);
		if (res.status != 400)
			fprintf(stderr, "timezone '%s': %ld\n", bad[i], res.status);
		assert_int_equal(res.status, 400);
		hl_test_http_free(&res);
	}
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		snprintf(body, sizeof body, "{\"name\":\"Raw\",\"timezone\":\"%s\"}",
		    good[i]);
		assert_int_equal(hl_test_api(&w->relay, "PUT", "/v1/profile", body,
		    acct.token, &res), 0);
		if (res.status != 200)
			fprintf(stderr, "timezone '%s': %ld %s\n", good[i], res.status,
			    res.body);
		assert_int_equal(res.status, 200);
		hl_test_http_free(&res);
	}
}

/* --- item: JSON all the way --- */

/* Every stdout line of r is a JSON object with a string "type". */
static void
assert_typed_lines(struct hl_test_run *r)
{
	json_t *lines = hl_test_run_json(r);
	if (lines == NULL)
		hl_test_run_print(r);
	assert_non_null(lines);
	size_t i;
	json_t *o;
	json_array_foreach(lines, i, o) {
		if (!json_is_string(json_object_get(o, "type")))
			hl_test_run_print(r);
		assert_true(json_is_string(json_object_get(o, "type")));
	}
	json_decref(lines);
}

/* stderr of r is one JSON error object with exit code; returns it. */
static json_t *
json_error_of(struct hl_test_run *r, int code)
{
	json_t *e = json_loads(r->err, 0, NULL);
	if (e == NULL)
		hl_test_run_print(r);
	assert_non_null(e);
	hl_test_assert_str(e, "type", "error");
	assert_non_null(hl_test_json_str(e, "code"));
	assert_non_null(hl_test_json_str(e, "message"));
	assert_int_equal(json_integer_value(json_object_get(e, "exit")), code);
	return e;
}

static void
test_json_all_the_way(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "js.a");
	struct hl_test_client *b = hl_test_client_of(w, "js.b");
	struct hl_test_run r;
	char id[33];

	assert_int_equal(hl_test_client_send(a, id, "js.b", "--urgent",
	    "--ack-within", "1h", "typed lines", NULL), 0);
	json_t *m = hl_test_client_await(b, id, "new", 30, WAIT_MS);
	assert_non_null(m);
	/* The sender's own time travels with the message. */
	assert_true(hl_test_json_time(m, "sent") > 0);
	hl_test_assert_str(m, "type", "message");
	json_decref(m);

	static const char *const cmds[][6] = {
		{ "--json", "status", NULL },
		{ "--json", "inbox", "--all", NULL },
		{ "--json", "ack", "last", NULL },
		{ "--json", "sync", NULL },
		{ "--json", "directory", NULL },
		{ "--json", "profile", NULL },
		{ "--json", "verify", "js.a", NULL },
		{ "--json", "export", NULL },
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		hl_test_client_runv(b, &r, cmds[i]);
		hl_test_expect(&r, 0);
		assert_typed_lines(&r);
		hl_test_run_free(&r);
	}
	hl_test_client_run(a, &r, "--json", "sync", NULL);
	hl_test_expect(&r, 0);
	assert_typed_lines(&r);
	hl_test_run_free(&r);
	hl_test_client_run(a, &r, "status", id, "--json", NULL);
	hl_test_expect(&r, 0);
	assert_typed_lines(&r);
	hl_test_run_free(&r);

	/* Errors: a JSON object on stderr, whatever the kind. */
	hl_test_client_run(a, &r, "--json", "export", "--format", "text", NULL);
	hl_test_expect(&r, 2);
	json_decref(json_error_of(&r, 2));
	assert_string_equal(r.out, "");
	hl_test_run_free(&r);
	hl_test_client_run(a, &r, "frobnicate", "--json", NULL);
	hl_test_expect(&r, 2);
	json_decref(json_error_of(&r, 2));
	hl_test_run_free(&r);
	hl_test_client_run(a, &r, "status", "ffffffffffff", "--json", NULL);
	hl_test_expect(&r, 7);
	json_t *e = json_error_of(&r, 7);
	hl_test_assert_str(e, "code", "not_found");
	json_decref(e);
	hl_test_run_free(&r);
}

/* --- item: an offline contact list --- */

static void
test_directory_offline(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "od.a");
	hl_test_world_client(w, "od.fi.ncsc", "--name", "NCSC-FI duty", NULL);
	struct hl_test_run r;

	hl_test_client_run(a, &r, "directory", NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "od.fi.ncsc"));
	hl_test_run_free(&r);

	assert_int_equal(hl_test_relay_stop(&w->relay, SIGTERM, NULL), 0);
	hl_test_client_run(a, &r, "directory", "ncsc", NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "od.fi.ncsc"));
	assert_non_null(strstr(r.out, "NCSC-FI duty"));
	assert_null(strstr(r.out, "od.a "));    /* the query still applies */
	assert_non_null(strstr(r.err, "unreachable"));
	assert_non_null(strstr(r.err, "ago"));
	hl_test_run_free(&r);
	hl_test_client_run(a, &r, "--json", "directory", NULL);
	hl_test_expect(&r, 0);
	json_t *lines = hl_test_run_json(&r);
	assert_non_null(lines);
	json_t *o = hl_test_json_find(lines, "handle", "od.fi.ncsc");
	assert_non_null(o);
	hl_test_assert_str(o, "type", "contact");
	assert_true(json_is_true(json_object_get(o, "cached")));
	assert_true(hl_test_json_time(o, "fetched") > 0);
	json_decref(lines);
	json_t *warn = json_loads(r.err, 0, NULL);
	assert_non_null(warn);
	hl_test_assert_str(warn, "type", "warning");
	json_decref(warn);
	hl_test_run_free(&r);
}

/* --- item: typos caught early, and discard --- */

static void
test_typos_and_discard(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "ty.a");
	hl_test_client_of(w, "ty.fi.ncsc");
	hl_test_client_of(w, "ty.fi.cert");
	struct hl_test_run r;
	char id[33];

	hl_test_client_run(a, &r, "send", "ty.fi.ncs", "hello", NULL);
	hl_test_expect(&r, 7);
	assert_non_null(strstr(r.err, "did you mean ty.fi.ncsc"));
	assert_non_null(strstr(r.err, "nothing was queued"));
	hl_test_run_free(&r);
	assert_int_equal(outbound_total(a), 0);
	/* The right handle goes. */
	assert_int_equal(hl_test_client_send(a, id, "ty.fi.ncsc", "hello", NULL), 0);
	assert_int_equal(outbound_total(a), 1);

	/* A message that failed for good: queued while the relay was away,
	 * refused by it later. */
	assert_int_equal(hl_test_relay_stop(&w->relay, SIGTERM, NULL), 0);
	assert_int_equal(hl_test_client_send(a, id, "ty.nobody", "lost", NULL), 0);
	assert_int_equal(hl_test_relay_restart(&w->relay), 0);
	hl_test_client_run(a, &r, "sync", NULL);
	hl_test_run_free(&r);
	json_t *m = hl_test_client_message(a, id);
	assert_non_null(m);
	hl_test_assert_str(m, "state", "failed");
	json_decref(m);
	json_t *o = hl_test_client_overview(a);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o,
	    "outbound"), "failed")), 1);
	json_decref(o);

	/* Only a failed or expired message can be discarded. */
	char sent_id[33];
	assert_int_equal(hl_test_client_send(a, sent_id, "ty.fi.cert", "kept",
	    NULL), 0);
	hl_test_client_run(a, &r, "discard", sent_id, NULL);
	hl_test_expect(&r, 1);
	hl_test_run_free(&r);
	hl_test_client_run(a, &r, "--json", "discard", id, NULL);
	hl_test_expect(&r, 0);
	assert_typed_lines(&r);
	hl_test_run_free(&r);
	o = hl_test_client_overview(a);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o,
	    "outbound"), "failed")), 0);
	json_decref(o);
	hl_test_client_run(a, &r, "status", id, NULL);
	hl_test_expect(&r, 7);
	hl_test_run_free(&r);
	assert_int_equal(outbound_total(a), 2);
}

/* --- item: verify before any conversation --- */

/* The 60 digits of verify's safety number, or "" (out: 61 bytes). */
static void
safety_of(struct hl_test_client *c, const char *handle, char *out,
    const char *want_trust)
{
	struct hl_test_run r;
	hl_test_client_run(c, &r, "--json", "verify", handle, NULL);
	hl_test_expect(&r, 0);
	json_t *o = hl_test_only_line(&r);
	hl_test_run_free(&r);
	hl_test_assert_str(o, "trust", want_trust);
	const char *sn = hl_test_json_str(o, "safety_number");
	assert_non_null(sn);
	assert_int_equal(strlen(sn), 60);
	snprintf(out, 61, "%s", sn);
	json_decref(o);
}

static void
test_verify_before_conversation(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "vb.a");
	struct hl_test_client *b = hl_test_client_of(w, "vb.b");
	struct hl_test_run r;
	char sa[61], sb[61], id[33];

	/* No message yet: the key comes from the directory. */
	safety_of(a, "vb.b", sa, "unverified");
	safety_of(b, "vb.a", sb, "unverified");
	assert_string_equal(sa, sb);
	hl_test_client_run(a, &r, "verify", "--confirm", "vb.b", NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "verified"));
	hl_test_run_free(&r);
	safety_of(a, "vb.b", sa, "verified");
	assert_string_equal(sa, sb);

	/* The conversation then starts under that very key. */
	assert_int_equal(hl_test_client_send(a, id, "vb.b", "after verify", NULL),
	    0);
	json_t *m = hl_test_client_await(b, id, "new", 30, WAIT_MS);
	assert_non_null(m);
	json_decref(m);
	safety_of(a, "vb.b", sa, "verified");
	assert_string_equal(sa, sb);

	/* A handle the directory does not have: not found. */
	hl_test_client_run(a, &r, "verify", "vb.nobody", NULL);
	hl_test_expect(&r, 7);
	hl_test_run_free(&r);
}

/* --- item: the exit codes, as the manual pages document them --- */

#define CODES_MAX 32

/* The codes of a manual page's EXIT STATUS section: every number on its
 * ".B" and ".BR" tag lines. Returns how many (at most CODES_MAX). */
static size_t
documented_codes(const char *page, int *codes)
{
	char path[HL_TEST_PATH * 2], line[512];
	const char *build = getenv("HOTLINE_BUILD");
	snprintf(path, sizeof path, "%s/../docs/%s", build ? build : ".", page);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(path, sizeof path, "docs/%s", page);
		f = fopen(path, "r");
	}
	assert_non_null(f);
	size_t n = 0;
	int in = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, ".SH", 3) == 0) {
			in = strstr(line, "EXIT STATUS") != NULL;
			continue;
		}
		if (!in || (strncmp(line, ".B ", 3) != 0 &&
		    strncmp(line, ".BR ", 4) != 0))
			continue;
		for (char *p = line + 3; *p; p++) {
			if (*p < '0' || *p > '9' || (p[-1] >= '0' && p[-1] <= '9'))
				continue;
			if (n < CODES_MAX)
				codes[n++] = atoi(p);
		}
	}
	fclose(f);
	return n;
}

static int
has_code(const int *codes, size_t n, int code)
{
	for (size_t i = 0; i < n; i++)
		if (codes[i] == code)
			return 1;
	return 0;
}

/* hotline-relay ARGS (no -c added): its exit code. */
static int
relay_exit(const char *const *args)
{
	char prog[HL_TEST_PATH];
	const char *argv[16];
	size_t n = 0;
	pid_t pid;
	int status;
	argv[n++] = hl_test_program("hotline-relay", prog, sizeof prog);
	for (size_t i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (hl_test_spawn(argv, NULL, NULL, &pid) != 0 ||
	    hl_test_wait(pid, 30000, &status) != 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Every code hotline-relay(8) documents, provoked, and nothing else. */
static void
relay_codes(struct hl_test_relay *relay)
{
	int codes[CODES_MAX], seen[CODES_MAX];
	size_t n = documented_codes("hotline-relay.8", codes), nseen = 0;
	assert_true(n >= 4);
	const char *ok[] = { "accounts", NULL };
	const char *failed[] = { "revoke", "nobody.here", NULL };
	const char *usage[] = { "frobnicate", NULL };
	assert_int_equal(hl_test_relay_cmd(relay, NULL, 0, NULL, 0, ok), 0);
	seen[nseen++] = 0;
	assert_int_equal(hl_test_relay_cmd(relay, NULL, 0, NULL, 0, failed), 1);
	seen[nseen++] = 1;
	assert_int_equal(hl_test_relay_cmd(relay, NULL, 0, NULL, 0, usage), 2);
	seen[nseen++] = 2;
	const char *config[] = { "accounts", "-c", "/nonexistent/relay.ini", NULL };
	assert_int_equal(relay_exit(config), 3);
	seen[nseen++] = 3;
	for (size_t i = 0; i < n; i++) {
		if (!has_code(seen, nseen, codes[i]))
			fprintf(stderr, "hotline-relay(8) documents exit %d, not "
			    "provoked here\n", codes[i]);
		assert_true(has_code(seen, nseen, codes[i]));
	}
	for (size_t i = 0; i < nseen; i++)
		assert_true(has_code(codes, n, seen[i]));
}

/* One run of hotline that must end with code; records it as seen. */
static void
expect_code(struct hl_test_client *c, int *seen, size_t *nseen, int code,
    const char *const *args)
{
	struct hl_test_run r;
	hl_test_client_runv(c, &r, args);
	hl_test_expect(&r, code);
	hl_test_run_free(&r);
	seen[(*nseen)++] = code;
}

static void
test_exit_codes_documented(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_client_of(w, "ex.a");
	struct hl_test_client *b = hl_test_client_of(w, "ex.b");
	struct hl_test_client *c = hl_test_client_of(w, "ex.c");
	hl_test_client_of(w, "ex.d");
	struct hl_test_run r, bg;
	int codes[CODES_MAX], seen[CODES_MAX];
	size_t n = documented_codes("hotline.1", codes), nseen = 0;
	char dirarg[HL_TEST_PATH], pf[HL_TEST_PATH + 16], code[128], url[64];
	assert_true(n >= 10);

	relay_codes(&w->relay);

	const char *ok[] = { "status", NULL };
	expect_code(a, seen, &nseen, 0, ok);
	snprintf(dirarg, sizeof dirarg, "%s", a->dir);
	const char *error[] = { "--config", dirarg, "status", NULL };
	expect_code(a, seen, &nseen, 1, error);
	const char *usage[] = { "frobnicate", NULL };
	expect_code(a, seen, &nseen, 2, usage);
	snprintf(pf, sizeof pf, "%s/wrong", a->dir);
	FILE *f = fopen(pf, "w");
	assert_non_null(f);
	fputs("not the passphrase\n", f);
	fclose(f);
	chmod(pf, 0600);
	const char *pass[] = { "--passphrase-file", pf, "status", NULL };
	expect_code(a, seen, &nseen, 3, pass);
	const char *notfound[] = { "status", "ffffffffffff", NULL };
	expect_code(a, seen, &nseen, 7, notfound);

	/* 5: a used enrolment code; 6: a relay that is not there. */
	struct hl_test_client *x = hl_test_world_client(w, NULL, NULL);
	struct hl_test_client *y = hl_test_world_client(w, NULL, NULL);
	assert_non_null(x);
	assert_non_null(y);
	char cf[HL_TEST_PATH + 32], cfy[HL_TEST_PATH + 32];
	assert_int_equal(hl_test_relay_invite(&w->relay, "ex.x", NULL, code), 0);
	code_file(x, "code", code, cf);
	code_file(y, "code", code, cfy);
	const char *reg[] = { "register", "--relay", w->relay.url, "--handle",
	    "ex.x", "--code-file", cf, "--name", "X", NULL };
	const char *regy[] = { "register", "--relay", w->relay.url, "--handle",
	    "ex.x", "--code-file", cfy, "--name", "X", NULL };
	hl_test_client_runv(x, &r, reg);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	expect_code(y, seen, &nseen, 5, regy);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", hl_test_free_port());
	const char *away[] = { "register", "--relay", url, "--handle", "ex.x",
	    "--code-file", cfy, "--name", "Y", NULL };
	expect_code(y, seen, &nseen, 6, away);

	/* 4: a key that changed waits for trust; --confirm is refused. */
	const char *verify[] = { "verify", "ex.b", NULL };
	expect_code(a, seen, &nseen, 0, verify);
	const char *revoke[] = { "revoke", "ex.b", NULL };
	assert_int_equal(hl_test_relay_cmd(&w->relay, NULL, 0, NULL, 0, revoke), 0);
	(void)b;
	assert_non_null(hl_test_world_client(w, "ex.b", NULL));
	const char *dir[] = { "directory", "ex.b", NULL };
	expect_code(a, seen, &nseen, 0, dir);
	const char *confirm[] = { "verify", "--confirm", "ex.b", NULL };
	expect_code(a, seen, &nseen, 4, confirm);

	/* 11: only the relay has it; 12: delivered, never acknowledged. */
	const char *sent[] = { "send", "ex.d", "--wait-for", "delivered",
	    "--timeout", "2s", "nobody reads this", NULL };
	expect_code(a, seen, &nseen, 11, sent);
	const char *delivered[] = { "send", "ex.c", "--wait-for", "ack",
	    "--timeout", "20s", "read, never acknowledged", NULL };
	assert_int_equal(hl_test_client_start(a, &bg, delivered), 0);
	json_t *m = hl_test_client_await_body(c, "read, never acknowledged", 30,
	    WAIT_MS);
	assert_non_null(m);
	json_decref(m);
	hl_test_client_finish(a, &bg, 120000);
	hl_test_expect(&bg, 12);
	hl_test_run_free(&bg);
	seen[nseen++] = 12;

	/* 10: the relay is away, the message stays queued. */
	assert_int_equal(hl_test_relay_stop(&w->relay, SIGTERM, NULL), 0);
	const char *queued[] = { "send", "ex.c", "--wait-for", "relay",
	    "--timeout", "2s", "while the relay is away", NULL };
	expect_code(a, seen, &nseen, 10, queued);
	/* 13 and 14 need a relay that refuses big messages for good and
	 * keeps messages 2 s. */
	hl_test_relay_set(&w->relay, "limits", "max_message_bytes", "1024");
	hl_test_relay_set(&w->relay, "limits", "retention", "2s");
	hl_test_relay_set(&w->relay, "limits", "purge_interval", "1s");
	assert_int_equal(hl_test_relay_restart(&w->relay), 0);
	char big[4001];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	const char *failed[] = { "send", "ex.c", "--wait-for", "relay",
	    "--timeout", "60s", big, NULL };
	expect_code(a, seen, &nseen, 13, failed);
	const char *expired[] = { "send", "ex.d", "--wait-for", "delivered",
	    "--timeout", "60s", "purged unread", NULL };
	expect_code(a, seen, &nseen, 14, expired);

	/* 130: interrupted while the text was read. */
	const char *keys[] = { "C-c", NULL };
	assert_int_equal(compose_in_pty(a, "ex.c", keys), 130);
	seen[nseen++] = 130;

	for (size_t i = 0; i < n; i++) {
		if (!has_code(seen, nseen, codes[i]))
			fprintf(stderr, "hotline(1) documents exit %d, not provoked "
			    "here\n", codes[i]);
		assert_true(has_code(seen, nseen, codes[i]));
	}
	for (size_t i = 0; i < nseen; i++) {
		if (!has_code(codes, n, seen[i]))
			fprintf(stderr, "exit %d is not in hotline(1)\n", seen[i]);
		assert_true(has_code(codes, n, seen[i]));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ctrl_c_while_composing,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_global_options_anywhere,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_wait_for_never_floods,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_config_errors,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_timezones_checked,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_json_all_the_way,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_directory_offline,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_typos_and_discard,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_verify_before_conversation,
		    hl_test_setup_world, hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_exit_codes_documented,
		    hl_test_setup_world, hl_test_teardown_world),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
