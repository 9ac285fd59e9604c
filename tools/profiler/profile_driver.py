"""Runs one candidate attention kernel for Nsight Compute: warm-up calls, then one call inside the
NVTX range "kforge_profile" that ncu filters on (--nvtx --nvtx-include kforge_profile/).

It also reads Triton's compile metadata (registers, spills, shared memory, warps, stages) from the
compiled kernel objects after the warm-up: free information that needs no counters.

Usage (normally under ncu, inside the verifier's sandbox):
  python profile_driver.py --module cand.py --shape 4,16,16,4096,128 --params '{"cap": 30}' \
      --result result.json [--warmup 3] [--seed 0] [--no-range]

The result file holds one JSON object: {"status": "ok", "compile": [...], ...} or
{"status": "no_gpu" | "error", "phase": ..., "message": ...}. Exit codes: 0 ok, 2 no GPU, 3 the
candidate failed. Runs on torch 1.13 (CPU: it just reports no_gpu) and torch 2.x + Triton 3.x.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import sys
import time
import traceback
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Tuple

if TYPE_CHECKING:  # at run time the harness is importable only once materialise_params put it on sys.path
    from kforge_harness.types import Params, Shape

RANGE_NAME = "kforge_profile"


def write_result(path: str, obj: Dict[str, Any]) -> None:
    with open(path, "w") as f:
        json.dump(obj, f)


HARNESS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "verifier", "harness")


def materialise_params(torch: Any, raw: Dict[str, Any], shape: Shape, device: Any, seed: int) -> Params:
    """Turns problem params (numbers, "alibi", "random_docs(N)") into kernel arguments: the verifier
    harness's own generator when it is importable (same tensors as verification), else a local twin."""
    try:
        if HARNESS_DIR not in sys.path:
            sys.path.append(HARNESS_DIR)
        from kforge_harness.params import materialise

        return materialise(raw, shape, str(device), seed)
    except ImportError:
        pass
    out: Params = {}
    gen = torch.Generator(device="cpu").manual_seed(seed + 1)
    for name, value in raw.items():
        if isinstance(value, (int, float)):
            out[name] = value
        elif value == "alibi":
            h = shape["H"]
            out[name] = torch.tensor([2.0 ** (-8.0 * (i + 1) / h) for i in range(h)], dtype=torch.float32, device=device)
        else:
            m = re.fullmatch(r"random_docs\((\d+)\)", str(value))
            if not m:
                raise ValueError(f"unknown param generator {value!r} for {name}")
            n_docs, s = int(m.group(1)), shape["S"]
            cuts = torch.randperm(s - 1, generator=gen)[: max(n_docs - 1, 0)] + 1
            ids = torch.zeros(s, dtype=torch.int32)
            for c in cuts.tolist():
                ids[c:] += 1
            out[name] = ids.to(device)
    return out


def _unwrap(obj: Any) -> Tuple[Any, Any]:
    """Follows Autotuner/Heuristics wrappers to the JITFunction; returns (jit_fn, best_config)."""
    try:
        from triton.runtime.jit import JITFunction
    except Exception:
        return None, None
    fn, best = obj, None
    for _ in range(5):
        if isinstance(fn, JITFunction):
            return fn, best
        if best is None and getattr(fn, "best_config", None) is not None:
            best = fn.best_config
        fn = getattr(fn, "fn", None)
        if fn is None:
            break
    return None, None


def _compiled_kernels(jit_fn: Any) -> Iterator[Any]:
    """Compiled kernels in a JITFunction's caches (layout differs across Triton 2.x / 3.x)."""
    pools: List[Any] = []
    for entry in (getattr(jit_fn, "device_caches", None) or {}).values():
        pools.extend(entry if isinstance(entry, tuple) else (entry,))
    pools.extend((getattr(jit_fn, "cache", None) or {}).values())
    for pool in pools:
        if isinstance(pool, dict):
            for k in pool.values():
                if hasattr(k, "metadata"):
                    yield k


def _num(x: object) -> Optional[int]:
    return None if x is None else (int(x) if isinstance(x, (int, float)) else None)


def _candidate_objects(module: ModuleType) -> Iterator[object]:
    """Globals of the candidate module and of modules imported from its own folder."""
    assert module.__file__ is not None  # load_module imported it from a file
    folder = os.path.dirname(os.path.abspath(module.__file__))
    mods = [module] + [m for m in list(sys.modules.values()) if m is not module and os.path.dirname(os.path.abspath(getattr(m, "__file__", None) or "/nonexistent/x")) == folder]
    seen = set()
    for m in mods:
        for obj in list(vars(m).values()):
            if id(obj) not in seen:
                seen.add(id(obj))
                yield obj


def compile_metadata(module: ModuleType) -> List[Dict[str, Any]]:
    """Registers, spills, shared memory, warps and stages of every compiled Triton kernel the candidate owns."""
    found: List[Dict[str, Any]] = []
    for obj in _candidate_objects(module):
        jit_fn, best = _unwrap(obj)
        if jit_fn is None:
            continue
        for k in _compiled_kernels(jit_fn):
            try:
                if getattr(k, "n_regs", None) is None and hasattr(k, "_init_handles"):
                    k._init_handles()
            except Exception:
                pass
            md = k.metadata
            get: Callable[[str], Any] = (lambda key: md.get(key)) if isinstance(md, dict) else (lambda key: getattr(md, key, None))
            rec = {
                "name": str(get("name") or getattr(jit_fn, "__name__", "?")),
                "registers": _num(getattr(k, "n_regs", None)),
                "spills": _num(getattr(k, "n_spills", None)),
                "sharedBytes": _num(get("shared")),
                "numWarps": _num(get("num_warps")),
                "numStages": _num(get("num_stages")),
            }
            if best is not None and (
                getattr(best, "num_warps", rec["numWarps"]) != rec["numWarps"]
                or getattr(best, "num_stages", rec["numStages"]) != rec["numStages"]
            ):
                continue  # an autotuning config that lost
            found.append(rec)
    return found


def load_module(path: str) -> ModuleType:
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec = importlib.util.spec_from_file_location("kforge_candidate", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules["kforge_candidate"] = module
    spec.loader.exec_module(module)
    return module


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--module", required=True)
    ap.add_argument("--shape", default="1,1,1,1,1", help="B,H,Hkv,S,D")
    ap.add_argument("--kernelbench", default=None, help="a KernelBench problem file: ModelNew(*get_init_inputs()) on get_inputs()")
    ap.add_argument("--params", default="{}")
    ap.add_argument("--result", required=True)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-range", action="store_true", help="launch without the NVTX range (ncu --launch-skip mode)")
    args = ap.parse_args(argv)
    B, H, Hkv, S, D = (int(x) for x in args.shape.split(","))
    shape: Shape = {"B": B, "H": H, "Hkv": Hkv, "S": S, "D": D}
    phase = "setup"
    try:
        import torch

        if not torch.cuda.is_available():
            write_result(args.result, {"status": "no_gpu", "message": "torch.cuda.is_available() is False"})
            return 2
        dev = torch.device("cuda")
        torch.manual_seed(args.seed)
        if args.kernelbench is not None:
            return _kernelbench(torch, args, dev)
        q = torch.randn(B, H, S, D, device=dev, dtype=torch.bfloat16)
        k = torch.randn(B, Hkv, S, D, device=dev, dtype=torch.bfloat16)
        v = torch.randn(B, Hkv, S, D, device=dev, dtype=torch.bfloat16)
        params = materialise_params(torch, json.loads(args.params), shape, dev, args.seed)
        scale = 1.0 / math.sqrt(D)
        phase = "import"
        module = load_module(args.module)
        attention = getattr(module, "attention")
        phase = "warmup"
        t0 = time.perf_counter()
        for _ in range(max(args.warmup, 1)):
            out = attention(q, k, v, scale=scale, **params)
        torch.cuda.synchronize()
        warmup_ms = (time.perf_counter() - t0) * 1e3
        compile_info = compile_metadata(module)
        phase = "launch"
        if not args.no_range:
            torch.cuda.nvtx.range_push(RANGE_NAME)
        out = attention(q, k, v, scale=scale, **params)
        if not args.no_range:
            torch.cuda.nvtx.range_pop()
        torch.cuda.synchronize()
        ok_shape = tuple(out.shape) == (B, H, S, D)
        write_result(args.result, {
            "status": "ok",
            "shape": shape,
            "compile": compile_info,
            "warmupMs": warmup_ms,
            "device": torch.cuda.get_device_name(0),
            "outputShapeOk": ok_shape,
        })
        return 0
    except Exception as e:  # the candidate's fault is data for the caller, not a crash of ours
        write_result(args.result, {
            "status": "error",
            "phase": phase,
            "message": f"{type(e).__name__}: {e}",
            "traceback": traceback.format_exc()[-4000:],
        })
        return 3


def _kernelbench(torch: Any, args: argparse.Namespace, dev: Any) -> int:
    """A KernelBench candidate: ModelNew built from get_init_inputs(), called on get_inputs() moved to the GPU."""
    phase = "setup"
    try:
        problem = load_module(args.kernelbench)
        inputs = [x.to(dev) if torch.is_tensor(x) else x for x in problem.get_inputs()]
        init = [x.to(dev) if torch.is_tensor(x) else x for x in problem.get_init_inputs()]
        phase = "import"
        module = load_module(args.module)
        torch.manual_seed(args.seed)
        model = module.ModelNew(*init).to(dev)
        phase = "warmup"
        t0 = time.perf_counter()
        with torch.no_grad():
            for _ in range(max(args.warmup, 1)):
                model(*inputs)
        torch.cuda.synchronize()
        warmup_ms = (time.perf_counter() - t0) * 1e3
        compile_info = compile_metadata(module)
        phase = "launch"
        with torch.no_grad():
            if not args.no_range:
                torch.cuda.nvtx.range_push(RANGE_NAME)
            model(*inputs)
            if not args.no_range:
                torch.cuda.nvtx.range_pop()
        torch.cuda.synchronize()
        write_result(args.result, {"status": "ok", "shape": {"B": 1, "H": 1, "Hkv": 1, "S": 1, "D": 1}, "compile": compile_info,
                                   "warmupMs": warmup_ms, "device": torch.cuda.get_device_name(0), "outputShapeOk": True})
        return 0
    except Exception as e:  # the candidate's fault is data for the caller, not a crash of ours
        write_result(args.result, {"status": "error", "phase": phase, "message": f"{type(e).__name__}: {e}",
                                   "traceback": traceback.format_exc()[-4000:]})
        return 3


if __name__ == "__main__":
    sys.exit(main())
