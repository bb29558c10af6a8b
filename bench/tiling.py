"""Tiled inference: run a model on overlapping LR tiles and stitch the upscaled output.

One implementation, two stitching rules (``stitch``):

* ``"centre"`` (the suite's default): neighbouring tiles overlap by ``overlap`` LR pixels and each
  output pixel comes from the tile whose cut is farthest away (half the overlap on each side), so a
  model whose receptive field is below ``overlap / 2`` reproduces whole-image inference exactly.
* ``"average"``: the rule of the official NTIRE ESR ``test_demo.py`` (2022-2026 ``forward(img_lq,
  model, tile, tile_overlap=32, scale=4)``, itself from SwinIR's test script): ``tile = min(tile, h,
  w)``, stride ``tile - overlap``, tile origins ``range(0, L - tile, stride) + [L - tile]`` on each
  axis, every tile output added into an accumulator and divided by the number of tiles covering each
  pixel. :data:`OFFICIAL_OVERLAP` is the official default overlap (32 LR pixels).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["STITCH_RULES", "OFFICIAL_OVERLAP", "forward_tiled", "official_tile_origins"]

STITCH_RULES = ("centre", "average")
OFFICIAL_OVERLAP = 32  # NTIRE ESR test_demo.py: forward(..., tile_overlap=32)


def _centre_spans(length: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """Tiles along one axis: (start, end, keep_from, keep_to) in input pixels."""
    if tile >= length:
        return [(0, length, 0, length)]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride)) + [length - tile]
    spans = []
    for i, s in enumerate(starts):
        e = s + tile
        keep_from = 0 if i == 0 else (s + (starts[i - 1] + tile)) // 2
        keep_to = length if i == len(starts) - 1 else (starts[i + 1] + e) // 2
        spans.append((s, e, keep_from, keep_to))
    return spans


def official_tile_origins(length: int, tile: int, overlap: int = OFFICIAL_OVERLAP) -> list[int]:
    """Tile origins along one axis under the official rule (``tile`` already clamped to the image).

    Raises ``ValueError`` when ``tile <= overlap``: the official loop then crashes (stride 0) or
    leaves pixels uncovered and divides 0 by 0 (negative stride), so no number can be reported.
    """
    stride = tile - overlap
    if stride <= 0:
        raise ValueError(f"tile {tile} <= overlap {overlap}: the official tiling rule is undefined "
                         f"(stride {stride}); use a tile larger than the overlap")
    return list(range(0, length - tile, stride)) + [length - tile]


def _forward_average(model: nn.Module, x: torch.Tensor, scale: int, tile: int, overlap: int) -> torch.Tensor:
    b, c, h, w = x.shape
    tile = min(tile, h, w)
    out: torch.Tensor | None = None
    weight: torch.Tensor | None = None
    for top in official_tile_origins(h, tile, overlap):
        for left in official_tile_origins(w, tile, overlap):
            y = model(x[..., top:top + tile, left:left + tile])
            if out is None:
                out = y.new_zeros((b, y.shape[1], h * scale, w * scale))
                weight = torch.zeros_like(out)
            region = (..., slice(top * scale, (top + tile) * scale), slice(left * scale, (left + tile) * scale))
            out[region] += y
            weight[region] += 1
    assert out is not None and weight is not None
    return out.div_(weight)


def forward_tiled(model: nn.Module, x: torch.Tensor, scale: int, tile: int, overlap: int = 16,
                  *, stitch: str = "centre") -> torch.Tensor:
    """Run ``model`` on ``tile`` x ``tile`` LR tiles of ``x`` (``BxCxHxW``); returns the model's ``BxC'xsHxsW`` output.

    ``stitch`` is ``"centre"`` (keep each tile's centre) or ``"average"`` (the official NTIRE rule,
    see the module docstring; use ``overlap=OFFICIAL_OVERLAP`` for the official default). Values stay
    in the model's output range. Raises ``ValueError`` for a non-positive tile, an overlap outside
    ``[0, tile)`` or an unknown rule.
    """
    if tile <= 0:
        raise ValueError("tile must be positive")
    if stitch == "average":
        if overlap < 0:
            raise ValueError(f"tile overlap must be >= 0, got {overlap}")
        return _forward_average(model, x, scale, tile, overlap)
    if stitch != "centre":
        raise ValueError(f"stitch must be one of {STITCH_RULES}, not {stitch!r}")
    if not 0 <= overlap < tile:
        raise ValueError(f"tile overlap must be in [0, tile), got {overlap} for tile {tile}")
    _, _, h, w = x.shape
    out: torch.Tensor | None = None
    for ys, ye, ya, yb in _centre_spans(h, tile, overlap):
        for xs, xe, xa, xb in _centre_spans(w, tile, overlap):
            y = model(x[:, :, ys:ye, xs:xe])
            if out is None:
                out = y.new_zeros((y.shape[0], y.shape[1], h * scale, w * scale))
            out[:, :, ya * scale: yb * scale, xa * scale: xb * scale] = y[
                :, :, (ya - ys) * scale: (yb - ys) * scale, (xa - xs) * scale: (xb - xs) * scale
            ]
    assert out is not None
    return out
