/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor_smpp.c - the doctor's checks of the SMPP transport (issue 15):
 * a warning when smpp_tls = no, then one bind and unbind with the
 * configured credentials, sending nothing.  Called from cmd_doctor.c.
 */
#include "doctor.h"

#include "../core/err.h"
#include "../core/transport.h"


static const char *hint(int r)
{
    switch (r) {
    case EOTP_E_API_AUTH:
        return "check smpp_system_id and smpp_password_file (EngageLab "
               "refuses a bind by closing the connection)";
    case EOTP_E_TLS:
        return "set smpp_ca_file (or ca_file) to the CA that signed the "
               "server's certificate, and check that smpp_host names the "
               "host in it";
    case EOTP_E_TRANSPORT:
    case EOTP_E_TIMEOUT:
        return "check smpp_host, smpp_port, smpp_tls, the firewall and "
               "timeout";
    case EOTP_E_CONFIG:
        return "fix the file as the message says (owner root, mode 0600, "
               "one line of 1 to 8 characters)";
    default:
        return "see the SMPP error mapping in pam_engagelab_otp.conf(5)";
    }
}

void eotp_doc_check_smpp_tls(struct eotp_doctor *d)
{
    if (!d->cfg_read || d->cfg.transport != EOTP_TRANSPORT_SMPP) {
        return;
    }
    if (!eotp_doctor_needs(d, "smpp_tls", "transport smpp_tls")) {
        return;
    }
    if (!d->cfg.smpp_tls) {
        eotp_doctor_report(d, "smpp_tls", EOTP_DOC_WARN,
                           "set smpp_tls = yes unless the link to the SMPP "
                           "server is private",
                           "smpp_tls = no: the SMPP password and every code "
                           "cross the network in clear");
    } else {
        eotp_doctor_report(d, "smpp_tls", EOTP_DOC_OK, NULL,
                           "smpp_tls = yes (the server's certificate and "
                           "host name are verified)");
    }
}

void eotp_doc_check_smpp(struct eotp_doctor *d)
{
    const struct eotp_cfg *cfg = &d->cfg;
    struct eotp_smpp_info info;
    char host[EOTP_FIELD_MAX];
    char id[EOTP_FIELD_MAX];
    int r;

    if (!d->cfg_read || cfg->transport != EOTP_TRANSPORT_SMPP) {
        return;
    }
    /* In the table as a local check, so that it is silent without SMPP. */
    if (d->offline) {
        eotp_doctor_report(d, "smpp", EOTP_DOC_SKIP, NULL,
                           "smpp: not checked (--offline)");
        return;
    }
    if (!eotp_doctor_needs(d, "smpp",
                           "transport smpp_host smpp_port smpp_system_id "
                           "smpp_password_file smpp_tls smpp_ca_file")) {
        return;
    }
    eotp_sanitize(host, sizeof(host), cfg->smpp_host, false);
    eotp_sanitize(id, sizeof(id), cfg->smpp_system_id, false);
    r = eotp_transport_smpp_check(cfg, &info);
    if (r == EOTP_OK) {
        eotp_doctor_report(d, "smpp", EOTP_DOC_OK, NULL,
                           "SMPP bind to %s:%ld as %s (%s, %ld ms; nothing "
                           "sent)",
                           host, cfg->smpp_port, id,
                           cfg->smpp_tls ? "TLS" : "plaintext",
                           info.elapsed_ms);
        return;
    }
    eotp_doctor_report(d, "smpp", EOTP_DOC_FAIL, hint(r),
                       "SMPP bind to %s:%ld as %s: %s: %s", host,
                       cfg->smpp_port, id, eotp_strerror(r), info.detail);
}
