"""Sparse VideoGen temporal head: the prompt row and column in full, and the same spatial neighbourhood in every frame."""

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"prompt": 256, "frame_tokens": 256, "width": 2},
    "correctness": [{"B": 1, "H": 2, "S": 512, "D": 32}, {"B": 2, "H": 2, "S": 768, "D": 64}],
}


def generate_svg_temporal(S, prompt=256, frame_tokens=256, width=2):
    frames = (S - prompt) // frame_tokens
    if frames < 1 or prompt + frames * frame_tokens != S:
        raise ValueError(f"svg_temporal: S={S} must be the {prompt}-token prompt plus whole frames of {frame_tokens}")
    band = (width * frame_tokens) // frames

    def temporal(b, h, q_idx, kv_idx):
        q_pos = (q_idx - prompt) % frame_tokens
        kv_pos = (kv_idx - prompt) % frame_tokens
        return (q_idx < prompt) | (kv_idx < prompt) | ((q_pos - kv_pos).abs() < band)

    return {"score_mod": None, "mask_mod": temporal, "tensors": {}}
