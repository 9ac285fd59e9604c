"""A plain Triton flash-attention forward (optional softcap, GQA) with its tile config as arguments,
so the ncu recording can profile a good config and deliberately bad ones (spilling, tiny tiles).

`make_attention(BLOCK_M=..., BLOCK_N=..., num_warps=..., num_stages=...)` returns a function with the
candidate contract: attention(q, k, v, *, scale, cap=None) -> [B, H, S, D] bf16.
"""

import torch
import triton
import triton.language as tl

LOG2E = 1.4426950408889634


@triton.jit
def _attn_fwd(Q, K, V, O, sm_scale, cap,
              s_qb, s_qh, s_qs, s_kb, s_kh, s_ks, s_vb, s_vh, s_vs, s_ob, s_oh, s_os,
              H, GROUP, S,
              D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, SOFTCAP: tl.constexpr):
    pid_m = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh // H
    h = bh % H
    hk = h // GROUP
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, D)
    q = tl.load(Q + b * s_qb + h * s_qh + offs_m[:, None] * s_qs + offs_d[None, :], mask=offs_m[:, None] < S, other=0.0)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, D], tl.float32)
    k_base = K + b * s_kb + hk * s_kh
    v_base = V + b * s_vb + hk * s_vh
    for start_n in range(0, S, BLOCK_N):
        cols = start_n + offs_n
        k = tl.load(k_base + cols[None, :] * s_ks + offs_d[:, None], mask=cols[None, :] < S, other=0.0)
        s = tl.dot(q, k) * sm_scale
        if SOFTCAP:
            # cap * tanh(s / cap) with tanh(t) = 1 - 2 / (exp(2t) + 1): no NaN at +-inf.
            s = cap * (1.0 - 2.0 / (tl.exp2((2.0 * 1.4426950408889634 / cap) * s) + 1.0))
        s = tl.where(cols[None, :] < S, s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        p = tl.exp2((s - m_new[:, None]) * 1.4426950408889634)
        alpha = tl.exp2((m_i - m_new) * 1.4426950408889634)
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None]
        v = tl.load(v_base + cols[:, None] * s_vs + offs_d[None, :], mask=cols[:, None] < S, other=0.0)
        acc = tl.dot(p.to(v.dtype), v, acc)
        m_i = m_new
    acc = acc / l_i[:, None]
    tl.store(O + b * s_ob + h * s_oh + offs_m[:, None] * s_os + offs_d[None, :], acc.to(O.dtype.element_ty), mask=offs_m[:, None] < S)


def make_attention(BLOCK_M=128, BLOCK_N=64, num_warps=8, num_stages=3):
    """An `attention` function bound to one tile config."""

    def attention(q, k, v, *, scale, cap=None, **_):
        B, H, S, D = q.shape
        Hkv = k.shape[1]
        o = torch.empty_like(q)
        grid = (triton.cdiv(S, BLOCK_M), B * H)
        _attn_fwd[grid](
            q, k, v, o, scale, float(cap or 0.0),
            q.stride(0), q.stride(1), q.stride(2), k.stride(0), k.stride(1), k.stride(2),
            v.stride(0), v.stride(1), v.stride(2), o.stride(0), o.stride(1), o.stride(2),
            H, H // Hkv, S,
            D=D, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, SOFTCAP=cap is not None,
            num_warps=num_warps, num_stages=num_stages,
        )
        return o

    return attention


attention = make_attention()
