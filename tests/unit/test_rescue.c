/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rescue.c - rescue codes: the code's form and its input shapes,
 * yescrypt hashes, the rescue file's lines (parse, format, find) and the
 * atomic update and in-place used mark on a file in a temp directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/core/err.h"
#include "../../src/core/rescue.h"
#include "../../src/core/secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const HASH = "$y$j9T$ah/ZNt0fTW4ljLHz2HPij/$Bwatdv.y4yE/"
                                "P6r76wJAvOBDwBl7qIux5Y1AYvikcX4";

static void test_generate(void **state)
{
    char seen[64][EOTP_RESCUE_CODE_LEN + 1];
    char small[EOTP_RESCUE_CODE_LEN];

    (void)state;
    assert_int_equal(eotp_rescue_generate(small, sizeof(small)),
                     EOTP_E_INTERNAL);
    for (size_t i = 0; i < 64; i++) {
        char canon[EOTP_RESCUE_SYMBOLS + 1];

        assert_int_equal(eotp_rescue_generate(seen[i], sizeof(seen[i])),
                         EOTP_OK);
        assert_int_equal(strlen(seen[i]), EOTP_RESCUE_CODE_LEN);
        assert_true(seen[i][4] == '-' && seen[i][9] == '-');
        assert_null(strpbrk(seen[i], "ILOUabcdefghijklmnopqrstuvwxyz"));
        assert_true(eotp_rescue_shaped(seen[i], canon, sizeof(canon)));
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(seen[i], seen[j]);
        }
    }
}

static void test_shapes(void **state)
{
    char c[EOTP_RESCUE_SYMBOLS + 1];

    (void)state;
    assert_true(eotp_rescue_shaped("7QXN-6KGW-T7T7", c, sizeof(c)));
    assert_string_equal(c, "7QXN6KGWT7T7");
    assert_true(eotp_rescue_shaped("7qxn6kgwt7t7", c, sizeof(c)));
    assert_string_equal(c, "7QXN6KGWT7T7");
    assert_true(eotp_rescue_shaped(" 7qxn 6kgw-t7t7 ", c, sizeof(c)));
    assert_string_equal(c, "7QXN6KGWT7T7");
    /* O reads as 0, I and L as 1. */
    assert_true(eotp_rescue_shaped("oOiI-lL00-1111", c, sizeof(c)));
    assert_string_equal(c, "001111001111");
    /* Never an OTP (at most 10 characters), nothing else. */
    assert_false(eotp_rescue_shaped("123456", c, sizeof(c)));
    assert_false(eotp_rescue_shaped("1234567890", c, sizeof(c)));
    assert_false(eotp_rescue_shaped("7QXN-6KGW-T7T", c, sizeof(c)));
    assert_false(eotp_rescue_shaped("7QXN-6KGW-T7T7A", c, sizeof(c)));
    assert_false(eotp_rescue_shaped("7QXN-6KGW-T7TU", c, sizeof(c)));
    assert_false(eotp_rescue_shaped("7QXN_6KGW_T7T7", c, sizeof(c)));
    assert_false(eotp_rescue_shaped("", c, sizeof(c)));
    assert_false(eotp_rescue_shaped("------------", c, sizeof(c)));
    assert_false(eotp_rescue_shaped(NULL, c, sizeof(c)));
    assert_false(eotp_rescue_shaped("7QXN-6KGW-T7T7", c, 12));
}

static void test_hash(void **state)
{
    char h[EOTP_RESCUE_HASH_MAX];
    char h2[EOTP_RESCUE_HASH_MAX];

    (void)state;
    assert_int_equal(eotp_rescue_hash("7QXN6KGWT7T7", h), EOTP_OK);
    assert_int_equal(eotp_rescue_hash("7QXN6KGWT7T7", h2), EOTP_OK);
    assert_memory_equal(h, "$y$", 3);
    assert_string_not_equal(h, h2); /* salted */
    assert_true(eotp_rescue_match("7QXN6KGWT7T7", h));
    assert_true(eotp_rescue_match("7QXN6KGWT7T7", h2));
    assert_false(eotp_rescue_match("7QXN6KGWT7T8", h));
    h[0] = '!'; /* a used mark does not change what it matches */
    assert_true(eotp_rescue_match("7QXN6KGWT7T7", h));
    assert_false(eotp_rescue_match("7QXN6KGWT7T7", ""));
    assert_false(eotp_rescue_match("7QXN6KGWT7T7", "$y$garbage"));
    assert_false(eotp_rescue_match("7QXN6KGWT7T7", "*0"));
}

static void parse_ok(const char *line)
{
    struct eotp_rescue_set *set = malloc(sizeof(*set));

    assert_non_null(set);
    assert_int_equal(eotp_rescue_parse_line(line, strlen(line), set), EOTP_OK);
    free(set);
}

static void parse_bad(const char *line)
{
    struct eotp_rescue_set *set = malloc(sizeof(*set));

    assert_non_null(set);
    assert_int_equal(eotp_rescue_parse_line(line, strlen(line), set),
                     EOTP_E_CONFIG);
    free(set);
}

static void test_lines(void **state)
{
    struct eotp_rescue_set *set = calloc(1, sizeof(*set));
    char line[EOTP_RESCUE_LINE_MAX + 2];
    char buf[512];

    (void)state;
    assert_non_null(set);
    (void)snprintf(buf, sizeof(buf), "alice 1796000000 %s !%s", HASH,
                   HASH + 1);
    assert_int_equal(eotp_rescue_parse_line(buf, strlen(buf), set), EOTP_OK);
    assert_string_equal(set->user, "alice");
    assert_int_equal(set->issued, 1796000000LL);
    assert_int_equal(set->n, 2);
    assert_string_equal(set->hash[0], HASH);
    assert_int_equal(set->hash[1][0], '!');
    assert_int_equal(eotp_rescue_format_line(set, line, sizeof(line)),
                     EOTP_OK);
    assert_int_equal(strlen(line), strlen(buf) + 1);
    assert_memory_equal(line, buf, strlen(buf));
    assert_int_equal(line[strlen(buf)], '\n');
    assert_int_equal(eotp_rescue_format_line(set, line, 20), EOTP_E_INTERNAL);

    (void)snprintf(buf, sizeof(buf), "a 0 %s", HASH);
    parse_ok(buf);
    parse_bad("");
    parse_bad("alice");
    parse_bad("alice 1796000000");
    parse_bad("alice 1796000000 ");
    (void)snprintf(buf, sizeof(buf), "alice  1796000000 %s", HASH);
    parse_bad(buf); /* two spaces */
    (void)snprintf(buf, sizeof(buf), "alice 1796000000 %s ", HASH);
    parse_bad(buf);
    (void)snprintf(buf, sizeof(buf), "alice -1 %s", HASH);
    parse_bad(buf);
    (void)snprintf(buf, sizeof(buf), "alice 01 %s", HASH);
    parse_bad(buf);
    (void)snprintf(buf, sizeof(buf), "alice 1234567890123 %s", HASH);
    parse_bad(buf);
    (void)snprintf(buf, sizeof(buf), "al:ce 1 %s", HASH);
    parse_bad(buf);
    (void)snprintf(buf, sizeof(buf), "alice 1 %s\t", HASH);
    parse_bad(buf);
    parse_bad("alice 1 $6$salt$hash");   /* only yescrypt */
    parse_bad("alice 1 7QXN-6KGW-T7T7"); /* a code in clear */
    parse_bad("alice 1 $y$j9T$a$b;rm");  /* odd characters */
    parse_bad("alice 1 #y$j9T$a$b");
    /* At most EOTP_RESCUE_MAX hashes. */
    memset(set, 0, sizeof(*set));
    (void)snprintf(set->user, sizeof(set->user), "bob");
    for (size_t i = 0; i < EOTP_RESCUE_MAX; i++) {
        (void)snprintf(set->hash[i], EOTP_RESCUE_HASH_MAX, "%s", HASH);
    }
    set->n = EOTP_RESCUE_MAX;
    assert_int_equal(eotp_rescue_format_line(set, line, sizeof(line)),
                     EOTP_OK);
    parse_ok((line[strlen(line) - 1] = '\0', line));
    {
        size_t n = strlen(line);

        (void)snprintf(line + n, sizeof(line) - n, " %s", HASH);
        parse_bad(line);
    }
    free(set);
}

static void test_find(void **state)
{
    struct eotp_rescue_set *set = calloc(1, sizeof(*set));
    char text[1024];
    char why[128];
    bool found = true;

    (void)state;
    assert_non_null(set);
    (void)snprintf(text, sizeof(text),
                   "# rescue codes\n\nalice 1 %s\nbob 2 %s %s\n", HASH, HASH,
                   HASH);
    assert_int_equal(eotp_rescue_find(text, strlen(text), "bob", set, &found,
                                      why, sizeof(why)),
                     EOTP_OK);
    assert_true(found);
    assert_int_equal(set->issued, 2);
    assert_int_equal(set->n, 2);
    assert_int_equal(eotp_rescue_find(text, strlen(text), "carol", set, &found,
                                      why, sizeof(why)),
                     EOTP_OK);
    assert_false(found);
    /* No final newline is fine. */
    assert_int_equal(eotp_rescue_find(text, strlen(text) - 1, "bob", set,
                                      &found, why, sizeof(why)),
                     EOTP_OK);
    assert_true(found);
    /* A second line for a user, a bad line anywhere, a NUL: unusable. */
    (void)snprintf(text, sizeof(text), "bob 1 %s\nbob 2 %s\n", HASH, HASH);
    assert_int_equal(eotp_rescue_find(text, strlen(text), "bob", set, &found,
                                      why, sizeof(why)),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(why, "line 2"));
    (void)snprintf(text, sizeof(text), "bob 1 %s\nwhat\n", HASH);
    assert_int_equal(eotp_rescue_find(text, strlen(text), "bob", set, &found,
                                      why, sizeof(why)),
                     EOTP_E_CONFIG);
    (void)snprintf(text, sizeof(text), "bob 1 %s\n", HASH);
    text[3] = '\0';
    assert_int_equal(eotp_rescue_find(text, 10, "bob", set, &found, why,
                                      sizeof(why)),
                     EOTP_E_CONFIG);
    free(set);
}

static void read_text(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    (void)fclose(f);
}

/* Update and mark on a real file (as root: the file must be root's). */
/* doctor's view of a whole file. */
static void test_survey(void **state)
{
    struct eotp_rescue_survey sv;
    char text[2048];
    char used[EOTP_RESCUE_HASH_MAX];
    char why[128];
    const long long now = 100000000;
    const long long soon = 30L * 86400;

    (void)state;
    (void)snprintf(used, sizeof(used), "%s", HASH);
    used[0] = '!';
    (void)snprintf(text, sizeof(text),
                   "# header\n"
                   "alice %lld %s\n"  /* fine */
                   "bob %lld %s\n"    /* expired */
                   "carol %lld %s\n"  /* 10 days left */
                   "dave %lld %s %s\n" /* every code used */
                   "erin %lld %s %s\n", /* one of two used */
                   now - 86400, HASH, now - EOTP_RESCUE_LIFE - 1, HASH,
                   now - EOTP_RESCUE_LIFE + 10L * 86400, HASH, now, used,
                   used, now, used, HASH);
    assert_int_equal(eotp_rescue_survey(text, strlen(text), now, soon, &sv,
                                        why, sizeof(why)),
                     EOTP_OK);
    assert_int_equal(sv.users, 5);
    assert_int_equal(sv.expired, 1);
    assert_string_equal(sv.first_expired, "bob");
    assert_int_equal(sv.expiring, 1);
    assert_string_equal(sv.first_expiring, "carol");
    assert_int_equal(sv.spent, 1);
    assert_string_equal(sv.first_spent, "dave");
    /* A set dated far ahead (a broken clock) counts as expired. */
    (void)snprintf(text, sizeof(text), "frank %lld %s\n", now + 3 * 86400,
                   HASH);
    assert_int_equal(eotp_rescue_survey(text, strlen(text), now, soon, &sv,
                                        why, sizeof(why)),
                     EOTP_OK);
    assert_int_equal(sv.expired, 1);
    /* A bad line: the file is unusable, the line named, nothing counted. */
    (void)snprintf(text, sizeof(text), "alice 1 %s\nnot a line\n", HASH);
    assert_int_equal(eotp_rescue_survey(text, strlen(text), now, soon, &sv,
                                        why, sizeof(why)),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(why, "line 2"));
    assert_int_equal(sv.users, 0);
}

static void test_update_mark(void **state)
{
    struct eotp_rescue_set *set = NULL;
    char dir[] = "/tmp/eotp-rescue-XXXXXX";
    char path[128];
    char lock[160];
    char text[4096];
    char why[256];
    bool existed = true;
    struct stat st;

    (void)state;
    if (geteuid() != 0) {
        skip(); /* the file must be root's */
        return;
    }
    set = calloc(1, sizeof(*set));
    assert_non_null(set);
    assert_non_null(mkdtemp(dir));
    (void)snprintf(path, sizeof(path), "%s/rescue", dir);
    (void)snprintf(lock, sizeof(lock), "%s.lock", path);
    (void)snprintf(set->user, sizeof(set->user), "alice");
    set->issued = 5;
    set->n = 2;
    (void)snprintf(set->hash[0], EOTP_RESCUE_HASH_MAX, "%s", HASH);
    (void)snprintf(set->hash[1], EOTP_RESCUE_HASH_MAX, "$y$j9T$x$yz");
    assert_int_equal(eotp_rescue_update(path, "alice", set, &existed, why,
                                        sizeof(why)),
                     EOTP_OK);
    assert_false(existed);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    (void)snprintf(set->user, sizeof(set->user), "bob");
    set->issued = 6;
    assert_int_equal(eotp_rescue_update(path, "bob", set, &existed, why,
                                        sizeof(why)),
                     EOTP_OK);
    /* Mark alice's second hash: one byte, in place, same inode. */
    {
        struct stat before;
        char want[512];

        assert_int_equal(stat(path, &before), 0);
        assert_int_equal(eotp_rescue_mark_file(path, "alice", "$y$j9T$x$yz",
                                               why, sizeof(why)),
                         EOTP_OK);
        /* Again, and a hash that is not there: nothing changes. */
        assert_int_equal(eotp_rescue_mark_file(path, "alice", "$y$j9T$x$yz",
                                               why, sizeof(why)),
                         EOTP_OK);
        assert_int_equal(eotp_rescue_mark_file(path, "alice", "$y$j9T$x$y",
                                               why, sizeof(why)),
                         EOTP_OK);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_ino, before.st_ino);
        read_text(path, text, sizeof(text));
        (void)snprintf(want, sizeof(want),
                       "alice 5 %s !y$j9T$x$yz\nbob 6 %s $y$j9T$x$yz\n", HASH,
                       HASH);
        assert_string_equal(text, want);
    }
    /* Replace alice's line: bob's stays as it was, alice's goes last. */
    (void)snprintf(set->user, sizeof(set->user), "alice");
    set->issued = 7;
    set->n = 1;
    assert_int_equal(eotp_rescue_update(path, "alice", set, &existed, why,
                                        sizeof(why)),
                     EOTP_OK);
    assert_true(existed);
    read_text(path, text, sizeof(text));
    assert_memory_equal(text, "bob 6 ", 6);
    assert_non_null(strstr(text, "\nalice 7 "));
    /* Revoke. */
    assert_int_equal(eotp_rescue_update(path, "alice", NULL, &existed, why,
                                        sizeof(why)),
                     EOTP_OK);
    assert_true(existed);
    assert_int_equal(eotp_rescue_update(path, "alice", NULL, &existed, why,
                                        sizeof(why)),
                     EOTP_OK);
    assert_false(existed);
    read_text(path, text, sizeof(text));
    assert_null(strstr(text, "alice"));
    /* An untrusted file is neither read nor rewritten. */
    assert_int_equal(chmod(path, 0644), 0);
    {
        bool found = false;

        assert_int_equal(eotp_rescue_load(path, "bob", set, &found, why,
                                          sizeof(why)),
                         EOTP_E_CONFIG);
        assert_false(found);
        assert_int_equal(eotp_rescue_update(path, "bob", NULL, &existed, why,
                                            sizeof(why)),
                         EOTP_E_CONFIG);
        assert_int_equal(chmod(path, 0600), 0);
        assert_int_equal(eotp_rescue_load(path, "bob", set, &found, why,
                                          sizeof(why)),
                         EOTP_OK);
        assert_true(found);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(eotp_rescue_load(path, "bob", set, &found, why,
                                          sizeof(why)),
                         EOTP_OK);
        assert_false(found);
    }
    (void)unlink(lock);
    assert_int_equal(rmdir(dir), 0);
    free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate), cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_hash),     cmocka_unit_test(test_lines),
        cmocka_unit_test(test_find),     cmocka_unit_test(test_update_mark),
        cmocka_unit_test(test_survey),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
