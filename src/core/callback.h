/* SPDX-License-Identifier: Apache-2.0 */
/*
 * callback.h - authenticity of EngageLab callbacks (webhooks).
 *
 * When a callback username and secret are configured in the console,
 * every callback carries
 *
 *   X-CALLBACK-ID: timestamp=T;nonce=N;username=U;signature=S
 *
 * where S = lowercase hex HMAC-SHA256(key = secret, msg = T || N || U).
 * The body is not signed.  These functions parse that header and check it
 * (constant-time comparison), so that the admin tool and a future webhook
 * receiver share one implementation.
 */
#ifndef EOTP_CALLBACK_H
#define EOTP_CALLBACK_H

#include <stdbool.h>
#include <stddef.h>

#define EOTP_CB_HEADER_MAX 2048 /* longest header value accepted */
#define EOTP_CB_FIELD_MAX 256   /* longest timestamp, nonce or username */
#define EOTP_CB_SIG_HEX 64      /* hex digits of an HMAC-SHA256 */

/* Why a header is not valid. */
enum eotp_cb_status {
    EOTP_CB_VALID = 0,
    EOTP_CB_MALFORMED,     /* syntax, missing or duplicate key, bad value */
    EOTP_CB_BAD_SIGNATURE, /* the signature does not match */
    EOTP_CB_STALE,         /* timestamp older than max_age */
    EOTP_CB_FUTURE,        /* timestamp more than max_age in the future */
};

/* The four fields of a parsed header (NUL-terminated copies). */
struct eotp_cb_header {
    char timestamp[EOTP_CB_FIELD_MAX + 1];
    char nonce[EOTP_CB_FIELD_MAX + 1];
    char username[EOTP_CB_FIELD_MAX + 1];
    char signature[EOTP_CB_FIELD_MAX + 1];
};

/*
 * Parse a header value.  A leading "X-CALLBACK-ID:" (any case) is
 * skipped.  Segments are split on ';', each on its first '=', and keys
 * and values are trimmed of spaces and tabs; empty segments are ignored,
 * unknown keys are ignored, a segment without '=', an empty value, a
 * missing or repeated timestamp/nonce/username/signature is an error.
 * The timestamp must be decimal digits.  Returns 0, or EOTP_E_BAD_RESPONSE
 * (malformed) with why (size whylen) saying what is wrong.
 */
int eotp_cb_parse(const char *value, struct eotp_cb_header *out, char *why,
                  size_t whylen);

/*
 * Lowercase hex HMAC-SHA256 of timestamp || nonce || username keyed with
 * secret into hex (EOTP_CB_SIG_HEX + 1 bytes).  Returns 0 or
 * EOTP_E_INTERNAL.
 */
int eotp_cb_sign(const void *secret, size_t secret_len, const char *timestamp,
                 const char *nonce, const char *username,
                 char hex[EOTP_CB_SIG_HEX + 1]);

/*
 * Check a header value against secret.  With max_age > 0 the timestamp
 * (Unix seconds) must be within max_age seconds of now, in the past or in
 * the future; max_age 0 skips the freshness check.  Returns 0 when the
 * header is authentic (and fresh); EOTP_E_CODE_WRONG when it is not, with
 * *status and why telling why; EOTP_E_INTERNAL if HMAC failed.  The
 * freshness check comes after the signature check, so a forged header is
 * always reported as a bad signature.
 */
int eotp_cb_verify(const char *value, const void *secret, size_t secret_len,
                   long long max_age, long long now,
                   enum eotp_cb_status *status, char *why, size_t whylen);

/* Short text for a status ("valid", "bad signature", ...). */
const char *eotp_cb_status_text(enum eotp_cb_status status);

/*
 * Strip one trailing newline ("\n" or "\r\n") from a secret read from a
 * file: *len is shortened and the byte(s) overwritten with NUL.
 */
void eotp_cb_secret_trim(char *secret, size_t *len);

#endif
