/*
 * passphrase: reads the vault passphrase, and other one-line secrets such
 * as enrollment codes, from a file (scripts, drills), standard input, or
 * the terminal with echo off, into locked memory.
 */
#ifndef HL_PASSPHRASE_H
#define HL_PASSPHRASE_H

#include <stddef.h>

#define HL_PASSPHRASE_MAX 1024
#define HL_PASSPHRASE_MIN 8

/* file: a path, or NULL for the terminal (/dev/tty). The file must be a
 * regular file owned by the user with no group or other permission bits,
 * and is opened without following a symlink and without blocking on a
 * FIFO (HL_EPASSPHRASE otherwise,
 * cause says why). The first line of the file is the passphrase (its
 * newline is not). With confirm, the terminal asks twice and both must
 * match. At the prompt, SIGINT, SIGTERM and SIGTSTP restore echo first;
 * SIGINT and SIGTERM end the prompt with HL_EINTR. *out (NUL-terminated,
 * *len bytes) is sodium_malloc'd: free with hl_passphrase_free. */
int hl_passphrase_read(const char *file, const char *prompt, int confirm,
    char **out, size_t *len, char *cause);

/* Another one-line secret (an enrollment code): from file (refused
 * unless it is a private regular file as above), "-" for standard input,
 * or with file NULL from the terminal with echo off (as above). Empty is refused. HL_EIO when it cannot be read, HL_EINTR when
 * interrupted. *out as for hl_passphrase_read. */
int hl_secret_read(const char *file, const char *prompt, char **out,
    size_t *len, char *cause);

/* Wipes and frees. NULL is fine. */
void hl_passphrase_free(char *p);

#endif
