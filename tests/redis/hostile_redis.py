#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A hostile Redis for tests/redis/test_redis.sh: it speaks RESP on a
loopback port and answers every script call in the shape the module
expects, with lies in it.

  hostile_redis.py PORTFILE MODE [VALUE]

MODE right: every local-code comparison ("ccmp") is "right", every hash
read ("hget") returns VALUE (default empty).  MODE pend: the same, for a
platform login: "hget" returns VALUE, a forged pending-code record.
The port it bound is written to PORTFILE.  It stops when killed."""
import socket
import sys
import time


def read_cmd(f):
    line = f.readline()
    if not line:
        return None
    if line[:1] != b"*":
        return None
    args = []
    for _ in range(int(line[1:])):
        n = int(f.readline()[1:])
        args.append(f.read(n + 2)[:-2])
    return args


def bulk(s):
    s = s.encode() if isinstance(s, str) else s
    return b"$%d\r\n%s\r\n" % (len(s), s)


def integer(i):
    return b":%d\r\n" % i


def script_reply(args, value):
    nkeys = int(args[2])
    argv = args[3 + nkeys:]
    out = [bulk("ok"), integer(0), integer(0), integer(0)]
    for i in range(len(argv) // 6):
        op = argv[i * 6].decode()
        if op == "ccmp":
            out.append(bulk("right"))
        elif op == "hget":
            out.append(bulk(value))
        elif op in ("get", "cfind"):
            out.append(bulk(""))
        else:
            out.append(integer(0))
    out.append(integer(int(time.time() * 1000)))
    return b"*%d\r\n" % len(out) + b"".join(out)


def main():
    portfile, _mode = sys.argv[1], sys.argv[2]
    value = sys.argv[3] if len(sys.argv) > 3 else ""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    import os
    os.rename(portfile + ".tmp", portfile)
    while True:
        c, _ = srv.accept()
        f = c.makefile("rb")
        while True:
            a = read_cmd(f)
            if a is None:
                break
            cmd = a[0].upper()
            if cmd in (b"EVALSHA", b"EVAL"):
                c.sendall(script_reply(a, value))
            elif cmd == b"ROLE":
                c.sendall(b"*3\r\n" + bulk("master") + integer(0) + b"*0\r\n")
            elif cmd == b"SCRIPT":
                c.sendall(bulk("0" * 40))
            else:
                c.sendall(b"+OK\r\n")
        c.close()


if __name__ == "__main__":
    main()
