/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secret.c - wiping and constant-time comparison.
 */
#include "secret.h"

#include <stdlib.h>
#include <string.h>

void eotp_memzero(void *p, size_t len)
{
    if (p != NULL && len > 0) {
        explicit_bzero(p, len);
    }
}

void eotp_freezero(void *p, size_t len)
{
    if (p == NULL) {
        return;
    }
    eotp_memzero(p, len);
    free(p);
}

void eotp_str_wipe_free(char *s)
{
    if (s == NULL) {
        return;
    }
    eotp_freezero(s, strlen(s));
}

bool eotp_consttime_memeq(const void *a, const void *b, size_t len)
{
    const volatile unsigned char *x = a;
    const volatile unsigned char *y = b;
    unsigned char diff = 0;

    for (size_t i = 0; i < len; i++) {
        diff |= (unsigned char)(x[i] ^ y[i]);
    }
    return diff == 0;
}

bool eotp_consttime_streq(const char *a, const char *b)
{
    size_t la = strlen(a);
    size_t lb = strlen(b);
    const volatile unsigned char *x = (const unsigned char *)a;
    const volatile unsigned char *y = (const unsigned char *)b;
    unsigned char diff = (unsigned char)(la != lb);

    /* Walk the longer string so the time depends only on the lengths. */
    size_t n = la > lb ? la : lb;
    for (size_t i = 0; i < n; i++) {
        unsigned char cx = i < la ? x[i] : 0;
        unsigned char cy = i < lb ? y[i] : 0;
        diff |= (unsigned char)(cx ^ cy);
    }
    return diff == 0;
}

void eotp_hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}
