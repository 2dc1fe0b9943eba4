/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.c - records in state_dir: locking, atomic replacement, parsing,
 * the host key, and the sweep of old records.
 */
#include "state.h"

#include "cfg.h"
#include "err.h"
#include "keyed.h"
#include "secret.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HOSTKEY_NAME "+hostkey"
#define SWEEP_NAME "+sweep"
#define RHOST_PREFIX "+r-"
#define GENERIC_PREFIX "+x-"
#define SWEEP_INTERVAL 3600
#define SWEEP_MAX_ENTRIES 20000
#define LOCK_RETRIES 64

/* File-name-safe form of a user name: [A-Za-z0-9._-] kept, others %XX.
 * A leading '.' and every '+' are escaped, so a user record never starts
 * with '.' or '+' (the prefix of our own files). */
int eotp_state_user_name(const char *user, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    if (outlen == 0) {
        return EOTP_E_STATE;
    }
    out[0] = '\0';
    if (user == NULL || *user == '\0') {
        return EOTP_E_STATE;
    }
    for (const unsigned char *p = (const unsigned char *)user; *p != '\0';
         p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
                     (*p == '.' && p != (const unsigned char *)user);
        if (o + 4 >= outlen) {
            out[0] = '\0';
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

/* The text an address counts under: IPv6 per /64, mapped IPv4 as IPv4. */
static void rhost_canonical(const char *rhost, char *out, size_t outlen)
{
    unsigned char a[16];

    if (inet_pton(AF_INET, rhost, a) == 1) {
        if (inet_ntop(AF_INET, a, out, (socklen_t)outlen) != NULL) {
            return;
        }
    } else if (inet_pton(AF_INET6, rhost, a) == 1) {
        if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
            if (inet_ntop(AF_INET, a + 12, out, (socklen_t)outlen) != NULL) {
                return;
            }
        } else {
            memset(a + 8, 0, 8);
            if (inet_ntop(AF_INET6, a, out, (socklen_t)outlen) != NULL) {
                size_t n = strlen(out);

                (void)snprintf(out + n, outlen - n, "/64");
                return;
            }
        }
    }
    out[0] = '\0'; /* not an address: the text itself is used */
}

int eotp_state_rhost_hash(const char *rhost,
                          const unsigned char key[EOTP_HOSTKEY_LEN],
                          char hex[EOTP_HEX256])
{
    char canon[INET6_ADDRSTRLEN + 8];
    const char *parts[2];

    hex[0] = '\0';
    if (rhost == NULL || *rhost == '\0' || strlen(rhost) > 1024) {
        return EOTP_E_STATE;
    }
    rhost_canonical(rhost, canon, sizeof(canon));
    parts[0] = "rhost-v1";
    parts[1] = canon[0] != '\0' ? canon : rhost;
    return eotp_keyed_hash(key, parts, 2, hex);
}

int eotp_state_rhost_name(const char *rhost,
                          const unsigned char key[EOTP_HOSTKEY_LEN], char *out,
                          size_t outlen)
{
    char hex[EOTP_KEYED_HEX];
    int r;

    if (outlen < sizeof(RHOST_PREFIX) + 40) {
        return EOTP_E_STATE;
    }
    r = eotp_state_rhost_hash(rhost, key, hex);
    if (r != EOTP_OK) {
        return r;
    }
    return eotp_state_rhost_hash_name(hex, out, outlen);
}

int eotp_state_rhost_hash_name(const char *hex, char *out, size_t outlen)
{
    if (strlen(hex) != 64 || outlen < sizeof(RHOST_PREFIX) + 40) {
        return EOTP_E_STATE;
    }
    (void)snprintf(out, outlen, "%s%.40s", RHOST_PREFIX, hex);
    return EOTP_OK;
}

int eotp_state_dir_open(const char *dir, bool create,
                        const struct eotp_logger *lg)
{
    struct stat st;
    char safe[EOTP_FIELD_MAX];
    int fd;

    if (dir == NULL) {
        return -1;
    }
    eotp_sanitize(safe, sizeof(safe), dir, true);
    if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        eotp_log(lg, LOG_ERR, "state: cannot create dir=%s error=\"%s\"", safe,
                 strerror(errno));
        return -1;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (!create && errno == ENOENT) {
            return -2;
        }
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

/* Milliseconds on a monotonic clock. */
static long long now_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * flock(fd, LOCK_EX), giving up after wait_ms (0: do not wait).  Polls
 * with a short, growing sleep: no signals (alarm) inside a PAM module.
 * Returns 0, -2 when busy for too long, -1 on an error.
 */
static int flock_wait(int fd, long wait_ms)
{
    long long until = now_ms() + wait_ms;
    long sleep_us = 1000;

    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            return 0;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EWOULDBLOCK) {
            return -1;
        }
        if (now_ms() >= until) {
            return -2;
        }
        {
            struct timespec ts = {0, sleep_us * 1000};

            (void)nanosleep(&ts, NULL);
        }
        if (sleep_us < 50000) {
            sleep_us *= 2;
        }
    }
}

/*
 * Open and flock dirfd/lockname, waiting at most wait_ms.  Lock files may
 * be removed by the holder of the lock (when a record becomes empty, or
 * by the sweep), so after getting the lock we check that the name still
 * refers to our file and start over if not.  Returns the descriptor, -2
 * when the lock stayed busy, -1 on an error.
 */
static int take_lock(int dirfd, const char *lockname, long wait_ms,
                     const struct eotp_logger *lg)
{
    for (int tries = 0; tries < LOCK_RETRIES; tries++) {
        struct stat a;
        struct stat b;
        int fd = openat(dirfd, lockname,
                        O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        int got;

        if (fd < 0) {
            eotp_log(lg, LOG_ERR, "state: cannot open lock file error=\"%s\"",
                     strerror(errno));
            return -1;
        }
        if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode) || a.st_uid != 0) {
            eotp_log(lg, LOG_ERR,
                     "state: refusing lock file reason=\"not a regular file "
                     "owned by root\"");
            (void)close(fd);
            return -1;
        }
        got = flock_wait(fd, wait_ms);
        if (got != 0) {
            if (got == -1) {
                eotp_log(lg, LOG_ERR, "state: cannot lock error=\"%s\"",
                         strerror(errno));
            } else if (wait_ms > 0) {
                eotp_log(lg, LOG_ERR,
                         "state: record busy, gave up waiting wait_ms=%ld",
                         wait_ms);
            }
            (void)close(fd);
            return got;
        }
        if (fstatat(dirfd, lockname, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
            a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            return fd;
        }
        (void)close(fd); /* removed meanwhile: take the new one */
    }
    eotp_log(lg, LOG_ERR,
             "state: cannot lock reason=\"lock file keeps changing\"");
    return -1;
}

static int lock_record(const char *dir, const char *name,
                       const struct eotp_logger *lg,
                       struct eotp_state_handle *h)
{
    char lockname[sizeof(h->name) + 8];

    h->dirfd = eotp_state_dir_open(dir, true, lg);
    if (h->dirfd < 0) {
        return EOTP_E_STATE;
    }
    (void)snprintf(h->name, sizeof(h->name), "%s", name);
    (void)snprintf(lockname, sizeof(lockname), "%s.lock", h->name);
    h->lockfd = take_lock(h->dirfd, lockname, EOTP_STATE_LOCK_WAIT_MS, lg);
    if (h->lockfd < 0) {
        h->lockfd = -1;
        eotp_state_unlock(h);
        return EOTP_E_STATE;
    }
    return EOTP_OK;
}

static void handle_init(struct eotp_state_handle *h,
                        const struct eotp_logger *lg)
{
    memset(h, 0, sizeof(*h));
    h->dirfd = -1;
    h->lockfd = -1;
    h->lg = lg;
}

int eotp_state_lock(const char *dir, const char *user,
                    const struct eotp_logger *lg, struct eotp_state_handle *h)
{
    char name[sizeof(h->name) - 8];

    handle_init(h, lg);
    if (eotp_state_user_name(user, name, sizeof(name)) != EOTP_OK) {
        eotp_log(lg, LOG_ERR, "state: user name too long for a state file");
        return EOTP_E_STATE;
    }
    return lock_record(dir, name, lg, h);
}

int eotp_state_lock_rhost(const char *dir, const char *rhost,
                          const unsigned char key[EOTP_HOSTKEY_LEN],
                          const struct eotp_logger *lg,
                          struct eotp_state_handle *h)
{
    char name[64];

    handle_init(h, lg);
    if (eotp_state_rhost_name(rhost, key, name, sizeof(name)) != EOTP_OK) {
        eotp_log(lg, LOG_ERR, "state: cannot name the remote host record");
        return EOTP_E_STATE;
    }
    return lock_record(dir, name, lg, h);
}

int eotp_state_lock_rhost_hash(const char *dir, const char *hex,
                               const struct eotp_logger *lg,
                               struct eotp_state_handle *h)
{
    char name[64];

    handle_init(h, lg);
    if (eotp_state_rhost_hash_name(hex, name, sizeof(name)) != EOTP_OK) {
        eotp_log(lg, LOG_ERR, "state: cannot name the remote host record");
        return EOTP_E_STATE;
    }
    return lock_record(dir, name, lg, h);
}

static bool name_chars_ok(const char *s, const char *extra, size_t max)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        char c = s[n];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr(extra, c) != NULL)) {
            return false;
        }
    }
    return n > 0 && n <= max;
}

int eotp_state_lock_generic(const char *dir, const char *ns, const char *id,
                            const struct eotp_logger *lg,
                            struct eotp_state_handle *h)
{
    char name[128];

    handle_init(h, lg);
    if (!name_chars_ok(ns, "_", 15) ||
        !name_chars_ok(id, "_.-ABCDEFGHIJKLMNOPQRSTUVWXYZ", 64)) {
        eotp_log(lg, LOG_ERR, "state: bad generic record name");
        return EOTP_E_INTERNAL;
    }
    (void)snprintf(name, sizeof(name), "%s%s-%s", GENERIC_PREFIX, ns, id);
    return lock_record(dir, name, lg, h);
}

int eotp_state_peek_generic(const char *dir, const char *ns, const char *id,
                            const struct eotp_logger *lg,
                            struct eotp_state *st)
{
    struct eotp_state_handle h;
    int r;

    handle_init(&h, lg);
    memset(st, 0, sizeof(*st));
    if (!name_chars_ok(ns, "_", 15) ||
        !name_chars_ok(id, "_.-ABCDEFGHIJKLMNOPQRSTUVWXYZ", 64)) {
        eotp_log(lg, LOG_ERR, "state: bad generic record name");
        return EOTP_E_INTERNAL;
    }
    (void)snprintf(h.name, sizeof(h.name), "%s%s-%s", GENERIC_PREFIX, ns, id);
    h.dirfd = eotp_state_dir_open(dir, false, lg);
    if (h.dirfd < 0) {
        r = h.dirfd == -2 ? EOTP_OK : EOTP_E_STATE;
        h.dirfd = -1;
        return r;
    }
    r = eotp_state_load(&h, st);
    eotp_state_unlock(&h);
    return r;
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

/* ---- parsing ------------------------------------------------------------ */

static bool hex_ok(const char *s, size_t want)
{
    size_t n = 0;

    for (; *s != '\0'; s++, n++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) {
            return false;
        }
    }
    return n == want;
}

static bool time_ok(const char *s, long long *out)
{
    long v = 0;

    if (eotp_parse_long(s, 0, 1L << 40, &v) != EOTP_OK) {
        return false;
    }
    *out = v;
    return true;
}

/* Split s in place at single spaces into exactly want non-empty fields. */
static bool split(char *s, char **f, size_t want)
{
    size_t n = 0;

    for (;;) {
        char *sp = strchr(s, ' ');

        if (n == want || *s == '\0' || s == sp) {
            return false;
        }
        f[n++] = s;
        if (sp == NULL) {
            break;
        }
        *sp = '\0';
        s = sp + 1;
    }
    return n == want;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a;
    long long y = *(const long long *)b;

    return (x > y) - (x < y);
}

static bool parse_events(char *v, struct eotp_events *ev)
{
    if (ev->n != 0) {
        return false; /* given twice */
    }
    while (*v != '\0') {
        char *comma = strchr(v, ',');

        if (comma != NULL) {
            *comma = '\0';
        }
        if (ev->n == EOTP_EVENTS_MAX || !time_ok(v, &ev->t[ev->n])) {
            return false;
        }
        ev->n++;
        if (comma == NULL) {
            break;
        }
        v = comma + 1;
        if (*v == '\0') {
            return false;
        }
    }
    if (ev->n == 0) {
        return false;
    }
    qsort(ev->t, ev->n, sizeof(ev->t[0]), cmp_ll);
    return true;
}

static bool parse_pending(char *v, struct eotp_state *s)
{
    struct eotp_pending *p;
    char *f[4];

    if (s->npending == EOTP_PENDING_MAX || !split(v, f, 4) ||
        !eotp_api_token_ok(f[0], EOTP_MSGID_MAX) || !hex_ok(f[1], 64) ||
        !eotp_api_token_ok(f[2], EOTP_CHANNEL_MAX)) {
        return false;
    }
    p = &s->pending[s->npending];
    if (!time_ok(f[3], &p->time)) {
        return false;
    }
    (void)snprintf(p->id, sizeof(p->id), "%s", f[0]);
    (void)snprintf(p->key, sizeof(p->key), "%s", f[1]);
    (void)snprintf(p->channel, sizeof(p->channel), "%s", f[2]);
    s->npending++;
    return true;
}

static bool parse_code(char *v, struct eotp_state *s)
{
    struct eotp_localcode *c;
    char *f[8];
    long long wrong = 0;

    if (s->ncodes == EOTP_LOCALCODES_MAX || !split(v, f, 8) ||
        !hex_ok(f[0], EOTP_CODE_ID_HEX - 1) ||
        !eotp_api_token_ok(f[1], EOTP_MSGID_MAX) || !hex_ok(f[2], 64) ||
        !hex_ok(f[3], 64) || !eotp_api_token_ok(f[4], EOTP_CHANNEL_MAX)) {
        return false;
    }
    c = &s->codes[s->ncodes];
    if (!time_ok(f[5], &c->created) || !time_ok(f[6], &c->expires) ||
        !time_ok(f[7], &wrong) || wrong > 1000) {
        return false;
    }
    (void)snprintf(c->id, sizeof(c->id), "%s", f[0]);
    (void)snprintf(c->msgid, sizeof(c->msgid), "%s", f[1]);
    (void)snprintf(c->key, sizeof(c->key), "%s", f[2]);
    (void)snprintf(c->mac, sizeof(c->mac), "%s", f[3]);
    (void)snprintf(c->channel, sizeof(c->channel), "%s", f[4]);
    c->wrong = (int)wrong;
    s->ncodes++;
    return true;
}

static bool parse_grace(char *v, struct eotp_state *s)
{
    struct eotp_grace *g;
    char *f[2];

    if (s->ngrace == EOTP_GRACE_MAX || !split(v, f, 2) || !hex_ok(f[0], 64)) {
        return false;
    }
    g = &s->grace[s->ngrace];
    if (!time_ok(f[1], &g->time)) {
        return false;
    }
    (void)snprintf(g->mac, sizeof(g->mac), "%s", f[0]);
    s->ngrace++;
    return true;
}

static bool parse_window(const char *v, long max, long *out)
{
    return eotp_parse_long(v, 1, max, out) == EOTP_OK;
}

/*
 * A list without a window (version 2, or a line missing): keep it for the
 * longest window any config can have, never shorter than it needs.
 */
static void default_windows(struct eotp_state *s)
{
    if (s->sends.n > 0 && s->sends.window == 0) {
        s->sends.window = EOTP_WINDOW_MAX;
    }
    if (s->wrong.n > 0 && s->wrong.window == 0) {
        s->wrong.window = EOTP_WINDOW_MAX;
    }
    if (s->ngrace > 0 && s->grace_window == 0) {
        s->grace_window = EOTP_GRACE_WINDOW_MAX;
    }
}

static bool value_text_ok(const char *v)
{
    size_t n = 0;

    for (; v[n] != '\0'; n++) {
        if ((unsigned char)v[n] < 0x20 || (unsigned char)v[n] > 0x7e) {
            return false;
        }
    }
    return n < EOTP_STATE_VALUE_MAX;
}

/* "EXPIRES TEXT" (TEXT may be empty or hold spaces). */
static bool parse_value(char *v, struct eotp_state *s)
{
    char *sp = strchr(v, ' ');

    if (s->has_value || sp == NULL) {
        return false;
    }
    *sp = '\0';
    if (!time_ok(v, &s->value_expires) || !value_text_ok(sp + 1)) {
        return false;
    }
    (void)snprintf(s->value, sizeof(s->value), "%s", sp + 1);
    s->has_value = true;
    return true;
}

/* One line (without its newline); false when it is not acceptable. */
static bool parse_line(char *line, struct eotp_state *s)
{
    char *eq = strchr(line, '=');
    char *v;

    if (eq == NULL) {
        return false;
    }
    *eq = '\0';
    v = eq + 1;
    if (strcmp(line, "send") == 0) {
        return parse_events(v, &s->sends);
    }
    if (strcmp(line, "wrong") == 0) {
        return parse_events(v, &s->wrong);
    }
    if (strcmp(line, "pending") == 0) {
        return parse_pending(v, s);
    }
    if (strcmp(line, "code") == 0) {
        return parse_code(v, s);
    }
    if (strcmp(line, "grace") == 0) {
        return parse_grace(v, s);
    }
    if (strcmp(line, "value") == 0) {
        return parse_value(v, s);
    }
    if (strcmp(line, "value_order") == 0) {
        long o = 0;

        if (s->has_value_order ||
            eotp_parse_long(v, 0, 9007199254740991L, &o) != EOTP_OK) {
            return false;
        }
        s->has_value_order = true;
        s->value_order = o;
        return true;
    }
    if (strcmp(line, "send_window") == 0) {
        return parse_window(v, EOTP_WINDOW_MAX, &s->sends.window);
    }
    if (strcmp(line, "wrong_window") == 0) {
        return parse_window(v, EOTP_WINDOW_MAX, &s->wrong.window);
    }
    if (strcmp(line, "grace_window") == 0) {
        return parse_window(v, EOTP_GRACE_WINDOW_MAX, &s->grace_window);
    }
    /* Unknown keys are skipped: a newer version may add some. */
    return eotp_api_token_ok(line, 32);
}

int eotp_state_parse(const char *text, size_t len, struct eotp_state *st)
{
    struct eotp_state *s = NULL;
    char *buf = NULL;
    char *line;
    char *next;
    bool first = true;
    bool ended = false;
    int r = EOTP_E_STATE;

    if (len == 0) {
        memset(st, 0, sizeof(*st));
        return EOTP_OK;
    }
    if (len > EOTP_STATE_MAX_SIZE || memchr(text, '\0', len) != NULL) {
        return EOTP_E_STATE;
    }
    s = calloc(1, sizeof(*s));
    buf = malloc(len + 1);
    if (s == NULL || buf == NULL) {
        r = EOTP_E_NOMEM;
        goto out;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    for (line = buf; *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next == NULL || ended) {
            /* No newline (truncated), or text after the end line. */
            goto out;
        }
        *next++ = '\0';
        if (first) {
            if (strcmp(line, "version=3") != 0 &&
                strcmp(line, "version=2") != 0) {
                goto out;
            }
            first = false;
            continue;
        }
        if (strcmp(line, "end=") == 0) {
            ended = true;
            continue;
        }
        if (!parse_line(line, s)) {
            goto out;
        }
    }
    if (!ended) {
        goto out; /* truncated at a line boundary */
    }
    default_windows(s);
    *st = *s;
    r = EOTP_OK;
out:
    eotp_freezero(buf, len + 1);
    eotp_freezero(s, sizeof(*s));
    return r;
}

struct out {
    char *buf;
    size_t len;
    size_t used;
    bool overflow;
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->overflow) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->len - o->used) {
        o->overflow = true;
        return;
    }
    o->used += (size_t)n;
}

static bool time_in_range(long long t)
{
    return t >= 0 && t <= (1LL << 40);
}

static long window_out(long w, long max)
{
    return w <= 0 || w > max ? max : w;
}

static void put_events(struct out *o, const char *name,
                       const struct eotp_events *ev)
{
    bool first = true;

    for (size_t i = 0; i < ev->n; i++) {
        if (time_in_range(ev->t[i])) {
            if (first) {
                put(o, "%s=%lld", name, ev->t[i]);
            } else {
                put(o, ",%lld", ev->t[i]);
            }
            first = false;
        }
    }
    if (!first) {
        put(o, "\n%s_window=%ld\n", name,
            window_out(ev->window, EOTP_WINDOW_MAX));
    }
}

/* s when the parser will take it back, else fallback. */
static const char *tok(const char *s, size_t max, const char *fallback)
{
    return eotp_api_token_ok(s, max) ? s : fallback;
}

/*
 * The writer never produces what the parser would refuse: an entry that
 * does not fit the format is left out (a record that reads as corrupt
 * would lose its limits).
 */
int eotp_state_format(const struct eotp_state *st, char *buf, size_t len)
{
    struct out o = {buf, len, 0, false};
    size_t ngrace = 0;

    if (len == 0) {
        return EOTP_E_STATE;
    }
    put(&o, "version=3\n");
    put_events(&o, "send", &st->sends);
    put_events(&o, "wrong", &st->wrong);
    for (size_t i = 0; i < st->npending; i++) {
        const struct eotp_pending *p = &st->pending[i];

        if (!eotp_api_token_ok(p->id, EOTP_MSGID_MAX) || !hex_ok(p->key, 64) ||
            !time_in_range(p->time)) {
            continue;
        }
        put(&o, "pending=%s %s %s %lld\n", p->id, p->key,
            tok(p->channel, EOTP_CHANNEL_MAX, "unknown"), p->time);
    }
    for (size_t i = 0; i < st->ncodes; i++) {
        const struct eotp_localcode *c = &st->codes[i];

        if (!hex_ok(c->id, EOTP_CODE_ID_HEX - 1) || !hex_ok(c->key, 64) ||
            !hex_ok(c->mac, 64) || !time_in_range(c->created) ||
            !time_in_range(c->expires)) {
            continue;
        }
        put(&o, "code=%s %s %s %s %s %lld %lld %d\n", c->id,
            tok(c->msgid, EOTP_MSGID_MAX, "none"), c->key, c->mac,
            tok(c->channel, EOTP_CHANNEL_MAX, "unknown"), c->created,
            c->expires,
            c->wrong < 0      ? 0
            : c->wrong > 1000 ? 1000
                              : c->wrong);
    }
    for (size_t i = 0; i < st->ngrace; i++) {
        const struct eotp_grace *g = &st->grace[i];

        if (hex_ok(g->mac, 64) && time_in_range(g->time)) {
            put(&o, "grace=%s %lld\n", g->mac, g->time);
            ngrace++;
        }
    }
    if (ngrace > 0) {
        put(&o, "grace_window=%ld\n",
            window_out(st->grace_window, EOTP_GRACE_WINDOW_MAX));
    }
    if (st->has_value && time_in_range(st->value_expires) &&
        memchr(st->value, '\0', sizeof(st->value)) != NULL &&
        value_text_ok(st->value)) {
        put(&o, "value=%lld %s\n", st->value_expires, st->value);
        if (st->has_value_order) {
            put(&o, "value_order=%lld\n", st->value_order);
        }
    }
    put(&o, "end=\n");
    if (o.overflow || o.used > EOTP_STATE_MAX_SIZE) {
        return EOTP_E_STATE;
    }
    return (int)o.used;
}

bool eotp_state_is_empty(const struct eotp_state *st)
{
    return st->sends.n == 0 && st->wrong.n == 0 && st->npending == 0 &&
           st->ncodes == 0 && st->ngrace == 0 && !st->has_value;
}

/* ---- reading and writing ------------------------------------------------ */

int eotp_state_load(struct eotp_state_handle *h, struct eotp_state *st)
{
    char fname[sizeof(h->name) + 8];
    char *buf = NULL;
    struct stat sb;
    size_t used = 0;
    int fd;
    int r;

    memset(st, 0, sizeof(*st));
    (void)snprintf(fname, sizeof(fname), "%s.state", h->name);
    fd = openat(h->dirfd, fname,
                O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return EOTP_OK;
        }
        if (errno == ELOOP) {
            /* A symlink in place of the record: never followed. */
            eotp_log(h->lg, LOG_WARNING,
                     "state: ignoring untrustworthy file=%s reason=symlink",
                     fname);
            return EOTP_OK;
        }
        eotp_log(h->lg, LOG_ERR, "state: cannot read file=%s error=\"%s\"",
                 fname, strerror(errno));
        return EOTP_E_STATE;
    }
    /* The mode does not matter: state_dir itself is 0700 root. */
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != 0 ||
        sb.st_size > EOTP_STATE_MAX_SIZE) {
        (void)close(fd);
        eotp_log(h->lg, LOG_WARNING,
                 "state: ignoring untrustworthy or oversized file=%s", fname);
        return EOTP_OK;
    }
    buf = malloc(EOTP_STATE_MAX_SIZE + 1);
    if (buf == NULL) {
        (void)close(fd);
        return EOTP_E_NOMEM;
    }
    for (;;) {
        ssize_t n = read(fd, buf + used, EOTP_STATE_MAX_SIZE + 1 - used);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        used += (size_t)n;
        if (used > EOTP_STATE_MAX_SIZE) {
            break;
        }
    }
    (void)close(fd);
    r = eotp_state_parse(buf, used, st);
    eotp_freezero(buf, EOTP_STATE_MAX_SIZE + 1);
    if (r == EOTP_E_NOMEM) {
        return r;
    }
    if (r != EOTP_OK) {
        memset(st, 0, sizeof(*st));
        eotp_log(h->lg, LOG_WARNING, "state: corrupt file=%s treated as empty",
                 fname);
    }
    return EOTP_OK;
}

static int write_all(int fd, const char *buf, size_t n)
{
    size_t off = 0;

    while (off < n) {
        ssize_t w = write(fd, buf + off, n - off);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

/*
 * Write buf to dirfd/name atomically: tmpname, fsync when durable, rename.
 * Without the fsync a power failure may lose the update (or leave an empty
 * file, which reads as an empty record); a crash of the process cannot.
 */
static int replace_file(int dirfd, const char *name, const char *tmpname,
                        const void *buf, size_t n, bool durable,
                        const struct eotp_logger *lg)
{
    int fd;

    (void)unlinkat(dirfd, tmpname, 0);
    fd = openat(dirfd, tmpname,
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        eotp_log(lg, LOG_ERR, "state: cannot write file=%s error=\"%s\"",
                 tmpname, strerror(errno));
        return EOTP_E_STATE;
    }
    if (write_all(fd, buf, n) != 0 || (durable && fsync(fd) != 0)) {
        eotp_log(lg, LOG_ERR, "state: short write file=%s", tmpname);
        (void)close(fd);
        (void)unlinkat(dirfd, tmpname, 0);
        return EOTP_E_STATE;
    }
    (void)close(fd);
    if (renameat(dirfd, tmpname, dirfd, name) != 0) {
        eotp_log(lg, LOG_ERR, "state: cannot rename file=%s error=\"%s\"",
                 name, strerror(errno));
        (void)unlinkat(dirfd, tmpname, 0);
        return EOTP_E_STATE;
    }
    return EOTP_OK;
}

int eotp_state_remove(struct eotp_state_handle *h)
{
    char fname[sizeof(h->name) + 8];
    char lockname[sizeof(h->name) + 8];

    if (h->dirfd < 0 || h->lockfd < 0) {
        return EOTP_E_STATE;
    }
    (void)snprintf(fname, sizeof(fname), "%s.state", h->name);
    (void)snprintf(lockname, sizeof(lockname), "%s.lock", h->name);
    if (unlinkat(h->dirfd, fname, 0) != 0 && errno != ENOENT) {
        eotp_log(h->lg, LOG_ERR, "state: cannot remove file=%s error=\"%s\"",
                 fname, strerror(errno));
        return EOTP_E_STATE;
    }
    /* Waiters notice that the lock file is gone and take a new one. */
    (void)unlinkat(h->dirfd, lockname, 0);
    return EOTP_OK;
}

int eotp_state_save(struct eotp_state_handle *h, const struct eotp_state *st)
{
    char fname[sizeof(h->name) + 8];
    char tmpname[sizeof(h->name) + 8];
    char *buf;
    int n;
    int r;

    if (h->dirfd < 0 || h->lockfd < 0) {
        return EOTP_E_STATE;
    }
    if (eotp_state_is_empty(st)) {
        return eotp_state_remove(h);
    }
    buf = malloc(EOTP_STATE_MAX_SIZE + 1);
    if (buf == NULL) {
        return EOTP_E_NOMEM;
    }
    n = eotp_state_format(st, buf, EOTP_STATE_MAX_SIZE + 1);
    if (n < 0) {
        eotp_log(h->lg, LOG_ERR, "state: record too large name=%s", h->name);
        free(buf);
        return EOTP_E_STATE;
    }
    (void)snprintf(fname, sizeof(fname), "%s.state", h->name);
    (void)snprintf(tmpname, sizeof(tmpname), "%s.tmp", h->name);
    r = replace_file(h->dirfd, fname, tmpname, buf, (size_t)n, h->sync, h->lg);
    eotp_freezero(buf, EOTP_STATE_MAX_SIZE + 1);
    return r;
}

int eotp_state_pending_key(const char *template_id, const char *dest,
                           char out[EOTP_HEX256])
{
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
    eotp_hex_encode(md, 32, out);
    return EOTP_OK;
}

/* ---- the host key ------------------------------------------------------- */

/* 1: key read, 0: missing, -1: present but unusable. */
static int read_hostkey(int dirfd, unsigned char key[EOTP_HOSTKEY_LEN])
{
    struct stat sb;
    size_t used = 0;
    int fd = openat(dirfd, HOSTKEY_NAME,
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0) {
        return errno == ENOENT ? 0 : -1;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != 0 ||
        (sb.st_mode & 077) != 0 || sb.st_size != EOTP_HOSTKEY_LEN) {
        (void)close(fd);
        return -1;
    }
    while (used < EOTP_HOSTKEY_LEN) {
        ssize_t n = read(fd, key + used, EOTP_HOSTKEY_LEN - used);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        used += (size_t)n;
    }
    (void)close(fd);
    if (used != EOTP_HOSTKEY_LEN) {
        eotp_memzero(key, EOTP_HOSTKEY_LEN);
        return -1;
    }
    return 1;
}

int eotp_state_hostkey(const char *dir, const struct eotp_logger *lg,
                       unsigned char key[EOTP_HOSTKEY_LEN])
{
    unsigned char fresh[EOTP_HOSTKEY_LEN];
    int dirfd = eotp_state_dir_open(dir, true, lg);
    int lockfd = -1;
    int got;
    int r = EOTP_E_STATE;

    if (dirfd < 0) {
        return EOTP_E_STATE;
    }
    if (read_hostkey(dirfd, key) == 1) {
        r = EOTP_OK;
        goto out;
    }
    lockfd = take_lock(dirfd, HOSTKEY_NAME ".lock", EOTP_STATE_LOCK_WAIT_MS,
                       lg);
    if (lockfd < 0) {
        goto out;
    }
    got = read_hostkey(dirfd, key); /* another process may have made it */
    if (got == 1) {
        r = EOTP_OK;
        goto out;
    }
    if (got < 0) {
        eotp_log(lg, LOG_WARNING,
                 "state: host key file damaged, replacing it (local codes "
                 "and grace periods start afresh)");
    }
    if (RAND_bytes(fresh, sizeof(fresh)) != 1) {
        eotp_log(lg, LOG_ERR, "state: no random bytes for the host key");
        goto out;
    }
    r = replace_file(dirfd, HOSTKEY_NAME, HOSTKEY_NAME ".tmp", fresh,
                     sizeof(fresh), true, lg);
    if (r == EOTP_OK) {
        memcpy(key, fresh, sizeof(fresh));
    }
out:
    eotp_memzero(fresh, sizeof(fresh));
    if (lockfd >= 0) {
        (void)close(lockfd);
    }
    (void)close(dirfd);
    return r;
}

/* ---- pruning ------------------------------------------------------------ */

static long window_clamp(long w, long max)
{
    return w < 0 ? 0 : w > max ? max : w;
}

static void prune_events(struct eotp_events *ev, long need, long long now)
{
    long w = ev->n > 0 ? window_clamp(ev->window, EOTP_WINDOW_MAX) : 0;
    size_t o = 0;

    need = window_clamp(need, EOTP_WINDOW_MAX);
    if (need > w) {
        w = need;
    }
    for (size_t i = 0; i < ev->n; i++) {
        long long t = ev->t[i];

        /* Keep events inside the window; one from further in the future
         * than a whole window means a broken clock or record. */
        if (w > 0 && t > now - w && t <= now + w) {
            ev->t[o++] = t;
        }
    }
    ev->n = o;
    ev->window = o > 0 ? w : need;
}

void eotp_state_prune(struct eotp_state *st,
                      const struct eotp_state_need *need, long long now)
{
    long gw = st->ngrace > 0
                  ? window_clamp(st->grace_window, EOTP_GRACE_WINDOW_MAX)
                  : 0;
    long gneed = window_clamp(need->grace, EOTP_GRACE_WINDOW_MAX);
    size_t o = 0;

    prune_events(&st->sends, need->send, now);
    prune_events(&st->wrong, need->wrong, now);
    for (size_t i = 0; i < st->npending; i++) {
        long long age = now - st->pending[i].time;

        if (age >= -60 && age < EOTP_PENDING_MAX_AGE) {
            st->pending[o++] = st->pending[i];
        }
    }
    st->npending = o;
    o = 0;
    for (size_t i = 0; i < st->ncodes; i++) {
        const struct eotp_localcode *c = &st->codes[i];

        /* Expired, or a lifetime longer than any code_ttl: gone. */
        if (now < c->expires && c->expires - c->created <= 600 &&
            c->created <= now + 60) {
            st->codes[o++] = *c;
        }
    }
    for (size_t i = o; i < st->ncodes; i++) {
        eotp_memzero(&st->codes[i], sizeof(st->codes[i]));
    }
    st->ncodes = o;
    if (gneed > gw) {
        gw = gneed;
    }
    o = 0;
    for (size_t i = 0; i < st->ngrace; i++) {
        long long age = now - st->grace[i].time;

        if (age >= 0 && age < gw) {
            st->grace[o++] = st->grace[i];
        }
    }
    st->ngrace = o;
    st->grace_window = o > 0 ? gw : gneed;
    if (st->has_value && (st->value_expires <= now ||
                          st->value_expires > now + EOTP_REC_TTL_MAX)) {
        st->has_value = false;
        st->value_expires = 0;
        eotp_memzero(st->value, sizeof(st->value));
    }
    if (!st->has_value) {
        st->has_value_order = false;
        st->value_order = 0;
    }
}

/* ---- the sweep ---------------------------------------------------------- */

/* Is now the time for a sweep?  Claims it by touching the marker. */
static bool sweep_due(int dirfd, time_t now)
{
    struct stat sb;
    int fd;

    if (fstatat(dirfd, SWEEP_NAME, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISREG(sb.st_mode) && sb.st_mtime <= now &&
        now - sb.st_mtime < SWEEP_INTERVAL) {
        return false;
    }
    fd = openat(dirfd, SWEEP_NAME,
                O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                0600);
    if (fd < 0) {
        return false;
    }
    (void)futimens(fd, NULL);
    (void)close(fd);
    return true;
}

/* base.state / base.lock / base.tmp of one of our records, else false. */
static bool record_base(const char *name, char *base, size_t baselen)
{
    static const char *const suffixes[] = {".state", ".lock", ".tmp"};
    size_t n = strlen(name);

    if (name[0] == '.' ||
        (name[0] == '+' &&
         strncmp(name, RHOST_PREFIX, sizeof(RHOST_PREFIX) - 1) != 0 &&
         strncmp(name, GENERIC_PREFIX, sizeof(GENERIC_PREFIX) - 1) != 0)) {
        return false; /* the host key, the sweep marker, ... */
    }
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        size_t sl = strlen(suffixes[i]);

        if (n > sl && strcmp(name + n - sl, suffixes[i]) == 0 &&
            n - sl < baselen) {
            memcpy(base, name, n - sl);
            base[n - sl] = '\0';
            return true;
        }
    }
    return false;
}

static bool old_or_missing(int dirfd, const char *name, time_t now,
                           long max_age)
{
    struct stat sb;

    if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        return errno == ENOENT;
    }
    return sb.st_mtime <= now && now - sb.st_mtime > max_age;
}

/* Does the record (locked by lockfd) hold anything that still counts
 * under its own windows?  A record that cannot be read counts as empty. */
static bool record_live(int dirfd, int lockfd, const char *base, time_t now,
                        const struct eotp_logger *lg)
{
    static const struct eotp_state_need none = {0, 0, 0};
    struct eotp_state_handle h;
    struct eotp_state *st = calloc(1, sizeof(*st));
    bool live = true; /* out of memory: keep it */

    if (st == NULL) {
        return true;
    }
    handle_init(&h, lg);
    h.dirfd = dirfd;
    h.lockfd = lockfd;
    (void)snprintf(h.name, sizeof(h.name), "%s", base);
    if (eotp_state_load(&h, st) == EOTP_OK) {
        eotp_state_prune(st, &none, (long long)now);
        live = !eotp_state_is_empty(st);
    }
    eotp_freezero(st, sizeof(*st));
    return live;
}

static void sweep_one(int dirfd, const char *base, time_t now,
                      const struct eotp_logger *lg)
{
    const long min_age = EOTP_PENDING_MAX_AGE + 60;
    char fname[300];
    char lockname[300];
    char tmpname[300];
    struct stat sb;
    int fd;

    (void)snprintf(fname, sizeof(fname), "%s.state", base);
    (void)snprintf(lockname, sizeof(lockname), "%s.lock", base);
    (void)snprintf(tmpname, sizeof(tmpname), "%s.tmp", base);
    if (!old_or_missing(dirfd, fname, now, min_age)) {
        return;
    }
    /* Only a lock file or temp file left, or an old record.  Take the
     * lock without waiting; a record in use is left alone. */
    if (fstatat(dirfd, lockname, &sb, AT_SYMLINK_NOFOLLOW) != 0 &&
        fstatat(dirfd, fname, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        if (old_or_missing(dirfd, tmpname, now, min_age)) {
            (void)unlinkat(dirfd, tmpname, 0);
        }
        return;
    }
    fd = take_lock(dirfd, lockname, 0, NULL);
    if (fd < 0) {
        return;
    }
    /* Nobody holds the lock: whoever opens the lock file next notices
     * that it is gone (take_lock) and makes a new one.  The record goes
     * only when nothing in it counts under its own windows, whatever the
     * config of the login that runs the sweep. */
    if (old_or_missing(dirfd, fname, now, min_age) &&
        !record_live(dirfd, fd, base, now, lg)) {
        (void)unlinkat(dirfd, fname, 0);
        (void)unlinkat(dirfd, tmpname, 0);
        (void)unlinkat(dirfd, lockname, 0);
    }
    (void)close(fd);
}

void eotp_state_sweep(const char *dir, const struct eotp_logger *lg)
{
    time_t now = time(NULL);
    int dirfd = eotp_state_dir_open(dir, true, lg);
    int scanfd;
    DIR *d;
    struct dirent *e;
    unsigned long seen = 0;

    if (dirfd < 0) {
        return;
    }
    if (!sweep_due(dirfd, now)) {
        (void)close(dirfd);
        return;
    }
    scanfd = dup(dirfd);
    d = scanfd >= 0 ? fdopendir(scanfd) : NULL;
    if (d == NULL) {
        if (scanfd >= 0) {
            (void)close(scanfd);
        }
        (void)close(dirfd);
        return;
    }
    while ((e = readdir(d)) != NULL && seen++ < SWEEP_MAX_ENTRIES) {
        char base[256];

        if (record_base(e->d_name, base, sizeof(base))) {
            sweep_one(dirfd, base, now, lg);
        }
    }
    (void)closedir(d);
    (void)close(dirfd);
    eotp_debug(lg, "state: swept dir entries=%lu", seen);
}

/* ---- entries ------------------------------------------------------------ */

struct eotp_pending *eotp_state_find_pending(struct eotp_state *st,
                                             const char *key)
{
    for (size_t i = st->npending; i > 0; i--) {
        if (strcmp(st->pending[i - 1].key, key) == 0) {
            return &st->pending[i - 1];
        }
    }
    return NULL;
}

void eotp_state_del_pending(struct eotp_state *st, const char *id)
{
    size_t o = 0;

    for (size_t i = 0; i < st->npending; i++) {
        if (strcmp(st->pending[i].id, id) != 0) {
            st->pending[o++] = st->pending[i];
        }
    }
    st->npending = o;
}

void eotp_state_put_pending(struct eotp_state *st,
                            const struct eotp_pending *p)
{
    size_t o = 0;

    /* One pending code per template and destination; the oldest goes. */
    for (size_t i = 0; i < st->npending; i++) {
        if (strcmp(st->pending[i].key, p->key) != 0) {
            st->pending[o++] = st->pending[i];
        }
    }
    st->npending = o;
    if (st->npending == EOTP_PENDING_MAX) {
        memmove(&st->pending[0], &st->pending[1],
                (EOTP_PENDING_MAX - 1) * sizeof(st->pending[0]));
        st->npending--;
    }
    st->pending[st->npending++] = *p;
}

struct eotp_localcode *eotp_state_find_code(struct eotp_state *st,
                                            const char *id)
{
    for (size_t i = 0; i < st->ncodes; i++) {
        if (strcmp(st->codes[i].id, id) == 0) {
            return &st->codes[i];
        }
    }
    return NULL;
}

struct eotp_localcode *eotp_state_latest_code(struct eotp_state *st,
                                              const char *key, long long now)
{
    for (size_t i = st->ncodes; i > 0; i--) {
        struct eotp_localcode *c = &st->codes[i - 1];

        if (strcmp(c->key, key) == 0 && now < c->expires) {
            return c;
        }
    }
    return NULL;
}

void eotp_state_del_code(struct eotp_state *st, const char *id)
{
    size_t o = 0;

    for (size_t i = 0; i < st->ncodes; i++) {
        if (strcmp(st->codes[i].id, id) != 0) {
            st->codes[o++] = st->codes[i];
        }
    }
    for (size_t i = o; i < st->ncodes; i++) {
        eotp_memzero(&st->codes[i], sizeof(st->codes[i]));
    }
    st->ncodes = o;
}

void eotp_state_put_code(struct eotp_state *st, const struct eotp_localcode *c)
{
    if (st->ncodes == EOTP_LOCALCODES_MAX) {
        memmove(&st->codes[0], &st->codes[1],
                (EOTP_LOCALCODES_MAX - 1) * sizeof(st->codes[0]));
        st->ncodes--;
    }
    st->codes[st->ncodes++] = *c;
}
