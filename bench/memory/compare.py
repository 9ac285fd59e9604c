"""Compares a search seeded by the memory of wins with the same search from an empty memory (the control).

    python3 bench/memory/compare.py --seeded-db A.sqlite --seeded-run RUN [--control-db B.sqlite --control-run RUN2]
        [--machine TEXT] [--command TEXT]

Prints markdown: per run, nodes, correct kernels, the time from the run's start to its first correct kernel,
the best speedup and where it came from; then which memory entries seeded which nodes and how those nodes did.
Standard library only (sqlite3), so it runs on a GPU host without Node.
"""
import argparse
import json
import sqlite3
import sys
import time


def run_stats(db_path, run_id):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    run = db.execute("SELECT * FROM trace_runs WHERE id = ?", (run_id,)).fetchone()
    if run is None:
        raise SystemExit(f"{db_path}: no run {run_id}")
    nodes = {r["id"]: r for r in db.execute("SELECT * FROM trace_nodes WHERE run_id = ?", (run_id,))}
    ok = db.execute("SELECT node_id, speedup, created_at FROM trace_verifications WHERE run_id = ? AND status = 'ok' "
                    "ORDER BY created_at", (run_id,)).fetchall()
    seeds = db.execute("SELECT node_id, win_id, rank, score, note FROM trace_seeds WHERE run_id = ? ORDER BY node_id, rank",
                       (run_id,)).fetchall()
    verified = db.execute("SELECT COUNT(*) FROM trace_verifications WHERE run_id = ?", (run_id,)).fetchone()[0]
    best = nodes.get(run["best_node"]) if run["best_node"] else None
    seeded_nodes = {s["node_id"] for s in seeds}

    def seeded_line(node_id):
        """Whether a node, or one of its ancestors, started from a memory entry."""
        cur = nodes.get(node_id)
        while cur is not None:
            if cur["id"] in seeded_nodes:
                return cur["id"]
            cur = nodes.get(cur["parent_id"]) if cur["parent_id"] else None
        return None

    out = {
        "run": run_id, "problem": run["problem"], "status": run["status"], "stop": run["stop_reason"],
        "nodes": sum(1 for n in nodes.values() if n["parent_id"]), "verified": verified, "correct": len({o["node_id"] for o in ok}),
        "first_correct_s": round((ok[0]["created_at"] - run["started_at"]) / 1000, 1) if ok else None,
        "first_correct_node": nodes[ok[0]["node_id"]]["label"] if ok else None,
        "best_speedup": run["best_speedup"], "best_node": best["label"] if best else None,
        "best_title": best["title"] if best else None,
        "best_from_seed": (nodes[seeded_line(best["id"])]["label"] if best and seeded_line(best["id"]) else None),
        "seeds": [{"node": nodes[s["node_id"]]["label"], "win": s["win_id"], "rank": s["rank"], "score": s["score"],
                   "note": s["note"], "status": nodes[s["node_id"]]["status"], "speedup": nodes[s["node_id"]]["speedup"]}
                  for s in seeds],
        "wins_in_memory": [dict(r) for r in db.execute(
            "SELECT id, problem, speedup, tflops, gpu FROM wins WHERE run_id IS NOT ? ORDER BY id", (run_id,))]
        if has_table(db, "wins") else [],
    }
    db.close()
    return out


def has_table(db, name):
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def fmt(x, suffix=""):
    return "–" if x is None else (f"{x:.2f}{suffix}" if isinstance(x, float) else f"{x}{suffix}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeded-db", required=True)
    ap.add_argument("--seeded-run", required=True)
    ap.add_argument("--control-db")
    ap.add_argument("--control-run")
    ap.add_argument("--machine", default="")
    ap.add_argument("--command", default="")
    a = ap.parse_args()
    if not a.seeded_run:
        print("error: the seeded search started no run (see the logs in memory-seeded.tgz)", file=sys.stderr)
        return 1
    runs = [("seeded (memory: prior softcap and sliding_window wins)", run_stats(a.seeded_db, a.seeded_run))]
    if a.control_db and a.control_run:
        runs.append(("control (empty memory)", run_stats(a.control_db, a.control_run)))
    s = runs[0][1]
    print(f"# A new variant seeded from the memory of wins: {s['problem']}\n")
    print(f"- machine: {a.machine}")
    print(f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"- command: `{a.command}`")
    print("- variant: `score_mod = 30 * tanh(score / 30)`, `mask_mod = causal & (q - kv < 1024)`, from a mod file "
          "(`kforge search --score-mod F --mask-mod F`), not in the suite\n")
    print("| run | id | nodes | verified | correct | first correct | best | best node | best came from a seeded node |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in runs:
        print(f"| {name} | `{r['run']}` | {r['nodes']} | {r['verified']} | {r['correct']} | {fmt(r['first_correct_s'], ' s')} "
              f"({r['first_correct_node'] or '–'}) | {fmt(r['best_speedup'], 'x')} | {r['best_node'] or '–'}: {r['best_title'] or ''} | "
              f"{r['best_from_seed'] or 'no'} |")
    print("\n## Memory before the seeded run\n")
    for w in s["wins_in_memory"]:
        print(f"- #{w['id']} {w['problem']}: {w['speedup']:.2f}x, {fmt(w['tflops'])} TFLOP/s on {w['gpu']}")
    print("\n## Which wins seeded which nodes (trace_seeds of the seeded run)\n")
    if not s["seeds"]:
        print("(none: the memory returned no usable win)")
    for x in s["seeds"]:
        outcome = x["status"] if x["speedup"] is None else f"{x['status']} {x['speedup']:.2f}x"
        print(f"- node {x['node']} ← memory #{x['win']} (rank {x['rank'] + 1}, relevance {fmt(x['score'])}): {x['note']} → {outcome}")
    print("\n```json")
    print(json.dumps({name: r for name, r in runs}, indent=1, default=str))
    print("```")
    return 0


if __name__ == "__main__":
    sys.exit(main())
