#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Local HTTPS mock of the EngageLab OTP REST API (see /work/shared/engagelab-api.md).

Python 3 standard library only.  One process serves:

  * the eight documented endpoints under /v1 (HTTP Basic auth, {code, message} errors);
  * control endpoints under /__mock/ (no auth) to inject faults, move the clock,
    change configuration, reset state and dump state.

Every delivered message is appended as one JSON line to the --outbox file (this is how
tests read a code "as a phone would"); every API request is appended as one JSON line
to the --request-log file.

Decisions where the public documentation is silent are marked "SPEC-SILENT" below.

Usage:
  mock_engagelab.py --cert server.pem --key server.key [--host 127.0.0.1] [--port 0]
                    [--port-file F] [--outbox F] [--request-log F]
                    [--dev-key test-key] [--dev-secret test-secret]
                    [--idle-timeout 60] [--verbose]
"""

import argparse
import base64
import binascii
import copy
import hmac
import http.server
import json
import math
import os
import re
import secrets
import select
import signal
import socket
import ssl
import string
import struct
import sys
import threading
import time
import urllib.parse

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

LANGUAGES = ("default", "zh_CN", "zh_HK", "en", "ja", "th", "es")
CHANNELS = ("whatsapp", "sms", "email", "voice")

# First message id handed out; ids then increase by a small random step.
FIRST_MESSAGE_ID = 1725407449772531712

# Special keys (any secret) that produce specific authentication errors.
DISABLED_KEY = "disabled-key"   # -> 401 {"code": 2002}
NOPERM_KEY = "noperm-key"       # -> 403 {"code": 2004}

# Magic recipients, in the spirit of a sandbox: never delivered.
MAGIC_RECIPIENTS = {
    "+10000000001": (5011, "invalid phone number"),
    "+10000000002": (5013, "number in blacklist"),
    "+10000000003": (5001, "sms send fail"),
}

PHONE_RE = re.compile(r"^\+[0-9]{6,15}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
VAR_RE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")

MAX_REQUEST_BODY = 1024 * 1024      # larger bodies get 413 and the connection is closed
HUGE_BODY_SIZE = 10 * 1024 * 1024   # size of the "huge" fault response
BLACKHOLE_MAX_SECONDS = 300
HANDSHAKE_TIMEOUT = 10

FAULT_MODES = (
    "none", "status500", "status503_html", "blackhole", "reset", "garbage", "huge",
    "incomplete", "wrong_types", "numeric_id", "redirect", "slow", "truncated",
    "control_chars", "non_utf8", "error_code",
)

# Set when the process is asked to stop; long-running handlers (blackhole, slow) watch it.
STOPPING = threading.Event()


def http_status_for(code):
    """HTTP status for an API error code, as in the spec's error tables."""
    if code == 1000:
        return 500
    if code in (2001, 2002):
        return 401
    if code == 2004:
        return 403
    return 400


def is_int(v):
    """True for JSON integers (bool is a subclass of int in Python; exclude it)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_str_map(v):
    return isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())


class ApiError(Exception):
    """An EngageLab-style error: HTTP status + {"code": N, "message": "..."}."""

    def __init__(self, code, message, http=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.http = http if http is not None else http_status_for(code)


# ---------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------

def _default_cfg():
    return {"template_type": 1,
            "template_default_config": {"contain_security": False, "contain_expire": True}}


def sms_template_parts(sms_config):
    """Estimated billing parts of an SMS template (GSM-7: 160/153, UCS-2: 70/67)."""
    custom = sms_config.get("template_custom_config") if sms_config.get("template_type") == 2 else None
    if not custom:
        return 1
    text = custom.get("custom_content", "")
    gsm = all(32 <= ord(c) < 127 or c in "\r\n" for c in text)
    single, multi = (160, 153) if gsm else (70, 67)
    return 1 if len(text) <= single else math.ceil(len(text) / multi)


def preloaded_templates(created=1725407449):
    """The templates present at start and after /__mock/reset."""
    vcc6 = {"verify_code_type": 1, "verify_code_len": 6, "verify_code_ttl": 5}
    sms_auth = {
        "template_type": 2,
        "template_custom_config": {
            "custom_sub_type": "authentication",
            "custom_content": "[{{brand_name}}] Your login code is {{code}}. It expires in {{ttl}} minutes.",
        },
    }
    t = [
        {"template_id": "pam-otp", "description": "PAM login code (SMS)",
         "send_channel_strategy": "sms", "brand_name": "PAMTest",
         "verify_code_config": dict(vcc6), "sms_config": copy.deepcopy(sms_auth),
         "status": 2, "audit_remark": ""},
        {"template_id": "pam-otp-email", "description": "PAM login code (email)",
         "send_channel_strategy": "email", "brand_name": "PAMTest",
         "verify_code_config": dict(vcc6),
         "email_config": {
             "template_name": "PAM login code",
             "template_custom_configs": [{
                 "language": "default", "pre_from_name": "PAMTest",
                 "pre_from_mail": "noreply@example.com", "pre_subject": "Your login code",
                 "template_content": "<p>Your login code is <b>{{code}}</b>. It expires in {{ttl}} minutes.</p>",
                 "pre_param_map": {}}]},
         "status": 2, "audit_remark": ""},
        {"template_id": "pam-otp-voice", "description": "PAM login code (voice)",
         "send_channel_strategy": "voice", "brand_name": "PAMTest",
         "verify_code_config": dict(vcc6), "voice_config": _default_cfg(),
         "status": 2, "audit_remark": ""},
        {"template_id": "pam-otp-wa", "description": "PAM login code (WhatsApp, SMS fallback)",
         "send_channel_strategy": "whatsapp|sms", "brand_name": "PAMTest",
         "verify_code_config": dict(vcc6), "whatsapp_config": _default_cfg(),
         "sms_config": _default_cfg(), "status": 2, "audit_remark": ""},
        {"template_id": "pam-otp-alpha", "description": "PAM login code, 8 alphanumerics",
         "send_channel_strategy": "sms", "brand_name": "PAMTest",
         "verify_code_config": {"verify_code_type": 7, "verify_code_len": 8, "verify_code_ttl": 5},
         "sms_config": copy.deepcopy(sms_auth), "status": 2, "audit_remark": ""},
        {"template_id": "pam-otp-pending", "description": "awaiting review",
         "send_channel_strategy": "sms", "brand_name": "PAMTest",
         "verify_code_config": dict(vcc6), "sms_config": copy.deepcopy(sms_auth),
         "status": 1, "audit_remark": ""},
        {"template_id": "pam-otp-rejected", "description": "rejected by review",
         "send_channel_strategy": "sms", "brand_name": "PAMTest",
         "verify_code_config": dict(vcc6), "sms_config": copy.deepcopy(sms_auth),
         "status": 3, "audit_remark": "content not compliant"},
        # A notification template without a verification code (for /v1/custom-messages).
        {"template_id": "pam-notify", "description": "login notification",
         "send_channel_strategy": "sms", "brand_name": "PAMTest",
         "sms_config": {"template_type": 2, "template_custom_config": {
             "custom_sub_type": "utility",
             "custom_content": "[{{brand_name}}] New login to {{host}} as {{user}}."}},
         "status": 2, "audit_remark": ""},
    ]
    out = {}
    for i, tpl in enumerate(t):
        tpl["created_time"] = created + i
        if "sms_config" in tpl:
            tpl["sms_config"]["template_parts"] = sms_template_parts(tpl["sms_config"])
        out[tpl["template_id"]] = tpl
    return out


def template_summary(t):
    """List item per spec 4.3: channel configs reduced to their summary fields."""
    s = {"template_id": t["template_id"], "description": t.get("description", ""),
         "send_channel_strategy": t["send_channel_strategy"], "brand_name": t.get("brand_name", "")}
    if "verify_code_config" in t:
        s["verify_code_config"] = dict(t["verify_code_config"])
    if "whatsapp_config" in t:
        s["whatsapp_config"] = {"template_type": t["whatsapp_config"].get("template_type", 1)}
    if "sms_config" in t:
        s["sms_config"] = {"template_type": t["sms_config"].get("template_type", 1),
                           "template_parts": t["sms_config"].get("template_parts", 1)}
    if "voice_config" in t:
        s["voice_config"] = {"template_type": t["voice_config"].get("template_type", 1)}
    if "email_config" in t:
        s["email_config"] = {"template_name": t["email_config"].get("template_name", "")}
    if "pwa_config" in t:
        s["pwa_config"] = dict(t["pwa_config"])
    s["created_time"] = t["created_time"]
    s["status"] = t["status"]
    s["audit_remark"] = t.get("audit_remark", "")
    return s


def _bad(field, why):
    raise ApiError(3002, f"{field}: {why}")


def _check_default_config(prefix, cfg):
    dc = cfg.get("template_default_config")
    if not isinstance(dc, dict):
        _bad(f"{prefix}.template_default_config", "required object")
    for k in ("contain_security", "contain_expire"):
        if not isinstance(dc.get(k), bool):
            _bad(f"{prefix}.template_default_config.{k}", "required boolean")


def validate_template(body):
    """Validate a create request (spec 4.1) and return the template to store.

    Raises ApiError 3002 (field problem, message names the field) or
    3003 "not contains any channel config".
    """
    tid = body.get("template_id")
    if not isinstance(tid, str) or not 1 <= len(tid) <= 128:
        _bad("template_id", "required string of 1-128 characters")
    desc = body.get("description", "")
    if not isinstance(desc, str) or len(desc) > 255:
        _bad("description", "must be a string of at most 255 characters")
    strategy = body.get("send_channel_strategy")
    if not isinstance(strategy, str) or not strategy:
        _bad("send_channel_strategy", "required string")
    chans = strategy.split("|")
    for c in chans:
        if c not in CHANNELS:
            _bad("send_channel_strategy", f"unknown channel {c!r}")
    if len(set(chans)) != len(chans):
        _bad("send_channel_strategy", "duplicate channel")
    if "email" in chans and len(chans) > 1:
        _bad("send_channel_strategy", "email cannot be combined with other channels")
    if "brand_name" in body:
        bn = body["brand_name"]
        if not isinstance(bn, str) or not 2 <= len(bn) <= 10:
            _bad("brand_name", "must be a string of 2-10 characters")

    if "verify_code_config" in body:
        vcc = body["verify_code_config"]
        if not isinstance(vcc, dict):
            _bad("verify_code_config", "must be an object")
        vt, vl, ttl = (vcc.get(k) for k in ("verify_code_type", "verify_code_len", "verify_code_ttl"))
        if not is_int(vt) or not 1 <= vt <= 7:
            _bad("verify_code_config.verify_code_type", "integer 1-7 required")
        if not is_int(vl) or not 4 <= vl <= 10:
            _bad("verify_code_config.verify_code_len", "integer 4-10 required")
        if not is_int(ttl) or not 1 <= ttl <= 10:
            _bad("verify_code_config.verify_code_ttl", "integer 1-10 required")
        if "whatsapp" in chans and ttl not in (1, 5, 10):
            _bad("verify_code_config.verify_code_ttl", "must be 1, 5 or 10 with whatsapp")

    # Every channel of the strategy needs its config object.
    for c in chans:
        if not isinstance(body.get(f"{c}_config"), dict):
            raise ApiError(3003, "not contains any channel config")

    # Validate every channel config that is present (configs for channels outside the
    # strategy are allowed: the spec's own create example has them).
    for c in ("whatsapp", "voice"):
        cfg = body.get(f"{c}_config")
        if cfg is None:
            continue
        if not isinstance(cfg, dict):
            _bad(f"{c}_config", "must be an object")
        if cfg.get("template_type") != 1 or not is_int(cfg.get("template_type")):
            _bad(f"{c}_config.template_type", "must be 1")
        _check_default_config(f"{c}_config", cfg)

    sms = body.get("sms_config")
    if sms is not None:
        if not isinstance(sms, dict):
            _bad("sms_config", "must be an object")
        tt = sms.get("template_type")
        if not is_int(tt) or tt not in (1, 2):
            _bad("sms_config.template_type", "must be 1 or 2")
        if tt == 1:
            _check_default_config("sms_config", sms)
        else:
            cc = sms.get("template_custom_config")
            if not isinstance(cc, dict):
                _bad("sms_config.template_custom_config", "required object for template_type 2")
            st = cc.get("custom_sub_type")
            if st not in ("authentication", "marketing", "utility"):
                _bad("sms_config.template_custom_config.custom_sub_type",
                     "must be authentication, marketing or utility")
            content = cc.get("custom_content")
            if not isinstance(content, str) or not content:
                _bad("sms_config.template_custom_config.custom_content", "required string")
            if st == "authentication" and "{{code}}" not in content:
                _bad("sms_config.template_custom_config.custom_content", "must contain {{code}}")
            if "custom_country_codes" in cc and not isinstance(cc["custom_country_codes"], str):
                _bad("sms_config.template_custom_config.custom_country_codes", "must be a string")

    email = body.get("email_config")
    if email is not None:
        if not isinstance(email, dict):
            _bad("email_config", "must be an object")
        name = email.get("template_name")
        if not isinstance(name, str) or not name:
            _bad("email_config.template_name", "required string")
        entries = email.get("template_custom_configs", [])
        if not isinstance(entries, list):
            _bad("email_config.template_custom_configs", "must be an array")
        for i, e in enumerate(entries):
            p = f"email_config.template_custom_configs[{i}]"
            if not isinstance(e, dict):
                _bad(p, "must be an object")
            if e.get("language") not in LANGUAGES:
                _bad(f"{p}.language", "unknown language")
            for k in ("pre_from_mail", "pre_subject", "template_content"):
                if not isinstance(e.get(k), str) or not e.get(k):
                    _bad(f"{p}.{k}", "required string")
            if not EMAIL_RE.match(e["pre_from_mail"]):
                _bad(f"{p}.pre_from_mail", "not an email address")
            if "pre_from_name" in e and not isinstance(e["pre_from_name"], str):
                _bad(f"{p}.pre_from_name", "must be a string")
            if "pre_param_map" in e and not is_str_map(e["pre_param_map"]):
                _bad(f"{p}.pre_param_map", "must be an object of strings")

    if "pwa_config" in body:
        pwa = body["pwa_config"]
        if not is_str_map(pwa):
            _bad("pwa_config", "must be an object of strings")

    # Build the stored object: known fields only.
    tpl = {"template_id": tid, "description": desc, "send_channel_strategy": strategy,
           "brand_name": body.get("brand_name", "")}
    for k in ("verify_code_config", "whatsapp_config", "sms_config", "voice_config",
              "email_config", "pwa_config"):
        if k in body:
            tpl[k] = copy.deepcopy(body[k])
    if "sms_config" in tpl:
        tpl["sms_config"]["template_parts"] = sms_template_parts(tpl["sms_config"])
    return tpl


def render_text(tpl, channel, code, params, language):
    """Message text as the recipient would see it (informational, for the outbox)."""
    ttl = tpl.get("verify_code_config", {}).get("verify_code_ttl", "")
    variables = {"brand_name": tpl.get("brand_name", ""), "ttl": str(ttl), "pwa_url": ""}
    content = None
    if channel == "email":
        entries = tpl.get("email_config", {}).get("template_custom_configs", [])
        chosen = [e for e in entries if e.get("language") == language] or \
                 [e for e in entries if e.get("language") == "default"] or entries
        if chosen:
            content = chosen[0].get("template_content")
            variables.update(chosen[0].get("pre_param_map", {}))
    elif channel == "sms":
        cc = tpl.get("sms_config", {}).get("template_custom_config")
        if tpl.get("sms_config", {}).get("template_type") == 2 and cc:
            content = cc.get("custom_content")
    if content is None:
        content = "Your verification code is {{code}}. It expires in {{ttl}} minutes."
        if variables["brand_name"]:
            content = "[{{brand_name}}] " + content
    variables.update(params or {})
    if code is not None:
        variables["code"] = code
    # Missing variables are delivered as-is ("{{var}}"), as the spec says.
    return VAR_RE.sub(lambda m: variables.get(m.group(1), m.group(0)), content)


def generate_code(vtype, length):
    alphabet = ""
    if vtype & 1:
        alphabet += string.digits
    if vtype & 2:
        alphabet += string.ascii_lowercase
    if vtype & 4:
        alphabet += string.ascii_uppercase
    return "".join(secrets.choice(alphabet or string.digits) for _ in range(length))


# ---------------------------------------------------------------------------
# Shared state
# ---------------------------------------------------------------------------

class AppendFile:
    """Append-only JSON-lines file; each record is one write(2) of a whole line."""

    def __init__(self, path):
        self.fd = None
        if path:
            self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, obj):
        if self.fd is None:
            return
        data = (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        while data:
            n = os.write(self.fd, data)
            data = data[n:]

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class MockState:
    """All mutable state of the mock.  Every access holds self.lock."""

    def __init__(self, dev_key, dev_secret, outbox, request_log):
        self.lock = threading.Lock()
        self.dev_key = dev_key
        self.dev_secret = dev_secret
        self.outbox = AppendFile(outbox)
        self.request_log = AppendFile(request_log)
        self.next_id = FIRST_MESSAGE_ID
        self.port = 0
        with self.lock:
            self._reset_locked()

    def _reset_locked(self):
        self.templates = preloaded_templates()
        self.messages = {}          # message_id -> record (see _deliver_locked)
        self.slots = {}             # (template_id, to) -> message_id holding the 3004 slot
        self.faults = []            # newest last
        self.clock_offset = 0.0
        self.config = {"codes_3004": False}

    def reset(self):
        with self.lock:
            self._reset_locked()

    def now(self):
        """The mock clock (real time plus the offset from /__mock/clock), seconds."""
        return time.time() + self.clock_offset

    def _new_id_locked(self):
        # 19-digit decimal ids, increasing, never reused (not even across resets).
        self.next_id += 1 + secrets.randbelow(997)
        return str(self.next_id)

    # -- faults --------------------------------------------------------------

    def add_fault(self, fault):
        with self.lock:
            if fault["mode"] == "none":
                if fault["path"] is None:
                    self.faults = []
                else:
                    self.faults = [f for f in self.faults if f["path"] != fault["path"]]
                return
            # A new fault replaces an older one for the same path.
            self.faults = [f for f in self.faults if f["path"] != fault["path"]]
            self.faults.append(fault)

    def take_fault(self, path):
        """Return the fault that applies to this request (consuming one count), or None."""
        with self.lock:
            for f in reversed(self.faults):
                p = f["path"]
                if p is None:
                    p = "/v1"      # default: every /v1 path
                if path == p or path.startswith(p.rstrip("/") + "/"):
                    if f["count"] is not None:
                        f["count"] -= 1
                        if f["count"] <= 0:
                            self.faults.remove(f)
                    return dict(f)
        return None

    # -- auth ----------------------------------------------------------------

    def check_auth(self, header):
        """Return (key or None, ApiError or None) for an Authorization header value."""
        if not header:
            return None, ApiError(2001, "authentication failed: missing credentials")
        parts = header.strip().split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "basic":
            return None, ApiError(2001, "authentication failed: invalid token")
        try:
            decoded = base64.b64decode(parts[1].strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None, ApiError(2001, "authentication failed: invalid token")
        key, sep, secret = decoded.partition(":")
        if not sep:
            return None, ApiError(2001, "authentication failed: invalid token")
        if key == DISABLED_KEY:
            return key, ApiError(2002, "authentication failed: token expired or disabled")
        if key == NOPERM_KEY:
            return key, ApiError(2004, "no permission to call this API")
        ok = hmac.compare_digest(key.encode(), self.dev_key.encode()) and \
            hmac.compare_digest(secret.encode(), self.dev_secret.encode())
        if not ok:
            return key, ApiError(2001, "authentication failed: invalid token")
        return key, None

    # -- sending -------------------------------------------------------------

    def _template_for_send_locked(self, body, to_list):
        """Common validation of a send request.  Returns (template, language, params, channel)."""
        tref = body.get("template")
        if not isinstance(tref, dict):
            _bad("template", "required object")
        tid = tref.get("id")
        if not isinstance(tid, str) or not tid:
            _bad("template.id", "required string")
        language = tref.get("language", "default")
        if not isinstance(language, str) or language not in LANGUAGES:
            _bad("template.language", "must be one of " + ", ".join(LANGUAGES))
        params = tref.get("params", {})
        if not is_str_map(params):
            _bad("template.params", "must be an object whose values are strings")
        tpl = self.templates.get(tid)
        if tpl is None:
            raise ApiError(4001, "config not exist")
        if tpl.get("status") != 2:
            raise ApiError(3003, "template not approved")
        chans = tpl["send_channel_strategy"].split("|")
        for to in to_list:
            if "@" in to and "email" not in chans:
                _bad("to", "email address but the template has no email channel")
            if "@" not in to and chans == ["email"]:
                _bad("to", "phone number but the template only has the email channel")
        for to in to_list:
            if to in MAGIC_RECIPIENTS:
                raise ApiError(*MAGIC_RECIPIENTS[to])
        return tpl, language, params, chans[0]

    def _check_3004_locked(self, tid, to, now):
        mid = self.slots.get((tid, to))
        m = self.messages.get(mid) if mid else None
        if m and not m["verified"] and now < m["expires"]:
            raise ApiError(3004, "cannot resend to the same template and target user "
                                 "within the OTP validity period")

    def _deliver_locked(self, endpoint, to_list, tpl, language, params, channel, code,
                        verifiable, holds_slot, now):
        """Record one message and write one outbox line per recipient."""
        mid = self._new_id_locked()
        ttl = tpl.get("verify_code_config", {}).get("verify_code_ttl", 5)
        self.messages[mid] = {
            "message_id": mid, "endpoint": endpoint, "to": to_list[0] if len(to_list) == 1 else list(to_list),
            "template": tpl["template_id"], "channel": channel, "code": code,
            "created": now, "expires": now + 60 * ttl,
            "verifiable": verifiable, "verified": False, "verify_attempts": 0,
        }
        if holds_slot:
            self.slots[(tpl["template_id"], to_list[0])] = mid
        for to in to_list:
            line = {"time": now, "endpoint": endpoint, "message_id": mid, "to": to}
            if code is not None:
                line["code"] = code
            line.update({"template": tpl["template_id"], "language": language,
                         "params": params, "channel": channel,
                         "text": render_text(tpl, channel, code, params, language)})
            self.outbox.write(line)
        return {"message_id": mid, "send_channel": channel}

    @staticmethod
    def _check_to(to):
        if not isinstance(to, str) or not (PHONE_RE.match(to) or EMAIL_RE.match(to)):
            _bad("to", "required string: E.164 phone number (+ and 6-15 digits) or email address")

    def send_otp(self, body):
        """POST /v1/messages: the platform generates, stores and delivers a code."""
        to = body.get("to")
        self._check_to(to)
        with self.lock:
            tpl, language, params, channel = self._template_for_send_locked(body, [to])
            vcc = tpl.get("verify_code_config")
            if not vcc:
                raise ApiError(3003, "template has no verification code config")
            now = self.now()
            self._check_3004_locked(tpl["template_id"], to, now)
            code = generate_code(vcc["verify_code_type"], vcc["verify_code_len"])
            return self._deliver_locked("/v1/messages", [to], tpl, language, params, channel,
                                        code, verifiable=True, holds_slot=True, now=now)

    def send_code(self, body):
        """POST /v1/codes: deliver the caller's code as is.

        SPEC-SILENT: the docs say codes sent here need no verification API, so such a
        message_id is NOT verifiable: /v1/verifications answers 4001 for it.
        SPEC-SILENT: whether 3004 applies here is unknown; config "codes_3004" (default
        false) decides.  When true, a /v1/codes send both checks and takes the
        (template, to) slot shared with /v1/messages, for the template's TTL.
        """
        to = body.get("to")
        self._check_to(to)
        code = body.get("code")
        if not isinstance(code, str) or not 1 <= len(code) <= 32:
            _bad("code", "required non-empty string of at most 32 characters")
        with self.lock:
            tpl, language, params, channel = self._template_for_send_locked(body, [to])
            now = self.now()
            use_3004 = bool(self.config.get("codes_3004"))
            if use_3004:
                self._check_3004_locked(tpl["template_id"], to, now)
            return self._deliver_locked("/v1/codes", [to], tpl, language, params, channel,
                                        code, verifiable=False, holds_slot=use_3004, now=now)

    def send_custom(self, body):
        """POST /v1/custom-messages.

        SPEC-SILENT: `to` may be a string or an array of strings (the SKILL's form); an
        array gets ONE message_id and one outbox line per recipient.  The 3004 rule does
        not apply here.  A verification-code template without params.code -> 3002.
        """
        to = body.get("to")
        if isinstance(to, list):
            if not to:
                _bad("to", "must not be an empty array")
            to_list = to
        else:
            to_list = [to]
        for t in to_list:
            self._check_to(t)
        with self.lock:
            tpl, language, params, channel = self._template_for_send_locked(body, to_list)
            code = params.get("code")
            if tpl.get("verify_code_config") and not code:
                _bad("template.params.code", "params.code required")
            return self._deliver_locked("/v1/custom-messages", to_list, tpl, language, params,
                                        channel, code, verifiable=False, holds_slot=False,
                                        now=self.now())

    def verify(self, body):
        """POST /v1/verifications.  No server-side limit on wrong attempts."""
        mid = body.get("message_id")
        vcode = body.get("verify_code")
        if not isinstance(mid, str) or not mid:
            _bad("message_id", "required string")
        if not isinstance(vcode, str) or not vcode:
            _bad("verify_code", "required string")
        with self.lock:
            m = self.messages.get(mid)
            if m is None or not m["verifiable"]:
                raise ApiError(4001, "message not exist")
            if m["verified"]:
                raise ApiError(3003, "code already verified")
            if self.now() >= m["expires"]:
                raise ApiError(3003, "code expired")
            m["verify_attempts"] += 1
            ok = hmac.compare_digest(vcode.encode("utf-8"), m["code"].encode("utf-8"))
            if ok:
                m["verified"] = True
            return {"message_id": mid, "verify_code": vcode, "verified": ok}

    # -- templates -------------------------------------------------------------

    def list_templates(self):
        with self.lock:
            return [template_summary(t) for t in self.templates.values()]

    def get_template(self, tid):
        with self.lock:
            t = self.templates.get(tid)
            if t is None:
                raise ApiError(4001, "config not exist")
            return copy.deepcopy(t)

    def create_template(self, body):
        tpl = validate_template(body)
        with self.lock:
            if tpl["template_id"] in self.templates:
                # SPEC-SILENT: the docs give no code for a duplicate id; 3003 is used.
                raise ApiError(3003, "template already exists")
            tpl["created_time"] = int(self.now())
            tpl["status"] = 1          # Pending review; see /__mock/template-status
            tpl["audit_remark"] = ""
            self.templates[tpl["template_id"]] = tpl
        return {"code": 0, "message": "success"}

    def delete_template(self, tid):
        with self.lock:
            if tid not in self.templates:
                raise ApiError(4001, "config not exist")
            del self.templates[tid]
        return {"code": 0, "message": "success"}

    # -- debugging ---------------------------------------------------------------

    def dump(self):
        with self.lock:
            now = self.now()
            msgs = [{"message_id": m["message_id"], "endpoint": m["endpoint"], "to": m["to"],
                     "template": m["template"], "channel": m["channel"],
                     "verifiable": m["verifiable"], "verified": m["verified"],
                     "expired": now >= m["expires"], "verify_attempts": m["verify_attempts"]}
                    for m in self.messages.values()]
            return {"now": now, "clock_offset": self.clock_offset, "config": dict(self.config),
                    "faults": [dict(f) for f in self.faults],
                    "templates": sorted(self.templates), "messages": msgs}


# ---------------------------------------------------------------------------
# HTTP layer
# ---------------------------------------------------------------------------

# (method, regex, handler name); template ids in the path are URL-decoded.
ROUTES = [
    ("POST", re.compile(r"^/v1/messages$"), "api_send_otp"),
    ("POST", re.compile(r"^/v1/codes$"), "api_send_code"),
    ("POST", re.compile(r"^/v1/verifications$"), "api_verify"),
    ("POST", re.compile(r"^/v1/custom-messages$"), "api_send_custom"),
    ("GET", re.compile(r"^/v1/template-configs$"), "api_list_templates"),
    ("POST", re.compile(r"^/v1/template-configs$"), "api_create_template"),
    ("GET", re.compile(r"^/v1/template-configs/([^/]+)$"), "api_get_template"),
    ("DELETE", re.compile(r"^/v1/template-configs/([^/]+)$"), "api_delete_template"),
]


class BodyError(Exception):
    """The request body could not be read (bad framing or too large)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "engagelab-mock/1.0"

    def version_string(self):
        return self.server_version

    # -- plumbing ------------------------------------------------------------

    @property
    def state(self):
        return self.server.state

    def setup(self):
        self.timeout = self.server.idle_timeout
        super().setup()

    def handle(self):
        try:
            super().handle()
        except (OSError, ssl.SSLError):
            # Client went away mid-request, or a deliberate reset; nothing to report.
            self.close_connection = True

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("mock: %s - %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def _read_body(self):
        """Read the whole request body (Content-Length or chunked) so keep-alive stays in sync."""
        te = self.headers.get("Transfer-Encoding", "")
        if te:
            if te.strip().lower() != "chunked":
                raise BodyError(501, "unsupported transfer-encoding")
            chunks, total = [], 0
            for _ in range(100000):
                line = self.rfile.readline(1024)
                if not line:
                    raise BodyError(400, "truncated chunked body")
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise BodyError(400, "bad chunk size")
                if size == 0:
                    # Trailers until an empty line.
                    for _ in range(100):
                        t = self.rfile.readline(1024)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return b"".join(chunks)
                total += size
                if total > MAX_REQUEST_BODY:
                    raise BodyError(413, "request body too large")
                data = self.rfile.read(size)
                self.rfile.readline(16)
                if len(data) != size:
                    raise BodyError(400, "truncated chunked body")
                chunks.append(data)
            raise BodyError(400, "too many chunks")
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl)
        except ValueError:
            raise BodyError(400, "bad Content-Length")
        if n < 0:
            raise BodyError(400, "bad Content-Length")
        if n > MAX_REQUEST_BODY:
            raise BodyError(413, "request body too large")
        data = self.rfile.read(n)
        if len(data) != n:
            raise BodyError(400, "truncated body")
        return data

    def _send(self, status, body, content_type="application/json", headers=()):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        # Like end_headers(), but headers and body go out in one write (one TLS record).
        buf = getattr(self, "_headers_buffer", [])     # absent for HTTP/0.9 requests
        data = b"".join(buf) + b"\r\n" if buf else b""
        self._headers_buffer = []
        self.wfile.write(data + body)

    def _send_json(self, status, obj):
        self._send(status, json.dumps(obj, ensure_ascii=False, separators=(",", ":")))

    def _send_api_error(self, err):
        self._send_json(err.http, {"code": err.code, "message": err.message})

    # -- dispatch --------------------------------------------------------------

    def _dispatch(self, method):
        path = urllib.parse.urlsplit(self.path).path
        try:
            raw = self._read_body()
        except BodyError as e:
            self.close_connection = True
            if path.startswith("/__mock/"):
                self._send_json(e.status, {"error": str(e)})
            else:
                self._send_json(e.status, {"code": 3001, "message": str(e)})
            return
        if path.startswith("/__mock/"):
            self._control(method, path, raw)
        else:
            self._api(method, path, raw)

    def _api(self, method, path, raw):
        st = self.state
        key, auth_err = st.check_auth(self.headers.get("Authorization"))

        # Decode the body once: parsed JSON, else raw text, else None (empty).
        parsed, parse_ok = None, False
        if raw:
            try:
                parsed = json.loads(raw.decode("utf-8"))
                parse_ok = True
            except (UnicodeDecodeError, ValueError):
                parsed = raw.decode("utf-8", errors="replace")

        fault = st.take_fault(path)
        with st.lock:
            now = st.now()
            st.request_log.write({
                "time": now, "method": method, "path": path, "query": urllib.parse.urlsplit(self.path).query,
                "auth_ok": auth_err is None, "key": key,
                "content_type": self.headers.get("Content-Type"),
                "body": parsed, "fault": fault["mode"] if fault else None,
            })

        numeric_id = False
        if fault:
            if fault.get("delay_ms"):
                self._sleep(fault["delay_ms"] / 1000.0)
            if fault["mode"] not in ("slow", "numeric_id"):
                self._apply_fault(fault, path)
                return
            numeric_id = fault["mode"] == "numeric_id"

        # Normal processing.
        route_args, allowed = None, False
        for m, rx, name in ROUTES:
            mt = rx.match(path)
            if mt:
                allowed = True
                if m == method:
                    route_args = (name, [urllib.parse.unquote(g) for g in mt.groups()])
                    break
        if route_args is None:
            if allowed:
                self._send_json(405, {"code": 3002, "message": "method not allowed"})
            else:
                self._send_json(404, {"code": 3002, "message": "not found"})
            return
        if auth_err:
            self._send_api_error(auth_err)
            return
        name, args = route_args
        try:
            if method in ("POST", "PUT", "PATCH"):
                if not parse_ok:
                    raise ApiError(3001, "invalid request body: not valid JSON")
                if not isinstance(parsed, dict):
                    raise ApiError(3002, "request body must be a JSON object")
                result = getattr(self, name)(parsed, *args)
            else:
                result = getattr(self, name)(*args)
        except ApiError as e:
            self._send_api_error(e)
            return

        if numeric_id and isinstance(result, dict) and "message_id" in result:
            # The id as a bare JSON number (Python ints are exact); the real id stays valid.
            result = dict(result, message_id=int(result["message_id"]))
        self._send_json(200, result)

    def _sleep(self, seconds):
        STOPPING.wait(min(seconds, BLACKHOLE_MAX_SECONDS))

    # -- API endpoints -----------------------------------------------------------

    def api_send_otp(self, body):
        return self.state.send_otp(body)

    def api_send_code(self, body):
        return self.state.send_code(body)

    def api_send_custom(self, body):
        return self.state.send_custom(body)

    def api_verify(self, body):
        return self.state.verify(body)

    def api_list_templates(self):
        return self.state.list_templates()

    def api_get_template(self, tid):
        return self.state.get_template(tid)

    def api_create_template(self, body):
        return self.state.create_template(body)

    def api_delete_template(self, tid):
        return self.state.delete_template(tid)

    # -- faults ------------------------------------------------------------------

    def _apply_fault(self, fault, path):
        mode = fault["mode"]
        if mode == "status500":
            self._send_json(500, {"code": 1000, "message": "internal error"})
        elif mode == "status503_html":
            self._send(503, "<html><head><title>503 Service Temporarily Unavailable</title></head>"
                            "<body><h1>503 Service Temporarily Unavailable</h1></body></html>\n",
                       content_type="text/html")
        elif mode == "blackhole":
            self._blackhole()
        elif mode == "reset":
            self._reset_connection()
        elif mode == "garbage":
            self._send(200, "<html>not json</html>")
        elif mode == "huge":
            pad = HUGE_BODY_SIZE - 32
            self._send(200, b'{"padding":"' + b"x" * pad + b'"}')
        elif mode == "incomplete":
            self._send_json(200, {"result": "ok"})
        elif mode == "wrong_types":
            self._send(200, '{"message_id":1725407449772531712,"send_channel":1,'
                            '"verify_code":123456,"verified":"true"}')
        elif mode == "redirect":
            self._send(302, b"", headers=[("Location", f"https://127.0.0.1:{self.state.port}{path}")])
        elif mode == "truncated":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"message_id":"17254074497')
            self.wfile.flush()
            self.close_connection = True
            self.connection.close()
        elif mode == "control_chars":
            self._send_json(400, {"code": 5001, "message": "bad\u001b[31m thing\r\nInjected: yes"})
        elif mode == "non_utf8":
            self._send(400, b'{"code":5001,"message":"bad \xff\xfe\xc3\x28 thing"}',
                       content_type="application/json; charset=utf-8")
        elif mode == "error_code":
            code = fault["code"]
            self._send_json(fault.get("http") or http_status_for(code),
                            {"code": code, "message": f"injected error {code}"})
        else:  # pragma: no cover - validated at /__mock/fault
            self._send_json(500, {"code": 1000, "message": f"unknown fault {mode}"})

    def _blackhole(self):
        """Never answer; return when the client disconnects (or after 300 s / on shutdown)."""
        self.close_connection = True
        sock = self.connection
        deadline = time.monotonic() + BLACKHOLE_MAX_SECONDS
        while not STOPPING.is_set() and time.monotonic() < deadline:
            try:
                readable = sock.pending() > 0 or select.select([sock], [], [], 0.25)[0]
            except (OSError, ValueError):
                return
            if not readable:
                continue
            try:
                data = sock.recv(65536)
            except (ssl.SSLWantReadError, TimeoutError):
                continue
            except (OSError, ssl.SSLError):
                return
            if not data:
                return

    def _reset_connection(self):
        """Abort the TCP connection with RST (SO_LINGER on, timeout 0), no answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.connection.close()

    # -- control endpoints ---------------------------------------------------------

    def _control(self, method, path, raw):
        st = self.state
        body = {}
        if raw:
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                self._send_json(400, {"error": "body is not valid JSON"})
                return
            if not isinstance(body, dict):
                self._send_json(400, {"error": "body must be a JSON object"})
                return
        try:
            if method == "GET" and path == "/__mock/state":
                self._send_json(200, st.dump())
            elif method == "POST" and path == "/__mock/fault":
                fault = self._control_fault(body)
                st.add_fault(fault)
                self._send_json(200, {"ok": True, "fault": fault})
            elif method == "POST" and path == "/__mock/clock":
                adv = body.get("advance")
                if not isinstance(adv, (int, float)) or isinstance(adv, bool) or adv < 0 or adv > 10 ** 8:
                    raise ValueError("advance: non-negative number of seconds required")
                with st.lock:
                    st.clock_offset += adv
                    out = {"ok": True, "clock_offset": st.clock_offset, "now": st.now()}
                self._send_json(200, out)
            elif method == "POST" and path == "/__mock/config":
                with st.lock:
                    for k, v in body.items():
                        if k != "codes_3004" or not isinstance(v, bool):
                            raise ValueError(f"unknown config key or bad value: {k}")
                    st.config.update(body)
                    out = {"ok": True, "config": dict(st.config)}
                self._send_json(200, out)
            elif method == "POST" and path == "/__mock/reset":
                st.reset()
                self._send_json(200, {"ok": True})
            elif method == "POST" and path == "/__mock/template-status":
                tid, status = body.get("template_id"), body.get("status")
                if status not in (1, 2, 3) or isinstance(status, bool):
                    raise ValueError("status: 1, 2 or 3 required")
                remark = body.get("audit_remark", "")
                if not isinstance(remark, str):
                    raise ValueError("audit_remark: string required")
                with st.lock:
                    if tid not in st.templates:
                        raise ValueError("unknown template_id")
                    st.templates[tid]["status"] = status
                    st.templates[tid]["audit_remark"] = remark
                self._send_json(200, {"ok": True})
            else:
                self._send_json(404, {"error": "unknown control endpoint"})
        except ValueError as e:
            self._send_json(400, {"error": str(e)})

    @staticmethod
    def _control_fault(body):
        mode = body.get("mode")
        if mode not in FAULT_MODES:
            raise ValueError("mode: one of " + ", ".join(FAULT_MODES))
        path = body.get("path")
        if path is not None and (not isinstance(path, str) or not path.startswith("/")):
            raise ValueError("path: must start with /")
        count = body.get("count")
        if count is not None and (not is_int(count) or count < 1):
            raise ValueError("count: positive integer required")
        delay = body.get("delay_ms")
        if delay is not None and (not is_int(delay) or not 0 <= delay <= 300000):
            raise ValueError("delay_ms: integer 0-300000 required")
        if mode == "slow" and delay is None:
            delay = 1000
        fault = {"mode": mode, "path": path, "count": count, "delay_ms": delay}
        if mode == "error_code":
            code = body.get("code")
            if not is_int(code):
                raise ValueError("code: integer required for error_code")
            http = body.get("http")
            if http is not None and (not is_int(http) or not 100 <= http <= 599):
                raise ValueError("http: status 100-599 required")
            fault.update(code=code, http=http)
        return fault


class MockServer(http.server.ThreadingHTTPServer):
    """ThreadingHTTPServer whose TLS handshake runs in the per-connection thread.

    Wrapping in finish_request (not around the listening socket) means a client that
    connects and never completes the handshake cannot stall the accept loop.
    """

    daemon_threads = True
    block_on_close = False        # do not wait for blackholed / idle connections at exit
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, addr, ssl_context, state, idle_timeout, verbose):
        self.ssl_context = ssl_context
        self.state = state
        self.idle_timeout = idle_timeout
        self.verbose = verbose
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            # Small writes must not wait for delayed ACKs (Nagle): keeps loopback fast.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as e:
            if self.verbose:
                sys.stderr.write(f"mock: TLS handshake from {client_address[0]} failed: {e}\n")
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def write_port_file(path, port):
    """Write the port atomically: readers see either no file or the complete number."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cert", required=True, help="server certificate (PEM)")
    ap.add_argument("--key", required=True, help="server private key (PEM)")
    ap.add_argument("--host", default="127.0.0.1", help="bind address (loopback only)")
    ap.add_argument("--port", type=int, default=0, help="0 = ephemeral")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--outbox", help="JSON-lines file of delivered messages")
    ap.add_argument("--request-log", help="JSON-lines file of API requests")
    ap.add_argument("--dev-key", default="test-key")
    ap.add_argument("--dev-secret", default="test-secret")
    ap.add_argument("--idle-timeout", type=float, default=60.0,
                    help="seconds an idle keep-alive connection is kept open")
    ap.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = ap.parse_args(argv)

    if args.host not in ("127.0.0.1", "::1", "localhost"):
        ap.error("--host must be a loopback address")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])

    state = MockState(args.dev_key, args.dev_secret, args.outbox, args.request_log)
    if ":" in args.host:
        MockServer.address_family = socket.AF_INET6
    server = MockServer((args.host, args.port), ctx, state, args.idle_timeout, args.verbose)
    state.port = server.server_address[1]

    stop = threading.Event()

    def on_signal(signum, frame):
        STOPPING.set()
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                         name="serve", daemon=True)
    t.start()
    if args.port_file:
        write_port_file(args.port_file, state.port)
    if args.verbose:
        sys.stderr.write(f"mock: listening on https://{args.host}:{state.port}\n")

    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    state.outbox.close()
    state.request_log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
