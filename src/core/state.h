/*
 * state.h - per-user state in state_dir, shared by the separate processes
 * that sshd starts for each login attempt.
 *
 * One small text file per user, replaced atomically (temp file + rename)
 * while holding an flock on the user's lock file.  A missing, corrupt or
 * truncated file reads as empty (and is logged): never a crash.
 */
#ifndef EOTP_STATE_H
#define EOTP_STATE_H

#include "api.h"
#include "log.h"

#include <stdbool.h>
#include <time.h>

#define EOTP_STATE_MAX_SIZE 8192
/* A pending code is reused at most this long (the longest template TTL
 * is 10 minutes, plus slack). */
#define EOTP_PENDING_MAX_AGE (11 * 60)

struct eotp_state {
    /* The code most recently sent to this user and not yet used. */
    char pending_id[EOTP_MSGID_MAX + 1];
    char pending_key[65]; /* sha256(template '\0' destination), hex */
    char pending_channel[EOTP_CHANNEL_MAX + 1];
    long long pending_time; /* unix seconds; 0: none */
};

struct eotp_state_handle {
    int dirfd;
    int lockfd;
    char name[256]; /* encoded user name, the file's base name */
    const struct eotp_logger *lg;
};

/*
 * Open state_dir (created 0700 if missing; must be a root-owned directory
 * with no group/other access) and take the user's lock.  EOTP_E_STATE on
 * any problem (logged).
 */
int eotp_state_lock(const char *dir, const char *user,
                    const struct eotp_logger *lg,
                    struct eotp_state_handle *h);

/* Read the record (empty when absent or corrupt). */
int eotp_state_load(struct eotp_state_handle *h, struct eotp_state *st);

/* Replace the record atomically. */
int eotp_state_save(struct eotp_state_handle *h, const struct eotp_state *st);

/* Release the lock and close everything.  Safe on a failed lock. */
void eotp_state_unlock(struct eotp_state_handle *h);

/* Parse and format records (exposed for tests and fuzzing). */
int eotp_state_parse(const char *text, size_t len, struct eotp_state *st);
int eotp_state_format(const struct eotp_state *st, char *buf, size_t len);

/* sha256(template_id '\0' dest) as lowercase hex into out[65]. */
int eotp_state_pending_key(const char *template_id, const char *dest,
                           char out[65]);

#endif
