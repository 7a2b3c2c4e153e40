/*
 * The figures a benchmark hands to tests/bench/run.sh for results.json:
 * one "name value" line each, appended to the file named by
 * HL_BENCH_KEYS (nothing when it is unset, so a benchmark run by hand
 * prints its tables only). A figure that could not be measured (not
 * finite) is left out rather than written as a number it is not.
 */
#ifndef HL_BENCH_KEYS_H
#define HL_BENCH_KEYS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static inline void
bench_key(const char *name, double value)
{
	const char *path = getenv("HL_BENCH_KEYS");
	if (path == NULL || *path == '\0' || !isfinite(value))
		return;
	FILE *f = fopen(path, "a");
	if (f == NULL)
		return;
	fprintf(f, "%s %.6g\n", name, value);
	fclose(f);
}

#endif
