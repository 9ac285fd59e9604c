"""Numbers a factory derives from the shape, lifted back to symbols: a mod traced at several shapes whose IR
differs only in number leaves that follow a shape symbol (H in ALiBi's 2^(-8(h+1)/H), S_kv - 1 in a relative
offset) becomes one IR in which those leaves read the scalars `shape_H`, `shape_S_kv`, ... (the kernel's wrapper
takes them from q's and k's shapes: SHAPE_SCALARS)."""
from __future__ import annotations

from fractions import Fraction
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple, Union, overload

from .types import IRNode, Shape, ShapeKey

# scalar name -> (tensor, dim) it is read from at run time; also the normalised shape key it follows
SHAPE_SCALARS: Dict[str, Tuple[str, int, ShapeKey]] = {
    "shape_S": ("q", 2, "S"), "shape_S_kv": ("k", 2, "Skv"), "shape_H": ("q", 1, "H"), "shape_Hkv": ("k", 1, "Hkv"),
    "shape_B": ("q", 0, "B"), "shape_D": ("q", 3, "D")}


# a shape key -> the one it defaults to (a shape as problem.json gives it may leave out Hkv and Skv)
DEFAULT_KEY: Dict[ShapeKey, ShapeKey] = {"Skv": "S", "Hkv": "H"}


@overload
def merge(trees: Sequence[Optional[IRNode]], shapes: Sequence[Shape], used: Set[str]) -> Optional[IRNode]:
    ...


@overload
def merge(trees: Sequence[object], shapes: Sequence[Shape], used: Set[str]) -> object:
    ...


def merge(trees: Sequence[object], shapes: Sequence[Shape], used: Set[str]) -> object:
    """One IR for every shape, or None when the trees differ other than in liftable number leaves (the trees: a
    mod's IR at each shape, or, recursively, the values of one key or list item of their nodes)."""
    first = trees[0]
    if all(t == first for t in trees):
        return first
    if any(not isinstance(t, dict) for t in trees):
        return None
    nodes: List[IRNode] = [t for t in trees if isinstance(t, dict)]  # every tree (checked above)
    first = nodes[0]
    if all("num" in t and not isinstance(t["num"], (bool, str)) for t in nodes):
        return _fit([t["num"] for t in nodes], shapes, used)
    keys = set(first)
    if any(set(t) != keys for t in nodes) or any(t.get(k) != first.get(k) for t in nodes for k in keys
                                                 if not isinstance(first.get(k), (dict, list))):
        return None
    out: IRNode = {}
    for k in keys:
        v = first[k]
        if isinstance(v, dict):
            m = merge([t[k] for t in nodes], shapes, used)
            if m is None:
                return None
            out[k] = m
        elif isinstance(v, list):
            if any(len(t[k]) != len(v) for t in nodes):
                return None
            items = [merge([t[k][i] for t in nodes], shapes, used) for i in range(len(v))]
            if any(x is None for x in items):
                return None
            out[k] = items
        else:
            out[k] = v
    return out


def _fit(values: List[Union[int, float]], shapes: Sequence[Shape], used: Set[str]) -> Optional[IRNode]:
    """values[i] at shapes[i] as a*X + c or c/X of one shape symbol X (a, c small rationals), else None."""
    for name, (_, _, key) in SHAPE_SCALARS.items():
        xs = [s.get(key) or s[DEFAULT_KEY.get(key, key)] for s in shapes]
        if len(set(xs)) < 2:
            continue
        param: IRNode = {"param": name}
        if all(v == x for v, x in zip(values, xs)):
            used.add(name)
            return param
        a = Fraction(values[1] - values[0]).limit_denominator(64) / (xs[1] - xs[0]) if xs[1] != xs[0] else None
        if a is not None and a != 0:
            c = Fraction(values[0]).limit_denominator(64) - a * xs[0]
            if all(abs(float(a * x + c) - v) <= 1e-9 * max(1.0, abs(v)) for v, x in zip(values, xs)):
                used.add(name)
                return _affine(param, a, c, isinstance(values[0], int))
        k = values[0] * xs[0]
        if k != 0 and all(abs(k / x - v) <= 1e-9 * max(1.0, abs(v)) for v, x in zip(values, xs)):
            used.add(name)
            return {"bin": "/", "a": {"num": float(k)}, "b": param}
    return None


def _affine(param: IRNode, a: Fraction, c: Fraction, integer: bool) -> IRNode:
    num: Callable[[Fraction], IRNode] = (lambda f: {"num": int(f) if integer and f.denominator == 1 else float(f)})
    expr = param if a == 1 else {"bin": "*", "a": num(a), "b": param}
    return expr if c == 0 else {"bin": "+", "a": expr, "b": num(c)}
