#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian package: "make deb" builds it, lintian has nothing to say
# (the warnings that are by design are overridden, with the reason, in
# packaging/debian/libpam-engagelab-otp.lintian-overrides), its files have
# the right places and modes, and on a machine where it is installed and
# enabled with pam-auth-update, a login through pamtester (password, then
# the code the mock API "delivered") works with the package's own default
# paths.  Purging it leaves nothing behind.
#
# The install happens in a throwaway root: in a private mount namespace,
# an overlay of / whose writable layer is a tmpfs, entered with chroot.
# dpkg, pam-auth-update (which rewrites /etc/pam.d/common-*), useradd and
# the package's maintainer scripts all write only to that layer, which
# disappears with the namespace: the machine's own /etc, dpkg database
# and PAM stacks are never touched.  Root only; takes about a minute.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
. "$TESTS_DIR/e2e/clients.sh"
need_root
need dpkg-buildpackage dh fakeroot lintian pamtester unshare chroot pam-auth-update
t_setup
t_on_exit mock_stop
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }

PKG=libpam-engagelab-otp
ARCH=$(dpkg --print-architecture)
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)

# ---- build -------------------------------------------------------------------

# A package is never a sanitizer build: drop make check's variables.
if env -u MAKEFLAGS -u MAKELEVEL -u SAN -u BUILD make -C "$TOP_DIR" deb PKG_BUILD="$T/pkg" >"$T/build.log" 2>&1; then
    t_ok "make deb builds the package"
else
    t_fail "make deb builds the package" "$(tail -n 30 "$T/build.log")"
    t_summary
    exit 1
fi
DEB=$(ls "$T"/pkg/deb/${PKG}_*_"$ARCH".deb 2>/dev/null | head -n 1)
CHANGES=$(ls "$T"/pkg/deb/*.changes 2>/dev/null | head -n 1)
if [ -z "$DEB" ] || [ -z "$CHANGES" ]; then
    t_fail "the .deb and .changes exist" "$(ls -l "$T/pkg/deb")"
    t_summary
    exit 1
fi

# ---- lintian -------------------------------------------------------------------

# lintian leaves its MLDBM cache files in $TMPDIR: keep them in ours.
mkdir -p "$T/lintian-tmp"
lint=$(TMPDIR="$T/lintian-tmp" lintian --pedantic "$CHANGES" 2>&1 |
    grep -v 'running with root privileges')
assert_no_match "lintian: no errors" '^E: ' "$lint"
assert_no_match "lintian: no warnings that are not overridden with a reason" '^W: ' "$lint"
assert_no_match "lintian: no pedantic remarks" '^P: ' "$lint"

# ---- contents ------------------------------------------------------------------

list=$(dpkg-deb -c "$DEB")
# entry MODE PATH: the listing has PATH with permissions MODE, owned by root.
entry() {
    if printf '%s\n' "$list" | grep -Eq "^$1 root/root +[0-9]+ [0-9-]+ [0-9:]+ \\./$2\$"; then
        t_ok "package: $2 ($1)"
    else
        t_fail "package: $2 ($1)" "$(printf '%s\n' "$list" | grep -F "$2" || echo absent)"
    fi
}
entry '-rw-r--r--' "usr/lib/$MULTIARCH/security/pam_engagelab_otp.so"
entry '-rw-------' 'etc/security/pam_engagelab_otp.conf'
entry '-rw-------' 'etc/security/engagelab_otp_users'
entry 'drwx------' 'var/lib/pam_engagelab_otp/'
entry '-rw-r--r--' 'usr/share/pam-configs/engagelab-otp'
entry '-rw-r--r--' 'usr/share/man/man8/pam_engagelab_otp.8.gz'
entry '-rw-r--r--' 'usr/share/man/man5/pam_engagelab_otp.conf.5.gz'
for f in "$TOP_DIR"/conf/pam/*; do
    entry '-rw-r--r--' "usr/share/doc/$PKG/examples/$(basename "$f")"
done
if ls "$TOP_DIR"/src/cli/*.c >/dev/null 2>&1; then
    entry '-rwxr-xr-x' 'usr/sbin/engagelab-otp'
    [ -e "$TOP_DIR/packaging/man/engagelab-otp.8" ] &&
        entry '-rw-r--r--' 'usr/share/man/man8/engagelab-otp.8.gz'
fi
if ls "$TOP_DIR"/src/receiver/*.c >/dev/null 2>&1; then
    entry '-rw-r--r--' 'lib/systemd/system/engagelab-otp-callback.service'
    postinst=$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./postinst 2>/dev/null)
    # dh_installsystemd --no-enable --no-start: enabled again only if it
    # was enabled before (an upgrade), never started by the package.
    assert_match "the callback unit is enabled only if it was before" \
        "was-enabled 'engagelab-otp-callback.service'" "$postinst"
    assert_no_match "... and never started on install" \
        'deb-systemd-invoke[^\n]*start[^\n]*engagelab-otp-callback' "$postinst"
fi
conffiles=$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles)
assert_eq "conffiles: the config and the user map" \
    "$(printf '/etc/security/engagelab_otp_users\n/etc/security/pam_engagelab_otp.conf')" \
    "$(printf '%s\n' "$conffiles" | sort)"
profile=$(dpkg-deb --fsys-tarfile "$DEB" | tar -xOf - ./usr/share/pam-configs/engagelab-otp)
assert_match "pam-auth-update profile: off by default" '^Default: no$' "$profile"
assert_match "pam-auth-update profile: Auth-Type Additional" '^Auth-Type: Additional$' "$profile"
exported=$(dpkg-deb --fsys-tarfile "$DEB" |
    tar -xOf - "./usr/lib/$MULTIARCH/security/pam_engagelab_otp.so" >"$T/module.so" &&
    nm -D --defined-only "$T/module.so" | awk '{print $3}' | sort | tr '\n' ' ')
assert_eq "packaged module exports only pam_sm_*" "pam_sm_authenticate pam_sm_setcred " "$exported"

# ---- install, enable, log in, purge: in a throwaway root --------------------------

PHONE=+6581234567
PASSWORD=Pw-$$-$RANDOM-p
cp "$TESTS_DIR/mock/mockctl.py" "$T/mockctl.py"
mkdir -p "$T/ovl" "$T/root"

# Runs inside the chroot.  Prints "CHECK name: value" lines.
cat >"$T/in-root.sh" <<'EOF'
set -u
T=$1 DEB=$2 PHONE=$3 PASSWORD=$4 MOCK_URL=$5 MOCK_CA=$6 MOCK_OUTBOX=$7 MULTIARCH=$8
export DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin
check() { printf 'CHECK %s: %s\n' "$1" "$2"; }
yesno() { if "$@"; then echo yes; else echo no; fi; }
MOD=/usr/lib/$MULTIARCH/security/pam_engagelab_otp.so

dpkg -i "$DEB" >"$T/dpkg-install.log" 2>&1
check install $?
check installed "$(dpkg-query -W -f='${Status}' libpam-engagelab-otp)"
check module "$(yesno test -f "$MOD")"
check conf "$(stat -c '%a %U %G' /etc/security/pam_engagelab_otp.conf)"
check users "$(stat -c '%a %U %G' /etc/security/engagelab_otp_users)"
check state "$(stat -c '%a %U %G' /var/lib/pam_engagelab_otp)"
check disabled-after-install "$(grep -c pam_engagelab_otp /etc/pam.d/common-auth)"

pam-auth-update --enable engagelab-otp >"$T/pam-auth-update.log" 2>&1
check enable $?
check enabled "$(grep -c pam_engagelab_otp /etc/pam.d/common-auth)"
# Where the module landed: after the primary block's pam_permit.
check stack "$(grep -v '^#' /etc/pam.d/common-auth | grep -v '^$' | awk '{print $NF == "" ? $0 : $0}' | sed 's/[[:space:]]\+/ /g' | tr '\n' '|')"

# Configure through the package's own files and default paths.
cat >>/etc/security/pam_engagelab_otp.conf <<CONF
api_url = $MOCK_URL
ca_file = $MOCK_CA
dev_key = test-key
dev_secret = test-secret
template_id = pam-otp
CONF
useradd -m -s /bin/sh eotppkg
printf 'eotppkg:%s\n' "$PASSWORD" | chpasswd
printf 'eotppkg:%s\n' "$PHONE" >>/etc/security/engagelab_otp_users
printf '@include common-auth\n@include common-account\n' >/etc/pam.d/eotp-pkgtest

# login MODE: pamtester reads the password, then (once the mock has
# delivered it) the code, from a pipe.
login() {
    local n
    n=$(wc -l <"$MOCK_OUTBOX")
    {
        printf '%s\n' "$PASSWORD"
        c=$(python3 "$T/mockctl.py" code --outbox "$MOCK_OUTBOX" --to "$PHONE" \
            --after-line "$n" --wait 15)
        [ "$1" = wrong ] && c=$(printf '%s' "$c" | tr '0-9' '1-90')
        printf '%s\n%s\n%s\n' "$c" "$c" "$c"
    } | timeout 60 pamtester eotp-pkgtest eotppkg authenticate >"$T/pamtester.$1" 2>&1
    echo $?
}
check login-right "$(login right)"
check login-right-output "$(tr '\n' ' ' <"$T/pamtester.right")"
check login-wrong "$(login wrong)"
check state-written "$(ls /var/lib/pam_engagelab_otp | wc -l)"
check cli "$(yesno test -x /usr/sbin/engagelab-otp)"

dpkg --purge libpam-engagelab-otp >"$T/dpkg-purge.log" 2>&1
check purge $?
check purged-stack "$(grep -c pam_engagelab_otp /etc/pam.d/common-auth)"
check purged-module "$(yesno test -e "$MOD")"
check purged-conf "$(yesno test -e /etc/security/pam_engagelab_otp.conf)"
check purged-state "$(yesno test -e /var/lib/pam_engagelab_otp)"
check purged-profile "$(yesno test -e /usr/share/pam-configs/engagelab-otp)"
EOF

OUT=$(timeout 300 unshare -m --propagation private bash -c '
    set -e
    T=$1
    shift
    mount -t tmpfs tmpfs "$T/ovl"
    mkdir "$T/ovl/upper" "$T/ovl/work"
    mount -t overlay overlay \
        -o "lowerdir=/,upperdir=$T/ovl/upper,workdir=$T/ovl/work" "$T/root"
    mount -t proc proc "$T/root/proc"
    mount --rbind /dev "$T/root/dev"
    mount -t tmpfs tmpfs "$T/root/run"
    mount --bind "$T" "$T/root$T"
    exec chroot "$T/root" /bin/bash "$T/in-root.sh" "$T" "$@"' sh \
    "$T" "$DEB" "$PHONE" "$PASSWORD" "$MOCK_URL" "$MOCK_CA" "$MOCK_OUTBOX" "$MULTIARCH" 2>&1)

val() { printf '%s\n' "$OUT" | sed -n "s/^CHECK $1: //p" | head -n 1; }
assert_eq "throwaway root: dpkg -i succeeds" 0 "$(val install)"
assert_eq "throwaway root: package installed" "install ok installed" "$(val installed)"
assert_eq "installed: the module" yes "$(val module)"
assert_eq "installed: config root-only (0600)" "600 root root" "$(val conf)"
assert_eq "installed: user map 0600" "600 root root" "$(val users)"
assert_eq "installed: state_dir 0700" "700 root root" "$(val state)"
assert_eq "installed: not in the PAM stacks until enabled (Default: no)" 0 "$(val disabled-after-install)"
assert_eq "pam-auth-update --enable engagelab-otp" 0 "$(val enable)"
assert_eq "enabled: common-auth has the module" 1 "$(val enabled)"
assert_match "enabled: the module runs after the password (primary block)" \
    'pam_unix\.so.*\|auth requisite pam_deny\.so\|auth required pam_permit\.so\|auth required pam_engagelab_otp\.so' \
    "$(val stack)"
assert_eq "pamtester: password + right code authenticates" 0 "$(val login-right)"
assert_match "pamtester: the prompt names the channel and masked destination" \
    'Code sent by SMS to \+65\*{6}67' "$(val login-right-output)"
assert_match "pamtester: successfully authenticated" 'successfully authenticated' "$(val login-right-output)"
assert_eq "pamtester: wrong code refused" 1 "$(val login-wrong)"
if [ "$(val state-written)" -ge 1 ] 2>/dev/null; then
    t_ok "the module keeps its state in the packaged state_dir"
else
    t_fail "the module keeps its state in the packaged state_dir" "files: $(val state-written)"
fi
if ls "$TOP_DIR"/src/cli/*.c >/dev/null 2>&1; then
    assert_eq "installed: the admin tool" yes "$(val cli)"
fi
assert_eq "dpkg --purge succeeds" 0 "$(val purge)"
assert_eq "purged: common-auth no longer has the module" 0 "$(val purged-stack)"
assert_eq "purged: module gone" no "$(val purged-module)"
assert_eq "purged: config gone" no "$(val purged-conf)"
assert_eq "purged: state_dir gone" no "$(val purged-state)"
assert_eq "purged: profile gone" no "$(val purged-profile)"
if [ "$T_FAILED" -gt 0 ]; then
    printf '# %s\n' "$(printf '%s\n' "$OUT" | tail -n 40)"
    for f in dpkg-install.log pam-auth-update.log pamtester.right pamtester.wrong dpkg-purge.log; do
        [ -f "$T/$f" ] && sed "s/^/# $f: /" "$T/$f" | tail -n 15
    done
fi

# The machine itself was never touched.
if dpkg-query -W "$PKG" >/dev/null 2>&1; then
    t_fail "the package is not installed on this machine"
else
    t_ok "the package is not installed on this machine"
fi
assert_eq "this machine's common-auth does not have the module" 0 \
    "$(grep -c pam_engagelab_otp /etc/pam.d/common-auth)"

t_summary
