/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_test.c - "test USER": the module's own login flow on this terminal.
 */
#include "cli.h"

#include "../core/err.h"
#include "../core/limits.h"
#include "../core/otp.h"
#include "../core/policy.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

static const char *const usage_lines[] = {
    "Usage: " EOTP_PROG " test USER",
    "",
    "Run the module's login flow for USER: look up the destination, send a",
    "code, ask for it on this terminal (echo off; /dev/tty, or standard",
    "input without a terminal), and verify it, exactly as the module does",
    "for sshd.  Use it to prove that a user will get in before enabling",
    "the module.  Exit status 0 when the code was verified, 1 when not.",
    "The code counts as one of USER's sends (send_limit), as a login's",
    "would; this is said before sending.  After a failure it prints the",
    "wrong codes (as 'state show' counts them toward the lockout) and the",
    "answers not checked (not a code, or no new code left), which use an",
    "attempt but never count toward the lockout.",
    "",
    "Options:",
    "  -h, --help  show this help",
    NULL};

void eotp_usage_test(FILE *out)
{
    eotp_cli_print_lines(out, usage_lines);
}

static int term_prompt(void *ctx, const char *text, char **answer)
{
    (void)ctx;
    return eotp_cli_read_secret(text, answer);
}

static void term_info(void *ctx, bool error, const char *text)
{
    (void)ctx;
    (void)fprintf(stderr, "%s%s\n", error ? "error: " : "", text);
}

int eotp_cmd_test(int argc, char **argv, const struct eotp_global *g)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct eotp_conv conv = {term_prompt, term_info, NULL};
    struct eotp_login login;
    struct eotp_result res;
    struct eotp_logger lg;
    struct eotp_cfg cfg;
    char user[EOTP_FIELD_MAX];
    char canon[EOTP_USER_NAME_MAX + 1];
    const char *label;
    int opt;
    int rc;
    int r;

    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h') {
            eotp_usage_test(stdout);
            return EOTP_EXIT_OK;
        }
        return eotp_cli_bad_option(argv[0]);
    }
    if (argc - optind != 1 || argv[optind][0] == '\0') {
        return eotp_cli_usage_error(argv[0], "expects one USER");
    }
    /* eotp_authenticate() goes on with this name too; show it. */
    eotp_sanitize(user, sizeof(user),
                  eotp_cli_account_name(argv[optind], canon, sizeof(canon),
                                        NULL),
                  false);
    rc = eotp_cli_load_config(g, &cfg);
    if (rc != EOTP_EXIT_OK) {
        return rc;
    }
    eotp_cli_logger(g, &lg);
    memset(&login, 0, sizeof(login));
    login.user = argv[optind];
    login.service = EOTP_PROG;
    if (eotp_rate_on(&cfg.send_limit)) {
        eotp_cli_err("note: this sends a real code to %s and uses one of "
                     "their sends (send_limit = %ld/%ld)",
                     user, cfg.send_limit.count, cfg.send_limit.seconds);
    } else {
        eotp_cli_err("note: this sends a real code to %s (send_limit = off)",
                     user);
    }
    r = eotp_authenticate(&cfg, &login, &conv, &lg, &res);
    label = res.channel[0] != '\0' ? eotp_channel_label(res.channel) : NULL;
    (void)printf("user: %s\n", user);
    (void)printf("destination: %s\n",
                 res.masked[0] != '\0' ? res.masked : "-");
    (void)printf("channel: %s\n", label != NULL ? label : "-");
    if (res.message_id[0] != '\0') {
        (void)printf("message_id: %s%s\n", res.message_id,
                     res.reused ? " (sent earlier, reused)" : "");
    }
    if (res.delivery[0] != '\0') {
        /* Issue 14: what EngageLab last reported, seen at the prompt. */
        (void)printf("delivery: %s\n", res.delivery);
    }
    if (r == EOTP_OK) {
        (void)printf("result: verified\n");
        rc = EOTP_EXIT_OK;
    } else {
        (void)printf("result: not verified: %s\n", eotp_strerror(r));
        if (res.wrong > 0) {
            /* As state show counts them: codes checked and found wrong. */
            (void)printf("wrong codes: %d\n", res.wrong - res.unchecked);
        }
        if (res.unchecked > 0) {
            (void)printf("answers not checked: %d (not a code, or no new "
                         "code left; not counted toward the lockout)\n",
                         res.unchecked);
        }
        if (res.api_code != 0) {
            eotp_cli_err("test: %s", res.detail);
            eotp_cli_err("hint: %s", eotp_api_code_hint(res.api_code));
        } else if (res.detail[0] != '\0') {
            eotp_cli_err("test: %s", res.detail);
        }
        rc = eotp_cli_exit_code(r);
    }
    eotp_cfg_free(&cfg);
    return rc;
}
