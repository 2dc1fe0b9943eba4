#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_delivery.sh - delivery status at the code prompt (issue 14), end to
# end through the real libpam with pam_harness, the HTTPS mock and the
# real callback receiver ("engagelab-otp callback serve").  While the
# login waits at the prompt (an @cmd before the answer), a signed status
# callback for the message the mock just sent is POSTed to the receiver,
# which stores it; the module reads it on an empty answer or after a
# wrong code.
#
# Cases: delivered (said, no new send; a second empty answer asks for
# one), failed (said, and the next code goes by the alternative channel
# at once), a fresh delivered_failed (a fallback may follow: as today),
# local codes, unknown and pending (as today), delivery_status = no, a
# damaged record, nothing created in state_dir by a lookup, and the
# fleet: the receiver on one host's config writes to Redis, the module on
# another config reads it; Redis stalled at the prompt (bounded, as
# today).
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
t_setup
t_on_exit mock_stop

PHONE=+6581234567
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }

cat >"$T/users" <<MAP
daemon:$PHONE
MAP
chmod 0644 "$T/users"
mkdir -p "$T/pam.d"
printf 'auth required pam_deny.so\n' >"$T/pam.d/other"

# The callback receiver ("engagelab-otp callback serve") of this host,
# on the module's state_dir (file store) or on Redis (below), signed
# callbacks POSTed to it over HTTP by tests/e2e/post_callback.py.
CBPORT=$(free_port)
CBUSER=eotp-test
printf 'test-callback-secret\n' >"$T/cbsecret"
chmod 0600 "$T/cbsecret"
RECV_PID=
recv_stop() {
    if [ -n "$RECV_PID" ]; then
        kill "$RECV_PID" 2>/dev/null
        wait "$RECV_PID" 2>/dev/null
        RECV_PID=
    fi
}
t_on_exit recv_stop
# recv_start CONF: (re)start the receiver on CONF; waits until it listens.
recv_start() {
    local i
    recv_stop
    : >"$T/recv.log"
    "$CLI" -c "$1" callback serve --stderr >>"$T/recv.log" 2>&1 &
    RECV_PID=$!
    for i in $(seq 1 100); do
        grep -q 'callback receiver started' "$T/recv.log" && return 0
        kill -0 "$RECV_PID" 2>/dev/null || break
        sleep 0.1
    done
    t_fail "callback serve starts" "$(cat "$T/recv.log")"
    return 1
}
# recv_conf FILE [key=value...]: the receiver's config (state_dir $T/state
# unless given).
recv_conf() {
    local f=$1
    shift
    write_conf "$f" "callback_listen=127.0.0.1:$CBPORT" \
        "callback_username=$CBUSER" "callback_secret_file=$T/cbsecret" "$@"
}

# post STATUS [AGE]: the @cmd answer that POSTs a signed callback for the
# message the mock sent last while the login waits at the prompt.
post() {
    printf '@cmd:python3 %s http://127.0.0.1:%s/callback %s %s %s %s %s >>%s 2>&1' \
        "$TESTS_DIR/e2e/post_callback.py" "$CBPORT" "$CBUSER" "$T/cbsecret" \
        "$MOCK_OUTBOX" "$1" "${2:-0}" "$T/post.log"
}
# posted STATUS: the last post got a 200 for STATUS.
posted() { tail -n 1 "$T/post.log" | grep -q "status=$1 http=200"; }

fresh() {
    mockctl reset >/dev/null
    mockctl config --codes-3004 no >/dev/null
    rm -rf "$T/state"
    write_conf "$T/conf" debug=yes "$@"
    service eotp "conf=$T/conf"
    SVC=eotp
    OUT0=$(mock_sent_count)
    REQ0=$(mock_request_count)
}
sent() { mockctl count --outbox "$MOCK_OUTBOX" --to "$PHONE" --after-line "$OUT0"; }
# sends PATH: send requests (PATH /v1/messages or /v1/codes) since fresh.
sends() { tail -n +$((REQ0 + 1)) "$MOCK_REQLOG" | grep -c "$1"; }
ALT="alt_templates=voice:pam-otp-voice"

recv_conf "$T/confcb"
recv_start "$T/confcb" || { t_summary; exit 1; }

# ---- delivered -------------------------------------------------------------

fresh
login daemon $PHONE -- "$(post delivered 150)" "" @code
if posted delivered; then t_ok "the receiver took the callback (200)"; else t_fail "the receiver took the callback (200)" "$(cat "$T/post.log" "$T/recv.log")"; fi
assert_match "the receiver logged the row" "delivery status message_id=[0-9]+ channel=sms status=delivered" "$(cat "$T/recv.log")"
assert_eq "delivered: the code still logs in" PAM_SUCCESS "$RES"
assert_match "delivered: the prompt says so, and when" \
    '^PROMPT: The SMS to \+65\*{6}67 was delivered 2 minutes ago\. Press Enter again for a new code\. Code: $' "$OUT"
assert_eq "delivered: no new SMS on the empty answer" 1 "$(sent)"
assert_eq "delivered: not even asked for" 1 "$(sends /v1/messages)"
assert_match "delivered: the outcome line has the status" \
    'result=success user=daemon .*reason=ok delivery=delivered' "$OUT"

fresh
login daemon $PHONE -- "$(post delivered 10)" "" "" @code
assert_eq "delivered, two empty answers: logs in" PAM_SUCCESS "$RES"
assert_match "delivered just now" 'was delivered less than a minute ago\.' "$OUT"
assert_eq "a second empty answer asks for a new code" 2 "$(sends /v1/messages)"
assert_match "and the prompt says what came of it (3004: the earlier code)" \
    '^PROMPT: The code sent earlier by SMS to \+65\*{6}67 is still valid\. Code: $' "$OUT"

fresh
login daemon $PHONE -- "$(post delivered 60)" @wrong @code
assert_eq "delivered, wrong code first: logs in" PAM_SUCCESS "$RES"
assert_match "after a wrong code the prompt says it was delivered" \
    '^PROMPT: Wrong code\. The SMS to \+65\*{6}67 was delivered 1 minute ago\. Code: $' "$OUT"
assert_eq "nothing sent after the wrong code" 1 "$(sends /v1/messages)"

# ---- failed ------------------------------------------------------------------

fresh "$ALT"
login daemon $PHONE -- "$(post sent_failed)" "" @code
assert_eq "failed: the code by the other channel logs in" PAM_SUCCESS "$RES"
assert_match "failed: the prompt says so and names the new channel" \
    '^PROMPT: The SMS to \+65\*{6}67 could not be delivered\. New code sent by voice call to \+65\*{6}67 \(empty for a new code\): $' "$OUT"
assert_eq "failed: one more send" 2 "$(sent)"
assert_match "the second send went through the voice template" \
    '"template":"pam-otp-voice".*"channel":"voice"' "$(tail -n 1 "$MOCK_OUTBOX")"
assert_match "the switch is logged" \
    'code not delivered, next code by another channel user=daemon .*delivery=sent_failed channel=voice' "$OUT"
assert_match "failed: the outcome line has the last status seen" \
    'result=success .*channel=voice .*delivery=sent_failed' "$OUT"

fresh "$ALT"
login daemon $PHONE -- "$(post target_invalid)" @wrong @code
assert_eq "failed after a wrong code: logs in by the other channel" PAM_SUCCESS "$RES"
assert_match "the switch happens before the next prompt" \
    '^PROMPT: Wrong code\. The SMS to \+65\*{6}67 could not be delivered\. New code sent by voice call' "$OUT"
assert_match "by the voice template" '"template":"pam-otp-voice"' "$(tail -n 1 "$MOCK_OUTBOX")"

fresh "$ALT"
login daemon $PHONE -- "$(post delivered_failed 60)" "" @code
assert_match "delivered_failed with nothing after it: failed" \
    '^PROMPT: The SMS to \+65\*{6}67 could not be delivered\. New code sent by voice call' "$OUT"

fresh "$ALT"
login daemon $PHONE -- "$(post delivered_failed 0)" "" @code
assert_match "a fresh delivered_failed (a fallback may follow): as today" \
    '^PROMPT: The code sent earlier by SMS to \+65\*{6}67 is still valid\. Code \(empty for a new code, "voice" for a call\): $' "$OUT"
assert_eq "a fresh delivered_failed: no switch" 0 "$(sends pam-otp-voice)"

fresh
login daemon $PHONE -- "$(post sent_failed)" "" @code
assert_eq "failed, no other channel: logs in" PAM_SUCCESS "$RES"
assert_match "failed, no other channel: said, and a new code asked for" \
    '^PROMPT: The SMS to \+65\*{6}67 could not be delivered\. The code sent earlier by SMS to \+65\*{6}67 is still valid\. Code: $' "$OUT"
assert_eq "one more send asked for" 2 "$(sends /v1/messages)"

# ---- engagelab-otp test USER: the same flow, and the status it saw --------

fresh
fifo=$T/fifo
mkfifo "$fifo"
setsid -w timeout 30 "$CLI" -c "$T/conf" test daemon <"$fifo" >"$T/test.out" 2>"$T/test.err" &
tpid=$!
exec 7>"$fifo"
code=$(mock_code "$PHONE" "$OUT0" 10)
python3 "$TESTS_DIR/e2e/post_callback.py" "http://127.0.0.1:$CBPORT/callback" "$CBUSER" \
    "$T/cbsecret" "$MOCK_OUTBOX" delivered 120 >>"$T/post.log" 2>&1
printf '\n%s\n' "$code" >&7
exec 7>&-
wait "$tpid"
assert_eq "test USER with a delivered code: exit 0" 0 "$?"
assert_match "test USER: the prompt says it was delivered" \
    'The SMS to \+65\*{6}67 was delivered 2 minutes ago\. Press Enter again' "$(cat "$T/test.err")"
assert_match "test USER: prints the status seen" '^delivery: delivered$' "$(cat "$T/test.out")"
assert_eq "test USER: nothing sent on the empty answer" 1 "$(sends /v1/messages)"

# ---- code_mode = local: /v1/codes has message ids too ---------------------------

fresh code_mode=local "$ALT"
login daemon $PHONE -- "$(post delivered 150)" "" @code
assert_eq "local codes, delivered: logs in" PAM_SUCCESS "$RES"
assert_match "local codes, delivered: said" '^PROMPT: The SMS to \+65\*{6}67 was delivered 2 minutes ago\.' "$OUT"
assert_eq "local codes, delivered: no new code" 1 "$(sends /v1/codes)"
fresh code_mode=local "$ALT"
login daemon $PHONE -- "$(post sent_failed)" "" @code
assert_eq "local codes, failed: logs in by voice" PAM_SUCCESS "$RES"
assert_match "local codes, failed: switched to voice" \
    '^PROMPT: The SMS to \+65\*{6}67 could not be delivered\. New code sent by voice call' "$OUT"

fresh "$ALT"
login daemon $PHONE -- "$(post sent_failed)" @wrong voice @code
assert_eq "the user can still name a channel" PAM_SUCCESS "$RES"
assert_match "the voice code went once (no switch back and forth)" \
    '"channel":"voice"' "$(tail -n 1 "$MOCK_OUTBOX")"

# ---- unknown: as today --------------------------------------------------------

fresh
login daemon $PHONE -- "" @code
assert_match "no record: as today" '^PROMPT: The code sent earlier by SMS to \+65\*{6}67 is still valid\. Code: $' "$OUT"
assert_eq "no record: a new code asked for, as today" 2 "$(sends /v1/messages)"
assert_no_match "no record: no delivery field" 'result=success .*delivery=' "$OUT"
if ls "$T/state" | grep -q dlv; then
    t_fail "a lookup creates nothing in state_dir" "$(ls "$T/state")"
else
    t_ok "a lookup creates nothing in state_dir"
fi

fresh
login daemon $PHONE -- "$(post sent)" "" @code
assert_match "pending (sent): as today" '^PROMPT: The code sent earlier by SMS' "$OUT"
assert_eq "pending (sent): a new code asked for" 2 "$(sends /v1/messages)"
assert_match "pending: the outcome line has the status seen" 'result=success .*delivery=sent' "$OUT"

fresh delivery_status=no
login daemon $PHONE -- "$(post delivered 60)" "" @code
assert_match "delivery_status = no: as today" '^PROMPT: The code sent earlier by SMS' "$OUT"
assert_eq "delivery_status = no: a new code asked for" 2 "$(sends /v1/messages)"
assert_no_match "delivery_status = no: nothing looked up" 'delivery: ' "$OUT"

fresh
login daemon $PHONE -- "$(post delivered 60)" "@cmd:for f in $T/state/+x-dlv-*.state; do printf 'v1 garbage\\n' >\"\$f\"; done" "" @code
assert_eq "a damaged record: logs in" PAM_SUCCESS "$RES"
assert_match "a damaged record: as today" '^PROMPT: The code sent earlier by SMS' "$OUT"
assert_eq "a damaged record: a new code asked for" 2 "$(sends /v1/messages)"

# ---- Redis: one receiver, many hosts ----------------------------------------------

if command -v redis-server >/dev/null; then
    . "$TESTS_DIR/redis/redisenv.sh"
    if redis_start main; then
        url=$(redis_url main)
        CA="$T/redis-certs/ca.pem"
        rfresh() {
            fresh "redis_url=$url" "redis_ca_file=$CA" "$@"
            rm -rf "$T/stater"
            redis_cli main FLUSHALL >/dev/null
            # The receiver's host: its own state_dir, the same Redis.
            recv_conf "$T/confr" "state_dir=$T/stater" "redis_url=$url" \
                "redis_ca_file=$CA"
        }
        rfresh
        recv_start "$T/confr"
        login daemon $PHONE -- "$(post delivered 150)" "" @code
        assert_eq "Redis: logs in" PAM_SUCCESS "$RES"
        assert_match "Redis: a status written on another host is seen at the prompt" \
            '^PROMPT: The SMS to \+65\*{6}67 was delivered 2 minutes ago\.' "$OUT"
        assert_eq "Redis: no new SMS" 1 "$(sent)"
        assert_no_match "Redis: nothing in the receiver's state_dir" . "$(ls "$T/stater" 2>/dev/null | grep dlv)"

        rfresh "$ALT"
        login daemon $PHONE -- "$(post sent_failed)" "" @code
        assert_match "Redis: failed, switched to voice" \
            '^PROMPT: The SMS to \+65\*{6}67 could not be delivered\. New code sent by voice call' "$OUT"

        # Redis stalls while the user is at the prompt: the lookup gives up
        # after delivery_status_wait and the login goes on as today.
        rfresh delivery_status_wait=50
        pid=${REDIS_PID[main]}
        t_on_exit "kill -CONT $pid 2>/dev/null"
        login daemon $PHONE -- "@cmd:kill -STOP $pid" "" "@cmd:kill -CONT $pid" @code
        kill -CONT "$pid" 2>/dev/null
        assert_eq "Redis stalled at the prompt: still logs in" PAM_SUCCESS "$RES"
        assert_match "Redis stalled: the lookup gave up (debug line)" \
            'delivery: status not known message_id=[0-9]+ error=timeout' "$OUT"
        assert_match "Redis stalled: a new code asked for, as today" \
            'new code requested user=daemon .*channel=primary' "$OUT"
        assert_eq "Redis stalled: the send was tried" 2 "$(sends /v1/messages)"

        # Redis slow for a moment (DEBUG SLEEP) while a lookup runs: that
        # lookup gives up, the login stays on Redis (no fall back to
        # state_dir), and later lookups in the login are not tried again.
        rfresh delivery_status_wait=50 redis_timeout=3000
        cat >"$T/slow.sh" <<SLOW
#!/bin/sh
REDISCLI_AUTH=$REDIS_ADMIN_PASS redis-cli --tls --cacert "$CA" -h 127.0.0.1 \
    -p ${REDIS_PORT[main]} --user admin --no-auth-warning DEBUG SLEEP 0.6 >/dev/null 2>&1 &
sleep 0.1
SLOW
        login daemon $PHONE -- "@cmd:sh $T/slow.sh" "" @wrong @code
        assert_eq "Redis slow at the prompt: logs in" PAM_SUCCESS "$RES"
        assert_eq "Redis slow: one bounded read timed out" 1 \
            "$(printf '%s\n' "$OUT" | grep -c 'redis: bounded read failed .*error=timeout')"
        assert_eq "Redis slow: both lookups answered 'not known'" 2 \
            "$(printf '%s\n' "$OUT" | grep -c 'delivery: status not known')"
        assert_no_match "Redis slow: the login stayed on Redis" 'redis: cannot be used' "$OUT"
        assert_match "Redis slow: a new code asked for, as today" \
            'new code requested user=daemon .*channel=primary' "$OUT"
    else
        t_fail "redis-server starts"
    fi
else
    t_fail "redis-server is installed"
fi

t_summary
