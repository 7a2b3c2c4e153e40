/*
 * hl_testfault: what the fault tests share: the short/long switch, a
 * seeded random source (the seed is printed, so a failing run can be
 * repeated with HL_FAULT_SEED), the one summary line every fault test
 * ends with, and a set of real client engines driven in-process.
 *
 *   HL_FAULTS_LONG=1   the long runs (make test-faults); else the short
 *                      ones (make test)
 *   HL_FAULT_SEED=N    repeat a run's random choices
 *
 * The summary line is
 *   fault: NAME cycles=N accepted=N delivered=N lost=N duplicates=N ...
 * and a test fails unless lost=0 and duplicates=0.
 */
#ifndef HL_TESTFAULT_H
#define HL_TESTFAULT_H

#include <stddef.h>
#include <stdint.h>

#include "client/engine.h"
#include "tests/lib/hl_testclient.h"

/* 1 when HL_FAULTS_LONG=1. */
int hl_fault_long(void);

/* An integer from the environment variable name within [lo, hi], else
 * dflt: to size a run by hand. */
long hl_fault_param(const char *name, long dflt, long lo, long hi);

/* Seeds the random source once (HL_FAULT_SEED, else the clock) and prints
 * the seed with the test's name. */
void hl_fault_seed(const char *name);

/* A number in [0, n). */
uint32_t hl_fault_rand(uint32_t n);

/* Prints the summary line (extra, may be NULL, is appended after a
 * space). */
void hl_fault_summary(const char *name, long cycles, long accepted,
    long delivered, long lost, long duplicates, const char *extra);

/* A folder on a memory file system (/dev/shm) when there is one, else
 * under /tmp, for data whose fsync() does not matter to the test (a
 * SIGKILL keeps the page cache; power loss is test_fault_power's): many
 * engines in one thread are otherwise bound by the disk's fsyncs. Removed
 * at exit. 0 or -1. */
int hl_fault_fast_dir(char *out, size_t len);

/* Moves c's profile into a new folder under dir (its old path becomes a
 * symbolic link there). Call while no command of c runs. 0 or -1. */
int hl_fault_move_home(struct hl_test_client *c, const char *dir);

/* --- real client engines, in this process --- */

struct hl_test_engine {
	struct hl_test_client *client;   /* borrowed */
	struct hl_crypto *crypto;        /* owned while open */
	struct hl_engine *e;             /* owned while open */
	char (*received)[HL_ID_HEX + 1]; /* ids of every HL_EV_RECEIVED text */
	size_t nreceived, capreceived;
	long accepted;                   /* HL_EV_STATE to sent, texts */
	int64_t last_fetch_ms;
};

/* Opens c's profile (its passphrase file) and starts an engine on it. 0 or
 * -1 (printed). The received ids are kept across close and open. */
int hl_test_engine_open(struct hl_test_engine *te, struct hl_test_client *c);

/* Frees the engine and closes the profile (the ids are kept). */
void hl_test_engine_close(struct hl_test_engine *te);

/* Frees the ids too. */
void hl_test_engine_free(struct hl_test_engine *te);

/* Queues a text to handle; id gets its id. 0 or -1. */
int hl_test_engine_send(struct hl_test_engine *te, const char *to,
    const char *body, char id[HL_ID_HEX + 1]);

/* Runs every open engine of v for ms milliseconds: sends what is due,
 * fetches every fetch_ms (0: never), dispatches. */
void hl_test_engines_pump(struct hl_test_engine *v, size_t n, int ms,
    int fetch_ms);

/* Makes every queued outbound message of te to the other profiles of v
 * due now (the final drain does not wait out a backoff grown through many
 * outages). */
void hl_test_engine_due_now(struct hl_test_engine *te,
    struct hl_test_engine *v, size_t n);

/* What the stores say, over all n profiles (each open). */
struct hl_fault_tally {
	long outbound;      /* text messages in outboxes */
	long below_sent;    /* of those, still queued, failed or expired */
	long accepted;      /* of those, sent or further */
	long delivered;     /* of those, delivered or acknowledged */
	long lost;          /* of those, not in the recipient's inbox */
	long duplicates;    /* inbox rows or RECEIVED events beyond the first */
};
int hl_fault_tally(struct hl_test_engine *v, size_t n, struct hl_fault_tally *t);

/* Pumps until every outbound text is delivered or deadline_ms (monotonic)
 * passes; 0 when all are delivered, -1 otherwise. */
int hl_fault_drain(struct hl_test_engine *v, size_t n, long long deadline_ms);

#endif
