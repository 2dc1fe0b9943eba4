/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redis_state.h - fleet state primitives on Redis: the fleet key, key
 * names, and atomic multi-step operations run by one Lua script.
 *
 * Every operation is one EVALSHA (EVAL once more when the server answers
 * NOSCRIPT, after a restart or a failover): the script runs all checks of
 * its steps first and writes only when none refused, so many logins on
 * many hosts stay exact and nothing is read-modified-written by a client.
 *
 * What Redis holds: key names "eotp:v1:KIND:HASH" where HASH is a keyed
 * hash (HMAC-SHA256 under the fleet key, 128 bits in hex) of what the key
 * is about; values are event times (sorted sets whose members are random
 * ids), the service's message ids, and MACs.  No user name, destination,
 * code or secret.  Every key carries a TTL no longer than the window it
 * serves.
 */
#ifndef EOTP_REDIS_STATE_H
#define EOTP_REDIS_STATE_H

#include "cfg.h"
#include "log.h"
#include "redis.h"

#include <stdbool.h>
#include <stddef.h>

#define EOTP_RS_KEY_LEN 32
#define EOTP_RS_NAME_MAX 64   /* "eotp:v1:" KIND ":" 32 hex + NUL */
#define EOTP_RS_VALUE_MAX 320 /* a stored value, printable ASCII */
#define EOTP_RS_STEPS_MAX 8
#define EOTP_RS_MEMBER_HEX 17 /* random event id, 16 hex + NUL */
#define EOTP_RS_LEASE_MAX_MS (600L * 1000)

/*
 * The fleet key, the same on every host: SHA-256 of redis_key_file's
 * contents (root-owned, no group/other access, 32 to 4096 bytes) when set,
 * otherwise HMAC-SHA256(dev_secret, "pam_engagelab_otp fleet key v1")
 * (every host of one EngageLab account shares dev_secret).  Wipe it after
 * use.  EOTP_E_CONFIG with why set when the key file is refused.
 */
int eotp_rs_fleet_key(const struct eotp_cfg *cfg,
                      unsigned char key[EOTP_RS_KEY_LEN], char *why,
                      size_t whylen);

/*
 * "eotp:v1:" kind ":" 32 hex digits of HMAC(key, kind NUL part[0] NUL
 * ...).  kind is a short fixed word ("send", "wrong", ...).
 */
int eotp_rs_key(const unsigned char key[EOTP_RS_KEY_LEN], const char *kind,
                const char *const *part, size_t n, char out[EOTP_RS_NAME_MAX]);

/* A fresh random event id (16 hex digits). */
int eotp_rs_member(char out[EOTP_RS_MEMBER_HEX]);

enum eotp_rs_op {
    /* Sliding windows over a sorted set of event times (ms): */
    EOTP_RS_TAKE,  /* refuse when >= limit events in window, else add one */
    EOTP_RS_CHECK, /* refuse when >= limit events in window */
    EOTP_RS_COUNT, /* events in window */
    EOTP_RS_ADD,   /* add one event, no check */
    EOTP_RS_ZREM,  /* remove the event whose id is value */
    /* Plain values: */
    EOTP_RS_GET, /* value or "" */
    EOTP_RS_TTL, /* milliseconds left, -2 missing, -1 no TTL */
    EOTP_RS_SET, /* value with a TTL of ms */
    EOTP_RS_DEL,
    /* Hashes of "word ..." values (pending codes by destination key): */
    EOTP_RS_HGET,  /* field value: its value or "" */
    EOTP_RS_HPUT,  /* field value, value2 the data; TTL extended to ms */
    EOTP_RS_HDELV, /* delete the fields whose value's first word is value */
    /* Local codes, a hash id -> "msgid key mac channel created expires
     * wrong" (times in seconds, compared with the server's clock): */
    EOTP_RS_CFIND,  /* newest unexpired for key value: "id msgid key
                     * channel created expires wrong" (no mac) or "" */
    EOTP_RS_CCMP,   /* code value, sha1hex(mac) value2: "gone", "right",
                       "wrong" */
    EOTP_RS_CPUT,   /* code value, value2 "msgid key mac channel created
                     * expires"; expired ones dropped, at most 8 kept */
    EOTP_RS_CWRONG, /* code value: one more wrong answer, deleted at limit */
    EOTP_RS_CDEL,   /* code value */
    /* A per-user lease (begin to sent): held by another owner it refuses
     * like a limit, with its TTL as the wait. */
    EOTP_RS_LEASE,   /* owner value, TTL ms */
    EOTP_RS_UNLEASE, /* released when still held by owner value */
    /* 1 and the key written (TTL ms) when it was absent, else 0 */
    EOTP_RS_ONCE,
    /* value "w:ORDER:TEXT", value2 ORDER (decimal): 1 and value written
     * (TTL ms) unless the key holds a "w:" value with a greater ORDER,
     * else 0 */
    EOTP_RS_NEWER,
};

struct eotp_rs_step {
    int op; /* enum eotp_rs_op */
    const char *key;
    long long limit;   /* TAKE CHECK ADD: 0 no limit; CWRONG: max */
    long long ms;      /* window (TAKE CHECK COUNT ADD), TTL (SET HPUT CPUT) */
    const char *value; /* see the ops; TAKE/ADD: event id or NULL */
    const char *value2; /* see the ops */
    /* The step runs only when step if_step (1-based, earlier) gave
     * if_value ("right", "", a number); 0: always.  A TAKE or CHECK
     * skipped this way gives -1. */
    int if_step;
    const char *if_value;
};

struct eotp_rs_result {
    bool limited;      /* a TAKE or CHECK refused; nothing was written (the
                   * reads of every step are still returned) */
    size_t step;       /* which (0-based) */
    long long wait_ms; /* until that step would pass */
    /* counts (TAKE: after it), TTLs, DEL/ZREM results, ADD: the wait in
     * ms when that add reached the limit (else 0), CWRONG: count */
    long long num[EOTP_RS_STEPS_MAX];
    char val[EOTP_RS_STEPS_MAX][EOTP_RS_VALUE_MAX]; /* GET HGET CFIND CCMP */
    long long server_ms;                            /* the server's clock */
};

/*
 * Run steps atomically.  Returns 0 (res filled, including a refusal), or
 * EOTP_E_BAD_RESPONSE (a reply of the wrong shape: a failing or hostile
 * server), EOTP_E_SERVER (the script failed, e.g. ACL), or the
 * connection's errors.  why says what, without secrets.
 */
int eotp_rs_run(struct eotp_redis *c, const struct eotp_rs_step *steps,
                size_t n, struct eotp_rs_result *res, char *why,
                size_t whylen);

/*
 * The same without waiting for the reply (eotp_redis_send): for writes
 * whose result nobody needs, after an eotp_rs_run() on this connection
 * (so the script is loaded).  Its failure is logged (LOG_WARNING) when
 * its reply is read.
 */
int eotp_rs_send(struct eotp_redis *c, const struct eotp_rs_step *steps,
                 size_t n, char *why, size_t whylen);

/* The same, and close does not wait for the reply (eotp_redis_post). */
int eotp_rs_post(struct eotp_redis *c, const struct eotp_rs_step *steps,
                 size_t n, char *why, size_t whylen);

/* The script's text (tests and doctor load it). */
const char *eotp_rs_script(void);

/* Its SHA-1 in hex, as EVALSHA wants it. */
int eotp_rs_script_sha(char out[41]);

/*
 * sha1 of text in lowercase hex.  A local code is compared in the script
 * as sha1hex(stored mac) == the sha1 the module sends, so Redis never sees
 * the MAC of an answer; on "right" the module reads the stored MAC back
 * and compares it with its own in constant time: a Redis that says
 * "right" without having the right MAC lets nobody in.
 */
int eotp_rs_sha1hex(const char *text, char out[41]);

#endif
