"""Runs the usage example of exported kernels (`kforge export`) exactly as their docstrings write it, on the GPU.

    python3 test/gpu/export_usage_gpu.py test-results/export-gpu --out $OUT

The folder holds modules written by test/trace/export.test.ts ("exports GPU problems ...") and an index.json
naming each module's problem. For each: the docstring's usage lines run verbatim in a fresh process, then
`out` is compared with the problem's reference.py in float32 on the same inputs, under the verifier's rule
(max error <= 2 x the bf16 reference's error + atol). Writes $OUT/export-usage.json; exits 1 when any fails.
"""
import argparse
import ast
import json
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHECK = """
import importlib.util, json, torch
_spec = importlib.util.spec_from_file_location("kforge_reference", {reference!r})
_ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ref)
_mod = __import__({module!r})
_params = {{}}
for _name, _value in {params!r}.items():
    if isinstance(_value, (int, float)):
        _params[_name] = _value
    elif _value == "alibi":
        _h = torch.arange(q.shape[1], dtype=torch.float64, device=q.device)
        _params[_name] = torch.pow(2.0, -8.0 * (_h + 1) / q.shape[1]).to(torch.float32)
    else:  # random_docs(N): the ids the usage passed, rebuilt by the module's helper with the same seed
        _params[_name] = _mod.random_docs(q.shape[2], int(_value[len("random_docs("):-1]), device=q.device)
_scale = q.shape[-1] ** -0.5
_want = _ref.reference(q.float(), k.float(), v.float(), scale=_scale, **_params)
_low = _ref.reference(q, k, v, scale=_scale, **_params)
_err = (out.float() - _want).abs().max().item()
_allow = 2 * (_low.float() - _want).abs().max().item() + {atol!r}
print(json.dumps({{"shape": list(out.shape), "dtype": str(out.dtype), "device": str(out.device),
                   "finite": bool(torch.isfinite(out).all()), "max_error": _err, "allowance": _allow}}))
"""


def usage_of(path):
    doc = ast.get_docstring(ast.parse(open(path).read())) or ""
    lines = doc.split("\n")
    start = lines.index("Usage (runs as written):") + 2
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return textwrap.dedent("\n".join(lines[start:end]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    args = ap.parse_args()
    folder = os.path.abspath(args.folder)
    index = json.load(open(os.path.join(folder, "index.json")))
    results = []
    for entry in index:
        problem = json.load(open(os.path.join(ROOT, "problems", entry["problem"], "problem.json")))
        module = entry["module"]
        usage = usage_of(os.path.join(folder, module + ".py"))
        script = usage + "\n" + CHECK.format(reference=os.path.join(ROOT, "problems", entry["problem"], "reference.py"), module=module,
                                             params=problem.get("params", {}), atol=problem.get("atol", 1e-3))
        run = subprocess.run([sys.executable, "-c", script], cwd=folder, capture_output=True, text=True, timeout=600,
                             env={**os.environ, "PYTHONPATH": folder})
        result = {"module": module, "problem": entry["problem"], "usage": usage, "rc": run.returncode, "stderr": run.stderr[-3000:]}
        if run.returncode == 0:
            result.update(json.loads(run.stdout.strip().splitlines()[-1]))
        result["passed"] = run.returncode == 0 and result.get("finite") and result["max_error"] <= result["allowance"] and result["device"].startswith("cuda")
        results.append(result)
        print(f"{module}: {'PASS' if result['passed'] else 'FAIL'} rc={run.returncode} "
              f"err={result.get('max_error')} allow={result.get('allowance')} {result.get('dtype')} {result.get('device')}", flush=True)
        if run.returncode:
            print(run.stderr[-1500:], flush=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "export-usage.json"), "w") as f:
        json.dump(results, f, indent=2)
    sys.exit(0 if all(r["passed"] for r in results) else 1)


if __name__ == "__main__":
    main()
