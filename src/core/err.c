/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.c - error texts and the outcome -> PAM code table.
 */
#include "err.h"

#include <security/_pam_types.h>
#include <stddef.h>

struct err_entry {
    int err;
    const char *reason; /* one word, for logs */
    const char *text;   /* a sentence fragment */
    int pam;            /* PAM code with failmode closed */
    bool service;       /* governed by failmode */
};

static const struct err_entry table[] = {
    {EOTP_OK, "ok", "success", PAM_SUCCESS, false},
    {EOTP_E_INTERNAL, "internal", "internal error", PAM_SERVICE_ERR, false},
    {EOTP_E_NOMEM, "nomem", "out of memory", PAM_BUF_ERR, false},
    {EOTP_E_CONFIG, "config", "bad configuration", PAM_SERVICE_ERR, false},
    {EOTP_E_USER_UNKNOWN, "unknown_user", "no such user", PAM_USER_UNKNOWN,
     false},
    {EOTP_E_UNMAPPED, "unmapped", "user has no destination", PAM_USER_UNKNOWN,
     false},
    {EOTP_E_TRANSPORT, "transport", "cannot reach the API",
     PAM_AUTHINFO_UNAVAIL, true},
    {EOTP_E_TLS, "tls", "TLS failure", PAM_AUTHINFO_UNAVAIL, true},
    {EOTP_E_TIMEOUT, "timeout", "the API did not answer in time",
     PAM_AUTHINFO_UNAVAIL, true},
    {EOTP_E_SERVER, "server_error", "the API reported a server error",
     PAM_AUTHINFO_UNAVAIL, true},
    {EOTP_E_BAD_RESPONSE, "bad_response", "the API answer was not understood",
     PAM_AUTHINFO_UNAVAIL, true},
    {EOTP_E_API_AUTH, "api_auth", "the API refused our credentials",
     PAM_AUTHINFO_UNAVAIL, true},
    {EOTP_E_API_REQUEST, "api_request", "the API refused the request",
     PAM_SERVICE_ERR, false},
    {EOTP_E_DELIVERY, "delivery", "the code could not be delivered",
     PAM_AUTHINFO_UNAVAIL, false},
    {EOTP_E_RESEND, "resend_refused",
     "a code was sent recently and cannot be reused", PAM_AUTH_ERR, false},
    {EOTP_E_CODE_WRONG, "wrong_code", "wrong code", PAM_AUTH_ERR, false},
    {EOTP_E_CODE_EXPIRED, "expired", "the code expired or was already used",
     PAM_AUTH_ERR, false},
    {EOTP_E_MAXTRIES, "max_attempts", "too many wrong codes", PAM_MAXTRIES,
     false},
    {EOTP_E_CONV, "conversation", "the conversation failed", PAM_CONV_ERR,
     false},
    {EOTP_E_STATE, "state", "state directory unusable", PAM_SERVICE_ERR,
     false},
    {EOTP_E_FILE, "file", "a file could not be read", PAM_SERVICE_ERR, false},
    {EOTP_E_LDAP, "ldap", "the directory could not be used",
     PAM_AUTHINFO_UNAVAIL, true},
    {EOTP_E_RATE_LIMIT, "send_limit", "too many codes sent", PAM_AUTH_ERR,
     false},
    {EOTP_E_LOCKED, "locked", "locked after too many wrong codes",
     PAM_AUTH_ERR, false},
    {EOTP_E_IGNORE, "out_of_scope", "policy does not apply", PAM_IGNORE,
     false},
    {EOTP_E_NOT_FOUND, "not_found", "not found", PAM_SERVICE_ERR, false},
    /* The module argument failmode= decides: the file could not say. */
    {EOTP_E_CONF_UNREADABLE, "config_unreadable",
     "the config file cannot be read", PAM_SERVICE_ERR, true},
    {EOTP_E_SSHD_REFUSED, "sshd_refused",
     "sshd already refused this login (invalid user or root)", PAM_AUTH_ERR,
     false},
    {EOTP_E_UNSAFE_ENV, "unsafe_env",
     "SSLKEYLOGFILE is set in a setuid program", PAM_SERVICE_ERR, false},
    /* redis_required: never governed by failmode, never a bypass. */
    {EOTP_E_FLEET_UNAVAIL, "fleet_state_unavailable",
     "the shared state (Redis) cannot be used and is required",
     PAM_AUTHINFO_UNAVAIL, false},
};

static const struct err_entry *lookup(int err)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (table[i].err == err) {
            return &table[i];
        }
    }
    return NULL;
}

const char *eotp_strerror(int err)
{
    const struct err_entry *e = lookup(err);

    return e != NULL ? e->text : "unknown error";
}

const char *eotp_err_reason(int err)
{
    const struct err_entry *e = lookup(err);

    return e != NULL ? e->reason : "unknown";
}

bool eotp_err_is_service_failure(int err)
{
    const struct err_entry *e = lookup(err);

    return e != NULL && e->service;
}

int eotp_err_to_pam(int err, enum eotp_failmode failmode, bool *bypassed)
{
    const struct err_entry *e = lookup(err);

    *bypassed = false;
    if (e == NULL) {
        /* An unknown code is a bug: deny. */
        return PAM_SERVICE_ERR;
    }
    if (e->service && failmode == EOTP_FAIL_OPEN) {
        *bypassed = true;
        return PAM_SUCCESS;
    }
    return e->pam;
}
