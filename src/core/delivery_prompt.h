/* SPDX-License-Identifier: Apache-2.0 */
/*
 * delivery_prompt.h - what the login flow makes of a delivery status
 * record (delivery.h) while the user is at the code prompt.
 *
 * The lookup is a hint, never a decision: it waits at most
 * delivery_status_wait milliseconds (store.h eotp_store_rec_peek), and a
 * record that is missing, unreadable, late or unknown, a store error or a
 * timeout all mean "unknown", which leaves the prompt as it always was.
 */
#ifndef EOTP_DELIVERY_PROMPT_H
#define EOTP_DELIVERY_PROMPT_H

#include "cfg.h"
#include "delivery.h"
#include "log.h"
#include "store.h"

#include <stddef.h>

/*
 * A delivered_failed this recent (seconds) may still be followed by the
 * fallback channel's rows (e.g. WhatsApp failed, SMS sent next): it
 * counts as pending until then.
 */
#define EOTP_DLV_FALLBACK_SETTLE 10

/*
 * The class of the current code's delivery.  EOTP_DLV_UNKNOWN when
 * delivery_status is off, for SMPP (its message ids are the SMSC's), for
 * a message id the store cannot name, and on any error (logged at debug
 * level).  *out holds the record when one was found (status "" when not).
 * now: the host's time (the settle time of delivered_failed).
 */
enum eotp_dlv_class eotp_dlv_lookup(const struct eotp_cfg *cfg,
                                    struct eotp_store *s,
                                    const struct eotp_logger *lg,
                                    const char *message_id, long long now,
                                    struct eotp_dlv *out);

/* The class a record has at time now (the settle rule above). */
enum eotp_dlv_class eotp_dlv_class_at(const struct eotp_dlv *d, long long now);

/*
 * What the prompt says about it, ending in a space:
 *   "The SMS to +65******67 could not be delivered. "
 *   "The SMS to +65******67 was delivered 3 minutes ago. "
 * label: eotp_channel_label() of the channel, NULL for "The code sent
 * to ...".  at: the record's time (0: no time said); now: the host's.
 */
void eotp_dlv_text_failed(const char *label, const char *masked, char *buf,
                          size_t len);
void eotp_dlv_text_delivered(const char *label, const char *masked,
                             long long at, long long now, char *buf,
                             size_t len);

#endif
