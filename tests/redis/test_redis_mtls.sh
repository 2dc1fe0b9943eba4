#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_redis_mtls.sh - a TLS client certificate for Redis (redis_tls_cert,
# redis_tls_key; issue 13), end to end through the real libpam with
# pam_harness and the HTTPS mock, against a real redis-server run the way
# Redis runs a TLS port by default (tls-auth-clients yes) with its default
# user limited to the module's ACL and no password:
#   - a login works with the certificate alone, sends no AUTH (one round
#     trip fewer than the same login with a password);
#   - no certificate, another CA's, a key open to others or not root's, a
#     key of another certificate: refused, the reason logged, state_dir
#     used (nothing sent for a bad local file), and redis_required refuses;
#     one key without the other is a config error;
#   - a resumed handshake does not read the files; a replaced certificate
#     file forces a full handshake;
#   - a chain file (certificate, then its intermediate), TLS 1.2, and
#     Sentinel (sentinels and master all demanding a certificate);
#   - engagelab-otp doctor's lines for the certificate.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
t_setup

command -v redis-server >/dev/null || { t_fail "redis-server is installed"; t_summary; exit; }
t_on_exit mock_stop
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit; }
. "$TESTS_DIR/redis/redisenv.sh"
redis_start_mtls main || { t_fail "redis-server with tls-auth-clients yes starts"; t_summary; exit; }
redis_start plain || { t_fail "redis-server with a password user starts"; t_summary; exit; }

PHONE=+6581234567
C="$T/redis-certs"
cat >"$T/users" <<MAP
daemon:$PHONE
MAP
chmod 0644 "$T/users"
mkdir -p "$T/pam.d"
printf 'auth required pam_deny.so\n' >"$T/pam.d/other"
printf 'auth required %s conf=%s\n' "$MODULE" "$T/conf" >"$T/pam.d/eotp"

# Our own copies of the client material, so the tests can change them.
cp -p "$C/client.pem" "$T/client.pem"
cp -p "$C/client.key" "$T/client.key"

murl() { printf 'rediss://127.0.0.1:%s' "${REDIS_PORT[${1:-main}]}"; }

# setup [key=value...]: config $T/conf with a fresh state_dir (no cached
# TLS session), debug on, the test CA.
setup() {
    rm -rf "$T/state"
    write_conf "$T/conf" "state_dir=$T/state" "redis_ca_file=$C/ca.pem" debug=yes \
        send_limit=1000/900 rhost_send_limit=1000/900 "$@"
    mockctl reset >/dev/null
}
cert() { printf '%s\n' "redis_tls_cert=${1:-$T/client.pem}" "redis_tls_key=${2:-$T/client.key}"; }
go() { login daemon $PHONE -- @code; }
rtrips() { printf '%s\n' "$OUT" | sed -n 's/.*redis: done round_trips=\([0-9]*\).*/\1/p' | tail -n 1; }
resumed() { printf '%s\n' "$OUT" | sed -n 's/.*redis: TLS node=.* resumed=\([a-z]*\).*/\1/p' | tail -n 1; }
cmds() { redis_cli main INFO stats | tr -d '\r' | sed -n 's/^total_commands_processed://p'; }
warned() { printf '%s\n' "$OUT" | grep -c 'SYSLOG: <4> .*redis: cannot be used, this login uses the host.s state_dir'; }
local_state() { [ -e "$T/state/daemon.state" ]; }
# What reading the counter itself costs (redis-cli's AUTH and INFO).
k0=$(cmds)
k1=$(cmds)
CMDS_COST=$((k1 - k0))

# ---- the certificate alone: in, on Redis, no AUTH ----------------------------------
mapfile -t CERT < <(cert)
setup "redis_url=$(murl)" "${CERT[@]}"
go # loads the script into the server (NOSCRIPT): not counted
redis_cli main FLUSHALL >/dev/null
setup "redis_url=$(murl)" "${CERT[@]}"
redis_cli main CONFIG RESETSTAT >/dev/null
go
auths=$(redis_cli main INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_auth:calls=\([0-9]*\),.*/\1/p')
assert_eq "client certificate, no password: login" PAM_SUCCESS "$RES"
assert_no_match "... Redis used (no fallback)" 'redis: cannot be used' "$OUT"
assert_match "... the certificate was asked for and presented" 'redis: client certificate presented' "$OUT"
if ! local_state; then t_ok "... nothing in state_dir"; else t_fail "... nothing in state_dir"; fi
n=$(redis_cli main DBSIZE)
if [ "${n:-0}" -ge 1 ]; then t_ok "... the state is in Redis ($n keys)"; else t_fail "... the state is in Redis" "$n"; fi
assert_eq "... no AUTH sent (the one counted is redis-cli's own, for INFO)" 1 "$auths"
rt_cert=$(rtrips)

# The same login on a server with a password user: one round trip more (AUTH).
setup "redis_url=$(redis_url plain)"
go
redis_cli plain FLUSHALL >/dev/null
setup "redis_url=$(redis_url plain)"
go
assert_eq "password, no certificate (tls-auth-clients no): login" PAM_SUCCESS "$RES"
rt_pass=$(rtrips)
echo "# round trips per platform login: $rt_cert with the certificate, $rt_pass with a password"
if [ -n "$rt_cert" ] && [ -n "$rt_pass" ] && [ "$rt_cert" -eq $((rt_pass - 1)) ]; then
    t_ok "no AUTH: one round trip fewer ($rt_cert) than with a password ($rt_pass)"
else
    t_fail "no AUTH: one round trip fewer than with a password" "cert=$rt_cert pass=$rt_pass"
fi
if [ -n "$rt_cert" ] && [ "$rt_cert" -le 2 ]; then
    t_ok "a platform login with the certificate waits for $rt_cert round trips (begin, attempt)"
else
    t_fail "a platform login with the certificate waits for at most 2 round trips" "$rt_cert"
fi

# ---- refused: the reason, state_dir, and nothing executed --------------------------
# refused NAME PATTERN [key=value...]: the login goes on with state_dir, one
# warning with a reason matching PATTERN, and the server ran no command.
refused() {
    local name=$1 pat=$2 c0 c1
    shift 2
    setup "redis_url=$(murl)" "$@"
    c0=$(cmds)
    go
    c1=$(cmds)
    assert_eq "$name: the login goes on" PAM_SUCCESS "$RES"
    assert_eq "$name: one warning" 1 "$(warned)"
    assert_match "$name: the reason" "reason=\"[^\"]*$pat" "$OUT"
    if local_state; then t_ok "$name: state_dir used"; else t_fail "$name: state_dir used"; fi
    assert_eq "$name: the server ran no command of ours" $((c0 + CMDS_COST)) "$c1"
}
refused "no certificate configured" 'demands a client certificate .tls-auth-clients. and redis_tls_cert is not set'
mapfile -t OTHER < <(cert "$C/other-client.pem" "$C/other-client.key")
refused "a certificate from another CA" 'did not accept the client certificate of redis_tls_cert' "${OTHER[@]}"

cp -p "$T/client.key" "$T/open.key"
chmod 0640 "$T/open.key"
mapfile -t OPEN < <(cert "$T/client.pem" "$T/open.key")
refused "key readable by the group" 'redis_tls_cert/redis_tls_key cannot be loaded: redis_tls_key refused: .*mode' "${OPEN[@]}"
assert_match "... before any byte of the key is used: not presented" 'TLS failure' "$OUT"
assert_no_match "... no key material in the log" 'PRIVATE KEY|MIG[0-9A-Za-z+/]{20}' "$OUT"
chmod 0604 "$T/open.key"
refused "key readable by others" 'redis_tls_key refused: .*mode' "${OPEN[@]}"
cp -p "$T/client.key" "$T/nobody.key"
chown nobody "$T/nobody.key"
mapfile -t NOBODY < <(cert "$T/client.pem" "$T/nobody.key")
refused "key not root's" 'redis_tls_key refused: .*own' "${NOBODY[@]}"
mapfile -t MISMATCH < <(cert "$T/client.pem" "$C/other-client.key")
refused "key of another certificate" 'redis_tls_key does not match redis_tls_cert' "${MISMATCH[@]}"
printf 'not a certificate\n' >"$T/junk.pem"
mapfile -t JUNK < <(cert "$T/junk.pem" "$T/client.key")
refused "certificate file without PEM" 'redis_tls_cert holds no PEM certificate' "${JUNK[@]}"
cp -p "$T/client.pem" "$T/wr.pem"
chmod 0666 "$T/wr.pem"
mapfile -t WR < <(cert "$T/wr.pem" "$T/client.key")
refused "certificate writable by others" 'redis_tls_cert refused: .*mode' "${WR[@]}"

# redis_required: refuse, even with failmode = open.
for fm in closed open; do
    setup "redis_url=$(murl)" redis_required=yes failmode=$fm
    go
    assert_eq "no certificate, redis_required, failmode=$fm: PAM_AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
    setup "redis_url=$(murl)" redis_required=yes failmode=$fm "${OPEN[@]}"
    go
    assert_eq "a bad key file, redis_required, failmode=$fm: PAM_AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL "$RES"
done

# One of the two keys alone: a configuration error, named.
for one in "redis_tls_cert=$T/client.pem" "redis_tls_key=$T/client.key"; do
    setup "redis_url=$(murl)" "$one"
    go
    assert_match "${one%%=*} alone: refused as a config error" '^PAM_(AUTH_ERR|SERVICE_ERR|AUTHINFO_UNAVAIL)$' "$RES"
    assert_match "... named" 'config: redis_tls_cert and redis_tls_key go together' "$OUT"
    out=$("$CLI" -c "$T/conf" doctor --offline --pam-dir "$T" 2>&1)
    assert_match "... doctor says so too" 'redis_tls_cert and redis_tls_key go together' "$out"
done

# ---- a resumed handshake reads neither file ----------------------------------------
setup "redis_url=$(murl)" "${CERT[@]}"
go
assert_eq "first login: full handshake" "PAM_SUCCESS no" "$RES $(resumed)"
go
assert_eq "second login: resumed" "PAM_SUCCESS yes" "$RES $(resumed)"
assert_no_match "... the server did not ask for the certificate" 'client certificate presented' "$OUT"
# Make both files unusable (modes only: the binding, path and identity of
# the certificate, does not change): a login that read them would fail.
chmod 0644 "$T/client.key"
chmod 0666 "$T/client.pem"
go
assert_eq "files unusable, session cached: still resumed, on Redis" "PAM_SUCCESS yes" "$RES $(resumed)"
assert_no_match "... no warning (the files were not read)" 'redis: cannot be used' "$OUT"
rm -f "$T/state"/+redis-tls-*
go
assert_match "... and without the session the same files are refused" 'reason="redis_tls_cert/redis_tls_key cannot be loaded' "$OUT"
chmod 0600 "$T/client.key"
chmod 0644 "$T/client.pem"

# ---- a replaced certificate file: never resumes the old session --------------------
go
go
assert_eq "(a session is cached)" "PAM_SUCCESS yes" "$RES $(resumed)"
sleep 0.01
cp -p "$T/client.pem" "$T/client.pem.new"
mv -f "$T/client.pem.new" "$T/client.pem"
go
assert_eq "certificate file replaced (new inode): full handshake" "PAM_SUCCESS no" "$RES $(resumed)"
assert_match "... the certificate read and presented again" 'redis: client certificate presented' "$OUT"
go
assert_eq "... then resumed again" "PAM_SUCCESS yes" "$RES $(resumed)"
touch "$T/client.pem"
go
assert_eq "certificate file rewritten in place (new mtime): full handshake" "PAM_SUCCESS no" "$RES $(resumed)"

# ---- a chain file: the certificate, then its intermediate --------------------------
mapfile -t CHAIN < <(cert "$C/chain-client.pem" "$C/chain-client.key")
setup "redis_url=$(murl)" "${CHAIN[@]}"
go
assert_eq "a certificate from an intermediate CA, sent with its chain" PAM_SUCCESS "$RES"
assert_no_match "... on Redis" 'redis: cannot be used' "$OUT"
openssl x509 -in "$C/chain-client.pem" >"$T/leaf-only.pem"
mapfile -t LEAF < <(cert "$T/leaf-only.pem" "$C/chain-client.key")
refused "the same certificate without its intermediate" 'did not accept the client certificate' "${LEAF[@]}"

# ---- TLS 1.2: the refusal comes in the handshake ------------------------------------
redis_start_mtls tls12 "tls-protocols TLSv1.2" || t_fail "redis-server with TLS 1.2 only starts"
setup "redis_url=$(murl tls12)" "${CERT[@]}"
go
assert_eq "TLS 1.2: the certificate alone, login on Redis" PAM_SUCCESS "$RES"
assert_no_match "... no fallback" 'redis: cannot be used' "$OUT"
go
assert_eq "TLS 1.2: resumed" "PAM_SUCCESS yes" "$RES $(resumed)"
setup "redis_url=$(murl tls12)"
go
assert_match "TLS 1.2, no certificate: refused with the reason" 'reason="TLS refused: the server demands a client certificate' "$OUT"
redis_stop tls12

# ---- Sentinel: sentinels and master all demand a certificate ---------------------
# The same SSL_CTX serves every connection: the sentinels are asked with
# the certificate too, then the master (ROLE checked), no password anywhere.
for n in m0 r1 s1 s2 s3; do REDIS_MTLS[$n]=1; done
if redis_sentinel_setup; then
    sents="127.0.0.1:${REDIS_PORT[s1]}, 127.0.0.1:${REDIS_PORT[s2]}, 127.0.0.1:${REDIS_PORT[s3]}"
    setup "redis_sentinels=$sents" redis_master_name=m redis_timeout=1500 "${CERT[@]}"
    go
    assert_eq "sentinels with tls-auth-clients yes: login with the certificate" PAM_SUCCESS "$RES"
    assert_no_match "... on Redis" 'redis: cannot be used' "$OUT"
    assert_eq "... the certificate presented to a sentinel and to the master" 2 \
        "$(printf '%s\n' "$OUT" | grep -c 'redis: client certificate presented')"
    n=$(redis_cli m0 DBSIZE)
    if [ "${n:-0}" -ge 1 ]; then t_ok "... the state is on the master"; else t_fail "... the state is on the master" "$n"; fi
    setup "redis_sentinels=$sents" redis_master_name=m redis_timeout=1500
    go
    assert_match "sentinels, no certificate: refused at the sentinel, with the reason" \
        'redis: cannot be used.*reason="TLS refused: the server demands a client certificate' "$OUT"
    assert_eq "... the login goes on with state_dir" PAM_SUCCESS "$RES"
else
    t_fail "sentinels with tls-auth-clients yes settle"
fi
for n in m0 r1 s1 s2 s3; do redis_stop $n; done

# ---- doctor ------------------------------------------------------------------------------
setup "redis_url=$(murl)" "${CERT[@]}"
out=$("$CLI" -c "$T/conf" doctor --pam-dir "$T" 2>&1)
assert_match "doctor: the certificate, its subject and days left" \
    '^OK  redis: client certificate subject="CN=client,O=pam_engagelab_otp tests" loads, key matches, 0 intermediates, expires in (29|30) days' "$out"
assert_match "doctor: connected, by the certificate (no AUTH)" '^OK  redis: connected to rediss://127\.0\.0\.1:[0-9]+ \(TLS verified, no AUTH: client certificate\)' "$out"
assert_match "doctor: probe keys through the certificate's ACL" '^OK  redis: probe keys written with a TTL' "$out"
assert_no_match "doctor: no Redis failure" '^FAIL redis' "$out"

setup "redis_url=$(murl)" "${CHAIN[@]}"
out=$("$CLI" -c "$T/conf" doctor --pam-dir "$T" 2>&1)
assert_match "doctor: a chain file counts its intermediate" 'client certificate subject="CN=chain-client,[^"]*" loads, key matches, 1 intermediate,' "$out"

# A certificate that expires in 5 days: a WARN, logins still fine.
openssl req -new -key "$T/client.key" -subj "/CN=short-lived" -out "$T/short.csr" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >"$T/short.ext"
openssl x509 -req -in "$T/short.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial \
    -CAserial "$T/short.srl" -days 5 -extfile "$T/short.ext" -out "$T/short.pem" 2>/dev/null
mapfile -t SHORT < <(cert "$T/short.pem" "$T/client.key")
setup "redis_url=$(murl)" "${SHORT[@]}"
out=$("$CLI" -c "$T/conf" doctor --pam-dir "$T" 2>&1)
assert_match "doctor: expiring within 14 days is a WARN with a fix" \
    '^WARN redis: client certificate subject="CN=short-lived" expires in [45] days.*renew redis_tls_cert' "$out"
assert_no_match "... not a FAIL" '^FAIL redis' "$out"

# An expired certificate (openssl ca can date it in the past): doctor
# FAILs it, and the server refuses it.
mkdir -p "$T/ca-db"
: >"$T/ca-db/index.txt"
printf '1000\n' >"$T/ca-db/serial"
cat >"$T/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $T/ca-db/index.txt
serial = $T/ca-db/serial
new_certs_dir = $T/ca-db
default_md = sha256
policy = p
x509_extensions = ext
[p]
commonName = supplied
[ext]
extendedKeyUsage = clientAuth
CNF
openssl req -new -key "$T/client.key" -subj "/CN=expired" -out "$T/expired.csr" 2>/dev/null
openssl ca -batch -config "$T/ca.cnf" -cert "$C/ca.pem" -keyfile "$C/ca.key" -notext \
    -startdate 20250101000000Z -enddate 20250201000000Z -in "$T/expired.csr" \
    -out "$T/expired.pem" >/dev/null 2>&1 || t_fail "an expired client certificate is made"
mapfile -t EXPIRED < <(cert "$T/expired.pem" "$T/client.key")
setup "redis_url=$(murl)" "${EXPIRED[@]}"
out=$("$CLI" -c "$T/conf" doctor --pam-dir "$T" 2>&1)
rc=$?
assert_match "doctor: an expired certificate is a FAIL with a fix" \
    '^FAIL redis: client certificate subject="CN=expired" expired [0-9]+ days ago.*renew redis_tls_cert' "$out"
assert_eq "... exit 1" 1 "$rc"
refused "an expired certificate" 'did not accept the client certificate' "${EXPIRED[@]}"

setup "redis_url=$(murl)" "${MISMATCH[@]}"
out=$("$CLI" -c "$T/conf" doctor --pam-dir "$T" 2>&1)
rc=$?
assert_match "doctor: a key of another certificate is a FAIL" \
    '^FAIL redis: client certificate: redis_tls_cert/redis_tls_key cannot be loaded: redis_tls_key does not match redis_tls_cert' "$out"
assert_eq "... exit 1" 1 "$rc"

setup "redis_url=$(murl)"
out=$("$CLI" -c "$T/conf" doctor --pam-dir "$T" 2>&1)
rc=$?
assert_match "doctor: no certificate for a server that demands one: the reason" \
    '^FAIL redis: .*the server demands a client certificate \(tls-auth-clients\) and redis_tls_cert is not set' "$out"
assert_match "... and the fix" 'set redis_tls_cert and redis_tls_key to a client certificate' "$out"
assert_eq "... exit 1" 1 "$rc"

setup "redis_url=$(murl)" "${OTHER[@]}"
out=$("$CLI" -c "$T/conf" doctor --pam-dir "$T" 2>&1)
assert_match "doctor: another CA's certificate refused by the server: reason and fix" \
    '^FAIL redis: .*did not accept the client certificate.*set redis_tls_cert and redis_tls_key' "$out"

t_summary
