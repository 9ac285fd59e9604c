"""The aten ops a mod's graph may hold and their IR counterparts (the op half of lower_fx.Lowerer): arithmetic,
comparisons, logic, math calls (erf and gelu too), clamps, integer powers, shifts, fills and dtype casts, element-wise
over scalars or over vectors (rows of captured tensors, lower_vec.py), and reductions of vectors."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple, Union, cast

import torch

from .lower_vec import REDUCTIONS, Vec, VecLowering, shape_of
from .types import IRNode

BIN = {"add": "+", "sub": "-", "mul": "*", "div": "/", "true_divide": "/", "remainder": "%", "floor_divide": "//",
       "bitwise_and": "&", "logical_and": "&", "__and__": "&", "bitwise_or": "|", "logical_or": "|", "__or__": "|",
       "bitwise_xor": "^", "logical_xor": "^", "__xor__": "^"}
CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
UNARY = {"tanh", "exp", "exp2", "log", "log2", "sqrt", "rsqrt", "sigmoid", "abs", "floor", "ceil", "sin", "cos", "erf"}
SAME = {"clone", "detach", "alias", "lift_fresh_copy", "lift_fresh", "expand", "view", "_unsafe_view", "reshape",
        "squeeze", "unsqueeze", "contiguous", "expand_copy", "view_copy", "squeeze_copy", "unsqueeze_copy", "copy"}
FILLS = {"scalar_tensor": 0, "full": 1, "full_like": 1, "new_full": 2}
FIXED = {"zeros_like": 0, "ones_like": 1, "new_zeros": 0, "new_ones": 1, "zeros": 0, "ones": 1}
POW_RANGE = range(-4, 9)


@dataclass
class TRef:
    """A captured tensor, indexed so far by `index` (a Load once every dimension has an index)."""
    name: str
    tensor: torch.Tensor
    index: Tuple[Arg, ...] = ()


@dataclass
class Anon:
    """A tensor the mod made itself (not captured): an error where it is first used (that op has a location)."""
    tensor: torch.Tensor


# What an fx node or an op's argument lowers to: an IR node, a captured tensor indexed so far (TRef), a tensor the
# mod made (Anon) or a vector (Vec); and for arguments that are no values, a string (gelu's approximate), None (an
# absent optional argument) or a list of these (sizes, index lists).
Arg = Union[IRNode, TRef, Anon, Vec, str, None, List["Arg"]]
# An op's keyword arguments: lowered, except RAW_KWARGS (dtype, dim, ...: as torch.fx recorded them).
Kwargs = Dict[str, object]


def num(v: Union[int, float]) -> IRNode:
    if isinstance(v, bool):
        return {"num": v}
    if isinstance(v, float) and math.isinf(v):
        return {"num": "inf" if v > 0 else "-inf"}
    if isinstance(v, float) and math.isnan(v):
        raise ValueError("nan")
    return {"num": v}


RAW_KWARGS = ("dtype", "layout", "device", "pin_memory", "memory_format", "rounding_mode", "approximate", "dim", "keepdim")


class OpLowering(VecLowering):
    """Lowers one call_function node; the host class provides arg, value, index and fail."""

    if TYPE_CHECKING:  # provided by the host class (lower_fx.Lowerer)
        def arg(self, a: object) -> Arg:
            ...

        def value(self, v: Arg, what: str) -> Arg:
            ...

        def index(self, base: Arg, idx: List[Arg]) -> Arg:
            ...

    def call(self, node: torch.fx.Node) -> Arg:
        full = str(node.target)
        parts = full.split(".")
        op = parts[1] if parts[0] == "aten" and len(parts) > 1 else parts[-1]
        op = op.rstrip("_") if op.endswith("_") and not op.startswith("__") else op
        a = [self.arg(x) for x in node.args]
        kw: Kwargs = {k: self.arg(v) if k not in RAW_KWARGS else v for k, v in node.kwargs.items()}
        if any(isinstance(x, Anon) for x in a):
            if op in SAME:
                return a[0]
            t = next(x for x in a if isinstance(x, Anon)).tensor
            self.fail("tensor created in the mod", f"a tensor of shape {list(t.shape)} created inside the mod (not captured "
                      "from the factory or the module): create it in the factory or at module level so it can be passed to the kernel")
        if op == "index":  # aten.index(self, indices): indices is a list (of index tensors or None)
            return self.index(a[0], cast(List[Arg], a[1]))
        if op == "select" and isinstance(a[0], TRef) and self.lit(a[1]) == 0:
            return self.index(a[0], [a[2]])
        if any(isinstance(x, TRef) for x in a):
            a = [self.value(x, f"an operand of {op}") if isinstance(x, TRef) else x for x in a]
        if op == "select" and isinstance(a[0], Vec) and isinstance(dim := self.lit(a[1]), int):
            rank = len(shape_of(node.args[0]) or (1,))
            vdim = self._vector_dim(node.args[0])
            return self.pick(a[0], a[2]) if dim % rank == (rank - 1 if vdim is None else vdim) else a[0]
        if op in REDUCTIONS and (len(node.args) == 1 or op not in ("max", "min")):
            return self.reduction(node, op, a[0])
        if op in ("dot", "vdot", "inner"):
            return self.dot(node, a)
        if any(isinstance(x, Vec) for x in list(a) + list(kw.values())):
            if op in SAME and op not in ("clone", "detach", "alias", "lift_fresh_copy", "lift_fresh", "contiguous", "copy"):
                self._vector_dim(node)  # a view of a vector must stay one (2-D outer products are refused)
            return self.vectorised(node, op, a, kw, lambda a2, kw2: self.scalar_op(node, op, full, a2, kw2))
        return self.scalar_op(node, op, full, a, kw)

    def scalar_op(self, node: torch.fx.Node, op: str, full: str, a: List[Arg], kw: Kwargs) -> Arg:
        """The IR of an element-wise op over scalar operands (IR dicts)."""
        if op in SAME:
            return a[0]
        if op in BIN:
            return self.binary(op, a, kw)
        if op in ("__rshift__", "__lshift__", "bitwise_right_shift", "bitwise_left_shift") and isinstance(shift := self.lit(a[1]), int):
            # integer shifts by a constant: floor division / multiplication by a power of two (exact, also for < 0)
            return {"bin": "//" if "right" in op or "rshift" in op else "*", "a": a[0], "b": num(2 ** shift)}
        if op == "rsub":
            alpha = kw.get("alpha") or (a[2] if len(a) > 2 else None)
            return {"bin": "-", "a": a[1], "b": self.scaled(a[0], alpha)}
        if op in CMP:
            return {"cmp": CMP[op], "a": a[0], "b": a[1]}
        if op in UNARY:
            return {"call": op, "args": [a[0]]}
        if op == "gelu":
            approx = node.kwargs.get("approximate", node.args[1] if len(node.args) > 1 else "none")
            return {"call": "gelu_tanh" if approx == "tanh" else "gelu", "args": [a[0]]}
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
                  "& | ~, where, clamp, minimum/maximum, abs, exp, exp2, log, log2, sqrt, rsqrt, tanh, sigmoid, erf, gelu, "
                  "floor, ceil, sin, cos, integer powers, dtype casts, indexing captured tensors, and over rows of captured "
                  "tensors dot, sum, mean, any, all, amax, amin, max, min)")

    def binary(self, op: str, a: List[Arg], kw: Kwargs) -> Arg:
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

    def scaled(self, x: Arg, alpha: object) -> Arg:
        if alpha is None or alpha == num(1):
            return x
        return {"bin": "*", "a": x, "b": alpha}

    def power(self, a: List[Arg]) -> IRNode:
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

    def fill(self, v: Union[Arg, int], dtype: Optional[torch.dtype]) -> IRNode:
        # aten's fill value is a Scalar: a number the trace recorded (a num node), or FIXED's int
        n = cast(Union[int, float], self.lit(v) if isinstance(v, dict) else v)
        if dtype == torch.bool:
            return num(bool(n))
        if dtype is not None and dtype.is_floating_point:
            return num(float(n))
        if dtype is not None:
            return num(int(n))
        return num(n)

    def convert(self, node: torch.fx.Node, x: Arg) -> Arg:
        dtype = node.kwargs.get("dtype") or next((a for a in node.args[1:] if isinstance(a, torch.dtype)), None)
        src = dtype_of(node.args[0])
        if dtype is None or src is None or dtype == src:
            return x
        if dtype == torch.bool:
            return {"cmp": "!=", "a": x, "b": num(0)}
        if dtype.is_floating_point:
            return x if src.is_floating_point else {"call": "to_float", "args": [x]}
        return {"call": "to_int", "args": [x]} if src.is_floating_point else x

    @staticmethod
    def lit(x: object) -> Union[int, float, None]:
        return x.get("num") if isinstance(x, dict) and "num" in x and not isinstance(x.get("num"), str) else None


def dtype_of(a: object) -> Optional[torch.dtype]:
    if not isinstance(a, torch.fx.Node):
        return None
    val = a.meta.get("val")
    if torch.is_tensor(val):
        return val.dtype
    tm = a.meta.get("tensor_meta")
    return getattr(tm, "dtype", None)
