/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secret.h - wiping and constant-time comparison of secrets.
 */
#ifndef EOTP_SECRET_H
#define EOTP_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* Zero len bytes in a way the compiler may not remove. */
void eotp_memzero(void *p, size_t len);

/* Wipe len bytes of p, then free it.  NULL is fine. */
void eotp_freezero(void *p, size_t len);

/* Wipe a NUL-terminated string, then free it.  NULL is fine. */
void eotp_str_wipe_free(char *s);

/*
 * n bytes as lowercase hex into out, which must hold 2 * n + 1 bytes
 * (digests, MACs and random ids).
 */
void eotp_hex_encode(const unsigned char *in, size_t n, char *out);

/* Equal strings, compared in time independent of where they differ. */
bool eotp_consttime_streq(const char *a, const char *b);

/* Same for byte buffers of equal length. */
bool eotp_consttime_memeq(const void *a, const void *b, size_t len);

#endif
