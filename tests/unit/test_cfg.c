/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_cfg.c - the config parser: defaults, every key type, permissions,
 * symlinks, size, unknown keys, bad values, module arguments, secrets.
 * Runs as root (the files must be root-owned to be trusted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/core/cfg.h"
#include "../../src/core/err.h"

static char dir[] = "/tmp/eotp-cfg.XXXXXX";
static char logbuf[8192];

static void capture(void *ctx, int prio, const char *line)
{
    size_t n = strlen(logbuf);

    (void)ctx;
    (void)prio;
    (void)snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", line);
}

static const struct eotp_logger lg = {capture, NULL, true};

static char *path_of(const char *name)
{
    static char p[256];

    (void)snprintf(p, sizeof(p), "%s/%s", dir, name);
    return p;
}

static const char *write_file(const char *name, const char *text, mode_t mode)
{
    char *p = path_of(name);
    FILE *f;

    (void)unlink(p);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(p, mode), 0);
    return p;
}

#define GOOD                                                                  \
    "# comment\n"                                                             \
    "api_url = https://127.0.0.1:8443\n"                                      \
    "  dev_key=key\t\n"                                                       \
    "dev_secret = s3cr#t = x\n"                                               \
    "template_id = pam-otp\n"

static int load(const char *text, mode_t mode, struct eotp_cfg *cfg)
{
    const char *p = write_file("c.conf", text, mode);
    int r;

    logbuf[0] = '\0';
    assert_int_equal(eotp_cfg_init(cfg), EOTP_OK);
    r = eotp_cfg_load_file(cfg, p, &lg);
    if (r == EOTP_OK) {
        r = eotp_cfg_validate(cfg, &lg);
    }
    return r;
}

static void test_defaults_and_good_file(void **state)
{
    struct eotp_cfg cfg;
    char buf[64];

    (void)state;
    assert_int_equal(load(GOOD, 0600, &cfg), EOTP_OK);
    assert_string_equal(cfg.api_url, "https://127.0.0.1:8443");
    assert_string_equal(cfg.dev_key, "key");
    /* '#' and '=' inside a value are part of it. */
    assert_string_equal(cfg.dev_secret, "s3cr#t = x");
    assert_string_equal(cfg.language, "default");
    assert_string_equal(cfg.user_map, EOTP_DEFAULT_USER_MAP);
    assert_string_equal(cfg.state_dir, EOTP_DEFAULT_STATE_DIR);
    assert_null(cfg.ca_file);
    assert_null(cfg.proxy);
    assert_int_equal(cfg.failmode, EOTP_FAIL_CLOSED);
    assert_int_equal(cfg.unmapped, EOTP_UNMAPPED_DENY);
    assert_int_equal(cfg.connect_timeout, 5);
    assert_int_equal(cfg.timeout, 15);
    assert_int_equal(cfg.max_attempts, 3);
    assert_int_equal(cfg.send_limit.count, 5);
    assert_int_equal(cfg.send_limit.seconds, 900);
    assert_string_equal(cfg.user_sources, "map");
    assert_string_equal(cfg.ldap_filter, "(uid=%u)");
    for (size_t i = 0; i < eotp_cfg_key_count(); i++) {
        if (strcmp(eotp_cfg_key_name(i), "dev_secret") == 0) {
            assert_true(eotp_cfg_key_is_secret(i));
            assert_string_equal(eotp_cfg_key_format(&cfg, i, buf,
                                                    sizeof(buf)),
                                "<redacted>");
        }
        if (strcmp(eotp_cfg_key_name(i), "send_limit") == 0) {
            assert_string_equal(eotp_cfg_key_format(&cfg, i, buf,
                                                    sizeof(buf)),
                                "5/900");
        }
    }
    eotp_cfg_free(&cfg);
}

static void test_default_url_when_unset(void **state)
{
    struct eotp_cfg cfg;

    (void)state;
    assert_int_equal(load("dev_key=k\ndev_secret=s\ntemplate_id=t\n", 0600,
                          &cfg),
                     EOTP_OK);
    assert_string_equal(cfg.api_url, "https://otp.api.engagelab.cc");
    eotp_cfg_free(&cfg);
}

static void test_permissions(void **state)
{
    static const mode_t bad[] = {0644, 0640, 0604, 0660, 0606, 0610, 0601};
    struct eotp_cfg cfg;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(load(GOOD, bad[i], &cfg), EOTP_E_CONFIG);
        assert_non_null(strstr(logbuf, "gives group/other access"));
        eotp_cfg_free(&cfg);
    }
    assert_int_equal(load(GOOD, 0400, &cfg), EOTP_OK);
    eotp_cfg_free(&cfg);
}

static void test_owner(void **state)
{
    struct eotp_cfg cfg;
    const char *p = write_file("c.conf", GOOD, 0600);

    (void)state;
    assert_int_equal(chown(p, 65534, 0), 0);
    logbuf[0] = '\0';
    assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
    assert_int_equal(eotp_cfg_load_file(&cfg, p, &lg), EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "owned by uid 65534"));
    eotp_cfg_free(&cfg);
}

static void test_symlink_dir_missing(void **state)
{
    struct eotp_cfg cfg;
    const char *real = write_file("real.conf", GOOD, 0600);
    char link[256];

    (void)state;
    (void)snprintf(link, sizeof(link), "%s/link.conf", dir);
    (void)unlink(link);
    assert_int_equal(symlink(real, link), 0);
    assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
    logbuf[0] = '\0';
    assert_int_equal(eotp_cfg_load_file(&cfg, link, &lg), EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "symbolic link"));
    /* A directory is not a regular file. */
    assert_int_equal(eotp_cfg_load_file(&cfg, dir, &lg), EOTP_E_CONFIG);
    /* Missing: a different error, so failmode can apply. */
    assert_int_equal(eotp_cfg_load_file(&cfg, path_of("nope"), &lg),
                     EOTP_E_FILE);
    eotp_cfg_free(&cfg);
}

static void test_oversize_and_nul(void **state)
{
    struct eotp_cfg cfg;
    char *big = malloc(EOTP_CONF_MAX_SIZE + 100);
    const char *p;
    int fd;

    (void)state;
    assert_non_null(big);
    memset(big, '#', EOTP_CONF_MAX_SIZE + 99);
    big[EOTP_CONF_MAX_SIZE + 99] = '\0';
    assert_int_equal(load(big, 0600, &cfg), EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "larger than"));
    eotp_cfg_free(&cfg);
    free(big);

    p = write_file("nul.conf", "", 0600);
    fd = open(p, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "dev_key = a\0b\n", 14), 14);
    close(fd);
    assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
    assert_int_equal(eotp_cfg_load_file(&cfg, p, &lg), EOTP_E_CONFIG);
    eotp_cfg_free(&cfg);
}

static void test_bad_lines(void **state)
{
    static const char *const bad[] = {
        GOOD "frobnicate = 1\n",
        GOOD "just words\n",
        GOOD "= value\n",
        GOOD "timeout =\n",
        GOOD "template_id = again\n",
        GOOD "timeout = 0\n",
        GOOD "timeout = 121\n",
        GOOD "timeout = 5s\n",
        GOOD "timeout = +5\n",
        GOOD "timeout = 99999999999999999999\n",
        GOOD "connect_timeout = -1\n",
        GOOD "max_attempts = 11\n",
        GOOD "failmode = sometimes\n",
        GOOD "unmapped = allow\n",
        GOOD "language = fr\n",
        GOOD "debug = maybe\n",
        GOOD "user_map = relative\n",
        GOOD "ca_file = ./ca.pem\n",
        GOOD "send_limit = 5\n",
        GOOD "send_limit = 5/0\n",
        GOOD "send_limit = /900\n",
        GOOD "send_limit = a/b\n",
        GOOD "user_sources = map, nis\n",
        GOOD "ldap_uri = http://x\n",
        GOOD "ldap_filter = uid=%u\n",
        GOOD "ldap_filter = ((uid=%u)\n",
        GOOD "user_sources = ldap\n",
        GOOD "user_sources = map\nldap_bind_dn = cn=x\n",
        GOOD "exempt_networks = 10.0.0.0/8, 300.1.1.1\n",
        GOOD "exempt_networks = 10.0.0.0/33\n",
        GOOD "exempt_networks = ::1/129\n",
        GOOD "params = host=%q\n",
        GOOD "params = =x\n",
        GOOD "alt_templates = fax:t1\n",
        GOOD "alt_templates = voice:\n",
        GOOD "default_country_code = 065\n",
        GOOD "code_type = 8\n",
        GOOD "code_length = 3\n",
        GOOD "send_limit = 1001/60\n",
        GOOD "code_mode = remote\n",
        GOOD "api_url = http://plain\n",
        GOOD "api_url = https://\n",
        "dev_key = a:b\ndev_secret = s\ntemplate_id = t\n",
        "dev_secret = s\ntemplate_id = t\n",
        "dev_key = k\ntemplate_id = t\n",
        "dev_key = k\ndev_secret = s\n",
    };
    struct eotp_cfg cfg;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = load(bad[i], 0600, &cfg);

        if (r != EOTP_E_CONFIG) {
            fail_msg("case %zu accepted: %s", i, bad[i]);
        }
        /* Every refusal says why. */
        assert_true(strlen(logbuf) > 0);
        /* ...without echoing the secret. */
        assert_null(strstr(logbuf, "s3cr#t"));
        eotp_cfg_free(&cfg);
    }
}

/* "key = value   # note"; a '#' with no white space before it stays. */
static void test_comments(void **state)
{
    struct eotp_cfg cfg;

    (void)state;
    assert_int_equal(load("api_url = https://127.0.0.1:8443  # the mock\n"
                          "dev_key = key\t# tab before\n"
                          "dev_secret = ab#cd#  # secret with '#'\n"
                          "template_id = pam-otp # id\n"
                          "failmode = open#not-a-comment\n",
                          0600, &cfg),
                     EOTP_E_CONFIG);
    /* failmode = "open#not-a-comment" is a bad value... */
    assert_non_null(strstr(logbuf, "bad value for failmode"));
    eotp_cfg_free(&cfg);
    assert_int_equal(load("api_url = https://127.0.0.1:8443  # the mock\n"
                          "dev_key = key\t# tab before\n"
                          "dev_secret = ab#cd#  # secret with '#'\n"
                          "template_id = pam-otp # id\n"
                          "failmode = open   # break-glass\n",
                          0600, &cfg),
                     EOTP_OK);
    assert_string_equal(cfg.api_url, "https://127.0.0.1:8443");
    assert_string_equal(cfg.dev_key, "key");
    assert_string_equal(cfg.dev_secret, "ab#cd#");
    assert_string_equal(cfg.template_id, "pam-otp");
    assert_int_equal(cfg.failmode, EOTP_FAIL_OPEN);
    eotp_cfg_free(&cfg);
    /* A value that is only a comment is empty. */
    assert_int_equal(load(GOOD "proxy = # none\n", 0600, &cfg), EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "empty or unprintable value"));
    eotp_cfg_free(&cfg);
}

/* One run names every problem, each with its line. */
static void test_all_problems(void **state)
{
    struct eotp_cfg cfg;

    (void)state;
    assert_int_equal(load("api_url = https://127.0.0.1:8443\n" /* 1 */
                          "fail_mode = open\n"                 /* 2 */
                          "timeout = 0\n"                      /* 3 */
                          "no equals sign\n"                   /* 4 */
                          "unmapped = allow\n"                 /* 5 */
                          "unmapped = deny\n"                  /* 6 */
                          "user_sources = map, nis\n"          /* 7 */
                          "max_attempts = 3\n",                /* 8 */
                          0600, &cfg),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "c.conf:2 key=fail_mode"));
    assert_non_null(strstr(logbuf, "timeout at "));
    assert_non_null(strstr(logbuf, "c.conf:3 must be a whole number"));
    assert_non_null(strstr(logbuf, "key = value at "));
    assert_non_null(strstr(logbuf, "c.conf:4"));
    assert_non_null(strstr(logbuf, "c.conf:5 (valid: deny, ignore)"));
    assert_non_null(strstr(logbuf, "key unmapped given twice at"));
    assert_non_null(strstr(logbuf, "c.conf:7 item=nis (valid: map, ldap)"));
    /* Lines after the errors were still read. */
    assert_int_equal(cfg.max_attempts, 3);
    /* Refused keys are remembered for doctor. */
    assert_true(eotp_cfg_key_bad(&cfg, "timeout"));
    assert_true(eotp_cfg_key_bad(&cfg, "unmapped"));
    assert_true(eotp_cfg_key_bad(&cfg, "user_sources"));
    assert_false(eotp_cfg_key_bad(&cfg, "max_attempts"));
    assert_false(eotp_cfg_key_bad(&cfg, "no-such-key"));
    eotp_cfg_free(&cfg);

    /* A file of errors logs 20 of them and a count of the rest. */
    {
        char text[4096] = GOOD;
        size_t lines = 0;

        for (int i = 0; i < 30; i++) {
            size_t n = strlen(text);

            (void)snprintf(text + n, sizeof(text) - n, "bogus%d = 1\n", i);
        }
        assert_int_equal(load(text, 0600, &cfg), EOTP_E_CONFIG);
        for (const char *p = logbuf; (p = strstr(p, "unknown key")) != NULL;
             p++) {
            lines++;
        }
        assert_int_equal(lines, 20);
        assert_non_null(strstr(logbuf, "config: 10 more problems in file="));
        eotp_cfg_free(&cfg);
    }

    /* Every missing required key is named. */
    logbuf[0] = '\0';
    assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
    assert_int_equal(eotp_cfg_validate(&cfg, &lg), EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "required key dev_key is not set"));
    assert_non_null(strstr(logbuf, "required key dev_secret is not set"));
    assert_non_null(strstr(logbuf, "required key template_id is not set"));
    eotp_cfg_free(&cfg);
}

static void test_suggestions(void **state)
{
    static const struct {
        const char *line;
        const char *want; /* NULL: no suggestion */
    } cases[] = {
        {"fail_mode = open\n", "did you mean failmode?"},
        {"Fail-Mode = open\n", "did you mean failmode?"},
        {"tempalte_id = x\n", "did you mean template_id?"},
        {"dev_secrets = x\n", "did you mean dev_secret?"},
        {"unmaped = ignore\n", "did you mean unmapped?"},
        {"exempt_group = wheel\n", "did you mean exempt_groups?"},
        {"frobnicate = 1\n", NULL},
        {"x = 1\n", NULL},
    };
    struct eotp_cfg cfg;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];

        (void)snprintf(text, sizeof(text), "%s%s", GOOD, cases[i].line);
        assert_int_equal(load(text, 0600, &cfg), EOTP_E_CONFIG);
        assert_non_null(strstr(logbuf, "unknown key at"));
        if (cases[i].want != NULL) {
            if (strstr(logbuf, cases[i].want) == NULL) {
                fail_msg("case %zu: no '%s' in: %s", i, cases[i].want, logbuf);
            }
        } else {
            assert_null(strstr(logbuf, "did you mean"));
        }
        eotp_cfg_free(&cfg);
    }
    /* Module arguments get the same help. */
    {
        const char *argv[] = {"failmod=open"};

        logbuf[0] = '\0';
        assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
        assert_int_equal(eotp_cfg_apply_args(&cfg, 1, argv, &lg),
                         EOTP_E_CONFIG);
        assert_non_null(strstr(logbuf, "did you mean failmode?"));
        eotp_cfg_free(&cfg);
    }
}

static void test_valid_values_listed(void **state)
{
    static const struct {
        const char *line;
        const char *want;
    } cases[] = {
        {"failmode = sometimes\n", "(valid: closed, open)"},
        {"code_mode = remote\n", "(valid: platform, local)"},
        {"language = fr\n",
         "(valid: default, zh_CN, zh_HK, en, ja, th, es, auto)"},
        {"alt_templates = fax:t1\n", "channel one of sms, whatsapp"},
        {"debug = maybe\n", "must be yes or no"},
        {"timeout = 999\n", "from 1 to 120"},
        {"lockout = 3\n", "COUNT/SECONDS"},
    };
    struct eotp_cfg cfg;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];

        (void)snprintf(text, sizeof(text), "%s%s", GOOD, cases[i].line);
        assert_int_equal(load(text, 0600, &cfg), EOTP_E_CONFIG);
        if (strstr(logbuf, cases[i].want) == NULL) {
            fail_msg("case %zu: no '%s' in: %s", i, cases[i].want, logbuf);
        }
        eotp_cfg_free(&cfg);
    }
}

static void test_good_values(void **state)
{
    struct eotp_cfg cfg;

    (void)state;
    assert_int_equal(
        load(GOOD "failmode = open\nunmapped = ignore\nlanguage = auto\n"
                  "timeout = 120\nconnect_timeout = 1\nmax_attempts = 10\n"
                  "send_limit = off\nlockout = 3/60\n"
                  "exempt_networks = 10.0.0.0/8 ::1/128, 192.0.2.1\n"
                  "params = host=%h, cmd=%c, pct=100%%\n"
                  "alt_templates = voice:t-voice, email:t-mail\n"
                  "user_sources = ldap, map\n"
                  "ldap_uri = ldaps://a:636 ldap://localhost ldapi://\n"
                  "ldap_base = dc=example,dc=com\n"
                  "ldap_filter = (&(objectClass=person)(uid=%u))\n"
                  "default_country_code = 65\ndebug = yes\n",
             0600, &cfg),
        EOTP_OK);
    assert_int_equal(cfg.failmode, EOTP_FAIL_OPEN);
    assert_int_equal(cfg.unmapped, EOTP_UNMAPPED_IGNORE);
    assert_int_equal(cfg.timeout, 120);
    assert_int_equal(cfg.send_limit.count, 0);
    assert_int_equal(cfg.lockout.count, 3);
    assert_int_equal(cfg.lockout.seconds, 60);
    assert_true(cfg.debug);
    assert_string_equal(cfg.default_country_code, "65");
    eotp_cfg_free(&cfg);
    /* default_country is the documented name; the old one is an alias. */
    assert_int_equal(load(GOOD "default_country = 44\n", 0600, &cfg),
                     EOTP_OK);
    assert_string_equal(cfg.default_country_code, "44");
    eotp_cfg_free(&cfg);
    assert_int_equal(load(GOOD "default_country = 065\n", 0600, &cfg),
                     EOTP_E_CONFIG);
    eotp_cfg_free(&cfg);
}

static void test_module_args(void **state)
{
    struct eotp_cfg cfg;
    const char *conf = NULL;
    int failmode = EOTP_FAIL_CLOSED;
    bool debug = false;
    const char *args[] = {"conf=/x.conf", "debug", "failmode=open",
                          "template_id=other", "timeout=7"};

    (void)state;
    eotp_cfg_scan_args(5, args, &conf, &failmode, &debug);
    assert_string_equal(conf, "/x.conf");
    assert_int_equal(failmode, EOTP_FAIL_OPEN);
    assert_true(debug);

    assert_int_equal(load(GOOD, 0600, &cfg), EOTP_OK);
    assert_int_equal(eotp_cfg_apply_args(&cfg, 5, args, &lg), EOTP_OK);
    assert_string_equal(cfg.template_id, "other");
    assert_int_equal(cfg.timeout, 7);
    assert_int_equal(cfg.failmode, EOTP_FAIL_OPEN);
    assert_true(cfg.debug);

    {
        const char *unknown[] = {"frobnicate"};
        const char *unknown_kv[] = {"frob=1"};
        const char *secret[] = {"dev_secret=x"};
        const char *key[] = {"dev_key=x"};
        const char *badval[] = {"failmode=sometimes"};
        const char *empty[] = {"=x"};

        logbuf[0] = '\0';
        assert_int_equal(eotp_cfg_apply_args(&cfg, 1, unknown, &lg),
                         EOTP_E_CONFIG);
        assert_non_null(strstr(logbuf, "unknown module argument"));
        assert_int_equal(eotp_cfg_apply_args(&cfg, 1, unknown_kv, &lg),
                         EOTP_E_CONFIG);
        assert_int_equal(eotp_cfg_apply_args(&cfg, 1, secret, &lg),
                         EOTP_E_CONFIG);
        assert_int_equal(eotp_cfg_apply_args(&cfg, 1, key, &lg),
                         EOTP_E_CONFIG);
        assert_int_equal(eotp_cfg_apply_args(&cfg, 1, badval, &lg),
                         EOTP_E_CONFIG);
        assert_int_equal(eotp_cfg_apply_args(&cfg, 1, empty, &lg),
                         EOTP_E_CONFIG);
    }
    eotp_cfg_free(&cfg);
}

static void test_parse_long(void **state)
{
    long v = 0;

    (void)state;
    assert_int_equal(eotp_parse_long("42", 0, 100, &v), EOTP_OK);
    assert_int_equal(v, 42);
    assert_int_equal(eotp_parse_long("", 0, 100, &v), EOTP_E_CONFIG);
    assert_int_equal(eotp_parse_long(" 1", 0, 100, &v), EOTP_E_CONFIG);
    assert_int_equal(eotp_parse_long("1 ", 0, 100, &v), EOTP_E_CONFIG);
    assert_int_equal(eotp_parse_long("0x10", 0, 100, &v), EOTP_E_CONFIG);
    assert_int_equal(eotp_parse_long("101", 0, 100, &v), EOTP_E_CONFIG);
    assert_int_equal(eotp_parse_long("-1", 0, 100, &v), EOTP_E_CONFIG);
    assert_int_equal(eotp_parse_long(NULL, 0, 100, &v), EOTP_E_CONFIG);
    assert_int_equal(v, 42);
}

static void test_list_next(void **state)
{
    const char *cur = " a, b,,c\td ";
    char item[8];
    const char *want[] = {"a", "b", "c", "d"};
    size_t n = 0;

    (void)state;
    while (eotp_list_next(&cur, item, sizeof(item))) {
        assert_true(n < 4);
        assert_string_equal(item, want[n]);
        n++;
    }
    assert_int_equal(n, 4);
}

static void test_ldap_uri_in_clear(void **state)
{
    static const char *const clear[] = {
        "ldap://ldap.example.org",
        "ldap://ldap.example.org:389/",
        "ldap://192.0.2.7",
        "ldap://128.0.0.1",
        "ldap://[2001:db8::1]:389",
        "ldap://[::2]",
        "ldap://localhost.example.org",
        "ldap://127.0.0.1.example.org",
        "ldap:///",
        "ldap://",
        "ldap://[::1",
        "ldap://::1",
    };
    static const char *const fine[] = {
        "ldaps://ldap.example.org",
        "ldapi://",
        "ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi",
        "ldap://127.0.0.1",
        "ldap://127.8.9.10:3890/",
        "ldap://localhost",
        "ldap://LocalHost:389",
        "ldap://[::1]:389",
        "ldap://[::ffff:127.0.0.1]",
    };
    static const char *const tail[] = {"", "ldap_starttls = yes\n",
                                       "ldap_insecure = yes\n"};
    struct eotp_cfg cfg;
    char text[1024];

    (void)state;
    for (size_t i = 0; i < sizeof(clear) / sizeof(clear[0]); i++) {
        assert_true(eotp_ldap_uri_in_clear(clear[i]));
    }
    for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
        assert_false(eotp_ldap_uri_in_clear(fine[i]));
    }
    /* At load: refused unless StartTLS or ldap_insecure is set. */
    for (size_t t = 0; t < sizeof(tail) / sizeof(tail[0]); t++) {
        (void)snprintf(text, sizeof(text),
                       GOOD "ldap_uri = ldaps://a ldap://ldap.example.org\n"
                            "%s",
                       tail[t]);
        assert_int_equal(load(text, 0600, &cfg),
                         t == 0 ? EOTP_E_CONFIG : EOTP_OK);
        if (t == 0) {
            assert_non_null(strstr(logbuf, "uri=ldap://ldap.example.org "
                                           "would search the directory in "
                                           "clear text"));
        }
        eotp_cfg_free(&cfg);
    }
    /* ldap_insecure = no is no exception; loopback needs none. */
    assert_int_equal(load(GOOD "ldap_uri = ldap://192.0.2.7\n"
                               "ldap_insecure = no\n",
                          0600, &cfg),
                     EOTP_E_CONFIG);
    eotp_cfg_free(&cfg);
    assert_int_equal(load(GOOD "ldap_uri = ldap://127.0.0.1:3890\n", 0600,
                          &cfg),
                     EOTP_OK);
    eotp_cfg_free(&cfg);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_good_file),
        cmocka_unit_test(test_default_url_when_unset),
        cmocka_unit_test(test_permissions),
        cmocka_unit_test(test_owner),
        cmocka_unit_test(test_symlink_dir_missing),
        cmocka_unit_test(test_oversize_and_nul),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_all_problems),
        cmocka_unit_test(test_suggestions),
        cmocka_unit_test(test_valid_values_listed),
        cmocka_unit_test(test_good_values),
        cmocka_unit_test(test_module_args),
        cmocka_unit_test(test_parse_long),
        cmocka_unit_test(test_list_next),
        cmocka_unit_test(test_ldap_uri_in_clear),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
