#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The SELinux policy module (packaging/selinux/): "make selinux" builds
# the .pp with the policy's devel Makefile, the expanded .te passes
# checkmodule on its own, it declares the documented booleans with the
# documented defaults and the types the .fc uses, the .fc paths are the
# paths "make install" creates (and every file it installs under
# /etc/security and the state directory has a context), and the README
# and the man page give the commands an administrator needs.  (The RPM's
# side is in test_rpm.sh.)
#
# Skipped (0 passed, 0 failed, with a "# SKIP" line) only when checkmodule
# or the devel Makefile (Debian selinux-policy-dev, Fedora
# selinux-policy-devel) is missing.  Nothing is written outside $T.
set -u
. "$(dirname "$0")/../lib.sh"
t_setup

# has NAME ERE FILE / hasnt NAME ERE FILE: like assert_match, for files
# too long to print on a failure.
has() {
    if grep -Eq -- "$2" "$3"; then t_ok "$1"; else t_fail "$1" "no match for: $2" "in: $3"; fi
}
hasnt() {
    if grep -Eq -- "$2" "$3"; then
        t_fail "$1" "unexpected: $(grep -Em 3 -- "$2" "$3")"
    else
        t_ok "$1"
    fi
}

DEVEL=${SELINUX_DEVEL:-/usr/share/selinux/devel/Makefile}
SRC="$TOP_DIR/packaging/selinux"
if ! command -v checkmodule >/dev/null 2>&1 || [ ! -f "$DEVEL" ]; then
    printf '# SKIP: checkmodule or %s is missing (selinux-policy-dev, checkpolicy)\n' "$DEVEL"
    t_summary
    exit 0
fi

# ---- build ---------------------------------------------------------------------

if env -u MAKEFLAGS -u MAKELEVEL -u SAN make -C "$TOP_DIR" selinux BUILD="$T/build" \
    >"$T/build.log" 2>&1; then
    t_ok "make selinux builds the policy package"
else
    t_fail "make selinux builds the policy package" "$(tail -n 30 "$T/build.log")"
    t_summary
    exit 1
fi
PP="$T/build/selinux/pam_engagelab_otp.pp"
EXPANDED="$T/build/selinux/tmp/pam_engagelab_otp.tmp"
[ -s "$PP" ] && t_ok "the .pp exists" || t_fail "the .pp exists" "$(ls -l "$T/build/selinux")"

# checkmodule on the m4-expanded .te, as a module (-m), with MLS (-M) as
# the targeted policy has it.
# (The output file must be named after the module.)
mkdir -p "$T/check" "$T/broken"
if checkmodule -M -m -o "$T/check/pam_engagelab_otp.mod" "$EXPANDED" >"$T/checkmodule.log" 2>&1; then
    t_ok "checkmodule -M -m accepts the .te"
else
    t_fail "checkmodule -M -m accepts the .te" "$(tail -n 20 "$T/checkmodule.log")"
fi
# And refuses a broken one: the check can fail.
sed 's/^type pam_engagelab_otp_etc_t;$/type pam_engagelab_otp_etc_t/' "$EXPANDED" >"$T/broken.tmp"
if checkmodule -M -m -o "$T/broken/pam_engagelab_otp.mod" "$T/broken.tmp" >/dev/null 2>&1; then
    t_fail "checkmodule refuses a .te with a syntax error"
else
    t_ok "checkmodule refuses a .te with a syntax error"
fi
# The .fc as the devel Makefile feeds it: m4-expanded (gen_context).
m4 -D distro_redhat -D enable_mcs "$(dirname "$DEVEL")/include/support/misc_macros.spt" \
    "$SRC/pam_engagelab_otp.fc" 2>"$T/m4.log" | grep -v '^[[:space:]]*$' >"$T/check/pam_engagelab_otp.fc"
if semodule_package -o "$T/check/pam_engagelab_otp.pp" -m "$T/check/pam_engagelab_otp.mod" \
    -f "$T/check/pam_engagelab_otp.fc" >"$T/package.log" 2>&1; then
    t_ok "semodule_package packages it with the file contexts"
else
    t_fail "semodule_package packages it with the file contexts" "$(cat "$T/package.log")"
fi

# ---- what the policy declares ---------------------------------------------------

policy="$T/policy"
grep -v '^#' "$EXPANDED" >"$policy"
for b in sshd:true xdm:true cockpit:true local_login:false sudo:false; do
    has "boolean pam_engagelab_otp_permit_${b%%:*} defaults to ${b#*:}" \
        "^[[:space:]]*bool pam_engagelab_otp_permit_${b%%:*} ${b#*:};" "$policy"
done
assert_eq "five booleans, no more" 5 "$(grep -Ec '^[[:space:]]*bool [a-z_]+ (true|false);' "$policy")"
for t in etc rescue var_lib smpp_port; do
    has "type pam_engagelab_otp_${t}_t declared" "^[[:space:]]*type pam_engagelab_otp_${t}_t;" "$policy"
done
# Each permitted domain may connect to the ports and write the state.
for d in sshd_t local_login_t; do
    for p in http_port_t redis_port_t ldap_port_t pam_engagelab_otp_smpp_port_t; do
        has "$d may connect to $p (under its boolean)" \
            "allow $d $p:tcp_socket (\\{ )?name_connect" "$policy"
    done
    has "$d may create files in the state directory" \
        "allow $d pam_engagelab_otp_var_lib_t:file \\{[^}]*create" "$policy"
    hasnt "$d may not write the config" \
        "allow $d pam_engagelab_otp_etc_t:file \\{[^}]*write" "$policy"
done
# Every rule for a login domain sits inside a boolean's if-block.
outside=$(awk '
    /^[[:space:]]*if \(/ { inif = 1; depth = 0 }
    {
        if (inif) { o = gsub(/{/, "{"); c = gsub(/}/, "}"); depth += o - c }
        else if (/^[[:space:]]*allow (sshd_t|local_login_t|xdm_t|sudodomain|cockpit_session_t) /) print
        if (inif && depth <= 0) inif = 0
    }' "$policy")
assert_eq "no rule for a login domain outside its boolean" "" "$outside"

# ---- file contexts against the install paths -----------------------------------

fc_types=$(grep -v '^#' "$SRC/pam_engagelab_otp.fc" | grep -o 'object_r:[a-z_]*' | sort -u | sed 's/object_r://')
for t in $fc_types; do
    has ".fc type $t is declared in the .te" "^[[:space:]]*type $t;" "$policy"
done

if env -u MAKEFLAGS -u MAKELEVEL -u SAN make -C "$TOP_DIR" install DESTDIR="$T/root" \
    PREFIX=/usr SYSCONFDIR=/etc LOCALSTATEDIR=/var >"$T/install.log" 2>&1; then
    t_ok "make install into a scratch root"
else
    t_fail "make install into a scratch root" "$(tail -n 20 "$T/install.log")"
fi
(cd "$T/root" && find . -mindepth 1 \( -type d -printf 'd /%P\n' \) -o \( -type f -printf 'f /%P\n' \)) \
    >"$T/listing"
# The rescue file is created by the admin tool, never installed.
out=$(python3 "$TESTS_DIR/pkg/fc_check.py" "$SRC/pam_engagelab_otp.fc" "$T/listing" \
    /etc/security/engagelab_otp_rescue)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
[ "$rc" -eq 0 ] && t_ok ".fc paths = make install paths" ||
    t_fail ".fc paths = make install paths" "$(printf '%s\n' "$out" | grep '^not ok')"
# The check fails on a path the .fc does not know.
printf 'f /etc/security/pam_engagelab_otp.d/extra\n' >>"$T/listing"
if python3 "$TESTS_DIR/pkg/fc_check.py" "$SRC/pam_engagelab_otp.fc" "$T/listing" \
    /etc/security/engagelab_otp_rescue >/dev/null; then
    t_fail "the .fc check notices an installed file without a context"
else
    t_ok "the .fc check notices an installed file without a context"
fi

# The rescue file's default, once the code has one, is the .fc path.
rescue_default=$(grep -rhoE '/etc/security/[a-z_]*rescue[a-z_]*' "$TOP_DIR/src" "$TOP_DIR/conf" 2>/dev/null | sort -u)
if [ -n "$rescue_default" ]; then
    assert_eq "the rescue file's default path is the .fc path" \
        /etc/security/engagelab_otp_rescue "$rescue_default"
fi

# ---- documentation ----------------------------------------------------------------

readme="$TOP_DIR/README.md"
man8="$TOP_DIR/packaging/man/pam_engagelab_otp.8"
for b in sshd xdm cockpit local_login sudo; do
    has "README names the boolean pam_engagelab_otp_permit_$b" "pam_engagelab_otp_permit_$b" "$readme"
    has "the man page names the boolean pam_engagelab_otp_permit_$b" "pam_engagelab_otp_permit_$b" "$man8"
done
has "README: setsebool -P" 'setsebool -P pam_engagelab_otp_permit_' "$readme"
has "README: semanage port for SMPP" 'semanage port -a -t pam_engagelab_otp_smpp_port_t -p tcp' "$readme"
has "README: authselect select with the feature" \
    'authselect select custom/engagelab-otp with-engagelab-otp' "$readme"
has "man page: an SELinux section" '^\.S[hH] SELINUX' "$man8"

t_summary
