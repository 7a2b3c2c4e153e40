/*
 * reserve: disk space held back for draining a full disk. A file beside
 * the database, preallocated to a fixed size. When a write fails because
 * the disk is full, the writer gives the file up: its space lets the
 * writes that delete (acks, purges) commit, so that recipients can still
 * make room; writes that add are refused meanwhile. Once the file system
 * has room for the reserve twice over again, the file is made anew and
 * every write is taken again. Used by the writer thread only.
 */
#ifndef HL_RELAY_RESERVE_H
#define HL_RELAY_RESERVE_H

#include <stdint.h>

struct hl_reserve;

/* The reserve of bytes at path, made now if there is room (when there is
 * not, the reserve starts given up; hl_reserve_held() says so). *out is
 * the caller's, freed with hl_reserve_free(), which leaves the file in
 * place for the next start. 0, HL_EINVAL or HL_ENOMEM. */
int hl_reserve_open(const char *path, int64_t bytes, struct hl_reserve **out,
    char *cause);

void hl_reserve_free(struct hl_reserve *rv);

/* 1 when the file holds its space now. */
int hl_reserve_held(const struct hl_reserve *rv);

/* Gives the space up (removes the file). 1 if it was held. */
int hl_reserve_release(struct hl_reserve *rv);

/* Makes the file again when the file system has at least twice its size
 * free. 0 when held afterwards; HL_EDISKFULL while there is not room
 * yet; HL_EIO on another failure (cause says which). */
int hl_reserve_restore(struct hl_reserve *rv, char *cause);

#endif
