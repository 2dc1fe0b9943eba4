#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Structural and behavioural check of the authselect profile.

authselect is not packaged for Debian, so its own parser cannot run here.
This checks what it would see, from authselect-profiles(5):

1. Every "{...}" in a template is one of the documented operators
   (continue if, stop if, include if, exclude if, imply, if EXPR:A|B),
   each EXPR parses ("feature", and, or, not, parentheses), and no brace
   is left over.
2. Each file is rendered for every combination of the features it
   names, and every rendered line is a PAM line: TYPE CONTROL MODULE,
   CONTROL a keyword or [value=action ...] with Linux-PAM's values and
   actions, jumps that stay inside their block.
3. The auth block of every rendering is run through a model of
   Linux-PAM's dispatcher (_pam_dispatch_aux, libpam/pam_dispatch.c) for
   local, system and SSSD users, right and wrong passwords, and every
   answer of pam_engagelab_otp: with the feature off the module is never
   called; with it on it is called only after a right password, and the
   login succeeds only when it succeeds (or returns PAM_IGNORE), with
   its own error code otherwise.

Usage: authselect_check.py PROFILE_DIR FILE:FEATURE ...
Prints "ok - ..." / "not ok - ..." lines; exit status 1 on a failure.
"""
import itertools
import re
import sys

# ---- 1. template operators ----------------------------------------------

FEATURE = r'"[^{}"|]+"'
OPS = [
    ("line", re.compile(r"^(continue if|stop if|include if|exclude if) (.+)$")),
    ("imply", re.compile(r"^imply (" + FEATURE + r") if (.+)$")),
    ("if", re.compile(r"^if ([^{}|:]+):([^{}|]*)(?:\|([^{}|]*))?$")),
]


def tokenize(expr):
    toks = re.findall(r'"[^"]*"|\(|\)|and|or|not|\S+', expr)
    for t in toks:
        if not (t in ("(", ")", "and", "or", "not") or re.fullmatch(FEATURE, t)):
            raise ValueError("bad token %r in %r" % (t, expr))
    return toks


def parse_expr(expr):
    """Returns (features, evaluate(set) -> bool)."""
    toks = tokenize(expr.strip())
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else None

    def take(want=None):
        t = peek()
        if t is None or (want and t != want):
            raise ValueError("expected %s in %r" % (want or "a term", expr))
        pos[0] += 1
        return t

    def p_or():
        left = p_and()
        while peek() == "or":
            take()
            r, l = p_and(), left
            left = (lambda l, r: lambda f: l(f) or r(f))(l, r)
        return left

    def p_and():
        left = p_not()
        while peek() == "and":
            take()
            r, l = p_not(), left
            left = (lambda l, r: lambda f: l(f) and r(f))(l, r)
        return left

    def p_not():
        if peek() == "not":
            take()
            inner = p_not()
            return lambda f: not inner(f)
        if peek() == "(":
            take("(")
            inner = p_or()
            take(")")
            return inner
        t = take()
        if not t.startswith('"'):
            raise ValueError("expected a feature, got %r in %r" % (t, expr))
        name = t.strip('"')
        return lambda f: name in f

    ev = p_or()
    if peek() is not None:
        raise ValueError("trailing %r in %r" % (peek(), expr))
    return {t.strip('"') for t in toks if t.startswith('"')}, ev


def parse_template(text):
    """Returns (features, render(set) -> str); raises ValueError."""
    features = set()
    lines = []
    for n, line in enumerate(text.split("\n"), 1):
        parts = []  # ("text", s) or ("op", kind, ...)
        rest = line
        while True:
            o = rest.find("{")
            c = rest.find("}")
            if o < 0:
                if c >= 0:
                    raise ValueError("line %d: stray '}'" % n)
                parts.append(("text", rest))
                break
            if c >= 0 and c < o:
                raise ValueError("line %d: stray '}'" % n)
            end = rest.find("}", o)
            if end < 0:
                raise ValueError("line %d: '{' without '}'" % n)
            body = rest[o + 1:end]
            if "{" in body:
                raise ValueError("line %d: nested '{'" % n)
            parts.append(("text", rest[:o]))
            for kind, rx in OPS:
                m = rx.match(body)
                if m:
                    break
            else:
                raise ValueError("line %d: not an operator: {%s}" % (n, body))
            if kind == "line":
                fs, ev = parse_expr(m.group(2))
                parts.append(("op", m.group(1), ev))
            elif kind == "imply":
                fs, ev = parse_expr(m.group(2))
                fs = fs | {m.group(1).strip('"')}
                parts.append(("op", "imply", ev, m.group(1).strip('"')))
            else:
                fs, ev = parse_expr(m.group(1))
                parts.append(("op", "if", ev, m.group(2), m.group(3) or ""))
            features |= fs
            rest = rest[end + 1:]
        lines.append(parts)

    def render(on):
        on = set(on)
        for parts in lines:  # imply first, as authselect does
            for p in parts:
                if p[0] == "op" and p[1] == "imply" and p[2](on):
                    on.add(p[3])
        out = []
        for parts in lines:
            keep, text, stop, drop = True, "", False, False
            for p in parts:
                if p[0] == "text":
                    text += p[1]
                elif p[1] == "if":
                    text += p[3] if p[2](on) else p[4]
                elif p[1] == "include if":
                    keep = keep and p[2](on)
                elif p[1] == "exclude if":
                    keep = keep and not p[2](on)
                elif p[1] == "continue if":
                    drop, stop = True, not p[2](on)
                elif p[1] == "stop if":
                    drop, stop = True, p[2](on)
                elif p[1] == "imply":
                    drop = True
            if stop:
                break
            if keep and not drop:
                out.append(text.rstrip())
        return "\n".join(out) + "\n"

    return features, render


# ---- 2. PAM lines -----------------------------------------------------------

VALUES = {
    "success", "open_err", "symbol_err", "service_err", "system_err",
    "buf_err", "perm_denied", "auth_err", "cred_insufficient",
    "authinfo_unavail", "user_unknown", "maxtries", "new_authtok_reqd",
    "acct_expired", "session_err", "cred_unavail", "cred_expired",
    "cred_err", "no_module_data", "conv_err", "authtok_err",
    "authtok_recover_err", "authtok_lock_busy", "authtok_disable_aging",
    "try_again", "ignore", "abort", "authtok_expired", "module_unknown",
    "bad_item", "conv_again", "incomplete", "default",
}
ACTIONS = {"ignore", "bad", "die", "ok", "done", "reset"}
KEYWORDS = {
    "required": {"success": "ok", "new_authtok_reqd": "ok", "ignore": "ignore",
                 "default": "bad"},
    "requisite": {"success": "ok", "new_authtok_reqd": "ok",
                  "ignore": "ignore", "default": "die"},
    "sufficient": {"success": "done", "new_authtok_reqd": "done",
                   "default": "ignore"},
    "optional": {"success": "ok", "new_authtok_reqd": "ok",
                 "default": "ignore"},
}


def parse_pam(text):
    """Returns {type: [(control dict, module, args)]}; raises ValueError."""
    blocks = {}
    for n, line in enumerate(text.split("\n"), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = re.match(r"^(-?)(auth|account|password|session)\s+(\[[^\]]*\]|\S+)\s+(\S+)\s*(.*)$", s)
        if not m:
            raise ValueError("line %d: not a PAM line: %s" % (n, s))
        ctl_s, module = m.group(3), m.group(4)
        if ctl_s.startswith("["):
            ctl = {}
            for pair in ctl_s[1:-1].split():
                v, _, a = pair.partition("=")
                if v not in VALUES or not (a in ACTIONS or a.isdigit()):
                    raise ValueError("line %d: bad control %s" % (n, pair))
                ctl[v] = a
        elif ctl_s in KEYWORDS:
            ctl = KEYWORDS[ctl_s]
        else:
            raise ValueError("line %d: bad control %s" % (n, ctl_s))
        if not module.endswith(".so"):
            raise ValueError("line %d: not a module: %s" % (n, module))
        blocks.setdefault(m.group(2), []).append((ctl, module, m.group(5)))
    for typ, mods in blocks.items():
        for i, (ctl, module, _) in enumerate(mods):
            for a in ctl.values():
                if a.isdigit() and (int(a) < 1 or i + int(a) >= len(mods)):
                    raise ValueError("%s: %s jumps %s, past the end of the block"
                                     % (typ, module, a))
    return blocks


# ---- 3. the dispatcher ------------------------------------------------------

SUCCESS, IGNORE, MUST_FAIL = "success", "ignore", "perm_denied"


def dispatch(mods, answer):
    """Linux-PAM's _pam_dispatch_aux for a non-cached chain.
    answer(module, args) -> return value name.  Returns (result, calls)."""
    impression, status, calls = "undef", MUST_FAIL, []
    i = 0
    while i < len(mods):
        ctl, module, args = mods[i]
        r = answer(module, args)
        calls.append(module)
        action = ctl.get(r, ctl.get("default", "bad"))
        if action == "reset":
            impression, status = "undef", MUST_FAIL
        elif action in ("ok", "done"):
            if impression == "undef" or (impression == "positive" and status == SUCCESS):
                if r != IGNORE:
                    impression, status = "positive", r
            if action == "done":
                break
        elif action in ("bad", "die"):
            if impression != "negative":
                impression = "negative"
                status = MUST_FAIL if r == SUCCESS else r
            if action == "die":
                break
        elif action.isdigit():
            i += int(action)
        i += 1
    if status == SUCCESS and impression != "positive":
        status = MUST_FAIL
    return status, calls


OTP = "pam_engagelab_otp.so"


def scenarios():
    for kind in ("local", "system", "sssd"):
        for password in (True, False):
            for otp in (SUCCESS, "auth_err", "maxtries", "authinfo_unavail",
                        "user_unknown", IGNORE):
                yield kind, password, otp


def answer_for(kind, password, otp):
    def answer(module, args):
        if module == OTP:
            return otp
        if module == "pam_usertype.so":
            return SUCCESS if kind != "system" else "auth_err"
        if module == "pam_localuser.so":
            return SUCCESS if kind != "sssd" else "perm_denied"
        if module == "pam_unix.so":
            if kind == "sssd":
                return "user_unknown"
            return SUCCESS if password else "auth_err"
        if module == "pam_sss.so":
            if kind != "sssd":
                return "user_unknown"
            return SUCCESS if password else "auth_err"
        if module == "pam_deny.so":
            return "auth_err"
        if module == "pam_faillock.so":
            return "auth_err" if "authfail" in args else SUCCESS
        return SUCCESS
    return answer


def check_file(path, feature):
    results = []

    def ok(cond, name, detail=""):
        results.append((bool(cond), name, detail))
        return cond

    text = open(path).read()
    try:
        features, render = parse_template(text)
    except ValueError as e:
        ok(False, "%s: authselect operators parse" % path, str(e))
        return results
    ok(True, "%s: authselect operators parse (%d features)" % (path, len(features)))
    ok(feature in features, "%s: names the feature %s" % (path, feature))
    combos = [set(c) for k in range(len(features) + 1)
              for c in itertools.combinations(sorted(features), k)]
    bad = []
    for on in combos:
        try:
            blocks = parse_pam(render(on))
        except ValueError as e:
            bad.append("%s: %s" % (sorted(on), e))
            continue
        auth = blocks.get("auth", [])
        for kind, password, otp in scenarios():
            res, calls = dispatch(auth, answer_for(kind, password, otp))
            called = OTP in calls
            if feature not in on:
                want = SUCCESS if password else "not success"
                if called:
                    bad.append("%s %s pw=%s: module called without the feature"
                               % (sorted(on), kind, password))
            else:
                if called and not password:
                    bad.append("%s %s: module called after a wrong password"
                               % (sorted(on), kind))
                if password and not called:
                    bad.append("%s %s: module not called after a right password"
                               % (sorted(on), kind))
                if not password:
                    want = "not success"
                elif otp in (SUCCESS, IGNORE):
                    want = SUCCESS
                else:
                    want = otp
            if (want == "not success" and res == SUCCESS) or \
               (want != "not success" and res != want):
                bad.append("%s %s pw=%s otp=%s: %s, want %s"
                           % (sorted(on), kind, password, otp, res, want))
    ok(not bad, "%s: %d renderings are PAM stacks; logins as expected"
       % (path, len(combos)), "\n".join(bad[:20]))
    return results


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    failed = 0
    for spec in sys.argv[2:]:
        name, feature = spec.split(":", 1)
        for good, label, detail in check_file(sys.argv[1] + "/" + name, feature):
            print("%s - %s" % ("ok" if good else "not ok", label))
            if not good:
                failed += 1
                for d in detail.splitlines():
                    print("#   " + d)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
