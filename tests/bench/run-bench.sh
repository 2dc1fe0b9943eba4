#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make bench: the figures of docs/benchmarks.md (issue 7).  Not a test and not
# part of make check: it prints one table line per figure, with its target
# and whether it was met, and writes them to $BUILD/bench-summary.txt.
#
#   1. login overhead     median wall time of a full login through libpam
#                         and the module against the mock (one process per
#                         login, like sshd), next to curl_floor making the
#                         same two HTTPS calls with bare libcurl, and
#                         floor_module.so (those calls as a bare PAM
#                         module in the same harness: libpam's share), and
#                         the module with libcurl preloaded (lazy binding)
#   2. concurrency        100 logins at once, 200 ms injected API latency
#   3. scale              lookup of the last user of a 1,000,000-line map;
#                         and of one user among 100,000 in a local slapd
#   4. memory             RSS growth over 10,000 logins in one process,
#                         from the 1,000th login on (exact RSS)
#   5. timeout bound      API black-holed: the login ends within timeout+10%
#   6. SMPP transport     a local-code login over SMPP (TLS, plaintext)
#                         against one over HTTPS, interleaved, same run
#
# Knobs: BENCH_N (logins per median, 31), BENCH_CONC (100), BENCH_MEM_N
# (10000), BENCH_MAP_LINES (1000000), BENCH_LDAP_USERS (100000; 0 skips).
# Needs root (the config must be root-owned), python3, and for the LDAP
# figure slapd and ldap-utils.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"

N=${BENCH_N:-31}
CONC=${BENCH_CONC:-100}
MEM_N=${BENCH_MEM_N:-10000}
# RSS growth is measured after a tenth of the logins: the first few hundred
# logins still settle the allocator (and then RSS stays flat).
MEM_WARM=$((MEM_N / 10))
MAP_LINES=${BENCH_MAP_LINES:-1000000}
LDAP_USERS=${BENCH_LDAP_USERS:-100000}
SUMMARY=${BENCH_SUMMARY:-$BUILD/bench-summary.txt}
BL="$BUILD/tests/bench_login"
CF="$BUILD/tests/curl_floor"
FM="$BUILD/tests/floor_module.so"
LK="$BUILD/tests/bench_lookup"
FAKEPW="$BUILD/tests/fakepw.so"
# The libcurl the module links: preloaded for one figure, so that libpam's
# dlopen(RTLD_NOW) finds it already loaded and bound lazily, as a module
# that loaded its HTTP part only when needed would have it.
LIBCURL=$(ldd "$MODULE" 2>/dev/null | awk '$1 ~ /^libcurl/ {print $3}')
PHONE=+6581234567

for p in "$MODULE" "$HARNESS" "$BL" "$CF" "$FM" "$LK" "$FAKEPW" "$LIBCURL"; do
    [ -e "$p" ] || { echo "run-bench: $p missing (make bench-programs)" >&2; exit 1; }
done

t_setup
t_on_exit mock_stop
: >"$SUMMARY"

say() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }
# row BENCHMARK FIGURE TARGET VERDICT
row() {
    printf '| %-40s | %-44s | %-22s | %-4s |\n' "$1" "$2" "$3" "$4" |
        tee -a "$SUMMARY"
}
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# ms_since START: milliseconds (3 decimals) since $EPOCHREALTIME START.
ms_since() { awk -v s="$1" -v e="$EPOCHREALTIME" 'BEGIN {printf "%.3f", (e-s)*1000}'; }
verdict() { awk "BEGIN { exit !($1) }" && echo yes || echo NO; }
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
say "# make bench  $(date -u +%Y-%m-%dT%H:%MZ)  commit $(git -C "$TOP_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')"
say "# machine: $(nproc) CPU(s), ${cpu:-unknown CPU}, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, Linux $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null)"
say "# libcurl $(curl-config --version 2>/dev/null | cut -d' ' -f2), $(openssl version 2>/dev/null | cut -d' ' -f1-2), mock: tests/mock/mock_engagelab.py on 127.0.0.1 (TLS)"
say ""
row "benchmark" "figure" "target" "met"
row "----------------------------------------" "--------------------------------------------" "----------------------" "----"

mock_start "$T/mock" >/dev/null || { echo "run-bench: mock did not start" >&2; exit 1; }
{
    printf 'daemon:%s\n' "$PHONE"
    for i in $(seq 0 $((CONC - 1))); do
        printf 'eotpbench%d:+6590000%03d\n' "$i" "$i"
    done
} >"$T/users"
chmod 0644 "$T/users"
mkdir -p "$T/pam.d"
write_conf "$T/conf" send_limit=off rhost_send_limit=off
printf 'auth required %s conf=%s\n' "$MODULE" "$T/conf" >"$T/pam.d/bench"
printf 'auth required %s url=%s ca=%s key=test-key secret=test-secret to=%s template=pam-otp\n' \
    "$FM" "$MOCK_URL" "$MOCK_CA" "$PHONE" >"$T/pam.d/floor"

# timed_login USER TO: one login in its own process, nothing else in the
# timed part (no pipe, no subshell); sets LOGIN_MS and RES.
timed_login() {
    local s=$EPOCHREALTIME
    LD_PRELOAD="${PRE:+$PRE }${LD_PRELOAD:-}" "$HARNESS" --confdir "$T/pam.d" --service "${SVC:-bench}" --user "$1" \
        --outbox "$MOCK_OUTBOX" --to "$2" -- @code >"$T/login.out" 2>&1
    LOGIN_MS=$(ms_since "$s")
    RES=$(sed -n 's/^RESULT: //p' "$T/login.out" | tail -n 1)
}
# timed_floor [ARGS]: the same two calls with curl_floor; sets FLOOR_MS.
timed_floor() {
    local s=$EPOCHREALTIME
    floor_login "$@" >"$T/floor.out" 2>&1 || bad=$((bad + 1))
    FLOOR_MS=$(ms_since "$s")
}
floor_login() {
    "$CF" --url "$MOCK_URL" --ca "$MOCK_CA" --key test-key \
        --secret test-secret --to "$PHONE" --template pam-otp \
        --outbox "$MOCK_OUTBOX" "$@"
}

# ---- 1. login overhead ---------------------------------------------------------

# overhead ROUNDS: ROUNDS (+3 warm-up) rounds of module, module with
# libcurl preloaded, PAM floor and curl floor one after the other; sets
# mod, pre, pfl, flo (medians, ms).
overhead() {
    local i
    : >"$T/mod.ms"
    : >"$T/pre.ms"
    : >"$T/pfl.ms"
    : >"$T/floor.ms"
    for i in $(seq 1 $(($1 + 3))); do
        timed_login daemon "$PHONE"
        [ "$RES" = PAM_SUCCESS ] || bad=$((bad + 1))
        [ "$i" -gt 3 ] && echo "$LOGIN_MS" >>"$T/mod.ms"
        PRE=$LIBCURL timed_login daemon "$PHONE"
        [ "$RES" = PAM_SUCCESS ] || bad=$((bad + 1))
        [ "$i" -gt 3 ] && echo "$LOGIN_MS" >>"$T/pre.ms"
        SVC=floor timed_login daemon "$PHONE"
        [ "$RES" = PAM_SUCCESS ] || bad=$((bad + 1))
        [ "$i" -gt 3 ] && echo "$LOGIN_MS" >>"$T/pfl.ms"
        timed_floor
        [ "$i" -gt 3 ] && echo "$FLOOR_MS" >>"$T/floor.ms"
    done
    mod=$(median <"$T/mod.ms")
    pre=$(median <"$T/pre.ms")
    pfl=$(median <"$T/pfl.ms")
    flo=$(median <"$T/floor.ms")
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }

mockctl reset >/dev/null
bad=0
overhead "$N"
ratio=$(ratio "$mod" "$flo")
row "1. login, one process per login (median)" "module ${mod} ms, curl floor ${flo} ms" "" ""
row "   module / curl floor" "ratio ${ratio} (n=$N, failed logins: $bad)" "<= 1.10" "$(verdict "$ratio <= 1.10 && $bad == 0")"
row "   PAM floor: the calls as a bare module" "${pfl} ms = $(ratio "$pfl" "$flo") x curl floor (libpam's share)" "(figure)" ""
row "   module / PAM floor (module's own cost)" "ratio $(ratio "$mod" "$pfl")" "(figure)" ""
row "   module, libcurl preloaded (lazy binding)" "${pre} ms = $(ratio "$pre" "$flo") x curl floor" "(figure)" ""
# The same with 20 ms of latency on every API answer (a nearby region):
# the fixed local work weighs against a realistic network instead of
# loopback.
mockctl reset >/dev/null
mockctl fault slow --delay-ms 20 --count $((8 * (N + 3))) >/dev/null
overhead "$N"
mockctl reset >/dev/null
ratio=$(ratio "$mod" "$flo")
row "   same, 20 ms API latency" "module ${mod} ms, floor ${flo} ms: ratio ${ratio}" "<= 1.10" "$(verdict "$ratio <= 1.10 && $bad == 0")"
row "   same, module / PAM floor" "${mod} ms / ${pfl} ms: ratio $(ratio "$mod" "$pfl")" "(figure)" ""
out=$("$BL" --confdir "$T/pam.d" --service bench --outbox "$MOCK_OUTBOX" \
    --user daemon --to "$PHONE" --repeat 200 2>&1 | tail -n 1)
fout=$(floor_login --repeat 200 | tail -n 1)
m2=$(field median_ms "$out")
f2=$(field median_ms "$fout")
r2=$(awk -v a="$m2" -v b="$f2" 'BEGIN {printf "%.3f", a/b}')
row "   200 logins in a row in one process" "module ${m2} ms, floor ${f2} ms, ratio ${r2}" "(for comparison)" ""

# ---- 2. concurrency --------------------------------------------------------------

state_ok() {
    # Every record well formed, no temp file left behind.
    python3 - "$T/state" <<'PY'
import os, sys
d = sys.argv[1]
bad = []
for n in os.listdir(d) if os.path.isdir(d) else []:
    p = os.path.join(d, n)
    if n.endswith(".tmp"):
        bad.append(n)
    elif n.endswith(".lock") or n.startswith("+"):
        continue
    else:
        t = open(p, encoding="ascii", errors="replace").read()
        if not (t.startswith("version=") and t.endswith("end=\n")):
            bad.append(n)
print("ok" if not bad else "corrupt: " + " ".join(bad[:5]))
PY
}
delay=200
one=()
for i in 1 2 3; do
    mockctl reset >/dev/null
    mockctl fault slow --delay-ms "$delay" --count 2 >/dev/null
    LD_PRELOAD=$FAKEPW timed_login eotpbench0 +6590000000
    one+=("$LOGIN_MS")
done
t1=$(printf '%s\n' "${one[@]}" | median)
mockctl reset >/dev/null
rm -rf "$T/state"
mockctl fault slow --delay-ms "$delay" --count $((2 * CONC)) >/dev/null
pids=()
s=$EPOCHREALTIME
for i in $(seq 0 $((CONC - 1))); do
    LD_PRELOAD=$FAKEPW "$HARNESS" --confdir "$T/pam.d" --service bench \
        --user "eotpbench$i" --outbox "$MOCK_OUTBOX" \
        --to "$(printf '+6590000%03d' "$i")" -- @code >"$T/conc.$i" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p"
done
tc=$(ms_since "$s")
okc=$(cat "$T"/conc.* | grep -c '^RESULT: PAM_SUCCESS')
st=$(state_ok)
rc=$(awk -v a="$tc" -v b="$t1" 'BEGIN {printf "%.2f", a/b}')
row "2. one login, 200 ms API latency" "${t1} ms (median of 3)" "" ""
row "   $CONC logins at once, one process each" "${tc} ms = ${rc} x one; ${okc}/$CONC ok; state $st" "<= 2x, all ok" \
    "$(verdict "$rc <= 2 && $okc == $CONC")"
# The same with curl_floor: what the machine allows any libcurl program
# (process start-up and TLS handshakes on 2 CPUs, the mock included).
one=()
for i in 1 2 3; do
    mockctl reset >/dev/null
    mockctl fault slow --delay-ms "$delay" --count 2 >/dev/null
    timed_floor
    one+=("$FLOOR_MS")
done
f1=$(printf '%s\n' "${one[@]}" | median)
mockctl reset >/dev/null
mockctl fault slow --delay-ms "$delay" --count $((2 * CONC)) >/dev/null
pids=()
s=$EPOCHREALTIME
for i in $(seq 0 $((CONC - 1))); do
    "$CF" --url "$MOCK_URL" --ca "$MOCK_CA" --key test-key --secret test-secret \
        --to "$(printf '+6590000%03d' "$i")" --template pam-otp \
        --outbox "$MOCK_OUTBOX" >"$T/fconc.$i" 2>&1 &
    pids+=($!)
done
okf=0
for p in "${pids[@]}"; do
    wait "$p" && okf=$((okf + 1))
done
tf=$(ms_since "$s")
row "   the same with curl_floor processes" "one: ${f1} ms; $CONC at once: ${tf} ms = $(awk -v a="$tf" -v b="$f1" 'BEGIN {printf "%.2f", a/b}') x one; ${okf}/$CONC ok" "(machine's limit)" ""
mockctl reset >/dev/null
rm -rf "$T/state"
mockctl fault slow --delay-ms "$delay" --count $((2 * CONC)) >/dev/null
out=$(LD_PRELOAD=$FAKEPW "$BL" --confdir "$T/pam.d" --service bench \
    --outbox "$MOCK_OUTBOX" --user-prefix eotpbench --to-prefix +6590000 \
    --threads "$CONC" 2>&1 | tail -n 1)
tt=$(field wall_ms "$out")
okt=$(field ok "$out")
st=$(state_ok)
rt=$(awk -v a="$tt" -v b="$t1" 'BEGIN {printf "%.2f", a/b}')
row "   $CONC logins at once, threads of one process" "${tt} ms = ${rt} x one; ${okt}/$CONC ok; state $st" "<= 2x, all ok" \
    "$(verdict "$rt <= 2 && $okt == $CONC")"

# ---- 3. scale: user map ------------------------------------------------------------

awk -v n="$MAP_LINES" 'BEGIN {for (i = 0; i < n; i++) printf "user%07d:+6591%07d\n", i, i}' >"$T/map.big"
head -n 10 "$T/map.big" >"$T/map.small"
chmod 0644 "$T/map.big" "$T/map.small"
write_conf "$T/conf.big" "user_map=$T/map.big"
write_conf "$T/conf.small" "user_map=$T/map.small"
big=$("$LK" "$T/conf.big" "$(printf 'user%07d' $((MAP_LINES - 1)))" 20)
small=$("$LK" "$T/conf.small" user0000009 20)
lm=$(field median_ms "$big")
rb=$(field maxrss_kb "$big")
rs=$(field maxrss_kb "$small")
row "3. user map, $MAP_LINES lines: last user" "$lm ms (median of 20)" "<= 50 ms" "$(verdict "$lm <= 50")"
row "   peak RSS, big map vs 10-line map" "$rb KiB vs $rs KiB ($(($(printf '%s' "$rb") - rs)) KiB)" "flat (< 1 MiB more)" \
    "$(verdict "$rb - $rs < 1024")"
rm -f "$T/map.big"

# ---- 3b. scale: LDAP ------------------------------------------------------------------

ldap_row() {
    local SL="$T/slapd" base="dc=example,dc=org" port pid i
    if [ "$LDAP_USERS" -eq 0 ] || [ ! -x /usr/sbin/slapd ] || ! command -v slapadd >/dev/null 2>&1; then
        row "3b. LDAP, $LDAP_USERS users" "skipped (no slapd/ldap-utils or 0)" "(figure)" ""
        return
    fi
    mkdir -p "$SL/db"
    cat >"$SL/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $SL/slapd.pid
database mdb
maxsize 4294967296
suffix "$base"
rootdn "cn=admin,$base"
rootpw admin-secret
directory $SL/db
index objectClass eq
index uid eq
access to * by * read
CONF
    {
        printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n' "$base"
        printf 'dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n' "$base"
        awk -v n="$LDAP_USERS" -v b="$base" 'BEGIN {
            for (i = 0; i < n; i++)
                printf "dn: uid=ldapuser%06d,ou=people,%s\nobjectClass: inetOrgPerson\nuid: ldapuser%06d\ncn: u%d\nsn: u%d\nmobile: +6592%06d\n\n", i, b, i, i, i, i }'
    } >"$SL/seed.ldif"
    s=$EPOCHREALTIME
    if ! /usr/sbin/slapadd -q -f "$SL/slapd.conf" -l "$SL/seed.ldif" >"$SL/slapadd.log" 2>&1; then
        row "3b. LDAP, $LDAP_USERS users" "slapadd failed (see $SL/slapadd.log)" "(figure)" ""
        return
    fi
    local load
    load=$(ms_since "$s")
    port=$(free_port)
    /usr/sbin/slapd -f "$SL/slapd.conf" -h "ldap://127.0.0.1:$port/" -d 0 >"$SL/slapd.log" 2>&1 &
    pid=$!
    t_on_exit "kill $pid"
    for i in $(seq 1 100); do
        LDAPNOINIT=1 ldapsearch -x -H "ldap://127.0.0.1:$port" -b "" -s base >/dev/null 2>&1 && break
        sleep 0.1
    done
    write_conf "$T/conf.ldap" "user_sources=ldap" "ldap_uri=ldap://127.0.0.1:$port" \
        "ldap_base=ou=people,$base"
    local out lm2
    out=$("$LK" "$T/conf.ldap" "$(printf 'ldapuser%06d' $((LDAP_USERS - 1)))" 20)
    lm2=$(field median_ms "$out")
    row "3b. LDAP, $LDAP_USERS users in slapd (uid indexed)" "$lm2 ms per lookup (median of 20; found=$(field found "$out"))" "(figure)" ""
    say "#    (slapadd of $LDAP_USERS entries: ${load} ms; lookup = connect + anonymous bind + search + unbind)"
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
ldap_row

# ---- 4. memory --------------------------------------------------------------------------

mockctl reset >/dev/null
rm -rf "$T/state"
out=$("$BL" --confdir "$T/pam.d" --service bench --outbox "$MOCK_OUTBOX" \
    --user daemon --to "$PHONE" --repeat "$MEM_N" --warmup "$MEM_WARM" 2>&1 | tail -n 1)
f=$(field rss_first_kb "$out")
w=$(field rss_warm_kb "$out")
e=$(field rss_end_kb "$out")
g=$((e - w))
row "4. $MEM_N logins in one process: RSS" "$w KiB after $MEM_WARM, $e KiB at the end: $g KiB over the last $((MEM_N - MEM_WARM)) ($(field ok "$out") ok)" "< 64 KiB growth" \
    "$(verdict "$g < 64 && $(field failed "$out") == 0")"
row "   the first $MEM_WARM logins" "$f KiB after the first login: $((w - f)) KiB more after $MEM_WARM" "(figure)" ""
row "   time per login in that process" "$(field median_ms "$out") ms (median)" "(figure)" ""

# ---- 5. timeout bound ----------------------------------------------------------------------

write_conf "$T/conf.to" send_limit=off timeout=2 connect_timeout=1
printf 'auth required %s conf=%s\n' "$MODULE" "$T/conf.to" >"$T/pam.d/bench-to"
mockctl reset >/dev/null
mockctl fault blackhole >/dev/null
SVC=bench-to timed_login daemon "$PHONE"
tb=$LOGIN_MS
res=$RES
row "5. API black-holed, timeout = 2 s" "login ended after ${tb} ms with $res" "<= 2200 ms" \
    "$(verdict "$tb <= 2200 && \"$res\" == \"PAM_AUTHINFO_UNAVAIL\"")"
write_conf "$T/conf.to" send_limit=off timeout=10 connect_timeout=5 deadline=3
mockctl reset >/dev/null
mockctl fault blackhole >/dev/null
SVC=bench-to timed_login daemon "$PHONE"
tb=$LOGIN_MS
res=$RES
row "   same, timeout = 10 s but deadline = 3 s" "login ended after ${tb} ms with $res" "<= 3300 ms" \
    "$(verdict "$tb <= 3300 && \"$res\" == \"PAM_AUTHINFO_UNAVAIL\"")"
mockctl reset >/dev/null

# ---- 6. SMPP transport against HTTPS (issue 15) ---------------------------------------------

# One login with code_mode = local over each transport, one process per
# login, interleaved in the same rounds: HTTPS (/v1/codes to the mock
# API) against SMPP over TLS and in plaintext (tests/smpp/mock_smpp.py,
# same certificate).  The flow is the same; only the delivery differs.
smpp_row() {
    local name port pids=() i
    printf 's3cret\n' >"$T/smpp.pw"
    chmod 0600 "$T/smpp.pw"
    : >"$T/smpp.outbox"
    for name in tls plain; do
        rm -f "$T/smpp-$name.port"
        python3 "$TESTS_DIR/smpp/mock_smpp.py" --port-file "$T/smpp-$name.port" \
            --outbox "$T/smpp.outbox" \
            $([ "$name" = tls ] && printf -- '--cert %s --key %s' \
                "$MOCK_DIR/certs/server.pem" "$MOCK_DIR/certs/server.key") \
            >"$T/smpp-$name.log" 2>&1 &
        t_on_exit "kill $!"
        for i in $(seq 1 100); do
            [ -s "$T/smpp-$name.port" ] && break
            sleep 0.1
        done
    done
    write_conf "$T/conf.https" send_limit=off rhost_send_limit=off code_mode=local
    for name in tls plain; do
        port=$(cat "$T/smpp-$name.port" 2>/dev/null)
        write_conf "$T/conf.smpp-$name" send_limit=off rhost_send_limit=off \
            code_mode=local transport=smpp smpp_host=127.0.0.1 \
            "smpp_port=$port" smpp_system_id=eotp-test \
            "smpp_password_file=$T/smpp.pw" \
            "smpp_tls=$([ "$name" = tls ] && echo yes || echo no)"
    done
    for name in https smpp-tls smpp-plain; do
        printf 'auth required %s conf=%s\n' "$MODULE" "$T/conf.$name" >"$T/pam.d/b-$name"
        : >"$T/$name.ms"
    done
    mockctl reset >/dev/null
    rm -rf "$T/state"
    bad=0
    for i in $(seq 1 $((N + 3))); do
        SVC=b-https timed_login daemon "$PHONE"
        [ "$RES" = PAM_SUCCESS ] || bad=$((bad + 1))
        [ "$i" -gt 3 ] && echo "$LOGIN_MS" >>"$T/https.ms"
        for name in smpp-tls smpp-plain; do
            MOCK_OUTBOX="$T/smpp.outbox" SVC=b-$name timed_login daemon "$PHONE"
            [ "$RES" = PAM_SUCCESS ] || bad=$((bad + 1))
            [ "$i" -gt 3 ] && echo "$LOGIN_MS" >>"$T/$name.ms"
        done
    done
    local h t p
    h=$(median <"$T/https.ms")
    t=$(median <"$T/smpp-tls.ms")
    p=$(median <"$T/smpp-plain.ms")
    row "6. login, code_mode = local, by transport" "HTTPS ${h} ms, SMPP+TLS ${t} ms (n=$N, failed: $bad)" "(figure)" ""
    row "   SMPP+TLS / HTTPS" "ratio $(ratio "$t" "$h")" "(figure)" ""
    row "   SMPP plaintext (smpp_tls = no)" "${p} ms = $(ratio "$p" "$h") x HTTPS" "(figure)" ""
}
if [ -e /usr/include/libsmpp34/smpp34.h ]; then
    smpp_row
else
    row "6. login over SMPP" "skipped (built without libsmpp34)" "(figure)" ""
fi

say ""
say "# reproduce: make bench   (summary: $SUMMARY)"
