/*
 * The one entry point every fuzzer defines. libFuzzer calls it with each
 * input; tests/fuzz/replay.c calls it with each file of a seed corpus, so
 * the same targets run under gcc in the normal test suite.
 *
 * A target returns 0 for every input it rejects or accepts as it should,
 * and abort()s when a property it checks is broken, so that libFuzzer and
 * the replay both report it as a failure with the input that caused it.
 */
#ifndef HL_FUZZ_H
#define HL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
