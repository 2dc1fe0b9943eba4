#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# "make install" into a DESTDIR in the temp dir: the files land with the
# modes the module insists on, and the user map (everyone's phone number)
# is readable by root only.  Nothing is written outside the temp dir.
set -u
. "$(dirname "$0")/../lib.sh"
t_setup

D="$T/root"
if make -s -C "$TOP_DIR" install DESTDIR="$D" BUILD="$BUILD" \
        PREFIX=/usr SYSCONFDIR=/etc LOCALSTATEDIR=/var >"$T/install.log" 2>&1; then
    t_ok "make install DESTDIR=... succeeds"
else
    t_fail "make install DESTDIR=... succeeds" "$(tail -n 20 "$T/install.log")"
fi
mode() { stat -c '%a' "$1" 2>/dev/null || echo absent; }
assert_eq "installed config: 0600" 600 "$(mode "$D/etc/security/pam_engagelab_otp.conf")"
assert_eq "installed user map: 0600 (it lists every user's phone number)" \
    600 "$(mode "$D/etc/security/engagelab_otp_users")"
assert_eq "installed state directory: 0700" 700 "$(mode "$D/var/lib/pam_engagelab_otp")"

# An existing map is kept as it is.
printf 'alice:+6581234567\n' >"$D/etc/security/engagelab_otp_users"
chmod 0640 "$D/etc/security/engagelab_otp_users"
make -s -C "$TOP_DIR" install DESTDIR="$D" BUILD="$BUILD" \
    PREFIX=/usr SYSCONFDIR=/etc LOCALSTATEDIR=/var >>"$T/install.log" 2>&1
assert_eq "an existing user map is kept" 'alice:+6581234567' \
    "$(cat "$D/etc/security/engagelab_otp_users")"
assert_eq "an existing user map keeps its mode" 640 "$(mode "$D/etc/security/engagelab_otp_users")"

t_summary
