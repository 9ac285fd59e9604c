"""The shapes of the dicts the harness passes around, for mypy (nothing here runs checks).

Problem side: Shape and ProblemSpec mirror problems/schema.ts (AttentionShape, AttentionProblemSpec) as
problem.normalize leaves them. Result side: Result is any JSON object the harness reports (result.ts's
VerifyResult and the other modes' results); the parts other code reads by key have TypedDicts of their own.

No `from __future__ import annotations` here: TypedDict then records which keys are NotRequired at runtime too.
"""
from typing import Any, Callable, Dict, List, Literal, NotRequired, Optional, TypedDict, Union

# A JSON object as the harness reports it (a VerifyResult, a baseline table, a reference check ...).
Result = Dict[str, Any]

# The keyword arguments attention(...) gets besides scale: numbers and tensors (params.materialise_for).
Params = Dict[str, Any]

# A FlexAttention mod: score_mod(score, b, h, q_idx, kv_idx) or mask_mod(b, h, q_idx, kv_idx).
Mod = Callable[..., Any]

# A problem param (problems/schema.ts ParamValue): a number, "alibi" or "random_docs(N)".
ParamValue = Union[int, float, str]


class Shape(TypedDict):
    """One attention shape: q [B, H, S, D], k and v [B, Hkv, Skv, D]. problem.json may leave out Hkv (= H) and
    Skv (= S); problem.full_shape fills both and adds the problem's dtype ("bf16" or "fp16")."""

    B: int
    H: int
    S: int
    D: int
    Hkv: NotRequired[int]
    Skv: NotRequired[int]
    dtype: NotRequired[str]


# The numbers of a Shape, as keys (a variable key must have this type to index a Shape).
ShapeKey = Literal["B", "H", "S", "D", "Hkv", "Skv"]


class ProblemShapes(TypedDict):
    correctness: List[Shape]
    benchmark: List[Shape]


class ModSource(TypedDict):
    """Where a variant's mod comes from: `symbol` in `file`, called with the shape first when `factory`."""

    file: str
    symbol: str
    factory: bool


class CapturedTensor(TypedDict):
    name: str
    dtype: str
    dims: List[Union[int, str]]


class VariantBlock(TypedDict):
    """problem.json's `variant` (schema.ts VariantBlock); `captured` is None in inspect_variant's drafts."""

    files: List[str]
    score: Optional[ModSource]
    mask: Optional[ModSource]
    captured: Optional[List[CapturedTensor]]
    ir: NotRequired[Optional[str]]
    irError: NotRequired[str]


class ProblemSpec(TypedDict):
    """An attention problem as the harness reads it: problem.json after problem.normalize (defaults filled).
    name, description, kind and baseline are read with .get (a test's problem may leave them out)."""

    name: NotRequired[str]
    description: NotRequired[str]
    kind: NotRequired[str]
    params: Dict[str, ParamValue]
    shapes: ProblemShapes
    dtype: str
    baseline: NotRequired[str]
    tags: List[str]
    atol: float
    seeds: int
    variant: NotRequired[VariantBlock]
    device: str


class Worst(TypedDict):
    """Where the largest error of a failed check sits: [b, h, q, d], the value got and the one expected."""

    index: List[int]
    got: float
    expected: float
    note: NotRequired[str]


class NonFinite(TypedDict):
    """The first NaN/Inf of an output, how many there are of how many values, and where they cluster."""

    index: List[int]
    count: int
    total: int
    note: str


class ShapeCheck(TypedDict):
    """result.ts ShapeCheck: one correctness check (a shape and a seed). A NaN maxError goes out as null
    (worker._finite); `finite` is reference_check's."""

    shape: Shape
    seed: int
    passed: bool
    maxError: float
    allowance: float
    worst: NotRequired[Worst]
    finite: NotRequired[bool]


class RefusedCheck(TypedDict):
    """reference_check's entry for a shape FlexAttention refused: no error to measure, `error` says why."""

    shape: Shape
    seed: int
    passed: bool
    maxError: None
    allowance: float
    error: str


class Stats(TypedDict):
    """timing.summarize: the median milliseconds, the number of runs and (p90 - p10) / median."""

    ms: float
    runs: int
    spread: float


class CandidateTiming(TypedDict):
    ms: float
    runs: int
    spread: float
    tflops: float


class BaselineTiming(TypedDict):
    ms: float
    tflops: float


class ShapeTiming(TypedDict):
    """result.ts ShapeTiming: the candidate at one benchmark shape, the baselines and the speedups over them."""

    shape: Shape
    ms: float
    tflops: float
    baselines: Dict[str, BaselineTiming]
    speedup: Dict[str, float]
    runs: int
    spread: float


class KernelEvent(TypedDict):
    """One CUDA kernel of a profiled call: its name and the stream it ran on (as the profiler reports it)."""

    name: str
    stream: Any


# ---- KernelBench problems (kernelbench*.py) ----


class KBTolerance(TypedDict):
    """A KernelBench problem's `kbTolerance`: torch.allclose's atol and rtol against the reference."""

    atol: float
    rtol: float


class KBRules(TypedDict):
    """Which of the two correctness rules held: KernelBench's allclose and kforge's error budget."""

    kernelbench: bool
    kforge: bool


class KBCompare(TypedDict):
    """kernelbench.compare over every output tensor of one call."""

    passed: bool
    maxError: float
    allowance: float
    rules: KBRules


class KBCase(TypedDict):
    """One KernelBench correctness call: the input distribution, the seed and the inputs described."""

    dist: str
    seed: int
    inputs: str


class KBCheck(TypedDict):
    """A KernelBench ShapeCheck: `shape` is kernelbench.flat_shape's, `case` names the distribution and inputs."""

    shape: Shape
    seed: int
    passed: bool
    maxError: float
    allowance: float
    case: str
    rules: KBRules


class KBReferenceCheck(TypedDict):
    """A KernelBench reference_check entry: the reference's outputs are finite under this distribution."""

    dist: str
    inputs: str
    passed: bool


class KBBaselines(TypedDict):
    """kernelbench_timing.time_baselines: the eager and torch.compile baselines that ran, and why the others did
    not (a job's cached baseline, measure_baseline's `shapes` entry, is these less `unavailable`)."""

    unavailable: Dict[str, str]
    eager: NotRequired[BaselineTiming]
    compile: NotRequired[BaselineTiming]


class KBShapeTiming(TypedDict):
    """A ShapeTiming for KernelBench's one benchmark case (kernelbench_timing.time_candidate)."""

    shape: Shape
    case: str
    ms: float
    tflops: float
    baselines: Dict[str, BaselineTiming]
    speedup: Dict[str, float]
    runs: int
    spread: float
    unavailable: Dict[str, str]


# ---- inspect_variant and the kernel IR its mods lower to (trace_mods, lower_fx, lower_ops, lower_vec, shape_lift) ----

# A node of the kernel IR in its JSON form (tools/offline/ir.py, "JSON form"): an object with one tag key ("num",
# "var", "param", "load", "bin", "cmp", "neg", "not", "call", "where", "reduce") and that kind's fields, whose values
# are strings, numbers, nodes and lists of nodes. The front end builds and walks the kinds alike (ir.get("a"), every
# value of a node), so a node is one JSON object type rather than a TypedDict per kind.
IRNode = Dict[str, Any]


class IRTensor(TypedDict):
    """A captured tensor the IR loads: its rank (0: a captured 0-d tensor) and torch's dtype name ("float32")."""

    rank: int
    dtype: str


class IRDocument(TypedDict):
    """tools/offline/ir.py's Mods document: a variant's mods as IR (None: no such mod), the scalars they read
    (shape scalars lifted by shape_lift) and the captured tensors they load."""

    version: int
    score: Optional[IRNode]
    mask: Optional[IRNode]
    scalars: List[str]
    tensors: Dict[str, IRTensor]


class DraftSource(TypedDict):
    """A mod as problems/scaffold.ts's draft names it: the file and the symbol (None: inspect_variant finds it)."""

    file: str
    symbol: Optional[str]


class VariantDraft(TypedDict):
    """The `variant` block of an inspect_variant draft (problems/scaffold.ts): the copied files and, per kind, the
    mod's source (None: no such mod)."""

    files: List[str]
    score: Optional[DraftSource]
    mask: Optional[DraftSource]


class DraftProblem(TypedDict):
    """inspect_variant's job.problem: scaffold.ts's draft (name, kind, dtype, shapes, variant; worker.main fills the
    schema's defaults). inspect_variant reads the correctness shapes and the variant block."""

    name: NotRequired[str]
    kind: NotRequired[str]
    dtype: NotRequired[str]
    shapes: ProblemShapes
    variant: VariantDraft


class VariantReport(TypedDict):
    """inspect_variant's result (scaffold.ts Inspection): the user's errors (file, line, message), the resolved
    variant block, notes, the IR's features (ir_features) and the IR, or None and why in irError."""

    status: str
    errors: List[Result]
    variant: Optional[VariantBlock]
    notes: List[str]
    features: List[str]
    ir: Optional[IRDocument]
    irError: NotRequired[str]
