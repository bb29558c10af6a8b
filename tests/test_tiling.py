"""Tiled inference (``bench.tiling``): which tile every output pixel comes from, worked out by hand.

The probe model below makes the stitching visible: channel 0 of its output is the code ``100 * top +
left`` of the tile it was given (read from the tile's top-left input pixel), channel 1 is the input
upscaled by nearest neighbour (a tile-invariant model, exact in float64). Under the "centre" rule an
output pixel carries the code of the one tile that owns it; under the official "average" rule it
carries the mean code of the tiles covering it, i.e. ``100 * mean(row origins) + mean(column origins)``.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bench.tiling import OFFICIAL_OVERLAP, STITCH_RULES, _centre_spans, forward_tiled, official_tile_origins

BATCH_OFFSET = 100_000.0  # batch b carries codes + b * BATCH_OFFSET


def _coded_input(h: int, w: int, batch: int = 2) -> torch.Tensor:
    """``B x 3 x h x w`` float64: channel 0 = 100 * row + column (+ batch offset), channels 1, 2 = -1, -2."""
    rows = torch.arange(h, dtype=torch.float64)[:, None]
    cols = torch.arange(w, dtype=torch.float64)[None, :]
    code = 100 * rows + cols
    x = torch.empty(batch, 3, h, w, dtype=torch.float64)
    for b in range(batch):
        x[b, 0] = code + b * BATCH_OFFSET
        x[b, 1], x[b, 2] = -1.0, -2.0
    return x


class _Probe(nn.Module):
    """``B x 3 x h x w`` -> ``B x 2 x sh x sw``: [tile's top-left code, nearest-upscaled channel 0]."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.tiles: list[tuple[int, int]] = []  # (h, w) of every tile it ran on

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        self.tiles.append((t.shape[2], t.shape[3]))
        up = F.interpolate(t[:, :1], scale_factor=self.scale, mode="nearest")
        origin = t[:, :1, :1, :1].expand_as(up)
        return torch.cat([origin, up], dim=1)


def _owner_map(owners: list[int], scale: int) -> torch.Tensor:
    """Per LR pixel the origin of the tile used, repeated ``scale`` times (the output resolution)."""
    return torch.tensor(owners, dtype=torch.float64).repeat_interleave(scale)


def _expected(rows: list[float], cols: list[float], scale: int, batch: int = 2) -> torch.Tensor:
    code = 100 * _owner_map(rows, scale)[:, None] + _owner_map(cols, scale)[None, :]
    return torch.stack([code + b * BATCH_OFFSET for b in range(batch)])


def _upscaled(x: torch.Tensor, scale: int) -> torch.Tensor:
    return x[:, 0].repeat_interleave(scale, dim=1).repeat_interleave(scale, dim=2)


# ---- the centre rule ----------------------------------------------------------------------------------------


def test_centre_spans_by_hand() -> None:
    """length 10, tile 4, overlap 2: stride 2, starts range(0, 6, 2) + [6] = 0, 2, 4, 6; each cut between
    two tiles is the middle of their overlap: (2 + 4) // 2 = 3, (4 + 6) // 2 = 5, (6 + 8) // 2 = 7.
    length 11, tile 4, overlap 1: stride 3, starts 0, 3, 6 + [7]; cuts (3 + 4) // 2 = 3, (6 + 7) // 2 = 6,
    (7 + 10) // 2 = 8. A tile covering the axis (tile >= length) is the whole axis."""
    assert _centre_spans(10, 4, 2) == [(0, 4, 0, 3), (2, 6, 3, 5), (4, 8, 5, 7), (6, 10, 7, 10)]
    assert _centre_spans(11, 4, 1) == [(0, 4, 0, 3), (3, 7, 3, 6), (6, 10, 6, 8), (7, 11, 8, 11)]
    assert _centre_spans(4, 4, 2) == [(0, 4, 0, 4)]
    assert _centre_spans(5, 9, 2) == [(0, 5, 0, 5)]


def test_centre_rule_takes_each_pixel_from_its_owner_tile() -> None:
    """10 x 11 LR, tile 4, overlap 2, x3. Rows: spans of ``_centre_spans(10, 4, 2)``: LR rows 0-2 from the
    tile at 0, 3-4 from 2, 5-6 from 4, 7-9 from 6. Columns: starts 0, 2, 4, 6 + [7], cuts 3, 5, 7,
    (7 + 10) // 2 = 8: columns 0-2 from 0, 3-4 from 2, 5-6 from 4, 7 from 6, 8-10 from 7. 4 x 5 tiles."""
    x = _coded_input(10, 11)
    probe = _Probe(3)
    out = forward_tiled(probe, x, 3, tile=4, overlap=2, stitch="centre")
    assert out.shape == (2, 2, 30, 33) and out.dtype == torch.float64
    rows = [0, 0, 0, 2, 2, 4, 4, 6, 6, 6]
    cols = [0, 0, 0, 2, 2, 4, 4, 6, 7, 7, 7]
    assert torch.equal(out[:, 0], _expected(rows, cols, 3))
    assert torch.equal(out[:, 1], _upscaled(x, 3))  # every pixel placed where it belongs
    assert probe.tiles == [(4, 4)] * 20


def test_centre_rule_axis_shorter_than_the_tile_is_one_span() -> None:
    """10 x 4 LR, tile 4, overlap 2, x2: the columns fit one tile (0, 4), the rows are cut as above."""
    x = _coded_input(10, 4, batch=1)
    out = forward_tiled(_Probe(2), x, 2, tile=4, overlap=2)
    rows = [0, 0, 0, 2, 2, 4, 4, 6, 6, 6]
    assert torch.equal(out[:, 0], _expected(rows, [0] * 4, 2, batch=1))
    assert torch.equal(out[:, 1], _upscaled(x, 2))


def test_centre_rule_default_overlap_is_16() -> None:
    """100 x 40 LR, tile 40, default overlap 16: stride 24, row starts range(0, 60, 24) + [60] = 0, 24, 48,
    60; cuts (24 + 40) // 2 = 32, (48 + 64) // 2 = 56, (60 + 88) // 2 = 74."""
    x = _coded_input(100, 40, batch=1)
    out = forward_tiled(_Probe(1), x, 1, tile=40)
    rows = [0] * 32 + [24] * 24 + [48] * 18 + [60] * 26
    assert torch.equal(out[:, 0], _expected(rows, [0] * 40, 1, batch=1))


def test_centre_rule_reproduces_the_whole_image_below_half_the_overlap() -> None:
    """Two 3x3 box-sum convolutions (receptive-field radius 2, integer weights, integer inputs, float64:
    exact sums) then nearest x2. With overlap 6 (radius 2 < 6 / 2) every kept pixel sees no tile border,
    so the tiled output equals the whole-image output exactly; without overlap the seams differ."""
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.Conv2d(4, 2, 3, padding=1, bias=False),
                        nn.Upsample(scale_factor=2, mode="nearest")).double()
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[1].weight.fill_(1.0)
    x = torch.randint(0, 10, (2, 3, 23, 19), generator=torch.Generator().manual_seed(0)).double()
    with torch.no_grad():
        whole = net(x)
        tiled = forward_tiled(net, x, 2, tile=9, overlap=6)
        seams = forward_tiled(net, x, 2, tile=9, overlap=0)
    assert tiled.shape == whole.shape == (2, 2, 46, 38)
    assert torch.equal(tiled, whole)
    assert not torch.equal(seams, whole)


# ---- the official NTIRE "average" rule ----------------------------------------------------------------------


def test_official_tile_origins_by_hand() -> None:
    """Origins ``range(0, L - tile, tile - overlap) + [L - tile]``."""
    assert official_tile_origins(10, 4, 2) == [0, 2, 4, 6]
    assert official_tile_origins(11, 4, 1) == [0, 3, 6, 7]
    assert official_tile_origins(8, 4, 0) == [0, 4]
    assert official_tile_origins(4, 4, 2) == [0]
    assert official_tile_origins(9, 4, 3) == [0, 1, 2, 3, 4, 5]  # stride 1
    assert OFFICIAL_OVERLAP == 32
    assert official_tile_origins(100, 64) == [0, 32, 36]  # the official default overlap, 32


@pytest.mark.parametrize("tile, overlap", [(4, 4), (4, 5), (32, 32)])
def test_official_tile_origins_refuse_a_tile_not_above_the_overlap(tile: int, overlap: int) -> None:
    with pytest.raises(ValueError, match=rf"tile {tile} <= overlap {overlap}: the official tiling rule is undefined"):
        official_tile_origins(40, tile, overlap)


def test_average_rule_divides_by_the_coverage_count() -> None:
    """10 x 11 LR, tile 4, overlap 1, x2: stride 3, row origins 0, 3 + [6], column origins 0, 3, 6 + [7].
    Tiles covering each LR row: 0-2 {0}; 3 {0, 3}; 4-5 {3}; 6 {3, 6}; 7-9 {6}. Columns: 0-2 {0};
    3 {0, 3}; 4-5 {3}; 6 {3, 6}; 7-9 {6, 7}; 10 {7}. A pixel's code is the mean over the covering tiles:
    100 * mean(rows) + mean(columns), e.g. LR (3, 7): 100 * 1.5 + 6.5 = 156.5."""
    x = _coded_input(10, 11)
    probe = _Probe(2)
    out = forward_tiled(probe, x, 2, tile=4, overlap=1, stitch="average")
    assert out.shape == (2, 2, 20, 22)
    rows = [0, 0, 0, 1.5, 3, 3, 4.5, 6, 6, 6]
    cols = [0, 0, 0, 1.5, 3, 3, 4.5, 6.5, 6.5, 6.5, 7]
    assert torch.allclose(out[:, 0], _expected(rows, cols, 2), rtol=0, atol=1e-9)
    assert out[0, 0, 6, 14].item() == pytest.approx(156.5, abs=1e-9)
    assert torch.equal(out[:, 1], _upscaled(x, 2))  # equal tiles average to themselves
    assert probe.tiles == [(4, 4)] * 12


def test_average_rule_clamps_the_tile_to_the_image() -> None:
    """10 x 6 LR, tile 8 -> min(8, 10, 6) = 6, overlap 2: row origins range(0, 4, 4) + [4] = 0, 4; one
    column origin 0. Rows 0-3 {0}, 4-5 {0, 4}, 6-9 {4}: codes 0, 200, 400 (x 100)."""
    x = _coded_input(10, 6)
    probe = _Probe(2)
    out = forward_tiled(probe, x, 2, tile=8, overlap=2, stitch="average")
    assert probe.tiles == [(6, 6), (6, 6)]
    assert torch.allclose(out[:, 0], _expected([0] * 4 + [2] * 2 + [4] * 4, [0] * 6, 2), rtol=0, atol=1e-9)
    assert torch.equal(out[:, 1], _upscaled(x, 2))


def test_average_rule_without_overlap() -> None:
    """8 x 8 LR, tile 4, overlap 0: origins 0, 4 on both axes, four disjoint tiles, each pixel once."""
    x = _coded_input(8, 8, batch=1)
    out = forward_tiled(_Probe(1), x, 1, tile=4, overlap=0, stitch="average")
    owners = [0] * 4 + [4] * 4
    assert torch.equal(out[:, 0], _expected(owners, owners, 1, batch=1))


def test_average_rule_matches_the_official_loop_on_a_tile_dependent_model() -> None:
    """The official test_demo.py loop written out (accumulator + coverage count) on a model whose output
    depends on the whole tile (its mean), batch 2, 3 -> 3 channels, x4."""

    def model(t: torch.Tensor) -> torch.Tensor:
        return F.interpolate(t, scale_factor=4, mode="nearest") + t.mean(dim=(1, 2, 3), keepdim=True)

    x = torch.rand(2, 3, 13, 17, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    tile, overlap = 7, 3
    acc = torch.zeros(2, 3, 52, 68, dtype=torch.float64)
    cnt = torch.zeros_like(acc)
    for top in [*range(0, 13 - 7, 4), 6]:  # 0, 4 + [6]
        for left in [*range(0, 17 - 7, 4), 10]:  # 0, 4, 8 + [10]
            acc[..., top * 4:(top + 7) * 4, left * 4:(left + 7) * 4] += model(x[..., top:top + 7, left:left + 7])
            cnt[..., top * 4:(top + 7) * 4, left * 4:(left + 7) * 4] += 1
    got = forward_tiled(model, x, 4, tile=tile, overlap=overlap, stitch="average")
    assert torch.allclose(got, acc / cnt, rtol=0, atol=1e-12)
    assert not torch.allclose(got, model(x), atol=1e-3)


# ---- argument checks ------------------------------------------------------------------------------------------


def test_stitch_rules() -> None:
    assert STITCH_RULES == ("centre", "average")
    with pytest.raises(ValueError, match=r"stitch must be one of \('centre', 'average'\), not 'mean'"):
        forward_tiled(_Probe(1), _coded_input(8, 8), 1, tile=4, overlap=1, stitch="mean")


@pytest.mark.parametrize("stitch", STITCH_RULES)
@pytest.mark.parametrize("tile", [0, -4])
def test_non_positive_tile_is_refused(stitch: str, tile: int) -> None:
    with pytest.raises(ValueError, match="^tile must be positive$"):
        forward_tiled(_Probe(1), _coded_input(8, 8), 1, tile=tile, overlap=0, stitch=stitch)


@pytest.mark.parametrize("overlap", [-1, 4, 5])
def test_centre_overlap_outside_the_tile_is_refused(overlap: int) -> None:
    with pytest.raises(ValueError, match=rf"tile overlap must be in \[0, tile\), got {overlap} for tile 4"):
        forward_tiled(_Probe(1), _coded_input(8, 8), 1, tile=4, overlap=overlap)


def test_centre_extreme_overlaps_are_accepted() -> None:
    """overlap 0 (disjoint tiles 0, 4) and tile - 1 = 3 (stride 1, starts 0..4, cuts at (s + s + 3) // 2)."""
    x = _coded_input(8, 8, batch=1)
    disjoint = forward_tiled(_Probe(1), x, 1, tile=4, overlap=0)
    assert torch.equal(disjoint[:, 0], _expected([0] * 4 + [4] * 4, [0] * 4 + [4] * 4, 1, batch=1))
    dense = forward_tiled(_Probe(1), x, 1, tile=4, overlap=3)
    # starts 0, 1, 2, 3 + [4]; cuts (1 + 4) // 2 = 2, (2 + 5) // 2 = 3, (3 + 6) // 2 = 4, (4 + 7) // 2 = 5
    owners = [0, 0, 1, 2, 3, 4, 4, 4]
    assert torch.equal(dense[:, 0], _expected(owners, owners, 1, batch=1))


def test_average_negative_overlap_is_refused() -> None:
    with pytest.raises(ValueError, match="^tile overlap must be >= 0, got -1$"):
        forward_tiled(_Probe(1), _coded_input(8, 8), 1, tile=4, overlap=-1, stitch="average")


def test_average_rule_clamps_to_the_shorter_height() -> None:
    """6 x 10 LR, tile 8 -> min(8, 6, 10) = 6, overlap 2: one row origin 0; column origins 0 + [4]."""
    x = _coded_input(6, 10, batch=1)
    probe = _Probe(1)
    out = forward_tiled(probe, x, 1, tile=8, overlap=2, stitch="average")
    assert probe.tiles == [(6, 6), (6, 6)]
    assert torch.allclose(out[:, 0], _expected([0] * 6, [0] * 4 + [2] * 2 + [4] * 4, 1, batch=1), rtol=0, atol=1e-9)


@pytest.mark.parametrize("stitch", STITCH_RULES)
def test_one_pixel_tiles(stitch: str) -> None:
    """tile 1, overlap 0: every LR pixel is its own tile, so every output pixel carries its own code."""
    x = _coded_input(3, 4, batch=1)
    probe = _Probe(2)
    out = forward_tiled(probe, x, 2, tile=1, overlap=0, stitch=stitch)
    assert probe.tiles == [(1, 1)] * 12
    assert torch.equal(out[:, 0], _upscaled(x, 2)) and torch.equal(out[:, 1], _upscaled(x, 2))
