/* SPDX-License-Identifier: Apache-2.0 */
/*
 * delivery.c - delivery status records by message id (delivery.h).
 */
#include "delivery.h"

#include "cfg.h"
#include "err.h"

#include <stdio.h>
#include <string.h>

struct status_info {
    const char *name;
    enum eotp_dlv_class cls;
    int rank;
};

static const struct status_info statuses[] = {
    {"plan", EOTP_DLV_PENDING, 1},
    {"target_valid", EOTP_DLV_PENDING, 2},
    {"sent", EOTP_DLV_PENDING, 3},
    {"target_invalid", EOTP_DLV_FAILED, 4},
    {"sent_failed", EOTP_DLV_FAILED, 4},
    {"delivered", EOTP_DLV_DELIVERED, 4},
    {"delivered_failed", EOTP_DLV_FAILED, 4},
    {"verified", EOTP_DLV_DONE, 5},
    {"verified_failed", EOTP_DLV_DONE, 5},
    {"verified_timeout", EOTP_DLV_DONE, 5},
};

static const struct status_info *status_find(const char *status)
{
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        if (strcmp(status, statuses[i].name) == 0) {
            return &statuses[i];
        }
    }
    return NULL;
}

enum eotp_dlv_class eotp_dlv_classify(const char *status)
{
    const struct status_info *si = status != NULL ? status_find(status) : NULL;

    return si != NULL ? si->cls : EOTP_DLV_UNKNOWN;
}

const char *eotp_dlv_class_name(enum eotp_dlv_class c)
{
    switch (c) {
    case EOTP_DLV_PENDING:
        return "pending";
    case EOTP_DLV_DELIVERED:
        return "delivered";
    case EOTP_DLV_FAILED:
        return "failed";
    case EOTP_DLV_DONE:
        return "done";
    case EOTP_DLV_UNKNOWN:
    default:
        return "unknown";
    }
}

int eotp_dlv_rank(const char *status)
{
    const struct status_info *si = status != NULL ? status_find(status) : NULL;

    return si != NULL ? si->rank : 0;
}

/* Non-empty, shorter than max, every byte in [a-z_] (or also [A-Z0-9]
 * when wide). */
static bool word_ok(const char *s, size_t max, bool wide, bool empty_ok)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        char c = s[n];

        if (!((c >= 'a' && c <= 'z') || c == '_' ||
              (wide && ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))))) {
            return false;
        }
    }
    return (n > 0 || empty_ok) && n < max;
}

static bool dlv_ok(const struct eotp_dlv *d)
{
    return word_ok(d->status, sizeof(d->status), false, false) &&
           word_ok(d->channel, sizeof(d->channel), true, true) && d->at >= 0;
}

int eotp_dlv_encode(const struct eotp_dlv *d, char *out, size_t len)
{
    int n;

    if (!dlv_ok(d)) {
        return EOTP_E_INTERNAL;
    }
    n = snprintf(out, len, "v1 s=%s c=%s t=%lld e=%ld", d->status,
                 d->channel[0] != '\0' ? d->channel : "-", d->at,
                 d->error_code);
    return n > 0 && (size_t)n < len ? EOTP_OK : EOTP_E_INTERNAL;
}

/* Copy the value of "KEY=" at *p up to the next blank into out. */
static bool field(const char **p, const char *key, char *out, size_t len)
{
    size_t kl = strlen(key);
    size_t n = 0;

    if (strncmp(*p, key, kl) != 0) {
        return false;
    }
    *p += kl;
    while ((*p)[n] != '\0' && (*p)[n] != ' ') {
        n++;
    }
    if (n == 0 || n >= len) {
        return false;
    }
    memcpy(out, *p, n);
    out[n] = '\0';
    *p += n;
    if (**p == ' ') {
        (*p)++;
    }
    return true;
}

int eotp_dlv_decode(const char *value, struct eotp_dlv *out)
{
    char num[24];
    const char *p = value;
    long v;

    memset(out, 0, sizeof(*out));
    if (strncmp(p, "v1 ", 3) != 0) {
        return EOTP_E_BAD_RESPONSE;
    }
    p += 3;
    if (!field(&p, "s=", out->status, sizeof(out->status)) ||
        !field(&p, "c=", out->channel, sizeof(out->channel))) {
        goto bad;
    }
    if (strcmp(out->channel, "-") == 0) {
        out->channel[0] = '\0';
    }
    if (!field(&p, "t=", num, sizeof(num)) ||
        eotp_parse_long(num, 0, 0x7fffffffL, &v) != EOTP_OK) {
        goto bad;
    }
    out->at = v;
    if (!field(&p, "e=", num, sizeof(num)) ||
        eotp_parse_long(num, -0x7fffffffL, 0x7fffffffL, &out->error_code) !=
            EOTP_OK ||
        *p != '\0' || !dlv_ok(out)) {
        goto bad;
    }
    return EOTP_OK;
bad:
    memset(out, 0, sizeof(*out));
    return EOTP_E_BAD_RESPONSE;
}

int eotp_dlv_get(struct eotp_store *s, const char *message_id,
                 struct eotp_dlv *out, bool *found)
{
    char value[EOTP_STORE_VALUE_MAX];
    bool have = false;
    int r;

    memset(out, 0, sizeof(*out));
    *found = false;
    r = eotp_store_rec_get(s, EOTP_DLV_NS, message_id, value, &have);
    if (r != EOTP_OK || !have) {
        return r;
    }
    *found = eotp_dlv_decode(value, out) == EOTP_OK;
    return EOTP_OK;
}

/* Whether a (new) should replace b (stored). */
/*
 * Newest by the row's time, at equal times the later stage (rank < 16):
 * one number, compared by the store in the same atomic step as the write,
 * so receivers racing on one message id (several behind a balancer, or
 * EngageLab's retries) always leave the newest row.
 */
static long long order_of(const struct eotp_dlv *d)
{
    long long at = d->at > 0 ? d->at : 0;

    if (at > EOTP_STORE_ORDER_MAX / 16 - 1) {
        at = EOTP_STORE_ORDER_MAX / 16 - 1; /* no overflow, whatever at */
    }
    return at * 16 + eotp_dlv_rank(d->status);
}

int eotp_dlv_put(struct eotp_store *s, const char *message_id,
                 const struct eotp_dlv *d, long ttl, bool *kept)
{
    char value[EOTP_STORE_VALUE_MAX];
    int r;

    *kept = false;
    r = eotp_dlv_encode(d, value, sizeof(value));
    if (r != EOTP_OK) {
        return r;
    }
    return eotp_store_rec_put_newer(s, EOTP_DLV_NS, message_id, value,
                                    order_of(d), ttl > 0 ? ttl : EOTP_DLV_TTL,
                                    kept);
}
