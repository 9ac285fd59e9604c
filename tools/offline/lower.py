"""Lowering of a translated score_mod into the kernel's log2 domain, plus the analyses the template uses.

The kernel works with s2 = log2(e) * score_mod(qk * scale) so the softmax can use exp2. Scalar
factors (scale, log2(e), 1/cap, ...) are pushed through sums, `where` and uniform products until
they meet qk or a non-linear call, so `cap * tanh(score / cap)` becomes `tanh(qk * u0) * u1` with
u0, u1 computed once per program. From the lowered form we read off whether the softmax may use a
fixed bound instead of a running max (tanh-capped scores) and whether q can be pre-scaled.
Works on the typed IR of ir.py.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Set, Tuple, cast, overload

from ir import Bin, Call, Cmp, IRError, Load, Neg, Node, Not, Num, Param, Reduce, TensorInfo, Var, Where, children, substitute, walk, \
    with_children

# {tensor name: ir.TensorInfo} of a variant's captured tensors (ir.Mods.tensor_info)
Info = Dict[str, TensorInfo]

LOG2E = 1.4426950408889634
QK = Var("qk")
ONE = Num(1)
R = Var("r")
# reductions (ir.Reduce): a float sum of a query-side times a key-side factor at least DOT_MIN long is a tl.dot of
# a [BLOCK_M, R] tile with an [R, BLOCK_N] tile (tensor cores); any other is unrolled, up to MAX_UNROLL terms
DOT_MIN = 16
MAX_UNROLL = 64
Q_SIDE = frozenset({"b", "h", "q_idx", "q_row", "q_col", "r"})
KV_VARS = frozenset({"kv_idx", "kv_row", "kv_col"})


def deps(n: Node) -> FrozenSet[str]:
    """The index variables a node depends on: subset of {qk, b, h, q_idx, kv_idx} (and grid coordinates)."""
    if isinstance(n, (Num, Param)) or n == Var("scale"):
        return frozenset()
    if isinstance(n, Var):
        return frozenset(["qk" if n.name in ("qk", "score") else n.name])
    if isinstance(n, Reduce):
        return deps(n.body) - {"r"}
    out: FrozenSet[str] = frozenset()
    for c in children(n):
        out |= deps(c)
    return out


def uniform(n: Node) -> bool:
    """True when a node is the same for a whole program (depends on b, h at most)."""
    return deps(n) <= {"b", "h"}


def host_constant(n: Node) -> bool:
    """True when the host can evaluate a node from the call's numbers alone (no tensors, no indices)."""
    if isinstance(n, (Num, Param)):
        return True
    if isinstance(n, Var):
        return n.name == "scale"
    if isinstance(n, Bin) and n.op in ("+", "-", "*", "/"):
        return host_constant(n.a) and host_constant(n.b)
    if isinstance(n, Neg):
        return host_constant(n.a)
    return False


def has_inf(n: Node) -> bool:
    """True when a node contains an infinite literal (a score_mod that masks by itself)."""
    return any(isinstance(m, Num) and isinstance(m.value, float) and math.isinf(m.value) for m in walk(n))


@overload
def normalize(n: Node, info: Optional[Info] = None) -> Node: ...
@overload
def normalize(n: None, info: Optional[Info] = None) -> None: ...
@overload
def normalize(n: Optional[Node], info: Optional[Info] = None) -> Optional[Node]: ...


def normalize(n: Optional[Node], info: Optional[Info] = None) -> Optional[Node]:
    """clamp / clamp_min / clamp_max as minimum and maximum, small integer powers as products (both kernels and
    the interval analysis then know fewer calls), and reductions unrolled unless they are dots (`dot_factors`;
    info: {tensor: ir.TensorInfo}, to tell float tensors)."""
    if n is None:
        return None
    kids = children(n)
    if kids:
        n = with_children(n, (normalize(c, info) for c in kids))
    if isinstance(n, Reduce):
        return n if dot_factors(n, info) is not None else unroll(n)
    if isinstance(n, Call):
        a = n.args
        if n.fn == "clamp":
            return Call("minimum", (Call("maximum", (a[0], a[1])), a[2]))
        if n.fn == "clamp_min":
            return Call("maximum", a)
        if n.fn == "clamp_max":
            return Call("minimum", a)
        if n.fn == "pow":
            e = cast(int, cast(Num, a[1]).value)  # ir.make_call admits pow only with an integer Num exponent
            if e == 0:
                return Num(1.0)
            out = a[0]
            for _ in range(abs(e) - 1):
                out = Bin("*", out, a[0])
            return out if e > 0 else Bin("/", Num(1.0), out)
    return n


_COMBINE: Dict[str, Callable[[Node, Node], Node]] = {
    "sum": lambda a, b: Bin("+", a, b), "any": lambda a, b: Bin("|", a, b), "all": lambda a, b: Bin("&", a, b),
    "max": lambda a, b: Call("maximum", (a, b)), "min": lambda a, b: Call("minimum", (a, b))}


def unroll(n: Reduce) -> Node:
    """A Reduce as the balanced tree of its size terms (body at r = 0, 1, ...); IRError beyond MAX_UNROLL."""
    if n.size > MAX_UNROLL:
        raise IRError(f"a Reduce {n.op} over {n.size} elements that is not a dot of a query-side and a key-side float factor: "
                      f"the template unrolls reductions of at most {MAX_UNROLL} elements")
    terms = [substitute(n.body, R, Num(i)) for i in range(n.size)]
    while len(terms) > 1:
        terms = [_COMBINE[n.op](terms[i], terms[i + 1]) if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
    return terms[0]


def _factors(n: Node) -> List[Node]:
    if isinstance(n, Bin) and n.op == "*":
        return _factors(n.a) + _factors(n.b)
    if isinstance(n, Neg):
        return [Num(-1.0)] + _factors(n.a)
    return [n]


def _product(fs: Sequence[Node]) -> Node:
    out = fs[0]
    for f in fs[1:]:
        out = Bin("*", out, f)
    return out


def dot_factors(n: Node, info: Optional[Info] = None) -> Optional[Tuple[Node, Node]]:
    """(query side, key side) when a Reduce is a float sum of at least DOT_MIN products whose factors each read
    the query (b, h, q_idx, r) or the key (b, h, kv_idx, r) side, never both, and each side reads a float tensor:
    the sum is then a [BLOCK_M, R] x [R, BLOCK_N] matrix product. None otherwise (unrolled)."""
    if not isinstance(n, Reduce) or n.op != "sum" or n.size < DOT_MIN or info is None:
        return None
    q: List[Node] = []
    kv: List[Node] = []
    for f in _factors(n.body):
        d = deps(f)
        if d & KV_VARS and not (d & (Q_SIDE - {"b", "h", "r"})) and not (d - Q_SIDE - KV_VARS):
            kv.append(f)
        elif d <= Q_SIDE:
            q.append(f)
        else:
            return None

    known = info

    def floats(fs: List[Node]) -> bool:
        return any(isinstance(x, Load) and x.tensor in known and
                   known[x.tensor].dtype.replace("torch.", "") in ("float32", "float16", "bfloat16", "float64")
                   for f in fs for x in walk(f))
    if not kv or not q or not floats(q) or not floats(kv):
        return None
    return _product(q), _product(kv)


def _mul(a: Node, c: Node) -> Node:
    if c == ONE:
        return a
    if isinstance(a, Num) and isinstance(c, Num):
        return Num(a.value * c.value)
    return Bin("*", a, c)


def _div(c: Node, d: Node) -> Node:
    if isinstance(d, Num) and isinstance(c, Num) and d.value != 0:
        return Num(c.value / d.value)
    inv = Bin("/", Num(1.0), d)
    return inv if c == ONE else Bin("*", c, inv)


def distribute(n: Node, c: Node) -> Node:
    """n * c with the uniform factor c pushed down to qk or to non-linear calls."""
    if isinstance(n, Num):
        return _mul(n, c) if isinstance(c, Num) else _mul(c, n)
    if n == QK:
        return _mul(n, c)
    if isinstance(n, Bin) and n.op in ("+", "-"):
        return Bin(n.op, distribute(n.a, c), distribute(n.b, c))
    if isinstance(n, Neg):
        return Neg(distribute(n.a, c))
    if isinstance(n, Bin) and n.op == "*":
        if uniform(n.a):
            return distribute(n.b, _mul(n.a, c))
        if uniform(n.b):
            return distribute(n.a, _mul(n.b, c))
    if isinstance(n, Bin) and n.op == "/" and uniform(n.b):
        return distribute(n.a, _div(c, n.b))
    if isinstance(n, Where):
        return Where(n.cond, distribute(n.a, c), distribute(n.b, c))
    if isinstance(n, Call):
        n = Call(n.fn, tuple(distribute(a, ONE) if "qk" in deps(a) else a for a in n.args))
    return _mul(n, c)


def lower_score(ir: Optional[Node], info: Optional[Info] = None) -> Node:
    """The log2-domain score as a function of qk (the raw q.k dot product) and the kernel's scale."""
    qk_scaled = Bin("*", QK, Var("scale"))
    base = substitute(normalize(ir, info), Var("score"), qk_scaled) if ir is not None else qk_scaled
    return distribute(base, Num(LOG2E))


def qk_factors(n: Node, out: Optional[List[Optional[Node]]] = None) -> List[Optional[Node]]:
    """Every way qk occurs in n: the uniform factor c of each `qk * c`, or None for a bare use."""
    out = [] if out is None else out
    if n == QK:
        out.append(None)
    elif isinstance(n, Bin) and n.op == "*" and n.a == QK and uniform(n.b):
        out.append(n.b)
    else:
        for c in children(n):
            qk_factors(c, out)
    return out


def prescale(n: Node) -> Optional[Tuple[Node, Node]]:
    """(s2 with `qk * c` replaced by qk, c) when every use of qk carries the same uniform factor c."""
    facs = qk_factors(n)
    if not facs or any(f is None or f != facs[0] for f in facs):
        return None
    c = cast(Node, facs[0])  # every factor is the same and none is None (checked above)
    return substitute(n, Bin("*", QK, c), QK), c


def linear_factor(s2: Node) -> Optional[Node]:
    """c when s2 is exactly qk * c with c a positive host constant (scale times literals), else None."""
    if isinstance(s2, Bin) and s2.op == "*" and s2.a == QK and _positive(s2.b):
        return s2.b
    return None


def _positive(n: Node) -> bool:
    if isinstance(n, Num):
        return n.value > 0
    if n == Var("scale"):
        return True  # the softmax scale is positive by contract
    return isinstance(n, Bin) and n.op == "*" and _positive(n.a) and _positive(n.b)


def tanh_bound(s2: Node) -> Optional[Node]:
    """c when s2 = tanh(...) * c with c a host constant, so |s2| <= |c| (the softmax may skip its max)."""
    if isinstance(s2, Bin) and s2.op == "*" and isinstance(s2.a, Call) and s2.a.fn == "tanh" and host_constant(s2.b):
        return s2.b
    return None


def _terms(n: Node, sign: int = 1) -> List[Tuple[int, Node]]:
    """The signed additive terms of a top-level sum."""
    if isinstance(n, Bin) and n.op in ("+", "-"):
        return _terms(n.a, sign) + _terms(n.b, sign if n.op == "+" else -sign)
    if isinstance(n, Neg):
        return _terms(n.a, -sign)
    return [(sign, n)]


def _build(items: Sequence[Tuple[int, Node]]) -> Node:
    out = items[0][1] if items[0][0] > 0 else Neg(items[0][1])
    for sg, t in items[1:]:
        out = Bin("+" if sg > 0 else "-", out, t)
    return out


def drop_row_constants(s2: Node) -> Node:
    """s2 without additive terms that are constant along a row (softmax is shift-invariant per row).

    `qk * c + a * q_idx - a * kv_idx` (ALiBi, relative position) becomes `qk * c - a * kv_idx`: one FMA
    per element instead of a subtract and an FMA. Terms that may be infinite are kept (they mask).
    """
    terms = _terms(s2)
    keep = [(sg, t) for sg, t in terms if not (deps(t) <= {"b", "h", "q_idx"}) or has_inf(t)]
    if len(keep) == len(terms) or not keep:
        return s2
    return _build(keep)


# The calls on Python numbers (estimate_density's evaluator; its values are ints, floats and bools as Python mixes them).
_PY_CALLS: Dict[str, Callable[..., Any]] = {
    "abs": abs, "minimum": min, "maximum": max, "tanh": math.tanh, "exp": math.exp, "log": math.log,
    "exp2": lambda x: 2.0 ** x, "log2": math.log2, "sqrt": math.sqrt, "rsqrt": lambda x: 1 / math.sqrt(x),
    "sigmoid": lambda x: 1 / (1 + math.exp(-x)), "floor": math.floor, "ceil": math.ceil, "sin": math.sin,
    "cos": math.cos, "to_float": float, "to_int": int, "erf": math.erf,
    "gelu": lambda x: 0.5 * x * (1 + math.erf(x / math.sqrt(2))),
    "gelu_tanh": lambda x: 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))}


def estimate_density(mask_ir: Node, params: Mapping[str, Any], seq: int = 4096, samples: int = 96,
                     seq_kv: Optional[int] = None) -> Optional[float]:
    """Fraction of (q, kv) pairs a mask keeps at sequence length seq (keys: seq_kv, default seq), sampled on a grid;
    None if unknown (the mask reads a tensor, or a parameter is a generator)."""
    pts = [int(i * (seq - 1) / (samples - 1)) for i in range(samples)]
    kv_pts = pts if seq_kv is None else [int(i * (seq_kv - 1) / (samples - 1)) for i in range(samples)]

    def ev(n: Node, q: int, kv: int) -> Any:
        if isinstance(n, Num):
            return n.value
        if isinstance(n, Var):
            return {"q_idx": q, "kv_idx": kv, "b": 0, "h": 0}[n.name]
        if isinstance(n, Reduce):
            return ev(unroll(n), q, kv)
        if isinstance(n, Param):
            v = params.get(n.name)
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise LookupError(n.name)
            return v
        if isinstance(n, Load):
            raise LookupError(n.tensor)
        if isinstance(n, Neg):
            return -ev(n.a, q, kv)
        if isinstance(n, Not):
            return not ev(n.a, q, kv)
        if isinstance(n, Where):
            return ev(n.a, q, kv) if ev(n.cond, q, kv) else ev(n.b, q, kv)
        if isinstance(n, Call):
            return _PY_CALLS[n.fn](*(ev(x, q, kv) for x in n.args))
        a, b = ev(n.a, q, kv), ev(n.b, q, kv)
        ints = not isinstance(a, bool) and not isinstance(b, bool) and isinstance(a, int) and isinstance(b, int)
        if n.op in ("&", "|", "^") and ints:  # on integers & | ^ are bitwise (ir.py), on booleans logical
            return {"&": a & b, "|": a | b, "^": a ^ b}[n.op]
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else math.inf, "//": a // b if b else 0,
                "%": a % b if b else 0, "&": bool(a) and bool(b), "|": bool(a) or bool(b), "^": bool(a) != bool(b),
                "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[n.op]

    try:
        kept = sum(bool(ev(mask_ir, q, kv)) for q in pts for kv in kv_pts)
    except (LookupError, ValueError, OverflowError, KeyError, TypeError, IRError):
        return None
    return kept / (samples * samples)


def scaled_factor(s2: Node) -> Optional[Tuple[Node, Node]]:
    """(x, c) when s2 = x * c with c a host constant and x depending on qk (e.g. tanh(qk * u) * cap*log2e).

    With c > 0 (checked on the host), the running max can be taken on x and c folded into the exp2's FMA.
    """
    if isinstance(s2, Bin) and s2.op == "*" and host_constant(s2.b) and "qk" in deps(s2.a) and s2.a != QK:
        return s2.a, s2.b
    return None


def split_kv_affine(s2: Node) -> Optional[Tuple[Node, Node]]:
    """(rest, a) when s2 = rest + a * kv_idx with a uniform, else None.

    kv_idx = start_n + offs_n, so a * kv_idx = a * offs_n (the same vector for every key block: hoisted)
    + a * start_n (one scalar per block, folded into the running max): no per-block column bias math.
    """
    rest: List[Tuple[int, Node]] = []
    coeffs: List[Tuple[int, Node]] = []
    kv = Var("kv_idx")
    for sign, t in _terms(s2):
        c: Optional[Node] = None
        if t == kv:
            c = ONE
        elif isinstance(t, Bin) and t.op == "*" and t.a == kv and uniform(t.b):
            c = t.b
        elif isinstance(t, Bin) and t.op == "*" and t.b == kv and uniform(t.a):
            c = t.a
        if c is None:
            rest.append((sign, t))
        else:
            coeffs.append((sign, c))
    if not coeffs or not rest or not any("qk" in deps(t) for _, t in rest):
        return None
    return _build(rest), _build(coeffs)


GRID_VARS: Dict[Tuple[str, str], str] = {("q_idx", "//"): "q_row", ("q_idx", "%"): "q_col", ("kv_idx", "//"): "kv_row", ("kv_idx", "%"): "kv_col"}


def grid_layout(mask_ir: Optional[Node]) -> Optional[Tuple[Node, Node]]:
    """(W, mask in grid coordinates) when the mask sees tokens on a 2-D grid of width W, else None.

    That is: it reads q_idx and kv_idx only as `idx // W` and `idx % W` with one host-constant W, and
    depends on a row or column of both (2-D neighbourhoods, windows on images). The rewritten mask uses
    the variables q_row, q_col, kv_row, kv_col, so interval arithmetic can bound rows and columns apart.
    """
    if mask_ir is None:
        return None
    widths: Set[Node] = set()

    def rw(n: Node) -> Node:
        if isinstance(n, Bin) and n.op in ("//", "%") and isinstance(n.a, Var) and n.a.name in ("q_idx", "kv_idx") \
                and host_constant(n.b) and Var("scale") not in walk(n.b):
            widths.add(n.b)
            return Var(GRID_VARS[(n.a.name, n.op)])
        kids = children(n)
        return with_children(n, (rw(c) for c in kids)) if kids else n

    grid = rw(mask_ir)
    d = deps(grid)
    if len(widths) != 1 or d & {"q_idx", "kv_idx"} or not (d & {"q_row", "q_col"}) or not (d & {"kv_row", "kv_col"}):
        return None
    return next(iter(widths)), grid


# Score bands: a score that reads the query-key offset o = kv_idx - q_idx only through clamps (a clipped relative
# position: T5/Swin/DeBERTa-style bias tables, `table[h, clamp(kv - q, -M, M) + M]`) is the same function of (b, h)
# on every key block where each clamp saturates. Those blocks take a score with the clamps replaced by their
# saturated values: a gathered bias becomes one value per program (hoisted), instead of a gather per element.
OFFSET = "kv_idx - q_idx"
# A clamp argument's form on one side of the offset axis, valid for every o beyond a threshold:
# ("const", value) or ("affine", s, c) meaning s * o + c; with the threshold (None: everywhere).
_Form = Tuple[Optional[int], Tuple[Any, ...]]


def _int_const(n: Node) -> Optional[int]:
    if isinstance(n, Num) and isinstance(n.value, int) and not isinstance(n.value, bool):
        return n.value
    if isinstance(n, Neg):
        v = _int_const(n.a)
        return None if v is None else -v
    return None


def offset_affine(n: Node) -> Optional[Tuple[int, int]]:
    """(s, c) when an integer expression is s * (kv_idx - q_idx) + c with s = +1 or -1 and c an integer literal."""
    s_kv = s_q = c = 0
    for sign, t in _terms(n):
        k = _int_const(t)
        if k is not None:
            c += sign * k
        elif t == Var("kv_idx"):
            s_kv += sign
        elif t == Var("q_idx"):
            s_q += sign
        else:
            return None
    if s_kv not in (1, -1) or s_q != -s_kv:
        return None
    return s_kv, c


def _tighter(side: int, a: Optional[int], b: int) -> int:
    """The threshold beyond which two conditions both hold: o <= min on the low side, o >= max on the high side."""
    if a is None:
        return b
    return min(a, b) if side < 0 else max(a, b)


def _side_form(n: Node, side: int) -> Optional[_Form]:
    """n's form as o -> -inf (side -1) or o -> +inf (side +1): a constant or s * o + c beyond a threshold."""
    aff = offset_affine(n)
    if aff is not None:
        return None, ("affine", aff[0], aff[1])
    if not (isinstance(n, Call) and n.fn in ("minimum", "maximum") and len(n.args) == 2):
        return None
    a, k = n.args
    if _int_const(a) is not None:
        a, k = k, a
    K = _int_const(k)
    if K is None:
        return None
    inner = _side_form(a, side)
    if inner is None:
        return None
    t0, form = inner
    pick = max if n.fn == "maximum" else min
    if form[0] == "const":
        return t0, ("const", pick(form[1], K))
    _, s, c = form
    cross = K - c if s == 1 else c - K  # where s * o + c == K
    t = _tighter(side, t0, cross)
    grows = s * side > 0  # the argument goes to +inf on this side
    if (n.fn == "maximum") != grows:  # max of a falling argument, min of a rising one: the bound wins
        return t, ("const", K)
    return t, form  # the argument wins past the crossing


def _fold(n: Node) -> Node:
    """Integer + - * of literals folded (the index a saturated clamp leaves behind, e.g. -128 + 128)."""
    kids = children(n)
    if kids:
        n = with_children(n, (_fold(c) for c in kids))
    if isinstance(n, Bin) and n.op in ("+", "-", "*"):
        a, b = _int_const(n.a), _int_const(n.b)
        if a is not None and b is not None:
            return Num(a + b if n.op == "+" else a - b if n.op == "-" else a * b)
    return n


def _saturate(n: Node, side: int, found: List[int]) -> Node:
    """n with every outermost clamp of the offset that is constant on this side replaced by that constant; each
    replacement's threshold is appended to found."""
    if isinstance(n, Call) and n.fn in ("minimum", "maximum"):
        form = _side_form(n, side)
        if form is not None and form[1][0] == "const" and form[0] is not None:
            found.append(form[0])
            return Num(int(form[1][1]))
    kids = children(n)
    return with_children(n, (_saturate(c, side, found) for c in kids)) if kids else n


def _group_row_constants(n: Node) -> Node:
    """A sum with its row-constant terms gathered into one (hoisted as a single value: one add per element)."""
    terms = _terms(n)
    row = [(sg, t) for sg, t in terms if deps(t) <= {"b", "h", "q_idx"}]
    if len(row) < 2 or len(row) == len(terms):
        return n
    rest = [(sg, t) for sg, t in terms if (sg, t) not in row]
    return Bin("+", _build(rest), _build(row))


# Offsets at or beyond +-BAND_LIMIT are no band: no key block lies there, and the kernel's int32 sums stay in range.
BAND_LIMIT = 1 << 30


def _decide(n: Node, side: int, t: int) -> Node:
    """n with each comparison of an offset s * (kv_idx - q_idx) + c against an integer literal decided where it is the
    same for every offset beyond t (o <= t on the low side, o >= t on the high side), then booleans and `where`s of
    decided conditions folded: a bidirectional table's `where(kv - q >= 0, fwd[...], bwd[...])` keeps one branch."""
    kids = children(n)
    if kids:
        n = with_children(n, (_decide(c, side, t) for c in kids))
    if isinstance(n, Cmp):
        for a, b, op in ((n.a, n.b, n.op), (n.b, n.a, _FLIP[n.op])):
            aff, k = offset_affine(a), _int_const(b)
            if aff is None or k is None:
                continue
            s, c = aff
            # the values s * o + c takes beyond t: from the boundary value to -inf or +inf
            edge = s * t + c
            towards = s * side  # +1: the values grow without bound beyond t, -1: they fall
            lo, hi = (edge, None) if towards > 0 else (None, edge)
            verdict = _cmp_range(op, lo, hi, k)
            if verdict is not None:
                return Num(verdict)
    if isinstance(n, Where) and isinstance(n.cond, Num) and isinstance(n.cond.value, bool):
        return n.a if n.cond.value else n.b
    if isinstance(n, Not) and isinstance(n.a, Num) and isinstance(n.a.value, bool):
        return Num(not n.a.value)
    if isinstance(n, Bin) and n.op in ("&", "|"):
        for x, y in ((n.a, n.b), (n.b, n.a)):
            if isinstance(x, Num) and isinstance(x.value, bool):
                if n.op == "&":
                    return y if x.value else Num(False)
                return Num(True) if x.value else y
    return n


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _cmp_range(op: str, lo: Optional[int], hi: Optional[int], k: int) -> Optional[bool]:
    """`x op k` for every integer x in [lo, hi] (None: unbounded on that side), or None when it depends on x."""
    if _cmp_range_all(op, lo, hi, k):
        return True
    if _cmp_range_all(_NEGATE[op], lo, hi, k):
        return False
    return None


_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def _cmp_range_all(op: str, lo: Optional[int], hi: Optional[int], k: int) -> bool:
    """True when `x op k` holds for every integer x in [lo, hi] (== never does on a range unbounded on one side)."""
    if op == "<":
        return hi is not None and hi < k
    if op == "<=":
        return hi is not None and hi <= k
    if op == ">":
        return lo is not None and lo > k
    if op == ">=":
        return lo is not None and lo >= k
    if op == "!=":
        return (hi is not None and hi < k) or (lo is not None and lo > k)
    return False


def _gathers(n: Node) -> int:
    """Loads whose index reads a query or key index (a gather per element or per row)."""
    return sum(1 for m in walk(n) if isinstance(m, Load) and deps(m) & {"q_idx", "kv_idx"})


def saturated(n: Node, side: int) -> Optional[Tuple[int, Node]]:
    """(t, n beyond t) when some clamp of kv_idx - q_idx in n saturates for every offset beyond t on this side (low:
    o <= t, high: o >= t), with the clamps folded and the offset comparisons decided there; None when none does, or
    only beyond +-BAND_LIMIT."""
    found: List[int] = []
    sat = _saturate(n, side, found)
    if not found:
        return None
    t = min(found) if side < 0 else max(found)
    if abs(t) >= BAND_LIMIT:
        return None
    return t, _fold(_decide(sat, side, t))


def score_bands(s2: Node) -> Optional[Dict[str, Any]]:
    """The score on the key blocks beyond the offsets where its clamps of kv_idx - q_idx saturate, or None.

    {"lo": (threshold, score) or None, "hi": ..., "gather": bool}: for every (q, kv) with kv - q <= lo's threshold
    the score equals lo's score (likewise kv - q >= hi's threshold); gather: a per-element gather disappears there.
    """
    if "kv_idx" not in deps(s2):
        return None
    out: Dict[str, Any] = {"lo": None, "hi": None, "gather": False}
    for key, side in (("lo", -1), ("hi", 1)):
        t_sat = saturated(s2, side)
        if t_sat is None:
            continue
        t, sat = t_sat
        sat = _group_row_constants(sat)
        out[key] = (t, sat)
        out["gather"] = out["gather"] or _gathers(sat) < _gathers(s2)
    return out if out["lo"] or out["hi"] else None
