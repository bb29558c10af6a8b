"""IMDN: Information Multi-Distillation Network (Hui et al., ACM MM 2019) and the NTIRE 2022 baseline.

Two releases with different layouts, both written for esr-bench from the official code's checkpoint
layout and operator order (so their checkpoints load with ``strict=True`` and outputs match to float
precision):

* ``imdn`` (Zheng222/IMDN ``model/architecture.py``): 3x3 conv -> 6 IMDBs -> concat -> 1x1 conv +
  LeakyReLU(0.05) -> 3x3 conv -> long skip -> conv + PixelShuffle. Each IMDB: four 3x3 convs that
  progressively split off 16 of 64 channels ("distillation"), contrast-aware channel attention (CCA)
  on the concatenation, 1x1 fusion, residual. The checkpoints were saved from ``nn.DataParallel``
  (keys start with ``module.``). Input range 0-1.
* ``imdn-ntire22`` (ofsoundof/NTIRE2022_ESR ``models/imdn_baseline.py``, KAIR's simplified IMDN, AIM
  2019 winner): 8 IMDBs without CCA and with a LeakyReLU(0.05) after the first three convs of each
  block, one ``nn.Sequential`` named ``model`` (head, shortcut over the body, upsampler conv, shuffle).
  893,936 parameters; input range 0-1.

Activations are ``nn.LeakyReLU`` / ``nn.ReLU`` modules and CCA's pooling an ``nn.AdaptiveAvgPool2d``
module, as in the official code, so hook-based counters (NTIRE, thop) see the same operators.
"""

from __future__ import annotations

import torch
from torch import nn

from .common import ContrastChannelAttention, chain_blocks, pixelshuffle_upsampler
from .registry import Checkpoint, ModelSpec, register

__all__ = ["IMDN", "IMDNBlock", "IMDNNtire22", "KairIMDBlock"]


def _conv(in_ch: int, out_ch: int, kernel_size: int) -> nn.Conv2d:
    """Same-padding convolution with bias (IMDN's ``conv_layer``)."""
    return nn.Conv2d(in_ch, out_ch, kernel_size, 1, (kernel_size - 1) // 2)


class IMDNBlock(nn.Module):
    """Information multi-distillation block (IMDB) with CCA (keys ``c1``..``c5``, ``cca``)."""

    def __init__(self, channels: int = 64, distillation_rate: float = 0.25) -> None:
        super().__init__()
        self.distilled = int(channels * distillation_rate)
        self.remaining = channels - self.distilled
        self.c1 = _conv(channels, channels, 3)
        self.c2 = _conv(self.remaining, channels, 3)
        self.c3 = _conv(self.remaining, channels, 3)
        self.c4 = _conv(self.remaining, self.distilled, 3)
        self.act = nn.LeakyReLU(0.05, inplace=True)
        self.c5 = _conv(channels, channels, 1)
        self.cca = ContrastChannelAttention(self.distilled * 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        split = (self.distilled, self.remaining)
        d1, r1 = torch.split(self.act(self.c1(x)), split, dim=1)
        d2, r2 = torch.split(self.act(self.c2(r1)), split, dim=1)
        d3, r3 = torch.split(self.act(self.c3(r2)), split, dim=1)
        d4 = self.c4(r3)
        return self.c5(self.cca(torch.cat([d1, d2, d3, d4], dim=1))) + x


class IMDN(nn.Module):
    """IMDN as released with the ACM MM 2019 paper (nf 64, 6 IMDBs); input 0-1."""

    def __init__(self, scale: int = 4, in_nc: int = 3, nf: int = 64, num_modules: int = 6, out_nc: int = 3) -> None:
        super().__init__()
        self.num_modules = num_modules
        self.fea_conv = _conv(in_nc, nf, 3)
        for n in range(1, num_modules + 1):
            self.add_module(f"IMDB{n}", IMDNBlock(nf))
        self.c = nn.Sequential(nn.Conv2d(nf * num_modules, nf, 1), nn.LeakyReLU(0.05, inplace=True))
        self.LR_conv = _conv(nf, nf, 3)
        self.upsampler = pixelshuffle_upsampler(nf, out_nc, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.fea_conv(x)
        fused = self.c(torch.cat(chain_blocks(self, "IMDB", self.num_modules, shallow), dim=1))
        return self.upsampler(self.LR_conv(fused) + shallow)


class _Shortcut(nn.Module):
    """``x + sub(x)`` (KAIR's ShortcutBlock; key ``sub``)."""

    def __init__(self, sub: nn.Module) -> None:
        super().__init__()
        self.sub = sub

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.sub(x)


class KairIMDBlock(nn.Module):
    """KAIR's simplified IMDB: conv+LReLU x3 with channel splits, conv, 1x1 fusion, residual (no CCA)."""

    def __init__(self, channels: int = 64, d_rate: float = 0.25, negative_slope: float = 0.05) -> None:
        super().__init__()
        self.d_nc = int(channels * d_rate)
        self.r_nc = channels - self.d_nc

        def conv_act(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1), nn.LeakyReLU(negative_slope, inplace=True))

        self.conv1 = conv_act(channels, channels)
        self.conv2 = conv_act(self.r_nc, channels)
        self.conv3 = conv_act(self.r_nc, channels)
        self.conv4 = nn.Conv2d(self.r_nc, self.d_nc, 3, 1, 1)
        self.conv1x1 = nn.Conv2d(self.d_nc * 4, channels, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        split = (self.d_nc, self.r_nc)
        d1, r1 = torch.split(self.conv1(x), split, dim=1)
        d2, r2 = torch.split(self.conv2(r1), split, dim=1)
        d3, r3 = torch.split(self.conv3(r2), split, dim=1)
        d4 = self.conv4(r3)
        return x + self.conv1x1(torch.cat((d1, d2, d3, d4), dim=1))


class IMDNNtire22(nn.Module):
    """The NTIRE 2022 ESR baseline (KAIR IMDN, nc 64, nb 8, LeakyReLU 0.05); input 0-1.

    ``model`` = [head conv, shortcut(8 IMDBs + conv), upsampler conv, PixelShuffle] (keys ``model.N``).
    """

    def __init__(self, scale: int = 4, in_nc: int = 3, out_nc: int = 3, nc: int = 64, nb: int = 8,
                 negative_slope: float = 0.05) -> None:
        super().__init__()
        body = [KairIMDBlock(nc, negative_slope=negative_slope) for _ in range(nb)]
        body.append(nn.Conv2d(nc, nc, 3, 1, 1))
        self.model = nn.Sequential(
            nn.Conv2d(in_nc, nc, 3, 1, 1),
            _Shortcut(nn.Sequential(*body)),
            nn.Conv2d(nc, out_nc * scale**2, 3, 1, 1),
            nn.PixelShuffle(scale),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def _build_imdn(scale: int, **kwargs) -> IMDN:
    return IMDN(scale=scale, **kwargs)


def _build_imdn_ntire22(scale: int, **kwargs) -> IMDNNtire22:
    return IMDNNtire22(scale=scale, **kwargs)


_IMDN_REPO = "Zheng222/IMDN"
_IMDN_COMMIT = "8f158e6a5ac9db6e5857d9159fd4a6c4214da574"


def _imdn_ckpt(scale: int, sha256: str, size: int) -> Checkpoint:
    return Checkpoint(f"IMDN_x{scale}.pth", sha256, _IMDN_REPO, _IMDN_COMMIT, f"checkpoints/IMDN_x{scale}.pth",
                      None, strip_prefix="module.", bytes=size)


IMDN_SPEC = register(
    ModelSpec(
        name="imdn",
        family="IMDN",
        display_name="IMDN",
        builder=_build_imdn,
        scales=(2, 3, 4),
        kwargs={"nf": 64, "num_modules": 6},
        checkpoints={
            2: _imdn_ckpt(2, "740b39653592bd3f49955a21cd9e16f2d37f2c413368cc09327601b8fbe42ce1", 2796052),
            3: _imdn_ckpt(3, "11b1716a19bc16e5e353e1db798d476169338e631eb170c82d765559888cb028", 2830672),
            4: _imdn_ckpt(4, "e660c38221147217a136debeb99eb304d62d9c0f73ac421ed66281b619719714", 2879112),
        },
        data_range=1.0,
        paper="ACMMM19",
        published_name="IMDN",
        notes="nf 64, 6 IMDBs with CCA; DataParallel checkpoints (prefix 'module.')",
    )
)

IMDN_NTIRE22_SPEC = register(
    ModelSpec(
        name="imdn-ntire22",
        family="IMDN",
        display_name="IMDN (NTIRE 2022 baseline)",
        builder=_build_imdn_ntire22,
        scales=(4,),
        kwargs={"nc": 64, "nb": 8, "negative_slope": 0.05},
        checkpoints={
            4: Checkpoint("IMDN-NTIRE_x4.pth", "115b4cc557eba9daaf1a6543c4858014c7e2a410655aafef7c8348ae54acc203",
                          "ofsoundof/NTIRE2022_ESR", "e95ba4a4916bb13d6348f7ee172827e2452e8a31",
                          "model_zoo/imdn_baseline.pth", None, bytes=3589744),
        },
        data_range=1.0,
        paper="ICCVW19 (AIM 2019)",
        published_name=None,
        notes="NTIRE 2022 ESR baseline: KAIR-style IMDN, nc 64, nb 8, LeakyReLU 0.05, no CCA; 893,936 params",
    ),
    aliases=("imdn-ntire", "imdn_baseline"),
)
