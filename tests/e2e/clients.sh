# SPDX-License-Identifier: Apache-2.0
# tests/e2e/clients.sh - helpers for the suites that drive real programs
# (sshd + ssh, sudo, login) through the module.  Source it after lib.sh
# and mockenv.sh.  Not a suite itself (not executable).
#
# These suites need root: they create throwaway users and PAM service
# files outside $T, and each such thing is removed by a t_on_exit handler
# that is registered before it is created, so a failing or interrupted
# run leaves nothing behind.

# need PROGRAM...: make sure each program is there; a missing one is
# installed through the project's dependency step, never skipped.
need() {
    local p missing=
    for p in "$@"; do
        have_prog "$p" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    printf '# missing:%s; running packaging/install-deps.sh\n' "$missing"
    "$TOP_DIR/packaging/install-deps.sh" >&2 || true
    for p in "$@"; do
        if ! have_prog "$p"; then
            t_fail "$p is installed by packaging/install-deps.sh"
            t_summary
            exit 1
        fi
    done
}

have_prog() {
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] ||
        [ -x "/sbin/$1" ]
}

# need_root: these suites change /etc; they cannot run unprivileged.
need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        t_fail "$(basename "$0") runs as root (it creates users and PAM services)"
        t_summary
        exit 1
    fi
}

# add_user NAME [useradd options...]: a throwaway account, removed (with
# its home and mail spool) at exit.
add_user() {
    local name=$1
    shift
    t_on_exit "userdel -r -f '$name'"
    useradd -m -s /bin/sh "$@" "$name" >/dev/null 2>&1 ||
        { t_fail "useradd $name"; return 1; }
}

# set_password NAME PASSWORD
set_password() {
    printf '%s:%s\n' "$1" "$2" | chpasswd
}

# put_file PATH MODE: copy stdin to PATH (outside $T), removed at exit.
put_file() {
    t_on_exit "rm -f '$1'"
    cat >"$1" && chmod "$2" "$1"
}

# stack_from_sample FILE: the lines of a shipped PAM sample (conf/pam),
# comments dropped, with the module name replaced by the built module and
# conf= pointing at the test's config.
stack_from_sample() {
    sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' \
        -e "s|pam_engagelab_otp\\.so|$MODULE conf=$T/conf|" "$1"
}

# wrong_code CODE: a code of the same shape that is certainly wrong
# (every digit moved by one, every letter by one).
wrong_code() {
    printf '%s' "$1" | tr '0-9a-zA-Z' '1-90b-zaB-ZA'
}

# write_askpass FILE: an askpass program for ssh and sudo.  It appends each
# prompt it is given to $ASKPASS_LOG and answers from $ASKPASS_MODE:
#   code      the latest code the mock delivered to $ASKPASS_TO
#   wrong     a wrong code of the same shape
#   fail      exit 1 (the user cancels)
#   empty     an empty answer
# A prompt that asks for a password (not a code) is answered with
# $ASKPASS_PASSWORD.
# The askpass may run as another user (sudo runs it as the invoking user),
# so it uses a copy of mockctl.py in $T.
write_askpass() {
    cp "$TESTS_DIR/mock/mockctl.py" "$T/mockctl.py"
    chmod 0755 "$T/mockctl.py"
    cat >"$1" <<EOF
#!/bin/sh
printf '%s\n' "\$1" >>"\${ASKPASS_LOG:-/dev/null}"
case "\$1" in
*assword*) printf '%s\n' "\${ASKPASS_PASSWORD:-}"; exit 0 ;;
esac
case "\${ASKPASS_MODE:-fail}" in
code|wrong)
    c=\$("$MOCK_PYTHON" "$T/mockctl.py" code --outbox "$MOCK_OUTBOX" \
        --to "\$ASKPASS_TO" --wait 5) || exit 1
    if [ "\$ASKPASS_MODE" = wrong ]; then
        c=\$(printf '%s' "\$c" | tr '0-9a-zA-Z' '1-90b-zaB-ZA')
    fi
    printf '%s\n' "\$c" ;;
empty) printf '\n' ;;
*) exit 1 ;;
esac
EOF
    chmod 0755 "$1"
}

# snapshot_module: use a copy of the built module in $T for the whole
# suite, so that a rebuild of the build tree while the suite runs (another
# "make" in the same tree) cannot change or remove it under sshd or login.
snapshot_module() {
    if [ ! -f "$MODULE" ]; then
        t_fail "the module is built ($MODULE)"
        t_summary
        exit 1
    fi
    cp "$MODULE" "$T/pam_engagelab_otp.so"
    MODULE="$T/pam_engagelab_otp.so"
}

# Sanitizer builds: how to load the ASan module into real hosts.
. "$TESTS_DIR/san_env.sh"
