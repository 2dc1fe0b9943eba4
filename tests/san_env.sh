# SPDX-License-Identifier: Apache-2.0
# tests/san_env.sh - for suites that load the module into a host program
# the build did not instrument (sshd, /bin/login, pamtester, sudo).  Source
# it after tests/lib.sh.
#
# In a sanitizer build (SAN=1) the module needs the ASan and UBSan runtimes
# loaded before anything else in the host, or the host aborts with "ASan
# runtime does not come first in initial library list".  san_preload
# prints the LD_PRELOAD prefix that does it (empty without SAN=1):
#
#     LD_PRELOAD="$(san_preload)${WRAPPER:+:$WRAPPER}" pamtester ...
#
# and SAN_HOST_ASAN_OPTIONS is what the host should run with: leak
# checking off (sshd, login and pamtester have one-time allocations of
# their own that are not ours; the module's leaks are checked by the
# harness-based suites, whose reports tests/run-tests.sh collects, and by
# make valgrind and make torture).
#
# san_setuid_skip NAME: a setuid host run by an ordinary user (sudo, su)
# cannot be given the runtimes (the loader ignores LD_PRELOAD for it), so
# under SAN=1 such a suite prints why and ends with its summary.

SAN_HOST_ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0

san_preload() {
    local lib p out=
    [ "${SAN:-}" = 1 ] || return 0
    for lib in asan ubsan; do
        p=$(${CC:-cc} -print-file-name="lib$lib.so" 2>/dev/null)
        if [ -n "$p" ] && [ -f "$p" ]; then
            out="$out${out:+:}$(readlink -f "$p")"
        fi
    done
    # ASan intercepts crypt(); when libcrypt only arrives later through
    # dlopen (pam_unix in /bin/login), the interceptor has nothing to call
    # and the host crashes.  Loading libcrypt up front avoids that.
    p=$(ls /lib/*/libcrypt.so.1 /usr/lib/*/libcrypt.so.1 2>/dev/null | head -n 1)
    if [ -n "$p" ]; then
        out="$out:$p"
    fi
    printf '%s' "$out"
}

san_setuid_skip() {
    if [ "${SAN:-}" = 1 ]; then
        echo "# SAN=1: $1 is setuid and run by an ordinary user, so the loader"
        echo "# ignores LD_PRELOAD and the ASan module cannot be loaded into"
        echo "# it; the same flows are covered with ASan by the harness suites."
        t_summary
        exit 0
    fi
}
