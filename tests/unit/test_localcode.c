/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_localcode.c - locally generated codes: alphabets, rejection
 * sampling without modulo bias, RAND_bytes codes, keyed hashes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/core/err.h"
#include "../../src/core/keyed.h"
#include "../../src/core/localcode.h"

#include <stdio.h>
#include <string.h>

/* A scripted source of random bytes. */
struct script {
    const unsigned char *bytes;
    size_t n;
    size_t pos;
    int fail_at; /* call number that fails, -1: never */
    int calls;
};

static int scripted(void *ctx, unsigned char *buf, size_t n)
{
    struct script *s = ctx;

    if (s->calls++ == s->fail_at) {
        return EOTP_E_INTERNAL;
    }
    for (size_t i = 0; i < n; i++) {
        buf[i] = s->n > 0 ? s->bytes[s->pos++ % s->n] : 0;
    }
    return EOTP_OK;
}

/* Every byte value in turn: 0, 1, ..., 255, 0, 1, ... */
static int counter(void *ctx, unsigned char *buf, size_t n)
{
    unsigned int *next = ctx;

    for (size_t i = 0; i < n; i++) {
        buf[i] = (unsigned char)((*next)++ & 0xff);
    }
    return EOTP_OK;
}

static void test_alphabets(void **state)
{
    char a[EOTP_ALPHABET_MAX + 1];

    (void)state;
    assert_int_equal(eotp_localcode_alphabet(1, a, sizeof(a)), 10);
    assert_string_equal(a, "0123456789");
    assert_int_equal(eotp_localcode_alphabet(2, a, sizeof(a)), 26);
    assert_string_equal(a, "abcdefghijklmnopqrstuvwxyz");
    assert_int_equal(eotp_localcode_alphabet(4, a, sizeof(a)), 26);
    assert_string_equal(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    assert_int_equal(eotp_localcode_alphabet(3, a, sizeof(a)), 36);
    assert_int_equal(eotp_localcode_alphabet(5, a, sizeof(a)), 36);
    assert_int_equal(eotp_localcode_alphabet(6, a, sizeof(a)), 52);
    assert_int_equal(eotp_localcode_alphabet(7, a, sizeof(a)), 62);
    assert_int_equal(eotp_localcode_alphabet(0, a, sizeof(a)), 0);
    assert_int_equal(eotp_localcode_alphabet(8, a, sizeof(a)), 0);
    assert_int_equal(eotp_localcode_alphabet(-1, a, sizeof(a)), 0);
    assert_int_equal(eotp_localcode_alphabet(7, a, 10), 0);
}

static void test_lengths(void **state)
{
    unsigned int next = 0;
    char out[16];

    (void)state;
    assert_int_equal(eotp_localcode_make(1, 0, counter, &next, out,
                                         sizeof(out)),
                     EOTP_OK);
    assert_int_equal(strlen(out), 6); /* code_length 0: 6 */
    assert_int_equal(eotp_localcode_make(7, 10, counter, &next, out,
                                         sizeof(out)),
                     EOTP_OK);
    assert_int_equal(strlen(out), 10);
    assert_int_equal(eotp_localcode_make(7, 4, counter, &next, out,
                                         sizeof(out)),
                     EOTP_OK);
    assert_int_equal(strlen(out), 4);
    /* Codes shorter than 4 are refused: too easy to guess. */
    assert_int_equal(eotp_localcode_make(7, 3, counter, &next, out,
                                         sizeof(out)),
                     EOTP_E_CONFIG);
    assert_int_equal(eotp_localcode_make(7, 11, counter, &next, out,
                                         sizeof(out)),
                     EOTP_E_CONFIG);
    assert_int_equal(eotp_localcode_make(7, -1, counter, &next, out,
                                         sizeof(out)),
                     EOTP_E_CONFIG);
    assert_int_equal(eotp_localcode_make(0, 6, counter, &next, out,
                                         sizeof(out)),
                     EOTP_E_CONFIG);
    /* The buffer must hold the code and its NUL. */
    assert_int_equal(eotp_localcode_make(1, 6, counter, &next, out, 6),
                     EOTP_E_CONFIG);
    assert_int_equal(eotp_localcode_make(1, 6, counter, &next, out, 7),
                     EOTP_OK);
}

/* Digits: 256 % 10 = 6, so bytes 250..255 are thrown away. */
static void test_rejection_digits(void **state)
{
    static const unsigned char bytes[] = {255, 250, 0,   249, 251, 9,
                                          10,  252, 253, 254, 99,  123};
    struct script s = {bytes, sizeof(bytes), 0, -1, 0};
    char out[8];

    (void)state;
    assert_int_equal(eotp_localcode_make(1, 6, scripted, &s, out, sizeof(out)),
                     EOTP_OK);
    /* 0->0, 249->9, 9->9, 10->0, 99->9, 123->3 */
    assert_string_equal(out, "099093");
}

/* 62 symbols: 256 % 62 = 8, bytes 248..255 rejected; 36: 252..255. */
static void test_rejection_limits(void **state)
{
    static const unsigned char b62[] = {248, 255, 247, 61, 62, 0};
    static const unsigned char b36[] = {252, 255, 251, 35, 36, 0};
    struct script s62 = {b62, sizeof(b62), 0, -1, 0};
    struct script s36 = {b36, sizeof(b36), 0, -1, 0};
    char out[8];

    (void)state;
    assert_int_equal(eotp_localcode_make(7, 4, scripted, &s62, out,
                                         sizeof(out)),
                     EOTP_OK);
    /* 247 % 62 = 61 -> 'Z', 61 -> 'Z', 62 -> '0', 0 -> '0' */
    assert_string_equal(out, "ZZ00");
    assert_int_equal(eotp_localcode_make(3, 4, scripted, &s36, out,
                                         sizeof(out)),
                     EOTP_OK);
    /* 251 % 36 = 35 -> 'z', 35 -> 'z', 36 -> '0', 0 -> '0' */
    assert_string_equal(out, "zz00");
}

/* All bytes rejected for a while: the generator asks for more. */
static void test_rejection_keeps_drawing(void **state)
{
    static const unsigned char bytes[] = {255};
    struct script s = {bytes, sizeof(bytes), 0, 3, 0};
    char out[8] = "xxxxxxx";

    (void)state;
    /* Only 255s, then a failing call: the error comes back, out wiped. */
    assert_int_equal(eotp_localcode_make(1, 6, scripted, &s, out, sizeof(out)),
                     EOTP_E_INTERNAL);
    assert_int_equal(s.calls, 4);
    for (size_t i = 0; i < sizeof(out); i++) {
        assert_int_equal(out[i], 0);
    }
}

/* Each call fills the whole buffer with the next byte value, 0..255
 * cyclically, so a short code uses exactly one accepted value. */
static int blockval(void *ctx, unsigned char *buf, size_t n)
{
    unsigned int *next = ctx;

    memset(buf, (int)((*next)++ & 0xff), n);
    return EOTP_OK;
}

/*
 * Fed every byte value equally often, every symbol comes out exactly
 * equally often: no modulo bias, for every alphabet.
 */
static void test_exactly_uniform(void **state)
{
    (void)state;
    for (long type = 1; type <= 7; type++) {
        char alphabet[EOTP_ALPHABET_MAX + 1];
        size_t m = eotp_localcode_alphabet(type, alphabet, sizeof(alphabet));
        size_t accepted = 256 - 256 % m; /* values used per 256 */
        unsigned long counts[128];
        unsigned int next = 0;
        const size_t cycles = 4;

        memset(counts, 0, sizeof(counts));
        for (size_t i = 0; i < cycles * accepted; i++) {
            char out[5];

            /* One block, one value: all four symbols are the same. */
            assert_int_equal(eotp_localcode_make(type, 4, blockval, &next, out,
                                                 sizeof(out)),
                             EOTP_OK);
            assert_true(out[0] == out[1] && out[0] == out[3]);
            counts[(unsigned char)out[0]]++;
        }
        /* The rejected values (accepted..255) were all drawn and thrown
         * away: exactly `cycles` full cycles less the last rejects. */
        assert_int_equal(next, cycles * 256 - (256 - accepted));
        for (size_t i = 0; i < m; i++) {
            assert_int_equal(counts[(unsigned char)alphabet[i]],
                             cycles * accepted / m);
        }
    }
}

/* A long run of codes from RAND_bytes: only alphabet symbols, and the
 * symbol counts pass a loose chi-square test. */
static void test_generate_distribution(void **state)
{
    unsigned long counts[10];
    const int ncodes = 20000;
    double chi2 = 0;
    double expect;

    (void)state;
    memset(counts, 0, sizeof(counts));
    for (int i = 0; i < ncodes; i++) {
        char out[EOTP_LOCALCODE_MAX_LEN + 1];

        assert_int_equal(eotp_localcode_generate(1, 6, out, sizeof(out)),
                         EOTP_OK);
        assert_int_equal(strlen(out), 6);
        for (const char *p = out; *p != '\0'; p++) {
            assert_true(*p >= '0' && *p <= '9');
            counts[*p - '0']++;
        }
    }
    expect = ncodes * 6 / 10.0;
    for (int d = 0; d < 10; d++) {
        chi2 += (counts[d] - expect) * (counts[d] - expect) / expect;
    }
    /* 9 degrees of freedom: p < 1e-6 beyond ~ 45. */
    assert_true(chi2 < 45.0);
}

static void test_generate_alphanumeric(void **state)
{
    char out[EOTP_LOCALCODE_MAX_LEN + 1];
    char prev[EOTP_LOCALCODE_MAX_LEN + 1] = "";
    int same = 0;

    (void)state;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(eotp_localcode_generate(7, 10, out, sizeof(out)),
                         EOTP_OK);
        for (const char *p = out; *p != '\0'; p++) {
            assert_true((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                        (*p >= 'A' && *p <= 'Z'));
        }
        same += strcmp(out, prev) == 0;
        memcpy(prev, out, sizeof(prev));
    }
    assert_int_equal(same, 0);
}

static void test_random_hex(void **state)
{
    char a[17];
    char b[17];

    (void)state;
    assert_int_equal(eotp_localcode_random_hex(8, a, sizeof(a)), EOTP_OK);
    assert_int_equal(eotp_localcode_random_hex(8, b, sizeof(b)), EOTP_OK);
    assert_int_equal(strlen(a), 16);
    assert_int_equal(strspn(a, "0123456789abcdef"), 16);
    assert_true(strcmp(a, b) != 0);
    assert_int_equal(eotp_localcode_random_hex(8, a, 16), EOTP_E_INTERNAL);
}

static void test_mac(void **state)
{
    unsigned char key[EOTP_KEYED_KEY_LEN];
    unsigned char key2[EOTP_KEYED_KEY_LEN];
    char h[EOTP_KEYED_HEX];
    char h2[EOTP_KEYED_HEX];

    (void)state;
    memset(key, 7, sizeof(key));
    memset(key2, 8, sizeof(key2));
    assert_int_equal(eotp_localcode_mac(key, "alice", "00ff", "123456", h),
                     EOTP_OK);
    assert_int_equal(strlen(h), 64);
    assert_int_equal(strspn(h, "0123456789abcdef"), 64);
    assert_int_equal(eotp_localcode_mac(key, "alice", "00ff", "123456", h2),
                     EOTP_OK);
    assert_string_equal(h, h2);
    assert_int_equal(eotp_localcode_mac(key, "alice", "00ff", "123457", h2),
                     EOTP_OK);
    assert_string_not_equal(h, h2);
    assert_int_equal(eotp_localcode_mac(key, "bob", "00ff", "123456", h2),
                     EOTP_OK);
    assert_string_not_equal(h, h2);
    assert_int_equal(eotp_localcode_mac(key, "alice", "00fe", "123456", h2),
                     EOTP_OK);
    assert_string_not_equal(h, h2);
    assert_int_equal(eotp_localcode_mac(key2, "alice", "00ff", "123456", h2),
                     EOTP_OK);
    assert_string_not_equal(h, h2);
}

/* Parts are separated: ("ab", "c") and ("a", "bc") differ. */
static void test_keyed_parts(void **state)
{
    unsigned char key[EOTP_KEYED_KEY_LEN];
    const char *p1[] = {"ab", "c"};
    const char *p2[] = {"a", "bc"};
    char h1[EOTP_KEYED_HEX];
    char h2[EOTP_KEYED_HEX];
    static char big[EOTP_KEYED_MSG_MAX + 2];
    const char *p3[] = {big};

    (void)state;
    memset(key, 1, sizeof(key));
    assert_int_equal(eotp_keyed_hash(key, p1, 2, h1), EOTP_OK);
    assert_int_equal(eotp_keyed_hash(key, p2, 2, h2), EOTP_OK);
    assert_string_not_equal(h1, h2);
    memset(big, 'x', sizeof(big) - 1);
    assert_int_equal(eotp_keyed_hash(key, p3, 1, h1), EOTP_E_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alphabets),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_rejection_digits),
        cmocka_unit_test(test_rejection_limits),
        cmocka_unit_test(test_rejection_keeps_drawing),
        cmocka_unit_test(test_exactly_uniform),
        cmocka_unit_test(test_generate_distribution),
        cmocka_unit_test(test_generate_alphanumeric),
        cmocka_unit_test(test_random_hex),
        cmocka_unit_test(test_mac),
        cmocka_unit_test(test_keyed_parts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
