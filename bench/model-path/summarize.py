"""What a bench/model-path run did, from its trace database (Python stdlib only: runs on the GPU host).

    summarize.py --db kforge.sqlite --run RUN_ID [--requests requests.jsonl] [--json summary.json]

Prints, last, a short report: the run's outcome; per node, which scripted reply produced its kernel, what
expect.json says the verifier should have found and what it did find (so a surprise on the GPU is one
line to read); model calls per role (retries, errors, unscripted requests); critiques by source
(model or the rule fallback); profiles and the profiler agent's advice.
"""
import argparse
import json
import os
import sqlite3
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from reply_code import extract_module  # noqa: E402

UNSCRIPTED = "(scripted-server: no route matched this request)"


def replies_by_module():
    """Scripted reply names by the module each yields (several replies may share one)."""
    table = json.load(open(os.path.join(HERE, "expect.json")))
    out = {}
    for name, e in table.items():
        if name.startswith("$"):
            continue
        module = extract_module(open(os.path.join(HERE, "replies", name + ".md")).read())
        if module:
            out.setdefault(module.strip(), []).append((name, e))
    return out


def summarize(db, run_id, requests_path):
    run = db.execute("SELECT * FROM trace_runs WHERE id = ?", (run_id,)).fetchone()
    if run is None:
        raise SystemExit(f"summarize: no run {run_id} in the database")
    art = lambda h: (db.execute("SELECT content FROM trace_artifacts WHERE hash = ?", (h,)).fetchone() or [None])[0] if h else None  # noqa: E731
    known = replies_by_module()
    nodes = []
    for n in db.execute("SELECT * FROM trace_nodes WHERE run_id = ? AND parent_id IS NOT NULL ORDER BY iteration, label", (run_id,)):
        kernel = art(n["kernel_hash"])
        match = known.get(kernel.strip(), []) if kernel else []
        names = [m[0] for m in match]
        expected = sorted({m[1]["expect"] for m in match})
        got = n["status"]
        nodes.append({"label": n["label"], "title": n["title"], "reply": "/".join(names) or ("(no kernel)" if not kernel else "(unknown)"),
                      "expected": "/".join(expected) or None, "status": got, "speedup": n["speedup"], "tflops": n["tflops"],
                      "summary": n["summary"][:160], "as_expected": (got in expected) if expected else None})
    calls = db.execute("SELECT role, attempts, error, response_hash FROM trace_llm_calls WHERE run_id = ?", (run_id,)).fetchall()
    roles = {}
    for c in calls:
        r = roles.setdefault(c["role"], {"calls": 0, "retried": 0, "errors": 0, "unscripted": 0})
        r["calls"] += 1
        r["retried"] += c["attempts"] > 1
        r["errors"] += c["error"] is not None
        r["unscripted"] += UNSCRIPTED in (art(c["response_hash"]) or "")
    critiques = Counter(json.loads(c["critique"]).get("source", "?") for c in db.execute("SELECT critique FROM trace_critiques WHERE run_id = ?", (run_id,)))
    profiles = db.execute("SELECT status, bottlenecks FROM trace_profiles WHERE run_id = ?", (run_id,)).fetchall()
    events = Counter(e["kind"] for e in db.execute("SELECT kind FROM trace_events WHERE run_id = ?", (run_id,)))
    requests = Counter()
    if requests_path and os.path.exists(requests_path):
        for line in open(requests_path):
            try:
                requests[json.loads(line).get("role") or "?"] += 1
            except ValueError:
                requests["(unreadable)"] += 1
    best = db.execute("SELECT label FROM trace_nodes WHERE id = ?", (run["best_node"],)).fetchone() if run["best_node"] else None
    return {
        "run": run_id, "status": run["status"], "stop_reason": run["stop_reason"], "error": run["error"],
        "search_s": round(run["active_ms"] / 1000, 1), "nodes": len(nodes), "correct": sum(n["status"] == "ok" for n in nodes),
        "best": {"label": best[0] if best else None, "speedup": run["best_speedup"]},
        "tokens": run["prompt_tokens"] + run["completion_tokens"], "llm_calls": roles, "requests": dict(requests),
        "critiques": dict(critiques), "profiles": dict(Counter(p["status"] for p in profiles)),
        "profiles_with_advice": sum(1 for p in profiles if p["bottlenecks"]), "events": dict(events), "node_results": nodes,
        "surprises": [n["label"] for n in nodes if n["as_expected"] is False],
    }


def report(s):
    fmt = lambda x, spec: "-" if x is None else format(x, spec)  # noqa: E731
    lines = [f"model-path run {s['run']}: {s['status']} ({s['stop_reason']}), {s['nodes']} nodes, {s['correct']} correct, "
             f"best {fmt(s['best']['speedup'], '.2f')}x (node {s['best']['label']}), {s['search_s']} s of search, {s['tokens']} tokens"]
    if s["error"]:
        lines.append(f"  error: {s['error']}")
    lines.append("  node  expected        got             speedup  TFLOP/s  reply")
    for n in s["node_results"]:
        mark = "" if n["as_expected"] is None else (" " if n["as_expected"] else "!")
        lines.append(f" {mark}{n['label']:<5} {str(n['expected'] or '-'):<15} {n['status']:<15} {fmt(n['speedup'], '7.2f'):>7}  {fmt(n['tflops'], '7.0f'):>7}  {n['reply']}")
    calls = ", ".join(f"{r} {v['calls']}" + (f" ({v['retried']} retried)" if v["retried"] else "") + (f" ({v['errors']} failed)" if v["errors"] else "")
                      + (f" ({v['unscripted']} UNSCRIPTED)" if v["unscripted"] else "") for r, v in sorted(s["llm_calls"].items()))
    lines.append(f"  model calls: {calls or 'none'}; server saw {sum(s['requests'].values())} requests")
    lines.append(f"  critiques: {s['critiques'] or 'none'}; profiles: {s['profiles'] or 'none'} ({s['profiles_with_advice']} with the profiler agent's advice); events: {s['events'] or 'none'}")
    if s["surprises"]:
        lines.append(f"  SURPRISES (the GPU verifier disagreed with expect.json): nodes {', '.join(s['surprises'])}: read them with `kforge trace RUN --node LABEL`")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--requests")
    ap.add_argument("--json")
    a = ap.parse_args()
    db = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    s = summarize(db, a.run, a.requests)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(s, f, indent=1)
    print(report(s))
    return 0 if s["status"] == "done" and s["correct"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
