/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz.h - helpers shared by the libFuzzer targets.
 *
 * Each target feeds one parser of untrusted text and then checks the
 * parser's promises (terminated, bounded, sanitised output; round trips),
 * so that a wrong answer is a crash too, not only a memory error.
 */
#ifndef EOTP_FUZZ_H
#define EOTP_FUZZ_H

#include "../../src/core/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop with a message libFuzzer reports as a crash. */
#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* data as a NUL-terminated heap copy (ASan sees reads past the end). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL) {
        abort();
    }
    if (size > 0) {
        memcpy(s, data, size);
    }
    s[size] = '\0';
    return s;
}

/* True when s (len bytes) holds no control character. */
static inline int fuzz_printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* A log sink that insists every line is terminated and printable. */
static inline void fuzz_emit(void *ctx, int prio, const char *line)
{
    (void)ctx;
    (void)prio;
    FUZZ_CHECK(line != NULL);
    FUZZ_CHECK(fuzz_printable(line, strlen(line)));
}

static const struct eotp_logger fuzz_logger = {fuzz_emit, NULL, true};

#endif
