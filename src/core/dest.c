/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dest.c - destination validation and masking.
 */
#include "dest.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool phone_ok(const char *s)
{
    size_t n = 0;

    if (s[0] != '+' || s[1] == '0') {
        return false;
    }
    for (s++; *s != '\0'; s++) {
        if (!is_digit(*s)) {
            return false;
        }
        n++;
    }
    return n >= 7 && n <= 15;
}

static bool email_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
           (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

static bool email_ok(const char *s)
{
    const char *at = strchr(s, '@');
    const char *dot;
    size_t len = strlen(s);

    if (at == NULL || at == s || strchr(at + 1, '@') != NULL ||
        len > EOTP_DEST_MAX || (size_t)(at - s) > 64) {
        return false;
    }
    for (const char *p = s; p < at; p++) {
        if (!email_char_ok(*p)) {
            return false;
        }
    }
    /* Domain: labels of letters, digits and '-', at least one dot. */
    dot = strrchr(at + 1, '.');
    if (dot == NULL || at[1] == '.' || dot[1] == '\0') {
        return false;
    }
    for (const char *p = at + 1; *p != '\0'; p++) {
        bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     is_digit(*p);
        if (!alnum && *p != '-' && *p != '.') {
            return false;
        }
        if (*p == '.' && (p[1] == '.' || p[1] == '\0')) {
            return false;
        }
    }
    return true;
}

enum eotp_dest_kind eotp_dest_classify(const char *s)
{
    if (s == NULL || *s == '\0') {
        return EOTP_DEST_INVALID;
    }
    if (phone_ok(s)) {
        return EOTP_DEST_PHONE;
    }
    if (email_ok(s)) {
        return EOTP_DEST_EMAIL;
    }
    return EOTP_DEST_INVALID;
}

char *eotp_dest_mask(const char *dest, char *buf, size_t buflen)
{
    size_t len;
    size_t o = 0;

    if (buflen == 0) {
        return buf;
    }
    switch (eotp_dest_classify(dest)) {
    case EOTP_DEST_PHONE:
        /* Keep '+', two more leading digits and the last two. */
        len = strlen(dest);
        for (size_t i = 0; i < len && o + 1 < buflen; i++) {
            buf[o++] = (i < 3 || i + 2 >= len) ? dest[i] : '*';
        }
        break;
    case EOTP_DEST_EMAIL: {
        const char *at = strchr(dest, '@');

        if (o + 1 < buflen) {
            buf[o++] = dest[0];
        }
        for (int i = 0; i < 3 && o + 1 < buflen; i++) {
            buf[o++] = '*';
        }
        for (const char *p = at; *p != '\0' && o + 1 < buflen; p++) {
            buf[o++] = *p;
        }
        break;
    }
    case EOTP_DEST_INVALID:
        (void)snprintf(buf, buflen, "(invalid)");
        return buf;
    }
    buf[o] = '\0';
    return buf;
}
