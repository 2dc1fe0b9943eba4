/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor_checks.c - doctor's checks of local files and settings: the user
 * map, groups, CA files, ldap_insecure, state_dir, and the directory.
 */
#include "doctor.h"
#include "doctor_redis.h"

#include "../core/dest.h"
#include "../core/err.h"
#include "../core/ldap.h"
#include "../core/safefile.h"
#include "../core/usermap.h"

#include <errno.h>
#include <grp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CA_FILE_MAX EOTP_TRUST_FILE_MAX

/*
 * A logger that keeps what the core says, so that a result can quote it;
 * with -d the lines also go to stderr.
 */
struct capture {
    char first[512];
    unsigned long lines[8]; /* malformed user map lines */
    size_t nlines;
    bool debug;
};

static void capture_emit(void *ctx, int prio, const char *line)
{
    struct capture *c = ctx;
    const char *p = strstr(line, "malformed line");

    if (c->first[0] == '\0' && prio != LOG_DEBUG) {
        (void)snprintf(c->first, sizeof(c->first), "%s", line);
    }
    if (p != NULL && (p = strstr(p, " line=")) != NULL &&
        c->nlines < sizeof(c->lines) / sizeof(c->lines[0])) {
        long n = 0;
        char num[24];
        size_t k = 0;

        p += 6;
        while (k + 1 < sizeof(num) && p[k] >= '0' && p[k] <= '9') {
            num[k] = p[k];
            k++;
        }
        num[k] = '\0';
        if (eotp_parse_long(num, 1, 2147483647L, &n) == EOTP_OK) {
            c->lines[c->nlines++] = (unsigned long)n;
        }
    }
    if (c->debug) {
        (void)fprintf(stderr, "%s: %s\n", EOTP_PROG, line);
    }
}

static void capture_init(struct capture *c, struct eotp_logger *lg,
                         const struct eotp_global *g)
{
    memset(c, 0, sizeof(*c));
    c->debug = g->debug;
    lg->emit = capture_emit;
    lg->ctx = c;
    lg->debug = g->debug;
}

/* The text after "config: ", "user map: " or "ldap: " for a result. */
static const char *core_text(const struct capture *c, const char *dflt)
{
    static const char *const prefixes[] = {"config: ", "user map: ", "ldap: "};
    const char *p = c->first;

    if (p[0] == '\0') {
        return dflt;
    }
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t n = strlen(prefixes[i]);

        if (strncmp(p, prefixes[i], n) == 0) {
            return p + n;
        }
    }
    return p;
}

/* ---- the user map -------------------------------------------------------- */

void eotp_doc_check_user_map(struct eotp_doctor *d)
{
    static const char name[] = "user_map";
    const struct eotp_cfg *cfg = &d->cfg;
    struct eotp_logger lg;
    struct capture cap;
    char safe[EOTP_FIELD_MAX];
    char fix[2 * EOTP_FIELD_MAX + 64];
    unsigned long lines = 0;
    unsigned long bad = 0;
    struct stat st;
    int r;

    if (!eotp_doctor_needs(d, name, "user_map user_sources")) {
        return;
    }
    eotp_sanitize(safe, sizeof(safe), cfg->user_map, false);
    if (!eotp_doctor_source_used(cfg, "map")) {
        char src[EOTP_FIELD_MAX];

        eotp_sanitize(src, sizeof(src), cfg->user_sources, false);
        eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                           "user map: not used (user_sources = %s)", src);
        return;
    }
    (void)snprintf(fix, sizeof(fix),
                   "run 'chown root:root %s && chmod 0600 %s'", safe, safe);
    capture_init(&cap, &lg, d->g);
    r = eotp_usermap_check(cfg->user_map, cfg->default_country_code, &lg,
                           &lines, &bad);
    if (r == EOTP_E_FILE) {
        eotp_doctor_report(d, name, EOTP_DOC_FAIL,
                           "create it (one 'user:+6591234567' per line) or "
                           "set user_map",
                           "user map %s: %s", safe,
                           core_text(&cap, "cannot be read"));
        return;
    }
    if (r == EOTP_E_CONFIG) {
        eotp_doctor_report(d, name, EOTP_DOC_FAIL, fix, "user map %s: %s",
                           safe, core_text(&cap, "not trustworthy"));
        return;
    }
    if (r != EOTP_OK) {
        eotp_doctor_report(d, name, EOTP_DOC_FAIL, "run with -d for details",
                           "user map %s: %s", safe, eotp_strerror(r));
        return;
    }
    if (bad > 0) {
        char list[128] = "";
        size_t used = 0;

        for (size_t i = 0; i < cap.nlines && used + 16 < sizeof(list); i++) {
            int n = snprintf(list + used, sizeof(list) - used, "%s%lu",
                             i > 0 ? ", " : "", cap.lines[i]);

            if (n < 0) {
                break;
            }
            used += (size_t)n;
        }
        eotp_doctor_report(
            d, name, EOTP_DOC_FAIL,
            "write each line as user:+6591234567 or user:name@example.com",
            "user map %s: %lu malformed line%s%s%s%s", safe, bad,
            bad == 1 ? "" : "s", list[0] != '\0' ? " (line " : "", list,
            list[0] != '\0' ? ")" : "");
    } else {
        eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                           "user map %s (%lu user%s)", safe, lines,
                           lines == 1 ? "" : "s");
    }
    /* The map holds every administrator's phone number. */
    if (stat(cfg->user_map, &st) == 0 && (st.st_mode & S_IROTH) != 0) {
        (void)snprintf(fix, sizeof(fix), "run 'chmod 0600 %s'", safe);
        eotp_doctor_report(d, name, EOTP_DOC_WARN, fix,
                           "user map %s: mode %04o lets every local user read "
                           "every administrator's phone number and email",
                           safe, (unsigned int)(st.st_mode & 07777));
    }
}

/* ---- groups -------------------------------------------------------------- */

size_t eotp_doc_unknown_groups(const char *list, char *out, size_t outlen)
{
    const char *cur = list;
    char gname[257];
    size_t n = 0;
    size_t used = 0;

    out[0] = '\0';
    while (list != NULL && eotp_list_next(&cur, gname, sizeof(gname))) {
        struct group gr;
        struct group *res = NULL;
        char buf[16384];
        char safe[EOTP_FIELD_MAX];
        int k;

        if (getgrnam_r(gname, &gr, buf, sizeof(buf), &res) == 0 &&
            res != NULL) {
            continue;
        }
        n++;
        k = snprintf(out + used, outlen - used, "%s%s", n > 1 ? ", " : "",
                     eotp_sanitize(safe, sizeof(safe), gname, false));
        if (k > 0 && (size_t)k < outlen - used) {
            used += (size_t)k;
        }
    }
    return n;
}

void eotp_doc_check_groups(struct eotp_doctor *d)
{
    static const char name[] = "groups";
    char missing[512];
    size_t n;
    bool any = false;

    if (!eotp_doctor_needs(d, name, "only_groups exempt_groups")) {
        return;
    }
    n = eotp_doc_unknown_groups(d->cfg.only_groups, missing, sizeof(missing));
    if (n > 0) {
        any = true;
        eotp_doctor_report(d, name, EOTP_DOC_FAIL,
                           "create the group or correct the name: while it is "
                           "missing, every user outside the other only_groups "
                           "groups is refused (PAM_SERVICE_ERR)",
                           "only_groups names unknown group%s: %s",
                           n == 1 ? "" : "s", missing);
    }
    n = eotp_doc_unknown_groups(d->cfg.exempt_groups, missing,
                                sizeof(missing));
    if (n > 0) {
        any = true;
        eotp_doctor_report(d, name, EOTP_DOC_FAIL,
                           "create the group or correct the name: an unknown "
                           "exempt group exempts nobody, so break-glass "
                           "access through it does not work",
                           "exempt_groups names unknown group%s: %s",
                           n == 1 ? "" : "s", missing);
    }
    if (!any) {
        eotp_doctor_report(d, name, EOTP_DOC_OK, NULL, "groups (%s)",
                           d->cfg.only_groups == NULL &&
                                   d->cfg.exempt_groups == NULL
                               ? "only_groups and exempt_groups not set"
                               : "every group of only_groups and "
                                 "exempt_groups exists");
    }
}

/* ---- CA files ------------------------------------------------------------ */

/*
 * The trust check of a CA file: the module's own (eotp_cfg_check_files()
 * uses eotp_safefile_check(), the same rules), opened here to parse it.
 * Returns 0 with *fd open, or an error with why and *reason set.
 */
static int ca_trust(const char *path, int *fd, enum eotp_sf_reason *reason,
                    char *why, size_t whylen)
{
    int r = eotp_safefile_check(path, EOTP_SF_PUBLIC, CA_FILE_MAX, reason, why,
                                whylen);

    if (r != EOTP_OK) {
        return r;
    }
    return eotp_safefile_open(path, EOTP_SF_PUBLIC, CA_FILE_MAX, fd, why,
                              whylen);
}

/* How to fix a trust file that eotp_safefile_check() refused. */
static const char *trust_file_fix(enum eotp_sf_reason reason)
{
    switch (reason) {
    case EOTP_SF_SYMLINK:
        return "name the file the link points to";
    case EOTP_SF_PARENT:
        return "make every directory on the path root's and not writable "
               "by group or others";
    case EOTP_SF_NOT_REGULAR:
    case EOTP_SF_TOO_BIG:
        return "name a regular PEM file";
    default:
        return "make it a root-owned file that only root can write "
               "(chown root:root, chmod 0644): anyone who can write it can "
               "make the module trust any server";
    }
}

static void check_one_ca(struct eotp_doctor *d, const char *key,
                         const char *path, const char *used_for)
{
    char safe[EOTP_FIELD_MAX];
    enum eotp_sf_reason reason = EOTP_SF_OK;
    char why[160];
    char fix[2 * EOTP_FIELD_MAX + 160];
    BIO *bio;
    X509 *x;
    int count = 0;
    int valid = 0;
    int fd = -1;
    int r;

    eotp_sanitize(safe, sizeof(safe), path, false);
    r = ca_trust(path, &fd, &reason, why, sizeof(why));
    if (r == EOTP_E_FILE) {
        (void)snprintf(fix, sizeof(fix), "set %s to a readable PEM file", key);
        eotp_doctor_report(d, key, EOTP_DOC_FAIL, fix, "%s %s: %s", key, safe,
                           why);
        return;
    }
    if (r != EOTP_OK) {
        eotp_doctor_report(d, key, EOTP_DOC_FAIL, trust_file_fix(reason),
                           "%s %s: %s", key, safe, why);
        return;
    }
    bio = BIO_new_fd(fd, BIO_CLOSE);
    if (bio == NULL) {
        (void)close(fd);
        eotp_doctor_report(d, key, EOTP_DOC_FAIL, "run with -d for details",
                           "%s %s: %s", key, safe,
                           eotp_strerror(EOTP_E_NOMEM));
        return;
    }
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        count++;
        if (X509_cmp_current_time(X509_get0_notAfter(x)) > 0 &&
            X509_cmp_current_time(X509_get0_notBefore(x)) < 0) {
            valid++;
        }
        X509_free(x);
    }
    ERR_clear_error();
    BIO_free(bio);
    if (count == 0) {
        (void)snprintf(fix, sizeof(fix),
                       "set %s to the PEM bundle of the CA that signed %s's "
                       "certificate",
                       key, used_for);
        eotp_doctor_report(d, key, EOTP_DOC_FAIL, fix,
                           "%s %s: no PEM certificate in it", key, safe);
    } else if (valid == 0) {
        eotp_doctor_report(d, key, EOTP_DOC_FAIL,
                           "install a current CA bundle",
                           "%s %s: every certificate in it is expired or not "
                           "yet valid",
                           key, safe);
    } else {
        eotp_doctor_report(d, key, EOTP_DOC_OK, NULL,
                           "%s %s (owner root, not writable by others; %d "
                           "certificate%s)",
                           key, safe, count, count == 1 ? "" : "s");
    }
}

void eotp_doc_check_ca_files(struct eotp_doctor *d)
{
    if (eotp_doctor_needs(d, "ca_file", "ca_file")) {
        if (d->cfg.ca_file == NULL) {
            eotp_doctor_report(d, "ca_file", EOTP_DOC_OK, NULL,
                               "ca_file: not set, the system trust store is "
                               "used");
        } else {
            check_one_ca(d, "ca_file", d->cfg.ca_file, "api_url");
        }
    }
    if (d->cfg_read && d->cfg.ldap_ca_file != NULL &&
        eotp_doctor_needs(d, "ldap_ca_file", "ldap_ca_file")) {
        check_one_ca(d, "ldap_ca_file", d->cfg.ldap_ca_file,
                     "the directory server");
    }
}

/*
 * ldap_insecure = yes (plain ldap:// to a remote host accepted).  Read by
 * name through the key table, so this works whether or not the key
 * exists in this build; it reports nothing when it does not.
 */
void eotp_doc_check_ldap_insecure(struct eotp_doctor *d)
{
    static const char name[] = "ldap_insecure";
    size_t n = eotp_cfg_key_count();

    if (!d->cfg_read) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char val[16];

        if (strcmp(eotp_cfg_key_name(i), name) != 0) {
            continue;
        }
        if (!eotp_doctor_needs(d, name, name)) {
            return;
        }
        eotp_cfg_key_format(&d->cfg, i, val, sizeof(val));
        if (strcmp(val, "yes") == 0) {
            eotp_doctor_report(
                d, name, EOTP_DOC_WARN,
                "use ldaps:// or set ldap_starttls = yes, then remove "
                "ldap_insecure",
                "ldap_insecure = yes: the directory search and its answer "
                "cross the network in clear text, and whoever can answer it "
                "decides where every code goes");
        } else {
            eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                               "ldap_insecure not set");
        }
        return;
    }
}

/* ---- state_dir ----------------------------------------------------------- */

void eotp_doc_check_state_dir(struct eotp_doctor *d)
{
    static const char name[] = "state_dir";
    const struct eotp_cfg *cfg = &d->cfg;
    char safe[EOTP_FIELD_MAX];
    char fix[2 * EOTP_FIELD_MAX + 64];
    struct stat st;

    if (!eotp_doctor_needs(d, name, "state_dir")) {
        return;
    }
    eotp_sanitize(safe, sizeof(safe), cfg->state_dir, false);
    if (lstat(cfg->state_dir, &st) != 0) {
        if (errno == ENOENT) {
            eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                               "state_dir %s (missing; the module creates it "
                               "with mode 0700)",
                               safe);
        } else {
            eotp_doctor_report(d, name, EOTP_DOC_FAIL,
                               "check the path and its parents",
                               "state_dir %s: %s", safe, strerror(errno));
        }
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        eotp_doctor_report(d, name, EOTP_DOC_FAIL,
                           "remove it or set state_dir to a directory owned "
                           "by root with mode 0700",
                           "state_dir %s: not a directory%s", safe,
                           S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
    } else if (st.st_uid != 0) {
        (void)snprintf(fix, sizeof(fix), "run 'chown root:root %s'", safe);
        eotp_doctor_report(d, name, EOTP_DOC_FAIL, fix,
                           "state_dir %s: owned by uid %lu", safe,
                           (unsigned long)st.st_uid);
    } else if ((st.st_mode & 077) != 0) {
        (void)snprintf(fix, sizeof(fix), "run 'chmod 0700 %s'", safe);
        eotp_doctor_report(d, name, EOTP_DOC_FAIL, fix,
                           "state_dir %s: mode %04o gives group/other access",
                           safe, (unsigned int)(st.st_mode & 07777));
    } else {
        eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                           "state_dir %s (owner root, mode %04o)", safe,
                           (unsigned int)(st.st_mode & 07777));
    }
}

/* ---- the directory ------------------------------------------------------- */

/*
 * One real lookup (connect, StartTLS or ldaps, bind, search) for a name
 * nobody has.  "No such entry" is the answer wanted: the server was
 * reached, the bind accepted and the search ran, within ldap_timeout.
 */
void eotp_doc_check_directory(struct eotp_doctor *d)
{
    static const char name[] = "directory";
    static const char probe[] = "engagelab-otp-doctor-probe";
    const struct eotp_cfg *cfg = &d->cfg;
    struct eotp_dests dests = {{NULL}, 0, 0};
    struct eotp_logger lg;
    struct capture cap;
    char uri[EOTP_FIELD_MAX];
    int r;

    if (!eotp_doctor_needs(d, name,
                           "user_sources ldap_uri ldap_base ldap_filter "
                           "ldap_attributes ldap_bind_dn "
                           "ldap_bind_password_file ldap_ca_file "
                           "ldap_starttls ldap_timeout")) {
        return;
    }
    if (!eotp_doctor_source_used(cfg, "ldap")) {
        eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                           "directory: not used (user_sources does not name "
                           "ldap)");
        return;
    }
    if (cfg->ldap_uri == NULL || cfg->ldap_base == NULL) {
        eotp_doctor_report(d, name, EOTP_DOC_SKIP, NULL,
                           "directory: not checked (ldap_uri or ldap_base is "
                           "not set, see above)");
        return;
    }
    eotp_sanitize(uri, sizeof(uri), cfg->ldap_uri, false);
    capture_init(&cap, &lg, d->g);
    r = eotp_ldap_lookup(cfg, probe, &lg, &dests, NULL, 0);
    eotp_dests_free(&dests);
    switch (r) {
    case EOTP_OK:
    case EOTP_E_UNMAPPED:
        eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                           "directory %s (connect, bind and search answered)",
                           uri);
        break;
    case EOTP_E_LDAP:
        eotp_doctor_report(d, name, EOTP_DOC_FAIL,
                           "check ldap_uri, the network, "
                           "ldap_ca_file/ldap_starttls, ldap_bind_dn and its "
                           "password file",
                           "directory %s: %s", uri,
                           core_text(&cap, "no server could be used"));
        break;
    case EOTP_E_CONFIG:
        eotp_doctor_report(d, name, EOTP_DOC_FAIL, "fix the ldap_* keys",
                           "directory %s: %s", uri,
                           core_text(&cap, "bad settings"));
        break;
    default:
        eotp_doctor_report(d, name, EOTP_DOC_FAIL, "run with -d for details",
                           "directory %s: %s", uri, eotp_strerror(r));
        break;
    }
}

/*
 * The "redis" entry of doctor's table: the lines above, each turned into
 * one result ("FAIL redis: what: how to fix it" splits at the last ": ",
 * and so does WARN).
 * Silent when Redis is not configured.
 */
void eotp_doc_check_redis(struct eotp_doctor *d)
{
    struct eotp_logger lg;
    char *text = NULL;
    size_t len = 0;
    FILE *out;
    char *ln;
    char *next;

    if (!d->cfg_read ||
        (d->cfg.redis_url == NULL && d->cfg.redis_sentinels == NULL)) {
        return;
    }
    if (d->offline) {
        eotp_doctor_report(d, "redis", EOTP_DOC_SKIP, NULL,
                           "redis: not checked (--offline)");
        return;
    }
    if (!eotp_doctor_needs(d, "redis",
                           "redis_url redis_sentinels redis_master_name "
                           "redis_user redis_password_file redis_ca_file "
                           "redis_key_file redis_timeout redis_insecure "
                           "redis_tls_cert redis_tls_key")) {
        return;
    }
    out = open_memstream(&text, &len);
    if (out == NULL) {
        d->nomem = true;
        return;
    }
    eotp_cli_logger(d->g, &lg);
    (void)eotp_doctor_redis(&d->cfg, &lg, out);
    if (fclose(out) != 0 || text == NULL) {
        free(text);
        d->nomem = true;
        return;
    }
    for (ln = text; *ln != '\0'; ln = next) {
        next = strchr(ln, '\n');
        if (next != NULL) {
            *next++ = '\0';
        } else {
            next = ln + strlen(ln);
        }
        if (strncmp(ln, "OK  ", 4) == 0) {
            eotp_doctor_report(d, "redis", EOTP_DOC_OK, NULL, "%s", ln + 4);
        } else if (strncmp(ln, "FAIL ", 5) == 0 ||
                   strncmp(ln, "WARN ", 5) == 0) {
            char *colon = strrchr(ln + 5, ':');
            const char *fix = "run with -d for details";
            bool fail = ln[0] == 'F';

            if (colon != NULL && colon[1] == ' ') {
                *colon = '\0';
                fix = colon + 2;
            }
            eotp_doctor_report(d, "redis",
                               fail ? EOTP_DOC_FAIL : EOTP_DOC_WARN, fix, "%s",
                               ln + 5);
        }
    }
    free(text);
}
