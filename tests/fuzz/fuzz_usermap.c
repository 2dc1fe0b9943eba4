/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_usermap - one user map line (eotp_usermap_parse_line), and the
 * masking of every destination it yields.  The lookup streams lines of at
 * most EOTP_USERMAP_LINE_MAX bytes without NUL bytes; the target feeds
 * what is before the first NUL, cut to that length.
 */
#include "fuzz.h"

#include "../../src/core/dest.h"
#include "../../src/core/err.h"
#include "../../src/core/usermap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eotp_dests d = {{NULL}, 0, 0};
    const uint8_t *nul = memchr(data, '\0', size);
    char *user = NULL;
    char *line;
    int r;

    if (nul != NULL) {
        size = (size_t)(nul - data);
    }
    if (size > EOTP_USERMAP_LINE_MAX) {
        size = EOTP_USERMAP_LINE_MAX;
    }
    line = fuzz_strndup(data, size);
    r = eotp_usermap_parse_line(line, size % 2 == 0 ? "65" : NULL, &user, &d);
    FUZZ_CHECK(r == EOTP_OK || r == EOTP_E_NOT_FOUND || r == EOTP_E_CONFIG);
    if (r == EOTP_OK) {
        FUZZ_CHECK(user != NULL && user >= line && user < line + size);
        FUZZ_CHECK(*user != '\0' && strchr(user, ':') == NULL);
        FUZZ_CHECK(d.n >= 1 && d.n <= EOTP_MAX_DESTS);
        for (size_t i = 0; i < d.n; i++) {
            char masked[EOTP_MASK_MAX];
            char small[8];

            FUZZ_CHECK(eotp_dest_classify(d.dest[i]) != EOTP_DEST_INVALID);
            eotp_dest_mask(d.dest[i], masked, sizeof(masked));
            FUZZ_CHECK(strnlen(masked, sizeof(masked)) < sizeof(masked));
            FUZZ_CHECK(fuzz_printable(masked, strlen(masked)));
            /* The full destination is never what the mask shows (unless
             * it is itself of the masked shape, '*' being valid). */
            FUZZ_CHECK(strchr(d.dest[i], '*') != NULL ||
                       strcmp(masked, d.dest[i]) != 0);
            eotp_dest_mask(d.dest[i], small, sizeof(small));
            FUZZ_CHECK(strnlen(small, sizeof(small)) < sizeof(small));
        }
        eotp_dests_free(&d);
    } else {
        FUZZ_CHECK(d.n == 0);
    }
    free(line);
    return 0;
}
