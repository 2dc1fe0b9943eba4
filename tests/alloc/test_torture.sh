#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Allocation-failure injection (curl's "torture" idea): `make torture`.
#
# Each scenario below is a real login through libpam, the torture build of
# the module (build-torture/torture/pam_engagelab_otp.so, where the Nth
# allocation of the module's own code fails: see failalloc.c) and the mock
# API.  The scenario is run with N = 1, 2, 3, ... until a run finishes
# without reaching N; that last run must give the scenario's normal result.
# Every run must:
#   - end in a PAM code without a crash, a sanitizer report or a leak (the
#     module and the harness are built with ASan + UBSan, LeakSanitizer on);
#   - give PAM_SUCCESS only when the login really succeeded: the right
#     code was verified with the service, or (failmode=open) a bypass was
#     caused by a real service failure that this run actually met;
#   - never bypass (failmode=open) because of an allocation failure: every
#     scenario runs with failmode=open, so an out-of-memory error that is
#     mistaken for a service failure shows up as a bypass and fails here;
#   - otherwise give the scenario's normal result or PAM_BUF_ERR.
#
# Not part of `make check` (this file is not executable): it runs a few
# hundred logins.  Needs root (the config and state must be root-owned).
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"

TMODULE="$BUILD/torture/pam_engagelab_otp.so"
if [ ! -f "$TMODULE" ] || [ ! -x "$HARNESS" ]; then
    echo "test_torture: build it with 'make torture' ($TMODULE missing)" >&2
    t_fail "torture module built"
    t_summary
    exit 1
fi
# LeakSanitizer exits 23 on a leak, ASan 1, UBSan aborts (no recovery).
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
MAX_N=${TORTURE_MAX_N:-2000}

t_setup
t_on_exit mock_stop
PHONE=+6581234567
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }
printf 'daemon:%s\nbin:alice@example.com\n' "$PHONE" >"$T/users"
chmod 0644 "$T/users"
mkdir -p "$T/pam.d"

# service ARGS...: the torture module with these module arguments.
service() {
    printf 'auth required %s %s\n' "$TMODULE" "$*" >"$T/pam.d/torture"
}

# login FAIL_AT USER ANSWERS...: sets OUT, RC, RES, CALLS.
login() {
    local n=$1 user=$2
    shift 2
    OUT=$(EOTP_FAIL_AT=$n timeout 120 "$HARNESS" --confdir "$T/pam.d" \
        --service torture --user "$user" --outbox "$MOCK_OUTBOX" \
        --to "$PHONE" -- "$@" 2>&1)
    RC=$?
    RES=$(printf '%s\n' "$OUT" | sed -n 's/^RESULT: //p' | tail -n 1)
    CALLS=$(printf '%s\n' "$OUT" | sed -n 's/^failalloc: calls=\([0-9]*\).*/\1/p' | tail -n 1)
}

# verified_since LINE: "yes" if a /v1/verifications request after LINE of
# the request log carried the code the mock delivered for that message.
verified_since() {
    python3 - "$MOCK_REQLOG" "$MOCK_OUTBOX" "$1" <<'PY'
import json, sys
reqlog, outbox, after = sys.argv[1], sys.argv[2], int(sys.argv[3])
codes = {}
for line in open(outbox, encoding="utf-8"):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    codes[str(m.get("message_id"))] = m.get("code")
ok = False
for i, line in enumerate(open(reqlog, encoding="utf-8")):
    if i < after:
        continue
    try:
        r = json.loads(line)
    except ValueError:
        continue
    b = r.get("body")
    if r.get("path") == "/v1/verifications" and isinstance(b, dict) and \
            codes.get(str(b.get("message_id"))) == b.get("verify_code") and \
            not r.get("fault"):
        ok = True
print("yes" if ok else "no")
PY
}

# faults_since LINE MODE: requests after LINE that met fault MODE.
faults_since() {
    tail -n +$(($1 + 1)) "$MOCK_REQLOG" | grep -c "\"fault\": *\"$2\""
}

fresh_state() {
    mockctl reset >/dev/null
    rm -rf "$T/state"
}

# scenario NAME EXPECT BYPASS_RULE PREP USER ANSWERS...
#   EXPECT       the normal result (the run that reaches no failure)
#   BYPASS_RULE  none | 5xx | conf: when a bypass (failmode=open) is legal
#   PREP         a function run before each login (fresh mock and state)
scenario() {
    local name=$1 expect=$2 rule=$3 prep=$4 user=$5
    shift 5
    local n=1 bad=0 runs=0 base done_clean=0 verified bypass seen
    local -A results=()
    while [ "$n" -le "$MAX_N" ]; do
        "$prep"
        base=$(wc -l <"$MOCK_REQLOG")
        login "$n" "$user" "$@"
        runs=$((runs + 1))
        local why=""
        if [ -z "$CALLS" ]; then
            why="no failalloc report (crash before exit?) rc=$RC"
        elif [ "$RC" -ne 0 ]; then
            why="harness exit status $RC"
        elif printf '%s\n' "$OUT" | grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:'; then
            why="sanitizer report"
        elif [ -z "$RES" ]; then
            why="no PAM result"
        fi
        bypass=no
        printf '%s\n' "$OUT" | grep -q 'second factor BYPASSED' && bypass=yes
        if [ -z "$why" ] && [ "$RES" = PAM_SUCCESS ]; then
            if [ "$bypass" = yes ]; then
                case "$rule" in
                5xx)
                    seen=$(faults_since "$base" status500)
                    [ "$seen" -gt 0 ] && printf '%s\n' "$OUT" |
                        grep -q 'BYPASSED.*reason=server_error' ||
                        why="bypass without a real 5xx (met $seen)"
                    ;;
                conf)
                    printf '%s\n' "$OUT" | grep -q 'BYPASSED.*reason=config_unreadable' ||
                        why="bypass not caused by the unreadable config"
                    ;;
                *) why="BYPASS caused by an allocation failure" ;;
                esac
            else
                verified=$(verified_since "$base")
                [ "$verified" = yes ] ||
                    why="PAM_SUCCESS without the right code verified"
            fi
        elif [ -z "$why" ] && [ "$CALLS" -ge "$n" ] &&
            [ "$RES" != "$expect" ] && [ "$RES" != PAM_BUF_ERR ]; then
            why="unexpected $RES (normal $expect or PAM_BUF_ERR)"
        fi
        if [ -z "$why" ] && [ "$CALLS" -lt "$n" ] && [ "$RES" != "$expect" ]; then
            why="clean run gave $RES, expected $expect"
        fi
        if [ -n "$why" ]; then
            bad=$((bad + 1))
            t_fail "$name: allocation $n fails -> $why" \
                "$(printf '%s\n' "$OUT" | grep -E 'failalloc: failing|RESULT|SYSLOG|ERROR|Sanitizer|runtime error|#[0-9]+ ' | head -n 25)"
        fi
        results[$RES]=$((${results[$RES]:-0} + 1))
        if [ -n "$CALLS" ] && [ "$CALLS" -lt "$n" ]; then
            done_clean=1
            break
        fi
        n=$((n + 1))
    done
    local summary="" k
    for k in "${!results[@]}"; do
        summary="$summary $k=${results[$k]}"
    done
    if [ "$done_clean" -ne 1 ]; then
        t_fail "$name: a run completed without reaching N (N <= $MAX_N)"
    elif [ "$bad" -eq 0 ]; then
        t_ok "$name: $((runs - 1)) allocations failed in turn, all safe;$summary"
    fi
    printf '# %-28s allocations=%-4s runs=%-4s%s\n' "$name" "$((runs - 1))" "$runs" "$summary"
}

# ---- scenarios --------------------------------------------------------------

prep_plain() {
    fresh_state
}
prep_5xx() {
    fresh_state
    mockctl fault status500 --path /v1/messages >/dev/null
}
# The first login fails in the conversation (no allocation failure), so
# the second one meets 3004 and reuses the pending code.
prep_3004() {
    fresh_state
    EOTP_FAIL_AT= "$HARNESS" --confdir "$T/pam.d" --service torture \
        --user daemon -- @fail >/dev/null 2>&1
}

write_conf "$T/conf" failmode=open
service "conf=$T/conf"
scenario "success" PAM_SUCCESS none prep_plain daemon @code
scenario "wrong then right" PAM_SUCCESS none prep_plain daemon @wrong @code
scenario "unmapped user" PAM_USER_UNKNOWN none prep_plain sys @code
scenario "3004: earlier code reused" PAM_SUCCESS none prep_3004 daemon @code
scenario "failmode open, 5xx on send" PAM_SUCCESS 5xx prep_5xx daemon @code

# Notifications (issue 16): a failed allocation in a notice is logged and
# changes nothing.
write_conf "$T/conf.notify" failmode=open notify_template=pam-notify \
    "notify_on=lockout, bypass, success, new_rhost" lockout=3/900
service "conf=$T/conf.notify"
scenario "notify: success" PAM_SUCCESS none prep_plain daemon @code
scenario "notify: lockout" PAM_AUTH_ERR none prep_plain daemon @wrong @wrong @wrong
scenario "notify: bypass" PAM_SUCCESS 5xx prep_5xx daemon @code

write_conf "$T/conf.bad" failmode=open frobnicate=yes
service "conf=$T/conf.bad" failmode=open
scenario "config error (unknown key)" PAM_SERVICE_ERR none prep_plain daemon @code

service "conf=$T/missing.conf" failmode=open
scenario "missing config, failmode=open" PAM_SUCCESS conf prep_plain daemon @code

t_summary
