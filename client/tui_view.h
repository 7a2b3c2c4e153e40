/*
 * tui_view: what the terminal interface shows, decided without ncurses:
 * where each pane goes at a given size, the glyph of a message's state,
 * the words of an ack deadline, the header of a message, the lines of the
 * contacts pane and the status line, and which message /ack takes. The
 * drawing layer (tui_draw.c) only puts these on the screen.
 *
 * Every string given here that came from another person or from the relay
 * is already sanitized by the caller (client/sanitize.h).
 */
#ifndef HL_TUI_VIEW_H
#define HL_TUI_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "client/store.h"

/* The smallest screen the interface draws on; below it, a notice. */
#define HL_TUI_MIN_COLS 40
#define HL_TUI_MIN_ROWS 10

struct hl_tui_rect {
	int y, x, h, w;    /* h or w 0: not shown */
};

/* Rows from the top: the FLASH banner (when one waits), the contacts pane
 * on the left and the conversation on the right (or only the focused one
 * when narrow), the status line and the input line at the bottom. */
struct hl_tui_layout {
	int rows, cols;
	int usable;                  /* 0: too small, only a notice */
	struct hl_tui_rect banner;
	struct hl_tui_rect contacts;
	struct hl_tui_rect conv;
	struct hl_tui_rect status;
	struct hl_tui_rect input;
};

/* Lays out a rows x cols screen; banner says whether a FLASH banner is up,
 * focus_contacts which pane is shown when there is room for only one. */
void hl_tui_layout(int rows, int cols, int banner, int focus_contacts,
    struct hl_tui_layout *l);

/* The state glyph of a message: "." queued, ">" sent, ">>" delivered,
 * "OK" acknowledged, "!!" overdue, "XX" failed, "--" expired, "*" new,
 * " " read; with utf8 the same in symbols (… ✓ ✓✓ ✔ ⏰ ✗ ⌛ ●). Static. */
const char *hl_tui_glyph(enum hl_state st, int utf8);

/* The deadline of a message that waits for an ack at now: "ack in 12m",
 * "ack in 1h05m", "OVERDUE 3m", "OVERDUE 2h10m", "OVERDUE 1d04h"; "" when
 * it has no deadline or needs none any more (acknowledged, failed, or an
 * inbound message already acked). Returns 1 when overdue, else 0. */
int hl_tui_deadline(const struct hl_msg *m, int64_t now_ms, char *out,
    size_t len);

/* A duration for people: "45s", "12m", "1h05m", "1d04h". */
void hl_tui_duration(int64_t ms, char *out, size_t len);

/* The header line of a message: time in UTC and local time, direction and
 * sender, priority, EXERCISE for checks, kind, glyph, response code,
 * deadline: "10:00Z 12:00 < fi.ncsc URGENT ● ack in 12m". self is our
 * handle. Returns 1 when the deadline is overdue. */
int hl_tui_msg_header(const struct hl_msg *m, const char *self,
    int64_t now_ms, int utf8, char *out, size_t len);

/* How a message is to stand out. */
enum hl_tui_emph {
	HL_TUI_NORMAL,
	HL_TUI_URGENT,
	HL_TUI_FLASH,
	HL_TUI_OVERDUE,
	HL_TUI_FAILED,
};
enum hl_tui_emph hl_tui_msg_emph(const struct hl_msg *m, int64_t now_ms);

/* One line of the contacts pane. */
struct hl_tui_contact {
	char handle[HL_HANDLE_MAX + 1];
	char name[128];              /* sanitized display name, may be "" */
	char local_time[96];         /* "12:00 Europe/Helsinki", may be "" */
	int64_t unread, awaiting, overdue;
	int trust;                   /* enum hl_trust */
	int64_t last_ms;             /* newest message, for the order */
};
/* "fi.ncsc  NCSC-FI 12:00  3 new 1 ack! 1 late  CHANGED" fitted to cols
 * columns (never more). */
void hl_tui_contact_line(const struct hl_tui_contact *c, int cols, char *out,
    size_t len);

/* The status line. */
struct hl_tui_status {
	const char *self;            /* own handle */
	int relay;                   /* 1 reachable, 0 not, -1 not tried yet */
	int64_t retry_at_ms;         /* next attempt when not reachable; 0 none */
	char why[128];               /* sanitized, why not reachable */
	int64_t unread, awaiting, overdue, queued;
	const char *peer;            /* open contact, may be NULL */
	int peer_trust;              /* enum hl_trust of the open contact */
	const char *notice;          /* the last notice, may be NULL */
};
void hl_tui_status_line(const struct hl_tui_status *s, int64_t now_ms,
    int cols, char *out, size_t len);

/* A message /ack may take: what the choice needs to know. */
struct hl_tui_ack_cand {
	enum hl_prio prio;
	int64_t rowid;               /* arrival order */
	int acked;                   /* acknowledged already */
	int needs_ack;
};
/* The index of the message /ack takes: with one selected (selected >= 0),
 * that one, or -1 when it needs no ack or has one (never another in its
 * place); with none, the most urgent unacknowledged one (flash before
 * urgent before routine, oldest first), or -1 when there is none. */
int hl_tui_ack_pick(const struct hl_tui_ack_cand *c, size_t n, int selected);

#endif
