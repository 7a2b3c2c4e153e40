#include "relay/jsonwipe.h"

#include <jansson.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The block's size sits in front of it, in a header that keeps the block
 * aligned for any type. */
#define HEADER sizeof(max_align_t)

static void *
wiping_malloc(size_t n)
{
	if (n > SIZE_MAX - HEADER)
		return NULL;
	unsigned char *p = malloc(n + HEADER);
	if (p == NULL)
		return NULL;
	memcpy(p, &n, sizeof n);
	return p + HEADER;
}

static void
wiping_free(void *q)
{
	if (q == NULL)
		return;
	unsigned char *p = (unsigned char *)q - HEADER;
	size_t n;
	memcpy(&n, p, sizeof n);
	sodium_memzero(q, n);
	free(p);
}

void
hl_jsonwipe_install(void)
{
	json_set_alloc_funcs(wiping_malloc, wiping_free);
}
