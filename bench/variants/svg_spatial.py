"""Sparse VideoGen spatial head: the prompt row and column in full, and a band of about `width` frames around the diagonal."""

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"prompt": 256, "frame_tokens": 256, "width": 2, "round_to": 128, "attn_sink": False},
    "correctness": [{"B": 1, "H": 2, "S": 512, "D": 32}, {"B": 2, "H": 2, "S": 768, "D": 64}],
}


def generate_svg_spatial(S, prompt=256, frame_tokens=256, width=2, round_to=128, attn_sink=False):
    if S < prompt + frame_tokens:
        raise ValueError(f"svg_spatial: S={S} must hold the {prompt}-token prompt and at least one frame")
    band = (width * frame_tokens) // round_to * round_to  # rounded down for whole hardware blocks
    sink = prompt + frame_tokens if attn_sink else prompt  # the first frame also acts as a sink

    def spatial(b, h, q_idx, kv_idx):
        return (q_idx < prompt) | (kv_idx < sink) | ((q_idx - kv_idx).abs() < band)

    return {"score_mod": None, "mask_mod": spatial, "tensors": {}}
