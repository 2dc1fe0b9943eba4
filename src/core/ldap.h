/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ldap.h - the directory as a source of destinations (OpenLDAP libldap).
 *
 * One lookup: for each URI of ldap_uri in order, connect (StartTLS when
 * ldap_starttls is set), bind (simple bind with ldap_bind_dn and the
 * password file, or anonymous), search ldap_base for ldap_filter with the
 * user name RFC 4515-escaped into every %u, asking only for
 * ldap_attributes, and take the first valid value of the first attribute
 * that has one.  The whole lookup, all URIs included, takes at most
 * ldap_timeout seconds; each URI gets an equal share of the time left.
 * Nothing process-wide is touched: all options are set on the handle, no
 * signal handler is installed (SIGPIPE is blocked for the calling thread
 * only, while the lookup runs).
 */
#ifndef EOTP_LDAP_H
#define EOTP_LDAP_H

#include "cfg.h"
#include "log.h"
#include "usermap.h"

#include <stdbool.h>
#include <stddef.h>

/* Longest user name looked up; longer names are unmapped. */
#define EOTP_LDAP_USER_MAX 256
/* Longest filter after substitution. */
#define EOTP_LDAP_FILTER_MAX 4096
/* At most this many attributes in ldap_attributes. */
#define EOTP_LDAP_MAX_ATTRS 16
/* Longest bind password file (bytes). */
#define EOTP_LDAP_PASSWORD_MAX 1024

/*
 * RFC 4515 escaping of inlen bytes of in for use as an assertion value:
 * '*', '(', ')', '\\', NUL and every byte outside printable ASCII become
 * "\\xx" (lower-case hex).  out (size outlen, at least 3 * inlen + 1) is
 * always terminated.  Returns EOTP_OK or EOTP_E_INTERNAL when out is too
 * small (out is then "").
 */
int eotp_ldap_escape(const char *in, size_t inlen, char *out, size_t outlen);

/*
 * Copy the filter template into out, replacing every "%u" with the
 * escaped user name; other text (a lone '%' included) is copied as is.
 * Returns EOTP_OK, or EOTP_E_CONFIG when the result would not fit in
 * outlen bytes (out is then "").
 */
int eotp_ldap_build_filter(const char *tmpl, const char *user, char *out,
                           size_t outlen);

/* False when the library was built without libldap. */
bool eotp_ldap_available(void);

/*
 * Look user up in the directory.  On success out holds one destination
 * (E.164 phone number or email address) and source (size len, may be
 * NULL) names it: "ldap ldap://127.0.0.1:3890 attribute mobile".
 * Returns
 *   EOTP_OK
 *   EOTP_E_UNMAPPED  no entry, or an entry without a usable value (each
 *                    refused value is logged, masked)
 *   EOTP_E_LDAP      no server could be used in time: down, timeout,
 *                    TLS or StartTLS failure, bind refused, search error
 *   EOTP_E_CONFIG    bad settings (ldap_uri or ldap_base missing, bind
 *                    DN without password file or the reverse, unreadable
 *                    or untrusted password file, unusable ldap_ca_file,
 *                    bad URI), or more than one entry matches the user
 *                    (refused: never a service failure, so failmode=open
 *                    cannot turn it into a bypass)
 *   EOTP_E_NOMEM
 * out and source are written only on success.
 */
int eotp_ldap_lookup(const struct eotp_cfg *cfg, const char *user,
                     const struct eotp_logger *lg, struct eotp_dests *out,
                     char *source, size_t len);

#endif
