/* SPDX-License-Identifier: Apache-2.0 */
/*
 * localcode.c - uniform random codes and their keyed hashes.
 */
#include "localcode.h"

#include "err.h"
#include "secret.h"

#include <openssl/rand.h>
#include <string.h>

size_t eotp_localcode_alphabet(long code_type, char *out, size_t outlen)
{
    static const char digits[] = "0123456789";
    static const char lower[] = "abcdefghijklmnopqrstuvwxyz";
    static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    size_t n = 0;

    if (outlen < EOTP_ALPHABET_MAX + 1 || code_type < 1 || code_type > 7) {
        if (outlen > 0) {
            out[0] = '\0';
        }
        return 0;
    }
    if ((code_type & 1) != 0) {
        memcpy(out + n, digits, 10);
        n += 10;
    }
    if ((code_type & 2) != 0) {
        memcpy(out + n, lower, 26);
        n += 26;
    }
    if ((code_type & 4) != 0) {
        memcpy(out + n, upper, 26);
        n += 26;
    }
    out[n] = '\0';
    return n;
}

int eotp_localcode_make(long code_type, long length,
                        int (*rnd)(void *ctx, unsigned char *buf, size_t n),
                        void *ctx, char *out, size_t outlen)
{
    char alphabet[EOTP_ALPHABET_MAX + 1];
    unsigned char buf[64];
    size_t m = eotp_localcode_alphabet(code_type, alphabet, sizeof(alphabet));
    size_t want;
    size_t got = 0;
    unsigned int limit;
    int r = EOTP_OK;

    if (length == 0) {
        length = EOTP_LOCALCODE_DEFAULT_LEN;
    }
    if (m == 0 || length < EOTP_LOCALCODE_MIN_LEN ||
        length > EOTP_LOCALCODE_MAX_LEN || outlen <= (size_t)length) {
        return EOTP_E_CONFIG;
    }
    want = (size_t)length;
    /* The largest multiple of m that fits in a byte: bytes at or above it
     * are thrown away, so every symbol has the same chance. */
    limit = 256U - (256U % (unsigned int)m);
    while (got < want) {
        r = rnd(ctx, buf, sizeof(buf));
        if (r != EOTP_OK) {
            break;
        }
        for (size_t i = 0; i < sizeof(buf) && got < want; i++) {
            if (buf[i] < limit) {
                out[got++] = alphabet[buf[i] % m];
            }
        }
    }
    eotp_memzero(buf, sizeof(buf));
    if (r != EOTP_OK) {
        eotp_memzero(out, outlen);
        return r;
    }
    out[got] = '\0';
    return EOTP_OK;
}

static int openssl_random(void *ctx, unsigned char *buf, size_t n)
{
    (void)ctx;
    if (n > 0x7fffffff || RAND_bytes(buf, (int)n) != 1) {
        return EOTP_E_INTERNAL;
    }
    return EOTP_OK;
}

int eotp_localcode_generate(long code_type, long length, char *out,
                            size_t outlen)
{
    return eotp_localcode_make(code_type, length, openssl_random, NULL, out,
                               outlen);
}

int eotp_localcode_random_hex(size_t n, char *out, size_t outlen)
{
    unsigned char buf[32];

    if (n > sizeof(buf) || outlen < 2 * n + 1) {
        return EOTP_E_INTERNAL;
    }
    if (openssl_random(NULL, buf, n) != EOTP_OK) {
        return EOTP_E_INTERNAL;
    }
    eotp_hex_encode(buf, n, out);
    eotp_memzero(buf, sizeof(buf));
    return EOTP_OK;
}

int eotp_localcode_mac(const unsigned char key[EOTP_KEYED_KEY_LEN],
                       const char *user, const char *id, const char *code,
                       char hex[EOTP_KEYED_HEX])
{
    const char *parts[4];

    parts[0] = "code-v1";
    parts[1] = user;
    parts[2] = id;
    parts[3] = code;
    return eotp_keyed_hash(key, parts, 4, hex);
}
