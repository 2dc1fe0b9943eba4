/* SPDX-License-Identifier: Apache-2.0 */
/*
 * safefile.h - open files that must be trustworthy: regular, not a
 * symlink, owned by root, not writable (or, for secrets, not readable)
 * by group or others, and not larger than a bound; and every directory
 * on the way to it owned by root and not writable by group or others
 * (unless it has the sticky bit, as /tmp), so that nobody but root can
 * put another file at the path.  The path is walked one name at a time
 * from "/" with openat(); a symbolic link on the way is followed only
 * if it lives in such a directory, and the file itself is opened with
 * O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC (a FIFO never blocks, a link is
 * refused) and checked with fstat() on the open descriptor.
 */
#ifndef EOTP_SAFEFILE_H
#define EOTP_SAFEFILE_H

#include <stddef.h>

enum eotp_sf_policy {
    EOTP_SF_SECRET, /* owner root, no group/other permission at all */
    EOTP_SF_PUBLIC, /* owner root, no group/other write */
};

/* Why a file was refused, for callers that choose a fix to suggest. */
enum eotp_sf_reason {
    EOTP_SF_OK = 0,
    EOTP_SF_UNREADABLE,  /* missing or cannot be opened (EOTP_E_FILE) */
    EOTP_SF_SYMLINK,     /* the path names a symbolic link */
    EOTP_SF_NOT_REGULAR, /* a FIFO, socket, device or directory */
    EOTP_SF_OWNER,       /* not owned by root */
    EOTP_SF_MODE,        /* group/other may write it (read: a secret) */
    EOTP_SF_PARENT,      /* a directory on the way is not root's alone */
    EOTP_SF_TOO_BIG,     /* larger than the bound */
    EOTP_SF_IO,          /* stat or read failed, or no memory */
};

/* Largest CA bundle or other trust file checked by path. */
#define EOTP_TRUST_FILE_MAX (16 * 1024 * 1024)

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

/*
 * The check for a trust file that another library opens by name (a CA
 * bundle for libcurl or libldap, and every trust file added later):
 * open, check as eotp_safefile_open() does, close.  Since every
 * directory on the way must be root's alone, nobody but root can swap
 * the file between this check and the library's open.  Same return
 * values; *reason (may be NULL) says why a file was refused and why
 * (may be NULL) gets the text, e.g. "mode 0666 lets group/other write".
 * Use EOTP_SF_PUBLIC and EOTP_TRUST_FILE_MAX for CA files.
 */
int eotp_safefile_check(const char *path, enum eotp_sf_policy policy,
                        size_t max_size, enum eotp_sf_reason *reason,
                        char *why, size_t whylen);

/*
 * The length of the one line a secret file (a password file) holds: its
 * text without one trailing "\n" or "\r\n".  0 when that is empty, or
 * holds a NUL or another newline: the caller refuses the file.
 */
size_t eotp_secret_line_len(const char *buf, size_t len);

/* A fixed word for a reason, for log fields: "symlink", "owner"... */
const char *eotp_sf_reason_name(enum eotp_sf_reason reason);

#endif
