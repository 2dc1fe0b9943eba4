# SPDX-License-Identifier: Apache-2.0
# tests/lib.sh - shared helpers for the shell test suites.  Source it.
#
# Each suite calls t_ok/t_fail (or the assert_* helpers) per check and
# ends with t_summary, which prints "N passed, M failed" and sets the
# exit status.  Every suite works in its own temp dir ($T) that t_cleanup
# removes, even on failure (trap).

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_DIR=$(cd "$TESTS_DIR/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP_DIR/$BUILD" ;; esac
MODULE="$BUILD/pam_engagelab_otp.so"
HARNESS="$BUILD/tests/pam_harness"
CLI="$BUILD/engagelab-otp"

T_PASSED=0
T_FAILED=0
T_CLEANUPS=()

t_ok() {
    T_PASSED=$((T_PASSED + 1))
    printf 'ok - %s\n' "$1"
}

t_fail() {
    T_FAILED=$((T_FAILED + 1))
    printf 'not ok - %s\n' "$1"
    shift
    for line in "$@"; do
        printf '#   %s\n' "$line"
    done
}

# assert_eq NAME EXPECTED ACTUAL
assert_eq() {
    if [ "$2" = "$3" ]; then
        t_ok "$1"
    else
        t_fail "$1" "expected: $2" "actual:   $3"
    fi
}

# assert_match NAME REGEX TEXT
assert_match() {
    if printf '%s' "$3" | grep -Eq -- "$2"; then
        t_ok "$1"
    else
        t_fail "$1" "no match for: $2" "in: $(printf '%s' "$3" | head -c 2000)"
    fi
}

# assert_no_match NAME REGEX TEXT
assert_no_match() {
    if printf '%s' "$3" | grep -Eq -- "$2"; then
        t_fail "$1" "unexpected match for: $2" "in: $(printf '%s' "$3" | head -c 2000)"
    else
        t_ok "$1"
    fi
}

# free_port [N]: N (default 1) unused TCP ports on 127.0.0.1, one per line,
# all different: every socket stays bound until all N are chosen, since the
# kernel may hand out a port again as soon as it is closed.  Another process
# can still take one before the caller binds it; callers that start a
# server retry with new ports.
free_port() {
    python3 - "${1:-1}" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
PY
}

# Register a command to run at exit (LIFO), e.g. removing a file that a
# test put outside its temp dir.
t_on_exit() {
    T_CLEANUPS+=("$1")
}

t_cleanup() {
    local i
    for ((i = ${#T_CLEANUPS[@]} - 1; i >= 0; i--)); do
        eval "${T_CLEANUPS[$i]}" >/dev/null 2>&1 || true
    done
    T_CLEANUPS=()
    if [ -n "${T:-}" ] && [ -d "$T" ] && [ -z "${KEEP_TMP:-}" ]; then
        rm -rf "$T"
    fi
}

t_summary() {
    printf '%d passed, %d failed\n' "$T_PASSED" "$T_FAILED"
    [ "$T_FAILED" -eq 0 ]
}

t_setup() {
    T=$(mktemp -d /tmp/eotp-test.XXXXXX)
    chmod 0755 "$T"
    trap 't_cleanup' EXIT
    trap 'exit 130' INT TERM
}

# Write a config file to $1 (root-owned, 0600) pointing at the mock, with
# the mock's CA and credentials.  Further arguments are "key=value" lines
# that replace a default of the same key or are added.
write_conf() {
    local file=$1
    shift
    local -A extra=()
    local order=() kv key
    for kv in "$@"; do
        key=${kv%%=*}
        key=${key// /}
        extra[$key]=${kv#*=}
        order+=("$key")
    done
    {
        for kv in "api_url=$MOCK_URL" "ca_file=$MOCK_CA" "dev_key=test-key" \
                  "dev_secret=test-secret" "template_id=pam-otp" \
                  "user_map=$T/users" "state_dir=$T/state"; do
            key=${kv%%=*}
            [ -n "${extra[$key]+x}" ] && continue
            printf '%s = %s\n' "$key" "${kv#*=}"
        done
        for key in "${order[@]}"; do
            printf '%s = %s\n' "$key" "$(printf '%s' "${extra[$key]}" | sed 's/^ *//')"
        done
    } >"$file"
    chmod 0600 "$file"
}

# service NAME [module args...]: $T/pam.d/NAME running the module alone.
service() {
    local name=$1
    shift
    printf 'auth required %s %s\n' "$MODULE" "$*" >"$T/pam.d/$name"
}

# login USER TO [harness options...] -- ANSWERS...: one login through the
# harness against service ${SVC:-eotp} in $T/pam.d, the code read from
# the mock's outbox for TO.  Sets OUT (all output), RES (the PAM result
# name) and ELAPSED (milliseconds).  A command in the array LOGIN_WRAP
# (e.g. strace) runs the harness.
LOGIN_WRAP=()
login() {
    local user=$1 to=$2 t0
    shift 2
    t0=$(date +%s%N)
    OUT=$(timeout 60 "${LOGIN_WRAP[@]}" "$HARNESS" --confdir "$T/pam.d" --service "${SVC:-eotp}" \
        --user "$user" --outbox "$MOCK_OUTBOX" --to "$to" "$@" 2>&1)
    ELAPSED=$((($(date +%s%N) - t0) / 1000000))
    RES=$(printf '%s\n' "$OUT" | sed -n 's/^RESULT: //p' | tail -n 1)
}
