/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redis_url.h - Redis URLs: rediss://, redis://, unix://, and the bare
 * HOST:PORT of redis_sentinels.  Used by the connection (redis.c), the
 * config checks and doctor.
 */
#ifndef EOTP_REDIS_URL_H
#define EOTP_REDIS_URL_H

#include "cfg.h"

#include <stdbool.h>
#include <stddef.h>

enum eotp_redis_scheme {
    EOTP_REDIS_TLS = 0,   /* rediss:// */
    EOTP_REDIS_PLAIN = 1, /* redis:// */
    EOTP_REDIS_UNIX = 2,  /* unix:///path */
};

#define EOTP_REDIS_HOST_MAX 256
#define EOTP_REDIS_USER_MAX 128
#define EOTP_REDIS_PASS_MAX 512
#define EOTP_REDIS_DB_MAX 1000000

struct eotp_redis_url {
    int scheme;                     /* enum eotp_redis_scheme */
    char host[EOTP_REDIS_HOST_MAX]; /* name, address, or socket path */
    char port[8];                   /* decimal, "" for unix */
    char user[EOTP_REDIS_USER_MAX]; /* "" : no ACL user */
    char pass[EOTP_REDIS_PASS_MAX]; /* secret; "" : none */
    long db;
};

/*
 * Parse one URL: rediss://[[USER]:PASSWORD@]HOST[:PORT][/DB],
 * redis://... (same form), unix:///PATH.  USER and PASSWORD may be
 * percent-encoded; HOST may be an [IPv6] literal; PORT defaults to 6379.
 * A bare HOST:PORT (for redis_sentinels) is accepted when bare_ok and
 * means rediss://HOST:PORT.  Returns 0 or EOTP_E_CONFIG; out is wiped
 * on failure.  Wipe out->pass after use.
 */
int eotp_redis_url_parse(const char *text, bool bare_ok,
                         struct eotp_redis_url *out);

/* Is host a literal loopback address (127.0.0.0/8, ::1)? */
bool eotp_redis_host_is_loopback(const char *host);

/*
 * Is this URL allowed without redis_insecure?  rediss:// and unix:// are;
 * redis:// only to a loopback literal.
 */
bool eotp_redis_url_is_safe(const struct eotp_redis_url *u);

/*
 * The URL with any password replaced by "<redacted>" (for config show
 * and logs); out is always terminated.
 */
char *eotp_redis_url_redact(const char *text, char *out, size_t outlen);

/* Is host an IPv4 or IPv6 address literal? */
bool eotp_redis_host_is_ip(const char *host);

/*
 * The master's address as a sentinel reports it (host, and port_len
 * bytes of port), checked (a host of name or address characters, a
 * port 1-65535) into out, with scheme (the sentinel's own).  false, out
 * wiped, when it is not an address.
 */
bool eotp_redis_url_master(int scheme, const char *host, const char *port,
                           size_t port_len, struct eotp_redis_url *out);

/* Is Redis configured at all (redis_url or redis_sentinels)? */
bool eotp_redis_configured(const struct eotp_cfg *cfg);

#endif
