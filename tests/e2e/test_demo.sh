#!/usr/bin/env bash
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
assert_no_match "no temp dir left behind" . "$(find /tmp -maxdepth 1 -name 'eotp-demo.*' -newer "$TOP_DIR/tests/demo.sh" 2>/dev/null)"
t_summary
