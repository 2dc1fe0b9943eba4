/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dest.h - destinations (E.164 phone numbers and email addresses):
 * validation and masking for logs and prompts.
 */
#ifndef EOTP_DEST_H
#define EOTP_DEST_H

#include <stddef.h>

enum eotp_dest_kind {
    EOTP_DEST_INVALID = 0,
    EOTP_DEST_PHONE,
    EOTP_DEST_EMAIL,
};

/* Phone: '+' then 7 to 15 digits, first digit not 0.  Email: a basic
 * local@domain.tld shape of printable ASCII, at most 254 characters. */
enum eotp_dest_kind eotp_dest_classify(const char *s);

/*
 * Masked form for prompts and logs: "+65******67" (country prefix and
 * last two digits), "a***@example.com".  Always terminated.
 */
char *eotp_dest_mask(const char *dest, char *buf, size_t buflen);

#define EOTP_DEST_MAX 254
#define EOTP_MASK_MAX (EOTP_DEST_MAX + 1)

#endif
