/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor_notify.c - doctor's check of notify_template (issue 16): it
 * exists, is approved, needs no code, and its variables are params a
 * notice sends.  Uses the template list the "tls" check fetched, and one
 * template detail call for the variables.
 */
#include "doctor.h"

#include "../core/err.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* What a notice sends, and what the platform fills in itself. */
static const char *const params[] = {"user",  "host", "service", "rhost",
                                     "event", "time", NULL};
static const char *const presets[] = {"brand_name", "ttl", "pwa_url", NULL};

static int index_of(const char *const *list, const char *v)
{
    for (int i = 0; list[i] != NULL; i++) {
        if (strcmp(list[i], v) == 0) {
            return i;
        }
    }
    return -1;
}

/*
 * The "{{name}}" variables of the template's JSON text: the first one a
 * notice does not send into bad, the params it uses into used (" user
 * host ...", in the order of params[]).
 */
static void scan_vars(const char *json, char *bad, size_t badlen, char *used,
                      size_t usedlen)
{
    bool seen[6] = {false, false, false, false, false, false};
    const char *p = json;

    bad[0] = '\0';
    used[0] = '\0';
    while ((p = strstr(p, "{{")) != NULL) {
        const char *e;
        char name[40];
        size_t n;
        int i;

        p += 2;
        while (*p == ' ') {
            p++;
        }
        e = p;
        while ((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') ||
               (*e >= '0' && *e <= '9') || *e == '_') {
            e++;
        }
        n = (size_t)(e - p);
        p = e;
        if (n == 0 || n >= sizeof(name)) {
            continue;
        }
        memcpy(name, e - n, n);
        name[n] = '\0';
        i = index_of(params, name);
        if (i >= 0) {
            seen[i] = true;
        } else if (index_of(presets, name) < 0 && bad[0] == '\0') {
            (void)snprintf(bad, badlen, "%s", name);
        }
    }
    for (size_t i = 0; params[i] != NULL; i++) {
        if (seen[i]) {
            size_t o = strlen(used);

            (void)snprintf(used + o, usedlen - o, " %s", params[i]);
        }
    }
}

void eotp_doc_check_notify(struct eotp_doctor *d)
{
    static const char name[] = "notify";
    const struct eotp_cfg *cfg = &d->cfg;
    const struct eotp_tpl_info *t = NULL;
    struct eotp_tpl_info info;
    struct eotp_api *api = NULL;
    char tid[4 * EOTP_TPL_ID_MAX + 1];
    char bad[40];
    char used[128];
    char *json = NULL;
    int r;

    if (!eotp_doctor_needs(d, name, "notify_template notify_on")) {
        return;
    }
    if (cfg->notify_template == NULL) {
        eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                           "notifications: off (notify_template not set)");
        return;
    }
    eotp_sanitize(tid, sizeof(tid), cfg->notify_template, false);
    if (d->offline) {
        eotp_doctor_report(d, name, EOTP_DOC_SKIP, NULL,
                           "notify_template %s: not checked (--offline)", tid);
        return;
    }
    if (!d->tpl_fetched) {
        eotp_doctor_report(d, name, EOTP_DOC_SKIP, NULL,
                           "notify_template %s: not checked (the template "
                           "list could not be fetched, see above)",
                           tid);
        return;
    }
    for (size_t i = 0; i < d->tpls.n; i++) {
        if (strcmp(d->tpls.items[i].id, cfg->notify_template) == 0) {
            t = &d->tpls.items[i];
        }
    }
    if (t == NULL) {
        eotp_doctor_report(d, name, EOTP_DOC_FAIL,
                           "create a notification template in the EngageLab "
                           "console, or fix notify_template",
                           "notify_template %s: does not exist (no notice "
                           "can be sent)",
                           tid);
        return;
    }
    if (t->status != EOTP_TPL_STATUS_APPROVED) {
        eotp_doctor_report(d, name, EOTP_DOC_FAIL,
                           "wait for the review, or fix notify_template",
                           "notify_template %s: %s, not Approved", tid,
                           eotp_tpl_status_text(t->status));
        return;
    }
    if (t->has_code) {
        eotp_doctor_report(d, name, EOTP_DOC_FAIL,
                           "use a notification template (no "
                           "verify_code_config)",
                           "notify_template %s: a verification-code "
                           "template, which /v1/custom-messages sends only "
                           "with a code, and a notice never carries one",
                           tid);
        return;
    }
    r = eotp_api_new(cfg, cfg->deadline * 1000, &api);
    if (r == EOTP_OK) {
        memset(&info, 0, sizeof(info));
        r = eotp_tpl_get(api, cfg->notify_template, &info, &json, NULL);
    }
    eotp_api_free(api);
    if (r != EOTP_OK || json == NULL) {
        eotp_doctor_report(d, name, EOTP_DOC_WARN,
                           "check the template in the EngageLab console",
                           "notify_template %s (Approved, %s): its variables "
                           "could not be read: %s",
                           tid, t->strategy, eotp_strerror(r));
        free(json);
        return;
    }
    scan_vars(json, bad, sizeof(bad), used, sizeof(used));
    free(json);
    if (bad[0] != '\0') {
        eotp_doctor_report(d, name, EOTP_DOC_WARN,
                           "use only {{user}} {{host}} {{service}} {{rhost}} "
                           "{{event}} {{time}} (and the preset "
                           "{{brand_name}})",
                           "notify_template %s: uses {{%s}}, which a notice "
                           "does not send (it would show as is)",
                           tid, bad);
    } else if (used[0] == '\0') {
        eotp_doctor_report(d, name, EOTP_DOC_WARN,
                           "add {{event}}, {{user}}, {{host}} or {{rhost}} "
                           "to the text",
                           "notify_template %s: uses none of the params a "
                           "notice sends (user, host, service, rhost, "
                           "event, time)",
                           tid);
    } else {
        eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                           "notify_template %s (Approved, %s, uses%s)", tid,
                           t->strategy, used);
    }
}
