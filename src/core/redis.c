/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redis.c - our own socket and TLS, hiredis for RESP only (see redis.h
 * for why).
 *
 * I/O model: one non-blocking SOCK_CLOEXEC socket; every wait is a poll()
 * against the connection's deadline, so the whole Redis time of a login
 * (DNS aside: getaddrinfo() cannot be bounded without a thread, which
 * sudo's SIGCHLD handling forbids; use addresses or /etc/hosts) stays
 * within redis_timeout.  TLS runs over two memory BIOs: OpenSSL never
 * touches the socket, we move its bytes with send(MSG_NOSIGNAL) and
 * recv(), so no SIGPIPE can reach sudo or login.
 */
#include "redis.h"

#include "err.h"
#include "redis_cert.h"
#include "redis_session.h"
#include "safefile.h"
#include "secret.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PASSFILE_MAX 4096

/* ---- the connection ---------------------------------------------------- */

struct eotp_redis {
    const struct eotp_cfg *cfg;
    const struct eotp_logger *lg;
    long long deadline; /* CLOCK_MONOTONIC ms: end of the current call */
    long long call_start;
    long budget_left; /* ms of Redis time left for this login */
    long call_cap;    /* ms a call may take at most, 0: the budget */
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rbio; /* network -> OpenSSL */
    BIO *wbio; /* OpenSSL -> network */
    redisReader *reader;
    redisReplyObjectFunctions fns;
    void *(*create_array)(const redisReadTask *, int);
    struct eotp_redis_url url; /* the node in use (pass wiped) */
    char filepass[EOTP_REDIS_PASS_MAX];
    bool have_filepass;
    bool sentinel;  /* reached through redis_sentinels */
    bool ca_bundle; /* system store: the bundle file, not the hash dir */
    bool ca_loaded; /* redis_ca_file read (on the first full handshake) */
    bool ca_failed; /* ... and it could not be */
    /* The client certificate (redis_cert.h), per handshake: the server
     * asked for one; ours could not be loaded (cert_why says why); the
     * server refused the one sent, or the lack of one. */
    bool cert_asked;
    bool cert_failed;
    bool cert_refused;
    char cert_why[200];
    /* TLS session cache (redis_session.h): the binding of the node being
     * connected to, whether its handshake resumed, and the full
     * handshake the resumed session came from. */
    char sbind[EOTP_REDIS_SESSION_BIND_MAX];
    bool resumed;
    bool sess_fresh; /* the resumed session has half its life or more */
    long long sess_born;
    const char *next_url; /* cursor in cfg->redis_url */
    unsigned int round_trips;
    bool authed;             /* AUTH sent and accepted on this connection */
    unsigned int deferred;   /* replies of eotp_redis_send() still to read */
    bool deferred_unawaited; /* ... all from eotp_redis_post(): close
                              * does not wait for them */
    char node[EOTP_REDIS_HOST_MAX + 32];
    bool broken;
};

static long long now_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The budget counts Redis time only, not the time the user spends at the
 * prompt between two operations: each call may run until the budget left,
 * and what it used is taken off.
 */
static void call_begin(struct eotp_redis *c)
{
    long allow = c->budget_left > 0 ? c->budget_left : 0;

    if (c->call_cap > 0 && c->call_cap < allow) {
        allow = c->call_cap;
    }
    c->call_start = now_ms();
    c->deadline = c->call_start + allow;
}

static void call_end(struct eotp_redis *c)
{
    long long used = now_ms() - c->call_start;

    c->budget_left = used >= c->budget_left ? 0 : c->budget_left - (long)used;
}

static void say(char *why, size_t whylen, const char *text)
{
    if (why != NULL && whylen > 0) {
        (void)snprintf(why, whylen, "%s", text);
    }
}

/* Wait for ev on the socket until the deadline. */
static int wait_fd(struct eotp_redis *c, short ev)
{
    for (;;) {
        struct pollfd pfd = {c->fd, ev, 0};
        long long left = c->deadline - now_ms();
        int n;

        if (left <= 0) {
            return EOTP_E_TIMEOUT;
        }
        n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0) {
            return EOTP_OK;
        }
        if (n < 0 && errno != EINTR) {
            return EOTP_E_TRANSPORT;
        }
    }
}

static int sock_send_all(struct eotp_redis *c, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(c, POLLOUT);

            if (r != EOTP_OK) {
                return r;
            }
            continue;
        }
        return EOTP_E_TRANSPORT;
    }
    return EOTP_OK;
}

/* Read what is there (waiting for something); 0 bytes is an error. */
static int sock_recv(struct eotp_redis *c, char *buf, size_t cap, size_t *got)
{
    for (;;) {
        ssize_t n = recv(c->fd, buf, cap, MSG_DONTWAIT);

        if (n > 0) {
            *got = (size_t)n;
            return EOTP_OK;
        }
        if (n == 0) {
            return EOTP_E_TRANSPORT; /* closed by the server */
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int r = wait_fd(c, POLLIN);

            if (r != EOTP_OK) {
                return r;
            }
            continue;
        }
        return EOTP_E_TRANSPORT;
    }
}

/* Send whatever OpenSSL has written into wbio. */
static int tls_flush(struct eotp_redis *c)
{
    char buf[4096];

    while (BIO_ctrl_pending(c->wbio) > 0) {
        int n = BIO_read(c->wbio, buf, sizeof(buf));
        int r;

        if (n <= 0) {
            return EOTP_E_TLS;
        }
        r = sock_send_all(c, buf, (size_t)n);
        if (r != EOTP_OK) {
            eotp_memzero(buf, sizeof(buf));
            return r;
        }
    }
    eotp_memzero(buf, sizeof(buf));
    return EOTP_OK;
}

/* Move bytes from the network into rbio. */
static int tls_fill(struct eotp_redis *c)
{
    char buf[4096];
    size_t got = 0;
    int r = sock_recv(c, buf, sizeof(buf), &got);

    if (r == EOTP_OK && BIO_write(c->rbio, buf, (int)got) != (int)got) {
        r = EOTP_E_NOMEM;
    }
    eotp_memzero(buf, sizeof(buf));
    return r;
}

/*
 * An alert a server sends when it refuses the client certificate, or the
 * lack of one: handshake_failure (TLS 1.2 without a certificate),
 * bad/unsupported/revoked/expired/unknown certificate, unknown CA, access
 * denied, certificate_required (TLS 1.3).  Counted only after the server
 * asked for a certificate.
 */
static bool cert_alert(unsigned long e)
{
    static const int alerts[] = {
        SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE,
        SSL_R_SSLV3_ALERT_BAD_CERTIFICATE,
        SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE,
        SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED,
        SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED,
        SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN,
        SSL_R_TLSV1_ALERT_UNKNOWN_CA,
        SSL_R_TLSV1_ALERT_ACCESS_DENIED,
        SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED,
    };

    if (e == 0 || ERR_GET_LIB(e) != ERR_LIB_SSL) {
        return false;
    }
    for (size_t i = 0; i < sizeof(alerts) / sizeof(alerts[0]); i++) {
        if (ERR_GET_REASON(e) == alerts[i]) {
            return true;
        }
    }
    return false;
}

/* The reason for a refused client certificate (or none). */
static const char *cert_refusal(const struct eotp_redis *c)
{
    return c->cfg->redis_tls_cert == NULL
               ? "TLS refused: the server demands a client certificate "
                 "(tls-auth-clients) and redis_tls_cert is not set"
               : "TLS refused: the server did not accept the client "
                 "certificate of redis_tls_cert (not from a CA it trusts, "
                 "expired, or not for client use)";
}

/*
 * After an SSL_* call returned ret: flush, and feed when OpenSSL wants
 * more.  Returns EOTP_OK to call again, or an error.
 */
static int tls_continue(struct eotp_redis *c, int ret, int fail)
{
    int e = SSL_get_error(c->ssl, ret);
    int r = tls_flush(c);

    if (e == SSL_ERROR_SSL && c->cert_asked &&
        cert_alert(ERR_peek_last_error())) {
        /* TLS 1.3: may come with the first reply, after a handshake that
         * looked complete on our side. */
        c->cert_refused = true;
        return EOTP_E_TLS;
    }
    if (r != EOTP_OK) {
        return r;
    }
    if (e == SSL_ERROR_WANT_READ) {
        return tls_fill(c);
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        return EOTP_OK;
    }
    return fail;
}

static int conn_write(struct eotp_redis *c, const char *buf, size_t len)
{
    if (c->ssl == NULL) {
        return sock_send_all(c, buf, len);
    }
    while (len > 0) {
        int chunk = len > 16384 ? 16384 : (int)len;
        int n = SSL_write(c->ssl, buf, chunk);
        int r;

        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        r = tls_continue(c, n, EOTP_E_TLS);
        if (r != EOTP_OK) {
            return r;
        }
    }
    return tls_flush(c);
}

static int conn_read(struct eotp_redis *c, char *buf, size_t cap, size_t *got)
{
    if (c->ssl == NULL) {
        return sock_recv(c, buf, cap, got);
    }
    for (;;) {
        int n = SSL_read(c->ssl, buf, cap > 16384 ? 16384 : (int)cap);
        int r;

        if (n > 0) {
            *got = (size_t)n;
            return EOTP_OK;
        }
        if (SSL_get_error(c->ssl, n) == SSL_ERROR_ZERO_RETURN) {
            return EOTP_E_TRANSPORT;
        }
        r = tls_continue(c, n, EOTP_E_TRANSPORT);
        if (r != EOTP_OK) {
            return r;
        }
    }
}

static void *bounded_array(const redisReadTask *task, int elements)
{
    struct eotp_redis *c = task->privdata;

    if (c == NULL || elements < 0 || elements > EOTP_REDIS_ARRAY_MAX) {
        return NULL; /* the reader reports an error */
    }
    return c->create_array(task, elements);
}

static void conn_drop(struct eotp_redis *c)
{
    if (c->ssl != NULL) {
        SSL_free(c->ssl); /* frees both BIOs */
        c->ssl = NULL;
        c->rbio = NULL;
        c->wbio = NULL;
    }
    if (c->fd >= 0) {
        (void)close(c->fd);
        c->fd = -1;
    }
    if (c->reader != NULL) {
        redisReaderFree(c->reader);
        c->reader = NULL;
    }
}

static int tcp_connect(struct eotp_redis *c, const struct eotp_redis_url *u)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    int r = EOTP_E_TRANSPORT;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* An address needs no lookup: AI_NUMERICHOST skips the resolver and
     * AI_ADDRCONFIG's netlink query of the interfaces. */
    hints.ai_flags = eotp_redis_host_is_ip(u->host)
                         ? AI_NUMERICSERV | AI_NUMERICHOST
                         : AI_NUMERICSERV | AI_ADDRCONFIG;
    if (getaddrinfo(u->host, u->port, &hints, &res) != 0) {
        return EOTP_E_TRANSPORT;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int one = 1;
        int err = 0;
        socklen_t elen = sizeof(err);

        c->fd = socket(ai->ai_family,
                       ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                       ai->ai_protocol);
        if (c->fd < 0) {
            continue;
        }
        (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            r = EOTP_OK;
            break;
        }
        if (errno == EINPROGRESS) {
            r = wait_fd(c, POLLOUT);
            if (r == EOTP_OK &&
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 &&
                err == 0) {
                break;
            }
            if (r == EOTP_OK) {
                r = EOTP_E_TRANSPORT;
            }
        }
        (void)close(c->fd);
        c->fd = -1;
        if (r == EOTP_E_TIMEOUT) {
            break;
        }
        r = EOTP_E_TRANSPORT;
    }
    freeaddrinfo(res);
    return r;
}

static int unix_connect(struct eotp_redis *c, const char *path)
{
    struct sockaddr_un sa;
    size_t n = strlen(path);

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (n >= sizeof(sa.sun_path)) {
        return EOTP_E_CONFIG;
    }
    memcpy(sa.sun_path, path, n + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->fd < 0) {
        return EOTP_E_TRANSPORT;
    }
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        return EOTP_OK;
    }
    if (errno == EINPROGRESS || errno == EAGAIN) {
        int err = 0;
        socklen_t elen = sizeof(err);
        int r = wait_fd(c, POLLOUT);

        if (r != EOTP_OK) {
            return r;
        }
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 &&
            err == 0) {
            return EOTP_OK;
        }
    }
    return EOTP_E_TRANSPORT;
}

/*
 * The chain check of a full handshake.  redis_ca_file is read here, on
 * the first full handshake, not before: a resumed handshake (no
 * certificate) never needs it, and reading it is a good part of the cost
 * of a connection.  Then the usual X509_verify_cert(); OpenSSL checks the
 * host name as part of it (SSL_set1_host) and records the result.
 */
static int verify_chain(X509_STORE_CTX *xs, void *arg)
{
    struct eotp_redis *c = arg;

    if (c->cfg->redis_ca_file != NULL && !c->ca_loaded) {
        if (X509_STORE_load_file(SSL_CTX_get_cert_store(c->ctx),
                                 c->cfg->redis_ca_file) != 1) {
            c->ca_failed = true;
            X509_STORE_CTX_set_error(xs, X509_V_ERR_UNSPECIFIED);
            return 0;
        }
        c->ca_loaded = true;
    }
    return X509_verify_cert(xs);
}

/*
 * The server asks for a client certificate (a CertificateRequest, in a
 * full handshake only: a resumed one has none, so it never reads the
 * files).  redis_tls_cert and redis_tls_key are read here, like
 * redis_ca_file in verify_chain().  SSL_CTX_set_cert_cb rather than
 * client_cert_cb: it can set the chain as well, and returning 0 fails
 * the handshake when the files are bad (client_cert_cb can return one
 * certificate only, and its failure just sends none).  Without
 * redis_tls_cert, none is sent; the server's refusal is then explained.
 */
static int client_cert(SSL *ssl, void *arg)
{
    struct eotp_redis *c = arg;
    struct eotp_redis_cert rc;
    int r;

    c->cert_asked = true;
    if (c->cfg->redis_tls_cert == NULL) {
        eotp_debug(c->lg,
                   "redis: the server asks for a client certificate, none "
                   "configured node=%s",
                   c->node);
        return 1;
    }
    r = eotp_redis_cert_load(c->cfg, &rc, c->cert_why, sizeof(c->cert_why));
    if (r == EOTP_OK) {
        r = eotp_redis_cert_use(ssl, &rc);
        if (r != EOTP_OK) {
            say(c->cert_why, sizeof(c->cert_why),
                "redis_tls_cert/redis_tls_key cannot be loaded: OpenSSL "
                "refused them");
        }
    }
    eotp_redis_cert_free(&rc);
    if (r != EOTP_OK) {
        c->cert_failed = true;
        return 0;
    }
    eotp_debug(c->lg, "redis: client certificate presented node=%s", c->node);
    return 1;
}

/*
 * A new session from the server (TLS 1.3: a ticket after the handshake,
 * read with the first reply).  Kept for the next login after a full
 * handshake, and after a resumption when the session resumed had used up
 * half its life (so that it stays usable while logins keep coming, but
 * never past EOTP_REDIS_SESSION_MAX_AGE after the last full check).
 */
static int new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct eotp_redis *c = SSL_get_app_data(ssl);

    if (c == NULL || c->sbind[0] == '\0') {
        return 0;
    }
    /* Asked of the handshake itself: a TLS 1.2 server may send a ticket
     * during a resumed handshake, before tls_handshake() notes it. */
    c->resumed = SSL_session_reused(ssl) == 1;
    if (!c->resumed) {
        eotp_redis_session_save(c->cfg->state_dir, c->sbind, sess,
                                (long long)time(NULL), c->lg);
    } else if (!c->sess_fresh) {
        eotp_redis_session_save(c->cfg->state_dir, c->sbind, sess,
                                c->sess_born, c->lg);
        c->sess_fresh = true; /* once per connection */
    }
    return 0; /* no reference kept */
}

static int tls_setup_ctx(struct eotp_redis *c)
{
    if (c->ctx != NULL) {
        return EOTP_OK;
    }
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL) {
        return EOTP_E_NOMEM;
    }
    (void)SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_cert_verify_callback(c->ctx, verify_chain, c);
    (void)SSL_CTX_set_session_cache_mode(c->ctx,
                                         SSL_SESS_CACHE_CLIENT |
                                             SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c->ctx, new_session);
    SSL_CTX_set_cert_cb(c->ctx, client_cert, c);
    if (c->cfg->redis_ca_file != NULL) {
        /* read by verify_chain() when a full handshake needs it */
    } else if (!c->ca_bundle) {
        /*
         * The system store, looked up by subject hash in its directory:
         * only the CA needed is read.  Loading the whole bundle
         * (SSL_CTX_set_default_verify_paths) costs some 40 ms per login;
         * it is done only when the directory has no hash links (RHEL),
         * see conn_start().
         */
        if (SSL_CTX_load_verify_dir(c->ctx, X509_get_default_cert_dir()) !=
            1) {
            ERR_clear_error();
            c->ca_bundle = true;
        }
    }
    if (c->ca_bundle && SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
        return EOTP_E_CONFIG;
    }
    return EOTP_OK;
}

/* Offer the session cached for this node, if there is a good one. */
static void offer_session(struct eotp_redis *c, const char *host,
                          const char *port)
{
    SSL_SESSION *sess;
    long long now = (long long)time(NULL);
    long long life;

    c->resumed = false;
    c->sess_fresh = false;
    c->sess_born = 0;
    if (!eotp_redis_session_bind(host, port, c->cfg->redis_ca_file,
                                 c->cfg->redis_tls_cert, c->sbind)) {
        c->sbind[0] = '\0';
        return;
    }
    sess = eotp_redis_session_load(c->cfg->state_dir, c->sbind, &c->sess_born,
                                   c->lg);
    if (sess == NULL) {
        return;
    }
    /* The server's ticket lifetime (Redis: tls-session-cache-timeout),
     * else the session's timeout. */
    life = (long long)SSL_SESSION_get_ticket_lifetime_hint(sess);
    if (life <= 0) {
        life = (long long)SSL_SESSION_get_timeout(sess);
    }
    c->sess_fresh = (long long)SSL_SESSION_get_time(sess) + life / 2 > now;
    if (SSL_set_session(c->ssl, sess) != 1) {
        ERR_clear_error();
    }
    SSL_SESSION_free(sess);
}

static int tls_handshake(struct eotp_redis *c, const char *host,
                         const char *port)
{
    bool is_ip = eotp_redis_host_is_ip(host);
    int r = tls_setup_ctx(c);

    if (r != EOTP_OK) {
        return r;
    }
    c->ssl = SSL_new(c->ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
        BIO_free(c->rbio);
        BIO_free(c->wbio);
        c->rbio = NULL;
        c->wbio = NULL;
        return EOTP_E_NOMEM;
    }
    BIO_set_mem_eof_return(c->rbio, -1);
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_app_data(c->ssl, c);
    SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (is_ip) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host) != 1) {
            return EOTP_E_TLS;
        }
    } else if (SSL_set1_host(c->ssl, host) != 1 ||
               SSL_ctrl(c->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME,
                        TLSEXT_NAMETYPE_host_name,
                        (void *)(uintptr_t)host) != 1) {
        return EOTP_E_TLS;
    }
    offer_session(c, host, port);
    for (;;) {
        int n = SSL_connect(c->ssl);

        if (n == 1) {
            break;
        }
        r = tls_continue(c, n, EOTP_E_TLS);
        if (r != EOTP_OK) {
            /* A closed socket during the handshake is a refusal too. */
            return r == EOTP_E_TIMEOUT ? r : EOTP_E_TLS;
        }
    }
    ERR_clear_error();
    if (SSL_get_verify_result(c->ssl) != X509_V_OK ||
        SSL_get0_peer_certificate(c->ssl) == NULL) {
        return EOTP_E_TLS;
    }
    c->resumed = SSL_session_reused(c->ssl) == 1;
    return EOTP_OK;
}

/* The chain did not end at a CA of the store (not a bad certificate). */
static bool untrusted_root(long v)
{
    return v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
           v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
           v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
           v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT;
}

/* Connect to u (TCP or unix, then TLS) and prepare a fresh reader. */
static int conn_start(struct eotp_redis *c, const struct eotp_redis_url *u,
                      char *why, size_t whylen)
{
    int r;

    conn_drop(c);
    if (u->scheme == EOTP_REDIS_UNIX) {
        (void)snprintf(c->node, sizeof(c->node), "unix://%s", u->host);
        r = unix_connect(c, u->host);
    } else {
        (void)snprintf(c->node, sizeof(c->node), "%s://%s%s%s:%s",
                       u->scheme == EOTP_REDIS_TLS ? "rediss" : "redis",
                       strchr(u->host, ':') != NULL ? "[" : "", u->host,
                       strchr(u->host, ':') != NULL ? "]" : "", u->port);
        r = tcp_connect(c, u);
    }
    if (r != EOTP_OK) {
        say(why, whylen,
            r == EOTP_E_TIMEOUT ? "connect timed out" : "cannot connect");
        return r;
    }
    if (u->scheme == EOTP_REDIS_TLS) {
        c->cert_asked = false;
        c->cert_failed = false;
        c->cert_refused = false;
        r = tls_handshake(c, u->host, u->port);
        if (r == EOTP_E_TLS && (c->ca_failed || c->cert_failed)) {
            r = EOTP_E_CONFIG;
        }
        if (r == EOTP_E_TLS && c->cfg->redis_ca_file == NULL &&
            !c->ca_bundle && c->ssl != NULL &&
            untrusted_root(SSL_get_verify_result(c->ssl))) {
            /* No issuer in the hash directory: once more with the
             * bundle file (the system store as OpenSSL loads it). */
            conn_drop(c);
            SSL_CTX_free(c->ctx);
            c->ctx = NULL;
            c->ca_bundle = true;
            ERR_clear_error();
            return conn_start(c, u, why, whylen);
        }
        if (r != EOTP_OK) {
            unsigned long e = ERR_peek_last_error();
            char ebuf[160];

            ERR_error_string_n(e, ebuf, sizeof(ebuf));
            say(why, whylen,
                r == EOTP_E_TIMEOUT ? "TLS handshake timed out"
                : c->cert_failed    ? c->cert_why
                : r == EOTP_E_CONFIG || c->ca_failed
                    ? "redis_ca_file cannot be loaded"
                : c->cert_refused
                    ? cert_refusal(c)
                    : "TLS handshake failed or certificate not trusted");
            eotp_debug(c->lg,
                       "redis: TLS failure node=%s openssl=\"%s\" verify=%ld",
                       c->node, e != 0 ? ebuf : "-",
                       c->ssl != NULL ? SSL_get_verify_result(c->ssl) : 0L);
            ERR_clear_error();
            return r;
        }
    }
    if (u->scheme == EOTP_REDIS_TLS) {
        eotp_debug(c->lg, "redis: TLS node=%s resumed=%s", c->node,
                   c->resumed ? "yes" : "no");
    }
    c->reader = redisReaderCreate();
    if (c->reader == NULL) {
        return EOTP_E_NOMEM;
    }
    c->fns = *c->reader->fn;
    c->create_array = c->fns.createArray;
    c->fns.createArray = bounded_array;
    c->reader->fn = &c->fns;
    c->reader->privdata = c;
    return EOTP_OK;
}

/* Write all commands, read n replies.  No retry here. */
/*
 * Write n commands and read their replies, after the replies still owed
 * for earlier eotp_redis_send() calls (read, checked, dropped).  defer:
 * write only.  n == 0: only read what is owed.
 */
static int conn_io(struct eotp_redis *c, const struct eotp_redis_cmd *cmd,
                   size_t n, redisReply **reply, bool defer, char *why,
                   size_t whylen)
{
    char *wire = NULL;
    size_t wlen = 0;
    size_t total = 0;
    size_t i;
    int r = EOTP_E_INTERNAL;

    for (i = 0; reply != NULL && i < n; i++) {
        reply[i] = NULL;
    }
    for (i = 0; i < n; i++) {
        size_t lens[64];
        const size_t *lp = cmd[i].argvlen;
        char *one = NULL;
        int len;
        char *grown;

        if (cmd[i].argc <= 0 || cmd[i].argc > 64) {
            r = EOTP_E_INTERNAL;
            goto out;
        }
        if (lp == NULL) {
            for (int a = 0; a < cmd[i].argc; a++) {
                lens[a] = strlen(cmd[i].argv[a]);
            }
            lp = lens;
        }
        len = redisFormatCommandArgv(&one, cmd[i].argc,
                                     (const char **)(uintptr_t)cmd[i].argv,
                                     lp);
        if (len < 0 || one == NULL) {
            r = EOTP_E_NOMEM;
            goto out;
        }
        grown = realloc(wire, wlen + (size_t)len);
        if (grown == NULL) {
            eotp_freezero(one, (size_t)len);
            r = EOTP_E_NOMEM;
            goto out;
        }
        wire = grown;
        memcpy(wire + wlen, one, (size_t)len);
        wlen += (size_t)len;
        eotp_memzero(one, (size_t)len);
        redisFreeCommand(one);
    }
    if (wlen > 0) {
        c->round_trips += defer ? 0 : 1;
        r = conn_write(c, wire, wlen);
        if (r != EOTP_OK) {
            say(why, whylen,
                r == EOTP_E_TIMEOUT ? "timed out writing" : "write failed");
            goto out;
        }
    }
    if (defer) {
        c->deferred += (unsigned int)n;
        r = EOTP_OK;
        goto out;
    }
    for (i = 0; i < n || c->deferred > 0;) {
        void *obj = NULL;
        char buf[4096];
        size_t got = 0;

        if (redisReaderGetReply(c->reader, &obj) != REDIS_OK) {
            r = EOTP_E_BAD_RESPONSE;
            say(why, whylen, "malformed or oversized reply");
            goto out;
        }
        if (obj != NULL && c->deferred > 0) {
            /* Owed for a command sent without waiting: only its fate. */
            const redisReply *e = obj;

            if (e->type == REDIS_REPLY_ERROR) {
                char safe[EOTP_FIELD_MAX];

                /* Its outcome is lost (the login goes on): say so. */
                eotp_log(c->lg, LOG_WARNING,
                         "redis: a write sent without waiting failed "
                         "node=%s reason=\"%s\"",
                         c->node,
                         eotp_sanitize(safe, sizeof(safe),
                                       e->str != NULL ? e->str : "-", false));
            }
            freeReplyObject(obj);
            c->deferred--;
            continue;
        }
        if (obj != NULL) {
            reply[i++] = obj;
            continue;
        }
        r = conn_read(c, buf, sizeof(buf), &got);
        if (r != EOTP_OK) {
            say(why, whylen,
                r == EOTP_E_TIMEOUT ? "timed out waiting for a reply"
                : c->cert_refused   ? cert_refusal(c)
                                    : "connection lost");
            goto out;
        }
        total += got;
        if (total > EOTP_REDIS_REPLY_MAX * (n + c->deferred)) {
            eotp_memzero(buf, sizeof(buf));
            r = EOTP_E_BAD_RESPONSE;
            say(why, whylen, "reply too large");
            goto out;
        }
        if (redisReaderFeed(c->reader, buf, got) != REDIS_OK) {
            eotp_memzero(buf, sizeof(buf));
            r = EOTP_E_NOMEM;
            goto out;
        }
        eotp_memzero(buf, sizeof(buf));
    }
    r = EOTP_OK;
out:
    if (r != EOTP_OK) {
        for (i = 0; reply != NULL && i < n; i++) {
            eotp_redis_reply_free(reply[i]);
            reply[i] = NULL;
        }
        c->broken = true;
    }
    eotp_freezero(wire, wlen);
    return r;
}

static int conn_roundtrip(struct eotp_redis *c,
                          const struct eotp_redis_cmd *cmd, size_t n,
                          redisReply **reply, char *why, size_t whylen)
{
    return conn_io(c, cmd, n, reply, false, why, whylen);
}

static bool reply_is_error(const redisReply *rp, const char *prefix)
{
    size_t n = strlen(prefix);

    return rp != NULL && rp->type == REDIS_REPLY_ERROR && rp->str != NULL &&
           rp->len >= n && strncmp(rp->str, prefix, n) == 0;
}

static bool reply_is_status(const redisReply *rp, const char *text)
{
    return rp != NULL && rp->type == REDIS_REPLY_STATUS && rp->str != NULL &&
           strcmp(rp->str, text) == 0;
}

/*
 * On a fresh connection to u: AUTH, SELECT and (check_role) ROLE in one
 * round trip.  Nothing else is sent before these answered well.
 */
static int handshake(struct eotp_redis *c, const struct eotp_redis_url *u,
                     bool check_role, char *why, size_t whylen)
{
    const char *auth[3] = {"AUTH", NULL, NULL};
    const char *sel[2] = {"SELECT", NULL};
    const char *role[1] = {"ROLE"};
    struct eotp_redis_cmd cmd[3];
    redisReply *rp[3] = {NULL, NULL, NULL};
    char dbtext[24];
    const char *user = u->user[0] != '\0'           ? u->user
                       : c->cfg->redis_user != NULL ? c->cfg->redis_user
                                                    : "";
    const char *pass = c->have_filepass ? c->filepass : u->pass;
    size_t n = 0;
    size_t ia = 99;
    size_t is = 99;
    size_t ir = 99;
    int r;

    if (pass[0] != '\0') {
        int argc = 2;

        if (user[0] != '\0') {
            auth[1] = user;
            auth[2] = pass;
            argc = 3;
        } else {
            auth[1] = pass;
        }
        cmd[n].argc = argc;
        cmd[n].argv = auth;
        cmd[n].argvlen = NULL;
        ia = n++;
    }
    if (u->db != 0) {
        (void)snprintf(dbtext, sizeof(dbtext), "%ld", u->db);
        sel[1] = dbtext;
        cmd[n].argc = 2;
        cmd[n].argv = sel;
        cmd[n].argvlen = NULL;
        is = n++;
    }
    if (check_role) {
        cmd[n].argc = 1;
        cmd[n].argv = role;
        cmd[n].argvlen = NULL;
        ir = n++;
    }
    if (n == 0) {
        return EOTP_OK;
    }
    r = conn_roundtrip(c, cmd, n, rp, why, whylen);
    if (r != EOTP_OK) {
        return r;
    }
    c->authed = ia != 99 && reply_is_status(rp[ia], "OK");
    if (ia != 99 && !c->authed) {
        r = EOTP_E_API_AUTH;
        say(why, whylen, "authentication refused");
    } else if (is != 99 && !reply_is_status(rp[is], "OK")) {
        r = EOTP_E_BAD_RESPONSE;
        say(why, whylen, "SELECT refused");
    } else if (ir != 99) {
        const redisReply *ro = rp[ir];

        if (ro == NULL || ro->type != REDIS_REPLY_ARRAY || ro->elements < 1 ||
            ro->element[0]->type != REDIS_REPLY_STRING ||
            strcmp(ro->element[0]->str, "master") != 0) {
            r = EOTP_E_TRANSPORT;
            say(why, whylen, "node is not a master");
        }
    }
    for (size_t i = 0; i < n; i++) {
        eotp_redis_reply_free(rp[i]);
    }
    if (r != EOTP_OK) {
        c->broken = true;
    }
    return r;
}

/* Next usable node of redis_url, from c->next_url on. */
static int open_next_url(struct eotp_redis *c, char *why, size_t whylen)
{
    char item[2100];
    int r = EOTP_E_TRANSPORT;

    say(why, whylen, "no node in redis_url");
    while (eotp_list_next(&c->next_url, item, sizeof(item))) {
        struct eotp_redis_url u;

        if (eotp_redis_url_parse(item, false, &u) != EOTP_OK) {
            eotp_memzero(item, sizeof(item));
            say(why, whylen, "bad redis_url");
            return EOTP_E_CONFIG;
        }
        eotp_memzero(item, sizeof(item));
        r = conn_start(c, &u, why, whylen);
        if (r == EOTP_OK) {
            r = handshake(c, &u, false, why, whylen);
        }
        if (r == EOTP_OK) {
            c->url = u;
            eotp_memzero(c->url.pass, sizeof(c->url.pass));
            c->broken = false;
        }
        eotp_memzero(&u, sizeof(u));
        if (r == EOTP_OK) {
            return r;
        }
        eotp_debug(c->lg, "redis: node skipped node=%s reason=\"%s\"", c->node,
                   why);
        conn_drop(c);
        /* Only an unreachable node (or a replica) moves on to the next. */
        if (r != EOTP_E_TRANSPORT) {
            return r;
        }
        if (now_ms() >= c->deadline) {
            say(why, whylen, "timed out");
            return EOTP_E_TIMEOUT;
        }
    }
    return r;
}

/* Ask one sentinel for the master; fill m (scheme and host:port). */
static int ask_sentinel(struct eotp_redis *c, const struct eotp_redis_url *s,
                        struct eotp_redis_url *m, char *why, size_t whylen)
{
    const char *argv[3] = {"SENTINEL", "get-master-addr-by-name",
                           c->cfg->redis_master_name};
    struct eotp_redis_cmd cmd = {3, argv, NULL};
    redisReply *rp = NULL;
    struct eotp_redis_url sauth = *s;
    int r;

    /* A sentinel is authenticated with its own URL's credentials only. */
    r = conn_start(c, s, why, whylen);
    if (r == EOTP_OK && s->pass[0] != '\0') {
        bool had = c->have_filepass;

        c->have_filepass = false;
        sauth.db = 0;
        r = handshake(c, &sauth, false, why, whylen);
        c->have_filepass = had;
    }
    eotp_memzero(&sauth, sizeof(sauth));
    if (r == EOTP_OK) {
        r = conn_roundtrip(c, &cmd, 1, &rp, why, whylen);
    }
    if (r == EOTP_OK) {
        if (rp->type != REDIS_REPLY_ARRAY || rp->elements != 2 ||
            rp->element[0]->type != REDIS_REPLY_STRING ||
            rp->element[1]->type != REDIS_REPLY_STRING ||
            rp->element[0]->len == 0 ||
            rp->element[0]->len >= sizeof(m->host) ||
            strlen(rp->element[0]->str) != rp->element[0]->len) {
            r = EOTP_E_TRANSPORT;
            say(why, whylen, "sentinel does not know the master");
        } else if (!eotp_redis_url_master(s->scheme, rp->element[0]->str,
                                          rp->element[1]->str,
                                          rp->element[1]->len, m)) {
            r = EOTP_E_TRANSPORT;
            say(why, whylen, "sentinel gave a bad address");
        }
    }
    eotp_redis_reply_free(rp);
    conn_drop(c);
    return r;
}

static int open_sentinel(struct eotp_redis *c, char *why, size_t whylen)
{
    const char *cur = c->cfg->redis_sentinels;
    char item[2100];
    int r = EOTP_E_TRANSPORT;

    say(why, whylen, "no sentinel answered");
    while (eotp_list_next(&cur, item, sizeof(item))) {
        struct eotp_redis_url s;
        struct eotp_redis_url m;

        if (eotp_redis_url_parse(item, true, &s) != EOTP_OK) {
            eotp_memzero(item, sizeof(item));
            say(why, whylen, "bad redis_sentinels");
            return EOTP_E_CONFIG;
        }
        eotp_memzero(item, sizeof(item));
        r = ask_sentinel(c, &s, &m, why, whylen);
        eotp_memzero(&s, sizeof(s));
        if (r == EOTP_OK) {
            r = conn_start(c, &m, why, whylen);
            if (r == EOTP_OK) {
                r = handshake(c, &m, true, why, whylen);
            }
            if (r == EOTP_OK) {
                c->url = m;
                c->broken = false;
                return r;
            }
            conn_drop(c);
        }
        eotp_debug(c->lg, "redis: sentinel path failed node=%s reason=\"%s\"",
                   c->node, why);
        if (r != EOTP_E_TRANSPORT) {
            return r;
        }
        if (now_ms() >= c->deadline) {
            say(why, whylen, "timed out");
            return EOTP_E_TIMEOUT;
        }
    }
    return r;
}

static int read_password_file(struct eotp_redis *c, char *why, size_t whylen)
{
    char reason[160];
    char *buf = NULL;
    size_t len = 0;
    size_t n;
    int r;

    r = eotp_safefile_read(c->cfg->redis_password_file, EOTP_SF_SECRET,
                           PASSFILE_MAX, &buf, &len, reason, sizeof(reason));
    if (r != EOTP_OK) {
        if (why != NULL && whylen > 0) {
            (void)snprintf(why, whylen, "redis_password_file refused: %s",
                           reason);
        }
        return EOTP_E_CONFIG;
    }
    n = eotp_secret_line_len(buf, len);
    if (n == 0 || n >= sizeof(c->filepass)) {
        say(why, whylen,
            "redis_password_file: empty, too long or several "
            "lines");
        r = EOTP_E_CONFIG;
    } else {
        memcpy(c->filepass, buf, n);
        c->filepass[n] = '\0';
        c->have_filepass = true;
    }
    eotp_freezero(buf, len + 1);
    return r;
}

int eotp_redis_open(const struct eotp_cfg *cfg, long budget_ms,
                    const struct eotp_logger *lg, struct eotp_redis **out,
                    char *why, size_t whylen)
{
    struct eotp_redis *c;
    int r;

    *out = NULL;
    say(why, whylen, "redis is not configured");
    if (!eotp_redis_configured(cfg)) {
        return EOTP_E_CONFIG;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        say(why, whylen, "out of memory");
        return EOTP_E_NOMEM;
    }
    c->cfg = cfg;
    c->lg = lg;
    c->fd = -1;
    c->budget_left = budget_ms > 0 ? budget_ms : 1;
    call_begin(c);
    c->next_url = cfg->redis_url;
    if (cfg->redis_password_file != NULL) {
        r = read_password_file(c, why, whylen);
        if (r != EOTP_OK) {
            goto out;
        }
    }
    if (cfg->redis_sentinels != NULL) {
        c->sentinel = true;
        r = open_sentinel(c, why, whylen);
    } else {
        r = open_next_url(c, why, whylen);
    }
out:
    call_end(c);
    if (r != EOTP_OK) {
        eotp_redis_close(c);
        return r;
    }
    *out = c;
    return EOTP_OK;
}

static int exec_call(struct eotp_redis *c, const struct eotp_redis_cmd *cmd,
                     size_t n, struct redisReply **reply, char *why,
                     size_t whylen);

int eotp_redis_exec(struct eotp_redis *c, const struct eotp_redis_cmd *cmd,
                    size_t n, struct redisReply **reply, char *why,
                    size_t whylen)
{
    int r;

    if (c == NULL || n == 0 || n > EOTP_REDIS_PIPE_MAX) {
        return EOTP_E_INTERNAL;
    }
    call_begin(c);
    r = exec_call(c, cmd, n, reply, why, whylen);
    call_end(c);
    return r;
}

static int exec_call(struct eotp_redis *c, const struct eotp_redis_cmd *cmd,
                     size_t n, struct redisReply **reply, char *why,
                     size_t whylen)
{
    int r;

    if (c->budget_left <= 0) {
        say(why, whylen, "redis_timeout used up");
        return EOTP_E_TIMEOUT;
    }
    for (;;) {
        bool readonly = false;

        if (c->broken || c->reader == NULL) {
            say(why, whylen, "connection unusable");
            return EOTP_E_TRANSPORT;
        }
        r = conn_roundtrip(c, cmd, n, reply, why, whylen);
        if (r != EOTP_OK) {
            return r;
        }
        for (size_t i = 0; i < n; i++) {
            readonly = readonly || reply_is_error(reply[i], "READONLY");
        }
        if (!readonly) {
            return EOTP_OK;
        }
        for (size_t i = 0; i < n; i++) {
            eotp_redis_reply_free(reply[i]);
            reply[i] = NULL;
        }
        eotp_debug(c->lg, "redis: node is a replica node=%s", c->node);
        conn_drop(c);
        c->broken = true;
        if (c->sentinel) {
            say(why, whylen, "master turned replica");
            return EOTP_E_TRANSPORT;
        }
        r = open_next_url(c, why, whylen);
        if (r != EOTP_OK) {
            return r;
        }
    }
}

unsigned int eotp_redis_round_trips(const struct eotp_redis *c)
{
    return c != NULL ? c->round_trips : 0;
}

bool eotp_redis_authed(const struct eotp_redis *c)
{
    return c != NULL && c->authed;
}

const char *eotp_redis_node(const struct eotp_redis *c)
{
    return c != NULL ? c->node : "-";
}

static int send_deferred(struct eotp_redis *c,
                         const struct eotp_redis_cmd *cmd, size_t n,
                         bool await_at_close, char *why, size_t whylen)
{
    bool before = c != NULL && c->deferred_unawaited;
    int r;

    if (c == NULL || n == 0 || n > EOTP_REDIS_PIPE_MAX) {
        return EOTP_E_INTERNAL;
    }
    if (c->broken || c->reader == NULL || c->budget_left <= 0) {
        say(why, whylen, "connection unusable");
        return EOTP_E_TRANSPORT;
    }
    call_begin(c);
    r = conn_io(c, cmd, n, NULL, true, why, whylen);
    call_end(c);
    /* Replies come in order: one awaited reply makes close wait for all. */
    c->deferred_unawaited = !await_at_close && (before || c->deferred == n);
    return r;
}

int eotp_redis_send(struct eotp_redis *c, const struct eotp_redis_cmd *cmd,
                    size_t n, char *why, size_t whylen)
{
    return send_deferred(c, cmd, n, true, why, whylen);
}

int eotp_redis_post(struct eotp_redis *c, const struct eotp_redis_cmd *cmd,
                    size_t n, char *why, size_t whylen)
{
    return send_deferred(c, cmd, n, false, why, whylen);
}

void eotp_redis_close(struct eotp_redis *c)
{
    if (c == NULL) {
        return;
    }
    if (c->deferred > 0 && !c->broken && c->reader != NULL &&
        c->budget_left > 0) {
        char why[64];

        /*
         * Read what is owed, so the server surely ran it before we go.
         * Only eotp_redis_post() replies owed: read what has arrived and
         * go, without waiting.  A command the server has received runs
         * even when the connection then closes; reading first also spares
         * the server a reset (close() with unread data sends RST).
         */
        call_begin(c);
        if (c->deferred_unawaited) {
            c->deadline = now_ms();
        }
        (void)conn_io(c, NULL, 0, NULL, false, why, sizeof(why));
        call_end(c);
    }
    conn_drop(c);
    SSL_CTX_free(c->ctx);
    eotp_memzero(c, sizeof(*c));
    free(c);
}

void eotp_redis_reply_free(struct redisReply *r)
{
    if (r != NULL) {
        freeReplyObject(r);
    }
}

void eotp_redis_budget_reset(struct eotp_redis *c, long budget_ms)
{
    if (c != NULL) {
        c->budget_left = budget_ms > 0 ? budget_ms : 1;
    }
}

void eotp_redis_set_call_cap(struct eotp_redis *c, long max_ms)
{
    if (c != NULL) {
        c->call_cap = max_ms > 0 ? max_ms : 0;
    }
}

long eotp_redis_budget_left(const struct eotp_redis *c)
{
    return c != NULL ? c->budget_left : 0;
}
