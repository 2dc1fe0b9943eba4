/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redis_probe.c - drive the module's Redis connection layer from the
 * shell tests: read a config file, open a connection exactly as a login
 * does, send one command (or several, separated by ";"), print replies.
 *
 *   redis_probe CONF CMD [ARG...] [; CMD [ARG...]]...
 *   redis_probe CONF --rs OP KEY LIMIT MS VALUE [; OP KEY ...]...
 *       (OP: take check count add zrem get ttl set del; VALUE "-": none)
 *       prints "limited STEP WAIT_MS" or "ok" and one "step N NUM VAL"
 *       line per step
 *   redis_probe --script        print the Lua script
 *   redis_probe CONF --doctor   doctor's Redis checks (doctor_redis.c)
 *   redis_probe CONF --post CMD [ARG...] [; ...]
 *       written with eotp_redis_post() (no reply awaited, not even at
 *       close); prints "posted" and the round trips
 *
 * Output: "open ok node=URL" or "open failed err=REASON why=TEXT", then
 * one line per reply ("status PONG", "string x", "integer 3", "nil",
 * "error ...", "array N" followed by its elements indented), then
 * "round_trips N".  Exit 0 when every reply arrived, 2 otherwise.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cli/doctor_redis.h"
#include "../../src/core/cfg.h"
#include "../../src/core/err.h"
#include "../../src/core/redis.h"
#include "../../src/core/redis_state.h"

static void emit(void *ctx, int prio, const char *line)
{
    (void)ctx;
    (void)prio;
    fprintf(stderr, "log: %s\n", line);
}

static void print_reply(const redisReply *r, int depth)
{
    printf("%*s", depth * 2, "");
    switch (r->type) {
    case REDIS_REPLY_STATUS:
        printf("status %s\n", r->str);
        break;
    case REDIS_REPLY_ERROR:
        printf("error %s\n", r->str);
        break;
    case REDIS_REPLY_STRING:
        printf("string %.*s\n", (int)r->len, r->str);
        break;
    case REDIS_REPLY_INTEGER:
        printf("integer %lld\n", r->integer);
        break;
    case REDIS_REPLY_NIL:
        printf("nil\n");
        break;
    case REDIS_REPLY_ARRAY:
        printf("array %zu\n", r->elements);
        for (size_t i = 0; i < r->elements; i++) {
            print_reply(r->element[i], depth + 1);
        }
        break;
    default:
        printf("unknown\n");
    }
}

static int op_of(const char *s)
{
    static const char *const names[] = {"take",  "check", "count",   "add",
                                        "zrem",  "get",   "ttl",     "set",
                                        "del",   "hget",  "hput",    "hdelv",
                                        "cfind", "ccmp",  "cput",    "cwrong",
                                        "cdel",  "lease", "unlease", "once"};

    for (int i = 0; i < 20; i++) {
        if (strcmp(s, names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/* --rs mode: argv[i..] are steps of five words separated by ";". */
static int run_rs(struct eotp_redis *c, int argc, char **argv, int i)
{
    struct eotp_rs_step st[EOTP_RS_STEPS_MAX];
    struct eotp_rs_result res;
    char why[256] = "";
    size_t n = 0;
    int r;

    while (i + 5 <= argc && n < EOTP_RS_STEPS_MAX) {
        long long lim = strtoll(argv[i + 2], NULL, 10);
        long long ms = strtoll(argv[i + 3], NULL, 10);

        memset(&st[n], 0, sizeof(st[n]));
        st[n].op = op_of(argv[i]);
        st[n].key = argv[i + 1];
        st[n].limit = lim;
        st[n].ms = ms;
        st[n].value = strcmp(argv[i + 4], "-") == 0 ? NULL : argv[i + 4];
        n++;
        i += 5;
        if (i < argc && strcmp(argv[i], ";") == 0) {
            i++;
        }
    }
    r = eotp_rs_run(c, st, n, &res, why, sizeof(why));
    if (r != EOTP_OK) {
        printf("rs failed err=%s why=%s\n", eotp_err_reason(r), why);
        return 2;
    }
    if (res.limited) {
        printf("limited %zu %lld\n", res.step + 1, res.wait_ms);
    } else {
        printf("ok\n");
        for (size_t k = 0; k < n; k++) {
            printf("step %zu %lld %s\n", k + 1, res.num[k], res.val[k]);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct eotp_logger lg = {emit, NULL, true};
    struct eotp_cfg cfg;
    struct eotp_redis *c = NULL;
    struct eotp_redis_cmd cmd[EOTP_REDIS_PIPE_MAX];
    redisReply *rp[EOTP_REDIS_PIPE_MAX];
    char why[256] = "";
    size_t n = 0;
    int start = 2;
    int r;

    if (argc == 2 && strcmp(argv[1], "--script") == 0) {
        fputs(eotp_rs_script(), stdout);
        return 0;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: redis_probe CONF CMD [ARG...] [; ...]\n");
        return 2;
    }
    if (eotp_cfg_init(&cfg) != EOTP_OK ||
        eotp_cfg_load_file(&cfg, argv[1], &lg) != EOTP_OK ||
        eotp_cfg_validate(&cfg, &lg) != EOTP_OK) {
        eotp_cfg_free(&cfg);
        return 2;
    }
    if (strcmp(argv[2], "--doctor") == 0) {
        int fails = eotp_doctor_redis(&cfg, &lg, stdout);

        printf("fails %d\n", fails);
        eotp_cfg_free(&cfg);
        return fails == 0 ? 0 : 1;
    }
    if (strcmp(argv[2], "--post") == 0) {
        start = 3;
    }
    for (int i = start; i <= argc; i++) {
        if (i == argc || strcmp(argv[i], ";") == 0) {
            if (i > start && n < EOTP_REDIS_PIPE_MAX) {
                cmd[n].argc = i - start;
                cmd[n].argv = (const char *const *)(argv + start);
                cmd[n].argvlen = NULL;
                n++;
            }
            start = i + 1;
        }
    }
    r = eotp_redis_open(&cfg, cfg.redis_timeout, &lg, &c, why, sizeof(why));
    if (r != EOTP_OK) {
        printf("open failed err=%s why=%s\n", eotp_err_reason(r), why);
        eotp_cfg_free(&cfg);
        return 2;
    }
    printf("open ok node=%s\n", eotp_redis_node(c));
    if (strcmp(argv[2], "--post") == 0) {
        r = eotp_redis_post(c, cmd, n, why, sizeof(why));
        printf(r == EOTP_OK ? "posted\n" : "post failed why=%s\n", why);
        printf("round_trips %u\n", eotp_redis_round_trips(c));
        eotp_redis_close(c);
        eotp_cfg_free(&cfg);
        return r == EOTP_OK ? 0 : 2;
    }
    if (strcmp(argv[2], "--rs") == 0) {
        r = run_rs(c, argc, argv, 3);
        printf("round_trips %u\n", eotp_redis_round_trips(c));
        eotp_redis_close(c);
        eotp_cfg_free(&cfg);
        return r;
    }
    r = eotp_redis_exec(c, cmd, n, rp, why, sizeof(why));
    if (r != EOTP_OK) {
        printf("exec failed err=%s why=%s\n", eotp_err_reason(r), why);
    } else {
        for (size_t i = 0; i < n; i++) {
            print_reply(rp[i], 0);
            eotp_redis_reply_free(rp[i]);
        }
    }
    printf("used node=%s\n", eotp_redis_node(c));
    printf("round_trips %u\n", eotp_redis_round_trips(c));
    eotp_redis_close(c);
    eotp_cfg_free(&cfg);
    return r == EOTP_OK ? 0 : 2;
}
