/*
 * out: how the CLI shows things. Human lines with times in UTC and the
 * officer's local zone (and the contact's, from the directory), or one JSON
 * object per line for scripts.
 */
#ifndef HL_OUT_H
#define HL_OUT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "client/engine.h"
#include "client/store.h"

#define HL_OUT_TIME 96

/* "2026-11-27 10:00:03Z (11:00:03 CET)"; "-" for 0. */
void hl_out_time(int64_t ms, char *out);

/* The time of day in an IANA zone, "12:00 Europe/Helsinki"; "" when zone
 * is empty or unknown. */
void hl_out_time_in(int64_t ms, const char *zone, char *out, size_t len);

/* The state to show: "escalated" for an overdue message that went on to
 * its alternate, else the stored state's name. */
const char *hl_out_state(const struct hl_msg *m);

/* A message as one JSON object (new reference): id, dir, peer, kind,
 * priority, state, body, thread, seq, deadline, the time of every state
 * reached, acknowledgement, escalation and incident fields. */
json_t *hl_out_msg_json(const struct hl_msg *m);

/* A new object for one line of --json output, its "type" set (every line
 * has one: "message", "event", "status", "contact", ...). New reference. */
json_t *hl_out_json_object(const char *type);

/* Prints o compactly on one line of stdout and releases it. */
void hl_out_json_line(json_t *o);

/* A message for people: a header line and the text, indented. With
 * details, every state reached and its time. contact may be NULL. */
void hl_out_msg(FILE *f, const struct hl_msg *m, const struct hl_contact *ct,
    int details);

/* The contact's name and zone, for beside a handle: " (Name, 12:00
 * Europe/Helsinki)"; "" when unknown. */
void hl_out_contact_tag(const struct hl_contact *ct, char *out, size_t len);

/* An engine event, as a line for people or a JSON object. */
void hl_out_event(const struct hl_event *ev, int json);

/* The warnings an officer must not miss: messages missing from a
 * contact's sequence, and items kept unread. */
void hl_out_gaps_held(FILE *f, const struct hl_gap *gaps, size_t ngaps,
    const struct hl_held *held, size_t nheld);

/* A safety number as 12 groups of five digits, on two lines. */
void hl_out_safety(FILE *f, const char *digits, const char *indent);

/* A short fingerprint of a public key: 16 groups of 4 hex digits of its
 * SHA-256, for the key log. out: at least 80 bytes. */
void hl_out_key_fingerprint(const uint8_t *key, size_t len, char *out);

#endif
