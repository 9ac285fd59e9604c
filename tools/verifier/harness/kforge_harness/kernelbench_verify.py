"""A KernelBench candidate's verification, phase by phase as for attention (static -> import -> compile ->
correctness -> timing), in the same sandbox with the same result union; and the kind's other job modes."""
from __future__ import annotations

from types import ModuleType
from typing import Any, Callable, Dict, List, Mapping, Optional

import torch

from . import anticheat, correctness, failures, sandbox, static_checks, timing
from .candidate import module_kernel_names
from .kernelbench import build, compare, describe_inputs, flat_shape, init_inputs, load_problem_module, make_inputs, outputs, run_as
from .kernelbench_checks import Fingerprint, ReferenceTripwire, check_class, check_plain, check_precision, own_kernels_ran
from .kernelbench_static import check_kernelbench_source
from .kernelbench_timing import BENCH_LABEL, time_baselines, time_candidate
from .protocol import Channel, Job, Verdict, compile_error, ok, rejected, wrong_output
from .types import KBCase, KBCheck, KBReferenceCheck, Result
from .verify import Clock

MODEL_SEED = 42


class KBCandidate:
    """ModelNew, built, and its calls: exceptions become the candidate's compile/runtime errors."""

    def __init__(self, model: torch.nn.Module, path: str, device: str, own: List[str], wire: ReferenceTripwire) -> None:
        self.model, self.path, self.device, self.own_kernels, self.wire = model, path, device, own, wire
        self.calls = 0

    def call(self, inputs: List[Any], case: Optional[KBCase]) -> List[Any]:
        first = self.calls == 0
        self.calls += 1
        self.wire.armed = True
        try:
            with torch.no_grad():
                out = self.model(*inputs)
            timing.synchronize(self.device)
        except Verdict:
            raise
        except BaseException as exc:  # noqa: BLE001 - everything ModelNew raises is its own failure
            raise Verdict(failures.from_call(exc, self.path, case, first)) from None
        finally:
            self.wire.armed = False
        return outputs(out)


def verify(job: Job, ch: Channel, workdir: str, gpu_name: str) -> Result:
    clock = Clock(ch)
    try:
        result = _verify(job, workdir, gpu_name, clock)
    except Verdict as v:
        result = v.result
    return {**result, "phases": clock.result(), "gpu": gpu_name}


def _verify(job: Job, workdir: str, gpu_name: str, clock: Clock) -> Result:
    problem, device = job.problem, job.device
    source = job.source if job.source is not None else open(job.kernel_path or "").read()
    clock.enter("static")
    if job.static_checks:
        found = check_kernelbench_source(source, device)
        if found:
            first = found[0]
            others = "".join(f"\n  line {v.line}: [{v.rule}] {v.message}" for v in found[1:6])
            raise Verdict(rejected(first.rule, first.message + (f"\nalso:{others}" if others else ""), first.line))
    mod = load_problem_module(job.reference_path)
    init = init_inputs(mod, device)
    ref_model = build(mod.Model, init, MODEL_SEED, device)
    forward_code = mod.Model.forward.__code__
    wire = ReferenceTripwire(mod.Model)

    clock.enter("import")
    timers, threads = anticheat.TimerSnapshot(), anticheat.Threads()
    path = sandbox.write_candidate(workdir, source)
    cmod = sandbox.import_candidate(path)
    timers.check("while the module was imported")
    anticheat.check_threads(threads, "after the module was imported")
    cls = getattr(cmod, "ModelNew", None)
    if not isinstance(cls, type) or not issubclass(cls, torch.nn.Module):
        raise Verdict(compile_error("the module defines no `class ModelNew(torch.nn.Module)`"))
    check_class(cls, mod.Model, forward_code)
    own = sorted(set(static_checks.jit_function_names(source)) | set(module_kernel_names(cmod)))

    clock.enter("compile")
    try:
        model = build(cls, init_inputs(mod, device), MODEL_SEED, device)
        _share_parameters(model, ref_model)
    except Verdict:
        raise
    except BaseException as exc:  # noqa: BLE001
        raise Verdict(failures.from_call(exc, path, None, True)) from None
    cand = KBCandidate(model, path, device, own, wire)

    checks = _correctness(cand, problem, mod, ref_model, int(job.seed), lambda: clock.enter("correctness"))
    wire.check("during the correctness calls")
    timers.check("during the correctness calls")
    if device == "cuda":
        _profile(cand, mod, workdir, "during a correctness call")

    if not job.timing:
        return ok(checks, [], None, None)
    clock.enter("timing")
    cached = ((job.baseline or {}).get("shapes") or {}).get(BENCH_LABEL)
    base: Mapping[str, Any] = cached if cached is not None else time_baselines(mod, ref_model, device, job.timing_budget_s)
    t = time_candidate(cand, mod, ref_model, base, device, job.timing_budget_s, gpu_name, workdir)
    wire.check("during the timed calls")
    timers.check("during the timed calls")
    return ok(checks, [t], t["speedup"].get("primary"), None)


def _share_parameters(model: torch.nn.Module, ref: torch.nn.Module) -> None:
    """Model's parameters and buffers into ModelNew when both have the same keys and shapes (same-seed init covers
    the rest, as in KernelBench)."""
    mine, theirs = model.state_dict(), ref.state_dict()
    if mine.keys() == theirs.keys() and all(mine[k].shape == theirs[k].shape for k in mine):
        model.load_state_dict(theirs)


def _correctness(cand: KBCandidate, problem: Dict[str, Any], mod: ModuleType, ref_model: torch.nn.Module, base_seed: int,
                 on_first_call: Callable[[], None]) -> List[KBCheck]:
    device, kb_tol, rel = cand.device, problem["kbTolerance"], float(problem["relTolerance"])
    checks: List[KBCheck] = []
    prev: Optional[Fingerprint] = None
    alive: List[List[Any]] = []
    first = True
    threads_after_first: Optional[anticheat.Threads] = None
    for di, dist in enumerate(problem["distributions"]):
        for j in range(int(problem["seeds"])):
            seed = base_seed + 1009 * di + j
            inputs = make_inputs(mod, dist, seed, device)
            with torch.no_grad():
                refs = [o.detach() for o in outputs(ref_model(*inputs))]
            goldens = run_as(ref_model, inputs, torch.float64)
            if dist != "kernelbench" and not all(bool(torch.isfinite(g).all()) for g in (goldens or refs)):
                continue  # the reference itself is not finite here (log of a negative ...): not a test of the candidate
            case: KBCase = {"dist": dist, "seed": seed, "inputs": describe_inputs(inputs)}
            named = {f"input {i}": x for i, x in enumerate(inputs) if torch.is_tensor(x)}
            snapshots = {n: t.clone() for n, t in named.items()}
            correctness.poison_allocator(max(sum(r.numel() * r.element_size() for r in refs), 1), device)
            before = anticheat.Threads()
            outs = cand.call(inputs, case)
            anticheat.check_threads(before, "after forward returned")  # library pools are named and excused
            if first:
                first, threads_after_first = False, anticheat.Threads()
                on_first_call()
            check_plain(outs, refs)
            fp = Fingerprint(outs)
            anticheat.check_inputs_unchanged(snapshots, named)
            for o in outs:
                anticheat.check_no_alias(o, named)
            if prev is not None:
                for o, c in zip(prev.outs, prev.copies):
                    anticheat.check_previous_output(o, c)
                prev.check("during the next call")
            bad = next((b for b in (correctness.first_nonfinite(o.float()) for o in outs) if b is not None), None)
            ref_bad = any(not bool(torch.isfinite(r).all()) for r in refs)
            if bad is not None and not ref_bad:
                raise Verdict(rejected("dynamic.nan_output", f"{dist} inputs, seed {seed}: {bad['count']} of {bad['total']} "
                                       "output values are NaN/Inf. Output memory is poisoned before each call, so this also "
                                       "catches memory that was allocated but never written."))
            check = compare(outs, refs, goldens, kb_tol, rel)
            if not check["passed"]:
                check_precision(outs, refs, goldens, ref_model, inputs, kb_tol, rel)
            fp.check("while it was checked")
            checks.append({"shape": flat_shape(outs), "seed": seed, "passed": check["passed"], "maxError": check["maxError"],
                           "allowance": check["allowance"], "case": f"{dist}: {case['inputs']}", "rules": check["rules"]})
            # Every checked input stays alive through the phase: new inputs never reuse an old address, so a cache
            # keyed by pointer never hits here (the refill probe is the one to catch and name it).
            prev = fp
            alive.append(inputs)
    if not checks:
        raise Verdict(wrong_output("no input distribution gave the reference finite outputs", []))
    failed = [c for c in checks if not c["passed"]]
    if failed:
        raise Verdict(wrong_output(_failure_message(failed, len(checks)), checks))
    _refill_probe(cand, problem, mod, ref_model, base_seed)
    if threads_after_first is not None:
        anticheat.check_threads(threads_after_first, "after the correctness calls")
    return checks


def _refill_probe(cand: KBCandidate, problem: Dict[str, Any], mod: ModuleType, ref_model: torch.nn.Module, base_seed: int) -> None:
    """dynamic.cached_result: the same input buffers, refilled in place with new values, must give the new answer."""
    device, dist = cand.device, problem["distributions"][-1]
    inputs = make_inputs(mod, dist, base_seed + 7777, device)
    cand.call(inputs, None)
    fresh = make_inputs(mod, dist, base_seed + 7778, device)
    for x, y in zip(inputs, fresh):
        if torch.is_tensor(x):
            x.copy_(y)
    with torch.no_grad():
        refs = [o.detach() for o in outputs(ref_model(*inputs))]
    outs = cand.call(inputs, None)
    check_plain(outs, refs)
    check = compare(outs, refs, run_as(ref_model, inputs, torch.float64), problem["kbTolerance"], float(problem["relTolerance"]))
    if not check["passed"]:
        raise Verdict(rejected("dynamic.cached_result", f"after the inputs were refilled in place with new values the output "
                               f"was wrong (max error {check['maxError']:.3g} > {check['allowance']:.3g}): results cached by "
                               "pointer or by shape?"))


def _profile(cand: KBCandidate, mod: ModuleType, workdir: str, where: str) -> None:
    """(GPU) every kernel of one call: the module's own launched, no library kernels, no side streams."""
    inputs = make_inputs(mod, "normal", 31337, cand.device)
    cand.call(inputs, None)
    trace = anticheat.traced(lambda: cand.call(inputs, None), workdir)
    if trace is None:
        return
    own_kernels_ran(trace, cand.own_kernels, where, anticheat._is_own)
    anticheat.check_kernels(trace, cand.own_kernels, where)


def _failure_message(failed: List[KBCheck], total: int) -> str:
    w = max(failed, key=lambda c: c["maxError"] / max(c["allowance"], 1e-30))
    broken = [name for name, passed in w["rules"].items() if not passed]
    return (f"{len(failed)} of {total} checks failed; worst on {w['case']} (seed {w['seed']}): max error {w['maxError']:.4g} "
            f"> allowance {w['allowance']:.4g}; rule(s) broken: {', '.join(broken)}")


# ---- the kind's other job modes ----


def measure_baseline(job: Job, gpu_name: str) -> Result:
    t0 = timing.now()
    mod = load_problem_module(job.reference_path)
    ref_model = build(mod.Model, init_inputs(mod, job.device), MODEL_SEED, job.device)
    base = time_baselines(mod, ref_model, job.device, max(job.timing_budget_s, 0.5))
    return {"status": "baseline", "problem": job.problem.get("name", ""), "gpu": gpu_name, "torch": torch.__version__,
            "shapes": {BENCH_LABEL: {k: v for k, v in base.items() if k != "unavailable"}},
            "unavailable": base.get("unavailable", {}), "phases": {"totalMs": (timing.now() - t0) * 1e3}}


def reference_check(job: Job, gpu_name: str) -> Result:
    """The problem runs: Model builds, and its forward is finite on each distribution (those that are not are named)."""
    t0 = timing.now()
    mod = load_problem_module(job.reference_path)
    ref_model = build(mod.Model, init_inputs(mod, job.device), MODEL_SEED, job.device)
    checks: List[KBReferenceCheck] = []
    for dist in job.problem["distributions"]:
        inputs = make_inputs(mod, dist, int(job.seed), job.device)
        with torch.no_grad():
            outs = outputs(ref_model(*inputs))
        finite = all(bool(torch.isfinite(o).all()) for o in outs if torch.is_tensor(o))
        checks.append({"dist": dist, "inputs": describe_inputs(inputs), "passed": finite})
    return {"status": "reference_check", "problem": job.problem.get("name", ""), "gpu": gpu_name, "checks": checks,
            "passed": checks[0]["passed"] if checks else False, "phases": {"totalMs": (timing.now() - t0) * 1e3}}


def static_only(job: Job) -> Result:
    source = job.source if job.source is not None else open(job.kernel_path or "").read()
    found = check_kernelbench_source(source, job.device)
    return {"status": "static", "violations": [{"rule": v.rule, "message": v.message, "line": v.line} for v in found],
            "kernels": static_checks.jit_function_names(source), "phases": {"totalMs": 0.0}}
