/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - one logging interface for the module (pam_syslog) and the admin
 * tool (stderr).  Messages are a fixed text followed by key=value fields;
 * every untrusted string goes through eotp_sanitize() first.
 */
#ifndef EOTP_LOG_H
#define EOTP_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

struct eotp_logger {
    /* Receives one finished, sanitised line.  NULL: log nothing. */
    void (*emit)(void *ctx, int prio, const char *line);
    void *ctx;
    bool debug; /* LOG_DEBUG lines are dropped unless set */
};

void eotp_log(const struct eotp_logger *lg, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define eotp_debug(lg, ...)                                                   \
    do {                                                                      \
        if ((lg) != NULL && (lg)->debug) {                                    \
            eotp_log((lg), LOG_DEBUG, __VA_ARGS__);                           \
        }                                                                     \
    } while (0)

/*
 * Copy src into dst (size dstlen, always terminated) replacing control
 * characters, bytes >= 0x7f that are not part of valid UTF-8, and
 * (when for_field is true) spaces, quotes and '=' with '?' or '_'.
 * Output is cut at dstlen - 1 bytes on a character boundary.  NULL src
 * gives "-".  Returns dst.
 */
char *eotp_sanitize(char *dst, size_t dstlen, const char *src, bool for_field);

/*
 * Length of the valid UTF-8 sequence at s (1 to 4), or 0 when it is not
 * one (bad lead or continuation byte, overlong form, surrogate, beyond
 * U+10FFFF).  s[0] must be readable; a NUL ends any sequence early.
 */
size_t eotp_utf8_len(const unsigned char *s);

/* Is the sequence of length n at s a C1 control (U+0080..U+009F)? */
bool eotp_utf8_is_c1(const unsigned char *s, size_t n);

/* Same, for a field value in key=value logs (no spaces). */
#define EOTP_FIELD_MAX 128

#endif
