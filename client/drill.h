/*
 * drill: communication checks, as a coordinator runs them. A drill sends
 * a check (an urgent EXERCISE message with an acknowledgement deadline) to
 * each contact through the engine's outbox, so the sends go out together
 * on the transport's concurrent connections; its report is read back from
 * the messages' states and times. The CLI (hotline drill), the TUI
 * (/drill) and the scenario runner all use this module.
 */
#ifndef HL_DRILL_H
#define HL_DRILL_H

#include <stddef.h>
#include <stdint.h>

#include "client/drill_report.h"
#include "client/store_drill.h"

struct hl_crypto;
struct hl_engine;

#define HL_DRILL_DEFAULT_ACK_MS (15 * 60000)
#define HL_DRILL_MAX_CONTACTS 1000

struct hl_drill_start {
	const char *const *to;       /* borrowed handles; duplicates are dropped */
	size_t n;
	int64_t ack_within_ms;       /* 0: HL_DRILL_DEFAULT_ACK_MS */
	const char *note;            /* borrowed, may be NULL */
};

/* Creates the drill tables (hl_store_init does the rest). */
int hl_drill_init(struct hl_crypto *c, char *cause);

/* Stores a new drill and queues its checks in e's outbox (nothing is sent
 * yet: the caller kicks the engine). A contact that cannot be sent a check
 * (its key changed, it is you) stays in the drill with the reason. Fills
 * id. HL_EINVAL for an empty or too long list. */
int hl_drill_start(struct hl_engine *e, struct hl_crypto *c,
    const struct hl_drill_start *s, char id[HL_DRILL_ID_HEX + 1],
    char *cause);

/* The body of a check: says EXERCISE, the drill and the deadline, so that
 * every client shows it for what it is. Caller frees. */
char *hl_drill_check_body(const char *id, int64_t ack_by_ms, const char *note);

/* The report of a drill (id, unique prefix or "last") as of now. *r is the
 * caller's (hl_drill_report_clear). */
int hl_drill_load(struct hl_crypto *c, const char *which,
    struct hl_drill_report *r, char *cause);

/* Every drill with its summary, oldest first. *out is the caller's
 * (free()). */
int hl_drill_history(struct hl_crypto *c, struct hl_drill_hist **out,
    size_t *n);

/* Reads a group file: handles one a line, blank lines and '#' comments
 * ignored. HL_EPARSE with "file:line: ..." for anything else. *out is the
 * caller's (hl_drill_group_free). */
int hl_drill_group_read(const char *path, char ***out, size_t *n, char *cause);
/* Splits "a,b,c" the same way (no comments). */
int hl_drill_group_split(const char *list, char ***out, size_t *n, char *cause);
void hl_drill_group_free(char **v, size_t n);

#endif
