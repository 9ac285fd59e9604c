"""How long one candidate's verification takes, by phase (issue 2, item 7: target < 10 s on an H100).

For each good fixture kernel (full, causal, softcap) it measures, with the baselines cached as in a
search:
  warm  a warm spare (torch, Triton, CUDA and the profiler already started) gets the job: the search's
        path; wall time from sending the job to its result, and the harness's phases
  cold  a fresh process: start-up + the same job (what the warm spare hides)
and, once per problem, the baseline measurement a run pays once.

  cd /repo && python3 bench/verify-time/run.py --out $OUT [--reps 3]   (--device cpu: a dry run on the CPU test problem)

Writes $OUT/verify-time.json and $OUT/verify-time.md (commit them under bench/results/verify-time/, named by GPU).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HARNESS = os.path.join(REPO, "tools", "verifier", "harness")
sys.path.insert(0, HARNESS)

from kforge_harness.driver import Spare  # noqa: E402
from kforge_harness.problem import load_problem_dir  # noqa: E402

KERNELS = os.path.join(REPO, "test", "fixtures", "kernels")
PHASES = ["staticMs", "importMs", "compileMs", "correctnessMs", "timingMs", "totalMs"]
LIMITS = {"compile": 120, "correctness": 120, "timing": 120}


DEVICE = "cuda"


def problem_dir(problem: str) -> str:
    return os.path.join(REPO, "problems", problem) if DEVICE == "cuda" else os.path.join(REPO, "test", "fixtures", "problems", problem)


def kernel_for(problem: str) -> str:
    return os.path.join(KERNELS, f"good_{problem}.py") if DEVICE == "cuda" else os.path.join(KERNELS, "cpu", "good.py")


def job(problem: str, mode: str, **kw) -> dict:
    spec, ref = load_problem_dir(problem_dir(problem))
    return {"mode": mode, "device": DEVICE, "problem": spec, "reference_path": ref, "seed": int(time.time()) % 100000, **kw}


def run_one(spare: Spare, j: dict) -> dict:
    out = spare.run(j, LIMITS)
    r = out.get("result") or {}
    return {"status": r.get("status"), "gpu": r.get("gpu"), "wall_s": out.get("wall_s"), "phases": r.get("phases", {}), "speedup": r.get("speedup"),
            "message": (r.get("message") or out.get("harness_error") or "")[:300]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--problems", default="full,causal,softcap")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="cpu: a dry run on the cpu_tiny test problem")
    args = ap.parse_args()
    global DEVICE
    DEVICE = args.device
    if DEVICE == "cpu":
        args.problems = "cpu_tiny"
    os.makedirs(args.out, exist_ok=True)
    shared = tempfile.mkdtemp(prefix="kforge-bench-cache-")
    cache_env = {"TORCHINDUCTOR_CACHE_DIR": os.path.join(shared, "inductor"), "TRITON_CACHE_DIR": os.path.join(shared, "triton")}
    rows, t0 = [], time.time()
    for problem in args.problems.split(","):
        kernel = kernel_for(problem)
        sp = Spare(DEVICE, args.python, env_extra=cache_env)
        ready = sp.wait_ready(300)
        tb = time.time()
        base = sp.run(job(problem, "baseline"), {"start": 900}).get("result") or {}
        row = {"problem": problem, "baseline_s": time.time() - tb, "spare_start_s": ready, "warm": [], "cold": None}
        print(f"{problem}: spare ready in {ready:.1f}s, baselines measured in {row['baseline_s']:.1f}s", flush=True)
        for _ in range(args.reps):
            spare = Spare(DEVICE, args.python)
            spare.wait_ready(300)  # warm: start-up happens before the job exists
            row["warm"].append(run_one(spare, job(problem, "verify", kernel_path=kernel, baseline=base)))
            print(f"  warm: {row['warm'][-1]['status']} in {row['warm'][-1]['wall_s']:.2f}s", flush=True)
        cold_t = time.time()
        cold = Spare(DEVICE, args.python)
        cold.wait_ready(300)
        c = run_one(cold, job(problem, "verify", kernel_path=kernel, baseline=base))
        c["wall_s"] = time.time() - cold_t
        row["cold"] = c
        print(f"  cold: {c['status']} in {c['wall_s']:.2f}s (start-up included)", flush=True)
        rows.append(row)
    gpu = next((r["warm"][0].get("gpu") for r in rows if r["warm"]), None)
    probe = os.popen(f"{args.python} {os.path.join(HARNESS, 'run_candidate.py')} --probe").read().strip()
    report = {"date": time.strftime("%Y-%m-%d"), "command": "python3 bench/verify-time/run.py " + " ".join(sys.argv[1:]),
              "machine": probe, "host": platform.node(), "rows": rows, "wall_s": time.time() - t0, "gpu": gpu}
    with open(os.path.join(args.out, "verify-time.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(args.out, "verify-time.md"), "w") as f:
        f.write(markdown(report))
    print(markdown(report))
    worst = max((w["wall_s"] or 1e9) for r in rows for w in r["warm"]) if rows else 1e9
    return 0 if worst < 10 and all(w["status"] == "ok" for r in rows for w in r["warm"]) else 1


def markdown(rep: dict) -> str:
    lines = [f"# Verification time per candidate ({rep['date']})", "", f"Machine: `{rep['machine']}`", "",
             f"Command: `{rep['command']}`", "",
             "Warm = the search's path (a warm spare receives the job; baselines cached). Median over reps; seconds.", "",
             "| problem | status | warm total | static | import | compile | correctness | timing | cold (with start-up) | baselines (once per run) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rep["rows"]:
        w = r["warm"]
        med = lambda key: statistics.median([x["phases"].get(key, 0.0) / 1e3 for x in w]) if w else float("nan")  # noqa: E731
        wall = statistics.median([x["wall_s"] or float("nan") for x in w]) if w else float("nan")
        status = ",".join(sorted({x["status"] or "?" for x in w}))
        lines.append(f"| {r['problem']} | {status} | {wall:.2f} | {med('staticMs'):.2f} | {med('importMs'):.2f} | {med('compileMs'):.2f} | "
                     f"{med('correctnessMs'):.2f} | {med('timingMs'):.2f} | {(r['cold'] or {}).get('wall_s') or float('nan'):.2f} | {r['baseline_s']:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
