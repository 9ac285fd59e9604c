"""The job modes besides `verify`: measure baselines once, check a reference against FlexAttention,
and run the static rules alone."""
from __future__ import annotations

from typing import Dict, List, Optional, Union

import torch

from . import benchmark, correctness, static_checks, timing
from .baseline import flex_fn
from .params import materialise_for
from .problem import attention_spec, shape_label
from .protocol import Job
from .reference import default_scale, golden_pair, load_reference
from .types import BaselineTiming, RefusedCheck, Result, ShapeCheck


def measure_baseline(job: Job, gpu_name: str) -> Result:
    """Times every baseline at every benchmark shape (the client caches this per run)."""
    t0 = timing.now()
    ref = load_reference(job.reference_path)
    problem = attention_spec(job)
    shapes: Dict[str, Dict[str, BaselineTiming]] = {}
    density: Dict[str, float] = {}
    for shape in problem["shapes"]["benchmark"]:
        sb = benchmark.ShapeBench(problem, ref, shape, job.device)
        shapes[shape_label(shape)] = benchmark.time_baselines(problem, ref, sb, max(job.timing_budget_s, 0.5))
        density[shape_label(shape)] = sb.density
        del sb
    return {"status": "baseline", "problem": job.problem.get("name", ""), "gpu": gpu_name, "torch": torch.__version__,
            "shapes": shapes, "density": density, "phases": {"totalMs": (timing.now() - t0) * 1e3}}


def reference_check(job: Job, gpu_name: str) -> Result:
    """The problem's reference vs its compiled FlexAttention baseline on every correctness shape, by the
    same rule candidates face: both must describe the same function."""
    t0 = timing.now()
    ref = load_reference(job.reference_path)
    problem, device = attention_spec(job), job.device
    checks: List[Union[ShapeCheck, RefusedCheck]] = []
    skipped: Optional[str] = None
    for si, shape in enumerate(problem["shapes"]["correctness"]):
        seed = int(job.seed) + si
        q, k, v = correctness.make_inputs(shape, device, seed)
        params = materialise_for(problem, ref, shape, device, seed)
        scale = default_scale(shape)
        golden, lowprec = golden_pair(ref, q, k, v, scale, params)
        try:
            out = flex_fn(ref, params, shape, device, scale)(q, k, v)
        except ImportError as exc:
            skipped = f"FlexAttention unavailable: {exc}"
            break
        except Exception as exc:  # noqa: BLE001 - FlexAttention refusing a shape is a finding, not a crash
            checks.append({"shape": shape, "seed": seed, "passed": False, "maxError": None, "allowance": 0.0,
                           "error": f"{type(exc).__name__}: {str(exc)[:500]}"})
            continue
        check = correctness.compare(out, golden, lowprec, float(problem["atol"]), shape, seed)
        check["finite"] = correctness.first_nonfinite(out) is None
        check["passed"] = check["passed"] and check["finite"]
        checks.append(check)
    result: Result = {"status": "reference_check", "problem": problem.get("name", ""), "gpu": gpu_name, "checks": checks,
                      "passed": skipped is None and all(c["passed"] for c in checks),
                      "phases": {"totalMs": (timing.now() - t0) * 1e3}}
    if skipped:
        result["skipped"] = skipped
    return result


def static_only(job: Job) -> Result:
    source = job.source if job.source is not None else open(job.kernel_path or "").read()
    found = static_checks.check_source(source, job.device)
    return {"status": "static", "violations": [{"rule": v.rule, "message": v.message, "line": v.line} for v in found],
            "kernels": static_checks.jit_function_names(source), "phases": {"totalMs": 0.0}}
