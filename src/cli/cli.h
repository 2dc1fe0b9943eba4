/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h - the admin tool engagelab-otp: shared declarations.
 *
 * The tool follows iproute2: main() parses the global options and looks
 * the command up (exact names only) in a table; each command group lives
 * in its own cmd_*.c with its own usage text.
 */
#ifndef EOTP_CLI_H
#define EOTP_CLI_H

#include "../core/api.h"
#include "../core/cfg.h"
#include "../core/log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define EOTP_PROG "engagelab-otp"

/* Exit codes, documented in engagelab-otp(8). */
enum eotp_exit {
    EOTP_EXIT_OK = 0,      /* success */
    EOTP_EXIT_NO = 1,      /* a negative answer: not verified, invalid */
    EOTP_EXIT_USAGE = 2,   /* bad command line or invalid input */
    EOTP_EXIT_CONFIG = 3,  /* configuration or local files */
    EOTP_EXIT_NETWORK = 4, /* the API could not be reached (network, TLS) */
    EOTP_EXIT_API = 5,     /* the API refused or answered badly */
};

/* Global options, parsed before the command name. */
struct eotp_global {
    const char *config; /* -c/--config, default EOTP_DEFAULT_CONF */
    bool debug;         /* -d/--debug */
};

/* A command: the table entry of main() and of a command group. */
struct eotp_cmd {
    const char *name;
    int (*fn)(int argc, char **argv, const struct eotp_global *g);
    void (*usage)(FILE *out);
    const char *help;
};

/* Find name (exact match only) in a table of n commands, or NULL. */
const struct eotp_cmd *eotp_cli_find(const struct eotp_cmd *table, size_t n,
                                     const char *name);

/*
 * Run a command found in a table: its argv[0] becomes "prefix name" for
 * messages, and getopt starts afresh.  Returns its exit code.
 */
int eotp_cli_run(const struct eotp_cmd *c, const char *prefix, int argc,
                 char **argv, const struct eotp_global *g);

/*
 * Commands.  argv[0] is the command's full name ("engagelab-otp send"),
 * so that getopt's messages name it; option parsing starts afresh.
 */
int eotp_cmd_templates(int argc, char **argv, const struct eotp_global *g);
int eotp_cmd_send(int argc, char **argv, const struct eotp_global *g);
int eotp_cmd_send_code(int argc, char **argv, const struct eotp_global *g);
int eotp_cmd_verify(int argc, char **argv, const struct eotp_global *g);
int eotp_cmd_message(int argc, char **argv, const struct eotp_global *g);
int eotp_cmd_lookup(int argc, char **argv, const struct eotp_global *g);
int eotp_cmd_doctor(int argc, char **argv, const struct eotp_global *g);
int eotp_cmd_test(int argc, char **argv, const struct eotp_global *g);
int eotp_cmd_callback(int argc, char **argv, const struct eotp_global *g);
int eotp_cmd_state(int argc, char **argv, const struct eotp_global *g);
int eotp_cmd_rescue(int argc, char **argv, const struct eotp_global *g);

/* Usage texts (out is stdout for --help, stderr after a usage error). */
void eotp_usage_templates(FILE *out);
void eotp_usage_send(FILE *out);
void eotp_usage_send_code(FILE *out);
void eotp_usage_verify(FILE *out);
void eotp_usage_message(FILE *out);
void eotp_usage_lookup(FILE *out);
void eotp_usage_doctor(FILE *out);
void eotp_usage_test(FILE *out);
void eotp_usage_callback(FILE *out);
void eotp_usage_state(FILE *out);
void eotp_usage_rescue(FILE *out);

/* ---- helpers (cli_util.c) ----------------------------------------------- */

/* The one table from a core result (EOTP_OK or EOTP_E_*) to an exit code. */
int eotp_cli_exit_code(int err);

/* "engagelab-otp: " + message + newline on stderr. */
void eotp_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A logger writing sanitised lines to stderr (debug lines with -d). */
void eotp_cli_logger(const struct eotp_global *g, struct eotp_logger *lg);

/*
 * Load and validate the config file; problems are reported on stderr.
 * Returns an exit code: EOTP_EXIT_OK or EOTP_EXIT_CONFIG.
 */
int eotp_cli_load_config(const struct eotp_global *g, struct eotp_cfg *cfg);

/*
 * The name the module uses for the account typed as user: the passwd
 * entry's pw_name when the system knows user (a directory that ignores
 * case finds "ALICE" for alice), else user as typed, so that a removed
 * account's state can still be shown or reset.  buf (buflen bytes, at
 * least EOTP_USER_NAME_MAX + 1) may receive the name; *known (may be
 * NULL) tells whether the system knows the user.  Every command that
 * takes a USER goes through this.
 */
const char *eotp_cli_account_name(const char *user, char *buf, size_t buflen,
                                  bool *known);

/* An API client for cfg; returns an exit code. */
int eotp_cli_api_open(const struct eotp_cfg *cfg, struct eotp_api **api);

/*
 * Report a failed API call on stderr: the service's numeric code and
 * sanitised message with a hint, or the transport error.  Returns the
 * exit code for err.
 */
int eotp_cli_api_fail(struct eotp_api *api, const char *what, int err);

/* Repeated --param k=v options. */
#define EOTP_CLI_MAX_PARAMS 32
struct eotp_cli_params {
    struct eotp_kv kv[EOTP_CLI_MAX_PARAMS];
    size_t n;
};

/* Add "k=v" (k non-empty, unique); returns 0 or EOTP_EXIT_USAGE. */
int eotp_cli_param_add(struct eotp_cli_params *p, char *arg);

/* Parse a whole number in [min, max] for option name; exit code. */
int eotp_cli_number(const char *name, const char *s, long min, long max,
                    long *out);

/*
 * Read one line from the terminal with echo off (/dev/tty if it can be
 * opened, else standard input), after showing prompt on the same
 * terminal (or stderr).  *answer is malloc'd; wipe with
 * eotp_str_wipe_free().  Returns 0, or EOTP_E_CONV on end of input.
 */
int eotp_cli_read_secret(const char *prompt, char **answer);

/*
 * Ask a yes/no question when standard input is a terminal.  Returns 1
 * for yes, 0 for no, -1 when there is no terminal to ask on.
 */
int eotp_cli_confirm(const char *question);

/* Overwrite an argv string in place (it may show in ps). */
void eotp_cli_scrub_arg(char *arg);

/* Print a usage text (given as a NULL-terminated list of lines). */
void eotp_cli_print_lines(FILE *out, const char *const *lines);

/*
 * After getopt_long returned '?': point at the command's --help and
 * return EOTP_EXIT_USAGE.  argv0 is the command's full name.
 */
int eotp_cli_bad_option(const char *argv0);

/* Wrong number of arguments: message, hint, EOTP_EXIT_USAGE. */
int eotp_cli_usage_error(const char *argv0, const char *what);

#endif
