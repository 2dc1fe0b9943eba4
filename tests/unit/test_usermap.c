/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_usermap.c - the user map: formats, malformed lines (reported with
 * their number, never matching), permissions, long lines, NUL bytes;
 * destination checks and masking; log sanitising.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../src/core/dest.h"
#include "../../src/core/err.h"
#include "../../src/core/log.h"
#include "../../src/core/usermap.h"

static char dir[] = "/tmp/eotp-map.XXXXXX";
static char path[256];
static char logbuf[16384];

static void capture(void *ctx, int prio, const char *line)
{
    size_t n = strlen(logbuf);

    (void)ctx;
    (void)prio;
    (void)snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", line);
}

static const struct eotp_logger lg = {capture, NULL, false};

static void write_map(const char *text, size_t len, mode_t mode)
{
    FILE *f;

    (void)unlink(path);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    logbuf[0] = '\0';
}

#define MAP(s) write_map((s), sizeof(s) - 1, 0644)

static void test_lookup(void **state)
{
    struct eotp_dests d = {{NULL}, 0, 0};

    (void)state;
    MAP("# users\n"
        "\n"
        "alice:+6581234567\n"
        "  bob : bob@example.com \r\n"
        "carol:+6581234567, carol@example.org\n"
        "dave:12345\n"
        "eve\n"
        "frank:+65 8123 4567\n"
        ":+6581234567\n"
        "gina:+6581234567,+6581234568,a@b.co,c@d.co,e@f.co\n"
        "alice:+6599999999\n"
        "last:+6580000000");
    assert_int_equal(eotp_usermap_lookup(path, "alice", NULL, &lg, &d),
                     EOTP_OK);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.dest[0], "+6581234567");
    assert_int_equal(d.lineno, 3);
    eotp_dests_free(&d);

    assert_int_equal(eotp_usermap_lookup(path, "bob", NULL, &lg, &d), EOTP_OK);
    assert_string_equal(d.dest[0], "bob@example.com");
    eotp_dests_free(&d);

    assert_int_equal(eotp_usermap_lookup(path, "carol", NULL, &lg, &d),
                     EOTP_OK);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.dest[1], "carol@example.org");
    eotp_dests_free(&d);

    /* Malformed lines are reported with their number and what is wrong;
     * a line that names the user is that user's configuration error. */
    assert_int_equal(eotp_usermap_lookup(path, "dave", NULL, &lg, &d),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "unreadable line for the user"));
    assert_non_null(strstr(logbuf, "line=6 user=dave reason=\"a phone "
                                   "number without a country code"));
    assert_non_null(strstr(logbuf, "line=7 reason=\"no ':'"));
    assert_non_null(strstr(logbuf, "line=9 reason=\"the user name"));
    assert_non_null(strstr(logbuf, "line=10 reason=\"more than 4"));
    assert_null(strstr(logbuf, "12345"));
    assert_int_equal(eotp_usermap_lookup(path, "eve", NULL, &lg, &d),
                     EOTP_E_CONFIG);
    assert_int_equal(eotp_usermap_lookup(path, "gina", NULL, &lg, &d),
                     EOTP_E_CONFIG);
    /* Spaces in a number are fine: normalised to E.164. */
    assert_int_equal(eotp_usermap_lookup(path, "frank", NULL, &lg, &d),
                     EOTP_OK);
    assert_string_equal(d.dest[0], "+6581234567");
    eotp_dests_free(&d);
    assert_int_equal(eotp_usermap_lookup(path, "Alice", NULL, &lg, &d),
                     EOTP_E_UNMAPPED);
    assert_int_equal(eotp_usermap_lookup(path, "ali", NULL, &lg, &d),
                     EOTP_E_UNMAPPED);
    assert_int_equal(eotp_usermap_lookup(path, "alicex", NULL, &lg, &d),
                     EOTP_E_UNMAPPED);
    assert_int_equal(eotp_usermap_lookup(path, "bob ", NULL, &lg, &d),
                     EOTP_E_UNMAPPED);
    /* Last line without a newline. */
    assert_int_equal(eotp_usermap_lookup(path, "last", NULL, &lg, &d),
                     EOTP_OK);
    eotp_dests_free(&d);
}

static void test_check(void **state)
{
    unsigned long lines = 0;
    unsigned long bad = 0;

    (void)state;
    MAP("a:+6581234567\nb:nope\n# c\nd:d@e.fg\n");
    assert_int_equal(eotp_usermap_check(path, NULL, &lg, &lines, &bad),
                     EOTP_OK);
    assert_int_equal(lines, 2);
    assert_int_equal(bad, 1);
}

static void test_nul_and_long_lines(void **state)
{
    static const char withnul[] = "x\0y:+6581234567\nz:+6581234567\n";
    char *big = malloc(5000);
    struct eotp_dests d = {{NULL}, 0, 0};

    (void)state;
    write_map(withnul, sizeof(withnul) - 1, 0644);
    assert_int_equal(eotp_usermap_lookup(path, "x", NULL, &lg, &d),
                     EOTP_E_CONFIG);
    assert_int_equal(eotp_usermap_lookup(path, "z", NULL, &lg, &d), EOTP_OK);
    assert_int_equal(d.lineno, 2);
    eotp_dests_free(&d);

    assert_non_null(big);
    memcpy(big, "long:+6581234567", 16);
    memset(big + 16, ' ', 3000);
    memcpy(big + 3016, "\nnext:+6581234567\n", 19);
    write_map(big, strlen(big), 0644);
    assert_int_equal(eotp_usermap_lookup(path, "long", NULL, &lg, &d),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "line=1"));
    assert_int_equal(eotp_usermap_lookup(path, "next", NULL, &lg, &d),
                     EOTP_OK);
    assert_int_equal(d.lineno, 2);
    eotp_dests_free(&d);
    free(big);
}

/* The usual ways of writing a number normalise as directory values do. */
static void test_number_forms(void **state)
{
    static const char *const forms[] = {
        "+65 9123 4567",   "+65-9123-4567",     "+65 (9123) 4567",
        "+65.9123.4567",   "tel:+65-9123-4567", "0065 9123 4567",
        "(+65) 9123 4567",
    };
    struct eotp_usermap_opts cc = {"65", NULL};
    struct eotp_dests d = {{NULL}, 0, 0};
    char line[128];

    (void)state;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        int n = snprintf(line, sizeof(line), "u:%s, u@example.com\n",
                         forms[i]);

        write_map(line, (size_t)n, 0644);
        assert_int_equal(eotp_usermap_lookup(path, "u", NULL, &lg, &d),
                         EOTP_OK);
        assert_int_equal(d.n, 2);
        assert_string_equal(d.dest[0], "+6591234567");
        assert_string_equal(d.dest[1], "u@example.com");
        eotp_dests_free(&d);
    }
    /* A national number needs default_country. */
    MAP("u:9123 4567\n");
    assert_int_equal(eotp_usermap_lookup(path, "u", NULL, &lg, &d),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "without a country code"));
    assert_non_null(strstr(logbuf, "default_country"));
    assert_int_equal(eotp_usermap_lookup(path, "u", &cc, &lg, &d), EOTP_OK);
    assert_string_equal(d.dest[0], "+6591234567");
    eotp_dests_free(&d);
    /* Still wrong: refused, and the reason says why. */
    MAP("u:+65 9123 4567 ext 9\n");
    assert_int_equal(eotp_usermap_lookup(path, "u", &cc, &lg, &d),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "not a phone number"));
    MAP("u:someone@\n");
    assert_int_equal(eotp_usermap_lookup(path, "u", &cc, &lg, &d),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "not a valid email address"));
    MAP("u:+6591234567,\n");
    assert_int_equal(eotp_usermap_lookup(path, "u", &cc, &lg, &d),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "an empty destination"));
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(hay, needle); p != NULL;
         p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* Warnings about other users' lines: once per change of the map. */
static void test_warn_once(void **state)
{
    char sdir[sizeof(dir) + 16];
    struct eotp_usermap_opts o = {NULL, sdir};
    struct eotp_dests d = {{NULL}, 0, 0};
    struct timespec ts[2];
    char cmd[600];

    (void)state;
    (void)snprintf(sdir, sizeof(sdir), "%s/state", dir);
    assert_int_equal(mkdir(sdir, 0700), 0);
    MAP("bad line\nu:+6591234567\nv:12345\n");
    assert_int_equal(eotp_usermap_lookup(path, "u", &o, &lg, &d), EOTP_OK);
    eotp_dests_free(&d);
    assert_int_equal(count(logbuf, "malformed line ignored"), 2);
    assert_non_null(strstr(logbuf, "line=3 reason="));
    /* The same file again: nothing said, and the scan stops early. */
    logbuf[0] = '\0';
    assert_int_equal(eotp_usermap_lookup(path, "u", &o, &lg, &d), EOTP_OK);
    eotp_dests_free(&d);
    assert_int_equal(eotp_usermap_lookup(path, "nobody", &o, &lg, &d),
                     EOTP_E_UNMAPPED);
    assert_string_equal(logbuf, "");
    /* The user's own bad line is an error at every login. */
    assert_int_equal(eotp_usermap_lookup(path, "v", &o, &lg, &d),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "unreadable line for the user"));
    assert_int_equal(count(logbuf, "malformed line ignored"), 0);
    /* Touched (new times), same content: still quiet. */
    logbuf[0] = '\0';
    ts[0].tv_sec = ts[1].tv_sec = 1000000000;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    assert_int_equal(eotp_usermap_lookup(path, "u", &o, &lg, &d), EOTP_OK);
    eotp_dests_free(&d);
    assert_string_equal(logbuf, "");
    /* Another default_country changes what is valid: checked again. */
    o.default_cc = "65";
    assert_int_equal(eotp_usermap_lookup(path, "u", &o, &lg, &d), EOTP_OK);
    eotp_dests_free(&d);
    assert_int_equal(count(logbuf, "malformed line ignored"), 1);
    o.default_cc = NULL;
    /* New content: the bad lines are reported once more, then not. */
    MAP("bad line\nu:+6591234567\nv:12345\nw:x\n");
    assert_int_equal(eotp_usermap_lookup(path, "u", &o, &lg, &d), EOTP_OK);
    eotp_dests_free(&d);
    assert_int_equal(count(logbuf, "malformed line ignored"), 3);
    logbuf[0] = '\0';
    assert_int_equal(eotp_usermap_lookup(path, "u", &o, &lg, &d), EOTP_OK);
    eotp_dests_free(&d);
    assert_string_equal(logbuf, "");
    /* A state_dir open to others is not trusted: warnings every time. */
    assert_int_equal(chmod(sdir, 0755), 0);
    assert_int_equal(eotp_usermap_lookup(path, "u", &o, &lg, &d), EOTP_OK);
    eotp_dests_free(&d);
    assert_int_equal(count(logbuf, "malformed line ignored"), 3);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sdir);
    assert_int_equal(system(cmd), 0);
}

static void test_permissions(void **state)
{
    struct eotp_dests d = {{NULL}, 0, 0};

    (void)state;
    write_map("a:+6581234567\n", 14, 0664);
    assert_int_equal(eotp_usermap_lookup(path, "a", NULL, &lg, &d),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "lets group/other write"));
    write_map("a:+6581234567\n", 14, 0646);
    assert_int_equal(eotp_usermap_lookup(path, "a", NULL, &lg, &d),
                     EOTP_E_CONFIG);
    write_map("a:+6581234567\n", 14, 0600);
    assert_int_equal(chown(path, 65534, 0), 0);
    assert_int_equal(eotp_usermap_lookup(path, "a", NULL, &lg, &d),
                     EOTP_E_CONFIG);
    assert_int_equal(eotp_usermap_lookup("/nonexistent/map", "a", NULL, &lg,
                                         &d),
                     EOTP_E_FILE);
}

static void test_classify(void **state)
{
    static const struct {
        const char *s;
        enum eotp_dest_kind k;
    } cases[] = {
        {"+6581234567", EOTP_DEST_PHONE},
        {"+1234567", EOTP_DEST_PHONE},
        {"+123456789012345", EOTP_DEST_PHONE},
        {"+1234567890123456", EOTP_DEST_INVALID},
        {"+123456", EOTP_DEST_INVALID},
        {"+0123456789", EOTP_DEST_INVALID},
        {"6581234567", EOTP_DEST_INVALID},
        {"+65 81234567", EOTP_DEST_INVALID},
        {"+65-8123", EOTP_DEST_INVALID},
        {"alice@example.com", EOTP_DEST_EMAIL},
        {"a.b+c@mail.example.co.uk", EOTP_DEST_EMAIL},
        {"alice@example", EOTP_DEST_INVALID},
        {"alice@@example.com", EOTP_DEST_INVALID},
        {"@example.com", EOTP_DEST_INVALID},
        {"alice@.example.com", EOTP_DEST_INVALID},
        {"alice@example..com", EOTP_DEST_INVALID},
        {"alice@example.com.", EOTP_DEST_INVALID},
        {"al ice@example.com", EOTP_DEST_INVALID},
        {"alice@exa_mple.com", EOTP_DEST_INVALID},
        {"", EOTP_DEST_INVALID},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (eotp_dest_classify(cases[i].s) != cases[i].k) {
            fail_msg("case %zu: %s", i, cases[i].s);
        }
    }
    assert_int_equal(eotp_dest_classify(NULL), EOTP_DEST_INVALID);
}

static void test_mask(void **state)
{
    char buf[EOTP_MASK_MAX];
    char small[6];

    (void)state;
    assert_string_equal(eotp_dest_mask("+6581234567", buf, sizeof(buf)),
                        "+65******67");
    assert_string_equal(eotp_dest_mask("+1234567", buf, sizeof(buf)),
                        "+12***67");
    assert_string_equal(eotp_dest_mask("alice@example.com", buf, sizeof(buf)),
                        "a***@example.com");
    assert_string_equal(eotp_dest_mask("junk", buf, sizeof(buf)), "(invalid)");
    assert_string_equal(eotp_dest_mask("+6581234567", small, sizeof(small)),
                        "+65**");
}

static void test_sanitize(void **state)
{
    char buf[64];
    char tiny[4];

    (void)state;
    assert_string_equal(eotp_sanitize(buf, sizeof(buf), "a\x1b[31mb\r\n",
                                      false),
                        "a?[31mb??");
    assert_string_equal(eotp_sanitize(buf, sizeof(buf), "a b=c\"d'", true),
                        "a_b_c_d_");
    assert_string_equal(eotp_sanitize(buf, sizeof(buf), "caf\xc3\xa9", false),
                        "caf\xc3\xa9");
    assert_string_equal(eotp_sanitize(buf, sizeof(buf), "x\xff\xc3(", false),
                        "x?"
                        "?(");
    /* Overlong encoding of '/', a surrogate, a C1 control. */
    assert_string_equal(eotp_sanitize(buf, sizeof(buf), "\xc0\xaf", false),
                        "??");
    assert_string_equal(eotp_sanitize(buf, sizeof(buf), "\xed\xa0\x80", false),
                        "???");
    assert_string_equal(eotp_sanitize(buf, sizeof(buf), "\xc2\x9b", false),
                        "??");
    assert_string_equal(eotp_sanitize(buf, sizeof(buf), NULL, false), "-");
    /* Cut on a character boundary. */
    assert_string_equal(eotp_sanitize(tiny, sizeof(tiny), "a\xc3\xa9\xc3\xa9",
                                      false),
                        "a\xc3\xa9");
    assert_string_equal(eotp_sanitize(tiny, sizeof(tiny), "ab\xc3\xa9", false),
                        "ab");
}

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    (void)snprintf(path, sizeof(path), "%s/users", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    (void)unlink(path);
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_nul_and_long_lines),
        cmocka_unit_test(test_number_forms),
        cmocka_unit_test(test_warn_once),
        cmocka_unit_test(test_permissions),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_sanitize),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
