/* SPDX-License-Identifier: Apache-2.0 */
/*
 * callback.c - X-CALLBACK-ID parsing and HMAC-SHA256 verification.
 */
#include "callback.h"

#include "err.h"
#include "secret.h"

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char prefix[] = "X-CALLBACK-ID:";

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* [*b, *e) trimmed of spaces and tabs on both sides. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && is_space(**b)) {
        (*b)++;
    }
    while (*e > *b && is_space((*e)[-1])) {
        (*e)--;
    }
}

static bool key_is(const char *k, size_t klen, const char *name)
{
    return klen == strlen(name) && memcmp(k, name, klen) == 0;
}

static bool all_digits(const char *s)
{
    if (*s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
    }
    return true;
}

static bool has_ctl(const char *b, const char *e)
{
    for (; b < e; b++) {
        if ((unsigned char)*b < 0x20 || *b == 0x7f) {
            return true;
        }
    }
    return false;
}

int eotp_cb_parse(const char *value, struct eotp_cb_header *out, char *why,
                  size_t whylen)
{
    struct eotp_cb_header h;
    const char *p = value;
    const char *end;
    bool seen[4] = {false, false, false, false};
    static const char *const names[4] = {"timestamp", "nonce", "username",
                                         "signature"};
    char *fields[4];
    int r = EOTP_E_BAD_RESPONSE;

    memset(&h, 0, sizeof(h));
    fields[0] = h.timestamp;
    fields[1] = h.nonce;
    fields[2] = h.username;
    fields[3] = h.signature;
    if (value == NULL || strlen(value) > EOTP_CB_HEADER_MAX) {
        (void)snprintf(why, whylen, "header missing or longer than %d bytes",
                       EOTP_CB_HEADER_MAX);
        goto out;
    }
    while (is_space(*p)) {
        p++;
    }
    if (strncasecmp(p, prefix, sizeof(prefix) - 1) == 0) {
        p += sizeof(prefix) - 1;
    }
    end = p + strlen(p);
    while (p <= end) {
        const char *seg_end = memchr(p, ';', (size_t)(end - p));
        const char *kb = p;
        const char *ke;
        const char *vb;
        const char *ve;
        size_t vlen;
        int i;

        if (seg_end == NULL) {
            seg_end = end;
        }
        ke = memchr(p, '=', (size_t)(seg_end - p));
        if (ke == NULL) {
            const char *sb = p;
            const char *se = seg_end;

            trim(&sb, &se);
            if (sb != se) {
                (void)snprintf(why, whylen, "a segment has no '='");
                goto out;
            }
            p = seg_end + 1;
            continue;
        }
        vb = ke + 1;
        ve = seg_end;
        trim(&kb, &ke);
        trim(&vb, &ve);
        for (i = 0; i < 4; i++) {
            if (key_is(kb, (size_t)(ke - kb), names[i])) {
                break;
            }
        }
        if (i < 4) {
            vlen = (size_t)(ve - vb);
            if (seen[i]) {
                (void)snprintf(why, whylen, "%s given twice", names[i]);
                goto out;
            }
            if (vlen == 0 || vlen > EOTP_CB_FIELD_MAX || has_ctl(vb, ve)) {
                (void)snprintf(why, whylen,
                               "%s is empty, too long or unprintable",
                               names[i]);
                goto out;
            }
            memcpy(fields[i], vb, vlen);
            fields[i][vlen] = '\0';
            seen[i] = true;
        }
        p = seg_end + 1;
    }
    for (int i = 0; i < 4; i++) {
        if (!seen[i]) {
            (void)snprintf(why, whylen, "%s is missing", names[i]);
            goto out;
        }
    }
    if (!all_digits(h.timestamp) || strlen(h.timestamp) > 18) {
        (void)snprintf(why, whylen, "timestamp is not a number of seconds");
        goto out;
    }
    *out = h;
    r = EOTP_OK;
out:
    eotp_memzero(&h, sizeof(h));
    return r;
}

int eotp_cb_sign(const void *secret, size_t secret_len, const char *timestamp,
                 const char *nonce, const char *username,
                 char hex[EOTP_CB_SIG_HEX + 1])
{
    unsigned char msg[3 * EOTP_CB_FIELD_MAX];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    size_t lt = strlen(timestamp);
    size_t ln = strlen(nonce);
    size_t lu = strlen(username);
    static const unsigned char nokey[1] = {0};
    int r = EOTP_E_INTERNAL;

    if (lt > EOTP_CB_FIELD_MAX || ln > EOTP_CB_FIELD_MAX ||
        lu > EOTP_CB_FIELD_MAX || secret_len > INT_MAX) {
        return r;
    }
    memcpy(msg, timestamp, lt);
    memcpy(msg + lt, nonce, ln);
    memcpy(msg + lt + ln, username, lu);
    if (HMAC(EVP_sha256(), secret_len > 0 ? secret : nokey, (int)secret_len,
             msg, lt + ln + lu, mac, &maclen) == NULL ||
        maclen != EOTP_CB_SIG_HEX / 2) {
        goto out;
    }
    eotp_hex_encode(mac, maclen, hex);
    r = EOTP_OK;
out:
    eotp_memzero(msg, sizeof(msg));
    eotp_memzero(mac, sizeof(mac));
    return r;
}

int eotp_cb_verify(const char *value, const void *secret, size_t secret_len,
                   long long max_age, long long now,
                   enum eotp_cb_status *status, char *why, size_t whylen)
{
    struct eotp_cb_header h;
    char want[EOTP_CB_SIG_HEX + 1];
    char got[EOTP_CB_SIG_HEX];
    long long ts = 0;
    bool same;
    int r;

    *status = EOTP_CB_MALFORMED;
    if (why != NULL && whylen > 0) {
        why[0] = '\0';
    }
    r = eotp_cb_parse(value, &h, why, whylen);
    if (r != EOTP_OK) {
        return EOTP_E_CODE_WRONG;
    }
    r = eotp_cb_sign(secret, secret_len, h.timestamp, h.nonce, h.username,
                     want);
    if (r != EOTP_OK) {
        (void)snprintf(why, whylen, "HMAC-SHA256 failed");
        goto out;
    }
    /*
     * Compare a fixed-size copy so the time spent does not depend on
     * where the signatures differ; a wrong length is simply a mismatch.
     */
    memset(got, 0, sizeof(got));
    memcpy(got, h.signature,
           strlen(h.signature) < sizeof(got) ? strlen(h.signature)
                                             : sizeof(got));
    same = eotp_consttime_memeq(got, want, sizeof(got));
    if (!same || strlen(h.signature) != EOTP_CB_SIG_HEX) {
        *status = EOTP_CB_BAD_SIGNATURE;
        (void)snprintf(why, whylen, "the signature does not match");
        r = EOTP_E_CODE_WRONG;
        goto out;
    }
    if (max_age > 0) {
        for (const char *p = h.timestamp; *p != '\0'; p++) {
            ts = ts * 10 + (*p - '0'); /* at most 18 digits: no overflow */
        }
        if (now - ts > max_age) {
            *status = EOTP_CB_STALE;
            (void)snprintf(why, whylen,
                           "timestamp is %lld seconds old (max %lld)",
                           now - ts, max_age);
            r = EOTP_E_CODE_WRONG;
            goto out;
        }
        if (ts - now > max_age) {
            *status = EOTP_CB_FUTURE;
            (void)
                snprintf(why, whylen,
                         "timestamp is %lld seconds in the future (max %lld)",
                         ts - now, max_age);
            r = EOTP_E_CODE_WRONG;
            goto out;
        }
    }
    *status = EOTP_CB_VALID;
    r = EOTP_OK;
out:
    eotp_memzero(want, sizeof(want));
    eotp_memzero(got, sizeof(got));
    eotp_memzero(&h, sizeof(h));
    return r;
}

const char *eotp_cb_status_text(enum eotp_cb_status status)
{
    switch (status) {
    case EOTP_CB_VALID:
        return "valid";
    case EOTP_CB_MALFORMED:
        return "malformed header";
    case EOTP_CB_BAD_SIGNATURE:
        return "bad signature";
    case EOTP_CB_STALE:
        return "stale timestamp";
    case EOTP_CB_FUTURE:
        return "timestamp in the future";
    }
    return "invalid";
}

void eotp_cb_secret_trim(char *secret, size_t *len)
{
    if (*len > 0 && secret[*len - 1] == '\n') {
        secret[--(*len)] = '\0';
        if (*len > 0 && secret[*len - 1] == '\r') {
            secret[--(*len)] = '\0';
        }
    }
}
