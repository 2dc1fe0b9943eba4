/*
 * lookup.c - user sources.
 */
#include "lookup.h"

#include "err.h"

#include <stdio.h>

int eotp_lookup_dests(const struct eotp_cfg *cfg, const char *user,
                      const struct eotp_logger *lg, struct eotp_dests *out,
                      char *source, size_t source_len)
{
    int r = eotp_usermap_lookup(cfg->user_map, user, lg, out);

    if (r == EOTP_OK && source != NULL && source_len > 0) {
        (void)snprintf(source, source_len, "map %s line %lu", cfg->user_map,
                       out->lineno);
    }
    return r;
}
