#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The RPM: "make rpm" builds packaging/rpm/pam_engagelab_otp.spec with
# rpmbuild, and the binary package has the Fedora/RHEL layout: the module
# in /usr/lib64/security, the config root-only and marked %config, the
# state directory 0700, the manual pages, the authselect profile.  The
# -selinux subpackage carries the policy module, loads it at priority 200
# in %post, removes it on the last erase, restores the file contexts of
# exactly the paths its .fc names, which are the paths the main package
# installs.  rpmlint, with packaging/rpm/rpmlint.toml (Fedora's settings
# where Debian's rpmlint has none, and the by-design findings with their
# reasons), reports nothing on the spec and the packages.  (On Debian the
# build runs with --nodeps, as the RPM database knows no -devel packages;
# it is not installed here.)  Nothing is written outside $T.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/e2e/clients.sh"
need rpmbuild rpm rpmlint
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
# Executable, as on Fedora, so that find-debuginfo strips it.
entry '-rwxr-xr-x' '/usr/lib64/security/pam_engagelab_otp\.so'
entry '-rw-------' '/etc/security/pam_engagelab_otp\.conf'
entry '-rw-------' '/etc/security/engagelab_otp_users'
entry 'drwx------' '/var/lib/pam_engagelab_otp'
entry '-rw-r--r--' '/usr/share/man/man8/pam_engagelab_otp\.8(\.gz)?'
entry '-rw-r--r--' '/usr/share/man/man5/pam_engagelab_otp\.conf\.5(\.gz)?'
entry '-rw-r--r--' '/usr/share/doc/pam_engagelab_otp[^/]*/pam/sshd-publickey-otp'
for f in README password-auth system-auth; do
    entry '-rw-r--r--' "/usr/share/doc/pam_engagelab_otp[^/]*/authselect/engagelab-otp/$f"
done
entry '-rw-r--r--' '/usr/share/licenses/pam_engagelab_otp[^/]*/LICENSE'
if ls "$TOP_DIR"/src/cli/*.c >/dev/null 2>&1; then
    entry '-rwxr-xr-x' '/usr/sbin/engagelab-otp'
fi
if ls "$TOP_DIR"/src/receiver/*.c >/dev/null 2>&1; then
    entry '-rw-r--r--' '/usr/lib/systemd/system/engagelab-otp-callback\.service'
fi
config=$(rpm -qcp "$RPM" 2>/dev/null | sort | tr '\n' ' ')
assert_eq "rpm: the config and the user map are %config" \
    "/etc/security/engagelab_otp_users /etc/security/pam_engagelab_otp.conf " "$config"
requires=$(rpm -qRp "$RPM" 2>/dev/null)
assert_match "rpm: requires pam" '^pam$' "$requires"
assert_match "rpm: requires the -selinux package where the targeted policy is" \
    '^\(pam_engagelab_otp-selinux if selinux-policy-targeted\)$' "$requires"
assert_eq "rpm: License: Apache-2.0" Apache-2.0 "$(rpm -qp --qf '%{LICENSE}' "$RPM" 2>/dev/null)"

# ---- the -selinux subpackage -----------------------------------------------------

SERPM=$(ls "$T"/pkg/rpm/RPMS/noarch/pam_engagelab_otp-selinux-[0-9]*.noarch.rpm 2>/dev/null | head -n 1)
if [ -z "$SERPM" ]; then
    t_fail "selinux: noarch subpackage built" "$(ls -R "$T/pkg/rpm/RPMS")"
else
    t_ok "selinux: noarch subpackage built"
    list=$(rpm -qlvp "$SERPM" 2>/dev/null)
    entry '-rw-r--r--' '/usr/share/selinux/packages/targeted/pam_engagelab_otp\.pp\.bz2'
    entry '-rw-r--r--' '/usr/share/selinux/devel/include/distributed/pam_engagelab_otp\.if'
    mkdir -p "$T/se"
    (cd "$T/se" && rpm2cpio "$SERPM" | cpio -id --quiet 2>/dev/null)
    if bzip2 -t "$T/se/usr/share/selinux/packages/targeted/pam_engagelab_otp.pp.bz2" 2>/dev/null; then
        t_ok "selinux: the .pp.bz2 is a valid bzip2 file"
    else
        t_fail "selinux: the .pp.bz2 is a valid bzip2 file"
    fi
    assert_match "selinux: requires the targeted policy" '^selinux-policy-targeted$' \
        "$(rpm -qRp "$SERPM" 2>/dev/null)"
    scripts=$(rpm -qp --scripts "$SERPM" 2>/dev/null)
    post=$(printf '%s\n' "$scripts" | sed -n '/^postinstall scriptlet/,/^[a-z]* *scriptlet/p')
    postun=$(printf '%s\n' "$scripts" | sed -n '/^postuninstall scriptlet/,/^[a-z]* *scriptlet/p')
    posttrans=$(printf '%s\n' "$scripts" | sed -n '/^posttrans scriptlet/,$p')
    assert_match "selinux: %post loads the module at priority 200" \
        'semodule -n -s targeted -X 200 *\\?$' "$post"
    assert_match "selinux: %post installs the packaged .pp.bz2" \
        '-i /usr/share/selinux/packages/targeted/pam_engagelab_otp\.pp\.bz2' "$post"
    assert_match "selinux: %postun removes it only on the last erase" \
        'if \[ "\$1" -eq 0 \].*semodule' "$(printf '%s' "$postun" | tr '\n' ' ')"
    assert_match "selinux: %postun removes the module" '-X 200 -r pam_engagelab_otp' "$postun"
    fc_paths=$(grep -v '^#' "$TOP_DIR/packaging/selinux/pam_engagelab_otp.fc" | awk 'NF {print $1}' |
        sed 's/(\/\.\*)?$//; s/\\//g' | sort)
    restored() { printf '%s\n' "$1" | tr ' \\' '\n\n' | grep -E '^/(etc|var)/' | sort; }
    assert_match "selinux: %posttrans restores the file contexts" 'restorecon -R' "$posttrans"
    assert_eq "selinux: %posttrans restores exactly the .fc paths" "$fc_paths" "$(restored "$posttrans")"
    assert_eq "selinux: %postun restores exactly the .fc paths" "$fc_paths" "$(restored "$postun")"
fi

# ---- the .fc paths are the main package's paths ---------------------------------

rpm -qlvp "$RPM" 2>/dev/null | awk '{ t = substr($1, 1, 1) == "d" ? "d" : "f"; print t, $NF }' \
    >"$T/rpm-listing"
out=$(python3 "$TESTS_DIR/pkg/fc_check.py" "$TOP_DIR/packaging/selinux/pam_engagelab_otp.fc" \
    "$T/rpm-listing" /etc/security/engagelab_otp_rescue)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
[ "$rc" -eq 0 ] && t_ok ".fc paths = the RPM's paths" ||
    t_fail ".fc paths = the RPM's paths" "$(printf '%s\n' "$out" | grep '^not ok')"

# ---- rpmlint ------------------------------------------------------------------------

RPMLINT_CONF="$TOP_DIR/packaging/rpm/rpmlint.toml"
# On Debian, rpmbuild has no debuginfo step (make rpm sets debug_package
# to nil), so nothing strips the binaries as find-debuginfo does on Fedora.
: >"$T/rpmlintrc"
[ -e /etc/debian_version ] && echo 'addFilter("unstripped-binary-or-object")' >"$T/rpmlintrc"
lint=$(rpmlint -c "$RPMLINT_CONF" -r "$T/rpmlintrc" "$TOP_DIR/packaging/rpm/pam_engagelab_otp.spec" \
    "$T"/pkg/rpm/RPMS/*/*.rpm "$T"/pkg/rpm/SRPMS/*.rpm 2>&1)
rc=$?
summary=$(printf '%s\n' "$lint" | grep -E 'packages and [0-9]+ specfiles checked')
if [ "$rc" -eq 0 ] && printf '%s' "$summary" | grep -q ' 0 errors, 0 warnings'; then
    t_ok "rpmlint: no errors, no warnings ($summary)"
else
    t_fail "rpmlint: no errors, no warnings" "$(printf '%s\n' "$lint" | grep -E '(E|W): ' | head -n 30)" "$summary"
fi
assert_match "rpmlint checked the spec and three packages" '^ *3 packages and 1 specfiles checked' "$summary"
# Without the settings it does complain: the test can fail.
if rpmlint "$TOP_DIR/packaging/rpm/pam_engagelab_otp.spec" "$RPM" >/dev/null 2>&1; then
    t_fail "rpmlint without the project's settings reports the 0600 config"
else
    t_ok "rpmlint without the project's settings reports the 0600 config"
fi

t_summary
