/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_policy.c - network matching, language choice, code shape and
 * parameter expansion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../src/core/cfg.h"
#include "../../src/core/err.h"
#include "../../src/core/policy.h"

static void test_networks(void **state)
{
    static const char *list = "10.0.0.0/8, 192.0.2.7 2001:db8::/32 ::1/128 "
                              "172.16.0.0/12, 0.0.0.0/0";
    static const char *narrow = "10.0.0.0/8, 2001:db8::/32, 192.168.1.0/25";

    (void)state;
    assert_true(eotp_policy_addr_in_list("10.255.1.2", narrow));
    assert_false(eotp_policy_addr_in_list("11.0.0.1", narrow));
    assert_true(eotp_policy_addr_in_list("192.168.1.127", narrow));
    assert_false(eotp_policy_addr_in_list("192.168.1.128", narrow));
    assert_true(eotp_policy_addr_in_list("2001:db8:ffff::1", narrow));
    assert_false(eotp_policy_addr_in_list("2001:db9::1", narrow));
    assert_true(eotp_policy_addr_in_list("::ffff:10.1.1.1", narrow));
    assert_false(eotp_policy_addr_in_list("::ffff:11.1.1.1", narrow));
    /* Host names and junk never match, even 0.0.0.0/0. */
    assert_false(eotp_policy_addr_in_list("10.example.com", list));
    assert_false(eotp_policy_addr_in_list("localhost", list));
    assert_false(eotp_policy_addr_in_list("", list));
    assert_false(eotp_policy_addr_in_list(NULL, list));
    assert_false(eotp_policy_addr_in_list("10.0.0.1 ", narrow));
    assert_true(eotp_policy_addr_in_list("8.8.8.8", list));
    assert_false(eotp_policy_addr_in_list("10.0.0.1", NULL));
}

static void test_language(void **state)
{
    struct eotp_cfg cfg;

    (void)state;
    assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
    assert_string_equal(eotp_policy_language(&cfg, "ja_JP.UTF-8"), "default");
    assert_int_equal(eotp_cfg_set(&cfg, "language", "auto", false, "t", NULL),
                     EOTP_OK);
    assert_string_equal(eotp_policy_language(&cfg, "ja_JP.UTF-8"), "ja");
    assert_string_equal(eotp_policy_language(&cfg, "zh_CN.GB2312"), "zh_CN");
    assert_string_equal(eotp_policy_language(&cfg, "zh_TW.UTF-8"), "zh_HK");
    assert_string_equal(eotp_policy_language(&cfg, "en"), "en");
    assert_string_equal(eotp_policy_language(&cfg, "es_MX@x"), "es");
    assert_string_equal(eotp_policy_language(&cfg, "eo"), "default");
    assert_string_equal(eotp_policy_language(&cfg, "enx"), "default");
    assert_string_equal(eotp_policy_language(&cfg, "C.UTF-8"), "default");
    assert_string_equal(eotp_policy_language(&cfg, NULL), "default");
    eotp_cfg_free(&cfg);
}

static void test_code_shape(void **state)
{
    struct eotp_cfg cfg;

    (void)state;
    assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
    /* Default: six digits, EngageLab's usual template. */
    assert_int_equal(cfg.code_length, 6);
    assert_int_equal(cfg.code_type, 1);
    assert_true(eotp_policy_code_ok(&cfg, "012345"));
    assert_false(eotp_policy_code_ok(&cfg, "abc123"));
    assert_false(eotp_policy_code_ok(&cfg, "1234"));
    assert_false(eotp_policy_code_ok(&cfg, "1234567"));
    /* Any 4 to 10 letters and digits only when configured so. */
    cfg.code_length = 0;
    cfg.code_type = 7;
    assert_true(eotp_policy_code_ok(&cfg, "1234"));
    assert_true(eotp_policy_code_ok(&cfg, "aB3dE6gH9j"));
    assert_false(eotp_policy_code_ok(&cfg, "123"));
    assert_false(eotp_policy_code_ok(&cfg, "12345678901"));
    assert_false(eotp_policy_code_ok(&cfg, ""));
    assert_false(eotp_policy_code_ok(&cfg, "12 34"));
    assert_false(eotp_policy_code_ok(&cfg, "1234\n"));
    assert_false(eotp_policy_code_ok(&cfg, "p@ssw0rd"));
    cfg.code_length = 6;
    cfg.code_type = 1;
    assert_true(eotp_policy_code_ok(&cfg, "012345"));
    assert_false(eotp_policy_code_ok(&cfg, "01234"));
    assert_false(eotp_policy_code_ok(&cfg, "01234a"));
    cfg.code_type = 4;
    assert_true(eotp_policy_code_ok(&cfg, "ABCDEF"));
    assert_false(eotp_policy_code_ok(&cfg, "abcdef"));
    eotp_cfg_free(&cfg);
}

static void test_params(void **state)
{
    struct eotp_cfg cfg;
    struct eotp_params p;
    struct eotp_login login = {"alice", "sshd", "192.0.2.1",
                               "/bin/rm\t-rf /", NULL, NULL};
    char longcmd[300];

    (void)state;
    assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
    assert_int_equal(eotp_params_build(&cfg, &login, &p), EOTP_OK);
    assert_int_equal(p.n, 0);
    assert_int_equal(
        eotp_cfg_set(&cfg, "params",
                     "who=%u@%r, svc=%s, cmd=%c, lit=50%%, none=", false,
                     "t", NULL),
        EOTP_OK);
    assert_int_equal(eotp_params_build(&cfg, &login, &p), EOTP_OK);
    assert_int_equal(p.n, 5);
    assert_string_equal(p.kv[0].key, "who");
    assert_string_equal(p.kv[0].value, "alice@192.0.2.1");
    assert_string_equal(p.kv[1].value, "sshd");
    assert_string_equal(p.kv[2].value, "/bin/rm -rf /");
    assert_string_equal(p.kv[3].value, "50%");
    assert_string_equal(p.kv[4].value, "");

    memset(longcmd, 'x', sizeof(longcmd) - 1);
    longcmd[sizeof(longcmd) - 1] = '\0';
    login.command = longcmd;
    login.rhost = NULL;
    assert_int_equal(eotp_params_build(&cfg, &login, &p), EOTP_OK);
    assert_int_equal(strlen(p.kv[2].value), EOTP_PARAM_VALUE_MAX);
    assert_string_equal(p.kv[0].value, "alice@");
    eotp_cfg_free(&cfg);
}

/* The one failmode decision the module and the flow (notify) share. */
static void test_open_bypass(void **state)
{
    const char *why = "x";

    (void)state;
    assert_false(eotp_policy_open_bypass(EOTP_FAIL_CLOSED, EOTP_E_TIMEOUT,
                                         false, &why));
    assert_null(why);
    assert_true(eotp_policy_open_bypass(EOTP_FAIL_OPEN, EOTP_E_TIMEOUT, false,
                                        &why));
    assert_null(why);
    assert_true(eotp_policy_open_bypass(EOTP_FAIL_OPEN, EOTP_E_SERVER, false,
                                        NULL));
    /* Never a wrong code, a lockout or a config error. */
    assert_false(eotp_policy_open_bypass(EOTP_FAIL_OPEN, EOTP_E_LOCKED, false,
                                         &why));
    assert_null(why);
    assert_false(eotp_policy_open_bypass(EOTP_FAIL_OPEN, EOTP_E_CONFIG, false,
                                         &why));
    assert_false(eotp_policy_open_bypass(EOTP_FAIL_OPEN, EOTP_E_FLEET_UNAVAIL,
                                         false, &why));
    /* Not once a code was sent, and says so. */
    assert_false(eotp_policy_open_bypass(EOTP_FAIL_OPEN, EOTP_E_SERVER, true,
                                         &why));
    assert_non_null(why);
    assert_string_equal(why, "failmode=open ignored: a code was sent");
}

static void test_sshd_junk(void **state)
{
    (void)state;
    assert_true(eotp_policy_is_sshd_junk("\b\n\r\177INCORRECT"));
    assert_true(eotp_policy_is_sshd_junk("\b\n\r"));
    assert_true(eotp_policy_is_sshd_junk("\b\n\r\177INCORRECT\b\n\r\177I"));
    assert_false(eotp_policy_is_sshd_junk(""));
    assert_false(eotp_policy_is_sshd_junk(NULL));
    assert_false(eotp_policy_is_sshd_junk("INCORRECT"));
    assert_false(eotp_policy_is_sshd_junk("123456"));
    assert_false(eotp_policy_is_sshd_junk("\b\n\r\177INCORRECTX"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_networks),
        cmocka_unit_test(test_language),
        cmocka_unit_test(test_code_shape),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_sshd_junk),
        cmocka_unit_test(test_open_bypass),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
