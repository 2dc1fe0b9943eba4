#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_redis_script.sh - the fleet-state Lua script (src/core/redis_state.c)
# on a real TLS Redis with the module's ACL user: sliding windows, all or
# nothing, TTLs, EVALSHA with the NOSCRIPT fallback, exact limits under
# many parallel clients, and hostile replies from a fake server.
set -u
. "$(dirname "$0")/../lib.sh"
t_setup
. "$TESTS_DIR/redis/redisenv.sh"
PROBE="$BUILD/tests/redis_probe"

command -v redis-server >/dev/null || { t_fail "redis-server is installed"; t_summary; exit; }
[ -x "$PROBE" ] || { t_fail "redis_probe is built (make test-programs)"; t_summary; exit; }
redis_start main || { t_fail "redis-server starts"; t_summary; exit; }

cat >"$T/c.conf" <<EOF
dev_key = k
dev_secret = s
template_id = t
redis_url = $(redis_url main)
redis_ca_file = $T/redis-certs/ca.pem
redis_timeout = 5000
EOF
chmod 0600 "$T/c.conf"
rs() { "$PROBE" "$T/c.conf" --rs "$@" 2>/dev/null; }

# ---- EVALSHA, then EVAL once after NOSCRIPT ------------------------------
redis_cli main SCRIPT FLUSH >/dev/null
out=$(rs count eotp:v1:s:a 0 60000 -)
assert_match "first run after SCRIPT FLUSH works" "^open ok.*ok" "$(echo $out)"
assert_match "... EVALSHA, NOSCRIPT, EVAL: 3 round trips with AUTH" "round_trips 3" "$out"
out=$(rs count eotp:v1:s:a 0 60000 -)
assert_match "then EVALSHA alone: 2 round trips with AUTH" "round_trips 2" "$out"

# ---- sliding window ------------------------------------------------------
res=""
for i in 1 2 3 4; do
    res="$res $(rs take eotp:v1:s:a 3 60000 - | sed -n 's/^\(ok\|limited\).*/\1/p')"
done
assert_eq "take 3/60s: three pass, the fourth is refused" " ok ok ok limited" "$res"
out=$(rs take eotp:v1:s:a 3 60000 -)
wait_ms=$(printf '%s\n' "$out" | sed -n 's/^limited 1 //p')
if [ -n "$wait_ms" ] && [ "$wait_ms" -gt 50000 ] && [ "$wait_ms" -le 60000 ]; then
    t_ok "the refusal says how long to wait ($wait_ms ms)"
else
    t_fail "the refusal says how long to wait" "$out"
fi
assert_eq "a refused take added nothing" 3 "$(redis_cli main ZCARD eotp:v1:s:a)"
ttl=$(redis_cli main PTTL eotp:v1:s:a)
if [ "$ttl" -gt 0 ] && [ "$ttl" -le 60000 ]; then
    t_ok "the window's key expires within the window ($ttl ms)"
else
    t_fail "the window's key expires within the window" "$ttl"
fi

# Short windows really slide.
rs take eotp:v1:s:b 1 300 - >/dev/null
assert_match "1/300ms: the second at once is refused" "^limited" "$(rs take eotp:v1:s:b 1 300 - | sed -n 2p)"
sleep 0.5
assert_match "... and passes after the window" "^ok" "$(rs take eotp:v1:s:b 1 300 - | sed -n 2p)"

# ---- all or nothing ------------------------------------------------------
rs take eotp:v1:w:c 1 60000 - >/dev/null
out=$(rs take eotp:v1:s:c 5 60000 - \; check eotp:v1:w:c 1 60000 - \; set eotp:v1:p:c 1 60000 msg-1)
assert_match "a refusing check in step 2 refuses the whole call" "limited 2" "$out"
assert_eq "... step 1 wrote nothing" 0 "$(redis_cli main ZCARD eotp:v1:s:c)"
assert_eq "... step 3 wrote nothing" "" "$(redis_cli main GET eotp:v1:p:c)"

# ---- values, TTLs, give-back ---------------------------------------------
out=$(rs set eotp:v1:p:d 0 120000 msg-42 \; take eotp:v1:s:d 5 60000 id-1)
assert_match "set and take together" "step 2 1" "$out"
out=$(rs get eotp:v1:p:d 0 0 - \; ttl eotp:v1:p:d 0 0 - \; count eotp:v1:s:d 0 60000 -)
assert_match "get returns the value" "step 1 0 msg-42" "$out"
pttl=$(printf '%s\n' "$out" | sed -n 's/^step 2 \([0-9]*\).*/\1/p')
if [ -n "$pttl" ] && [ "$pttl" -gt 100000 ] && [ "$pttl" -le 120000 ]; then
    t_ok "a value's TTL is the one given ($pttl ms)"
else
    t_fail "a value's TTL is the one given" "$out"
fi
out=$(rs zrem eotp:v1:s:d 0 0 id-1)
assert_match "zrem gives an event back" "step 1 1" "$out"
out=$(rs count eotp:v1:s:d 0 60000 -)
assert_match "... and it no longer counts" "step 1 0" "$out"
out=$(rs get eotp:v1:p:none 0 0 -)
assert_match "a missing value reads as empty" "step 1 0 $" "$out"
out=$(rs del eotp:v1:p:d 0 0 - \; get eotp:v1:p:d 0 0 -)
assert_match "del removes" "step 1 1" "$out"

# ---- used-once records and the lease ----------------------------------------
out=$(rs once eotp:v1:rec:t:n1 0 60000 -)
assert_match "once: the first time" "step 1 1" "$out"
out=$(rs once eotp:v1:rec:t:n1 0 60000 -)
assert_match "once: never again" "step 1 0" "$out"
ttl=$(redis_cli main PTTL eotp:v1:rec:t:n1)
if [ "$ttl" -gt 0 ] && [ "$ttl" -le 60000 ]; then t_ok "once: with its TTL"; else t_fail "once: with its TTL" "$ttl"; fi
assert_match "lease: taken by owner A" "^ok" "$(rs lease eotp:v1:l 0 5000 A | sed -n 2p)"
assert_match "lease: owner B must wait, told how long" "^limited 1 [0-9]+" "$(rs lease eotp:v1:l 0 5000 B | sed -n 2p)"
assert_match "lease: owner A may take it again" "^ok" "$(rs lease eotp:v1:l 0 5000 A | sed -n 2p)"
rs unlease eotp:v1:l 0 0 B >/dev/null
assert_eq "unlease by another owner does nothing" A "$(redis_cli main GET eotp:v1:l)"
rs unlease eotp:v1:l 0 0 A >/dev/null
assert_eq "unlease by the owner releases" "" "$(redis_cli main GET eotp:v1:l)"

# ---- exact under concurrency ---------------------------------------------
pids=()
for i in $(seq 1 40); do
    rs take eotp:v1:s:par 7 60000 - >"$T/par.$i" &
    pids+=($!)
done
wait "${pids[@]}"
oks=$(cat "$T"/par.* | grep -c '^ok')
lim=$(cat "$T"/par.* | grep -c '^limited')
assert_eq "40 parallel takes with limit 7: exactly 7 pass" "7 33" "$oks $lim"
assert_eq "... and exactly 7 events are stored" 7 "$(redis_cli main ZCARD eotp:v1:s:par)"

# ---- every key has a TTL --------------------------------------------------
nottl=""
for k in $(redis_cli main --scan); do
    t=$(redis_cli main PTTL "$k")
    [ "$t" -gt 0 ] || nottl="$nottl $k=$t"
done
assert_eq "every key the script wrote has a TTL" "" "$nottl"

# ---- an ACL without EVAL: a script error, not a pass -----------------------
redis_cli main ACL SETUSER noeval on ">x-pass-1" "~eotp:*" +@connection >/dev/null
sed "s|^redis_url.*|redis_url = $(redis_url main noeval x-pass-1)|" "$T/c.conf" >"$T/noeval.conf"
chmod 0600 "$T/noeval.conf"
out=$("$PROBE" "$T/noeval.conf" --rs take eotp:v1:s:e 5 60000 - 2>/dev/null)
assert_match "EVAL refused by ACL: an error" "rs failed err=server_error" "$out"

# ---- hostile replies from a fake server ------------------------------------
# hostile REPLY: a plaintext loopback server that answers every command with
# REPLY (RESP text with \r\n escapes).
hostile() {
    local port pid
    port=$(free_port)
    python3 - "$port" "$1" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
ans = sys.argv[2].encode().decode("unicode_escape").encode("latin-1")
while True:
    c, _ = s.accept()
    c.settimeout(5)
    try:
        while c.recv(65536):
            c.sendall(ans)
    except Exception:
        pass
    c.close()
PY
    pid=$!
    for _ in $(seq 1 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    printf 'dev_key = k\ndev_secret = s\ntemplate_id = t\nredis_url = redis://127.0.0.1:%s\n' \
        "$port" >"$T/h.conf"
    chmod 0600 "$T/h.conf"
    HOUT=$("$PROBE" "$T/h.conf" --rs take eotp:v1:s:h 5 60000 - 2>/dev/null)
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
for reply in '+OK\r\n' ':1\r\n' '$2\r\nok\r\n' '*1\r\n$2\r\nok\r\n' \
    '*3\r\n$2\r\nok\r\n$1\r\nx\r\n:5\r\n' \
    '*4\r\n$7\r\nlimited\r\n:9\r\n:10\r\n:1\r\n' \
    '*4\r\n$7\r\nlimited\r\n:1\r\n:-5\r\n:1\r\n' \
    '*4\r\n$7\r\nlimited\r\n:1\r\n:999999999\r\n:1\r\n' \
    '*3\r\n$3\r\nyes\r\n:1\r\n:5\r\n' \
    '*3\r\n$2\r\nok\r\n:-7\r\n:5\r\n' \
    '*6\r\n$7\r\nlimited\r\n:2\r\n:10\r\n:0\r\n:1\r\n:5\r\n' \
    '*6\r\n$7\r\nlimited\r\n:1\r\n:0\r\n:0\r\n:1\r\n:5\r\n' \
    '*6\r\n$2\r\nok\r\n:1\r\n:0\r\n:0\r\n:1\r\n:5\r\n' \
    '*6\r\n$2\r\nok\r\n:0\r\n:0\r\n:0\r\n$1\r\n1\r\n:5\r\n' \
    '*2000\r\n' '-ERR boom\r\n'; do
    hostile "$reply"
    assert_match "hostile reply $reply is refused, never a pass" \
        "rs failed err=(bad_response|server_error|transport|timeout)" "$HOUT"
done
hostile '*6\r\n$2\r\nok\r\n:0\r\n:0\r\n:0\r\n:1\r\n:5\r\n'
assert_match "a well-formed fake reply is understood (the harness works)" "step 1 1" "$HOUT"

t_summary
