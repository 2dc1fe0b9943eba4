/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_template.h - the template endpoints of the EngageLab OTP API
 * (/v1/template-configs): list, get, create, delete, and the local
 * validation of a create body.
 *
 * Answers are untrusted: they are parsed into typed structs with
 * sanitised, bounded strings, and JSON meant for a terminal is
 * re-serialised from the parsed tree (control characters escaped, invalid
 * UTF-8 replaced) so that it is always valid JSON.
 */
#ifndef EOTP_API_TEMPLATE_H
#define EOTP_API_TEMPLATE_H

#include "api.h"

#include <stdbool.h>
#include <stddef.h>

#define EOTP_TPL_ID_MAX 128     /* characters of a template_id */
#define EOTP_TPL_BODY_MAX 65536 /* bytes of a create body */
#define EOTP_TPL_LIST_MAX 10000 /* templates in a list answer */

/* Template status as the service reports it. */
enum eotp_tpl_status {
    EOTP_TPL_STATUS_UNKNOWN = 0,
    EOTP_TPL_STATUS_PENDING = 1,
    EOTP_TPL_STATUS_APPROVED = 2,
    EOTP_TPL_STATUS_REJECTED = 3,
};

/* One template, as far as the tool shows it (all strings sanitised). */
struct eotp_tpl_info {
    char id[4 * EOTP_TPL_ID_MAX + 1];
    char description[1024];
    char strategy[64]; /* send_channel_strategy, "" if absent */
    char brand[64];
    int status;        /* enum eotp_tpl_status; other values kept as is */
    long long created; /* created_time, Unix seconds; -1 if absent */
    char remark[512];  /* audit_remark */
    bool has_code;     /* verify_code_config present and well-formed */
    long code_type, code_len, code_ttl;
};

struct eotp_tpl_list {
    struct eotp_tpl_info *items;
    size_t n;
};

void eotp_tpl_list_free(struct eotp_tpl_list *l);

/*
 * GET /v1/template-configs.  On success *out holds the templates and, if
 * json_out is not NULL, *json_out a pretty-printed JSON array (free()).
 */
int eotp_tpl_list(struct eotp_api *api, struct eotp_tpl_list *out,
                  char **json_out);

/*
 * GET /v1/template-configs/{id}.  EOTP_E_NOT_FOUND for an unknown id
 * (4001).  json_out: pretty JSON object; text_out: a readable rendering,
 * one "field: value" line per leaf.  Both optional (free()).
 */
int eotp_tpl_get(struct eotp_api *api, const char *id,
                 struct eotp_tpl_info *out, char **json_out, char **text_out);

/*
 * POST /v1/template-configs after eotp_tpl_validate() passed; the body is
 * sent re-serialised.  A validation failure returns EOTP_E_API_REQUEST
 * with why filled in and sends nothing.
 */
int eotp_tpl_create(struct eotp_api *api, const char *json, size_t len,
                    char *why, size_t whylen);

/* DELETE /v1/template-configs/{id}.  EOTP_E_NOT_FOUND for 4001. */
int eotp_tpl_delete(struct eotp_api *api, const char *id);

/*
 * Check a create body against the documented rules before anything is
 * sent: JSON syntax (with an approximate line and column), field types, template_id
 * 1-128 characters, send_channel_strategy of whatsapp/sms/email/voice
 * joined by '|' (no repeats; email alone), a config object for every
 * channel of the strategy, brand_name 2-10 characters, verify_code_type
 * 1-7, verify_code_len 4-10, verify_code_ttl 1-10 (1, 5 or 10 with
 * whatsapp), custom_content of an authentication SMS containing
 * {{code}}, no unknown or read-only fields, no repeated keys.  Returns 0,
 * or EOTP_E_API_REQUEST with why naming the field ("brand_name: must be 2
 * to 10 characters").
 */
int eotp_tpl_validate(const char *json, size_t len, char *why, size_t whylen);

/* The common case without writing JSON (the tool's flag form). */
struct eotp_tpl_spec {
    const char *id;
    const char *channels;    /* "sms", "whatsapp|sms", ... */
    const char *sms_text;    /* NULL: the SMS default template */
    const char *brand;       /* NULL: not sent */
    const char *description; /* NULL: not sent */
    long code_type;
    long code_len;
    long code_ttl;
};

/*
 * Build a create body from spec into *json (free()).  Channel configs
 * use the default templates (security notice off, expiry notice on);
 * sms with sms_text becomes an authentication custom template.  The
 * result still has to pass eotp_tpl_validate().  EOTP_E_API_REQUEST with
 * why set when a channel needs settings the flag form lacks (email).
 */
int eotp_tpl_build(const struct eotp_tpl_spec *spec, char **json, char *why,
                   size_t whylen);

/* "Pending review", "Approved", "Rejected" or "Unknown". */
const char *eotp_tpl_status_text(int status);

/* Parsers, exposed for tests and fuzzing (body need not be terminated). */
int eotp_tpl_parse_list(const char *body, size_t len,
                        struct eotp_tpl_list *out);
int eotp_tpl_parse_one(const char *body, size_t len,
                       struct eotp_tpl_info *out);

/*
 * Re-serialise body as pretty JSON after checking that it is an array
 * (want_array) or an object; strings are made printable and valid UTF-8.
 */
int eotp_tpl_json_clean(const char *body, size_t len, bool want_array,
                        char **out);

/* The readable "field: value" rendering used by eotp_tpl_get(). */
int eotp_tpl_render(const char *body, size_t len, char **out);

/*
 * "/v1/template-configs/" + id percent-encoded (unreserved characters
 * kept).  EOTP_E_API_REQUEST when id is empty, longer than 128
 * characters, holds control characters, or buf is too small.
 */
int eotp_tpl_path(const char *id, char *buf, size_t buflen);

#endif
