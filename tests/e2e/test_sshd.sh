#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Two-factor SSH for real: a throwaway OpenSSH server on 127.0.0.1 whose
# keyboard-interactive method runs the built module through PAM, and the
# OpenSSH client answering the code prompt through SSH_ASKPASS with the
# code the mock API "delivered".
#
# sshd names its PAM service after the base name of argv[0], so it is run
# through a link $T/sshd-eotp-test-PID -> /usr/sbin/sshd and reads
# /etc/pam.d/sshd-eotp-test-PID; /etc/pam.d/sshd is never touched.  The
# auth stacks are the shipped samples conf/pam/sshd-publickey-otp and
# sshd-password-otp.
#
# sshd listens on three loopback ports: the first requires publickey,
# keyboard-interactive; the second offers keyboard-interactive alone (for
# the password + code stack and for a user unknown to the system); the
# third lets root log in (PermitRootLogin yes).  root's key comes from the
# test through AuthorizedKeysCommand, so root's own files are not touched.
#
# Outside $T this suite creates (and removes at exit, even on failure):
# the PAM service file, two users with their homes, and /run/sshd when it
# is missing.  Root only.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
. "$TESTS_DIR/e2e/clients.sh"
need_root
need sshd ssh ssh-keygen useradd userdel chpasswd setsid
t_setup
snapshot_module
t_on_exit mock_stop
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }

SVC=sshd-eotp-test-$$
U1=eotps$$a    # mapped to a phone, has a key and a password
U2=eotps$$b    # no mapping, has a key
NX=eotps$$x    # not a user on this system, but in the map
PHONE=+6581234567
PASSWORD=Pw-$$-$RANDOM-x
add_user "$U1" || { t_summary; exit 1; }
add_user "$U2" || { t_summary; exit 1; }
set_password "$U1" "$PASSWORD"

ROOTPHONE=+6590002222
printf '%s:%s\n%s:+6590000000\nroot:%s\n' "$U1" "$PHONE" "$NX" "$ROOTPHONE" >"$T/users"
chmod 0644 "$T/users"

# ---- keys, sshd_config, PAM service ------------------------------------------

mkdir -p "$T/ssh"
ssh-keygen -q -t ed25519 -N '' -C host -f "$T/ssh/host_ed25519"
ssh-keygen -q -t ed25519 -N '' -C user -f "$T/ssh/id_user"
for u in "$U1" "$U2"; do
    h=$(getent passwd "$u" | cut -d: -f6)
    install -d -m 0700 -o "$u" -g "$u" "$h/.ssh"
    install -m 0600 -o "$u" -g "$u" "$T/ssh/id_user.pub" "$h/.ssh/authorized_keys"
done

if [ ! -d /run/sshd ]; then
    # The privilege separation directory sshd insists on.
    t_on_exit "rmdir /run/sshd"
    install -d -m 0755 /run/sshd
fi

# pam_stack SAMPLE: the service file from a shipped sample's auth lines
# plus the distribution's account and session stacks.
pam_stack() {
    {
        stack_from_sample "$TOP_DIR/conf/pam/$1"
        shift
        for line in "$@"; do printf '%s\n' "$line"; done
        printf '@include common-account\n@include common-session\n'
    } >"/etc/pam.d/$SVC"
}
t_on_exit "rm -f /etc/pam.d/$SVC"
pam_stack sshd-publickey-otp

# sshd_config for the ports in PORT, PORT2, PORT3.
write_sshd_config() {
cat >"$T/ssh/sshd_config" <<EOF
ListenAddress 127.0.0.1:$PORT
ListenAddress 127.0.0.1:$PORT2
ListenAddress 127.0.0.1:$PORT3
HostKey $T/ssh/host_ed25519
PidFile $T/ssh/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication yes
AuthenticationMethods publickey,keyboard-interactive
AuthorizedKeysFile .ssh/authorized_keys
PermitRootLogin no
StrictModes yes
MaxAuthTries 10
PrintMotd no
PrintLastLog no
UseDNS no
LogLevel VERBOSE
# The second port offers keyboard-interactive alone: for the user unknown
# to the system (so that sshd really runs PAM for it) and for the
# password + code stack.
# root: its key comes from the test (root's own files are not touched);
# PermitRootLogin yes on the third port, prohibit-password elsewhere.
Match User root LocalPort $PORT3
    PermitRootLogin yes
Match User root
    AuthorizedKeysFile none
    AuthorizedKeysCommand /bin/cat $T/ssh/id_user.pub
    AuthorizedKeysCommandUser nobody
    PermitRootLogin prohibit-password
Match LocalPort $PORT2
    AuthenticationMethods keyboard-interactive
EOF
}

# Start sshd on three new free ports; another process taking one of them
# between free_port and sshd's bind is retried with new ports.
sshd_start() {
    local try
    for try in 1 2 3; do
        { read -r PORT; read -r PORT2; read -r PORT3; } < <(free_port 3)
        write_sshd_config
        if [ "$try" = 1 ] && ! out=$("$T/$SVC" -t -f "$T/ssh/sshd_config" 2>&1); then
            t_fail "sshd accepts the test configuration" "$out"
            t_summary
            exit 1
        fi
        : >"$T/ssh/sshd.log"
        LD_PRELOAD="$(san_preload)" ASAN_OPTIONS="$SAN_HOST_ASAN_OPTIONS" \
            "$T/$SVC" -D -f "$T/ssh/sshd_config" -E "$T/ssh/sshd.log" &
        SSHD_PID=$!
        for _ in $(seq 100); do
            [ "$(grep -c 'Server listening' "$T/ssh/sshd.log" 2>/dev/null)" = 3 ] && return 0
            grep -q 'Bind to port .* failed' "$T/ssh/sshd.log" 2>/dev/null && break
            kill -0 "$SSHD_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$SSHD_PID" 2>/dev/null
        wait "$SSHD_PID" 2>/dev/null
        SSHD_PID=
    done
    return 1
}

ln -s /usr/sbin/sshd "$T/$SVC"
SSHD_PID=
t_on_exit '[ -z "$SSHD_PID" ] || kill "$SSHD_PID"'
if sshd_start; then
    t_ok "sshd started as $SVC on 127.0.0.1:$PORT, :$PORT2, :$PORT3"
else
    t_fail "sshd started on three loopback ports" "$(cat "$T/ssh/sshd.log" 2>/dev/null)"
    t_summary
    exit 1
fi

write_askpass "$T/askpass"

# ssh_login USER MODE [ssh options...] -- : runs "id -un" over SSH; the
# askpass answers per MODE (see clients.sh).  Sets OUT (stdout), ERR
# (stderr), RC and PROMPTS (what the askpass was asked).
ssh_login() {
    local user=$1 mode=$2
    shift 2
    : >"$T/prompts"
    OUT=$(SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
        ASKPASS_MODE=$mode ASKPASS_TO=${TO:-$PHONE} ASKPASS_LOG="$T/prompts" \
        ASKPASS_PASSWORD=${PW:-} \
        timeout 90 setsid -w ssh -F /dev/null -p "${P:-$PORT}" \
        -i "$T/ssh/id_user" -o IdentitiesOnly=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile="$T/known_hosts" \
        -o BatchMode=no -o ConnectTimeout=20 -o NumberOfPasswordPrompts=1 \
        -o PreferredAuthentications=publickey,keyboard-interactive \
        "$@" "$user@127.0.0.1" id -un </dev/null 2>"$T/ssh.err")
    RC=$?
    ERR=$(cat "$T/ssh.err")
    PROMPTS=$(cat "$T/prompts")
}

# Each case starts from a fresh mock, config and module state.
fresh() {
    mockctl reset >/dev/null
    rm -rf "$T/state"
    write_conf "$T/conf" "$@"
    REQ0=$(mock_request_count)
    SENT0=$(mock_sent_count)
}
requests_since() { echo $(($(mock_request_count) - $1)); }

# ---- public key + code --------------------------------------------------------

fresh
ssh_login "$U1" code
assert_eq "right code: logged in, the command ran as the user" "$U1" "$OUT"
assert_eq "right code: ssh exit status 0" 0 "$RC"
assert_match "the prompt names the channel and the masked destination" \
    'Code sent by SMS to \+65\*{6}67: ' "$PROMPTS"
assert_no_match "the prompt does not show the full number" '6581234567' "$PROMPTS"
assert_eq "one code sent, one verification" 2 "$(requests_since "$REQ0")"
assert_match "sshd: the key was only a partial success" \
    "Partial publickey for $U1 from 127.0.0.1" "$(cat "$T/ssh/sshd.log")"
assert_match "sshd: then keyboard-interactive/pam accepted" \
    "Accepted keyboard-interactive/pam for $U1 from 127.0.0.1" "$(cat "$T/ssh/sshd.log")"

fresh
ssh_login "$U1" wrong
assert_eq "wrong code: no command ran" "" "$OUT"
assert_eq "wrong code: ssh exit status 255" 255 "$RC"
assert_match "wrong code: permission denied" 'Permission denied' "$ERR"
nprompt=$(grep -c 'Code' "$T/prompts")
assert_eq "wrong code: asked max_attempts (3) times" 3 "$nprompt"
assert_match "wrong code: the user is told it was wrong" 'Wrong code\. Code sent by SMS' "$PROMPTS"
assert_eq "wrong code: three verifications, one send" 4 "$(requests_since "$REQ0")"

fresh
VER0=$(mock_request_count /v1/verifications)
ssh_login "$U1" fail
assert_eq "key alone (the askpass gives no code): no login" "" "$OUT"
assert_eq "key alone: ssh exit status 255" 255 "$RC"
assert_eq "key alone: an empty answer is never checked with the API" 0 \
    "$(($(mock_request_count /v1/verifications) - VER0))"

fresh
ssh_login "$U1" code -o PubkeyAuthentication=no
assert_eq "code alone (no key): no login" "" "$OUT"
assert_eq "code alone: no code was even sent" 0 "$(requests_since "$REQ0")"

# ---- users without a mapping, and users that do not exist ---------------------
# U2 has a key and no destination.

pam_stack sshd-publickey-otp
fresh
ssh_login "$U2" code
assert_eq "unmapped = deny: no login, even with the key" "" "$OUT"
assert_eq "unmapped = deny: nothing sent" 0 "$(requests_since "$REQ0")"
assert_eq "unmapped = deny: no code prompt" "" "$PROMPTS"

# unmapped = ignore makes the module answer PAM_IGNORE.  PAM_IGNORE alone
# is never a success: with the module alone in the stack, libpam ends the
# stack with PAM_PERM_DENIED, so keyboard-interactive fails and the user
# is refused even though the module "ignored" them.
fresh unmapped=ignore
ssh_login "$U2" code
assert_eq "unmapped = ignore, module alone: still no login" "" "$OUT"
assert_eq "unmapped = ignore, module alone: nothing sent" 0 "$(requests_since "$REQ0")"

# With the sample's optional "auth required pam_permit.so" line the rest
# of the stack decides, and keyboard-interactive succeeds without a
# prompt.  The key is still required, because AuthenticationMethods
# publickey,keyboard-interactive makes both methods mandatory.
pam_stack sshd-publickey-otp 'auth required pam_permit.so'
fresh unmapped=ignore
ssh_login "$U2" fail
assert_eq "unmapped = ignore + pam_permit, with the key: logged in" "$U2" "$OUT"
assert_eq "unmapped = ignore + pam_permit: no code prompt" "" "$PROMPTS"
ssh_login "$U2" fail -o PubkeyAuthentication=no
assert_eq "unmapped = ignore + pam_permit, no key: refused (kbd-int alone is not enough)" \
    "" "$OUT"
assert_eq "unmapped = ignore: nothing sent" 0 "$(requests_since "$REQ0")"
# Why the sample warns against offering keyboard-interactive on its own:
# on the second port (AuthenticationMethods keyboard-interactive) the same
# stack lets an ignored user in with no factor at all.
P=$PORT2 ssh_login "$U2" fail -o PubkeyAuthentication=no
assert_eq "the same stack under kbd-int alone lets ignored users in with nothing" \
    "$U2" "$OUT"
# A mapped user still needs the code with this stack.
fresh unmapped=ignore
ssh_login "$U1" fail
assert_eq "unmapped = ignore + pam_permit: a mapped user still needs the code" "" "$OUT"
ssh_login "$U1" code
assert_eq "unmapped = ignore + pam_permit: mapped user with the code logs in" "$U1" "$OUT"

# A user unknown to the system.  Under keyboard-interactive alone (second
# port) sshd still runs the PAM conversation for it (answering with junk):
# the module must not send anything.  NX is in the map, so only the
# module's passwd check stops the send.
pam_stack sshd-publickey-otp
fresh
TO=+6590000000 P=$PORT2 ssh_login "$NX" code -o PubkeyAuthentication=no
assert_eq "user unknown to the system: no login" "" "$OUT"
assert_eq "user unknown to the system: mock request log unchanged" 0 \
    "$(requests_since "$REQ0")"
assert_match "sshd: the invalid user went through keyboard-interactive/pam" \
    "Failed keyboard-interactive/pam for invalid user $NX" "$(cat "$T/ssh/sshd.log")"
fresh
TO=+6590000000 ssh_login "$NX" code
assert_eq "user unknown, publickey,keyboard-interactive: request log unchanged" 0 \
    "$(requests_since "$REQ0")"
assert_eq "user unknown: no login" "" "$OUT"

# ---- root ------------------------------------------------------------------------
# Under PermitRootLogin prohibit-password sshd accepts root's key but
# answers every keyboard-interactive prompt for root with a junk password,
# so root can never pass the code step.  With the key + code stack the
# module cannot see that policy before it prompts: the code is sent (and
# paid for), then the junk answers are refused as "not a code".  Hence the
# README: for root with key + code use PermitRootLogin yes (the key stays
# mandatory through AuthenticationMethods), or leave root unmapped.
fresh
TO=$ROOTPHONE ssh_login root code
assert_eq "root, prohibit-password: no login even with key and code" "" "$OUT"
assert_eq "root, prohibit-password: the code is sent before sshd's junk answers (1 send, no verify)" \
    1 "$(requests_since "$REQ0")"
fresh
TO=$ROOTPHONE P=$PORT3 ssh_login root code
assert_eq "root, PermitRootLogin yes + AuthenticationMethods: key and code log in" root "$OUT"
fresh
TO=$ROOTPHONE P=$PORT3 ssh_login root code -o PubkeyAuthentication=no
assert_eq "root, PermitRootLogin yes: the code alone is not enough" "" "$OUT"

# ---- password + code ------------------------------------------------------------
# U1 connecting to the second port gets keyboard-interactive alone; the sample
# stack asks the Unix password, then the code.

pam_stack sshd-password-otp
fresh
P=$PORT2 PW=$PASSWORD ssh_login "$U1" code -o PubkeyAuthentication=no
assert_eq "password + code: logged in" "$U1" "$OUT"
assert_match "password + code: password asked first, then the code" \
    $'assword.*\n.*Code sent by SMS to \\+65\\*{6}67' "$PROMPTS"

fresh
P=$PORT2 PW=not-the-password ssh_login "$U1" code \
    -o PubkeyAuthentication=no
assert_eq "wrong password: no login" "" "$OUT"
assert_eq "wrong password: no code sent (requisite pam_deny stops the stack)" \
    0 "$(requests_since "$REQ0")"

fresh
P=$PORT2 PW=$PASSWORD ssh_login "$U1" wrong -o PubkeyAuthentication=no
assert_eq "right password, wrong code: no login" "" "$OUT"

# ---- sshd survived all of it ----------------------------------------------------
if kill -0 "$SSHD_PID" 2>/dev/null; then
    t_ok "sshd still running"
else
    t_fail "sshd still running" "$(tail -n 20 "$T/ssh/sshd.log")"
fi

t_summary
