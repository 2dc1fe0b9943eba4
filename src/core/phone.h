/* SPDX-License-Identifier: Apache-2.0 */
/*
 * phone.h - turn destinations as directories hold them into the forms the
 * API takes: phone numbers into E.164 ("+6581234567"), email addresses
 * checked for basic shape.  Pure functions: no I/O, no allocation, no
 * global state.
 *
 * Accepted phone forms (ASCII only; separators ' ', '-', '.', '/' and at
 * most two pairs of parentheses, not nested):
 *   +65 8123 4567   +65-8123-4567   tel:+65-8123-4567   (+65) 8123 4567
 *   0065 8123 4567  ("00" international prefix)
 *   (65) 8123-4567  a bare leading group is the country code only when
 *                   it equals default_cc; otherwise it is an area code of
 *                   a national number ("(415) 555-1234" with default_cc 1,
 *                   "(11) 91234-5678" with 55), which needs default_cc
 *   +44 (0)20 7946 0000  the "(0)" after a country code is dropped
 *   8123 4567, 020 7946 0000  national numbers: need default_cc; one
 *                   trunk prefix is dropped ("0"; "1" of an 11-digit NANP
 *                   number when default_cc is 1; "8" of an 11-digit number
 *                   when it is 7; none for 39, 378 and 379, whose numbers
 *                   keep their leading 0)
 * The result must be '+' and 7 to 15 digits, the first not 0.  Anything
 * else (letters, extensions, several '+', several numbers, non-ASCII
 * digits or spaces, more than EOTP_PHONE_IN_MAX bytes) is refused.
 */
#ifndef EOTP_PHONE_H
#define EOTP_PHONE_H

#include <stddef.h>

/* Longest input considered; longer values are refused unread. */
#define EOTP_PHONE_IN_MAX 64
/* Room for an E.164 result: '+', 15 digits, NUL. */
#define EOTP_PHONE_OUT_MIN 17

/*
 * Normalise the phone number in into out (size outlen, at least
 * EOTP_PHONE_OUT_MIN).  default_cc: country code digits for national
 * numbers, or NULL/"".  Returns
 *   EOTP_OK           out holds the E.164 number
 *   EOTP_E_UNMAPPED   in is not a phone number we can read
 *   EOTP_E_CONFIG     in is a national number and default_cc is unset
 *                     (or not 1 to 3 digits): the caller may say so
 *   EOTP_E_INTERNAL   a NULL argument or out too small
 * out is written only on success.
 */
int eotp_phone_normalize(const char *in, const char *default_cc, char *out,
                         size_t outlen);

/*
 * A destination value from a directory: surrounding white space is
 * ignored; a value with '@' must be an email address (eotp_dest_classify),
 * anything else goes through eotp_phone_normalize().  outlen must be at
 * least EOTP_DEST_MAX + 1.  Same return values.
 */
int eotp_phone_normalize_dest(const char *in, const char *default_cc,
                              char *out, size_t outlen);

#endif
