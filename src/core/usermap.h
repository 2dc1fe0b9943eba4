/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usermap.h - the user map file: "username:destination[,destination...]"
 * per line, '#' comments.  The file is streamed, never loaded whole.
 */
#ifndef EOTP_USERMAP_H
#define EOTP_USERMAP_H

#include "log.h"

#include <stddef.h>

#define EOTP_USERMAP_MAX_SIZE (1024UL * 1024 * 1024)
#define EOTP_USERMAP_LINE_MAX 1024
#define EOTP_MAX_DESTS 4

struct eotp_dests {
    char *dest[EOTP_MAX_DESTS]; /* dest[0] is the primary destination */
    size_t n;
    unsigned long lineno; /* where it came from (map), 0 otherwise */
};

void eotp_dests_free(struct eotp_dests *d);

/* How to read the map at a login. */
struct eotp_usermap_opts {
    const char *default_cc; /* default_country for national numbers, or NULL */
    const char *state_dir;  /* where a checked map is remembered, or NULL */
};

/*
 * Find user in the map at path (root-owned, not group/other writable).
 * Destinations are normalised as directory values are (phone.h): phone
 * numbers may be written with spaces, '-', '.' and parentheses, national
 * numbers need default_cc.  Returns 0 and fills *out, EOTP_E_UNMAPPED when
 * no line names the user, EOTP_E_CONFIG when the first line naming the
 * user cannot be read (logged with its number and what is wrong) or the
 * map is not trustworthy, EOTP_E_FILE when the map cannot be read.
 * Malformed lines of other users are logged once per change of the map:
 * a map whose identity (device, inode, times, size) or content (sha256),
 * and default_cc, match what state_dir records was checked already, and
 * only the user's line is read (see usermap.c).  opts may be NULL.
 */
int eotp_usermap_lookup(const char *path, const char *user,
                        const struct eotp_usermap_opts *opts,
                        const struct eotp_logger *lg, struct eotp_dests *out);

/*
 * Read the whole map and log every malformed line with what is wrong (for
 * the doctor; always, whatever state_dir remembers).  *lines counts
 * mapping lines, *bad malformed ones.
 */
int eotp_usermap_check(const char *path, const char *default_cc,
                       const struct eotp_logger *lg, unsigned long *lines,
                       unsigned long *bad);

/*
 * Parse one line in place (comments and blank lines give EOTP_E_NOT_FOUND).
 * On success *user points into line and out holds the normalised
 * destinations.  EOTP_E_CONFIG: malformed.
 */
int eotp_usermap_parse_line(char *line, const char *default_cc, char **user,
                            struct eotp_dests *out);

#endif
