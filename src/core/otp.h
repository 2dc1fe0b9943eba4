/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp.h - the login flow: lookup -> send -> prompt -> verify.
 *
 * Used by the PAM module and by the admin tool's "test" command; the
 * prompt goes through a callback so that neither PAM nor a terminal is
 * known here.
 */
#ifndef EOTP_OTP_H
#define EOTP_OTP_H

#include "api.h"
#include "cfg.h"
#include "delivery.h"
#include "dest.h"
#include "log.h"

#include <stdbool.h>

struct eotp_conv {
    /*
     * Ask with echo off; *answer is a malloc'd string the core wipes and
     * frees.  Returns 0 or EOTP_E_CONV.
     */
    int (*prompt)(void *ctx, const char *text, char **answer);
    /* Show a message (error true: an error message). */
    void (*info)(void *ctx, bool error, const char *text);
    void *ctx;
};

struct eotp_login {
    const char *user;
    const char *service;       /* may be NULL */
    const char *rhost;         /* may be NULL */
    const char *command;       /* sudo's command, may be NULL */
    const char *locale;        /* LC_ALL/LC_MESSAGES/LANG, may be NULL */
    const char *ssh_auth_info; /* sshd's SSH_AUTH_INFO_0, may be NULL */
};

struct eotp_result {
    int err;                    /* EOTP_OK or the failure */
    char masked[EOTP_MASK_MAX]; /* masked destination, "" if none */
    char message_id[EOTP_MSGID_MAX + 1];
    char channel[EOTP_CHANNEL_MAX + 1];
    bool reused;      /* an earlier code was reused (3004) */
    bool code_out;    /* a code was sent (or an earlier one reused) */
    int wrong;        /* attempts used: wrong codes plus unchecked */
    int unchecked;    /* attempts never checked (not a code, no new code
                         left): not counted toward the lockout */
    long api_code;    /* the service's error code, 0 if none */
    char detail[256]; /* sanitised detail for the log line */
    bool grace;       /* no code: within grace_period */
    int sends;        /* codes sent in this login */
    long retry_in;    /* seconds, when refused by a limit or lockout */
    bool rescue;      /* let in by a rescue code (method=rescue) */
    /* The last delivery status seen at the prompt (delivery.h), "" if
     * none was looked up or found. */
    char delivery[EOTP_DLV_STATUS_MAX];
};

/* Run the whole flow for one login.  res is always filled in. */
int eotp_authenticate(const struct eotp_cfg *cfg,
                      const struct eotp_login *login,
                      const struct eotp_conv *conv,
                      const struct eotp_logger *lg, struct eotp_result *res);

/* "SMS", "WhatsApp", "email", "voice call" (or NULL if unknown). */
const char *eotp_channel_label(const char *channel);

#endif
