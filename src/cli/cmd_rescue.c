/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_rescue.c - "rescue issue|list|revoke USER": one-time rescue codes
 * for when the code service cannot be used or the phone is lost
 * (issue 16; the file and the codes are rescue.c's).
 */
#include "cli.h"

#include "../core/err.h"
#include "../core/policy.h"
#include "../core/rescue.h"
#include "../core/secret.h"
#include "../core/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const usage_lines[] = {
    "Usage: " EOTP_PROG " rescue issue USER [--count N]",
    "       " EOTP_PROG " rescue list USER",
    "       " EOTP_PROG " rescue revoke USER",
    "",
    "Rescue codes let USER log in once each when the code service cannot",
    "be reached or the phone is lost: at the code prompt, or when asked",
    "\"The code service cannot be reached. Rescue code:\".",
    "",
    "issue   make N new codes (default 10, at most 20), replacing USER's",
    "        earlier set; the codes are printed on standard output, one a",
    "        line, and nothing else is; only their hashes are kept, in",
    "        rescue_file.  Hand them over on paper or another safe way.",
    "list    how many of USER's codes are unused, when they were issued and",
    "        when they expire (a set is accepted for 365 days)",
    "revoke  remove USER's codes",
    "",
    "Needs root.  With Redis, a used code is refused on every host until",
    "its set expires, and marked in the rescue file of the host where it",
    "was used.",
    "",
    "Options:",
    "  --count N   codes to issue (1 to 20, default 10)",
    "  -h, --help  show this help",
    NULL};

void eotp_usage_rescue(FILE *out)
{
    eotp_cli_print_lines(out, usage_lines);
}

enum verb { ISSUE, LIST, REVOKE };

static int fail_file(const char *what, int r, const char *why)
{
    eotp_cli_err("%s: %s (%s)", what, eotp_strerror(r), why);
    return eotp_cli_exit_code(r == EOTP_E_FILE ? EOTP_E_CONFIG : r);
}

/* Make n codes into set (hashes) and codes (text). */
static int make_codes(struct eotp_rescue_set *set, long n, char *codes,
                      size_t codeslen)
{
    size_t o = 0;

    for (long i = 0; i < n; i++) {
        char code[EOTP_RESCUE_CODE_LEN + 1];
        char canon[EOTP_RESCUE_SYMBOLS + 1];
        int r = eotp_rescue_generate(code, sizeof(code));

        if (r == EOTP_OK && !eotp_rescue_shaped(code, canon, sizeof(canon))) {
            r = EOTP_E_INTERNAL;
        }
        if (r == EOTP_OK) {
            r = eotp_rescue_hash(canon, set->hash[set->n]);
        }
        if (r == EOTP_OK && o + EOTP_RESCUE_CODE_LEN + 2 > codeslen) {
            r = EOTP_E_INTERNAL;
        }
        if (r == EOTP_OK) {
            memcpy(codes + o, code, EOTP_RESCUE_CODE_LEN);
            o += EOTP_RESCUE_CODE_LEN;
            codes[o++] = '\n';
            codes[o] = '\0';
            set->n++;
        }
        eotp_memzero(code, sizeof(code));
        eotp_memzero(canon, sizeof(canon));
        if (r != EOTP_OK) {
            return r;
        }
    }
    return EOTP_OK;
}

static int issue(const struct eotp_cfg *cfg, const char *user, long count)
{
    struct eotp_rescue_set *set = NULL;
    size_t codeslen = (size_t)EOTP_RESCUE_MAX * (EOTP_RESCUE_CODE_LEN + 1) + 1;
    char *codes = NULL;
    char why[256] = "";
    bool existed = false;
    int rc = EOTP_EXIT_CONFIG;
    int r;

    set = calloc(1, sizeof(*set));
    codes = calloc(1, codeslen);
    if (set == NULL || codes == NULL) {
        eotp_cli_err("%s", eotp_strerror(EOTP_E_NOMEM));
        goto out;
    }
    (void)snprintf(set->user, sizeof(set->user), "%s", user);
    set->issued = (long long)time(NULL);
    r = make_codes(set, count, codes, codeslen);
    if (r != EOTP_OK) {
        eotp_cli_err("cannot make rescue codes: %s", eotp_strerror(r));
        rc = eotp_cli_exit_code(r);
        goto out;
    }
    r = eotp_rescue_update(cfg->rescue_file, user, set, &existed, why,
                           sizeof(why));
    if (r != EOTP_OK) {
        rc = fail_file(cfg->rescue_file, r, why);
        goto out;
    }
    /* Only the codes on stdout; the rest on stderr. */
    if (fputs(codes, stdout) == EOF || fflush(stdout) != 0) {
        eotp_cli_err("the new codes are in %s but could not be printed; "
                     "issue again",
                     cfg->rescue_file);
        goto out;
    }
    (void)fprintf(stderr, "%ld rescue codes issued for %s%s\n", count, user,
                  existed ? " (the earlier set no longer works)" : "");
    rc = EOTP_EXIT_OK;
out:
    if (codes != NULL) {
        eotp_freezero(codes, codeslen);
    }
    if (set != NULL) {
        eotp_freezero(set, sizeof(*set));
    }
    return rc;
}

static int list(const struct eotp_cfg *cfg, const struct eotp_logger *lg,
                const char *user)
{
    struct eotp_rescue_set *set = NULL;
    struct eotp_store *store = NULL;
    char why[256] = "";
    char when[64] = "?";
    char until[64] = "?";
    bool found = false;
    size_t left = 0;
    struct tm tm;
    time_t t;
    int rc = EOTP_EXIT_CONFIG;
    int r;

    set = calloc(1, sizeof(*set));
    if (set == NULL) {
        eotp_cli_err("%s", eotp_strerror(EOTP_E_NOMEM));
        goto out;
    }
    r = eotp_rescue_load(cfg->rescue_file, user, set, &found, why,
                         sizeof(why));
    if (r != EOTP_OK) {
        rc = fail_file(cfg->rescue_file, r, why);
        goto out;
    }
    if (!found) {
        (void)printf("user: %s\nrescue codes: none\n", user);
        rc = EOTP_EXIT_OK;
        goto out;
    }
    r = eotp_store_open(cfg, lg, &store);
    if (r == EOTP_OK) {
        r = eotp_rescue_left(store, set, &left);
    }
    if (r != EOTP_OK) {
        eotp_cli_err("cannot use the state store (%s); run as root",
                     eotp_strerror(r));
        rc = eotp_cli_exit_code(r);
        goto out;
    }
    if (eotp_store_degraded(store)) {
        eotp_cli_err("warning: Redis could not be used; codes used on other "
                     "hosts are not counted, and logins accept no rescue "
                     "code until it can");
    }
    t = (time_t)set->issued;
    if (gmtime_r(&t, &tm) != NULL) {
        (void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    }
    t = (time_t)(set->issued + EOTP_RESCUE_LIFE);
    if (gmtime_r(&t, &tm) != NULL) {
        (void)strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S UTC", &tm);
    }
    (void)printf("user: %s\nissued: %s\n%s: %s\nrescue codes: %zu\n"
                 "unused: %zu\nused: %zu\n",
                 user, when,
                 eotp_rescue_expired(set->issued, (long long)time(NULL))
                     ? "expired"
                     : "expires",
                 until, set->n, left, set->n - left);
    rc = EOTP_EXIT_OK;
out:
    eotp_store_close(store);
    if (set != NULL) {
        eotp_freezero(set, sizeof(*set));
    }
    return rc;
}

static int revoke(const struct eotp_cfg *cfg, const char *user)
{
    char why[256] = "";
    bool existed = false;
    int r;

    r = eotp_rescue_update(cfg->rescue_file, user, NULL, &existed, why,
                           sizeof(why));
    if (r != EOTP_OK) {
        return fail_file(cfg->rescue_file, r, why);
    }
    (void)printf("rescue codes of %s %s\n", user,
                 existed ? "revoked" : "none (nothing to revoke)");
    return EOTP_EXIT_OK;
}

static int run(int argc, char **argv, const struct eotp_global *g,
               enum verb verb)
{
    static const struct option opts[] = {
        {"count", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct eotp_logger lg;
    struct eotp_cfg cfg;
    char canon[EOTP_USER_NAME_MAX + 1];
    char what[EOTP_FIELD_MAX];
    const char *user;
    bool known = false;
    long count = EOTP_RESCUE_DEFAULT;
    int opt;
    int rc;

    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'n' && verb == ISSUE) {
            rc = eotp_cli_number("--count", optarg, 1, EOTP_RESCUE_MAX,
                                 &count);
            if (rc != EOTP_EXIT_OK) {
                return rc;
            }
        } else if (opt == 'h') {
            eotp_usage_rescue(stdout);
            return EOTP_EXIT_OK;
        } else {
            return eotp_cli_bad_option(argv[0]);
        }
    }
    if (argc - optind != 1 || argv[optind][0] == '\0') {
        return eotp_cli_usage_error(argv[0], "expects one USER");
    }
    user = eotp_cli_account_name(argv[optind], canon, sizeof(canon), &known);
    eotp_sanitize(what, sizeof(what), user, false);
    if (verb == ISSUE &&
        (!known || strcmp(what, user) != 0 || strchr(user, ':') != NULL)) {
        eotp_cli_err("rescue issue: no such user '%s'", what);
        return EOTP_EXIT_USAGE;
    }
    rc = eotp_cli_load_config(g, &cfg);
    if (rc != EOTP_EXIT_OK) {
        return rc;
    }
    eotp_cli_logger(g, &lg);
    switch (verb) {
    case ISSUE:
        rc = issue(&cfg, user, count);
        break;
    case LIST:
        rc = list(&cfg, &lg, what);
        break;
    case REVOKE:
    default:
        rc = revoke(&cfg, user);
        break;
    }
    eotp_cfg_free(&cfg);
    return rc;
}

static int rescue_issue(int argc, char **argv, const struct eotp_global *g)
{
    return run(argc, argv, g, ISSUE);
}

static int rescue_list(int argc, char **argv, const struct eotp_global *g)
{
    return run(argc, argv, g, LIST);
}

static int rescue_revoke(int argc, char **argv, const struct eotp_global *g)
{
    return run(argc, argv, g, REVOKE);
}

static const struct eotp_cmd subcmds[] = {
    {"issue", rescue_issue, eotp_usage_rescue, "issue a new set of codes"},
    {"list", rescue_list, eotp_usage_rescue, "count a user's unused codes"},
    {"revoke", rescue_revoke, eotp_usage_rescue, "remove a user's codes"},
};

int eotp_cmd_rescue(int argc, char **argv, const struct eotp_global *g)
{
    const struct eotp_cmd *c;

    if (argc < 2) {
        eotp_usage_rescue(stderr);
        return EOTP_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        eotp_usage_rescue(stdout);
        return EOTP_EXIT_OK;
    }
    c = eotp_cli_find(subcmds, sizeof(subcmds) / sizeof(subcmds[0]), argv[1]);
    if (c == NULL) {
        eotp_cli_err("rescue: unknown command '%s' (issue, list, revoke)",
                     argv[1]);
        return eotp_cli_bad_option(argv[0]);
    }
    return eotp_cli_run(c, argv[0], argc - 1, argv + 1, g);
}
