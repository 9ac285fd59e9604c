"""Software-pipelined key loops (FlashAttention-3 §3.2, intra-warpgroup overlap) for one H100 run.

    python3 bench/offline/pipeline_variants.py [--out DIR] [--json FILE]   # renders the variants (git-ignored dir)
    python3 bench/offline/pipeline_variants.py --emu [--problem P ...]      # checks them on the CPU emulator

Bench-only: the default module from render.render() has its key loops rewritten here (template.py is untouched).
Why these shapes (Triton 3.6, lib/Dialect/TritonGPU/Transforms/Pipeliner/WGMMAPipeline.cpp, asyncLaunchDots /
dotCanBeProperlyAsync): a tl.dot in the loop stays in flight ("properly async") only if its result feeds nothing
in the loop but the yield (rule 2) and its previous value is read only after a `warp_group_dot_wait 0` that an
earlier, synchronous dot leaves in the body (rule 3b); every other dot gets a wait 0 right after it.

Labels (module paths in pipeline.json, for quick_gpu.py --set json:bench/offline/pipeline.json):
  pv_defer      FA3 Algorithm 2: iteration j issues S_j = Q K_j^T (synchronous: Triton's wait 0 follows it), then
                P_{j-1} V_{j-1} (properly async: its acc is read after that wait), then softmax(S_j) on the CUDA cores
                while the tensor core runs P_{j-1} V_{j-1}. P is carried in fp32 and cast to bf16 only after the wait:
                a bf16 carry makes the back edge redefine the A registers of the in-flight wgmma, and ptxas then
                silently waits right after it (no overlap left). Rewrites the masked head loop too: with it left as
                it is, LLVM puts the zero-trip edge that zeroes acc between that loop's in-flight P.V and its wait,
                and ptxas serialises every wgmma of the kernel (C7515; causal, prefix_lm).
  pv_defer_all  the same on the masked tail loop too (problems with a mask: causal, prefix_lm).
  pv_defer_w8   pv_defer with 8 warps at D=64 (with 4 warps the fp32 P spills).
  qk_ahead      the literal "issue S_{j+1} before softmax(S_j)" (control, timed on full only): P_{j-1} V_{j-1} first
                (synchronous, its wait 0 also covers S_j), then S_{j+1} (properly async by rule 3b), then softmax(S_j).
                S_j and S_{j+1} are live at once, so the carried scores need a copy of an in-flight accumulator at
                the back edge: ptxas serialises the wgmmas (C7514/C7515). Triton's rule 2 rules out the 2x-unrolled
                form that would avoid the copy (an async dot's result may feed only the yield).
pipeline_asm.py shows, per kernel, where the waits fell and whether ptxas serialised.
"""
import argparse
import json
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "offline"))
OUT = os.path.join(ROOT, "bench", "offline", "pipeline_out")
PROBLEMS = ("full", "causal", "gqa", "softcap", "relpos", "alibi", "prefix_lm")
MASKED = ("causal", "prefix_lm")  # problems whose masked loops run more than a tail block
LOOP = re.compile(r"^    for j in range\((\w+), (\w+)\):  # (masked|mask-free) key blocks$")
LOOPS = {("lo", "flo"): 0, ("flo", "fhi"): 1, ("fhi", "hi"): 2}  # masked head, mask-free run, masked tail


class Unsupported(Exception):
    """A loop body this rewriter does not know (skip_empty's per-block branch); the loop is left as it is."""


def _dedent(lines, n=4):
    assert all(ln.startswith(" " * n) for ln in lines), lines
    return [ln[n:] for ln in lines]


def _ind(lines, n=4):
    return [" " * n + ln for ln in lines]


def parse_body(lines):
    """A loop body (dedented) -> ("if", COND, then, else) over constexpr switches, or ("step", parts)."""
    m = re.fullmatch(r"if ([A-Z][A-Z0-9_]*):", lines[0])
    if m:
        i = lines.index("else:")
        return ("if", m.group(1), parse_body(_dedent(lines[1:i])), parse_body(_dedent(lines[i + 1:])))
    return ("step", parse_step(lines))


def _kv_load(lines, i, name):
    """The K or V load at lines[i]: one pointer load, or the 4-line `if USE_TMA:` descriptor/pointer pair."""
    if lines[i] == "if USE_TMA:":
        assert lines[i + 1].startswith(f"    {name} = desc_{name}.load(") and lines[i + 2] == "else:", lines[i:i + 4]
        return lines[i:i + 4], i + 4
    assert lines[i].startswith(f"{name} = tl.load("), lines[i]
    return [lines[i]], i + 1


def parse_step(lines):
    """One key block's body (template.step's lines) split into header, K load, S = QK^T, softmax, V load, P.V."""
    if lines[0].startswith("may_j, must_j = "):
        raise Unsupported("skip_empty")
    assert lines[0] == "start_n = j * BLOCK_N" and lines[1] == "kv_idx = (start_n + offs_n)[None, :]", lines[:2]
    assert not any(re.search(r"\bj\b", ln) for ln in lines[1:]), "the block index must only enter through start_n"
    hdr, i = lines[1:2], 2
    masked = lines[2].startswith("kv_ok = ")
    if masked:
        assert lines[2] == "kv_ok = (start_n + offs_n) < S", lines[2]
        hdr, i = lines[1:3], 3
    kload, i = _kv_load(lines, i, "k")
    assert lines[i] == "qk = tl.dot(q, tl.trans(k))", lines[i]
    i += 1
    v_at = next(n for n in range(i, len(lines)) if lines[n].startswith("v = tl.load(")
                or (lines[n] == "if USE_TMA:" and lines[n + 1].startswith("    v = ")))
    softmax = lines[i:v_at]
    vload, i = _kv_load(lines, v_at, "v")
    pv, tail = lines[i], lines[i + 1:]
    online = pv.endswith(", acc * alpha[:, None])")
    assert re.fullmatch(r"acc = tl\.dot\(p\.to\([\w.]+\), v, acc( \* alpha\[:, None\])?\)", pv), pv
    assert tail == (["m_i = m_new"] if online else []), tail
    return {"hdr": hdr, "masked": masked, "kload": kload, "softmax": softmax + tail, "vload": vload, "pv": pv,
            "online": online}


def _rename(lines, names):
    for old, new in names.items():
        lines = [re.sub(rf"\b{old}\b", new, ln) for ln in lines]
    return lines


def _scores(st, blk, out="qk"):
    """Header of block `blk` (start_n, kv_idx, kv_ok) plus its K load and S = QK^T into `out`."""
    return [f"start_n = {blk} * BLOCK_N", *st["hdr"], *st["kload"], f"{out} = tl.dot(q, tl.trans(k))"]


def _scores_ahead(st, blk, out):
    """S of block `blk` under names of its own (start_nx, kv_okx): it is issued while block j is softened."""
    hdr = [f"start_nx = {blk} * BLOCK_N"] + (["kv_okx = (start_nx + offs_n) < S"] if st["masked"] else [])
    return hdr + _rename(st["kload"], {"start_n": "start_nx", "kv_ok": "kv_okx"}) + [f"{out} = tl.dot(q, tl.trans(k))"]


def _pv(st, blk):
    """P.V of block `blk` from the carried p_c / alpha_c (cast to bf16 here, after the wait that precedes it)."""
    hdr = [f"start_v = {blk} * BLOCK_N"] + (["kv_okv = (start_v + offs_n) < S"] if st["masked"] else [])
    pv = st["pv"].replace("acc = tl.dot(p.to(", "acc = tl.dot(p_c.to(").replace("acc * alpha[", "acc * alpha_c[")
    return hdr + _rename(st["vload"], {"start_n": "start_v", "kv_ok": "kv_okv"}) + [pv]


def _carry(st):
    return ["p_c = p"] + (["alpha_c = alpha"] if st["online"] else [])


def _init(st):
    out = ["p_c = tl.zeros([BLOCK_M, BLOCK_N], tl.float32)  # P of the block whose P.V is still to come"]
    if st["online"]:
        out.append("alpha_c = tl.full([BLOCK_M], 1.0, tl.float32)  # the factor acc takes before that P.V")
    return out


def pv_defer(st, a, b):
    """FA3 Algorithm 2: P_{j-1} V_{j-1} runs on the tensor core while the CUDA cores compute softmax(S_j)."""
    scores_j = _scores(st, "j")
    scores_j[-1] += "  # S_j; Triton's wait 0 after it also retires P.V of block j - 2"
    return [*_init(st),
            f"if {a} < {b}:  # prologue: the first block's scores and softmax (no P.V to overlap yet)",
            *_ind(_scores(st, a) + st["softmax"] + _carry(st)),
            f"for j in range({a} + 1, {b}):  # pipelined: P.V of j - 1 overlaps softmax(S_j)",
            *_ind(scores_j + _pv(st, "(j - 1)") + st["softmax"] + _carry(st)),
            f"if {a} < {b}:  # epilogue: the last block's P.V",
            *_ind(_pv(st, f"({b} - 1)"))]


def qk_ahead(st, a, b):
    """S_{j+1} issued before softmax(S_j), the scores carried across the back edge (P.V of j - 1 synchronous)."""
    soft = ["qk = qk_c", "start_n = j * BLOCK_N", *st["hdr"], *st["softmax"], *_carry(st)]
    return ["qk_c = tl.zeros([BLOCK_M, BLOCK_N], tl.float32)  # S of the next block to soften, issued ahead",
            *_init(st),
            f"if {a} < {b}:  # prologue: S and softmax of the first block, then S of the second",
            *_ind(_scores(st, a) + st["softmax"] + _carry(st)),
            f"    if {a} + 1 < {b}:",
            *_ind(_scores_ahead(st, f"({a} + 1)", "qk_c"), 8),
            f"for j in range({a} + 1, {b} - 1):  # pipelined: S_(j+1) overlaps softmax(S_j)",
            *_ind(_pv(st, "(j - 1)") + _scores_ahead(st, "(j + 1)", "qk_n") + soft + ["qk_c = qk_n"]),
            f"if {a} + 1 < {b}:  # the last block: P.V of the one before, then its softmax",
            *_ind(_pv(st, f"({b} - 2)") + ["qk = qk_c", f"start_n = ({b} - 1) * BLOCK_N", *st["hdr"], *st["softmax"],
                                           *_carry(st)]),
            f"if {a} < {b}:  # epilogue: the last block's P.V",
            *_ind(_pv(st, f"({b} - 1)"))]


def _emit(tree, a, b, form):
    if tree[0] == "if":
        return [f"if {tree[1]}:", *_ind(_emit(tree[2], a, b, form)), "else:", *_ind(_emit(tree[3], a, b, form))]
    return form(tree[1], a, b)


def rewrite(src, form, loops=(1,)):
    """The module with the given key loops (LOOPS' numbers) replaced by their pipelined form, and how many."""
    lines, out, i, done = src.split("\n"), [], 0, 0
    while i < len(lines):
        m = LOOP.match(lines[i])
        if not m or LOOPS[m.group(1), m.group(2)] not in loops:
            out.append(lines[i])
            i += 1
            continue
        end = i + 1
        while end < len(lines) and lines[end].startswith(" " * 8):
            end += 1
        try:
            tree = parse_body(_dedent(lines[i + 1:end], 8))
        except Unsupported:
            out += lines[i:end]
        else:
            out += _ind(_emit(tree, m.group(1), m.group(2), form))
            done += 1
        i = end
    return "\n".join(out), done


VARIANTS = {  # label -> (form, loops (LOOPS' numbers), config)
    "pv_defer": (pv_defer, (0, 1), {}),
    "pv_defer_all": (pv_defer, (0, 1, 2), {}),
    "pv_defer_w8": (pv_defer, (0, 1), "w8"),
    "qk_ahead": (qk_ahead, (1,), {}),
}


def labels_for(problem, timing=False):
    """Labels rendered for a problem; timing: those worth GPU time (qk_ahead only once, as the control)."""
    return [lb for lb in VARIANTS if (lb != "pv_defer_all" or problem in MASKED)
            and (lb != "qk_ahead" or not timing or problem == "full")]


def variant_source(problem, label, config=None):
    """The rewritten module for a problem and label (config: extra render config, e.g. small emulator tiles)."""
    from render import render, resolve_config
    form, loops, cfg = VARIANTS[label]
    cfg = dict(config or {})
    if VARIANTS[label][2] == "w8":
        t64 = dict(resolve_config(os.path.join(ROOT, "problems", problem), cfg)["tiles"]["64"], num_warps=8)
        cfg = {**cfg, "tiles": {"64": t64}}
    src, n = rewrite(render(os.path.join(ROOT, "problems", problem), cfg), form, loops)
    assert n >= 1, f"{problem}/{label}: no loop rewritten"
    return src.replace('"""kforge offline template', f'"""kforge offline template + bench pipeline variant {label}', 1)


def write_variants(out_dir, json_path, problems):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, ".gitignore"), "w") as f:
        f.write("*\n")
    sets = {}
    for p in problems:
        sets[p] = {}
        for label in labels_for(p, timing=True):
            path = os.path.join(out_dir, f"{p}_{label}.py")
            with open(path, "w") as f:
                f.write(variant_source(p, label))
            sets[p][label] = os.path.relpath(path, ROOT)
    with open(json_path, "w") as f:
        json.dump(sets, f, indent=1)
        f.write("\n")
    print(f"pipeline variants: {sum(map(len, sets.values()))} modules in {os.path.relpath(out_dir, ROOT)}, "
          f"set {os.path.relpath(json_path, ROOT)}")


def emulate(problems, configs, max_s=300):
    """Every label on the CPU emulator (test/offline/emu_check.py's rule) at small tiles; extra S values give
    mask-free loops of 0, 1, 2, 3 and more blocks, so prologue, loop and epilogue all run alone and together."""
    sys.path.insert(0, os.path.join(ROOT, "test", "offline"))
    import emu_check
    bad = total = 0
    for p in problems:
        spec = json.load(open(os.path.join(ROOT, "problems", p, "problem.json")))
        shapes = [s for s in spec["shapes"]["correctness"] if s["S"] <= max_s]
        shapes += [dict(shapes[1], S=s) for s in (40, 50)]
        for cfg in configs:
            for label in labels_for(p):
                mod = emu_check.load_module(f"{p}_{label}", variant_source(p, label, cfg))
                for row in emu_check.check(p, mod.attention, shapes):
                    row.update(label=label, config=cfg)
                    bad += not row["ok"]
                    total += 1
                    print(json.dumps(row), flush=True)
    print(f"pipeline emu: {total} checks, {bad} failing", flush=True)
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--json", default=os.path.join(ROOT, "bench", "offline", "pipeline.json"))
    ap.add_argument("--problem", action="append", help="default: " + ",".join(PROBLEMS))
    ap.add_argument("--emu", action="store_true", help="check on the CPU emulator instead of writing files")
    ap.add_argument("--config", action="append", help="render config(s) for --emu (default: two small tilings)")
    a = ap.parse_args()
    problems = a.problem or list(PROBLEMS)
    if a.emu:
        configs = [json.loads(c) for c in a.config] if a.config else \
            [{"BLOCK_M": 32, "BLOCK_N": 16}, {"BLOCK_M": 16, "BLOCK_N": 32}]
        sys.exit(1 if emulate(problems, configs) else 0)
    write_variants(a.out, a.json, problems)


if __name__ == "__main__":
    main()
