"""Dynamic anti-cheat rules of the KernelBench kind, beside the shared ones in anticheat.py (timers, threads,
input mutation, aliasing, library kernels, side streams), which are reused as they are:

  dynamic.reference_model       ModelNew's class descends from Model (or a copy of it), or Model.forward ran
                                during a candidate call
  dynamic.lazy_output           an output that is not a plain torch.Tensor (a subclass computes on access)
  dynamic.output_changed        an output changed after forward returned (work still running on a thread or stream)
  dynamic.precision_downgrade   output in a lower precision than the reference's, or errors the size of a bf16/fp16
                                computation's
  dynamic.kernel_not_launched   (GPU) none of the module's own kernels ran during a call
"""
from __future__ import annotations

from types import CodeType
from typing import Any, Callable, List, Optional, Sequence, Type

import torch

from .kernelbench import compare, run_as
from .protocol import Verdict, rejected
from .types import KBTolerance, KernelEvent

LOW_PRECISION = (torch.float16, torch.bfloat16)


class ReferenceTripwire:
    """Counts calls of the reference Model.forward while armed (during the candidate's calls only)."""

    def __init__(self, model_cls: Type[torch.nn.Module]) -> None:
        self.armed = False
        self.hits = 0
        original = model_cls.forward
        wire = self

        def forward(self: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
            if wire.armed:
                wire.hits += 1
            return original(self, *args, **kwargs)

        model_cls.forward = forward

    def check(self, when: str) -> None:
        if self.hits:
            raise Verdict(rejected("dynamic.reference_model", f"the reference Model.forward ran {self.hits} time(s) {when}: "
                                   "ModelNew must compute the result itself"))


def check_class(cand_cls: type, model_cls: Type[torch.nn.Module], model_forward_code: CodeType) -> None:
    """ModelNew must not descend from Model, nor from a class whose forward is Model's code copied."""
    for base in cand_cls.__mro__[1:]:
        if base is model_cls or issubclass(base, model_cls):
            raise Verdict(rejected("dynamic.reference_model", f"ModelNew descends from the reference Model (via {base.__name__})"))
        fwd = base.__dict__.get("forward")
        code = getattr(fwd, "__code__", None)
        if code is not None and _same_code(code, model_forward_code):
            raise Verdict(rejected("dynamic.reference_model", f"ModelNew inherits `{base.__name__}.forward`, a copy of Model.forward"))


def _same_code(a: CodeType, b: CodeType) -> bool:
    return a.co_code == b.co_code and a.co_names == b.co_names and a.co_consts == b.co_consts


def check_plain(outs: Sequence[Any], refs: Sequence[torch.Tensor]) -> None:
    """Each output a plain tensor of the reference's shape, not a subclass (lazy) nor a lower-precision copy."""
    if len(outs) != len(refs):
        from .protocol import wrong_output

        raise Verdict(wrong_output(f"forward returned {len(outs)} output(s), Model returns {len(refs)}", []))
    for i, (o, r) in enumerate(zip(outs, refs)):
        if not torch.is_tensor(o) or type(o) is not torch.Tensor:
            raise Verdict(rejected("dynamic.lazy_output", f"output {i} is a {type(o).__module__}.{type(o).__qualname__}, "
                                   "not a plain torch.Tensor whose values are already written"))
        if o.dtype in LOW_PRECISION and r.dtype not in LOW_PRECISION:
            raise Verdict(rejected("dynamic.precision_downgrade", f"output {i} is {o.dtype}, the reference's is {r.dtype}"))
        if tuple(o.shape) != tuple(r.shape) or o.dtype != r.dtype or o.device != r.device:
            from .protocol import wrong_output

            raise Verdict(wrong_output(f"output {i}: {o.dtype} {list(o.shape)} on {o.device}, expected {r.dtype} "
                                       f"{list(r.shape)} on {r.device}", []))


class Fingerprint:
    """Copies of the outputs taken right after forward returned (and the device synchronised)."""

    def __init__(self, outs: List[torch.Tensor]) -> None:
        self.outs = outs
        self.copies = [o.detach().clone() for o in outs]

    def check(self, when: str) -> None:
        for i, (o, c) in enumerate(zip(self.outs, self.copies)):
            if not torch.equal(o, c) and not (torch.isnan(o).all() and torch.isnan(c).all()):
                n = int((o != c).sum().item())
                raise Verdict(rejected("dynamic.output_changed", f"output {i} changed {when} ({n} elements) after forward "
                                       "had returned: work still running on a thread or another stream?"))


def check_precision(outs: Sequence[torch.Tensor], refs: Sequence[torch.Tensor], goldens: Optional[Sequence[torch.Tensor]],
                    model: torch.nn.Module, inputs: Sequence[Any], kb_tol: KBTolerance, rel: float) -> None:
    """A failed check whose error is the size of the same computation in bf16 or fp16 is a precision downgrade."""
    ours = compare(outs, refs, goldens, kb_tol, rel)
    probes = [run_as(model, inputs, dt) for dt in LOW_PRECISION]
    errs = [compare(p, refs, goldens, kb_tol, rel)["maxError"] for p in probes if p is not None]
    if not errs:
        return
    low = min(errs)
    if low > 2.0 * ours["allowance"] and 0.3 * low <= ours["maxError"] <= 3.0 * low:
        raise Verdict(rejected("dynamic.precision_downgrade",
                               f"max error {ours['maxError']:.3g} is the size of the same computation in half precision "
                               f"({low:.3g}; allowed {ours['allowance']:.3g}): compute and accumulate in the reference's dtype"))


def own_kernels_ran(trace: List[KernelEvent], own: List[str], where: str, is_own: Callable[[str, List[str]], bool]) -> None:
    """dynamic.kernel_not_launched: the module defines kernels, yet none of them appears in the call's trace."""
    launched = [k["name"] for k in trace[1:]]
    named = [n for n in launched if is_own(n, own) and any(n.startswith(o) or o in n for o in own)]
    if own and not named:
        raise Verdict(rejected("dynamic.kernel_not_launched",
                               f"none of the module's kernels ({', '.join(own)}) ran {where}; ran instead: "
                               f"{', '.join(launched[:4]) or 'nothing'}"))
