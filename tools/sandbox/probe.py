"""`launch.py --probe`: builds a real sandbox around a tiny Python program that reports, from inside, which
layers hold. Used by `kforge doctor` and the GPU self-test; nothing here trusts a flag, each layer is observed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))

INSIDE = r"""
import json, os, resource, socket
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
def net():
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=1); return False
    except OSError:
        return True
print(json.dumps({
    "uid": os.getuid(), "pid": os.getpid(),
    "processes_visible": len([d for d in os.listdir("/proc") if d.isdigit()]),
    "no_new_privs": status.get("NoNewPrivs", "").strip() == "1",
    "seccomp": status.get("Seccomp", "").strip() == "2",
    "cap_eff": status.get("CapEff", "").strip(),
    "network_isolated": net(),
    "home_hidden": not os.path.exists(os.environ.get("KFORGE_PROBE_HIDE", "/nonexistent")),
    "root_readonly": not os.access("/usr", os.W_OK),
    "nproc_limit": resource.getrlimit(resource.RLIMIT_NPROC)[0],
    "secret_absent": "KFORGE_PROBE_API_KEY" not in os.environ,
}))
"""


def probe(userns: bool = False) -> dict[str, Any]:
    """{"ok", "mode", "layers": {name: bool}, "error"?}: what a sandboxed process observed about itself."""
    mode = "userns" if userns or os.geteuid() != 0 else "root"
    with tempfile.TemporaryDirectory(prefix="kforge-probe-") as work:
        hidden = tempfile.mkdtemp(prefix="kforge-probe-hidden-", dir=os.path.expanduser("~") if os.access(os.path.expanduser("~"), os.W_OK) else None)
        cmd = [sys.executable, os.path.join(HERE, "launch.py"), "--workdir", work, "--hide", hidden]
        cmd += (["--userns"] if userns else []) + ["--", sys.executable, "-I", "-c", INSIDE]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KFORGE_PROBE_API_KEY": "probe-secret",
               "KFORGE_PROBE_HIDE": hidden, "HOME": work}
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
        finally:
            os.rmdir(hidden)
    if r.returncode != 0:
        return {"ok": False, "mode": None, "layers": {}, "error": (r.stderr or r.stdout).strip()[-600:]}
    seen = json.loads(r.stdout.strip().splitlines()[-1])
    layers = {
        "pid_namespace": seen["pid"] == 1 and seen["processes_visible"] <= 2,
        "mount_namespace": seen["home_hidden"] and seen["root_readonly"],
        "network_namespace": seen["network_isolated"],
        "unprivileged": (seen["uid"] != 0) if mode == "root" else seen["cap_eff"].strip("0") == "",
        "no_new_privs": seen["no_new_privs"],
        "seccomp": seen["seccomp"],
        "rlimits": seen["nproc_limit"] not in (-1,),
        "scrubbed_env": seen["secret_absent"],
    }
    return {"ok": all(layers.values()), "mode": mode, "layers": layers}
