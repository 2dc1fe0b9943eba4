#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The demo behind "make demo": a real PAM login through the module.
#
# It starts the local HTTPS mock of the EngageLab API, writes a throwaway
# config, user map and PAM service in a temp dir, and runs pamtester
# (the real libpam, with pam_wrapper pointing it at the temp service
# dir).  The "phone" is this terminal: when the mock delivers the code it
# is printed here, and you type it at the module's prompt.
#
# DEMO_AUTO=1 types the code by itself (used by the test suite).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$PWD/$BUILD" ;; esac

if [ "$(id -u)" -ne 0 ]; then
    echo "demo: the module only trusts root-owned config files; run as root" >&2
    echo "      (e.g. sudo make demo)" >&2
    exit 1
fi
for f in "$BUILD/pam_engagelab_otp.so"; do
    [ -e "$f" ] || { echo "demo: $f missing; run make first" >&2; exit 1; }
done
WRAPPER=$(ls /usr/lib/*/libpam_wrapper.so 2>/dev/null | head -n 1)
[ -n "$WRAPPER" ] || { echo "demo: libpam_wrapper not installed (make deps)" >&2; exit 1; }

T=$(mktemp -d /tmp/eotp-demo.XXXXXX)
chmod 0755 "$T"
WATCH=
. tests/mock/mockenv.sh
cleanup() {
    [ -n "$WATCH" ] && kill "$WATCH" 2>/dev/null
    mock_stop >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mock_start "$T/mock" >/dev/null
USER_NAME=$(id -un)
PHONE=+6581234567

cat >"$T/pam_engagelab_otp.conf" <<CONF
# Demo config: the local mock stands in for https://otp.api.engagelab.cc
api_url = $MOCK_URL
ca_file = $MOCK_CA
dev_key = test-key
dev_secret = test-secret
template_id = pam-otp
user_map = $T/users
state_dir = $T/state
params = host=%h, service=%s
CONF
chmod 0600 "$T/pam_engagelab_otp.conf"
printf '%s:%s\n' "$USER_NAME" "$PHONE" >"$T/users"
chmod 0644 "$T/users"
mkdir -p "$T/pam.d"
printf 'auth required %s conf=%s\n' "$BUILD/pam_engagelab_otp.so" \
    "$T/pam_engagelab_otp.conf" >"$T/pam.d/eotp-demo"
printf 'auth required pam_deny.so\n' >"$T/pam.d/other"

cat <<INTRO

  pam_engagelab_otp demo
  ----------------------
  Mock EngageLab API:  $MOCK_URL (HTTPS, test CA)
  PAM service:         $T/pam.d/eotp-demo
                       auth required pam_engagelab_otp.so conf=...
  User:                $USER_NAME -> $PHONE (user map)

  pamtester now authenticates $USER_NAME through the module.  The module
  asks the API to send a code; the "SMS" appears below as the mock
  delivers it.  Type it at the prompt (a wrong code is refused; you get
  3 tries).

INTRO

# The "phone": print each message the mock delivers.
(
    seen=0
    while :; do
        if [ -s "$MOCK_OUTBOX" ]; then
            n=$(wc -l <"$MOCK_OUTBOX")
            if [ "$n" -gt "$seen" ]; then
                tail -n +"$((seen + 1))" "$MOCK_OUTBOX" | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    print("\n  [phone %s] %s via %s: your code is %s\n" % (
        m["to"], m.get("template"), m.get("channel"), m.get("code")), flush=True)
'
                seen=$n
            fi
        fi
        sleep 0.2
    done
) &
WATCH=$!

# A sanitizer build (SAN=1) needs its runtimes loaded first in pamtester.
PRELOAD=$WRAPPER
if [ "${SAN:-}" = 1 ]; then
    . tests/san_env.sh
    PRELOAD="$(san_preload):$WRAPPER"
    export ASAN_OPTIONS=$SAN_HOST_ASAN_OPTIONS
fi

run_pamtester() {
    LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
        pamtester -v eotp-demo "$USER_NAME" authenticate
}

if [ -n "${DEMO_AUTO:-}" ]; then
    # Type the code as a person would once it arrives.
    set +e
    (
        python3 tests/mock/mockctl.py code --outbox "$MOCK_OUTBOX" --to "$PHONE" --wait 15
    ) | run_pamtester
    rc=${PIPESTATUS[1]}
    set -e
else
    set +e
    run_pamtester
    rc=$?
    set -e
fi
sleep 0.3
echo
if [ "$rc" -eq 0 ]; then
    echo "  Login succeeded: the second factor was verified by the (mock) API."
else
    echo "  Login refused (pamtester exit $rc)."
fi
exit "$rc"
