"""Reads a mod the way FlexAttention does: torch.fx's make_fx runs it once on 0-d tensors and records the aten
ops it performs. Python control flow, loops and helper calls run at trace time (loops unroll); captured tensors
become graph constants. Stack traces are recorded so every op can be traced back to the user's file and line.
"""
from __future__ import annotations

import inspect
import os
import traceback
from typing import Iterable, List, Optional, Tuple

import torch

from .getitem import tensor_indexing
from .types import Mod
from .variant import VariantError

ARG_NAMES = {"score": ("score", "b", "h", "q_idx", "kv_idx"), "mask": ("b", "h", "q_idx", "kv_idx")}
# what a tracing failure usually means, by a fragment of torch's message
TRACE_HINTS = (
    ("get value out of a tracing tensor", "Python control flow or a Python number taken from a tensor value "
     "(if/while/and/or/not, bool(), int(), float(), .item() on a tensor that depends on b, h, q_idx, kv_idx or score); "
     "use torch.where and & | ~ instead"),
    ("data-dependent", "Python control flow on a tensor value; use torch.where and & | ~ instead"),
    ("Boolean value of Tensor", "Python `and`/`or`/`not`/`if` on a tensor; use & | ~ and torch.where"),
)


# FlexAttention passes int32 indices; torch 1.x indexes only with int64, so the CPU tests trace with those
INDEX_DTYPE = torch.int32 if int(torch.__version__.split(".")[0]) >= 2 else torch.int64


def example_args(kind: str) -> List[torch.Tensor]:
    """The 0-d inputs FlexAttention traces a mod with: a float32 score and integer indices."""
    idx = [torch.zeros((), dtype=INDEX_DTYPE) for _ in range(4)]
    return ([torch.zeros((), dtype=torch.float32)] if kind == "score" else []) + idx


def trace(fn: Mod, kind: str, files: Iterable[str]) -> torch.fx.GraphModule:
    """The aten-level torch.fx GraphModule of one mod; a VariantError at the user's line when tracing fails."""
    from torch.fx.experimental import proxy_tensor as pt

    files = list(files)
    kw = {"record_stack_traces": True} if "record_stack_traces" in inspect.signature(pt.make_fx).parameters else {}
    had = pt.PythonKeyTracer.__dict__.get("record_stack_traces", None)
    pt.PythonKeyTracer.record_stack_traces = True
    try:
        with tensor_indexing():
            return pt.make_fx(fn, **kw)(*example_args(kind))
    except VariantError:
        raise
    except BaseException as exc:  # noqa: BLE001 - a mod that cannot be traced is the user's to fix
        file, line = innermost_user_frame(traceback.extract_tb(exc.__traceback__), files)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = next((h for frag, h in TRACE_HINTS if frag in str(exc)), None)
        what = f"the {kind}_mod cannot be traced: {hint}" if hint else f"the {kind}_mod cannot be traced: {type(exc).__name__}: {text}"
        raise VariantError(what + _source_suffix(file, line), file or (files[0] if files else None), line) from None
    finally:
        if had is None:
            try:
                delattr(pt.PythonKeyTracer, "record_stack_traces")
            except AttributeError:
                pass
        else:
            pt.PythonKeyTracer.record_stack_traces = had


def innermost_user_frame(frames: Iterable[traceback.FrameSummary], files: Iterable[str]) -> Tuple[Optional[str], Optional[int]]:
    """(file, line) of the deepest frame in one of `files` (frames outermost first, as traceback gives them)."""
    real = {os.path.realpath(f) for f in files}
    hit: Tuple[Optional[str], Optional[int]] = (None, None)
    for fs in frames:
        if os.path.realpath(fs.filename) in real:
            hit = (fs.filename, fs.lineno)
    return hit


def node_location(node: torch.fx.Node, files: Iterable[str]) -> Tuple[Optional[str], Optional[int]]:
    """(file, line) in the user's files where an fx node's op was called, from its recorded stack trace.
    torch 1.13 records the innermost frame first, torch 2.x last: the tracer's own frames tell which."""
    text = node.meta.get("stack_trace") if hasattr(node, "meta") else None
    if not text:
        return None, None
    frames: List[Tuple[str, int]] = []
    lines = text.splitlines()
    for ln in lines:
        s = ln.strip()
        if s.startswith('File "') and '", line ' in s:
            path = s[6:s.index('", line ')]
            try:
                num = int(s.split('", line ', 1)[1].split(",", 1)[0])
            except ValueError:
                continue
            frames.append((path, num))
    real = {os.path.realpath(f) for f in files}
    user = [i for i, (p, _) in enumerate(frames) if os.path.realpath(p) in real]
    if not user:
        return None, None
    tracer = [i for i, (p, _) in enumerate(frames) if "proxy_tensor.py" in p or "_symbolic_trace.py" in p]
    if tracer and any(i < min(tracer) for i in user):  # innermost first: the mod's frames precede the tracer's
        return frames[min(i for i in user if i < min(tracer))]
    after = [i for i in user if not tracer or i > max(tracer)]
    return frames[max(after or user)]


def _source_suffix(file: Optional[str], line: Optional[int]) -> str:
    src = source_line(file, line)
    return f" (at `{src}`)" if src else ""


def source_line(file: Optional[str], line: Optional[int]) -> str:
    """The stripped text of file:line, or ''."""
    if not file or not line:
        return ""
    try:
        with open(file, encoding="utf-8") as f:
            for i, text in enumerate(f, 1):
                if i == line:
                    return text.strip()
    except OSError:
        pass
    return ""
