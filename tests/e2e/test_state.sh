#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests of abuse resistance and state (issue 5): send limits
# per user and per remote address under concurrency, lockout, resend on an
# empty answer, channel choice, locally generated codes, grace periods,
# damaged state files, and "engagelab-otp state show|reset".
#
# Mostly existing system accounts (daemon, bin, games, lp, mail, news).
# The "200 parallel logins for distinct users" case needs 200 accounts:
# they are created with useradd --system --no-create-home under a prefix
# unique to this run (GECOS "eotp-test pid=PID") while the other cases
# run, and removed with userdel at exit, even on failure.  Accounts left
# by a run that was killed outright are removed by the next run.  Nothing
# else is written outside the temp dir.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
t_setup
t_on_exit mock_stop
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }

PHONE=+6581234567
EMAIL=daemon@example.com
NUSERS=${EOTP_TEST_NUSERS:-200}
UPFX="eotpt$(printf '%04x' $(($$ % 65536)))"

# ---- the 200 accounts (created in the background) ------------------------------

# Remove accounts of earlier runs whose process is gone.
getent passwd | grep -E '^eotpt[0-9a-f]{4}[0-9]{3}:' |
    while IFS=: read -r name _ _ _ gecos _; do
        case $gecos in
        "eotp-test pid="*)
            kill -0 "${gecos#eotp-test pid=}" 2>/dev/null || userdel "$name" 2>/dev/null
            ;;
        esac
    done

remove_users() {
    if [ -n "${USERADD_PID:-}" ]; then
        kill "$USERADD_PID" 2>/dev/null
        wait "$USERADD_PID" 2>/dev/null
    fi
    getent passwd | grep -E "^$UPFX[0-9]{3}:" | cut -d: -f1 |
        while read -r name; do
            for try in 1 2 3 4 5 6 7 8 9 10; do
                userdel "$name" 2>/dev/null && break
                sleep 0.3
            done
        done
}
t_on_exit remove_users
(
    for i in $(seq 0 $((NUSERS - 1))); do
        name=$(printf '%s%03d' "$UPFX" "$i")
        # Another run may hold the passwd lock for a moment: retry.
        for try in 1 2 3 4 5 6 7 8 9 10; do
            useradd --system --no-create-home -N -g nogroup \
                -s /usr/sbin/nologin -c "eotp-test pid=$$" "$name" && break
            [ "$try" = 10 ] && exit 1
            sleep 0.3
        done
    done
) >"$T/useradd.log" 2>&1 &
USERADD_PID=$!

# ---- set-up ---------------------------------------------------------------------

cat >"$T/users" <<MAP
daemon:$PHONE,$EMAIL
bin:+6590000001
games:+6590000002
lp:+6590000003
mail:+6590000004
news:+6590000005
MAP
for i in $(seq 0 $((NUSERS - 1))); do
    printf '%s%03d:+659100%04d\n' "$UPFX" "$i" "$i"
done >>"$T/users"
chmod 0644 "$T/users"
mkdir -p "$T/pam.d"
printf 'auth required pam_deny.so\n' >"$T/pam.d/other"

fresh() {
    mockctl reset >/dev/null
    mockctl config --codes-3004 no >/dev/null
    rm -rf "$T/state"
    write_conf "$T/conf" "$@"
    service eotp "conf=$T/conf"
    SVC=eotp
    REQ0=$(mock_request_count)
    OUT0=$(mock_sent_count)
}

requests_since() { echo $(($(mock_request_count) - $1)); }
# sent_to [DEST]: codes delivered (to DEST) since fresh.
sent_to() {
    if [ $# -ge 1 ]; then
        mockctl count --outbox "$MOCK_OUTBOX" --to "$1" --after-line "$OUT0"
    else
        mockctl count --outbox "$MOCK_OUTBOX" --after-line "$OUT0"
    fi
}
# calls_to PATH: API requests to PATH since fresh.
calls_to() { mockctl requests --log "$MOCK_REQLOG" --path "$1" --after-line "$REQ0"; }
cli() { "$CLI" -c "$T/conf" "$@"; }
# now_minus SECONDS
now_minus() { echo $(($(date +%s) - $1)); }
# shift_times FILE KEY SECONDS: move the times of KEY lines back, as an
# administrator's clock would (send, wrong, pending, grace: the times;
# code: creation and expiry).
cat >"$T/shift.py" <<'PY'
import sys
path, key, delta = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = []
for line in open(path):
    k, sep, v = line.rstrip("\n").partition("=")
    if sep and k == key:
        if k in ("send", "wrong"):
            v = ",".join(str(int(t) - delta) for t in v.split(","))
        else:
            f = v.split(" ")
            idx = (5, 6) if k == "code" else (len(f) - 1,)
            for i in idx:
                f[i] = str(int(f[i]) - delta)
            v = " ".join(f)
    out.append(k + sep + v + "\n")
open(path, "w").write("".join(out))
PY
shift_times() { python3 "$T/shift.py" "$@"; }
# record_ok FILE: the record is a root-owned regular file in the format.
record_ok() {
    [ -f "$1" ] && [ ! -L "$1" ] && [ "$(stat -c %u "$1")" = 0 ] &&
        head -n 1 "$1" | grep -qx 'version=3' && tail -n 1 "$1" | grep -qx 'end='
}

# ---- send limits under concurrency -------------------------------------------------

# parallel N: N logins of daemon at once, answering @fail; outputs in
# $T/par.1 ... (waits for exactly these processes, not the mock).
parallel() {
    local pids=() i
    rm -f "$T"/par.*
    for i in $(seq "$1"); do
        timeout 60 "$HARNESS" --confdir "$T/pam.d" --service eotp --user daemon \
            --outbox "$MOCK_OUTBOX" --to $PHONE -- @fail >"$T/par.$i" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}"
}

fresh code_mode=local send_limit=5/900
parallel 50
assert_eq "50 parallel logins, send_limit 5/900: exactly 5 codes delivered" \
    5 "$(sent_to $PHONE)"
assert_eq "the other 45 were refused" 45 "$(grep -l '^RESULT: PAM_AUTH_ERR' "$T"/par.* | wc -l)"
assert_eq "the 5 with a code reached the prompt" 5 "$(grep -l '^PROMPT: Code sent by SMS' "$T"/par.* | wc -l)"
assert_eq "refused users are told when to try again" 45 \
    "$(grep -lx 'ERROR: Too many codes requested; try again in 15 minutes.' "$T"/par.* | wc -l)"
assert_match "refusal audited with user, rhost and limit" \
    'SYSLOG: <4> .*send limit reached, nothing sent user=daemon service=eotp rhost=- limit=send_limit count=5 window=900 retry_in=[0-9]+' \
    "$(cat "$T"/par.*)"
assert_match "refusal logged as denied" 'result=denied .*reason=send_limit' "$(cat "$T"/par.*)"
if record_ok "$T/state/daemon.state"; then t_ok "state file intact after 50 parallel logins"; else t_fail "state file intact after 50 parallel logins" "$(cat "$T/state/daemon.state")"; fi
assert_eq "record holds exactly 5 sends" 5 \
    "$(sed -n 's/^send=//p' "$T/state/daemon.state" | tr ',' '\n' | wc -l)"
show=$(cli state show daemon 2>&1)
assert_match "state show reads it" 'codes sent: 5 in the last 900 s \(send_limit 5/900\)' "$show"
assert_no_match "state show finds nothing corrupt" 'corrupt|ignoring' "$show"
assert_eq "local codes never reach /v1/verifications" 0 "$(calls_to /v1/verifications)"

fresh send_limit=5/900
parallel 50
assert_eq "platform codes, 50 parallel logins: one code, 49 reuse it (3004)" \
    "1 49" "$(sent_to $PHONE) $(grep -l 'reused=yes' "$T"/par.* | wc -l)"
assert_eq "reuse does not count against send_limit" 1 \
    "$(sed -n 's/^send=//p' "$T/state/daemon.state" | tr ',' '\n' | wc -l)"

# ---- per remote address ------------------------------------------------------------------

fresh code_mode=local send_limit=off rhost_send_limit=3/900
n=0
for u in daemon:$PHONE bin:+6590000001 games:+6590000002; do
    login "${u%%:*}" "${u#*:}" --rhost 198.51.100.7 -- @code
    [ "$RES" = PAM_SUCCESS ] && n=$((n + 1))
done
assert_eq "three users from one address log in" 3 "$n"
r0=$(mock_request_count)
login lp +6590000003 --rhost 198.51.100.7 -- @code
assert_eq "a fourth code for that address is refused" PAM_AUTH_ERR "$RES"
assert_eq "nothing sent past rhost_send_limit" 0 "$(requests_since "$r0")"
assert_match "rhost refusal audited" 'send limit reached, nothing sent user=lp service=eotp rhost=198.51.100.7 limit=rhost_send_limit count=3 window=900' "$OUT"
assert_match "rhost refusal told to the user" '^ERROR: Too many codes requested; try again in 15 minutes\.$' "$OUT"
login lp +6590000003 --rhost 198.51.100.8 -- @code
assert_eq "another address is not limited" PAM_SUCCESS "$RES"
login lp +6590000003 -- @code
assert_eq "no rhost (sudo, console): no address limit" PAM_SUCCESS "$RES"
assert_eq "record names never hold the address" 0 "$(ls -a "$T/state" | grep -c '198\.51')"
assert_eq "address records are named by a keyed hash" 2 \
    "$(ls "$T/state" | grep -cE '^\+r-[0-9a-f]{40}\.state$')"
assert_match "state show --rhost" 'codes requested: 3 in the last 900 s \(rhost_send_limit 3/900\)' \
    "$(cli state show --rhost 198.51.100.7 2>&1)"
cli state reset --rhost 198.51.100.7 >/dev/null
login lp +6590000003 --rhost 198.51.100.7 -- @code
assert_eq "state reset --rhost lifts the address limit" PAM_SUCCESS "$RES"

fresh code_mode=local send_limit=off rhost_send_limit=2/900
login bin +6590000001 --rhost 2001:db8:1:2::10 -- @code
login games +6590000002 --rhost 2001:db8:1:2:ffff::20 -- @code
login lp +6590000003 --rhost 2001:db8:1:2:aaaa::1 -- @code
assert_eq "IPv6 addresses count per /64" PAM_AUTH_ERR "$RES"
login lp +6590000003 --rhost 2001:db8:1:3::1 -- @code
assert_eq "another /64 is another address" PAM_SUCCESS "$RES"
login lp +6590000003 --rhost ::ffff:198.51.100.9 -- @code
login mail +6590000004 --rhost 198.51.100.9 -- @code
login news +6590000005 --rhost 198.51.100.9 -- @code
assert_eq "an IPv4-mapped address counts as the IPv4 address" PAM_AUTH_ERR "$RES"

# ---- lockout ------------------------------------------------------------------------------

fresh lockout=3/3 max_attempts=2
login daemon $PHONE -- @wrong @wrong
assert_eq "two wrong codes: PAM_MAXTRIES" PAM_MAXTRIES "$RES"
login daemon $PHONE -- @wrong @code
assert_eq "third wrong code within the window: locked" PAM_AUTH_ERR "$RES"
assert_match "lockout told to the user" '^ERROR: Too many wrong codes; try again in [123] seconds?\.$' "$OUT"
assert_match "lockout audited" 'SYSLOG: <4> .*lockout reached after wrong codes user=daemon .*limit=lockout count=3 window=3' "$OUT"
assert_eq "no further prompt once locked" 1 "$(printf '%s\n' "$OUT" | grep -c '^PROMPT:')"
r0=$(mock_request_count)
login daemon $PHONE -- @code
assert_eq "locked: refused" PAM_AUTH_ERR "$RES"
assert_eq "locked: nothing sent" 0 "$(requests_since "$r0")"
assert_match "locked: logged" 'locked out after wrong codes, nothing sent user=daemon.*result=denied .*reason=locked' "$(printf '%s' "$OUT" | tr '\n' ' ')"
sleep 3
login daemon $PHONE -- @code
assert_eq "lockout ends with its window" PAM_SUCCESS "$RES"

fresh lockout=3/900
login daemon $PHONE -- @wrong @wrong @code
assert_eq "wrong, wrong, right: in" PAM_SUCCESS "$RES"
assert_match "a successful login clears the wrong codes" 'wrong codes: 0 in the last 900 s' "$(cli state show daemon 2>&1)"

# Sessions of one user in parallel share the pending code (3004): one waits
# at the prompt while another reaches the lockout; the first one's answer,
# even the right code, is then not checked.
fresh lockout=2/900
mockctl config --codes-3004 yes >/dev/null
printf 'exec %q --confdir %q --service eotp --user daemon --outbox %q --to %q -- @wrong @wrong @wrong >%q 2>&1\n' \
    "$HARNESS" "$T/pam.d" "$MOCK_OUTBOX" "$PHONE" "$T/other.out" >"$T/other.sh"
login daemon $PHONE -- "@cmd:sh $T/other.sh" @code
assert_match "parallel sessions: the other one reached the lockout" \
    'lockout reached after wrong codes' "$(cat "$T/other.out")"
assert_eq "parallel sessions: the one at the prompt is refused, right code or not" PAM_AUTH_ERR "$RES"
assert_match "parallel sessions: its answer was not checked" \
    'SYSLOG: <4> .*answer not checked user=daemon' "$OUT"
assert_eq "parallel sessions: two sends (the second answered 3004), the other's two verifications, none for the refused answer" 4 "$(requests_since "$REQ0")"
fresh code_mode=local lockout=2/900
mockctl config --codes-3004 yes >/dev/null
login daemon $PHONE -- "@cmd:sh $T/other.sh" @code
assert_match "parallel sessions, local code: the other one reached the lockout" \
    'lockout reached after wrong codes' "$(cat "$T/other.out")"
assert_eq "parallel sessions, local code: the one at the prompt is refused" PAM_AUTH_ERR "$RES"
assert_match "parallel sessions, local code: its answer was not checked" \
    'SYSLOG: <4> .*answer not checked user=daemon' "$OUT"

# However many sessions check answers at once, the service never sees more
# answers per lockout window than the lockout allows: each answer reserves
# its attempt under the lock before it is sent (issue 11 item 1; before,
# 12 sessions got 11 answers checked).
fresh lockout=3/900 max_attempts=3
mockctl config --codes-3004 yes >/dev/null
mockctl fault slow --path /v1/verifications --delay-ms 500 >/dev/null
pids=()
for i in $(seq 12); do
    timeout 60 "$HARNESS" --confdir "$T/pam.d" --service eotp --user daemon \
        --outbox "$MOCK_OUTBOX" --to $PHONE -- @wrong @wrong @wrong >"$T/par.$i" 2>&1 &
    pids+=($!)
done
wait "${pids[@]}"
mockctl fault none >/dev/null
assert_eq "12 parallel sessions, lockout 3/900, slow verify: at most 3 answers checked" \
    3 "$(calls_to /v1/verifications)"
assert_eq "12 parallel sessions: none got in" 0 "$(grep -l '^RESULT: PAM_SUCCESS' "$T"/par.* | wc -l)"
assert_eq "12 parallel sessions: all were told of the lockout" 12 \
    "$(grep -l '^ERROR: Too many wrong codes' "$T"/par.* | wc -l)"
assert_eq "12 parallel sessions: the record holds exactly 3 wrong codes" 3 \
    "$(sed -n 's/^wrong=//p' "$T/state/daemon.state" | tr ',' '\n' | wc -l)"
login daemon $PHONE -- @code
assert_eq "12 parallel sessions: then locked out, right code or not" PAM_AUTH_ERR "$RES"
# A transport failure gives the reserved attempt back.
fresh lockout=2/900
mockctl fault status500 --path /v1/verifications --count 1 >/dev/null
login daemon $PHONE -- @code
mockctl fault none >/dev/null
assert_eq "verification failed (500): not in" PAM_AUTHINFO_UNAVAIL "$RES"
assert_eq "the reserved attempt was given back" "" \
    "$(sed -n 's/^wrong=//p' "$T/state/daemon.state")"
login daemon $PHONE -- @wrong @code
assert_eq "an answer the service did not judge is not counted" PAM_SUCCESS "$RES"

# Durability: records are replaced atomically (temp file + rename); only
# the save that records a wrong code is fsync'ed, so a lockout survives a
# power failure while a successful login costs no disk flush.
fresh lockout=3/900
# (LeakSanitizer cannot run under ptrace: off for these logins in SAN=1.)
LOGIN_WRAP=(env "ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0"
    strace -f -qq -e trace=fsync,fdatasync -o "$T/fsync.log")
login daemon $PHONE -- @code
assert_eq "durability: right code in" PAM_SUCCESS "$RES"
assert_eq "durability: a successful login does not fsync" 0 "$(grep -c 'sync(' "$T/fsync.log")"
login daemon $PHONE -- @wrong @code
assert_eq "durability: wrong then right in" PAM_SUCCESS "$RES"
assert_eq "durability: the wrong code's save is fsync'ed, nothing else" 1 "$(grep -c 'fsync(.*= 0' "$T/fsync.log")"
fresh code_mode=local lockout=3/900
login daemon $PHONE -- @wrong @code
assert_eq "durability: local code, wrong then right in" PAM_SUCCESS "$RES"
assert_eq "durability: local code: host key and the wrong code's save fsync'ed" 2 "$(grep -c 'fsync(.*= 0' "$T/fsync.log")"
LOGIN_WRAP=()

fresh lockout=3/900
mkdir -m 0700 "$T/state"
old=$(now_minus 1000)
printf 'version=2\nwrong=%s,%s,%s\nend=\n' "$old" "$old" "$old" >"$T/state/daemon.state"
login daemon $PHONE -- @code
assert_eq "wrong codes older than the window do not lock" PAM_SUCCESS "$RES"
recent=$(now_minus 10)
printf 'version=2\nwrong=%s,%s,%s\nend=\n' "$recent" "$recent" "$recent" >"$T/state/daemon.state"
login daemon $PHONE -- @code
assert_eq "wrong codes from other logins within the window lock" PAM_AUTH_ERR "$RES"
assert_match "user told when" '^ERROR: Too many wrong codes; try again in 15 minutes\.$' "$OUT"
cli state reset daemon >/dev/null
login daemon $PHONE -- @code
assert_eq "state reset lifts the lockout" PAM_SUCCESS "$RES"

# ---- several services, one state_dir (issue 11 item 2) ----------------------------------
# A login, the sweep, or "engagelab-otp test" under a config with
# lockout = off (or a shorter window) never shortens what a stricter
# service counts: each list keeps its window in the record.
fresh lockout=3/86400 max_attempts=3
write_conf "$T/conf.loose" lockout=off send_limit=off rhost_send_limit=off
service loose "conf=$T/conf.loose"
login daemon $PHONE -- @wrong @wrong @wrong
assert_eq "strict service (lockout 3/86400): three wrong codes" PAM_AUTH_ERR "$RES"
SVC=loose login daemon $PHONE -- @wrong @wrong @wrong
assert_eq "a login under a service with lockout = off" PAM_MAXTRIES "$RES"
login daemon $PHONE -- @code
assert_eq "strict service: still locked out after a login under lockout = off" PAM_AUTH_ERR "$RES"
assert_match "strict service: told so" '^ERROR: Too many wrong codes' "$OUT"
"$CLI" -c "$T/conf.loose" test daemon </dev/null >/dev/null 2>&1
login daemon $PHONE -- @code
assert_eq "strict service: still locked out after engagelab-otp test under lockout = off" PAM_AUTH_ERR "$RES"
write_conf "$T/conf.short" lockout=3/60
service short "conf=$T/conf.short"
shift_times "$T/state/daemon.state" wrong 3600
SVC=short login daemon $PHONE -- @wrong
assert_match "a service with a shorter window (3/60) checks the answer" '^PROMPT: Wrong code' "$OUT"
login daemon $PHONE -- @code
assert_eq "strict service: still locked out after a login under a shorter window" PAM_AUTH_ERR "$RES"
# The sweep, run by a login of another user under the loose config, keeps
# the record: its own window (86400) still needs it.
touch -d '-2 hours' "$T/state/daemon.state" "$T/state/+sweep"
SVC=loose login bin +6590000001 -- @code
assert_eq "another user's login under lockout = off" PAM_SUCCESS "$RES"
if [ -f "$T/state/daemon.state" ]; then t_ok "the sweep under lockout = off keeps a record the strict service needs"; else t_fail "the sweep under lockout = off keeps a record the strict service needs" "$(ls -la "$T/state")"; fi
login daemon $PHONE -- @code
assert_eq "strict service: still locked out after the sweep" PAM_AUTH_ERR "$RES"

# ---- resend on an empty answer ------------------------------------------------------------

fresh
login daemon $PHONE -- "" @code
assert_eq "empty answer, then the code: in" PAM_SUCCESS "$RES"
assert_match "while the service answers 3004 the earlier code is still valid" \
    '^PROMPT: The code sent earlier by SMS to \+65\*{6}67 is still valid\. Code: $' "$OUT"
assert_eq "3004: no second code delivered" 1 "$(sent_to $PHONE)"
assert_eq "3004: two sends asked for" 2 "$(calls_to /v1/messages)"

fresh
login daemon $PHONE -- "@cmd:$TESTS_DIR/mock/mockctl.py --url $MOCK_URL --ca $MOCK_CA clock 600 >/dev/null" "" @code
assert_eq "after the first code expired, an empty answer sends a new one" PAM_SUCCESS "$RES"
assert_match "prompt says a new code was sent" '^PROMPT: New code sent by SMS to \+65\*{6}67: $' "$OUT"
assert_eq "two codes delivered" 2 "$(sent_to $PHONE)"

fresh code_mode=local send_limit=2/900
login daemon $PHONE -- "" "" @code
assert_eq "local codes: resend, then the limit, then the code" PAM_SUCCESS "$RES"
assert_match "resend delivered a new code" '^PROMPT: New code sent by SMS' "$OUT"
assert_match "resend past send_limit is refused with the time" \
    '^PROMPT: Too many codes requested; try again in 15 minutes\. New code sent by SMS' "$OUT"
assert_eq "resends count against send_limit: 2 delivered" 2 "$(sent_to $PHONE)"

fresh code_mode=local
mockctl config --codes-3004 yes >/dev/null
login daemon $PHONE -- "" @code
assert_eq "local codes with 3004 on /v1/codes: the earlier code stays valid" PAM_SUCCESS "$RES"
assert_match "and the prompt says so" '^PROMPT: The code sent earlier by SMS to \+65\*{6}67 is still valid' "$OUT"
assert_eq "one local code delivered" 1 "$(sent_to $PHONE)"

fresh code_mode=local send_limit=off
login daemon $PHONE -- "" "" "" "" @code
assert_match "at most three new codes per login" '^PROMPT: No more new codes in this login\.' "$OUT"
assert_eq "four codes delivered in all" 4 "$(sent_to $PHONE)"

# ---- channel choice -------------------------------------------------------------------------

fresh "alt_templates=voice:pam-otp-voice, email:pam-otp-email"
login daemon $PHONE -- voice @code
assert_eq "'voice' at the prompt: code by call, in" PAM_SUCCESS "$RES"
assert_match "prompt offers the alternatives" \
    '^PROMPT: Code sent by SMS to \+65\*{6}67 \(empty for a new code, "voice" for a call, "email" for an email\): $' "$OUT"
assert_match "voice code went through the voice template to the phone" \
    '"to":"\+6581234567".*"template":"pam-otp-voice".*"channel":"voice"' "$(tail -n 1 "$MOCK_OUTBOX")"
assert_match "prompt names the call" '^PROMPT: New code sent by voice call to \+65\*{6}67 \(empty for a new code, "email" for an email\): $' "$OUT"
assert_match "the call is logged" 'result=success user=daemon .*channel=voice' "$OUT"

fresh "alt_templates=voice:pam-otp-voice, email:pam-otp-email"
login daemon $EMAIL -- email @code
assert_eq "'email' at the prompt: code to the second destination, in" PAM_SUCCESS "$RES"
assert_match "email code went through the email template" \
    '"to":"daemon@example.com".*"template":"pam-otp-email"' "$(tail -n 1 "$MOCK_OUTBOX")"
assert_match "prompt names the masked address" '^PROMPT: New code sent by email to d\*\*\*@example\.com' "$OUT"
assert_no_match "the full address is never logged" 'SYSLOG:.*daemon@example' "$OUT"

fresh "alt_templates=voice:pam-otp-voice, email:pam-otp-email"
login bin +6590000001 -- @fail
assert_match "no email offered without an email destination" \
    '^PROMPT: Code sent by SMS to \+65\*{6}01 \(empty for a new code, "voice" for a call\): $' "$OUT"
login bin +6590000001 -- email @code
assert_match "asking for email anyway is answered" '^PROMPT: No email destination is on file\.' "$OUT"

fresh code_mode=local "alt_templates=voice:pam-otp-voice"
login daemon $PHONE -- voice @code
assert_eq "channel switch with local codes" PAM_SUCCESS "$RES"
assert_match "local voice code sent by /v1/codes" '"endpoint":"/v1/codes".*"template":"pam-otp-voice"' "$(tail -n 1 "$MOCK_OUTBOX")"

# ---- locally generated codes -------------------------------------------------------------------

fresh code_mode=local
login daemon $PHONE -- @code
assert_eq "local code: right code logs in" PAM_SUCCESS "$RES"
code=$(mock_code $PHONE)
assert_match "sent with /v1/codes, 6 characters of the default alphabet" '^[0-9a-zA-Z]{6}$' "$code"
assert_eq "no /v1/verifications call" 0 "$(calls_to /v1/verifications)"
assert_no_match "the code is in no log line" "$code" "$(printf '%s\n' "$OUT" | grep SYSLOG)"
assert_eq "the code is nowhere in state_dir" 0 "$(grep -rlF -- "$code" "$T/state" | wc -l)"
assert_eq "a used code leaves the record" 0 "$(grep -c '^code=' "$T/state/daemon.state")"
assert_eq "host key: root, 0600, 32 bytes" "0 600 32" "$(stat -c '%u %a %s' "$T/state/+hostkey")"
assert_eq "state_dir is 0700" 700 "$(stat -c %a "$T/state")"

fresh code_mode=local code_type=1 code_length=8
login daemon $PHONE -- @wrong @code
assert_eq "local code: wrong then right" PAM_SUCCESS "$RES"
assert_match "code_type and code_length honoured" '^[0-9]{8}$' "$(mock_code $PHONE)"

fresh code_mode=local code_length=3
login daemon $PHONE -- @code
assert_eq "local codes shorter than 4 are refused: fails closed" PAM_SERVICE_ERR "$RES"
assert_match "and says why" 'config: code_length must be 0 \(any\) or 4 to 10' "$OUT"
assert_eq "nothing sent" 0 "$(requests_since "$REQ0")"

fresh code_mode=local
login daemon $PHONE -- "@cmd:python3 $T/shift.py $T/state/daemon.state code 400" @code
assert_eq "local code past its expiry: refused" PAM_AUTH_ERR "$RES"
assert_match "user told it expired" '^ERROR: The code has expired or was already used' "$OUT"
assert_match "logged as expired" 'result=denied .*reason=expired' "$OUT"

fresh code_mode=local
mockctl config --codes-3004 yes >/dev/null
login daemon $PHONE -- @fail
first=$(mock_code $PHONE)
login daemon $PHONE -- @code
assert_eq "a pending local code is used once (after 3004)" PAM_SUCCESS "$RES"
assert_eq "with the code sent first" "$first" "$(mock_code $PHONE)"
login daemon $PHONE -- @code
assert_eq "the same code again: refused" PAM_AUTH_ERR "$RES"
assert_match "reuse refused as a recent send, nothing to verify" 'reason=resend_refused' "$OUT"

fresh code_mode=local max_attempts=3 lockout=off
mockctl config --codes-3004 yes >/dev/null
login daemon $PHONE -- @fail
login daemon $PHONE -- @wrong @wrong
login daemon $PHONE -- @wrong @code
assert_eq "max_attempts wrong answers use a local code up, across logins" PAM_AUTH_ERR "$RES"

# ---- grace period ----------------------------------------------------------------------------

KEY1="publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKEYONEkeyoneKEYONEkeyone"
KEY2="publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKEYTWOkeytwoKEYTWOkeytwo"
fresh grace_period=60
login daemon $PHONE --rhost 203.0.113.5 --env "SSH_AUTH_INFO_0=$KEY1" -- @code
assert_eq "grace: first login needs the code" PAM_SUCCESS "$RES"
r0=$(mock_request_count)
login daemon $PHONE --rhost 203.0.113.5 --env "SSH_AUTH_INFO_0=$KEY1" -- @fail
assert_eq "grace hit: same user, service, rhost and key" PAM_SUCCESS "$RES"
assert_eq "grace hit: no prompt" 0 "$(printf '%s\n' "$OUT" | grep -c '^PROMPT:')"
assert_eq "grace hit: nothing sent" 0 "$(requests_since "$r0")"
assert_match "grace hit logged" 'grace period: second factor skipped user=daemon service=eotp rhost=203.0.113.5' "$OUT"
assert_match "outcome says grace" 'result=success .*grace=yes' "$OUT"
login daemon $PHONE --rhost 203.0.113.6 --env "SSH_AUTH_INFO_0=$KEY1" -- @fail
assert_eq "grace miss: another rhost" PAM_CONV_ERR "$RES"
login daemon $PHONE --rhost 203.0.113.5 --env "SSH_AUTH_INFO_0=$KEY2" -- @fail
assert_eq "grace miss: another public key" PAM_CONV_ERR "$RES"
login daemon $PHONE --rhost 203.0.113.5 -- @fail
assert_eq "grace miss: no SSH_AUTH_INFO_0" PAM_CONV_ERR "$RES"
service eotp2 "conf=$T/conf"
SVC=eotp2 login daemon $PHONE --rhost 203.0.113.5 --env "SSH_AUTH_INFO_0=$KEY1" -- @fail
assert_eq "grace miss: another service" PAM_CONV_ERR "$RES"
login bin +6590000001 --rhost 203.0.113.5 --env "SSH_AUTH_INFO_0=$KEY1" -- @fail
assert_eq "grace miss: another user" PAM_CONV_ERR "$RES"
login daemon $PHONE --rhost 203.0.113.5 --env "SSH_AUTH_INFO_0=$(printf 'password\n%s' "$KEY1")" -- @fail
assert_eq "only the publickey lines bind" PAM_SUCCESS "$RES"
assert_eq "no key text in state_dir" 0 "$(grep -rlE 'AAAAC3|KEYONE|203\.0\.113' "$T/state" | wc -l)"
shift_times "$T/state/daemon.state" grace 61
login daemon $PHONE --rhost 203.0.113.5 --env "SSH_AUTH_INFO_0=$KEY1" -- @fail
assert_eq "grace miss: expired" PAM_CONV_ERR "$RES"

fresh grace_period=60 lockout=2/900 max_attempts=2
login daemon $PHONE --rhost 203.0.113.5 -- @code
login daemon $PHONE --rhost 203.0.113.7 -- @wrong @wrong
login daemon $PHONE --rhost 203.0.113.5 -- @fail
assert_eq "a lockout wins over a grace period" PAM_AUTH_ERR "$RES"

fresh grace_period=60 code_mode=local
login daemon $PHONE --rhost 203.0.113.5 -- @code
login daemon $PHONE --rhost 203.0.113.5 -- @fail
assert_eq "grace after a local code" PAM_SUCCESS "$RES"

# ---- damaged state ------------------------------------------------------------------------------

# damaged NAME SETUP-COMMAND: the login still needs the right code, wrong
# codes still fail, nothing crashes, and the record is rewritten sound.
damaged() {
    local name=$1 setup=$2
    fresh lockout=10/900
    mkdir -m 0700 "$T/state"
    eval "$setup"
    login daemon $PHONE -- @wrong @wrong @wrong
    assert_eq "$name record: wrong codes still fail" PAM_MAXTRIES "$RES"
    assert_match "$name record: logged" 'state: (corrupt file|ignoring untrustworthy)' "$OUT"
    login daemon $PHONE -- @code
    assert_eq "$name record: the right code still works" PAM_SUCCESS "$RES"
    if record_ok "$T/state/daemon.state"; then t_ok "$name record: replaced by a sound one"; else t_fail "$name record: replaced by a sound one" "$(ls -la "$T/state")"; fi
}
d="$T/state/daemon.state"
damaged garbage "head -c 3000 /dev/urandom >'$d'"
damaged "NUL bytes" "printf 'version=2\n\0send=1\nend=\n' >'$d'"
damaged truncated "printf 'version=2\nsend=%s,%s\nwrong=17' \$(date +%s) \$(date +%s) >'$d'"
damaged "cut at a line end" "printf 'version=2\nsend=%s\n' \$(date +%s) >'$d'"
damaged huge "head -c 10000000 /dev/zero >'$d'"
damaged "too many entries" "{ printf 'version=2\nsend='; seq -s, 1000000000 1000001000; printf 'end=\n'; } >'$d'"
damaged "bad field" "printf 'version=2\ngrace=zz 1\nend=\n' >'$d'"
damaged "wrong owner" "printf 'version=2\nwrong=%s\nend=\n' \$(date +%s) >'$d'; chown nobody '$d'"
damaged fifo "mkfifo '$d'"
printf 'version=2\ngrace=%s %s\nend=\n' "$(printf 'a%.0s' $(seq 64))" "$(date +%s)" >"$T/elsewhere"
damaged symlink "ln -s '$T/elsewhere' '$d'"
assert_eq "the symlink's target was never written" 1 "$(grep -c '^grace=' "$T/elsewhere")"

fresh code_mode=local lockout=3/900 max_attempts=2
login daemon $PHONE -- @wrong @wrong
head -c 100 /dev/urandom >>"$T/state/daemon.state"
login daemon $PHONE -- @wrong @wrong
assert_eq "a damaged record costs the count, never the code" PAM_MAXTRIES "$RES"

fresh grace_period=60 code_mode=local
mkdir -m 0700 "$T/state"
head -c 7 /dev/urandom >"$T/state/+hostkey"
chmod 0600 "$T/state/+hostkey"
login daemon $PHONE -- @code
assert_eq "damaged host key: replaced, login works" PAM_SUCCESS "$RES"
assert_match "damaged host key logged" 'host key file damaged, replacing it' "$OUT"
assert_eq "new host key is 32 bytes" 32 "$(stat -c %s "$T/state/+hostkey")"

fresh code_mode=local rhost_send_limit=1/900
login daemon $PHONE --rhost 198.51.100.20 -- @code
for f in "$T"/state/+r-*.state; do head -c 500 /dev/urandom >"$f"; done
login daemon $PHONE --rhost 198.51.100.20 -- @code
assert_eq "damaged address record: read as empty" PAM_SUCCESS "$RES"

fresh
mkdir -m 0700 "$T/state"
mkdir "$T/state/daemon.state"
login daemon $PHONE -- @code
assert_eq "a directory in place of the record: fails closed" PAM_SERVICE_ERR "$RES"
assert_match "and says why" 'state: cannot rename file=daemon.state' "$OUT"

fresh
mkdir -m 0755 "$T/state"
login daemon $PHONE -- @code
assert_eq "state_dir open to others: fails closed" PAM_SERVICE_ERR "$RES"
chmod 0700 "$T/state"
chown nobody "$T/state"
login daemon $PHONE -- @code
assert_eq "state_dir not owned by root: fails closed" PAM_SERVICE_ERR "$RES"

# ---- pruning ---------------------------------------------------------------------------------------

fresh send_limit=off lockout=off
login daemon $PHONE -- @code
assert_eq "nothing left to remember: no record" "" "$(ls "$T/state" | grep -v '^+')"

fresh
login daemon $PHONE -- @code
for n in old1 old2 +r-0123456789abcdef0123456789abcdef01234567; do
    printf 'version=2\nsend=1\nend=\n' >"$T/state/$n.state"
    : >"$T/state/$n.lock"
    touch -d '3 days ago' "$T/state/$n.state" "$T/state/$n.lock"
done
touch -d '2 hours ago' "$T/state/+sweep"
login bin +6590000001 -- @code
assert_eq "records untouched for longer than any window are swept" \
    "" "$(ls "$T/state" | grep -E 'old1|old2|0123456789abcdef')"
assert_eq "live records are kept" 2 "$(ls "$T/state" | grep -cE '^(daemon|bin)\.state$')"

# ---- engagelab-otp state ----------------------------------------------------------------------------

fresh lockout=5/900
login daemon $PHONE -- @fail
login daemon $PHONE -- "" @wrong @fail
show=$(cli state show daemon 2>&1)
assert_match "state show: codes sent" 'codes sent: 1 in the last 900 s \(send_limit 5/900\)' "$show"
assert_match "state show: wrong codes" 'wrong codes: 1 in the last 900 s \(lockout 5/900\)' "$show"
assert_match "state show: pending code" 'pending codes: 1' "$show"
assert_match "state show: not locked" 'locked out: no' "$show"
assert_no_match "state show: never a code or destination" "$(mock_code $PHONE)|6581234567" "$show"
cli state reset daemon >/dev/null
assert_match "state reset clears the record" 'record: none' "$(cli state show daemon 2>&1)"
cli state show 2>/dev/null
assert_eq "state show without USER: usage error" 2 "$?"
cli state frob daemon 2>/dev/null
assert_eq "unknown state command: usage error" 2 "$?"

# ---- 200 parallel logins for distinct users -----------------------------------------------------------

fresh
if ! wait "$USERADD_PID"; then
    t_fail "create $NUSERS test accounts" "$(tail -n 5 "$T/useradd.log")"
fi
USERADD_PID=
start=$(date +%s%N)
pids=()
for i in $(seq 0 $((NUSERS - 1))); do
    u=$(printf '%s%03d' "$UPFX" "$i")
    timeout 120 "$HARNESS" --confdir "$T/pam.d" --service eotp --user "$u" \
        --rhost "10.9.$((i / 250)).$((i % 250 + 1))" \
        --outbox "$MOCK_OUTBOX" --to "$(printf '+659100%04d' "$i")" -- @code >"$T/many.$i" 2>&1 &
    pids+=($!)
done
wait "${pids[@]}"
elapsed=$((($(date +%s%N) - start) / 1000000))
echo "# $NUSERS parallel logins took $elapsed ms"
assert_eq "$NUSERS parallel logins for distinct users all succeed" "$NUSERS" \
    "$(grep -lx 'RESULT: PAM_SUCCESS' "$T"/many.* | wc -l)"
assert_eq "one code each" "$NUSERS" "$(sent_to)"
bad=0
for i in $(seq 0 $((NUSERS - 1))); do
    record_ok "$T/state/$(printf '%s%03d' "$UPFX" "$i").state" || bad=$((bad + 1))
done
assert_eq "every user's record intact" 0 "$bad"

t_summary
