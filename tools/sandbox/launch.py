"""Runs one command (a verifier harness, ncu, a variant inspection) inside kforge's OS sandbox.

    python3 launch.py --workdir DIR [--gpu] [--ro PATH]... [--rw PATH]... [--hide PATH]... -- CMD ARGS...
    python3 launch.py --probe          # which layers work here, as JSON

Layers, each from spec.json (shared with the TypeScript pool and the Python driver):
- die with the parent (PR_SET_PDEATHSIG, on the launcher and on the sandbox's first process);
- new PID, mount, network, IPC, UTS and cgroup namespaces: the command is PID 1 of its own PID namespace, so
  every process it starts (setsid or not) dies with it; it sees no other process and has no network;
- a new root: the system directories read-only, a private /tmp and /dev (plus the NVIDIA device nodes with
  --gpu), a fresh /proc, the paths given with --ro read-only, the work dir (and --rw paths) writable, and
  nothing else: not the user's home, the kforge database, the checkout or KFORGE_HOME (--hide masks such
  paths even when they sit under a system directory);
- an unprivileged uid (root: setuid to spec's sandbox uid; other users: a user namespace whose capabilities
  are dropped), no new privileges, a seccomp filter (spec's seccomp_deny), resource limits, no terminal;
- an environment rebuilt from the allow-list (no secrets).
Exit status: the command's; 121 when the sandbox cannot be built (the reason on stderr, prefixed
"kforge-sandbox:").
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import resource
import signal
import stat
import sys
from typing import Any, Mapping, Optional, Sequence, cast

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # run with -I (no user site, no PYTHON* variables), which also drops the script's dir

import linux as L  # noqa: E402

SPEC_PATH = os.path.join(HERE, "spec.json")
SETUP_FAILED = 121


def load_spec() -> dict[str, Any]:
    with open(SPEC_PATH) as f:
        return cast(dict[str, Any], json.load(f))


def sandbox_env(spec: dict[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """The allow-listed names the caller set, minus anything that looks like a secret."""
    allowed = set(spec["env_allow"]) | set(spec["env_set"])
    secret = re.compile(spec["secret_name_pattern"], re.I)
    return {k: v for k, v in environ.items() if k in allowed and not secret.search(k)}


def python_paths() -> list[str]:
    """Directories this interpreter needs (prefixes, stdlib, site-packages with torch/triton), read-only."""
    import importlib.util
    import sysconfig

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            paths.add(p)
    for name in ("torch", "triton", "numpy"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            paths.add(os.path.dirname(list(spec.submodule_search_locations)[0]))
    paths |= {p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    return sorted(os.path.realpath(p) for p in paths if os.path.exists(p))


def _mkdirs(path: str) -> None:
    os.makedirs(path, mode=0o755, exist_ok=True)


def _touch(path: str) -> None:
    _mkdirs(os.path.dirname(path))
    if not os.path.exists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


class RootBuilder:
    """Builds the new root under `root` (a tmpfs), remembering what to remount read-only at the end."""

    def __init__(self, root: str):
        self.root = root
        self.readonly: list[tuple[str, Optional[str]]] = []

    def at(self, path: str) -> str:
        return self.root + os.path.abspath(path)

    def bind(self, src: str, writable: bool = False, recursive: bool = True) -> None:
        if not os.path.lexists(src):
            return
        if os.path.islink(src) and os.path.dirname(os.path.abspath(src)) == "/":  # merged /usr: /bin -> usr/bin
            if not os.path.lexists(self.at(src)):
                os.symlink(os.readlink(src), self.at(src))
            return
        src = os.path.realpath(src)
        dst = self.at(src)
        if os.path.isdir(src):
            if not os.path.isdir(dst):
                _mkdirs(dst)
        elif not os.path.exists(dst):
            _touch(dst)
        L.mount(src, dst, None, L.MS_BIND | (L.MS_REC if recursive else 0))
        if not writable:
            self.readonly.append((dst, src))

    def tmpfs(self, path: str, size_mb: int, mode: str = "755", readonly: bool = False, flags: int = 0) -> None:
        dst = self.at(path)
        _mkdirs(dst)
        L.mount("tmpfs", dst, "tmpfs", L.MS_NOSUID | L.MS_NODEV | flags, f"mode={mode},size={size_mb}m")
        if readonly:
            self.readonly.append((dst, None))

    def seal(self) -> None:
        for dst, src in self.readonly:
            keep = L.mount_flags_of(src) if src else (L.MS_NOSUID | L.MS_NODEV)
            L.mount(None, dst, None, L.MS_REMOUNT | L.MS_BIND | L.MS_RDONLY | keep)


def build_root(args: argparse.Namespace, spec: dict[str, Any], root: str) -> None:
    b = RootBuilder(root)
    L.mount("tmpfs", root, "tmpfs", L.MS_NOSUID | L.MS_NODEV, "mode=755,size=16m")
    for p in spec["system_ro"]:
        b.bind(p)
    for p in args.hide:  # home, database, checkout, KFORGE_HOME: empty even where a system dir holds them
        if os.path.isdir(b.at(os.path.realpath(p))):
            b.tmpfs(os.path.realpath(p), 1, readonly=True)
    writable = {os.path.realpath(p) for p in args.rw}
    ro = [p for p in args.ro if os.path.realpath(p) not in writable]  # a path given both ways is writable
    in_tmp = [p for p in ro if os.path.realpath(p).startswith("/tmp/")]  # shown after the private /tmp below
    for p in python_paths() + [p for p in ro if p not in in_tmp]:
        if not os.path.exists(b.at(os.path.realpath(p))):  # already visible through a system dir otherwise
            b.bind(p)
    b.tmpfs("/dev", 4, flags=L.MS_NOEXEC)
    for name in spec["dev_nodes"]:
        b.bind(f"/dev/{name}", writable=True)
    if args.gpu:
        for pattern in spec["gpu_dev_globs"]:
            for node in glob.glob(pattern):
                b.bind(node, writable=True)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, b.at(f"/dev/{name}"))
    b.tmpfs("/dev/shm", spec["limits"]["tmp_mb"], mode="1777")
    b.tmpfs("/tmp", spec["limits"]["tmp_mb"], mode="1777")
    for p in in_tmp:  # e.g. a problem folder under a temporary KFORGE_HOME
        b.bind(p)
    for p in [args.workdir] + args.rw:
        b.bind(p, writable=True, recursive=False)  # not recursive: the work dir holds the new root's mount point
    _mkdirs(b.at("/proc"))
    L.mount("proc", b.at("/proc"), "proc", L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC)
    b.seal()
    os.chdir(root)
    _mkdirs(os.path.join(root, ".old"))
    L.pivot_root(".", ".old")
    os.chdir("/")
    L.umount2("/.old", L.MNT_DETACH)
    os.rmdir("/.old")
    L.mount(None, "/", None, L.MS_REMOUNT | L.MS_BIND | L.MS_RDONLY | L.MS_NOSUID | L.MS_NODEV)


def chown_tree(top: str, uid: int, gid: int) -> None:
    """Hands the work dir to this sandbox's uid."""
    for d, dirs, files in os.walk(top):
        for p in [d] + [os.path.join(d, n) for n in dirs + files]:
            if os.lstat(p).st_uid != uid:
                os.lchown(p, uid, gid)


def share_tree(top: str, gid: int) -> None:
    """A writable path several sandboxes share (a compile cache): each runs as its own uid, so the tree belongs
    to the sandboxes' common group, group-writable, and new entries inherit the group (setgid directories)."""
    for d, dirs, files in os.walk(top):
        for p in [d] + [os.path.join(d, n) for n in dirs + files]:
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                continue
            if st.st_gid != gid:
                os.lchown(p, -1, gid)
            want = st.st_mode | stat.S_IRWXG | (stat.S_ISGID if stat.S_ISDIR(st.st_mode) else 0)
            if stat.S_ISREG(st.st_mode):
                want = st.st_mode | stat.S_IRGRP | stat.S_IWGRP
            if stat.S_IMODE(want) != stat.S_IMODE(st.st_mode):
                os.chmod(p, stat.S_IMODE(want))


def user_processes() -> int:
    """Tasks (threads too) of this real uid, which RLIMIT_NPROC counts: in a user namespace that is the invoking
    user's own, so the limit is set above what they already run."""
    uid, n = os.getuid(), 0
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and os.stat(f"/proc/{pid}").st_uid == uid:
                n += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return n


def set_limits(spec: dict[str, Any], gpu: bool, already_running: int) -> None:
    lim = spec["limits"]
    mb = 1024 * 1024
    nproc = lim["nproc"] + already_running
    pairs = [(resource.RLIMIT_CORE, 0), (resource.RLIMIT_NPROC, nproc), (resource.RLIMIT_NOFILE, lim["nofile"]),
             (resource.RLIMIT_FSIZE, lim["fsize_mb"] * mb), (resource.RLIMIT_CPU, lim["cpu_s"])]
    # CUDA reserves a virtual address range far larger than memory, so GPU lanes bound data, CPU lanes address space
    pairs.append((resource.RLIMIT_DATA, lim["data_mb_gpu"] * mb) if gpu else (resource.RLIMIT_AS, lim["address_space_mb_cpu"] * mb))
    for what, value in pairs:
        soft, hard = resource.getrlimit(what)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(what, (value, value))


def sandbox_uid(spec: dict[str, Any]) -> int:
    """A uid of this sandbox's own (the launcher's pid picks it), so RLIMIT_NPROC and file ownership are per sandbox."""
    return int(spec["sandbox_uid_base"]) + os.getpid() % int(spec["sandbox_uid_count"])


def become_unprivileged(uid: int, gid: int, userns: bool) -> None:
    if userns:
        L.drop_capabilities()  # uid 0 of a namespace with no capabilities: the invoking user, minus everything
    else:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)  # clears every capability
    L.prctl(L.PR_SET_PDEATHSIG, signal.SIGKILL)  # a credential change cleared it


def enter_namespaces(userns: bool) -> None:
    flags = L.CLONE_NEWNS | L.CLONE_NEWPID | L.CLONE_NEWNET | L.CLONE_NEWIPC | L.CLONE_NEWUTS | L.CLONE_NEWCGROUP
    if not userns:
        L.unshare(flags)
        return
    uid, gid = os.getuid(), os.getgid()
    L.unshare(flags | L.CLONE_NEWUSER)
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def child(args: argparse.Namespace, spec: dict[str, Any], userns: bool, uid: int, already_running: int) -> None:
    """PID 1 of the new namespaces: build the root, drop privileges, exec the command. Never returns."""
    try:
        L.prctl(L.PR_SET_PDEATHSIG, signal.SIGKILL)
        os.setsid()
        L.mount(None, "/", None, L.MS_REC | L.MS_PRIVATE)
        root = os.path.join(args.workdir, ".sandbox-root")
        gid = spec["sandbox_uid_base"]  # the common group of every sandbox, owner of shared caches
        if not userns:
            chown_tree(args.workdir, uid, gid)
            for p in args.rw:
                share_tree(p, gid)
        build_root(args, spec, root)
        os.chdir(args.workdir)
        set_limits(spec, args.gpu, already_running)
        become_unprivileged(uid, gid, userns)
        os.umask(0o002)  # files in a shared cache stay writable by the next sandbox (another uid, same group)
        L.install_seccomp(spec["seccomp_deny"])
        env = sandbox_env(spec, os.environ)
        os.execvpe(args.command[0], args.command, env)
    except BaseException as exc:  # noqa: BLE001 - whatever failed, the candidate must not run unconfined
        sys.stderr.write(f"kforge-sandbox: {type(exc).__name__}: {exc}\n")
        sys.stderr.flush()
        os._exit(SETUP_FAILED)


def run(args: argparse.Namespace) -> int:
    spec = load_spec()
    L.prctl(L.PR_SET_PDEATHSIG, signal.SIGKILL)  # no sandbox outlives kforge, even after kill -9
    if args.parent_pid and os.getppid() != args.parent_pid:
        return SETUP_FAILED  # the parent died before the line above
    userns = args.userns or os.geteuid() != 0
    os.makedirs(os.path.join(args.workdir, ".sandbox-root"), exist_ok=True)
    uid, already_running = sandbox_uid(spec), (user_processes() if userns else 0)
    try:
        enter_namespaces(userns)
    except OSError as exc:
        sys.stderr.write(f"kforge-sandbox: cannot create namespaces ({exc}); run as root or enable unprivileged "
                         "user namespaces (sysctl kernel.unprivileged_userns_clone=1)\n")
        return SETUP_FAILED
    pid = os.fork()
    if pid == 0:
        child(args, spec, userns, uid, already_running)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: os.kill(pid, signal.SIGKILL))
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            return SETUP_FAILED
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        term = os.WTERMSIG(status)
        signal.signal(term, signal.SIG_DFL)
        os.kill(os.getpid(), term)
    return os.WEXITSTATUS(status)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", help="the command's writable temp dir (also its cwd, HOME and TMPDIR)")
    ap.add_argument("--gpu", action="store_true", help="bind the NVIDIA device nodes")
    ap.add_argument("--ro", action="append", default=[], help="a path to show read-only")
    ap.add_argument("--rw", action="append", default=[], help="a path to show writable (a shared compile cache)")
    ap.add_argument("--hide", action="append", default=[], help="a path to show empty even under a system dir")
    ap.add_argument("--userns", action="store_true", help="use a user namespace even as root (tests)")
    ap.add_argument("--parent-pid", type=int, default=0, help="exit if this is no longer the parent")
    ap.add_argument("--probe", action="store_true", help="report which layers work here, as JSON")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    if args.probe:
        import probe

        print(json.dumps(probe.probe(args.userns)))
        return 0
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.workdir or not args.command:
        ap.error("--workdir and a command are required")
    args.workdir = os.path.realpath(args.workdir)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
