#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's first command runs the demo: check that it logs in through
# pamtester (real libpam + pam_wrapper) with the code typed in, and that
# a wrong code is refused.
set -u
. "$(dirname "$0")/../lib.sh"
T=
out=$(DEMO_AUTO=1 BUILD="$BUILD" timeout 90 "$TOP_DIR/tests/demo.sh" 2>&1)
rc=$?
assert_eq "demo logs in with the delivered code" 0 "$rc"
assert_match "pamtester reports success" 'pamtester: successfully authenticated' "$out"
assert_match "the prompt names channel and masked number" 'Code sent by SMS to \+65\*{6}67: ' "$out"
assert_match "the phone shows the code" '\[phone \+6581234567\] pam-otp via sms: your code is [0-9]{6}' "$out"
demo_dir=$(printf '%s\n' "$out" | sed -n 's|.*PAM service: *\(/tmp/eotp-demo\.[^/]*\)/.*|\1|p' | head -n 1)
if [ -n "$demo_dir" ] && [ ! -e "$demo_dir" ]; then
    t_ok "the demo's temp dir is removed"
else
    t_fail "the demo's temp dir is removed" "dir: '$demo_dir'"
fi
t_summary
