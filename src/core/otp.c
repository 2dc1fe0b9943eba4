/*
 * otp.c - one login: find the destination, send a code, prompt, verify.
 */
#include "otp.h"

#include "err.h"
#include "secret.h"
#include "state.h"
#include "lookup.h"
#include "policy.h"
#include "usermap.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *eotp_channel_label(const char *channel)
{
    if (strcmp(channel, "sms") == 0) {
        return "SMS";
    }
    if (strcmp(channel, "whatsapp") == 0) {
        return "WhatsApp";
    }
    if (strcmp(channel, "email") == 0) {
        return "email";
    }
    if (strcmp(channel, "voice") == 0) {
        return "voice call";
    }
    return NULL;
}

static int user_exists(const char *user)
{
    struct passwd pw;
    struct passwd *res = NULL;
    char buf[4096];

    if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL) {
        return EOTP_E_USER_UNKNOWN;
    }
    eotp_memzero(buf, sizeof(buf));
    return EOTP_OK;
}

static void set_detail(struct eotp_result *res, struct eotp_api *api, int r)
{
    const struct eotp_api_error *e = eotp_api_last_error(api);

    if (e->code != 0 || e->http_status != 0) {
        res->api_code = e->code;
        (void)snprintf(res->detail, sizeof(res->detail),
                       "http=%ld code=%ld message=\"%.120s\"", e->http_status,
                       e->code, e->message);
    } else if (eotp_err_is_service_failure(r)) {
        char safe[128];

        eotp_sanitize(safe, sizeof(safe), eotp_api_transport_error(api),
                      false);
        (void)snprintf(res->detail, sizeof(res->detail), "error=\"%s\"",
                       safe);
    }
}

/*
 * Send a code, or reuse the pending one when the service refuses a new
 * send (3004) and our record says which message is still valid.
 */
static int send_code(const struct eotp_cfg *cfg, struct eotp_api *api,
                     const struct eotp_login *login, const char *dest,
                     const struct eotp_logger *lg, struct eotp_result *res)
{
    const char *user = login->user;
    struct eotp_params params;
    struct eotp_state_handle sh;
    struct eotp_state st;
    struct eotp_send_req req;
    struct eotp_send_resp sr;
    char key[65];
    long long now = (long long)time(NULL);
    int r;

    r = eotp_state_pending_key(cfg->template_id, dest, key);
    if (r != EOTP_OK) {
        return r;
    }
    r = eotp_state_lock(cfg->state_dir, user, lg, &sh);
    if (r != EOTP_OK) {
        return r;
    }
    r = eotp_state_load(&sh, &st);
    if (r != EOTP_OK) {
        goto out;
    }
    r = eotp_params_build(cfg, login, &params);
    if (r != EOTP_OK) {
        goto out;
    }
    memset(&req, 0, sizeof(req));
    memset(&sr, 0, sizeof(sr));
    req.to = dest;
    req.template_id = cfg->template_id;
    req.language = eotp_policy_language(cfg, login->locale);
    req.params = params.kv;
    req.nparams = params.n;
    r = eotp_api_send(api, &req, &sr);
    if (r == EOTP_OK) {
        memcpy(res->message_id, sr.message_id, sizeof(res->message_id));
        memcpy(res->channel, sr.channel, sizeof(res->channel));
        memcpy(st.pending_id, sr.message_id, sizeof(st.pending_id));
        memcpy(st.pending_key, key, sizeof(st.pending_key));
        memcpy(st.pending_channel, sr.channel, sizeof(st.pending_channel));
        st.pending_time = now;
        r = eotp_state_save(&sh, &st);
        goto out;
    }
    set_detail(res, api, r);
    if (r == EOTP_E_RESEND && st.pending_time != 0 &&
        now - st.pending_time >= 0 &&
        now - st.pending_time < EOTP_PENDING_MAX_AGE &&
        strcmp(st.pending_key, key) == 0) {
        memcpy(res->message_id, st.pending_id, sizeof(res->message_id));
        if (strcmp(st.pending_channel, "unknown") != 0) {
            memcpy(res->channel, st.pending_channel, sizeof(res->channel));
        }
        res->reused = true;
        r = EOTP_OK;
    }
out:
    eotp_state_unlock(&sh);
    return r;
}

/* Forget the pending code once it is used up (verified or expired). */
static void forget_pending(const struct eotp_cfg *cfg, const char *user,
                           const char *message_id,
                           const struct eotp_logger *lg)
{
    struct eotp_state_handle sh;
    struct eotp_state st;

    if (eotp_state_lock(cfg->state_dir, user, lg, &sh) != EOTP_OK) {
        return;
    }
    if (eotp_state_load(&sh, &st) == EOTP_OK &&
        strcmp(st.pending_id, message_id) == 0) {
        memset(&st, 0, sizeof(st));
        (void)eotp_state_save(&sh, &st);
    }
    eotp_state_unlock(&sh);
}

static void make_prompt(char *buf, size_t len, const struct eotp_result *res,
                        const char *lead)
{
    const char *label = eotp_channel_label(res->channel);

    if (res->reused) {
        if (label != NULL) {
            (void)snprintf(buf, len,
                           "%sThe code sent earlier by %s to %s is still "
                           "valid. Code: ",
                           lead, label, res->masked);
        } else {
            (void)snprintf(buf, len,
                           "%sThe code sent earlier to %s is still valid. "
                           "Code: ",
                           lead, res->masked);
        }
    } else if (label != NULL) {
        (void)snprintf(buf, len, "%sCode sent by %s to %s: ", lead, label,
                       res->masked);
    } else {
        (void)snprintf(buf, len, "%sCode sent to %s: ", lead, res->masked);
    }
}

static void say(const struct eotp_conv *conv, bool error, const char *text)
{
    if (conv->info != NULL) {
        conv->info(conv->ctx, error, text);
    }
}

int eotp_authenticate(const struct eotp_cfg *cfg,
                      const struct eotp_login *login,
                      const struct eotp_conv *conv,
                      const struct eotp_logger *lg, struct eotp_result *res)
{
    struct eotp_dests dests = {{NULL}, 0, 0};
    struct eotp_api *api = NULL;
    const char *lead = "";
    int r;

    memset(res, 0, sizeof(*res));
    r = user_exists(login->user);
    if (r != EOTP_OK) {
        goto out;
    }
    r = eotp_policy_check(cfg, login, lg);
    if (r != EOTP_OK) {
        goto out;
    }
    r = eotp_lookup_dests(cfg, login->user, lg, &dests, NULL, 0);
    if (r != EOTP_OK) {
        goto out;
    }
    eotp_dest_mask(dests.dest[0], res->masked, sizeof(res->masked));
    r = eotp_api_new(cfg, cfg->deadline * 1000, &api);
    if (r != EOTP_OK) {
        goto out;
    }
    r = send_code(cfg, api, login, dests.dest[0], lg, res);
    if (r != EOTP_OK) {
        goto out;
    }
    r = EOTP_E_MAXTRIES;
    while (res->wrong < cfg->max_attempts) {
        char prompt[EOTP_MASK_MAX + 128];
        char *answer = NULL;
        bool verified = false;
        int vr;

        make_prompt(prompt, sizeof(prompt), res, lead);
        vr = conv->prompt(conv->ctx, prompt, &answer);
        if (vr != EOTP_OK || answer == NULL) {
            eotp_str_wipe_free(answer);
            r = EOTP_E_CONV;
            goto out;
        }
        if (!eotp_policy_code_ok(cfg, answer)) {
            /*
             * Not a code: never sent anywhere (under sshd's password
             * method the answer may be the user's password).
             */
            eotp_str_wipe_free(answer);
            res->wrong++;
            lead = "That is not a valid code. ";
            continue;
        }
        vr = eotp_api_verify(api, res->message_id, answer, &verified);
        eotp_str_wipe_free(answer);
        if (vr != EOTP_OK) {
            set_detail(res, api, vr);
            if (vr == EOTP_E_CODE_EXPIRED) {
                forget_pending(cfg, login->user, res->message_id, lg);
                say(conv, true,
                    "The code has expired or was already used. Log in again "
                    "to get a new one.");
            }
            r = vr;
            goto out;
        }
        if (verified) {
            forget_pending(cfg, login->user, res->message_id, lg);
            r = EOTP_OK;
            goto out;
        }
        res->wrong++;
        lead = "Wrong code. ";
    }
    if (r == EOTP_E_MAXTRIES) {
        say(conv, true, "Too many wrong codes.");
    }
out:
    if (r == EOTP_E_RESEND) {
        say(conv, true,
            "A code was sent recently; wait for it to expire, then try "
            "again.");
    }
    res->err = r;
    eotp_api_free(api);
    eotp_dests_free(&dests);
    return r;
}
