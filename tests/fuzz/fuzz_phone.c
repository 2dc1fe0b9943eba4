/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_phone - phone number normalisation (eotp_phone_normalize and
 * eotp_phone_normalize_dest).  The first byte picks the default country
 * code; the rest is the number.  A success must be E.164 ('+', 7 to 15
 * digits, the first not 0), written within outlen, and normalising the
 * result again must give it back unchanged.
 */
#include "fuzz.h"

#include "../../src/core/dest.h"
#include "../../src/core/err.h"
#include "../../src/core/phone.h"

static const char *const ccs[] = {NULL, "",   "1",   "7", "39",   "44", "55",
                                  "65", "86", "378", "0", "1234", "x"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[EOTP_PHONE_OUT_MIN + 8];
    char again[EOTP_PHONE_OUT_MIN];
    char dest[EOTP_DEST_MAX + 1];
    const char *cc;
    char *in;
    int r;

    if (size < 1) {
        return 0;
    }
    cc = ccs[data[0] % (sizeof(ccs) / sizeof(ccs[0]))];
    in = fuzz_strndup(data + 1, size - 1);

    memset(out, 'Z', sizeof(out));
    r = eotp_phone_normalize(in, cc, out, EOTP_PHONE_OUT_MIN);
    FUZZ_CHECK(r == EOTP_OK || r == EOTP_E_UNMAPPED || r == EOTP_E_CONFIG);
    if (r == EOTP_OK) {
        FUZZ_CHECK(memchr(out, '\0', EOTP_PHONE_OUT_MIN) != NULL);
        FUZZ_CHECK(out[EOTP_PHONE_OUT_MIN] == 'Z');
        FUZZ_CHECK(eotp_dest_classify(out) == EOTP_DEST_PHONE);
        FUZZ_CHECK(eotp_phone_normalize(out, cc, again, sizeof(again)) ==
                   EOTP_OK);
        FUZZ_CHECK(strcmp(again, out) == 0);
    } else {
        FUZZ_CHECK(out[0] == 'Z');
    }
    /* Too small an output buffer is refused, never overrun. */
    memset(out, 'Z', sizeof(out));
    r = eotp_phone_normalize(in, cc, out, 4);
    FUZZ_CHECK(r != EOTP_OK && out[4] == 'Z');

    r = eotp_phone_normalize_dest(in, cc, dest, sizeof(dest));
    FUZZ_CHECK(r == EOTP_OK || r == EOTP_E_UNMAPPED || r == EOTP_E_CONFIG);
    if (r == EOTP_OK) {
        FUZZ_CHECK(strnlen(dest, sizeof(dest)) < sizeof(dest));
        FUZZ_CHECK(eotp_dest_classify(dest) != EOTP_DEST_INVALID);
    }
    free(in);
    return 0;
}
