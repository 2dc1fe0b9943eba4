#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ELF properties of the built module and admin tool: the module exports
# only pam_sm_* (checked in the dynamic symbol table and by dlopen()),
# is linked -z nodelete, with full RELRO (RELRO + BIND_NOW), a
# non-executable stack, position-independent code without text
# relocations, stack protector and _FORTIFY_SOURCE; the admin tool is a
# PIE with full RELRO and a non-executable stack.
set -u
. "$(dirname "$0")/../lib.sh"

if ! command -v readelf >/dev/null 2>&1; then
    t_fail "readelf (binutils) is installed"
    t_summary
    exit 1
fi

# check_common NAME FILE: RELRO, BIND_NOW, GNU_STACK RW, no TEXTREL.
check_common() {
    local name=$1 f=$2 dyn phdr
    dyn=$(readelf -dW "$f")
    phdr=$(readelf -lW "$f")
    assert_match "$name: GNU_RELRO segment" '^ *GNU_RELRO ' "$phdr"
    if printf '%s\n' "$dyn" | grep -Eq '\(FLAGS\) +.*BIND_NOW|\(FLAGS_1\) +Flags:.* NOW'; then
        t_ok "$name: BIND_NOW (full RELRO)"
    else
        t_fail "$name: BIND_NOW (full RELRO)" "$(printf '%s\n' "$dyn" | grep FLAGS)"
    fi
    assert_match "$name: non-executable stack (GNU_STACK RW)" \
        '^ *GNU_STACK +(0x[0-9a-f]+ +){5}RW +0x' "$phdr"
    assert_no_match "$name: no text relocations" 'TEXTREL' "$dyn"
    assert_match "$name: stack protector" '__stack_chk_fail' \
        "$(readelf --dyn-syms -W "$f")"
    assert_match "$name: _FORTIFY_SOURCE checked calls" ' __[a-z]+_chk(@|$)' \
        "$(readelf --dyn-syms -W "$f")"
}

# ---- the module -----------------------------------------------------------

if [ ! -f "$MODULE" ]; then
    t_fail "module built at $MODULE"
    t_summary
    exit 1
fi
check_common module "$MODULE"
assert_match "module: ELF shared object (DYN)" 'Type: +DYN' \
    "$(readelf -hW "$MODULE")"
assert_match "module: NODELETE in FLAGS_1" '\(FLAGS_1\) +Flags:.*NODELETE' \
    "$(readelf -dW "$MODULE")"
# Defined, globally visible dynamic symbols (value, bind, name).
exported=$(readelf --dyn-syms -W "$MODULE" |
    awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK") \
         && $6 != "HIDDEN" && $6 != "INTERNAL" { sub(/@.*/, "", $8); print $8 }' |
    sort -u)
assert_eq "module: exactly pam_sm_authenticate and pam_sm_setcred exported" \
    "pam_sm_authenticate pam_sm_setcred" "$(printf '%s' "$exported" | tr '\n' ' ')"
assert_no_match "module: no core (eotp_*) symbol in the dynamic table" \
    ' eotp_' "$(readelf --dyn-syms -W "$MODULE")"

# dlopen() as libpam does, then look symbols up: the entry points must
# resolve, internal ones must not.  A sanitizer build needs its runtime
# loaded first (an ASan .so in an uninstrumented host), so it is preloaded.
preload=
if [ "${SAN:-}" = 1 ]; then
    for lib in asan ubsan; do
        p=$(${CC:-cc} -print-file-name=lib$lib.so 2>/dev/null)
        [ -f "$p" ] && preload="$preload${preload:+:}$p"
    done
fi
dl=$(ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 LD_PRELOAD=$preload \
    python3 - "$MODULE" <<'PY' 2>&1
import ctypes, sys
import os
m = ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW | os.RTLD_LOCAL)
for name in ("pam_sm_authenticate", "pam_sm_setcred", "pam_sm_acct_mgmt",
             "eotp_cfg_init", "eotp_authenticate", "eotp_http_request",
             "curl_easy_init", "cJSON_Parse"):
    try:
        getattr(m, name)
        print(name, "found")
    except AttributeError:
        print(name, "absent")
PY
)
assert_match "dlopen: pam_sm_authenticate resolves" '^pam_sm_authenticate found' "$dl"
assert_match "dlopen: pam_sm_setcred resolves" '^pam_sm_setcred found' "$dl"
assert_match "dlopen: no account management entry point" '^pam_sm_acct_mgmt absent' "$dl"
for s in eotp_cfg_init eotp_authenticate eotp_http_request; do
    assert_match "dlopen: internal $s is not visible" "^$s absent" "$dl"
done

# ---- the admin tool ---------------------------------------------------------

if [ -f "$CLI" ]; then
    check_common "admin tool" "$CLI"
    assert_match "admin tool: position-independent executable" \
        'Type: +DYN \(Position-Independent Executable' "$(readelf -hW "$CLI")"
    assert_match "admin tool: PIE flag" '\(FLAGS_1\) +Flags:.*PIE' \
        "$(readelf -dW "$CLI")"
else
    t_fail "admin tool built at $CLI"
fi

t_summary
