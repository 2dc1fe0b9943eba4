/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor_api.c - doctor's checks that use the API: TLS, credentials, the
 * template, and the code shape (code_length, code_type) against each
 * template's verify_code_config.  One template list call serves them all.
 */
#include "doctor.h"

#include "../core/err.h"

#include <stdlib.h>
#include <string.h>

#define API_KEYS                                                              \
    "api_url dev_key dev_secret ca_file proxy connect_timeout timeout "       \
    "deadline"

/* The API checks run only when the list was fetched. */
static bool list_usable(struct eotp_doctor *d, const char *name)
{
    if (!d->tpl_fetched) {
        eotp_doctor_report(d, name, EOTP_DOC_SKIP, NULL,
                           "%s: not checked (the template list could not be "
                           "fetched, see above)",
                           name);
        return false;
    }
    return true;
}

static const struct eotp_tpl_info *find_tpl(const struct eotp_doctor *d,
                                            const char *id)
{
    for (size_t i = 0; i < d->tpls.n; i++) {
        if (strcmp(d->tpls.items[i].id, id) == 0) {
            return &d->tpls.items[i];
        }
    }
    return NULL;
}

/* "digits", "digits and lowercase letters", ... for a code_type mask. */
static const char *type_text(long t)
{
    static const char *const names[8] = {
        "nothing",           "digits",
        "lowercase letters", "digits and lowercase letters",
        "uppercase letters", "digits and uppercase letters",
        "letters",           "digits and letters",
    };

    return t >= 0 && t <= 7 ? names[t] : "unknown characters";
}

/*
 * Does the template's code pass the module's code_length/code_type?
 * Fills why (naming both values) and fix when it does not.
 */
static bool shape_matches(const struct eotp_cfg *cfg,
                          const struct eotp_tpl_info *t, const char *what,
                          char *why, size_t whylen, char *fix, size_t fixlen)
{
    if (cfg->code_length != 0 && cfg->code_length != t->code_len) {
        (void)snprintf(why, whylen,
                       "%s sends %ld-character codes (verify_code_len %ld) "
                       "but code_length = %ld, so every code typed is "
                       "refused as a wrong code",
                       what, t->code_len, t->code_len, cfg->code_length);
        (void)snprintf(fix, fixlen,
                       "set code_length = %ld in the config file, or use a "
                       "template whose verify_code_len is %ld",
                       t->code_len, cfg->code_length);
        return false;
    }
    if ((t->code_type & ~cfg->code_type) != 0) {
        (void)snprintf(why, whylen,
                       "%s sends codes of %s (verify_code_type %ld) but "
                       "code_type = %ld accepts only %s, so every code "
                       "typed is refused as a wrong code",
                       what, type_text(t->code_type), t->code_type,
                       cfg->code_type, type_text(cfg->code_type));
        (void)snprintf(fix, fixlen,
                       "set code_type = %ld in the config file, or use a "
                       "template whose verify_code_type is %ld",
                       t->code_type, cfg->code_type);
        return false;
    }
    return true;
}

/* TLS, credentials and the template, from one template list call. */
void eotp_doc_check_api(struct eotp_doctor *d)
{
    const struct eotp_cfg *cfg = &d->cfg;
    struct eotp_api *api = NULL;
    const struct eotp_api_error *e;
    const struct eotp_tpl_info *t;
    char url[EOTP_FIELD_MAX];
    char tid[4 * EOTP_TPL_ID_MAX + 1];
    char terr[256];
    char fix[512];
    int r;

    if (!eotp_doctor_needs(d, "tls", API_KEYS " template_id")) {
        return;
    }
    if (cfg->dev_key == NULL || cfg->dev_secret == NULL ||
        cfg->template_id == NULL) {
        eotp_doctor_report(d, "tls", EOTP_DOC_SKIP, NULL,
                           "tls, credentials, template: not checked "
                           "(dev_key, dev_secret or template_id is not set, "
                           "see above)");
        return;
    }
    eotp_sanitize(url, sizeof(url), cfg->api_url, false);
    eotp_sanitize(tid, sizeof(tid), cfg->template_id, false);
    r = eotp_api_new(cfg, cfg->deadline * 1000, &api);
    if (r != EOTP_OK) {
        eotp_doctor_report(d, "tls", EOTP_DOC_FAIL,
                           "check api_url, ca_file and proxy", "TLS to %s: %s",
                           url, eotp_strerror(r));
        return;
    }
    r = eotp_tpl_list(api, &d->tpls, NULL);
    eotp_sanitize(terr, sizeof(terr), eotp_api_transport_error(api), false);
    if (r == EOTP_E_TLS) {
        eotp_doctor_report(d, "tls", EOTP_DOC_FAIL,
                           "set ca_file to the CA that signed the server's "
                           "certificate, and check that api_url names the "
                           "host in it",
                           "TLS to %s: %s%s%s", url, eotp_strerror(r),
                           terr[0] != '\0' ? ": " : "", terr);
    } else if (r == EOTP_E_TRANSPORT || r == EOTP_E_TIMEOUT) {
        eotp_doctor_report(d, "tls", EOTP_DOC_FAIL,
                           "check api_url, proxy, the firewall and timeout",
                           "TLS to %s: %s%s%s", url, eotp_strerror(r),
                           terr[0] != '\0' ? ": " : "", terr);
    } else {
        eotp_doctor_report(d, "tls", EOTP_DOC_OK, NULL, "TLS to %s", url);
    }
    if (r == EOTP_E_TLS || r == EOTP_E_TRANSPORT || r == EOTP_E_TIMEOUT) {
        eotp_doctor_report(d, "credentials", EOTP_DOC_SKIP, NULL,
                           "credentials: not checked (the API could not be "
                           "reached)");
        eotp_doctor_report(d, "template", EOTP_DOC_SKIP, NULL,
                           "template %s: not checked (the API could not be "
                           "reached)",
                           tid);
        goto out;
    }
    e = eotp_api_last_error(api);
    if (r != EOTP_OK) {
        if (e->code != 0) {
            eotp_doctor_report(d, "credentials", EOTP_DOC_FAIL,
                               eotp_api_code_hint(e->code),
                               "credentials: API error %ld: %s", e->code,
                               e->message);
        } else {
            eotp_doctor_report(d, "credentials", EOTP_DOC_FAIL,
                               "check api_url", "credentials: %s%s%s",
                               eotp_strerror(r),
                               e->message[0] != '\0' ? ": " : "", e->message);
        }
        eotp_doctor_report(d, "template", EOTP_DOC_SKIP, NULL,
                           "template %s: not checked (the template list "
                           "failed)",
                           tid);
        eotp_tpl_list_free(&d->tpls);
        goto out;
    }
    d->tpl_fetched = true;
    eotp_doctor_report(d, "credentials", EOTP_DOC_OK, NULL,
                       "credentials (%zu template%s visible)", d->tpls.n,
                       d->tpls.n == 1 ? "" : "s");
    t = find_tpl(d, cfg->template_id);
    if (t == NULL) {
        eotp_doctor_report(d, "template", EOTP_DOC_FAIL,
                           "create it with '" EOTP_PROG
                           " templates create' or fix template_id",
                           "template %s: does not exist", tid);
    } else if (t->status == EOTP_TPL_STATUS_PENDING) {
        eotp_doctor_report(d, "template", EOTP_DOC_FAIL,
                           "wait until the review in the EngageLab console "
                           "approves it",
                           "template %s: Pending review", tid);
    } else if (t->status == EOTP_TPL_STATUS_REJECTED) {
        eotp_doctor_report(d, "template", EOTP_DOC_FAIL,
                           "fix it and create a new template",
                           "template %s: Rejected (%s)", tid,
                           t->remark[0] != '\0' ? t->remark : "no remark");
    } else if (t->status != EOTP_TPL_STATUS_APPROVED) {
        eotp_doctor_report(d, "template", EOTP_DOC_FAIL,
                           "check it in the EngageLab console",
                           "template %s: status %d is not Approved", tid,
                           t->status);
    } else if (!t->has_code) {
        (void)snprintf(fix, sizeof(fix),
                       "the module needs a verification-code template; "
                       "create one with '%s templates create'",
                       EOTP_PROG);
        eotp_doctor_report(d, "template", EOTP_DOC_FAIL, fix,
                           "template %s: has no verify_code_config", tid);
    } else {
        eotp_doctor_report(d, "template", EOTP_DOC_OK, NULL,
                           "template %s (Approved, %s, %ld characters, %ld "
                           "min)",
                           tid, t->strategy, t->code_len, t->code_ttl);
    }
out:
    eotp_api_free(api);
}

void eotp_doc_check_code_shape(struct eotp_doctor *d)
{
    static const char name[] = "code_shape";
    const struct eotp_cfg *cfg = &d->cfg;
    const struct eotp_tpl_info *t;
    char tid[4 * EOTP_TPL_ID_MAX + 1];
    char what[4 * EOTP_TPL_ID_MAX + 16];
    char why[1024];
    char fix[512];

    if (!eotp_doctor_needs(d, name, "code_length code_type code_mode")) {
        return;
    }
    if (cfg->code_mode == EOTP_CODE_LOCAL) {
        eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                           "code shape: the module makes the codes "
                           "(code_mode = local, %ld characters of %s)",
                           cfg->code_length, type_text(cfg->code_type));
        return;
    }
    if (!list_usable(d, name) || cfg->template_id == NULL) {
        return;
    }
    t = find_tpl(d, cfg->template_id);
    eotp_sanitize(tid, sizeof(tid), cfg->template_id, false);
    if (t == NULL || !t->has_code) {
        eotp_doctor_report(d, name, EOTP_DOC_SKIP, NULL,
                           "code shape: not checked (template %s has no "
                           "code, see above)",
                           tid);
        return;
    }
    (void)snprintf(what, sizeof(what), "template %s", tid);
    if (!shape_matches(cfg, t, what, why, sizeof(why), fix, sizeof(fix))) {
        eotp_doctor_report(d, name, EOTP_DOC_FAIL, fix, "code shape: %s", why);
        return;
    }
    eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                       "code shape: template %s sends %ld %s, code_length = "
                       "%ld and code_type = %ld accept them",
                       tid, t->code_len, type_text(t->code_type),
                       cfg->code_length, cfg->code_type);
}

void eotp_doc_check_alt_templates(struct eotp_doctor *d)
{
    static const char name[] = "alt_templates";
    const struct eotp_cfg *cfg = &d->cfg;
    const char *cur;
    char item[256];

    if (!eotp_doctor_needs(d, name,
                           "alt_templates code_length code_type code_mode")) {
        return;
    }
    if (cfg->alt_templates == NULL) {
        eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                           "alt_templates: not set");
        return;
    }
    if (!list_usable(d, name)) {
        return;
    }
    cur = cfg->alt_templates;
    while (eotp_list_next(&cur, item, sizeof(item))) {
        const char *colon = strchr(item, ':');
        const struct eotp_tpl_info *t;
        char tid[4 * EOTP_TPL_ID_MAX + 1];
        char chan[16];
        char what[4 * EOTP_TPL_ID_MAX + 48];
        char why[1024];
        char fix[512];

        if (colon == NULL || (size_t)(colon - item) >= sizeof(chan)) {
            continue; /* the parser accepts no such item */
        }
        memcpy(chan, item, (size_t)(colon - item));
        chan[colon - item] = '\0';
        eotp_sanitize(tid, sizeof(tid), colon + 1, false);
        t = find_tpl(d, colon + 1);
        (void)snprintf(what, sizeof(what), "alt_templates %s template %s",
                       chan, tid);
        if (t == NULL) {
            eotp_doctor_report(d, name, EOTP_DOC_FAIL,
                               "create it with '" EOTP_PROG
                               " templates create' or fix alt_templates",
                               "%s: does not exist", what);
        } else if (t->status != EOTP_TPL_STATUS_APPROVED) {
            eotp_doctor_report(d, name, EOTP_DOC_FAIL,
                               "wait for the review, or fix alt_templates",
                               "%s: %s, not Approved", what,
                               eotp_tpl_status_text(t->status));
        } else if (!t->has_code) {
            eotp_doctor_report(d, name, EOTP_DOC_FAIL,
                               "use a verification-code template",
                               "%s: has no verify_code_config", what);
        } else if (cfg->code_mode != EOTP_CODE_LOCAL &&
                   !shape_matches(cfg, t, what, why, sizeof(why), fix,
                                  sizeof(fix))) {
            eotp_doctor_report(d, name, EOTP_DOC_FAIL, fix, "%s", why);
        } else if (strstr(t->strategy, chan) == NULL) {
            eotp_doctor_report(d, name, EOTP_DOC_WARN,
                               "use a template whose send_channel_strategy "
                               "includes the channel",
                               "%s: its channels are %s, not %s", what,
                               t->strategy, chan);
        } else {
            eotp_doctor_report(d, name, EOTP_DOC_OK, NULL,
                               "%s (Approved, %s, %ld %s)", what, t->strategy,
                               t->code_len, type_text(t->code_type));
        }
    }
}
