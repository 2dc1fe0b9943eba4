/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_nonce.c - the callback receiver's replay cache
 * (src/receiver/nonce.c, compiled in here: it is not part of libeotp).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/receiver/nonce.c"

#include <stdio.h>

static void key_n(unsigned n, struct eotp_nonce_key *k)
{
    char nonce[32];

    (void)snprintf(nonce, sizeof(nonce), "n%u", n);
    eotp_nonce_key("1700000000", nonce, "user", k);
}

static void test_seen_forget_expire(void **state)
{
    struct eotp_nonce_cache *c = NULL;
    struct eotp_nonce_key a;
    struct eotp_nonce_key b;

    (void)state;
    assert_int_equal(eotp_nonce_new(64, &c), EOTP_OK);
    key_n(1, &a);
    key_n(2, &b);
    assert_memory_not_equal(&a, &b, sizeof(a));
    assert_int_equal(eotp_nonce_add(c, &a, 200, 100), EOTP_NONCE_NEW);
    assert_int_equal(eotp_nonce_add(c, &a, 200, 150), EOTP_NONCE_SEEN);
    assert_int_equal(eotp_nonce_add(c, &b, 200, 150), EOTP_NONCE_NEW);
    /* Forgotten (a 503): the same header is new again. */
    eotp_nonce_forget(c, &a, 150);
    assert_int_equal(eotp_nonce_add(c, &a, 200, 151), EOTP_NONCE_NEW);
    /* Expired: new again, in the same slot (used does not grow). */
    assert_int_equal(eotp_nonce_used(c), 2);
    assert_int_equal(eotp_nonce_add(c, &a, 400, 200), EOTP_NONCE_NEW);
    assert_int_equal(eotp_nonce_used(c), 2);
    /* The key covers every field. */
    eotp_nonce_key("1700000001", "n1", "user", &b);
    assert_memory_not_equal(&a, &b, sizeof(a));
    eotp_nonce_key("1700000000", "n1", "usex", &b);
    assert_memory_not_equal(&a, &b, sizeof(a));
    eotp_nonce_free(c);
}

/* Full of live entries: refused, never a live one forgotten; once they
 * expire, a sweep makes room. */
static void test_bounded(void **state)
{
    struct eotp_nonce_cache *c = NULL;
    struct eotp_nonce_key k;
    unsigned added = 0;

    (void)state;
    assert_int_equal(eotp_nonce_new(64, &c), EOTP_OK);
    assert_int_equal(eotp_nonce_max(c), 48);
    assert_int_equal(eotp_nonce_bytes(c), 64 * 16);
    for (unsigned i = 0; i < 100; i++) {
        key_n(i, &k);
        if (eotp_nonce_add(c, &k, 1000, 100) == EOTP_NONCE_NEW) {
            added++;
        }
    }
    assert_int_equal(added, 48);
    assert_true(eotp_nonce_used(c) <= eotp_nonce_max(c));
    /* Every one of those is still a replay. */
    for (unsigned i = 0; i < 48; i++) {
        key_n(i, &k);
        assert_int_equal(eotp_nonce_add(c, &k, 1000, 101), EOTP_NONCE_SEEN);
    }
    key_n(1000, &k);
    assert_int_equal(eotp_nonce_add(c, &k, 1000, 102), EOTP_NONCE_FULL);
    /* After they expire: room again, for ever (10 live at a time). */
    for (unsigned i = 0; i < 200; i++) {
        key_n(2000 + i, &k);
        assert_int_equal(eotp_nonce_add(c, &k, 1010 + i, 1000 + i),
                         EOTP_NONCE_NEW);
    }
    assert_true(eotp_nonce_used(c) <= eotp_nonce_max(c));
    eotp_nonce_free(c);
}

static void test_sizes(void **state)
{
    struct eotp_nonce_cache *c = NULL;

    (void)state;
    assert_int_equal(eotp_nonce_new(100, &c), EOTP_E_INTERNAL);
    assert_int_equal(eotp_nonce_new(0, &c), EOTP_OK);
    assert_int_equal(eotp_nonce_bytes(c), 16u << 20);
    assert_int_equal(eotp_nonce_max(c), EOTP_NONCE_MAX);
    eotp_nonce_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seen_forget_expire),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_sizes),
    };

    return cmocka_run_group_tests_name("nonce", tests, NULL, NULL);
}
