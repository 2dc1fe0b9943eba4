#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/cli/test_doctor.sh - "engagelab-otp doctor": each check with a
# config that breaks it, --json (parsed with python3), --offline and the
# exit codes, the PAM stack reader and sshd's settings.  Runs as root
# (config files must be root-owned); everything lives under $T.
set -u

. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"

t_setup
if [ ! -x "$CLI" ] || [ "$(id -u)" -ne 0 ]; then
    t_fail "engagelab-otp is built and the suite runs as root" "$CLI"
    t_summary
    exit 1
fi
mock_start "$T/mock" >"$T/mock-start.log" 2>&1 || {
    t_fail "mock starts" "$(cat "$T/mock-start.log")"
    t_summary
    exit 1
}
t_on_exit mock_stop

CONF="$T/conf"
write_conf "$CONF" "connect_timeout = 2" "timeout = 3" "deadline = 10"
printf 'root:+6591234567\n' >"$T/users"
chmod 0600 "$T/users"
mkdir -p "$T/state" "$T/pam-empty" "$T/pam" && chmod 0700 "$T/state"
printf 'UsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\nAuthenticationMethods publickey,keyboard-interactive\n' >"$T/sshd-good"

# conf_with FILE LINES... : $CONF with lines replaced or added.
conf_with() {
    local file=$1
    shift
    write_conf "$file" "connect_timeout = 2" "timeout = 3" "deadline = 10" "$@"
}

# doc [--conf FILE] [--pam DIR] [--sshd FILE] ARGS... : run doctor; sets
# OUT, ERR and RC.
doc() {
    local conf=$CONF pam=$T/pam-empty sshd=$T/sshd-good
    while :; do
        case "${1:-}" in
        --conf) conf=$2; shift 2 ;;
        --pam) pam=$2; shift 2 ;;
        --sshd) sshd=$2; shift 2 ;;
        *) break ;;
        esac
    done
    OUT=$(setsid -w timeout 30 "$CLI" -c "$conf" doctor --pam-dir "$pam" \
        --sshd-config "$sshd" "$@" </dev/null 2>"$T/stderr")
    RC=$?
    ERR=$(cat "$T/stderr")
}

# expect NAME RC REGEX : the last doc run exited RC and printed REGEX.
expect() {
    if [ "$RC" -eq "$2" ] && printf '%s\n' "$OUT" | grep -Eq -- "$3"; then
        t_ok "$1"
    else
        t_fail "$1" "rc=$RC (want $2), want /$3/" "$OUT" "$ERR"
    fi
}

# jq_py EXPR : EXPR evaluated with d = the JSON document in $OUT.
jq_py() {
    printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" 2>&1
}

# ---------------------------------------------------------------------------
# --help, a good setup, --json, --offline

doc --help
assert_eq "doctor --help: exit 0" 0 "$RC"
for w in --offline --json --pam-dir --sshd-config "Exit status" "3 the config file"; do
    assert_match "doctor --help documents $w" "$w" "$OUT"
done

doc
assert_eq "good setup: exit 0" 0 "$RC"
assert_no_match "good setup: no FAIL, WARN or SKIP" "^(FAIL|WARN|SKIP)" "$OUT"
for check in "config file" "config keys" "user map" "groups" "ca_file" \
    "state_dir" "PAM stacks: no stack" "directory: not used" "TLS to" \
    "credentials" "template pam-otp" "code shape: template pam-otp sends 6 digits" \
    "alt_templates: not set" "notifications: off"; do
    assert_match "good setup: OK $check" "^OK  $check" "$OUT"
done

doc --json
assert_eq "--json: exit 0" 0 "$RC"
assert_eq "--json: one valid document, every check ok" "True" \
    "$(jq_py 'all(c["status"] == "ok" and c["fix"] is None and c["name"] and c["message"] for c in d["checks"]) and d["exit_status"] == 0 and d["fail"] == 0 and len(d["checks"]) == d["ok"] >= 12')"
assert_eq "--json: the check names" \
    "alt_templates ca_file code_shape config config_file credentials directory groups ldap_insecure notify pam_stack rescue state_dir template tls user_map" \
    "$(jq_py '" ".join(sorted(set(c["name"] for c in d["checks"])))')"

n_before=$(mock_request_count /v1/template-configs)
doc --offline --json
assert_eq "--offline, all well: exit 0" 0 "$RC"
assert_eq "--offline: network checks skipped, the others ok" "True" \
    "$(jq_py 'd["offline"] and sorted(c["name"] for c in d["checks"] if c["status"] == "skip") == ["alt_templates", "code_shape", "directory", "tls"] and d["fail"] == 0 and d["warn"] == 0')"
assert_eq "--offline: no API call" "$n_before" "$(mock_request_count /v1/template-configs)"

doc --offline --bogus
assert_eq "unknown option: exit 2" 2 "$RC"

# ---------------------------------------------------------------------------
# every problem in the config at once; exit 3; the rest still runs

cat >"$T/conf-bad" <<EOF
api_url = $MOCK_URL   # the mock
ca_file = $MOCK_CA
fail_mode = open
timeout = 0
unmapped = allow
template_id = pam-otp
user_map = $T/users
state_dir = $T/state
code_mode = remote # typo
EOF
chmod 0600 "$T/conf-bad"
doc --conf "$T/conf-bad"
expect "unknown key, with its line and the nearest key" 3 '^FAIL config: unknown key at .*conf-bad:3 key=fail_mode hint="did you mean failmode\?"'
expect "bad number, with its line and range" 3 '^FAIL config: timeout at .*conf-bad:4 must be a whole number from 1 to 120'
expect "bad enum, with its line and the valid values" 3 '^FAIL config: bad value for unmapped at .*conf-bad:5 \(valid: deny, ignore\)'
expect "a comment after a value is a comment" 3 '^FAIL config: bad value for code_mode at .*conf-bad:9 \(valid: platform, local\)'
expect "missing dev_key named" 3 '^FAIL config: required key dev_key is not set'
expect "missing dev_secret named too" 3 '^FAIL config: required key dev_secret is not set'
expect "checks that need no broken key still run (user map)" 3 '^OK  user map '
expect "checks that need no broken key still run (state_dir)" 3 '^OK  state_dir '
expect "checks that need no broken key still run (ca_file)" 3 '^OK  ca_file '
expect "the API checks are skipped, saying why" 3 '^SKIP .*(dev_key|timeout)'
assert_match "stderr says the config is not usable" "config file is not usable" "$ERR"
doc --conf "$T/conf-bad" --offline --json
assert_eq "--offline, invalid config: exit 3" 3 "$RC"
assert_eq "--json: 6 config problems, each with a fix" "6 True" \
    "$(jq_py 'len([c for c in d["checks"] if c["name"] == "config" and c["status"] == "fail"]), all(c["fix"] for c in d["checks"] if c["status"] == "fail")' | tr -d '(),')"
assert_eq "--json: exit_status 3" 3 "$(jq_py 'd["exit_status"]')"

cp "$CONF" "$T/conf-0644"; chmod 0644 "$T/conf-0644"
doc --conf "$T/conf-0644" --offline
expect "config mode 0644: exit 3" 3 "^FAIL config file .*mode 0644.*chmod 0600"
expect "config mode 0644: its keys are still checked" 3 "^OK  config keys"
doc --conf "$T/no-such.conf" --offline
expect "missing config: exit 3" 3 "^FAIL config file .*no-such.conf"
expect "missing config: dependent checks skipped" 3 "^SKIP user_map: not checked \(the config file could not be read\)"

# ---------------------------------------------------------------------------
# code shape: code_length/code_type against the template

conf_with "$T/conf-len" "template_id = pam-otp-alpha" "code_length = 6"
doc --conf "$T/conf-len"
expect "code_length 6 vs an 8-character template: FAIL naming both" 1 \
    "^FAIL code shape: template pam-otp-alpha sends 8-character codes \(verify_code_len 8\) but code_length = 6.*set code_length = 8"
conf_with "$T/conf-type" "template_id = pam-otp-alpha" "code_length = 8" "code_type = 1"
doc --conf "$T/conf-type"
expect "code_type 1 vs a letters-and-digits template: FAIL naming both" 1 \
    "^FAIL code shape: template pam-otp-alpha sends codes of digits and letters \(verify_code_type 7\) but code_type = 1 .*set code_type = 7"
conf_with "$T/conf-shape-ok" "code_length = 6" "code_type = 1"
doc --conf "$T/conf-shape-ok"
expect "code_length 6, code_type 1 vs the 6-digit template: OK" 0 "^OK  code shape: template pam-otp sends 6 digits"

# alt_templates: exists, approved, same code shape, channel
conf_with "$T/conf-alt" "code_length = 6" \
    "alt_templates = voice:pam-otp-voice, sms:no-such-tpl, sms:pam-otp-pending, email:pam-otp-alpha, whatsapp:pam-otp"
doc --conf "$T/conf-alt" --json
assert_eq "alt_templates: exit 1" 1 "$RC"
alt=$(jq_py '"\n".join(c["status"] + " " + c["message"] for c in d["checks"] if c["name"] == "alt_templates")')
assert_match "alt_templates: a good one is OK" "^ok alt_templates voice template pam-otp-voice \(Approved" "$alt"
assert_match "alt_templates: a missing one FAILs" "^fail alt_templates sms template no-such-tpl: does not exist" "$alt"
assert_match "alt_templates: a pending one FAILs" "^fail alt_templates sms template pam-otp-pending: Pending review, not Approved" "$alt"
assert_match "alt_templates: another code shape FAILs" "^fail alt_templates email template pam-otp-alpha sends 8-character codes .*code_length = 6" "$alt"
assert_match "alt_templates: a template without the channel WARNs" "^warn alt_templates whatsapp template pam-otp: its channels are sms, not whatsapp" "$alt"

# notify_template: exists, approved, no code, its variables (issue 16)
conf_with "$T/conf-notify" "notify_template = pam-notify"
doc --conf "$T/conf-notify"
expect "notify_template: a notification template is OK, with the params it uses" 0 \
    "^OK  notify_template pam-notify \(Approved, sms, uses user host\)"
doc --conf "$T/conf-notify" --offline
expect "notify_template, --offline: skipped" 0 "^SKIP notify_template pam-notify: not checked \(--offline\)"
conf_with "$T/conf-notify" "notify_template = no-such-tpl"
doc --conf "$T/conf-notify"
expect "notify_template: a missing one FAILs" 1 "^FAIL notify_template no-such-tpl: does not exist"
conf_with "$T/conf-notify" "notify_template = pam-otp-pending"
doc --conf "$T/conf-notify"
expect "notify_template: a pending one FAILs" 1 "^FAIL notify_template pam-otp-pending: Pending review, not Approved"
conf_with "$T/conf-notify" "notify_template = pam-otp"
doc --conf "$T/conf-notify"
expect "notify_template: a verification-code template FAILs" 1 "^FAIL notify_template pam-otp: a verification-code template"

# ---------------------------------------------------------------------------
# groups, the map, CA files, state_dir

conf_with "$T/conf-groups" "only_groups = root, eotp-no-such-a eotp-no-such-b" "exempt_groups = eotp-no-such-c"
doc --conf "$T/conf-groups" --offline
expect "only_groups: each unknown group named" 1 "^FAIL only_groups names unknown groups: eotp-no-such-a, eotp-no-such-b: create the group"
expect "exempt_groups: the unknown group named" 1 "^FAIL exempt_groups names unknown group: eotp-no-such-c: .*break-glass"
assert_no_match "a group that exists is not named" "unknown groups?: root" "$OUT"

cp "$T/users" "$T/users-644"; chmod 0644 "$T/users-644"
conf_with "$T/conf-map644" "user_map = $T/users-644"
doc --conf "$T/conf-map644" --offline
expect "world-readable map: WARN, exit 0" 0 "^WARN user map .*users-644: mode 0644 lets every local user read .*phone number.*chmod 0600"
cp "$T/users" "$T/users-666"; chmod 0666 "$T/users-666"
conf_with "$T/conf-map666" "user_map = $T/users-666"
doc --conf "$T/conf-map666" --offline
expect "world-writable map: FAIL" 1 "^FAIL user map .*users-666: .*chmod 0600"
printf 'root:+6591234567\nbroken line\nalice:not-a-phone\n' >"$T/users-bad"; chmod 0600 "$T/users-bad"
conf_with "$T/conf-mapbad" "user_map = $T/users-bad"
doc --conf "$T/conf-mapbad" --offline
expect "malformed map lines: FAIL with their numbers" 1 "^FAIL user map .*2 malformed lines \(line 2, 3\)"

cp "$MOCK_CA" "$T/ca-ww.pem"; chmod 0666 "$T/ca-ww.pem"
conf_with "$T/conf-caww" "ca_file = $T/ca-ww.pem"
doc --conf "$T/conf-caww" --offline
expect "world-writable ca_file: FAIL naming the file and the reason" 1 "^FAIL ca_file .*ca-ww.pem: .*(writ|mode 0666).*chown root:root"
cp "$MOCK_CA" "$T/ca-nobody.pem"; chmod 0644 "$T/ca-nobody.pem"; chown nobody "$T/ca-nobody.pem"
conf_with "$T/conf-canobody" "ca_file = $T/ca-nobody.pem"
doc --conf "$T/conf-canobody" --offline
expect "ca_file not owned by root: FAIL" 1 "^FAIL ca_file .*ca-nobody.pem: .*(owner|owned|uid)"
printf 'not a certificate\n' >"$T/not-pem"
conf_with "$T/conf-ldapca" "ldap_ca_file = $T/not-pem"
doc --conf "$T/conf-ldapca" --offline
expect "ldap_ca_file without PEM: FAIL" 1 "^FAIL ldap_ca_file .*not-pem: no PEM certificate"
conf_with "$T/conf-nopem" "ca_file = $T/not-pem"
doc --conf "$T/conf-nopem" --offline
expect "ca_file without PEM: FAIL (offline)" 1 "^FAIL ca_file .*not-pem: no PEM certificate"

# ldap_insecure: plain LDAP to another host is allowed, and doctor says so.
conf_with "$T/conf-insecure" "ldap_insecure = yes"
doc --conf "$T/conf-insecure" --offline
expect "ldap_insecure = yes: WARN" 0 "^WARN ldap_insecure = yes: .*clear text"

mkdir -p "$T/state-755"; chmod 0755 "$T/state-755"
conf_with "$T/conf-state" "state_dir = $T/state-755"
doc --conf "$T/conf-state" --offline
expect "state_dir mode 0755: FAIL" 1 "^FAIL state_dir .*mode 0755.*chmod 0700"

# ---------------------------------------------------------------------------
# PAM stacks

# stack NAME LINES... : a stack file in a fresh $T/p.N directory; sets P.
PN=0
newdir() { PN=$((PN + 1)); P=$T/p.$PN; mkdir -p "$P"; }
stack() { local name=$1; shift; printf '%s\n' "$@" >"$P/$name"; }
M=$MODULE

newdir
stack other "auth required $M" "auth required pam_permit.so"
doc --pam "$P" --offline
expect "required + pam_permit, no way to ignore a user: OK" 0 "^OK  PAM stack other: the module at other:1 \(required\)"
conf_with "$T/conf-ign" "unmapped = ignore"
doc --conf "$T/conf-ign" --pam "$P" --offline
expect "required + pam_permit with unmapped = ignore: WARN PAM_IGNORE ends in success" 0 \
    "^WARN PAM stack other: PAM_IGNORE ends in success: a user the module skips \(unmapped = ignore\)"
stack other "auth required $M exempt_groups=root" "auth required pam_permit.so"
doc --pam "$P" --offline
expect "an argument that exempts users counts too" 0 "^WARN PAM stack other: PAM_IGNORE ends in success: .*\(exempt_groups\)"
stack other "auth requisite pam_unix.so" "auth required $M" "auth required pam_permit.so"
doc --conf "$T/conf-ign" --pam "$P" --offline
expect "a password module first: PAM_IGNORE does not end in success alone" 0 "^OK  PAM stack other"

newdir
stack jump "auth [success=1 default=ignore] $M" "auth required pam_permit.so"
stack suff "auth sufficient $M" "auth required pam_permit.so"
stack opt "auth required pam_unix.so" "auth optional $M"
stack debian "auth requisite pam_unix.so nullok" "auth [success=1 default=ignore] $M" "auth requisite pam_deny.so" "auth required pam_permit.so"
stack alt "auth [success=2 default=ignore] pam_unix.so" "auth [success=1 default=ignore] $M" "auth requisite pam_deny.so" "auth required pam_permit.so"
stack badarg "auth required $M failmod=open"
stack acct "auth required $M" "account required $M"
stack nomod "auth required pam_unix.so"
doc --pam "$P" --offline --json
assert_eq "bad stacks: exit 1" 1 "$RC"
pam=$(jq_py '"\n".join(c["status"] + " " + c["message"] for c in d["checks"] if c["name"] == "pam_stack")')
assert_match "[success=1 default=ignore] + pam_permit: a wrong code ends in success" "^fail PAM stack jump: a wrong code still ends in success \(the module at jump:1, control \[success=1 default=ignore\]\)" "$pam"
assert_match "[success=1 default=ignore] + pam_permit: and the right code fails" "^warn PAM stack jump: fails even with the right code" "$pam"
assert_match "sufficient + pam_permit: FAIL" "^fail PAM stack suff: a wrong code still ends in success" "$pam"
assert_match "optional: FAIL" "^fail PAM stack opt: a wrong code still ends in success .*control optional" "$pam"
assert_match "Debian's common-auth shape: OK" "^ok PAM stack debian: the module at debian:2" "$pam"
assert_match "a password that jumps over the module: FAIL" "^fail PAM stack alt: a wrong code still ends in success" "$pam"
assert_match "a bad module argument: FAIL with the nearest key" '^fail PAM stack badarg: unknown key at module argument key=failmod hint="did you mean failmode\?" at badarg:1' "$pam"
assert_match "account line naming the module: FAIL" "^fail PAM stack acct: account at acct:2 names the module" "$pam"
assert_no_match "a stack without the module is not reported" "PAM stack nomod" "$pam"
assert_eq "every pam_stack FAIL has a fix" "True" "$(jq_py 'all(c["fix"] for c in d["checks"] if c["status"] in ("fail", "warn"))')"

# includes: @include, include, substack, comments, continuation lines
newdir
stack common-auth "# comment" "auth requisite pam_unix.so" "auth required $M \\" "    params=host=%h  # note"
stack sudo "@include common-auth"
stack login "auth include common-auth"
stack su "auth substack common-auth" "auth required pam_permit.so"
doc --pam "$P" --offline
for s in common-auth login su sudo; do
    expect "stack $s through includes: module found at common-auth:3" 0 "^OK  PAM stack $s: the module at common-auth:3 \(required\)"
done

# The shipped sample stacks, with Debian's common-auth after
# "pam-auth-update --enable engagelab-otp" (Auth-Type: Additional).
newdir
stack common-auth "auth [success=1 default=ignore] pam_unix.so nullok" \
    "auth requisite pam_deny.so" "auth required pam_permit.so" \
    "auth required pam_engagelab_otp.so"
cp "$TOP_DIR/conf/pam/sshd-publickey-otp" "$P/sshd"
cp "$TOP_DIR/conf/pam/sudo" "$P/sudo"
cp "$TOP_DIR/conf/pam/login" "$P/login"
doc --pam "$P" --sshd "$TOP_DIR/conf/sshd_config-otp.conf" --offline
for s in common-auth sshd sudo; do
    expect "sample stack $s: OK" 1 "^OK  PAM stack $s: .*a wrong code fails the login"
done
expect "sample sshd_config: OK" 1 "^OK  sshd \("
# The module's line in each sample, wherever a comment moves it.
mline() { grep -n '^auth.*pam_engagelab_otp\.so' "$1" | head -n 1 | cut -d: -f1; }
expect "sample login: its break-glass group is checked (argument groups)" 1 \
    "^FAIL PAM stack login: the module's arguments at login:$(mline "$P/login") name unknown groups: eotp-breakglass"
sed -i 's/^#auth   required    pam_permit.so/auth required pam_permit.so/' "$P/sshd"
doc --conf "$T/conf-ign" --pam "$P" --sshd "$TOP_DIR/conf/sshd_config-otp.conf" --offline
expect "sample sshd with pam_permit and unmapped = ignore: OK behind publickey" 1 "^OK  PAM stack sshd: the module at sshd:$(mline "$P/sshd")"

newdir
doc --pam "$P" --offline
expect "no stack uses the module: OK" 0 "^OK  PAM stacks: no stack in .* uses pam_engagelab_otp.so"
doc --pam "$T/no-such-dir" --offline
expect "an unreadable PAM directory: WARN" 0 "^WARN PAM stacks: cannot read .*no-such-dir"

# sshd's settings
newdir
stack sshd "auth required $M" "auth required pam_permit.so"
printf 'UsePAM yes\nKbdInteractiveAuthentication no\nPasswordAuthentication no\n' >"$T/sshd-nokbd"
doc --pam "$P" --sshd "$T/sshd-nokbd" --offline
expect "sshd: keyboard-interactive off: WARN" 0 "^WARN sshd \(.*sshd-nokbd\): KbdInteractiveAuthentication no"
printf 'UsePAM no\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\n' >"$T/sshd-nopam"
doc --pam "$P" --sshd "$T/sshd-nopam" --offline
expect "sshd: UsePAM no: WARN" 0 "^WARN sshd .*UsePAM no"
printf 'UsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication yes\n' >"$T/sshd-pw"
doc --pam "$P" --sshd "$T/sshd-pw" --offline
expect "sshd: PasswordAuthentication yes: WARN" 0 "^WARN sshd .*PasswordAuthentication yes: sshd's password method answers the code prompt"
stack sshd "auth required pam_unix.so" "auth optional $M"
doc --pam "$P" --sshd "$T/sshd-pw" --offline
expect "sshd: PasswordAuthentication yes with a stack that skips the code: WARN" 1 "^WARN sshd .*PasswordAuthentication yes with a stack that skips the code"
printf 'UsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication yes\nAuthenticationMethods publickey,keyboard-interactive\nMatch User x\n  PasswordAuthentication no\n' >"$T/sshd-am"
stack sshd "auth required $M" "auth required pam_permit.so"
doc --conf "$T/conf-ign" --pam "$P" --sshd "$T/sshd-am" --offline
expect "sshd: AuthenticationMethods without password: no password warning" 0 "^OK  sshd \("
expect "sshd: publickey in every AuthenticationMethods list: PAM_IGNORE is not flagged" 0 "^OK  PAM stack sshd"
mkdir -p "$T/sshd.d"; printf 'PasswordAuthentication no\n' >"$T/sshd.d/10.conf"
printf 'Include %s/sshd.d/*.conf\nUsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication yes\nMatch User x\n  UsePAM no\n' "$T" >"$T/sshd-inc"
doc --pam "$P" --sshd "$T/sshd-inc" --offline
expect "sshd: Include followed (the first value wins), Match blocks ignored" 0 "^OK  sshd \(.*sshd-inc\): UsePAM yes"
doc --conf "$T/conf-ign" --pam "$P" --sshd "$T/sshd-pw" --offline
expect "sshd: without publickey first, PAM_IGNORE + pam_permit is flagged" 0 "^WARN PAM stack sshd: PAM_IGNORE ends in success"

t_summary
