/* SPDX-License-Identifier: Apache-2.0 */
/*
 * delivery_prompt.c - delivery status at the code prompt
 * (delivery_prompt.h).
 */
#include "delivery_prompt.h"

#include "err.h"
#include "transport.h"

#include <stdio.h>
#include <string.h>

/* Message ids the store can name (store.h id rules). */
enum eotp_dlv_class eotp_dlv_class_at(const struct eotp_dlv *d, long long now)
{
    enum eotp_dlv_class c = eotp_dlv_classify(d->status);

    if (c == EOTP_DLV_FAILED && strcmp(d->status, "delivered_failed") == 0 &&
        d->at > 0 && now - d->at < EOTP_DLV_FALLBACK_SETTLE) {
        return EOTP_DLV_PENDING; /* a fallback may follow */
    }
    return c;
}

enum eotp_dlv_class eotp_dlv_lookup(const struct eotp_cfg *cfg,
                                    struct eotp_store *s,
                                    const struct eotp_logger *lg,
                                    const char *message_id, long long now,
                                    struct eotp_dlv *out)
{
    char value[EOTP_STORE_VALUE_MAX];
    enum eotp_dlv_class c;
    bool found = false;
    int r;

    memset(out, 0, sizeof(*out));
    if (!cfg->delivery_status || cfg->transport == EOTP_TRANSPORT_SMPP ||
        s == NULL || message_id == NULL || !eotp_store_id_ok(message_id)) {
        return EOTP_DLV_UNKNOWN;
    }
    r = eotp_store_rec_peek(s, EOTP_DLV_NS, message_id,
                            cfg->delivery_status_wait, value, &found);
    if (r != EOTP_OK) {
        eotp_debug(lg, "delivery: status not known message_id=%s error=%s",
                   message_id, eotp_err_reason(r));
        return EOTP_DLV_UNKNOWN;
    }
    if (!found || eotp_dlv_decode(value, out) != EOTP_OK) {
        eotp_debug(lg, "delivery: no status message_id=%s%s", message_id,
                   found ? " damaged=yes" : "");
        memset(out, 0, sizeof(*out));
        return EOTP_DLV_UNKNOWN;
    }
    c = eotp_dlv_class_at(out, now);
    eotp_debug(lg,
               "delivery: status message_id=%s status=%s channel=%s "
               "age=%lld error_code=%ld class=%s",
               message_id, out->status,
               out->channel[0] != '\0' ? out->channel : "-",
               out->at > 0 ? now - out->at : -1LL, out->error_code,
               eotp_dlv_class_name(c));
    return c;
}

static void what(const char *label, char *buf, size_t len)
{
    if (label != NULL) {
        (void)snprintf(buf, len, "The %s", label);
    } else {
        (void)snprintf(buf, len, "The code sent");
    }
}

void eotp_dlv_text_failed(const char *label, const char *masked, char *buf,
                          size_t len)
{
    char w[32];

    what(label, w, sizeof(w));
    (void)snprintf(buf, len, "%s to %s could not be delivered. ", w, masked);
}

void eotp_dlv_text_delivered(const char *label, const char *masked,
                             long long at, long long now, char *buf,
                             size_t len)
{
    long long age = now - at;
    char w[32];
    char when[48];

    what(label, w, sizeof(w));
    /* Relative: the user's time zone need not be the host's. */
    if (at <= 0) {
        when[0] = '\0';
    } else if (age < 60) {
        (void)snprintf(when, sizeof(when), " less than a minute ago");
    } else if (age < 120) {
        (void)snprintf(when, sizeof(when), " 1 minute ago");
    } else {
        (void)snprintf(when, sizeof(when), " %lld minutes ago", age / 60);
    }
    (void)snprintf(buf, len, "%s to %s was delivered%s. ", w, masked, when);
}
