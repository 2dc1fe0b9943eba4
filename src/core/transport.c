/* SPDX-License-Identifier: Apache-2.0 */
/*
 * transport.c - one interface, two ways to deliver a local code.
 */
#include "transport.h"

#include "err.h"
#include "http.h"
#include "log.h"
#include "safefile.h"
#include "secret.h"

#include <stdio.h>
#include <string.h>

#define PASSWORD_FILE_MAX 64

const char *eotp_transport_name(int transport)
{
    return transport == EOTP_TRANSPORT_SMPP ? "smpp" : "https";
}

/*
 * smpp_password_file: root-only (safefile's secret policy), one line of
 * 1 to 8 characters.  pw holds EOTP_SMPP_PASSWORD_MAX + 1 bytes.
 */
static int read_password(const struct eotp_cfg *cfg, char *pw,
                         struct eotp_smpp_info *info)
{
    char why[160];
    char *buf = NULL;
    size_t len = 0;
    size_t n;
    int r = eotp_safefile_read(cfg->smpp_password_file, EOTP_SF_SECRET,
                               PASSWORD_FILE_MAX, &buf, &len, why,
                               sizeof(why));

    if (r == EOTP_E_NOMEM) {
        return r;
    }
    if (r != EOTP_OK) {
        char safe[EOTP_SMPP_DETAIL_MAX];

        eotp_sanitize(safe, sizeof(safe), why, false);
        (void)snprintf(info->detail, sizeof(info->detail),
                       "transport=smpp step=config error=\"refusing "
                       "smpp_password_file: %.120s\"",
                       safe);
        info->step = "config";
        return EOTP_E_CONFIG;
    }
    n = eotp_secret_line_len(buf, len);
    if (n == 0 || n > EOTP_SMPP_PASSWORD_MAX) {
        (void)snprintf(info->detail, sizeof(info->detail),
                       "transport=smpp step=config error=\"smpp_password_"
                       "file must hold one line of 1 to %d characters\"",
                       EOTP_SMPP_PASSWORD_MAX);
        info->step = "config";
        eotp_freezero(buf, len + 1);
        return EOTP_E_CONFIG;
    }
    memcpy(pw, buf, n);
    pw[n] = '\0';
    eotp_freezero(buf, len + 1);
    return EOTP_OK;
}

static void smpp_opts(const struct eotp_cfg *cfg, const char *pw,
                      long budget_ms, struct eotp_smpp_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->host = cfg->smpp_host;
    o->port = cfg->smpp_port;
    o->system_id = cfg->smpp_system_id;
    o->password = pw;
    o->tls = cfg->smpp_tls;
    o->ca_file = cfg->smpp_ca_file != NULL ? cfg->smpp_ca_file : cfg->ca_file;
    o->connect_timeout_ms = cfg->connect_timeout * 1000;
    o->timeout_ms = cfg->timeout * 1000;
    if (budget_ms < o->timeout_ms) {
        o->timeout_ms = budget_ms;
    }
}

int eotp_transport_smpp_check(const struct eotp_cfg *cfg,
                              struct eotp_smpp_info *info)
{
    struct eotp_smpp_opts o;
    char pw[EOTP_SMPP_PASSWORD_MAX + 1];
    int r;

    memset(info, 0, sizeof(*info));
    r = read_password(cfg, pw, info);
    if (r != EOTP_OK) {
        return r;
    }
    smpp_opts(cfg, pw, cfg->deadline * 1000, &o);
    r = eotp_smpp_check_bind(&o, info);
    eotp_memzero(pw, sizeof(pw));
    return r;
}

int eotp_transport_send(const struct eotp_cfg *cfg, struct eotp_api *api,
                        const struct eotp_send_req *req,
                        struct eotp_send_resp *out)
{
    struct eotp_http *http = eotp_api_http(api);
    struct eotp_smpp_info info;
    struct eotp_smpp_opts o;
    char pw[EOTP_SMPP_PASSWORD_MAX + 1];
    long left;
    int r;

    if (cfg->transport != EOTP_TRANSPORT_SMPP) {
        return eotp_api_send(api, req, out);
    }
    memset(&info, 0, sizeof(info));
    if (req->code == NULL) {
        /* cfg_validate makes smpp need code_mode = local. */
        eotp_api_note_error(api, "transport=smpp error=\"SMPP delivers "
                                 "local codes only\"");
        return EOTP_E_CONFIG;
    }
    left = eotp_http_time_left(http);
    if (left <= 0) {
        eotp_api_note_error(api, "transport=smpp error=\"login deadline "
                                 "passed\"");
        return EOTP_E_TIMEOUT;
    }
    r = read_password(cfg, pw, &info);
    if (r == EOTP_OK) {
        smpp_opts(cfg, pw, left, &o);
        r = eotp_smpp_send(&o, req, out, &info);
        eotp_http_spend(http, info.elapsed_ms);
    }
    eotp_memzero(pw, sizeof(pw));
    if (r != EOTP_OK) {
        eotp_api_note_error(api, info.detail[0] != '\0'
                                     ? info.detail
                                     : "transport=smpp error=\"failed\"");
    }
    return r;
}
