/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_state - the per-user state record (eotp_state_parse).  A record
 * that parses must format, and what it formats to must parse back and
 * format to the same text (the record survives a load/save round trip).
 * Only parse and format are used, so the target does not depend on the
 * fields of struct eotp_state.
 */
#include "fuzz.h"

#include "../../src/core/err.h"
#include "../../src/core/state.h"

static struct eotp_state st;
static struct eotp_state again;
static char text1[EOTP_STATE_MAX_SIZE + 1];
static char text2[EOTP_STATE_MAX_SIZE + 1];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size > 0 ? size : 1);
    int r;

    if (copy == NULL) {
        return 0;
    }
    if (size > 0) {
        memcpy(copy, data, size);
    }
    memset(&st, 0, sizeof(st));
    r = eotp_state_parse(copy, size, &st);
    FUZZ_CHECK(r == EOTP_OK || r == EOTP_E_STATE || r == EOTP_E_NOMEM);
    if (r == EOTP_OK) {
        int n1;
        int n2;

        n1 = eotp_state_format(&st, text1, sizeof(text1));
        FUZZ_CHECK(n1 >= 0 && (size_t)n1 < sizeof(text1));
        memset(&again, 0, sizeof(again));
        FUZZ_CHECK(eotp_state_parse(text1, (size_t)n1, &again) == EOTP_OK);
        n2 = eotp_state_format(&again, text2, sizeof(text2));
        FUZZ_CHECK(n2 == n1 && memcmp(text1, text2, (size_t)n1) == 0);
    }
    free(copy);
    return 0;
}
