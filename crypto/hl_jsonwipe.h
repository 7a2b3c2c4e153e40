/*
 * hl_jsonwipe: an allocator for jansson that wipes every block it frees,
 * shared by the relay and the client. jansson's allocations hold request
 * bodies (enrollment codes, tokens), decrypted contents and the JSON we
 * build from them, and it frees them without clearing. Install it once,
 * before any JSON value exists; every value is then allocated and freed
 * through it. Blocks are plain malloc() blocks, so a string from
 * json_dumps may still be released with free() (unwiped: wipe it first).
 */
#ifndef HL_JSONWIPE_H
#define HL_JSONWIPE_H

/* Makes jansson allocate through malloc and wipe blocks before free. */
void hl_jsonwipe_install(void);

#endif
