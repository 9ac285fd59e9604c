"""The correctness rule and what it tells the model when a check fails.

pass when max|out - golden| <= 2 * max|lowprec - golden| + atol (the FlashAttention test rule), where
golden is the reference in float64 (CPU) / float32 (GPU) and lowprec the same reference in the problem's
dtype (bf16 or fp16).
"""
from __future__ import annotations

from typing import Iterator, List, Optional, Sequence, Tuple

import torch

from .types import NonFinite, Shape, ShapeCheck, Worst

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def input_dtype(shape: Shape) -> torch.dtype:
    """The problem's dtype (normalised shapes carry it; bf16 by default)."""
    return DTYPES[shape.get("dtype", "bf16")]


def make_inputs(shape: Shape, device: str, seed: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """q [B,H,S,D], k and v [B,Hkv,S_kv,D], N(0,1) in the problem's dtype, from a seeded generator on the device."""
    gen = torch.Generator(device=device).manual_seed(int(seed))
    b, h, hkv, s, d = shape["B"], shape["H"], shape["Hkv"], shape["S"], shape["D"]
    s_kv = shape.get("Skv") or s
    dt = input_dtype(shape)

    def mk(heads: int, n: int) -> torch.Tensor:
        return torch.randn((b, heads, n, d), generator=gen, device=device, dtype=torch.float32).to(dt)
    return mk(h, s), mk(hkv, s_kv), mk(hkv, s_kv)


def refill_(tensors: Sequence[torch.Tensor], seed: int) -> None:
    """New values into the same buffers (same data_ptr): a result cache keyed by pointer must miss."""
    gen = torch.Generator(device=tensors[0].device).manual_seed(int(seed))
    for t in tensors:
        t.copy_(torch.randn(t.shape, generator=gen, device=t.device, dtype=torch.float32).to(t.dtype))


def allowance(golden: torch.Tensor, lowprec: torch.Tensor, atol: float) -> float:
    return 2.0 * float((lowprec - golden).abs().max().item()) + atol if golden.numel() else atol


def compare(out: torch.Tensor, golden: torch.Tensor, lowprec: torch.Tensor, atol: float, shape: Shape, seed: int) -> ShapeCheck:
    """One ShapeCheck: passed, maxError, allowance and, when it fails, where the worst error is."""
    allow = allowance(golden, lowprec, atol)
    err = (out.to(golden.dtype) - golden).abs()
    max_err = float(err.max().item()) if err.numel() else 0.0
    check: ShapeCheck = {"shape": shape, "seed": seed, "passed": max_err <= allow, "maxError": max_err, "allowance": allow}
    if not check["passed"]:
        check["worst"] = worst(out, golden, err, allow)
    return check


def worst(out: torch.Tensor, golden: torch.Tensor, err: torch.Tensor, allow: float) -> Worst:
    """The [b, h, q, d] of the largest error, got vs expected, and a note on the error pattern."""
    flat = int(torch.argmax(err.reshape(-1)).item())
    idx = list(_unravel(flat, tuple(err.shape)))
    got = float(out[tuple(idx)].float().item())
    w: Worst = {"index": idx, "got": got, "expected": float(golden[tuple(idx)].item())}
    note = error_pattern(err > allow)
    if note:
        w["note"] = note
    return w


def first_nonfinite(out: torch.Tensor) -> Optional[NonFinite]:
    """Where the first NaN/Inf sits and how many there are (None when every value is finite)."""
    bad = ~torch.isfinite(out)
    n = int(bad.sum().item())
    if n == 0:
        return None
    flat = int(torch.nonzero(bad.reshape(-1))[0].item())
    idx = list(_unravel(flat, tuple(out.shape)))
    return {"index": idx, "count": n, "total": out.numel(), "note": error_pattern(bad)}


def error_pattern(bad: torch.Tensor) -> str:
    """Describes where the failing elements of a [B, H, S, D] boolean map are (tail rows, heads, dims)."""
    if bad.dim() != 4 or not bool(bad.any()):
        return ""
    _, n_h, n_s, n_d = bad.shape
    rows = bad.any(dim=3).any(dim=1).any(dim=0).nonzero().flatten().tolist()
    heads = bad.any(dim=3).any(dim=2).any(dim=0).nonzero().flatten().tolist()
    dims = bad.any(dim=2).any(dim=1).any(dim=0).nonzero().flatten().tolist()
    notes = []
    first, last = rows[0], rows[-1]
    if len(rows) > 0.9 * n_s and n_s > 8:
        notes.append(f"errors in {len(rows)} of {n_s} query rows: the math itself is off (scale, softmax, score_mod or mask?)")
    elif first >= n_s - 128 and last == n_s - 1 and first > 0:
        notes.append(f"errors only in the last {n_s - first} query rows ({first}..{n_s - 1}, S={n_s}): "
                     f"a boundary bug in the final partial block (masking of rows/keys past S?)")
    elif last < min(64, n_s // 2):
        notes.append(f"errors only in the first query rows ({first}..{last}): a causal/offset edge case?")
    else:
        notes.append(f"errors in {len(rows)} of {n_s} query rows, first {first}, last {last}")
    if len(heads) < n_h:
        notes.append(f"only heads {_short(heads)} of {n_h} are wrong (head indexing, or the GQA map h // (H/Hkv)?)")
    if len(dims) < n_d:
        notes.append(f"only head dims {_short(dims)} of {n_d} are wrong (a partial D tile?)")
    return "; ".join(notes)


def poison_allocator(nbytes: int, device: str) -> None:
    """Leaves NaN bytes (0xFF) in the allocator's free blocks of this size, so memory the kernel
    allocates but never writes reads as NaN instead of a stale, plausible-looking result."""
    if nbytes <= 0:
        return
    blocks = [torch.empty(nbytes, dtype=torch.uint8, device=device) for _ in range(4)]
    blocks.append(torch.empty(2 * nbytes, dtype=torch.uint8, device=device))
    for b in blocks:
        b.fill_(0xFF)
    del blocks


def _unravel(flat: int, shape: Tuple[int, ...]) -> Iterator[int]:
    out: List[int] = []
    for dim in reversed(shape):
        out.append(flat % dim)
        flat //= dim
    return reversed(out)


def _short(xs: List[int]) -> str:
    return str(xs) if len(xs) <= 8 else f"[{', '.join(map(str, xs[:6]))}, ... {xs[-1]}]"
