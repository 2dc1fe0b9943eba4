#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The manual pages: every packaging/man/*.[58] is clean under
# "mandoc -T lint -W warning", and the pages cannot fall behind the code:
#   - every key of the table in src/core/cfg.c is documented in
#     pam_engagelab_otp.conf(5) (".It Cm KEY"), and every key documented
#     there exists;
#   - every row of the outcome table in src/core/err.c (reason word, PAM
#     code, governed by failmode or not) is in pam_engagelab_otp(8);
#   - every key appears, with its default or an example, in the sample
#     config conf/pam_engagelab_otp.conf ("#KEY = ...");
#   - every reason word of err.c is named in the README's guide to logs
#     and alerts, so an operator's alert rules can cover all of them.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/e2e/clients.sh"
need mandoc python3
t_setup

MAN="$TOP_DIR/packaging/man"
n=0
for page in "$MAN"/*.[58]; do
    [ -e "$page" ] || continue
    n=$((n + 1))
    out=$(mandoc -T lint -W warning "$page" 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
        t_ok "mandoc lint: $(basename "$page")"
    else
        t_fail "mandoc lint: $(basename "$page")" "$out"
    fi
done
for want in pam_engagelab_otp.8 pam_engagelab_otp.conf.5; do
    if [ -e "$MAN/$want" ]; then t_ok "$want exists"; else t_fail "$want exists"; fi
done

# cfg.c's key table: {"name", KT_TYPE, ...} between "keys[] = {" and "};".
python3 - "$TOP_DIR/src/core/cfg.c" >"$T/keys" <<'EOF'
import re, sys
src = open(sys.argv[1]).read()
m = re.search(r'static const struct key keys\[\]\s*=\s*\{(.*?)\n\};', src, re.S)
for name in re.findall(r'\{\s*"([a-z0-9_]+)"\s*,\s*KT_', m.group(1) if m else ''):
    print(name)
EOF
nkeys=$(wc -l <"$T/keys")
if [ "$nkeys" -ge 10 ]; then
    t_ok "read $nkeys keys from cfg.c"
else
    t_fail "read the key table of cfg.c" "found $nkeys keys"
fi

CONF5="$MAN/pam_engagelab_otp.conf.5"
SAMPLE="$TOP_DIR/conf/pam_engagelab_otp.conf"
missing_man=
missing_sample=
while read -r key; do
    grep -Eq "^\\.It Cm $key( |\$)" "$CONF5" || missing_man="$missing_man $key"
    grep -Eq "^#$key = [^ ]" "$SAMPLE" || missing_sample="$missing_sample $key"
done <"$T/keys"
assert_eq "every config key is documented in pam_engagelab_otp.conf(5)" "" "$missing_man"
assert_eq "every config key is in the sample config" "" "$missing_sample"

stale=
for key in $(sed -n 's/^\.It Cm \([a-z0-9_]*\) No = .*/\1/p' "$CONF5"); do
    grep -qx "$key" "$T/keys" || stale="$stale $key"
done
assert_eq "pam_engagelab_otp.conf(5) documents no key that does not exist" "" "$stale"

stale=
for key in $(sed -n 's/^#\([a-z0-9_]*\) = .*/\1/p' "$SAMPLE"); do
    grep -qx "$key" "$T/keys" || stale="$stale $key"
done
assert_eq "the sample config shows no key that does not exist" "" "$stale"

# err.c's table: {EOTP_x, "reason", "text" ..., PAM_CODE, true|false}.
python3 - "$TOP_DIR/src/core/err.c" >"$T/outcomes" <<'EOF'
import re, sys
src = open(sys.argv[1]).read()
m = re.search(r'static const struct err_entry table\[\]\s*=\s*\{(.*?)\n\};', src, re.S)
row = re.compile(r'\{\s*EOTP_\w+\s*,\s*"([a-z_]+)"\s*,\s*(?:"(?:[^"\\]|\\.)*"\s*)+,\s*(PAM_\w+)\s*,\s*(true|false)\s*\}')
for reason, pam, service in row.findall(m.group(1) if m else ''):
    print(reason, pam, service)
EOF
nrows=$(wc -l <"$T/outcomes")
if [ "$nrows" -ge 10 ]; then
    t_ok "read $nrows outcomes from err.c"
else
    t_fail "read the outcome table of err.c" "found $nrows rows"
fi
MAN8="$MAN/pam_engagelab_otp.8"
bad=
while read -r reason pam service; do
    if [ "$service" = true ]; then
        want="^\\.It Li $reason No \\\\\\(-> Dv $pam Pq failmode\$"
    else
        want="^\\.It Li $reason No \\\\\\(-> Dv $pam\$"
    fi
    grep -Eq "$want" "$MAN8" || bad="$bad $reason:$pam:$service"
done <"$T/outcomes"
assert_eq "every outcome of err.c is in pam_engagelab_otp(8) with its PAM code and failmode" "" "$bad"

# The README's "Logs and alerts" section, up to the next "###" heading.
sed -n '/^### [0-9]*\.* *Logs and alerts/,/^###* [^L]/p' "$TOP_DIR/README.md" >"$T/alerts"
unnamed=
while read -r reason _; do
    grep -Eq "(\`|reason=)$reason\`" "$T/alerts" || unnamed="$unnamed $reason"
done <"$T/outcomes"
assert_match "the README has a section on logs and alerts" 'BYPASSED' "$(cat "$T/alerts")"
assert_eq "every reason word of err.c is in the README's logs and alerts section" "" "$unnamed"

# ldap_base: the code requires it with user_sources = ldap (cfg.c); the
# man page and the sample config must both say so, and give no default.
man_base=$(sed -n '/^\.It Cm ldap_base /,/^\.It /p' "$CONF5")
sample_base=$(grep -B2 '^#ldap_base = ' "$SAMPLE")
assert_match "conf(5): ldap_base required with ldap" 'Required when' "$man_base"
assert_match "sample config: ldap_base required with ldap" 'Required when user_sources names ldap' "$sample_base"
assert_no_match "sample config: no default claimed for ldap_base" 'Default' "$sample_base"

t_summary
