/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ldap.c - destinations from an LDAP directory (see ldap.h).
 *
 * Only this file includes <ldap.h> (OpenLDAP's; our own header is
 * "ldap.h", found next to this file, so src/core must never be put on the
 * include path with -I).  The library is built without LDAP when the
 * system header is missing; eotp_ldap_lookup() then refuses with
 * EOTP_E_CONFIG so user_sources = ldap can never silently do nothing.
 *
 * libldap notes: LDAP_OPT_CONNECT_ASYNC is set because libldap 2.5 only
 * bounds a TLS handshake (ldaps://, StartTLS) by LDAP_OPT_NETWORK_TIMEOUT
 * in async mode; without it the handshake with a silent server spins
 * forever on a non-blocking socket.  tests/e2e/test_ldap.sh checks both.
 */
#include "ldap.h"

#include "dest.h"
#include "err.h"
#include "phone.h"
#include "safefile.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<ldap.h>)
#define EOTP_HAVE_LDAP 1
#endif
#endif

#ifdef EOTP_HAVE_LDAP
#include <ldap.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#endif

static const char hex[] = "0123456789abcdef";

int eotp_ldap_escape(const char *in, size_t inlen, char *out, size_t outlen)
{
    size_t o = 0;

    if (outlen == 0) {
        return EOTP_E_INTERNAL;
    }
    for (size_t i = 0; i < inlen; i++) {
        unsigned char c = (unsigned char)in[i];
        bool plain = c > 0x20 && c < 0x7f && c != '*' && c != '(' &&
                     c != ')' && c != '\\';

        if (o + (plain ? 1 : 3) >= outlen) {
            out[0] = '\0';
            return EOTP_E_INTERNAL;
        }
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 0x0f];
        }
    }
    out[o] = '\0';
    return EOTP_OK;
}

int eotp_ldap_build_filter(const char *tmpl, const char *user, char *out,
                           size_t outlen)
{
    char esc[3 * EOTP_LDAP_USER_MAX + 1];
    size_t elen;
    size_t ulen = strlen(user);
    size_t o = 0;

    if (outlen == 0) {
        return EOTP_E_CONFIG;
    }
    out[0] = '\0';
    if (ulen > EOTP_LDAP_USER_MAX ||
        eotp_ldap_escape(user, ulen, esc, sizeof(esc)) != EOTP_OK) {
        return EOTP_E_CONFIG;
    }
    elen = strlen(esc);
    for (const char *p = tmpl; *p != '\0'; p++) {
        if (p[0] == '%' && p[1] == 'u') {
            if (o + elen >= outlen) {
                out[0] = '\0';
                return EOTP_E_CONFIG;
            }
            memcpy(out + o, esc, elen);
            o += elen;
            p++;
            continue;
        }
        if (o + 1 >= outlen) {
            out[0] = '\0';
            return EOTP_E_CONFIG;
        }
        out[o++] = *p;
    }
    out[o] = '\0';
    return EOTP_OK;
}

#ifndef EOTP_HAVE_LDAP

bool eotp_ldap_available(void)
{
    return false;
}

int eotp_ldap_lookup(const struct eotp_cfg *cfg, const char *user,
                     const struct eotp_logger *lg, struct eotp_dests *out,
                     char *source, size_t len)
{
    (void)cfg;
    (void)user;
    (void)out;
    (void)source;
    (void)len;
    eotp_log(lg, LOG_ALERT,
             "ldap: user_sources names ldap but this build has no LDAP "
             "support");
    return EOTP_E_CONFIG;
}

#else /* EOTP_HAVE_LDAP */

bool eotp_ldap_available(void)
{
    return true;
}

/* Longest attribute value looked at; longer values are refused. */
#define VALUE_MAX 512
#define URI_MAX 512
#define ATTR_NAME_MAX 65
/* Below this many milliseconds left, a step is not started. */
#define MIN_STEP_MS 20

struct attrs {
    char name[EOTP_LDAP_MAX_ATTRS][ATTR_NAME_MAX];
    char *list[EOTP_LDAP_MAX_ATTRS + 1]; /* NULL-terminated, for libldap */
    size_t n;
};

/* What one lookup needs, shared by the attempts on each URI. */
struct job {
    const struct eotp_cfg *cfg;
    const struct eotp_logger *lg;
    const char *filter;
    struct attrs *attrs;
    struct berval *cred;       /* NULL: anonymous */
    char user[EOTP_FIELD_MAX]; /* sanitised, for logs */
};

/* The outcome of one attempt. */
struct found {
    char dest[EOTP_DEST_MAX + 1];
    char attr[ATTR_NAME_MAX];
};

static long long now_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval ms_to_tv(long long ms)
{
    struct timeval tv;

    if (ms < 1) {
        ms = 1;
    }
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return tv;
}

/*
 * SIGPIPE: libldap writes to sockets with write(2), so a server that
 * closed the connection would kill a host process that has not ignored
 * the signal.  Block it for this thread and swallow one we caused, the
 * way libpq does; never install a handler.
 */
struct pipe_guard {
    sigset_t old;
    bool blocked;
    bool was_pending;
};

static void pipe_block(struct pipe_guard *g)
{
    sigset_t set;
    sigset_t pend;

    g->blocked = false;
    g->was_pending = false;
    (void)sigemptyset(&set);
    (void)sigaddset(&set, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &set, &g->old) != 0) {
        return;
    }
    g->blocked = true;
    if (sigpending(&pend) == 0) {
        g->was_pending = sigismember(&pend, SIGPIPE) == 1;
    }
}

static void pipe_restore(struct pipe_guard *g)
{
    sigset_t pend;
    sigset_t set;

    if (!g->blocked) {
        return;
    }
    if (!g->was_pending && sigpending(&pend) == 0 &&
        sigismember(&pend, SIGPIPE) == 1) {
        struct timespec zero = {0, 0};

        (void)sigemptyset(&set);
        (void)sigaddset(&set, SIGPIPE);
        (void)sigtimedwait(&set, NULL, &zero);
    }
    (void)pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static int parse_attrs(const char *list, struct attrs *a)
{
    const char *cur = list;
    char item[ATTR_NAME_MAX + 1];

    memset(a, 0, sizeof(*a));
    while (eotp_list_next(&cur, item, sizeof(item))) {
        size_t n = strlen(item);

        if (a->n == EOTP_LDAP_MAX_ATTRS || n == 0 || n >= ATTR_NAME_MAX) {
            return EOTP_E_CONFIG;
        }
        memcpy(a->name[a->n], item, n + 1);
        a->list[a->n] = a->name[a->n];
        a->n++;
    }
    a->list[a->n] = NULL;
    return a->n > 0 ? EOTP_OK : EOTP_E_CONFIG;
}

/* A masked form of a refused value: "+65***67", "abc****yz" (sanitised). */
static void mask_raw(const char *v, char *buf, size_t buflen)
{
    char tmp[48];
    size_t n = strlen(v);
    size_t o = 0;

    if (n <= 5) {
        for (size_t i = 0; i < n && o + 1 < sizeof(tmp); i++) {
            tmp[o++] = '*';
        }
    } else {
        size_t stars = n - 5 > 20 ? 20 : n - 5;

        memcpy(tmp, v, 3);
        o = 3;
        for (size_t i = 0; i < stars; i++) {
            tmp[o++] = '*';
        }
        tmp[o++] = v[n - 2];
        tmp[o++] = v[n - 1];
    }
    tmp[o] = '\0';
    eotp_sanitize(buf, buflen, tmp, true);
}

/* Sanitise src for a log field between double quotes. */
static char *quoted(char *buf, size_t buflen, const char *src)
{
    eotp_sanitize(buf, buflen, src, false);
    for (char *p = buf; *p != '\0'; p++) {
        if (*p == '"') {
            *p = '\'';
        }
    }
    return buf;
}

/* The result code's text and libldap's diagnostic, sanitised. */
static void ldap_why(LDAP *ld, int rc, char *buf, size_t buflen)
{
    char *diag = NULL;
    char text[256];

    if (ld != NULL &&
        ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) ==
            LDAP_OPT_SUCCESS &&
        diag != NULL && diag[0] != '\0') {
        (void)snprintf(text, sizeof(text), "%s: %.160s", ldap_err2string(rc),
                       diag);
    } else {
        (void)snprintf(text, sizeof(text), "%s", ldap_err2string(rc));
    }
    if (diag != NULL) {
        ldap_memfree(diag);
    }
    quoted(buf, buflen, text);
}

/*
 * libldap reports a certificate that does not verify as a connect error
 * without saying why; say what to check.
 */
static const char *tls_hint(const char *step, bool tls, int rc)
{
    if (!tls || (rc != LDAP_CONNECT_ERROR && rc != LDAP_SERVER_DOWN)) {
        return "";
    }
    if (strcmp(step, "starttls") == 0) {
        return " hint=\"TLS handshake failed: is the server certificate "
               "signed by ldap_ca_file and issued for the host in the "
               "URI?\"";
    }
    return " hint=\"server unreachable, or TLS handshake failed: is the "
           "server certificate signed by ldap_ca_file and issued for the "
           "host in the URI?\"";
}

static void log_fail(const struct job *job, const char *uri, const char *step,
                     LDAP *ld, int rc, long long t0)
{
    char why[200];
    char safe_uri[EOTP_FIELD_MAX];
    bool tls = strncmp(uri, "ldaps://", 8) == 0 ||
               (job->cfg->ldap_starttls && strcmp(step, "options") != 0);

    ldap_why(ld, rc, why, sizeof(why));
    eotp_log(job->lg, LOG_ERR,
             "ldap: server failed uri=%s step=%s user=%s error=\"%s\" "
             "elapsed_ms=%lld%s",
             eotp_sanitize(safe_uri, sizeof(safe_uri), uri, true), step,
             job->user, why, now_ms() - t0, tls_hint(step, tls, rc));
}

/* Time left before deadline, or a timeout logged and false. */
static bool time_left(const struct job *job, const char *uri, const char *step,
                      long long t0, long long deadline, long long *left)
{
    char safe_uri[EOTP_FIELD_MAX];

    *left = deadline - now_ms();
    if (*left >= MIN_STEP_MS) {
        return true;
    }
    eotp_log(job->lg, LOG_ERR,
             "ldap: server failed uri=%s step=%s user=%s error=\"out of "
             "time (ldap_timeout)\" elapsed_ms=%lld",
             eotp_sanitize(safe_uri, sizeof(safe_uri), uri, true), step,
             job->user, now_ms() - t0);
    return false;
}

static bool set_timeouts(LDAP *ld, long long left)
{
    struct timeval tv = ms_to_tv(left);

    return ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) ==
               LDAP_OPT_SUCCESS &&
           ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) == LDAP_OPT_SUCCESS;
}

/* Options on the handle only: nothing process-wide is changed. */
static int set_options(const struct job *job, LDAP *ld, const char *uri,
                       long long left)
{
    const struct eotp_cfg *cfg = job->cfg;
    int version = LDAP_VERSION3;
    int demand = LDAP_OPT_X_TLS_DEMAND;
    int tlsmin = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
    int is_server = 0;
    int rc;

    if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) !=
            LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) !=
            LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_CONNECT_ASYNC, LDAP_OPT_ON) !=
            LDAP_OPT_SUCCESS ||
        !set_timeouts(ld, left) ||
        ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) !=
            LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tlsmin) !=
            LDAP_OPT_SUCCESS) {
        log_fail(job, uri, "options", ld, LDAP_OTHER, now_ms());
        return EOTP_E_LDAP;
    }
    if (cfg->ldap_ca_file != NULL &&
        ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ldap_ca_file) !=
            LDAP_OPT_SUCCESS) {
        log_fail(job, uri, "options", ld, LDAP_OTHER, now_ms());
        return EOTP_E_CONFIG;
    }
    /* A TLS context of our own, built from the options just set. */
    rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server);
    if (rc != LDAP_OPT_SUCCESS) {
        char safe[EOTP_FIELD_MAX];

        if (cfg->ldap_ca_file != NULL) {
            eotp_log(job->lg, LOG_ALERT,
                     "ldap: cannot load ldap_ca_file file=%s",
                     eotp_sanitize(safe, sizeof(safe), cfg->ldap_ca_file,
                                   true));
            return EOTP_E_CONFIG;
        }
        log_fail(job, uri, "tls_setup", ld, rc, now_ms());
        return EOTP_E_LDAP;
    }
    return EOTP_OK;
}

/*
 * Take the first valid value of the first attribute that has one.
 * EOTP_E_UNMAPPED when none is usable.
 */
static int pick_value(const struct job *job, LDAP *ld, LDAPMessage *entry,
                      struct found *f)
{
    int r = EOTP_E_UNMAPPED;
    bool present = false;

    for (size_t a = 0; a < job->attrs->n && r != EOTP_OK; a++) {
        const char *attr = job->attrs->name[a];
        struct berval **vals = ldap_get_values_len(ld, entry, attr);
        int nvals = vals != NULL ? ldap_count_values_len(vals) : 0;

        for (int i = 0; i < nvals; i++) {
            char raw[VALUE_MAX + 1];
            char masked[EOTP_MASK_MAX];
            const char *reason = "not an E.164 or national phone number "
                                 "or an email address";
            size_t len = vals[i]->bv_len;
            int nr;

            present = true;
            if (len == 0 || len > VALUE_MAX ||
                memchr(vals[i]->bv_val, '\0', len) != NULL) {
                eotp_log(job->lg, LOG_WARNING,
                         "ldap: value refused user=%s attribute=%s "
                         "value=(%lu bytes) reason=\"empty, too long or "
                         "binary\"",
                         job->user, attr, (unsigned long)len);
                continue;
            }
            memcpy(raw, vals[i]->bv_val, len);
            raw[len] = '\0';
            nr = eotp_phone_normalize_dest(raw, job->cfg->default_country_code,
                                           f->dest, sizeof(f->dest));
            if (nr == EOTP_OK) {
                eotp_dest_mask(f->dest, masked, sizeof(masked));
                if (nvals > 1) {
                    eotp_log(job->lg, LOG_INFO,
                             "ldap: attribute has several values, using the "
                             "first valid one user=%s attribute=%s values=%d "
                             "used=%d dest=%s",
                             job->user, attr, nvals, i + 1, masked);
                }
                memcpy(f->attr, attr, strlen(attr) + 1);
                r = EOTP_OK;
                eotp_memzero(raw, sizeof(raw));
                break;
            }
            if (nr == EOTP_E_CONFIG) {
                reason = "a national number and default_country is "
                         "not set";
            } else if (nr != EOTP_E_UNMAPPED) {
                r = nr;
                eotp_memzero(raw, sizeof(raw));
                break;
            }
            mask_raw(raw, masked, sizeof(masked));
            eotp_memzero(raw, sizeof(raw));
            eotp_log(job->lg, LOG_WARNING,
                     "ldap: value refused user=%s attribute=%s value=%s "
                     "reason=\"%s\"",
                     job->user, attr, masked, reason);
        }
        if (vals != NULL) {
            ldap_value_free_len(vals);
        }
        if (r != EOTP_OK && r != EOTP_E_UNMAPPED) {
            return r;
        }
    }
    if (r == EOTP_E_UNMAPPED) {
        eotp_log(job->lg, LOG_NOTICE,
                 "ldap: entry has no usable destination user=%s "
                 "attributes=%s",
                 job->user, present ? "refused" : "absent");
    }
    return r;
}

/*
 * One URI: connect, StartTLS, bind, search, pick.  Returns EOTP_E_LDAP
 * when this server could not be used (the caller tries the next one);
 * anything else is the directory's answer.
 */
static int try_uri(const struct job *job, const char *uri, long long deadline,
                   struct found *f)
{
    const struct eotp_cfg *cfg = job->cfg;
    LDAP *ld = NULL;
    LDAPMessage *res = NULL;
    LDAPMessage *entry;
    char safe_uri[EOTP_FIELD_MAX];
    char nothing[1] = "";
    struct berval anon = {0, nothing};
    struct timeval tv;
    long long t0 = now_ms();
    long long left = 0;
    bool tls = strncmp(uri, "ldaps://", 8) == 0;
    int count;
    int rc;
    int r = EOTP_E_LDAP;

    eotp_sanitize(safe_uri, sizeof(safe_uri), uri, true);
    rc = ldap_initialize(&ld, uri);
    if (rc != LDAP_SUCCESS || ld == NULL) {
        eotp_log(job->lg, LOG_ALERT, "ldap: bad URI in ldap_uri uri=%s",
                 safe_uri);
        ld = NULL;
        r = EOTP_E_CONFIG;
        goto out;
    }
    if (!time_left(job, uri, "connect", t0, deadline, &left)) {
        goto out;
    }
    r = set_options(job, ld, uri, left);
    if (r != EOTP_OK) {
        goto out;
    }
    r = EOTP_E_LDAP;

    if (cfg->ldap_starttls && !tls) {
        if (!time_left(job, uri, "starttls", t0, deadline, &left) ||
            !set_timeouts(ld, left)) {
            goto out;
        }
        rc = ldap_start_tls_s(ld, NULL, NULL);
        if (rc != LDAP_SUCCESS) {
            /* Never carry on in plain text. */
            log_fail(job, uri, "starttls", ld, rc, t0);
            goto out;
        }
        tls = true;
    }
    if (job->cred != NULL && !tls) {
        eotp_log(job->lg, LOG_WARNING,
                 "ldap: bind password sent without TLS uri=%s (use "
                 "ldaps:// or ldap_starttls = yes)",
                 safe_uri);
    }

    if (!time_left(job, uri, "bind", t0, deadline, &left) ||
        !set_timeouts(ld, left)) {
        goto out;
    }
    rc = ldap_sasl_bind_s(ld, job->cred != NULL ? cfg->ldap_bind_dn : "",
                          LDAP_SASL_SIMPLE,
                          job->cred != NULL ? job->cred : &anon, NULL, NULL,
                          NULL);
    if (rc != LDAP_SUCCESS) {
        log_fail(job, uri, "bind", ld, rc, t0);
        goto out;
    }

    if (!time_left(job, uri, "search", t0, deadline, &left) ||
        !set_timeouts(ld, left)) {
        goto out;
    }
    tv = ms_to_tv(left);
    eotp_debug(job->lg, "ldap: searching uri=%s user=%s", safe_uri, job->user);
    rc = ldap_search_ext_s(ld, cfg->ldap_base, LDAP_SCOPE_SUBTREE, job->filter,
                           job->attrs->list, 0, NULL, NULL, &tv, 2, &res);
    count = res != NULL ? ldap_count_entries(ld, res) : 0;
    if (rc == LDAP_SIZELIMIT_EXCEEDED || count > 1) {
        eotp_log(job->lg, LOG_ERR,
                 "ldap: more than one entry matches, refusing user=%s "
                 "uri=%s entries=%s",
                 job->user, safe_uri,
                 rc == LDAP_SIZELIMIT_EXCEEDED ? "more_than_2" : "2");
        r = EOTP_E_CONFIG;
        goto out;
    }
    if (rc != LDAP_SUCCESS) {
        log_fail(job, uri, "search", ld, rc, t0);
        r = rc == LDAP_FILTER_ERROR ? EOTP_E_CONFIG : EOTP_E_LDAP;
        goto out;
    }
    if (count <= 0) {
        eotp_debug(job->lg, "ldap: no entry user=%s uri=%s", job->user,
                   safe_uri);
        r = EOTP_E_UNMAPPED;
        goto out;
    }
    entry = ldap_first_entry(ld, res);
    if (entry == NULL) {
        r = EOTP_E_UNMAPPED;
        goto out;
    }
    if (job->lg != NULL && job->lg->debug) {
        char *dn = ldap_get_dn(ld, entry);
        char safe_dn[256];

        eotp_debug(job->lg, "ldap: entry found user=%s dn=\"%s\"", job->user,
                   quoted(safe_dn, sizeof(safe_dn), dn));
        if (dn != NULL) {
            ldap_memfree(dn);
        }
    }
    r = pick_value(job, ld, entry, f);
out:
    if (res != NULL) {
        ldap_msgfree(res);
    }
    if (ld != NULL) {
        (void)ldap_unbind_ext_s(ld, NULL, NULL);
    }
    return r;
}

/* Read the bind password: one trailing newline dropped, no NUL. */
static int read_password(const struct eotp_cfg *cfg,
                         const struct eotp_logger *lg, char **pw,
                         size_t *alloc_len)
{
    char why[160];
    char safe[EOTP_FIELD_MAX];
    char *buf = NULL;
    size_t len = 0;
    size_t n;
    int r;

    eotp_sanitize(safe, sizeof(safe), cfg->ldap_bind_password_file, true);
    r = eotp_safefile_read(cfg->ldap_bind_password_file, EOTP_SF_SECRET,
                           EOTP_LDAP_PASSWORD_MAX, &buf, &len, why,
                           sizeof(why));
    if (r == EOTP_E_NOMEM) {
        return r;
    }
    if (r != EOTP_OK) {
        eotp_log(lg, LOG_ALERT,
                 "ldap: refusing ldap_bind_password_file file=%s "
                 "reason=\"%s\"",
                 safe, why);
        return EOTP_E_CONFIG;
    }
    n = eotp_secret_line_len(buf, len);
    if (n == 0) {
        /* An empty password would make an unauthenticated bind. */
        eotp_log(lg, LOG_ALERT,
                 "ldap: refusing ldap_bind_password_file file=%s "
                 "reason=\"empty, or more than one line\"",
                 safe);
        eotp_freezero(buf, len + 1);
        return EOTP_E_CONFIG;
    }
    eotp_memzero(buf + n, len - n);
    buf[n] = '\0';
    *pw = buf;
    *alloc_len = len; /* free with eotp_freezero(buf, len + 1) */
    return EOTP_OK;
}

static size_t count_items(const char *list)
{
    const char *cur = list;
    char item[URI_MAX];
    size_t n = 0;

    while (eotp_list_next(&cur, item, sizeof(item))) {
        n++;
    }
    return n;
}

int eotp_ldap_lookup(const struct eotp_cfg *cfg, const char *user,
                     const struct eotp_logger *lg, struct eotp_dests *out,
                     char *source, size_t len)
{
    struct job job;
    struct attrs attrs;
    struct found f;
    struct berval cred;
    struct pipe_guard guard;
    char filter[EOTP_LDAP_FILTER_MAX];
    char uri[URI_MAX];
    char *pw = NULL;
    size_t pwalloc = 0;
    const char *cur;
    size_t nuris;
    size_t tried = 0;
    long long start;
    long long deadline;
    bool guarded = false;
    int r = EOTP_E_INTERNAL;

    memset(&job, 0, sizeof(job));
    memset(&f, 0, sizeof(f));
    job.cfg = cfg;
    job.lg = lg;
    job.filter = filter;
    job.attrs = &attrs;
    eotp_sanitize(job.user, sizeof(job.user), user, true);

    if (cfg->ldap_uri == NULL || cfg->ldap_base == NULL ||
        cfg->ldap_base[0] == '\0') {
        eotp_log(lg, LOG_ALERT,
                 "ldap: user_sources names ldap but ldap_uri or ldap_base "
                 "is not set");
        r = EOTP_E_CONFIG;
        goto out;
    }
    if ((cfg->ldap_bind_dn == NULL) !=
        (cfg->ldap_bind_password_file == NULL)) {
        eotp_log(lg, LOG_ALERT,
                 "ldap: ldap_bind_dn and ldap_bind_password_file go "
                 "together");
        r = EOTP_E_CONFIG;
        goto out;
    }
    if (parse_attrs(cfg->ldap_attributes != NULL ? cfg->ldap_attributes
                                                 : "mobile,mail",
                    &attrs) != EOTP_OK) {
        eotp_log(lg, LOG_ALERT, "ldap: bad ldap_attributes");
        r = EOTP_E_CONFIG;
        goto out;
    }
    if (user[0] == '\0' || strlen(user) > EOTP_LDAP_USER_MAX) {
        eotp_log(lg, LOG_NOTICE, "ldap: user name empty or too long");
        r = EOTP_E_UNMAPPED;
        goto out;
    }
    r = eotp_ldap_build_filter(cfg->ldap_filter != NULL ? cfg->ldap_filter
                                                        : "(uid=%u)",
                               user, filter, sizeof(filter));
    if (r != EOTP_OK) {
        eotp_log(lg, LOG_ALERT,
                 "ldap: ldap_filter too long after substitution user=%s",
                 job.user);
        goto out;
    }
    if (cfg->ldap_bind_dn != NULL) {
        size_t pwlen = 0;

        r = read_password(cfg, lg, &pw, &pwalloc);
        if (r != EOTP_OK) {
            goto out;
        }
        pwlen = strlen(pw);
        cred.bv_val = pw;
        cred.bv_len = (ber_len_t)pwlen;
        job.cred = &cred;
    }

    nuris = count_items(cfg->ldap_uri);
    pipe_block(&guard);
    guarded = true;
    start = now_ms();
    deadline = start + cfg->ldap_timeout * 1000;
    r = EOTP_E_LDAP;
    cur = cfg->ldap_uri;
    while (eotp_list_next(&cur, uri, sizeof(uri))) {
        long long left = deadline - now_ms();
        long long share;

        if (strlen(uri) >= sizeof(uri) - 1) {
            eotp_log(lg, LOG_ALERT, "ldap: URI too long in ldap_uri");
            r = EOTP_E_CONFIG;
            break;
        }
        if (left < MIN_STEP_MS) {
            eotp_log(lg, LOG_ERR,
                     "ldap: out of time (ldap_timeout) user=%s tried=%zu "
                     "of=%zu",
                     job.user, tried, nuris);
            break;
        }
        /* Each URI left gets an equal share, so a server that accepts
         * and never answers cannot starve the ones after it. */
        share = left / (long long)(nuris > tried ? nuris - tried : 1);
        tried++;
        r = try_uri(&job, uri, now_ms() + share, &f);
        if (r != EOTP_E_LDAP) {
            break;
        }
    }
    if (r == EOTP_E_LDAP) {
        eotp_log(lg, LOG_ERR,
                 "ldap: no directory server could be used user=%s tried=%zu "
                 "elapsed_ms=%lld",
                 job.user, tried, now_ms() - start);
        goto out;
    }
    if (r != EOTP_OK) {
        goto out;
    }
    out->dest[0] = strdup(f.dest);
    if (out->dest[0] == NULL) {
        r = EOTP_E_NOMEM;
        goto out;
    }
    out->n = 1;
    out->lineno = 0;
    if (source != NULL && len > 0) {
        (void)snprintf(source, len, "ldap %s attribute %s", uri, f.attr);
    }
    if (lg != NULL && lg->debug) {
        char masked[EOTP_MASK_MAX];
        char safe_uri[EOTP_FIELD_MAX];

        eotp_debug(lg,
                   "ldap: destination found user=%s uri=%s attribute=%s "
                   "dest=%s",
                   job.user,
                   eotp_sanitize(safe_uri, sizeof(safe_uri), uri, true),
                   f.attr, eotp_dest_mask(f.dest, masked, sizeof(masked)));
    }
out:
    if (guarded) {
        pipe_restore(&guard);
    }
    if (pw != NULL) {
        eotp_memzero(&cred, sizeof(cred));
        eotp_freezero(pw, pwalloc + 1);
    }
    eotp_memzero(&f, sizeof(f));
    return r;
}

#endif /* EOTP_HAVE_LDAP */
