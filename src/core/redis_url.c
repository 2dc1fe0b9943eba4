/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redis_url.c - Redis URLs (see redis_url.h): parsing, the rules on
 * plaintext, redaction, and a master's address as a sentinel gives it.
 * The connection itself is redis.c.
 */
#include "redis_url.h"

#include "err.h"
#include "secret.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_PORT "6379"

/* ---- URLs -------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Percent-decode s[0..n) into out (size outlen); no NUL or control bytes. */
static bool pct_decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '%') {
            int hi;
            int lo;

            if (i + 2 >= n) {
                return false;
            }
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0) {
                return false;
            }
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || o + 1 >= outlen) {
            return false;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return true;
}

static bool host_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

static bool parse_port(const char *s, size_t n, char out[8])
{
    long v = 0;

    if (n == 0 || n > 5) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535) {
        return false;
    }
    (void)snprintf(out, 8, "%ld", v);
    return true;
}

/* HOST[:PORT] or [V6][:PORT] of length n. */
static bool parse_hostport(const char *s, size_t n, struct eotp_redis_url *u)
{
    const char *hend;
    const char *rest;
    size_t hlen;

    if (n == 0) {
        return false;
    }
    if (s[0] == '[') {
        unsigned char buf[sizeof(struct in6_addr)];

        hend = memchr(s, ']', n);
        if (hend == NULL) {
            return false;
        }
        hlen = (size_t)(hend - s - 1);
        if (hlen == 0 || hlen >= INET6_ADDRSTRLEN) {
            return false;
        }
        memcpy(u->host, s + 1, hlen);
        u->host[hlen] = '\0';
        if (inet_pton(AF_INET6, u->host, buf) != 1) {
            return false;
        }
        rest = hend + 1;
    } else {
        hend = memchr(s, ':', n);
        hlen = hend != NULL ? (size_t)(hend - s) : n;
        if (hlen == 0 || hlen >= sizeof(u->host)) {
            return false;
        }
        for (size_t i = 0; i < hlen; i++) {
            if (!host_char_ok(s[i])) {
                return false;
            }
        }
        memcpy(u->host, s, hlen);
        u->host[hlen] = '\0';
        rest = s + hlen;
    }
    if (rest == s + n) {
        (void)snprintf(u->port, sizeof(u->port), "%s", DEFAULT_PORT);
        return true;
    }
    if (*rest != ':') {
        return false;
    }
    return parse_port(rest + 1, (size_t)(s + n - rest - 1), u->port);
}

int eotp_redis_url_parse(const char *text, bool bare_ok,
                         struct eotp_redis_url *out)
{
    struct eotp_redis_url u;
    const char *p;
    const char *auth_end;
    const char *slash;
    const char *at;
    size_t n;
    int r = EOTP_E_CONFIG;

    memset(&u, 0, sizeof(u));
    if (text == NULL || strlen(text) > 2048) {
        goto out;
    }
    if (strncasecmp(text, "unix://", 7) == 0) {
        p = text + 7;
        n = strlen(p);
        if (p[0] != '/' || n >= sizeof(u.host) || n >= 108) {
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)p[i] < 0x21 || p[i] == 0x7f) {
                goto out;
            }
        }
        u.scheme = EOTP_REDIS_UNIX;
        memcpy(u.host, p, n + 1);
        r = EOTP_OK;
        goto out;
    }
    if (strncasecmp(text, "rediss://", 9) == 0) {
        u.scheme = EOTP_REDIS_TLS;
        p = text + 9;
    } else if (strncasecmp(text, "redis://", 8) == 0) {
        u.scheme = EOTP_REDIS_PLAIN;
        p = text + 8;
    } else if (bare_ok && strstr(text, "://") == NULL) {
        u.scheme = EOTP_REDIS_TLS;
        p = text;
    } else {
        goto out;
    }
    slash = strchr(p, '/');
    auth_end = slash != NULL ? slash : p + strlen(p);
    /* The last '@' before the path ends the user info. */
    at = NULL;
    for (const char *q = p; q < auth_end; q++) {
        if (*q == '@') {
            at = q;
        }
    }
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));

        if (p == text) { /* no credentials in a bare HOST:PORT */
            goto out;
        }
        if (colon == NULL) {
            /* user@host: the password comes from redis_password_file. */
            if (!pct_decode(p, (size_t)(at - p), u.user, sizeof(u.user)) ||
                u.user[0] == '\0') {
                goto out;
            }
        } else if (!pct_decode(p, (size_t)(colon - p), u.user,
                               sizeof(u.user)) ||
                   !pct_decode(colon + 1, (size_t)(at - colon - 1), u.pass,
                               sizeof(u.pass)) ||
                   u.pass[0] == '\0') {
            goto out;
        }
        p = at + 1;
    }
    if (!parse_hostport(p, (size_t)(auth_end - p), &u)) {
        goto out;
    }
    if (slash != NULL && slash[1] != '\0') {
        long db = 0;

        if (p == text ||
            eotp_parse_long(slash + 1, 0, EOTP_REDIS_DB_MAX, &db) != EOTP_OK) {
            goto out;
        }
        u.db = db;
    }
    r = EOTP_OK;
out:
    if (r == EOTP_OK) {
        *out = u;
    } else {
        eotp_memzero(out, sizeof(*out));
    }
    eotp_memzero(&u, sizeof(u));
    return r;
}

bool eotp_redis_host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (inet_pton(AF_INET, host, &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24) == 127;
    }
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        return IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return false;
}

bool eotp_redis_host_is_ip(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 ||
           inet_pton(AF_INET6, host, buf) == 1;
}

bool eotp_redis_url_is_safe(const struct eotp_redis_url *u)
{
    return u->scheme != EOTP_REDIS_PLAIN ||
           eotp_redis_host_is_loopback(u->host);
}

char *eotp_redis_url_redact(const char *text, char *out, size_t outlen)
{
    const char *sep = strstr(text, "://");
    const char *p;
    const char *end;
    const char *at = NULL;
    const char *colon;

    if (outlen == 0) {
        return out;
    }
    if (sep == NULL) {
        (void)snprintf(out, outlen, "%s", text);
        return out;
    }
    p = sep + 3;
    end = strchr(p, '/');
    if (end == NULL) {
        end = p + strlen(p);
    }
    for (const char *q = p; q < end; q++) {
        if (*q == '@') {
            at = q;
        }
    }
    if (at == NULL) {
        (void)snprintf(out, outlen, "%s", text);
        return out;
    }
    colon = memchr(p, ':', (size_t)(at - p));
    if (colon == NULL) {
        colon = at;
    }
    (void)snprintf(out, outlen, "%.*s:<redacted>%s", (int)(colon - text), text,
                   at);
    return out;
}

bool eotp_redis_configured(const struct eotp_cfg *cfg)
{
    return cfg->redis_url != NULL || cfg->redis_sentinels != NULL;
}

bool eotp_redis_url_master(int scheme, const char *host, const char *port,
                           size_t port_len, struct eotp_redis_url *out)
{
    size_t n = strlen(host);

    memset(out, 0, sizeof(*out));
    if (n == 0 || n >= sizeof(out->host) ||
        !parse_port(port, port_len, out->port)) {
        memset(out, 0, sizeof(*out));
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!host_char_ok(host[i]) && host[i] != ':') {
            memset(out, 0, sizeof(*out));
            return false;
        }
    }
    out->scheme = scheme;
    memcpy(out->host, host, n + 1);
    return true;
}
