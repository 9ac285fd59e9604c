"""Names the tensors a variant's mods capture: everything reachable from the mods through closures, the globals
their code names, defaults, functools.partial, bound methods, callable objects and containers, named after the
variable holding it. FlexAttention's tracing sees these tensors as graph constants; kforge passes them to the
candidate as keyword arguments under these names."""
from __future__ import annotations

import inspect
from collections import OrderedDict
from types import CellType, CodeType
from typing import Any, Callable, Container, Dict, Iterable, Iterator, List, Optional, Set, Tuple

import torch

RESERVED = frozenset({"q", "k", "v", "scale", "score_mod", "mask_mod"})

# setter(v) puts v where a value was held (a closure cell, a dict entry, an attribute ...)
Setter = Callable[[Any], None]
# (the name it is held under or None, the value, its setter or None when it cannot be replaced there)
Held = Tuple[Optional[str], Any, Optional[Setter]]


def captured_tensors(fns: Iterable[Optional[Callable[..., Any]]]) -> "OrderedDict[str, torch.Tensor]":
    """Every tensor the mods can reach through closures, globals they name, defaults, partials and containers,
    named after the variable holding it (breadth-first, so the nearest name wins; clashes get _2, _3 ...)."""
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    seen: Set[int] = set()
    for name, t, _ in _walk(fns):
        if id(t) not in seen:
            seen.add(id(t))
            out[_unique(_clean(name), out)] = t
    return out


def relocate(fns: Iterable[Optional[Callable[..., Any]]], device: str) -> List[str]:
    """Moves every captured tensor that is not on `device` there, rewriting each place the mods read it from (a
    closure cell, a module global, a dict/list entry, an attribute), so the mods and the candidate share one tensor.
    Returns the names of tensors held where they cannot be replaced (a tuple, a default value)."""
    moved: Dict[int, torch.Tensor] = {}
    stuck: List[str] = []
    for name, t, setter in list(_walk(fns)):
        if t.device.type == device:
            continue
        new = moved.setdefault(id(t), t.to(device))
        if setter is None:
            stuck.append(str(name))
        else:
            setter(new)
    return stuck


def _walk(fns: Iterable[Optional[Callable[..., Any]]]) -> Iterator[Held]:
    """(name, tensor, setter or None) for every place a tensor is held, breadth-first from the mods."""
    seen: Set[int] = set()
    queue: List[Held] = [(None, f, None) for f in fns if f is not None]
    while queue:
        name, obj, setter = queue.pop(0)
        if torch.is_tensor(obj):
            yield name, obj, setter
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        queue.extend(_reachable(name, obj))


def _reachable(name: Optional[str], obj: Any) -> List[Held]:
    """(name, value, setter) of what obj holds; setter(v) replaces the value where obj holds it (None: it cannot)."""
    if isinstance(obj, list):
        return [(name, x, _item_setter(obj, i)) for i, x in enumerate(obj)]
    if isinstance(obj, tuple):
        return [(name, x, None) for x in obj]
    if isinstance(obj, dict):
        return [(k if isinstance(k, str) else name, x, _item_setter(obj, k)) for k, x in obj.items()]
    if hasattr(obj, "func") and hasattr(obj, "keywords") and hasattr(obj, "args"):  # functools.partial
        return ([(None, obj.func, None)] + [(name, a, None) for a in obj.args]
                + [(k, x, _item_setter(obj.keywords, k)) for k, x in obj.keywords.items()])
    if inspect.ismethod(obj):  # a bound method: its function, and the instance's attributes by name
        inst = obj.__self__
        return [(None, obj.__func__, None)] + [(k, x, _attr_setter(inst, k)) for k, x in getattr(inst, "__dict__", {}).items()]
    if callable(obj) and hasattr(obj, "__dict__") and not inspect.isfunction(obj) and not isinstance(obj, type):
        return [(None, obj.__call__, None)]  # a callable object: its __call__ (a bound method)
    if not inspect.isfunction(obj):
        return []
    code = obj.__code__
    found: List[Held] = [(n, c.cell_contents, _cell_setter(c)) for n, c in zip(code.co_freevars, obj.__closure__ or ()) if _has_contents(c)]
    found += [(None, d, None) for d in (obj.__defaults__ or ())]
    mod_name = str(obj.__globals__.get("__name__", ""))
    if not mod_name.startswith(("torch", "kforge_harness", "functools")):
        g = obj.__globals__
        found += [(n, g[n], _item_setter(g, n)) for n in _names(code) if n in g and not inspect.ismodule(g[n])]
    return found


def _item_setter(container: Any, key: Any) -> Setter:
    def set_item(v: Any) -> None:
        container.__setitem__(key, v)
    return set_item


def _attr_setter(obj: Any, key: str) -> Setter:
    return lambda v: setattr(obj, key, v)


def _cell_setter(cell: CellType) -> Setter:
    def set_cell(v: Any) -> None:
        cell.cell_contents = v
    return set_cell


def _has_contents(cell: CellType) -> bool:
    try:
        cell.cell_contents
        return True
    except ValueError:
        return False


def _names(code: CodeType) -> List[str]:
    names = list(code.co_names)
    for c in code.co_consts:
        if hasattr(c, "co_names"):
            names += _names(c)
    return names


def _clean(name: object) -> str:
    n = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in str(name or "captured"))
    if not n or n[0].isdigit():
        n = f"t_{n}"
    return f"{n}_" if n in RESERVED else n


def _unique(name: str, taken: Container[str]) -> str:
    if name not in taken:
        return name
    i = 2
    while f"{name}_{i}" in taken:
        i += 1
    return f"{name}_{i}"
