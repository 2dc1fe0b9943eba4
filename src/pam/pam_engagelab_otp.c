/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pam_engagelab_otp.c - the PAM entry points.
 *
 * Everything but PAM glue lives in the core library: this file reads the
 * arguments and the config, runs eotp_authenticate() with a conversation
 * callback, turns the outcome into a PAM code through eotp_err_to_pam()
 * and writes one syslog line per outcome.
 */
#define PAM_SM_AUTH
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "../core/cfg.h"
#include "../core/err.h"
#include "../core/log.h"
#include "../core/otp.h"
#include "../core/policy.h"
#include "../core/secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void emit_syslog(void *ctx, int prio, const char *line)
{
    pam_syslog((pam_handle_t *)ctx, prio, "%s", line);
}

struct conv_ctx {
    pam_handle_t *pamh;
    bool silent;
};

static int conv_prompt(void *ctx, const char *text, char **answer)
{
    struct conv_ctx *c = ctx;
    char *resp = NULL;

    if (pam_prompt(c->pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", text) !=
            PAM_SUCCESS ||
        resp == NULL) {
        eotp_str_wipe_free(resp);
        return EOTP_E_CONV;
    }
    *answer = resp;
    return EOTP_OK;
}

static void conv_info(void *ctx, bool error, const char *text)
{
    struct conv_ctx *c = ctx;

    if (!c->silent) {
        (void)pam_prompt(c->pamh, error ? PAM_ERROR_MSG : PAM_TEXT_INFO, NULL,
                         "%s", text);
    }
}

static const char *item_str(pam_handle_t *pamh, int item)
{
    const void *v = NULL;

    if (pam_get_item(pamh, item, &v) != PAM_SUCCESS) {
        return NULL;
    }
    return v;
}

/* A variable from the PAM environment, else from the process's. */
static const char *env_str(pam_handle_t *pamh, const char *name)
{
    const char *v = pam_getenv(pamh, name);

    if (v == NULL || *v == '\0') {
        v = getenv(name);
    }
    return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * For an outcome met before the login was looked at (a bad config): the
 * user, service and remote host PAM already knows, without asking
 * anything.  A name the system does not know may be a password typed at
 * the login prompt: it becomes "(unknown)" in buf.
 */
static void known_items(pam_handle_t *pamh, struct eotp_login *login,
                        char *buf, size_t buflen)
{
    const char *user = item_str(pamh, PAM_USER);

    if (user != NULL && *user != '\0') {
        if (eotp_user_lookup(user, NULL, buf, buflen) != EOTP_OK) {
            (void)snprintf(buf, buflen, "(unknown)");
        }
        login->user = buf;
    }
    login->service = item_str(pamh, PAM_SERVICE);
    login->rhost = item_str(pamh, PAM_RHOST);
}

/*
 * One line for a user the second factor refused for a reason they cannot
 * fix by typing: the service is down, or no destination is on file.  Only
 * for accounts the system knows: an unknown user (sshd's invalid-user
 * path, or a password typed as the name) and sshd's junk password never
 * get here, so the line tells nobody whether an account exists.  Nothing
 * when the login goes on (bypass, PAM_IGNORE) or under PAM_SILENT (the
 * conversation wrapper).
 */
static void tell_user(const struct eotp_conv *conv, const struct eotp_cfg *cfg,
                      int err, int pamr)
{
    char line[512];
    const char *what;
    const char *help;

    if (pamr == PAM_SUCCESS || pamr == PAM_IGNORE) {
        return;
    }
    if (err == EOTP_E_UNMAPPED) {
        what = "No phone number or email address is registered for you, so "
               "no code can be sent.";
        help = "Ask your administrator to add one.";
    } else if (eotp_err_is_service_failure(err) &&
               err != EOTP_E_CONF_UNREADABLE) {
        what = "The login code service cannot be reached; try again in a "
               "few minutes.";
        help = "If this goes on, tell your administrator.";
    } else {
        return;
    }
    if (cfg != NULL && cfg->help_text != NULL) {
        help = cfg->help_text;
    }
    (void)snprintf(line, sizeof(line), "%s %s", what, help);
    conv->info(conv->ctx, true, line);
}

static void log_outcome(const struct eotp_logger *lg, int pamr, bool bypassed,
                        const struct eotp_login *login,
                        const struct eotp_result *res, bool debug)
{
    char user[EOTP_FIELD_MAX];
    char service[EOTP_FIELD_MAX];
    char rhost[EOTP_FIELD_MAX];
    int prio;
    const char *result;

    /* An unknown "user" may be a password typed at the login prompt. */
    if (res->err == EOTP_E_USER_UNKNOWN && !debug) {
        (void)snprintf(user, sizeof(user), "(unknown)");
    } else {
        eotp_sanitize(user, sizeof(user), login->user, true);
    }
    eotp_sanitize(service, sizeof(service), login->service, true);
    eotp_sanitize(rhost, sizeof(rhost), login->rhost, true);
    if (bypassed) {
        prio = LOG_WARNING;
        result = "bypassed";
    } else if (res->err == EOTP_OK) {
        prio = LOG_INFO;
        result = "success";
    } else if (pamr == PAM_IGNORE) {
        prio = LOG_INFO;
        result = "ignored";
    } else if (res->err == EOTP_E_CODE_WRONG ||
               res->err == EOTP_E_CODE_EXPIRED ||
               res->err == EOTP_E_MAXTRIES || res->err == EOTP_E_CONV ||
               res->err == EOTP_E_USER_UNKNOWN ||
               res->err == EOTP_E_UNMAPPED || res->err == EOTP_E_RESEND ||
               res->err == EOTP_E_SSHD_REFUSED ||
               res->err == EOTP_E_RATE_LIMIT || res->err == EOTP_E_LOCKED) {
        prio = LOG_NOTICE;
        result = "denied";
    } else {
        prio = LOG_ERR;
        result = "error";
    }
    eotp_log(lg, prio,
             "%sresult=%s user=%s service=%s rhost=%s dest=%s "
             "message_id=%s channel=%s reused=%s wrong=%d unchecked=%d "
             "reason=%s%s%s%s%s%s",
             bypassed ? "second factor BYPASSED (failmode=open) " : "", result,
             user, service, rhost, res->masked[0] != '\0' ? res->masked : "-",
             res->message_id[0] != '\0' ? res->message_id : "-",
             res->channel[0] != '\0' ? res->channel : "-",
             res->reused ? "yes" : "no", res->wrong - res->unchecked,
             res->unchecked, eotp_err_reason(res->err),
             res->delivery[0] != '\0' ? " delivery=" : "", res->delivery,
             res->detail[0] != '\0' ? " " : "", res->detail,
             res->rescue ? " method=rescue" : "");
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
                                   const char **argv)
{
    struct eotp_logger lg = {emit_syslog, pamh, false};
    struct eotp_cfg cfg;
    struct eotp_login login = {NULL, NULL, NULL, NULL, NULL, NULL};
    struct eotp_result res;
    struct conv_ctx cctx = {pamh, (flags & PAM_SILENT) != 0};
    struct eotp_conv conv = {conv_prompt, conv_info, &cctx};
    const char *conf = EOTP_DEFAULT_CONF;
    int arg_failmode = EOTP_FAIL_CLOSED;
    enum eotp_failmode failmode;
    bool bypassed = false;
    const char *why = NULL;
    bool cfg_ready = false;
    bool user_known = false; /* eotp_authenticate found the account */
    char unknown[EOTP_USER_NAME_MAX + 1];
    int pamr = PAM_AUTH_ERR;
    int r = EOTP_E_INTERNAL;

    memset(&res, 0, sizeof(res));
    eotp_cfg_scan_args(argc, argv, &conf, &arg_failmode, &lg.debug);
    r = eotp_cfg_init(&cfg);
    if (r != EOTP_OK) {
        goto decide;
    }
    cfg_ready = true;
    r = eotp_cfg_load_file(&cfg, conf, &lg);
    if (r == EOTP_E_FILE) {
        /* Missing or unreadable: the argument's failmode decides. */
        r = EOTP_E_CONF_UNREADABLE;
        cfg.failmode = arg_failmode;
        goto decide;
    }
    if (r == EOTP_OK) {
        r = eotp_cfg_apply_args(&cfg, argc, argv, &lg);
    }
    if (r == EOTP_OK) {
        r = eotp_cfg_validate(&cfg, &lg);
    }
    if (r == EOTP_OK) {
        r = eotp_cfg_check_files(&cfg, &lg);
    }
    if (r != EOTP_OK) {
        /* Present but invalid or insecure: always closed. */
        cfg.failmode = EOTP_FAIL_CLOSED;
        goto decide;
    }
    lg.debug = cfg.debug;

    r = pam_get_user(pamh, &login.user, NULL);
    if (r == PAM_CONV_AGAIN) {
        pamr = PAM_INCOMPLETE;
        goto out;
    }
    if (r != PAM_SUCCESS || login.user == NULL || *login.user == '\0') {
        eotp_log(&lg, LOG_ERR, "cannot determine the user");
        pamr = PAM_USER_UNKNOWN;
        goto out;
    }
    login.service = item_str(pamh, PAM_SERVICE);
    login.rhost = item_str(pamh, PAM_RHOST);
    login.command = env_str(pamh, "SUDO_COMMAND");
    login.locale = env_str(pamh, "LC_ALL");
    if (login.locale == NULL) {
        login.locale = env_str(pamh, "LC_MESSAGES");
    }
    if (login.locale == NULL) {
        login.locale = env_str(pamh, "LANG");
    }
    /* Set by sshd in the PAM environment only (never the process's). */
    login.ssh_auth_info = pam_getenv(pamh, "SSH_AUTH_INFO_0");
    if (eotp_policy_is_sshd_junk(item_str(pamh, PAM_AUTHTOK))) {
        /* Invalid user or refused root login under sshd: send nothing. */
        r = EOTP_E_SSHD_REFUSED;
        goto decide;
    }
    r = eotp_authenticate(&cfg, &login, &conv, &lg, &res);
    user_known = r != EOTP_E_USER_UNKNOWN;
    if (r == EOTP_E_UNMAPPED && cfg.unmapped == EOTP_UNMAPPED_IGNORE) {
        r = EOTP_E_IGNORE;
    }
decide:
    res.err = r;
    if (login.user == NULL) {
        known_items(pamh, &login, unknown, sizeof(unknown));
    }
    failmode = cfg_ready ? (enum eotp_failmode)cfg.failmode : EOTP_FAIL_CLOSED;
    if (!eotp_policy_open_bypass((int)failmode, r, res.code_out, &why) &&
        why != NULL) {
        /* Not in a setuid program, not once a code was sent (policy.c). */
        eotp_log(&lg, LOG_WARNING, "%s reason=%s", why, eotp_err_reason(r));
        failmode = EOTP_FAIL_CLOSED;
    }
    pamr = eotp_err_to_pam(r, failmode, &bypassed);
    log_outcome(&lg, pamr, bypassed, &login, &res, lg.debug);
    if (user_known) {
        tell_user(&conv, &cfg, r, pamr);
    }
out:
    if (cfg_ready) {
        eotp_cfg_free(&cfg);
    }
    return pamr;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc,
                              const char **argv)
{
    (void)pamh;
    (void)flags;
    (void)argc;
    (void)argv;
    /* No credentials to set; succeed so sshd, sudo and login carry on. */
    return PAM_SUCCESS;
}
