"""RFDN: Residual Feature Distillation Network (Liu et al., ECCVW 2020), as released for AIM 2020.

Written for esr-bench from the layout of the official checkpoint (njulj/RFDN ``RFDN.py`` / ``block.py``,
``trained_model/RFDN_AIM.pth``): parameter names and operator order follow the official model so the
checkpoint loads with ``strict=True`` and outputs match to float precision.

Structure: 3x3 conv -> 4 RFDBs -> concat -> 1x1 conv + LeakyReLU(0.05) -> 3x3 conv -> long skip ->
conv + PixelShuffle(4). RFDB: three (1x1 distillation conv | 3x3 shallow residual conv) steps, a 3x3
conv, 1x1 fusion and enhanced spatial attention (ESA). nf 50; 433,448 parameters.

The released model was trained on **0-255 inputs** (``data_range`` 255): it is the AIM 2020 winner
and the NTIRE 2023 ESR baseline. It is not the 550K-parameter RFDN of the paper's table (no public
checkpoint).

:class:`ESA` here (with ``conv_max`` and ``conv3_``) is also EFDN's attention.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .common import chain_blocks, feature_distillation, pixelshuffle_upsampler
from .registry import Checkpoint, ModelSpec, register

__all__ = ["ESA", "RFDB", "RFDN"]


def _conv(in_ch: int, out_ch: int, kernel_size: int) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size, 1, (kernel_size - 1) // 2)


class ESA(nn.Module):
    """Enhanced spatial attention (RFANet) in RFDN's form, ``f = channels // 4``.

    1x1 squeeze -> strided 3x3 (no padding) -> max-pool 7/3 (functional) -> conv_max + ReLU -> conv3 +
    ReLU -> conv3_ -> bilinear resize back (functional) -> + 1x1 of the squeezed map -> 1x1 expand ->
    sigmoid mask.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        f = channels // 4
        self.conv1 = nn.Conv2d(channels, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv_max = nn.Conv2d(f, f, 3, padding=1)
        self.conv2 = nn.Conv2d(f, f, 3, stride=2, padding=0)
        self.conv3 = nn.Conv2d(f, f, 3, padding=1)
        self.conv3_ = nn.Conv2d(f, f, 3, padding=1)
        self.conv4 = nn.Conv2d(f, channels, 1)
        self.sigmoid = nn.Sigmoid()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = self.conv1(x)
        pooled = F.max_pool2d(self.conv2(squeezed), kernel_size=7, stride=3)
        h = self.relu(self.conv_max(pooled))
        h = self.conv3_(self.relu(self.conv3(h)))
        h = F.interpolate(h, (x.size(2), x.size(3)), mode="bilinear", align_corners=False)
        return x * self.sigmoid(self.conv4(h + self.conv_f(squeezed)))


class RFDB(nn.Module):
    """Residual feature distillation block (distilled ``channels // 2``, remaining ``channels``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        dc, rc = channels // 2, channels
        self.c1_d = _conv(channels, dc, 1)
        self.c1_r = _conv(channels, rc, 3)
        self.c2_d = _conv(rc, dc, 1)
        self.c2_r = _conv(rc, rc, 3)
        self.c3_d = _conv(rc, dc, 1)
        self.c3_r = _conv(rc, rc, 3)
        self.c4 = _conv(rc, dc, 3)
        self.act = nn.LeakyReLU(0.05, inplace=True)
        self.c5 = _conv(dc * 4, channels, 1)
        self.esa = ESA(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.esa(feature_distillation(self, x))


class RFDN(nn.Module):
    """RFDN (nf 50, 4 RFDBs); the AIM 2020 release expects 0-255 input."""

    def __init__(self, scale: int = 4, in_nc: int = 3, nf: int = 50, num_modules: int = 4, out_nc: int = 3) -> None:
        super().__init__()
        self.num_modules = num_modules
        self.fea_conv = _conv(in_nc, nf, 3)
        for n in range(1, num_modules + 1):
            self.add_module(f"B{n}", RFDB(nf))
        self.c = nn.Sequential(nn.Conv2d(nf * num_modules, nf, 1), nn.LeakyReLU(0.05, inplace=True))
        self.LR_conv = _conv(nf, nf, 3)
        self.upsampler = pixelshuffle_upsampler(nf, out_nc, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.fea_conv(x)
        fused = self.c(torch.cat(chain_blocks(self, "B", self.num_modules, shallow), dim=1))
        return self.upsampler(self.LR_conv(fused) + shallow)


def _build(scale: int, **kwargs) -> RFDN:
    return RFDN(scale=scale, **kwargs)


RFDN_AIM_SPEC = register(
    ModelSpec(
        name="rfdn-aim",
        family="RFDN",
        display_name="RFDN (AIM 2020)",
        builder=_build,
        scales=(4,),
        kwargs={"nf": 50, "num_modules": 4},
        checkpoints={
            4: Checkpoint("RFDN-AIM_x4.pth", "11af8ec8ebd68689e90ef1e29044f9804c72d3bd9f7573820b7b26035782760c",
                          "njulj/RFDN", "7cf4e25b6633e81fd7e26891aeee2baca4f8f927", "trained_model/RFDN_AIM.pth",
                          None, bytes=1754927),
        },
        data_range=255.0,
        paper="ECCVW20",
        published_name=None,  # the paper table's RFDN is the 550K model without public weights
        notes="nf 50, 4 RFDBs; AIM 2020 winner, NTIRE 2023 ESR baseline; input range 0-255",
    ),
    aliases=("rfdn_aim",),
)
