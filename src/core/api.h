/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h - the EngageLab OTP REST API: request builders and response
 * parsers into typed structs.  Every answer of the service is untrusted:
 * a missing field, a wrong type or an oversized value fails closed.
 */
#ifndef EOTP_API_H
#define EOTP_API_H

#include "cfg.h"
#include "http.h"

#include <stdbool.h>
#include <stddef.h>

#define EOTP_MSGID_MAX 64
#define EOTP_CHANNEL_MAX 16
#define EOTP_API_MSG_MAX 256
#define EOTP_CODE_MAX 32

/* Which call an error belongs to: 3003 and 4001 mean different things. */
enum eotp_api_op {
    EOTP_OP_SEND,
    EOTP_OP_VERIFY,
    EOTP_OP_TEMPLATE,
    EOTP_OP_MESSAGE,
};

struct eotp_api_error {
    long http_status;               /* 0 when no HTTP answer came */
    long code;                      /* the service's numeric code, 0 if none */
    char message[EOTP_API_MSG_MAX]; /* sanitised service text */
};

struct eotp_kv {
    const char *key;
    const char *value;
};

struct eotp_send_req {
    const char *to;
    const char *template_id;
    const char *language; /* NULL: not sent */
    const struct eotp_kv *params;
    size_t nparams;
    const char *code; /* NULL: /v1/messages; else /v1/codes */
};

struct eotp_send_resp {
    char message_id[EOTP_MSGID_MAX + 1];
    char channel[EOTP_CHANNEL_MAX + 1]; /* "" when the service gave none */
};

struct eotp_api;

/* A client for cfg's api_url and credentials; deadline_ms 0: none. */
int eotp_api_new(const struct eotp_cfg *cfg, long deadline_ms,
                 struct eotp_api **out);
void eotp_api_free(struct eotp_api *api);

/* POST /v1/messages (req->code NULL) or /v1/codes. */
int eotp_api_send(struct eotp_api *api, const struct eotp_send_req *req,
                  struct eotp_send_resp *out);

/*
 * POST /v1/verifications.  Returns 0 with *verified set, or an error:
 * EOTP_E_CODE_EXPIRED for 3003 (expired or already used) and for 4001
 * (the service does not know the message), others as for any call.
 */
int eotp_api_verify(struct eotp_api *api, const char *message_id,
                    const char *code, bool *verified);

/* POST /v1/custom-messages to one or more recipients. */
int eotp_api_custom_message(struct eotp_api *api, const char *const *to,
                            size_t nto, const char *template_id,
                            const struct eotp_kv *params, size_t nparams,
                            struct eotp_send_resp *out);

/* Details of the last failed call (service code and text). */
const struct eotp_api_error *eotp_api_last_error(const struct eotp_api *api);

/*
 * Keep text as the last error when a call failed outside the REST API
 * (the SMPP transport): no HTTP status, no service code.
 */
void eotp_api_note_error(struct eotp_api *api, const char *text);

/* Transport error text of the last call, for logs. */
const char *eotp_api_transport_error(const struct eotp_api *api);

/* The underlying HTTP handle (template calls, tools). */
struct eotp_http *eotp_api_http(struct eotp_api *api);

/* Parsers, exposed for tests and fuzzing.  body need not be terminated. */
int eotp_api_parse_send(const char *body, size_t len,
                        struct eotp_send_resp *out);
int eotp_api_parse_verify(const char *body, size_t len, const char *message_id,
                          bool *verified);
int eotp_api_parse_error(long http_status, const char *body, size_t len,
                         enum eotp_api_op op, struct eotp_api_error *err);

/*
 * Does body start with a well-formed JSON value (what cJSON would parse,
 * given memory)?  Allocates nothing; tells a body cJSON could not parse
 * from cJSON running out of memory (exposed for fuzzing).
 */
bool eotp_api_json_well_formed(const char *body, size_t len);

/*
 * A token as the service's ids and channel names are: 1 to max characters
 * of letters, digits, '-' and '_' (message ids, channels, state fields).
 */
bool eotp_api_token_ok(const char *s, size_t max);

/* Map a service error code to an EOTP_E_* value for op. */
int eotp_api_map_code(long code, long http_status, enum eotp_api_op op);

/* Hint for an administrator about a service error code (never NULL). */
const char *eotp_api_code_hint(long code);

/*
 * JSON text builder with escaping into a bounded, wipeable buffer, for
 * request bodies that hold codes.
 */
struct eotp_jbuf {
    char *buf;
    size_t len;
    size_t cap;
    bool overflow;
};
int eotp_jbuf_init(struct eotp_jbuf *jb, size_t cap);
void eotp_jbuf_raw(struct eotp_jbuf *jb, const char *s);
void eotp_jbuf_str(struct eotp_jbuf *jb, const char *s);
void eotp_jbuf_wipe(struct eotp_jbuf *jb);

/*
 * A generic call: method, path and optional JSON body; on success (HTTP
 * 2xx whose body is not an error object) *body_out receives the body
 * (wipe with eotp_http_resp_clear).  Service errors are parsed, kept
 * as the last error and mapped for op.
 */
int eotp_api_call(struct eotp_api *api, const char *method, const char *path,
                  const char *body, enum eotp_api_op op,
                  struct eotp_http_resp *body_out);

#endif
