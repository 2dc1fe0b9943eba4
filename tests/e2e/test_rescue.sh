#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Rescue codes (issue 16) end to end: engagelab-otp rescue issue/list/
# revoke, a rescue code at the code prompt through the real libpam, once
# only, the outage path (failmode open and closed, with and without
# codes), untrusted rescue files, all codes used, the lockout, and with
# Redis a code used on host A refused on host B.
#
# Users are existing system accounts (daemon, bin); the rescue files are
# in the temp dir, nothing is written outside it.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
t_setup
t_on_exit mock_stop

PHONE=+6581234567
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }
printf 'daemon:%s\nbin:+6590000001\n' "$PHONE" >"$T/users"
chmod 0644 "$T/users"
mkdir -p "$T/pam.d" "$T/sec"
chmod 0755 "$T/sec"
printf 'auth required pam_deny.so\n' >"$T/pam.d/other"
RF="$T/sec/rescue"

fresh() {
    mockctl reset >/dev/null
    mockctl fault none >/dev/null
    rm -rf "$T/state" "$RF" "$RF.lock"
    write_conf "$T/conf" "rescue_file=$RF" "$@"
    service eotp "conf=$T/conf"
    SVC=eotp
}
cli() { "$CLI" -c "$T/conf" "$@"; }
# counts USER [CONF]: "codes unused used" from rescue list.
counts() {
    "$CLI" -c "${2:-$T/conf}" rescue list "$1" 2>&1 |
        sed -n 's/^\(rescue codes\|unused\|used\): //p' | tr '\n' ' ' | sed 's/ $//'
}
# issue USER [N]: new codes into CODES (array), stderr into ERR.
issue() {
    local out
    out=$(cli rescue issue "$1" --count "${2:-3}" 2>"$T/err")
    RC=$?
    ERR=$(cat "$T/err")
    mapfile -t CODES <<<"$out"
    ISSUED_OUT=$out
}

# ---- the CLI ---------------------------------------------------------------

fresh
issue daemon 3
assert_eq "issue: exit 0" 0 "$RC"
assert_eq "issue: three lines on stdout" 3 "$(printf '%s\n' "$ISSUED_OUT" | wc -l)"
S='[0-9A-HJKMNP-TV-Z]{4}'
assert_eq "issue: stdout holds codes only, XXXX-XXXX-XXXX in Crockford base32" \
    0 "$(printf '%s\n' "$ISSUED_OUT" | grep -Ecv "^$S-$S-$S\$")"
assert_eq "issue: three different codes" 3 "$(printf '%s\n' "$ISSUED_OUT" | sort -u | wc -l)"
assert_match "issue: the summary goes to stderr" '3 rescue codes issued for daemon' "$ERR"
assert_eq "issue: the file is root's, 0600" "0 600" "$(stat -c '%u %a' "$RF")"
assert_match "issue: one line, user, time, three yescrypt hashes" \
    '^daemon [0-9]+ \$y\$[^ ]+ \$y\$[^ ]+ \$y\$[^ ]+$' "$(cat "$RF")"
assert_no_match "issue: no code in the file" "${CODES[0]//-/}|${CODES[0]}" "$(cat "$RF")"
OLD=("${CODES[@]}")
OUT=$(cli rescue list daemon 2>&1)
assert_eq "list: 3 codes, 3 unused, 0 used" "3 3 0" "$(counts daemon)"
assert_match "list: when issued" 'issued: [0-9]{4}-[0-9]{2}-[0-9]{2} ' "$OUT"
issue bin 2
assert_eq "issue for a second user keeps the first's line" 2 "$(wc -l <"$RF")"
issue daemon 4
assert_eq "reissue replaces the user's line" 2 "$(wc -l <"$RF")"
assert_eq "reissue: the user's new set" "4 4 0" "$(counts daemon)"
assert_match "reissue: says the old set no longer works" 'earlier set no longer works' "$ERR"
assert_eq "no temp file left behind" "rescue rescue.lock" "$(ls "$T/sec" | tr '\n' ' ' | sed 's/ $//')"
OUT=$(cli rescue issue daemon --count 0 2>&1); RC=$?
assert_eq "--count 0 refused" 2 "$RC"
OUT=$(cli rescue issue nosuchuser-eotp 2>&1); RC=$?
assert_eq "issue for an unknown account refused" 2 "$RC"
OUT=$(cli rescue --help 2>&1)
assert_match "--help names the three commands" 'rescue issue USER \[--count N\].*' "$OUT"
# Two admins at once: both sets land (the lock), neither is lost.
cli rescue issue daemon --count 2 >/dev/null 2>&1 &
p1=$!
cli rescue issue bin --count 2 >/dev/null 2>&1 &
p2=$!
wait $p1 $p2
assert_eq "two admins at once: both users' lines present" "bin daemon" \
    "$(cut -d' ' -f1 "$RF" | sort | tr '\n' ' ' | sed 's/ $//')"
OUT=$(cli rescue revoke bin 2>&1)
assert_match "revoke: said" 'rescue codes of bin revoked' "$OUT"
assert_match "revoke: bin has none" 'rescue codes: none' "$(cli rescue list bin 2>&1)"

# ---- a rescue code at the code prompt ---------------------------------------

fresh
issue daemon 3
login daemon $PHONE -- "${CODES[0]}"
assert_eq "a rescue code at the code prompt logs in" PAM_SUCCESS "$RES"
assert_match "the outcome line says method=rescue" 'result=success user=daemon .*method=rescue' "$OUT"
assert_eq "the rescue code never reaches the service" 0 \
    "$(grep -c '/v1/verifications' "$MOCK_REQLOG")"
assert_eq "list: one used" "3 2 1" "$(counts daemon)"
assert_match "the file marks it used in place" '^daemon [0-9]+ !y\$' "$(cat "$RF")"
login daemon $PHONE -- "${CODES[0]}" @code
assert_match "the same code again is refused" '^PROMPT: Wrong rescue code\. ' "$OUT"
assert_eq "...and the OTP still works after it" PAM_SUCCESS "$RES"
lc=$(printf '%s' "${CODES[1]}" | tr 'A-Z' 'a-z' | tr -d '-')
login daemon $PHONE -- "${lc:0:6} ${lc:6}"
assert_eq "lower case, a space instead of dashes: accepted" PAM_SUCCESS "$RES"
login daemon $PHONE -- @wrong "${CODES[2]}"
assert_eq "last code after a wrong OTP" PAM_SUCCESS "$RES"
login daemon $PHONE -- "${CODES[2]}" @code
assert_match "all used: the user is told so" '^ERROR: All your rescue codes have been used\.' "$OUT"
assert_match "all used: logged" 'rescue code refused: all used user=daemon' "$OUT"
assert_eq "list: none unused" "3 0 3" "$(counts daemon)"
issue daemon 2
login daemon $PHONE -- "${OLD[1]}" @code
assert_match "a code of a replaced set is refused" '^PROMPT: Wrong rescue code\.' "$OUT"

# Used marks: the store alone refuses a reuse (the file's mark undone).
fresh
issue daemon 2
login daemon $PHONE -- "${CODES[0]}"
sed -i 's/ !y\$/ $y$/' "$RF"
login daemon $PHONE -- "${CODES[0]}" @code
assert_match "used code refused by the store even without the file's mark" \
    '^PROMPT: Wrong rescue code\.' "$OUT"

# A set is accepted for a year after it was issued.
fresh
issue daemon 2
sed -i -E "s/^daemon [0-9]+ /daemon $(($(date +%s) - 366 * 86400)) /" "$RF"
login daemon $PHONE -- "${CODES[0]}" @code
assert_match "a set issued 366 days ago: its code is not accepted" \
    '^PROMPT: Wrong rescue code\.' "$OUT"
assert_match "...logged as expired" 'rescue codes not used: expired user=daemon' "$OUT"
assert_eq "...and the OTP still works" PAM_SUCCESS "$RES"
assert_match "list: says it expired" '^expired: [0-9]{4}-' "$(cli rescue list daemon 2>&1)"
mockctl fault status500 --path /v1/messages --count 100 >/dev/null
login daemon $PHONE -- "${CODES[1]}"
assert_no_match "an expired set: no login when the service is down" PAM_SUCCESS "$RES"
assert_no_match "...and no rescue prompt" 'Rescue code:' "$OUT"
mockctl fault none >/dev/null
sed -i -E "s/^daemon [0-9]+ /daemon $(($(date +%s) - 364 * 86400)) /" "$RF"
assert_match "list: a set issued 364 days ago expires" '^expires: [0-9]{4}-' "$(cli rescue list daemon 2>&1)"
login daemon $PHONE -- "${CODES[0]}"
assert_eq "a set issued 364 days ago still works" PAM_SUCCESS "$RES"

# Four logins at once with the same code: exactly one gets in.
fresh
issue daemon 1
pids=()
for i in 1 2 3 4; do
    (login daemon $PHONE -- "${CODES[0]}" && printf '%s\n' "$RES" >"$T/par.$i") &
    pids+=($!)
done
wait "${pids[@]}"
assert_eq "one code, four parallel logins: exactly one success" 1 \
    "$(cat "$T"/par.* | grep -c '^PAM_SUCCESS$')"
assert_eq "one code, four parallel logins: all four finished" 4 "$(cat "$T"/par.* | wc -l)"

# ---- wrong rescue codes and the lockout ------------------------------------

fresh lockout=3/900 max_attempts=5
issue daemon 2
login daemon $PHONE -- AAAA-BBBB-CCCC AAAA-BBBB-CCCD AAAA-BBBB-CCCE "${CODES[0]}"
assert_eq "three wrong rescue codes reach the lockout" PAM_AUTH_ERR "$RES"
assert_match "lockout reached after wrong rescue codes" 'lockout reached after wrong codes user=daemon' "$OUT"
login daemon $PHONE -- "${CODES[0]}"
assert_eq "locked out: even a right rescue code is refused" PAM_AUTH_ERR "$RES"
assert_eq "list: that code is still unused" "2 2 0" "$(counts daemon)"

# ---- the outage path ---------------------------------------------------------

for fm in closed open; do
    fresh failmode=$fm
    issue daemon 2
    mockctl fault status500 --path /v1/messages --count 100 >/dev/null
    login daemon $PHONE -- "${CODES[0]}"
    assert_eq "service down, failmode=$fm, rescue codes: a rescue code logs in" PAM_SUCCESS "$RES"
    assert_match "service down, failmode=$fm: the rescue prompt" \
        '^PROMPT: The code service cannot be reached\. Rescue code: $' "$OUT"
    assert_match "service down, failmode=$fm: method=rescue, not bypassed" \
        'result=success user=daemon .*method=rescue' "$OUT"
    assert_no_match "service down, failmode=$fm: no bypass" 'BYPASSED' "$OUT"
    login daemon $PHONE -- AAAA-BBBB-CCCC nonsense "${CODES[0]}"
    assert_eq "service down, failmode=$fm: wrong, junk, then a used code: refused" PAM_MAXTRIES "$RES"
    assert_match "service down: a wrong rescue code is said" \
        '^PROMPT: Wrong rescue code\. The code service cannot be reached' "$OUT"
done
# Without rescue codes: today's behaviour.
fresh failmode=closed
mockctl fault status500 --path /v1/messages --count 100 >/dev/null
login daemon $PHONE -- @code
assert_eq "service down, no rescue file, closed: PAM_AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
assert_no_match "service down, no rescue file: no rescue prompt" 'Rescue code' "$OUT"
fresh failmode=open
mockctl fault status500 --path /v1/messages --count 100 >/dev/null
issue bin 2
login daemon $PHONE -- @code
assert_eq "service down, codes for another user only, open: bypassed as before" PAM_SUCCESS "$RES"
assert_match "...logged as a bypass" 'BYPASSED' "$OUT"
# All used during an outage: told so, then today's behaviour.
fresh failmode=closed
issue daemon 1
login daemon $PHONE -- "${CODES[0]}"
mockctl fault status500 --path /v1/messages --count 100 >/dev/null
login daemon $PHONE -- "${CODES[0]}"
assert_eq "service down, all codes used: PAM_AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
assert_match "service down, all codes used: told so" '^ERROR: All your rescue codes have been used\.' "$OUT"
# A transport failure (nothing listens) takes the same path.
fresh failmode=closed timeout=2 connect_timeout=1
issue daemon 1
sed -i "s#^api_url = .*#api_url = https://127.0.0.1:$(free_port)#" "$T/conf"
login daemon $PHONE -- "${CODES[0]}"
assert_eq "connection refused: a rescue code logs in" PAM_SUCCESS "$RES"

# ---- untrusted rescue files are not used ------------------------------------

untrusted() {
    local what=$1 reason=$2
    login daemon $PHONE -- "${CODES[0]}" @code
    assert_match "$what: the rescue code is not accepted" '^PROMPT: Wrong rescue code\.' "$OUT"
    assert_match "$what: the reason is logged" "rescue file not used user=daemon .*reason=\"$reason" "$OUT"
}
fresh
issue daemon 2
chmod 0640 "$RF"
untrusted "mode 0640" "mode 0640"
chmod 0600 "$RF"
chown 1 "$RF"
untrusted "not owned by root" "owned by uid"
chown 0 "$RF"
mv "$RF" "$RF.real"
ln -s "$RF.real" "$RF"
untrusted "a symlink" ".*link"
rm -f "$RF"
mv "$RF.real" "$RF"
chmod 0777 "$T/sec"
untrusted "a directory others may write" ".*"
chmod 0755 "$T/sec"
printf 'garbage line\n' >>"$RF"
untrusted "a line that does not parse" "line 2 is not valid"
OUT=$(cli rescue issue daemon 2>&1); RC=$?
assert_eq "the CLI refuses to rewrite an invalid file" 3 "$RC"

# ---- doctor: the rescue file ------------------------------------------------
# doctor_out: engagelab-otp doctor --offline, its rescue lines only.
doctor_out() { cli doctor --offline --pam-dir "$T/pam.d" 2>&1 | grep ' rescue'; }
fresh
assert_match "doctor: no file, none issued" '^OK  rescue codes: none issued' "$(doctor_out)"
issue daemon 3
issue bin 2
assert_match "doctor: two users" '^OK  rescue codes: 2 users in ' "$(doctor_out)"
assert_no_match "... nothing to warn about" '^(WARN|FAIL)' "$(doctor_out)"
cli doctor --offline --pam-dir "$T/pam.d" >/dev/null 2>&1
assert_eq "... doctor exits 0" 0 "$?"
now=$(date +%s)
# bin's set issued 366 days ago (expired), daemon's 350 days ago (15 left).
awk -v n="$now" '$1 == "bin" { $2 = n - 366 * 86400 } $1 == "daemon" { $2 = n - 350 * 86400 } { print }' \
    "$RF" >"$RF.new" && cat "$RF.new" >"$RF" && rm -f "$RF.new"
out=$(doctor_out)
assert_match "doctor: an expired set, named, with the fix" \
    '^WARN rescue codes: 1 set expired, no longer accepted \(bin\)' "$out"
assert_match "doctor: a set that expires within 30 days" \
    '^WARN rescue codes: 1 set expire within 30 days \(daemon\)' "$out"
assert_match "... the fix" "rescue issue USER' gives a new set" "$(cli doctor --offline --pam-dir "$T/pam.d" 2>&1)"
fresh
issue daemon 2
sed -i 's/ \$y\$/ !y$/g' "$RF"
assert_match "doctor: every code used" '^WARN rescue codes: 1 user has used every code \(daemon\)' "$(doctor_out)"
fresh
issue daemon 2
printf 'daemon2 notanumber $y$x\n' >>"$RF"
out=$(doctor_out)
assert_match "doctor: a bad line makes the file unusable: FAIL, with the line" \
    '^FAIL rescue file .* is not used: line 2 is not valid \(no rescue code works on this host\)' "$out"
cli doctor --offline --pam-dir "$T/pam.d" >/dev/null 2>&1
assert_eq "... doctor exits 1" 1 "$?"
fresh
issue daemon 2
chmod 0640 "$RF"
assert_match "doctor: a group-readable file: FAIL" '^FAIL rescue file .* is not used: ' "$(doctor_out)"

# ---- with Redis: once across the fleet ------------------------------------

if command -v redis-server >/dev/null; then
    . "$TESTS_DIR/redis/redisenv.sh"
    if redis_start main; then
        url=$(redis_url main)
        mockctl reset >/dev/null
        mkdir -p "$T/secb"
        chmod 0755 "$T/secb"
        for h in a b; do
            d="$T/sec"
            [ $h = b ] && d="$T/secb"
            write_conf "$T/conf$h" "state_dir=$T/state$h" "redis_url=$url" \
                "redis_ca_file=$T/redis-certs/ca.pem" "rescue_file=$d/rescue"
            printf 'auth required %s conf=%s\n' "$MODULE" "$T/conf$h" >"$T/pam.d/host$h"
        done
        rm -f "$RF"
        out=$("$CLI" -c "$T/confa" rescue issue daemon --count 2 2>/dev/null)
        mapfile -t CODES <<<"$out"
        install -m 0600 "$RF" "$T/secb/rescue" # the file is distributed
        SVC=hosta login daemon $PHONE -- "${CODES[0]}"
        assert_eq "Redis: a rescue code logs in on host A" PAM_SUCCESS "$RES"
        SVC=hostb login daemon $PHONE -- "${CODES[0]}" @code
        assert_match "Redis: the same code is refused on host B" '^PROMPT: Wrong rescue code\.' "$OUT"
        assert_eq "Redis: host B's list counts it used" "2 1 1" "$(counts daemon "$T/confb")"
        assert_no_match "Redis: no user name or hash in the keys" 'daemon|y\$' \
            "$(redis_cli main KEYS '*' 2>&1)"
        maxttl=0
        for k in $(redis_cli main KEYS '*' 2>/dev/null); do
            t=$(redis_cli main TTL "$k" 2>/dev/null)
            assert_no_match "Redis: key has a TTL" '^-1$' "$t"
            [ "${t:-0}" -gt "$maxttl" ] && maxttl=$t
        done
        assert_eq "Redis: the used mark lives until the set expires (about 366 days)" 1 \
            "$([ "$maxttl" -gt $((365 * 86400)) ] && [ "$maxttl" -le $((367 * 86400)) ] && echo 1 || echo "$maxttl")"
        SVC=hostb login daemon $PHONE -- "${CODES[1]}"
        assert_eq "Redis: another code works on host B" PAM_SUCCESS "$RES"

        # Redis unusable: uses on other hosts are unknown, so no rescue
        # code is accepted (the host's state_dir knows only its own).
        out=$("$CLI" -c "$T/confa" rescue issue daemon --count 2 2>/dev/null)
        mapfile -t CODES <<<"$out"
        install -m 0600 "$RF" "$T/secb/rescue"
        redis_stop main
        mockctl reset >/dev/null # host B's state_dir knows no code sent before
        SVC=hostb login daemon $PHONE -- "${CODES[0]}"
        assert_eq "Redis down: a rescue code is not accepted" PAM_AUTHINFO_UNAVAIL "$RES"
        assert_match "...logged" 'rescue code not checked user=daemon .*reason=fleet_state_unavailable' "$OUT"
        assert_match "Redis down: rescue list warns that other hosts' uses are not counted" \
            'warning: Redis could not be used' "$("$CLI" -c "$T/confb" rescue list daemon 2>&1)"
        write_conf "$T/confc" "state_dir=$T/stateb" "redis_url=$url" \
            "redis_ca_file=$T/redis-certs/ca.pem" "rescue_file=$T/secb/rescue" \
            "failmode=open"
        printf 'auth required %s conf=%s\n' "$MODULE" "$T/confc" >"$T/pam.d/hostc"
        mockctl fault status500 --path /v1/messages --count 100 >/dev/null
        SVC=hostc login daemon $PHONE -- "${CODES[0]}"
        assert_eq "Redis and the service down, failmode=open: a code holder is refused, not bypassed" \
            PAM_AUTHINFO_UNAVAIL "$RES"
        assert_match "...logged" 'rescue codes cannot be checked user=daemon' "$OUT"
        assert_no_match "...no bypass" 'BYPASSED' "$OUT"
        mockctl fault none >/dev/null
    else
        t_fail "redis-server starts"
    fi
fi

t_summary
