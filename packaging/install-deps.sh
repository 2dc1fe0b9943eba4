#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install everything the project needs to build, test and demo, from
# Debian 12's own packages.  Safe to run again; needs root (or sudo).
set -eu

PKGS="build-essential pkg-config ca-certificates
libpam0g-dev libcurl4-openssl-dev libcjson-dev libssl-dev libldap-dev libcrypt-dev
libcmocka-dev libpam-wrapper libpamtest0-dev pamtester
python3 openssl
slapd ldap-utils
openssh-server openssh-client sudo login util-linux expect strace
mandoc clang libclang-rt-14-dev valgrind cppcheck clang-tidy clang-format
dpkg-dev debhelper fakeroot lintian rpm rpmlint
libhiredis-dev redis-server redis-sentinel libmicrohttpd-dev libsmpp34-dev
selinux-policy-dev checkpolicy"

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi

missing=
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# slapd must not configure a system directory of its own.
echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: done"
