"""Timing: CUDA events around a batch of back-to-back calls, device-wide synchronisation after it,
warm-up, the median of many samples, inputs rotated across buffer sets (each call of a batch takes the
next set). The timer functions are captured when this module is imported (before any candidate), so a
candidate that patches torch.cuda.Event cannot fool them."""
from __future__ import annotations

import time
from typing import Callable, List, Optional, Sequence

import torch

from .types import Stats

_perf_counter = time.perf_counter
_Event = torch.cuda.Event
_record = torch.cuda.Event.record
_elapsed = torch.cuda.Event.elapsed_time
_synchronize = torch.cuda.synchronize

MIN_RUNS = 10
MAX_RUNS = 200
WARMUP_S = 0.25
BATCH_TARGET_MS = 5.0  # a timed sample is at least this long (back-to-back calls)
MAX_BATCH = 32

# Dense bf16 tensor-core peak (TFLOP/s, no sparsity), by device-name fragment, most specific first.
# Spec-sheet numbers (SXM where it differs), so an honest kernel is never rejected.
PEAK_BF16_TFLOPS = [
    ("GB200", 2500.0), ("B200", 2250.0), ("B100", 1750.0), ("H100 PCIe", 756.0), ("H100 NVL", 835.0),
    ("H100", 989.0), ("H200", 989.0), ("H800", 989.0), ("H20", 148.0), ("GH200", 989.0), ("A100", 312.0),
    ("A800", 312.0), ("A10G", 125.0), ("A10", 125.0), ("L40S", 362.0), ("L40", 181.0), ("L4", 121.0),
    ("RTX 6000 Ada", 364.0), ("4090", 330.0), ("V100", 125.0),
]
UNKNOWN_PEAK = 5000.0


def peak_tflops(device_name: str) -> float:
    """The physical peak for the device (generous for unknown devices: better no check than a false one)."""
    for frag, peak in PEAK_BF16_TFLOPS:
        if frag in device_name:
            return peak
    return UNKNOWN_PEAK


def now() -> float:
    """perf_counter as it was before any candidate was imported."""
    return _perf_counter()


def synchronize(device: str) -> None:
    if device == "cuda":
        _synchronize()


def batch_size(est_ms: float, target_ms: Optional[float] = None, max_batch: Optional[int] = None) -> int:
    """How many back-to-back calls one timed sample holds, so that a sample lasts about target_ms: the
    CPU then runs ahead of the GPU and per-call launch latency is not counted against a fast kernel
    (a baseline with a heavier Python launch path, FlexAttention's, would otherwise pay more for it)."""
    target_ms = BATCH_TARGET_MS if target_ms is None else target_ms
    max_batch = MAX_BATCH if max_batch is None else max_batch
    if not est_ms > 0:
        return max_batch
    return max(1, min(max_batch, int(-(-target_ms // est_ms))))


def time_runs(call: Callable[[int], object], n_sets: int, device: str, budget_s: float,
              warmup: int = 3, min_runs: int = MIN_RUNS, max_runs: int = MAX_RUNS,
              batch: Optional[int] = None) -> List[float]:
    """Milliseconds per call of call(set_index), rotating over n_sets buffer sets. On CUDA each sample is
    a batch of back-to-back calls between two events followed by a device-wide synchronisation, divided
    by the batch size (chosen from the warm-up unless given); on CPU each sample is one call. Stops after
    max_runs samples, or after budget_s once min_runs are done."""
    # Warm up by count and by time: a GPU idling between jobs needs a few hundred ms of load before its
    # clocks settle, and three short runs of a cold process were seen timing a baseline at half speed.
    t_warm = _perf_counter() + (WARMUP_S if device == "cuda" else 0.0)
    i = 0
    while i < warmup or _perf_counter() < t_warm:
        call(i % n_sets)
        i += 1
        if i % n_sets == 0:
            synchronize(device)
    synchronize(device)
    if device == "cuda" and batch is None:
        # One synchronised call per set estimates the per-call time (an overestimate: launch latency in).
        est: List[float] = []
        for idx in range(n_sets):
            start, end = _Event(enable_timing=True), _Event(enable_timing=True)
            _record(start)
            call(idx)
            _record(end)
            _synchronize()
            est.append(float(_elapsed(start, end)))
        batch = batch_size(min(est))
    k = max(1, int(batch or 1)) if device == "cuda" else 1
    times: List[float] = []
    t_end = _perf_counter() + budget_s
    i = 0
    while len(times) < max_runs and (len(times) < min_runs or _perf_counter() < t_end):
        if device == "cuda":
            start, end = _Event(enable_timing=True), _Event(enable_timing=True)
            _record(start)
            for j in range(k):
                call((i + j) % n_sets)
            _record(end)
            _synchronize()  # device-wide: work hidden on other streams still counts
            times.append(float(_elapsed(start, end)) / k)
            i += k
        else:
            t0 = _perf_counter()
            call(i % n_sets)
            times.append((_perf_counter() - t0) * 1e3)
            i += 1
    return times


def summarize(times: Sequence[float]) -> Stats:
    """Median, spread ((p90 - p10) / median) and the number of runs."""
    xs = sorted(times)
    n = len(xs)
    med = xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])
    p10, p90 = xs[int(0.1 * (n - 1))], xs[int(0.9 * (n - 1))]
    return {"ms": med, "runs": n, "spread": (p90 - p10) / med if med > 0 else 0.0}


def tflops(flops: float, ms: float) -> float:
    return flops / (ms * 1e-3) / 1e12 if ms > 0 else 0.0
