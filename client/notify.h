/*
 * notify: the officer's notification hook (client.ini [notify] command =
 * PROGRAM [ARGS]), run on flash and urgent messages received, on overdue
 * messages sent, and on changed identity keys, by the terminal interface
 * and by `hotline sync --follow`.
 *
 * The program is started with posix_spawn (no shell: the value is split at
 * blanks into the program's path and its arguments), its standard streams
 * on /dev/null, and never waited for in the loop: finished hooks are
 * reaped by hl_notify_reap. Its environment is ours plus HOTLINE_EVENT
 * (flash, urgent, overdue, key-changed), HOTLINE_PRIORITY, HOTLINE_FROM
 * (the contact's handle), HOTLINE_MESSAGE_ID, and HOTLINE_BODY (sanitized,
 * on one line) only with include_body = true.
 */
#ifndef HL_NOTIFY_H
#define HL_NOTIFY_H

#include "client/config.h"
#include "client/engine.h"

#define HL_NOTIFY_RUNNING_MAX 8    /* hooks at once; more are dropped */

enum hl_notify_kind {
	HL_NOTIFY_NONE,
	HL_NOTIFY_FLASH,
	HL_NOTIFY_URGENT,
	HL_NOTIFY_OVERDUE,
	HL_NOTIFY_KEY_CHANGED,
};

/* What an engine event is to the hook: HL_NOTIFY_NONE for the events it
 * is not run on. */
enum hl_notify_kind hl_notify_classify(const struct hl_event *ev);

/* The event's name in HOTLINE_EVENT ("flash", ...; "" for NONE). */
const char *hl_notify_name(enum hl_notify_kind k);

/* Runs the hook for ev when cfg names one and ev is one it is run on.
 * Returns the kind (so callers can also ring the bell), HL_NOTIFY_NONE
 * when the event is not one; a hook that cannot start is reported in
 * cause (may be NULL) and does not stop the caller. */
enum hl_notify_kind hl_notify_event(const struct hl_client_config *cfg,
    const struct hl_event *ev, char *cause);

/* Reaps finished hooks without blocking. */
void hl_notify_reap(void);

/* Hooks started and not yet reaped. */
int hl_notify_running(void);

#endif
