/*
 * store_drill: the drills a coordinator started, in the client's store.
 * A drill is its id, start time, deadline and note; its members are the
 * contacts, each with the id of the check sent to it (or why none was).
 * The note, the handles and the reasons are sealed; ids and times are not
 * (message ids and times are in clear in the messages table too).
 */
#ifndef HL_STORE_DRILL_H
#define HL_STORE_DRILL_H

#include <stdint.h>

#include "client/drill_report.h"

struct hl_crypto;

struct hl_drill_rec {
	char id[HL_DRILL_ID_HEX + 1];
	int64_t started_ms;
	int64_t ack_within_ms;
	char *note;                  /* owned (hl_drill_rec_clear), may be NULL */
};

struct hl_drill_member {
	char peer[HL_HANDLE_MAX + 1];
	char msg_id[HL_ID_HEX + 1];  /* "" when the check was not queued */
	char reason[256];            /* why not, when not */
};

/* Creates the drill tables when missing. */
int hl_store_drill_init(struct hl_crypto *c, char *cause);

/* Stores a new drill (HL_EEXIST when the id is taken) and a member. */
int hl_store_drill_put(struct hl_crypto *c, const struct hl_drill_rec *d);
int hl_store_drill_add(struct hl_crypto *c, const char *drill, int pos,
    const struct hl_drill_member *m);

/* By id, unique id prefix (4 hex digits at least) or "last" (the newest).
 * HL_ENOTFOUND or HL_EEXIST (ambiguous) with a cause. *d is the caller's
 * (hl_drill_rec_clear). */
int hl_store_drill_get(struct hl_crypto *c, const char *which,
    struct hl_drill_rec *d, char *cause);

/* The members of a drill in the order they were added. *out is the
 * caller's (free()). */
int hl_store_drill_members(struct hl_crypto *c, const char *drill,
    struct hl_drill_member **out, size_t *n);

/* Every drill, oldest first; fn returns non-zero to stop. The record is
 * cleared after fn returns. */
int hl_store_drill_each(struct hl_crypto *c,
    int (*fn)(const struct hl_drill_rec *d, void *arg), void *arg);

void hl_drill_rec_clear(struct hl_drill_rec *d);

#endif
