/* SPDX-License-Identifier: Apache-2.0 */
/*
 * smpp.c - an SMPP 3.4 client for EngageLab, built for sshd, sudo and
 * login: one session per code, opened and closed within the call.
 *
 * libsmpp34 packs and unpacks the PDUs.  It reports through two
 * process-wide variables (smpp34_errno, smpp34_strerror) and its trace
 * buffer of 2048 bytes overflows on a PDU with enough fields, so every
 * call into it is made under one lock and only on PDUs whose size is
 * bounded here first (a few dozen fields at most), and never on TLVs it
 * would allocate for (its allocations go unchecked).  Only the 16-byte
 * header is read by hand, to frame PDUs and to read the status of a
 * refusal (EngageLab's 0x32 is not an SMPP 3.4 status, and libsmpp34
 * refuses to unpack it).
 */
#include "smpp.h"

#include "dest.h"
#include "err.h"
#include "log.h"
#include "secret.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef EOTP_HAVE_SMPP
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
/* libsmpp34's headers need these first. */
#include <smpp34.h>
#include <smpp34_structs.h>
/* After smpp34_structs.h (its types). */
#include <smpp34_params.h>
#endif

#define SERVICE_TYPE "CODE"
#define DATA_CODING_UCS2 0x08
#define JSON_MAX 2048
#define PDU_OUT_MAX (EOTP_SMPP_PAYLOAD_MAX + 512)
/* Sizes handed to libsmpp34's unpacker (its trace buffer, see above). */
#define BIND_RESP_MAX 96
#define SUBMIT_RESP_MAX (16 + 65)
/* PDUs the server may put before the answer (receipts, keepalives). */
#define INTERLEAVED_MAX 32
#define UNBIND_WAIT_MS 1000

enum { SEQ_BIND = 1, SEQ_SUBMIT = 2, SEQ_UNBIND = 3 };

/* ---- pieces that need no library ---------------------------------------- */

int eotp_smpp_message_json(const struct eotp_send_req *req,
                           struct eotp_jbuf *jb)
{
    eotp_jbuf_raw(jb, "{\"id\":");
    eotp_jbuf_str(jb, req->template_id);
    eotp_jbuf_raw(jb, ",\"language\":");
    eotp_jbuf_str(jb, req->language != NULL ? req->language : "default");
    eotp_jbuf_raw(jb, ",\"code\":");
    eotp_jbuf_str(jb, req->code != NULL ? req->code : "");
    eotp_jbuf_raw(jb, ",\"params\":{");
    for (size_t i = 0; i < req->nparams; i++) {
        if (i > 0) {
            eotp_jbuf_raw(jb, ",");
        }
        eotp_jbuf_str(jb, req->params[i].key);
        eotp_jbuf_raw(jb, ":");
        eotp_jbuf_str(jb, req->params[i].value);
    }
    eotp_jbuf_raw(jb, "}}");
    return jb->overflow ? EOTP_E_API_REQUEST : EOTP_OK;
}

int eotp_smpp_ucs2(const char *utf8, unsigned char *out, size_t cap,
                   size_t *outlen)
{
    const unsigned char *s = (const unsigned char *)utf8;
    size_t o = 0;

    while (*s != '\0') {
        size_t n = eotp_utf8_len(s);
        unsigned long cp;

        switch (n) {
        case 1:
            cp = s[0];
            break;
        case 2:
            cp = ((unsigned long)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
            break;
        case 3:
            cp = ((unsigned long)(s[0] & 0x0f) << 12) |
                 ((unsigned long)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
            break;
        default:
            /* Invalid, or beyond the BMP: UCS-2 has no surrogates. */
            return EOTP_E_API_REQUEST;
        }
        if (cap - o < 2) {
            return EOTP_E_API_REQUEST;
        }
        out[o++] = (unsigned char)(cp >> 8);
        out[o++] = (unsigned char)(cp & 0xff);
        s += n;
    }
    *outlen = o;
    return EOTP_OK;
}

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

int eotp_smpp_frame_len(const unsigned char *p4, uint32_t *len)
{
    uint32_t n = be32(p4);

    if (n < EOTP_SMPP_PDU_MIN || n > EOTP_SMPP_PDU_MAX) {
        return EOTP_E_BAD_RESPONSE;
    }
    *len = n;
    return EOTP_OK;
}

const char *eotp_smpp_status_name(uint32_t status)
{
    switch (status) {
    case 0x00:
        return "ESME_ROK";
    case 0x08:
        return "ESME_RSYSERR";
    case 0x0d:
        return "ESME_RBINDFAIL";
    case 0x0e:
        return "ESME_RINVPASWD";
    case 0x0f:
        return "ESME_RINVSYSID";
    case 0x32:
        return "ESME_RINVPARAM";
    case 0x45:
        return "ESME_RSUBMITFAIL";
    case 0x55:
        return "ESME_RINVNUMMSGS";
    case 0x58:
        return "ESME_RTHROTTLED";
    case 0xff:
        return "ESME_RUNKNOWNERR";
    default:
        return "unknown";
    }
}

int eotp_smpp_map_status(uint32_t command_id, uint32_t status)
{
    if (status == 0) {
        return EOTP_OK;
    }
    if (command_id == EOTP_SMPP_BIND_TRX_RESP) {
        /* A refused bind: our credentials, unless the server failed. */
        return status == 0x08 ? EOTP_E_SERVER : EOTP_E_API_AUTH;
    }
    switch (status) {
    case 0x45: /* submit failed, e.g. the template: this destination */
        return EOTP_E_DELIVERY;
    case 0x08: /* system error, retry later */
    case 0x58: /* throttled */
    case 0xff: /* unknown error */
        return EOTP_E_SERVER;
    default: /* 0x32, 0x55 and any other refusal of the request */
        return EOTP_E_API_REQUEST;
    }
}

static void set_info(struct eotp_smpp_info *info, const char *step,
                     uint32_t status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_info(struct eotp_smpp_info *info, const char *step,
                     uint32_t status, const char *fmt, ...)
{
    char text[EOTP_SMPP_DETAIL_MAX];
    char safe[120];
    va_list ap;

    if (info == NULL) {
        return;
    }
    va_start(ap, fmt);
    (void)vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    eotp_sanitize(safe, sizeof(safe), text, false);
    for (char *p = safe; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            *p = '\'';
        }
    }
    info->step = step;
    info->status = status;
    if (status != 0) {
        (void)snprintf(info->detail, sizeof(info->detail),
                       "transport=smpp step=%.12s status=0x%08x(%s)%s%s%s",
                       step, (unsigned int)status,
                       eotp_smpp_status_name(status),
                       safe[0] != '\0' ? " error=\"" : "", safe,
                       safe[0] != '\0' ? "\"" : "");
    } else {
        (void)snprintf(info->detail, sizeof(info->detail),
                       "transport=smpp step=%.12s error=\"%s\"", step, safe);
    }
}

#ifdef EOTP_HAVE_SMPP

bool eotp_smpp_available(void)
{
    return true;
}

/*
 * libsmpp34 keeps its trace in process-wide variables: one caller at a
 * time (a host such as a VPN server may run logins in threads).
 */
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;

static int pack(uint32_t type, void *pdu, unsigned char *buf, size_t cap,
                size_t *len)
{
    int n = 0;
    int rc;

    if (cap > (size_t)PDU_OUT_MAX * 2) {
        cap = (size_t)PDU_OUT_MAX * 2;
    }
    (void)pthread_mutex_lock(&lib_lock);
    rc = smpp34_pack(type, buf, (int)cap, &n, pdu);
    eotp_memzero(smpp34_strerror, sizeof(smpp34_strerror)); /* may echo */
    (void)pthread_mutex_unlock(&lib_lock);
    if (rc != 0 || n < EOTP_SMPP_PDU_MIN) {
        return EOTP_E_API_REQUEST;
    }
    *len = (size_t)n;
    return EOTP_OK;
}

/* buf holds len + 1 bytes, the last a NUL (libsmpp34 uses strlen). */
static int unpack(uint32_t type, void *pdu, const unsigned char *buf,
                  size_t len, tlv_t **tlvs)
{
    int rc;

    (void)pthread_mutex_lock(&lib_lock);
    rc = smpp34_unpack(type, pdu, buf, (int)len);
    (void)pthread_mutex_unlock(&lib_lock);
    if (tlvs != NULL && *tlvs != NULL) {
        (void)destroy_tlv(*tlvs); /* also after a failure: it allocates */
        *tlvs = NULL;
    }
    return rc == 0 ? EOTP_OK : EOTP_E_BAD_RESPONSE;
}

int eotp_smpp_build_submit(const struct eotp_send_req *req, uint32_t seq,
                           unsigned char *buf, size_t cap, size_t *len,
                           bool *payload)
{
    struct eotp_jbuf jb;
    submit_sm_t *pdu = NULL;
    tlv_t *tlv = NULL;
    unsigned char *text = NULL;
    size_t tlen = 0;
    int r;

    if (req->code == NULL || eotp_dest_classify(req->to) != EOTP_DEST_PHONE ||
        strlen(req->to) >= sizeof(pdu->destination_addr)) {
        return EOTP_E_API_REQUEST; /* SMPP carries local codes, by SMS */
    }
    r = eotp_jbuf_init(&jb, JSON_MAX);
    if (r != EOTP_OK) {
        return r;
    }
    pdu = calloc(1, sizeof(*pdu));
    tlv = calloc(1, sizeof(*tlv));
    text = calloc(1, EOTP_SMPP_PAYLOAD_MAX);
    if (pdu == NULL || tlv == NULL || text == NULL) {
        r = EOTP_E_NOMEM;
        goto out;
    }
    r = eotp_smpp_message_json(req, &jb);
    if (r == EOTP_OK) {
        r = eotp_smpp_ucs2(jb.buf, text, EOTP_SMPP_PAYLOAD_MAX, &tlen);
    }
    if (r != EOTP_OK) {
        goto out;
    }
    pdu->command_id = EOTP_SMPP_SUBMIT_SM;
    pdu->command_status = 0;
    pdu->sequence_number = seq;
    memcpy(pdu->service_type, SERVICE_TYPE, sizeof(SERVICE_TYPE));
    pdu->source_addr_ton = 0;
    pdu->source_addr_npi = 0;
    pdu->dest_addr_ton = 1; /* international */
    pdu->dest_addr_npi = 1; /* E.164 */
    memcpy(pdu->destination_addr, req->to, strlen(req->to) + 1);
    pdu->data_coding = DATA_CODING_UCS2;
    if (tlen <= EOTP_SMPP_SHORT_MAX) {
        pdu->sm_length = (uint8_t)tlen;
        memcpy(pdu->short_message, text, tlen);
        *payload = false;
    } else {
        tlv->tag = TLVID_message_payload;
        tlv->length = (uint16_t)tlen;
        memcpy(tlv->value.octet, text, tlen);
        tlv->next = NULL;
        pdu->sm_length = 0;
        pdu->tlv = tlv;
        *payload = true;
    }
    r = pack(SUBMIT_SM, pdu, buf, cap, len);
out:
    eotp_jbuf_wipe(&jb);
    eotp_freezero(text, EOTP_SMPP_PAYLOAD_MAX);
    eotp_freezero(tlv, sizeof(*tlv));
    eotp_freezero(pdu, sizeof(*pdu));
    return r;
}

static int build_simple(uint32_t command_id, uint32_t seq, unsigned char *buf,
                        size_t cap, size_t *len)
{
    /* unbind, enquire_link_resp and unbind_resp are a header alone. */
    enquire_link_resp_t pdu;

    memset(&pdu, 0, sizeof(pdu));
    pdu.command_id = command_id;
    pdu.sequence_number = seq;
    return pack(command_id, &pdu, buf, cap, len);
}

static int build_deliver_resp(uint32_t seq, unsigned char *buf, size_t cap,
                              size_t *len)
{
    deliver_sm_resp_t pdu;

    memset(&pdu, 0, sizeof(pdu));
    pdu.command_id = EOTP_SMPP_DELIVER_SM_RESP;
    pdu.sequence_number = seq;
    return pack(DELIVER_SM_RESP, &pdu, buf, cap, len);
}

static int build_bind(const struct eotp_smpp_opts *o, unsigned char *buf,
                      size_t cap, size_t *len)
{
    bind_transceiver_t pdu;
    size_t sl = strlen(o->system_id);
    size_t pl = strlen(o->password);
    int r;

    if (sl > EOTP_SMPP_SYSTEM_ID_MAX || pl > EOTP_SMPP_PASSWORD_MAX) {
        return EOTP_E_CONFIG;
    }
    memset(&pdu, 0, sizeof(pdu));
    pdu.command_id = EOTP_SMPP_BIND_TRX;
    pdu.sequence_number = SEQ_BIND;
    memcpy(pdu.system_id, o->system_id, sl + 1);
    memcpy(pdu.password, o->password, pl + 1);
    pdu.interface_version = SMPP_VERSION;
    r = pack(BIND_TRANSCEIVER, &pdu, buf, cap, len);
    eotp_memzero(&pdu, sizeof(pdu));
    return r;
}

/*
 * Does libsmpp34 get through this bind_transceiver_resp without failing
 * inside a TLV?  (It leaks the TLV it was reading when it does.)  The
 * system_id is terminated within 16 octets, and every TLV is whole (for
 * sc_interface_version: one octet, which libsmpp34 reads whatever the
 * length says).
 */
static bool bind_resp_shape_ok(const unsigned char *buf, size_t len)
{
    const unsigned char *nul = memchr(buf + 16, '\0', len - 16);
    size_t off;

    if (nul == NULL || nul - (buf + 16) >= 16) {
        return false;
    }
    off = (size_t)(nul - buf) + 1;
    while (off < len) {
        unsigned int tag;
        size_t tlen;

        if (len - off < 4) {
            return false;
        }
        tag = ((unsigned int)buf[off] << 8) | buf[off + 1];
        tlen = ((size_t)buf[off + 2] << 8) | buf[off + 3];
        off += 4;
        if (tlen > len - off || tlen > MAX_TLV_SIZE ||
            (tag == TLVID_sc_interface_version && tlen != 1)) {
            return false;
        }
        off += tlen;
    }
    return true;
}

int eotp_smpp_parse(const unsigned char *buf, size_t len, uint32_t want_cmd,
                    uint32_t want_seq, struct eotp_smpp_pdu *out)
{
    struct eotp_smpp_hdr *h = &out->hdr;
    uint32_t flen = 0;

    memset(out, 0, sizeof(*out));
    if (len < EOTP_SMPP_PDU_MIN || eotp_smpp_frame_len(buf, &flen) != 0 ||
        flen != len) {
        out->why = "malformed PDU (command_length)";
        return EOTP_E_BAD_RESPONSE;
    }
    h->length = flen;
    h->command_id = be32(buf + 4);
    h->status = be32(buf + 8);
    h->seq = be32(buf + 12);

    switch (h->command_id) {
    case EOTP_SMPP_GENERIC_NACK:
        out->why = "generic_nack";
        return EOTP_E_BAD_RESPONSE;
    case EOTP_SMPP_ENQUIRE_LINK:
    case EOTP_SMPP_UNBIND: {
        enquire_link_t pdu;

        memset(&pdu, 0, sizeof(pdu));
        if (len != EOTP_SMPP_PDU_MIN ||
            unpack(h->command_id, &pdu, buf, len, NULL) != EOTP_OK) {
            out->why = "malformed PDU (enquire_link or unbind)";
            return EOTP_E_BAD_RESPONSE;
        }
        out->kind = h->command_id == EOTP_SMPP_ENQUIRE_LINK
                        ? EOTP_SMPP_ENQUIRE
                        : EOTP_SMPP_UNBOUND;
        return EOTP_OK;
    }
    case EOTP_SMPP_DELIVER_SM:
        /*
         * A delivery receipt (or a message to us): acknowledged and not
         * read; the sequence number is all the answer needs.
         */
        if (h->seq == 0) {
            out->why = "malformed PDU (deliver_sm)";
            return EOTP_E_BAD_RESPONSE;
        }
        out->kind = EOTP_SMPP_DELIVER;
        return EOTP_OK;
    default:
        break;
    }
    if (h->command_id != want_cmd) {
        out->why = "unexpected command";
        return EOTP_E_BAD_RESPONSE;
    }
    if (h->seq != want_seq) {
        out->why = "wrong sequence number";
        return EOTP_E_BAD_RESPONSE;
    }
    out->kind = EOTP_SMPP_ANSWER;
    if (h->status != 0) {
        return EOTP_OK; /* a refusal: the header says all */
    }
    if (want_cmd == EOTP_SMPP_BIND_TRX_RESP) {
        bind_transceiver_resp_t pdu;
        int r;

        memset(&pdu, 0, sizeof(pdu));
        if (len > BIND_RESP_MAX) {
            out->why = "oversized bind_transceiver_resp";
            return EOTP_E_BAD_RESPONSE;
        }
        if (!bind_resp_shape_ok(buf, len)) {
            out->why = "malformed bind_transceiver_resp";
            return EOTP_E_BAD_RESPONSE;
        }
        /*
         * Unpacked without its TLVs (checked above, not needed): for each
         * TLV libsmpp34 calls malloc and uses the result unchecked, which
         * would crash the host when memory runs out.
         */
        {
            const unsigned char *nul = memchr(buf + 16, '\0', len - 16);
            size_t cut = (size_t)(nul - buf) + 1; /* shape_ok: found */
            unsigned char head[EOTP_SMPP_PDU_MIN + 17];

            memcpy(head, buf, cut);
            head[0] = head[1] = head[2] = 0;
            head[3] = (unsigned char)cut;
            head[cut] = '\0';
            r = unpack(BIND_TRANSCEIVER_RESP, &pdu, head, cut, &pdu.tlv);
        }
        if (r != EOTP_OK) {
            out->why = "malformed bind_transceiver_resp";
        }
        return r;
    }
    if (want_cmd == EOTP_SMPP_SUBMIT_SM_RESP) {
        submit_sm_resp_t pdu;
        int r;

        memset(&pdu, 0, sizeof(pdu));
        if (len > SUBMIT_RESP_MAX) {
            out->why = "oversized submit_sm_resp";
            return EOTP_E_BAD_RESPONSE;
        }
        r = unpack(SUBMIT_SM_RESP, &pdu, buf, len, NULL);
        if (r != EOTP_OK) {
            out->why = "malformed submit_sm_resp";
            return r;
        }
        pdu.message_id[sizeof(pdu.message_id) - 1] = 0;
        if (eotp_api_token_ok((const char *)pdu.message_id, EOTP_MSGID_MAX)) {
            (void)snprintf(out->message_id, sizeof(out->message_id), "%s",
                           (const char *)pdu.message_id);
        }
        return EOTP_OK;
    }
    if (len != EOTP_SMPP_PDU_MIN) { /* unbind_resp */
        out->why = "malformed PDU (unbind_resp)";
        return EOTP_E_BAD_RESPONSE;
    }
    return EOTP_OK;
}

/* ---- the connection ----------------------------------------------------- */

struct conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    struct timespec end; /* the session's deadline (CLOCK_MONOTONIC) */
    struct timespec start;
    struct eotp_smpp_info *info;
};

static long ms_until(const struct timespec *t)
{
    struct timespec now;

    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(t->tv_sec - now.tv_sec) * 1000L +
           (t->tv_nsec - now.tv_nsec) / 1000000L;
}

static void deadline_in(struct timespec *t, long ms)
{
    (void)clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

/* Wait for events on fd until end; EOTP_E_TIMEOUT when it passes. */
static int wait_fd(int fd, short events, const struct timespec *end)
{
    for (;;) {
        struct pollfd p = {fd, events, 0};
        long left = ms_until(end);
        int n;

        if (left <= 0) {
            return EOTP_E_TIMEOUT;
        }
        n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (n > 0) {
            return EOTP_OK;
        }
        if (n == 0) {
            return EOTP_E_TIMEOUT;
        }
        if (errno != EINTR) {
            return EOTP_E_TRANSPORT;
        }
    }
}

static void tls_error(struct conn *c, const char *step, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char text[160];

    text[0] = '\0';
    if (e != 0) {
        ERR_error_string_n(e, text, sizeof(text));
    }
    if (c->ssl != NULL && SSL_get_verify_result(c->ssl) != X509_V_OK) {
        set_info(c->info, step, 0, "%s: certificate: %s", what,
                 X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
    } else {
        set_info(c->info, step, 0, "%s%s%s", what, text[0] != '\0' ? ": " : "",
                 text);
    }
    ERR_clear_error();
}

static int connect_one(struct conn *c, const struct addrinfo *ai,
                       const struct timespec *cend)
{
    int fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    int one = 1;
    int r;

    if (fd < 0) {
        return EOTP_E_TRANSPORT;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            soerr = errno;
            goto fail;
        }
        r = wait_fd(fd, POLLOUT, cend);
        if (r != EOTP_OK) {
            (void)close(fd);
            return r;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
            soerr = errno;
        }
        if (soerr != 0) {
            goto fail;
        }
    }
    /*
     * Whole PDUs are written at once: Nagle's algorithm would hold the
     * bind back behind the TLS Finished message until the server's
     * delayed ACK (40 ms on Linux).
     */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->fd = fd;
    return EOTP_OK;
fail:
    (void)close(fd);
    set_info(c->info, "connect", 0, "%s", strerror(soerr));
    return EOTP_E_TRANSPORT;
}

static int conn_connect(struct conn *c, const struct eotp_smpp_opts *o)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    struct timespec cend;
    char port[8];
    int r = EOTP_E_TRANSPORT;
    int g;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    (void)snprintf(port, sizeof(port), "%ld", o->port);
    g = getaddrinfo(o->host, port, &hints, &res);
    if (g != 0) {
        set_info(c->info, "connect", 0, "cannot resolve the host: %s",
                 gai_strerror(g));
        return EOTP_E_TRANSPORT;
    }
    deadline_in(&cend, o->connect_timeout_ms);
    if (ms_until(&cend) > ms_until(&c->end)) {
        cend = c->end;
    }
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        r = connect_one(c, ai, &cend);
        if (r == EOTP_OK || r == EOTP_E_TIMEOUT) {
            break;
        }
    }
    freeaddrinfo(res);
    if (r == EOTP_E_TIMEOUT) {
        set_info(c->info, "connect", 0, "connect timed out");
    }
    return r;
}

static int conn_tls(struct conn *c, const struct eotp_smpp_opts *o)
{
    unsigned char ip[sizeof(struct in6_addr)];
    bool literal = inet_pton(AF_INET, o->host, ip) == 1 ||
                   inet_pton(AF_INET6, o->host, ip) == 1;

    ERR_clear_error();
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL) {
        return EOTP_E_NOMEM;
    }
    (void)SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    (void)SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION |
                                          SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if (o->ca_file != NULL
            ? SSL_CTX_load_verify_locations(c->ctx, o->ca_file, NULL) != 1
            : SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
        tls_error(c, "tls", "cannot load the CA certificates");
        return EOTP_E_TLS;
    }
    c->ssl = SSL_new(c->ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        return EOTP_E_NOMEM;
    }
    /* The certificate must name the host we were told to use. */
    if (literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
                                                o->host) != 1
                : SSL_set1_host(c->ssl, o->host) != 1 ||
                      SSL_ctrl(c->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME,
                               TLSEXT_NAMETYPE_host_name,
                               (void *)(uintptr_t)o->host) != 1) {
        tls_error(c, "tls", "cannot set the host name");
        return EOTP_E_TLS;
    }
    for (;;) {
        int rc = SSL_connect(c->ssl);
        int e;
        int r;

        if (rc == 1) {
            break;
        }
        e = SSL_get_error(c->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            r = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                        &c->end);
            if (r != EOTP_OK) {
                set_info(c->info, "tls", 0, "TLS handshake timed out");
                return r;
            }
            continue;
        }
        tls_error(c, "tls", "TLS handshake failed");
        return EOTP_E_TLS;
    }
    ERR_clear_error();
    return EOTP_OK;
}

static int conn_write(struct conn *c, const unsigned char *buf, size_t n)
{
    size_t off = 0;

    while (off < n) {
        ssize_t w;
        short ev = POLLOUT;
        int r;

        if (c->ssl != NULL) {
            int rc;
            int e;

            ERR_clear_error();
            rc = SSL_write(c->ssl, buf + off, (int)(n - off));
            if (rc > 0) {
                off += (size_t)rc;
                continue;
            }
            e = SSL_get_error(c->ssl, rc);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                ERR_clear_error();
                return EOTP_E_TRANSPORT;
            }
            ev = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        } else {
            w = send(c->fd, buf + off, n - off, MSG_NOSIGNAL);
            if (w > 0) {
                off += (size_t)w;
                continue;
            }
            if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                errno != EINTR) {
                return EOTP_E_TRANSPORT;
            }
        }
        r = wait_fd(c->fd, ev, &c->end);
        if (r != EOTP_OK) {
            return r;
        }
    }
    return EOTP_OK;
}

#define READ_EOF 1 /* the peer closed before the first byte */

/* Exactly n bytes; READ_EOF when the connection ends before the first. */
static int conn_read(struct conn *c, unsigned char *buf, size_t n,
                     const struct timespec *end, bool *reset)
{
    size_t off = 0;

    while (off < n) {
        short ev = POLLIN;
        ssize_t got;
        int r;

        if (c->ssl != NULL) {
            int rc;
            int e;

            ERR_clear_error();
            rc = SSL_read(c->ssl, buf + off, (int)(n - off));
            if (rc > 0) {
                off += (size_t)rc;
                continue;
            }
            e = SSL_get_error(c->ssl, rc);
            if (e == SSL_ERROR_ZERO_RETURN ||
                (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
                *reset = e == SSL_ERROR_SYSCALL && errno == ECONNRESET;
                ERR_clear_error();
                return off == 0 ? READ_EOF : EOTP_E_BAD_RESPONSE;
            }
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                ERR_clear_error();
                return EOTP_E_TRANSPORT;
            }
            ev = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        } else {
            got = recv(c->fd, buf + off, n - off, 0);
            if (got > 0) {
                off += (size_t)got;
                continue;
            }
            if (got == 0 || errno == ECONNRESET) {
                *reset = got < 0;
                return off == 0 ? READ_EOF : EOTP_E_BAD_RESPONSE;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                return EOTP_E_TRANSPORT;
            }
        }
        r = wait_fd(c->fd, ev, end);
        if (r != EOTP_OK) {
            return r;
        }
    }
    return EOTP_OK;
}

/*
 * One whole PDU into *pdu (malloc'd, len + 1 bytes, NUL-terminated).
 * READ_EOF at a PDU boundary; EOTP_E_BAD_RESPONSE for a bad length or a
 * PDU cut short.
 */
static int read_pdu(struct conn *c, const struct timespec *end,
                    unsigned char **pdu, size_t *len, bool *reset)
{
    unsigned char head[4];
    unsigned char *buf;
    uint32_t n = 0;
    int r = conn_read(c, head, sizeof(head), end, reset);

    if (r != EOTP_OK) {
        return r;
    }
    if (eotp_smpp_frame_len(head, &n) != EOTP_OK) {
        return EOTP_E_BAD_RESPONSE;
    }
    buf = calloc(1, (size_t)n + 1);
    if (buf == NULL) {
        return EOTP_E_NOMEM;
    }
    memcpy(buf, head, sizeof(head));
    r = conn_read(c, buf + 4, n - 4, end, reset);
    if (r != EOTP_OK) {
        eotp_freezero(buf, (size_t)n + 1);
        return r == READ_EOF ? EOTP_E_BAD_RESPONSE : r;
    }
    *pdu = buf;
    *len = n;
    return EOTP_OK;
}

static int send_simple(struct conn *c, uint32_t command_id, uint32_t seq)
{
    unsigned char buf[64];
    size_t len = 0;
    int r = command_id == EOTP_SMPP_DELIVER_SM_RESP
                ? build_deliver_resp(seq, buf, sizeof(buf), &len)
                : build_simple(command_id, seq, buf, sizeof(buf), &len);

    if (r != EOTP_OK) {
        return EOTP_E_INTERNAL;
    }
    return conn_write(c, buf, len);
}

/*
 * Wait for the answer want_cmd/want_seq, answering keepalives and
 * receipts on the way.  *hdr and message_id (may be NULL) on success.
 */
static int wait_answer(struct conn *c, const char *step, uint32_t want_cmd,
                       uint32_t want_seq, const struct timespec *end,
                       struct eotp_smpp_pdu *ans)
{
    for (int i = 0; i <= INTERLEAVED_MAX; i++) {
        unsigned char *buf = NULL;
        size_t len = 0;
        bool reset = false;
        int one = 1;
        int r;

        /*
         * ACK at once what arrives: a server that leaves Nagle on holds
         * its answer back until its last small write (TLS session
         * tickets) is acknowledged, and Linux delays ACKs by up to 40 ms.
         */
        (void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
        r = read_pdu(c, end, &buf, &len, &reset);

        if (r == READ_EOF) {
            set_info(c->info, step, 0, "connection %s by the server",
                     reset ? "reset" : "closed");
            return READ_EOF;
        }
        if (r == EOTP_E_BAD_RESPONSE) {
            set_info(c->info, step, 0,
                     "malformed PDU (bad command_length, or cut short)");
            return r;
        }
        if (r != EOTP_OK) {
            set_info(c->info, step, 0, "%s",
                     r == EOTP_E_TIMEOUT ? "no answer in time"
                                         : "connection failed");
            return r;
        }
        r = eotp_smpp_parse(buf, len, want_cmd, want_seq, ans);
        eotp_freezero(buf, len + 1);
        if (r != EOTP_OK) {
            set_info(c->info, step, 0, "%s",
                     ans->why != NULL ? ans->why : "bad answer");
            return r;
        }
        switch (ans->kind) {
        case EOTP_SMPP_ANSWER:
            return EOTP_OK;
        case EOTP_SMPP_ENQUIRE:
            r = send_simple(c, EOTP_SMPP_ENQUIRE_LINK_RESP, ans->hdr.seq);
            break;
        case EOTP_SMPP_DELIVER:
            r = send_simple(c, EOTP_SMPP_DELIVER_SM_RESP, ans->hdr.seq);
            break;
        case EOTP_SMPP_UNBOUND:
            (void)send_simple(c, EOTP_SMPP_UNBIND_RESP, ans->hdr.seq);
            set_info(c->info, step, 0, "the server unbound the session");
            return EOTP_E_TRANSPORT;
        }
        if (r != EOTP_OK) {
            set_info(c->info, step, 0, "cannot answer the server");
            return r;
        }
    }
    set_info(c->info, step, 0, "too many PDUs before the answer");
    return EOTP_E_BAD_RESPONSE;
}

static int do_bind(struct conn *c, const struct eotp_smpp_opts *o)
{
    struct eotp_smpp_pdu ans;
    unsigned char buf[128];
    size_t len = 0;
    int r = build_bind(o, buf, sizeof(buf), &len);

    if (r != EOTP_OK) {
        set_info(c->info, "bind", 0,
                 "smpp_system_id or the password is too long");
        return EOTP_E_CONFIG;
    }
    r = conn_write(c, buf, len);
    eotp_memzero(buf, sizeof(buf));
    if (r != EOTP_OK) {
        set_info(c->info, "bind", 0, "cannot send bind_transceiver");
        return r;
    }
    r = wait_answer(c, "bind", EOTP_SMPP_BIND_TRX_RESP, SEQ_BIND, &c->end,
                    &ans);
    if (r == READ_EOF) {
        /* EngageLab refuses a bind by closing the connection. */
        set_info(c->info, "bind", 0,
                 "bind refused: the server closed the connection");
        return EOTP_E_API_AUTH;
    }
    if (r != EOTP_OK) {
        return r;
    }
    r = eotp_smpp_map_status(EOTP_SMPP_BIND_TRX_RESP, ans.hdr.status);
    if (r != EOTP_OK) {
        set_info(c->info, "bind", ans.hdr.status, "bind refused");
    }
    return r;
}

/* Unbind politely; the outcome is already known, so errors are ignored. */
static void do_unbind(struct conn *c)
{
    struct eotp_smpp_pdu ans;
    struct eotp_smpp_info scratch;
    struct eotp_smpp_info *keep = c->info;
    struct timespec end;

    deadline_in(&end, UNBIND_WAIT_MS);
    if (ms_until(&end) > ms_until(&c->end)) {
        end = c->end;
    }
    if (send_simple(c, EOTP_SMPP_UNBIND, SEQ_UNBIND) != EOTP_OK) {
        return;
    }
    memset(&scratch, 0, sizeof(scratch));
    c->info = &scratch;
    (void)wait_answer(c, "unbind", EOTP_SMPP_UNBIND_RESP, SEQ_UNBIND, &end,
                      &ans);
    c->info = keep;
}

static void conn_close(struct conn *c)
{
    if (c->ssl != NULL) {
        (void)SSL_shutdown(c->ssl); /* one close_notify, no wait */
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->ctx != NULL) {
        SSL_CTX_free(c->ctx);
        c->ctx = NULL;
    }
    if (c->fd >= 0) {
        (void)close(c->fd);
        c->fd = -1;
    }
    ERR_clear_error();
}

/*
 * A session: connect, TLS, bind; then submit (pdu != NULL) and unbind.
 * SIGPIPE is blocked in this thread for the session and a SIGPIPE it
 * raised is taken back: OpenSSL writes with write(2), and sudo and login
 * do not ignore the signal.
 */
static int session(const struct eotp_smpp_opts *o, const unsigned char *pdu,
                   size_t pdu_len, struct eotp_send_resp *out,
                   struct eotp_smpp_info *info)
{
    struct conn c;
    struct eotp_smpp_pdu ans;
    sigset_t pipe_set;
    sigset_t old_mask;
    sigset_t pending;
    bool pipe_was_pending;
    int r;

    memset(&c, 0, sizeof(c));
    c.fd = -1;
    c.info = info;
    (void)clock_gettime(CLOCK_MONOTONIC, &c.start);
    deadline_in(&c.end, o->timeout_ms > 0 ? o->timeout_ms : 1);
    (void)sigemptyset(&pipe_set);
    (void)sigaddset(&pipe_set, SIGPIPE);
    (void)pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
    (void)sigemptyset(&pending);
    pipe_was_pending = sigpending(&pending) == 0 &&
                       sigismember(&pending, SIGPIPE) == 1;

    r = conn_connect(&c, o);
    if (r == EOTP_OK && o->tls) {
        r = conn_tls(&c, o);
    }
    if (r == EOTP_OK) {
        r = do_bind(&c, o);
    }
    if (r == EOTP_OK && pdu != NULL) {
        r = conn_write(&c, pdu, pdu_len);
        if (r != EOTP_OK) {
            set_info(info, "submit", 0, "cannot send submit_sm");
        }
        if (r == EOTP_OK) {
            r = wait_answer(&c, "submit", EOTP_SMPP_SUBMIT_SM_RESP, SEQ_SUBMIT,
                            &c.end, &ans);
            if (r == READ_EOF) {
                r = EOTP_E_TRANSPORT; /* the message may have gone out */
            }
        }
        if (r == EOTP_OK) {
            r = eotp_smpp_map_status(EOTP_SMPP_SUBMIT_SM_RESP, ans.hdr.status);
            if (r != EOTP_OK) {
                set_info(info, "submit", ans.hdr.status, "submit_sm refused");
            } else {
                memcpy(out->message_id, ans.message_id,
                       sizeof(out->message_id));
                (void)snprintf(out->channel, sizeof(out->channel), "sms");
            }
        }
        if (r == EOTP_OK || r == EOTP_E_DELIVERY || r == EOTP_E_API_REQUEST ||
            r == EOTP_E_SERVER) {
            do_unbind(&c); /* a PDU-level answer: the session is sane */
        }
    } else if (r == EOTP_OK) {
        do_unbind(&c);
    }
    conn_close(&c);

    if (!pipe_was_pending && sigpending(&pending) == 0 &&
        sigismember(&pending, SIGPIPE) == 1) {
        struct timespec zero = {0, 0};

        (void)sigtimedwait(&pipe_set, NULL, &zero);
    }
    (void)pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    if (info != NULL) {
        struct timespec now;

        (void)clock_gettime(CLOCK_MONOTONIC, &now);
        info->elapsed_ms = (long)(now.tv_sec - c.start.tv_sec) * 1000L +
                           (now.tv_nsec - c.start.tv_nsec) / 1000000L;
    }
    return r;
}

int eotp_smpp_send(const struct eotp_smpp_opts *o,
                   const struct eotp_send_req *req, struct eotp_send_resp *out,
                   struct eotp_smpp_info *info)
{
    unsigned char *pdu = malloc(PDU_OUT_MAX);
    struct eotp_send_resp sr;
    size_t len = 0;
    bool payload = false;
    int r;

    if (info != NULL) {
        memset(info, 0, sizeof(*info));
    }
    if (pdu == NULL) {
        return EOTP_E_NOMEM;
    }
    r = eotp_smpp_build_submit(req, SEQ_SUBMIT, pdu, PDU_OUT_MAX, &len,
                               &payload);
    if (r != EOTP_OK) {
        set_info(info, "build", 0,
                 r == EOTP_E_NOMEM
                     ? "out of memory"
                     : "the message cannot be sent by SMPP (not a phone "
                       "number, not UCS-2 text, or over 1024 octets)");
        goto out;
    }
    memset(&sr, 0, sizeof(sr));
    r = session(o, pdu, len, &sr, info);
    if (r == EOTP_OK) {
        *out = sr;
    }
out:
    eotp_freezero(pdu, PDU_OUT_MAX);
    return r;
}

int eotp_smpp_check_bind(const struct eotp_smpp_opts *o,
                         struct eotp_smpp_info *info)
{
    if (info != NULL) {
        memset(info, 0, sizeof(*info));
    }
    return session(o, NULL, 0, NULL, info);
}

#else /* no libsmpp34 */

bool eotp_smpp_available(void)
{
    return false;
}

int eotp_smpp_build_submit(const struct eotp_send_req *req, uint32_t seq,
                           unsigned char *buf, size_t cap, size_t *len,
                           bool *payload)
{
    (void)req;
    (void)seq;
    (void)buf;
    (void)cap;
    (void)len;
    (void)payload;
    return EOTP_E_CONFIG;
}

int eotp_smpp_parse(const unsigned char *buf, size_t len, uint32_t want_cmd,
                    uint32_t want_seq, struct eotp_smpp_pdu *out)
{
    (void)buf;
    (void)len;
    (void)want_cmd;
    (void)want_seq;
    memset(out, 0, sizeof(*out));
    out->why = "no SMPP support in this build";
    return EOTP_E_BAD_RESPONSE;
}

int eotp_smpp_send(const struct eotp_smpp_opts *o,
                   const struct eotp_send_req *req, struct eotp_send_resp *out,
                   struct eotp_smpp_info *info)
{
    (void)o;
    (void)req;
    (void)out;
    if (info != NULL) {
        memset(info, 0, sizeof(*info));
    }
    set_info(info, "build", 0, "this build has no SMPP support");
    return EOTP_E_CONFIG;
}

int eotp_smpp_check_bind(const struct eotp_smpp_opts *o,
                         struct eotp_smpp_info *info)
{
    return eotp_smpp_send(o, NULL, NULL, info);
}

#endif
