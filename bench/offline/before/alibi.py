"""kforge offline template, problem alibi: score_mod translated; mask_mod none; softmax online.

Config: {}
"""
import torch
import triton
import triton.language as tl


@triton.jit
def _attn_fwd(Q, K, V, O, sm_scale,
              sqb, sqh, sqm, sqd, skb, skh, skn, skd, svb, svh, svn, svd, sob, soh, som, sod,
              H, GROUP, S, t_slopes, t_slopes_len,
              HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    pid_m = tl.program_id(0)
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
    _u0 = (sm_scale * 1.4426950408889634)
    _u1 = tl.load(t_slopes + h, mask=(h >= 0) & (h < t_slopes_len), other=0)
    _u2 = (_u1 * 1.4426950408889634)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
    # no mask_mod: every block is full except a partial last one
    lo = 0
    flo = 0
    fhi = S // BLOCK_N
    hi = tl.cdiv(S, BLOCK_N)
    for j in range(lo, flo):  # masked key blocks
        start_n = j * BLOCK_N
        kv_idx = (start_n + offs_n)[None, :]
        kv_ok = (start_n + offs_n) < S
        k = tl.load(k_ptrs + start_n * skn, mask=kv_ok[:, None], other=0.0)
        qk = tl.dot(q, tl.trans(k))
        s = ((qk * _u0) + (kv_idx * _u2))
        s = tl.where(kv_ok[None, :], s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        m_use = tl.where(m_new == float("-inf"), 0.0, m_new)  # nothing kept yet: keep p at 0
        p = tl.math.exp2(s - m_use[:, None])
        alpha = tl.math.exp2(m_i - m_use)
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(v_ptrs + start_n * svn, mask=kv_ok[:, None], other=0.0)
        acc = tl.dot(p.to(V.dtype.element_ty), v, acc * alpha[:, None])
        m_i = m_new
    for j in range(flo, fhi):  # mask-free key blocks
        start_n = j * BLOCK_N
        kv_idx = (start_n + offs_n)[None, :]
        k = tl.load(k_ptrs + start_n * skn)
        qk = tl.dot(q, tl.trans(k))
        s = ((qk * _u0) + (kv_idx * _u2))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        p = tl.math.exp2(s - m_new[:, None])
        alpha = tl.math.exp2(m_i - m_new)
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(v_ptrs + start_n * svn)
        acc = tl.dot(p.to(V.dtype.element_ty), v, acc * alpha[:, None])
        m_i = m_new
    for j in range(fhi, hi):  # masked key blocks
        start_n = j * BLOCK_N
        kv_idx = (start_n + offs_n)[None, :]
        kv_ok = (start_n + offs_n) < S
        k = tl.load(k_ptrs + start_n * skn, mask=kv_ok[:, None], other=0.0)
        qk = tl.dot(q, tl.trans(k))
        s = ((qk * _u0) + (kv_idx * _u2))
        s = tl.where(kv_ok[None, :], s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        m_use = tl.where(m_new == float("-inf"), 0.0, m_new)  # nothing kept yet: keep p at 0
        p = tl.math.exp2(s - m_use[:, None])
        alpha = tl.math.exp2(m_i - m_use)
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(v_ptrs + start_n * svn, mask=kv_ok[:, None], other=0.0)
        acc = tl.dot(p.to(V.dtype.element_ty), v, acc * alpha[:, None])
        m_i = m_new
    l_i = tl.where(l_i == 0.0, 1.0, l_i)  # rows with no kept key output 0
    out = acc / l_i[:, None]
    o_ptrs = O + b.to(tl.int64) * sob + h.to(tl.int64) * soh + offs_m[:, None] * som + offs_d[None, :] * sod
    tl.store(o_ptrs, out.to(O.dtype.element_ty), mask=offs_m[:, None] < S)


_TILES = {16: (128, 64, 4, 3), 32: (128, 64, 4, 3), 64: (128, 64, 4, 3), 128: (128, 64, 8, 3), 256: (64, 32, 4, 2)}


def attention(q, k, v, *, scale, **params):
    """Attention for problem alibi: q [B,Hq,S,D], k/v [B,Hkv,S,D] bf16 CUDA -> [B,Hq,S,D] bf16."""
    B, H, S, D = q.shape
    o = torch.empty_like(q)
    block_m, block_n, warps, stages = _TILES.get(D) or _TILES[128]
    t_slopes = params['slopes']
    grid = (triton.cdiv(S, block_m), B * H)
    _attn_fwd[grid](q, k, v, o, float(scale), *q.stride(), *k.stride(), *v.stride(), *o.stride(),
                    H, H // k.shape[1], S, t_slopes, t_slopes.numel(),
                    HEAD_DIM=D, BLOCK_M=block_m, BLOCK_N=block_n, num_warps=warps, num_stages=stages)
    return o
