#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The authselect profile (packaging/authselect/engagelab-otp/).  authselect
# is not packaged for Debian, so its parser cannot run here: instead
# tests/pkg/authselect_check.py parses every {...} operator of the
# templates (authselect-profiles(5) syntax), renders password-auth and
# system-auth for every combination of their features, and runs each
# rendered auth block through a model of Linux-PAM's dispatcher: with the
# feature the code follows a right password and decides the login, and
# without it the stack is the plain sssd one.  Where authselect exists
# (RHEL, Fedora), its own parser reads the profile too: a scratch copy in
# the vendor profile directory, removed at exit, whose features
# "authselect list-features" must list (authselect has no --root, so the
# profile is not selected here).
set -u
. "$(dirname "$0")/../lib.sh"
t_setup

PROFILE="$TOP_DIR/packaging/authselect/engagelab-otp"
out=$(python3 "$TESTS_DIR/pkg/authselect_check.py" "$PROFILE" \
    password-auth:with-engagelab-otp system-auth:with-engagelab-otp-system)
rc=$?
printf '%s\n' "$out"
T_PASSED=$((T_PASSED + $(printf '%s\n' "$out" | grep -c '^ok - ')))
T_FAILED=$((T_FAILED + $(printf '%s\n' "$out" | grep -c '^not ok - ')))
[ "$rc" -eq 0 ] || [ "$T_FAILED" -gt 0 ] || t_fail "authselect_check.py exits $rc"

# The check fails on a wrong jump: with the feature, a password failure
# that skips one line too few reaches the module.
mkdir -p "$T/bad"
sed 's/default={if "with-engagelab-otp":2|1}/default=1/' "$PROFILE/password-auth" \
    >"$T/bad/password-auth"
if python3 "$TESTS_DIR/pkg/authselect_check.py" "$T/bad" \
    password-auth:with-engagelab-otp >"$T/bad.out"; then
    t_fail "the check refuses a stack whose jump lets a system user skip the password"
else
    assert_match "the check refuses a stack whose jump lets a system user skip the password" \
        'module called after a wrong password' "$(cat "$T/bad.out")"
fi

readme=$(cat "$PROFILE/README")
assert_eq "profile README: the first line is the profile's name" \
    "SSSD and local users, with pam_engagelab_otp one-time codes after the password" \
    "$(head -n 1 "$PROFILE/README")"
for f in with-engagelab-otp with-engagelab-otp-system with-faillock with-mkhomedir \
    with-pamaccess without-nullok; do
    assert_match "profile README documents $f" "^$f::" "$readme"
done
# Every feature the templates use is documented, and no other.
used=$(cat "$PROFILE/password-auth" "$PROFILE/system-auth" | grep -o '"[a-z-]*"' | tr -d '"' | sort -u)
documented=$(printf '%s\n' "$readme" | sed -n 's/^\([a-z-]*\)::$/\1/p' | sort -u)
assert_eq "the features the templates use are the ones the README documents" "$documented" "$used"

if command -v authselect >/dev/null 2>&1; then
    # authselect reads vendor profiles from /usr/share/authselect/vendor;
    # a copy there is removed at exit.
    vendor=/usr/share/authselect/vendor/eotp-test-$$
    t_on_exit "rm -rf '$vendor'"
    mkdir -p "$vendor" && cp "$PROFILE"/* "$vendor/"
    feats=$(authselect list-features "eotp-test-$$" 2>&1)
    assert_match "authselect list-features: with-engagelab-otp" '^with-engagelab-otp$' "$feats"
    assert_match "authselect list-features: with-engagelab-otp-system" \
        '^with-engagelab-otp-system$' "$feats"
else
    printf '# authselect is not installed: its own parser was not run\n'
fi

t_summary
