"""Document masking: causal attention within each packed document (doc_ids[q] == doc_ids[kv])."""
import torch


def make_score_mod(**_):
    """No score modification."""
    return None


def make_mask_mod(doc_ids, **_):
    """FlexAttention mask_mod for the baseline."""

    def document_causal(b, h, q_idx, kv_idx):
        causal = q_idx >= kv_idx
        same_doc = doc_ids[q_idx] == doc_ids[kv_idx]
        return causal & same_doc

    return document_causal


def reference(q, k, v, *, scale, doc_ids):
    """The correctness spec in plain PyTorch math, computed in q's dtype (float64, float32 or bf16)."""
    k, v = _expand_kv(q, k, v)
    s = torch.matmul(q, k.transpose(-2, -1)) * scale
    q_idx, kv_idx = _positions(q, k)
    doc = doc_ids.to(q.device).long()
    keep = (q_idx >= kv_idx) & (doc[q_idx] == doc[kv_idx])
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
