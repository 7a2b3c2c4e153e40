/*
 * harden: what the client process does first, before it holds a secret.
 */
#ifndef HL_HARDEN_H
#define HL_HARDEN_H

/* No core dumps (RLIMIT_CORE 0, soft and hard) and not dumpable
 * (PR_SET_DUMPABLE 0: no core, and no ptrace or /proc/PID/mem for other
 * processes of the same user), and jansson's blocks wiped when freed.
 * Returns 0, or HL_EIO when the system refused part of it (the rest is
 * still done). */
int hl_harden_process(void);

#endif
