"""Profiles the verifier's good fixture kernels with Nsight Compute on a GPU host without Node:
the same ncu command line as tools/profiler/ncu.ts (NVTX range around one launch after warm-up,
--clock-control none, the kernel-name filter, the metric list of tools/profiler/metrics.txt), in the
harness's OS sandbox (tools/sandbox: namespaces, read-only root, unprivileged uid). Writes per run the raw CSV, the driver
JSON (Triton compile metadata), ncu's console and an index to $OUT.

  OUT=/tmp/prof python3 bench/profiler/gpu_profile_fixtures.py            # first benchmark shape
  OUT=/tmp/prof python3 bench/profiler/gpu_profile_fixtures.py --all-shapes

Then, on any machine with Node: npx tsx bench/profiler/summarise.ts $OUT  (summary.md + summary.json).
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = os.path.join(ROOT, "tools", "profiler", "profile_driver.py")
METRICS = os.path.join(ROOT, "tools", "profiler", "metrics.txt")
NVTX_RANGE = "kforge_profile/"
sys.path.insert(0, os.path.join(ROOT, "tools", "verifier", "harness"))


def sandbox():
    """The harness's environment scrubber and the OS sandbox's launcher (tools/sandbox), as kforge itself uses them."""
    from kforge_harness.driver import sandbox_prefix, scrubbed_env

    return scrubbed_env, sandbox_prefix


def find_ncu(explicit):
    for c in [explicit, shutil.which("ncu"), "/usr/local/cuda/bin/ncu", *sorted(glob.glob("/opt/nvidia/nsight-compute/*/ncu"), reverse=True)]:
        if c and os.access(c, os.X_OK):
            return c
    return None


def select_metrics(ncu):
    """Required metrics always; "?"-marked ones only when `ncu --query-metrics` lists them here."""
    q = subprocess.run([ncu, "--query-metrics", "--devices", "0"], capture_output=True, text=True, timeout=120)
    listed = set(re.findall(r"^\s*([a-z0-9]+__[A-Za-z0-9_]+)", q.stdout, re.M))
    out = []
    for line in open(METRICS):
        line = line.strip()
        if line and not line.startswith("#") and (not line.startswith("?") or line[1:].split(".")[0] in listed):
            out.append(line.lstrip("?"))
    return out


def kernel_names(source):
    names, pending = [], False
    for line in source.split("\n"):
        if re.match(r"^\s*@(triton\.)?jit\b", line):
            pending = True
        m = re.match(r"^\s*def\s+(\w+)\s*\(", line)
        if m and pending:
            names.append(m.group(1))
            pending = False
    return list(dict.fromkeys(names))


def profile(ncu, metrics, kernel_path, problem, shape, out_dir, tag, limit_s):
    scrubbed_env, sandbox_prefix = sandbox()
    work = tempfile.mkdtemp(prefix=f"kforge-prof-{tag}-")
    cand = os.path.join(work, "candidate.py")
    shutil.copy(kernel_path, cand)
    names = kernel_names(open(cand).read())
    hkv = shape.get("Hkv", shape["H"])
    cmd = sandbox_prefix(work, gpu=True) + [
        ncu, "--clock-control", "none", "--target-processes", "all", "--nvtx", "--nvtx-include", NVTX_RANGE,
        "--launch-count", "4", *(["--kernel-name", f"regex:^({'|'.join(names)})$"] if names else []),
        "--metrics", ",".join(metrics), "--export", os.path.join(work, "profile"), "--force-overwrite",
        sys.executable, DRIVER, "--module", cand, "--shape", f"{shape['B']},{shape['H']},{hkv},{shape['S']},{shape['D']}",
        "--params", json.dumps(problem["params"]), "--result", os.path.join(work, "driver.json"),
    ]
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit_s, env=scrubbed_env(work), cwd=work, start_new_session=True)
        console, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        console, rc = f"timeout after {limit_s}s\n{e.stdout or ''}", "timeout"
    ms = round((time.time() - t0) * 1e3)
    entry = {"tag": tag, "kernel": os.path.relpath(kernel_path, ROOT), "problem": problem["name"],
             "shape": {"B": shape["B"], "H": shape["H"], "Hkv": hkv, "S": shape["S"], "D": shape["D"]}, "rc": rc, "costMs": ms}
    open(os.path.join(out_dir, f"{tag}.stdout"), "w").write(console if isinstance(console, str) else console.decode())
    if os.path.exists(os.path.join(work, "driver.json")):
        shutil.copy(os.path.join(work, "driver.json"), os.path.join(out_dir, f"{tag}.driver.json"))
    rep = os.path.join(work, "profile.ncu-rep")
    if os.path.exists(rep):
        csv = subprocess.run([ncu, "--import", rep, "--csv", "--page", "raw", "--print-units", "base"], capture_output=True, text=True, timeout=120)
        open(os.path.join(out_dir, f"{tag}.raw.csv"), "w").write(csv.stdout)
        entry["csv"] = f"{tag}.raw.csv"
    entry["status"] = "ok" if "csv" in entry else ("unavailable" if "ERR_NVGPUCTRPERM" in str(console) else "failed")
    shutil.rmtree(work, ignore_errors=True)
    return entry


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ncu", default=os.environ.get("KFORGE_NCU"))
    ap.add_argument("--kernels", nargs="*", default=sorted(glob.glob(os.path.join(ROOT, "test", "fixtures", "kernels", "good_*.py"))))
    ap.add_argument("--all-shapes", action="store_true")
    ap.add_argument("--limit-s", type=float, default=300)
    args = ap.parse_args()
    out_dir = os.environ.get("OUT") or os.path.join(ROOT, ".gpu", "profiler")
    os.makedirs(out_dir, exist_ok=True)
    ncu = find_ncu(args.ncu)
    if not ncu:
        print("ncu not found: set KFORGE_NCU", file=sys.stderr)
        return 1
    version = subprocess.run([ncu, "--version"], capture_output=True, text=True).stdout.strip().split("\n")[-1]
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
    metrics = select_metrics(ncu)
    runs = []
    for k in args.kernels:
        problem_name = re.sub(r"^good_", "", os.path.basename(k)[:-3])
        pj = os.path.join(ROOT, "problems", problem_name, "problem.json")
        if not os.path.exists(pj):
            print(f"skip {k}: no problems/{problem_name}/problem.json", file=sys.stderr)
            continue
        problem = json.load(open(pj))
        shapes = problem["shapes"]["benchmark"] if args.all_shapes else problem["shapes"]["benchmark"][:1]
        for i, shape in enumerate(shapes):
            tag = f"{problem_name}_{i}"
            e = profile(ncu, metrics, k, problem, shape, out_dir, tag, args.limit_s)
            print(f"{tag}: {e['status']} in {e['costMs']} ms", flush=True)
            runs.append(e)
    index = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "gpu": gpu, "ncu": version,
             "command": "python3 bench/profiler/gpu_profile_fixtures.py" + (" --all-shapes" if args.all_shapes else ""),
             "metrics": metrics, "runs": runs}
    json.dump(index, open(os.path.join(out_dir, "index.json"), "w"), indent=1)
    return 0 if runs and all(r["status"] == "ok" for r in runs) else 2


if __name__ == "__main__":
    sys.exit(main())
