/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_redis.c - Redis URLs, the redis_* config keys and their
 * validation, redaction, and the connection layer against hostile
 * servers (a socketpair-free loopback listener run in a child).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/core/cfg.h"
#include "../../src/core/err.h"
#include "../../src/core/redis.h"
#include "../../src/core/redis_session.h"

static char logbuf[8192];

static void capture(void *ctx, int prio, const char *line)
{
    size_t n = strlen(logbuf);

    (void)ctx;
    (void)prio;
    (void)snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", line);
}

static const struct eotp_logger lg = {capture, NULL, true};

#define BASE                                                                  \
    "dev_key=k\n"                                                             \
    "dev_secret=s\n"                                                          \
    "template_id=t\n"

/* Parse BASE + extra and validate; returns the result, cfg kept. */
static int parse(const char *extra, struct eotp_cfg *cfg)
{
    char buf[4096];
    int r;

    (void)snprintf(buf, sizeof(buf), "%s%s", BASE, extra);
    logbuf[0] = '\0';
    assert_int_equal(eotp_cfg_init(cfg), EOTP_OK);
    r = eotp_cfg_parse_buffer(cfg, buf, strlen(buf), "t.conf", &lg);
    if (r == EOTP_OK) {
        r = eotp_cfg_validate(cfg, &lg);
    }
    return r;
}

static int parse_free(const char *extra)
{
    struct eotp_cfg cfg;
    int r = parse(extra, &cfg);

    eotp_cfg_free(&cfg);
    return r;
}

static void test_url_parse(void **state)
{
    struct eotp_redis_url u;

    (void)state;
    assert_int_equal(
        eotp_redis_url_parse("rediss://otp:p%40ss%2Cw@redis.example"
                             ":6380/3",
                             false, &u),
        EOTP_OK);
    assert_int_equal(u.scheme, EOTP_REDIS_TLS);
    assert_string_equal(u.host, "redis.example");
    assert_string_equal(u.port, "6380");
    assert_string_equal(u.user, "otp");
    assert_string_equal(u.pass, "p@ss,w");
    assert_int_equal(u.db, 3);

    assert_int_equal(eotp_redis_url_parse("redis://:secret@127.0.0.1", false,
                                          &u),
                     EOTP_OK);
    assert_int_equal(u.scheme, EOTP_REDIS_PLAIN);
    assert_string_equal(u.user, "");
    assert_string_equal(u.pass, "secret");
    assert_string_equal(u.port, "6379");
    assert_int_equal(u.db, 0);

    /* user@host: the password comes from redis_password_file. */
    assert_int_equal(eotp_redis_url_parse("rediss://pam@h:1", false, &u),
                     EOTP_OK);
    assert_string_equal(u.user, "pam");
    assert_string_equal(u.pass, "");

    assert_int_equal(eotp_redis_url_parse("rediss://[::1]:7000", false, &u),
                     EOTP_OK);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.port, "7000");

    assert_int_equal(eotp_redis_url_parse("unix:///run/redis/redis.sock",
                                          false, &u),
                     EOTP_OK);
    assert_int_equal(u.scheme, EOTP_REDIS_UNIX);
    assert_string_equal(u.host, "/run/redis/redis.sock");

    /* A bare HOST:PORT only where allowed (sentinels), and it means TLS. */
    assert_int_equal(eotp_redis_url_parse("10.0.0.1:26379", true, &u),
                     EOTP_OK);
    assert_int_equal(u.scheme, EOTP_REDIS_TLS);
    assert_string_equal(u.port, "26379");
    assert_int_equal(eotp_redis_url_parse("10.0.0.1:26379", false, &u),
                     EOTP_E_CONFIG);

    const char *bad[] = {
        "http://h:1",
        "rediss://",
        "rediss://h:0",
        "rediss://h:65536",
        "rediss://h:12x",
        "rediss://h:",
        "rediss://u:@h:1",   /* empty password */
        "rediss://u:p%4@h:1",
        "rediss://u:p%00@h:1",
        "rediss://h/abc",
        "rediss://h/-1",
        "rediss://h/99999999",
        "rediss://[::1",
        "rediss://[nothex]:1",
        "rediss://h o:1",
        "unix://relative",
        "unix://",
        "h:1/2",
        "u:p@h:1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = eotp_redis_url_parse(bad[i], i >= 17, &u);

        if (r != EOTP_E_CONFIG) {
            fail_msg("accepted: %s", bad[i]);
        }
        /* A refused URL leaves nothing behind. */
        assert_string_equal(u.pass, "");
    }
}

static void test_loopback_and_safe(void **state)
{
    struct eotp_redis_url u;

    (void)state;
    assert_true(eotp_redis_host_is_loopback("127.0.0.1"));
    assert_true(eotp_redis_host_is_loopback("127.8.9.10"));
    assert_true(eotp_redis_host_is_loopback("::1"));
    assert_false(eotp_redis_host_is_loopback("localhost"));
    assert_false(eotp_redis_host_is_loopback("10.0.0.1"));
    assert_false(eotp_redis_host_is_loopback("::ffff:10.0.0.1"));
    assert_false(eotp_redis_host_is_loopback("128.0.0.1"));

    assert_int_equal(eotp_redis_url_parse("redis://10.1.1.1", false, &u), 0);
    assert_false(eotp_redis_url_is_safe(&u));
    assert_int_equal(eotp_redis_url_parse("redis://127.0.0.1", false, &u), 0);
    assert_true(eotp_redis_url_is_safe(&u));
    assert_int_equal(eotp_redis_url_parse("rediss://10.1.1.1", false, &u), 0);
    assert_true(eotp_redis_url_is_safe(&u));
    assert_int_equal(eotp_redis_url_parse("unix:///s", false, &u), 0);
    assert_true(eotp_redis_url_is_safe(&u));
}

/* A master's address as a sentinel reports it (SENTINEL
 * GET-MASTER-ADDR-BY-NAME): checked before it is connected to. */
static void test_url_master(void **state)
{
    struct eotp_redis_url u;

    (void)state;
    assert_true(eotp_redis_url_master(EOTP_REDIS_TLS, "10.0.0.5", "6380", 4,
                                      &u));
    assert_string_equal(u.host, "10.0.0.5");
    assert_string_equal(u.port, "6380");
    assert_int_equal(u.scheme, EOTP_REDIS_TLS);
    assert_string_equal(u.pass, "");
    assert_true(eotp_redis_url_master(EOTP_REDIS_PLAIN, "::1", "6379", 4,
                                      &u));
    assert_string_equal(u.host, "::1");
    assert_true(eotp_redis_url_master(EOTP_REDIS_TLS, "redis-1.example",
                                      "26379x", 5, &u));
    assert_string_equal(u.port, "26379");
    assert_false(eotp_redis_url_master(EOTP_REDIS_TLS, "10.0.0.5", "0", 1,
                                       &u));
    assert_string_equal(u.host, "");
    assert_false(eotp_redis_url_master(EOTP_REDIS_TLS, "10.0.0.5", "65536",
                                       5, &u));
    assert_false(eotp_redis_url_master(EOTP_REDIS_TLS, "10.0.0.5", "63a9", 4,
                                       &u));
    assert_false(
        eotp_redis_url_master(EOTP_REDIS_TLS, "10.0.0.5", "", 0, &u));
    assert_false(eotp_redis_url_master(EOTP_REDIS_TLS, "", "6379", 4, &u));
    assert_false(eotp_redis_url_master(EOTP_REDIS_TLS, "evil host", "6379",
                                       4, &u));
    assert_false(eotp_redis_url_master(EOTP_REDIS_TLS, "a/b", "6379", 4, &u));
    assert_false(eotp_redis_url_master(EOTP_REDIS_TLS, "a@b", "6379", 4, &u));
}

static void test_redact(void **state)
{
    char out[256];

    (void)state;
    assert_string_equal(eotp_redis_url_redact("rediss://u:pw@h:1/2", out,
                                              sizeof(out)),
                        "rediss://u:<redacted>@h:1/2");
    assert_string_equal(eotp_redis_url_redact("rediss://:pw@h:1", out,
                                              sizeof(out)),
                        "rediss://:<redacted>@h:1");
    assert_string_equal(eotp_redis_url_redact("rediss://a:b@c@h", out,
                                              sizeof(out)),
                        "rediss://a:<redacted>@h");
    assert_string_equal(eotp_redis_url_redact("rediss://h:1", out,
                                              sizeof(out)),
                        "rediss://h:1");
    assert_string_equal(eotp_redis_url_redact("unix:///x", out, sizeof(out)),
                        "unix:///x");
}

static void test_cfg_keys(void **state)
{
    struct eotp_cfg cfg;
    char buf[512];
    bool seen = false;

    (void)state;
    /* Defaults: Redis off, 500 ms. */
    assert_int_equal(parse("", &cfg), EOTP_OK);
    assert_null(cfg.redis_url);
    assert_int_equal(cfg.redis_timeout, 500);
    assert_false(cfg.redis_required);
    assert_false(eotp_redis_configured(&cfg));
    eotp_cfg_free(&cfg);

    assert_int_equal(parse("redis_url = rediss://otp:Sekr1t@10.0.0.5:6380/2, "
                           "rediss://otp:Sekr1t@10.0.0.6:6380/2\n"
                           "redis_ca_file = /etc/ssl/redis-ca.pem\n"
                           "redis_timeout = 800\n"
                           "redis_required = yes\n"
                           "redis_key_file = /etc/security/fleet.key\n",
                           &cfg),
                     EOTP_OK);
    assert_true(eotp_redis_configured(&cfg));
    assert_int_equal(cfg.redis_timeout, 800);
    assert_true(cfg.redis_required);
    for (size_t i = 0; i < eotp_cfg_key_count(); i++) {
        if (strcmp(eotp_cfg_key_name(i), "redis_url") == 0) {
            seen = true;
            eotp_cfg_key_format(&cfg, i, buf, sizeof(buf));
            assert_string_equal(buf,
                                "rediss://otp:<redacted>@10.0.0.5:6380/2, "
                                "rediss://otp:<redacted>@10.0.0.6:6380/2");
            assert_null(strstr(buf, "Sekr1t"));
        }
    }
    assert_true(seen);
    eotp_cfg_free(&cfg);

    assert_int_equal(parse("redis_sentinels = 10.0.0.1:26379 10.0.0.2:26379\n"
                           "redis_master_name = otp\n"
                           "redis_user = pam\n"
                           "redis_password_file = /etc/security/redis.pw\n",
                           &cfg),
                     EOTP_OK);
    assert_string_equal(cfg.redis_master_name, "otp");
    eotp_cfg_free(&cfg);

    assert_int_equal(parse_free("redis_url = rediss://pam@h:6380\n"
                                "redis_password_file = /etc/p\n"),
                     EOTP_OK);
    assert_int_equal(parse_free("redis_url = redis://127.0.0.1:6379\n"),
                     EOTP_OK);
    assert_int_equal(parse_free("redis_url = unix:///run/redis.sock\n"),
                     EOTP_OK);
    assert_int_equal(parse_free("redis_url = redis://10.0.0.5\n"
                                "redis_insecure = yes\n"),
                     EOTP_OK);

    /* A client certificate and its key (mtls), no password. */
    assert_int_equal(parse("redis_url = rediss://10.0.0.5:6380\n"
                           "redis_tls_cert = /etc/ssl/redis-client.pem\n"
                           "redis_tls_key = /etc/security/redis-client.key\n",
                           &cfg),
                     EOTP_OK);
    assert_string_equal(cfg.redis_tls_cert, "/etc/ssl/redis-client.pem");
    assert_string_equal(cfg.redis_tls_key, "/etc/security/redis-client.key");
    eotp_cfg_free(&cfg);
}

static void test_cfg_refused(void **state)
{
    const char *bad[] = {
        /* plaintext beyond loopback without redis_insecure */
        "redis_url = redis://10.0.0.5\n",
        "redis_url = redis://localhost\n",
        "redis_sentinels = redis://10.0.0.1:26379\nredis_master_name = m\n",
        /* exclusive / paired keys */
        "redis_url = rediss://h\nredis_sentinels = h:1\n"
        "redis_master_name = m\n",
        "redis_sentinels = h:1\n",
        "redis_master_name = m\n",
        /* redis_* without a server */
        "redis_required = yes\n",
        "redis_key_file = /k\n",
        "redis_password_file = /p\n",
        /* ranges and forms */
        "redis_timeout = 10\n",
        "redis_url = rediss://h\nredis_timeout = 20000\n",
        "redis_url = rediss://h\nredis_timeout = 5000\ndeadline = 2\n",
        "redis_url = https://h\n",
        "redis_url = rediss://u:@h\n",
        "redis_sentinels = unix:///s\nredis_master_name = m\n",
        "redis_sentinels = h:1/3\nredis_master_name = m\n",
        "redis_url = rediss://h\nredis_master_name = bad name!\n",
        "redis_url = rediss://h\nredis_ca_file = relative.pem\n",
        "redis_url = rediss://h\nredis_user = a b\n",
        /* a user without a password and no password file */
        "redis_url = rediss://pam@h\n",
        /* client certificate: relative paths, without a server */
        "redis_url = rediss://h\nredis_tls_cert = c.pem\n"
        "redis_tls_key = /k\n",
        "redis_url = rediss://h\nredis_tls_cert = /c\n"
        "redis_tls_key = k.pem\n",
        "redis_tls_cert = /c\nredis_tls_key = /k\n",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_free(bad[i]) != EOTP_E_CONFIG) {
            fail_msg("accepted: %s", bad[i]);
        }
    }
    /* The certificate and its key go together, and the log says so. */
    logbuf[0] = '\0';
    assert_int_equal(parse_free("redis_url = rediss://h\n"
                                "redis_tls_cert = /etc/ssl/c.pem\n"),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "redis_tls_cert and redis_tls_key go "
                                   "together"));
    logbuf[0] = '\0';
    assert_int_equal(parse_free("redis_url = rediss://h\n"
                                "redis_tls_key = /etc/security/c.key\n"),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "redis_tls_cert and redis_tls_key go "
                                   "together"));
    /* A refused URL's password is never logged. */
    assert_int_equal(parse_free("redis_url = rediss://u:TopSecret@h:99999\n"),
                     EOTP_E_CONFIG);
    assert_non_null(strstr(logbuf, "redis_url"));
    assert_null(strstr(logbuf, "TopSecret"));
}

/* The TLS session binding names the client certificate file by its
 * identity: a replaced file never resumes the old session. */
static void test_session_bind_cert(void **state)
{
    char dir[] = "/tmp/eotp-bind.XXXXXX";
    char ca[64];
    char cert[64];
    char none[EOTP_REDIS_SESSION_BIND_MAX];
    char b1[EOTP_REDIS_SESSION_BIND_MAX];
    char b2[EOTP_REDIS_SESSION_BIND_MAX];
    char b3[EOTP_REDIS_SESSION_BIND_MAX];
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    (void)snprintf(cert, sizeof(cert), "%s/c.pem", dir);
    f = fopen(ca, "w");
    assert_non_null(f);
    fputs("ca\n", f);
    fclose(f);
    f = fopen(cert, "w");
    assert_non_null(f);
    fputs("one\n", f);
    fclose(f);

    /* Without a certificate: the binding of before (sessions kept). */
    assert_true(eotp_redis_session_bind("h", "6380", NULL, NULL, none));
    assert_string_equal(none, "v1 h 6380 ca=system");
    assert_true(eotp_redis_session_bind("h", "6380", ca, cert, b1));
    assert_non_null(strstr(b1, " cert="));
    assert_non_null(strstr(b1, cert));
    assert_true(eotp_redis_session_bind("h", "6380", ca, NULL, b2));
    assert_string_not_equal(b1, b2);
    /* Rewritten (other size, mtime): another binding. */
    f = fopen(cert, "w");
    assert_non_null(f);
    fputs("another\n", f);
    fclose(f);
    assert_true(eotp_redis_session_bind("h", "6380", ca, cert, b3));
    assert_string_not_equal(b1, b3);
    /* Gone: no binding, so no session is offered or kept. */
    assert_int_equal(unlink(cert), 0);
    assert_false(eotp_redis_session_bind("h", "6380", ca, cert, b3));
    assert_string_equal(b3, "");
    assert_int_equal(unlink(ca), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_cfg_module_argument(void **state)
{
    struct eotp_cfg cfg;
    const char *argv[] = {"redis_url=rediss://u:pw@h"};
    const char *argv2[] = {"redis_timeout=700"};

    (void)state;
    assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
    logbuf[0] = '\0';
    /* URLs may hold passwords: never from /etc/pam.d (world-readable). */
    assert_int_equal(eotp_cfg_apply_args(&cfg, 1, argv, &lg), EOTP_E_CONFIG);
    assert_null(strstr(logbuf, "pw@"));
    assert_int_equal(eotp_cfg_apply_args(&cfg, 1, argv2, &lg), EOTP_OK);
    assert_int_equal(cfg.redis_timeout, 700);
    eotp_cfg_free(&cfg);
}

/* ---- the connection layer against a scripted server ------------------ */

/*
 * A one-shot TCP server on loopback in a child: accepts one connection,
 * reads one request, writes `answer` (len bytes), then waits (or closes
 * when close_after).  Returns the port.
 */
static pid_t server_pid;

static int scripted_server(const char *answer, size_t len, int delay_ms)
{
    struct sockaddr_in sa;
    socklen_t slen = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;

    assert_true(fd >= 0);
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &slen), 0);
    server_pid = fork();
    assert_true(server_pid >= 0);
    if (server_pid == 0) {
        int c = accept(fd, NULL, NULL);
        char buf[4096];
        struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};

        if (c >= 0) {
            if (read(c, buf, sizeof(buf)) < 0) {
                _exit(1);
            }
            if (delay_ms > 0) {
                (void)nanosleep(&ts, NULL);
            }
            for (size_t off = 0; off < len;) {
                ssize_t n = write(c, answer + off, len - off);

                if (n <= 0) {
                    break;
                }
                off += (size_t)n;
            }
            while (read(c, buf, sizeof(buf)) > 0) {
                /* until the client closes */
            }
        }
        _exit(0);
    }
    (void)close(fd);
    return ntohs(sa.sin_port);
}

static void server_done(void)
{
    if (server_pid > 0) {
        (void)kill(server_pid, SIGKILL);
        (void)waitpid(server_pid, NULL, 0);
        server_pid = 0;
    }
}

/* Open a plaintext loopback connection and send PING; returns exec's r. */
static int ping_against(const char *answer, size_t len, int delay_ms,
                        long budget, redisReply **rp)
{
    struct eotp_cfg cfg;
    struct eotp_redis *c = NULL;
    char url[64];
    char why[128];
    const char *argv[1] = {"PING"};
    struct eotp_redis_cmd cmd = {1, argv, NULL};
    int port = scripted_server(answer, len, delay_ms);
    int r;

    assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
    (void)snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
    assert_int_equal(eotp_cfg_set(&cfg, "redis_url", url, false, "t", &lg),
                     EOTP_OK);
    r = eotp_redis_open(&cfg, budget, &lg, &c, why, sizeof(why));
    if (r == EOTP_OK) {
        r = eotp_redis_exec(c, &cmd, 1, rp, why, sizeof(why));
        assert_int_equal(eotp_redis_round_trips(c), 1);
    }
    eotp_redis_close(c);
    eotp_cfg_free(&cfg);
    server_done();
    return r;
}

static void test_conn_good_and_hostile(void **state)
{
    redisReply *rp = NULL;
    char big[EOTP_REDIS_REPLY_MAX + 4096];
    struct timespec t0;
    struct timespec t1;
    long ms;

    (void)state;
    assert_int_equal(ping_against("+PONG\r\n", 7, 0, 2000, &rp), EOTP_OK);
    assert_int_equal(rp->type, REDIS_REPLY_STATUS);
    assert_string_equal(rp->str, "PONG");
    eotp_redis_reply_free(rp);

    /* Garbage. */
    assert_int_equal(ping_against("?what\r\n", 7, 0, 2000, &rp),
                     EOTP_E_BAD_RESPONSE);
    /* Huge array header: refused before any allocation. */
    assert_int_equal(ping_against("*100000000\r\n", 12, 0, 2000, &rp),
                     EOTP_E_BAD_RESPONSE);
    /* Bulk length beyond any buffer. */
    assert_int_equal(ping_against("$9223372036854775807\r\nab", 24, 0, 2000,
                                  &rp) < 0,
                     true);
    /* A reply larger than the bound. */
    big[0] = '$';
    (void)snprintf(big + 1, 16, "%d\r\n", EOTP_REDIS_REPLY_MAX + 1000);
    memset(big + strlen(big), 'x', sizeof(big) - strlen(big));
    assert_int_equal(ping_against(big, sizeof(big), 0, 2000, &rp),
                     EOTP_E_BAD_RESPONSE);
    /* A server that never answers: the budget ends the wait. */
    (void)clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ping_against("+PONG\r\n", 7, 3000, 300, &rp),
                     EOTP_E_TIMEOUT);
    (void)clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms < 2500);
    /* Closed without an answer. */
    assert_int_equal(ping_against("", 0, 0, 2000, &rp) < 0, true);
}

static void test_conn_refused(void **state)
{
    struct eotp_cfg cfg;
    struct eotp_redis *c = NULL;
    char why[128];
    int port = scripted_server("", 0, 0);

    (void)state;
    server_done(); /* the port is closed now */
    assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
    {
        char url[64];

        (void)snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
        assert_int_equal(eotp_cfg_set(&cfg, "redis_url", url, false, "t", &lg),
                         EOTP_OK);
    }
    assert_int_equal(eotp_redis_open(&cfg, 1000, &lg, &c, why, sizeof(why)),
                     EOTP_E_TRANSPORT);
    assert_null(c);
    eotp_cfg_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_loopback_and_safe),
        cmocka_unit_test(test_url_master),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_cfg_keys),
        cmocka_unit_test(test_cfg_refused),
        cmocka_unit_test(test_cfg_module_argument),
        cmocka_unit_test(test_session_bind_cert),
        cmocka_unit_test(test_conn_good_and_hostile),
        cmocka_unit_test(test_conn_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
