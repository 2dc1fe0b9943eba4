/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lookup.h - find a user's destinations in the configured sources.
 */
#ifndef EOTP_LOOKUP_H
#define EOTP_LOOKUP_H

#include "cfg.h"
#include "log.h"
#include "usermap.h"

#include <stddef.h>

/*
 * Look the user up in the sources of user_sources, in order; the first
 * that knows the user wins.  On success out holds the destinations and
 * source (may be NULL) says where they came from: "map /etc/... line 12",
 * "ldap ldap://127.0.0.1:3890 attribute mobile".
 * EOTP_E_UNMAPPED when no source knows the user.  A directory that could
 * not be used does not stop the walk (a later map may know the user), but
 * if no later source does, its EOTP_E_LDAP is returned, not
 * EOTP_E_UNMAPPED.  Other errors (EOTP_E_CONFIG, EOTP_E_FILE,
 * EOTP_E_NOMEM) stop the walk and are returned.
 */
int eotp_lookup_dests(const struct eotp_cfg *cfg, const char *user,
                      const struct eotp_logger *lg, struct eotp_dests *out,
                      char *source, size_t source_len);

#endif
