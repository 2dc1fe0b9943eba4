/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor_redis.c - the Redis checks of "doctor" (issue 13): connect, TLS
 * and AUTH as a login does; the node's role; the fleet-state script
 * loaded; every command the script calls run once on probe keys that are
 * written with a TTL and deleted (so a missing ACL permission shows here,
 * not half-way through a login's script); the round-trip latency against
 * redis_timeout.  With redis_tls_cert: the client certificate loads, its
 * key matches, its subject and the days left (WARN under
 * CERT_WARN_DAYS, FAIL when expired or not yet valid).
 */
#include "doctor_redis.h"

#include "../core/err.h"
#include "../core/log.h"
#include "../core/redis.h"
#include "../core/redis_cert.h"
#include "../core/redis_state.h"

#include <hiredis/hiredis.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void line(FILE *out, int *fails, bool good, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void line(FILE *out, int *fails, bool good, const char *fmt, ...)
{
    va_list ap;

    fputs(good ? "OK  redis: " : "FAIL redis: ", out);
    va_start(ap, fmt);
    (void)vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    if (!good) {
        (*fails)++;
    }
}

/* Days of validity left under which the client certificate is a WARN:
 * two weeks leave time to renew and roll it out across a fleet. */
#define CERT_WARN_DAYS 14

static void warn(FILE *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warn(FILE *out, const char *fmt, ...)
{
    va_list ap;

    fputs("WARN redis: ", out);
    va_start(ap, fmt);
    (void)vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

static long long ms_now(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define CERT_FIX                                                              \
    "set redis_tls_cert and redis_tls_key to a client certificate (with "     \
    "clientAuth) from a CA in the server's tls-ca-cert-file, or run the "     \
    "server with tls-auth-clients no or optional"

static const char *hint(int r, const char *why)
{
    switch (r) {
    case EOTP_E_TLS:
        if (strstr(why, "client certificate") != NULL) {
            return CERT_FIX;
        }
        return "check redis_ca_file and that the server certificate names "
               "the host of redis_url (an IP SAN for an address)";
    case EOTP_E_API_AUTH:
        return "check the ACL user and password (redis_user, "
               "redis_password_file or the URL)";
    case EOTP_E_TIMEOUT:
        return "the server is slow or unreachable within redis_timeout";
    case EOTP_E_CONFIG:
        return "fix the file named (root-owned, mode 0600)";
    default:
        return "check redis_url or redis_sentinels, the firewall, and on "
               "SELinux that the port is labelled redis_port_t";
    }
}

/* The subject of x, one line (RFC 2253), sanitised. */
static void subject_of(X509 *x, char *out, size_t outlen)
{
    char raw[256] = "";
    BIO *b = BIO_new(BIO_s_mem());
    int n = 0;

    if (b != NULL && X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
                                        XN_FLAG_RFC2253) >= 0) {
        n = BIO_read(b, raw, (int)sizeof(raw) - 1);
    }
    raw[n > 0 ? n : 0] = '\0';
    BIO_free(b);
    (void)eotp_sanitize(out, outlen, raw[0] != '\0' ? raw : "-", false);
}

/* redis_tls_cert and redis_tls_key: load, match, subject, expiry. */
static void check_cert(const struct eotp_cfg *cfg, FILE *out, int *fails)
{
    struct eotp_redis_cert rc;
    char why[200];
    char subject[256];
    int days = 0;
    int secs = 0;
    int r;

    if (cfg->redis_tls_cert == NULL && cfg->redis_tls_key == NULL) {
        return;
    }
    r = eotp_redis_cert_load(cfg, &rc, why, sizeof(why));
    if (r != EOTP_OK) {
        line(out, fails, false, "client certificate: %s: %s", why,
             "keep redis_tls_cert root's and not writable by others, "
             "redis_tls_key root's with mode 0600, both PEM, the key the "
             "certificate's");
        return;
    }
    subject_of(rc.cert, subject, sizeof(subject));
    if (X509_cmp_current_time(X509_get0_notBefore(rc.cert)) > 0) {
        line(out, fails, false,
             "client certificate subject=\"%s\" is not valid yet: check the "
             "clock or renew redis_tls_cert",
             subject);
    } else if (ASN1_TIME_diff(&days, &secs, NULL,
                              X509_get0_notAfter(rc.cert)) != 1) {
        line(out, fails, false,
             "client certificate subject=\"%s\" has an unreadable expiry "
             "date: renew redis_tls_cert",
             subject);
    } else if (days < 0 || (days == 0 && secs <= 0)) {
        line(out, fails, false,
             "client certificate subject=\"%s\" expired %d days ago: renew "
             "redis_tls_cert (the server refuses it)",
             subject, -days);
    } else if (days < CERT_WARN_DAYS) {
        warn(out,
             "client certificate subject=\"%s\" expires in %d days: renew "
             "redis_tls_cert before it does (under %d days left)",
             subject, days, CERT_WARN_DAYS);
    } else {
        line(out, fails, true,
             "client certificate subject=\"%s\" loads, key matches, %d "
             "intermediate%s, expires in %d days",
             subject, rc.chain != NULL ? sk_X509_num(rc.chain) : 0,
             rc.chain != NULL && sk_X509_num(rc.chain) == 1 ? "" : "s", days);
    }
    eotp_redis_cert_free(&rc);
}

/* One command; the reply into *rp (caller frees). */
static int one(struct eotp_redis *c, int argc, const char **argv,
               redisReply **rp, char *why, size_t whylen)
{
    struct eotp_redis_cmd cmd = {argc, argv, NULL};

    return eotp_redis_exec(c, &cmd, 1, rp, why, whylen);
}

/* Every op of the script once, on probe keys; all deleted at the end. */
static int exercise(struct eotp_redis *c, const char *id, char *why,
                    size_t whylen)
{
    char kz[80];
    char kh[80];
    char kc[80];
    char ks[80];
    char ko[80];
    char kl[80];
    char mac_sha[41];
    struct eotp_rs_step st[EOTP_RS_STEPS_MAX];
    struct eotp_rs_result rr;
    int r = eotp_rs_sha1hex("mac", mac_sha);

    if (r != EOTP_OK) {
        return r;
    }

    (void)snprintf(kz, sizeof(kz), "eotp:v1:{doctor-%s}:z", id);
    (void)snprintf(kh, sizeof(kh), "eotp:v1:{doctor-%s}:h", id);
    (void)snprintf(kc, sizeof(kc), "eotp:v1:{doctor-%s}:c", id);
    (void)snprintf(ks, sizeof(ks), "eotp:v1:{doctor-%s}:s", id);
    (void)snprintf(ko, sizeof(ko), "eotp:v1:{doctor-%s}:o", id);
    (void)snprintf(kl, sizeof(kl), "eotp:v1:{doctor-%s}:l", id);
    memset(st, 0, sizeof(st));
    st[0] = (struct eotp_rs_step){EOTP_RS_TAKE, kz,   2, 10000,
                                  "e1",         NULL, 0, NULL};
    st[1] = (struct eotp_rs_step){EOTP_RS_ADD, kz,   2, 10000,
                                  "e2",        NULL, 0, NULL};
    st[2] = (struct eotp_rs_step){EOTP_RS_SET, ks,   0, 10000,
                                  "probe",     NULL, 0, NULL};
    st[3] = (struct eotp_rs_step){EOTP_RS_HPUT, kh,       0, 10000,
                                  "f",          "m1 - 1", 0, NULL};
    st[4] = (struct eotp_rs_step){
        EOTP_RS_CPUT, kc, 0, 10000, "c1", "- k mac - 1 4000000000", 0, NULL};
    st[5] = (struct eotp_rs_step){EOTP_RS_ONCE, ko,   0, 10000,
                                  NULL,         NULL, 0, NULL};
    st[6] = (struct eotp_rs_step){EOTP_RS_LEASE, kl,   0, 10000,
                                  "doctor",      NULL, 0, NULL};
    r = eotp_rs_run(c, st, 7, &rr, why, whylen);
    if (r != EOTP_OK) {
        return r;
    }
    st[0] = (struct eotp_rs_step){EOTP_RS_COUNT, kz,   0, 10000,
                                  NULL,          NULL, 0, NULL};
    st[1] = (struct eotp_rs_step){EOTP_RS_TTL, ks, 0, 0, NULL, NULL, 0, NULL};
    st[2] = (struct eotp_rs_step){EOTP_RS_HGET, kh, 0, 0, "f", NULL, 0, NULL};
    st[3] = (struct eotp_rs_step){EOTP_RS_CFIND, kc, 0, 0, "k", NULL, 0, NULL};
    st[4] = (struct eotp_rs_step){EOTP_RS_CCMP, kc,      0, 0,
                                  "c1",         mac_sha, 0, NULL};
    st[5] = (struct eotp_rs_step){EOTP_RS_CWRONG, kc,   5, 0,
                                  "c1",           NULL, 0, NULL};
    st[6] = (struct eotp_rs_step){EOTP_RS_ZREM, kz, 0, 0, "e1", NULL, 0, NULL};
    st[7] = (struct eotp_rs_step){EOTP_RS_HDELV, kh,   0, 0,
                                  "m1",          NULL, 0, NULL};
    r = eotp_rs_run(c, st, 8, &rr, why, whylen);
    if (r == EOTP_OK &&
        (rr.num[0] != 2 || rr.num[1] <= 0 || rr.num[1] > 10000 ||
         strcmp(rr.val[2], "m1 - 1") != 0 || rr.val[3][0] == '\0' ||
         strcmp(rr.val[4], "right") != 0)) {
        (void)snprintf(why, whylen, "the probe keys read back wrong");
        r = EOTP_E_BAD_RESPONSE;
    }
    /* Delete them in any case. */
    st[0] = (struct eotp_rs_step){EOTP_RS_DEL, kz, 0, 0, NULL, NULL, 0, NULL};
    st[1] = (struct eotp_rs_step){EOTP_RS_DEL, ks, 0, 0, NULL, NULL, 0, NULL};
    st[2] = (struct eotp_rs_step){EOTP_RS_DEL, kh, 0, 0, NULL, NULL, 0, NULL};
    st[3] = (struct eotp_rs_step){EOTP_RS_CDEL, kc, 0, 0, "c1", NULL, 0, NULL};
    st[4] = (struct eotp_rs_step){EOTP_RS_DEL, kc, 0, 0, NULL, NULL, 0, NULL};
    st[5] = (struct eotp_rs_step){EOTP_RS_DEL, ko, 0, 0, NULL, NULL, 0, NULL};
    st[6] = (struct eotp_rs_step){EOTP_RS_UNLEASE, kl,   0, 0,
                                  "doctor",        NULL, 0, NULL};
    {
        int dr = eotp_rs_run(c, st, 7, &rr, why, whylen);

        if (r == EOTP_OK) {
            r = dr;
        }
    }
    return r;
}

int eotp_doctor_redis(const struct eotp_cfg *cfg, const struct eotp_logger *lg,
                      FILE *out)
{
    struct eotp_redis *c = NULL;
    redisReply *rp = NULL;
    char why[200] = "";
    char sha[41];
    char id[EOTP_RS_MEMBER_HEX];
    unsigned char key[EOTP_RS_KEY_LEN];
    long long t0;
    long long worst = 0;
    int fails = 0;
    int r;

    if (!eotp_redis_configured(cfg)) {
        return 0;
    }
    r = eotp_rs_fleet_key(cfg, key, why, sizeof(why));
    memset(key, 0, sizeof(key));
    line(out, &fails, r == EOTP_OK, "fleet key%s%s%s",
         r == EOTP_OK
             ? (cfg->redis_key_file != NULL ? " from redis_key_file"
                                            : " derived from dev_secret")
             : ": ",
         r == EOTP_OK ? "" : why, r == EOTP_OK ? "" : ": fix redis_key_file");
    check_cert(cfg, out, &fails);
    t0 = ms_now();
    /* Doctor may wait longer than a login, to tell slow from down. */
    r = eotp_redis_open(cfg,
                        cfg->redis_timeout < 5000 ? 5000 : cfg->redis_timeout,
                        lg, &c, why, sizeof(why));
    if (r != EOTP_OK) {
        line(out, &fails, false, "connect, TLS and AUTH: %s: %s", why,
             hint(r, why));
        return fails;
    }
    line(out, &fails, true, "connected to %s (%s, %s) in %lld ms",
         eotp_redis_node(c),
         strncmp(eotp_redis_node(c), "rediss:", 7) == 0 ? "TLS verified"
                                                        : "no TLS",
         eotp_redis_authed(c)          ? "authenticated"
         : cfg->redis_tls_cert != NULL ? "no AUTH: client certificate"
                                       : "no AUTH: no password",
         ms_now() - t0);

    {
        const char *argv[1] = {"ROLE"};

        r = one(c, 1, argv, &rp, why, sizeof(why));
        if (r == EOTP_OK && rp->type == REDIS_REPLY_ARRAY &&
            rp->elements >= 1 && rp->element[0]->type == REDIS_REPLY_STRING) {
            line(out, &fails, strcmp(rp->element[0]->str, "master") == 0,
                 "role %s%s", rp->element[0]->str,
                 strcmp(rp->element[0]->str, "master") == 0
                     ? ""
                     : ": logins need the master: list it in redis_url or "
                       "use redis_sentinels");
        } else if (r == EOTP_OK) {
            line(out, &fails, false,
                 "role: cannot be read (%s): allow ROLE to the ACL user "
                 "(+role)",
                 rp->type == REDIS_REPLY_ERROR ? "refused" : "bad reply");
        }
        eotp_redis_reply_free(rp);
        rp = NULL;
    }
    if (r == EOTP_OK && eotp_rs_script_sha(sha) == EOTP_OK) {
        const char *argv[3] = {"SCRIPT", "LOAD", eotp_rs_script()};

        r = one(c, 3, argv, &rp, why, sizeof(why));
        if (r == EOTP_OK) {
            bool good = rp->type == REDIS_REPLY_STRING &&
                        strcmp(rp->str, sha) == 0;

            line(out, &fails, good, "script loaded%s%s",
                 good ? " sha1="
                      : ": refused or wrong digest: allow "
                        "EVALSHA, EVAL and SCRIPT LOAD",
                 good ? sha : "");
        }
        eotp_redis_reply_free(rp);
        rp = NULL;
    }
    if (r == EOTP_OK && eotp_rs_member(id) == EOTP_OK) {
        r = exercise(c, id, why, sizeof(why));
        line(out, &fails, r == EOTP_OK,
             "probe keys written with a TTL, read and deleted%s%s%s",
             r == EOTP_OK ? " (every command of the script allowed)" : ": ",
             r == EOTP_OK ? "" : why,
             r == EOTP_OK ? ""
                          : ": the ACL user needs the commands listed in "
                            "pam_engagelab_otp.conf(5), on keys eotp:*");
        r = EOTP_OK;
    }
    for (int i = 0; r == EOTP_OK && i < 3; i++) {
        const char *argv[1] = {"PING"};
        long long p0 = ms_now();

        r = one(c, 1, argv, &rp, why, sizeof(why));
        eotp_redis_reply_free(rp);
        rp = NULL;
        if (ms_now() - p0 > worst) {
            worst = ms_now() - p0;
        }
    }
    if (r == EOTP_OK) {
        /* An ordinary login makes 4 round trips (5 to load the script). */
        line(out, &fails, worst * 5 < cfg->redis_timeout,
             "latency %lld ms per round trip (worst of 3)%s", worst,
             worst * 5 < cfg->redis_timeout
                 ? ""
                 : ": a login needs about 5 round trips: raise "
                   "redis_timeout or bring Redis closer");
    } else {
        line(out, &fails, false, "lost the connection: %s: %s", why,
             hint(r, why));
    }
    eotp_redis_close(c);
    return fails;
}
