/*
 * hl_testrelay: a throwaway hotline-relay for integration tests.
 *
 *   struct hl_test_relay r;
 *   hl_test_relay_new(&r);                      temp dir, relay.ini, init
 *   hl_test_relay_set(&r, "limits", "rate_per_minute", "5");   optional
 *   hl_test_relay_start(&r);                    serve on a free port
 *   ... hl_test_http(r.url, ...) ...
 *   hl_test_relay_stop(&r, SIGTERM, &status);   optional
 *   hl_test_relay_free(&r);                     stop, remove the temp dir
 *
 * The binary is $HOTLINE_BUILD/hotline-relay (tests/run-integration.sh
 * sets it to the build folder), else hotline-relay on PATH. Every process
 * spawned and every temp dir made here is recorded; an atexit handler
 * kills the processes (by PID) and removes the dirs, so a failing test
 * leaves nothing behind. Children also die with the test process even when
 * it is killed (PR_SET_PDEATHSIG, which follows the spawning thread: start
 * long-lived processes from the main thread). All waits are bounded.
 */
#ifndef HL_TESTRELAY_H
#define HL_TESTRELAY_H

#include <stddef.h>
#include <sys/types.h>

#define HL_TEST_PATH 256
#define HL_TEST_DIR 128
#define HL_TEST_SETTINGS 64
#define HL_TEST_START_MS 10000

struct hl_test_setting {
	char section[16];
	char key[48];
	char value[256];
};

struct hl_test_relay {
	char dir[HL_TEST_DIR];         /* the temp dir */
	char config[HL_TEST_PATH];     /* dir/relay.ini */
	char log[HL_TEST_PATH];        /* dir/relay.log: serve's stderr */
	char db[HL_TEST_PATH];         /* dir/relay.db */
	char url[128];                 /* http://127.0.0.1:PORT, or https:// */
	char ca_file[HL_TEST_PATH];    /* TLS: the certificate to trust */
	int port;
	pid_t pid;                     /* serve while running, else 0 */
	struct hl_test_setting settings[HL_TEST_SETTINGS];
	size_t nsettings;
};

/* A test account: its handle and bearer token. */
struct hl_test_account {
	char handle[64];
	char token[65];
};

/* Whether the relays of this run use PostgreSQL: HOTLINE_TEST_STORE is
 * "postgresql" (tests/run-integration.sh runs the relay tests a second
 * time so). Each relay then gets a database of its own on one cluster
 * per test process (hl_testpg.h), and r->db names no file. */
int hl_test_store_is_pg(void);

/* Creates the temp dir, writes relay.ini with test defaults (plain HTTP on
 * 127.0.0.1, metrics on, generous limits) and runs `hotline-relay init`.
 * 0 or -1 (with a line on stderr). */
int hl_test_relay_new(struct hl_test_relay *r);

/* Sets [section] key = value for the next start, replacing the default. */
void hl_test_relay_set(struct hl_test_relay *r, const char *section,
    const char *key, const char *value);

/* Makes a self-signed certificate for 127.0.0.1 with the openssl command
 * and switches the relay to TLS (url becomes https://, ca_file is set). */
int hl_test_relay_tls(struct hl_test_relay *r);

/* Writes relay.ini (start does it too). */
int hl_test_relay_write_config(struct hl_test_relay *r);

/* Picks a free port, starts `serve` and waits until /v1/health answers
 * (at most HL_TEST_START_MS). Tries another port when the first is taken
 * meanwhile. 0 or -1 (serve's log is printed). */
int hl_test_relay_start(struct hl_test_relay *r);

/* Starts serve again after a stop, on the same port and with the same
 * data (clients registered with r->url reach it again); waits for health
 * as start does. 0 or -1 (serve's log is printed). */
int hl_test_relay_restart(struct hl_test_relay *r);

/* Sends sig (SIGTERM or SIGKILL) to serve and waits for it (at most 15 s,
 * then SIGKILL). *status (may be NULL) gets the waitpid status. */
int hl_test_relay_stop(struct hl_test_relay *r, int sig, int *status);

/* Runs `hotline-relay ARGS... -c relay.ini` to completion (at most 30 s).
 * args ends with NULL. out/err (may be NULL) get its stdout/stderr, cut to
 * their size. Returns its exit code, or -1. */
int hl_test_relay_cmd(struct hl_test_relay *r, char *out, size_t outlen,
    char *err, size_t errlen, const char *const *args);

/* `invite HANDLE [--expires DUR]`; code (at least 64 bytes) gets the code.
 * 0 or -1. */
int hl_test_relay_invite(struct hl_test_relay *r, const char *handle,
    const char *expires, char *code);

/* Invites and registers handle with random keys and nprekeys one-time
 * prekeys (ids 1..nprekeys). 0 or -1. */
int hl_test_relay_account(struct hl_test_relay *r, const char *handle,
    int nprekeys, struct hl_test_account *out);

/* Stops serve if running and removes the temp dir. */
void hl_test_relay_free(struct hl_test_relay *r);

/* --- building blocks, also for other tests --- */

/* mkdtemp under /tmp; recorded for removal at exit. 0 or -1. */
int hl_test_tempdir(char *out, size_t len);

/* Removes such a dir now, and from the list for exit. */
void hl_test_tempdir_remove(const char *path);

/* A port on 127.0.0.1 that was free a moment ago, or -1. */
int hl_test_free_port(void);

/* The path of a built program: $HOTLINE_BUILD/name when that exists,
 * else name (found on PATH by exec). */
const char *hl_test_program(const char *name, char *out, size_t len);

/* fork+exec argv with stdout/stderr to files (NULL: /dev/null); the PID
 * is recorded and killed at exit if still running. 0 or -1. */
int hl_test_spawn(const char *const *argv, const char *out_path,
    const char *err_path, pid_t *pid);

/* hl_test_spawn with envp ("NAME=value" strings, NULL-ended) as the
 * child's whole environment; NULL: this process's. */
int hl_test_spawn_env(const char *const *argv, const char *const *envp,
    const char *out_path, const char *err_path, pid_t *pid);

/* Waits at most timeout_ms for pid; 0 with *status, or -1 on timeout. */
int hl_test_wait(pid_t pid, int timeout_ms, int *status);

/* Removes a directory tree (no symlinks followed). */
int hl_test_rmtree(const char *path);

/* Reads a whole small file into buf (NUL-terminated, cut). 0 or -1. */
int hl_test_read_file(const char *path, char *buf, size_t len);

/* Milliseconds of a monotonic clock. */
long long hl_test_now_ms(void);

/* Sleeps ms milliseconds. */
void hl_test_sleep_ms(long ms);

#endif
