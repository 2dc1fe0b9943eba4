/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nonce.c - bounded memory of accepted callback signatures (nonce.h).
 */
#include "nonce.h"

#include "../core/err.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* expires == 0: an empty slot.  Never emptied once used, except by a
 * sweep, so that a probe stops only where no key was ever put. */
struct slot {
    uint32_t k[3];
    uint32_t expires;
};

struct eotp_nonce_cache {
    struct slot *t;
    size_t slots; /* a power of two */
    size_t max;   /* 3/4 of slots */
    size_t used;  /* slots with expires != 0 */
    uint32_t last_sweep;
};

int eotp_nonce_new(size_t slots, struct eotp_nonce_cache **out)
{
    struct eotp_nonce_cache *c;

    *out = NULL;
    if (slots == 0) {
        slots = EOTP_NONCE_SLOTS;
    }
    if (slots < 16 || (slots & (slots - 1)) != 0) {
        return EOTP_E_INTERNAL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return EOTP_E_NOMEM;
    }
    c->t = malloc(slots * sizeof(*c->t));
    if (c->t == NULL) {
        free(c);
        return EOTP_E_NOMEM;
    }
    /* Touched now: the resident size does not grow with traffic. */
    memset(c->t, 0, slots * sizeof(*c->t));
    c->slots = slots;
    c->max = slots / 4 * 3;
    *out = c;
    return EOTP_OK;
}

void eotp_nonce_free(struct eotp_nonce_cache *c)
{
    if (c != NULL) {
        free(c->t);
        free(c);
    }
}

void eotp_nonce_key(const char *timestamp, const char *nonce,
                    const char *username, struct eotp_nonce_key *key)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char buf[3 * 257];
    size_t off = 0;
    const char *part[3] = {timestamp, nonce, username};

    for (size_t i = 0; i < 3; i++) {
        size_t n = strnlen(part[i], 256);

        memcpy(buf + off, part[i], n);
        off += n;
        buf[off++] = '\0';
    }
    memset(md, 0, sizeof(md));
    (void)EVP_Digest(buf, off, md, &mdlen, EVP_sha256(), NULL);
    memcpy(key->k, md, sizeof(key->k));
}

static bool same(const struct slot *s, const struct eotp_nonce_key *key)
{
    return s->k[0] == key->k[0] && s->k[1] == key->k[1] &&
           s->k[2] == key->k[2];
}

/* The slot holding key, or NULL; *reuse: the first slot on the way that
 * may take it (empty or expired). */
static struct slot *find(struct eotp_nonce_cache *c,
                         const struct eotp_nonce_key *key, uint32_t now,
                         struct slot **reuse)
{
    size_t mask = c->slots - 1;
    size_t i = key->k[0] & mask;

    *reuse = NULL;
    for (size_t n = 0; n < c->slots; n++, i = (i + 1) & mask) {
        struct slot *s = &c->t[i];

        if (s->expires == 0) {
            if (*reuse == NULL) {
                *reuse = s;
            }
            return NULL;
        }
        if (same(s, key) && s->expires > now) {
            return s;
        }
        if (s->expires <= now && *reuse == NULL) {
            *reuse = s;
        }
    }
    return NULL;
}

/* Rebuild the table with the live entries only. */
static void sweep(struct eotp_nonce_cache *c, uint32_t now)
{
    size_t live = 0;
    struct slot *keep;

    c->last_sweep = now;
    for (size_t i = 0; i < c->slots; i++) {
        if (c->t[i].expires > now) {
            live++;
        }
    }
    keep = malloc((live > 0 ? live : 1) * sizeof(*keep));
    if (keep == NULL) {
        return; /* try again later; nothing is lost */
    }
    live = 0;
    for (size_t i = 0; i < c->slots; i++) {
        if (c->t[i].expires > now) {
            keep[live++] = c->t[i];
        }
    }
    memset(c->t, 0, c->slots * sizeof(*c->t));
    c->used = 0;
    for (size_t j = 0; j < live; j++) {
        struct eotp_nonce_key k;
        struct slot *reuse = NULL;

        memcpy(k.k, keep[j].k, sizeof(k.k));
        (void)find(c, &k, now, &reuse);
        *reuse = keep[j];
        c->used++;
    }
    free(keep);
}

enum eotp_nonce_result eotp_nonce_add(struct eotp_nonce_cache *c,
                                      const struct eotp_nonce_key *key,
                                      uint32_t expires, uint32_t now)
{
    struct slot *reuse = NULL;

    if (find(c, key, now, &reuse) != NULL) {
        return EOTP_NONCE_SEEN;
    }
    if (reuse == NULL || (reuse->expires == 0 && c->used >= c->max)) {
        /* At most one sweep a second when the cache stays full. */
        if (c->last_sweep != now) {
            sweep(c, now);
        }
        if (c->used >= c->max - c->max / 8 ||
            find(c, key, now, &reuse) != NULL || reuse == NULL) {
            return EOTP_NONCE_FULL;
        }
    }
    if (reuse->expires == 0) {
        c->used++;
    }
    memcpy(reuse->k, key->k, sizeof(reuse->k));
    reuse->expires = expires > now ? expires : now + 1;
    return EOTP_NONCE_NEW;
}

void eotp_nonce_forget(struct eotp_nonce_cache *c,
                       const struct eotp_nonce_key *key, uint32_t now)
{
    struct slot *reuse = NULL;
    struct slot *s = find(c, key, now, &reuse);

    if (s != NULL) {
        s->expires = 1; /* expired, still on the probe path */
    }
}

size_t eotp_nonce_used(const struct eotp_nonce_cache *c)
{
    return c->used;
}

size_t eotp_nonce_max(const struct eotp_nonce_cache *c)
{
    return c->max;
}

size_t eotp_nonce_bytes(const struct eotp_nonce_cache *c)
{
    return c->slots * sizeof(*c->t);
}
