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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    assert_int_equal(eotp_usermap_lookup(path, "alice", &lg, &d), EOTP_OK);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.dest[0], "+6581234567");
    assert_int_equal(d.lineno, 3);
    eotp_dests_free(&d);

    assert_int_equal(eotp_usermap_lookup(path, "bob", &lg, &d), EOTP_OK);
    assert_string_equal(d.dest[0], "bob@example.com");
    eotp_dests_free(&d);

    assert_int_equal(eotp_usermap_lookup(path, "carol", &lg, &d), EOTP_OK);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.dest[1], "carol@example.org");
    eotp_dests_free(&d);

    /* Malformed lines never match and are reported with their number. */
    assert_int_equal(eotp_usermap_lookup(path, "dave", &lg, &d),
                     EOTP_E_UNMAPPED);
    assert_non_null(strstr(logbuf, "line=6"));
    assert_non_null(strstr(logbuf, "line=7"));
    assert_non_null(strstr(logbuf, "line=8"));
    assert_non_null(strstr(logbuf, "line=9"));
    assert_non_null(strstr(logbuf, "line=10"));
    assert_null(strstr(logbuf, "12345"));
    assert_int_equal(eotp_usermap_lookup(path, "frank", &lg, &d),
                     EOTP_E_UNMAPPED);
    assert_int_equal(eotp_usermap_lookup(path, "gina", &lg, &d),
                     EOTP_E_UNMAPPED);
    assert_int_equal(eotp_usermap_lookup(path, "Alice", &lg, &d),
                     EOTP_E_UNMAPPED);
    assert_int_equal(eotp_usermap_lookup(path, "ali", &lg, &d),
                     EOTP_E_UNMAPPED);
    assert_int_equal(eotp_usermap_lookup(path, "alicex", &lg, &d),
                     EOTP_E_UNMAPPED);
    assert_int_equal(eotp_usermap_lookup(path, "bob ", &lg, &d),
                     EOTP_E_UNMAPPED);
    /* Last line without a newline. */
    assert_int_equal(eotp_usermap_lookup(path, "last", &lg, &d), EOTP_OK);
    eotp_dests_free(&d);
}

static void test_check(void **state)
{
    unsigned long lines = 0;
    unsigned long bad = 0;

    (void)state;
    MAP("a:+6581234567\nb:nope\n# c\nd:d@e.fg\n");
    assert_int_equal(eotp_usermap_check(path, &lg, &lines, &bad), EOTP_OK);
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
    assert_int_equal(eotp_usermap_lookup(path, "x", &lg, &d),
                     EOTP_E_UNMAPPED);
    assert_int_equal(eotp_usermap_lookup(path, "z", &lg, &d), EOTP_OK);
    assert_int_equal(d.lineno, 2);
    eotp_dests_free(&d);

    assert_non_null(big);
    memcpy(big, "long:+6581234567", 16);
    memset(big + 16, ' ', 3000);
    memcpy(big + 3016, "\nnext:+6581234567\n", 19);
    write_map(big, strlen(big), 0644);
    assert_int_equal(eotp_usermap_lookup(path, "long", &lg, &d),
                     EOTP_E_UNMAPPED);
    assert_non_null(strstr(logbuf, "line=1"));
    assert_int_equal(eotp_usermap_lookup(path, "next", &lg, &d), EOTP_OK);
    assert_int_equal(d.lineno, 2);
    eotp_dests_free(&d);
    free(big);
}

static void test_permissions(void **state)
{
    struct eotp_dests d = {{NULL}, 0, 0};

    (void)state;
    write_map("a:+6581234567\n", 14, 0664);
    assert_int_equal(eotp_usermap_lookup(path, "a", &lg, &d), EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "lets group/other write"));
    write_map("a:+6581234567\n", 14, 0646);
    assert_int_equal(eotp_usermap_lookup(path, "a", &lg, &d), EOTP_E_CONFIG);
    write_map("a:+6581234567\n", 14, 0600);
    assert_int_equal(chown(path, 65534, 0), 0);
    assert_int_equal(eotp_usermap_lookup(path, "a", &lg, &d), EOTP_E_CONFIG);
    assert_int_equal(eotp_usermap_lookup("/nonexistent/map", "a", &lg, &d),
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
    assert_string_equal(eotp_dest_mask("junk", buf, sizeof(buf)),
                        "(invalid)");
    assert_string_equal(eotp_dest_mask("+6581234567", small, sizeof(small)),
                        "+65**");
}

static void test_sanitize(void **state)
{
    char buf[64];
    char tiny[4];

    (void)state;
    assert_string_equal(eotp_sanitize(buf, sizeof(buf), "a\x1b[31mb\r\n", false),
                        "a?[31mb??");
    assert_string_equal(eotp_sanitize(buf, sizeof(buf), "a b=c\"d'", true),
                        "a_b_c_d_");
    assert_string_equal(eotp_sanitize(buf, sizeof(buf), "caf\xc3\xa9", false),
                        "caf\xc3\xa9");
    assert_string_equal(eotp_sanitize(buf, sizeof(buf), "x\xff\xc3(", false),
                        "x?" "?(");
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
    assert_string_equal(eotp_sanitize(tiny, sizeof(tiny), "ab\xc3\xa9",
                                      false),
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
        cmocka_unit_test(test_permissions),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_sanitize),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
