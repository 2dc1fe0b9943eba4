/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redis_session.c - the TLS session cache of redis.c (see redis_session.h
 * for what resumption skips and keeps, and why the file is safe).
 *
 * File layout: "EOTPRTS1" | SHA-256 of the binding (32 bytes) | the time
 * of the full handshake, 8 bytes big-endian | the session, DER
 * (i2d_SSL_SESSION).
 */
#include "redis_session.h"

#include "secret.h"
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "EOTPRTS1"
#define MAGIC_LEN 8
#define HDR_LEN (MAGIC_LEN + 32 + 8)
#define NAME_PREFIX "+redis-tls-"

/* " NAME=PATH DEV INO SIZE MTIME" of a file, or " NAME=none" (path NULL). */
static bool file_identity(const char *name, const char *path, char *out,
                          size_t outlen)
{
    struct stat sb;
    int n;

    if (path == NULL) {
        n = snprintf(out, outlen, " %s=none", name);
    } else {
        if (stat(path, &sb) != 0) {
            return false;
        }
        n = snprintf(out, outlen, " %s=%s %llu %llu %lld %lld.%09ld", name,
                     path, (unsigned long long)sb.st_dev,
                     (unsigned long long)sb.st_ino, (long long)sb.st_size,
                     (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
    }
    return n >= 0 && (size_t)n < outlen;
}

bool eotp_redis_session_bind(const char *host, const char *port,
                             const char *ca_file, const char *cert_file,
                             char *out)
{
    char ca[EOTP_REDIS_SESSION_BIND_MAX];
    char cert[EOTP_REDIS_SESSION_BIND_MAX];
    int n;

    out[0] = '\0';
    if (ca_file == NULL) {
        (void)snprintf(ca, sizeof(ca), " ca=system");
    } else if (!file_identity("ca", ca_file, ca, sizeof(ca))) {
        return false;
    }
    /* Without a client certificate the binding stays what it was (v1),
     * so sessions cached before this key existed still resume. */
    cert[0] = '\0';
    if (cert_file != NULL &&
        !file_identity("cert", cert_file, cert, sizeof(cert))) {
        return false;
    }
    n = snprintf(out, EOTP_REDIS_SESSION_BIND_MAX, "v1 %s %s%s%s", host, port,
                 ca, cert);
    if (n < 0 || n >= EOTP_REDIS_SESSION_BIND_MAX) {
        out[0] = '\0';
        return false;
    }
    return true;
}

/* The file's name and the binding's digest. */
static bool names(const char *bind, unsigned char md[32], char *name,
                  size_t namelen)
{
    unsigned char full[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    char hex[65];

    if (EVP_Digest(bind, strlen(bind), full, &len, EVP_sha256(), NULL) != 1 ||
        len != 32) {
        return false;
    }
    memcpy(md, full, 32);
    eotp_hex_encode(full, 32, hex);
    (void)snprintf(name, namelen, "%s%.16s", NAME_PREFIX, hex);
    return true;
}

/* state_dir, when it is root's alone (never created here). */
static int open_dir(const char *state_dir)
{
    return geteuid() == 0 ? eotp_state_dir_open(state_dir, false, NULL) : -1;
}

static void be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t from_be64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

SSL_SESSION *eotp_redis_session_load(const char *state_dir, const char *bind,
                                     long long *born,
                                     const struct eotp_logger *lg)
{
    unsigned char md[32];
    char name[64];
    unsigned char *buf = NULL;
    const unsigned char *p;
    SSL_SESSION *sess = NULL;
    struct stat sb;
    size_t used = 0;
    long long t;
    long long now = (long long)time(NULL);
    int dirfd = -1;
    int fd = -1;
    const char *why = "no file";

    *born = 0;
    if (bind[0] == '\0' || !names(bind, md, name, sizeof(name))) {
        return NULL;
    }
    dirfd = open_dir(state_dir);
    if (dirfd < 0) {
        why = "state_dir missing or not root's alone";
        goto out;
    }
    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        why = errno == ENOENT ? "no file" : "cannot open";
        goto out;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != 0 ||
        (sb.st_mode & 077) != 0 || sb.st_size <= HDR_LEN ||
        sb.st_size > EOTP_REDIS_SESSION_FILE_MAX) {
        why = "not a root-only regular file of the right size";
        goto out;
    }
    buf = malloc((size_t)sb.st_size);
    if (buf == NULL) {
        goto out;
    }
    while (used < (size_t)sb.st_size) {
        ssize_t n = read(fd, buf + used, (size_t)sb.st_size - used);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        used += (size_t)n;
    }
    if (used != (size_t)sb.st_size || memcmp(buf, MAGIC, MAGIC_LEN) != 0 ||
        memcmp(buf + MAGIC_LEN, md, 32) != 0) {
        why = "damaged, or made for another node or CA";
        goto out;
    }
    t = (long long)from_be64(buf + MAGIC_LEN + 32);
    if (t > now + 60 || now - t >= EOTP_REDIS_SESSION_MAX_AGE) {
        why = "too old";
        goto out;
    }
    p = buf + HDR_LEN;
    sess = d2i_SSL_SESSION(NULL, &p, (long)(used - HDR_LEN));
    if (sess == NULL || p != buf + used || !SSL_SESSION_is_resumable(sess) ||
        SSL_SESSION_get_protocol_version(sess) < TLS1_2_VERSION ||
        (long long)SSL_SESSION_get_time(sess) +
                (long long)SSL_SESSION_get_timeout(sess) <=
            now) {
        why = "not a usable session";
        SSL_SESSION_free(sess);
        sess = NULL;
        goto out;
    }
    *born = t;
out:
    if (sess == NULL) {
        eotp_debug(lg, "redis: no TLS session to resume reason=\"%s\"", why);
    }
    if (buf != NULL) {
        eotp_freezero(buf, (size_t)sb.st_size);
    }
    if (fd >= 0) {
        (void)close(fd);
    }
    if (dirfd >= 0) {
        (void)close(dirfd);
    }
    return sess;
}

void eotp_redis_session_save(const char *state_dir, const char *bind,
                             SSL_SESSION *sess, long long born,
                             const struct eotp_logger *lg)
{
    unsigned char md[32];
    char name[64];
    char tmp[96];
    unsigned char *buf = NULL;
    unsigned char *p;
    size_t total = 0;
    size_t off = 0;
    int dirfd = -1;
    int fd = -1;
    int len;
    bool ok = false;

    if (bind[0] == '\0' || sess == NULL || !SSL_SESSION_is_resumable(sess) ||
        !names(bind, md, name, sizeof(name))) {
        return;
    }
    len = i2d_SSL_SESSION(sess, NULL);
    if (len <= 0 || len > EOTP_REDIS_SESSION_FILE_MAX - HDR_LEN) {
        goto out;
    }
    total = HDR_LEN + (size_t)len;
    buf = malloc(total);
    if (buf == NULL) {
        goto out;
    }
    memcpy(buf, MAGIC, MAGIC_LEN);
    memcpy(buf + MAGIC_LEN, md, 32);
    be64(buf + MAGIC_LEN + 32, (uint64_t)born);
    p = buf + HDR_LEN;
    if (i2d_SSL_SESSION(sess, &p) != len) {
        goto out;
    }
    dirfd = open_dir(state_dir);
    if (dirfd < 0) {
        goto out;
    }
    (void)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", name, (long)getpid());
    (void)unlinkat(dirfd, tmp, 0);
    fd = openat(dirfd, tmp,
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        goto out;
    }
    while (off < total) {
        ssize_t w = write(fd, buf + off, total - off);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        off += (size_t)w;
    }
    if (off == total && fchmod(fd, 0600) == 0) {
        int cr = close(fd);

        fd = -1;
        ok = cr == 0 && renameat(dirfd, tmp, dirfd, name) == 0;
    }
    if (!ok) {
        (void)unlinkat(dirfd, tmp, 0);
    }
out:
    if (!ok) {
        eotp_debug(lg, "redis: TLS session not kept");
    }
    if (fd >= 0) {
        (void)close(fd);
    }
    if (dirfd >= 0) {
        (void)close(dirfd);
    }
    if (buf != NULL) {
        eotp_freezero(buf, total);
    }
}
