/* SPDX-License-Identifier: Apache-2.0 */
/*
 * grace.h - grace_period: after a successful code, the same user on the
 * same PAM service from the same remote host may skip the code for
 * grace_period seconds.  When sshd passed SSH_AUTH_INFO_0, the public key
 * line(s) in it are part of the binding, so another key does not inherit
 * the grace.  Only a keyed hash of the binding is stored.
 */
#ifndef EOTP_GRACE_H
#define EOTP_GRACE_H

#include "otp.h"
#include "state.h"

#include <stdbool.h>

/*
 * HMAC-SHA256(host key, "grace-v1" NUL user NUL service NUL rhost NUL
 * ssh) where ssh is "-" without SSH_AUTH_INFO_0 and otherwise the SHA-256
 * of its "publickey ..." lines (in order, each ended by a newline).
 */
int eotp_grace_binding(const unsigned char key[EOTP_HOSTKEY_LEN],
                       const struct eotp_login *login, char hex[EOTP_HEX256]);

/*
 * A binding recorded less than period seconds ago?  *since receives the
 * time it was recorded.
 */
bool eotp_grace_find(const struct eotp_state *st, const char *mac, long period,
                     long long now, long long *since);

/* Record a binding at now (replacing an older one for it). */
void eotp_grace_put(struct eotp_state *st, const char *mac, long long now);

#endif
