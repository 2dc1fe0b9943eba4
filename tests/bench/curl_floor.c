/* SPDX-License-Identifier: Apache-2.0 */
/*
 * curl_floor - the floor for the login benchmark: the same two HTTPS calls
 * a login makes, with bare libcurl and nothing else (no PAM, no config, no
 * user map, no state).  One handle per login, reused for both calls, with
 * the module's TLS settings (https only, TLS >= 1.2, peer and host
 * verification, ca_file, no proxy, no signals).
 *
 *   curl_floor --url BASE --ca CA --key KEY --secret SECRET --to DEST
 *              --template ID --outbox FILE [--repeat N]
 *
 * 1. POST /v1/messages, 2. the code the mock delivered to DEST (outbox),
 * 3. POST /v1/verifications; the answer must say verified.  Prints
 * "logins=N ok=K median_ms=M" and exits 0 when every login verified.
 */
#include "floor_calls.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* The last code delivered to `to` in the outbox after byte *offset. */
static int outbox_code(const char *outbox, const char *to, long *offset,
                       char *code, size_t codelen)
{
    FILE *f = fopen(outbox, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int found = -1;

    if (f == NULL || fseek(f, *offset, SEEK_SET) != 0) {
        if (f != NULL) {
            fclose(f);
        }
        return -1;
    }
    while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
        cJSON *j = cJSON_ParseWithLength(line, (size_t)n);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "to");
        const cJSON *cd = cJSON_GetObjectItemCaseSensitive(j, "code");

        *offset += (long)n;
        if (cJSON_IsString(t) && strcmp(t->valuestring, to) == 0 &&
            cJSON_IsString(cd) && strlen(cd->valuestring) < codelen) {
            memcpy(code, cd->valuestring, strlen(cd->valuestring) + 1);
            found = 0;
        }
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    return found;
}

static int login(const char *base, const char *ca, const char *userpwd,
                 const char *to, const char *tpl, const char *outbox,
                 long *offset)
{
    struct curl_slist *hdrs = NULL;
    CURL *c = floor_handle(ca, userpwd, &hdrs);
    char msgid[128];
    char code[64];
    int ok = -1;

    if (c != NULL && floor_send(c, base, to, tpl, msgid, sizeof(msgid)) == 0 &&
        outbox_code(outbox, to, offset, code, sizeof(code)) == 0 &&
        floor_verify(c, base, msgid, code) == 0) {
        ok = 0;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return ok;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *ca = NULL, *key = NULL, *secret = NULL;
    const char *to = NULL, *tpl = NULL, *outbox = NULL;
    long repeat = 1;
    long okn = 0;
    long offset = 0;
    char userpwd[512];
    double *ms;
    struct stat st;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--url") == 0) {
            url = argv[i + 1];
        } else if (strcmp(argv[i], "--ca") == 0) {
            ca = argv[i + 1];
        } else if (strcmp(argv[i], "--key") == 0) {
            key = argv[i + 1];
        } else if (strcmp(argv[i], "--secret") == 0) {
            secret = argv[i + 1];
        } else if (strcmp(argv[i], "--to") == 0) {
            to = argv[i + 1];
        } else if (strcmp(argv[i], "--template") == 0) {
            tpl = argv[i + 1];
        } else if (strcmp(argv[i], "--outbox") == 0) {
            outbox = argv[i + 1];
        } else if (strcmp(argv[i], "--repeat") == 0) {
            repeat = strtol(argv[i + 1], NULL, 10);
        }
    }
    if (url == NULL || ca == NULL || key == NULL || secret == NULL ||
        to == NULL || tpl == NULL || outbox == NULL || repeat < 1) {
        fprintf(stderr, "curl_floor: missing options (see the source)\n");
        return 2;
    }
    snprintf(userpwd, sizeof(userpwd), "%s:%s", key, secret);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return 1;
    }
    if (stat(outbox, &st) == 0) {
        offset = (long)st.st_size;
    }
    ms = calloc((size_t)repeat, sizeof(double));
    if (ms == NULL) {
        return 1;
    }
    for (long i = 0; i < repeat; i++) {
        double t0 = now_ms();

        if (login(url, ca, userpwd, to, tpl, outbox, &offset) == 0) {
            okn++;
        }
        ms[i] = now_ms() - t0;
    }
    qsort(ms, (size_t)repeat, sizeof(double), cmp);
    printf("logins=%ld ok=%ld median_ms=%.2f\n", repeat, okn, ms[repeat / 2]);
    free(ms);
    return okn == repeat ? 0 : 1;
}
