/* SPDX-License-Identifier: Apache-2.0 */
/*
 * limits.c - sliding windows over event timestamps.
 */
#include "limits.h"

#include "secret.h"

#include <stdio.h>
#include <string.h>

bool eotp_rate_on(const struct eotp_rate *rate)
{
    return rate->count > 0 && rate->seconds > 0;
}

void eotp_events_prune(struct eotp_events *ev, long window, long long now)
{
    size_t o = 0;

    for (size_t i = 0; i < ev->n; i++) {
        long long t = ev->t[i];

        /* Keep events inside the window; one from further in the future
         * than a whole window means a broken clock or record. */
        if (t > now - window && t <= now + window) {
            ev->t[o++] = t;
        }
    }
    ev->n = o;
}

void eotp_events_add(struct eotp_events *ev, long long now)
{
    size_t i;

    if (ev->n == EOTP_EVENTS_MAX) {
        memmove(&ev->t[0], &ev->t[1],
                (EOTP_EVENTS_MAX - 1) * sizeof(ev->t[0]));
        ev->n--;
    }
    /* Keep the list sorted (the clock may have stepped back). */
    for (i = ev->n; i > 0 && ev->t[i - 1] > now; i--) {
        ev->t[i] = ev->t[i - 1];
    }
    ev->t[i] = now;
    ev->n++;
}

bool eotp_events_remove(struct eotp_events *ev, long long t)
{
    for (size_t i = ev->n; i > 0; i--) {
        if (ev->t[i - 1] == t) {
            memmove(&ev->t[i - 1], &ev->t[i], (ev->n - i) * sizeof(ev->t[0]));
            ev->n--;
            return true;
        }
    }
    return false;
}

size_t eotp_events_count(const struct eotp_events *ev, long window,
                         long long now)
{
    size_t n = 0;

    for (size_t i = 0; i < ev->n; i++) {
        if (ev->t[i] > now - window) {
            n++;
        }
    }
    return n;
}

long eotp_rate_wait(const struct eotp_events *ev, const struct eotp_rate *rate,
                    long long now)
{
    size_t limit;
    size_t first = ev->n;
    size_t in;
    long long wait;

    if (!eotp_rate_on(rate)) {
        return 0;
    }
    limit = rate->count > EOTP_EVENTS_MAX ? EOTP_EVENTS_MAX
                                          : (size_t)rate->count;
    for (size_t i = 0; i < ev->n; i++) {
        if (ev->t[i] > now - rate->seconds) {
            first = i;
            break;
        }
    }
    in = ev->n - first;
    if (in < limit) {
        return 0;
    }
    /* Allowed once the oldest of the newest `limit` events leaves the
     * window (the list is sorted). */
    wait = ev->t[ev->n - limit] + rate->seconds - now;
    if (wait < 1) {
        wait = 1;
    }
    if (wait > 2L * rate->seconds) {
        wait = 2L * rate->seconds;
    }
    return (long)wait;
}

static long need_of(const struct eotp_rate *rate)
{
    return eotp_rate_on(rate) ? rate->seconds : 0;
}

void eotp_limits_prune_user(struct eotp_state *st, const struct eotp_cfg *cfg,
                            long long now)
{
    struct eotp_state_need need;

    need.send = need_of(&cfg->send_limit);
    need.wrong = need_of(&cfg->lockout);
    need.grace = cfg->grace_period > 0 ? cfg->grace_period : 0;
    eotp_state_prune(st, &need, now);
}

void eotp_limits_prune_rhost(struct eotp_state *st, const struct eotp_cfg *cfg,
                             long long now)
{
    struct eotp_state_need need = {need_of(&cfg->rhost_send_limit), 0, 0};

    /* An address record holds sends only. */
    st->wrong.n = 0;
    st->npending = 0;
    st->ncodes = 0;
    st->ngrace = 0;
    eotp_state_prune(st, &need, now);
}

char *eotp_limits_wait_text(long seconds, char *buf, size_t len)
{
    if (seconds < 1) {
        seconds = 1;
    }
    if (seconds < 60) {
        (void)snprintf(buf, len, "%ld second%s", seconds,
                       seconds == 1 ? "" : "s");
    } else {
        long minutes = (seconds + 59) / 60;

        (void)snprintf(buf, len, "%ld minute%s", minutes,
                       minutes == 1 ? "" : "s");
    }
    return buf;
}
