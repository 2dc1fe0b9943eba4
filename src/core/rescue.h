/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rescue.h - rescue codes: one-time codes that let a user in when the
 * code service cannot be used or the phone is lost (issue 16).
 *
 * A code is 12 symbols of Crockford's base32 (60 bits from the CSPRNG),
 * shown as XXXX-XXXX-XXXX.  No OTP can look like one: an OTP has at most
 * 10 characters.  Input is taken case-insensitively, with or without
 * dashes and spaces, O read as 0 and I or L as 1.
 *
 * The rescue file (rescue_file, default /etc/security/engagelab_otp_rescue)
 * holds only yescrypt hashes of the codes.  It must be root's, mode 0600
 * (no group/other permission), in directories only root can write, and is
 * checked like every trusted file (safefile.h) each time it is read; a
 * file that fails the check is not used and the reason is logged.
 *
 * Format: text, one line per user, at most EOTP_RESCUE_LINE_MAX bytes:
 *
 *     USER ISSUED HASH [HASH...]
 *
 * separated by single spaces; USER is the account's pw_name, ISSUED the
 * time the set was issued (seconds since the epoch), each HASH a crypt(3)
 * yescrypt hash ("$y$...") of a code in canonical form (12 upper-case
 * symbols, no dash).  A used code's hash has its leading '$' replaced by
 * '!' (rewritten in place, the same length).  Lines starting with '#'
 * and empty lines are ignored.  A line that does not parse, or a second
 * line for the same user, makes the whole file unusable.
 *
 * Used codes.  A code is used once: the state store records it
 * (eotp_store_add_once, namespace "rescue", id HMAC(store key, "rescue-v1"
 * NUL user NUL hash)) - with Redis fleet-wide - and the host's rescue file
 * marks it for good.  A code is unused when neither says otherwise.
 *
 * Lifetime.  A set is accepted for EOTP_RESCUE_LIFE after it was issued,
 * and the store keeps a used mark until the set's end (and a day), so a
 * code used on one host stays refused on every host sharing the store for
 * as long as any host's copy of the file could accept it.  An expired set
 * is not used (logged); "rescue issue" makes a new one.
 */
#ifndef EOTP_RESCUE_H
#define EOTP_RESCUE_H

#include "cfg.h"
#include "log.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>

#define EOTP_RESCUE_SYMBOLS 12  /* 60 bits */
#define EOTP_RESCUE_CODE_LEN 14 /* XXXX-XXXX-XXXX */
#define EOTP_RESCUE_MAX 20 /* codes per user: each wrong guess hashes all */
#define EOTP_RESCUE_DEFAULT 10   /* rescue issue without --count */
#define EOTP_RESCUE_HASH_MAX 128 /* a hash's text, NUL included */
#define EOTP_RESCUE_LINE_MAX 16384
#define EOTP_RESCUE_FILE_MAX (8 * 1024 * 1024)
#define EOTP_RESCUE_NS "rescue"
#define EOTP_RESCUE_LIFE (365L * 86400) /* a set is accepted this long */

/* Whether a set issued at issued is past its life at now (a set issued
 * more than a day in the future counts as expired: a broken clock). */
bool eotp_rescue_expired(long long issued, long long now);

/* One user's set, as its line holds it. */
struct eotp_rescue_set {
    char user[257];
    long long issued;
    size_t n;
    char hash[EOTP_RESCUE_MAX][EOTP_RESCUE_HASH_MAX]; /* '!' first: used */
};

/* ---- codes ---------------------------------------------------------------- */

/*
 * A new code: 60 random bits as XXXX-XXXX-XXXX (out at least
 * EOTP_RESCUE_CODE_LEN + 1).  EOTP_E_INTERNAL when the CSPRNG fails.
 */
int eotp_rescue_generate(char *out, size_t outlen);

/*
 * Whether answer has a rescue code's shape; if so its canonical form (12
 * symbols, upper case, O->0, I/L->1) goes to canon (at least
 * EOTP_RESCUE_SYMBOLS + 1).  canon is wiped otherwise.
 */
bool eotp_rescue_shaped(const char *answer, char *canon, size_t canonlen);

/* The yescrypt hash of a canonical code, with a fresh salt. */
int eotp_rescue_hash(const char *canon, char out[EOTP_RESCUE_HASH_MAX]);

/* Whether canon matches hash (a used mark '!' is read as '$'). */
bool eotp_rescue_match(const char *canon, const char *hash);

/* ---- the file ------------------------------------------------------------- */

/*
 * Parse one line (without its newline) into set.  0, or EOTP_E_CONFIG
 * when it is not a valid line.
 */
int eotp_rescue_parse_line(const char *line, size_t len,
                           struct eotp_rescue_set *set);

/* The line of a set, with its newline.  EOTP_E_INTERNAL if too long. */
int eotp_rescue_format_line(const struct eotp_rescue_set *set, char *buf,
                            size_t buflen);

/*
 * Find user's set in the text of a rescue file.  *found false when the
 * user has no line.  EOTP_E_CONFIG when the text is not a valid file
 * (why gets the line number).
 */
int eotp_rescue_find(const char *text, size_t len, const char *user,
                     struct eotp_rescue_set *set, bool *found, char *why,
                     size_t whylen);

/* What a rescue file holds, for doctor (eotp_rescue_survey()). */
struct eotp_rescue_survey {
    size_t users;    /* user lines */
    size_t expired;  /* sets past their life (not used) */
    size_t expiring; /* sets whose life ends within `soon` seconds */
    size_t spent;    /* sets whose every code the file marks used */
    char first_expired[257], first_expiring[257], first_spent[257];
};

/*
 * Survey a whole rescue file's text at now: every line must parse, as at
 * a login (EOTP_E_CONFIG, why with the line number, when one does not:
 * then no rescue code works on this host).  Codes used on other hosts
 * (the store's marks) are not counted as used here.
 */
int eotp_rescue_survey(const char *text, size_t len, long long now,
                       long long soon, struct eotp_rescue_survey *out,
                       char *why, size_t whylen);

/*
 * Read the whole rescue file at path, checked as a trusted secret file
 * (*buf NUL-terminated, wipe and free it; eotp_freezero(*buf, *len + 1)).
 * *present false, nothing read, when there is no file.  EOTP_E_CONFIG
 * (why says why) when it exists but is untrusted.
 */
int eotp_rescue_read(const char *path, char **buf, size_t *len, bool *present,
                     char *why, size_t whylen);

/*
 * Read user's set from path, checked as a trusted secret file.  *found
 * false when there is no file or no line for the user.  EOTP_E_CONFIG
 * (why says why) when the file exists but is untrusted or invalid.
 */
int eotp_rescue_load(const char *path, const char *user,
                     struct eotp_rescue_set *set, bool *found, char *why,
                     size_t whylen);

/*
 * Replace user's line in path with set's (set NULL: remove it), for the
 * admin tool: under a lock (path".lock", and the file's own lock, which
 * the module takes to mark a code used), a temp file in the same
 * directory, fsync, rename, fsync of the directory.  Other lines are kept
 * as they are.  *existed tells whether the user had a line.  The file is
 * created (0600) when missing; an untrusted or invalid file is refused
 * (EOTP_E_CONFIG, why).
 */
int eotp_rescue_update(const char *path, const char *user,
                       const struct eotp_rescue_set *set, bool *existed,
                       char *why, size_t whylen);

/*
 * Mark hash used in user's line of path, in place (no new file), under
 * the file's lock.  0 also when the line or hash is gone (reissued).
 */
int eotp_rescue_mark_file(const char *path, const char *user, const char *hash,
                          char *why, size_t whylen);

/* ---- used codes in the store -------------------------------------------- */

/* The store id of a code of user's: HMAC(key, "rescue-v1" NUL user NUL
 * hash) with the hash's used mark read as '$'. */
int eotp_rescue_id(struct eotp_store *s, const char *user, const char *hash,
                   char id[EOTP_STORE_ID_HEX]);

/* Whether the hash at set->hash[i] is used (file mark or store record). */
int eotp_rescue_is_used(struct eotp_store *s,
                        const struct eotp_rescue_set *set, size_t i,
                        bool *used);

/* How many of set's codes are unused. */
int eotp_rescue_left(struct eotp_store *s, const struct eotp_rescue_set *set,
                     size_t *left);

/* ---- a login ---------------------------------------------------------------- */

struct eotp_rescue_login {
    const struct eotp_cfg *cfg;
    const struct eotp_logger *lg;
    struct eotp_store *store;
    const struct eotp_store_who *who;
    const struct eotp_store_limits *lim;
    const char *user;    /* canonical */
    const char *log_ids; /* "user=... service=... rhost=..." sanitised */
};

enum eotp_rescue_verdict {
    EOTP_RESCUE_RIGHT = 0, /* an unused code: now used */
    EOTP_RESCUE_WRONG,     /* no unused code matched (counted: lockout) */
    EOTP_RESCUE_ALL_USED,  /* the user's codes are all used (not counted) */
    EOTP_RESCUE_NONE,      /* no codes (or the file is unusable) */
    EOTP_RESCUE_LOCKED,    /* the lockout is reached (*wait) */
};

/*
 * What the user has: *have false when there is no usable set (a file
 * that fails the checks is logged), else *left unused codes.
 * EOTP_E_FLEET_UNAVAIL (with *have true) when the store is a shared one
 * that could not be used (eotp_store_degraded): uses on other hosts are
 * unknown, so no code can be taken as unused.
 */
int eotp_rescue_available(const struct eotp_rescue_login *rl, bool *have,
                          size_t *left);

/*
 * Check a rescue-shaped answer (canonical form) against the user's
 * hashes: the lockout first (eotp_store_attempt), then every unused hash;
 * a match is recorded used in the store (atomically: a code used
 * elsewhere at the same moment is refused here) and marked in the file;
 * the verdict ends the attempt (eotp_store_finish), so a wrong code
 * counts toward the lockout exactly as a wrong OTP does.  *wait > 0 with
 * WRONG when this answer reached the lockout.  EOTP_E_FLEET_UNAVAIL when
 * the shared store could not be used (eotp_store_degraded): a use must
 * hold on every host, so the code is not accepted.
 */
int eotp_rescue_check(const struct eotp_rescue_login *rl, const char *canon,
                      enum eotp_rescue_verdict *verdict, long *wait);

#endif
