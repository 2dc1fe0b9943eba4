/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_callback.c - "callback verify": check an X-CALLBACK-ID header;
 * "callback serve": the receiver (src/receiver/); "callback status": what
 * was recorded for a message id.
 */
#include "cli.h"

#include "../core/callback.h"
#include "../core/delivery.h"
#include "../core/err.h"
#include "../core/safefile.h"
#include "../core/secret.h"
#include "../core/store.h"
#include "../receiver/receiver.h"

#include <getopt.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define SECRET_FILE_MAX 4096
#define DEFAULT_MAX_AGE 300 /* seconds; --max-age 0 turns the check off */

static const char *const usage_lines[] = {
    "Usage: " EOTP_PROG " callback serve [--stderr]",
    "       " EOTP_PROG " callback status [--json] MESSAGE_ID",
    "       " EOTP_PROG " callback verify --secret-file FILE "
    "[--max-age SECONDS] HEADER",
    "",
    "serve: receive EngageLab's delivery status callbacks (POST /callback)",
    "on callback_listen (default 127.0.0.1:8787), in the foreground until",
    "SIGTERM or SIGINT.  Needs callback_username and callback_secret_file;",
    "callback_max_age, callback_auth_file, callback_tls_cert and",
    "callback_tls_key are optional.  Status rows are kept by message id in",
    "the state store (Redis when configured, else state_dir) and every row",
    "is logged to syslog (authpriv); --stderr logs to standard error",
    "instead, each line prefixed with its syslog priority (<N>).",
    "",
    "status: print the record kept for MESSAGE_ID (exit 1 when there is",
    "none); --json prints it as a JSON object.",
    "",
    "verify:",
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
    "",
    "See engagelab-otp(8) and pam_engagelab_otp.conf(5), callback_* keys.",
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

/* ---- serve -------------------------------------------------------------- */

static void emit_syslog(void *ctx, int prio, const char *line)
{
    (void)ctx;
    syslog(prio, "%s", line);
}

/* "<N>line": journald and the tests read the priority from the prefix. */
static void emit_prio_stderr(void *ctx, int prio, const char *line)
{
    (void)ctx;
    (void)fprintf(stderr, "<%d>%s\n", prio, line);
}

static int cb_serve(int argc, char **argv, const struct eotp_global *g)
{
    static const struct option opts[] = {
        {"stderr", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct eotp_logger lg;
    struct eotp_cfg cfg;
    bool to_stderr = false;
    int opt;
    int rc;
    int r;

    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            to_stderr = true;
            break;
        case 'h':
            eotp_usage_callback(stdout);
            return EOTP_EXIT_OK;
        default:
            return eotp_cli_bad_option(argv[0]);
        }
    }
    if (optind != argc) {
        return eotp_cli_usage_error(argv[0], "takes no arguments");
    }
    rc = eotp_cli_load_config(g, &cfg);
    if (rc != EOTP_EXIT_OK) {
        return rc;
    }
    lg.ctx = NULL;
    lg.debug = cfg.debug;
    if (to_stderr) {
        (void)setvbuf(stderr, NULL, _IOLBF, 0);
        lg.emit = emit_prio_stderr;
    } else {
        openlog("engagelab-otp-callback", LOG_PID, LOG_AUTHPRIV);
        lg.emit = emit_syslog;
    }
    r = eotp_recv_serve(&cfg, &lg);
    if (r != EOTP_OK) {
        eotp_cli_err("callback serve: %s", eotp_strerror(r));
    }
    if (!to_stderr) {
        closelog();
    }
    eotp_cfg_free(&cfg);
    return r == EOTP_OK ? EOTP_EXIT_OK : eotp_cli_exit_code(r);
}

/* ---- status ------------------------------------------------------------- */

static int cb_status(int argc, char **argv, const struct eotp_global *g)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct eotp_logger lg;
    struct eotp_cfg cfg;
    struct eotp_store *store = NULL;
    struct eotp_dlv d;
    bool json = false;
    bool found = false;
    const char *id;
    char when[64] = "-";
    int opt;
    int rc;
    int r;

    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'j':
            json = true;
            break;
        case 'h':
            eotp_usage_callback(stdout);
            return EOTP_EXIT_OK;
        default:
            return eotp_cli_bad_option(argv[0]);
        }
    }
    if (argc - optind != 1) {
        return eotp_cli_usage_error(argv[0], "expects one MESSAGE_ID");
    }
    id = argv[optind];
    if (strlen(id) == 0 || strlen(id) > 64 ||
        strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789_.-") != strlen(id)) {
        return eotp_cli_usage_error(argv[0],
                                    "MESSAGE_ID is 1 to 64 characters of "
                                    "A-Z a-z 0-9 _ . -");
    }
    rc = eotp_cli_load_config(g, &cfg);
    if (rc != EOTP_EXIT_OK) {
        return rc;
    }
    eotp_cli_logger(g, &lg);
    r = eotp_store_open(&cfg, &lg, &store);
    if (r == EOTP_OK) {
        r = eotp_dlv_get(store, id, &d, &found);
    }
    if (r != EOTP_OK) {
        eotp_cli_err("callback status: state store: %s", eotp_strerror(r));
        rc = eotp_cli_exit_code(r);
        goto out;
    }
    if (found && d.at > 0) {
        time_t t = (time_t)d.at;
        struct tm tm;

        if (gmtime_r(&t, &tm) != NULL) {
            (void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        }
    }
    if (json) {
        if (found) {
            (void)printf("{\"message_id\":\"%s\",\"found\":true,"
                         "\"status\":\"%s\",\"class\":\"%s\","
                         "\"channel\":\"%s\",\"at\":%lld,"
                         "\"error_code\":%ld}\n",
                         id, d.status,
                         eotp_dlv_class_name(eotp_dlv_classify(d.status)),
                         d.channel, d.at, d.error_code);
        } else {
            (void)printf("{\"message_id\":\"%s\",\"found\":false}\n", id);
        }
    } else if (found) {
        (void)printf("message_id: %s\nstatus:     %s (%s)\nchannel:    %s\n"
                     "time:       %s\nerror_code: %ld\nstore:      %s\n",
                     id, d.status,
                     eotp_dlv_class_name(eotp_dlv_classify(d.status)),
                     d.channel[0] != '\0' ? d.channel : "-", when,
                     d.error_code, eotp_store_name(store));
    } else {
        (void)printf("message_id: %s\nstatus:     none recorded (store %s)\n",
                     id, eotp_store_name(store));
    }
    rc = found ? EOTP_EXIT_OK : EOTP_EXIT_NO;
out:
    eotp_store_close(store);
    eotp_cfg_free(&cfg);
    return rc;
}

static const struct eotp_cmd subcmds[] = {
    {"serve", cb_serve, eotp_usage_callback,
     "receive delivery status callbacks"},
    {"status", cb_status, eotp_usage_callback,
     "print what was recorded for a message id"},
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
        eotp_cli_err("callback: unknown command '%s' (serve, status, verify)",
                     argv[1]);
        return eotp_cli_bad_option(argv[0]);
    }
    return eotp_cli_run(c, argv[0], argc - 1, argv + 1, g);
}
