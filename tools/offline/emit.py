"""Triton source text from the IR: element-wise expressions, and interval bounds for block skipping.

Element-wise: names in the hooks are qk, sm_scale, b, h, q_idx ([BLOCK_M, 1]), kv_idx ([1, BLOCK_N]),
p_<param> for numbers, and for a captured tensor t of rank r: t_<t> (pointer), t_<t>_s<i> (strides) and
t_<t>_n<i> (sizes). Sub-expressions that do not depend on kv_idx or qk are hoisted to the prologue hook
(computed once per program, not once per key block).

Intervals: over a query range [q_lo, q_hi] and key range [k_lo, k_hi] (scalars or per-block
vectors), each number gets bounds (lo, hi) and each boolean gets (may, must): may = some element of
the tile can be true, must = every element is. This is conservative, so a tile classified empty
truly is, and one classified full needs no mask. `unbounded` records whether some comparison could not
be bounded (the classifier then keeps every block: such masks want the block-sparse path).
"""
from __future__ import annotations

import math
from typing import AbstractSet, Callable, Dict, List, Optional, Sequence, Set, Tuple, Union, cast

from ir import Bin, Call, Cmp, Load, Neg, Node, Not, Num, Param, Reduce, Var, Where, walk
from lower import Info, deps, dot_factors

# A numeric node's (lo, hi) or a boolean node's (may, must): the names (or literal text) of two source values.
Bounds = Tuple[str, str]


def lit(v: Union[int, float, bool]) -> str:
    """A Python literal as Triton source."""
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, float) and math.isinf(v):
        return 'float("inf")' if v > 0 else 'float("-inf")'
    return repr(v)


CALLS = {"tanh": "_tanh_fast", "exp": "tl.math.exp", "exp2": "tl.math.exp2", "log": "tl.math.log",
         "log2": "tl.math.log2", "sqrt": "tl.sqrt", "rsqrt": "tl.rsqrt", "sigmoid": "tl.sigmoid", "abs": "tl.abs",
         "floor": "tl.floor", "ceil": "tl.ceil", "sin": "tl.sin", "cos": "tl.cos", "minimum": "tl.minimum",
         "maximum": "tl.maximum", "erf": "tl.math.erf", "gelu": "_gelu"}
TANH_FLAVOUR = {"exact": 0, "fast": 1, "bf16x2": 2}  # _gelu_tanh's TANH switch (kernel_template.py)
DOT_DTYPES: Dict[Optional[str], str] = {"bfloat16": "tl.bfloat16", "float16": "tl.float16"}  # tiles a dot reads in their own dtype
TANH = {"fast": "_tanh_fast", "bf16x2": "_tanh_bf16x2", "exact": "_tanh_exact"}
VARS = {"qk": "qk", "scale": "sm_scale", "b": "b", "h": "h", "q_idx": "q_idx", "kv_idx": "kv_idx",
        "q_row": "q_row", "q_col": "q_col", "kv_row": "kv_row", "kv_col": "kv_col"}
ROW_VARS = frozenset({"b", "h", "q_idx", "q_row", "q_col"})  # constant along a query row: hoisted
# bounds of the 2-D grid coordinates (lower.grid_layout) in _classify_grid
GRID_BOUNDS = {"q_row": ("qr_lo", "qr_hi"), "q_col": ("qc_lo", "qc_hi"), "kv_row": ("kr_lo", "kr_hi"),
               "kv_col": ("kc_lo", "kc_hi")}
INDEX_VARS = frozenset({"b", "h", "q_idx", "kv_idx", "q_row", "q_col", "kv_row", "kv_col"})


def nonneg(n: Node) -> bool:
    """True when an integer expression is provably >= 0 (indices, non-negative literals, sums and products of
    those): // and % then truncate like floor and need no sign fix-up."""
    if isinstance(n, Var):
        return n.name in INDEX_VARS
    if isinstance(n, Num):
        return not isinstance(n.value, bool) and n.value >= 0
    if isinstance(n, Bin) and n.op in ("+", "*", "//", "%"):
        return nonneg(n.a) and nonneg(n.b)
    if isinstance(n, Call) and n.fn in ("minimum", "maximum"):
        return all(nonneg(a) for a in n.args) if n.fn == "minimum" else any(nonneg(a) for a in n.args)
    return False


def tensor_args(name: str, rank: int) -> List[str]:
    """The kernel-side names of a captured tensor: pointer, strides, sizes."""
    return [f"t_{name}"] + [f"t_{name}_s{i}" for i in range(rank)] + [f"t_{name}_n{i}" for i in range(rank)]


def load_expr(tensor: str, idx: Sequence[str]) -> str:
    """A bounds-checked gather from a captured tensor (out-of-range indices read 0, as a masked load); a 0-d
    tensor is one scalar load."""
    if not idx:
        return f"tl.load(t_{tensor})"
    off = " + ".join(f"{i} * t_{tensor}_s{d}" for d, i in enumerate(idx))
    ok = " & ".join((f"({i} < t_{tensor}_n{d})" if i.isdigit() else f"({i} >= 0) & ({i} < t_{tensor}_n{d})")
                    for d, i in enumerate(idx))
    return f"tl.load(t_{tensor} + {off}, mask={ok}, other=0)"


class Elementwise:
    """Emits element-wise Triton expressions, hoisting loop-invariant parts into `prologue`."""

    prologue: List[str]
    memo: Dict[object, str]  # a hoisted node (or a tagged tuple of one) -> its name in the prologue
    prefix: str
    tanh: str
    hoist: AbstractSet[str]

    def __init__(self, prefix: str = "_u", tanh: str = "fast", hoist: AbstractSet[str] = ROW_VARS, info: Optional[Info] = None) -> None:
        self.prologue, self.memo, self.prefix, self.tanh, self.hoist = [], {}, prefix, TANH[tanh], hoist
        self.flavour = TANH_FLAVOUR[tanh]
        self.info = info or {}  # {tensor: ir.TensorInfo}: dtypes of the tiles a dot reads
        self.r: Optional[str] = None  # the text of Var("r") while a dot's tile is emitted

    def __call__(self, n: Node) -> str:
        if not isinstance(n, (Num, Var, Param)) and deps(n) <= self.hoist:
            return self._hoisted(n, lambda: self._raw(n))
        return self._raw(n)

    def in_prologue(self, n: Node) -> str:
        """The name of a row-constant node computed in the prologue, even a bare variable or number (for hooks such
        as _qscale that see only the prologue's values)."""
        return self._hoisted(("value", n), lambda: self._raw(n))

    def _hoisted(self, key: object, text: Callable[[], str]) -> str:
        if key not in self.memo:
            body = text()
            name = f"{self.prefix}{len(self.memo)}"
            self.prologue.append(f"{name} = {body}")
            self.memo[key] = name
        return self.memo[key]

    def _tile(self, n: Node, r: str) -> str:
        saved, self.r = self.r, r
        try:
            return self(n)
        finally:
            self.r = saved

    def _dot(self, n: Reduce) -> str:
        """A float sum of query-side times key-side factors (lower.dot_factors) as one tl.dot per key block: the
        query side is a [BLOCK_M, RP] tile loaded once per program, the key side an [RP, BLOCK_N] tile (RP: the
        length rounded up to a power of two >= 16, the padding zeroed on the query side)."""
        qf, kf = cast(Tuple[Node, Node], dot_factors(n, self.info))  # _raw calls this only for a dot
        rp = max(16, 1 << (n.size - 1).bit_length())
        dts = {self.info[f.tensor].dtype.replace("torch.", "") if isinstance(f, Load) and f.tensor in self.info else None
               for f in (qf, kf)}
        dt = DOT_DTYPES.get(next(iter(dts))) if len(dts) == 1 else None
        row, col = f"tl.arange(0, {rp})[None, :]", f"tl.arange(0, {rp})[:, None]"

        def a_tile() -> str:
            a = self._tile(qf, row)
            if rp != n.size:
                a = f"tl.where({row} < {n.size}, {a}, 0)"
            return f"tl.broadcast_to(({a}).to({dt or 'tl.float32'}), q_idx.shape[0], {rp})"
        a = self._hoisted(("dot_q", qf, rp), a_tile)
        b = f"tl.broadcast_to(({self._tile(kf, col)}).to({dt or 'tl.float32'}), {rp}, kv_idx.shape[1])"
        # fp32 tiles on tf32 tensor cores (Triton's default for fp32, said explicitly); 16-bit tiles as they are
        return f"tl.dot({a}, {b})" if dt else f'tl.dot({a}, {b}, input_precision="tf32")'

    def _raw(self, n: Node) -> str:
        if isinstance(n, Num):
            return lit(n.value)
        if isinstance(n, Var) and n.name == "r":
            if self.r is None:
                raise ValueError("Var('r') outside a dot's tile")
            return self.r
        if isinstance(n, Var):
            return VARS[n.name]
        if isinstance(n, Reduce):
            if dot_factors(n, self.info) is None:
                raise ValueError(f"a {n.op} Reduce that is not a dot reached the emitter (lower.normalize unrolls it)")
            return self._dot(n)
        if isinstance(n, Param):
            return f"p_{n.name}"
        if isinstance(n, Load):
            return load_expr(n.tensor, [self(i) for i in n.index])
        if isinstance(n, Bin) and n.op in ("//", "%") and not (nonneg(n.a) and (isinstance(n.b, Param) or nonneg(n.b))):
            # a captured scalar divisor is taken as positive (index arithmetic); other signs get floor semantics
            return f"{'_floor_div' if n.op == '//' else '_floor_mod'}({self(n.a)}, {self(n.b)})"
        if isinstance(n, Cmp) and n.op in ("==", "!=") and n.b == Num(0) and isinstance(n.a, Bin) and n.a.op == "%":
            # divisibility does not depend on the sign convention of %: no floor fix-up
            return f"(({self(n.a.a)} % {self(n.a.b)}) {n.op} 0)"
        if isinstance(n, (Bin, Cmp)):
            return f"({self(n.a)} {n.op} {self(n.b)})"
        if isinstance(n, Neg):
            return f"(-{self(n.a)})"
        if isinstance(n, Not):
            return f"(~{self(n.a)})"
        if isinstance(n, Where):
            return f"tl.where({self(n.cond)}, {self(n.a)}, {self(n.b)})"
        if isinstance(n, Call):
            args = [self(a) for a in n.args]
            if n.fn == "to_float":
                return f"({args[0]}).to(tl.float32)"
            if n.fn == "to_int":
                return f"({args[0]}).to(tl.int32)"
            if n.fn == "gelu_tanh":  # with the config's tanh
                return f"_gelu_tanh({args[0]}, {self.flavour})"
            return f"{self.tanh if n.fn == 'tanh' else CALLS[n.fn]}({', '.join(args)})"
        raise ValueError(n)


MONOTONE = ("tanh", "exp", "exp2", "log", "log2", "sqrt", "sigmoid", "floor", "ceil", "to_float", "to_int", "erf")


class Intervals:
    """Emits statements computing (lo, hi) / (may, must) of IR nodes over a tile; see the module doc."""

    lines: List[str]
    count: int
    kv_tensors: Set[str]
    q_tensors: Set[str]

    def __init__(self, elementwise_scalar: Elementwise) -> None:
        self.lines, self.count = [], 0
        self.scalar = elementwise_scalar  # emits point values (params, b, h, uniform loads)
        self.kv_tensors, self.q_tensors = set(), set()
        self.unbounded = False

    def _tmp(self, text: str) -> str:
        name = f"_i{self.count}"
        self.count += 1
        self.lines.append(f"{name} = {text}")
        return name

    def num(self, n: Node) -> Optional[Bounds]:
        """(lo, hi) source names of a numeric node, or None when unbounded."""
        if isinstance(n, (Num, Param)) or (isinstance(n, Var) and n.name in ("b", "h", "scale")) or \
                (isinstance(n, Load) and deps(n) <= {"b", "h"}):
            v = self.scalar(n)
            return v, v
        if n == Var("q_idx"):
            return "q_lo", "q_hi"
        if n == Var("kv_idx"):
            return "k_lo", "k_hi"
        if isinstance(n, Var) and n.name in GRID_BOUNDS:
            return GRID_BOUNDS[n.name]
        if isinstance(n, Load) and n.index == (Var("q_idx"),):
            self.q_tensors.add(n.tensor)
            return f"qmin_{n.tensor}", f"qmax_{n.tensor}"
        if isinstance(n, Load) and n.index == (Var("kv_idx"),):
            self.kv_tensors.add(n.tensor)
            return f"kmin_{n.tensor}", f"kmax_{n.tensor}"
        if isinstance(n, Neg):
            a = self.num(n.a)
            return None if a is None else (self._tmp(f"-{a[1]}"), self._tmp(f"-{a[0]}"))
        if isinstance(n, Bin) and n.op in ("+", "-", "*", "/", "//", "%"):
            return self._bin(n.op, n.a, n.b)
        if isinstance(n, Call):
            return self._call(n)
        if isinstance(n, Where):
            c, x, y = self.boolean(n.cond), self.num(n.a), self.num(n.b)
            if x is None or y is None:
                return None
            lo = self._tmp(f"tl.where({c[1]}, {x[0]}, tl.where({c[0]}, tl.minimum({x[0]}, {y[0]}), {y[0]}))")
            hi = self._tmp(f"tl.where({c[1]}, {x[1]}, tl.where({c[0]}, tl.maximum({x[1]}, {y[1]}), {y[1]}))")
            return lo, hi
        return None

    def _bin(self, op: str, an: Node, bn: Node) -> Optional[Bounds]:
        a, b = self.num(an), self.num(bn)
        if a is None or b is None:
            return None
        if op == "+":
            return self._tmp(f"{a[0]} + {b[0]}"), self._tmp(f"{a[1]} + {b[1]}")
        if op == "-":
            return self._tmp(f"{a[0]} - {b[1]}"), self._tmp(f"{a[1]} - {b[0]}")
        if op in ("*", "/"):
            c = [self._tmp(f"{x} {op} {y}") for x in a for y in b] if op == "*" or b[0] == b[1] else None
            if c is None:
                return None
            return (self._tmp(f"tl.minimum(tl.minimum({c[0]}, {c[1]}), tl.minimum({c[2]}, {c[3]}))"),
                    self._tmp(f"tl.maximum(tl.maximum({c[0]}, {c[1]}), tl.maximum({c[2]}, {c[3]}))"))
        if b[0] != b[1]:
            return None  # // and % by a varying divisor: no bound
        if not nonneg(an):
            return None  # floor semantics of a possibly negative dividend: no bound kept simple
        if op == "//":  # non-negative operands and a positive divisor (index arithmetic)
            return self._tmp(f"{a[0]} // {b[0]}"), self._tmp(f"{a[1]} // {b[0]}")
        same = self._tmp(f"({a[0]} // {b[0]}) == ({a[1]} // {b[0]})")
        return (self._tmp(f"tl.where({same}, {a[0]} % {b[0]}, 0)"),
                self._tmp(f"tl.where({same}, {a[1]} % {b[0]}, {b[0]} - 1)"))

    def _call(self, n: Call) -> Optional[Bounds]:
        name, args = n.fn, n.args
        if name in MONOTONE:
            a = self.num(args[0])
            if a is None:
                return None
            if name in ("to_float", "to_int"):  # monotone conversions: convert the bounds
                ty = "tl.float32" if name == "to_float" else "tl.int32"
                return self._tmp(f"({a[0]}).to({ty})"), self._tmp(f"({a[1]}).to({ty})")
            f = self.scalar.tanh if name == "tanh" else CALLS[name]
            return self._tmp(f"{f}({a[0]})"), self._tmp(f"{f}({a[1]})")
        if name in ("minimum", "maximum"):
            a, b = self.num(args[0]), self.num(args[1])
            if a is None or b is None:
                return None
            f = CALLS[name]
            return self._tmp(f"{f}({a[0]}, {b[0]})"), self._tmp(f"{f}({a[1]}, {b[1]})")
        if name == "abs":
            a = self.num(args[0])
            if a is None:
                return None
            lo = self._tmp(f"tl.where({a[0]} >= 0, {a[0]}, tl.where({a[1]} <= 0, -{a[1]}, 0))")
            return lo, self._tmp(f"tl.maximum(-{a[0]}, {a[1]})")
        return None

    def _unknown(self) -> Bounds:
        self.unbounded = True
        return "(k_lo >= 0)", "(k_lo < 0)"  # unknown: maybe, never surely

    def boolean(self, n: Node) -> Bounds:
        """(may, must) source names of a boolean node."""
        if isinstance(n, Num):
            return ("(k_lo >= 0)", "(k_lo >= 0)") if n.value else ("(k_lo < 0)", "(k_lo < 0)")
        if isinstance(n, Cmp):
            return self._cmp(n.op, n.a, n.b)
        if isinstance(n, Bin) and n.op in ("&", "|"):
            a, b = self.boolean(n.a), self.boolean(n.b)
            return self._tmp(f"{a[0]} {n.op} {b[0]}"), self._tmp(f"{a[1]} {n.op} {b[1]}")
        if isinstance(n, Not):
            a = self.boolean(n.a)
            return self._tmp(f"~{a[1]}"), self._tmp(f"~{a[0]}")
        if isinstance(n, Where):
            c, x, y = self.boolean(n.cond), self.boolean(n.a), self.boolean(n.b)
            may = self._tmp(f"({c[0]} & {x[0]}) | (~{c[1]} & {y[0]})")
            must = self._tmp(f"({c[1]} & {x[1]}) | (~{c[0]} & {y[1]}) | ({x[1]} & {y[1]})")
            return may, must
        return self._unknown()

    def _cmp(self, op: str, an: Node, bn: Node) -> Bounds:
        a, b = self.num(an), self.num(bn)
        if a is None or b is None:
            return self._unknown()
        if op in (">", ">="):
            op, a, b = ("<" if op == ">" else "<="), b, a
        if op in ("<", "<="):
            return self._tmp(f"{a[0]} {op} {b[1]}"), self._tmp(f"{a[1]} {op} {b[0]}")
        eq_may = self._tmp(f"({a[0]} <= {b[1]}) & ({b[0]} <= {a[1]})")
        eq_must = self._tmp(f"({a[0]} == {a[1]}) & ({b[0]} == {b[1]}) & ({a[0]} == {b[0]})")
        if op == "==":
            return eq_may, eq_must
        return self._tmp(f"~{eq_must}"), self._tmp(f"~{eq_may}")


def reads_tensor_by_kv(mask: Node) -> bool:
    """True when the mask reads a captured tensor at an index that depends on kv_idx."""
    return any(isinstance(n, Load) and "kv_idx" in deps(n) for n in walk(mask))
