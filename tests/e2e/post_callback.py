#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Post one signed EngageLab status callback, as EngageLab would, for the
message the mock sent last (read from the mock's outbox).

  post_callback.py URL USERNAME SECRET_FILE OUTBOX STATUS [AGE [CHANNEL]]

AGE: seconds ago the status happened (itime), default 0.  CHANNEL: the
row's current_send_channel, default sms.  Exit 0 on a 200, 1 otherwise.
"""
import hashlib
import hmac
import json
import secrets
import sys
import time
import urllib.error
import urllib.request


def main(argv):
    if len(argv) < 6 or len(argv) > 8:
        print(__doc__, file=sys.stderr)
        return 2
    url, user, secret_file, outbox, status = argv[1:6]
    age = int(argv[6]) if len(argv) > 6 else 0
    channel = argv[7] if len(argv) > 7 else "sms"
    with open(secret_file, "rb") as f:
        secret = f.read().strip()
    with open(outbox) as f:
        mid = json.loads(f.read().splitlines()[-1])["message_id"]
    now = int(time.time())
    ts, nonce = str(now), secrets.token_hex(8)
    sig = hmac.new(secret, (ts + nonce + user).encode(),
                   hashlib.sha256).hexdigest()
    failed = "fail" in status or "invalid" in status
    row = {"message_id": mid, "to": "+6500000000", "server": "sms",
           "channel": "sms", "itime": now - age,
           "status": {"message_status": status,
                      "status_data": {"msg_time": now - age,
                                      "message_id": mid,
                                      "current_send_channel": channel},
                      "error_code": 4001 if failed else 0}}
    body = json.dumps({"total": 1, "rows": [row]}).encode()
    header = "timestamp=%s;nonce=%s;username=%s;signature=%s" % (
        ts, nonce, user, sig)
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-CALLBACK-ID": header})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            code = r.status
    except urllib.error.HTTPError as e:
        code = e.code
    print("posted message_id=%s status=%s http=%d" % (mid, status, code))
    return 0 if code == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
