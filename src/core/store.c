/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c - the backend-independent half of store.h: selection, checks
 * of requests, identifiers, and the calls into the backend's table.
 */
#include "store.h"

#include "err.h"
#include "keyed.h"
#include "secret.h"
#include "store_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int eotp_store_new(const struct eotp_store_ops *ops, void *impl,
                   const struct eotp_cfg *cfg, const struct eotp_logger *lg,
                   struct eotp_store **out)
{
    struct eotp_store *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (s == NULL) {
        return EOTP_E_NOMEM;
    }
    s->ops = ops;
    s->impl = impl;
    s->cfg = cfg;
    s->lg = lg;
    *out = s;
    return EOTP_OK;
}

int eotp_store_open(const struct eotp_cfg *cfg, const struct eotp_logger *lg,
                    struct eotp_store **out)
{
    *out = NULL;
    if (eotp_store_redis_wanted(cfg)) {
        return eotp_store_redis_open(cfg, lg, out);
    }
    return eotp_store_file_open(cfg, lg, out);
}

void eotp_store_close(struct eotp_store *s)
{
    if (s == NULL) {
        return;
    }
    if (s->ops != NULL && s->ops->close != NULL) {
        s->ops->close(s);
    }
    eotp_freezero(s, sizeof(*s));
}

const char *eotp_store_name(const struct eotp_store *s)
{
    return s != NULL && s->ops != NULL ? s->ops->name : "none";
}

unsigned int eotp_store_op_count(const struct eotp_store *s)
{
    return s != NULL ? s->nops : 0;
}

int eotp_store_key(struct eotp_store *s, const unsigned char **key)
{
    *key = NULL;
    if (!s->have_key) {
        int r = s->ops->key(s, s->key);

        if (r != EOTP_OK) {
            eotp_memzero(s->key, sizeof(s->key));
            return r;
        }
        s->have_key = true;
    }
    *key = s->key;
    return EOTP_OK;
}

/* ---- identifiers -------------------------------------------------------- */

int eotp_store_who(struct eotp_store *s, const char *user, const char *rhost,
                   struct eotp_store_who *who)
{
    const unsigned char *key = NULL;
    int r;

    memset(who, 0, sizeof(*who));
    who->user = user;
    if (user != NULL && (s->ops->flags & EOTP_STORE_F_HASHED_IDS) != 0) {
        const char *parts[2] = {"user-v1", user};

        r = eotp_store_key(s, &key);
        if (r == EOTP_OK) {
            r = eotp_keyed_hash(key, parts, 2, who->user_id);
        }
        if (r != EOTP_OK) {
            return r;
        }
    }
    if (rhost != NULL && rhost[0] != '\0') {
        r = eotp_store_key(s, &key);
        if (r == EOTP_OK) {
            r = eotp_state_rhost_hash(rhost, key, who->rhost_id);
        }
        if (r != EOTP_OK) {
            return r;
        }
    }
    return EOTP_OK;
}

int eotp_store_dest_key(struct eotp_store *s, const char *template_id,
                        const char *dest, char out[EOTP_STORE_ID_HEX])
{
    const unsigned char *key = NULL;
    const char *parts[3] = {"dest-v1", template_id, dest};
    int r;

    out[0] = '\0';
    if ((s->ops->flags & EOTP_STORE_F_HASHED_IDS) == 0) {
        return eotp_state_pending_key(template_id, dest, out);
    }
    r = eotp_store_key(s, &key);
    if (r != EOTP_OK) {
        return r;
    }
    return eotp_keyed_hash(key, parts, 3, out);
}

/* ---- operations --------------------------------------------------------- */

static bool who_ok(const struct eotp_store_who *who, enum eotp_store_kind kind)
{
    if (who == NULL) {
        return false;
    }
    if (kind == EOTP_STORE_RHOST) {
        return who->rhost_id[0] != '\0';
    }
    return who->user != NULL && who->user[0] != '\0';
}

int eotp_store_begin(struct eotp_store *s,
                     const struct eotp_store_begin_req *req,
                     struct eotp_store_begin_res *res)
{
    memset(res, 0, sizeof(*res));
    if (!who_ok(req->who, EOTP_STORE_USER) || req->lim == NULL) {
        return EOTP_E_INTERNAL;
    }
    s->nops++;
    return s->ops->begin(s, req, res);
}

int eotp_store_sent(struct eotp_store *s,
                    const struct eotp_store_sent_req *req,
                    struct eotp_store_sent_res *res)
{
    memset(res, 0, sizeof(*res));
    if (!who_ok(req->who, EOTP_STORE_USER) || req->lim == NULL ||
        (req->outcome == EOTP_STORE_SENT && req->dest_key == NULL &&
         (req->pending != NULL || req->code != NULL))) {
        return EOTP_E_INTERNAL;
    }
    s->nops++;
    return s->ops->sent(s, req, res);
}

int eotp_store_attempt(struct eotp_store *s, const struct eotp_store_who *who,
                       const struct eotp_store_limits *lim,
                       enum eotp_store_verdict *verdict, long *wait,
                       struct eotp_store_token *tok)
{
    *verdict = EOTP_STORE_LOCKED;
    *wait = 0;
    memset(tok, 0, sizeof(*tok));
    if (!who_ok(who, EOTP_STORE_USER) || lim == NULL) {
        return EOTP_E_INTERNAL;
    }
    s->nops++;
    return s->ops->attempt(s, who, lim, verdict, wait, tok);
}

int eotp_store_finish(struct eotp_store *s,
                      const struct eotp_store_finish_req *req, long *wait)
{
    *wait = 0;
    if (!who_ok(req->who, EOTP_STORE_USER) || req->lim == NULL) {
        return EOTP_E_INTERNAL;
    }
    s->nops++;
    return s->ops->finish(s, req, wait);
}

int eotp_store_check(struct eotp_store *s,
                     const struct eotp_store_check_req *req,
                     enum eotp_store_verdict *verdict, long *wait)
{
    *verdict = EOTP_STORE_GONE;
    *wait = 0;
    if (!who_ok(req->who, EOTP_STORE_USER) || req->lim == NULL ||
        req->code_id == NULL || req->mac == NULL) {
        return EOTP_E_INTERNAL;
    }
    s->nops++;
    return s->ops->check(s, req, verdict, wait);
}

int eotp_store_show(struct eotp_store *s, const struct eotp_store_who *who,
                    enum eotp_store_kind kind, struct eotp_state *out,
                    bool *present)
{
    memset(out, 0, sizeof(*out));
    *present = false;
    if (!who_ok(who, kind)) {
        return EOTP_E_INTERNAL;
    }
    s->nops++;
    return s->ops->show(s, who, kind, out, present);
}

int eotp_store_reset(struct eotp_store *s, const struct eotp_store_who *who,
                     enum eotp_store_kind kind, bool *existed)
{
    *existed = false;
    if (!who_ok(who, kind)) {
        return EOTP_E_INTERNAL;
    }
    s->nops++;
    return s->ops->reset(s, who, kind, existed);
}

void eotp_store_renew(struct eotp_store *s)
{
    if (s != NULL && s->ops->renew != NULL) {
        s->ops->renew(s);
    }
}

bool eotp_store_degraded(const struct eotp_store *s)
{
    return s != NULL && s->ops->degraded != NULL && s->ops->degraded(s);
}

void eotp_store_sweep(struct eotp_store *s)
{
    if (s != NULL && s->ops->sweep != NULL) {
        s->ops->sweep(s);
    }
}

/* ---- generic records ---------------------------------------------------- */

static bool ns_ok(const char *ns)
{
    size_t n = 0;

    if (ns == NULL) {
        return false;
    }
    for (; ns[n] != '\0'; n++) {
        char c = ns[n];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return n > 0 && n < EOTP_STORE_NS_MAX;
}

bool eotp_store_id_ok(const char *id)
{
    size_t n = 0;

    if (id == NULL) {
        return false;
    }
    for (; id[n] != '\0'; n++) {
        char c = id[n];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) {
            return false;
        }
    }
    return n > 0 && n <= 64;
}

static bool value_ok(const char *v)
{
    size_t n = 0;

    if (v == NULL) {
        return false;
    }
    for (; v[n] != '\0'; n++) {
        if ((unsigned char)v[n] < 0x20 || (unsigned char)v[n] > 0x7e) {
            return false;
        }
    }
    return n < EOTP_STORE_VALUE_MAX;
}

/* A rate window (rate_take) is at most EOTP_WINDOW_MAX, a record's TTL
 * (rec_put, add_once) at most EOTP_REC_TTL_MAX. */
static bool ttl_ok(long ttl, long max)
{
    return ttl >= 1 && ttl <= max;
}

int eotp_store_rec_put(struct eotp_store *s, const char *ns, const char *id,
                       const char *value, long ttl)
{
    if (!ns_ok(ns) || !eotp_store_id_ok(id) || !value_ok(value) ||
        !ttl_ok(ttl, EOTP_REC_TTL_MAX) || s->ops->rec_put == NULL) {
        return EOTP_E_INTERNAL;
    }
    s->nops++;
    return s->ops->rec_put(s, ns, id, value, ttl);
}

int eotp_store_rec_put_newer(struct eotp_store *s, const char *ns,
                             const char *id, const char *value,
                             long long order, long ttl, bool *kept)
{
    *kept = false;
    if (!ns_ok(ns) || !eotp_store_id_ok(id) || !value_ok(value) || order < 0 ||
        order > EOTP_STORE_ORDER_MAX || !ttl_ok(ttl, EOTP_REC_TTL_MAX) ||
        s->ops->rec_put_newer == NULL) {
        return EOTP_E_INTERNAL;
    }
    s->nops++;
    return s->ops->rec_put_newer(s, ns, id, value, order, ttl, kept);
}

int eotp_store_rec_get(struct eotp_store *s, const char *ns, const char *id,
                       char value[EOTP_STORE_VALUE_MAX], bool *found)
{
    value[0] = '\0';
    *found = false;
    if (!ns_ok(ns) || !eotp_store_id_ok(id) || s->ops->rec_get == NULL) {
        return EOTP_E_INTERNAL;
    }
    s->nops++;
    return s->ops->rec_get(s, ns, id, value, found);
}

int eotp_store_rec_peek(struct eotp_store *s, const char *ns, const char *id,
                        long max_ms, char value[EOTP_STORE_VALUE_MAX],
                        bool *found)
{
    value[0] = '\0';
    *found = false;
    if (!ns_ok(ns) || !eotp_store_id_ok(id) || max_ms <= 0 ||
        s->ops->rec_get == NULL) {
        return EOTP_E_INTERNAL;
    }
    s->nops++;
    if (s->ops->rec_peek == NULL) {
        return s->ops->rec_get(s, ns, id, value, found);
    }
    return s->ops->rec_peek(s, ns, id, max_ms, value, found);
}

int eotp_store_add_once(struct eotp_store *s, const char *ns, const char *id,
                        long ttl, bool *added)
{
    *added = false;
    if (!ns_ok(ns) || !eotp_store_id_ok(id) ||
        !ttl_ok(ttl, EOTP_REC_TTL_MAX) || s->ops->add_once == NULL) {
        return EOTP_E_INTERNAL;
    }
    s->nops++;
    return s->ops->add_once(s, ns, id, ttl, added);
}

int eotp_store_rate_take(struct eotp_store *s, const char *ns, const char *id,
                         const struct eotp_rate *rate, long *wait)
{
    *wait = 0;
    if (!ns_ok(ns) || !eotp_store_id_ok(id) || rate == NULL ||
        (rate->count > 0 && !ttl_ok(rate->seconds, EOTP_WINDOW_MAX)) ||
        s->ops->rate_take == NULL) {
        return EOTP_E_INTERNAL;
    }
    s->nops++;
    return s->ops->rate_take(s, ns, id, rate, wait);
}
