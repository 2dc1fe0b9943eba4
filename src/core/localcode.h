/* SPDX-License-Identifier: Apache-2.0 */
/*
 * localcode.h - codes generated here (code_mode = local).
 *
 * A code is drawn uniformly from the alphabet that code_type selects
 * (1 digits, 2 lowercase, 4 uppercase; sums combine) with OpenSSL's
 * RAND_bytes and rejection sampling, so no symbol is more likely than
 * another (no modulo bias).  Only a keyed hash of the code is kept.
 */
#ifndef EOTP_LOCALCODE_H
#define EOTP_LOCALCODE_H

#include "keyed.h"

#include <stddef.h>

#define EOTP_LOCALCODE_DEFAULT_LEN 6
#define EOTP_LOCALCODE_MIN_LEN 4 /* shorter codes are too easy to guess */
#define EOTP_LOCALCODE_MAX_LEN 10
#define EOTP_ALPHABET_MAX 62

/*
 * The alphabet of code_type into out (at least EOTP_ALPHABET_MAX + 1
 * bytes), digits then lowercase then uppercase.  Returns its length, or
 * 0 when code_type selects nothing.
 */
size_t eotp_localcode_alphabet(long code_type, char *out, size_t outlen);

/*
 * A code of length characters (0: EOTP_LOCALCODE_DEFAULT_LEN) into out
 * (outlen > length), using rnd for randomness (fill buf with n bytes;
 * 0 or an EOTP_E_* code).  A byte b is used only when
 * b < 256 - 256 % alphabet size, and then maps to alphabet[b % size].
 * Returns 0, EOTP_E_CONFIG (bad type, or length outside 4-10), or rnd's
 * error.  The
 * random buffer is wiped.
 */
int eotp_localcode_make(long code_type, long length,
                        int (*rnd)(void *ctx, unsigned char *buf, size_t n),
                        void *ctx, char *out, size_t outlen);

/* The same with RAND_bytes (EOTP_E_INTERNAL when it fails). */
int eotp_localcode_generate(long code_type, long length, char *out,
                            size_t outlen);

/* n random bytes as 2n lowercase hex digits into out (size 2n + 1). */
int eotp_localcode_random_hex(size_t n, char *out, size_t outlen);

/*
 * The keyed hash that stands for a code:
 * HMAC-SHA256(key, "code-v1" NUL user NUL id NUL code).
 */
int eotp_localcode_mac(const unsigned char key[EOTP_KEYED_KEY_LEN],
                       const char *user, const char *id, const char *code,
                       char hex[EOTP_KEYED_HEX]);

#endif
