/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_template.c - local validation of template create bodies, the flag
 * form builder, and the parsers of template answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/core/api_template.h"
#include "../../src/core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A valid body using every channel but email (email stands alone). */
#define VALID_WA_SMS_VOICE                                                    \
    "{\"template_id\":\"test-template-1\",\"description\":\"Test\","          \
    "\"send_channel_strategy\":\"whatsapp|sms|voice\","                       \
    "\"brand_name\":\"Brand\","                                               \
    "\"verify_code_config\":{\"verify_code_type\":1,\"verify_code_len\":6,"   \
    "\"verify_code_ttl\":5},"                                                 \
    "\"whatsapp_config\":{\"template_type\":1,\"template_default_config\":"   \
    "{\"contain_security\":false,\"contain_expire\":false}},"                 \
    "\"sms_config\":{\"template_type\":2,\"template_custom_config\":"         \
    "{\"custom_sub_type\":\"authentication\",\"custom_content\":"             \
    "\"Your code is {{code}}\",\"custom_country_codes\":\"HK,PH\"}},"         \
    "\"voice_config\":{\"template_type\":1,\"template_default_config\":"      \
    "{\"contain_security\":true,\"contain_expire\":true}},"                   \
    "\"pwa_config\":{\"pwa_platform\":\"xx\",\"pwa_code\":\"xx\"}}"

#define VALID_EMAIL                                                           \
    "{\"template_id\":\"mail-1\",\"send_channel_strategy\":\"email\","        \
    "\"verify_code_config\":{\"verify_code_type\":7,\"verify_code_len\":10,"  \
    "\"verify_code_ttl\":10},"                                                \
    "\"email_config\":{\"template_name\":\"Mail\","                           \
    "\"template_custom_configs\":[{\"language\":\"default\","                 \
    "\"pre_from_name\":\"MyApp\",\"pre_from_mail\":\"noreply@myapp.com\","    \
    "\"pre_subject\":\"Your code\",\"template_content\":\"Hi {{name}}, "      \
    "{{code}}\",\"pre_param_map\":{\"name\":\"User\"}}]}}"

/* A minimal SMS body; "%s" parts are replaced per case. */
static char *sms_body(const char *id, const char *strategy, const char *brand,
                      const char *vcc, const char *content)
{
    char *buf = malloc(4096);

    assert_non_null(buf);
    (void)snprintf(buf, 4096,
                   "{\"template_id\":%s,\"send_channel_strategy\":%s,"
                   "\"brand_name\":%s,\"verify_code_config\":%s,"
                   "\"sms_config\":{\"template_type\":2,"
                   "\"template_custom_config\":{\"custom_sub_type\":"
                   "\"authentication\",\"custom_content\":%s}},"
                   "\"whatsapp_config\":{\"template_type\":1,"
                   "\"template_default_config\":{\"contain_security\":false,"
                   "\"contain_expire\":true}}}",
                   id, strategy, brand, vcc, content);
    return buf;
}

static int validate(const char *json, char *why, size_t whylen)
{
    return eotp_tpl_validate(json, strlen(json), why, whylen);
}

static void test_valid_bodies(void **state)
{
    char why[256];
    char *b;

    (void)state;
    assert_int_equal(validate(VALID_WA_SMS_VOICE, why, sizeof(why)), EOTP_OK);
    assert_int_equal(validate(VALID_EMAIL, why, sizeof(why)), EOTP_OK);
    b = sms_body("\"x\"", "\"sms\"", "\"AB\"",
                 "{\"verify_code_type\":7,\"verify_code_len\":4,"
                 "\"verify_code_ttl\":1}",
                 "\"{{code}}\"");
    assert_int_equal(validate(b, why, sizeof(why)), EOTP_OK);
    free(b);
}

struct bad_case {
    const char *name;
    const char *id, *strategy, *brand, *vcc, *content;
    const char *why; /* must start the message: the field */
};

#define VCC(t, l, ttl)                                                        \
    "{\"verify_code_type\":" t ",\"verify_code_len\":" l                     \
    ",\"verify_code_ttl\":" ttl "}"
#define ID128                                                                 \
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"  \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""

static void test_each_rule_names_its_field(void **state)
{
    static const struct bad_case cases[] = {
        {"empty id", "\"\"", "\"sms\"", "\"AB\"", VCC("1", "6", "5"),
         "\"{{code}}\"", "template_id: must be 1 to 128"},
        {"id number", "1", "\"sms\"", "\"AB\"", VCC("1", "6", "5"),
         "\"{{code}}\"", "template_id: must be a string"},
        {"unknown channel", "\"x\"", "\"sms|fax\"", "\"AB\"",
         VCC("1", "6", "5"), "\"{{code}}\"",
         "send_channel_strategy: unknown channel 'fax'"},
        {"empty channel", "\"x\"", "\"sms|\"", "\"AB\"", VCC("1", "6", "5"),
         "\"{{code}}\"", "send_channel_strategy: has an empty channel"},
        {"comma", "\"x\"", "\"sms,whatsapp\"", "\"AB\"", VCC("1", "6", "5"),
         "\"{{code}}\"", "send_channel_strategy: unknown channel"},
        {"repeat", "\"x\"", "\"sms|sms\"", "\"AB\"", VCC("1", "6", "5"),
         "\"{{code}}\"", "send_channel_strategy: channel sms is given twice"},
        {"email combined", "\"x\"", "\"email|sms\"", "\"AB\"",
         VCC("1", "6", "5"), "\"{{code}}\"",
         "send_channel_strategy: email cannot be combined"},
        {"voice without config", "\"x\"", "\"sms|voice\"", "\"AB\"",
         VCC("1", "6", "5"), "\"{{code}}\"",
         "voice_config: is required because the strategy includes voice"},
        {"brand 1", "\"x\"", "\"sms\"", "\"A\"", VCC("1", "6", "5"),
         "\"{{code}}\"", "brand_name: must be 2 to 10 characters"},
        {"brand 11", "\"x\"", "\"sms\"", "\"ABCDEFGHIJK\"", VCC("1", "6", "5"),
         "\"{{code}}\"", "brand_name: must be 2 to 10 characters"},
        {"type 0", "\"x\"", "\"sms\"", "\"AB\"", VCC("0", "6", "5"),
         "\"{{code}}\"", "verify_code_config.verify_code_type: must be an "
                         "integer from 1 to 7"},
        {"type 8", "\"x\"", "\"sms\"", "\"AB\"", VCC("8", "6", "5"),
         "\"{{code}}\"", "verify_code_config.verify_code_type:"},
        {"len 3", "\"x\"", "\"sms\"", "\"AB\"", VCC("1", "3", "5"),
         "\"{{code}}\"", "verify_code_config.verify_code_len: must be an "
                         "integer from 4 to 10"},
        {"len 11", "\"x\"", "\"sms\"", "\"AB\"", VCC("1", "11", "5"),
         "\"{{code}}\"", "verify_code_config.verify_code_len:"},
        {"len string", "\"x\"", "\"sms\"", "\"AB\"", VCC("1", "\"6\"", "5"),
         "\"{{code}}\"", "verify_code_config.verify_code_len: must be an "
                         "integer"},
        {"len 6.5", "\"x\"", "\"sms\"", "\"AB\"", VCC("1", "6.5", "5"),
         "\"{{code}}\"", "verify_code_config.verify_code_len:"},
        {"ttl 0", "\"x\"", "\"sms\"", "\"AB\"", VCC("1", "6", "0"),
         "\"{{code}}\"", "verify_code_config.verify_code_ttl: must be an "
                         "integer from 1 to 10"},
        {"ttl 11", "\"x\"", "\"sms\"", "\"AB\"", VCC("1", "6", "11"),
         "\"{{code}}\"", "verify_code_config.verify_code_ttl:"},
        {"ttl 3 whatsapp", "\"x\"", "\"whatsapp|sms\"", "\"AB\"",
         VCC("1", "6", "3"), "\"{{code}}\"",
         "verify_code_config.verify_code_ttl: must be 1, 5 or 10 when "
         "whatsapp"},
        {"no {{code}}", "\"x\"", "\"sms\"", "\"AB\"", VCC("1", "6", "5"),
         "\"Your code is {{ code }}\"",
         "sms_config.template_custom_config.custom_content: an "
         "authentication SMS must contain {{code}}"},
        {"missing len", "\"x\"", "\"sms\"", "\"AB\"",
         "{\"verify_code_type\":1,\"verify_code_ttl\":5}", "\"{{code}}\"",
         "verify_code_config.verify_code_len: is required"},
        {"vcc array", "\"x\"", "\"sms\"", "\"AB\"", "[]", "\"{{code}}\"",
         "verify_code_config: must be an object"},
    };
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bad_case *c = &cases[i];
        char *b = sms_body(c->id, c->strategy, c->brand, c->vcc, c->content);

        why[0] = '\0';
        if (validate(b, why, sizeof(why)) != EOTP_E_API_REQUEST ||
            strncmp(why, c->why, strlen(c->why)) != 0) {
            fail_msg("%s: got \"%s\", want \"%s...\"", c->name, why, c->why);
        }
        free(b);
    }
}

static void test_id_length_limit(void **state)
{
    char body[1024];
    char why[256];

    (void)state;
    (void)snprintf(body, sizeof(body),
                   "{\"template_id\":%s,\"send_channel_strategy\":\"voice\","
                   "\"voice_config\":{\"template_type\":1,"
                   "\"template_default_config\":{\"contain_security\":false,"
                   "\"contain_expire\":true}}}",
                   ID128);
    assert_int_equal(validate(body, why, sizeof(why)), EOTP_OK);
    /* 129 characters: one more 'a' in front. */
    (void)snprintf(body, sizeof(body),
                   "{\"template_id\":\"a%s,\"send_channel_strategy\":\"voice\","
                   "\"voice_config\":{\"template_type\":1,"
                   "\"template_default_config\":{\"contain_security\":false,"
                   "\"contain_expire\":true}}}",
                   &ID128[1]);
    assert_int_equal(validate(body, why, sizeof(why)), EOTP_E_API_REQUEST);
    assert_string_equal(why, "template_id: must be 1 to 128 characters (it "
                             "has 129)");
}

static void test_characters_not_bytes(void **state)
{
    char why[256];
    /* "Ünïcödé" is 7 characters in 11 bytes; 10 characters in 20 bytes
     * pass, 11 do not. */
    char *ok = sms_body("\"x\"", "\"sms\"", "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
                        "\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"",
                        VCC("1", "6", "5"), "\"{{code}}\"");
    char *bad = sms_body("\"x\"", "\"sms\"", "\"\xff\xfe\"",
                         VCC("1", "6", "5"), "\"{{code}}\"");

    (void)state;
    assert_int_equal(validate(ok, why, sizeof(why)), EOTP_OK);
    assert_int_equal(validate(bad, why, sizeof(why)), EOTP_E_API_REQUEST);
    assert_string_equal(why, "brand_name: is not valid UTF-8");
    free(ok);
    free(bad);
}

static void test_syntax_errors(void **state)
{
    char why[256];

    (void)state;
    assert_int_equal(validate("{\n  \"template_id\": \"x\",\n  oops\n}", why,
                              sizeof(why)),
                     EOTP_E_API_REQUEST);
    assert_non_null(strstr(why, "(JSON): syntax error near line 3, column "));
    assert_int_equal(validate("{\"a\":1} trailing", why, sizeof(why)),
                     EOTP_E_API_REQUEST);
    assert_non_null(strstr(why, "syntax error"));
    assert_int_equal(validate("[]", why, sizeof(why)), EOTP_E_API_REQUEST);
    assert_string_equal(why, "(top level): must be a JSON object");
    assert_int_equal(eotp_tpl_validate("", 0, why, sizeof(why)),
                     EOTP_E_API_REQUEST);
    assert_int_equal(eotp_tpl_validate("{\"a\"\0:1}", 8, why, sizeof(why)),
                     EOTP_E_API_REQUEST);
    assert_non_null(strstr(why, "NUL"));
}

static void test_fields_and_structure(void **state)
{
    static const struct {
        const char *json;
        const char *why;
    } cases[] = {
        {"{\"template_id\":\"x\",\"template_id\":\"y\"}",
         "template_id: given twice"},
        {"{\"template_id\":\"x\",\"send_channel_strategy\":\"sms\","
         "\"sms_config\":{\"template_type\":1,\"template_default_config\":"
         "{\"contain_security\":false,\"contain_security\":true}}}",
         "sms_config.template_default_config.contain_security: given twice"},
        {"{\"template_id\":\"x\",\"status\":2}",
         "status: is set by the service; remove it"},
        {"{\"template_id\":\"x\",\"brand\":\"AB\"}", "brand: unknown field"},
        {"{\"template_id\":\"x\"}", "send_channel_strategy: is required"},
        {"{\"template_id\":\"x\",\"send_channel_strategy\":\"sms\","
         "\"sms_config\":{\"template_type\":3}}",
         "sms_config.template_type: must be an integer from 1 to 2"},
        {"{\"template_id\":\"x\",\"send_channel_strategy\":\"sms\","
         "\"sms_config\":{\"template_type\":1}}",
         "sms_config.template_default_config: is required"},
        {"{\"template_id\":\"x\",\"send_channel_strategy\":\"sms\","
         "\"sms_config\":{\"template_type\":1,\"template_default_config\":"
         "{\"contain_security\":0,\"contain_expire\":true}}}",
         "sms_config.template_default_config.contain_security: must be true "
         "or false"},
        {"{\"template_id\":\"x\",\"send_channel_strategy\":\"sms\","
         "\"sms_config\":{\"template_type\":2,\"template_custom_config\":"
         "{\"custom_sub_type\":\"promo\",\"custom_content\":\"hi\"}}}",
         "sms_config.template_custom_config.custom_sub_type: must be "
         "authentication, marketing or utility"},
        {"{\"template_id\":\"x\",\"send_channel_strategy\":\"sms\","
         "\"sms_config\":{\"template_type\":2,\"template_custom_config\":"
         "{\"custom_sub_type\":\"utility\",\"custom_content\":\"no code\"}}}",
         NULL},
        {"{\"template_id\":\"x\",\"send_channel_strategy\":\"whatsapp\","
         "\"whatsapp_config\":{\"template_type\":2,"
         "\"template_default_config\":{\"contain_security\":false,"
         "\"contain_expire\":true}}}",
         "whatsapp_config.template_type: must be an integer from 1 to 1"},
        {"{\"template_id\":\"x\",\"send_channel_strategy\":\"email\","
         "\"email_config\":{\"template_name\":\"\"}}",
         "email_config.template_name: must not be empty"},
        {"{\"template_id\":\"x\",\"send_channel_strategy\":\"email\","
         "\"email_config\":{\"template_name\":\"n\","
         "\"template_custom_configs\":[{\"language\":\"fr\"}]}}",
         "email_config.template_custom_configs[0].language: must be one of"},
        {"{\"template_id\":\"x\",\"send_channel_strategy\":\"email\","
         "\"email_config\":{\"template_name\":\"n\","
         "\"template_custom_configs\":[{\"language\":\"en\","
         "\"pre_from_mail\":\"nobody\",\"pre_subject\":\"s\","
         "\"template_content\":\"c\"}]}}",
         "email_config.template_custom_configs[0].pre_from_mail: is not an "
         "email address"},
        {"{\"template_id\":\"x\",\"send_channel_strategy\":\"email\","
         "\"email_config\":{\"template_name\":\"n\","
         "\"template_custom_configs\":[{\"language\":\"en\","
         "\"pre_from_mail\":\"a@b.io\",\"pre_subject\":\"s\","
         "\"template_content\":\"c\",\"pre_param_map\":{\"k\":1}}]}}",
         "email_config.template_custom_configs[0].pre_param_map.k: must be a "
         "string"},
        {"{\"template_id\":\"x\",\"send_channel_strategy\":\"voice\","
         "\"voice_config\":{\"template_type\":1,\"template_default_config\":"
         "{\"contain_security\":false,\"contain_expire\":true}},"
         "\"pwa_config\":{\"pwa_code\":5}}",
         "pwa_config.pwa_code: must be a string"},
        {"{\"template_id\":\"x\",\"send_channel_strategy\":\"voice\","
         "\"description\":\"" /* 256 characters */
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "\"}",
         "description: must be at most 255 characters"},
    };
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int r;

        why[0] = '\0';
        r = validate(cases[i].json, why, sizeof(why));
        if (cases[i].why == NULL) {
            if (r != EOTP_OK) {
                fail_msg("case %zu: want OK, got \"%s\"", i, why);
            }
        } else if (r != EOTP_E_API_REQUEST ||
                   strncmp(why, cases[i].why, strlen(cases[i].why)) != 0) {
            fail_msg("case %zu: got \"%s\", want \"%s...\"", i, why,
                     cases[i].why);
        }
    }
}

static void test_build_flag_form(void **state)
{
    struct eotp_tpl_spec spec;
    char why[256];
    char *json = NULL;

    (void)state;
    memset(&spec, 0, sizeof(spec));
    spec.id = "cli-1";
    spec.channels = "whatsapp|sms";
    spec.sms_text = "Code {{code}}";
    spec.brand = "Brand";
    spec.description = "made by flags";
    spec.code_type = 1;
    spec.code_len = 6;
    spec.code_ttl = 5;
    assert_int_equal(eotp_tpl_build(&spec, &json, why, sizeof(why)), EOTP_OK);
    assert_int_equal(validate(json, why, sizeof(why)), EOTP_OK);
    assert_non_null(strstr(json, "\"custom_content\":\t\"Code {{code}}\""));
    assert_non_null(strstr(json, "\"whatsapp_config\""));
    assert_null(strstr(json, "\"voice_config\""));
    free(json);

    /* Without --sms-text: the SMS default template. */
    spec.channels = "sms";
    spec.sms_text = NULL;
    assert_int_equal(eotp_tpl_build(&spec, &json, why, sizeof(why)), EOTP_OK);
    assert_int_equal(validate(json, why, sizeof(why)), EOTP_OK);
    assert_non_null(strstr(json, "\"template_default_config\""));
    free(json);

    /* Out-of-range values are built, then refused by validation. */
    spec.code_len = 12;
    assert_int_equal(eotp_tpl_build(&spec, &json, why, sizeof(why)), EOTP_OK);
    assert_int_equal(validate(json, why, sizeof(why)), EOTP_E_API_REQUEST);
    assert_non_null(strstr(why, "verify_code_len"));
    free(json);
    json = NULL;

    /* Email needs settings the flag form lacks. */
    spec.channels = "email";
    assert_int_equal(eotp_tpl_build(&spec, &json, why, sizeof(why)),
                     EOTP_E_API_REQUEST);
    assert_null(json);
    assert_non_null(strstr(why, "email_config"));
}

#define LIST_BODY                                                             \
    "[{\"template_id\":\"pam-otp\",\"description\":\"d\","                    \
    "\"send_channel_strategy\":\"sms\",\"brand_name\":\"B\","                 \
    "\"verify_code_config\":{\"verify_code_type\":1,\"verify_code_len\":6,"   \
    "\"verify_code_ttl\":5},\"sms_config\":{\"template_type\":2,"             \
    "\"template_parts\":1},\"created_time\":1725407449,\"status\":2,"         \
    "\"audit_remark\":\"\"},"                                                 \
    "{\"template_id\":\"p2\",\"status\":\"2\",\"audit_remark\":"             \
    "\"bad\\u001b[31m\"}]"

static void test_parse_list(void **state)
{
    struct eotp_tpl_list l = {NULL, 0};

    (void)state;
    assert_int_equal(eotp_tpl_parse_list(LIST_BODY, strlen(LIST_BODY), &l),
                     EOTP_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0].id, "pam-otp");
    assert_int_equal(l.items[0].status, EOTP_TPL_STATUS_APPROVED);
    assert_int_equal(l.items[0].created, 1725407449LL);
    assert_true(l.items[0].has_code);
    assert_int_equal(l.items[0].code_len, 6);
    /* A status of the wrong type is never "approved". */
    assert_int_equal(l.items[1].status, EOTP_TPL_STATUS_UNKNOWN);
    assert_int_equal(l.items[1].created, -1);
    assert_false(l.items[1].has_code);
    /* Server text is sanitised. */
    assert_null(strchr(l.items[1].remark, '\x1b'));
    eotp_tpl_list_free(&l);

    assert_int_equal(eotp_tpl_parse_list("[]", 2, &l), EOTP_OK);
    assert_int_equal(l.n, 0);
    assert_int_equal(eotp_tpl_parse_list("{}", 2, &l), EOTP_E_BAD_RESPONSE);
    assert_int_equal(eotp_tpl_parse_list("[{\"status\":2}]", 14, &l),
                     EOTP_E_BAD_RESPONSE);
    assert_int_equal(eotp_tpl_parse_list("[{\"template_id\":5}]", 19, &l),
                     EOTP_E_BAD_RESPONSE);
    assert_int_equal(eotp_tpl_parse_list("<html>", 6, &l),
                     EOTP_E_BAD_RESPONSE);
    assert_int_equal(eotp_tpl_parse_list("[1]", 3, &l), EOTP_E_BAD_RESPONSE);
}

static void test_parse_one_and_render(void **state)
{
    static const char body[] =
        "{\"template_id\":\"t\",\"status\":1,\"created_time\":0,"
        "\"sms_config\":{\"template_custom_config\":{\"custom_content\":"
        "\"line1\\nline2\"}},\"email_config\":{\"template_custom_configs\":"
        "[{\"language\":\"en\"}]},\"x\":[],\"y\":null,\"z\":true}";
    struct eotp_tpl_info t;
    char *text = NULL;

    (void)state;
    assert_int_equal(eotp_tpl_parse_one(body, strlen(body), &t), EOTP_OK);
    assert_int_equal(t.status, EOTP_TPL_STATUS_PENDING);
    assert_int_equal(eotp_tpl_render(body, strlen(body), &text), EOTP_OK);
    assert_non_null(strstr(text, "status: 1 (Pending review)\n"));
    assert_non_null(
        strstr(text, "created_time: 0 (1970-01-01 00:00:00 UTC)\n"));
    assert_non_null(strstr(
        text, "sms_config.template_custom_config.custom_content: "
              "line1\\nline2\n"));
    assert_non_null(strstr(
        text, "email_config.template_custom_configs[0].language: en\n"));
    assert_non_null(strstr(text, "x: []\n"));
    assert_non_null(strstr(text, "y: null\n"));
    assert_non_null(strstr(text, "z: true\n"));
    free(text);
    assert_int_equal(eotp_tpl_parse_one("[]", 2, &t), EOTP_E_BAD_RESPONSE);
}

static void test_json_clean(void **state)
{
    static const char body[] = "[{\"a\":\"x\\u001by\",\"b\":\"\xff\",\"c\":"
                               "\"\xc2\x9b\",\"d\":1725407449}]";
    char *out = NULL;

    (void)state;
    assert_int_equal(eotp_tpl_json_clean(body, strlen(body), true, &out),
                     EOTP_OK);
    assert_non_null(strstr(out, "\"x\\u001by\""));
    assert_non_null(strstr(out, "\"b\":\t\"?\""));
    assert_non_null(strstr(out, "\"c\":\t\"?\""));
    assert_non_null(strstr(out, "1725407449"));
    assert_null(strchr(out, '\x1b'));
    free(out);
    assert_int_equal(eotp_tpl_json_clean(body, strlen(body), false, &out),
                     EOTP_E_BAD_RESPONSE);
    assert_int_equal(eotp_tpl_json_clean("{\"a\":1}", 7, false, &out),
                     EOTP_OK);
    free(out);
}

static void test_path(void **state)
{
    char buf[1024];
    char id[200];

    (void)state;
    assert_int_equal(eotp_tpl_path("pam-otp_1.x~", buf, sizeof(buf)),
                     EOTP_OK);
    assert_string_equal(buf, "/v1/template-configs/pam-otp_1.x~");
    assert_int_equal(eotp_tpl_path("a b/../c?d#", buf, sizeof(buf)),
                     EOTP_OK);
    assert_string_equal(buf, "/v1/template-configs/a%20b%2F..%2Fc%3Fd%23");
    assert_int_equal(eotp_tpl_path("", buf, sizeof(buf)), EOTP_E_API_REQUEST);
    assert_int_equal(eotp_tpl_path("a\nb", buf, sizeof(buf)),
                     EOTP_E_API_REQUEST);
    memset(id, 'a', 128);
    id[128] = '\0';
    assert_int_equal(eotp_tpl_path(id, buf, sizeof(buf)), EOTP_OK);
    id[128] = 'a';
    id[129] = '\0';
    assert_int_equal(eotp_tpl_path(id, buf, sizeof(buf)), EOTP_E_API_REQUEST);
    assert_int_equal(eotp_tpl_path("abc", buf, 20), EOTP_E_API_REQUEST);
}

static void test_status_text(void **state)
{
    (void)state;
    assert_string_equal(eotp_tpl_status_text(1), "Pending review");
    assert_string_equal(eotp_tpl_status_text(2), "Approved");
    assert_string_equal(eotp_tpl_status_text(3), "Rejected");
    assert_string_equal(eotp_tpl_status_text(0), "Unknown");
    assert_string_equal(eotp_tpl_status_text(9), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_bodies),
        cmocka_unit_test(test_each_rule_names_its_field),
        cmocka_unit_test(test_id_length_limit),
        cmocka_unit_test(test_characters_not_bytes),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_fields_and_structure),
        cmocka_unit_test(test_build_flag_form),
        cmocka_unit_test(test_parse_list),
        cmocka_unit_test(test_parse_one_and_render),
        cmocka_unit_test(test_json_clean),
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_status_text),
    };

    return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
