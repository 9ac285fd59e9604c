"""H200 check of the template-as-source rebuild: correctness, and speed against FlexAttention and the string renderer.

    OUT=/tmp/out python3 bench/offline/template_gpu.py [--part K/N] [--cases name,...] [--no-bench]

For every case (the twelve suite problems at their default config; captured-tensor, nested-index and dilated-window
fixtures; S_q != S_kv; fp16): renders the module with tools/offline/render.py, checks it on every correctness shape
(two seeds; float64 CPU golden, the verifier's rule err <= 2 * err(low-precision reference) + atol), then on the
benchmark shapes times it with triton.testing.do_bench next to compiled FlexAttention (create_block_mask built
outside the timed region) and, for suite problems, next to the module the string renderer made before the rebuild
(bench/offline/before/, rendered at commit 32bd200 with the same default config): their ratio should be 1.00 +- noise.
Benchmark outputs are checked against a float32 golden: err <= 2 * err(flex) + atol. Writes $OUT/template_gpu.json
(one row per case and shape) and prints a table; exit 1 when any check fails.
"""
import argparse
import importlib.util
import json
import math
import os
import sys
import time
import traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "offline"))
sys.path.insert(0, os.path.join(ROOT, "tools", "verifier", "harness"))
FIX = os.path.join(ROOT, "test", "offline", "fixtures")
SUITE = ["full", "causal", "softcap", "softcap_causal", "relpos", "alibi", "alibi_causal", "sliding_window",
         "prefix_lm", "document", "gqa", "natten_2d"]
BENCH = [dict(B=4, H=16, S=4096, D=128), dict(B=2, H=32, S=8192, D=64)]
DEVICE = "cuda"  # --emulator: "cpu" (a dry run of the correctness path on the CPU Triton emulator)


def cases():
    """(label, problem folder, config, dtype, S_kv offset or fixed S_kv, benchmark shapes, benchmark param overrides)."""
    out = [(p, os.path.join(ROOT, "problems", p), {}, "bf16", None, None, {}) for p in SUITE]
    out += [(f, os.path.join(FIX, f), {}, "bf16", None, BENCH, {"window": 2048}) for f in
            ("bias_table", "nested_index", "dilated_window")]
    out.append(("calls", os.path.join(FIX, "calls"), {}, "bf16", None, [], {}))  # every lowered call: correctness only
    out.append(("dilated_window_interval", os.path.join(FIX, "dilated_window"), {"block_sparse": False}, "bf16", None,
                BENCH, {"window": 2048}))
    cross = [dict(B=4, H=16, S=1024, S_kv=4096, D=128), dict(B=2, H=32, S=2048, S_kv=8192, D=64)]
    for p in ("full", "causal", "softcap", "gqa"):
        out.append((f"{p}_skv", os.path.join(ROOT, "problems", p), {}, "bf16", 37, cross, {}))
    for p in ("full", "causal", "softcap", "alibi_causal"):
        out.append((f"{p}_fp16", os.path.join(ROOT, "problems", p), {}, "fp16", None, None, {}))
    return out


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dynamo re-imports a mod's module by name when it traces torch.* globals
    spec.loader.exec_module(mod)
    return mod


def inputs(spec, ref, shape, seed, dtype):
    import torch
    from kforge_harness.params import materialise
    g = torch.Generator(device="cpu").manual_seed(seed)
    B, H, S, D = shape["B"], shape["H"], shape["S"], shape["D"]
    hkv, skv = shape.get("Hkv", H), shape.get("S_kv", S)
    mk = lambda *s: torch.randn(*s, generator=g).to(device=DEVICE, dtype=dtype)  # noqa: E731
    q, k, v = mk(B, H, S, D), mk(B, hkv, skv, D), mk(B, hkv, skv, D)
    params = ref.make_params(dict(shape, S_kv=skv), seed) if hasattr(ref, "make_params") else \
        materialise(spec["params"], shape, "cpu", seed)
    return q, k, v, {n: (p.to(DEVICE) if torch.is_tensor(p) else p) for n, p in params.items()}, 1.0 / math.sqrt(D)


def reference(ref, q, k, v, params, scale, dtype, device):
    import torch
    cast = {n: (p.to(device=device, dtype=dtype) if torch.is_tensor(p) and p.is_floating_point()
                else p.to(device) if torch.is_tensor(p) else p) for n, p in params.items()}
    return ref.reference(q.to(device, dtype), k.to(device, dtype), v.to(device, dtype), scale=scale, **cast).double()


def correctness(mod, ref, spec, dt, skv_off, atol):
    import torch
    rows = []
    for shape in spec["shapes"]["correctness"]:
        if shape["S"] > (1600 if DEVICE == "cuda" else 100):
            continue
        shape = dict(shape, S_kv=max(1, shape["S"] + skv_off)) if skv_off else shape
        for seed in (0, 1):
            q, k, v, params, scale = inputs(spec, ref, shape, seed, dt)
            out = mod.attention(q, k, v, scale=scale, **params)
            gold = reference(ref, q, k, v, params, scale, torch.float64, "cpu")
            try:
                low = reference(ref, q, k, v, params, scale, dt, DEVICE).cpu()
            except RuntimeError:  # emulator dry run: CPU torch without fp16 matmul
                low = reference(ref, q, k, v, params, scale, torch.float32, DEVICE).to(dt).cpu()
            err = (out.double().cpu() - gold).abs().max().item()
            allow = 2 * (low - gold).abs().max().item() + atol
            rows.append(dict(shape=shape, seed=seed, err=err, allow=allow,
                             ok=bool(err <= allow and torch.isfinite(out).all().item())))
    return rows


def flex_for(ref, params, shape, device="cuda"):
    import torch
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    for knob in ("recompile_limit", "cache_size_limit", "accumulated_recompile_limit", "accumulated_cache_size_limit"):
        if hasattr(torch._dynamo.config, knob):
            setattr(torch._dynamo.config, knob, 4096)
    flex = torch.compile(flex_attention, dynamic=False)
    score_mod, mask_mod = ref.make_score_mod(**params), ref.make_mask_mod(**params)
    skv = shape.get("S_kv", shape["S"])
    bm = create_block_mask(mask_mod, shape["B"], shape["H"], shape["S"], skv, device=device) if mask_mod else None
    gqa = shape.get("Hkv", shape["H"]) != shape["H"]
    return lambda q, k, v, scale: flex(q, k, v, score_mod=score_mod, block_mask=bm, scale=scale, enable_gqa=gqa), \
        mask_mod


def bench_shape(mod, old, ref, spec, shape, dt, overrides, atol):
    import torch
    from triton.testing import do_bench
    q, k, v, params, scale = inputs(spec, ref, shape, 0, dt)
    params.update({n: o for n, o in overrides.items() if n in params})
    fx, mask_mod = flex_for(ref, params, shape)
    ours = mod.attention(q, k, v, scale=scale, **params)
    base = fx(q, k, v, scale)
    gold = reference(ref, q, k, v, params, scale, torch.float32, "cuda")
    e_ours, e_flex = (ours.double() - gold).abs().max().item(), (base.double() - gold).abs().max().item()
    del gold
    skv = shape.get("S_kv", shape["S"])
    density = 1.0
    if mask_mod is not None:
        z = torch.zeros((), dtype=torch.int64, device="cuda")
        density = mask_mod(z, z, torch.arange(shape["S"], device="cuda")[:, None],
                           torch.arange(skv, device="cuda")[None, :]).float().mean().item()
    flops = 4 * shape["B"] * shape["H"] * shape["S"] * skv * shape["D"] * density
    t = {"ours": do_bench(lambda: mod.attention(q, k, v, scale=scale, **params), warmup=25, rep=100),
         "flex": do_bench(lambda: fx(q, k, v, scale), warmup=25, rep=100)}
    if old is not None:
        t["before"] = do_bench(lambda: old.attention(q, k, v, scale=scale, **params), warmup=25, rep=100)
    row = dict(shape=shape, ms=t, err=e_ours, err_flex=e_flex, ok=bool(e_ours <= 2 * e_flex + atol),
               tflops={n: flops / (ms * 1e-3) / 1e12 for n, ms in t.items()}, x_flex=t["flex"] / t["ours"])
    if old is not None:
        row["x_before"] = t["before"] / t["ours"]
    return row


def run_case(case, tmp, do_bench_shapes):
    import torch
    label, pdir, cfg, dtype, skv_off, bench, overrides = case
    from render import render
    dt = {"bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    spec = json.load(open(os.path.join(pdir, "problem.json")))
    ref = load_module(os.path.join(pdir, "reference.py"), f"ref_{label}")
    path = os.path.join(tmp, f"{label}.py")
    with open(path, "w") as f:
        f.write(render(pdir, cfg))
    mod = load_module(path, f"cand_{label}")
    old_path = os.path.join(ROOT, "bench", "offline", "before", f"{label}.py")
    old = load_module(old_path, f"before_{label}") if os.path.exists(old_path) and not cfg else None
    atol = spec.get("atol", 1e-3)
    out = dict(case=label, config=cfg, dtype=dtype, correctness=correctness(mod, ref, spec, dt, skv_off, atol))
    if do_bench_shapes:
        out["bench"] = [bench_shape(mod, old, ref, spec, s, dt, overrides, atol)
                        for s in (spec["shapes"]["benchmark"] if bench is None else bench)]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="1/1", help="K/N: run the K-th of N equal slices of the cases")
    ap.add_argument("--cases", help="comma-separated case labels (default: all)")
    ap.add_argument("--no-bench", action="store_true", help="correctness only")
    ap.add_argument("--emulator", action="store_true", help="dry run on the CPU Triton emulator (correctness, S <= 100)")
    a = ap.parse_args()
    if a.emulator:
        global DEVICE
        DEVICE = "cpu"
        sys.path.insert(0, os.path.join(ROOT, "test", "offline", "triton_emu"))
    out_dir = os.environ.get("OUT", "/tmp/kforge_template_gpu")
    tmp = os.path.join(out_dir, "modules")
    os.makedirs(tmp, exist_ok=True)
    todo = [c for c in cases() if not a.cases or c[0] in a.cases.split(",")]
    k, n = (int(x) for x in a.part.split("/"))
    todo = todo[(k - 1) * len(todo) // n:k * len(todo) // n]
    results, bad = [], 0
    for case in todo:
        t0 = time.time()
        try:
            r = run_case(case, tmp, not (a.no_bench or a.emulator))
        except Exception as e:  # a failing case is a row of the report, the others still run
            r = dict(case=case[0], error=f"{type(e).__name__}: {e}", trace=traceback.format_exc()[-2000:])
        r["seconds"] = round(time.time() - t0, 1)
        results.append(r)
        rows_ok = [x["ok"] for x in r.get("correctness", []) + r.get("bench", [])]
        bad += ("error" in r) + rows_ok.count(False)
        line = f"{r['case']:<26} " + (f"ERROR {r['error'][:150]}" if "error" in r else
                                      f"correct {sum(rows_ok)}/{len(rows_ok)}")
        for b in r.get("bench", []):
            s = b["shape"]
            line += (f" | {s['B']}x{s['H']}x{s['S']}" + (f"/{s['S_kv']}" if "S_kv" in s else "") + f"x{s['D']}: "
                     f"{b['tflops']['ours']:.0f} TF/s, {b['x_flex']:.2f}x flex"
                     + (f", {b['x_before']:.3f}x before" if "x_before" in b else ""))
        print(line, flush=True)
        with open(os.path.join(out_dir, "template_gpu.json"), "w") as f:
            json.dump(dict(part=a.part, results=results), f, indent=1, default=str)
    print(f"template_gpu: {bad} failing", flush=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
