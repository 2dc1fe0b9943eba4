/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp.c - one login: find the destination, check lockout, grace period
 * and send limits, send a code, prompt, verify; a new code or another
 * channel on request.
 *
 * Everything that must survive sshd's per-attempt processes lives in the
 * store (store.h: state_dir or Redis); each store operation is atomic, so
 * limits are exact however many logins run at once.  This file never
 * knows where state lives.
 */
#include "otp.h"

#include "delivery_prompt.h"
#include "err.h"
#include "grace.h"
#include "limits.h"
#include "localcode.h"
#include "lookup.h"
#include "notify.h"
#include "policy.h"
#include "rescue.h"
#include "secret.h"
#include "state.h"
#include "store.h"
#include "transport.h"
#include "usermap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RESENDS_MAX 3 /* new codes a user may ask for in one login */
#define ALTS_MAX 4
#define PROMPT_MAX 1024

struct alt {
    char channel[EOTP_CHANNEL_MAX + 1];
    char template_id[129];
};

/* Where a code goes. */
struct target {
    const char *template_id;
    const char *dest;
    const char *channel; /* the alternative's channel, NULL for primary */
};

struct flow {
    const struct eotp_cfg *cfg;
    const struct eotp_login *login;
    const struct eotp_conv *conv;
    const struct eotp_logger *lg;
    struct eotp_result *res;
    struct eotp_api *api;
    const struct eotp_dests *dests;
    struct eotp_store *store;
    struct eotp_store_who who;
    struct eotp_store_limits lim;
    const unsigned char *key; /* the store's key, when needed */
    bool graced;
    bool renewed; /* the current code came on request */
    struct alt alts[ALTS_MAX];
    size_t nalts;
    struct target cur;              /* where the current code went */
    char code_id[EOTP_CODE_ID_HEX]; /* local mode: its record entry */
    int resends;
    char user[EOTP_FIELD_MAX]; /* sanitised, for logs */
    char service[EOTP_FIELD_MAX];
    char rhost[EOTP_FIELD_MAX];
    /* Delivery status at the prompt (issue 14, delivery_prompt.h). */
    bool brief;                        /* the lead says it: "Code: " */
    char dlv_told[EOTP_MSGID_MAX + 1]; /* "delivered" said for this id */
    unsigned int dlv_tried;            /* alternatives switched to */
    long lockout_wait; /* this login reached the lockout (notify.c) */
};

const char *eotp_channel_label(const char *channel)
{
    if (strcmp(channel, "sms") == 0) {
        return "SMS";
    }
    if (strcmp(channel, "whatsapp") == 0) {
        return "WhatsApp";
    }
    if (strcmp(channel, "email") == 0) {
        return "email";
    }
    if (strcmp(channel, "voice") == 0) {
        return "voice call";
    }
    return NULL;
}

static void set_detail(struct eotp_result *res, struct eotp_api *api, int r)
{
    const struct eotp_api_error *e = eotp_api_last_error(api);

    if (e->code != 0 || e->http_status != 0) {
        res->api_code = e->code;
        (void)snprintf(res->detail, sizeof(res->detail),
                       "http=%ld code=%ld message=\"%.120s\"", e->http_status,
                       e->code, e->message);
    } else if (e->message[0] != '\0') {
        /* A failure outside the REST API (SMPP): fields of its own. */
        (void)snprintf(res->detail, sizeof(res->detail), "%s", e->message);
    } else if (eotp_err_is_service_failure(r)) {
        char safe[128];

        eotp_sanitize(safe, sizeof(safe), eotp_api_transport_error(api),
                      false);
        (void)snprintf(res->detail, sizeof(res->detail), "error=\"%s\"", safe);
    }
}

static void clear_detail(struct eotp_result *res)
{
    res->detail[0] = '\0';
    res->api_code = 0;
}

static void say(const struct eotp_conv *conv, bool error, const char *text)
{
    if (conv->info != NULL) {
        conv->info(conv->ctx, error, text);
    }
}

/* ---- configuration helpers ---------------------------------------------- */

static void parse_alts(struct flow *f)
{
    const char *cur = f->cfg->alt_templates;
    char item[256];

    if (cur == NULL) {
        return;
    }
    while (f->nalts < ALTS_MAX && eotp_list_next(&cur, item, sizeof(item))) {
        char *colon = strchr(item, ':');
        struct alt *a = &f->alts[f->nalts];

        /* cfg.c checked the shape already; skip anything odd. */
        if (colon == NULL || colon == item ||
            (size_t)(colon - item) >= sizeof(a->channel) ||
            strlen(colon + 1) >= sizeof(a->template_id)) {
            continue;
        }
        *colon = '\0';
        memcpy(a->channel, item, (size_t)(colon - item) + 1);
        memcpy(a->template_id, colon + 1, strlen(colon + 1) + 1);
        f->nalts++;
    }
}

/* The destination for an alternative channel: an email address for
 * email, a phone number for the others; NULL if the user has none. */
static const char *dest_for(const struct flow *f, const char *channel)
{
    enum eotp_dest_kind want = strcmp(channel, "email") == 0 ? EOTP_DEST_EMAIL
                                                             : EOTP_DEST_PHONE;

    for (size_t i = 0; i < f->dests->n; i++) {
        if (eotp_dest_classify(f->dests->dest[i]) == want) {
            return f->dests->dest[i];
        }
    }
    return NULL;
}

static bool rhost_limited(const struct flow *f)
{
    return eotp_rate_on(&f->cfg->rhost_send_limit) &&
           f->login->rhost != NULL && f->login->rhost[0] != '\0';
}

static bool need_key(const struct flow *f)
{
    return f->cfg->code_mode == EOTP_CODE_LOCAL || f->cfg->grace_period > 0;
}

/* ---- the store ---------------------------------------------------------- */

/*
 * A store failure fails the login closed with reason "state", whatever
 * the backend's own error (a network backend's transport errors must not
 * read as a failed send).
 */
static int store_err(int r)
{
    /* Redis required but unusable: AUTHINFO_UNAVAIL, never a bypass. */
    return r == EOTP_E_NOMEM || r == EOTP_E_FLEET_UNAVAIL ? r : EOTP_E_STATE;
}

/* The grace binding of this login into mac (grace_period on). */
static int grace_mac(struct flow *f, char mac[EOTP_HEX256])
{
    return eotp_grace_binding(f->key, f->login, mac);
}

/* ---- refusals ----------------------------------------------------------- */

static int limited(struct flow *f, const char *which,
                   const struct eotp_rate *rate, long wait)
{
    f->res->retry_in = wait;
    (void)snprintf(f->res->detail, sizeof(f->res->detail),
                   "limit=%s count=%ld window=%ld retry_in=%ld", which,
                   rate->count, rate->seconds, wait);
    eotp_log(f->lg, LOG_WARNING,
             "send limit reached, nothing sent user=%s service=%s rhost=%s "
             "limit=%s count=%ld window=%ld retry_in=%ld",
             f->user, f->service, f->rhost, which, rate->count, rate->seconds,
             wait);
    return EOTP_E_RATE_LIMIT;
}

/* What locked_out() logs: when the lockout was met. */
#define LOCKED_BEFORE_SEND "locked out after wrong codes, nothing sent"
#define LOCKED_NOW "lockout reached after wrong codes"
#define LOCKED_BEFORE_CHECK                                                   \
    "locked out after wrong codes (other sessions), answer not checked"

static int locked_out(struct flow *f, long wait, const char *when_met)
{
    const struct eotp_rate *rate = &f->cfg->lockout;
    char when[32];
    char msg[96];

    if (strcmp(when_met, LOCKED_NOW) == 0) {
        f->lockout_wait = wait;
    }
    f->res->retry_in = wait;
    (void)snprintf(f->res->detail, sizeof(f->res->detail),
                   "limit=lockout count=%ld window=%ld retry_in=%ld",
                   rate->count, rate->seconds, wait);
    eotp_log(f->lg, LOG_WARNING,
             "%s user=%s service=%s rhost=%s limit=lockout count=%ld "
             "window=%ld retry_in=%ld",
             when_met, f->user, f->service, f->rhost, rate->count,
             rate->seconds, wait);
    (void)snprintf(msg, sizeof(msg), "Too many wrong codes; try again in %s.",
                   eotp_limits_wait_text(wait, when, sizeof(when)));
    say(f->conv, true, msg);
    return EOTP_E_LOCKED;
}

/* ---- sending ------------------------------------------------------------ */

static bool ambiguous_failure(int r)
{
    /* The code may have gone out although we got no usable answer. */
    return r == EOTP_E_TRANSPORT || r == EOTP_E_TIMEOUT ||
           r == EOTP_E_SERVER || r == EOTP_E_BAD_RESPONSE;
}

static void set_current(struct flow *f, const struct target *t,
                        const char *msgid, const char *channel, bool reused)
{
    struct eotp_result *res = f->res;

    f->cur = *t;
    (void)snprintf(res->message_id, sizeof(res->message_id), "%s",
                   strcmp(msgid, "none") != 0 ? msgid : "");
    if (channel[0] != '\0' && strcmp(channel, "unknown") != 0) {
        (void)snprintf(res->channel, sizeof(res->channel), "%s", channel);
    } else if (t->channel != NULL) {
        (void)snprintf(res->channel, sizeof(res->channel), "%s", t->channel);
    } else {
        res->channel[0] = '\0';
    }
    res->reused = reused;
    res->code_out = true;
    eotp_dest_mask(t->dest, res->masked, sizeof(res->masked));
}

/* What the store is told about a send's result r. */
static enum eotp_store_sent_outcome sent_outcome(int r)
{
    if (r == EOTP_OK) {
        return EOTP_STORE_SENT;
    }
    if (ambiguous_failure(r)) {
        /* Counted: an SMS may have been sent (and billed) anyway. */
        return EOTP_STORE_MAYBE_SENT;
    }
    return r == EOTP_E_RESEND ? EOTP_STORE_RESEND : EOTP_STORE_NOT_SENT;
}

/*
 * Everything of one send: the store's checks and reservation (begin:
 * lockout, grace when gmac is not NULL, the user's and the address's
 * limits), the send, and its outcome (sent).  When the service refuses a
 * new send (3004) the earlier code for the same template and destination
 * is reused if the store knows it.  On failure the current code (f->cur,
 * res) is left as it was.
 */
static int send_code(struct flow *f, const struct target *t, const char *gmac)
{
    const struct eotp_cfg *cfg = f->cfg;
    const bool local = cfg->code_mode == EOTP_CODE_LOCAL;
    struct eotp_store_begin_req breq;
    struct eotp_store_begin_res *bres = NULL;
    struct eotp_store_sent_req sreq;
    struct eotp_store_sent_res *sres = NULL;
    struct eotp_params params;
    struct eotp_send_req req;
    struct eotp_send_resp sr;
    struct eotp_localcode lc;
    struct eotp_pending p;
    char key[EOTP_STORE_ID_HEX];
    char code[EOTP_LOCALCODE_MAX_LEN + 1];
    long long now = (long long)time(NULL);
    int sr_r;
    int r;

    memset(&lc, 0, sizeof(lc));
    memset(&p, 0, sizeof(p));
    memset(code, 0, sizeof(code));
    bres = calloc(1, sizeof(*bres));
    sres = calloc(1, sizeof(*sres));
    if (bres == NULL || sres == NULL) {
        r = EOTP_E_NOMEM;
        goto out;
    }
    r = eotp_store_dest_key(f->store, t->template_id, t->dest, key);
    if (r != EOTP_OK) {
        r = store_err(r);
        goto out;
    }
    memset(&breq, 0, sizeof(breq));
    breq.who = &f->who;
    breq.lim = &f->lim;
    breq.grace_mac = gmac;
    breq.send = true;
    breq.dest_key = key;
    r = eotp_store_begin(f->store, &breq, bres);
    if (r != EOTP_OK) {
        r = store_err(r);
        goto out;
    }
    switch (bres->verdict) {
    case EOTP_STORE_GO:
        break;
    case EOTP_STORE_LOCKED:
        r = locked_out(f, bres->wait, LOCKED_BEFORE_SEND);
        goto out;
    case EOTP_STORE_GRACE:
        f->graced = true;
        f->res->grace = true;
        (void)snprintf(f->res->detail, sizeof(f->res->detail),
                       "grace=yes age=%lld", now - bres->grace_since);
        eotp_log(f->lg, LOG_INFO,
                 "grace period: second factor skipped user=%s service=%s "
                 "rhost=%s age=%lld grace_period=%ld",
                 f->user, f->service, f->rhost, now - bres->grace_since,
                 cfg->grace_period);
        r = EOTP_OK;
        goto out;
    case EOTP_STORE_SEND_LIMIT:
        r = limited(f, "send_limit", &cfg->send_limit, bres->wait);
        goto out;
    case EOTP_STORE_RHOST_LIMIT:
        r = limited(f, "rhost_send_limit", &cfg->rhost_send_limit, bres->wait);
        goto out;
    default:
        r = EOTP_E_INTERNAL;
        goto out;
    }
    /* From here on, exactly one sent() follows. */
    r = eotp_params_build(cfg, f->login, &params);
    if (r == EOTP_OK && local) {
        r = eotp_localcode_random_hex((EOTP_CODE_ID_HEX - 1) / 2, lc.id,
                                      sizeof(lc.id));
        if (r == EOTP_OK) {
            r = eotp_localcode_generate(cfg->code_type, cfg->code_length, code,
                                        sizeof(code));
            if (r == EOTP_E_CONFIG) {
                eotp_log(f->lg, LOG_ERR,
                         "config: code_mode = local needs code_length 0 or "
                         "%d to %d",
                         EOTP_LOCALCODE_MIN_LEN, EOTP_LOCALCODE_MAX_LEN);
            }
        }
        if (r == EOTP_OK) {
            r = eotp_localcode_mac(f->key, f->login->user, lc.id, code,
                                   lc.mac);
        }
    }
    memset(&sr, 0, sizeof(sr));
    if (r == EOTP_OK) {
        memset(&req, 0, sizeof(req));
        req.to = t->dest;
        req.template_id = t->template_id;
        req.language = eotp_policy_language(cfg, f->login->locale);
        req.params = params.kv;
        req.nparams = params.n;
        req.code = local ? code : NULL;
        r = eotp_transport_send(cfg, f->api, &req, &sr);
        eotp_memzero(code, sizeof(code));
        if (r != EOTP_OK) {
            set_detail(f->res, f->api, r);
        }
    }
    memset(&sreq, 0, sizeof(sreq));
    sreq.who = &f->who;
    sreq.lim = &f->lim;
    sreq.outcome = sent_outcome(r);
    sreq.send_tok = bres->send_tok;
    sreq.rhost_tok = bres->rhost_tok;
    sreq.dest_key = key;
    if (r == EOTP_OK) {
        const char *channel = sr.channel[0] != '\0' ? sr.channel
                              : t->channel != NULL  ? t->channel
                                                    : "unknown";

        if (local) {
            (void)snprintf(lc.msgid, sizeof(lc.msgid), "%s", sr.message_id);
            memcpy(lc.key, key, sizeof(lc.key));
            (void)snprintf(lc.channel, sizeof(lc.channel), "%s", channel);
            lc.created = now;
            lc.expires = now + cfg->code_ttl;
            sreq.code = &lc;
        } else {
            memcpy(p.id, sr.message_id, sizeof(p.id));
            memcpy(p.key, key, sizeof(p.key));
            (void)snprintf(p.channel, sizeof(p.channel), "%s", channel);
            p.time = now;
            sreq.pending = &p;
        }
    }
    sr_r = eotp_store_sent(f->store, &sreq, sres);
    if (sr_r != EOTP_OK) {
        r = store_err(sr_r);
        goto out;
    }
    if (r == EOTP_OK) {
        if (local) {
            memcpy(f->code_id, lc.id, sizeof(f->code_id));
        }
        set_current(f, t, sr.message_id, sr.channel, false);
        f->res->sends++;
    } else if (r == EOTP_E_RESEND) {
        if (local && sres->have_code) {
            memcpy(f->code_id, sres->code.id, sizeof(f->code_id));
            set_current(f, t, sres->code.msgid, sres->code.channel, true);
            clear_detail(f->res); /* reused=yes says it all */
            r = EOTP_OK;
        } else if (!local && sres->have_pending) {
            set_current(f, t, sres->pending.id, sres->pending.channel, true);
            clear_detail(f->res); /* reused=yes says it all */
            r = EOTP_OK;
        }
    }
out:
    eotp_memzero(code, sizeof(code));
    eotp_memzero(&lc, sizeof(lc));
    eotp_freezero(bres, sizeof(*bres));
    eotp_freezero(sres, sizeof(*sres));
    return r;
}

/*
 * The start of a login: lockout, grace period, limits, first send (one
 * begin and one sent in the store).
 */
static int begin(struct flow *f, const struct target *primary)
{
    char mac[EOTP_HEX256];
    const char *gmac = NULL;
    int r;

    if (f->cfg->grace_period > 0) {
        r = grace_mac(f, mac);
        if (r != EOTP_OK) {
            return r;
        }
        gmac = mac;
    }
    return send_code(f, primary, gmac);
}

/*
 * The user asked for a new code (empty answer) or another channel (a is
 * not NULL).  Returns 0 and a lead text for the next prompt, or an error
 * that ends the login.
 */
static int request_new(struct flow *f, const struct alt *a, char *lead,
                       size_t leadlen)
{
    struct target t = f->cur;
    char when[32];
    int r;

    lead[0] = '\0';
    if (f->resends >= RESENDS_MAX) {
        f->res->wrong++; /* bounds the prompt loop */
        f->res->unchecked++;
        (void)snprintf(lead, leadlen, "No more new codes in this login. ");
        return EOTP_OK;
    }
    f->resends++;
    if (a != NULL) {
        t.template_id = a->template_id;
        t.channel = a->channel;
        t.dest = dest_for(f, a->channel);
        if (t.dest == NULL) {
            (void)snprintf(lead, leadlen, "No %s destination is on file. ",
                           strcmp(a->channel, "email") == 0 ? "email"
                                                            : "phone");
            return EOTP_OK;
        }
    }
    r = send_code(f, &t, NULL);
    eotp_log(f->lg, LOG_INFO,
             "new code requested user=%s service=%s rhost=%s channel=%s "
             "dest=%s result=%s%s",
             f->user, f->service, f->rhost,
             t.channel != NULL ? t.channel : "primary", f->res->masked,
             eotp_err_reason(r),
             r == EOTP_OK && f->res->reused ? " reused=yes" : "");
    switch (r) {
    case EOTP_OK:
        f->renewed = !f->res->reused;
        return EOTP_OK;
    case EOTP_E_RATE_LIMIT:
        (void)snprintf(lead, leadlen,
                       "Too many codes requested; try again in %s. ",
                       eotp_limits_wait_text(f->res->retry_in, when,
                                             sizeof(when)));
        clear_detail(f->res);
        return EOTP_OK;
    case EOTP_E_RESEND:
        (void)snprintf(lead, leadlen,
                       "A code was sent recently; use the one you have. ");
        clear_detail(f->res);
        return EOTP_OK;
    case EOTP_E_LOCKED:
    case EOTP_E_STATE:
    case EOTP_E_NOMEM:
    case EOTP_E_INTERNAL:
        return r;
    default:
        /* The earlier code still works; say so and go on. */
        (void)snprintf(lead, leadlen, "No new code could be sent. ");
        clear_detail(f->res);
        return EOTP_OK;
    }
}

/* ---- verifying ---------------------------------------------------------- */

/*
 * Check a platform code's answer.  Before it goes to the service, the
 * store checks the lockout and reserves the attempt (other sessions of
 * the same user share the pending code after 3004): however many
 * sessions check answers at once, the service never sees more answers per
 * window than the lockout allows.  The verdict then keeps the
 * reservation (wrong), or gives it back (right, or not judged).
 */
static int platform_verify(struct flow *f, const char *answer, bool *verified)
{
    struct eotp_store_finish_req freq;
    struct eotp_store_token tok;
    enum eotp_store_verdict v;
    char mac[EOTP_HEX256];
    long wait = 0;
    int vr;
    int r;

    *verified = false;
    r = eotp_store_attempt(f->store, &f->who, &f->lim, &v, &wait, &tok);
    if (r != EOTP_OK) {
        return store_err(r);
    }
    if (v == EOTP_STORE_LOCKED) {
        return locked_out(f, wait, LOCKED_BEFORE_CHECK);
    }
    vr = eotp_api_verify(f->api, f->res->message_id, answer, verified);
    memset(&freq, 0, sizeof(freq));
    freq.who = &f->who;
    freq.lim = &f->lim;
    freq.tok = tok;
    freq.msgid = f->res->message_id;
    if (vr != EOTP_OK) {
        *verified = false;
        set_detail(f->res, f->api, vr);
        freq.answer = EOTP_STORE_ANSWER_UNJUDGED;
        freq.forget = vr == EOTP_E_CODE_EXPIRED;
    } else if (*verified) {
        freq.answer = EOTP_STORE_ANSWER_RIGHT;
        if (f->cfg->grace_period > 0) {
            r = grace_mac(f, mac);
            if (r != EOTP_OK) {
                *verified = false;
                return r;
            }
            freq.grace_mac = mac;
        }
    } else {
        freq.answer = EOTP_STORE_ANSWER_WRONG;
    }
    r = eotp_store_finish(f->store, &freq, &wait);
    if (vr != EOTP_OK) {
        return vr; /* the reservation given back (or kept: stricter) */
    }
    if (r != EOTP_OK) {
        *verified = false;
        return store_err(r);
    }
    if (!*verified && wait > 0) {
        f->res->wrong++; /* this answer counts; the loop stops here */
        return locked_out(f, wait, LOCKED_NOW);
    }
    return EOTP_OK;
}

/*
 * Check answer against the current local code, in constant time, in one
 * store operation: a right code is deleted (it works once), a wrong one
 * counts against the code (deleted after max_attempts) and the lockout.
 * EOTP_E_CODE_EXPIRED when the code expired or is gone.
 */
static int local_verify(struct flow *f, const char *answer, bool *verified)
{
    struct eotp_store_check_req req;
    enum eotp_store_verdict v;
    char mac[EOTP_HEX256];
    char gmac[EOTP_HEX256];
    long wait = 0;
    int r;

    *verified = false;
    memset(&req, 0, sizeof(req));
    r = eotp_localcode_mac(f->key, f->login->user, f->code_id, answer, mac);
    if (r == EOTP_OK && f->cfg->grace_period > 0) {
        r = grace_mac(f, gmac);
        req.grace_mac = gmac;
    }
    if (r != EOTP_OK) {
        eotp_memzero(mac, sizeof(mac));
        return r;
    }
    req.who = &f->who;
    req.lim = &f->lim;
    req.code_id = f->code_id;
    req.mac = mac;
    r = eotp_store_check(f->store, &req, &v, &wait);
    eotp_memzero(mac, sizeof(mac));
    if (r != EOTP_OK) {
        return store_err(r);
    }
    switch (v) {
    case EOTP_STORE_LOCKED:
        return locked_out(f, wait, LOCKED_BEFORE_CHECK);
    case EOTP_STORE_RIGHT:
        *verified = true;
        return EOTP_OK;
    case EOTP_STORE_WRONG:
        return wait > 0 ? locked_out(f, wait, LOCKED_NOW) : EOTP_OK;
    case EOTP_STORE_GONE:
    default:
        return EOTP_E_CODE_EXPIRED; /* expired (pruned), used, or replaced */
    }
}

/* ---- rescue codes (issue 16; the logic is in rescue.c) ---------------- */

static void rescue_setup(struct flow *f, struct eotp_rescue_login *rl,
                         char *ids, size_t idslen)
{
    (void)snprintf(ids, idslen, "user=%s service=%s rhost=%s", f->user,
                   f->service, f->rhost);
    memset(rl, 0, sizeof(*rl));
    rl->cfg = f->cfg;
    rl->lg = f->lg;
    rl->store = f->store;
    rl->who = &f->who;
    rl->lim = &f->lim;
    rl->user = f->login->user;
    rl->log_ids = ids;
}

/*
 * A rescue-shaped answer (canonical form): checked against the user's
 * hashes only, never sent to the service.  Counts its own attempts (a
 * wrong code toward the lockout too); *v says what happened.
 */
static int rescue_answer(struct flow *f, const char *canon, bool *verified,
                         enum eotp_rescue_verdict *v, char *lead,
                         size_t leadlen)
{
    struct eotp_rescue_login rl;
    char ids[3 * EOTP_FIELD_MAX + 32];
    long wait = 0;
    int r;

    *verified = false;
    rescue_setup(f, &rl, ids, sizeof(ids));
    r = eotp_rescue_check(&rl, canon, v, &wait);
    if (r != EOTP_OK) {
        eotp_log(f->lg, LOG_ERR, "rescue code not checked %s reason=%s", ids,
                 eotp_err_reason(r));
        return store_err(r);
    }
    switch (*v) {
    case EOTP_RESCUE_RIGHT:
        *verified = true;
        f->res->rescue = true;
        eotp_log(f->lg, LOG_NOTICE, "rescue code used %s", ids);
        return EOTP_OK;
    case EOTP_RESCUE_LOCKED:
        f->res->wrong++;
        return locked_out(f, wait, LOCKED_BEFORE_CHECK);
    case EOTP_RESCUE_WRONG:
        f->res->wrong++;
        eotp_log(f->lg, LOG_NOTICE, "wrong rescue code %s", ids);
        if (wait > 0) {
            return locked_out(f, wait, LOCKED_NOW);
        }
        (void)snprintf(lead, leadlen, "Wrong rescue code. ");
        return EOTP_OK;
    case EOTP_RESCUE_ALL_USED:
        f->res->wrong++;
        f->res->unchecked++;
        eotp_log(f->lg, LOG_NOTICE, "rescue code refused: all used %s", ids);
        say(f->conv, true, "All your rescue codes have been used.");
        return EOTP_OK;
    case EOTP_RESCUE_NONE:
    default:
        f->res->wrong++;
        f->res->unchecked++;
        (void)snprintf(lead, leadlen, "Wrong rescue code. ");
        return EOTP_OK;
    }
}

#define OUTAGE_PROMPT "The code service cannot be reached. Rescue code: "

/*
 * The code service failed with err: a user with unused rescue codes is
 * asked for one instead, whatever failmode says (the hashes decide, not
 * the network).  Without codes, err as before.
 */
static int rescue_outage(struct flow *f, int err)
{
    struct eotp_rescue_login rl;
    char ids[3 * EOTP_FIELD_MAX + 32];
    char lead[96] = "";
    bool have = false;
    size_t left = 0;
    int r;

    rescue_setup(f, &rl, ids, sizeof(ids));
    r = eotp_rescue_available(&rl, &have, &left);
    if (r != EOTP_OK && have) {
        /* A user with codes is never handed to failmode: refused. */
        eotp_log(f->lg, LOG_ERR,
                 "code service unusable and rescue codes cannot be checked "
                 "%s reason=%s error=%s",
                 ids, eotp_err_reason(err), eotp_err_reason(r));
        return store_err(r);
    }
    if (r != EOTP_OK || !have) {
        return err;
    }
    if (left == 0) {
        eotp_log(f->lg, LOG_NOTICE,
                 "code service unusable and all rescue codes used %s "
                 "reason=%s",
                 ids, eotp_err_reason(err));
        say(f->conv, true, "All your rescue codes have been used.");
        return err;
    }
    eotp_log(f->lg, LOG_WARNING,
             "code service unusable, asking for a rescue code %s reason=%s",
             ids, eotp_err_reason(err));
    while (f->res->wrong < f->cfg->max_attempts) {
        char prompt[160];
        char canon[EOTP_RESCUE_SYMBOLS + 1];
        enum eotp_rescue_verdict v = EOTP_RESCUE_NONE;
        char *answer = NULL;
        bool verified = false;

        (void)snprintf(prompt, sizeof(prompt), "%s%s", lead, OUTAGE_PROMPT);
        lead[0] = '\0';
        r = f->conv->prompt(f->conv->ctx, prompt, &answer);
        if (r != EOTP_OK || answer == NULL) {
            eotp_str_wipe_free(answer);
            return EOTP_E_CONV;
        }
        if (eotp_policy_is_sshd_junk(answer)) {
            eotp_str_wipe_free(answer);
            return EOTP_E_SSHD_REFUSED;
        }
        if (!eotp_rescue_shaped(answer, canon, sizeof(canon))) {
            eotp_str_wipe_free(answer);
            f->res->wrong++;
            f->res->unchecked++;
            (void)snprintf(lead, sizeof(lead), "That is not a rescue code. ");
            continue;
        }
        eotp_str_wipe_free(answer);
        r = rescue_answer(f, canon, &verified, &v, lead, sizeof(lead));
        eotp_memzero(canon, sizeof(canon));
        if (r != EOTP_OK || verified) {
            return r;
        }
        if (v == EOTP_RESCUE_ALL_USED || v == EOTP_RESCUE_NONE) {
            return err;
        }
    }
    say(f->conv, true, "Too many wrong codes.");
    return EOTP_E_MAXTRIES;
}

/* ---- prompts ------------------------------------------------------------ */

static const char *alt_phrase(const char *channel)
{
    if (strcmp(channel, "voice") == 0) {
        return "\"voice\" for a call";
    }
    if (strcmp(channel, "email") == 0) {
        return "\"email\" for an email";
    }
    if (strcmp(channel, "whatsapp") == 0) {
        return "\"whatsapp\" for WhatsApp";
    }
    return "\"sms\" for a text message";
}

/* " (empty for a new code, "voice" for a call)" when alternatives are
 * configured, else "" (an empty answer still asks for a new code). */
static void make_hint(const struct flow *f, char *buf, size_t len)
{
    size_t o;

    buf[0] = '\0';
    if (f->nalts == 0) {
        return;
    }
    (void)snprintf(buf, len, " (empty for a new code");
    for (size_t i = 0; i < f->nalts; i++) {
        const struct alt *a = &f->alts[i];

        if (dest_for(f, a->channel) == NULL ||
            strcmp(a->channel, f->res->channel) == 0) {
            continue;
        }
        o = strlen(buf);
        (void)snprintf(buf + o, len - o, ", %s", alt_phrase(a->channel));
    }
    o = strlen(buf);
    (void)snprintf(buf + o, len - o, ")");
}

/* One string per prompt: sshd before 10.3 holds back info messages. */
static void make_prompt(const struct flow *f, char *buf, size_t len,
                        const char *lead)
{
    const struct eotp_result *res = f->res;
    const char *label = eotp_channel_label(res->channel);
    char hint[256];

    make_hint(f, hint, sizeof(hint));
    if (f->brief) {
        (void)snprintf(buf, len, "%sCode%s: ", lead, hint);
    } else if (res->reused) {
        if (label != NULL) {
            (void)snprintf(buf, len,
                           "%sThe code sent earlier by %s to %s is still "
                           "valid. Code%s: ",
                           lead, label, res->masked, hint);
        } else {
            (void)snprintf(buf, len,
                           "%sThe code sent earlier to %s is still valid. "
                           "Code%s: ",
                           lead, res->masked, hint);
        }
    } else if (label != NULL) {
        (void)snprintf(buf, len, "%s%s by %s to %s%s: ", lead,
                       f->renewed ? "New code sent" : "Code sent", label,
                       res->masked, hint);
    } else {
        (void)snprintf(buf, len, "%s%s to %s%s: ", lead,
                       f->renewed ? "New code sent" : "Code sent", res->masked,
                       hint);
    }
}

/* The alternative named by answer, or NULL. */
static const struct alt *alt_named(const struct flow *f, const char *answer)
{
    for (size_t i = 0; i < f->nalts; i++) {
        if (strcmp(answer, f->alts[i].channel) == 0) {
            return &f->alts[i];
        }
    }
    return NULL;
}

/* ---- delivery status (issue 14, delivery_prompt.h) --------------------- */

/*
 * The current code's delivery class, and what to tell the user about it
 * in note ("" when unknown or pending).  res->delivery keeps the last
 * status seen, for the outcome line.
 */
static enum eotp_dlv_class dlv_look(struct flow *f, char *note, size_t len)
{
    struct eotp_result *res = f->res;
    long long now = (long long)time(NULL);
    const char *label = eotp_channel_label(res->channel);
    struct eotp_dlv d;
    enum eotp_dlv_class c = eotp_dlv_lookup(f->cfg, f->store, f->lg,
                                            res->message_id, now, &d);

    note[0] = '\0';
    if (d.status[0] != '\0') {
        (void)snprintf(res->delivery, sizeof(res->delivery), "%s", d.status);
    }
    if (c == EOTP_DLV_FAILED) {
        eotp_dlv_text_failed(label, res->masked, note, len);
    } else if (c == EOTP_DLV_DELIVERED) {
        eotp_dlv_text_delivered(label, res->masked, d.at, now, note, len);
        (void)snprintf(f->dlv_told, sizeof(f->dlv_told), "%s",
                       res->message_id);
    }
    return c;
}

/*
 * The current code was not delivered: the next code goes through the
 * first alternative (alt_templates order) on another channel, with a
 * destination, not switched to before in this login; the same channel
 * again when none is left and same is true.  The note and request_new's
 * own lead are appended to lead.
 */
static int dlv_failed(struct flow *f, const char *note, bool same, char *lead,
                      size_t leadlen)
{
    const struct alt *a = NULL;
    size_t o = strlen(lead);
    char more[256] = "";
    int r = EOTP_OK;

    for (size_t i = 0; i < f->nalts && f->resends < RESENDS_MAX; i++) {
        if ((f->dlv_tried & (1u << i)) == 0 &&
            strcmp(f->alts[i].channel, f->res->channel) != 0 &&
            dest_for(f, f->alts[i].channel) != NULL) {
            f->dlv_tried |= 1u << i;
            a = &f->alts[i];
            break;
        }
    }
    if (a != NULL) {
        eotp_log(f->lg, LOG_INFO,
                 "code not delivered, next code by another channel user=%s "
                 "service=%s rhost=%s message_id=%s delivery=%s channel=%s",
                 f->user, f->service, f->rhost, f->res->message_id,
                 f->res->delivery, a->channel);
    }
    if (a != NULL || same) {
        r = request_new(f, a, more, sizeof(more));
    }
    (void)snprintf(lead + o, leadlen - o, "%s%s", note, more);
    return r;
}

/* An empty answer: a new code, unless the current one was delivered
 * (said once; a second empty answer sends one). */
static int dlv_on_empty(struct flow *f, char *lead, size_t leadlen)
{
    char note[256];
    enum eotp_dlv_class c;

    lead[0] = '\0';
    if (f->res->message_id[0] != '\0' &&
        strcmp(f->dlv_told, f->res->message_id) == 0) {
        return request_new(f, NULL, lead, leadlen);
    }
    c = dlv_look(f, note, sizeof(note));
    if (c == EOTP_DLV_DELIVERED) {
        (void)snprintf(lead, leadlen, "%sPress Enter again for a new code. ",
                       note);
        f->brief = true;
        return EOTP_OK;
    }
    if (c == EOTP_DLV_FAILED) {
        return dlv_failed(f, note, true, lead, leadlen);
    }
    return request_new(f, NULL, lead, leadlen);
}

/* Before the prompt after a wrong code (lead holds "Wrong code. "). */
static int dlv_after_wrong(struct flow *f, char *lead, size_t leadlen)
{
    char note[256];
    size_t o = strlen(lead);
    enum eotp_dlv_class c = dlv_look(f, note, sizeof(note));

    if (c == EOTP_DLV_DELIVERED) {
        (void)snprintf(lead + o, leadlen - o, "%s", note);
        f->brief = true;
    } else if (c == EOTP_DLV_FAILED) {
        return dlv_failed(f, note, false, lead, leadlen);
    }
    return EOTP_OK;
}

/* ---- the flow ----------------------------------------------------------- */

/*
 * Notices about this login (notify.h), once its verdict r is known: best
 * effort, bounded by notify_timeout and the deadline, never changes r.
 */
static void notify_end(struct flow *f, int r)
{
    struct eotp_notify_ctx nc;

    if (f->cfg->notify_template == NULL) {
        return;
    }
    nc.cfg = f->cfg;
    nc.login = f->login;
    nc.lg = f->lg;
    nc.store = f->store;
    nc.api = f->api;
    nc.dest = f->dests->n > 0 ? f->dests->dest[0] : NULL;
    if (f->lockout_wait > 0) {
        (void)eotp_notify_lockout(&nc, f->lockout_wait);
    } else if (r == EOTP_OK && f->res->rescue) {
        (void)eotp_notify_event(&nc, EOTP_NOTIFY_RESCUE);
    } else if (r == EOTP_OK) {
        (void)eotp_notify_event(&nc, EOTP_NOTIFY_SUCCESS);
    } else if (eotp_policy_open_bypass(f->cfg->failmode, r, f->res->code_out,
                                       NULL)) {
        (void)eotp_notify_event(&nc, EOTP_NOTIFY_BYPASS);
    }
}

static int prompt_loop(struct flow *f)
{
    const struct eotp_cfg *cfg = f->cfg;
    struct eotp_result *res = f->res;
    char lead[512] = "";
    int r = EOTP_E_MAXTRIES;

    while (res->wrong < cfg->max_attempts) {
        char prompt[PROMPT_MAX];
        char canon[EOTP_RESCUE_SYMBOLS + 1];
        const struct alt *a;
        char *answer = NULL;
        bool verified = false;
        int vr;

        make_prompt(f, prompt, sizeof(prompt), lead);
        lead[0] = '\0';
        f->brief = false;
        vr = f->conv->prompt(f->conv->ctx, prompt, &answer);
        if (vr != EOTP_OK || answer == NULL) {
            eotp_str_wipe_free(answer);
            return EOTP_E_CONV;
        }
        if (eotp_policy_is_sshd_junk(answer)) {
            /*
             * sshd answers for root when root logins are refused (and for
             * invalid users): nobody can type the code, so stop now.
             */
            eotp_str_wipe_free(answer);
            return EOTP_E_SSHD_REFUSED;
        }
        a = alt_named(f, answer);
        if (answer[0] == '\0' || a != NULL) {
            eotp_str_wipe_free(answer);
            vr = a == NULL ? dlv_on_empty(f, lead, sizeof(lead))
                           : request_new(f, a, lead, sizeof(lead));
            if (vr != EOTP_OK) {
                return vr;
            }
            continue;
        }
        if (eotp_rescue_shaped(answer, canon, sizeof(canon))) {
            enum eotp_rescue_verdict rv;

            eotp_str_wipe_free(answer);
            vr = rescue_answer(f, canon, &verified, &rv, lead, sizeof(lead));
            eotp_memzero(canon, sizeof(canon));
            if (vr != EOTP_OK || verified) {
                return vr;
            }
            continue;
        }
        if (!eotp_policy_code_ok(cfg, answer)) {
            /*
             * Not a code: never sent anywhere (under sshd's password
             * method the answer may be the user's password), and not
             * counted towards the lockout.
             */
            eotp_str_wipe_free(answer);
            res->wrong++;
            res->unchecked++;
            (void)snprintf(lead, sizeof(lead), "That is not a valid code. ");
            continue;
        }
        if (cfg->code_mode == EOTP_CODE_LOCAL) {
            vr = local_verify(f, answer, &verified);
            eotp_str_wipe_free(answer);
            if (vr == EOTP_E_LOCKED) {
                res->wrong++;
                return vr;
            }
        } else {
            vr = platform_verify(f, answer, &verified);
            eotp_str_wipe_free(answer);
            if (vr == EOTP_E_LOCKED) {
                return vr;
            }
        }
        if (vr != EOTP_OK) {
            if (vr == EOTP_E_CODE_EXPIRED) {
                say(f->conv, true,
                    "The code has expired or was already used. Log in again "
                    "to get a new one.");
            }
            return vr;
        }
        if (verified) {
            return EOTP_OK;
        }
        res->wrong++;
        (void)snprintf(lead, sizeof(lead), "Wrong code. ");
        if (res->wrong < cfg->max_attempts) {
            vr = dlv_after_wrong(f, lead, sizeof(lead));
            if (vr != EOTP_OK) {
                return vr;
            }
        }
    }
    say(f->conv, true, "Too many wrong codes.");
    return r;
}

int eotp_authenticate(const struct eotp_cfg *cfg,
                      const struct eotp_login *login,
                      const struct eotp_conv *conv,
                      const struct eotp_logger *lg, struct eotp_result *res)
{
    struct eotp_dests dests = {{NULL}, 0, 0};
    struct flow *f = NULL;
    struct target primary;
    struct eotp_login canon_login;
    char canon[EOTP_USER_NAME_MAX + 1];
    bool used_state = false;
    gid_t gid = 0;
    int r;

    memset(res, 0, sizeof(*res));
    r = eotp_user_lookup(login->user, &gid, canon, sizeof(canon));
    if (r != EOTP_OK) {
        goto out;
    }
    /* From here on the account's own name, whatever case was typed. */
    canon_login = *login;
    canon_login.user = canon;
    login = &canon_login;
    r = eotp_policy_check(cfg, login, gid, lg);
    if (r != EOTP_OK) {
        goto out;
    }
    r = eotp_lookup_dests(cfg, login->user, lg, &dests, NULL, 0);
    if (r != EOTP_OK) {
        goto out;
    }
    eotp_dest_mask(dests.dest[0], res->masked, sizeof(res->masked));
    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        r = EOTP_E_NOMEM;
        goto out;
    }
    f->cfg = cfg;
    f->login = login;
    f->conv = conv;
    f->lg = lg;
    f->res = res;
    f->dests = &dests;
    eotp_sanitize(f->user, sizeof(f->user), login->user, true);
    eotp_sanitize(f->service, sizeof(f->service), login->service, true);
    eotp_sanitize(f->rhost, sizeof(f->rhost), login->rhost, true);
    parse_alts(f);
    f->lim.lockout = cfg->lockout;
    f->lim.send = cfg->send_limit;
    f->lim.rhost = cfg->rhost_send_limit;
    f->lim.grace_period = cfg->grace_period;
    f->lim.max_attempts = cfg->max_attempts;
    r = eotp_store_open(cfg, lg, &f->store);
    if (r != EOTP_OK) {
        r = store_err(r);
        goto out;
    }
    used_state = true;
    r = eotp_store_who(f->store, login->user,
                       rhost_limited(f) ? login->rhost : NULL, &f->who);
    if (r == EOTP_OK && need_key(f)) {
        r = eotp_store_key(f->store, &f->key);
    }
    if (r != EOTP_OK) {
        r = store_err(r);
        goto out;
    }
    r = eotp_api_new(cfg, cfg->deadline * 1000, &f->api);
    if (r != EOTP_OK) {
        goto out;
    }
    primary.template_id = cfg->template_id;
    primary.dest = dests.dest[0];
    primary.channel = NULL;
    r = begin(f, &primary);
    if (r == EOTP_E_RATE_LIMIT) {
        char when[32];
        char msg[96];

        (void)snprintf(msg, sizeof(msg),
                       "Too many codes requested; try again in %s.",
                       eotp_limits_wait_text(res->retry_in, when,
                                             sizeof(when)));
        say(conv, true, msg);
    }
    if (r != EOTP_OK || f->graced) {
        goto out;
    }
    r = prompt_loop(f);
out:
    if (f != NULL && f->store != NULL && eotp_err_is_service_failure(r)) {
        r = rescue_outage(f, r); /* issue 16 */
    }
    if (r == EOTP_E_RESEND) {
        say(conv, true,
            "A code was sent recently; wait for it to expire, then try "
            "again.");
    }
    res->err = r;
    if (f != NULL) {
        notify_end(f, r);
        eotp_api_free(f->api);
        if (used_state && r != EOTP_E_STATE) {
            eotp_store_sweep(f->store);
        }
        if (f->store != NULL) {
            eotp_debug(lg, "store: backend=%s ops=%u",
                       eotp_store_name(f->store),
                       eotp_store_op_count(f->store));
        }
        eotp_store_close(f->store);
        eotp_freezero(f, sizeof(*f));
    }
    eotp_dests_free(&dests);
    return r;
}
