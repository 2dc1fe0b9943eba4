/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_template.c - template endpoints and local validation of create
 * bodies.
 */
#include "api_template.h"

#include "dest.h"
#include "err.h"
#include "log.h"
#include "secret.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RENDER_MAX ((size_t)1024 * 1024)

/* ---- strings ---------------------------------------------------------- */

/* Characters (code points) of a valid UTF-8 string; false if invalid. */
static bool utf8_chars(const char *str, size_t *chars)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t c = 0;

    while (*s != '\0') {
        size_t n = eotp_utf8_len(s);

        if (n == 0) {
            return false;
        }
        s += n;
        c++;
    }
    *chars = c;
    return true;
}

static bool has_ctl(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return true;
        }
    }
    return false;
}

/*
 * Make a string safe to print inside JSON, in place: invalid UTF-8, DEL
 * and C1 controls become '?'.  C0 controls stay (cJSON escapes them).
 */
static void fix_string(char *str)
{
    unsigned char *s = (unsigned char *)str;
    unsigned char *o = s;

    while (*s != '\0') {
        size_t n = eotp_utf8_len(s);

        if (n == 0 || *s == 0x7f || eotp_utf8_is_c1(s, n)) {
            *o++ = '?';
            s += n == 0 ? 1 : n;
            continue;
        }
        memmove(o, s, n);
        o += n;
        s += n;
    }
    *o = '\0';
}

static void fix_tree(cJSON *j)
{
    for (; j != NULL; j = j->next) {
        if (j->string != NULL) {
            fix_string(j->string);
        }
        if (cJSON_IsString(j) && j->valuestring != NULL) {
            fix_string(j->valuestring);
        }
        if (j->child != NULL) {
            fix_tree(j->child); /* depth bounded by cJSON's nesting limit */
        }
    }
}

/* ---- a growing text buffer -------------------------------------------- */

struct sbuf {
    char *p;
    size_t len;
    size_t cap;
    bool failed;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
    if (b->failed) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap == 0 ? 1024 : b->cap;
        char *np;

        while (ncap < b->len + n + 1) {
            ncap *= 2;
        }
        if (ncap > RENDER_MAX) {
            b->failed = true;
            return;
        }
        np = realloc(b->p, ncap);
        if (np == NULL) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    if (b->p == NULL) {
        b->failed = true; /* cannot happen once cap > 0 */
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    sb_putn(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Text for a terminal: newline and tab written as \n and \t, other
 * controls, invalid UTF-8 and C1 controls as '?'. */
static void sb_text(struct sbuf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;

    while (*s != '\0') {
        size_t n = eotp_utf8_len(s);

        if (*s == '\n') {
            sb_puts(b, "\\n");
        } else if (*s == '\t') {
            sb_puts(b, "\\t");
        } else if (n == 0 || *s < 0x20 || *s == 0x7f ||
                   eotp_utf8_is_c1(s, n)) {
            sb_puts(b, "?");
        } else {
            sb_putn(b, (const char *)s, n);
        }
        s += n == 0 ? 1 : n;
    }
}

/* ---- parsing answers -------------------------------------------------- */

/* Parse len bytes (need not be terminated) as JSON; NULL when invalid. */
static cJSON *parse_json(const char *body, size_t len)
{
    char *copy;
    cJSON *j;

    if (body == NULL || len == 0 || memchr(body, '\0', len) != NULL) {
        return NULL;
    }
    copy = malloc(len + 1);
    if (copy == NULL) {
        return NULL;
    }
    memcpy(copy, body, len);
    copy[len] = '\0';
    /* Length including the NUL: trailing garbage is an error. */
    j = cJSON_ParseWithLengthOpts(copy, len + 1, NULL, true);
    free(copy);
    return j;
}

static const cJSON *member(const cJSON *obj, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(obj, name);
}

/* A number that is an integer in [min, max]. */
static bool int_value(const cJSON *v, double min, double max, long long *out)
{
    double d;

    if (v == NULL || !cJSON_IsNumber(v)) {
        return false;
    }
    d = v->valuedouble;
    /* The range is checked first, so the conversion cannot overflow
     * (min and max are within +-1e15). */
    if (!(d >= min && d <= max) || d != (double)(long long)d) {
        return false;
    }
    *out = (long long)d;
    return true;
}

static void copy_text(char *dst, size_t dstlen, const cJSON *v)
{
    if (cJSON_IsString(v) && v->valuestring != NULL) {
        eotp_sanitize(dst, dstlen, v->valuestring, false);
    } else {
        dst[0] = '\0';
    }
}

static int fill_info(const cJSON *o, struct eotp_tpl_info *t)
{
    const cJSON *id = member(o, "template_id");
    const cJSON *vcc = member(o, "verify_code_config");
    long long n = 0;
    size_t chars = 0;

    memset(t, 0, sizeof(*t));
    if (!cJSON_IsObject(o) || !cJSON_IsString(id) || id->valuestring == NULL ||
        id->valuestring[0] == '\0' || !utf8_chars(id->valuestring, &chars) ||
        chars > EOTP_TPL_ID_MAX) {
        return EOTP_E_BAD_RESPONSE;
    }
    eotp_sanitize(t->id, sizeof(t->id), id->valuestring, false);
    copy_text(t->description, sizeof(t->description),
              member(o, "description"));
    copy_text(t->strategy, sizeof(t->strategy),
              member(o, "send_channel_strategy"));
    copy_text(t->brand, sizeof(t->brand), member(o, "brand_name"));
    copy_text(t->remark, sizeof(t->remark), member(o, "audit_remark"));
    /* A status of the wrong type is unknown, never "approved". */
    t->status = int_value(member(o, "status"), 0, 1000, &n)
                    ? (int)n
                    : EOTP_TPL_STATUS_UNKNOWN;
    t->created = int_value(member(o, "created_time"), 0, 1e15, &n) ? n : -1;
    if (cJSON_IsObject(vcc)) {
        long long a = 0;
        long long b = 0;
        long long c = 0;

        if (int_value(member(vcc, "verify_code_type"), 1, 7, &a) &&
            int_value(member(vcc, "verify_code_len"), 1, 64, &b) &&
            int_value(member(vcc, "verify_code_ttl"), 1, 1440, &c)) {
            t->has_code = true;
            t->code_type = (long)a;
            t->code_len = (long)b;
            t->code_ttl = (long)c;
        }
    }
    return EOTP_OK;
}

void eotp_tpl_list_free(struct eotp_tpl_list *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

int eotp_tpl_parse_list(const char *body, size_t len,
                        struct eotp_tpl_list *out)
{
    struct eotp_tpl_list l = {NULL, 0};
    cJSON *j = parse_json(body, len);
    const cJSON *it;
    int n;
    int r = EOTP_E_BAD_RESPONSE;

    if (!cJSON_IsArray(j)) {
        goto out;
    }
    n = cJSON_GetArraySize(j);
    if (n < 0 || n > EOTP_TPL_LIST_MAX) {
        goto out;
    }
    if (n > 0) {
        l.items = calloc((size_t)n, sizeof(*l.items));
        if (l.items == NULL) {
            r = EOTP_E_NOMEM;
            goto out;
        }
    }
    cJSON_ArrayForEach(it, j)
    {
        if (l.items == NULL || l.n >= (size_t)n) {
            /* Never more items than counted (the analyzer can't tell). */
            r = EOTP_E_BAD_RESPONSE;
            goto out;
        }
        r = fill_info(it, &l.items[l.n]);
        if (r != EOTP_OK) {
            goto out;
        }
        l.n++;
    }
    *out = l;
    l.items = NULL;
    r = EOTP_OK;
out:
    free(l.items);
    cJSON_Delete(j);
    return r;
}

int eotp_tpl_parse_one(const char *body, size_t len, struct eotp_tpl_info *out)
{
    struct eotp_tpl_info t;
    cJSON *j = parse_json(body, len);
    int r = EOTP_E_BAD_RESPONSE;

    if (cJSON_IsObject(j)) {
        r = fill_info(j, &t);
        if (r == EOTP_OK) {
            *out = t;
        }
    }
    cJSON_Delete(j);
    return r;
}

int eotp_tpl_json_clean(const char *body, size_t len, bool want_array,
                        char **out)
{
    cJSON *j = parse_json(body, len);
    char *text;
    int r = EOTP_E_BAD_RESPONSE;

    if (j == NULL || (want_array ? !cJSON_IsArray(j) : !cJSON_IsObject(j))) {
        goto out;
    }
    fix_tree(j);
    text = cJSON_Print(j);
    if (text == NULL) {
        r = EOTP_E_NOMEM;
        goto out;
    }
    *out = text;
    r = EOTP_OK;
out:
    cJSON_Delete(j);
    return r;
}

static void format_time(long long t, char *buf, size_t len)
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (t < 0 || gmtime_r(&tt, &tm) == NULL ||
        strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
        (void)snprintf(buf, len, "-");
    }
}

static void render_number(struct sbuf *b, const cJSON *v)
{
    long long n = 0;

    if (int_value(v, -1e15, 1e15, &n)) {
        sb_printf(b, "%lld", n);
    } else {
        sb_printf(b, "%g", v->valuedouble);
    }
}

static void render_node(struct sbuf *b, const cJSON *j, char *path,
                        size_t pathlen, size_t used, int depth)
{
    if (depth > 32) {
        sb_puts(b, path);
        sb_puts(b, ": (too deep)\n");
        return;
    }
    if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
        const cJSON *c;
        int i = 0;

        if (j->child == NULL) {
            sb_puts(b, path);
            sb_puts(b, cJSON_IsObject(j) ? ": {}\n" : ": []\n");
            return;
        }
        cJSON_ArrayForEach(c, j)
        {
            char seg[160];
            struct sbuf kb = {NULL, 0, 0, false};
            size_t n;

            if (cJSON_IsObject(j)) {
                sb_text(&kb, c->string != NULL ? c->string : "?");
                (void)snprintf(seg, sizeof(seg), "%s%s", used > 0 ? "." : "",
                               kb.p != NULL ? kb.p : "?");
                free(kb.p);
            } else {
                (void)snprintf(seg, sizeof(seg), "[%d]", i);
            }
            n = strlen(seg);
            if (used + n + 1 > pathlen) {
                n = pathlen - used - 1;
            }
            memcpy(path + used, seg, n);
            path[used + n] = '\0';
            render_node(b, c, path, pathlen, used + n, depth + 1);
            path[used] = '\0';
            i++;
        }
        return;
    }
    sb_puts(b, path);
    sb_puts(b, ": ");
    if (cJSON_IsString(j)) {
        sb_text(b, j->valuestring != NULL ? j->valuestring : "");
    } else if (cJSON_IsNumber(j)) {
        render_number(b, j);
        if (depth == 1 && j->string != NULL) {
            long long n = 0;

            if (strcmp(j->string, "status") == 0 &&
                int_value(j, 0, 1000, &n)) {
                sb_printf(b, " (%s)", eotp_tpl_status_text((int)n));
            } else if (strcmp(j->string, "created_time") == 0 &&
                       int_value(j, 0, 1e15, &n)) {
                char tb[64];

                format_time(n, tb, sizeof(tb));
                sb_printf(b, " (%s)", tb);
            }
        }
    } else if (cJSON_IsBool(j)) {
        sb_puts(b, cJSON_IsTrue(j) ? "true" : "false");
    } else {
        sb_puts(b, "null");
    }
    sb_puts(b, "\n");
}

int eotp_tpl_render(const char *body, size_t len, char **out)
{
    struct sbuf b = {NULL, 0, 0, false};
    char path[1024];
    cJSON *j = parse_json(body, len);
    int r = EOTP_E_BAD_RESPONSE;

    if (!cJSON_IsObject(j)) {
        goto out;
    }
    path[0] = '\0';
    render_node(&b, j, path, sizeof(path), 0, 0);
    if (b.failed || b.p == NULL) {
        r = EOTP_E_NOMEM;
        goto out;
    }
    *out = b.p;
    b.p = NULL;
    r = EOTP_OK;
out:
    free(b.p);
    cJSON_Delete(j);
    return r;
}

const char *eotp_tpl_status_text(int status)
{
    switch (status) {
    case EOTP_TPL_STATUS_PENDING:
        return "Pending review";
    case EOTP_TPL_STATUS_APPROVED:
        return "Approved";
    case EOTP_TPL_STATUS_REJECTED:
        return "Rejected";
    default:
        return "Unknown";
    }
}

/* ---- calls ------------------------------------------------------------ */

int eotp_tpl_path(const char *id, char *buf, size_t buflen)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char base[] = "/v1/template-configs/";
    size_t o = sizeof(base) - 1;
    size_t chars = 0;

    if (id == NULL || id[0] == '\0' || !utf8_chars(id, &chars) ||
        chars > EOTP_TPL_ID_MAX || has_ctl(id) || buflen <= o) {
        return EOTP_E_API_REQUEST;
    }
    memcpy(buf, base, o);
    for (const unsigned char *p = (const unsigned char *)id; *p != '\0'; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
                     *p == '.' || *p == '~';

        if (o + 4 > buflen) {
            return EOTP_E_API_REQUEST;
        }
        if (plain) {
            buf[o++] = (char)*p;
        } else {
            buf[o++] = '%';
            buf[o++] = hex[*p >> 4];
            buf[o++] = hex[*p & 15];
        }
    }
    buf[o] = '\0';
    return EOTP_OK;
}

int eotp_tpl_list(struct eotp_api *api, struct eotp_tpl_list *out,
                  char **json_out)
{
    struct eotp_http_resp resp = {0, NULL, 0};
    struct eotp_tpl_list l = {NULL, 0};
    char *json = NULL;
    int r;

    r = eotp_api_call(api, "GET", "/v1/template-configs", NULL,
                      EOTP_OP_TEMPLATE, &resp);
    if (r != EOTP_OK) {
        return r;
    }
    r = eotp_tpl_parse_list(resp.body, resp.len, &l);
    if (r == EOTP_OK && json_out != NULL) {
        r = eotp_tpl_json_clean(resp.body, resp.len, true, &json);
    }
    if (r != EOTP_OK) {
        eotp_tpl_list_free(&l);
        goto out;
    }
    *out = l;
    if (json_out != NULL) {
        *json_out = json;
    }
out:
    eotp_http_resp_clear(&resp);
    return r;
}

int eotp_tpl_get(struct eotp_api *api, const char *id,
                 struct eotp_tpl_info *out, char **json_out, char **text_out)
{
    struct eotp_http_resp resp = {0, NULL, 0};
    struct eotp_tpl_info t;
    char path[sizeof("/v1/template-configs/") + 3 * 4 * EOTP_TPL_ID_MAX];
    char *json = NULL;
    char *text = NULL;
    int r = eotp_tpl_path(id, path, sizeof(path));

    if (r != EOTP_OK) {
        return r;
    }
    r = eotp_api_call(api, "GET", path, NULL, EOTP_OP_TEMPLATE, &resp);
    if (r != EOTP_OK) {
        return r;
    }
    r = eotp_tpl_parse_one(resp.body, resp.len, &t);
    if (r == EOTP_OK && json_out != NULL) {
        r = eotp_tpl_json_clean(resp.body, resp.len, false, &json);
    }
    if (r == EOTP_OK && text_out != NULL) {
        r = eotp_tpl_render(resp.body, resp.len, &text);
    }
    if (r != EOTP_OK) {
        free(json);
        free(text);
        goto out;
    }
    if (out != NULL) {
        *out = t;
    }
    if (json_out != NULL) {
        *json_out = json;
    }
    if (text_out != NULL) {
        *text_out = text;
    }
out:
    eotp_http_resp_clear(&resp);
    return r;
}

/* Create and delete answer {"code": 0, "message": "success"}. */
static int check_success(const struct eotp_http_resp *resp)
{
    cJSON *j = parse_json(resp->body, resp->len);
    const cJSON *code = cJSON_IsObject(j) ? member(j, "code") : NULL;
    long long n = -1;
    int r = EOTP_E_BAD_RESPONSE;

    if (int_value(code, 0, 0, &n) && n == 0) {
        r = EOTP_OK;
    }
    cJSON_Delete(j);
    return r;
}

int eotp_tpl_create(struct eotp_api *api, const char *json, size_t len,
                    char *why, size_t whylen)
{
    struct eotp_http_resp resp = {0, NULL, 0};
    cJSON *j = NULL;
    char *body = NULL;
    int r = eotp_tpl_validate(json, len, why, whylen);

    if (r != EOTP_OK) {
        return r;
    }
    j = parse_json(json, len);
    body = j != NULL ? cJSON_PrintUnformatted(j) : NULL;
    if (body == NULL) {
        r = EOTP_E_NOMEM;
        goto out;
    }
    r = eotp_api_call(api, "POST", "/v1/template-configs", body,
                      EOTP_OP_TEMPLATE, &resp);
    if (r == EOTP_OK) {
        r = check_success(&resp);
    }
out:
    eotp_http_resp_clear(&resp);
    free(body);
    cJSON_Delete(j);
    return r;
}

int eotp_tpl_delete(struct eotp_api *api, const char *id)
{
    struct eotp_http_resp resp = {0, NULL, 0};
    char path[sizeof("/v1/template-configs/") + 3 * 4 * EOTP_TPL_ID_MAX];
    int r = eotp_tpl_path(id, path, sizeof(path));

    if (r != EOTP_OK) {
        return r;
    }
    r = eotp_api_call(api, "DELETE", path, NULL, EOTP_OP_TEMPLATE, &resp);
    if (r == EOTP_OK) {
        r = check_success(&resp);
    }
    eotp_http_resp_clear(&resp);
    return r;
}

/* ---- local validation ------------------------------------------------- */

struct vctx {
    char *why;
    size_t whylen;
};

static int bad(struct vctx *v, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct vctx *v, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (v->whylen > 0) {
        (void)snprintf(v->why, v->whylen, "%s: %s", field, msg);
    }
    return EOTP_E_API_REQUEST;
}

static void join(char *out, size_t len, const char *prefix, const char *name)
{
    (void)snprintf(out, len, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "",
                   name);
}

/* Duplicate keys anywhere in the tree (cJSON keeps both silently). */
static int check_dups(struct vctx *v, const cJSON *j, const char *path,
                      int depth)
{
    const cJSON *a;
    int i = 0;

    if (depth > 32) {
        return bad(v, path[0] != '\0' ? path : "(top level)",
                   "nested too deeply");
    }
    cJSON_ArrayForEach(a, j)
    {
        char sub[256];
        int r;

        if (cJSON_IsObject(j)) {
            char safe[128];

            eotp_sanitize(safe, sizeof(safe), a->string, false);
            for (const cJSON *b = j->child; b != a; b = b->next) {
                if (strcmp(a->string, b->string) == 0) {
                    join(sub, sizeof(sub), path, safe);
                    return bad(v, sub, "given twice");
                }
            }
            join(sub, sizeof(sub), path, safe);
        } else {
            (void)snprintf(sub, sizeof(sub), "%s[%d]", path, i);
        }
        if (cJSON_IsObject(a) || cJSON_IsArray(a)) {
            r = check_dups(v, a, sub, depth + 1);
            if (r != EOTP_OK) {
                return r;
            }
        }
        i++;
    }
    return EOTP_OK;
}

/* Every key of obj must be in allowed[]; read_only[] names service
 * fields that may not be sent. */
static int only_keys(struct vctx *v, const cJSON *obj, const char *prefix,
                     const char *const *allowed, const char *const *read_only)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, obj)
    {
        char safe[128];
        char field[256];
        bool ok = false;

        for (size_t i = 0; allowed[i] != NULL; i++) {
            if (strcmp(c->string, allowed[i]) == 0) {
                ok = true;
                break;
            }
        }
        if (ok) {
            continue;
        }
        eotp_sanitize(safe, sizeof(safe), c->string, false);
        join(field, sizeof(field), prefix, safe);
        for (size_t i = 0; read_only != NULL && read_only[i] != NULL; i++) {
            if (strcmp(c->string, read_only[i]) == 0) {
                return bad(v, field, "is set by the service; remove it");
            }
        }
        return bad(v, field, "unknown field");
    }
    return EOTP_OK;
}

/* A string member: required or not, with a length in characters. */
static int check_string(struct vctx *v, const cJSON *obj, const char *prefix,
                        const char *name, bool required, size_t minc,
                        size_t maxc, const char **out)
{
    const cJSON *s = member(obj, name);
    char field[256];
    size_t chars = 0;

    join(field, sizeof(field), prefix, name);
    if (s == NULL) {
        if (required) {
            return bad(v, field, "is required");
        }
        *out = NULL;
        return EOTP_OK;
    }
    if (!cJSON_IsString(s) || s->valuestring == NULL) {
        return bad(v, field, "must be a string");
    }
    if (!utf8_chars(s->valuestring, &chars)) {
        return bad(v, field, "is not valid UTF-8");
    }
    if (chars < minc || chars > maxc) {
        if (minc == maxc) {
            return bad(v, field, "must be %zu characters", minc);
        }
        if (minc <= 1 && maxc == (size_t)-1) {
            return bad(v, field, "must not be empty");
        }
        if (minc == 0) {
            return bad(v, field, "must be at most %zu characters", maxc);
        }
        return bad(v, field, "must be %zu to %zu characters (it has %zu)",
                   minc, maxc, chars);
    }
    *out = s->valuestring;
    return EOTP_OK;
}

static int check_int(struct vctx *v, const cJSON *obj, const char *prefix,
                     const char *name, long min, long max, long *out)
{
    const cJSON *n = member(obj, name);
    char field[256];
    long long val = 0;

    join(field, sizeof(field), prefix, name);
    if (n == NULL) {
        return bad(v, field, "is required (an integer from %ld to %ld)", min,
                   max);
    }
    if (!cJSON_IsNumber(n) || !int_value(n, -1e15, 1e15, &val)) {
        return bad(v, field, "must be an integer from %ld to %ld", min, max);
    }
    if (val < min || val > max) {
        return bad(v, field, "must be an integer from %ld to %ld (it is %lld)",
                   min, max, val);
    }
    *out = (long)val;
    return EOTP_OK;
}

static int check_object(struct vctx *v, const cJSON *obj, const char *prefix,
                        const char *name, bool required, const cJSON **out)
{
    const cJSON *o = member(obj, name);
    char field[256];

    join(field, sizeof(field), prefix, name);
    if (o == NULL) {
        *out = NULL;
        return required ? bad(v, field, "is required (an object)") : EOTP_OK;
    }
    if (!cJSON_IsObject(o)) {
        return bad(v, field, "must be an object");
    }
    *out = o;
    return EOTP_OK;
}

static int check_bool(struct vctx *v, const cJSON *obj, const char *prefix,
                      const char *name)
{
    const cJSON *b = member(obj, name);
    char field[256];

    join(field, sizeof(field), prefix, name);
    if (b == NULL) {
        return bad(v, field, "is required (true or false)");
    }
    if (!cJSON_IsBool(b)) {
        return bad(v, field, "must be true or false");
    }
    return EOTP_OK;
}

/* An object whose values are all strings (params, pwa_config). */
static int check_str_map(struct vctx *v, const cJSON *obj, const char *field)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, obj)
    {
        char sub[256];
        char safe[128];
        size_t chars = 0;

        eotp_sanitize(safe, sizeof(safe), c->string, false);
        join(sub, sizeof(sub), field, safe);
        if (!cJSON_IsString(c) || c->valuestring == NULL) {
            return bad(v, sub, "must be a string");
        }
        if (!utf8_chars(c->valuestring, &chars)) {
            return bad(v, sub, "is not valid UTF-8");
        }
    }
    return EOTP_OK;
}

static int check_default_config(struct vctx *v, const cJSON *cfg,
                                const char *prefix)
{
    static const char *const keys[] = {"contain_security", "contain_expire",
                                       NULL};
    const cJSON *dc = NULL;
    char field[256];
    int r;

    join(field, sizeof(field), prefix, "template_default_config");
    r = check_object(v, cfg, prefix, "template_default_config", true, &dc);
    if (r == EOTP_OK) {
        r = only_keys(v, dc, field, keys, NULL);
    }
    if (r == EOTP_OK) {
        r = check_bool(v, dc, field, "contain_security");
    }
    if (r == EOTP_OK) {
        r = check_bool(v, dc, field, "contain_expire");
    }
    return r;
}

/* whatsapp_config and voice_config: template_type 1 and its defaults. */
static int check_fixed_channel(struct vctx *v, const cJSON *cfg,
                               const char *prefix)
{
    static const char *const keys[] = {"template_type",
                                       "template_default_config", NULL};
    long type = 0;
    int r = only_keys(v, cfg, prefix, keys, NULL);

    if (r == EOTP_OK) {
        r = check_int(v, cfg, prefix, "template_type", 1, 1, &type);
    }
    if (r == EOTP_OK) {
        r = check_default_config(v, cfg, prefix);
    }
    return r;
}

static int check_sms(struct vctx *v, const cJSON *cfg)
{
    static const char *const keys[] = {"template_type",
                                       "template_default_config",
                                       "template_custom_config", NULL};
    static const char *const ro[] = {"template_parts", NULL};
    static const char *const ckeys[] = {"custom_sub_type", "custom_content",
                                        "custom_country_codes", NULL};
    static const char *const cprefix = "sms_config.template_custom_config";
    const cJSON *cc = NULL;
    const char *sub = NULL;
    const char *content = NULL;
    const char *countries = NULL;
    long type = 0;
    int r = only_keys(v, cfg, "sms_config", keys, ro);

    if (r == EOTP_OK) {
        r = check_int(v, cfg, "sms_config", "template_type", 1, 2, &type);
    }
    if (r != EOTP_OK) {
        return r;
    }
    if (type == 1) {
        return check_default_config(v, cfg, "sms_config");
    }
    r = check_object(v, cfg, "sms_config", "template_custom_config", true,
                     &cc);
    if (r == EOTP_OK) {
        r = only_keys(v, cc, cprefix, ckeys, NULL);
    }
    if (r == EOTP_OK) {
        r = check_string(v, cc, cprefix, "custom_sub_type", true, 1, 64, &sub);
    }
    if (r != EOTP_OK) {
        return r;
    }
    if (strcmp(sub, "authentication") != 0 && strcmp(sub, "marketing") != 0 &&
        strcmp(sub, "utility") != 0) {
        return bad(v, "sms_config.template_custom_config.custom_sub_type",
                   "must be authentication, marketing or utility");
    }
    r = check_string(v, cc, cprefix, "custom_content", true, 1, (size_t)-1,
                     &content);
    if (r == EOTP_OK) {
        r = check_string(v, cc, cprefix, "custom_country_codes", false, 0,
                         (size_t)-1, &countries);
    }
    if (r != EOTP_OK) {
        return r;
    }
    if (strcmp(sub, "authentication") == 0 &&
        strstr(content, "{{code}}") == NULL) {
        return bad(v, "sms_config.template_custom_config.custom_content",
                   "an authentication SMS must contain {{code}}");
    }
    return EOTP_OK;
}

static bool language_ok(const char *l)
{
    static const char *const langs[] = {"default", "zh_CN", "zh_HK", "en",
                                        "ja",      "th",    "es",    NULL};

    for (size_t i = 0; langs[i] != NULL; i++) {
        if (strcmp(l, langs[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int check_email(struct vctx *v, const cJSON *cfg)
{
    static const char *const keys[] = {"template_name",
                                       "template_custom_configs", NULL};
    static const char *const ekeys[] = {
        "language",    "pre_from_name",    "pre_from_mail",
        "pre_subject", "template_content", "pre_param_map",
        NULL};
    const cJSON *list;
    const cJSON *e;
    const char *s = NULL;
    int i = 0;
    int r = only_keys(v, cfg, "email_config", keys, NULL);

    if (r == EOTP_OK) {
        r = check_string(v, cfg, "email_config", "template_name", true, 1,
                         (size_t)-1, &s);
    }
    if (r != EOTP_OK) {
        return r;
    }
    list = member(cfg, "template_custom_configs");
    if (list == NULL) {
        return EOTP_OK;
    }
    if (!cJSON_IsArray(list)) {
        return bad(v, "email_config.template_custom_configs",
                   "must be an array");
    }
    cJSON_ArrayForEach(e, list)
    {
        char p[96];
        char field[160];
        const cJSON *map = NULL;

        (void)snprintf(p, sizeof(p),
                       "email_config.template_custom_configs[%d]", i++);
        if (!cJSON_IsObject(e)) {
            return bad(v, p, "must be an object");
        }
        r = only_keys(v, e, p, ekeys, NULL);
        if (r == EOTP_OK) {
            r = check_string(v, e, p, "language", true, 1, 16, &s);
        }
        if (r != EOTP_OK) {
            return r;
        }
        if (!language_ok(s)) {
            join(field, sizeof(field), p, "language");
            return bad(v, field,
                       "must be one of default, zh_CN, zh_HK, en, ja, th, es");
        }
        r = check_string(v, e, p, "pre_from_mail", true, 1, EOTP_DEST_MAX, &s);
        if (r != EOTP_OK) {
            return r;
        }
        if (eotp_dest_classify(s) != EOTP_DEST_EMAIL) {
            join(field, sizeof(field), p, "pre_from_mail");
            return bad(v, field, "is not an email address");
        }
        r = check_string(v, e, p, "pre_subject", true, 1, (size_t)-1, &s);
        if (r == EOTP_OK) {
            r = check_string(v, e, p, "template_content", true, 1, (size_t)-1,
                             &s);
        }
        if (r == EOTP_OK) {
            r = check_string(v, e, p, "pre_from_name", false, 0, (size_t)-1,
                             &s);
        }
        if (r == EOTP_OK) {
            r = check_object(v, e, p, "pre_param_map", false, &map);
        }
        if (r == EOTP_OK && map != NULL) {
            join(field, sizeof(field), p, "pre_param_map");
            r = check_str_map(v, map, field);
        }
        if (r != EOTP_OK) {
            return r;
        }
    }
    return EOTP_OK;
}

static const char *const channel_names[] = {"whatsapp", "sms", "email",
                                            "voice", NULL};

/* Split the strategy into flags; index as channel_names. */
static int check_strategy(struct vctx *v, const char *s, bool used[4])
{
    static const char *const field = "send_channel_strategy";
    const char *p = s;
    size_t count = 0;

    memset(used, 0, 4 * sizeof(bool));
    for (;;) {
        const char *bar;

        if (p == NULL) {
            return bad(v, field, "is required");
        }
        bar = strchr(p, '|');
        size_t n = bar != NULL ? (size_t)(bar - p) : strlen(p);
        size_t i;

        for (i = 0; channel_names[i] != NULL; i++) {
            if (strlen(channel_names[i]) == n &&
                memcmp(channel_names[i], p, n) == 0) {
                break;
            }
        }
        if (channel_names[i] == NULL) {
            char name[32];

            eotp_sanitize(name, n + 1 < sizeof(name) ? n + 1 : sizeof(name), p,
                          false);
            if (n == 0) {
                return bad(v, field,
                           "has an empty channel; join whatsapp, sms, email "
                           "or voice with '|'");
            }
            return bad(v, field,
                       "unknown channel '%s'; use whatsapp, sms, email or "
                       "voice joined by '|'",
                       name);
        }
        if (used[i]) {
            return bad(v, field, "channel %s is given twice",
                       channel_names[i]);
        }
        used[i] = true;
        count++;
        if (bar == NULL) {
            break;
        }
        p = bar + 1;
    }
    if (used[2] && count > 1) {
        return bad(v, field, "email cannot be combined with other channels");
    }
    return EOTP_OK;
}

static int validate_tree(struct vctx *v, const cJSON *j)
{
    static const char *const keys[] = {"template_id",
                                       "description",
                                       "send_channel_strategy",
                                       "brand_name",
                                       "verify_code_config",
                                       "whatsapp_config",
                                       "sms_config",
                                       "voice_config",
                                       "email_config",
                                       "pwa_config",
                                       NULL};
    static const char *const ro[] = {"created_time", "status", "audit_remark",
                                     NULL};
    static const char *const vkeys[] = {"verify_code_type", "verify_code_len",
                                        "verify_code_ttl", NULL};
    static const char *const pkeys[] = {"pwa_platform", "pwa_code", NULL};
    const cJSON *vcc = NULL;
    const cJSON *pwa = NULL;
    const cJSON *cfg[4] = {NULL, NULL, NULL, NULL};
    const char *s = NULL;
    bool used[4];
    int r;

    if (!cJSON_IsObject(j)) {
        return bad(v, "(top level)", "must be a JSON object");
    }
    r = check_dups(v, j, "", 0);
    if (r == EOTP_OK) {
        r = only_keys(v, j, "", keys, ro);
    }
    if (r == EOTP_OK) {
        r = check_string(v, j, "", "template_id", true, 1, EOTP_TPL_ID_MAX,
                         &s);
    }
    if (r == EOTP_OK && has_ctl(s)) {
        r = bad(v, "template_id", "must not contain control characters");
    }
    if (r == EOTP_OK) {
        r = check_string(v, j, "", "description", false, 0, 255, &s);
    }
    if (r == EOTP_OK) {
        r = check_string(v, j, "", "send_channel_strategy", true, 1, 64, &s);
    }
    if (r == EOTP_OK) {
        r = check_strategy(v, s, used);
    }
    if (r == EOTP_OK) {
        r = check_string(v, j, "", "brand_name", false, 2, 10, &s);
    }
    if (r == EOTP_OK) {
        r = check_object(v, j, "", "verify_code_config", false, &vcc);
    }
    if (r != EOTP_OK) {
        return r;
    }
    if (vcc != NULL) {
        long type = 0;
        long len = 0;
        long ttl = 0;

        r = only_keys(v, vcc, "verify_code_config", vkeys, NULL);
        if (r == EOTP_OK) {
            r = check_int(v, vcc, "verify_code_config", "verify_code_type", 1,
                          7, &type);
        }
        if (r == EOTP_OK) {
            r = check_int(v, vcc, "verify_code_config", "verify_code_len", 4,
                          10, &len);
        }
        if (r == EOTP_OK) {
            r = check_int(v, vcc, "verify_code_config", "verify_code_ttl", 1,
                          10, &ttl);
        }
        if (r != EOTP_OK) {
            return r;
        }
        if (used[0] && ttl != 1 && ttl != 5 && ttl != 10) {
            return bad(v, "verify_code_config.verify_code_ttl",
                       "must be 1, 5 or 10 when whatsapp is in the strategy "
                       "(it is %ld)",
                       ttl);
        }
    }
    for (size_t i = 0; i < 4; i++) {
        char name[32];

        (void)snprintf(name, sizeof(name), "%s_config", channel_names[i]);
        r = check_object(v, j, "", name, used[i], &cfg[i]);
        if (r != EOTP_OK) {
            if (used[i] && member(j, name) == NULL) {
                return bad(v, name,
                           "is required because the strategy includes %s",
                           channel_names[i]);
            }
            return r;
        }
    }
    if (cfg[0] != NULL) {
        r = check_fixed_channel(v, cfg[0], "whatsapp_config");
    }
    if (r == EOTP_OK && cfg[1] != NULL) {
        r = check_sms(v, cfg[1]);
    }
    if (r == EOTP_OK && cfg[2] != NULL) {
        r = check_email(v, cfg[2]);
    }
    if (r == EOTP_OK && cfg[3] != NULL) {
        r = check_fixed_channel(v, cfg[3], "voice_config");
    }
    if (r == EOTP_OK) {
        r = check_object(v, j, "", "pwa_config", false, &pwa);
    }
    if (r == EOTP_OK && pwa != NULL) {
        r = only_keys(v, pwa, "pwa_config", pkeys, NULL);
        if (r == EOTP_OK) {
            r = check_str_map(v, pwa, "pwa_config");
        }
    }
    return r;
}

int eotp_tpl_validate(const char *json, size_t len, char *why, size_t whylen)
{
    struct vctx v = {why, whylen};
    const char *end = NULL;
    char *copy = NULL;
    cJSON *j = NULL;
    int r;

    if (whylen > 0) {
        why[0] = '\0';
    }
    if (json == NULL || len == 0) {
        return bad(&v, "(JSON)", "the input is empty");
    }
    if (len > EOTP_TPL_BODY_MAX) {
        return bad(&v, "(JSON)", "the input is larger than %d bytes",
                   EOTP_TPL_BODY_MAX);
    }
    if (memchr(json, '\0', len) != NULL) {
        return bad(&v, "(JSON)", "the input contains a NUL byte");
    }
    copy = malloc(len + 1);
    if (copy == NULL) {
        return EOTP_E_NOMEM;
    }
    memcpy(copy, json, len);
    copy[len] = '\0';
    j = cJSON_ParseWithLengthOpts(copy, len + 1, &end, true);
    if (j == NULL) {
        size_t line = 1;
        size_t col = 1;
        const char *stop = end != NULL && end >= copy && end <= copy + len
                               ? end
                               : copy + len;

        for (const char *p = copy; p < stop; p++) {
            if (*p == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        r = bad(&v, "(JSON)", "syntax error near line %zu, column %zu", line,
                col);
        goto out;
    }
    r = validate_tree(&v, j);
out:
    cJSON_Delete(j);
    free(copy);
    return r;
}

/* ---- the flag form ---------------------------------------------------- */

/* Add item to obj; item is freed when it cannot be added. */
static bool add_item(cJSON *obj, const char *name, cJSON *item)
{
    if (item == NULL) {
        return false;
    }
    if (!cJSON_AddItemToObject(obj, name, item)) {
        cJSON_Delete(item);
        return false;
    }
    return true;
}

static cJSON *default_channel(int type)
{
    cJSON *c = cJSON_CreateObject();
    cJSON *d = cJSON_CreateObject();

    if (c == NULL || d == NULL ||
        cJSON_AddNumberToObject(c, "template_type", type) == NULL ||
        cJSON_AddFalseToObject(d, "contain_security") == NULL ||
        cJSON_AddTrueToObject(d, "contain_expire") == NULL) {
        cJSON_Delete(c);
        cJSON_Delete(d);
        return NULL;
    }
    if (!add_item(c, "template_default_config", d)) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

static cJSON *sms_custom(const char *text)
{
    cJSON *c = cJSON_CreateObject();
    cJSON *cc = cJSON_CreateObject();

    if (c == NULL || cc == NULL ||
        cJSON_AddNumberToObject(c, "template_type", 2) == NULL ||
        cJSON_AddStringToObject(cc, "custom_sub_type", "authentication") ==
            NULL ||
        cJSON_AddStringToObject(cc, "custom_content", text) == NULL) {
        cJSON_Delete(c);
        cJSON_Delete(cc);
        return NULL;
    }
    if (!add_item(c, "template_custom_config", cc)) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

static bool strategy_has(const char *strategy, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = strategy; p != NULL;) {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);

        if (len == n && memcmp(p, name, n) == 0) {
            return true;
        }
        p = bar != NULL ? bar + 1 : NULL;
    }
    return false;
}

int eotp_tpl_build(const struct eotp_tpl_spec *spec, char **json, char *why,
                   size_t whylen)
{
    struct vctx v = {why, whylen};
    cJSON *j = cJSON_CreateObject();
    cJSON *vcc = cJSON_CreateObject();
    char *text;
    int r = EOTP_E_NOMEM;

    if (j == NULL || vcc == NULL || spec->id == NULL ||
        spec->channels == NULL) {
        cJSON_Delete(vcc);
        if (j != NULL && (spec->id == NULL || spec->channels == NULL)) {
            r = bad(&v,
                    spec->id == NULL ? "template_id" : "send_channel_strategy",
                    "is required");
        }
        goto out;
    }
    if (strategy_has(spec->channels, "email")) {
        cJSON_Delete(vcc);
        r = bad(&v, "email_config",
                "an email template needs sender and content settings; "
                "write it as a JSON file");
        goto out;
    }
    if (cJSON_AddStringToObject(j, "template_id", spec->id) == NULL ||
        (spec->description != NULL &&
         cJSON_AddStringToObject(j, "description", spec->description) ==
             NULL) ||
        cJSON_AddStringToObject(j, "send_channel_strategy", spec->channels) ==
            NULL ||
        (spec->brand != NULL &&
         cJSON_AddStringToObject(j, "brand_name", spec->brand) == NULL) ||
        cJSON_AddNumberToObject(vcc, "verify_code_type",
                                (double)spec->code_type) == NULL ||
        cJSON_AddNumberToObject(vcc, "verify_code_len",
                                (double)spec->code_len) == NULL ||
        cJSON_AddNumberToObject(vcc, "verify_code_ttl",
                                (double)spec->code_ttl) == NULL) {
        cJSON_Delete(vcc);
        goto out;
    }
    if (!add_item(j, "verify_code_config", vcc)) {
        goto out;
    }
    if (strategy_has(spec->channels, "whatsapp") &&
        !add_item(j, "whatsapp_config", default_channel(1))) {
        goto out;
    }
    if (strategy_has(spec->channels, "sms") &&
        !add_item(j, "sms_config",
                  spec->sms_text != NULL ? sms_custom(spec->sms_text)
                                         : default_channel(1))) {
        goto out;
    }
    if (strategy_has(spec->channels, "voice") &&
        !add_item(j, "voice_config", default_channel(1))) {
        goto out;
    }
    text = cJSON_Print(j);
    if (text == NULL) {
        goto out;
    }
    *json = text;
    r = EOTP_OK;
out:
    cJSON_Delete(j);
    return r;
}
