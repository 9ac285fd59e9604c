"""NATTEN with tokens in Morton (Z-order) layout: x takes the even bits of the index, y the odd bits."""

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 4096, "D": 64}],
    "params": {"canvas_w": 64, "canvas_h": 64, "kernel": 7},
}


def compact_even_bits(v):
    """Keeps bits 0, 2, 4, ... of v (up to 32 bits), packed together: the inverse of spreading a 16-bit value."""
    v = v & 0x55555555
    v = (v | (v >> 1)) & 0x33333333
    v = (v | (v >> 2)) & 0x0F0F0F0F
    v = (v | (v >> 4)) & 0x00FF00FF
    v = (v | (v >> 8)) & 0x0000FFFF
    return v


def generate_natten_morton(canvas_w=64, canvas_h=64, kernel=7):
    r = kernel // 2

    def morton_natten(b, h, q_idx, kv_idx):
        q_x, q_y = compact_even_bits(q_idx), compact_even_bits(q_idx >> 1)
        kv_x, kv_y = compact_even_bits(kv_idx), compact_even_bits(kv_idx >> 1)
        centre_x = q_x.clamp(r, canvas_w - 1 - r)
        centre_y = q_y.clamp(r, canvas_h - 1 - r)
        return ((centre_x - kv_x).abs() <= r) & ((centre_y - kv_y).abs() <= r)

    return {"score_mod": None, "mask_mod": morton_natten, "tensors": {}}
