/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_notify.c - notify.h: event names, which events a config sends,
 * one lockout notice per lockout, and that nothing is tried without a
 * destination.  The notices themselves are tested through libpam
 * (tests/e2e/test_notify.sh); here the API is an address where nothing
 * listens, so every notice that goes out fails fast and is logged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/core/api.h"
#include "../../src/core/cfg.h"
#include "../../src/core/err.h"
#include "../../src/core/notify.h"
#include "../../src/core/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char logged[8192];

static void capture(void *ctx, int prio, const char *line)
{
    size_t n = strlen(logged);

    (void)ctx;
    (void)prio;
    (void)snprintf(logged + n, sizeof(logged) - n, "%s\n", line);
}

static const struct eotp_logger lg = {capture, NULL, true};

static void set(struct eotp_cfg *cfg, const char *key, const char *value)
{
    assert_int_equal(eotp_cfg_set(cfg, key, value, false, "test", &lg),
                     EOTP_OK);
}

static void test_names(void **state)
{
    (void)state;
    for (int i = 0; i < EOTP_NOTIFY_EVENTS; i++) {
        const char *n = eotp_notify_event_name((enum eotp_notify_event)i);

        assert_int_equal(eotp_notify_event_from_name(n), i);
        /* Every name is in the text the config's error shows. */
        assert_non_null(strstr(EOTP_NOTIFY_EVENT_NAMES, n));
    }
    assert_int_equal(eotp_notify_event_from_name("Lockout"), -1);
    assert_int_equal(eotp_notify_event_from_name(""), -1);
    assert_string_equal(eotp_notify_event_name((enum eotp_notify_event)99),
                        "unknown");
}

static void test_wants(void **state)
{
    struct eotp_cfg cfg;

    (void)state;
    assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
    /* No template: nothing, whatever notify_on says. */
    for (int i = 0; i < EOTP_NOTIFY_EVENTS; i++) {
        assert_false(eotp_notify_wants(&cfg, (enum eotp_notify_event)i));
    }
    set(&cfg, "notify_on", "success");
    assert_false(eotp_notify_wants(&cfg, EOTP_NOTIFY_SUCCESS));
    assert_int_equal(eotp_cfg_validate(&cfg, &lg), EOTP_E_CONFIG);
    free(cfg.notify_on);
    cfg.notify_on = NULL;
    /* The default with a template. */
    set(&cfg, "notify_template", "pam-notify");
    assert_true(eotp_notify_wants(&cfg, EOTP_NOTIFY_LOCKOUT));
    assert_true(eotp_notify_wants(&cfg, EOTP_NOTIFY_RESCUE));
    assert_true(eotp_notify_wants(&cfg, EOTP_NOTIFY_BYPASS));
    assert_false(eotp_notify_wants(&cfg, EOTP_NOTIFY_SUCCESS));
    assert_false(eotp_notify_wants(&cfg, EOTP_NOTIFY_NEW_RHOST));
    set(&cfg, "notify_on", "new_rhost,success");
    assert_false(eotp_notify_wants(&cfg, EOTP_NOTIFY_LOCKOUT));
    assert_true(eotp_notify_wants(&cfg, EOTP_NOTIFY_SUCCESS));
    assert_true(eotp_notify_wants(&cfg, EOTP_NOTIFY_NEW_RHOST));
    /* A bad word is refused and named. */
    logged[0] = '\0';
    assert_int_equal(eotp_cfg_set(&cfg, "notify_on", "lockout, lokcout", false,
                                  "test", &lg),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(logged, "item=lokcout"));
    assert_non_null(strstr(logged, "(valid: " EOTP_NOTIFY_EVENT_NAMES ")"));
    /* Defaults of the other keys. */
    assert_int_equal(cfg.notify_timeout, EOTP_NOTIFY_TIMEOUT_DEFAULT);
    assert_int_equal(cfg.notify_limit.count, EOTP_NOTIFY_LIMIT_COUNT);
    assert_int_equal(cfg.notify_limit.seconds, EOTP_NOTIFY_LIMIT_SECONDS);
    eotp_cfg_free(&cfg);
}

/* A file store in a fresh root-owned directory; 1: not root, skip. */
static char dir[64];

static int open_store(struct eotp_cfg *cfg, struct eotp_store **s)
{
    if (geteuid() != 0) {
        return 1;
    }
    (void)snprintf(dir, sizeof(dir), "/tmp/eotp-unit-notify.XXXXXX");
    if (mkdtemp(dir) == NULL || chmod(dir, 0700) != 0) {
        return -1;
    }
    free(cfg->state_dir);
    cfg->state_dir = strdup(dir);
    return eotp_store_file_open(cfg, &lg, s) == EOTP_OK ? 0 : -1;
}

static void remove_store(void)
{
    char cmd[128];

    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        print_error("cannot remove %s\n", dir);
    }
}

static size_t count(const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(logged, needle); p != NULL;
         p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static void test_lockout_once(void **state)
{
    struct eotp_login login = {"alice", "sshd", "192.0.2.7", NULL, NULL, NULL};
    struct eotp_notify_ctx ctx;
    struct eotp_store *s = NULL;
    struct eotp_api *api = NULL;
    struct eotp_cfg cfg;
    int r;

    (void)state;
    assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
    set(&cfg, "api_url", "https://127.0.0.1:9");
    set(&cfg, "dev_key", "k");
    set(&cfg, "dev_secret", "s");
    set(&cfg, "notify_template", "pam-notify");
    r = open_store(&cfg, &s);
    if (r == 1) {
        eotp_cfg_free(&cfg);
        skip();
    }
    assert_int_equal(r, 0);
    assert_int_equal(eotp_api_new(&cfg, 5000, &api), EOTP_OK);
    memset(&ctx, 0, sizeof(ctx));
    ctx.cfg = &cfg;
    ctx.login = &login;
    ctx.lg = &lg;
    ctx.store = s;
    ctx.api = api;
    ctx.dest = "+6591234567";

    /* The first session that meets the lockout tries to tell... */
    logged[0] = '\0';
    assert_int_not_equal(eotp_notify_lockout(&ctx, 600), EOTP_OK);
    assert_int_equal(count("notification not sent event=lockout"), 1);
    assert_non_null(strstr(logged, "dest=+65******67"));
    assert_null(strstr(logged, "6591234567"));
    /* ...another meeting the same lockout does not. */
    assert_int_equal(eotp_notify_lockout(&ctx, 600), EOTP_OK);
    assert_int_equal(count("notification not sent event=lockout"), 1);
    /* Another user's lockout is another lockout. */
    login.user = "bob";
    assert_int_not_equal(eotp_notify_lockout(&ctx, 600), EOTP_OK);
    assert_int_equal(count("notification not sent event=lockout"), 2);
    /* The lockout notice goes through eotp_notify_lockout only. */
    assert_int_equal(eotp_notify_event(&ctx, EOTP_NOTIFY_LOCKOUT),
                     EOTP_E_INTERNAL);
    /* Not wanted: nothing tried, nothing logged. */
    logged[0] = '\0';
    assert_int_equal(eotp_notify_event(&ctx, EOTP_NOTIFY_SUCCESS), EOTP_OK);
    assert_string_equal(logged, "");
    /* No destination: logged, nothing tried. */
    ctx.dest = NULL;
    assert_int_equal(eotp_notify_event(&ctx, EOTP_NOTIFY_BYPASS),
                     EOTP_E_UNMAPPED);
    assert_int_equal(count("notification not sent event=bypass"), 1);
    assert_non_null(strstr(logged, "result=unmapped"));

    eotp_api_free(api);
    eotp_store_close(s);
    remove_store();
    eotp_cfg_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_wants),
        cmocka_unit_test(test_lockout_once),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
