/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_lookup.c - "lookup USER": the destination the module would use.
 */
#include "cli.h"

#include "../core/dest.h"
#include "../core/err.h"
#include "../core/lookup.h"
#include "../core/policy.h"
#include "../core/usermap.h"

#include <getopt.h>
#include <string.h>

static const char *const usage_lines[] = {
    "Usage: " EOTP_PROG " lookup USER [--show]",
    "",
    "Show the destination(s) the module would send USER's code to, and",
    "where they came from (the sources of user_sources in order: the user",
    "map and its line, or the directory and its attribute).  Destinations",
    "are masked unless --show is given.  Exit status 1 when USER has none.",
    "",
    "Options:",
    "  --show      show destinations in full",
    "  -h, --help  show this help",
    NULL};

void eotp_usage_lookup(FILE *out)
{
    eotp_cli_print_lines(out, usage_lines);
}

static const char *kind_name(const char *dest)
{
    switch (eotp_dest_classify(dest)) {
    case EOTP_DEST_PHONE:
        return "phone";
    case EOTP_DEST_EMAIL:
        return "email";
    default:
        return "invalid";
    }
}

int eotp_cmd_lookup(int argc, char **argv, const struct eotp_global *g)
{
    static const struct option opts[] = {
        {"show", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct eotp_dests dests = {{NULL}, 0, 0};
    struct eotp_logger lg;
    struct eotp_cfg cfg;
    char source[EOTP_FIELD_MAX + 64];
    char canon[EOTP_USER_NAME_MAX + 1];
    const char *name;
    bool known;
    char user[EOTP_FIELD_MAX];
    bool show = false;
    int opt;
    int rc;
    int r;

    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 's') {
            show = true;
        } else if (opt == 'h') {
            eotp_usage_lookup(stdout);
            return EOTP_EXIT_OK;
        } else {
            return eotp_cli_bad_option(argv[0]);
        }
    }
    if (argc - optind != 1 || argv[optind][0] == '\0') {
        return eotp_cli_usage_error(argv[0], "expects one USER");
    }
    /* As the module does: the account's own name when the system knows it. */
    name = eotp_cli_account_name(argv[optind], canon, sizeof(canon), &known);
    eotp_sanitize(user, sizeof(user), name, false);
    rc = eotp_cli_load_config(g, &cfg);
    if (rc != EOTP_EXIT_OK) {
        return rc;
    }
    eotp_cli_logger(g, &lg);
    source[0] = '\0';
    r = eotp_lookup_dests(&cfg, name, &lg, &dests, source, sizeof(source));
    if (r == EOTP_E_UNMAPPED) {
        (void)printf("user: %s\n", user);
        (void)printf("destination: none (no user source knows %s)\n", user);
        rc = EOTP_EXIT_NO;
        goto out;
    }
    if (r != EOTP_OK) {
        eotp_cli_err("lookup %s: %s", user, eotp_strerror(r));
        rc = eotp_cli_exit_code(r);
        goto out;
    }
    (void)printf("user: %s\n", user);
    for (size_t i = 0; i < dests.n; i++) {
        char masked[EOTP_MASK_MAX];
        char safe[EOTP_MASK_MAX];

        if (show) {
            eotp_sanitize(safe, sizeof(safe), dests.dest[i], false);
        } else {
            eotp_dest_mask(dests.dest[i], masked, sizeof(masked));
            eotp_sanitize(safe, sizeof(safe), masked, false);
        }
        (void)printf("destination: %s (%s%s)\n", safe,
                     kind_name(dests.dest[i]),
                     i == 0 ? ", primary" : ", alternative");
    }
    (void)printf("source: %s\n", source);
    if (!known) {
        eotp_cli_err("warning: %s is not a user on this system; the module "
                     "refuses unknown users",
                     user);
    }
    rc = EOTP_EXIT_OK;
out:
    eotp_dests_free(&dests);
    eotp_cfg_free(&cfg);
    return rc;
}
