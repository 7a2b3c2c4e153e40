/* For posix_spawn_file_actions_addclosefrom_np (glibc 2.34). */
#define _GNU_SOURCE
#include "client/notify.h"
#include "client/sanitize.h"
#include "crypto/hl_err.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define ARGS_MAX 16

extern char **environ;

/* The hooks started: reaped by PID, never by waiting for any child. */
static pid_t running[HL_NOTIFY_RUNNING_MAX];

enum hl_notify_kind
hl_notify_classify(const struct hl_event *ev)
{
	const struct hl_msg *m = ev->msg;
	switch (ev->kind) {
	case HL_EV_RECEIVED:
		if (m == NULL || m->dir != HL_IN)
			return HL_NOTIFY_NONE;
		if (m->content.prio == HL_PRIO_FLASH)
			return HL_NOTIFY_FLASH;
		if (m->content.prio == HL_PRIO_URGENT)
			return HL_NOTIFY_URGENT;
		return HL_NOTIFY_NONE;
	case HL_EV_STATE:
		return m != NULL && m->dir == HL_OUT && m->state == HL_ST_OVERDUE ?
		    HL_NOTIFY_OVERDUE : HL_NOTIFY_NONE;
	case HL_EV_KEY_CHANGED:
		return HL_NOTIFY_KEY_CHANGED;
	default:
		return HL_NOTIFY_NONE;
	}
}

const char *
hl_notify_name(enum hl_notify_kind k)
{
	switch (k) {
	case HL_NOTIFY_FLASH: return "flash";
	case HL_NOTIFY_URGENT: return "urgent";
	case HL_NOTIFY_OVERDUE: return "overdue";
	case HL_NOTIFY_KEY_CHANGED: return "key-changed";
	default: return "";
	}
}

static int
free_slot(void)
{
	hl_notify_reap();
	for (int i = 0; i < HL_NOTIFY_RUNNING_MAX; i++)
		if (running[i] == 0)
			return i;
	return -1;
}

/* Our environment without any HOTLINE_* of the hook's, plus extra;
 * the array (not the strings) is the caller's to free. */
static char **
hook_env(char **extra, size_t nextra)
{
	size_t n = 0, k = 0;
	while (environ != NULL && environ[n] != NULL)
		n++;
	char **env = calloc(n + nextra + 1, sizeof *env);
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *v = environ[i];
		if (strncmp(v, "HOTLINE_EVENT=", 14) == 0 ||
		    strncmp(v, "HOTLINE_PRIORITY=", 17) == 0 ||
		    strncmp(v, "HOTLINE_FROM=", 13) == 0 ||
		    strncmp(v, "HOTLINE_MESSAGE_ID=", 19) == 0 ||
		    strncmp(v, "HOTLINE_BODY=", 13) == 0)
			continue;
		env[k++] = environ[i];
	}
	for (size_t i = 0; i < nextra; i++)
		env[k++] = extra[i];
	return env;
}

static int
spawn(const char *command, char **extra, size_t nextra, char *cause)
{
	char cmd[sizeof ((struct hl_client_config *)0)->notify_command];
	char *argv[ARGS_MAX + 1];
	int argc = 0;
	snprintf(cmd, sizeof cmd, "%s", command);
	for (char *save = NULL, *w = strtok_r(cmd, " \t", &save);
	    w != NULL && argc < ARGS_MAX; w = strtok_r(NULL, " \t", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	if (argc == 0)
		return hl_fail(cause, HL_ECONFIG, "[notify] command is empty");
	int slot = free_slot();
	if (slot < 0)
		return hl_fail(cause, HL_EBUSY, "notify: %d hooks still running; "
		    "this one was not started", HL_NOTIFY_RUNNING_MAX);
	char **env = hook_env(extra, nextra);
	if (env == NULL)
		return hl_fail(cause, HL_ENOMEM, "notify: out of memory");
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	/* Nothing else of ours: not the relay's connections libcurl holds,
	 * not the terminal, not the profile's database. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	/* The hook starts with default signal handling and nothing blocked,
	 * whatever the terminal interface set for itself. */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(env);
	if (rc != 0)
		return hl_fail(cause, HL_EIO, "notify: cannot run %s: %s", argv[0],
		    strerror(rc));
	running[slot] = pid;
	return 0;
}

enum hl_notify_kind
hl_notify_event(const struct hl_client_config *cfg, const struct hl_event *ev,
    char *cause)
{
	enum hl_notify_kind k = hl_notify_classify(ev);
	if (k == HL_NOTIFY_NONE || cfg->notify_command[0] == '\0')
		return k;
	const struct hl_msg *m = ev->msg;
	char e_event[64], e_prio[64], e_from[HL_HANDLE_MAX + 32],
	    e_id[HL_ID_HEX + 32];
	char *extra[5], *body = NULL;
	size_t n = 0;
	snprintf(e_event, sizeof e_event, "HOTLINE_EVENT=%s", hl_notify_name(k));
	extra[n++] = e_event;
	const char *peer = m != NULL ? m->peer : ev->peer;
	/* Handles are checked ([a-z0-9.-]) before they are stored. */
	snprintf(e_from, sizeof e_from, "HOTLINE_FROM=%s", peer != NULL ? peer : "");
	extra[n++] = e_from;
	if (m != NULL) {
		snprintf(e_prio, sizeof e_prio, "HOTLINE_PRIORITY=%s",
		    hl_prio_name(m->content.prio));
		extra[n++] = e_prio;
		snprintf(e_id, sizeof e_id, "HOTLINE_MESSAGE_ID=%s", m->id);
		extra[n++] = e_id;
		if (cfg->notify_include_body && m->content.body != NULL) {
			char *clean = hl_sanitize(m->content.body,
			    strlen(m->content.body), HL_SANITIZE_ONELINE);
			if (clean != NULL) {
				size_t len = strlen(clean) + 16;
				body = malloc(len);
				if (body != NULL) {
					snprintf(body, len, "HOTLINE_BODY=%s", clean);
					extra[n++] = body;
				}
				free(clean);
			}
		}
	}
	spawn(cfg->notify_command, extra, n, cause);
	if (body != NULL) {
		sodium_memzero(body, strlen(body));
		free(body);
	}
	return k;
}

void
hl_notify_reap(void)
{
	for (int i = 0; i < HL_NOTIFY_RUNNING_MAX; i++) {
		int st;
		if (running[i] == 0)
			continue;
		pid_t r = waitpid(running[i], &st, WNOHANG);
		if (r == running[i] || (r < 0 && errno == ECHILD))
			running[i] = 0;
	}
}

int
hl_notify_running(void)
{
	int n = 0;
	for (int i = 0; i < HL_NOTIFY_RUNNING_MAX; i++)
		n += running[i] != 0;
	return n;
}
