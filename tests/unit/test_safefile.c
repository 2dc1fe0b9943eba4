/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_safefile.c - trusted files: the file itself (type, owner, mode,
 * size, symlink) and every directory on the way to it (owner, mode,
 * sticky bit, symbolic links followed or refused), with the reason given.
 * Runs as root (files must be root-owned to be trusted).
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
#include <unistd.h>

#include "../../src/core/err.h"
#include "../../src/core/safefile.h"

#define NOBODY 65534

static char dir[] = "/tmp/eotp-safefile.XXXXXX";

static const char *at(const char *name)
{
    static char p[4][512];
    static int i;

    i = (i + 1) % 4;
    (void)snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
    return p[i];
}

static void put(const char *name, const char *text, mode_t mode)
{
    const char *p = at(name);
    FILE *f;

    (void)unlink(p);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(p, mode), 0);
}

static void mkdir_mode(const char *name, mode_t mode)
{
    assert_int_equal(mkdir(at(name), 0700), 0);
    assert_int_equal(chmod(at(name), mode), 0);
}

/* Check path; returns the reason and asserts the return code matches. */
static enum eotp_sf_reason check(const char *path, enum eotp_sf_policy pol,
                                 size_t max, char *why, size_t whylen)
{
    enum eotp_sf_reason reason = EOTP_SF_IO;
    int r = eotp_safefile_check(path, pol, max, &reason, why, whylen);

    if (reason == EOTP_SF_OK) {
        assert_int_equal(r, EOTP_OK);
    } else if (reason == EOTP_SF_UNREADABLE || reason == EOTP_SF_IO) {
        assert_int_equal(r, EOTP_E_FILE);
    } else {
        assert_int_equal(r, EOTP_E_CONFIG);
    }
    return reason;
}

static enum eotp_sf_reason pub(const char *path)
{
    char why[200];

    return check(path, EOTP_SF_PUBLIC, 4096, why, sizeof(why));
}

static void test_file_itself(void **state)
{
    char why[200];

    (void)state;
    put("good", "x\n", 0644);
    assert_int_equal(pub(at("good")), EOTP_SF_OK);
    put("open", "x\n", 0666);
    assert_int_equal(check(at("open"), EOTP_SF_PUBLIC, 4096, why,
                           sizeof(why)),
                     EOTP_SF_MODE);
    assert_non_null(strstr(why, "mode 0666 lets group/other write"));
    assert_int_equal(check(at("good"), EOTP_SF_SECRET, 4096, why,
                           sizeof(why)),
                     EOTP_SF_MODE);
    put("theirs", "x\n", 0644);
    assert_int_equal(chown(at("theirs"), NOBODY, NOBODY), 0);
    assert_int_equal(pub(at("theirs")), EOTP_SF_OWNER);
    put("big", "0123456789", 0644);
    assert_int_equal(check(at("big"), EOTP_SF_PUBLIC, 9, why, sizeof(why)),
                     EOTP_SF_TOO_BIG);
    assert_int_equal(pub(at("missing")), EOTP_SF_UNREADABLE);
    assert_int_equal(pub(dir), EOTP_SF_NOT_REGULAR);
    assert_int_equal(pub(at("")), EOTP_SF_NOT_REGULAR);
    assert_int_equal(symlink(at("good"), at("link")), 0);
    assert_int_equal(pub(at("link")), EOTP_SF_SYMLINK);
    /* why and reason may be NULL. */
    assert_int_equal(eotp_safefile_check(at("open"), EOTP_SF_PUBLIC, 4096,
                                         NULL, NULL, 0),
                     EOTP_E_CONFIG);
}

static void test_fifo_does_not_block(void **state)
{
    char why[200];

    (void)state;
    assert_int_equal(mkfifo(at("fifo"), 0644), 0);
    /* An open(2) that waited for a writer would hang: SIGALRM ends it. */
    (void)alarm(30);
    assert_int_equal(check(at("fifo"), EOTP_SF_PUBLIC, 4096, why,
                           sizeof(why)),
                     EOTP_SF_NOT_REGULAR);
    (void)alarm(0);
    assert_string_equal(why, "not a regular file (a FIFO)");
}

static void test_directories(void **state)
{
    char why[200];

    (void)state;
    mkdir_mode("d", 0755);
    put("d/f", "x\n", 0644);
    assert_int_equal(pub(at("d/f")), EOTP_SF_OK);
    assert_int_equal(chmod(at("d"), 0775), 0);
    assert_int_equal(check(at("d/f"), EOTP_SF_PUBLIC, 4096, why,
                           sizeof(why)),
                     EOTP_SF_PARENT);
    assert_non_null(strstr(why, "/d: mode 0775 lets group/other write"));
    assert_int_equal(chmod(at("d"), 0757), 0);
    assert_int_equal(pub(at("d/f")), EOTP_SF_PARENT);
    /* Sticky: others may add names but not touch root's. */
    assert_int_equal(chmod(at("d"), 01777), 0);
    assert_int_equal(pub(at("d/f")), EOTP_SF_OK);
    assert_int_equal(chmod(at("d"), 0755), 0);
    assert_int_equal(chown(at("d"), NOBODY, 0), 0);
    assert_int_equal(check(at("d/f"), EOTP_SF_PUBLIC, 4096, why,
                           sizeof(why)),
                     EOTP_SF_PARENT);
    assert_non_null(strstr(why, "is owned by uid 65534, not root"));
    assert_int_equal(chown(at("d"), 0, 0), 0);
    /* A file where a directory should be. */
    assert_int_equal(pub(at("d/f/g")), EOTP_SF_UNREADABLE);
    /* ".." and "." are walked like any name. */
    mkdir_mode("d/sub", 0755);
    assert_int_equal(pub(at("d/sub/../f")), EOTP_SF_OK);
    assert_int_equal(pub(at("d/./sub/.././/f")), EOTP_SF_OK);
    assert_int_equal(chmod(at("d/sub"), 0777), 0);
    assert_int_equal(pub(at("d/sub/../f")), EOTP_SF_PARENT);
    assert_int_equal(chmod(at("d/sub"), 0755), 0);
}

static void test_links_on_the_way(void **state)
{
    char why[200];

    (void)state;
    mkdir_mode("real", 0755);
    put("real/f", "x\n", 0644);
    assert_int_equal(symlink(at("real"), at("abs")), 0);
    assert_int_equal(symlink("real", at("rel")), 0);
    assert_int_equal(symlink("rel", at("chain")), 0);
    assert_int_equal(pub(at("abs/f")), EOTP_SF_OK);
    assert_int_equal(pub(at("rel/f")), EOTP_SF_OK);
    assert_int_equal(pub(at("chain/f")), EOTP_SF_OK);
    /* The directory a link leads to is checked too. */
    assert_int_equal(chmod(at("real"), 0777), 0);
    assert_int_equal(pub(at("abs/f")), EOTP_SF_PARENT);
    assert_int_equal(chmod(at("real"), 0755), 0);
    /* Dangling and looping links. */
    assert_int_equal(symlink("nowhere", at("dangling")), 0);
    assert_int_equal(pub(at("dangling/f")), EOTP_SF_UNREADABLE);
    assert_int_equal(symlink("loop2", at("loop1")), 0);
    assert_int_equal(symlink("loop1", at("loop2")), 0);
    assert_int_equal(pub(at("loop1/f")), EOTP_SF_UNREADABLE);
    /* In a sticky directory a link must be root's. */
    mkdir_mode("tmp", 01777);
    assert_int_equal(symlink(at("real"), at("tmp/mine")), 0);
    assert_int_equal(pub(at("tmp/mine/f")), EOTP_SF_OK);
    assert_int_equal(symlink(at("real"), at("tmp/theirs")), 0);
    assert_int_equal(lchown(at("tmp/theirs"), NOBODY, NOBODY), 0);
    assert_int_equal(check(at("tmp/theirs/f"), EOTP_SF_PUBLIC, 4096, why,
                           sizeof(why)),
                     EOTP_SF_PARENT);
    assert_non_null(strstr(why, "symbolic link theirs in directory"));
}

static void test_relative_path(void **state)
{
    char cwd[512];

    (void)state;
    put("rp", "x\n", 0644);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(pub("rp"), EOTP_SF_OK);
    assert_int_equal(pub("./rp"), EOTP_SF_OK);
    assert_int_equal(chdir(cwd), 0);
}

static void test_open_and_read(void **state)
{
    char why[200];
    char *buf = NULL;
    size_t len = 0;
    int fd = -1;

    (void)state;
    put("secret", "s3cret\n", 0600);
    assert_int_equal(eotp_safefile_read(at("secret"), EOTP_SF_SECRET, 64,
                                        &buf, &len, why, sizeof(why)),
                     EOTP_OK);
    assert_int_equal(len, 7);
    assert_string_equal(buf, "s3cret\n");
    free(buf);
    assert_int_equal(eotp_safefile_open(at("secret"), EOTP_SF_SECRET, 64, &fd,
                                        why, sizeof(why)),
                     EOTP_OK);
    assert_true(fd >= 0);
    assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    close(fd);
}

/* One line of a password file: one trailing newline dropped, else refused. */
static void test_secret_line(void **state)
{
    (void)state;
    assert_int_equal(eotp_secret_line_len("pw", 2), 2);
    assert_int_equal(eotp_secret_line_len("pw\n", 3), 2);
    assert_int_equal(eotp_secret_line_len("pw\r\n", 4), 2);
    assert_int_equal(eotp_secret_line_len("", 0), 0);
    assert_int_equal(eotp_secret_line_len("\n", 1), 0);
    assert_int_equal(eotp_secret_line_len("pw\n\n", 4), 0);
    assert_int_equal(eotp_secret_line_len("p\nw", 3), 0);
    assert_int_equal(eotp_secret_line_len("p\0w", 3), 0);
}

static void test_reason_names(void **state)
{
    (void)state;
    assert_string_equal(eotp_sf_reason_name(EOTP_SF_OK), "ok");
    assert_string_equal(eotp_sf_reason_name(EOTP_SF_SYMLINK), "symlink");
    assert_string_equal(eotp_sf_reason_name(EOTP_SF_PARENT), "parent");
    assert_string_equal(eotp_sf_reason_name(EOTP_SF_MODE), "mode");
    assert_string_equal(eotp_sf_reason_name((enum eotp_sf_reason)99),
                        "unknown");
}

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    return chmod(dir, 0755);
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_itself),
        cmocka_unit_test(test_fifo_does_not_block),
        cmocka_unit_test(test_directories),
        cmocka_unit_test(test_links_on_the_way),
        cmocka_unit_test(test_relative_path),
        cmocka_unit_test(test_open_and_read),
        cmocka_unit_test(test_secret_line),
        cmocka_unit_test(test_reason_names),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
