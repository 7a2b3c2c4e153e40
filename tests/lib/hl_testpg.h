/*
 * hl_testpg: a throwaway PostgreSQL cluster for tests.
 *
 * The cluster lives in a temp dir: initdb's data and the server's Unix
 * socket (no TCP listener). initdb refuses root, so as root both run as
 * the "postgres" user, which then owns the dir. The server is a child of
 * the test (it dies with it, even when the test is killed) and
 * hl_test_pg_free() (or the atexit handler of the shared cluster) stops
 * it and removes the dir. All waits are bounded.
 */
#ifndef HL_TESTPG_H
#define HL_TESTPG_H

#include <stddef.h>
#include <sys/types.h>

struct hl_test_pg {
	char dir[128];          /* the temp dir: data/ and the socket */
	char bindir[128];       /* where initdb and postgres are */
	pid_t pid;              /* the server while running, else 0 */
	int made;               /* initdb done */
	int durable;            /* set before start: fsync on (benchmarks) */
};

/* Whether PostgreSQL's server programs are installed. */
int hl_test_pg_available(void);

/* Makes the cluster (the first time) and starts the server; waits until
 * it answers. 0 or -1 (with a line on stderr). */
int hl_test_pg_start(struct hl_test_pg *pg);

/* Stops the server (fast shutdown: clients are disconnected, everything
 * committed is kept) and waits for it. */
int hl_test_pg_stop(struct hl_test_pg *pg);

/* Creates database name and writes the relay's url for it into url. */
int hl_test_pg_createdb(struct hl_test_pg *pg, const char *name, char *url,
    size_t n);

/* Stops the server and removes the dir. NULL is fine. */
void hl_test_pg_free(struct hl_test_pg *pg);

/* One started cluster per test process, made on first use and freed at
 * exit; NULL when it cannot start. */
struct hl_test_pg *hl_test_pg_shared(void);

/* A url to a fresh database on the shared cluster: 0 or -1. */
int hl_test_pg_fresh_url(char *url, size_t n);

#endif
