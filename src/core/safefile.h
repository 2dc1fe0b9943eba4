/*
 * safefile.h - open files that must be trustworthy: regular, not a
 * symlink, owned by root, not writable (or, for secrets, not readable)
 * by group or others, and not larger than a bound.  All checks are made
 * with fstat() on the open descriptor.
 */
#ifndef EOTP_SAFEFILE_H
#define EOTP_SAFEFILE_H

#include <stddef.h>

enum eotp_sf_policy {
    EOTP_SF_SECRET, /* owner root, no group/other permission at all */
    EOTP_SF_PUBLIC, /* owner root, no group/other write */
};

/*
 * Open path for reading and check it.  On success *fd is an open
 * descriptor (O_CLOEXEC) and 0 is returned.  Errors:
 *   EOTP_E_FILE   the file is missing or cannot be read (errno kept
 *                 in the message)
 *   EOTP_E_CONFIG the file exists but is not trustworthy
 * why (size whylen) receives a short explanation on failure.
 */
int eotp_safefile_open(const char *path, enum eotp_sf_policy policy,
                       size_t max_size, int *fd, char *why, size_t whylen);

/*
 * Open, check and read the whole file into a NUL-terminated buffer that
 * the caller frees with eotp_freezero(*buf, *len + 1).
 */
int eotp_safefile_read(const char *path, enum eotp_sf_policy policy,
                       size_t max_size, char **buf, size_t *len, char *why,
                       size_t whylen);

#endif
