"""MDRN: Multi-level Dispersion Residual Network (Mao et al., CVPRW 2023, NTIRE 2023 ESR).

Written for esr-bench from the paper and the layout of the official checkpoints (bbbolt/MDRN
``basicsr/archs/mdrn_arch.py``): parameter names, operator kinds and order follow the official model,
so its checkpoints load with ``strict=True``, its outputs are reproduced to float precision and the
complexity counters see what they see on the official model. MDRN's multi-view ESA is the idea AGDN's
MVSA builds on.

Structure: RGB mean shift -> 3x3 conv -> 8 x EADB -> concat -> 1x1 conv -> GELU -> BSConv -> long
skip -> 3x3 conv + PixelShuffle -> mean shift back. Input range 0-1.

EADB = BSRN-style distillation (three distill/refine steps with residuals) -> MDSA (multi-view ESA:
max-pool views 3/5/7 and a local-variance view, with a residual) -> ECCA (1x1 conv, GELU, contrast
channel attention, depth-wise 3x3, with a residual) -> residual. Every BSConv in MDRN pads its
depth-wise conv by reflection (the official BSConvU ignores the padding mode it is given).

Counting note: the official ``fea_conv`` and the two ECCA convolutions are built with
``padding='same'``. PyTorch runs those as ``aten::_convolution_mode``, an operator fvcore 0.1.5 has no
handler for, so fvcore skips them (about 2.0 G MACs at 256x256: 8 x (1x1 56->56 + dw 3x3) + fea_conv),
while forward-hook counters (the NTIRE 2022/23 counter, thop, ptflops) see the modules and count them.
The same construction is kept here so that both counters reproduce the official integers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .bsrn import OneStepUpsampler
from .common import (
    DIV2K_RGB_MEAN,
    BSConvU,
    ContrastChannelAttention,
    blocks_and_fusion,
    feature_distillation,
    local_variance,
)
from .registry import Checkpoint, ModelSpec, register

__all__ = ["MDRN", "EADB", "MultiViewESA", "ECCA"]


def _bsconv(in_ch: int, out_ch: int, stride: int = 1) -> BSConvU:
    return BSConvU(in_ch, out_ch, 3, stride, 1, dw_padding_mode="reflect")


class MultiViewESA(nn.Module):
    """ESA with three max-pool views (3/3 pad 1, 5/3, 7/3 pad 1) and one 7x7 local-variance view."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        f = channels // 4
        self.conv1 = nn.Conv2d(channels, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv2_0 = _bsconv(f, f, 2)
        self.conv2_1 = _bsconv(f, f, 2)
        self.conv2_2 = _bsconv(f, f, 2)
        self.conv2_3 = _bsconv(f, f, 2)
        self.maxPooling_0 = nn.MaxPool2d(kernel_size=3, stride=3, padding=1)
        self.maxPooling_1 = nn.MaxPool2d(kernel_size=5, stride=3)
        self.maxPooling_2 = nn.MaxPool2d(kernel_size=7, stride=3, padding=1)
        self.conv_max_0 = _bsconv(f, f)
        self.conv_max_1 = _bsconv(f, f)
        self.conv_max_2 = _bsconv(f, f)
        self.conv3_0 = _bsconv(f, f)
        self.conv3_1 = _bsconv(f, f)
        self.conv3_2 = _bsconv(f, f)
        self.conv4 = nn.Conv2d(f, channels, 1)
        self.sigmoid = nn.Sigmoid()
        self.GELU = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = self.conv1(x)
        view0 = self.maxPooling_0(self.conv2_0(squeezed))
        view1 = self.maxPooling_1(self.conv2_1(squeezed))
        view2 = self.maxPooling_2(self.conv2_2(squeezed))
        view_var = local_variance(self.conv2_3(squeezed), 7, 1)
        range0 = self.conv3_0(self.GELU(self.conv_max_0(view0)))
        range1 = self.conv3_1(self.GELU(self.conv_max_1(view1)))
        range2 = self.conv3_2(self.GELU(self.conv_max_2(view2 + view_var)))
        size = (x.size(2), x.size(3))
        up0 = F.interpolate(range0, size, mode="bilinear", align_corners=False)
        up1 = F.interpolate(range1, size, mode="bilinear", align_corners=False)
        up2 = F.interpolate(range2, size, mode="bilinear", align_corners=False)
        mask = self.sigmoid(self.conv4(up0 + up1 + up2 + self.conv_f(squeezed)))
        return x * mask


class MDSA(nn.Module):
    """Multi-dispersion spatial attention: multi-view ESA plus a residual (keys ``body.0.*``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(MultiViewESA(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x


class ECCA(nn.Module):
    """Enhanced CCA: 1x1 conv -> GELU -> CCA -> depth-wise 3x3, plus a residual (keys ``body.{0,2,3}``).

    Both convolutions use ``padding='same'`` as in the official code (see the module docstring).
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, (1, 1), padding="same"),
            nn.GELU(),
            ContrastChannelAttention(channels, reduction),
            nn.Conv2d(channels, channels, (3, 3), padding="same", groups=channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x


class EADB(nn.Module):
    """Enhanced attention distillation block."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        dc = channels // 2
        self.c1_d = nn.Conv2d(channels, dc, 1)
        self.c1_r = _bsconv(channels, channels)
        self.c2_d = nn.Conv2d(channels, dc, 1)
        self.c2_r = _bsconv(channels, channels)
        self.c3_d = nn.Conv2d(channels, dc, 1)
        self.c3_r = _bsconv(channels, channels)
        self.c4 = _bsconv(channels, dc)
        self.act = nn.GELU()
        self.c5 = nn.Conv2d(dc * 4, channels, 1)
        self.esa = MDSA(channels)
        self.cca = ECCA(channels, reduction=16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = feature_distillation(self, x)
        return self.cca(self.esa(out)) + x


class MDRN(nn.Module):
    """MDRN (num_feat 56, 8 EADBs, DIV2K mean shift inside); input range 0-1."""

    def __init__(self, scale: int = 4, num_feat: int = 56, num_block: int = 8, num_in_ch: int = 3,
                 num_out_ch: int = 3, rgb_mean: tuple[float, float, float] = DIV2K_RGB_MEAN) -> None:
        super().__init__()
        self.scale = scale
        self.num_block = num_block
        self.register_buffer("mean", torch.tensor(rgb_mean).view(1, 3, 1, 1), persistent=False)
        self.fea_conv = nn.Conv2d(num_in_ch, num_feat, kernel_size=3, stride=1, padding="same")
        for n in range(1, num_block + 1):
            self.add_module(f"B{n}", EADB(num_feat))
        self.c1 = nn.Conv2d(num_feat * num_block, num_feat, 1)
        self.GELU = nn.GELU()
        self.c2 = _bsconv(num_feat, num_feat)
        self.upsampler = OneStepUpsampler(num_feat, num_out_ch, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = self.mean.type_as(x)
        shallow = self.fea_conv(x - mean)
        fused = blocks_and_fusion(self, shallow) + shallow
        return self.upsampler(fused) + mean


def _build(scale: int, **kwargs) -> MDRN:
    return MDRN(scale=scale, **kwargs)


_REPO = "bbbolt/MDRN"
_COMMIT = "a919ff291f96bb7ab6267da52a8a8db4354fc653"


def _ckpt(scale: int, sha256: str, size: int) -> Checkpoint:
    return Checkpoint(f"MDRN_x{scale}.pth", sha256, _REPO, _COMMIT, f"pretrain_models/mdrn_x{scale}.pth",
                      "params_ema", bytes=size)


MDRN_SPEC = register(
    ModelSpec(
        name="mdrn",
        family="MDRN",
        display_name="MDRN",
        builder=_build,
        scales=(2, 3, 4),
        kwargs={"num_feat": 56, "num_block": 8},
        checkpoints={
            2: _ckpt(2, "a4c9729d0003fb428ebef1902c411f1d43d14e4d96b800ae8f03a92424dba8e7", 2761351),
            3: _ckpt(3, "5b782ea1c3e25ac0aebc8b5eb533bdcc682fb54c11d7ae2e112535db6818d25d", 2821895),
            4: _ckpt(4, "c9ad9752bd01feca8b9e3a703cfc2a211ee5eb39d1d67b402d65acf98998f137", 2906887),
        },
        data_range=1.0,
        paper="CVPRW23",
        published_name=None,  # not a row of the AGDN paper's table 5
        notes=("56 channels, 8 EADBs (MDSA + ECCA), reflect-padded BSConvU, mean shift inside; "
               "padding='same' convs are invisible to fvcore 0.1.5 (aten::_convolution_mode), as officially"),
    )
)
