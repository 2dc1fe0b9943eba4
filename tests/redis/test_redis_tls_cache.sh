#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_redis_tls_cache.sh - TLS sessions to Redis kept between logins
# (src/core/redis_session.c): the second connection resumes; the file is
# root's, 0600, in state_dir; a damaged, foreign, symlinked, too open or
# expired file is ignored (full handshake, every check) and replaced; a
# server that does not take the session (restarted, here with another
# certificate) gets a full handshake with the certificate and host name
# checked, so a cached session never stands in for a certificate.
set -u
. "$(dirname "$0")/../lib.sh"
t_setup
. "$TESTS_DIR/redis/redisenv.sh"
PROBE="$BUILD/tests/redis_probe"

command -v redis-server >/dev/null || { t_fail "redis-server is installed"; t_summary; exit; }
[ -x "$PROBE" ] || { t_fail "redis_probe is built (make test-programs)"; t_summary; exit; }
redis_start main || { t_fail "redis-server starts"; t_summary; exit; }
CA="$T/redis-certs/ca.pem"
SD="$T/state"
mkdir -m 0700 "$SD"

conf() {
    local f=$1
    shift
    {
        printf 'dev_key = k\ndev_secret = s\ntemplate_id = t\nstate_dir = %s\n' "$SD"
        local kv
        for kv in "$@"; do
            printf '%s\n' "$kv"
        done
    } >"$f"
    chmod 0600 "$f"
}
probe() {
    POUT=$("$PROBE" "$1" PING 2>&1)
    PRC=$?
}
resumed() { printf '%s\n' "$POUT" | sed -n 's/.*redis: TLS node=.* resumed=\([a-z]*\).*/\1/p' | tail -n 1; }
cachefile() { ls "$SD"/+redis-tls-* 2>/dev/null | head -n 1; }

conf "$T/c.conf" "redis_url = $(redis_url main)" "redis_ca_file = $CA"

# ---- the good path -------------------------------------------------------------
probe "$T/c.conf"
assert_eq "first connection: PONG" "0 no" "$PRC $(resumed)"
f=$(cachefile)
if [ -n "$f" ] && [ -f "$f" ] && [ ! -L "$f" ]; then t_ok "session kept in state_dir"; else t_fail "session kept in state_dir" "$(ls -la "$SD")"; fi
assert_eq "... root's, mode 0600" "root 600" "$(stat -c '%U %a' "$f" 2>/dev/null)"
assert_eq "... one file, no temporary left" 1 "$(ls -A "$SD" | wc -l)"
probe "$T/c.conf"
assert_eq "second connection resumes" "0 yes" "$PRC $(resumed)"
probe "$T/c.conf"
assert_eq "and the next" "0 yes" "$PRC $(resumed)"

# ---- files that are not exactly right are ignored, then replaced ------------------
good=$(mktemp "$T/good.XXXXXX")
cp -p "$f" "$good"

head -c 200 /dev/urandom >"$f"
chmod 0600 "$f"
probe "$T/c.conf"
assert_eq "damaged file: ignored, full handshake" "0 no" "$PRC $(resumed)"
assert_match "... logged at debug level" 'no TLS session to resume reason="damaged' "$POUT"
probe "$T/c.conf"
assert_eq "... and replaced" "0 yes" "$PRC $(resumed)"

cp -p "$good" "$f"
chmod 0644 "$f"
probe "$T/c.conf"
assert_eq "file readable by others: ignored" "0 no" "$PRC $(resumed)"
assert_eq "... replaced by a 0600 one" 600 "$(stat -c %a "$f")"

cp -p "$good" "$T/elsewhere"
rm -f "$f"
ln -s "$T/elsewhere" "$f"
probe "$T/c.conf"
assert_eq "symlink: not followed" "0 no" "$PRC $(resumed)"
if [ ! -L "$f" ] && cmp -s "$good" "$T/elsewhere"; then
    t_ok "... replaced by a file, its target untouched"
else
    t_fail "... replaced by a file, its target untouched"
fi

# Made for another node: the same bytes under the name of another CA file's
# binding are refused (the binding's digest is inside the file too).
cp "$CA" "$T/ca2.pem"
conf "$T/c2.conf" "redis_url = $(redis_url main)" "redis_ca_file = $T/ca2.pem"
probe "$T/c2.conf"
assert_eq "another CA file: its own session, not the other's" "0 no" "$PRC $(resumed)"
f2=$(ls -t "$SD"/+redis-tls-* | head -n 1)
cp -p "$good" "$f2"
probe "$T/c2.conf"
assert_eq "a session file copied under another binding's name: ignored" "0 no" "$PRC $(resumed)"
assert_match "... as made for another node or CA" 'reason="damaged, or made for another node or CA"' "$POUT"

# A CA file replaced (same path, new contents) never resumes an old session.
probe "$T/c2.conf"
assert_eq "(ca2: resumes)" "0 yes" "$PRC $(resumed)"
sleep 0.01
cat "$CA" >"$T/ca2.pem.new" && mv "$T/ca2.pem.new" "$T/ca2.pem"
probe "$T/c2.conf"
assert_eq "the CA file replaced: full handshake" "0 no" "$PRC $(resumed)"

# Too old: the time of the full handshake is in the file's header (bytes
# 41..48, big-endian); 2 hours ago is past EOTP_REDIS_SESSION_MAX_AGE.
rm -f "$SD"/+redis-tls-*
probe "$T/c.conf"
f=$(cachefile)
cp -p "$good" "$f"
old=$(($(date +%s) - 7200))
printf "$(printf '%016x' "$old" | sed 's/../\\x&/g')" |
    dd of="$f" bs=1 seek=40 count=8 conv=notrunc 2>/dev/null
probe "$T/c.conf"
assert_eq "older than an hour: full handshake" "0 no" "$PRC $(resumed)"
assert_match "... as too old" 'reason="too old"' "$POUT"

# ---- the server does not take the session: a full handshake, every check --------
# Restart the server on the same port with a certificate of another CA: the
# session (cached for this host, port and CA file) is offered, refused
# (new ticket keys), and the certificate is checked and refused.
probe "$T/c.conf"
probe "$T/c.conf"
assert_eq "(a fresh session is cached)" "0 yes" "$PRC $(resumed)"
port=${REDIS_PORT[main]}
restart_main() { # CERT [extra config line]
    redis_stop main
    redis_write_conf main "$port" "tls-cert-file $T/redis-certs/$1.pem" \
        "tls-key-file $T/redis-certs/$1.key" ${2:+"$2"}
    redis-server "$T/redis/main/redis.conf" >/dev/null 2>&1 &
    REDIS_PID[main]=$!
    t_on_exit "redis_kill main"
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
cp -p "$(cachefile)" "$good"
restart_main other-server || t_fail "redis-server restarts with another CA's certificate"
probe "$T/c.conf"
assert_eq "restarted with an untrusted certificate: refused despite the session" 2 "$PRC"
assert_match "... as a TLS failure" 'open failed.*TLS handshake failed or certificate not trusted' "$POUT"
cp -p "$good" "$(cachefile)"
restart_main wronghost-server || t_fail "redis-server restarts with a certificate for another name"
probe "$T/c.conf"
assert_eq "restarted with a certificate for another host name: refused despite the session" 2 "$PRC"
restart_main server || t_fail "redis-server restarts with its own certificate"
probe "$T/c.conf"
assert_eq "back with its own certificate: full handshake, then fine" "0 no" "$PRC $(resumed)"

# ---- TLS 1.2 (session tickets): resumes too, and a session never gets
# younger: the time of the full handshake stays in the file whatever the
# server sends on resumed handshakes.
born() { od -An -tx1 -j40 -N8 "$(cachefile)" | tr -d ' \n'; }
restart_main server "tls-protocols TLSv1.2" || t_fail "redis-server restarts with TLS 1.2 only"
rm -f "$SD"/+redis-tls-*
probe "$T/c.conf"
assert_eq "TLS 1.2: full handshake first" "0 no" "$PRC $(resumed)"
b0=$(born)
sleep 1.1
probe "$T/c.conf"
assert_eq "TLS 1.2: then resumed" "0 yes" "$PRC $(resumed)"
probe "$T/c.conf"
assert_eq "... again" "0 yes" "$PRC $(resumed)"
assert_eq "... the time of the full handshake is kept" "$b0" "$(born)"

# TLS 1.3 with a 2 s ticket lifetime: past half of it a resumed login
# keeps the server's new ticket (so sessions stay usable while logins come),
# still with the time of the full handshake.
restart_main server "tls-session-cache-timeout 2" || t_fail "redis-server restarts with 2 s tickets"
rm -f "$SD"/+redis-tls-*
probe "$T/c.conf"
b0=$(born)
s0=$(md5sum <"$(cachefile)")
sleep 1.2
probe "$T/c.conf"
assert_eq "TLS 1.3, ticket past half its life: resumed" "0 yes" "$PRC $(resumed)"
if [ "$s0" != "$(md5sum <"$(cachefile)")" ]; then t_ok "... the new ticket kept"; else t_fail "... the new ticket kept"; fi
assert_eq "... with the time of the full handshake" "$b0" "$(born)"
sleep 1.2
probe "$T/c.conf"
assert_eq "... and it resumes again after the first ticket expired" "0 yes" "$PRC $(resumed)"
restart_main server || t_fail "redis-server restarts"

# ---- only in a state_dir that is root's alone -------------------------------------
rm -f "$SD"/+redis-tls-*
chmod 0755 "$SD"
probe "$T/c.conf"
probe "$T/c.conf"
assert_eq "state_dir open to others: no cache, every handshake full" "0 no" "$PRC $(resumed)"
assert_eq "... no file written there" 0 "$(ls -A "$SD" | wc -l)"
chmod 0700 "$SD"

t_summary
