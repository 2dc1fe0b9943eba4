#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_redis_conn.sh - the Redis connection layer (src/core/redis.c)
# against real TLS-only servers with ACL users: verified TLS, AUTH, node
# order, READONLY replicas, timeouts, Sentinel and a failover.  Driven
# through build/tests/redis_probe, which opens connections exactly as a
# login does.
set -u
. "$(dirname "$0")/../lib.sh"
t_setup
. "$TESTS_DIR/redis/redisenv.sh"
PROBE="$BUILD/tests/redis_probe"

if ! command -v redis-server >/dev/null || ! command -v redis-sentinel >/dev/null; then
    t_fail "redis-server and redis-sentinel are installed (packaging/install-deps.sh)"
    t_summary
    exit
fi
[ -x "$PROBE" ] || { t_fail "redis_probe is built (make test-programs)"; t_summary; exit; }

redis_start main || { t_fail "redis-server starts"; t_summary; exit; }
CA="$T/redis-certs/ca.pem"

# conf FILE [key=value lines...]: a config with only what the probe needs.
conf() {
    local f=$1
    shift
    {
        printf 'dev_key = k\ndev_secret = s\ntemplate_id = t\n'
        local kv
        for kv in "$@"; do
            printf '%s\n' "$kv"
        done
    } >"$f"
    chmod 0600 "$f"
}

probe() {
    local f=$1
    shift
    POUT=$("$PROBE" "$f" "$@" 2>"$T/probe.err")
    PRC=$?
    PERR=$(cat "$T/probe.err")
}

# ---- the good path: TLS verified against the CA, ACL user, SELECT ------
conf "$T/good.conf" "redis_url = $(redis_url main)/2" "redis_ca_file = $CA"
probe "$T/good.conf" PING \; SET eotp:t:a 1 EX 30 \; GET eotp:t:a
assert_eq "TLS + ACL user + db 2: three replies" 0 "$PRC"
assert_match "replies in order" "status PONG.*status OK.*string 1" "$(echo $POUT)"
assert_match "commands in one round trip after AUTH+SELECT" "round_trips 2" "$POUT"
assert_eq "the key went to db 2" "1" "$(redis_cli main -n 2 GET eotp:t:a)"
assert_eq "not to db 0" "" "$(redis_cli main -n 0 GET eotp:t:a)"

# ACL: the module's user cannot touch other keys.
probe "$T/good.conf" GET other:key
assert_match "ACL keeps the user to eotp:*" "error NOPERM" "$POUT"

# The password of redis_password_file wins over the URL's.
printf '%s\n' "$REDIS_PAM_PASS" >"$T/pw"
chmod 0600 "$T/pw"
conf "$T/pwfile.conf" "redis_url = $(redis_url main pam wrong-in-url)" \
    "redis_ca_file = $CA" "redis_password_file = $T/pw"
probe "$T/pwfile.conf" PING
assert_eq "redis_password_file overrides the URL password" 0 "$PRC"
conf "$T/pwuser.conf" "redis_url = rediss://127.0.0.1:${REDIS_PORT[main]}" \
    "redis_ca_file = $CA" "redis_user = pam" "redis_password_file = $T/pw"
probe "$T/pwuser.conf" PING
assert_eq "redis_user + redis_password_file, no credentials in the URL" 0 "$PRC"
chmod 0644 "$T/pw"
probe "$T/pwfile.conf" PING
assert_match "a readable password file is refused" "open failed err=config" "$POUT"
chmod 0600 "$T/pw"

# ---- eotp_redis_post(): written, run, and never waited for -------------
# (A right answer's finish goes this way: store_redis.c.)
probe "$T/good.conf" --post SET eotp:t:posted 1 EX 30
assert_match "post: written without a round trip" "posted.*round_trips 1" "$(echo $POUT)"
for _ in $(seq 1 40); do
    [ "$(redis_cli main -n 2 GET eotp:t:posted)" = 1 ] && break
    sleep 0.05
done
assert_eq "post: the server ran it although the client closed without reading" \
    1 "$(redis_cli main -n 2 GET eotp:t:posted)"
# A command whose reply never comes (BLPOP on an empty list, as the admin
# user): close must not wait for it.  With a 10 s budget, eotp_redis_send()
# would hold close for 10 s; timeout 8 kills the probe first.
conf "$T/admin.conf" "redis_url = $(redis_url main admin "$REDIS_ADMIN_PASS")" \
    "redis_ca_file = $CA" "redis_timeout = 10000"
POUT=$(timeout 8 "$PROBE" "$T/admin.conf" --post BLPOP eotp:t:never 0 2>"$T/probe.err")
PRC=$?
assert_eq "post: close does not wait for a reply that never comes" 0 "$PRC"

# ---- refusals: wrong password, untrusted CA, wrong host, no TLS ----------
conf "$T/badpw.conf" "redis_url = $(redis_url main pam nope)" "redis_ca_file = $CA"
probe "$T/badpw.conf" SET eotp:t:written 1
assert_match "wrong password: refused" "open failed err=api_auth" "$POUT"
assert_eq "nothing written after a refused AUTH" "" "$(redis_cli main GET eotp:t:written)"
assert_no_match "the password never reaches the log" "nope" "$POUT$PERR"

conf "$T/otherca.conf" "redis_url = $(redis_url main)" "redis_ca_file = $T/redis-certs/other-ca.pem"
probe "$T/otherca.conf" SET eotp:t:written 1
assert_match "certificate from an untrusted CA: refused" "open failed err=tls" "$POUT"
conf "$T/sysca.conf" "redis_url = $(redis_url main)"
probe "$T/sysca.conf" PING
assert_match "system store does not trust the test CA" "open failed err=tls" "$POUT"
assert_eq "nothing written after a failed handshake" "" "$(redis_cli main GET eotp:t:written)"

redis_start wronghost "tls-cert-file $T/redis-certs/wronghost-server.pem" \
    "tls-key-file $T/redis-certs/wronghost-server.key" || t_fail "wronghost server starts"
conf "$T/wronghost.conf" "redis_url = $(redis_url wronghost)" "redis_ca_file = $CA"
probe "$T/wronghost.conf" PING
assert_match "certificate for another name: refused" "open failed err=tls" "$POUT"
redis_stop wronghost

# A plaintext client against the TLS port gets nothing usable.
conf "$T/plain.conf" "redis_url = redis://pam:$REDIS_PAM_PASS@127.0.0.1:${REDIS_PORT[main]}"
probe "$T/plain.conf" PING
assert_eq "plaintext against a TLS port fails" 2 "$PRC"

# ---- node order: down nodes and replicas are skipped --------------------
dead=$(free_port)
conf "$T/order.conf" "redis_url = rediss://pam:$REDIS_PAM_PASS@127.0.0.1:$dead, $(redis_url main)" \
    "redis_ca_file = $CA"
probe "$T/order.conf" PING
assert_eq "a node that refuses connections is skipped" 0 "$PRC"
assert_match "the next node answered" "node=rediss://127.0.0.1:${REDIS_PORT[main]}" "$POUT"

redis_start replica "replicaof 127.0.0.1 ${REDIS_PORT[main]}" || t_fail "replica starts"
for _ in $(seq 1 100); do
    redis_cli replica INFO replication | grep -q 'master_link_status:up' && break
    sleep 0.1
done
conf "$T/ro.conf" "redis_url = $(redis_url replica), $(redis_url main)" "redis_ca_file = $CA"
probe "$T/ro.conf" SET eotp:t:ro 1 EX 30
assert_eq "READONLY replica: the write went on to the next node" 0 "$PRC"
assert_match "... and it was the master" "used node=rediss://127.0.0.1:${REDIS_PORT[main]}" "$POUT"
assert_match "... status OK" "status OK" "$POUT"
conf "$T/roonly.conf" "redis_url = $(redis_url replica)" "redis_ca_file = $CA"
probe "$T/roonly.conf" SET eotp:t:ro2 1 EX 30
assert_eq "a replica alone cannot be used for writes" 2 "$PRC"
out=$("$PROBE" "$T/roonly.conf" --doctor 2>/dev/null)
assert_match "doctor: a replica is a FAIL" "FAIL redis: role slave: logins need the master" "$out"
redis_stop replica

# ---- time: a server that stalls is bounded by redis_timeout --------------
conf "$T/slow.conf" "redis_url = $(redis_url main)" "redis_ca_file = $CA" "redis_timeout = 300"
redis_cli main DEBUG SLEEP 2 >/dev/null &
sleeper=$!
sleep 0.2
probe "$T/slow.conf" PING
assert_match "a stalled server: timeout" "err=timeout" "$POUT"
wait "$sleeper"

# A black hole: accepts TCP, never speaks TLS.
bh_port=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$bh_port" &
bh=$!
t_on_exit "kill $bh"
for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$bh_port") 2>/dev/null && break
    sleep 0.1
done
conf "$T/bh.conf" "redis_url = rediss://pam:x@127.0.0.1:$bh_port" "redis_ca_file = $CA" "redis_timeout = 300"
probe "$T/bh.conf" PING
assert_match "a black hole: timeout in the TLS handshake" "err=timeout" "$POUT"
kill "$bh" 2>/dev/null; wait "$bh" 2>/dev/null

# ---- doctor's Redis checks (src/cli/doctor_redis.c) ---------------------------
out=$("$PROBE" "$T/good.conf" --doctor 2>/dev/null)
assert_match "doctor: all checks pass" "fails 0" "$out"
assert_match "doctor: connect, TLS, AUTH" "OK  redis: connected to rediss://127.0.0.1:${REDIS_PORT[main]} \(TLS verified, authenticated\)" "$out"
assert_match "doctor: role" "OK  redis: role master" "$out"
assert_match "doctor: script" "OK  redis: script loaded sha1=[0-9a-f]{40}" "$out"
assert_match "doctor: probe keys" "OK  redis: probe keys written with a TTL, read and deleted" "$out"
assert_match "doctor: latency" "OK  redis: latency [0-9]+ ms" "$out"
assert_eq "doctor: the probe keys are gone" "" "$(redis_cli main -n 2 --scan --pattern '*doctor*')"
out=$("$PROBE" "$T/badpw.conf" --doctor 2>/dev/null)
assert_match "doctor: a wrong password is a FAIL with a hint" "FAIL redis: connect, TLS and AUTH: authentication refused: check the ACL user" "$out"
out=$("$PROBE" "$T/otherca.conf" --doctor 2>/dev/null)
assert_match "doctor: an untrusted certificate is a FAIL with a hint" "FAIL redis: connect, TLS and AUTH: TLS .*redis_ca_file" "$out"
redis_cli main ACL SETUSER pamlite on ">lite-pass-1" "~eotp:*" -@all +@connection +select +role +evalsha +eval "+script|load" +time +zadd +zcount +pexpire +pttl +set >/dev/null
conf "$T/lite.conf" "redis_url = $(redis_url main pamlite lite-pass-1)" "redis_ca_file = $CA"
out=$("$PROBE" "$T/lite.conf" --doctor 2>/dev/null)
assert_match "doctor: an ACL without every command the script needs is a FAIL" \
    "FAIL redis: probe keys .*script refused by the server" "$out"

# ---- Sentinel: lookup, ROLE check, failover -----------------------------
if redis_sentinel_setup; then
    t_ok "sentinel setup: master, replica, three sentinels"
    sent="127.0.0.1:${REDIS_PORT[s1]}, 127.0.0.1:${REDIS_PORT[s2]}, 127.0.0.1:${REDIS_PORT[s3]}"
    conf "$T/sent.conf" "redis_sentinels = $sent" "redis_master_name = m" \
        "redis_user = pam" "redis_password_file = $T/pw" "redis_ca_file = $CA" \
        "redis_timeout = 1000"
    probe "$T/sent.conf" SET eotp:t:s 1 EX 60
    assert_eq "through the sentinels to the master" 0 "$PRC"
    assert_match "the master m0" "node=rediss://127.0.0.1:${REDIS_PORT[m0]}" "$POUT"

    # A dead first sentinel is skipped.
    conf "$T/sent2.conf" "redis_sentinels = 127.0.0.1:$dead, $sent" "redis_master_name = m" \
        "redis_user = pam" "redis_password_file = $T/pw" "redis_ca_file = $CA"
    probe "$T/sent2.conf" PING
    assert_eq "a dead sentinel is skipped" 0 "$PRC"

    conf "$T/sentbad.conf" "redis_sentinels = $sent" "redis_master_name = nosuch" \
        "redis_user = pam" "redis_password_file = $T/pw" "redis_ca_file = $CA"
    probe "$T/sentbad.conf" PING
    assert_eq "an unknown master name fails" 2 "$PRC"

    redis_stop m0
    ok=""
    for _ in $(seq 1 150); do
        probe "$T/sent.conf" GET eotp:t:s
        if [ "$PRC" = 0 ] && printf '%s' "$POUT" | grep -q "node=rediss://127.0.0.1:${REDIS_PORT[r1]}"; then
            ok=1
            break
        fi
        sleep 0.1
    done
    assert_eq "after the master died, the sentinels name the replica" 1 "$ok"
    assert_match "the replicated key survived the failover" "string 1" "$POUT"
    probe "$T/sent.conf" SET eotp:t:s2 1 EX 60
    assert_eq "the promoted replica takes writes" 0 "$PRC"
else
    t_fail "sentinel setup: master, replica, three sentinels"
fi

t_summary
