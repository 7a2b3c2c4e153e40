/*
 * passphrase: reads the vault passphrase from a file (scripts, drills) or
 * from the terminal with echo off, into locked memory.
 */
#ifndef HL_PASSPHRASE_H
#define HL_PASSPHRASE_H

#include <stddef.h>

#define HL_PASSPHRASE_MAX 1024
#define HL_PASSPHRASE_MIN 8

/* file: a path, or NULL for the terminal (/dev/tty). The first line of the
 * file is the passphrase (its newline is not). With confirm, the terminal
 * asks twice and both must match. *out (NUL-terminated, *len bytes) is
 * sodium_malloc'd: free with hl_passphrase_free. */
int hl_passphrase_read(const char *file, const char *prompt, int confirm,
    char **out, size_t *len, char *cause);

/* Wipes and frees. NULL is fine. */
void hl_passphrase_free(char *p);

#endif
