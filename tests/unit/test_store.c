/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store.c - the store interface (store.h), backend-agnostic: every
 * case runs against each backend of the table `backends` below.  A
 * backend is a factory that opens a fresh, empty store (and a cleanup);
 * a factory that returns 1 skips its backend (e.g. no server, not root).
 *
 * To add a backend (Redis): write open/cleanup functions like file_open()
 * and file_cleanup(), add a row to `backends`.  The cases use only
 * store.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/core/cfg.h"
#include "../../src/core/err.h"
#include "../../src/core/state.h"
#include "../../src/core/store.h"
#include "../../src/core/store_redis.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAC_A                                                                 \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define MAC_B                                                                 \
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void quiet(void *ctx, int prio, const char *line)
{
    (void)ctx;
    (void)prio;
    (void)line;
}

static const struct eotp_logger lg = {quiet, NULL, true};

/* ---- backends ----------------------------------------------------------- */

struct backend {
    const char *name;
    /* 0: *s is a fresh empty store; 1: skip this backend; -1: failure. */
    int (*open)(struct eotp_cfg *cfg, struct eotp_store **s);
    void (*cleanup)(struct eotp_cfg *cfg);
};

static char dir[64];

static int file_open(struct eotp_cfg *cfg, struct eotp_store **s)
{
    if (geteuid() != 0) {
        return 1; /* state_dir must be root-owned */
    }
    (void)snprintf(dir, sizeof(dir), "/tmp/eotp-unit-store.XXXXXX");
    if (mkdtemp(dir) == NULL || chmod(dir, 0700) != 0) {
        return -1;
    }
    free(cfg->state_dir);
    cfg->state_dir = strdup(dir);
    if (cfg->state_dir == NULL) {
        return -1;
    }
    return eotp_store_file_open(cfg, &lg, s) == EOTP_OK ? 0 : -1;
}

static void file_cleanup(struct eotp_cfg *cfg)
{
    char cmd[128];

    (void)cfg;
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        print_error("cannot remove %s\n", dir);
    }
}

/* Redis: EOTP_TEST_REDIS_URL and EOTP_TEST_REDIS_CA name a test server
 * (tests/redis/test_store_redis.sh sets them); a random dev_secret gives
 * each store a fleet key of its own, so it starts empty. */
static int redis_open(struct eotp_cfg *cfg, struct eotp_store **s)
{
    const char *url = getenv("EOTP_TEST_REDIS_URL");
    const char *ca = getenv("EOTP_TEST_REDIS_CA");
    char secret[40];

    if (url == NULL || ca == NULL) {
        return 1;
    }
    (void)snprintf(secret, sizeof(secret), "t-%ld-%d", (long)random(),
                   (int)getpid());
    free(cfg->dev_secret);
    cfg->dev_secret = strdup(secret);
    cfg->redis_url = strdup(url);
    cfg->redis_ca_file = strdup(ca);
    cfg->redis_timeout = 5000;
    cfg->redis_required = true;
    if (cfg->dev_secret == NULL || cfg->redis_url == NULL ||
        cfg->redis_ca_file == NULL) {
        return -1;
    }
    return eotp_store_redis_open(cfg, &lg, s) == EOTP_OK ? 0 : -1;
}

static void redis_cleanup(struct eotp_cfg *cfg)
{
    (void)cfg;
}

static const struct backend backends[] = {
    {"file", file_open, file_cleanup},
    {"redis", redis_open, redis_cleanup},
};

/* ---- fixtures ----------------------------------------------------------- */

struct fx {
    struct eotp_cfg cfg;
    struct eotp_store *s;
    struct eotp_store_who alice;
    struct eotp_store_who bob;
    struct eotp_store_limits lim;
    char key[EOTP_STORE_ID_HEX];
};

static void limits(struct eotp_store_limits *lim)
{
    memset(lim, 0, sizeof(*lim));
    lim->lockout.count = 3;
    lim->lockout.seconds = 900;
    lim->send.count = 2;
    lim->send.seconds = 900;
    lim->rhost.count = 0;
    lim->grace_period = 0;
    lim->max_attempts = 3;
}

static int fx_open(const struct backend *b, struct fx *x)
{
    int r;

    memset(x, 0, sizeof(*x));
    if (eotp_cfg_init(&x->cfg) != EOTP_OK) {
        return -1;
    }
    r = b->open(&x->cfg, &x->s);
    if (r != 0) {
        eotp_cfg_free(&x->cfg);
        return r;
    }
    limits(&x->lim);
    assert_int_equal(eotp_store_who(x->s, "alice", "192.0.2.7", &x->alice),
                     EOTP_OK);
    assert_int_equal(eotp_store_who(x->s, "bob", "192.0.2.7", &x->bob),
                     EOTP_OK);
    assert_int_equal(eotp_store_dest_key(x->s, "tpl", "+6591234567", x->key),
                     EOTP_OK);
    return 0;
}

static void fx_close(const struct backend *b, struct fx *x)
{
    eotp_store_close(x->s);
    b->cleanup(&x->cfg);
    eotp_cfg_free(&x->cfg);
}

/* begin with a send; returns the verdict. */
static enum eotp_store_verdict begin(struct fx *x,
                                     const struct eotp_store_who *who,
                                     const char *grace_mac,
                                     struct eotp_store_begin_res *res)
{
    struct eotp_store_begin_req req = {who, &x->lim, grace_mac, true, x->key};

    assert_int_equal(eotp_store_begin(x->s, &req, res), EOTP_OK);
    return res->verdict;
}

static void sent(struct fx *x, const struct eotp_store_who *who,
                 const struct eotp_store_begin_res *b,
                 enum eotp_store_sent_outcome outcome, const char *msgid,
                 struct eotp_store_sent_res *res)
{
    struct eotp_store_sent_req req;
    struct eotp_pending p;

    memset(&req, 0, sizeof(req));
    memset(&p, 0, sizeof(p));
    req.who = who;
    req.lim = &x->lim;
    req.outcome = outcome;
    req.send_tok = b->send_tok;
    req.rhost_tok = b->rhost_tok;
    req.dest_key = x->key;
    if (msgid != NULL) {
        (void)snprintf(p.id, sizeof(p.id), "%s", msgid);
        memcpy(p.key, x->key, sizeof(p.key));
        (void)snprintf(p.channel, sizeof(p.channel), "sms");
        p.time = (long long)time(NULL);
        req.pending = &p;
    }
    assert_int_equal(eotp_store_sent(x->s, &req, res), EOTP_OK);
}

/* One whole send: begin and sent. */
static enum eotp_store_verdict send_one(struct fx *x,
                                        const struct eotp_store_who *who,
                                        enum eotp_store_sent_outcome outcome,
                                        const char *msgid)
{
    struct eotp_store_begin_res b;
    struct eotp_store_sent_res sr;

    if (begin(x, who, NULL, &b) != EOTP_STORE_GO) {
        return b.verdict;
    }
    sent(x, who, &b, outcome, msgid, &sr);
    return EOTP_STORE_GO;
}

static enum eotp_store_verdict
attempt(struct fx *x, struct eotp_store_token *tok, long *wait)
{
    enum eotp_store_verdict v;

    assert_int_equal(eotp_store_attempt(x->s, &x->alice, &x->lim, &v, wait,
                                        tok),
                     EOTP_OK);
    return v;
}

static long finish(struct fx *x, const struct eotp_store_token *tok,
                   enum eotp_store_answer answer, const char *grace_mac)
{
    struct eotp_store_finish_req req;
    long wait = -1;

    memset(&req, 0, sizeof(req));
    req.who = &x->alice;
    req.lim = &x->lim;
    req.answer = answer;
    req.tok = *tok;
    req.msgid = "m1";
    req.grace_mac = grace_mac;
    assert_int_equal(eotp_store_finish(x->s, &req, &wait), EOTP_OK);
    return wait;
}

/* ---- cases -------------------------------------------------------------- */

static void case_send_limit(struct fx *x)
{
    struct eotp_store_begin_res b;

    assert_int_equal(send_one(x, &x->alice, EOTP_STORE_SENT, "m1"),
                     EOTP_STORE_GO);
    assert_int_equal(send_one(x, &x->alice, EOTP_STORE_SENT, "m2"),
                     EOTP_STORE_GO);
    assert_int_equal(begin(x, &x->alice, NULL, &b), EOTP_STORE_SEND_LIMIT);
    assert_true(b.wait > 0 && b.wait <= 900);
    /* The lookup works whatever the verdict: the newest code. */
    assert_true(b.have_pending);
    assert_string_equal(b.pending.id, "m2");
    /* Another user is not limited. */
    assert_int_equal(send_one(x, &x->bob, EOTP_STORE_SENT, "m3"),
                     EOTP_STORE_GO);
}

static void case_not_sent_gives_back(struct fx *x)
{
    x->lim.send.count = 1;
    assert_int_equal(send_one(x, &x->alice, EOTP_STORE_NOT_SENT, NULL),
                     EOTP_STORE_GO);
    assert_int_equal(send_one(x, &x->alice, EOTP_STORE_NOT_SENT, NULL),
                     EOTP_STORE_GO);
    /* A maybe-sent keeps the reservation. */
    assert_int_equal(send_one(x, &x->alice, EOTP_STORE_MAYBE_SENT, NULL),
                     EOTP_STORE_GO);
    assert_int_equal(send_one(x, &x->alice, EOTP_STORE_SENT, "m1"),
                     EOTP_STORE_SEND_LIMIT);
}

static void case_resend_reuses(struct fx *x)
{
    struct eotp_store_begin_res b;
    struct eotp_store_sent_res sr;

    x->lim.send.count = 2;
    assert_int_equal(send_one(x, &x->alice, EOTP_STORE_SENT, "m1"),
                     EOTP_STORE_GO);
    assert_int_equal(begin(x, &x->alice, NULL, &b), EOTP_STORE_GO);
    sent(x, &x->alice, &b, EOTP_STORE_RESEND, NULL, &sr);
    assert_true(sr.have_pending);
    assert_string_equal(sr.pending.id, "m1");
    assert_string_equal(sr.pending.channel, "sms");
    /* The reuse did not count: one more send is allowed. */
    assert_int_equal(send_one(x, &x->alice, EOTP_STORE_SENT, "m2"),
                     EOTP_STORE_GO);
    assert_int_equal(send_one(x, &x->alice, EOTP_STORE_SENT, "m3"),
                     EOTP_STORE_SEND_LIMIT);
}

static void case_rhost_limit(struct fx *x)
{
    x->lim.rhost.count = 1;
    x->lim.rhost.seconds = 900;
    assert_int_equal(send_one(x, &x->alice, EOTP_STORE_NOT_SENT, NULL),
                     EOTP_STORE_GO);
    assert_int_equal(send_one(x, &x->alice, EOTP_STORE_SENT, "m1"),
                     EOTP_STORE_GO);
    /* Another user from the same address. */
    assert_int_equal(send_one(x, &x->bob, EOTP_STORE_SENT, "m2"),
                     EOTP_STORE_RHOST_LIMIT);
}

static void case_attempts_reserved(struct fx *x)
{
    struct eotp_store_token t1;
    struct eotp_store_token t2;
    struct eotp_store_token t3;
    struct eotp_store_token t4;
    long wait = 0;

    x->lim.lockout.count = 2;
    /* Two sessions check answers at once: a third is refused. */
    assert_int_equal(attempt(x, &t1, &wait), EOTP_STORE_GO);
    assert_true(t1.v[0] != '\0');
    assert_int_equal(attempt(x, &t2, &wait), EOTP_STORE_GO);
    assert_int_equal(attempt(x, &t3, &wait), EOTP_STORE_LOCKED);
    assert_true(wait > 0);
    /* An unjudged answer gives its reservation back. */
    assert_int_equal(finish(x, &t1, EOTP_STORE_ANSWER_UNJUDGED, NULL), 0);
    assert_int_equal(attempt(x, &t3, &wait), EOTP_STORE_GO);
    /* Two wrong answers: the lockout is reached (the reservation of the
     * answer still being checked counts). */
    assert_true(finish(x, &t2, EOTP_STORE_ANSWER_WRONG, NULL) > 0);
    assert_true(finish(x, &t3, EOTP_STORE_ANSWER_WRONG, NULL) > 0);
    assert_int_equal(attempt(x, &t4, &wait), EOTP_STORE_LOCKED);
    /* No send while locked out. */
    assert_int_equal(send_one(x, &x->alice, EOTP_STORE_SENT, "m1"),
                     EOTP_STORE_LOCKED);
}

static void case_right_clears_and_grace(struct fx *x)
{
    struct eotp_store_begin_res b;
    struct eotp_store_token t;
    long wait = 0;

    x->lim.grace_period = 600;
    assert_int_equal(attempt(x, &t, &wait), EOTP_STORE_GO);
    assert_int_equal(finish(x, &t, EOTP_STORE_ANSWER_WRONG, NULL), 0);
    assert_int_equal(attempt(x, &t, &wait), EOTP_STORE_GO);
    assert_int_equal(finish(x, &t, EOTP_STORE_ANSWER_WRONG, NULL), 0);
    assert_int_equal(attempt(x, &t, &wait), EOTP_STORE_GO);
    assert_int_equal(finish(x, &t, EOTP_STORE_ANSWER_RIGHT, MAC_A), 0);
    /* The wrong codes are cleared: three more attempts go. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(attempt(x, &t, &wait), EOTP_STORE_GO);
        assert_int_equal(finish(x, &t, EOTP_STORE_ANSWER_UNJUDGED, NULL), 0);
    }
    /* The binding gives a grace period; another binding does not. */
    assert_int_equal(begin(x, &x->alice, MAC_A, &b), EOTP_STORE_GRACE);
    assert_int_equal(begin(x, &x->alice, MAC_B, &b), EOTP_STORE_GO);
    {
        struct eotp_store_sent_res sr;

        sent(x, &x->alice, &b, EOTP_STORE_NOT_SENT, NULL, &sr);
    }
    /* Off in this config: no grace. */
    x->lim.grace_period = 0;
    assert_int_equal(begin(x, &x->alice, MAC_A, &b), EOTP_STORE_GO);
    {
        struct eotp_store_sent_res sr;

        sent(x, &x->alice, &b, EOTP_STORE_NOT_SENT, NULL, &sr);
    }
}

static void put_code(struct fx *x, const char *id, const char *mac)
{
    struct eotp_store_begin_res b;
    struct eotp_store_sent_res sr;
    struct eotp_store_sent_req req;
    struct eotp_localcode c;
    long long now = (long long)time(NULL);

    assert_int_equal(begin(x, &x->alice, NULL, &b), EOTP_STORE_GO);
    memset(&c, 0, sizeof(c));
    (void)snprintf(c.id, sizeof(c.id), "%s", id);
    (void)snprintf(c.msgid, sizeof(c.msgid), "msg-%s", id);
    memcpy(c.key, x->key, sizeof(c.key));
    memcpy(c.mac, mac, 65);
    (void)snprintf(c.channel, sizeof(c.channel), "voice");
    c.created = now;
    c.expires = now + 300;
    memset(&req, 0, sizeof(req));
    req.who = &x->alice;
    req.lim = &x->lim;
    req.outcome = EOTP_STORE_SENT;
    req.send_tok = b.send_tok;
    req.rhost_tok = b.rhost_tok;
    req.dest_key = x->key;
    req.code = &c;
    assert_int_equal(eotp_store_sent(x->s, &req, &sr), EOTP_OK);
}

static enum eotp_store_verdict check(struct fx *x, const char *id,
                                     const char *mac, long *wait)
{
    struct eotp_store_check_req req = {&x->alice, &x->lim, id, mac, NULL};
    enum eotp_store_verdict v;

    assert_int_equal(eotp_store_check(x->s, &req, &v, wait), EOTP_OK);
    return v;
}

static void case_local_codes(struct fx *x)
{
    struct eotp_store_begin_res b;
    struct eotp_store_sent_res sr;
    long wait = 0;

    x->lim.send.count = 10;
    x->lim.lockout.count = 10;
    put_code(x, "0011223344556677", MAC_A);
    assert_int_equal(check(x, "0011223344556677", MAC_B, &wait),
                     EOTP_STORE_WRONG);
    assert_int_equal(wait, 0);
    assert_int_equal(check(x, "0011223344556677", MAC_A, &wait),
                     EOTP_STORE_RIGHT);
    /* Used once. */
    assert_int_equal(check(x, "0011223344556677", MAC_A, &wait),
                     EOTP_STORE_GONE);
    /* max_attempts wrong answers delete the code. */
    put_code(x, "8899aabbccddeeff", MAC_A);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(check(x, "8899aabbccddeeff", MAC_B, &wait),
                         EOTP_STORE_WRONG);
    }
    assert_int_equal(check(x, "8899aabbccddeeff", MAC_A, &wait),
                     EOTP_STORE_GONE);
    /* 3004 returns the newest code, without its mac. */
    put_code(x, "1111111111111111", MAC_A);
    assert_int_equal(begin(x, &x->alice, NULL, &b), EOTP_STORE_GO);
    sent(x, &x->alice, &b, EOTP_STORE_RESEND, NULL, &sr);
    assert_true(sr.have_code);
    assert_string_equal(sr.code.id, "1111111111111111");
    assert_string_equal(sr.code.msgid, "msg-1111111111111111");
    assert_true(sr.code.mac[0] == '\0');
    /* The lockout counts local wrong answers too (3 since the right
     * answer cleared them, and this one). */
    x->lim.lockout.count = 4;
    assert_int_equal(check(x, "1111111111111111", MAC_B, &wait),
                     EOTP_STORE_WRONG);
    assert_true(wait > 0);
    assert_int_equal(check(x, "1111111111111111", MAC_A, &wait),
                     EOTP_STORE_LOCKED);
}

/* Issue 11 item 2: a config with the lockout off or a shorter window
 * never erases what a stricter one counts. */
static void case_windows(struct fx *x)
{
    struct eotp_store_limits strict = x->lim;
    struct eotp_store_token t;
    long wait = 0;

    strict.lockout.count = 3;
    strict.lockout.seconds = 86400;
    x->lim = strict;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(attempt(x, &t, &wait), EOTP_STORE_GO);
        (void)finish(x, &t, EOTP_STORE_ANSWER_WRONG, NULL);
    }
    /* lockout = off: goes, reserves nothing, erases nothing. */
    x->lim.lockout.count = 0;
    assert_int_equal(attempt(x, &t, &wait), EOTP_STORE_GO);
    assert_true(t.v[0] == '\0');
    assert_int_equal(finish(x, &t, EOTP_STORE_ANSWER_WRONG, NULL), 0);
    assert_int_equal(send_one(x, &x->alice, EOTP_STORE_NOT_SENT, NULL),
                     EOTP_STORE_GO);
    /* A shorter window: not locked there, nothing trimmed. */
    x->lim.lockout.count = 3;
    x->lim.lockout.seconds = 1;
    sleep(2);
    assert_int_equal(attempt(x, &t, &wait), EOTP_STORE_GO);
    assert_int_equal(finish(x, &t, EOTP_STORE_ANSWER_UNJUDGED, NULL), 0);
    x->lim = strict;
    assert_int_equal(attempt(x, &t, &wait), EOTP_STORE_LOCKED);
    eotp_store_sweep(x->s);
    assert_int_equal(attempt(x, &t, &wait), EOTP_STORE_LOCKED);
}

static void case_show_reset(struct fx *x)
{
    static struct eotp_state st;
    bool present = true;
    bool existed = false;

    assert_int_equal(eotp_store_show(x->s, &x->alice, EOTP_STORE_USER, &st,
                                     &present),
                     EOTP_OK);
    assert_false(present);
    x->lim.rhost.count = 5;
    x->lim.rhost.seconds = 900;
    assert_int_equal(send_one(x, &x->alice, EOTP_STORE_SENT, "m1"),
                     EOTP_STORE_GO);
    assert_int_equal(eotp_store_show(x->s, &x->alice, EOTP_STORE_USER, &st,
                                     &present),
                     EOTP_OK);
    assert_true(present);
    assert_int_equal(st.sends.n, 1);
    assert_int_equal(st.npending, 1);
    assert_string_equal(st.pending[0].id, "m1");
    assert_int_equal(eotp_store_show(x->s, &x->alice, EOTP_STORE_RHOST, &st,
                                     &present),
                     EOTP_OK);
    assert_true(present);
    assert_int_equal(st.sends.n, 1);
    assert_int_equal(eotp_store_reset(x->s, &x->alice, EOTP_STORE_USER,
                                      &existed),
                     EOTP_OK);
    assert_true(existed);
    assert_int_equal(eotp_store_show(x->s, &x->alice, EOTP_STORE_USER, &st,
                                     &present),
                     EOTP_OK);
    assert_false(present);
    assert_int_equal(eotp_store_reset(x->s, &x->alice, EOTP_STORE_RHOST,
                                      &existed),
                     EOTP_OK);
    assert_true(existed);
    assert_int_equal(eotp_store_reset(x->s, &x->alice, EOTP_STORE_RHOST,
                                      &existed),
                     EOTP_OK);
    assert_false(existed);
}

/* Identifiers: hex only, addresses as the limits count them. */
static void case_ids(struct fx *x)
{
    struct eotp_store_who a;
    struct eotp_store_who b;

    assert_int_equal(strlen(x->alice.rhost_id), 64);
    assert_null(strstr(x->alice.rhost_id, "192"));
    assert_int_equal(strspn(x->key, "0123456789abcdef"), 64);
    assert_int_equal(eotp_store_who(x->s, "alice", "2001:db8::1", &a),
                     EOTP_OK);
    assert_int_equal(eotp_store_who(x->s, "alice", "2001:db8::2", &b),
                     EOTP_OK);
    assert_string_equal(a.rhost_id, b.rhost_id); /* one /64 */
    assert_int_equal(eotp_store_who(x->s, "alice", "::ffff:192.0.2.7", &a),
                     EOTP_OK);
    assert_string_equal(a.rhost_id, x->alice.rhost_id);
    assert_int_equal(eotp_store_who(x->s, "alice", NULL, &a), EOTP_OK);
    assert_string_equal(a.rhost_id, "");
    if (a.user_id[0] != '\0') {
        assert_int_equal(strspn(a.user_id, "0123456789abcdef"), 64);
    }
}

/* Generic records for later features (optional in a backend: a backend
 * without them answers EOTP_E_INTERNAL and the case ends there). */
static void case_generic(struct fx *x)
{
    struct eotp_rate two = {2, 900};
    char value[EOTP_STORE_VALUE_MAX];
    bool found = true;
    bool added = false;
    long wait = 0;
    int r;

    r = eotp_store_rec_get(x->s, "status", "1725407449772531712", value,
                           &found);
    if (r == EOTP_E_INTERNAL) {
        return;
    }
    assert_int_equal(r, EOTP_OK);
    assert_false(found);
    assert_int_equal(eotp_store_rec_put(x->s, "status", "1725407449772531712",
                                        "delivered sms 0.0123 = x", 60),
                     EOTP_OK);
    assert_int_equal(eotp_store_rec_get(x->s, "status", "1725407449772531712",
                                        value, &found),
                     EOTP_OK);
    assert_true(found);
    assert_string_equal(value, "delivered sms 0.0123 = x");
    assert_int_equal(eotp_store_rec_put(x->s, "status", "1725407449772531712",
                                        "", 60),
                     EOTP_OK);
    assert_int_equal(eotp_store_rec_get(x->s, "status", "1725407449772531712",
                                        value, &found),
                     EOTP_OK);
    assert_true(found);
    assert_string_equal(value, "");
    /* Put if newer: the greater order stays, an equal one replaces, a
     * plain value (or none) yields. */
    {
        bool kept = false;

        assert_int_equal(eotp_store_rec_put_newer(x->s, "dlv", "m-newer", "b",
                                                  20, 60, &kept),
                         EOTP_OK);
        assert_true(kept);
        assert_int_equal(eotp_store_rec_put_newer(x->s, "dlv", "m-newer", "a",
                                                  10, 60, &kept),
                         EOTP_OK);
        assert_false(kept);
        assert_int_equal(
            eotp_store_rec_get(x->s, "dlv", "m-newer", value, &found),
            EOTP_OK);
        assert_true(found);
        assert_string_equal(value, "b");
        assert_int_equal(eotp_store_rec_put_newer(x->s, "dlv", "m-newer", "c",
                                                  20, 60, &kept),
                         EOTP_OK);
        assert_true(kept);
        assert_int_equal(eotp_store_rec_put_newer(x->s, "dlv", "m-newer",
                                                  "d e:f", 9007199254740991LL,
                                                  60, &kept),
                         EOTP_OK);
        assert_true(kept);
        assert_int_equal(
            eotp_store_rec_get(x->s, "dlv", "m-newer", value, &found),
            EOTP_OK);
        assert_string_equal(value, "d e:f");
        assert_int_equal(eotp_store_rec_put(x->s, "dlv", "m-newer", "plain",
                                            60),
                         EOTP_OK);
        assert_int_equal(eotp_store_rec_put_newer(x->s, "dlv", "m-newer", "g",
                                                  0, 60, &kept),
                         EOTP_OK);
        assert_true(kept);
        assert_int_equal(
            eotp_store_rec_get(x->s, "dlv", "m-newer", value, &found),
            EOTP_OK);
        assert_string_equal(value, "g");
        assert_int_equal(eotp_store_rec_put_newer(x->s, "dlv", "m-newer", "h",
                                                  -1, 60, &kept),
                         EOTP_E_INTERNAL);
        assert_int_equal(eotp_store_rec_put_newer(x->s, "dlv", "m-newer", "h",
                                                  9007199254740992LL, 60,
                                                  &kept),
                         EOTP_E_INTERNAL);
        assert_false(kept);
    }
    /* Used once. */
    assert_int_equal(eotp_store_add_once(x->s, "rescue", MAC_A, 60, &added),
                     EOTP_OK);
    assert_true(added);
    assert_int_equal(eotp_store_add_once(x->s, "rescue", MAC_A, 60, &added),
                     EOTP_OK);
    assert_false(added);
    assert_int_equal(eotp_store_add_once(x->s, "rescue", MAC_B, 60, &added),
                     EOTP_OK);
    assert_true(added);
    /* A rate limit. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(eotp_store_rate_take(x->s, "notify", MAC_A, &two,
                                              &wait),
                         EOTP_OK);
        assert_int_equal(wait, 0);
    }
    assert_int_equal(eotp_store_rate_take(x->s, "notify", MAC_A, &two, &wait),
                     EOTP_OK);
    assert_true(wait > 0);
    /* A record may live 30 days (an address seen, notify.c), longer
     * than any rate window; a rate window may not. */
    assert_int_equal(eotp_store_rec_put(x->s, "seen", MAC_A, "1",
                                        30L * 86400),
                     EOTP_OK);
    assert_int_equal(eotp_store_rec_get(x->s, "seen", MAC_A, value, &found),
                     EOTP_OK);
    assert_true(found);
    assert_string_equal(value, "1");
    assert_int_equal(eotp_store_add_once(x->s, "seen", MAC_B, 30L * 86400,
                                         &added),
                     EOTP_OK);
    assert_true(added);
    assert_int_equal(eotp_store_add_once(x->s, "seen", MAC_B, 30L * 86400,
                                         &added),
                     EOTP_OK);
    assert_false(added);
    assert_int_equal(eotp_store_rec_put(x->s, "seen", MAC_A, "1",
                                        EOTP_REC_TTL_MAX + 1),
                     EOTP_E_INTERNAL);
    {
        struct eotp_rate month = {1, 30L * 86400};

        assert_int_equal(eotp_store_rate_take(x->s, "notify", MAC_B, &month,
                                              &wait),
                         EOTP_E_INTERNAL);
    }
    /* Bad names and values are refused before the backend. */
    assert_int_equal(eotp_store_rec_put(x->s, "Bad", "x", "v", 60),
                     EOTP_E_INTERNAL);
    assert_int_equal(eotp_store_rec_put(x->s, "ok", "../x", "v", 60),
                     EOTP_E_INTERNAL);
    assert_int_equal(eotp_store_rec_put(x->s, "ok", "x", "a\nb", 60),
                     EOTP_E_INTERNAL);
    assert_int_equal(eotp_store_rec_put(x->s, "ok", "x", "v", 0),
                     EOTP_E_INTERNAL);
}

/* Entries in dir d other than . and .. (-1: cannot open). */
static int dir_entries(const char *d)
{
    DIR *dp = opendir(d);
    struct dirent *e;
    int n = 0;

    if (dp == NULL) {
        return -1;
    }
    while ((e = readdir(dp)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    (void)closedir(dp);
    return n;
}

/* Reads of generic records at the prompt (issue 14): rec_peek answers as
 * rec_get; the file store's reads create nothing, not even state_dir. */
static void case_peek(struct fx *x)
{
    char value[EOTP_STORE_VALUE_MAX];
    bool found = true;
    bool is_file = strcmp(eotp_store_name(x->s), "file") == 0;

    if (is_file) {
        int before = dir_entries(x->cfg.state_dir);

        assert_int_equal(eotp_store_rec_get(x->s, "dlv", "17254074497725",
                                            value, &found),
                         EOTP_OK);
        assert_false(found);
        assert_int_equal(eotp_store_rec_peek(x->s, "dlv", "17254074497725", 20,
                                             value, &found),
                         EOTP_OK);
        assert_false(found);
        assert_int_equal(dir_entries(x->cfg.state_dir), before);
    }
    /* Redis: a peek never connects; the put opens the connection. */
    assert_int_equal(eotp_store_rec_put(x->s, "dlv", "17254074497725",
                                        "v1 s=sent c=sms t=5 e=0", 60),
                     EOTP_OK);
    assert_int_equal(eotp_store_rec_peek(x->s, "dlv", "17254074497725", 20,
                                         value, &found),
                     EOTP_OK);
    assert_true(found);
    assert_string_equal(value, "v1 s=sent c=sms t=5 e=0");
    assert_int_equal(eotp_store_rec_peek(x->s, "dlv", "17254074497726", 20,
                                         value, &found),
                     EOTP_OK);
    assert_false(found);
    assert_string_equal(value, "");
    assert_int_equal(eotp_store_rec_peek(x->s, "dlv", "17254074497725", 0,
                                         value, &found),
                     EOTP_E_INTERNAL);
    if (is_file) {
        char gone[96];
        struct eotp_cfg *cfg = &x->cfg;
        struct eotp_store *s2 = NULL;

        /* A state_dir that does not exist is not created by a read. */
        (void)snprintf(gone, sizeof(gone), "%s/none", cfg->state_dir);
        free(cfg->state_dir);
        cfg->state_dir = strdup(gone);
        assert_non_null(cfg->state_dir);
        assert_int_equal(eotp_store_file_open(cfg, &lg, &s2), EOTP_OK);
        assert_int_equal(eotp_store_rec_get(s2, "dlv", "1", value, &found),
                         EOTP_OK);
        assert_false(found);
        eotp_store_close(s2);
        assert_int_equal(access(gone, F_OK), -1);
    }
}

/* ---- the table ---------------------------------------------------------- */

struct scase {
    const char *name;
    void (*run)(struct fx *x);
};

static const struct scase cases[] = {
    {"send_limit", case_send_limit},
    {"not_sent_gives_back", case_not_sent_gives_back},
    {"resend_reuses", case_resend_reuses},
    {"rhost_limit", case_rhost_limit},
    {"attempts_reserved", case_attempts_reserved},
    {"right_clears_and_grace", case_right_clears_and_grace},
    {"local_codes", case_local_codes},
    {"windows", case_windows},
    {"show_reset", case_show_reset},
    {"ids", case_ids},
    {"generic", case_generic},
    {"peek", case_peek},
};

static void run_case(void **state)
{
    const struct scase *c = *state;

    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        struct fx x;
        int r = fx_open(&backends[i], &x);

        if (r == 1) {
            continue;
        }
        assert_int_equal(r, 0);
        print_message("  %s on %s\n", c->name, backends[i].name);
        c->run(&x);
        fx_close(&backends[i], &x);
    }
}

int main(void)
{
    struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0])];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&tests[i], 0, sizeof(tests[i]));
        tests[i].name = cases[i].name;
        tests[i].test_func = run_case;
        tests[i].initial_state = (void *)(uintptr_t)&cases[i];
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
