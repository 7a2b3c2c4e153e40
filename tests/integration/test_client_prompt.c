/*
 * Secrets typed or read by the client: the passphrase file must be the
 * user's own, private regular file (no symlink followed); the TTY prompt,
 * in a real pseudo-terminal, puts echo back on Ctrl-Z, SIGTERM and Ctrl-C,
 * and Ctrl-C exits 130 at once; the enrollment code never comes from the
 * command line (--code is gone), but from the terminal, a file or
 * standard input.
 */
#define _GNU_SOURCE 1
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "tests/lib/hl_testassert.h"
#include "tests/lib/hl_testclient.h"

#define PTY_WAIT_MS 60000

/* The child on the pty, killed in teardown if a check failed. */
static pid_t pty_child = -1;

static int
teardown(void **state)
{
	if (pty_child > 0) {
		kill(pty_child, SIGKILL);
		waitpid(pty_child, NULL, 0);
		pty_child = -1;
	}
	return hl_test_teardown_world(state);
}

struct pty {
	int master, slave;
	pid_t pid;
	char seen[8192];
	size_t nseen;
};

/* Starts `hotline args...` on a new pty, with c's environment but
 * without a passphrase file when keep_passfile is 0. */
static void
pty_start(struct pty *p, struct hl_test_client *c, int keep_passfile,
    const char *const *args)
{
	char prog[HL_TEST_PATH];
	const char *argv[16];
	char *envp[HL_TEST_CLIENT_ENV + 1];
	size_t n = 0, ne = 0;
	argv[n++] = hl_test_program("hotline", prog, sizeof prog);
	for (size_t i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	for (size_t i = 0; i < c->nenv; i++)
		if (keep_passfile || strncmp(c->env[i], "HOTLINE_PASSPHRASE_FILE=",
		    24) != 0)
			envp[ne++] = c->env[i];
	envp[ne] = NULL;
	memset(p, 0, sizeof *p);
	pid_t pid = forkpty(&p->master, NULL, NULL, NULL);
	assert_true(pid >= 0);
	if (pid == 0) {
		environ = envp;
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	p->pid = pty_child = pid;
	/* Held open here, so its settings can be read after the child is
	 * gone too. */
	p->slave = open(ptsname(p->master), O_RDWR | O_NOCTTY);
	assert_true(p->slave >= 0);
}

/* Reads what the child writes until want appears. */
static void
pty_expect(struct pty *p, const char *want)
{
	long long deadline = hl_test_now_ms() + PTY_WAIT_MS;
	while (strstr(p->seen, want) == NULL) {
		long long left = deadline - hl_test_now_ms();
		if (left <= 0)
			fail_msg("no '%s' on the terminal; saw: %s", want, p->seen);
		struct pollfd pfd = { p->master, POLLIN, 0 };
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		ssize_t r = read(p->master, p->seen + p->nseen,
		    sizeof p->seen - 1 - p->nseen);
		if (r <= 0)
			fail_msg("terminal closed before '%s'; saw: %s", want, p->seen);
		p->nseen += (size_t)r;
		p->seen[p->nseen] = '\0';
	}
}

static int
echo_on(struct pty *p)
{
	struct termios t;
	assert_int_equal(tcgetattr(p->slave, &t), 0);
	return (t.c_lflag & ECHO) != 0;
}

/* Waits for the terminal's echo to become on (1) or off (0). */
static void
pty_expect_echo(struct pty *p, int on)
{
	long long deadline = hl_test_now_ms() + PTY_WAIT_MS;
	while (echo_on(p) != on) {
		if (hl_test_now_ms() > deadline)
			fail_msg("echo stayed %s", on ? "off" : "on");
		hl_test_sleep_ms(20);
	}
}

/* Waits for the child's end; its exit code, or 128 + signal. */
static int
pty_finish(struct pty *p)
{
	int st = 0;
	long long deadline = hl_test_now_ms() + PTY_WAIT_MS;
	/* Drain the terminal so the child never blocks writing to it. */
	for (;;) {
		pid_t w = waitpid(p->pid, &st, WNOHANG);
		if (w == p->pid)
			break;
		if (hl_test_now_ms() > deadline)
			fail_msg("the child did not end; saw: %s", p->seen);
		struct pollfd pfd = { p->master, POLLIN, 0 };
		if (poll(&pfd, 1, 50) > 0) {
			char buf[512];
			ssize_t r = read(p->master, buf, sizeof buf);
			if (r > 0 && p->nseen + (size_t)r < sizeof p->seen) {
				memcpy(p->seen + p->nseen, buf, (size_t)r);
				p->nseen += (size_t)r;
				p->seen[p->nseen] = '\0';
			}
		}
	}
	pty_child = -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
pty_close(struct pty *p)
{
	close(p->master);
	close(p->slave);
}

static void
pty_write(struct pty *p, const char *s)
{
	assert_int_equal(write(p->master, s, strlen(s)), (ssize_t)strlen(s));
}

static void
test_prompt_restores_echo(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_world_client(w, NULL, NULL);
	assert_non_null(a);
	struct pty p;

	/* Ctrl-Z stops it with echo on; continued, echo is off again; Ctrl-C
	 * ends it at once with 130 and echo on. */
	pty_start(&p, a, 0, (const char *const[]){ "status", NULL });
	pty_expect(&p, "Passphrase: ");
	pty_expect_echo(&p, 0);
	/* The process that will hold the passphrase writes no core. */
	char path[64], limits[4096];
	snprintf(path, sizeof path, "/proc/%d/limits", (int)p.pid);
	assert_int_equal(hl_test_read_file(path, limits, sizeof limits), 0);
	const char *core = strstr(limits, "Max core file size");
	assert_non_null(core);
	char soft[32], hard[32];
	assert_int_equal(sscanf(core + strlen("Max core file size"), "%31s %31s",
	    soft, hard), 2);
	assert_string_equal(soft, "0");
	assert_string_equal(hard, "0");
	pty_write(&p, "\x1a");
	int st = 0;
	long long deadline = hl_test_now_ms() + PTY_WAIT_MS;
	while (waitpid(p.pid, &st, WNOHANG | WUNTRACED) != p.pid) {
		if (hl_test_now_ms() > deadline)
			fail_msg("Ctrl-Z did not stop the prompt");
		hl_test_sleep_ms(20);
	}
	assert_true(WIFSTOPPED(st));
	assert_true(echo_on(&p));
	kill(p.pid, SIGCONT);
	pty_expect_echo(&p, 0);
	pty_write(&p, "partial");
	pty_write(&p, "\x03");
	assert_int_equal(pty_finish(&p), 130);
	assert_true(echo_on(&p));
	assert_null(strstr(p.seen, "partial"));    /* never echoed */
	pty_close(&p);

	/* SIGTERM at the prompt: echo back on too. */
	pty_start(&p, a, 0, (const char *const[]){ "status", NULL });
	pty_expect(&p, "Passphrase: ");
	pty_expect_echo(&p, 0);
	kill(p.pid, SIGTERM);
	int code = pty_finish(&p);
	assert_true(code != 0);
	assert_true(echo_on(&p));
	pty_close(&p);

	/* A passphrase typed on the terminal opens the profile. */
	pty_start(&p, a, 0, (const char *const[]){ "status", NULL });
	pty_expect(&p, "Passphrase: ");
	pty_expect_echo(&p, 0);
	pty_write(&p, "correct horse battery staple\n");
	code = pty_finish(&p);
	assert_true(echo_on(&p));
	assert_null(strstr(p.seen, "correct horse"));
	/* Not registered yet, but opened: 7, not 3 (passphrase). */
	if (code != 7)
		fail_msg("exit %d; saw: %s", code, p.seen);
	pty_close(&p);
}

static void
test_code_from_terminal(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_world_client(w, NULL, NULL);
	assert_non_null(a);
	char code[64];
	assert_int_equal(hl_test_relay_invite(&w->relay, "tty.a", NULL, code), 0);
	struct pty p;
	pty_start(&p, a, 1, (const char *const[]){ "register", "--relay",
	    w->relay.url, "--handle", "tty.a", NULL });
	pty_expect(&p, "Enrollment code: ");
	pty_expect_echo(&p, 0);
	char line[80];
	snprintf(line, sizeof line, "  %s \n", code);
	pty_write(&p, line);
	int rc = pty_finish(&p);
	if (rc != 0)
		fail_msg("register exited %d; saw: %s", rc, p.seen);
	assert_non_null(strstr(p.seen, "registered tty.a"));
	assert_null(strstr(p.seen, code));
	pty_close(&p);
}

/* Runs `hotline args` with text on its standard input. */
static int
run_stdin(struct hl_test_client *c, const char *text, const char *const *args,
    char *err, size_t errlen)
{
	char prog[HL_TEST_PATH], errpath[HL_TEST_PATH + 16];
	const char *argv[16];
	size_t n = 0;
	argv[n++] = hl_test_program("hotline", prog, sizeof prog);
	for (size_t i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(errpath, sizeof errpath, "%s/stdin.err", c->dir);
	int in[2];
	assert_int_equal(pipe(in), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(in[0], 0);
		dup2(fd, 2);
		close(in[1]);
		environ = c->env;
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	pty_child = pid;
	close(in[0]);
	assert_int_equal(write(in[1], text, strlen(text)), (ssize_t)strlen(text));
	close(in[1]);
	int st = 0;
	assert_int_equal(hl_test_wait(pid, PTY_WAIT_MS, &st), 0);
	pty_child = -1;
	hl_test_read_file(errpath, err, errlen);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_code_not_on_command_line(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_world_client(w, NULL, NULL);
	assert_non_null(a);
	struct hl_test_run r;
	char code[64], line[80], err[2048];
	assert_int_equal(hl_test_relay_invite(&w->relay, "std.a", NULL, code), 0);

	hl_test_client_run(a, &r, "register", "--relay", w->relay.url, "--handle",
	    "std.a", "--code", code, NULL);
	hl_test_expect(&r, 2);
	hl_test_run_free(&r);
	/* No terminal, no file: said so, nothing asked. */
	hl_test_client_run(a, &r, "register", "--relay", w->relay.url, "--handle",
	    "std.a", NULL);
	hl_test_expect(&r, 2);
	assert_non_null(strstr(r.err, "--code-file"));
	hl_test_run_free(&r);
	hl_test_client_run(a, &r, "register", "--relay", w->relay.url, "--handle",
	    "std.a", "--code-file", "/nonexistent/code", NULL);
	assert_int_not_equal(r.exit_code, 0);
	assert_non_null(strstr(r.err, "/nonexistent/code"));
	hl_test_run_free(&r);

	/* A code file is held to the passphrase file's rule: readable by
	 * the group, refused; a FIFO, refused without waiting on it. */
	char cf[HL_TEST_PATH + 16], fifo[HL_TEST_PATH + 16];
	snprintf(cf, sizeof cf, "%s/code.txt", a->dir);
	FILE *f = fopen(cf, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", code);
	fclose(f);
	assert_int_equal(chmod(cf, 0640), 0);
	hl_test_client_run(a, &r, "register", "--relay", w->relay.url, "--handle",
	    "std.a", "--code-file", cf, NULL);
	assert_int_not_equal(r.exit_code, 0);
	assert_non_null(strstr(r.err, "group or others"));
	hl_test_run_free(&r);
	snprintf(fifo, sizeof fifo, "%s/code.fifo", a->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	hl_test_client_run(a, &r, "register", "--relay", w->relay.url, "--handle",
	    "std.a", "--code-file", fifo, NULL);
	assert_int_not_equal(r.exit_code, 0);
	assert_non_null(strstr(r.err, "not a regular file"));
	hl_test_run_free(&r);

	snprintf(line, sizeof line, "%s\n", code);
	int rc = run_stdin(a, line, (const char *const[]){ "register", "--relay",
	    w->relay.url, "--handle", "std.a", "--code-file", "-", NULL }, err,
	    sizeof err);
	if (rc != 0)
		fail_msg("register --code-file - exited %d: %s", rc, err);
}

static void
test_passphrase_file_checked(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *a = hl_test_world_client(w, NULL, NULL);
	assert_non_null(a);
	struct hl_test_run r;
	char link[HL_TEST_PATH + 16], dir[HL_TEST_PATH + 16];

	/* Readable by the group: refused (it was a warning once). */
	assert_int_equal(chmod(a->passfile, 0640), 0);
	hl_test_client_run(a, &r, "status", NULL);
	hl_test_expect(&r, 3);
	assert_non_null(strstr(r.err, "group or others"));
	hl_test_run_free(&r);
	assert_int_equal(chmod(a->passfile, 0604), 0);
	hl_test_client_run(a, &r, "status", NULL);
	hl_test_expect(&r, 3);
	hl_test_run_free(&r);
	assert_int_equal(chmod(a->passfile, 0600), 0);

	/* A symlink to the right file is not followed. */
	snprintf(link, sizeof link, "%s/pass.link", a->dir);
	assert_int_equal(symlink(a->passfile, link), 0);
	hl_test_client_run(a, &r, "--passphrase-file", link, "status", NULL);
	hl_test_expect(&r, 3);
	assert_non_null(strstr(r.err, "symbolic link"));
	hl_test_run_free(&r);

	/* Not a regular file. */
	snprintf(dir, sizeof dir, "%s/pass.dir", a->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	hl_test_client_run(a, &r, "--passphrase-file", dir, "status", NULL);
	hl_test_expect(&r, 3);
	assert_non_null(strstr(r.err, "not a regular file"));
	hl_test_run_free(&r);

	/* A FIFO: refused at once, not waited on for a writer. */
	char fifo[HL_TEST_PATH + 16];
	snprintf(fifo, sizeof fifo, "%s/pass.fifo", a->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	hl_test_client_run(a, &r, "--passphrase-file", fifo, "status", NULL);
	hl_test_expect(&r, 3);
	assert_non_null(strstr(r.err, "not a regular file"));
	hl_test_run_free(&r);

	/* The file itself, 0600: opened (not registered: 7). */
	hl_test_client_run(a, &r, "status", NULL);
	hl_test_expect(&r, 7);
	hl_test_run_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_passphrase_file_checked,
		    hl_test_setup_world, teardown),
		cmocka_unit_test_setup_teardown(test_prompt_restores_echo,
		    hl_test_setup_world, teardown),
		cmocka_unit_test_setup_teardown(test_code_from_terminal,
		    hl_test_setup_world, teardown),
		cmocka_unit_test_setup_teardown(test_code_not_on_command_line,
		    hl_test_setup_world, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
