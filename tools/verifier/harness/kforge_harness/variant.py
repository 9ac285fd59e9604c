"""User variant files: imported (only here, in the sandboxed harness), their mods found or built by a factory
called with the shape, device and seed, and the tensors the mods capture named after the variables holding them.

A variant file defines module-level `score_mod(score, b, h, q_idx, kv_idx)` / `mask_mod(b, h, q_idx, kv_idx)`,
or a factory (`generate_*`, `make_*`, `build_*`, `create_*`, or the name given as FILE:NAME) that kforge calls
with the parameters it names among SHAPE_ARGS (plus `device`, `seed`, `generator`) and that returns a mod, a
tuple of mods, or a dict {"score_mod": ..., "mask_mod": ...}. Which mod is which comes from its arity.
"""
from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import traceback
from types import ModuleType
from typing import Any, Callable, Dict, Optional, Sequence

import torch

from . import flex_compat
from .types import ModSource, Result, Shape

ARITY = {"score": 5, "mask": 4}
FACTORY_PREFIXES = ("generate_", "make_", "build_", "create_", "get_")
# factory parameter names kforge fills from the shape (attention-gym's spellings included)
SHAPE_ARGS = {
    "B": "B", "batch": "B", "batch_size": "B", "n_batch": "B",
    "H": "H", "num_heads": "H", "n_heads": "H", "heads": "H", "H_q": "H",
    "Hkv": "Hkv", "H_kv": "Hkv", "num_kv_heads": "Hkv", "n_kv_heads": "Hkv",
    "S": "S", "seq_len": "S", "S_q": "S", "Q_LEN": "S", "q_len": "S", "seqlen": "S", "N": "S", "query_len": "S",
    "S_kv": "Skv", "Skv": "Skv", "KV_LEN": "Skv", "kv_len": "Skv", "kv_seq_len": "Skv", "key_len": "Skv",
    "D": "D", "head_dim": "D",
}


class VariantError(Exception):
    """Something in the user's variant file to fix; names the file and line when known."""

    def __init__(self, message: str, file: Optional[str] = None, line: Optional[int] = None):
        super().__init__(message)
        self.file, self.line, self.message = file, line, message

    def as_dict(self) -> Result:
        return {"file": self.file, "line": self.line, "message": self.message}


_modules: Dict[str, ModuleType] = {}


def load_module(path: str) -> ModuleType:
    """Imports a variant file by path (once per process); its folder is importable for sibling helpers."""
    path = os.path.abspath(path)
    if path in _modules:
        return _modules[path]
    flex_compat.install()
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = f"kforge_variant_{len(_modules)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise VariantError("cannot be imported (not a Python file?)", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except SyntaxError as exc:
        raise VariantError(f"Python syntax error: {exc.msg}", exc.filename or path, exc.lineno) from None
    except BaseException as exc:  # noqa: BLE001 - whatever the user's module raises is theirs to fix
        raise user_fault(exc, [path], "importing it raised") from None
    _modules[path] = mod
    return mod


def user_fault(exc: BaseException, files: Sequence[str], what: str) -> VariantError:
    """A VariantError at the innermost frame of the traceback that lies in one of the user's files."""
    real = {os.path.realpath(f) for f in files}
    file = line = None
    for fs in traceback.extract_tb(exc.__traceback__):
        if os.path.realpath(fs.filename) in real:
            file, line = fs.filename, fs.lineno
    return VariantError(f"{what} {type(exc).__name__}: {exc}", file or next(iter(files), None), line)


def positional_arity(fn: Callable[..., Any]) -> Optional[int]:
    """How many positional arguments fn takes (None when it cannot be told, e.g. *args)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    n = 0
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
            n += 1
    return n


def find_source(mod: ModuleType, path: str, kind: str, symbol: Optional[str]) -> Optional[ModSource]:
    """{"file", "symbol", "factory"} for the `kind` mod of a file, or None when it has no such mod."""
    base = os.path.basename(path)
    if symbol:
        obj = getattr(mod, symbol, None)
        if not callable(obj):
            raise VariantError(f"no function `{symbol}` in it", path)
        return {"file": base, "symbol": symbol, "factory": _is_factory(symbol, obj, kind)}
    direct = getattr(mod, f"{kind}_mod", None)
    if callable(direct):
        return {"file": base, "symbol": f"{kind}_mod", "factory": False}
    own = [(n, o) for n, o in vars(mod).items() if inspect.isfunction(o) and o.__module__ == mod.__name__ and not n.startswith("_")]
    factories = [n for n, _ in own if n.startswith(FACTORY_PREFIXES)]
    if len(factories) == 1:
        return {"file": base, "symbol": factories[0], "factory": True}
    if len(factories) > 1:
        raise VariantError(f"several factories ({', '.join(factories)}): name the one to use as {base}:NAME", path)
    fits = [n for n, o in own if positional_arity(o) == ARITY[kind]]
    if len(fits) == 1:
        return {"file": base, "symbol": fits[0], "factory": False}
    if len(fits) > 1:
        raise VariantError(f"several functions could be the {kind}_mod ({', '.join(fits)}): name it `{kind}_mod` or pass {base}:NAME", path)
    return None


def _is_factory(symbol: str, obj: Callable[..., Any], kind: str) -> bool:
    if symbol in ("score_mod", "mask_mod"):
        return False
    if symbol.startswith(FACTORY_PREFIXES):
        return True
    return positional_arity(obj) not in (4, 5)


def bind_factory(fn: Callable[..., Any], path: str, shape: Shape, device: str, seed: int) -> Dict[str, Any]:
    """The keyword arguments kforge passes a factory: the shape's numbers, device, seed, generator by name."""
    values = {"B": shape["B"], "H": shape["H"], "Hkv": shape.get("Hkv") or shape["H"], "S": shape["S"],
              "Skv": shape.get("Skv") or shape["S"], "D": shape["D"]}
    kwargs: Dict[str, Any] = {}
    for name, p in inspect.signature(fn).parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if name in SHAPE_ARGS:
            kwargs[name] = values[SHAPE_ARGS[name]]
        elif name == "device":
            kwargs[name] = device
        elif name == "seed":
            kwargs[name] = int(seed)
        elif name == "generator":  # a CPU generator: tensors are drawn on the CPU and moved (any device, same values)
            kwargs[name] = torch.Generator().manual_seed(int(seed))
        elif p.default is p.empty:
            known = ", ".join(sorted(set(SHAPE_ARGS) | {"device", "seed", "generator"}))
            line = fn.__code__.co_firstlineno if hasattr(fn, "__code__") else None
            raise VariantError(f"factory {fn.__name__}: parameter `{name}` has no default and kforge does not know it "
                               f"(it fills {known}); give it a default, e.g. {name}=...", path, line)
    return kwargs


def split_mods(result: Any, path: str, factory: str) -> Dict[str, Callable[..., Any]]:
    """{"score": fn, "mask": fn} from what a factory returned (a mod, a tuple/list of mods, or a dict)."""
    items = list(result.values()) if isinstance(result, dict) else list(result) if isinstance(result, (tuple, list)) else [result]
    if isinstance(result, dict):
        named = {k.replace("_mod", ""): v for k, v in result.items() if k in ("score_mod", "mask_mod") and v is not None}
        if named:
            return named
    out: Dict[str, Callable[..., Any]] = {}
    for obj in items:
        if obj is None:
            continue
        n = positional_arity(obj) if callable(obj) else None
        kind = {5: "score", 4: "mask"}.get(n) if n is not None else None
        if kind is None:
            raise VariantError(f"factory {factory} returned {type(obj).__name__}, which is not a score_mod (5 arguments) "
                               f"or a mask_mod (4 arguments)", path)
        if kind in out:
            raise VariantError(f"factory {factory} returned two {kind}_mods", path)
        out[kind] = obj
    return out
