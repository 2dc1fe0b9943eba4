/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfg.c - the config parser shared by the module and the admin tool.
 */
#include "cfg.h"

#include "ldap.h"
#include "notify.h"
#include "redis_url.h"
#include "safefile.h"
#include "secret.h"
#include "smpp.h"
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum key_type {
    KT_STRING, /* any non-empty text */
    KT_PATH,   /* an absolute path */
    KT_URL,    /* https:// URL */
    KT_LONG,   /* integer in [min, max] */
    KT_ENUM,   /* one of names[], stored as its index */
    KT_BOOL,   /* yes/no/true/false/1/0 */
    KT_RATE,   /* N/SECONDS or off */
    KT_LIST,   /* items checked by the key's item checker */
};


#define KF_SECRET 0x1   /* never a module argument, never shown */
#define KF_REQUIRED 0x2 /* must be set */
#define KF_TRUST 0x4    /* a trust file (CA...): eotp_cfg_check_files() */
/* Holds URLs whose passwords are secret: never a module argument, wiped
 * when freed, shown with the passwords redacted. */
#define KF_URLPW 0x8

struct key {
    const char *name;
    enum key_type type;
    size_t offset;
    long min, max;
    const char *const *names; /* KT_ENUM: NULL-terminated */
    unsigned int flags;
    /* Checks a KT_LIST item or a whole KT_STRING value; true if good. */
    bool (*check)(const char *item);
};

static const char *const failmode_names[] = {"closed", "open", NULL};
static const char *const unmapped_names[] = {"deny", "ignore", NULL};
static const char *const language_names[] = {"default", "zh_CN", "zh_HK",
                                             "en",      "ja",    "th",
                                             "es",      "auto",  NULL};
static const char *const code_mode_names[] = {"platform", "local", NULL};

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

static bool check_source(const char *v)
{
    return strcmp(v, "map") == 0 || strcmp(v, "ldap") == 0;
}

static bool check_uri(const char *v)
{
    /* ldapi:// alone names libldap's default socket. */
    return (strncmp(v, "ldap://", 7) == 0 && v[7] != '\0') ||
           (strncmp(v, "ldaps://", 8) == 0 && v[8] != '\0') ||
           strncmp(v, "ldapi://", 8) == 0;
}

bool eotp_ldap_uri_in_clear(const char *uri)
{
    char host[INET6_ADDRSTRLEN + 2];
    unsigned char a[sizeof(struct in6_addr)];
    const char *h;
    size_t n;

    if (strncmp(uri, "ldap://", 7) != 0) {
        return false; /* ldaps:// is TLS, ldapi:// a local socket */
    }
    h = uri + 7;
    if (*h == '[') {
        const char *end = strchr(h, ']');

        if (end == NULL) {
            return true;
        }
        h++;
        n = (size_t)(end - h);
    } else {
        n = strcspn(h, ":/?");
    }
    if (n == 0 || n >= sizeof(host)) {
        return true; /* no host: ldap.conf's, which may be anywhere */
    }
    memcpy(host, h, n);
    host[n] = '\0';
    if (strcasecmp(host, "localhost") == 0) {
        return false;
    }
    if (inet_pton(AF_INET, host, a) == 1) {
        return a[0] != 127;
    }
    if (inet_pton(AF_INET6, host, a) == 1) {
        const struct in6_addr *in6 = (const struct in6_addr *)(const void *)a;

        return !(IN6_IS_ADDR_LOOPBACK(in6) ||
                 (IN6_IS_ADDR_V4MAPPED(in6) && a[12] == 127));
    }
    return true;
}

static bool check_attr(const char *v)
{
    size_t n = strlen(v);

    if (n == 0 || n > 64 ||
        !((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z'))) {
        return false;
    }
    for (; *v != '\0'; v++) {
        if (!is_alnum(*v) && *v != '-') {
            return false;
        }
    }
    return true;
}

static bool check_group(const char *v)
{
    return *v != '\0' && strlen(v) <= 256 && strchr(v, ':') == NULL;
}

static bool check_cidr(const char *v)
{
    char addr[INET6_ADDRSTRLEN + 1];
    unsigned char buf[sizeof(struct in6_addr)];
    const char *slash = strchr(v, '/');
    size_t alen = slash != NULL ? (size_t)(slash - v) : strlen(v);
    int family;
    long bits = 0;

    if (alen == 0 || alen >= sizeof(addr)) {
        return false;
    }
    memcpy(addr, v, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET, addr, buf) == 1) {
        family = AF_INET;
    } else if (inet_pton(AF_INET6, addr, buf) == 1) {
        family = AF_INET6;
    } else {
        return false;
    }
    if (slash == NULL) {
        return true;
    }
    return eotp_parse_long(slash + 1, 0, family == AF_INET ? 32 : 128,
                           &bits) == EOTP_OK;
}

/* name=template where the template may use %h %s %u %r %c and %%. */
static bool check_param(const char *v)
{
    const char *eq = strchr(v, '=');

    if (eq == NULL || eq == v || eq - v > 32) {
        return false;
    }
    for (const char *p = v; p < eq; p++) {
        if (!is_alnum(*p) && *p != '_') {
            return false;
        }
    }
    for (const char *p = eq + 1; *p != '\0'; p++) {
        if (*p == '%') {
            p++;
            if (*p == '\0' || strchr("hsurc%", *p) == NULL) {
                return false;
            }
        }
    }
    return true;
}

static bool check_alt(const char *v)
{
    const char *colon = strchr(v, ':');
    size_t idlen;

    if (colon == NULL) {
        return false;
    }
    idlen = strlen(colon + 1);
    if (idlen == 0 || idlen > 128) {
        return false;
    }
    return (colon - v == 5 && strncmp(v, "voice", 5) == 0) ||
           (colon - v == 5 && strncmp(v, "email", 5) == 0) ||
           (colon - v == 8 && strncmp(v, "whatsapp", 8) == 0) ||
           (colon - v == 3 && strncmp(v, "sms", 3) == 0);
}

static bool check_country(const char *v)
{
    size_t n = strlen(v);

    if (n == 0 || n > 3 || v[0] == '0') {
        return false;
    }
    for (; *v != '\0'; v++) {
        if (*v < '0' || *v > '9') {
            return false;
        }
    }
    return true;
}

/* help_text: printable ASCII or UTF-8 text, no control characters. */
static bool check_help(const char *v)
{
    while (*v != '\0') {
        size_t n = eotp_utf8_len((const unsigned char *)v);

        if (n == 0 || (n == 1 && ((unsigned char)*v < 0x20 || *v == 0x7f)) ||
            eotp_utf8_is_c1((const unsigned char *)v, n)) {
            return false;
        }
        v += n;
    }
    return true;
}

/* An LDAP filter in parentheses with balanced, unescaped nesting. */
static bool check_filter(const char *v)
{
    int depth = 0;

    if (v[0] != '(' || strlen(v) > 1024) {
        return false;
    }
    for (; *v != '\0'; v++) {
        if (*v == '(') {
            depth++;
        } else if (*v == ')') {
            if (--depth < 0) {
                return false;
            }
        }
    }
    return depth == 0;
}

/* SMPP transport (issue 15). */
static const char *const transport_names[] = {"https", "smpp", NULL};

/* A host name or an IPv4/IPv6 address, as getaddrinfo takes it. */
static bool check_host(const char *v)
{
    if (v[0] == '-' || v[0] == '.') {
        return false;
    }
    for (; *v != '\0'; v++) {
        if (!is_alnum(*v) && *v != '-' && *v != '.' && *v != ':') {
            return false;
        }
    }
    return true;
}

/* ---- Redis (issue 13) ---- */

static bool check_redis_url(const char *v)
{
    struct eotp_redis_url u;
    bool ok = eotp_redis_url_parse(v, false, &u) == EOTP_OK;

    eotp_memzero(&u, sizeof(u));
    return ok;
}

static bool check_redis_sentinel(const char *v)
{
    struct eotp_redis_url u;
    bool ok = eotp_redis_url_parse(v, true, &u) == EOTP_OK &&
              u.scheme != EOTP_REDIS_UNIX && u.db == 0;

    eotp_memzero(&u, sizeof(u));
    return ok;
}

static bool check_redis_name(const char *v)
{
    size_t n = strlen(v);

    if (n == 0 || n > 128) {
        return false;
    }
    for (; *v != '\0'; v++) {
        if (!is_alnum(*v) && strchr("-_.", *v) == NULL) {
            return false;
        }
    }
    return true;
}

/* Printable ASCII without spaces (an SMPP C-Octet String). */
static bool check_system_id(const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v <= 0x20 || *v >= 0x7f) {
            return false;
        }
    }
    return true;
}

static bool check_notify_event(const char *v)
{
    return eotp_notify_event_from_name(v) >= 0;
}

static bool check_redis_user(const char *v)
{
    return strlen(v) <= 128 && strpbrk(v, " \t,:@") == NULL;
}

/* callback_listen: IPv4:PORT, [IPv6]:PORT or *:PORT (issue 14). */
static bool check_listen(const char *v)
{
    struct eotp_listen l;

    return eotp_listen_parse(v, &l) == EOTP_OK;
}

/* callback_username: printable, no ';' or '=' (the X-CALLBACK-ID syntax)
 * and no blanks at either end. */
static bool check_cb_username(const char *v)
{
    size_t n = strlen(v);

    for (size_t i = 0; i < n; i++) {
        if (v[i] < 0x21 || v[i] > 0x7e || v[i] == ';' || v[i] == '=') {
            return false;
        }
    }
    return n > 0;
}

#define OFF(m) offsetof(struct eotp_cfg, m)

static const struct key keys[] = {
    {"api_url", KT_URL, OFF(api_url), 0, 0, NULL, 0, NULL},
    {"dev_key", KT_STRING, OFF(dev_key), 0, 0, NULL, KF_SECRET | KF_REQUIRED,
     NULL},
    {"dev_secret", KT_STRING, OFF(dev_secret), 0, 0, NULL,
     KF_SECRET | KF_REQUIRED, NULL},
    {"ca_file", KT_PATH, OFF(ca_file), 0, 0, NULL, KF_TRUST, NULL},
    {"template_id", KT_STRING, OFF(template_id), 1, 128, NULL, KF_REQUIRED,
     NULL},
    {"language", KT_STRING, OFF(language), 0, 0, language_names, 0, NULL},
    {"user_map", KT_PATH, OFF(user_map), 0, 0, NULL, 0, NULL},
    {"state_dir", KT_PATH, OFF(state_dir), 0, 0, NULL, 0, NULL},
    {"proxy", KT_STRING, OFF(proxy), 0, 0, NULL, 0, NULL},
    {"failmode", KT_ENUM, OFF(failmode), 0, 0, failmode_names, 0, NULL},
    {"unmapped", KT_ENUM, OFF(unmapped), 0, 0, unmapped_names, 0, NULL},
    {"connect_timeout", KT_LONG, OFF(connect_timeout), 1, 60, NULL, 0, NULL},
    {"timeout", KT_LONG, OFF(timeout), 1, 120, NULL, 0, NULL},
    {"deadline", KT_LONG, OFF(deadline), 1, 600, NULL, 0, NULL},
    {"max_attempts", KT_LONG, OFF(max_attempts), 1, 10, NULL, 0, NULL},
    {"debug", KT_BOOL, OFF(debug), 0, 0, NULL, 0, NULL},
    {"user_sources", KT_LIST, OFF(user_sources), 0, 0, NULL, 0, check_source},
    {"ldap_uri", KT_LIST, OFF(ldap_uri), 0, 0, NULL, 0, check_uri},
    {"ldap_base", KT_STRING, OFF(ldap_base), 0, 0, NULL, 0, NULL},
    {"ldap_filter", KT_STRING, OFF(ldap_filter), 0, 0, NULL, 0, check_filter},
    {"ldap_attributes", KT_LIST, OFF(ldap_attributes), 0, 0, NULL, 0,
     check_attr},
    {"ldap_bind_dn", KT_STRING, OFF(ldap_bind_dn), 0, 0, NULL, 0, NULL},
    {"ldap_bind_password_file", KT_PATH, OFF(ldap_bind_password_file), 0, 0,
     NULL, 0, NULL},
    {"ldap_ca_file", KT_PATH, OFF(ldap_ca_file), 0, 0, NULL, KF_TRUST, NULL},
    {"ldap_starttls", KT_BOOL, OFF(ldap_starttls), 0, 0, NULL, 0, NULL},
    {"ldap_timeout", KT_LONG, OFF(ldap_timeout), 1, 60, NULL, 0, NULL},
    /* Plain LDAP to another host only when asked for (issue 11). */
    {"ldap_insecure", KT_BOOL, OFF(ldap_insecure), 0, 0, NULL, 0, NULL},
    {"only_groups", KT_LIST, OFF(only_groups), 0, 0, NULL, 0, check_group},
    {"exempt_groups", KT_LIST, OFF(exempt_groups), 0, 0, NULL, 0, check_group},
    {"exempt_networks", KT_LIST, OFF(exempt_networks), 0, 0, NULL, 0,
     check_cidr},
    {"params", KT_LIST, OFF(params), 0, 0, NULL, 0, check_param},
    {"code_length", KT_LONG, OFF(code_length), 0, 10, NULL, 0, NULL},
    {"code_type", KT_LONG, OFF(code_type), 1, 7, NULL, 0, NULL},
    {"send_limit", KT_RATE, OFF(send_limit), 0, 0, NULL, 0, NULL},
    {"rhost_send_limit", KT_RATE, OFF(rhost_send_limit), 0, 0, NULL, 0, NULL},
    {"lockout", KT_RATE, OFF(lockout), 0, 0, NULL, 0, NULL},
    {"alt_templates", KT_LIST, OFF(alt_templates), 0, 0, NULL, 0, check_alt},
    {"code_mode", KT_ENUM, OFF(code_mode), 0, 0, code_mode_names, 0, NULL},
    {"code_ttl", KT_LONG, OFF(code_ttl), 60, 600, NULL, 0, NULL},
    {"grace_period", KT_LONG, OFF(grace_period), 0, 86400, NULL, 0, NULL},
    /* map-ux: numbers in the user map; what a refused user is told. */
    {"default_country", KT_STRING, OFF(default_country_code), 0, 0, NULL, 0,
     check_country},
    {"help_text", KT_STRING, OFF(help_text), 1, 200, NULL, 0, check_help},
    /* SMPP transport (issue 15); checked together in eotp_cfg_validate. */
    {"transport", KT_ENUM, OFF(transport), 0, 0, transport_names, 0, NULL},
    {"smpp_host", KT_STRING, OFF(smpp_host), 1, 253, NULL, 0, check_host},
    {"smpp_port", KT_LONG, OFF(smpp_port), 1, 65535, NULL, 0, NULL},
    {"smpp_system_id", KT_STRING, OFF(smpp_system_id), 1, 15, NULL, 0,
     check_system_id},
    {"smpp_password_file", KT_PATH, OFF(smpp_password_file), 0, 0, NULL, 0,
     NULL},
    {"smpp_tls", KT_BOOL, OFF(smpp_tls), 0, 0, NULL, 0, NULL},
    {"smpp_ca_file", KT_PATH, OFF(smpp_ca_file), 0, 0, NULL, KF_TRUST, NULL},
    /* Fleet-wide state on Redis (issue 13). */
    {"redis_url", KT_LIST, OFF(redis_url), 0, 0, NULL, KF_URLPW,
     check_redis_url},
    {"redis_sentinels", KT_LIST, OFF(redis_sentinels), 0, 0, NULL, KF_URLPW,
     check_redis_sentinel},
    {"redis_master_name", KT_STRING, OFF(redis_master_name), 0, 0, NULL, 0,
     check_redis_name},
    {"redis_user", KT_STRING, OFF(redis_user), 0, 0, NULL, 0,
     check_redis_user},
    {"redis_password_file", KT_PATH, OFF(redis_password_file), 0, 0, NULL, 0,
     NULL},
    {"redis_ca_file", KT_PATH, OFF(redis_ca_file), 0, 0, NULL, KF_TRUST, NULL},
    {"redis_key_file", KT_PATH, OFF(redis_key_file), 0, 0, NULL, 0, NULL},
    {"redis_timeout", KT_LONG, OFF(redis_timeout), 50, 10000, NULL, 0, NULL},
    {"redis_insecure", KT_BOOL, OFF(redis_insecure), 0, 0, NULL, 0, NULL},
    {"redis_required", KT_BOOL, OFF(redis_required), 0, 0, NULL, 0, NULL},
    /* Redis TLS client certificate (issue 13, mtls): PEM certificate (then
     * its chain) and its root-only key, read through safefile by redis.c
     * only when a server asks for a certificate; both or neither. */
    {"redis_tls_cert", KT_PATH, OFF(redis_tls_cert), 0, 0, NULL, 0, NULL},
    {"redis_tls_key", KT_PATH, OFF(redis_tls_key), 0, 0, NULL, 0, NULL},
    /* Rescue codes (issue 16): checked as a root-only file when read, and
     * an untrusted one is not used (logged), so not KF_TRUST, which would
     * refuse the whole config and every login with it. */
    {"rescue_file", KT_PATH, OFF(rescue_file), 0, 0, NULL, 0, NULL},
    /* Delivery status callback receiver (issue 14).  Its files are checked
     * when "callback serve" reads them (the secrets, the TLS key and the
     * auth file root-only, the certificate root's), and by doctor; never
     * at config load, so that a receiver's file can never fail a login. */
    {"callback_listen", KT_STRING, OFF(callback_listen), 0, 0, NULL, 0,
     check_listen},
    {"callback_username", KT_STRING, OFF(callback_username), 1, 128, NULL, 0,
     check_cb_username},
    {"callback_secret_file", KT_PATH, OFF(callback_secret_file), 0, 0, NULL, 0,
     NULL},
    {"callback_max_age", KT_LONG, OFF(callback_max_age), 10, 86400, NULL, 0,
     NULL},
    {"callback_tls_cert", KT_PATH, OFF(callback_tls_cert), 0, 0, NULL, 0,
     NULL},
    {"callback_tls_key", KT_PATH, OFF(callback_tls_key), 0, 0, NULL, 0, NULL},
    {"callback_auth_file", KT_PATH, OFF(callback_auth_file), 0, 0, NULL, 0,
     NULL},
    /* Delivery status at the prompt (issue 14, delivery_prompt.c). */
    {"delivery_status", KT_BOOL, OFF(delivery_status), 0, 0, NULL, 0, NULL},
    {"delivery_status_wait", KT_LONG, OFF(delivery_status_wait), 1, 1000, NULL,
     0, NULL},
    /* Notifications (issue 16, notify.c). */
    {"notify_template", KT_STRING, OFF(notify_template), 1, 128, NULL, 0,
     NULL},
    {"notify_on", KT_LIST, OFF(notify_on), 0, 0, NULL, 0, check_notify_event},
    {"notify_timeout", KT_LONG, OFF(notify_timeout), 100, 10000, NULL, 0,
     NULL},
    {"notify_limit", KT_RATE, OFF(notify_limit), 0, 0, NULL, 0, NULL},
};

/*
 * Earlier names of keys, still accepted (map-ux): default_country was
 * default_country_code until the user map took national numbers too.
 */
static const struct {
    const char *old;
    const char *name;
} key_aliases[] = {
    {"default_country_code", "default_country"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

_Static_assert(NKEYS <= EOTP_CFG_KEYS_MAX, "raise EOTP_CFG_KEYS_MAX");

/*
 * What a good value looks like, for the message about a bad one (enum
 * keys list their names, numbers their range; keys not here and not
 * otherwise described say only "bad value").
 */
static const struct {
    const char *key;
    const char *valid;
} value_hints[] = {
    {"user_sources", "map, ldap"},
    {"ldap_uri", "ldap://HOST or ldaps://HOST"},
    {"ldap_filter", "an LDAP filter in balanced parentheses, e.g. (uid=%u)"},
    {"ldap_attributes", "attribute names such as mobile, mail"},
    {"default_country_code", "1 to 3 digits, not starting with 0, e.g. 65"},
    {"only_groups", "group names"},
    {"exempt_groups", "group names"},
    {"exempt_networks", "IPv4 or IPv6 addresses or CIDRs, e.g. 10.0.0.0/8"},
    {"params", "name=text, text may use %h %s %u %r %c %%"},
    {"alt_templates",
     "channel:template_id, channel one of sms, whatsapp, email, voice"},
    {"notify_on", EOTP_NOTIFY_EVENT_NAMES},
};

static const char *value_hint(const struct key *k)
{
    for (size_t i = 0; i < sizeof(value_hints) / sizeof(value_hints[0]); i++) {
        if (strcmp(value_hints[i].key, k->name) == 0) {
            return value_hints[i].valid;
        }
    }
    return NULL;
}

/* "closed, open" from a NULL-terminated list of names. */
static const char *join_names(const char *const *names, char *buf,
                              size_t buflen)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; names[i] != NULL; i++) {
        int n = snprintf(buf + used, buflen - used, "%s%s", i > 0 ? ", " : "",
                         names[i]);

        if (n < 0 || (size_t)n >= buflen - used) {
            break;
        }
        used += (size_t)n;
    }
    return buf;
}

/* Edit distance (insert, delete, replace, swap of neighbours), capped. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a);
    size_t lb = strlen(b);
    size_t d[3][65];

    memset(d, 0, sizeof(d));
    if (la > 64 || lb > 64) {
        return SIZE_MAX;
    }
    for (size_t j = 0; j <= lb; j++) {
        d[0][j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t *cur = d[i % 3];
        const size_t *prev = d[(i - 1) % 3];

        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            char ca = a[i - 1];
            char cb = b[j - 1];
            size_t cost = ca == cb ? 0 : 1;
            size_t v = prev[j] + 1;

            if (cur[j - 1] + 1 < v) {
                v = cur[j - 1] + 1;
            }
            if (prev[j - 1] + cost < v) {
                v = prev[j - 1] + cost;
            }
            if (i > 1 && j > 1 && ca == b[j - 2] && a[i - 2] == cb &&
                d[(i - 2) % 3][j - 2] + 1 < v) {
                v = d[(i - 2) % 3][j - 2] + 1;
            }
            cur[j] = v;
        }
    }
    return d[la % 3][lb];
}

/*
 * The known key nearest to name, or NULL when none is close: at most 1
 * edit for names up to 4 characters, 2 up to 8, 3 beyond.  Case, '-'
 * and '_' do not count ("Fail-Mode" finds failmode).
 */
static const char *nearest_key(const char *name)
{
    char norm[65] = {0};
    char squeezed[65] = {0}; /* norm without '_' and '-' */
    size_t n = 0;
    size_t m = 0;
    size_t best = SIZE_MAX;
    size_t limit;
    const char *hit = NULL;

    for (const char *p = name; *p != '\0'; p++) {
        char c = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);

        if (n + 1 >= sizeof(norm)) {
            return NULL;
        }
        norm[n++] = c;
        if (c != '_' && c != '-') {
            squeezed[m++] = c;
        }
    }
    norm[n] = '\0';
    squeezed[m] = '\0';
    limit = n <= 4 ? 1 : n <= 8 ? 2 : 3;
    for (size_t i = 0; i < NKEYS; i++) {
        size_t dist = edit_distance(norm, keys[i].name);
        size_t d2 = edit_distance(squeezed, keys[i].name);

        /* "fail-mode" finds failmode with no edit at all. */
        if (d2 < dist) {
            dist = d2;
        }
        if (dist < best) {
            best = dist;
            hit = keys[i].name;
        }
    }
    return best <= limit ? hit : NULL;
}

static void mark_bad(struct eotp_cfg *cfg, const struct key *k)
{
    cfg->bad_keys[k - keys] = 1;
}

bool eotp_cfg_key_bad(const struct eotp_cfg *cfg, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].name, name) == 0) {
            return cfg->bad_keys[i] != 0;
        }
    }
    return false;
}

static bool is_str_type(enum key_type t)
{
    return t == KT_STRING || t == KT_PATH || t == KT_URL || t == KT_LIST;
}

static char **str_field(struct eotp_cfg *cfg, const struct key *k)
{
    return (char **)(void *)((char *)cfg + k->offset);
}

static const char *str_value(const struct eotp_cfg *cfg, const struct key *k)
{
    return *(char *const *)(const void *)((const char *)cfg + k->offset);
}

static const struct key *find_key(const char *name)
{
    for (size_t i = 0; i < sizeof(key_aliases) / sizeof(key_aliases[0]); i++) {
        if (strcmp(key_aliases[i].old, name) == 0) {
            name = key_aliases[i].name;
            break;
        }
    }
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].name, name) == 0) {
            return &keys[i];
        }
    }
    return NULL;
}

int eotp_parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v;

    if (s == NULL || *s == '\0' || *s == ' ' || *s == '+') {
        return EOTP_E_CONFIG;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        return EOTP_E_CONFIG;
    }
    *out = v;
    return EOTP_OK;
}

int eotp_listen_parse(const char *s, struct eotp_listen *out)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    size_t hl;
    long port;

    memset(out, 0, sizeof(*out));
    if (colon == NULL || eotp_parse_long(colon + 1, 1, 65535, &port) != 0) {
        return EOTP_E_CONFIG;
    }
    hl = (size_t)(colon - s);
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->addr;

        if (hl - 2 >= sizeof(host)) {
            return EOTP_E_CONFIG;
        }
        memcpy(host, s + 1, hl - 2);
        host[hl - 2] = '\0';
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
            return EOTP_E_CONFIG;
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        out->len = sizeof(*a6);
        return EOTP_OK;
    }
    if (hl == 0 || hl >= sizeof(host)) {
        return EOTP_E_CONFIG;
    }
    memcpy(host, s, hl);
    host[hl] = '\0';
    {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&out->addr;

        if (strcmp(host, "*") == 0) {
            a4->sin_addr.s_addr = htonl(INADDR_ANY);
        } else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
            return EOTP_E_CONFIG;
        }
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        out->len = sizeof(*a4);
    }
    return EOTP_OK;
}

static int set_string(char **field, const char *value, bool secret)
{
    char *copy = strdup(value);

    if (copy == NULL) {
        return EOTP_E_NOMEM;
    }
    if (secret) {
        eotp_str_wipe_free(*field);
    } else {
        free(*field);
    }
    *field = copy;
    return EOTP_OK;
}

int eotp_cfg_init(struct eotp_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->api_url = strdup(EOTP_DEFAULT_API_URL);
    cfg->language = strdup("default");
    cfg->user_map = strdup(EOTP_DEFAULT_USER_MAP);
    cfg->state_dir = strdup(EOTP_DEFAULT_STATE_DIR);
    cfg->rescue_file = strdup(EOTP_DEFAULT_RESCUE_FILE);
    cfg->failmode = EOTP_FAIL_CLOSED;
    cfg->unmapped = EOTP_UNMAPPED_DENY;
    cfg->connect_timeout = 5;
    cfg->timeout = 15;
    cfg->deadline = 30;
    cfg->max_attempts = 3;
    cfg->user_sources = strdup("map");
    cfg->ldap_filter = strdup("(uid=%u)");
    cfg->ldap_attributes = strdup("mobile,mail");
    cfg->ldap_timeout = 5;
    /* EngageLab's usual template: six digits.  Anything else is set. */
    cfg->code_length = 6;
    cfg->code_type = 1;
    cfg->send_limit.count = 5;
    cfg->send_limit.seconds = 900;
    cfg->rhost_send_limit.count = 20;
    cfg->rhost_send_limit.seconds = 900;
    cfg->lockout.count = 10;
    cfg->lockout.seconds = 900;
    cfg->code_mode = EOTP_CODE_PLATFORM;
    cfg->code_ttl = 300;
    cfg->grace_period = 0;
    cfg->smpp_tls = true;
    cfg->redis_timeout = 500;
    cfg->callback_listen = strdup("127.0.0.1:8787");
    cfg->callback_max_age = 300;
    cfg->delivery_status = true;
    cfg->delivery_status_wait = 20;
    cfg->notify_timeout = EOTP_NOTIFY_TIMEOUT_DEFAULT;
    cfg->notify_limit.count = EOTP_NOTIFY_LIMIT_COUNT;
    cfg->notify_limit.seconds = EOTP_NOTIFY_LIMIT_SECONDS;
    if (cfg->api_url == NULL || cfg->language == NULL ||
        cfg->user_map == NULL || cfg->state_dir == NULL ||
        cfg->rescue_file == NULL || cfg->user_sources == NULL ||
        cfg->ldap_filter == NULL || cfg->ldap_attributes == NULL ||
        cfg->callback_listen == NULL) {
        eotp_cfg_free(cfg);
        return EOTP_E_NOMEM;
    }
    return EOTP_OK;
}

void eotp_cfg_free(struct eotp_cfg *cfg)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        char **f;

        if (!is_str_type(k->type)) {
            continue;
        }
        f = str_field(cfg, k);
        if ((k->flags & (KF_SECRET | KF_URLPW)) != 0) {
            eotp_str_wipe_free(*f);
        } else {
            free(*f);
        }
        *f = NULL;
    }
}

static bool has_ctl(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return true;
        }
    }
    return false;
}

static int parse_bool(const char *v, bool *out)
{
    if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
        strcmp(v, "1") == 0) {
        *out = true;
        return EOTP_OK;
    }
    if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
        strcmp(v, "0") == 0) {
        *out = false;
        return EOTP_OK;
    }
    return EOTP_E_CONFIG;
}

static int enum_index(const char *const *names, const char *v)
{
    for (int i = 0; names[i] != NULL; i++) {
        if (strcmp(names[i], v) == 0) {
            return i;
        }
    }
    return -1;
}

static int set_key(struct eotp_cfg *cfg, const struct key *k,
                   const char *value, bool from_arg, const char *where,
                   const struct eotp_logger *lg)
{
    char valid[256];
    long n = 0;
    bool b = false;
    int idx;
    size_t len = strlen(value);

    if (from_arg && (k->flags & (KF_SECRET | KF_URLPW)) != 0) {
        eotp_log(lg, LOG_ERR,
                 "config: %s may only be set in the config file, not as a "
                 "module argument",
                 k->name);
        return EOTP_E_CONFIG;
    }
    if (len == 0 || has_ctl(value)) {
        eotp_log(lg, LOG_ERR,
                 "config: empty or unprintable value at %s key=%s", where,
                 k->name);
        return EOTP_E_CONFIG;
    }
    switch (k->type) {
    case KT_STRING:
        if (k->max > 0 && (len < (size_t)k->min || len > (size_t)k->max)) {
            eotp_log(lg, LOG_ERR,
                     "config: value of %s at %s must be %ld to %ld "
                     "characters",
                     k->name, where, k->min, k->max);
            return EOTP_E_CONFIG;
        }
        if ((k->names != NULL && enum_index(k->names, value) < 0) ||
            (k->check != NULL && !k->check(value))) {
            const char *hint = k->names != NULL
                                   ? join_names(k->names, valid, sizeof(valid))
                                   : value_hint(k);

            eotp_log(lg, LOG_ERR, "config: bad value for %s at %s%s%s%s",
                     k->name, where, hint != NULL ? " (valid: " : "",
                     hint != NULL ? hint : "", hint != NULL ? ")" : "");
            return EOTP_E_CONFIG;
        }
        return set_string(str_field(cfg, k), value,
                          (k->flags & KF_SECRET) != 0);
    case KT_LIST: {
        const char *cur = value;
        char item[512];
        size_t count = 0;

        while (eotp_list_next(&cur, item, sizeof(item))) {
            if (strlen(item) >= sizeof(item) - 1 || !k->check(item)) {
                char safe[EOTP_FIELD_MAX];
                const char *hint = value_hint(k);
                char shown[sizeof(item)];

                if ((k->flags & KF_URLPW) != 0) {
                    /* Never log what may be a password. */
                    (void)eotp_redis_url_redact(item, shown, sizeof(shown));
                } else {
                    (void)snprintf(shown, sizeof(shown), "%s", item);
                }
                eotp_memzero(item, sizeof(item));
                eotp_log(lg, LOG_ERR,
                         "config: bad item for %s at %s item=%s%s%s%s",
                         k->name, where,
                         eotp_sanitize(safe, sizeof(safe), shown, true),
                         hint != NULL ? " (valid: " : "",
                         hint != NULL ? hint : "", hint != NULL ? ")" : "");
                eotp_memzero(shown, sizeof(shown));
                return EOTP_E_CONFIG;
            }
            count++;
        }
        eotp_memzero(item, sizeof(item));
        if (count == 0) {
            eotp_log(lg, LOG_ERR, "config: empty list for %s at %s", k->name,
                     where);
            return EOTP_E_CONFIG;
        }
        return set_string(str_field(cfg, k), value,
                          (k->flags & KF_URLPW) != 0);
    }
    case KT_RATE: {
        struct eotp_rate rate = {0, 0};
        const char *slash = strchr(value, '/');
        char num[24];
        size_t nlen = slash != NULL ? (size_t)(slash - value) : 0;

        if (strcmp(value, "off") != 0) {
            if (slash == NULL || nlen == 0 || nlen >= sizeof(num)) {
                goto bad_rate;
            }
            memcpy(num, value, nlen);
            num[nlen] = '\0';
            if (eotp_parse_long(num, 1, 1000, &rate.count) != EOTP_OK ||
                eotp_parse_long(slash + 1, 1, 7L * 86400, &rate.seconds) !=
                    EOTP_OK) {
                goto bad_rate;
            }
        }
        *(struct eotp_rate *)(void *)((char *)cfg + k->offset) = rate;
        return EOTP_OK;
    bad_rate:
        eotp_log(lg, LOG_ERR,
                 "config: %s at %s must be COUNT/SECONDS (e.g. 5/900) or off",
                 k->name, where);
        return EOTP_E_CONFIG;
    }
    case KT_PATH:
        if (value[0] != '/') {
            eotp_log(lg, LOG_ERR, "config: %s at %s must be an absolute path",
                     k->name, where);
            return EOTP_E_CONFIG;
        }
        return set_string(str_field(cfg, k), value, false);
    case KT_URL:
        if (strncasecmp(value, "https://", 8) != 0 || value[8] == '\0' ||
            strchr(value, ' ') != NULL) {
            eotp_log(lg, LOG_ERR, "config: %s at %s must be an https:// URL",
                     k->name, where);
            return EOTP_E_CONFIG;
        }
        return set_string(str_field(cfg, k), value, false);
    case KT_LONG:
        if (eotp_parse_long(value, k->min, k->max, &n) != EOTP_OK) {
            eotp_log(lg, LOG_ERR,
                     "config: %s at %s must be a whole number from %ld to "
                     "%ld",
                     k->name, where, k->min, k->max);
            return EOTP_E_CONFIG;
        }
        *(long *)(void *)((char *)cfg + k->offset) = n;
        return EOTP_OK;
    case KT_ENUM:
        idx = enum_index(k->names, value);
        if (idx < 0) {
            eotp_log(lg, LOG_ERR, "config: bad value for %s at %s (valid: %s)",
                     k->name, where,
                     join_names(k->names, valid, sizeof(valid)));
            return EOTP_E_CONFIG;
        }
        *(int *)(void *)((char *)cfg + k->offset) = idx;
        return EOTP_OK;
    case KT_BOOL:
        if (parse_bool(value, &b) != EOTP_OK) {
            eotp_log(lg, LOG_ERR, "config: %s at %s must be yes or no",
                     k->name, where);
            return EOTP_E_CONFIG;
        }
        *(bool *)(void *)((char *)cfg + k->offset) = b;
        return EOTP_OK;
    }
    return EOTP_E_INTERNAL;
}

int eotp_cfg_set(struct eotp_cfg *cfg, const char *key, const char *value,
                 bool from_arg, const char *where,
                 const struct eotp_logger *lg)
{
    const struct key *k = find_key(key);
    char safe_key[EOTP_FIELD_MAX];
    int r;

    if (k == NULL) {
        const char *near = nearest_key(key);

        eotp_log(lg, LOG_ERR, "config: unknown key at %s key=%s%s%s%s", where,
                 eotp_sanitize(safe_key, sizeof(safe_key), key, true),
                 near != NULL ? " hint=\"did you mean " : "",
                 near != NULL ? near : "", near != NULL ? "?\"" : "");
        return EOTP_E_CONFIG;
    }
    r = set_key(cfg, k, value, from_arg, where, lg);
    if (r == EOTP_E_CONFIG) {
        mark_bad(cfg, k);
    }
    return r;
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
        *--e = '\0';
    }
    return s;
}

/*
 * "key = value   # note": a '#' after a space or tab starts a comment; a
 * '#' with no white space before it is part of the value ("s3cr#t").
 */
static void strip_comment(char *line)
{
    for (char *p = line; *p != '\0'; p++) {
        if (*p == '#' && p > line && (p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            while (p > line && (p[-1] == ' ' || p[-1] == '\t')) {
                *--p = '\0';
            }
            return;
        }
    }
}

/* Problems logged per file: a broken file must not flood syslog. */
#define CFG_MAX_LOGGED 20U

static void first_error(int *ret, int r)
{
    if (*ret == EOTP_OK && r != EOTP_OK) {
        *ret = r;
    }
}

int eotp_cfg_parse_buffer(struct eotp_cfg *cfg, char *buf, size_t len,
                          const char *name, const struct eotp_logger *lg)
{
    int ret = EOTP_OK;
    char safe_name[EOTP_FIELD_MAX];
    char where[EOTP_FIELD_MAX + 16];
    unsigned int lineno = 0;
    unsigned int nerr = 0;
    bool seen[NKEYS];
    char *line;
    char *next;
    int r;

    memset(seen, 0, sizeof(seen));
    eotp_sanitize(safe_name, sizeof(safe_name), name, true);
    if (memchr(buf, '\0', len) != NULL) {
        eotp_log(lg, LOG_ALERT, "config: refusing file=%s reason=\"NUL byte\"",
                 safe_name);
        return EOTP_E_CONFIG;
    }
    for (line = buf; line != NULL && *line != '\0'; line = next) {
        /* At most CFG_MAX_LOGGED problems are logged per file. */
        const struct eotp_logger *ll = nerr < CFG_MAX_LOGGED ? lg : NULL;
        char *eq;
        char *key;
        char *value;
        const struct key *k;

        lineno++;
        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        (void)snprintf(where, sizeof(where), "%s:%u", safe_name, lineno);
        line = trim(line);
        if (*line == '\0' || *line == '#') {
            continue;
        }
        strip_comment(line);
        eq = strchr(line, '=');
        if (eq == NULL) {
            eotp_log(ll, LOG_ERR, "config: expected key = value at %s", where);
            first_error(&ret, EOTP_E_CONFIG);
            nerr++;
            continue;
        }
        *eq = '\0';
        key = trim(line);
        value = trim(eq + 1);
        k = find_key(key);
        if (k != NULL) {
            if (seen[k - keys]) {
                eotp_log(ll, LOG_ERR, "config: key %s given twice at %s",
                         k->name, where);
                mark_bad(cfg, k);
                first_error(&ret, EOTP_E_CONFIG);
                nerr++;
                continue;
            }
            seen[k - keys] = true;
        }
        /* Every line is checked, so that one run reports every problem. */
        r = eotp_cfg_set(cfg, key, value, false, where, ll);
        if (r == EOTP_E_NOMEM) {
            return r;
        }
        first_error(&ret, r);
        nerr += r != EOTP_OK ? 1 : 0;
    }
    if (nerr > CFG_MAX_LOGGED) {
        eotp_log(lg, LOG_ERR, "config: %u more problems in file=%s not shown",
                 nerr - CFG_MAX_LOGGED, safe_name);
    }
    return ret;
}

int eotp_cfg_load_file(struct eotp_cfg *cfg, const char *path,
                       const struct eotp_logger *lg)
{
    char why[160];
    char safe_path[EOTP_FIELD_MAX];
    char *buf = NULL;
    size_t len = 0;
    int r;

    r = eotp_safefile_read(path, EOTP_SF_SECRET, EOTP_CONF_MAX_SIZE, &buf,
                           &len, why, sizeof(why));
    if (r != EOTP_OK) {
        eotp_log(lg, r == EOTP_E_FILE ? LOG_ERR : LOG_ALERT,
                 "config: refusing file=%s reason=\"%s\"",
                 eotp_sanitize(safe_path, sizeof(safe_path), path, true), why);
        return r;
    }
    r = eotp_cfg_parse_buffer(cfg, buf, len, path, lg);
    eotp_freezero(buf, len + 1);
    return r;
}

void eotp_cfg_scan_args(int argc, const char **argv, const char **conf,
                        int *failmode, bool *debug)
{
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "conf=", 5) == 0) {
            *conf = argv[i] + 5;
        } else if (strcmp(argv[i], "failmode=open") == 0) {
            *failmode = EOTP_FAIL_OPEN;
        } else if (strcmp(argv[i], "failmode=closed") == 0) {
            *failmode = EOTP_FAIL_CLOSED;
        } else if (strcmp(argv[i], "debug") == 0) {
            *debug = true;
        }
    }
}

int eotp_cfg_apply_args(struct eotp_cfg *cfg, int argc, const char **argv,
                        const struct eotp_logger *lg)
{
    for (int i = 0; i < argc; i++) {
        char key[64];
        const char *eq;
        size_t klen;
        int r;

        if (strncmp(argv[i], "conf=", 5) == 0) {
            continue;
        }
        if (strcmp(argv[i], "debug") == 0) {
            cfg->debug = true;
            continue;
        }
        eq = strchr(argv[i], '=');
        klen = eq != NULL ? (size_t)(eq - argv[i]) : 0;
        if (eq == NULL || klen == 0 || klen >= sizeof(key)) {
            char safe[EOTP_FIELD_MAX];

            eotp_log(lg, LOG_ERR, "config: unknown module argument arg=%s",
                     eotp_sanitize(safe, sizeof(safe), argv[i], true));
            return EOTP_E_CONFIG;
        }
        memcpy(key, argv[i], klen);
        key[klen] = '\0';
        r = eotp_cfg_set(cfg, key, eq + 1, true, "module argument", lg);
        if (r != EOTP_OK) {
            return r;
        }
    }
    return EOTP_OK;
}

/* transport = smpp: its keys, and what SMPP cannot do (issue 15). */
static int validate_smpp(const struct eotp_cfg *cfg,
                         const struct eotp_logger *lg)
{
    if (cfg->transport != EOTP_TRANSPORT_SMPP) {
        return EOTP_OK;
    }
    if (!eotp_smpp_available()) {
        eotp_log(lg, LOG_ERR,
                 "config: transport = smpp but this build has no SMPP "
                 "support (libsmpp34)");
        return EOTP_E_CONFIG;
    }
    if (cfg->code_mode != EOTP_CODE_LOCAL) {
        eotp_log(lg, LOG_ERR,
                 "config: transport = smpp needs code_mode = local (over "
                 "SMPP the module makes and checks the code itself)");
        return EOTP_E_CONFIG;
    }
    if (cfg->smpp_host == NULL || cfg->smpp_port == 0 ||
        cfg->smpp_system_id == NULL || cfg->smpp_password_file == NULL) {
        eotp_log(lg, LOG_ERR,
                 "config: transport = smpp needs smpp_host, smpp_port, "
                 "smpp_system_id and smpp_password_file");
        return EOTP_E_CONFIG;
    }
    if (cfg->alt_templates != NULL) {
        eotp_log(lg, LOG_ERR,
                 "config: alt_templates cannot be used with transport = "
                 "smpp (SMPP delivers by SMS only)");
        return EOTP_E_CONFIG;
    }
    return EOTP_OK;
}

/* Relations between the redis_* keys (issue 13). */
static int validate_redis(const struct eotp_cfg *cfg,
                          const struct eotp_logger *lg)
{
    const char *cur = cfg->redis_url;
    char item[2100];
    bool any = cfg->redis_url != NULL || cfg->redis_sentinels != NULL;

    if (cfg->redis_url != NULL && cfg->redis_sentinels != NULL) {
        eotp_log(lg, LOG_ERR,
                 "config: redis_url and redis_sentinels exclude each other");
        return EOTP_E_CONFIG;
    }
    if ((cfg->redis_sentinels != NULL) != (cfg->redis_master_name != NULL)) {
        eotp_log(lg, LOG_ERR,
                 "config: redis_sentinels and redis_master_name go together");
        return EOTP_E_CONFIG;
    }
    if (!any && (cfg->redis_required || cfg->redis_user != NULL ||
                 cfg->redis_password_file != NULL ||
                 cfg->redis_ca_file != NULL || cfg->redis_key_file != NULL ||
                 cfg->redis_tls_cert != NULL || cfg->redis_tls_key != NULL)) {
        eotp_log(lg, LOG_ERR,
                 "config: redis_* keys are set but neither redis_url nor "
                 "redis_sentinels is");
        return EOTP_E_CONFIG;
    }
    if ((cfg->redis_tls_cert == NULL) != (cfg->redis_tls_key == NULL)) {
        eotp_log(lg, LOG_ERR,
                 "config: redis_tls_cert and redis_tls_key go together (the "
                 "client certificate and its private key): set both or "
                 "neither");
        return EOTP_E_CONFIG;
    }
    if (any && cfg->redis_timeout > cfg->deadline * 1000) {
        eotp_log(lg, LOG_ERR,
                 "config: redis_timeout (ms) must fit in the login deadline");
        return EOTP_E_CONFIG;
    }
    /* A user without a password needs redis_password_file. */
    cur = cfg->redis_url;
    while (cur != NULL && eotp_list_next(&cur, item, sizeof(item))) {
        struct eotp_redis_url u;
        bool lonely = eotp_redis_url_parse(item, false, &u) == EOTP_OK &&
                      u.user[0] != '\0' && u.pass[0] == '\0' &&
                      cfg->redis_password_file == NULL;

        eotp_memzero(&u, sizeof(u));
        eotp_memzero(item, sizeof(item));
        if (lonely) {
            eotp_log(lg, LOG_ERR,
                     "config: redis_url names a user without a password; "
                     "set redis_password_file");
            return EOTP_E_CONFIG;
        }
    }
    /* Plaintext only to loopback, unless redis_insecure says otherwise. */
    for (int pass = 0; pass < 2 && !cfg->redis_insecure; pass++) {
        cur = pass == 0 ? cfg->redis_url : cfg->redis_sentinels;
        while (cur != NULL && eotp_list_next(&cur, item, sizeof(item))) {
            struct eotp_redis_url u;
            bool safe = eotp_redis_url_parse(item, pass == 1, &u) == EOTP_OK &&
                        eotp_redis_url_is_safe(&u);

            eotp_memzero(&u, sizeof(u));
            eotp_memzero(item, sizeof(item));
            if (!safe) {
                eotp_log(lg, LOG_ERR,
                         "config: %s names a plaintext redis:// node that is "
                         "not a loopback address; use rediss:// or set "
                         "redis_insecure = yes",
                         pass == 0 ? "redis_url" : "redis_sentinels");
                return EOTP_E_CONFIG;
            }
        }
    }
    return EOTP_OK;
}

int eotp_cfg_validate(const struct eotp_cfg *cfg, const struct eotp_logger *lg)
{
    int ret = EOTP_OK;

    /* Every missing key is named, not only the first. */
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];

        if ((k->flags & KF_REQUIRED) != 0 && str_value(cfg, k) == NULL &&
            cfg->bad_keys[i] == 0) {
            eotp_log(lg, LOG_ERR, "config: required key %s is not set",
                     k->name);
            ret = EOTP_E_CONFIG;
        }
    }
    /* Relations between keys: every broken one is logged too. */
    {
        const char *cur = cfg->user_sources != NULL ? cfg->user_sources : "";
        char item[16];
        bool ldap = false;

        while (eotp_list_next(&cur, item, sizeof(item))) {
            ldap = ldap || strcmp(item, "ldap") == 0;
        }
        if (ldap && !eotp_ldap_available()) {
            eotp_log(lg, LOG_ERR,
                     "config: user_sources names ldap but this build has no "
                     "LDAP support");
            ret = EOTP_E_CONFIG;
        }
        if (ldap && (cfg->ldap_uri == NULL || cfg->ldap_base == NULL)) {
            eotp_log(lg, LOG_ERR,
                     "config: user_sources names ldap: ldap_uri and "
                     "ldap_base are required");
            ret = EOTP_E_CONFIG;
        }
        if (cfg->ldap_uri != NULL && !cfg->ldap_starttls &&
            !cfg->ldap_insecure) {
            const char *uc = cfg->ldap_uri;
            char uri[512];

            while (eotp_list_next(&uc, uri, sizeof(uri))) {
                char safe[EOTP_FIELD_MAX];

                if (!eotp_ldap_uri_in_clear(uri)) {
                    continue;
                }
                eotp_log(lg, LOG_ERR,
                         "config: ldap_uri uri=%s would search the directory "
                         "in clear text: use ldaps://, ldap_starttls = yes, "
                         "or ldap_insecure = yes to accept that",
                         eotp_sanitize(safe, sizeof(safe), uri, true));
                return EOTP_E_CONFIG;
            }
        }
        if ((cfg->ldap_bind_dn == NULL) !=
            (cfg->ldap_bind_password_file == NULL)) {
            eotp_log(lg, LOG_ERR,
                     "config: ldap_bind_dn and ldap_bind_password_file go "
                     "together");
            ret = EOTP_E_CONFIG;
        }
    }
    if (cfg->code_length != 0 && cfg->code_length < 4) {
        eotp_log(lg, LOG_ERR,
                 "config: code_length must be 0 (any) or 4 to 10");
        ret = EOTP_E_CONFIG;
    }
    if (validate_smpp(cfg, lg) != EOTP_OK) {
        ret = EOTP_E_CONFIG;
    }
    if (validate_redis(cfg, lg) != EOTP_OK) {
        ret = EOTP_E_CONFIG;
    }
    if (cfg->notify_on != NULL && cfg->notify_template == NULL) {
        eotp_log(lg, LOG_ERR,
                 "config: notify_on is set but notify_template is not (no "
                 "notice can be sent without a template)");
        ret = EOTP_E_CONFIG;
    }
    if (cfg->dev_key != NULL && strchr(cfg->dev_key, ':') != NULL) {
        eotp_log(lg, LOG_ERR, "config: dev_key may not contain ':'");
        ret = EOTP_E_CONFIG;
    }
    return ret;
}

int eotp_cfg_check_files(const struct eotp_cfg *cfg,
                         const struct eotp_logger *lg)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        const char *path;
        char why[160];
        char safe[EOTP_FIELD_MAX];
        enum eotp_sf_reason reason = EOTP_SF_OK;

        /* Only KT_PATH keys hold a char * at their offset. */
        if ((k->flags & KF_TRUST) == 0 || k->type != KT_PATH) {
            continue;
        }
        path = str_value(cfg, k);
        if (path == NULL) {
            continue;
        }
        if (eotp_safefile_check(path, EOTP_SF_PUBLIC, EOTP_TRUST_FILE_MAX,
                                &reason, why, sizeof(why)) != EOTP_OK) {
            eotp_log(lg, LOG_ALERT,
                     "config: refusing %s file=%s reason=\"%s\"", k->name,
                     eotp_sanitize(safe, sizeof(safe), path, true), why);
            return EOTP_E_CONFIG;
        }
    }
    return EOTP_OK;
}

size_t eotp_cfg_key_count(void)
{
    return NKEYS;
}

const char *eotp_cfg_key_name(size_t i)
{
    return i < NKEYS ? keys[i].name : NULL;
}

bool eotp_cfg_key_is_secret(size_t i)
{
    return i < NKEYS && (keys[i].flags & KF_SECRET) != 0;
}

/* A list of URLs, each with its password replaced by "<redacted>". */
static void format_redacted_list(const char *s, char *buf, size_t buflen)
{
    char item[2100];
    char shown[2200];
    size_t off = 0;

    buf[0] = '\0';
    while (eotp_list_next(&s, item, sizeof(item))) {
        int n;

        (void)eotp_redis_url_redact(item, shown, sizeof(shown));
        n = snprintf(buf + off, buflen - off, "%s%s", off > 0 ? ", " : "",
                     shown);
        if (n < 0 || (size_t)n >= buflen - off) {
            /* Cut at an item boundary rather than inside a password. */
            buf[off] = '\0';
            break;
        }
        off += (size_t)n;
    }
    eotp_memzero(item, sizeof(item));
    eotp_memzero(shown, sizeof(shown));
}

char *eotp_cfg_key_format(const struct eotp_cfg *cfg, size_t i, char *buf,
                          size_t buflen)
{
    const struct key *k;
    const char *s;

    if (buflen == 0) {
        return buf;
    }
    buf[0] = '\0';
    if (i >= NKEYS) {
        return buf;
    }
    k = &keys[i];
    switch (k->type) {
    case KT_STRING:
    case KT_PATH:
    case KT_URL:
    case KT_LIST:
        s = str_value(cfg, k);
        if (s != NULL && (k->flags & KF_URLPW) != 0) {
            format_redacted_list(s, buf, buflen);
        } else if (s != NULL) {
            (void)snprintf(buf, buflen, "%s",
                           (k->flags & KF_SECRET) != 0 ? "<redacted>" : s);
        }
        break;
    case KT_LONG:
        (void)snprintf(buf, buflen, "%ld",
                       *(const long *)(const void *)((const char *)cfg +
                                                     k->offset));
        break;
    case KT_ENUM:
        (void)
            snprintf(buf, buflen, "%s",
                     k->names[*(const int *)(const void *)((const char *)cfg +
                                                           k->offset)]);
        break;
    case KT_BOOL:
        (void)snprintf(buf, buflen, "%s",
                       *(const bool *)(const void *)((const char *)cfg +
                                                     k->offset)
                           ? "yes"
                           : "no");
        break;
    case KT_RATE: {
        const struct eotp_rate *rt =
            (const struct eotp_rate *)(const void *)((const char *)cfg +
                                                     k->offset);
        if (rt->count == 0) {
            (void)snprintf(buf, buflen, "off");
        } else {
            (void)snprintf(buf, buflen, "%ld/%ld", rt->count, rt->seconds);
        }
        break;
    }
    }
    return buf;
}

bool eotp_list_next(const char **cursor, char *item, size_t itemlen)
{
    const char *p = *cursor;
    size_t n = 0;

    while (*p == ',' || *p == ' ' || *p == '\t') {
        p++;
    }
    if (*p == '\0') {
        *cursor = p;
        return false;
    }
    while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t') {
        if (n + 1 < itemlen) {
            item[n++] = *p;
        } else if (itemlen > 1) {
            /* Mark truncation so callers can refuse the item. */
            n = itemlen - 1;
        }
        p++;
    }
    if (itemlen > 0) {
        item[n] = '\0';
    }
    *cursor = p;
    return true;
}
