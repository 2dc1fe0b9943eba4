/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fakepw.so - LD_PRELOAD for the benchmarks and tests: getpwnam_r() knows
 * the users "eotpbench0" ... "eotpbench99999" (uid 70000 + N, home
 * /nonexistent) without touching /etc/passwd, so that 100 concurrent
 * logins can use 100 different users (one state record and one mock 3004
 * slot each).  Like a directory that ignores case (SSSD, winbind), it
 * also finds "EOTPBench7" and answers with the account's own name,
 * "eotpbench7".  Every other name goes to the real getpwnam_r().
 */
#include <dlfcn.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef int (*getpwnam_r_fn)(const char *, struct passwd *, char *, size_t,
                             struct passwd **);
int getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
               struct passwd **res);

#define PREFIX "eotpbench"

static int fake(const char *name, struct passwd *pw, char *buf, size_t len,
                struct passwd **res)
{
    static const char home[] = "/nonexistent";
    static const char shell[] = "/usr/sbin/nologin";
    const char *digits = name + strlen(PREFIX);
    size_t nlen = strlen(name);
    long n = 0;

    if (*digits == '\0' || strlen(digits) > 5) {
        return -1;
    }
    for (const char *p = digits; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        n = n * 10 + (*p - '0');
    }
    if (len < nlen + 1 + 2 + sizeof(home) + sizeof(shell)) {
        *res = NULL;
        return ERANGE;
    }
    memset(pw, 0, sizeof(*pw));
    memcpy(buf, PREFIX, strlen(PREFIX));
    memcpy(buf + strlen(PREFIX), digits, strlen(digits) + 1);
    pw->pw_name = buf;
    buf += nlen + 1;
    memcpy(buf, "x", 2);
    pw->pw_passwd = buf;
    pw->pw_gecos = buf;
    buf += 2;
    memcpy(buf, home, sizeof(home));
    pw->pw_dir = buf;
    buf += sizeof(home);
    memcpy(buf, shell, sizeof(shell));
    pw->pw_shell = buf;
    pw->pw_uid = (uid_t)(70000 + n);
    pw->pw_gid = (gid_t)65534;
    *res = pw;
    return 0;
}

int getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
               struct passwd **res)
{
    static getpwnam_r_fn real;

    if (strncasecmp(name, PREFIX, strlen(PREFIX)) == 0) {
        int r = fake(name, pw, buf, len, res);

        if (r >= 0) {
            return r;
        }
    }
    if (real == NULL) {
        real = (getpwnam_r_fn)dlsym(RTLD_NEXT, "getpwnam_r");
        if (real == NULL) {
            *res = NULL;
            return ENOSYS;
        }
    }
    return real(name, pw, buf, len, res);
}
