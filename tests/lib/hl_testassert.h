/*
 * hl_testassert: the cmocka fixtures and checks the client integration
 * tests share: a world (a relay and its clients) per test, a registered
 * client by handle, an exit code, a JSON field, the only JSON line of a
 * run, and the sender's four times in order. Each fails the running test.
 */
#ifndef HL_TESTASSERT_H
#define HL_TESTASSERT_H

#include <jansson.h>

#include "tests/lib/hl_testclient.h"

/* cmocka setup and teardown: *state is a struct hl_test_world with a relay
 * on 127.0.0.1, plain HTTP or TLS. */
int hl_test_setup_world(void **state);
int hl_test_setup_world_tls(void **state);
int hl_test_teardown_world(void **state);

/* A client registered as handle in w (made on first use). */
struct hl_test_client *hl_test_client_of(struct hl_test_world *w,
    const char *handle);

/* The run exited with code (else its output is printed and the test fails). */
void hl_test_expect(struct hl_test_run *r, int code);

/* The string at path in o is want. */
void hl_test_assert_str(json_t *o, const char *path, const char *want);

/* The one JSON line the run printed (new reference). */
json_t *hl_test_only_line(struct hl_test_run *r);

/* queued, sent, delivered and acknowledged times are all there, in order. */
void hl_test_assert_four_times(json_t *m);

#endif
