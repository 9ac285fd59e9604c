"""The adversarial table: every KernelBench-kind fixture of test/fixtures/kernelbench/manifest.json verified by the
harness (one fresh worker process per candidate, as the pool runs them), its verdict beside the expected one.

  python3 bench/kernelbench/adversarial_table.py --device cpu            # any machine with torch
  python3 bench/kernelbench/adversarial_table.py --device cuda --out DIR # a GPU host (writes table.md, results.json)

Run without the OS sandbox (the fixtures are ours); kforge itself always verifies through tools/sandbox/launch.py.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "test", "fixtures", "kernelbench")
HARNESS = os.path.join(ROOT, "tools", "verifier", "harness", "run_candidate.py")
SPEC = {"kind": "kernelbench", "description": "fixture", "level": None, "families": ["other"], "seeds": 2,
        "distributions": ["kernelbench", "normal", "signed", "outliers"], "kbTolerance": {"atol": 1e-2, "rtol": 1e-2},
        "relTolerance": 5e-3}


def verify(entry: dict, device: str, static: bool) -> dict:
    problem = os.path.join(FIXTURES, entry["problem"])
    with open(os.path.join(FIXTURES, entry["file"])) as f:
        source = f.read()
    spec = {**SPEC, "name": "fixture", "file": problem, "device": device}
    job = {"mode": "verify", "nonce": "table", "device": device, "problem": spec, "reference_path": problem,
           "source": source, "timing": entry["expect"]["status"] == "ok", "seed": 11, "static_checks": static}
    with tempfile.TemporaryDirectory() as d:
        job_file, channel = os.path.join(d, "job.json"), os.path.join(d, "channel")
        with open(job_file, "w") as f:
            json.dump(job, f)
        subprocess.run([sys.executable, HARNESS, "--device", device, "--channel", f"file:{channel}",
                        "--workdir", os.path.join(d, "work"), "--job-file", job_file], capture_output=True, timeout=600)
        with open(channel) as f:
            events = [json.loads(line) for line in f]
    done = [e for e in events if e["event"] in ("result", "harness_error")]
    return done[-1].get("result", {"status": "harness_error", "message": done[-1].get("message")}) if done else {"status": "no result"}


def verdict(r: dict) -> str:
    return f"{r['status']} {r.get('rule', '')}".strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--out", help="folder for table.md and results.json")
    args = ap.parse_args()
    with open(os.path.join(FIXTURES, "manifest.json")) as f:
        entries = json.load(f)["kernels"]
    rows, results, mismatches = [], [], 0
    for e in entries:
        r = verify(e, args.device, True)
        behind = verdict(verify(e, args.device, False)) if e.get("withoutStatic") else ""
        want = verdict(e["expect"]) if args.device == "cpu" else e["gpu"]
        same = verdict(r) == verdict(e["expect"]) if args.device == "cpu" else None
        mismatches += same is False
        speed = ""
        if r["status"] == "ok" and r.get("timings"):
            t = r["timings"][0]
            speed = ", ".join(f"{k} {v:.2f}x" for k, v in t["speedup"].items() if k != "primary")
            speed += "".join(f"; {k}: {why}" for k, why in (t.get("unavailable") or {}).items())
        rows.append(f"| {e['file'].split('/')[-1]} | {e['problem']} | {e['origin']} | {e['cheat']} | {verdict(r)} | "
                    f"{behind or '-'} | {want}{'' if same is not False else ' **(MISMATCH)**'} | {speed} |")
        results.append({"file": e["file"], "result": r, "withoutStatic": behind})
    table = "\n".join(["| fixture | problem | origin | cheat | verdict | without static rules | expected | speed |",
                       "|---|---|---|---|---|---|---|---|", *rows])
    print(table)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "table.md"), "w") as f:
            f.write(table + "\n")
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
