/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_state.c - state records: format and parser (every way a record can
 * be damaged), sliding-window limits, record names, locking and atomic
 * files in a real directory, the host key, the sweep, grace bindings.
 *
 * The directory tests need root (state_dir must be root-owned) and are
 * skipped otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/core/cfg.h"
#include "../../src/core/err.h"
#include "../../src/core/grace.h"
#include "../../src/core/limits.h"
#include "../../src/core/state.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define KEY64                                                                 \
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define MAC64                                                                 \
    "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static struct eotp_state st; /* large: not on the stack */
static struct eotp_state st2;

/* ---- a logger that keeps the last line ---------------------------------- */

static char last_line[1024];
static int nlines;

static void keep(void *ctx, int prio, const char *line)
{
    (void)ctx;
    (void)prio;
    (void)snprintf(last_line, sizeof(last_line), "%s", line);
    nlines++;
}

static const struct eotp_logger lg = {keep, NULL, true};

static int parse(const char *text)
{
    return eotp_state_parse(text, strlen(text), &st);
}

/* ---- format and parse --------------------------------------------------- */

static void fill(struct eotp_state *s)
{
    memset(s, 0, sizeof(*s));
    s->sends.n = 2;
    s->sends.t[0] = 1000;
    s->sends.t[1] = 1005;
    s->wrong.n = 1;
    s->wrong.t[0] = 1003;
    s->npending = 1;
    (void)snprintf(s->pending[0].id, sizeof(s->pending[0].id),
                   "1725407449772531712");
    memcpy(s->pending[0].key, KEY64, 65);
    (void)snprintf(s->pending[0].channel, sizeof(s->pending[0].channel),
                   "sms");
    s->pending[0].time = 1001;
    s->ncodes = 1;
    (void)snprintf(s->codes[0].id, sizeof(s->codes[0].id), "00112233aabbccdd");
    (void)snprintf(s->codes[0].msgid, sizeof(s->codes[0].msgid), "42");
    memcpy(s->codes[0].key, KEY64, 65);
    memcpy(s->codes[0].mac, MAC64, 65);
    (void)snprintf(s->codes[0].channel, sizeof(s->codes[0].channel), "voice");
    s->codes[0].created = 1002;
    s->codes[0].expires = 1302;
    s->codes[0].wrong = 2;
    s->ngrace = 1;
    memcpy(s->grace[0].mac, MAC64, 65);
    s->grace[0].time = 1004;
    s->sends.window = 900;
    s->wrong.window = 600;
    s->grace_window = 60;
}

static void test_roundtrip(void **state)
{
    static char buf[EOTP_STATE_MAX_SIZE + 1];
    static char buf2[EOTP_STATE_MAX_SIZE + 1];
    int n;

    (void)state;
    fill(&st2);
    n = eotp_state_format(&st2, buf, sizeof(buf));
    assert_true(n > 0);
    assert_string_equal(buf, "version=3\n"
                             "send=1000,1005\n"
                             "send_window=900\n"
                             "wrong=1003\n"
                             "wrong_window=600\n"
                             "pending=1725407449772531712 " KEY64 " sms 1001\n"
                             "code=00112233aabbccdd 42 " KEY64 " " MAC64
                             " voice 1002 1302 2\n"
                             "grace=" MAC64 " 1004\n"
                             "grace_window=60\n"
                             "end=\n");
    assert_int_equal(eotp_state_parse(buf, (size_t)n, &st), EOTP_OK);
    assert_int_equal(eotp_state_format(&st, buf2, sizeof(buf2)), n);
    assert_string_equal(buf, buf2);
    assert_int_equal(st.codes[0].wrong, 2);
    assert_int_equal(st.pending[0].time, 1001);
    assert_int_equal(st.sends.window, 900);
    assert_int_equal(st.wrong.window, 600);
    assert_int_equal(st.grace_window, 60);
}

/* Whatever is in memory, the writer only writes what reads back. */
static void test_format_never_corrupt(void **state)
{
    static char buf[EOTP_STATE_MAX_SIZE + 1];
    int n;

    (void)state;
    fill(&st2);
    (void)snprintf(st2.pending[0].channel, sizeof(st2.pending[0].channel),
                   "s m\ns");
    (void)snprintf(st2.codes[0].msgid, sizeof(st2.codes[0].msgid), "a b");
    st2.codes[0].wrong = 99999;
    st2.sends.t[1] = -5;
    st2.grace[0].mac[3] = 'X';
    n = eotp_state_format(&st2, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(eotp_state_parse(buf, (size_t)n, &st), EOTP_OK);
    assert_int_equal(st.sends.n, 1);
    assert_string_equal(st.pending[0].channel, "unknown");
    assert_string_equal(st.codes[0].msgid, "none");
    assert_int_equal(st.codes[0].wrong, 1000);
    assert_int_equal(st.ngrace, 0);
    (void)snprintf(st2.pending[0].id, sizeof(st2.pending[0].id), "x y");
    st2.sends.n = 0;
    n = eotp_state_format(&st2, buf, sizeof(buf));
    assert_int_equal(eotp_state_parse(buf, (size_t)n, &st), EOTP_OK);
    assert_int_equal(st.npending, 0);
    assert_null(strstr(buf, "send="));
}

static void test_empty(void **state)
{
    char buf[64];

    (void)state;
    memset(&st2, 0, sizeof(st2));
    assert_true(eotp_state_is_empty(&st2));
    assert_int_equal(eotp_state_format(&st2, buf, sizeof(buf)), 15);
    assert_string_equal(buf, "version=3\nend=\n");
    assert_int_equal(parse(buf), EOTP_OK);
    assert_true(eotp_state_is_empty(&st));
    assert_int_equal(eotp_state_parse("", 0, &st), EOTP_OK);
    assert_true(eotp_state_is_empty(&st));
    assert_int_equal(eotp_state_format(&st2, buf, 10), EOTP_E_STATE);
}

static void test_parse_sorts_and_skips_unknown(void **state)
{
    (void)state;
    assert_int_equal(parse("version=2\nsend=30,10,20\nfuture_key=x y\nend=\n"),
                     EOTP_OK);
    assert_int_equal(st.sends.n, 3);
    assert_int_equal(st.sends.t[0], 10);
    assert_int_equal(st.sends.t[2], 30);
}

static void test_parse_rejects(void **state)
{
    static const char *const bad[] = {
        "",                                         /* placeholder, skipped */
        "send=1\nend=\n",                           /* no version */
        "version=1\nend=\n",                        /* old version */
        "version=4\nend=\n",                        /* newer version */
        "version=3\nvalue=12\nend=\n",              /* no space */
        "version=3\nvalue=x y\nend=\n",             /* bad time */
        "version=3\nvalue=1 a\nvalue=1 b\nend=\n",  /* twice */
        "version=3\nvalue=1 a\tb\nend=\n",          /* control char */
        "version=3\nsend=1\nsend_window=0\nend=\n", /* window 0 */
        "version=3\nsend=1\nsend_window=604801\nend=\n", /* too long */
        "version=3\ngrace_window=86401\nend=\n",
        "version=2\nsend=1\n",                    /* no end line */
        "version=2\nsend=1\nend=",                /* no final newline */
        "version=2\nend=\nsend=1\n",              /* text after the end */
        "version=2\nsend=1\nsend=2\nend=\n",      /* given twice */
        "version=2\nsend=\nend=\n",               /* empty list */
        "version=2\nsend=1,\nend=\n",             /* trailing comma */
        "version=2\nsend=1,,2\nend=\n",           /* empty item */
        "version=2\nsend=-1\nend=\n",             /* negative */
        "version=2\nsend=+1\nend=\n",             /* sign */
        "version=2\nsend=99999999999999\nend=\n", /* absurd time */
        "version=2\nwrong=a\nend=\n",
        "version=2\nnoequals\nend=\n",
        "version=2\nbad key=1\nend=\n",
        "version=2\npending=1 " KEY64 " sms\nend=\n", /* 3 fields */
        "version=2\npending=1 " KEY64 " sms 5 6\nend=\n",
        "version=2\npending=1  " KEY64 " sms 5\nend=\n", /* double space */
        "version=2\npending=1 " KEY64 "0 sms 5\nend=\n", /* 65 hex */
        "version=2\npending=1 " MAC64 " s;s 5\nend=\n",
        "version=2\npending=a/b " KEY64 " sms 5\nend=\n",
        "version=2\ngrace=" MAC64 "\nend=\n",
        "version=2\ngrace=" MAC64 " x\nend=\n",
        "version=2\ngrace="
        "FEDCBA9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
        " 1\nend=\n",
        "version=2\ncode=0011 42 " KEY64 " " MAC64 " sms 1 2 0\nend=\n",
        "version=2\ncode=00112233aabbccdd 42 " KEY64 " " MAC64
        " sms 1 2\nend=\n",
        "version=2\ncode=00112233aabbccdd 42 " KEY64 " " MAC64
        " sms 1 2 5000\nend=\n",
        "version=2\r\nend=\n",
    };

    (void)state;
    for (size_t i = 1; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&st, 0x55, sizeof(st));
        if (parse(bad[i]) != EOTP_E_STATE) {
            fail_msg("accepted bad record %zu: %s", i, bad[i]);
        }
    }
}

static void test_parse_rejects_nul_and_size(void **state)
{
    static char big[EOTP_STATE_MAX_SIZE + 2];

    (void)state;
    assert_int_equal(eotp_state_parse("version=2\n\0end=\n", 16, &st),
                     EOTP_E_STATE);
    memset(big, '#', sizeof(big));
    assert_int_equal(eotp_state_parse(big, EOTP_STATE_MAX_SIZE + 1, &st),
                     EOTP_E_STATE);
}

/* Every entry list is bounded; one more than the bound is refused. */
static void test_parse_bounds(void **state)
{
    static char buf[EOTP_STATE_MAX_SIZE + 1];
    size_t o;

    (void)state;
    o = (size_t)snprintf(buf, sizeof(buf), "version=2\nsend=");
    for (int i = 0; i < EOTP_EVENTS_MAX; i++) {
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%d",
                              i > 0 ? "," : "", 1000000 + i);
    }
    (void)snprintf(buf + o, sizeof(buf) - o, "\nend=\n");
    assert_int_equal(parse(buf), EOTP_OK);
    assert_int_equal(st.sends.n, EOTP_EVENTS_MAX);
    (void)snprintf(buf + o, sizeof(buf) - o, ",5\nend=\n");
    assert_int_equal(parse(buf), EOTP_E_STATE);

    o = (size_t)snprintf(buf, sizeof(buf), "version=2\n");
    for (int i = 0; i <= EOTP_GRACE_MAX; i++) {
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "grace=" MAC64 " %d\n",
                              i);
    }
    (void)snprintf(buf + o, sizeof(buf) - o, "end=\n");
    assert_int_equal(parse(buf), EOTP_E_STATE);

    o = (size_t)snprintf(buf, sizeof(buf), "version=2\n");
    for (int i = 0; i <= EOTP_PENDING_MAX; i++) {
        o += (size_t)snprintf(buf + o, sizeof(buf) - o,
                              "pending=%d " KEY64 " sms 1\n", i);
    }
    (void)snprintf(buf + o, sizeof(buf) - o, "end=\n");
    assert_int_equal(parse(buf), EOTP_E_STATE);
}

/* The biggest record we can build still fits the file bound. */
static void test_format_bound(void **state)
{
    static char buf[EOTP_STATE_MAX_SIZE + 1];

    (void)state;
    memset(&st2, 0, sizeof(st2));
    for (int i = 0; i < EOTP_EVENTS_MAX; i++) {
        st2.sends.t[i] = (1LL << 40) - EOTP_EVENTS_MAX + i;
        st2.wrong.t[i] = (1LL << 40) - EOTP_EVENTS_MAX + i;
    }
    st2.sends.n = st2.wrong.n = EOTP_EVENTS_MAX;
    for (int i = 0; i < EOTP_LOCALCODES_MAX; i++) {
        fill(&st);
        st2.codes[i] = st.codes[0];
        (void)snprintf(st2.codes[i].msgid, sizeof(st2.codes[i].msgid), "%0*d",
                       EOTP_MSGID_MAX, i);
    }
    st2.ncodes = EOTP_LOCALCODES_MAX;
    for (int i = 0; i < EOTP_PENDING_MAX; i++) {
        st2.pending[i] = st.pending[0];
        (void)snprintf(st2.pending[i].id, sizeof(st2.pending[i].id), "%0*d",
                       EOTP_MSGID_MAX, i);
    }
    st2.npending = EOTP_PENDING_MAX;
    for (int i = 0; i < EOTP_GRACE_MAX; i++) {
        st2.grace[i] = st.grace[0];
    }
    st2.ngrace = EOTP_GRACE_MAX;
    assert_true(eotp_state_format(&st2, buf, sizeof(buf)) > 0);
    assert_int_equal(eotp_state_parse(buf, strlen(buf), &st), EOTP_OK);
}

/* ---- limits ------------------------------------------------------------- */

static void test_rate_wait(void **state)
{
    struct eotp_rate r5 = {5, 900};
    struct eotp_rate off = {0, 0};
    struct eotp_events *ev = &st.sends;

    (void)state;
    memset(&st, 0, sizeof(st));
    for (int i = 0; i < 4; i++) {
        assert_int_equal(eotp_rate_wait(ev, &r5, 10000), 0);
        eotp_events_add(ev, 10000 + i);
    }
    assert_int_equal(eotp_rate_wait(ev, &r5, 10004), 0);
    eotp_events_add(ev, 10004);
    /* Five in the window: the next one when the first leaves it. */
    assert_int_equal(eotp_rate_wait(ev, &r5, 10004), 896);
    assert_int_equal(eotp_rate_wait(ev, &r5, 10899), 1);
    assert_int_equal(eotp_rate_wait(ev, &r5, 10900), 0);
    assert_int_equal(eotp_events_count(ev, 900, 10004), 5);
    assert_int_equal(eotp_events_count(ev, 900, 10901), 3);
    assert_int_equal(eotp_rate_wait(ev, &off, 10004), 0);
    eotp_events_prune(ev, 900, 10901);
    assert_int_equal(ev->n, 3);
    assert_int_equal(ev->t[0], 10002);
    assert_true(eotp_events_remove(ev, 10003));
    assert_false(eotp_events_remove(ev, 10003));
    assert_int_equal(ev->n, 2);
}

static void test_rate_bounds(void **state)
{
    struct eotp_rate big = {1000000, 60};
    struct eotp_events *ev = &st.sends;

    (void)state;
    memset(&st, 0, sizeof(st));
    /* The list keeps the newest EOTP_EVENTS_MAX: a larger limit acts as
     * EOTP_EVENTS_MAX (stricter, never looser). */
    for (int i = 0; i < EOTP_EVENTS_MAX + 10; i++) {
        eotp_events_add(ev, 5000);
    }
    assert_int_equal(ev->n, EOTP_EVENTS_MAX);
    assert_true(eotp_rate_wait(ev, &big, 5000) > 0);
    /* Kept sorted when the clock steps back. */
    memset(&st, 0, sizeof(st));
    eotp_events_add(ev, 300);
    eotp_events_add(ev, 100);
    eotp_events_add(ev, 200);
    assert_int_equal(ev->t[0], 100);
    assert_int_equal(ev->t[1], 200);
    assert_int_equal(ev->t[2], 300);
    /* Events from far in the future are dropped by the prune. */
    eotp_events_add(ev, 1000000);
    eotp_events_prune(ev, 900, 400);
    assert_int_equal(ev->n, 3);
}

static void test_prune_user(void **state)
{
    struct eotp_cfg cfg;

    (void)state;
    assert_int_equal(eotp_cfg_init(&cfg), EOTP_OK);
    cfg.grace_period = 60;
    fill(&st);
    /* At 1100 everything is live. */
    eotp_limits_prune_user(&st, &cfg, 1060);
    assert_int_equal(st.sends.n, 2);
    assert_int_equal(st.npending, 1);
    assert_int_equal(st.ncodes, 1);
    assert_int_equal(st.ngrace, 1);
    /* Grace over at 1064, the code expired at 1302, pending after 11 min. */
    eotp_limits_prune_user(&st, &cfg, 1064);
    assert_int_equal(st.ngrace, 0);
    eotp_limits_prune_user(&st, &cfg, 1302);
    assert_int_equal(st.ncodes, 0);
    eotp_limits_prune_user(&st, &cfg, 1001 + EOTP_PENDING_MAX_AGE);
    assert_int_equal(st.npending, 0);
    eotp_limits_prune_user(&st, &cfg, 1005 + 900);
    assert_int_equal(st.sends.n, 0);
    assert_int_equal(st.wrong.n, 0);
    assert_true(eotp_state_is_empty(&st));
    /* A limit switched off keeps what the list's window needs (another
     * service may count them), then forgets them. */
    fill(&st);
    cfg.send_limit.count = 0;
    eotp_limits_prune_user(&st, &cfg, 1006);
    assert_int_equal(st.sends.n, 2);
    assert_int_equal(st.sends.window, 900);
    eotp_limits_prune_user(&st, &cfg, 1005 + 900);
    assert_int_equal(st.sends.n, 0);
    assert_int_equal(st.sends.window, 0);
    /* A local code claiming a lifetime longer than any code_ttl is
     * dropped. */
    fill(&st);
    st.codes[0].expires = st.codes[0].created + 601;
    eotp_limits_prune_user(&st, &cfg, 1003);
    assert_int_equal(st.ncodes, 0);
    eotp_cfg_free(&cfg);
}

/*
 * Issue 11 item 2: one service's limits never erase what another's need.
 * Service A: lockout 3/86400, grace 3600; service B: lockout off, grace
 * off, send_limit 2/60.
 */
static void test_prune_other_service(void **state)
{
    struct eotp_cfg a;
    struct eotp_cfg b;
    const long long t0 = 100000;

    (void)state;
    assert_int_equal(eotp_cfg_init(&a), EOTP_OK);
    assert_int_equal(eotp_cfg_init(&b), EOTP_OK);
    a.lockout.count = 3;
    a.lockout.seconds = 86400;
    a.grace_period = 3600;
    a.send_limit.seconds = 3600;
    b.lockout.count = 0;
    b.grace_period = 0;
    b.send_limit.count = 2;
    b.send_limit.seconds = 60;
    memset(&st, 0, sizeof(st));
    eotp_limits_prune_user(&st, &a, t0);
    for (int i = 0; i < 3; i++) {
        eotp_events_add(&st.wrong, t0 + i);
    }
    eotp_events_add(&st.sends, t0);
    eotp_grace_put(&st, MAC64, t0);
    assert_true(eotp_rate_wait(&st.wrong, &a.lockout, t0 + 3) > 0);
    /* A login under B, later (B's windows are long over). */
    eotp_limits_prune_user(&st, &b, t0 + 1000);
    assert_int_equal(st.wrong.n, 3);
    assert_int_equal(st.wrong.window, 86400);
    assert_int_equal(st.sends.n, 1);
    assert_int_equal(st.sends.window, 3600);
    assert_int_equal(st.ngrace, 1);
    assert_int_equal(st.grace_window, 3600);
    /* Through a save and a load under B: still there. */
    {
        static char buf[EOTP_STATE_MAX_SIZE + 1];
        int n = eotp_state_format(&st, buf, sizeof(buf));

        assert_true(n > 0);
        assert_int_equal(eotp_state_parse(buf, (size_t)n, &st2), EOTP_OK);
    }
    eotp_limits_prune_user(&st2, &b, t0 + 2000);
    assert_true(eotp_rate_wait(&st2.wrong, &a.lockout, t0 + 2000) > 0);
    assert_int_equal(st2.ngrace, 1);
    /* B's own check sees only its own window. */
    assert_int_equal(eotp_rate_wait(&st2.sends, &b.send_limit, t0 + 2000), 0);
    /* Past A's windows, everything goes and the windows fall back. */
    eotp_limits_prune_user(&st2, &b, t0 + 86400 + 3);
    assert_true(eotp_state_is_empty(&st2));
    assert_int_equal(st2.wrong.window, 0);
    assert_int_equal(st2.sends.window, 60);
    assert_int_equal(st2.grace_window, 0);
    /* A shorter window (900) does not trim the longer one (86400). */
    b.lockout.count = 3;
    b.lockout.seconds = 900;
    eotp_limits_prune_user(&st, &b, t0 + 5000);
    assert_int_equal(st.wrong.n, 3);
    assert_int_equal(eotp_rate_wait(&st.wrong, &b.lockout, t0 + 5000), 0);
    assert_true(eotp_rate_wait(&st.wrong, &a.lockout, t0 + 5000) > 0);
    /* An address record keeps its sends by its own window too. */
    memset(&st2, 0, sizeof(st2));
    a.rhost_send_limit.seconds = 3600;
    eotp_limits_prune_rhost(&st2, &a, t0);
    eotp_events_add(&st2.sends, t0);
    b.rhost_send_limit.count = 0;
    eotp_limits_prune_rhost(&st2, &b, t0 + 1000);
    assert_int_equal(st2.sends.n, 1);
    eotp_cfg_free(&a);
    eotp_cfg_free(&b);
}

/* A generic record's value (store.h rec_put). */
static void test_value(void **state)
{
    static char buf[EOTP_STATE_MAX_SIZE + 1];
    static const struct eotp_state_need none = {0, 0, 0};
    int n;

    (void)state;
    assert_int_equal(parse("version=3\nvalue=5000  a = b \nend=\n"), EOTP_OK);
    assert_true(st.has_value);
    assert_int_equal(st.value_expires, 5000);
    assert_string_equal(st.value, " a = b ");
    assert_false(eotp_state_is_empty(&st));
    n = eotp_state_format(&st, buf, sizeof(buf));
    assert_true(n > 0);
    assert_string_equal(buf, "version=3\nvalue=5000  a = b \nend=\n");
    eotp_state_prune(&st, &none, 4999);
    assert_true(st.has_value);
    eotp_state_prune(&st, &none, 5000);
    assert_false(st.has_value);
    assert_true(eotp_state_is_empty(&st));
    /* With an order (rec_put_newer): kept, written back, gone with it. */
    assert_int_equal(
        parse("version=3\nvalue=5000 v1 s=sent\nvalue_order=28717\nend=\n"),
        EOTP_OK);
    assert_true(st.has_value_order);
    assert_int_equal(st.value_order, 28717);
    n = eotp_state_format(&st, buf, sizeof(buf));
    assert_true(n > 0);
    assert_string_equal(
        buf, "version=3\nvalue=5000 v1 s=sent\nvalue_order=28717\nend=\n");
    eotp_state_prune(&st, &none, 5000);
    assert_false(st.has_value_order);
    assert_int_equal(parse("version=3\nvalue_order=9007199254740992\nend=\n"),
                     EOTP_E_STATE);
    assert_int_equal(parse("version=3\nvalue_order=1\nvalue_order=2\nend=\n"),
                     EOTP_E_STATE);
}

/* Version 2 records have no windows: kept as long as any config may
 * need them. */
static void test_parse_v2_windows(void **state)
{
    struct eotp_state_need none = {0, 0, 0};

    (void)state;
    assert_int_equal(parse(
                         "version=2\nsend=1000\nwrong=1000,1001\ngrace=" MAC64
                         " 1000\nend=\n"),
                     EOTP_OK);
    assert_int_equal(st.sends.window, EOTP_WINDOW_MAX);
    assert_int_equal(st.wrong.window, EOTP_WINDOW_MAX);
    assert_int_equal(st.grace_window, EOTP_GRACE_WINDOW_MAX);
    eotp_state_prune(&st, &none, 1000 + 86399);
    assert_int_equal(st.wrong.n, 2);
    assert_int_equal(st.ngrace, 1);
    eotp_state_prune(&st, &none, 1000 + 86400);
    assert_int_equal(st.ngrace, 0);
    assert_int_equal(st.wrong.n, 2);
    eotp_state_prune(&st, &none, 1001 + EOTP_WINDOW_MAX);
    assert_true(eotp_state_is_empty(&st));
    /* Version 3 without a window line: the same. */
    assert_int_equal(parse("version=3\nwrong=1000\nend=\n"), EOTP_OK);
    assert_int_equal(st.wrong.window, EOTP_WINDOW_MAX);
    assert_int_equal(parse("version=3\nwrong=1000\nwrong_window=30\nend=\n"),
                     EOTP_OK);
    assert_int_equal(st.wrong.window, 30);
}

static void test_wait_text(void **state)
{
    char b[32];

    (void)state;
    assert_string_equal(eotp_limits_wait_text(1, b, sizeof(b)), "1 second");
    assert_string_equal(eotp_limits_wait_text(0, b, sizeof(b)), "1 second");
    assert_string_equal(eotp_limits_wait_text(45, b, sizeof(b)), "45 seconds");
    assert_string_equal(eotp_limits_wait_text(60, b, sizeof(b)), "1 minute");
    assert_string_equal(eotp_limits_wait_text(61, b, sizeof(b)), "2 minutes");
    assert_string_equal(eotp_limits_wait_text(712, b, sizeof(b)),
                        "12 minutes");
    assert_string_equal(eotp_limits_wait_text(900, b, sizeof(b)),
                        "15 minutes");
}

/* ---- entries ------------------------------------------------------------ */

static void test_entries(void **state)
{
    struct eotp_pending p;
    struct eotp_localcode c;

    (void)state;
    memset(&st, 0, sizeof(st));
    memset(&p, 0, sizeof(p));
    for (int i = 0; i < EOTP_PENDING_MAX + 2; i++) {
        (void)snprintf(p.id, sizeof(p.id), "%d", i);
        (void)snprintf(p.key, sizeof(p.key), "%064d", i);
        eotp_state_put_pending(&st, &p);
    }
    assert_int_equal(st.npending, EOTP_PENDING_MAX);
    assert_string_equal(st.pending[0].id, "2"); /* oldest dropped */
    /* Same key replaces. */
    (void)snprintf(p.id, sizeof(p.id), "new");
    eotp_state_put_pending(&st, &p);
    assert_int_equal(st.npending, EOTP_PENDING_MAX);
    assert_string_equal(eotp_state_find_pending(&st, p.key)->id, "new");
    eotp_state_del_pending(&st, "new");
    assert_null(eotp_state_find_pending(&st, p.key));

    memset(&c, 0, sizeof(c));
    c.expires = 100;
    for (int i = 0; i < EOTP_LOCALCODES_MAX + 1; i++) {
        (void)snprintf(c.id, sizeof(c.id), "%016d", i);
        memcpy(c.key, KEY64, 65);
        eotp_state_put_code(&st, &c);
    }
    assert_int_equal(st.ncodes, EOTP_LOCALCODES_MAX);
    assert_null(eotp_state_find_code(&st, "0000000000000000"));
    assert_non_null(eotp_state_find_code(&st, "0000000000000008"));
    assert_string_equal(eotp_state_latest_code(&st, KEY64, 99)->id,
                        "0000000000000008");
    assert_null(eotp_state_latest_code(&st, KEY64, 100)); /* expired */
    assert_null(eotp_state_latest_code(&st, MAC64, 50));
    eotp_state_del_code(&st, "0000000000000008");
    assert_int_equal(st.ncodes, EOTP_LOCALCODES_MAX - 1);
}

/* ---- names -------------------------------------------------------------- */

static void test_user_names(void **state)
{
    char n[64];

    (void)state;
    assert_int_equal(eotp_state_user_name("daemon", n, sizeof(n)), EOTP_OK);
    assert_string_equal(n, "daemon");
    assert_int_equal(eotp_state_user_name("a.b-c_d", n, sizeof(n)), EOTP_OK);
    assert_string_equal(n, "a.b-c_d");
    assert_int_equal(eotp_state_user_name(".x", n, sizeof(n)), EOTP_OK);
    assert_string_equal(n, "%2Ex");
    assert_int_equal(eotp_state_user_name("+r-x", n, sizeof(n)), EOTP_OK);
    assert_string_equal(n, "%2Br-x");
    assert_int_equal(eotp_state_user_name("../etc", n, sizeof(n)), EOTP_OK);
    assert_string_equal(n, "%2E.%2Fetc");
    assert_int_equal(eotp_state_user_name("a b@c", n, sizeof(n)), EOTP_OK);
    assert_string_equal(n, "a%20b%40c");
    assert_int_equal(eotp_state_user_name("", n, sizeof(n)), EOTP_E_STATE);
    assert_int_equal(eotp_state_user_name("abcdefghij", n, 8), EOTP_E_STATE);
}

static void test_rhost_names(void **state)
{
    unsigned char key[EOTP_HOSTKEY_LEN];
    unsigned char key2[EOTP_HOSTKEY_LEN];
    char a[64];
    char b[64];

    (void)state;
    memset(key, 3, sizeof(key));
    memset(key2, 4, sizeof(key2));
    assert_int_equal(eotp_state_rhost_name("198.51.100.7", key, a, sizeof(a)),
                     EOTP_OK);
    assert_int_equal(strlen(a), 43);
    assert_memory_equal(a, "+r-", 3);
    assert_int_equal(strspn(a + 3, "0123456789abcdef"), 40);
    assert_null(strstr(a, "198"));
    /* IPv4-mapped IPv6 is the IPv4 address. */
    assert_int_equal(eotp_state_rhost_name("::ffff:198.51.100.7", key, b,
                                           sizeof(b)),
                     EOTP_OK);
    assert_string_equal(a, b);
    /* Another key, another name. */
    assert_int_equal(eotp_state_rhost_name("198.51.100.7", key2, b, sizeof(b)),
                     EOTP_OK);
    assert_string_not_equal(a, b);
    /* IPv6: one name per /64, in any spelling. */
    assert_int_equal(eotp_state_rhost_name("2001:db8:1:2::10", key, a,
                                           sizeof(a)),
                     EOTP_OK);
    assert_int_equal(eotp_state_rhost_name("2001:0db8:0001:0002:ffff::1", key,
                                           b, sizeof(b)),
                     EOTP_OK);
    assert_string_equal(a, b);
    assert_int_equal(eotp_state_rhost_name("2001:db8:1:3::10", key, b,
                                           sizeof(b)),
                     EOTP_OK);
    assert_string_not_equal(a, b);
    /* Host names as given. */
    assert_int_equal(eotp_state_rhost_name("host.example", key, a, sizeof(a)),
                     EOTP_OK);
    assert_int_equal(eotp_state_rhost_name("host2.example", key, b, sizeof(b)),
                     EOTP_OK);
    assert_string_not_equal(a, b);
    assert_int_equal(eotp_state_rhost_name("", key, a, sizeof(a)),
                     EOTP_E_STATE);
    assert_int_equal(eotp_state_rhost_name(NULL, key, a, sizeof(a)),
                     EOTP_E_STATE);
    assert_int_equal(eotp_state_rhost_name("1.2.3.4", key, a, 20),
                     EOTP_E_STATE);
}

/* ---- grace -------------------------------------------------------------- */

static void test_grace_binding(void **state)
{
    unsigned char key[EOTP_HOSTKEY_LEN];
    struct eotp_login l = {"alice", "sshd", "192.0.2.1", NULL, NULL, NULL};
    char base[EOTP_HEX256];
    char h[EOTP_HEX256];

    (void)state;
    memset(key, 9, sizeof(key));
    l.ssh_auth_info = "publickey ssh-ed25519 AAAAkey1";
    assert_int_equal(eotp_grace_binding(key, &l, base), EOTP_OK);
    /* Other methods' lines and line ends do not matter. */
    l.ssh_auth_info = "password\npublickey ssh-ed25519 AAAAkey1 \r\n";
    assert_int_equal(eotp_grace_binding(key, &l, h), EOTP_OK);
    assert_string_equal(base, h);
    /* Another key, no key info, another rhost, service, user: differ. */
    l.ssh_auth_info = "publickey ssh-ed25519 AAAAkey2";
    assert_int_equal(eotp_grace_binding(key, &l, h), EOTP_OK);
    assert_string_not_equal(base, h);
    l.ssh_auth_info = NULL;
    assert_int_equal(eotp_grace_binding(key, &l, h), EOTP_OK);
    assert_string_not_equal(base, h);
    l.ssh_auth_info = "password";
    assert_int_equal(eotp_grace_binding(key, &l, h), EOTP_OK);
    assert_string_not_equal(base, h);
    l.ssh_auth_info = "publickey ssh-ed25519 AAAAkey1";
    l.rhost = "192.0.2.2";
    assert_int_equal(eotp_grace_binding(key, &l, h), EOTP_OK);
    assert_string_not_equal(base, h);
    l.rhost = "192.0.2.1";
    l.service = "sudo";
    assert_int_equal(eotp_grace_binding(key, &l, h), EOTP_OK);
    assert_string_not_equal(base, h);
    l.service = "sshd";
    l.user = "bob";
    assert_int_equal(eotp_grace_binding(key, &l, h), EOTP_OK);
    assert_string_not_equal(base, h);
    /* Two keys: both are bound, in order. */
    l.user = "alice";
    l.ssh_auth_info = "publickey ssh-ed25519 AAAAkey1\npublickey ssh-rsa B";
    assert_int_equal(eotp_grace_binding(key, &l, h), EOTP_OK);
    assert_string_not_equal(base, h);
}

static void test_grace_find_put(void **state)
{
    long long since = 0;

    (void)state;
    memset(&st, 0, sizeof(st));
    assert_false(eotp_grace_find(&st, MAC64, 60, 1000, &since));
    eotp_grace_put(&st, MAC64, 1000);
    assert_true(eotp_grace_find(&st, MAC64, 60, 1000, &since));
    assert_int_equal(since, 1000);
    assert_true(eotp_grace_find(&st, MAC64, 60, 1059, &since));
    assert_false(eotp_grace_find(&st, MAC64, 60, 1060, &since));
    assert_false(eotp_grace_find(&st, MAC64, 0, 1000, &since));
    assert_false(eotp_grace_find(&st, MAC64, 60, 999, &since)); /* future */
    assert_false(eotp_grace_find(&st, KEY64, 60, 1000, &since));
    eotp_grace_put(&st, MAC64, 1010); /* replaces */
    assert_int_equal(st.ngrace, 1);
    for (int i = 0; i < EOTP_GRACE_MAX + 3; i++) {
        char m[EOTP_HEX256];

        (void)snprintf(m, sizeof(m), "%064d", i);
        eotp_grace_put(&st, m, 2000 + i);
    }
    assert_int_equal(st.ngrace, EOTP_GRACE_MAX);
}

/* ---- files -------------------------------------------------------------- */

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    (void)snprintf(dir, sizeof(dir), "/tmp/eotp-unit-state.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    return chmod(dir, 0700);
}

static int remove_dir(void **state)
{
    char cmd[128];

    (void)state;
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void need_root(void)
{
    if (geteuid() != 0) {
        skip();
    }
}

static void write_file(const char *name, const char *text, size_t len)
{
    char path[128];
    FILE *f;

    (void)snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static bool exists(const char *name)
{
    char path[128];
    struct stat sb;

    (void)snprintf(path, sizeof(path), "%s/%s", dir, name);
    return lstat(path, &sb) == 0;
}

static void test_lock_save_load(void **state)
{
    struct eotp_state_handle h;
    char path[128];
    struct stat sb;

    (void)state;
    need_root();
    assert_int_equal(eotp_state_lock(dir, "alice", &lg, &h), EOTP_OK);
    assert_int_equal(eotp_state_load(&h, &st), EOTP_OK);
    assert_true(eotp_state_is_empty(&st));
    fill(&st2);
    assert_int_equal(eotp_state_save(&h, &st2), EOTP_OK);
    eotp_state_unlock(&h);
    (void)snprintf(path, sizeof(path), "%s/alice.state", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_false(exists("alice.tmp"));
    assert_int_equal(eotp_state_lock(dir, "alice", &lg, &h), EOTP_OK);
    assert_int_equal(eotp_state_load(&h, &st), EOTP_OK);
    assert_int_equal(st.sends.n, 2);
    assert_int_equal(st.ngrace, 1);
    /* An empty record is removed, with its lock file. */
    memset(&st2, 0, sizeof(st2));
    assert_int_equal(eotp_state_save(&h, &st2), EOTP_OK);
    eotp_state_unlock(&h);
    assert_false(exists("alice.state"));
    assert_false(exists("alice.lock"));
    /* Unlocked handles are refused. */
    assert_int_equal(eotp_state_save(&h, &st2), EOTP_E_STATE);
    eotp_state_unlock(&h); /* twice is fine */
}

static void expect_empty_after(const char *what, const char *text, size_t len)
{
    struct eotp_state_handle h;

    write_file("bob.state", text, len);
    nlines = 0;
    last_line[0] = '\0';
    assert_int_equal(eotp_state_lock(dir, "bob", &lg, &h), EOTP_OK);
    memset(&st, 0x55, sizeof(st));
    assert_int_equal(eotp_state_load(&h, &st), EOTP_OK);
    eotp_state_unlock(&h);
    if (!eotp_state_is_empty(&st) || nlines != 1 ||
        strstr(last_line, "bob.state") == NULL) {
        fail_msg("%s: not empty or not logged (%s)", what, last_line);
    }
}

static void test_damaged_records(void **state)
{
    static char big[EOTP_STATE_MAX_SIZE + 100];
    char path[128];
    char target[128];

    (void)state;
    need_root();
    expect_empty_after("garbage", "\x01\x02garbage\n", 10);
    expect_empty_after("truncated", "version=2\nsend=1", 16);
    expect_empty_after("no end", "version=2\nsend=1\n", 17);
    expect_empty_after("NUL", "version=2\n\0end=\n", 16);
    memset(big, 'x', sizeof(big));
    expect_empty_after("oversized", big, sizeof(big));
    /* Not owned by root. */
    write_file("bob.state", "version=2\nsend=5\nend=\n", 22);
    (void)snprintf(path, sizeof(path), "%s/bob.state", dir);
    assert_int_equal(chown(path, 65534, 65534), 0);
    expect_empty_after("foreign owner", "version=2\nsend=5\nend=\n", 22);
    /* A symlink is never followed. */
    (void)snprintf(target, sizeof(target), "%s/target", dir);
    write_file("target", "version=2\nsend=5\nend=\n", 22);
    (void)unlink(path);
    assert_int_equal(symlink(target, path), 0);
    {
        struct eotp_state_handle h;

        nlines = 0;
        assert_int_equal(eotp_state_lock(dir, "bob", &lg, &h), EOTP_OK);
        assert_int_equal(eotp_state_load(&h, &st), EOTP_OK);
        assert_true(eotp_state_is_empty(&st));
        assert_int_equal(nlines, 1);
        assert_non_null(strstr(last_line, "symlink"));
        /* Saving replaces the link, not its target. */
        fill(&st2);
        assert_int_equal(eotp_state_save(&h, &st2), EOTP_OK);
        eotp_state_unlock(&h);
    }
    {
        struct stat sb;

        assert_int_equal(lstat(path, &sb), 0);
        assert_true(S_ISREG(sb.st_mode));
        assert_int_equal(stat(target, &sb), 0);
        assert_int_equal(sb.st_size, 22);
    }
}

static void test_bad_dirs(void **state)
{
    struct eotp_state_handle h;
    char sub[128];

    (void)state;
    need_root();
    (void)snprintf(sub, sizeof(sub), "%s/open", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(eotp_state_lock(sub, "alice", &lg, &h), EOTP_E_STATE);
    assert_non_null(strstr(last_line, "refusing dir"));
    (void)snprintf(sub, sizeof(sub), "%s/new", dir);
    assert_int_equal(eotp_state_lock(sub, "alice", &lg, &h), EOTP_OK);
    eotp_state_unlock(&h);
    (void)snprintf(sub, sizeof(sub), "%s/missing/deeper", dir);
    assert_int_equal(eotp_state_lock(sub, "alice", &lg, &h), EOTP_E_STATE);
    assert_int_equal(eotp_state_lock(dir, "", &lg, &h), EOTP_E_STATE);
}

static void test_hostkey(void **state)
{
    unsigned char k1[EOTP_HOSTKEY_LEN];
    unsigned char k2[EOTP_HOSTKEY_LEN];
    char path[128];
    struct stat sb;

    (void)state;
    need_root();
    assert_int_equal(eotp_state_hostkey(dir, &lg, k1), EOTP_OK);
    (void)snprintf(path, sizeof(path), "%s/+hostkey", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(sb.st_size, EOTP_HOSTKEY_LEN);
    assert_int_equal(eotp_state_hostkey(dir, &lg, k2), EOTP_OK);
    assert_memory_equal(k1, k2, sizeof(k1));
    /* Damaged: replaced, logged. */
    write_file("+hostkey", "short", 5);
    nlines = 0;
    assert_int_equal(eotp_state_hostkey(dir, &lg, k2), EOTP_OK);
    assert_int_equal(nlines, 1);
    assert_non_null(strstr(last_line, "host key file damaged"));
    assert_memory_not_equal(k1, k2, sizeof(k1));
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, EOTP_HOSTKEY_LEN);
}

static void set_mtime(const char *name, time_t t)
{
    char path[128];
    struct timeval tv[2] = {{t, 0}, {t, 0}};

    (void)snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(utimes(path, tv), 0);
}

static void test_sweep(void **state)
{
    time_t now = time(NULL);

    (void)state;
    need_root();
    write_file("old.state", "version=2\nsend=1\nend=\n", 22);
    write_file("old.lock", "", 0);
    write_file("+r-00.state", "version=2\nsend=1\nend=\n", 22);
    write_file("orphan.lock", "", 0);
    write_file("stale.tmp", "x", 1);
    write_file("new.state", "version=2\nsend=1\nend=\n", 22);
    write_file("+hostkey.lock", "", 0);
    set_mtime("old.state", now - 100000);
    set_mtime("old.lock", now - 100000);
    set_mtime("+r-00.state", now - 100000);
    set_mtime("orphan.lock", now - 100000);
    set_mtime("stale.tmp", now - 100000);
    set_mtime("+hostkey.lock", now - 100000);
    eotp_state_sweep(dir, &lg);
    assert_false(exists("old.state"));
    assert_false(exists("old.lock"));
    assert_false(exists("+r-00.state"));
    assert_false(exists("orphan.lock"));
    assert_false(exists("stale.tmp"));
    assert_true(exists("new.state"));
    assert_true(exists("+hostkey.lock")); /* not a record */
    assert_true(exists("+sweep"));
    /* At most once an hour. */
    write_file("old2.state", "version=2\nsend=1\nend=\n", 22);
    set_mtime("old2.state", now - 100000);
    eotp_state_sweep(dir, &lg);
    assert_true(exists("old2.state"));
    set_mtime("+sweep", now - 7200);
    eotp_state_sweep(dir, &lg);
    assert_false(exists("old2.state"));
}

/* The sweep keeps what a record's own windows need, whatever the config
 * of the login that runs it (issue 11 item 2). */
static void test_sweep_windows(void **state)
{
    time_t now = time(NULL);
    char rec[128];
    int n;

    (void)state;
    need_root();
    n = snprintf(rec, sizeof(rec),
                 "version=3\nwrong=%lld\nwrong_window=86400\nend=\n",
                 (long long)now - 2000);
    write_file("keep.state", rec, (size_t)n);
    n = snprintf(rec, sizeof(rec),
                 "version=3\nwrong=%lld\nwrong_window=900\nend=\n",
                 (long long)now - 2000);
    write_file("drop.state", rec, (size_t)n);
    n = snprintf(rec, sizeof(rec), "version=2\nwrong=%lld\nend=\n",
                 (long long)now - 2000);
    write_file("v2.state", rec, (size_t)n);
    set_mtime("keep.state", now - 2000);
    set_mtime("drop.state", now - 2000);
    set_mtime("v2.state", now - 2000);
    write_file("+sweep", "", 0);
    set_mtime("+sweep", now - 7200);
    eotp_state_sweep(dir, &lg);
    assert_true(exists("keep.state"));
    assert_false(exists("drop.state"));
    assert_true(exists("v2.state"));
}

/* A record in use is left alone by the sweep. */
static void test_sweep_skips_locked(void **state)
{
    struct eotp_state_handle h;
    time_t now = time(NULL);

    (void)state;
    need_root();
    assert_int_equal(eotp_state_lock(dir, "busy", &lg, &h), EOTP_OK);
    write_file("busy.state", "version=2\nsend=1\nend=\n", 22);
    set_mtime("busy.state", now - 100000);
    set_mtime("busy.lock", now - 100000);
    write_file("+sweep", "", 0);
    set_mtime("+sweep", now - 7200);
    eotp_state_sweep(dir, &lg);
    assert_true(exists("busy.state"));
    eotp_state_unlock(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_format_never_corrupt),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_parse_sorts_and_skips_unknown),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_rejects_nul_and_size),
        cmocka_unit_test(test_parse_bounds),
        cmocka_unit_test(test_format_bound),
        cmocka_unit_test(test_rate_wait),
        cmocka_unit_test(test_rate_bounds),
        cmocka_unit_test(test_prune_user),
        cmocka_unit_test(test_prune_other_service),
        cmocka_unit_test(test_parse_v2_windows),
        cmocka_unit_test(test_value),
        cmocka_unit_test(test_wait_text),
        cmocka_unit_test(test_entries),
        cmocka_unit_test(test_user_names),
        cmocka_unit_test(test_rhost_names),
        cmocka_unit_test(test_grace_binding),
        cmocka_unit_test(test_grace_find_put),
        cmocka_unit_test_setup_teardown(test_lock_save_load, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(test_damaged_records, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(test_bad_dirs, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_hostkey, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_sweep, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_sweep_skips_locked, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(test_sweep_windows, make_dir,
                                        remove_dir),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
