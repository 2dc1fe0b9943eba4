/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lookup.c - user sources, walked in the order of user_sources.
 *
 * The first source that knows the user wins.  A source that does not know
 * the user (EOTP_E_UNMAPPED) passes to the next one.  A directory that
 * cannot be used (EOTP_E_LDAP) also passes to the next one, so a local
 * map after it serves as a fallback; but when no later source knows the
 * user the directory failure is the answer, never "unmapped": with
 * unmapped = ignore, a directory outage must not turn into a skipped
 * second factor.  Any other error (bad config, unreadable or untrusted
 * map, ambiguous directory entry, no memory) ends the walk.
 */
#include "lookup.h"

#include "err.h"
#include "ldap.h"

#include <stdio.h>
#include <string.h>

#define SOURCE_NAME_MAX 16

int eotp_lookup_dests(const struct eotp_cfg *cfg, const char *user,
                      const struct eotp_logger *lg, struct eotp_dests *out,
                      char *source, size_t source_len)
{
    const char *cur = cfg->user_sources != NULL ? cfg->user_sources : "map";
    char name[SOURCE_NAME_MAX];
    int failure = EOTP_OK; /* the first service failure met */
    int r = EOTP_E_UNMAPPED;

    while (eotp_list_next(&cur, name, sizeof(name))) {
        struct eotp_dests d = {{NULL}, 0, 0};

        if (strcmp(name, "map") == 0) {
            struct eotp_usermap_opts mo = {cfg->default_country_code,
                                           cfg->state_dir};

            r = eotp_usermap_lookup(cfg->user_map, user, &mo, lg, &d);
            if (r == EOTP_OK && source != NULL && source_len > 0) {
                (void)snprintf(source, source_len, "map %s line %lu",
                               cfg->user_map, d.lineno);
            }
        } else if (strcmp(name, "ldap") == 0) {
            r = eotp_ldap_lookup(cfg, user, lg, &d, source, source_len);
        } else {
            char safe[EOTP_FIELD_MAX];

            eotp_log(lg, LOG_ALERT, "config: unknown user source source=%s",
                     eotp_sanitize(safe, sizeof(safe), name, true));
            r = EOTP_E_CONFIG;
        }
        if (r == EOTP_OK) {
            eotp_debug(lg, "lookup: destination from source=%s", name);
            *out = d;
            return EOTP_OK;
        }
        if (r == EOTP_E_UNMAPPED) {
            continue;
        }
        if (eotp_err_is_service_failure(r)) {
            if (failure == EOTP_OK) {
                failure = r;
            }
            continue;
        }
        return r;
    }
    return failure != EOTP_OK ? failure : EOTP_E_UNMAPPED;
}
