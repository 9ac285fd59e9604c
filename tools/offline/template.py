"""The offline policy's attention template: one FlashAttention-2 forward with hook points, as text.

Hooks, filled from the translated problem: the log2-domain score (`score_mod`), the element mask
(`mask_mod`), the block classifier `_classify` derived from the mask by interval arithmetic, and the
host-side parameter plumbing. Per query block the kernel classifies every key block as empty,
partial or full, then runs three loops: masked blocks before the first full run, the full run
without any mask math, masked blocks after it. Empty blocks outside [lo, hi) are never visited.
"""

HEADER = '''"""kforge offline template, problem {problem}: {summary}.

Config: {config}
"""
import torch
import triton
import triton.language as tl
'''

TANH_FAST = '''

@triton.jit
def _tanh(x):
    return tl.inline_asm_elementwise("tanh.approx.f32 $0, $1;", "=r,r", [x], dtype=tl.float32, is_pure=True, pack=1)
'''

TANH_BF16X2 = '''

@triton.jit
def _tanh(x):
    # two bf16 lanes per MUFU op; the scores only need bf16 accuracy (the verifier's allowance is the bf16 error)
    y = tl.inline_asm_elementwise("tanh.approx.bf16x2 $0, $1;", "=r,r", [x.to(tl.bfloat16)], dtype=tl.bfloat16,
                                  is_pure=True, pack=2)
    return y.to(tl.float32)
'''

TANH_EXACT = '''

@triton.jit
def _tanh(x):
    e = tl.math.exp2(tl.minimum(x, 20.0) * 2.8853900817779268)
    return 1.0 - 2.0 / (e + 1.0)
'''

POLY_EXP2_CORE = '''

@triton.jit
def _exp2_poly(x):
    # 2^x on the FMA pipe instead of MUFU (FlashAttention-4): 2^floor(x) is added to the exponent bits, 2^f
    # (f = x - floor(x) in [0, 1)) is a degree-3 minimax polynomial, relative error 8.8e-5 (p is rounded to
    # bf16 for P.V anyway). x >= -127 gives a normal or zero float, and -inf (masked) gives exactly 0.
    x = tl.maximum(x, -127.0)
    # 1.5 * 2^23 + floor(x), rounding down on the FMA pipe (cvt.rmi / FRND would not spare the XU pipe)
    t = tl.inline_asm_elementwise("add.rm.f32 $0, $1, 0f4B400000;", "=r,r", [x], dtype=tl.float32, is_pure=True,
                                  pack=1)
    f = x - (t - 12582912.0)
    p = 0.077119089663028717041015625 * f + 0.227564394474029541015625
    p = p * f + 0.695146143436431884765625
    p = p * f + 1.0
    e = tl.cast(t, tl.int32, bitcast=True) << 23  # floor(x) lands in the exponent field; the magic shifts out
    return tl.cast(tl.cast(p, tl.int32, bitcast=True) + e, tl.float32, bitcast=True)
'''

# How much of the score tile goes to the polynomial. Every split is along a column bit that the MMA
# accumulator layout keeps in one thread's registers (the pair bit 0, the top bit), so no data moves.
POLY_SPLITS = {
    "half": '''        a, b = tl.split(tl.reshape(x, [BLOCK_M, BLOCK_N // 2, 2]))  # even / odd columns
        y = tl.reshape(tl.join(tl.math.exp2(a), _exp2_poly(b)), [BLOCK_M, BLOCK_N])
''',
    "quarter": '''        lo, hi = tl.split(tl.permute(tl.reshape(x, [BLOCK_M, 2, BLOCK_N // 2]), (0, 2, 1)))  # column halves
        h0, h1 = tl.split(tl.reshape(hi, [BLOCK_M, BLOCK_N // 4, 2]))
        hi = tl.reshape(tl.join(tl.math.exp2(h0), _exp2_poly(h1)), [BLOCK_M, BLOCK_N // 2])
        y = tl.reshape(tl.permute(tl.join(tl.math.exp2(lo), hi), (0, 2, 1)), [BLOCK_M, BLOCK_N])
''',
    "three_quarters": '''        lo, hi = tl.split(tl.permute(tl.reshape(x, [BLOCK_M, 2, BLOCK_N // 2]), (0, 2, 1)))  # column halves
        h0, h1 = tl.split(tl.reshape(hi, [BLOCK_M, BLOCK_N // 4, 2]))
        hi = tl.reshape(tl.join(tl.math.exp2(h0), _exp2_poly(h1)), [BLOCK_M, BLOCK_N // 2])
        y = tl.reshape(tl.permute(tl.join(_exp2_poly(lo), hi), (0, 2, 1)), [BLOCK_M, BLOCK_N])
''',
}

POLY_EXP2_TILE = '''

@triton.jit
def _exp2_tile(x, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, POLY: tl.constexpr):
    # the score tile's exponentials: with POLY, {frac} of them on the FMA pipe (_exp2_poly), the rest on MUFU
    if POLY:
{split}    else:
        y = tl.math.exp2(x)
    return y
'''


def poly_exp2_helpers(split="half"):
    """The jit helpers of the poly_exp2 switch: _exp2_poly and _exp2_tile with the given split of the tile."""
    frac = {"half": "half", "quarter": "a quarter", "three_quarters": "three quarters"}[split]
    return POLY_EXP2_CORE + POLY_EXP2_TILE.format(frac=frac, split=POLY_SPLITS[split])


BLOCK_MINMAX = '''

@triton.jit
def _block_minmax(T, MIN, MAX, n, BLOCK: tl.constexpr):
    # per key block: the smallest and largest value of a tensor the mask indexes by kv_idx
    j = tl.program_id(0)
    x = tl.load(T + tl.minimum(j * BLOCK + tl.arange(0, BLOCK), n - 1))
    tl.store(MIN + j, tl.min(x, 0))
    tl.store(MAX + j, tl.max(x, 0))
'''

CLASSIFY = '''

@triton.jit
def {name}({bounds}, b, h{args}):
    # {what}
{body}
    return {may}, {must}
'''

KERNEL_HEAD = '''

@triton.jit
def _attn_fwd(Q, K, V, O, sm_scale,
              sqb, sqh, sqm, sqd, skb, skh, skn, skd, svb, svh, svn, svd, sob, soh, som, sod,
              H, GROUP, S{args},
              HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr{constexprs}):
    pid_m = {pid_m}
    pid_bh = tl.program_id(1)
    b = pid_bh // H
    h = pid_bh % H
    hk = h // GROUP  # GQA: query head h reads KV head h // (Hq / Hkv)
    m0 = pid_m * BLOCK_M
    offs_m = m0 + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    q_idx = offs_m[:, None]
    q_ptrs = Q + b.to(tl.int64) * sqb + h.to(tl.int64) * sqh + offs_m[:, None] * sqm + offs_d[None, :] * sqd
    k_ptrs = K + b.to(tl.int64) * skb + hk.to(tl.int64) * skh + offs_n[:, None] * skn + offs_d[None, :] * skd
    v_ptrs = V + b.to(tl.int64) * svb + hk.to(tl.int64) * svh + offs_n[:, None] * svn + offs_d[None, :] * svd
    q = tl.load(q_ptrs, mask=offs_m[:, None] < S, other=0.0)
'''

ACC_INIT = '''    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
'''

RANGES_UNMASKED = '''    # no mask_mod: every block is full except a partial last one
    lo = 0
    flo = 0
    fhi = S // BLOCK_N
    hi = tl.cdiv(S, BLOCK_N)
'''

RANGES_MASKED = '''    # classify every key block for this query block (vectorised), then find the loop bounds
    q_lo = m0
    q_hi = tl.minimum(m0 + BLOCK_M, S) - 1
{qbounds}    n_blocks = tl.cdiv(S, BLOCK_N)
    jb = tl.arange(0, NB_P2)
    blk_ok = jb < n_blocks
    may_v, must_v = _classify(q_lo, q_hi, jb * BLOCK_N, tl.minimum(jb * BLOCK_N + BLOCK_N, S) - 1, b, h{vec_args})
    may_v = may_v & blk_ok
    must_v = must_v & may_v & (jb * BLOCK_N + BLOCK_N <= S)
    lo = tl.min(tl.where(may_v, jb, n_blocks), 0)
    hi = tl.maximum(tl.max(tl.where(may_v, jb + 1, 0), 0), lo)
{full_range}'''

FULL_RANGE_SPLIT = '''    flo = tl.min(tl.where(must_v, jb, hi), 0)
    fhi = tl.maximum(tl.min(tl.where((jb > flo) & ~must_v, jb, hi), 0), flo)
'''

FULL_RANGE_NONE = '''    flo = hi  # mask_split off: every visited block takes the masked path
    fhi = hi
'''

# the two classifiers CLASSIFY renders: 1-D (query and key index ranges) and 2-D grid (row and column ranges)
CLASSIFY_1D = dict(name="_classify", bounds="q_lo, q_hi, k_lo, k_hi",
                   what="(may, must): may some (q, kv) of the tile be kept; are all kept. Works on scalars and "
                        "per-block vectors.")
CLASSIFY_GRID = dict(name="_classify_grid", bounds="qr_lo, qr_hi, qc_lo, qc_hi, kr_lo, kr_hi, kc_lo, kc_hi",
                     what="(may, must) over a rectangle of query rows/columns and one of key rows/columns of the "
                          "2-D grid")
GRID_CLASSIFY_PRELUDE = "k_lo = kr_lo + kc_lo  # (only its shape and sign are used: constant booleans)"

GRID_HEAD = '''

@triton.jit
def _attn_fwd_grid(Q, K, V, O, sm_scale,
                   sqb, sqh, sqm, sqd, skb, skh, skn, skd, svb, svh, svn, svd, sob, soh, som, sod,
                   H, GROUP, S, GW{args},
                   HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, TILE_R: tl.constexpr,
                   TILE_C: tl.constexpr, NR_P2: tl.constexpr, NC_P2: tl.constexpr{constexprs}):
    # 2-D layout: token i sits at row i // GW, column i % GW of a grid. A program owns a TILE_R x TILE_C
    # rectangle of queries (gathered rows of Q) and visits only the key rectangle its mask can reach.
    n_rows = tl.cdiv(S, GW)
    n_tc = tl.cdiv(GW, TILE_C)
    tr = tl.program_id(0) // n_tc
    tc = tl.program_id(0) % n_tc
    pid_bh = tl.program_id(1)
    b = pid_bh // H
    h = pid_bh % H
    hk = h // GROUP  # GQA: query head h reads KV head h // (Hq / Hkv)
    i_m = tl.arange(0, BLOCK_M)
    q_row = (tr * TILE_R + i_m // TILE_C)[:, None]  # grid coordinates of the queries (constexpr divisions)
    q_col = (tc * TILE_C + i_m % TILE_C)[:, None]
    offs_m = tr * TILE_R * GW + (i_m // TILE_C) * GW + tc * TILE_C + i_m % TILE_C
    q_ok = (tc * TILE_C + i_m % TILE_C < GW) & (offs_m < S)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    q_idx = offs_m[:, None]
    q_ptrs = Q + b.to(tl.int64) * sqb + h.to(tl.int64) * sqh + offs_m[:, None] * sqm + offs_d[None, :] * sqd
    k_ptrs = K + b.to(tl.int64) * skb + hk.to(tl.int64) * skh + offs_d[None, :] * skd
    v_ptrs = V + b.to(tl.int64) * svb + hk.to(tl.int64) * svh + offs_d[None, :] * svd
    q = tl.load(q_ptrs, mask=q_ok[:, None], other=0.0)
'''

GRID_RANGES = '''    # the key rectangle: grid rows and columns some query of this tile may see (interval arithmetic per
    # row with every column allowed, per column with every row allowed: it holds every kept key)
    qr_lo = tr * TILE_R
    qr_hi = tl.minimum(qr_lo + TILE_R, n_rows) - 1
    qc_lo = tc * TILE_C
    qc_hi = tl.minimum(qc_lo + TILE_C, GW) - 1
    rv = tl.arange(0, NR_P2)
    may_r, must_r = _classify_grid(qr_lo, qr_hi, qc_lo, qc_hi, rv, rv, rv * 0, rv * 0 + GW - 1, b, h{args})
    may_r = may_r & (rv < n_rows)
    r0 = tl.min(tl.where(may_r, rv, n_rows), 0)
    n_r = tl.maximum(tl.max(tl.where(may_r, rv + 1, 0), 0) - r0, 0)
    cv = tl.arange(0, NC_P2)
    may_c, must_c = _classify_grid(qr_lo, qr_hi, qc_lo, qc_hi, cv * 0, cv * 0 + n_rows - 1, cv, cv, b, h{args})
    may_c = may_c & (cv < GW)
    c0 = tl.min(tl.where(may_c, cv, GW), 0)
    n_c = tl.maximum(tl.max(tl.where(may_c, cv + 1, 0), 0) - c0, 0)
    n_keys = n_r * n_c
    rw = tl.maximum(n_c, 1)
    # grid row and column of each lane's key, advanced by BLOCK_N keys per block without a division
    kr = r0 + offs_n // rw
    kc = c0 + offs_n % rw
    step_r = BLOCK_N // rw
    step_c = BLOCK_N % rw
'''

GRID_ADVANCE = '''kc = kc + step_c
kr = kr + step_r + tl.where(kc >= c0 + rw, 1, 0)
kc = tl.where(kc >= c0 + rw, kc - rw, kc)
'''

GRID_HOST = '''    gw = {width}  # grid width of the 2-D layout (switch grid2d)
    if float(gw).is_integer() and 1 <= gw <= 4096 and triton.cdiv(S, int(gw)) <= 1024:
        gw = int(gw)
        tile_c = min(1 << (block_m.bit_length() // 2), triton.next_power_of_2(gw))  # a near-square tile
        n_rows = triton.cdiv(S, gw)
        grid = (triton.cdiv(n_rows, block_m // tile_c) * triton.cdiv(gw, tile_c), B * H)
        _attn_fwd_grid[grid](q, k, v, o, float(scale), *q.stride(), *k.stride(), *v.stride(), *o.stride(),
                             H, H // k.shape[1], S, gw{call_args},
                             HEAD_DIM=D, BLOCK_M=block_m, BLOCK_N=block_n, TILE_R=block_m // tile_c, TILE_C=tile_c,
                             NR_P2=max(16, triton.next_power_of_2(n_rows)), NC_P2=max(16, triton.next_power_of_2(gw)){call_constexprs},
                             num_warps=warps, num_stages=stages)
        return o
'''


TMA_HOST = '''

try:  # host-side TMA descriptors (Triton >= 3.3); without them the kernel reads K/V through pointers
    from triton.tools.tensor_descriptor import TensorDescriptor
except ImportError:
    TensorDescriptor = None
_SM90 = {}


def _kv_descriptors(k, v, block_n):
    """TMA descriptors over k and v as 2-D [B*Hkv*S, D] views, or None where only pointers work."""
    D = k.shape[-1]
    if TensorDescriptor is None or not (k.is_contiguous() and v.is_contiguous()) or (D * k.element_size()) % 16 \\
            or k.data_ptr() % 16 or v.data_ptr() % 16:
        return None
    if k.is_cuda:  # TMA is sm_90+
        dev = k.device.index if k.device.index is not None else torch.cuda.current_device()
        if dev not in _SM90:
            _SM90[dev] = torch.cuda.get_device_capability(dev)[0] >= 9
        if not _SM90[dev]:
            return None
    return (TensorDescriptor.from_tensor(k.view(-1, D), [block_n, D]),
            TensorDescriptor.from_tensor(v.view(-1, D), [block_n, D]))
'''

TMA_ROW = '''    # TMA: K/V are 2-D [B*Hkv*S, D]; rows past S of a head read the next head's keys (or zeros at the end),
    # which only masked blocks touch, where their scores are -inf and their p is 0
    kv_row = (b * (H // GROUP) + hk) * S
'''

EPILOGUE = '''    l_i = tl.where(l_i == 0.0, 1.0, l_i)  # rows with no kept key output 0
    out = acc / l_i[:, None]
    o_ptrs = O + b.to(tl.int64) * sob + h.to(tl.int64) * soh + offs_m[:, None] * som + offs_d[None, :] * sod
    tl.store(o_ptrs, out.to(O.dtype.element_ty), mask=offs_m[:, None] < S)
'''

HOST = '''

_TILES = {tiles}


def attention(q, k, v, *, scale, **params):
    """Attention for problem {problem}: q [B,Hq,S,D], k/v [B,Hkv,S,D] bf16 CUDA -> [B,Hq,S,D] bf16."""
    B, H, S, D = q.shape
    o = torch.empty_like(q)
    block_m, block_n, warps, stages = _TILES.get(D) or _TILES[128]
{host_body}    grid = (triton.cdiv(S, block_m), B * H)
    _attn_fwd[grid](q, k, v, o, float(scale), *q.stride(), *k.stride(), *v.stride(), *o.stride(),
                    H, H // k.shape[1], S{call_args},
                    HEAD_DIM=D, BLOCK_M=block_m, BLOCK_N=block_n{call_constexprs}, num_warps=warps, num_stages=stages)
    return o
'''


def load_kv(name, kmask, tma, gather=False):
    """Lines loading this block's K or V tile: through pointers, or (tma) a descriptor when USE_TMA holds.

    gather: the block's keys are the rows kv_flat (2-D layout), not a contiguous run from start_n.
    """
    if gather:
        return [f"{name} = tl.load({name}_ptrs + kv_flat[:, None] * s{name}n, mask=kv_ok[:, None], other=0.0)"]
    ptr = f"{name} = tl.load({name}_ptrs + start_n * s{name}n{kmask})"
    if not tma:
        return [ptr]
    return ["if USE_TMA:", f"    {name} = desc_{name}.load([kv_row + start_n, 0])", "else:", "    " + ptr]


def step(score, keep, mode, dtype="V.dtype.element_ty", safe=False, linear=None, colbias=None, tma=False, poly=False,
         gather=False):
    """One key block's body (list of lines): load K, scores, mask, softmax update, load V, accumulate.

    mode: "static" (bounded scores minus a fixed max), "linear" (s2 = x * c with c > 0: the max is taken
    on x and the scale folds into the exp2's FMA; linear = (x, c)), "online" (general running max).
    keep is the element mask expression or None (mask-free block). colbias = (vector, coefficient): the
    online score gets a hoisted per-column vector, and the block's scalar start_n * coefficient rides in the max.
    tma: K and V come from TMA descriptors when the constexpr USE_TMA holds (no load masks: masked blocks set
    out-of-range scores to -inf).
    poly: the score tile's exp2 goes through _exp2_tile (part of it on the FMA pipe when the constexpr POLY_EXP2 holds).
    gather: 2-D layout (GRID_RANGES): block j holds keys j * BLOCK_N .. of the key rectangle, row-major (rows of
    width rw from (r0, c0)), gathered by index at grid rows kr and columns kc (GRID_ADVANCE moves them on);
    keep must include kv_ok.
    """
    ex2 = (lambda a: f"_exp2_tile({a}, BLOCK_M, BLOCK_N, POLY_EXP2)") if poly else (lambda a: f"tl.math.exp2({a})")
    kmask = ", mask=kv_ok[:, None], other=0.0" if keep else ""
    if gather:
        out = ["kv_flat = kr * GW + kc", "kv_row = kr[None, :]", "kv_col = kc[None, :]", "kv_idx = kv_flat[None, :]",
               "kv_ok = (j * BLOCK_N + offs_n < n_keys) & (kv_flat < S)"]
    else:
        out = ["start_n = j * BLOCK_N", "kv_idx = (start_n + offs_n)[None, :]"]
        if keep:
            out.append("kv_ok = (start_n + offs_n) < S")
    out += load_kv("k", kmask, tma, gather) + ["qk = tl.dot(q, tl.trans(k))"]
    if mode == "linear":
        x, c = linear
        cm = "" if c == "1" else f" * {c}"
        if x != "qk" or keep:
            out.append(f"x = {x}")
            x = "x"
        if keep:
            out.append(f"x = tl.where({keep}, x, float(\"-inf\"))")
        out.append(f"m_new = tl.maximum(m_i, tl.max({x}, 1){cm})")
        m_use = "m_new"
        if keep or safe:
            out.append('m_use = tl.where(m_new == float("-inf"), 0.0, m_new)  # nothing kept yet: keep p at 0')
            m_use = "m_use"
        out.append(f"p = {ex2(f'{x}{cm} - {m_use}[:, None]')}")
    else:
        out.append(f"s = {score}" if not colbias else f"s = {score} + {colbias[0]}")
        if keep:
            out.append(f"s = tl.where({keep}, s, float(\"-inf\"))")
        if mode == "static":
            # truncate p to bf16 precision (one AND): the MMA and the row sum then use the same weights
            out += [f"p = {ex2('s - m_static')}",
                    "p = tl.cast(tl.cast(p, tl.int32, bitcast=True) & -65536, tl.float32, bitcast=True)",
                    "l_i += tl.sum(p, 1)",
                    *load_kv("v", kmask, tma, gather), f"acc = tl.dot(p.to({dtype}), v, acc)"]
            return out
        if colbias:
            out += [f"bj = start_n * {colbias[1]}  # this block's share of the kv-affine bias",
                    "m_new = tl.maximum(m_i, tl.max(s, 1) + bj)"]
        else:
            out.append("m_new = tl.maximum(m_i, tl.max(s, 1))")
        m_use = "m_new"
        if keep or safe:
            out.append('m_use = tl.where(m_new == float("-inf"), 0.0, m_new)  # nothing kept yet: keep p at 0')
            m_use = "m_use"
        out.append(f"p = {ex2(f's - ({m_use} - bj)[:, None]')}" if colbias else f"p = {ex2(f's - {m_use}[:, None]')}")
    out += [f"alpha = tl.math.exp2(m_i - {m_use})", "l_i = l_i * alpha + tl.sum(p, 1)",
            *load_kv("v", kmask, tma, gather),
            f"acc = tl.dot(p.to({dtype}), v, acc * alpha[:, None])", "m_i = m_new"]
    return out


def indent(lines, n):
    """Lines indented by n spaces, joined with newlines (with a trailing newline)."""
    return "".join(" " * n + ln + "\n" for ln in lines)
