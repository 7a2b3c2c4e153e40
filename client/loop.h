/*
 * loop: the one poll() loop of a CLI command: the engine's sockets and
 * timers, until the command's condition holds, a deadline passes, or the
 * officer interrupts. The TUI adds the terminal to the same loop.
 */
#ifndef HL_LOOP_H
#define HL_LOOP_H

#include <stdint.h>

#include "client/engine.h"

/* Runs until done(arg) is true (checked after every wake-up), deadline_ms
 * (a hl_mono_ms() value; 0 = none) passes, or SIGINT/SIGTERM. Returns 0
 * when done, HL_ETIMEOUT at the deadline, HL_EBUSY when interrupted,
 * HL_ESTATE when there is nothing left to wait for and no deadline. */
int hl_loop_run(struct hl_engine *e, int (*done)(void *arg), void *arg,
    int64_t deadline_ms);

#endif
