#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests of notifications (issue 16): the real libpam loads the
# built module, which sends notices through the mock's
# /v1/custom-messages; the mock's request log shows what each carried.
#
# Cases: no template, no notice; a lockout notice sent once and carrying
# no code; success and new_rhost (a known address is no longer new);
# failmode=open bypass; a failing or slow notice leaves the login's
# outcome and deadline alone; the per-user limit; notify_on errors.
# Existing system accounts (daemon, games); nothing is written outside
# the temp dir.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
t_setup
t_on_exit mock_stop

PHONE=+6581234567
PHONE2=+6590001111
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }

cat >"$T/users" <<MAP
daemon:$PHONE
games:$PHONE2
MAP
chmod 0644 "$T/users"
mkdir -p "$T/pam.d"

fresh() {
    mockctl reset >/dev/null
    rm -rf "$T/state"
    write_conf "$T/conf" "$@"
    service eotp "conf=$T/conf"
    SVC=eotp
    mark
}

# mark: remember where the request log ends; notices() reads after it.
mark() {
    REQ0=$(mock_request_count)
}

# notices: one line per /v1/custom-messages request since mark:
# "TO KEYS EVENT RHOST SERVICE USER" (KEYS: the sorted param names).
notices() {
    python3 - "$MOCK_REQLOG" "$REQ0" <<'PY'
import json, sys
rows = open(sys.argv[1]).read().split("\n")[:-1][int(sys.argv[2]):]
for raw in rows:
    r = json.loads(raw)
    if r.get("path") != "/v1/custom-messages":
        continue
    b = r.get("body") or {}
    p = (b.get("template") or {}).get("params") or {}
    print(b.get("to"), ",".join(sorted(p)), p.get("event"), p.get("rhost"),
          p.get("service"), p.get("user"))
PY
}

# notice_values: every param value of the notices since mark, one a line.
notice_values() {
    python3 - "$MOCK_REQLOG" "$REQ0" <<'PY'
import json, sys
rows = open(sys.argv[1]).read().split("\n")[:-1][int(sys.argv[2]):]
for raw in rows:
    r = json.loads(raw)
    if r.get("path") == "/v1/custom-messages":
        b = r.get("body") or {}
        print(b.get("template", {}).get("id"))
        for v in ((b.get("template") or {}).get("params") or {}).values():
            print(v)
PY
}

count_notices() {
    notices | grep -c . || true
}

KEYS=event,host,rhost,service,time,user

# ---- no template, no notice ---------------------------------------------------

fresh lockout=3/900
login daemon $PHONE --rhost 192.0.2.1 -- @code
assert_eq "no template: login as usual" PAM_SUCCESS "$RES"
login daemon $PHONE --rhost 192.0.2.1 -- @wrong @wrong @wrong
assert_eq "no template: lockout as usual" PAM_AUTH_ERR "$RES"
assert_eq "no template: no notice at all" 0 "$(count_notices)"
assert_no_match "no template: no notification log line" 'notification' "$OUT"

# ---- lockout ------------------------------------------------------------------

fresh notify_template=pam-notify lockout=3/900
login daemon $PHONE --rhost 192.0.2.1 -- @wrong @wrong
assert_eq "two wrong codes (below the lockout): no notice" 0 "$(count_notices)"
login daemon $PHONE --rhost 192.0.2.1 -- @wrong @code
assert_eq "the wrong code that reaches the lockout: denied" PAM_AUTH_ERR "$RES"
assert_eq "lockout: exactly one notice" 1 "$(count_notices)"
assert_eq "lockout notice: to the user's destination, the six params" \
    "$PHONE $KEYS lockout 192.0.2.1 eotp daemon" "$(notices)"
code=$(mock_code $PHONE)
assert_no_match "lockout notice carries no code" "$code" "$(notice_values)"
assert_match "lockout notice: the notify template" '^pam-notify$' "$(notice_values)"
assert_match "lockout notice logged with the masked destination" \
    'notification sent event=lockout user=daemon service=eotp rhost=192\.0\.2\.1 dest=\+65\*{6}67 result=sent' "$OUT"
assert_no_match "the log never has the full number" '6581234567' "$OUT"
login daemon $PHONE --rhost 192.0.2.1 -- @code
assert_eq "locked out afterwards: denied" PAM_AUTH_ERR "$RES"
assert_eq "still locked out: no second notice" 1 "$(count_notices)"
login daemon $PHONE --rhost 192.0.2.1 -- @code
assert_eq "once per lockout, not per login" 1 "$(count_notices)"
"$CLI" -c "$T/conf" state reset daemon >/dev/null
mockctl reset >/dev/null # the reset forgot the pending code: no 3004
sleep 1.2 # the marker of the lockout told expires a second after the reset
login daemon $PHONE --rhost 192.0.2.1 -- @wrong @wrong @wrong
assert_eq "after 'state reset', a new lockout is told again" 2 "$(count_notices)"

# Default notify_on (lockout, rescue, bypass): a success sends nothing.
fresh notify_template=pam-notify
login daemon $PHONE --rhost 192.0.2.1 -- @code
assert_eq "default notify_on: success logs in" PAM_SUCCESS "$RES"
assert_eq "default notify_on: no notice for a success" 0 "$(count_notices)"

# ---- success and new_rhost ----------------------------------------------------

fresh notify_template=pam-notify "notify_on=success, new_rhost"
login daemon $PHONE --rhost 192.0.2.7 -- @code
assert_eq "first login from an address" PAM_SUCCESS "$RES"
assert_eq "first login from an address: new_rhost" \
    "$PHONE $KEYS new_rhost 192.0.2.7 eotp daemon" "$(notices)"
mark
login daemon $PHONE --rhost 192.0.2.7 -- @code
assert_eq "second login from the same address: success, not new_rhost" \
    "$PHONE $KEYS success 192.0.2.7 eotp daemon" "$(notices)"
mark
login daemon $PHONE --rhost 198.51.100.3 -- @code
assert_eq "another address: new_rhost" \
    "$PHONE $KEYS new_rhost 198.51.100.3 eotp daemon" "$(notices)"
mark
login games $PHONE2 --rhost 192.0.2.7 -- @code
assert_eq "an address seen for another user is new for this one" \
    "$PHONE2 $KEYS new_rhost 192.0.2.7 eotp games" "$(notices)"
mark
login daemon $PHONE -- @code
assert_eq "no remote address: success, rhost '-'" \
    "$PHONE $KEYS success - eotp daemon" "$(notices)"
assert_eq "addresses are never stored in clear" "" \
    "$(grep -rl -e '192\.0\.2\.7' -e '198\.51\.100\.3' "$T/state" 2>/dev/null)"
assert_eq "seen records are keyed hashes" 3 \
    "$(find "$T/state" -name '+x-seen-*.state' | wc -l)"

fresh notify_template=pam-notify notify_on=new_rhost
login daemon $PHONE --rhost 192.0.2.7 -- @code
login daemon $PHONE --rhost 192.0.2.7 -- @code
assert_eq "new_rhost alone: only the first login from the address" \
    "$PHONE $KEYS new_rhost 192.0.2.7 eotp daemon" "$(notices)"

# Local codes (code_mode = local) reach the lockout in another place.
fresh notify_template=pam-notify lockout=3/900 code_mode=local
login daemon $PHONE --rhost 192.0.2.1 -- @wrong @wrong @wrong
assert_eq "local codes: the lockout is reached" PAM_AUTH_ERR "$RES"
assert_eq "local codes: one lockout notice" \
    "$PHONE $KEYS lockout 192.0.2.1 eotp daemon" "$(notices)"

# ---- bypass -------------------------------------------------------------------

fresh notify_template=pam-notify failmode=open
mockctl fault status500 --path /v1/messages >/dev/null
login daemon $PHONE --rhost 192.0.2.1 -- @code
assert_eq "failmode=open bypass" PAM_SUCCESS "$RES"
assert_eq "bypass: one notice" "$PHONE $KEYS bypass 192.0.2.1 eotp daemon" "$(notices)"
fresh notify_template=pam-notify failmode=open
mockctl fault status500 --path /v1/verifications >/dev/null
login daemon $PHONE --rhost 192.0.2.1 -- @code
assert_eq "failmode=open after a code was sent: no bypass" PAM_AUTHINFO_UNAVAIL "$RES"
assert_eq "no bypass, no bypass notice" 0 "$(count_notices)"
fresh notify_template=pam-notify
mockctl fault status500 --path /v1/messages >/dev/null
login daemon $PHONE --rhost 192.0.2.1 -- @code
assert_eq "failmode closed: service down denies" PAM_AUTHINFO_UNAVAIL "$RES"
assert_eq "failmode closed: no bypass notice" 0 "$(count_notices)"

# A bypass after the send used up the deadline: no time left for a notice.
fresh notify_template=pam-notify failmode=open timeout=2 connect_timeout=1 deadline=2
mockctl fault blackhole --path /v1/messages >/dev/null
login daemon $PHONE --rhost 192.0.2.1 -- @code
assert_eq "bypass after a timeout that used the deadline" PAM_SUCCESS "$RES"
assert_match "no time left: the notice is not sent, and says why" \
    'notification not sent event=bypass .*result=timeout deadline=passed' "$OUT"
assert_eq "no time left: nothing reached /v1/custom-messages" 0 "$(count_notices)"
if [ "$ELAPSED" -lt 6000 ]; then
    t_ok "no time left: the login is not made longer"
else
    t_fail "no time left: the login is not made longer" "took $ELAPSED ms"
fi

# ---- a failing notice changes nothing -----------------------------------------

fresh notify_template=pam-notify notify_on=success
mockctl fault status500 --path /v1/custom-messages >/dev/null
login daemon $PHONE -- @code
assert_eq "notice answered 500: the login still succeeds" PAM_SUCCESS "$RES"
assert_match "failed notice logged with its reason" \
    'notification not sent event=success user=daemon .*dest=\+65\*{6}67 result=server_error .*http=500 code=1000' "$OUT"
assert_match "the outcome line is a plain success" 'result=success user=daemon' "$OUT"

fresh notify_template=pam-notify lockout=3/900
mockctl fault status500 --path /v1/custom-messages >/dev/null
login daemon $PHONE -- @wrong @wrong @wrong
assert_eq "lockout notice answered 500: still denied" PAM_AUTH_ERR "$RES"
assert_match "failed lockout notice logged" 'notification not sent event=lockout .*result=server_error' "$OUT"

fresh notify_template=pam-notify notify_on=success notify_timeout=500
mockctl fault slow --path /v1/custom-messages --delay-ms 8000 >/dev/null
login daemon $PHONE -- @code
assert_eq "slow notice: the login still succeeds" PAM_SUCCESS "$RES"
assert_match "slow notice: cut at notify_timeout" \
    'notification not sent event=success .*result=timeout ms=[0-9]+ timeout=500 ' "$OUT"
if [ "$ELAPSED" -lt 6000 ]; then
    t_ok "slow notice: the login does not wait for it"
else
    t_fail "slow notice: the login does not wait for it" "took $ELAPSED ms"
fi

# The deadline left caps notify_timeout: 1 s of API time in all.
fresh notify_template=pam-notify notify_on=success notify_timeout=10000 deadline=1
mockctl fault slow --path /v1/custom-messages --delay-ms 8000 >/dev/null
login daemon $PHONE -- @code
assert_eq "slow notice, short deadline: the login still succeeds" PAM_SUCCESS "$RES"
to=$(printf '%s\n' "$OUT" | sed -n 's/.*notification not sent .* timeout=\([0-9]*\) .*/\1/p')
if [ -n "$to" ] && [ "$to" -le 1000 ]; then
    t_ok "the notice's timeout fits in what is left of the deadline"
else
    t_fail "the notice's timeout fits in what is left of the deadline" "timeout=$to" "$OUT"
fi

# ---- per-user limit -----------------------------------------------------------

fresh notify_template=pam-notify notify_on=success notify_limit=2/3600
for _ in 1 2 3; do
    login daemon $PHONE -- @code
done
assert_eq "notify_limit: third login still succeeds" PAM_SUCCESS "$RES"
assert_eq "notify_limit = 2/3600: two notices for three logins" 2 "$(count_notices)"
assert_match "the notice over the limit is logged" \
    'notification not sent event=success .*limit=notify_limit count=2 window=3600' "$OUT"
login games $PHONE2 -- @code
assert_eq "the limit is per user" 3 "$(count_notices)"

# ---- configuration ------------------------------------------------------------

fresh notify_template=pam-notify "notify_on=lockout, frobnicate"
login daemon $PHONE -- @code
assert_eq "notify_on with an unknown event: refused" PAM_SERVICE_ERR "$RES"
assert_match "the unknown event is named with the valid ones" \
    'bad item for notify_on at .* item=frobnicate \(valid: lockout, rescue, bypass, success, new_rhost\)' "$OUT"
fresh notify_on=lockout
login daemon $PHONE -- @code
assert_eq "notify_on without notify_template: refused" PAM_SERVICE_ERR "$RES"
assert_match "notify_on without notify_template: said so" \
    'notify_on is set but notify_template is not' "$OUT"
fresh notify_template=pam-notify notify_timeout=50
login daemon $PHONE -- @code
assert_eq "notify_timeout below 100 ms: refused" PAM_SERVICE_ERR "$RES"

# ---- fleet-wide on Redis -------------------------------------------------------
# Two "hosts" (a state_dir each) sharing one Redis: an address seen by one
# is known to the other, and the per-user limit counts on both.

if command -v redis-server >/dev/null; then
    . "$TESTS_DIR/redis/redisenv.sh"
    if redis_start main; then
        for h in a b; do
            write_conf "$T/conf$h" "state_dir=$T/state$h" "redis_url=$(redis_url main)" \
                "redis_ca_file=$T/redis-certs/ca.pem" notify_template=pam-notify \
                "notify_on=success, new_rhost" notify_limit=3/3600
            printf 'auth required %s conf=%s\n' "$MODULE" "$T/conf$h" >"$T/pam.d/host$h"
        done
        mockctl reset >/dev/null
        mark
        SVC=hosta login daemon $PHONE --rhost 203.0.113.5 -- @code
        assert_eq "redis: first login on host a, new address" \
            "$PHONE $KEYS new_rhost 203.0.113.5 hosta daemon" "$(notices)"
        mark
        SVC=hostb login daemon $PHONE --rhost 203.0.113.5 -- @code
        assert_eq "redis: the same address on host b is known fleet-wide" \
            "$PHONE $KEYS success 203.0.113.5 hostb daemon" "$(notices)"
        assert_no_match "redis: host b used Redis" 'redis: cannot be used' "$OUT"
        mark
        SVC=hosta login daemon $PHONE --rhost 203.0.113.5 -- @code
        SVC=hostb login daemon $PHONE --rhost 203.0.113.5 -- @code
        assert_eq "redis: notify_limit = 3/3600 counts on every host" 1 "$(count_notices)"
        assert_eq "redis: nothing in the hosts' state_dirs" "" \
            "$(find "$T/statea" "$T/stateb" -name '+x-*' 2>/dev/null)"
        nrec=$(redis_cli main --scan --pattern 'eotp:v1:rec:*' | grep -c .)
        if [ "$nrec" -ge 2 ]; then
            t_ok "redis: the records are in Redis, under keyed names"
        else
            t_fail "redis: the records are in Redis, under keyed names" "$nrec keys"
        fi
        assert_eq "redis: no address or user name in any key" 0 \
            "$(redis_cli main --scan --pattern '*' | grep -c -e 203.0.113 -e daemon)"
    else
        t_fail "redis-server starts"
    fi
fi

t_summary
