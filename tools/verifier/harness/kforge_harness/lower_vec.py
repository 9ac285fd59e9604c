"""Vectors in a mod: a captured tensor indexed by all but its last dimension (`q_rope[b, h, q_idx]`), element-wise
expressions of such rows, and their reductions over that dimension (torch.dot, sum, mean, any, all, amax, amin, max,
min). A vector of length n is a scalar IR expression of the bound variable {"var": "r"} (its element r); a reduction
becomes {"reduce": op, "size": n, "body": ...} (tools/offline/ir.py's Reduce), which the offline template computes
as one tl.dot per key block (a float sum of query-side times key-side factors, at least DOT_MIN long) or unrolls
(up to MAX_UNROLL elements)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, NoReturn, Optional, Sequence, Set, Tuple, TypeVar, Union, cast, overload

import torch

from .types import IRNode

if TYPE_CHECKING:
    from .lower_fx import Lowered
    from .lower_ops import Arg, Kwargs

_V = TypeVar("_V")

R = {"var": "r"}
DOT_MIN = 16  # tools/offline/lower.py's DOT_MIN and MAX_UNROLL: the same rule, so a variant that lowers renders
MAX_UNROLL = 64
FLOATS = ("float32", "float16", "bfloat16", "float64")
REDUCTIONS = {"sum": "sum", "mean": "sum", "any": "any", "all": "all", "amax": "max", "amin": "min", "max": "max",
              "min": "min"}


@dataclass
class Vec:
    """A 1-D value of length `size`: `body` is its element at index {"var": "r"}."""
    size: int
    body: IRNode


@overload
def substitute(ir: IRNode, name: str, value: _V) -> Union[IRNode, _V]:
    ...


@overload
def substitute(ir: object, name: str, value: object) -> object:
    ...


def substitute(ir: object, name: str, value: object) -> object:
    """ir (a JSON IR tree) with every {"var": name} replaced by value."""
    if isinstance(ir, dict):
        if ir.get("var") == name and len(ir) == 1:
            return value
        return {k: substitute(v, name, value) for k, v in ir.items()}
    if isinstance(ir, list):
        return [substitute(x, name, value) for x in ir]
    return ir


def variables(ir: object) -> Set[str]:
    """The variables a JSON IR tree reads, plus "load:<tensor>" for each tensor it loads."""
    out: Set[str] = set()
    if isinstance(ir, dict):
        if "var" in ir:
            out.add(ir["var"])
        if "load" in ir:
            out.add("load:" + ir["load"])
        for v in ir.values():
            out |= variables(v)
    elif isinstance(ir, list):
        for x in ir:
            out |= variables(x)
    return out


def _factors(ir: object) -> List[object]:
    if isinstance(ir, dict) and ir.get("bin") == "*":
        return _factors(ir["a"]) + _factors(ir["b"])
    if isinstance(ir, dict) and "neg" in ir:
        return _factors(ir["neg"])
    return [ir]


def is_dot(body: IRNode, size: int, dtypes: Dict[str, str]) -> bool:
    """The offline template's dot form (lower.dot_factors): a product whose factors each read the query side
    (b, h, q_idx, r) or the key side (b, h, kv_idx, r), never both, each side reading a float tensor."""
    if size < DOT_MIN:
        return False
    sides: Dict[str, List[Set[str]]] = {"q": [], "kv": []}
    for f in _factors(body):
        vs = variables(f)
        plain = {v for v in vs if not v.startswith("load:")}
        if "kv_idx" in plain and not plain - {"b", "h", "kv_idx", "r"}:
            sides["kv"].append(vs)
        elif not plain - {"b", "h", "q_idx", "r"}:
            sides["q"].append(vs)
        else:
            return False
    return all(any(dtypes.get(v[5:]) in FLOATS for vs in side for v in vs if v.startswith("load:"))
               for side in sides.values())


def shape_of(node: object) -> Optional[Tuple[int, ...]]:
    """The shape of an fx node's value, from the tracer's metadata (torch 2.x: val, 1.13: tensor_meta)."""
    if not isinstance(node, torch.fx.Node):
        return None
    val = node.meta.get("val")
    if torch.is_tensor(val):
        return tuple(val.shape)
    tm = node.meta.get("tensor_meta")
    return tuple(tm.shape) if tm is not None and hasattr(tm, "shape") else None


def vector_dim(shape: Optional[Sequence[int]]) -> Optional[int]:
    """The dimension a value's vector runs along (the last one longer than 1), None for a scalar; raises ValueError
    for a value with two dimensions longer than 1."""
    if shape is None or not shape:
        return None
    long = [i for i, n in enumerate(shape) if n > 1]
    if len(long) > 1:
        raise ValueError(f"a value of shape {list(shape)}")
    return long[0] if long else len(shape) - 1


class VecLowering:
    """Vector operands and reductions (mixed into lower_ops.OpLowering; the host provides fail and lit)."""

    if TYPE_CHECKING:  # what the host classes provide (lower_fx.Lowerer, lower_ops.OpLowering)
        out: Lowered

        def fail(self, construct: str, what: str) -> NoReturn:
            ...

        @staticmethod
        def lit(x: object) -> Union[int, float, None]:
            ...

    def vectorised(self, node: torch.fx.Node, op: str, a: List[Arg], kw: Kwargs, scalar: Callable[[List[Arg], Kwargs], Arg]) -> Vec:
        """An element-wise op over vector operands: the scalar lowering of their bodies, as a Vec."""
        vecs = [x for x in list(a) + list(kw.values()) if isinstance(x, Vec)]
        sizes = {v.size for v in vecs}
        if len(sizes) > 1:
            self.fail("vectors of different lengths", f"{op} of vectors of lengths {sorted(sizes)}")
        if shape_of(node) is not None and self._vector_dim(node) is None:
            self.fail("vector to scalar", f"{op} turns a vector into a scalar")
        body = scalar([x.body if isinstance(x, Vec) else x for x in a],
                      {k: v.body if isinstance(v, Vec) else v for k, v in kw.items()})
        return Vec(sizes.pop(), cast(IRNode, body))  # an op over IR operands (the vectors' bodies) is IR

    def _vector_dim(self, node: object) -> Optional[int]:
        try:
            return vector_dim(shape_of(node))
        except ValueError as e:
            self.fail("2-D value", f"{e} (two dimensions longer than 1): the kernel IR has scalars and vectors along one "
                      "trailing dimension only; reduce one dimension at a time")

    def reduction(self, node: torch.fx.Node, op: str, x: Arg) -> Arg:
        """sum / mean / any / all / amax / amin / max / min (the fx node's op) of a vector x, over its dimension or
        over all, or of a scalar x (itself)."""
        dims = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
        return self.reduce(op, x, node.args[0], [dims] if isinstance(dims, int) else dims)

    def reduce(self, op: str, x: Arg, src_node: object, dims: Optional[Sequence[int]]) -> Arg:
        """op of x (the value of src_node) over the dimensions dims (None or []: all)."""
        src = dtype_name(src_node)
        if not isinstance(x, Vec):
            if op in ("any", "all") and src != "bool":
                return {"cmp": "!=", "a": x, "b": {"num": 0}}
            return x
        vdim = self._vector_dim(src_node)
        rank = len(shape_of(src_node) or (0,))
        vdim = rank - 1 if vdim is None else vdim
        if dims and vdim not in [d % rank for d in dims]:
            return x  # only size-1 dimensions reduced: the vector stays
        body = x.body
        if op in ("any", "all") and src != "bool":
            body = {"cmp": "!=", "a": body, "b": {"num": 0}}
        if op == "sum" and src == "bool":
            body = {"where": [body, {"num": 1}, {"num": 0}]}
        red = REDUCTIONS[op]
        dtypes = {k: v["dtype"] for k, v in self.out.tensors.items()}
        if x.size > MAX_UNROLL and not (red == "sum" and is_dot(body, x.size, dtypes)):
            self.fail(f"{op} over {x.size} elements", f"a {op} over {x.size} elements that is not a dot of a query-side "
                      f"and a key-side float factor (the template unrolls reductions of at most {MAX_UNROLL} elements)")
        out = {"reduce": red, "size": x.size, "body": body}
        return {"bin": "/", "a": out, "b": {"num": float(x.size)}} if op == "mean" else out

    def dot(self, node: torch.fx.Node, a: List[Arg]) -> Arg:
        """torch.dot / vdot / inner of two vectors: the sum of their products."""
        if not (isinstance(a[0], Vec) and isinstance(a[1], Vec)):  # dot, vdot and inner take two tensors
            self.fail("dot of scalars", "torch.dot of something other than two vectors")
        if a[0].size != a[1].size:
            self.fail("vectors of different lengths", f"dot of vectors of lengths {a[0].size} and {a[1].size}")
        prod = Vec(a[0].size, {"bin": "*", "a": a[0].body, "b": a[1].body})
        return self.reduce("sum", prod, node.args[0], None)

    def pick(self, vec: Vec, i: Arg) -> Arg:
        """vec[i] for a scalar index (a literal or an expression)."""
        lit = self.lit(i)
        if isinstance(lit, int):
            i = {"num": lit % vec.size}
        return substitute(vec.body, "r", i)


def dtype_name(node: object) -> Optional[str]:
    """torch's name of an fx node's dtype, without the prefix."""
    if not isinstance(node, torch.fx.Node):
        return None
    val = node.meta.get("val")
    dt = val.dtype if torch.is_tensor(val) else getattr(node.meta.get("tensor_meta"), "dtype", None)
    return str(dt).replace("torch.", "") if dt is not None else None
