#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests of policy (groups, networks), contextual template
# parameters, language = auto and the local refusal of answers that
# cannot be a code.  Existing system accounts are used (daemon is in
# group daemon, games in group games); nothing outside the temp dir.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
. "$TESTS_DIR/san_env.sh"
t_setup
t_on_exit mock_stop
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }

printf 'daemon:+6581234567\ngames:+6590001111\n' >"$T/users"
chmod 0644 "$T/users"
mkdir -p "$T/pam.d"
printf 'auth required pam_deny.so\n' >"$T/pam.d/other"

# The module followed by pam_permit: when the module ignores a login the
# stack still succeeds, so PAM_IGNORE is visible as PAM_SUCCESS plus a
# "result=ignored" log line; when it denies, the stack fails.
stack() {
    printf 'auth required %s %s\nauth required pam_permit.so\n' \
        "$MODULE" "$*" >"$T/pam.d/eotp"
}

fresh() {
    mockctl reset >/dev/null
    rm -rf "$T/state"
    write_conf "$T/conf" "$@"
    stack "conf=$T/conf"
    REQ0=$(mock_request_count)
}

last_send() {
    grep '"/v1/messages"' "$MOCK_REQLOG" | tail -n 1
}

# ---- groups ----------------------------------------------------------------

fresh only_groups=daemon
login daemon +6581234567 -- @code
assert_eq "member of only_groups must use the code" PAM_SUCCESS "$RES"
assert_match "member of only_groups got a code" 'result=success user=daemon' "$OUT"
login games +6590001111 -- @code
assert_eq "outside only_groups: the rest of the stack decides" PAM_SUCCESS "$RES"
assert_match "outside only_groups: PAM_IGNORE, logged" 'result=ignored user=games .*reason=out_of_scope' "$OUT"
assert_eq "outside only_groups: nothing sent" 0 "$(($(mock_request_count) - REQ0 - 2))"

fresh only_groups=no-such-group-eotp
login daemon +6581234567 -- @code
assert_eq "only_groups naming a missing group fails closed" PAM_SERVICE_ERR "$RES"
assert_match "missing group logged" 'policy: unknown group=no-such-group-eotp' "$OUT"

fresh exempt_groups=games
login games +6590001111 -- @code
assert_match "exempt group: ignored with an audit line" 'policy: exempt group, second factor skipped user=games group=games' "$OUT"
assert_eq "exempt group: nothing sent" 0 "$(($(mock_request_count) - REQ0))"
login daemon +6581234567 -- @wrong @wrong @wrong
assert_eq "not exempt: a wrong code still fails the stack" PAM_MAXTRIES "$RES"

fresh "exempt_groups=no-such-group-eotp, games"
login daemon +6581234567 -- @code
assert_eq "an unknown exempt group exempts nobody" PAM_SUCCESS "$RES"
assert_match "the code was required" 'result=success user=daemon' "$OUT"

# The rule for a group that does not exist, as README and man page state it.
fresh "only_groups=no-such-group-eotp, daemon"
login daemon +6581234567 -- @code
assert_eq "missing only_groups group, user in another listed group: the code" PAM_SUCCESS "$RES"
login games +6590001111 -- @code
assert_eq "missing only_groups group, user in no listed group: error" PAM_SERVICE_ERR "$RES"
fresh "exempt_groups=no-such-group-eotp" only_groups=daemon
login games +6590001111 -- @code
assert_eq "a missing exempt group does not turn 'outside only_groups' into an error" PAM_SUCCESS "$RES"
assert_match "outside only_groups: ignored" 'result=ignored user=games .*reason=out_of_scope' "$OUT"

# ---- the account's own name -------------------------------------------------------
# A directory that ignores case (SSSD, winbind) finds "EOTPBench7" for the
# account eotpbench7 (tests/bench/fakepw.so stands in for one).  The user
# map, the state and the limits must see that one account, whatever case
# was typed; with unmapped = ignore another spelling must not skip the code.
printf 'eotpbench7:+6590007777\n' >>"$T/users"
LOGIN_WRAP=(env "LD_PRELOAD=$(san_preload)${SAN:+:}$BUILD/tests/fakepw.so")
fresh unmapped=ignore
login eotpbench7 +6590007777 -- @code
assert_eq "canonical name: the account itself logs in with its code" PAM_SUCCESS "$RES"
login EOTPBench7 +6590007777 -- @wrong @wrong @wrong
assert_eq "another case of the name, unmapped = ignore: the code is still asked" PAM_MAXTRIES "$RES"
assert_match "another case of the name: the code went to the account's destination" \
    'PROMPT: Code sent by SMS to \+65\*{6}77' "$OUT"
fresh lockout=2/900
login EOTPBench7 +6590007777 -- @wrong @wrong @wrong
login eotpbench7 +6590007777 -- @code
assert_eq "another case of the name shares the account's lockout" PAM_AUTH_ERR "$RES"
assert_match "the lockout is the account's" 'reason=locked' "$OUT"
# engagelab-otp state must mean the same account as the module.
show=$("${LOGIN_WRAP[@]}" "$CLI" -c "$T/conf" state show EOTPBench7 2>&1)
assert_match "state show ANOTHER-CASE: the account's record" 'user: eotpbench7' "$show"
assert_match "state show ANOTHER-CASE: the account's lockout" 'locked out: yes' "$show"
"${LOGIN_WRAP[@]}" "$CLI" -c "$T/conf" state reset EOTPBench7 >/dev/null 2>&1
mockctl reset >/dev/null # the reset forgot the pending code: no 3004 reuse
login eotpbench7 +6590007777 -- @code
assert_eq "state reset ANOTHER-CASE lifts the account's lockout" PAM_SUCCESS "$RES"
LOGIN_WRAP=()
sed -i '/^eotpbench7:/d' "$T/users"

# ---- networks ----------------------------------------------------------------

fresh "exempt_networks=10.0.0.0/8, 2001:db8::/32, 192.0.2.7"
login daemon +6581234567 --rhost 10.1.2.3 -- @code
assert_match "rhost inside an exempt IPv4 network: ignored" 'exempt network, second factor skipped user=daemon rhost=10.1.2.3' "$OUT"
assert_eq "exempt network: nothing sent" 0 "$(($(mock_request_count) - REQ0))"
login daemon +6581234567 --rhost 2001:db8:1::5 -- @code
assert_match "rhost inside an exempt IPv6 network: ignored" 'exempt network.*rhost=2001:db8:1::5' "$OUT"
login daemon +6581234567 --rhost ::ffff:10.9.9.9 -- @code
assert_match "IPv4-mapped IPv6 rhost matched as IPv4" 'exempt network.*rhost=::ffff:10.9.9.9' "$OUT"
login daemon +6581234567 --rhost 192.0.2.7 -- @code
assert_match "single address entry" 'exempt network.*rhost=192.0.2.7' "$OUT"
mockctl reset >/dev/null
login daemon +6581234567 --rhost 11.1.2.3 -- @code
assert_match "rhost outside the networks needs the code" 'result=success user=daemon .*rhost=11.1.2.3' "$OUT"
mockctl reset >/dev/null; rm -rf "$T/state"
login daemon +6581234567 --rhost 10.example.com -- @code
assert_match "a host name never matches" 'result=success user=daemon .*rhost=10.example.com' "$OUT"
mockctl reset >/dev/null; rm -rf "$T/state"
login daemon +6581234567 -- @code
assert_match "no rhost: the code is required" 'result=success user=daemon .*rhost=-' "$OUT"

fresh "exempt_networks=10.0.0.0/33"
printf 'auth required %s conf=%s\n' "$MODULE" "$T/conf" >"$T/pam.d/eotp"
login daemon +6581234567 --rhost 10.1.2.3 -- @code
assert_eq "bad CIDR fails closed" PAM_SERVICE_ERR "$RES"
assert_match "bad CIDR named" 'bad item for exempt_networks .*item=10.0.0.0/33' "$OUT"

# Per-service override: every key may be a module argument.
fresh
stack "conf=$T/conf" exempt_networks=10.0.0.0/8
login daemon +6581234567 --rhost 10.1.2.3 -- @code
assert_match "exempt_networks as a module argument" 'exempt network' "$OUT"

# ---- contextual parameters ------------------------------------------------------

fresh "params=host=%h, service=%s, user=%u, rhost=%r, cmd=%c, pct=100%%"
login daemon +6581234567 --rhost 198.51.100.4 --env "SUDO_COMMAND=/usr/bin/id -u" -- @code
assert_eq "login with params succeeds" PAM_SUCCESS "$RES"
body=$(last_send)
assert_match "host name sent" "\"host\":\"$(hostname)\"" "$body"
assert_match "service sent" '"service":"eotp"' "$body"
assert_match "user sent" '"user":"daemon"' "$body"
assert_match "rhost sent" '"rhost":"198.51.100.4"' "$body"
assert_match "sudo command sent" '"cmd":"/usr/bin/id -u"' "$body"
assert_match "%% is a percent sign" '"pct":"100%"' "$body"
delivered=$(tail -n 1 "$MOCK_OUTBOX")
assert_match "params reach the delivered message" '"rhost": ?"198.51.100.4"' "$delivered"

fresh "params=cmd=%c"
long=$(printf 'x%.0s' $(seq 300))
login daemon +6581234567 --env "SUDO_COMMAND=$(printf 'rm\t-rf %s' "$long")" -- @code
body=$(last_send)
val=$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["body"]["template"]["params"]["cmd"])')
assert_eq "param values cut to 64 bytes" 64 "${#val}"
assert_no_match "control characters removed from params" $'\t' "$val"

fresh "params=who=%z"
stack "conf=$T/conf"
login daemon +6581234567 -- @code
assert_match "unknown % escape refused at load" 'config: bad item for params' "$OUT"

# ---- language = auto ---------------------------------------------------------------

for pair in "ja_JP.UTF-8:ja" "zh_CN.UTF-8:zh_CN" "zh_TW.UTF-8:zh_HK" "zh_HK:zh_HK" \
            "en_GB.UTF-8:en" "th_TH:th" "es_ES@euro:es" "de_DE.UTF-8:default" "C:default"; do
    loc=${pair%%:*}
    want=${pair#*:}
    fresh language=auto
    login daemon +6581234567 --env "LANG=$loc" -- @code
    assert_match "language auto: LANG=$loc gives $want" "\"language\":\"$want\"" "$(last_send)"
done
fresh language=auto
login daemon +6581234567 --env "LANG=en_US.UTF-8" --env "LC_ALL=ja_JP.UTF-8" -- @code
assert_match "LC_ALL wins over LANG" '"language":"ja"' "$(last_send)"

# ---- answers that cannot be a code ------------------------------------------------

fresh code_length=6 code_type=1 max_attempts=4
login daemon +6581234567 -- 12345 1234567 12a456 @code
assert_eq "right shape after three refused answers" PAM_SUCCESS "$RES"
nver=$(tail -n +$((REQ0 + 1)) "$MOCK_REQLOG" | grep -c '/v1/verifications')
assert_eq "answers of the wrong shape never reach the API" 1 "$nver"
assert_match "user told it is not a code" 'PROMPT: That is not a valid code' "$OUT"

fresh code_length=6 code_type=1
login daemon +6581234567 -- "$(printf 'hunter2\n')" 'my password!' 'p@ss' @code
assert_match "password-like answers counted as wrong attempts" 'result=denied .*reason=max_attempts' "$OUT"
assert_no_match "no password in the request log" 'hunter2|my password|p@ss' "$(cat "$MOCK_REQLOG")"

# The defaults are the usual template's six digits: a short alphanumeric
# password typed at the prompt stays here.
fresh max_attempts=4
login daemon +6581234567 -- abc123 1234 1234567 @code
assert_eq "default shape: a code of six digits is accepted" PAM_SUCCESS "$RES"
nver=$(tail -n +$((REQ0 + 1)) "$MOCK_REQLOG" | grep -c '/v1/verifications')
assert_eq "default shape: abc123, 1234 and 1234567 never reach the API" 1 "$nver"
assert_no_match "default shape: no abc123 in the request log" 'abc123' "$(cat "$MOCK_REQLOG")"

t_summary
