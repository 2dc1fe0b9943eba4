/* SPDX-License-Identifier: Apache-2.0 */
/*
 * transport.h - how a code made here (code_mode = local) reaches the
 * user: the REST API (/v1/codes, transport = https) or EngageLab's SMPP
 * interface (transport = smpp).  One call per code; the outcome is one of
 * the EOTP_E_* codes of the outcome table (err.h), so failmode and the
 * PAM return value do not depend on the transport.
 */
#ifndef EOTP_TRANSPORT_H
#define EOTP_TRANSPORT_H

#include "api.h"
#include "cfg.h"
#include "smpp.h"

enum eotp_transport {
    EOTP_TRANSPORT_HTTPS = 0,
    EOTP_TRANSPORT_SMPP = 1,
};

/*
 * Deliver req->code to req->to with req's template, language and params
 * through cfg's transport.  api is the login's REST client: https sends
 * through it, and both transports spend the same API time (its
 * deadline; timeout bounds each call).  On failure the details are kept
 * as api's last error (eotp_api_last_error: no HTTP status, the SMPP step
 * and status in message).  With transport = smpp, req->code must be set.
 */
int eotp_transport_send(const struct eotp_cfg *cfg, struct eotp_api *api,
                        const struct eotp_send_req *req,
                        struct eotp_send_resp *out);

/*
 * SMPP: bind and unbind with cfg's credentials, sending nothing (doctor).
 * info gets the step and status of a failure.
 */
int eotp_transport_smpp_check(const struct eotp_cfg *cfg,
                              struct eotp_smpp_info *info);

/* "https" or "smpp". */
const char *eotp_transport_name(int transport);

#endif
