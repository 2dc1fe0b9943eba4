/* SPDX-License-Identifier: Apache-2.0 */
/*
 * failalloc.c - allocation-failure injection for the torture module
 * (make torture; see tests/alloc/test_torture.sh).
 *
 * Linked only into build-torture/torture/pam_engagelab_otp.so with
 * -Wl,--wrap=malloc,calloc,realloc,strdup,strndup: every allocation the
 * module's own code (src/core and src/pam) makes goes through here, and
 * the Nth of them (N from EOTP_FAIL_AT, counted from 1 per process)
 * fails.  Allocations inside libpam, libcurl, OpenSSL, cJSON and libc are
 * not counted: --wrap only rewrites references in the objects of this
 * link, so the count is deterministic (no TLS library internals) and N
 * walks through exactly our own error paths.  That is why this is a link
 * wrap rather than an interposed malloc in the harness.
 *
 * Three library calls that allocate where --wrap cannot reach are
 * counted too, and fail the way they fail when their own allocation
 * does: cJSON_ParseWithLength() returns NULL, curl_easy_init() returns
 * NULL, curl_easy_perform() returns CURLE_OUT_OF_MEMORY.  (A failure deep
 * inside OpenSSL during the handshake cannot be told from a TLS error by
 * libcurl; see tests/fuzz/RESULTS.md.)
 *
 * At exit one line goes to stderr:
 *   failalloc: calls=C fail_at=N
 * and the failing call is named when it happens:
 *   failalloc: failing call N malloc(SIZE) at pam_engagelab_otp.so+0xOFF
 * (addr2line -e build-torture/torture/pam_engagelab_otp.so 0xOFF).
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
cJSON *__real_cJSON_ParseWithLength(const char *value, size_t len);
cJSON *__wrap_cJSON_ParseWithLength(const char *value, size_t len);
CURL *__real_curl_easy_init(void);
CURL *__wrap_curl_easy_init(void);
CURLcode __real_curl_easy_perform(CURL *curl);
CURLcode __wrap_curl_easy_perform(CURL *curl);

static unsigned long calls;
static long fail_at = -1; /* -1: not read yet, 0: never fail */

static void where(const char *fn, size_t n, const void *ret)
{
    Dl_info info;
    const char *obj = "?";
    uintptr_t off = (uintptr_t)ret;

    if (dladdr(ret, &info) != 0 && info.dli_fname != NULL) {
        obj = strrchr(info.dli_fname, '/') != NULL
                  ? strrchr(info.dli_fname, '/') + 1
                  : info.dli_fname;
        off = (uintptr_t)ret - (uintptr_t)info.dli_fbase;
    }
    /* The return address points after the call: report the call. */
    fprintf(stderr, "failalloc: failing call %lu %s(%zu) at %s+0x%lx\n", calls,
            fn, n, obj, (unsigned long)(off - 1));
}

static int should_fail(const char *fn, size_t n, const void *ret)
{
    if (fail_at < 0) {
        const char *s = getenv("EOTP_FAIL_AT");
        char *end = NULL;

        fail_at = 0;
        if (s != NULL && *s != '\0') {
            long v = strtol(s, &end, 10);

            if (end != NULL && *end == '\0' && v > 0) {
                fail_at = v;
            }
        }
    }
    calls++;
    if (fail_at > 0 && calls == (unsigned long)fail_at) {
        where(fn, n, ret);
        return 1;
    }
    return 0;
}

__attribute__((destructor)) static void failalloc_report(void)
{
    if (fail_at >= 0) {
        fprintf(stderr, "failalloc: calls=%lu fail_at=%ld\n", calls, fail_at);
    }
}

void *__wrap_malloc(size_t n)
{
    if (should_fail("malloc", n, __builtin_return_address(0))) {
        return NULL;
    }
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (should_fail("calloc", n * size, __builtin_return_address(0))) {
        return NULL;
    }
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    if (should_fail("realloc", n, __builtin_return_address(0))) {
        return NULL; /* p stays valid, as with a real failure */
    }
    return __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    if (should_fail("strdup", strlen(s) + 1, __builtin_return_address(0))) {
        return NULL;
    }
    return __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    if (should_fail("strndup", n, __builtin_return_address(0))) {
        return NULL;
    }
    return __real_strndup(s, n);
}

cJSON *__wrap_cJSON_ParseWithLength(const char *value, size_t len)
{
    if (should_fail("cJSON_ParseWithLength", len,
                    __builtin_return_address(0))) {
        return NULL;
    }
    return __real_cJSON_ParseWithLength(value, len);
}

CURL *__wrap_curl_easy_init(void)
{
    if (should_fail("curl_easy_init", 0, __builtin_return_address(0))) {
        return NULL;
    }
    return __real_curl_easy_init();
}

CURLcode __wrap_curl_easy_perform(CURL *curl)
{
    if (should_fail("curl_easy_perform", 0, __builtin_return_address(0))) {
        return CURLE_OUT_OF_MEMORY;
    }
    return __real_curl_easy_perform(curl);
}
