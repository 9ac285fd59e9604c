"""Calling the candidate: exceptions (and asynchronous CUDA faults, which surface at the next
synchronisation) become its compile/runtime errors; the output must be a fresh bf16 [B, H, S, D] tensor."""
from __future__ import annotations

from types import ModuleType
from typing import Any, Callable, List

import torch

from . import failures, timing
from .protocol import Verdict, wrong_output
from .types import Params, Shape


class Candidate:
    def __init__(self, fn: Callable[..., Any], path: str, device: str, own_kernels: List[str]):
        self.fn = fn
        self.path = path
        self.device = device
        self.own_kernels = own_kernels
        self.calls = 0

    def call(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float, params: Params, shape: Shape,
             sync: bool = True) -> Any:
        """One call, synchronised, so a fault is pinned on the candidate and the shape that caused it. Returns what
        attention() returned, unchecked (validate_output checks it)."""
        first = self.calls == 0
        self.calls += 1
        try:
            out = self.fn(q, k, v, scale=scale, **params)
            if sync:
                timing.synchronize(self.device)
        except Verdict:
            raise
        except BaseException as exc:  # noqa: BLE001 - everything the kernel raises is its own failure
            raise Verdict(failures.from_call(exc, self.path, shape, first)) from None
        return out

    def fast_call(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float, params: Params) -> Any:
        """The timed call: no synchronisation, no bookkeeping (faults were ruled out before timing)."""
        return self.fn(q, k, v, scale=scale, **params)


def module_kernel_names(mod: ModuleType) -> List[str]:
    """Names of Triton kernels among the module's globals, also those made with triton.jit(fn) rather than
    a decorator (Autotuner/Heuristics wrappers are followed to their JITFunction)."""
    names: List[str] = []
    for obj in list(vars(mod).values()):
        for _ in range(4):
            if type(obj).__name__ == "JITFunction":
                fn = getattr(obj, "fn", None)
                if fn is not None and hasattr(fn, "__name__"):
                    names.append(fn.__name__)
                break
            obj = getattr(obj, "fn", None)
            if obj is None:
                break
    return names


def validate_output(out: Any, shape: Shape, device: str) -> None:
    """The contract: a tensor [B, H, S, D] in the problem's dtype (bf16 or fp16) on the inputs' device."""
    want = (shape["B"], shape["H"], shape["S"], shape["D"])
    if not torch.is_tensor(out):
        raise Verdict(wrong_output(f"attention() returned {type(out).__name__}, expected a torch.Tensor {list(want)}", []))
    problems = []
    if tuple(out.shape) != want:
        problems.append(f"shape {list(out.shape)} (expected {list(want)})")
    want_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[shape.get("dtype", "bf16")]
    if out.dtype != want_dtype:
        problems.append(f"dtype {out.dtype} (expected {want_dtype})")
    if out.device.type != device:
        problems.append(f"device {out.device} (expected {device})")
    if problems:
        raise Verdict(wrong_output(f"attention() returned a tensor with {', '.join(problems)}", []))
