"""The end-to-end benchmark's numbers, from the runs' trace database (Python stdlib only: runs on the GPU host).

    aggregate.py collect --db DB --runs runs.tsv --out DIR --machine TEXT --command TEXT --budget B --cap S
    aggregate.py merge PART1.json PART2.json ... --out DIR       (the two halves of a split run)
    aggregate.py render results.json [--anchors h100_attention.json]   (markdown on stdout)

Per problem: the best correct kernel (fastest against FlexAttention, geometric mean over the benchmark
shapes), its TFLOP/s per shape, its speedup over FlexAttention and, where the verifier timed it, over
SDPA's cuDNN backend; the time from the run's start to its first correct kernel; nodes explored.
`collect` and `merge` write results.json and results.md (machine, date, command, the targets of issue 7
with pass/fail marks) and exit 1 when a target is missed.
"""
import argparse
import datetime
import json
import math
import os
import sqlite3
import subprocess
import sys

TARGETS = {"min_speedup": 1.0, "softcap_speedup": 2.0, "geomean_speedup": 1.3}
# anchors file variant names for our problems (shape 4,16,4096,128)
ANCHOR_VARIANT = {"full": "full", "causal": "causal", "softcap": "softcap30", "softcap_causal": "softcap30_causal",
                  "relpos": "relpos", "alibi": "alibi", "alibi_causal": "alibi_causal", "sliding_window": "sliding1024",
                  "prefix_lm": "prefixlm1024", "document": "document_causal"}


def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def shape_label(s):
    return f"{s['B']}x{s['H']}x{s['S']}x{s['D']}" + (f" Hkv={s['Hkv']}" if s.get("Hkv", s["H"]) != s["H"] else "")


def problem_record(db, problem, run_id, rc, wall_s, note):
    """Everything the table needs about one problem's run (a skipped or failed start gives a bare record)."""
    rec = {"problem": problem, "run": run_id or None, "exit": rc, "wall_s": wall_s, "note": note or None,
           "status": None, "stop_reason": None, "nodes": 0, "correct": 0, "first_correct_s": None,
           "best": None, "speedup_flex": None, "speedup_sdpa_cudnn": None, "tflops": None, "shapes": []}
    if not run_id or db is None:
        return rec
    run = db.execute("SELECT * FROM trace_runs WHERE id = ?", (run_id,)).fetchone()
    if run is None:
        rec["note"] = (note + "; " if note else "") + "run not found in the database"
        return rec
    rec["status"], rec["stop_reason"] = run["status"], run["stop_reason"]
    rec["search_s"] = round(run["active_ms"] / 1000, 1)
    nodes = db.execute("SELECT id, label, title, status, origin FROM trace_nodes WHERE run_id = ? AND parent_id IS NOT NULL", (run_id,)).fetchall()
    rec["nodes"] = len(nodes)
    rec["correct"] = sum(1 for n in nodes if n["status"] == "ok")
    by_id = {n["id"]: n for n in nodes}
    ok = db.execute("SELECT node_id, result, created_at FROM trace_verifications WHERE run_id = ? AND status = 'ok' ORDER BY created_at", (run_id,)).fetchall()
    if ok:
        rec["first_correct_s"] = round((ok[0]["created_at"] - run["started_at"]) / 1000, 1)
    best = None
    for row in ok:
        result = json.loads(row["result"])
        timings = result.get("timings") or []
        flex = geomean([t.get("speedup", {}).get("flex") for t in timings])
        score = flex if flex is not None else result.get("speedup")
        if score is not None and (best is None or score > best[0]):
            best = (score, row["node_id"], result)
    if best is None:
        return rec
    _, node_id, result = best
    timings = result.get("timings") or []
    node = by_id.get(node_id)
    rec["best"] = {"node": node_id, "label": node["label"] if node else None, "title": node["title"] if node else None,
                   "origin": node["origin"] if node else None, "primary_speedup": result.get("speedup")}
    rec["speedup_flex"] = geomean([t.get("speedup", {}).get("flex") for t in timings])
    cudnn = [t.get("speedup", {}).get("sdpa_cudnn") for t in timings]
    rec["speedup_sdpa_cudnn"] = geomean(cudnn) if cudnn and all(c is not None for c in cudnn) else None
    rec["tflops"] = geomean([t.get("tflops") for t in timings])
    rec["shapes"] = [{"shape": shape_label(t["shape"]), "ms": t["ms"], "tflops": t["tflops"],
                      "baselines": {k: round(v["tflops"], 1) for k, v in t.get("baselines", {}).items()},
                      "speedup": {k: round(v, 3) for k, v in t.get("speedup", {}).items()}} for t in timings]
    return rec


def targets(records, expected):
    """The issue's targets, each with the measured value and pass/fail."""
    by = {r["problem"]: r for r in records}
    missing = [p for p in expected if p not in by or by[p]["speedup_flex"] is None]
    present = [r["speedup_flex"] for r in records if r["speedup_flex"] is not None]
    worst = min(present) if present else None
    g = geomean(present)
    soft = by.get("softcap", {}).get("speedup_flex") if "softcap" in by else None
    out = [
        {"target": f"no problem below {TARGETS['min_speedup']:.1f}x FlexAttention", "value": worst,
         "pass": not missing and worst is not None and worst >= TARGETS["min_speedup"],
         "detail": ("no correct kernel for " + ", ".join(missing)) if missing else None},
        {"target": f"softcap at least {TARGETS['softcap_speedup']:.1f}x", "value": soft,
         "pass": soft is not None and soft >= TARGETS["softcap_speedup"], "detail": None if "softcap" in expected else "softcap not in this run"},
        {"target": f"geometric mean at least {TARGETS['geomean_speedup']:.1f}x", "value": g,
         "pass": not missing and g is not None and g >= TARGETS["geomean_speedup"],
         "detail": f"over {len(present)} of {len(expected)} problems" if missing else None},
    ]
    return out, g


def fmt(x, spec=".2f", suffix=""):
    return "–" if x is None else f"{x:{spec}}{suffix}"


def render(res, anchors=None):
    """The markdown table with its header (machine, date, command) and the targets."""
    anchor = {}
    if anchors:
        for a in anchors.get("flex_vs_sdpa", []):
            if list(a["shape"]) == [4, 16, 4096, 128]:
                anchor[a["variant"]] = a["flex_tflops"]
    lines = [f"# End-to-end benchmark: offline policy, {res['budget']} per search", "",
             f"- machine: {res['machine']}", f"- software: {res.get('software', '?')}", f"- date: {res['date']}",
             f"- command: `{res['command']}`" + (f" ({', '.join(res['parts'])})" if res.get("parts") else ""),
             f"- each problem: a `KFORGE_PROVIDER=offline kforge search --budget {res['budget']}` (hard cap {res['cap_s']} s per problem, "
             "baselines included); speedups are geometric means over the benchmark shapes, baselines timed in the same process; "
             "\"first correct\" counts from the start of the command, baseline measurement included", ""]
    shapes = []
    for r in res["problems"]:
        for s in r["shapes"]:
            if s["shape"].split(" ")[0] not in shapes:
                shapes.append(s["shape"].split(" ")[0])
    head = ["problem", "nodes", "correct", "first correct"] + [f"TFLOP/s {s}" for s in shapes] + ["vs Flex", "vs SDPA cuDNN"]
    if anchor:
        head.append("Flex TFLOP/s here / anchor")
    head.append("stop")
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in res["problems"]:
        per = {s["shape"].split(" ")[0]: s for s in r["shapes"]}
        row = [r["problem"], str(r["nodes"]), str(r["correct"]), fmt(r["first_correct_s"], ".0f", " s")]
        row += [fmt(per[s]["tflops"], ".0f") if s in per else "–" for s in shapes]
        mark = "" if r["speedup_flex"] is None else (" ✅" if r["speedup_flex"] >= TARGETS["min_speedup"] else " ❌")
        row += [fmt(r["speedup_flex"], ".2f", "x") + mark, fmt(r["speedup_sdpa_cudnn"], ".2f", "x")]
        if anchor:
            here = per.get("4x16x4096x128", {}).get("baselines", {}).get("flex")
            a = anchor.get(ANCHOR_VARIANT.get(r["problem"], ""))
            row.append(f"{fmt(here, '.0f')} / {fmt(a, '.0f')}")
        row.append(r["note"] or r["stop_reason"] or r["status"] or "–")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", f"Geometric mean over problems: **{fmt(res['geomean_speedup_flex'], '.2f', 'x')}** vs FlexAttention.", "", "Targets (issue 7):", ""]
    for t in res["targets"]:
        lines.append(f"- {'✅ pass' if t['pass'] else '❌ FAIL'}: {t['target']} — measured {fmt(t['value'], '.2f', 'x')}" + (f" ({t['detail']})" if t.get("detail") else ""))
    return "\n".join(lines) + "\n"


def software(python):
    try:
        code = "import torch, triton; print(f'torch {torch.__version__}, triton {triton.__version__}')"
        return subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60).stdout.strip() or "?"
    except Exception:  # noqa: BLE001
        return "?"


def write(res, out):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(render(res))
    return 0 if all(t["pass"] for t in res["targets"]) else 1


def finish(res, expected):
    res["targets"], res["geomean_speedup_flex"] = targets(res["problems"], expected)
    return res


def collect(a):
    db = None
    if os.path.exists(a.db):
        db = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
    records = []
    with open(a.runs) as f:
        for line in f:
            parts = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
            problem, run_id, rc, wall, note = parts
            if problem:
                records.append(problem_record(db, problem, run_id, int(rc) if rc.strip() else None, int(wall or 0), note))
    res = {"machine": a.machine, "software": software(a.python), "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "command": a.command, "budget": a.budget, "cap_s": int(a.cap), "parts": [a.part] if a.part else [], "problems": records}
    return write(finish(res, [r["problem"] for r in records]), a.out)


def merge(a):
    parts = [json.load(open(p)) for p in a.files]
    res = dict(parts[0])
    res["problems"] = [r for p in parts for r in p["problems"]]
    res["parts"] = [x for p in parts for x in (p.get("parts") or [])]
    res["date"] = " / ".join(dict.fromkeys(p["date"] for p in parts))
    return write(finish(res, [r["problem"] for r in res["problems"]]), a.out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    for name in ("--db", "--runs", "--out", "--machine", "--command", "--budget", "--cap"):
        c.add_argument(name, required=True)
    c.add_argument("--python", default=sys.executable)
    c.add_argument("--part", default=None)
    m = sub.add_parser("merge")
    m.add_argument("files", nargs="+")
    m.add_argument("--out", required=True)
    r = sub.add_parser("render")
    r.add_argument("file")
    r.add_argument("--anchors")
    a = ap.parse_args()
    if a.cmd == "collect":
        return collect(a)
    if a.cmd == "merge":
        return merge(a)
    sys.stdout.write(render(json.load(open(a.file)), json.load(open(a.anchors)) if a.anchors else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
