#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The callback receiver over real HTTP on loopback ("engagelab-otp callback
# serve"): signatures, replay, stale and future timestamps, sizes,
# garbage, shapes, paths, methods, the URL check, Authorization, TLS,
# "callback status", notification rows and their syslog priority, a
# failing state store (503, then the retry is accepted) and a clean stop.
set -u
. "$(dirname "$0")/../lib.sh"
t_setup
. "$TESTS_DIR/callback/cblib.sh"

NOW=$(date +%s)
# A fresh nonce (called in $(...): no counter survives).
nonce() { od -An -N8 -tx8 /dev/urandom | tr -d ' \n'; }

cb_start || { t_fail "callback serve starts" "$(cat "$CB_LOG")"; t_summary; exit; }
t_ok "callback serve starts"
assert_match "it says where and with which store" \
    'started listen=127.0.0.1:[0-9]+ tls=no store=file max_age=300 nonce_cache=786432' "$(cat "$CB_LOG")"

# ---- signatures ------------------------------------------------------------
body=$(cb_status_row m-1 sent "$NOW")
H=$(cb_sig "$NOW" "$(nonce)")
assert_eq "a signed status row: 200" 200 "$(cb_post "$body" -H "X-CALLBACK-ID: $H")"
assert_eq "the same header again: 401 (replay)" 401 "$(cb_post "$body" -H "X-CALLBACK-ID: $H")"
assert_match "... logged as a replay" 'status=401 reason="replayed"' "$(cat "$CB_LOG")"
assert_eq "no header: 401" 401 "$(cb_post "$(cb_status_row m-2 sent)")"
assert_eq "wrong secret: 401" 401 \
    "$(cb_post "$(cb_status_row m-2 sent)" -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)" "$CB_USER" other-secret)")"
assert_eq "another username (its own valid HMAC): 401" 401 \
    "$(cb_post "$(cb_status_row m-2 sent)" -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)" intruder)")"
assert_eq "malformed header: 401" 401 \
    "$(cb_post "$(cb_status_row m-2 sent)" -H "X-CALLBACK-ID: timestamp=$NOW;nonce=x")"
bad=$(cb_sig "$NOW" "$(nonce)")
if [ "${bad: -1}" = 0 ]; then bad="${bad%?}1"; else bad="${bad%?}0"; fi
assert_eq "one signature digit changed: 401" 401 \
    "$(cb_post "$(cb_status_row m-2 sent)" -H "X-CALLBACK-ID: $bad")"
assert_eq "stale timestamp (now - 301 s): 401" 401 \
    "$(cb_post "$(cb_status_row m-2 sent)" -H "X-CALLBACK-ID: $(cb_sig $((NOW - 301)) "$(nonce)")")"
assert_eq "future timestamp (now + 400 s): 401" 401 \
    "$(cb_post "$(cb_status_row m-2 sent)" -H "X-CALLBACK-ID: $(cb_sig $((NOW + 400)) "$(nonce)")")"
assert_match "... reasons logged" 'reason="stale timestamp".*|reason="timestamp in the future"' "$(cat "$CB_LOG")"
assert_eq "an old but fresh timestamp (now - 250 s): 200" 200 \
    "$(cb_post "$(cb_status_row m-3 sent)" -H "X-CALLBACK-ID: $(cb_sig $((NOW - 250)) "$(nonce)")")"
out=$("$CLI" -c "$T/cb.conf" callback status m-2 2>&1)
assert_eq "nothing refused was recorded (exit 1)" 1 "$?"
assert_match "... it says so" 'none recorded' "$out"

# ---- callback status ----------------------------------------------------------
out=$("$CLI" -c "$T/cb.conf" callback status m-1 2>&1)
assert_eq "callback status: exit 0" 0 "$?"
assert_match "... the status and its class" 'status: +sent \(pending\)' "$out"
assert_match "... the channel" 'channel: +sms' "$out"
out=$("$CLI" -c "$T/cb.conf" callback status --json m-1)
assert_eq "callback status --json" \
    "{\"message_id\":\"m-1\",\"found\":true,\"status\":\"sent\",\"class\":\"pending\",\"channel\":\"sms\",\"at\":$NOW,\"error_code\":0}" "$out"
# A row's time far in the future (the body is unsigned) cannot pin its
# status: it counts as now, so a later row still replaces it.
cb_post "$(cb_status_row m-future delivered $((NOW + 86400)))" \
    -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")" >/dev/null
cb_post "$(cb_status_row m-future sent_failed $(($(date +%s) + 5)))" \
    -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")" >/dev/null
assert_match "a row dated a day ahead does not pin its status" 'status: +sent_failed' \
    "$("$CLI" -c "$T/cb.conf" callback status m-future 2>&1)"
out=$("$CLI" -c "$T/cb.conf" callback status --json nope)
assert_eq "--json for an unknown id" '{"message_id":"nope","found":false}' "$out"
"$CLI" -c "$T/cb.conf" callback status 'a/b' >/dev/null 2>&1
assert_eq "a bad MESSAGE_ID is a usage error" 2 "$?"
assert_match "the status row was logged, joinable on message_id" \
    '^<6>delivery status message_id=m-1 channel=sms status=sent error_code=0 error="-" cost=0.005 currency=USD at='"$NOW"' route=sms stored=yes$' \
    "$(cat "$CB_LOG")"

# Fallback and order: delivered_failed on WhatsApp, then SMS sent and
# delivered; an older row after them changes nothing.
rows='{"total":3,"rows":[
 {"message_id":"m-fb","channel":"whatsapp","itime":'$((NOW - 5))',"status":{"message_status":"delivered_failed","status_data":{"current_send_channel":"whatsapp"},"error_code":3001,"error_detail":{"message":"not on \"WhatsApp\"\nfake=line"}}},
 {"message_id":"m-fb","channel":"sms","itime":'$((NOW - 3))',"status":{"message_status":"sent","status_data":{"current_send_channel":"sms"},"error_code":0}},
 {"message_id":"m-fb","channel":"sms","itime":'$((NOW - 1))',"status":{"message_status":"delivered","status_data":{"current_send_channel":"sms"},"error_code":0}}]}'
assert_eq "three rows in one body: 200" 200 "$(cb_post "$rows" -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
assert_eq "... the newest kept" "delivered" \
    "$("$CLI" -c "$T/cb.conf" callback status --json m-fb | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
assert_eq "an older row later: 200" 200 \
    "$(cb_post "$(cb_status_row m-fb sent_fail $((NOW - 10)))" -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
assert_match "... not kept" 'message_id=m-fb channel=sms status=sent_failed .* stored=older' "$(cat "$CB_LOG")"
assert_eq "... still delivered" "delivered" \
    "$("$CLI" -c "$T/cb.conf" callback status --json m-fb | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
assert_match "the error text is one line, quotes replaced" \
    'status=delivered_failed error_code=3001 error="not on \?WhatsApp\?\?fake=line"' "$(cat "$CB_LOG")"
assert_eq "every log line starts with a priority (no injected line)" 0 \
    "$(grep -cv '^<[0-7]>' "$CB_LOG")"
sent_fail='{"total":1,"rows":[{"message_id":123456790,"itime":'$NOW',"status":{"message_status":"sent_fail","error_code":4001,"error_detail":{"message":"Invalid phone number"}}}]}'
assert_eq "sent_fail with a numeric message_id: 200" 200 "$(cb_post "$sent_fail" -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
assert_match "... stored as sent_failed" '"status":"sent_failed","class":"failed"' \
    "$("$CLI" -c "$T/cb.conf" callback status --json 123456790)"

# ---- notifications --------------------------------------------------------------
notes='{"total":3,"rows":[
 {"server":"otp","itime":'$NOW',"notification":{"event":"insufficient_balance","notification_data":{"business_id":"17445","remain_balance":-0.005,"balance_threshold":2}}},
 {"server":"otp","itime":'$NOW',"notification":{"event":"insufficient_verification_rate","notification_data":{"rate":0.2}}},
 {"server":"otp","itime":'$NOW',"notification":{"event":"template_audit_result","notification_data":{"template_id":"pam-otp","status":"approved"}}},
 {"server":"otp","itime":'$NOW',"system_event":{"event":"account_login","data":{}}}]}'
assert_eq "notification rows: 200" 200 "$(cb_post "$notes" -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
assert_match "insufficient_balance at LOG_ALERT" \
    '^<1>engagelab notification event=insufficient_balance at='"$NOW"' business_id=17445 remain_balance=-0.005 balance_threshold=2 stored=yes$' "$(cat "$CB_LOG")"
assert_match "insufficient_verification_rate at LOG_ALERT" '^<1>engagelab notification event=insufficient_verification_rate' "$(cat "$CB_LOG")"
assert_match "template_audit_result at LOG_NOTICE" '^<5>engagelab notification event=template_audit_result' "$(cat "$CB_LOG")"
assert_no_match "system events are ignored" 'account_login' "$(cat "$CB_LOG")"

out=$("$CLI" -c "$T/cb.conf" doctor --offline 2>&1)
assert_match "doctor: the receiver's files" 'OK +receiver files usable \(listen 127.0.0.1:[0-9]+, max_age 300 s, tls no, Authorization not checked\)' "$out"
assert_match "doctor: the last alert (a WARN)" 'WARN +EngageLab alert: insufficient_verification_rate at [-0-9]+ [0-9:]+ UTC \(rate=0.2\)' "$out"
assert_match "doctor: the last notification" 'OK +last EngageLab notification: template_audit_result at .*\(template_id=pam-otp status=approved\)' "$out"
out=$("$CLI" -c "$T/cb.conf" doctor --offline --json 2>&1)
assert_match "doctor --json: the callback check" '"callback"' "$out"

# ---- sizes, garbage, shapes, paths, methods ------------------------------------
big=$(head -c 65537 /dev/zero | tr '\0' ' ')
assert_eq "64 KiB + 1: 413" 413 "$(cb_post "$big" -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
assert_eq "64 KiB + 1 chunked (no Content-Length): 413" 413 \
    "$(cb_post "$big" -H 'Transfer-Encoding: chunked' -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
pad=$(head -c $((65536 - 11)) /dev/zero | tr '\0' ' ')
assert_eq "exactly 64 KiB: 200" 200 "$(cb_post "{\"rows\":[]}$pad" -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
assert_eq "not JSON: 400" 400 "$(cb_post 'garbage{' -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
assert_eq "JSON of the wrong shape: 400" 400 "$(cb_post '{"total":1,"rows":{}}' -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
assert_eq "an array: 400" 400 "$(cb_post '[1]' -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
assert_eq "garbage without a signature: 401 (nothing parsed for strangers)" 401 "$(cb_post 'garbage{')"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data '{}' "${CB_URL%/callback}/other")
assert_eq "another path: 404" 404 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$CB_URL")
assert_eq "GET: 405" 405 "$code"
hdrs=$(curl -s -D - -o /dev/null -X PUT --data '{}' "$CB_URL")
assert_match "PUT: 405 with Allow: POST" '405.*Allow: POST' "$(echo $hdrs)"

# ---- the URL check -------------------------------------------------------------
files_before=$(find "$T/state" -type f | wc -l)
assert_eq "URL check, empty body, unsigned: 200" 200 "$(cb_post '')"
assert_eq "URL check, {}, unsigned: 200" 200 "$(cb_post '{}')"
assert_eq "URL check, {}, signed: 200" 200 "$(cb_post '{}' -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
resp=$(curl -s -i -X POST --data '' "$CB_URL" | tr -d '\r')
assert_match "... HTTP/1.1 200 with Content-Length: 0" 'HTTP/1.1 200 OK.*Content-Length: 0' "$(echo $resp)"
assert_eq "URL checks recorded nothing" "$files_before" "$(find "$T/state" -type f | wc -l)"

# ---- keep-alive: several requests on one connection -----------------------------
out=$(curl -s -o /dev/null -w '%{http_code} %{num_connects}\n' -X POST --data '{}' "$CB_URL" --next -s -o /dev/null -w '%{http_code} %{num_connects}\n' -X POST --data '{}' "$CB_URL")
assert_eq "two requests, one connection" "200 1
200 0" "$out"

# ---- a failing store: 503, and the retry of the same header is accepted -------
H=$(cb_sig "$NOW" "$(nonce)")
chmod 0777 "$T/state"
assert_eq "state_dir unusable: 503" 503 "$(cb_post "$(cb_status_row m-503 delivered "$NOW")" -H "X-CALLBACK-ID: $H")"
assert_match "... logged" 'status=503 reason="state store failed"' "$(cat "$CB_LOG")"
chmod 0700 "$T/state"
assert_eq "EngageLab's retry with the same header: 200" 200 "$(cb_post "$(cb_status_row m-503 delivered "$NOW")" -H "X-CALLBACK-ID: $H")"
assert_match "... recorded" '"status":"delivered"' "$("$CLI" -c "$T/cb.conf" callback status --json m-503)"
assert_eq "... and now it is a replay" 401 "$(cb_post "$(cb_status_row m-503 delivered "$NOW")" -H "X-CALLBACK-ID: $H")"

# ---- a clean stop ------------------------------------------------------------------
cb_stop
assert_eq "SIGTERM: exit 0" 0 "$CB_RC"
assert_match "... a last line with the counts" 'callback receiver stopped signal=15 accepted=[0-9]+ refused=[0-9]+ rows=[0-9]+' "$(cat "$CB_LOG")"

# ---- a flood of refusals does not flood syslog -------------------------------------
# 50 lines per 10 s at most; the rest counted, the count logged with the
# next window's first line and at stop.  Robust to a slow machine: the 130
# requests may span windows, so the lines and the counts must add up.
cb_start || t_fail "serve again" "$(cat "$CB_LOG")"
for i in $(seq 1 130); do
    printf 'url = "%s"\nrequest = "POST"\ndata = "x"\nheader = "X-CALLBACK-ID: timestamp=1;nonce=n%d"\noutput = "/dev/null"\nnext\n' "$CB_URL" "$i"
done | sed '$d' >"$T/flood.curl"
curl -s -K "$T/flood.curl" >/dev/null 2>&1
cb_stop
logged=$(grep -c 'callback refused status=' "$CB_LOG")
dropped=$(sed -n 's/.*refusals_not_logged=\([0-9]*\).*/\1/p' "$CB_LOG")
stopped_refused=$(sed -n 's/.*callback receiver stopped .*refused=\([0-9]*\).*/\1/p' "$CB_LOG")
assert_eq "130 bad requests, all refused" 130 "${stopped_refused:-?}"
if [ "$logged" -le 100 ] && [ "$logged" -ge 50 ]; then
    t_ok "... but only $logged of them logged (at most 50 per 10 s)"
else
    t_fail "... at most 50 refusals logged per 10 s" "logged=$logged"
fi
assert_eq "... the others counted in the stop line" 130 "$((logged + ${dropped:-0}))"
windows=$(sed -n 's/.*callback refusals not logged count=\([0-9]*\).*/\1/p' "$CB_LOG" | awk '{s += $1} END {print s + 0}')
if [ "$windows" -le "${dropped:-0}" ]; then t_ok "... window counts within the total ($windows)"; else t_fail "... window counts within the total" "$windows > $dropped"; fi

# ---- Authorization ----------------------------------------------------------------
printf 'Bearer cb-Auth-Token-7\n' >"$T/cb_auth"
chmod 0600 "$T/cb_auth"
cb_start "callback_auth_file=$T/cb_auth" || t_fail "serve with callback_auth_file" "$(cat "$CB_LOG")"
body=$(cb_status_row m-auth sent)
assert_eq "auth file: no Authorization: 401" 401 "$(cb_post "$body" -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
assert_eq "auth file: a wrong one: 401" 401 "$(cb_post "$body" -H "Authorization: Bearer cb-Auth-Token-8" -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
assert_eq "auth file: the right one: 200" 200 "$(cb_post "$body" -H "Authorization: Bearer cb-Auth-Token-7" -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
assert_no_match "the token is never logged" 'cb-Auth-Token' "$(cat "$CB_LOG")"
kill -INT "$CB_PID"
wait "$CB_PID"
assert_eq "SIGINT stops it too" 0 "$?"

# ---- TLS ----------------------------------------------------------------------------
bash "$TESTS_DIR/mock/gen-certs.sh" "$T/certs" >/dev/null 2>&1
cp "$T/certs/server.key" "$T/cb_key.pem"
chmod 0600 "$T/cb_key.pem"
if cb_start "callback_tls_cert=$T/certs/server.pem" "callback_tls_key=$T/cb_key.pem"; then
    t_ok "serve with callback_tls_cert/callback_tls_key"
    assert_match "... says tls=yes" 'tls=yes' "$(cat "$CB_LOG")"
    assert_eq "HTTPS, the CA checked: signed row 200" 200 \
        "$(cb_post "$(cb_status_row m-tls delivered)" --cacert "$T/certs/ca.pem" -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data '{}' "http://${CB_URL#https://}")
    assert_eq "plain HTTP to the TLS port gets no answer" 000 "$code"
    cb_stop
else
    t_fail "serve with callback_tls_cert/callback_tls_key" "$(cat "$CB_LOG")"
fi
chmod 0644 "$T/cb_key.pem"
port=$(free_port)
cb_conf "$T/badkey.conf" "$port" "callback_tls_cert=$T/certs/server.pem" "callback_tls_key=$T/cb_key.pem"
out=$(timeout 10 "$CLI" -c "$T/badkey.conf" callback serve --stderr 2>&1)
assert_eq "a group-readable TLS key is refused (exit 3)" 3 "$?"
assert_match "... naming the key" 'refusing callback_tls_key' "$out"
out=$("$CLI" -c "$T/badkey.conf" doctor --offline 2>&1)
assert_match "doctor names the TLS key" 'FAIL +callback_tls_key .*/cb_key.pem' "$out"
chmod 0600 "$T/cb_key.pem"
cb_conf "$T/nocert.conf" "$port" "callback_tls_cert=$T/missing.pem" "callback_tls_key=$T/cb_key.pem"
out=$("$CLI" -c "$T/nocert.conf" callback status x 2>&1)
assert_eq "a missing callback_tls_cert does not break the config for others (status: exit 1)" 1 "$?"
out=$(timeout 10 "$CLI" -c "$T/nocert.conf" callback serve --stderr 2>&1)
assert_eq "... but callback serve refuses it (exit 3)" 3 "$?"
assert_match "... naming it" 'refusing callback_tls_cert' "$out"

# ---- IPv6 -------------------------------------------------------------------------
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    port=$(free_port)
    cb_conf "$T/v6.conf" "$port" "callback_listen=[::1]:$port"
    "$CLI" -c "$T/v6.conf" callback serve --stderr 2>"$T/v6.log" &
    v6pid=$!
    t_on_exit "kill $v6pid"
    for i in $(seq 1 100); do grep -q 'receiver started' "$T/v6.log" && break; sleep 0.05; done
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data '' "http://[::1]:$port/callback")
    assert_eq "callback_listen = [::1]:PORT: the URL check over IPv6" 200 "$code"
    kill "$v6pid"
    wait "$v6pid"
fi

# ---- bad configs ---------------------------------------------------------------------
chmod 0644 "$T/cb_secret"
port=$(free_port)
cb_conf "$T/c1.conf" "$port"
chmod 0644 "$T/cb_secret"
out=$(timeout 10 "$CLI" -c "$T/c1.conf" callback serve --stderr 2>&1)
assert_eq "a readable secret file is refused (exit 3)" 3 "$?"
assert_match "... naming it" 'refusing callback_secret_file' "$out"
{ grep -v '^callback_username' "$T/c1.conf"; } >"$T/c2.conf"
chmod 0600 "$T/c2.conf" "$T/cb_secret"
out=$(timeout 10 "$CLI" -c "$T/c2.conf" callback serve --stderr 2>&1)
assert_eq "no callback_username: exit 3" 3 "$?"
assert_match "... says what is required" 'callback_username and callback_secret_file are required' "$out"
cb_conf "$T/c3.conf" "$port" "callback_listen=localhost:80"
out=$("$CLI" -c "$T/c3.conf" callback status x 2>&1)
assert_eq "callback_listen must be ADDR:PORT (config refused)" 3 "$?"

t_summary
