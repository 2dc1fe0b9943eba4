/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dlv_put - write one delivery status record into the store a config
 * names (state_dir or Redis), as the callback receiver does, for tests
 * that need a record without HTTP.
 *
 *   dlv_put CONF MESSAGE_ID STATUS [AGE_SECONDS [CHANNEL]]
 *
 * AGE_SECONDS: how long ago the callback was (default 0: now).
 * Exit 0 when the record was written, 1 when an older one was kept,
 * 2 on an error.
 */
#include "../../src/core/cfg.h"
#include "../../src/core/delivery.h"
#include "../../src/core/err.h"
#include "../../src/core/store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void to_stderr(void *ctx, int prio, const char *line)
{
    (void)ctx;
    (void)prio;
    (void)fprintf(stderr, "%s\n", line);
}

int main(int argc, char **argv)
{
    struct eotp_logger lg = {to_stderr, NULL, false};
    struct eotp_store *s = NULL;
    struct eotp_cfg cfg;
    struct eotp_dlv d;
    long age = 0;
    bool kept = false;
    int r;

    if (argc < 4 || argc > 6) {
        (void)fprintf(stderr, "usage: dlv_put CONF MESSAGE_ID STATUS "
                              "[AGE_SECONDS [CHANNEL]]\n");
        return 2;
    }
    if (argc > 4 && eotp_parse_long(argv[4], 0, 86400, &age) != EOTP_OK) {
        (void)fprintf(stderr, "dlv_put: bad age\n");
        return 2;
    }
    memset(&d, 0, sizeof(d));
    (void)snprintf(d.status, sizeof(d.status), "%s", argv[3]);
    (void)snprintf(d.channel, sizeof(d.channel), "%s",
                   argc > 5 ? argv[5] : "sms");
    d.at = (long long)time(NULL) - age;
    r = eotp_cfg_init(&cfg);
    if (r == EOTP_OK) {
        r = eotp_cfg_load_file(&cfg, argv[1], &lg);
    }
    if (r == EOTP_OK) {
        r = eotp_store_open(&cfg, &lg, &s);
    }
    if (r == EOTP_OK) {
        r = eotp_dlv_put(s, argv[2], &d, 0, &kept);
    }
    eotp_store_close(s);
    eotp_cfg_free(&cfg);
    if (r != EOTP_OK) {
        (void)fprintf(stderr, "dlv_put: %s\n", eotp_err_reason(r));
        return 2;
    }
    return kept ? 0 : 1;
}
