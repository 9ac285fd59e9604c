"""The correctness phase: every correctness shape x `seeds` fresh seeds, with poisoned output memory,
input snapshots, aliasing and caching probes, then the profiled call (GPU)."""
from __future__ import annotations

from types import ModuleType
from typing import Callable, List

import torch

from . import anticheat, correctness
from .candidate import Candidate, validate_output
from .params import materialise_for
from .protocol import Verdict, rejected, wrong_output
from .reference import default_scale, golden_pair
from .types import NonFinite, ProblemSpec, Shape, ShapeCheck


def run_correctness(cand: Candidate, problem: ProblemSpec, ref: ModuleType, base_seed: int,
                    on_first_call: Callable[[], None]) -> List[ShapeCheck]:
    """Every ShapeCheck; raises a Verdict on a broken rule or when any check fails."""
    device = cand.device
    checks: List[ShapeCheck] = []
    threads_after_first = None
    for si, shape in enumerate(problem["shapes"]["correctness"]):
        prev_out = prev_copy = None
        prev_passed = False
        for j in range(int(problem["seeds"])):
            seed = base_seed + 1009 * si + j
            q, k, v = correctness.make_inputs(shape, device, seed)
            params = materialise_for(problem, ref, shape, device, seed)
            scale = default_scale(shape)
            golden, lowprec = golden_pair(ref, q, k, v, scale, params)
            inputs = {"q": q, "k": k, "v": v, **{n: t for n, t in params.items() if torch.is_tensor(t)}}
            snapshots = {n: t.clone() for n, t in inputs.items()}
            correctness.poison_allocator(q.numel() * q.element_size(), device)
            before = anticheat.Threads()
            out = cand.call(q, k, v, scale, params, shape)
            if threads_after_first is None:
                threads_after_first = anticheat.Threads()
                on_first_call()
            else:
                anticheat.check_threads(before, "after attention() returned")
            validate_output(out, shape, device)
            anticheat.check_inputs_unchanged(snapshots, inputs)
            anticheat.check_no_alias(out, inputs)
            anticheat.check_previous_output(prev_out, prev_copy)
            bad = correctness.first_nonfinite(out)
            if bad is not None:
                raise Verdict(rejected("dynamic.nan_output", _nonfinite_message(bad, shape)))
            check = correctness.compare(out, golden, lowprec, float(problem["atol"]), shape, seed)
            if prev_passed and not check["passed"] and torch.equal(out, prev_copy):
                raise Verdict(rejected("dynamic.cached_result",
                                       f"shape {_fmt(shape)}: new inputs returned exactly the previous call's output (a result cache?)"))
            checks.append(check)
            prev_out, prev_copy, prev_passed = out, out.clone(), check["passed"]
    failed = [c for c in checks if not c["passed"]]
    if failed:
        raise Verdict(wrong_output(_failure_message(failed, len(checks)), checks))
    _refill_probe(cand, problem, ref, base_seed)
    if threads_after_first is not None:
        anticheat.check_threads(threads_after_first, "after the correctness calls")
    return checks


def _refill_probe(cand: Candidate, problem: ProblemSpec, ref: ModuleType, base_seed: int) -> None:
    """dynamic.cached_result: the same buffers, refilled in place with new values, must give the new answer."""
    shapes = [s for s in problem["shapes"]["correctness"] if s["S"] > 1] or problem["shapes"]["correctness"]
    shape, device = shapes[0], cand.device
    seed = base_seed + 7777
    q, k, v = correctness.make_inputs(shape, device, seed)
    params = materialise_for(problem, ref, shape, device, seed)
    scale = default_scale(shape)
    cand.call(q, k, v, scale, params, shape)
    correctness.refill_([q, k, v], seed + 1)
    golden, lowprec = golden_pair(ref, q, k, v, scale, params)
    out = cand.call(q, k, v, scale, params, shape)
    validate_output(out, shape, device)
    check = correctness.compare(out, golden, lowprec, float(problem["atol"]), shape, seed + 1)
    if not check["passed"]:
        raise Verdict(rejected("dynamic.cached_result",
                               f"shape {_fmt(shape)}: after the inputs were refilled in place with new values the output was "
                               f"wrong (max error {check['maxError']:.3g} > {check['allowance']:.3g}): results cached by pointer?"))


def profile_probe(cand: Candidate, problem: ProblemSpec, shape: Shape, seed: int, workdir: str, where: str, ref: ModuleType) -> None:
    """dynamic.library_kernel / dynamic.side_stream: profile one call and inspect every kernel it ran."""
    device = cand.device
    q, k, v = correctness.make_inputs(shape, device, seed)
    params = materialise_for(problem, ref, shape, device, seed)
    scale = default_scale(shape)
    cand.call(q, k, v, scale, params, shape)  # compiled already for this shape? make sure before profiling
    trace = anticheat.traced(lambda: cand.call(q, k, v, scale, params, shape), workdir)
    if trace is not None:
        anticheat.check_kernels(trace, cand.own_kernels, where)


def _nonfinite_message(bad: NonFinite, shape: Shape) -> str:
    return (f"shape {_fmt(shape)}: {bad['count']} of {bad['total']} output values are NaN/Inf, first at "
            f"[b,h,q,d]={bad['index']}. Output memory is poisoned with NaN before each call, so this also "
            f"catches memory that was allocated but never written. {bad['note']}").strip()


def _failure_message(failed: List[ShapeCheck], total: int) -> str:
    w = max(failed, key=lambda c: c["maxError"] / max(c["allowance"], 1e-12))
    msg = (f"{len(failed)} of {total} checks failed; worst at shape {_fmt(w['shape'])} seed {w['seed']}: "
           f"max error {w['maxError']:.4g} > allowance {w['allowance']:.4g}")
    worst = w.get("worst")
    if worst:
        msg += f" at [b,h,q,d]={worst['index']} (got {worst['got']:.5g}, expected {worst['expected']:.5g})"
        if worst.get("note"):
            msg += f"; {worst['note']}"
    return msg


def _fmt(s: Shape) -> str:
    skv = s.get("Skv") or s["S"]
    return f"B={s['B']} H={s['H']} Hkv={s['Hkv']} S={s['S']}" + (f" S_kv={skv}" if skv != s["S"] else "") + f" D={s['D']}"
