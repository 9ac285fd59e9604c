"""The wire protocol: one job (JSON) on stdin; events and the result as JSON lines on a private channel.

The channel is fd 3 (the TypeScript client) or a file (gpu_selftest.py), never stdout: a candidate's
prints go to stdout/stderr and cannot be mistaken for a result. Once the job is read, every line
carries the job's nonce, so a candidate that writes to the channel still cannot forge a result.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from .types import Result

MODES = ("verify", "baseline", "reference_check", "static", "inspect_variant")


class Channel:
    """JSON-lines sink: "fd:N" or "file:PATH"."""

    def __init__(self, spec: str):
        kind, _, target = spec.partition(":")
        if kind == "fd":
            # Keep a private duplicate and close the well-known number, so the candidate cannot
            # simply write to fd 3.
            fd = int(target)
            self._fd = os.dup(fd)
            os.close(fd)
        elif kind == "file":
            self._fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        else:
            raise ValueError(f"channel must be fd:N or file:PATH, got {spec!r}")
        self._nonce: Optional[str] = None

    def set_nonce(self, nonce: str) -> None:
        self._nonce = nonce

    def send(self, event: str, **fields: Any) -> None:
        msg = {"event": event, **fields}
        if self._nonce is not None:
            msg["nonce"] = self._nonce
        data = (json.dumps(msg, allow_nan=False, default=_jsonable) + "\n").encode()
        while data:
            n = os.write(self._fd, data)
            data = data[n:]

    def phase(self, name: str) -> None:
        """Tells the client which phase runs now, so a time limit names the phase it hit."""
        self.send("phase", phase=name, t=time.time())


def _jsonable(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


@dataclass
class Job:
    """One unit of work for a fresh harness process."""

    mode: str
    nonce: str
    device: str
    # The problem as the client sent it: an attention spec (worker.main normalises it: problem.attention_spec reads
    # it as a ProblemSpec), a KernelBench spec, or inspect_variant's draft.
    problem: Dict[str, Any]
    reference_path: str
    kernel_path: Optional[str] = None
    source: Optional[str] = None
    timing: bool = True
    baseline: Optional[Dict[str, Any]] = None
    static_checks: bool = True
    seed: int = 0
    # Timing knobs (the defaults keep a candidate's verification under 10 s on an H100).
    timing_budget_s: float = 0.35
    extra: Dict[str, Any] = field(default_factory=dict)


# The fields of tools/verifier/job.ts (HarnessJob) and their JSON types; anything else is refused.
_FIELDS: Dict[str, Tuple[type, ...]] = {
    "mode": (str,), "nonce": (str,), "device": (str,), "problem": (dict,), "reference_path": (str,),
    "kernel_path": (str, type(None)), "source": (str, type(None)), "timing": (bool,), "baseline": (dict, type(None)),
    "static_checks": (bool,), "seed": (int,), "timing_budget_s": (int, float), "extra": (dict,)}
_REQUIRED = ("mode", "nonce", "device", "problem", "reference_path")


def parse_job(line: str) -> Job:
    """The job from the client, checked field by field: an unknown key or a wrong type is an error, not 'extra'."""
    raw = json.loads(line)
    if not isinstance(raw, dict):
        raise ValueError("a job is a JSON object")
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise ValueError(f"unknown job field(s): {', '.join(unknown)}")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise ValueError(f"missing job field(s): {', '.join(missing)}")
    for k, v in raw.items():
        if not isinstance(v, _FIELDS[k]) or (isinstance(v, bool) and bool not in _FIELDS[k]):
            raise ValueError(f"job.{k} has the wrong type ({type(v).__name__})")
    if raw["mode"] not in MODES:
        raise ValueError(f"job.mode must be one of {MODES}, got {raw['mode']!r}")
    if raw["device"] not in ("cuda", "cpu"):
        raise ValueError(f"job.device must be cuda or cpu, got {raw['device']!r}")
    return Job(**raw)


# ---- result builders: exactly the shapes of tools/verifier/result.ts (VerifyResult) ----


def ok(checks: Sequence[Mapping[str, Any]], timings: Sequence[Mapping[str, Any]], speedup: Optional[float], tflops: Optional[float]) -> Result:
    return {"status": "ok", "checks": checks, "timings": timings, "speedup": speedup, "tflops": tflops}


def compile_error(message: str, line: Optional[int] = None) -> Result:
    return _drop_none({"status": "compile_error", "message": message, "line": line})


def runtime_error(message: str, shape: Optional[Mapping[str, Any]] = None, kind: Optional[str] = None) -> Result:
    return _drop_none({"status": "runtime_error", "message": message, "shape": shape, "kind": kind})


def wrong_output(message: str, checks: Sequence[Mapping[str, Any]]) -> Result:
    return {"status": "wrong_output", "message": message, "checks": checks}


def rejected(rule: str, message: str, line: Optional[int] = None) -> Result:
    return _drop_none({"status": "rejected", "rule": rule, "message": message, "line": line})


def _drop_none(d: Result) -> Result:
    return {k: v for k, v in d.items() if v is not None}


class Verdict(Exception):
    """Raised anywhere in a job to end it with this result (a kernel's failure, not ours)."""

    def __init__(self, result: Result):
        super().__init__(result.get("message", result.get("status")))
        self.result = result
