"""On the GPU host: did the pipelined variants really keep a wgmma in flight across the softmax?

    OUT=/tmp/out python3 bench/offline/pipeline_asm.py [--problem full] [--labels default,pv_defer,qk_ahead]

Compiles the default module and each variant (bench/offline/pipeline_variants.py) at D=128 and D=64, writes
Triton's TTGIR, PTX and SASS to $OUT/asm/, and prints one block per kernel:
  regs/spills, and ptxas's "Potential Performance Loss" notes (wgmma serialisation) from re-assembling the PTX;
  ttgir: the ops of the kernel in order (dots, dot waits with their pendings, exp2 runs, loops `for{ ... }`);
  sass:  the same for the machine code (HGMMA, WARPGROUP.DEPBAR waits, MUFU.EX2 runs, loop labels);
  overlap: how many exp2 run while a dot is still in flight (issued and not yet waited for), in TTGIR and in SASS.
The default kernel shows 0 (softmax strictly between the waits); pv_defer should show its softmax's exp2s in flight
in both, unless ptxas serialised the wgmmas (then sass shows a DEPBAR right after each HGMMA group and a C75xx note).
"""
import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "offline"))
sys.path.insert(0, os.path.join(ROOT, "tools", "verifier", "harness"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def tool(name):
    """Path of one of Triton's bundled NVIDIA tools (ptxas, cuobjdump), honouring TRITON_<NAME>_PATH."""
    import triton
    try:
        from triton import knobs
        return getattr(knobs.nvidia, name).path
    except Exception:  # older layouts
        path = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", name)
        return path if os.path.exists(path) else name


def compress(tokens):
    """['e', 'e', 'e', 'W0'] -> 'e*3 W0'."""
    out = []
    for t in tokens:
        if out and out[-1][0] == t:
            out[-1][1] += 1
        else:
            out.append([t, 1])
    return " ".join(t if n == 1 else f"{t}*{n}" for t, n in out)


def ttgir_tokens(text):
    """Ops of the kernel function in order; `for{` / `if{` / `}` mark regions."""
    toks, stack = [], []
    body = text[text.index("tt.func public @_attn_fwd"):]
    for line in body.splitlines()[1:]:
        s = line.strip()
        if s.startswith("tt.func"):
            break
        m = re.search(r"ttng\.warp_group_dot_wait .*pendings = (\d+)", s)
        if m:
            toks.append(f"wait{m.group(1)}")
        elif "ttng.warp_group_dot " in s:
            shape = re.search(r"-> tensor<(\d+)x(\d+)x", s)
            toks.append(f"dot{shape.group(1)}x{shape.group(2)}" if shape else "dot")
        elif "math.exp2" in s:
            toks.append("exp2")
        elif "ttg.async_wait" in s:
            toks.append("cp.wait")
        net = s.count("{") - s.count("}")
        if net > 0:
            kind = "for{" if " scf.for " in f" {s}" else "if{" if "scf.if" in s else None
            stack.append(kind)
            if kind:
                toks.append(kind)
        elif net < 0:
            for _ in range(-net):
                if stack and stack.pop():
                    toks.append("}")
    return toks


def sass_tokens(text):
    """HGMMA (G), WARPGROUP.DEPBAR waits (W<n>), MUFU.EX2 (e), BAR.SYNC (B); loop heads (L) and back edges (^L)."""
    ins = [(int(m.group(1), 16), m.group(2)) for m in re.finditer(r"/\*([0-9a-f]{4,})\*/\s+([^;]*);", text)]
    heads = {int(t, 16) for a, s in ins for t in re.findall(r"\bBRA (?:`?\(?)?(0x[0-9a-f]+)", s) if int(t, 16) < a}
    toks = []
    for addr, s in ins:
        if addr in heads:
            toks.append("L")
        if "HGMMA" in s:
            toks.append("G")
        elif "WARPGROUP.DEPBAR" in s:
            m = re.search(r"gsb0, (0x[0-9a-f]+)", s)
            toks.append(f"W{int(m.group(1), 16) if m else '?'}")
        elif "MUFU.EX2" in s:
            toks.append("e")
        elif "BAR.SYNC" in s:
            toks.append("B")
        elif re.search(r"\bBRA\b", s):
            t = re.search(r"0x[0-9a-f]+", s)
            if t and int(t.group(0), 16) < addr:
                toks.append("^L")
    return toks


def in_flight_exp2(tokens, is_dot, is_wait, is_exp):
    """Most exp2 ops seen between a dot issue and the next wait (a dot directly followed by a wait is synchronous)."""
    best = run = 0
    flying = False
    for i, t in enumerate(tokens):
        if is_dot(t):
            nxt = next((u for u in tokens[i + 1:] if not is_dot(u)), "")
            flying = flying or not is_wait(nxt)
        elif is_wait(t):
            best, run, flying = max(best, run), 0, False
        elif is_exp(t) and flying:
            run += 1
    return max(best, run)


def kernels(mod):
    return [k for c in mod._attn_fwd.device_caches.values() for k in c[0].values()]


def analyse(problem, label, d, out_dir):
    import torch
    from pipeline_variants import variant_source
    from quick_gpu import load_module
    from render import render
    src = render(os.path.join(ROOT, "problems", problem), {}) if label == "default" else variant_source(problem, label)
    path = os.path.join(out_dir, f"{problem}_{label}.py")
    with open(path, "w") as f:
        f.write(src)
    mod = load_module(path, f"asm_{problem}_{label}_{d}")
    from kforge_harness.params import materialise
    shape = {"B": 1, "H": 4, "Hkv": 2 if problem == "gqa" else 4, "S": 512, "D": d}  # S % 16 == 0, as benchmarked
    q = torch.randn(1, 4, 512, d, device="cuda", dtype=torch.bfloat16)
    kv = torch.randn(1, shape["Hkv"], 512, d, device="cuda", dtype=torch.bfloat16)
    spec = json.load(open(os.path.join(ROOT, "problems", problem, "problem.json")))
    mod.attention(q, kv, kv, scale=d ** -0.5, **materialise(spec.get("params", {}), shape, "cuda", 0))
    torch.cuda.synchronize()
    (k,) = kernels(mod)  # a fresh module per (label, D): one compiled kernel
    return report(k, os.path.join(out_dir, f"{problem}_{label}_d{d}"), f"{problem} {label} D={d}")


def _attr(obj, name):
    try:
        return getattr(obj, name)
    except Exception:  # n_regs needs a driver; a compile-only kernel has none
        return "?"


def report(k, base, title):
    """Writes base.{ttgir,ptx,cubin,sass}, prints the block described in the module doc, returns it as a dict."""
    for ext in ("ttgir", "ptx"):
        with open(f"{base}.{ext}", "w") as f:
            f.write(k.asm[ext])
    with open(f"{base}.cubin", "wb") as f:
        f.write(k.asm["cubin"])
    sass = subprocess.run([tool("cuobjdump"), "-sass", f"{base}.cubin"], capture_output=True, text=True).stdout
    with open(f"{base}.sass", "w") as f:
        f.write(sass)
    notes = subprocess.run([tool("ptxas"), "-v", "--gpu-name", "sm_90a", f"{base}.ptx", "-o", f"{base}.re.cubin"],
                           capture_output=True, text=True)
    lines = (notes.stdout + notes.stderr).splitlines()
    perf = sorted({ln.split("Potential Performance Loss:")[-1].strip() for ln in lines
                   if "Performance Loss" in ln or "error" in ln.lower()})
    tt, ss = ttgir_tokens(k.asm["ttgir"]), sass_tokens(sass)
    ptx_waits = re.findall(r"wgmma\.wait_group\.sync\.aligned\s+(\d+)", k.asm["ptx"])
    ov_tt = in_flight_exp2(tt, lambda t: t.startswith("dot"), lambda t: t.startswith("wait"), lambda t: t == "exp2")
    ov_ss = in_flight_exp2(ss, lambda t: t == "G", lambda t: t.startswith("W"), lambda t: t == "e")
    regs, spills = _attr(k, "n_regs"), _attr(k, "n_spills")
    print(f"== {title}: warps {k.metadata.num_warps}, regs {regs}, spills {spills}; "
          f"ptx wgmma.wait_group {len(ptx_waits)} ({compress(ptx_waits)}); sass HGMMA {ss.count('G')}, "
          f"DEPBAR {sum(t.startswith('W') for t in ss)}; overlap (exp2 with a dot in flight) ttgir {ov_tt}, "
          f"sass {ov_ss}")
    print(f"   ptxas: {'; '.join(perf) or 'no performance-loss notes'}")
    print(f"   ttgir: {compress(tt)}")
    print(f"   sass:  {compress(ss)}", flush=True)
    return {"kernel": title, "regs": regs, "spills": spills, "ptxas": perf, "overlap_ttgir": ov_tt,
            "overlap_sass": ov_ss, "ttgir": compress(tt), "sass": compress(ss)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", action="append")
    ap.add_argument("--labels", default="default,pv_defer,pv_defer_all,pv_defer_w8,qk_ahead")
    ap.add_argument("--d", default="128,64")
    a = ap.parse_args()
    from pipeline_variants import MASKED
    out_dir = os.path.join(os.environ.get("OUT", "/tmp"), "asm")
    os.makedirs(out_dir, exist_ok=True)
    ver = subprocess.run([tool("ptxas"), "--version"], capture_output=True, text=True).stdout.strip().splitlines()
    print(f"ptxas: {tool('ptxas')} ({ver[-1] if ver else '?'})", flush=True)
    rows = []
    for p in a.problem or ["full"]:
        for d in map(int, a.d.split(",")):
            for label in a.labels.split(","):
                if (label == "pv_defer_w8" and d != 64) or (label == "pv_defer_all" and p not in MASKED) \
                        or (label == "qk_ahead" and d != 128):
                    continue  # w8 is pv_defer at D=128; _all is pv_defer without a masked tail; qk_ahead: once
                try:
                    rows.append(analyse(p, label, d, out_dir))
                except Exception as e:  # one failing compile is data, the others still print
                    print(f"== {p} {label} D={d}: {type(e).__name__}: {str(e)[-400:]}", flush=True)
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
