/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nonce.h - the callback receiver's memory of signatures it has accepted,
 * so that a replayed X-CALLBACK-ID gets 401.
 *
 * A header is fresh for callback_max_age seconds on either side of its
 * timestamp, so each accepted header is remembered until its timestamp
 * plus callback_max_age: after that, freshness refuses it anyway.  The
 * key is 96 bits of SHA-256(timestamp NUL nonce NUL username).
 *
 * Memory is bounded and allocated (and touched) once at start:
 * EOTP_NONCE_SLOTS slots of 16 bytes in an open-addressed table (linear
 * probing).  Expired entries are reused in place; when the table holds
 * EOTP_NONCE_MAX entries (3/4 of the slots) a sweep rebuilds it with the
 * live ones.  If they are still too many, the cache is full: new headers
 * are refused (the receiver answers 503, EngageLab sends again later)
 * rather than forgetting a live nonce, which would let a replay in.
 * A sweep that leaves more than 7/8 of EOTP_NONCE_MAX (688,128) live
 * entries counts as full, so that a full cache is not swept on every
 * request; 688,128 / callback_max_age is the highest sustained rate of
 * callbacks (about 2,290/s at the default 300 s, 11,468/s at 60 s).
 *
 * Not thread-safe: the receiver uses it from its one MHD thread.
 */
#ifndef EOTP_NONCE_H
#define EOTP_NONCE_H

#include <stddef.h>
#include <stdint.h>

#define EOTP_NONCE_SLOTS (1u << 20)               /* 16 MiB */
#define EOTP_NONCE_MAX (EOTP_NONCE_SLOTS / 4 * 3) /* 786,432 entries */

struct eotp_nonce_key {
    uint32_t k[3];
};

enum eotp_nonce_result {
    EOTP_NONCE_NEW = 0, /* not seen: now remembered */
    EOTP_NONCE_SEEN,    /* a replay */
    EOTP_NONCE_FULL,    /* no room: refuse for now */
};

struct eotp_nonce_cache;

/* slots: a power of two (0: EOTP_NONCE_SLOTS; tests use small ones).
 * Returns 0 or EOTP_E_NOMEM. */
int eotp_nonce_new(size_t slots, struct eotp_nonce_cache **out);
void eotp_nonce_free(struct eotp_nonce_cache *c);

/* The key of a parsed header's timestamp, nonce and username. */
void eotp_nonce_key(const char *timestamp, const char *nonce,
                    const char *username, struct eotp_nonce_key *key);

/* Remember key until expires (Unix seconds); now is the current time. */
enum eotp_nonce_result eotp_nonce_add(struct eotp_nonce_cache *c,
                                      const struct eotp_nonce_key *key,
                                      uint32_t expires, uint32_t now);

/* Forget key (a request that was accepted but could not be stored, so
 * that EngageLab's retry of the same header is not a replay). */
void eotp_nonce_forget(struct eotp_nonce_cache *c,
                       const struct eotp_nonce_key *key, uint32_t now);

/* Entries held (live or expired but not yet swept), and the bound. */
size_t eotp_nonce_used(const struct eotp_nonce_cache *c);
size_t eotp_nonce_max(const struct eotp_nonce_cache *c);
size_t eotp_nonce_bytes(const struct eotp_nonce_cache *c);

#endif
