/*
 * hl_testclient: real `hotline` profiles for integration tests, each in a
 * temp dir of its own, driven as child processes.
 *
 *   struct hl_test_client a;
 *   hl_test_client_new(&a);                      temp dir, passphrase, init
 *   hl_test_client_register(&a, &relay, "ee.cert", NULL);  invite, register
 *   struct hl_test_run r;
 *   hl_test_client_run(&a, &r, "--json", "send", "fi.ncsc", "hi", NULL);
 *   ... r.exit_code, r.out, r.err, hl_test_run_json(&r) ...
 *   hl_test_run_free(&r);
 *   hl_test_client_free(&a);                     removes the temp dir
 *
 * Every child gets an environment made here: HOTLINE_HOME, XDG_CONFIG_HOME,
 * XDG_DATA_HOME and HOME all point into the temp dir (no user profile or
 * client.ini is ever read), HOTLINE_PASSPHRASE_FILE names a file of mode
 * 0600. The program is $HOTLINE_BUILD/hotline (see hl_test_program). Every
 * command runs under a time limit and is killed by its PID when it passes
 * it; what is spawned and made here is also cleaned up at exit (see
 * hl_testrelay.h). A client is driven from one thread.
 */
#ifndef HL_TESTCLIENT_H
#define HL_TESTCLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "tests/lib/hl_testrelay.h"

#define HL_TEST_CLIENT_TIMEOUT_MS 120000
#define HL_TEST_CLIENT_ARGS 48
#define HL_TEST_CLIENT_ENV 64

struct hl_test_client {
	char dir[HL_TEST_DIR];           /* the temp dir */
	char home[HL_TEST_PATH];         /* dir/home: HOTLINE_HOME */
	char config_home[HL_TEST_PATH];  /* dir/config: XDG_CONFIG_HOME */
	char config[HL_TEST_PATH];       /* config_home/hotline/client.ini */
	char passfile[HL_TEST_PATH];     /* dir/passphrase, mode 0600 */
	char handle[64];                 /* once registered, else "" */
	int timeout_ms;                  /* per command; HL_TEST_CLIENT_TIMEOUT_MS */
	unsigned runs;                   /* numbers the output files */
	char *env[HL_TEST_CLIENT_ENV];   /* the children's environment */
	size_t nenv;
};

/* One command: started (pid set), then finished (the rest set). */
struct hl_test_run {
	pid_t pid;             /* while running, else 0 */
	int exit_code;         /* its exit status, -1 when it did not exit */
	int signal;            /* the signal that ended it, 0 when none */
	int timed_out;         /* killed by us at the time limit */
	long long ms;          /* how long it ran */
	char *out;             /* stdout, NUL-terminated; "" at worst */
	char *err;             /* stderr, likewise */
	char out_path[HL_TEST_PATH];
	char err_path[HL_TEST_PATH];
	char what[160];        /* the command line, cut: for messages */
};

/* Makes the temp dir and the passphrase file and runs `hotline init --kdf
 * interactive`. 0 or -1 (with a line on stderr). */
int hl_test_client_new(struct hl_test_client *c);

/* Writes text as client.ini. 0 or -1. */
int hl_test_client_config(struct hl_test_client *c, const char *text);

/* Replaces the passphrase file's content (no newline needed). 0 or -1. */
int hl_test_client_passphrase(struct hl_test_client *c, const char *pass);

/* Starts `hotline ARGS...` in the background (args NULL-ended). 0 or -1. */
int hl_test_client_start(struct hl_test_client *c, struct hl_test_run *r,
    const char *const *args);

/* Waits at most timeout_ms for a started command (then kills it by its
 * PID), and reads its output into r. Returns its exit code, or -1. */
int hl_test_client_finish(struct hl_test_client *c, struct hl_test_run *r,
    int timeout_ms);

/* Start and finish, within c->timeout_ms. Returns the exit code, or -1.
 * r is to be freed with hl_test_run_free() whatever the result. */
int hl_test_client_runv(struct hl_test_client *c, struct hl_test_run *r,
    const char *const *args);
int hl_test_client_run(struct hl_test_client *c, struct hl_test_run *r, ...)
	__attribute__((sentinel));

/* Releases r's output (and removes its files). */
void hl_test_run_free(struct hl_test_run *r);

/* Prints r (command, exit, stdout, stderr) to stderr: for failing tests. */
void hl_test_run_print(const struct hl_test_run *r);

/* Invites handle at the relay, writes the code to a file in the temp dir,
 * then `hotline register --relay URL --handle H --code-file FILE` with --ca when the relay has TLS, and extra (NULL-ended, may
 * be NULL) appended. 0 (c->handle is set) or -1 (printed). */
int hl_test_client_register(struct hl_test_client *c,
    struct hl_test_relay *relay, const char *handle, const char *const *extra);

/* Removes the temp dir. */
void hl_test_client_free(struct hl_test_client *c);

/* --- JSON output --- */

/* stdout as an array of its lines, each a JSON object (caller
 * json_decref()s); NULL when a line is not a JSON object. */
json_t *hl_test_run_json(const struct hl_test_run *r);

/* The first object of lines whose string member key equals value
 * (borrowed), or NULL. */
json_t *hl_test_json_find(json_t *lines, const char *key, const char *value);

/* How many objects of lines have key equal to value. */
size_t hl_test_json_count(json_t *lines, const char *key, const char *value);

/* A string member by a dotted path ("times.sent"), or NULL. */
const char *hl_test_json_str(json_t *o, const char *path);

/* `--json status ID`: the message (either direction) as an object
 * (caller json_decref()s), or NULL. */
json_t *hl_test_client_message(struct hl_test_client *c, const char *id);

/* `--json status`: the overview object (caller json_decref()s), or NULL. */
json_t *hl_test_client_overview(struct hl_test_client *c);

/* `--json inbox --all`: every inbound message, in order (caller
 * json_decref()s), or NULL. */
json_t *hl_test_client_inbox(struct hl_test_client *c);

/* `--json send ARGS...`: the new message's id into id (33 bytes). Returns
 * send's exit code, or -1 (id is "" when none was printed). */
int hl_test_client_send(struct hl_test_client *c, char *id, ...)
	__attribute__((sentinel));

/* Runs `sync --wait 1` until the message id has a time for state (e.g.
 * "acknowledged" for ours, "new" for one coming in), at most tries times
 * and timeout_ms. Returns the message (caller json_decref()s), or NULL. */
json_t *hl_test_client_await(struct hl_test_client *c, const char *id,
    const char *state, int tries, int timeout_ms);

/* Runs `sync --wait 1` until the inbox holds a message whose body is body,
 * at most tries times and timeout_ms. Returns it (caller json_decref()s),
 * or NULL. */
json_t *hl_test_client_await_body(struct hl_test_client *c, const char *body,
    int tries, int timeout_ms);

/* A time member by a dotted path ("times.sent", RFC 3339 with optional
 * milliseconds, UTC) as ms since the epoch; -1 when absent or malformed. */
long long hl_test_json_time(json_t *o, const char *path);

/* The wall clock, ms since the epoch (deadlines are set by it). */
long long hl_test_wall_ms(void);

/* 1 when r exited with code; else prints r (for the failing test) and
 * returns 0. */
int hl_test_run_expect(const struct hl_test_run *r, int code);

/* --- a relay and its clients, for a test's setup and teardown --- */

#define HL_TEST_WORLD_CLIENTS 8

struct hl_test_world {
	struct hl_test_relay relay;
	struct hl_test_client clients[HL_TEST_WORLD_CLIENTS];
	size_t n;
};

/* A started relay (with TLS when tls is set). 0 or -1. Free with
 * hl_test_world_free() in either case. */
int hl_test_world_new(struct hl_test_world *w, int tls);

/* A new profile, registered as handle (NULL: only initialised) with the
 * NULL-ended extra register arguments. NULL on failure (printed). */
struct hl_test_client *hl_test_world_client(struct hl_test_world *w,
    const char *handle, ...) __attribute__((sentinel));

/* Stops the relay and removes every temp dir. */
void hl_test_world_free(struct hl_test_world *w);

#endif
