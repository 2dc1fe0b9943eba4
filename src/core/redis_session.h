/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redis_session.h - TLS sessions to Redis kept between logins, so that
 * the next login (a new process: sshd forks one per connection) resumes
 * instead of a full handshake.
 *
 * What resumption skips: the server's certificate and its signature
 * (TLS 1.3: Certificate and CertificateVerify; TLS 1.2: the same), so
 * the client neither verifies a chain nor a signature, and the CA file
 * need not be read.  What it keeps: a fresh (EC)DHE exchange (OpenSSL
 * offers psk_dhe_ke only, so forward secrecy stays) and the Finished
 * MACs, which prove that the server holds the ticket's secret, i.e. is
 * the server whose certificate and host name were verified in the full
 * handshake that made the session.  The session is never used for
 * anything else; when the server does not accept it, the handshake is a
 * full one with every check.
 *
 * The file: state_dir/+redis-tls-HASH (HASH: 16 hex digits of SHA-256 of
 * what the session is bound to: host, port, SNI, the CA file's path and
 * identity (device, inode, size, mtime) and the client certificate's
 * (redis_tls_cert) the same way, so a new CA, a rotated client
 * certificate or another node never resumes an old session).  Root's, mode 0600, opened with
 * O_NOFOLLOW and checked on the descriptor; it holds the session's
 * secret, like redis_password_file.  Used for at most
 * EOTP_REDIS_SESSION_MAX_AGE seconds after the full handshake, and never
 * past the session's own lifetime; a file that is not exactly right
 * (owner, mode, type, size, binding, age, encoding) is ignored, and
 * replaced after the next full handshake.  Only root uses the cache.
 */
#ifndef EOTP_REDIS_SESSION_H
#define EOTP_REDIS_SESSION_H

#include "log.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

/* Seconds a cached session is offered after its full handshake. */
#define EOTP_REDIS_SESSION_MAX_AGE 3600L
/* Largest file accepted (a session with the server's chain). */
#define EOTP_REDIS_SESSION_FILE_MAX (32 * 1024)

/*
 * What a session is bound to, for host (name or address), port, the CA
 * file (NULL: the system store) and the client certificate file
 * (redis_tls_cert, NULL: none): a file by its path and identity (device,
 * inode, size, mtime), so a replaced CA or client certificate never
 * resumes a session made with the old one.  out
 * (EOTP_REDIS_SESSION_BIND_MAX) is always terminated.  Fails (false) when
 * a file cannot be stat'ed: then no session is cached.
 */
#define EOTP_REDIS_SESSION_BIND_MAX 1280
bool eotp_redis_session_bind(const char *host, const char *port,
                             const char *ca_file, const char *cert_file,
                             char *out);

/*
 * The cached session for bind in state_dir, or NULL (none, stale, not
 * root's alone, damaged: every refusal logged at debug level only).
 * *born is the time of the full handshake that made it.  Free it with
 * SSL_SESSION_free().
 */
SSL_SESSION *eotp_redis_session_load(const char *state_dir, const char *bind,
                                     long long *born,
                                     const struct eotp_logger *lg);

/*
 * Keep sess for bind (born: time of its full handshake), replacing the
 * file atomically (a temporary file and rename).  Best effort: a failure
 * is logged at debug level and changes nothing else.
 */
void eotp_redis_session_save(const char *state_dir, const char *bind,
                             SSL_SESSION *sess, long long born,
                             const struct eotp_logger *lg);

#endif
