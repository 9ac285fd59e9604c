"""GPU self-test of the verifier, for an H100 host without Node (pure Python, drives run_candidate.py
processes exactly as the TypeScript client does: warm spares, scrubbed env, per-phase limits).

  cd /repo && python3 tools/verifier/harness/gpu_selftest.py --out $OUT

Parts (--parts, default all): baselines (measure full/causal/softcap baselines once), fixtures (every
kernel in test/fixtures/kernels/manifest.json: good ones accepted with speedups, bad ones rejected
with the right rule/status, dynamic rules re-checked with static checks off), hang (hanging kernels
killed within their limit, then a good kernel verifies normally), inproc (a verification that times
its baselines in-process), references (every problem's reference vs its compiled FlexAttention).
Writes $OUT/gpu_selftest.json and $OUT/gpu_selftest.txt; exit 0 when everything passed.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import sys
import tempfile
import time
from typing import Any, Dict, List, Mapping, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)

from kforge_harness.driver import Spare  # noqa: E402
from kforge_harness.problem import load_problem_dir  # noqa: E402

FIXTURES = os.path.join(REPO, "test", "fixtures", "kernels")
LIMITS: Dict[str, float] = {"compile": 90, "correctness": 60, "timing": 90}


class Runner:
    def __init__(self, python: str, out: str, deadline_s: float, device: str) -> None:
        self.python, self.out, self.device = python, out, device
        self.t_end = time.time() + deadline_s
        self.records: List[Dict[str, Any]] = []
        self.shared = tempfile.mkdtemp(prefix="kforge-selftest-cache-")
        self.baselines: Dict[str, Dict[str, Any]] = {}
        self._warming: List[Spare] = []

    def spare(self, ahead: int = 3) -> Spare:
        """A warm process; `ahead` more keep warming meanwhile (the pool keeps one per GPU; more here
        because most fixtures are rejected in milliseconds and start-up would dominate)."""
        while len(self._warming) < ahead + 1:
            self._warming.append(Spare(self.device, self.python))
        sp = self._warming.pop(0)
        self._warming.append(Spare(self.device, self.python))
        if sp.wait_ready(180) is None:
            raise RuntimeError(f"harness did not start: {sp.kill()}")
        return sp

    def job(self, mode: str, problem: str, **kw: Any) -> Dict[str, Any]:
        folder = problem if os.path.isabs(problem) else os.path.join(REPO, problem) if "/" in problem else os.path.join(REPO, "problems", problem)
        spec, ref = load_problem_dir(folder)
        return {"mode": mode, "device": self.device, "problem": spec, "reference_path": ref, "seed": int(time.time()) % 100000, **kw}

    def record(self, part: str, name: str, passed: bool, detail: str, **extra: Any) -> None:
        rec = {"part": part, "name": name, "passed": passed, "detail": detail, **extra}
        self.records.append(rec)
        print(f"{'PASS' if passed else 'FAIL'} [{part}] {name}: {detail}", flush=True)

    def late(self, part: str, name: str) -> bool:
        if time.time() > self.t_end:
            self.record(part, name, False, "skipped: over the deadline")
            return True
        return False

    def close(self) -> None:
        for sp in self._warming:
            sp.kill()
        self._warming = []


def matches(result: Mapping[str, Any], expect: Mapping[str, Any], also: Sequence[Mapping[str, Any]] = ()) -> bool:
    for e in [expect, *also]:
        if all(result.get(k) == v for k, v in e.items()):
            return True
    return False


def describe(r: Mapping[str, Any]) -> str:
    s = r.get("status")
    ph = r.get("phases", {})
    phases = " ".join(f"{k[:-2]} {v / 1e3:.2f}s" for k, v in ph.items() if k.endswith("Ms"))
    if s == "ok":
        sp = r.get("speedup")
        if sp is None:
            return f"ok (not timed) [{phases}]"
        t = "; ".join(f"S={x['shape']['S']} D={x['shape']['D']}: {x['ms']:.3f} ms {x['tflops']:.0f} TFLOP/s "
                      + " ".join(f"{n} {v:.2f}x" for n, v in x["speedup"].items()) for x in r.get("timings", []))
        return f"ok, speedup {sp:.2f}x | {t} [{phases}]"
    extra = r.get("rule") or r.get("kind") or r.get("phase") or ""
    return f"{s} {extra}: {(r.get('message') or '').splitlines()[0][:160] if r.get('message') else ''} [{phases}]"


def part_baselines(run: Runner, problems: Sequence[str] = ("full", "causal", "softcap")) -> None:
    """One after the other (timings taken side by side on one GPU would disturb each other); the
    processes start together, since start-up does not."""
    spares = [Spare("cuda", run.python, env_extra=_cache_env(run)) for _ in problems]
    for p, sp in zip(problems, spares):
        sp.wait_ready(180)
        out = sp.run(run.job("baseline", p), {"start": 600})
        r = out.get("result") or {}
        ok = r.get("status") == "baseline" and all(r.get("shapes", {}).values())
        if ok:
            run.baselines[p] = r
        run.record("baselines", p, ok, json.dumps(r.get("shapes")) if ok else str(out)[:400], wall_s=out.get("wall_s"), result=r)


def part_fixtures(run: Runner, hang: bool) -> None:
    manifest = json.load(open(os.path.join(FIXTURES, "manifest.json")))["kernels"]
    for k in [k for k in manifest if k["device"] == run.device and bool(k.get("hang")) == hang]:
        path = os.path.join(FIXTURES, k["file"])
        if not os.path.exists(path):
            run.record("fixtures", k["file"], False, "fixture file missing")
            continue
        variants = [("static on", True, k["expect"])] + ([("static off", False, k["withoutStatic"])] if k.get("withoutStatic") else [])
        for label, static, expect in variants:
            if run.late("fixtures", k["file"]):
                return
            job = run.job("verify", k["problem"], kernel_path=path, static_checks=static, timing=True,
                          baseline=run.baselines.get(k["problem"]))
            out = run.spare().run(job, {**LIMITS, **k.get("limits", {})})
            r = out.get("result") or {"status": "harness_error", "message": out.get("harness_error", "")}
            good = matches(r, expect, k.get("alsoAccept", []))
            if good and expect["status"] == "ok":
                good = r.get("speedup") is not None and all(t["baselines"] for t in r.get("timings", []))
            if k.get("hang"):
                limit = max(v for v in k["limits"].values())
                good = good and out.get("killed_after_s", 1e9) <= limit + 5
            run.record("hang" if hang else "fixtures", f"{k['file']} ({label})", good,
                       f"expected {expect} got {describe(r)}", wall_s=out.get("wall_s"), result=r, log=out.get("log", "")[-1500:])
            if k.get("hang"):
                good_file, good_problem = ("good_full.py", "full") if run.device == "cuda" else ("cpu/good.py", k["problem"])
                after = run.spare().run(run.job("verify", good_problem, kernel_path=os.path.join(FIXTURES, good_file),
                                                baseline=run.baselines.get(good_problem)), LIMITS)
                ra = after.get("result") or {}
                run.record("hang", f"{good_file} after {k['file']}", ra.get("status") == "ok", describe(ra), result=ra)


def part_inproc(run: Runner) -> None:
    if run.late("inproc", "good_softcap.py"):
        return
    job = run.job("verify", "softcap", kernel_path=os.path.join(FIXTURES, "good_softcap.py"))
    out = run.spare().run(job, {**LIMITS, "timing": 300})
    r = out.get("result") or {}
    good = r.get("status") == "ok" and all("flex" in t["baselines"] for t in r.get("timings", []))
    run.record("inproc", "good_softcap.py, baselines timed in-process", good, describe(r), wall_s=out.get("wall_s"), result=r)


def part_references(run: Runner) -> None:
    names = sorted(n for n in os.listdir(os.path.join(REPO, "problems")) if os.path.exists(os.path.join(REPO, "problems", n, "problem.json")))

    def one(name: str) -> Tuple[str, Dict[str, Any]]:
        sp = Spare("cuda", run.python, env_extra=_cache_env(run))
        if sp.wait_ready(180) is None:
            return name, {"harness_error": sp.kill()}
        return name, sp.run(run.job("reference_check", name), {"start": 600})

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        for name, out in ex.map(one, names):
            r = out.get("result") or {}
            checks = r.get("checks", [])
            errors = [f"S={c['shape']['S']} D={c['shape']['D']}: {c['error']}" for c in checks if c.get("error")]
            worst = max((c for c in checks if c.get("maxError") is not None), key=lambda c: float(c["maxError"] / max(c["allowance"], 1e-12)), default=None)
            detail = (f"worst {worst['maxError']:.3g} vs allowance {worst['allowance']:.3g} at S={worst['shape']['S']}" if worst else str(out)[:400])
            if errors:
                detail += "; flex failed at " + "; ".join(errors)[:600]
            run.record("references", name, bool(r.get("passed")), detail, wall_s=out.get("wall_s"), result=r)


def _cache_env(run: Runner) -> Dict[str, str]:
    """Baseline and reference jobs run only our code, so they may share a compile cache."""
    return {"TORCHINDUCTOR_CACHE_DIR": os.path.join(run.shared, "inductor"), "TRITON_CACHE_DIR": os.path.join(run.shared, "triton")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--parts", default="baselines,references,fixtures,hang,inproc")
    ap.add_argument("--deadline", type=float, default=540.0, help="stop starting new checks after this many seconds")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="cpu: the CPU fixtures only (a dry run of this script)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    run = Runner(args.python, args.out, args.deadline, args.device)
    t0 = time.time()
    probe = os.popen(f"{args.python} {os.path.join(HERE, 'run_candidate.py')} --probe").read().strip()
    print("probe:", probe, flush=True)
    parts = args.parts.split(",") if args.device == "cuda" else ["fixtures", "hang"]
    try:
        if "baselines" in parts:
            part_baselines(run)
        if "references" in parts:
            part_references(run)
        if "fixtures" in parts:
            part_fixtures(run, hang=False)
        if "hang" in parts:
            part_fixtures(run, hang=True)
        if "inproc" in parts:
            part_inproc(run)
    finally:
        run.close()
    failed = [r for r in run.records if not r["passed"]]
    summary = f"{len(run.records) - len(failed)} passed, {len(failed)} failed"
    report = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv), "probe": probe,
              "wall_s": time.time() - t0, "summary": summary, "records": run.records}
    name = "gpu_selftest" if args.parts == ap.get_default("parts") else "gpu_selftest-" + "+".join(parts)
    with open(os.path.join(args.out, f"{name}.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(args.out, f"{name}.txt"), "w") as f:
        f.write(f"{report['date']}  {probe}\n{report['command']}\n\n")
        for r in run.records:
            f.write(f"{'PASS' if r['passed'] else 'FAIL'} [{r['part']}] {r['name']}: {r['detail']}\n")
        f.write(f"\n{summary} in {report['wall_s']:.0f} s\n")
    print(f"\n{summary} in {report['wall_s']:.0f} s")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
