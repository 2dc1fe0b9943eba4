/* SPDX-License-Identifier: Apache-2.0 */
/*
 * receiver.c - the EngageLab callback receiver (receiver.h).
 *
 * One libmicrohttpd daemon with one internal polling thread: every
 * request is handled in that thread, so the state store connection and
 * the nonce cache have one user and need no lock.  The main thread waits
 * for SIGTERM or SIGINT.
 */
#include "receiver.h"

#include "nonce.h"

#include "../core/callback.h"
#include "../core/callback_body.h"
#include "../core/delivery.h"
#include "../core/err.h"
#include "../core/safefile.h"
#include "../core/secret.h"
#include "../core/store.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SECRET_FILE_MAX 4096
#define PEM_FILE_MAX (256 * 1024)
#define DISCARD_MAX (1024 * 1024) /* bytes dropped after 64 KiB, then close */
#define CONN_LIMIT 512
#define CONN_TIMEOUT 15 /* seconds idle */
#define NOTE_TTL EOTP_WINDOW_MAX

struct recv {
    const struct eotp_cfg *cfg;
    /* cfg with redis_required set, for the store: a central receiver never
     * falls back to its own state_dir, which no other host reads; it
     * answers 503 and EngageLab sends the callback again later.  A shallow
     * copy: its strings are cfg's. */
    struct eotp_cfg store_cfg;
    const struct eotp_logger *lg;
    struct eotp_store *store;
    struct eotp_nonce_cache *nonces;
    char *secret;
    size_t secret_len;
    size_t secret_cap; /* bytes allocated, for the wipe */
    char *auth;        /* the Authorization value, or NULL */
    size_t auth_cap;
    struct MHD_Response *empty[600];
    unsigned long accepted, refused, rows;
    /* The refusal log's budget (may_log()). */
    pthread_mutex_t log_lock;
    long long log_window; /* CLOCK_MONOTONIC s when the window opened */
    unsigned int log_lines;
    unsigned long log_dropped, log_dropped_all;
};

/* One request's body, at most EOTP_CBB_BODY_MAX bytes kept. */
struct req {
    char *buf;
    size_t len;
    size_t dropped; /* bytes beyond the bound, not kept */
};

static const unsigned int codes[] = {
    MHD_HTTP_OK,
    MHD_HTTP_BAD_REQUEST,
    MHD_HTTP_UNAUTHORIZED,
    MHD_HTTP_NOT_FOUND,
    MHD_HTTP_METHOD_NOT_ALLOWED,
    MHD_HTTP_CONTENT_TOO_LARGE,
    MHD_HTTP_INTERNAL_SERVER_ERROR,
    MHD_HTTP_SERVICE_UNAVAILABLE,
};

static enum MHD_Result answer(struct recv *rv, struct MHD_Connection *conn,
                              unsigned int code)
{
    if (code == MHD_HTTP_OK) {
        rv->accepted++;
    } else {
        rv->refused++;
    }
    return MHD_queue_response(conn, code, rv->empty[code]);
}

static void client_addr(struct MHD_Connection *conn, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

    (void)snprintf(out, len, "-");
    if (sa == NULL) {
        return;
    }
    if (sa->sa_family == AF_INET) {
        (void)inet_ntop(
            AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
            out, (socklen_t)len);
    } else if (sa->sa_family == AF_INET6) {
        (void)inet_ntop(
            AF_INET6,
            &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
            (socklen_t)len);
    }
}

/*
 * Anyone who can reach the port can make the receiver refuse: its lines
 * about refusals (and libmicrohttpd's own, e.g. failed TLS handshakes)
 * are kept to REFUSAL_LOG_BURST per REFUSAL_LOG_WINDOW seconds, so that a
 * flood cannot fill syslog.  The lines left out are counted, and the
 * count is logged with the first line of the next window and at stop.
 */
#define REFUSAL_LOG_BURST 50
#define REFUSAL_LOG_WINDOW 10

static bool may_log(struct recv *rv)
{
    struct timespec ts;
    long long now;
    bool ok;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (long long)ts.tv_sec;
    (void)pthread_mutex_lock(&rv->log_lock);
    if (now - rv->log_window >= REFUSAL_LOG_WINDOW) {
        if (rv->log_dropped > 0) {
            eotp_log(rv->lg, LOG_WARNING,
                     "callback refusals not logged count=%lu within=%ds "
                     "limit=%d",
                     rv->log_dropped, REFUSAL_LOG_WINDOW, REFUSAL_LOG_BURST);
            rv->log_dropped = 0;
        }
        rv->log_window = now;
        rv->log_lines = 0;
    }
    ok = rv->log_lines < REFUSAL_LOG_BURST;
    if (ok) {
        rv->log_lines++;
    } else {
        rv->log_dropped++;
        rv->log_dropped_all++;
    }
    (void)pthread_mutex_unlock(&rv->log_lock);
    return ok;
}

static enum MHD_Result refuse(struct recv *rv, struct MHD_Connection *conn,
                              unsigned int code, const char *reason)
{
    char from[INET6_ADDRSTRLEN + 1];

    if (may_log(rv)) {
        client_addr(conn, from, sizeof(from));
        eotp_log(rv->lg, code >= 500 ? LOG_ERR : LOG_WARNING,
                 "callback refused status=%u reason=\"%s\" from=%s", code,
                 reason, from);
    }
    return answer(rv, conn, code);
}

/* ---- rows --------------------------------------------------------------- */

static int store_note(struct recv *rv, const struct eotp_cbb_note *nt)
{
    char value[EOTP_STORE_VALUE_MAX];
    int n = snprintf(value, sizeof(value), "v1 e=%s t=%lld s=%lld d=%s",
                     nt->event, nt->at, (long long)time(NULL),
                     nt->detail[0] != '\0' ? nt->detail : "-");

    if (n < 0 || (size_t)n >= sizeof(value)) {
        return EOTP_E_INTERNAL;
    }
    if (nt->prio == LOG_ALERT) {
        int r = eotp_store_rec_put(rv->store, EOTP_RECV_NOTE_NS,
                                   EOTP_RECV_ALERT_ID, value, NOTE_TTL);

        if (r != EOTP_OK) {
            return r;
        }
    }
    return eotp_store_rec_put(rv->store, EOTP_RECV_NOTE_NS, EOTP_RECV_NOTE_ID,
                              value, NOTE_TTL);
}

int eotp_recv_note_decode(const char *value, struct eotp_recv_note *out)
{
    const char *p = value;
    const char *sp;
    char num[24];
    long v;

    memset(out, 0, sizeof(*out));
    if (strncmp(p, "v1 e=", 5) != 0) {
        return EOTP_E_BAD_RESPONSE;
    }
    p += 5;
    sp = strchr(p, ' ');
    if (sp == NULL || sp == p || (size_t)(sp - p) >= sizeof(out->event)) {
        return EOTP_E_BAD_RESPONSE;
    }
    memcpy(out->event, p, (size_t)(sp - p));
    p = sp + 1;
    for (int i = 0; i < 2; i++) {
        const char *key = i == 0 ? "t=" : "s=";

        if (strncmp(p, key, 2) != 0) {
            return EOTP_E_BAD_RESPONSE;
        }
        p += 2;
        sp = strchr(p, ' ');
        if (sp == NULL || sp == p || (size_t)(sp - p) >= sizeof(num)) {
            return EOTP_E_BAD_RESPONSE;
        }
        memcpy(num, p, (size_t)(sp - p));
        num[sp - p] = '\0';
        if (eotp_parse_long(num, 0, 0x7fffffffL, &v) != EOTP_OK) {
            return EOTP_E_BAD_RESPONSE;
        }
        if (i == 0) {
            out->at = v;
        } else {
            out->seen = v;
        }
        p = sp + 1;
    }
    if (strncmp(p, "d=", 2) != 0) {
        return EOTP_E_BAD_RESPONSE;
    }
    (void)eotp_cbb_clean(out->detail, sizeof(out->detail), p + 2, false);
    return EOTP_OK;
}

/* Store and log the rows; the first store error is returned. */
static int take_rows(struct recv *rv, const struct eotp_cbb *cbb)
{
    int ret = EOTP_OK;

    /* One request is one unit of work for the store (its Redis budget,
     * and Redis tried again after a failure). */
    eotp_store_renew(rv->store);

    for (size_t i = 0; i < cbb->nstatus; i++) {
        const struct eotp_cbb_status *st = &cbb->status[i];
        struct eotp_dlv d = st->dlv;
        long long now = (long long)time(NULL);
        bool kept = false;
        int r;

        /* The body is not signed: a row's time from the future would pin
         * its status over later rows (delivery.c keeps the newest). */
        if (d.at > now + rv->cfg->callback_max_age) {
            d.at = now;
        }
        r = eotp_dlv_put(rv->store, st->message_id, &d, 0, &kept);

        eotp_log(rv->lg, LOG_INFO,
                 "delivery status message_id=%s channel=%s status=%s "
                 "error_code=%ld error=\"%s\" cost=%s currency=%s at=%lld "
                 "route=%s stored=%s",
                 st->message_id,
                 st->dlv.channel[0] != '\0' ? st->dlv.channel : "-",
                 st->dlv.status, st->dlv.error_code,
                 st->error_message[0] != '\0' ? st->error_message : "-",
                 st->cost[0] != '\0' ? st->cost : "-",
                 st->currency[0] != '\0' ? st->currency : "-", st->dlv.at,
                 st->route[0] != '\0' ? st->route : "-",
                 r != EOTP_OK ? eotp_err_reason(r)
                 : kept       ? "yes"
                              : "older");
        if (r != EOTP_OK && ret == EOTP_OK) {
            ret = r;
        }
        rv->rows++;
    }
    for (size_t i = 0; i < cbb->nnote; i++) {
        const struct eotp_cbb_note *nt = &cbb->note[i];
        int r = store_note(rv, nt);

        eotp_log(rv->lg, nt->prio,
                 "engagelab notification event=%s at=%lld %s%sstored=%s",
                 nt->event, nt->at, nt->detail,
                 nt->detail[0] != '\0' ? " " : "",
                 r == EOTP_OK ? "yes" : eotp_err_reason(r));
        if (r != EOTP_OK && ret == EOTP_OK) {
            ret = r;
        }
        rv->rows++;
    }
    if (cbb->bad_rows > 0) {
        eotp_log(rv->lg, LOG_WARNING,
                 "callback rows skipped reason=\"no usable message_id, "
                 "status or event\" count=%zu",
                 cbb->bad_rows);
    }
    return ret;
}

/* ---- a request ---------------------------------------------------------- */

static bool authorized(struct recv *rv, struct MHD_Connection *conn)
{
    const char *v;

    if (rv->auth == NULL) {
        return true;
    }
    v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_AUTHORIZATION);
    return v != NULL && eotp_consttime_streq(v, rv->auth);
}

/* Check X-CALLBACK-ID and remember it.  0: good (*key set); else the
 * HTTP code to answer, reason filled in. */
static unsigned int check_signature(struct recv *rv, const char *value,
                                    struct eotp_nonce_key *key,
                                    const char **reason)
{
    struct eotp_cb_header h;
    enum eotp_cb_status st = EOTP_CB_MALFORMED;
    char why[128];
    long long now = (long long)time(NULL);
    long ts = 0;
    long long exp;
    int r;

    r = eotp_cb_verify(value, rv->secret, rv->secret_len,
                       rv->cfg->callback_max_age, now, &st, why, sizeof(why));
    if (r != EOTP_OK) {
        *reason = r == EOTP_E_CODE_WRONG ? eotp_cb_status_text(st)
                                         : "signature check failed";
        return r == EOTP_E_CODE_WRONG ? MHD_HTTP_UNAUTHORIZED
                                      : MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (eotp_cb_parse(value, &h, why, sizeof(why)) != EOTP_OK ||
        strcmp(h.username, rv->cfg->callback_username) != 0) {
        *reason = "another username";
        return MHD_HTTP_UNAUTHORIZED;
    }
    (void)eotp_parse_long(h.timestamp, 0, 0x7fffffffL, &ts);
    eotp_nonce_key(h.timestamp, h.nonce, h.username, key);
    exp = (long long)ts + rv->cfg->callback_max_age + 1;
    switch (eotp_nonce_add(rv->nonces, key,
                           exp > 0xffffffffLL ? 0xffffffffU : (uint32_t)exp,
                           (uint32_t)now)) {
    case EOTP_NONCE_NEW:
        return 0;
    case EOTP_NONCE_SEEN:
        *reason = "replayed";
        return MHD_HTTP_UNAUTHORIZED;
    case EOTP_NONCE_FULL:
    default:
        *reason = "nonce cache full";
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    }
}

static enum MHD_Result finish(struct recv *rv, struct MHD_Connection *conn,
                              struct req *rq)
{
    const char *hdr;
    const char *reason = "";
    struct eotp_nonce_key key;
    struct eotp_cbb cbb;
    unsigned int code;
    bool signed_ok = false;
    int r;

    if (rq->dropped > 0) {
        return refuse(rv, conn, MHD_HTTP_CONTENT_TOO_LARGE,
                      "body over 64 KiB");
    }
    hdr = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CALLBACK-ID");
    if (hdr != NULL) {
        if (!authorized(rv, conn)) {
            return refuse(rv, conn, MHD_HTTP_UNAUTHORIZED,
                          "Authorization missing or wrong");
        }
        code = check_signature(rv, hdr, &key, &reason);
        if (code != 0) {
            return refuse(rv, conn, code, reason);
        }
        signed_ok = true;
    }
    r = eotp_cbb_parse(rq->buf != NULL ? rq->buf : "", rq->len, &cbb);
    if (r == EOTP_OK && cbb.kind == EOTP_CBB_URL_CHECK) {
        eotp_log(rv->lg, LOG_INFO, "callback URL check answered signed=%s",
                 signed_ok ? "yes" : "no");
        return answer(rv, conn, MHD_HTTP_OK);
    }
    if (!signed_ok) {
        eotp_cbb_free(&cbb);
        return refuse(rv, conn, MHD_HTTP_UNAUTHORIZED,
                      "X-CALLBACK-ID missing");
    }
    if (r != EOTP_OK) {
        return refuse(rv, conn,
                      r == EOTP_E_NOMEM ? MHD_HTTP_SERVICE_UNAVAILABLE
                                        : MHD_HTTP_BAD_REQUEST,
                      r == EOTP_E_NOMEM ? "out of memory"
                                        : "not JSON or the wrong shape");
    }
    r = take_rows(rv, &cbb);
    eotp_cbb_free(&cbb);
    if (r != EOTP_OK) {
        /* EngageLab sends it again later, with the same header maybe. */
        eotp_nonce_forget(rv->nonces, &key, (uint32_t)time(NULL));
        return refuse(rv, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                      "state store failed");
    }
    return answer(rv, conn, MHD_HTTP_OK);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    struct recv *rv = cls;
    struct req *rq = *con_cls;

    (void)version;
    if (rq == NULL) {
        const char *cl;
        long clen = 0;

        if (strcmp(url, EOTP_RECV_PATH) != 0) {
            return refuse(rv, conn, MHD_HTTP_NOT_FOUND, "no such path");
        }
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
            return refuse(rv, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "not POST");
        }
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL && (eotp_parse_long(cl, 0, 0x7fffffffL, &clen) != 0 ||
                           clen > EOTP_CBB_BODY_MAX)) {
            return refuse(rv, conn, MHD_HTTP_CONTENT_TOO_LARGE,
                          "body over 64 KiB");
        }
        rq = calloc(1, sizeof(*rq));
        if (rq == NULL) {
            return MHD_NO;
        }
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;

        *upload_data_size = 0;
        if (rq->dropped > 0 || n > EOTP_CBB_BODY_MAX - rq->len) {
            rq->dropped += n;
            /* A body that never ends: close the connection. */
            return rq->dropped > DISCARD_MAX ? MHD_NO : MHD_YES;
        }
        if (rq->buf == NULL) {
            rq->buf = malloc(EOTP_CBB_BODY_MAX);
            if (rq->buf == NULL) {
                return MHD_NO;
            }
        }
        memcpy(rq->buf + rq->len, upload_data, n);
        rq->len += n;
        return MHD_YES;
    }
    return finish(rv, conn, rq);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (rq != NULL) {
        free(rq->buf);
        free(rq);
        *con_cls = NULL;
    }
}

/* libmicrohttpd's own messages: its format, checked as printf's. */
__attribute__((format(printf, 2, 0))) static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct recv *rv = cls;
    char line[256];
    char safe[256];
    size_t n;

    if (!may_log(rv)) {
        return;
    }
    (void)vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    if (n > 0 && line[n - 1] == '\n') {
        line[n - 1] = '\0';
    }
    eotp_log(rv->lg, LOG_WARNING, "callback http: %s",
             eotp_sanitize(safe, sizeof(safe), line, false));
}

/* ---- start and stop ----------------------------------------------------- */

static int read_file(const struct recv *rv, const char *key, const char *path,
                     size_t max, char **buf, size_t *len)
{
    char why[160];
    char safe[EOTP_FIELD_MAX];
    int r = eotp_safefile_read(path, EOTP_SF_SECRET, max, buf, len, why,
                               sizeof(why));

    if (r != EOTP_OK) {
        eotp_log(rv->lg, LOG_ERR,
                 "callback: refusing %s file=%s reason=\"%s\" (want a "
                 "root-owned file with mode 0600)",
                 key, eotp_sanitize(safe, sizeof(safe), path, true), why);
        return EOTP_E_CONFIG;
    }
    return EOTP_OK;
}

static int one_line(const struct recv *rv, const char *key, char *s,
                    size_t *len)
{
    eotp_cb_secret_trim(s, len);
    if (*len == 0 || memchr(s, '\0', *len) != NULL ||
        memchr(s, '\n', *len) != NULL || memchr(s, '\r', *len) != NULL) {
        eotp_log(rv->lg, LOG_ERR,
                 "callback: %s is empty, holds a NUL byte or several lines",
                 key);
        return EOTP_E_CONFIG;
    }
    return EOTP_OK;
}

static int load(struct recv *rv)
{
    const struct eotp_cfg *cfg = rv->cfg;
    size_t len = 0;
    int r;

    if (cfg->callback_username == NULL || cfg->callback_secret_file == NULL) {
        eotp_log(rv->lg, LOG_ERR,
                 "callback: callback_username and callback_secret_file are "
                 "required (the same as in the EngageLab console)");
        return EOTP_E_CONFIG;
    }
    r = read_file(rv, "callback_secret_file", cfg->callback_secret_file,
                  SECRET_FILE_MAX, &rv->secret, &rv->secret_len);
    if (r == EOTP_OK) {
        rv->secret_cap = rv->secret_len + 1;
        r = one_line(rv, "callback_secret_file", rv->secret, &rv->secret_len);
    }
    if (r == EOTP_OK && cfg->callback_auth_file != NULL) {
        r = read_file(rv, "callback_auth_file", cfg->callback_auth_file,
                      SECRET_FILE_MAX, &rv->auth, &len);
        if (r == EOTP_OK) {
            rv->auth_cap = len + 1;
            r = one_line(rv, "callback_auth_file", rv->auth, &len);
        }
    }
    if (r == EOTP_OK &&
        (cfg->callback_tls_cert == NULL) != (cfg->callback_tls_key == NULL)) {
        eotp_log(rv->lg, LOG_ERR,
                 "callback: callback_tls_cert and callback_tls_key go "
                 "together");
        r = EOTP_E_CONFIG;
    }
    return r;
}

static void unload(struct recv *rv)
{
    if (rv->secret != NULL) {
        eotp_freezero(rv->secret, rv->secret_cap);
    }
    if (rv->auth != NULL) {
        eotp_freezero(rv->auth, rv->auth_cap);
    }
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (rv->empty[codes[i]] != NULL) {
            MHD_destroy_response(rv->empty[codes[i]]);
        }
    }
    eotp_nonce_free(rv->nonces);
    eotp_store_close(rv->store);
}

static int responses(struct recv *rv)
{
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

        if (resp == NULL) {
            return EOTP_E_NOMEM;
        }
        rv->empty[codes[i]] = resp;
        if (codes[i] == MHD_HTTP_METHOD_NOT_ALLOWED &&
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST") !=
                MHD_YES) {
            return EOTP_E_NOMEM;
        }
    }
    return EOTP_OK;
}

static struct MHD_Daemon *start(struct recv *rv, const struct eotp_listen *l,
                                const char *cert, const char *key)
{
    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)(uintptr_t)cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)(uintptr_t)key},
        {MHD_OPTION_END, 0, NULL},
    };

    if (l->addr.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    if (cert != NULL) {
        flags |= MHD_USE_TLS;
    } else {
        tls[0].option = MHD_OPTION_END;
    }
    /* The logger first, so that MHD never prints on its own. */
    return MHD_start_daemon(
        flags, 0, NULL, NULL, handle, rv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        rv, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&l->addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONN_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONN_TIMEOUT,
        MHD_OPTION_NOTIFY_COMPLETED, completed, rv, MHD_OPTION_ARRAY, tls,
        MHD_OPTION_END);
}

int eotp_recv_serve(const struct eotp_cfg *cfg, const struct eotp_logger *lg)
{
    struct recv rv;
    struct eotp_listen l;
    struct MHD_Daemon *d = NULL;
    char *cert = NULL;
    char *key = NULL;
    size_t cert_len = 0;
    size_t key_len = 0;
    sigset_t set;
    int sig = 0;
    int r;

    memset(&rv, 0, sizeof(rv));
    (void)pthread_mutex_init(&rv.log_lock, NULL);
    rv.log_window = -REFUSAL_LOG_WINDOW;
    rv.cfg = cfg;
    rv.lg = lg;
    if (eotp_listen_parse(cfg->callback_listen, &l) != EOTP_OK) {
        eotp_log(lg, LOG_ERR, "callback: callback_listen is not ADDR:PORT");
        return EOTP_E_CONFIG;
    }
    r = load(&rv);
    if (r == EOTP_OK && cfg->callback_tls_cert != NULL) {
        char why[160];

        if (eotp_safefile_read(cfg->callback_tls_cert, EOTP_SF_PUBLIC,
                               PEM_FILE_MAX, &cert, &cert_len, why,
                               sizeof(why)) != EOTP_OK) {
            eotp_log(lg, LOG_ERR,
                     "callback: refusing callback_tls_cert reason=\"%s\"",
                     why);
            r = EOTP_E_CONFIG;
        } else {
            r = read_file(&rv, "callback_tls_key", cfg->callback_tls_key,
                          PEM_FILE_MAX, &key, &key_len);
        }
        if (r == EOTP_OK &&
            MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            eotp_log(lg, LOG_ERR, "callback: libmicrohttpd has no TLS");
            r = EOTP_E_CONFIG;
        }
    }
    if (r == EOTP_OK) {
        r = responses(&rv);
    }
    if (r == EOTP_OK) {
        r = eotp_nonce_new(0, &rv.nonces);
    }
    if (r == EOTP_OK) {
        rv.store_cfg = *cfg;
        rv.store_cfg.redis_required = true;
        r = eotp_store_open(&rv.store_cfg, lg, &rv.store);
        if (r != EOTP_OK) {
            eotp_log(lg, LOG_ERR, "callback: state store unusable: %s",
                     eotp_strerror(r));
        }
    }
    if (r != EOTP_OK) {
        goto out;
    }
    /* Signals are taken by sigwait() here, never by MHD's thread. */
    (void)sigemptyset(&set);
    (void)sigaddset(&set, SIGTERM);
    (void)sigaddset(&set, SIGINT);
    (void)sigaddset(&set, SIGHUP);
    (void)pthread_sigmask(SIG_BLOCK, &set, NULL);
    (void)signal(SIGPIPE, SIG_IGN);
    d = start(&rv, &l, cert, key);
    if (d == NULL) {
        char safe[EOTP_FIELD_MAX];

        eotp_log(lg, LOG_ERR,
                 "callback: cannot serve on %s (address in use, or not "
                 "this host's)",
                 eotp_sanitize(safe, sizeof(safe), cfg->callback_listen,
                               true));
        r = EOTP_E_TRANSPORT;
        goto out;
    }
    eotp_log(lg, LOG_NOTICE,
             "callback receiver started listen=%s tls=%s store=%s "
             "max_age=%ld nonce_cache=%zu",
             cfg->callback_listen, cert != NULL ? "yes" : "no",
             eotp_store_name(rv.store), cfg->callback_max_age,
             eotp_nonce_max(rv.nonces));
    for (;;) {
        if (sigwait(&set, &sig) != 0 || sig != SIGHUP) {
            break;
        }
    }
    MHD_stop_daemon(d);
    eotp_log(lg, LOG_NOTICE,
             "callback receiver stopped signal=%d accepted=%lu refused=%lu "
             "rows=%lu refusals_not_logged=%lu",
             sig, rv.accepted, rv.refused, rv.rows, rv.log_dropped_all);
out:
    if (key != NULL) {
        eotp_freezero(key, key_len + 1);
    }
    free(cert);
    unload(&rv);
    return r;
}
