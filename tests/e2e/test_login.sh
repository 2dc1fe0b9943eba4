#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests of the login flow: the real libpam loads the built
# module from a service file in a temp dir (pam_start_confdir), the module
# talks HTTPS to the local mock of the EngageLab API, and a scripted
# conversation types the code the mock "delivered".
#
# Users are existing system accounts (daemon, bin, sys, lp, games) so no
# account is created; nothing is written outside the temp dir.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
t_setup
t_on_exit mock_stop

PHONE=+6581234567
EMAIL=alice@example.com
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }
CERTS="$T/mock/certs"

cat >"$T/users" <<MAP
# test user map
daemon:$PHONE
bin : $EMAIL
lp:+10000000001
games:+6590001111
nosuchuser-eotp:+6590000000
mail:12345
MAP
chmod 0644 "$T/users"
mkdir -p "$T/pam.d"
printf 'auth required pam_deny.so\n' >"$T/pam.d/other"

# Start each case from a clean service and state.
fresh() {
    mockctl reset >/dev/null
    rm -rf "$T/state"
    write_conf "$T/conf" "$@"
    service eotp "conf=$T/conf"
    SVC=eotp
    REQ0=$(mock_request_count)
    SENT0=$(mock_sent_count)
}

# requests_since BASE: API requests logged since the count BASE.
requests_since() {
    echo $(($(mock_request_count) - $1))
}

# ---- the normal flow -------------------------------------------------------

fresh
login daemon $PHONE -- @code
assert_eq "right code logs in" PAM_SUCCESS "$RES"
assert_match "prompt names the channel and the masked destination" \
    '^PROMPT: Code sent by SMS to \+65\*{6}67: $' "$OUT"
assert_match "pam_setcred succeeds after authentication" \
    '^SETCRED: PAM_SUCCESS' "$OUT"
assert_match "one syslog line for the outcome" \
    'result=success user=daemon service=eotp rhost=- dest=\+65\*{6}67 message_id=[0-9]{19} channel=sms' "$OUT"
code=$(mock_code $PHONE)
assert_no_match "syslog has neither the code nor the full number" \
    "SYSLOG:.*($code|6581234567)" "$OUT"
assert_eq "one send and one verify" 2 "$(requests_since "$REQ0")"
msgid=$(printf '%s\n' "$OUT" | sed -n 's/.*message_id=\([0-9]*\).*/\1/p' | head -n 1)
outbox_id=$(tail -n 1 "$MOCK_OUTBOX" | python3 -c 'import json,sys; print(json.load(sys.stdin)["message_id"])')
assert_eq "message_id logged exactly as the service gave it" "$outbox_id" "$msgid"
assert_match "the send carried template and language" \
    '"template":\{"id":"pam-otp","language":"default"\}' "$(grep '/v1/messages' "$MOCK_REQLOG" | tail -n 1)"

fresh
login daemon $PHONE -- @wrong @code
assert_eq "wrong then right code logs in" PAM_SUCCESS "$RES"
assert_match "second prompt says the code was wrong" \
    '^PROMPT: Wrong code\. Code sent by SMS' "$OUT"

fresh
login daemon $PHONE -- @wrong @wrong @wrong @code
assert_eq "three wrong codes: PAM_MAXTRIES" PAM_MAXTRIES "$RES"
nver=$(tail -n +$((REQ0 + 1)) "$MOCK_REQLOG" | grep -c '/v1/verifications')
assert_eq "exactly max_attempts verify calls" 3 "$nver"
assert_match "user told of too many wrong codes" '^ERROR: Too many wrong codes' "$OUT"

fresh max_attempts=1
login daemon $PHONE -- @wrong
assert_eq "max_attempts = 1 honoured" PAM_MAXTRIES "$RES"

fresh
login bin $EMAIL -- @code
assert_eq "email destination with an SMS-only template: refused by the API" \
    PAM_SERVICE_ERR "$RES"
fresh template_id=pam-otp-email
login bin $EMAIL -- @code
assert_eq "email destination with an email template" PAM_SUCCESS "$RES"
assert_match "email prompt masks the address" \
    '^PROMPT: Code sent by email to a\*\*\*@example\.com: $' "$OUT"

fresh
service eotp "conf=$T/conf" template_id=pam-otp-email
login bin $EMAIL -- @code
assert_eq "template_id module argument overrides the config" PAM_SUCCESS "$RES"

fresh language=en
login daemon $PHONE -- @code
assert_match "language from the config is sent" '"language":"en"' \
    "$(grep '/v1/messages' "$MOCK_REQLOG" | tail -n 1)"

# ---- who gets a code -------------------------------------------------------

fresh
login sys +0 -- @code
assert_eq "unmapped user denied by default" PAM_USER_UNKNOWN "$RES"
assert_eq "nothing sent for an unmapped user" 0 "$(requests_since "$REQ0")"
fresh unmapped=ignore
login sys +0 -- @code
assert_match "unmapped = ignore: the module returns PAM_IGNORE" \
    'result=ignored user=sys .*reason=out_of_scope' "$OUT"
assert_eq "unmapped = ignore alone in a stack never grants access" \
    PAM_PERM_DENIED "$RES"
printf 'auth required %s conf=%s\nauth required pam_permit.so\n' \
    "$MODULE" "$T/conf" >"$T/pam.d/eotp"
login sys +0 -- @code
assert_eq "unmapped = ignore: the rest of the stack decides" PAM_SUCCESS "$RES"

fresh
login nosuchuser-eotp +6590000000 -- @code
assert_eq "user unknown to the system: PAM_USER_UNKNOWN" PAM_USER_UNKNOWN "$RES"
assert_eq "nothing sent for an unknown system user" 0 "$(requests_since "$REQ0")"
assert_no_match "unknown user name not logged" 'user=nosuchuser' "$OUT"

# A line that names the user but cannot be read is a configuration error
# for that user, never "unmapped": with unmapped = ignore and pam_permit
# after the module, "unmapped" would let the user in without a code.
fresh
login mail +0 -- @code
assert_eq "unreadable map line for the user: PAM_SERVICE_ERR" PAM_SERVICE_ERR "$RES"
assert_match "unreadable map line reported with its number and the user" \
    'user map: unreadable line for the user file=.*line=7 user=mail reason=' "$OUT"
assert_match "unreadable map line: outcome is a config error" \
    'result=error user=mail service=eotp .*reason=config' "$OUT"
assert_eq "unreadable map line: nothing sent" 0 "$(requests_since "$REQ0")"
fresh unmapped=ignore
printf 'auth required %s conf=%s\nauth required pam_permit.so\n' \
    "$MODULE" "$T/conf" >"$T/pam.d/eotp"
login mail +0 -- @code
assert_eq "unreadable map line, unmapped = ignore, pam_permit after: denied" \
    PAM_SERVICE_ERR "$RES"
assert_no_match "unreadable map line is never 'ignored'" 'result=ignored' "$OUT"
for line in 'mail +6591234567' 'mail:+6591234567,+6591234568,a@b.example,c@d.example,e@f.example' \
            'mail:not-a-number' 'mail:+65 9123 4567 ext 9' 'mail : ' \
            "mail:$(printf '9%.0s' $(seq 1100))"; do
    printf '%s\n' "$line" >"$T/users.bad"
    chmod 0644 "$T/users.bad"
    fresh unmapped=ignore "user_map=$T/users.bad"
    printf 'auth required %s conf=%s\nauth required pam_permit.so\n' \
        "$MODULE" "$T/conf" >"$T/pam.d/eotp"
    login mail +0 -- @code
    assert_eq "unreadable line '${line:0:40}', unmapped = ignore: denied" \
        PAM_SERVICE_ERR "$RES"
done
printf 'mailx:12345\nmail2 +659\n' >"$T/users.bad"
fresh unmapped=ignore "user_map=$T/users.bad"
printf 'auth required %s conf=%s\nauth required pam_permit.so\n' \
    "$MODULE" "$T/conf" >"$T/pam.d/eotp"
login mail +0 -- @code
assert_match "bad lines of other users: this user is still unmapped" \
    'result=ignored user=mail .*reason=out_of_scope' "$OUT"
rm -f "$T/users.bad"

# Numbers as people write them: normalised to E.164 as directory values are.
for form in '+65 9000 1111' '+65-9000-1111' '+65 (9000) 1111' '9000 1111'; do
    printf 'games: %s\n' "$form" >"$T/users.forms"
    chmod 0644 "$T/users.forms"
    fresh "user_map=$T/users.forms" default_country=65
    login games +6590001111 -- @code
    assert_eq "map number '$form': code sent to +6590001111" PAM_SUCCESS "$RES"
done
fresh "user_map=$T/users.forms"
login games +6590001111 -- @code
assert_eq "national number in the map without default_country: config error" \
    PAM_SERVICE_ERR "$RES"
assert_match "the log says what is missing" \
    'unreadable line for the user .*user=games reason="a phone number without a country code' "$OUT"

# Warnings about other users' lines come once per change of the map.
printf 'games:+6590001111\nlp 12345\nnews:+65 1\n' >"$T/users.forms"
fresh "user_map=$T/users.forms"
login games +6590001111 -- @code
assert_eq "bad lines of others: the user logs in" PAM_SUCCESS "$RES"
assert_eq "bad lines of others: each reported" 2 \
    "$(printf '%s\n' "$OUT" | grep -c 'malformed line ignored')"
assert_match "the warning says what is wrong" \
    "malformed line ignored file=.* line=2 reason=\"no ':' after the user name\"" "$OUT"
login games +6590001111 -- @code
assert_eq "same map, second login: no warning" 0 \
    "$(printf '%s\n' "$OUT" | grep -c 'malformed line ignored')"
SVC=eotp2 service eotp2 "conf=$T/conf"
SVC=eotp2 login games +6590001111 -- @code
assert_eq "same map, another service (another process): no warning" 0 \
    "$(printf '%s\n' "$OUT" | grep -c 'malformed line ignored')"
printf 'mail:x\n' >>"$T/users.forms"
login games +6590001111 -- @code
assert_eq "map changed: its bad lines reported again" 3 \
    "$(printf '%s\n' "$OUT" | grep -c 'malformed line ignored')"
rm -f "$T/users.forms" "$T/pam.d/eotp2"

fresh
# An earlier module (pam_unix) reads the password and sets PAM_AUTHTOK to
# what sshd typed for an invalid user or a refused root login.
printf 'auth optional pam_unix.so\nauth required %s conf=%s\n' \
    "$MODULE" "$T/conf" >"$T/pam.d/eotp"
login daemon $PHONE -- "$(printf '\b\n\r\177INCORRECT\b\n\r')" @code
assert_eq "sshd's junk password for invalid users: denied" PAM_AUTH_ERR "$RES"
assert_eq "nothing sent for sshd's junk password" 0 "$(requests_since "$REQ0")"
assert_match "junk password logged" 'result=denied .*reason=sshd_refused' "$OUT"

fresh
login daemon $PHONE -- "$(printf '\b\n\r\177INCORRECT\b')" @code
assert_eq "sshd's junk as the answer (refused root): stop at once" PAM_AUTH_ERR "$RES"
assert_eq "junk answer: one prompt only" 1 "$(printf '%s\n' "$OUT" | grep -c '^PROMPT:')"
assert_match "junk answer logged" 'result=denied .*reason=sshd_refused' "$OUT"
assert_eq "junk answer: never verified" 0 "$(tail -n +$((REQ0 + 1)) "$MOCK_REQLOG" | grep -c /v1/verifications)"

fresh
login daemon $PHONE -- "correct horse battery" @code
assert_eq "an answer that is not a code counts as a wrong attempt" \
    PAM_SUCCESS "$RES"
assert_match "user told it is not a code" '^PROMPT: That is not a valid code\.' "$OUT"
assert_match "the outcome line: no wrong code, one answer not checked" \
    'result=success .* wrong=0 unchecked=1 reason=ok' "$OUT"
assert_no_match "a password-like answer never reaches the API" \
    'correct horse' "$(cat "$MOCK_REQLOG")"

fresh
login daemon $PHONE -- @fail
assert_eq "conversation failure: PAM_CONV_ERR" PAM_CONV_ERR "$RES"

# ---- what a refused user is told ------------------------------------------------
# One PAM_ERROR_MSG line, with help_text appended, when the service is down
# or the user has no destination; nothing for a user the system does not
# know (sshd's invalid-user path), nothing when the login goes on.
HELP='Call the IT desk on ext. 4357.'
fresh "help_text=$HELP"
login sys +0 -- @code
assert_eq "no destination: still PAM_USER_UNKNOWN" PAM_USER_UNKNOWN "$RES"
assert_eq "no destination: one error line with what to do and whom to ask" \
    "ERROR: No phone number or email address is registered for you, so no code can be sent. $HELP" \
    "$(printf '%s\n' "$OUT" | grep '^ERROR:')"
fresh
login sys +0 -- @code
assert_match "no destination, no help_text: a default hint" \
    '^ERROR: No phone number or email address is registered for you, so no code can be sent\. Ask your administrator to add one\.$' "$OUT"
fresh "help_text=$HELP"
mockctl fault status500 --path /v1/messages >/dev/null
login daemon $PHONE -- @code
assert_eq "service down: PAM_AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
assert_eq "service down: one error line with what to do and whom to ask" \
    "ERROR: The login code service cannot be reached; try again in a few minutes. $HELP" \
    "$(printf '%s\n' "$OUT" | grep '^ERROR:')"
fresh "help_text=$HELP" failmode=open
mockctl fault status500 --path /v1/messages >/dev/null
login daemon $PHONE -- @code
assert_no_match "service down, failmode open (let in): nothing shown" '^ERROR:' "$OUT"
fresh "help_text=$HELP"
mockctl fault status500 --path /v1/messages >/dev/null
login daemon $PHONE --silent -- @code
assert_no_match "PAM_SILENT: nothing shown" '^ERROR:' "$OUT"
fresh "help_text=$HELP"
login nosuchuser-eotp +0 -- @code
assert_no_match "user unknown to the system: nothing shown" '^(ERROR|INFO):' "$OUT"
fresh "help_text=$HELP" unmapped=ignore
login sys +0 -- @code
assert_no_match "unmapped = ignore: nothing shown" '^(ERROR|INFO):' "$OUT"
fresh "help_text=$HELP"
mockctl fault status500 --path /v1/messages >/dev/null
printf 'auth optional pam_unix.so\nauth required %s conf=%s\n' \
    "$MODULE" "$T/conf" >"$T/pam.d/eotp"
login sys +0 -- "$(printf '\b\n\r\177INCORRECT\b\n\r')" @code
assert_no_match "sshd's invalid-user junk password, no destination: nothing shown" '^ERROR:' "$OUT"
login daemon $PHONE -- "$(printf '\b\n\r\177INCORRECT\b\n\r')" @code
assert_no_match "sshd's invalid-user junk password, service down: nothing shown" '^ERROR:' "$OUT"
fresh "help_text=$(printf 'bad\001text')"
login daemon $PHONE -- @code
assert_eq "help_text with a control character: refused at load" PAM_SERVICE_ERR "$RES"

# ---- 3004: the earlier code is still valid ----------------------------------

fresh
login daemon $PHONE -- @fail
first=$(mock_code $PHONE)
login daemon $PHONE -- @code
assert_eq "retry within the code's lifetime logs in with the first code" \
    PAM_SUCCESS "$RES"
assert_match "prompt says the earlier code is still valid" \
    '^PROMPT: The code sent earlier by SMS to \+65\*{6}67 is still valid\. Code: $' "$OUT"
assert_eq "no second code delivered" "$first" "$(mock_code $PHONE)"
assert_match "reuse is logged" 'reused=yes' "$OUT"
assert_match "reuse: the outcome line is a plain success" \
    'result=success user=daemon .* reused=yes wrong=0 unchecked=0 reason=ok$' "$OUT"
assert_no_match "reuse: no 3004 error tail on a success" 'result=success.*code=3004' "$OUT"
login daemon $PHONE -- @code
assert_eq "after a successful login the next one gets a new code" \
    PAM_SUCCESS "$RES"
assert_match "fresh code after success" '^PROMPT: Code sent by SMS' "$OUT"

fresh
login daemon $PHONE -- @fail
rm -rf "$T/state"
login daemon $PHONE -- @code
assert_eq "3004 without a local record: denied" PAM_AUTH_ERR "$RES"
assert_match "user told to wait" '^ERROR: A code was sent recently' "$OUT"

fresh
login daemon $PHONE -- "@cmd:$TESTS_DIR/mock/mockctl.py --url $MOCK_URL --ca $MOCK_CA clock 600 >/dev/null" @code
assert_eq "expired code (3003): PAM_AUTH_ERR" PAM_AUTH_ERR "$RES"
assert_match "user told the code expired" '^ERROR: The code has expired' "$OUT"
login daemon $PHONE -- @code
assert_eq "after expiry a new code is sent and works" PAM_SUCCESS "$RES"

# ---- failmode ---------------------------------------------------------------

for mode in status500 status503_html reset; do
    fresh
    mockctl fault $mode --path /v1/messages >/dev/null
    login daemon $PHONE -- @code
    assert_eq "$mode with failmode closed: PAM_AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
    fresh failmode=open
    mockctl fault $mode --path /v1/messages >/dev/null
    login daemon $PHONE -- @code
    assert_eq "$mode with failmode open: bypass" PAM_SUCCESS "$RES"
    assert_match "$mode bypass is audited at LOG_WARNING" \
        'SYSLOG: <4> .*second factor BYPASSED \(failmode=open\)' "$OUT"
done

fresh timeout=2 connect_timeout=1
mockctl fault blackhole >/dev/null
start=$(date +%s%N)
login daemon $PHONE -- @code
elapsed=$((($(date +%s%N) - start) / 1000000))
assert_eq "timeout with failmode closed: PAM_AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
assert_match "timeout logged as such" 'reason=timeout' "$OUT"
if [ "$elapsed" -lt 10000 ]; then t_ok "timeout bounds the login"; else t_fail "timeout bounds the login" "took ${elapsed} ms"; fi
fresh timeout=2 connect_timeout=1 failmode=open
mockctl fault blackhole >/dev/null
login daemon $PHONE -- @code
assert_eq "timeout with failmode open: bypass" PAM_SUCCESS "$RES"

fresh timeout=5 deadline=2
mockctl fault blackhole >/dev/null
start=$(date +%s%N)
login daemon $PHONE -- @code
elapsed=$((($(date +%s%N) - start) / 1000000))
if [ "$RES" = PAM_AUTHINFO_UNAVAIL ] && [ "$elapsed" -lt 4500 ]; then
    t_ok "deadline caps the API time of a login below timeout"
else
    t_fail "deadline caps the API time of a login below timeout" "$RES after ${elapsed} ms"
fi

# deadline counts API time only: reading and typing the code does not.
fresh deadline=2
login daemon $PHONE -- '@cmd:sleep 3' @code
assert_eq "deadline: 3 s at the prompt, then the right code: PAM_SUCCESS" PAM_SUCCESS "$RES"
fresh deadline=2 failmode=open
login daemon $PHONE -- '@cmd:sleep 3' @wrong @wrong @wrong
assert_eq "deadline, failmode open: waiting at the prompt is no bypass" PAM_MAXTRIES "$RES"
assert_no_match "deadline, failmode open: nothing bypassed" 'BYPASSED' "$OUT"

fresh
mockctl fault status500 --path /v1/verifications >/dev/null
login daemon $PHONE -- @code
assert_eq "verify 5xx with failmode closed: PAM_AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
# Once a code is out, failmode=open no longer applies: the service was up,
# and whoever can disturb the verification must not get in with any answer.
fresh failmode=open
mockctl fault status500 --path /v1/verifications >/dev/null
login daemon $PHONE -- @wrong
assert_eq "verify 5xx after a code was sent, failmode open: denied" PAM_AUTHINFO_UNAVAIL "$RES"
assert_no_match "verify 5xx, failmode open: nothing bypassed" 'BYPASSED' "$OUT"
assert_match "verify 5xx, failmode open: the refusal to bypass is logged" \
    'SYSLOG: <4> .*failmode=open ignored: a code was sent reason=server_error' "$OUT"
fresh failmode=open
mockctl fault reset --path /v1/verifications >/dev/null
login daemon $PHONE -- @code
assert_eq "connection reset on verify, failmode open: denied" PAM_AUTHINFO_UNAVAIL "$RES"

fresh failmode=open
login daemon $PHONE -- @wrong @wrong @wrong
assert_eq "a wrong code never falls under failmode open" PAM_MAXTRIES "$RES"

fresh failmode=open
login lp +10000000001 -- @code
assert_eq "undeliverable number (5011): denied even with failmode open" \
    PAM_AUTHINFO_UNAVAIL "$RES"
assert_match "service code logged" 'code=5011' "$OUT"

write_conf "$T/conf.badkey"
sed -i 's/^dev_secret = .*/dev_secret = wrong-secret/' "$T/conf.badkey"
fresh
service eotp "conf=$T/conf.badkey"
login daemon $PHONE -- @code
assert_eq "bad credentials (2001), failmode closed" PAM_AUTHINFO_UNAVAIL "$RES"
assert_match "2001 logged" 'reason=api_auth http=401 code=2001' "$OUT"
assert_no_match "the secret is never logged" 'wrong-secret|test-secret' "$OUT"
service eotp "conf=$T/conf.badkey" failmode=open
login daemon $PHONE -- @code
assert_eq "bad credentials, failmode open argument: bypass" PAM_SUCCESS "$RES"

# ---- hostile or broken answers ----------------------------------------------

for mode in garbage huge incomplete redirect truncated; do
    fresh
    mockctl fault $mode --path /v1/messages >/dev/null
    login daemon $PHONE -- @code
    assert_eq "send answer '$mode' refused" PAM_AUTHINFO_UNAVAIL "$RES"
done
fresh
mockctl fault redirect >/dev/null
login daemon $PHONE -- @code
assert_eq "redirect not followed: one request only" 1 "$(requests_since "$REQ0")"

for mode in garbage incomplete wrong_types huge; do
    fresh
    mockctl fault $mode --path /v1/verifications >/dev/null
    login daemon $PHONE -- @code
    assert_eq "verify answer '$mode' never logs in" PAM_AUTHINFO_UNAVAIL "$RES"
done

fresh
mockctl fault numeric_id --path /v1/messages >/dev/null
login daemon $PHONE -- @code
assert_eq "message_id sent as a JSON number: exact digits kept" PAM_SUCCESS "$RES"

fresh
mockctl fault control_chars --path /v1/messages >/dev/null
login daemon $PHONE -- @code
assert_match "server text sanitised in syslog" 'message="bad\?\[31m thing\?\?Injected: yes"' "$OUT"
assert_no_match "no raw escape in the output" $'\x1b' "$OUT"

fresh
mockctl fault non_utf8 --path /v1/messages >/dev/null
login daemon $PHONE -- @code
assert_eq "non-UTF-8 error text handled" PAM_AUTHINFO_UNAVAIL "$RES"

fresh
https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 \
    login daemon $PHONE -- @code
assert_eq "proxy environment variables are ignored" PAM_SUCCESS "$RES"

fresh proxy=http://127.0.0.1:9
login daemon $PHONE -- @code
assert_eq "an explicit proxy is used (unreachable: closed)" PAM_AUTHINFO_UNAVAIL "$RES"

# ---- TLS ----------------------------------------------------------------------

fresh
sed -i "s|^ca_file = .*|ca_file = $CERTS/other-ca.pem|" "$T/conf"
# (LeakSanitizer cannot run under ptrace: off for this login in SAN=1.)
LOGIN_WRAP=(env "ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0"
    strace -f -qq -e trace=open,openat,stat,newfstatat -o "$T/ca.log")
login daemon $PHONE -- @code
LOGIN_WRAP=()
assert_eq "server not signed by ca_file: refused" PAM_AUTHINFO_UNAVAIL "$RES"
assert_match "TLS failure logged" 'reason=tls' "$OUT"
assert_eq "nothing reached the API over untrusted TLS" 0 "$(requests_since "$REQ0")"
# ca_file replaces the system store: the issuer is not looked up in
# libcurl's built-in CA directory either.
assert_eq "ca_file set: the system CA directory is never consulted" 0 \
    "$(grep -c '/etc/ssl/certs' "$T/ca.log")"

# A second server whose certificate comes from another CA, and one whose
# name does not match.
for variant in other-server wronghost-server; do
    mkdir -p "$T/m2-$variant"
    python3 "$TESTS_DIR/mock/mock_engagelab.py" --cert "$CERTS/$variant.pem" \
        --key "$CERTS/$variant.key" --host 127.0.0.1 --port 0 \
        --port-file "$T/m2-$variant/port" --outbox "$T/m2-$variant/outbox" \
        --request-log "$T/m2-$variant/req" >/dev/null 2>&1 &
    pid2=$!
    t_on_exit "kill $pid2"
    for _ in $(seq 50); do [ -s "$T/m2-$variant/port" ] && break; sleep 0.1; done
    port2=$(cat "$T/m2-$variant/port")
    fresh "api_url=https://127.0.0.1:$port2"
    login daemon $PHONE -- @code
    assert_eq "$variant certificate refused" PAM_AUTHINFO_UNAVAIL "$RES"
    assert_eq "$variant: no request got through" 0 "$( [ -f "$T/m2-$variant/req" ] && wc -l <"$T/m2-$variant/req" || echo 0)"
    kill "$pid2" 2>/dev/null
    wait "$pid2" 2>/dev/null
done

# ---- configuration -------------------------------------------------------------

fresh
chmod 0644 "$T/conf"
login daemon $PHONE -- @code
assert_eq "config readable by others: PAM_SERVICE_ERR" PAM_SERVICE_ERR "$RES"
assert_match "syslog names the problem" 'config: refusing file=.* reason="mode 0644 gives group/other access' "$OUT"
assert_eq "nothing sent with a bad config" 0 "$(requests_since "$REQ0")"

fresh failmode=open
chmod 0640 "$T/conf"
service eotp "conf=$T/conf" failmode=open
login daemon $PHONE -- @code
assert_eq "insecure config is never bypassed, even with failmode=open" PAM_SERVICE_ERR "$RES"

fresh
chown nobody "$T/conf"
login daemon $PHONE -- @code
assert_eq "config not owned by root: PAM_SERVICE_ERR" PAM_SERVICE_ERR "$RES"
assert_match "owner named" 'reason="owned by uid' "$OUT"

fresh
mv "$T/conf" "$T/conf.real"
ln -s "$T/conf.real" "$T/conf"
login daemon $PHONE -- @code
assert_eq "config is a symlink: PAM_SERVICE_ERR" PAM_SERVICE_ERR "$RES"
assert_match "symlink named" 'reason="is a symbolic link"' "$OUT"
rm -f "$T/conf" "$T/conf.real"

fresh
head -c 70000 /dev/zero | tr '\0' '#' >>"$T/conf"
login daemon $PHONE -- @code
assert_eq "oversized config: PAM_SERVICE_ERR" PAM_SERVICE_ERR "$RES"

fresh frobnicate=yes
login daemon $PHONE --rhost 192.0.2.9 -- @code
assert_eq "unknown config key: PAM_SERVICE_ERR" PAM_SERVICE_ERR "$RES"
assert_match "config error: the outcome line names user, service and rhost" \
    'result=error user=daemon service=eotp rhost=192.0.2.9 .*reason=config' "$OUT"
login nosuchuser-eotp +0 --rhost 192.0.2.9 -- @code
assert_match "config error, no such account: the name typed is not logged" \
    'result=error user=\(unknown\) service=eotp rhost=192.0.2.9 .*reason=config' "$OUT"
assert_match "unknown key logged with its line" 'unknown key at .*conf:[0-9]+ key=frobnicate' "$OUT"

for bad in "timeout=0" "timeout=abc" "max_attempts=99" "failmode=maybe" \
           "api_url=http://127.0.0.1:1" "language=klingon" "user_map=relative/path" \
           "ldap_uri=ldap://192.0.2.1"; do
    fresh "${bad/=/ = }"
    login daemon $PHONE -- @code
    assert_eq "bad value '$bad': PAM_SERVICE_ERR" PAM_SERVICE_ERR "$RES"
    assert_eq "bad value '$bad': nothing sent" 0 "$(requests_since "$REQ0")"
done

fresh
sed -i '/^template_id/d' "$T/conf"
login daemon $PHONE -- @code
assert_eq "missing template_id: PAM_SERVICE_ERR" PAM_SERVICE_ERR "$RES"

fresh
service eotp "conf=$T/conf" frobnicate
login daemon $PHONE -- @code
assert_eq "unknown module argument: PAM_SERVICE_ERR" PAM_SERVICE_ERR "$RES"
assert_match "unknown argument logged" 'unknown module argument arg=frobnicate' "$OUT"
assert_eq "nothing sent with an unknown argument" 0 "$(requests_since "$REQ0")"

fresh
service eotp "conf=$T/conf" dev_secret=x
login daemon $PHONE -- @code
assert_eq "secrets refused as module arguments" PAM_SERVICE_ERR "$RES"

fresh
service eotp "conf=$T/missing.conf"
login daemon $PHONE -- @code
assert_eq "missing config, failmode closed: PAM_SERVICE_ERR" PAM_SERVICE_ERR "$RES"
service eotp "conf=$T/missing.conf" failmode=open
login daemon $PHONE -- @code
assert_eq "missing config, failmode=open argument: bypass" PAM_SUCCESS "$RES"
assert_match "bypass with unreadable config audited" 'BYPASSED.*reason=config_unreadable' "$OUT"

fresh
service eotp "conf=$T/conf" failmode=open
mockctl fault status500 >/dev/null
login daemon $PHONE -- @code
assert_eq "failmode=open as a module argument" PAM_SUCCESS "$RES"

fresh
chmod 0666 "$T/users"
login daemon $PHONE -- @code
assert_eq "world-writable user map: refused" PAM_SERVICE_ERR "$RES"
chmod 0644 "$T/users"

fresh
mkdir -p "$T/state"
chmod 0755 "$T/state"
login daemon $PHONE -- @code
assert_eq "state_dir open to others: refused" PAM_SERVICE_ERR "$RES"

fresh
mkdir -p "$T/state"
chmod 0700 "$T/state"
printf 'version=1\npending_id=12\npending_key=zz\n' >"$T/state/daemon.state"
login daemon $PHONE -- @code
assert_eq "corrupt state file: treated as empty" PAM_SUCCESS "$RES"
assert_match "corrupt state logged" 'state: corrupt file=daemon.state' "$OUT"

fresh
login daemon $PHONE --silent -- @code
assert_eq "PAM_SILENT still prompts and logs in" PAM_SUCCESS "$RES"

t_summary
