"""Grouped-query attention: full attention where each group of H/Hkv query heads shares one KV head."""
import torch


def make_score_mod(**_):
    """No score modification."""
    return None


def make_mask_mod(**_):
    """No mask: every query sees every key."""
    return None


def reference(q, k, v, *, scale):
    """The correctness spec in plain PyTorch math, computed in q's dtype (float64, float32 or bf16)."""
    k, v = _expand_kv(q, k, v)
    s = torch.matmul(q, k.transpose(-2, -1)) * scale
    return _softmax_av(s, None, v)


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
