/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redis.h - a short-lived connection to Redis for fleet-wide state.
 *
 * Design.  Debian 12 ships hiredis 0.14, which has no TLS, bounds only the
 * connect with a timeout, leaves its sockets without FD_CLOEXEC and writes
 * with plain write() (SIGPIPE inside sudo or login, which do not ignore
 * it).  So the module owns the connection and uses hiredis for the
 * protocol only: redisFormatCommandArgv() builds requests and a
 * redisReader parses replies.  The socket is SOCK_CLOEXEC and
 * non-blocking; connect, TLS handshake, writes (MSG_NOSIGNAL) and reads
 * all wait in poll() against one budget, the Redis time of one login.
 * TLS (OpenSSL) is always verified: the CA from redis_ca_file or the
 * system store, the host name (or IP address) of the URL checked against
 * the certificate, SNI sent for names.  A client certificate
 * (redis_tls_cert, redis_cert.h) is presented to a server that asks for
 * one, read only then.
 *
 * A connection lives inside one pam_sm_* call (sshd runs PAM in a forked
 * child): eotp_redis_open() ... eotp_redis_close().  Nodes of redis_url
 * are tried in order; one that cannot be reached, or that turns out to be
 * a replica (READONLY, or ROLE is not master), is skipped for the next.
 * With redis_sentinels each sentinel is asked for the master's address in
 * turn, and the master's ROLE is checked.
 *
 * No hiredis type appears here, so the rest of the core does not depend
 * on its headers; replies are struct redisReply from <hiredis/hiredis.h>.
 */
#ifndef EOTP_REDIS_H
#define EOTP_REDIS_H

#include "cfg.h"
#include "log.h"
#include "redis_url.h"

#include <stdbool.h>
#include <stddef.h>

struct redisReply;

/* Largest reply accepted (bytes of RESP) and largest array. */
#define EOTP_REDIS_REPLY_MAX (64 * 1024)
#define EOTP_REDIS_ARRAY_MAX 1024
/* Commands sent in one round trip at most. */
#define EOTP_REDIS_PIPE_MAX 8

struct eotp_redis;

/*
 * Connect to the first usable node (redis_url in order, or the master
 * that the sentinels name), authenticate (AUTH [USER] PASSWORD; the
 * password of redis_password_file wins over the URL's) and SELECT the
 * database, all within budget_ms milliseconds: the Redis time of the
 * whole login.  Later commands use what is left (time between calls, at
 * the prompt, does not count).  On failure *out is NULL, why
 * (size whylen) holds a short reason without secrets, and the code is
 * EOTP_E_CONFIG (bad password file), EOTP_E_TRANSPORT (no node could be
 * reached), EOTP_E_TLS, EOTP_E_TIMEOUT, EOTP_E_API_AUTH (AUTH refused),
 * EOTP_E_BAD_RESPONSE, EOTP_E_NOMEM.  Nothing is sent after a failed TLS
 * handshake or a refused AUTH.
 */
int eotp_redis_open(const struct eotp_cfg *cfg, long budget_ms,
                    const struct eotp_logger *lg, struct eotp_redis **out,
                    char *why, size_t whylen);

/*
 * Send n commands (argv/argvlen of each, as for redisFormatCommandArgv)
 * in one write and read their n replies into reply[] (each freed by the
 * caller with eotp_redis_reply_free).  A READONLY error on a node of
 * redis_url moves the connection to the next node and sends the commands
 * again.  On failure no reply is returned, the connection is unusable and
 * why says what happened; error replies (-ERR ...) are not failures, the
 * caller judges them.
 */
struct eotp_redis_cmd {
    int argc;
    const char *const *argv;
    const size_t *argvlen; /* NULL: strlen of each argv */
};
int eotp_redis_exec(struct eotp_redis *c, const struct eotp_redis_cmd *cmd,
                    size_t n, struct redisReply **reply, char *why,
                    size_t whylen);

/*
 * Send n commands without waiting for their replies (one fewer round
 * trip): the replies are read by the next eotp_redis_exec() on this
 * connection, or at close (waiting for them), and only checked for
 * errors (a LOG_WARNING line).  For writes whose result nobody needs.
 */
int eotp_redis_send(struct eotp_redis *c, const struct eotp_redis_cmd *cmd,
                    size_t n, char *why, size_t whylen);

/*
 * The same, except that close does not wait for these replies: it reads
 * what has arrived and goes (the server runs a command it has received
 * even when the connection then closes).  For a login's last write, whose
 * loss can only leave the state stricter.
 */
int eotp_redis_post(struct eotp_redis *c, const struct eotp_redis_cmd *cmd,
                    size_t n, char *why, size_t whylen);

/*
 * Cap every following call at max_ms (still within the budget); 0 lifts
 * the cap.  For reads that must not hold up the login (store.h
 * eotp_store_rec_peek).
 */
void eotp_redis_set_call_cap(struct eotp_redis *c, long max_ms);

/* Milliseconds of the budget left. */
long eotp_redis_budget_left(const struct eotp_redis *c);

/* A new budget of budget_ms (a long-lived connection's next unit of work:
 * eotp_store_renew()). */
void eotp_redis_budget_reset(struct eotp_redis *c, long budget_ms);

/* Round trips made on this connection so far (for tests and bench). */
unsigned int eotp_redis_round_trips(const struct eotp_redis *c);

/* Whether AUTH was sent and accepted (no password configured: false). */
bool eotp_redis_authed(const struct eotp_redis *c);

/* A redacted description of the node in use ("rediss://10.0.0.5:6380"). */
const char *eotp_redis_node(const struct eotp_redis *c);

/* Close (TLS close_notify is not awaited) and free; NULL is fine. */
void eotp_redis_close(struct eotp_redis *c);

/* freeReplyObject() that accepts NULL. */
void eotp_redis_reply_free(struct redisReply *r);


#endif
