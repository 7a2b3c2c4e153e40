#include "tests/lib/hl_testclient.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PASSPHRASE "correct horse battery staple"

/* What the children may inherit: the search path, the locale and zone, and
 * the sanitizers' settings. Nothing that points at a profile or config. */
static const char *const inherited[] = {
	"PATH", "TZ", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "ASAN_OPTIONS",
	"UBSAN_OPTIONS", "LSAN_OPTIONS", "HOTLINE_BUILD", NULL,
};

static int
add_env(struct hl_test_client *c, const char *name, const char *value)
{
	if (c->nenv + 1 >= HL_TEST_CLIENT_ENV)
		return -1;
	size_t len = strlen(name) + strlen(value) + 2;
	char *s = malloc(len);
	if (s == NULL)
		return -1;
	snprintf(s, len, "%s=%s", name, value);
	c->env[c->nenv++] = s;
	c->env[c->nenv] = NULL;
	return 0;
}

static int
make_env(struct hl_test_client *c)
{
	int rc = 0;
	for (size_t i = 0; inherited[i] != NULL; i++) {
		const char *v = getenv(inherited[i]);
		if (v != NULL)
			rc |= add_env(c, inherited[i], v);
	}
	char data[HL_TEST_PATH + 8];
	snprintf(data, sizeof data, "%s/data", c->dir);
	rc |= add_env(c, "HOME", c->dir);
	rc |= add_env(c, "HOTLINE_HOME", c->home);
	rc |= add_env(c, "XDG_CONFIG_HOME", c->config_home);
	rc |= add_env(c, "XDG_DATA_HOME", data);
	rc |= add_env(c, "HOTLINE_PASSPHRASE_FILE", c->passfile);
	return rc == 0 ? 0 : -1;
}

static int
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
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
	int ok = done == len && fchmod(fd, mode) == 0;
	return close(fd) == 0 && ok ? 0 : -1;
}

/* A whole file, however long (caller frees); "" when unreadable. */
static char *
read_all(const char *path)
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

int
hl_test_client_passphrase(struct hl_test_client *c, const char *pass)
{
	char line[256];
	snprintf(line, sizeof line, "%s\n", pass);
	return write_file(c->passfile, line, 0600);
}

int
hl_test_client_config(struct hl_test_client *c, const char *text)
{
	char dir[HL_TEST_PATH + 16];
	snprintf(dir, sizeof dir, "%s/hotline", c->config_home);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	return write_file(c->config, text, 0600);
}

int
hl_test_client_new(struct hl_test_client *c)
{
	memset(c, 0, sizeof *c);
	c->timeout_ms = HL_TEST_CLIENT_TIMEOUT_MS;
	if (hl_test_tempdir(c->dir, sizeof c->dir) != 0) {
		fprintf(stderr, "hl_test_client_new: mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	snprintf(c->home, sizeof c->home, "%s/home", c->dir);
	snprintf(c->config_home, sizeof c->config_home, "%s/config", c->dir);
	snprintf(c->config, sizeof c->config, "%s/config/hotline/client.ini",
	    c->dir);
	snprintf(c->passfile, sizeof c->passfile, "%s/passphrase", c->dir);
	if (mkdir(c->config_home, 0700) != 0 ||
	    hl_test_client_passphrase(c, PASSPHRASE) != 0 || make_env(c) != 0) {
		fprintf(stderr, "hl_test_client_new: cannot prepare %s\n", c->dir);
		return -1;
	}
	struct hl_test_run r;
	int ex = hl_test_client_run(c, &r, "init", "--kdf", "interactive", NULL);
	if (ex != 0) {
		fprintf(stderr, "hl_test_client_new: init failed\n");
		hl_test_run_print(&r);
	}
	hl_test_run_free(&r);
	return ex == 0 ? 0 : -1;
}

int
hl_test_client_start(struct hl_test_client *c, struct hl_test_run *r,
    const char *const *args)
{
	char prog[HL_TEST_PATH];
	const char *argv[HL_TEST_CLIENT_ARGS + 2];
	size_t n = 0, at = 0;
	memset(r, 0, sizeof *r);
	r->exit_code = -1;
	argv[n++] = hl_test_program("hotline", prog, sizeof prog);
	at = (size_t)snprintf(r->what, sizeof r->what, "hotline");
	for (size_t i = 0; args[i] != NULL; i++) {
		if (n == HL_TEST_CLIENT_ARGS + 1)
			return -1;
		argv[n++] = args[i];
		if (at < sizeof r->what)
			at += (size_t)snprintf(r->what + at, sizeof r->what - at, " %s",
			    args[i]);
	}
	argv[n] = NULL;
	unsigned k = c->runs++;
	snprintf(r->out_path, sizeof r->out_path, "%s/run%u.out", c->dir, k);
	snprintf(r->err_path, sizeof r->err_path, "%s/run%u.err", c->dir, k);
	unlink(r->out_path);
	unlink(r->err_path);
	r->ms = hl_test_now_ms();
	if (hl_test_spawn_env(argv, (const char *const *)c->env, r->out_path,
	    r->err_path, &r->pid) != 0) {
		r->pid = 0;
		return -1;
	}
	return 0;
}

int
hl_test_client_finish(struct hl_test_client *c, struct hl_test_run *r,
    int timeout_ms)
{
	(void)c;
	int status = 0;
	if (r->pid > 0) {
		if (hl_test_wait(r->pid, timeout_ms, &status) != 0) {
			r->timed_out = 1;
			kill(r->pid, SIGKILL);
			if (hl_test_wait(r->pid, 10000, &status) != 0)
				status = 0;
		}
		r->pid = 0;
		if (WIFEXITED(status) && !r->timed_out)
			r->exit_code = WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			r->signal = WTERMSIG(status);
	}
	r->ms = hl_test_now_ms() - r->ms;
	free(r->out);
	free(r->err);
	r->out = r->out_path[0] ? read_all(r->out_path) : NULL;
	r->err = r->err_path[0] ? read_all(r->err_path) : NULL;
	if (r->out == NULL)
		r->out = calloc(1, 1);
	if (r->err == NULL)
		r->err = calloc(1, 1);
	return r->exit_code;
}

int
hl_test_client_runv(struct hl_test_client *c, struct hl_test_run *r,
    const char *const *args)
{
	if (hl_test_client_start(c, r, args) != 0) {
		hl_test_client_finish(c, r, 0);
		return -1;
	}
	return hl_test_client_finish(c, r, c->timeout_ms);
}

/* Collects the NULL-ended variadic strings into args. -1 when too many. */
static int
collect(va_list ap, const char **args, size_t cap)
{
	size_t n = 0;
	const char *a;
	while ((a = va_arg(ap, const char *)) != NULL) {
		if (n + 1 >= cap)
			return -1;
		args[n++] = a;
	}
	args[n] = NULL;
	return 0;
}

int
hl_test_client_run(struct hl_test_client *c, struct hl_test_run *r, ...)
{
	const char *args[HL_TEST_CLIENT_ARGS + 1];
	va_list ap;
	va_start(ap, r);
	int ok = collect(ap, args, HL_TEST_CLIENT_ARGS + 1);
	va_end(ap);
	if (ok != 0) {
		memset(r, 0, sizeof *r);
		r->exit_code = -1;
		return -1;
	}
	return hl_test_client_runv(c, r, args);
}

void
hl_test_run_free(struct hl_test_run *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		hl_test_wait(r->pid, 10000, NULL);
		r->pid = 0;
	}
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
	if (r->out_path[0])
		unlink(r->out_path);
	if (r->err_path[0])
		unlink(r->err_path);
	r->out_path[0] = r->err_path[0] = '\0';
}

void
hl_test_run_print(const struct hl_test_run *r)
{
	fprintf(stderr, "--- %s: exit %d%s%s (%lld ms)\n", r->what, r->exit_code,
	    r->timed_out ? ", timed out" : "", r->signal ? ", by a signal" : "",
	    r->ms);
	fprintf(stderr, "--- stdout:\n%s--- stderr:\n%s--- end\n",
	    r->out ? r->out : "", r->err ? r->err : "");
}

int
hl_test_client_register(struct hl_test_client *c,
    struct hl_test_relay *relay, const char *handle, const char *const *extra)
{
	char code[64], code_file[HL_TEST_PATH + 16], line[80];
	const char *args[HL_TEST_CLIENT_ARGS + 1];
	size_t n = 0;
	if (hl_test_relay_invite(relay, handle, NULL, code) != 0)
		return -1;
	/* The code goes in a file, never on the command line. */
	snprintf(code_file, sizeof code_file, "%s/code", c->dir);
	snprintf(line, sizeof line, "%s\n", code);
	if (write_file(code_file, line, 0600) != 0)
		return -1;
	args[n++] = "register";
	args[n++] = "--relay";
	args[n++] = relay->url;
	args[n++] = "--handle";
	args[n++] = handle;
	args[n++] = "--code-file";
	args[n++] = code_file;
	if (relay->ca_file[0] != '\0') {
		args[n++] = "--ca";
		args[n++] = relay->ca_file;
	}
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
		if (n == HL_TEST_CLIENT_ARGS)
			return -1;
		args[n++] = extra[i];
	}
	args[n] = NULL;
	struct hl_test_run r;
	int ex = hl_test_client_runv(c, &r, args);
	if (ex != 0) {
		fprintf(stderr, "hl_test_client_register %s failed\n", handle);
		hl_test_run_print(&r);
	} else {
		snprintf(c->handle, sizeof c->handle, "%s", handle);
	}
	hl_test_run_free(&r);
	return ex == 0 ? 0 : -1;
}

void
hl_test_client_free(struct hl_test_client *c)
{
	for (size_t i = 0; i < c->nenv; i++)
		free(c->env[i]);
	c->nenv = 0;
	if (c->dir[0] != '\0') {
		hl_test_tempdir_remove(c->dir);
		c->dir[0] = '\0';
	}
}

/* --- JSON output --- */

json_t *
hl_test_run_json(const struct hl_test_run *r)
{
	json_t *lines = json_array();
	const char *p = r->out != NULL ? r->out : "";
	while (lines != NULL && *p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (len > 0) {
			json_error_t e;
			json_t *o = json_loadb(p, len, 0, &e);
			if (!json_is_object(o)) {
				json_decref(o);
				json_decref(lines);
				return NULL;
			}
			json_array_append_new(lines, o);
		}
		p += len + (nl != NULL ? 1 : 0);
	}
	return lines;
}

json_t *
hl_test_json_find(json_t *lines, const char *key, const char *value)
{
	size_t i;
	json_t *o;
	json_array_foreach(lines, i, o) {
		const char *s = json_string_value(json_object_get(o, key));
		if (s != NULL && strcmp(s, value) == 0)
			return o;
	}
	return NULL;
}

size_t
hl_test_json_count(json_t *lines, const char *key, const char *value)
{
	size_t i, n = 0;
	json_t *o;
	json_array_foreach(lines, i, o) {
		const char *s = json_string_value(json_object_get(o, key));
		if (s != NULL && strcmp(s, value) == 0)
			n++;
	}
	return n;
}

const char *
hl_test_json_str(json_t *o, const char *path)
{
	char name[64];
	while (o != NULL) {
		const char *dot = strchr(path, '.');
		size_t len = dot != NULL ? (size_t)(dot - path) : strlen(path);
		if (len >= sizeof name)
			return NULL;
		memcpy(name, path, len);
		name[len] = '\0';
		o = json_object_get(o, name);
		if (dot == NULL)
			return json_string_value(o);
		path = dot + 1;
	}
	return NULL;
}

/* The JSON lines of a command that must succeed; NULL (printed) when it
 * does not. */
static json_t *
json_of(struct hl_test_client *c, const char *const *args)
{
	struct hl_test_run r;
	int ex = hl_test_client_runv(c, &r, args);
	json_t *lines = ex == 0 ? hl_test_run_json(&r) : NULL;
	if (lines == NULL)
		hl_test_run_print(&r);
	hl_test_run_free(&r);
	return lines;
}

json_t *
hl_test_client_message(struct hl_test_client *c, const char *id)
{
	struct hl_test_run r;
	int ex = hl_test_client_run(c, &r, "--json", "status", id, NULL);
	json_t *lines = ex == 0 ? hl_test_run_json(&r) : NULL;
	/* Not (yet) there is an answer too: exit 7. */
	if (lines == NULL && ex != 7)
		hl_test_run_print(&r);
	hl_test_run_free(&r);
	json_t *m = json_incref(hl_test_json_find(lines, "id", id));
	json_decref(lines);
	return m;
}

json_t *
hl_test_client_overview(struct hl_test_client *c)
{
	const char *args[] = { "--json", "status", NULL };
	json_t *lines = json_of(c, args);
	json_t *o = json_incref(json_array_get(lines, 0));
	json_decref(lines);
	return o;
}

json_t *
hl_test_client_inbox(struct hl_test_client *c)
{
	const char *args[] = { "--json", "inbox", "--all", NULL };
	return json_of(c, args);
}

int
hl_test_client_send(struct hl_test_client *c, char *id, ...)
{
	const char *args[HL_TEST_CLIENT_ARGS + 1];
	va_list ap;
	id[0] = '\0';
	args[0] = "--json";
	args[1] = "send";
	va_start(ap, id);
	int ok = collect(ap, args + 2, HL_TEST_CLIENT_ARGS - 1);
	va_end(ap);
	if (ok != 0)
		return -1;
	struct hl_test_run r;
	int ex = hl_test_client_runv(c, &r, args);
	json_t *lines = hl_test_run_json(&r);
	const char *s = hl_test_json_str(json_array_get(lines, 0), "id");
	if (s != NULL && strlen(s) == 32)
		memcpy(id, s, 33);
	if (ex < 0 || id[0] == '\0')
		hl_test_run_print(&r);
	json_decref(lines);
	hl_test_run_free(&r);
	return ex;
}

json_t *
hl_test_client_await(struct hl_test_client *c, const char *id,
    const char *state, int tries, int timeout_ms)
{
	long long deadline = hl_test_now_ms() + timeout_ms;
	char path[64];
	snprintf(path, sizeof path, "times.%s", state);
	for (int i = 0; i < tries && hl_test_now_ms() < deadline; i++) {
		struct hl_test_run r;
		hl_test_client_run(c, &r, "sync", "--wait", "1", NULL);
		hl_test_run_free(&r);
		json_t *m = hl_test_client_message(c, id);
		if (m != NULL && hl_test_json_str(m, path) != NULL)
			return m;
		json_decref(m);
	}
	return NULL;
}

json_t *
hl_test_client_await_body(struct hl_test_client *c, const char *body,
    int tries, int timeout_ms)
{
	long long deadline = hl_test_now_ms() + timeout_ms;
	for (int i = 0; i < tries && hl_test_now_ms() < deadline; i++) {
		struct hl_test_run r;
		hl_test_client_run(c, &r, "sync", "--wait", "1", NULL);
		hl_test_run_free(&r);
		json_t *inbox = hl_test_client_inbox(c);
		json_t *m = json_incref(hl_test_json_find(inbox, "body", body));
		json_decref(inbox);
		if (m != NULL)
			return m;
	}
	return NULL;
}

long long
hl_test_json_time(json_t *o, const char *path)
{
	const char *s = hl_test_json_str(o, path);
	struct tm tm;
	int ms = 0, used = 0;
	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
		return -1;
	s += used;
	if (*s == '.') {
		int digits = 0;
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*s - '0');
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (strcmp(s, "Z") != 0)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return (long long)t * 1000 + ms;
}

long long
hl_test_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
hl_test_run_expect(const struct hl_test_run *r, int code)
{
	if (r->exit_code == code)
		return 1;
	fprintf(stderr, "expected exit %d:\n", code);
	hl_test_run_print(r);
	return 0;
}

/* --- a relay and its clients --- */

int
hl_test_world_new(struct hl_test_world *w, int tls)
{
	memset(w, 0, sizeof *w);
	if (hl_test_relay_new(&w->relay) != 0)
		return -1;
	if (tls && hl_test_relay_tls(&w->relay) != 0)
		return -1;
	return hl_test_relay_start(&w->relay);
}

struct hl_test_client *
hl_test_world_client(struct hl_test_world *w, const char *handle, ...)
{
	const char *extra[HL_TEST_CLIENT_ARGS + 1];
	va_list ap;
	if (w->n == HL_TEST_WORLD_CLIENTS)
		return NULL;
	va_start(ap, handle);
	int ok = collect(ap, extra, HL_TEST_CLIENT_ARGS + 1);
	va_end(ap);
	if (ok != 0)
		return NULL;
	struct hl_test_client *c = &w->clients[w->n++];
	if (hl_test_client_new(c) != 0)
		return NULL;
	if (handle != NULL &&
	    hl_test_client_register(c, &w->relay, handle, extra) != 0)
		return NULL;
	return c;
}

void
hl_test_world_free(struct hl_test_world *w)
{
	for (size_t i = 0; i < w->n; i++)
		hl_test_client_free(&w->clients[i]);
	w->n = 0;
	hl_test_relay_free(&w->relay);
}
