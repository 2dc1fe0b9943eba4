/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redis_cert.c - the TLS client certificate for Redis (see redis_cert.h).
 */
#include "redis_cert.h"

#include "err.h"
#include "safefile.h"
#include "secret.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define WHY_PREFIX "redis_tls_cert/redis_tls_key cannot be loaded: "

/* No passphrase prompt, ever: inside sshd or sudo it would read the tty. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static void refuse(char *why, size_t whylen, const char *what,
                   const char *detail)
{
    if (why != NULL && whylen > 0) {
        (void)snprintf(why, whylen, WHY_PREFIX "%s%s%s", what,
                       detail != NULL ? ": " : "",
                       detail != NULL ? detail : "");
    }
}

/* The certificate, then any intermediates, from the PEM text. */
static int parse_certs(const char *buf, size_t len, struct eotp_redis_cert *rc,
                       char *why, size_t whylen)
{
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    int r = EOTP_E_CONFIG;

    if (bio == NULL) {
        return EOTP_E_NOMEM;
    }
    rc->cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
    if (rc->cert == NULL) {
        refuse(why, whylen, "redis_tls_cert holds no PEM certificate", NULL);
        goto out;
    }
    for (;;) {
        X509 *x;
        unsigned long e;

        ERR_clear_error();
        x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
        if (x == NULL) {
            e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
                ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                break; /* the end of the file */
            }
            refuse(why, whylen,
                   "redis_tls_cert holds a damaged certificate after the "
                   "first",
                   NULL);
            goto out;
        }
        if (rc->chain == NULL) {
            rc->chain = sk_X509_new_null();
        }
        if (rc->chain == NULL ||
            sk_X509_num(rc->chain) >= EOTP_REDIS_CHAIN_MAX ||
            sk_X509_push(rc->chain, x) <= 0) {
            X509_free(x);
            if (rc->chain == NULL) {
                r = EOTP_E_NOMEM;
            } else {
                refuse(why, whylen,
                       "redis_tls_cert holds too many certificates", NULL);
            }
            goto out;
        }
    }
    r = EOTP_OK;
out:
    ERR_clear_error();
    BIO_free(bio);
    return r;
}

static int parse_key(const char *buf, size_t len, struct eotp_redis_cert *rc,
                     char *why, size_t whylen)
{
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    int r = EOTP_OK;

    if (bio == NULL) {
        return EOTP_E_NOMEM;
    }
    rc->key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    if (rc->key == NULL) {
        refuse(why, whylen,
               "redis_tls_key holds no unencrypted PEM private key", NULL);
        r = EOTP_E_CONFIG;
    }
    ERR_clear_error();
    BIO_free(bio);
    return r;
}

int eotp_redis_cert_load(const struct eotp_cfg *cfg,
                         struct eotp_redis_cert *out, char *why, size_t whylen)
{
    struct eotp_redis_cert rc = {NULL, NULL, NULL};
    char reason[160];
    char *cbuf = NULL;
    char *kbuf = NULL;
    size_t clen = 0;
    size_t klen = 0;
    int r;

    memset(out, 0, sizeof(*out));
    if (cfg->redis_tls_cert == NULL || cfg->redis_tls_key == NULL) {
        refuse(why, whylen, "not configured", NULL);
        return EOTP_E_CONFIG;
    }
    r = eotp_safefile_read(cfg->redis_tls_cert, EOTP_SF_PUBLIC,
                           EOTP_REDIS_CERT_FILE_MAX, &cbuf, &clen, reason,
                           sizeof(reason));
    if (r != EOTP_OK) {
        refuse(why, whylen, "redis_tls_cert refused", reason);
        r = EOTP_E_CONFIG;
        goto out;
    }
    r = eotp_safefile_read(cfg->redis_tls_key, EOTP_SF_SECRET,
                           EOTP_REDIS_KEY_FILE_MAX, &kbuf, &klen, reason,
                           sizeof(reason));
    if (r != EOTP_OK) {
        refuse(why, whylen, "redis_tls_key refused", reason);
        r = EOTP_E_CONFIG;
        goto out;
    }
    r = parse_certs(cbuf, clen, &rc, why, whylen);
    if (r == EOTP_OK) {
        r = parse_key(kbuf, klen, &rc, why, whylen);
    }
    if (r == EOTP_OK && X509_check_private_key(rc.cert, rc.key) != 1) {
        refuse(why, whylen, "redis_tls_key does not match redis_tls_cert",
               NULL);
        r = EOTP_E_CONFIG;
    }
out:
    ERR_clear_error();
    if (cbuf != NULL) {
        eotp_freezero(cbuf, clen + 1);
    }
    if (kbuf != NULL) {
        eotp_freezero(kbuf, klen + 1);
    }
    if (r == EOTP_OK) {
        *out = rc;
    } else {
        eotp_redis_cert_free(&rc);
    }
    return r;
}

int eotp_redis_cert_use(SSL *ssl, const struct eotp_redis_cert *rc)
{
    int r = EOTP_E_TLS;

    if (SSL_use_certificate(ssl, rc->cert) != 1 ||
        SSL_use_PrivateKey(ssl, rc->key) != 1) {
        goto out;
    }
    for (int i = 0; rc->chain != NULL && i < sk_X509_num(rc->chain); i++) {
        if (SSL_add1_chain_cert(ssl, sk_X509_value(rc->chain, i)) != 1) {
            goto out;
        }
    }
    if (SSL_check_private_key(ssl) != 1) {
        goto out;
    }
    r = EOTP_OK;
out:
    ERR_clear_error();
    return r;
}

void eotp_redis_cert_free(struct eotp_redis_cert *rc)
{
    if (rc == NULL) {
        return;
    }
    X509_free(rc->cert);
    sk_X509_pop_free(rc->chain, X509_free);
    EVP_PKEY_free(rc->key); /* OpenSSL clears key material when freeing */
    rc->cert = NULL;
    rc->chain = NULL;
    rc->key = NULL;
}
