"""Sparse VideoGen spatial head: the prompt row and column in full, and a band of about `width` frames around the diagonal."""

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"prompt": 256, "frame_tokens": 256, "width": 2, "round_to": 128, "attn_sink": False},
}


def generate_svg_spatial(prompt=256, frame_tokens=256, width=2, round_to=128, attn_sink=False):
    band = (width * frame_tokens) // round_to * round_to  # rounded down for whole hardware blocks
    sink = prompt + frame_tokens if attn_sink else prompt  # the first frame also acts as a sink

    def spatial(b, h, q_idx, kv_idx):
        return (q_idx < prompt) | (kv_idx < sink) | ((q_idx - kv_idx).abs() < band)

    return {"score_mod": None, "mask_mod": spatial, "tensors": {}}
