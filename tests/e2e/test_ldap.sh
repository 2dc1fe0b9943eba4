#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests of the directory source (user_sources = ldap): a real
# slapd started here on free loopback ports, with a throwaway slapd.conf
# and mdb database under $T (never the system instance or its
# /etc/ldap/slapd.d), seeded with ldapadd; logins go through the real
# libpam, the built module and the mock EngageLab API.
#
# Users are existing system accounts (daemon, bin, sys, games, man, lp,
# mail, news, uucp, proxy) used as LDAP uids; nothing is created outside
# $T.  Needs slapd and ldap-utils: installed through the project's
# dependency step when missing, and the suite fails if they still are.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
t_setup

SLAPD=${SLAPD:-/usr/sbin/slapd}
have_ldap_tools() {
    [ -x "$SLAPD" ] && command -v ldapadd >/dev/null 2>&1 &&
        [ -r /etc/ldap/schema/inetorgperson.schema ]
}
if ! have_ldap_tools; then
    echo "# slapd or ldap-utils missing: installing them"
    "$TOP_DIR/packaging/install-deps.sh" >/dev/null 2>&1 || true
fi
if ! have_ldap_tools; then
    t_fail "slapd and ldap-utils are installed"
    t_summary
    exit 1
fi

t_on_exit mock_stop
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }
CERTS="$T/mock/certs" # ca.pem, server.pem/key for 127.0.0.1, other-ca.pem

BASE="dc=example,dc=org"
ADMIN_DN="cn=admin,$BASE"
READER_DN="cn=reader,$BASE"
SL="$T/slapd"
mkdir -p "$SL/db"

# ---- the throwaway slapd -----------------------------------------------------

cat >"$SL/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $SL/slapd.pid
argsfile $SL/slapd.args
TLSCACertificateFile $CERTS/ca.pem
TLSCertificateFile $CERTS/server.pem
TLSCertificateKeyFile $CERTS/server.key
database mdb
maxsize 10485760
suffix "$BASE"
rootdn "$ADMIN_DN"
rootpw admin-secret
directory $SL/db
access to attrs=userPassword by anonymous auth by * none
access to * by * read
EOF

SLAPD_PID=
slapd_stop() {
    if [ -n "$SLAPD_PID" ]; then
        kill "$SLAPD_PID" 2>/dev/null
        for _ in $(seq 1 50); do
            kill -0 "$SLAPD_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$SLAPD_PID" 2>/dev/null
        wait "$SLAPD_PID" 2>/dev/null
        SLAPD_PID=
    fi
}
t_on_exit slapd_stop

# Start slapd on two free ports (a race with another process taking the
# port is retried).
slapd_start() {
    local try
    for try in 1 2 3; do
        { read -r LPORT; read -r LSPORT; } < <(free_port 2)
        "$SLAPD" -f "$SL/slapd.conf" \
            -h "ldap://127.0.0.1:$LPORT/ ldaps://127.0.0.1:$LSPORT/" \
            -d 0 >>"$SL/slapd.log" 2>&1 &
        SLAPD_PID=$!
        for _ in $(seq 1 100); do
            kill -0 "$SLAPD_PID" 2>/dev/null || break
            if LDAPNOINIT=1 ldapsearch -x -H "ldap://127.0.0.1:$LPORT" \
                -b "" -s base >/dev/null 2>&1; then
                return 0
            fi
            sleep 0.1
        done
        slapd_stop
    done
    return 1
}

if ! slapd_start; then
    t_fail "slapd starts" "$(tail -n 20 "$SL/slapd.log")"
    t_summary
    exit 1
fi
LDAP_URI="ldap://127.0.0.1:$LPORT"
LDAPS_URI="ldaps://127.0.0.1:$LSPORT"

# Seed.  Multi-valued attributes keep their order in slapd's mdb.
cat >"$SL/seed.ldif" <<EOF
dn: $BASE
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,$BASE
objectClass: organizationalUnit
ou: people

dn: ou=other,$BASE
objectClass: organizationalUnit
ou: other

dn: $READER_DN
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: reader-secret

dn: uid=daemon,ou=people,$BASE
objectClass: inetOrgPerson
uid: daemon
cn: daemon
sn: daemon
mobile: +65 8123 4567
mail: daemon@example.com

dn: uid=bin,ou=people,$BASE
objectClass: inetOrgPerson
uid: bin
cn: bin
sn: bin
mail: bin@example.com

dn: uid=games,ou=people,$BASE
objectClass: inetOrgPerson
uid: games
cn: games
sn: games
mobile: ext. 12
mobile: +65 9000 0001
mobile: +65 9000 0002

dn: uid=man,ou=people,$BASE
objectClass: inetOrgPerson
uid: man
cn: man
sn: man
mobile: 8123 4568

dn: uid=proxy,ou=people,$BASE
objectClass: inetOrgPerson
uid: proxy
cn: proxy
sn: proxy
mobile: (65) 8123-4569

dn: uid=lp,ou=people,$BASE
objectClass: inetOrgPerson
uid: lp
cn: lp
sn: lp
mobile: call me maybe
mail: not-an-address

dn: uid=mail,ou=people,$BASE
objectClass: inetOrgPerson
uid: mail
cn: mail
sn: mail
mobile: +65 9000 0098

dn: uid=uucp,ou=people,$BASE
objectClass: inetOrgPerson
uid: uucp
cn: uucp
sn: uucp
mobile: +65 9000 0031

dn: uid=uucp,ou=other,$BASE
objectClass: inetOrgPerson
uid: uucp
cn: uucp
sn: uucp
mobile: +65 9000 0032

dn: uid=star*user,ou=people,$BASE
objectClass: inetOrgPerson
uid: star*user
cn: star
sn: star
mobile: +65 8000 0001
EOF
if LDAPNOINIT=1 ldapadd -x -H "$LDAP_URI" -D "$ADMIN_DN" -w admin-secret \
    -f "$SL/seed.ldif" >"$SL/seed.log" 2>&1; then
    t_ok "slapd started and seeded"
else
    t_fail "slapd seeded" "$(cat "$SL/seed.log")"
    t_summary
    exit 1
fi

# ---- helpers (as in test_login.sh) -------------------------------------------

cat >"$T/users" <<MAP
mail:+6590000099
news:+6590000097
MAP
chmod 0644 "$T/users"
printf 'reader-secret\n' >"$T/bindpw"
chmod 0600 "$T/bindpw"
printf 'wrong-secret\n' >"$T/bindpw.wrong"
chmod 0600 "$T/bindpw.wrong"
mkdir -p "$T/pam.d"
printf 'auth required pam_deny.so\n' >"$T/pam.d/other"

# fresh KEY=VALUE...: config with the directory as the only source; the
# arguments replace these defaults (the config refuses a key given twice).
fresh() {
    local -A seen=()
    local kv args=()
    for kv in "$@"; do
        seen[${kv%%=*}]=1
    done
    for kv in "user_sources=ldap" "ldap_uri=$LDAP_URI" "ldap_base=$BASE"; do
        [ -n "${seen[${kv%%=*}]+x}" ] || args+=("$kv")
    done
    mockctl reset >/dev/null
    rm -rf "$T/state"
    write_conf "$T/conf" "${args[@]}" "$@"
    printf 'auth required %s conf=%s\n' "$MODULE" "$T/conf" >"$T/pam.d/eotp"
    REQ0=$(mock_request_count)
}

sent_since() {
    echo $(($(mock_request_count) - REQ0))
}

# last_to: destination of the last message the mock delivered.
last_to() {
    tail -n 1 "$MOCK_OUTBOX" | python3 -c 'import json,sys; print(json.load(sys.stdin)["to"])'
}

# ---- destinations from the directory -------------------------------------------

fresh
login daemon +6581234567 -- @code
assert_eq "mobile from the directory: login succeeds" PAM_SUCCESS "$RES"
assert_eq "code sent to the normalised mobile" "+6581234567" "$(last_to)"
assert_match "prompt shows the masked number" \
    '^PROMPT: Code sent by SMS to \+65\*{6}67: $' "$OUT"
assert_no_match "no full number in syslog" 'SYSLOG:.*(6581234567|8123 4567)' "$OUT"

fresh template_id=pam-otp-email
login bin bin@example.com -- @code
assert_eq "no mobile: falls back to mail" PAM_SUCCESS "$RES"
assert_eq "code sent to the mail address" "bin@example.com" "$(last_to)"

fresh ldap_attributes=mail template_id=pam-otp-email
login daemon daemon@example.com -- @code
assert_eq "ldap_attributes = mail asks for mail only" "daemon@example.com" \
    "$(last_to)"

fresh
login sys +0 -- @code
assert_eq "user not in the directory: PAM_USER_UNKNOWN" PAM_USER_UNKNOWN "$RES"
assert_eq "nothing sent for an absent user" 0 "$(sent_since)"
assert_match "outcome says unmapped" 'result=denied user=sys .*reason=unmapped' "$OUT"

fresh unmapped=ignore
login sys +0 -- @code
assert_match "absent user with unmapped = ignore: ignored" \
    'result=ignored user=sys' "$OUT"

fresh
login games +6590000001 -- @code
assert_eq "several values: login succeeds" PAM_SUCCESS "$RES"
assert_eq "several values: the first valid one is used" "+6590000001" "$(last_to)"
assert_match "several values: logged with the count" \
    'several values, using the first valid one user=games attribute=mobile values=3 used=2 dest=\+65\*{6}01' "$OUT"
assert_match "the invalid value before it: refused and masked" \
    'value refused user=games attribute=mobile value=ext\*\*12 ' "$OUT"

fresh default_country=65
login man +6581234568 -- @code
assert_eq "national number with default_country: login succeeds" \
    PAM_SUCCESS "$RES"
assert_eq "national number normalised to E.164" "+6581234568" "$(last_to)"
fresh default_country_code=65
login proxy +6581234569 -- @code
assert_eq "\"(65) 8123-4569\" normalised (default_country_code: the old name)" "+6581234569" "$(last_to)"

fresh
login man +0 -- @code
assert_eq "national number without default_country: unmapped" \
    PAM_USER_UNKNOWN "$RES"
assert_match "the log says default_country is missing" \
    'value refused user=man attribute=mobile value=812\*{4}68 reason=.*default_country is not set' "$OUT"
assert_eq "nothing sent" 0 "$(sent_since)"

fresh
login lp +0 -- @code
assert_eq "invalid phone and mail values: unmapped" PAM_USER_UNKNOWN "$RES"
assert_match "invalid phone refused, value masked" \
    'value refused user=lp attribute=mobile value=cal\*+be ' "$OUT"
assert_match "invalid mail refused, value masked" \
    'value refused user=lp attribute=mail value=not\*+ss ' "$OUT"
assert_no_match "raw values never logged" 'call me maybe|not-an-address' "$OUT"
assert_eq "nothing sent for invalid values" 0 "$(sent_since)"

fresh failmode=open
login uucp +0 -- @code
assert_eq "two entries for one user: refused, even with failmode open" \
    PAM_SERVICE_ERR "$RES"
assert_match "two entries logged" 'more than one entry matches, refusing user=uucp' "$OUT"
assert_eq "nothing sent for an ambiguous user" 0 "$(sent_since)"

# ---- order of sources ----------------------------------------------------------

fresh user_sources=map,ldap
login mail +6590000099 -- @code
assert_eq "map,ldap: the map wins" "+6590000099" "$(last_to)"
fresh user_sources=ldap,map
login mail +6590000098 -- @code
assert_eq "ldap,map: the directory wins" "+6590000098" "$(last_to)"
fresh user_sources=ldap,map
login news +6590000097 -- @code
assert_eq "ldap,map: not in the directory, found in the map" "+6590000097" \
    "$(last_to)"
fresh user_sources=map,ldap
login daemon +6581234567 -- @code
assert_eq "map,ldap: not in the map, found in the directory" "+6581234567" \
    "$(last_to)"

# ---- user names with filter metacharacters ---------------------------------------

if EOTP_TEST_LDAP_URI=$LDAP_URI EOTP_TEST_LDAP_BASE=$BASE \
    "$BUILD/tests/test_ldap" >"$T/test_ldap.out" 2>&1 &&
    ! grep -q SKIPPED "$T/test_ldap.out"; then
    t_ok "eotp_ldap_lookup against slapd: metacharacter names match nothing"
else
    t_fail "eotp_ldap_lookup against slapd: metacharacter names match nothing" \
        "$(tail -n 30 "$T/test_ldap.out")"
fi
for name in '*' 'a*' '(uid=*)' 'x)(uid=daemon' '\'; do
    fresh
    login "$name" +6581234567 -- @code
    assert_eq "user name '$name': nothing sent" "0 PAM_USER_UNKNOWN" \
        "$(sent_since) $RES"
done

# ---- the directory cannot be used --------------------------------------------------

DOWN_PORT=$(free_port) # nothing listens there
for mode in closed open; do
    fresh ldap_uri=ldap://127.0.0.1:$DOWN_PORT failmode=$mode
    login daemon +6581234567 -- @code
    if [ $mode = closed ]; then
        assert_eq "server down, failmode closed: PAM_AUTHINFO_UNAVAIL" \
            PAM_AUTHINFO_UNAVAIL "$RES"
    else
        assert_eq "server down, failmode open: PAM_SUCCESS" PAM_SUCCESS "$RES"
        assert_match "server down, failmode open: BYPASSED line" \
            'second factor BYPASSED \(failmode=open\) result=bypassed user=daemon .*reason=ldap' "$OUT"
    fi
    assert_eq "server down ($mode): nothing sent" 0 "$(sent_since)"
done
assert_match "server down logged with the URI" \
    "ldap: server failed uri=ldap://127.0.0.1:$DOWN_PORT step=bind" "$OUT"

fresh "ldap_uri=ldap://127.0.0.1:$DOWN_PORT, $LDAP_URI"
login daemon +6581234567 -- @code
assert_eq "two URIs, the first down: the second is used" PAM_SUCCESS "$RES"

fresh ldap_uri=ldap://127.0.0.1:$DOWN_PORT user_sources=ldap,map
login news +6590000097 -- @code
assert_eq "ldap,map with the directory down: the map still serves" \
    PAM_SUCCESS "$RES"
fresh ldap_uri=ldap://127.0.0.1:$DOWN_PORT user_sources=ldap,map \
    unmapped=ignore
login sys +0 -- @code
assert_eq "directory down and user in no map: not 'unmapped' (no ignore)" \
    PAM_AUTHINFO_UNAVAIL "$RES"

# A listener that accepts connections and never answers.
cat >"$T/blackhole.py" <<'EOF'
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
while True:
    c, _ = s.accept()
    held.append(c)
EOF
python3 "$T/blackhole.py" "$T/blackhole.port" &
HOLE_PID=$!
t_on_exit "kill $HOLE_PID; wait $HOLE_PID"
for _ in $(seq 1 50); do
    [ -s "$T/blackhole.port" ] && break
    sleep 0.1
done
HOLE=$(cat "$T/blackhole.port")

for scheme in ldap ldaps; do
    fresh ldap_uri=$scheme://127.0.0.1:$HOLE ldap_timeout=2 \
        ldap_ca_file=$CERTS/ca.pem
    login daemon +6581234567 -- @code
    assert_eq "$scheme:// server that never answers: PAM_AUTHINFO_UNAVAIL" \
        PAM_AUTHINFO_UNAVAIL "$RES"
    if [ "$ELAPSED" -ge 1500 ] && [ "$ELAPSED" -le 3500 ]; then
        t_ok "$scheme:// silent server bounded by ldap_timeout = 2 (${ELAPSED} ms)"
    else
        t_fail "$scheme:// silent server bounded by ldap_timeout = 2" \
            "elapsed ${ELAPSED} ms"
    fi
done
fresh ldap_uri=ldap://127.0.0.1:$HOLE ldap_starttls=yes ldap_timeout=2 \
    ldap_ca_file=$CERTS/ca.pem
login daemon +6581234567 -- @code
assert_eq "StartTLS to a silent server: PAM_AUTHINFO_UNAVAIL" \
    PAM_AUTHINFO_UNAVAIL "$RES"
[ "$ELAPSED" -le 3500 ] && t_ok "StartTLS to a silent server bounded (${ELAPSED} ms)" ||
    t_fail "StartTLS to a silent server bounded" "elapsed ${ELAPSED} ms"

# A server that accepts StartTLS, then never speaks TLS.
cat >"$T/stall.py" <<'EOF'
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    req = c.recv(4096)
    if len(req) > 4:
        # ExtendedResponse to the same message id: success.
        c.sendall(bytes([0x30, 0x0c, 0x02, 0x01, req[4], 0x78, 0x07,
                         0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00]))
EOF
python3 "$T/stall.py" "$T/stall.port" &
STALL_PID=$!
t_on_exit "kill $STALL_PID; wait $STALL_PID"
for _ in $(seq 1 50); do
    [ -s "$T/stall.port" ] && break
    sleep 0.1
done
fresh ldap_uri=ldap://127.0.0.1:$(cat "$T/stall.port") ldap_starttls=yes \
    ldap_timeout=2 ldap_ca_file=$CERTS/ca.pem
login daemon +6581234567 -- @code
assert_eq "StartTLS accepted, then no handshake: PAM_AUTHINFO_UNAVAIL" \
    PAM_AUTHINFO_UNAVAIL "$RES"
if [ "$ELAPSED" -ge 1500 ] && [ "$ELAPSED" -le 3500 ]; then
    t_ok "stalled TLS handshake bounded by ldap_timeout = 2 (${ELAPSED} ms)"
else
    t_fail "stalled TLS handshake bounded by ldap_timeout = 2" \
        "elapsed ${ELAPSED} ms"
fi

fresh "ldap_uri=ldap://127.0.0.1:$HOLE $LDAP_URI" ldap_timeout=4
login daemon +6581234567 -- @code
assert_eq "a silent first server leaves time for the second" PAM_SUCCESS "$RES"
if [ "$ELAPSED" -le 5000 ]; then
    t_ok "silent first server: still within ldap_timeout (${ELAPSED} ms)"
else
    t_fail "silent first server: still within ldap_timeout" "elapsed ${ELAPSED} ms"
fi

# ---- engagelab-otp doctor: the directory check ----------------------------------------

doctor() {
    OUT=$(timeout 30 "$CLI" -c "$T/conf" doctor 2>&1)
    RC=$?
}
fresh
doctor
assert_match "doctor: directory reachable" \
    "^OK  directory $LDAP_URI \(connect, bind and search answered\)" "$OUT"
fresh ldap_uri=ldap://127.0.0.1:$DOWN_PORT
doctor
assert_eq "doctor: directory down: exit 1" 1 "$RC"
assert_match "doctor: directory down: FAIL with the step and how to fix" \
    "^FAIL directory ldap://127.0.0.1:$DOWN_PORT: server failed uri=ldap://127.0.0.1:$DOWN_PORT step=bind .*: check ldap_uri, the network" "$OUT"
fresh ldap_bind_dn=$READER_DN ldap_bind_password_file=$T/bindpw.wrong \
    ldap_starttls=yes ldap_ca_file=$CERTS/ca.pem
doctor
assert_match "doctor: bind refused: FAIL names it" \
    "^FAIL directory $LDAP_URI: .*Invalid credentials" "$OUT"
assert_no_match "doctor: bind password never printed" 'wrong-secret|reader-secret' "$OUT"
fresh ldap_uri=ldap://127.0.0.1:$DOWN_PORT user_sources=map
doctor
assert_match "doctor: directory not used with user_sources = map" \
    "^OK  directory: not used" "$OUT"

# ---- bind ----------------------------------------------------------------------------

fresh ldap_bind_dn=$READER_DN ldap_bind_password_file=$T/bindpw \
    ldap_starttls=yes ldap_ca_file=$CERTS/ca.pem
login daemon +6581234567 -- @code
assert_eq "simple bind with the password file (StartTLS)" PAM_SUCCESS "$RES"
assert_no_match "bind password never logged" 'reader-secret' "$OUT"

for mode in closed open; do
    fresh ldap_bind_dn=$READER_DN ldap_bind_password_file=$T/bindpw.wrong \
        failmode=$mode
    login daemon +6581234567 -- @code
    if [ $mode = closed ]; then
        assert_eq "wrong bind password, failmode closed: PAM_AUTHINFO_UNAVAIL" \
            PAM_AUTHINFO_UNAVAIL "$RES"
        assert_match "bind failure logged" \
            'server failed uri=.* step=bind .*Invalid credentials' "$OUT"
    else
        assert_eq "wrong bind password, failmode open: bypassed" PAM_SUCCESS "$RES"
    fi
    assert_no_match "wrong bind password never logged" 'wrong-secret' "$OUT"
done

chmod 0644 "$T/bindpw"
fresh ldap_bind_dn=$READER_DN ldap_bind_password_file=$T/bindpw failmode=open
login daemon +6581234567 -- @code
assert_eq "readable bind password file: PAM_SERVICE_ERR even with failmode open" \
    PAM_SERVICE_ERR "$RES"
assert_match "password file refused in the log" \
    'refusing ldap_bind_password_file .*0644' "$OUT"
chmod 0600 "$T/bindpw"
fresh ldap_bind_dn=$READER_DN ldap_bind_password_file=$T/missing failmode=open
login daemon +6581234567 -- @code
assert_eq "missing bind password file: PAM_SERVICE_ERR" PAM_SERVICE_ERR "$RES"
: >"$T/bindpw.empty"
chmod 0600 "$T/bindpw.empty"
fresh ldap_bind_dn=$READER_DN ldap_bind_password_file=$T/bindpw.empty
login daemon +6581234567 -- @code
assert_eq "empty bind password (an unauthenticated bind): PAM_SERVICE_ERR" \
    PAM_SERVICE_ERR "$RES"

# ---- TLS ------------------------------------------------------------------------------

fresh ldap_starttls=yes ldap_ca_file=$CERTS/ca.pem
login daemon +6581234567 -- @code
assert_eq "StartTLS with the test CA" PAM_SUCCESS "$RES"

fresh ldap_starttls=yes ldap_ca_file=$CERTS/other-ca.pem
login daemon +6581234567 -- @code
assert_eq "StartTLS with the wrong CA: fails closed (no plain-text retry)" \
    PAM_AUTHINFO_UNAVAIL "$RES"
assert_match "StartTLS failure logged" 'server failed uri=.* step=starttls' "$OUT"
assert_eq "StartTLS with the wrong CA: nothing sent" 0 "$(sent_since)"

fresh ldap_uri=$LDAPS_URI ldap_ca_file=$CERTS/ca.pem
login daemon +6581234567 -- @code
assert_eq "ldaps:// with the test CA" PAM_SUCCESS "$RES"

fresh ldap_uri=$LDAPS_URI ldap_ca_file=$CERTS/other-ca.pem
login daemon +6581234567 -- @code
assert_eq "ldaps:// with the wrong CA: PAM_AUTHINFO_UNAVAIL" \
    PAM_AUTHINFO_UNAVAIL "$RES"

fresh ldap_uri=$LDAPS_URI ldap_ca_file=$T/no-such-ca.pem failmode=open
login daemon +6581234567 -- @code
assert_eq "unloadable ldap_ca_file: PAM_SERVICE_ERR even with failmode open" \
    PAM_SERVICE_ERR "$RES"

# ---- settings --------------------------------------------------------------------------

mockctl reset >/dev/null
write_conf "$T/conf" user_sources=ldap "ldap_base=$BASE" failmode=open
login daemon +6581234567 -- @code
assert_eq "user_sources = ldap without ldap_uri: PAM_SERVICE_ERR" \
    PAM_SERVICE_ERR "$RES"
write_conf "$T/conf" user_sources=ldap "ldap_uri=$LDAP_URI" failmode=open
login daemon +6581234567 -- @code
assert_eq "user_sources = ldap without ldap_base: PAM_SERVICE_ERR" \
    PAM_SERVICE_ERR "$RES"

slapd_stop
t_summary
