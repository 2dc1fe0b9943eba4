#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# gen-certs.sh OUTDIR — generate throw-away TLS material for the EngageLab mock.
#
# Creates, in OUTDIR (EC P-256 keys, valid for 30 days from now):
#   ca.pem / ca.key                       test CA
#   server.pem / server.key               signed by ca.pem, SAN IP:127.0.0.1, DNS:localhost
#   other-ca.pem / other-ca.key           a second, unrelated CA
#   other-server.pem / other-server.key   signed by other-ca.pem, SAN IP:127.0.0.1, DNS:localhost
#   wronghost-server.pem / .key           signed by ca.pem, SAN DNS:wrong.example only
#   client.pem / client.key               TLS client certificate signed by ca.pem
#   other-client.pem / other-client.key   TLS client certificate signed by other-ca.pem
#   inter-ca.pem / inter-ca.key           an intermediate CA signed by ca.pem
#   chain-client.pem / chain-client.key   client certificate signed by inter-ca.pem,
#                                         the file holding it then inter-ca.pem
#
# Idempotent: if a complete, consistent set already exists it is left alone.
# Concurrent callers on the same OUTDIR are serialised with flock(1).
# Quiet on success; on failure prints openssl's output to stderr and exits non-zero.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
outdir=$1
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

files=(ca.pem ca.key server.pem server.key other-ca.pem other-ca.key
       other-server.pem other-server.key wronghost-server.pem wronghost-server.key
       client.pem client.key other-client.pem other-client.key
       inter-ca.pem inter-ca.key chain-client.pem chain-client.key)

# Serialise concurrent generators (two test scripts sharing one cert dir).
exec 9>"$outdir/.gen-certs.lock"
if command -v flock >/dev/null 2>&1; then
    flock -w 60 9 || { echo "gen-certs.sh: could not lock $outdir" >&2; exit 1; }
fi

complete() {
    local f
    for f in "${files[@]}"; do
        [ -s "$outdir/$f" ] || return 1
    done
    # The set must also be consistent (e.g. not a CA from one run and a server from another).
    openssl verify -CAfile "$outdir/ca.pem" "$outdir/server.pem" >/dev/null 2>&1 &&
        openssl verify -CAfile "$outdir/other-ca.pem" "$outdir/other-server.pem" >/dev/null 2>&1 &&
        openssl verify -CAfile "$outdir/ca.pem" "$outdir/wronghost-server.pem" >/dev/null 2>&1 &&
        openssl verify -CAfile "$outdir/ca.pem" "$outdir/client.pem" >/dev/null 2>&1 &&
        openssl verify -CAfile "$outdir/other-ca.pem" "$outdir/other-client.pem" >/dev/null 2>&1 &&
        openssl verify -CAfile "$outdir/ca.pem" -untrusted "$outdir/chain-client.pem" \
            "$outdir/chain-client.pem" >/dev/null 2>&1
}

if complete; then
    exit 0
fi

work=$(mktemp -d "$outdir/.tmp.XXXXXX")
log="$work/openssl.log"
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

fail() {
    echo "gen-certs.sh: $*" >&2
    [ -s "$log" ] && cat "$log" >&2
    exit 1
}

DAYS=30

# newkey NAME: EC P-256 private key in $work/NAME.key
newkey() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$work/$1.key" >>"$log" 2>&1 || fail "key generation failed for $1"
    chmod 600 "$work/$1.key"
}

# newca NAME CN: self-signed CA certificate
newca() {
    newkey "$1"
    openssl req -x509 -new -key "$work/$1.key" -sha256 -days "$DAYS" \
        -subj "/O=pam_engagelab_otp tests/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" \
        -out "$work/$1.pem" >>"$log" 2>&1 || fail "CA creation failed for $1"
}

# newleaf NAME CA SAN [EKU]: certificate for NAME signed by CA (EKU
# serverAuth unless given, e.g. clientAuth; SAN "-" for none)
newleaf() {
    newkey "$1"
    openssl req -new -key "$work/$1.key" -subj "/O=pam_engagelab_otp tests/CN=$1" \
        -out "$work/$1.csr" >>"$log" 2>&1 || fail "CSR creation failed for $1"
    cat >"$work/$1.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=${4:-serverAuth}
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
EOF
    [ "$3" = - ] || echo "subjectAltName=$3" >>"$work/$1.ext"
    openssl x509 -req -in "$work/$1.csr" -CA "$work/$2.pem" -CAkey "$work/$2.key" \
        -CAcreateserial -sha256 -days "$DAYS" -extfile "$work/$1.ext" \
        -out "$work/$1.pem" >>"$log" 2>&1 || fail "signing failed for $1"
}

newca ca "pam_engagelab_otp test CA"
newca other-ca "unrelated test CA"
newleaf server ca "IP:127.0.0.1,DNS:localhost"
newleaf other-server other-ca "IP:127.0.0.1,DNS:localhost"
newleaf wronghost-server ca "DNS:wrong.example"
newleaf client ca - clientAuth
newleaf other-client other-ca - clientAuth
# An intermediate CA under ca, and a client whose file carries it.
newkey inter-ca
openssl req -new -key "$work/inter-ca.key" -subj "/O=pam_engagelab_otp tests/CN=intermediate test CA" \
    -out "$work/inter-ca.csr" >>"$log" 2>&1 || fail "CSR creation failed for inter-ca"
printf '%s\n' "basicConstraints=critical,CA:TRUE,pathlen:0" \
    "keyUsage=critical,keyCertSign,cRLSign" "subjectKeyIdentifier=hash" \
    "authorityKeyIdentifier=keyid:always" >"$work/inter-ca.ext"
openssl x509 -req -in "$work/inter-ca.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -sha256 -days "$DAYS" -extfile "$work/inter-ca.ext" \
    -out "$work/inter-ca.pem" >>"$log" 2>&1 || fail "signing failed for inter-ca"
newleaf chain-client inter-ca - clientAuth
cat "$work/inter-ca.pem" >>"$work/chain-client.pem"

# Move the finished set into place (each mv is atomic on the same filesystem).
for f in "${files[@]}"; do
    mv -f "$work/$f" "$outdir/$f" || fail "cannot install $f"
done

complete || fail "generated certificates do not verify"
exit 0
