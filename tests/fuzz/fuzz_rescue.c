/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_rescue - the rescue file (eotp_rescue_find over the whole text,
 * as a login reads it) and a rescue code's input shapes
 * (eotp_rescue_shaped).  A set found is formatted back and must parse to
 * the same set; a shaped answer's canonical form is 12 symbols of the
 * alphabet and shaped again to itself.
 */
#include "fuzz.h"

#include "../../src/core/err.h"
#include "../../src/core/rescue.h"

static struct eotp_rescue_set set;
static struct eotp_rescue_set again;
static char line[EOTP_RESCUE_LINE_MAX + 2];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char canon[EOTP_RESCUE_SYMBOLS + 1];
    char canon2[EOTP_RESCUE_SYMBOLS + 1];
    char why[128];
    bool found = false;
    char *text = fuzz_strndup(data, size);
    int r;

    /* The whole input as a file, for the user "alice" (and its first
     * word, so that real lines are found too). */
    r = eotp_rescue_find((const char *)data, size, "alice", &set, &found, why,
                         sizeof(why));
    FUZZ_CHECK(r == EOTP_OK || r == EOTP_E_CONFIG || r == EOTP_E_NOMEM);
    if (r == EOTP_E_CONFIG) {
        FUZZ_CHECK(strnlen(why, sizeof(why)) < sizeof(why));
    }
    if (r == EOTP_OK && !found) {
        const char *sp = memchr(text, ' ', strlen(text));

        if (sp != NULL && (size_t)(sp - text) < sizeof(set.user)) {
            char user[sizeof(set.user)];

            memcpy(user, text, (size_t)(sp - text));
            user[sp - text] = '\0';
            r = eotp_rescue_find((const char *)data, size, user, &set, &found,
                                 why, sizeof(why));
            /* A second line for that user is refused. */
            FUZZ_CHECK(r == EOTP_OK || r == EOTP_E_CONFIG);
        }
    }
    if (r == EOTP_OK && found) {
        FUZZ_CHECK(set.n >= 1 && set.n <= EOTP_RESCUE_MAX);
        FUZZ_CHECK(set.issued >= 0);
        r = eotp_rescue_format_line(&set, line, sizeof(line));
        FUZZ_CHECK(r == EOTP_OK);
        FUZZ_CHECK(eotp_rescue_parse_line(line, strlen(line) - 1, &again) ==
                   EOTP_OK);
        FUZZ_CHECK(strcmp(set.user, again.user) == 0);
        FUZZ_CHECK(set.issued == again.issued && set.n == again.n);
        for (size_t i = 0; i < set.n; i++) {
            FUZZ_CHECK(strcmp(set.hash[i], again.hash[i]) == 0);
        }
    }
    /* The input as an answer at the prompt. */
    if (eotp_rescue_shaped(text, canon, sizeof(canon))) {
        FUZZ_CHECK(strlen(canon) == EOTP_RESCUE_SYMBOLS);
        FUZZ_CHECK(strspn(canon, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") ==
                   EOTP_RESCUE_SYMBOLS);
        FUZZ_CHECK(eotp_rescue_shaped(canon, canon2, sizeof(canon2)));
        FUZZ_CHECK(strcmp(canon, canon2) == 0);
    }
    free(text);
    return 0;
}
