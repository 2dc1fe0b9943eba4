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
 * Look the user up in the configured sources, first hit wins.  On success
 * out holds the destinations and source names where they came from
 * ("map line 12").  EOTP_E_UNMAPPED when no source knows the user.
 */
int eotp_lookup_dests(const struct eotp_cfg *cfg, const char *user,
                      const struct eotp_logger *lg, struct eotp_dests *out,
                      char *source, size_t source_len);

#endif
