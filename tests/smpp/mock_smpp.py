#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Local mock of EngageLab's SMPP interface (engagelab-api.md, section 6).

Python 3 standard library only; PDUs are encoded here by hand, so the
module's libsmpp34 is tested against an independent implementation.

What it does, as the guide says:
  * the first PDU after connect must be bind_transceiver; wrong system_id or
    password: the connection is closed (no bind_resp carries an error);
  * submit_sm with service_type CODE/MSG/MRKT, destination_addr +E.164,
    short_message (or message_payload) = JSON {"id","language","code","params"}
    in UCS-2 (data_coding 0x08) or the default alphabet (0x00);
    answered by submit_sm_resp with a message_id, or a status:
    0x32 bad parameter, 0x55 bad short_message content;
  * enquire_link -> enquire_link_resp; unbind -> unbind_resp, then close;
    deliver_sm_resp accepted; anything else -> generic_nack.

Every accepted submit is one JSON line in --outbox ({"to","code",...}, as the
HTTPS mock writes), every PDU received one line in --pdu-log.

Faults, on demand: the file --fault-file holds lines "NAME [COUNT]"; the
first line applies to the next COUNT sessions (default 1, 0 = for ever):
  bind_close            close the connection instead of answering the bind
  bind_status=HEX       bind_transceiver_resp with that command_status
  bind_rst              accept the bind, then reset the connection (RST)
  submit_status=HEX     submit_sm_resp with that command_status
  generic_nack          answer submit_sm with generic_nack
  oversized             a submit_sm_resp header claiming 0x10001 octets
  undersized            a header claiming 8 octets
  malformed             submit_sm_resp whose message_id runs past its end
  wrong_seq             submit_sm_resp with the wrong sequence number
  unexpected            answer submit_sm with a query_sm_resp
  close_mid             half a submit_sm_resp, then close
  close_after_submit    close without answering submit_sm
  submit_rst            answer submit_sm, then reset the connection (RST)
  slow=SECONDS          wait before answering submit_sm
  chatty                enquire_link and deliver_sm before submit_sm_resp,
                        a receipt (deliver_sm) right after it
  server_unbind         send unbind instead of submit_sm_resp
  flood                 100 enquire_links before the answer

Usage:
  mock_smpp.py [--host 127.0.0.1] [--port 0] [--port-file F]
               [--cert PEM --key KEY] --outbox F [--pdu-log F]
               [--fault-file F] [--system-id ID] [--password PW]
"""

import argparse
import json
import os
import secrets
import socket
import ssl
import struct
import sys
import threading
import time

GENERIC_NACK = 0x80000000
QUERY_SM_RESP = 0x80000003
SUBMIT_SM = 0x00000004
SUBMIT_SM_RESP = 0x80000004
DELIVER_SM = 0x00000005
DELIVER_SM_RESP = 0x80000005
UNBIND = 0x00000006
UNBIND_RESP = 0x80000006
BIND_TRX = 0x00000009
BIND_TRX_RESP = 0x80000009
ENQUIRE_LINK = 0x00000015
ENQUIRE_LINK_RESP = 0x80000015

ESME_RINVCMDID = 0x03
ESME_RINVPARAM = 0x32
ESME_RINVNUMMSGS = 0x55

TLV_MESSAGE_PAYLOAD = 0x0424
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427

LOCK = threading.Lock()


def pdu(command_id, status, seq, body=b""):
    return struct.pack(">IIII", 16 + len(body), command_id, status, seq) + body


def cstr(buf, off, maxlen):
    """A C-Octet String at off (at most maxlen octets with the NUL)."""
    end = buf.find(b"\0", off, off + maxlen)
    if end < 0:
        raise ValueError("C-Octet String without NUL")
    return buf[off:end].decode("latin-1"), end + 1


def parse_submit(body):
    off = 0
    f = {}
    f["service_type"], off = cstr(body, off, 6)
    f["source_addr_ton"], f["source_addr_npi"] = body[off], body[off + 1]
    off += 2
    f["source_addr"], off = cstr(body, off, 21)
    f["dest_addr_ton"], f["dest_addr_npi"] = body[off], body[off + 1]
    off += 2
    f["destination_addr"], off = cstr(body, off, 21)
    f["esm_class"], f["protocol_id"], f["priority_flag"] = body[off:off + 3]
    off += 3
    f["schedule_delivery_time"], off = cstr(body, off, 17)
    f["validity_period"], off = cstr(body, off, 17)
    (f["registered_delivery"], f["replace_if_present_flag"], f["data_coding"],
     f["sm_default_msg_id"], sm_length) = body[off:off + 5]
    off += 5
    if off + sm_length > len(body):
        raise ValueError("sm_length past the end")
    f["short_message"] = body[off:off + sm_length]
    off += sm_length
    f["tlvs"] = {}
    while off < len(body):
        if off + 4 > len(body):
            raise ValueError("truncated TLV")
        tag, ln = struct.unpack(">HH", body[off:off + 4])
        off += 4
        if off + ln > len(body):
            raise ValueError("TLV past the end")
        f["tlvs"][tag] = body[off:off + ln]
        off += ln
    return f


class Session:
    def __init__(self, srv, sock, conn_no, fault):
        self.srv, self.sock, self.conn_no, self.fault = srv, sock, conn_no, fault
        self.seq = 0

    def log(self, **kv):
        kv.update(conn=self.conn_no, time=time.time())
        self.srv.write_line(self.srv.pdu_log, kv)

    def next_seq(self):
        self.seq += 1
        return 0x7000 + self.seq

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def read_pdu(self):
        head = self.recv_exact(4)
        if head is None:
            return None
        (length,) = struct.unpack(">I", head)
        if length < 16 or length > 65536:
            raise ValueError("bad command_length %d" % length)
        rest = self.recv_exact(length - 4)
        if rest is None:
            return None
        _, cid, status, seq = struct.unpack(">IIII", head + rest[:12])
        return cid, status, seq, rest[12:]

    def fault_name(self):
        return self.fault.split("=", 1)[0] if self.fault else ""

    def fault_arg(self):
        return self.fault.split("=", 1)[1] if "=" in (self.fault or "") else ""

    def run(self):
        bound = False
        while True:
            p = self.read_pdu()
            if p is None:
                self.log(event="closed_by_client")
                return
            cid, status, seq, body = p
            self.log(event="pdu", command_id=cid, status=status, seq=seq, length=16 + len(body))
            if not bound:
                if cid != BIND_TRX:
                    self.log(event="first_pdu_not_bind")
                    return  # the guide: the first packet must be the bind
                if not self.on_bind(seq, body):
                    return
                bound = True
                continue
            if cid == ENQUIRE_LINK:
                self.send(pdu(ENQUIRE_LINK_RESP, 0, seq))
            elif cid == UNBIND:
                self.send(pdu(UNBIND_RESP, 0, seq))
                self.log(event="unbound")
                # Read on until the client closes: its last answers count.
            elif cid == SUBMIT_SM:
                if not self.on_submit(seq, body):
                    return
            elif cid in (DELIVER_SM_RESP, ENQUIRE_LINK_RESP):
                self.log(event="client_answer", command_id=cid, seq=seq)
            else:
                self.send(pdu(GENERIC_NACK, ESME_RINVCMDID, seq))

    def on_bind(self, seq, body):
        try:
            system_id, off = cstr(body, 0, 16)
            password, off = cstr(body, off, 9)
            _system_type, off = cstr(body, off, 13)
            version = body[off]
        except (ValueError, IndexError):
            self.log(event="bind_malformed")
            return False
        ok = system_id == self.srv.system_id and password == self.srv.password
        self.log(event="bind", system_id=system_id, auth="ok" if ok else "refused",
                 interface_version=version)
        name = self.fault_name()
        if not ok or name == "bind_close":
            return False  # EngageLab closes the connection
        if name == "bind_status":
            self.send(pdu(BIND_TRX_RESP, int(self.fault_arg(), 16), seq))
            return False
        self.send(pdu(BIND_TRX_RESP, 0, seq, b"engagelab\0"))
        if name == "bind_rst":
            # Reset the connection once the client has read the answer and
            # sent its submit_sm: its read of the answer fails with
            # ECONNRESET (a write after it with EPIPE, SIGPIPE for a
            # careless client).  Resetting at once would race: a RST makes
            # the client's kernel drop the bind answer not yet read.
            self.reset_after_next_pdu()
            return False
        return True

    def reset_after_next_pdu(self):
        """Wait (a few seconds at most) until the client sends again, then
        close with SO_LINGER 0: a RST instead of a FIN."""
        self.sock.settimeout(5)
        try:
            self.sock.recv(16)
        except (OSError, ValueError):
            pass
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))

    def answer_submit(self, seq, status, message_id):
        body = (message_id.encode() + b"\0") if status == 0 else b""
        return pdu(SUBMIT_SM_RESP, status, seq, body)

    def on_submit(self, seq, body):
        name, arg = self.fault_name(), self.fault_arg()
        status, record = 0, None
        try:
            f = parse_submit(body)
        except (ValueError, IndexError) as e:
            self.log(event="submit_malformed", error=str(e))
            self.send(self.answer_submit(seq, ESME_RINVPARAM, ""))
            return True
        text = f["short_message"]
        via = "short_message"
        if TLV_MESSAGE_PAYLOAD in f["tlvs"]:
            if text:
                status = ESME_RINVPARAM  # both: refused
            text, via = f["tlvs"][TLV_MESSAGE_PAYLOAD], "message_payload"
        try:
            if f["data_coding"] == 0x08:
                decoded = text.decode("utf-16-be")
            else:
                decoded = text.decode("latin-1")
            msg = json.loads(decoded)
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            msg, status = None, ESME_RINVNUMMSGS
        dest = f["destination_addr"]
        if msg is not None and status == 0:
            params = msg.get("params", {})
            if (not isinstance(msg.get("id"), str) or not msg["id"]
                    or not isinstance(msg.get("language", "default"), str)
                    or not isinstance(params, dict)
                    or not all(isinstance(v, str) for v in params.values())
                    or f["service_type"] not in ("", "MSG", "CODE", "MRKT")
                    or not (dest.startswith("+") and dest[1:].isdigit()
                            and 6 <= len(dest) - 1 <= 15)):
                status = ESME_RINVPARAM
            elif f["service_type"] == "CODE" and not isinstance(msg.get("code"), str):
                status = ESME_RINVPARAM
        message_id = str(secrets.randbelow(10**18) + 10**18)
        if status == 0:
            record = {"time": time.time(), "endpoint": "smpp", "message_id": message_id,
                      "to": dest, "template": msg["id"],
                      "language": msg.get("language", "default"),
                      "params": msg.get("params", {}), "channel": "sms",
                      "service_type": f["service_type"], "data_coding": f["data_coding"],
                      "dest_addr_ton": f["dest_addr_ton"], "dest_addr_npi": f["dest_addr_npi"],
                      "via": via, "octets": len(text), "tls": self.srv.tls,
                      "conn": self.conn_no}
            if f["service_type"] == "CODE":
                record["code"] = msg["code"]
        self.log(event="submit", status=status, via=via, octets=len(text))

        if name == "chatty":
            self.send(pdu(ENQUIRE_LINK, 0, self.next_seq()))
            self.send(pdu(DELIVER_SM, 0, self.next_seq(), self.receipt_body(dest, message_id)))
        if name == "flood":
            for _ in range(100):
                self.send(pdu(ENQUIRE_LINK, 0, self.next_seq()))
        if name == "submit_status":
            status = int(arg, 16)
        if status == 0 and record is not None and name not in (
                "generic_nack", "oversized", "undersized", "malformed", "wrong_seq",
                "unexpected", "close_mid", "close_after_submit", "server_unbind"):
            self.srv.write_line(self.srv.outbox, record)
        if name == "slow":
            # Delivered, but the answer comes late (after the outbox line,
            # so that a later test never sees it appear).
            time.sleep(float(arg or "3"))
        if name == "generic_nack":
            self.send(pdu(GENERIC_NACK, ESME_RINVCMDID, seq))
        elif name == "oversized":
            self.send(struct.pack(">IIII", 0x10001, SUBMIT_SM_RESP, 0, seq) + b"x" * 64)
            return False
        elif name == "undersized":
            self.send(struct.pack(">IIII", 8, SUBMIT_SM_RESP, 0, seq))
            return False
        elif name == "malformed":
            # status 0, message_id without its NUL: ends inside the PDU.
            self.send(pdu(SUBMIT_SM_RESP, 0, seq, b"123456789"))
        elif name == "wrong_seq":
            self.send(self.answer_submit(seq + 1, 0, message_id))
        elif name == "unexpected":
            self.send(pdu(QUERY_SM_RESP, 0, seq, b"1\0\0\0\0"))
        elif name == "close_mid":
            data = self.answer_submit(seq, 0, message_id)
            self.send(data[:len(data) // 2])
            return False
        elif name == "close_after_submit":
            return False
        elif name == "server_unbind":
            self.send(pdu(UNBIND, 0, self.next_seq()))
        elif name == "submit_rst":
            self.send(self.answer_submit(seq, status, message_id))
            self.reset_after_next_pdu()  # the unbind, after the answer was read
            return False
        else:
            self.send(self.answer_submit(seq, status, message_id))
            if name == "chatty" and status == 0:
                self.send(pdu(DELIVER_SM, 0, self.next_seq(),
                              self.receipt_body(dest, message_id)))
        return True

    @staticmethod
    def receipt_body(dest, message_id):
        text = ("id:%s sub:001 dlvrd:001 submit date:2611300000 done date:2611300000 "
                "stat:DELIVRD err:000 text:" % message_id).encode()
        body = b"MSG\0" + bytes([0, 0]) + b"\0" + bytes([1, 1]) + dest.encode() + b"\0"
        body += bytes([0, 0, 0]) + b"\0\0" + bytes([0, 0, 0, 0, len(text)]) + text
        rid = message_id.encode() + b"\0"
        body += struct.pack(">HH", TLV_RECEIPTED_MESSAGE_ID, len(rid)) + rid
        body += struct.pack(">HHB", TLV_MESSAGE_STATE, 1, 2)
        return body


class Server:
    def __init__(self, args):
        self.args = args
        self.system_id, self.password = args.system_id, args.password
        self.outbox, self.pdu_log, self.fault_file = args.outbox, args.pdu_log, args.fault_file
        self.ctx = None
        self.tls = bool(args.cert)
        if args.cert:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(args.cert, args.key)
        self.conns = 0

    def write_line(self, path, obj):
        if not path:
            return
        with LOCK:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(obj, separators=(",", ":")) + "\n")

    def take_fault(self):
        """The fault for a new session (consumes one use)."""
        if not self.fault_file:
            return None
        with LOCK:
            try:
                with open(self.fault_file, encoding="utf-8") as fh:
                    lines = [l.split() for l in fh if l.strip()]
            except FileNotFoundError:
                return None
            if not lines:
                return None
            name = lines[0][0]
            count = int(lines[0][1]) if len(lines[0]) > 1 else 1
            if count == 1:
                lines = lines[1:]
            elif count > 1:
                lines[0] = [name, str(count - 1)]
            with open(self.fault_file, "w", encoding="utf-8") as fh:
                fh.write("".join(" ".join(l) + "\n" for l in lines))
            return name

    def handle(self, raw, conn_no):
        sock = raw
        try:
            raw.settimeout(30)
            if self.ctx:
                sock = self.ctx.wrap_socket(raw, server_side=True)
            fault = self.take_fault()
            Session(self, sock, conn_no, fault).run()
        except (OSError, ValueError, ssl.SSLError) as e:
            self.write_line(self.pdu_log, {"conn": conn_no, "event": "error", "error": str(e)})
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def serve(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((self.args.host, self.args.port))
        ls.listen(64)
        if self.args.port_file:
            tmp = self.args.port_file + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write("%d\n" % ls.getsockname()[1])
            os.rename(tmp, self.args.port_file)
        while True:
            raw, _ = ls.accept()
            self.conns += 1
            threading.Thread(target=self.handle, args=(raw, self.conns), daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--cert", help="TLS certificate (PEM); plaintext without it")
    ap.add_argument("--key")
    ap.add_argument("--outbox", required=True)
    ap.add_argument("--pdu-log")
    ap.add_argument("--fault-file")
    ap.add_argument("--system-id", default="eotp-test")
    ap.add_argument("--password", default="s3cret")
    args = ap.parse_args()
    if bool(args.cert) != bool(args.key):
        ap.error("--cert and --key go together")
    try:
        Server(args).serve()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
