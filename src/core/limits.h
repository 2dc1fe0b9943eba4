/* SPDX-License-Identifier: Apache-2.0 */
/*
 * limits.h - sliding-window limits over the event lists of a state record:
 * send_limit (codes sent to a user), rhost_send_limit (codes requested
 * from one remote address) and lockout (wrong codes of a user).
 *
 * A limit "N/SECONDS" allows an event when fewer than N events happened in
 * the last SECONDS seconds.  Records keep at most EOTP_EVENTS_MAX events,
 * so a larger N acts as EOTP_EVENTS_MAX (stricter, never looser).
 */
#ifndef EOTP_LIMITS_H
#define EOTP_LIMITS_H

#include "cfg.h"
#include "state.h"

#include <stdbool.h>
#include <stddef.h>

/* Is the limit on (count > 0)? */
bool eotp_rate_on(const struct eotp_rate *rate);

/* Drop events older than window seconds (and absurd future ones). */
void eotp_events_prune(struct eotp_events *ev, long window, long long now);

/* Record an event at now (the oldest is dropped when the list is full). */
void eotp_events_add(struct eotp_events *ev, long long now);

/* Remove one event at time t (a reservation given back); false if none. */
bool eotp_events_remove(struct eotp_events *ev, long long t);

/* Events in the last window seconds. */
size_t eotp_events_count(const struct eotp_events *ev, long window,
                         long long now);

/*
 * Seconds until one more event is allowed under rate (0: allowed now;
 * always 0 when the limit is off).
 */
long eotp_rate_wait(const struct eotp_events *ev, const struct eotp_rate *rate,
                    long long now);

/*
 * Drop everything in a user record that can no longer count, under the
 * windows of cfg and those recorded in the record (eotp_state_prune):
 * a config with a limit off or a shorter window never shortens what
 * another config recorded.
 */
void eotp_limits_prune_user(struct eotp_state *st, const struct eotp_cfg *cfg,
                            long long now);

/* The same for a remote address record (which holds sends only). */
void eotp_limits_prune_rhost(struct eotp_state *st, const struct eotp_cfg *cfg,
                             long long now);

/* "45 seconds", "1 minute", "12 minutes" (rounded up) into buf. */
char *eotp_limits_wait_text(long seconds, char *buf, size_t len);

#endif
