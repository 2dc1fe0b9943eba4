/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redis_cert.h - the TLS client certificate the module presents to Redis
 * (redis_tls_cert, redis_tls_key), for servers that demand one (Redis's
 * own default on a TLS port: tls-auth-clients yes).
 *
 * redis.c loads it lazily: from the SSL_CTX certificate callback, that
 * is only when a server sends a CertificateRequest during a full
 * handshake.  A resumed handshake (redis_session.h) has none, so it never
 * reads either file.  The doctor loads it once to show what it holds.
 *
 * Files.  redis_tls_cert: PEM, the client certificate first, then
 * optionally its intermediate CAs (the chain sent to the server); root's
 * and not writable by group or others (EOTP_SF_PUBLIC).  redis_tls_key:
 * PEM private key, unencrypted (a passphrase would need a terminal; an
 * encrypted key is refused, never prompted for), a root-only secret like
 * redis_password_file (EOTP_SF_SECRET).  Both are read through safefile
 * into memory, parsed from there and the buffers wiped.
 */
#ifndef EOTP_REDIS_CERT_H
#define EOTP_REDIS_CERT_H

#include "cfg.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stddef.h>

/* Largest redis_tls_cert (a certificate and a few intermediates). */
#define EOTP_REDIS_CERT_FILE_MAX (64 * 1024)
/* Largest redis_tls_key (an RSA-8192 key in PEM is some 6.5 KB). */
#define EOTP_REDIS_KEY_FILE_MAX (16 * 1024)
/* Intermediate certificates accepted after the client certificate. */
#define EOTP_REDIS_CHAIN_MAX 8

struct eotp_redis_cert {
    X509 *cert;
    STACK_OF(X509) * chain; /* NULL when the file holds one certificate */
    EVP_PKEY *key;
};

/*
 * Read and parse cfg->redis_tls_cert and cfg->redis_tls_key, and check
 * that the key belongs to the certificate.  0 and *out filled (free it
 * with eotp_redis_cert_free()), or EOTP_E_CONFIG (EOTP_E_NOMEM) with why
 * (size whylen) saying "redis_tls_cert/redis_tls_key cannot be loaded:
 * ..." (never any key material).  *out is left empty on failure.
 */
int eotp_redis_cert_load(const struct eotp_cfg *cfg,
                         struct eotp_redis_cert *out, char *why,
                         size_t whylen);

/* Put rc on ssl (certificate, key, chain): 0 or EOTP_E_TLS. */
int eotp_redis_cert_use(SSL *ssl, const struct eotp_redis_cert *rc);

void eotp_redis_cert_free(struct eotp_redis_cert *rc);

#endif
