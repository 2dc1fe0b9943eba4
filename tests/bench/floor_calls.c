/* SPDX-License-Identifier: Apache-2.0 */
/*
 * floor_calls.c - see floor_calls.h.  Deliberately minimal: no config, no
 * user lookup, no state, no input checks beyond what the calls need.
 */
#include "floor_calls.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

struct buf {
    char data[65536];
    size_t len;
};

static size_t sink(char *p, size_t size, size_t n, void *userp)
{
    struct buf *b = userp;
    size_t len = size * n;

    if (len >= sizeof(b->data) - b->len) {
        return 0;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

static int post(CURL *c, const char *base, const char *path, const char *body,
                struct buf *out)
{
    char url[1024];
    long status = 0;

    snprintf(url, sizeof(url), "%s%s", base, path);
    out->len = 0;
    out->data[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (curl_easy_perform(c) != CURLE_OK) {
        return -1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status == 200 ? 0 : -1;
}

CURL *floor_handle(const char *ca, const char *userpwd,
                   struct curl_slist **hdrs)
{
    CURL *c = curl_easy_init();

    *hdrs = NULL;
    if (c == NULL) {
        return NULL;
    }
    *hdrs = curl_slist_append(*hdrs, "Content-Type: application/json");
    *hdrs = curl_slist_append(*hdrs, "Accept: application/json");
    *hdrs = curl_slist_append(*hdrs, "Expect:");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    return c;
}

int floor_send(CURL *c, const char *base, const char *to, const char *tpl,
               char *msgid, size_t len)
{
    static struct buf resp;
    char body[1024];
    cJSON *j;
    const cJSON *v;
    int r = -1;

    snprintf(body, sizeof(body),
             "{\"to\":\"%s\",\"template\":{\"id\":\"%s\","
             "\"language\":\"default\"}}",
             to, tpl);
    if (post(c, base, "/v1/messages", body, &resp) != 0) {
        return -1;
    }
    j = cJSON_Parse(resp.data);
    v = cJSON_GetObjectItemCaseSensitive(j, "message_id");
    if (cJSON_IsString(v) && strlen(v->valuestring) < len) {
        memcpy(msgid, v->valuestring, strlen(v->valuestring) + 1);
        r = 0;
    }
    cJSON_Delete(j);
    return r;
}

int floor_verify(CURL *c, const char *base, const char *msgid,
                 const char *code)
{
    static struct buf resp;
    char body[1024];

    snprintf(body, sizeof(body),
             "{\"message_id\":\"%s\",\"verify_code\":\"%s\"}", msgid, code);
    if (post(c, base, "/v1/verifications", body, &resp) != 0) {
        return -1;
    }
    return strstr(resp.data, "\"verified\": true") != NULL ||
                   strstr(resp.data, "\"verified\":true") != NULL
               ? 0
               : -1;
}
