/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_callback_body - the callback body parser (eotp_cbb_parse).  Every
 * text it keeps must be within its alphabet (what the receiver logs and
 * stores), every status row must encode as a delivery record that
 * decodes back to itself, and nothing is kept from a refused body.
 */
#include "fuzz.h"

#include "../../src/core/callback_body.h"
#include "../../src/core/delivery.h"
#include "../../src/core/err.h"
#include "../../src/core/store.h"

#include <syslog.h>

static int only(const char *s, size_t max, const char *set, int empty_ok)
{
    size_t n = strnlen(s, max);

    if (n >= max || (n == 0 && !empty_ok)) {
        return 0;
    }
    return strspn(s, set) == n;
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

static int clean_text(const char *s, size_t max)
{
    size_t n = strnlen(s, max);

    if (n >= max) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
            return 0;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eotp_cbb c;
    int r = eotp_cbb_parse((const char *)data, size, &c);

    FUZZ_CHECK(r == EOTP_OK || r == EOTP_E_BAD_RESPONSE || r == EOTP_E_NOMEM);
    if (r != EOTP_OK) {
        FUZZ_CHECK(c.status == NULL && c.note == NULL && c.nstatus == 0 &&
                   c.nnote == 0);
        return 0;
    }
    FUZZ_CHECK(c.nstatus + c.nnote + c.nother + c.bad_rows <=
               EOTP_CBB_ROWS_MAX);
    if (c.kind == EOTP_CBB_URL_CHECK) {
        FUZZ_CHECK(c.nstatus == 0 && c.nnote == 0);
    }
    for (size_t i = 0; i < c.nstatus; i++) {
        const struct eotp_cbb_status *st = &c.status[i];
        char enc[EOTP_STORE_VALUE_MAX];
        struct eotp_dlv back;

        FUZZ_CHECK(
            only(st->message_id, sizeof(st->message_id), ALNUM "_.-", 0));
        FUZZ_CHECK(only(st->dlv.status, sizeof(st->dlv.status),
                        "abcdefghijklmnopqrstuvwxyz_", 0));
        FUZZ_CHECK(strcmp(st->dlv.status, "sent_fail") != 0);
        FUZZ_CHECK(
            only(st->dlv.channel, sizeof(st->dlv.channel), ALNUM "_", 1));
        FUZZ_CHECK(only(st->route, sizeof(st->route), ALNUM "_", 1));
        FUZZ_CHECK(clean_text(st->error_message, sizeof(st->error_message)));
        FUZZ_CHECK(only(st->cost, sizeof(st->cost), "0123456789.-+e", 1));
        FUZZ_CHECK(only(st->currency, sizeof(st->currency),
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1));
        FUZZ_CHECK(st->dlv.at >= 0 && st->dlv.at <= 2147483647LL);
        FUZZ_CHECK(eotp_dlv_encode(&st->dlv, enc, sizeof(enc)) == EOTP_OK);
        FUZZ_CHECK(eotp_dlv_decode(enc, &back) == EOTP_OK);
        FUZZ_CHECK(memcmp(&back, &st->dlv, sizeof(back)) == 0 ||
                   (strcmp(back.status, st->dlv.status) == 0 &&
                    strcmp(back.channel, st->dlv.channel) == 0 &&
                    back.at == st->dlv.at &&
                    back.error_code == st->dlv.error_code));
    }
    for (size_t i = 0; i < c.nnote; i++) {
        const struct eotp_cbb_note *nt = &c.note[i];

        FUZZ_CHECK(only(nt->event, sizeof(nt->event),
                        "abcdefghijklmnopqrstuvwxyz0123456789_", 0));
        FUZZ_CHECK(nt->prio == LOG_ALERT || nt->prio == LOG_NOTICE);
        FUZZ_CHECK(clean_text(nt->detail, sizeof(nt->detail)));
    }
    eotp_cbb_free(&c);
    return 0;
}
