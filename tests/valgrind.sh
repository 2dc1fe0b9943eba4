#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make valgrind: the unit tests and end-to-end logins through the real
# libpam, the built module and the mock API, under
#   valgrind --error-exitcode=99 --leak-check=full
#            --errors-for-leak-kinds=definite,indirect
# with tests/valgrind.supp (third-party one-time allocations, each one
# explained there).  Zero errors and zero definite/indirect leaks, or the
# target fails.  Uses the plain build (BUILD=build): valgrind and ASan do
# not mix.  VALGRIND_LOGS=DIR keeps the logs.
#
# The build is compiled with -gdwarf-4 (the Makefile's valgrind target
# uses build-valgrind/): valgrind 3.19 cannot read gcc 12's default
# DWARF 5 for the module and gives up on the whole run.
set -u
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
command -v valgrind >/dev/null 2>&1 || {
    t_fail "valgrind is installed (packaging/install-deps.sh)"
    t_summary
    exit 1
}
t_setup
t_on_exit mock_stop
LOGS=${VALGRIND_LOGS:-$T/vg}
mkdir -p "$LOGS"
VG=(valgrind --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --num-callers=40
    --suppressions="$TOP_DIR/tests/valgrind.supp" --gen-suppressions=all)

# check_log NAME LOG RC: valgrind's verdict on one run.
check_log() {
    local name=$1 log=$2 rc=$3 errs def ind
    errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -n 1)
    def=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -n 1)
    ind=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -n 1)
    if [ "$rc" -ne 99 ] && [ "${errs:-x}" = 0 ] && [ "${def:-0}" = 0 ] &&
        [ "${ind:-0}" = 0 ]; then
        t_ok "$name: no valgrind error, no leak"
    else
        t_fail "$name: valgrind errors=${errs:-?} definitely=${def:-0} indirectly=${ind:-0} (rc $rc, log $log)" \
            "$(grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|[0-9,]+ bytes in|   (at|by) )' "$log" | head -n 40)"
    fi
}

# ---- unit tests ----------------------------------------------------------------

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    n=$(basename "$t")
    "${VG[@]}" --log-file="$LOGS/$n.log" "$t" >"$LOGS/$n.out" 2>&1
    rc=$?
    check_log "unit $n" "$LOGS/$n.log" "$rc"
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 99 ]; then
        t_fail "unit $n passes under valgrind (exit $rc)" "$(tail -n 5 "$LOGS/$n.out")"
    fi
done

# ---- end-to-end logins -----------------------------------------------------------

PHONE=+6581234567
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }
printf 'daemon:%s\nbin:alice@example.com\n' "$PHONE" >"$T/users"
chmod 0644 "$T/users"
mkdir -p "$T/pam.d"

service() {
    printf 'auth required %s %s\n' "$MODULE" "$*" >"$T/pam.d/eotp"
}

# vlogin NAME EXPECT USER [harness options] -- ANSWERS...
vlogin() {
    local name=$1 expect=$2 user=$3 log rc out res
    shift 3
    log="$LOGS/login-$(printf '%s' "$name" | tr -c 'A-Za-z0-9' '_').log"
    out=$(timeout 300 "${VG[@]}" --log-file="$log" "$HARNESS" \
        --confdir "$T/pam.d" --service eotp --user "$user" \
        --outbox "$MOCK_OUTBOX" --to "$PHONE" "$@" 2>&1)
    rc=$?
    res=$(printf '%s\n' "$out" | sed -n 's/^RESULT: //p' | tail -n 1)
    assert_eq "$name: $expect" "$expect" "${res%% x*}"
    check_log "$name" "$log" "$rc"
}

fresh() {
    mockctl reset >/dev/null
    rm -rf "$T/state"
    write_conf "$T/conf" "$@"
    service "conf=$T/conf"
}

fresh
vlogin "success" PAM_SUCCESS daemon -- @code
fresh
vlogin "wrong then right" PAM_SUCCESS daemon -- @wrong @code
fresh
vlogin "three wrong codes" PAM_MAXTRIES daemon -- @wrong @wrong @wrong
fresh
vlogin "conversation failure" PAM_CONV_ERR daemon -- @fail
vlogin "3004: earlier code reused" PAM_SUCCESS daemon -- @code
fresh
vlogin "unmapped user" PAM_USER_UNKNOWN sys -- @code
fresh failmode=open
mockctl fault status500 --path /v1/messages >/dev/null
vlogin "failmode open, 5xx: bypass" PAM_SUCCESS daemon -- @code
fresh
mockctl fault status500 --path /v1/verifications >/dev/null
vlogin "failmode closed, 5xx on verify" PAM_AUTHINFO_UNAVAIL daemon -- @code
fresh timeout=2 connect_timeout=1
mockctl fault blackhole >/dev/null
vlogin "timeout (black hole)" PAM_AUTHINFO_UNAVAIL daemon -- @code
fresh
mockctl fault garbage --path /v1/messages >/dev/null
vlogin "garbage answer" PAM_AUTHINFO_UNAVAIL daemon -- @code
fresh
sed -i "s|^ca_file = .*|ca_file = $MOCK_DIR/certs/other-ca.pem|" "$T/conf"
vlogin "TLS failure (other CA)" PAM_AUTHINFO_UNAVAIL daemon -- @code
fresh
chmod 0644 "$T/conf"
vlogin "bad config permissions" PAM_SERVICE_ERR daemon -- @code
fresh frobnicate=yes
vlogin "unknown config key" PAM_SERVICE_ERR daemon -- @code
fresh
service "conf=$T/missing.conf" failmode=open
vlogin "missing config, failmode=open" PAM_SUCCESS daemon -- @code
# Notifications (issue 16): a notice sent, the lockout's, a failing one,
# the bypass's.
fresh notify_template=pam-notify "notify_on=success, new_rhost"
vlogin "notice: new_rhost" PAM_SUCCESS daemon --rhost 192.0.2.7 -- @code
fresh notify_template=pam-notify lockout=3/900
vlogin "notice: lockout" PAM_AUTH_ERR daemon -- @wrong @wrong @wrong
fresh notify_template=pam-notify notify_on=success
mockctl fault status500 --path /v1/custom-messages >/dev/null
vlogin "notice: the service fails" PAM_SUCCESS daemon -- @code
fresh notify_template=pam-notify failmode=open
mockctl fault status500 --path /v1/messages >/dev/null
vlogin "notice: bypass" PAM_SUCCESS daemon -- @code
# Many logins in one process: nothing may pile up between them (the
# per-user send limit would stop the sixth).
fresh send_limit=off
vlogin "50 logins in one process" PAM_SUCCESS daemon --repeat 50 -- @code

t_summary
