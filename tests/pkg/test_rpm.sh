#!/usr/bin/env bash
# The RPM: "make rpm" builds packaging/rpm/pam_engagelab_otp.spec with
# rpmbuild, and the binary package has the Fedora/RHEL layout: the module
# in /usr/lib64/security, the config root-only and marked %config, the
# state directory 0700, the manual pages.  (On Debian the build runs with
# --nodeps, as the RPM database knows no -devel packages; it is not
# installed here.)  Nothing is written outside $T.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/e2e/clients.sh"
need rpmbuild rpm
t_setup

# A package is never a sanitizer build: drop make check's variables.
if env -u MAKEFLAGS -u MAKELEVEL -u SAN -u BUILD make -C "$TOP_DIR" rpm PKG_BUILD="$T/pkg" >"$T/build.log" 2>&1; then
    t_ok "make rpm builds the packages"
else
    t_fail "make rpm builds the packages" "$(tail -n 30 "$T/build.log")"
    t_summary
    exit 1
fi
RPM=$(ls "$T"/pkg/rpm/RPMS/*/pam_engagelab_otp-[0-9]*.rpm 2>/dev/null | head -n 1)
SRPM=$(ls "$T"/pkg/rpm/SRPMS/*.src.rpm 2>/dev/null | head -n 1)
[ -n "$SRPM" ] && t_ok "source RPM built" || t_fail "source RPM built"
if [ -z "$RPM" ]; then
    t_fail "binary RPM built" "$(ls -R "$T/pkg/rpm")"
    t_summary
    exit 1
fi

list=$(rpm -qlvp "$RPM" 2>/dev/null)
# entry MODE PATH
entry() {
    if printf '%s\n' "$list" | grep -Eq "^$1 +[0-9]+ root +root .* $2\$"; then
        t_ok "rpm: ${2//\\/} ($1)"
    else
        t_fail "rpm: ${2//\\/} ($1)" "$(printf '%s\n' "$list" | grep -F "$2" || echo absent)"
    fi
}
entry '-rw-r--r--' '/usr/lib64/security/pam_engagelab_otp\.so'
entry '-rw-------' '/etc/security/pam_engagelab_otp\.conf'
entry '-rw-------' '/etc/security/engagelab_otp_users'
entry 'drwx------' '/var/lib/pam_engagelab_otp'
entry '-rw-r--r--' '/usr/share/man/man8/pam_engagelab_otp\.8(\.gz)?'
entry '-rw-r--r--' '/usr/share/man/man5/pam_engagelab_otp\.conf\.5(\.gz)?'
entry '-rw-r--r--' '/usr/share/doc/pam_engagelab_otp[^/]*/pam/sshd-publickey-otp'
if ls "$TOP_DIR"/src/cli/*.c >/dev/null 2>&1; then
    entry '-rwxr-xr-x' '/usr/sbin/engagelab-otp'
fi
config=$(rpm -qcp "$RPM" 2>/dev/null | sort | tr '\n' ' ')
assert_eq "rpm: the config and the user map are %config" \
    "/etc/security/engagelab_otp_users /etc/security/pam_engagelab_otp.conf " "$config"
assert_match "rpm: requires pam" '^pam$' "$(rpm -qRp "$RPM" 2>/dev/null)"

t_summary
