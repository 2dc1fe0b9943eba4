#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The fleet path: one central receiver writes delivery status records to
# Redis, and "callback status" on another host (another config, another
# state_dir) reads them; a Redis outage answers 503 so EngageLab retries.
set -u
. "$(dirname "$0")/../lib.sh"
t_setup
. "$TESTS_DIR/callback/cblib.sh"
. "$TESTS_DIR/redis/redisenv.sh"
redis_start main || { t_fail "redis-server starts"; t_summary; exit; }
CA="$T/redis-certs/ca.pem"
NOW=$(date +%s)
nonce() { od -An -N8 -tx8 /dev/urandom | tr -d ' \n'; }

# No redis_required: the receiver never falls back to its state_dir anyway.
cb_start "redis_url=$(redis_url main)" "redis_ca_file=$CA" ||
    { t_fail "callback serve on Redis starts" "$(cat "$CB_LOG")"; t_summary; exit; }
assert_match "callback serve on Redis" 'store=redis' "$(cat "$CB_LOG")"
assert_eq "a signed status row: 200" 200 \
    "$(cb_post "$(cb_status_row fleet-1 delivered "$NOW" sms)" -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")"
# (+redis-tls-*: the TLS session cache of redis_session.c, not state.)
assert_eq "nothing in the receiver's state_dir" 0 "$(find "$T/state" -type f ! -name '+redis-tls-*' | wc -l)"
keys=$(redis_cli main --scan --pattern 'eotp:*')
assert_match "the record is in Redis (a keyed name)" "eotp:v1:rec:[0-9a-f]{32}" "$keys"

# Another host: its own state_dir, the same Redis.
mkdir -m 0700 "$T/other"
cb_conf "$T/other.conf" 1 "state_dir=$T/other" "redis_url=$(redis_url main)" "redis_ca_file=$CA"
out=$("$CLI" -c "$T/other.conf" callback status --json fleet-1 2>&1)
assert_eq "callback status on another host reads it" \
    "{\"message_id\":\"fleet-1\",\"found\":true,\"status\":\"delivered\",\"class\":\"delivered\",\"channel\":\"sms\",\"at\":$NOW,\"error_code\":0}" "$out"
out=$("$CLI" -c "$T/other.conf" callback status fleet-1 2>&1)
assert_match "... from redis" 'store: +redis' "$out"

# Redis down: 503 (EngageLab retries), the receiver keeps running.
H=$(cb_sig "$NOW" "$(nonce)")
redis_stop main
assert_eq "Redis down: 503" 503 "$(cb_post "$(cb_status_row fleet-2 sent "$NOW")" -H "X-CALLBACK-ID: $H")"
assert_eq "... the receiver still runs" 0 "$(kill -0 "$CB_PID"; echo $?)"
assert_eq "... nothing went to its own state_dir (no fallback)" 0 "$(find "$T/state" -type f ! -name '+redis-tls-*' | wc -l)"
# Back on the same port (redis_start would pick another one).
redis-server "$T/redis/main/redis.conf" >/dev/null 2>&1 &
REDIS_PID[main]=$!
_redis_wait main || t_fail "redis-server restarts on its port"
ok=no
for i in 1 2 3 4 5 6 7 8 9 10; do
    code=$(cb_post "$(cb_status_row fleet-2 sent "$NOW")" -H "X-CALLBACK-ID: $H")
    [ "$code" = 200 ] && { ok=yes; break; }
    sleep 0.5
done
assert_eq "Redis back: the retry of the same header is accepted" yes "$ok"
assert_match "... and readable from the other host" '"status":"sent"' \
    "$("$CLI" -c "$T/other.conf" callback status --json fleet-2 2>&1)"
# Many callbacks on one connection to Redis: more than one login's
# redis_timeout of Redis time in all, each request with its own budget.
fails=0
for i in $(seq 1 300); do
    code=$(cb_post "$(cb_status_row "many-$i" sent "$NOW")" -H "X-CALLBACK-ID: $(cb_sig "$NOW" "$(nonce)")")
    [ "$code" = 200 ] || fails=$((fails + 1))
done
assert_eq "300 callbacks in a row: every one 200" 0 "$fails"
cb_stop
assert_eq "clean stop" 0 "$CB_RC"
t_summary
