#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Do the SELinux file contexts (.fc) and an installed tree agree?

Usage: fc_check.py FC_FILE LISTING [OPTIONAL_PATH ...]

LISTING: a file of "TYPE PATH" lines (TYPE f for a file, d for a
directory), the paths one installation puts on the system.  Every .fc
entry must match at least one listed path of its file type (-- a file,
-d a directory, none: any), except OPTIONAL_PATHs (files the package
does not install, such as the rescue file, created later by the admin
tool); and every listed path under /etc/security or
/var/lib/pam_engagelab_otp must be matched by an entry.  Prints
"ok - ..." / "not ok - ..." lines; exit status 1 on a failure.
"""
import re
import sys

OURS = re.compile(r"^(/etc/security/|/var/lib/pam_engagelab_otp(/|$))")


def main():
    fc_file, listing = sys.argv[1], sys.argv[2]
    optional = set(sys.argv[3:])
    entries = []
    for line in open(fc_file):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        f = s.split()
        kind = f[1] if len(f) == 3 else None
        entries.append((f[0], re.compile(f[0] + r"\Z"), kind))
    paths = []
    for line in open(listing):
        if line.strip():
            t, p = line.split(None, 1)
            paths.append((t, p.strip()))
    failed = 0

    def fits(kind, t):
        return kind is None or (kind == "--" and t == "f") or (kind == "-d" and t == "d")

    for src, rx, kind in entries:
        hit = [p for t, p in paths if rx.match(p) and fits(kind, t)]
        plain = src.replace("\\", "")
        if hit:
            print("ok - .fc %s matches an installed path (%s)" % (src, hit[0]))
        elif plain in optional:
            print("ok - .fc %s: not installed by the package (created later)" % src)
        else:
            print("not ok - .fc %s matches no installed path" % src)
            failed += 1
    for t, p in paths:
        if not OURS.match(p):
            continue
        if any(rx.match(p) and fits(kind, t) for _, rx, kind in entries):
            print("ok - installed %s has a file context" % p)
        else:
            print("not ok - installed %s has no file context in %s" % (p, fc_file))
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
