# SPDX-License-Identifier: Apache-2.0
# tests/redis/redisenv.sh - real Redis servers for the tests, on loopback.
# Source it after tests/lib.sh and t_setup:
#
#   . "$TESTS_DIR/redis/redisenv.sh"
#   redis_start main || exit 1          # TLS only, ACL users, no persistence
#   redis_cli main SET k v              # as the admin user
#   redis_url main                      # rediss://pam:...@127.0.0.1:PORT
#   redis_stop main
#   redis_sentinel_setup || exit 1      # master m0, replica r1, sentinels s1..s3
#   redis_start_mtls NAME [extra...]    # tls-auth-clients yes, see below
#
# Every server listens on 127.0.0.1 only, with `port 0` (no plaintext)
# and a `tls-port` taken from free_port; its directory, config, log and
# any dump stay in $T/redis/NAME; save "" and appendonly no.  Every
# server is stopped at exit through t_on_exit, even when a test fails.
#
# Users on every server (ACLs are not replicated, each config has them):
#   default   off
#   pam       $REDIS_PAM_PASS: what the module needs and nothing else,
#             on keys eotp:* only
#   admin     $REDIS_ADMIN_PASS: everything (tests, replication, sentinels)

REDIS_PAM_PASS=${REDIS_PAM_PASS:-pam-Test-Pass-1}
REDIS_ADMIN_PASS=${REDIS_ADMIN_PASS:-admin-Test-Pass-2}
declare -A REDIS_PORT=()
declare -A REDIS_PID=()
declare -A REDIS_MTLS=()

# The commands the module uses: scripts, AUTH/HELLO/SELECT/PING, and ROLE
# (Sentinel mode checks the master's role).  Inside scripts the ACL still
# applies, so the key commands the scripts call are allowed on eotp:*.
REDIS_PAM_ACL='on ~eotp:* resetchannels -@all +auth +hello +ping +select +role +evalsha +eval +script|load +scan +del +time +get +set +pttl +pexpire +zadd +zrem +zcount +zrangebyscore +zremrangebyscore +zremrangebyrank +hget +hset +hdel +hmget +hincrby +hgetall +exists'

redis_certs() {
    [ -s "$T/redis-certs/server.pem" ] && [ -s "$T/redis-certs/client.pem" ] && return 0
    bash "$TESTS_DIR/mock/gen-certs.sh" "$T/redis-certs"
}

# _redis_tls_auth NAME: tls-auth-clients, and for a server of
# redis_start_mtls the client certificate it presents to others
# (replication, sentinels: server.pem is for serverAuth only).
_redis_tls_auth() {
    if [ -n "${REDIS_MTLS[$1]:-}" ]; then
        echo "tls-auth-clients yes"
        echo "tls-client-cert-file $T/redis-certs/client.pem"
        echo "tls-client-key-file $T/redis-certs/client.key"
    else
        echo "tls-auth-clients no"
    fi
}

# redis_write_conf NAME PORT [extra lines...]
redis_write_conf() {
    local name=$1 port=$2 d="$T/redis/$1"
    shift 2
    mkdir -p "$d"
    {
        echo "bind 127.0.0.1"
        echo "port 0"
        echo "tls-port $port"
        echo "tls-cert-file $T/redis-certs/server.pem"
        echo "tls-key-file $T/redis-certs/server.key"
        echo "tls-ca-cert-file $T/redis-certs/ca.pem"
        _redis_tls_auth "$name"
        echo "tls-replication yes"
        echo "dir $d"
        echo "dbfilename dump.rdb"
        echo 'save ""'
        echo "appendonly no"
        echo "daemonize no"
        echo "pidfile $d/redis.pid"
        echo "logfile $d/redis.log"
        echo "enable-debug-command local"
        if [ -n "${REDIS_MTLS[$name]:-}" ]; then
            echo "user default $REDIS_PAM_ACL nopass"
        else
            echo "user default off"
        fi
        echo "user pam $REDIS_PAM_ACL >$REDIS_PAM_PASS"
        echo "user admin on ~* &* +@all >$REDIS_ADMIN_PASS"
        echo "masteruser admin"
        echo "masterauth $REDIS_ADMIN_PASS"
        local l
        for l in "$@"; do
            echo "$l"
        done
    } >"$d/redis.conf"
}

# _redis_wait NAME: until the server answers PING (10 s).
_redis_wait() {
    local i
    for i in $(seq 1 100); do
        if ! kill -0 "${REDIS_PID[$1]}" 2>/dev/null; then
            return 1
        fi
        if [ "$(redis_cli "$1" PING 2>/dev/null)" = PONG ]; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# redis_start NAME [extra config lines...]: start a TLS-only server.
redis_start() {
    local name=$1 try port
    shift
    redis_certs || return 1
    for try in 1 2 3; do
        port=$(free_port)
        redis_write_conf "$name" "$port" "$@"
        redis-server "$T/redis/$name/redis.conf" >/dev/null 2>&1 &
        REDIS_PID[$name]=$!
        REDIS_PORT[$name]=$port
        t_on_exit "redis_kill $name"
        if _redis_wait "$name"; then
            return 0
        fi
        redis_kill "$name"
    done
    echo "redis_start: $name did not come up; its log:" >&2
    tail -n 20 "$T/redis/$name/redis.log" >&2 2>/dev/null
    return 1
}

# redis_start_mtls NAME [extra config lines...]: a TLS-only server that
# demands a client certificate signed by the test CA (tls-auth-clients
# yes, Redis's default), and whose default user needs no password but
# may do only what the module needs (REDIS_PAM_ACL): the module logs in
# with its certificate and sends no AUTH.  redis_cli presents
# client.pem to it (to every server, in fact).
redis_start_mtls() {
    local name=$1
    shift
    REDIS_MTLS[$name]=1
    redis_start "$name" "$@"
}

# redis_sentinel_start NAME MASTER_PORT: a TLS-only sentinel monitoring
# the master "m" at 127.0.0.1:MASTER_PORT with quorum 2.
redis_sentinel_start() {
    local name=$1 mport=$2 try port d="$T/redis/$1"
    redis_certs || return 1
    mkdir -p "$d"
    for try in 1 2 3; do
        port=$(free_port)
        {
            echo "bind 127.0.0.1"
            echo "port 0"
            echo "tls-port $port"
            echo "tls-cert-file $T/redis-certs/server.pem"
            echo "tls-key-file $T/redis-certs/server.key"
            echo "tls-ca-cert-file $T/redis-certs/ca.pem"
            _redis_tls_auth "$name"
            echo "tls-replication yes"
            echo "dir $d"
            echo "daemonize no"
            echo "logfile $d/sentinel.log"
            echo "sentinel monitor m 127.0.0.1 $mport 2"
            echo "sentinel auth-user m admin"
            echo "sentinel auth-pass m $REDIS_ADMIN_PASS"
            echo "sentinel down-after-milliseconds m 1000"
            echo "sentinel failover-timeout m 5000"
            echo "sentinel parallel-syncs m 1"
        } >"$d/sentinel.conf"
        redis-sentinel "$d/sentinel.conf" >/dev/null 2>&1 &
        REDIS_PID[$name]=$!
        REDIS_PORT[$name]=$port
        t_on_exit "redis_kill $name"
        local i
        for i in $(seq 1 100); do
            kill -0 "${REDIS_PID[$name]}" 2>/dev/null || break
            if [ "$(_redis_cli_plain "$port" PING 2>/dev/null)" = PONG ]; then
                return 0
            fi
            sleep 0.1
        done
        redis_kill "$name"
    done
    echo "redis_sentinel_start: $name did not come up" >&2
    tail -n 20 "$d/sentinel.log" >&2 2>/dev/null
    return 1
}

# redis_sentinel_setup: master m0, replica r1 of m0, sentinels s1 s2 s3
# (with REDIS_MTLS set for each of them: all with tls-auth-clients yes).
redis_sentinel_setup() {
    redis_start m0 || return 1
    redis_start r1 "replicaof 127.0.0.1 ${REDIS_PORT[m0]}" || return 1
    local i
    for i in $(seq 1 100); do
        redis_cli m0 INFO replication | grep -q 'connected_slaves:1' && break
        sleep 0.1
    done
    redis_sentinel_start s1 "${REDIS_PORT[m0]}" || return 1
    redis_sentinel_start s2 "${REDIS_PORT[m0]}" || return 1
    redis_sentinel_start s3 "${REDIS_PORT[m0]}" || return 1
    # Wait until the sentinels know each other and the replica.
    for i in $(seq 1 150); do
        if [ "$(redis_sentinel_cli s1 SENTINEL master m | sed -n '/^num-other-sentinels$/{n;p}')" = 2 ] &&
            [ "$(redis_sentinel_cli s1 SENTINEL master m | sed -n '/^num-slaves$/{n;p}')" = 1 ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "redis_sentinel_setup: sentinels did not settle" >&2
    return 1
}

# A client certificate is always offered: servers of redis_start_mtls ask
# for one, the others do not and never see it.
_redis_cli_plain() {
    local port=$1
    shift
    timeout 10 redis-cli --tls --cacert "$T/redis-certs/ca.pem" \
        --cert "$T/redis-certs/client.pem" --key "$T/redis-certs/client.key" \
        -h 127.0.0.1 -p "$port" "$@"
}

# redis_cli NAME ARGS...: as admin (no warning about the password on argv).
redis_cli() {
    local name=$1
    shift
    REDISCLI_AUTH=$REDIS_ADMIN_PASS _redis_cli_plain "${REDIS_PORT[$name]}" \
        --user admin --no-auth-warning "$@"
}

redis_sentinel_cli() {
    local name=$1
    shift
    _redis_cli_plain "${REDIS_PORT[$name]}" "$@"
}

# redis_url NAME [USER PASS]: the module's URL for server NAME.
redis_url() {
    printf 'rediss://%s:%s@127.0.0.1:%s' "${2:-pam}" "${3:-$REDIS_PAM_PASS}" \
        "${REDIS_PORT[$1]}"
}

redis_kill() {
    local pid=${REDIS_PID[$1]:-}
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null
    local i
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    REDIS_PID[$1]=
    return 0
}

redis_stop() {
    redis_kill "$1"
}
