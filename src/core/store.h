/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h - where the state of logins lives.  One interface in front of
 * backends chosen by the config: the host's own state_dir (store_file.c,
 * the embedded default) and Redis for a fleet (store_redis.c).  otp.c and
 * the admin tool use only this; they never know where state lives.
 *
 * Operations are made at the level of what a login needs.  Each one is
 * atomic in its backend (file: under the record's flock; Redis: one Lua
 * script), so limits stay exact however many logins run at once, on one
 * host or many.  Nothing is read, modified and written back by a client.
 *
 * A login:
 *   begin   lockout, grace, send_limit and rhost_send_limit checks; when
 *           allowed, a send reserved in the user's and the address's lists
 *   (send the code)
 *   sent    the send's outcome: the reservation kept or given back; the
 *           platform message id or the local code recorded; after 3004,
 *           the code to reuse
 *   for each answer:
 *     platform code: attempt (lockout check + one wrong code reserved),
 *                    (the service checks the answer), finish (the verdict)
 *     local code:    check (lockout, compare, count or delete: one op)
 * Store round trips of an ordinary login: 1 with a grace period, 3 with a
 * local code (begin, sent, check), 4 with a platform code (begin, sent,
 * attempt, finish).  Fewer is not possible without losing one of: the
 * message id visible to parallel sessions while the user types (3004
 * reuse), an attempt reserved before the service sees the answer (the
 * lockout under concurrency), or a right answer giving its reservation
 * back.  A backend may send "sent" without waiting for its reply and read
 * the reply with the next operation (the result of "sent" is used only
 * after 3004, see eotp_store_sent()), and need not wait for a RIGHT
 * finish at all (see eotp_store_finish()): Redis waits for begin and
 * attempt only.  (Measured with the file backend:
 * 4, 6 with one wrong answer first, 3 local, 1 graced; the debug line
 * "store: backend=... ops=N" at the end of each login.)
 *
 * Identifiers.  A backend gets no user name, address or destination in
 * clear except where noted: eotp_store_who() and eotp_store_dest_key()
 * turn them into keyed hashes (HMAC-SHA256 under the store's key, see
 * eotp_store_key()).  The file backend keeps today's file names (the user
 * name, "+r-" and 40 hex of the address's hash) and today's pending keys
 * (SHA-256 of template and destination, in a root-only directory).
 *
 * Windows.  Every event list keeps the longest window any config that
 * wrote to it needs (state.h, "Windows"): no operation ever drops events
 * or bindings that are still inside a window recorded with them, whatever
 * the limits in the request.  Redis: a key's TTL is never shortened.
 *
 * Time.  The backend's clock decides (the file backend: time(); Redis:
 * the server's TIME, so that hosts with skewed clocks agree).  Waits are
 * whole seconds, at least 1 when a limit refuses.
 *
 * Errors.  Every operation returns 0 with its result filled in (a refusal
 * is a result, not an error), or a negative EOTP_E_* when the store could
 * not be used: EOTP_E_STATE (state_dir unusable, record unwritable),
 * EOTP_E_NOMEM, EOTP_E_INTERNAL (bad request), or for a network backend
 * EOTP_E_TRANSPORT, EOTP_E_TIMEOUT, EOTP_E_TLS, EOTP_E_SERVER,
 * EOTP_E_BAD_RESPONSE.  After an error nothing is known about the
 * operation's effect, except that a backend never grants more than a
 * success would have: an error fails the login closed.  The caller logs
 * with the backend's reason (the backend logs details itself).
 */
#ifndef EOTP_STORE_H
#define EOTP_STORE_H

#include "cfg.h"
#include "log.h"
#include "state.h"

#include <stdbool.h>
#include <stddef.h>

#define EOTP_STORE_KEY_LEN 32
#define EOTP_STORE_ID_HEX 65 /* 64 lowercase hex + NUL */
#define EOTP_STORE_TOKEN_MAX 48
#define EOTP_STORE_NS_MAX 16     /* generic records: namespace [a-z0-9_] */
#define EOTP_STORE_VALUE_MAX 256 /* generic records: printable ASCII */

struct eotp_store;

/* ---- identifiers -------------------------------------------------------- */

/*
 * Who an operation is about.  Filled by eotp_store_who().
 */
struct eotp_store_who {
    /*
     * The account's canonical name (pw_name), NULL for an operation on an
     * address only.  Only the file backend uses it (its record names);
     * a shared backend must neither store nor send it: use user_id.
     */
    const char *user;
    /* HMAC(store key, "user-v1" NUL user); "" when user is NULL or the
     * backend does not want hashed ids (the file backend). */
    char user_id[EOTP_STORE_ID_HEX];
    /* HMAC(store key, "rhost-v1" NUL address), the address as the limits
     * count it (IPv6 per /64, mapped IPv4 as IPv4); "" when there is no
     * address or its limit is off: then begin/sent do nothing for it. */
    char rhost_id[EOTP_STORE_ID_HEX];
};

/*
 * A reservation made by begin (a send) or attempt (a wrong code), given
 * back or confirmed by a later operation.  Opaque text owned by the
 * backend (file: the event's time; Redis: a random member id); v[0] ==
 * '\0' means nothing was reserved (the limit is off).
 */
struct eotp_store_token {
    char v[EOTP_STORE_TOKEN_MAX];
};

/* The limits of the current config, as every operation needs them. */
struct eotp_store_limits {
    struct eotp_rate lockout; /* wrong codes per user */
    struct eotp_rate send;    /* codes sent per user */
    struct eotp_rate rhost;   /* codes requested per address */
    long grace_period;        /* seconds, 0: off */
    long max_attempts;        /* wrong answers against one local code */
};

/* Results of the checks.  Whenever a refusal is the result, the operation
 * wrote nothing. */
enum eotp_store_verdict {
    EOTP_STORE_GO = 0,      /* allowed; reservations made as documented */
    EOTP_STORE_LOCKED,      /* the lockout is reached (wait) */
    EOTP_STORE_GRACE,       /* a grace binding matched (grace_since) */
    EOTP_STORE_SEND_LIMIT,  /* send_limit reached (wait) */
    EOTP_STORE_RHOST_LIMIT, /* rhost_send_limit reached (wait) */
    EOTP_STORE_RIGHT,       /* check: the answer was right */
    EOTP_STORE_WRONG,       /* check: wrong (wait > 0: lockout reached) */
    EOTP_STORE_GONE,        /* check: the code expired, was used or replaced */
};

/* ---- a login ------------------------------------------------------------ */

struct eotp_store_begin_req {
    const struct eotp_store_who *who;
    const struct eotp_store_limits *lim;
    /* Look this grace binding up (grace.h, keyed with eotp_store_key());
     * NULL: no grace check. */
    const char *grace_mac;
    /* Reserve a send (the first code, or a new one on request); false:
     * only the lockout and grace checks. */
    bool send;
    /* eotp_store_dest_key() of where the code goes; NULL: no lookup. */
    const char *dest_key;
};

struct eotp_store_begin_res {
    enum eotp_store_verdict verdict;
    long wait;             /* LOCKED, SEND_LIMIT, RHOST_LIMIT */
    long long grace_since; /* GRACE: when the binding was recorded */
    struct eotp_store_token send_tok;  /* GO and send: "" if limit off */
    struct eotp_store_token rhost_tok; /* GO and send with rhost_id */
    /* The newest platform code for dest_key younger than
     * EOTP_PENDING_MAX_AGE, and the newest unexpired local code (mac
     * wiped) for dest_key, whatever the verdict. */
    bool have_pending;
    struct eotp_pending pending;
    bool have_code;
    struct eotp_localcode code;
};

/*
 * Atomically, in this order, each step only when the ones before allowed:
 *  1. lockout: LOCKED when lim->lockout counts as many wrong codes (kept
 *     or reserved) as it allows;
 *  2. grace: GRACE when grace_mac was recorded less than
 *     lim->grace_period seconds ago;
 *  3. when send: SEND_LIMIT when lim->send is reached, then RHOST_LIMIT
 *     when who->rhost_id is set and lim->rhost is reached for it;
 *  4. when send and allowed: one send reserved in the user's list (when
 *     lim->send is on) and one in the address's list (when rhost_id is
 *     set); their tokens returned.  A reservation counts as a send for
 *     every other login at once.
 * The pending/code lookup is made in any case.  Not durable
 * (file: not fsync'ed): a power failure may forget a reservation.
 *
 * After GO with send, the caller calls eotp_store_sent() next, once, on
 * the same store, with no other operation in between.  A backend may
 * keep the user serialised in between: the file backend holds the user's
 * lock from begin to sent, so sends of one user happen one at a time as
 * they always did; a login's send then sees the pending code the one
 * before it recorded (3004 reuse), and a reuse costs no send.  A backend
 * that cannot hold a lock should give the same guarantee another way
 * (e.g. a short per-user lease, waited for by a concurrent begin);
 * without it, parallel logins of one user may be refused by send_limit
 * while other logins' reservations are in flight (stricter, never
 * looser).
 */
int eotp_store_begin(struct eotp_store *s,
                     const struct eotp_store_begin_req *req,
                     struct eotp_store_begin_res *res);

enum eotp_store_sent_outcome {
    /* The service took the request.  The user's reservation becomes the
     * send, the address's stays; pending or code is recorded under
     * dest_key (replacing the oldest when full, see state.h bounds). */
    EOTP_STORE_SENT,
    /* No usable answer (transport, timeout, 5xx, bad response): a code
     * may have gone out and been billed.  Both reservations stay, nothing
     * else is recorded. */
    EOTP_STORE_MAYBE_SENT,
    /* Refused for sure (credentials, request, delivery): both
     * reservations given back. */
    EOTP_STORE_NOT_SENT,
    /* 3004, an earlier code is still valid: both reservations given back,
     * and the newest pending/code for dest_key returned. */
    EOTP_STORE_RESEND,
};

struct eotp_store_sent_req {
    const struct eotp_store_who *who;
    const struct eotp_store_limits *lim;
    enum eotp_store_sent_outcome outcome;
    struct eotp_store_token send_tok;  /* from begin */
    struct eotp_store_token rhost_tok; /* from begin */
    const char *dest_key;
    const struct eotp_pending *pending; /* SENT, platform code; or NULL */
    const struct eotp_localcode *code;  /* SENT, local code; or NULL */
};

struct eotp_store_sent_res {
    bool have_pending; /* RESEND: as in eotp_store_begin_res */
    struct eotp_pending pending;
    bool have_code;
    struct eotp_localcode code; /* mac wiped */
};

/*
 * Record the outcome of a send reserved by begin, atomically.  A token
 * that no longer matches anything (pruned, reset meanwhile) is ignored.
 * Not durable.
 */
int eotp_store_sent(struct eotp_store *s,
                    const struct eotp_store_sent_req *req,
                    struct eotp_store_sent_res *res);

/*
 * Before a platform code's answer goes to the service, atomically: LOCKED
 * (with *wait) when the lockout is reached; otherwise GO and one wrong
 * code reserved at once (*tok; "" when lim->lockout is off).  However
 * many sessions check answers at once, no more answers per window reach
 * the service than the lockout allows.  Not durable (finish is, for a
 * wrong answer).
 */
int eotp_store_attempt(struct eotp_store *s, const struct eotp_store_who *who,
                       const struct eotp_store_limits *lim,
                       enum eotp_store_verdict *verdict, long *wait,
                       struct eotp_store_token *tok);

enum eotp_store_answer {
    EOTP_STORE_ANSWER_RIGHT,    /* the service verified the code */
    EOTP_STORE_ANSWER_WRONG,    /* the service said wrong */
    EOTP_STORE_ANSWER_UNJUDGED, /* no verdict (transport, 3003...) */
};

struct eotp_store_finish_req {
    const struct eotp_store_who *who;
    const struct eotp_store_limits *lim;
    enum eotp_store_answer answer;
    struct eotp_store_token tok; /* from attempt */
    /* RIGHT, or UNJUDGED with forget: the platform code to delete (it was
     * used, or the service says it expired). */
    const char *msgid;
    bool forget;
    /* RIGHT: record this grace binding (NULL: none). */
    const char *grace_mac;
};

/*
 * The verdict on an answer, atomically:
 *  RIGHT:    the reservation given back, every wrong code of the user
 *            cleared (a right code ends a lockout streak), msgid deleted,
 *            grace_mac recorded with lim->grace_period;
 *  WRONG:    the reservation stays as the wrong code (one is added if it
 *            was pruned meanwhile and the lockout is on); *wait > 0 when
 *            the lockout is reached (reservations of answers still being
 *            checked by other sessions count).  Durable: the file backend
 *            fsyncs this write, a replicated backend should say what it
 *            guarantees;
 *  UNJUDGED: the reservation given back; msgid deleted when forget.
 * A backend may write RIGHT without waiting for its outcome (Redis does,
 * and closes without waiting either): the login's verdict is the
 * service's, made under the attempt's reservation, and a lost RIGHT can
 * only leave the state stricter (the reservation stays counted as a
 * wrong code until its window ends, msgid stays, no grace).  It then
 * returns 0 once the write is sent; a refusal seen later is logged.
 */
int eotp_store_finish(struct eotp_store *s,
                      const struct eotp_store_finish_req *req, long *wait);

struct eotp_store_check_req {
    const struct eotp_store_who *who;
    const struct eotp_store_limits *lim;
    const char *code_id; /* the local code's handle */
    /* eotp_localcode_mac() of the answer under eotp_store_key(); compared
     * in constant time with the stored one. */
    const char *mac;
    const char *grace_mac; /* RIGHT: record this binding (NULL: none) */
};

/*
 * Check an answer against a local code, atomically: LOCKED (wait) when
 * the lockout is reached (nothing written); GONE when the code expired,
 * was used or replaced; RIGHT: the code deleted (it works once), wrong
 * codes cleared, grace_mac recorded; WRONG: the code's count raised
 * (deleted at lim->max_attempts), a wrong code recorded (durable), *wait
 * > 0 when that reached the lockout.
 */
int eotp_store_check(struct eotp_store *s,
                     const struct eotp_store_check_req *req,
                     enum eotp_store_verdict *verdict, long *wait);

/* ---- administration ----------------------------------------------------- */

enum eotp_store_kind {
    EOTP_STORE_USER,  /* who->user / who->user_id */
    EOTP_STORE_RHOST, /* who->rhost_id */
};

/*
 * What the store holds about a user or an address, as a record (state.h:
 * lists with their windows, pending and local codes with macs wiped,
 * grace bindings), pruned by its own windows only.  *present is false
 * when nothing is held.  Read-only, no lock held afterwards.
 */
int eotp_store_show(struct eotp_store *s, const struct eotp_store_who *who,
                    enum eotp_store_kind kind, struct eotp_state *out,
                    bool *present);

/* Forget everything about a user or an address (state reset).  *existed
 * tells whether anything was held. */
int eotp_store_reset(struct eotp_store *s, const struct eotp_store_who *who,
                     enum eotp_store_kind kind, bool *existed);

/*
 * Remove what no window needs any longer (file: the hourly sweep of
 * state_dir, by each record's own windows; Redis: nothing, TTLs do it).
 * Best effort, never fails, cheap when not due.
 */
void eotp_store_sweep(struct eotp_store *s);

/* ---- generic records (for later features; optional in a backend) ------ */

/*
 * Small records for features to come (delivery status by message id,
 * rescue codes used once, notification rate limits, "address seen in 30
 * days").  ns: 1 to EOTP_STORE_NS_MAX-1 characters of [a-z0-9_]; id: a
 * keyed hash or a service id, [A-Za-z0-9_.-], 1 to 64 characters; value:
 * printable ASCII without newline, shorter than EOTP_STORE_VALUE_MAX; ttl:
 * 1 to EOTP_REC_TTL_MAX seconds (31 days; a rate_take window: 1 to
 * EOTP_WINDOW_MAX).  A backend that does not provide one
 * returns EOTP_E_INTERNAL.
 */

/* Whether id is a valid generic record id (the rules above). */
bool eotp_store_id_ok(const char *id);

/* Put (replace) a record with a TTL. */
int eotp_store_rec_put(struct eotp_store *s, const char *ns, const char *id,
                       const char *value, long ttl);

/*
 * Put a record unless it holds a value put by this call with a greater
 * order (an equal order replaces it; a value put by rec_put, or none,
 * always yields), atomically: of writers racing, across hosts too, the
 * greatest order stays, never a read-then-write's loser.  *kept tells
 * whether value was written.  order >= 0 (EOTP_STORE_ORDER_MAX at most).
 */
#define EOTP_STORE_ORDER_MAX 9007199254740991LL /* 2^53 - 1: exact in Lua */
int eotp_store_rec_put_newer(struct eotp_store *s, const char *ns,
                             const char *id, const char *value,
                             long long order, long ttl, bool *kept);

/* Get a record: *found false (value "") when absent or expired. */
int eotp_store_rec_get(struct eotp_store *s, const char *ns, const char *id,
                       char value[EOTP_STORE_VALUE_MAX], bool *found);

/*
 * The same as rec_get, but waiting at most max_ms and changing nothing,
 * for a hint that must never delay or decide a login (delivery status at
 * the prompt).  File: rec_get itself (no lock taken, nothing created).
 * Redis: one round trip on the connection the login already has, capped
 * at max_ms; never a connect (none open: EOTP_E_TRANSPORT) and never a
 * fall back to state_dir or a refusal under redis_required.  After a
 * timeout or error the connection is dropped and the next operation opens
 * a new one; later peeks of this store fail at once (at most one new
 * connection per login).  Any error means "not known".
 */
int eotp_store_rec_peek(struct eotp_store *s, const char *ns, const char *id,
                        long max_ms, char value[EOTP_STORE_VALUE_MAX],
                        bool *found);

/* Add a record only if absent (used-once tokens, nonces): *added false
 * when it was there already.  Atomic. */
int eotp_store_add_once(struct eotp_store *s, const char *ns, const char *id,
                        long ttl, bool *added);

/* A sliding-window limit on (ns, id): *wait 0 and one event recorded when
 * allowed, else the seconds until it is.  Atomic. */
int eotp_store_rate_take(struct eotp_store *s, const char *ns, const char *id,
                         const struct eotp_rate *rate, long *wait);

/* ---- opening ------------------------------------------------------------ */

/*
 * The store the config names: Redis when eotp_store_redis_wanted(cfg)
 * (store_redis.h; that function decides what happens when Redis cannot
 * be used: it may log and return the file store, or refuse when
 * redis_required), else the file store on cfg->state_dir.  Connects or
 * opens nothing yet where it can wait (the file store touches state_dir
 * on the first operation).  cfg and lg must outlive the store.
 */
int eotp_store_open(const struct eotp_cfg *cfg, const struct eotp_logger *lg,
                    struct eotp_store **out);

/* The file store on cfg->state_dir. */
int eotp_store_file_open(const struct eotp_cfg *cfg,
                         const struct eotp_logger *lg,
                         struct eotp_store **out);

/* Close and free (connections closed, keys wiped).  NULL is fine. */
void eotp_store_close(struct eotp_store *s);

/*
 * For a store that outlives one login (the callback receiver keeps one
 * for its lifetime): start the next unit of work, as a new login would.
 * Redis: a new redis_timeout budget on the open connection, and after a
 * failure (file fallback, or a closed connection) Redis is tried again
 * on the next operation.  File: nothing.  NULL is fine.
 */
void eotp_store_renew(struct eotp_store *s);

/*
 * Whether a shared backend could not be used and this store's operations
 * went to the host's state_dir instead (the Redis fallback; renew resets
 * it).  A caller whose answer must hold fleet-wide, such as a rescue code
 * that works once across the fleet, refuses then.  False for the file
 * store and for NULL.
 */
bool eotp_store_degraded(const struct eotp_store *s);

/* "file" or "redis" (logs, doctor). */
const char *eotp_store_name(const struct eotp_store *s);

/* Operations run so far (round trips for a network backend; bench). */
unsigned int eotp_store_op_count(const struct eotp_store *s);

/*
 * The key of every keyed hash that must be recognised wherever the store
 * is used: ids, grace bindings, local code macs.  File: the host key
 * (state_dir/+hostkey, created on first use: only asked for when needed,
 * so a platform login without rhost limit or grace never creates it);
 * Redis: the fleet key.  Valid until eotp_store_close().
 */
int eotp_store_key(struct eotp_store *s, const unsigned char **key);

/*
 * Fill who for user (may be NULL) and rhost (NULL or "": none; pass it
 * only when lim->rhost is on).  Asks for the key only when a hash is
 * needed.
 */
int eotp_store_who(struct eotp_store *s, const char *user, const char *rhost,
                   struct eotp_store_who *who);

/* The key of a destination for a template (pending and local codes):
 * file: sha256(template NUL dest) as in state.h; others:
 * HMAC(store key, "dest-v1" NUL template NUL dest).  Lowercase hex. */
int eotp_store_dest_key(struct eotp_store *s, const char *template_id,
                        const char *dest, char out[EOTP_STORE_ID_HEX]);

/* ---- for backends ------------------------------------------------------- */

/* The backend wants hashed user ids (eotp_store_who fills user_id). */
#define EOTP_STORE_F_HASHED_IDS 1u

/*
 * A backend: every operation above minus the store argument's checks,
 * which store.c makes (NULL pointers, lengths) before calling.  Optional
 * operations may be NULL (rec_put, rec_put_newer, rec_get, add_once, rate_take, sweep).
 */
struct eotp_store_ops {
    const char *name;
    unsigned int flags;
    int (*key)(struct eotp_store *s, unsigned char key[EOTP_STORE_KEY_LEN]);
    int (*begin)(struct eotp_store *s, const struct eotp_store_begin_req *req,
                 struct eotp_store_begin_res *res);
    int (*sent)(struct eotp_store *s, const struct eotp_store_sent_req *req,
                struct eotp_store_sent_res *res);
    int (*attempt)(struct eotp_store *s, const struct eotp_store_who *who,
                   const struct eotp_store_limits *lim,
                   enum eotp_store_verdict *verdict, long *wait,
                   struct eotp_store_token *tok);
    int (*finish)(struct eotp_store *s,
                  const struct eotp_store_finish_req *req, long *wait);
    int (*check)(struct eotp_store *s, const struct eotp_store_check_req *req,
                 enum eotp_store_verdict *verdict, long *wait);
    int (*show)(struct eotp_store *s, const struct eotp_store_who *who,
                enum eotp_store_kind kind, struct eotp_state *out,
                bool *present);
    int (*reset)(struct eotp_store *s, const struct eotp_store_who *who,
                 enum eotp_store_kind kind, bool *existed);
    void (*sweep)(struct eotp_store *s);
    int (*rec_put)(struct eotp_store *s, const char *ns, const char *id,
                   const char *value, long ttl);
    int (*rec_put_newer)(struct eotp_store *s, const char *ns, const char *id,
                         const char *value, long long order, long ttl,
                         bool *kept);
    int (*rec_get)(struct eotp_store *s, const char *ns, const char *id,
                   char value[EOTP_STORE_VALUE_MAX], bool *found);
    /* NULL: rec_get (a backend whose reads never wait). */
    int (*rec_peek)(struct eotp_store *s, const char *ns, const char *id,
                    long max_ms, char value[EOTP_STORE_VALUE_MAX],
                    bool *found);
    int (*add_once)(struct eotp_store *s, const char *ns, const char *id,
                    long ttl, bool *added);
    int (*rate_take)(struct eotp_store *s, const char *ns, const char *id,
                     const struct eotp_rate *rate, long *wait);
    /* eotp_store_renew(); may be NULL. */
    void (*renew)(struct eotp_store *s);
    /* eotp_store_degraded(); may be NULL (never degraded). */
    bool (*degraded)(const struct eotp_store *s);
    /* Free impl (the store itself is freed by store.c). */
    void (*close)(struct eotp_store *s);
};

/* Made by a backend's open function with eotp_store_new(). */
struct eotp_store {
    const struct eotp_store_ops *ops;
    void *impl; /* the backend's own */
    const struct eotp_cfg *cfg;
    const struct eotp_logger *lg;
    unsigned int nops;
    bool have_key;
    unsigned char key[EOTP_STORE_KEY_LEN];
};

/* A zeroed store for ops and impl (EOTP_E_NOMEM). */
int eotp_store_new(const struct eotp_store_ops *ops, void *impl,
                   const struct eotp_cfg *cfg, const struct eotp_logger *lg,
                   struct eotp_store **out);

#endif
