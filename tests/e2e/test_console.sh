#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Console login for real: /bin/login in a pseudo-terminal driven by
# expect, with the shipped break-glass sample conf/pam/login (password,
# then a code; failmode=open and exempt_groups for the console only).
#
# login (shadow) always uses the PAM service "login" and cannot be pointed
# at another one, and su/runuser likewise hard-code theirs.  So that the
# system's /etc/pam.d/login is never modified, each login runs in a
# private mount namespace (unshare -m) in which the test's stack from $T
# is bind-mounted over /etc/pam.d/login; outside that namespace nothing
# changes, and the mount disappears with the namespace.
#
# Outside $T this suite creates (and removes at exit, even on failure):
# two users with their homes and one group.  Root only.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
. "$TESTS_DIR/e2e/clients.sh"
need_root
need login expect unshare useradd userdel groupadd groupdel chpasswd
t_setup
snapshot_module
t_on_exit mock_stop
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }

U=eotpc$$a     # mapped to a phone
UB=eotpc$$b    # in the break-glass group, also mapped
G=eotpbg$$
PHONE=+6581234567
PASSWORD=Pw-$$-$RANDOM-z
t_on_exit "groupdel $G"
groupadd "$G" || { t_fail "groupadd $G"; t_summary; exit 1; }
add_user "$U" || { t_summary; exit 1; }
add_user "$UB" -G "$G" || { t_summary; exit 1; }
set_password "$U" "$PASSWORD"
set_password "$UB" "$PASSWORD"
printf '%s:%s\n%s:+6590001111\n' "$U" "$PHONE" "$UB" >"$T/users"
chmod 0644 "$T/users"

{
    stack_from_sample "$TOP_DIR/conf/pam/login" |
        sed "s/exempt_groups=eotp-breakglass/exempt_groups=$G/"
    printf '@include common-account\n@include common-session\n'
} >"$T/login.pam"
cp "$TESTS_DIR/mock/mockctl.py" "$T/mockctl.py"

# The expect script: log in as USER with PASSWORD; answer the code prompt
# per MODE (code: the delivered code; wrong: a wrong one; none: fail if a
# code is asked); in the shell print a marker with the user's name.
cat >"$T/login.exp" <<'EOF'
lassign $argv user password mode dest outbox mockctl
set timeout 30
log_user 1
spawn -noecho /bin/login $user
expect {
    "Password: " { send -- "$password\r" }
    timeout { puts "\nEXPECT: no password prompt"; exit 2 }
}
while 1 {
    expect {
        -re {Code sent by [^\r\n]*: } {
            if {$mode eq "none"} { puts "\nEXPECT: unexpected code prompt"; exit 3 }
            set code [exec $mockctl code --outbox $outbox --to $dest --wait 5]
            if {$mode eq "wrong"} { set code [string map {0 1 1 2 2 3 3 4 4 5 5 6 6 7 7 8 8 9 9 0} $code] }
            send -- "$code\r"
        }
        "Login incorrect" { puts "\nEXPECT: login refused"; exit 1 }
        "Maximum number of tries exceeded" { puts "\nEXPECT: login refused (tries)"; exit 1 }
        -re {[$#] $} {
            send -- "echo SHELL-AS-`id -un`; exit\r"
            expect {
                -re {SHELL-AS-([a-z0-9]+)} { puts "\nEXPECT: shell for $expect_out(1,string)" }
                timeout { puts "\nEXPECT: no answer from the shell"; exit 4 }
            }
            expect eof
            exit 0
        }
        timeout { puts "\nEXPECT: timeout"; exit 5 }
        eof { puts "\nEXPECT: eof"; exit 6 }
    }
}
EOF

# console USER MODE [PASSWORD]: sets OUT and RC.
console() {
    OUT=$(LD_PRELOAD="$(san_preload)" ASAN_OPTIONS="$SAN_HOST_ASAN_OPTIONS" \
        timeout 120 unshare -m --propagation private sh -c '
        mount --bind "$1" /etc/pam.d/login || exit 9
        shift
        exec expect -f "$@"' sh "$T/login.pam" "$T/login.exp" "$1" "${3:-$PASSWORD}" \
        "$2" "${TO:-$PHONE}" "$MOCK_OUTBOX" "$T/mockctl.py" </dev/null 2>&1)
    RC=$?
}

fresh() {
    mockctl reset >/dev/null
    rm -rf "$T/state"
    write_conf "$T/conf" "$@"
    REQ0=$(mock_request_count)
}
requests_since() { echo $(($(mock_request_count) - $1)); }

fresh
console "$U" code
assert_match "right code: a shell for the user" "EXPECT: shell for $U" "$OUT"
assert_eq "right code: exit 0" 0 "$RC"
assert_match "the prompt names the channel and the masked destination" \
    'Code sent by SMS to \+65\*{6}67: ' "$OUT"
assert_eq "one send, one verification" 2 "$(requests_since "$REQ0")"

fresh
console "$U" wrong
assert_match "wrong code: login refused" "EXPECT: login refused" "$OUT"
assert_no_match "wrong code: no shell" "SHELL-AS-$U" "$OUT"
assert_match "wrong code: too many wrong codes" "Too many wrong codes" "$OUT"
assert_match "wrong code: login ends with PAM_MAXTRIES" "Maximum number of tries exceeded" "$OUT"

fresh
console "$U" code not-the-password
assert_match "wrong password: login refused" "EXPECT: login refused" "$OUT"
assert_eq "wrong password: no code sent" 0 "$(requests_since "$REQ0")"

# Break-glass 1: the API is down.  The console stack has failmode=open, so
# the password alone lets the user in (and the bypass is logged).
fresh
mockctl fault status500 --path /v1/messages --count 100 >/dev/null
console "$U" none
assert_match "API down, console failmode=open: the password alone gets a shell" \
    "EXPECT: shell for $U" "$OUT"
# ...while the same failure with the config's failmode (closed), as sshd
# and sudo have it, refuses the login.
sed 's/ failmode=open//' "$T/login.pam" >"$T/login.pam.closed"
cp "$T/login.pam" "$T/login.pam.open"
cp "$T/login.pam.closed" "$T/login.pam"
console "$U" none
assert_match "API down, failmode closed: refused" "EXPECT: login refused" "$OUT"
cp "$T/login.pam.open" "$T/login.pam"

# failmode=open never lets a wrong code through.
fresh
console "$U" wrong
assert_match "failmode=open: a wrong code is still refused" "EXPECT: login refused" "$OUT"

# Break-glass 2: members of exempt_groups are never asked for a code.
fresh
TO=+6590001111 console "$UB" none
assert_match "exempt group: the password alone gets a shell" "EXPECT: shell for $UB" "$OUT"
assert_eq "exempt group: nothing sent" 0 "$(requests_since "$REQ0")"

# The system's own /etc/pam.d/login was never replaced.
if grep -q pam_engagelab_otp /etc/pam.d/login; then
    t_fail "/etc/pam.d/login untouched outside the namespace"
else
    t_ok "/etc/pam.d/login untouched outside the namespace"
fi

t_summary
