/*
 * hl_db: SQLite opened the way hotline needs it (WAL, synchronous=FULL,
 * owner-only file permissions), and the few statements every store repeats.
 * Holds no secret; the relay and the client both use it.
 */
#ifndef HL_DB_H
#define HL_DB_H

#include <sqlite3.h>
#include <stdint.h>

/* Opens (creating when create is set, mode 0600) the database at path with
 * WAL, synchronous=FULL, foreign keys and a busy timeout. *out is the
 * caller's, closed with hl_db_close(). HL_ENOTFOUND when the file does not
 * exist and create is 0; HL_EDB otherwise, with the reason in cause. */
int hl_db_open(const char *path, int create, sqlite3 **out, char *cause);

/* For the fault tests only, never called by the programs: every later
 * hl_db_open in this process opens through the SQLite VFS registered as
 * vfs (NULL: the default one) and then calls after_open (may be NULL) with
 * the new connection, after the pragmas above. tests/lib/hl_testvfs uses
 * it to lose unsynced writes, and its control run to set
 * synchronous=NORMAL. Not thread-safe: set it before opening. */
void hl_db_test_hook(const char *vfs, void (*after_open)(sqlite3 *db));

/* Closes db, finalising nothing: every statement must be finalised first.
 * NULL is fine. */
void hl_db_close(sqlite3 *db);

/* Runs one or more statements with no results. 0 or HL_EDB. */
int hl_db_exec(sqlite3 *db, const char *sql, char *cause);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. 0 or HL_EDB (HL_EBUSY when locked). */
int hl_db_begin(sqlite3 *db);
int hl_db_commit(sqlite3 *db);
int hl_db_rollback(sqlite3 *db);

/* Named savepoints: work whether or not a transaction is open, so an
 * operation can be atomic on its own and still join a caller's transaction.
 * name must be an SQL identifier. */
int hl_db_savepoint(sqlite3 *db, const char *name);
int hl_db_release(sqlite3 *db, const char *name);
int hl_db_rollback_to(sqlite3 *db, const char *name);

/* PRAGMA user_version, the schema version of each database. */
int hl_db_user_version(sqlite3 *db, int *version);
int hl_db_set_user_version(sqlite3 *db, int version);

/* Maps an SQLite result code to HL_EBUSY or HL_EDB and writes
 * sqlite3_errmsg into cause. */
int hl_db_error(sqlite3 *db, int rc, char *cause);

#endif
