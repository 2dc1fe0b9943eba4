/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rescue.c - rescue codes (rescue.h): generating, hashing, the rescue
 * file, used marks, and the check a login makes.
 */
#include "rescue.h"

#include "err.h"
#include "keyed.h"
#include "safefile.h"
#include "secret.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* ---- codes ---------------------------------------------------------------- */

int eotp_rescue_generate(char *out, size_t outlen)
{
    unsigned char rnd[8];
    unsigned long long bits = 0;
    size_t o = 0;

    if (outlen < EOTP_RESCUE_CODE_LEN + 1) {
        return EOTP_E_INTERNAL;
    }
    if (RAND_bytes(rnd, (int)sizeof(rnd)) != 1) {
        return EOTP_E_INTERNAL;
    }
    for (size_t i = 0; i < sizeof(rnd); i++) {
        bits = (bits << 8) | rnd[i];
    }
    eotp_memzero(rnd, sizeof(rnd));
    for (size_t i = 0; i < EOTP_RESCUE_SYMBOLS; i++) {
        if (i > 0 && i % 4 == 0) {
            out[o++] = '-';
        }
        out[o++] = alphabet[bits & 31u];
        bits >>= 5;
    }
    out[o] = '\0';
    eotp_memzero(&bits, sizeof(bits));
    return EOTP_OK;
}

/* The canonical symbol for c, or 0. */
static char canon_symbol(char c)
{
    if (c >= 'a' && c <= 'z') {
        c = (char)(c - 'a' + 'A');
    }
    if (c == 'O') {
        return '0';
    }
    if (c == 'I' || c == 'L') {
        return '1';
    }
    if (c != '\0' && strchr(alphabet, c) != NULL) {
        return c;
    }
    return 0;
}

bool eotp_rescue_shaped(const char *answer, char *canon, size_t canonlen)
{
    size_t n = 0;

    if (answer == NULL || canonlen < EOTP_RESCUE_SYMBOLS + 1) {
        return false;
    }
    for (const char *p = answer; *p != '\0'; p++) {
        char c;

        if (*p == '-' || *p == ' ') {
            continue;
        }
        c = canon_symbol(*p);
        if (c == 0 || n >= EOTP_RESCUE_SYMBOLS) {
            eotp_memzero(canon, canonlen);
            return false;
        }
        canon[n++] = c;
    }
    if (n != EOTP_RESCUE_SYMBOLS) {
        eotp_memzero(canon, canonlen);
        return false;
    }
    canon[n] = '\0';
    return true;
}

/*
 * crypt_rn, not crypt_r: it returns NULL on failure rather than a "*0"
 * string, and sanitizers do not intercept it (their crypt_r interceptor
 * calls NULL when libcrypt is loaded by dlopen(), as PAM loads us).
 */
int eotp_rescue_hash(const char *canon, char out[EOTP_RESCUE_HASH_MAX])
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd = NULL;
    int r = EOTP_E_INTERNAL;

    cd = calloc(1, sizeof(*cd));
    if (cd == NULL) {
        return EOTP_E_NOMEM;
    }
    if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, (int)sizeof(salt)) == NULL) {
        goto out;
    }
    if (crypt_rn(canon, salt, cd, (int)sizeof(*cd)) == NULL ||
        cd->output[0] != '$' || strlen(cd->output) >= EOTP_RESCUE_HASH_MAX) {
        goto out;
    }
    memcpy(out, cd->output, strlen(cd->output) + 1);
    r = EOTP_OK;
out:
    eotp_freezero(cd, sizeof(*cd));
    return r;
}

bool eotp_rescue_match(const char *canon, const char *hash)
{
    char setting[EOTP_RESCUE_HASH_MAX];
    struct crypt_data *cd = NULL;
    size_t len = strlen(hash);
    bool ok = false;

    if (len == 0 || len >= sizeof(setting)) {
        return false;
    }
    memcpy(setting, hash, len + 1);
    setting[0] = '$'; /* a used mark */
    cd = calloc(1, sizeof(*cd));
    if (cd == NULL) {
        return false;
    }
    if (crypt_rn(canon, setting, cd, (int)sizeof(*cd)) != NULL &&
        cd->output[0] == '$' && strlen(cd->output) == len) {
        ok = eotp_consttime_streq(cd->output, setting);
    }
    eotp_freezero(cd, sizeof(*cd));
    return ok;
}

/* ---- the file ------------------------------------------------------------- */

static bool user_char_ok(char c)
{
    return c > ' ' && c < 0x7f && c != ':';
}

static bool hash_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '$' || c == '.' || c == '/';
}

/* The next space-separated field of line[*pos..len) into [*start, *end). */
static bool next_field(const char *line, size_t len, size_t *pos,
                       size_t *start, size_t *end)
{
    size_t p = *pos;

    if (p >= len) {
        return false;
    }
    *start = p;
    while (p < len && line[p] != ' ') {
        p++;
    }
    *end = p;
    if (p < len) {
        p++; /* the single separator */
        if (p >= len) {
            return false; /* a trailing space */
        }
    }
    *pos = p;
    return *end > *start;
}

int eotp_rescue_parse_line(const char *line, size_t len,
                           struct eotp_rescue_set *set)
{
    size_t pos = 0;
    size_t s;
    size_t e;
    long long issued = 0;

    memset(set, 0, sizeof(*set));
    if (len > EOTP_RESCUE_LINE_MAX) {
        return EOTP_E_CONFIG;
    }
    /* USER */
    if (!next_field(line, len, &pos, &s, &e) || e - s >= sizeof(set->user)) {
        return EOTP_E_CONFIG;
    }
    for (size_t i = s; i < e; i++) {
        if (!user_char_ok(line[i])) {
            return EOTP_E_CONFIG;
        }
    }
    memcpy(set->user, line + s, e - s);
    /* ISSUED: digits, no sign, no leading zeros beyond "0" */
    if (!next_field(line, len, &pos, &s, &e) || e - s > 12 ||
        (line[s] == '0' && e - s > 1)) {
        return EOTP_E_CONFIG;
    }
    for (size_t i = s; i < e; i++) {
        if (line[i] < '0' || line[i] > '9') {
            return EOTP_E_CONFIG;
        }
        issued = issued * 10 + (line[i] - '0');
    }
    set->issued = issued;
    /* HASH... */
    while (next_field(line, len, &pos, &s, &e)) {
        char *h;

        if (set->n >= EOTP_RESCUE_MAX || e - s >= EOTP_RESCUE_HASH_MAX ||
            e - s < 4 || (line[s] != '$' && line[s] != '!') ||
            line[s + 1] != 'y' || line[s + 2] != '$') {
            return EOTP_E_CONFIG;
        }
        for (size_t i = s + 1; i < e; i++) {
            if (!hash_char_ok(line[i])) {
                return EOTP_E_CONFIG;
            }
        }
        h = set->hash[set->n++];
        memcpy(h, line + s, e - s);
        h[e - s] = '\0';
    }
    if (pos < len || set->n == 0) {
        return EOTP_E_CONFIG;
    }
    return EOTP_OK;
}

int eotp_rescue_format_line(const struct eotp_rescue_set *set, char *buf,
                            size_t buflen)
{
    size_t o;
    int n;

    n = snprintf(buf, buflen, "%s %lld", set->user, set->issued);
    if (n < 0 || (size_t)n >= buflen) {
        return EOTP_E_INTERNAL;
    }
    o = (size_t)n;
    for (size_t i = 0; i < set->n; i++) {
        n = snprintf(buf + o, buflen - o, " %s", set->hash[i]);
        if (n < 0 || (size_t)n >= buflen - o) {
            return EOTP_E_INTERNAL;
        }
        o += (size_t)n;
    }
    if (o + 2 > buflen || o > EOTP_RESCUE_LINE_MAX) {
        return EOTP_E_INTERNAL;
    }
    buf[o++] = '\n';
    buf[o] = '\0';
    return EOTP_OK;
}

/* Whether a line is a comment or empty. */
static bool skip_line(const char *line, size_t len)
{
    return len == 0 || line[0] == '#';
}

/*
 * Walk the lines of text: every line must parse; fn (may be NULL) sees
 * each user line with its offset.  Stops early when fn returns true.
 */
struct walk {
    const char *user;
    struct eotp_rescue_set *set; /* scratch, then the user's */
    bool found;
    size_t start; /* the user's line */
    size_t end;   /* after its newline */
    /* eotp_rescue_survey(): every line counted here (NULL: not asked) */
    struct eotp_rescue_survey *sv;
    long long now, soon;
};

static void note(char *first, size_t firstlen, size_t *count, const char *user)
{
    if ((*count)++ == 0) {
        (void)snprintf(first, firstlen, "%s", user);
    }
}

static void survey_line(struct walk *w, const struct eotp_rescue_set *set)
{
    struct eotp_rescue_survey *sv = w->sv;
    size_t used = 0;

    sv->users++;
    if (eotp_rescue_expired(set->issued, w->now)) {
        note(sv->first_expired, sizeof(sv->first_expired), &sv->expired,
             set->user);
        return;
    }
    if (set->issued + EOTP_RESCUE_LIFE - w->now < w->soon) {
        note(sv->first_expiring, sizeof(sv->first_expiring), &sv->expiring,
             set->user);
    }
    for (size_t i = 0; i < set->n; i++) {
        used += set->hash[i][0] == '!' ? 1 : 0;
    }
    if (used == set->n) {
        note(sv->first_spent, sizeof(sv->first_spent), &sv->spent, set->user);
    }
}

static int walk_file(const char *text, size_t len, struct walk *w, char *why,
                     size_t whylen)
{
    size_t pos = 0;
    size_t lineno = 0;
    struct eotp_rescue_set *tmp = NULL;
    int r = EOTP_OK;

    tmp = malloc(sizeof(*tmp));
    if (tmp == NULL) {
        (void)snprintf(why, whylen, "out of memory");
        return EOTP_E_NOMEM;
    }
    w->found = false;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t llen = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
        const char *line = text + pos;
        size_t next = pos + llen + (nl != NULL ? 1 : 0);

        lineno++;
        if (memchr(line, '\0', llen) != NULL) {
            (void)snprintf(why, whylen, "line %zu holds a NUL byte", lineno);
            r = EOTP_E_CONFIG;
            goto out;
        }
        if (!skip_line(line, llen)) {
            if (eotp_rescue_parse_line(line, llen, tmp) != EOTP_OK) {
                (void)snprintf(why, whylen, "line %zu is not valid", lineno);
                r = EOTP_E_CONFIG;
                goto out;
            }
            if (w->sv != NULL) {
                survey_line(w, tmp);
            }
            if (w->user != NULL && strcmp(tmp->user, w->user) == 0) {
                if (w->found) {
                    (void)snprintf(why, whylen,
                                   "line %zu: a second line for the user",
                                   lineno);
                    r = EOTP_E_CONFIG;
                    goto out;
                }
                w->found = true;
                w->start = pos;
                w->end = next;
                if (w->set != NULL) {
                    memcpy(w->set, tmp, sizeof(*tmp));
                }
            }
        }
        pos = next;
    }
out:
    eotp_freezero(tmp, sizeof(*tmp));
    return r;
}

int eotp_rescue_find(const char *text, size_t len, const char *user,
                     struct eotp_rescue_set *set, bool *found, char *why,
                     size_t whylen)
{
    struct walk w;
    int r;

    memset(&w, 0, sizeof(w));
    w.user = user;
    w.set = set;
    *found = false;
    r = walk_file(text, len, &w, why, whylen);
    if (r == EOTP_OK) {
        *found = w.found;
    }
    return r;
}

int eotp_rescue_survey(const char *text, size_t len, long long now,
                       long long soon, struct eotp_rescue_survey *out,
                       char *why, size_t whylen)
{
    struct walk w;
    int r;

    memset(&w, 0, sizeof(w));
    memset(out, 0, sizeof(*out));
    w.sv = out;
    w.now = now;
    w.soon = soon;
    r = walk_file(text, len, &w, why, whylen);
    if (r != EOTP_OK) {
        memset(out, 0, sizeof(*out));
    }
    return r;
}

int eotp_rescue_read(const char *path, char **buf, size_t *len, bool *present,
                     char *why, size_t whylen)
{
    struct stat st;
    int r;

    *buf = NULL;
    *len = 0;
    *present = false;
    if (lstat(path, &st) != 0 && errno == ENOENT) {
        return EOTP_OK; /* no rescue codes on this host */
    }
    r = eotp_safefile_read(path, EOTP_SF_SECRET, EOTP_RESCUE_FILE_MAX, buf,
                           len, why, whylen);
    if (r == EOTP_E_FILE || r == EOTP_E_NOMEM) {
        return r == EOTP_E_NOMEM ? r : EOTP_E_CONFIG;
    }
    *present = r == EOTP_OK;
    return r;
}

int eotp_rescue_load(const char *path, const char *user,
                     struct eotp_rescue_set *set, bool *found, char *why,
                     size_t whylen)
{
    char *buf = NULL;
    size_t len = 0;
    bool present = false;
    int r;

    *found = false;
    r = eotp_rescue_read(path, &buf, &len, &present, why, whylen);
    if (r != EOTP_OK || !present) {
        return r;
    }
    r = eotp_rescue_find(buf, len, user, set, found, why, whylen);
    eotp_freezero(buf, len + 1);
    return r;
}

/* Read a whole descriptor (at most EOTP_RESCUE_FILE_MAX) from offset 0. */
static int read_fd(int fd, char **out, size_t *outlen)
{
    char *b = malloc(EOTP_RESCUE_FILE_MAX + 1);
    size_t used = 0;

    if (b == NULL) {
        return EOTP_E_NOMEM;
    }
    for (;;) {
        ssize_t n = pread(fd, b + used, EOTP_RESCUE_FILE_MAX + 1 - used,
                          (off_t)used);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            free(b);
            return EOTP_E_FILE;
        }
        if (n == 0) {
            break;
        }
        used += (size_t)n;
        if (used > EOTP_RESCUE_FILE_MAX) {
            free(b);
            return EOTP_E_CONFIG;
        }
    }
    b[used] = '\0';
    *out = b;
    *outlen = used;
    return EOTP_OK;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return EOTP_E_FILE;
        }
        buf += n;
        len -= (size_t)n;
    }
    return EOTP_OK;
}

/* The directory part of path into dir ("." when none). */
static int dir_of(const char *path, char *dir, size_t dirlen)
{
    const char *slash = strrchr(path, '/');
    size_t n;

    if (slash == NULL) {
        (void)snprintf(dir, dirlen, ".");
        return EOTP_OK;
    }
    n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= dirlen) {
        return EOTP_E_INTERNAL;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    return EOTP_OK;
}

/*
 * The new file keeps the old one's SELinux label (the login domains may
 * write pam_engagelab_otp_rescue_t, not the directory's default type).
 * Best effort: nothing to copy without SELinux or an old file.
 */
static void copy_label(int from, int to)
{
    char label[256];
    ssize_t n = fgetxattr(from, "security.selinux", label, sizeof(label));

    if (n > 0) {
        (void)fsetxattr(to, "security.selinux", label, (size_t)n, 0);
    }
}

#define MARK_LOCK_WAIT_MS 2000L /* a login's longest wait for the file lock */

/* flock(fd, LOCK_EX), waiting at most wait_ms (< 0: as long as it takes). */
static int lock_within(int fd, long wait_ms)
{
    long waited = 0;

    for (;;) {
        struct timespec ts = {0, 10L * 1000000L};

        if (flock(fd, wait_ms < 0 ? LOCK_EX : LOCK_EX | LOCK_NB) == 0) {
            return 0;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EWOULDBLOCK || waited >= wait_ms) {
            return -1;
        }
        (void)nanosleep(&ts, NULL);
        waited += 10;
    }
}

/*
 * Open path for writing in place, the same file a trust check just
 * accepted (compared by device and inode), and lock it, waiting at most
 * wait_ms for the lock (< 0: no limit).  *fd -1 when the file does not
 * exist.
 */
static int open_locked(const char *path, bool must_exist, long wait_ms,
                       int *fd, char *why, size_t whylen)
{
    for (int tries = 0; tries < 5; tries++) {
        struct stat a;
        struct stat b;
        int rfd = -1;
        int wfd;
        int r;

        *fd = -1;
        if (lstat(path, &a) != 0 && errno == ENOENT) {
            if (must_exist) {
                (void)snprintf(why, whylen, "missing");
                return EOTP_E_FILE;
            }
            return EOTP_OK;
        }
        r = eotp_safefile_open(path, EOTP_SF_SECRET, EOTP_RESCUE_FILE_MAX,
                               &rfd, why, whylen);
        if (r != EOTP_OK) {
            return r == EOTP_E_FILE ? EOTP_E_CONFIG : r;
        }
        wfd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (wfd < 0 || fstat(rfd, &a) != 0 || fstat(wfd, &b) != 0 ||
            a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
            (void)snprintf(why, whylen, "cannot open for writing: %s",
                           wfd < 0 ? strerror(errno) : "replaced");
            (void)close(rfd);
            if (wfd >= 0) {
                (void)close(wfd);
            }
            return EOTP_E_FILE;
        }
        (void)close(rfd);
        if (lock_within(wfd, wait_ms) != 0) {
            (void)snprintf(why, whylen, "cannot lock: %s",
                           errno == EWOULDBLOCK ? "still locked"
                                                : strerror(errno));
            (void)close(wfd);
            return EOTP_E_FILE;
        }
        /* Renamed over while we waited: take the new file. */
        if (stat(path, &a) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            *fd = wfd;
            return EOTP_OK;
        }
        (void)close(wfd);
    }
    (void)snprintf(why, whylen, "replaced too often while opening");
    return EOTP_E_FILE;
}

int eotp_rescue_update(const char *path, const char *user,
                       const struct eotp_rescue_set *set, bool *existed,
                       char *why, size_t whylen)
{
    char lockpath[PATH_MAX];
    char tmppath[PATH_MAX];
    char dir[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    char *line = NULL;
    int lockfd = -1;
    int fd = -1;
    int tfd = -1;
    int dfd = -1;
    struct walk w;
    int r;

    *existed = false;
    memset(&w, 0, sizeof(w));
    tmppath[0] = '\0';
    if (snprintf(lockpath, sizeof(lockpath), "%s.lock", path) >=
            (int)sizeof(lockpath) ||
        snprintf(tmppath, sizeof(tmppath), "%s.XXXXXX", path) >=
            (int)sizeof(tmppath) ||
        dir_of(path, dir, sizeof(dir)) != EOTP_OK) {
        (void)snprintf(why, whylen, "path too long");
        tmppath[0] = '\0';
        return EOTP_E_CONFIG;
    }
    /* Admins one at a time, whatever the file's inode. */
    lockfd = open(lockpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lockfd < 0) {
        (void)snprintf(why, whylen, "cannot open %s: %s", lockpath,
                       strerror(errno));
        tmppath[0] = '\0';
        r = EOTP_E_FILE;
        goto out;
    }
    while (flock(lockfd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            (void)snprintf(why, whylen, "cannot lock: %s", strerror(errno));
            tmppath[0] = '\0';
            r = EOTP_E_FILE;
            goto out;
        }
    }
    /* The file's own lock: no module marks a code while we copy. */
    r = open_locked(path, false, -1, &fd, why, whylen);
    if (r != EOTP_OK) {
        tmppath[0] = '\0';
        goto out;
    }
    if (fd >= 0) {
        r = read_fd(fd, &text, &len);
        if (r != EOTP_OK) {
            (void)snprintf(why, whylen, "cannot read the file");
            tmppath[0] = '\0';
            goto out;
        }
        w.user = user;
        r = walk_file(text, len, &w, why, whylen);
        if (r != EOTP_OK) {
            tmppath[0] = '\0';
            goto out;
        }
        *existed = w.found;
    }
    line = malloc(EOTP_RESCUE_LINE_MAX + 2);
    if (line == NULL) {
        r = EOTP_E_NOMEM;
        tmppath[0] = '\0';
        goto out;
    }
    line[0] = '\0';
    if (set != NULL) {
        r = eotp_rescue_format_line(set, line, EOTP_RESCUE_LINE_MAX + 2);
        if (r != EOTP_OK) {
            (void)snprintf(why, whylen, "line too long");
            tmppath[0] = '\0';
            goto out;
        }
    }
    tfd = mkostemp(tmppath, O_CLOEXEC);
    if (tfd < 0) {
        (void)snprintf(why, whylen, "cannot create a temp file: %s",
                       strerror(errno));
        tmppath[0] = '\0';
        r = EOTP_E_FILE;
        goto out;
    }
    r = fchmod(tfd, 0600) == 0 ? EOTP_OK : EOTP_E_FILE;
    if (fd >= 0) {
        copy_label(fd, tfd);
    }
    if (r == EOTP_OK && text != NULL) {
        if (w.found) {
            r = write_all(tfd, text, w.start);
            if (r == EOTP_OK) {
                r = write_all(tfd, text + w.end, len - w.end);
            }
        } else {
            r = write_all(tfd, text, len);
        }
        /* A last line without its newline. */
        if (r == EOTP_OK && len > 0 &&
            ((w.found && w.end == len && w.start > 0 &&
              text[w.start - 1] != '\n') ||
             (!w.found && text[len - 1] != '\n'))) {
            r = write_all(tfd, "\n", 1);
        }
    }
    if (r == EOTP_OK) {
        r = write_all(tfd, line, strlen(line));
    }
    if (r == EOTP_OK && fsync(tfd) != 0) {
        r = EOTP_E_FILE;
    }
    if (close(tfd) != 0 && r == EOTP_OK) {
        r = EOTP_E_FILE;
    }
    tfd = -1;
    if (r == EOTP_OK && rename(tmppath, path) != 0) {
        r = EOTP_E_FILE;
    }
    if (r != EOTP_OK) {
        (void)snprintf(why, whylen, "cannot write %s: %s", tmppath,
                       strerror(errno));
        goto out;
    }
    tmppath[0] = '\0';
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        (void)snprintf(why, whylen, "cannot sync %s: %s", dir,
                       strerror(errno));
        r = EOTP_E_FILE;
    }
out:
    if (tfd >= 0) {
        (void)close(tfd);
    }
    if (tmppath[0] != '\0') {
        (void)unlink(tmppath);
    }
    if (dfd >= 0) {
        (void)close(dfd);
    }
    if (fd >= 0) {
        (void)close(fd);
    }
    if (lockfd >= 0) {
        (void)close(lockfd);
    }
    if (text != NULL) {
        eotp_freezero(text, len + 1);
    }
    if (line != NULL) {
        eotp_freezero(line, EOTP_RESCUE_LINE_MAX + 2);
    }
    return r;
}

int eotp_rescue_mark_file(const char *path, const char *user, const char *hash,
                          char *why, size_t whylen)
{
    struct eotp_rescue_set *set = NULL;
    struct walk w;
    char *text = NULL;
    size_t len = 0;
    size_t hlen = strlen(hash);
    int fd = -1;
    int r;

    memset(&w, 0, sizeof(w));
    r = open_locked(path, true, MARK_LOCK_WAIT_MS, &fd, why, whylen);
    if (r != EOTP_OK) {
        return r;
    }
    r = read_fd(fd, &text, &len);
    if (r != EOTP_OK) {
        (void)snprintf(why, whylen, "cannot read the file");
        goto out;
    }
    set = malloc(sizeof(*set));
    if (set == NULL) {
        r = EOTP_E_NOMEM;
        goto out;
    }
    w.user = user;
    w.set = set;
    r = walk_file(text, len, &w, why, whylen);
    if (r != EOTP_OK || !w.found) {
        goto out;
    }
    /* Find " hash" (or " !y$...") in the line and set its first byte. */
    for (size_t p = w.start; p + hlen + 1 <= w.end; p++) {
        size_t e = p + 1 + hlen;

        if (text[p] != ' ' || (e < len && text[e] != ' ' && text[e] != '\n')) {
            continue;
        }
        if (memcmp(text + p + 2, hash + 1, hlen - 1) != 0) {
            continue;
        }
        if (text[p + 1] == '$') {
            if (pwrite(fd, "!", 1, (off_t)(p + 1)) != 1 ||
                fdatasync(fd) != 0) {
                (void)snprintf(why, whylen, "cannot write: %s",
                               strerror(errno));
                r = EOTP_E_FILE;
            }
        }
        break;
    }
out:
    if (fd >= 0) {
        (void)close(fd); /* drops the lock */
    }
    if (text != NULL) {
        eotp_freezero(text, len + 1);
    }
    if (set != NULL) {
        eotp_freezero(set, sizeof(*set));
    }
    return r;
}

/* ---- used codes in the store -------------------------------------------- */

int eotp_rescue_id(struct eotp_store *s, const char *user, const char *hash,
                   char id[EOTP_STORE_ID_HEX])
{
    const unsigned char *key = NULL;
    char h[EOTP_RESCUE_HASH_MAX];
    const char *parts[3];
    size_t len = strlen(hash);
    int r;

    if (len == 0 || len >= sizeof(h)) {
        return EOTP_E_INTERNAL;
    }
    memcpy(h, hash, len + 1);
    h[0] = '$';
    r = eotp_store_key(s, &key);
    if (r != EOTP_OK) {
        return r;
    }
    parts[0] = "rescue-v1";
    parts[1] = user;
    parts[2] = h;
    return eotp_keyed_hash(key, parts, 3, id);
}

int eotp_rescue_is_used(struct eotp_store *s,
                        const struct eotp_rescue_set *set, size_t i,
                        bool *used)
{
    char id[EOTP_STORE_ID_HEX];
    char value[EOTP_STORE_VALUE_MAX];
    bool found = false;
    int r;

    *used = true;
    if (i >= set->n) {
        return EOTP_E_INTERNAL;
    }
    if (set->hash[i][0] == '!') {
        return EOTP_OK;
    }
    r = eotp_rescue_id(s, set->user, set->hash[i], id);
    if (r == EOTP_OK) {
        r = eotp_store_rec_get(s, EOTP_RESCUE_NS, id, value, &found);
    }
    if (r == EOTP_OK) {
        *used = found;
    }
    return r;
}

int eotp_rescue_left(struct eotp_store *s, const struct eotp_rescue_set *set,
                     size_t *left)
{
    size_t n = 0;

    for (size_t i = 0; i < set->n; i++) {
        bool used = true;
        int r = eotp_rescue_is_used(s, set, i, &used);

        if (r != EOTP_OK) {
            return r;
        }
        n += used ? 0 : 1;
    }
    *left = n;
    return EOTP_OK;
}

/* ---- a login ---------------------------------------------------------------- */

/* The user's set, or *have false; an unusable file is logged. */
static int load_for_login(const struct eotp_rescue_login *rl,
                          struct eotp_rescue_set *set, bool *have)
{
    const char *path = rl->cfg->rescue_file;
    char why[200];
    char safe[EOTP_FIELD_MAX];
    int r;

    *have = false;
    if (path == NULL || path[0] == '\0') {
        return EOTP_OK;
    }
    why[0] = '\0';
    r = eotp_rescue_load(path, rl->user, set, have, why, sizeof(why));
    if (r == EOTP_E_NOMEM) {
        return r;
    }
    if (r != EOTP_OK) {
        *have = false;
        eotp_log(rl->lg, LOG_ERR,
                 "rescue file not used %s file=%s reason=\"%s\"", rl->log_ids,
                 eotp_sanitize(safe, sizeof(safe), path, true), why);
    } else if (*have &&
               eotp_rescue_expired(set->issued, (long long)time(NULL))) {
        *have = false;
        eotp_log(rl->lg, LOG_NOTICE,
                 "rescue codes not used: expired %s issued=%lld", rl->log_ids,
                 set->issued);
    }
    return EOTP_OK;
}

bool eotp_rescue_expired(long long issued, long long now)
{
    return issued > now + 86400 || now - issued >= EOTP_RESCUE_LIFE;
}

/* Seconds the store keeps a used mark: the set's remaining life and a
 * day, within the store's bounds. */
static long mark_ttl(long long issued, long long now)
{
    long long ttl = issued + EOTP_RESCUE_LIFE - now + 86400;

    if (ttl < 1) {
        return 1;
    }
    return ttl > EOTP_REC_TTL_MAX ? EOTP_REC_TTL_MAX : (long)ttl;
}

int eotp_rescue_available(const struct eotp_rescue_login *rl, bool *have,
                          size_t *left)
{
    struct eotp_rescue_set *set = NULL;
    int r;

    *have = false;
    *left = 0;
    set = malloc(sizeof(*set));
    if (set == NULL) {
        return EOTP_E_NOMEM;
    }
    r = load_for_login(rl, set, have);
    if (r == EOTP_OK && *have) {
        r = eotp_rescue_left(rl->store, set, left);
    }
    if (r == EOTP_OK && *have && eotp_store_degraded(rl->store)) {
        r = EOTP_E_FLEET_UNAVAIL;
    }
    eotp_freezero(set, sizeof(*set));
    return r;
}

/* Record set->hash[i] used: the store decides (atomically, fleet-wide),
 * then the file's mark.  *won false when another login used it first. */
static int use_code(const struct eotp_rescue_login *rl,
                    const struct eotp_rescue_set *set, size_t i, bool *won)
{
    char id[EOTP_STORE_ID_HEX];
    char why[200];
    char safe[EOTP_FIELD_MAX];
    int r;

    *won = false;
    r = eotp_rescue_id(rl->store, set->user, set->hash[i], id);
    if (r == EOTP_OK) {
        r = eotp_store_add_once(rl->store, EOTP_RESCUE_NS, id,
                                mark_ttl(set->issued, (long long)time(NULL)),
                                won);
    }
    if (r != EOTP_OK) {
        return r;
    }
    why[0] = '\0';
    /* Marked even when used elsewhere: another host's use may reach this
     * host's file only this way (the store forgets after the set's life). */
    if (eotp_rescue_mark_file(rl->cfg->rescue_file, set->user, set->hash[i],
                              why, sizeof(why)) != EOTP_OK) {
        eotp_log(rl->lg, LOG_ERR,
                 "rescue code used but not marked in the file %s file=%s "
                 "reason=\"%s\"",
                 rl->log_ids,
                 eotp_sanitize(safe, sizeof(safe), rl->cfg->rescue_file, true),
                 why);
    }
    return EOTP_OK;
}

int eotp_rescue_check(const struct eotp_rescue_login *rl, const char *canon,
                      enum eotp_rescue_verdict *verdict, long *wait)
{
    struct eotp_rescue_set *set = NULL;
    struct eotp_store_finish_req freq;
    struct eotp_store_token tok;
    enum eotp_store_verdict v;
    bool have = false;
    bool unused[EOTP_RESCUE_MAX];
    size_t left = 0;
    bool right = false;
    int r;

    *verdict = EOTP_RESCUE_NONE;
    *wait = 0;
    set = malloc(sizeof(*set));
    if (set == NULL) {
        return EOTP_E_NOMEM;
    }
    r = load_for_login(rl, set, &have);
    if (r != EOTP_OK || !have) {
        goto out;
    }
    for (size_t i = 0; i < set->n; i++) {
        bool used = true;

        r = eotp_rescue_is_used(rl->store, set, i, &used);
        if (r != EOTP_OK) {
            goto out;
        }
        unused[i] = !used;
        left += used ? 0 : 1;
    }
    if (eotp_store_degraded(rl->store)) {
        r = EOTP_E_FLEET_UNAVAIL; /* uses elsewhere unknown: refuse */
        goto out;
    }
    if (left == 0) {
        *verdict = EOTP_RESCUE_ALL_USED;
        goto out;
    }
    r = eotp_store_attempt(rl->store, rl->who, rl->lim, &v, wait, &tok);
    if (r != EOTP_OK) {
        goto out;
    }
    if (v == EOTP_STORE_LOCKED) {
        *verdict = EOTP_RESCUE_LOCKED;
        goto out;
    }
    *wait = 0;
    for (size_t i = 0; i < set->n; i++) {
        if (unused[i] && eotp_rescue_match(canon, set->hash[i])) {
            r = use_code(rl, set, i, &right);
            break;
        }
    }
    if (r == EOTP_OK && right && eotp_store_degraded(rl->store)) {
        right = false; /* recorded on this host only: not enough */
        r = EOTP_E_FLEET_UNAVAIL;
    }
    memset(&freq, 0, sizeof(freq));
    freq.who = rl->who;
    freq.lim = rl->lim;
    freq.tok = tok;
    if (r != EOTP_OK) {
        freq.answer = EOTP_STORE_ANSWER_UNJUDGED;
        (void)eotp_store_finish(rl->store, &freq, wait);
        *wait = 0;
        goto out;
    }
    freq.answer = right ? EOTP_STORE_ANSWER_RIGHT : EOTP_STORE_ANSWER_WRONG;
    r = eotp_store_finish(rl->store, &freq, wait);
    if (r != EOTP_OK) {
        goto out;
    }
    *verdict = right ? EOTP_RESCUE_RIGHT : EOTP_RESCUE_WRONG;
out:
    eotp_freezero(set, sizeof(*set));
    return r;
}
