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

/*
 * Find user in the map at path (root-owned, not group/other writable).
 * Returns 0 and fills *out, EOTP_E_UNMAPPED when no valid line names the
 * user, EOTP_E_FILE when the map cannot be read, EOTP_E_CONFIG when it is
 * not trustworthy.  Malformed lines met on the way are logged with their
 * line number and never match.
 */
int eotp_usermap_lookup(const char *path, const char *user,
                        const struct eotp_logger *lg, struct eotp_dests *out);

/*
 * Read the whole map and log every malformed line (for the doctor).
 * *lines counts mapping lines, *bad malformed ones.
 */
int eotp_usermap_check(const char *path, const struct eotp_logger *lg,
                       unsigned long *lines, unsigned long *bad);

/*
 * Parse one line in place (comments and blank lines give EOTP_E_NOT_FOUND).
 * On success *user points into line and out holds copies of the
 * destinations.  EOTP_E_CONFIG: malformed.
 */
int eotp_usermap_parse_line(char *line, char **user, struct eotp_dests *out);

#endif
