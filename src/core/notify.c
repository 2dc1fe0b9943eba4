/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notify.c - notices to a user about their own logins (notify.h).
 *
 * Records in the store (generic records, ids keyed with the store's key
 * so that no user name or address is ever in an id):
 *   seen/HMAC("seen-v1", user, address hash)       30 days, refreshed on
 *                                                  every success
 *   notify/HMAC("notify-v1", user)                 notify_limit's events
 *   notified/HMAC("lockout-v1", user)              as long as the lockout
 */
#include "notify.h"

#include "dest.h"
#include "err.h"
#include "http.h"
#include "keyed.h"
#include "policy.h"
#include "secret.h"
#include "state.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const event_names[EOTP_NOTIFY_EVENTS] = {
    "lockout", "rescue", "bypass", "success", "new_rhost",
};

const char *eotp_notify_event_name(enum eotp_notify_event ev)
{
    if ((int)ev < 0 || (int)ev >= EOTP_NOTIFY_EVENTS) {
        return "unknown";
    }
    return event_names[ev];
}

int eotp_notify_event_from_name(const char *name)
{
    for (int i = 0; i < EOTP_NOTIFY_EVENTS; i++) {
        if (strcmp(name, event_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

bool eotp_notify_wants(const struct eotp_cfg *cfg, enum eotp_notify_event ev)
{
    const char *cur;
    char item[32];

    if (cfg->notify_template == NULL) {
        return false;
    }
    cur = cfg->notify_on != NULL ? cfg->notify_on : EOTP_NOTIFY_DEFAULT_ON;
    while (eotp_list_next(&cur, item, sizeof(item))) {
        if (eotp_notify_event_from_name(item) == (int)ev) {
            return true;
        }
    }
    return false;
}

/* ---- log ---------------------------------------------------------------- */

struct who {
    char user[EOTP_FIELD_MAX];
    char service[EOTP_FIELD_MAX];
    char rhost[EOTP_FIELD_MAX];
    char dest[EOTP_MASK_MAX];
};

static void who_fill(const struct eotp_notify_ctx *ctx, struct who *w)
{
    eotp_sanitize(w->user, sizeof(w->user), ctx->login->user, true);
    eotp_sanitize(w->service, sizeof(w->service), ctx->login->service, true);
    eotp_sanitize(w->rhost, sizeof(w->rhost), ctx->login->rhost, true);
    if (ctx->dest != NULL) {
        eotp_dest_mask(ctx->dest, w->dest, sizeof(w->dest));
    } else {
        (void)snprintf(w->dest, sizeof(w->dest), "-");
    }
}

/* The one line of a notice that was not sent. */
static int not_sent(const struct eotp_notify_ctx *ctx,
                    enum eotp_notify_event ev, int r, const char *detail)
{
    struct who w;

    who_fill(ctx, &w);
    eotp_log(ctx->lg, LOG_WARNING,
             "notification not sent event=%s user=%s service=%s rhost=%s "
             "dest=%s result=%s%s%s",
             eotp_notify_event_name(ev), w.user, w.service, w.rhost, w.dest,
             eotp_err_reason(r), detail[0] != '\0' ? " " : "", detail);
    return r;
}

/* ---- records ------------------------------------------------------------ */

/* HMAC(store key, tag NUL user [NUL extra]) as a record id. */
static int user_rec_id(struct eotp_store *s, const char *user, const char *tag,
                       const char *extra, char id[EOTP_STORE_ID_HEX])
{
    const unsigned char *key = NULL;
    const char *parts[3] = {tag, user, extra};
    int r = eotp_store_key(s, &key);

    if (r != EOTP_OK) {
        return r;
    }
    return eotp_keyed_hash(key, parts, extra != NULL ? 3 : 2, id);
}

static int rec_id(const struct eotp_notify_ctx *ctx, const char *tag,
                  const char *extra, char id[EOTP_STORE_ID_HEX])
{
    return user_rec_id(ctx->store, ctx->login->user, tag, extra, id);
}

/*
 * Was the login's address unseen for the user in EOTP_NOTIFY_SEEN_TTL?
 * Records it in any case (a new record, or the old one's TTL renewed).
 * The address counts as the send limits count it (IPv6 per /64).
 */
static int address_is_new(const struct eotp_notify_ctx *ctx, bool *fresh)
{
    const unsigned char *key = NULL;
    char ahash[EOTP_HEX256];
    char id[EOTP_STORE_ID_HEX];
    bool added = false;
    int r;

    *fresh = false;
    r = eotp_store_key(ctx->store, &key);
    if (r == EOTP_OK) {
        r = eotp_state_rhost_hash(ctx->login->rhost, key, ahash);
    }
    if (r == EOTP_OK) {
        r = rec_id(ctx, "seen-v1", ahash, id);
    }
    if (r == EOTP_OK) {
        r = eotp_store_add_once(ctx->store, EOTP_NOTIFY_NS_SEEN, id,
                                EOTP_NOTIFY_SEEN_TTL, &added);
    }
    if (r == EOTP_OK && !added) {
        /* Seen: 30 days from now on. */
        r = eotp_store_rec_put(ctx->store, EOTP_NOTIFY_NS_SEEN, id, "1",
                               EOTP_NOTIFY_SEEN_TTL);
    }
    if (r == EOTP_OK) {
        *fresh = added;
    }
    return r;
}

/* ---- the notice --------------------------------------------------------- */

/* value: text cut to EOTP_PARAM_VALUE_MAX, no control characters; "-"
 * for none (a missing param would show as "{{name}}"). */
static void param(char out[EOTP_PARAM_VALUE_MAX + 1], const char *text)
{
    if (text == NULL || text[0] == '\0') {
        text = "-";
    }
    eotp_sanitize(out, EOTP_PARAM_VALUE_MAX + 1, text, false);
}

static int send_notice(const struct eotp_notify_ctx *ctx,
                       enum eotp_notify_event ev)
{
    const struct eotp_cfg *cfg = ctx->cfg;
    struct eotp_http *h = eotp_api_http(ctx->api);
    char vals[6][EOTP_PARAM_VALUE_MAX + 1];
    struct eotp_kv kv[6] = {
        {"user", vals[0]},  {"host", vals[1]},  {"service", vals[2]},
        {"rhost", vals[3]}, {"event", vals[4]}, {"time", vals[5]},
    };
    struct eotp_send_resp resp;
    const char *to[1] = {ctx->dest};
    char host[256];
    char id[EOTP_STORE_ID_HEX];
    char detail[200];
    char msgid[EOTP_FIELD_MAX];
    struct timespec t0;
    struct timespec t1;
    struct tm tm;
    time_t now = time(NULL);
    long wait = 0;
    long left;
    long limit;
    long old;
    long ms;
    struct who w;
    int r;

    detail[0] = '\0';
    /* Its own timeout, inside what the login's deadline has left. */
    left = eotp_http_time_left(h);
    if (left <= 0) {
        return not_sent(ctx, ev, EOTP_E_TIMEOUT, "deadline=passed");
    }
    limit = cfg->notify_timeout < left ? cfg->notify_timeout : left;
    /* At most notify_limit notices per user. */
    r = rec_id(ctx, "notify-v1", NULL, id);
    if (r == EOTP_OK) {
        r = eotp_store_rate_take(ctx->store, EOTP_NOTIFY_NS_RATE, id,
                                 &cfg->notify_limit, &wait);
    }
    if (r != EOTP_OK) {
        return not_sent(ctx, ev, r, "store=unusable");
    }
    if (wait > 0) {
        (void)snprintf(detail, sizeof(detail),
                       "limit=notify_limit count=%ld window=%ld retry_in=%ld",
                       cfg->notify_limit.count, cfg->notify_limit.seconds,
                       wait);
        return not_sent(ctx, ev, EOTP_E_RATE_LIMIT, detail);
    }

    if (gethostname(host, sizeof(host)) != 0) {
        host[0] = '\0';
    }
    host[sizeof(host) - 1] = '\0';
    param(vals[0], ctx->login->user);
    param(vals[1], host);
    param(vals[2], ctx->login->service);
    param(vals[3], ctx->login->rhost);
    param(vals[4], eotp_notify_event_name(ev));
    if (gmtime_r(&now, &tm) == NULL ||
        strftime(vals[5], sizeof(vals[5]), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        (void)snprintf(vals[5], sizeof(vals[5]), "%lld", (long long)now);
    }

    memset(&resp, 0, sizeof(resp));
    old = eotp_http_set_timeout(h, limit);
    (void)clock_gettime(CLOCK_MONOTONIC, &t0);
    r = eotp_api_custom_message(ctx->api, to, 1, cfg->notify_template, kv, 6,
                                &resp);
    (void)clock_gettime(CLOCK_MONOTONIC, &t1);
    (void)eotp_http_set_timeout(h, old);
    ms = (long)(t1.tv_sec - t0.tv_sec) * 1000L +
         (t1.tv_nsec - t0.tv_nsec) / 1000000L;
    if (r != EOTP_OK) {
        const struct eotp_api_error *e = eotp_api_last_error(ctx->api);
        char safe[128];

        if (e->http_status != 0 || e->code != 0) {
            (void)snprintf(detail, sizeof(detail),
                           "ms=%ld timeout=%ld http=%ld code=%ld", ms, limit,
                           e->http_status, e->code);
        } else {
            eotp_sanitize(safe, sizeof(safe),
                          eotp_api_transport_error(ctx->api), true);
            (void)snprintf(detail, sizeof(detail),
                           "ms=%ld timeout=%ld error=%s", ms, limit, safe);
        }
        return not_sent(ctx, ev, r, detail);
    }
    who_fill(ctx, &w);
    eotp_log(ctx->lg, LOG_INFO,
             "notification sent event=%s user=%s service=%s rhost=%s "
             "dest=%s result=sent message_id=%s ms=%ld",
             eotp_notify_event_name(ev), w.user, w.service, w.rhost, w.dest,
             eotp_sanitize(msgid, sizeof(msgid), resp.message_id, true), ms);
    return EOTP_OK;
}

static bool ctx_ok(const struct eotp_notify_ctx *ctx)
{
    return ctx != NULL && ctx->cfg != NULL && ctx->login != NULL &&
           ctx->login->user != NULL;
}

/* Common checks; 1 when the notice should go on. */
static int can_send(const struct eotp_notify_ctx *ctx,
                    enum eotp_notify_event ev)
{
    if (ctx->dest == NULL) {
        return not_sent(ctx, ev, EOTP_E_UNMAPPED, "");
    }
    if (ctx->store == NULL || ctx->api == NULL) {
        return not_sent(ctx, ev, EOTP_E_INTERNAL, "");
    }
    return 1;
}

int eotp_notify_event(const struct eotp_notify_ctx *ctx,
                      enum eotp_notify_event ev)
{
    bool want_new;
    bool fresh = false;
    int r;

    if (!ctx_ok(ctx) || ev == EOTP_NOTIFY_LOCKOUT) {
        return EOTP_E_INTERNAL;
    }
    if (ev != EOTP_NOTIFY_SUCCESS && ev != EOTP_NOTIFY_NEW_RHOST) {
        if (!eotp_notify_wants(ctx->cfg, ev)) {
            return EOTP_OK;
        }
        r = can_send(ctx, ev);
        return r == 1 ? send_notice(ctx, ev) : r;
    }
    /* A success: new_rhost when the address is new, else success. */
    want_new = eotp_notify_wants(ctx->cfg, EOTP_NOTIFY_NEW_RHOST) &&
               ctx->login->rhost != NULL && ctx->login->rhost[0] != '\0';
    if (!want_new && !eotp_notify_wants(ctx->cfg, EOTP_NOTIFY_SUCCESS)) {
        return EOTP_OK;
    }
    if (ctx->store == NULL) {
        return not_sent(ctx, ev, EOTP_E_INTERNAL, "");
    }
    if (want_new) {
        r = address_is_new(ctx, &fresh);
        if (r != EOTP_OK) {
            return not_sent(ctx, EOTP_NOTIFY_NEW_RHOST, r, "store=unusable");
        }
    }
    ev = fresh ? EOTP_NOTIFY_NEW_RHOST : EOTP_NOTIFY_SUCCESS;
    if (!fresh && !eotp_notify_wants(ctx->cfg, EOTP_NOTIFY_SUCCESS)) {
        return EOTP_OK;
    }
    r = can_send(ctx, ev);
    return r == 1 ? send_notice(ctx, ev) : r;
}

int eotp_notify_lockout(const struct eotp_notify_ctx *ctx, long wait)
{
    char id[EOTP_STORE_ID_HEX];
    bool added = false;
    int r;

    if (!ctx_ok(ctx)) {
        return EOTP_E_INTERNAL;
    }
    if (!eotp_notify_wants(ctx->cfg, EOTP_NOTIFY_LOCKOUT)) {
        return EOTP_OK;
    }
    r = can_send(ctx, EOTP_NOTIFY_LOCKOUT);
    if (r != 1) {
        return r;
    }
    /* One notice per lockout: the first session to meet it says so. */
    if (wait < 1) {
        wait = 1;
    }
    if (wait > EOTP_WINDOW_MAX) {
        wait = EOTP_WINDOW_MAX;
    }
    r = rec_id(ctx, "lockout-v1", NULL, id);
    if (r == EOTP_OK) {
        r = eotp_store_add_once(ctx->store, EOTP_NOTIFY_NS_ONCE, id, wait,
                                &added);
    }
    if (r != EOTP_OK) {
        return not_sent(ctx, EOTP_NOTIFY_LOCKOUT, r, "store=unusable");
    }
    if (!added) {
        eotp_debug(ctx->lg,
                   "notification: lockout already told event=lockout");
        return EOTP_OK;
    }
    return send_notice(ctx, EOTP_NOTIFY_LOCKOUT);
}

int eotp_notify_forget_lockout(struct eotp_store *s, const char *user)
{
    char id[EOTP_STORE_ID_HEX];
    int r = user_rec_id(s, user, "lockout-v1", NULL, id);

    if (r == EOTP_OK) {
        /* No delete among the generic records: expire in a second. */
        r = eotp_store_rec_put(s, EOTP_NOTIFY_NS_ONCE, id, "", 1);
    }
    return r;
}
