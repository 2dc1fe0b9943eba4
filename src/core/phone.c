/* SPDX-License-Identifier: Apache-2.0 */
/*
 * phone.c - normalisation of directory phone numbers to E.164.
 *
 * The input is scanned once into its digits plus a note of the
 * parenthesised groups; the form (international or national) is then
 * decided from the '+', a leading "00" or a leading group, as phone.h
 * describes.  Every byte that is not a digit, a separator, '+' or a
 * parenthesis refuses the value.
 */
#include "phone.h"

#include "dest.h"
#include "err.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* More digits than this cannot be a number: "00", CC, "(0)", 15. */
#define MAX_DIGITS 20
#define MAX_GROUPS 2
#define E164_MIN 7
#define E164_MAX 15

struct group {
    size_t start; /* index of the group's first digit in digits[] */
    size_t end;   /* one past its last digit */
    bool plus;    /* "(+65)" */
    bool leading; /* the group opens the number */
};

struct scan {
    char digits[MAX_DIGITS + 1];
    size_t n;
    bool plus; /* a '+' opens the number, outside or inside a group */
    struct group g[MAX_GROUPS];
    size_t ng;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_sep(char c)
{
    return c == ' ' || c == '-' || c == '.' || c == '/';
}

/* Scan [s, e) into sc.  Returns false for anything unreadable. */
static bool scan(const char *s, const char *e, struct scan *sc)
{
    const char *begin = s;
    bool open = false;

    memset(sc, 0, sizeof(*sc));
    for (; s < e; s++) {
        char c = *s;

        if (is_digit(c)) {
            if (sc->n == MAX_DIGITS) {
                return false;
            }
            sc->digits[sc->n++] = c;
        } else if (c == '+') {
            /* Only as the very first character, or right after a
             * leading '(': "+65 ...", "(+65) ...". */
            bool first = s == begin;
            bool in_lead = open && sc->ng == 0 && s == begin + 1;

            if (sc->plus || (!first && !in_lead)) {
                return false;
            }
            sc->plus = true;
            if (in_lead) {
                sc->g[0].plus = true;
            }
        } else if (c == '(') {
            if (open || sc->ng == MAX_GROUPS) {
                return false;
            }
            open = true;
            sc->g[sc->ng].start = sc->n;
            sc->g[sc->ng].leading = s == begin;
            sc->g[sc->ng].plus = false;
        } else if (c == ')') {
            if (!open || sc->n == sc->g[sc->ng].start) {
                return false; /* unbalanced or "()" */
            }
            open = false;
            sc->g[sc->ng].end = sc->n;
            sc->ng++;
        } else if (!is_sep(c)) {
            return false;
        }
    }
    return !open && sc->n > 0;
}

static bool cc_ok(const char *cc)
{
    size_t n = cc != NULL ? strlen(cc) : 0;

    if (n == 0 || n > 3 || cc[0] == '0') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(cc[i])) {
            return false;
        }
    }
    return true;
}

static bool group_is(const struct scan *sc, const struct group *g,
                     const char *text)
{
    size_t len = g->end - g->start;

    return strlen(text) == len &&
           memcmp(sc->digits + g->start, text, len) == 0;
}

/*
 * Remove digits [from, to) from sc->digits; groups are not fixed up.  A
 * plain loop: at most 20 bytes, and glibc's fortified memmove shares
 * __memcpy_chk's code, which valgrind then reports as an overlapping
 * memcpy ("0065 ..." in the user map's tests).
 */
static void drop(struct scan *sc, size_t from, size_t to)
{
    size_t gap = to - from;

    for (size_t i = from; i + gap < sc->n; i++) {
        sc->digits[i] = sc->digits[i + gap];
    }
    sc->n -= gap;
}

/* Is the leading "(G)" a country code (as opposed to an area code)? */
static bool leading_group_is_cc(const struct scan *sc, const char *default_cc)
{
    const struct group *g = &sc->g[0];
    size_t len;

    if (sc->ng == 0 || !g->leading) {
        return false;
    }
    len = g->end - g->start;
    if (g->start != 0 || len < 1 || len > 3 || sc->digits[0] == '0') {
        return false;
    }
    return cc_ok(default_cc) && group_is(sc, g, default_cc);
}

/* National number: drop the trunk prefix as the country does. */
static bool strip_trunk(struct scan *sc, const char *cc)
{
    if (strcmp(cc, "39") == 0 || strcmp(cc, "378") == 0 ||
        strcmp(cc, "379") == 0) {
        return true; /* Italy, San Marino, Vatican: the 0 stays */
    }
    if (strcmp(cc, "1") == 0) {
        if (sc->n == 11 && sc->digits[0] == '1') {
            drop(sc, 0, 1);
        }
    } else if (strcmp(cc, "7") == 0) {
        if (sc->n == 11 && sc->digits[0] == '8') {
            drop(sc, 0, 1);
        }
    } else if (sc->digits[0] == '0') {
        drop(sc, 0, 1);
    }
    /* What is left may not start with a further 0. */
    return sc->n > 0 && sc->digits[0] != '0';
}

int eotp_phone_normalize(const char *in, const char *default_cc, char *out,
                         size_t outlen)
{
    struct scan sc;
    char result[EOTP_PHONE_OUT_MIN];
    const char *s;
    const char *e;
    const char *cc = "";
    size_t cclen;
    bool intl;

    if (in == NULL || out == NULL || outlen < EOTP_PHONE_OUT_MIN) {
        return EOTP_E_INTERNAL;
    }
    if (strnlen(in, EOTP_PHONE_IN_MAX + 1) > EOTP_PHONE_IN_MAX) {
        return EOTP_E_UNMAPPED;
    }
    s = in;
    e = in + strlen(in);
    while (s < e && is_space(*s)) {
        s++;
    }
    while (e > s && is_space(e[-1])) {
        e--;
    }
    if (e - s > 4 && strncasecmp(s, "tel:", 4) == 0) {
        s += 4;
    }
    if (!scan(s, e, &sc)) {
        return EOTP_E_UNMAPPED;
    }

    if (sc.plus) {
        intl = true;
    } else if (sc.n >= 2 && sc.digits[0] == '0' && sc.digits[1] == '0') {
        intl = true;
        drop(&sc, 0, 2);
        for (size_t i = 0; i < sc.ng; i++) {
            /* keep group indexes meaningful for the "(0)" rule below */
            sc.g[i].start = sc.g[i].start >= 2 ? sc.g[i].start - 2 : 0;
            sc.g[i].end = sc.g[i].end >= 2 ? sc.g[i].end - 2 : 0;
        }
    } else {
        intl = leading_group_is_cc(&sc, default_cc);
    }

    if (intl) {
        /* "+44 (0)20 ...": the national trunk prefix in brackets.  At
         * most one such group can stand after a country code. */
        for (size_t i = sc.ng; i-- > 0;) {
            if (!sc.g[i].leading && group_is(&sc, &sc.g[i], "0") &&
                sc.g[i].start > 0) {
                drop(&sc, sc.g[i].start, sc.g[i].end);
                break;
            }
        }
    } else {
        if (!cc_ok(default_cc)) {
            return EOTP_E_CONFIG;
        }
        cc = default_cc;
        if (!strip_trunk(&sc, cc)) {
            return EOTP_E_UNMAPPED;
        }
    }

    cclen = strlen(cc);
    if (sc.n == 0 || cclen + sc.n < E164_MIN || cclen + sc.n > E164_MAX) {
        return EOTP_E_UNMAPPED;
    }
    result[0] = '+';
    memcpy(result + 1, cc, cclen);
    memcpy(result + 1 + cclen, sc.digits, sc.n);
    result[1 + cclen + sc.n] = '\0';
    if (eotp_dest_classify(result) != EOTP_DEST_PHONE) {
        return EOTP_E_UNMAPPED; /* e.g. a country code starting with 0 */
    }
    memcpy(out, result, 2 + cclen + sc.n);
    return EOTP_OK;
}

int eotp_phone_normalize_dest(const char *in, const char *default_cc,
                              char *out, size_t outlen)
{
    char buf[EOTP_DEST_MAX + 1];
    const char *s;
    const char *e;
    size_t n;

    if (in == NULL || out == NULL || outlen < EOTP_DEST_MAX + 1) {
        return EOTP_E_INTERNAL;
    }
    if (strchr(in, '@') == NULL) {
        return eotp_phone_normalize(in, default_cc, out, outlen);
    }
    if (strnlen(in, 2 * EOTP_DEST_MAX) >= 2 * EOTP_DEST_MAX) {
        return EOTP_E_UNMAPPED;
    }
    s = in;
    e = in + strlen(in);
    while (s < e && is_space(*s)) {
        s++;
    }
    while (e > s && is_space(e[-1])) {
        e--;
    }
    n = (size_t)(e - s);
    if (n == 0 || n > EOTP_DEST_MAX) {
        return EOTP_E_UNMAPPED;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (eotp_dest_classify(buf) != EOTP_DEST_EMAIL) {
        return EOTP_E_UNMAPPED;
    }
    memcpy(out, buf, n + 1);
    return EOTP_OK;
}
