/*
 * safefile.c - trusted file access.
 */
#include "safefile.h"

#include "err.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
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

static int check(int fd, enum eotp_sf_policy policy, size_t max_size,
                 char *why, size_t whylen)
{
    struct stat st;

    if (fstat(fd, &st) != 0) {
        (void)snprintf(why, whylen, "cannot stat: %s", strerror(errno));
        return EOTP_E_FILE;
    }
    if (!S_ISREG(st.st_mode)) {
        (void)snprintf(why, whylen, "not a regular file (%s)",
                       file_type(st.st_mode));
        return EOTP_E_CONFIG;
    }
    if (st.st_uid != 0) {
        (void)snprintf(why, whylen, "owned by uid %lu, not root",
                       (unsigned long)st.st_uid);
        return EOTP_E_CONFIG;
    }
    if (policy == EOTP_SF_SECRET && (st.st_mode & 077) != 0) {
        (void)snprintf(why, whylen,
                       "mode %04o gives group/other access (want 0600)",
                       (unsigned int)(st.st_mode & 07777));
        return EOTP_E_CONFIG;
    }
    if (policy == EOTP_SF_PUBLIC && (st.st_mode & 022) != 0) {
        (void)snprintf(why, whylen,
                       "mode %04o lets group/other write (want 0644)",
                       (unsigned int)(st.st_mode & 07777));
        return EOTP_E_CONFIG;
    }
    if ((unsigned long long)st.st_size > (unsigned long long)max_size) {
        (void)snprintf(why, whylen, "larger than %zu bytes", max_size);
        return EOTP_E_CONFIG;
    }
    return EOTP_OK;
}

int eotp_safefile_open(const char *path, enum eotp_sf_policy policy,
                       size_t max_size, int *fd, char *why, size_t whylen)
{
    int r;
    /*
     * O_NONBLOCK: a FIFO at the path must not hang the login until a
     * writer appears; it is opened at once and refused by check().
     * Reads of a regular file ignore the flag.
     */
    int f = open(path,
                 O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);

    if (f < 0) {
        if (errno == ELOOP) {
            (void)snprintf(why, whylen, "is a symbolic link");
            return EOTP_E_CONFIG;
        }
        (void)snprintf(why, whylen, "cannot open: %s", strerror(errno));
        return EOTP_E_FILE;
    }
    r = check(f, policy, max_size, why, whylen);
    if (r != EOTP_OK) {
        (void)close(f);
        return r;
    }
    *fd = f;
    return EOTP_OK;
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
