#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/cli/test_cli.sh - the admin tool engagelab-otp against the mock API.
#
# Every command's success and failure paths, with outcomes read from the
# mock (its outbox, request log and state), never hard-coded.  Runs as
# root (config files must be root-owned); everything lives under $T.
set -u

. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"

t_setup
if [ ! -x "$CLI" ]; then
    t_fail "engagelab-otp is built" "missing: $CLI"
    t_summary
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    t_fail "suite runs as root" "config files must be root-owned"
    t_summary
    exit 1
fi

mock_start "$T/mock" >"$T/mock-start.log" 2>&1 || {
    t_fail "mock starts" "$(cat "$T/mock-start.log")"
    t_summary
    exit 1
}
t_on_exit mock_stop

PHONE=+6591234567     # root's destination
PHONE2=+6598765432    # alice's
CONF="$T/conf"
# Short timeouts so that network failures are quick.
write_conf "$CONF" "connect_timeout = 2" "timeout = 3" "deadline = 10"
printf '# test map\nroot:%s\nalice:%s,alice@example.com\n' "$PHONE" "$PHONE2" >"$T/users"
chmod 0644 "$T/users"
mkdir -p "$T/state" && chmod 0700 "$T/state"

# run [--conf FILE] ARGS... : the tool without a controlling terminal and
# with stdin from /dev/null (or $STDIN); sets OUT, ERR and RC.
run() {
    local conf=$CONF
    if [ "${1:-}" = "--conf" ]; then
        conf=$2
        shift 2
    fi
    OUT=$(setsid -w timeout 20 "$CLI" -c "$conf" "$@" <"${STDIN:-/dev/null}" 2>"$T/stderr")
    RC=$?
    ERR=$(cat "$T/stderr")
}

# conf_with FILE LINES... : a config like $CONF with lines replaced/added.
conf_with() {
    local file=$1
    shift
    write_conf "$file" "connect_timeout = 2" "timeout = 3" "deadline = 10"
    local kv key
    for kv in "$@"; do
        key=${kv%%=*}
        key=${key% }
        grep -v "^$key " "$file" >"$file.tmp"
        printf '%s\n' "$kv" >>"$file.tmp"
        mv "$file.tmp" "$file"
    done
    chmod 0600 "$file"
}

json_ok() { printf '%s' "$1" | python3 -m json.tool >/dev/null 2>&1; }

# py EXPR: evaluate a Python expression with json/sys loaded.
py() { python3 -c "import json,sys,hmac,hashlib,time; print($1)"; }

outbox_last() { # outbox_last DEST FIELD : FIELD of the last delivery to DEST
    python3 - "$MOCK_OUTBOX" "$1" "$2" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = [r for r in rows if r.get("to") == sys.argv[2]]
v = rows[-1].get(sys.argv[3], "") if rows else ""
print(json.dumps(v) if isinstance(v, (dict, list)) else v)
EOF
}

tpl_count() { mock_request_count /v1/template-configs; }

# ---------------------------------------------------------------------------
# global options, help, exact command names

OUT=$("$CLI" --help 2>&1); RC=$?
assert_eq "--help exits 0" 0 "$RC"
assert_match "--help lists the commands" "templates.*" "$OUT"
missing=""
for c in send send-code verify message lookup doctor test callback; do
    printf '%s' "$OUT" | grep -q "^  $c " || missing="$missing $c"
done
assert_eq "--help lists every command" "" "$missing"
# The verbs --help names for templates are the real ones ("get", not "show").
verbs=$(printf '%s\n' "$OUT" | sed -n 's/^  templates *\(.*\) OTP templates$/\1/p' | sed 's/,//g; s/ and / /')
assert_match "--help names the templates verbs" "list get create delete" "$verbs"
bad=""
for v in $verbs; do
    "$CLI" templates "$v" --help >/dev/null 2>&1 || bad="$bad $v"
done
assert_eq "every templates verb in --help exists" "" "$bad"
OUT=$("$CLI" --version); RC=$?
assert_match "--version prints the version" "^engagelab-otp [0-9]+\.[0-9]+" "$OUT"
"$CLI" >/dev/null 2>&1; assert_eq "no command: exit 2" 2 "$?"
run frobnicate; assert_eq "unknown command: exit 2" 2 "$RC"
assert_match "unknown command is named" "unknown command 'frobnicate'" "$ERR"
run templ list; assert_eq "no prefix matching of commands" 2 "$RC"
run templates del pam-otp --yes; assert_eq "no prefix matching of 'delete'" 2 "$RC"
assert_eq "template still there after 'del'" 0 "$(run templates get pam-otp; echo $RC)"
bad=""
for c in templates send send-code verify message lookup doctor test callback; do
    run "$c" --help
    if [ "$RC" -ne 0 ] || ! printf '%s' "$OUT" | grep -q "^Usage: engagelab-otp $c"; then
        bad="$bad $c"
    fi
done
assert_eq "every command has its own --help (exit 0, stdout)" "" "$bad"
run help verify; assert_match "help COMMAND" "^Usage: engagelab-otp verify" "$OUT"
run send +6591234567 --bogus; assert_eq "unknown option: exit 2" 2 "$RC"
assert_match "unknown option: hint names the command" "Try 'engagelab-otp send --help'" "$ERR"

# ---------------------------------------------------------------------------
# config problems: exit 3

cp "$CONF" "$T/conf-0644"; chmod 0644 "$T/conf-0644"
run --conf "$T/conf-0644" templates list
assert_eq "config mode 0644: exit 3" 3 "$RC"
assert_match "config mode is explained" "0644" "$ERR"
run --conf "$T/nonexistent.conf" templates list
assert_eq "missing config: exit 3" 3 "$RC"

# ---------------------------------------------------------------------------
# templates list

n_before=$(tpl_count)
run templates list
assert_eq "templates list: exit 0" 0 "$RC"
assert_match "list shows Approved" "^pam-otp +sms +Approved " "$OUT"
assert_match "list shows Pending review" "^pam-otp-pending +sms +Pending review " "$OUT"
assert_match "list shows Rejected and the remark" "^pam-otp-rejected +sms +Rejected .*content not compliant" "$OUT"
assert_eq "list made one API call" $((n_before + 1)) "$(tpl_count)"
run templates list --json
assert_eq "templates list --json: exit 0" 0 "$RC"
if json_ok "$OUT"; then t_ok "list --json is valid JSON"; else t_fail "list --json is valid JSON" "$OUT"; fi
want=$(mockctl state | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)["templates"]))')
got=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(sorted(t["template_id"] for t in json.load(sys.stdin)))')
assert_eq "list --json has the mock's templates" "$want" "$got"
assert_eq "list --json: nothing on stderr" "" "$ERR"
run templates list extra; assert_eq "list takes no arguments" 2 "$RC"

# ---------------------------------------------------------------------------
# templates get

run templates get pam-otp
assert_eq "templates get: exit 0" 0 "$RC"
assert_match "get shows the status" "^status: 2 \(Approved\)" "$OUT"
assert_match "get shows nested fields" "^sms_config.template_custom_config.custom_content: .*\{\{code\}\}" "$OUT"
run templates get pam-otp-pending
assert_match "get: pending template" "^status: 1 \(Pending review\)" "$OUT"
run templates get pam-otp --json
if json_ok "$OUT"; then t_ok "get --json is valid JSON"; else t_fail "get --json is valid JSON" "$OUT"; fi
assert_eq "get --json is the template" "pam-otp 2" "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["template_id"], d["status"])')"
run templates get no-such-template
assert_eq "get unknown template: exit 5" 5 "$RC"
assert_match "get unknown: code and message" "API error 4001: config not exist" "$ERR"
assert_match "get unknown: hint" "hint: no such template" "$ERR"
run templates get --json no-such-template
assert_eq "get --json unknown: stdout empty" "" "$OUT"

# ---------------------------------------------------------------------------
# templates create: local validation (nothing is sent)

mkdir -p "$T/tpl"
python3 - "$T/tpl" <<'EOF'
import json, os, sys
d = sys.argv[1]
base = {
    "template_id": "cli-json-1", "description": "created by test_cli",
    "send_channel_strategy": "sms", "brand_name": "CliTest",
    "verify_code_config": {"verify_code_type": 1, "verify_code_len": 6, "verify_code_ttl": 5},
    "sms_config": {"template_type": 2, "template_custom_config": {
        "custom_sub_type": "authentication", "custom_content": "Code {{code}}"}},
}
def put(name, obj):
    with open(os.path.join(d, name + ".json"), "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj, indent=2))
def variant(name, fn):
    b = json.loads(json.dumps(base)); fn(b); put(name, b)
put("good", base)
put("syntax", '{\n  "template_id": "x",\n  "send_channel_strategy": "sms",\n}\n')
variant("id_empty", lambda b: b.update(template_id=""))
variant("id_long", lambda b: b.update(template_id="a" * 129))
variant("strategy", lambda b: b.update(send_channel_strategy="sms|fax"))
variant("email_mix", lambda b: b.update(send_channel_strategy="email|sms"))
variant("no_channel_cfg", lambda b: b.update(send_channel_strategy="whatsapp|sms"))
variant("brand_short", lambda b: b.update(brand_name="X"))
variant("brand_long", lambda b: b.update(brand_name="ABCDEFGHIJK"))
variant("type_0", lambda b: b["verify_code_config"].update(verify_code_type=0))
variant("type_8", lambda b: b["verify_code_config"].update(verify_code_type=8))
variant("len_3", lambda b: b["verify_code_config"].update(verify_code_len=3))
variant("len_11", lambda b: b["verify_code_config"].update(verify_code_len=11))
variant("len_str", lambda b: b["verify_code_config"].update(verify_code_len="6"))
variant("ttl_0", lambda b: b["verify_code_config"].update(verify_code_ttl=0))
variant("ttl_11", lambda b: b["verify_code_config"].update(verify_code_ttl=11))
def wa_ttl(b):
    b["send_channel_strategy"] = "whatsapp|sms"
    b["whatsapp_config"] = {"template_type": 1, "template_default_config":
                            {"contain_security": False, "contain_expire": True}}
    b["verify_code_config"]["verify_code_ttl"] = 3
variant("wa_ttl", wa_ttl)
variant("no_code", lambda b: b["sms_config"]["template_custom_config"].update(custom_content="Your code"))
variant("read_only", lambda b: b.update(status=2))
variant("unknown", lambda b: b.update(brand="x"))
EOF
cat >"$T/tpl/expect" <<'EOF'
syntax (JSON): syntax error near line 4
id_empty template_id: must be 1 to 128 characters
id_long template_id: must be 1 to 128 characters (it has 129)
strategy send_channel_strategy: unknown channel 'fax'
email_mix send_channel_strategy: email cannot be combined
no_channel_cfg whatsapp_config: is required because the strategy includes whatsapp
brand_short brand_name: must be 2 to 10 characters
brand_long brand_name: must be 2 to 10 characters
type_0 verify_code_config.verify_code_type: must be an integer from 1 to 7
type_8 verify_code_config.verify_code_type: must be an integer from 1 to 7
len_3 verify_code_config.verify_code_len: must be an integer from 4 to 10
len_11 verify_code_config.verify_code_len: must be an integer from 4 to 10
len_str verify_code_config.verify_code_len: must be an integer
ttl_0 verify_code_config.verify_code_ttl: must be an integer from 1 to 10
ttl_11 verify_code_config.verify_code_ttl: must be an integer from 1 to 10
wa_ttl verify_code_config.verify_code_ttl: must be 1, 5 or 10 when whatsapp
no_code sms_config.template_custom_config.custom_content: an authentication SMS must contain {{code}}
read_only status: is set by the service
unknown brand: unknown field
EOF
n_before=$(tpl_count)
while read -r name msg; do
    run templates create "$T/tpl/$name.json"
    if [ "$RC" -eq 2 ] && printf '%s' "$ERR" | grep -qF -- "invalid template: $msg"; then
        t_ok "create refuses $name locally (exit 2, names the field)"
    else
        t_fail "create refuses $name locally (exit 2, names the field)" "rc=$RC" "stderr: $ERR" "want: $msg"
    fi
done <"$T/tpl/expect"
assert_eq "refused bodies were never sent" "$n_before" "$(tpl_count)"
run templates create "$T/tpl/missing.json"
assert_eq "create: unreadable file: exit 2" 2 "$RC"

# templates create: success, duplicate, stdin, flag form
run templates create "$T/tpl/good.json"
assert_eq "create from a file: exit 0" 0 "$RC"
assert_match "create reports Pending review" "cli-json-1 created; status: Pending review" "$OUT"
run templates get cli-json-1 --json
assert_eq "created template is pending at the service" "1 Code {{code}}" \
    "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["sms_config"]["template_custom_config"]["custom_content"])')"
run templates create "$T/tpl/good.json"
assert_eq "create duplicate: exit 5" 5 "$RC"
assert_match "create duplicate: service code" "API error 3003" "$ERR"
sed 's/cli-json-1/cli-json-stdin/' "$T/tpl/good.json" >"$T/tpl/stdin.json"
STDIN="$T/tpl/stdin.json" run templates create -
assert_eq "create from stdin: exit 0" 0 "$RC"
assert_eq "stdin template exists" 0 "$(run templates get cli-json-stdin; echo $RC)"
run templates create --id cli-flags --channels 'whatsapp,sms' --sms-text 'Login code {{code}}' \
    --code-length 8 --ttl 5 --brand Flags --code-type 3 --description 'flag form'
assert_eq "create (flag form): exit 0" 0 "$RC"
run templates get cli-flags --json
assert_eq "flag form body reached the service" "whatsapp|sms 8 3 Login code {{code}} Flags" \
    "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); v=d["verify_code_config"]; print(d["send_channel_strategy"], v["verify_code_len"], v["verify_code_type"], d["sms_config"]["template_custom_config"]["custom_content"], d["brand_name"])')"
n_before=$(tpl_count)
run templates create --id cli-flags2 --channels sms --code-length 12 --ttl 5 --brand Flags
assert_eq "flag form: out-of-range length: exit 2" 2 "$RC"
assert_match "flag form: message names the option" "\(--code-length\): verify_code_config.verify_code_len" "$ERR"
run templates create --id cli-flags2 --channels whatsapp --code-length 6 --ttl 7 --brand Flags
assert_match "flag form: whatsapp ttl rule" "\(--ttl\).*1, 5 or 10" "$ERR"
run templates create --id cli-flags2 --channels sms --code-length 6 --ttl 5
assert_eq "flag form: missing --brand: exit 2" 2 "$RC"
run templates create --id cli-flags2 --channels voice --sms-text 'x {{code}}' --code-length 6 --ttl 5 --brand AB
assert_eq "flag form: --sms-text without sms: exit 2" 2 "$RC"
run templates create "$T/tpl/good.json" --id x
assert_eq "create: FILE and options together: exit 2" 2 "$RC"
assert_eq "refused flag forms were never sent" "$n_before" "$(tpl_count)"

# ---------------------------------------------------------------------------
# templates delete

run templates delete cli-json-stdin
assert_eq "delete without a terminal and without --yes: exit 2" 2 "$RC"
assert_match "delete refusal explains --yes" "not a terminal.*--yes" "$ERR"
assert_eq "refused delete kept the template" 0 "$(run templates get cli-json-stdin; echo $RC)"
OUT=$(printf 'n\n' | timeout 20 script -qefc "$CLI -c $CONF templates delete cli-json-stdin" /dev/null 2>&1); RC=$?
assert_eq "delete answered 'n' on a terminal: exit 1" 1 "$RC"
assert_match "delete asks on the terminal" "Delete template cli-json-stdin\?" "$OUT"
assert_eq "'n' kept the template" 0 "$(run templates get cli-json-stdin; echo $RC)"
OUT=$(printf 'y\n' | timeout 20 script -qefc "$CLI -c $CONF templates delete cli-json-stdin" /dev/null 2>&1); RC=$?
assert_eq "delete answered 'y' on a terminal: exit 0" 0 "$RC"
run templates get cli-json-stdin
assert_eq "'y' deleted the template (4001 now)" 5 "$RC"
run templates delete cli-json-1 --yes
assert_eq "delete --yes: exit 0" 0 "$RC"
assert_match "delete --yes reports it" "template cli-json-1 deleted" "$OUT"
assert_eq "deleted template is gone" "False" "$(mockctl state | python3 -c 'import json,sys; print("cli-json-1" in json.load(sys.stdin)["templates"])')"
run templates delete cli-json-1 --yes
assert_eq "delete unknown: exit 5" 5 "$RC"
assert_match "delete unknown: 4001" "API error 4001" "$ERR"

# ---------------------------------------------------------------------------
# send, send-code, verify, message

run send "$PHONE" --param foo=bar
assert_eq "send: exit 0" 0 "$RC"
mid=$(printf '%s' "$OUT" | sed -n 's/^message_id: //p')
assert_eq "send: message_id equals the outbox's" "$(outbox_last "$PHONE" message_id)" "$mid"
assert_match "send: channel printed" "^channel: sms$" "$OUT"
assert_eq "send: --param reached the template" '{"foo": "bar"}' "$(outbox_last "$PHONE" params)"
assert_match "send: message_id is the long decimal string" "^[0-9]{19}$" "$mid"
code=$(mock_code "$PHONE")
wrong=$(py "'$code'[:-1] + str((int('$code'[-1]) + 1) % 10)")
run verify "$mid" "$wrong"
assert_eq "verify wrong code: exit 1" 1 "$RC"
assert_match "verify wrong code: reason" "not verified: wrong code" "$OUT"
STDIN=<(printf '%s\n' "$code") run verify "$mid" -
assert_eq "verify (code on stdin, echo off path): exit 0" 0 "$RC"
assert_eq "verify: prints verified" "verified" "$OUT"
assert_eq "the code never appears in the output" "" "$(printf '%s%s' "$OUT" "$ERR" | grep -F "$code")"
run verify "$mid" "$code"
assert_eq "verify a used code: exit 1" 1 "$RC"
assert_match "verify used: 3003 and the reason" "API error 3003" "$ERR"
assert_match "verify used: says expired or used" "expired or was already used" "$OUT"
run verify 1725407449000000001 123456
assert_eq "verify unknown message id: exit 1" 1 "$RC"
assert_match "verify unknown: 4001" "API error 4001" "$ERR"
assert_match "verify unknown: reason on stdout" "unknown message id" "$OUT"
run verify 'not an id' 123456
assert_eq "verify malformed message id: exit 2" 2 "$RC"

run send "$PHONE2" --lang en
assert_eq "send --lang en: exit 0" 0 "$RC"
assert_eq "send --lang reached the service" "en" "$(outbox_last "$PHONE2" language)"
mid2=$(printf '%s' "$OUT" | sed -n 's/^message_id: //p')
run send "$PHONE2"
assert_eq "send again within the TTL: exit 5" 5 "$RC"
assert_match "send again: 3004 with a hint" "API error 3004.*" "$ERR"
mockctl clock 600 >/dev/null
run verify "$mid2" "$(mock_code "$PHONE2")"
assert_eq "verify an expired code: exit 1" 1 "$RC"
assert_match "verify expired: 3003" "API error 3003: code expired" "$ERR"

run send "$PHONE" --lang xx
assert_eq "send --lang xx: exit 2" 2 "$RC"
run send 12345
assert_eq "send to a non-destination: exit 2" 2 "$RC"
run send +6591110001 --template no-such-template
assert_eq "send unknown template: exit 5" 5 "$RC"
assert_match "send unknown template: 4001 + hint" "API error 4001.*" "$ERR"
run send +6591110002 --template pam-otp-pending
assert_eq "send pending template: exit 5" 5 "$RC"
assert_match "send pending template: 3003" "API error 3003" "$ERR"
run send +10000000001
assert_eq "send invalid number: exit 5" 5 "$RC"
assert_match "send invalid number: 5011 and hint" "5011.*hint: the phone number is not valid" "$(printf '%s' "$ERR" | tr '\n' ' ')"
run send +6591110003 --param novalue
assert_eq "send --param without =: exit 2" 2 "$RC"

run send-code +6591110004 246810 --param a=b
assert_eq "send-code: exit 0" 0 "$RC"
assert_eq "send-code: the code was delivered" "246810" "$(mock_code +6591110004)"
assert_eq "send-code: message_id equals the outbox's" "$(outbox_last +6591110004 message_id)" "$(printf '%s' "$OUT" | sed -n 's/^message_id: //p')"
assert_eq "send-code: used /v1/codes" "/v1/codes" "$(outbox_last +6591110004 endpoint)"
STDIN=<(printf '135790\n') run send-code +6591110005 -
assert_eq "send-code with the code on stdin: exit 0" 0 "$RC"
assert_eq "send-code stdin: code delivered" "135790" "$(mock_code +6591110005)"
run send-code +6591110006 'bad code'
assert_eq "send-code with a space in the code: exit 2" 2 "$RC"

run message +6591110007 +6591110008 --template pam-notify --param host=web1 --param user=alice
assert_eq "message to two: exit 0" 0 "$RC"
mmid=$(printf '%s' "$OUT" | sed -n 's/^message_id: //p')
assert_eq "message: message_id equals the outbox's" "$(outbox_last +6591110008 message_id)" "$mmid"
assert_eq "message: both recipients got it" "$mmid" "$(outbox_last +6591110007 message_id)"
assert_match "message: params filled in" "New login to web1 as alice" "$(outbox_last +6591110007 text)"
run message +6591110009
assert_eq "message without --template: exit 2" 2 "$RC"
run message +6591110009 --template pam-otp
assert_eq "message with a code template and no code: exit 5" 5 "$RC"
assert_match "message: service error shown" "API error 3002" "$ERR"

# ---------------------------------------------------------------------------
# credentials and network failures

conf_with "$T/conf-disabled" "dev_key = disabled-key"
run --conf "$T/conf-disabled" templates list
assert_eq "disabled key: exit 5" 5 "$RC"
assert_match "disabled key: 2002 and hint" "API error 2002" "$ERR"
conf_with "$T/conf-badsecret" "dev_secret = wrong-secret"
run --conf "$T/conf-badsecret" send "$PHONE"
assert_eq "wrong secret: exit 5" 5 "$RC"
assert_match "wrong secret: hint names dev_key/dev_secret" "hint: check dev_key and dev_secret" "$ERR"
assert_no_match "the secret is never printed" "wrong-secret|test-secret" "$OUT$ERR"

mockctl fault reset --count 1 >/dev/null
run templates list
assert_eq "connection reset: exit 4" 4 "$RC"
mockctl fault garbage --count 1 >/dev/null
run templates list --json
assert_eq "garbage answer: exit 5" 5 "$RC"
assert_eq "garbage answer: nothing on stdout" "" "$OUT"
mockctl fault status500 --count 1 >/dev/null
run send +6591110010
assert_eq "HTTP 500: exit 5" 5 "$RC"
assert_match "HTTP 500: code 1000" "API error 1000" "$ERR"
mockctl fault control_chars --count 1 >/dev/null
run templates list
assert_no_match "server text is sanitised" $'\x1b' "$ERR"
mockctl fault blackhole --count 1 >/dev/null
start=$(date +%s)
run templates list
assert_eq "blackholed server: exit 4 (timeout)" 4 "$RC"
if [ $(( $(date +%s) - start )) -le 8 ]; then
    t_ok "blackhole: gave up within the timeout"
else
    t_fail "blackhole: gave up within the timeout"
fi
conf_with "$T/conf-otherca" "ca_file = $MOCK_DIR/certs/other-ca.pem"
run --conf "$T/conf-otherca" templates list
assert_eq "wrong CA: exit 4" 4 "$RC"
assert_match "wrong CA: TLS hint" "hint: check api_url and ca_file" "$ERR"

# ---------------------------------------------------------------------------
# lookup

run lookup alice
assert_eq "lookup: exit 0" 0 "$RC"
assert_match "lookup masks the phone" "^destination: \+65\*+32 \(phone, primary\)" "$OUT"
assert_no_match "lookup never shows the full number" "${PHONE2/+/\\+}" "$OUT"
assert_match "lookup names the source" "^source: map $T/users line 3" "$OUT"
run lookup alice --show
assert_match "lookup --show shows the number" "^destination: \\$PHONE2 \(phone, primary\)" "$OUT"
assert_match "lookup --show: second destination" "^destination: alice@example.com \(email, alternative\)" "$OUT"
run lookup nobody-here
assert_eq "lookup unmapped user: exit 1" 1 "$RC"
cp "$T/users" "$T/users-ww"; chmod 0666 "$T/users-ww"
conf_with "$T/conf-ww" "user_map = $T/users-ww"
run --conf "$T/conf-ww" lookup alice
assert_eq "lookup with a world-writable map: exit 3" 3 "$RC"

# ---------------------------------------------------------------------------
# doctor

# (tests/cli/test_doctor.sh tests doctor in depth; PAM stacks from an
# empty directory here, so that the machine's own /etc/pam.d is not read.)
mkdir -p "$T/pam-empty"
run doctor --pam-dir "$T/pam-empty"
assert_eq "doctor on a good setup: exit 0" 0 "$RC"
assert_eq "doctor: 16 results, all OK but the world-readable map" "16 1 0" "$(printf '%s\n' "$OUT" | grep -c '^OK  ') $(printf '%s\n' "$OUT" | grep -c '^WARN user map') $(printf '%s\n' "$OUT" | grep -c '^FAIL ')"
missing=""
for check in "config file" "config keys" "user map" "directory: not used" "ca_file" "TLS to" "credentials" "template pam-otp" "state_dir" "groups" "code shape" "PAM stacks" "notifications: off" "rescue codes"; do
    printf '%s\n' "$OUT" | grep -q "^OK  $check" || missing="$missing [$check]"
done
assert_eq "doctor names every check" "" "$missing"

doctor_fail() { # doctor_fail NAME CONF REGEX [RC]
    run --conf "$2" doctor --pam-dir "$T/pam-empty"
    if [ "$RC" -eq "${4:-1}" ] && printf '%s\n' "$OUT" | grep -Eq -- "$3"; then
        t_ok "doctor: $1"
    else
        t_fail "doctor: $1" "rc=$RC" "$OUT" "$ERR"
    fi
}
doctor_fail "config mode 0644 fails (exit 3)" "$T/conf-0644" "^FAIL config file .*mode 0644.*chmod 0600" 3
conf_with "$T/conf-nokey" "template_id = x"
sed -i '/^template_id/d' "$T/conf-nokey"
doctor_fail "missing required key fails (exit 3)" "$T/conf-nokey" "^FAIL config: required key template_id is not set" 3
printf 'root:%s\nbroken line\nalice:not-a-phone\n' "$PHONE" >"$T/users-bad"; chmod 0644 "$T/users-bad"
conf_with "$T/conf-badmap" "user_map = $T/users-bad"
doctor_fail "malformed map lines fail with line numbers" "$T/conf-badmap" "^FAIL user map .*2 malformed lines \(line 2, 3\)"
doctor_fail "world-writable map fails" "$T/conf-ww" "^FAIL user map .*mode 0666.*chmod 0600"
doctor_fail "wrong CA fails TLS" "$T/conf-otherca" "^FAIL TLS to .*ca_file"
printf 'not a certificate\n' >"$T/not-pem"
conf_with "$T/conf-notpem" "ca_file = $T/not-pem"
doctor_fail "CA file without PEM fails" "$T/conf-notpem" "^FAIL ca_file .*no PEM certificate"
doctor_fail "bad credentials fail" "$T/conf-badsecret" "^FAIL credentials: API error 2001.*dev_key and dev_secret"
conf_with "$T/conf-pending" "template_id = pam-otp-pending"
doctor_fail "pending template fails" "$T/conf-pending" "^FAIL template pam-otp-pending: Pending review"
conf_with "$T/conf-rejected" "template_id = pam-otp-rejected"
doctor_fail "rejected template fails with the remark" "$T/conf-rejected" "^FAIL template pam-otp-rejected: Rejected \(content not compliant\)"
conf_with "$T/conf-notpl" "template_id = no-such-template"
doctor_fail "missing template fails" "$T/conf-notpl" "^FAIL template no-such-template: does not exist"
mkdir -p "$T/state-755"; chmod 0755 "$T/state-755"
conf_with "$T/conf-state" "state_dir = $T/state-755"
doctor_fail "state_dir mode 0755 fails" "$T/conf-state" "^FAIL state_dir .*mode 0755.*chmod 0700"
run --conf "$T/conf-state" doctor
assert_match "doctor: other checks still run" "^OK  template pam-otp" "$OUT"

# ---------------------------------------------------------------------------
# test USER (the module's flow)

# test_with_stdin FEED... : run "test root" with stdin from a FIFO; each FEED
# (a code, or "@code" for the code from the outbox, or "@wrong") is written
# once the send has happened.
test_via_fifo() {
    local fifo=$T/fifo.$RANDOM
    mkfifo "$fifo"
    local before
    before=$(mock_sent_count)
    setsid -w timeout 20 "$CLI" -c "$CONF" test root <"$fifo" >"$T/test.out" 2>"$T/test.err" &
    local pid=$!
    exec 7>"$fifo"
    local c w
    c=$(mock_code "$PHONE" "$before" 10)
    w=$(py "'$c'[:-1] + str((int('$c'[-1]) + 1) % 10)")
    for feed in "$@"; do
        case "$feed" in
        @code) printf '%s\n' "$c" >&7 ;;
        @wrong) printf '%s\n' "$w" >&7 ;;
        *) printf '%s\n' "$feed" >&7 ;;
        esac
    done
    exec 7>&-
    wait "$pid"
    RC=$?
    OUT=$(cat "$T/test.out")
    ERR=$(cat "$T/test.err")
    CODE=$c
    rm -f "$fifo"
}
mockctl reset >/dev/null
test_via_fifo @wrong @code
assert_eq "test USER (stdin, one wrong code first): exit 0" 0 "$RC"
assert_match "test USER: verified" "^result: verified" "$OUT"
assert_match "test USER: masked destination" "^destination: \+65\*+67$" "$OUT"
assert_match "test USER: channel" "^channel: SMS$" "$OUT"
assert_match "test USER: prompted for the code" "Code sent by SMS to \+65\*+67" "$ERR"
assert_match "test USER: said the first code was wrong" "Wrong code\." "$ERR"
assert_eq "test USER: the code is not printed" "" "$(printf '%s%s' "$OUT" "$ERR" | grep -F "$CODE")"
assert_match "test USER: says first that it uses one of the user's sends" \
    "uses one of their sends \(send_limit = [0-9]+/[0-9]+\)" "$(printf '%s\n' "$ERR" | head -n 1)"
mockctl reset >/dev/null
test_via_fifo @wrong @wrong @wrong
assert_eq "test USER: three wrong codes: exit 1" 1 "$RC"
assert_match "test USER: too many wrong codes" "too many wrong codes" "$OUT"
# An answer that is not a code uses an attempt but is never checked nor
# counted toward the lockout: test and state show give the same count.
mockctl reset >/dev/null
"$CLI" -c "$CONF" state reset root >/dev/null 2>&1
test_via_fifo @wrong abc @wrong
assert_match "test USER: wrong codes as state show counts them" "^wrong codes: 2$" "$OUT"
assert_match "test USER: the answer that was not a code is named" "^answers not checked: 1 " "$OUT"
assert_match "state show agrees with test" "wrong codes: 2 in the last" \
    "$("$CLI" -c "$CONF" state show root 2>&1)"
"$CLI" -c "$CONF" state reset root >/dev/null 2>&1
mockctl reset >/dev/null
test_via_fifo
assert_eq "test USER: no answer (end of input): exit 1" 1 "$RC"

# Through a pseudo-terminal: the code is read from /dev/tty with echo off.
mockctl reset >/dev/null
fifo=$T/fifo.pty
mkfifo "$fifo"
before=$(mock_sent_count)
timeout 20 script -qefc "$CLI -c $CONF test root" /dev/null <"$fifo" >"$T/pty.out" 2>&1 &
pid=$!
exec 7>"$fifo"
code=$(mock_code "$PHONE" "$before" 10)
sleep 0.3   # let the prompt turn echo off first
printf '%s\n' "$code" >&7
exec 7>&-
wait "$pid"; RC=$?
OUT=$(tr -d '\r' <"$T/pty.out")
assert_eq "test USER on a terminal: exit 0" 0 "$RC"
assert_match "test USER on a terminal: verified" "result: verified" "$OUT"
assert_eq "test USER on a terminal: echo was off" "" "$(printf '%s' "$OUT" | grep -F "$code")"
rm -f "$fifo"

run test nobody-here
assert_eq "test unmapped/unknown user: exit 1" 1 "$RC"
mockctl reset >/dev/null
mockctl fault reset --count 1 >/dev/null
run test root
assert_eq "test USER with the API unreachable: exit 4" 4 "$RC"

# ---------------------------------------------------------------------------
# callback verify

REF_SIG=404794bf3409ad56077e11dac58f0f1d19e5a3b898b669360fb888a5efe4e729
REF="timestamp=1701234567;nonce=abc123;username=my_user;signature=$REF_SIG"
printf 'my_secret\n' >"$T/cb-secret"; chmod 0600 "$T/cb-secret"
cb() { run callback verify --secret-file "$T/cb-secret" "$@"; }
cb --max-age 0 "$REF"
assert_eq "callback: reference vector is valid (--max-age 0)" "0 valid" "$RC $OUT"
cb "$REF"
assert_eq "callback: old timestamp refused by default: exit 1" 1 "$RC"
assert_match "callback: default max age is 300 s" "stale timestamp.*300" "$OUT"
run callback verify --help
assert_match "callback: help names the default" "default 300" "$OUT"
cb --max-age 0 "X-CALLBACK-ID: timestamp=1701234567; nonce=abc123; username=my_user; signature=$REF_SIG"
assert_eq "callback: header name and spaces accepted" 0 "$RC"
cb --max-age 0 "${REF%?}8"
assert_eq "callback: tampered signature: exit 1" 1 "$RC"
assert_match "callback: tampered signature reason" "invalid: bad signature" "$OUT"
cb --max-age 0 "${REF/abc123/abc124}"
assert_eq "callback: tampered nonce: exit 1" 1 "$RC"
cb "timestamp=1701234567;nonce=abc123;signature=$REF_SIG"
assert_eq "callback: missing username: exit 1" 1 "$RC"
assert_match "callback: missing key named" "username is missing" "$OUT"
cb "$REF;nonce=abc123"
assert_match "callback: duplicate key refused" "nonce given twice" "$OUT"
cb --max-age 300 "$REF"
assert_eq "callback: stale timestamp: exit 1" 1 "$RC"
assert_match "callback: stale reason" "stale timestamp" "$OUT"
now=$(date +%s)
sig=$(py "hmac.new(b'my_secret', b'${now}n1u1', hashlib.sha256).hexdigest()")
cb --max-age 300 "timestamp=$now;nonce=n1;username=u1;signature=$sig"
assert_eq "callback: fresh header within --max-age: exit 0" 0 "$RC"
fut=$((now + 3600))
sig=$(py "hmac.new(b'my_secret', b'${fut}n1u1', hashlib.sha256).hexdigest()")
cb --max-age 300 "timestamp=$fut;nonce=n1;username=u1;signature=$sig"
assert_match "callback: far-future timestamp refused" "timestamp in the future" "$OUT"
chmod 0644 "$T/cb-secret"
cb "$REF"
assert_eq "callback: secret file readable by others: exit 3" 3 "$RC"
chmod 0600 "$T/cb-secret"
run callback verify "$REF"
assert_eq "callback: --secret-file is required: exit 2" 2 "$RC"
run callback check "$REF"
assert_eq "callback: unknown subcommand: exit 2" 2 "$RC"

# ---------------------------------------------------------------------------
# the mock is gone: network failures everywhere

mock_stop
run templates list
assert_eq "mock stopped: templates list exit 4" 4 "$RC"
assert_match "mock stopped: names the problem" "cannot reach the API" "$ERR"
run send "$PHONE"
assert_eq "mock stopped: send exit 4" 4 "$RC"
run doctor
assert_eq "mock stopped: doctor exit 1" 1 "$RC"
assert_match "mock stopped: doctor FAILs TLS" "^FAIL TLS to " "$OUT"

t_summary
