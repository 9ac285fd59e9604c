"""Neighbourhood attention (NATTEN) on a row-major canvas: a kernel window centred on the query, clamped inside the canvas."""

KFORGE = {
    # a 64x64 canvas: both shapes hold one image of 4096 tokens
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 4096, "D": 64}],
    "params": {"canvas_h": 64, "canvas_w": 64, "kernel_h": 7, "kernel_w": 7},
}


def generate_natten(canvas_h=64, canvas_w=64, kernel_h=7, kernel_w=7):
    rh, rw = kernel_h // 2, kernel_w // 2

    def natten_mask(b, h, q_idx, kv_idx):
        q_row, q_col = q_idx // canvas_w, q_idx % canvas_w
        kv_row, kv_col = kv_idx // canvas_w, kv_idx % canvas_w
        # the window keeps its full size at the edges: its centre stays rh / rw away from the border
        centre_row = q_row.clamp(rh, canvas_h - 1 - rh)
        centre_col = q_col.clamp(rw, canvas_w - 1 - rw)
        return ((centre_row - kv_row).abs() <= rh) & ((centre_col - kv_col).abs() <= rw)

    return {"score_mod": None, "mask_mod": natten_mask, "tensors": {}}
