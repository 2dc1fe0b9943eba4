#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sudo step-up for real: a throwaway user allowed to run /usr/bin/id as
# root, a sudoers drop-in that points sudo at a PAM service of the test's
# own (pam_service=) with the credential cache off (timestamp_timeout=0),
# and that service built from the shipped sample conf/pam/sudo
# (password, then a code).  sudo -A asks through SUDO_ASKPASS, which
# answers the password and the code the mock API "delivered".
#
# Outside $T this suite creates (and removes at exit, even on failure):
# /etc/sudoers.d/eotp-test-PID, /etc/pam.d/sudo-eotp-test-PID and one user
# with its home.  Root only.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
. "$TESTS_DIR/e2e/clients.sh"
san_setuid_skip sudo
need_root
need sudo visudo runuser useradd userdel chpasswd
t_setup
snapshot_module
t_on_exit mock_stop
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }

SVC=sudo-eotp-test-$$
DROPIN=/etc/sudoers.d/eotp-test-$$
U=eotpu$$a
PHONE=+6581234567
PASSWORD=Pw-$$-$RANDOM-y
add_user "$U" || { t_summary; exit 1; }
set_password "$U" "$PASSWORD"
printf '%s:%s\n' "$U" "$PHONE" >"$T/users"
chmod 0644 "$T/users"

t_on_exit "rm -f /etc/pam.d/$SVC"
{
    stack_from_sample "$TOP_DIR/conf/pam/sudo"
} >"/etc/pam.d/$SVC"

cat >"$T/sudoers" <<EOF
Defaults:$U pam_service=$SVC, timestamp_timeout=0
Defaults:$U env_keep += "SSLKEYLOGFILE"
$U ALL=(root) /usr/bin/id
EOF
if out=$(visudo -cf "$T/sudoers" 2>&1); then
    t_ok "sudoers drop-in is valid (visudo -cf)"
else
    t_fail "sudoers drop-in is valid (visudo -cf)" "$out"
    t_summary
    exit 1
fi
t_on_exit "rm -f $DROPIN"
install -m 0440 "$T/sudoers" "$DROPIN"

write_askpass "$T/askpass"
: >"$T/prompts"
chmod 0666 "$T/prompts"

# as_user MODE COMMAND...: run COMMAND as $U with sudo's askpass set up.
# Sets OUT, RC and PROMPTS.
as_user() {
    local mode=$1
    shift
    : >"$T/prompts"
    OUT=$(timeout 90 runuser -u "$U" -- env SUDO_ASKPASS="$T/askpass" \
        ASKPASS_MODE="$mode" ASKPASS_TO="$PHONE" ASKPASS_LOG="$T/prompts" \
        ASKPASS_PASSWORD="${PW-$PASSWORD}" "$@" </dev/null 2>"$T/err")
    RC=$?
    PROMPTS=$(cat "$T/prompts")
}

fresh() {
    mockctl reset >/dev/null
    rm -rf "$T/state"
    write_conf "$T/conf" "$@"
    REQ0=$(mock_request_count)
}
requests_since() { echo $(($(mock_request_count) - $1)); }

fresh
as_user code sudo -A /usr/bin/id -u
assert_eq "right code: the command runs as root" 0 "$OUT"
assert_eq "right code: sudo exits 0" 0 "$RC"
assert_match "password asked first (pam_unix via common-auth)" \
    '^\[sudo\] password for '"$U"': ' "$PROMPTS"
assert_match "then the code, naming the channel and the masked destination" \
    'Code sent by SMS to \+65\*{6}67: ' "$PROMPTS"
assert_eq "one send, one verification" 2 "$(requests_since "$REQ0")"

# timestamp_timeout=0: the next sudo authenticates (and sends) again.
REQ1=$(mock_request_count)
as_user code sudo -A /usr/bin/id -u
assert_eq "step-up on every sudo: a second command needs a new code" 0 "$OUT"
assert_eq "step-up on every sudo: a second send and verification" 2 \
    "$(requests_since "$REQ1")"

fresh
as_user wrong sudo -A /usr/bin/id -u
assert_eq "wrong code: the command does not run" "" "$OUT"
assert_eq "wrong code: sudo exits 1" 1 "$RC"
assert_match "wrong code: asked max_attempts (3) times" \
    'Wrong code\..*'$'\n''.*Wrong code\.' "$PROMPTS"

fresh
as_user fail sudo -A /usr/bin/id -u
assert_eq "no code given: the command does not run" "" "$OUT"

fresh
PW=not-the-password as_user code sudo -A /usr/bin/id -u
assert_eq "wrong password: the command does not run" "" "$OUT"
assert_eq "wrong password: no code sent" 0 "$(requests_since "$REQ0")"

fresh
as_user code sudo -A /usr/bin/whoami
assert_eq "a command the user may not run: refused" "" "$OUT"
assert_match "a command the user may not run: sudo says so" 'not allowed to execute' "$(cat "$T/err")"

# What sudo shows the module: the service, and whether the command (%c,
# taken from SUDO_COMMAND in the PAM or process environment) is known when
# PAM authenticates.
fresh "params = svc=%s,user=%u,cmd=%c"
as_user code sudo -A /usr/bin/id -u
assert_eq "params: login still works" 0 "$OUT"
sent=$(tail -n 1 "$MOCK_OUTBOX")
assert_match "params: %s is the sudo service" "\"svc\": ?\"$SVC\"" "$sent"
assert_match "params: %u is the invoking user" "\"user\": ?\"$U\"" "$sent"
# sudo puts SUDO_COMMAND in the PAM environment before it authenticates,
# so a template can show the command being approved.
assert_match "params: %c is the command with its arguments" \
    '"cmd": ?"/usr/bin/id -u"' "$sent"

# sudo is setuid: the invoking user controls its resource limits and could
# make TLS or memory fail on purpose, so failmode=open never applies here.
fresh failmode=open
mockctl fault status500 --path /v1/messages >/dev/null
as_user code sudo -A /usr/bin/id -u
assert_eq "failmode=open is ignored under setuid sudo: the command does not run" "" "$OUT"
assert_eq "failmode=open is ignored under setuid sudo: sudo exits 1" 1 "$RC"
mockctl fault none >/dev/null

# Rescue codes (issue 16) decide in a setuid program too: with the
# service down (failmode=open ignored, as above) a rescue code runs the
# command, and the same code again does not.
mkdir -m 0755 "$T/rsec"
fresh failmode=open "rescue_file=$T/rsec/rescue"
"$CLI" -c "$T/conf" rescue issue "$U" --count 2 2>/dev/null | head -n 1 >"$T/rcode"
chmod 0644 "$T/rcode"
cp "$T/askpass" "$T/askpass.std"
cat >"$T/askpass" <<ASK
#!/bin/sh
printf '%s\n' "\$1" >>"\${ASKPASS_LOG:-/dev/null}"
case "\$1" in *assword*) printf '%s\n' "\${ASKPASS_PASSWORD:-}"; exit 0 ;; esac
cat "$T/rcode"
ASK
mockctl fault status500 --path /v1/messages --count 100 >/dev/null
as_user rescue sudo -A /usr/bin/id -u
assert_eq "service down, setuid sudo: a rescue code runs the command" 0 "$OUT"
assert_match "service down, setuid sudo: the rescue prompt" \
    'The code service cannot be reached\. Rescue code: ' "$PROMPTS"
as_user rescue sudo -A /usr/bin/id -u
assert_eq "setuid sudo: the same rescue code again does not" "" "$OUT"
mockctl fault none >/dev/null
cp "$T/askpass.std" "$T/askpass"

# SSLKEYLOGFILE comes from the invoking user here (env_keep, as with
# sudo -E): libcurl would open it as root and write the TLS secrets to
# it, so the module refuses before libcurl starts.
fresh
mkdir -m 0700 "$T/rootonly"
as_user code env SSLKEYLOGFILE="$T/rootonly/keys" sudo -A /usr/bin/id -u
assert_eq "SSLKEYLOGFILE under setuid sudo: the command does not run" "" "$OUT"
assert_eq "SSLKEYLOGFILE under setuid sudo: no file created as root" no \
    "$([ -e "$T/rootonly/keys" ] && echo yes || echo no)"
assert_eq "SSLKEYLOGFILE under setuid sudo: nothing sent" 0 "$(requests_since "$REQ0")"
as_user code sudo -A /usr/bin/id -u
assert_eq "without SSLKEYLOGFILE the same user still gets in" 0 "$OUT"

t_summary
