"""Lowers a traced mod (an aten-level torch.fx graph) to kforge's typed IR, in its JSON form (tools/offline/ir.py
documents it; that module lives outside the sandbox, so this one emits the same plain dicts).

Captured tensors are graph constants; `names` maps each one (by identity) to the variable it came from, and an
indexed constant becomes {"load": name, "index": [...]} (nested and computed indices included). An op with no
IR counterpart raises LowerError naming the op, the user's file and line.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, Optional

import torch

from .trace_mods import node_location, source_line

BIN = {"add": "+", "sub": "-", "mul": "*", "div": "/", "true_divide": "/", "remainder": "%", "floor_divide": "//",
       "bitwise_and": "&", "logical_and": "&", "__and__": "&", "bitwise_or": "|", "logical_or": "|", "__or__": "|",
       "bitwise_xor": "^", "logical_xor": "^", "__xor__": "^"}
CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
UNARY = {"tanh", "exp", "exp2", "log", "log2", "sqrt", "rsqrt", "sigmoid", "abs", "floor", "ceil", "sin", "cos"}
SAME = {"clone", "detach", "alias", "lift_fresh_copy", "lift_fresh", "expand", "view", "_unsafe_view", "reshape",
        "squeeze", "unsqueeze", "contiguous", "expand_copy", "view_copy", "squeeze_copy", "unsqueeze_copy", "copy"}
FILLS = {"scalar_tensor": 0, "full": 1, "full_like": 1, "new_full": 2}
FIXED = {"zeros_like": 0, "ones_like": 1, "new_zeros": 0, "new_ones": 1, "zeros": 0, "ones": 1}
POW_RANGE = range(-4, 9)
MAX_TREE = 20000  # IR is a tree: a value used twice is inlined twice, so unrolled loops can grow it exponentially


class LowerError(Exception):
    """An op the kernel IR cannot express; names the construct, the file and the line."""

    def __init__(self, construct: str, file: Optional[str], line: Optional[int], message: str):
        super().__init__(message)
        self.construct, self.file, self.line, self.message = construct, file, line, message

    def as_dict(self) -> dict:
        return {"construct": self.construct, "file": self.file, "line": self.line, "message": self.message}


@dataclass
class TRef:
    """A captured tensor, indexed so far by `index` (a Load once every dimension has an index)."""
    name: str
    tensor: torch.Tensor
    index: tuple = ()


@dataclass
class Anon:
    """A tensor the mod made itself (not captured): an error where it is first used (that op has a location)."""
    tensor: torch.Tensor


@dataclass
class Lowered:
    """One mod's IR and what it reads."""
    ir: dict
    tensors: Dict[str, dict] = field(default_factory=dict)  # name -> {"rank", "dtype"}
    scalars: Dict[str, torch.Tensor] = field(default_factory=dict)  # 0-d captured tensors (Param)


def num(v) -> dict:
    if isinstance(v, bool):
        return {"num": v}
    if isinstance(v, float) and math.isinf(v):
        return {"num": "inf" if v > 0 else "-inf"}
    if isinstance(v, float) and math.isnan(v):
        raise ValueError("nan")
    return {"num": v}


class Lowerer:
    """Walks the graph in order; env maps each fx node to its IR dict (or a TRef)."""

    def __init__(self, gm, kind: str, names: Dict[int, str], files):
        self.gm, self.kind, self.names, self.files = gm, kind, names, list(files)
        self.env: dict = {}
        self.out = Lowered({})
        self.node = None

    def run(self) -> Lowered:
        placeholders = iter(("score", "b", "h", "q_idx", "kv_idx") if self.kind == "score" else ("b", "h", "q_idx", "kv_idx"))
        for node in self.gm.graph.nodes:
            self.node = node
            if node.op == "placeholder":
                self.env[node] = {"var": next(placeholders)}
            elif node.op == "get_attr":
                self.env[node] = self.constant(getattr(self.gm, node.target))
            elif node.op == "call_function":
                self.env[node] = self.call(node)
            elif node.op == "output":
                res = self.arg(node.args[0][0] if isinstance(node.args[0], (tuple, list)) else node.args[0])
                self.out.ir = self.value(res, "the returned value")
                if tree_size(self.out.ir) > MAX_TREE:
                    self.fail("expression too large", f"the expression has over {MAX_TREE} nodes once loops are unrolled "
                              "and shared values inlined")
            else:
                self.fail(node.op, f"the fx operation {node.op} {node.target}")
        return self.out

    # -- values --
    def constant(self, t: torch.Tensor):
        name = self.names.get(id(t))
        if name is not None:
            if t.dim() == 0:
                self.out.scalars[name] = t
                return {"param": name}
            return TRef(name, t)
        if t.dim() == 0 or t.numel() == 1:
            return num(t.reshape(()).item())
        return Anon(t)

    def arg(self, a):
        if isinstance(a, torch.fx.Node):
            return self.env[a]
        if isinstance(a, (bool, int, float)):
            return num(a)
        if a is None:
            return None
        if isinstance(a, (list, tuple)):
            return [self.arg(x) for x in a]
        self.fail(type(a).__name__, f"the argument {a!r}")

    def value(self, v, what: str) -> dict:
        if isinstance(v, TRef):
            if v.index and len(v.index) == v.tensor.dim():
                return self.load(v)
            self.fail("tensor slice", f"{what} is a whole captured tensor or a slice of one (`{v.name}` indexed by "
                      f"{len(v.index)} of its {v.tensor.dim()} dimensions); index every dimension")
        return v

    def load(self, v: TRef) -> dict:
        self.out.tensors[v.name] = {"rank": v.tensor.dim(), "dtype": str(v.tensor.dtype).replace("torch.", "")}
        return {"load": v.name, "index": list(v.index)}

    # -- ops --
    def call(self, node):
        full = str(node.target)
        parts = full.split(".")
        op = parts[1] if parts[0] == "aten" and len(parts) > 1 else parts[-1]
        op = op.rstrip("_") if op.endswith("_") and not op.startswith("__") else op
        a = [self.arg(x) for x in node.args]
        kw = {k: self.arg(v) if k not in ("dtype", "layout", "device", "pin_memory", "memory_format", "rounding_mode") else v
              for k, v in node.kwargs.items()}
        if any(isinstance(x, Anon) for x in a):
            if op in SAME:
                return a[0]
            t = next(x for x in a if isinstance(x, Anon)).tensor
            self.fail("tensor created in the mod", f"a tensor of shape {list(t.shape)} created inside the mod (not captured "
                      "from the factory or the module): create it in the factory or at module level so it can be passed to the kernel")
        if op == "index":
            return self.index(a[0], a[1])
        if op == "select" and isinstance(a[0], TRef) and self.lit(a[1]) == 0:
            return self.index(a[0], [a[2]])
        if any(isinstance(x, TRef) for x in a):
            a = [self.value(x, f"an operand of {op}") if isinstance(x, TRef) else x for x in a]
        if op in SAME:
            return a[0]
        if op in BIN:
            return self.binary(op, a, kw)
        if op in ("__rshift__", "__lshift__", "bitwise_right_shift", "bitwise_left_shift") and isinstance(self.lit(a[1]), int):
            # integer shifts by a constant: floor division / multiplication by a power of two (exact, also for < 0)
            return {"bin": "//" if "right" in op or "rshift" in op else "*", "a": a[0], "b": num(2 ** self.lit(a[1]))}
        if op == "rsub":
            alpha = kw.get("alpha") or (a[2] if len(a) > 2 else None)
            return {"bin": "-", "a": a[1], "b": self.scaled(a[0], alpha)}
        if op in CMP:
            return {"cmp": CMP[op], "a": a[0], "b": a[1]}
        if op in UNARY:
            return {"call": op, "args": [a[0]]}
        if op in ("neg", "negative"):
            return {"neg": a[0]}
        if op in ("bitwise_not", "logical_not"):
            return {"not": a[0]}
        if op == "where":
            return {"where": [a[0], a[1], a[2]]}
        if op == "masked_fill":
            return {"where": [a[1], a[2], a[0]]}
        if op in ("minimum", "maximum", "fmin", "fmax"):
            return {"call": "minimum" if op in ("minimum", "fmin") else "maximum", "args": [a[0], a[1]]}
        if op in ("clamp", "clip"):
            lo = kw.get("min", a[1] if len(a) > 1 else None)
            hi = kw.get("max", a[2] if len(a) > 2 else None)
            if lo is not None and hi is not None:
                return {"call": "clamp", "args": [a[0], lo, hi]}
            if lo is not None or hi is not None:
                return {"call": "clamp_min" if lo is not None else "clamp_max", "args": [a[0], lo if lo is not None else hi]}
            return a[0]
        if op in ("clamp_min", "clamp_max"):
            return {"call": op, "args": [a[0], a[1]]}
        if op == "pow":
            return self.power(a)
        if op == "square":
            return {"call": "pow", "args": [a[0], num(2)]}
        if op == "reciprocal":
            return {"bin": "/", "a": num(1.0), "b": a[0]}
        if op in FILLS:
            return self.fill(a[FILLS[op]], node.kwargs.get("dtype"))
        if op in FIXED:
            return self.fill(FIXED[op], node.kwargs.get("dtype"))
        if op in ("_to_copy", "to", "type_as", "_to_dtype"):
            return self.convert(node, a[0])
        if op == "_local_scalar_dense":
            self.fail(".item()", "reading a tensor's value into Python (.item(), int(), float(), bool())")
        self.fail(f"torch op {op}", f"`{full}` has no counterpart in the kernel IR (supported: arithmetic, comparisons, "
                  "& | ~, where, clamp, minimum/maximum, abs, exp, exp2, log, log2, sqrt, rsqrt, tanh, sigmoid, floor, "
                  "ceil, sin, cos, integer powers, dtype casts, indexing captured tensors)")

    def binary(self, op: str, a, kw) -> dict:
        if op == "div" and kw.get("rounding_mode") is not None:
            if kw["rounding_mode"] != "floor":
                self.fail("div(rounding_mode='trunc')", "division with rounding_mode='trunc'; use // (floor) or torch.floor")
            return {"bin": "//", "a": a[0], "b": a[1]}
        alpha = kw.get("alpha") or (a[2] if len(a) > 2 and op in ("add", "sub") else None)
        x, y, sym = a[0], self.scaled(a[1], alpha), BIN[op]
        # identities that and_masks/or_masks and unrolled loops leave behind (exact for booleans and integers)
        for p, q in ((x, y), (y, x)):
            v = self.lit(p)
            if (sym == "&" and v is True) or (sym == "|" and v is False) or (sym == "+" and type(v) is int and v == 0):
                return q
        return {"bin": sym, "a": x, "b": y}

    def scaled(self, x, alpha):
        if alpha is None or alpha == num(1):
            return x
        return {"bin": "*", "a": x, "b": alpha}

    def power(self, a) -> dict:
        base, exp = a[0], a[1]
        e = self.lit(exp)
        if e is not None and not isinstance(self.lit(base), (int, float)):
            if float(e) == 0.5:
                return {"call": "sqrt", "args": [base]}
            if float(e) == -0.5:
                return {"call": "rsqrt", "args": [base]}
            if float(e).is_integer() and int(e) in POW_RANGE:
                return {"call": "pow", "args": [base, num(int(e))]}
        b = self.lit(base)
        if b == 2:
            return {"call": "exp2", "args": [exp]}
        if b is not None and b > 0:
            return {"call": "exp2", "args": [{"bin": "*", "a": exp, "b": num(math.log2(b))}]}
        self.fail("pow", "a power with a non-constant or non-integer exponent (supported: integer exponents -4..8, 0.5, "
                  "-0.5, and a positive constant base)")

    def fill(self, v, dtype):
        v = self.lit(v) if isinstance(v, dict) else v
        if dtype == torch.bool:
            return num(bool(v))
        if dtype is not None and dtype.is_floating_point:
            return num(float(v))
        if dtype is not None:
            return num(int(v))
        return num(v)

    def convert(self, node, x) -> dict:
        dtype = node.kwargs.get("dtype") or next((a for a in node.args[1:] if isinstance(a, torch.dtype)), None)
        src = dtype_of(node.args[0])
        if dtype is None or src is None or dtype == src:
            return x
        if dtype == torch.bool:
            return {"cmp": "!=", "a": x, "b": num(0)}
        if dtype.is_floating_point:
            return x if src.is_floating_point else {"call": "to_float", "args": [x]}
        return {"call": "to_int", "args": [x]} if src.is_floating_point else x

    def index(self, base, idx):
        if not isinstance(base, TRef):
            self.fail("indexing a computed tensor", "indexing something other than a captured tensor")
        if any(i is None for i in idx):
            self.fail("slice indexing", f"indexing `{base.name}` with a slice or None; index it with one expression per dimension")
        index = base.index + tuple(self.value(i, "an index") for i in idx)
        if len(index) > base.tensor.dim():
            self.fail("too many indices", f"`{base.name}` has {base.tensor.dim()} dimensions, indexed with {len(index)}")
        ref = TRef(base.name, base.tensor, index)
        return self.load(ref) if len(index) == base.tensor.dim() else ref

    @staticmethod
    def lit(x):
        return x.get("num") if isinstance(x, dict) and "num" in x and not isinstance(x.get("num"), str) else None

    def fail(self, construct: str, what: str):
        file, line = node_location(self.node, self.files) if self.node is not None else (None, None)
        src = source_line(file, line)
        where = f"{file}:{line}: " if file and line else ""
        raise LowerError(construct, file, line, f"{where}{what} in the {self.kind}_mod" + (f" (at `{src}`)" if src else "")
                         + ": the offline template cannot compile it (the model path still can)")


def tree_size(ir, memo=None) -> int:
    """Nodes of the IR once every shared sub-expression is inlined (computed over the shared dicts)."""
    memo = {} if memo is None else memo
    if id(ir) in memo:
        return memo[id(ir)]
    kids = []
    for key in ("a", "b"):
        if isinstance(ir.get(key), dict):
            kids.append(ir[key])
    for key in ("args", "index", "where"):
        kids += [k for k in ir.get(key) or [] if isinstance(k, dict)]
    if isinstance(ir.get("neg"), dict) or isinstance(ir.get("not"), dict):
        kids.append(ir.get("neg") or ir.get("not"))
    memo[id(ir)] = n = 1 + sum(tree_size(k, memo) for k in kids)
    return n


def dtype_of(a) -> Optional[torch.dtype]:
    if not isinstance(a, torch.fx.Node):
        return None
    val = a.meta.get("val")
    if torch.is_tensor(val):
        return val.dtype
    tm = a.meta.get("tensor_meta")
    return getattr(tm, "dtype", None)


def lower(gm, kind: str, names: Dict[int, str], files) -> Lowered:
    """The IR of one traced mod (LowerError on what it cannot express)."""
    return Lowerer(gm, kind, names, files).run()
