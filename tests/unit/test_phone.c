/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_phone.c - phone number and destination normalisation (phone.c).
 * Table-driven: every row is an input, a default country code and the
 * expected result.
 */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "../../src/core/dest.h"
#include "../../src/core/err.h"
#include "../../src/core/phone.h"

#include <stdio.h>
#include <string.h>

struct row {
    const char *in;
    const char *cc;   /* default_country_code, NULL: unset */
    int err;          /* expected return */
    const char *want; /* expected output on success */
};

#define OK(in, cc, want)                                                      \
    {                                                                         \
        in, cc, EOTP_OK, want                                                 \
    }
#define BAD(in, cc)                                                           \
    {                                                                         \
        in, cc, EOTP_E_UNMAPPED, NULL                                         \
    }
#define NEEDCC(in)                                                            \
    {                                                                         \
        in, NULL, EOTP_E_CONFIG, NULL                                         \
    }

static const struct row phone_rows[] = {
    /* The forms of issue 4. */
    OK("+65 8123 4567", NULL, "+6581234567"),
    OK("+65 8123 4567", "65", "+6581234567"),
    OK("(65) 8123-4567", "65", "+6581234567"),
    NEEDCC("(65) 8123-4567"),
    OK("(65) 8123-4567", "44", "+446581234567"),
    OK("0065 8123 4567", NULL, "+6581234567"),
    OK("0065 8123 4567", "44", "+6581234567"),
    OK("8123 4567", "65", "+6581234567"),
    OK("+65-8123-4567", NULL, "+6581234567"),
    OK("tel:+65-8123-4567", NULL, "+6581234567"),
    OK("TEL:+6581234567", NULL, "+6581234567"),
    OK("+6581234567", NULL, "+6581234567"),
    OK("  +65 8123 4567\t", NULL, "+6581234567"),
    OK("+65.8123.4567", NULL, "+6581234567"),
    OK("(+65) 8123 4567", "44", "+6581234567"),
    OK("(0065) 8123 4567", NULL, "+6581234567"),
    /* Trunk prefixes. */
    OK("+44 (0)20 7946 0000", NULL, "+442079460000"),
    OK("0044 (0)20 7946 0000", NULL, "+442079460000"),
    OK("(+44) (0) 20 7946 0000", NULL, "+442079460000"),
    OK("020 7946 0000", "44", "+442079460000"),
    OK("(020) 7946 0000", "44", "+442079460000"),
    OK("(0)20 7946 0000", "44", "+442079460000"),
    OK("0171/1234567", "49", "+491711234567"),
    OK("06 1234 5678", "39", "+390612345678"),
    OK("347 123 4567", "39", "+393471234567"),
    OK("(415) 555-1234", "1", "+14155551234"),
    OK("1 (415) 555-1234", "1", "+14155551234"),
    OK("415-555-1234", "1", "+14155551234"),
    OK("8 (916) 123-45-67", "7", "+79161234567"),
    OK("(11) 91234-5678", "55", "+5511912345678"),
    OK("0 8123 4567", "65", "+6581234567"),
    /* Lengths at the edges of E.164. */
    OK("+1234567", NULL, "+1234567"),
    OK("+123456789012345", NULL, "+123456789012345"),
    BAD("+123456", NULL),
    BAD("+1234567890123456", NULL),
    BAD("123", "65"),
    BAD("8123 4567 8901 2345", "65"),
    /* National numbers need the country code. */
    NEEDCC("8123 4567"),
    NEEDCC("(415) 555-1234 "),
    NEEDCC("020 7946 0000"),
    /* Leading zeros. */
    BAD("+065 8123 4567", NULL),
    BAD("+0 6581234567", NULL),
    BAD("000 65 8123 4567", NULL),
    BAD("00 0 8123 4567", "65"),
    BAD("00", "65"),
    BAD("0", "65"),
    BAD("0000000000", "65"),
    BAD("00 8123 4567 8901 2345 678", NULL),
    /* Several '+', '+' out of place. */
    BAD("++6581234567", NULL),
    BAD("+65+81234567", NULL),
    BAD("6581234567+", NULL),
    BAD("- +6581234567", NULL),
    BAD("(65+) 8123 4567", NULL),
    BAD("( +65) 8123 4567", NULL),
    BAD("+", NULL),
    /* Letters, extensions, several numbers. */
    BAD("+65 8123 4567 ext 12", NULL),
    BAD("+65 8123 4567 x12", NULL),
    BAD("+65 8123 4567 (mobile)", NULL),
    BAD("1-800-FLOWERS", "1"),
    BAD("+65 8123 4567, +65 9123 4567", NULL),
    BAD("+65 8123 4567; +65 9123 4567", NULL),
    BAD("tel:+65-8123-4567;ext=1", NULL),
    BAD("sip:+6581234567@example.com", NULL),
    BAD("tel:", NULL),
    BAD("tel:tel:+6581234567", NULL),
    BAD("abc", "65"),
    BAD("0x81234567", "65"),
    BAD("1e9", "65"),
    /* Only separators, or nothing. */
    BAD("", "65"),
    BAD("   ", "65"),
    BAD("- - - . / .", "65"),
    BAD("()", "65"),
    BAD("( )", "65"),
    /* Parentheses. */
    BAD("(65 8123 4567", NULL),
    BAD("65) 8123 4567", NULL),
    BAD("((65)) 8123 4567", NULL),
    BAD("(65) (81) (23) 4567", NULL),
    BAD("+65 ()81234567", NULL),
    /* Controls and non-ASCII (fullwidth digits, no-break space). */
    BAD("+65\n81234567", NULL),
    BAD("+65\r81234567", NULL),
    BAD("+65\x01"
        "81234567",
        NULL),
    BAD("+65\xc2\xa0"
        "8123\xc2\xa0"
        "4567",
        NULL),
    BAD("\xef\xbc\x8b\xef\xbc\x96\xef\xbc\x95"
        "81234567",
        NULL),
    BAD("+65 8123 4567\x7f", NULL),
    /* A bad default country code is no country code. */
    {"8123 4567", "065", EOTP_E_CONFIG, NULL},
    {"8123 4567", "6a", EOTP_E_CONFIG, NULL},
    {"8123 4567", "1234", EOTP_E_CONFIG, NULL},
    {"8123 4567", "", EOTP_E_CONFIG, NULL},
};

static void run_rows(const struct row *rows, size_t n,
                     int (*fn)(const char *, const char *, char *, size_t),
                     size_t outlen)
{
    int failures = 0;

    for (size_t i = 0; i < n; i++) {
        char out[300];
        int r;

        memset(out, 'X', sizeof(out));
        out[sizeof(out) - 1] = '\0';
        r = fn(rows[i].in, rows[i].cc, out, outlen);
        if (r != rows[i].err) {
            print_error("row %zu \"%s\" cc=%s: got %d, want %d\n", i,
                        rows[i].in, rows[i].cc ? rows[i].cc : "-", r,
                        rows[i].err);
            failures++;
            continue;
        }
        if (r == EOTP_OK && strcmp(out, rows[i].want) != 0) {
            print_error("row %zu \"%s\": got \"%s\", want \"%s\"\n", i,
                        rows[i].in, out, rows[i].want);
            failures++;
        }
        if (r != EOTP_OK && out[0] != 'X') {
            print_error("row %zu \"%s\": out written on failure\n", i,
                        rows[i].in);
            failures++;
        }
        if (r == EOTP_OK && eotp_dest_classify(out) == EOTP_DEST_INVALID) {
            print_error("row %zu: result \"%s\" does not classify\n", i, out);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_phone_table(void **state)
{
    (void)state;
    run_rows(phone_rows, sizeof(phone_rows) / sizeof(phone_rows[0]),
             eotp_phone_normalize, 300);
}

static void test_phone_huge(void **state)
{
    char big[100000];
    char out[EOTP_PHONE_OUT_MIN];

    (void)state;
    memset(big, '1', sizeof(big) - 1);
    big[0] = '+';
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(eotp_phone_normalize(big, "65", out, sizeof(out)),
                     EOTP_E_UNMAPPED);
    /* Just over the input bound, even though mostly spaces. */
    memset(big, ' ', EOTP_PHONE_IN_MAX + 1);
    memcpy(big, "+6581234567", 11);
    big[EOTP_PHONE_IN_MAX + 1] = '\0';
    assert_int_equal(eotp_phone_normalize(big, NULL, out, sizeof(out)),
                     EOTP_E_UNMAPPED);
    /* At the bound it is read. */
    big[EOTP_PHONE_IN_MAX] = '\0';
    assert_int_equal(eotp_phone_normalize(big, NULL, out, sizeof(out)),
                     EOTP_OK);
    assert_string_equal(out, "+6581234567");
    /* Many digits, many separators. */
    memset(big, '9', 60);
    big[60] = '\0';
    assert_int_equal(eotp_phone_normalize(big, "65", out, sizeof(out)),
                     EOTP_E_UNMAPPED);
    for (int i = 0; i < 60; i++) {
        big[i] = i % 2 == 0 ? '-' : '(';
    }
    assert_int_equal(eotp_phone_normalize(big, "65", out, sizeof(out)),
                     EOTP_E_UNMAPPED);
}

static void test_phone_args(void **state)
{
    char out[EOTP_PHONE_OUT_MIN];
    char small[EOTP_PHONE_OUT_MIN - 1];

    (void)state;
    assert_int_equal(eotp_phone_normalize(NULL, "65", out, sizeof(out)),
                     EOTP_E_INTERNAL);
    assert_int_equal(eotp_phone_normalize("+6581234567", "65", NULL, 17),
                     EOTP_E_INTERNAL);
    assert_int_equal(eotp_phone_normalize("+6581234567", "65", small,
                                          sizeof(small)),
                     EOTP_E_INTERNAL);
    /* The smallest buffer holds the longest number. */
    assert_int_equal(eotp_phone_normalize("+123456789012345", NULL, out,
                                          sizeof(out)),
                     EOTP_OK);
    assert_string_equal(out, "+123456789012345");
}

static const struct row dest_rows[] = {
    OK("alice@example.com", NULL, "alice@example.com"),
    OK("  Alice.B@Example.COM ", NULL, "Alice.B@Example.COM"),
    OK("+65 8123 4567", NULL, "+6581234567"),
    OK("8123 4567", "65", "+6581234567"),
    NEEDCC("8123 4567"),
    BAD("alice@", NULL),
    BAD("@example.com", NULL),
    BAD("alice@example", NULL),
    BAD("alice@@example.com", NULL),
    BAD("alice bob@example.com", NULL),
    BAD("alice@exa mple.com", NULL),
    BAD("alice@example.com\n", NULL),
    BAD("alice@example..com", NULL),
    BAD("al\xc3\xaf"
        "ce@example.com",
        NULL),
    BAD("", NULL),
    BAD("mailto:alice@example.com", NULL),
    BAD("<alice@example.com>", NULL),
    BAD("Alice <alice@example.com>", NULL),
};

static void test_dest_table(void **state)
{
    (void)state;
    run_rows(dest_rows, sizeof(dest_rows) / sizeof(dest_rows[0]),
             eotp_phone_normalize_dest, EOTP_DEST_MAX + 1);
}

static void test_dest_huge(void **state)
{
    static char big[200000];
    char out[EOTP_DEST_MAX + 1];

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[100] = '@';
    memcpy(big + sizeof(big) - 5, ".com", 4);
    assert_int_equal(eotp_phone_normalize_dest(big, NULL, out, sizeof(out)),
                     EOTP_E_UNMAPPED);
    /* 254 characters is the longest address. */
    memset(big, 'a', 254);
    big[254] = '\0';
    big[60] = '@';
    memcpy(big + 250, ".com", 4);
    assert_int_equal(eotp_phone_normalize_dest(big, NULL, out, sizeof(out)),
                     EOTP_OK);
    big[254] = 'm';
    big[255] = '\0';
    assert_int_equal(eotp_phone_normalize_dest(big, NULL, out, sizeof(out)),
                     EOTP_E_UNMAPPED);
    assert_int_equal(eotp_phone_normalize_dest("a@b.cc", NULL, out, 10),
                     EOTP_E_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phone_table), cmocka_unit_test(test_phone_huge),
        cmocka_unit_test(test_phone_args),  cmocka_unit_test(test_dest_table),
        cmocka_unit_test(test_dest_huge),
    };

    return cmocka_run_group_tests_name("phone", tests, NULL, NULL);
}
