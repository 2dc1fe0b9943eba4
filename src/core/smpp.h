/* SPDX-License-Identifier: Apache-2.0 */
/*
 * smpp.h - EngageLab's SMPP interface: one short session per code.
 *
 * connect (TLS unless smpp_tls = no), bind_transceiver, submit_sm with
 * service_type CODE, data_coding UCS-2 and the JSON short_message
 * {"id","language","code","params"} (in the message_payload TLV when it
 * does not fit short_message), wait for submit_sm_resp, unbind, close.
 * The PDUs are packed and unpacked with libsmpp34; the socket, TLS and
 * every timeout are ours (non-blocking socket, poll, SIGPIPE never
 * raised, nothing left open when a call returns).
 */
#ifndef EOTP_SMPP_H
#define EOTP_SMPP_H

#include "api.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EOTP_SMPP_PDU_MIN 16          /* the header alone */
#define EOTP_SMPP_PDU_MAX (64 * 1024) /* a longer command_length: refused */
#define EOTP_SMPP_SHORT_MAX 253 /* octets libsmpp34 packs in short_message */
#define EOTP_SMPP_PAYLOAD_MAX 1024 /* octets of message_payload (libsmpp34) */
#define EOTP_SMPP_PASSWORD_MAX 8   /* SMPP 3.4 password: 8 characters */
#define EOTP_SMPP_SYSTEM_ID_MAX 15
#define EOTP_SMPP_DETAIL_MAX 200

/* Command ids and statuses used here (SMPP 3.4; EngageLab's own 0x32). */
#define EOTP_SMPP_GENERIC_NACK 0x80000000u
#define EOTP_SMPP_SUBMIT_SM 0x00000004u
#define EOTP_SMPP_SUBMIT_SM_RESP 0x80000004u
#define EOTP_SMPP_DELIVER_SM 0x00000005u
#define EOTP_SMPP_DELIVER_SM_RESP 0x80000005u
#define EOTP_SMPP_UNBIND 0x00000006u
#define EOTP_SMPP_UNBIND_RESP 0x80000006u
#define EOTP_SMPP_BIND_TRX 0x00000009u
#define EOTP_SMPP_BIND_TRX_RESP 0x80000009u
#define EOTP_SMPP_ENQUIRE_LINK 0x00000015u
#define EOTP_SMPP_ENQUIRE_LINK_RESP 0x80000015u

struct eotp_smpp_opts {
    const char *host;
    long port;
    const char *system_id;
    const char *password; /* at most EOTP_SMPP_PASSWORD_MAX characters */
    bool tls;
    const char *ca_file; /* PEM bundle, NULL for the system store */
    long connect_timeout_ms;
    long timeout_ms; /* the whole session: connect to close */
};

/* What went wrong, for logs and the admin tool (never a secret). */
struct eotp_smpp_info {
    const char *step; /* "connect", "tls", "bind", "submit", ... */
    uint32_t status;  /* command_status of a refusal, else 0 */
    char detail[EOTP_SMPP_DETAIL_MAX]; /* key=value fields, sanitised */
    long elapsed_ms;                   /* time spent in the session */
};

/*
 * Deliver req (req->code set) by SMPP.  Returns 0 with out->message_id
 * (the service's id when it is a plain token, else "") and channel "sms",
 * or:
 *   EOTP_E_API_AUTH      bind refused (ESME_RINVPASWD, ESME_RINVSYSID,
 *                        another bind status, or the connection closed)
 *   EOTP_E_DELIVERY      submit_sm_resp 0x45 (ESME_RSUBMITFAIL)
 *   EOTP_E_API_REQUEST   0x32 (ESME_RINVPARAM), 0x55 (ESME_RINVNUMMSGS),
 *                        another refusal; or a message that cannot be
 *                        built (not a phone number, too long, bad UTF-8)
 *   EOTP_E_SERVER        0x08 (ESME_RSYSERR), 0xFF (ESME_RUNKNOWNERR),
 *                        0x58 (throttled), bind status 0x08
 *   EOTP_E_BAD_RESPONSE  generic_nack, malformed or oversized PDU,
 *                        unexpected command, wrong sequence number, the
 *                        connection closed in the middle of a PDU
 *   EOTP_E_TRANSPORT, EOTP_E_TLS, EOTP_E_TIMEOUT, EOTP_E_NOMEM
 * info (may be NULL) tells which step failed and why.
 */
int eotp_smpp_send(const struct eotp_smpp_opts *o,
                   const struct eotp_send_req *req, struct eotp_send_resp *out,
                   struct eotp_smpp_info *info);

/* Bind and unbind without sending anything (doctor). */
int eotp_smpp_check_bind(const struct eotp_smpp_opts *o,
                         struct eotp_smpp_info *info);

/* ---- building blocks, exposed for tests and fuzzing --------------------- */

/* The JSON short_message of req into jb; EOTP_E_API_REQUEST on overflow. */
int eotp_smpp_message_json(const struct eotp_send_req *req,
                           struct eotp_jbuf *jb);

/*
 * UTF-8 text as UCS-2 big-endian into out (cap bytes); *outlen octets.
 * EOTP_E_API_REQUEST for invalid UTF-8, a character beyond U+FFFF, or
 * an output longer than cap.
 */
int eotp_smpp_ucs2(const char *utf8, unsigned char *out, size_t cap,
                   size_t *outlen);

/*
 * The submit_sm PDU for req with sequence number seq into buf (cap
 * bytes, at least EOTP_SMPP_PAYLOAD_MAX + 512); *len its length.
 * *payload tells whether message_payload carries the text.
 */
int eotp_smpp_build_submit(const struct eotp_send_req *req, uint32_t seq,
                           unsigned char *buf, size_t cap, size_t *len,
                           bool *payload);

struct eotp_smpp_hdr {
    uint32_t length;
    uint32_t command_id;
    uint32_t status;
    uint32_t seq;
};

/*
 * command_length from the first 4 bytes of a PDU; EOTP_E_BAD_RESPONSE
 * when it is under EOTP_SMPP_PDU_MIN or over EOTP_SMPP_PDU_MAX.
 */
int eotp_smpp_frame_len(const unsigned char *p4, uint32_t *len);

enum eotp_smpp_kind {
    EOTP_SMPP_ANSWER,  /* the response waited for */
    EOTP_SMPP_ENQUIRE, /* enquire_link: answer enquire_link_resp */
    EOTP_SMPP_DELIVER, /* deliver_sm (a receipt): answer deliver_sm_resp */
    EOTP_SMPP_UNBOUND, /* the server unbinds: answer unbind_resp */
};

struct eotp_smpp_pdu {
    struct eotp_smpp_hdr hdr;
    enum eotp_smpp_kind kind;
    char message_id[EOTP_MSGID_MAX + 1]; /* submit_sm_resp, status 0 */
    const char *why; /* static text when the PDU is refused */
};

/*
 * Judge one complete PDU (len bytes, len == its command_length; buf
 * holds one more byte, a NUL) received while waiting for want_cmd with
 * sequence number want_seq.  Returns 0 with out filled in, or
 * EOTP_E_BAD_RESPONSE (out->why says why), EOTP_E_NOMEM.  Never reads
 * outside buf[0..len].
 */
int eotp_smpp_parse(const unsigned char *buf, size_t len, uint32_t want_cmd,
                    uint32_t want_seq, struct eotp_smpp_pdu *out);

/* Outcome of a submit_sm_resp or bind status (see eotp_smpp_send). */
int eotp_smpp_map_status(uint32_t command_id, uint32_t status);

/* "ESME_RSUBMITFAIL" etc., or "unknown". */
const char *eotp_smpp_status_name(uint32_t status);

/* Is this build able to speak SMPP (libsmpp34 present)? */
bool eotp_smpp_available(void);

#endif
