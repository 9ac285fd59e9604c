"""KernelBench problems in the harness: the reference module, its inputs under several distributions, golden
outputs, and the two correctness rules (KernelBench's allclose and kforge's error budget).

A problem file defines `class Model(nn.Module)`, `get_inputs()` and `get_init_inputs()`. Models are built right
after torch.manual_seed(seed), the candidate's ModelNew too, so parameters created in the same order match.
"""
from __future__ import annotations

import copy
from types import ModuleType
from typing import Any, Callable, List, Optional, Sequence

import torch

from .reference import ProblemFault, load_problem_file
from .types import KBCompare, KBTolerance, Shape

REQUIRED = ("Model", "get_inputs", "get_init_inputs")
OUTLIER_FRACTION = 1e-3
OUTLIER_SCALE = 100.0


def load_problem_module(path: str) -> ModuleType:
    """Imports the problem file (once per process); a ProblemFault names the file, the line, or what is missing."""
    mod = load_problem_file(path, "kforge_kernelbench", (), "")
    missing = [n for n in REQUIRED if not callable(getattr(mod, n, None))]
    if missing:
        raise ProblemFault(f"{path}: not a KernelBench problem, it lacks {', '.join(missing)}", path, None)
    return mod


def to_device(x: Any, device: str) -> Any:
    if torch.is_tensor(x):
        return x.to(device)
    if isinstance(x, (list, tuple)):
        return type(x)(to_device(v, device) for v in x)
    return x


def init_inputs(mod: ModuleType, device: str) -> List[Any]:
    return [to_device(x, device) for x in mod.get_init_inputs()]


def build(cls: Callable[..., torch.nn.Module], init: Sequence[Any], seed: int, device: str) -> torch.nn.Module:
    """cls(*init) right after torch.manual_seed(seed), on the device, in eval mode."""
    torch.manual_seed(int(seed))
    model = cls(*init)
    return model.to(device).eval()


def make_inputs(mod: ModuleType, dist: str, seed: int, device: str) -> List[Any]:
    """get_inputs() under the seed; for any distribution but `kernelbench` every floating tensor is redrawn with
    the same shape and dtype (integer tensors such as class targets stay as get_inputs() drew them)."""
    torch.manual_seed(int(seed))
    xs = list(mod.get_inputs())
    if dist != "kernelbench":
        gen = torch.Generator().manual_seed(int(seed) * 7 + 1)
        xs = [_redraw(x, dist, gen) if torch.is_tensor(x) and x.is_floating_point() else x for x in xs]
    return [to_device(x, device) for x in xs]


def _redraw(x: torch.Tensor, dist: str, gen: torch.Generator) -> torch.Tensor:
    shape = tuple(x.shape)
    if dist == "normal":
        y = torch.randn(shape, generator=gen)
    elif dist == "signed":
        y = torch.rand(shape, generator=gen) * 4.0 - 2.0
    elif dist == "outliers":
        y = torch.randn(shape, generator=gen)
        if y.numel():
            # Outliers of magnitude >= OUTLIER_SCALE, random signs, at least one of them positive: exp() of one
            # overflows float32, a subsample misses them, a mean feels them.
            hit = torch.rand(shape, generator=gen) < OUTLIER_FRACTION
            sign = torch.where(torch.rand(shape, generator=gen) < 0.5, -1.0, 1.0)
            first = int(torch.randint(0, y.numel(), (1,), generator=gen))
            hit.view(-1)[first] = True
            sign.view(-1)[first] = 1.0
            y = torch.where(hit, sign * OUTLIER_SCALE * (1.0 + y.abs()), y)
    else:
        raise ValueError(f"unknown input distribution {dist!r}")
    return y.to(x.dtype)


def outputs(out: Any) -> List[Any]:
    """A forward's result as a flat list (a tensor, or a tuple/list of them)."""
    return list(out) if isinstance(out, (tuple, list)) else [out]


def run_as(model: torch.nn.Module, inputs: Sequence[Any], dtype: torch.dtype) -> Optional[List[torch.Tensor]]:
    """The model and its floating inputs cast to dtype (float64 golden, bf16/fp16 downgrade probes), without
    autograd; None when the module cannot run in that dtype on this device."""
    with torch.no_grad():
        try:
            m = copy.deepcopy(model).to(dtype)
            xs = [x.to(dtype) if torch.is_tensor(x) and x.is_floating_point() else x for x in inputs]
            return [o.detach().to(torch.float64) for o in outputs(m(*xs))]
        except Exception:  # noqa: BLE001 - e.g. an op without a float64 or bf16 kernel here
            return None


def rms(x: torch.Tensor) -> float:
    return float(x.double().pow(2).mean().sqrt().item()) if x.numel() else 0.0


def compare(outs: Sequence[Any], refs: Sequence[torch.Tensor], goldens: Optional[Sequence[torch.Tensor]], kb_tol: KBTolerance, rel: float) -> KBCompare:
    """Both rules over every output tensor: KernelBench's allclose against the reference in its own dtype, and
    kforge's max|out - golden| <= 2 * max|ref - golden| + rel * rms(golden) (golden: the reference in float64)."""
    max_err, allow, kb_ok, ours_ok = 0.0, 0.0, True, True
    for i, (o, r) in enumerate(zip(outs, refs)):
        g = goldens[i] if goldens is not None else r.double()
        o64 = o.detach().double()
        kb_ok = kb_ok and bool(torch.allclose(o64, r.double(), atol=kb_tol["atol"], rtol=kb_tol["rtol"]))
        err = float((o64 - g).abs().max().item()) if o.numel() else 0.0
        a = 2.0 * (float((r.double() - g).abs().max().item()) if r.numel() else 0.0) + rel * max(rms(g), 1e-12)
        ours_ok = ours_ok and err <= a
        if err / max(a, 1e-30) >= max_err / max(allow, 1e-30):
            max_err, allow = err, a
    return {"passed": kb_ok and ours_ok, "maxError": max_err, "allowance": allow, "rules": {"kernelbench": kb_ok, "kforge": ours_ok}}


def describe_inputs(inputs: Sequence[Any]) -> str:
    parts: List[str] = []
    for x in inputs:
        parts.append(f"{str(x.dtype).replace('torch.', '')}{list(x.shape)}" if torch.is_tensor(x) else repr(x)[:40])
    return ", ".join(parts)


def flat_shape(outs: Sequence[Any]) -> Shape:
    """The attention-shaped slot of a ShapeCheck for a KernelBench case: every output element along S."""
    n = sum(int(o.numel()) for o in outs if torch.is_tensor(o))
    return {"B": 1, "H": 1, "Hkv": 1, "S": n, "D": 1}
