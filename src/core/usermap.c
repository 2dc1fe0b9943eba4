/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usermap.c - streaming lookup in the user map.
 */
#include "usermap.h"

#include "dest.h"
#include "err.h"
#include "phone.h"
#include "safefile.h"
#include "secret.h"
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EOTP_HEX_SHA256 65

void eotp_dests_free(struct eotp_dests *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->dest[i]);
        d->dest[i] = NULL;
    }
    d->n = 0;
}

/*
 * Trim blanks around the span [s, *e) and end it with a NUL (at *e or
 * before it).  The ends are known, so no strlen(): the map is scanned line
 * by line at every login.
 */
static char *trim_span(char *s, char **e)
{
    char *end = *e;

    while (s < end && (*s == ' ' || *s == '\t')) {
        s++;
    }
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
                       end[-1] == '\n')) {
        end--;
    }
    *end = '\0';
    *e = end;
    return s;
}

static bool user_ok(const char *u, size_t len)
{
    if (len == 0 || len > 256) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)u[i];

        if (c <= 0x20 || c == 0x7f || c == ':' || c == ',') {
            return false;
        }
    }
    return true;
}

/* One line, split: the user field and the destinations, normalised. */
struct parsed {
    char *user; /* into the line; NULL when no user can be told */
    size_t ulen;
    size_t n;
    char dest[EOTP_MAX_DESTS][EOTP_DEST_MAX + 1];
    const char *why; /* what is wrong with a malformed line */
};

/*
 * Split the line [line, line + len) (line[len] is its NUL) in place.
 * Comments and blank lines give EOTP_E_NOT_FOUND.  A malformed line gives
 * EOTP_E_CONFIG with p->why set and, when the line still names someone
 * (the text before ':', or its first word when there is no ':'), p->user:
 * a line that names the user but cannot be read is that user's
 * configuration error, never "no line".  With only_user set, the
 * destinations of lines naming someone else are not checked (the line is
 * EOTP_E_NOT_FOUND for the caller unless it is only_user's).
 */
static int split_line(char *line, size_t len, const char *default_cc,
                      const char *only_user, size_t only_len, struct parsed *p)
{
    char *end = line + len;
    char *colon;
    char *u;
    char *rest;
    char *next;

    p->user = NULL;
    p->ulen = 0;
    p->n = 0;
    p->why = NULL;
    line = trim_span(line, &end);
    if (line == end || *line == '#') {
        return EOTP_E_NOT_FOUND;
    }
    colon = memchr(line, ':', (size_t)(end - line));
    if (colon == NULL) {
        char *w = line;

        while (w < end && *w != ' ' && *w != '\t') {
            w++;
        }
        p->user = line;
        p->ulen = (size_t)(w - line);
        p->why = "no ':' after the user name";
        return EOTP_E_CONFIG;
    }
    rest = colon + 1;
    u = trim_span(line, &colon);
    p->user = u;
    p->ulen = (size_t)(colon - u);
    if (!user_ok(u, p->ulen)) {
        p->why = "the user name is empty, too long or holds blanks or ','";
        return EOTP_E_CONFIG;
    }
    if (only_user != NULL &&
        (p->ulen != only_len || memcmp(u, only_user, only_len) != 0)) {
        return EOTP_E_NOT_FOUND;
    }
    for (; rest != NULL; rest = next) {
        char *it_end;
        char *it;
        int nr;

        next = memchr(rest, ',', (size_t)(end - rest));
        it_end = next != NULL ? next++ : end;
        it = trim_span(rest, &it_end);
        if (*it == '\0') {
            p->why = "an empty destination";
            return EOTP_E_CONFIG;
        }
        if (p->n == EOTP_MAX_DESTS) {
            p->why = "more than 4 destinations";
            return EOTP_E_CONFIG;
        }
        nr = eotp_phone_normalize_dest(it, default_cc, p->dest[p->n],
                                       sizeof(p->dest[p->n]));
        if (nr == EOTP_E_CONFIG) {
            p->why = "a phone number without a country code (write +CC... "
                     "or set default_country)";
            return EOTP_E_CONFIG;
        }
        if (nr != EOTP_OK) {
            p->why = strchr(it, '@') != NULL
                         ? "not a valid email address"
                         : "not a phone number (+CC and digits, spaces, "
                           "'-', '.' or '(...)') or an email address";
            return EOTP_E_CONFIG;
        }
        p->n++;
    }
    return EOTP_OK;
}

/* Copies of the n destinations into out. */
static int copy_dests(const struct parsed *p, struct eotp_dests *out)
{
    struct eotp_dests d = {{NULL}, 0, 0};

    for (size_t i = 0; i < p->n; i++) {
        d.dest[i] = strdup(p->dest[i]);
        if (d.dest[i] == NULL) {
            eotp_dests_free(&d);
            return EOTP_E_NOMEM;
        }
        d.n++;
    }
    *out = d;
    return EOTP_OK;
}

int eotp_usermap_parse_line(char *line, const char *default_cc, char **user,
                            struct eotp_dests *out)
{
    struct parsed p;
    int r = split_line(line, strlen(line), default_cc, NULL, 0, &p);

    if (r != EOTP_OK) {
        return r;
    }
    r = copy_dests(&p, out);
    if (r != EOTP_OK) {
        return r;
    }
    p.user[p.ulen] = '\0';
    *user = p.user;
    return EOTP_OK;
}

/* A line reader on the descriptor: read(2) in blocks, memchr() for ends. */
struct lines {
    int fd;
    size_t pos;
    size_t len;
    bool eof;
    char buf[16384];
};

/*
 * Read the next line into out (without its newline) and its length into
 * *outn.  Returns 1 for a line, 0 at end of file, -1 for a line that is
 * too long for out or holds a NUL byte (out holds what came before the
 * NUL or what fits, the rest is skipped), -2 for a read error.
 */
static int next_line(struct lines *lr, char *out, size_t outlen, size_t *outn)
{
    size_t n = 0;
    size_t used = 0;
    bool bad = false;

    for (;;) {
        const char *start;
        const char *nl;
        size_t seg;

        if (lr->pos == lr->len) {
            ssize_t got;

            if (lr->eof) {
                break;
            }
            got = read(lr->fd, lr->buf, sizeof(lr->buf));
            if (got < 0 && errno == EINTR) {
                continue;
            }
            if (got < 0) {
                return -2;
            }
            if (got == 0) {
                lr->eof = true;
                break;
            }
            lr->pos = 0;
            lr->len = (size_t)got;
        }
        start = lr->buf + lr->pos;
        nl = memchr(start, '\n', lr->len - lr->pos);
        seg = nl != NULL ? (size_t)(nl - start) : lr->len - lr->pos;
        used += seg + (nl != NULL ? 1 : 0);
        lr->pos += seg + (nl != NULL ? 1 : 0);
        if (!bad) {
            /* A bad line keeps what fits before the NUL or the limit:
             * enough to tell whom it names. */
            const char *nul = memchr(start, '\0', seg);
            size_t take = nul != NULL ? (size_t)(nul - start) : seg;

            if (nul != NULL || n + take >= outlen) {
                bad = true;
                take = n + take >= outlen ? outlen - 1 - n : take;
            }
            memcpy(out + n, start, take);
            n += take;
        }
        if (nl != NULL) {
            break;
        }
    }
    if (used == 0) {
        return 0;
    }
    out[n] = '\0';
    *outn = n;
    return bad ? -1 : 1;
}

/* ---- remembering a checked map ------------------------------------------ */

/*
 * The warnings about other users' lines come once per change of the map,
 * not at every login.  After a full check the module writes a small file
 * to state_dir, named after a hash of the map's path:
 *
 *   version dev ino mtime.sec mtime.nsec ctime.sec ctime.nsec size sha256 cc
 *
 * A later login whose map has the same identity (device, inode, times and
 * size) and default_country reads only up to the user's line and says
 * nothing about other lines.  When the identity differs the file is
 * hashed: the same content (and default_country) as recorded means the
 * map was only touched or copied back, and nothing is said either; other
 * content is checked in full, every bad line logged once, and the record
 * replaced.  Without a usable state_dir (not root's 0700, or not
 * creatable) every login checks in full.  Two logins that see a changed
 * map at the same moment may both warn: the record is best effort and
 * decides nothing but logging.
 */

#define MARK_PREFIX "+usermap-"
#define MARK_VERSION "1"
#define MARK_MAX 512

struct mapid {
    unsigned long long dev;
    unsigned long long ino;
    long long mtime;
    long mtime_ns;
    long long ctime;
    long ctime_ns;
    long long size;
    char hash[EOTP_HEX_SHA256];
    char cc[8];
};

static void mapid_from_stat(const struct stat *sb, const char *cc,
                            struct mapid *id)
{
    memset(id, 0, sizeof(*id));
    id->dev = (unsigned long long)sb->st_dev;
    id->ino = (unsigned long long)sb->st_ino;
    id->mtime = (long long)sb->st_mtim.tv_sec;
    id->mtime_ns = sb->st_mtim.tv_nsec;
    id->ctime = (long long)sb->st_ctim.tv_sec;
    id->ctime_ns = sb->st_ctim.tv_nsec;
    id->size = (long long)sb->st_size;
    (void)snprintf(id->cc, sizeof(id->cc), "%s",
                   cc != NULL && cc[0] != '\0' ? cc : "-");
}

static void hex_of(const unsigned char *md, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * n] = '\0';
}

/* sha256 of the whole file on fd, read from the start; fd is rewound. */
static int sha256_fd(int fd, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char buf[16384];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int r = EOTP_E_FILE;

    if (ctx == NULL) {
        return EOTP_E_NOMEM;
    }
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        goto out;
    }
    for (;;) {
        ssize_t got = read(fd, buf, sizeof(buf));

        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            goto out;
        }
        if (got == 0) {
            break;
        }
        if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1) {
            goto out;
        }
    }
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32 ||
        lseek(fd, 0, SEEK_SET) != 0) {
        goto out;
    }
    hex_of(md, 32, out);
    r = EOTP_OK;
out:
    EVP_MD_CTX_free(ctx);
    return r;
}

/* The record's name: a hash of the map's path (FNV-1a; a collision only
 * makes two maps share a record, and warn more often). */
static void mark_name(const char *path, char *name, size_t namelen)
{
    unsigned long long h = 14695981039346656037ULL;

    for (const unsigned char *p = (const unsigned char *)path; *p != '\0';
         p++) {
        h = (h ^ *p) * 1099511628211ULL;
    }
    (void)snprintf(name, namelen, "%s%016llx", MARK_PREFIX, h);
}

/* The recorded identity, or false when there is none usable. */
static bool mark_read(int dirfd, const char *name, struct mapid *id)
{
    char buf[MARK_MAX + 1];
    char version[8];
    char *p;
    char *end;
    struct stat sb;
    ssize_t got;
    int fd;

    fd = openat(dirfd, name,
                O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        return false;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != 0 ||
        sb.st_size > MARK_MAX) {
        (void)close(fd);
        return false;
    }
    got = read(fd, buf, MARK_MAX);
    (void)close(fd);
    if (got <= 0) {
        return false;
    }
    buf[got] = '\0';
    memset(id, 0, sizeof(*id));
    /* Fields separated by single spaces, the line ended by '\n'. */
    p = buf;
    {
        char *f[10];
        size_t nf = 0;

        end = strchr(p, '\n');
        if (end == NULL || end[1] != '\0') {
            return false;
        }
        *end = '\0';
        while (nf < 10) {
            f[nf++] = p;
            p = strchr(p, ' ');
            if (p == NULL) {
                break;
            }
            *p++ = '\0';
        }
        if (nf != 10 || p != NULL) {
            return false;
        }
        (void)snprintf(version, sizeof(version), "%s", f[0]);
        if (strcmp(version, MARK_VERSION) != 0 ||
            strlen(f[8]) != EOTP_HEX_SHA256 - 1 ||
            strlen(f[9]) >= sizeof(id->cc)) {
            return false;
        }
        {
            unsigned long long u[2];
            long long ll[5];
            const char *nums[7] = {f[1], f[2], f[3], f[4], f[5], f[6], f[7]};

            for (size_t i = 0; i < 7; i++) {
                char *e = NULL;

                errno = 0;
                if (i < 2) {
                    u[i] = strtoull(nums[i], &e, 10);
                } else {
                    ll[i - 2] = strtoll(nums[i], &e, 10);
                }
                if (errno != 0 || e == nums[i] || *e != '\0') {
                    return false;
                }
            }
            id->dev = u[0];
            id->ino = u[1];
            id->mtime = ll[0];
            id->mtime_ns = (long)ll[1];
            id->ctime = ll[2];
            id->ctime_ns = (long)ll[3];
            id->size = ll[4];
        }
        memcpy(id->hash, f[8], EOTP_HEX_SHA256);
        memcpy(id->cc, f[9], strlen(f[9]) + 1);
    }
    return true;
}

static bool same_file(const struct mapid *a, const struct mapid *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->mtime == b->mtime &&
           a->mtime_ns == b->mtime_ns && a->ctime == b->ctime &&
           a->ctime_ns == b->ctime_ns && a->size == b->size &&
           strcmp(a->cc, b->cc) == 0;
}

/* Replace the record (temp file and rename); best effort. */
static void mark_write(int dirfd, const char *name, const struct mapid *id)
{
    char tmp[96];
    char line[MARK_MAX];
    int n;
    int fd;

    n = snprintf(line, sizeof(line),
                 "%s %llu %llu %lld %ld %lld %ld %lld %s %s\n", MARK_VERSION,
                 id->dev, id->ino, id->mtime, id->mtime_ns, id->ctime,
                 id->ctime_ns, id->size, id->hash, id->cc);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        return;
    }
    (void)snprintf(tmp, sizeof(tmp), "%s.tmp", name);
    (void)unlinkat(dirfd, tmp, 0);
    fd = openat(dirfd, tmp,
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return;
    }
    if (write(fd, line, (size_t)n) != n) {
        (void)close(fd);
        (void)unlinkat(dirfd, tmp, 0);
        return;
    }
    (void)close(fd);
    if (renameat(dirfd, tmp, dirfd, name) != 0) {
        (void)unlinkat(dirfd, tmp, 0);
    }
}

/* ---- the scan ------------------------------------------------------------ */

struct scan_opts {
    const char *user;       /* whose line is wanted; NULL: none */
    const char *default_cc; /* for national numbers; NULL: none */
    bool warn;              /* check every line and log the bad ones */
};

/*
 * Stream the map from fd.  With opts->warn every line is checked and each
 * malformed one logged; otherwise lines naming someone else are skipped
 * unread and the scan stops at the user's line.  A line that names the
 * user and cannot be read is an error for the user (EOTP_E_CONFIG), never
 * "no line".
 */
static int scan_fd(int fd, const char *safe_path, const struct scan_opts *o,
                   const struct eotp_logger *lg, struct eotp_dests *out,
                   unsigned long *lines, unsigned long *bad)
{
    char buf[EOTP_USERMAP_LINE_MAX + 2];
    struct parsed *p;
    struct lines *lr;
    unsigned long lineno = 0;
    size_t user_len = o->user != NULL ? strlen(o->user) : 0;
    bool found = false;
    int r = EOTP_E_UNMAPPED;

    p = malloc(sizeof(*p));
    lr = malloc(sizeof(*lr));
    if (p == NULL || lr == NULL) {
        free(p);
        free(lr);
        return EOTP_E_NOMEM;
    }
    lr->fd = fd;
    lr->pos = lr->len = 0;
    lr->eof = false;
    for (;;) {
        size_t len = 0;
        int got = next_line(lr, buf, sizeof(buf), &len);
        bool mine;
        int pr;

        if (got == 0) {
            break;
        }
        if (got == -2) {
            eotp_log(lg, LOG_ERR, "user map: read error file=%s", safe_path);
            if (r == EOTP_OK) {
                eotp_dests_free(out);
            }
            r = EOTP_E_FILE;
            break;
        }
        lineno++;
        pr = split_line(buf, len, o->default_cc, o->warn ? NULL : o->user,
                        user_len, p);
        if (got < 0 && !(pr == EOTP_E_NOT_FOUND && p->user != NULL)) {
            pr = EOTP_E_CONFIG;
            p->why = "longer than 1024 bytes or holds a NUL byte";
        }
        if (pr == EOTP_E_NOT_FOUND) {
            continue;
        }
        mine = !found && o->user != NULL && p->user != NULL &&
               p->ulen == user_len && memcmp(p->user, o->user, user_len) == 0;
        if (pr != EOTP_OK) {
            (*bad)++;
            if (mine) {
                char safe_user[EOTP_FIELD_MAX];

                eotp_log(lg, LOG_ERR,
                         "user map: unreadable line for the user file=%s "
                         "line=%lu user=%s reason=\"%s\"",
                         safe_path, lineno,
                         eotp_sanitize(safe_user, sizeof(safe_user), o->user,
                                       true),
                         p->why);
                r = EOTP_E_CONFIG;
                found = true;
            } else if (o->warn) {
                eotp_log(lg, LOG_WARNING,
                         "user map: malformed line ignored file=%s line=%lu "
                         "reason=\"%s\"",
                         safe_path, lineno, p->why);
            }
        } else {
            (*lines)++;
            if (mine) {
                r = copy_dests(p, out);
                if (r == EOTP_OK) {
                    out->lineno = lineno;
                }
                found = true;
            }
        }
        if (found && !o->warn) {
            break;
        }
    }
    eotp_memzero(p, sizeof(*p));
    free(p);
    free(lr);
    eotp_memzero(buf, sizeof(buf));
    return r;
}

static int open_map(const char *path, const char *safe_path,
                    const struct eotp_logger *lg, int *fd)
{
    char why[160];
    int r = eotp_safefile_open(path, EOTP_SF_PUBLIC, EOTP_USERMAP_MAX_SIZE, fd,
                               why, sizeof(why));

    if (r != EOTP_OK) {
        eotp_log(lg, LOG_ERR, "user map: refusing file=%s reason=\"%s\"",
                 safe_path, why);
    }
    return r;
}

int eotp_usermap_lookup(const char *path, const char *user,
                        const struct eotp_usermap_opts *opts,
                        const struct eotp_logger *lg, struct eotp_dests *out)
{
    char safe_path[EOTP_FIELD_MAX];
    char name[64];
    struct scan_opts o = {user, NULL, true};
    struct mapid now;
    struct mapid old;
    struct stat sb;
    unsigned long lines = 0;
    unsigned long bad = 0;
    bool have_old = false;
    bool remember = false;
    int dirfd = -1;
    int fd = -1;
    int r;

    if (opts != NULL) {
        o.default_cc = opts->default_cc;
    }
    eotp_sanitize(safe_path, sizeof(safe_path), path, true);
    r = open_map(path, safe_path, lg, &fd);
    if (r != EOTP_OK) {
        return r;
    }
    if (opts != NULL && fstat(fd, &sb) == 0) {
        mark_name(path, name, sizeof(name));
        dirfd = eotp_state_dir_open(opts->state_dir, true, NULL);
    }
    if (dirfd >= 0) {
        mapid_from_stat(&sb, o.default_cc, &now);
        have_old = mark_read(dirfd, name, &old);
        if (have_old && same_file(&now, &old)) {
            o.warn = false; /* checked already: this very file */
        } else if (sha256_fd(fd, now.hash) == EOTP_OK) {
            /* Touched or copied back, same content: nothing new to say. */
            o.warn = !(have_old && strcmp(now.hash, old.hash) == 0 &&
                       strcmp(now.cc, old.cc) == 0);
            remember = true;
        }
    }
    /* From the start, whatever the hash left: a read that failed half-way
     * must not make the scan miss the user's line (unmapped, PAM_IGNORE). */
    if (lseek(fd, 0, SEEK_SET) != 0) {
        eotp_log(lg, LOG_ERR, "user map: cannot read file=%s", safe_path);
        r = EOTP_E_FILE;
    } else {
        r = scan_fd(fd, safe_path, &o, lg, out, &lines, &bad);
    }
    if (remember && r != EOTP_E_FILE && r != EOTP_E_NOMEM) {
        mark_write(dirfd, name, &now);
    }
    if (dirfd >= 0) {
        (void)close(dirfd);
    }
    (void)close(fd);
    return r;
}

int eotp_usermap_check(const char *path, const char *default_cc,
                       const struct eotp_logger *lg, unsigned long *lines,
                       unsigned long *bad)
{
    char safe_path[EOTP_FIELD_MAX];
    struct scan_opts o = {NULL, default_cc, true};
    int fd = -1;
    int r;

    *lines = 0;
    *bad = 0;
    eotp_sanitize(safe_path, sizeof(safe_path), path, true);
    r = open_map(path, safe_path, lg, &fd);
    if (r != EOTP_OK) {
        return r;
    }
    r = scan_fd(fd, safe_path, &o, lg, NULL, lines, bad);
    (void)close(fd);
    return r == EOTP_E_UNMAPPED ? EOTP_OK : r;
}
