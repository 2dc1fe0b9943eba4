/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy.h - who must use the second factor, what the message says, and
 * what an answer must look like.
 */
#ifndef EOTP_POLICY_H
#define EOTP_POLICY_H

#include "api.h"
#include "cfg.h"
#include "log.h"
#include "otp.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Longest user name the module handles (as the user map's names). */
#define EOTP_USER_NAME_MAX 256

/*
 * Look user up in the system's user database (NSS).  EOTP_OK and, when
 * gid is not NULL, the primary group in *gid, and when canon is not NULL
 * the account's own name (pw_name) in canon: a directory that ignores case
 * finds "ALICE" for alice, and everything after the lookup (user map,
 * directory, state, grace) must see one name per account.
 * EOTP_E_USER_UNKNOWN when there is no such user (or its name does not
 * fit in canon_len).
 */
int eotp_user_lookup(const char *user, gid_t *gid, char *canon,
                     size_t canon_len);

/*
 * Does the second factor apply to this login?  gid is the user's primary
 * group (from eotp_user_lookup).  EOTP_OK: yes.
 * EOTP_E_IGNORE: the user is outside only_groups, in exempt_groups, or
 * comes from an exempt network (an audit line says which).  EOTP_E_CONFIG:
 * a group named in only_groups does not exist and the user is in none of
 * the others (fail closed: a typo must not switch the second factor off).
 * A group of exempt_groups that does not exist exempts nobody; both are
 * logged ("policy: unknown group").
 */
int eotp_policy_check(const struct eotp_cfg *cfg,
                      const struct eotp_login *login, gid_t gid,
                      const struct eotp_logger *lg);

/* Is the address text ip inside the CIDR list?  Host names never are. */
bool eotp_policy_addr_in_list(const char *ip, const char *cidr_list);

#define EOTP_PARAMS_MAX 16
#define EOTP_PARAM_VALUE_MAX 64

struct eotp_params {
    struct eotp_kv kv[EOTP_PARAMS_MAX];
    size_t n;
    char names[EOTP_PARAMS_MAX][33];
    char values[EOTP_PARAMS_MAX][EOTP_PARAM_VALUE_MAX + 1];
};

/*
 * Expand cfg->params for this login: %h host name, %s service, %u user,
 * %r remote host, %c command (sudo), %% a percent sign.  Values are cut
 * to EOTP_PARAM_VALUE_MAX bytes and stripped of control characters.
 */
int eotp_params_build(const struct eotp_cfg *cfg,
                      const struct eotp_login *login, struct eotp_params *out);

/*
 * The template language to send: cfg->language, or for "auto" one of
 * zh_CN, zh_HK, en, ja, th, es picked from locale (e.g. "ja_JP.UTF-8"),
 * else "default".
 */
const char *eotp_policy_language(const struct eotp_cfg *cfg,
                                 const char *locale);

/*
 * Is s sshd's junk password?  For an invalid user, or for root when root
 * logins are refused, sshd answers PAM with repetitions of
 * "\b\n\r\177INCORRECT" instead of what was typed.
 */
bool eotp_policy_is_sshd_junk(const char *s);

/* Can answer be a code for this configuration (code_length, code_type)? */
bool eotp_policy_code_ok(const struct eotp_cfg *cfg, const char *answer);

/*
 * Does failmode let the outcome err through without a second factor?
 * Only failmode open and a service failure (eotp_err_is_service_failure),
 * and never in a setuid program nor once a code was sent (code_out).
 * When failmode open does not apply for one of those two reasons, *why
 * (may be NULL) gets the fixed log text saying which; else NULL.  The
 * module decides with this, and the login flow tells a bypass with it
 * (notify.c), so the two never differ.
 */
bool eotp_policy_open_bypass(int failmode, int err, bool code_out,
                             const char **why);

#endif
