"""ShuffleMixer (Sun et al., NeurIPS 2022): large-kernel depth-wise convs + channel split/shuffle MLPs.

Architecture only. Written for esr-bench from the paper and the module layout of the official code
(sunny2109/ShuffleMixer ``basicsr/archs/shufflemixer_arch.py``); parameter names follow it (including
the official spelling ``upsapling``), so an official checkpoint loads with ``strict=True`` when its path
is passed as ``pretrained``. The registry holds no checkpoint of the paper configuration.

Structure: bias-free 3x3 conv -> N x FMBlock -> 1x1 conv + PixelShuffle + SiLU (twice for x4) -> 3x3 conv,
plus a bilinear upscaling of the input (global skip). Input range 0-1, no mean shift.
FMBlock = two shuffle-mixing layers (+ skip) -> 3x3 conv (dim -> dim + 16), SiLU, 1x1 conv (+ skip).
Shuffle-mixing layer = bias-free LayerNorm -> split point MLP (+ skip) -> depth-wise k x k conv ->
bias-free LayerNorm -> split point MLP (+ skip). The split point MLP transforms the first half of the
channels, keeps the second, then shuffles channels in 8 groups.

Complexity conventions: thop neither counts the custom LayerNorms' parameters (1,280 for the paper
model) nor SiLU / the bilinear skip.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import ModelSpec, register

__all__ = ["ShuffleMixer", "FMBlock", "SMLayer", "channel_shuffle"]


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Reorder channels ``(g d) -> (d g)``: channel ``g*D + d`` moves to position ``d*G + g``."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


class SplitPointMlp(nn.Module):
    """1x1 MLP (SiLU) on the first half of the channels, identity on the second, then shuffle by 8."""

    def __init__(self, dim: int, mlp_ratio: float = 2) -> None:
        super().__init__()
        if dim % 8:
            raise ValueError(f"ShuffleMixer: n_feats must be a multiple of 8 (channel shuffle in 8 groups), got {dim}")
        half = dim // 2
        hidden = int(half * mlp_ratio)
        self.fc = nn.Sequential(nn.Conv2d(half, hidden, 1), nn.SiLU(inplace=True), nn.Conv2d(hidden, half, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed, kept = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat([self.fc(mixed), kept], dim=1), 8)


class BiasFreeLayerNorm(nn.Module):
    """Restormer's bias-free LayerNorm over channels (eps 1e-5, population variance)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.permute(0, 2, 3, 1)
        mu = t.mean(-1, keepdim=True)
        var = t.var(-1, keepdim=True, unbiased=False)
        return ((t - mu) / torch.sqrt(var + 1e-5) * self.weight).permute(0, 3, 1, 2)


class LayerNorm(nn.Module):
    """Wrapper kept for checkpoint key compatibility (``normN.body.weight``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = BiasFreeLayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class SMLayer(nn.Module):
    """Shuffle mixing layer: channel mixing, depth-wise spatial mixing, channel mixing."""

    def __init__(self, dim: int, kernel_size: int, mlp_ratio: float = 2) -> None:
        super().__init__()
        self.norm1 = LayerNorm(dim)
        self.norm2 = LayerNorm(dim)
        self.spatial = nn.Conv2d(dim, dim, kernel_size, 1, kernel_size // 2, groups=dim)
        self.mlp1 = SplitPointMlp(dim, mlp_ratio)
        self.mlp2 = SplitPointMlp(dim, mlp_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mlp1(self.norm1(x)) + x
        x = self.spatial(x)
        return self.mlp2(self.norm2(x)) + x


class FMBlock(nn.Module):
    """Feature mixing block: two SMLayers with a skip, then a conv pair with a skip."""

    def __init__(self, dim: int, kernel_size: int, mlp_ratio: float = 2) -> None:
        super().__init__()
        self.net = nn.Sequential(SMLayer(dim, kernel_size, mlp_ratio), SMLayer(dim, kernel_size, mlp_ratio))
        self.conv = nn.Sequential(nn.Conv2d(dim, dim + 16, 3, 1, 1), nn.SiLU(inplace=True), nn.Conv2d(dim + 16, dim, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.net(x) + x
        return self.conv(x) + x


def _upsampler(n_feats: int, scale: int) -> nn.Sequential:
    """1x1 conv + PixelShuffle + SiLU; x4 is two x2 steps (keys ``0``, ``3``), x2/x3 one step (key ``0``)."""
    steps = [2, 2] if scale == 4 else [scale]
    layers: list[nn.Module] = []
    for s in steps:
        layers += [nn.Conv2d(n_feats, n_feats * s * s, 1), nn.PixelShuffle(s), nn.SiLU(inplace=True)]
    return nn.Sequential(*layers)


class ShuffleMixer(nn.Module):
    """ShuffleMixer; the paper model is ``n_feats=64, kernel_size=7, n_blocks=5, mlp_ratio=2``."""

    def __init__(
        self, scale: int = 4, n_feats: int = 64, kernel_size: int = 7, n_blocks: int = 5, mlp_ratio: float = 2
    ) -> None:
        super().__init__()
        self.scale = scale
        self.to_feat = nn.Conv2d(3, n_feats, 3, 1, 1, bias=False)
        self.blocks = nn.Sequential(*(FMBlock(n_feats, kernel_size, mlp_ratio) for _ in range(n_blocks)))
        self.upsapling = _upsampler(n_feats, scale)  # official (misspelt) name, kept for its state dict
        self.tail = nn.Conv2d(n_feats, 3, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.tail(self.upsapling(self.blocks(self.to_feat(x))))
        return out + F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)


def _build(scale: int, **kwargs) -> ShuffleMixer:
    return ShuffleMixer(scale=scale, **kwargs)


SHUFFLEMIXER_SPEC = register(
    ModelSpec(
        name="shufflemixer",
        family="ShuffleMixer",
        display_name="ShuffleMixer",
        builder=_build,
        scales=(2, 3, 4),
        kwargs={"n_feats": 64, "kernel_size": 7, "n_blocks": 5, "mlp_ratio": 2},
        checkpoints={},
        data_range=1.0,
        paper="NeurIPS22",
        published_name="ShuffleMixer",
        notes="architecture only (no public checkpoint registered); 64 channels, 7x7 depth-wise kernels, "
        "5 blocks, MLP ratio 2; thop skips the 1,280 LayerNorm parameters",
    )
)
