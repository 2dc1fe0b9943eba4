# SPDX-License-Identifier: Apache-2.0
# tests/callback/cblib.sh - helpers for the callback receiver suites.
# Source after tests/lib.sh and t_setup.
#
#   cb_conf FILE [key=value...]      a config with the callback keys set
#   cb_start CONF                    start "callback serve --stderr" on a
#                                    free port: $CB_PID, $CB_URL, $CB_LOG
#   cb_stop                          SIGTERM, wait; $CB_RC
#   cb_sig TS NONCE [USER [SECRET]]  an X-CALLBACK-ID value
#   cb_post BODY [curl args...]      POST BODY to $CB_URL: prints the code

CB_SECRET=${CB_SECRET:-cb-Test-Secret-1}
CB_USER=${CB_USER:-eotp_cb}

cb_files() {
    mkdir -p -m 0700 "$T/state"
    [ -e "$T/users" ] || { : >"$T/users"; chmod 0600 "$T/users"; }
    printf '%s\n' "$CB_SECRET" >"$T/cb_secret"
    chmod 0600 "$T/cb_secret"
}

# cb_conf FILE PORT [key=value...]
cb_conf() {
    local f=$1 port=$2 kv
    shift 2
    cb_files
    {
        printf 'api_url = https://127.0.0.1:9/\ndev_key = k\ndev_secret = s\n'
        printf 'template_id = t\nuser_map = %s/users\n' "$T"
        local have_state=no have_listen=no
        for kv in "$@"; do
            case "$kv" in
            state_dir=*) have_state=yes ;;
            callback_listen=*) have_listen=yes ;;
            esac
        done
        [ "$have_listen" = yes ] || printf 'callback_listen = 127.0.0.1:%s\n' "$port"
        printf 'callback_username = %s\n' "$CB_USER"
        printf 'callback_secret_file = %s/cb_secret\n' "$T"
        [ "$have_state" = yes ] || printf 'state_dir = %s/state\n' "$T"
        for kv in "$@"; do
            printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"
        done
    } >"$f"
    chmod 0600 "$f"
}

# cb_start CONF_MAKER_ARGS...: writes $T/cb.conf with a free port and
# starts the receiver; retries with another port if the bind fails.
cb_start() {
    local try port scheme=http
    CB_LOG="$T/cb.log"
    for try in 1 2 3; do
        port=$(free_port)
        cb_conf "$T/cb.conf" "$port" "$@"
        grep -q '^callback_tls_cert' "$T/cb.conf" && scheme=https
        CB_URL="$scheme://127.0.0.1:$port/callback"
        : >"$CB_LOG"
        "$CLI" -c "$T/cb.conf" callback serve --stderr 2>>"$CB_LOG" &
        CB_PID=$!
        t_on_exit "kill $CB_PID"
        local i
        for i in $(seq 1 100); do
            if grep -q 'callback receiver started' "$CB_LOG"; then
                return 0
            fi
            kill -0 "$CB_PID" 2>/dev/null || break
            sleep 0.05
        done
        kill "$CB_PID" 2>/dev/null
        wait "$CB_PID" 2>/dev/null
    done
    return 1
}

cb_stop() {
    kill -TERM "$CB_PID" 2>/dev/null
    wait "$CB_PID" 2>/dev/null
    CB_RC=$?
}

cb_sig() {
    python3 - "$1" "$2" "${3:-$CB_USER}" "${4:-$CB_SECRET}" <<'PY'
import hashlib, hmac, sys
ts, nonce, user, secret = sys.argv[1:5]
sig = hmac.new(secret.encode(), f"{ts}{nonce}{user}".encode(),
               hashlib.sha256).hexdigest()
print(f"timestamp={ts};nonce={nonce};username={user};signature={sig}")
PY
}

# cb_post BODY [curl args...]
cb_post() {
    local body=$1
    shift
    printf '%s' "$body" | curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
        -X POST -H 'Content-Type: application/json' --data-binary @- "$@" "$CB_URL"
}

# cb_status_row ID STATUS [ITIME [CHANNEL]]: one status row body.
cb_status_row() {
    printf '{"total":1,"rows":[{"message_id":"%s","channel":"sms","itime":%s,"status":{"message_status":"%s","status_data":{"current_send_channel":"%s"},"billing":{"cost":0.005,"currency":"USD"},"error_code":0}}]}' \
        "$1" "${3:-$(date +%s)}" "$2" "${4:-sms}"
}
