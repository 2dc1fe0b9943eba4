/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.h - error codes of the core library and their mapping to PAM codes.
 *
 * Core functions return 0 (EOTP_OK) or one of the negative codes below.
 * The conversion to a PAM return value happens in exactly one place,
 * eotp_err_to_pam(), documented in pam_engagelab_otp(8).
 */
#ifndef EOTP_ERR_H
#define EOTP_ERR_H

#include <stdbool.h>

enum eotp_err {
    EOTP_OK = 0,
    EOTP_E_INTERNAL = -1,      /* a bug or an impossible state */
    EOTP_E_NOMEM = -2,         /* out of memory */
    EOTP_E_CONFIG = -3,        /* bad or insecure configuration */
    EOTP_E_USER_UNKNOWN = -4,  /* no such user on this system */
    EOTP_E_UNMAPPED = -5,      /* user has no destination */
    EOTP_E_TRANSPORT = -6,     /* DNS, connect, reset, proxy */
    EOTP_E_TLS = -7,           /* certificate or handshake failure */
    EOTP_E_TIMEOUT = -8,       /* a timeout or the login deadline */
    EOTP_E_SERVER = -9,        /* 5xx, code 1000, retryable send error */
    EOTP_E_BAD_RESPONSE = -10, /* unparseable or inconsistent answer */
    EOTP_E_API_AUTH = -11,     /* 2001, 2002, 2004: credentials */
    EOTP_E_API_REQUEST = -12,  /* 3001, 3002, 4001, ...: request refused */
    EOTP_E_DELIVERY = -13,     /* 5xxx: this destination cannot be reached */
    EOTP_E_RESEND = -14,       /* 3004 and no earlier code to reuse */
    EOTP_E_CODE_WRONG = -15,   /* the code typed was wrong */
    EOTP_E_CODE_EXPIRED = -16, /* 3003: expired or already used */
    EOTP_E_MAXTRIES = -17,     /* max_attempts wrong codes */
    EOTP_E_CONV = -18,         /* the conversation failed or was aborted */
    EOTP_E_STATE = -19,        /* state directory unusable */
    EOTP_E_FILE = -20,         /* a file could not be read */
    EOTP_E_LDAP = -21,         /* directory unreachable or refused us */
    EOTP_E_RATE_LIMIT = -22,   /* local send limit reached */
    EOTP_E_LOCKED = -23,       /* local lockout after wrong codes */
    EOTP_E_IGNORE = -24,       /* policy: this login is out of scope */
    EOTP_E_NOT_FOUND = -25,    /* a looked-up object does not exist */
    EOTP_E_CONF_UNREADABLE = -26, /* config missing or unreadable */
    EOTP_E_SSHD_REFUSED = -27,    /* sshd's junk password: invalid user/root */
    EOTP_E_UNSAFE_ENV = -28,      /* SSLKEYLOGFILE set in a setuid program */
    EOTP_E_FLEET_UNAVAIL = -29,   /* Redis unusable and redis_required */
};
#define EOTP_E_MIN EOTP_E_FLEET_UNAVAIL

enum eotp_failmode {
    EOTP_FAIL_CLOSED = 0,
    EOTP_FAIL_OPEN = 1,
};

/* Short fixed text for an error code; never NULL. */
const char *eotp_strerror(int err);

/* A stable one-word reason for logs ("timeout", "wrong_code", ...). */
const char *eotp_err_reason(int err);

/*
 * True when err means the service could not be used (transport, TLS,
 * timeout, server error, bad response, credentials): the failures that
 * failmode governs.  A wrong code is never one of them.
 */
bool eotp_err_is_service_failure(int err);

/*
 * The one table from outcome to PAM return value.  With failmode open a
 * service failure becomes PAM_SUCCESS and *bypassed is set to true so the
 * caller writes the audit line; otherwise *bypassed is false.
 */
int eotp_err_to_pam(int err, enum eotp_failmode failmode, bool *bypassed);

#endif
