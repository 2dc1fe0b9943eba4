/*
 * cmd_doctor.c - "doctor": check a deployment before the module goes in
 * front of sshd.  One line per check on stdout:
 *
 *   OK  <check>
 *   FAIL <check>: <what is wrong>: <how to fix it>
 */
#include "cli.h"

#include "../core/api_template.h"
#include "../core/err.h"
#include "../core/ldap.h"
#include "../core/safefile.h"
#include "../core/usermap.h"

#include <errno.h>
#include <getopt.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const usage_lines[] = {
    "Usage: " EOTP_PROG " doctor",
    "",
    "Check the deployment, one line per check (OK or FAIL with how to fix",
    "it): the config file's owner and mode and its required keys; the user",
    "map's owner, mode and malformed lines; the directory (connect, bind",
    "and one search) when user_sources names ldap; the CA file; TLS to",
    "api_url;",
    "the credentials (a template list call); that the configured template",
    "exists and is approved; with transport = smpp, a bind and unbind",
    "(nothing sent; WARN when smpp_tls = no); state_dir's owner and mode.",
    "Exit status 1 when any check fails.",
    "",
    "Options:",
    "  -h, --help  show this help",
    NULL};

void eotp_usage_doctor(FILE *out)
{
    eotp_cli_print_lines(out, usage_lines);
}

/* ---- output -------------------------------------------------------------- */

struct report {
    int fails;
};

static void ok(struct report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(struct report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void ok(struct report *rep, const char *fmt, ...)
{
    va_list ap;

    (void)rep;
    (void)fputs("OK  ", stdout);
    va_start(ap, fmt);
    (void)vprintf(fmt, ap);
    va_end(ap);
    (void)fputc('\n', stdout);
}

static void fail(struct report *rep, const char *fmt, ...)
{
    va_list ap;

    rep->fails++;
    (void)fputs("FAIL ", stdout);
    va_start(ap, fmt);
    (void)vprintf(fmt, ap);
    va_end(ap);
    (void)fputc('\n', stdout);
}

/*
 * A logger that keeps what the core says, so that a FAIL line can quote
 * it; with -d the lines also go to stderr.
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

/* The text after "config: ", "user map: " or "ldap: " for a FAIL line. */
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

/* ---- checks -------------------------------------------------------------- */

static bool check_config_file(struct report *rep, const char *path,
                              const char *safe)
{
    char why[160];
    int fd = -1;
    int r = eotp_safefile_open(path, EOTP_SF_SECRET, EOTP_CONF_MAX_SIZE, &fd,
                               why, sizeof(why));

    if (r == EOTP_OK) {
        (void)close(fd);
        ok(rep, "config file %s (owner root, no group/other access)", safe);
        return true;
    }
    if (r == EOTP_E_FILE) {
        fail(rep,
             "config file %s: %s: create it (see pam_engagelab_otp.conf(5)) "
             "or give its path with -c",
             safe, why);
    } else {
        fail(rep,
             "config file %s: %s: run 'chown root:root %s && chmod 0600 "
             "%s'",
             safe, why, safe, safe);
    }
    return false;
}

static bool check_config_keys(struct report *rep, const struct eotp_global *g,
                              struct eotp_cfg *cfg)
{
    struct eotp_logger lg;
    struct capture cap;
    int r;

    capture_init(&cap, &lg, g);
    r = eotp_cfg_load_file(cfg, g->config, &lg);
    if (r == EOTP_OK) {
        r = eotp_cfg_validate(cfg, &lg);
    }
    if (r != EOTP_OK) {
        fail(rep, "config keys: %s: fix the config file",
             core_text(&cap, eotp_strerror(r)));
        return false;
    }
    ok(rep, "config keys (dev_key, dev_secret, template_id set)");
    return true;
}

/* Is name one of the sources in user_sources (default: the map)? */
static bool source_used(const struct eotp_cfg *cfg, const char *name)
{
    const char *cur = cfg->user_sources != NULL ? cfg->user_sources : "map";
    char item[16];

    while (eotp_list_next(&cur, item, sizeof(item))) {
        if (strcmp(item, name) == 0) {
            return true;
        }
    }
    return false;
}

static void check_user_map(struct report *rep, const struct eotp_global *g,
                           const struct eotp_cfg *cfg)
{
    struct eotp_logger lg;
    struct capture cap;
    char safe[EOTP_FIELD_MAX];
    unsigned long lines = 0;
    unsigned long bad = 0;
    int r;

    eotp_sanitize(safe, sizeof(safe), cfg->user_map, false);
    if (!source_used(cfg, "map")) {
        char src[EOTP_FIELD_MAX];

        eotp_sanitize(src, sizeof(src), cfg->user_sources, false);
        ok(rep, "user map: not used (user_sources = %s)", src);
        return;
    }
    capture_init(&cap, &lg, g);
    r = eotp_usermap_check(cfg->user_map, &lg, &lines, &bad);
    if (r == EOTP_E_FILE) {
        fail(rep,
             "user map %s: %s: create it (one 'user:+6591234567' per "
             "line) or set user_map",
             safe, core_text(&cap, "cannot be read"));
        return;
    }
    if (r == EOTP_E_CONFIG) {
        fail(rep, "user map %s: %s: run 'chown root:root %s && chmod 0644 %s'",
             safe, core_text(&cap, "not trustworthy"), safe, safe);
        return;
    }
    if (r != EOTP_OK) {
        fail(rep, "user map %s: %s", safe, eotp_strerror(r));
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
        fail(rep,
             "user map %s: %lu malformed line%s%s%s%s: write each line as "
             "user:+6591234567 or user:name@example.com",
             safe, bad, bad == 1 ? "" : "s", list[0] != '\0' ? " (line " : "",
             list, list[0] != '\0' ? ")" : "");
        return;
    }
    ok(rep, "user map %s (%lu user%s)", safe, lines, lines == 1 ? "" : "s");
}

/*
 * The directory, when user_sources names it: one real lookup (connect,
 * StartTLS or ldaps, bind, search) for a name nobody has.  "No such
 * entry" is the answer wanted: the server was reached, the bind accepted
 * and the search ran, within ldap_timeout.
 */
static void check_directory(struct report *rep, const struct eotp_global *g,
                            const struct eotp_cfg *cfg)
{
    static const char probe[] = "engagelab-otp-doctor-probe";
    struct eotp_dests dests = {{NULL}, 0, 0};
    struct eotp_logger lg;
    struct capture cap;
    char uri[EOTP_FIELD_MAX];
    int r;

    if (!source_used(cfg, "ldap")) {
        ok(rep, "directory: not used (user_sources does not name ldap)");
        return;
    }
    eotp_sanitize(uri, sizeof(uri),
                  cfg->ldap_uri != NULL ? cfg->ldap_uri : "(no ldap_uri)",
                  false);
    capture_init(&cap, &lg, g);
    r = eotp_ldap_lookup(cfg, probe, &lg, &dests, NULL, 0);
    eotp_dests_free(&dests);
    switch (r) {
    case EOTP_OK:
    case EOTP_E_UNMAPPED:
        ok(rep, "directory %s (connect, bind and search answered)", uri);
        break;
    case EOTP_E_LDAP:
        fail(rep,
             "directory %s: %s: check ldap_uri, the network, "
             "ldap_ca_file/ldap_starttls, ldap_bind_dn and its password "
             "file",
             uri, core_text(&cap, "no server could be used"));
        break;
    case EOTP_E_CONFIG:
        fail(rep, "directory %s: %s: fix the ldap_* keys", uri,
             core_text(&cap, "bad settings"));
        break;
    default:
        fail(rep, "directory %s: %s", uri, eotp_strerror(r));
        break;
    }
}

static void check_ca_file(struct report *rep, const struct eotp_cfg *cfg)
{
    char safe[EOTP_FIELD_MAX];
    BIO *bio;
    X509 *x;
    int count = 0;
    int valid = 0;

    if (cfg->ca_file == NULL) {
        ok(rep, "CA file: not set, the system trust store is used");
        return;
    }
    eotp_sanitize(safe, sizeof(safe), cfg->ca_file, false);
    if (access(cfg->ca_file, R_OK) != 0) {
        fail(rep, "CA file %s: %s: set ca_file to a readable PEM file", safe,
             strerror(errno));
        return;
    }
    bio = BIO_new_file(cfg->ca_file, "r");
    if (bio == NULL) {
        fail(rep,
             "CA file %s: cannot be opened: set ca_file to a readable "
             "PEM file",
             safe);
        ERR_clear_error();
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
        fail(rep,
             "CA file %s: no PEM certificate in it: set ca_file to the "
             "PEM bundle of the CA that signed api_url's certificate",
             safe);
    } else if (valid == 0) {
        fail(rep,
             "CA file %s: every certificate in it is expired or not yet "
             "valid: install a current CA bundle",
             safe);
    } else {
        ok(rep, "CA file %s (%d certificate%s)", safe, count,
           count == 1 ? "" : "s");
    }
}

/* TLS, credentials and the template, from one template list call. */
static void check_api(struct report *rep, const struct eotp_cfg *cfg)
{
    struct eotp_api *api = NULL;
    struct eotp_tpl_list l = {NULL, 0};
    const struct eotp_api_error *e;
    const struct eotp_tpl_info *t = NULL;
    char url[EOTP_FIELD_MAX];
    char tid[4 * EOTP_TPL_ID_MAX + 1];
    char terr[256];
    int r;

    eotp_sanitize(url, sizeof(url), cfg->api_url, false);
    eotp_sanitize(tid, sizeof(tid), cfg->template_id, false);
    r = eotp_api_new(cfg, cfg->deadline * 1000, &api);
    if (r != EOTP_OK) {
        fail(rep, "TLS to %s: %s: check api_url, ca_file and proxy", url,
             eotp_strerror(r));
        fail(rep, "credentials: not checked (no API client)");
        fail(rep, "template %s: not checked (no API client)", tid);
        return;
    }
    r = eotp_tpl_list(api, &l, NULL);
    eotp_sanitize(terr, sizeof(terr), eotp_api_transport_error(api), false);
    if (r == EOTP_E_TLS) {
        fail(rep,
             "TLS to %s: %s%s%s: set ca_file to the CA that signed the "
             "server's certificate, and check that api_url names the "
             "host in it",
             url, eotp_strerror(r), terr[0] != '\0' ? ": " : "", terr);
    } else if (r == EOTP_E_TRANSPORT || r == EOTP_E_TIMEOUT) {
        fail(rep,
             "TLS to %s: %s%s%s: check api_url, proxy, the firewall and "
             "timeout",
             url, eotp_strerror(r), terr[0] != '\0' ? ": " : "", terr);
    } else {
        ok(rep, "TLS to %s", url);
    }
    if (r == EOTP_E_TLS || r == EOTP_E_TRANSPORT || r == EOTP_E_TIMEOUT) {
        fail(rep, "credentials: not checked (the API could not be reached)");
        fail(rep, "template %s: not checked (the API could not be reached)",
             tid);
        goto out;
    }
    e = eotp_api_last_error(api);
    if (r != EOTP_OK) {
        if (e->code != 0) {
            fail(rep, "credentials: API error %ld: %s: %s", e->code,
                 e->message, eotp_api_code_hint(e->code));
        } else {
            fail(rep, "credentials: %s%s%s: check api_url", eotp_strerror(r),
                 e->message[0] != '\0' ? ": " : "", e->message);
        }
        fail(rep, "template %s: not checked (the template list failed)", tid);
        goto out;
    }
    ok(rep, "credentials (%zu template%s visible)", l.n, l.n == 1 ? "" : "s");
    for (size_t i = 0; i < l.n; i++) {
        if (strcmp(l.items[i].id, cfg->template_id) == 0) {
            t = &l.items[i];
            break;
        }
    }
    if (t == NULL) {
        fail(rep,
             "template %s: does not exist: create it with '" EOTP_PROG
             " templates create' or fix template_id",
             tid);
    } else if (t->status == EOTP_TPL_STATUS_PENDING) {
        fail(rep,
             "template %s: Pending review: wait until the review in the "
             "EngageLab console approves it",
             tid);
    } else if (t->status == EOTP_TPL_STATUS_REJECTED) {
        fail(rep,
             "template %s: Rejected (%s): fix it and create a new "
             "template",
             tid, t->remark[0] != '\0' ? t->remark : "no remark");
    } else if (t->status != EOTP_TPL_STATUS_APPROVED) {
        fail(rep,
             "template %s: status %d is not Approved: check it in the "
             "EngageLab console",
             tid, t->status);
    } else if (!t->has_code) {
        fail(rep,
             "template %s: has no verify_code_config: the module needs "
             "a verification-code template",
             tid);
    } else {
        ok(rep, "template %s (Approved, %s, %ld characters, %ld min)", tid,
           t->strategy, t->code_len, t->code_ttl);
    }
out:
    eotp_tpl_list_free(&l);
    eotp_api_free(api);
}

static void check_state_dir(struct report *rep, const struct eotp_cfg *cfg)
{
    char safe[EOTP_FIELD_MAX];
    struct stat st;

    eotp_sanitize(safe, sizeof(safe), cfg->state_dir, false);
    if (lstat(cfg->state_dir, &st) != 0) {
        if (errno == ENOENT) {
            ok(rep,
               "state_dir %s (missing; the module creates it with mode "
               "0700)",
               safe);
        } else {
            fail(rep, "state_dir %s: %s: check the path and its parents", safe,
                 strerror(errno));
        }
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        fail(rep,
             "state_dir %s: not a directory%s: remove it or set "
             "state_dir to a directory owned by root with mode 0700",
             safe, S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
    } else if (st.st_uid != 0) {
        fail(rep, "state_dir %s: owned by uid %lu: run 'chown root:root %s'",
             safe, (unsigned long)st.st_uid, safe);
    } else if ((st.st_mode & 077) != 0) {
        fail(rep,
             "state_dir %s: mode %04o gives group/other access: run "
             "'chmod 0700 %s'",
             safe, (unsigned int)(st.st_mode & 07777), safe);
    } else {
        ok(rep, "state_dir %s (owner root, mode %04o)", safe,
           (unsigned int)(st.st_mode & 07777));
    }
}

int eotp_cmd_doctor(int argc, char **argv, const struct eotp_global *g)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct report rep = {0};
    struct eotp_cfg cfg;
    char safe[EOTP_FIELD_MAX];
    int opt;
    int r;

    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h') {
            eotp_usage_doctor(stdout);
            return EOTP_EXIT_OK;
        }
        return eotp_cli_bad_option(argv[0]);
    }
    if (optind != argc) {
        return eotp_cli_usage_error(argv[0], "takes no arguments");
    }
    eotp_sanitize(safe, sizeof(safe), g->config, false);
    r = eotp_cfg_init(&cfg);
    if (r != EOTP_OK) {
        eotp_cli_err("%s", eotp_strerror(r));
        return EOTP_EXIT_CONFIG;
    }
    if (check_config_file(&rep, g->config, safe) &&
        check_config_keys(&rep, g, &cfg)) {
        check_user_map(&rep, g, &cfg);
        check_directory(&rep, g, &cfg);
        check_ca_file(&rep, &cfg);
        check_api(&rep, &cfg);
        rep.fails += eotp_doctor_smpp(&cfg); /* doctor_smpp.c */
        check_state_dir(&rep, &cfg);
    } else {
        eotp_cli_err("doctor: the other checks need a usable config file");
    }
    eotp_cfg_free(&cfg);
    (void)fflush(stdout);
    if (rep.fails > 0) {
        eotp_cli_err("doctor: %d check%s failed", rep.fails,
                     rep.fails == 1 ? "" : "s");
        return EOTP_EXIT_NO;
    }
    return EOTP_EXIT_OK;
}
