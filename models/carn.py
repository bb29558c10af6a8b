"""CARN: Cascading Residual Network (Ahn et al., ECCV 2018). Architecture only.

Written for esr-bench from the paper and the module layout of the official code
(nmhkahn/CARN-pytorch ``carn/model/carn.py``, ``carn/model/ops.py``). Parameter names follow it, so an
official checkpoint loads with ``strict=True`` when its path is passed as ``pretrained``; the registry
holds no checkpoint of the paper configuration.

The paper's CARN is ONE multi-scale network (``multi_scale=True``, ``group=1``): a shared trunk and three
upsamplers (x2, x3, x4). ``forward(x, scale=None)`` runs the upsampler of ``scale``, by default the
scale the network was built for; the zoo's ``create_model("carn", s)`` returns the full network set to
``s``, so ``params`` is the same (1,591,963) at every scale while thop, which only counts modules that
run, sees the trunk plus one upsampler.

Structure: RGB mean shift (frozen 1x1 conv) -> 3x3 conv -> 3 cascading blocks with 1x1 fusion convs
(each block: 3 residual blocks with 1x1 fusion convs) -> upsampler (3x3 conv to 4x/9x channels, ReLU,
PixelShuffle; x4 = two x2 steps) -> 3x3 conv -> mean shift back. Input range 0-1, 64 channels.

Convention on the frozen mean shifts (24 parameters): as in the official code they have
``requires_grad=False`` (``freeze_mean_shift=True``), so they are in ``params`` but not in the
trainable count; thop counts them (they are plain Conv2d leaves).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .common import DIV2K_RGB_MEAN
from .registry import ModelSpec, register

__all__ = ["CARN", "CascadingBlock", "MeanShift", "UpsampleBlock"]


class MeanShift(nn.Module):
    """Adds ``sign * mean`` through a 1x1 conv with identity weight (key ``shifter``); frozen by default."""

    def __init__(self, mean_rgb: Sequence[float], sub: bool, frozen: bool = True) -> None:
        super().__init__()
        sign = -1.0 if sub else 1.0
        self.shifter = nn.Conv2d(3, 3, 1)
        with torch.no_grad():
            self.shifter.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
            self.shifter.bias.copy_(sign * torch.tensor(mean_rgb))
        for p in self.shifter.parameters():
            p.requires_grad = not frozen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shifter(x)


class BasicBlock(nn.Module):
    """Conv + ReLU (used as 1x1 fusion conv, key ``body.0``)."""

    def __init__(self, in_channels: int, out_channels: int, ksize: int = 3, stride: int = 1, pad: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(in_channels, out_channels, ksize, stride, pad), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class ResidualBlock(nn.Module):
    """3x3 conv, ReLU, 3x3 conv, add input, ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 3, 1, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + x)


class _Cascade(nn.Module):
    """Three units ``b1..b3`` with 1x1 fusion convs ``c1..c3`` over the growing concatenation."""

    def _cascade(self, x: torch.Tensor) -> torch.Tensor:
        concat, out = x, x
        for i in (1, 2, 3):
            concat = torch.cat([concat, getattr(self, f"b{i}")(out)], dim=1)
            out = getattr(self, f"c{i}")(concat)
        return out


class CascadingBlock(_Cascade):
    """CARN's cascading block: residual blocks ``b1..b3`` and fusion convs ``c1..c3``."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        for i in (1, 2, 3):
            self.add_module(f"b{i}", ResidualBlock(channels))
        for i in (1, 2, 3):
            self.add_module(f"c{i}", BasicBlock(channels * (i + 1), channels, 1, 1, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._cascade(x)


class _UpsampleStep(nn.Module):
    """Conv (to ``s^2 * n`` channels) + ReLU + PixelShuffle(s), repeated: x2/x4/x8 by steps of 2, x3 once."""

    def __init__(self, channels: int, scale: int, group: int = 1) -> None:
        super().__init__()
        if scale == 3:
            steps = [3]
        elif scale in (2, 4, 8):
            steps = [2] * int(math.log2(scale))
        else:
            raise ValueError(f"CARN upsampler supports x2, x3, x4, x8, not x{scale}")
        layers: list[nn.Module] = []
        for s in steps:
            layers += [nn.Conv2d(channels, s * s * channels, 3, 1, 1, groups=group), nn.ReLU(inplace=True),
                       nn.PixelShuffle(s)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class UpsampleBlock(nn.Module):
    """Multi-scale (``up2``, ``up3``, ``up4``) or single-scale (``up``) upsampler."""

    def __init__(self, channels: int, scale: int, multi_scale: bool, group: int = 1) -> None:
        super().__init__()
        self.multi_scale = multi_scale
        if multi_scale:
            self.up2 = _UpsampleStep(channels, 2, group)
            self.up3 = _UpsampleStep(channels, 3, group)
            self.up4 = _UpsampleStep(channels, 4, group)
        else:
            self.up = _UpsampleStep(channels, scale, group)

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        if not self.multi_scale:
            return self.up(x)
        return getattr(self, f"up{scale}")(x)


class CARN(_Cascade):
    """CARN; ``multi_scale=True`` builds the paper's single network with x2/x3/x4 upsamplers.

    ``scale`` is the default scale of :meth:`forward` (and the only one when ``multi_scale=False``).
    """

    def __init__(
        self,
        scale: int = 4,
        multi_scale: bool = True,
        group: int = 1,
        channels: int = 64,
        rgb_mean: Sequence[float] = DIV2K_RGB_MEAN,
        freeze_mean_shift: bool = True,
    ) -> None:
        super().__init__()
        self.multi_scale = multi_scale
        self.scales = (2, 3, 4) if multi_scale else (scale,)
        if scale not in self.scales:
            raise ValueError(f"CARN: scale x{scale} not among the network's scales {list(self.scales)}")
        self.scale = scale
        self.sub_mean = MeanShift(rgb_mean, sub=True, frozen=freeze_mean_shift)
        self.add_mean = MeanShift(rgb_mean, sub=False, frozen=freeze_mean_shift)
        self.entry = nn.Conv2d(3, channels, 3, 1, 1)
        for i in (1, 2, 3):
            self.add_module(f"b{i}", CascadingBlock(channels))
        for i in (1, 2, 3):
            self.add_module(f"c{i}", BasicBlock(channels * (i + 1), channels, 1, 1, 0))
        self.upsample = UpsampleBlock(channels, scale, multi_scale, group)
        self.exit = nn.Conv2d(channels, 3, 3, 1, 1)

    def forward(self, x: torch.Tensor, scale: int | None = None) -> torch.Tensor:
        scale = self.scale if scale is None else int(scale)
        if scale not in self.scales:
            raise ValueError(f"CARN: this network upsamples by {list(self.scales)}, not x{scale}")
        trunk = self._cascade(self.entry(self.sub_mean(x)))
        return self.add_mean(self.exit(self.upsample(trunk, scale)))


def _build(scale: int, **kwargs) -> CARN:
    return CARN(scale=scale, **kwargs)


CARN_SPEC = register(
    ModelSpec(
        name="carn",
        family="CARN",
        display_name="CARN",
        builder=_build,
        scales=(2, 3, 4),
        kwargs={"multi_scale": True, "group": 1},
        checkpoints={},
        data_range=1.0,
        paper="ECCV18",
        published_name="CARN",
        multi_scale=True,
        notes="architecture only (no public checkpoint registered); one multi-scale network (x2/x3/x4 "
        "upsamplers, 1,591,963 parameters at every scale), forward(x, scale); thop counts the trunk plus "
        "the upsampler of the scale it runs",
    )
)
