/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notify.h - telling a user about their own logins (issue 16): a notice
 * through POST /v1/custom-messages to the user's destination when the
 * lockout is reached, a rescue code is used, failmode = open let someone
 * in without a code, a login succeeds, or one comes from an address not
 * seen for this user in 30 days.
 *
 * Best effort: a notice is sent after the login's verdict is known, with
 * its own short timeout (notify_timeout) inside what is left of the
 * login's deadline; whatever happens to it never changes the outcome.
 * Its params are user, host, service, rhost, event and time, never a
 * code, a secret or a destination.  At most notify_limit notices per user
 * (the store's rate_take), one per event.  One log line per notice.
 */
#ifndef EOTP_NOTIFY_H
#define EOTP_NOTIFY_H

#include "api.h"
#include "cfg.h"
#include "log.h"
#include "otp.h"
#include "store.h"

#include <stdbool.h>

enum eotp_notify_event {
    EOTP_NOTIFY_LOCKOUT = 0, /* the login that reached the lockout */
    EOTP_NOTIFY_RESCUE,      /* a rescue code was used */
    EOTP_NOTIFY_BYPASS,      /* failmode = open let the login through */
    EOTP_NOTIFY_SUCCESS,     /* a successful login */
    EOTP_NOTIFY_NEW_RHOST,   /* success from an address new in 30 days */
};
#define EOTP_NOTIFY_EVENTS 5
#define EOTP_NOTIFY_EVENT_NAMES "lockout, rescue, bypass, success, new_rhost"

/* notify_on when notify_template is set and notify_on is not. */
#define EOTP_NOTIFY_DEFAULT_ON "lockout, rescue, bypass"
/* notify_timeout's default (ms). */
#define EOTP_NOTIFY_TIMEOUT_DEFAULT 2000L
/* notify_limit's default: 5 notices per user per hour. */
#define EOTP_NOTIFY_LIMIT_COUNT 5L
#define EOTP_NOTIFY_LIMIT_SECONDS 3600L
/* An address is new when not seen for the user this long. */
#define EOTP_NOTIFY_SEEN_TTL (30L * 86400)

/* The store namespaces of notify.c's records. */
#define EOTP_NOTIFY_NS_SEEN "seen"     /* (user, address) seen */
#define EOTP_NOTIFY_NS_RATE "notify"   /* notify_limit per user */
#define EOTP_NOTIFY_NS_ONCE "notified" /* one lockout notice per lockout */

/* "lockout", ... for ev; "unknown" for anything else. */
const char *eotp_notify_event_name(enum eotp_notify_event ev);

/* The event named name, or -1. */
int eotp_notify_event_from_name(const char *name);

/*
 * Does cfg send notices of ev?  False without notify_template; with it,
 * notify_on decides (EOTP_NOTIFY_DEFAULT_ON when unset).
 */
bool eotp_notify_wants(const struct eotp_cfg *cfg, enum eotp_notify_event ev);

/* What a notice needs from the login that raises it. */
struct eotp_notify_ctx {
    const struct eotp_cfg *cfg;
    const struct eotp_login *login; /* the account's canonical name */
    const struct eotp_logger *lg;
    struct eotp_store *store; /* the login's store */
    /* The login's API client: its deadline left caps the notice. */
    struct eotp_api *api;
    const char *dest; /* where the user's codes go; NULL: none known */
};

/*
 * Send the notice of ev when cfg wants it (see eotp_notify_wants).
 * EOTP_NOTIFY_SUCCESS becomes EOTP_NOTIFY_NEW_RHOST when new_rhost is on
 * and the login's address was not seen for the user in 30 days (the
 * address is recorded, keyed, for 30 days on every success while
 * new_rhost is on); with success off, only such a login sends.  For
 * EOTP_NOTIFY_LOCKOUT use eotp_notify_lockout().
 *
 * Returns 0 when a notice was sent or none was wanted, else why not
 * (EOTP_E_RATE_LIMIT, a store error, an API error...), already logged.
 * Callers ignore it: a notice never changes a login's outcome.
 */
int eotp_notify_event(const struct eotp_notify_ctx *ctx,
                      enum eotp_notify_event ev);

/*
 * The lockout notice, once per lockout: wait is how long the lockout
 * lasts (seconds); a marker kept that long in the store keeps other
 * sessions that meet the same lockout from sending it again.
 */
int eotp_notify_lockout(const struct eotp_notify_ctx *ctx, long wait);

/*
 * After "state reset USER": the user's lockout notice marker expires
 * within a second, so that a new lockout is told again.
 */
int eotp_notify_forget_lockout(struct eotp_store *s, const char *user);

#endif
