"""Runs offline-template kernels on the CPU Triton emulator against each problem's float64 reference.

    python3 test/offline/emu_check.py [--problem NAME ...] [--config JSON ...] [--kernel FILE] [--cuda]
                                      [--dtype bf16|fp16] [--skv-offset N] [--seed N]

--cuda runs the same checks with the real Triton on a GPU (the candidate gets CUDA tensors; the references
still run on the CPU in float64 and bf16), e.g. for fixture problems outside the suite on the H100.

Prints one JSON line per (problem, config, shape) with the max error and the allowance
(2x the bf16 reference's error + atol, the verifier's rule), and exits 1 on any failure.
--skv-offset gives the keys a different length (S_kv = S + N: cross-attention, prefill against a longer KV).
A fixture problem may define `make_params(shape, seed)` in its reference.py for captured tensors beyond the
harness's generators (bias tables, distance matrices). Small tiles (BLOCK_M 32, BLOCK_N 16) make even short sequences span many blocks, so block
classification, the three loops and the tails are all exercised.
"""
import argparse
import importlib.util
import json
import math
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CUDA = "--cuda" in sys.argv
if not CUDA:
    sys.path.insert(0, os.path.join(ROOT, "test", "offline", "triton_emu"))
sys.path.insert(0, os.path.join(ROOT, "tools", "offline"))
sys.path.insert(0, os.path.join(ROOT, "tools", "verifier", "harness"))

import torch  # noqa: E402

from kforge_harness.params import materialise  # noqa: E402
from render import render  # noqa: E402

SMALL = {"BLOCK_M": 32, "BLOCK_N": 16, "num_warps": 4, "num_stages": 2}
CONFIGS = [SMALL, {**SMALL, "BLOCK_M": 16, "BLOCK_N": 32, "qscale": True, "skip_empty": True},
           {**SMALL, "mask_split": False, "fast_tanh": False, "static_max": False, "reverse_m": False}]


def load_module(name, source_or_path, is_path=False):
    spec_path = source_or_path if is_path else os.path.join("/tmp", f"kforge_emu_{name}_{os.getpid()}.py")
    if not is_path:
        with open(spec_path, "w") as f:
            f.write(source_or_path)
    spec = importlib.util.spec_from_file_location(f"cand_{name}", spec_path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def problem_dir(problem):
    """A suite problem's folder, or a folder given by path (test fixtures)."""
    return problem if os.sep in problem else os.path.join(ROOT, "problems", problem)


DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check(problem, attention, shapes, seed=0, dtype="bf16", skv_offset=0):
    pdir = problem_dir(problem)
    spec = json.load(open(os.path.join(pdir, "problem.json")))
    ref = load_module(os.path.basename(problem) + "_ref", os.path.join(pdir, "reference.py"), is_path=True)
    rows = []
    for shape in shapes:
        B, H, S, D = shape["B"], shape["H"], shape["S"], shape["D"]
        hkv, skv = shape.get("Hkv", H), max(1, S + skv_offset)
        g = torch.Generator().manual_seed(seed)
        dt = DTYPES[dtype]
        q = torch.randn(B, H, S, D, generator=g).to(dt)
        k = torch.randn(B, hkv, skv, D, generator=g).to(dt)
        v = torch.randn(B, hkv, skv, D, generator=g).to(dt)
        params = ref.make_params(dict(shape, S_kv=skv), seed) if hasattr(ref, "make_params") else \
            materialise(spec["params"], shape, "cpu", seed)
        scale = 1.0 / math.sqrt(D)
        p64 = {kk: (vv.double() if torch.is_tensor(vv) and vv.is_floating_point() else vv) for kk, vv in params.items()}
        gold = ref.reference(q.double(), k.double(), v.double(), scale=scale, **p64)
        try:
            low = ref.reference(q, k, v, scale=scale, **params)
        except RuntimeError:  # CPU torch without fp16 matmul: the float32 result rounded to fp16 (a stricter allowance)
            p32 = {kk: (vv.float() if torch.is_tensor(vv) and vv.is_floating_point() else vv) for kk, vv in params.items()}
            low = ref.reference(q.float(), k.float(), v.float(), scale=scale, **p32).to(dt)
        if CUDA:
            dev = {kk: (vv.cuda() if torch.is_tensor(vv) else vv) for kk, vv in params.items()}
            out = attention(q.cuda(), k.cuda(), v.cuda(), scale=scale, **dev).cpu()
        else:
            out = attention(q, k, v, scale=scale, **params)
        err = (out.double() - gold).abs().max().item()
        allow = 2 * (low.double() - gold).abs().max().item() + spec.get("atol", 1e-3)
        rows.append({"problem": problem, "shape": [B, H, hkv, S, skv, D], "dtype": dtype, "err": round(err, 5),
                     "allow": round(allow, 5), "ok": bool(err <= allow and torch.isfinite(out).all())})
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problem", action="append", help="a suite problem's name, or a problem folder's path")
    ap.add_argument("--config", action="append")
    ap.add_argument("--kernel", help="check a hand-written module instead of rendering")
    ap.add_argument("--max-s", type=int, default=300)
    ap.add_argument("--cuda", action="store_true", help="real Triton on the GPU instead of the CPU emulator")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    ap.add_argument("--skv-offset", type=int, default=0, help="keys of length S + N (S_q != S_kv)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    problems = a.problem or sorted(d for d in os.listdir(os.path.join(ROOT, "problems"))
                                   if os.path.isfile(os.path.join(ROOT, "problems", d, "problem.json")))
    configs = [json.loads(c) for c in a.config] if a.config else CONFIGS
    bad = 0
    for p in problems:
        spec = json.load(open(os.path.join(problem_dir(p), "problem.json")))
        shapes = [s for s in spec["shapes"]["correctness"] if s["S"] <= a.max_s]
        runs = [("kernel", load_module(p, a.kernel, is_path=True))] if a.kernel else \
            [(json.dumps(c), load_module(os.path.basename(p), render(problem_dir(p), c))) for c in configs]
        for label, mod in runs:
            for row in check(p, mod.attention, shapes, a.seed, a.dtype, a.skv_offset):
                row["config"] = label
                bad += not row["ok"]
                print(json.dumps(row), flush=True)
    print(f"emu_check: {bad} failing", flush=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
