"""Loads a problem's reference.py and answers questions about it: golden outputs, the mask's density.

reference.py defines `reference(q, k, v, *, scale, **params)` (plain PyTorch math, the correctness
spec) and the FlexAttention factories `make_score_mod(**params)` / `make_mask_mod(**params)`, each
returning a callable or None. A variant problem's reference.py is `reference(q, k, v, *, scale, score_mod,
mask_mod, **captured)`: its mods, built per shape and seed, evaluated element-wise (variant_build.evaluate).
"""
from __future__ import annotations

import importlib.util
import math
import sys
import traceback
from types import ModuleType
from typing import TYPE_CHECKING, Dict, Optional, Sequence, Tuple

import torch

from .params import cast_float_tensors
from .types import Mod, Params, Result, Shape

if TYPE_CHECKING:
    from .variant_build import Built

_loaded: Dict[str, ModuleType] = {}


def load_reference(path: str) -> ModuleType:
    """Imports reference.py from a path (once per process); a ProblemFault naming the file and line when it
    does not import."""
    return load_problem_file(path, "kforge_reference", ("reference",), "defines no reference(q, k, v, *, scale, **params)")


def load_problem_file(path: str, prefix: str, required: Sequence[str], lacking: str) -> ModuleType:
    """Imports a problem's own Python file (once per process, as `<prefix>_N`); a ProblemFault naming the file and
    line when it does not import, or `path: lacking` when it does not define every callable in `required`."""
    if path in _loaded:
        return _loaded[path]
    name = f"{prefix}_{len(_loaded)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ProblemFault(f"{path}: cannot be imported (missing, or not a Python file)", path, None)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except SyntaxError as exc:
        raise ProblemFault(f"{exc.filename or path}:{exc.lineno}: Python syntax error: {exc.msg}", exc.filename or path, exc.lineno) from None
    except BaseException as exc:  # noqa: BLE001 - a broken problem file is the problem author's to fix
        line = next((fs.lineno for fs in reversed(traceback.extract_tb(exc.__traceback__)) if fs.filename == path), None)
        raise ProblemFault(f"{path}:{line or '?'}: importing it raised {type(exc).__name__}: {exc}", path, line) from None
    if any(not callable(getattr(mod, n, None)) for n in required):
        raise ProblemFault(f"{path}: {lacking}", path, None)
    _loaded[path] = mod
    return mod


class ProblemFault(Exception):
    """The problem itself is broken (its reference does not import, its variant file fails): the user's to fix,
    never blamed on a candidate. `file` and `line` say where."""

    def __init__(self, message: str, file: Optional[str], line: Optional[int]):
        super().__init__(message)
        self.file, self.line = file, line


def problem_fault(exc: BaseException) -> Optional[Result]:
    """{"status": "problem_error", "message", "file", "line"} when exc is the problem's fault, else None."""
    from .variant import VariantError

    if isinstance(exc, ProblemFault):
        return {"status": "problem_error", "message": str(exc), "file": exc.file, "line": exc.line}
    if isinstance(exc, VariantError):
        where = f"{exc.file}:{exc.line}: " if exc.file and exc.line else f"{exc.file}: " if exc.file else ""
        return {"status": "problem_error", "message": f"{where}{exc.message}", "file": exc.file, "line": exc.line}
    return None


def mask_mod(ref: ModuleType, params: Params) -> Optional[Mod]:
    if hasattr(params, "built"):  # a variant: its own mods, over the very tensors the candidate gets
        built: Built = params.built
        return built.mask
    factory = getattr(ref, "make_mask_mod", None)
    made: Optional[Mod] = factory(**params) if callable(factory) else None
    return made


def score_mod(ref: ModuleType, params: Params) -> Optional[Mod]:
    if hasattr(params, "built"):
        built: Built = params.built
        return built.score
    factory = getattr(ref, "make_score_mod", None)
    made: Optional[Mod] = factory(**params) if callable(factory) else None
    return made


def golden_pair(ref: ModuleType, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float,
                params: Params) -> Tuple[torch.Tensor, torch.Tensor]:
    """(golden, lowprec): the reference in float64 (CPU) / float32 (GPU), and the same math in the inputs' dtype
    (bf16 or fp16). A variant's mods read their captured tensors as built (its reference evaluates the mods)."""
    hi = torch.float64 if q.device.type == "cpu" else torch.float32
    if hasattr(params, "built"):
        mods = {"score_mod": params.built.score, "mask_mod": params.built.mask}
        golden = ref.reference(q.to(hi), k.to(hi), v.to(hi), scale=scale, **mods, **params)
        lowprec = ref.reference(q, k, v, scale=scale, **mods, **params)
        return _empty_rows_zero(golden.to(hi)), _empty_rows_zero(lowprec.to(hi))
    golden = ref.reference(q.to(hi), k.to(hi), v.to(hi), scale=scale, **cast_float_tensors(params, hi))
    lowprec = ref.reference(q, k, v, scale=scale, **cast_float_tensors(params, q.dtype))
    return _empty_rows_zero(golden.to(hi)), _empty_rows_zero(lowprec.to(hi))


def _empty_rows_zero(x: torch.Tensor) -> torch.Tensor:
    """A query row whose every key is masked expects 0 (FlexAttention's convention); a naive reference's
    softmax over all -inf gives NaN there instead."""
    empty = torch.isnan(x).all(dim=-1, keepdim=True)
    return x.masked_fill(empty, 0.0) if bool(empty.any()) else x


def problem_density(ref: ModuleType, params: Params, shape: Shape, device: str) -> float:
    """The mask's density at a shape: a variant's mods are evaluated element-wise (as FlexAttention calls them),
    a suite problem's on broadcast index grids."""
    s_kv = shape.get("Skv") or shape["S"]
    if hasattr(params, "built"):
        from .variant_build import mask_grid

        fn = params.built.mask
        if fn is None:
            return 1.0
        kept, step = 0, max(1, (1 << 22) // max(1, s_kv))
        for start in range(0, shape["S"], step):
            n = min(step, shape["S"] - start)
            kept += int(mask_grid(fn, 1, 1, n, s_kv, device, q_start=start).sum().item())
        return kept / float(shape["S"] * s_kv)
    return mask_density(mask_mod(ref, params), shape["S"], device, s_kv=s_kv)


def mask_density(fn: Optional[Mod], seq_len: int, device: str, rows_per_chunk: int = 1024, s_kv: Optional[int] = None) -> float:
    """Fraction of (q, kv) pairs the mask keeps (1.0 without a mask), evaluated on index grids (b = h = 0)."""
    if fn is None:
        return 1.0
    s_kv = s_kv or seq_len
    kept = 0
    kv = torch.arange(s_kv, device=device)[None, :]
    zero = torch.zeros((), dtype=torch.int64, device=device)
    for start in range(0, seq_len, rows_per_chunk):
        q = torch.arange(start, min(seq_len, start + rows_per_chunk), device=device)[:, None]
        m = torch.as_tensor(fn(zero, zero, q, kv), device=device)
        kept += int(torch.broadcast_to(m, (q.shape[0], s_kv)).sum().item())
    return kept / float(seq_len * s_kv)


def mask_kind(fn: Optional[Mod], device: str, probe_len: int = 67, elementwise: bool = False) -> str:
    """"full", "causal" or "other": decides whether SDPA can serve as a baseline."""
    if fn is None:
        return "full"
    q = torch.arange(probe_len, device=device)[:, None]
    kv = torch.arange(probe_len, device=device)[None, :]
    zero = torch.zeros((), dtype=torch.int64, device=device)
    if elementwise:
        from .variant_build import mask_grid

        m = mask_grid(fn, 1, 1, probe_len, probe_len, device)[0, 0]
    else:
        m = torch.broadcast_to(torch.as_tensor(fn(zero, zero, q, kv), device=device), (probe_len, probe_len)).bool()
    if bool(m.all()):
        return "full"
    if bool(torch.equal(m, q >= kv)):
        return "causal"
    return "other"


def attention_flops(shape: Shape, density: float) -> float:
    """4*B*H*S_q*S_kv*D*density: the matmul work over unmasked pairs only."""
    return 4.0 * shape["B"] * shape["H"] * shape["S"] * (shape.get("Skv") or shape["S"]) * shape["D"] * density


def default_scale(shape: Shape) -> float:
    return 1.0 / math.sqrt(shape["D"])
