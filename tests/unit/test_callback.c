/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_callback.c - X-CALLBACK-ID parsing and HMAC-SHA256 verification.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/core/callback.h"
#include "../../src/core/err.h"

#include <stdio.h>
#include <string.h>

#define SECRET "my_secret"
#define REF_SIG "404794bf3409ad56077e11dac58f0f1d19e5a3b898b669360fb888a5efe4e729"
#define REF_HEADER                                                            \
    "timestamp=1701234567;nonce=abc123;username=my_user;signature=" REF_SIG
#define REF_TIME 1701234567LL

static int verify(const char *header, long long max_age, long long now,
                  enum eotp_cb_status *st, char *why, size_t whylen)
{
    return eotp_cb_verify(header, SECRET, strlen(SECRET), max_age, now, st,
                          why, whylen);
}

/* The reference vector of engagelab-api.md section 5.2. */
static void test_sign_reference_vector(void **state)
{
    char hex[EOTP_CB_SIG_HEX + 1];

    (void)state;
    assert_int_equal(eotp_cb_sign(SECRET, strlen(SECRET), "1701234567",
                                  "abc123", "my_user", hex),
                     EOTP_OK);
    assert_string_equal(hex, REF_SIG);
}

static void test_sign_depends_on_every_input(void **state)
{
    char a[EOTP_CB_SIG_HEX + 1];
    char b[EOTP_CB_SIG_HEX + 1];

    (void)state;
    assert_int_equal(eotp_cb_sign("k", 1, "1", "2", "3", a), EOTP_OK);
    assert_int_equal(eotp_cb_sign("K", 1, "1", "2", "3", b), EOTP_OK);
    assert_string_not_equal(a, b);
    /* Plain concatenation: moving a character between fields is the same
     * message (documented behaviour of the service). */
    assert_int_equal(eotp_cb_sign("k", 1, "12", "", "3", b), EOTP_OK);
    assert_string_equal(a, b);
    assert_int_equal(eotp_cb_sign("", 0, "1", "2", "3", b), EOTP_OK);
    assert_string_not_equal(a, b);
}

static void test_verify_reference_header(void **state)
{
    enum eotp_cb_status st = EOTP_CB_MALFORMED;
    char why[128];

    (void)state;
    assert_int_equal(verify(REF_HEADER, 0, 0, &st, why, sizeof(why)),
                     EOTP_OK);
    assert_int_equal(st, EOTP_CB_VALID);
    assert_string_equal(eotp_cb_status_text(st), "valid");
}

static void test_verify_accepts_prefix_spaces_and_order(void **state)
{
    static const char *const ok[] = {
        "X-CALLBACK-ID: " REF_HEADER,
        "x-callback-id:" REF_HEADER,
        " timestamp = 1701234567 ; nonce=abc123 ;\tusername=my_user ; "
        "signature= " REF_SIG " ",
        "signature=" REF_SIG ";username=my_user;nonce=abc123;"
        "timestamp=1701234567",
        REF_HEADER ";",
        ";;" REF_HEADER ";;",
        REF_HEADER ";extra=ignored",
    };
    enum eotp_cb_status st;
    char why[128];

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        st = EOTP_CB_MALFORMED;
        assert_int_equal(verify(ok[i], 0, 0, &st, why, sizeof(why)),
                         EOTP_OK);
        assert_int_equal(st, EOTP_CB_VALID);
    }
}

static void test_verify_rejects_bad_signatures(void **state)
{
    static const char *const bad[] = {
        /* last digit changed */
        "timestamp=1701234567;nonce=abc123;username=my_user;signature="
        "404794bf3409ad56077e11dac58f0f1d19e5a3b898b669360fb888a5efe4e728",
        /* uppercase hex is not what the service sends */
        "timestamp=1701234567;nonce=abc123;username=my_user;signature="
        "404794BF3409AD56077E11DAC58F0F1D19E5A3B898B669360FB888A5EFE4E729",
        /* truncated and extended */
        "timestamp=1701234567;nonce=abc123;username=my_user;signature="
        "404794bf3409ad56077e11dac58f0f1d19e5a3b898b669360fb888a5efe4e72",
        "timestamp=1701234567;nonce=abc123;username=my_user;signature=" REF_SIG
        "0",
        /* a signed field changed */
        "timestamp=1701234568;nonce=abc123;username=my_user;signature=" REF_SIG,
        "timestamp=1701234567;nonce=abc124;username=my_user;signature=" REF_SIG,
        "timestamp=1701234567;nonce=abc123;username=my_usr;signature=" REF_SIG,
    };
    enum eotp_cb_status st;
    char why[128];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st = EOTP_CB_VALID;
        assert_int_equal(verify(bad[i], 0, 0, &st, why, sizeof(why)),
                         EOTP_E_CODE_WRONG);
        assert_int_equal(st, EOTP_CB_BAD_SIGNATURE);
        assert_non_null(strstr(why, "signature"));
    }
}

static void test_verify_wrong_secret(void **state)
{
    enum eotp_cb_status st = EOTP_CB_VALID;
    char why[128];

    (void)state;
    assert_int_equal(eotp_cb_verify(REF_HEADER, "my_secreT", 9, 0, 0, &st,
                                    why, sizeof(why)),
                     EOTP_E_CODE_WRONG);
    assert_int_equal(st, EOTP_CB_BAD_SIGNATURE);
    /* The secret with its newline is a different key. */
    assert_int_equal(eotp_cb_verify(REF_HEADER, "my_secret\n", 10, 0, 0, &st,
                                    why, sizeof(why)),
                     EOTP_E_CODE_WRONG);
}

struct malformed {
    const char *header;
    const char *why; /* a substring of the explanation */
};

static void test_verify_rejects_malformed(void **state)
{
    static const struct malformed cases[] = {
        {"nonce=abc123;username=my_user;signature=" REF_SIG,
         "timestamp is missing"},
        {"timestamp=1701234567;username=my_user;signature=" REF_SIG,
         "nonce is missing"},
        {"timestamp=1701234567;nonce=abc123;signature=" REF_SIG,
         "username is missing"},
        {"timestamp=1701234567;nonce=abc123;username=my_user",
         "signature is missing"},
        {REF_HEADER ";nonce=abc123", "nonce given twice"},
        {"timestamp=1701234567;timestamp=1701234567;nonce=abc123;"
         "username=my_user;signature=" REF_SIG,
         "timestamp given twice"},
        {"timestamp=1701234567;nonce;username=my_user;signature=" REF_SIG,
         "no '='"},
        {"timestamp=1701234567;nonce=;username=my_user;signature=" REF_SIG,
         "nonce is empty"},
        {"timestamp=17012x4567;nonce=abc123;username=my_user;signature=" REF_SIG,
         "timestamp is not a number"},
        {"timestamp=-1;nonce=abc123;username=my_user;signature=" REF_SIG,
         "timestamp is not a number"},
        {"timestamp=1701234567;nonce=a\tb\x01;username=my_user;signature=" REF_SIG,
         "nonce is empty, too long or unprintable"},
        {"", "timestamp is missing"},
        {"garbage", "no '='"},
    };
    enum eotp_cb_status st;
    char why[128];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        st = EOTP_CB_VALID;
        assert_int_equal(verify(cases[i].header, 0, 0, &st, why, sizeof(why)),
                         EOTP_E_CODE_WRONG);
        assert_int_equal(st, EOTP_CB_MALFORMED);
        if (strstr(why, cases[i].why) == NULL) {
            fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, why,
                     cases[i].why);
        }
    }
}

static void test_verify_rejects_oversized(void **state)
{
    char big[EOTP_CB_HEADER_MAX + 64];
    char field[EOTP_CB_FIELD_MAX + 2];
    enum eotp_cb_status st = EOTP_CB_VALID;
    char why[128];

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(verify(big, 0, 0, &st, why, sizeof(why)),
                     EOTP_E_CODE_WRONG);
    assert_int_equal(st, EOTP_CB_MALFORMED);
    assert_int_equal(verify(NULL, 0, 0, &st, why, sizeof(why)),
                     EOTP_E_CODE_WRONG);
    memset(field, 'n', sizeof(field) - 1);
    field[sizeof(field) - 1] = '\0';
    (void)snprintf(big, sizeof(big),
                   "timestamp=1;nonce=%s;username=u;signature=" REF_SIG,
                   field);
    assert_int_equal(verify(big, 0, 0, &st, why, sizeof(why)),
                     EOTP_E_CODE_WRONG);
    assert_int_equal(st, EOTP_CB_MALFORMED);
}

static void test_verify_max_age(void **state)
{
    enum eotp_cb_status st;
    char why[128];

    (void)state;
    /* Fresh: exactly max_age old, or max_age ahead. */
    assert_int_equal(verify(REF_HEADER, 300, REF_TIME + 300, &st, why,
                            sizeof(why)),
                     EOTP_OK);
    assert_int_equal(verify(REF_HEADER, 300, REF_TIME - 300, &st, why,
                            sizeof(why)),
                     EOTP_OK);
    /* Stale. */
    assert_int_equal(verify(REF_HEADER, 300, REF_TIME + 301, &st, why,
                            sizeof(why)),
                     EOTP_E_CODE_WRONG);
    assert_int_equal(st, EOTP_CB_STALE);
    assert_non_null(strstr(why, "301 seconds old"));
    /* Far in the future. */
    assert_int_equal(verify(REF_HEADER, 300, REF_TIME - 3600, &st, why,
                            sizeof(why)),
                     EOTP_E_CODE_WRONG);
    assert_int_equal(st, EOTP_CB_FUTURE);
    /* max_age 0: no freshness check at all. */
    assert_int_equal(verify(REF_HEADER, 0, REF_TIME + 100000000, &st, why,
                            sizeof(why)),
                     EOTP_OK);
}

static void test_forged_and_stale_is_bad_signature(void **state)
{
    enum eotp_cb_status st = EOTP_CB_VALID;
    char why[128];

    (void)state;
    assert_int_equal(
        verify("timestamp=1;nonce=abc123;username=my_user;signature=" REF_SIG,
               300, REF_TIME, &st, why, sizeof(why)),
        EOTP_E_CODE_WRONG);
    assert_int_equal(st, EOTP_CB_BAD_SIGNATURE);
}

static void test_parse_fields(void **state)
{
    struct eotp_cb_header h;
    char why[128];

    (void)state;
    assert_int_equal(eotp_cb_parse(" X-Callback-Id:  timestamp=1701234567 ; "
                                   "nonce=abc=123;username=my user;"
                                   "signature=" REF_SIG,
                                   &h, why, sizeof(why)),
                     EOTP_OK);
    assert_string_equal(h.timestamp, "1701234567");
    /* Only the first '=' splits; inner spaces stay. */
    assert_string_equal(h.nonce, "abc=123");
    assert_string_equal(h.username, "my user");
    assert_string_equal(h.signature, REF_SIG);
}

static void test_secret_trim(void **state)
{
    char a[] = "my_secret\n";
    char b[] = "my_secret\r\n";
    char c[] = "my_secret\n\n";
    char d[] = "my_secret";
    char e[] = "\n";
    size_t n;

    (void)state;
    n = strlen(a);
    eotp_cb_secret_trim(a, &n);
    assert_int_equal(n, 9);
    assert_string_equal(a, "my_secret");
    n = strlen(b);
    eotp_cb_secret_trim(b, &n);
    assert_string_equal(b, "my_secret");
    n = strlen(c);
    eotp_cb_secret_trim(c, &n);
    assert_int_equal(n, 10);
    assert_string_equal(c, "my_secret\n");
    n = strlen(d);
    eotp_cb_secret_trim(d, &n);
    assert_int_equal(n, 9);
    n = strlen(e);
    eotp_cb_secret_trim(e, &n);
    assert_int_equal(n, 0);
}

static void test_status_texts(void **state)
{
    (void)state;
    assert_string_equal(eotp_cb_status_text(EOTP_CB_MALFORMED),
                        "malformed header");
    assert_string_equal(eotp_cb_status_text(EOTP_CB_BAD_SIGNATURE),
                        "bad signature");
    assert_string_equal(eotp_cb_status_text(EOTP_CB_STALE),
                        "stale timestamp");
    assert_string_equal(eotp_cb_status_text(EOTP_CB_FUTURE),
                        "timestamp in the future");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_reference_vector),
        cmocka_unit_test(test_sign_depends_on_every_input),
        cmocka_unit_test(test_verify_reference_header),
        cmocka_unit_test(test_verify_accepts_prefix_spaces_and_order),
        cmocka_unit_test(test_verify_rejects_bad_signatures),
        cmocka_unit_test(test_verify_wrong_secret),
        cmocka_unit_test(test_verify_rejects_malformed),
        cmocka_unit_test(test_verify_rejects_oversized),
        cmocka_unit_test(test_verify_max_age),
        cmocka_unit_test(test_forged_and_stale_is_bad_signature),
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_secret_trim),
        cmocka_unit_test(test_status_texts),
    };

    return cmocka_run_group_tests_name("callback", tests, NULL, NULL);
}
