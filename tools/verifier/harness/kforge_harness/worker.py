"""The harness process: warm up (import torch, and on a GPU init CUDA, compile a tiny Triton kernel and
start the profiler once), announce "ready", wait for ONE job on stdin, run it, report, exit.

A warm spare of this process waits while the previous candidate runs, so Python/PyTorch/Triton
start-up is never on a candidate's critical path. The process exits with os._exit after the result:
a candidate's atexit hooks and a broken CUDA context never get a say.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import traceback
from typing import Any, Callable, Dict, List, Optional

from .protocol import Channel, Job, parse_job, runtime_error
from .types import Result


def probe() -> Dict[str, Any]:
    """What this interpreter offers the verifier (for `kforge doctor` and lane discovery)."""
    info: Dict[str, Any] = {"python": platform.python_version(), "executable": sys.executable}
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = bool(torch.cuda.is_available())
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if info["cuda"] else []
        info["torch_site"] = os.path.dirname(os.path.dirname(torch.__file__))
    except Exception as exc:  # noqa: BLE001 - the probe reports, it never fails
        info["torch_error"] = f"{type(exc).__name__}: {exc}"
    try:
        import triton

        info["triton"] = triton.__version__
        info["triton_site"] = os.path.dirname(os.path.dirname(triton.__file__))
    except Exception as exc:  # noqa: BLE001
        info["triton_error"] = f"{type(exc).__name__}: {exc}"
    return info


def warm_up(device: str, workdir: str) -> Dict[str, str]:
    import torch

    # Start the CPU intra-op thread pool before threads are counted: the harness's own CPU work (float64 goldens,
    # captured tensors built on the CPU) would otherwise start it inside the candidate's window and be taken for
    # the candidate's threads (dynamic.threads), as happened to a document-mask variant on the H200.
    a = torch.randn(256, 256, dtype=torch.float64)
    torch.softmax(a @ a, dim=-1)
    torch.randint(0, 8, (1 << 20,)).sort()
    if device != "cuda":
        return {"torch": torch.__version__, "gpu": "cpu"}
    torch.cuda.init()
    torch.zeros(1, device="cuda")
    from . import anticheat
    from ._warm_kernel import run_once

    run_once()  # imports triton and pays its first-compile cost here, not in the candidate's
    anticheat.traced(run_once, workdir)  # CUPTI's start-up too
    return {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(torch.cuda.current_device())}


def dispatch(job: Job, ch: Channel, workdir: str, gpu: str) -> Result:
    from . import jobs, verify

    if job.problem.get("kind") == "kernelbench":
        from . import kernelbench_verify as kb

        modes: Dict[str, Callable[[], Result]] = {
            "verify": lambda: kb.verify(job, ch, workdir, gpu), "baseline": lambda: kb.measure_baseline(job, gpu),
            "reference_check": lambda: kb.reference_check(job, gpu), "static": lambda: kb.static_only(job)}
        if job.mode not in modes:
            raise ValueError(f"mode {job.mode} does not apply to a KernelBench problem")
        return modes[job.mode]()
    if job.mode == "verify":
        return verify.verify(job, ch, workdir, gpu)
    if job.mode == "baseline":
        return jobs.measure_baseline(job, gpu)
    if job.mode == "reference_check":
        return jobs.reference_check(job, gpu)
    if job.mode == "inspect_variant":
        from .inspect_variant import inspect_variant

        return inspect_variant(job)
    return jobs.static_only(job)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--channel", default="fd:3", help="fd:N or file:PATH (events and the result)")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--workdir", default=os.getcwd())
    ap.add_argument("--job-file", help="read the job from this file instead of stdin")
    ap.add_argument("--probe", action="store_true", help="print what this interpreter offers, as JSON, and exit")
    args = ap.parse_args(argv)
    if args.probe:
        print(json.dumps(probe()))
        return 0
    from . import sandbox
    from .problem import normalize

    sandbox.harden(args.workdir)
    ch = Channel(args.channel)
    try:
        info = warm_up(args.device, args.workdir)
    except Exception as exc:  # noqa: BLE001
        ch.send("harness_error", message=f"warm-up failed: {type(exc).__name__}: {exc}", trace=traceback.format_exc())
        os._exit(70)
    ch.send("ready", pid=os.getpid(), **info)
    line = open(args.job_file).read() if args.job_file else sys.stdin.readline()
    if not line.strip():
        os._exit(0)  # the client closed stdin: a spare that is no longer needed
    try:
        job = parse_job(line)
        ch.set_nonce(job.nonce)
        if job.problem.get("kind") != "kernelbench":  # a KernelBench spec goes to kernelbench_verify as sent
            job.problem = dict(normalize(job.problem))
        job.device = args.device
    except Exception as exc:  # noqa: BLE001 - a malformed job is the client's bug, not the candidate's
        ch.send("harness_error", message=f"bad job: {type(exc).__name__}: {exc}", trace=traceback.format_exc())
        os._exit(70)
    try:
        result = dispatch(job, ch, args.workdir, info["gpu"])
    except BaseException as exc:  # noqa: BLE001
        from .failures import cuda_kind
        from .reference import problem_fault

        fault = problem_fault(exc)
        if fault:  # the problem's reference or variant file is broken: the user's to fix
            result = fault
        elif cuda_kind(exc):  # the candidate broke the CUDA context; our next call was the one to notice
            result = runtime_error(f"{type(exc).__name__}: {exc}", None, cuda_kind(exc))
        else:
            ch.send("harness_error", message=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc())
            os._exit(70)
    ch.send("result", result=_finite(result))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _finite(x: object) -> object:
    """JSON has no NaN/Inf: non-finite numbers become null (result.ts's nullable fields)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x
