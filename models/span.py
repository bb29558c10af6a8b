"""SPAN: Swift Parameter-free Attention Network (Wan et al., CVPRW 2024; NTIRE 2024 ESR winner).

Written for esr-bench from the paper and the layout of the NTIRE 2024 ESR checkpoints
(Amazingren/NTIRE2024_ESR ``models/team38_SPAN.py`` / ``team39_SPANtiny.py``, class ``SPAN30``) in
their deploy ("slim") form: every re-parameterisable Conv3XC (1x1 -> 3x3 -> 1x1 plus a 1x1 skip in
training) is stored as the single fused 3x3 ``eval_conv`` it collapses to, so only those convs exist.
Parameter names and operator order follow the official model, so the checkpoints load with
``strict=True`` and the outputs are reproduced to float precision. The ch28 model is the NTIRE 2026
ESR baseline.

Structure: ``(x - DIV2K mean) * 255`` -> 3x3 conv -> 6 x SPAB -> 3x3 conv; concat of
[shallow feature, that conv's output, block 1 output, block 6's first activated conv] -> 1x1 conv ->
3x3 conv + PixelShuffle. The output is not shifted back: the network maps 0-1 input to 0-1 output.

SPAB = three 3x3 convs with SiLU between them; ``att = sigmoid(out3) - 0.5`` (parameter-free
attention); ``out = (out3 + x) * att``. The official block applies its SiLU in place, so the
"first conv" feature it hands out is already activated; that is reproduced here.
"""

from __future__ import annotations

import torch
from torch import nn

from .common import DIV2K_RGB_MEAN, pixelshuffle_upsampler
from .registry import Checkpoint, ModelSpec, register

__all__ = ["SPAN", "SPAB", "FusedConv3XC"]


class FusedConv3XC(nn.Module):
    """Deploy form of Conv3XC: one 3x3 conv ``eval_conv`` (padding 1); optional LeakyReLU(0.05)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, relu: bool = False) -> None:
        super().__init__()
        self.has_relu = relu
        self.eval_conv = nn.Conv2d(in_ch, out_ch, 3, stride, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.eval_conv(x)
        return nn.functional.leaky_relu(out, negative_slope=0.05) if self.has_relu else out


class SPAB(nn.Module):
    """Swift parameter-free attention block; returns (output, activated first conv, attention map)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.c1_r = FusedConv3XC(channels, channels)
        self.c2_r = FusedConv3XC(channels, channels)
        self.c3_r = FusedConv3XC(channels, channels)
        self.act1 = nn.SiLU()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out1 = self.act1(self.c1_r(x))
        out3 = self.c3_r(self.act1(self.c2_r(out1)))
        attention = torch.sigmoid(out3) - 0.5
        return (out3 + x) * attention, out1, attention


class SPAN(nn.Module):
    """SPAN in deploy form (``feature_channels`` 28 for the NTIRE 2024 entry, 26 for SPAN-tiny)."""

    def __init__(self, scale: int = 4, feature_channels: int = 28, num_in_ch: int = 3, num_out_ch: int = 3,
                 img_range: float = 255.0, rgb_mean: tuple[float, float, float] = DIV2K_RGB_MEAN) -> None:
        super().__init__()
        self.scale = scale
        self.img_range = img_range
        c = feature_channels
        self.register_buffer("mean", torch.tensor(rgb_mean).view(1, 3, 1, 1), persistent=False)
        self.conv_1 = FusedConv3XC(num_in_ch, c)
        for n in range(1, 7):
            self.add_module(f"block_{n}", SPAB(c))
        self.conv_cat = nn.Conv2d(c * 4, c, 1)
        self.conv_2 = FusedConv3XC(c, c)
        self.upsampler = pixelshuffle_upsampler(c, num_out_ch, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean.type_as(x)) * self.img_range
        shallow = self.conv_1(x)
        out_b1, _, _ = self.block_1(shallow)
        h = out_b1
        for n in range(2, 6):
            h, _, _ = getattr(self, f"block_{n}")(h)
        out_b6, out_b6_first, _ = self.block_6(h)
        final = self.conv_2(out_b6)
        return self.upsampler(self.conv_cat(torch.cat([shallow, final, out_b1, out_b6_first], dim=1)))


def _build(scale: int, **kwargs) -> SPAN:
    return SPAN(scale=scale, **kwargs)


_REPO = "Amazingren/NTIRE2024_ESR"
_COMMIT = "6404fa48dde4a4adbf241a51debdc661aef20449"

SPAN_CH28_SPEC = register(
    ModelSpec(
        name="span-ch28",
        family="SPAN",
        display_name="SPAN (ch28)",
        builder=_build,
        scales=(4,),
        kwargs={"feature_channels": 28},
        checkpoints={
            4: Checkpoint("SPAN-ch28_x4.pth", "6c80f05048313289c6526e5fc9726688d7bb3dfdd6ae3c8b1e7dd09f601e5971",
                          _REPO, _COMMIT, "model_zoo/team38_span_ch28_slim.pth", None, bytes=618658),
        },
        data_range=1.0,
        paper="CVPRW24",
        published_name=None,  # not in the AGDN paper's tables
        notes=("feature_channels 28, deploy (slim) form; NTIRE 2024 ESR team 38 (winner) and the NTIRE 2026 "
               "ESR baseline (identical to NTIRE2026_ESR model_zoo/team00_SPAN.pth)"),
    ),
    aliases=("span",),
)

SPAN_CH26_SPEC = register(
    ModelSpec(
        name="span-ch26",
        family="SPAN",
        display_name="SPAN-tiny (ch26)",
        builder=_build,
        scales=(4,),
        kwargs={"feature_channels": 26},
        checkpoints={
            4: Checkpoint("SPAN-ch26_x4.pth", "30bf224aee5d3fb9cbc7a3bf164a294f957f65c45f5b271052947097922040a5",
                          _REPO, _COMMIT, "model_zoo/team39_spantiny_ch26_slim.pth", None, bytes=538017),
        },
        data_range=1.0,
        paper="CVPRW24",
        published_name=None,
        notes="feature_channels 26, deploy (slim) form; NTIRE 2024 ESR team 39 (SPAN-tiny)",
    ),
    aliases=("span-tiny", "spantiny"),
)
