/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.c - libcurl, configured for use inside sshd, sudo and login.
 */
#include "http.h"

#include "err.h"
#include "secret.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>

#ifndef EOTP_VERSION
#define EOTP_VERSION "0"
#endif

struct eotp_http {
    CURL *curl;
    char *base_url;
    char *auth_header; /* "Authorization: Basic ...", a secret */
    /*
     * Header lists built from our own nodes, so that the Authorization
     * header can be wiped: curl_slist_append() would copy it.
     */
    struct curl_slist h_auth, h_accept, h_ctype, h_expect;
    long connect_timeout_ms;
    long timeout_ms;
    /*
     * API time left for all requests of this handle (ms), -1: no deadline.
     * Only time inside requests is counted: a login's handle lives while
     * the user reads the code and types it, and that must not use it up.
     */
    long budget_ms;
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    /* Never paired with curl_global_cleanup(): the module stays loaded
     * (-z nodelete) and the host may use OpenSSL itself. */
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int eotp_http_global_init(void)
{
    /*
     * libcurl opens $SSLKEYLOGFILE for appending when it starts and writes
     * every TLS secret there.  In a setuid program (su, chsh, sudo -E) the
     * variable comes from the invoking user: root would create or append
     * to a file of that user's choosing (with that user's umask), and the
     * secrets that protect dev_secret on the wire would be written out.
     */
    if (getauxval(AT_SECURE) != 0 && getenv("SSLKEYLOGFILE") != NULL) {
        return EOTP_E_UNSAFE_ENV;
    }
    if (pthread_once(&global_once, global_init) != 0 ||
        global_rc != CURLE_OK) {
        return EOTP_E_INTERNAL;
    }
    return EOTP_OK;
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of in (len bytes) into out (size >= 4 * ((len + 2) / 3) + 1). */
static void base64(const unsigned char *in, size_t len, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i += 3) {
        unsigned int v = (unsigned int)in[i] << 16;

        if (i + 1 < len) {
            v |= (unsigned int)in[i + 1] << 8;
        }
        if (i + 2 < len) {
            v |= in[i + 2];
        }
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64[v & 63] : '=';
    }
    out[o] = '\0';
}

static char *make_auth_header(const char *user, const char *secret)
{
    static const char prefix[] = "Authorization: Basic ";
    size_t ul = strlen(user);
    size_t sl = strlen(secret);
    size_t plain_len = ul + 1 + sl;
    size_t enc_len = 4 * ((plain_len + 2) / 3);
    char *plain = malloc(plain_len + 1);
    char *hdr = malloc(sizeof(prefix) + enc_len);

    if (plain == NULL || hdr == NULL) {
        free(plain);
        free(hdr);
        return NULL;
    }
    memcpy(plain, user, ul);
    plain[ul] = ':';
    memcpy(plain + ul + 1, secret, sl);
    plain[plain_len] = '\0';
    memcpy(hdr, prefix, sizeof(prefix) - 1);
    base64((const unsigned char *)plain, plain_len, hdr + sizeof(prefix) - 1);
    eotp_freezero(plain, plain_len + 1);
    return hdr;
}

struct sink {
    char *buf;
    size_t len;
    size_t cap;
    bool too_big;
    bool oom; /* out of memory: never a service failure (failmode) */
};

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    struct sink *s = userp;
    size_t n = size * nmemb;

    if (n > EOTP_HTTP_BODY_MAX - s->len) {
        s->too_big = true;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    if (s->len + n + 1 > s->cap) {
        size_t ncap = s->cap == 0 ? 1024 : s->cap;
        char *nb;

        while (ncap < s->len + n + 1) {
            ncap *= 2;
        }
        if (ncap > EOTP_HTTP_BODY_MAX + 1) {
            ncap = EOTP_HTTP_BODY_MAX + 1;
        }
        /* Grow by copy so the old buffer can be wiped. */
        nb = malloc(ncap);
        if (nb == NULL) {
            s->oom = true;
            return 0;
        }
        if (s->buf != NULL) {
            memcpy(nb, s->buf, s->len);
            eotp_freezero(s->buf, s->cap);
        }
        s->buf = nb;
        s->cap = ncap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

static long ms_since(const struct timespec *t)
{
    struct timespec now;

    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - t->tv_sec) * 1000L +
           (now.tv_nsec - t->tv_nsec) / 1000000L;
}

long eotp_http_time_left(const struct eotp_http *h)
{
    return h->budget_ms < 0 ? 1000L * 1000 * 1000 : h->budget_ms;
}

long eotp_http_set_timeout(struct eotp_http *h, long timeout_ms)
{
    long old = h->timeout_ms;

    if (timeout_ms > 0) {
        h->timeout_ms = timeout_ms;
    }
    return old;
}

void eotp_http_spend(struct eotp_http *h, long ms)
{
    if (h->budget_ms >= 0 && ms > 0) {
        h->budget_ms = ms < h->budget_ms ? h->budget_ms - ms : 0;
    }
}

static void link_node(struct curl_slist *node, char *data,
                      struct curl_slist *next)
{
    node->data = data;
    node->next = next;
}

int eotp_http_new(const struct eotp_http_opts *opts, struct eotp_http **out)
{
    struct eotp_http *h = NULL;
    int r = eotp_http_global_init();

    if (r != EOTP_OK) {
        return r;
    }
    if (strncmp(opts->base_url, "https://", 8) != 0) {
        return EOTP_E_CONFIG;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return EOTP_E_NOMEM;
    }
    h->curl = curl_easy_init();
    h->base_url = strdup(opts->base_url);
    h->auth_header = make_auth_header(opts->user, opts->secret);
    if (h->curl == NULL || h->base_url == NULL || h->auth_header == NULL) {
        r = EOTP_E_NOMEM;
        goto out;
    }
    /* Strip a trailing '/' so base + "/v1/..." has one slash. */
    {
        size_t bl = strlen(h->base_url);

        while (bl > 8 && h->base_url[bl - 1] == '/') {
            h->base_url[--bl] = '\0';
        }
    }
    link_node(&h->h_expect, (char *)(uintptr_t) "Expect:", NULL);
    link_node(&h->h_accept, (char *)(uintptr_t) "Accept: application/json",
              &h->h_expect);
    link_node(&h->h_auth, h->auth_header, &h->h_accept);
    link_node(&h->h_ctype,
              (char *)(uintptr_t) "Content-Type: application/json",
              &h->h_auth);
    h->connect_timeout_ms = opts->connect_timeout_ms;
    h->timeout_ms = opts->timeout_ms;
    h->budget_ms = opts->deadline_ms > 0 ? opts->deadline_ms : -1;

    /* Every option below is a security decision; none can be turned off. */
    if (curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "https") !=
            CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_REDIR_PROTOCOLS_STR, "https") !=
            CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_SSLVERSION,
                         (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED) !=
            CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf) !=
            CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, write_cb) !=
            CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_USERAGENT,
                         "pam_engagelab_otp/" EOTP_VERSION) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_MAXFILESIZE_LARGE,
                         (curl_off_t)EOTP_HTTP_BODY_MAX) != CURLE_OK) {
        r = EOTP_E_INTERNAL;
        goto out;
    }
    /*
     * ca_file replaces the system store: without CAPATH NULL, libcurl's
     * built-in CA directory (/etc/ssl/certs on Debian) would still be
     * searched, and every public CA trusted beside the private one.
     */
    if (opts->ca_file != NULL &&
        (curl_easy_setopt(h->curl, CURLOPT_CAINFO, opts->ca_file) !=
             CURLE_OK ||
         curl_easy_setopt(h->curl, CURLOPT_CAPATH, NULL) != CURLE_OK)) {
        r = EOTP_E_CONFIG;
        goto out;
    }
    /*
     * The proxy is explicit: "" disables proxies even when http_proxy and
     * friends are in the environment, and NOPROXY "" ignores no_proxy.
     */
    if (curl_easy_setopt(h->curl, CURLOPT_PROXY,
                         opts->proxy != NULL ? opts->proxy : "") != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_NOPROXY, "") != CURLE_OK) {
        r = EOTP_E_CONFIG;
        goto out;
    }
    *out = h;
    h = NULL;
    r = EOTP_OK;
out:
    eotp_http_free(h);
    return r;
}

void eotp_http_free(struct eotp_http *h)
{
    if (h == NULL) {
        return;
    }
    if (h->curl != NULL) {
        curl_easy_cleanup(h->curl);
    }
    eotp_str_wipe_free(h->auth_header);
    free(h->base_url);
    eotp_memzero(h, sizeof(*h));
    free(h);
}

void eotp_http_resp_clear(struct eotp_http_resp *resp)
{
    if (resp->body != NULL) {
        eotp_freezero(resp->body, resp->len + 1);
    }
    resp->body = NULL;
    resp->len = 0;
    resp->status = 0;
}

const char *eotp_http_last_error(const struct eotp_http *h)
{
    return h->errbuf;
}

static int map_curl_error(CURLcode rc, const struct sink *s)
{
    if (s->oom) {
        return EOTP_E_NOMEM;
    }
    if (s->too_big) {
        return EOTP_E_BAD_RESPONSE;
    }
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return EOTP_E_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        return EOTP_E_TLS;
    case CURLE_OUT_OF_MEMORY:
        return EOTP_E_NOMEM;
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
        return EOTP_E_BAD_RESPONSE;
    default:
        return EOTP_E_TRANSPORT;
    }
}

int eotp_http_request(struct eotp_http *h, const char *method,
                      const char *path, const char *body,
                      struct eotp_http_resp *resp)
{
    struct sink sink = {NULL, 0, 0, false, false};
    struct sigaction ign;
    struct sigaction old_pipe;
    sigset_t block;
    sigset_t old_mask;
    struct timespec start;
    char *url = NULL;
    size_t url_len;
    long left = eotp_http_time_left(h);
    long total = h->timeout_ms;
    long connect = h->connect_timeout_ms;
    long status = 0;
    CURLcode rc;
    int r;

    resp->status = 0;
    resp->body = NULL;
    resp->len = 0;
    if (left <= 0) {
        (void)snprintf(h->errbuf, sizeof(h->errbuf), "login deadline passed");
        return EOTP_E_TIMEOUT;
    }
    if (left < total) {
        total = left;
    }
    if (connect > total) {
        connect = total;
    }
    url_len = strlen(h->base_url) + strlen(path) + 1;
    url = malloc(url_len);
    if (url == NULL) {
        return EOTP_E_NOMEM;
    }
    (void)snprintf(url, url_len, "%s%s", h->base_url, path);
    h->errbuf[0] = '\0';

    if (curl_easy_setopt(h->curl, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &sink) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, connect) !=
            CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, total) != CURLE_OK) {
        r = EOTP_E_INTERNAL;
        goto out;
    }
    if (strcmp(method, "POST") == 0) {
        rc = curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, NULL);
        if (rc == CURLE_OK) {
            rc = curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                                  (curl_off_t)(body != NULL ? strlen(body)
                                                            : 0));
        }
        if (rc == CURLE_OK) {
            rc = curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS,
                                  body != NULL ? body : "");
        }
        if (rc == CURLE_OK) {
            rc = curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, &h->h_ctype);
        }
    } else if (strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0) {
        rc = curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
        if (rc == CURLE_OK) {
            rc = curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST,
                                  strcmp(method, "DELETE") == 0 ? "DELETE"
                                                                : NULL);
        }
        if (rc == CURLE_OK) {
            rc = curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, &h->h_auth);
        }
    } else {
        r = EOTP_E_INTERNAL;
        goto out;
    }
    if (rc != CURLE_OK) {
        r = EOTP_E_INTERNAL;
        goto out;
    }

    /*
     * SIGPIPE is ignored for the call and restored afterwards (a dead peer
     * must not kill sshd's child).  SIGCHLD is blocked so that a resolver
     * thread started by libcurl inherits a mask without it and never steals
     * the host's child notifications (sudo).
     */
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    (void)sigemptyset(&ign.sa_mask);
    (void)sigaction(SIGPIPE, &ign, &old_pipe);
    (void)sigemptyset(&block);
    (void)sigaddset(&block, SIGCHLD);
    (void)pthread_sigmask(SIG_BLOCK, &block, &old_mask);

    (void)clock_gettime(CLOCK_MONOTONIC, &start);
    rc = curl_easy_perform(h->curl);
    if (h->budget_ms >= 0) {
        long spent = ms_since(&start);

        h->budget_ms = spent < h->budget_ms ? h->budget_ms - spent : 0;
    }

    (void)pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    (void)sigaction(SIGPIPE, &old_pipe, NULL);

    /* The body may hold a code; curl keeps only a pointer to it. */
    (void)curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);

    if (rc != CURLE_OK) {
        r = map_curl_error(rc, &sink);
        if (r == EOTP_E_TIMEOUT && h->errbuf[0] == '\0') {
            (void)snprintf(h->errbuf, sizeof(h->errbuf), "timeout");
        }
        goto out;
    }
    (void)curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    resp->status = status;
    if (sink.buf == NULL) {
        sink.buf = calloc(1, 1);
        if (sink.buf == NULL) {
            r = EOTP_E_NOMEM;
            goto out;
        }
        sink.cap = 1;
    }
    resp->body = sink.buf;
    resp->len = sink.len;
    sink.buf = NULL;
    r = EOTP_OK;
out:
    if (sink.buf != NULL) {
        eotp_freezero(sink.buf, sink.cap);
    }
    free(url);
    return r;
}
