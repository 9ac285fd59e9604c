"""Sliding Tile Attention, 3-D video: each (t, h, w) tile sees a window of whole tiles around it."""

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"frame_h": 16, "frame_w": 16, "tile": 4, "kernel": 12},
    "correctness": [{"B": 1, "H": 2, "S": 3072, "D": 32}, {"B": 1, "H": 2, "S": 4096, "D": 64}],
}


def generate_sta_3d(S, frame_h=16, frame_w=16, tile=4, kernel=12):
    frames = S // (frame_h * frame_w)
    if frames * frame_h * frame_w != S or frames % tile or frame_h % tile or frame_w % tile or kernel % tile:
        raise ValueError(f"sta_3d: S={S} must be whole frames of {frame_h}x{frame_w}, all sides multiples of the tile {tile}")
    tiles_t, tiles_h, tiles_w = frames // tile, frame_h // tile, frame_w // tile
    k = kernel // tile
    before, after = k // 2, (k - 1) // 2
    tile_size = tile**3

    def tile_coords(idx):
        t = idx // tile_size
        return t // (tiles_h * tiles_w), (t // tiles_w) % tiles_h, t % tiles_w

    def near(q, kv, tiles):
        centre = q.clamp(before, tiles - 1 - after)
        return (kv >= centre - before) & (kv <= centre + after)

    def sta_mask(b, h, q_idx, kv_idx):
        qt, qh, qw = tile_coords(q_idx)
        kt, kh, kw = tile_coords(kv_idx)
        return near(qt, kt, tiles_t) & near(qh, kh, tiles_h) & near(qw, kw, tiles_w)

    return {"score_mod": None, "mask_mod": sta_mask, "tensors": {}}
