/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Fuzz targets (STYLE.md rule 21): each fuzz-<target>.c defines
 * LLVMFuzzerTestOneInput. Built with -Dfuzzing=true they link against
 * libFuzzer; otherwise fuzz-main.c replays a corpus through them, so the
 * corpus runs as suite "fuzz" in every build.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property every input must satisfy; a violation aborts, which the fuzzer reports as a crash. */
#define FUZZ_CHECK(expr) \
        do { \
                if (!(expr)) { \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
                        abort(); \
                } \
        } while (0)
