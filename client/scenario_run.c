#include "client/scenario_run.h"
#include "client/drill_report.h"
#include "client/sanitize.h"
#include "client/store.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"
#include "crypto/hl_time.h"
#include "crypto/hl_vault.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PATH_LEN 1024
#define CMD_TIMEOUT_MS 180000     /* one hotline command, at most */
#define RELAY_START_MS 20000
#define RELAY_STOP_MS 10000
#define POLL_PAUSE_MS 200         /* between two checks of an expect */
#define ARGV_MAX 24
#define PASSPHRASE "scenario passphrase, throwaway"

struct client {
	char name[HL_HANDLE_MAX + 1];
	char alt[HL_HANDLE_MAX + 1];
	char dir[PATH_LEN];
	int gen;                      /* enrolments so far */
};

struct drill_seen {
	char id[HL_DRILL_ID_HEX + 1];
	int by;                       /* index into clients */
};

struct runner {
	const struct hl_scenario_opts *o;
	char tmp[512];
	char ini[PATH_LEN + 16];
	char log[PATH_LEN + 16];
	pid_t relay_pid;
	int port;
	int relay_inited;
	struct client *clients;
	size_t nclients;
	struct drill_seen *drills;
	size_t ndrills;
	int64_t t0;
	char *out, *err;              /* the last command's output */
	const struct hl_step *step;
};

static volatile sig_atomic_t stop_flag;
static volatile pid_t child_pid;

void
hl_scenario_interrupt(void)
{
	stop_flag = 1;
}

/* --- echo --- */

static void
stamp(struct runner *r, char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, len, "%02d:%02d:%02d.%03ldZ +%6.1fs", tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000L,
	    (double)(hl_mono_ms() - r->t0) / 1000.0);
}

static void echo(struct runner *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(struct runner *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
echo(struct runner *r, const char *fmt, ...)
{
	char t[64], line[4096];
	va_list ap;
	stamp(r, t, sizeof t);
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* Steps echo the scenario's own lines, which may carry any bytes. */
	char *c = hl_sanitize(line, strlen(line), 0);
	printf("[%s] %s\n", t, c ? c : "(out of memory)");
	free(c);
	/* Nobody reads any more (a closed pipe): stop, and clean up. */
	if (fflush(stdout) != 0 || ferror(stdout))
		stop_flag = 1;
}

/* Text from a command's output or another person, shown safely. */
static void
indent_out(const char *s)
{
	if (s == NULL || *s == '\0')
		return;
	char *c = hl_sanitize(s, strlen(s), 0);
	const char *p = c ? c : "";
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		printf("    %.*s\n", (int)n, p);
		p += n + (nl ? 1 : 0);
	}
	free(c);
	fflush(stdout);
}

static int
fail(struct runner *r, const char *fmt, ...)
{
	char why[2048];
	va_list ap;
	/* Stopping (a signal, or nobody reading) is not this step's fault. */
	if (stop_flag)
		return 130;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	char *c = hl_sanitize(why, strlen(why), 0);
	char t[64];
	stamp(r, t, sizeof t);
	fflush(stdout);
	if (r->step != NULL) {
		char *src = hl_sanitize(r->step->src, strlen(r->step->src),
		    HL_SANITIZE_ONELINE);
		fprintf(stderr, "[%s] %s:%d: FAILED: %s\n  step: %s\n", t, r->o->file,
		    r->step->line, c ? c : why, src ? src : "");
		free(src);
	} else {
		fprintf(stderr, "%s: FAILED: %s\n", r->o->file, c ? c : why);
	}
	free(c);
	return 1;
}

/* --- files --- */

static int
mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_LEN];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, mode) != 0 && errno != EEXIST ? -1 : 0;
}

static int
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t len = strlen(text), done = 0;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return close(fd) == 0 && done == len ? 0 : -1;
}

/* A whole file (caller frees); "" when unreadable; NULL without memory. */
static char *
read_file(const char *path)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (buf == NULL)
		return NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd >= 0) {
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	buf[len] = '\0';
	return buf;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* --- processes --- */

/* Waits, watching standard output: a pipe whose reader went away shows
 * POLLERR, and then nobody is left to tell, so the run stops. */
static int
sleep_ms(int64_t ms)
{
	int64_t end = hl_mono_ms() + ms;
	int watch = 1;
	while (!stop_flag) {
		int64_t left = end - hl_mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd out = { .fd = STDOUT_FILENO, .events = 0 };
		int timeout = (int)(left > 100 ? 100 : left);
		int n = poll(watch ? &out : NULL, watch ? 1 : 0, timeout);
		if (n > 0 && (out.revents & POLLNVAL))
			watch = 0;
		else if (n > 0 && (out.revents & (POLLERR | POLLHUP)))
			stop_flag = 1;
		else if (n > 0)
			poll(NULL, 0, timeout);
	}
	return -1;
}

/* Waits for pid up to timeout_ms: its exit code, 128+signal, or -1 when
 * it is still running. */
static int
wait_child(pid_t pid, int64_t timeout_ms)
{
	int64_t end = hl_mono_ms() + timeout_ms;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		int status;
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			if (fd >= 0)
				close(fd);
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			    WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
		}
		if (w < 0 && errno != EINTR) {
			if (fd >= 0)
				close(fd);
			return 1;
		}
		int64_t left = end - hl_mono_ms();
		if (left <= 0 || stop_flag)
			break;
		/* A pidfd becomes readable when the child ends; without one,
		 * look again soon. */
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		poll(fd >= 0 ? &pfd : NULL, fd >= 0 ? 1 : 0,
		    (int)(fd >= 0 ? (left > 1000 ? 1000 : left) : (left > 20 ? 20 : left)));
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

static void
end_child(pid_t pid, int64_t grace_ms)
{
	kill(pid, SIGTERM);
	if (wait_child(pid, grace_ms) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* What the commands inherit: the search path, the locale and the zone,
 * the sanitizers' settings; the profile's own places. */
static const char *const inherited[] = {
	"PATH", "TZ", "LANG", "LC_ALL", "LC_CTYPE", "ASAN_OPTIONS",
	"UBSAN_OPTIONS", "LSAN_OPTIONS", NULL,
};

struct env {
	char *v[24];
	size_t n;
	char buf[6][PATH_LEN + 64];
};

static void
env_make(struct env *e, const struct client *c)
{
	e->n = 0;
	for (size_t i = 0; inherited[i]; i++) {
		const char *v = getenv(inherited[i]);
		if (v != NULL) {
			/* environ entries are "NAME=value": find this one. */
			extern char **environ;
			size_t nl = strlen(inherited[i]);
			for (char **p = environ; *p; p++)
				if (strncmp(*p, inherited[i], nl) == 0 && (*p)[nl] == '=')
					e->v[e->n++] = *p;
		}
	}
	if (c != NULL) {
		snprintf(e->buf[0], sizeof e->buf[0], "HOME=%s", c->dir);
		snprintf(e->buf[1], sizeof e->buf[1], "HOTLINE_HOME=%s/home", c->dir);
		snprintf(e->buf[2], sizeof e->buf[2], "XDG_CONFIG_HOME=%s/config", c->dir);
		snprintf(e->buf[3], sizeof e->buf[3], "XDG_DATA_HOME=%s/data", c->dir);
		snprintf(e->buf[4], sizeof e->buf[4], "HOTLINE_PASSPHRASE_FILE=%s/pass",
		    c->dir);
		for (int i = 0; i < 5; i++)
			e->v[e->n++] = e->buf[i];
	}
	e->v[e->n] = NULL;
}

/* Runs prog argv as client c (NULL: the operator), output into r->out and
 * r->err. Returns the exit code, or -1 when it could not run or took too
 * long (it is killed then). */
static int
run(struct runner *r, const struct client *c, const char *prog,
    const char *const *argv)
{
	char outp[PATH_LEN + 16], errp[PATH_LEN + 16];
	struct env e;
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
	snprintf(outp, sizeof outp, "%s/cmd.out", r->tmp);
	snprintf(errp, sizeof errp, "%s/cmd.err", r->tmp);
	env_make(&e, c);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (in < 0 || out < 0 || err < 0)
			_exit(127);
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		signal(SIGPIPE, SIG_DFL);
		execve(prog, (char *const *)argv, e.v);
		_exit(127);
	}
	child_pid = pid;
	int rc = wait_child(pid, CMD_TIMEOUT_MS);
	if (rc < 0)
		end_child(pid, 2000);
	child_pid = 0;
	r->out = read_file(outp);
	r->err = read_file(errp);
	if (r->out == NULL || r->err == NULL)
		return -1;
	return rc;
}

/* The hotline command as client c. */
static int
hotline(struct runner *r, const struct client *c, const char *const *args)
{
	const char *argv[ARGV_MAX + 2];
	size_t n = 0;
	argv[n++] = "hotline";
	for (size_t i = 0; args[i] != NULL && n < ARGV_MAX; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return run(r, c, r->o->hotline, argv);
}

static int
relay_admin(struct runner *r, const char *const *args)
{
	const char *argv[ARGV_MAX + 2];
	size_t n = 0;
	argv[n++] = "hotline-relay";
	for (size_t i = 0; args[i] != NULL && n < ARGV_MAX - 2; i++)
		argv[n++] = args[i];
	argv[n++] = "-c";
	argv[n++] = r->ini;
	argv[n] = NULL;
	return run(r, NULL, r->o->relay, argv);
}

/* --- the relay --- */

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int port = -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int
relay_write_ini(struct runner *r)
{
	char text[3 * PATH_LEN];
	snprintf(text, sizeof text, "[server]\nlisten = 127.0.0.1:%d\n"
	    "allow_plain_http = true\n[store]\nurl = sqlite:%s/relay.db\n",
	    r->port, r->tmp);
	return write_file(r->ini, text);
}

static int
relay_spawn(struct runner *r)
{
	struct env e;
	env_make(&e, NULL);
	size_t before = 0;
	struct stat st;
	if (stat(r->log, &st) == 0)
		before = (size_t)st.st_size;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int in = open("/dev/null", O_RDWR);
		int log = open(r->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (in < 0 || log < 0)
			_exit(127);
		dup2(in, 0);
		dup2(in, 1);
		dup2(log, 2);
		signal(SIGPIPE, SIG_DFL);
		const char *argv[] = { "hotline-relay", "serve", "-c", r->ini, NULL };
		execve(r->o->relay, (char *const *)argv, e.v);
		_exit(127);
	}
	r->relay_pid = pid;
	/* Up when it says so in its log (after what earlier runs wrote). */
	int64_t end = hl_mono_ms() + RELAY_START_MS;
	while (hl_mono_ms() < end && !stop_flag) {
		char *log = read_file(r->log);
		int up = log != NULL && strlen(log) > before &&
		    strstr(log + before, "event=start") != NULL;
		free(log);
		if (up)
			return 0;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			r->relay_pid = 0;
			return -1;
		}
		sleep_ms(50);
	}
	end_child(pid, 2000);
	r->relay_pid = 0;
	return -1;
}

static int
relay_start(struct runner *r)
{
	if (r->relay_pid > 0) {
		echo(r, "   relay already running on 127.0.0.1:%d", r->port);
		return 0;
	}
	if (!r->relay_inited) {
		/* A port free a moment ago can be taken meanwhile: a few tries. */
		for (int tries = 0; tries < 5; tries++) {
			r->port = free_port();
			if (r->port <= 0 || relay_write_ini(r) != 0)
				return fail(r, "no free port for the relay");
			if (!r->relay_inited) {
				const char *args[] = { "init", NULL };
				int rc = relay_admin(r, args);
				if (rc != 0)
					return fail(r, "hotline-relay init: exit %d: %s", rc,
					    r->err ? r->err : "");
				r->relay_inited = 1;
			}
			if (relay_spawn(r) == 0)
				break;
		}
	} else if (relay_spawn(r) != 0) {
		r->relay_pid = 0;
	}
	if (r->relay_pid <= 0) {
		char *log = read_file(r->log);
		int rc = fail(r, "the relay did not start; its log:\n%s", log ? log : "");
		free(log);
		return rc;
	}
	echo(r, "   relay up on 127.0.0.1:%d (pid %ld)", r->port, (long)r->relay_pid);
	return 0;
}

static void
relay_end(struct runner *r, int how)
{
	if (r->relay_pid <= 0)
		return;
	if (how == SIGKILL) {
		kill(r->relay_pid, SIGKILL);
		waitpid(r->relay_pid, NULL, 0);
	} else {
		end_child(r->relay_pid, RELAY_STOP_MS);
	}
	r->relay_pid = 0;
}

/* --- clients --- */

static struct client *
find_client(struct runner *r, const char *name)
{
	for (size_t i = 0; i < r->nclients; i++)
		if (strcmp(r->clients[i].name, name) == 0)
			return &r->clients[i];
	return NULL;
}

/* Every profile knows every alternate named at registration, as officers
 * note them at the exchange of contacts, and escalates on its own. */
static int
write_configs(struct runner *r)
{
	size_t cap = 256 + r->nclients * (2 * HL_HANDLE_MAX + 8);
	char *text = malloc(cap);
	if (text == NULL)
		return -1;
	size_t n = (size_t)snprintf(text, cap, "[messages]\nescalate = auto\n"
	    "[alternates]\n");
	for (size_t i = 0; i < r->nclients; i++)
		if (r->clients[i].alt[0])
			n += (size_t)snprintf(text + n, cap - n, "%s = %s\n",
			    r->clients[i].name, r->clients[i].alt);
	int rc = 0;
	for (size_t i = 0; i < r->nclients && rc == 0; i++) {
		char path[PATH_LEN + 64];
		snprintf(path, sizeof path, "%s/config/hotline", r->clients[i].dir);
		if (mkdirs(path, 0700) != 0)
			rc = -1;
		strncat(path, "/client.ini", sizeof path - strlen(path) - 1);
		if (rc == 0 && write_file(path, text) != 0)
			rc = -1;
	}
	free(text);
	return rc;
}

/* A profile with the cheapest vault libsodium allows: the profile and its
 * relay are thrown away at the end, and fifty contacts must not each
 * pay a real Argon2id cost at every command. */
static int
make_profile(struct runner *r, struct client *c)
{
	char home[PATH_LEN + 16], db[PATH_LEN + 32], pass[PATH_LEN + 16];
	char cause[HL_CAUSE_MAX] = "";
	struct hl_kdf_params kdf;
	struct hl_crypto *cr = NULL;
	c->gen++;
	snprintf(c->dir, sizeof c->dir, "%s/clients/%s.%d", r->tmp, c->name, c->gen);
	snprintf(home, sizeof home, "%s/home", c->dir);
	snprintf(db, sizeof db, "%s/hotline.db", home);
	snprintf(pass, sizeof pass, "%s/pass", c->dir);
	if (mkdirs(home, 0700) != 0 || write_file(pass, PASSPHRASE "\n") != 0)
		return fail(r, "cannot make the profile of %s in %s", c->name, c->dir);
	hl_kdf_params_minimum(&kdf);
	int rc = hl_crypto_create(db, PASSPHRASE, strlen(PASSPHRASE), &kdf, &cr,
	    cause);
	if (rc == 0)
		rc = hl_store_init(cr, cause);
	hl_crypto_close(cr);
	if (rc != 0)
		return fail(r, "profile of %s: %s", c->name, cause);
	return write_configs(r) == 0 ? 0 :
	    fail(r, "cannot write the client.ini files");
}

static void
trim_end(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

static int
enrol(struct runner *r, struct client *c)
{
	char url[64], codefile[PATH_LEN + 16], code[128];
	int rc = make_profile(r, c);
	if (rc != 0)
		return rc;
	const char *inv[] = { "invite", c->name, "--expires", "1h", NULL };
	rc = relay_admin(r, inv);
	if (rc != 0)
		return fail(r, "hotline-relay invite %s: exit %d: %s", c->name, rc,
		    r->err ? r->err : "");
	snprintf(code, sizeof code, "%s", r->out);
	trim_end(code);
	snprintf(codefile, sizeof codefile, "%s/code", c->dir);
	if (write_file(codefile, code) != 0)
		return fail(r, "cannot write the enrolment code");
	snprintf(url, sizeof url, "http://127.0.0.1:%d", r->port);
	const char *args[] = { "register", "--relay", url, "--handle", c->name,
	    "--code-file", codefile,
	    "--name", c->name, c->alt[0] ? "--alternate" : NULL, c->alt, NULL };
	rc = hotline(r, c, args);
	sodium_memzero(code, sizeof code);
	unlink(codefile);
	indent_out(r->out);
	if (rc != 0)
		return fail(r, "hotline register as %s: exit %d: %s", c->name, rc,
		    r->err ? r->err : "");
	return 0;
}

static int
do_register(struct runner *r, const struct hl_step *st)
{
	struct client *c = find_client(r, st->name);
	if (c == NULL) {
		void *nv = realloc(r->clients, (r->nclients + 1) * sizeof *r->clients);
		if (nv == NULL)
			return fail(r, "out of memory");
		r->clients = nv;
		c = &r->clients[r->nclients++];
		memset(c, 0, sizeof *c);
		snprintf(c->name, sizeof c->name, "%s", st->name);
	}
	snprintf(c->alt, sizeof c->alt, "%s", st->peer);
	return enrol(r, c);
}

static int
do_reenrol(struct runner *r, const struct hl_step *st)
{
	struct client *c = find_client(r, st->name);
	const char *rev[] = { "revoke", st->name, NULL };
	int rc = relay_admin(r, rev);
	if (rc != 0)
		return fail(r, "hotline-relay revoke %s: exit %d: %s", st->name, rc,
		    r->err ? r->err : "");
	return enrol(r, c);
}

/* The exit codes a step accepts: success, and "the relay could not be
 * reached" for steps whose work waits in the outbox for the next try. */
static int
step_ok(int rc, int queues)
{
	return rc == 0 || (queues && rc == 6);
}

static int
command_step(struct runner *r, const struct client *c, const char *const *args,
    int queues, const char *what)
{
	int rc = hotline(r, c, args);
	indent_out(r->out);
	if (rc == 6 && queues)
		echo(r, "   (relay unreachable: kept in the outbox)");
	if (!step_ok(rc, queues))
		return fail(r, "hotline %s as %s: exit %d: %s", what, c->name, rc,
		    r->err ? r->err : "");
	return 0;
}

static int
do_send(struct runner *r, const struct hl_step *st)
{
	char ack[32];
	const char *args[ARGV_MAX];
	size_t n = 0;
	args[n++] = "send";
	args[n++] = st->peer;
	if (st->prio == 1)
		args[n++] = "--urgent";
	if (st->prio == 2)
		args[n++] = "--flash";
	if (st->check)
		args[n++] = "--check";
	if (st->ack_within_ms > 0) {
		snprintf(ack, sizeof ack, "%lldms", (long long)st->ack_within_ms);
		args[n++] = "--ack-within";
		args[n++] = ack;
	}
	args[n++] = "--";
	args[n++] = st->text;
	args[n] = NULL;
	return command_step(r, find_client(r, st->name), args, 1, "send");
}

static int
do_ack(struct runner *r, const struct hl_step *st)
{
	const char *args[] = { "ack", st->code[0] ? "--response" : "--",
	    st->code[0] ? st->code : "last", st->code[0] ? "--" : st->text,
	    st->code[0] ? "last" : NULL, st->text, NULL };
	return command_step(r, find_client(r, st->name), args, 1, "ack");
}

/* --- reading a profile back --- */

/* Every message of c, as the export gives them (a JSON array; caller
 * decrefs), after one sync so that what came in is there. */
static json_t *
messages(struct runner *r, const struct client *c, int sync_first)
{
	if (sync_first) {
		const char *sync[] = { "sync", NULL };
		int rc = hotline(r, c, sync);
		if (r->o->verbose)
			indent_out(r->out);
		(void)rc;   /* an unreachable relay is what some steps expect */
	}
	const char *exp[] = { "--json", "export", NULL };
	if (hotline(r, c, exp) != 0)
		return NULL;
	json_t *a = json_array();
	for (char *s = r->out, *line; a && (line = strsep(&s, "\n")) != NULL;) {
		if (*line != '{')
			continue;
		json_t *o = json_loads(line, 0, NULL);
		if (o != NULL)
			json_array_append_new(a, o);
	}
	return a;
}

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static int
bookkeeping(json_t *m)
{
	const char *k = jstr(m, "kind");
	return strcmp(k, "receipt") == 0 || strcmp(k, "ack") == 0;
}

/* When the message was made: queued (outbound) or new (inbound). */
static const char *
created(json_t *m)
{
	json_t *t = json_object_get(m, "times");
	const char *s = json_string_value(json_object_get(t, "queued"));
	if (s == NULL)
		s = json_string_value(json_object_get(t, "new"));
	return s ? s : "";
}

static json_t *
newest(json_t *a)
{
	json_t *best = NULL, *m;
	size_t i;
	json_array_foreach(a, i, m) {
		if (bookkeeping(m))
			continue;
		if (best == NULL || strcmp(created(m), created(best)) >= 0)
			best = m;
	}
	return best;
}

/* 1 when the expectation holds, 0 when not (found says what there is),
 * -1 when the profile could not be read. */
static int
check_once(struct runner *r, const struct hl_step *st, int sync_first,
    char *found, size_t flen)
{
	const struct client *c = find_client(r, st->name);
	json_t *a = messages(r, c, sync_first), *m;
	size_t i;
	int ok = 0;
	if (a == NULL) {
		snprintf(found, flen, "the profile could not be read: %s",
		    r->err ? r->err : "");
		return -1;
	}
	if (st->kind == HL_STEP_EXPECT_SEES) {
		size_t n = 0;
		const char *last = "";
		json_array_foreach(a, i, m) {
			if (strcmp(jstr(m, "dir"), "in") != 0 || bookkeeping(m))
				continue;
			n++;
			last = jstr(m, "body");
			if (strstr(last, st->text) != NULL)
				ok = 1;
		}
		char *one = hl_sanitize(last, strlen(last), HL_SANITIZE_ONELINE);
		snprintf(found, flen, "%zu message%s received%s%.200s%s", n,
		    n == 1 ? "" : "s", n ? ", the newest: \"" : "", one ? one : "",
		    n ? "\"" : "");
		free(one);
	} else if (st->kind == HL_STEP_EXPECT_STATE) {
		json_t *x = newest(a);
		if (x == NULL) {
			snprintf(found, flen, "no message sent or received");
		} else {
			ok = strcmp(jstr(x, "state"), st->state) == 0;
			snprintf(found, flen, "%s %.8s %s %s is %s", strcmp(jstr(x, "dir"),
			    "out") == 0 ? "sent" : "received", jstr(x, "id"),
			    strcmp(jstr(x, "dir"), "out") == 0 ? "to" : "from",
			    jstr(x, "peer"), jstr(x, "state"));
		}
	} else {
		long n = 0;
		json_array_foreach(a, i, m)
			/* Escalated is overdue and sent on to the alternate. */
			if (strcmp(jstr(m, "dir"), "out") == 0 &&
			    (strcmp(jstr(m, "state"), "overdue") == 0 ||
			    strcmp(jstr(m, "state"), "escalated") == 0))
				n++;
		ok = n == st->n;
		snprintf(found, flen, "%ld overdue", n);
	}
	json_decref(a);
	return ok;
}

static int
do_expect(struct runner *r, const struct hl_step *st)
{
	char found[512] = "";
	int64_t t0 = hl_mono_ms(), end = t0 + st->within_ms;
	for (;;) {
		int ok = check_once(r, st, 1, found, sizeof found);
		if (ok == 1) {
			echo(r, "   ok after %.1fs: %s", (double)(hl_mono_ms() - t0) / 1000.0,
			    found);
			return 0;
		}
		if (stop_flag)
			return 130;
		if (hl_mono_ms() >= end)
			break;
		if (sleep_ms(POLL_PAUSE_MS) != 0)
			return 130;
	}
	char d[32] = "";
	if (st->within_ms > 0)
		hl_duration_format(st->within_ms, d, sizeof d);
	switch (st->kind) {
	case HL_STEP_EXPECT_SEES:
		return fail(r, "expected %s to see \"%s\"%s%s; found %s", st->name,
		    st->text, d[0] ? " within " : "", d, found);
	case HL_STEP_EXPECT_STATE:
		return fail(r, "expected the last message of %s to be %s%s%s; found %s",
		    st->name, st->state, d[0] ? " within " : "", d, found);
	default:
		return fail(r, "expected %s to have %ld overdue%s%s; found %s", st->name,
		    st->n, d[0] ? " within " : "", d, found);
	}
}

/* --- drills --- */

static int
do_drill_start(struct runner *r, const struct hl_step *st)
{
	char ack[32];
	const char *args[ARGV_MAX];
	size_t n = 0;
	struct client *c = find_client(r, st->name);
	args[n++] = "--json";
	args[n++] = "drill";
	args[n++] = "start";
	args[n++] = "--to";
	args[n++] = st->to;
	if (st->ack_within_ms > 0) {
		snprintf(ack, sizeof ack, "%lldms", (long long)st->ack_within_ms);
		args[n++] = "--ack-within";
		args[n++] = ack;
	}
	if (st->text != NULL) {
		args[n++] = "--note";
		args[n++] = st->text;
	}
	args[n] = NULL;
	int rc = hotline(r, c, args);
	if (!step_ok(rc, 1))
		return fail(r, "hotline drill start as %s: exit %d: %s", c->name, rc,
		    r->err ? r->err : "");
	json_t *o = json_loads(r->out, 0, NULL);
	const char *id = jstr(o, "drill");
	if (strlen(id) != HL_DRILL_ID_HEX) {
		json_decref(o);
		return fail(r, "hotline drill start printed no drill id: %s", r->out);
	}
	void *nv = realloc(r->drills, (r->ndrills + 1) * sizeof *r->drills);
	if (nv == NULL) {
		json_decref(o);
		return fail(r, "out of memory");
	}
	r->drills = nv;
	snprintf(r->drills[r->ndrills].id, sizeof r->drills[0].id, "%s", id);
	r->drills[r->ndrills++].by = (int)(c - r->clients);
	echo(r, "   drill %s by %s: %lld contacts, %lld accepted by the relay in "
	    "%.1fs", id, c->name,
	    (long long)json_integer_value(json_object_get(o, "contacts")),
	    (long long)json_integer_value(json_object_get(o, "accepted")),
	    (double)json_integer_value(json_object_get(o, "took_ms")) / 1000.0);
	json_decref(o);
	return 0;
}

/* The drill an id names ("last" or a prefix) and who started it. */
static const struct drill_seen *
find_drill(struct runner *r, const char *which)
{
	if (strcmp(which, "last") == 0)
		return r->ndrills ? &r->drills[r->ndrills - 1] : NULL;
	for (size_t i = r->ndrills; i-- > 0;)
		if (strncmp(r->drills[i].id, which, strlen(which)) == 0)
			return &r->drills[i];
	return NULL;
}

static int
do_drill_report(struct runner *r, const struct hl_step *st)
{
	const char *args[ARGV_MAX];
	size_t n = 0;
	const struct drill_seen *d = find_drill(r, st->arg);
	struct client *c = find_client(r, st->name);
	args[n++] = "drill";
	args[n++] = "report";
	args[n++] = d ? d->id : st->arg;
	if (st->format) {
		args[n++] = "--format";
		args[n++] = st->format;
	}
	if (st->output) {
		char dir[PATH_LEN];
		snprintf(dir, sizeof dir, "%s", st->output);
		char *slash = strrchr(dir, '/');
		if (slash != NULL && slash != dir) {
			*slash = '\0';
			if (mkdirs(dir, 0755) != 0)
				return fail(r, "cannot make %s", dir);
		}
		/* A scenario is run again and again: its FILE is its own. */
		args[n++] = "-o";
		args[n++] = st->output;
		args[n++] = "--force";
	}
	args[n] = NULL;
	return command_step(r, c, args, 0, "drill report");
}

static int
do_expect_report(struct runner *r, const struct hl_step *st)
{
	const struct drill_seen *d = find_drill(r, st->arg);
	if (d == NULL)
		return fail(r, "no drill %s was started in this scenario", st->arg);
	const struct client *c = &r->clients[d->by];
	const char *sync[] = { "sync", NULL };
	hotline(r, c, sync);
	const char *args[] = { "drill", "report", d->id, "--format", "json", NULL };
	int rc = hotline(r, c, args);
	if (rc != 0)
		return fail(r, "hotline drill report as %s: exit %d: %s", c->name, rc,
		    r->err ? r->err : "");
	json_t *o = json_loads(r->out, 0, NULL);
	json_t *s = json_object_get(o, "summary");
	static const char *keys[] = { "rate", "contacts", "delivered", "in_time",
	    "late", "no_answer" };
	json_t *v = json_object_get(s, keys[st->metric]);
	if (v == NULL) {
		json_decref(o);
		return fail(r, "the report of drill %s has no summary", d->id);
	}
	double x = json_number_value(v);
	char summary[256];
	snprintf(summary, sizeof summary, "contacts %lld, delivered %lld, in time "
	    "%lld, late %lld, no answer %lld, rate %.2f",
	    (long long)json_integer_value(json_object_get(s, "contacts")),
	    (long long)json_integer_value(json_object_get(s, "delivered")),
	    (long long)json_integer_value(json_object_get(s, "in_time")),
	    (long long)json_integer_value(json_object_get(s, "late")),
	    (long long)json_integer_value(json_object_get(s, "no_answer")),
	    json_number_value(json_object_get(s, "rate")));
	json_decref(o);
	if (!hl_cmp_holds(st->cmp, x, st->value))
		return fail(r, "expected drill %s %s %s %g; found %g (%s)", d->id,
		    hl_metric_name(st->metric), hl_cmp_name(st->cmp), st->value, x,
		    summary);
	echo(r, "   ok: %s %g (%s)", hl_metric_name(st->metric), x, summary);
	return 0;
}

/* --- the steps --- */

static int
do_step(struct runner *r, const struct hl_step *st)
{
	struct client *c = st->name[0] ? find_client(r, st->name) : NULL;
	switch (st->kind) {
	case HL_STEP_RELAY:
		switch (st->relay) {
		case HL_RELAY_START:
			return relay_start(r);
		case HL_RELAY_KILL:
			relay_end(r, SIGKILL);
			return 0;
		case HL_RELAY_STOP:
			relay_end(r, SIGTERM);
			return 0;
		case HL_RELAY_RESTART:
			relay_end(r, SIGTERM);
			return relay_start(r);
		}
		return 0;
	case HL_STEP_REGISTER:
		return do_register(r, st);
	case HL_STEP_REENROL:
		return do_reenrol(r, st);
	case HL_STEP_SEND:
		return do_send(r, st);
	case HL_STEP_SYNC: {
		const char *args[] = { "sync", NULL };
		return command_step(r, c, args, 1, "sync");
	}
	case HL_STEP_ACK:
		return do_ack(r, st);
	case HL_STEP_TRUST: {
		const char *args[] = { "trust", st->peer, NULL };
		return command_step(r, c, args, 0, "trust");
	}
	case HL_STEP_DRILL_START:
		return do_drill_start(r, st);
	case HL_STEP_DRILL_REPORT:
		return do_drill_report(r, st);
	case HL_STEP_WAIT:
		return sleep_ms(st->wait_ms) == 0 ? 0 : 130;
	case HL_STEP_EXPECT_SEES:
	case HL_STEP_EXPECT_STATE:
	case HL_STEP_EXPECT_OVERDUE:
		return do_expect(r, st);
	case HL_STEP_EXPECT_REPORT:
		return do_expect_report(r, st);
	}
	return fail(r, "unknown step");
}

static void
cleanup(struct runner *r)
{
	if (child_pid > 0)
		end_child(child_pid, 2000);
	relay_end(r, SIGTERM);
	if (r->tmp[0])
		nftw(r->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(r->out);
	free(r->err);
	free(r->clients);
	free(r->drills);
}

int
hl_scenario_run(const struct hl_scenario *s, const struct hl_scenario_opts *o)
{
	struct runner r;
	memset(&r, 0, sizeof r);
	r.o = o;
	r.t0 = hl_mono_ms();
	const char *tmpdir = getenv("TMPDIR");
	snprintf(r.tmp, sizeof r.tmp, "%s/hotline-drill.XXXXXX",
	    tmpdir && *tmpdir == '/' ? tmpdir : "/tmp");
	if (mkdtemp(r.tmp) == NULL) {
		fprintf(stderr, "hotline-drill: cannot make a temporary directory: %s\n",
		    strerror(errno));
		return 2;
	}
	snprintf(r.ini, sizeof r.ini, "%s/relay.ini", r.tmp);
	snprintf(r.log, sizeof r.log, "%s/relay.log", r.tmp);
	int rc = 0;
	echo(&r, "scenario %s: %zu steps", o->file, s->n);
	/* The relay is there from the start unless the scenario starts it. */
	if (s->n > 0 && s->steps[0].kind != HL_STEP_RELAY)
		rc = relay_start(&r);
	if (stop_flag)
		rc = 130;
	for (size_t i = 0; rc == 0 && i < s->n; i++) {
		r.step = &s->steps[i];
		echo(&r, "%s:%d  %s", o->file, r.step->line, r.step->src);
		rc = do_step(&r, r.step);
		if (stop_flag)
			rc = 130;
	}
	r.step = NULL;
	if (rc == 0)
		echo(&r, "scenario %s passed: %zu steps in %.1fs", o->file, s->n,
		    (double)(hl_mono_ms() - r.t0) / 1000.0);
	else if (rc == 130)
		fprintf(stderr, "%s: interrupted; cleaning up\n", o->file);
	cleanup(&r);
	return rc == 0 ? 0 : rc == 130 ? 130 : 1;
}
