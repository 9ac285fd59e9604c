"""Names the tensors a variant's mods capture: everything reachable from the mods through closures, the globals
their code names, defaults, functools.partial, bound methods, callable objects and containers, named after the
variable holding it. FlexAttention's tracing sees these tensors as graph constants; kforge passes them to the
candidate as keyword arguments under these names."""
from __future__ import annotations

import inspect
from collections import OrderedDict

import torch

RESERVED = frozenset({"q", "k", "v", "scale", "score_mod", "mask_mod"})


def captured_tensors(fns) -> "OrderedDict[str, torch.Tensor]":
    """Every tensor the mods can reach through closures, globals they name, defaults, partials and containers,
    named after the variable holding it (breadth-first, so the nearest name wins; clashes get _2, _3 ...)."""
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    seen_tensors, seen = set(), set()
    queue = [(None, f) for f in fns if f is not None]
    while queue:
        name, obj = queue.pop(0)
        if torch.is_tensor(obj):
            if id(obj) not in seen_tensors:
                seen_tensors.add(id(obj))
                out[_unique(_clean(name), out)] = obj
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        queue.extend(_reachable(name, obj))
    return out


def _reachable(name, obj):
    if isinstance(obj, (list, tuple)):
        return [(name, x) for x in obj]
    if isinstance(obj, dict):
        return [(k if isinstance(k, str) else name, x) for k, x in obj.items()]
    if hasattr(obj, "func") and hasattr(obj, "keywords") and hasattr(obj, "args"):  # functools.partial
        return [(None, obj.func)] + [(name, a) for a in obj.args] + list(obj.keywords.items())
    if inspect.ismethod(obj):  # a bound method: its function, and the instance's attributes by name
        return [(None, obj.__func__)] + list(getattr(obj.__self__, "__dict__", {}).items())
    if callable(obj) and hasattr(obj, "__dict__") and not inspect.isfunction(obj) and not isinstance(obj, type):
        return [(None, obj.__call__)]  # a callable object: its __call__ (a bound method)
    if not inspect.isfunction(obj):
        return []
    code = obj.__code__
    found = [(n, c.cell_contents) for n, c in zip(code.co_freevars, obj.__closure__ or ()) if _has_contents(c)]
    found += [(None, d) for d in (obj.__defaults__ or ())]
    mod_name = str(obj.__globals__.get("__name__", ""))
    if not mod_name.startswith(("torch", "kforge_harness", "functools")):
        g = obj.__globals__
        found += [(n, g[n]) for n in _names(code) if n in g and not inspect.ismodule(g[n])]
    return found


def _has_contents(cell) -> bool:
    try:
        cell.cell_contents
        return True
    except ValueError:
        return False


def _names(code):
    names = list(code.co_names)
    for c in code.co_consts:
        if hasattr(c, "co_names"):
            names += _names(c)
    return names


def _clean(name) -> str:
    n = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in str(name or "captured"))
    if not n or n[0].isdigit():
        n = f"t_{n}"
    return f"{n}_" if n in RESERVED else n


def _unique(name: str, taken) -> str:
    if name not in taken:
        return name
    i = 2
    while f"{name}_{i}" in taken:
        i += 1
    return f"{name}_{i}"
