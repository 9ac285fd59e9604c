"""The timing phase for one benchmark shape: baselines (unless cached) and the candidate, timed the same
way on the same rotated inputs, TFLOP/s over unmasked work, and the speed-of-light check."""
from __future__ import annotations

from types import ModuleType
from typing import Dict, List, Optional

import torch

from . import anticheat, correctness, failures, timing
from .baseline import build_baselines, primary_names
from .candidate import Candidate, validate_output
from .params import materialise_for
from .problem import shape_label
from .protocol import Verdict, rejected
from .reference import attention_flops, default_scale, problem_density
from .types import BaselineTiming, CandidateTiming, ProblemSpec, Shape, ShapeTiming

N_SETS = 3  # input buffer sets rotated across runs: pointer-keyed caches and warm L2 don't help
TIMING_SEED = 4242  # fixed, so cached baselines and candidates see the same params (doc_ids ...)


class ShapeBench:
    """Inputs, params, density and FLOPs of one benchmark shape."""

    def __init__(self, problem: ProblemSpec, ref: ModuleType, shape: Shape, device: str):
        self.shape, self.device = shape, device
        self.params = materialise_for(problem, ref, shape, device, TIMING_SEED)
        self.scale = default_scale(shape)
        self.sets = [correctness.make_inputs(shape, device, TIMING_SEED + i) for i in range(N_SETS)]
        self.density = problem_density(ref, self.params, shape, device)
        self.flops = attention_flops(shape, self.density)


def time_baselines(problem: ProblemSpec, ref: ModuleType, sb: ShapeBench, budget_s: float) -> Dict[str, BaselineTiming]:
    """{name: {ms, tflops, runs, spread}} for every baseline that could be built."""
    fns, _notes = build_baselines(problem, ref, sb.params, sb.shape, sb.device, sb.scale)
    out: Dict[str, BaselineTiming] = {}
    for name, fn in fns.items():
        try:
            # Two rounds, the faster median kept: a baseline timed too slow would inflate every speedup.
            rounds = [timing.summarize(timing.time_runs(lambda i: fn(*sb.sets[i]), N_SETS, sb.device, budget_s / 2))
                      for _ in range(2)]
        except Exception:  # a baseline that fails on this torch/GPU is left out, not blamed on the candidate
            continue
        ms = min(r["ms"] for r in rounds)
        out[name] = {"ms": ms, "tflops": timing.tflops(sb.flops, ms)}
    return out


def time_candidate(cand: Candidate, problem: ProblemSpec, sb: ShapeBench, budget_s: float, workdir: str, gpu_name: str) -> CandidateTiming:
    """{ms, runs, spread, tflops}: warm-up (compiles for this shape), profile probe, timed runs, then the
    timed outputs are compared with the warm-up outputs (a kernel that changes behaviour once timed is caught)."""
    shape, device = sb.shape, sb.device
    first_outs = []
    for q, k, v in sb.sets:
        out = cand.call(q, k, v, sb.scale, sb.params, shape)
        validate_output(out, shape, device)
        bad = correctness.first_nonfinite(out)
        if bad is not None:
            raise Verdict(rejected("dynamic.nan_output", f"benchmark shape {shape_label(shape)}: {bad['count']} NaN/Inf values, first at {bad['index']}"))
        first_outs.append(out.clone())
    if device == "cuda":
        q, k, v = sb.sets[0]
        trace = anticheat.traced(lambda: cand.call(q, k, v, sb.scale, sb.params, shape), workdir)
        if trace is not None:
            anticheat.check_kernels(trace, cand.own_kernels, f"at benchmark shape {shape_label(shape)}")
    last: Dict[int, torch.Tensor] = {}

    def run(i: int) -> None:
        q, k, v = sb.sets[i]
        last[i] = cand.fast_call(q, k, v, sb.scale, sb.params)

    try:
        times = timing.time_runs(run, N_SETS, device, budget_s, warmup=2)
    except Verdict:
        raise
    except BaseException as exc:  # noqa: BLE001
        raise Verdict(failures.from_call(exc, cand.path, shape, False)) from None
    for i, out in last.items():
        ref_out = first_outs[i]
        if not torch.is_tensor(out) or out.shape != ref_out.shape:
            raise Verdict(rejected("timing.inconsistent_output", "timed calls returned something else than the warm-up calls"))
        diff = float((out.float() - ref_out.float()).abs().max().item())
        tol = 1e-2 * max(1.0, float(ref_out.float().abs().max().item()))
        if not diff <= tol:
            raise Verdict(rejected("timing.inconsistent_output",
                                   f"benchmark shape {shape_label(shape)}: timed calls returned different values than the "
                                   f"warm-up calls on the same inputs (max difference {diff:.3g})"))
    stats = timing.summarize(times)
    tf = timing.tflops(sb.flops, stats["ms"])
    peak = timing.peak_tflops(gpu_name) if device == "cuda" else float("inf")
    if tf > peak:
        raise Verdict(rejected("timing.beyond_peak",
                               f"benchmark shape {shape_label(shape)}: {tf:.0f} TFLOP/s exceeds the physical peak of {gpu_name} "
                               f"(~{peak:.0f} TFLOP/s dense bf16): the timed region cannot contain the work"))
    return {"ms": stats["ms"], "runs": stats["runs"], "spread": stats["spread"], "tflops": tf}


def shape_timing(shape: Shape, cand: CandidateTiming, baselines: Dict[str, BaselineTiming], problem: ProblemSpec, device: str) -> ShapeTiming:
    """A ShapeTiming (result.ts), including the speedup against each baseline and the primary one."""
    speedup = {name: b["ms"] / cand["ms"] for name, b in baselines.items() if cand["ms"] > 0}
    prim = primary_names(problem, device, list(baselines))
    if prim:
        speedup["primary"] = min(baselines[n]["ms"] for n in prim) / cand["ms"] if cand["ms"] > 0 else 0.0
    return {"shape": shape, "ms": cand["ms"], "tflops": cand["tflops"], "baselines": baselines, "speedup": speedup,
            "runs": cand["runs"], "spread": cand["spread"]}


def geomean(xs: List[float]) -> Optional[float]:
    xs = [x for x in xs if x > 0]
    if not xs:
        return None
    prod = 1.0
    for x in xs:
        prod *= x
    mean: float = prod ** (1.0 / len(xs))  # float ** float is typed Any (a negative base gives a complex)
    return mean
