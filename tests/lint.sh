#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make lint: cppcheck, clang-tidy, the banned-function check and the
# clang-format check over src/ and the verification code (tests/fuzz,
# tests/alloc, tests/bench); the SPDX licence line in every source file
# (tests/spdx.sh).  Prints one line per step and exits 1 if a
# step that must pass failed.
#
# clang-format: every file in src/ and the verification suites must be
# formatted (LINT_FORMAT_STRICT=0 only lists the files that are not).
#
# LINT_CFLAGS: the compile flags (the Makefile passes the real ones).
set -u
cd "$(dirname "$0")/.."
failed=0
passed=0
CFLAGS_LINT=${LINT_CFLAGS:--std=c11 -D_GNU_SOURCE -DEOTP_VERSION=\"0\" -DEOTP_SYSCONFDIR=\"/etc\" -I/usr/include/cjson}
OWN_C=$(ls tests/fuzz/*.[ch] tests/alloc/*.[ch] tests/bench/*.[ch] 2>/dev/null)
SRC_C=$(ls src/*/*.c)
SRC_ALL=$(ls src/*/*.[ch])
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

step() {
    # step NAME STATUS [DETAIL-FILE]
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
        printf 'ok - %s\n' "$1"
    else
        failed=$((failed + 1))
        printf 'not ok - %s\n' "$1"
        [ -n "${3:-}" ] && sed 's/^/#   /' "$3" | head -n 200
    fi
}

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    printf 'not ok - %s is not installed (packaging/install-deps.sh)\n' "$1"
    failed=$((failed + 1))
    return 1
}

# ---- banned functions (curl's list, a subset: see STYLE.md) -------------
# Comment lines are skipped; a real use in code is never allowed.
grep -nE '(^|[^A-Za-z0-9_>.])(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|atoi|atol|sscanf|gets)[[:space:]]*\(' \
    $SRC_ALL $OWN_C 2>/dev/null |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)' >"$out/banned"
[ -s "$out/banned" ]
step "banned functions (sprintf vsprintf strcpy strcat strncpy strtok atoi atol sscanf gets)" \
    $((1 - $?)) "$out/banned"

# ---- licence: SPDX-License-Identifier in every source file -----------------
bash tests/spdx.sh --check >"$out/spdx" 2>&1
step "SPDX-License-Identifier: Apache-2.0 in every source file (tests/spdx.sh)" $? "$out/spdx"

# ---- cppcheck --------------------------------------------------------------
if need cppcheck; then
    # shellcheck disable=SC2086
    cppcheck --error-exitcode=1 --enable=warning,portability --inline-suppr \
        --std=c11 --quiet -j"$(nproc)" -D__linux__ -D__GNUC__ \
        -D_GNU_SOURCE -DEOTP_VERSION=\"0\" -DEOTP_SYSCONFDIR=\"/etc\" \
        -Isrc/core src/ $OWN_C >"$out/cppcheck" 2>&1
    step "cppcheck --enable=warning,portability" $? "$out/cppcheck"
fi

# ---- clang-tidy --------------------------------------------------------------
if need clang-tidy; then
    # A compilation database with the real flags, so clang-tidy sees what
    # the compiler sees.  One file per run (see .clang-tidy).
    mkdir -p build
    python3 - "$CFLAGS_LINT" $SRC_C $OWN_C >build/compile_commands.json <<'PY'
import json, os, shlex, sys
flags = shlex.split(sys.argv[1])
top = os.getcwd()
db = []
for f in sys.argv[2:]:
    if not f.endswith(".c"):
        continue
    db.append({"directory": top, "file": os.path.join(top, f),
               "arguments": ["clang"] + flags + ["-c", f, "-o", "/dev/null"]})
json.dump(db, sys.stdout, indent=1)
PY
    # shellcheck disable=SC2086
    printf '%s\n' $SRC_C $(printf '%s\n' $OWN_C | grep '\.c$') |
        xargs -P"$(nproc)" -n 1 clang-tidy --quiet -p build >"$out/tidy" 2>"$out/tidy.err"
    rc=$?
    grep -E 'warning:|error:' "$out/tidy" >"$out/tidy.short"
    [ "$rc" -eq 0 ] && [ ! -s "$out/tidy.short" ]
    step "clang-tidy (.clang-tidy)" $? "$out/tidy"
fi

# ---- clang-format -------------------------------------------------------------
if need clang-format; then
    : >"$out/fmt.own"
    : >"$out/fmt.other"
    for f in $SRC_ALL $OWN_C; do
        n=$(clang-format --style=file "$f" | diff "$f" - | grep -c '^[<>]')
        [ "$n" -eq 0 ] && continue
        case " $(printf '%s ' $OWN_C)" in
        *" $f "*) echo "$f: $n lines would change" >>"$out/fmt.own" ;;
        *) echo "$f: $n lines would change" >>"$out/fmt.other" ;;
        esac
    done
    [ ! -s "$out/fmt.own" ]
    step "clang-format: verification code (tests/fuzz, alloc, bench)" $? "$out/fmt.own"
    if [ -s "$out/fmt.other" ]; then
        if [ "${LINT_FORMAT_STRICT:-1}" = 1 ]; then
            step "clang-format: src/ (strict)" 1 "$out/fmt.other"
        else
            printf '# clang-format: %d file(s) in src/ would change (reported, not failed until the tree is reformatted):\n' \
                "$(wc -l <"$out/fmt.other")"
            sed 's/^/#   /' "$out/fmt.other"
        fi
    else
        step "clang-format: src/" 0
    fi
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
