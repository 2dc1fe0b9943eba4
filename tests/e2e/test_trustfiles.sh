#!/usr/bin/env bash
# End-to-end tests of the files the module trusts (config, user map, CA
# files): what is refused, that a refusal is PAM_SERVICE_ERR with a log
# line naming the file and the reason, and that nothing is sent then.
# Every login runs under `timeout`, so a file that would block the module
# fails the test instead of hanging it.  Everything lives under $T.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
t_setup
t_on_exit mock_stop

PHONE=+6581234567
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }

printf 'daemon:%s\n' "$PHONE" >"$T/users"
chmod 0644 "$T/users"
mkdir -p "$T/pam.d"
printf 'auth required pam_deny.so\n' >"$T/pam.d/other"
# A login that blocks is killed after 10 s: RES is then empty.
LOGIN_WRAP=(timeout 10)

fresh() {
    mockctl reset >/dev/null
    rm -rf "$T/state"
    write_conf "$T/conf" "$@"
    service eotp "conf=$T/conf"
    REQ0=$(mock_request_count)
}

requests_since() {
    echo $(($(mock_request_count) - $1))
}

fresh
login daemon $PHONE -- @code
assert_eq "baseline: the login works" PAM_SUCCESS "$RES"

# ---- FIFOs ---------------------------------------------------------------------
# A FIFO at a configured path blocked open(2) until a writer came.

mkfifo -m 0644 "$T/users-fifo"
fresh "user_map=$T/users-fifo"
login daemon $PHONE -- @code
assert_eq "FIFO at user_map: PAM_SERVICE_ERR at once" PAM_SERVICE_ERR "$RES"
assert_match "FIFO at user_map: the log names file and reason" \
    'user map: refusing file=.*/users-fifo reason="not a regular file \(a FIFO\)"' "$OUT"
assert_eq "FIFO at user_map: nothing sent" 0 "$(requests_since "$REQ0")"

mkfifo -m 0600 "$T/conf-fifo"
fresh
service eotp "conf=$T/conf-fifo"
login daemon $PHONE -- @code
assert_eq "FIFO at the config path: PAM_SERVICE_ERR at once" PAM_SERVICE_ERR "$RES"
assert_match "FIFO at the config path: logged" \
    'config: refusing file=.*/conf-fifo reason="not a regular file \(a FIFO\)"' "$OUT"

t_summary
