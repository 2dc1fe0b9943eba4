/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyed.c - HMAC-SHA256 of NUL-separated parts.
 */
#include "keyed.h"

#include "err.h"
#include "secret.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

int eotp_keyed_hash(const unsigned char key[EOTP_KEYED_KEY_LEN],
                    const char *const *part, size_t n,
                    char hex[EOTP_KEYED_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t total = 0;
    size_t off = 0;
    char *msg;
    int r = EOTP_E_INTERNAL;

    for (size_t i = 0; i < n; i++) {
        total += strlen(part[i]) + 1;
        if (total > EOTP_KEYED_MSG_MAX) {
            return EOTP_E_INTERNAL;
        }
    }
    msg = malloc(total + 1);
    if (msg == NULL) {
        return EOTP_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(part[i]);

        memcpy(msg + off, part[i], len);
        off += len;
        if (i + 1 < n) {
            msg[off++] = '\0';
        }
    }
    if (HMAC(EVP_sha256(), key, EOTP_KEYED_KEY_LEN, (unsigned char *)msg, off,
             md, &mdlen) != NULL &&
        mdlen == 32) {
        eotp_hex_encode(md, 32, hex);
        r = EOTP_OK;
    }
    eotp_memzero(md, sizeof(md));
    eotp_freezero(msg, total + 1);
    return r;
}
