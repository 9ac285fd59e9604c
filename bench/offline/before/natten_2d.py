"""kforge offline template, problem natten_2d: score_mod none; mask_mod translated, interval block skipping; softmax linear.

Config: {}
"""
import torch
import triton
import triton.language as tl


@triton.jit
def _classify(q_lo, q_hi, k_lo, k_hi, b, h, p_grid_w, p_radius):
    # (may, must): may some (q, kv) of the tile be kept; are all kept. Works on scalars and per-block vectors.
    _i0 = q_lo // p_grid_w
    _i1 = q_hi // p_grid_w
    _i2 = k_lo // p_grid_w
    _i3 = k_hi // p_grid_w
    _i4 = _i0 - _i3
    _i5 = _i1 - _i2
    _i6 = _i4 <= p_radius
    _i7 = _i5 <= p_radius
    _i8 = k_lo // p_grid_w
    _i9 = k_hi // p_grid_w
    _i10 = q_lo // p_grid_w
    _i11 = q_hi // p_grid_w
    _i12 = _i8 - _i11
    _i13 = _i9 - _i10
    _i14 = _i12 <= p_radius
    _i15 = _i13 <= p_radius
    _i16 = _i6 & _i14
    _i17 = _i7 & _i15
    _i18 = (q_lo // p_grid_w) == (q_hi // p_grid_w)
    _i19 = tl.where(_i18, q_lo % p_grid_w, 0)
    _i20 = tl.where(_i18, q_hi % p_grid_w, p_grid_w - 1)
    _i21 = (k_lo // p_grid_w) == (k_hi // p_grid_w)
    _i22 = tl.where(_i21, k_lo % p_grid_w, 0)
    _i23 = tl.where(_i21, k_hi % p_grid_w, p_grid_w - 1)
    _i24 = _i19 - _i23
    _i25 = _i20 - _i22
    _i26 = _i24 <= p_radius
    _i27 = _i25 <= p_radius
    _i28 = (k_lo // p_grid_w) == (k_hi // p_grid_w)
    _i29 = tl.where(_i28, k_lo % p_grid_w, 0)
    _i30 = tl.where(_i28, k_hi % p_grid_w, p_grid_w - 1)
    _i31 = (q_lo // p_grid_w) == (q_hi // p_grid_w)
    _i32 = tl.where(_i31, q_lo % p_grid_w, 0)
    _i33 = tl.where(_i31, q_hi % p_grid_w, p_grid_w - 1)
    _i34 = _i29 - _i33
    _i35 = _i30 - _i32
    _i36 = _i34 <= p_radius
    _i37 = _i35 <= p_radius
    _i38 = _i26 & _i36
    _i39 = _i27 & _i37
    _i40 = _i16 & _i38
    _i41 = _i17 & _i39
    return _i40, _i41


@triton.jit
def _attn_fwd(Q, K, V, O, sm_scale,
              sqb, sqh, sqm, sqd, skb, skh, skn, skd, svb, svh, svn, svd, sob, soh, som, sod,
              H, GROUP, S, p_grid_w, p_radius,
              HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, NB_P2: tl.constexpr):
    pid_m = tl.num_programs(0) - 1 - tl.program_id(0)
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
    _u1 = (q_idx // p_grid_w)
    _u2 = (q_idx % p_grid_w)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
    # classify every key block for this query block (vectorised), then find the loop bounds
    q_lo = m0
    q_hi = tl.minimum(m0 + BLOCK_M, S) - 1
    n_blocks = tl.cdiv(S, BLOCK_N)
    jb = tl.arange(0, NB_P2)
    blk_ok = jb < n_blocks
    may_v, must_v = _classify(q_lo, q_hi, jb * BLOCK_N, tl.minimum(jb * BLOCK_N + BLOCK_N, S) - 1, b, h, p_grid_w, p_radius)
    may_v = may_v & blk_ok
    must_v = must_v & may_v & (jb * BLOCK_N + BLOCK_N <= S)
    lo = tl.min(tl.where(may_v, jb, n_blocks), 0)
    hi = tl.maximum(tl.max(tl.where(may_v, jb + 1, 0), 0), lo)
    flo = tl.min(tl.where(must_v, jb, hi), 0)
    fhi = tl.maximum(tl.min(tl.where((jb > flo) & ~must_v, jb, hi), 0), flo)
    for j in range(lo, flo):  # masked key blocks
        start_n = j * BLOCK_N
        kv_idx = (start_n + offs_n)[None, :]
        kv_ok = (start_n + offs_n) < S
        k = tl.load(k_ptrs + start_n * skn, mask=kv_ok[:, None], other=0.0)
        qk = tl.dot(q, tl.trans(k))
        x = qk
        x = tl.where(((((_u1 - (kv_idx // p_grid_w)) <= p_radius) & (((kv_idx // p_grid_w) - _u1) <= p_radius)) & (((_u2 - (kv_idx % p_grid_w)) <= p_radius) & (((kv_idx % p_grid_w) - _u2) <= p_radius))) & kv_ok[None, :], x, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(x, 1) * _u0)
        m_use = tl.where(m_new == float("-inf"), 0.0, m_new)  # nothing kept yet: keep p at 0
        p = tl.math.exp2(x * _u0 - m_use[:, None])
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
        m_new = tl.maximum(m_i, tl.max(qk, 1) * _u0)
        p = tl.math.exp2(qk * _u0 - m_new[:, None])
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
        x = qk
        x = tl.where(((((_u1 - (kv_idx // p_grid_w)) <= p_radius) & (((kv_idx // p_grid_w) - _u1) <= p_radius)) & (((_u2 - (kv_idx % p_grid_w)) <= p_radius) & (((kv_idx % p_grid_w) - _u2) <= p_radius))) & kv_ok[None, :], x, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(x, 1) * _u0)
        m_use = tl.where(m_new == float("-inf"), 0.0, m_new)  # nothing kept yet: keep p at 0
        p = tl.math.exp2(x * _u0 - m_use[:, None])
        alpha = tl.math.exp2(m_i - m_use)
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(v_ptrs + start_n * svn, mask=kv_ok[:, None], other=0.0)
        acc = tl.dot(p.to(V.dtype.element_ty), v, acc * alpha[:, None])
        m_i = m_new
    l_i = tl.where(l_i == 0.0, 1.0, l_i)  # rows with no kept key output 0
    out = acc / l_i[:, None]
    o_ptrs = O + b.to(tl.int64) * sob + h.to(tl.int64) * soh + offs_m[:, None] * som + offs_d[None, :] * sod
    tl.store(o_ptrs, out.to(O.dtype.element_ty), mask=offs_m[:, None] < S)


@triton.jit
def _classify_grid(qr_lo, qr_hi, qc_lo, qc_hi, kr_lo, kr_hi, kc_lo, kc_hi, b, h, p_grid_w, p_radius):
    # (may, must) over a rectangle of query rows/columns and one of key rows/columns of the 2-D grid
    k_lo = kr_lo + kc_lo  # (only its shape and sign are used: constant booleans)
    _i0 = qr_lo - kr_hi
    _i1 = qr_hi - kr_lo
    _i2 = _i0 <= p_radius
    _i3 = _i1 <= p_radius
    _i4 = kr_lo - qr_hi
    _i5 = kr_hi - qr_lo
    _i6 = _i4 <= p_radius
    _i7 = _i5 <= p_radius
    _i8 = _i2 & _i6
    _i9 = _i3 & _i7
    _i10 = qc_lo - kc_hi
    _i11 = qc_hi - kc_lo
    _i12 = _i10 <= p_radius
    _i13 = _i11 <= p_radius
    _i14 = kc_lo - qc_hi
    _i15 = kc_hi - qc_lo
    _i16 = _i14 <= p_radius
    _i17 = _i15 <= p_radius
    _i18 = _i12 & _i16
    _i19 = _i13 & _i17
    _i20 = _i8 & _i18
    _i21 = _i9 & _i19
    return _i20, _i21


@triton.jit
def _attn_fwd_grid(Q, K, V, O, sm_scale,
                   sqb, sqh, sqm, sqd, skb, skh, skn, skd, svb, svh, svn, svd, sob, soh, som, sod,
                   H, GROUP, S, GW, p_grid_w, p_radius,
                   HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, TILE_R: tl.constexpr,
                   TILE_C: tl.constexpr, NR_P2: tl.constexpr, NC_P2: tl.constexpr):
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
    _u0 = (sm_scale * 1.4426950408889634)
    _u1 = (q_idx // p_grid_w)
    _u2 = (q_idx % p_grid_w)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
    # the key rectangle: grid rows and columns some query of this tile may see (interval arithmetic per
    # row with every column allowed, per column with every row allowed: it holds every kept key)
    qr_lo = tr * TILE_R
    qr_hi = tl.minimum(qr_lo + TILE_R, n_rows) - 1
    qc_lo = tc * TILE_C
    qc_hi = tl.minimum(qc_lo + TILE_C, GW) - 1
    rv = tl.arange(0, NR_P2)
    may_r, must_r = _classify_grid(qr_lo, qr_hi, qc_lo, qc_hi, rv, rv, rv * 0, rv * 0 + GW - 1, b, h, p_grid_w, p_radius)
    may_r = may_r & (rv < n_rows)
    r0 = tl.min(tl.where(may_r, rv, n_rows), 0)
    n_r = tl.maximum(tl.max(tl.where(may_r, rv + 1, 0), 0) - r0, 0)
    cv = tl.arange(0, NC_P2)
    may_c, must_c = _classify_grid(qr_lo, qr_hi, qc_lo, qc_hi, cv * 0, cv * 0 + n_rows - 1, cv, cv, b, h, p_grid_w, p_radius)
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
    for j in range(0, tl.cdiv(n_keys, BLOCK_N)):  # the key rectangle, BLOCK_N keys at a time
        kv_flat = kr * GW + kc
        kv_row = kr[None, :]
        kv_col = kc[None, :]
        kv_idx = kv_flat[None, :]
        kv_ok = (j * BLOCK_N + offs_n < n_keys) & (kv_flat < S)
        k = tl.load(k_ptrs + kv_flat[:, None] * skn, mask=kv_ok[:, None], other=0.0)
        qk = tl.dot(q, tl.trans(k))
        x = qk
        x = tl.where(((((q_row - kv_row) <= p_radius) & ((kv_row - q_row) <= p_radius)) & (((q_col - kv_col) <= p_radius) & ((kv_col - q_col) <= p_radius))) & kv_ok[None, :], x, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(x, 1) * _u0)
        m_use = tl.where(m_new == float("-inf"), 0.0, m_new)  # nothing kept yet: keep p at 0
        p = tl.math.exp2(x * _u0 - m_use[:, None])
        alpha = tl.math.exp2(m_i - m_use)
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(v_ptrs + kv_flat[:, None] * svn, mask=kv_ok[:, None], other=0.0)
        acc = tl.dot(p.to(V.dtype.element_ty), v, acc * alpha[:, None])
        m_i = m_new
        kc = kc + step_c
        kr = kr + step_r + tl.where(kc >= c0 + rw, 1, 0)
        kc = tl.where(kc >= c0 + rw, kc - rw, kc)
    l_i = tl.where(l_i == 0.0, 1.0, l_i)  # rows with no kept key output 0
    out = acc / l_i[:, None]
    o_ptrs = O + b.to(tl.int64) * sob + h.to(tl.int64) * soh + offs_m[:, None] * som + offs_d[None, :] * sod
    tl.store(o_ptrs, out.to(O.dtype.element_ty), mask=q_ok[:, None])


_TILES = {16: (64, 32, 4, 2), 32: (64, 32, 4, 2), 64: (64, 32, 4, 2), 128: (64, 32, 4, 3), 256: (64, 32, 4, 2)}


def attention(q, k, v, *, scale, **params):
    """Attention for problem natten_2d: q [B,Hq,S,D], k/v [B,Hkv,S,D] bf16 CUDA -> [B,Hq,S,D] bf16."""
    B, H, S, D = q.shape
    o = torch.empty_like(q)
    block_m, block_n, warps, stages = _TILES.get(D) or _TILES[128]
    p_grid_w = params['grid_w']
    p_radius = params['radius']
    gw = float(params['grid_w'])  # grid width of the 2-D layout (switch grid2d)
    if float(gw).is_integer() and 1 <= gw <= 4096 and triton.cdiv(S, int(gw)) <= 1024:
        gw = int(gw)
        tile_c = min(1 << (block_m.bit_length() // 2), triton.next_power_of_2(gw))  # a near-square tile
        n_rows = triton.cdiv(S, gw)
        grid = (triton.cdiv(n_rows, block_m // tile_c) * triton.cdiv(gw, tile_c), B * H)
        _attn_fwd_grid[grid](q, k, v, o, float(scale), *q.stride(), *k.stride(), *v.stride(), *o.stride(),
                             H, H // k.shape[1], S, gw, p_grid_w, p_radius,
                             HEAD_DIM=D, BLOCK_M=block_m, BLOCK_N=block_n, TILE_R=block_m // tile_c, TILE_C=tile_c,
                             NR_P2=max(16, triton.next_power_of_2(n_rows)), NC_P2=max(16, triton.next_power_of_2(gw)),
                             num_warps=warps, num_stages=stages)
        return o
    grid = (triton.cdiv(S, block_m), B * H)
    _attn_fwd[grid](q, k, v, o, float(scale), *q.stride(), *k.stride(), *v.stride(), *o.stride(),
                    H, H // k.shape[1], S, p_grid_w, p_radius,
                    HEAD_DIM=D, BLOCK_M=block_m, BLOCK_N=block_n, NB_P2=max(16, triton.next_power_of_2(triton.cdiv(S, block_n))), num_warps=warps, num_stages=stages)
    return o
