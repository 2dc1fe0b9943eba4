#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end logins over the SMPP transport (issue 15): the real libpam
# loads the built module, the module speaks SMPP (TLS or plaintext) to
# tests/smpp/mock_smpp.py, and the harness types the code the mock wrote
# to its outbox.  Every fault of the mock is checked for its outcome: the
# PAM result and the reason= of the module's log line.
set -u
. "$(dirname "$0")/../lib.sh"
t_setup

PHONE=+6581234567
SMPP_HOME="$TESTS_DIR/smpp"
bash "$TESTS_DIR/mock/gen-certs.sh" "$T/certs" >/dev/null 2>&1 ||
    { t_fail "certificates"; t_summary; exit 1; }
MOCK_OUTBOX="$T/outbox"
PDULOG="$T/pdulog"
FAULTS="$T/faults"
: >"$MOCK_OUTBOX"

# smpp_start NAME [mock args...]: a mock in the background; sets <NAME>_PORT.
declare -A SMPP_PID=()
smpp_start() {
    local name=$1 port
    shift
    rm -f "$T/$name.port"
    python3 "$SMPP_HOME/mock_smpp.py" --port-file "$T/$name.port" \
        --outbox "$MOCK_OUTBOX" --pdu-log "$PDULOG" --fault-file "$FAULTS" \
        "$@" >>"$T/$name.log" 2>&1 &
    SMPP_PID[$name]=$!
    t_on_exit "kill ${SMPP_PID[$name]}"
    for _ in $(seq 1 100); do
        if [ -s "$T/$name.port" ]; then
            port=$(cat "$T/$name.port")
            printf -v "${name}_PORT" '%s' "$port"
            return 0
        fi
        sleep 0.1
    done
    echo "mock $name did not start:" >&2
    cat "$T/$name.log" >&2
    return 1
}

smpp_start tls --cert "$T/certs/server.pem" --key "$T/certs/server.key" ||
    { t_fail "TLS mock starts"; t_summary; exit 1; }
smpp_start plain || { t_fail "plaintext mock starts"; t_summary; exit 1; }
smpp_start wrong --cert "$T/certs/wronghost-server.pem" \
    --key "$T/certs/wronghost-server.key" ||
    { t_fail "wrong-host mock starts"; t_summary; exit 1; }

printf 'daemon:%s\nbin:alice@example.com\n' "$PHONE" >"$T/users"
chmod 0644 "$T/users"
printf 's3cret\n' >"$T/pw"
chmod 0600 "$T/pw"
mkdir -p "$T/pam.d"
printf 'auth required pam_deny.so\n' >"$T/pam.d/other"

# An HTTPS API nobody listens on: SMPP logins must never use it.
MOCK_URL=https://127.0.0.1:9
MOCK_CA="$T/certs/ca.pem"

# fresh [key=value...]: config for the TLS mock, clean state, no fault.
fresh() {
    rm -rf "$T/state"
    : >"$FAULTS"
    # Defaults, then the arguments: one line per key (last one wins).
    local -A kv=()
    local order=() a k
    for a in code_mode=local transport=smpp smpp_host=127.0.0.1 \
        "smpp_port=$tls_PORT" smpp_system_id=eotp-test \
        "smpp_password_file=$T/pw" "smpp_ca_file=$T/certs/ca.pem" "$@"; do
        k=${a%%=*}
        [ -n "${kv[$k]+x}" ] || order+=("$k")
        kv[$k]=${a#*=}
    done
    local args=()
    for k in "${order[@]}"; do
        args+=("$k=${kv[$k]}")
    done
    write_conf "$T/conf" "${args[@]}"
    service eotp "conf=$T/conf"
    SVC=eotp
    OUT0=$(wc -l <"$MOCK_OUTBOX")
}

fault() {
    printf '%s\n' "$1" >"$FAULTS"
}

sent_since() {
    echo $(($(wc -l <"$MOCK_OUTBOX") - OUT0))
}

last_sent() {
    tail -n 1 "$MOCK_OUTBOX"
}

field() {
    python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

# ---- logins -------------------------------------------------------------

fresh
login daemon $PHONE -- @code
assert_eq "TLS: right code logs in" PAM_SUCCESS "$RES"
assert_match "prompt says SMS and the masked number" \
    '^PROMPT: Code sent by SMS to \+65\*{6}67: $' "$OUT"
assert_match "log line names the message id and channel" \
    'result=success .*message_id=[0-9]+ channel=sms' "$OUT"
assert_eq "one message submitted" 1 "$(sent_since)"
line=$(last_sent)
assert_eq "service_type CODE" CODE "$(field "$line" service_type)"
assert_eq "data_coding UCS-2" 8 "$(field "$line" data_coding)"
assert_eq "destination +E.164" "$PHONE" "$(field "$line" to)"
assert_eq "international TON" 1 "$(field "$line" dest_addr_ton)"
assert_eq "template id in the JSON" pam-otp "$(field "$line" template)"
assert_eq "language in the JSON" default "$(field "$line" language)"
assert_eq "short JSON in short_message" short_message "$(field "$line" via)"
assert_eq "over TLS" True "$(field "$line" tls)"
conn=$(field "$line" conn)
assert_match "bind, submit, unbind, close in order" \
    'bind,submit,unbound,closed_by_client' \
    "$(python3 - "$PDULOG" "$conn" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
print(",".join(e["event"] for e in ev if e.get("conn") == int(sys.argv[2])
               and e["event"] != "pdu"))
PY
)"
assert_no_match "syslog has neither the code nor the number" \
    "SYSLOG:.*($(field "$line" code)|6581234567)" "$OUT"

fresh
login daemon $PHONE -- @wrong @code
assert_eq "wrong then right code logs in" PAM_SUCCESS "$RES"

fresh "smpp_port=$plain_PORT" smpp_tls=no
login daemon $PHONE -- @code
assert_eq "plaintext (smpp_tls = no): right code logs in" PAM_SUCCESS "$RES"
assert_eq "plaintext: not over TLS" False "$(field "$(last_sent)" tls)"

fresh "language=ja" "params=host=%h,svc=%s,note=$(printf 'x%.0s' $(seq 1 120))"
login daemon $PHONE -- @code
assert_eq "long message logs in" PAM_SUCCESS "$RES"
line=$(last_sent)
assert_eq "long JSON in message_payload" message_payload "$(field "$line" via)"
assert_eq "language follows the config" ja "$(field "$line" language)"
assert_eq "params carried" eotp "$(field "$line" params | sed -n "s/.*'svc': '\([^']*\)'.*/\1/p")"

Y=$(printf 'y%.0s' $(seq 1 64))
fresh "params=a=$Y,b=$Y,c=$Y,d=$Y,e=$Y,f=$Y,g=$Y,h=$Y,i=$Y"
login daemon $PHONE -- @code
assert_eq "message over 1024 octets (UCS-2): request refused" PAM_SERVICE_ERR "$RES"
assert_match "  ... reason api_request, step build" 'reason=api_request.*step=build' "$OUT"
assert_eq "  ... nothing submitted" 0 "$(sent_since)"

fresh
fault chatty
login daemon $PHONE -- @code
assert_eq "enquire_link and receipts before and after the answer" PAM_SUCCESS "$RES"
conn=$(field "$(last_sent)" conn)
answers=$(python3 - "$PDULOG" "$conn" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
print(" ".join(hex(e["command_id"]) for e in ev
               if e.get("conn") == int(sys.argv[2]) and e["event"] == "client_answer"))
PY
)
assert_eq "  ... client answered enquire_link and both receipts" \
    "0x80000015 0x80000005 0x80000005" "$answers"

# ---- refused bind -----------------------------------------------------------

fresh
printf 'wrongpw\n' >"$T/pw2"
chmod 0600 "$T/pw2"
write_conf "$T/conf" code_mode=local transport=smpp smpp_host=127.0.0.1 \
    "smpp_port=$tls_PORT" smpp_system_id=eotp-test "smpp_password_file=$T/pw2" \
    "smpp_ca_file=$T/certs/ca.pem"
login daemon $PHONE -- @code
assert_eq "wrong password (connection closed): AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
assert_match "  ... reason api_auth at the bind" 'reason=api_auth .*step=bind' "$OUT"
service eotp "conf=$T/conf" failmode=open
login daemon $PHONE -- @code
assert_eq "  ... failmode=open: bypassed" PAM_SUCCESS "$RES"
assert_match "  ... bypass logged" 'BYPASSED.*reason=api_auth' "$OUT"

for st in 0e 0f 0d; do
    fresh
    fault "bind_status=$st"
    login daemon $PHONE -- @code
    assert_eq "bind status 0x$st: AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
    assert_match "  ... reason api_auth, status logged" \
        "reason=api_auth .*step=bind status=0x000000$st" "$OUT"
done
fresh
fault bind_close
login daemon $PHONE -- @code
assert_eq "bind closed: AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
assert_match "  ... reason api_auth" 'reason=api_auth' "$OUT"

# A reset after the bind: submit_sm cannot be sent (a transport failure);
# a reset after submit_sm_resp: the answer stands, only the unbind fails.
for tls in yes no; do
    if [ $tls = yes ]; then fresh; else fresh "smpp_port=$plain_PORT" smpp_tls=no; fi
    fault bind_rst
    login daemon $PHONE -- @code
    assert_eq "connection reset after the bind (tls=$tls): AUTHINFO_UNAVAIL" \
        PAM_AUTHINFO_UNAVAIL "$RES"
    assert_match "  ... reason transport at submit" 'reason=transport .*step=submit' "$OUT"
    fault submit_rst
    login daemon $PHONE -- @code
    assert_eq "connection reset after submit_sm_resp (tls=$tls): logs in" \
        PAM_SUCCESS "$RES"
done

# ---- submit_sm_resp statuses --------------------------------------------------

check_status() {
    local st=$1 pam=$2 reason=$3
    fresh
    fault "submit_status=$st"
    login daemon $PHONE -- @code
    assert_eq "submit_sm_resp 0x$st: $pam" "$pam" "$RES"
    assert_match "  ... reason $reason, status logged" \
        "reason=$reason .*step=submit status=0x000000$st" "$OUT"
}
check_status 45 PAM_AUTHINFO_UNAVAIL delivery
check_status 32 PAM_SERVICE_ERR api_request
check_status 55 PAM_SERVICE_ERR api_request
check_status 08 PAM_AUTHINFO_UNAVAIL server_error
check_status ff PAM_AUTHINFO_UNAVAIL server_error

fresh failmode=open
fault submit_status=45
login daemon $PHONE -- @code
assert_eq "delivery failure is not bypassed by failmode=open" PAM_AUTHINFO_UNAVAIL "$RES"
fresh failmode=open
fault submit_status=08
login daemon $PHONE -- @code
assert_eq "system error is bypassed by failmode=open" PAM_SUCCESS "$RES"

# ---- bad answers --------------------------------------------------------------

for f in generic_nack oversized undersized malformed wrong_seq unexpected \
    close_mid flood; do
    fresh
    fault "$f"
    login daemon $PHONE -- @code
    assert_eq "$f: AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
    assert_match "  ... reason bad_response" 'reason=bad_response .*step=submit' "$OUT"
    assert_no_match "  ... no crash" 'RESULT: (PAM_SUCCESS|$)' "$OUT"
done

for f in close_after_submit server_unbind; do
    fresh
    fault "$f"
    login daemon $PHONE -- @code
    assert_eq "$f: AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
    assert_match "  ... reason transport" 'reason=transport .*step=submit' "$OUT"
done

fresh timeout=1
fault slow=3
login daemon $PHONE -- @code
assert_eq "slow answer: AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
assert_match "  ... reason timeout" 'reason=timeout .*step=submit' "$OUT"

fresh timeout=1 deadline=1
fault slow=3
login daemon $PHONE -- @code
assert_match "deadline bounds the session" 'reason=timeout' "$OUT"

# ---- TLS and the network ---------------------------------------------------------

fresh "smpp_port=$wrong_PORT"
login daemon $PHONE -- @code
assert_eq "certificate for another host: AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
assert_match "  ... reason tls" 'reason=tls .*step=tls' "$OUT"

fresh "smpp_ca_file=$T/certs/other-ca.pem"
login daemon $PHONE -- @code
assert_match "unknown CA: reason tls" 'reason=tls .*certificate' "$OUT"

fresh smpp_host=localhost
login daemon $PHONE -- @code
assert_eq "host name checked against the certificate (localhost)" PAM_SUCCESS "$RES"

fresh "smpp_port=$plain_PORT"
login daemon $PHONE -- @code
assert_match "TLS to a plaintext server fails: reason tls or bad answer" \
    'reason=(tls|timeout)' "$OUT"

closed=$(free_port)
fresh "smpp_port=$closed"
login daemon $PHONE -- @code
assert_eq "nobody listening: AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
assert_match "  ... reason transport at connect" 'reason=transport .*step=connect' "$OUT"

# ---- the admin tool -------------------------------------------------------------

fresh
out=$("$CLI" -c "$T/conf" send-code $PHONE 4711 2>&1)
assert_match "send-code goes by SMPP" '^message_id: [0-9]+' "$out"
assert_match "  ... channel sms" 'channel: sms' "$out"
line=$(last_sent)
assert_eq "  ... the mock got the code" 4711 "$(field "$line" code)"
assert_eq "  ... as service_type CODE" CODE "$(field "$line" service_type)"

fresh
fault submit_status=45
out=$("$CLI" -c "$T/conf" send-code $PHONE 4711 2>&1)
rc=$?
assert_eq "send-code refused: exit status 5 (API)" 5 "$rc"
assert_match "  ... names the SMPP status" 'status=0x00000045\(ESME_RSUBMITFAIL\)' "$out"

# test USER: the code is typed on standard input once the mock has it.
fresh
mkfifo "$T/tty"
(
    for _ in $(seq 1 100); do
        [ "$(wc -l <"$MOCK_OUTBOX")" -gt "$OUT0" ] && break
        sleep 0.1
    done
    field "$(last_sent)" code
) >"$T/tty" &
typist=$!
out=$(timeout 30 setsid "$CLI" -c "$T/conf" test daemon <"$T/tty" 2>&1)
rc=$?
wait "$typist"
rm -f "$T/tty"
assert_eq "test USER over SMPP: verified (exit 0)" 0 "$rc"
assert_match "  ... result verified, channel SMS" 'channel: SMS' "$out"
assert_eq "  ... one message over SMPP" 1 "$(sent_since)"

fresh
conns0=$(grep -c '"event":"bind"' "$PDULOG")
out=$("$CLI" -c "$T/conf" doctor 2>&1)
assert_match "doctor binds over TLS" '^OK  SMPP bind to 127\.0\.0\.1:[0-9]+ as eotp-test \(TLS' "$out"
assert_eq "  ... one bind" 1 $(($(grep -c '"event":"bind"' "$PDULOG") - conns0))
assert_eq "  ... nothing sent" 0 "$(sent_since)"
assert_match "  ... and unbinds" '"event":"unbound"' "$(tail -n 3 "$PDULOG")"
assert_no_match "  ... no warning with TLS" '^WARN smpp' "$out"
conns0=$(grep -c '"event":"bind"' "$PDULOG")
out=$("$CLI" -c "$T/conf" doctor --offline 2>&1)
assert_match "doctor --offline: the bind is skipped" '^SKIP smpp: not checked \(--offline\)' "$out"
assert_eq "  ... and no connection made" 0 $(($(grep -c '"event":"bind"' "$PDULOG") - conns0))

fresh "smpp_port=$plain_PORT" smpp_tls=no
out=$("$CLI" -c "$T/conf" doctor 2>&1)
assert_match "doctor warns about smpp_tls = no" '^WARN smpp_tls = no: .*in clear' "$out"
assert_match "  ... and binds in plaintext" '^OK  SMPP bind .*plaintext' "$out"

fresh "smpp_password_file=$T/pw2"
out=$("$CLI" -c "$T/conf" doctor 2>&1)
assert_match "doctor: refused bind is a FAIL with a hint" \
    '^FAIL SMPP bind .*refused our credentials.*step=bind.*check smpp_system_id' "$out"

fresh "smpp_port=$wrong_PORT"
out=$("$CLI" -c "$T/conf" doctor 2>&1)
assert_match "doctor: wrong certificate is a TLS FAIL" '^FAIL SMPP bind .*TLS failure.*smpp_ca_file' "$out"

# ---- configuration --------------------------------------------------------------------

fresh
login bin alice@example.com -- @code
assert_eq "email destination cannot go by SMPP" PAM_SERVICE_ERR "$RES"

write_conf "$T/conf" transport=smpp smpp_host=127.0.0.1 "smpp_port=$tls_PORT" \
    smpp_system_id=eotp-test "smpp_password_file=$T/pw"
login daemon $PHONE -- @code
assert_eq "transport = smpp without code_mode = local: refused" PAM_SERVICE_ERR "$RES"
assert_match "  ... says why" 'transport = smpp needs code_mode = local' "$OUT"

write_conf "$T/conf" transport=smpp code_mode=local smpp_host=127.0.0.1
login daemon $PHONE -- @code
assert_match "missing smpp keys: says which" \
    'needs smpp_host, smpp_port, smpp_system_id and smpp_password_file' "$OUT"

write_conf "$T/conf" transport=smtp
login daemon $PHONE -- @code
assert_match "unknown transport refused" 'bad value for transport' "$OUT"

printf '123456789\n' >"$T/pw3"
chmod 0600 "$T/pw3"
fresh "smpp_password_file=$T/pw3"
login daemon $PHONE -- @code
assert_eq "password over 8 characters: SERVICE_ERR" PAM_SERVICE_ERR "$RES"
assert_match "  ... says why" '1 to 8 characters' "$OUT"

chmod 0644 "$T/pw"
fresh
login daemon $PHONE -- @code
assert_eq "password file readable by others: SERVICE_ERR" PAM_SERVICE_ERR "$RES"
assert_match "  ... refused" 'refusing smpp_password_file' "$OUT"
chmod 0600 "$T/pw"

t_summary
