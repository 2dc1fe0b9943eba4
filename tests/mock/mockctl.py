#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Control client for mock_engagelab.py (Python 3 standard library only).

Server commands (need --url and --ca, or $MOCK_URL and $MOCK_CA):
  fault MODE [--path P] [--count N] [--delay-ms N] [--code N] [--http S]
  clock SECONDS                      advance the mock clock
  config --codes-3004 yes|no
  template-status ID STATUS [--remark TEXT]   simulate the review of a template
  reset
  state                              print the state dump (JSON)
  ping                               exit 0 if the mock answers over TLS

File commands (no server needed):
  code --outbox F --to DEST [--after-line N] [--wait SECONDS]
        print the code of the latest delivery to DEST (lines after the first N only),
        waiting up to SECONDS for one to appear; exit 1 if none
  count --outbox F [--to DEST] [--after-line N]      print the number of deliveries
  requests --log F [--path P] [--after-line N]       print the number of API requests

Exit status: 0 success, 1 failure (HTTP error, nothing found), 2 usage error.
"""

import argparse
import http.client
import json
import os
import ssl
import sys
import time
import urllib.parse

TIMEOUT = 10


def read_lines(path, after_line=0):
    """Parsed JSON objects of the complete lines of a JSON-lines file, skipping the first N."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")[:-1]   # a last line without "\n" is still being written
    out = []
    for raw in lines[after_line:]:
        try:
            out.append(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, ValueError):
            continue
    return out


def call(args, method, path, body=None):
    """One request to the mock; returns (status, parsed JSON or text)."""
    if not args.url or not args.ca:
        sys.exit("mockctl: --url and --ca (or MOCK_URL and MOCK_CA) are required")
    u = urllib.parse.urlsplit(args.url)
    ctx = ssl.create_default_context(cafile=args.ca)
    conn = http.client.HTTPSConnection(u.hostname, u.port or 443, context=ctx, timeout=TIMEOUT)
    try:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(raw)
    except ValueError:
        return resp.status, raw.decode("utf-8", errors="replace")


def show(status, result, pretty=False):
    print(json.dumps(result, indent=2 if pretty else None, sort_keys=pretty))
    return 0 if status == 200 else 1


def cmd_fault(args):
    body = {"mode": args.mode}
    if args.path:
        body["path"] = args.path
    if args.count is not None:
        body["count"] = args.count
    if args.delay_ms is not None:
        body["delay_ms"] = args.delay_ms
    if args.code is not None:
        body["code"] = args.code
    if args.http is not None:
        body["http"] = args.http
    return show(*call(args, "POST", "/__mock/fault", body))


def cmd_clock(args):
    return show(*call(args, "POST", "/__mock/clock", {"advance": args.seconds}))


def cmd_config(args):
    return show(*call(args, "POST", "/__mock/config", {"codes_3004": args.codes_3004 == "yes"}))


def cmd_template_status(args):
    return show(*call(args, "POST", "/__mock/template-status",
                      {"template_id": args.id, "status": args.status, "audit_remark": args.remark}))


def cmd_reset(args):
    return show(*call(args, "POST", "/__mock/reset", {}))


def cmd_state(args):
    return show(*call(args, "GET", "/__mock/state"), pretty=True)


def cmd_ping(args):
    try:
        status, _ = call(args, "GET", "/__mock/state")
    except (OSError, http.client.HTTPException):
        return 1
    return 0 if status == 200 else 1


def cmd_code(args):
    deadline = time.monotonic() + max(0.0, args.wait)
    while True:
        codes = [r["code"] for r in read_lines(args.outbox, args.after_line)
                 if r.get("to") == args.to and isinstance(r.get("code"), str)]
        if codes:
            print(codes[-1])
            return 0
        if time.monotonic() >= deadline:
            print(f"mockctl: no code delivered to {args.to}", file=sys.stderr)
            return 1
        time.sleep(0.05)


def cmd_count(args):
    rows = read_lines(args.outbox, args.after_line)
    if args.to is not None:
        rows = [r for r in rows if r.get("to") == args.to]
    print(len(rows))
    return 0


def cmd_requests(args):
    rows = read_lines(args.log, args.after_line)
    if args.path is not None:
        rows = [r for r in rows if r.get("path") == args.path]
    print(len(rows))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="mockctl.py", description="control the EngageLab mock",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--url", default=os.environ.get("MOCK_URL"), help="https://127.0.0.1:PORT")
    ap.add_argument("--ca", default=os.environ.get("MOCK_CA"), help="CA certificate (PEM)")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("fault")
    p.add_argument("mode")
    p.add_argument("--path")
    p.add_argument("--count", type=int)
    p.add_argument("--delay-ms", type=int)
    p.add_argument("--code", type=int)
    p.add_argument("--http", type=int)
    p.set_defaults(func=cmd_fault)

    p = sub.add_parser("clock")
    p.add_argument("seconds", type=float)
    p.set_defaults(func=cmd_clock)

    p = sub.add_parser("config")
    p.add_argument("--codes-3004", choices=("yes", "no"), required=True)
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("template-status")
    p.add_argument("id")
    p.add_argument("status", type=int, choices=(1, 2, 3))
    p.add_argument("--remark", default="")
    p.set_defaults(func=cmd_template_status)

    sub.add_parser("reset").set_defaults(func=cmd_reset)
    sub.add_parser("state").set_defaults(func=cmd_state)
    sub.add_parser("ping").set_defaults(func=cmd_ping)

    p = sub.add_parser("code")
    p.add_argument("--outbox", required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--after-line", type=int, default=0)
    p.add_argument("--wait", type=float, default=0.0)
    p.set_defaults(func=cmd_code)

    p = sub.add_parser("count")
    p.add_argument("--outbox", required=True)
    p.add_argument("--to")
    p.add_argument("--after-line", type=int, default=0)
    p.set_defaults(func=cmd_count)

    p = sub.add_parser("requests")
    p.add_argument("--log", required=True)
    p.add_argument("--path")
    p.add_argument("--after-line", type=int, default=0)
    p.set_defaults(func=cmd_requests)

    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except (OSError, http.client.HTTPException) as e:
        print(f"mockctl: {args.cmd}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
