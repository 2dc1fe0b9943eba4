/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h - the HTTPS client (the only file that includes curl.h).
 *
 * One handle per login, reused for every call so the TLS connection is
 * set up once.  https only, no redirects, peer and host verification
 * always on, explicit proxy (environment ignored), connect and total
 * timeouts, one budget of API time for all requests, response bodies
 * capped.
 */
#ifndef EOTP_HTTP_H
#define EOTP_HTTP_H

#include <stddef.h>

#define EOTP_HTTP_BODY_MAX (64 * 1024)

struct eotp_http;

struct eotp_http_opts {
    const char *base_url; /* https://host[:port][/prefix] */
    const char *ca_file;  /* PEM bundle, NULL for the system store */
    const char *proxy;    /* NULL: no proxy at all */
    const char *user;     /* Basic auth user (dev_key) */
    const char *secret;   /* Basic auth password (dev_secret) */
    long connect_timeout_ms;
    long timeout_ms;  /* per request */
    long deadline_ms; /* API time for all requests of this handle (time
                       * between requests does not count); 0: none */
};

struct eotp_http_resp {
    long status; /* HTTP status */
    char *body;  /* NUL-terminated, wiped by eotp_http_resp_clear */
    size_t len;
};

/* Initialise libcurl once per process (never cleaned up). */
int eotp_http_global_init(void);

int eotp_http_new(const struct eotp_http_opts *opts, struct eotp_http **out);
void eotp_http_free(struct eotp_http *h);

/*
 * One request.  method is "GET", "POST" or "DELETE"; body (JSON, may be
 * NULL) is sent with Content-Type application/json.  Returns 0 when an
 * HTTP answer of any status arrived (see resp->status), or
 * EOTP_E_TRANSPORT, EOTP_E_TLS, EOTP_E_TIMEOUT, EOTP_E_BAD_RESPONSE
 * (body over the cap), EOTP_E_NOMEM.
 */
int eotp_http_request(struct eotp_http *h, const char *method,
                      const char *path, const char *body,
                      struct eotp_http_resp *resp);

/* Wipe and free the body. */
void eotp_http_resp_clear(struct eotp_http_resp *resp);

/* Text of the last transport error (safe to log after sanitising). */
const char *eotp_http_last_error(const struct eotp_http *h);

/* Milliseconds of the deadline left (a large number when none). */
long eotp_http_time_left(const struct eotp_http *h);

/*
 * Set the time one request may take in all (ms, > 0; the deadline left
 * still caps it) and return the previous value: a notification's own
 * short timeout on the login's handle (notify.c).
 */
long eotp_http_set_timeout(struct eotp_http *h, long timeout_ms);

/* Count ms of API time spent outside this handle (the SMPP transport). */
void eotp_http_spend(struct eotp_http *h, long ms);

#endif
