/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_doctor.c - "doctor": check a deployment before the module goes in
 * front of sshd, and again from config management.  The checks are a
 * table (below); each reports results with a name, a status (ok, warn,
 * fail, skip), a message and a fix.  Text output, one line per result:
 *
 *   OK  <message>
 *   WARN <message>: <fix>
 *   FAIL <message>: <fix>
 *   SKIP <message>
 *
 * or one JSON document with --json.  The config file is read even when
 * it has errors, so that one run names every problem; the checks that
 * need a broken key are skipped, all others run.
 */
#include "doctor.h"

#include "../core/err.h"
#include "../core/safefile.h"
#include "../core/secret.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_PAM_DIR "/etc/pam.d"

static const char *const usage_lines[] = {
    "Usage: " EOTP_PROG " doctor [--offline] [--json] [--pam-dir DIR]",
    "                          [--sshd-config FILE]",
    "",
    "Check the deployment and report every problem in one run, each with",
    "how to fix it.  One line per result (OK, WARN, FAIL, or SKIP for a",
    "check not run), or one JSON document with --json.",
    "",
    "Checks without the network: the config file's owner and mode, every",
    "bad line and missing key (with line numbers); the user map's owner,",
    "mode (WARN when world-readable) and malformed lines; that the groups",
    "of only_groups and exempt_groups exist; ca_file and ldap_ca_file",
    "(trusted, PEM, a current certificate); ldap_insecure (WARN);",
    "state_dir's owner and mode; the PAM stacks in --pam-dir that use the",
    "module (arguments, PAM_IGNORE or a wrong code ending in success) and",
    "sshd's settings for them; with transport = smpp, smpp_tls (WARN when",
    "no); the rescue file (trusted, every line valid; WARN for sets expired,",
    "expiring within 30 days, or used up).",
    "With the network: the directory (when user_sources names ldap), TLS",
    "to api_url, the credentials, the template (exists, Approved, has a",
    "code), code_length/code_type against the template's code, and each",
    "alt_templates template; with transport = smpp, one bind and unbind",
    "with the configured credentials (nothing is sent); with redis_url or",
    "redis_sentinels: the client certificate (redis_tls_cert: subject, days",
    "left, WARN under 14), connect, TLS, AUTH, role, the script, probe keys",
    "and latency; with notify_template: it exists, is Approved, needs no",
    "code, and uses only the params a notice sends.",
    "",
    "Options:",
    "  --offline           skip the checks that need the network",
    "  --json              print one JSON document: {\"checks\": [{\"name\",",
    "                      \"status\", \"message\", \"fix\"}, ...], ...}",
    "  --pam-dir DIR       read the PAM stacks from DIR "
    "(default " DEFAULT_PAM_DIR ")",
    "  --sshd-config FILE  read sshd's settings from FILE (default: the",
    "                      output of 'sshd -T' when sshd is installed)",
    "  -h, --help          show this help",
    "",
    "Exit status: 0 no check failed (warnings allowed); 1 a check failed;",
    "2 usage error; 3 the config file is missing, insecure or invalid",
    "(the other checks still run and are reported).",
    NULL};

void eotp_usage_doctor(FILE *out)
{
    eotp_cli_print_lines(out, usage_lines);
}

/* ---- results ------------------------------------------------------------- */

static const char *const status_names[] = {"ok", "warn", "fail", "skip"};
static const char *const status_tags[] = {"OK  ", "WARN ", "FAIL ", "SKIP "};

void eotp_doctor_report(struct eotp_doctor *d, const char *name, int status,
                        const char *fix, const char *fmt, ...)
{
    struct eotp_doc_result *r;
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (status == EOTP_DOC_FAIL &&
        (strcmp(name, "config_file") == 0 || strcmp(name, "config") == 0)) {
        d->cfg_broken = true;
    }
    if (!d->json) {
        (void)fputs(status_tags[status], stdout);
        (void)fputs(msg, stdout);
        if (fix != NULL &&
            (status == EOTP_DOC_WARN || status == EOTP_DOC_FAIL)) {
            (void)fputs(": ", stdout);
            (void)fputs(fix, stdout);
        }
        (void)fputc('\n', stdout);
        (void)fflush(stdout);
    }
    if (d->nres == d->cap) {
        size_t cap = d->cap == 0 ? 32 : d->cap * 2;
        struct eotp_doc_result *n = realloc(d->res, cap * sizeof(*n));

        if (n == NULL) {
            d->nomem = true;
            return;
        }
        d->res = n;
        d->cap = cap;
    }
    r = &d->res[d->nres];
    r->name = strdup(name);
    r->status = status;
    r->message = strdup(msg);
    r->fix = fix != NULL ? strdup(fix) : NULL;
    if (r->name == NULL || r->message == NULL ||
        (fix != NULL && r->fix == NULL)) {
        free(r->name);
        free(r->message);
        free(r->fix);
        d->nomem = true;
        return;
    }
    d->nres++;
}

bool eotp_doctor_needs(struct eotp_doctor *d, const char *name,
                       const char *keys)
{
    const char *cur = keys;
    char key[64];

    if (!d->cfg_read) {
        eotp_doctor_report(d, name, EOTP_DOC_SKIP, NULL,
                           "%s: not checked (the config file could not be "
                           "read)",
                           name);
        return false;
    }
    while (eotp_list_next(&cur, key, sizeof(key))) {
        if (eotp_cfg_key_bad(&d->cfg, key)) {
            eotp_doctor_report(d, name, EOTP_DOC_SKIP, NULL,
                               "%s: not checked (%s has an error, see above)",
                               name, key);
            return false;
        }
    }
    return true;
}

bool eotp_doctor_source_used(const struct eotp_cfg *cfg, const char *name)
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

/* ---- the config file ----------------------------------------------------- */

/* The problems the parser logs, each to become one "config" result. */
struct cfg_capture {
    struct eotp_doctor *d;
    const char *fix;
    size_t count;
};

static void cfg_capture_emit(void *ctx, int prio, const char *line)
{
    struct cfg_capture *c = ctx;
    const char *text = line;

    if (prio > LOG_ERR) {
        if (c->d->g->debug) {
            (void)fprintf(stderr, "%s: %s\n", EOTP_PROG, line);
        }
        return;
    }
    if (strncmp(text, "config: ", 8) == 0) {
        text += 8;
    }
    c->count++;
    eotp_doctor_report(c->d, "config", EOTP_DOC_FAIL, c->fix, "config: %s",
                       text);
}

/*
 * Read a config file that failed the trust check, only to report its
 * other problems: a regular file, not followed through a symlink, opened
 * without blocking, at most EOTP_CONF_MAX_SIZE bytes.
 */
static int read_untrusted(const char *path, char **buf, size_t *len)
{
    struct stat st;
    char *b = NULL;
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int r = EOTP_E_FILE;

    if (fd < 0) {
        return EOTP_E_FILE;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > EOTP_CONF_MAX_SIZE) {
        goto out;
    }
    b = malloc((size_t)st.st_size + 1);
    if (b == NULL) {
        r = EOTP_E_NOMEM;
        goto out;
    }
    while (n < (size_t)st.st_size) {
        ssize_t got = read(fd, b + n, (size_t)st.st_size - n);

        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        n += (size_t)got;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    b = NULL;
    r = EOTP_OK;
out:
    free(b);
    (void)close(fd);
    return r;
}

static void check_config(struct eotp_doctor *d)
{
    const char *path = d->g->config;
    char safe[EOTP_FIELD_MAX];
    char why[160];
    char fix[2 * EOTP_FIELD_MAX + 96];
    struct eotp_logger lg;
    struct cfg_capture cap = {d, NULL, 0};
    char *buf = NULL;
    size_t len = 0;
    int r;

    eotp_sanitize(safe, sizeof(safe), path, false);
    r = eotp_safefile_read(path, EOTP_SF_SECRET, EOTP_CONF_MAX_SIZE, &buf,
                           &len, why, sizeof(why));
    if (r == EOTP_OK) {
        eotp_doctor_report(d, "config_file", EOTP_DOC_OK, NULL,
                           "config file %s (owner root, no group/other "
                           "access)",
                           safe);
    } else if (r == EOTP_E_FILE) {
        eotp_doctor_report(d, "config_file", EOTP_DOC_FAIL,
                           "create it (see pam_engagelab_otp.conf(5)) or "
                           "give its path with -c",
                           "config file %s: %s", safe, why);
        return;
    } else if (r == EOTP_E_CONFIG) {
        (void)snprintf(fix, sizeof(fix),
                       "run 'chown root:root %s && chmod 0600 %s'", safe,
                       safe);
        eotp_doctor_report(d, "config_file", EOTP_DOC_FAIL, fix,
                           "config file %s: %s", safe, why);
        /* Its contents are still checked, so that one run says all. */
        r = read_untrusted(path, &buf, &len);
        if (r != EOTP_OK) {
            return;
        }
    } else {
        eotp_doctor_report(d, "config_file", EOTP_DOC_FAIL,
                           "run with -d for details", "config file %s: %s",
                           safe, eotp_strerror(r));
        return;
    }
    (void)snprintf(fix, sizeof(fix),
                   "correct it in %s (see pam_engagelab_otp.conf(5))", safe);
    cap.fix = fix;
    lg.emit = cfg_capture_emit;
    lg.ctx = &cap;
    lg.debug = d->g->debug;
    r = eotp_cfg_parse_buffer(&d->cfg, buf, len, path, &lg);
    eotp_freezero(buf, len + 1);
    if (r == EOTP_E_NOMEM) {
        d->nomem = true;
        return;
    }
    d->cfg_read = true;
    (void)eotp_cfg_validate(&d->cfg, &lg);
    if (cap.count == 0) {
        eotp_doctor_report(d, "config", EOTP_DOC_OK, NULL,
                           "config keys (dev_key, dev_secret, template_id "
                           "set; every line valid)");
    }
}

/* ---- the table ----------------------------------------------------------- */

struct doctor_check {
    const char *name;
    bool network; /* skipped by --offline */
    void (*run)(struct eotp_doctor *d);
};

/* In the order they run and are reported.  Add a check here. */
static const struct doctor_check checks[] = {
    {"config", false, check_config},
    {"user_map", false, eotp_doc_check_user_map},
    {"groups", false, eotp_doc_check_groups},
    {"ca_files", false, eotp_doc_check_ca_files},
    {"ldap_insecure", false, eotp_doc_check_ldap_insecure},
    {"state_dir", false, eotp_doc_check_state_dir},
    {"rescue", false, eotp_doc_check_rescue},
    {"pam_stack", false, eotp_doc_check_pam_stacks},
    {"directory", true, eotp_doc_check_directory},
    {"tls", true, eotp_doc_check_api}, /* and credentials, template */
    {"code_shape", true, eotp_doc_check_code_shape},
    {"alt_templates", true, eotp_doc_check_alt_templates},
    {"smpp_tls", false, eotp_doc_check_smpp_tls},
    {"smpp", false, eotp_doc_check_smpp},     /* network: skips itself */
    {"redis", false, eotp_doc_check_redis},   /* network: skips itself */
    {"notify", false, eotp_doc_check_notify}, /* network: skips itself */

    /* The receiver's files, the last notification (Redis: skips itself
     * with --offline). */
    {"callback", false, eotp_doc_check_callback},
};

/* ---- output -------------------------------------------------------------- */

static int print_json(const struct eotp_doctor *d, int exit_code,
                      const size_t counts[4])
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = NULL;
    char *text = NULL;
    int r = EOTP_E_NOMEM;

    if (root == NULL ||
        cJSON_AddStringToObject(root, "config", d->g->config) == NULL ||
        cJSON_AddBoolToObject(root, "offline", d->offline) == NULL ||
        cJSON_AddNumberToObject(root, "exit_status", exit_code) == NULL ||
        cJSON_AddNumberToObject(root, "ok", (double)counts[0]) == NULL ||
        cJSON_AddNumberToObject(root, "warn", (double)counts[1]) == NULL ||
        cJSON_AddNumberToObject(root, "fail", (double)counts[2]) == NULL ||
        cJSON_AddNumberToObject(root, "skip", (double)counts[3]) == NULL ||
        (arr = cJSON_AddArrayToObject(root, "checks")) == NULL) {
        goto out;
    }
    for (size_t i = 0; i < d->nres; i++) {
        const struct eotp_doc_result *res = &d->res[i];
        cJSON *o = cJSON_CreateObject();

        if (o == NULL) {
            goto out;
        }
        cJSON_AddItemToArray(arr, o);
        if (cJSON_AddStringToObject(o, "name", res->name) == NULL ||
            cJSON_AddStringToObject(o, "status", status_names[res->status]) ==
                NULL ||
            cJSON_AddStringToObject(o, "message", res->message) == NULL ||
            (res->fix != NULL && (res->status == EOTP_DOC_WARN ||
                                  res->status == EOTP_DOC_FAIL)
                 ? cJSON_AddStringToObject(o, "fix", res->fix)
                 : cJSON_AddNullToObject(o, "fix")) == NULL) {
            goto out;
        }
    }
    text = cJSON_Print(root);
    if (text == NULL) {
        goto out;
    }
    (void)puts(text);
    r = EOTP_OK;
out:
    free(text);
    cJSON_Delete(root);
    return r;
}

static void doctor_free(struct eotp_doctor *d)
{
    for (size_t i = 0; i < d->nres; i++) {
        free(d->res[i].name);
        free(d->res[i].message);
        free(d->res[i].fix);
    }
    free(d->res);
    eotp_tpl_list_free(&d->tpls);
    eotp_cfg_free(&d->cfg);
}

int eotp_cmd_doctor(int argc, char **argv, const struct eotp_global *g)
{
    enum { OPT_OFFLINE = 256, OPT_JSON, OPT_PAM_DIR, OPT_SSHD_CONFIG };
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"offline", no_argument, NULL, OPT_OFFLINE},
        {"json", no_argument, NULL, OPT_JSON},
        {"pam-dir", required_argument, NULL, OPT_PAM_DIR},
        {"sshd-config", required_argument, NULL, OPT_SSHD_CONFIG},
        {NULL, 0, NULL, 0},
    };
    struct eotp_doctor d;
    size_t counts[4] = {0, 0, 0, 0};
    int opt;
    int code;

    memset(&d, 0, sizeof(d));
    d.g = g;
    d.pam_dir = DEFAULT_PAM_DIR;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            eotp_usage_doctor(stdout);
            return EOTP_EXIT_OK;
        case OPT_OFFLINE:
            d.offline = true;
            break;
        case OPT_JSON:
            d.json = true;
            break;
        case OPT_PAM_DIR:
            d.pam_dir = optarg;
            break;
        case OPT_SSHD_CONFIG:
            d.sshd_config = optarg;
            break;
        default:
            return eotp_cli_bad_option(argv[0]);
        }
    }
    if (optind != argc) {
        return eotp_cli_usage_error(argv[0], "takes no arguments");
    }
    if (eotp_cfg_init(&d.cfg) != EOTP_OK) {
        eotp_cli_err("%s", eotp_strerror(EOTP_E_NOMEM));
        return EOTP_EXIT_CONFIG;
    }
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        if (d.offline && checks[i].network) {
            eotp_doctor_report(&d, checks[i].name, EOTP_DOC_SKIP, NULL,
                               "%s: not checked (--offline)", checks[i].name);
            continue;
        }
        checks[i].run(&d);
    }
    for (size_t i = 0; i < d.nres; i++) {
        counts[d.res[i].status]++;
    }
    if (d.nomem || d.cfg_broken) {
        code = EOTP_EXIT_CONFIG;
    } else if (counts[EOTP_DOC_FAIL] > 0) {
        code = EOTP_EXIT_NO;
    } else {
        code = EOTP_EXIT_OK;
    }
    if (d.json) {
        if (print_json(&d, code, counts) != EOTP_OK) {
            eotp_cli_err("%s", eotp_strerror(EOTP_E_NOMEM));
            code = EOTP_EXIT_CONFIG;
        }
    } else if (counts[EOTP_DOC_FAIL] > 0 || counts[EOTP_DOC_WARN] > 0) {
        eotp_cli_err("doctor: %zu check%s failed, %zu warning%s%s",
                     counts[EOTP_DOC_FAIL],
                     counts[EOTP_DOC_FAIL] == 1 ? "" : "s",
                     counts[EOTP_DOC_WARN],
                     counts[EOTP_DOC_WARN] == 1 ? "" : "s",
                     d.cfg_broken ? " (the config file is not usable)" : "");
    }
    if (d.nomem) {
        eotp_cli_err("%s", eotp_strerror(EOTP_E_NOMEM));
    }
    (void)fflush(stdout);
    doctor_free(&d);
    return code;
}
