/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_util.c - helpers shared by the commands of engagelab-otp.
 */
#include "cli.h"

#include "../core/err.h"
#include "../core/policy.h"
#include "../core/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

/* ---- exit codes --------------------------------------------------------- */

static const struct {
    int err;
    int code;
} exit_table[] = {
    {EOTP_OK, EOTP_EXIT_OK},
    /* A negative answer. */
    {EOTP_E_CODE_WRONG, EOTP_EXIT_NO},
    {EOTP_E_CODE_EXPIRED, EOTP_EXIT_NO},
    {EOTP_E_MAXTRIES, EOTP_EXIT_NO},
    {EOTP_E_CONV, EOTP_EXIT_NO},
    {EOTP_E_USER_UNKNOWN, EOTP_EXIT_NO},
    {EOTP_E_UNMAPPED, EOTP_EXIT_NO},
    {EOTP_E_RATE_LIMIT, EOTP_EXIT_NO},
    {EOTP_E_LOCKED, EOTP_EXIT_NO},
    {EOTP_E_IGNORE, EOTP_EXIT_NO},
    /* Configuration and the local system. */
    {EOTP_E_CONFIG, EOTP_EXIT_CONFIG},
    {EOTP_E_CONF_UNREADABLE, EOTP_EXIT_CONFIG},
    {EOTP_E_FILE, EOTP_EXIT_CONFIG},
    {EOTP_E_STATE, EOTP_EXIT_CONFIG},
    {EOTP_E_NOMEM, EOTP_EXIT_CONFIG},
    {EOTP_E_INTERNAL, EOTP_EXIT_CONFIG},
    /* The API could not be reached. */
    {EOTP_E_TRANSPORT, EOTP_EXIT_NETWORK},
    {EOTP_E_TLS, EOTP_EXIT_NETWORK},
    {EOTP_E_TIMEOUT, EOTP_EXIT_NETWORK},
    {EOTP_E_LDAP, EOTP_EXIT_NETWORK},
    /* The API answered with an error or nonsense. */
    {EOTP_E_SERVER, EOTP_EXIT_API},
    {EOTP_E_BAD_RESPONSE, EOTP_EXIT_API},
    {EOTP_E_API_AUTH, EOTP_EXIT_API},
    {EOTP_E_API_REQUEST, EOTP_EXIT_API},
    {EOTP_E_DELIVERY, EOTP_EXIT_API},
    {EOTP_E_RESEND, EOTP_EXIT_API},
    {EOTP_E_NOT_FOUND, EOTP_EXIT_API},
};

int eotp_cli_exit_code(int err)
{
    for (size_t i = 0; i < sizeof(exit_table) / sizeof(exit_table[0]); i++) {
        if (exit_table[i].err == err) {
            return exit_table[i].code;
        }
    }
    /* An unknown code is a bug in the tool: a local error. */
    return EOTP_EXIT_CONFIG;
}

/* ---- messages ------------------------------------------------------------ */

void eotp_cli_err(const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    (void)fprintf(stderr, "%s: %s\n", EOTP_PROG, line);
}

static void emit_stderr(void *ctx, int prio, const char *line)
{
    (void)ctx;
    (void)fprintf(stderr, "%s: %s%s\n", EOTP_PROG,
                  prio == LOG_DEBUG ? "debug: " : "", line);
}

void eotp_cli_logger(const struct eotp_global *g, struct eotp_logger *lg)
{
    lg->emit = emit_stderr;
    lg->ctx = NULL;
    lg->debug = g->debug;
}

int eotp_cli_bad_option(const char *argv0)
{
    (void)fprintf(stderr, "Try '%s --help'.\n", argv0);
    return EOTP_EXIT_USAGE;
}

int eotp_cli_usage_error(const char *argv0, const char *what)
{
    (void)fprintf(stderr, "%s: %s\n", argv0, what);
    return eotp_cli_bad_option(argv0);
}

void eotp_cli_print_lines(FILE *out, const char *const *lines)
{
    for (size_t i = 0; lines[i] != NULL; i++) {
        (void)fprintf(out, "%s\n", lines[i]);
    }
}

/* ---- the command tables -------------------------------------------------- */

const struct eotp_cmd *eotp_cli_find(const struct eotp_cmd *table, size_t n,
                                     const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].name, name) == 0) {
            return &table[i];
        }
    }
    return NULL;
}

int eotp_cli_run(const struct eotp_cmd *c, const char *prefix, int argc,
                 char **argv, const struct eotp_global *g)
{
    char name[128];
    char *saved = argv[0];
    int rc;

    (void)snprintf(name, sizeof(name), "%s %s", prefix, c->name);
    argv[0] = name;
    optind = 0; /* GNU getopt: start afresh */
    opterr = 1;
    rc = c->fn(argc, argv, g);
    argv[0] = saved;
    return rc;
}

/* ---- config and API ------------------------------------------------------ */

int eotp_cli_load_config(const struct eotp_global *g, struct eotp_cfg *cfg)
{
    struct eotp_logger lg;
    char safe[EOTP_FIELD_MAX];
    int r;

    eotp_cli_logger(g, &lg);
    r = eotp_cfg_init(cfg);
    if (r != EOTP_OK) {
        eotp_cli_err("%s", eotp_strerror(r));
        return EOTP_EXIT_CONFIG;
    }
    eotp_sanitize(safe, sizeof(safe), g->config, false);
    r = eotp_cfg_load_file(cfg, g->config, &lg);
    if (r == EOTP_OK) {
        r = eotp_cfg_validate(cfg, &lg);
    }
    if (r == EOTP_OK) {
        r = eotp_cfg_check_files(cfg, &lg);
    }
    if (r != EOTP_OK) {
        eotp_cli_err("cannot use the config file %s (%s); run '%s doctor' "
                     "for details",
                     safe, eotp_strerror(r), EOTP_PROG);
        eotp_cfg_free(cfg);
        return EOTP_EXIT_CONFIG;
    }
    if (g->debug) {
        cfg->debug = true;
    }
    return EOTP_EXIT_OK;
}

int eotp_cli_api_open(const struct eotp_cfg *cfg, struct eotp_api **api)
{
    int r = eotp_api_new(cfg, cfg->deadline * 1000, api);

    if (r != EOTP_OK) {
        eotp_cli_err("cannot set up the API client: %s", eotp_strerror(r));
        return eotp_cli_exit_code(r);
    }
    return EOTP_EXIT_OK;
}

int eotp_cli_api_fail(struct eotp_api *api, const char *what, int err)
{
    const struct eotp_api_error *e = api != NULL ? eotp_api_last_error(api)
                                                 : NULL;

    if (e != NULL && e->code != 0) {
        eotp_cli_err("%s: API error %ld: %s (HTTP %ld)", what, e->code,
                     e->message[0] != '\0' ? e->message : "(no message)",
                     e->http_status);
        eotp_cli_err("hint: %s", eotp_api_code_hint(e->code));
    } else if (e != NULL && e->message[0] != '\0') {
        /* An HTTP status without an error object, or an SMPP failure. */
        eotp_cli_err("%s: %s: %s", what, eotp_strerror(err), e->message);
    } else if (err == EOTP_E_TRANSPORT || err == EOTP_E_TLS ||
               err == EOTP_E_TIMEOUT) {
        char safe[256];

        eotp_sanitize(safe, sizeof(safe),
                      api != NULL ? eotp_api_transport_error(api) : "", false);
        eotp_cli_err("%s: %s%s%s", what, eotp_strerror(err),
                     safe[0] != '\0' ? ": " : "", safe);
        if (err == EOTP_E_TLS) {
            eotp_cli_err("hint: check api_url and ca_file in the config file");
        } else {
            eotp_cli_err("hint: check the network, api_url, proxy and "
                         "timeout settings");
        }
    } else {
        eotp_cli_err("%s: %s", what, eotp_strerror(err));
    }
    return eotp_cli_exit_code(err);
}

/* ---- arguments ----------------------------------------------------------- */

int eotp_cli_param_add(struct eotp_cli_params *p, char *arg)
{
    char *eq = strchr(arg, '=');

    if (eq == NULL || eq == arg) {
        eotp_cli_err("--param wants KEY=VALUE, not '%s'", arg);
        return EOTP_EXIT_USAGE;
    }
    if (p->n == EOTP_CLI_MAX_PARAMS) {
        eotp_cli_err("at most %d --param options", EOTP_CLI_MAX_PARAMS);
        return EOTP_EXIT_USAGE;
    }
    *eq = '\0';
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->kv[i].key, arg) == 0) {
            eotp_cli_err("--param %s given twice", arg);
            return EOTP_EXIT_USAGE;
        }
    }
    p->kv[p->n].key = arg;
    p->kv[p->n].value = eq + 1;
    p->n++;
    return EOTP_EXIT_OK;
}

const char *eotp_cli_account_name(const char *user, char *buf, size_t buflen,
                                  bool *known)
{
    bool k = eotp_user_lookup(user, NULL, buf, buflen) == EOTP_OK;

    if (known != NULL) {
        *known = k;
    }
    return k ? buf : user;
}

int eotp_cli_number(const char *name, const char *s, long min, long max,
                    long *out)
{
    if (eotp_parse_long(s, min, max, out) != EOTP_OK) {
        eotp_cli_err("%s wants a whole number from %ld to %ld", name, min,
                     max);
        return EOTP_EXIT_USAGE;
    }
    return EOTP_EXIT_OK;
}

void eotp_cli_scrub_arg(char *arg)
{
    eotp_memzero(arg, strlen(arg));
}

/* ---- the terminal -------------------------------------------------------- */

/* Terminal state to restore if a signal arrives while echo is off. */
static volatile sig_atomic_t tty_saved_fd = -1;
static struct termios tty_saved;

static void restore_and_reraise(int sig)
{
    if (tty_saved_fd >= 0) {
        (void)tcsetattr(tty_saved_fd, TCSANOW, &tty_saved);
    }
    (void)signal(sig, SIG_DFL);
    (void)raise(sig);
}

static const int tty_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
#define NSIG_TTY (sizeof(tty_signals) / sizeof(tty_signals[0]))

static void write_all(int fd, const char *s)
{
    size_t n = strlen(s);

    while (n > 0) {
        ssize_t w = write(fd, s, n);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

#define ANSWER_MAX 256

int eotp_cli_read_secret(const char *prompt, char **answer)
{
    struct sigaction sa;
    struct sigaction old[NSIG_TTY];
    struct termios noecho;
    char *buf = NULL;
    size_t n = 0;
    bool got_any = false;
    bool echo_off = false;
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    int in = tty >= 0 ? tty : STDIN_FILENO;
    int out = tty >= 0 ? tty : STDERR_FILENO;
    int r = EOTP_E_CONV;

    buf = calloc(1, ANSWER_MAX + 1);
    if (buf == NULL) {
        r = EOTP_E_NOMEM;
        goto out;
    }
    if (isatty(in) && tcgetattr(in, &tty_saved) == 0) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = restore_and_reraise;
        (void)sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < NSIG_TTY; i++) {
            (void)sigaction(tty_signals[i], &sa, &old[i]);
        }
        tty_saved_fd = in;
        noecho = tty_saved;
        noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
        noecho.c_lflag |= ECHONL;
        echo_off = tcsetattr(in, TCSANOW, &noecho) == 0;
    }
    write_all(out, prompt);
    for (;;) {
        char c;
        ssize_t got = read(in, &c, 1);

        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        got_any = true;
        if (c == '\n') {
            break;
        }
        if (n < ANSWER_MAX) {
            buf[n++] = c;
        }
        c = 0;
    }
    if (tty_saved_fd >= 0) {
        if (echo_off) {
            (void)tcsetattr(in, TCSANOW, &tty_saved);
        }
        tty_saved_fd = -1;
        for (size_t i = 0; i < NSIG_TTY; i++) {
            (void)sigaction(tty_signals[i], &old[i], NULL);
        }
    }
    if (!echo_off) {
        /* Nothing ended the prompt's line (no terminal echo). */
        write_all(out, "\n");
    }
    if (!got_any) {
        goto out;
    }
    if (n > 0 && buf[n - 1] == '\r') {
        buf[--n] = '\0';
    }
    *answer = buf;
    buf = NULL;
    r = EOTP_OK;
out:
    if (buf != NULL) {
        eotp_freezero(buf, ANSWER_MAX + 1);
    }
    if (tty >= 0) {
        (void)close(tty);
    }
    return r;
}

int eotp_cli_confirm(const char *question)
{
    char buf[16];
    size_t n = 0;

    if (!isatty(STDIN_FILENO)) {
        return -1;
    }
    (void)fprintf(stderr, "%s [y/N] ", question);
    (void)fflush(stderr);
    for (;;) {
        char c;
        ssize_t got = read(STDIN_FILENO, &c, 1);

        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0 || c == '\n') {
            break;
        }
        if (n + 1 < sizeof(buf)) {
            buf[n++] = c;
        }
    }
    buf[n] = '\0';
    return strcasecmp(buf, "y") == 0 || strcasecmp(buf, "yes") == 0 ? 1 : 0;
}
