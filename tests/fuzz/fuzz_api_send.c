/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_api_send - the /v1/messages answer parser (eotp_api_parse_send),
 * and eotp_api_json_well_formed() against cJSON: every body cJSON parses
 * must be well-formed for it (otherwise cJSON running out of memory on
 * such a body could pass for a bad answer).
 */
#include "fuzz.h"

#include "../../src/core/api.h"
#include "../../src/core/err.h"

#include <cjson/cJSON.h>

static int id_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The body need not be terminated: parse an exact-size copy. */
    char *body = malloc(size > 0 ? size : 1);
    struct eotp_send_resp out;
    int r;

    if (body == NULL) {
        return 0;
    }
    if (size > 0) {
        memcpy(body, data, size);
    }
    /* The syntax check that tells cJSON's out-of-memory from a bad body
     * must accept everything cJSON accepts. */
    {
        cJSON *j = cJSON_ParseWithLength(body, size);

        if (j != NULL) {
            FUZZ_CHECK(eotp_api_json_well_formed(body, size));
            cJSON_Delete(j);
        }
    }
    memset(&out, 0x5a, sizeof(out));
    r = eotp_api_parse_send(body, size, &out);
    /* NOMEM: a body cJSON refuses that the syntax check accepts. */
    FUZZ_CHECK(r == EOTP_OK || r == EOTP_E_BAD_RESPONSE || r == EOTP_E_NOMEM);
    if (r == EOTP_OK) {
        size_t n = strnlen(out.message_id, sizeof(out.message_id));

        FUZZ_CHECK(n > 0 && n < sizeof(out.message_id));
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(id_char(out.message_id[i]));
        }
        n = strnlen(out.channel, sizeof(out.channel));
        FUZZ_CHECK(n < sizeof(out.channel));
        FUZZ_CHECK(n == 0 || strcmp(out.channel, "sms") == 0 ||
                   strcmp(out.channel, "whatsapp") == 0 ||
                   strcmp(out.channel, "email") == 0 ||
                   strcmp(out.channel, "voice") == 0);
    }
    free(body);
    return 0;
}
