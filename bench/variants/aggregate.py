"""The attention-gym acceptance table (issue 13), from the runs' trace database (Python stdlib only).

    aggregate.py collect --db DB --runs runs.tsv --out DIR --machine TEXT --command TEXT --budget B --cap S [--flex flex_check.json]
    aggregate.py merge PART1.json PART2.json ... --out DIR [--flex flex_check.json ...]
    aggregate.py render results.json

Per variant: accepted (kforge read the file and started a search, else why not), correct (a correct kernel
was found), the best kernel's TFLOP/s per shape, its speedup over FlexAttention (geometric mean over the
shapes, timed in the same process), nodes, time to the first correct kernel and, with --flex, whether
FlexAttention itself runs the variant (flex_check.py) and why not. Writes results.json and results.md with
the issue's targets marked pass/fail; exits 1 when one is missed. The per-run numbers come from
bench/e2e/aggregate.py's problem_record (one reading of the trace database for both benchmarks).
"""
import argparse
import datetime
import importlib.util
import json
import os
import sqlite3
import sys

_E2E = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e", "aggregate.py")
_spec = importlib.util.spec_from_file_location("e2e_aggregate", _E2E)
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)

TARGETS = {"min_speedup": 1.0, "geomean_speedup": 1.3}


def flex_status(paths):
    """{variant: "yes" | "no: why"} from flex_check.json files (FlexAttention on its own, no kforge)."""
    out = {}
    for path in paths or []:
        with open(path) as f:
            data = json.load(f)
        out.update({v["variant"]: "yes" if v["runs"] else f"no: {v.get('why_not') or 'failed'}" for v in data["variants"]})
    return out


def record(db, variant, run_id, rc, wall, note, flex):
    rec = e2e.problem_record(db, variant, run_id, rc, wall, note)
    rec["variant"] = rec.pop("problem")
    rec["accepted"] = bool(run_id)
    rec["is_correct"] = rec["correct"] > 0
    rec["flex"] = flex.get(variant)
    return rec


def targets(records):
    """Issue 13's targets over the variants, each with its measured value and pass/fail."""
    present = [r["speedup_flex"] for r in records if r["speedup_flex"] is not None]
    refused = [r["variant"] for r in records if not r["accepted"]]
    wrong = [r["variant"] for r in records if r["accepted"] and not r["is_correct"]]
    worst = min(present) if present else None
    g = e2e.geomean(present)
    complete = not refused and not wrong and len(present) == len(records)
    return [
        {"target": "every variant accepted and correct", "value": None, "pass": not refused and not wrong,
         "detail": "; ".join(x for x in (f"not accepted: {', '.join(refused)}" if refused else "",
                                         f"no correct kernel: {', '.join(wrong)}" if wrong else "") if x) or None},
        {"target": f"none below {TARGETS['min_speedup']:.1f}x FlexAttention", "value": worst,
         "pass": complete and worst >= TARGETS["min_speedup"], "detail": None},
        {"target": f"geometric mean at least {TARGETS['geomean_speedup']:.1f}x", "value": g,
         "pass": complete and g is not None and g >= TARGETS["geomean_speedup"],
         "detail": None if complete else f"over {len(present)} of {len(records)} variants"},
    ], g


def render(res):
    fmt = e2e.fmt
    lines = [f"# attention-gym variants: offline policy, {res['budget']} per search", "",
             f"- machine: {res['machine']}", f"- software: {res.get('software', '?')}", f"- date: {res['date']}",
             f"- command: `{res['command']}`" + (f" ({', '.join(res['parts'])})" if res.get("parts") else ""),
             "- each variant: `kforge search` on its file in bench/variants/ (offline policy, hard cap "
             f"{res['cap_s']} s, baselines included); speedups are geometric means over the variant's shapes, "
             "FlexAttention compiled and timed in the same process; \"first correct\" counts from the command's start", ""]
    shapes = []
    for r in res["variants"]:
        for s in r["shapes"]:
            if s["shape"] not in shapes:
                shapes.append(s["shape"])
    head = ["variant", "accepted", "correct", "nodes", "first correct", "TFLOP/s (per shape)", "vs Flex", "FlexAttention runs", "stop"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in res["variants"]:
        tf = " / ".join(f"{s['tflops']:.0f} ({s['shape']})" for s in r["shapes"]) or "–"
        mark = "" if r["speedup_flex"] is None else (" ✅" if r["speedup_flex"] >= TARGETS["min_speedup"] else " ❌")
        lines.append("| " + " | ".join([
            r["variant"], "yes" if r["accepted"] else "no", f"yes ({r['correct']})" if r["is_correct"] else "no",
            str(r["nodes"]), fmt(r["first_correct_s"], ".0f", " s"), tf, fmt(r["speedup_flex"], ".2f", "x") + mark,
            (r.get("flex") or "–").replace("|", "/"), (r["note"] or r["stop_reason"] or r["status"] or "–").replace("|", "/"),
        ]) + " |")
    lines += ["", f"Geometric mean over variants: **{fmt(res['geomean_speedup_flex'], '.2f', 'x')}** vs FlexAttention.", "",
              "Targets (issue 13):", ""]
    for t in res["targets"]:
        lines.append(f"- {'✅ pass' if t['pass'] else '❌ FAIL'}: {t['target']}" + (f" — measured {fmt(t['value'], '.2f', 'x')}" if t["value"] is not None else "")
                     + (f" ({t['detail']})" if t.get("detail") else ""))
    return "\n".join(lines) + "\n"


def write(res, out):
    res["targets"], res["geomean_speedup_flex"] = targets(res["variants"])
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(render(res))
    return 0 if all(t["pass"] for t in res["targets"]) else 1


def collect(a):
    db = None
    if os.path.exists(a.db):
        db = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
    flex = flex_status(a.flex)
    records = []
    with open(a.runs) as f:
        for line in f:
            variant, run_id, rc, wall, note = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
            if variant:
                records.append(record(db, variant, run_id, int(rc) if rc.strip() else None, int(wall or 0), note, flex))
    res = {"machine": a.machine, "software": e2e.software(a.python),
           "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "command": a.command,
           "budget": a.budget, "cap_s": int(a.cap), "parts": [a.part] if a.part else [], "variants": records}
    return write(res, a.out)


def merge(a):
    parts = []
    for p in a.files:
        with open(p) as f:
            parts.append(json.load(f))
    res = dict(parts[0])
    res["variants"] = [r for p in parts for r in p["variants"]]
    res["parts"] = [x for p in parts for x in (p.get("parts") or [])]
    res["date"] = " / ".join(dict.fromkeys(p["date"] for p in parts))
    flex = flex_status(a.flex)
    for r in res["variants"]:
        r["flex"] = flex.get(r["variant"], r.get("flex"))
    return write(res, a.out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    for name in ("--db", "--runs", "--out", "--machine", "--command", "--budget", "--cap"):
        c.add_argument(name, required=True)
    c.add_argument("--python", default=sys.executable)
    c.add_argument("--part", default=None)
    c.add_argument("--flex", action="append", help="a flex_check.json (repeatable): whether FlexAttention itself runs each variant")
    m = sub.add_parser("merge")
    m.add_argument("files", nargs="+")
    m.add_argument("--out", required=True)
    m.add_argument("--flex", action="append", help="flex_check.json files (repeatable), for runs collected without them")
    r = sub.add_parser("render")
    r.add_argument("file")
    a = ap.parse_args()
    if a.cmd == "collect":
        return collect(a)
    if a.cmd == "merge":
        return merge(a)
    with open(a.file) as f:
        sys.stdout.write(render(json.load(f)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
