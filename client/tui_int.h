/*
 * tui_int: the terminal interface's state, shared by its files: tui.c
 * (the loop, the engine's events, reading the store), tui_cmd.c (the
 * /command table), tui_input.c (keys), tui_draw.c (ncurses; it reads
 * this state and calls neither the engine nor the store).
 */
#ifndef HL_TUI_INT_H
#define HL_TUI_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client/cli.h"
#include "client/engine.h"
#include "client/net.h"
#include "client/store.h"
#include "client/tui_edit.h"
#include "client/tui_view.h"

#define TUI_CONTACTS_MAX 256
#define TUI_PAGE 64              /* messages read per page */
#define TUI_ITEMS_MAX 2048       /* messages kept for scrolling back */
#define TUI_AWAIT_MAX 256        /* messages awaiting our ack kept */
#define TUI_NOTES_MAX 64         /* notices kept in the conversation pane */
#define TUI_FETCH_WAIT_S 25
#define TUI_BELL_MS 5000         /* the bell again while a FLASH waits */

/* A message as shown: a copy of its plain parts and its text, sanitized.
 * m owns nothing (its pointers are NULL); text is owned. */
struct tui_item {
	struct hl_msg m;
	char *text;
};

/* A message waiting for our ack, for /ack and the FLASH banner. */
struct tui_await {
	char id[HL_ID_HEX + 1];
	char peer[HL_HANDLE_MAX + 1];
	enum hl_prio prio;
	int64_t rowid;
	int64_t sent_ms;
	char *first_line;            /* owned, sanitized, one line */
};

/* An /incident form being filled in, one field at a time. */
struct tui_form {
	int active;
	int field;                   /* the field being asked */
	char *title, *status;
	enum hl_severity severity;
	enum hl_tlp tlp;
	char *indicators, *actions;  /* ';'-separated as typed */
	char *body;
};

enum tui_focus {
	TUI_FOCUS_INPUT,
	TUI_FOCUS_CONTACTS,
	TUI_FOCUS_CONV,
};

struct hl_tui {
	struct hl_cli *cli;
	struct hl_engine *e;
	struct hl_net *net;          /* for /directory; NULL until needed */
	struct hl_account acct;
	int utf8, color;
	int quit;

	struct hl_tui_edit edit;
	enum tui_focus focus;
	struct tui_form form;

	struct hl_tui_contact contacts[TUI_CONTACTS_MAX];
	size_t ncontacts;
	int sel_contact;             /* highlighted in the pane */

	char peer[HL_HANDLE_MAX + 1];/* the open conversation, "" none */
	int peer_trust;              /* enum hl_trust */
	size_t peer_held;            /* messages held under a changed key */

	struct tui_item *items;      /* newest first */
	size_t nitems;
	int more_history;            /* older messages not read yet */
	int scroll;                  /* lines up from the newest */
	int sel;                     /* selected item, -1 none */
	/* Messages that were new when this conversation showed them: marked
	 * read in the store at once, still shown as new while it stays open. */
	int64_t shown_new[TUI_PAGE];
	size_t nshown_new;

	struct tui_await await[TUI_AWAIT_MAX];
	size_t nawait;
	int64_t counts_out[HL_ST_COUNT], counts_in[HL_ST_COUNT];

	char *notes[TUI_NOTES_MAX];  /* owned, sanitized; newest last */
	size_t nnotes;
	int help;                    /* the info lines are shown */
	char **info;                 /* owned, sanitized: help, directory,
	                              * safety number; shown in place of the
	                              * conversation until Esc or the next line */
	size_t ninfo;
	char drill[16];              /* the drill shown in the info lines and
	                              * refreshed as answers come, "" none */
	int at_top;                  /* set by drawing: the oldest line read
	                              * is on the screen */
	int conv_h;                  /* set by drawing: conversation rows */

	int relay;                   /* 1 ok, 0 not, -1 not yet */
	char relay_why[128];
	int64_t retry_at_ms;         /* wall clock of the next fetch when down */
	int64_t next_fetch_mono;
	int fetch_failed;            /* the last fetch did not succeed */
	int fetching;
	int fetches_before;

	int64_t next_bell_mono;
	int dirty;                   /* model changed: read the store again */
	int redraw;                  /* the screen is to be drawn */
	int clear;                   /* Ctrl-L: clear before drawing */
};

/* tui.c */
/* Replaces the info lines with text (split at newlines, sanitized) and
 * shows them. */
void hl_tui_info(struct hl_tui *t, const char *text);
void hl_tui_info_close(struct hl_tui *t);
void hl_tui_note(struct hl_tui *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A note from text that came from elsewhere: sanitized first. */
void hl_tui_note_untrusted(struct hl_tui *t, const char *prefix,
    const char *text);
void hl_tui_refresh(struct hl_tui *t);
void hl_tui_open_peer(struct hl_tui *t, const char *peer);
int hl_tui_older(struct hl_tui *t);
const struct tui_await *hl_tui_flash_waiting(const struct hl_tui *t);

/* tui_cmd.c: a line typed on the input line (a /command or text). */
/* Shows the report of t->drill again (answers came in). */
void hl_tui_drill_show(struct hl_tui *t);
void hl_tui_submit(struct hl_tui *t, const char *line);
/* Completes a /command name at the start of the input line. */
void hl_tui_complete(struct hl_tui *t);

/* tui_input.c: one key from the terminal. */
void hl_tui_key(struct hl_tui *t, int is_key, unsigned int ch);

/* tui_draw.c */
int hl_tui_draw_start(struct hl_tui *t, FILE *in, FILE *out);
void hl_tui_draw(struct hl_tui *t);
void hl_tui_bell(void);
void hl_tui_draw_end(void);
/* Reads every pending key (non-blocking) into hl_tui_key. */
void hl_tui_read_keys(struct hl_tui *t);

#endif
