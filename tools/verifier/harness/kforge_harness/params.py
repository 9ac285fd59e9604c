"""Materialises a problem's params for one shape and seed: numbers stay numbers, generators become tensors.

"alibi"          -> float32 [H] slopes, slope[h] = 2^(-8(h+1)/H)
"random_docs(N)" -> int32 [S] non-decreasing document ids: N contiguous segments of random lengths

A variant problem (problem.json has a "variant" block) has no such params: its keyword arguments are the
tensors its mods capture, built by the user's factory for the shape and seed (variant_build.py).
"""
from __future__ import annotations

import os
import re
from types import ModuleType
from typing import Dict, Mapping

import torch

from .types import ParamValue, Params, ProblemSpec, Shape

_DOCS = re.compile(r"^random_docs\((\d+)\)$")


def materialise_for(problem: ProblemSpec, ref: ModuleType, shape: Shape, device: str, seed: int) -> Params:
    """The kernel's keyword arguments (besides scale) for this problem, shape and seed: the params, or for a
    variant the captured tensors (a VariantParams that also carries the mods they belong to)."""
    if problem.get("variant"):
        from .variant_build import VariantParams, build

        assert ref.__file__ is not None  # reference.load_reference imports it from a file
        folder = os.path.dirname(os.path.abspath(ref.__file__))
        return VariantParams(build(problem, folder, shape, device, seed))
    return materialise(problem["params"], shape, device, seed)


def materialise(params: Mapping[str, ParamValue], shape: Shape, device: str, seed: int) -> Params:
    """The kernel's keyword arguments (besides scale) for this shape and seed."""
    out: Params = {}
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"param {name}: unsupported value {value!r}")
        if isinstance(value, (int, float)):
            out[name] = value
        elif value == "alibi":
            out[name] = alibi_slopes(shape["H"]).to(device)
        elif docs := _DOCS.match(value):
            n_docs = int(docs.group(1))
            out[name] = random_docs(shape["S"], n_docs, seed).to(device)
        else:
            raise ValueError(f'param {name}: unknown generator {value!r} (expected "alibi" or "random_docs(N)")')
    return out


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """ALiBi's geometric slopes, one per query head."""
    h = torch.arange(n_heads, dtype=torch.float64)
    return torch.pow(2.0, -8.0 * (h + 1) / n_heads).to(torch.float32)


def random_docs(seq_len: int, n_docs: int, seed: int) -> torch.Tensor:
    """Document ids 0..n-1 of n contiguous random-length segments (n = min(n_docs, seq_len))."""
    gen = torch.Generator().manual_seed(int(seed) * 7919 + 17)
    n_cuts = max(0, min(n_docs, seq_len) - 1)
    starts = torch.zeros(seq_len, dtype=torch.int64)
    if n_cuts:
        cuts = torch.randperm(seq_len - 1, generator=gen)[:n_cuts] + 1  # segment starts in 1..S-1
        starts[cuts] = 1
    return torch.cumsum(starts, 0).to(torch.int32)


def cast_float_tensors(params: Params, dtype: torch.dtype) -> Params:
    """The same params with floating-point tensors cast to `dtype` (integer tensors and numbers kept)."""
    return {k: (v.to(dtype) if torch.is_tensor(v) and v.is_floating_point() else v) for k, v in params.items()}


def clone_tensors(params: Params) -> Dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in params.items() if torch.is_tensor(v)}
