/* SPDX-License-Identifier: Apache-2.0 */
/*
 * callback_body.c - the body of an EngageLab callback (callback_body.h).
 * With api.c, the only users of cJSON; nothing else here.
 */
#include "callback_body.h"

#include "err.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define INT_EXACT_MAX 9007199254740992.0 /* 2^53: doubles are exact below */

char *eotp_cbb_clean(char *dst, size_t dstlen, const char *src, bool no_space)
{
    size_t n = 0;

    if (dstlen == 0) {
        return dst;
    }
    for (; src != NULL && src[n] != '\0' && n + 1 < dstlen; n++) {
        unsigned char c = (unsigned char)src[n];

        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
            c = '?';
        } else if (c == ' ' && no_space) {
            c = '_';
        }
        dst[n] = (char)c;
    }
    dst[n] = '\0';
    return dst;
}

int eotp_cbb_note_prio(const char *event)
{
    if (strcmp(event, "insufficient_balance") == 0 ||
        strcmp(event, "insufficient_verification_rate") == 0) {
        return LOG_ALERT;
    }
    return LOG_NOTICE;
}

static const cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, name)
                             : NULL;
}

/* A number that is an integer in [min, max]. */
static bool int_value(const cJSON *v, double min, double max, long long *out)
{
    double d;

    if (!cJSON_IsNumber(v)) {
        return false;
    }
    d = v->valuedouble;
    if (!isfinite(d) || d < min || d > max || (double)(long long)d != d) {
        return false;
    }
    *out = (long long)d;
    return true;
}

/* Every byte of s in the set allowed by cls, length 1 to max - 1. */
static bool word_in(const char *s, size_t max, const char *extra, bool upper,
                    bool lower)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        char c = s[n];

        if (!((lower && c >= 'a' && c <= 'z') ||
              (upper && c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c != '\0' && strchr(extra, c) != NULL))) {
            return false;
        }
    }
    return n > 0 && n < max;
}

/* The message id of a row: a string of [A-Za-z0-9_.-] (1 to 64), or an
 * integer below 2^53 sent as a JSON number. */
static bool message_id(const cJSON *v, char out[EOTP_CBB_ID_MAX])
{
    long long n;

    if (cJSON_IsString(v) && v->valuestring != NULL) {
        if (!word_in(v->valuestring, EOTP_CBB_ID_MAX, "_.-", true, true)) {
            return false;
        }
        (void)snprintf(out, EOTP_CBB_ID_MAX, "%s", v->valuestring);
        return true;
    }
    if (int_value(v, 0, INT_EXACT_MAX, &n)) {
        (void)snprintf(out, EOTP_CBB_ID_MAX, "%lld", n);
        return true;
    }
    return false;
}

/* A channel name as delivery.h keeps it: [A-Za-z0-9_], other bytes
 * become '_', cut to fit; "" when v is not a non-empty string. */
static void channel(const cJSON *v, char out[EOTP_DLV_CHANNEL_MAX])
{
    size_t n = 0;

    out[0] = '\0';
    if (!cJSON_IsString(v) || v->valuestring == NULL) {
        return;
    }
    for (; v->valuestring[n] != '\0' && n + 1 < EOTP_DLV_CHANNEL_MAX; n++) {
        char c = v->valuestring[n];

        out[n] = (char)(((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9'))
                            ? c
                            : '_');
    }
    out[n] = '\0';
}

static int parse_status_row(const cJSON *row, struct eotp_cbb_status *st)
{
    const cJSON *status = member(row, "status");
    const cJSON *sdata = member(status, "status_data");
    const cJSON *ms = member(status, "message_status");
    const cJSON *billing = member(status, "billing");
    const cJSON *v;
    long long n;

    memset(st, 0, sizeof(*st));
    v = member(row, "message_id");
    if (v == NULL) {
        v = member(sdata, "message_id");
    }
    if (!message_id(v, st->message_id)) {
        return EOTP_E_BAD_RESPONSE;
    }
    if (!cJSON_IsString(ms) || ms->valuestring == NULL) {
        return EOTP_E_BAD_RESPONSE;
    }
    if (strcmp(ms->valuestring, "sent_fail") == 0) {
        (void)snprintf(st->dlv.status, sizeof(st->dlv.status), "sent_failed");
    } else if (word_in(ms->valuestring, sizeof(st->dlv.status), "_", false,
                       true) &&
               strpbrk(ms->valuestring, "0123456789") == NULL) {
        (void)snprintf(st->dlv.status, sizeof(st->dlv.status), "%s",
                       ms->valuestring);
    } else {
        return EOTP_E_BAD_RESPONSE;
    }
    channel(member(row, "channel"), st->route);
    channel(member(sdata, "current_send_channel"), st->dlv.channel);
    if (st->dlv.channel[0] == '\0') {
        (void)snprintf(st->dlv.channel, sizeof(st->dlv.channel), "%s",
                       st->route);
    }
    if (int_value(member(row, "itime"), 0, 2147483647.0, &n)) {
        st->dlv.at = n;
    }
    if (int_value(member(status, "error_code"), -2147483647.0, 2147483647.0,
                  &n)) {
        st->dlv.error_code = (long)n;
    }
    v = member(member(status, "error_detail"), "message");
    if (cJSON_IsString(v)) {
        (void)eotp_cbb_clean(st->error_message, sizeof(st->error_message),
                             v->valuestring, false);
    }
    v = member(billing, "cost");
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
        v->valuedouble > -1e12 && v->valuedouble < 1e12) {
        (void)snprintf(st->cost, sizeof(st->cost), "%.10g", v->valuedouble);
    }
    v = member(billing, "currency");
    if (cJSON_IsString(v) && v->valuestring != NULL &&
        word_in(v->valuestring, sizeof(st->currency), "", true, false)) {
        (void)snprintf(st->currency, sizeof(st->currency), "%s",
                       v->valuestring);
    }
    return EOTP_OK;
}

/* Append " key=value" for a scalar member of notification_data. */
static void detail_add(char *buf, size_t len, const cJSON *item)
{
    char key[33];
    char val[65];
    size_t off = strlen(buf);
    int n;

    if (item->string == NULL ||
        !word_in(item->string, sizeof(key), "_", false, true)) {
        return;
    }
    (void)snprintf(key, sizeof(key), "%s", item->string);
    if (cJSON_IsString(item)) {
        (void)eotp_cbb_clean(val, sizeof(val), item->valuestring, true);
        for (char *p = val; *p != '\0'; p++) {
            if (*p == '=') {
                *p = '?';
            }
        }
    } else if (cJSON_IsNumber(item) && isfinite(item->valuedouble)) {
        (void)snprintf(val, sizeof(val), "%.10g", item->valuedouble);
    } else if (cJSON_IsBool(item)) {
        (void)snprintf(val, sizeof(val), "%s",
                       cJSON_IsTrue(item) ? "true" : "false");
    } else {
        return;
    }
    if (val[0] == '\0') {
        (void)snprintf(val, sizeof(val), "-");
    }
    n = snprintf(buf + off, len - off, "%s%s=%s", off > 0 ? " " : "", key,
                 val);
    if (n < 0 || (size_t)n >= len - off) {
        buf[off] = '\0'; /* cut at an item boundary */
    }
}

static int parse_note_row(const cJSON *row, struct eotp_cbb_note *nt)
{
    const cJSON *note = member(row, "notification");
    const cJSON *ev = member(note, "event");
    const cJSON *data = member(note, "notification_data");
    const cJSON *item;
    long long n;

    memset(nt, 0, sizeof(*nt));
    if (!cJSON_IsString(ev) || ev->valuestring == NULL ||
        !word_in(ev->valuestring, sizeof(nt->event), "_", false, true)) {
        return EOTP_E_BAD_RESPONSE;
    }
    (void)snprintf(nt->event, sizeof(nt->event), "%s", ev->valuestring);
    nt->prio = eotp_cbb_note_prio(nt->event);
    if (int_value(member(row, "itime"), 0, 2147483647.0, &n)) {
        nt->at = n;
    }
    if (cJSON_IsObject(data)) {
        cJSON_ArrayForEach(item, data)
        {
            detail_add(nt->detail, sizeof(nt->detail), item);
        }
    }
    return EOTP_OK;
}

void eotp_cbb_free(struct eotp_cbb *cbb)
{
    free(cbb->status);
    free(cbb->note);
    memset(cbb, 0, sizeof(*cbb));
}

static bool blank(const char *body, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r' &&
            body[i] != '\n') {
            return false;
        }
    }
    return true;
}

int eotp_cbb_parse(const char *body, size_t len, struct eotp_cbb *out)
{
    cJSON *j = NULL;
    const char *end = NULL;
    const cJSON *rows;
    const cJSON *total;
    const cJSON *row;
    int nrows;
    int r = EOTP_E_BAD_RESPONSE;

    memset(out, 0, sizeof(*out));
    if (len > EOTP_CBB_BODY_MAX) {
        return EOTP_E_BAD_RESPONSE;
    }
    if (len == 0 || blank(body, len)) {
        out->kind = EOTP_CBB_URL_CHECK;
        return EOTP_OK;
    }
    j = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (j == NULL || end < body || end > body + len ||
        !blank(end, len - (size_t)(end - body))) {
        cJSON_Delete(j);
        /* Not JSON, or text after the document.  cJSON does not tell a
         * bad document from a failed allocation: both are refused. */
        return EOTP_E_BAD_RESPONSE;
    }
    if (!cJSON_IsObject(j)) {
        goto out;
    }
    if (j->child == NULL) {
        out->kind = EOTP_CBB_URL_CHECK;
        r = EOTP_OK;
        goto out;
    }
    rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
    total = cJSON_GetObjectItemCaseSensitive(j, "total");
    if (!cJSON_IsArray(rows) || (total != NULL && !cJSON_IsNumber(total))) {
        goto out;
    }
    nrows = cJSON_GetArraySize(rows);
    if (nrows < 0 || nrows > EOTP_CBB_ROWS_MAX) {
        goto out;
    }
    cJSON_ArrayForEach(row, rows)
    {
        if (!cJSON_IsObject(row)) {
            goto out;
        }
    }
    if (nrows > 0) {
        out->status = calloc((size_t)nrows, sizeof(*out->status));
        out->note = calloc((size_t)nrows, sizeof(*out->note));
        if (out->status == NULL || out->note == NULL) {
            r = EOTP_E_NOMEM;
            goto out;
        }
    }
    cJSON_ArrayForEach(row, rows)
    {
        if (member(row, "notification") != NULL) {
            if (parse_note_row(row, &out->note[out->nnote]) == EOTP_OK) {
                out->nnote++;
            } else {
                out->bad_rows++;
            }
        } else if (cJSON_IsObject(member(row, "status"))) {
            if (parse_status_row(row, &out->status[out->nstatus]) == EOTP_OK) {
                out->nstatus++;
            } else {
                out->bad_rows++;
            }
        } else {
            out->nother++;
        }
    }
    out->kind = EOTP_CBB_ROWS;
    r = EOTP_OK;
out:
    cJSON_Delete(j);
    if (r != EOTP_OK) {
        eotp_cbb_free(out);
    }
    return r;
}
