"""JetSpec draft-head training mask: each sampled block sees the prefix and, causally, itself."""

KFORGE = {
    "shapes": [
        {"B": 4, "H": 16, "S": 4096, "Skv": 8192, "D": 128},
        {"B": 2, "H": 32, "S": 8192, "Skv": 12288, "D": 64},
    ],
    "params": {"block": 16},
    "correctness": [{"B": 1, "H": 2, "S": 48, "Skv": 101, "D": 32}, {"B": 2, "H": 2, "S": 320, "Skv": 640, "D": 64}],
}


def generate_jetspec_training(S, S_kv, block=16):
    prefix = S_kv - S  # keys: the verified prefix, then the sampled blocks laid out like the queries
    if prefix < 0 or S % block:
        raise ValueError(f"jetspec_training: need S_kv >= S and S a multiple of {block} (got S={S}, S_kv={S_kv})")

    def draft_training(b, h, q_idx, kv_idx):
        rel = kv_idx - prefix
        same_block = (rel >= 0) & (rel // block == q_idx // block)
        return (kv_idx < prefix) | (same_block & (rel % block <= q_idx % block))

    return {"score_mod": None, "mask_mod": draft_training, "tensors": {}}
