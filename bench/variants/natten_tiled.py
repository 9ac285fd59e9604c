"""NATTEN with the canvas stored tile by tile (tile_h x tile_w tiles, row-major inside and across tiles)."""

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 4096, "D": 64}],
    "params": {"canvas_h": 64, "canvas_w": 64, "kernel": 7, "tile_h": 8, "tile_w": 8},
}


def generate_natten_tiled(canvas_h=64, canvas_w=64, kernel=7, tile_h=8, tile_w=8):
    tiles_per_row = canvas_w // tile_w
    tile_size = tile_h * tile_w
    r = kernel // 2

    def position(idx):
        tile, inside = idx // tile_size, idx % tile_size
        row = (tile // tiles_per_row) * tile_h + inside // tile_w
        col = (tile % tiles_per_row) * tile_w + inside % tile_w
        return row, col

    def tiled_natten(b, h, q_idx, kv_idx):
        q_row, q_col = position(q_idx)
        kv_row, kv_col = position(kv_idx)
        centre_row = q_row.clamp(r, canvas_h - 1 - r)
        centre_col = q_col.clamp(r, canvas_w - 1 - r)
        return ((centre_row - kv_row).abs() <= r) & ((centre_col - kv_col).abs() <= r)

    return {"score_mod": None, "mask_mod": tiled_natten, "tensors": {}}
