/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy.c - scope, contextual parameters, language and code shape.
 */
#include "policy.h"

#include "err.h"
#include "secret.h"

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_GROUPS 1024

int eotp_user_lookup(const char *user, gid_t *gid, char *canon,
                     size_t canon_len)
{
    struct passwd pw;
    struct passwd *res = NULL;
    char buf[4096];
    int r = EOTP_E_USER_UNKNOWN;

    if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) == 0 && res != NULL &&
        pw.pw_name != NULL && pw.pw_name[0] != '\0' &&
        (canon == NULL || strlen(pw.pw_name) < canon_len)) {
        if (gid != NULL) {
            *gid = pw.pw_gid;
        }
        if (canon != NULL) {
            memcpy(canon, pw.pw_name, strlen(pw.pw_name) + 1);
        }
        r = EOTP_OK;
    }
    eotp_memzero(buf, sizeof(buf));
    return r;
}

/*
 * Is the user in any group of list?  *missing is set when a named group
 * does not exist.
 */
static bool in_any_group(const char *list, const gid_t *groups, int ngroups,
                         const struct eotp_logger *lg, bool *missing,
                         char *matched, size_t matched_len)
{
    const char *cur = list;
    char name[257];

    *missing = false;
    while (eotp_list_next(&cur, name, sizeof(name))) {
        struct group gr;
        struct group *res = NULL;
        char buf[8192];
        char safe[EOTP_FIELD_MAX];

        if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 ||
            res == NULL) {
            eotp_log(lg, LOG_ERR, "policy: unknown group=%s",
                     eotp_sanitize(safe, sizeof(safe), name, true));
            *missing = true;
            continue;
        }
        for (int i = 0; i < ngroups; i++) {
            if (groups[i] == gr.gr_gid) {
                (void)snprintf(matched, matched_len, "%s", name);
                return true;
            }
        }
    }
    return false;
}

static bool prefix_match(const unsigned char *a, const unsigned char *b,
                         long bits)
{
    long full = bits / 8;
    int rest = (int)(bits % 8);

    if (memcmp(a, b, (size_t)full) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    return ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

bool eotp_policy_addr_in_list(const char *ip, const char *cidr_list)
{
    unsigned char addr[16];
    int family;
    const char *cur = cidr_list;
    char item[INET6_ADDRSTRLEN + 8];

    if (ip == NULL || cidr_list == NULL) {
        return false;
    }
    if (inet_pton(AF_INET, ip, addr) == 1) {
        family = AF_INET;
    } else if (inet_pton(AF_INET6, ip, addr) == 1) {
        family = AF_INET6;
        /* An IPv4-mapped address is matched as IPv4. */
        if (memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
            memmove(addr, addr + 12, 4);
            family = AF_INET;
        }
    } else {
        return false; /* a host name never matches */
    }
    while (eotp_list_next(&cur, item, sizeof(item))) {
        unsigned char net[16];
        char *slash = strchr(item, '/');
        long bits;
        int nfam;

        if (slash != NULL) {
            *slash = '\0';
        }
        if (inet_pton(AF_INET, item, net) == 1) {
            nfam = AF_INET;
        } else if (inet_pton(AF_INET6, item, net) == 1) {
            nfam = AF_INET6;
        } else {
            continue;
        }
        bits = nfam == AF_INET ? 32 : 128;
        if (slash != NULL &&
            eotp_parse_long(slash + 1, 0, bits, &bits) != EOTP_OK) {
            continue;
        }
        if (nfam == family && prefix_match(addr, net, bits)) {
            return true;
        }
    }
    return false;
}

int eotp_policy_check(const struct eotp_cfg *cfg,
                      const struct eotp_login *login, gid_t gid,
                      const struct eotp_logger *lg)
{
    gid_t groups[MAX_GROUPS];
    int ngroups = MAX_GROUPS;
    char user[EOTP_FIELD_MAX];
    char rhost[EOTP_FIELD_MAX];
    char matched[257] = "";
    bool missing = false;        /* a group of only_groups does not exist */
    bool missing_exempt = false; /* one of exempt_groups: exempts nobody */

    eotp_sanitize(user, sizeof(user), login->user, true);
    eotp_sanitize(rhost, sizeof(rhost), login->rhost, true);
    if (cfg->exempt_networks != NULL &&
        eotp_policy_addr_in_list(login->rhost, cfg->exempt_networks)) {
        eotp_log(lg, LOG_NOTICE,
                 "policy: exempt network, second factor skipped user=%s "
                 "rhost=%s",
                 user, rhost);
        return EOTP_E_IGNORE;
    }
    if (cfg->only_groups == NULL && cfg->exempt_groups == NULL) {
        return EOTP_OK;
    }
    if (getgrouplist(login->user, gid, groups, &ngroups) < 0) {
        /* More than MAX_GROUPS: refuse to guess. */
        return EOTP_E_CONFIG;
    }
    if (cfg->exempt_groups != NULL &&
        in_any_group(cfg->exempt_groups, groups, ngroups, lg, &missing_exempt,
                     matched, sizeof(matched))) {
        eotp_log(lg, LOG_NOTICE,
                 "policy: exempt group, second factor skipped user=%s "
                 "group=%s",
                 user, matched);
        return EOTP_E_IGNORE;
    }
    if (cfg->only_groups != NULL) {
        bool in = in_any_group(cfg->only_groups, groups, ngroups, lg, &missing,
                               matched, sizeof(matched));
        if (missing && !in) {
            /* A typo in only_groups must not switch the factor off. */
            return EOTP_E_CONFIG;
        }
        if (!in) {
            eotp_log(lg, LOG_INFO,
                     "policy: user outside only_groups, second factor "
                     "skipped user=%s",
                     user);
            return EOTP_E_IGNORE;
        }
    }
    return EOTP_OK;
}

/* Append src to dst (size EOTP_PARAM_VALUE_MAX + 1), dropping controls. */
static void append_clean(char *dst, const char *src)
{
    size_t o = strlen(dst);

    if (src == NULL) {
        return;
    }
    for (; *src != '\0' && o < EOTP_PARAM_VALUE_MAX; src++) {
        unsigned char c = (unsigned char)*src;

        dst[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    dst[o] = '\0';
}

int eotp_params_build(const struct eotp_cfg *cfg,
                      const struct eotp_login *login, struct eotp_params *out)
{
    const char *cur = cfg->params;
    char item[512];
    char host[256];

    memset(out, 0, sizeof(*out));
    if (cfg->params == NULL) {
        return EOTP_OK;
    }
    if (gethostname(host, sizeof(host)) != 0) {
        host[0] = '\0';
    }
    host[sizeof(host) - 1] = '\0';
    while (eotp_list_next(&cur, item, sizeof(item))) {
        char *eq = strchr(item, '=');
        char *value;

        if (eq == NULL || out->n == EOTP_PARAMS_MAX ||
            (size_t)(eq - item) >= sizeof(out->names[0])) {
            return EOTP_E_CONFIG;
        }
        value = out->values[out->n];
        memcpy(out->names[out->n], item, (size_t)(eq - item));
        out->names[out->n][eq - item] = '\0';
        value[0] = '\0';
        for (const char *p = eq + 1; *p != '\0'; p++) {
            char lit[2] = {*p, '\0'};

            if (*p != '%') {
                append_clean(value, lit);
                continue;
            }
            p++;
            switch (*p) {
            case 'h':
                append_clean(value, host);
                break;
            case 's':
                append_clean(value, login->service);
                break;
            case 'u':
                append_clean(value, login->user);
                break;
            case 'r':
                append_clean(value, login->rhost);
                break;
            case 'c':
                append_clean(value, login->command);
                break;
            case '%':
                append_clean(value, "%");
                break;
            default:
                return EOTP_E_CONFIG; /* cfg.c refuses these already */
            }
        }
        out->kv[out->n].key = out->names[out->n];
        out->kv[out->n].value = value;
        out->n++;
    }
    return EOTP_OK;
}

const char *eotp_policy_language(const struct eotp_cfg *cfg,
                                 const char *locale)
{
    static const struct {
        const char *prefix;
        const char *lang;
    } map[] = {
        {"zh_CN", "zh_CN"}, {"zh_SG", "zh_CN"}, {"zh_HK", "zh_HK"},
        {"zh_TW", "zh_HK"}, {"zh_MO", "zh_HK"}, {"en", "en"},
        {"ja", "ja"},       {"th", "th"},       {"es", "es"},
    };

    if (strcmp(cfg->language, "auto") != 0) {
        return cfg->language;
    }
    if (locale == NULL) {
        return "default";
    }
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        size_t n = strlen(map[i].prefix);

        /* "en" matches "en", "en_GB.UTF-8", "en.UTF-8", not "eno". */
        if (strncmp(locale, map[i].prefix, n) == 0 &&
            (locale[n] == '\0' || locale[n] == '_' || locale[n] == '.' ||
             locale[n] == '@')) {
            return map[i].lang;
        }
    }
    return "default";
}

bool eotp_policy_is_sshd_junk(const char *s)
{
    static const char junk[] = "\b\n\r\177INCORRECT";
    size_t n = sizeof(junk) - 1;

    if (s == NULL || *s == '\0') {
        return false;
    }
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (s[i] != junk[i % n]) {
            return false;
        }
    }
    return true;
}

bool eotp_policy_code_ok(const struct eotp_cfg *cfg, const char *answer)
{
    size_t n = 0;

    for (const char *p = answer; *p != '\0'; p++, n++) {
        char c = *p;
        bool ok = ((cfg->code_type & 1) != 0 && c >= '0' && c <= '9') ||
                  ((cfg->code_type & 2) != 0 && c >= 'a' && c <= 'z') ||
                  ((cfg->code_type & 4) != 0 && c >= 'A' && c <= 'Z');
        if (!ok || n >= 10) {
            return false;
        }
    }
    if (cfg->code_length != 0) {
        return n == (size_t)cfg->code_length;
    }
    return n >= 4;
}

bool eotp_policy_open_bypass(int failmode, int err, bool code_out,
                             const char **why)
{
    if (why != NULL) {
        *why = NULL;
    }
    if (failmode != EOTP_FAIL_OPEN || !eotp_err_is_service_failure(err)) {
        return false;
    }
    if (getauxval(AT_SECURE) != 0) {
        /*
         * A setuid program (sudo, su) runs with the invoking user's
         * resource limits, so that user could make TLS or memory fail on
         * purpose: failmode=open must never turn that into a bypass.
         */
        if (why != NULL) {
            *why = "failmode=open ignored in a setuid program";
        }
        return false;
    }
    if (code_out) {
        /*
         * The service was up when it sent the code: a failure after that
         * (checking the answer, a resend) is no outage that leaves the
         * user without a second factor, and letting it through would let
         * whoever can disturb the verification in with any answer.
         */
        if (why != NULL) {
            *why = "failmode=open ignored: a code was sent";
        }
        return false;
    }
    return true;
}
