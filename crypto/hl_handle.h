/*
 * hl_handle: contact handles, [a-z0-9][a-z0-9.-]{1,62} ("ee.cert").
 */
#ifndef HL_HANDLE_H
#define HL_HANDLE_H

#define HL_HANDLE_MAX 63

/* True when s is a valid handle. */
int hl_handle_valid(const char *s);

#endif
