/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_state.c - "state show|reset USER" and "state show|reset --rhost
 * ADDRESS": what the module remembers in state_dir (send limits, lockout,
 * codes that may still be used, grace periods), and clearing it.
 */
#include "cli.h"

#include "../core/err.h"
#include "../core/limits.h"
#include "../core/notify.h"
#include "../core/policy.h"
#include "../core/secret.h"
#include "../core/state.h"
#include "../core/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const usage_lines[] = {
    "Usage: " EOTP_PROG " state show USER",
    "       " EOTP_PROG " state reset USER",
    "       " EOTP_PROG " state show --rhost ADDRESS",
    "       " EOTP_PROG " state reset --rhost ADDRESS",
    "",
    "Show or clear what the module remembers in state_dir about USER:",
    "codes sent (send_limit), wrong codes (lockout), codes that may still",
    "be used, and grace periods; or, with --rhost, the codes requested",
    "from a remote address (rhost_send_limit; IPv6 counts per /64).",
    "reset removes the record: limits and lockout start afresh, pending",
    "codes can no longer be reused, grace periods end.  Needs root.",
    "",
    "Options:",
    "  --rhost ADDRESS  the record of a remote address instead of a user",
    "  -h, --help       show this help",
    NULL};

void eotp_usage_state(FILE *out)
{
    eotp_cli_print_lines(out, usage_lines);
}

static void print_rate(const char *what, const struct eotp_events *ev,
                       const struct eotp_rate *rate, const char *name,
                       long long now)
{
    if (!eotp_rate_on(rate)) {
        (void)printf("%s: %zu (%s off)\n", what, ev->n, name);
        return;
    }
    (void)printf("%s: %zu in the last %ld s (%s %ld/%ld)\n", what,
                 eotp_events_count(ev, rate->seconds, now), rate->seconds,
                 name, rate->count, rate->seconds);
}

static void print_wait(const char *what, const char *no, long wait)
{
    char when[32];

    if (wait <= 0) {
        (void)printf("%s: %s\n", what, no);
    } else {
        (void)printf("%s: yes, for %s more (%ld s)\n", what,
                     eotp_limits_wait_text(wait, when, sizeof(when)), wait);
    }
}

static void show_user(const char *user, const struct eotp_cfg *cfg,
                      const struct eotp_state *st, bool present, long long now)
{
    (void)printf("user: %s\n", user);
    (void)printf("record: %s\n",
                 present ? "present" : "none (nothing remembered)");
    print_rate("codes sent", &st->sends, &cfg->send_limit, "send_limit", now);
    print_wait("send limit reached", "no",
               eotp_rate_wait(&st->sends, &cfg->send_limit, now));
    print_rate("wrong codes", &st->wrong, &cfg->lockout, "lockout", now);
    print_wait("locked out", "no",
               eotp_rate_wait(&st->wrong, &cfg->lockout, now));
    (void)printf("pending codes: %zu\n", st->npending);
    for (size_t i = 0; i < st->npending; i++) {
        const struct eotp_pending *p = &st->pending[i];

        (void)printf("  message %s by %s, sent %lld s ago\n", p->id,
                     p->channel, now - p->time);
    }
    (void)printf("local codes: %zu\n", st->ncodes);
    for (size_t i = 0; i < st->ncodes; i++) {
        const struct eotp_localcode *c = &st->codes[i];

        (void)printf("  message %s by %s, expires in %lld s, %d wrong "
                     "answer%s\n",
                     c->msgid, c->channel, c->expires - now, c->wrong,
                     c->wrong == 1 ? "" : "s");
    }
    (void)printf("grace periods: %zu\n", st->ngrace);
    for (size_t i = 0; i < st->ngrace; i++) {
        (void)printf("  ends in %lld s\n",
                     st->grace[i].time + cfg->grace_period - now);
    }
}

static void show_rhost(const char *rhost, const char *name,
                       const struct eotp_cfg *cfg, const struct eotp_state *st,
                       bool present, long long now)
{
    (void)printf("remote host: %s\n", rhost);
    (void)printf("record: %s%s\n", present ? "present, " : "none",
                 present ? name : " (nothing remembered)");
    print_rate("codes requested", &st->sends, &cfg->rhost_send_limit,
               "rhost_send_limit", now);
    print_wait("limit reached", "no",
               eotp_rate_wait(&st->sends, &cfg->rhost_send_limit, now));
}

/* show (reset false) or reset one record; returns an exit code. */
static int run(int argc, char **argv, const struct eotp_global *g, bool reset)
{
    static const struct option opts[] = {
        {"rhost", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct eotp_store *store = NULL;
    struct eotp_store_who who;
    struct eotp_state *st = NULL;
    struct eotp_logger lg;
    struct eotp_cfg cfg;
    const char *rhost = NULL;
    char what[EOTP_FIELD_MAX];
    char name[64] = "";
    char canon[EOTP_USER_NAME_MAX + 1];
    const char *user = NULL;
    bool present = false;
    long long now = (long long)time(NULL);
    int opt;
    int rc;
    int r;

    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'r') {
            rhost = optarg;
        } else if (opt == 'h') {
            eotp_usage_state(stdout);
            return EOTP_EXIT_OK;
        } else {
            return eotp_cli_bad_option(argv[0]);
        }
    }
    if (rhost != NULL ? argc - optind != 0 || rhost[0] == '\0'
                      : argc - optind != 1 || argv[optind][0] == '\0') {
        return eotp_cli_usage_error(argv[0],
                                    "expects one USER or --rhost ADDRESS");
    }
    if (rhost == NULL) {
        /* The record the module keeps is under the account's own name. */
        user = eotp_cli_account_name(argv[optind], canon, sizeof(canon), NULL);
    }
    eotp_sanitize(what, sizeof(what), rhost != NULL ? rhost : user, false);
    rc = eotp_cli_load_config(g, &cfg);
    if (rc != EOTP_EXIT_OK) {
        return rc;
    }
    eotp_cli_logger(g, &lg);
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        eotp_cli_err("%s", eotp_strerror(EOTP_E_NOMEM));
        rc = EOTP_EXIT_CONFIG;
        goto out;
    }
    r = eotp_store_open(&cfg, &lg, &store);
    if (r == EOTP_OK) {
        r = eotp_store_who(store, user, rhost, &who);
    }
    if (r != EOTP_OK) {
        eotp_cli_err("cannot use the state store (%s); run as root",
                     eotp_strerror(r));
        rc = eotp_cli_exit_code(r);
        goto out;
    }
    if (rhost != NULL) {
        (void)eotp_state_rhost_hash_name(who.rhost_id, name, sizeof(name));
    }
    if (reset) {
        r = eotp_store_reset(store, &who,
                             rhost != NULL ? EOTP_STORE_RHOST
                                           : EOTP_STORE_USER,
                             &present);
        if (r == EOTP_OK && rhost == NULL && cfg.notify_template != NULL) {
            /* A new lockout after the reset is told again (notify.h). */
            (void)eotp_notify_forget_lockout(store, user);
        }
    } else {
        r = eotp_store_show(store, &who,
                            rhost != NULL ? EOTP_STORE_RHOST : EOTP_STORE_USER,
                            st, &present);
        if (rhost != NULL) {
            eotp_limits_prune_rhost(st, &cfg, now);
        } else {
            eotp_limits_prune_user(st, &cfg, now);
        }
    }
    if (r == EOTP_E_STATE) {
        eotp_cli_err("cannot use the state directory (%s); run as root",
                     eotp_strerror(r));
        rc = eotp_cli_exit_code(r);
        goto out;
    }
    if (r != EOTP_OK) {
        eotp_cli_err("%s %s: %s", reset ? "reset" : "show", what,
                     eotp_strerror(r));
        rc = eotp_cli_exit_code(r);
        goto out;
    }
    if (reset) {
        (void)printf("state of %s%s reset: limits%s start afresh\n",
                     rhost != NULL ? "remote host " : "", what,
                     rhost != NULL ? ""
                                   : " and lockout; pending codes and "
                                     "grace periods cleared;");
    } else if (rhost != NULL) {
        show_rhost(what, name, &cfg, st, present, now);
    } else {
        show_user(what, &cfg, st, present, now);
    }
    rc = EOTP_EXIT_OK;
out:
    eotp_store_close(store);
    eotp_freezero(st, sizeof(*st));
    eotp_cfg_free(&cfg);
    return rc;
}

static int state_show(int argc, char **argv, const struct eotp_global *g)
{
    return run(argc, argv, g, false);
}

static int state_reset(int argc, char **argv, const struct eotp_global *g)
{
    return run(argc, argv, g, true);
}

static const struct eotp_cmd subcmds[] = {
    {"show", state_show, eotp_usage_state, "show a record"},
    {"reset", state_reset, eotp_usage_state, "remove a record"},
};

int eotp_cmd_state(int argc, char **argv, const struct eotp_global *g)
{
    const struct eotp_cmd *c;

    if (argc < 2) {
        eotp_usage_state(stderr);
        return EOTP_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        eotp_usage_state(stdout);
        return EOTP_EXIT_OK;
    }
    c = eotp_cli_find(subcmds, sizeof(subcmds) / sizeof(subcmds[0]), argv[1]);
    if (c == NULL) {
        eotp_cli_err("state: unknown command '%s' (show, reset)", argv[1]);
        return eotp_cli_bad_option(argv[0]);
    }
    return eotp_cli_run(c, argv[0], argc - 1, argv + 1, g);
}
