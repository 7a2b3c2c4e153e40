/*
 * jsonwipe: an allocator for jansson that wipes every block it frees.
 * jansson's allocations hold request bodies, enrollment codes among them,
 * and it frees them without clearing. Install it once, before any JSON
 * value exists; every value is then allocated and freed through it.
 */
#ifndef HL_RELAY_JSONWIPE_H
#define HL_RELAY_JSONWIPE_H

/* Makes jansson allocate through malloc and wipe blocks before free. */
void hl_jsonwipe_install(void);

#endif
