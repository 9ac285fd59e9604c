/**
 * A verified kernel as a drop-in Python module: its provenance and a usage example that runs as written
 * in the docstring, the kernel source unchanged, then an `attention` entry point taking the problem's
 * params as defaults (generator tensors such as ALiBi slopes built by helpers in the module).
 */
import type { AttentionShape, ProblemSpec } from "../../problems/schema.ts";
import type { VerifyResult } from "../../tools/verifier/result.ts";
import { shapeLabel } from "../trace/node-text.ts";

/** Where an exported kernel came from, and the problem it solves (null when its folder is gone). */
export interface Provenance {
  problem: string;
  spec: ProblemSpec | null;
  runId: string;
  nodeId: string;
  nodeLabel: string;
  title: string;
  verify: Extract<VerifyResult, { status: "ok" }>;
  verifiedAt: number;
  exportedAt: number;
}

/** The default module file name for a node: a valid Python identifier, e.g. kforge_softcap_5_1.py. */
export function moduleFileName(problem: string, label: string): string {
  return `kforge_${problem}_${label}`.replace(/[^A-Za-z0-9_]/g, "_") + ".py";
}

/** Whether `name` can follow `from ... import` (a Python identifier, not a keyword we would clash with). */
export function isModuleName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/** The helpers a generator param needs, by generator. */
const HELPERS = {
  alibi: `def alibi_slopes(n_heads, device=None):
    """ALiBi's geometric slopes, one per query head: slope[h] = 2^(-8(h+1)/n_heads), float32 [n_heads]."""
    h = _torch.arange(n_heads, dtype=_torch.float64)
    return _torch.pow(2.0, -8.0 * (h + 1) / n_heads).to(device=device, dtype=_torch.float32)`,
  docs: `def random_docs(seq_len, n_docs, seed=0, device=None):
    """Example document ids (int32 [seq_len], non-decreasing): n_docs contiguous segments of random lengths."""
    gen = _torch.Generator().manual_seed(int(seed) * 7919 + 17)
    n_cuts = max(0, min(n_docs, seq_len) - 1)
    starts = _torch.zeros(seq_len, dtype=_torch.int64)
    if n_cuts:
        starts[_torch.randperm(seq_len - 1, generator=gen)[:n_cuts] + 1] = 1
    return _torch.cumsum(starts, 0).to(device=device, dtype=_torch.int32)`,
} as const;

/** How one problem param reaches the kernel: a literal default, built from q when omitted, or passed by the caller. */
type ParamPlan = { name: string; kind: "literal"; value: string } | { name: string; kind: "alibi" } | { name: string; kind: "docs"; count: number };

function planParams(spec: ProblemSpec | null): ParamPlan[] {
  return Object.entries(spec?.params ?? {}).map(([name, v]): ParamPlan => {
    if (typeof v === "number") return { name, kind: "literal", value: pyNumber(v) };
    if (v === "alibi") return { name, kind: "alibi" };
    return { name, kind: "docs", count: Number(/\d+/.exec(v)?.[0] ?? 1) };
  });
}

/** The module text for `source` written to module `moduleName`. */
export function renderKernelModule(source: string, p: Provenance, moduleName: string): string {
  const params = planParams(p.spec);
  const { hoisted, body } = hoistFutureImports(source);
  const parts = [docstring(p, params, moduleName), ...hoisted, body.trimEnd(), "", "", entryPoint(p, params), "", "", meta(p, moduleName)];
  return `${parts.join("\n")}\n`;
}

function docstring(p: Provenance, params: ParamPlan[], moduleName: string): string {
  const v = p.verify;
  const desc = p.spec?.description ? `: ${oneLine(p.spec.description).replace(/\.$/, "")}` : "";
  const perShape = v.timings.map(
    (t) =>
      `${shapeLabel(t.shape)} ${Object.entries(t.speedup)
        .map(([b, s]) => `${s.toFixed(2)}x vs ${b}`)
        .join(", ")} (${t.tflops.toFixed(0)} TFLOP/s, ${t.ms.toFixed(3)} ms)`,
  );
  const defaults = params
    .map((x) => (x.kind === "literal" ? `${x.name}=${x.value}` : x.kind === "alibi" ? `${x.name}=alibi_slopes(H)` : null))
    .filter(Boolean);
  const lines = [
    `${p.problem} attention kernel found by kforge${desc}.`,
    "",
    "Drop-in: attention(q, k, v) with scale = q.shape[-1] ** -0.5" + (defaults.length ? ` and ${defaults.join(", ")}` : "") + " by default;",
    "q is [B, H, S, D], k and v [B, Hkv, S, D], the result [B, H, S, D] in q's dtype.",
    ...params
      .filter((x) => x.kind === "docs")
      .map((x) => `${x.name} (int32 [S] document ids) has no default: pass yours (random_docs() makes an example).`),
    ...(p.spec ? [] : [`The problem "${p.problem}" was not found when exporting: pass its params by name.`]),
    "",
    "Usage (runs as written):",
    "",
    ...usage(p, params, moduleName).map((l) => `    ${l}`),
    "",
    "Provenance:",
    `    run:       ${p.runId}`,
    `    node:      ${p.nodeLabel} (${p.nodeId}): ${oneLine(p.title)}`,
    `    speedup:   ${v.speedup === null ? "not timed" : `${v.speedup.toFixed(2)}x vs ${p.spec?.baseline ?? "baseline"} (geometric mean over benchmark shapes)`}`,
    `    TFLOP/s:   ${v.tflops === null ? "not timed" : v.tflops.toFixed(0)}`,
    ...perShape.map((s, i) => `    ${i === 0 ? "per shape: " : "           "}${s}`),
    `    correct:   ${v.checks.filter((c) => c.passed).length}/${v.checks.length} checks (shapes x seeds) within 2x the bf16 reference's error`,
    `    device:    ${v.gpu ?? (p.spec?.device === "cpu" ? "CPU" : "unknown")}`,
    `    verified:  ${new Date(p.verifiedAt).toISOString()}`,
    `    exported:  ${new Date(p.exportedAt).toISOString()}`,
    "",
    `Re-export rather than edit: kforge export ${p.runId} --node ${p.nodeLabel}`,
  ];
  // Titles and descriptions come from a model or a user: nothing in them may end the docstring early.
  const safe = lines.map((l) => l.replace(/\\/g, "\\\\").replace(/"""/g, '\\"""'));
  return `"""${safe.join("\n")}\n"""`;
}

/** A snippet that builds inputs of the problem's first benchmark shape, on its device and dtype, and calls the kernel. */
function usage(p: Provenance, params: ParamPlan[], moduleName: string): string[] {
  const shape: AttentionShape = p.spec?.shapes.benchmark[0] ?? p.verify.timings[0]?.shape ?? { B: 1, H: 2, S: 64, D: 64 };
  const device = p.spec?.device ?? "cuda";
  const dims = (h: number) => `${shape.B}, ${h}, ${shape.S}, ${shape.D}`;
  const opts = `dtype=torch.bfloat16, device="${device}"`;
  const passed = params
    .filter((x) => x.kind === "docs")
    .map((x) => `${x.name}=random_docs(${shape.S}, ${x.kind === "docs" ? x.count : 1}, device="${device}")`);
  const imports = [moduleName, ...(passed.length ? ["random_docs"] : [])];
  return [
    "import torch",
    isModuleName(moduleName)
      ? `from ${moduleName} import ${imports.length > 1 ? `attention, ${imports.slice(1).join(", ")}` : "attention"}`
      : `# rename the file to a Python module name, then: from NAME import attention`,
    `q = torch.randn(${dims(shape.H)}, ${opts})`,
    `k = torch.randn(${dims(shape.Hkv ?? shape.H)}, ${opts})`,
    `v = torch.randn(${dims(shape.Hkv ?? shape.H)}, ${opts})`,
    `out = attention(q, k, v${passed.map((a) => `, ${a}`).join("")})`,
  ];
}

/** The module's `attention`: the kernel's own, renamed, behind a signature with the problem's defaults. */
function entryPoint(p: Provenance, params: ParamPlan[]): string {
  const sig = [
    "q",
    "k",
    "v",
    "*",
    "scale=None",
    ...params.map((x) => (x.kind === "literal" ? `${x.name}=${x.value}` : x.kind === "alibi" ? `${x.name}=None` : x.name)),
    ...(p.spec ? [] : ["**params"]),
  ];
  const helpers = [...new Set(params.filter((x) => x.kind !== "literal").map((x) => x.kind as "alibi" | "docs"))].map((k) => HELPERS[k]);
  const body = [
    `    """${oneLine(p.problem)} attention (the verified kernel above) with the problem's params as defaults."""`,
    "    if scale is None:",
    "        scale = q.shape[-1] ** -0.5",
    ...params
      .filter((x) => x.kind === "alibi")
      .flatMap((x) => [`    if ${x.name} is None:`, `        ${x.name} = alibi_slopes(q.shape[1], device=q.device)`]),
    `    return _kforge_kernel(q, k, v, scale=scale${params.map((x) => `, ${x.name}=${x.name}`).join("")}${p.spec ? "" : ", **params"})`,
  ];
  return [
    "# ---- kforge: the drop-in entry point (the kernel above is unchanged) ----",
    "import torch as _torch  # noqa: E402",
    "",
    "_kforge_kernel = attention",
    "",
    ...helpers.flatMap((h) => ["", h, ""]),
    "",
    `def attention(${sig.join(", ")}):`,
    ...body,
  ].join("\n");
}

function meta(p: Provenance, moduleName: string): string {
  const v = p.verify;
  const fields: Record<string, string | number | null> = {
    problem: p.problem,
    run: p.runId,
    node: p.nodeId,
    label: p.nodeLabel,
    speedup: v.speedup,
    baseline: p.spec?.baseline ?? null,
    tflops: v.tflops,
    gpu: v.gpu ?? null,
    device: p.spec?.device ?? null,
    verified_at: new Date(p.verifiedAt).toISOString(),
    exported_at: new Date(p.exportedAt).toISOString(),
  };
  const item = (x: string | number | null) =>
    x === null ? "None" : typeof x === "number" ? (Number.isFinite(x) ? String(x) : "None") : JSON.stringify(x);
  return `# Provenance, readable by code: ${moduleName}.__kforge__["speedup"]\n__kforge__ = {\n${Object.entries(fields)
    .map(([k, x]) => `    ${JSON.stringify(k)}: ${item(x)},`)
    .join("\n")}\n}`;
}

/**
 * `from __future__` imports must open a module; with a docstring put before the kernel, they move up
 * to just after it (and the kernel's own docstring, if any, stays as a harmless string statement).
 */
function hoistFutureImports(source: string): { hoisted: string[]; body: string } {
  const hoisted: string[] = [];
  const body = source
    .split("\n")
    .filter((line) => {
      const future = /^from __future__ import [\w, ()]+$/.test(line.trim()) && !/^\s/.test(line);
      if (future) hoisted.push(line);
      return !future;
    })
    .join("\n");
  return { hoisted, body };
}

/** A JSON number as the Python literal the verifier passed it as (30 stays an int, 0.5 a float). */
function pyNumber(n: number): string {
  return String(n);
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}
