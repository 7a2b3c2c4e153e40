#include "crypto/hl_db.h"
#include "crypto/hl_err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
hl_db_error(sqlite3 *db, int rc, char *cause)
{
	int code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? HL_EBUSY : HL_EDB;
	return hl_fail(cause, code, "sqlite: %s",
	    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static const char *test_vfs;
static void (*test_after_open)(sqlite3 *db);

void
hl_db_test_hook(const char *vfs, void (*after_open)(sqlite3 *db))
{
	test_vfs = vfs;
	test_after_open = after_open;
}

int
hl_db_open(const char *path, int create, sqlite3 **out, char *cause)
{
	*out = NULL;
	if (access(path, F_OK) != 0) {
		if (!create)
			return hl_fail(cause, HL_ENOTFOUND, "%s: no such database", path);
		/* Create it owner-only before SQLite does; its -wal and -shm
		 * files take the same permissions. */
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return hl_fail(cause, HL_EIO, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, test_vfs);
	if (rc != SQLITE_OK) {
		rc = hl_fail(cause, HL_EDB, "%s: %s", path,
		    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, 5000);
	sqlite3_extended_result_codes(db, 0);
	rc = hl_db_exec(db,
	    "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=FULL;"
	    "PRAGMA foreign_keys=ON;"
	    "PRAGMA secure_delete=ON;", cause);
	if (rc != 0) {
		sqlite3_close(db);
		return rc;
	}
	if (test_after_open != NULL)
		test_after_open(db);
	*out = db;
	return 0;
}

void
hl_db_close(sqlite3 *db)
{
	if (db != NULL)
		sqlite3_close(db);
}

int
hl_db_exec(sqlite3 *db, const char *sql, char *cause)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return 0;
	int code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? HL_EBUSY : HL_EDB;
	hl_fail(cause, code, "sqlite: %s", msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return code;
}

int
hl_db_begin(sqlite3 *db)
{
	return hl_db_exec(db, "BEGIN IMMEDIATE", NULL);
}

int
hl_db_commit(sqlite3 *db)
{
	return hl_db_exec(db, "COMMIT", NULL);
}

int
hl_db_rollback(sqlite3 *db)
{
	/* Rolling back when SQLite already did (after some errors) is fine. */
	if (sqlite3_get_autocommit(db))
		return 0;
	return hl_db_exec(db, "ROLLBACK", NULL);
}

static int
exec_named(sqlite3 *db, const char *verb, const char *name)
{
	char sql[128];
	if (snprintf(sql, sizeof sql, "%s %s", verb, name) >= (int)sizeof sql)
		return HL_EINVAL;
	return hl_db_exec(db, sql, NULL);
}

int
hl_db_savepoint(sqlite3 *db, const char *name)
{
	return exec_named(db, "SAVEPOINT", name);
}

int
hl_db_release(sqlite3 *db, const char *name)
{
	return exec_named(db, "RELEASE", name);
}

int
hl_db_rollback_to(sqlite3 *db, const char *name)
{
	/* ROLLBACK TO keeps the savepoint open; RELEASE ends it. */
	int rc = exec_named(db, "ROLLBACK TO", name);
	int rc2 = exec_named(db, "RELEASE", name);
	return rc != 0 ? rc : rc2;
}

int
hl_db_user_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		*version = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_finalize(st);
	return HL_EDB;
}

int
hl_db_set_user_version(sqlite3 *db, int version)
{
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version=%d", version);
	return hl_db_exec(db, sql, NULL);
}
