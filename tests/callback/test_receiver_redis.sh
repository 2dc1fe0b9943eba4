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

# Two receivers (behind a balancer, say) racing on one message id: the
# newest row must stay.  120 rows, itime NOW-300+i, half to each receiver
# at once; the newest (i = 120, "delivered") goes in the middle of one
# stream, so older rows keep arriving at both after it.  The compare and
# the write are one step in Redis (rec_put_newer): a read-then-write
# would let an older row that was read before it overwrite it.
port2=$(free_port)
mkdir -m 0700 "$T/state2"
cb_conf "$T/cb2.conf" "$port2" "state_dir=$T/state2" "redis_url=$(redis_url main)" "redis_ca_file=$CA"
"$CLI" -c "$T/cb2.conf" callback serve --stderr 2>"$T/cb2.log" &
pid2=$!
t_on_exit "kill $pid2 2>/dev/null"
for _ in $(seq 1 100); do grep -q 'callback receiver started' "$T/cb2.log" && break; sleep 0.05; done
python3 - "$T" "$NOW" "$CB_USER" "$CB_SECRET" "$CB_URL" "http://127.0.0.1:$port2/callback" <<'PY'
import hashlib, hmac, json, os, random, sys
t, now, user, secret, url1, url2 = sys.argv[1:7]
now = int(now)
rows = list(range(1, 121))
random.seed(7)
first = [i for i in rows if i % 2 == 1]
second = [i for i in rows if i % 2 == 0 and i != 120]
random.shuffle(first)
random.shuffle(second)
second.insert(len(second) // 2, 120)
for name, url, order in (("race1", url1, first), ("race2", url2, second)):
    with open(os.path.join(t, name + ".curl"), "w") as cfg:
        for n, i in enumerate(order):
            body = {"total": 1, "rows": [{"message_id": "race-1", "channel": "sms",
                    "itime": now - 300 + i,
                    "status": {"message_status": "delivered" if i == 120 else "sent",
                               "error_code": 0}}]}
            f = os.path.join(t, "%s-%d.json" % (name, i))
            with open(f, "w") as b:
                json.dump(body, b)
            nonce = os.urandom(8).hex()
            sig = hmac.new(secret.encode(), f"{now}{nonce}{user}".encode(), hashlib.sha256).hexdigest()
            if n:
                cfg.write("next\n")
            cfg.write('url = "%s"\nrequest = "POST"\ndata-binary = "@%s"\n' % (url, f))
            cfg.write('header = "Content-Type: application/json"\n')
            cfg.write('header = "X-CALLBACK-ID: timestamp=%d;nonce=%s;username=%s;signature=%s"\n' % (now, nonce, user, sig))
            cfg.write('output = "/dev/null"\nwrite-out = "%{http_code}\\n"\n')
PY
curl -s -K "$T/race1.curl" >"$T/race1.codes" 2>&1 &
c1=$!
curl -s -K "$T/race2.curl" >"$T/race2.codes" 2>&1
wait $c1
assert_eq "120 rows through two receivers at once: all 200" 120 "$(cat "$T/race1.codes" "$T/race2.codes" | grep -c '^200$')"
assert_match "... the newest row stayed" "\"status\":\"delivered\".*\"at\":$((NOW - 180))," \
    "$("$CLI" -c "$T/other.conf" callback status --json race-1 2>&1)"
kill "$pid2" 2>/dev/null
wait "$pid2" 2>/dev/null
cb_stop
assert_eq "clean stop" 0 "$CB_RC"
t_summary
