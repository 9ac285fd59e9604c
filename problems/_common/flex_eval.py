"""Generic eager evaluation of FlexAttention-form score_mod/mask_mod on broadcast index grids.

Used by tests (to check each problem's plain-math reference against its mods). Suite references never
import it: each reference.py is self-contained. User variants (`kforge problems new`) are evaluated element by
element by the harness instead (kforge_harness/variant_build.py), as FlexAttention calls their mods.
"""
import torch


def flex_reference(q, k, v, scale, score_mod=None, mask_mod=None):
    """softmax(score_mod(q k^T * scale)) @ v over the keys mask_mod keeps, in q's dtype; empty rows give 0."""
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    n_b, n_h, s_q, _ = q.shape
    s_kv = k.shape[-2]
    dev = q.device
    # FlexAttention calls the mods once per (b, h, q_idx, kv_idx); broadcasting does all at once.
    b = torch.arange(n_b, device=dev).view(n_b, 1, 1, 1)
    h = torch.arange(n_h, device=dev).view(1, n_h, 1, 1)
    q_idx = torch.arange(s_q, device=dev).view(1, 1, s_q, 1)
    kv_idx = torch.arange(s_kv, device=dev).view(1, 1, 1, s_kv)
    s = torch.matmul(q, k.transpose(-2, -1)) * scale
    if score_mod is not None:
        s = torch.broadcast_to(torch.as_tensor(score_mod(s, b, h, q_idx, kv_idx)), s.shape).to(s.dtype)
    keep = None
    if mask_mod is not None:
        keep = torch.broadcast_to(torch.as_tensor(mask_mod(b, h, q_idx, kv_idx), device=dev), s.shape).bool()
        s = s.masked_fill(~keep, float("-inf"))
    p = torch.softmax(s, dim=-1)
    if keep is not None:
        p = p.masked_fill(~keep.any(dim=-1, keepdim=True), 0.0)
    return torch.matmul(p, v)
