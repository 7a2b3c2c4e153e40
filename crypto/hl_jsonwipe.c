#include "crypto/hl_jsonwipe.h"

#include <jansson.h>
#include <malloc.h>
#include <sodium.h>
#include <stdlib.h>

/* No header in front of the block: its usable size (at least what was
 * asked for, all of it ours) comes from the allocator, so free() stays a
 * valid way to release it. */
static void
wiping_free(void *p)
{
	if (p == NULL)
		return;
	sodium_memzero(p, malloc_usable_size(p));
	free(p);
}

void
hl_jsonwipe_install(void)
{
	json_set_alloc_funcs(malloc, wiping_free);
}
