/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_delivery_prompt.c - what the prompt makes of a delivery status
 * record (delivery_prompt.h): classes, the settle time of
 * delivered_failed, the texts, and when no lookup is made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/core/cfg.h"
#include "../../src/core/delivery_prompt.h"
#include "../../src/core/err.h"
#include "../../src/core/store.h"
#include "../../src/core/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void quiet(void *ctx, int prio, const char *line)
{
    (void)ctx;
    (void)prio;
    (void)line;
}

static const struct eotp_logger lg = {quiet, NULL, true};

static struct eotp_dlv rec(const char *status, long long at)
{
    struct eotp_dlv d;

    memset(&d, 0, sizeof(d));
    (void)snprintf(d.status, sizeof(d.status), "%s", status);
    (void)snprintf(d.channel, sizeof(d.channel), "sms");
    d.at = at;
    return d;
}

static void test_class_at(void **state)
{
    struct eotp_dlv d;

    (void)state;
    d = rec("delivered", 1000);
    assert_int_equal(eotp_dlv_class_at(&d, 1000), EOTP_DLV_DELIVERED);
    d = rec("sent_failed", 1000);
    assert_int_equal(eotp_dlv_class_at(&d, 1000), EOTP_DLV_FAILED);
    d = rec("target_invalid", 1000);
    assert_int_equal(eotp_dlv_class_at(&d, 1000), EOTP_DLV_FAILED);
    d = rec("sent", 1000);
    assert_int_equal(eotp_dlv_class_at(&d, 5000), EOTP_DLV_PENDING);
    d = rec("verified", 1000);
    assert_int_equal(eotp_dlv_class_at(&d, 5000), EOTP_DLV_DONE);
    d = rec("whatever", 1000);
    assert_int_equal(eotp_dlv_class_at(&d, 5000), EOTP_DLV_UNKNOWN);
    /* A fallback may follow a fresh delivered_failed. */
    d = rec("delivered_failed", 1000);
    assert_int_equal(eotp_dlv_class_at(&d, 1000), EOTP_DLV_PENDING);
    assert_int_equal(eotp_dlv_class_at(&d,
                                       1000 + EOTP_DLV_FALLBACK_SETTLE - 1),
                     EOTP_DLV_PENDING);
    assert_int_equal(eotp_dlv_class_at(&d, 1000 + EOTP_DLV_FALLBACK_SETTLE),
                     EOTP_DLV_FAILED);
    d = rec("delivered_failed", 0); /* no time: cannot wait for it */
    assert_int_equal(eotp_dlv_class_at(&d, 1000), EOTP_DLV_FAILED);
}

static void test_texts(void **state)
{
    char buf[160];

    (void)state;
    eotp_dlv_text_failed("SMS", "+65******67", buf, sizeof(buf));
    assert_string_equal(buf,
                        "The SMS to +65******67 could not be delivered. ");
    eotp_dlv_text_failed(NULL, "+65******67", buf, sizeof(buf));
    assert_string_equal(
        buf, "The code sent to +65******67 could not be delivered. ");
    eotp_dlv_text_delivered("SMS", "+65******67", 1000, 1030, buf,
                            sizeof(buf));
    assert_string_equal(
        buf, "The SMS to +65******67 was delivered less than a minute ago. ");
    eotp_dlv_text_delivered("SMS", "+65******67", 1000, 900, buf, sizeof(buf));
    assert_string_equal(/* the host's clock behind the service's */
                        buf, "The SMS to +65******67 was delivered less than "
                             "a minute ago. ");
    eotp_dlv_text_delivered("SMS", "+65******67", 1000, 1090, buf,
                            sizeof(buf));
    assert_string_equal(buf,
                        "The SMS to +65******67 was delivered 1 minute ago. ");
    eotp_dlv_text_delivered("email", "a***@example.com", 1000, 1000 + 7 * 60,
                            buf, sizeof(buf));
    assert_string_equal(
        buf, "The email to a***@example.com was delivered 7 minutes ago. ");
    eotp_dlv_text_delivered("SMS", "+65******67", 0, 1090, buf, sizeof(buf));
    assert_string_equal(buf, "The SMS to +65******67 was delivered. ");
    /* Truncation stays terminated. */
    eotp_dlv_text_failed("SMS", "+65******67", buf, 8);
    assert_string_equal(buf, "The SMS");
}

static void test_lookup(void **state)
{
    char dir[] = "/tmp/eotp-unit-dlvp.XXXXXX";
    struct eotp_store *s = NULL;
    struct eotp_cfg cfg;
    struct eotp_dlv d = rec("delivered", 1000);
    struct eotp_dlv out;
    bool kept = false;
    char cmd[96];

    (void)state;
    if (geteuid() != 0) {
        skip(); /* state_dir must be root-owned */
    }
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
    free(cfg.state_dir);
    cfg.state_dir = strdup(dir);
    assert_non_null(cfg.state_dir);
    assert_int_equal(eotp_store_file_open(&cfg, &lg, &s), EOTP_OK);

    assert_int_equal(eotp_dlv_lookup(&cfg, s, &lg, "42", 1100, &out),
                     EOTP_DLV_UNKNOWN);
    assert_string_equal(out.status, "");
    assert_int_equal(eotp_dlv_put(s, "42", &d, 60, &kept), EOTP_OK);
    assert_true(kept);
    assert_int_equal(eotp_dlv_lookup(&cfg, s, &lg, "42", 1100, &out),
                     EOTP_DLV_DELIVERED);
    assert_string_equal(out.status, "delivered");
    assert_int_equal(out.at, 1000);
    /* No lookup: off, SMPP ids, ids the store cannot name, no store. */
    cfg.delivery_status = false;
    assert_int_equal(eotp_dlv_lookup(&cfg, s, &lg, "42", 1100, &out),
                     EOTP_DLV_UNKNOWN);
    cfg.delivery_status = true;
    cfg.transport = EOTP_TRANSPORT_SMPP;
    assert_int_equal(eotp_dlv_lookup(&cfg, s, &lg, "42", 1100, &out),
                     EOTP_DLV_UNKNOWN);
    cfg.transport = EOTP_TRANSPORT_HTTPS;
    assert_int_equal(eotp_dlv_lookup(&cfg, s, &lg, "../42", 1100, &out),
                     EOTP_DLV_UNKNOWN);
    assert_int_equal(eotp_dlv_lookup(&cfg, s, &lg, "", 1100, &out),
                     EOTP_DLV_UNKNOWN);
    assert_int_equal(eotp_dlv_lookup(&cfg, NULL, &lg, "42", 1100, &out),
                     EOTP_DLV_UNKNOWN);

    eotp_store_close(s);
    eotp_cfg_free(&cfg);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_class_at),
        cmocka_unit_test(test_texts),
        cmocka_unit_test(test_lookup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
