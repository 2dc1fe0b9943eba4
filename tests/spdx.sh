#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# tests/spdx.sh [--check | --fix | --list]: every source file tracked by git
# carries "SPDX-License-Identifier: Apache-2.0" in its first five lines.
#
#   --check  (default) list the files without it; exit 1 if there are any
#   --fix    add it, as a comment in the file's own syntax, and list them
#   --list   print every file the rule applies to, with its comment style
#
# Where the line goes: after a "#!" line, else first.  The comment:
#   /* ... */     C sources and headers, linker version scripts (.map)
#   .\" ...       man pages (.1 to .8)
#   # ...         everything else: shell, Python, Makefile, spec, config
#                 samples, PAM stacks, SELinux .te/.if/.fc, YAML, TOML...
#
# Exempt (no comment syntax, or not source), each with its reason:
#   LICENSE, *.md                 the licence text; documentation
#   tests/fuzz/corpus/*           fuzzer inputs: data, byte for byte
#   *.json *.pem *.crt *.key *.der *.bin   data without comments
#   packaging/debian/changelog, source/format, copyright
#                                 formats without comments (copyright
#                                 states the licence itself)
#   packaging/debian/pam-configs/* pam-auth-update reads every line as a field
#   packaging/authselect/*/README  authselect reads line 1 as the profile name
#
# Run by tests/lint.sh ("make lint").  After merging branches that add
# files, "tests/spdx.sh --fix" and commit the result on its own.
set -u
cd "$(dirname "$0")/.."
ID="SPDX-License-Identifier: Apache-2.0"
mode=${1:---check}
case "$mode" in
--check | --fix | --list) ;;
*)
    sed -n '3,10s/^# \{0,1\}//p' "$0" >&2
    exit 2
    ;;
esac

exempt() {
    case "$1" in
    LICENSE | *.md) return 0 ;;
    tests/fuzz/corpus/*) return 0 ;;
    *.json | *.pem | *.crt | *.key | *.der | *.bin) return 0 ;;
    packaging/debian/changelog | packaging/debian/source/format | \
        packaging/debian/copyright) return 0 ;;
    packaging/debian/pam-configs/*) return 0 ;;
    packaging/authselect/*/README) return 0 ;;
    esac
    return 1
}

style() {
    case "$1" in
    *.c | *.h | *.map) echo c ;;
    *.[1-8]) echo roff ;;
    *) echo hash ;;
    esac
}

comment() {
    case "$1" in
    c) printf '/* %s */\n' "$ID" ;;
    roff) printf '.\\" %s\n' "$ID" ;;
    hash) printf '# %s\n' "$ID" ;;
    esac
}

missing=0
while IFS= read -r -d '' f; do
    [ -f "$f" ] || continue
    exempt "$f" && continue
    s=$(style "$f")
    if [ "$mode" = --list ]; then
        printf '%-5s %s\n' "$s" "$f"
        continue
    fi
    head -n 5 "$f" | grep -qF "$ID" && continue
    missing=$((missing + 1))
    if [ "$mode" = --fix ]; then
        tmp=$(mktemp "$f.spdx.XXXXXX")
        if head -n 1 "$f" | grep -q '^#!'; then
            { head -n 1 "$f"; comment "$s"; tail -n +2 "$f"; } >"$tmp"
        else
            { comment "$s"; cat "$f"; } >"$tmp"
        fi
        chmod --reference="$f" "$tmp"
        mv "$tmp" "$f"
        printf 'added: %s\n' "$f"
    else
        printf 'missing: %s\n' "$f"
    fi
done < <(git ls-files -z)

if [ "$mode" = --check ] && [ "$missing" -gt 0 ]; then
    printf '%d file(s) without "%s" (tests/spdx.sh --fix adds it)\n' "$missing" "$ID"
    exit 1
fi
exit 0
