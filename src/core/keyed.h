/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyed.h - keyed hashes (HMAC-SHA256 under the host key) of things that
 * must be recognised later but never stored: local codes, grace bindings,
 * remote addresses.
 */
#ifndef EOTP_KEYED_H
#define EOTP_KEYED_H

#include <stddef.h>

#define EOTP_KEYED_KEY_LEN 32
#define EOTP_KEYED_HEX 65 /* 64 lowercase hex digits + NUL */
#define EOTP_KEYED_MSG_MAX (32 * 1024)

/*
 * HMAC-SHA256(key, part[0] NUL part[1] NUL ... part[n-1]) as lowercase hex.
 * The message is built in a buffer that is wiped afterwards.  Returns 0,
 * EOTP_E_NOMEM, or EOTP_E_INTERNAL (also when the parts exceed
 * EOTP_KEYED_MSG_MAX bytes).
 */
int eotp_keyed_hash(const unsigned char key[EOTP_KEYED_KEY_LEN],
                    const char *const *part, size_t n,
                    char hex[EOTP_KEYED_HEX]);

#endif
