/*
 * tui: the contact officer's terminal interface, opened by `hotline`
 * without a subcommand, on the same profile, store and engine as the CLI,
 * in one poll() loop over the terminal, the engine's sockets and timers.
 */
#ifndef HL_TUI_H
#define HL_TUI_H

struct hl_cli;

/* Opens the profile (passphrase first, before the screen is taken), runs
 * the interface until /quit or a signal, and restores the terminal.
 * Returns an exit code (enum hl_exit). */
int hl_tui_run(struct hl_cli *cli);

#endif
