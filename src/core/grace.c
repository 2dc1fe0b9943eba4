/* SPDX-License-Identifier: Apache-2.0 */
/*
 * grace.c - binding of a grace period to user, service, rhost and key.
 */
#include "grace.h"

#include "err.h"
#include "keyed.h"
#include "secret.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

/* SHA-256 hex of the "publickey ..." lines of SSH_AUTH_INFO_0. */
static int key_lines_digest(const char *info, char hex[EOTP_HEX256])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const char *p = info;
    bool ok;

    if (ctx == NULL) {
        return EOTP_E_NOMEM;
    }
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    while (ok && *p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        size_t end = len;

        while (end > 0 && (p[end - 1] == '\r' || p[end - 1] == ' ' ||
                           p[end - 1] == '\t')) {
            end--;
        }
        if (end > 10 && strncmp(p, "publickey ", 10) == 0) {
            ok = EVP_DigestUpdate(ctx, p, end) == 1 &&
                 EVP_DigestUpdate(ctx, "\n", 1) == 1;
        }
        p += len;
        if (*p == '\n') {
            p++;
        }
    }
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        return EOTP_E_INTERNAL;
    }
    eotp_hex_encode(md, 32, hex);
    return EOTP_OK;
}

int eotp_grace_binding(const unsigned char key[EOTP_HOSTKEY_LEN],
                       const struct eotp_login *login, char hex[EOTP_HEX256])
{
    char keys[EOTP_HEX256] = "-";
    const char *parts[5];
    int r;

    if (login->ssh_auth_info != NULL) {
        r = key_lines_digest(login->ssh_auth_info, keys);
        if (r != EOTP_OK) {
            return r;
        }
    }
    parts[0] = "grace-v1";
    parts[1] = login->user;
    parts[2] = login->service != NULL ? login->service : "";
    parts[3] = login->rhost != NULL ? login->rhost : "";
    parts[4] = keys;
    return eotp_keyed_hash(key, parts, 5, hex);
}

bool eotp_grace_find(const struct eotp_state *st, const char *mac, long period,
                     long long now, long long *since)
{
    bool found = false;

    if (period <= 0) {
        return false;
    }
    for (size_t i = 0; i < st->ngrace; i++) {
        const struct eotp_grace *g = &st->grace[i];
        long long age = now - g->time;

        /* Every entry is compared, in constant time. */
        if (eotp_consttime_memeq(g->mac, mac, 64) && age >= 0 &&
            age < period) {
            *since = g->time;
            found = true;
        }
    }
    return found;
}

void eotp_grace_put(struct eotp_state *st, const char *mac, long long now)
{
    size_t o = 0;

    for (size_t i = 0; i < st->ngrace; i++) {
        if (strcmp(st->grace[i].mac, mac) != 0) {
            st->grace[o++] = st->grace[i];
        }
    }
    st->ngrace = o;
    if (st->ngrace == EOTP_GRACE_MAX) {
        memmove(&st->grace[0], &st->grace[1],
                (EOTP_GRACE_MAX - 1) * sizeof(st->grace[0]));
        st->ngrace--;
    }
    (void)snprintf(st->grace[st->ngrace].mac,
                   sizeof(st->grace[st->ngrace].mac), "%s", mac);
    st->grace[st->ngrace].time = now;
    st->ngrace++;
}
