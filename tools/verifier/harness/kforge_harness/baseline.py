"""Baselines the candidate is compared with, built per benchmark shape:
  flex        compiled FlexAttention running the problem's score_mod/mask_mod (create_block_mask for the mask)
  sdpa_flash  SDPA's FlashAttention backend   } only for problems whose baseline is "sdpa" (full, causal)
  sdpa_cudnn  SDPA's cuDNN backend             }
  reference   the problem's reference in float32, eager (the CPU path's baseline)
"""
from __future__ import annotations

from types import ModuleType
from typing import Callable, Dict, List, Optional, Tuple

import torch

from . import reference as refmod
from .types import Params, ProblemSpec, Shape

BaselineFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def build_baselines(problem: ProblemSpec, ref: ModuleType, params: Params, shape: Shape, device: str, scale: float) -> Tuple[Dict[str, BaselineFn], List[str]]:
    """The callables to time for this shape, and notes on any that could not be built."""
    notes: List[str] = []
    if device == "cpu":
        hi = torch.float32
        if hasattr(params, "built"):  # a variant: its mods over its own captured tensors
            mods = {"score_mod": params.built.score, "mask_mod": params.built.mask, **params}
            return {"reference": lambda q, k, v: ref.reference(q.to(hi), k.to(hi), v.to(hi), scale=scale, **mods)}, notes
        p32 = {k: (v.to(hi) if torch.is_tensor(v) and v.is_floating_point() else v) for k, v in params.items()}
        return {"reference": lambda q, k, v: ref.reference(q.to(hi), k.to(hi), v.to(hi), scale=scale, **p32)}, notes
    fns: Dict[str, BaselineFn] = {}
    try:
        fns["flex"] = flex_fn(ref, params, shape, device, scale)
    except Exception as exc:  # an old torch without FlexAttention: report, don't fail the candidate
        notes.append(f"flex unavailable: {type(exc).__name__}: {exc}")
    if problem.get("baseline") == "sdpa":
        kind = refmod.mask_kind(refmod.mask_mod(ref, params), device, elementwise=hasattr(params, "built"))
        if kind == "other":
            notes.append("sdpa baselines skipped: the mask is neither full nor causal")
        else:
            for name in ("sdpa_flash", "sdpa_cudnn"):
                fn = sdpa_fn(name, kind == "causal", shape, scale)
                if fn is not None:
                    fns[name] = fn
                else:
                    notes.append(f"{name} unavailable in this torch")
    return fns, notes


def flex_fn(ref: ModuleType, params: Params, shape: Shape, device: str, scale: float) -> BaselineFn:
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    score = refmod.score_mod(ref, params)
    mask = refmod.mask_mod(ref, params)
    s_kv = shape.get("Skv") or shape["S"]
    # a variant's mask may read b and h (per-batch document ids, per-head windows): build the mask per (b, h) then
    per_bh = hasattr(params, "built")
    dims: Dict[str, Optional[int]] = {"B": shape["B"], "H": shape["H"]} if per_bh else {"B": None, "H": None}
    block_mask = create_block_mask(mask, Q_LEN=shape["S"], KV_LEN=s_kv, device=device, **dims) if mask else None
    _allow_many_compiles()
    # fullgraph: a graph break or a recompile-limit fallback would silently time eager FlexAttention
    # (about 2x slower), inflating every candidate's speedup. Failing loudly is the honest outcome.
    compiled = torch.compile(flex_attention, dynamic=False, fullgraph=True)
    gqa = shape["Hkv"] != shape["H"]

    def run(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return compiled(q, k, v, score_mod=score, block_mask=block_mask, scale=scale, enable_gqa=gqa)

    return run


def _allow_many_compiles() -> None:
    """One process compiles FlexAttention for several shapes and mods; dynamo's default recompile limit
    (8) would otherwise fall back to eager after a few of them."""
    import torch._dynamo.config as dcfg

    for name in ("cache_size_limit", "recompile_limit", "accumulated_cache_size_limit", "accumulated_recompile_limit"):
        if hasattr(dcfg, name):
            setattr(dcfg, name, max(getattr(dcfg, name), 256))
    if hasattr(dcfg, "fail_on_recompile_limit_hit"):
        dcfg.fail_on_recompile_limit_hit = True


def sdpa_fn(name: str, causal: bool, shape: Shape, scale: float) -> Optional[BaselineFn]:
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:
        return None
    backend = {"sdpa_flash": "FLASH_ATTENTION", "sdpa_cudnn": "CUDNN_ATTENTION"}[name]
    if not hasattr(SDPBackend, backend):
        return None
    be = getattr(SDPBackend, backend)
    gqa = shape["Hkv"] != shape["H"]
    sdpa = torch.nn.functional.scaled_dot_product_attention

    def run(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        with sdpa_kernel(be):
            if gqa:
                return sdpa(q, k, v, is_causal=causal, scale=scale, enable_gqa=True)
            return sdpa(q, k, v, is_causal=causal, scale=scale)

    return run


def primary_names(problem: ProblemSpec, device: str, available: List[str]) -> List[str]:
    """Baselines the headline speedup is computed against (the fastest of them, per shape)."""
    if device == "cpu":
        want = ["reference"]
    elif problem.get("baseline") == "sdpa":
        want = ["sdpa_flash", "sdpa_cudnn"]
    else:
        want = ["flex"]
    got = [n for n in want if n in available]
    return got or (["flex"] if "flex" in available else [])
