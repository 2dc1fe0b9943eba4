/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_api_verify - the /v1/verifications answer parser
 * (eotp_api_parse_verify).  A "yes" must only ever come from a JSON true
 * in an answer that names our message or none.
 */
#include "fuzz.h"

#include "../../src/core/api.h"
#include "../../src/core/err.h"

#include <stdbool.h>

#define OUR_ID "1725407449772531712"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size > 0 ? size : 1);
    bool verified = false;
    int r;

    if (body == NULL) {
        return 0;
    }
    if (size > 0) {
        memcpy(body, data, size);
    }
    r = eotp_api_parse_verify(body, size, OUR_ID, &verified);
    /* NOMEM: a body cJSON refuses that the syntax check accepts. */
    FUZZ_CHECK(r == EOTP_OK || r == EOTP_E_BAD_RESPONSE || r == EOTP_E_NOMEM);
    if (r == EOTP_OK && verified) {
        /* A yes needs the literal true and no other message's id. */
        FUZZ_CHECK(memmem(body, size, "true", 4) != NULL);
    }
    free(body);
    return 0;
}
