/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_redis.c - the Redis backend of store.h (issue 13): one state for
 * a whole fleet.
 *
 * Every operation is one call of the fleet-state script (redis_state.c):
 * one round trip, atomic on the server, exact however many hosts log in
 * at once.  The connection (redis.c) is opened on the first operation and
 * closed with the store, inside one pam_sm_* call; its budget,
 * redis_timeout, counts all the Redis time of the login.
 *
 * Layout, per user U and address R (the first 128 bits of store.c's
 * keyed ids, hex), all with TTLs:
 *   eotp:v1:{U}:send        sorted set of sends (ms), TTL >= send window
 *   eotp:v1:{U}:wrong       sorted set of wrong codes, TTL >= lockout
 *   eotp:v1:{U}:pend        hash dest-key -> "msgid channel time", 11 min
 *   eotp:v1:{U}:code        hash code-id -> "msgid dest-key mac channel
 *                           created expires wrong", until the last expires
 *   eotp:v1:{U}:grace:{M}   "time mac" of a grace binding, grace_period
 *   eotp:v1:{R}:rsend       sorted set of sends per address
 *   eotp:v1:rec:H           generic records, H a keyed hash of NS and ID
 * No user name, address, destination, code or secret: only keyed hashes,
 * times, the service's message ids and MACs.  A grace record carries a
 * MAC of its time under the fleet key, so a hostile Redis can neither
 * forge nor prolong one.
 *
 * When Redis cannot be used (connect, TLS, AUTH, timeout, script error,
 * a reply of the wrong shape), one LOG_WARNING says why and this login
 * goes on with the host's state_dir (per-host limits, as without Redis);
 * with redis_required the operation fails with EOTP_E_FLEET_UNAVAIL
 * (PAM_AUTHINFO_UNAVAIL, never a bypass).  Either way an error never
 * grants anything.
 */
#if defined(__has_include)
#if __has_include("store.h")
#define EOTP_HAVE_STORE_H 1
#endif
#endif

/* Until store.h is merged (branch store), this file builds to nothing. */
#ifdef EOTP_HAVE_STORE_H

#include "store_redis.h"

#include "err.h"
#include "keyed.h"
#include "limits.h"
#include "redis.h"
#include "redis_state.h"
#include "secret.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME_MAX_ 96

struct rimpl {
    struct eotp_redis *conn;
    char lease[EOTP_RS_MEMBER_HEX]; /* this login's lease owner id */
    bool leased;                    /* begin took the lease */
    long long lease_pttl;    /* busy: ms until the other login's lease ends */
    struct eotp_store *file; /* the fallback, opened when needed */
    bool failed;             /* Redis unusable: file store from now on */
    bool peek_off;           /* a bounded read failed: no more in this login */
    char why[160];
};

bool eotp_store_redis_wanted(const struct eotp_cfg *cfg)
{
    return eotp_redis_configured(cfg);
}

/* ---- helpers ------------------------------------------------------------ */

static void kname(char *out, const char *id, const char *suffix)
{
    (void)snprintf(out, NAME_MAX_, "eotp:v1:{%.32s}:%s", id, suffix);
}

static long secs_up(long long ms)
{
    return ms <= 0 ? 0 : (long)((ms + 999) / 1000);
}

/* Message ids and channels go into space-separated values. */
static bool word_ok(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max) {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (*s <= ' ' || *s > '~') {
            return false;
        }
    }
    return true;
}

static int conn(struct eotp_store *s, struct eotp_redis **c)
{
    struct rimpl *im = s->impl;
    int r;

    if (im->conn == NULL) {
        r = eotp_redis_open(s->cfg, s->cfg->redis_timeout, s->lg, &im->conn,
                            im->why, sizeof(im->why));
        if (r != EOTP_OK) {
            return r;
        }
    }
    *c = im->conn;
    return EOTP_OK;
}

static int run(struct eotp_store *s, const struct eotp_rs_step *st, size_t n,
               struct eotp_rs_result *res)
{
    struct rimpl *im = s->impl;
    struct eotp_redis *c = NULL;
    int r = conn(s, &c);

    if (r == EOTP_OK) {
        r = eotp_rs_run(c, st, n, res, im->why, sizeof(im->why));
    }
    return r;
}

/*
 * Redis failed with r: decide.  Returns 0 when the caller should go on
 * with the file store (im->file), or the error for the login.
 */
static int fall_back(struct eotp_store *s, int r)
{
    struct rimpl *im = s->impl;

    if (im->conn != NULL) {
        eotp_redis_close(im->conn);
        im->conn = NULL;
    }
    if (r == EOTP_E_NOMEM || r == EOTP_E_INTERNAL) {
        return r;
    }
    if (s->cfg->redis_required) {
        eotp_log(s->lg, LOG_ERR,
                 "redis: cannot be used and redis_required is set: refusing "
                 "reason=\"%s\" error=%s",
                 im->why, eotp_err_reason(r));
        return EOTP_E_FLEET_UNAVAIL;
    }
    eotp_log(s->lg, LOG_WARNING,
             "redis: cannot be used, this login uses the host's state_dir "
             "reason=\"%s\" error=%s",
             im->why, eotp_err_reason(r));
    im->failed = true;
    r = eotp_store_file_open(s->cfg, s->lg, &im->file);
    return r;
}

/* Our tokens are "r" and a random event id; anything else is not ours. */
static void tok_set(struct eotp_store_token *t, const char *member)
{
    (void)snprintf(t->v, sizeof(t->v), "r%s", member);
}

static const char *tok_member(const struct eotp_store_token *t)
{
    return t->v[0] == 'r' && t->v[1] != '\0' ? t->v + 1 : NULL;
}

/* The first 32 hex digits of a keyed hash of parts under the fleet key:
 * the MAC that makes a record Redis keeps unforgeable. */
static int seal(struct eotp_store *s, const char *const *parts, size_t n,
                char out[33])
{
    const unsigned char *key = NULL;
    char hex[EOTP_KEYED_HEX];
    int r = eotp_store_key(s, &key);

    if (r == EOTP_OK) {
        r = eotp_keyed_hash(key, parts, n, hex);
    }
    if (r == EOTP_OK) {
        memcpy(out, hex, 32);
        out[32] = '\0';
    }
    eotp_memzero(hex, sizeof(hex));
    return r;
}

/* A grace record's MAC: over the binding's mac and the time. */
static int grace_seal(struct eotp_store *s, const char *mac, const char *tbuf,
                      char out[33])
{
    const char *parts[3] = {"grace-rec-v1", mac, tbuf};

    return seal(s, parts, 3, out);
}

/* A grace record "TIME MAC" valid for mac and younger than period? */
static bool grace_valid(struct eotp_store *s, const char *mac, const char *val,
                        long period, long long *since)
{
    char tbuf[24];
    char want[33];
    const char *sp = strchr(val, ' ');
    long t = 0;
    long long now = (long long)time(NULL);
    bool ok;

    if (sp == NULL || (size_t)(sp - val) >= sizeof(tbuf) ||
        strlen(sp + 1) != 32) {
        return false;
    }
    memcpy(tbuf, val, (size_t)(sp - val));
    tbuf[sp - val] = '\0';
    if (eotp_parse_long(tbuf, 1, 0x7fffffffL, &t) != EOTP_OK ||
        grace_seal(s, mac, tbuf, want) != EOTP_OK) {
        return false;
    }
    ok = eotp_consttime_streq(want, sp + 1) && t <= now + 60 &&
         now - t < period;
    if (ok) {
        *since = t;
    }
    return ok;
}

/*
 * The MAC that makes a pending code's record unforgeable: over the user,
 * the destination key, the message id, the channel and the time.  Without
 * it, whoever can write the user's "pend" hash (a hostile server, or
 * anyone holding the ACL password) could make the next login that gets
 * 3004 check the answer against a message whose code they have.
 */
static int pend_seal(struct eotp_store *s, const char *user_id,
                     const char *d32, const char *msgid, const char *channel,
                     const char *tbuf, char out[33])
{
    const char *parts[6] = {"pend-rec-v1", user_id, d32, msgid, channel, tbuf};

    return seal(s, parts, 6, out);
}

/* A pending record "msgid channel time seal" for user_id and the
 * destination key dest_key (its first 32 digits name the hash field). */
static void parse_pending(struct eotp_store *s, const char *user_id,
                          const char *val, const char *dest_key,
                          long long now_s, bool *have, struct eotp_pending *p)
{
    char w[4][EOTP_RS_VALUE_MAX];
    char d32[33];
    char want[33];
    const char *cur = val;
    long t = 0;
    size_t n = 0;

    *have = false;
    while (n < 4 && eotp_list_next(&cur, w[n], sizeof(w[n]))) {
        n++;
    }
    (void)snprintf(d32, sizeof(d32), "%.32s", dest_key);
    if (n != 4 || strlen(w[0]) > EOTP_MSGID_MAX ||
        strlen(w[1]) > EOTP_CHANNEL_MAX ||
        eotp_parse_long(w[2], 1, 0x7fffffffL, &t) != EOTP_OK ||
        now_s - t >= EOTP_PENDING_MAX_AGE || t > now_s + 60) {
        return;
    }
    if (pend_seal(s, user_id, d32, w[0], w[1], w[2], want) != EOTP_OK ||
        strlen(w[3]) != 32 || !eotp_consttime_memeq(want, w[3], 32)) {
        eotp_log(s->lg, LOG_ALERT,
                 "redis: a pending code's record does not carry its MAC: "
                 "not used");
        return;
    }
    memset(p, 0, sizeof(*p));
    memcpy(p->id, w[0], strlen(w[0]) + 1);
    (void)snprintf(p->key, sizeof(p->key), "%s", dest_key);
    if (strcmp(w[1], "-") != 0) {
        memcpy(p->channel, w[1], strlen(w[1]) + 1);
    }
    p->time = t;
    *have = true;
}

/* "id msgid key channel created expires wrong" (cfind), mac left empty. */
static void parse_code(const char *val, const char *dest_key, bool *have,
                       struct eotp_localcode *c)
{
    char w[7][EOTP_RS_VALUE_MAX];
    const char *cur = val;
    long created = 0;
    long expires = 0;
    long wrong = 0;
    size_t n = 0;

    *have = false;
    while (n < 7 && eotp_list_next(&cur, w[n], sizeof(w[n]))) {
        n++;
    }
    if (n != 7 || strlen(w[0]) >= EOTP_CODE_ID_HEX ||
        strlen(w[1]) > EOTP_MSGID_MAX || strlen(w[3]) > EOTP_CHANNEL_MAX ||
        eotp_parse_long(w[4], 1, 0x7fffffffL, &created) != EOTP_OK ||
        eotp_parse_long(w[5], 1, 0x7fffffffL, &expires) != EOTP_OK ||
        eotp_parse_long(w[6], 0, 1000, &wrong) != EOTP_OK) {
        return;
    }
    memset(c, 0, sizeof(*c));
    memcpy(c->id, w[0], strlen(w[0]) + 1);
    if (strcmp(w[1], "-") != 0) {
        memcpy(c->msgid, w[1], strlen(w[1]) + 1);
    }
    (void)snprintf(c->key, sizeof(c->key), "%s", dest_key);
    if (strcmp(w[3], "-") != 0) {
        memcpy(c->channel, w[3], strlen(w[3]) + 1);
    }
    c->created = created;
    c->expires = expires;
    c->wrong = (int)wrong;
    *have = true;
}

/* Is the MAC (third word) of a code record "msgid key mac ..." mac? */
static bool stored_mac_is(const char *rec, const char *mac)
{
    char w[3][EOTP_RS_VALUE_MAX];
    const char *cur = rec;
    size_t n = 0;
    bool same;

    while (n < 3 && eotp_list_next(&cur, w[n], sizeof(w[n]))) {
        n++;
    }
    same = n == 3 && strlen(w[2]) == strlen(mac) &&
           eotp_consttime_memeq(w[2], mac, strlen(mac));
    eotp_memzero(w, sizeof(w));
    return same;
}

static void step(struct eotp_rs_step *st, int op, const char *key,
                 long long limit, long long ms, const char *value)
{
    memset(st, 0, sizeof(*st));
    st->op = op;
    st->key = key;
    st->limit = limit;
    st->ms = ms;
    st->value = value;
}

/* ---- a login ------------------------------------------------------------ */

/* begin found another login's lease: wait and try again (internal). */
#define EOTP_E_BUSY_ 1

/* A lease lasts at most one send: connect_timeout + timeout, within the
 * login's deadline. */
static long long lease_ms(const struct eotp_store *s)
{
    long long ms = (s->cfg->connect_timeout + s->cfg->timeout) * 1000LL;
    long long cap = s->cfg->deadline * 1000LL;

    if (ms > cap) {
        ms = cap;
    }
    return ms < EOTP_RS_LEASE_MAX_MS ? ms : EOTP_RS_LEASE_MAX_MS;
}

static void nap_ms(long long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    (void)nanosleep(&ts, NULL);
}

static int redis_begin(struct eotp_store *s,
                       const struct eotp_store_begin_req *req,
                       struct eotp_store_begin_res *res, bool use_grace)
{
    const struct eotp_store_who *who = req->who;
    const struct eotp_store_limits *lim = req->lim;
    char k_wrong[NAME_MAX_], k_grace[NAME_MAX_], k_send[NAME_MAX_];
    char k_rsend[NAME_MAX_], k_pend[NAME_MAX_], k_code[NAME_MAX_];
    char k_lease[NAME_MAX_];
    char gsuffix[48];
    char d32[33] = "";
    char m_send[EOTP_RS_MEMBER_HEX];
    char m_rh[EOTP_RS_MEMBER_HEX];
    struct eotp_rs_step st[EOTP_RS_STEPS_MAX];
    struct eotp_rs_result rr;
    int i_lock = -1, i_grace = -1, i_send = -1, i_rh = -1, i_pend = -1,
        i_code = -1, i_lease = -1;
    struct rimpl *im = s->impl;
    size_t n = 0;
    int r;

    memset(res, 0, sizeof(*res));
    if (eotp_rs_member(m_send) != EOTP_OK || eotp_rs_member(m_rh) != EOTP_OK) {
        return EOTP_E_INTERNAL;
    }
    if (req->dest_key != NULL) {
        (void)snprintf(d32, sizeof(d32), "%.32s", req->dest_key);
    }
    if (eotp_rate_on(&lim->lockout)) {
        kname(k_wrong, who->user_id, "wrong");
        step(&st[n], EOTP_RS_CHECK, k_wrong, lim->lockout.count,
             lim->lockout.seconds * 1000LL, NULL);
        i_lock = (int)n++;
    }
    if (use_grace && req->grace_mac != NULL && lim->grace_period > 0) {
        (void)snprintf(gsuffix, sizeof(gsuffix), "grace:%.32s",
                       req->grace_mac);
        kname(k_grace, who->user_id, gsuffix);
        step(&st[n], EOTP_RS_GET, k_grace, 0, 0, NULL);
        i_grace = (int)n++;
    }
    if (req->send) {
        /* One login of a user between begin and sent, as the file
         * backend's lock: the others wait, then find the pending code
         * (3004 reuse) instead of each reserving a send. */
        kname(k_lease, who->user_id, "lease");
        step(&st[n], EOTP_RS_LEASE, k_lease, 0, lease_ms(s), im->lease);
        if (i_grace >= 0) {
            st[n].if_step = i_grace + 1;
            st[n].if_value = "";
        }
        i_lease = (int)n++;
    }
    if (req->send && eotp_rate_on(&lim->send)) {
        kname(k_send, who->user_id, "send");
        step(&st[n], EOTP_RS_TAKE, k_send, lim->send.count,
             lim->send.seconds * 1000LL, m_send);
        if (i_grace >= 0) {
            st[n].if_step = i_grace + 1;
            st[n].if_value = "";
        }
        i_send = (int)n++;
    }
    if (req->send && who->rhost_id[0] != '\0' && eotp_rate_on(&lim->rhost)) {
        kname(k_rsend, who->rhost_id, "rsend");
        step(&st[n], EOTP_RS_TAKE, k_rsend, lim->rhost.count,
             lim->rhost.seconds * 1000LL, m_rh);
        if (i_grace >= 0) {
            st[n].if_step = i_grace + 1;
            st[n].if_value = "";
        }
        i_rh = (int)n++;
    }
    if (d32[0] != '\0') {
        kname(k_pend, who->user_id, "pend");
        step(&st[n], EOTP_RS_HGET, k_pend, 0, 0, d32);
        i_pend = (int)n++;
        kname(k_code, who->user_id, "code");
        step(&st[n], EOTP_RS_CFIND, k_code, 0, 0, d32);
        i_code = (int)n++;
    }
    if (n == 0) {
        res->verdict = EOTP_STORE_GO;
        return EOTP_OK;
    }
    r = run(s, st, n, &rr);
    if (r != EOTP_OK) {
        return r;
    }
    if (i_pend >= 0) {
        parse_pending(s, who->user_id, rr.val[i_pend], req->dest_key,
                      rr.server_ms / 1000, &res->have_pending, &res->pending);
        parse_code(rr.val[i_code], req->dest_key, &res->have_code, &res->code);
    }
    if (rr.limited && (int)rr.step == i_lock) {
        res->verdict = EOTP_STORE_LOCKED;
        res->wait = secs_up(rr.wait_ms);
        return EOTP_OK;
    }
    if (rr.limited && (int)rr.step == i_lease) {
        im->lease_pttl = rr.wait_ms;
        return EOTP_E_BUSY_;
    }
    if (i_grace >= 0 && rr.val[i_grace][0] != '\0') {
        if (grace_valid(s, req->grace_mac, rr.val[i_grace], lim->grace_period,
                        &res->grace_since)) {
            res->verdict = EOTP_STORE_GRACE;
            return EOTP_OK;
        }
        /* A stale or false record skipped the reservations: again
         * without the grace lookup. */
        return redis_begin(s, req, res, false);
    }
    if (rr.limited) {
        res->verdict = (int)rr.step == i_send ? EOTP_STORE_SEND_LIMIT
                                              : EOTP_STORE_RHOST_LIMIT;
        res->wait = secs_up(rr.wait_ms);
        return EOTP_OK;
    }
    res->verdict = EOTP_STORE_GO;
    im->leased = i_lease >= 0;
    if (i_send >= 0) {
        tok_set(&res->send_tok, m_send);
    }
    if (i_rh >= 0) {
        tok_set(&res->rhost_tok, m_rh);
    }
    return EOTP_OK;
}

/*
 * Waiting for another login's lease.  Each look costs a round trip of
 * this login's Redis budget, so look rarely: 20 ms after the first
 * refusal (a send usually ends well within a second), then twice as long
 * each time up to 250 ms, and never later than the lease's own end (its
 * PTTL, which the script returns): a lease left by a login that died is
 * taken over as soon as it expires.  Stop (and fall back to state_dir)
 * after one lease's life of sleeping, or when the budget left would no
 * longer cover the rest of the login: three more looks' worth, at least a
 * tenth of redis_timeout.
 */
#define LEASE_NAP_FIRST_MS 20
#define LEASE_NAP_MAX_MS 250

static long long lease_nap(long long prev, long long pttl)
{
    long long nap = prev <= 0 ? LEASE_NAP_FIRST_MS : prev * 2;

    if (nap > LEASE_NAP_MAX_MS) {
        nap = LEASE_NAP_MAX_MS;
    }
    /* + 1: wake just after the lease expired, not just before */
    if (pttl > 0 && pttl + 1 < nap) {
        nap = pttl + 1;
    }
    return nap;
}

static int begin_waiting(struct eotp_store *s,
                         const struct eotp_store_begin_req *req,
                         struct eotp_store_begin_res *res)
{
    struct rimpl *im = s->impl;
    struct timespec t0;
    struct timespec t1;
    long long slept = 0;
    long long nap = 0;
    long costliest = 0;
    unsigned int looks = 0;
    int r;

    (void)clock_gettime(CLOCK_MONOTONIC, &t0);

    for (;;) {
        long before = im->conn != NULL ? eotp_redis_budget_left(im->conn)
                                       : s->cfg->redis_timeout;
        long reserve;

        im->lease_pttl = 0;
        r = redis_begin(s, req, res, true);
        looks++;
        if (r != EOTP_E_BUSY_) {
            break;
        }
        if (before - eotp_redis_budget_left(im->conn) > costliest) {
            costliest = before - eotp_redis_budget_left(im->conn);
        }
        reserve = 3 * costliest;
        if (reserve < s->cfg->redis_timeout / 10) {
            reserve = s->cfg->redis_timeout / 10;
        }
        nap = lease_nap(nap, im->lease_pttl);
        if (slept + nap > lease_ms(s) ||
            eotp_redis_budget_left(im->conn) - costliest < reserve) {
            (void)snprintf(im->why, sizeof(im->why),
                           "another login kept the user's lease");
            r = EOTP_E_TIMEOUT;
            break;
        }
        nap_ms(nap);
        slept += nap;
    }
    if (looks > 1) {
        (void)clock_gettime(CLOCK_MONOTONIC, &t1);
        eotp_debug(s->lg,
                   "redis: waited for the user's lease ms=%lld slept_ms=%lld "
                   "looks=%u",
                   (long long)(t1.tv_sec - t0.tv_sec) * 1000 +
                       (t1.tv_nsec - t0.tv_nsec) / 1000000,
                   slept, looks);
    }
    return r;
}

static int redis_sent(struct eotp_store *s,
                      const struct eotp_store_sent_req *req,
                      struct eotp_store_sent_res *res)
{
    struct rimpl *im = s->impl;
    const struct eotp_store_who *who = req->who;
    char k_send[NAME_MAX_], k_rsend[NAME_MAX_], k_pend[NAME_MAX_],
        k_code[NAME_MAX_], k_lease[NAME_MAX_];
    char d32[33] = "";
    char data[EOTP_RS_VALUE_MAX];
    struct eotp_rs_step st[EOTP_RS_STEPS_MAX];
    struct eotp_rs_result rr;
    int i_pend = -1;
    int i_code = -1;
    size_t n = 0;
    int r;

    memset(res, 0, sizeof(*res));
    if (req->dest_key != NULL) {
        (void)snprintf(d32, sizeof(d32), "%.32s", req->dest_key);
    }
    kname(k_send, who->user_id, "send");
    kname(k_rsend, who->rhost_id, "rsend");
    kname(k_pend, who->user_id, "pend");
    kname(k_code, who->user_id, "code");
    if (im->leased) {
        kname(k_lease, who->user_id, "lease");
        step(&st[n++], EOTP_RS_UNLEASE, k_lease, 0, 0, im->lease);
        im->leased = false;
    }
    switch (req->outcome) {
    case EOTP_STORE_SENT:
        if (req->pending != NULL && d32[0] != '\0' &&
            word_ok(req->pending->id, EOTP_MSGID_MAX)) {
            const char *ch = req->pending->channel[0] != '\0'
                                 ? req->pending->channel
                                 : "-";
            char tbuf[24];
            char seal[33];

            (void)snprintf(tbuf, sizeof(tbuf), "%lld", req->pending->time);
            r = pend_seal(s, who->user_id, d32, req->pending->id, ch, tbuf,
                          seal);
            if (r != EOTP_OK) {
                return r;
            }
            (void)snprintf(data, sizeof(data), "%s %s %s %s", req->pending->id,
                           ch, tbuf, seal);
            step(&st[n], EOTP_RS_HPUT, k_pend, 0,
                 EOTP_PENDING_MAX_AGE * 1000LL, d32);
            st[n++].value2 = data;
        } else if (req->code != NULL && d32[0] != '\0') {
            const struct eotp_localcode *c = req->code;
            long long ttl = c->expires - (long long)time(NULL) + 60;

            (void)snprintf(data, sizeof(data), "%s %s %s %s %lld %lld",
                           word_ok(c->msgid, EOTP_MSGID_MAX) ? c->msgid : "-",
                           d32, c->mac,
                           word_ok(c->channel, EOTP_CHANNEL_MAX) ? c->channel
                                                                 : "-",
                           c->created, c->expires);
            step(&st[n], EOTP_RS_CPUT, k_code, 0,
                 (ttl > 0 ? ttl : 60) * 1000LL, c->id);
            st[n++].value2 = data;
        }
        break;
    case EOTP_STORE_MAYBE_SENT:
        break;
    case EOTP_STORE_NOT_SENT:
    case EOTP_STORE_RESEND:
        if (tok_member(&req->send_tok) != NULL) {
            step(&st[n++], EOTP_RS_ZREM, k_send, 0, 0,
                 tok_member(&req->send_tok));
        }
        if (tok_member(&req->rhost_tok) != NULL &&
            req->who->rhost_id[0] != '\0') {
            step(&st[n++], EOTP_RS_ZREM, k_rsend, 0, 0,
                 tok_member(&req->rhost_tok));
        }
        if (req->outcome == EOTP_STORE_RESEND && d32[0] != '\0') {
            step(&st[n], EOTP_RS_HGET, k_pend, 0, 0, d32);
            i_pend = (int)n++;
            step(&st[n], EOTP_RS_CFIND, k_code, 0, 0, d32);
            i_code = (int)n++;
        }
        break;
    }
    if (n == 0) {
        return EOTP_OK;
    }
    if (req->outcome != EOTP_STORE_RESEND && im->conn != NULL) {
        /* Nobody needs this result (store.h): its reply is read with the
         * next operation, saving a round trip while the user types. */
        r = eotp_rs_send(im->conn, st, n, im->why, sizeof(im->why));
        eotp_memzero(data, sizeof(data));
        return r;
    }
    r = run(s, st, n, &rr);
    eotp_memzero(data, sizeof(data));
    if (r == EOTP_OK && i_pend >= 0) {
        parse_pending(s, who->user_id, rr.val[i_pend], req->dest_key,
                      rr.server_ms / 1000, &res->have_pending, &res->pending);
        parse_code(rr.val[i_code], req->dest_key, &res->have_code, &res->code);
    }
    return r;
}

static int redis_attempt(struct eotp_store *s,
                         const struct eotp_store_who *who,
                         const struct eotp_store_limits *lim,
                         enum eotp_store_verdict *verdict, long *wait,
                         struct eotp_store_token *tok)
{
    char k_wrong[NAME_MAX_];
    char m[EOTP_RS_MEMBER_HEX];
    struct eotp_rs_step st;
    struct eotp_rs_result rr;
    int r;

    *verdict = EOTP_STORE_GO;
    *wait = 0;
    memset(tok, 0, sizeof(*tok));
    if (!eotp_rate_on(&lim->lockout)) {
        return EOTP_OK;
    }
    if (eotp_rs_member(m) != EOTP_OK) {
        return EOTP_E_INTERNAL;
    }
    kname(k_wrong, who->user_id, "wrong");
    step(&st, EOTP_RS_TAKE, k_wrong, lim->lockout.count,
         lim->lockout.seconds * 1000LL, m);
    r = run(s, &st, 1, &rr);
    if (r != EOTP_OK) {
        return r;
    }
    if (rr.limited) {
        *verdict = EOTP_STORE_LOCKED;
        *wait = secs_up(rr.wait_ms);
    } else {
        tok_set(tok, m);
    }
    return EOTP_OK;
}

/* The steps that record a grace binding (RIGHT answers). */
static int grace_step(struct eotp_store *s, const struct eotp_store_who *who,
                      const struct eotp_store_limits *lim, const char *mac,
                      char *key, char *data, struct eotp_rs_step *st)
{
    char gsuffix[48];
    char tbuf[24];
    char seal[33];
    int r;

    (void)snprintf(tbuf, sizeof(tbuf), "%lld", (long long)time(NULL));
    r = grace_seal(s, mac, tbuf, seal);
    if (r != EOTP_OK) {
        return r;
    }
    (void)snprintf(gsuffix, sizeof(gsuffix), "grace:%.32s", mac);
    kname(key, who->user_id, gsuffix);
    (void)snprintf(data, EOTP_RS_VALUE_MAX, "%s %s", tbuf, seal);
    step(st, EOTP_RS_SET, key, 0, lim->grace_period * 1000LL, data);
    return EOTP_OK;
}

static int redis_finish(struct eotp_store *s,
                        const struct eotp_store_finish_req *req, long *wait)
{
    struct rimpl *im = s->impl;
    const struct eotp_store_who *who = req->who;
    const struct eotp_store_limits *lim = req->lim;
    char k_wrong[NAME_MAX_], k_pend[NAME_MAX_], k_grace[NAME_MAX_];
    char gdata[EOTP_RS_VALUE_MAX];
    struct eotp_rs_step st[EOTP_RS_STEPS_MAX];
    struct eotp_rs_result rr;
    const char *member = tok_member(&req->tok);
    bool msgid_ok = req->msgid != NULL && word_ok(req->msgid, EOTP_MSGID_MAX);
    int i_add = -1;
    size_t n = 0;
    int r;

    *wait = 0;
    kname(k_wrong, who->user_id, "wrong");
    kname(k_pend, who->user_id, "pend");
    switch (req->answer) {
    case EOTP_STORE_ANSWER_RIGHT:
        step(&st[n++], EOTP_RS_DEL, k_wrong, 0, 0, NULL);
        if (msgid_ok) {
            step(&st[n++], EOTP_RS_HDELV, k_pend, 0, 0, req->msgid);
        }
        if (req->grace_mac != NULL && lim->grace_period > 0) {
            r = grace_step(s, who, lim, req->grace_mac, k_grace, gdata,
                           &st[n]);
            if (r != EOTP_OK) {
                return r;
            }
            n++;
        }
        break;
    case EOTP_STORE_ANSWER_WRONG:
        if (eotp_rate_on(&lim->lockout)) {
            char m[EOTP_RS_MEMBER_HEX];

            if (member == NULL) {
                if (eotp_rs_member(m) != EOTP_OK) {
                    return EOTP_E_INTERNAL;
                }
                member = m;
            }
            step(&st[n], EOTP_RS_ADD, k_wrong, lim->lockout.count,
                 lim->lockout.seconds * 1000LL, member);
            i_add = (int)n++;
            r = run(s, st, n, &rr);
            if (r == EOTP_OK) {
                *wait = secs_up(rr.num[i_add]);
            }
            return r;
        }
        break;
    case EOTP_STORE_ANSWER_UNJUDGED:
        if (member != NULL) {
            step(&st[n++], EOTP_RS_ZREM, k_wrong, 0, 0, member);
        }
        if (req->forget && msgid_ok) {
            step(&st[n++], EOTP_RS_HDELV, k_pend, 0, 0, req->msgid);
        }
        break;
    }
    if (n == 0) {
        return EOTP_OK;
    }
    if (req->answer == EOTP_STORE_ANSWER_RIGHT && im->conn != NULL) {
        /*
         * The login's last write: sent without waiting, and close does
         * not wait for it either (store.h, finish).  Its loss can only
         * leave the state stricter: the attempt stays counted as a wrong
         * code until its window ends, the code stays pending, no grace.
         */
        r = eotp_rs_post(im->conn, st, n, im->why, sizeof(im->why));
    } else {
        r = run(s, st, n, &rr);
    }
    eotp_memzero(gdata, sizeof(gdata));
    return r;
}

static int redis_check(struct eotp_store *s,
                       const struct eotp_store_check_req *req,
                       enum eotp_store_verdict *verdict, long *wait)
{
    const struct eotp_store_who *who = req->who;
    const struct eotp_store_limits *lim = req->lim;
    char k_wrong[NAME_MAX_], k_code[NAME_MAX_], k_grace[NAME_MAX_];
    char gdata[EOTP_RS_VALUE_MAX] = "";
    struct eotp_rs_step st[EOTP_RS_STEPS_MAX];
    struct eotp_rs_result rr;
    char sha[41];
    int i_lock = -1, i_cmp, i_rec, i_add = -1;
    size_t n = 0;
    int r;

    *verdict = EOTP_STORE_GONE;
    r = eotp_rs_sha1hex(req->mac, sha);
    if (r != EOTP_OK) {
        return r;
    }
    *wait = 0;
    kname(k_wrong, who->user_id, "wrong");
    kname(k_code, who->user_id, "code");
    if (eotp_rate_on(&lim->lockout)) {
        step(&st[n], EOTP_RS_CHECK, k_wrong, lim->lockout.count,
             lim->lockout.seconds * 1000LL, NULL);
        i_lock = (int)n++;
    }
    /* The stored record (its MAC checked here) and Redis's verdict. */
    step(&st[n], EOTP_RS_HGET, k_code, 0, 0, req->code_id);
    i_rec = (int)n++;
    step(&st[n], EOTP_RS_CCMP, k_code, 0, 0, req->code_id);
    st[n].value2 = sha;
    i_cmp = (int)n++;
    /* right: the code works once, the lockout streak ends, grace */
    step(&st[n], EOTP_RS_CDEL, k_code, 0, 0, req->code_id);
    st[n].if_step = i_cmp + 1;
    st[n++].if_value = "right";
    step(&st[n], EOTP_RS_DEL, k_wrong, 0, 0, NULL);
    st[n].if_step = i_cmp + 1;
    st[n++].if_value = "right";
    if (req->grace_mac != NULL && lim->grace_period > 0) {
        r = grace_step(s, who, lim, req->grace_mac, k_grace, gdata, &st[n]);
        if (r != EOTP_OK) {
            return r;
        }
        st[n].if_step = i_cmp + 1;
        st[n++].if_value = "right";
    }
    /* wrong: counted against the code and the lockout */
    step(&st[n], EOTP_RS_CWRONG, k_code, lim->max_attempts, 0, req->code_id);
    st[n].if_step = i_cmp + 1;
    st[n++].if_value = "wrong";
    if (eotp_rate_on(&lim->lockout)) {
        step(&st[n], EOTP_RS_ADD, k_wrong, lim->lockout.count,
             lim->lockout.seconds * 1000LL, NULL);
        st[n].if_step = i_cmp + 1;
        st[n].if_value = "wrong";
        i_add = (int)n++;
    }
    r = run(s, st, n, &rr);
    eotp_memzero(gdata, sizeof(gdata));
    if (r != EOTP_OK) {
        return r;
    }
    if (rr.limited && (int)rr.step == i_lock) {
        *verdict = EOTP_STORE_LOCKED;
        *wait = secs_up(rr.wait_ms);
    } else if (strcmp(rr.val[i_cmp], "right") == 0) {
        if (!stored_mac_is(rr.val[i_rec], req->mac)) {
            /* "right" without the right MAC: a broken or hostile server. */
            eotp_log(s->lg, LOG_ALERT,
                     "redis: the server called a code right that is not: "
                     "refused");
            return EOTP_E_BAD_RESPONSE;
        }
        *verdict = EOTP_STORE_RIGHT;
    } else if (strcmp(rr.val[i_cmp], "wrong") == 0) {
        *verdict = EOTP_STORE_WRONG;
        *wait = i_add >= 0 ? secs_up(rr.num[i_add]) : 0;
    } else {
        *verdict = EOTP_STORE_GONE;
    }
    return EOTP_OK;
}

/* ---- administration ----------------------------------------------------- */

static int zevents(const redisReply *rp, struct eotp_events *ev)
{
    if (rp->type != REDIS_REPLY_ARRAY || rp->elements % 2 != 0) {
        return EOTP_E_BAD_RESPONSE;
    }
    for (size_t i = 0; i + 1 < rp->elements && ev->n < EOTP_EVENTS_MAX;
         i += 2) {
        const redisReply *sc = rp->element[i + 1];
        long v = 0;
        char buf[32];

        if (sc->type != REDIS_REPLY_STRING || sc->len >= sizeof(buf)) {
            return EOTP_E_BAD_RESPONSE;
        }
        memcpy(buf, sc->str, sc->len);
        buf[sc->len] = '\0';
        if (eotp_parse_long(buf, 0, 0x7fffffffffffL, &v) != EOTP_OK) {
            return EOTP_E_BAD_RESPONSE;
        }
        ev->t[ev->n++] = v / 1000;
    }
    return EOTP_OK;
}

/* Keys matching pattern, by SCAN (administration only). */
static int scan_keys(struct eotp_redis *c, const char *pattern,
                     int (*each)(void *ctx, const char *key), void *ctx,
                     char *why, size_t whylen)
{
    char cursor[32] = "0";
    int rounds = 0;

    do {
        const char *argv[6] = {"SCAN",  cursor,  "MATCH",
                               pattern, "COUNT", "1000"};
        struct eotp_redis_cmd cmd = {6, argv, NULL};
        redisReply *rp = NULL;
        int r = eotp_redis_exec(c, &cmd, 1, &rp, why, whylen);

        if (r != EOTP_OK) {
            return r;
        }
        if (rp->type != REDIS_REPLY_ARRAY || rp->elements != 2 ||
            rp->element[0]->type != REDIS_REPLY_STRING ||
            rp->element[0]->len >= sizeof(cursor) ||
            rp->element[1]->type != REDIS_REPLY_ARRAY) {
            eotp_redis_reply_free(rp);
            return EOTP_E_BAD_RESPONSE;
        }
        memcpy(cursor, rp->element[0]->str, rp->element[0]->len + 1);
        for (size_t i = 0; i < rp->element[1]->elements; i++) {
            const redisReply *k = rp->element[1]->element[i];

            if (k->type == REDIS_REPLY_STRING && k->len < NAME_MAX_ &&
                strlen(k->str) == k->len) {
                r = each(ctx, k->str);
                if (r != EOTP_OK) {
                    eotp_redis_reply_free(rp);
                    return r;
                }
            }
        }
        eotp_redis_reply_free(rp);
    } while (strcmp(cursor, "0") != 0 && ++rounds < 100000);
    return EOTP_OK;
}

struct del_ctx {
    struct eotp_redis *c;
    char *why;
    size_t whylen;
    long deleted;
};

static int del_one(void *ctx, const char *key)
{
    struct del_ctx *d = ctx;
    const char *argv[2] = {"DEL", key};
    struct eotp_redis_cmd cmd = {2, argv, NULL};
    redisReply *rp = NULL;
    int r = eotp_redis_exec(d->c, &cmd, 1, &rp, d->why, d->whylen);

    if (r == EOTP_OK) {
        if (rp->type == REDIS_REPLY_INTEGER) {
            d->deleted += rp->integer > 0 ? 1 : 0;
        } else {
            r = EOTP_E_SERVER;
        }
    }
    eotp_redis_reply_free(rp);
    return r;
}

/* Grace bindings are only counted (their macs are not shown). */
static int count_one(void *ctx, const char *key)
{
    struct eotp_state *st = ctx;

    (void)key;
    if (st->ngrace < EOTP_GRACE_MAX) {
        st->ngrace++;
    }
    return EOTP_OK;
}

static int redis_show(struct eotp_store *s, const struct eotp_store_who *who,
                      enum eotp_store_kind kind, struct eotp_state *out,
                      bool *present)
{
    struct rimpl *im = s->impl;
    struct eotp_redis *c = NULL;
    char k1[NAME_MAX_], k2[NAME_MAX_], k3[NAME_MAX_], pat[NAME_MAX_];
    const char *a1[6] = {"ZRANGEBYSCORE", k1, "-inf", "+inf", "WITHSCORES"};
    const char *a2[6] = {"ZRANGEBYSCORE", k2, "-inf", "+inf", "WITHSCORES"};
    const char *a3[2] = {"HGETALL", k3};
    struct eotp_redis_cmd cmd[3] = {{5, a1, NULL},
                                    {5, a2, NULL},
                                    {2, a3, NULL}};
    redisReply *rp[3] = {NULL, NULL, NULL};
    size_t n = kind == EOTP_STORE_USER ? 3 : 1;
    int r = conn(s, &c);

    memset(out, 0, sizeof(*out));
    *present = false;
    if (r != EOTP_OK) {
        return r;
    }
    if (kind == EOTP_STORE_USER) {
        kname(k1, who->user_id, "send");
        kname(k2, who->user_id, "wrong");
        kname(k3, who->user_id, "pend");
    } else {
        kname(k1, who->rhost_id, "rsend");
    }
    r = eotp_redis_exec(c, cmd, n, rp, im->why, sizeof(im->why));
    if (r != EOTP_OK) {
        return r;
    }
    r = zevents(rp[0], &out->sends);
    if (r == EOTP_OK && n == 3) {
        r = zevents(rp[1], &out->wrong);
    }
    if (r == EOTP_OK && n == 3) {
        long long now = (long long)time(NULL);

        if (rp[2]->type != REDIS_REPLY_ARRAY) {
            r = EOTP_E_BAD_RESPONSE;
        }
        for (size_t i = 0; r == EOTP_OK && i + 1 < rp[2]->elements &&
                           out->npending < EOTP_PENDING_MAX;
             i += 2) {
            const redisReply *f = rp[2]->element[i];
            const redisReply *v = rp[2]->element[i + 1];
            bool have = false;

            if (f->type != REDIS_REPLY_STRING ||
                v->type != REDIS_REPLY_STRING || v->len >= EOTP_RS_VALUE_MAX) {
                r = EOTP_E_BAD_RESPONSE;
                break;
            }
            parse_pending(s, who->user_id, v->str, f->str, now, &have,
                          &out->pending[out->npending]);
            out->npending += have ? 1 : 0;
        }
    }
    for (size_t i = 0; i < n; i++) {
        eotp_redis_reply_free(rp[i]);
    }
    if (r == EOTP_OK && n == 3) {
        char g[48];

        (void)snprintf(g, sizeof(g), "grace:*");
        kname(pat, who->user_id, g);
        r = scan_keys(c, pat, count_one, out, im->why, sizeof(im->why));
    }
    if (r == EOTP_OK) {
        *present = !eotp_state_is_empty(out);
    }
    return r;
}

static int redis_reset(struct eotp_store *s, const struct eotp_store_who *who,
                       enum eotp_store_kind kind, bool *existed)
{
    struct rimpl *im = s->impl;
    struct eotp_redis *c = NULL;
    struct del_ctx d;
    char pat[NAME_MAX_];
    int r = conn(s, &c);

    *existed = false;
    if (r != EOTP_OK) {
        return r;
    }
    d.c = c;
    d.why = im->why;
    d.whylen = sizeof(im->why);
    d.deleted = 0;
    if (kind == EOTP_STORE_USER) {
        kname(pat, who->user_id, "*");
        r = scan_keys(c, pat, del_one, &d, im->why, sizeof(im->why));
    } else {
        kname(pat, who->rhost_id, "rsend");
        r = del_one(&d, pat);
    }
    *existed = d.deleted > 0;
    return r;
}

/* ---- generic records ---------------------------------------------------- */

/*
 * A record's key: a keyed hash of namespace and id under the fleet key,
 * so that ids stay private and fleets with different keys sharing one
 * Redis never see each other's records.
 */
static int rname(struct eotp_store *s, char *out, const char *ns,
                 const char *id)
{
    const unsigned char *key = NULL;
    const char *parts[2] = {ns, id};
    int r = eotp_store_key(s, &key);

    if (r == EOTP_OK) {
        r = eotp_rs_key(key, "rec", parts, 2, out);
    }
    return r;
}

/* Values are stored as "v:" and the value, so that "" is a value too. */
static int redis_rec_put(struct eotp_store *s, const char *ns, const char *id,
                         const char *value, long ttl)
{
    char k[NAME_MAX_];
    char v[EOTP_RS_VALUE_MAX];
    struct eotp_rs_step st;
    struct eotp_rs_result rr;
    int r = rname(s, k, ns, id);

    if (r != EOTP_OK) {
        return r;
    }
    (void)snprintf(v, sizeof(v), "v:%s", value);
    step(&st, EOTP_RS_SET, k, 0, ttl * 1000LL, v);
    return run(s, &st, 1, &rr);
}

/* "w:ORDER:" and the value: one script step compares and writes. */
static int redis_rec_put_newer(struct eotp_store *s, const char *ns,
                               const char *id, const char *value,
                               long long order, long ttl, bool *kept)
{
    char k[NAME_MAX_];
    char v[EOTP_RS_VALUE_MAX];
    char o[24];
    struct eotp_rs_step st;
    struct eotp_rs_result rr;
    int r = rname(s, k, ns, id);

    *kept = false;
    if (r != EOTP_OK) {
        return r;
    }
    (void)snprintf(o, sizeof(o), "%lld", order);
    (void)snprintf(v, sizeof(v), "w:%s:%s", o, value);
    step(&st, EOTP_RS_NEWER, k, 0, ttl * 1000LL, v);
    st.value2 = o;
    r = run(s, &st, 1, &rr);
    *kept = r == EOTP_OK && rr.num[0] == 1;
    return r;
}

/* A stored value: "v:" (rec_put) or "w:ORDER:" (rec_put_newer), then the
 * value; NULL for anything else. */
static const char *stored_value(const char *raw)
{
    const char *p = raw + 2;

    if (strncmp(raw, "v:", 2) == 0) {
        return p;
    }
    if (strncmp(raw, "w:", 2) != 0) {
        return NULL;
    }
    while (*p >= '0' && *p <= '9') {
        p++;
    }
    return p > raw + 2 && *p == ':' ? p + 1 : NULL;
}

static int redis_rec_get(struct eotp_store *s, const char *ns, const char *id,
                         char value[EOTP_STORE_VALUE_MAX], bool *found)
{
    char k[NAME_MAX_];
    struct eotp_rs_step st;
    struct eotp_rs_result rr;
    int r;

    value[0] = '\0';
    *found = false;
    r = rname(s, k, ns, id);
    if (r != EOTP_OK) {
        return r;
    }
    step(&st, EOTP_RS_GET, k, 0, 0, NULL);
    r = run(s, &st, 1, &rr);
    if (r == EOTP_OK) {
        const char *v = stored_value(rr.val[0]);

        if (v != NULL && strlen(v) < EOTP_STORE_VALUE_MAX) {
            (void)snprintf(value, EOTP_STORE_VALUE_MAX, "%s", v);
            *found = true;
        }
    }
    return r;
}

static int redis_add_once(struct eotp_store *s, const char *ns, const char *id,
                          long ttl, bool *added)
{
    char k[NAME_MAX_];
    struct eotp_rs_step st;
    struct eotp_rs_result rr;
    int r;

    *added = false;
    r = rname(s, k, ns, id);
    if (r != EOTP_OK) {
        return r;
    }
    step(&st, EOTP_RS_ONCE, k, 0, ttl * 1000LL, NULL);
    r = run(s, &st, 1, &rr);
    if (r == EOTP_OK) {
        *added = rr.num[0] == 1;
    }
    return r;
}

static int redis_rate_take(struct eotp_store *s, const char *ns,
                           const char *id, const struct eotp_rate *rate,
                           long *wait)
{
    char k[NAME_MAX_];
    struct eotp_rs_step st;
    struct eotp_rs_result rr;
    int r;

    *wait = 0;
    if (!eotp_rate_on(rate)) {
        return EOTP_OK;
    }
    r = rname(s, k, ns, id);
    if (r != EOTP_OK) {
        return r;
    }
    step(&st, EOTP_RS_TAKE, k, rate->count, rate->seconds * 1000LL, NULL);
    r = run(s, &st, 1, &rr);
    if (r == EOTP_OK && rr.limited) {
        *wait = secs_up(rr.wait_ms);
    }
    return r;
}

/* ---- the ops table: Redis, or the file store after a failure ----------- */

static int op_key(struct eotp_store *s, unsigned char key[EOTP_STORE_KEY_LEN])
{
    char why[200] = "";
    int r = eotp_rs_fleet_key(s->cfg, key, why, sizeof(why));

    if (r != EOTP_OK) {
        eotp_log(s->lg, LOG_ERR, "redis: no fleet key reason=\"%s\"", why);
    }
    return r;
}

#define FILE_OF(s) (((struct rimpl *)(s)->impl)->file)
#define FAILED(s) (((struct rimpl *)(s)->impl)->failed)

static int op_begin(struct eotp_store *s,
                    const struct eotp_store_begin_req *req,
                    struct eotp_store_begin_res *res)
{
    int r;

    if (!FAILED(s)) {
        struct rimpl *im = s->impl;

        if (im->lease[0] == '\0' && eotp_rs_member(im->lease) != EOTP_OK) {
            return EOTP_E_INTERNAL;
        }
        /* Another login of this user is between begin and sent: wait
         * (sleeping is not Redis time), at most one lease's life. */
        r = begin_waiting(s, req, res);
        if (r == EOTP_OK || (r = fall_back(s, r)) != EOTP_OK) {
            return r;
        }
        memset(res, 0, sizeof(*res));
    }
    return eotp_store_begin(FILE_OF(s), req, res);
}

static int op_sent(struct eotp_store *s, const struct eotp_store_sent_req *req,
                   struct eotp_store_sent_res *res)
{
    int r;

    if (!FAILED(s)) {
        r = redis_sent(s, req, res);
        if (r == EOTP_OK || (r = fall_back(s, r)) != EOTP_OK) {
            return r;
        }
        memset(res, 0, sizeof(*res));
    }
    return eotp_store_sent(FILE_OF(s), req, res);
}

static int op_attempt(struct eotp_store *s, const struct eotp_store_who *who,
                      const struct eotp_store_limits *lim,
                      enum eotp_store_verdict *verdict, long *wait,
                      struct eotp_store_token *tok)
{
    int r;

    if (!FAILED(s)) {
        r = redis_attempt(s, who, lim, verdict, wait, tok);
        if (r == EOTP_OK || (r = fall_back(s, r)) != EOTP_OK) {
            return r;
        }
    }
    return eotp_store_attempt(FILE_OF(s), who, lim, verdict, wait, tok);
}

static int op_finish(struct eotp_store *s,
                     const struct eotp_store_finish_req *req, long *wait)
{
    int r;

    if (!FAILED(s)) {
        r = redis_finish(s, req, wait);
        if (r == EOTP_OK || (r = fall_back(s, r)) != EOTP_OK) {
            return r;
        }
    }
    return eotp_store_finish(FILE_OF(s), req, wait);
}

static int op_check(struct eotp_store *s,
                    const struct eotp_store_check_req *req,
                    enum eotp_store_verdict *verdict, long *wait)
{
    int r;

    if (!FAILED(s)) {
        r = redis_check(s, req, verdict, wait);
        if (r == EOTP_OK || (r = fall_back(s, r)) != EOTP_OK) {
            return r;
        }
    }
    return eotp_store_check(FILE_OF(s), req, verdict, wait);
}

/* The admin tool works on Redis or not at all: never silently on the
 * host's files when the fleet state was asked for. */
static int admin_err(struct eotp_store *s, int r)
{
    struct rimpl *im = s->impl;

    if (r != EOTP_OK) {
        eotp_log(s->lg, LOG_ERR, "redis: cannot be used reason=\"%s\"",
                 im->why);
    }
    return r;
}

static int op_show(struct eotp_store *s, const struct eotp_store_who *who,
                   enum eotp_store_kind kind, struct eotp_state *out,
                   bool *present)
{
    return admin_err(s, redis_show(s, who, kind, out, present));
}

static int op_reset(struct eotp_store *s, const struct eotp_store_who *who,
                    enum eotp_store_kind kind, bool *existed)
{
    return admin_err(s, redis_reset(s, who, kind, existed));
}

static int op_rec_put(struct eotp_store *s, const char *ns, const char *id,
                      const char *value, long ttl)
{
    int r;

    if (!FAILED(s)) {
        r = redis_rec_put(s, ns, id, value, ttl);
        if (r == EOTP_OK || (r = fall_back(s, r)) != EOTP_OK) {
            return r;
        }
    }
    return eotp_store_rec_put(FILE_OF(s), ns, id, value, ttl);
}

static int op_rec_put_newer(struct eotp_store *s, const char *ns,
                            const char *id, const char *value, long long order,
                            long ttl, bool *kept)
{
    int r;

    if (!FAILED(s)) {
        r = redis_rec_put_newer(s, ns, id, value, order, ttl, kept);
        if (r == EOTP_OK || (r = fall_back(s, r)) != EOTP_OK) {
            return r;
        }
    }
    return eotp_store_rec_put_newer(FILE_OF(s), ns, id, value, order, ttl,
                                    kept);
}

static int op_rec_get(struct eotp_store *s, const char *ns, const char *id,
                      char value[EOTP_STORE_VALUE_MAX], bool *found)
{
    int r;

    if (!FAILED(s)) {
        r = redis_rec_get(s, ns, id, value, found);
        if (r == EOTP_OK || (r = fall_back(s, r)) != EOTP_OK) {
            return r;
        }
    }
    return eotp_store_rec_get(FILE_OF(s), ns, id, value, found);
}

/* A bounded read that never falls back (store.h). */
static int op_rec_peek(struct eotp_store *s, const char *ns, const char *id,
                       long max_ms, char value[EOTP_STORE_VALUE_MAX],
                       bool *found)
{
    struct rimpl *im = s->impl;
    int r;

    if (FAILED(s)) {
        return eotp_store_rec_get(FILE_OF(s), ns, id, value, found);
    }
    if (im->conn == NULL || im->peek_off) {
        return EOTP_E_TRANSPORT;
    }
    eotp_redis_set_call_cap(im->conn, max_ms);
    r = redis_rec_get(s, ns, id, value, found);
    if (r == EOTP_OK) {
        eotp_redis_set_call_cap(im->conn, 0);
        return r;
    }
    /* Unusable now (a reply may still be on its way): the next operation
     * opens a new connection, as at the start of a login.  A Redis too
     * slow for max_ms stays so: no more bounded reads in this login, so
     * it costs at most one new connection. */
    eotp_debug(s->lg, "redis: bounded read failed reason=\"%s\" error=%s",
               im->why, eotp_err_reason(r));
    eotp_redis_close(im->conn);
    im->conn = NULL;
    im->peek_off = true;
    return r;
}

static int op_add_once(struct eotp_store *s, const char *ns, const char *id,
                       long ttl, bool *added)
{
    int r;

    if (!FAILED(s)) {
        r = redis_add_once(s, ns, id, ttl, added);
        if (r == EOTP_OK || (r = fall_back(s, r)) != EOTP_OK) {
            return r;
        }
    }
    return eotp_store_add_once(FILE_OF(s), ns, id, ttl, added);
}

static int op_rate_take(struct eotp_store *s, const char *ns, const char *id,
                        const struct eotp_rate *rate, long *wait)
{
    int r;

    if (!FAILED(s)) {
        r = redis_rate_take(s, ns, id, rate, wait);
        if (r == EOTP_OK || (r = fall_back(s, r)) != EOTP_OK) {
            return r;
        }
    }
    return eotp_store_rate_take(FILE_OF(s), ns, id, rate, wait);
}

static void op_sweep(struct eotp_store *s)
{
    /* TTLs do it on Redis; the host's files after a fallback. */
    if (FAILED(s)) {
        eotp_store_sweep(FILE_OF(s));
    }
}

/* The next unit of work of a long-lived store (eotp_store_renew): a new
 * budget, and Redis again after a fallback. */
static void op_renew(struct eotp_store *s)
{
    struct rimpl *im = s->impl;

    if (im->failed) {
        eotp_store_close(im->file);
        im->file = NULL;
        im->failed = false;
    }
    eotp_redis_budget_reset(im->conn, s->cfg->redis_timeout);
}

static bool op_degraded(const struct eotp_store *s)
{
    const struct rimpl *im = s->impl;

    return im != NULL && im->failed;
}

static void op_close(struct eotp_store *s)
{
    struct rimpl *im = s->impl;

    if (im == NULL) {
        return;
    }
    if (im->conn != NULL) {
        eotp_debug(s->lg, "redis: done round_trips=%u budget_left_ms=%ld",
                   eotp_redis_round_trips(im->conn),
                   eotp_redis_budget_left(im->conn));
    }
    eotp_redis_close(im->conn);
    eotp_store_close(im->file);
    eotp_memzero(im, sizeof(*im));
    free(im);
    s->impl = NULL;
}

static const struct eotp_store_ops redis_ops = {
    .name = "redis",
    .flags = EOTP_STORE_F_HASHED_IDS,
    .key = op_key,
    .begin = op_begin,
    .sent = op_sent,
    .attempt = op_attempt,
    .finish = op_finish,
    .check = op_check,
    .show = op_show,
    .reset = op_reset,
    .sweep = op_sweep,
    .rec_put = op_rec_put,
    .rec_put_newer = op_rec_put_newer,
    .rec_get = op_rec_get,
    .rec_peek = op_rec_peek,
    .add_once = op_add_once,
    .rate_take = op_rate_take,
    .renew = op_renew,
    .degraded = op_degraded,
    .close = op_close,
};

int eotp_store_redis_open(const struct eotp_cfg *cfg,
                          const struct eotp_logger *lg,
                          struct eotp_store **out)
{
    struct rimpl *im = calloc(1, sizeof(*im));
    int r;

    *out = NULL;
    if (im == NULL) {
        return EOTP_E_NOMEM;
    }
    r = eotp_store_new(&redis_ops, im, cfg, lg, out);
    if (r != EOTP_OK) {
        free(im);
    }
    return r;
}

#endif /* EOTP_HAVE_STORE_H */
