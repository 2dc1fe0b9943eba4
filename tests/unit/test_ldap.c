/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ldap.c - RFC 4515 escaping and filter building (ldap.c), and, when
 * tests/e2e/test_ldap.sh runs it against its own slapd, eotp_ldap_lookup()
 * with user names full of filter metacharacters.
 *
 * Environment for the directory tests (skipped when unset):
 *   EOTP_TEST_LDAP_URI   e.g. ldap://127.0.0.1:38901
 *   EOTP_TEST_LDAP_BASE  e.g. dc=example,dc=org
 * The directory holds uid=daemon (mobile +65 8123 4567) and
 * uid=star*user (mobile +65 8000 0001), among others.
 */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "../../src/core/cfg.h"
#include "../../src/core/err.h"
#include "../../src/core/ldap.h"
#include "../../src/core/log.h"
#include "../../src/core/lookup.h"
#include "../../src/core/usermap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct esc_row {
    const char *in;
    size_t len;
    const char *want;
};

#define E(s, w)                                                               \
    {                                                                         \
        s, sizeof(s) - 1, w                                                   \
    }

static const struct esc_row esc_rows[] = {
    E("daemon", "daemon"),
    E("*", "\\2a"),
    E("a*", "a\\2a"),
    E("(", "\\28"),
    E(")", "\\29"),
    E("\\", "\\5c"),
    E("(uid=*)", "\\28uid=\\2a\\29"),
    E("x)(uid=daemon", "x\\29\\28uid=daemon"),
    E("*)(|(uid=*", "\\2a\\29\\28|\\28uid=\\2a"),
    E("a\0b", "a\\00b"),
    E("\0", "\\00"),
    E("caf\xc3\xa9", "caf\\c3\\a9"),
    E("\xff\x80", "\\ff\\80"),
    E("tab\there", "tab\\09here"),
    E("new\nline", "new\\0aline"),
    E("sp ace", "sp\\20ace"),
    E("del\x7f", "del\\7f"),
    E("j.doe-1_x@EXAMPLE", "j.doe-1_x@EXAMPLE"),
    E("", ""),
};

static void test_escape_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(esc_rows) / sizeof(esc_rows[0]); i++) {
        char out[64];

        assert_int_equal(eotp_ldap_escape(esc_rows[i].in, esc_rows[i].len, out,
                                          sizeof(out)),
                         EOTP_OK);
        assert_string_equal(out, esc_rows[i].want);
        /* No metacharacter survives unescaped. */
        for (const char *p = out; *p != '\0'; p++) {
            assert_null(strchr("*()", *p));
            if (*p == '\\') {
                assert_non_null(strchr("0123456789abcdef", p[1]));
                assert_non_null(strchr("0123456789abcdef", p[2]));
            }
        }
    }
}

static void test_escape_bounds(void **state)
{
    char out[8];

    (void)state;
    /* "\2a\2a" needs 7 bytes: fits in 7, not in 6. */
    assert_int_equal(eotp_ldap_escape("**", 2, out, 7), EOTP_OK);
    assert_string_equal(out, "\\2a\\2a");
    assert_int_equal(eotp_ldap_escape("**", 2, out, 6), EOTP_E_INTERNAL);
    assert_string_equal(out, "");
    assert_int_equal(eotp_ldap_escape("abc", 3, out, 3), EOTP_E_INTERNAL);
    assert_string_equal(out, "");
    assert_int_equal(eotp_ldap_escape("abc", 3, out, 0), EOTP_E_INTERNAL);
}

static void test_filter(void **state)
{
    char out[128];
    char user[EOTP_LDAP_USER_MAX + 2];
    char big[EOTP_LDAP_FILTER_MAX];

    (void)state;
    assert_int_equal(eotp_ldap_build_filter("(uid=%u)", "daemon", out,
                                            sizeof(out)),
                     EOTP_OK);
    assert_string_equal(out, "(uid=daemon)");
    assert_int_equal(eotp_ldap_build_filter("(uid=%u)", "x)(uid=daemon", out,
                                            sizeof(out)),
                     EOTP_OK);
    assert_string_equal(out, "(uid=x\\29\\28uid=daemon)");
    assert_int_equal(
        eotp_ldap_build_filter("(&(objectClass=user)(sAMAccountName=%u))",
                               "a*", out, sizeof(out)),
        EOTP_OK);
    assert_string_equal(out, "(&(objectClass=user)(sAMAccountName=a\\2a))");
    assert_int_equal(eotp_ldap_build_filter("(|(uid=%u)(cn=%u))", "*", out,
                                            sizeof(out)),
                     EOTP_OK);
    assert_string_equal(out, "(|(uid=\\2a)(cn=\\2a))");
    /* Only %u is special. */
    assert_int_equal(eotp_ldap_build_filter("(d=100%)(x=%s%%u%)", "u", out,
                                            sizeof(out)),
                     EOTP_OK);
    assert_string_equal(out, "(d=100%)(x=%s%u%)");
    /* Too long for out. */
    assert_int_equal(eotp_ldap_build_filter("(uid=%u)", "daemon", out, 12),
                     EOTP_E_CONFIG);
    assert_string_equal(out, "");
    assert_int_equal(eotp_ldap_build_filter("(uid=%u)", "daemon", out, 13),
                     EOTP_OK);
    /* User name bound. */
    memset(user, 'a', sizeof(user) - 1);
    user[sizeof(user) - 1] = '\0';
    assert_int_equal(eotp_ldap_build_filter("(uid=%u)", user, big,
                                            sizeof(big)),
                     EOTP_E_CONFIG);
    user[EOTP_LDAP_USER_MAX] = '\0';
    memset(user, '*', EOTP_LDAP_USER_MAX);
    assert_int_equal(eotp_ldap_build_filter("(uid=%u)", user, big,
                                            sizeof(big)),
                     EOTP_OK);
    assert_int_equal(strlen(big), 5 + 3 * EOTP_LDAP_USER_MAX + 1);
}

/* ---- against the suite's slapd ----------------------------------------- */

static char logbuf[65536];

static void emit(void *ctx, int prio, const char *line)
{
    size_t used = strlen(logbuf);

    (void)ctx;
    (void)snprintf(logbuf + used, sizeof(logbuf) - used, "<%d> %s\n", prio,
                   line);
}

static const struct eotp_logger lg = {emit, NULL, true};

static int dir_setup(void **state)
{
    struct eotp_cfg *cfg;
    const char *uri = getenv("EOTP_TEST_LDAP_URI");
    const char *base = getenv("EOTP_TEST_LDAP_BASE");

    *state = NULL;
    if (uri == NULL || base == NULL) {
        return 0;
    }
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL || eotp_cfg_init(cfg) != EOTP_OK ||
        eotp_cfg_set(cfg, "ldap_uri", uri, false, "test", &lg) != EOTP_OK ||
        eotp_cfg_set(cfg, "ldap_base", base, false, "test", &lg) != EOTP_OK ||
        eotp_cfg_set(cfg, "user_sources", "ldap", false, "test", &lg) !=
            EOTP_OK ||
        eotp_cfg_set(cfg, "ldap_timeout", "5", false, "test", &lg) !=
            EOTP_OK) {
        free(cfg);
        return -1;
    }
    *state = cfg;
    return 0;
}

static int dir_teardown(void **state)
{
    if (*state != NULL) {
        eotp_cfg_free(*state);
        free(*state);
    }
    return 0;
}

static int lookup(struct eotp_cfg *cfg, const char *user, char *dest,
                  size_t destlen, char *source, size_t srclen)
{
    struct eotp_dests d = {{NULL}, 0, 0};
    int r;

    logbuf[0] = '\0';
    dest[0] = '\0';
    r = eotp_ldap_lookup(cfg, user, &lg, &d, source, srclen);
    if (r == EOTP_OK) {
        assert_int_equal(d.n, 1);
        (void)snprintf(dest, destlen, "%s", d.dest[0]);
        eotp_dests_free(&d);
    } else {
        assert_int_equal(d.n, 0);
    }
    return r;
}

static void test_dir_found(void **state)
{
    struct eotp_cfg *cfg = *state;
    char dest[300];
    char source[300];
    char want[300];

    if (cfg == NULL) {
        skip();
    }
    assert_int_equal(lookup(cfg, "daemon", dest, sizeof(dest), source,
                            sizeof(source)),
                     EOTP_OK);
    assert_string_equal(dest, "+6581234567");
    (void)snprintf(want, sizeof(want), "ldap %s attribute mobile",
                   getenv("EOTP_TEST_LDAP_URI"));
    assert_string_equal(source, want);
    /* A literal metacharacter in a real uid still matches, escaped. */
    assert_int_equal(lookup(cfg, "star*user", dest, sizeof(dest), source,
                            sizeof(source)),
                     EOTP_OK);
    assert_string_equal(dest, "+6580000001");
    /* The same through eotp_lookup_dests. */
    {
        struct eotp_dests d = {{NULL}, 0, 0};

        assert_int_equal(eotp_lookup_dests(cfg, "daemon", &lg, &d, source,
                                           sizeof(source)),
                         EOTP_OK);
        assert_string_equal(d.dest[0], "+6581234567");
        assert_string_equal(source, want);
        eotp_dests_free(&d);
    }
}

static void test_dir_metachars(void **state)
{
    static const char *const names[] = {
        "*",       "a*",      "(uid=*)", "x)(uid=daemon", "\\",
        "daemon*", "*daemon", "star*",   "*)(|(uid=*",    "d*n",
        "daemon)", "(daemon", "\\2a",    "daemon\\",      "*)(uid=*))(|(uid=*",
    };
    struct eotp_cfg *cfg = *state;
    char dest[300];
    char source[300];

    if (cfg == NULL) {
        skip();
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int r = lookup(cfg, names[i], dest, sizeof(dest), source,
                       sizeof(source));

        if (r != EOTP_E_UNMAPPED) {
            print_error("user \"%s\": got %d dest=%s log:\n%s\n", names[i], r,
                        dest, logbuf);
        }
        assert_int_equal(r, EOTP_E_UNMAPPED);
        assert_null(strstr(logbuf, "more than one entry"));
        assert_null(strstr(logbuf, "server failed"));
    }
    /* A filter template with %u twice, and a wildcard around it, only
     * ever matches what the admin wrote. */
    assert_int_equal(eotp_cfg_set(cfg, "ldap_filter", "(|(uid=%u)(cn=%u))",
                                  false, "test", &lg),
                     EOTP_OK);
    assert_int_equal(lookup(cfg, "*", dest, sizeof(dest), source,
                            sizeof(source)),
                     EOTP_E_UNMAPPED);
    assert_int_equal(lookup(cfg, "daemon", dest, sizeof(dest), source,
                            sizeof(source)),
                     EOTP_OK);
    assert_int_equal(eotp_cfg_set(cfg, "ldap_filter", "(uid=%u)", false,
                                  "test", &lg),
                     EOTP_OK);
}

/* Without the escaping these filters would match every entry: the
 * directory must really hold several, or the test proves nothing. */
static void test_dir_wildcard_control(void **state)
{
    struct eotp_cfg *cfg = *state;
    char dest[300];
    char source[300];

    if (cfg == NULL) {
        skip();
    }
    assert_int_equal(eotp_cfg_set(cfg, "ldap_filter", "(uid=*)", false, "test",
                                  &lg),
                     EOTP_OK);
    assert_int_equal(lookup(cfg, "ignored", dest, sizeof(dest), source,
                            sizeof(source)),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "more than one entry matches"));
    assert_int_equal(eotp_cfg_set(cfg, "ldap_filter", "(uid=%u)", false,
                                  "test", &lg),
                     EOTP_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_table),
        cmocka_unit_test(test_escape_bounds),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_dir_found),
        cmocka_unit_test(test_dir_metachars),
        cmocka_unit_test(test_dir_wildcard_control),
    };

    return cmocka_run_group_tests_name("ldap", tests, dir_setup, dir_teardown);
}
