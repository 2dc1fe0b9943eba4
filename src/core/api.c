/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.c - EngageLab OTP API calls, request bodies and response parsing.
 */
#include "api.h"

#include "err.h"
#include "log.h"
#include "secret.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQ_BODY_MAX 8192

struct eotp_api {
    struct eotp_http *http;
    struct eotp_api_error last;
};

/* ---- JSON text builder ------------------------------------------------ */

int eotp_jbuf_init(struct eotp_jbuf *jb, size_t cap)
{
    jb->buf = calloc(1, cap);
    jb->len = 0;
    jb->cap = cap;
    jb->overflow = false;
    return jb->buf != NULL ? EOTP_OK : EOTP_E_NOMEM;
}

static void jbuf_putc(struct eotp_jbuf *jb, char c)
{
    if (jb->len + 1 >= jb->cap) {
        jb->overflow = true;
        return;
    }
    jb->buf[jb->len++] = c;
    jb->buf[jb->len] = '\0';
}

void eotp_jbuf_raw(struct eotp_jbuf *jb, const char *s)
{
    for (; *s != '\0'; s++) {
        jbuf_putc(jb, *s);
    }
}

void eotp_jbuf_str(struct eotp_jbuf *jb, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    jbuf_putc(jb, '"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            jbuf_putc(jb, '\\');
            jbuf_putc(jb, (char)c);
        } else if (c < 0x20 || c == 0x7f) {
            jbuf_putc(jb, '\\');
            jbuf_putc(jb, 'u');
            jbuf_putc(jb, '0');
            jbuf_putc(jb, '0');
            jbuf_putc(jb, hex[c >> 4]);
            jbuf_putc(jb, hex[c & 15]);
        } else {
            jbuf_putc(jb, (char)c);
        }
    }
    jbuf_putc(jb, '"');
}

void eotp_jbuf_wipe(struct eotp_jbuf *jb)
{
    eotp_freezero(jb->buf, jb->cap);
    jb->buf = NULL;
    jb->len = jb->cap = 0;
}

/* ---- parsing helpers -------------------------------------------------- */

/* Wipe every string value in a tree (answers echo codes). */
static void wipe_tree(cJSON *j)
{
    for (; j != NULL; j = j->next) {
        if (j->valuestring != NULL) {
            eotp_memzero(j->valuestring, strlen(j->valuestring));
        }
        if (j->child != NULL) {
            wipe_tree(j->child); /* depth bounded by cJSON's limit */
        }
    }
}

static void wipe_delete(cJSON *j)
{
    if (j != NULL) {
        if (j->valuestring != NULL) {
            eotp_memzero(j->valuestring, strlen(j->valuestring));
        }
        wipe_tree(j->child);
        cJSON_Delete(j);
    }
}

/* A string member of bounded length, or NULL. */
static const char *get_str(const cJSON *obj, const char *name, size_t max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    if (!cJSON_IsString(v) || v->valuestring == NULL ||
        strlen(v->valuestring) > max) {
        return NULL;
    }
    return v->valuestring;
}

bool eotp_api_token_ok(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max) {
        return false;
    }
    for (; *s != '\0'; s++) {
        char c = *s;
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                  (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static const char *ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    return p;
}

/* Skip a JSON string starting at '"'; returns the byte after it or NULL. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\') {
            p++;
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return NULL;
}

static bool is_delim(char c)
{
    return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' ||
           c == '\r' || c == '\n';
}

/* Skip any JSON value; returns the byte after it or NULL. */
static const char *skip_value(const char *p, const char *end)
{
    int depth = 0;

    if (p >= end) {
        return NULL;
    }
    if (*p == '"') {
        return skip_string(p, end);
    }
    if (*p != '{' && *p != '[') {
        while (p < end && !is_delim(*p)) {
            p++;
        }
        return p;
    }
    while (p < end) {
        if (*p == '"') {
            p = skip_string(p, end);
            if (p == NULL) {
                return NULL;
            }
            continue;
        }
        if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            depth--;
            if (depth == 0) {
                return p + 1;
            }
        }
        p++;
    }
    return NULL;
}

/*
 * The raw digits of a top-level integer member, for a message_id sent as a
 * JSON number: converting it to a double would lose digits (the ids exceed
 * 2^53), so the text is read from the body itself.
 */
static bool raw_top_level_integer(const char *body, size_t len,
                                  const char *key, char *out, size_t outlen)
{
    const char *p = body;
    const char *end = body + len;
    size_t klen = strlen(key);

    p = ws(p, end);
    if (p >= end || *p != '{') {
        return false;
    }
    p++;
    for (;;) {
        const char *kstart;
        const char *kend;

        p = ws(p, end);
        if (p >= end || *p != '"') {
            return false;
        }
        kstart = p + 1;
        p = skip_string(p, end);
        if (p == NULL) {
            return false;
        }
        kend = p - 1;
        p = ws(p, end);
        if (p >= end || *p != ':') {
            return false;
        }
        p = ws(p + 1, end);
        if ((size_t)(kend - kstart) == klen &&
            memcmp(kstart, key, klen) == 0) {
            size_t n = 0;

            while (p + n < end && p[n] >= '0' && p[n] <= '9') {
                n++;
            }
            if (n == 0 || n >= outlen || (p + n < end && !is_delim(p[n]))) {
                return false;
            }
            memcpy(out, p, n);
            out[n] = '\0';
            return true;
        }
        p = skip_value(p, end);
        if (p == NULL) {
            return false;
        }
        p = ws(p, end);
        if (p >= end || *p != ',') {
            return false;
        }
        p++;
    }
}

#define JSON_DEPTH_MAX 1000 /* cJSON's CJSON_NESTING_LIMIT */

static bool json_ws(char c)
{
    return (unsigned char)c <= 32; /* what cJSON skips */
}

/*
 * A JSON string at '"' whose escapes cJSON accepts; the byte after it or
 * NULL.  As in cJSON the end is the first '"' not after a backslash, and
 * a backslash-u escape needs four more bytes before it (cJSON reads bad
 * hex digits as U+0000).
 */
static const char *json_string(const char *p, const char *end)
{
    const char *close = skip_string(p, end);

    if (close == NULL) {
        return NULL;
    }
    close--; /* the closing quote */
    for (p++; p < close; p++) {
        if (*p != '\\') {
            continue;
        }
        p++;
        if (*p == 'u') {
            if (close - p < 5) {
                return NULL;
            }
            p += 4;
        } else if (*p == '\0' || strchr("\"\\/bfnrt", *p) == NULL) {
            return NULL;
        }
    }
    return close + 1;
}

/*
 * Does body start with a well-formed JSON value?  Allocates nothing.  It
 * only tells why cJSON_ParseWithLength() failed: on a well-formed body
 * the failure was cJSON running out of memory, and that must never pass
 * for a bad answer of the service (a service failure, which failmode=open
 * turns into a bypass).  Where it is laxer than cJSON (the shape of
 * numbers, surrogate pairs) such a body counts as out of memory: the
 * login fails closed.
 */
bool eotp_api_json_well_formed(const char *p, size_t len)
{
    const char *end = p + len;
    char stack[JSON_DEPTH_MAX];
    size_t depth = 0;

    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3; /* cJSON skips a UTF-8 byte order mark */
    }
    for (;;) {
        /* A value. */
        while (p < end && json_ws(*p)) {
            p++;
        }
        if (p >= end) {
            return false;
        }
        if (*p == '{' || *p == '[') {
            if (depth == JSON_DEPTH_MAX) {
                return false;
            }
            stack[depth++] = *p++;
            while (p < end && json_ws(*p)) {
                p++;
            }
            if (p < end && (*p == '}' || *p == ']')) {
                if (*p != (stack[depth - 1] == '{' ? '}' : ']')) {
                    return false;
                }
                depth--;
                p++;
                goto after_value;
            }
            if (stack[depth - 1] == '[') {
                continue;
            }
            goto member;
        }
        if (*p == '"') {
            p = json_string(p, end);
            if (p == NULL) {
                return false;
            }
        } else if (end - p >= 4 &&
                   (memcmp(p, "true", 4) == 0 || memcmp(p, "null", 4) == 0)) {
            p += 4;
        } else if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            p += 5;
        } else if (*p == '-' || *p == '+' || *p == '.' ||
                   (*p >= '0' && *p <= '9')) {
            while (p < end &&
                   ((*p >= '0' && *p <= '9') || *p == '+' || *p == '-' ||
                    *p == '.' || *p == 'e' || *p == 'E')) {
                p++;
            }
        } else {
            return false;
        }
    after_value:
        for (;;) {
            if (depth == 0) {
                return true; /* cJSON ignores what follows */
            }
            while (p < end && json_ws(*p)) {
                p++;
            }
            if (p >= end) {
                return false;
            }
            if (*p == (stack[depth - 1] == '{' ? '}' : ']')) {
                depth--;
                p++;
                continue;
            }
            if (*p != ',') {
                return false;
            }
            p++;
            break;
        }
        if (stack[depth - 1] == '[') {
            continue;
        }
    member:
        /* "key" : then the value. */
        while (p < end && json_ws(*p)) {
            p++;
        }
        if (p >= end || *p != '"') {
            return false;
        }
        p = json_string(p, end);
        if (p == NULL) {
            return false;
        }
        while (p < end && json_ws(*p)) {
            p++;
        }
        if (p >= end || *p != ':') {
            return false;
        }
        p++;
    }
}

/*
 * The body as a JSON object, or NULL with *err EOTP_E_BAD_RESPONSE (not
 * JSON, or not an object) or EOTP_E_NOMEM (cJSON could not allocate).
 */
static cJSON *parse_object(const char *body, size_t len, int *err)
{
    cJSON *j;

    *err = EOTP_E_BAD_RESPONSE;
    if (body == NULL || len == 0) {
        return NULL;
    }
    j = cJSON_ParseWithLength(body, len);
    if (j == NULL && eotp_api_json_well_formed(body, len)) {
        *err = EOTP_E_NOMEM;
    }
    if (j != NULL && !cJSON_IsObject(j)) {
        wipe_delete(j);
        return NULL;
    }
    return j;
}

/* ---- parsers ---------------------------------------------------------- */

static bool channel_ok(const char *c)
{
    return strcmp(c, "sms") == 0 || strcmp(c, "whatsapp") == 0 ||
           strcmp(c, "email") == 0 || strcmp(c, "voice") == 0;
}

int eotp_api_parse_send(const char *body, size_t len,
                        struct eotp_send_resp *out)
{
    struct eotp_send_resp res;
    int r = EOTP_E_BAD_RESPONSE;
    cJSON *j = parse_object(body, len, &r);
    const cJSON *idv;
    const char *ch;

    memset(&res, 0, sizeof(res));
    if (j == NULL) {
        return r;
    }
    idv = cJSON_GetObjectItemCaseSensitive(j, "message_id");
    if (cJSON_IsString(idv)) {
        if (idv->valuestring == NULL ||
            !eotp_api_token_ok(idv->valuestring, EOTP_MSGID_MAX)) {
            goto out;
        }
        (void)snprintf(res.message_id, sizeof(res.message_id), "%s",
                       idv->valuestring);
    } else if (cJSON_IsNumber(idv)) {
        /* Documented as a string; take a number's exact digits. */
        if (!raw_top_level_integer(body, len, "message_id", res.message_id,
                                   sizeof(res.message_id))) {
            goto out;
        }
    } else {
        goto out;
    }
    ch = get_str(j, "send_channel", EOTP_CHANNEL_MAX);
    if (ch != NULL && channel_ok(ch)) {
        (void)snprintf(res.channel, sizeof(res.channel), "%s", ch);
    }
    *out = res;
    r = EOTP_OK;
out:
    wipe_delete(j);
    return r;
}

int eotp_api_parse_verify(const char *body, size_t len, const char *message_id,
                          bool *verified)
{
    int r = EOTP_E_BAD_RESPONSE;
    cJSON *j = parse_object(body, len, &r);
    const cJSON *v;
    const cJSON *idv;

    if (j == NULL) {
        return r;
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "verified");
    if (!cJSON_IsBool(v)) {
        /* Never read "true", 1 or anything else as a yes. */
        goto out;
    }
    /* If the answer names a message, it must be ours. */
    idv = cJSON_GetObjectItemCaseSensitive(j, "message_id");
    if (idv != NULL) {
        char raw[EOTP_MSGID_MAX + 1];

        if (cJSON_IsString(idv)) {
            if (idv->valuestring == NULL ||
                strcmp(idv->valuestring, message_id) != 0) {
                goto out;
            }
        } else if (cJSON_IsNumber(idv)) {
            if (!raw_top_level_integer(body, len, "message_id", raw,
                                       sizeof(raw)) ||
                strcmp(raw, message_id) != 0) {
                goto out;
            }
        } else {
            goto out;
        }
    }
    *verified = cJSON_IsTrue(v);
    r = EOTP_OK;
out:
    wipe_delete(j);
    return r;
}

int eotp_api_map_code(long code, long http_status, enum eotp_api_op op)
{
    switch (code) {
    case 1000:
        return EOTP_E_SERVER;
    case 2001:
    case 2002:
    case 2004:
        return EOTP_E_API_AUTH;
    case 3001:
    case 3002:
        return EOTP_E_API_REQUEST;
    case 3003:
        return op == EOTP_OP_VERIFY ? EOTP_E_CODE_EXPIRED : EOTP_E_API_REQUEST;
    case 3004:
        return op == EOTP_OP_SEND ? EOTP_E_RESEND : EOTP_E_API_REQUEST;
    case 4001:
        if (op == EOTP_OP_VERIFY) {
            return EOTP_E_CODE_EXPIRED;
        }
        return op == EOTP_OP_TEMPLATE ? EOTP_E_NOT_FOUND : EOTP_E_API_REQUEST;
    case 5016:
        /* "Internal sending error", retryable: the service's fault. */
        return EOTP_E_SERVER;
    default:
        break;
    }
    if (code >= 5001 && code <= 5099) {
        return EOTP_E_DELIVERY;
    }
    if (http_status >= 500) {
        return EOTP_E_SERVER;
    }
    if (http_status == 401 || http_status == 403) {
        return EOTP_E_API_AUTH;
    }
    return EOTP_E_API_REQUEST;
}

const char *eotp_api_code_hint(long code)
{
    switch (code) {
    case 1000:
        return "the service had an internal error; try again later";
    case 2001:
        return "check dev_key and dev_secret in the config file";
    case 2002:
        return "the API key has expired or was disabled; create a new one "
               "in the console";
    case 2004:
        return "this API key may not call this API; check its permissions";
    case 3001:
        return "the request was not valid JSON (a bug: please report it)";
    case 3002:
        return "a request parameter was refused; check the destination and "
               "template settings";
    case 3003:
        return "the code expired or was already used, or the template is "
               "not usable";
    case 3004:
        return "a code sent to this destination is still valid; wait for it "
               "to expire";
    case 4001:
        return "no such template or message id; check template_id";
    case 5011:
    case 5020:
        return "the phone number is not valid; check the user map";
    case 5013:
        return "the number is blacklisted";
    case 5019:
        return "the recipient has unsubscribed";
    default:
        break;
    }
    if (code >= 5001 && code <= 5099) {
        return "the message could not be delivered";
    }
    return "see the EngageLab error code table";
}

int eotp_api_parse_error(long http_status, const char *body, size_t len,
                         enum eotp_api_op op, struct eotp_api_error *err)
{
    int perr = EOTP_E_BAD_RESPONSE;
    cJSON *j = parse_object(body, len, &perr);
    const cJSON *code = NULL;
    const cJSON *msg = NULL;

    memset(err, 0, sizeof(*err));
    err->http_status = http_status;
    if (j == NULL && perr == EOTP_E_NOMEM) {
        /* Our failure, not the service's: never one for failmode. */
        (void)snprintf(err->message, sizeof(err->message),
                       "HTTP %ld: out of memory reading the answer",
                       http_status);
        return EOTP_E_NOMEM;
    }
    if (j != NULL) {
        code = cJSON_GetObjectItemCaseSensitive(j, "code");
        msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    }
    if (code != NULL && cJSON_IsNumber(code) && code->valuedouble >= 0 &&
        code->valuedouble < 1e9 &&
        code->valuedouble == (double)(long)code->valuedouble) {
        err->code = (long)code->valuedouble;
        if (cJSON_IsString(msg) && msg->valuestring != NULL) {
            eotp_sanitize(err->message, sizeof(err->message), msg->valuestring,
                          false);
            /* It is quoted in key="value" log fields. */
            for (char *p = err->message; *p != '\0'; p++) {
                if (*p == '"' || *p == '\\') {
                    *p = '\'';
                }
            }
        }
        wipe_delete(j);
        return eotp_api_map_code(err->code, http_status, op);
    }
    wipe_delete(j);
    (void)snprintf(err->message, sizeof(err->message),
                   "HTTP %ld without an error object", http_status);
    if (http_status >= 500) {
        return EOTP_E_SERVER;
    }
    if (http_status == 401 || http_status == 403) {
        return EOTP_E_API_AUTH;
    }
    return EOTP_E_BAD_RESPONSE;
}

/*
 * A 2xx body that is an object carrying a non-zero integer "code" and no
 * other sign of success is an error in disguise (some clients treat any
 * "code" as an error).  Create and delete answer {"code":0} on success.
 * Returns 1 for such a body, 0 otherwise, EOTP_E_NOMEM when it could not
 * be told.
 */
static int error_object(const char *body, size_t len)
{
    int perr = EOTP_E_BAD_RESPONSE;
    cJSON *j = parse_object(body, len, &perr);
    const cJSON *code;
    int res = 0;

    if (j == NULL) {
        return perr == EOTP_E_NOMEM ? EOTP_E_NOMEM : 0;
    }
    code = cJSON_GetObjectItemCaseSensitive(j, "code");
    if (code != NULL && (!cJSON_IsNumber(code) || code->valuedouble != 0)) {
        res = 1;
    }
    wipe_delete(j);
    return res;
}

/* ---- calls ------------------------------------------------------------ */

int eotp_api_new(const struct eotp_cfg *cfg, long deadline_ms,
                 struct eotp_api **out)
{
    struct eotp_http_opts o;
    struct eotp_api *api = calloc(1, sizeof(*api));
    int r;

    if (api == NULL) {
        return EOTP_E_NOMEM;
    }
    memset(&o, 0, sizeof(o));
    o.base_url = cfg->api_url;
    o.ca_file = cfg->ca_file;
    o.proxy = cfg->proxy;
    o.user = cfg->dev_key;
    o.secret = cfg->dev_secret;
    o.connect_timeout_ms = cfg->connect_timeout * 1000;
    o.timeout_ms = cfg->timeout * 1000;
    o.deadline_ms = deadline_ms;
    r = eotp_http_new(&o, &api->http);
    if (r != EOTP_OK) {
        free(api);
        return r;
    }
    *out = api;
    return EOTP_OK;
}

void eotp_api_free(struct eotp_api *api)
{
    if (api == NULL) {
        return;
    }
    eotp_http_free(api->http);
    free(api);
}

const struct eotp_api_error *eotp_api_last_error(const struct eotp_api *api)
{
    return &api->last;
}

void eotp_api_note_error(struct eotp_api *api, const char *text)
{
    memset(&api->last, 0, sizeof(api->last));
    (void)snprintf(api->last.message, sizeof(api->last.message), "%s", text);
}

const char *eotp_api_transport_error(const struct eotp_api *api)
{
    return eotp_http_last_error(api->http);
}

struct eotp_http *eotp_api_http(struct eotp_api *api)
{
    return api->http;
}

int eotp_api_call(struct eotp_api *api, const char *method, const char *path,
                  const char *body, enum eotp_api_op op,
                  struct eotp_http_resp *body_out)
{
    struct eotp_http_resp resp = {0, NULL, 0};
    int r;
    int eo;

    memset(&api->last, 0, sizeof(api->last));
    r = eotp_http_request(api->http, method, path, body, &resp);
    if (r != EOTP_OK) {
        return r;
    }
    if (resp.status < 200 || resp.status > 299) {
        if (resp.status >= 300 && resp.status <= 399) {
            /* Redirects are never followed. */
            memset(&api->last, 0, sizeof(api->last));
            api->last.http_status = resp.status;
            (void)snprintf(api->last.message, sizeof(api->last.message),
                           "HTTP %ld redirect refused", resp.status);
            r = EOTP_E_BAD_RESPONSE;
        } else {
            r = eotp_api_parse_error(resp.status, resp.body, resp.len, op,
                                     &api->last);
        }
        eotp_http_resp_clear(&resp);
        return r;
    }
    eo = error_object(resp.body, resp.len);
    if (eo < 0) {
        eotp_http_resp_clear(&resp);
        return eo;
    }
    if (eo == 1) {
        r = eotp_api_parse_error(resp.status, resp.body, resp.len, op,
                                 &api->last);
        eotp_http_resp_clear(&resp);
        /* A 2xx status with a non-zero code: never a success. */
        return r == EOTP_OK ? EOTP_E_BAD_RESPONSE : r;
    }
    *body_out = resp;
    return EOTP_OK;
}

static void add_params(struct eotp_jbuf *jb, const struct eotp_kv *params,
                       size_t n)
{
    eotp_jbuf_raw(jb, ",\"params\":{");
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            eotp_jbuf_raw(jb, ",");
        }
        eotp_jbuf_str(jb, params[i].key);
        eotp_jbuf_raw(jb, ":");
        eotp_jbuf_str(jb, params[i].value);
    }
    eotp_jbuf_raw(jb, "}");
}

int eotp_api_send(struct eotp_api *api, const struct eotp_send_req *req,
                  struct eotp_send_resp *out)
{
    struct eotp_jbuf jb;
    struct eotp_http_resp resp = {0, NULL, 0};
    int r = eotp_jbuf_init(&jb, REQ_BODY_MAX);

    if (r != EOTP_OK) {
        return r;
    }
    eotp_jbuf_raw(&jb, "{\"to\":");
    eotp_jbuf_str(&jb, req->to);
    if (req->code != NULL) {
        eotp_jbuf_raw(&jb, ",\"code\":");
        eotp_jbuf_str(&jb, req->code);
    }
    eotp_jbuf_raw(&jb, ",\"template\":{\"id\":");
    eotp_jbuf_str(&jb, req->template_id);
    if (req->language != NULL) {
        eotp_jbuf_raw(&jb, ",\"language\":");
        eotp_jbuf_str(&jb, req->language);
    }
    if (req->nparams > 0) {
        add_params(&jb, req->params, req->nparams);
    }
    eotp_jbuf_raw(&jb, "}}");
    if (jb.overflow) {
        r = EOTP_E_API_REQUEST;
        goto out;
    }
    r = eotp_api_call(api, "POST",
                      req->code != NULL ? "/v1/codes" : "/v1/messages", jb.buf,
                      EOTP_OP_SEND, &resp);
    if (r != EOTP_OK) {
        goto out;
    }
    r = eotp_api_parse_send(resp.body, resp.len, out);
out:
    eotp_http_resp_clear(&resp);
    eotp_jbuf_wipe(&jb);
    return r;
}

int eotp_api_verify(struct eotp_api *api, const char *message_id,
                    const char *code, bool *verified)
{
    struct eotp_jbuf jb;
    struct eotp_http_resp resp = {0, NULL, 0};
    int r = eotp_jbuf_init(&jb, REQ_BODY_MAX);

    if (r != EOTP_OK) {
        return r;
    }
    eotp_jbuf_raw(&jb, "{\"message_id\":");
    eotp_jbuf_str(&jb, message_id);
    eotp_jbuf_raw(&jb, ",\"verify_code\":");
    eotp_jbuf_str(&jb, code);
    eotp_jbuf_raw(&jb, "}");
    if (jb.overflow) {
        r = EOTP_E_API_REQUEST;
        goto out;
    }
    r = eotp_api_call(api, "POST", "/v1/verifications", jb.buf, EOTP_OP_VERIFY,
                      &resp);
    if (r != EOTP_OK) {
        goto out;
    }
    r = eotp_api_parse_verify(resp.body, resp.len, message_id, verified);
out:
    eotp_http_resp_clear(&resp);
    eotp_jbuf_wipe(&jb);
    return r;
}

int eotp_api_custom_message(struct eotp_api *api, const char *const *to,
                            size_t nto, const char *template_id,
                            const struct eotp_kv *params, size_t nparams,
                            struct eotp_send_resp *out)
{
    struct eotp_jbuf jb;
    struct eotp_http_resp resp = {0, NULL, 0};
    int r;

    if (nto == 0) {
        return EOTP_E_API_REQUEST;
    }
    r = eotp_jbuf_init(&jb, REQ_BODY_MAX);
    if (r != EOTP_OK) {
        return r;
    }
    eotp_jbuf_raw(&jb, "{\"to\":");
    if (nto == 1) {
        eotp_jbuf_str(&jb, to[0]);
    } else {
        eotp_jbuf_raw(&jb, "[");
        for (size_t i = 0; i < nto; i++) {
            if (i > 0) {
                eotp_jbuf_raw(&jb, ",");
            }
            eotp_jbuf_str(&jb, to[i]);
        }
        eotp_jbuf_raw(&jb, "]");
    }
    eotp_jbuf_raw(&jb, ",\"template\":{\"id\":");
    eotp_jbuf_str(&jb, template_id);
    if (nparams > 0) {
        add_params(&jb, params, nparams);
    }
    eotp_jbuf_raw(&jb, "}}");
    if (jb.overflow) {
        r = EOTP_E_API_REQUEST;
        goto out;
    }
    r = eotp_api_call(api, "POST", "/v1/custom-messages", jb.buf,
                      EOTP_OP_MESSAGE, &resp);
    if (r != EOTP_OK) {
        goto out;
    }
    r = eotp_api_parse_send(resp.body, resp.len, out);
out:
    eotp_http_resp_clear(&resp);
    eotp_jbuf_wipe(&jb);
    return r;
}
