"""FlexAttention on every variant file of this folder: runs / why not, error against an eager float32
reference of the same mods, time and TFLOP/s, written as JSON (and a markdown table) under $OUT.

    python3 bench/variants/flex_check.py                          # every variant, its benchmark shapes, CUDA
    python3 bench/variants/flex_check.py --variants natten,softcap --check-rows 1024
    python3 bench/variants/flex_check.py --part 2/4               # the second quarter (device commands stop at 10 min)
    python3 bench/variants/flex_check.py --device cpu --tiny      # CPU smoke: one small shape per variant

Needs PyTorch with torch.nn.attention.flex_attention (2.5+) and, on CUDA, Triton. No network, no kforge.
A variant file (README.md here): module-level score_mod / mask_mod, or one generate_<name>(...) factory
called with the keywords it names among B, H, S, S_kv, D, device plus KFORGE["params"], returning
{"score_mod", "mask_mod", "tensors"}; KFORGE["shapes"] lists its benchmark shapes.
"""
import argparse
import contextlib
import glob
import importlib.util
import inspect
import json
import math
import os
import statistics
import sys
import time
import traceback

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
NOT_VARIANTS = {"flex_check", "eval_mods", "aggregate"}  # the tools of this folder
TINY = {"B": 1, "H": 2, "S": 256, "D": 32}
SHAPE_KEYS = {"B", "H", "S", "D", "Skv", "Hkv"}  # as in problem.json
REF_ELEMENTS = 1 << 23  # scores per reference chunk: bounds the eager reference's memory


def variant_paths(names=None, part=None):
    """The variant files of this folder (every .py but the tools), optionally only the named ones, or the k-th
    of n consecutive parts (part "k/n"; the first len % n parts one longer, as bench/variants/run.sh splits)."""
    paths = sorted(p for p in glob.glob(os.path.join(HERE, "*.py")) if os.path.basename(p)[:-3] not in NOT_VARIANTS)
    if names:
        by = {os.path.basename(p)[:-3]: p for p in paths}
        unknown = [n for n in names if n not in by]
        if unknown:
            raise SystemExit(f"unknown variants: {', '.join(unknown)} (have: {', '.join(by)})")
        paths = [by[n] for n in names]
    if part:
        k, _, n = part.partition("/")
        if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
            raise SystemExit(f"--part must be k/n with 1 <= k <= n (got {part!r})")
        k, n = int(k), int(n)
        size, extra = divmod(len(paths), n)
        start = (k - 1) * size + min(k - 1, extra)
        paths = paths[start:start + size + (1 if k - 1 < extra else 0)]
    return paths


def load_variant(path):
    """Imports a variant file as a module of its own name."""
    name = os.path.basename(path)[:-3]
    spec = importlib.util.spec_from_file_location(f"kforge_variant_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # torch.compile re-imports a mod's module by name to read its globals
    spec.loader.exec_module(module)
    return module


def spec_of(module):
    """KFORGE of a variant: shapes (benchmark), params, correctness (small shapes), checked."""
    spec = getattr(module, "KFORGE", None)
    if not isinstance(spec, dict) or not spec.get("shapes"):
        raise ValueError("the file has no KFORGE = {'shapes': [...], 'params': {...}} dict")
    for shape in spec["shapes"] + spec.get("correctness", []):
        if not isinstance(shape, dict) or not {"B", "H", "S", "D"} <= set(shape) or set(shape) - SHAPE_KEYS:
            raise ValueError(f"bad shape {shape!r}: keys B, H, S, D and optionally Skv, Hkv")
    return {"shapes": spec["shapes"], "params": dict(spec.get("params", {})), "correctness": spec.get("correctness", [])}


def factory_of(module, stem):
    """The module's generate_* function (generate_<stem> when it has several), or None."""
    found = {n: f for n, f in vars(module).items()
             if n.startswith("generate_") and inspect.isfunction(f) and f.__module__ == module.__name__}
    if len(found) > 1:
        if f"generate_{stem}" not in found:
            raise ValueError(f"several factories ({', '.join(found)}) and none named generate_{stem}")
        return found[f"generate_{stem}"]
    return next(iter(found.values()), None)


def build(module, stem, shape, device, params):
    """(score_mod, mask_mod, tensors) of a variant for one shape."""
    factory = factory_of(module, stem)
    if factory is None:
        score_mod, mask_mod, tensors = getattr(module, "score_mod", None), getattr(module, "mask_mod", None), {}
    else:
        offered = {"B": shape["B"], "H": shape["H"], "S": shape["S"], "S_kv": shape.get("Skv", shape["S"]),
                   "D": shape["D"], "Hkv": shape.get("Hkv", shape["H"]), "device": device}
        named = inspect.signature(factory).parameters
        kwargs = {k: v for k, v in offered.items() if k in named}
        kwargs.update(params)
        out = factory(**kwargs)
        if not isinstance(out, dict):
            raise TypeError(f"{factory.__name__} returned {type(out).__name__}, expected a dict with score_mod / mask_mod / tensors")
        score_mod, mask_mod, tensors = out.get("score_mod"), out.get("mask_mod"), out.get("tensors") or {}
    if score_mod is None and mask_mod is None:
        raise ValueError("no score_mod and no mask_mod")
    return score_mod, mask_mod, tensors


@contextlib.contextmanager
def _index_by_tensors_1x():
    """For a torch without FlexAttention's own context (1.x, which does not route __getitem__ through
    torch-function modes): x[i, j] with index tensors only becomes aten.index while inside, int32 indices
    widened as old torch needs, so vmap can batch it."""
    plain = torch.Tensor.__getitem__

    def getitem(self, idx):
        parts = idx if isinstance(idx, tuple) else (idx,)
        if all(isinstance(i, torch.Tensor) for i in parts):
            return torch.ops.aten.index(self, [i.long() if i.dtype == torch.int32 else i for i in parts])
        return plain(self, idx)

    torch.Tensor.__getitem__ = getitem
    try:
        yield
    finally:
        torch.Tensor.__getitem__ = plain


def index_by_tensors():
    """FlexAttention's own context that turns tensor[idx_tensor] into index ops vmap can batch."""
    for where in ("torch._dynamo._trace_wrapped_higher_order_op", "torch._higher_order_ops.flex_attention"):
        try:
            return getattr(importlib.import_module(where), "TransformGetItemToIndex")()
        except (ImportError, AttributeError):
            continue
    return _index_by_tensors_1x()


def vmapped(fn, with_score):
    """fn over [h, q, kv] grids, b fixed, the way FlexAttention evaluates mods (one scalar per lane)."""
    try:
        from torch.func import vmap
    except ImportError:  # torch 1.13: the eager reference still runs (the CPU tests use it)
        from functorch import vmap
    lead = (0,) if with_score else ()
    for dims in ((None, None, None, 0), (None, None, 0, None), (None, 0, None, None)):
        fn = vmap(fn, in_dims=lead + dims)
    return fn


def reference(q, k, v, score_mod, mask_mod, scale, rows, dtype):
    """Attention with the mods evaluated eagerly, in `dtype`, for the query rows `rows`; also the kept-pair count."""
    B, H, _, _ = q.shape
    group = H // k.shape[1]
    k, v = k.repeat_interleave(group, dim=1).to(dtype), v.repeat_interleave(group, dim=1).to(dtype)
    s_kv = k.shape[2]
    out = torch.empty(B, H, len(rows), v.shape[-1], dtype=dtype, device=q.device)
    heads, kv_idx = torch.arange(H, device=q.device), torch.arange(s_kv, device=q.device)
    score_fn = vmapped(score_mod, True) if score_mod else None
    mask_fn = vmapped(mask_mod, False) if mask_mod else None
    step = max(1, REF_ELEMENTS // (H * s_kv))
    kept = 0
    for b in range(B):
        b_idx = torch.tensor(b, device=q.device)
        for at in range(0, len(rows), step):
            q_idx = rows[at:at + step]
            s = (q[b][:, q_idx].to(dtype) @ k[b].transpose(-1, -2)) * scale
            with index_by_tensors():
                if score_fn:
                    s = score_fn(s, b_idx, heads, q_idx, kv_idx)
                keep = mask_fn(b_idx, heads, q_idx, kv_idx).expand_as(s) if mask_fn else None
            if keep is not None:
                kept += int(keep.sum())
                s = s.masked_fill(~keep, float("-inf"))
            else:
                kept += s.numel()
            p = torch.softmax(s, dim=-1).nan_to_num(0.0)  # a row with nothing kept gives 0, as FlexAttention does
            out[b][:, at:at + step] = (p.to(dtype) @ v[b]).to(dtype)
    return out, kept


def depends_on_batch_or_head(mask_mod, shape, device):
    """Whether the mask differs across b or h (then the block mask needs them), probed on a few rows."""
    B, H, S, s_kv = shape["B"], shape["H"], shape["S"], shape.get("Skv", shape["S"])
    if B == 1 and H == 1:
        return False
    rows = torch.linspace(0, S - 1, steps=min(S, 64), device=device).long().unique()
    kv = torch.arange(s_kv, device=device)
    fn = vmapped(mask_mod, False)
    with index_by_tensors():
        first = fn(torch.tensor(0, device=device), torch.zeros(1, dtype=torch.long, device=device), rows, kv)
        for b in range(B):
            every = fn(torch.tensor(b, device=device), torch.arange(H, device=device), rows, kv)
            if not bool((every == first).all()):
                return True
    return False


def timed_ms(fn, device, samples=25, target_ms=5.0):
    """Median ms of one call: batches of back-to-back calls between CUDA events (perf_counter on CPU)."""
    def clock(n):
        if device == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(n):
                fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end)
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t0) * 1e3

    for _ in range(3):
        fn()
    est = clock(1)
    batch = max(1, min(32, math.ceil(target_ms / max(est, 1e-3))))
    return statistics.median(clock(batch) / batch for _ in range(samples))


def check_shape(flex, create_block_mask, module, stem, spec, shape, device, dtype, check_rows):
    """One shape of one variant: a dict with runs, why_not, errors, ms and TFLOP/s."""
    B, H, S, D = shape["B"], shape["H"], shape["S"], shape["D"]
    s_kv, h_kv = shape.get("Skv", S), shape.get("Hkv", H)
    rec = {"shape": shape, "runs": False, "correct": False, "why_not": None}
    stage = "building the mods"
    try:
        score_mod, mask_mod, tensors = build(module, stem, shape, device, spec["params"])
        rec["tensors"] = {n: f"{str(t.dtype).replace('torch.', '')}{list(t.shape)}" for n, t in tensors.items()}
        gen = torch.Generator(device=device).manual_seed(0)
        q = torch.randn(B, H, S, D, device=device, dtype=dtype, generator=gen)
        k = torch.randn(B, h_kv, s_kv, D, device=device, dtype=dtype, generator=gen)
        v = torch.randn(B, h_kv, s_kv, D, device=device, dtype=dtype, generator=gen)
        block_mask, rec["block_density"] = None, 1.0
        if mask_mod is not None:
            stage = "create_block_mask"
            t0 = time.perf_counter()
            per_bh = depends_on_batch_or_head(mask_mod, shape, device)
            dims = (B, H) if per_bh else (None, None)
            try:  # compiled: the [B, H, S, S_kv] mask is never materialised
                block_mask = create_block_mask(mask_mod, *dims, S, s_kv, device=device, _compile=True)
            except Exception as exc:  # noqa: BLE001 - a torch without _compile, or a mask its compiler rejects
                rec["mask_note"] = f"create_block_mask(_compile=True) failed ({type(exc).__name__}: {str(exc)[:200]}); built eagerly"
                block_mask = create_block_mask(mask_mod, *dims, S, s_kv, device=device)
            rec["mask_s"] = round(time.perf_counter() - t0, 2)
            counts = block_mask.kv_num_blocks.sum() + (block_mask.full_kv_num_blocks.sum() if block_mask.full_kv_num_blocks is not None else 0)
            n_q, n_kv = block_mask.kv_indices.shape[-2], block_mask.kv_indices.shape[-1]
            rec["block_density"] = float(counts) / (block_mask.kv_num_blocks.numel() * n_kv) if n_q else 0.0
        stage = "compiled flex_attention"
        gqa = {"enable_gqa": True} if h_kv != H else {}
        call = lambda: flex(q, k, v, score_mod=score_mod, block_mask=block_mask, **gqa)  # noqa: E731
        t0 = time.perf_counter()
        out = call()
        torch.cuda.synchronize() if device == "cuda" else None
        rec["compile_s"] = round(time.perf_counter() - t0, 2)
        stage = "the eager reference"
        rows = torch.arange(S, device=device)
        if check_rows and check_rows < S:
            rows = torch.linspace(0, S - 1, steps=check_rows, device=device).long().unique()
        scale = 1.0 / math.sqrt(D)
        golden, kept = reference(q, k, v, score_mod, mask_mod, scale, rows, torch.float32)
        lowprec, _ = reference(q, k, v, score_mod, mask_mod, scale, rows, dtype)
        got = out[:, :, rows].float()
        rec["density"] = kept / float(B * H * len(rows) * s_kv)
        rec["max_err"] = float((got - golden).abs().max())
        rec["lowprec_err"] = float((lowprec.float() - golden).abs().max())
        rec["tolerance"] = 2 * rec["lowprec_err"] + 1e-3  # the FlashAttention test rule, as the verifier uses it
        rec["finite"] = bool(torch.isfinite(out).all())
        rec["correct"] = rec["finite"] and rec["max_err"] <= rec["tolerance"]
        rec["checked_rows"] = len(rows)
        stage = "timing"
        rec["ms"] = timed_ms(call, device)
        work = 4.0 * B * H * S * s_kv * D
        rec["tflops"] = work * rec["density"] / (rec["ms"] * 1e-3) / 1e12
        rec["tflops_block"] = work * rec["block_density"] / (rec["ms"] * 1e-3) / 1e12
        rec["runs"] = True
        if not rec["correct"]:
            rec["why_not"] = f"wrong output: max error {rec['max_err']:.3g} > tolerance {rec['tolerance']:.3g}"
    except Exception as exc:  # noqa: BLE001 - every failure is a result of this variant
        last = traceback.extract_tb(exc.__traceback__)[-1]
        rec["why_not"] = f"{stage} failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ''} ({os.path.basename(last.filename)}:{last.lineno})"
    finally:
        if device == "cuda":
            torch.cuda.empty_cache()
    return rec


def markdown(results, env):
    lines = ["# FlexAttention on the attention-gym variants", "", f"- {env}", "",
             "| variant | shape | runs | correct | max err (tol) | ms | TFLOP/s | density (block) | why not |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for s in r["shapes"] or [{"shape": {}, "why_not": r.get("why_not")}]:
            sh = s["shape"]
            label = f"{sh.get('B')}x{sh.get('H')}x{sh.get('S')}" + (f":{sh['Skv']}" if "Skv" in sh else "") + f"x{sh.get('D')}" if sh else "–"
            err = f"{s['max_err']:.2e} ({s['tolerance']:.1e})" if "max_err" in s else "–"
            dens = f"{s['density']:.3f} ({s['block_density']:.3f})" if "density" in s else "–"
            lines.append(f"| {r['variant']} | {label} | {'yes' if s.get('runs') else 'no'} | {'yes' if s.get('correct') else 'no'} | {err} | "
                         f"{s['ms']:.3f} | {s['tflops']:.0f} | {dens} | {s.get('why_not') or ''} |" if "ms" in s else
                         f"| {r['variant']} | {label} | no | no | {err} | – | – | {dens} | {s.get('why_not') or ''} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", help="comma-separated names (default: every variant file here)")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--part", help="k/n: only the k-th of n consecutive parts of the variants")
    ap.add_argument("--tiny", action="store_true", help="one small shape per variant (its first correctness shape, else 1x2x256x32)")
    ap.add_argument("--check-rows", type=int, default=0, help="check only this many query rows, spread evenly (0: all)")
    ap.add_argument("--out", default=os.environ.get("OUT", "out-flex-check"))
    a = ap.parse_args()
    try:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    except ImportError as exc:
        print(f"error: torch {torch.__version__} has no torch.nn.attention.flex_attention ({exc}); "
              "flex_check needs PyTorch 2.5 or newer (the H200 host has 2.11)", file=sys.stderr)
        return 2
    if a.device == "cuda" and not torch.cuda.is_available():
        print("error: no CUDA device; for a CPU smoke run use --device cpu --tiny", file=sys.stderr)
        return 2
    dtype = torch.bfloat16 if a.device == "cuda" else torch.float32
    for knob in ("cache_size_limit", "recompile_limit", "accumulated_cache_size_limit", "accumulated_recompile_limit"):
        if hasattr(torch._dynamo.config, knob):  # one compiled flex_attention serves every variant and shape
            setattr(torch._dynamo.config, knob, max(getattr(torch._dynamo.config, knob), 512))
    flex = torch.compile(flex_attention, dynamic=False)
    gpu = torch.cuda.get_device_name(0) if a.device == "cuda" else "cpu"
    triton = importlib.util.find_spec("triton")
    env = f"torch {torch.__version__}, triton {importlib.import_module('triton').__version__ if triton else 'none'}, {gpu}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    print(env, flush=True)
    results = []
    for path in variant_paths(a.variants.split(",") if a.variants else None, a.part):
        stem = os.path.basename(path)[:-3]
        rec = {"variant": stem, "file": os.path.relpath(path), "shapes": [], "runs": False, "why_not": None}
        try:
            module = load_variant(path)
            spec = spec_of(module)
        except Exception as exc:  # noqa: BLE001
            rec["why_not"] = f"cannot load: {type(exc).__name__}: {exc}"
            results.append(rec)
            print(f"{stem}: {rec['why_not']}", flush=True)
            continue
        shapes = [(spec["correctness"] or [TINY])[0]] if a.tiny else spec["shapes"]
        torch._dynamo.reset()
        for shape in shapes:
            s = check_shape(flex, create_block_mask, module, stem, spec, shape, a.device, dtype, a.check_rows)
            rec["shapes"].append(s)
            print(f"{stem} {shape}: " + (f"{s['ms']:.3f} ms, {s['tflops']:.0f} TFLOP/s, err {s['max_err']:.2e}" if s.get("runs") else "") +
                  (f" ({s['why_not']})" if s["why_not"] else ""), flush=True)
        rec["runs"] = all(s["runs"] and s["correct"] for s in rec["shapes"])
        rec["why_not"] = next((s["why_not"] for s in rec["shapes"] if s["why_not"]), None)
        results.append(rec)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "flex_check.json"), "w") as f:
        json.dump({"env": env, "device": a.device, "command": " ".join(sys.argv), "variants": results}, f, indent=1)
    with open(os.path.join(a.out, "flex_check.md"), "w") as f:
        f.write(markdown(results, env))
    ok = sum(r["runs"] for r in results)
    print(f"{ok} of {len(results)} variants run and are correct; wrote {a.out}/flex_check.json and flex_check.md")
    return 0 if ok == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
