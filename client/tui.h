/*
 * tui: the contact officer's terminal interface, opened by `hotline`
 * without a subcommand, on the same profile, store and engine as the CLI,
 * in one poll() loop over the terminal, the engine's sockets and timers.
 */
#ifndef HL_TUI_H
#define HL_TUI_H

#include <stdio.h>

struct hl_cli;
struct hl_tui;

/* Opens the profile (passphrase first, before the screen is taken), runs
 * the interface until /quit or a signal, and restores the terminal.
 * Returns an exit code (enum hl_exit). */
int hl_tui_run(struct hl_cli *cli);

/* The pieces of hl_tui_run, for programs that measure them: the
 * interface on cli's open profile (cli->crypto) and the terminal on in
 * and out (borrowed); the first frame (the store read, the screen drawn);
 * the terminal restored and everything freed. open returns 0 or an
 * HL_E code with cause; *out is the caller's (hl_tui_close). */
int hl_tui_open(struct hl_cli *cli, FILE *in, FILE *out, struct hl_tui **t,
    char *cause);
void hl_tui_first_frame(struct hl_tui *t);
void hl_tui_close(struct hl_tui *t);

#endif
