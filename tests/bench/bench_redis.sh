#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench_redis.sh - the Redis figures of make bench (issue 13).  Not a test.
#
#   1. login with Redis / without    median wall time of a full login
#                                    (one process per login, like sshd)
#                                    with fleet state on a TLS+ACL Redis on
#                                    loopback, over the same without Redis
#                                    (state_dir); rounds interleaved;
#                                    then the same with 20 ms of latency
#                                    on every API answer
#   2. round trips per login         Redis round trips one platform login
#                                    waits for
#   3. parallel logins               BENCH_REDIS_PAR (1000) logins at once
#                                    across 4 hosts (4 configs, 4
#                                    state_dirs), as many users, all from
#                                    one address, rhost_send_limit 50/900:
#                                    exactly 50 codes?
#   4. keys and bytes per user       after 10 users each had a code sent and
#                                    left pending, a wrong code and a login
#                                    with grace: DBSIZE and MEMORY USAGE
#
#   The parallel run is made twice: with redis_timeout = 10000 (what that
#   burst needs on 2 CPUs: exactness is the question) and with the default
#   500 ms (how many logins fall back to their host's state_dir).  During
#   it redis-server and the mock run at nice BENCH_REDIS_NICE (-10): they
#   stand for servers of their own, which 1000 login processes on the same
#   2 CPUs would otherwise starve (0: no renice).
#
# Knobs: BENCH_N (31), BENCH_REDIS_PAR (1000), BENCH_REDIS_PARTS (which
# parts to run: "ratio rt par keys").  Needs root, redis-server.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
t_setup
N=${BENCH_N:-31}
PAR=${BENCH_REDIS_PAR:-1000}
PARTS=" ${BENCH_REDIS_PARTS:-ratio rt par keys} "
part() { case "$PARTS" in *" $1 "*) return 0 ;; esac; return 1; }
SUMMARY=${BENCH_SUMMARY:-$BUILD/bench-summary.txt}
PHONE=+6581234567
FAKEPW="$BUILD/tests/fakepw.so"

say() { printf '%s\n' "$1" | tee -a "$SUMMARY"; }
row() {
    printf '| %-40s | %-44s | %-22s | %-4s |\n' "$1" "$2" "$3" "$4" |
        tee -a "$SUMMARY"
}
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ms_since() { awk -v s="$1" -v e="$EPOCHREALTIME" 'BEGIN {printf "%.3f", (e-s)*1000}'; }
verdict() { awk "BEGIN { exit !($1) }" && echo yes || echo NO; }

t_on_exit mock_stop
mock_start "$T/mock" >/dev/null || { echo "bench_redis: mock did not start" >&2; exit 1; }
. "$TESTS_DIR/redis/redisenv.sh"
redis_start main || { echo "bench_redis: redis did not start" >&2; exit 1; }
# A second server that authenticates clients by certificate (Redis's own
# default, tls-auth-clients yes) and needs no AUTH.
redis_start_mtls mtls || { echo "bench_redis: redis (mtls) did not start" >&2; exit 1; }
mockctl config --codes-3004 no >/dev/null

USERS="daemon bin sys games man lp mail news uucp proxy"
i=0
for u in $USERS; do
    printf '%s:+65900000%02d\n' "$u" "$i"
    i=$((i + 1))
done >"$T/users"
printf 'daemon:%s\n' "$PHONE" >"$T/users1"
chmod 0644 "$T/users" "$T/users1"
mkdir -p "$T/pam.d"
printf 'auth required pam_deny.so\n' >"$T/pam.d/other"
URL=$(redis_url main)
CA="$T/redis-certs/ca.pem"
write_conf "$T/plain.conf" "user_map=$T/users1" "state_dir=$T/s-plain" \
    send_limit=off rhost_send_limit=off
write_conf "$T/redis.conf" "user_map=$T/users1" "state_dir=$T/s-redis" \
    send_limit=off rhost_send_limit=off "redis_url=$URL" "redis_ca_file=$CA"
printf 'auth required %s conf=%s\n' "$MODULE" "$T/plain.conf" >"$T/pam.d/plain"
printf 'auth required %s conf=%s\n' "$MODULE" "$T/redis.conf" >"$T/pam.d/redis"
install -m 0644 "$T/redis-certs/client.pem" "$T/client.pem"
install -m 0600 "$T/redis-certs/client.key" "$T/client.key"
write_conf "$T/mtls.conf" "user_map=$T/users1" "state_dir=$T/s-mtls" \
    send_limit=off rhost_send_limit=off "redis_url=rediss://127.0.0.1:${REDIS_PORT[mtls]}" \
    "redis_ca_file=$CA" "redis_tls_cert=$T/client.pem" "redis_tls_key=$T/client.key"
printf 'auth required %s conf=%s\n' "$MODULE" "$T/mtls.conf" >"$T/pam.d/mtls"

timed() {
    local s=$EPOCHREALTIME
    "$HARNESS" --confdir "$T/pam.d" --service "$1" --user daemon \
        --outbox "$MOCK_OUTBOX" --to "$PHONE" -- @code >"$T/login.out" 2>&1
    MS=$(ms_since "$s")
    grep -q '^RESULT: PAM_SUCCESS' "$T/login.out" || BAD=$((BAD + 1))
    grep -q 'redis: cannot be used' "$T/login.out" && FELL=$((FELL + 1))
}

say ""
say "# Redis (issue 13): redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1, TLS + ACL user"
if part ratio; then
    # Rounds interleaved: without Redis; with Redis, resuming the TLS
    # session cached by the previous login (the steady state); with Redis
    # and that cache removed first (a full handshake, as the first login
    # after an hour, a restart or a failover).
    BAD=0
    FELL=0
    : >"$T/plain.ms"
    : >"$T/redis.ms"
    : >"$T/full.ms"
    : >"$T/mtls.ms"
    for r in $(seq 1 $((N + 3))); do
        timed plain
        [ "$r" -gt 3 ] && echo "$MS" >>"$T/plain.ms"
        timed redis
        [ "$r" -gt 3 ] && echo "$MS" >>"$T/redis.ms"
        timed mtls
        [ "$r" -gt 3 ] && echo "$MS" >>"$T/mtls.ms"
        rm -f "$T"/s-redis/+redis-tls-*
        timed redis
        [ "$r" -gt 3 ] && echo "$MS" >>"$T/full.ms"
    done
    p=$(median <"$T/plain.ms")
    q=$(median <"$T/redis.ms")
    f=$(median <"$T/full.ms")
    ratio=$(awk -v a="$q" -v b="$p" 'BEGIN {printf "%.3f", a / b}')
    fratio=$(awk -v a="$f" -v b="$p" 'BEGIN {printf "%.3f", a / b}')
    load=$(cut -d ' ' -f 1 /proc/loadavg)
    row "login with Redis / without (median of $N)" "$q / $p ms = $ratio (failed $BAD, fell back $FELL; load $load)" "<= 1.03" "$(verdict "$ratio <= 1.03 && $BAD == 0")"
    row "... with a full TLS handshake (no cache)" "$f / $p ms = $fratio" "figure" "-"
    m=$(median <"$T/mtls.ms")
    mratio=$(awk -v a="$m" -v b="$p" 'BEGIN {printf "%.3f", a / b}')
    row "... client certificate, no AUTH (resumed)" "$m / $p ms = $mratio" "<= 1.03" "$(verdict "$mratio <= 1.03 && $BAD == 0")"
    # The same with 20 ms on every API answer (a nearby EngageLab region;
    # the mock on loopback answers in well under a millisecond, which no
    # deployment sees): what the Redis part weighs in a real login.
    : >"$T/plain20.ms"
    : >"$T/redis20.ms"
    mockctl fault slow --delay-ms 20 --count $((4 * (N + 3))) >/dev/null
    for r in $(seq 1 $((N + 3))); do
        timed plain
        [ "$r" -gt 3 ] && echo "$MS" >>"$T/plain20.ms"
        timed redis
        [ "$r" -gt 3 ] && echo "$MS" >>"$T/redis20.ms"
    done
    mockctl fault none >/dev/null
    p=$(median <"$T/plain20.ms")
    q=$(median <"$T/redis20.ms")
    ratio=$(awk -v a="$q" -v b="$p" 'BEGIN {printf "%.3f", a / b}')
    row "... with 20 ms API latency (resumed)" "$q / $p ms = $ratio (failed $BAD, fell back $FELL)" "figure" "-"
fi

if part rt; then
    write_conf "$T/rt.conf" "user_map=$T/users1" "state_dir=$T/s-rt" debug=yes \
        send_limit=off rhost_send_limit=off "redis_url=$URL" "redis_ca_file=$CA"
    printf 'auth required %s conf=%s\n' "$MODULE" "$T/rt.conf" >"$T/pam.d/rt"
    for _ in 1 2; do # the second login: script loaded, TLS session cached
        "$HARNESS" --confdir "$T/pam.d" --service rt --user daemon --outbox "$MOCK_OUTBOX" \
            --to "$PHONE" -- @code >"$T/rt.out" 2>&1
    done
    rt=$(sed -n 's/.*redis: done round_trips=\([0-9]*\).*/\1/p' "$T/rt.out" | tail -n 1)
    row "Redis round trips per platform login" "${rt:-?} waited (AUTH, begin, attempt+sent; finish posted)" "<= 2" "$(verdict "${rt:-99} <= 2")"
    write_conf "$T/rtm.conf" "user_map=$T/users1" "state_dir=$T/s-rtm" debug=yes \
        send_limit=off rhost_send_limit=off "redis_url=rediss://127.0.0.1:${REDIS_PORT[mtls]}" \
        "redis_ca_file=$CA" "redis_tls_cert=$T/client.pem" "redis_tls_key=$T/client.key"
    printf 'auth required %s conf=%s\n' "$MODULE" "$T/rtm.conf" >"$T/pam.d/rtm"
    for _ in 1 2; do
        "$HARNESS" --confdir "$T/pam.d" --service rtm --user daemon --outbox "$MOCK_OUTBOX" \
            --to "$PHONE" -- @code >"$T/rtm.out" 2>&1
    done
    rt=$(sed -n 's/.*redis: done round_trips=\([0-9]*\).*/\1/p' "$T/rtm.out" | tail -n 1)
    grep -q 'redis: cannot be used' "$T/rtm.out" && rt="fell back"
    row "... with a client certificate, no password" "${rt:-?} waited (begin, attempt+sent; finish posted)" "<= 2" "$(verdict "${rt:-99} <= 2")"
fi

# ---- parallel logins across 4 hosts ------------------------------------------------
# PAR different users (fakepw.so) from one remote address, rhost_send_limit
# 50/900: exactly 50 codes may go out, fleet-wide.  par_run TIMEOUT_MS.
par_run() {
    local rto=$1 h i s wall codes fell why zc
    redis_cli main FLUSHALL >/dev/null
    for h in 1 2 3 4; do
        write_conf "$T/h$h.conf" "user_map=$T/users-par" "state_dir=$T/s-h$h" \
            rhost_send_limit=50/900 "redis_url=$URL" "redis_ca_file=$CA" \
            "redis_timeout=$rto" deadline=60
        printf 'auth required %s conf=%s\n' "$MODULE" "$T/h$h.conf" >"$T/pam.d/h$h"
    done
    o0=$(mock_sent_count)
    s=$EPOCHREALTIME
    pids=()
    for i in $(seq 0 $((PAR - 1))); do
        LD_PRELOAD=$FAKEPW timeout 300 "$HARNESS" --confdir "$T/pam.d" \
            --service "h$((i % 4 + 1))" --user "eotpbench$i" --rhost 198.51.100.7 \
            --outbox "$MOCK_OUTBOX" --to "$(printf '+6591%06d' "$i")" -- @fail \
            >"$T/par.$i" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}"
    wall=$(ms_since "$s")
    codes=$(($(mock_sent_count) - o0))
    fell=$(grep -l 'redis: cannot be used' "$T"/par.* 2>/dev/null | wc -l)
    refused=$(grep -l 'Too many codes requested' "$T"/par.* 2>/dev/null | wc -l)
    why=$(cat "$T"/par.* | sed -n 's/.*redis: cannot be used.*reason="\([^"]*\)".*/\1/p' |
        sort | uniq -c | sort -rn | head -3 | awk '{$1=$1; print}' | paste -sd ';' -)
    # What Redis counted for the address (reservations of logins that fell
    # back later stay counted: stricter, never looser).
    zc=$(redis_cli main ZCARD "$(redis_cli main --scan --pattern 'eotp:v1:*:rsend' | head -n 1)")
    # Exact: Redis granted 50 and refused the rest; a granted send that
    # timed out at the API keeps its reservation (it may have gone out),
    # so fewer than 50 codes may arrive, never more.
    row "$PAR parallel logins, 4 hosts, one address, redis_timeout $rto ms" "Redis counted ${zc:-0}, refused $refused; $codes sent, $fell fell back; $(printf '%.0f' "$wall") ms" "exactly 50" "$(verdict "${zc:-0} == 50 && $refused == $PAR - 50 && $codes <= 50 && $fell == 0")"
    [ -n "$why" ] && say "#   fell back: $why (a fallback keeps per-host limits: at most 4 x 50 more)"
    rm -f "$T"/par.*
}
if part par; then
    NICE=${BENCH_REDIS_NICE:--10}
    if [ "$NICE" != 0 ]; then
        renice -n "$NICE" -p "${REDIS_PID[main]}" "$MOCK_PID" >/dev/null
        say "#   redis-server and the mock at nice $NICE (servers of their own)"
    fi
    for i in $(seq 0 $((PAR - 1))); do
        printf 'eotpbench%d:+6591%06d\n' "$i" "$i"
    done >"$T/users-par"
    chmod 0644 "$T/users-par"
    par_run 10000
    par_run 500
    [ "$NICE" != 0 ] && renice -n 0 -p "${REDIS_PID[main]}" "$MOCK_PID" >/dev/null
fi

# ---- keys and bytes per active user ------------------------------------------------
if part keys; then
    redis_cli main FLUSHALL >/dev/null
    write_conf "$T/k.conf" "user_map=$T/users" "state_dir=$T/s-k" grace_period=3600 \
        lockout=10/900 "redis_url=$URL" "redis_ca_file=$CA"
    printf 'auth required %s conf=%s\n' "$MODULE" "$T/k.conf" >"$T/pam.d/k"
    nu=0
    i=0
    for u in $USERS; do
        to=$(printf '+65900000%02d' "$i")
        i=$((i + 1))
        id -u "$u" >/dev/null 2>&1 || continue
        "$HARNESS" --confdir "$T/pam.d" --service k --user "$u" --outbox "$MOCK_OUTBOX" \
            --to "$to" -- @wrong @code >/dev/null 2>&1
        "$HARNESS" --confdir "$T/pam.d" --service k --user "$u" --rhost 198.51.100.9 \
            --outbox "$MOCK_OUTBOX" --to "$to" -- @fail >/dev/null 2>&1
        nu=$((nu + 1))
    done
    keys=$(redis_cli main DBSIZE)
    bytes=0
    for k in $(redis_cli main --scan); do
        b=$(redis_cli main MEMORY USAGE "$k")
        bytes=$((bytes + ${b:-0}))
    done
    kpu=$(awk -v k="$keys" -v n="$nu" 'BEGIN {printf "%.1f", k / n}')
    bpu=$(awk -v b="$bytes" -v n="$nu" 'BEGIN {printf "%.0f", b / n}')
    row "keys and bytes per active user ($nu users)" "$kpu keys, $bpu bytes (MEMORY USAGE)" "documented" "yes"
fi
