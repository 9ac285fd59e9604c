"""Timing of a KernelBench problem: ModelNew against the eager Model and against torch.compile(Model), in the same
process, on get_inputs()-shaped inputs rotated over buffer sets (timing.time_runs: CUDA events around batches,
device-wide synchronisation, warm-up, medians)."""
from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Literal, Mapping, Optional

import torch

from . import failures, timing
from .kernelbench import make_inputs, outputs
from .protocol import Verdict, rejected
from .types import KBBaselines, KBShapeTiming

if TYPE_CHECKING:
    from .kernelbench_verify import KBCandidate

BENCH_LABEL = "inputs"  # the one benchmark case: get_inputs() as written
N_SETS = 3
TIMING_SEED = 4242
# HBM bandwidth (TB/s) by device-name fragment: no kernel writes its outputs faster than this.
PEAK_HBM_TBS = [("H200", 4.8), ("GH200", 4.9), ("H100 PCIe", 2.0), ("H100", 3.35), ("B200", 8.0), ("A100", 2.0)]
UNKNOWN_HBM_TBS = 10.0


def bench_sets(mod: ModuleType, device: str) -> List[List[Any]]:
    return [make_inputs(mod, "kernelbench", TIMING_SEED + i, device) for i in range(N_SETS)]


def compile_unavailable(device: str) -> Optional[str]:
    """Why torch.compile cannot be a baseline here, or None when it can."""
    if not hasattr(torch, "compile"):
        return f"torch {torch.__version__} has no torch.compile (PyTorch 2.0 or newer is needed)"
    if device == "cuda":
        try:
            import triton  # noqa: F401 - Inductor's GPU backend generates Triton
        except ImportError as exc:
            return f"Inductor needs Triton on the GPU: {exc}"
    return None


def time_baselines(mod: ModuleType, ref_model: torch.nn.Module, device: str, budget_s: float) -> KBBaselines:
    """{eager: {ms, tflops}, compile: {ms, tflops}, unavailable: {name: reason}} (tflops is 0: the work of an
    arbitrary module is not counted)."""
    sets = bench_sets(mod, device)
    out: KBBaselines = {"unavailable": {}}
    fns: Dict[Literal["eager", "compile"], Callable[..., Any]] = {"eager": ref_model}
    reason = compile_unavailable(device)
    if reason is None:
        try:
            fns["compile"] = torch.compile(ref_model)
        except Exception as exc:  # noqa: BLE001 - a baseline that fails is left out, with its reason
            out["unavailable"]["compile"] = f"torch.compile failed: {type(exc).__name__}: {str(exc)[:300]}"
    else:
        out["unavailable"]["compile"] = reason
    for name, fn in fns.items():
        try:
            with torch.no_grad():
                rounds = [timing.summarize(timing.time_runs(lambda i: fn(*sets[i]), N_SETS, device, budget_s / 2))
                          for _ in range(2)]
        except Exception as exc:  # noqa: BLE001
            out["unavailable"][name] = f"{name} failed: {type(exc).__name__}: {str(exc)[:300]}"
            continue
        out[name] = {"ms": min(r["ms"] for r in rounds), "tflops": 0.0}
    return out


def time_candidate(cand: KBCandidate, mod: ModuleType, ref_model: torch.nn.Module, base: Mapping[str, Any], device: str, budget_s: float,
                   gpu_name: str, workdir: str) -> KBShapeTiming:
    """A ShapeTiming for the benchmark case: warm-up outputs kept, timed runs, the timed outputs compared with them."""
    sets = bench_sets(mod, device)
    first = [[o.detach().clone() for o in cand.call(xs, None)] for xs in sets]
    last: Dict[int, List[Any]] = {}

    def run(i: int) -> None:
        with torch.no_grad():
            last[i] = outputs(cand.model(*sets[i]))

    cand.wire.armed = True
    try:
        times = timing.time_runs(run, N_SETS, device, budget_s, warmup=2)
    except Verdict:
        raise
    except BaseException as exc:  # noqa: BLE001
        raise Verdict(failures.from_call(exc, cand.path, None, False)) from None
    finally:
        cand.wire.armed = False
    for i, outs in last.items():
        for o, r in zip(outs, first[i]):
            if not torch.is_tensor(o) or o.shape != r.shape:
                raise Verdict(rejected("timing.inconsistent_output", "timed calls returned something else than the warm-up calls"))
            diff = float((o.double() - r.double()).abs().max().item()) if o.numel() else 0.0
            if not diff <= 1e-2 * max(1.0, float(r.double().abs().max().item()) if r.numel() else 1.0):
                raise Verdict(rejected("timing.inconsistent_output", f"timed calls returned different values than the warm-up "
                                       f"calls on the same inputs (max difference {diff:.3g})"))
    stats = timing.summarize(times)
    if device == "cuda":
        _speed_of_light(first[0], stats["ms"], gpu_name)
    baselines = {k: v for k, v in base.items() if k != "unavailable"}
    speedup: Dict[str, float] = {k: v["ms"] / stats["ms"] for k, v in baselines.items() if stats["ms"] > 0}
    if "eager" in speedup:
        speedup["primary"] = speedup["eager"]
    unavailable: Dict[str, str] = dict(base.get("unavailable") or {})
    for name in ("eager", "compile"):
        if name not in baselines and name not in unavailable:
            unavailable[name] = compile_unavailable(device) or f"{name}: not among the cached baselines (it failed when they were measured)"
    n_out = sum(o.numel() for o in first[0])
    return {"shape": {"B": 1, "H": 1, "Hkv": 1, "S": int(n_out), "D": 1}, "case": f"{BENCH_LABEL}: get_inputs() as written",
            "ms": stats["ms"], "tflops": 0.0, "baselines": baselines, "speedup": speedup, "runs": stats["runs"],
            "spread": stats["spread"], "unavailable": unavailable}


def _speed_of_light(outs: List[Any], ms: float, gpu_name: str) -> None:
    """timing.beyond_peak: writing the outputs alone at the measured time would beat the GPU's memory bandwidth."""
    nbytes = sum(o.numel() * o.element_size() for o in outs)
    peak = next((bw for frag, bw in PEAK_HBM_TBS if frag in gpu_name), UNKNOWN_HBM_TBS)
    if nbytes >= (8 << 20) and ms > 0 and nbytes / (ms * 1e-3) > 1.5 * peak * 1e12:
        raise Verdict(rejected("timing.beyond_peak", f"{nbytes / 1e6:.1f} MB of output in {ms * 1e3:.1f} us is faster than "
                               f"{gpu_name}'s memory (~{peak} TB/s): the timed region cannot contain the work"))
