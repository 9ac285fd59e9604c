"""Prefix LM: the first `prefix` keys are visible to every query; the rest are causal."""
import torch


def make_score_mod(**_):
    """No score modification."""
    return None


def make_mask_mod(prefix, **_):
    """FlexAttention mask_mod for the baseline."""

    def prefix_lm(b, h, q_idx, kv_idx):
        return (kv_idx < prefix) | (q_idx >= kv_idx)

    return prefix_lm


def reference(q, k, v, *, scale, prefix):
    """The correctness spec in plain PyTorch math, computed in q's dtype (float64, float32 or bf16)."""
    k, v = _expand_kv(q, k, v)
    s = torch.matmul(q, k.transpose(-2, -1)) * scale
    q_idx, kv_idx = _positions(q, k)
    keep = (kv_idx < prefix) | (q_idx >= kv_idx)
    return _softmax_av(s, keep, v)


def _positions(q, k):
    """Query and key indices as broadcastable [S_q, 1] and [1, S_kv] int64 grids."""
    q_idx = torch.arange(q.shape[-2], device=q.device)[:, None]
    kv_idx = torch.arange(k.shape[-2], device=q.device)[None, :]
    return q_idx, kv_idx


def _expand_kv(q, k, v):
    """GQA: query head h reads KV head h // (H / Hkv), so each KV head is repeated for its group."""
    group = q.shape[1] // k.shape[1]
    return k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)


def _softmax_av(s, keep, v):
    """softmax over the kept keys, times v; a query row with no kept key returns 0."""
    if keep is not None:
        s = s.masked_fill(~keep, float("-inf"))
    p = torch.softmax(s, dim=-1)
    if keep is not None:
        p = p.masked_fill(~keep.any(dim=-1, keepdim=True), 0.0)
    return torch.matmul(p, v)
