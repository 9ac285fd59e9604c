"""Sliding Tile Attention, 3-D video: each (t, h, w) tile sees a window of whole tiles around it."""

KFORGE = {
    # 16 frames of 16x16 in 4x4x4 tiles: 4096 tokens in both shapes
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 4096, "D": 64}],
    "params": {"frames": 16, "frame_h": 16, "frame_w": 16, "tile": 4, "kernel": 12},
}


def generate_sta_3d(frames=16, frame_h=16, frame_w=16, tile=4, kernel=12):
    if frames % tile or frame_h % tile or frame_w % tile or kernel % tile:
        raise ValueError(f"sta_3d: the video and the kernel must be whole numbers of {tile}-tiles")
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
