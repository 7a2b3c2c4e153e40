#include "tests/lib/hl_testrelay.h"
#include "tests/lib/hl_testpg.h"
#include "tests/lib/hl_testhttp.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The environment execvp passes on (unistd.h declares it only for
 * _GNU_SOURCE). */
extern char **environ;

#define MAX_PIDS 128
#define MAX_DIRS 64
#define START_TRIES 5

/* --- what to clean up at exit --- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t pids[MAX_PIDS];
static char dirs[MAX_DIRS][HL_TEST_PATH];
static int registered;

static void
cleanup_at_exit(void)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < MAX_PIDS; i++) {
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
			pids[i] = 0;
		}
	}
	for (size_t i = 0; i < MAX_DIRS; i++) {
		if (dirs[i][0] != '\0') {
			hl_test_rmtree(dirs[i]);
			dirs[i][0] = '\0';
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

static void
ensure_registered(void)
{
	if (!registered) {
		registered = 1;
		atexit(cleanup_at_exit);
	}
}

static void
remember_pid(pid_t pid)
{
	pthread_mutex_lock(&registry_lock);
	ensure_registered();
	for (size_t i = 0; i < MAX_PIDS; i++) {
		if (pids[i] == 0) {
			pids[i] = pid;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

/* A reaped PID may be reused by the system: it must never be killed
 * later, so it leaves the registry as soon as it is reaped. */
static void
forget_pid(pid_t pid)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < MAX_PIDS; i++)
		if (pids[i] == pid)
			pids[i] = 0;
	pthread_mutex_unlock(&registry_lock);
}

static void
remember_dir(const char *path)
{
	pthread_mutex_lock(&registry_lock);
	ensure_registered();
	for (size_t i = 0; i < MAX_DIRS; i++) {
		if (dirs[i][0] == '\0') {
			snprintf(dirs[i], sizeof dirs[i], "%s", path);
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

static void
forget_dir(const char *path)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < MAX_DIRS; i++)
		if (strcmp(dirs[i], path) == 0)
			dirs[i][0] = '\0';
	pthread_mutex_unlock(&registry_lock);
}

/* --- building blocks --- */

long long
hl_test_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
hl_test_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

int
hl_test_rmtree(const char *path)
{
	/* Only ever our own mkdtemp folders. */
	if (strncmp(path, "/tmp/hl-test.", 13) != 0)
		return -1;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void
hl_test_tempdir_remove(const char *path)
{
	hl_test_rmtree(path);
	forget_dir(path);
}

int
hl_test_tempdir(char *out, size_t len)
{
	char tpl[] = "/tmp/hl-test.XXXXXX";
	if (mkdtemp(tpl) == NULL || strlen(tpl) >= len)
		return -1;
	snprintf(out, len, "%s", tpl);
	remember_dir(out);
	return 0;
}

int
hl_test_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof a;
	int port = -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

const char *
hl_test_program(const char *name, char *out, size_t len)
{
	const char *dir = getenv("HOTLINE_BUILD");
	if (dir != NULL && dir[0] != '\0') {
		snprintf(out, len, "%s/%s", dir, name);
		if (access(out, X_OK) == 0)
			return out;
	}
	snprintf(out, len, "%s", name);
	return out;
}

static int
open_output(const char *path)
{
	return open(path ? path : "/dev/null",
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

int
hl_test_spawn(const char *const *argv, const char *out_path,
    const char *err_path, pid_t *pid)
{
	return hl_test_spawn_env(argv, NULL, out_path, err_path, pid);
}

int
hl_test_spawn_env(const char *const *argv, const char *const *envp,
    const char *out_path, const char *err_path, pid_t *pid)
{
	int out = open_output(out_path);
	int err = open_output(err_path);
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (out < 0 || err < 0 || in < 0) {
		if (out >= 0)
			close(out);
		if (err >= 0)
			close(err);
		if (in >= 0)
			close(in);
		return -1;
	}
	pid_t parent = getpid();
	pid_t child = fork();
	if (child == 0) {
		/* Die with the test, even when it is killed outright. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		/* execvp searches PATH and passes environ on: swapping the
		 * pointer is all the child does, nothing that allocates. */
		if (envp != NULL)
			environ = (char **)envp;
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out);
	close(err);
	close(in);
	if (child < 0)
		return -1;
	remember_pid(child);
	*pid = child;
	return 0;
}

int
hl_test_wait(pid_t pid, int timeout_ms, int *status)
{
	long long deadline = hl_test_now_ms() + timeout_ms;
	for (;;) {
		int st = 0;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid) {
			forget_pid(pid);
			if (status != NULL)
				*status = st;
			return 0;
		}
		if (w < 0 && errno != EINTR) {
			forget_pid(pid);
			return -1;
		}
		if (hl_test_now_ms() >= deadline)
			return -1;
		hl_test_sleep_ms(10);
	}
}

int
hl_test_read_file(const char *path, char *buf, size_t len)
{
	if (len == 0)
		return -1;
	buf[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	while (got < len - 1) {
		ssize_t n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	return 0;
}

/* --- the relay --- */

int
hl_test_store_is_pg(void)
{
	const char *v = getenv("HOTLINE_TEST_STORE");
	return v != NULL && strcmp(v, "postgresql") == 0;
}

static const struct hl_test_setting defaults[] = {
	{ "server", "allow_plain_http", "true" },
	{ "server", "threads", "4" },
	{ "server", "metrics", "true" },
	{ "server", "max_wait", "30s" },
	{ "store", "url", "sqlite:relay.db" },
	{ "limits", "rate_per_minute", "10000" },
	{ "limits", "bundle_rate_per_hour", "10000" },
	{ "limits", "register_rate_per_hour", "10000" },
};

void
hl_test_relay_set(struct hl_test_relay *r, const char *section,
    const char *key, const char *value)
{
	for (size_t i = 0; i < r->nsettings; i++) {
		struct hl_test_setting *s = &r->settings[i];
		if (strcmp(s->section, section) == 0 && strcmp(s->key,
		    key) == 0) {
			snprintf(s->value, sizeof s->value, "%s", value);
			return;
		}
	}
	if (r->nsettings == HL_TEST_SETTINGS)
		return;
	struct hl_test_setting *s = &r->settings[r->nsettings++];
	snprintf(s->section, sizeof s->section, "%s", section);
	snprintf(s->key, sizeof s->key, "%s", key);
	snprintf(s->value, sizeof s->value, "%s", value);
}

int
hl_test_relay_write_config(struct hl_test_relay *r)
{
	FILE *f = fopen(r->config, "w");
	if (f == NULL)
		return -1;
	static const char *const sections[] = { "server", "store", "limits" };
	for (size_t s = 0; s < 3; s++) {
		fprintf(f, "[%s]\n", sections[s]);
		for (size_t i = 0; i < r->nsettings; i++)
			if (strcmp(r->settings[i].section, sections[s]) == 0)
				fprintf(f, "%s = %s\n", r->settings[i].key,
				    r->settings[i].value);
	}
	return fclose(f) == 0 ? 0 : -1;
}

int
hl_test_relay_cmd(struct hl_test_relay *r, char *out, size_t outlen,
    char *err, size_t errlen, const char *const *args)
{
	char prog[HL_TEST_PATH];
	const char *argv[32];
	size_t n = 0;
	argv[n++] = hl_test_program("hotline-relay", prog, sizeof prog);
	for (size_t i = 0; args[i] != NULL && n < 28; i++)
		argv[n++] = args[i];
	argv[n++] = "-c";
	argv[n++] = r->config;
	argv[n] = NULL;
	char out_path[HL_TEST_DIR + 16], err_path[HL_TEST_DIR + 16];
	snprintf(out_path, sizeof out_path, "%s/cmd.out", r->dir);
	snprintf(err_path, sizeof err_path, "%s/cmd.err", r->dir);
	unlink(out_path);
	unlink(err_path);
	pid_t pid;
	int status = 0;
	if (hl_test_spawn(argv, out_path, err_path, &pid) != 0)
		return -1;
	if (hl_test_wait(pid, 30000, &status) != 0) {
		kill(pid, SIGKILL);
		hl_test_wait(pid, 5000, NULL);
		return -1;
	}
	if (out != NULL)
		hl_test_read_file(out_path, out, outlen);
	if (err != NULL)
		hl_test_read_file(err_path, err, errlen);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int
hl_test_relay_new(struct hl_test_relay *r)
{
	memset(r, 0, sizeof *r);
	if (sodium_init() < 0)
		return -1;
	if (hl_test_tempdir(r->dir, sizeof r->dir) != 0) {
		fprintf(stderr, "hl_test_relay_new: mkdtemp: %s\n",
		    strerror(errno));
		return -1;
	}
	snprintf(r->config, sizeof r->config, "%s/relay.ini", r->dir);
	snprintf(r->log, sizeof r->log, "%s/relay.log", r->dir);
	snprintf(r->db, sizeof r->db, "%s/relay.db", r->dir);
	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		hl_test_relay_set(r, defaults[i].section, defaults[i].key,
		    defaults[i].value);
	hl_test_relay_set(r, "server", "listen", "127.0.0.1:1");
	if (hl_test_store_is_pg()) {
		char url[256];
		if (hl_test_pg_fresh_url(url, sizeof url) != 0)
			return -1;
		hl_test_relay_set(r, "store", "url", url);
	}
	if (hl_test_relay_write_config(r) != 0)
		return -1;
	char err[1024];
	static const char *const init[] = { "init", NULL };
	int ex = hl_test_relay_cmd(r, NULL, 0, err, sizeof err, init);
	if (ex != 0) {
		fprintf(stderr, "hl_test_relay_new: init exited %d: %s\n", ex,
		    err);
		return -1;
	}
	return 0;
}

int
hl_test_relay_tls(struct hl_test_relay *r)
{
	char cert[HL_TEST_DIR + 16], key[HL_TEST_DIR + 16];
	snprintf(cert, sizeof cert, "%s/cert.pem", r->dir);
	snprintf(key, sizeof key, "%s/key.pem", r->dir);
	const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
	    "-keyout", key, "-out", cert, "-days", "2", "-subj",
	    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", NULL };
	char log[HL_TEST_DIR + 16];
	snprintf(log, sizeof log, "%s/openssl.log", r->dir);
	pid_t pid;
	int status = 0;
	if (hl_test_spawn(argv, log, log, &pid) != 0 ||
	    hl_test_wait(pid, 30000, &status) != 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "hl_test_relay_tls: openssl failed (see %s)\n",
		    log);
		return -1;
	}
	chmod(key, 0600);
	snprintf(r->ca_file, sizeof r->ca_file, "%s", cert);
	hl_test_relay_set(r, "server", "tls_cert", "cert.pem");
	hl_test_relay_set(r, "server", "tls_key", "key.pem");
	hl_test_relay_set(r, "server", "allow_plain_http", "false");
	return 0;
}

static int
healthy(struct hl_test_relay *r)
{
	struct hl_test_http res;
	struct hl_test_http_opts opts;
	memset(&opts, 0, sizeof opts);
	opts.timeout_s = 2;
	opts.ca_file = r->ca_file[0] ? r->ca_file : NULL;
	int ok = hl_test_http(r->url, "GET", "/v1/health", NULL, NULL, &opts,
	    &res) == 0 && res.status == 200;
	hl_test_http_free(&res);
	return ok;
}

static void
print_log(struct hl_test_relay *r)
{
	char buf[4096];
	if (hl_test_read_file(r->log, buf, sizeof buf) == 0)
		fprintf(stderr, "--- %s ---\n%s--- end ---\n", r->log, buf);
}

int
hl_test_relay_start(struct hl_test_relay *r)
{
	char prog[HL_TEST_PATH];
	for (int attempt = 0; attempt < START_TRIES; attempt++) {
		r->port = hl_test_free_port();
		if (r->port <= 0)
			return -1;
		char listen[64];
		snprintf(listen, sizeof listen, "127.0.0.1:%d", r->port);
		hl_test_relay_set(r, "server", "listen", listen);
		snprintf(r->url, sizeof r->url, "%s://127.0.0.1:%d",
		    r->ca_file[0] ? "https" : "http", r->port);
		if (hl_test_relay_write_config(r) != 0)
			return -1;
		unlink(r->log);
		const char *argv[] = { hl_test_program("hotline-relay", prog,
		    sizeof prog), "serve", "-c", r->config, NULL };
		if (hl_test_spawn(argv, NULL, r->log, &r->pid) != 0)
			return -1;
		long long deadline = hl_test_now_ms() + HL_TEST_START_MS;
		int exited = 0;
		while (hl_test_now_ms() < deadline) {
			int status;
			if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
				forget_pid(r->pid);
				r->pid = 0;
				exited = 1;
				break;
			}
			if (healthy(r))
				return 0;
			hl_test_sleep_ms(50);
		}
		if (!exited) {
			fprintf(stderr,
			    "hl_test_relay_start: no health within %d ms\n",
			    HL_TEST_START_MS);
			print_log(r);
			hl_test_relay_stop(r, SIGKILL, NULL);
			return -1;
		}
		char buf[4096];
		hl_test_read_file(r->log, buf, sizeof buf);
		if (strstr(buf, "Address already in use") == NULL) {
			fprintf(stderr, "hl_test_relay_start: serve exited\n");
			print_log(r);
			return -1;
		}
	}
	fprintf(stderr, "hl_test_relay_start: no free port after %d tries\n",
	    START_TRIES);
	return -1;
}

int
hl_test_relay_restart(struct hl_test_relay *r)
{
	char prog[HL_TEST_PATH];
	if (r->pid > 0 || r->port <= 0)
		return -1;
	/* The old listening socket is closed with the process; a moment may
	 * pass before the port can be bound again. */
	for (int attempt = 0; attempt < START_TRIES * 4; attempt++) {
		const char *argv[] = { hl_test_program("hotline-relay", prog,
		    sizeof prog), "serve", "-c", r->config, NULL };
		if (hl_test_relay_write_config(r) != 0 ||
		    hl_test_spawn(argv, NULL, r->log, &r->pid) != 0)
			return -1;
		long long deadline = hl_test_now_ms() + HL_TEST_START_MS;
		int exited = 0;
		while (!exited && hl_test_now_ms() < deadline) {
			int status;
			if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
				forget_pid(r->pid);
				r->pid = 0;
				exited = 1;
			} else if (healthy(r)) {
				return 0;
			} else {
				hl_test_sleep_ms(50);
			}
		}
		if (!exited) {
			fprintf(stderr,
			    "hl_test_relay_restart: no health within %d ms\n",
			    HL_TEST_START_MS);
			print_log(r);
			hl_test_relay_stop(r, SIGKILL, NULL);
			return -1;
		}
		hl_test_sleep_ms(250);
	}
	fprintf(stderr, "hl_test_relay_restart: port %d stayed busy\n",
	    r->port);
	print_log(r);
	return -1;
}

int
hl_test_relay_stop(struct hl_test_relay *r, int sig, int *status)
{
	if (r->pid <= 0)
		return -1;
	int st = 0;
	kill(r->pid, sig);
	int rc = hl_test_wait(r->pid, 15000, &st);
	if (rc != 0) {
		kill(r->pid, SIGKILL);
		hl_test_wait(r->pid, 5000, &st);
	}
	r->pid = 0;
	if (status != NULL)
		*status = st;
	return rc;
}

int
hl_test_relay_invite(struct hl_test_relay *r, const char *handle,
    const char *expires, char *code)
{
	char out[256], err[512];
	const char *args[] = { "invite", handle, expires ? "--expires" : NULL,
	    expires, NULL };
	int ex = hl_test_relay_cmd(r, out, sizeof out, err, sizeof err, args);
	if (ex != 0) {
		fprintf(stderr, "hl_test_relay_invite: exit %d: %s", ex, err);
		return -1;
	}
	char *nl = strchr(out, '\n');
	if (nl != NULL)
		*nl = '\0';
	snprintf(code, 64, "%.63s", out);
	return code[0] != '\0' ? 0 : -1;
}

static char *
random_key_b64(size_t len, int curve)
{
	unsigned char bin[64];
	randombytes_buf(bin, len);
	if (curve)
		bin[0] = 0x05;
	size_t n = sodium_base64_encoded_len(len,
	    sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(n);
	if (out != NULL)
		sodium_bin2base64(out, n, bin, len,
		    sodium_base64_VARIANT_ORIGINAL);
	return out;
}

static int
set_key(json_t *o, const char *name, size_t len, int curve)
{
	char *k = random_key_b64(len, curve);
	if (k == NULL)
		return -1;
	int rc = json_object_set_new(o, name, json_string(k));
	free(k);
	return rc;
}

int
hl_test_relay_account(struct hl_test_relay *r, const char *handle,
    int nprekeys, struct hl_test_account *out)
{
	char code[64];
	memset(out, 0, sizeof *out);
	if (hl_test_relay_invite(r, handle, NULL, code) != 0)
		return -1;
	json_t *spk = json_pack("{s:i}", "id", 1);
	json_t *prekeys = json_array();
	int rc = (spk && prekeys) ? 0 : -1;
	if (rc == 0)
		rc = set_key(spk, "key", 33, 1);
	if (rc == 0)
		rc = set_key(spk, "signature", 64, 0);
	for (int i = 1; rc == 0 && i <= nprekeys; i++) {
		json_t *pk = json_pack("{s:i}", "id", i);
		rc = pk ? set_key(pk, "key", 33, 1) : -1;
		if (rc == 0)
			rc = json_array_append_new(prekeys, pk);
		else
			json_decref(pk);
	}
	json_t *body = NULL;
	if (rc == 0) {
		body = json_pack("{s:s,s:s,s:i,s:i,s:o,s:o,s:{s:s,s:s,s:s}}",
		    "handle", handle, "code", code, "registration_id", 4711,
		    "device_id", 1, "signed_prekey", spk, "prekeys", prekeys,
		    "profile", "name", handle, "organisation", "test",
		    "country", "EE");
		spk = prekeys = NULL;
		rc = body ? set_key(body, "identity_key", 33, 1) : -1;
	}
	json_decref(spk);
	json_decref(prekeys);
	char *text = rc == 0 ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL)
		return -1;
	struct hl_test_http res;
	struct hl_test_http_opts opts;
	memset(&opts, 0, sizeof opts);
	opts.ca_file = r->ca_file[0] ? r->ca_file : NULL;
	rc = hl_test_http(r->url, "POST", "/v1/accounts", text, NULL, &opts,
	    &res);
	free(text);
	json_t *j = hl_test_http_json(&res);
	const char *token = json_string_value(json_object_get(j, "token"));
	if (rc == 0 && res.status == 201 && token != NULL &&
	    strlen(token) == 64) {
		snprintf(out->handle, sizeof out->handle, "%s", handle);
		snprintf(out->token, sizeof out->token, "%s", token);
		rc = 0;
	} else {
		fprintf(stderr, "hl_test_relay_account %s: status %ld: %s\n",
		    handle, res.status, res.body ? res.body : "");
		rc = -1;
	}
	json_decref(j);
	hl_test_http_free(&res);
	return rc;
}

void
hl_test_relay_free(struct hl_test_relay *r)
{
	if (r->pid > 0)
		hl_test_relay_stop(r, SIGKILL, NULL);
	if (r->dir[0] != '\0') {
		hl_test_rmtree(r->dir);
		forget_dir(r->dir);
		r->dir[0] = '\0';
	}
}
