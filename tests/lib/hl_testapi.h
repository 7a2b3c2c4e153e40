/*
 * hl_testapi: the relay API calls integration tests repeat, on top of
 * hl_testhttp and a relay from hl_testrelay.
 */
#ifndef HL_TESTAPI_H
#define HL_TESTAPI_H

#include "tests/lib/hl_testhttp.h"
#include "tests/lib/hl_testrelay.h"

#include <jansson.h>
#include <stddef.h>

/* A random message id (32 lower-case hex) into id (33 bytes). */
void hl_test_api_id(char *id);

/* Any request to the relay r (TLS handled): see hl_test_http(). */
int hl_test_api(struct hl_test_relay *r, const char *method, const char *path,
    const char *body, const char *token, struct hl_test_http *out);

/* POST /v1/messages {to, id, type 3, body: base64 of text}. */
int hl_test_api_send(struct hl_test_relay *r,
    const struct hl_test_account *from, const char *to, const char *id,
    const char *text, struct hl_test_http *out);

/* GET /v1/messages?wait=W; *json (caller json_decref()s) is the answer
 * when the status is 200, else NULL. Returns the status (0: no answer). */
long hl_test_api_fetch(struct hl_test_relay *r,
    const struct hl_test_account *who, int wait, json_t **json);

/* POST /v1/messages/ack with the qids of every item in a fetch answer.
 * Returns "deleted", or -1. */
long hl_test_api_ack_all(struct hl_test_relay *r,
    const struct hl_test_account *who, json_t *fetched);

/* The status of GET /v1/health (0 when no answer). */
long hl_test_api_health(struct hl_test_relay *r);

#endif
