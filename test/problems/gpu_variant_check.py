"""GPU check of user variants (run on the H200; no Node needed): every variant file is inspected as
`kforge problems new` does (imported, built, traced with make_fx, lowered to the IR), then its mods are checked
on the GPU the way the verifier's reference_check does: the high-precision element-wise evaluation of the mods
(the variant's reference) against compiled FlexAttention running the same mods over the same captured tensors,
at the derived correctness shapes, in bf16, in fp16, and with S_kv != S_q.

    python3 test/problems/gpu_variant_check.py --out $OUT [--all | FILE.py ...]   # default: fixtures + 5 bench/variants

Writes $OUT/variant_check.json (one row per variant and dtype) and prints a table.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "verifier", "harness"))

from kforge_harness import jobs  # noqa: E402
from kforge_harness.inspect_variant import inspect_folder  # noqa: E402
from kforge_harness.problem import normalize  # noqa: E402
from kforge_harness.protocol import Job  # noqa: E402

REFERENCE = '''
def reference(q, k, v, *, scale, score_mod=None, mask_mod=None, **captured):
    from kforge_harness.variant_build import Built, evaluate
    return evaluate(q, k, v, scale, Built(score_mod, mask_mod, captured))
'''
SHAPES = [{"B": 1, "H": 1, "S": 1, "D": 64}, {"B": 2, "H": 3, "S": 17, "D": 64}, {"B": 1, "H": 4, "S": 77, "D": 128},
          {"B": 2, "H": 2, "S": 257, "D": 64}, {"B": 1, "H": 2, "S": 128, "D": 128}]
CROSS = [{"B": 1, "H": 2, "S": 17, "Skv": 137, "D": 64}, {"B": 2, "H": 4, "Hkv": 2, "S": 77, "Skv": 301, "D": 128}]
SKIP = {"aggregate.py", "eval_mods.py", "flex_check.py"}


ZOO_SAMPLE = ("graphormer_spatial.py", "longformer.py", "document_causal.py", "jetspec_tree.py")


def default_files(everything: bool):
    out = [os.path.join(REPO, "test", "fixtures", "variants", f) for f in ("graph_bias.py", "window_only.py", "alibi_inline.py", "prefix_scalar.py")]
    zoo = os.path.join(REPO, "bench", "variants")
    if os.path.isdir(zoo):
        names = sorted(f for f in os.listdir(zoo) if f.endswith(".py") and f not in SKIP)
        out += [os.path.join(zoo, f) for f in names if everything or f in ZOO_SAMPLE]
    return out


def plan(files):
    """(file, dtype, shapes): bf16 for every file; fp16 and S_kv != S_q for the first (its factory takes S_kv).
    Each row compiles FlexAttention once per shape, so the default plan stays within a 10-minute command."""
    rows = [(f, "bf16", SHAPES[1:4]) for f in files]
    if files:
        rows += [(files[0], "fp16", SHAPES[1:3]), (files[0], "bf16", CROSS)]
    return rows


def check(path: str, dtype: str, shapes: list, device: str = "cuda") -> dict:
    folder = tempfile.mkdtemp(prefix="kforge-gpu-variant-")
    try:
        name = os.path.basename(path)
        shutil.copy(path, folder)
        with open(os.path.join(folder, "reference.py"), "w") as f:
            f.write(REFERENCE)
        draft = normalize({"name": "v", "kind": "attention", "dtype": dtype, "shapes": {"correctness": shapes, "benchmark": []},
                           "variant": {"files": [name], "score": {"file": name, "symbol": None}, "mask": {"file": name, "symbol": None}}})
        t0 = time.time()
        report = inspect_folder(draft, folder)
        row = {"file": name, "dtype": dtype, "cross": any("Skv" in s for s in shapes), "inspectS": round(time.time() - t0, 2),
               "errors": report["errors"], "ir": report["ir"] is not None, "irError": report.get("irError"),
               "captured": (report["variant"] or {}).get("captured")}
        if report["errors"]:
            return row
        spec = normalize({**draft, "variant": report["variant"], "atol": 1e-3, "seeds": 1, "baseline": "flex"})
        job = Job(mode="reference_check", nonce="gpu", device=device, problem=spec, reference_path=os.path.join(folder, "reference.py"), seed=1)
        t0 = time.time()
        try:
            rc = jobs.reference_check(job, device)
            row.update(passed=rc["passed"], skipped=rc.get("skipped"), checkS=round(time.time() - t0, 2),
                       checks=[{k: c.get(k) for k in ("shape", "passed", "maxError", "allowance", "error")} for c in rc["checks"]])
        except Exception as exc:  # noqa: BLE001 - a row per failure, the run goes on
            row.update(passed=False, exception=f"{type(exc).__name__}: {str(exc)[:800]}")
        return row
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    ap.add_argument("--all", action="store_true", help="every bench/variants file (long: run in parts by naming files)")
    ap.add_argument("--device", default="cuda", help="cpu: a dry run of everything but FlexAttention (skipped there)")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    import torch

    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}", flush=True)
    rows = []
    for path, dtype, shapes in plan(a.files or default_files(a.all)):
        row = check(path, dtype, shapes, a.device)
        rows.append(row)
        status = ("ERROR " + row["errors"][0]["message"][:90]) if row["errors"] else (
            "PASS" if row.get("passed") else f"FAIL {row.get('exception') or row.get('skipped') or [c for c in row.get('checks', []) if not c['passed']][:1]}")
        print(f"{row['file']:34s} {dtype} {'cross' if row['cross'] else 'self '} ir={'y' if row['ir'] else 'n'} {status}"[:400], flush=True)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "variant_check.json"), "w") as f:
        json.dump({"torch": torch.__version__, "rows": rows}, f, indent=1, default=str)
    bad = [r for r in rows if not r["errors"] and not r.get("passed")]
    print(f"{len(rows)} rows, {len(bad)} failing checks, {sum(1 for r in rows if r['errors'])} not accepted")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
