"""Lowering of a translated score_mod into the kernel's log2 domain, plus the analyses the template uses.

The kernel works with s2 = log2(e) * score_mod(qk * scale) so the softmax can use exp2. Scalar
factors (scale, log2(e), 1/cap, ...) are pushed through sums, `where` and uniform products until
they meet qk or a non-linear call, so `cap * tanh(score / cap)` becomes `tanh(qk * u0) * u1` with
u0, u1 computed once per program. From the lowered form we read off whether the softmax may use a
fixed bound instead of a running max (tanh-capped scores) and whether q can be pre-scaled.
"""
import math

LOG2E = 1.4426950408889634


def deps(n):
    """The index variables a node depends on: subset of {qk, b, h, q_idx, kv_idx}."""
    t = n[0]
    if t == "num" or t == "param" or (t == "var" and n[1] == "scale"):
        return frozenset()
    if t == "var":
        return frozenset(["qk" if n[1] in ("qk", "score") else n[1]])
    if t == "load":
        return deps(n[2])
    if t in ("bin", "cmp"):
        return deps(n[2]) | deps(n[3])
    if t in ("neg", "not"):
        return deps(n[1])
    if t == "call":
        out = frozenset()
        for a in n[2]:
            out |= deps(a)
        return out
    raise ValueError(n)


def uniform(n):
    """True when a node is the same for a whole program (depends on b, h at most)."""
    return deps(n) <= {"b", "h"}


def host_constant(n):
    """True when the host can evaluate a node from the call's numbers alone (no tensors, no indices)."""
    t = n[0]
    if t in ("num", "param"):
        return True
    if t == "var":
        return n[1] == "scale"
    if t == "bin" and n[1] in "+-*/":
        return host_constant(n[2]) and host_constant(n[3])
    if t == "neg":
        return host_constant(n[1])
    return False


def has_inf(n):
    """True when a node contains an infinite literal (a score_mod that masks by itself)."""
    if n[0] == "num":
        return isinstance(n[1], float) and math.isinf(n[1])
    return any(has_inf(c) for c in n[1:] if isinstance(c, tuple) and c and isinstance(c[0], str)) or \
        (n[0] == "call" and any(has_inf(a) for a in n[2]))


def _mul(a, c):
    if c == ("num", 1):
        return a
    if a[0] == "num" and c[0] == "num":
        return ("num", a[1] * c[1])
    return ("bin", "*", a, c)


def _div(c, d):
    if d[0] == "num" and c[0] == "num" and d[1] != 0:
        return ("num", c[1] / d[1])
    inv = ("bin", "/", ("num", 1.0), d)
    return inv if c == ("num", 1) else ("bin", "*", c, inv)


def distribute(n, c):
    """n * c with the uniform factor c pushed down to qk or to non-linear calls."""
    t = n[0]
    if t == "num":
        return _mul(n, c) if c[0] == "num" else _mul(c, n)
    if t == "var" and n[1] == "qk":
        return _mul(n, c)
    if t == "bin" and n[1] in "+-":
        return ("bin", n[1], distribute(n[2], c), distribute(n[3], c))
    if t == "neg":
        return ("neg", distribute(n[1], c))
    if t == "bin" and n[1] == "*":
        if uniform(n[2]):
            return distribute(n[3], _mul(n[2], c))
        if uniform(n[3]):
            return distribute(n[2], _mul(n[3], c))
    if t == "bin" and n[1] == "/" and uniform(n[3]):
        return distribute(n[2], _div(c, n[3]))
    if t == "call" and n[1] == "where":
        cond, x, y = n[2]
        return ("call", "where", (cond, distribute(x, c), distribute(y, c)))
    if t == "call" and n[1] in ("tanh", "exp", "log", "abs", "minimum", "maximum"):
        n = ("call", n[1], tuple(distribute(a, ("num", 1)) if "qk" in deps(a) else a for a in n[2]))
    return _mul(n, c)


def lower_score(ir):
    """The log2-domain score as a function of qk (the raw q.k dot product) and the kernel's scale."""
    qk_scaled = ("bin", "*", ("var", "qk"), ("var", "scale"))
    base = _subst(ir, ("var", "score"), qk_scaled) if ir is not None else qk_scaled
    return distribute(base, ("num", LOG2E))


def _subst(n, old, new):
    if n == old:
        return new
    if n[0] in ("bin", "cmp"):
        return (n[0], n[1], _subst(n[2], old, new), _subst(n[3], old, new))
    if n[0] in ("neg", "not"):
        return (n[0], _subst(n[1], old, new))
    if n[0] == "load":
        return ("load", n[1], _subst(n[2], old, new))
    if n[0] == "call":
        return ("call", n[1], tuple(_subst(a, old, new) for a in n[2]))
    return n


def qk_factors(n, out=None):
    """Every way qk occurs in n: the uniform factor c of each `qk * c`, or None for a bare use."""
    out = [] if out is None else out
    if n == ("var", "qk"):
        out.append(None)
    elif n[0] == "bin" and n[1] == "*" and n[2] == ("var", "qk") and uniform(n[3]):
        out.append(n[3])
    elif n[0] in ("bin", "cmp"):
        qk_factors(n[2], out)
        qk_factors(n[3], out)
    elif n[0] in ("neg", "not"):
        qk_factors(n[1], out)
    elif n[0] == "load":
        qk_factors(n[2], out)
    elif n[0] == "call":
        for a in n[2]:
            qk_factors(a, out)
    return out


def prescale(n):
    """(s2 with `qk * c` replaced by qk, c) when every use of qk carries the same uniform factor c."""
    facs = qk_factors(n)
    if not facs or any(f is None or f != facs[0] for f in facs):
        return None
    c = facs[0]
    return _subst(n, ("bin", "*", ("var", "qk"), c), ("var", "qk")), c


def linear_factor(s2):
    """c when s2 is exactly qk * c with c a positive host constant (scale times literals), else None."""
    if s2[0] == "bin" and s2[1] == "*" and s2[2] == ("var", "qk") and _positive(s2[3]):
        return s2[3]
    return None


def _positive(n):
    if n[0] == "num":
        return n[1] > 0
    if n == ("var", "scale"):
        return True  # the softmax scale is positive by contract
    return n[0] == "bin" and n[1] == "*" and _positive(n[2]) and _positive(n[3])


def tanh_bound(s2):
    """c when s2 = tanh(...) * c with c a host constant, so |s2| <= |c| (the softmax may skip its max)."""
    if s2[0] == "bin" and s2[1] == "*" and s2[2][0] == "call" and s2[2][1] == "tanh" and host_constant(s2[3]):
        return s2[3]
    return None


def _terms(n, sign=1):
    """The signed additive terms of a top-level sum."""
    if n[0] == "bin" and n[1] in "+-":
        return _terms(n[2], sign) + _terms(n[3], sign if n[1] == "+" else -sign)
    if n[0] == "neg":
        return _terms(n[1], -sign)
    return [(sign, n)]


def drop_row_constants(s2):
    """s2 without additive terms that are constant along a row (softmax is shift-invariant per row).

    `qk * c + a * q_idx - a * kv_idx` (ALiBi, relative position) becomes `qk * c - a * kv_idx`: one FMA
    per element instead of a subtract and an FMA. Terms that may be infinite are kept (they mask).
    """
    terms = _terms(s2)
    keep = [(sg, t) for sg, t in terms if not (deps(t) <= {"b", "h", "q_idx"}) or has_inf(t)]
    if len(keep) == len(terms) or not keep:
        return s2
    out = keep[0][1] if keep[0][0] > 0 else ("neg", keep[0][1])
    for sg, t in keep[1:]:
        out = ("bin", "+" if sg > 0 else "-", out, t)
    return out


def estimate_density(mask_ir, params, seq=4096, samples=96):
    """Fraction of (q, kv) pairs a mask keeps at sequence length seq, sampled on a grid; None if unknown
    (the mask reads a tensor, or a parameter is a generator)."""
    import math as _m
    pts = [int(i * (seq - 1) / (samples - 1)) for i in range(samples)]

    def ev(n, q, kv):
        t = n[0]
        if t == "num":
            return n[1]
        if t == "var":
            return {"q_idx": q, "kv_idx": kv, "b": 0, "h": 0}[n[1]]
        if t == "param":
            v = params.get(n[1])
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise LookupError(n[1])
            return v
        if t == "load":
            raise LookupError(n[1])
        if t == "neg":
            return -ev(n[1], q, kv)
        if t == "not":
            return not ev(n[1], q, kv)
        if t == "call":
            a = [ev(x, q, kv) for x in n[2]]
            f = {"where": lambda c, x, y: x if c else y, "abs": abs, "minimum": min, "maximum": max,
                 "tanh": _m.tanh, "exp": _m.exp, "log": _m.log}[n[1]]
            return f(*a)
        a, b = ev(n[2], q, kv), ev(n[3], q, kv)
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else _m.inf, "//": a // b if b else 0,
                "%": a % b if b else 0, "&": bool(a) and bool(b), "|": bool(a) or bool(b), "<": a < b,
                "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[n[1]]

    try:
        kept = sum(bool(ev(mask_ir, q, kv)) for q in pts for kv in pts)
    except (LookupError, ValueError, OverflowError):
        return None
    return kept / (samples * samples)


def scaled_factor(s2):
    """(x, c) when s2 = x * c with c a host constant and x depending on qk (e.g. tanh(qk * u) * cap*log2e).

    With c > 0 (checked on the host), the running max can be taken on x and c folded into the exp2's FMA.
    """
    if s2[0] == "bin" and s2[1] == "*" and host_constant(s2[3]) and "qk" in deps(s2[2]) and s2[2] != ("var", "qk"):
        return s2[2], s2[3]
    return None


def split_kv_affine(s2):
    """(rest, a) when s2 = rest + a * kv_idx with a uniform, else None.

    kv_idx = start_n + offs_n, so a * kv_idx = a * offs_n (the same vector for every key block: hoisted)
    + a * start_n (one scalar per block, folded into the running max): no per-block column bias math.
    """
    rest, coeffs = [], []
    for sign, t in _terms(s2):
        c = None
        if t == ("var", "kv_idx"):
            c = ("num", 1)
        elif t[0] == "bin" and t[1] == "*" and t[2] == ("var", "kv_idx") and uniform(t[3]):
            c = t[3]
        elif t[0] == "bin" and t[1] == "*" and t[3] == ("var", "kv_idx") and uniform(t[2]):
            c = t[2]
        if c is None:
            rest.append((sign, t))
        else:
            coeffs.append((sign, c))
    if not coeffs or not rest or not any("qk" in deps(t) for _, t in rest):
        return None

    def build(items):
        out = items[0][1] if items[0][0] > 0 else ("neg", items[0][1])
        for sg, t in items[1:]:
            out = ("bin", "+" if sg > 0 else "-", out, t)
        return out
    return build(rest), build(coeffs)


GRID_VARS = {("q_idx", "//"): "q_row", ("q_idx", "%"): "q_col", ("kv_idx", "//"): "kv_row", ("kv_idx", "%"): "kv_col"}


def grid_layout(mask_ir):
    """(W, mask in grid coordinates) when the mask sees tokens on a 2-D grid of width W, else None.

    That is: it reads q_idx and kv_idx only as `idx // W` and `idx % W` with one host-constant W, and
    depends on a row or column of both (2-D neighbourhoods, windows on images). The rewritten mask uses
    the variables q_row, q_col, kv_row, kv_col, so interval arithmetic can bound rows and columns apart.
    """
    if mask_ir is None:
        return None
    widths = set()

    def rw(n):
        t = n[0]
        if t == "bin" and n[1] in ("//", "%") and n[2][0] == "var" and n[2][1] in ("q_idx", "kv_idx") \
                and host_constant(n[3]) and "scale" not in repr(n[3]):
            widths.add(n[3])
            return ("var", GRID_VARS[(n[2][1], n[1])])
        if t in ("bin", "cmp"):
            return (t, n[1], rw(n[2]), rw(n[3]))
        if t in ("neg", "not"):
            return (t, rw(n[1]))
        if t == "load":
            return ("load", n[1], rw(n[2]))
        if t == "call":
            return ("call", n[1], tuple(rw(a) for a in n[2]))
        return n

    grid = rw(mask_ir)
    d = deps(grid)
    if len(widths) != 1 or d & {"q_idx", "kv_idx"} or not (d & {"q_row", "q_col"}) or not (d & {"kv_row", "kv_col"}):
        return None
    return next(iter(widths)), grid
