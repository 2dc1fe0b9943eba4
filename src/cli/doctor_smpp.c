/*
 * doctor_smpp.c - the doctor's checks of the SMPP transport (issue 15):
 * a warning when smpp_tls = no, then one bind and unbind with the
 * configured credentials, sending nothing.  Called from cmd_doctor.c.
 */
#include "cli.h"

#include "../core/err.h"
#include "../core/transport.h"

#include <stdio.h>

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

int eotp_doctor_smpp(const struct eotp_cfg *cfg)
{
    struct eotp_smpp_info info;
    char host[EOTP_FIELD_MAX];
    char id[EOTP_FIELD_MAX];
    int r;

    if (cfg->transport != EOTP_TRANSPORT_SMPP) {
        return 0;
    }
    if (!cfg->smpp_tls) {
        (void)printf("WARN smpp_tls = no: the SMPP password and every code "
                     "cross the network in clear: use TLS unless the link "
                     "is private\n");
    }
    eotp_sanitize(host, sizeof(host), cfg->smpp_host, false);
    eotp_sanitize(id, sizeof(id), cfg->smpp_system_id, false);
    r = eotp_transport_smpp_check(cfg, &info);
    if (r == EOTP_OK) {
        (void)printf("OK  SMPP bind to %s:%ld as %s (%s, %ld ms; nothing "
                     "sent)\n",
                     host, cfg->smpp_port, id,
                     cfg->smpp_tls ? "TLS" : "plaintext", info.elapsed_ms);
        return 0;
    }
    (void)printf("FAIL SMPP bind to %s:%ld as %s: %s: %s: %s\n", host,
                 cfg->smpp_port, id, eotp_strerror(r), info.detail, hint(r));
    return 1;
}
