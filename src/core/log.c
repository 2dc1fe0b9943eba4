/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c - formatting and sanitising of log lines.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void eotp_log(const struct eotp_logger *lg, int prio, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (lg == NULL || lg->emit == NULL) {
        return;
    }
    if (prio == LOG_DEBUG && !lg->debug) {
        return;
    }
    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    lg->emit(lg->ctx, prio, line);
}

size_t eotp_utf8_len(const unsigned char *s)
{
    size_t n;
    unsigned int cp;

    if (s[0] < 0x80) {
        return 1;
    } else if ((s[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates, out of range. */
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
        (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

bool eotp_utf8_is_c1(const unsigned char *s, size_t n)
{
    return n == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

char *eotp_sanitize(char *dst, size_t dstlen, const char *src, bool for_field)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0;

    if (dstlen == 0) {
        return dst;
    }
    if (src == NULL) {
        src = "-";
        s = (const unsigned char *)src;
    }
    while (*s != '\0') {
        size_t n = eotp_utf8_len(s);

        if (n == 0 || eotp_utf8_is_c1(s, n) ||
            (n == 1 && (*s < 0x20 || *s == 0x7f))) {
            if (o + 1 >= dstlen) {
                break;
            }
            dst[o++] = '?';
            s++;
            continue;
        }
        if (n == 1 && for_field &&
            (*s == ' ' || *s == '"' || *s == '=' || *s == '\'')) {
            if (o + 1 >= dstlen) {
                break;
            }
            dst[o++] = '_';
            s++;
            continue;
        }
        if (o + n >= dstlen) {
            break;
        }
        memcpy(dst + o, s, n);
        o += n;
        s += n;
    }
    dst[o] = '\0';
    return dst;
}
