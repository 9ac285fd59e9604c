"""Loads a problem's reference.py and answers questions about it: golden outputs, the mask's density.

reference.py defines `reference(q, k, v, *, scale, **params)` (plain PyTorch math, the correctness
spec) and the FlexAttention factories `make_score_mod(**params)` / `make_mask_mod(**params)`, each
returning a callable or None.
"""
from __future__ import annotations

import importlib.util
import math
import sys
from types import ModuleType
from typing import Callable, Optional, Tuple

import torch

from .params import cast_float_tensors

_loaded: dict = {}


def load_reference(path: str) -> ModuleType:
    """Imports reference.py from a path (once per process)."""
    if path in _loaded:
        return _loaded[path]
    name = f"kforge_reference_{len(_loaded)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    if not callable(getattr(mod, "reference", None)):
        raise ImportError(f"{path} defines no reference(q, k, v, *, scale, **params)")
    _loaded[path] = mod
    return mod


def mask_mod(ref: ModuleType, params: dict) -> Optional[Callable]:
    factory = getattr(ref, "make_mask_mod", None)
    return factory(**params) if callable(factory) else None


def score_mod(ref: ModuleType, params: dict) -> Optional[Callable]:
    factory = getattr(ref, "make_score_mod", None)
    return factory(**params) if callable(factory) else None


def golden_pair(ref: ModuleType, q, k, v, scale: float, params: dict) -> Tuple[torch.Tensor, torch.Tensor]:
    """(golden, lowprec): the reference in float64 (CPU) / float32 (GPU), and the same math in bf16."""
    hi = torch.float64 if q.device.type == "cpu" else torch.float32
    golden = ref.reference(q.to(hi), k.to(hi), v.to(hi), scale=scale, **cast_float_tensors(params, hi))
    lowprec = ref.reference(q, k, v, scale=scale, **cast_float_tensors(params, q.dtype))
    return _empty_rows_zero(golden.to(hi)), _empty_rows_zero(lowprec.to(hi))


def _empty_rows_zero(x: torch.Tensor) -> torch.Tensor:
    """A query row whose every key is masked expects 0 (FlexAttention's convention); a naive reference's
    softmax over all -inf gives NaN there instead."""
    empty = torch.isnan(x).all(dim=-1, keepdim=True)
    return x.masked_fill(empty, 0.0) if bool(empty.any()) else x


def mask_density(fn: Optional[Callable], seq_len: int, device: str, rows_per_chunk: int = 1024) -> float:
    """Fraction of (q, kv) pairs the mask keeps (1.0 without a mask), evaluated on index grids."""
    if fn is None:
        return 1.0
    kept = 0
    kv = torch.arange(seq_len, device=device)[None, :]
    zero = torch.zeros((), dtype=torch.int64, device=device)
    for start in range(0, seq_len, rows_per_chunk):
        q = torch.arange(start, min(seq_len, start + rows_per_chunk), device=device)[:, None]
        m = torch.as_tensor(fn(zero, zero, q, kv), device=device)
        kept += int(torch.broadcast_to(m, (q.shape[0], seq_len)).sum().item())
    return kept / float(seq_len * seq_len)


def mask_kind(fn: Optional[Callable], device: str, probe_len: int = 67) -> str:
    """"full", "causal" or "other": decides whether SDPA can serve as a baseline."""
    if fn is None:
        return "full"
    q = torch.arange(probe_len, device=device)[:, None]
    kv = torch.arange(probe_len, device=device)[None, :]
    zero = torch.zeros((), dtype=torch.int64, device=device)
    m = torch.broadcast_to(torch.as_tensor(fn(zero, zero, q, kv), device=device), (probe_len, probe_len)).bool()
    if bool(m.all()):
        return "full"
    if bool(torch.equal(m, q >= kv)):
        return "causal"
    return "other"


def attention_flops(shape: dict, density: float) -> float:
    """4*B*H*S*S*D*density: the matmul work over unmasked pairs only."""
    return 4.0 * shape["B"] * shape["H"] * shape["S"] * shape["S"] * shape["D"] * density


def default_scale(shape: dict) -> float:
    return 1.0 / math.sqrt(shape["D"])
