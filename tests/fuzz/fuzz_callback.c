/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_callback - the X-CALLBACK-ID header parser (eotp_cb_parse) and
 * checker (eotp_cb_verify).  Random input must never verify; a header
 * that parses, signed again with the secret, must verify.
 */
#include "fuzz.h"

#include "../../src/core/callback.h"
#include "../../src/core/err.h"

static const char secret[] = "fuzz-callback-secret";
#define NOW 1725407449LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eotp_cb_header h;
    enum eotp_cb_status status = EOTP_CB_VALID;
    char why[128];
    char *value = fuzz_strndup(data, size);
    int r;

    memset(why, 0, sizeof(why));
    r = eotp_cb_parse(value, &h, why, sizeof(why));
    FUZZ_CHECK(r == EOTP_OK || r == EOTP_E_BAD_RESPONSE);
    FUZZ_CHECK(strnlen(why, sizeof(why)) < sizeof(why));
    r = eotp_cb_verify(value, secret, sizeof(secret) - 1, 300, NOW, &status,
                       why, sizeof(why));
    FUZZ_CHECK(r != EOTP_OK && status != EOTP_CB_VALID);
    FUZZ_CHECK(eotp_cb_status_text(status) != NULL);
    if (eotp_cb_parse(value, &h, why, sizeof(why)) == EOTP_OK) {
        char sig[EOTP_CB_SIG_HEX + 1];
        char hdr[EOTP_CB_HEADER_MAX + 1];
        int n;

        FUZZ_CHECK(h.timestamp[0] != '\0' && h.nonce[0] != '\0' &&
                   h.username[0] != '\0' && h.signature[0] != '\0');
        FUZZ_CHECK(eotp_cb_sign(secret, sizeof(secret) - 1, h.timestamp,
                                h.nonce, h.username, sig) == EOTP_OK);
        n = snprintf(hdr, sizeof(hdr),
                     "X-CALLBACK-ID: timestamp=%s;nonce=%s;username=%s;"
                     "signature=%s",
                     h.timestamp, h.nonce, h.username, sig);
        if (n > 0 && (size_t)n < sizeof(hdr)) {
            r = eotp_cb_verify(hdr, secret, sizeof(secret) - 1, 0, NOW,
                               &status, why, sizeof(why));
            FUZZ_CHECK(r == EOTP_OK && status == EOTP_CB_VALID);
        }
    }
    free(value);
    return 0;
}
