# SPDX-License-Identifier: Apache-2.0
# mockenv.sh — source from bash tests to run the EngageLab mock.
#
#   . tests/mock/mockenv.sh
#   mock_start "$tmpdir" [extra mock_engagelab.py args...] || exit 1
#   ... MOCK_URL / MOCK_PORT / MOCK_CA / MOCK_OUTBOX / MOCK_REQLOG / MOCK_DIR / MOCK_PID ...
#   mockctl fault status500 --count 1
#   code=$(mock_code +6591234567)          # latest code delivered to that number
#   mock_stop
#
# Extra args are appended after the defaults, so e.g.
#   mock_start "$d" --cert "$d/certs/other-server.pem" --key "$d/certs/other-server.key"
# overrides the certificate (certs are generated into DIR/certs before the server starts).
# Safe under `set -eu`.  Only ephemeral loopback ports are used.

MOCK_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -z "${MOCK_PYTHON:-}" ]; then
    if [ -x /usr/bin/python3 ]; then MOCK_PYTHON=/usr/bin/python3; else MOCK_PYTHON=python3; fi
fi

# mock_start DIR [extra server args...]
mock_start() {
    if [ $# -lt 1 ] || [ -z "$1" ]; then
        echo "mock_start: usage: mock_start DIR [args...]" >&2
        return 2
    fi
    local dir=$1
    shift
    if [ -n "${MOCK_PID:-}" ] && kill -0 "$MOCK_PID" 2>/dev/null; then
        echo "mock_start: a mock is already running (pid $MOCK_PID); call mock_stop first" >&2
        return 1
    fi
    mkdir -p "$dir" || return 1
    dir=$(cd "$dir" && pwd) || return 1
    bash "$MOCK_HOME/gen-certs.sh" "$dir/certs" || { echo "mock_start: certificate generation failed" >&2; return 1; }
    rm -f "$dir/port"

    "$MOCK_PYTHON" "$MOCK_HOME/mock_engagelab.py" \
        --cert "$dir/certs/server.pem" --key "$dir/certs/server.key" \
        --host 127.0.0.1 --port 0 --port-file "$dir/port" \
        --outbox "$dir/outbox.jsonl" --request-log "$dir/requests.jsonl" \
        "$@" >>"$dir/mock.log" 2>&1 &
    local pid=$!

    export MOCK_PID=$pid MOCK_DIR=$dir MOCK_CA="$dir/certs/ca.pem"
    export MOCK_OUTBOX="$dir/outbox.jsonl" MOCK_REQLOG="$dir/requests.jsonl"

    # Wait (at most 10 s) for the port file, then for a TLS answer on that port.
    local port=""
    for _ in $(seq 1 100); do
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        if [ -z "$port" ] && [ -s "$dir/port" ]; then
            port=$(cat "$dir/port")
            export MOCK_PORT=$port MOCK_URL="https://127.0.0.1:$port"
        fi
        if [ -n "$port" ] && mockctl ping 2>/dev/null; then
            touch "$MOCK_OUTBOX" "$MOCK_REQLOG"
            return 0
        fi
        sleep 0.1
    done

    echo "mock_start: mock did not come up; its log:" >&2
    tail -n 30 "$dir/mock.log" >&2 2>/dev/null || true
    mock_stop
    return 1
}

# mock_stop: SIGTERM the mock started by mock_start, wait (≤5 s, then SIGKILL).
mock_stop() {
    local pid=${MOCK_PID:-}
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    fi
    unset MOCK_PID MOCK_PORT MOCK_URL
    return 0
}

# mockctl ARGS... : mockctl.py with this mock's --url and --ca.
mockctl() {
    "$MOCK_PYTHON" "$MOCK_HOME/mockctl.py" --url "${MOCK_URL:-}" --ca "${MOCK_CA:-}" "$@"
}

# mock_code DEST [AFTER_LINE [WAIT_SECONDS]] : print the latest code delivered to DEST.
mock_code() {
    mockctl code --outbox "$MOCK_OUTBOX" --to "$1" --after-line "${2:-0}" --wait "${3:-5}"
}

# mock_sent_count [DEST] : number of outbox lines (to DEST, if given).
mock_sent_count() {
    if [ $# -ge 1 ]; then
        mockctl count --outbox "$MOCK_OUTBOX" --to "$1"
    else
        mockctl count --outbox "$MOCK_OUTBOX"
    fi
}

# mock_request_count [PATH] : number of API requests logged (to PATH, if given).
mock_request_count() {
    if [ $# -ge 1 ]; then
        mockctl requests --log "$MOCK_REQLOG" --path "$1"
    else
        mockctl requests --log "$MOCK_REQLOG"
    fi
}
