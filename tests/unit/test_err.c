/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_err.c - the outcome -> PAM code table, in full.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <security/_pam_types.h>
#include <string.h>

#include "../../src/core/err.h"

struct row {
    int err;
    int closed;  /* PAM code with failmode closed */
    int open;    /* PAM code with failmode open */
    bool bypass; /* open bypasses */
};

static const struct row rows[] = {
    {EOTP_OK, PAM_SUCCESS, PAM_SUCCESS, false},
    {EOTP_E_INTERNAL, PAM_SERVICE_ERR, PAM_SERVICE_ERR, false},
    {EOTP_E_NOMEM, PAM_BUF_ERR, PAM_BUF_ERR, false},
    {EOTP_E_CONFIG, PAM_SERVICE_ERR, PAM_SERVICE_ERR, false},
    {EOTP_E_USER_UNKNOWN, PAM_USER_UNKNOWN, PAM_USER_UNKNOWN, false},
    {EOTP_E_UNMAPPED, PAM_USER_UNKNOWN, PAM_USER_UNKNOWN, false},
    {EOTP_E_TRANSPORT, PAM_AUTHINFO_UNAVAIL, PAM_SUCCESS, true},
    {EOTP_E_TLS, PAM_AUTHINFO_UNAVAIL, PAM_SUCCESS, true},
    {EOTP_E_TIMEOUT, PAM_AUTHINFO_UNAVAIL, PAM_SUCCESS, true},
    {EOTP_E_SERVER, PAM_AUTHINFO_UNAVAIL, PAM_SUCCESS, true},
    {EOTP_E_BAD_RESPONSE, PAM_AUTHINFO_UNAVAIL, PAM_SUCCESS, true},
    {EOTP_E_API_AUTH, PAM_AUTHINFO_UNAVAIL, PAM_SUCCESS, true},
    {EOTP_E_API_REQUEST, PAM_SERVICE_ERR, PAM_SERVICE_ERR, false},
    {EOTP_E_DELIVERY, PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL, false},
    {EOTP_E_RESEND, PAM_AUTH_ERR, PAM_AUTH_ERR, false},
    {EOTP_E_CODE_WRONG, PAM_AUTH_ERR, PAM_AUTH_ERR, false},
    {EOTP_E_CODE_EXPIRED, PAM_AUTH_ERR, PAM_AUTH_ERR, false},
    {EOTP_E_MAXTRIES, PAM_MAXTRIES, PAM_MAXTRIES, false},
    {EOTP_E_CONV, PAM_CONV_ERR, PAM_CONV_ERR, false},
    {EOTP_E_STATE, PAM_SERVICE_ERR, PAM_SERVICE_ERR, false},
    {EOTP_E_FILE, PAM_SERVICE_ERR, PAM_SERVICE_ERR, false},
    {EOTP_E_LDAP, PAM_AUTHINFO_UNAVAIL, PAM_SUCCESS, true},
    {EOTP_E_RATE_LIMIT, PAM_AUTH_ERR, PAM_AUTH_ERR, false},
    {EOTP_E_LOCKED, PAM_AUTH_ERR, PAM_AUTH_ERR, false},
    {EOTP_E_IGNORE, PAM_IGNORE, PAM_IGNORE, false},
    {EOTP_E_NOT_FOUND, PAM_SERVICE_ERR, PAM_SERVICE_ERR, false},
    {EOTP_E_CONF_UNREADABLE, PAM_SERVICE_ERR, PAM_SUCCESS, true},
    {EOTP_E_SSHD_REFUSED, PAM_AUTH_ERR, PAM_AUTH_ERR, false},
    {EOTP_E_UNSAFE_ENV, PAM_SERVICE_ERR, PAM_SERVICE_ERR, false},
    /* redis_required: refused with failmode open too. */
    {EOTP_E_FLEET_UNAVAIL, PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL, false},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        bool bypassed = true;

        assert_int_equal(eotp_err_to_pam(rows[i].err, EOTP_FAIL_CLOSED,
                                         &bypassed),
                         rows[i].closed);
        assert_false(bypassed);
        assert_int_equal(eotp_err_to_pam(rows[i].err, EOTP_FAIL_OPEN,
                                         &bypassed),
                         rows[i].open);
        assert_int_equal(bypassed, rows[i].bypass);
        assert_int_equal(eotp_err_is_service_failure(rows[i].err),
                         rows[i].bypass);
    }
}

/* Every code from 0 down to EOTP_E_MIN has a row here and in err.c. */
static void test_every_code_covered(void **state)
{
    (void)state;
    for (int e = 0; e >= EOTP_E_MIN; e--) {
        bool found = false;

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
            found = found || rows[i].err == e;
        }
        assert_true(found);
        assert_string_not_equal(eotp_err_reason(e), "unknown");
        assert_string_not_equal(eotp_strerror(e), "unknown error");
    }
}

static void test_unknown_code_denies(void **state)
{
    bool bypassed = true;

    (void)state;
    assert_int_equal(eotp_err_to_pam(-9999, EOTP_FAIL_OPEN, &bypassed),
                     PAM_SERVICE_ERR);
    assert_false(bypassed);
    assert_int_equal(eotp_err_to_pam(42, EOTP_FAIL_OPEN, &bypassed),
                     PAM_SERVICE_ERR);
    assert_false(bypassed);
    assert_string_equal(eotp_strerror(-9999), "unknown error");
}

/* A wrong code never falls under failmode. */
static void test_wrong_code_never_bypassed(void **state)
{
    bool bypassed = true;

    (void)state;
    assert_int_not_equal(eotp_err_to_pam(EOTP_E_CODE_WRONG, EOTP_FAIL_OPEN,
                                         &bypassed),
                         PAM_SUCCESS);
    assert_int_not_equal(eotp_err_to_pam(EOTP_E_MAXTRIES, EOTP_FAIL_OPEN,
                                         &bypassed),
                         PAM_SUCCESS);
    assert_int_not_equal(eotp_err_to_pam(EOTP_E_CODE_EXPIRED, EOTP_FAIL_OPEN,
                                         &bypassed),
                         PAM_SUCCESS);
    assert_int_not_equal(eotp_err_to_pam(EOTP_E_NOMEM, EOTP_FAIL_OPEN,
                                         &bypassed),
                         PAM_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_every_code_covered),
        cmocka_unit_test(test_unknown_code_denies),
        cmocka_unit_test(test_wrong_code_never_bypassed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
