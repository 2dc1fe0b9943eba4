/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor_pam.c - doctor's check of the PAM stacks that use the module,
 * and of sshd's settings for them.
 *
 * Every file in the PAM directory is read as a service, with "@include"
 * and "include"/"substack" lines expanded (a substack is treated as an
 * include: its done and die end the whole stack here, an approximation
 * that only matters when the module sits inside a substack).  For each
 * service whose stack names pam_engagelab_otp.so:
 *
 *  - the module's arguments are checked as the module does;
 *  - a non-auth line naming the module is a FAIL (it provides auth only);
 *  - the auth stack is run the way libpam runs it (controls, jumps,
 *    done, die), three times, with these assumed results:
 *      wrong code:  the module fails (PAM_AUTH_ERR), every other module
 *                   succeeds: success is a FAIL ("a wrong code still
 *                   ends in success");
 *      skipped:     the module returns PAM_IGNORE, every other module
 *                   fails: success is a WARN ("PAM_IGNORE ends in
 *                   success"), given only when the config or the
 *                   arguments can make the module ignore a user
 *                   (unmapped = ignore, only_groups, exempt_groups,
 *                   exempt_networks), and not for sshd when every list
 *                   of AuthenticationMethods names publickey;
 *      right code:  the module and every other module succeed: failure
 *                   is a WARN (nobody can log in).
 *    Modules that decide nothing are not "other modules": pam_permit,
 *    pam_succeed_if, pam_localuser, pam_listfile, pam_shells,
 *    pam_securetty and pam_faillock (except "authfail") always succeed;
 *    pam_deny always fails; pam_env, pam_faildelay, pam_group,
 *    pam_nologin, pam_warn, pam_echo, pam_mail, pam_motd, pam_keyinit,
 *    pam_limits, pam_umask, pam_loginuid, pam_systemd, pam_lastlog,
 *    pam_gnome_keyring and pam_mkhomedir return PAM_IGNORE.
 *
 * For the service "sshd", sshd's settings (doctor_sshd.c: from
 * --sshd-config, else "sshd -T", else /etc/ssh/sshd_config with its
 * Includes) give: WARN for UsePAM no; WARN for
 * KbdInteractiveAuthentication no (the code prompt is never shown);
 * WARN for PasswordAuthentication yes when AuthenticationMethods allows
 * the password method, saying whether the stack lets that password
 * login skip the code.
 */
#include "doctor.h"

#include "../core/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODULE_NAME "pam_engagelab_otp.so"
#define MAX_LINES 256
#define MAX_DEPTH 8
#define MAX_ARGS 32

struct pline {
    char type[32]; /* auth, account, password, session */
    char control[256];
    char module[256];
    char args[1024];
    char where[96]; /* "common-auth:12" */
};

struct stack {
    struct pline l[MAX_LINES];
    size_t n;
    bool truncated;
};

/* ---- reading a stack ----------------------------------------------------- */

char *eotp_doc_skip_ws(char *p)
{
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

char *eotp_doc_next_token(char *p, char *out, size_t outlen)
{
    size_t n = 0;
    bool bracket;

    p = eotp_doc_skip_ws(p);
    bracket = *p == '[';
    while (*p != '\0' && (bracket || (*p != ' ' && *p != '\t'))) {
        if (n + 1 < outlen) {
            out[n++] = *p;
        }
        if (bracket && *p == ']') {
            p++;
            break;
        }
        p++;
    }
    out[n] = '\0';
    return p;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');

    return s != NULL ? s + 1 : path;
}

static void read_stack(const char *dir, const char *file, const char *only,
                       int depth, struct stack *st);

/* One logical line (continuations joined, comment removed). */
static void parse_line(const char *dir, char *line, const char *where,
                       const char *only, int depth, struct stack *st)
{
    char type[32];
    char control[256];
    char module[256];
    char *p = line;
    char *hash = strchr(line, '#');
    const char *t;

    if (hash != NULL) {
        *hash = '\0';
    }
    p = eotp_doc_next_token(p, type, sizeof(type));
    if (type[0] == '\0') {
        return;
    }
    if (strcmp(type, "@include") == 0) {
        (void)eotp_doc_next_token(p, module, sizeof(module));
        read_stack(dir, module, only, depth + 1, st);
        return;
    }
    t = type[0] == '-' ? type + 1 : type;
    if (only != NULL && strcasecmp(t, only) != 0) {
        return;
    }
    p = eotp_doc_next_token(p, control, sizeof(control));
    p = eotp_doc_next_token(p, module, sizeof(module));
    if (strcmp(control, "include") == 0 || strcmp(control, "substack") == 0) {
        read_stack(dir, module, t, depth + 1, st);
        return;
    }
    if (st->n == MAX_LINES) {
        st->truncated = true;
        return;
    }
    (void)snprintf(st->l[st->n].type, sizeof(st->l[st->n].type), "%s", t);
    (void)snprintf(st->l[st->n].control, sizeof(st->l[st->n].control), "%s",
                   control);
    (void)snprintf(st->l[st->n].module, sizeof(st->l[st->n].module), "%s",
                   module);
    (void)snprintf(st->l[st->n].args, sizeof(st->l[st->n].args), "%s",
                   eotp_doc_skip_ws(p));
    (void)snprintf(st->l[st->n].where, sizeof(st->l[st->n].where), "%s",
                   where);
    st->n++;
}

/*
 * Append the lines of dir/file (only those of type only, when not NULL)
 * to st.  A name with a '/' is a path of its own (as in libpam).
 */
static void read_stack(const char *dir, const char *file, const char *only,
                       int depth, struct stack *st)
{
    char path[4096];
    char line[4096];
    char logical[8192];
    char where[96];
    size_t used = 0;
    unsigned int lineno = 0;
    unsigned int first = 0;
    FILE *f;
    int fd;

    if (depth > MAX_DEPTH || file[0] == '\0') {
        st->truncated = true;
        return;
    }
    if (file[0] == '/') {
        (void)snprintf(path, sizeof(path), "%s", file);
    } else {
        (void)snprintf(path, sizeof(path), "%s/%s", dir, file);
    }
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    logical[0] = '\0';
    f = fdopen(fd, "r");
    if (f == NULL) {
        (void)close(fd);
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strlen(line);
        bool cont;

        lineno++;
        if (used == 0) {
            first = lineno;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            line[--n] = '\0';
        }
        cont = n > 0 && line[n - 1] == '\\';
        if (cont) {
            line[--n] = ' ';
        }
        if (used + n + 1 < sizeof(logical)) {
            memcpy(logical + used, line, n);
            used += n;
            logical[used] = '\0';
        }
        if (cont) {
            continue;
        }
        (void)snprintf(where, sizeof(where), "%s:%u", base_name(file), first);
        parse_line(dir, logical, where, only, depth, st);
        used = 0;
    }
    (void)fclose(f);
}

/* ---- running a stack ----------------------------------------------------- */

enum result { R_SUCCESS, R_IGNORE, R_FAIL };

#define ACT_IGNORE (-1)
#define ACT_OK (-2)
#define ACT_DONE (-3)
#define ACT_BAD (-4)
#define ACT_DIE (-5)
#define ACT_RESET (-6)

static int parse_action(const char *v)
{
    static const struct {
        const char *name;
        int act;
    } names[] = {{"ignore", ACT_IGNORE}, {"ok", ACT_OK},
                 {"done", ACT_DONE},     {"bad", ACT_BAD},
                 {"die", ACT_DIE},       {"reset", ACT_RESET}};
    long n = 0;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(v, names[i].name) == 0) {
            return names[i].act;
        }
    }
    if (eotp_parse_long(v, 1, 255, &n) == EOTP_OK) {
        return (int)n;
    }
    return ACT_BAD;
}

/* libpam's action for result r under control c (a keyword or [...]). */
static int action_for(const char *c, enum result r)
{
    static const char *const rnames[] = {"success", "ignore", "auth_err"};
    char buf[256];
    char *cur;
    int dflt = ACT_BAD;
    int explicit_act = 0;
    bool have = false;

    if (strcmp(c, "required") == 0) {
        return r == R_SUCCESS ? ACT_OK : r == R_IGNORE ? ACT_IGNORE : ACT_BAD;
    }
    if (strcmp(c, "requisite") == 0) {
        return r == R_SUCCESS ? ACT_OK : r == R_IGNORE ? ACT_IGNORE : ACT_DIE;
    }
    if (strcmp(c, "sufficient") == 0) {
        return r == R_SUCCESS ? ACT_DONE : ACT_IGNORE;
    }
    if (strcmp(c, "optional") == 0) {
        return r == R_SUCCESS ? ACT_OK : ACT_IGNORE;
    }
    if (c[0] != '[') {
        return ACT_BAD;
    }
    (void)snprintf(buf, sizeof(buf), "%s", c + 1);
    cur = buf;
    while (*cur != '\0') {
        char tok[128];
        char *eq;

        cur = eotp_doc_next_token(cur, tok, sizeof(tok));
        if (tok[0] == '\0') {
            break;
        }
        tok[strcspn(tok, "]")] = '\0';
        eq = strchr(tok, '=');
        if (eq == NULL) {
            continue;
        }
        *eq = '\0';
        if (strcmp(tok, "default") == 0) {
            dflt = parse_action(eq + 1);
        } else if (strcmp(tok, rnames[r]) == 0) {
            explicit_act = parse_action(eq + 1);
            have = true;
        }
    }
    return have ? explicit_act : dflt;
}

static bool in_list(const char *name, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(name, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool is_ours(const struct pline *l)
{
    return strcmp(base_name(l->module), MODULE_NAME) == 0;
}

/* What a module other than ours returns in the scenario. */
static enum result other_result(const struct pline *l, bool others_succeed)
{
    static const char *const always_ok[] = {"pam_permit.so",
                                            "pam_succeed_if.so",
                                            "pam_localuser.so",
                                            "pam_listfile.so",
                                            "pam_shells.so",
                                            "pam_securetty.so",
                                            NULL};
    static const char *const ignores[] = {"pam_env.so",
                                          "pam_faildelay.so",
                                          "pam_group.so",
                                          "pam_nologin.so",
                                          "pam_warn.so",
                                          "pam_echo.so",
                                          "pam_mail.so",
                                          "pam_motd.so",
                                          "pam_keyinit.so",
                                          "pam_limits.so",
                                          "pam_umask.so",
                                          "pam_loginuid.so",
                                          "pam_systemd.so",
                                          "pam_lastlog.so",
                                          "pam_gnome_keyring.so",
                                          "pam_mkhomedir.so",
                                          NULL};
    const char *b = base_name(l->module);

    if (in_list(b, always_ok)) {
        return R_SUCCESS;
    }
    if (in_list(b, ignores)) {
        return R_IGNORE;
    }
    if (strcmp(b, "pam_deny.so") == 0) {
        return R_FAIL;
    }
    if (strcmp(b, "pam_faillock.so") == 0) {
        return strstr(l->args, "authfail") != NULL ? R_FAIL : R_SUCCESS;
    }
    return others_succeed ? R_SUCCESS : R_FAIL;
}

/* Does the auth stack end in success?  As _pam_dispatch_aux() decides. */
static bool simulate(const struct stack *st, enum result ours,
                     bool others_succeed)
{
    enum { UNDEF, POSITIVE, NEGATIVE } impression = UNDEF;
    enum result status = R_FAIL;

    for (size_t i = 0; i < st->n; i++) {
        const struct pline *l = &st->l[i];
        enum result r;
        int act;

        if (strcmp(l->type, "auth") != 0) {
            continue;
        }
        r = is_ours(l) ? ours : other_result(l, others_succeed);
        act = action_for(l->control, r);
        if (act == ACT_RESET) {
            impression = UNDEF;
            status = R_FAIL;
        } else if (act == ACT_OK || act == ACT_DONE) {
            if ((impression == UNDEF ||
                 (impression == POSITIVE && status == R_SUCCESS)) &&
                r != R_IGNORE) {
                impression = POSITIVE;
                status = r;
            }
            if (impression == POSITIVE && act == ACT_DONE) {
                break;
            }
        } else if (act == ACT_BAD || act == ACT_DIE) {
            if (impression != NEGATIVE) {
                impression = NEGATIVE;
                status = R_FAIL;
            }
            if (act == ACT_DIE) {
                break;
            }
        } else if (act > 0) {
            /* Skip the next act auth lines. */
            for (int k = act; k > 0 && i + 1 < st->n;) {
                i++;
                if (strcmp(st->l[i].type, "auth") == 0) {
                    k--;
                }
            }
        }
    }
    return impression == POSITIVE && status == R_SUCCESS;
}

/* ---- the check ----------------------------------------------------------- */

/* Why the module may return PAM_IGNORE, from the config and arguments. */
static void ignore_reasons(const struct eotp_cfg *c, char *out, size_t len)
{
    size_t used = strlen(out);

    if (c->unmapped == EOTP_UNMAPPED_IGNORE &&
        strstr(out, "unmapped") == NULL) {
        used += (size_t)snprintf(out + used, len - used, "%sunmapped = ignore",
                                 used > 0 ? ", " : "");
    }
    if (c->only_groups != NULL && strstr(out, "only_groups") == NULL &&
        used < len) {
        used += (size_t)snprintf(out + used, len - used, "%sonly_groups",
                                 used > 0 ? ", " : "");
    }
    if (c->exempt_groups != NULL && strstr(out, "exempt_groups") == NULL &&
        used < len) {
        used += (size_t)snprintf(out + used, len - used, "%sexempt_groups",
                                 used > 0 ? ", " : "");
    }
    if (c->exempt_networks != NULL && strstr(out, "exempt_networks") == NULL &&
        used < len) {
        (void)snprintf(out + used, len - used, "%sexempt_networks",
                       used > 0 ? ", " : "");
    }
}

/* The first problem a module argument has, as the module would say it. */
struct arg_capture {
    char first[512];
};

static void arg_emit(void *ctx, int prio, const char *line)
{
    struct arg_capture *c = ctx;

    if (prio <= LOG_ERR && c->first[0] == '\0') {
        (void)snprintf(c->first, sizeof(c->first), "%s",
                       strncmp(line, "config: ", 8) == 0 ? line + 8 : line);
    }
}

/*
 * Check the arguments of line l; reasons gets why the module may ignore
 * a user with them.  Returns false (and reports) when they are invalid.
 */
static bool check_args(struct eotp_doctor *d, const char *svc,
                       const struct pline *l, char *reasons, size_t rlen)
{
    struct arg_capture cap = {""};
    struct eotp_logger lg = {arg_emit, &cap, false};
    struct eotp_cfg c;
    char copy[sizeof(l->args)];
    const char *argv[MAX_ARGS];
    int argc = 0;
    char *p = copy;
    int r;

    (void)snprintf(copy, sizeof(copy), "%s", l->args);
    while (*p != '\0' && argc < MAX_ARGS) {
        p = eotp_doc_skip_ws(p);
        if (*p == '\0') {
            break;
        }
        argv[argc++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t') {
            p++;
        }
        if (*p != '\0') {
            *p++ = '\0';
        }
    }
    if (eotp_cfg_init(&c) != EOTP_OK) {
        d->nomem = true;
        return false;
    }
    r = eotp_cfg_apply_args(&c, argc, argv, &lg);
    if (r == EOTP_OK) {
        char m1[256];
        char m2[256];
        char missing[520];
        size_t n1 = eotp_doc_unknown_groups(c.only_groups, m1, sizeof(m1));
        size_t n2 = eotp_doc_unknown_groups(c.exempt_groups, m2, sizeof(m2));

        ignore_reasons(&c, reasons, rlen);
        (void)snprintf(missing, sizeof(missing), "%s%s%s", m1,
                       n1 > 0 && n2 > 0 ? ", " : "", m2);
        if (n1 + n2 > 0) {
            char fix[160];

            (void)snprintf(fix, sizeof(fix),
                           "create the group or correct the name at %s",
                           l->where);
            eotp_doctor_report(d, "pam_stack", EOTP_DOC_FAIL, fix,
                               "PAM stack %s: the module's arguments at %s "
                               "name unknown groups: %s",
                               svc, l->where, missing);
            r = EOTP_E_NOT_FOUND;
        }
        for (int i = 0; i < argc; i++) {
            if (strncmp(argv[i], "conf=", 5) == 0 &&
                strcmp(argv[i] + 5, d->g->config) != 0 &&
                strstr(reasons, "conf=") == NULL) {
                /* Another config file: assume it may ignore users. */
                size_t used = strlen(reasons);

                (void)snprintf(reasons + used, rlen - used,
                               "%sconf= names another file",
                               used > 0 ? ", " : "");
            }
        }
    }
    eotp_cfg_free(&c);
    if (r == EOTP_E_NOT_FOUND) {
        return false; /* reported above */
    }
    if (r != EOTP_OK) {
        char fix[160];

        (void)snprintf(fix, sizeof(fix),
                       "correct the arguments at %s (the module refuses "
                       "every login with them)",
                       l->where);
        eotp_doctor_report(d, "pam_stack", EOTP_DOC_FAIL, fix,
                           "PAM stack %s: %s at %s", svc,
                           cap.first[0] != '\0' ? cap.first
                                                : "invalid module argument",
                           l->where);
        return false;
    }
    return true;
}

static void check_service(struct eotp_doctor *d, const char *svc,
                          const struct stack *st,
                          struct eotp_sshd_settings *sshd)
{
    const struct pline *mod = NULL;
    char reasons[256] = "";
    bool args_ok = true;
    bool wrong;
    bool ignored;
    bool right;
    bool problem = false;
    char fix[512];

    for (size_t i = 0; i < st->n; i++) {
        const struct pline *l = &st->l[i];

        if (!is_ours(l)) {
            continue;
        }
        if (strcmp(l->type, "auth") != 0) {
            char f[160];

            (void)snprintf(f, sizeof(f),
                           "remove the %s line at %s: the module provides "
                           "auth only",
                           l->type, l->where);
            eotp_doctor_report(d, "pam_stack", EOTP_DOC_FAIL, f,
                               "PAM stack %s: %s at %s names the module, "
                               "which has no %s function: that step fails",
                               svc, l->type, l->where, l->type);
            problem = true;
            continue;
        }
        if (mod == NULL) {
            mod = l;
        }
        args_ok = check_args(d, svc, l, reasons, sizeof(reasons)) && args_ok;
    }
    if (mod == NULL) {
        return;
    }
    problem = problem || !args_ok;
    if (d->cfg_read) {
        ignore_reasons(&d->cfg, reasons, sizeof(reasons));
    }
    if (strcmp(svc, "sshd") == 0) {
        eotp_doc_sshd_read(d, sshd);
    }
    wrong = simulate(st, R_FAIL, true);
    ignored = reasons[0] != '\0' && simulate(st, R_IGNORE, false);
    right = simulate(st, R_SUCCESS, true);
    if (wrong) {
        problem = true;
        (void)snprintf(fix, sizeof(fix),
                       "use 'auth required %s' (or requisite) and let no "
                       "module that succeeds on its own (pam_permit) decide "
                       "after a failed code",
                       MODULE_NAME);
        eotp_doctor_report(d, "pam_stack", EOTP_DOC_FAIL, fix,
                           "PAM stack %s: a wrong code still ends in success "
                           "(the module at %s, control %s)",
                           svc, mod->where, mod->control);
    }
    if (ignored && strcmp(svc, "sshd") == 0 && sshd->read &&
        eotp_doc_sshd_key_first(sshd)) {
        ignored = false; /* sshd checked a key before the stack ran */
    }
    if (ignored) {
        problem = true;
        eotp_doctor_report(
            d, "pam_stack", EOTP_DOC_WARN,
            "require another factor before the module (for sshd: "
            "AuthenticationMethods publickey,keyboard-interactive), or set "
            "unmapped = deny and drop the exemptions",
            "PAM stack %s: PAM_IGNORE ends in success: a user the module "
            "skips (%s) gets in with nothing else from this stack (the "
            "module at %s, control %s)",
            svc, reasons, mod->where, mod->control);
    }
    if (!right) {
        problem = true;
        eotp_doctor_report(d, "pam_stack", EOTP_DOC_WARN,
                           "check the controls and jumps around the module",
                           "PAM stack %s: fails even with the right code and "
                           "every other module succeeding",
                           svc);
    }
    if (st->truncated) {
        eotp_doctor_report(d, "pam_stack", EOTP_DOC_WARN,
                           "simplify the includes",
                           "PAM stack %s: too long or includes nested too "
                           "deep; only the first %d lines were checked",
                           svc, MAX_LINES);
    }
    if (!problem) {
        eotp_doctor_report(d, "pam_stack", EOTP_DOC_OK, NULL,
                           "PAM stack %s: the module at %s (%s), arguments "
                           "valid, a wrong code fails the login",
                           svc, mod->where, mod->control);
    }
    if (strcmp(svc, "sshd") == 0) {
        eotp_doc_check_sshd(d, sshd, wrong || ignored);
    }
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void eotp_doc_check_pam_stacks(struct eotp_doctor *d)
{
    static struct stack st; /* large; the tool is single-threaded */
    struct eotp_sshd_settings sshd;
    char safe[EOTP_FIELD_MAX];
    char *names[512];
    size_t nnames = 0;
    size_t users = 0;
    struct dirent *e;
    DIR *dir;

    memset(&sshd, 0, sizeof(sshd));
    eotp_sanitize(safe, sizeof(safe), d->pam_dir, false);
    dir = opendir(d->pam_dir);
    if (dir == NULL) {
        eotp_doctor_report(d, "pam_stack", EOTP_DOC_WARN,
                           "give the PAM directory with --pam-dir",
                           "PAM stacks: cannot read %s: %s", safe,
                           strerror(errno));
        return;
    }
    while ((e = readdir(dir)) != NULL && nnames < 512) {
        size_t n = strlen(e->d_name);

        if (n == 0 || e->d_name[0] == '.' || e->d_name[n - 1] == '~' ||
            strstr(e->d_name, ".dpkg-") != NULL ||
            strstr(e->d_name, ".rpm") != NULL) {
            continue;
        }
        names[nnames] = strdup(e->d_name);
        if (names[nnames] == NULL) {
            d->nomem = true;
            break;
        }
        nnames++;
    }
    (void)closedir(dir);
    qsort(names, nnames, sizeof(names[0]), cmp_names);
    for (size_t i = 0; i < nnames; i++) {
        bool uses = false;

        memset(&st, 0, sizeof(st));
        read_stack(d->pam_dir, names[i], NULL, 0, &st);
        for (size_t k = 0; k < st.n && !uses; k++) {
            uses = is_ours(&st.l[k]);
        }
        if (uses) {
            char svc[EOTP_FIELD_MAX];

            users++;
            eotp_sanitize(svc, sizeof(svc), names[i], false);
            check_service(d, svc, &st, &sshd);
        }
        free(names[i]);
    }
    if (users == 0) {
        eotp_doctor_report(d, "pam_stack", EOTP_DOC_OK, NULL,
                           "PAM stacks: no stack in %s uses %s yet", safe,
                           MODULE_NAME);
    }
}
