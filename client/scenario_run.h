/*
 * scenario_run: runs a parsed scenario (scenario.h) for hotline-drill(1):
 * a throwaway hotline-relay on 127.0.0.1 (a free port, a temporary
 * directory), one profile per named client, and every step done by the
 * real `hotline` command, echoed with a timestamp. Everything it started
 * is stopped and removed on every way out.
 */
#ifndef HL_SCENARIO_RUN_H
#define HL_SCENARIO_RUN_H

#include "client/scenario.h"

struct hl_scenario_opts {
	const char *file;          /* for file:line in messages */
	const char *hotline;       /* the hotline program */
	const char *relay;         /* the hotline-relay program */
	int verbose;               /* also echo what each check's sync printed */
};

/* Returns 0 when every step held, 1 when one failed (file:line, what was
 * expected and what was found are printed), 2 when the runner itself
 * could not go on (no relay, no temporary directory), 130 when
 * interrupted. */
int hl_scenario_run(const struct hl_scenario *s, const struct hl_scenario_opts *o);

/* Asks a running scenario to stop (from a signal handler). */
void hl_scenario_interrupt(void);

#endif
