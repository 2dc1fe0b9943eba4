/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_callback.c - "callback verify": check an X-CALLBACK-ID header.
 */
#include "cli.h"

#include "../core/callback.h"
#include "../core/err.h"
#include "../core/safefile.h"
#include "../core/secret.h"

#include <getopt.h>
#include <string.h>
#include <time.h>

#define SECRET_FILE_MAX 4096
#define DEFAULT_MAX_AGE 300 /* seconds; --max-age 0 turns the check off */

static const char *const usage_lines[] = {
    "Usage: " EOTP_PROG " callback verify --secret-file FILE "
    "[--max-age SECONDS] HEADER",
    "",
    "Check the X-CALLBACK-ID header of an EngageLab callback,",
    "  timestamp=T;nonce=N;username=U;signature=S",
    "(a leading 'X-CALLBACK-ID:' is allowed): S must be the lowercase hex",
    "HMAC-SHA256 of T, N and U joined, keyed with the callback secret.",
    "Exit status 0 when valid, 1 when not.",
    "",
    "Options:",
    "  --secret-file FILE   the callback secret; FILE must be a regular file",
    "                       owned by root with no group/other access (0600",
    "                       or 0400); one trailing newline is ignored",
    "  --max-age SECONDS    reject timestamps more than SECONDS away from",
    "                       now, in the past or the future (default 300);",
    "                       0 turns the check off and accepts a replayed",
    "                       header forever",
    "  -h, --help           show this help",
    NULL};

void eotp_usage_callback(FILE *out)
{
    eotp_cli_print_lines(out, usage_lines);
}

enum { OPT_SECRET_FILE = 256, OPT_MAX_AGE };

static int cb_verify(int argc, char **argv, const struct eotp_global *g)
{
    static const struct option opts[] = {
        {"secret-file", required_argument, NULL, OPT_SECRET_FILE},
        {"max-age", required_argument, NULL, OPT_MAX_AGE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum eotp_cb_status status = EOTP_CB_MALFORMED;
    const char *secret_file = NULL;
    char *secret = NULL;
    size_t secret_len = 0;
    char why[256];
    char safe[EOTP_FIELD_MAX];
    long max_age = DEFAULT_MAX_AGE;
    int opt;
    int rc;
    int r;

    (void)g;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_SECRET_FILE:
            secret_file = optarg;
            break;
        case OPT_MAX_AGE:
            if (eotp_cli_number("--max-age", optarg, 0, 100L * 365 * 86400,
                                &max_age) != EOTP_EXIT_OK) {
                return eotp_cli_bad_option(argv[0]);
            }
            break;
        case 'h':
            eotp_usage_callback(stdout);
            return EOTP_EXIT_OK;
        default:
            return eotp_cli_bad_option(argv[0]);
        }
    }
    if (secret_file == NULL) {
        return eotp_cli_usage_error(argv[0],
                                    "--secret-file FILE is required (the "
                                    "secret is never taken on the command "
                                    "line)");
    }
    if (argc - optind != 1) {
        return eotp_cli_usage_error(argv[0], "expects one HEADER");
    }
    eotp_sanitize(safe, sizeof(safe), secret_file, false);
    r = eotp_safefile_read(secret_file, EOTP_SF_SECRET, SECRET_FILE_MAX,
                           &secret, &secret_len, why, sizeof(why));
    if (r != EOTP_OK) {
        eotp_cli_err("secret file %s: %s%s", safe, why,
                     r == EOTP_E_CONFIG ? " (want a root-owned file with "
                                          "mode 0600)"
                                        : "");
        return EOTP_EXIT_CONFIG;
    }
    eotp_cb_secret_trim(secret, &secret_len);
    if (secret_len == 0 || memchr(secret, '\0', secret_len) != NULL) {
        eotp_cli_err("secret file %s: empty or holds a NUL byte", safe);
        rc = EOTP_EXIT_CONFIG;
        goto out;
    }
    r = eotp_cb_verify(argv[optind], secret, secret_len, max_age,
                       (long long)time(NULL), &status, why, sizeof(why));
    if (r == EOTP_OK) {
        (void)printf("valid\n");
        rc = EOTP_EXIT_OK;
    } else if (r == EOTP_E_CODE_WRONG) {
        (void)printf("invalid: %s: %s\n", eotp_cb_status_text(status), why);
        rc = EOTP_EXIT_NO;
    } else {
        eotp_cli_err("callback verify: %s", eotp_strerror(r));
        rc = eotp_cli_exit_code(r);
    }
out:
    eotp_freezero(secret, SECRET_FILE_MAX + 1);
    return rc;
}

static const struct eotp_cmd subcmds[] = {
    {"verify", cb_verify, eotp_usage_callback,
     "check an X-CALLBACK-ID header"},
};

int eotp_cmd_callback(int argc, char **argv, const struct eotp_global *g)
{
    const struct eotp_cmd *c;

    if (argc < 2) {
        eotp_usage_callback(stderr);
        return EOTP_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        eotp_usage_callback(stdout);
        return EOTP_EXIT_OK;
    }
    c = eotp_cli_find(subcmds, sizeof(subcmds) / sizeof(subcmds[0]), argv[1]);
    if (c == NULL) {
        eotp_cli_err("callback: unknown command '%s' (verify)", argv[1]);
        return eotp_cli_bad_option(argv[0]);
    }
    return eotp_cli_run(c, argv[0], argc - 1, argv + 1, g);
}
