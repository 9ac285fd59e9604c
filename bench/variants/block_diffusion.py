"""Block Diffusion (BD3-LM) training mask over [noised x_t ; clean x_0] of `clean_len` tokens each, in blocks of `block`."""

KFORGE = {
    # the mask is laid out for 2 * clean_len = 4096 tokens: both shapes have that length
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 4096, "D": 64}],
    "params": {"clean_len": 2048, "block": 16},
}


def generate_block_diffusion(clean_len=2048, block=16):
    def bd3_mask(b, h, q_idx, kv_idx):
        q_noisy = q_idx < clean_len  # [0, clean_len) is the noised copy, [clean_len, 2 clean_len) the clean one
        kv_noisy = kv_idx < clean_len
        q_blk = (q_idx % clean_len) // block
        kv_blk = (kv_idx % clean_len) // block
        same_block_same_copy = (q_blk == kv_blk) & (q_noisy == kv_noisy)
        noisy_sees_earlier_clean = q_noisy & ~kv_noisy & (kv_blk < q_blk)
        clean_block_causal = ~q_noisy & ~kv_noisy & (kv_blk <= q_blk)
        return same_block_same_copy | noisy_sees_earlier_clean | clean_block_causal

    return {"score_mod": None, "mask_mod": bd3_mask, "tensors": {}}
