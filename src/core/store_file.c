/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_file.c - the state_dir backend of store.h: the records of state.c
 * (one per user, one per remote address), each operation one
 * read-modify-write under the record's flock.  Lock order: the user's
 * record, then the address's (never the other way round).
 *
 * Tokens are the reserved event's time in decimal: giving one back
 * removes one event at that time (any of several at the same second: they
 * are the same).
 */
#include "store.h"

#include "err.h"
#include "grace.h"
#include "limits.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rec {
    struct eotp_state_handle h;
    struct eotp_state *st;
    bool locked;
};

struct file_store {
    const char *dir;
    /* The user's record, locked from a begin that reserved a send to the
     * matching sent, so that sends of one user are serialised as they
     * always were: a login's send sees the pending code the one before
     * it recorded (3004 reuse), and a reuse costs no send. */
    struct rec held;
    bool holding;
};

static const char *dir_of(const struct eotp_store *s)
{
    return ((const struct file_store *)s->impl)->dir;
}

/* ---- helpers ------------------------------------------------------------ */

static long need_of(const struct eotp_rate *rate)
{
    return eotp_rate_on(rate) ? rate->seconds : 0;
}

static void user_need(const struct eotp_store_limits *lim,
                      struct eotp_state_need *n)
{
    n->send = need_of(&lim->send);
    n->wrong = need_of(&lim->lockout);
    n->grace = lim->grace_period > 0 ? lim->grace_period : 0;
}

static void release_held(struct eotp_store *s);

/* Lock and load a record, pruned with need (own windows kept). */
static int rec_open(struct eotp_store *s, const struct eotp_store_who *who,
                    enum eotp_store_kind kind,
                    const struct eotp_state_need *need, long long now,
                    struct rec *rc)
{
    int r;

    memset(rc, 0, sizeof(*rc));
    if (kind == EOTP_STORE_USER) {
        release_held(s); /* never two locks on one record here */
    }
    rc->st = calloc(1, sizeof(*rc->st));
    if (rc->st == NULL) {
        return EOTP_E_NOMEM;
    }
    if (kind == EOTP_STORE_USER) {
        r = eotp_state_lock(dir_of(s), who->user, s->lg, &rc->h);
    } else {
        r = eotp_state_lock_rhost_hash(dir_of(s), who->rhost_id, s->lg,
                                       &rc->h);
    }
    if (r != EOTP_OK) {
        eotp_freezero(rc->st, sizeof(*rc->st));
        rc->st = NULL;
        return r;
    }
    rc->locked = true;
    r = eotp_state_load(&rc->h, rc->st);
    if (r != EOTP_OK) {
        eotp_state_unlock(&rc->h);
        eotp_freezero(rc->st, sizeof(*rc->st));
        rc->st = NULL;
        rc->locked = false;
        return r;
    }
    if (kind == EOTP_STORE_RHOST) {
        /* An address record holds sends only. */
        rc->st->wrong.n = 0;
        rc->st->npending = 0;
        rc->st->ncodes = 0;
        rc->st->ngrace = 0;
    }
    eotp_state_prune(rc->st, need, now);
    return EOTP_OK;
}

/* Save (when save) and unlock; a failed save turns success into its
 * error. */
static int rec_close(struct rec *rc, bool save, int r)
{
    if (rc->locked) {
        if (save) {
            int sr = eotp_state_save(&rc->h, rc->st);

            if (r == EOTP_OK) {
                r = sr;
            }
        }
        eotp_state_unlock(&rc->h);
        rc->locked = false;
    }
    if (rc->st != NULL) {
        eotp_freezero(rc->st, sizeof(*rc->st));
        rc->st = NULL;
    }
    return r;
}

static void token_put(struct eotp_store_token *tok, long long t)
{
    (void)snprintf(tok->v, sizeof(tok->v), "%lld", t);
}

/* The time in a token, or -1 for none or an unreadable one. */
static long long token_time(const struct eotp_store_token *tok)
{
    long v = 0;

    if (tok->v[0] == '\0' ||
        eotp_parse_long(tok->v, 0, 1L << 40, &v) != EOTP_OK) {
        return -1;
    }
    return v;
}

static bool token_give_back(struct eotp_events *ev,
                            const struct eotp_store_token *tok)
{
    long long t = token_time(tok);

    return t >= 0 && eotp_events_remove(ev, t);
}

static bool events_has(const struct eotp_events *ev, long long t)
{
    for (size_t i = 0; i < ev->n; i++) {
        if (ev->t[i] == t) {
            return true;
        }
    }
    return false;
}

/* The codes recorded for key (see eotp_store_begin_res). */
static void lookup(struct eotp_state *st, const char *key, long long now,
                   bool *have_pending, struct eotp_pending *pending,
                   bool *have_code, struct eotp_localcode *code)
{
    const struct eotp_pending *p;
    const struct eotp_localcode *c;

    *have_pending = false;
    *have_code = false;
    if (key == NULL) {
        return;
    }
    p = eotp_state_find_pending(st, key);
    if (p != NULL && now - p->time >= 0 &&
        now - p->time < EOTP_PENDING_MAX_AGE) {
        *pending = *p;
        *have_pending = true;
    }
    c = eotp_state_latest_code(st, key, now);
    if (c != NULL) {
        *code = *c;
        eotp_memzero(code->mac, sizeof(code->mac));
        *have_code = true;
    }
}

/* Give back (or, with NULL tok, nothing) the address's reservation. */
static void rhost_give_back(struct eotp_store *s,
                            const struct eotp_store_who *who,
                            const struct eotp_store_limits *lim,
                            const struct eotp_store_token *tok, long long now)
{
    struct eotp_state_need need = {need_of(&lim->rhost), 0, 0};
    struct rec rc;

    if (who->rhost_id[0] == '\0' || token_time(tok) < 0) {
        return;
    }
    if (rec_open(s, who, EOTP_STORE_RHOST, &need, now, &rc) != EOTP_OK) {
        return; /* the reservation stays: stricter, never looser */
    }
    (void)token_give_back(&rc.st->sends, tok);
    (void)rec_close(&rc, true, EOTP_OK);
}

/* A begin not followed by its sent (an error path): unlock unsaved. */
static void release_held(struct eotp_store *s)
{
    struct file_store *fs = s->impl;

    if (fs != NULL && fs->holding) {
        fs->holding = false;
        (void)rec_close(&fs->held, false, EOTP_OK);
    }
}

/* ---- operations --------------------------------------------------------- */

static int file_key(struct eotp_store *s,
                    unsigned char key[EOTP_STORE_KEY_LEN])
{
    return eotp_state_hostkey(dir_of(s), s->lg, key);
}

/* Check and reserve in the address's record (locked inside the user's). */
static int rhost_reserve(struct eotp_store *s,
                         const struct eotp_store_who *who,
                         const struct eotp_store_limits *lim, long long now,
                         struct eotp_store_begin_res *res)
{
    struct eotp_state_need need = {need_of(&lim->rhost), 0, 0};
    struct rec rc;
    int r = rec_open(s, who, EOTP_STORE_RHOST, &need, now, &rc);

    if (r != EOTP_OK) {
        return r;
    }
    res->wait = eotp_rate_wait(&rc.st->sends, &lim->rhost, now);
    if (res->wait > 0) {
        res->verdict = EOTP_STORE_RHOST_LIMIT;
        return rec_close(&rc, false, EOTP_OK);
    }
    if (eotp_rate_on(&lim->rhost)) {
        eotp_events_add(&rc.st->sends, now);
        token_put(&res->rhost_tok, now);
    }
    return rec_close(&rc, true, EOTP_OK);
}

static int file_begin(struct eotp_store *s,
                      const struct eotp_store_begin_req *req,
                      struct eotp_store_begin_res *res)
{
    const struct eotp_store_limits *lim = req->lim;
    long long now = (long long)time(NULL);
    struct eotp_state_need need;
    struct rec rc;
    const bool save = false;
    int r;

    user_need(lim, &need);
    r = rec_open(s, req->who, EOTP_STORE_USER, &need, now, &rc);
    if (r != EOTP_OK) {
        return r;
    }
    lookup(rc.st, req->dest_key, now, &res->have_pending, &res->pending,
           &res->have_code, &res->code);
    res->verdict = EOTP_STORE_GO;
    res->wait = eotp_rate_wait(&rc.st->wrong, &lim->lockout, now);
    if (res->wait > 0) {
        res->verdict = EOTP_STORE_LOCKED;
        goto out;
    }
    if (req->grace_mac != NULL && lim->grace_period > 0 &&
        eotp_grace_find(rc.st, req->grace_mac, lim->grace_period, now,
                        &res->grace_since)) {
        res->verdict = EOTP_STORE_GRACE;
        goto out;
    }
    if (!req->send) {
        goto out;
    }
    res->wait = eotp_rate_wait(&rc.st->sends, &lim->send, now);
    if (res->wait > 0) {
        res->verdict = EOTP_STORE_SEND_LIMIT;
        goto out;
    }
    if (req->who->rhost_id[0] != '\0') {
        r = rhost_reserve(s, req->who, lim, now, res);
        if (r != EOTP_OK || res->verdict != EOTP_STORE_GO) {
            goto out;
        }
    }
    if (eotp_rate_on(&lim->send)) {
        eotp_events_add(&rc.st->sends, now);
        token_put(&res->send_tok, now);
    }
    if (r == EOTP_OK) {
        /* Held until sent (the reservation is saved there). */
        struct file_store *fs = s->impl;

        fs->held = rc;
        fs->holding = true;
        return EOTP_OK;
    }
out:
    r = rec_close(&rc, save, r);
    if (r != EOTP_OK && res->rhost_tok.v[0] != '\0') {
        rhost_give_back(s, req->who, lim, &res->rhost_tok, now);
    }
    if (r != EOTP_OK) {
        memset(&res->send_tok, 0, sizeof(res->send_tok));
        memset(&res->rhost_tok, 0, sizeof(res->rhost_tok));
    }
    return r;
}

static int file_sent(struct eotp_store *s,
                     const struct eotp_store_sent_req *req,
                     struct eotp_store_sent_res *res)
{
    struct file_store *fs = s->impl;
    long long now = (long long)time(NULL);
    struct eotp_state_need need;
    struct rec rc;
    int r;

    user_need(req->lim, &need);
    if (fs->holding) {
        rc = fs->held;
        fs->holding = false;
        memset(&fs->held, 0, sizeof(fs->held));
    } else {
        r = rec_open(s, req->who, EOTP_STORE_USER, &need, now, &rc);
        if (r != EOTP_OK) {
            return r;
        }
    }
    switch (req->outcome) {
    case EOTP_STORE_SENT:
        if (req->pending != NULL) {
            eotp_state_put_pending(rc.st, req->pending);
        }
        if (req->code != NULL) {
            eotp_state_put_code(rc.st, req->code);
        }
        break;
    case EOTP_STORE_MAYBE_SENT:
        break;
    case EOTP_STORE_NOT_SENT:
    case EOTP_STORE_RESEND:
    default:
        (void)token_give_back(&rc.st->sends, &req->send_tok);
        if (req->outcome == EOTP_STORE_RESEND) {
            lookup(rc.st, req->dest_key, now, &res->have_pending,
                   &res->pending, &res->have_code, &res->code);
        }
        /* Still under the user's lock: the lock order holds. */
        rhost_give_back(s, req->who, req->lim, &req->rhost_tok, now);
        break;
    }
    return rec_close(&rc, true, EOTP_OK);
}

static int file_attempt(struct eotp_store *s, const struct eotp_store_who *who,
                        const struct eotp_store_limits *lim,
                        enum eotp_store_verdict *verdict, long *wait,
                        struct eotp_store_token *tok)
{
    long long now = (long long)time(NULL);
    struct eotp_state_need need;
    struct rec rc;
    int r;

    user_need(lim, &need);
    r = rec_open(s, who, EOTP_STORE_USER, &need, now, &rc);
    if (r != EOTP_OK) {
        return r;
    }
    *wait = eotp_rate_wait(&rc.st->wrong, &lim->lockout, now);
    if (*wait > 0) {
        *verdict = EOTP_STORE_LOCKED;
        return rec_close(&rc, false, EOTP_OK);
    }
    *verdict = EOTP_STORE_GO;
    if (!eotp_rate_on(&lim->lockout)) {
        return rec_close(&rc, false, EOTP_OK);
    }
    eotp_events_add(&rc.st->wrong, now);
    token_put(tok, now);
    r = rec_close(&rc, true, EOTP_OK);
    if (r != EOTP_OK) {
        memset(tok, 0, sizeof(*tok));
    }
    return r;
}

/* A right code, in the locked record. */
static void right_locked(struct eotp_state *st,
                         const struct eotp_store_limits *lim,
                         const char *grace_mac, long long now)
{
    st->wrong.n = 0; /* a right code ends the streak of wrong ones */
    if (grace_mac != NULL && lim->grace_period > 0) {
        eotp_grace_put(st, grace_mac, now);
    }
}

/* A wrong code, in the locked record: the reservation (or a new event)
 * is the wrong code; the save is fsync'ed. */
static long wrong_locked(struct rec *rc, const struct eotp_store_limits *lim,
                         const struct eotp_store_token *tok, long long now)
{
    long long t = token_time(tok);

    rc->h.sync = true;
    if (!eotp_rate_on(&lim->lockout)) {
        return 0;
    }
    if (t < 0 || !events_has(&rc->st->wrong, t)) {
        eotp_events_add(&rc->st->wrong, now);
    }
    return eotp_rate_wait(&rc->st->wrong, &lim->lockout, now);
}

static int file_finish(struct eotp_store *s,
                       const struct eotp_store_finish_req *req, long *wait)
{
    long long now = (long long)time(NULL);
    struct eotp_state_need need;
    struct rec rc;
    int r;

    user_need(req->lim, &need);
    r = rec_open(s, req->who, EOTP_STORE_USER, &need, now, &rc);
    if (r != EOTP_OK) {
        return r;
    }
    switch (req->answer) {
    case EOTP_STORE_ANSWER_RIGHT:
        (void)token_give_back(&rc.st->wrong, &req->tok);
        if (req->msgid != NULL) {
            eotp_state_del_pending(rc.st, req->msgid);
        }
        right_locked(rc.st, req->lim, req->grace_mac, now);
        break;
    case EOTP_STORE_ANSWER_WRONG:
        *wait = wrong_locked(&rc, req->lim, &req->tok, now);
        break;
    case EOTP_STORE_ANSWER_UNJUDGED:
    default:
        (void)token_give_back(&rc.st->wrong, &req->tok);
        if (req->forget && req->msgid != NULL) {
            eotp_state_del_pending(rc.st, req->msgid);
        }
        break;
    }
    r = rec_close(&rc, true, EOTP_OK);
    if (r != EOTP_OK) {
        *wait = 0;
    }
    return r;
}

static int file_check(struct eotp_store *s,
                      const struct eotp_store_check_req *req,
                      enum eotp_store_verdict *verdict, long *wait)
{
    long long now = (long long)time(NULL);
    struct eotp_state_need need;
    struct eotp_localcode *c;
    struct rec rc;
    int r;

    user_need(req->lim, &need);
    r = rec_open(s, req->who, EOTP_STORE_USER, &need, now, &rc);
    if (r != EOTP_OK) {
        return r;
    }
    *wait = eotp_rate_wait(&rc.st->wrong, &req->lim->lockout, now);
    if (*wait > 0) {
        *verdict = EOTP_STORE_LOCKED;
        return rec_close(&rc, false, EOTP_OK);
    }
    c = eotp_state_find_code(rc.st, req->code_id);
    if (c == NULL || strlen(req->mac) != 64) {
        *verdict = EOTP_STORE_GONE; /* expired (pruned), used, replaced */
        return rec_close(&rc, true, EOTP_OK);
    }
    if (eotp_consttime_memeq(req->mac, c->mac, 64)) {
        eotp_state_del_code(rc.st, req->code_id);
        right_locked(rc.st, req->lim, req->grace_mac, now);
        *verdict = EOTP_STORE_RIGHT;
    } else {
        static const struct eotp_store_token none = {{0}};

        c->wrong++;
        if (c->wrong >= req->lim->max_attempts) {
            eotp_state_del_code(rc.st, req->code_id);
        }
        *wait = wrong_locked(&rc, req->lim, &none, now);
        *verdict = EOTP_STORE_WRONG;
    }
    r = rec_close(&rc, true, EOTP_OK);
    if (r != EOTP_OK) {
        *verdict = EOTP_STORE_GONE;
        *wait = 0;
    }
    return r;
}

static int file_show(struct eotp_store *s, const struct eotp_store_who *who,
                     enum eotp_store_kind kind, struct eotp_state *out,
                     bool *present)
{
    static const struct eotp_state_need none = {0, 0, 0};
    struct rec rc;
    int r = rec_open(s, who, kind, &none, (long long)time(NULL), &rc);

    if (r != EOTP_OK) {
        return r;
    }
    *out = *rc.st;
    for (size_t i = 0; i < out->ncodes; i++) {
        eotp_memzero(out->codes[i].mac, sizeof(out->codes[i].mac));
    }
    *present = !eotp_state_is_empty(out);
    return rec_close(&rc, false, EOTP_OK);
}

static int file_reset(struct eotp_store *s, const struct eotp_store_who *who,
                      enum eotp_store_kind kind, bool *existed)
{
    static const struct eotp_state_need none = {0, 0, 0};
    struct rec rc;
    int r = rec_open(s, who, kind, &none, (long long)time(NULL), &rc);

    if (r != EOTP_OK) {
        return r;
    }
    *existed = !eotp_state_is_empty(rc.st);
    r = eotp_state_remove(&rc.h);
    return rec_close(&rc, false, r);
}

/* ---- generic records ---------------------------------------------------- */

static int gen_open(struct eotp_store *s, const char *ns, const char *id,
                    long need_send, long long now, struct rec *rc)
{
    struct eotp_state_need need = {need_send, 0, 0};
    int r;

    memset(rc, 0, sizeof(*rc));
    rc->st = calloc(1, sizeof(*rc->st));
    if (rc->st == NULL) {
        return EOTP_E_NOMEM;
    }
    r = eotp_state_lock_generic(dir_of(s), ns, id, s->lg, &rc->h);
    if (r == EOTP_OK) {
        rc->locked = true;
        r = eotp_state_load(&rc->h, rc->st);
    }
    if (r != EOTP_OK) {
        return rec_close(rc, false, r);
    }
    eotp_state_prune(rc->st, &need, now);
    return EOTP_OK;
}

static void set_value(struct eotp_state *st, const char *value, long ttl,
                      long long now)
{
    st->has_value = true;
    st->value_expires = now + ttl;
    st->has_value_order = false;
    st->value_order = 0;
    (void)snprintf(st->value, sizeof(st->value), "%s", value);
}

static int file_rec_put(struct eotp_store *s, const char *ns, const char *id,
                        const char *value, long ttl)
{
    long long now = (long long)time(NULL);
    struct rec rc;
    int r = gen_open(s, ns, id, 0, now, &rc);

    if (r != EOTP_OK) {
        return r;
    }
    set_value(rc.st, value, ttl, now);
    return rec_close(&rc, true, EOTP_OK);
}

/* Under the record's flock: read, compare and write are one step. */
static int file_rec_put_newer(struct eotp_store *s, const char *ns,
                              const char *id, const char *value,
                              long long order, long ttl, bool *kept)
{
    long long now = (long long)time(NULL);
    struct rec rc;
    int r = gen_open(s, ns, id, 0, now, &rc);

    if (r != EOTP_OK) {
        return r;
    }
    if (rc.st->has_value && rc.st->has_value_order &&
        rc.st->value_order > order) {
        return rec_close(&rc, false, EOTP_OK);
    }
    set_value(rc.st, value, ttl, now);
    rc.st->has_value_order = true;
    rc.st->value_order = order;
    r = rec_close(&rc, true, EOTP_OK);
    *kept = r == EOTP_OK;
    return r;
}

/*
 * A read takes no lock and creates nothing (neither state_dir nor a lock
 * file): a missing record costs one failed open, and a reader at the
 * prompt never waits for a writer (saves are atomic renames).
 */
static int file_rec_get(struct eotp_store *s, const char *ns, const char *id,
                        char value[EOTP_STORE_VALUE_MAX], bool *found)
{
    struct eotp_state_need need = {0, 0, 0};
    struct eotp_state *st = calloc(1, sizeof(*st));
    int r;

    if (st == NULL) {
        return EOTP_E_NOMEM;
    }
    r = eotp_state_peek_generic(dir_of(s), ns, id, s->lg, st);
    if (r == EOTP_OK) {
        eotp_state_prune(st, &need, (long long)time(NULL));
        if (st->has_value) {
            (void)snprintf(value, EOTP_STORE_VALUE_MAX, "%s", st->value);
            *found = true;
        }
    }
    eotp_freezero(st, sizeof(*st));
    return r;
}

static int file_add_once(struct eotp_store *s, const char *ns, const char *id,
                         long ttl, bool *added)
{
    long long now = (long long)time(NULL);
    struct rec rc;
    int r = gen_open(s, ns, id, 0, now, &rc);

    if (r != EOTP_OK) {
        return r;
    }
    if (rc.st->has_value) {
        return rec_close(&rc, false, EOTP_OK);
    }
    set_value(rc.st, "", ttl, now);
    r = rec_close(&rc, true, EOTP_OK);
    *added = r == EOTP_OK;
    return r;
}

static int file_rate_take(struct eotp_store *s, const char *ns, const char *id,
                          const struct eotp_rate *rate, long *wait)
{
    long long now = (long long)time(NULL);
    struct rec rc;
    int r;

    if (!eotp_rate_on(rate)) {
        return EOTP_OK;
    }
    r = gen_open(s, ns, id, rate->seconds, now, &rc);
    if (r != EOTP_OK) {
        return r;
    }
    *wait = eotp_rate_wait(&rc.st->sends, rate, now);
    if (*wait > 0) {
        return rec_close(&rc, false, EOTP_OK);
    }
    eotp_events_add(&rc.st->sends, now);
    return rec_close(&rc, true, EOTP_OK);
}

static void file_sweep(struct eotp_store *s)
{
    eotp_state_sweep(dir_of(s), s->lg);
}

static void file_close(struct eotp_store *s)
{
    release_held(s);
    free(s->impl);
    s->impl = NULL;
}

static const struct eotp_store_ops file_ops = {
    .name = "file",
    .flags = 0,
    .key = file_key,
    .begin = file_begin,
    .sent = file_sent,
    .attempt = file_attempt,
    .finish = file_finish,
    .check = file_check,
    .show = file_show,
    .reset = file_reset,
    .sweep = file_sweep,
    .rec_put = file_rec_put,
    .rec_put_newer = file_rec_put_newer,
    .rec_get = file_rec_get,
    .add_once = file_add_once,
    .rate_take = file_rate_take,
    .close = file_close,
};

int eotp_store_file_open(const struct eotp_cfg *cfg,
                         const struct eotp_logger *lg, struct eotp_store **out)
{
    struct file_store *fs = calloc(1, sizeof(*fs));
    int r;

    *out = NULL;
    if (fs == NULL) {
        return EOTP_E_NOMEM;
    }
    fs->dir = cfg->state_dir;
    r = eotp_store_new(&file_ops, fs, cfg, lg, out);
    if (r != EOTP_OK) {
        free(fs);
    }
    return r;
}
