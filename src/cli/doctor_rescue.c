/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor_rescue.c - doctor's check of the rescue file (issue 16): it is
 * trusted and parses (else no rescue code works on this host, and nobody
 * finds out until the day they are needed), and which sets have expired,
 * expire soon or are used up.  Reads the file only; the store's marks of
 * codes used on other hosts are not counted ("rescue list USER" does).
 */
#include "doctor.h"

#include "../core/err.h"
#include "../core/rescue.h"
#include "../core/secret.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A set whose life ends within this is reported (time to re-issue). */
#define RESCUE_SOON (30L * 86400)

static void more(char *out, size_t outlen, const char *first, size_t n)
{
    if (n > 1) {
        (void)snprintf(out, outlen, "%s and %zu more", first, n - 1);
    } else {
        (void)snprintf(out, outlen, "%s", first);
    }
}

void eotp_doc_check_rescue(struct eotp_doctor *d)
{
    static const char name[] = "rescue";
    const char *path = d->cfg.rescue_file;
    struct eotp_rescue_survey sv;
    bool present = false;
    char why[200] = "";
    char who[320];
    char *buf = NULL;
    size_t len = 0;
    int r;

    if (!eotp_doctor_needs(d, name, "rescue_file")) {
        return;
    }
    if (path == NULL || path[0] == '\0') {
        eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                           "rescue codes: off (rescue_file is empty)");
        return;
    }
    r = eotp_rescue_read(path, &buf, &len, &present, why, sizeof(why));
    if (r == EOTP_OK && !present) {
        eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                           "rescue codes: none issued (%s does not exist)",
                           path);
        return;
    }
    if (r != EOTP_OK) {
        eotp_doctor_report(d, name, EOTP_DOC_FAIL,
                           "make it root's, mode 0600, in directories only "
                           "root can write",
                           "rescue file %s is not used: %s (no rescue code "
                           "works on this host)",
                           path, why);
        return;
    }
    r = eotp_rescue_survey(buf, len, (long long)time(NULL), RESCUE_SOON, &sv,
                           why, sizeof(why));
    eotp_freezero(buf, len + 1);
    if (r != EOTP_OK) {
        eotp_doctor_report(d, name, EOTP_DOC_FAIL,
                           "fix or delete that line; 'engagelab-otp rescue "
                           "issue USER' writes a user's line anew",
                           "rescue file %s is not used: %s (no rescue code "
                           "works on this host)",
                           path, why);
        return;
    }
    eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                       "rescue codes: %zu user%s in %s", sv.users,
                       sv.users == 1 ? "" : "s", path);
    if (sv.expired > 0) {
        more(who, sizeof(who), sv.first_expired, sv.expired);
        eotp_doctor_report(d, name, EOTP_DOC_WARN,
                           "'engagelab-otp rescue issue USER' gives a new set",
                           "rescue codes: %zu set%s expired, no longer "
                           "accepted (%s)",
                           sv.expired, sv.expired == 1 ? "" : "s", who);
    }
    if (sv.expiring > 0) {
        more(who, sizeof(who), sv.first_expiring, sv.expiring);
        eotp_doctor_report(d, name, EOTP_DOC_WARN,
                           "'engagelab-otp rescue issue USER' gives a new set",
                           "rescue codes: %zu set%s expire within 30 days "
                           "(%s)",
                           sv.expiring, sv.expiring == 1 ? "" : "s", who);
    }
    if (sv.spent > 0) {
        more(who, sizeof(who), sv.first_spent, sv.spent);
        eotp_doctor_report(d, name, EOTP_DOC_WARN,
                           "'engagelab-otp rescue issue USER' gives a new set",
                           "rescue codes: %zu user%s used every code (%s)",
                           sv.spent, sv.spent == 1 ? " has" : "s have", who);
    }
}
