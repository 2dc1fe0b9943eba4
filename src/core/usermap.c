/*
 * usermap.c - streaming lookup in the user map.
 */
#include "usermap.h"

#include "dest.h"
#include "err.h"
#include "safefile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/*
 * Check one line of len bytes (line[len] is its NUL) and split it in
 * place, allocating nothing: *user (of *ulen bytes) and item[0..*n) point
 * into line.  Comments and blank lines give EOTP_E_NOT_FOUND, malformed
 * lines EOTP_E_CONFIG.
 */
static int split_line(char *line, size_t len, char **user, size_t *ulen,
                      char *item[EOTP_MAX_DESTS], size_t *n)
{
    char *end = line + len;
    char *colon;
    char *u;
    char *rest;
    char *next;
    size_t k = 0;

    line = trim_span(line, &end);
    if (line == end || *line == '#') {
        return EOTP_E_NOT_FOUND;
    }
    colon = memchr(line, ':', (size_t)(end - line));
    if (colon == NULL) {
        return EOTP_E_CONFIG;
    }
    rest = colon + 1;
    u = trim_span(line, &colon);
    if (!user_ok(u, (size_t)(colon - u))) {
        return EOTP_E_CONFIG;
    }
    for (; rest != NULL; rest = next) {
        char *it_end;
        char *it;

        next = memchr(rest, ',', (size_t)(end - rest));
        it_end = next != NULL ? next++ : end;
        it = trim_span(rest, &it_end);
        if (k == EOTP_MAX_DESTS ||
            eotp_dest_classify(it) == EOTP_DEST_INVALID) {
            return EOTP_E_CONFIG;
        }
        item[k++] = it;
    }
    *user = u;
    *ulen = (size_t)(colon - u);
    *n = k;
    return EOTP_OK;
}

/* Copies of the n items into out. */
static int copy_dests(char *const item[], size_t n, struct eotp_dests *out)
{
    struct eotp_dests d = {{NULL}, 0, 0};

    for (size_t i = 0; i < n; i++) {
        d.dest[i] = strdup(item[i]);
        if (d.dest[i] == NULL) {
            eotp_dests_free(&d);
            return EOTP_E_NOMEM;
        }
        d.n++;
    }
    *out = d;
    return EOTP_OK;
}

int eotp_usermap_parse_line(char *line, char **user, struct eotp_dests *out)
{
    char *item[EOTP_MAX_DESTS];
    char *u = NULL;
    size_t ulen = 0;
    size_t n = 0;
    int r = split_line(line, strlen(line), &u, &ulen, item, &n);

    if (r != EOTP_OK) {
        return r;
    }
    r = copy_dests(item, n, out);
    if (r != EOTP_OK) {
        return r;
    }
    *user = u;
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
 * too long for out or holds a NUL byte (the rest of it is skipped), -2 for
 * a read error.
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
        if (!bad && (memchr(start, '\0', seg) != NULL || n + seg >= outlen)) {
            bad = true;
        }
        if (!bad) {
            memcpy(out + n, start, seg);
            n += seg;
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

/* Stream the map; stop at user's line when user is not NULL. */
static int scan(const char *path, const char *user,
                const struct eotp_logger *lg, struct eotp_dests *out,
                unsigned long *lines, unsigned long *bad)
{
    char why[160];
    char safe_path[EOTP_FIELD_MAX];
    char buf[EOTP_USERMAP_LINE_MAX + 2];
    struct lines lr;
    unsigned long lineno = 0;
    size_t user_len = user != NULL ? strlen(user) : 0;
    bool read_error = false;
    int fd = -1;
    int r;

    eotp_sanitize(safe_path, sizeof(safe_path), path, true);
    r = eotp_safefile_open(path, EOTP_SF_PUBLIC, EOTP_USERMAP_MAX_SIZE, &fd,
                           why, sizeof(why));
    if (r != EOTP_OK) {
        eotp_log(lg, LOG_ERR, "user map: refusing file=%s reason=\"%s\"",
                 safe_path, why);
        return r;
    }
    lr.fd = fd;
    lr.pos = lr.len = 0;
    lr.eof = false;
    r = EOTP_E_UNMAPPED;
    for (;;) {
        char *item[EOTP_MAX_DESTS];
        size_t nitem = 0;
        char *u = NULL;
        size_t ulen = 0;
        size_t len = 0;
        int got = next_line(&lr, buf, sizeof(buf), &len);
        int pr;

        if (got == 0) {
            break;
        }
        if (got == -2) {
            read_error = true;
            break;
        }
        lineno++;
        /* Every line is checked, but only the user's is copied. */
        pr = got < 0 ? EOTP_E_CONFIG
                     : split_line(buf, len, &u, &ulen, item, &nitem);
        if (pr == EOTP_E_NOT_FOUND) {
            continue;
        }
        if (pr != EOTP_OK) {
            (*bad)++;
            eotp_log(lg, LOG_WARNING,
                     "user map: malformed line ignored file=%s line=%lu",
                     safe_path, lineno);
            continue;
        }
        (*lines)++;
        if (user != NULL && ulen == user_len && memcmp(u, user, ulen) == 0) {
            r = copy_dests(item, nitem, out);
            if (r == EOTP_OK) {
                out->lineno = lineno;
            }
            break;
        }
    }
    if (read_error) {
        eotp_log(lg, LOG_ERR, "user map: read error file=%s", safe_path);
        r = EOTP_E_FILE;
    }
    (void)close(fd);
    return r;
}

int eotp_usermap_lookup(const char *path, const char *user,
                        const struct eotp_logger *lg, struct eotp_dests *out)
{
    unsigned long lines = 0;
    unsigned long bad = 0;

    return scan(path, user, lg, out, &lines, &bad);
}

int eotp_usermap_check(const char *path, const struct eotp_logger *lg,
                       unsigned long *lines, unsigned long *bad)
{
    int r;

    *lines = 0;
    *bad = 0;
    r = scan(path, NULL, lg, NULL, lines, bad);
    return r == EOTP_E_UNMAPPED ? EOTP_OK : r;
}
