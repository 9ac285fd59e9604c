"""Dynamic anti-cheat rules, checked while the candidate runs. Each raises a Verdict naming its rule:

  dynamic.library_kernel  a CUDA kernel that is not one of the module's own (cuBLAS, cuDNN, flash, aten math)
  dynamic.side_stream     a kernel on a stream other than the caller's current stream
  dynamic.cached_result   the same (or same-shaped) inputs refilled with new values give the old answer
  dynamic.output_aliasing the output aliases an input, or an earlier output changes on the next call
  dynamic.input_mutation  an input (q, k, v or a tensor param) differs after the call
  dynamic.nan_output      NaN/Inf in the output (poisoned memory shows up here as well)
  dynamic.patched_timer   torch.cuda.Event / synchronize / time.perf_counter ... replaced
  dynamic.threads         the candidate started threads
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch

from .protocol import Verdict, rejected
from .types import KernelEvent

_TIMERS: Dict[str, Callable[[], object]] = {
    "torch.cuda.Event": lambda: torch.cuda.Event,
    "torch.cuda.Event.record": lambda: torch.cuda.Event.record,
    "torch.cuda.Event.elapsed_time": lambda: torch.cuda.Event.elapsed_time,
    "torch.cuda.Event.synchronize": lambda: torch.cuda.Event.synchronize,
    "torch.cuda.synchronize": lambda: torch.cuda.synchronize,
    "torch.cuda.current_stream": lambda: torch.cuda.current_stream,
    "time.perf_counter": lambda: time.perf_counter,
    "time.perf_counter_ns": lambda: time.perf_counter_ns,
    "time.time": lambda: time.time,
    "time.monotonic": lambda: time.monotonic,
}
# aten kernels that only allocate-and-fill or copy/cast (torch.zeros, .contiguous(), .to()).
_INFRA_KERNEL = re.compile(r"FillFunctor|fill_kernel|direct_copy_kernel|copy_kernel|[Mm]emset|[Mm]emcpy")


class TimerSnapshot:
    """Identities of the timing functions, taken before the candidate is imported."""

    def __init__(self) -> None:
        self.ids = {name: id(get()) for name, get in _TIMERS.items()}

    def check(self, when: str) -> None:
        changed = [name for name, get in _TIMERS.items() if id(get()) != self.ids[name]]
        if changed:
            raise Verdict(rejected("dynamic.patched_timer", f"{', '.join(changed)} replaced {when}"))


# Threads libraries start on their own (LLVM/MLIR compile pools, the CUDA driver, CUPTI), by OS name.
# A thread inherits its creator's name, so one named like the main thread is never excused.
_LIBRARY_THREAD = re.compile(r"^(llvm-worker|cuda|CUPTI|Kineto)", re.I)


class Threads:
    """The process's threads at one moment: OS thread ids with their names, and Python's own count."""

    def __init__(self) -> None:
        self.os = _os_threads()
        self.py = threading.active_count()

    def new_since(self, before: "Threads") -> List[str]:
        """Threads alive now that were not before, leaving out library threads named as such."""
        main = self.os.get(os.getpid(), "")
        fresh = [f"{name} (tid {tid})" for tid, name in self.os.items()
                 if tid not in before.os and (name == main or not _LIBRARY_THREAD.match(name))]
        if self.py > before.py and not fresh:
            fresh.append(f"{self.py - before.py} Python thread(s)")
        return fresh


def _os_threads() -> Dict[int, str]:
    out: Dict[int, str] = {}
    try:
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/comm") as f:
                    out[int(tid)] = f.read().strip()
            except OSError:
                pass  # the thread ended while we looked
    except OSError:
        pass  # no /proc (not Linux): Python's count still works
    return out


def check_threads(before: Threads, when: str) -> None:
    fresh = Threads().new_since(before)
    if fresh:
        time.sleep(0.02)  # a library thread that is just finishing gets a moment to exit
        fresh = Threads().new_since(before)
    if fresh:
        raise Verdict(rejected("dynamic.threads", f"{len(fresh)} new thread(s) alive {when}: {', '.join(fresh[:4])}; no work on threads"))


def check_inputs_unchanged(snapshots: Dict[str, torch.Tensor], live: Dict[str, torch.Tensor]) -> None:
    for name, before in snapshots.items():
        if not torch.equal(before, live[name]):
            n = int((before != live[name]).sum().item())
            raise Verdict(rejected("dynamic.input_mutation", f"input `{name}` was modified by the kernel ({n} elements changed)"))


def check_no_alias(out: torch.Tensor, inputs: Dict[str, torch.Tensor]) -> None:
    """The output must be fresh memory: not a view of, nor overlapping, any input."""
    o0, o1 = _span(out)
    for name, t in inputs.items():
        t0, t1 = _span(t)
        if o0 < t1 and t0 < o1:
            raise Verdict(rejected("dynamic.output_aliasing", f"the output shares memory with input `{name}`"))


def _span(t: torch.Tensor) -> Tuple[int, int]:
    """[first byte, one past the last byte] that the tensor's elements occupy, strides included.
    The end is exclusive: the caching allocator may place the output right after an input."""
    start = t.data_ptr()
    if t.numel() == 0:
        return start, start
    last = sum((size - 1) * stride for size, stride in zip(t.shape, t.stride()) if size > 0)
    return start, start + (last + 1) * t.element_size()


def check_previous_output(prev: Optional[torch.Tensor], prev_copy: Optional[torch.Tensor]) -> None:
    """A returned tensor belongs to the caller: the next call must not overwrite it."""
    if prev is not None and prev_copy is not None and not torch.equal(prev, prev_copy):
        raise Verdict(rejected("dynamic.output_aliasing",
                               "an earlier call's output changed during the next call (the kernel reuses its output buffer)"))


def kernel_trace(call: Callable[[], object], device_index: int, workdir: str) -> List[KernelEvent]:
    """Runs call() under torch.profiler; returns every CUDA kernel {name, stream} in launch order,
    preceded by a marker kernel launched by the harness on the caller's current stream."""
    from torch.profiler import ProfilerActivity, profile

    marker = torch.empty(16, dtype=torch.float32, device=f"cuda:{device_index}")
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        marker.fill_(1.0)
        torch.cuda.synchronize()
        call()
        torch.cuda.synchronize()
    path = os.path.join(workdir, f"trace_{os.getpid()}_{time.time_ns()}.json")
    prof.export_chrome_trace(path)
    with open(path) as f:
        events = json.load(f).get("traceEvents", [])
    os.unlink(path)
    kernels = [e for e in events if e.get("cat") in ("kernel", "Kernel") and e.get("ph") == "X"]
    kernels.sort(key=lambda e: float(e.get("ts", 0)))
    return [{"name": str(e.get("name", "")), "stream": (e.get("args") or {}).get("stream")} for e in kernels]


def traced(call: Callable[[], object], workdir: str) -> Optional[List[KernelEvent]]:
    """kernel_trace, or None when the profiler itself fails (said on stderr, so it lands in the log):
    the static rules still stand, and a broken profiler must not fail every candidate."""
    try:
        return kernel_trace(call, torch.cuda.current_device(), workdir)
    except Verdict:
        raise
    except Exception as exc:  # noqa: BLE001
        from .failures import cuda_kind

        if cuda_kind(exc):
            raise  # a CUDA fault inside the profiled call is the candidate's
        import sys

        print(f"[kforge harness] profiler unavailable, kernel checks skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


def check_kernels(trace: List[KernelEvent], own_names: List[str], where: str) -> None:
    """dynamic.library_kernel and dynamic.side_stream over one profiled call (trace[0] is the marker)."""
    if not trace:
        return
    stream = trace[0]["stream"]
    launched = trace[1:]
    if not launched:
        raise Verdict(rejected("dynamic.library_kernel", f"no CUDA kernel ran during the call {where}: where is the work done?"))
    for k in launched:
        if not _is_own(k["name"], own_names):
            raise Verdict(rejected("dynamic.library_kernel",
                                   f"kernel `{_short(k['name'])}` ran {where}; only the module's own Triton/CUDA kernels may run "
                                   f"(own kernels: {', '.join(own_names) or 'none found'})"))
    for k in launched:
        if stream is not None and k["stream"] is not None and k["stream"] != stream:
            raise Verdict(rejected("dynamic.side_stream",
                                   f"kernel `{_short(k['name'])}` ran on stream {k['stream']}, not the caller's stream {stream}"))


def _is_own(name: str, own: List[str]) -> bool:
    if _INFRA_KERNEL.search(name):
        return True
    for n in own:
        # Triton names kernels after the function (older versions add a signature suffix like _0d1d2d);
        # CUDA kernels appear demangled: "name(args)" or "void name<...>(args)".
        if name == n or re.fullmatch(rf"{re.escape(n)}_[0-9a-z]+", name) or re.match(rf"^(void )?{re.escape(n)}[(<]", name):
            return True
    return False


def _short(name: str) -> str:
    return name if len(name) <= 120 else name[:117] + "..."
