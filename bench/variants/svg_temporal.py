"""Sparse VideoGen temporal head: the prompt row and column in full, and the same spatial neighbourhood in every frame."""

KFORGE = {
    # laid out for a 256-token prompt and 15 frames of 256 tokens (4096); the 8192 shape has 31 such frames
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"prompt": 256, "frames": 15, "frame_tokens": 256, "width": 2},
}


def generate_svg_temporal(prompt=256, frames=15, frame_tokens=256, width=2):
    band = (width * frame_tokens) // frames

    def temporal(b, h, q_idx, kv_idx):
        q_pos = (q_idx - prompt) % frame_tokens
        kv_pos = (kv_idx - prompt) % frame_tokens
        return (q_idx < prompt) | (kv_idx < prompt) | ((q_pos - kv_pos).abs() < band)

    return {"score_mod": None, "mask_mod": temporal, "tensors": {}}
