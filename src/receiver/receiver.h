/* SPDX-License-Identifier: Apache-2.0 */
/*
 * receiver.h - the EngageLab callback (webhook) receiver behind
 * "engagelab-otp callback serve": an HTTP(S) server (libmicrohttpd) that
 * accepts POST /callback, checks X-CALLBACK-ID (callback.h), keeps status
 * rows by message id in the state store (delivery.h) and logs every status
 * and notification row.  See docs/design.md, "Delivery status".
 *
 * Answers: 200 accepted (also the URL check: an empty body or {}, signed
 * or not, recording nothing); 400 not JSON or the wrong shape; 401
 * signature (or Authorization) bad, missing, stale or replayed; 404 a path
 * other than /callback; 405 a method other than POST; 413 a body over
 * 64 KiB; 503 the state store failed or the nonce cache is full (the
 * request is forgotten, so that EngageLab's retry is not a replay).
 */
#ifndef EOTP_RECEIVER_H
#define EOTP_RECEIVER_H

#include "../core/cfg.h"
#include "../core/log.h"

#include <signal.h>
#include <stdbool.h>

#define EOTP_RECV_PATH "/callback"
#define EOTP_RECV_NOTE_NS "cbnote" /* the last notification row */
#define EOTP_RECV_NOTE_ID "last"

struct eotp_recv_opts {
    /* Stop when one of these signals arrives (SIGTERM, SIGINT). */
    bool foreground;
};

/*
 * Serve until SIGTERM or SIGINT.  cfg must be loaded and validated;
 * callback_username and callback_secret_file are required.  Returns 0
 * after a clean stop, EOTP_E_CONFIG when a file or key is unusable (logged
 * through lg), EOTP_E_TRANSPORT when the address cannot be bound,
 * EOTP_E_NOMEM.
 */
int eotp_recv_serve(const struct eotp_cfg *cfg, const struct eotp_logger *lg);

/*
 * The last notification row seen, as stored ("v1 e=EVENT t=ITIME s=SEEN
 * d=DETAIL"), parsed for doctor.  Returns 0 (*found false when none).
 */
struct eotp_recv_note {
    char event[40];
    long long at;   /* the row's itime */
    long long seen; /* when the receiver got it */
    char detail[161];
};

int eotp_recv_note_decode(const char *value, struct eotp_recv_note *out);

#endif
