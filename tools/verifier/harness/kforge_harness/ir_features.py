"""Structural features of a variant's IR (JSON form), which kforge maps to the suite's tags so the memory of
wins can relate a new variant to earlier ones (softcap, bias, causal, windowed, document, ...)."""
from __future__ import annotations

from typing import Callable, Iterator, List, Optional, Set

from .types import IRNode

ORDER = {"<", "<=", ">", ">="}


def nodes(ir: object) -> Iterator[IRNode]:
    """Every node of an IR tree, pre-order."""
    if not isinstance(ir, dict):
        return
    yield ir
    for key in ("a", "b", "neg", "not", "body"):
        if isinstance(ir.get(key), dict):
            yield from nodes(ir[key])
    for key in ("args", "index", "where"):
        for k in ir.get(key) or []:
            yield from nodes(k)


def deps(ir: object) -> Set[str]:
    """Which of score, b, h, q_idx, kv_idx (and 'load') an expression reads."""
    out: Set[str] = set()
    for n in nodes(ir):
        if "var" in n:
            out.add(n["var"])
        elif "load" in n:
            out.add("load")
    return out


def _is_distance(ir: object) -> bool:
    return any(n.get("bin") == "-" and {"q_idx", "kv_idx"} <= deps(n) and not ({"q_idx", "kv_idx"} <= deps(n["a"]))
               for n in nodes(ir))


def features(score: Optional[IRNode], mask: Optional[IRNode]) -> List[str]:
    """Feature names (the same vocabulary problems/scaffold.ts maps to tags)."""
    f: Set[str] = set()
    for n in nodes(score):
        if n.get("call") == "tanh":
            f.add("tanh")
        if n.get("bin") in ("+", "-") and ("score" in deps(n["a"])) != ("score" in deps(n["b"])):
            other = n["b"] if "score" in deps(n["a"]) else n["a"]
            f.add("bias")
            if _is_distance(other):
                f.add("relative_bias")
            if "load" in deps(other) and "h" in deps(other):
                f.add("head_bias")
    for root in (score, mask):
        for n in nodes(root):
            if n.get("bin") in ("//", "%") and deps(n["a"]) & {"q_idx", "kv_idx"}:
                f.add("grid")
            if "cmp" not in n:
                continue
            left, right = deps(n["a"]), deps(n["b"])
            only_q: Callable[[Set[str]], bool] = lambda d: "q_idx" in d and "kv_idx" not in d  # noqa: E731
            only_kv: Callable[[Set[str]], bool] = lambda d: "kv_idx" in d and "q_idx" not in d  # noqa: E731
            if _is_distance(n):
                f.add("distance_compare")
            elif n["cmp"] in ORDER and "load" not in left | right and \
                    ((only_q(left) and only_kv(right)) or (only_kv(left) and only_q(right))):
                f.add("causal_compare")  # positions against positions: q_idx >= kv_idx, not q_idx >= start[kv_idx]
            elif n["cmp"] == "==" and "load" in left and "load" in right:
                f.add("documents")
            elif n["cmp"] in ORDER and ((only_kv(left) and not right - {"load"}) or (only_kv(right) and not left - {"load"})):
                f.add("kv_bound")
    return sorted(f)
