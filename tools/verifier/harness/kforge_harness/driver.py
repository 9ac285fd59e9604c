"""A Python twin of the TypeScript client, for hosts without Node (gpu_selftest.py, bench/verify-time.py):
spawns run_candidate.py inside the OS sandbox (tools/sandbox/launch.py, the same launcher and spec.json as the
TypeScript pool), in its own temp dir and scrubbed environment, enforces per-phase time limits by killing the
group, and reads the nonce-tagged events from a file channel."""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Mapping, Optional

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_CANDIDATE = os.path.join(HERE, "run_candidate.py")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SANDBOX_DIR = os.path.join(REPO, "tools", "sandbox")
with open(os.path.join(SANDBOX_DIR, "spec.json")) as _f:
    SPEC = json.load(_f)
ENV_PASS = tuple(SPEC["env_allow"]) + ("CUDA_VISIBLE_DEVICES", "PYTHONPATH")
SECRET = re.compile(SPEC["secret_name_pattern"], re.I)
DEFAULT_LIMITS = {k: float(v) for k, v in SPEC["phase_limits_s"].items()}


def _package_dirs() -> List[str]:
    """site-packages holding torch and triton: with HOME moved, a user-site install would vanish otherwise."""
    import importlib.util

    dirs: List[str] = []
    for name in ("torch", "triton"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            d = os.path.dirname(list(spec.submodule_search_locations)[0])
            if d not in dirs:
                dirs.append(d)
    return dirs


def scrubbed_env(workdir: str, extra: Optional[Mapping[str, str]] = None, add_site: bool = True) -> Dict[str, str]:
    """Only what Python, CUDA and Triton need; HOME, TMPDIR and the compile caches inside the temp dir."""
    env = {k: v for k, v in os.environ.items() if k in ENV_PASS and not SECRET.search(k)}
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p] + (_package_dirs() if add_site else [])
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(HOME=workdir, TMPDIR=workdir, USER="kforge-sandbox", LOGNAME="kforge-sandbox", TRITON_CACHE_DIR=os.path.join(workdir, "triton"),
               TORCHINDUCTOR_CACHE_DIR=os.path.join(workdir, "inductor"), PYTHONDONTWRITEBYTECODE="1",
               PYTHONUNBUFFERED="1")
    env.update(extra or {})
    return env


def sandbox_prefix(workdir: str, gpu: bool, python: str = sys.executable, ro: Optional[List[str]] = None,
                   rw: Optional[List[str]] = None) -> List[str]:
    """The launcher's argv before the command: the OS sandbox of tools/sandbox, as the TypeScript pool builds it
    (the repository's tools/ and problems/ read-only, the home directory and the checkout masked)."""
    if os.environ.get("KFORGE_UNSAFE_NO_SANDBOX") == "1":  # the same named opt-out as kforge's
        sys.stderr.write("!!! KFORGE_UNSAFE_NO_SANDBOX=1: the candidate runs WITHOUT the OS sandbox !!!\n")
        return []
    cmd = [python, "-I", os.path.join(SANDBOX_DIR, "launch.py"), "--workdir", workdir, "--parent-pid", str(os.getpid())]
    cmd += ["--gpu"] if gpu else []
    shown = [os.path.join(REPO, d) for d in ("tools", "problems", os.path.join("test", "fixtures", "problems"))]
    for p in [d for d in shown if os.path.isdir(d)] + (ro or []):  # + the self-test's fixture problems
        cmd += ["--ro", p]
    for p in rw or []:
        cmd += ["--rw", p]
    for p in {os.path.expanduser("~"), REPO}:
        cmd += ["--hide", p]
    return cmd + ["--"]


class Spare:
    """A harness process started ahead of its job (the warm spare)."""

    def __init__(self, device: str, python: str = sys.executable, env_extra: Optional[Dict[str, str]] = None, workdir: Optional[str] = None):
        self.device = device
        self.keep_workdir = workdir is not None
        self.workdir = workdir or tempfile.mkdtemp(prefix="kforge-cand-")
        os.makedirs(self.workdir, exist_ok=True)
        self.events_path = os.path.join(self.workdir, ".events.jsonl")
        self.log_path = os.path.join(self.workdir, ".log.txt")
        self.t_spawn = time.time()
        self.log = open(self.log_path, "wb")
        cache = (env_extra or {}).get("TRITON_CACHE_DIR")
        rw = [os.path.dirname(cache)] if cache else []
        for d in rw:
            os.makedirs(d, exist_ok=True)
        cmd = sandbox_prefix(self.workdir, device == "cuda", python, rw=rw) + [
            python, RUN_CANDIDATE, "--device", device, "--channel", f"file:{self.events_path}", "--workdir", self.workdir]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=scrubbed_env(self.workdir, env_extra, add_site=os.path.realpath(python) == os.path.realpath(sys.executable)),
                                     cwd=self.workdir, start_new_session=True)

    def events(self) -> List[Dict[str, Any]]:
        try:
            with open(self.events_path) as f:
                return [json.loads(line) for line in f if line.strip()]
        except (OSError, ValueError):
            return []

    def wait_ready(self, limit_s: float) -> Optional[float]:
        """Seconds until "ready", or None when it died or timed out."""
        t_end = time.time() + limit_s
        while time.time() < t_end:
            if any(e.get("event") == "ready" for e in self.events()):
                return time.time() - self.t_spawn
            if self.proc.poll() is not None:
                return None
            time.sleep(0.02)
        return None

    def run(self, job: Dict[str, Any], limits: Optional[Dict[str, float]] = None) -> Dict[str, Any]:
        """Sends the job (job.ts's HarnessJob as JSON, less the nonce), enforces per-phase limits, returns
        {"result" | "timeout" | "died" ..., timings}."""
        limits = {**DEFAULT_LIMITS, **(limits or {})}
        if job.get("kernel_path") and job.get("source") is None:  # the sandbox cannot see the caller's files
            with open(job["kernel_path"]) as f:
                job = {**{k: v for k, v in job.items() if k != "kernel_path"}, "source": f.read()}
        nonce = secrets.token_hex(16)
        t_send = time.time()
        assert self.proc.stdin is not None  # Popen(stdin=PIPE)
        self.proc.stdin.write((json.dumps({**job, "nonce": nonce}) + "\n").encode())
        self.proc.stdin.flush()
        phase, t_phase = "start", t_send
        while True:
            evs = [e for e in self.events() if e.get("nonce") == nonce]
            for e in evs:
                if e["event"] == "result":
                    return {"result": e["result"], "wall_s": time.time() - t_send, "log": self._finish()}
                if e["event"] == "harness_error":
                    return {"harness_error": e.get("message"), "trace": e.get("trace"), "log": self._finish()}
            phases = [e for e in evs if e["event"] == "phase"]
            if phases and phases[-1]["phase"] != phase:
                phase, t_phase = phases[-1]["phase"], time.time()
            if time.time() - t_phase > limits.get(phase, 60.0):
                killed_after = time.time() - t_phase
                log = self.kill()
                return {"result": {"status": "timeout", "phase": phase, "limitS": limits.get(phase, 60.0),
                                   "phases": {"totalMs": (time.time() - t_send) * 1e3}},
                        "wall_s": time.time() - t_send, "killed_after_s": killed_after, "log": log}
            if self.proc.poll() is not None:
                time.sleep(0.05)
                if any(e.get("event") == "result" and e.get("nonce") == nonce for e in self.events()):
                    continue
                rc = self.proc.returncode
                log = self._finish()
                kind = f"process died with signal {signal.Signals(-rc).name}" if rc < 0 else f"process exited with code {rc}"
                return {"result": {"status": "runtime_error", "message": kind + "\n" + log, "kind": kind,
                                   "phases": {"totalMs": (time.time() - t_send) * 1e3}}, "wall_s": time.time() - t_send}
            time.sleep(0.01)

    def kill(self) -> str:
        """Kills the whole process group (the candidate's children too); returns the log tail."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return self._finish()

    def _finish(self) -> str:
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()
        tail = self._log_tail()
        if not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return tail

    def _log_tail(self, n: int = 4000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
            return data[-n:].decode(errors="replace")
        except OSError:
            return ""
