#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests of the files the module trusts (config, user map, CA
# files): what is refused, that a refusal is PAM_SERVICE_ERR with a log
# line naming the file and the reason, and that nothing is sent then.
# Every login runs under `timeout`, so a file that would block the module
# fails the test instead of hanging it.  Everything lives under $T.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/mock/mockenv.sh"
t_setup
t_on_exit mock_stop

PHONE=+6581234567
mock_start "$T/mock" >/dev/null || { t_fail "mock starts"; t_summary; exit 1; }

printf 'daemon:%s\n' "$PHONE" >"$T/users"
chmod 0644 "$T/users"
mkdir -p "$T/pam.d"
printf 'auth required pam_deny.so\n' >"$T/pam.d/other"
# A login that blocks is killed after 10 s: RES is then empty.
LOGIN_WRAP=(timeout 10)

fresh() {
    mockctl reset >/dev/null
    rm -rf "$T/state"
    write_conf "$T/conf" "$@"
    service eotp "conf=$T/conf"
    REQ0=$(mock_request_count)
    SENT0=$(mock_sent_count)
}

requests_since() {
    echo $(($(mock_request_count) - $1))
}

fresh
login daemon $PHONE -- @code
assert_eq "baseline: the login works" PAM_SUCCESS "$RES"

# ---- FIFOs ---------------------------------------------------------------------
# A FIFO at a configured path blocked open(2) until a writer came.

mkfifo -m 0644 "$T/users-fifo"
fresh "user_map=$T/users-fifo"
login daemon $PHONE -- @code
assert_eq "FIFO at user_map: PAM_SERVICE_ERR at once" PAM_SERVICE_ERR "$RES"
assert_match "FIFO at user_map: the log names file and reason" \
    'user map: refusing file=.*/users-fifo reason="not a regular file \(a FIFO\)"' "$OUT"
assert_eq "FIFO at user_map: nothing sent" 0 "$(requests_since "$REQ0")"

mkfifo -m 0600 "$T/conf-fifo"
fresh
service eotp "conf=$T/conf-fifo"
login daemon $PHONE -- @code
assert_eq "FIFO at the config path: PAM_SERVICE_ERR at once" PAM_SERVICE_ERR "$RES"
assert_match "FIFO at the config path: logged" \
    'config: refusing file=.*/conf-fifo reason="not a regular file \(a FIFO\)"' "$OUT"

# ---- CA files and the directories on the way ------------------------------
# A CA file that someone else can change lets them make the module trust
# any server, which then answers "verified" for every code.

# refused NAME PATTERN: the last login was refused with PAM_SERVICE_ERR,
# the log matches PATTERN and the mock saw no request and sent nothing.
refused() {
    assert_eq "$1: PAM_SERVICE_ERR" PAM_SERVICE_ERR "$RES"
    assert_match "$1: the log names the file and the reason" "$2" "$OUT"
    assert_eq "$1: no request reached the API" 0 "$(requests_since "$REQ0")"
    assert_eq "$1: nothing in the outbox" 0 "$(($(mock_sent_count) - SENT0))"
}

mkdir -p "$T/ca"
chmod 0755 "$T/ca"
cp "$MOCK_CA" "$T/ca/ca.pem"
chmod 0644 "$T/ca/ca.pem"
fresh "ca_file=$T/ca/ca.pem"
login daemon $PHONE -- @code
assert_eq "a root-owned CA file in root's directories: accepted" PAM_SUCCESS "$RES"

chmod 0666 "$T/ca/ca.pem"
fresh "ca_file=$T/ca/ca.pem"
login daemon $PHONE -- @code
refused "ca_file writable by others" \
    'config: refusing ca_file file=.*/ca/ca.pem reason="mode 0666 lets group/other write'
chmod 0664 "$T/ca/ca.pem"
fresh "ca_file=$T/ca/ca.pem" failmode=open
login daemon $PHONE -- @code
refused "ca_file writable by the group, failmode = open" 'reason="mode 0664'
chmod 0644 "$T/ca/ca.pem"

chown nobody "$T/ca/ca.pem"
fresh "ca_file=$T/ca/ca.pem"
login daemon $PHONE -- @code
refused "ca_file not owned by root" 'refusing ca_file .*reason="owned by uid'
chown root "$T/ca/ca.pem"

chmod 0777 "$T/ca"
fresh "ca_file=$T/ca/ca.pem"
login daemon $PHONE -- @code
refused "ca_file in a directory others can write" \
    'refusing ca_file .*reason="directory .*/ca: mode 0777 lets group/other write'
chmod 0775 "$T/ca"
fresh "ca_file=$T/ca/ca.pem"
login daemon $PHONE -- @code
refused "ca_file in a group-writable directory" 'reason="directory .*/ca: mode 0775'
chmod 0755 "$T/ca"
chown nobody "$T/ca"
fresh "ca_file=$T/ca/ca.pem"
login daemon $PHONE -- @code
refused "ca_file in a directory owned by another user" 'reason="directory .*/ca is owned by uid'
chown root "$T/ca"

ln -s "$T/ca/ca.pem" "$T/ca/link.pem"
fresh "ca_file=$T/ca/link.pem"
login daemon $PHONE -- @code
refused "ca_file is a symbolic link" 'refusing ca_file .*reason="is a symbolic link"'

# A link to a directory is followed when root's directories hold it; the
# directories it leads to are checked in turn.
ln -s "$T/ca" "$T/ca-link"
fresh "ca_file=$T/ca-link/ca.pem"
login daemon $PHONE -- @code
assert_eq "ca_file through a linked directory in root's directories: accepted" PAM_SUCCESS "$RES"
mkdir -p "$T/open/ca"
chmod 0777 "$T/open"
cp -p "$T/ca/ca.pem" "$T/open/ca/ca.pem"
ln -s "$T/open/ca" "$T/ca-link2"
fresh "ca_file=$T/ca-link2/ca.pem"
login daemon $PHONE -- @code
refused "ca_file through a link into a directory others can write" 'reason="directory .*/open: mode 0777'
# A sticky directory (as /tmp): others may add names, not touch root's;
# a link there must be root's.
chmod 1777 "$T/open"
fresh "ca_file=$T/open/ca/ca.pem"
login daemon $PHONE -- @code
assert_eq "ca_file below a root-owned sticky directory: accepted" PAM_SUCCESS "$RES"
ln -s "$T/ca" "$T/open/byother"
chown -h nobody "$T/open/byother"
fresh "ca_file=$T/open/byother/ca.pem"
login daemon $PHONE -- @code
refused "a link owned by another user in a sticky directory" 'reason="symbolic link byother in directory .*/open that others can write is not root.s"'

mkfifo -m 0644 "$T/ca/fifo.pem"
fresh "ca_file=$T/ca/fifo.pem"
login daemon $PHONE -- @code
refused "ca_file is a FIFO" 'refusing ca_file .*reason="not a regular file \(a FIFO\)"'

fresh "ca_file=$T/ca/missing.pem"
login daemon $PHONE -- @code
refused "ca_file missing" 'refusing ca_file .*reason="cannot open: No such file'

# ldap_ca_file: checked whenever it is set.
cp -p "$T/ca/ca.pem" "$T/ca/ldap.pem"
chmod 0646 "$T/ca/ldap.pem"
fresh "ldap_ca_file=$T/ca/ldap.pem"
login daemon $PHONE -- @code
refused "ldap_ca_file writable by others" \
    'config: refusing ldap_ca_file file=.*/ca/ldap.pem reason="mode 0646'
chmod 0644 "$T/ca/ldap.pem"
fresh "ldap_ca_file=$T/ca/ldap.pem"
login daemon $PHONE -- @code
assert_eq "a sound ldap_ca_file: accepted" PAM_SUCCESS "$RES"

# The user map and the config get the same directory checks.
mkdir -p "$T/mapdir"
cp -p "$T/users" "$T/mapdir/users"
chmod 0757 "$T/mapdir"
fresh "user_map=$T/mapdir/users"
login daemon $PHONE -- @code
refused "user map in a directory others can write" \
    'user map: refusing file=.*/mapdir/users reason="directory .*/mapdir: mode 0757'
mkdir -p "$T/confdir"
chmod 0770 "$T/confdir"
write_conf "$T/confdir/conf"
service eotp "conf=$T/confdir/conf"
REQ0=$(mock_request_count)
login daemon $PHONE -- @code
assert_eq "config in a group-writable directory: PAM_SERVICE_ERR" PAM_SERVICE_ERR "$RES"
assert_match "config in a group-writable directory: logged" \
    'config: refusing file=.*/confdir/conf reason="directory .*/confdir: mode 0770' "$OUT"

# The admin tool refuses the same files, and doctor names file and reason.
chmod 0666 "$T/ca/ca.pem"
write_conf "$T/conf" "ca_file=$T/ca/ca.pem"
out=$("$CLI" -c "$T/conf" send "$PHONE" 2>&1)
assert_eq "engagelab-otp send with an insecure ca_file: exit 3" 3 "$?"
assert_match "engagelab-otp names it" 'refusing ca_file .*mode 0666' "$out"
out=$("$CLI" -c "$T/conf" doctor 2>&1)
assert_match "doctor names the CA file and the reason" \
    '^FAIL ca_file .*/ca/ca.pem: mode 0666 lets group/other write.*root-owned' "$out"
chmod 0644 "$T/ca/ca.pem"

t_summary
