"""SAFMN: Spatially-Adaptive Feature Modulation Network (Sun et al., ICCV 2023). Architecture only.

Written for esr-bench from the paper and the module layout of the official code
(sunny2109/SAFMN ``basicsr/archs/safmn_arch.py``). Parameter names follow the official model, so a
checkpoint of the official code loads with ``strict=True`` (pass its path as ``pretrained``); the
registry holds no checkpoint of the paper configuration.

Structure: 3x3 conv -> N x AttBlock -> long skip -> 3x3 conv + PixelShuffle. Input range 0-1, no mean
shift. AttBlock = LayerNorm -> SAFM (+ skip) -> LayerNorm -> CCM (+ skip).
SAFM splits the channels into four groups; group 0 gets a 3x3 depth-wise conv at full resolution, group
i > 0 is adaptively max-pooled to 1/2^i of the size, depth-wise convolved and upsampled back (nearest);
the concatenation goes through a 1x1 conv, GELU, and modulates the block input.

Complexity conventions: the channel LayerNorms are custom modules, so thop neither counts their
parameters (1,152 for the paper model) nor their operations; pooling and interpolation are functional
calls, also not counted by thop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import ModelSpec, register

__all__ = ["SAFMN", "SAFM", "AttBlock"]


class ChannelsFirstLayerNorm(nn.Module):
    """LayerNorm over the channel axis of an NCHW tensor (ConvNeXt's channels-first form, eps 1e-6)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        normed = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * normed + self.bias[:, None, None]


class SAFM(nn.Module):
    """Spatially-adaptive feature modulation over ``n_levels`` channel groups (keys ``mfr.*``, ``aggr``)."""

    def __init__(self, dim: int, n_levels: int = 4) -> None:
        super().__init__()
        if dim % n_levels:
            raise ValueError(f"SAFM: dim {dim} is not divisible by n_levels {n_levels}")
        self.n_levels = n_levels
        group = dim // n_levels
        self.mfr = nn.ModuleList(nn.Conv2d(group, group, 3, 1, 1, groups=group) for _ in range(n_levels))
        self.aggr = nn.Conv2d(dim, dim, 1)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        levels = []
        for i, part in enumerate(x.chunk(self.n_levels, dim=1)):
            if i == 0:
                levels.append(self.mfr[0](part))
                continue
            pooled = F.adaptive_max_pool2d(part, (h // 2**i, w // 2**i))
            levels.append(F.interpolate(self.mfr[i](pooled), size=(h, w), mode="nearest"))
        return self.act(self.aggr(torch.cat(levels, dim=1))) * x


class CCM(nn.Module):
    """Convolutional channel mixer: 3x3 conv to ``dim * growth`` channels, GELU, 1x1 conv back."""

    def __init__(self, dim: int, growth_rate: float = 2.0) -> None:
        super().__init__()
        hidden = int(dim * growth_rate)
        self.ccm = nn.Sequential(nn.Conv2d(dim, hidden, 3, 1, 1), nn.GELU(), nn.Conv2d(hidden, dim, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ccm(x)


class AttBlock(nn.Module):
    """Norm -> SAFM -> residual, norm -> CCM -> residual."""

    def __init__(self, dim: int, ffn_scale: float = 2.0) -> None:
        super().__init__()
        self.norm1 = ChannelsFirstLayerNorm(dim)
        self.norm2 = ChannelsFirstLayerNorm(dim)
        self.safm = SAFM(dim)
        self.ccm = CCM(dim, ffn_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.safm(self.norm1(x)) + x
        return self.ccm(self.norm2(x)) + x


class SAFMN(nn.Module):
    """SAFMN; the paper's light model is ``dim=36, n_blocks=8, ffn_scale=2.0``."""

    def __init__(self, scale: int = 4, dim: int = 36, n_blocks: int = 8, ffn_scale: float = 2.0) -> None:
        super().__init__()
        self.scale = scale
        self.to_feat = nn.Conv2d(3, dim, 3, 1, 1)
        self.feats = nn.Sequential(*(AttBlock(dim, ffn_scale) for _ in range(n_blocks)))
        self.to_img = nn.Sequential(nn.Conv2d(dim, 3 * scale**2, 3, 1, 1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[-2:]) < 8:
            raise ValueError(f"SAFMN needs an input of at least 8x8 pixels (its deepest pooling is /8), got "
                             f"{tuple(x.shape[-2:])}")
        feat = self.to_feat(x)
        return self.to_img(self.feats(feat) + feat)


def _build(scale: int, **kwargs) -> SAFMN:
    return SAFMN(scale=scale, **kwargs)


SAFMN_SPEC = register(
    ModelSpec(
        name="safmn",
        family="SAFMN",
        display_name="SAFMN",
        builder=_build,
        scales=(2, 3, 4),
        kwargs={"dim": 36, "n_blocks": 8, "ffn_scale": 2.0},
        checkpoints={},
        data_range=1.0,
        paper="ICCV23",
        published_name="SAFMN",
        notes="architecture only (no public checkpoint registered); dim 36, 8 blocks, ffn scale 2.0; "
        "thop skips the 1,152 LayerNorm parameters",
    )
)
