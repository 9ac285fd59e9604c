"""Quick H100 check of the offline template: correctness and speed against compiled FlexAttention.

    python3 bench/offline/quick_gpu.py [--problems a,b] [--set explore|final] [--budget 380] [--workers 14]
        [--check default,fixture|all] [--correctness-only]

For every problem: renders the template with a few configs (plus the hand-written fixtures for full,
causal and softcap), checks max error against a float32 golden (the problem's reference.py; the
verifier's rule: err <= 2 * err(bf16 reference) + atol on the correctness shapes, and err <= 2 * err(flex)
+ atol on the benchmark shapes), and times each with triton.testing.do_bench (median) next to
torch.compile(flex_attention) + create_block_mask in the same process. Kernels are compiled first by a
pool of worker processes (filling Triton's and Inductor's on-disk caches) so the timed pass is quick.
Prints a table and writes $OUT/quick_gpu.json (updated after every problem, so a time-out keeps results).
"""
import argparse
import importlib.util
import json
import math
import os
import sys
import tempfile
import time
import traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "offline"))
sys.path.insert(0, os.path.join(ROOT, "tools", "verifier", "harness"))
T0 = time.time()
FIXTURES = {"full": "good_full.py", "causal": "good_causal.py", "softcap": "good_softcap.py"}


def tiles(d128, d64):
    return {"tiles": {"128": dict(zip(("BLOCK_M", "BLOCK_N", "num_warps", "num_stages"), d128)),
                      "64": dict(zip(("BLOCK_M", "BLOCK_N", "num_warps", "num_stages"), d64))}}


def config_set(name, problem, feats):
    """The configs tried for a problem: label -> config dict (or a fixture path)."""
    out = {"default": {}}
    if name == "explore":
        out["t128x128"] = tiles((128, 128, 8, 2), (128, 128, 8, 3))
        out["t128x64s2"] = tiles((128, 64, 8, 2), (128, 64, 8, 3))
        out["t64x64"] = tiles((64, 64, 4, 3), (64, 64, 4, 3)) if "tanh" not in feats else \
            tiles((128, 64, 8, 3), (128, 64, 4, 3))
        out["qscale"] = {"qscale": True}
        if "tanh" in feats:
            out["online_max"] = {"static_max": False}
            out["tanh_bf16x2"] = {"tanh_bf16x2": True}
            out["bf16x2_t128"] = {"tanh_bf16x2": True, **tiles((128, 64, 8, 3), (128, 64, 4, 3))}
        elif "irregular_mask" in feats:
            out["no_skip"] = {"skip_empty": False}
        else:
            out["t128x128s3"] = tiles((128, 128, 8, 3), (64, 64, 4, 4))
    elif name == "explore2":  # second pass, after explore: around the new per-feature defaults
        if "tanh" in feats:
            out["bf16x2"] = {"tanh_bf16x2": True}
            out["bf16x2_w8"] = {"tanh_bf16x2": True, **tiles((128, 64, 8, 3), (128, 64, 8, 3))}
            out["w8"] = tiles((128, 64, 8, 3), (128, 64, 8, 3))
            out["bf16x2_s4"] = {"tanh_bf16x2": True, **tiles((64, 64, 4, 4), (128, 64, 4, 4))}
            out["online_max"] = {"static_max": False}
        elif "sparse_mask" in feats:
            out["bn32"] = tiles((64, 32, 4, 3), (64, 32, 4, 3))
            out["bm128"] = tiles((128, 64, 8, 3), (128, 64, 4, 3))
            out["s4"] = tiles((64, 64, 4, 4), (64, 64, 4, 4))
            out["bm32"] = tiles((32, 64, 4, 3), (32, 64, 4, 3))
            if "irregular_mask" in feats:
                out["skip"] = {"skip_empty": True}
        elif "score_mod" in feats:
            out["w4"] = tiles((64, 64, 4, 3), (128, 64, 4, 3))
            out["s4"] = tiles((128, 64, 8, 4), (128, 64, 8, 4))
            out["s2"] = tiles((128, 64, 8, 2), (128, 64, 8, 2))
            out["qscale"] = {"qscale": True}
        else:
            out["s4"] = tiles((128, 64, 8, 4), (128, 64, 4, 4))
            out["bn32"] = tiles((128, 32, 4, 3), (128, 32, 4, 3))
            out["bm64w4"] = tiles((64, 64, 4, 3), (64, 64, 4, 4))
            if "mask" in feats:
                out["fwd_order"] = {"reverse_m": False}
    elif name == "final":  # the defaults plus their nearest rivals, for bench/offline/NOTES.md
        if "tanh" in feats:
            out["static_max"] = {"static_max": True}
            out["w8"] = tiles((128, 64, 8, 3), (128, 64, 8, 3))
            out["s4"] = tiles((64, 64, 4, 4), (128, 64, 4, 4))
        elif "sparse_mask" in feats:
            out["bn64"] = tiles((64, 64, 4, 3), (64, 32, 4, 3))
            out["bm128"] = tiles((128, 64, 8, 3), (128, 64, 4, 3))
        elif "score_mod" in feats:
            out["w8"] = tiles((128, 64, 8, 3), (128, 64, 8, 3))
            out["s4"] = tiles((128, 64, 8, 4), (128, 64, 4, 4))
        else:
            out["s3"] = tiles((128, 64, 8, 3), (128, 64, 4, 3))
    elif name.startswith("json:"):
        out.update(json.load(open(name[5:])).get(problem, {}))
    if problem in FIXTURES:
        out["fixture"] = os.path.join(ROOT, "test", "fixtures", "kernels", FIXTURES[problem])
    return out


def log(msg):
    print(f"[{time.time() - T0:6.1f}s] {msg}", flush=True)


def module_source(problem, cfg):
    if isinstance(cfg, str):
        return open(cfg).read()
    from render import render
    return render(os.path.join(ROOT, "problems", problem), cfg)


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dynamo re-imports a mod's module by name when it traces torch.* globals
    spec.loader.exec_module(mod)
    return mod


def make_inputs(spec, shape, seed, device="cuda"):
    import torch
    from kforge_harness.params import materialise
    g = torch.Generator(device=device).manual_seed(seed)
    B, H, S, D = shape["B"], shape["H"], shape["S"], shape["D"]
    hkv = shape.get("Hkv", H)
    q = torch.randn(B, H, S, D, device=device, dtype=torch.bfloat16, generator=g)
    k = torch.randn(B, hkv, S, D, device=device, dtype=torch.bfloat16, generator=g)
    v = torch.randn(B, hkv, S, D, device=device, dtype=torch.bfloat16, generator=g)
    return q, k, v, materialise(spec["params"], shape, device, seed), 1.0 / math.sqrt(D)


def warm_task(task):
    """Worker: compile one (problem, label, shapes) by running it once; returns (key, error or None)."""
    problem, label, cfg, shapes, tmp = task
    try:
        import torch
        spec = json.load(open(os.path.join(ROOT, "problems", problem, "problem.json")))
        if label == "__flex__":
            fx = Flex(problem, spec)
            for shape in shapes:
                q, k, v, params, scale = make_inputs(spec, shape, 0)
                fx(q, k, v, params, scale)
            torch.cuda.synchronize()
            return (problem, label), None
        path = os.path.join(tmp, f"{problem}_{label}.py")
        with open(path, "w") as f:
            f.write(module_source(problem, cfg))
        mod = load_module(path, f"w_{problem}_{label}")
        for shape in shapes:
            q, k, v, params, scale = make_inputs(spec, shape, 0)
            mod.attention(q, k, v, scale=scale, **params)
        torch.cuda.synchronize()
        return (problem, label), None
    except Exception as e:  # a failing config is data for the report
        return (problem, label), f"{type(e).__name__}: {str(e)[-600:]}"


class Flex:
    """Compiled FlexAttention for a problem (score_mod/mask_mod from its reference.py)."""

    def __init__(self, problem, spec):
        import torch
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
        self.ref = load_module(os.path.join(ROOT, "problems", problem, "reference.py"), f"ref_{problem}")
        for knob in ("recompile_limit", "cache_size_limit", "accumulated_recompile_limit", "accumulated_cache_size_limit"):
            if hasattr(torch._dynamo.config, knob):  # one compiled flex per (problem, shape): never fall back to eager
                setattr(torch._dynamo.config, knob, 4096)
        self.flex = torch.compile(flex_attention, dynamic=False)
        self.create_block_mask = create_block_mask
        self.cache = {}

    def mods(self, params):
        return self.ref.make_score_mod(**params), self.ref.make_mask_mod(**params)

    def __call__(self, q, k, v, params, scale):
        score_mod, mask_mod = self.mods(params)
        S = q.shape[-2]
        key = (S, id(params.get("doc_ids")))
        bm = None
        if mask_mod is not None:
            if key not in self.cache:
                self.cache = {key: self.create_block_mask(mask_mod, None, None, S, S, device="cuda")}
            bm = self.cache[key]
        return self.flex(q, k, v, score_mod=score_mod, block_mask=bm, scale=scale,
                         enable_gqa=q.shape[1] != k.shape[1])

    def density(self, params, S):
        import torch
        _, mask_mod = self.mods(params)
        if mask_mod is None:
            return 1.0
        zero = torch.zeros((), dtype=torch.int64, device="cuda")
        idx = torch.arange(S, device="cuda")
        return mask_mod(zero, zero, idx[:, None], idx[None, :]).float().mean().item()


def golden(ref, q, k, v, params, scale, dtype):
    """The problem's reference in `dtype`, batch by batch (bounded memory at benchmark sizes)."""
    import torch
    cast = {n: (p.to(dtype) if torch.is_tensor(p) and p.is_floating_point() else p) for n, p in params.items()}
    outs = [ref.reference(q[b:b + 1].to(dtype), k[b:b + 1].to(dtype), v[b:b + 1].to(dtype), scale=scale, **cast)
            for b in range(q.shape[0])]
    return torch.cat(outs).float()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", default="")
    ap.add_argument("--set", default="explore")
    ap.add_argument("--budget", type=float, default=380.0)
    ap.add_argument("--workers", type=int, default=14)
    ap.add_argument("--no-correctness-shapes", action="store_true")
    ap.add_argument("--check", default="default,fixture",
                    help="labels checked on the correctness shapes (comma list; 'all' for every label)")
    ap.add_argument("--correctness-only", action="store_true", help="check the correctness shapes, time nothing")
    ap.add_argument("--verifier-timing", action="store_true",
                    help="also time flex and every config the verifier's way (kforge_harness.timing: batches of "
                         "back-to-back calls between events, three rotated input sets), next to do_bench")
    a = ap.parse_args()
    import torch
    import triton
    import multiprocessing as mp
    from render import features_of, load_problem

    out_dir = os.environ.get("OUT", "/tmp")
    problems = [p for p in a.problems.split(",") if p] or sorted(
        d for d in os.listdir(os.path.join(ROOT, "problems")) if os.path.isfile(os.path.join(ROOT, "problems", d, "problem.json")))
    tmp = tempfile.mkdtemp(prefix="kforge_quick_")
    plan, tasks = {}, []
    for p in problems:
        spec = json.load(open(os.path.join(ROOT, "problems", p, "problem.json")))
        _, mods, params = load_problem(os.path.join(ROOT, "problems", p))
        feats = features_of(mods, params)
        plan[p] = (spec, config_set(a.set, p, feats))
        bench = spec["shapes"]["benchmark"]
        if not a.correctness_only:
            tasks.append((p, "__flex__", None, bench, tmp))
        for label, cfg in plan[p][1].items():
            checked = not a.no_correctness_shapes and (a.check == "all" or label in a.check.split(","))
            shapes = ([] if a.correctness_only else bench) + (spec["shapes"]["correctness"] if checked else [])
            tasks.append((p, label, cfg, shapes, tmp))
    log(f"{torch.cuda.get_device_name()} torch {torch.__version__} triton {triton.__version__}; {len(tasks)} warm tasks")
    errors = {}
    ctx = mp.get_context("spawn")
    with ctx.Pool(a.workers) as pool:
        for key, err in pool.imap_unordered(warm_task, tasks):
            if err:
                errors[key] = err
                log(f"warm {key}: {err[:300]}")
    log(f"warm done, {len(errors)} errors")

    results = {"machine": f"{torch.cuda.get_device_name()}, torch {torch.__version__}, triton {triton.__version__}",
               "date": time.strftime("%Y-%m-%d"), "command": " ".join(sys.argv), "rows": [], "errors":
               {f"{k[0]}/{k[1]}": v for k, v in errors.items()}}
    for p in problems:
        if time.time() - T0 > a.budget:
            log(f"budget spent, skipping {p}")
            continue
        try:
            run_problem(p, plan[p], errors, tmp, results, a)
        except Exception:
            log(f"{p}: {traceback.format_exc()[-800:]}")
        with open(os.path.join(out_dir, "quick_gpu.json"), "w") as f:
            json.dump(results, f, indent=1)
    print_table(results["rows"])


def run_problem(p, plan, errors, tmp, results, a):
    import torch
    from triton.testing import do_bench
    spec, configs = plan
    fx = Flex(p, spec)
    mods = {}
    for label, cfg in configs.items():
        if (p, label) in errors:
            continue
        path = os.path.join(tmp, f"{p}_{label}.py")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(module_source(p, cfg))
        mods[label] = load_module(path, f"m_{p}_{label}")
    if not a.no_correctness_shapes:
        for label in mods:
            if not (a.check == "all" or label in a.check.split(",")):
                continue
            worst = None
            for shape in spec["shapes"]["correctness"]:
                for seed in (1, 2):
                    q, k, v, params, scale = make_inputs(spec, shape, seed)
                    out = mods[label].attention(q, k, v, scale=scale, **params).float()
                    gold = golden(fx.ref, q, k, v, params, scale, torch.float32)
                    low = golden(fx.ref, q, k, v, params, scale, torch.bfloat16)
                    err = (out - gold).abs().max().item()
                    allow = 2 * (low - gold).abs().max().item() + spec.get("atol", 1e-3)
                    ok = err <= allow and bool(torch.isfinite(out).all())
                    if worst is None or not ok or err / allow > worst[0]:
                        worst = (err / allow, shape, err, allow, ok)
                    if not ok:
                        break
            results["rows"].append({"problem": p, "config": label, "kind": "correctness", "ok": worst[4],
                                    "worst_shape": worst[1], "err": worst[2], "allow": worst[3]})
            log(f"{p}/{label} correctness ok={worst[4]} worst {worst[1]} err {worst[2]:.4g} allow {worst[3]:.4g}")
    if a.correctness_only:
        return
    for shape in spec["shapes"]["benchmark"]:
        q, k, v, params, scale = make_inputs(spec, shape, 0)
        B, H, S, D = shape["B"], shape["H"], shape["S"], shape["D"]
        dens = fx.density(params, S)
        flops = 4.0 * B * H * S * S * D * dens
        ref_out = fx(q, k, v, params, scale).float()
        gold = golden(fx.ref, q, k, v, params, scale, torch.float32)
        flex_err = (ref_out - gold).abs().max().item()
        flex_ms = do_bench(lambda: fx(q, k, v, params, scale), warmup=25, rep=100, return_mode="median")
        sets = None
        if a.verifier_timing:
            sets = [(q, k, v)] + [make_inputs(spec, shape, s)[:3] for s in (1, 2)]
            v2 = lambda f: verifier_ms(lambda i: f(*sets[i]), len(sets))  # noqa: E731
        base = {"problem": p, "shape": [B, H, shape.get("Hkv", H), S, D], "density": dens, "flex_ms": flex_ms,
                "flex_tflops": flops / flex_ms / 1e9, "flex_err": flex_err}
        if p in ("full", "causal"):
            from torch.nn.attention import SDPBackend, sdpa_kernel
            with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
                f = lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=p == "causal", scale=scale)  # noqa: E731
                base["cudnn_ms"] = do_bench(f, warmup=25, rep=100, return_mode="median")
                base["cudnn_tflops"] = flops / base["cudnn_ms"] / 1e9
        if sets:
            base["flex_ms_v2"] = v2(lambda q_, k_, v_: fx(q_, k_, v_, params, scale))
        log(f"{p} {base['shape']} flex {flex_ms:.3f} ms {base['flex_tflops']:.0f} TF/s err {flex_err:.3g}"
            + (f" (verifier timing {base['flex_ms_v2']:.3f} ms)" if sets else ""))
        for label, mod in mods.items():
            row = dict(base, config=label, kind="bench")
            try:
                out = mod.attention(q, k, v, scale=scale, **params).float()
                err = (out - gold).abs().max().item()
                row["err"] = err
                row["ok"] = err <= 2 * flex_err + spec.get("atol", 1e-3) and bool(torch.isfinite(out).all())
                ms = do_bench(lambda: mod.attention(q, k, v, scale=scale, **params), warmup=25, rep=100,
                              return_mode="median")
                row.update(ms=ms, tflops=flops / ms / 1e9, speedup=flex_ms / ms)
                if sets:
                    row["ms_v2"] = v2(lambda q_, k_, v_: mod.attention(q_, k_, v_, scale=scale, **params))
                    row["speedup_v2"] = base["flex_ms_v2"] / row["ms_v2"]
                log(f"  {label:12s} {ms:.3f} ms {row['tflops']:.0f} TF/s x{row['speedup']:.2f} err {err:.3g} ok={row['ok']}"
                    + (f" | verifier timing {row['ms_v2']:.3f} ms x{row['speedup_v2']:.2f}" if sets else ""))
            except Exception as e:
                row["error"] = f"{type(e).__name__}: {str(e)[-300:]}"
                log(f"  {label}: {row['error']}")
            results["rows"].append(row)
        # Drop this shape's tensors before the next one is made (assignment, not del: the closures above name them).
        q = k = v = gold = ref_out = sets = None
        torch.cuda.empty_cache()


def verifier_ms(call, n_sets):
    """The verifier's timing (kforge_harness.timing, the method searches use): median ms per call."""
    from kforge_harness import timing
    return timing.summarize(timing.time_runs(call, n_sets, "cuda", budget_s=1.0))["ms"]


def print_table(rows):
    """Markdown: per problem and shape, flex, the default config, the best config, the fixture and cuDNN."""
    by = {}
    for r in rows:
        if r.get("kind") == "bench" and "ms" in r:
            by.setdefault((r["problem"], tuple(r["shape"])), []).append(r)
    print("\n| problem | B,H,Hkv,S,D | flex TF/s | default TF/s (x flex) | best config | best TF/s (x flex) | fixture TF/s | cuDNN TF/s |")
    print("|---|---|---|---|---|---|---|---|")
    sd, sb = [], []
    for (p, shape), rs in sorted(by.items()):
        ok = [r for r in rs if r.get("ok") and r["config"] != "fixture"]
        d = next((r for r in ok if r["config"] == "default"), None)
        b = max(ok, key=lambda r: r["speedup"]) if ok else None
        fx = next((r for r in rs if r["config"] == "fixture" and r.get("ok")), None)
        base = rs[0]
        if d:
            sd.append(d["speedup"])
        if b:
            sb.append(b["speedup"])
        cell = lambda r: f"{r['tflops']:.0f} ({r['speedup']:.2f}x)" if r else "-"  # noqa: E731
        print(f"| {p} | {','.join(map(str, shape))} | {base['flex_tflops']:.0f} | {cell(d)} | {b['config'] if b else '-'} | "
              f"{cell(b)} | {cell(fx)} | {base.get('cudnn_tflops', 0) and round(base['cudnn_tflops']) or '-'} |")
    g = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")  # noqa: E731
    print(f"\ngeometric mean x flex: default {g(sd):.3f} (min {min(sd, default=0):.2f}), best-of-set {g(sb):.3f} "
          f"(min {min(sb, default=0):.2f}) over {len(sb)} rows")


if __name__ == "__main__":
    main()
