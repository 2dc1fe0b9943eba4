/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.h - records in state_dir, shared by the separate processes that
 * sshd starts for each login attempt.
 *
 * state_dir (0700, root) holds one small text record per user and one per
 * remote address, each replaced atomically (temp file + fsync + rename)
 * while the record's lock file is held with flock(LOCK_EX).  Remote
 * address records are named after a keyed hash of the address, never the
 * address itself.  A missing, corrupt, truncated, oversized, foreign-owned
 * or symlinked record reads as empty and is logged: never a crash.  Only
 * root can write state_dir, so an unprivileged user cannot use this to
 * clear a lockout or a send limit.
 *
 * Record format (version 3), one "key=value" per line, every line ending
 * in a newline, the last line "end=":
 *
 *   version=3
 *   send=T,T,...        codes sent (user) or sends from the address (rhost)
 *   send_window=SECONDS how long the send list must be kept
 *   wrong=T,T,...       wrong codes typed (user)
 *   wrong_window=SECONDS
 *   grace_window=SECONDS how long grace bindings must be kept
 *   pending=MSGID KEY CHANNEL TIME     a platform code that may be reused
 *   code=ID MSGID KEY MAC CHANNEL CREATED EXPIRES WRONG   a local code
 *   grace=MAC TIME      a successful login that may skip the code
 *   value=EXPIRES TEXT  a generic record's value (store.h rec_put,
 *                       add_once), printable ASCII, until EXPIRES
 *   end=
 *
 * T and times are Unix seconds; KEY is sha256(template_id NUL dest) and MAC
 * an HMAC-SHA256 under the host key, both lowercase hex: no code, key text,
 * address or destination is ever stored.
 *
 * Windows (version 3): several PAM services may use one state_dir with
 * different limits.  Each list keeps the longest window any config that
 * wrote to it needs, and a prune never drops what is inside it, so a
 * service with lockout = off or a shorter window never shortens what a
 * stricter one counts.  A window line is written only for a non-empty
 * list; when a list empties, its window falls back to the current
 * config's.  Version 2 records (no window lines) are read with every
 * window at its largest possible value (EOTP_WINDOW_MAX,
 * EOTP_GRACE_WINDOW_MAX): nothing is lost on upgrade, and the events
 * leave the record as they age out.
 */
#ifndef EOTP_STATE_H
#define EOTP_STATE_H

#include "api.h"
#include "log.h"

#include <stdbool.h>
#include <stddef.h>

#define EOTP_STATE_MAX_SIZE (64 * 1024)
/* A pending code is reused at most this long (the longest template TTL
 * is 10 minutes, plus slack). */
#define EOTP_PENDING_MAX_AGE (11 * 60)
/* Bounds of a record: the newest entries are kept. */
#define EOTP_EVENTS_MAX 1000
#define EOTP_PENDING_MAX 4
#define EOTP_LOCALCODES_MAX 8
#define EOTP_GRACE_MAX 8
#define EOTP_HEX256 65      /* 64 hex digits + NUL */
#define EOTP_CODE_ID_HEX 17 /* 16 hex digits + NUL */
#define EOTP_HOSTKEY_LEN 32
/* The longest window of a rate limit (cfg.c) and of grace_period. */
#define EOTP_WINDOW_MAX (7L * 86400)
#define EOTP_GRACE_WINDOW_MAX 86400L
/* The longest TTL of a generic record's value (store.h rec_put, add_once):
 * a used rescue code, kept for its set's life (rescue.h, 365 days) and a
 * day to spare. */
#define EOTP_REC_TTL_MAX (367L * 86400)
/* A generic record's value: printable ASCII, shorter than this. */
#define EOTP_STATE_VALUE_MAX 256
/* Longest wait for a record's lock; past it the login fails closed
 * (EOTP_E_STATE).  A holder keeps the lock at most for one send, which
 * the login deadline bounds (30 s by default). */
#define EOTP_STATE_LOCK_WAIT_MS (60 * 1000)

/* Timestamps of events, oldest first. */
struct eotp_events {
    size_t n;
    long window; /* seconds the list must be kept (0: unknown/none) */
    long long t[EOTP_EVENTS_MAX];
};

/* A platform code (/v1/messages) that the service may still accept. */
struct eotp_pending {
    char id[EOTP_MSGID_MAX + 1];
    char key[EOTP_HEX256]; /* eotp_state_pending_key(template, dest) */
    char channel[EOTP_CHANNEL_MAX + 1];
    long long time;
};

/* A code generated here (code_mode = local): only its keyed hash. */
struct eotp_localcode {
    char id[EOTP_CODE_ID_HEX];      /* random handle, part of the MAC */
    char msgid[EOTP_MSGID_MAX + 1]; /* the service's id, for logs */
    char key[EOTP_HEX256];
    char mac[EOTP_HEX256];
    char channel[EOTP_CHANNEL_MAX + 1];
    long long created;
    long long expires;
    int wrong; /* wrong answers against this code, all logins */
};

/* A binding that passed the second factor at time. */
struct eotp_grace {
    char mac[EOTP_HEX256];
    long long time;
};

struct eotp_state {
    struct eotp_events sends;
    struct eotp_events wrong;
    struct eotp_pending pending[EOTP_PENDING_MAX];
    size_t npending;
    struct eotp_localcode codes[EOTP_LOCALCODES_MAX];
    size_t ncodes;
    struct eotp_grace grace[EOTP_GRACE_MAX];
    size_t ngrace;
    long grace_window; /* seconds grace bindings must be kept */
    /* A generic record (store.h): a value until value_expires. */
    bool has_value;
    long long value_expires;
    char value[EOTP_STATE_VALUE_MAX];
    /* ... put by eotp_store_rec_put_newer() with this order. */
    bool has_value_order;
    long long value_order;
};

/* The windows the current config needs (0: that limit is off). */
struct eotp_state_need {
    long send;
    long wrong;
    long grace;
};

struct eotp_state_handle {
    int dirfd;
    int lockfd;
    char name[256]; /* the record's base name */
    const struct eotp_logger *lg;
    /*
     * Set by the caller when the next save records a wrong code: that save
     * is fsync'ed so the lockout survives a power failure.  Other saves
     * (sends, pending codes, a success) are atomic but not fsync'ed.
     */
    bool sync;
};

/*
 * Open state_dir (created 0700 if missing; must be a root-owned directory
 * with no group/other access) and take the user's lock, waiting at most
 * EOTP_STATE_LOCK_WAIT_MS.  EOTP_E_STATE on any problem (logged).
 */
int eotp_state_lock(const char *dir, const char *user,
                    const struct eotp_logger *lg, struct eotp_state_handle *h);

/*
 * The same for the record of a remote address.  IPv6 addresses count per
 * /64 (one customer's network), IPv4-mapped ones as IPv4, other text as
 * given.  The record's name is a keyed hash of that (key: the host key).
 */
int eotp_state_lock_rhost(const char *dir, const char *rhost,
                          const unsigned char key[EOTP_HOSTKEY_LEN],
                          const struct eotp_logger *lg,
                          struct eotp_state_handle *h);

/* The same with the address's hash (eotp_state_rhost_hash) given. */
int eotp_state_lock_rhost_hash(const char *dir, const char *hex,
                               const struct eotp_logger *lg,
                               struct eotp_state_handle *h);

/*
 * The same for a generic record of store.h: "+x-" NS "-" ID, ns of
 * [a-z0-9_], id of [A-Za-z0-9_.-] (1 to 64).
 */
int eotp_state_lock_generic(const char *dir, const char *ns, const char *id,
                            const struct eotp_logger *lg,
                            struct eotp_state_handle *h);

/*
 * Read a generic record as last saved, without its lock and without
 * creating anything (neither state_dir nor a lock file): saves replace a
 * record atomically, so a reader sees the old or the new one.  st is
 * empty when state_dir or the record does not exist.  Not pruned.
 */
/*
 * state_dir opened as a directory (O_NOFOLLOW) and checked: root's, with
 * no group or other access.  create: made 0700 first when missing.
 * Returns the descriptor, -2 when it does not exist and create is false
 * (not logged), or -1 on any other problem (logged on lg, which may be
 * NULL).
 */
int eotp_state_dir_open(const char *dir, bool create,
                        const struct eotp_logger *lg);

int eotp_state_peek_generic(const char *dir, const char *ns, const char *id,
                            const struct eotp_logger *lg,
                            struct eotp_state *st);

/* Read the record (empty when absent or corrupt, which is logged). */
int eotp_state_load(struct eotp_state_handle *h, struct eotp_state *st);

/*
 * Replace the record atomically (temp file and rename; fsync first when
 * h->sync); an empty record is removed instead.
 */
int eotp_state_save(struct eotp_state_handle *h, const struct eotp_state *st);

/* Remove the record (administrator reset). */
int eotp_state_remove(struct eotp_state_handle *h);

/* Release the lock and close everything.  Safe on a failed lock. */
void eotp_state_unlock(struct eotp_state_handle *h);

bool eotp_state_is_empty(const struct eotp_state *st);

/* Parse and format records (exposed for tests and fuzzing).  format
 * returns the length written or EOTP_E_STATE. */
int eotp_state_parse(const char *text, size_t len, struct eotp_state *st);
int eotp_state_format(const struct eotp_state *st, char *buf, size_t len);

/* sha256(template_id '\0' dest) as lowercase hex into out[65]. */
int eotp_state_pending_key(const char *template_id, const char *dest,
                           char out[EOTP_HEX256]);

/* Base name of a user's record ("" and EOTP_E_STATE if impossible). */
int eotp_state_user_name(const char *user, char *out, size_t outlen);

/*
 * HMAC-SHA256(key, "rhost-v1" NUL address) in hex, the address as it
 * counts: IPv6 per /64, IPv4-mapped as IPv4, other text as given.
 */
int eotp_state_rhost_hash(const char *rhost,
                          const unsigned char key[EOTP_HOSTKEY_LEN],
                          char hex[EOTP_HEX256]);

/* "+r-" and the first 40 digits of such a hash. */
int eotp_state_rhost_hash_name(const char *hex, char *out, size_t outlen);

/* Base name of an address's record, "+r-" and 40 hex digits. */
int eotp_state_rhost_name(const char *rhost,
                          const unsigned char key[EOTP_HOSTKEY_LEN], char *out,
                          size_t outlen);

/*
 * The host key (32 random bytes in state_dir/+hostkey, root 0600),
 * created on first use.  A damaged key file is replaced (logged): that
 * only invalidates local codes and grace bindings, never grants access.
 * Wipe the key after use.
 */
int eotp_state_hostkey(const char *dir, const struct eotp_logger *lg,
                       unsigned char key[EOTP_HOSTKEY_LEN]);

/*
 * Drop everything in a record that can no longer count: events outside
 * max(the list's window, need's) (the windows are updated, see the
 * format), pending codes older than EOTP_PENDING_MAX_AGE, expired local
 * codes, grace bindings outside max(grace_window, need->grace).  Never
 * drops what another config's windows recorded in the record still need.
 */
void eotp_state_prune(struct eotp_state *st,
                      const struct eotp_state_need *need, long long now);

/*
 * Remove records (and their lock files) that hold nothing any config
 * still counts: records not written for EOTP_PENDING_MAX_AGE are read and
 * pruned with their own windows only (eotp_state_prune, need all 0), and
 * removed when that leaves them empty.  Runs at most once an hour per
 * state_dir; busy records are skipped.  Best effort, never fails.
 */
void eotp_state_sweep(const char *dir, const struct eotp_logger *lg);

/* Entries of a record. */
struct eotp_pending *eotp_state_find_pending(struct eotp_state *st,
                                             const char *key);
void eotp_state_put_pending(struct eotp_state *st,
                            const struct eotp_pending *p);
void eotp_state_del_pending(struct eotp_state *st, const char *id);
struct eotp_localcode *eotp_state_find_code(struct eotp_state *st,
                                            const char *id);
/* The newest unexpired local code for key, or NULL. */
struct eotp_localcode *eotp_state_latest_code(struct eotp_state *st,
                                              const char *key, long long now);
void eotp_state_put_code(struct eotp_state *st,
                         const struct eotp_localcode *c);
void eotp_state_del_code(struct eotp_state *st, const char *id);

#endif
