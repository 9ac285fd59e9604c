"""Turns an exception raised by candidate code into a VerifyResult: compile error or runtime error,
with the message a model needs (the error, the candidate's own traceback lines, the line number)."""
from __future__ import annotations

import traceback
from typing import Any, Mapping, Optional

from .protocol import compile_error, runtime_error
from .types import Result

MAX_MESSAGE = 4000

_COMPILE_TYPES = {"CompilationError", "CompileTimeAssertionFailure", "UnsupportedLanguageConstruct", "PTXASError",
                  "OutOfResources", "MLIRCompilationError", "TritonError"}
_CUDA_KINDS = [
    ("illegal memory access", "illegal memory access"),
    ("misaligned address", "misaligned address"),
    ("device-side assert", "device-side assert"),
    ("illegal instruction", "illegal instruction"),
    ("out of memory", "out of memory"),
    ("unspecified launch failure", "launch failure"),
    ("CUDA error", "CUDA error"),
]


def is_compile_failure(exc: BaseException) -> bool:
    name = type(exc).__name__
    mod = type(exc).__module__ or ""
    msg = str(exc)
    return (name in _COMPILE_TYPES or mod.startswith("triton.compiler") or "Error building extension" in msg
            or "ptxas" in msg.lower() and "error" in msg.lower())


def cuda_kind(exc: BaseException) -> Optional[str]:
    msg = str(exc)
    for needle, kind in _CUDA_KINDS:
        if needle in msg:
            return kind
    return None


def candidate_line(exc: BaseException, candidate_path: str) -> Optional[int]:
    """The innermost line of the candidate's file in the traceback (or a SyntaxError's line)."""
    if isinstance(exc, SyntaxError) and exc.filename == candidate_path:
        return exc.lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == candidate_path:
            line = frame.lineno
    return line


def describe(exc: BaseException, candidate_path: str) -> str:
    """The exception and the traceback frames that belong to the candidate, trimmed."""
    head = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == candidate_path]
    where = "".join(traceback.format_list(frames[-6:])).replace(candidate_path, "kernel.py")
    text = (f"{head}\n{where}".strip() if where else head).replace(candidate_path, "kernel.py")
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE // 2] + "\n...\n" + text[-MAX_MESSAGE // 2:]


def from_import(exc: BaseException, path: str) -> Result:
    """Anything failing while the module is imported is a compile error (syntax, names, imports)."""
    return compile_error(describe(exc, path), candidate_line(exc, path))


def from_call(exc: BaseException, path: str, shape: Optional[Mapping[str, Any]], first_call: bool) -> Result:
    """A failure inside attention(): Triton/nvcc compile errors are compile errors, the rest runtime errors."""
    if is_compile_failure(exc):
        return compile_error(describe(exc, path), candidate_line(exc, path))
    kind = cuda_kind(exc) or type(exc).__name__
    msg = describe(exc, path)
    if first_call and kind == type(exc).__name__:
        msg = f"{msg}\n(raised on the first call, shape {shape})"
    return runtime_error(msg, shape, kind)
