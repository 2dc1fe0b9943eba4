#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_redis.sh - fleet-wide state on Redis (issue 13), end to end through
# the real libpam with pam_harness and the HTTPS mock: two "hosts" (two
# configs, each with its own state_dir) against one TLS-only Redis with an
# ACL user.  Send limits, 3004 reuse across hosts, lockout and reset,
# exact limits under parallel logins, every failure mode (down, stalled,
# wrong password, untrusted certificate, replica), redis_required, key
# hygiene, and a Sentinel failover.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
t_setup

command -v redis-server >/dev/null || { t_fail "redis-server is installed"; t_summary; exit; }
t_on_exit mock_stop
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit; }
. "$TESTS_DIR/redis/redisenv.sh"
redis_start main || { t_fail "redis-server starts"; t_summary; exit; }

PHONE=+6581234567
CA="$T/redis-certs/ca.pem"
cat >"$T/users" <<MAP
daemon:$PHONE
bin:+6590000001
MAP
chmod 0644 "$T/users"
mkdir -p "$T/pam.d"
printf 'auth required pam_deny.so\n' >"$T/pam.d/other"

# hosts URL [key=value...]: configs for host a and host b (state_dir of
# their own) with the same Redis settings; services "hosta", "hostb".
hosts() {
    local url=$1
    shift
    local h ca="redis_ca_file=$CA"
    case " $* " in *" redis_ca_file="*) ca="redis_insecure=no" ;; esac
    for h in a b; do
        rm -rf "$T/state$h"
        write_conf "$T/conf$h" "state_dir=$T/state$h" "redis_url=$url" \
            "$ca" debug=yes "$@"
        printf 'auth required %s conf=%s\n' "$MODULE" "$T/conf$h" >"$T/pam.d/host$h"
    done
}
fresh() {
    mockctl reset >/dev/null
    mockctl config --codes-3004 no >/dev/null
    redis_cli main FLUSHALL >/dev/null
    hosts "$(redis_url main)" "$@"
    OUT0=$(mock_sent_count)
}
sent() { mockctl count --outbox "$MOCK_OUTBOX" --to "${1:-$PHONE}" --after-line "$OUT0"; }
on() {
    local h=$1
    shift
    SVC=host$h login "$@"
}
cli() { local h=$1; shift; "$CLI" -c "$T/conf$h" "$@"; }
no_local_state() { [ ! -e "$T/state$1/daemon.state" ]; }

# ---- a login uses Redis, not state_dir ----------------------------------------
fresh
on a daemon $PHONE -- @code
assert_match "the first login on a fresh server loads the script (NOSCRIPT, EVAL)" \
    'redis: done round_trips=' "$OUT"
fresh
on a daemon $PHONE -- @code
assert_eq "host a: login with Redis" PAM_SUCCESS "$RES"
assert_no_match "no warning when Redis works" 'redis: cannot be used' "$OUT"
if no_local_state a; then t_ok "nothing in host a's state_dir"; else t_fail "nothing in host a's state_dir"; fi
rt=$(printf '%s\n' "$OUT" | sed -n 's/.*redis: done round_trips=\([0-9]*\).*/\1/p' | tail -n 1)
if [ -n "$rt" ] && [ "$rt" -le 3 ]; then
    t_ok "round trips of a platform login: $rt (AUTH, begin, attempt with sent's reply; finish not awaited)"
else
    t_fail "round trips of a platform login" "$rt"
fi

# ---- the outcome of a right answer: written without waiting, yet written -------
# until_redis WHAT CMD...: the posted write may land just after the login
# process ends; look for up to 2 s.
until_redis() {
    local what=$1 i
    shift
    for i in $(seq 1 40); do
        [ "$("$@")" = "$what" ] && return 0
        sleep 0.05
    done
    return 1
}
nkeys_like() { redis_cli main --scan --pattern "$1" | wc -l; }
fresh grace_period=300
on a daemon $PHONE -- @wrong @code
assert_eq "a wrong code, then the right one" PAM_SUCCESS "$RES"
if until_redis 0 nkeys_like '*:wrong'; then t_ok "... the right answer cleared the wrong code (DEL written without waiting)"; else t_fail "... the right answer cleared the wrong code" "$(redis_cli main --scan --pattern '*:wrong')"; fi
if until_redis 1 nkeys_like '*:grace:*'; then t_ok "... and recorded the grace binding"; else t_fail "... and recorded the grace binding"; fi
pend=$(redis_cli main --scan --pattern '*:pend' | head -n 1)
if until_redis 0 redis_cli main HLEN "${pend:-none}"; then t_ok "... and deleted the used code's pending record"; else t_fail "... and deleted the used code's pending record" "$(redis_cli main HGETALL "$pend")"; fi
on a daemon $PHONE -- @code
assert_eq "the grace binding recorded without waiting lets the user in again" PAM_SUCCESS "$RES"
assert_match "... by grace" 'grace=yes' "$OUT"

# A server that refuses that last write (the ACL user may not HDEL): the
# login, already verified by the service, goes on; the state is left
# stricter (the used code still pending, the attempt reservation kept).
fresh
redis_cli main ACL SETUSER pam -hdel >/dev/null
on a daemon $PHONE -- @code
redis_cli main ACL SETUSER pam +hdel >/dev/null
assert_eq "the outcome write refused by the server: the right answer still lets the user in" PAM_SUCCESS "$RES"
assert_no_match "... without falling back to state_dir" 'redis: cannot be used' "$OUT"
pend=$(redis_cli main --scan --pattern '*:pend' | head -n 1)
assert_eq "... the used code is still pending (stricter, never looser)" 1 "$(redis_cli main HLEN "${pend:-none}")"

# ---- fleet-wide send limit ---------------------------------------------------
fresh send_limit=3/900
for h in a b a; do on $h daemon $PHONE -- @code; done
assert_eq "three codes, hosts a b a" 3 "$(sent)"
on b daemon $PHONE -- @code
assert_eq "the fourth code, on host b, is refused: the limit is fleet-wide" PAM_AUTH_ERR "$RES"
assert_match "... told when to try again" '^ERROR: Too many codes requested; try again in' "$OUT"
assert_eq "... and nothing was sent" 3 "$(sent)"
assert_match "state show on host b sees the three sends" 'codes sent: 3 ' "$(cli b state show daemon 2>&1)"

# ---- a code sent on one host is reused on the other after 3004 ----------------
fresh
mockctl config --codes-3004 yes >/dev/null
on a daemon $PHONE -- @fail
assert_eq "host a sent a code, the user went away" 1 "$(sent)"
on b daemon $PHONE -- @code
assert_eq "host b: 3004, reuses host a's code, the user gets in" PAM_SUCCESS "$RES"
assert_match "... logged as reused" 'reused=yes' "$OUT"
assert_eq "... one SMS in all" 1 "$(sent)"

# ---- fleet-wide lockout and a reset from one host ------------------------------
# Local codes: after a reset no platform code is pending any more, and the
# service would refuse a new one (3004) until the old one expires.
fresh code_mode=local lockout=3/900 max_attempts=2
on a daemon $PHONE -- @wrong @wrong
assert_eq "host a: two wrong codes" PAM_MAXTRIES "$RES"
on b daemon $PHONE -- @wrong @code
assert_eq "host b: the third wrong code locks the user everywhere" PAM_AUTH_ERR "$RES"
assert_match "... told" '^ERROR: Too many wrong codes' "$OUT"
before=$(sent)
on a daemon $PHONE -- @code
assert_eq "host a: locked too" PAM_AUTH_ERR "$RES"
assert_eq "... nothing sent while locked" "$before" "$(sent)"
cli b state reset daemon >/dev/null 2>&1
assert_eq "reset from host b" 0 "$?"
on a daemon $PHONE -- @code
assert_eq "host a: the reset on host b lifted the lockout" PAM_SUCCESS "$RES"

# ---- exact limits under parallel logins across hosts ---------------------------
# 24 logins on 2 cores: a generous redis_timeout so that none falls back to
# its host's state_dir (which a slow login would, by design).
fresh code_mode=local send_limit=5/900 redis_timeout=10000
pids=()
for i in $(seq 1 24); do
    h=a
    [ $((i % 2)) = 0 ] && h=b
    timeout 60 "$HARNESS" --confdir "$T/pam.d" --service host$h --user daemon \
        --outbox "$MOCK_OUTBOX" --to $PHONE -- @fail >"$T/par.$i" 2>&1 &
    pids+=($!)
done
wait "${pids[@]}"
assert_eq "24 parallel logins on two hosts, send_limit 5/900: exactly 5 codes" 5 "$(sent)"
assert_eq "... 19 refused by the limit" 19 "$(grep -l 'Too many codes requested' "$T"/par.* | wc -l)"
assert_eq "... no fallback to state_dir" 0 "$(grep -l 'redis: cannot be used' "$T"/par.* | wc -l)"

# Platform codes: parallel ssh to many hosts.  One login at a time per user
# between begin and sent (a lease in Redis, as the file backend's lock):
# one code goes out and the others reuse it after 3004, none is refused.
fresh send_limit=5/900 redis_timeout=10000
rm -f "$T"/par.*
pids=()
for i in $(seq 1 20); do
    h=a
    [ $((i % 2)) = 0 ] && h=b
    timeout 60 "$HARNESS" --confdir "$T/pam.d" --service host$h --user daemon \
        --outbox "$MOCK_OUTBOX" --to $PHONE -- @fail >"$T/par.$i" 2>&1 &
    pids+=($!)
done
wait "${pids[@]}"
assert_eq "20 parallel platform logins on two hosts: one code, 19 reuse it" \
    "1 19" "$(sent) $(grep -l 'reused=yes' "$T"/par.* | wc -l)"
assert_eq "... none refused by send_limit" 0 "$(grep -l 'Too many codes requested' "$T"/par.* | wc -l)"
assert_eq "... the lease is gone" "" "$(redis_cli main --scan --pattern '*:lease')"

# A login that finds the user's lease held looks again rarely: 20 ms, then
# twice as long up to 250 ms, never past the lease's PTTL.  Each look is a
# round trip of its redis_timeout (before: one every 50 ms, some 25 round
# trips for this 1.2 s wait).
fresh send_limit=5/900 redis_timeout=10000
mockctl fault slow --path /v1/messages --delay-ms 1500 --count 1 >/dev/null
timeout 60 "$HARNESS" --confdir "$T/pam.d" --service hosta --user daemon \
    --outbox "$MOCK_OUTBOX" --to $PHONE -- @fail >"$T/lease.a" 2>&1 &
pa=$!
for _ in $(seq 1 100); do
    [ -n "$(redis_cli main --scan --pattern '*:lease')" ] && break
    sleep 0.05
done
on b daemon $PHONE -- @code
wait $pa
mockctl fault none >/dev/null
assert_eq "lease held by host a's slow send: host b waits, then reuses its code" \
    "PAM_SUCCESS 1" "$RES $(sent)"
rt=$(printf '%s\n' "$OUT" | sed -n 's/.*redis: done round_trips=\([0-9]*\).*/\1/p' | tail -n 1)
wms=$(printf '%s\n' "$OUT" | sed -n 's/.*waited for the user.s lease ms=\([0-9]*\).*/\1/p')
if [ -n "$rt" ] && [ "${wms:-0}" -ge 500 ] && [ "$rt" -le $((8 + ${wms:-0} / 150)) ]; then
    t_ok "... with few round trips: $rt for a ${wms} ms wait"
else
    t_fail "... with few round trips" "round_trips=$rt waited=${wms:-?} ms"
fi

# A lease left by a login that died (killed between begin and sent) is
# taken over when its PTTL ends (connect_timeout + timeout = 3 s), not
# later, and not by polling all along.  Local codes (no 3004 for the
# message the mock still records after the killed login's delay).
fresh code_mode=local send_limit=5/900 redis_timeout=10000 connect_timeout=1 timeout=2
mockctl fault slow --path /v1/codes --delay-ms 1500 --count 1 >/dev/null
timeout 60 "$HARNESS" --confdir "$T/pam.d" --service hosta --user daemon \
    --outbox "$MOCK_OUTBOX" --to $PHONE -- @fail >"$T/lease.a" 2>&1 &
pa=$!
for _ in $(seq 1 100); do
    [ -n "$(redis_cli main --scan --pattern '*:lease')" ] && break
    sleep 0.05
done
kill -9 $pa 2>/dev/null
wait $pa 2>/dev/null
mockctl fault none >/dev/null
pttl=$(redis_cli main PTTL "$(redis_cli main --scan --pattern '*:lease' | head -n 1)")
on b daemon $PHONE -- @code
assert_eq "a dead login's lease: host b gets in after it expires" PAM_SUCCESS "$RES"
rt=$(printf '%s\n' "$OUT" | sed -n 's/.*redis: done round_trips=\([0-9]*\).*/\1/p' | tail -n 1)
wms=$(printf '%s\n' "$OUT" | sed -n 's/.*waited for the user.s lease ms=\([0-9]*\).*/\1/p')
if [ "${pttl:-0}" -gt 500 ] && [ -n "$wms" ] && [ "$wms" -le $((pttl + 300)) ] &&
    [ "${rt:-99}" -le $((8 + pttl / 150)) ]; then
    t_ok "... waited ${wms} ms for a PTTL of ${pttl} ms, $rt round trips"
else
    t_fail "... waited for the PTTL with few round trips" "pttl=$pttl waited=${wms:-?} round_trips=$rt"
fi

# ---- key hygiene ---------------------------------------------------------------
fresh grace_period=300 rhost_send_limit=10/900
on a daemon $PHONE --rhost 198.51.100.7 -- @fail
on b daemon $PHONE --rhost 198.51.100.7 -- @wrong @code
bad=""
dump=""
for k in $(redis_cli main --scan); do
    ttl=$(redis_cli main PTTL "$k")
    [ "$ttl" -gt 0 ] || bad="$bad $k:ttl=$ttl"
    case $(redis_cli main TYPE "$k") in
    string) dump="$dump $(redis_cli main GET "$k")" ;;
    hash) dump="$dump $(redis_cli main HGETALL "$k" | tr '\n' ' ')" ;;
    zset) dump="$dump $(redis_cli main ZRANGE "$k" 0 -1 WITHSCORES | tr '\n' ' ')" ;;
    *) bad="$bad $k:type" ;;
    esac
    dump="$dump $k"
done
assert_eq "every key has a TTL and a known type" "" "$bad"
nkeys=$(redis_cli main DBSIZE)
if [ "$nkeys" -ge 3 ]; then t_ok "keys written ($nkeys)"; else t_fail "keys written" "$nkeys"; fi
code=$(mock_code $PHONE)
assert_no_match "no user name, address, destination or code in keys or values" \
    "daemon|198\.51|6581234567|81234567|${code:-NOCODE}" "$dump"
assert_match "key names carry keyed hashes" 'eotp:v1:\{[0-9a-f]{32}\}:' "$dump"

# ---- when Redis cannot be used ---------------------------------------------------
# fallback NAME URL [key=value...]: a login on host a goes on with state_dir.
fallback() {
    local name=$1 url=$2
    shift 2
    mockctl reset >/dev/null
    hosts "$url" "$@"
    OUT0=$(mock_sent_count)
    on a daemon $PHONE -- @code
    assert_eq "$name: the login goes on" PAM_SUCCESS "$RES"
    assert_eq "$name: one warning" 1 "$(printf '%s\n' "$OUT" | grep -c 'SYSLOG: <4> .*redis: cannot be used, this login uses the host.s state_dir')"
    if [ -e "$T/statea/daemon.state" ]; then t_ok "$name: state_dir used"; else t_fail "$name: state_dir used"; fi
    assert_no_match "$name: no password in the log" "$REDIS_PAM_PASS|wrong-pass" "$OUT"
}
fallback "wrong password" "$(redis_url main pam wrong-pass)"
assert_match "wrong password: the reason" 'reason="authentication refused"' "$OUT"
fallback "untrusted certificate" "$(redis_url main)" "redis_ca_file=$T/redis-certs/other-ca.pem"
assert_match "untrusted certificate: the reason" 'reason="TLS handshake failed' "$OUT"

redis_start replica "replicaof 127.0.0.1 ${REDIS_PORT[main]}" || t_fail "replica starts"
for _ in $(seq 1 100); do
    redis_cli replica INFO replication | grep -q 'master_link_status:up' && break
    sleep 0.1
done
fallback "replica only (READONLY)" "$(redis_url replica)"
redis_cli main FLUSHALL >/dev/null
hosts "$(redis_url replica), $(redis_url main)"
on a daemon $PHONE -- @code
assert_eq "replica first, master second: in" PAM_SUCCESS "$RES"
assert_no_match "... through the master, no fallback" 'redis: cannot be used' "$OUT"
redis_stop replica

redis_cli main DEBUG SLEEP 3 >/dev/null &
sleeper=$!
sleep 0.3
fallback "stalled server" "$(redis_url main)" redis_timeout=300
assert_match "stalled server: timed out" 'error=timeout' "$OUT"
wait "$sleeper"

dead=$(free_port)
fallback "server down" "rediss://pam:x@127.0.0.1:$dead"

# redis_required: refuse, even with failmode=open.
for fm in closed open; do
    hosts "rediss://pam:x@127.0.0.1:$dead" redis_required=yes failmode=$fm
    mockctl reset >/dev/null
    OUT0=$(mock_sent_count)
    on a daemon $PHONE -- @code
    assert_eq "redis_required, failmode=$fm, Redis down: PAM_AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
    assert_eq "... nothing sent" 0 "$(sent)"
    assert_no_match "... no bypass" 'bypass' "$OUT"
done

# ---- a hostile Redis lets nobody in ----------------------------------------------
# tests/redis/hostile_redis.py answers every script call in the right shape,
# with lies: every local code "right", a forged pending code.
HPID=
hostile_start() {
    rm -f "$T/hport"
    python3 "$TESTS_DIR/redis/hostile_redis.py" "$T/hport" "$@" 2>/dev/null &
    HPID=$!
    t_on_exit "kill $HPID 2>/dev/null"
    for _ in $(seq 1 50); do [ -s "$T/hport" ] && break; sleep 0.1; done
    HPORT=$(cat "$T/hport" 2>/dev/null)
}
hostile_stop() { kill "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null; }

fresh
hostile_start right
hosts "redis://127.0.0.1:$HPORT" code_mode=local
on a daemon $PHONE -- @wrong
assert_match "a Redis that calls a wrong local code right: refused" \
    '^RESULT: PAM_(AUTH_ERR|SERVICE_ERR|AUTHINFO_UNAVAIL|MAXTRIES)' "RESULT: $RES"
assert_match "... and the lie is logged" 'redis: the server called a code right that is not' "$OUT"
hostile_stop

# A pending code's record forged by whoever can write Redis: a message whose
# code the attacker has (here: one the CLI sent), offered for reuse after 3004.
fresh
mockctl config --codes-3004 yes >/dev/null
msg=$(cli a send "$PHONE" 2>/dev/null | sed -n 's/^message_id: //p')
assert_match "a message whose code the attacker knows" '.' "$msg"
hostile_start pend "$msg sms $(date +%s) 0123456789abcdef0123456789abcdef"
hosts "redis://127.0.0.1:$HPORT"
on a daemon $PHONE -- @code
assert_match "a forged pending code is not reused: refused" \
    '^RESULT: PAM_(AUTH_ERR|SERVICE_ERR|AUTHINFO_UNAVAIL)' "RESULT: $RES"
assert_match "... and the forgery is logged" 'pending code.s record does not carry its MAC' "$OUT"
hostile_stop

# ---- engagelab-otp doctor: the Redis checks in its table ------------------------
fresh
out=$(cli a doctor --pam-dir "$T" 2>&1)
assert_match "doctor: Redis connect, TLS and AUTH" '^OK  redis: connected to rediss://127\.0\.0\.1:[0-9]+ \(TLS verified, authenticated\)' "$out"
assert_match "doctor: the script's commands on probe keys" '^OK  redis: probe keys written with a TTL' "$out"
assert_no_match "doctor: no Redis failure" '^FAIL redis' "$out"
out=$(cli a doctor --offline --pam-dir "$T" 2>&1)
assert_match "doctor --offline: Redis not contacted" '^SKIP redis: not checked \(--offline\)' "$out"
redis_stop main
out=$(cli a doctor --pam-dir "$T" 2>&1)
rc=$?
assert_match "doctor: Redis down is a FAIL with a fix" '^FAIL redis: connect, TLS and AUTH: .*: .*redis_url' "$out"
assert_eq "doctor: exit 1 when Redis is down" 1 "$rc"
redis_start main || t_fail "redis-server restarts"

# ---- Sentinel: the master dies, logins go on, limits hold -------------------------
if redis_sentinel_setup; then
    printf '%s\n' "$REDIS_PAM_PASS" >"$T/pw"
    chmod 0600 "$T/pw"
    sent_list="127.0.0.1:${REDIS_PORT[s1]}, 127.0.0.1:${REDIS_PORT[s2]}, 127.0.0.1:${REDIS_PORT[s3]}"
    for h in a b; do
        rm -rf "$T/state$h"
        write_conf "$T/conf$h" "state_dir=$T/state$h" "redis_sentinels=$sent_list" \
            redis_master_name=m redis_user=pam "redis_password_file=$T/pw" \
            "redis_ca_file=$CA" redis_timeout=1500 send_limit=3/900 debug=yes
    done
    mockctl reset >/dev/null
    OUT0=$(mock_sent_count)
    on a daemon $PHONE -- @code
    on b daemon $PHONE -- @code
    assert_eq "sentinel: two logins through the master" "PAM_SUCCESS 2" "$RES $(sent)"
    # Replication is asynchronous: wait until the replica has the writes.
    redis_cli m0 WAIT 1 2000 >/dev/null
    redis_stop m0
    ok=""
    for _ in $(seq 1 100); do
        on a daemon $PHONE -- @code
        if [ "$RES" = PAM_SUCCESS ] && ! printf '%s' "$OUT" | grep -q 'redis: cannot be used'; then
            ok=1
            break
        fi
        sleep 0.2
    done
    assert_eq "sentinel: after the master died, logins go on through the new master" 1 "$ok"
    on b daemon $PHONE -- @code
    assert_eq "sentinel: the send limit held across the failover" PAM_AUTH_ERR "$RES"
    assert_match "... by the limit" 'Too many codes requested' "$OUT"
else
    t_fail "sentinel setup"
fi

t_summary
