"""In-process hardening and the candidate module itself.

The real isolation is the process boundary (the client kills the whole process group on a time
limit, scrubs the environment, drops the network with `unshare -n`, and removes the temp dir).
Here we only make the process's own defaults safe: no core dumps, cwd and TMPDIR in the temp dir.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType
from typing import Any, Callable

from . import failures
from .protocol import Verdict, compile_error

CANDIDATE_MODULE = "kforge_candidate"


def harden(workdir: str) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except Exception:
        pass  # not every platform has RLIMIT_CORE; a core dump is a nuisance, not a hole
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)


def write_candidate(workdir: str, source: str) -> str:
    """Triton reads a @jit function's source from its file, so the candidate must live in one."""
    path = os.path.join(workdir, "kernel.py")
    with open(path, "w") as f:
        f.write(source)
    return path


def import_candidate(path: str) -> ModuleType:
    """Imports the candidate module; any failure is the candidate's compile error."""
    try:
        spec = importlib.util.spec_from_file_location(CANDIDATE_MODULE, path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[CANDIDATE_MODULE] = mod
        spec.loader.exec_module(mod)
    except Verdict:
        raise
    except BaseException as exc:  # SyntaxError, NameError, SystemExit from a hostile module ...
        raise Verdict(failures.from_import(exc, path)) from None
    return mod


def entry_point(mod: ModuleType) -> Callable[..., Any]:
    fn: object = getattr(mod, "attention", None)
    if not callable(fn):
        raise Verdict(compile_error("the module defines no callable `attention(q, k, v, *, scale, **params)`"))
    return fn
