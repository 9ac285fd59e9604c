"""One candidate's verification, phase by phase: static -> import -> compile -> correctness -> timing.
Each phase is announced on the channel so the client's time limit names the phase it hit."""
from __future__ import annotations

from typing import Dict, List

from . import anticheat, benchmark, sandbox, static_checks, timing
from .candidate import Candidate, module_kernel_names
from .checks import profile_probe, run_correctness
from .problem import attention_spec, shape_label
from .protocol import Channel, Job, Verdict, ok, rejected
from .reference import load_reference
from .types import Result, ShapeTiming


class Clock:
    """Milliseconds per phase (the Phases shape of result.ts); the phase a failure ends in is counted too."""

    def __init__(self, ch: Channel) -> None:
        self.ch = ch
        self.t0 = self.mark = timing.now()
        self.current = "staticMs"
        self.phases: Dict[str, float] = {}

    def enter(self, phase: str) -> None:
        """Closes the running phase and announces `phase` (static, import, compile, correctness, timing)."""
        self._lap()
        self.current = f"{phase}Ms"
        self.ch.phase(phase)

    def _lap(self) -> None:
        now = timing.now()
        self.phases[self.current] = self.phases.get(self.current, 0.0) + (now - self.mark) * 1e3
        self.mark = now

    def result(self) -> Dict[str, float]:
        self._lap()
        return {**self.phases, "totalMs": (timing.now() - self.t0) * 1e3}


def verify(job: Job, ch: Channel, workdir: str, gpu_name: str) -> Result:
    """The VerifyResult of one candidate (a Verdict anywhere ends it early with that result)."""
    clock = Clock(ch)
    try:
        result = _verify(job, ch, workdir, gpu_name, clock)
    except Verdict as v:
        result = v.result
    return {**result, "phases": clock.result(), "gpu": gpu_name}


def _verify(job: Job, ch: Channel, workdir: str, gpu_name: str, clock: Clock) -> Result:
    problem, device = attention_spec(job), job.device
    source = job.source if job.source is not None else open(job.kernel_path or "").read()
    clock.enter("static")
    if job.static_checks:
        found = static_checks.check_source(source, device)
        if found:
            first = found[0]
            others = "".join(f"\n  line {v.line}: [{v.rule}] {v.message}" for v in found[1:6])
            raise Verdict(rejected(first.rule, first.message + (f"\nalso:{others}" if others else ""), first.line))

    ref = load_reference(job.reference_path)
    clock.enter("import")
    timers = anticheat.TimerSnapshot()
    threads = anticheat.Threads()
    path = sandbox.write_candidate(workdir, source)
    mod = sandbox.import_candidate(path)
    fn = sandbox.entry_point(mod)
    timers.check("while the module was imported")
    anticheat.check_threads(threads, "after the module was imported")
    own = sorted(set(static_checks.jit_function_names(source)) | set(module_kernel_names(mod)))
    cand = Candidate(fn, path, device, own)

    clock.enter("compile")

    checks = run_correctness(cand, problem, ref, int(job.seed), lambda: clock.enter("correctness"))
    if device == "cuda":
        largest = max(problem["shapes"]["correctness"], key=lambda s: s["B"] * s["H"] * s["S"] * s["S"])
        profile_probe(cand, problem, largest, int(job.seed) + 99, workdir, f"at correctness shape {shape_label(largest)}", ref)
    timers.check("during the correctness calls")

    if not job.timing or not problem["shapes"]["benchmark"]:
        return ok(checks, [], None, None)
    clock.enter("timing")
    timings = _timing(cand, job, workdir, gpu_name)
    timers.check("during the timed calls")
    speedups = [t["speedup"].get("primary", 0.0) for t in timings]
    return ok(checks, timings, benchmark.geomean(speedups), benchmark.geomean([t["tflops"] for t in timings]))


def _timing(cand: Candidate, job: Job, workdir: str, gpu_name: str) -> List[ShapeTiming]:
    problem, device = attention_spec(job), job.device
    cached = (job.baseline or {}).get("shapes") or {}
    ref = load_reference(job.reference_path)
    out: List[ShapeTiming] = []
    for shape in problem["shapes"]["benchmark"]:
        sb = benchmark.ShapeBench(problem, ref, shape, device)
        base = cached.get(shape_label(shape))
        if base is None:
            base = benchmark.time_baselines(problem, ref, sb, job.timing_budget_s)
        cand_t = benchmark.time_candidate(cand, problem, sb, job.timing_budget_s, workdir, gpu_name)
        out.append(benchmark.shape_timing(shape, cand_t, base, problem, device))
        del sb
    return out
