/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_api_error - the error answer parser (eotp_api_parse_error): the
 * first three bytes choose the HTTP status and the operation, the rest is
 * the body.  The message kept for logs must be terminated, printable and
 * free of quotes; the result must be an error, never success.
 */
#include "fuzz.h"

#include "../../src/core/api.h"
#include "../../src/core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eotp_api_error err;
    enum eotp_api_op op;
    long status;
    char *body;
    size_t len;
    size_t n;
    int r;

    if (size < 3) {
        return 0;
    }
    status = 100 + (long)(((unsigned)data[0] << 8 | data[1]) % 500);
    op = (enum eotp_api_op)(data[2] % 4);
    len = size - 3;
    body = malloc(len > 0 ? len : 1);
    if (body == NULL) {
        return 0;
    }
    if (len > 0) {
        memcpy(body, data + 3, len);
    }
    memset(&err, 0x5a, sizeof(err));
    r = eotp_api_parse_error(status, body, len, op, &err);
    FUZZ_CHECK(r < 0 && r >= EOTP_E_MIN);
    FUZZ_CHECK(err.http_status == status);
    FUZZ_CHECK(err.code >= 0 && err.code < 1000000000L);
    n = strnlen(err.message, sizeof(err.message));
    FUZZ_CHECK(n < sizeof(err.message));
    FUZZ_CHECK(fuzz_printable(err.message, n));
    if (err.code != 0) {
        FUZZ_CHECK(memchr(err.message, '"', n) == NULL);
        FUZZ_CHECK(memchr(err.message, '\\', n) == NULL);
    }
    FUZZ_CHECK(eotp_api_code_hint(err.code) != NULL);
    free(body);
    return 0;
}
