"""The rebuilt template computes exactly what the string renderer's modules did: bitwise-equal outputs on the CPU
emulator, for every suite problem at its default config (bench/offline/before/, rendered at commit 32bd200).

    python3 test/offline/same_as_before.py [--config JSON]    # prints one line per problem, exits 1 on a difference

The emulator runs each program's operations in order, so equal bits mean the same operations on the same values:
the Triton each module hands the compiler is the same computation.
"""
import argparse
import importlib.util
import json
import math
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "offline", "triton_emu"))
sys.path.insert(0, os.path.join(ROOT, "tools", "offline"))
sys.path.insert(0, os.path.join(ROOT, "tools", "verifier", "harness"))

import torch  # noqa: E402

from kforge_harness.params import materialise  # noqa: E402
from render import render  # noqa: E402

BEFORE = os.path.join(ROOT, "bench", "offline", "before")


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default='{"BLOCK_M": 32, "BLOCK_N": 16}',
                    help="tile overrides for both (the before modules are re-tiled the same way)")
    a = ap.parse_args()
    tiles = json.loads(a.config)
    bad = 0
    for fname in sorted(os.listdir(BEFORE)):
        p = fname[:-3]
        before = load(os.path.join(BEFORE, fname), f"before_{p}")
        path = f"/tmp/kforge_same_{p}_{os.getpid()}.py"
        with open(path, "w") as f:
            f.write(render(os.path.join(ROOT, "problems", p), tiles))
        after = load(path, f"after_{p}")
        # the same small tiles in both, so short sequences span many blocks (the before modules carry defaults)
        before._TILES = {d: (tiles.get("BLOCK_M", t[0]), tiles.get("BLOCK_N", t[1]), t[2], t[3])
                         for d, t in before._TILES.items()}
        spec = json.load(open(os.path.join(ROOT, "problems", p, "problem.json")))
        diffs = []
        for shape in [s for s in spec["shapes"]["correctness"] if s["S"] <= 200]:
            g = torch.Generator().manual_seed(7)
            hkv = shape.get("Hkv", shape["H"])
            q = torch.randn(shape["B"], shape["H"], shape["S"], shape["D"], generator=g).bfloat16()
            k = torch.randn(shape["B"], hkv, shape["S"], shape["D"], generator=g).bfloat16()
            v = torch.randn(shape["B"], hkv, shape["S"], shape["D"], generator=g).bfloat16()
            params = materialise(spec["params"], shape, "cpu", 0)
            x = before.attention(q, k, v, scale=1 / math.sqrt(shape["D"]), **params)
            y = after.attention(q, k, v, scale=1 / math.sqrt(shape["D"]), **params)
            if not torch.equal(x.view(torch.int16), y.view(torch.int16)):
                diffs.append(shape["S"])
        bad += bool(diffs)
        print(f"{p}: {'identical' if not diffs else f'DIFFERENT at S={diffs}'}", flush=True)
    print(f"same_as_before: {bad} differing")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
