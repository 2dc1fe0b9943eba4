#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The shipped samples work as shipped:
#   - conf/pam_engagelab_otp.conf with every commented "#key = value" line
#     switched on is accepted by the module (every default and example
#     shown is a valid value), and a login through it succeeds against
#     the mock;
#   - the sample user map has no line the module would call malformed;
#   - conf/sshd_config-otp.conf is accepted by "sshd -t";
#   - conf/sudoers-otp is accepted by "visudo -c";
#   - the README starts with the two commands "make demo" and "make
#     check" (targets of the Makefile), every file of the repository it
#     names exists, and every docs/ page it links to exists.
# (The PAM stack samples in conf/pam/ are run for real by the sshd, sudo
# and console suites in tests/e2e.)  Nothing is written outside $T.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
. "$TESTS_DIR/e2e/clients.sh"
need sshd visudo ssh-keygen python3
t_setup
t_on_exit mock_stop
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }

SAMPLE="$TOP_DIR/conf/pam_engagelab_otp.conf"
mkdir -p "$T/pam.d"
printf 'auth required pam_deny.so\n' >"$T/pam.d/other"

# Every "#key = value" line switched on.  The keys that must point at the
# test's mock and files are then set to the test's values; only_groups is
# dropped because its example group does not exist here (a missing group
# in only_groups is an error, by design), and so are the redis_* keys: their
# examples name servers and files that do not exist here, and redis_url and
# redis_sentinels exclude each other (tests/redis runs them for real).
sed -n 's/^#\([a-z_0-9]* = .*\)$/\1/p' "$SAMPLE" |
    grep -Ev '^(api_url|ca_file|dev_key|dev_secret|template_id|user_map|state_dir|proxy|only_groups|redis_[a-z_]*|callback_[a-z_]*) ' \
        >"$T/sample-on"
{
    cat "$T/sample-on"
    printf 'api_url = %s\nca_file = %s\ndev_key = test-key\n' "$MOCK_URL" "$MOCK_CA"
    printf 'dev_secret = test-secret\ntemplate_id = pam-otp\n'
    printf 'user_map = %s\nstate_dir = %s\n' "$T/users" "$T/state"
} >"$T/conf"
chmod 0600 "$T/conf"
nkeys=$(wc -l <"$T/conf")
printf 'daemon:+6581234567\n' >"$T/users"
chmod 0644 "$T/users"
printf 'auth required %s conf=%s\n' "$MODULE" "$T/conf" >"$T/pam.d/eotp"
OUT=$(timeout 60 "$HARNESS" --confdir "$T/pam.d" --service eotp --user daemon \
    --outbox "$MOCK_OUTBOX" --to +6581234567 -- @code 2>&1)
assert_no_match "the sample's $nkeys settings, all switched on, are accepted" \
    'SYSLOG: .*config: ' "$OUT"
assert_match "a login with the sample's settings succeeds" '^RESULT: PAM_SUCCESS' "$OUT"

# The sample with nothing switched on but the three required keys is also
# a complete configuration (the defaults fill in the rest).
{
    cat "$SAMPLE"
    printf 'api_url = %s\nca_file = %s\ndev_key = test-key\n' "$MOCK_URL" "$MOCK_CA"
    printf 'dev_secret = test-secret\ntemplate_id = pam-otp\n'
    printf 'user_map = %s\nstate_dir = %s\n' "$T/users" "$T/state.2"
} >"$T/conf"
OUT=$(timeout 60 "$HARNESS" --confdir "$T/pam.d" --service eotp --user daemon \
    --outbox "$MOCK_OUTBOX" --to +6581234567 -- @code 2>&1)
assert_match "the sample as shipped plus credentials: login succeeds" '^RESULT: PAM_SUCCESS' "$OUT"

# The shipped user map: comments only, nothing malformed.
cp "$TOP_DIR/conf/engagelab_otp_users" "$T/users"
chmod 0644 "$T/users"
OUT=$(timeout 60 "$HARNESS" --confdir "$T/pam.d" --service eotp --user daemon \
    --outbox "$MOCK_OUTBOX" --to +6581234567 -- @code 2>&1)
assert_match "sample user map: nobody is mapped" '^RESULT: PAM_USER_UNKNOWN' "$OUT"
assert_no_match "sample user map: no malformed line" 'malformed' "$OUT"
sed -n 's/^#\([a-z]*:.*\)$/\1/p' "$TOP_DIR/conf/engagelab_otp_users" >"$T/users"
printf 'daemon:+6581234567\n' >>"$T/users"
OUT=$(timeout 60 "$HARNESS" --confdir "$T/pam.d" --service eotp --user daemon \
    --outbox "$MOCK_OUTBOX" --to +6581234567 -- @code 2>&1)
assert_no_match "sample user map: its examples are well-formed" 'malformed' "$OUT"

# sshd_config lines.
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
{
    printf 'HostKey %s\nPidFile %s/sshd.pid\n' "$T/hostkey" "$T"
    cat "$TOP_DIR/conf/sshd_config-otp.conf"
} >"$T/sshd_config"
if out=$(/usr/sbin/sshd -t -f "$T/sshd_config" 2>&1); then
    t_ok "sshd -t accepts conf/sshd_config-otp.conf"
else
    # sshd -t also wants its privilege separation directory.
    case "$out" in
    *"privilege separation directory"*)
        t_on_exit "rmdir /run/sshd"
        install -d -m 0755 /run/sshd
        if out=$(/usr/sbin/sshd -t -f "$T/sshd_config" 2>&1); then
            t_ok "sshd -t accepts conf/sshd_config-otp.conf"
        else
            t_fail "sshd -t accepts conf/sshd_config-otp.conf" "$out"
        fi
        ;;
    *) t_fail "sshd -t accepts conf/sshd_config-otp.conf" "$out" ;;
    esac
fi
out=$(/usr/sbin/sshd -T -f "$T/sshd_config" 2>&1)
assert_match "sshd_config sample: publickey,keyboard-interactive required" \
    '^authenticationmethods publickey,keyboard-interactive$' "$out"
assert_match "sshd_config sample: password method off" '^passwordauthentication no$' "$out"

# sudoers drop-in.
if out=$(visudo -cf "$TOP_DIR/conf/sudoers-otp" 2>&1); then
    t_ok "visudo -c accepts conf/sudoers-otp"
else
    t_fail "visudo -c accepts conf/sudoers-otp" "$out"
fi

# README: its first code block is exactly the two commands, each a
# target of the Makefile; the files and pages it names exist.
README="$TOP_DIR/README.md"
first=$(awk '/^```/ { if (open) exit; open = 1; next } open' "$README" |
    sed 's/[[:space:]]*#.*$//')
assert_eq "README starts with make demo and make check" \
    "$(printf 'make demo\nmake check')" "$first"
for target in demo check; do
    if grep -Eq "^$target:" "$TOP_DIR/Makefile"; then
        t_ok "make $target is a Makefile target"
    else
        t_fail "make $target is a Makefile target"
    fi
done
at=$(grep -n -m 1 '^```' "$README" | cut -d: -f1)
if [ -n "$at" ] && [ "$at" -le 5 ]; then
    t_ok "the two commands come first (line $at)"
else
    t_fail "the two commands come first" "first code block at line '$at'"
fi
missing=
for f in $(grep -oE '(\(|`)(docs|conf|tests|packaging)/[A-Za-z0-9_./-]+' "$README" |
    sed 's/^[(`]//; s/[.]$//' | sort -u); do
    [ -e "$TOP_DIR/$f" ] || missing="$missing $f"
done
assert_eq "every file and page the README names exists" "" "$missing"

t_summary
