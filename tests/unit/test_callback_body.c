/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_callback_body.c - the callback body parser (callback_body.c) and
 * the delivery records it feeds (delivery.c: encode, decode, merge).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/core/callback_body.h"
#include "../../src/core/delivery.h"
#include "../../src/core/err.h"
#include "../../src/core/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

static int parse(const char *body, struct eotp_cbb *out)
{
    return eotp_cbb_parse(body, strlen(body), out);
}

/* The two official examples of engagelab-api.md section 5.4. */
static void test_official_examples(void **state)
{
    struct eotp_cbb c;

    (void)state;
    assert_int_equal(
        parse("{\"total\":1,\"rows\":[{\"message_id\":\"123456789\",\"to\":"
              "\"+6598765432\",\"server\":\"sms\",\"channel\":\"sms\","
              "\"itime\":1701234567,\"custom_args\":{\"order_id\":\"O1\"},"
              "\"status\":{\"message_status\":\"sent\",\"status_data\":{"
              "\"msg_time\":1701234560,\"message_id\":\"123456789\","
              "\"current_send_channel\":\"CHANNEL_A\",\"template_key\":"
              "\"verify_code\",\"business_id\":\"1001\"},\"billing\":{"
              "\"cost\":0.005,\"currency\":\"USD\"},\"error_code\":0}}]}",
              &c),
        EOTP_OK);
    assert_int_equal(c.kind, EOTP_CBB_ROWS);
    assert_int_equal(c.nstatus, 1);
    assert_int_equal(c.nnote, 0);
    assert_string_equal(c.status[0].message_id, "123456789");
    assert_string_equal(c.status[0].dlv.status, "sent");
    assert_string_equal(c.status[0].dlv.channel, "CHANNEL_A");
    assert_string_equal(c.status[0].route, "sms");
    assert_int_equal(c.status[0].dlv.at, 1701234567);
    assert_int_equal(c.status[0].dlv.error_code, 0);
    assert_string_equal(c.status[0].cost, "0.005");
    assert_string_equal(c.status[0].currency, "USD");
    assert_string_equal(c.status[0].error_message, "");
    eotp_cbb_free(&c);

    assert_int_equal(
        parse("{\"total\":1,\"rows\":[{\"message_id\":\"123456790\",\"to\":"
              "\"+6598765433\",\"server\":\"sms\",\"channel\":\"sms\","
              "\"itime\":1701234568,\"status\":{\"message_status\":"
              "\"sent_fail\",\"status_data\":{\"msg_time\":1701234561,"
              "\"message_id\":\"123456790\",\"current_send_channel\":"
              "\"CHANNEL_B\"},\"error_code\":4001,\"error_detail\":{"
              "\"message\":\"Invalid phone number\"}}}]}",
              &c),
        EOTP_OK);
    assert_int_equal(c.nstatus, 1);
    assert_string_equal(c.status[0].dlv.status, "sent_failed");
    assert_int_equal(eotp_dlv_classify(c.status[0].dlv.status),
                     EOTP_DLV_FAILED);
    assert_int_equal(c.status[0].dlv.error_code, 4001);
    assert_string_equal(c.status[0].error_message, "Invalid phone number");
    assert_string_equal(c.status[0].cost, "");
    eotp_cbb_free(&c);
}

static void test_message_id_forms(void **state)
{
    struct eotp_cbb c;

    (void)state;
    /* A number, a message id in status_data only, and bad ones. */
    assert_int_equal(
        parse("{\"rows\":["
              "{\"message_id\":1234567890123,\"status\":{\"message_status\":"
              "\"delivered\"}},"
              "{\"status\":{\"message_status\":\"plan\",\"status_data\":{"
              "\"message_id\":\"abc-1.2_3\"}}},"
              "{\"message_id\":\"a b\",\"status\":{\"message_status\":\"x\"}},"
              "{\"message_id\":1.5,\"status\":{\"message_status\":\"sent\"}},"
              "{\"message_id\":-1,\"status\":{\"message_status\":\"sent\"}},"
              "{\"message_id\":\"m1\",\"status\":{\"message_status\":5}},"
              "{\"message_id\":\"m2\",\"status\":{\"message_status\":"
              "\"Sent\"}},"
              "{\"message_id\":\"m3\",\"status\":{}}"
              "]}",
              &c),
        EOTP_OK);
    assert_int_equal(c.nstatus, 2);
    assert_int_equal(c.bad_rows, 6);
    assert_string_equal(c.status[0].message_id, "1234567890123");
    assert_string_equal(c.status[1].message_id, "abc-1.2_3");
    assert_string_equal(c.status[1].dlv.channel, "");
    eotp_cbb_free(&c);

    /* 64 characters are fine, 65 are not. */
    {
        char body[256];
        char id[66];

        memset(id, 'a', 65);
        id[65] = '\0';
        (void)snprintf(body, sizeof(body),
                       "{\"rows\":[{\"message_id\":\"%s\",\"status\":{"
                       "\"message_status\":\"sent\"}}]}",
                       id);
        assert_int_equal(parse(body, &c), EOTP_OK);
        assert_int_equal(c.nstatus, 0);
        assert_int_equal(c.bad_rows, 1);
        eotp_cbb_free(&c);
        id[64] = '\0';
        (void)snprintf(body, sizeof(body),
                       "{\"rows\":[{\"message_id\":\"%s\",\"status\":{"
                       "\"message_status\":\"sent\"}}]}",
                       id);
        assert_int_equal(parse(body, &c), EOTP_OK);
        assert_int_equal(c.nstatus, 1);
        eotp_cbb_free(&c);
    }
}

static void test_untrusted_text_is_cleaned(void **state)
{
    struct eotp_cbb c;

    (void)state;
    assert_int_equal(
        parse("{\"rows\":[{\"message_id\":\"m\",\"channel\":\"w a\\n\","
              "\"itime\":-5,\"status\":{\"message_status\":\"delivered\","
              "\"status_data\":{\"current_send_channel\":"
              "\"x;y=\\u00e9zzzzzzzzzzzzzzzzzzzzzzzzzz\"},"
              "\"error_code\":1e20,\"error_detail\":{\"message\":"
              "\"bad\\r\\ninjected=\\\"1\\\" \\u001b[31m\"},"
              "\"billing\":{\"cost\":\"free\",\"currency\":\"usd\"}}}]}",
              &c),
        EOTP_OK);
    assert_int_equal(c.nstatus, 1);
    assert_string_equal(c.status[0].route, "w_a_");
    /* [A-Za-z0-9_], cut to 23 characters. */
    assert_int_equal(strlen(c.status[0].dlv.channel), 23);
    assert_null(strpbrk(c.status[0].dlv.channel, ";= "));
    assert_int_equal(c.status[0].dlv.at, 0);
    assert_int_equal(c.status[0].dlv.error_code, 0);
    assert_null(strpbrk(c.status[0].error_message, "\r\n\"\\\x1b"));
    assert_string_equal(c.status[0].cost, "");
    assert_string_equal(c.status[0].currency, "");
    eotp_cbb_free(&c);
}

static void test_notifications(void **state)
{
    struct eotp_cbb c;

    (void)state;
    assert_int_equal(
        parse(
            "{\"total\":3,\"rows\":["
            "{\"server\":\"otp\",\"itime\":1712458844,\"notification\":{"
            "\"event\":\"insufficient_balance\",\"notification_data\":{"
            "\"business_id\":\"1744569418236633088\",\"remain_balance\":"
            "-0.005,\"balance_threshold\":2,\"nested\":{\"a\":1},"
            "\"Bad Key\":1,\"note\":\"a b=c\"}}},"
            "{\"notification\":{\"event\":\"insufficient_verification_rate"
            "\"}},"
            "{\"notification\":{\"event\":\"template_audit_result\"}},"
            "{\"notification\":{\"event\":\"BAD\"}},"
            "{\"server\":\"otp\",\"response\":{\"event\":\"uplink_message\"}},"
            "{\"system_event\":{\"event\":\"account_login\"}}]}",
            &c),
        EOTP_OK);
    assert_int_equal(c.nnote, 3);
    assert_int_equal(c.nother, 2);
    assert_int_equal(c.bad_rows, 1);
    assert_string_equal(c.note[0].event, "insufficient_balance");
    assert_int_equal(c.note[0].prio, LOG_ALERT);
    assert_int_equal(c.note[0].at, 1712458844);
    assert_string_equal(c.note[0].detail,
                        "business_id=1744569418236633088 "
                        "remain_balance=-0.005 balance_threshold=2 "
                        "note=a_b?c");
    assert_int_equal(c.note[1].prio, LOG_ALERT);
    assert_int_equal(c.note[2].prio, LOG_NOTICE);
    eotp_cbb_free(&c);
}

static void test_url_check_and_shapes(void **state)
{
    static const char *const bad[] = {
        "x",
        "[]",
        "\"rows\"",
        "{\"rows\":{}}",
        "{\"total\":1}",
        "{\"total\":\"1\",\"rows\":[]}",
        "{\"rows\":[1]}",
        "{\"rows\":[{}, []]}",
        "{\"rows\":[]",
        "{} {}",
        "null",
    };
    struct eotp_cbb c;

    (void)state;
    assert_int_equal(eotp_cbb_parse("", 0, &c), EOTP_OK);
    assert_int_equal(c.kind, EOTP_CBB_URL_CHECK);
    assert_int_equal(parse(" \r\n", &c), EOTP_OK);
    assert_int_equal(c.kind, EOTP_CBB_URL_CHECK);
    assert_int_equal(parse("{}", &c), EOTP_OK);
    assert_int_equal(c.kind, EOTP_CBB_URL_CHECK);
    assert_int_equal(parse(" { } ", &c), EOTP_OK);
    assert_int_equal(c.kind, EOTP_CBB_URL_CHECK);
    assert_int_equal(parse("{\"total\":0,\"rows\":[]}", &c), EOTP_OK);
    assert_int_equal(c.kind, EOTP_CBB_ROWS);
    assert_int_equal(c.nstatus + c.nnote + c.nother, 0);
    eotp_cbb_free(&c);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i], &c), EOTP_E_BAD_RESPONSE);
        assert_null(c.status);
    }
    /* Not NUL-terminated: only len bytes are read. */
    assert_int_equal(eotp_cbb_parse("{}garbage", 2, &c), EOTP_OK);
    assert_int_equal(c.kind, EOTP_CBB_URL_CHECK);
}

static void test_rows_max(void **state)
{
    size_t cap = 8 + (EOTP_CBB_ROWS_MAX + 1) * 3 + 8;
    char *body = malloc(cap);
    size_t off;
    struct eotp_cbb c;

    (void)state;
    assert_non_null(body);
    for (int want = EOTP_CBB_ROWS_MAX; want <= EOTP_CBB_ROWS_MAX + 1; want++) {
        off = (size_t)snprintf(body, cap, "{\"rows\":[");
        for (int i = 0; i < want; i++) {
            off += (size_t)snprintf(body + off, cap - off, "%s{}",
                                    i > 0 ? "," : "");
        }
        (void)snprintf(body + off, cap - off, "]}");
        assert_int_equal(parse(body, &c), want == EOTP_CBB_ROWS_MAX
                                              ? EOTP_OK
                                              : EOTP_E_BAD_RESPONSE);
        if (want == EOTP_CBB_ROWS_MAX) {
            assert_int_equal(c.nother, EOTP_CBB_ROWS_MAX);
        }
        eotp_cbb_free(&c);
    }
    free(body);
}

static void test_clean(void **state)
{
    char out[8];

    (void)state;
    assert_string_equal(eotp_cbb_clean(out, sizeof(out), "a b\"\\\x01", true),
                        "a_b???");
    assert_string_equal(eotp_cbb_clean(out, sizeof(out), "a b", false), "a b");
    assert_string_equal(eotp_cbb_clean(out, sizeof(out), "0123456789", false),
                        "0123456");
    assert_string_equal(eotp_cbb_clean(out, sizeof(out), NULL, false), "");
}

/* ---- delivery.c --------------------------------------------------------- */

static void test_dlv_encode_decode(void **state)
{
    struct eotp_dlv d = {"delivered", "CHANNEL_A", 1701234567, -42};
    struct eotp_dlv back;
    char buf[EOTP_STORE_VALUE_MAX];

    (void)state;
    assert_int_equal(eotp_dlv_encode(&d, buf, sizeof(buf)), EOTP_OK);
    assert_string_equal(buf, "v1 s=delivered c=CHANNEL_A t=1701234567 e=-42");
    assert_int_equal(eotp_dlv_decode(buf, &back), EOTP_OK);
    assert_memory_equal(&d, &back, sizeof(d));
    d.channel[0] = '\0';
    assert_int_equal(eotp_dlv_encode(&d, buf, sizeof(buf)), EOTP_OK);
    assert_string_equal(buf, "v1 s=delivered c=- t=1701234567 e=-42");
    assert_int_equal(eotp_dlv_decode(buf, &back), EOTP_OK);
    assert_string_equal(back.channel, "");
    /* Refused: bad status text, bad channel, damaged records. */
    (void)snprintf(d.status, sizeof(d.status), "Sent");
    assert_int_equal(eotp_dlv_encode(&d, buf, sizeof(buf)), EOTP_E_INTERNAL);
    (void)snprintf(d.status, sizeof(d.status), "sent");
    (void)snprintf(d.channel, sizeof(d.channel), "a b");
    assert_int_equal(eotp_dlv_encode(&d, buf, sizeof(buf)), EOTP_E_INTERNAL);
    assert_int_equal(eotp_dlv_decode("v2 s=sent c=- t=1 e=0", &back),
                     EOTP_E_BAD_RESPONSE);
    assert_int_equal(eotp_dlv_decode("v1 s=sent c=- t=1 e=0 x", &back),
                     EOTP_E_BAD_RESPONSE);
    assert_int_equal(eotp_dlv_decode("v1 s=sent c=- t=-1 e=0", &back),
                     EOTP_E_BAD_RESPONSE);
    assert_int_equal(eotp_dlv_decode("v1 s=SENT c=- t=1 e=0", &back),
                     EOTP_E_BAD_RESPONSE);
    assert_int_equal(eotp_dlv_decode("v1 c=- s=sent t=1 e=0", &back),
                     EOTP_E_BAD_RESPONSE);
}

static void test_dlv_classes(void **state)
{
    (void)state;
    assert_int_equal(eotp_dlv_classify("sent"), EOTP_DLV_PENDING);
    assert_int_equal(eotp_dlv_classify("delivered"), EOTP_DLV_DELIVERED);
    assert_int_equal(eotp_dlv_classify("target_invalid"), EOTP_DLV_FAILED);
    assert_int_equal(eotp_dlv_classify("delivered_failed"), EOTP_DLV_FAILED);
    assert_int_equal(eotp_dlv_classify("verified"), EOTP_DLV_DONE);
    assert_int_equal(eotp_dlv_classify("bogus"), EOTP_DLV_UNKNOWN);
    assert_true(eotp_dlv_rank("plan") < eotp_dlv_rank("sent"));
    assert_true(eotp_dlv_rank("sent") < eotp_dlv_rank("delivered"));
    assert_true(eotp_dlv_rank("delivered") < eotp_dlv_rank("verified"));
}

static void quiet(void *ctx, int prio, const char *line)
{
    (void)ctx;
    (void)prio;
    (void)line;
}

static const struct eotp_logger lg = {quiet, NULL, false};

/* The merge order, on the file store (needs root for state_dir). */
static void test_dlv_merge_order(void **state)
{
    char dir[64] = "/tmp/eotp-unit-dlv.XXXXXX";
    char cmd[128];
    struct eotp_cfg cfg;
    struct eotp_store *s = NULL;
    struct eotp_dlv d = {"sent", "sms", 100, 0};
    struct eotp_dlv got;
    bool kept = false;
    bool found = false;

    (void)state;
    if (geteuid() != 0) {
        skip();
    }
    assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0700), 0);
    free(cfg.state_dir);
    cfg.state_dir = strdup(dir);
    assert_int_equal(eotp_store_file_open(&cfg, &lg, &s), EOTP_OK);

    assert_int_equal(eotp_dlv_get(s, "m1", &got, &found), EOTP_OK);
    assert_false(found);
    assert_int_equal(eotp_dlv_put(s, "m1", &d, 0, &kept), EOTP_OK);
    assert_true(kept);
    /* Older itime: not kept, whatever its stage. */
    d = (struct eotp_dlv){"delivered", "sms", 99, 0};
    assert_int_equal(eotp_dlv_put(s, "m1", &d, 0, &kept), EOTP_OK);
    assert_false(kept);
    /* Same time, earlier stage: not kept; later stage: kept. */
    d = (struct eotp_dlv){"plan", "sms", 100, 0};
    assert_int_equal(eotp_dlv_put(s, "m1", &d, 0, &kept), EOTP_OK);
    assert_false(kept);
    d = (struct eotp_dlv){"delivered_failed", "whatsapp", 100, 7};
    assert_int_equal(eotp_dlv_put(s, "m1", &d, 0, &kept), EOTP_OK);
    assert_true(kept);
    /* A fallback: a newer row of an earlier stage wins. */
    d = (struct eotp_dlv){"sent", "sms", 101, 0};
    assert_int_equal(eotp_dlv_put(s, "m1", &d, 0, &kept), EOTP_OK);
    assert_true(kept);
    assert_int_equal(eotp_dlv_get(s, "m1", &got, &found), EOTP_OK);
    assert_true(found);
    assert_string_equal(got.status, "sent");
    assert_string_equal(got.channel, "sms");
    assert_int_equal(got.at, 101);
    /* A bad message id is refused before anything is stored. */
    assert_int_equal(eotp_dlv_put(s, "a/b", &d, 0, &kept), EOTP_E_INTERNAL);
    assert_false(kept);

    eotp_store_close(s);
    eotp_cfg_free(&cfg);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_official_examples),
        cmocka_unit_test(test_message_id_forms),
        cmocka_unit_test(test_untrusted_text_is_cleaned),
        cmocka_unit_test(test_notifications),
        cmocka_unit_test(test_url_check_and_shapes),
        cmocka_unit_test(test_rows_max),
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_dlv_encode_decode),
        cmocka_unit_test(test_dlv_classes),
        cmocka_unit_test(test_dlv_merge_order),
    };

    return cmocka_run_group_tests_name("callback_body", tests, NULL, NULL);
}
