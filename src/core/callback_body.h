/* SPDX-License-Identifier: Apache-2.0 */
/*
 * callback_body.h - the body of an EngageLab callback (webhook), parsed
 * into typed rows (engagelab-api.md section 5).
 *
 *   {"total": N, "rows": [ROW, ...]}
 *
 * A row with a "notification" object is a notification row; a row with a
 * "status" object is a message status row; any other row (uplink
 * messages, system events) is counted and ignored.  The body is not
 * signed (the X-CALLBACK-ID header signs only timestamp, nonce and
 * username), so everything here is untrusted data: every text kept is
 * checked against a narrow alphabet or sanitised (printable ASCII, no
 * quotes or backslashes) and cut to a fixed length; numbers are range
 * checked.  A row never names a user and never changes a limit.
 *
 * Shape.  The body must be a JSON object with a "rows" array of objects
 * (at most EOTP_CBB_ROWS_MAX); "total", when present, a number.
 * Anything else is the wrong shape (EOTP_E_BAD_RESPONSE: HTTP 400).  An
 * empty body (white space only) or an object with no members is the URL
 * check EngageLab makes when the callback URL is saved
 * (EOTP_CBB_URL_CHECK).  A status row without a usable message_id or
 * message_status is skipped (counted in bad_rows), not refused: the rest
 * of the body is still good, and a 400 would only make EngageLab send the
 * same body again.
 */
#ifndef EOTP_CALLBACK_BODY_H
#define EOTP_CALLBACK_BODY_H

#include "delivery.h"

#include <stdbool.h>
#include <stddef.h>

#define EOTP_CBB_BODY_MAX 65536 /* bytes; a longer body is refused (413) */
#define EOTP_CBB_ROWS_MAX 1000  /* rows in one body */
#define EOTP_CBB_ID_MAX 65      /* message id: store.h id rules + NUL */
#define EOTP_CBB_TEXT_MAX 121   /* error message, cut to 120 */
#define EOTP_CBB_COST_MAX 24    /* cost as decimal text */
#define EOTP_CBB_CURRENCY_MAX 8 /* [A-Z], at most 7 */
#define EOTP_CBB_EVENT_MAX 40   /* notification event, [a-z0-9_] */
#define EOTP_CBB_DETAIL_MAX 161 /* notification_data summary */

/* A message status row. */
struct eotp_cbb_status {
    /* message_id (a string, or an integer sent as a number), [A-Za-z0-9_.-]
     * only, 1 to 64 characters. */
    char message_id[EOTP_CBB_ID_MAX];
    /* What delivery.h stores: status ("sent_fail" becomes "sent_failed"),
     * channel (status_data.current_send_channel, else the row's channel),
     * at (itime) and error_code. */
    struct eotp_dlv dlv;
    /* The row's channel ("sms", "whatsapp"...), "" when absent. */
    char route[EOTP_DLV_CHANNEL_MAX];
    char error_message[EOTP_CBB_TEXT_MAX]; /* error_detail.message, or "" */
    char cost[EOTP_CBB_COST_MAX];          /* billing.cost, or "" */
    char currency[EOTP_CBB_CURRENCY_MAX];  /* billing.currency, or "" */
};

/* A notification row (insufficient_balance, ...). */
struct eotp_cbb_note {
    char event[EOTP_CBB_EVENT_MAX];
    int prio;     /* LOG_ALERT or LOG_NOTICE (eotp_cbb_note_prio) */
    long long at; /* itime, 0 when absent */
    /* The scalar members of notification_data as "key=value" separated by
     * spaces (keys [a-z0-9_], values sanitised, no spaces), cut at an item
     * boundary. */
    char detail[EOTP_CBB_DETAIL_MAX];
};

enum eotp_cbb_kind {
    EOTP_CBB_ROWS = 0,  /* a callback with rows (maybe none usable) */
    EOTP_CBB_URL_CHECK, /* empty body or {}: answer 200, record nothing */
};

struct eotp_cbb {
    enum eotp_cbb_kind kind;
    struct eotp_cbb_status *status; /* nstatus rows */
    size_t nstatus;
    struct eotp_cbb_note *note; /* nnote rows */
    size_t nnote;
    size_t nother;   /* rows of other kinds, ignored */
    size_t bad_rows; /* status or notification rows skipped as unusable */
};

/*
 * Parse body (len bytes, need not be NUL-terminated; at most
 * EOTP_CBB_BODY_MAX).  Returns 0 with out filled in (free it with
 * eotp_cbb_free), EOTP_E_BAD_RESPONSE when the body is not JSON or has
 * the wrong shape (out is then empty), EOTP_E_NOMEM.
 */
int eotp_cbb_parse(const char *body, size_t len, struct eotp_cbb *out);

void eotp_cbb_free(struct eotp_cbb *cbb);

/* LOG_ALERT for insufficient_balance and insufficient_verification_rate,
 * LOG_NOTICE for any other event (template_audit_result...). */
int eotp_cbb_note_prio(const char *event);

/*
 * Copy untrusted text into dst (size dstlen, always terminated): printable
 * ASCII is kept except '"' and '\\'; every other byte becomes '?'; when
 * no_space, a space becomes '_'.  Cut at dstlen - 1.  Returns dst.
 */
char *eotp_cbb_clean(char *dst, size_t dstlen, const char *src, bool no_space);

#endif
