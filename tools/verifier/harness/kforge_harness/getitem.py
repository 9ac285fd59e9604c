"""Tensor indexing by 0-d index tensors as one aten.index op, while mods are traced or vectorised.

A mod indexes captured tensors with its index arguments (`bias[h, q_idx - kv_idx]`). With 0-d tensors, eager
`__getitem__` turns each index into a Python int (a value read that tracing and vmap cannot follow);
FlexAttention rewrites such subscripts to `torch.ops.aten.index` for this reason, and so does this context.
`Tensor.__getitem__` is swapped for the duration only (torch 1.13 does not route it through torch-function modes).
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch

_depth = [0]
_original = torch.Tensor.__getitem__
# torch 1.x indexes only with int64 (2.x takes int32 too): narrower integer indices are widened, never bool/uint8
_WIDEN = (torch.int8, torch.int16, torch.int32)


def _getitem(self: torch.Tensor, idx: Any) -> Any:
    parts = idx if isinstance(idx, tuple) else (idx,)
    if any(torch.is_tensor(i) for i in parts) and all(torch.is_tensor(i) or (isinstance(i, int) and not isinstance(i, bool)) for i in parts):
        dev = self.device
        idx = [(i.long() if i.dtype in _WIDEN else i) if torch.is_tensor(i) else torch.tensor(i, device=dev) for i in parts]
        return torch.ops.aten.index.Tensor(self, idx)
    return _original(self, idx)


@contextlib.contextmanager
def tensor_indexing() -> Iterator[None]:
    """Within: `t[i, j]` with tensor (or int) indices is aten.index.Tensor(t, [i, j])."""
    _depth[0] += 1
    torch.Tensor.__getitem__ = _getitem
    try:
        yield
    finally:
        _depth[0] -= 1
        if _depth[0] == 0:
            torch.Tensor.__getitem__ = _original
