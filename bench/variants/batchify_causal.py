"""Batchified causal mask: tokens in groups of `group`; causal attention inside a group only."""

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"group": 512},
}


def causal(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx


def batchify(inner, group):
    """Restricts `inner` to pairs in the same group, applied to positions within the group."""

    def grouped(b, h, q_idx, kv_idx):
        same_group = (q_idx // group) == (kv_idx // group)
        return same_group & inner(b, h, q_idx % group, kv_idx % group)

    return grouped


def generate_batchify_causal(group=512):
    return {"score_mod": None, "mask_mod": batchify(causal, group), "tensors": {}}
