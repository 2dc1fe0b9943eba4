/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api.c - parsing of the service's answers, table-driven: missing
 * fields, wrong types, huge values, non-UTF-8, message ids as numbers;
 * error code mapping; the JSON request builder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/api.h"
#include "../../src/core/err.h"

struct send_case {
    const char *body;
    int want;
    const char *id;
    const char *channel;
};

static const struct send_case send_cases[] = {
    {"{\"message_id\":\"1725407449772531712\",\"send_channel\":\"sms\"}",
     EOTP_OK, "1725407449772531712", "sms"},
    {"{\"send_channel\":\"voice\",\"message_id\":\"42\"}", EOTP_OK, "42",
     "voice"},
    /* A number: the exact digits are taken from the text (> 2^53). */
    {"{\"message_id\":1725407449772531713,\"send_channel\":\"sms\"}",
     EOTP_OK, "1725407449772531713", "sms"},
    {"{\"send_channel\":\"sms\",\"x\":{\"message_id\":1},"
     "\"message_id\":9007199254740993}",
     EOTP_OK, "9007199254740993", "sms"},
    {"{\"a\":\"\\\"message_id\\\":5\",\"message_id\":12345678901234567890}",
     EOTP_OK, "12345678901234567890", ""},
    /* Channel missing or unknown: accepted, channel unknown. */
    {"{\"message_id\":\"7\"}", EOTP_OK, "7", ""},
    {"{\"message_id\":\"7\",\"send_channel\":\"pigeon\"}", EOTP_OK, "7", ""},
    {"{\"message_id\":\"7\",\"send_channel\":5}", EOTP_OK, "7", ""},
    /* Failures. */
    {"", EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"null", EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"[]", EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"<html>not json</html>", EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"{\"send_channel\":\"sms\"}", EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"{\"message_id\":null}", EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"{\"message_id\":true}", EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"{\"message_id\":\"\"}", EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"{\"message_id\":\"12 34\"}", EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"{\"message_id\":\"../../etc\"}", EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"{\"message_id\":-5}", EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"{\"message_id\":1.5e3}", EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"{\"message_id\":[\"1\"]}", EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"{\"message_id\":\"1\"", EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"{\"message_id\":\"\xff\xfe\"}", EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"{\"message_id\":"
     "\"12345678901234567890123456789012345678901234567890123456789012345\"}",
     EOTP_E_BAD_RESPONSE, NULL, NULL},
    {"{\"message_id\":"
     "12345678901234567890123456789012345678901234567890123456789012345}",
     EOTP_E_BAD_RESPONSE, NULL, NULL},
};

static void test_parse_send(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(send_cases) / sizeof(send_cases[0]); i++) {
        const struct send_case *c = &send_cases[i];
        struct eotp_send_resp out;
        int r;

        memset(&out, 'x', sizeof(out));
        r = eotp_api_parse_send(c->body, strlen(c->body), &out);
        if (r != c->want) {
            fail_msg("case %zu (%s): got %d want %d", i, c->body, r, c->want);
        }
        if (c->want == EOTP_OK) {
            assert_string_equal(out.message_id, c->id);
            assert_string_equal(out.channel, c->channel);
        }
    }
}

struct verify_case {
    const char *body;
    int want;
    bool verified;
};

static const struct verify_case verify_cases[] = {
    {"{\"message_id\":\"99\",\"verify_code\":\"1\",\"verified\":true}",
     EOTP_OK, true},
    {"{\"message_id\":\"99\",\"verified\":false}", EOTP_OK, false},
    {"{\"verified\":true}", EOTP_OK, true},
    {"{\"message_id\":99,\"verified\":true}", EOTP_OK, true},
    /* Never a yes from anything but JSON true. */
    {"{\"message_id\":\"99\",\"verified\":\"true\"}", EOTP_E_BAD_RESPONSE,
     false},
    {"{\"message_id\":\"99\",\"verified\":1}", EOTP_E_BAD_RESPONSE, false},
    {"{\"message_id\":\"99\",\"verified\":null}", EOTP_E_BAD_RESPONSE, false},
    {"{\"message_id\":\"99\"}", EOTP_E_BAD_RESPONSE, false},
    {"{\"message_id\":\"98\",\"verified\":true}", EOTP_E_BAD_RESPONSE, false},
    {"{\"message_id\":98,\"verified\":true}", EOTP_E_BAD_RESPONSE, false},
    {"{\"message_id\":[],\"verified\":true}", EOTP_E_BAD_RESPONSE, false},
    {"{\"verified\":true", EOTP_E_BAD_RESPONSE, false},
    {"true", EOTP_E_BAD_RESPONSE, false},
    {"", EOTP_E_BAD_RESPONSE, false},
};

static void test_parse_verify(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(verify_cases) / sizeof(verify_cases[0]);
         i++) {
        const struct verify_case *c = &verify_cases[i];
        bool verified = !c->verified;
        int r = eotp_api_parse_verify(c->body, strlen(c->body), "99",
                                      &verified);

        if (r != c->want) {
            fail_msg("case %zu (%s): got %d want %d", i, c->body, r, c->want);
        }
        if (c->want == EOTP_OK) {
            assert_int_equal(verified, c->verified);
        }
    }
}

struct error_case {
    long status;
    const char *body;
    enum eotp_api_op op;
    int want;
    long code;
};

static const struct error_case error_cases[] = {
    {500, "{\"code\":1000,\"message\":\"internal\"}", EOTP_OP_SEND,
     EOTP_E_SERVER, 1000},
    {401, "{\"code\":2001,\"message\":\"auth\"}", EOTP_OP_SEND,
     EOTP_E_API_AUTH, 2001},
    {401, "{\"code\":2002,\"message\":\"expired\"}", EOTP_OP_VERIFY,
     EOTP_E_API_AUTH, 2002},
    {403, "{\"code\":2004,\"message\":\"no\"}", EOTP_OP_SEND,
     EOTP_E_API_AUTH, 2004},
    {400, "{\"code\":3001,\"message\":\"x\"}", EOTP_OP_SEND,
     EOTP_E_API_REQUEST, 3001},
    {400, "{\"code\":3002,\"message\":\"x\"}", EOTP_OP_SEND,
     EOTP_E_API_REQUEST, 3002},
    {400, "{\"code\":3003,\"message\":\"expired\"}", EOTP_OP_VERIFY,
     EOTP_E_CODE_EXPIRED, 3003},
    {400, "{\"code\":3003,\"message\":\"not approved\"}", EOTP_OP_SEND,
     EOTP_E_API_REQUEST, 3003},
    {400, "{\"code\":3004,\"message\":\"resend\"}", EOTP_OP_SEND,
     EOTP_E_RESEND, 3004},
    {400, "{\"code\":4001,\"message\":\"no id\"}", EOTP_OP_VERIFY,
     EOTP_E_CODE_EXPIRED, 4001},
    {400, "{\"code\":4001,\"message\":\"config not exist\"}", EOTP_OP_SEND,
     EOTP_E_API_REQUEST, 4001},
    {400, "{\"code\":4001,\"message\":\"config not exist\"}",
     EOTP_OP_TEMPLATE, EOTP_E_NOT_FOUND, 4001},
    {400, "{\"code\":5011,\"message\":\"bad number\"}", EOTP_OP_SEND,
     EOTP_E_DELIVERY, 5011},
    {400, "{\"code\":5016,\"message\":\"internal send\"}", EOTP_OP_SEND,
     EOTP_E_SERVER, 5016},
    {400, "{\"code\":6001,\"message\":\"undocumented\"}", EOTP_OP_SEND,
     EOTP_E_API_REQUEST, 6001},
    {503, "{\"code\":6001,\"message\":\"undocumented\"}", EOTP_OP_SEND,
     EOTP_E_SERVER, 6001},
    /* No error object. */
    {503, "<html>down</html>", EOTP_OP_SEND, EOTP_E_SERVER, 0},
    {401, "", EOTP_OP_SEND, EOTP_E_API_AUTH, 0},
    {404, "not found", EOTP_OP_SEND, EOTP_E_BAD_RESPONSE, 0},
    {400, "{\"code\":\"3004\"}", EOTP_OP_SEND, EOTP_E_BAD_RESPONSE, 0},
    {400, "{\"code\":3004.5}", EOTP_OP_SEND, EOTP_E_BAD_RESPONSE, 0},
    {400, "{\"code\":-1}", EOTP_OP_SEND, EOTP_E_BAD_RESPONSE, 0},
    {400, "{\"code\":1e300}", EOTP_OP_SEND, EOTP_E_BAD_RESPONSE, 0},
};

static void test_parse_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]);
         i++) {
        const struct error_case *c = &error_cases[i];
        struct eotp_api_error e;
        int r = eotp_api_parse_error(c->status, c->body, strlen(c->body),
                                     c->op, &e);

        if (r != c->want) {
            fail_msg("case %zu (%s): got %d want %d", i, c->body, r, c->want);
        }
        assert_int_equal(e.code, c->code);
        assert_int_equal(e.http_status, c->status);
    }
}

static void test_error_message_sanitised(void **state)
{
    static const char body[] =
        "{\"code\":5001,\"message\":\"bad\\u001b[31m \\\"q\\\"\\r\\nX: "
        "\xff\xfe yes\"}";
    struct eotp_api_error e;

    (void)state;
    assert_int_equal(eotp_api_parse_error(400, body, strlen(body),
                                          EOTP_OP_SEND, &e),
                     EOTP_E_DELIVERY);
    assert_string_equal(e.message, "bad?[31m 'q'??X: ?? yes");
}

static void test_error_message_bounded(void **state)
{
    char *body = malloc(100000);
    struct eotp_api_error e;
    size_t n;

    (void)state;
    assert_non_null(body);
    n = (size_t)snprintf(body, 100000, "{\"code\":1000,\"message\":\"");
    memset(body + n, 'A', 90000);
    n += 90000;
    memcpy(body + n, "\"}", 3);
    assert_int_equal(eotp_api_parse_error(500, body, strlen(body),
                                          EOTP_OP_SEND, &e),
                     EOTP_E_SERVER);
    assert_int_equal(strlen(e.message), sizeof(e.message) - 1);
    free(body);
}

static void test_hints(void **state)
{
    (void)state;
    assert_non_null(strstr(eotp_api_code_hint(2001), "dev_key"));
    assert_non_null(strstr(eotp_api_code_hint(4001), "template"));
    assert_non_null(eotp_api_code_hint(123456));
}

static void test_jbuf_escapes(void **state)
{
    struct eotp_jbuf jb;

    (void)state;
    assert_int_equal(eotp_jbuf_init(&jb, 64), EOTP_OK);
    eotp_jbuf_raw(&jb, "{\"a\":");
    eotp_jbuf_str(&jb, "q\"b\\s\n\x01\x7f");
    eotp_jbuf_raw(&jb, "}");
    assert_false(jb.overflow);
    assert_string_equal(jb.buf,
                        "{\"a\":\"q\\\"b\\\\s\\u000a\\u0001\\u007f\"}");
    eotp_jbuf_wipe(&jb);

    assert_int_equal(eotp_jbuf_init(&jb, 8), EOTP_OK);
    eotp_jbuf_str(&jb, "0123456789");
    assert_true(jb.overflow);
    assert_int_equal(strlen(jb.buf), 7);
    eotp_jbuf_wipe(&jb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_send),
        cmocka_unit_test(test_parse_verify),
        cmocka_unit_test(test_parse_error),
        cmocka_unit_test(test_error_message_sanitised),
        cmocka_unit_test(test_error_message_bounded),
        cmocka_unit_test(test_hints),
        cmocka_unit_test(test_jbuf_escapes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
