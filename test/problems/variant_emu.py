"""Renders the offline template for user variant problems (from their traced mods.json) and runs each kernel on the
CPU Triton emulator against the variant's own reference (its mods evaluated element-wise in float64), by the
verifier's rule: max error <= 2 x the low-precision reference's error + atol.

    python3 test/problems/variant_emu.py PROBLEM_DIR ...     # one JSON line per (problem, shape); exit 1 on a failure
"""
import importlib.util
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "offline", "triton_emu"))
sys.path.insert(0, os.path.join(ROOT, "tools", "offline"))
sys.path.insert(0, os.path.join(ROOT, "tools", "verifier", "harness"))

import torch  # noqa: E402

from kforge_harness import variant_build as VB  # noqa: E402
from kforge_harness.problem import normalize  # noqa: E402
from render import render  # noqa: E402

SMALL = {"BLOCK_M": 32, "BLOCK_N": 16, "num_warps": 4, "num_stages": 2}
SHAPES = [{"B": 1, "H": 3, "Hkv": 3, "S": 37, "Skv": 37, "D": 16}, {"B": 2, "H": 8, "Hkv": 4, "S": 20, "Skv": 20, "D": 32}]


def main(dirs) -> int:
    failed = 0
    for d in dirs:
        spec = normalize(json.load(open(os.path.join(d, "problem.json"))))
        mod = importlib.util.module_from_spec(importlib.util.spec_from_loader("cand", loader=None))
        exec(compile(render(d, SMALL), os.path.join(d, "rendered.py"), "exec"), mod.__dict__)
        for si, shape in enumerate(SHAPES):
            built = VB.build(spec, d, shape, "cpu", 7 + si)
            g = torch.Generator().manual_seed(si)
            q = torch.randn(shape["B"], shape["H"], shape["S"], shape["D"], generator=g).to(torch.bfloat16)
            k, v = (torch.randn(shape["B"], shape["Hkv"], shape["Skv"], shape["D"], generator=g).to(torch.bfloat16) for _ in range(2))
            out = mod.attention(q, k, v, scale=0.3, **built.tensors)
            ref = VB.evaluate(q.double(), k.double(), v.double(), 0.3, built)
            low = VB.evaluate(q, k, v, 0.3, built).double()
            err, allow = float((out.double() - ref).abs().max()), 2 * float((low - ref).abs().max()) + float(spec["atol"])
            ok = err <= allow
            failed += not ok
            print(json.dumps({"problem": spec["name"], "shape": shape, "maxError": err, "allowance": allow, "passed": ok}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
