#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Self-test of the EngageLab mock (mock_engagelab.py, mockctl.py, mockenv.sh, gen-certs.sh).

Run:  python3 tests/mock/test_mock.py [-v] [unittest test names...]
The last line printed is exactly "N passed, M failed"; the exit status is non-zero on
any failure.  Every socket has a timeout and a watchdog aborts the run after 150 s.
"""

import base64
import concurrent.futures
import faulthandler
import http.client
import itertools
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "mock_engagelab.py")
MOCKCTL = os.path.join(HERE, "mockctl.py")
GENCERTS = os.path.join(HERE, "gen-certs.sh")
MOCKENV = os.path.join(HERE, "mockenv.sh")
PY = sys.executable or "python3"
TIMEOUT = 10

TMP = None      # temporary directory of this run
CERTS = None    # certificate directory
MOCK = None     # the shared MockProcess


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

class MockProcess:
    """A mock_engagelab.py subprocess on an ephemeral port."""

    def __init__(self, name, cert="server", extra=()):
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir, exist_ok=True)
        self.outbox = os.path.join(self.dir, "outbox.jsonl")
        self.reqlog = os.path.join(self.dir, "requests.jsonl")
        port_file = os.path.join(self.dir, "port")
        self.log = open(os.path.join(self.dir, "mock.log"), "ab")
        self.proc = subprocess.Popen(
            [PY, SERVER, "--cert", os.path.join(CERTS, cert + ".pem"),
             "--key", os.path.join(CERTS, cert + ".key"), "--host", "127.0.0.1", "--port", "0",
             "--port-file", port_file, "--outbox", self.outbox, "--request-log", self.reqlog,
             *(["--verbose"] if KEEP else []), *extra],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mock exited early with status {self.proc.returncode}")
            if os.path.exists(port_file):
                with open(port_file) as f:
                    self.port = int(f.read())
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("mock did not write its port file within 10 s")

    def stop(self, timeout=5):
        """SIGTERM and wait; returns the exit status (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self.log.close()
                return None
        self.log.close()
        return self.proc.returncode


def tls_context(ca=None):
    return ssl.create_default_context(cafile=ca or os.path.join(CERTS, "ca.pem"))


def basic(key="test-key", secret="test-secret"):
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


class Reply:
    def __init__(self, resp, raw):
        self.status = resp.status
        self.headers = resp.headers
        self.raw = raw
        try:
            self.json = json.loads(raw)
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"<Reply {self.status} {self.raw[:200]!r}>"


def request(method, path, body=None, *, raw=None, auth=None, headers=None, conn=None,
            port=None, timeout=TIMEOUT):
    """One request to the mock.  auth=None -> valid credentials; auth="" -> no header."""
    own = conn is None
    if own:
        conn = http.client.HTTPSConnection("127.0.0.1", port or MOCK.port,
                                           context=tls_context(), timeout=timeout)
    h = {}
    if auth is None:
        h["Authorization"] = basic()
    elif auth:
        h["Authorization"] = auth
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        return Reply(resp, resp.read())
    finally:
        if own:
            conn.close()


def control(path, body=None, method="POST"):
    r = request(method, "/__mock/" + path, body if body is not None else ({} if method == "POST" else None),
                auth="")
    assert r.status == 200, r
    return r.json


_numbers = itertools.count(1)


def new_phone():
    """A fresh E.164 number for every use, so tests never trip over each other's 3004 slots."""
    return "+6590%07d" % next(_numbers)


def outbox_rows(to=None, path=None):
    with open(path or MOCK.outbox, "rb") as f:
        lines = f.read().split(b"\n")
    assert lines[-1] == b"", "outbox does not end with a newline"
    rows = [json.loads(x) for x in lines[:-1]]
    return [r for r in rows if to is None or r["to"] == to]


def reqlog_rows(path=None):
    with open(MOCK.reqlog, "rb") as f:
        rows = [json.loads(x) for x in f.read().split(b"\n")[:-1]]
    return [r for r in rows if path is None or r["path"] == path]


def send(to=None, template="pam-otp", **kw):
    to = to or new_phone()
    tref = {"id": template}
    tref.update(kw.pop("tref", {}))
    return to, request("POST", "/v1/messages", {"to": to, "template": tref}, **kw)


def latest_code(to):
    return outbox_rows(to)[-1]["code"]


def verify(mid, code, **kw):
    return request("POST", "/v1/verifications", {"message_id": mid, "verify_code": code}, **kw)


def full_template(tid):
    """The spec's full create example (section 4.1) with a chosen id."""
    return {
        "template_id": tid, "description": "Test Template 1",
        "send_channel_strategy": "whatsapp|sms", "brand_name": "Brand Name",
        "verify_code_config": {"verify_code_type": 1, "verify_code_len": 6, "verify_code_ttl": 1},
        "whatsapp_config": {"template_type": 1, "template_default_config":
                            {"contain_security": False, "contain_expire": False}},
        "sms_config": {
            "template_type": 2,
            "template_default_config": {"contain_security": False, "contain_expire": False},
            "template_custom_config": {"custom_sub_type": "authentication",
                                       "custom_content": "Your code is {{code}}",
                                       "custom_country_codes": "HK,PH"}},
        "voice_config": {"template_type": 1, "template_default_config":
                         {"contain_security": False, "contain_expire": False}},
        "email_config": {"template_name": "Email Template Name", "template_custom_configs": [{
            "language": "default", "pre_from_name": "MyApp", "pre_from_mail": "noreply@myapp.com",
            "pre_subject": "Your verification code",
            "template_content": "Hi {{name}}, your verification code is {{code}}",
            "pre_param_map": {"name": "User"}}]},
        "pwa_config": {"pwa_platform": "xx", "pwa_code": "xx"},
    }


# MOCK_TEST_KEEP=1 keeps the temporary directory (mock logs, outbox, request log) and
# starts the mocks with --verbose, for debugging.
KEEP = os.environ.get("MOCK_TEST_KEEP") == "1"


def setUpModule():
    global TMP, CERTS, MOCK
    TMP = tempfile.mkdtemp(prefix="mocktest.")
    CERTS = os.path.join(TMP, "certs")
    subprocess.run(["bash", GENCERTS, CERTS], check=True, timeout=60)
    MOCK = MockProcess("main")


def tearDownModule():
    try:
        if MOCK is not None:
            MOCK.stop()
    finally:
        if TMP and KEEP:
            sys.stderr.write(f"kept {TMP}\n")
        elif TMP:
            shutil.rmtree(TMP, ignore_errors=True)


class MockTest(unittest.TestCase):
    def setUp(self):
        control("reset")

    def assertApiError(self, r, code, http=None, msg_part=None):
        self.assertEqual(r.status, http or (500 if code == 1000 else 401 if code in (2001, 2002)
                                            else 403 if code == 2004 else 400), r)
        self.assertEqual(r.headers.get("Content-Type"), "application/json")
        self.assertIsInstance(r.json, dict, r)
        self.assertEqual(r.json.get("code"), code, r)
        self.assertIsInstance(r.json.get("message"), str)
        if msg_part:
            self.assertIn(msg_part, r.json["message"])


# ---------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------

class TestCerts(MockTest):
    def test_files_and_idempotence(self):
        names = ["ca.pem", "ca.key", "server.pem", "server.key", "other-ca.pem", "other-server.pem",
                 "other-server.key", "wronghost-server.pem", "wronghost-server.key"]
        before = {n: open(os.path.join(CERTS, n), "rb").read() for n in names}
        r = subprocess.run(["bash", GENCERTS, CERTS], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout + r.stderr, b"")
        after = {n: open(os.path.join(CERTS, n), "rb").read() for n in names}
        self.assertEqual(before, after)

    def test_gen_certs_usage_error(self):
        r = subprocess.run(["bash", GENCERTS], capture_output=True, timeout=10)
        self.assertNotEqual(r.returncode, 0)

    def test_trusted_server_cert(self):
        with socket.create_connection(("127.0.0.1", MOCK.port), timeout=TIMEOUT) as s:
            with tls_context().wrap_socket(s, server_hostname="127.0.0.1") as t:
                self.assertEqual(t.version()[:3], "TLS")
        with socket.create_connection(("127.0.0.1", MOCK.port), timeout=TIMEOUT) as s:
            with tls_context().wrap_socket(s, server_hostname="localhost"):
                pass

    def test_untrusted_ca_rejected(self):
        with socket.create_connection(("127.0.0.1", MOCK.port), timeout=TIMEOUT) as s:
            with self.assertRaises(ssl.SSLCertVerificationError):
                tls_context(os.path.join(CERTS, "other-ca.pem")).wrap_socket(s, server_hostname="127.0.0.1")

    def test_other_and_wronghost_servers(self):
        for cert, ca, err in (("other-server", "ca.pem", "certificate verify failed"),
                              ("wronghost-server", "ca.pem", "mismatch"),
                              ("other-server", "other-ca.pem", None)):
            with self.subTest(cert=cert, ca=ca):
                m = MockProcess("tls-" + cert + "-" + ca, cert=cert)
                try:
                    with socket.create_connection(("127.0.0.1", m.port), timeout=TIMEOUT) as s:
                        ctx = tls_context(os.path.join(CERTS, ca))
                        if err is None:
                            ctx.wrap_socket(s, server_hostname="127.0.0.1").close()
                        else:
                            with self.assertRaises(ssl.SSLCertVerificationError) as cm:
                                ctx.wrap_socket(s, server_hostname="127.0.0.1")
                            self.assertIn(err, str(cm.exception))
                finally:
                    self.assertEqual(m.stop(), 0)


# ---------------------------------------------------------------------------
# Authentication, routing, body parsing
# ---------------------------------------------------------------------------

class TestAuthAndRouting(MockTest):
    def test_auth_errors(self):
        cases = [
            ("", 2001), (basic("test-key", "wrong"), 2001), (basic("nobody", "test-secret"), 2001),
            ("Bearer abc", 2001), ("Basic !!!notbase64", 2001),
            ("Basic " + base64.b64encode(b"nocolon").decode(), 2001),
            (basic("disabled-key", "anything"), 2002), (basic("noperm-key", "x"), 2004),
        ]
        for auth, code in cases:
            for method, path, body in (("POST", "/v1/messages", {"to": new_phone(), "template": {"id": "pam-otp"}}),
                                       ("GET", "/v1/template-configs", None),
                                       ("POST", "/v1/verifications", {"message_id": "1", "verify_code": "1"})):
                with self.subTest(auth=auth, path=path):
                    self.assertApiError(request(method, path, body, auth=auth), code)
        # Nothing delivered by any rejected send, and the log marks them not authenticated.
        sends = [r for r in reqlog_rows("/v1/messages")][-len(cases):]
        self.assertTrue(all(r["auth_ok"] is False for r in sends))
        for r in sends:
            self.assertFalse(outbox_rows(r["body"]["to"]))

    def test_auth_scheme_case_insensitive(self):
        _, r = send(auth="basic " + basic()[6:])
        self.assertEqual(r.status, 200, r)

    def test_custom_credentials(self):
        m = MockProcess("creds", extra=["--dev-key", "k2", "--dev-secret", "s2"])
        try:
            r = request("GET", "/v1/template-configs", port=m.port, auth=basic("k2", "s2"))
            self.assertEqual(r.status, 200)
            r = request("GET", "/v1/template-configs", port=m.port)
            self.assertEqual(r.json["code"], 2001)
        finally:
            self.assertEqual(m.stop(), 0)

    def test_unknown_paths(self):
        r = request("GET", "/v1/nope")
        self.assertEqual((r.status, r.json["code"]), (404, 3002))
        r = request("POST", "/nothing", {})
        self.assertEqual(r.status, 404)
        r = request("GET", "/v1/messages")
        self.assertEqual(r.status, 405)
        r = request("PUT", "/v1/template-configs/pam-otp", {})
        self.assertEqual(r.status, 405)

    def test_invalid_json_is_3001(self):
        for raw in (b"{not json", b"", b"\xff\xfe", b'{"to": "+6591234567",'):
            with self.subTest(raw=raw):
                r = request("POST", "/v1/messages", raw=raw, headers={"Content-Type": "application/json"})
                self.assertApiError(r, 3001)

    def test_non_object_json_is_3002(self):
        for body in ([], "x", 1, None):
            with self.subTest(body=body):
                r = request("POST", "/v1/messages", raw=json.dumps(body).encode())
                self.assertApiError(r, 3002)

    def test_request_log(self):
        to = new_phone()
        send(to, tref={"params": {"user": "alice"}})
        request("POST", "/v1/verifications", raw=b"password=hunter2")
        rows = reqlog_rows()
        self.assertEqual(rows[-2]["method"], "POST")
        self.assertEqual(rows[-2]["path"], "/v1/messages")
        self.assertIs(rows[-2]["auth_ok"], True)
        self.assertEqual(rows[-2]["body"]["to"], to)
        self.assertEqual(rows[-2]["body"]["template"]["params"], {"user": "alice"})
        self.assertEqual(rows[-1]["body"], "password=hunter2")   # raw text when not JSON
        self.assertNotIn("test-secret", open(MOCK.reqlog).read())
        request("GET", "/v1/template-configs")
        self.assertIsNone(reqlog_rows()[-1]["body"])

    def test_chunked_request_body(self):
        conn = http.client.HTTPSConnection("127.0.0.1", MOCK.port, context=tls_context(), timeout=TIMEOUT)
        try:
            to = new_phone()
            body = json.dumps({"to": to, "template": {"id": "pam-otp"}}).encode()
            conn.request("POST", "/v1/messages", body=iter([body[:10], body[10:]]),
                         headers={"Authorization": basic(), "Content-Type": "application/json"},
                         encode_chunked=True)
            r = conn.getresponse()
            self.assertEqual(r.status, 200, r.read())
            r.read()
        finally:
            conn.close()


# ---------------------------------------------------------------------------
# Send / verify
# ---------------------------------------------------------------------------

class TestSendVerify(MockTest):
    def test_send_success_and_outbox(self):
        to, r = send(tref={"language": "en", "params": {"user": "alice"}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Content-Type"), "application/json")
        self.assertEqual(set(r.json), {"message_id", "send_channel"})
        mid = r.json["message_id"]
        self.assertIsInstance(mid, str)
        self.assertRegex(mid, r"^[1-9][0-9]{18}$")
        self.assertIn(b'"message_id":"', r.raw)
        self.assertEqual(r.json["send_channel"], "sms")
        rows = outbox_rows(to)
        self.assertEqual(len(rows), 1)
        row = rows[0]
        self.assertEqual(row["endpoint"], "/v1/messages")
        self.assertEqual(row["message_id"], mid)
        self.assertEqual(row["template"], "pam-otp")
        self.assertEqual(row["language"], "en")
        self.assertEqual(row["params"], {"user": "alice"})
        self.assertEqual(row["channel"], "sms")
        self.assertRegex(row["code"], r"^[0-9]{6}$")
        self.assertIn(row["code"], row["text"])
        self.assertIsInstance(row["time"], (int, float))

    def test_ids_increase_and_are_unique(self):
        ids = [send()[1].json["message_id"] for _ in range(5)]
        self.assertEqual(ids, sorted(ids, key=int))
        self.assertEqual(len(set(ids)), 5)
        self.assertTrue(all(len(i) == 19 for i in ids))

    def test_verify_flow(self):
        to, r = send()
        mid = r.json["message_id"]
        code = latest_code(to)
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(10):       # no server-side attempt limit
            v = verify(mid, wrong)
            self.assertEqual(v.status, 200)
            self.assertEqual(v.json, {"message_id": mid, "verify_code": wrong, "verified": False})
        v = verify(mid, code)
        self.assertEqual(v.status, 200)
        self.assertEqual(v.json, {"message_id": mid, "verify_code": code, "verified": True})
        self.assertIs(v.json["verified"], True)
        self.assertApiError(verify(mid, code), 3003, msg_part="already verified")
        self.assertApiError(verify(mid, wrong), 3003, msg_part="already verified")

    def test_verify_errors(self):
        self.assertApiError(verify("1725407449772531999", "123456"), 4001)
        self.assertApiError(request("POST", "/v1/verifications",
                                    {"message_id": 1725407449772531712, "verify_code": "1"}), 3002)
        self.assertApiError(request("POST", "/v1/verifications", {"message_id": "1"}), 3002)
        self.assertApiError(request("POST", "/v1/verifications",
                                    {"message_id": "1", "verify_code": 123456}), 3002)
        self.assertApiError(request("POST", "/v1/verifications", {"verify_code": "1"}), 3002)

    def test_expiry_via_clock(self):
        to, r = send()
        mid, code = r.json["message_id"], latest_code(to)
        control("clock", {"advance": 299})
        self.assertApiError(send(to)[1], 3004)
        control("clock", {"advance": 2})
        self.assertApiError(verify(mid, code), 3003, msg_part="expired")
        # Expired codes no longer block a new send.
        _, r2 = send(to)
        self.assertEqual(r2.status, 200)
        v = verify(r2.json["message_id"], latest_code(to))
        self.assertIs(v.json["verified"], True)

    def test_3004_rule(self):
        to, r = send()
        self.assertEqual(r.status, 200)
        n = len(outbox_rows(to))
        r2 = send(to)[1]
        self.assertApiError(r2, 3004)
        self.assertEqual(len(outbox_rows(to)), n)           # nothing delivered
        # Other template or other recipient: independent.
        self.assertEqual(send(to, template="pam-otp-alpha")[1].status, 200)
        self.assertEqual(send()[1].status, 200)
        # A wrong verification does not free the slot; a right one does.
        code = [x for x in outbox_rows(to) if x["template"] == "pam-otp"][-1]["code"]
        self.assertIs(verify(r.json["message_id"], "xxxxxx").json["verified"], False)
        self.assertApiError(send(to)[1], 3004)
        self.assertIs(verify(r.json["message_id"], code).json["verified"], True)
        self.assertEqual(send(to)[1].status, 200)

    def test_send_validation(self):
        good = {"to": new_phone(), "template": {"id": "pam-otp"}}
        bad_bodies = [
            ({"template": {"id": "pam-otp"}}, 3002), ({"to": 6591234567, "template": {"id": "pam-otp"}}, 3002),
            ({"to": "6591234567", "template": {"id": "pam-otp"}}, 3002),
            ({"to": "+12345", "template": {"id": "pam-otp"}}, 3002),
            ({"to": "+1234567890123456", "template": {"id": "pam-otp"}}, 3002),
            ({"to": "+65 9123 4567", "template": {"id": "pam-otp"}}, 3002),
            ({"to": "a@b@c", "template": {"id": "pam-otp"}}, 3002),
            ({"to": good["to"]}, 3002), ({"to": good["to"], "template": "pam-otp"}, 3002),
            ({"to": good["to"], "template": {}}, 3002), ({"to": good["to"], "template": {"id": 5}}, 3002),
            ({"to": good["to"], "template": {"id": "pam-otp", "language": "fr"}}, 3002),
            ({"to": good["to"], "template": {"id": "pam-otp", "language": 1}}, 3002),
            ({"to": good["to"], "template": {"id": "pam-otp", "params": {"a": 1}}}, 3002),
            ({"to": good["to"], "template": {"id": "pam-otp", "params": ["a"]}}, 3002),
            ({"to": good["to"], "template": {"id": "no-such-template"}}, 4001),
            ({"to": good["to"], "template": {"id": "pam-otp-pending"}}, 3003),
            ({"to": good["to"], "template": {"id": "pam-otp-rejected"}}, 3003),
            ({"to": "user@example.com", "template": {"id": "pam-otp"}}, 3002),
            ({"to": good["to"], "template": {"id": "pam-otp-email"}}, 3002),
        ]
        for body, code in bad_bodies:
            with self.subTest(body=body):
                self.assertApiError(request("POST", "/v1/messages", body), code)
        self.assertFalse(outbox_rows(good["to"]))
        for lang in ("default", "zh_CN", "zh_HK", "en", "ja", "th", "es"):
            self.assertEqual(send(tref={"language": lang})[1].status, 200)

    def test_channels_and_code_formats(self):
        to, r = send("alice@example.com", template="pam-otp-email")
        self.assertEqual(r.json["send_channel"], "email")
        self.assertRegex(latest_code(to), r"^[0-9]{6}$")
        self.assertEqual(send(template="pam-otp-voice")[1].json["send_channel"], "voice")
        self.assertEqual(send(template="pam-otp-wa")[1].json["send_channel"], "whatsapp")
        to, r = send(template="pam-otp-alpha")
        code = latest_code(to)
        self.assertRegex(code, r"^[0-9a-zA-Z]{8}$")
        if code != code.swapcase():      # case-sensitive comparison
            self.assertIs(verify(r.json["message_id"], code.swapcase()).json["verified"], False)
        self.assertIs(verify(r.json["message_id"], code).json["verified"], True)

    def test_magic_recipients(self):
        for to, code in (("+10000000001", 5011), ("+10000000002", 5013), ("+10000000003", 5001)):
            with self.subTest(to=to):
                self.assertApiError(send(to)[1], code)
                self.assertApiError(request("POST", "/v1/codes", {"to": to, "code": "1234",
                                                                  "template": {"id": "pam-otp"}}), code)
                self.assertFalse(outbox_rows(to))

    def test_codes_endpoint(self):
        to = new_phone()
        r = request("POST", "/v1/codes", {"to": to, "code": "398210", "template": {"id": "pam-otp"}})
        self.assertEqual(r.status, 200, r)
        self.assertRegex(r.json["message_id"], r"^[0-9]{19}$")
        self.assertEqual(r.json["send_channel"], "sms")
        row = outbox_rows(to)[-1]
        self.assertEqual((row["code"], row["endpoint"]), ("398210", "/v1/codes"))
        # Not verifiable through /v1/verifications.
        self.assertApiError(verify(r.json["message_id"], "398210"), 4001)
        # 3004 does not apply by default ...
        r = request("POST", "/v1/codes", {"to": to, "code": "aB3$", "template": {"id": "pam-otp"}})
        self.assertEqual(r.status, 200)
        self.assertEqual(latest_code(to), "aB3$")
        # ... unless configured.
        self.assertEqual(control("config", {"codes_3004": True})["config"]["codes_3004"], True)
        to2 = new_phone()
        body = {"to": to2, "code": "111111", "template": {"id": "pam-otp"}}
        self.assertEqual(request("POST", "/v1/codes", body).status, 200)
        self.assertApiError(request("POST", "/v1/codes", body), 3004)
        self.assertApiError(send(to2)[1], 3004)     # shares the slot with /v1/messages
        control("clock", {"advance": 301})
        self.assertEqual(request("POST", "/v1/codes", body).status, 200)
        control("reset")
        self.assertEqual(request("POST", "/v1/codes", body).status, 200)
        self.assertEqual(request("POST", "/v1/codes", body).status, 200)

    def test_codes_validation(self):
        for code in (None, "", "x" * 33, 123456, ["1"]):
            with self.subTest(code=code):
                body = {"to": new_phone(), "template": {"id": "pam-otp"}}
                if code is not None:
                    body["code"] = code
                self.assertApiError(request("POST", "/v1/codes", body), 3002)
        r = request("POST", "/v1/codes", {"to": new_phone(), "code": "x" * 32, "template": {"id": "pam-otp"}})
        self.assertEqual(r.status, 200)
        self.assertApiError(request("POST", "/v1/codes", {"to": new_phone(), "code": "1",
                                                          "template": {"id": "nope"}}), 4001)

    def test_custom_messages(self):
        to = new_phone()
        r = request("POST", "/v1/custom-messages",
                    {"to": to, "template": {"id": "pam-otp", "params": {"code": "123456"}}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(set(r.json), {"message_id", "send_channel"})
        self.assertEqual(latest_code(to), "123456")
        self.assertApiError(verify(r.json["message_id"], "123456"), 4001)
        # Verification-code template without params.code.
        r = request("POST", "/v1/custom-messages", {"to": to, "template": {"id": "pam-otp"}})
        self.assertApiError(r, 3002, msg_part="params.code required")
        # Array recipients: one id, one outbox line each; no code for a notification template.
        tos = [new_phone(), new_phone(), "bob@example.org"]
        r = request("POST", "/v1/custom-messages",
                    {"to": tos[:2], "template": {"id": "pam-notify", "params": {"host": "h1", "user": "u"}}})
        self.assertEqual(r.status, 200, r)
        for t in tos[:2]:
            row = outbox_rows(t)[-1]
            self.assertEqual(row["message_id"], r.json["message_id"])
            self.assertNotIn("code", row)
            self.assertIn("New login to h1 as u", row["text"])
        for bad in ([], [1], "nope", [tos[0], "bad"], None):
            with self.subTest(to=bad):
                body = {"template": {"id": "pam-notify"}}
                if bad is not None:
                    body["to"] = bad
                self.assertApiError(request("POST", "/v1/custom-messages", body), 3002)
        self.assertApiError(request("POST", "/v1/custom-messages",
                                    {"to": tos[2], "template": {"id": "pam-notify"}}), 3002)
        self.assertApiError(request("POST", "/v1/custom-messages",
                                    {"to": to, "template": {"id": "missing"}}), 4001)
        self.assertApiError(request("POST", "/v1/custom-messages",
                                    {"to": "+10000000002", "template": {"id": "pam-notify"}}), 5013)

    def test_missing_params_are_delivered_verbatim(self):
        to = new_phone()
        request("POST", "/v1/custom-messages", {"to": to, "template": {"id": "pam-notify"}})
        self.assertIn("{{host}}", outbox_rows(to)[-1]["text"])


# ---------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------

class TestTemplates(MockTest):
    PRELOADED = {"pam-otp", "pam-otp-email", "pam-otp-voice", "pam-otp-wa", "pam-otp-alpha",
                 "pam-otp-pending", "pam-otp-rejected"}

    def test_list(self):
        r = request("GET", "/v1/template-configs")
        self.assertEqual(r.status, 200)
        self.assertIsInstance(r.json, list)
        by_id = {t["template_id"]: t for t in r.json}
        self.assertTrue(self.PRELOADED <= set(by_id))
        t = by_id["pam-otp"]
        self.assertEqual(t["status"], 2)
        self.assertEqual(t["verify_code_config"],
                         {"verify_code_type": 1, "verify_code_len": 6, "verify_code_ttl": 5})
        self.assertEqual(set(t["sms_config"]), {"template_type", "template_parts"})
        self.assertIsInstance(t["created_time"], int)
        self.assertLess(t["created_time"], 10 ** 10)        # seconds, not milliseconds
        self.assertEqual(by_id["pam-otp-email"]["email_config"], {"template_name": "PAM login code"})
        self.assertEqual(by_id["pam-otp-wa"]["send_channel_strategy"], "whatsapp|sms")
        self.assertEqual(by_id["pam-otp-wa"]["whatsapp_config"], {"template_type": 1})
        self.assertEqual(by_id["pam-otp-alpha"]["verify_code_config"]["verify_code_type"], 7)
        self.assertEqual(by_id["pam-otp-alpha"]["verify_code_config"]["verify_code_len"], 8)
        self.assertEqual((by_id["pam-otp-pending"]["status"], by_id["pam-otp-pending"]["audit_remark"]), (1, ""))
        self.assertEqual((by_id["pam-otp-rejected"]["status"], by_id["pam-otp-rejected"]["audit_remark"]),
                         (3, "content not compliant"))

    def test_get(self):
        r = request("GET", "/v1/template-configs/pam-otp")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["template_id"], "pam-otp")
        self.assertIn("{{code}}", r.json["sms_config"]["template_custom_config"]["custom_content"])
        self.assertIn("description", r.json)
        self.assertIn("brand_name", r.json)
        r = request("GET", "/v1/template-configs/pam-otp-email")
        self.assertEqual(r.json["email_config"]["template_custom_configs"][0]["language"], "default")
        r = request("GET", "/v1/template-configs/nope")
        self.assertApiError(r, 4001)
        self.assertEqual(r.json["message"], "config not exist")

    def test_create_get_delete(self):
        r = request("POST", "/v1/template-configs", full_template("new-1"))
        self.assertEqual((r.status, r.json), (200, {"code": 0, "message": "success"}))
        g = request("GET", "/v1/template-configs/new-1").json
        self.assertEqual(g["status"], 1)
        self.assertEqual(g["audit_remark"], "")
        self.assertEqual(g["sms_config"]["template_custom_config"]["custom_country_codes"], "HK,PH")
        self.assertEqual(g["sms_config"]["template_parts"], 1)
        self.assertEqual(g["pwa_config"], {"pwa_platform": "xx", "pwa_code": "xx"})
        lst = {t["template_id"]: t for t in request("GET", "/v1/template-configs").json}
        self.assertNotIn("template_custom_config", lst["new-1"]["sms_config"])
        # Duplicate.
        self.assertApiError(request("POST", "/v1/template-configs", full_template("new-1")), 3003,
                            msg_part="already exists")
        # Pending templates cannot send until "reviewed".
        self.assertApiError(send(template="new-1")[1], 3003)
        control("template-status", {"template_id": "new-1", "status": 2})
        to, r = send(template="new-1")
        self.assertEqual(r.json["send_channel"], "whatsapp")
        # Delete (URL-encoded ids are decoded).
        r = request("DELETE", "/v1/template-configs/new%2D1")
        self.assertEqual((r.status, r.json), (200, {"code": 0, "message": "success"}))
        self.assertApiError(request("GET", "/v1/template-configs/new-1"), 4001)
        r = request("DELETE", "/v1/template-configs/new-1")
        self.assertApiError(r, 4001)
        self.assertEqual(r.json["message"], "config not exist")
        # Reset restores preloaded templates and drops created ones.
        request("DELETE", "/v1/template-configs/pam-otp")
        request("POST", "/v1/template-configs", full_template("new-2"))
        control("reset")
        ids = {t["template_id"] for t in request("GET", "/v1/template-configs").json}
        self.assertIn("pam-otp", ids)
        self.assertNotIn("new-2", ids)

    def test_create_minimal_variants(self):
        ok = [
            {"template_id": "m-sms", "send_channel_strategy": "sms",
             "sms_config": {"template_type": 1, "template_default_config":
                            {"contain_security": True, "contain_expire": True}}},
            {"template_id": "m-mail", "send_channel_strategy": "email",
             "verify_code_config": {"verify_code_type": 3, "verify_code_len": 10, "verify_code_ttl": 10},
             "email_config": {"template_name": "x"}},
            {"template_id": "x" * 128, "send_channel_strategy": "whatsapp|sms|voice",
             "verify_code_config": {"verify_code_type": 1, "verify_code_len": 4, "verify_code_ttl": 10},
             "whatsapp_config": {"template_type": 1, "template_default_config":
                                 {"contain_security": False, "contain_expire": False}},
             "sms_config": {"template_type": 2, "template_custom_config":
                            {"custom_sub_type": "marketing", "custom_content": "Sale!"}},
             "voice_config": {"template_type": 1, "template_default_config":
                              {"contain_security": False, "contain_expire": False}}},
        ]
        for body in ok:
            with self.subTest(tid=body["template_id"][:10]):
                r = request("POST", "/v1/template-configs", body)
                self.assertEqual(r.json, {"code": 0, "message": "success"})

    def test_create_validation(self):
        def mutate(fn):
            b = full_template("v-" + str(next(_numbers)))
            fn(b)
            return b

        cases = [
            (lambda b: b.pop("template_id"), 3002, "template_id"),
            (lambda b: b.update(template_id=""), 3002, "template_id"),
            (lambda b: b.update(template_id="y" * 129), 3002, "template_id"),
            (lambda b: b.update(template_id=7), 3002, "template_id"),
            (lambda b: b.update(description="d" * 256), 3002, "description"),
            (lambda b: b.pop("send_channel_strategy"), 3002, "send_channel_strategy"),
            (lambda b: b.update(send_channel_strategy="fax"), 3002, "send_channel_strategy"),
            (lambda b: b.update(send_channel_strategy="sms|"), 3002, "send_channel_strategy"),
            (lambda b: b.update(send_channel_strategy="sms,voice"), 3002, "send_channel_strategy"),
            (lambda b: b.update(send_channel_strategy="sms|sms"), 3002, "send_channel_strategy"),
            (lambda b: b.update(send_channel_strategy="email|sms"), 3002, "send_channel_strategy"),
            (lambda b: b.update(brand_name="B"), 3002, "brand_name"),
            (lambda b: b.update(brand_name="B" * 11), 3002, "brand_name"),
            (lambda b: b["verify_code_config"].update(verify_code_type=0), 3002, "verify_code_type"),
            (lambda b: b["verify_code_config"].update(verify_code_type=8), 3002, "verify_code_type"),
            (lambda b: b["verify_code_config"].update(verify_code_type=True), 3002, "verify_code_type"),
            (lambda b: b["verify_code_config"].update(verify_code_len=3), 3002, "verify_code_len"),
            (lambda b: b["verify_code_config"].update(verify_code_len=11), 3002, "verify_code_len"),
            (lambda b: b["verify_code_config"].update(verify_code_ttl=0), 3002, "verify_code_ttl"),
            (lambda b: b["verify_code_config"].update(verify_code_ttl=11), 3002, "verify_code_ttl"),
            (lambda b: b["verify_code_config"].update(verify_code_ttl=3), 3002, "verify_code_ttl"),
            (lambda b: b["verify_code_config"].update(verify_code_ttl="5"), 3002, "verify_code_ttl"),
            (lambda b: b.update(verify_code_config=[]), 3002, "verify_code_config"),
            (lambda b: b.pop("whatsapp_config"), 3003, "not contains any channel config"),
            (lambda b: b.pop("sms_config"), 3003, "not contains any channel config"),
            (lambda b: b["whatsapp_config"].update(template_type=2), 3002, "whatsapp_config.template_type"),
            (lambda b: b["whatsapp_config"].pop("template_default_config"), 3002, "whatsapp_config"),
            (lambda b: b["sms_config"].update(template_type=3), 3002, "sms_config.template_type"),
            (lambda b: b["sms_config"]["template_custom_config"].update(custom_content="no code here"),
             3002, "custom_content"),
            (lambda b: b["sms_config"]["template_custom_config"].update(custom_sub_type="spam"),
             3002, "custom_sub_type"),
            (lambda b: b["sms_config"].pop("template_custom_config"), 3002, "template_custom_config"),
            (lambda b: b["voice_config"].update(template_type=0), 3002, "voice_config"),
            (lambda b: b["email_config"].pop("template_name"), 3002, "email_config.template_name"),
            (lambda b: b["email_config"]["template_custom_configs"][0].update(language="fr"), 3002, "language"),
            (lambda b: b["email_config"]["template_custom_configs"][0].pop("pre_from_mail"), 3002,
             "pre_from_mail"),
            (lambda b: b.update(pwa_config={"pwa_code": 1}), 3002, "pwa_config"),
        ]
        for fn, code, part in cases:
            body = mutate(fn)
            with self.subTest(expect=part):
                self.assertApiError(request("POST", "/v1/template-configs", body), code, msg_part=part)
        # Without any channel config at all: the documented message.
        b = {"template_id": "nocfg", "send_channel_strategy": "sms"}
        r = request("POST", "/v1/template-configs", b)
        self.assertEqual(r.json, {"code": 3003, "message": "not contains any channel config"})
        self.assertApiError(request("POST", "/v1/template-configs", raw=b"{"), 3001)
        ids = {t["template_id"] for t in request("GET", "/v1/template-configs").json}
        self.assertEqual(ids & {"nocfg"}, set())


# ---------------------------------------------------------------------------
# Connections and concurrency
# ---------------------------------------------------------------------------

class TestConnections(MockTest):
    def test_keep_alive_send_then_verify(self):
        conn = http.client.HTTPSConnection("127.0.0.1", MOCK.port, context=tls_context(), timeout=TIMEOUT)
        try:
            to, r = send(conn=conn)
            self.assertEqual(r.status, 200)
            self.assertNotEqual(r.headers.get("Connection", "").lower(), "close")
            sock = conn.sock
            self.assertIsNotNone(sock)
            # An error response must keep the connection usable too.
            self.assertApiError(request("POST", "/v1/verifications", {"message_id": 1}, conn=conn), 3002)
            v = verify(r.json["message_id"], latest_code(to), conn=conn)
            self.assertIs(v.json["verified"], True)
            self.assertIs(conn.sock, sock, "connection was not reused")
        finally:
            conn.close()

    def test_connection_close_honoured(self):
        conn = http.client.HTTPSConnection("127.0.0.1", MOCK.port, context=tls_context(), timeout=TIMEOUT)
        try:
            r = request("GET", "/v1/template-configs", conn=conn, headers={"Connection": "close"})
            self.assertEqual(r.status, 200)
            self.assertEqual(r.headers.get("Connection"), "close")
        finally:
            conn.close()

    def test_200_concurrent_sends(self):
        before = len(outbox_rows())
        phones = [new_phone() for _ in range(200)]
        barrier = threading.Barrier(50, timeout=TIMEOUT)

        def one(i):
            if i < 50:
                try:
                    barrier.wait()       # make at least 50 of them really simultaneous
                except threading.BrokenBarrierError:
                    pass
            return send(phones[i])[1]

        with concurrent.futures.ThreadPoolExecutor(max_workers=200) as ex:
            replies = list(ex.map(one, range(200), timeout=60))
        self.assertTrue(all(r.status == 200 for r in replies), [r for r in replies if r.status != 200][:3])
        ids = [r.json["message_id"] for r in replies]
        self.assertEqual(len(set(ids)), 200)
        self.assertTrue(all(len(i) == 19 and i.isdigit() for i in ids))
        rows = outbox_rows()          # raises if any line is not whole JSON
        self.assertEqual(len(rows) - before, 200)
        self.assertEqual({r["to"] for r in rows[before:]}, set(phones))
        self.assertEqual({r["message_id"] for r in rows[before:]}, set(ids))

    def test_concurrent_duplicate_sends_one_wins(self):
        to = new_phone()
        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as ex:
            replies = list(ex.map(lambda _: send(to)[1], range(20), timeout=60))
        self.assertEqual(sorted(r.status for r in replies), [200] + [400] * 19)
        self.assertEqual(len(outbox_rows(to)), 1)

    def test_idle_handshake_does_not_block_others(self):
        # A client that connects but never sends a TLS ClientHello.
        with socket.create_connection(("127.0.0.1", MOCK.port), timeout=TIMEOUT):
            self.assertEqual(request("GET", "/v1/template-configs").status, 200)

    def test_sigterm_exits_cleanly_with_open_connections(self):
        m = MockProcess("sigterm")
        idle = http.client.HTTPSConnection("127.0.0.1", m.port, context=tls_context(), timeout=TIMEOUT)
        hole = http.client.HTTPSConnection("127.0.0.1", m.port, context=tls_context(), timeout=TIMEOUT)
        try:
            self.assertEqual(request("GET", "/v1/template-configs", conn=idle, port=m.port).status, 200)
            r = request("POST", "/__mock/fault", {"mode": "blackhole"}, auth="", port=m.port)
            self.assertEqual(r.status, 200)
            hole.connect()
            hole.sock.settimeout(5)
            hole.request("GET", "/v1/template-configs", headers={"Authorization": basic()})
            time.sleep(0.2)
            t0 = time.monotonic()
            self.assertEqual(m.stop(), 0)
            self.assertLess(time.monotonic() - t0, 3)
        finally:
            idle.close()
            hole.close()


# ---------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------

class TestFaults(MockTest):
    def fault(self, **body):
        return control("fault", body)

    def test_status500_count_and_reset(self):
        self.fault(mode="status500", count=2)
        self.assertApiError(send()[1], 1000)
        self.assertApiError(request("GET", "/v1/template-configs"), 1000)
        self.assertEqual(send()[1].status, 200)           # count exhausted
        self.fault(mode="status500")
        self.assertApiError(send()[1], 1000)
        self.assertApiError(send()[1], 1000)               # no count: sticks
        self.fault(mode="none")
        self.assertEqual(send()[1].status, 200)
        self.fault(mode="status500")
        control("reset")
        self.assertEqual(send()[1].status, 200)

    def test_path_matching_and_consumption(self):
        self.fault(mode="status500", path="/v1/verifications", count=1)
        to, r = send()
        self.assertEqual(r.status, 200)
        self.assertEqual(len(control("state", method="GET")["faults"]), 1)   # not consumed by send
        self.assertApiError(verify(r.json["message_id"], latest_code(to)), 1000)
        self.assertEqual(control("state", method="GET")["faults"], [])
        self.assertIs(verify(r.json["message_id"], latest_code(to)).json["verified"], True)
        # Prefix match on path segments; "none" with a path clears only that path.
        self.fault(mode="status500", path="/v1/template-configs")
        self.fault(mode="garbage", path="/v1/messages")
        self.assertApiError(request("GET", "/v1/template-configs/pam-otp"), 1000)
        self.assertEqual(send()[1].raw, b"<html>not json</html>")
        self.fault(mode="none", path="/v1/messages")
        self.assertEqual(send()[1].status, 200)
        self.assertApiError(request("GET", "/v1/template-configs"), 1000)
        # Faults never apply to control endpoints.
        self.assertEqual(request("GET", "/__mock/state", auth="").status, 200)

    def test_fault_is_logged(self):
        self.fault(mode="status500", count=1)
        send()
        self.assertEqual(reqlog_rows()[-1]["fault"], "status500")

    def test_status503_html(self):
        self.fault(mode="status503_html", count=1)
        r = send()[1]
        self.assertEqual(r.status, 503)
        self.assertTrue(r.headers["Content-Type"].startswith("text/html"))
        self.assertIsNone(r.json)
        self.assertIn(b"<html>", r.raw)

    def test_blackhole(self):
        self.fault(mode="blackhole", count=1)
        to = new_phone()
        t0 = time.monotonic()
        with self.assertRaises((TimeoutError, socket.timeout)):
            send(to, timeout=0.7)
        self.assertLess(time.monotonic() - t0, 3)
        self.assertFalse(outbox_rows(to))
        self.assertEqual(send(to)[1].status, 200)

    def test_reset(self):
        self.fault(mode="reset", count=1)
        to = new_phone()
        with self.assertRaises((OSError, http.client.HTTPException)):
            send(to)
        self.assertFalse(outbox_rows(to))
        self.assertEqual(send(to)[1].status, 200)

    def test_garbage(self):
        self.fault(mode="garbage", count=1)
        r = send()[1]
        self.assertEqual((r.status, r.raw), (200, b"<html>not json</html>"))

    def test_huge(self):
        self.fault(mode="huge", count=1)
        r = send()[1]
        self.assertEqual(r.status, 200)
        self.assertGreaterEqual(len(r.raw), 10 * 1024 * 1024 - 64)
        self.assertEqual(int(r.headers["Content-Length"]), len(r.raw))

    def test_incomplete(self):
        self.fault(mode="incomplete", count=1)
        r = send()[1]
        self.assertEqual(r.status, 200)
        self.assertIsInstance(r.json, dict)
        self.assertNotIn("message_id", r.json)
        self.assertNotIn("verified", r.json)

    def test_wrong_types(self):
        self.fault(mode="wrong_types")
        r = send()[1]
        self.assertEqual(r.status, 200)
        self.assertIsInstance(r.json["message_id"], int)
        self.assertIsInstance(r.json["send_channel"], int)
        r = verify("1725407449772531712", "123456")
        self.assertEqual(r.json["verified"], "true")

    def test_numeric_id(self):
        self.fault(mode="numeric_id", count=1)
        to, r = send()
        self.assertEqual(r.status, 200)
        self.assertRegex(r.raw.decode(), r'"message_id":[0-9]{19}[,}]')
        self.assertIsInstance(r.json["message_id"], int)
        mid = str(r.json["message_id"])
        self.assertEqual(mid, outbox_rows(to)[-1]["message_id"])
        self.assertIs(verify(mid, latest_code(to)).json["verified"], True)
        # Applied to verify: the echoed id is numeric, the answer otherwise correct.
        to, r = send()
        self.fault(mode="numeric_id", path="/v1/verifications", count=1)
        v = verify(r.json["message_id"], latest_code(to))
        self.assertEqual(v.json["message_id"], int(r.json["message_id"]))
        self.assertIs(v.json["verified"], True)

    def test_redirect(self):
        self.fault(mode="redirect", count=1)
        to, r = send()
        self.assertEqual(r.status, 302)
        self.assertEqual(r.headers["Location"], f"https://127.0.0.1:{MOCK.port}/v1/messages")
        self.assertEqual(r.raw, b"")
        self.assertFalse(outbox_rows(to))

    def test_slow_and_delay(self):
        self.fault(mode="slow", delay_ms=300, count=1)
        t0 = time.monotonic()
        to, r = send()
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        self.assertEqual(r.status, 200)
        self.assertEqual(len(outbox_rows(to)), 1)
        self.fault(mode="status500", delay_ms=200, count=1)
        t0 = time.monotonic()
        self.assertApiError(send()[1], 1000)
        self.assertGreaterEqual(time.monotonic() - t0, 0.2)
        self.fault(mode="slow", delay_ms=3000, count=1)
        with self.assertRaises((TimeoutError, socket.timeout)):
            send(timeout=0.5)

    def test_truncated(self):
        self.fault(mode="truncated", count=1)
        with self.assertRaises((OSError, http.client.HTTPException)):
            send()
        self.assertEqual(send()[1].status, 200)

    def test_control_chars(self):
        self.fault(mode="control_chars", count=1)
        r = send()[1]
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json, {"code": 5001, "message": "bad\x1b[31m thing\r\nInjected: yes"})

    def test_non_utf8(self):
        self.fault(mode="non_utf8", count=1)
        r = send()[1]
        self.assertEqual(r.status, 400)
        self.assertIn(b"\xff", r.raw)
        with self.assertRaises(UnicodeDecodeError):
            r.raw.decode("utf-8")

    def test_error_code(self):
        for code, http_status, expect in ((5012, None, 400), (1000, None, 500), (2002, None, 401),
                                          (2004, None, 403), (6001, 429, 429)):
            with self.subTest(code=code):
                body = {"mode": "error_code", "code": code, "count": 1}
                if http_status:
                    body["http"] = http_status
                self.fault(**body)
                to, r = send()
                self.assertApiError(r, code, http=expect)
                self.assertFalse(outbox_rows(to))

    def test_bad_fault_requests(self):
        for body in ({"mode": "nonsense"}, {"mode": "status500", "count": 0},
                     {"mode": "status500", "path": "v1"}, {"mode": "error_code"},
                     {"mode": "slow", "delay_ms": -1}, {}):
            with self.subTest(body=body):
                r = request("POST", "/__mock/fault", body, auth="")
                self.assertEqual(r.status, 400)
                self.assertIn("error", r.json)
        r = request("POST", "/__mock/fault", raw=b"{", auth="")
        self.assertEqual(r.status, 400)


# ---------------------------------------------------------------------------
# Control endpoints, mockctl and mockenv.sh
# ---------------------------------------------------------------------------

class TestControl(MockTest):
    def test_state_and_clock(self):
        to, r = send()
        st = control("state", method="GET")
        msg = [m for m in st["messages"] if m["message_id"] == r.json["message_id"]][0]
        self.assertEqual((msg["to"], msg["template"], msg["expired"], msg["verified"]),
                         (to, "pam-otp", False, False))
        self.assertNotIn("code", msg)
        out = control("clock", {"advance": 600})
        self.assertEqual(out["clock_offset"], 600)
        st = control("state", method="GET")
        msg = [m for m in st["messages"] if m["message_id"] == r.json["message_id"]][0]
        self.assertTrue(msg["expired"])
        self.assertGreater(outbox_rows(send()[0])[-1]["time"], time.time() + 590)
        control("reset")
        st = control("state", method="GET")
        self.assertEqual((st["messages"], st["clock_offset"], st["config"]), ([], 0, {"codes_3004": False}))
        self.assertApiError(verify(r.json["message_id"], "123456"), 4001)

    def test_bad_control_requests(self):
        for path, body in (("clock", {"advance": -1}), ("clock", {}), ("config", {"codes_3004": "yes"}),
                           ("config", {"other": True}), ("template-status", {"template_id": "nope", "status": 2}),
                           ("nothing", {})):
            with self.subTest(path=path):
                r = request("POST", "/__mock/" + path, body, auth="")
                self.assertIn(r.status, (400, 404))

    def test_reset_keeps_files(self):
        send()
        n_out, n_req = os.path.getsize(MOCK.outbox), os.path.getsize(MOCK.reqlog)
        control("reset")
        self.assertEqual(os.path.getsize(MOCK.outbox), n_out)
        self.assertEqual(os.path.getsize(MOCK.reqlog), n_req)

    def mockctl(self, *args, check=True):
        r = subprocess.run([PY, MOCKCTL, "--url", f"https://127.0.0.1:{MOCK.port}",
                            "--ca", os.path.join(CERTS, "ca.pem"), *args],
                           capture_output=True, text=True, timeout=30)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_mockctl(self):
        self.mockctl("fault", "error_code", "--code", "5014", "--count", "1", "--path", "/v1/messages")
        self.assertApiError(send()[1], 5014)
        self.mockctl("fault", "slow", "--delay-ms", "10")
        self.assertEqual(control("state", method="GET")["faults"][0]["delay_ms"], 10)
        self.mockctl("fault", "none")
        self.mockctl("config", "--codes-3004", "yes")
        self.assertTrue(control("state", method="GET")["config"]["codes_3004"])
        self.mockctl("clock", "30")
        self.assertEqual(control("state", method="GET")["clock_offset"], 30)
        st = json.loads(self.mockctl("state").stdout)
        self.assertEqual(st["clock_offset"], 30)
        self.mockctl("reset")
        self.assertEqual(control("state", method="GET")["clock_offset"], 0)
        self.mockctl("ping")
        self.assertEqual(self.mockctl("fault", "bogus", check=False).returncode, 1)

        to = new_phone()
        n = int(self.mockctl("count", "--outbox", MOCK.outbox).stdout)
        self.assertEqual(self.mockctl("code", "--outbox", MOCK.outbox, "--to", to, check=False).returncode, 1)
        send(to)
        code = self.mockctl("code", "--outbox", MOCK.outbox, "--to", to, "--after-line", str(n)).stdout.strip()
        self.assertEqual(code, latest_code(to))
        self.assertEqual(self.mockctl("code", "--outbox", MOCK.outbox, "--to", to, "--after-line",
                                      str(n + 1), check=False).returncode, 1)
        self.assertEqual(self.mockctl("count", "--outbox", MOCK.outbox, "--to", to).stdout.strip(), "1")
        self.assertEqual(int(self.mockctl("count", "--outbox", MOCK.outbox).stdout), n + 1)
        nreq = len(reqlog_rows("/v1/messages"))
        self.assertEqual(int(self.mockctl("requests", "--log", MOCK.reqlog, "--path", "/v1/messages").stdout), nreq)

    def test_mockctl_code_waits(self):
        to = new_phone()
        threading.Timer(0.3, lambda: send(to)).start()
        t0 = time.monotonic()
        code = self.mockctl("code", "--outbox", MOCK.outbox, "--to", to, "--wait", "5").stdout.strip()
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(code, latest_code(to))

    def test_mockenv_sh(self):
        d = os.path.join(TMP, "env")
        script = f"""
set -eu
. {MOCKENV}
mock_start {d} --dev-key envkey
echo "URL=$MOCK_URL PORT=$MOCK_PORT PID=$MOCK_PID"
test "$MOCK_URL" = "https://127.0.0.1:$MOCK_PORT"
test -f "$MOCK_CA" && test -f "$MOCK_OUTBOX" && test -f "$MOCK_REQLOG" && test "$MOCK_DIR" = "{d}"
mockctl fault status500 >/dev/null
test "$(mock_sent_count)" = 0
test "$(mock_request_count)" = 0
pid=$MOCK_PID
mock_stop
if kill -0 "$pid" 2>/dev/null; then echo "still running"; exit 1; fi
mock_start {d}
mockctl ping
mock_stop
echo OK
"""
        r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.strip().endswith("OK"), r.stdout)
        self.assertRegex(r.stdout, r"URL=https://127\.0\.0\.1:\d+ PORT=\d+ PID=\d+")

    def test_mockenv_start_failure_cleans_up(self):
        d = os.path.join(TMP, "envfail")
        script = f"""
. {MOCKENV}
if mock_start {d} --cert /nonexistent.pem; then echo "unexpected success"; exit 1; fi
test -z "${{MOCK_PID:-}}" || exit 3
echo FAILED-AS-EXPECTED
"""
        r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("FAILED-AS-EXPECTED", r.stdout)


# ---------------------------------------------------------------------------
# Runner: counts tests itself and prints "N passed, M failed" last.
# ---------------------------------------------------------------------------

class CountingResult(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0
        self.failed_ids = set()

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.failed_ids.add(test.id())

    def addError(self, test, err):
        super().addError(test, err)
        self.failed_ids.add(test.id())

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.failed_ids.add(test.id())

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.failed_ids.add(test.id())


def main():
    faulthandler.dump_traceback_later(150, exit=True)     # watchdog: never hang
    verbosity = 2 if "-v" in sys.argv[1:] else 1
    names = [a for a in sys.argv[1:] if not a.startswith("-")]
    loader = unittest.TestLoader()
    module = sys.modules[__name__]
    suite = loader.loadTestsFromNames(names, module) if names else loader.loadTestsFromModule(module)
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=verbosity, resultclass=CountingResult)
    result = runner.run(suite)
    faulthandler.cancel_dump_traceback_later()
    failed = len(result.failed_ids)
    sys.stderr.flush()
    print(f"{result.passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 and result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
