"""The worker benchmark's summary (bench/worker/run.sh): from the search's database, its JSON summary and `kforge
doctor --json` on the queue, whether the search ran through the remote worker as issue 16 asks; writes results.json
and results.md to --out and exits 1 when a check fails.

Checks: the search ended by its budget or node limit (not an error); every kernel was verified exactly once; every
verification came back from the worker (its id and attempt in the result); `kforge doctor` listed the worker; the
worker stopped cleanly on SIGTERM; at least one kernel was correct.
"""
import argparse
import json
import os
import sqlite3
import sys
import time
from typing import Any, Dict, List


def load_json(path: str) -> Any:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        return {"unreadable": f"{path}: {exc}"}


def verifications(db_path: str, run_id: str) -> Dict[str, Any]:
    db = sqlite3.connect(db_path)
    kernels = [r[0] for r in db.execute(
        "SELECT id FROM trace_nodes WHERE run_id = ? AND kernel_hash IS NOT NULL", (run_id,))]
    rows = db.execute("SELECT node_id, status, speedup, result FROM trace_verifications WHERE run_id = ?",
                      (run_id,)).fetchall()
    db.close()
    per_node: Dict[str, int] = {}
    workers: Dict[str, int] = {}
    gpus: Dict[str, int] = {}
    statuses: Dict[str, int] = {}
    for node, status, _speedup, text in rows:
        per_node[node] = per_node.get(node, 0) + 1
        res = json.loads(text)
        w = res.get("worker") or {}
        key = f"{w.get('id')}@{w.get('host')}" if w else "local lane"
        workers[key] = workers.get(key, 0) + 1
        gpus[str(res.get("gpu"))] = gpus.get(str(res.get("gpu")), 0) + 1
        statuses[status] = statuses.get(status, 0) + 1
    return {"kernels": len(kernels), "verifications": len(rows), "unverified": sorted(set(kernels) - set(per_node)),
            "twice": sorted(n for n, c in per_node.items() if c > 1), "byWorker": workers, "gpus": gpus,
            "statuses": statuses}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("--db", "--search", "--doctor", "--worker", "--search-exit", "--wall", "--worker-stop", "--machine",
                 "--redis", "--command", "--out"):
        ap.add_argument(flag, required=True)
    a = ap.parse_args()
    search = load_json(a.search)
    doctor = load_json(a.doctor)
    run_id = search.get("runId") if isinstance(search, dict) else None
    ver = verifications(a.db, run_id) if run_id and os.path.exists(a.db) else None
    lines = doctor if isinstance(doctor, list) else []
    worker_line = next((c for c in lines if c.get("name") == f"worker {a.worker}"), None)
    checks: List[Dict[str, Any]] = []

    def check(name: str, ok: bool, detail: str) -> None:
        checks.append({"check": name, "ok": bool(ok), "detail": detail})

    status = search.get("status") if isinstance(search, dict) else None
    check("the search ended by its budget, not an error", status in ("done", "stopped", "interrupted") and not search.get("error"),
          f"status {status}, stop {search.get('stopReason')}, exit {a.search_exit}" if isinstance(search, dict) else str(search))
    if ver is None:
        check("the search's kernels were verified", False, "no run in the database")
    else:
        check("every kernel verified exactly once", ver["kernels"] > 0 and not ver["unverified"] and not ver["twice"],
              f"{ver['kernels']} kernels, {ver['verifications']} verifications; unverified {ver['unverified']}, twice {ver['twice']}")
        mine = sum(n for k, n in ver["byWorker"].items() if k.startswith(f"{a.worker}@"))
        check("every verification came back from the worker", ver["verifications"] > 0 and mine == ver["verifications"],
              ", ".join(f"{k}: {n}" for k, n in ver["byWorker"].items()) or "none")
    check("kforge doctor listed the worker", worker_line is not None,
          worker_line["detail"] if worker_line else f"no 'worker {a.worker}' line in doctor's output")
    check("the worker stopped cleanly on SIGTERM", a.worker_stop == "exit 0 after SIGTERM", a.worker_stop)
    correct = search.get("correct", 0) if isinstance(search, dict) else 0
    check("at least one correct kernel", correct > 0, f"{correct} correct of {search.get('nodes') if isinstance(search, dict) else '?'} nodes")

    out = {"machine": a.machine, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": a.command,
           "redis": a.redis, "worker": a.worker, "doctorWorker": worker_line, "search": search,
           "searchExit": int(a.search_exit), "wallS": int(a.wall), "verifications": ver, "checks": checks,
           "passed": all(c["ok"] for c in checks)}
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    best = search.get("bestSpeedup") if isinstance(search, dict) else None
    md = [f"# One search through a remote worker and Redis on {a.machine.split(' (')[0]}", "",
          f"- machine: {a.machine}", f"- date: {out['date']}", f"- command: `{a.command}`", f"- {a.redis}",
          f"- worker `{a.worker}`: {worker_line['detail'] if worker_line else 'not listed by doctor'}",
          f"- search: run {run_id}, {status} ({search.get('stopReason') if isinstance(search, dict) else '?'}), "
          f"{search.get('nodes') if isinstance(search, dict) else '?'} nodes, {correct} correct, best "
          f"{'%.2fx' % best if isinstance(best, (int, float)) else '-'} vs the baseline, {a.wall} s",
          f"- verifications by GPU: {', '.join(f'{g}: {n}' for g, n in (ver or {}).get('gpus', {}).items()) or 'none'}",
          "", "| check | result | detail |", "|---|---|---|"]
    md += [f"| {c['check']} | {'✅ pass' if c['ok'] else '❌ FAIL'} | {c['detail']} |" for c in checks]
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    return 0 if out["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
