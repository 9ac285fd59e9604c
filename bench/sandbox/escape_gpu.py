"""The escape suite on a GPU host without Node: every hostile prelude of test/fixtures/escape, prepended to the
correct GPU kernel test/fixtures/kernels/good_softcap.py, verified (static rules off) on the softcap problem
through the same sandboxed harness processes kforge uses (kforge_harness.driver), then checked by its effects
on the host, as test/escape/escape.test.ts does on the CPU.

    DEEPSEEK_API_KEY=sk-... python3 bench/sandbox/escape_gpu.py --out $OUT

The secret to steal is this process's own DEEPSEEK_API_KEY (so /proc/<this>/environ holds it). Writes
escape_gpu.json and prints a table; exit 0 when nothing leaked and no effect was seen.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import socket
import sqlite3
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools", "verifier", "harness"))
from kforge_harness.driver import Spare  # noqa: E402
from kforge_harness.problem import load_problem_dir  # noqa: E402

NAMES = ["read_environ", "posix_system", "ctypes_syscalls", "fork_setsid", "write_db", "write_outside", "unix_socket",
         "alloc_huge", "fork_bomb", "kill_parent", "read_home"]


def sha(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def processes_with(token: str) -> list:
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if token.encode() in f.read().split(b"\0"):
                    out.append(int(pid))
        except OSError:
            pass
    return out


def serve(addr: str, hits: list) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(addr)
    s.listen(8)

    def loop():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            hits.append(addr)
            c.close()

    threading.Thread(target=loop, daemon=True).start()
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    ap.add_argument("--alloc-gib", type=int, default=100, help="more than the sandbox's data limit (64 GiB on GPU lanes)")
    args = ap.parse_args()
    secret = os.environ.get("DEEPSEEK_API_KEY", "")
    if len(secret) < 12:
        sys.exit("set DEEPSEEK_API_KEY to a random value of 12+ characters: it is the secret the kernels try to steal")
    tag = "%08x" % random.getrandbits(32)
    token = f"home-token-{tag}"
    home = tempfile.mkdtemp(prefix="kforge-escape-home-", dir=os.path.expanduser("~"))
    db = os.path.join(home, "kforge.sqlite")
    c = sqlite3.connect(db)
    c.executescript("CREATE TABLE runs (id TEXT); INSERT INTO runs VALUES ('r1'), ('r2');")
    c.commit()
    c.close()
    t = {"secret": secret, "db": db, "marker": f"/tmp/kforge-escape-marker-{tag}",
         "checkout_file": os.path.join(REPO, f".escape-planted-{tag}"),
         "home_file": os.path.join(os.path.expanduser("~"), f".kforge-escape-planted-{tag}"),
         "socket": f"/tmp/kforge-escape-{tag}.sock", "abstract_socket": f"kforge-escape-{tag}",
         "sleep_token": str(random.randint(3_000_000, 3_900_000)), "bomb_token": str(random.randint(4_000_000, 4_900_000)),
         "alloc_bytes": args.alloc_gib * 1024 ** 3, "fork_cap": 3000}
    planted = [t["checkout_file"], t["home_file"]]
    for p in planted:
        with open(p, "w") as f:
            f.write(token + "\n")
    before = {p: sha(p) for p in planted + [db]}
    hits: list = []
    servers = [serve(t["socket"], hits), serve("\0" + t["abstract_socket"], hits)]
    spec, ref = load_problem_dir(os.path.join(REPO, "problems", "softcap"))
    with open(os.path.join(REPO, "test", "fixtures", "kernels", "good_softcap.py")) as f:
        good = f.read()
    rows, logs, t0 = [], "", time.time()
    for name in NAMES:
        with open(os.path.join(REPO, "test", "fixtures", "escape", f"{name}.py")) as f:
            source = f"TARGETS = {json.dumps(t)}\n{f.read()}\n\n{good}"
        sp = Spare("cuda")
        sp.wait_ready(240)
        ts = time.time()
        out = sp.run({"mode": "verify", "device": "cuda", "problem": spec, "reference_path": ref, "source": source,
                      "timing": False, "static_checks": False, "seed": random.randint(1, 10 ** 6)})
        r = out.get("result") or {"status": "harness_error", "message": str(out.get("harness_error"))}
        logs += json.dumps(out)
        rows.append({"name": name, "status": r.get("status"), "rule": r.get("rule"), "s": round(time.time() - ts, 2),
                     "message": str(r.get("message", ""))[:300]})
        print(f"{name:16s} {r.get('status'):14s} {rows[-1]['s']:6.2f}s  {rows[-1]['message'][:90]!r}", flush=True)
    for s in servers:
        s.close()
    effects = {
        "secret_in_results_or_logs": secret in logs,
        "home_token_in_results_or_logs": token in logs,
        "host_marker_written": os.path.exists(t["marker"]) or os.path.exists(t["marker"] + ".db"),
        "database_changed": sha(db) != before[db],
        "planted_files_changed": [p for p in planted if sha(p) != before[p]],
        "unix_socket_reached": hits,
        "setsid_grandchild_alive": processes_with(t["sleep_token"]),
        "fork_bomb_children_alive": processes_with(t["bomb_token"]),
    }
    harmless = not any(effects.values())
    for p in planted + [t["marker"], t["marker"] + ".db", t["socket"]]:
        if os.path.exists(p):
            os.remove(p)
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": "python3 bench/sandbox/escape_gpu.py",
              "wall_s": round(time.time() - t0, 1), "rows": rows, "effects": effects, "harmless": harmless}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "escape_gpu.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(effects))
    print("HARMLESS" if harmless else "HARM SEEN")
    return 0 if harmless else 1


if __name__ == "__main__":
    sys.exit(main())
