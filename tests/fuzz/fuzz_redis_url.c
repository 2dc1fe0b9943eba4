/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_redis_url.c - redis_url / redis_sentinels items (redis.c): the
 * parser accepts or refuses without reading past the text, an accepted
 * URL has a host, a numeric port (or a unix path) and no control byte in
 * its decoded user or password, a refused one leaves nothing behind, and
 * the redacted form never shows the user info as written.
 */
#include "fuzz.h"

#include "../../src/core/err.h"
#include "../../src/core/redis_url.h"

static bool clean(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return false;
        }
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    char shown[4096];

    for (int bare = 0; bare < 2; bare++) {
        struct eotp_redis_url u;
        int r = eotp_redis_url_parse(text, bare != 0, &u);

        FUZZ_CHECK(r == EOTP_OK || r == EOTP_E_CONFIG);
        if (r != EOTP_OK) {
            FUZZ_CHECK(u.host[0] == '\0' && u.pass[0] == '\0');
            continue;
        }
        FUZZ_CHECK(u.host[0] != '\0' && clean(u.host));
        FUZZ_CHECK(clean(u.user) && clean(u.pass));
        FUZZ_CHECK(u.db >= 0 && u.db <= EOTP_REDIS_DB_MAX);
        if (u.scheme == EOTP_REDIS_UNIX) {
            FUZZ_CHECK(u.host[0] == '/' && u.port[0] == '\0');
        } else {
            long port = strtol(u.port, NULL, 10);

            FUZZ_CHECK(port >= 1 && port <= 65535);
        }
        (void)eotp_redis_url_redact(text, shown, sizeof(shown));
        FUZZ_CHECK(strnlen(shown, sizeof(shown)) < sizeof(shown));
        if (u.pass[0] != '\0' && strlen(text) + 16 < sizeof(shown)) {
            /* user:password@ is replaced as a whole. */
            FUZZ_CHECK(strstr(shown, ":<redacted>@") != NULL);
        }
    }
    free(text);
    return 0;
}
