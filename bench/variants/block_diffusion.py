"""Block Diffusion (BD3-LM) training mask over [noised x_t ; clean x_0], blocks of `block` tokens."""

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"block": 16},
    "correctness": [{"B": 1, "H": 2, "S": 96, "D": 32}, {"B": 2, "H": 2, "S": 320, "D": 64}],
}


def generate_block_diffusion(S, block=16):
    if S % 2:
        raise ValueError(f"block_diffusion needs an even sequence length (x_t then x_0), got S={S}")
    half = S // 2  # positions [0, half) are the noised copy, [half, S) the clean one

    def bd3_mask(b, h, q_idx, kv_idx):
        q_noisy = q_idx < half
        kv_noisy = kv_idx < half
        q_blk = (q_idx % half) // block
        kv_blk = (kv_idx % half) // block
        same_block_same_copy = (q_blk == kv_blk) & (q_noisy == kv_noisy)
        noisy_sees_earlier_clean = q_noisy & ~kv_noisy & (kv_blk < q_blk)
        clean_block_causal = ~q_noisy & ~kv_noisy & (kv_blk <= q_blk)
        return same_block_same_copy | noisy_sees_earlier_clean | clean_block_causal

    return {"score_mod": None, "mask_mod": bd3_mask, "tensors": {}}
