#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Replay the checked-in fuzz corpus (tests/fuzz/corpus/TARGET) through each
# libFuzzer target once (-runs=0): every seed and every past crash must
# still parse without a sanitizer report or a failed check.  The targets
# are built first if needed (make fuzz-build: clang, ASan + UBSan, in
# build-fuzz/).  Fuzzing itself is `make fuzz`, not part of make check.
set -u
. "$(dirname "$0")/../lib.sh"
cd "$TOP_DIR" || exit 1
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}

if ! command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
    # packaging/install-deps.sh installs clang; say so rather than pass.
    t_fail "clang is needed to build the fuzz targets (packaging/install-deps.sh)"
    t_summary
    exit 1
fi

# The parent make's jobserver is not ours to use.
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -j"$(nproc)" \
        --no-print-directory fuzz-build >"$FUZZ_BUILD.log" 2>&1; then
    t_fail "fuzz targets build" "$(tail -n 20 "$FUZZ_BUILD.log")"
    t_summary
    exit 1
fi
rm -f "$FUZZ_BUILD.log"

for bin in "$FUZZ_BUILD"/fuzz_*; do
    [ -x "$bin" ] || continue
    t=${bin##*/fuzz_}
    dir="tests/fuzz/corpus/$t"
    n=$(find "$dir" -type f 2>/dev/null | wc -l)
    if [ "$n" -eq 0 ]; then
        t_fail "fuzz_$t has a seed corpus in $dir"
        continue
    fi
    if out=$(ASAN_OPTIONS=detect_leaks=1 "$bin" -runs=0 "$dir" 2>&1); then
        t_ok "fuzz_$t replays its $n corpus inputs"
    else
        t_fail "fuzz_$t replays its $n corpus inputs" \
            "$(printf '%s\n' "$out" | grep -Ev '^(INFO|#)' | head -n 30)"
    fi
done
for src in tests/fuzz/fuzz_*.c; do
    t=${src##*/fuzz_}
    t=${t%.c}
    [ -x "$FUZZ_BUILD/fuzz_$t" ] ||
        t_fail "fuzz_$t built (its source exists but make fuzz-build skipped it)"
done
t_summary
