"""Triton source text from the IR: element-wise expressions, and interval bounds for block skipping.

Element-wise: names in the kernel are qk, sm_scale, b, h, q_idx ([BLOCK_M, 1]), kv_idx ([1, BLOCK_N]),
p_<param> for numbers, t_<param> / t_<param>_len for tensors. Sub-expressions that do not depend
on kv_idx or qk are hoisted to the program's prologue (computed once, not once per key block).

Intervals: over a query range [q_lo, q_hi] and key range [k_lo, k_hi] (scalars or per-block
vectors), each number gets bounds (lo, hi) and each boolean gets (may, must): may = some element of
the tile can be true, must = every element is. This is conservative, so a tile classified empty
truly is, and one classified full needs no mask.
"""
import math

from lower import deps


def lit(v):
    """A Python literal as Triton source."""
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, float) and math.isinf(v):
        return 'float("inf")' if v > 0 else 'float("-inf")'
    return repr(v)


CALLS = {"tanh": "_tanh", "exp": "tl.math.exp", "log": "tl.math.log", "abs": "tl.abs",
         "minimum": "tl.minimum", "maximum": "tl.maximum", "where": "tl.where"}
VARS = {"qk": "qk", "scale": "sm_scale", "b": "b", "h": "h", "q_idx": "q_idx", "kv_idx": "kv_idx",
        "q_row": "q_row", "q_col": "q_col", "kv_row": "kv_row", "kv_col": "kv_col"}
ROW_VARS = frozenset({"b", "h", "q_idx", "q_row", "q_col"})  # constant along a query row: hoisted
# bounds of the 2-D grid coordinates (lower.grid_layout) in _classify_grid
GRID_BOUNDS = {"q_row": ("qr_lo", "qr_hi"), "q_col": ("qc_lo", "qc_hi"), "kv_row": ("kr_lo", "kr_hi"),
               "kv_col": ("kc_lo", "kc_hi")}


def load_expr(tensor, idx):
    """A bounds-checked gather from a captured tensor (out-of-range indices read 0, as a masked load)."""
    return f"tl.load(t_{tensor} + {idx}, mask=({idx} >= 0) & ({idx} < t_{tensor}_len), other=0)"


class Elementwise:
    """Emits element-wise Triton expressions, hoisting loop-invariant parts into `prologue`."""

    def __init__(self, prefix="_u"):
        self.prologue, self.memo, self.prefix = [], {}, prefix

    def __call__(self, n):
        t = n[0]
        if t not in ("num", "var", "param") and deps(n) <= ROW_VARS:
            if n not in self.memo:
                text = self._raw(n)
                name = f"{self.prefix}{len(self.memo)}"
                self.prologue.append(f"{name} = {text}")
                self.memo[n] = name
            return self.memo[n]
        return self._raw(n)

    def _raw(self, n):
        t = n[0]
        if t == "num":
            return lit(n[1])
        if t == "var":
            return VARS[n[1]]
        if t == "param":
            return f"p_{n[1]}"
        if t == "load":
            return load_expr(n[1], self(n[2]))
        if t in ("bin", "cmp"):
            return f"({self(n[2])} {n[1]} {self(n[3])})"
        if t == "neg":
            return f"(-{self(n[1])})"
        if t == "not":
            return f"(~{self(n[1])})"
        if t == "call":
            return f"{CALLS[n[1]]}({', '.join(self(a) for a in n[2])})"
        raise ValueError(n)


class Intervals:
    """Emits statements computing (lo, hi) / (may, must) of IR nodes over a tile; see the module doc."""

    def __init__(self, elementwise_scalar):
        self.lines, self.count = [], 0
        self.scalar = elementwise_scalar  # emits point values (params, b, h, uniform loads)
        self.kv_tensors, self.q_tensors = set(), set()

    def _tmp(self, text):
        name = f"_i{self.count}"
        self.count += 1
        self.lines.append(f"{name} = {text}")
        return name

    def num(self, n):
        """(lo, hi) source names of a numeric node, or None when unbounded."""
        t = n[0]
        if t in ("num", "param") or (t == "var" and n[1] in ("b", "h", "scale")) or \
                (t == "load" and deps(n) <= {"b", "h"}):
            v = self.scalar(n)
            return v, v
        if t == "var" and n[1] == "q_idx":
            return "q_lo", "q_hi"
        if t == "var" and n[1] == "kv_idx":
            return "k_lo", "k_hi"
        if t == "var" and n[1] in GRID_BOUNDS:
            return GRID_BOUNDS[n[1]]
        if t == "load" and n[2] == ("var", "q_idx"):
            self.q_tensors.add(n[1])
            return f"qmin_{n[1]}", f"qmax_{n[1]}"
        if t == "load" and n[2] == ("var", "kv_idx"):
            self.kv_tensors.add(n[1])
            return f"kmin_{n[1]}", f"kmax_{n[1]}"
        if t == "neg":
            a = self.num(n[1])
            return None if a is None else (self._tmp(f"-{a[1]}"), self._tmp(f"-{a[0]}"))
        if t == "bin" and n[1] in "+-*/%" or (t == "bin" and n[1] == "//"):
            return self._bin(n[1], n[2], n[3])
        if t == "call":
            return self._call(n)
        return None

    def _bin(self, op, an, bn):
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
        if op == "//":  # non-negative operands and a positive divisor (index arithmetic)
            return self._tmp(f"{a[0]} // {b[0]}"), self._tmp(f"{a[1]} // {b[0]}")
        same = self._tmp(f"({a[0]} // {b[0]}) == ({a[1]} // {b[0]})")
        return (self._tmp(f"tl.where({same}, {a[0]} % {b[0]}, 0)"),
                self._tmp(f"tl.where({same}, {a[1]} % {b[0]}, {b[0]} - 1)"))

    def _call(self, n):
        name, args = n[1], n[2]
        if name in ("tanh", "exp", "log"):
            a = self.num(args[0])
            f = CALLS[name]
            return None if a is None else (self._tmp(f"{f}({a[0]})"), self._tmp(f"{f}({a[1]})"))
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
        if name == "where":
            c, x, y = self.boolean(args[0]), self.num(args[1]), self.num(args[2])
            if x is None or y is None:
                return None
            lo = self._tmp(f"tl.where({c[1]}, {x[0]}, tl.where({c[0]}, tl.minimum({x[0]}, {y[0]}), {y[0]}))")
            hi = self._tmp(f"tl.where({c[1]}, {x[1]}, tl.where({c[0]}, tl.maximum({x[1]}, {y[1]}), {y[1]}))")
            return lo, hi
        return None

    def boolean(self, n):
        """(may, must) source names of a boolean node."""
        t = n[0]
        if t == "num":
            return ("(k_lo >= 0)", "(k_lo >= 0)") if n[1] else ("(k_lo < 0)", "(k_lo < 0)")
        if t == "cmp":
            return self._cmp(n[1], n[2], n[3])
        if t == "bin" and n[1] in "&|":
            a, b = self.boolean(n[2]), self.boolean(n[3])
            return self._tmp(f"{a[0]} {n[1]} {b[0]}"), self._tmp(f"{a[1]} {n[1]} {b[1]}")
        if t == "not":
            a = self.boolean(n[1])
            return self._tmp(f"~{a[1]}"), self._tmp(f"~{a[0]}")
        if t == "call" and n[1] == "where":
            c, x, y = (self.boolean(a) for a in n[2])
            may = self._tmp(f"({c[0]} & {x[0]}) | (~{c[1]} & {y[0]})")
            must = self._tmp(f"({c[1]} & {x[1]}) | (~{c[0]} & {y[1]}) | ({x[1]} & {y[1]})")
            return may, must
        return "(k_lo >= 0)", "(k_lo < 0)"  # unknown: maybe, never surely

    def _cmp(self, op, an, bn):
        a, b = self.num(an), self.num(bn)
        if a is None or b is None:
            return "(k_lo >= 0)", "(k_lo < 0)"
        if op in (">", ">="):
            op, a, b = ("<" if op == ">" else "<="), b, a
        if op in ("<", "<="):
            return self._tmp(f"{a[0]} {op} {b[1]}"), self._tmp(f"{a[1]} {op} {b[0]}")
        eq_may = self._tmp(f"({a[0]} <= {b[1]}) & ({b[0]} <= {a[1]})")
        eq_must = self._tmp(f"({a[0]} == {a[1]}) & ({b[0]} == {b[1]}) & ({a[0]} == {b[0]})")
        if op == "==":
            return eq_may, eq_must
        return self._tmp(f"~{eq_must}"), self._tmp(f"~{eq_may}")
