/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_smpp.c - the SMPP transport's building blocks: the JSON
 * short_message, UCS-2, the submit_sm PDU (short_message or
 * message_payload), framing, the PDU reader and the status table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/core/api.h"
#include "../../src/core/cfg.h"
#include "../../src/core/err.h"
#include "../../src/core/smpp.h"
#include "../../src/core/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

/* A PDU: header plus body, and the NUL the reader's contract asks for. */
static size_t mkpdu(unsigned char *buf, uint32_t id, uint32_t status,
                    uint32_t seq, const void *body, size_t blen)
{
    put32(buf, (uint32_t)(16 + blen));
    put32(buf + 4, id);
    put32(buf + 8, status);
    put32(buf + 12, seq);
    if (blen > 0) {
        memcpy(buf + 16, body, blen);
    }
    buf[16 + blen] = '\0';
    return 16 + blen;
}

static void test_json(void **state)
{
    struct eotp_kv kv[] = {{"host", "web\"1"}, {"svc", "sshd"}};
    struct eotp_send_req req;
    struct eotp_jbuf jb;

    (void)state;
    memset(&req, 0, sizeof(req));
    req.to = "+6581234567";
    req.template_id = "pam-otp";
    req.code = "123456";
    req.params = kv;
    req.nparams = 2;
    assert_int_equal(eotp_jbuf_init(&jb, 512), EOTP_OK);
    assert_int_equal(eotp_smpp_message_json(&req, &jb), EOTP_OK);
    assert_string_equal(jb.buf, "{\"id\":\"pam-otp\",\"language\":\"default\","
                                "\"code\":\"123456\",\"params\":{\"host\":"
                                "\"web\\\"1\",\"svc\":\"sshd\"}}");
    eotp_jbuf_wipe(&jb);

    req.language = "ja";
    req.nparams = 0;
    assert_int_equal(eotp_jbuf_init(&jb, 512), EOTP_OK);
    assert_int_equal(eotp_smpp_message_json(&req, &jb), EOTP_OK);
    assert_string_equal(jb.buf, "{\"id\":\"pam-otp\",\"language\":\"ja\","
                                "\"code\":\"123456\",\"params\":{}}");
    eotp_jbuf_wipe(&jb);

    assert_int_equal(eotp_jbuf_init(&jb, 16), EOTP_OK);
    assert_int_equal(eotp_smpp_message_json(&req, &jb), EOTP_E_API_REQUEST);
    eotp_jbuf_wipe(&jb);
}

static void test_ucs2(void **state)
{
    unsigned char out[32];
    size_t n = 0;

    (void)state;
    assert_int_equal(eotp_smpp_ucs2("{A}", out, sizeof(out), &n), EOTP_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "\0{\0A\0}", 6);
    /* U+00E9, U+4E2D: two and three UTF-8 bytes. */
    assert_int_equal(eotp_smpp_ucs2("\xc3\xa9\xe4\xb8\xad", out, sizeof(out),
                                    &n),
                     EOTP_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "\x00\xe9\x4e\x2d", 4);
    /* Beyond the BMP, invalid UTF-8, overlong, surrogate: refused. */
    assert_int_equal(eotp_smpp_ucs2("\xf0\x9f\x98\x80", out, sizeof(out), &n),
                     EOTP_E_API_REQUEST);
    assert_int_equal(eotp_smpp_ucs2("\xc3", out, sizeof(out), &n),
                     EOTP_E_API_REQUEST);
    assert_int_equal(eotp_smpp_ucs2("\xc0\xaf", out, sizeof(out), &n),
                     EOTP_E_API_REQUEST);
    assert_int_equal(eotp_smpp_ucs2("\xed\xa0\x80", out, sizeof(out), &n),
                     EOTP_E_API_REQUEST);
    /* Exactly full, then one over. */
    assert_int_equal(eotp_smpp_ucs2("abcd", out, 8, &n), EOTP_OK);
    assert_int_equal(eotp_smpp_ucs2("abcde", out, 8, &n), EOTP_E_API_REQUEST);
}

static void test_frame_len(void **state)
{
    unsigned char h[4];
    uint32_t n = 0;

    (void)state;
    put32(h, 16);
    assert_int_equal(eotp_smpp_frame_len(h, &n), EOTP_OK);
    assert_int_equal(n, 16);
    put32(h, 65536);
    assert_int_equal(eotp_smpp_frame_len(h, &n), EOTP_OK);
    put32(h, 65537);
    assert_int_equal(eotp_smpp_frame_len(h, &n), EOTP_E_BAD_RESPONSE);
    put32(h, 15);
    assert_int_equal(eotp_smpp_frame_len(h, &n), EOTP_E_BAD_RESPONSE);
    put32(h, 0xffffffffu);
    assert_int_equal(eotp_smpp_frame_len(h, &n), EOTP_E_BAD_RESPONSE);
}

static void test_status_map(void **state)
{
    (void)state;
    assert_int_equal(eotp_smpp_map_status(EOTP_SMPP_SUBMIT_SM_RESP, 0),
                     EOTP_OK);
    assert_int_equal(eotp_smpp_map_status(EOTP_SMPP_SUBMIT_SM_RESP, 0x45),
                     EOTP_E_DELIVERY);
    assert_int_equal(eotp_smpp_map_status(EOTP_SMPP_SUBMIT_SM_RESP, 0x32),
                     EOTP_E_API_REQUEST);
    assert_int_equal(eotp_smpp_map_status(EOTP_SMPP_SUBMIT_SM_RESP, 0x55),
                     EOTP_E_API_REQUEST);
    assert_int_equal(eotp_smpp_map_status(EOTP_SMPP_SUBMIT_SM_RESP, 0x08),
                     EOTP_E_SERVER);
    assert_int_equal(eotp_smpp_map_status(EOTP_SMPP_SUBMIT_SM_RESP, 0xff),
                     EOTP_E_SERVER);
    assert_int_equal(eotp_smpp_map_status(EOTP_SMPP_SUBMIT_SM_RESP, 0x58),
                     EOTP_E_SERVER);
    assert_int_equal(eotp_smpp_map_status(EOTP_SMPP_SUBMIT_SM_RESP, 0x0b),
                     EOTP_E_API_REQUEST);
    assert_int_equal(eotp_smpp_map_status(EOTP_SMPP_BIND_TRX_RESP, 0x0e),
                     EOTP_E_API_AUTH);
    assert_int_equal(eotp_smpp_map_status(EOTP_SMPP_BIND_TRX_RESP, 0x0f),
                     EOTP_E_API_AUTH);
    assert_int_equal(eotp_smpp_map_status(EOTP_SMPP_BIND_TRX_RESP, 0x0d),
                     EOTP_E_API_AUTH);
    assert_int_equal(eotp_smpp_map_status(EOTP_SMPP_BIND_TRX_RESP, 0x08),
                     EOTP_E_SERVER);
    assert_string_equal(eotp_smpp_status_name(0x45), "ESME_RSUBMITFAIL");
    assert_string_equal(eotp_smpp_status_name(0x32), "ESME_RINVPARAM");
    assert_string_equal(eotp_smpp_status_name(0x1234), "unknown");
}

/* Parse text as a config file and validate it; the first error. */
static int cfg_text(struct eotp_cfg *cfg, const char *text)
{
    char buf[2048];
    int r;

    (void)snprintf(buf, sizeof(buf),
                   "dev_key = k\ndev_secret = s\ntemplate_id = t\n%s", text);
    assert_int_equal(eotp_cfg_init(cfg), EOTP_OK);
    r = eotp_cfg_parse_buffer(cfg, buf, strlen(buf), "test", NULL);
    if (r == EOTP_OK) {
        r = eotp_cfg_validate(cfg, NULL);
    }
    return r;
}

static void test_cfg_keys(void **state)
{
    static const char full[] = "code_mode = local\ntransport = smpp\n"
                               "smpp_host = smpp.example.com\n"
                               "smpp_port = 2775\nsmpp_system_id = acme01\n"
                               "smpp_password_file = /etc/pw\n";
    struct eotp_cfg cfg;
    char text[1024];
    char val[64];

    (void)state;
    /* Defaults: https, TLS on. */
    assert_int_equal(cfg_text(&cfg, ""), EOTP_OK);
    assert_int_equal(cfg.transport, EOTP_TRANSPORT_HTTPS);
    assert_true(cfg.smpp_tls);
    for (size_t i = 0; i < eotp_cfg_key_count(); i++) {
        if (strcmp(eotp_cfg_key_name(i), "smpp_tls") == 0) {
            assert_string_equal(eotp_cfg_key_format(&cfg, i, val, sizeof(val)),
                                "yes");
        }
    }
    eotp_cfg_free(&cfg);
    assert_int_equal(cfg_text(&cfg, full),
                     eotp_smpp_available() ? EOTP_OK : EOTP_E_CONFIG);
    if (eotp_smpp_available()) {
        assert_int_equal(cfg.transport, EOTP_TRANSPORT_SMPP);
        assert_int_equal(cfg.smpp_port, 2775);
        assert_string_equal(cfg.smpp_system_id, "acme01");
    }
    eotp_cfg_free(&cfg);
    /* smpp needs code_mode = local, every smpp key, no alt_templates. */
    assert_int_equal(cfg_text(&cfg, full + strlen("code_mode = local\n")),
                     EOTP_E_CONFIG);
    eotp_cfg_free(&cfg);
    assert_int_equal(cfg_text(&cfg, "code_mode = local\ntransport = smpp\n"
                                    "smpp_host = h\nsmpp_port = 1\n"
                                    "smpp_system_id = x\n"),
                     EOTP_E_CONFIG);
    eotp_cfg_free(&cfg);
    (void)snprintf(text, sizeof(text), "%salt_templates = voice:v\n", full);
    assert_int_equal(cfg_text(&cfg, text), EOTP_E_CONFIG);
    eotp_cfg_free(&cfg);
    /* Bad values. */
    assert_int_equal(cfg_text(&cfg, "transport = smtp\n"), EOTP_E_CONFIG);
    eotp_cfg_free(&cfg);
    assert_int_equal(cfg_text(&cfg, "smpp_port = 0\n"), EOTP_E_CONFIG);
    eotp_cfg_free(&cfg);
    assert_int_equal(cfg_text(&cfg, "smpp_port = 65536\n"), EOTP_E_CONFIG);
    eotp_cfg_free(&cfg);
    assert_int_equal(cfg_text(&cfg, "smpp_system_id = 0123456789abcdef\n"),
                     EOTP_E_CONFIG);
    eotp_cfg_free(&cfg);
    assert_int_equal(cfg_text(&cfg, "smpp_host = -oProxy\n"), EOTP_E_CONFIG);
    eotp_cfg_free(&cfg);
    assert_int_equal(cfg_text(&cfg, "smpp_host = a/b\n"), EOTP_E_CONFIG);
    eotp_cfg_free(&cfg);
    assert_int_equal(cfg_text(&cfg, "smpp_password_file = pw\n"),
                     EOTP_E_CONFIG);
    eotp_cfg_free(&cfg);
    assert_int_equal(cfg_text(&cfg, "smpp_tls = maybe\n"), EOTP_E_CONFIG);
    eotp_cfg_free(&cfg);
    assert_int_equal(cfg_text(&cfg, "smpp_tls = no\nsmpp_host = ::1\n"),
                     EOTP_OK);
    assert_false(cfg.smpp_tls);
    eotp_cfg_free(&cfg);
}

#ifdef EOTP_HAVE_SMPP

static struct eotp_send_req base_req(void)
{
    struct eotp_send_req req;

    memset(&req, 0, sizeof(req));
    req.to = "+6581234567";
    req.template_id = "pam-otp";
    req.code = "123456";
    return req;
}

/* The field after the fixed part of submit_sm: sm_length at off. */
static size_t sm_length_offset(const unsigned char *p)
{
    size_t off = 16;

    off += strlen((const char *)p + off) + 1; /* service_type */
    off += 2;
    off += strlen((const char *)p + off) + 1; /* source_addr */
    off += 2;
    off += strlen((const char *)p + off) + 1; /* destination_addr */
    off += 3;
    off += strlen((const char *)p + off) + 1; /* schedule_delivery_time */
    off += strlen((const char *)p + off) + 1; /* validity_period */
    off += 4;                                 /* ..., data_coding, ... */
    return off;
}

static void test_build_short(void **state)
{
    struct eotp_send_req req = base_req();
    unsigned char *buf = calloc(1, 4096);
    size_t len = 0;
    size_t off;
    bool payload = true;

    (void)state;
    assert_non_null(buf);
    assert_int_equal(eotp_smpp_build_submit(&req, 2, buf, 4096, &len,
                                            &payload),
                     EOTP_OK);
    assert_false(payload);
    assert_int_equal(get32(buf), len);
    assert_int_equal(get32(buf + 4), EOTP_SMPP_SUBMIT_SM);
    assert_int_equal(get32(buf + 8), 0);
    assert_int_equal(get32(buf + 12), 2);
    assert_string_equal((const char *)buf + 16, "CODE");
    assert_non_null(memmem(buf, len, "+6581234567", 12));
    off = sm_length_offset(buf);
    assert_int_equal(buf[off - 2], 0x08); /* data_coding UCS-2 */
    /* UCS-2 of {"id":"pam-otp",...}: a NUL before each ASCII byte. */
    assert_int_equal(buf[off], len - off - 1);
    assert_memory_equal(buf + off + 1, "\0{\0\"\0i\0d", 8);
    free(buf);
}

static void test_build_payload(void **state)
{
    struct eotp_kv kv[4];
    char big[65];
    struct eotp_send_req req = base_req();
    unsigned char *buf = calloc(1, 4096);
    size_t len = 0;
    size_t off;
    bool payload = false;

    (void)state;
    assert_non_null(buf);
    memset(big, 'x', 64);
    big[64] = '\0';
    for (size_t i = 0; i < 4; i++) {
        kv[i].key = i == 0 ? "a" : i == 1 ? "b" : i == 2 ? "c" : "d";
        kv[i].value = big;
    }
    req.params = kv;
    req.nparams = 4;
    assert_int_equal(eotp_smpp_build_submit(&req, 2, buf, 4096, &len,
                                            &payload),
                     EOTP_OK);
    assert_true(payload);
    off = sm_length_offset(buf);
    assert_int_equal(buf[off], 0); /* sm_length 0 */
    /* The TLV follows: tag 0x0424, then the length, then UCS-2 JSON. */
    assert_int_equal(buf[off + 1], 0x04);
    assert_int_equal(buf[off + 2], 0x24);
    assert_int_equal(((size_t)buf[off + 3] << 8) | buf[off + 4],
                     len - off - 5);
    assert_true(len - off - 5 > EOTP_SMPP_SHORT_MAX);

    /* Too long even for message_payload. */
    {
        struct eotp_kv many[12];

        for (size_t i = 0; i < 12; i++) {
            many[i].key = "k";
            many[i].value = big;
        }
        req.params = many;
        req.nparams = 12;
        assert_int_equal(eotp_smpp_build_submit(&req, 2, buf, 4096, &len,
                                                &payload),
                         EOTP_E_API_REQUEST);
    }
    free(buf);
}

static void test_build_refusals(void **state)
{
    struct eotp_send_req req = base_req();
    unsigned char buf[2048];
    size_t len = 0;
    bool payload = false;

    (void)state;
    req.to = "alice@example.com";
    assert_int_equal(eotp_smpp_build_submit(&req, 2, buf, sizeof(buf), &len,
                                            &payload),
                     EOTP_E_API_REQUEST);
    req = base_req();
    req.code = NULL;
    assert_int_equal(eotp_smpp_build_submit(&req, 2, buf, sizeof(buf), &len,
                                            &payload),
                     EOTP_E_API_REQUEST);
    req = base_req();
    req.template_id = "\xf0\x9f\x98\x80";
    assert_int_equal(eotp_smpp_build_submit(&req, 2, buf, sizeof(buf), &len,
                                            &payload),
                     EOTP_E_API_REQUEST);
}

static void test_parse(void **state)
{
    unsigned char buf[256];
    struct eotp_smpp_pdu p;
    size_t n;

    (void)state;
    /* submit_sm_resp with a message id. */
    n = mkpdu(buf, EOTP_SMPP_SUBMIT_SM_RESP, 0, 2, "12345\0", 6);
    assert_int_equal(eotp_smpp_parse(buf, n, EOTP_SMPP_SUBMIT_SM_RESP, 2, &p),
                     EOTP_OK);
    assert_int_equal(p.kind, EOTP_SMPP_ANSWER);
    assert_string_equal(p.message_id, "12345");
    /* A message id that is not a token is dropped, not refused. */
    n = mkpdu(buf, EOTP_SMPP_SUBMIT_SM_RESP, 0, 2, "a b\0", 4);
    assert_int_equal(eotp_smpp_parse(buf, n, EOTP_SMPP_SUBMIT_SM_RESP, 2, &p),
                     EOTP_OK);
    assert_string_equal(p.message_id, "");
    /* A refusal: the header alone, even with EngageLab's 0x32. */
    n = mkpdu(buf, EOTP_SMPP_SUBMIT_SM_RESP, 0x32, 2, NULL, 0);
    assert_int_equal(eotp_smpp_parse(buf, n, EOTP_SMPP_SUBMIT_SM_RESP, 2, &p),
                     EOTP_OK);
    assert_int_equal(p.hdr.status, 0x32);
    /* Wrong sequence, unexpected command, generic_nack. */
    n = mkpdu(buf, EOTP_SMPP_SUBMIT_SM_RESP, 0, 3, "1\0", 2);
    assert_int_equal(eotp_smpp_parse(buf, n, EOTP_SMPP_SUBMIT_SM_RESP, 2, &p),
                     EOTP_E_BAD_RESPONSE);
    assert_string_equal(p.why, "wrong sequence number");
    n = mkpdu(buf, 0x80000003u, 0, 2, "1\0", 2);
    assert_int_equal(eotp_smpp_parse(buf, n, EOTP_SMPP_SUBMIT_SM_RESP, 2, &p),
                     EOTP_E_BAD_RESPONSE);
    assert_string_equal(p.why, "unexpected command");
    n = mkpdu(buf, EOTP_SMPP_GENERIC_NACK, 3, 2, NULL, 0);
    assert_int_equal(eotp_smpp_parse(buf, n, EOTP_SMPP_SUBMIT_SM_RESP, 2, &p),
                     EOTP_E_BAD_RESPONSE);
    assert_string_equal(p.why, "generic_nack");
    /* message_id without its NUL inside the PDU. */
    n = mkpdu(buf, EOTP_SMPP_SUBMIT_SM_RESP, 0, 2, "123", 3);
    assert_int_equal(eotp_smpp_parse(buf, n, EOTP_SMPP_SUBMIT_SM_RESP, 2, &p),
                     EOTP_E_BAD_RESPONSE);
    /* command_length that disagrees with the buffer. */
    n = mkpdu(buf, EOTP_SMPP_SUBMIT_SM_RESP, 0, 2, "1\0", 2);
    assert_int_equal(eotp_smpp_parse(buf, n - 1, EOTP_SMPP_SUBMIT_SM_RESP, 2,
                                     &p),
                     EOTP_E_BAD_RESPONSE);
    /* Keepalive, receipt, unbind from the server. */
    n = mkpdu(buf, EOTP_SMPP_ENQUIRE_LINK, 0, 77, NULL, 0);
    assert_int_equal(eotp_smpp_parse(buf, n, EOTP_SMPP_SUBMIT_SM_RESP, 2, &p),
                     EOTP_OK);
    assert_int_equal(p.kind, EOTP_SMPP_ENQUIRE);
    assert_int_equal(p.hdr.seq, 77);
    n = mkpdu(buf, EOTP_SMPP_ENQUIRE_LINK, 0, 77, "x", 1);
    assert_int_equal(eotp_smpp_parse(buf, n, EOTP_SMPP_SUBMIT_SM_RESP, 2, &p),
                     EOTP_E_BAD_RESPONSE);
    n = mkpdu(buf, EOTP_SMPP_DELIVER_SM, 0, 78, "MSG\0", 4);
    assert_int_equal(eotp_smpp_parse(buf, n, EOTP_SMPP_SUBMIT_SM_RESP, 2, &p),
                     EOTP_OK);
    assert_int_equal(p.kind, EOTP_SMPP_DELIVER);
    n = mkpdu(buf, EOTP_SMPP_UNBIND, 0, 79, NULL, 0);
    assert_int_equal(eotp_smpp_parse(buf, n, EOTP_SMPP_SUBMIT_SM_RESP, 2, &p),
                     EOTP_OK);
    assert_int_equal(p.kind, EOTP_SMPP_UNBOUND);
    /* bind_transceiver_resp: good, oversized. */
    n = mkpdu(buf, EOTP_SMPP_BIND_TRX_RESP, 0, 1,
              "engagelab\0\x02\x10\x00\x01\x34", 15);
    assert_int_equal(eotp_smpp_parse(buf, n, EOTP_SMPP_BIND_TRX_RESP, 1, &p),
                     EOTP_OK);
    memset(buf + 16, 'a', 120);
    n = mkpdu(buf, EOTP_SMPP_BIND_TRX_RESP, 0, 1, buf + 16, 120);
    assert_int_equal(eotp_smpp_parse(buf, n, EOTP_SMPP_BIND_TRX_RESP, 1, &p),
                     EOTP_E_BAD_RESPONSE);
}

#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_ucs2),
        cmocka_unit_test(test_frame_len),
        cmocka_unit_test(test_status_map),
        cmocka_unit_test(test_cfg_keys),
#ifdef EOTP_HAVE_SMPP
        cmocka_unit_test(test_build_short),
        cmocka_unit_test(test_build_payload),
        cmocka_unit_test(test_build_refusals),
        cmocka_unit_test(test_parse),
#endif
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
