/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_smpp - the SMPP PDU reader (eotp_smpp_frame_len, eotp_smpp_parse,
 * and libsmpp34's unpacking behind it), fed as the client reads: the
 * first byte picks the answer waited for, the second its sequence
 * number, the rest is the byte stream from the server, cut into PDUs by
 * command_length exactly as smpp.c does (a heap copy of each PDU with
 * one NUL after it).  An accepted answer must be the one waited for, and
 * a message id a terminated token.
 */
#include "fuzz.h"

#include "../../src/core/api.h"
#include "../../src/core/err.h"
#include "../../src/core/smpp.h"

static const uint32_t wants[] = {EOTP_SMPP_BIND_TRX_RESP,
                                 EOTP_SMPP_SUBMIT_SM_RESP,
                                 EOTP_SMPP_UNBIND_RESP};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t want;
    uint32_t seq;
    size_t off = 2;

    if (size < 2) {
        return 0;
    }
    want = wants[data[0] % (sizeof(wants) / sizeof(wants[0]))];
    seq = (uint32_t)(data[1] % 4);
    while (size - off >= 4) {
        struct eotp_smpp_pdu p;
        unsigned char *pdu;
        uint32_t len = 0;
        int r;

        if (eotp_smpp_frame_len(data + off, &len) != EOTP_OK) {
            FUZZ_CHECK(len == 0);
            break;
        }
        FUZZ_CHECK(len >= EOTP_SMPP_PDU_MIN && len <= EOTP_SMPP_PDU_MAX);
        if (size - off < len) {
            break; /* the connection closed mid-PDU */
        }
        pdu = malloc((size_t)len + 1);
        if (pdu == NULL) {
            abort();
        }
        memcpy(pdu, data + off, len);
        pdu[len] = '\0';
        memset(&p, 0x5a, sizeof(p));
        r = eotp_smpp_parse(pdu, len, want, seq, &p);
        free(pdu);
        off += len;
        FUZZ_CHECK(r == EOTP_OK || r == EOTP_E_BAD_RESPONSE ||
                   r == EOTP_E_NOMEM);
        if (r != EOTP_OK) {
            FUZZ_CHECK(r != EOTP_E_BAD_RESPONSE || p.why != NULL);
            break;
        }
        FUZZ_CHECK(p.hdr.length == len);
        FUZZ_CHECK(strnlen(p.message_id, sizeof(p.message_id)) <
                   sizeof(p.message_id));
        FUZZ_CHECK(p.message_id[0] == '\0' ||
                   eotp_api_token_ok(p.message_id, EOTP_MSGID_MAX));
        if (p.kind == EOTP_SMPP_ANSWER) {
            FUZZ_CHECK(p.hdr.command_id == want && p.hdr.seq == seq);
            break;
        }
        FUZZ_CHECK(p.kind == EOTP_SMPP_ENQUIRE ||
                   p.kind == EOTP_SMPP_DELIVER || p.kind == EOTP_SMPP_UNBOUND);
        if (p.kind == EOTP_SMPP_UNBOUND) {
            break;
        }
    }
    return 0;
}
