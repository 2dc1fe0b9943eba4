/*
 * state.c - per-user state files.
 */
#include "state.h"

#include "cfg.h"
#include "err.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* File-name-safe form of a user name: [A-Za-z0-9._-] kept, others %XX. */
static int encode_user(const char *user, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    if (*user == '\0') {
        return EOTP_E_STATE;
    }
    for (const unsigned char *p = (const unsigned char *)user; *p != '\0';
         p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
                     (*p == '.' && p != (const unsigned char *)user);
        if (o + 4 >= outlen) {
            return EOTP_E_STATE;
        }
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return EOTP_OK;
}

static int open_dir(const char *dir, const struct eotp_logger *lg)
{
    struct stat st;
    char safe[EOTP_FIELD_MAX];
    int fd;

    eotp_sanitize(safe, sizeof(safe), dir, true);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        eotp_log(lg, LOG_ERR, "state: cannot create dir=%s error=\"%s\"",
                 safe, strerror(errno));
        return -1;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        eotp_log(lg, LOG_ERR, "state: cannot open dir=%s error=\"%s\"", safe,
                 strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
        (st.st_mode & 077) != 0) {
        eotp_log(lg, LOG_ERR,
                 "state: refusing dir=%s reason=\"must be a directory owned "
                 "by root with mode 0700\"",
                 safe);
        (void)close(fd);
        return -1;
    }
    return fd;
}

int eotp_state_lock(const char *dir, const char *user,
                    const struct eotp_logger *lg,
                    struct eotp_state_handle *h)
{
    char lockname[sizeof(h->name) + 8];

    memset(h, 0, sizeof(*h));
    h->dirfd = -1;
    h->lockfd = -1;
    h->lg = lg;
    if (encode_user(user, h->name, sizeof(h->name) - 8) != EOTP_OK) {
        eotp_log(lg, LOG_ERR, "state: user name too long for a state file");
        return EOTP_E_STATE;
    }
    h->dirfd = open_dir(dir, lg);
    if (h->dirfd < 0) {
        return EOTP_E_STATE;
    }
    (void)snprintf(lockname, sizeof(lockname), "%s.lock", h->name);
    h->lockfd = openat(h->dirfd, lockname,
                       O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (h->lockfd < 0) {
        eotp_log(lg, LOG_ERR, "state: cannot open lock file error=\"%s\"",
                 strerror(errno));
        eotp_state_unlock(h);
        return EOTP_E_STATE;
    }
    while (flock(h->lockfd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            eotp_log(lg, LOG_ERR, "state: cannot lock error=\"%s\"",
                     strerror(errno));
            eotp_state_unlock(h);
            return EOTP_E_STATE;
        }
    }
    return EOTP_OK;
}

void eotp_state_unlock(struct eotp_state_handle *h)
{
    if (h->lockfd >= 0) {
        (void)close(h->lockfd); /* releases the flock */
    }
    if (h->dirfd >= 0) {
        (void)close(h->dirfd);
    }
    h->lockfd = -1;
    h->dirfd = -1;
}

static bool hex64_ok(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++, n++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) {
            return false;
        }
    }
    return n == 64;
}

static bool token_ok(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max) {
        return false;
    }
    for (; *s != '\0'; s++) {
        bool ok = (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
                  (*s >= 'A' && *s <= 'Z') || *s == '-' || *s == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

int eotp_state_parse(const char *text, size_t len, struct eotp_state *st)
{
    char buf[EOTP_STATE_MAX_SIZE + 1];
    struct eotp_state s;
    char *line;
    char *next;
    bool versioned = false;

    memset(&s, 0, sizeof(s));
    if (len > EOTP_STATE_MAX_SIZE || memchr(text, '\0', len) != NULL) {
        return EOTP_E_STATE;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    for (line = buf; line != NULL && *line != '\0'; line = next) {
        char *eq;
        long v = 0;

        next = strchr(line, '\n');
        if (next == NULL) {
            /* Every record ends with a newline: this one is truncated. */
            return EOTP_E_STATE;
        }
        *next++ = '\0';
        eq = strchr(line, '=');
        if (eq == NULL) {
            return EOTP_E_STATE;
        }
        *eq++ = '\0';
        if (strcmp(line, "version") == 0) {
            if (strcmp(eq, "1") != 0) {
                return EOTP_E_STATE;
            }
            versioned = true;
        } else if (strcmp(line, "pending_id") == 0) {
            if (!token_ok(eq, EOTP_MSGID_MAX)) {
                return EOTP_E_STATE;
            }
            (void)snprintf(s.pending_id, sizeof(s.pending_id), "%s", eq);
        } else if (strcmp(line, "pending_key") == 0) {
            if (!hex64_ok(eq)) {
                return EOTP_E_STATE;
            }
            memcpy(s.pending_key, eq, 65);
        } else if (strcmp(line, "pending_channel") == 0) {
            if (!token_ok(eq, EOTP_CHANNEL_MAX)) {
                return EOTP_E_STATE;
            }
            (void)snprintf(s.pending_channel, sizeof(s.pending_channel), "%s",
                           eq);
        } else if (strcmp(line, "pending_time") == 0) {
            if (eotp_parse_long(eq, 0, 1L << 40, &v) != EOTP_OK) {
                return EOTP_E_STATE;
            }
            s.pending_time = v;
        }
        /* Unknown keys are skipped: a newer version may add some. */
    }
    if (!versioned && len > 0) {
        return EOTP_E_STATE;
    }
    if (s.pending_time != 0 &&
        (s.pending_id[0] == '\0' || s.pending_key[0] == '\0')) {
        return EOTP_E_STATE;
    }
    *st = s;
    return EOTP_OK;
}

int eotp_state_format(const struct eotp_state *st, char *buf, size_t len)
{
    int n;

    if (st->pending_time != 0) {
        n = snprintf(buf, len,
                     "version=1\npending_id=%s\npending_key=%s\n"
                     "pending_channel=%s\npending_time=%lld\n",
                     st->pending_id, st->pending_key,
                     st->pending_channel[0] != '\0' ? st->pending_channel
                                                    : "unknown",
                     st->pending_time);
    } else {
        n = snprintf(buf, len, "version=1\n");
    }
    if (n < 0 || (size_t)n >= len) {
        return EOTP_E_STATE;
    }
    return n;
}

int eotp_state_load(struct eotp_state_handle *h, struct eotp_state *st)
{
    char buf[EOTP_STATE_MAX_SIZE + 1];
    char fname[sizeof(h->name) + 8];
    struct stat sb;
    size_t used = 0;
    int fd;

    memset(st, 0, sizeof(*st));
    (void)snprintf(fname, sizeof(fname), "%s.state", h->name);
    fd = openat(h->dirfd, fname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return EOTP_OK;
        }
        eotp_log(h->lg, LOG_ERR, "state: cannot read file=%s error=\"%s\"",
                 fname, strerror(errno));
        return EOTP_E_STATE;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != 0 ||
        sb.st_size > EOTP_STATE_MAX_SIZE) {
        (void)close(fd);
        eotp_log(h->lg, LOG_WARNING,
                 "state: ignoring untrustworthy or oversized file=%s", fname);
        return EOTP_OK;
    }
    for (;;) {
        ssize_t n = read(fd, buf + used, sizeof(buf) - 1 - used);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        used += (size_t)n;
        if (used >= sizeof(buf) - 1) {
            break;
        }
    }
    (void)close(fd);
    if (eotp_state_parse(buf, used, st) != EOTP_OK) {
        memset(st, 0, sizeof(*st));
        eotp_log(h->lg, LOG_WARNING,
                 "state: corrupt file=%s treated as empty", fname);
    }
    return EOTP_OK;
}

int eotp_state_save(struct eotp_state_handle *h, const struct eotp_state *st)
{
    char buf[EOTP_STATE_MAX_SIZE];
    char fname[sizeof(h->name) + 8];
    char tmpname[sizeof(h->name) + 16];
    int n = eotp_state_format(st, buf, sizeof(buf));
    size_t off = 0;
    int fd;

    if (n < 0) {
        return EOTP_E_STATE;
    }
    (void)snprintf(fname, sizeof(fname), "%s.state", h->name);
    (void)snprintf(tmpname, sizeof(tmpname), "%s.tmp", h->name);
    (void)unlinkat(h->dirfd, tmpname, 0);
    fd = openat(h->dirfd, tmpname,
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        eotp_log(h->lg, LOG_ERR, "state: cannot write file=%s error=\"%s\"",
                 tmpname, strerror(errno));
        return EOTP_E_STATE;
    }
    while (off < (size_t)n) {
        ssize_t w = write(fd, buf + off, (size_t)n - off);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        off += (size_t)w;
    }
    if (off != (size_t)n || fsync(fd) != 0) {
        eotp_log(h->lg, LOG_ERR, "state: short write file=%s", tmpname);
        (void)close(fd);
        (void)unlinkat(h->dirfd, tmpname, 0);
        return EOTP_E_STATE;
    }
    (void)close(fd);
    if (renameat(h->dirfd, tmpname, h->dirfd, fname) != 0) {
        eotp_log(h->lg, LOG_ERR, "state: cannot rename file=%s error=\"%s\"",
                 fname, strerror(errno));
        (void)unlinkat(h->dirfd, tmpname, 0);
        return EOTP_E_STATE;
    }
    return EOTP_OK;
}

int eotp_state_pending_key(const char *template_id, const char *dest,
                           char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok;

    if (ctx == NULL) {
        return EOTP_E_NOMEM;
    }
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, template_id, strlen(template_id) + 1) == 1 &&
         EVP_DigestUpdate(ctx, dest, strlen(dest)) == 1 &&
         EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        return EOTP_E_INTERNAL;
    }
    for (unsigned int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return EOTP_OK;
}
