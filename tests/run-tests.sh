#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run every test suite and print one closing line "N passed, M failed".
#
# Suites: the cmocka unit tests, the mock API's self-test, and every
# executable tests/*/*.sh suite (end to end, admin tool, ...).  Each
# suite's own output is shown as it runs.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
passed=0
failed=0
failed_suites=()

# Under SAN=1 every report of an instrumented program (unit tests, the PAM
# harness with the module in it, the admin tool) also goes to a file, and
# any such file fails the suite that caused it: a leak or an error found
# at a harness's exit fails the run even though the suite only looked at
# the login's result.  (Hosts that are not ours, such as sshd and login,
# run with their own ASAN_OPTIONS; see tests/san_env.sh.)
SAN_LOG_DIR=
if [ "${SAN:-}" = 1 ]; then
    SAN_LOG_DIR=$(mktemp -d /tmp/eotp-sanlog.XXXXXX)
    trap 'rm -rf "$SAN_LOG_DIR"' EXIT
    export ASAN_OPTIONS="log_path=$SAN_LOG_DIR/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export UBSAN_OPTIONS="log_path=$SAN_LOG_DIR/ubsan:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
fi

# san_reports NAME: fail suite NAME for each sanitizer report it left.
san_reports() {
    local f n=0
    [ -n "$SAN_LOG_DIR" ] || return 0
    for f in "$SAN_LOG_DIR"/*; do
        [ -f "$f" ] || continue
        n=$((n + 1))
        printf 'not ok - sanitizer report %s\n' "$(basename "$f")"
        sed -n '1,60s/^/#   /p' "$f"
        rm -f "$f"
    done
    if [ "$n" -gt 0 ]; then
        failed=$((failed + n))
        failed_suites+=("$1 (sanitizer)")
    fi
}

count_line() {
    # Add up "N passed, M failed" from a suite's last such line.
    local line p f
    line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
    if [ -z "$line" ]; then
        return 1
    fi
    p=$(printf '%s' "$line" | sed -E 's/^([A-Za-z]+: )?([0-9]+) passed.*/\2/')
    f=$(printf '%s' "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    passed=$((passed + p))
    failed=$((failed + f))
}

run_suite() {
    local name=$1
    shift
    local out
    out=$(mktemp)
    printf '=== %s\n' "$name"
    "$@" 2>&1 | tee "$out"
    local rc=${PIPESTATUS[0]}
    if ! count_line "$out"; then
        # cmocka: "[  PASSED  ] N test(s)." and "[  FAILED  ] M test(s)"
        local p f
        p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$out" | tail -n 1 | grep -Eo '[0-9]+' | head -n 1)
        f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$out" | tail -n 1 | grep -Eo '[0-9]+' | head -n 1)
        passed=$((passed + ${p:-0}))
        failed=$((failed + ${f:-0}))
        if [ -z "$p" ] && [ -z "$f" ]; then
            failed=$((failed + 1))
        fi
    fi
    if [ "$rc" -ne 0 ]; then
        failed_suites+=("$name")
    fi
    san_reports "$name"
    rm -f "$out"
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_suite "unit: $(basename "$t")" "$t"
done
run_suite "mock API self-test" python3 tests/mock/test_mock.py
for s in tests/*/*.sh; do
    case "$s" in tests/mock/*) continue ;; esac
    [ -x "$s" ] || continue
    run_suite "suite: $s" "$s"
done

echo
if [ ${#failed_suites[@]} -gt 0 ]; then
    printf 'failed suites: %s\n' "${failed_suites[*]}"
    [ "$failed" -gt 0 ] || failed=${#failed_suites[@]}
fi
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ] && [ ${#failed_suites[@]} -eq 0 ]
