/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor_callback.c - the "callback" check of doctor: the receiver's
 * files (when "callback serve" is configured here) and the last
 * notification EngageLab sent (insufficient_balance...), which the
 * receiver keeps in the state store (src/receiver/receiver.h).
 */
#include "doctor.h"

#include "../core/callback_body.h"
#include "../core/err.h"
#include "../core/safefile.h"
#include "../core/store.h"
#include "../core/store_redis.h"
#include "../receiver/receiver.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define NAME "callback"

static void quiet(void *ctx, int prio, const char *line)
{
    (void)ctx;
    (void)prio;
    (void)line;
}

/* A root-only file named by key, if set.  false: a FAIL was reported. */
static bool file_ok(struct eotp_doctor *d, const char *key, const char *path,
                    enum eotp_sf_policy policy)
{
    enum eotp_sf_reason reason = EOTP_SF_OK;
    char why[160];
    char safe[EOTP_FIELD_MAX];

    if (path == NULL) {
        return true;
    }
    if (eotp_safefile_check(path, policy, EOTP_TRUST_FILE_MAX, &reason, why,
                            sizeof(why)) == EOTP_OK) {
        return true;
    }
    eotp_doctor_report(d, NAME, EOTP_DOC_FAIL,
                       policy == EOTP_SF_SECRET
                           ? "chown root:root FILE; chmod 0600 FILE"
                           : "chown root:root FILE; chmod 0644 FILE",
                       "%s %s: %s ('callback serve' refuses to start)", key,
                       eotp_sanitize(safe, sizeof(safe), path, false), why);
    return false;
}

static void report_note(struct eotp_doctor *d, const char *value)
{
    struct eotp_recv_note note;
    char when[40] = "?";
    time_t t;
    struct tm tm;

    if (eotp_recv_note_decode(value, &note) != EOTP_OK) {
        return;
    }
    t = (time_t)(note.at > 0 ? note.at : note.seen);
    if (gmtime_r(&t, &tm) != NULL) {
        (void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
    }
    if (eotp_cbb_note_prio(note.event) == LOG_ALERT) {
        eotp_doctor_report(d, NAME, EOTP_DOC_WARN,
                           "check the balance and the verification rate in "
                           "the EngageLab console",
                           "EngageLab alert: %s at %s (%s)", note.event, when,
                           note.detail);
    } else {
        eotp_doctor_report(d, NAME, EOTP_DOC_OK, NULL,
                           "last EngageLab notification: %s at %s (%s)",
                           note.event, when, note.detail);
    }
}

/* The last alert (insufficient_balance...) and the last notification of
 * any kind, when it is not that alert, both kept 7 days. */
static void last_note(struct eotp_doctor *d)
{
    const struct eotp_logger lg = {quiet, NULL, false};
    struct eotp_store *s = NULL;
    char alert[EOTP_STORE_VALUE_MAX];
    char last[EOTP_STORE_VALUE_MAX];
    bool have_alert = false;
    bool have_last = false;
    int r;

    if (d->offline && eotp_store_redis_wanted(&d->cfg)) {
        eotp_doctor_report(d, NAME, EOTP_DOC_SKIP, NULL,
                           "last EngageLab notification: not read "
                           "(--offline, it is kept in Redis)");
        return;
    }
    r = eotp_store_open(&d->cfg, &lg, &s);
    if (r == EOTP_OK) {
        r = eotp_store_rec_get(s, EOTP_RECV_NOTE_NS, EOTP_RECV_ALERT_ID, alert,
                               &have_alert);
    }
    if (r == EOTP_OK) {
        r = eotp_store_rec_get(s, EOTP_RECV_NOTE_NS, EOTP_RECV_NOTE_ID, last,
                               &have_last);
    }
    eotp_store_close(s);
    if (r != EOTP_OK) {
        eotp_doctor_report(d, NAME, EOTP_DOC_SKIP, NULL,
                           "last EngageLab notification: state store "
                           "unreadable (%s)",
                           eotp_strerror(r));
        return;
    }
    if (!have_alert && !have_last) {
        eotp_doctor_report(d, NAME, EOTP_DOC_OK, NULL,
                           "no EngageLab notification received in the last "
                           "7 days");
        return;
    }
    if (have_alert) {
        report_note(d, alert);
    }
    if (have_last && !(have_alert && strcmp(alert, last) == 0)) {
        report_note(d, last);
    }
}

void eotp_doc_check_callback(struct eotp_doctor *d)
{
    const struct eotp_cfg *c = &d->cfg;
    bool serve = c->callback_username != NULL ||
                 c->callback_secret_file != NULL ||
                 c->callback_auth_file != NULL || c->callback_tls_cert != NULL;

    if (!serve && !eotp_store_redis_wanted(c)) {
        return; /* no receiver here, and no shared store to look in */
    }
    if (!eotp_doctor_needs(d, NAME,
                           "callback_listen callback_username "
                           "callback_secret_file callback_max_age "
                           "callback_tls_cert callback_tls_key "
                           "callback_auth_file state_dir")) {
        return;
    }
    if (serve) {
        bool ok = true;

        if (c->callback_username == NULL || c->callback_secret_file == NULL) {
            eotp_doctor_report(d, NAME, EOTP_DOC_FAIL,
                               "set both, as in the EngageLab console",
                               "callback_username and callback_secret_file "
                               "go together ('callback serve' needs both)");
            ok = false;
        }
        ok = file_ok(d, "callback_secret_file", c->callback_secret_file,
                     EOTP_SF_SECRET) &&
             ok;
        ok = file_ok(d, "callback_auth_file", c->callback_auth_file,
                     EOTP_SF_SECRET) &&
             ok;
        ok = file_ok(d, "callback_tls_key", c->callback_tls_key,
                     EOTP_SF_SECRET) &&
             ok;
        ok = file_ok(d, "callback_tls_cert", c->callback_tls_cert,
                     EOTP_SF_PUBLIC) &&
             ok;
        if ((c->callback_tls_cert == NULL) != (c->callback_tls_key == NULL)) {
            eotp_doctor_report(d, NAME, EOTP_DOC_FAIL,
                               "set both callback_tls_cert and "
                               "callback_tls_key, or neither",
                               "callback_tls_cert and callback_tls_key go "
                               "together");
            ok = false;
        }
        if (ok) {
            eotp_doctor_report(d, NAME, EOTP_DOC_OK, NULL,
                               "receiver files usable (listen %s, max_age "
                               "%ld s, tls %s, Authorization %s)",
                               c->callback_listen, c->callback_max_age,
                               c->callback_tls_cert != NULL ? "yes" : "no",
                               c->callback_auth_file != NULL ? "checked"
                                                             : "not checked");
        }
    }
    last_note(d);
}
