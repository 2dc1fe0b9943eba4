/* SPDX-License-Identifier: Apache-2.0 */
/*
 * delivery.h - what EngageLab reported about a message, kept by message id
 * in the state store (store.h generic records, namespace "dlv").
 *
 * The callback receiver (src/receiver/) writes one record per message id
 * from the status rows it accepts; the module reads the record of the
 * message it is waiting on, to tell the user at the prompt whether the
 * code arrived.  A record holds no destination, no user and no code:
 * only the status, the channel, the callback's time and the error code.
 *
 * Callbacks may arrive out of order and a message with a fallback reports
 * several statuses (e.g. WhatsApp delivered_failed, then SMS sent, then
 * SMS delivered).  eotp_dlv_put() keeps the newest by the callback's time
 * (itime); at equal times the later stage wins (eotp_dlv_rank()).  The
 * merge is a read and a write, not one atomic operation: two receivers
 * writing rows of one message in the same instant may keep either.  That
 * is acceptable for a hint shown at a prompt, and never decides a login.
 */
#ifndef EOTP_DELIVERY_H
#define EOTP_DELIVERY_H

#include "store.h"

#include <stdbool.h>

#define EOTP_DLV_NS "dlv"
#define EOTP_DLV_TTL 3600L /* seconds a status record is kept */
#define EOTP_DLV_STATUS_MAX 24
#define EOTP_DLV_CHANNEL_MAX 24

/* What a status means to someone waiting at the prompt. */
enum eotp_dlv_class {
    EOTP_DLV_UNKNOWN = 0, /* no record, or a status we do not know */
    EOTP_DLV_PENDING,     /* plan, target_valid, sent: on its way */
    EOTP_DLV_DELIVERED,   /* delivered to the device */
    EOTP_DLV_FAILED,      /* target_invalid, sent_failed, delivered_failed */
    EOTP_DLV_DONE,        /* verified, verified_failed, verified_timeout */
};

struct eotp_dlv {
    /* message_status as received, "sent_fail" stored as "sent_failed";
     * [a-z_] only. */
    char status[EOTP_DLV_STATUS_MAX];
    /* The channel the status is about (current_send_channel when the row
     * has one, else channel), [A-Za-z0-9_] only, "" when unknown. */
    char channel[EOTP_DLV_CHANNEL_MAX];
    long long at;    /* the row's itime (Unix seconds), 0 when absent */
    long error_code; /* status.error_code, 0 = none */
};

/* The class of a status text (unknown texts: EOTP_DLV_UNKNOWN). */
enum eotp_dlv_class eotp_dlv_classify(const char *status);

/* "pending", "delivered", "failed", "done" or "unknown". */
const char *eotp_dlv_class_name(enum eotp_dlv_class c);

/* Order of statuses at one time: plan < target_valid < sent < the
 * outcomes (delivered, *_failed, target_invalid) < verified*.  Unknown
 * statuses rank 0. */
int eotp_dlv_rank(const char *status);

/*
 * Record d for message_id (store.h id rules: [A-Za-z0-9_.-], 1 to 64
 * characters) with ttl seconds (EOTP_DLV_TTL when ttl <= 0), unless the
 * stored record is newer (see above).  *kept is true when d was written.
 * Returns 0, EOTP_E_INTERNAL for a bad message id or status, or the
 * store's error.
 */
int eotp_dlv_put(struct eotp_store *s, const char *message_id,
                 const struct eotp_dlv *d, long ttl, bool *kept);

/* The record for message_id: *found false when there is none (or it is
 * unreadable: a damaged record is treated as absent). */
int eotp_dlv_get(struct eotp_store *s, const char *message_id,
                 struct eotp_dlv *out, bool *found);

/* The record as the store keeps it ("v1 s=STATUS c=CHANNEL t=AT e=ERR"),
 * and back; exposed for tests and the fuzz target.  Returns 0 or
 * EOTP_E_BAD_RESPONSE (parse) / EOTP_E_INTERNAL (encode). */
int eotp_dlv_encode(const struct eotp_dlv *d, char *out, size_t len);
int eotp_dlv_decode(const char *value, struct eotp_dlv *out);

#endif
