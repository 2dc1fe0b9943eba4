/* SPDX-License-Identifier: Apache-2.0 */
/*
 * safefile.c - trusted file access.
 */
#include "safefile.h"

#include "err.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *file_type(mode_t mode)
{
    if (S_ISFIFO(mode)) {
        return "a FIFO";
    }
    if (S_ISDIR(mode)) {
        return "a directory";
    }
    if (S_ISSOCK(mode)) {
        return "a socket";
    }
    if (S_ISCHR(mode) || S_ISBLK(mode)) {
        return "a device";
    }
    return "not a plain file";
}

/* Record why a file was refused; returns err. */
static int refuse(enum eotp_sf_reason *reason, enum eotp_sf_reason what,
                  int err, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int refuse(enum eotp_sf_reason *reason, enum eotp_sf_reason what,
                  int err, char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    *reason = what;
    va_start(ap, fmt);
    (void)vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return err;
}

static int check(int fd, enum eotp_sf_policy policy, size_t max_size,
                 enum eotp_sf_reason *reason, char *why, size_t whylen)
{
    struct stat st;

    if (fstat(fd, &st) != 0) {
        return refuse(reason, EOTP_SF_IO, EOTP_E_FILE, why, whylen,
                      "cannot stat: %s", strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return refuse(reason, EOTP_SF_NOT_REGULAR, EOTP_E_CONFIG, why, whylen,
                      "not a regular file (%s)", file_type(st.st_mode));
    }
    if (st.st_uid != 0) {
        return refuse(reason, EOTP_SF_OWNER, EOTP_E_CONFIG, why, whylen,
                      "owned by uid %lu, not root", (unsigned long)st.st_uid);
    }
    if (policy == EOTP_SF_SECRET && (st.st_mode & 077) != 0) {
        return refuse(reason, EOTP_SF_MODE, EOTP_E_CONFIG, why, whylen,
                      "mode %04o gives group/other access (want 0600)",
                      (unsigned int)(st.st_mode & 07777));
    }
    if (policy == EOTP_SF_PUBLIC && (st.st_mode & 022) != 0) {
        return refuse(reason, EOTP_SF_MODE, EOTP_E_CONFIG, why, whylen,
                      "mode %04o lets group/other write (want 0644)",
                      (unsigned int)(st.st_mode & 07777));
    }
    if ((unsigned long long)st.st_size > (unsigned long long)max_size) {
        return refuse(reason, EOTP_SF_TOO_BIG, EOTP_E_CONFIG, why, whylen,
                      "larger than %zu bytes", max_size);
    }
    *reason = EOTP_SF_OK;
    return EOTP_OK;
}

/*
 * A directory is trusted when only root can change its entries: owned by
 * root, and not writable by group or others unless the sticky bit keeps
 * them off root's entries (/tmp).  *shared tells the caller that others
 * may add entries, so a symbolic link found in it must be root's.
 */
static int check_dir(int dfd, const char *shown, bool *shared,
                     enum eotp_sf_reason *reason, char *why, size_t whylen)
{
    struct stat st;

    if (fstat(dfd, &st) != 0) {
        return refuse(reason, EOTP_SF_IO, EOTP_E_FILE, why, whylen,
                      "cannot stat directory %s: %s", shown, strerror(errno));
    }
    if (st.st_uid != 0) {
        return refuse(reason, EOTP_SF_PARENT, EOTP_E_CONFIG, why, whylen,
                      "directory %s is owned by uid %lu, not root", shown,
                      (unsigned long)st.st_uid);
    }
    if ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0) {
        return refuse(reason, EOTP_SF_PARENT, EOTP_E_CONFIG, why, whylen,
                      "directory %s: mode %04o lets group/other write", shown,
                      (unsigned int)(st.st_mode & 07777));
    }
    *shared = (st.st_mode & 022) != 0;
    return EOTP_OK;
}

static int open_root(int *dfd, bool *shared, enum eotp_sf_reason *reason,
                     char *why, size_t whylen)
{
    if (*dfd >= 0) {
        (void)close(*dfd);
    }
    *dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*dfd < 0) {
        return refuse(reason, EOTP_SF_IO, EOTP_E_FILE, why, whylen,
                      "cannot open /: %s", strerror(errno));
    }
    return check_dir(*dfd, "/", shared, reason, why, whylen);
}

static void append_shown(char *shown, size_t len, const char *name)
{
    size_t n = strlen(shown);

    if (n + 1 < len) {
        (void)snprintf(shown + n, len - n, "%s%s",
                       n > 0 && shown[n - 1] == '/' ? "" : "/", name);
    }
}

/*
 * Walk path from "/" one name at a time, checking every directory on the
 * way (and following symbolic links in them), then open the last name
 * with O_NOFOLLOW | O_NONBLOCK relative to its checked directory.
 */
static int walk_open(const char *path, int *out, enum eotp_sf_reason *reason,
                     char *why, size_t whylen)
{
    char buf[2][PATH_MAX];
    char target[PATH_MAX];
    char name[NAME_MAX + 1];
    char shown[PATH_MAX];
    const char *rest;
    int cur = 0;
    int links = 0;
    int dfd = -1;
    int f;
    bool shared = false;
    int r;

    if (path[0] == '/') {
        r = snprintf(buf[0], sizeof(buf[0]), "%s", path);
    } else {
        char cwd[PATH_MAX];

        if (getcwd(cwd, sizeof(cwd)) == NULL) {
            return refuse(reason, EOTP_SF_UNREADABLE, EOTP_E_FILE, why, whylen,
                          "cannot open: %s", strerror(errno));
        }
        r = snprintf(buf[0], sizeof(buf[0]), "%s/%s", cwd, path);
    }
    if (r < 0 || (size_t)r >= sizeof(buf[0])) {
        return refuse(reason, EOTP_SF_UNREADABLE, EOTP_E_FILE, why, whylen,
                      "cannot open: %s", strerror(ENAMETOOLONG));
    }
    rest = buf[0];
    (void)snprintf(shown, sizeof(shown), "/");
    r = open_root(&dfd, &shared, reason, why, whylen);
    if (r != EOTP_OK) {
        goto out;
    }
    for (;;) {
        struct stat st;
        const char *after;
        size_t n;
        int nfd;

        while (*rest == '/') {
            rest++;
        }
        n = strcspn(rest, "/");
        if (n == 0) {
            r = refuse(reason, EOTP_SF_NOT_REGULAR, EOTP_E_CONFIG, why, whylen,
                       "not a regular file (a directory)");
            goto out;
        }
        if (n > NAME_MAX) {
            r = refuse(reason, EOTP_SF_UNREADABLE, EOTP_E_FILE, why, whylen,
                       "cannot open: %s", strerror(ENAMETOOLONG));
            goto out;
        }
        memcpy(name, rest, n);
        name[n] = '\0';
        after = rest + n;
        while (*after == '/') {
            after++;
        }
        if (*after == '\0') {
            break; /* name is the file itself */
        }
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            r = refuse(reason, EOTP_SF_UNREADABLE, EOTP_E_FILE, why, whylen,
                       "cannot open: %s", strerror(errno));
            goto out;
        }
        if (S_ISLNK(st.st_mode)) {
            ssize_t len;
            int other = 1 - cur;

            if (shared && st.st_uid != 0) {
                r = refuse(reason, EOTP_SF_PARENT, EOTP_E_CONFIG, why, whylen,
                           "symbolic link %s in directory %s that others "
                           "can write is not root's",
                           name, shown);
                goto out;
            }
            if (++links > 40) {
                r = refuse(reason, EOTP_SF_UNREADABLE, EOTP_E_FILE, why,
                           whylen, "cannot open: %s", strerror(ELOOP));
                goto out;
            }
            len = readlinkat(dfd, name, target, sizeof(target));
            if (len <= 0 || (size_t)len >= sizeof(target)) {
                r = refuse(reason, EOTP_SF_UNREADABLE, EOTP_E_FILE, why,
                           whylen, "cannot read link %s: %s", name,
                           len < 0 ? strerror(errno) : strerror(ENAMETOOLONG));
                goto out;
            }
            target[len] = '\0';
            r = snprintf(buf[other], sizeof(buf[other]), "%s/%s", target,
                         after);
            if (r < 0 || (size_t)r >= sizeof(buf[other])) {
                r = refuse(reason, EOTP_SF_UNREADABLE, EOTP_E_FILE, why,
                           whylen, "cannot open: %s", strerror(ENAMETOOLONG));
                goto out;
            }
            cur = other;
            rest = buf[cur];
            if (target[0] == '/') {
                (void)snprintf(shown, sizeof(shown), "/");
                r = open_root(&dfd, &shared, reason, why, whylen);
                if (r != EOTP_OK) {
                    goto out;
                }
            }
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            r = refuse(reason, EOTP_SF_UNREADABLE, EOTP_E_FILE, why, whylen,
                       "cannot open: %s", strerror(ENOTDIR));
            goto out;
        }
        nfd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0) {
            r = refuse(reason, EOTP_SF_UNREADABLE, EOTP_E_FILE, why, whylen,
                       "cannot open: %s", strerror(errno));
            goto out;
        }
        (void)close(dfd);
        dfd = nfd;
        append_shown(shown, sizeof(shown), name);
        r = check_dir(dfd, shown, &shared, reason, why, whylen);
        if (r != EOTP_OK) {
            goto out;
        }
        rest = after;
    }
    /*
     * O_NONBLOCK: a FIFO at the path must not hang the login until a
     * writer appears; it is opened at once and refused by check().
     * Reads of a regular file ignore the flag.
     */
    f = openat(dfd, name,
               O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
    if (f < 0) {
        if (errno == ELOOP) {
            r = refuse(reason, EOTP_SF_SYMLINK, EOTP_E_CONFIG, why, whylen,
                       "is a symbolic link");
        } else {
            r = refuse(reason, EOTP_SF_UNREADABLE, EOTP_E_FILE, why, whylen,
                       "cannot open: %s", strerror(errno));
        }
        goto out;
    }
    *out = f;
    r = EOTP_OK;
out:
    if (dfd >= 0) {
        (void)close(dfd);
    }
    return r;
}

static int open_checked(const char *path, enum eotp_sf_policy policy,
                        size_t max_size, int *fd, enum eotp_sf_reason *reason,
                        char *why, size_t whylen)
{
    int f = -1;
    int r = walk_open(path, &f, reason, why, whylen);

    if (r != EOTP_OK) {
        return r;
    }
    r = check(f, policy, max_size, reason, why, whylen);
    if (r != EOTP_OK) {
        (void)close(f);
        return r;
    }
    *fd = f;
    return EOTP_OK;
}

int eotp_safefile_open(const char *path, enum eotp_sf_policy policy,
                       size_t max_size, int *fd, char *why, size_t whylen)
{
    enum eotp_sf_reason reason = EOTP_SF_OK;

    return open_checked(path, policy, max_size, fd, &reason, why, whylen);
}

int eotp_safefile_check(const char *path, enum eotp_sf_policy policy,
                        size_t max_size, enum eotp_sf_reason *reason,
                        char *why, size_t whylen)
{
    enum eotp_sf_reason rs = EOTP_SF_OK;
    char text[1];
    int fd = -1;
    int r;

    if (why == NULL || whylen == 0) {
        why = text;
        whylen = sizeof(text);
    }
    r = open_checked(path, policy, max_size, &fd, &rs, why, whylen);
    if (r == EOTP_OK) {
        (void)close(fd);
    }
    if (reason != NULL) {
        *reason = rs;
    }
    return r;
}

const char *eotp_sf_reason_name(enum eotp_sf_reason reason)
{
    switch (reason) {
    case EOTP_SF_OK:
        return "ok";
    case EOTP_SF_UNREADABLE:
        return "unreadable";
    case EOTP_SF_SYMLINK:
        return "symlink";
    case EOTP_SF_NOT_REGULAR:
        return "not_regular";
    case EOTP_SF_OWNER:
        return "owner";
    case EOTP_SF_MODE:
        return "mode";
    case EOTP_SF_PARENT:
        return "parent";
    case EOTP_SF_TOO_BIG:
        return "too_big";
    case EOTP_SF_IO:
        return "io";
    }
    return "unknown";
}

int eotp_safefile_read(const char *path, enum eotp_sf_policy policy,
                       size_t max_size, char **buf, size_t *len, char *why,
                       size_t whylen)
{
    int r;
    int fd = -1;
    char *b = NULL;
    size_t used = 0;

    r = eotp_safefile_open(path, policy, max_size, &fd, why, whylen);
    if (r != EOTP_OK) {
        return r;
    }
    b = malloc(max_size + 1);
    if (b == NULL) {
        r = EOTP_E_NOMEM;
        (void)snprintf(why, whylen, "out of memory");
        goto out;
    }
    /* read(2) into our own buffer: no stdio copies of secrets. */
    for (;;) {
        ssize_t n;

        if (used > max_size) {
            break;
        }
        n = read(fd, b + used, max_size + 1 - used);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            (void)snprintf(why, whylen, "read error: %s", strerror(errno));
            r = EOTP_E_FILE;
            goto out;
        }
        if (n == 0) {
            break;
        }
        used += (size_t)n;
    }
    if (used > max_size) {
        /* The file grew after the size check. */
        (void)snprintf(why, whylen, "larger than %zu bytes", max_size);
        r = EOTP_E_CONFIG;
        goto out;
    }
    b[used] = '\0';
    *buf = b;
    *len = used;
    b = NULL;
    r = EOTP_OK;
out:
    if (b != NULL) {
        eotp_freezero(b, max_size + 1);
    }
    (void)close(fd);
    return r;
}

size_t eotp_secret_line_len(const char *buf, size_t len)
{
    size_t n = len;

    if (n > 0 && buf[n - 1] == '\n') {
        n--;
        if (n > 0 && buf[n - 1] == '\r') {
            n--;
        }
    }
    if (n == 0 || memchr(buf, '\0', n) != NULL ||
        memchr(buf, '\n', n) != NULL) {
        return 0;
    }
    return n;
}
