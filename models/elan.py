"""ELAN: Efficient Long-range Attention Network (Zhang et al., ECCV 2022). Architecture only.

Written for esr-bench from the paper and the module layout of the official code
(xindongzhang/ELAN ``models/elan_block.py``, ``models/elan_network.py``, ``configs/elan_light_x4.yml``).
Parameter names follow the official model, so an official checkpoint loads with ``strict=True`` when its
path is passed as ``pretrained``; the registry holds no checkpoint of the paper configuration.

Structure (ELAN-light: ``m_elan=24, c_elan=60, n_share=1, r_expand=2, window_sizes=(4, 8, 16)``): reflect
pad to a multiple of lcm(window sizes) -> RGB mean shift -> 3x3 conv -> m_elan / (1 + n_share) ELABs ->
long skip -> 3x3 conv + PixelShuffle -> mean shift back -> crop. Input range 0-255 (``rgb_range`` 255).

ELAB = (1 + n_share) x [LFE (+ skip) -> GMSA (+ skip)]; only the first GMSA computes attention maps (the
others reuse them: "shared attention"); every second ELAB shifts its windows by half a window.
LFE = two shift convolutions (fixed depth-wise shifts of 5 channel groups, then a 1x1 conv) with ReLU.
GMSA = 1x1 conv + BatchNorm, channel split over three window sizes, window self-attention q=k
(softmax(q q^T) v, no scaling), 1x1 conv.

Complexity conventions: ``params`` counts every parameter, including the frozen shift kernels (38,880
for ELAN-light) and the frozen RGB mean shifts (24); ``requires_grad`` is False on those, and thop does
not count them (the shift kernel lives in a non-leaf module, the mean shift is a Conv2d subclass unknown to
thop). thop counts the convolutions on the padded input; the attention matmuls/softmax are not counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .common import DIV2K_RGB_MEAN
from .registry import ModelSpec, register

__all__ = ["ELAN", "ELAB", "GMSA", "LFE", "ShiftConv2d", "MeanShift"]


class MeanShift(nn.Conv2d):
    """Frozen 1x1 conv adding ``sign * rgb_range * mean`` (identity weight, unit std)."""

    def __init__(self, rgb_range: float, rgb_mean: Sequence[float] = DIV2K_RGB_MEAN, sign: int = -1) -> None:
        super().__init__(3, 3, kernel_size=1)
        with torch.no_grad():
            self.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
            self.bias.copy_(sign * rgb_range * torch.tensor(rgb_mean))
        for p in self.parameters():
            p.requires_grad = False


def shift_kernel(channels: int) -> torch.Tensor:
    """Depth-wise 3x3 kernels moving 5 channel groups left/right/up/down/not at all (last takes the rest)."""
    kernel = torch.zeros(channels, 1, 3, 3)
    g = channels // 5
    for i, (row, col) in enumerate(((1, 2), (1, 0), (2, 1), (0, 1))):
        kernel[i * g:(i + 1) * g, 0, row, col] = 1.0
    kernel[4 * g:, 0, 1, 1] = 1.0
    return kernel


class _ShiftThenPointwise(nn.Module):
    """Fixed (frozen) depth-wise shift, then a learnt 1x1 conv (the official "fast-training-speed" form)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.weight = nn.Parameter(shift_kernel(in_channels), requires_grad=False)
        self.conv1x1 = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shifted = F.conv2d(x, self.weight, None, 1, 1, groups=self.in_channels)
        return self.conv1x1(shifted)


class ShiftConv2d(nn.Module):
    """Shift convolution (keys ``shift_conv.weight``, ``shift_conv.conv1x1.*``)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.shift_conv = _ShiftThenPointwise(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shift_conv(x)


class LFE(nn.Module):
    """Local feature extraction: shift conv to ``out * exp_ratio`` channels, ReLU, shift conv back."""

    def __init__(self, in_channels: int, out_channels: int, exp_ratio: int = 4) -> None:
        super().__init__()
        self.conv0 = ShiftConv2d(in_channels, out_channels * exp_ratio)
        self.conv1 = ShiftConv2d(out_channels * exp_ratio, out_channels)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1(self.act(self.conv0(x)))


def _to_windows(x: torch.Tensor, wsize: int) -> torch.Tensor:
    """``b c (h dh) (w dw) -> (b h w) (dh dw) c``."""
    b, c, hh, ww = x.shape
    x = x.view(b, c, hh // wsize, wsize, ww // wsize, wsize).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(b * (hh // wsize) * (ww // wsize), wsize * wsize, c)


def _from_windows(y: torch.Tensor, b: int, hh: int, ww: int, wsize: int) -> torch.Tensor:
    """Inverse of :func:`_to_windows`."""
    c = y.shape[-1]
    y = y.view(b, hh // wsize, ww // wsize, wsize, wsize, c).permute(0, 5, 1, 3, 2, 4)
    return y.reshape(b, c, hh, ww)


class GMSA(nn.Module):
    """Group-wise multi-scale self-attention over windows of ``window_sizes`` (one per channel third).

    With ``calc_attn`` the projection doubles the channels (q and v per group) and the attention maps are
    returned for reuse; otherwise only v is projected and ``prev_atns`` is applied.
    """

    def __init__(self, channels: int, shifts: int, window_sizes: Sequence[int], calc_attn: bool = True) -> None:
        super().__init__()
        if len(window_sizes) != 3 or channels % 3:
            raise ValueError(f"GMSA needs 3 window sizes and channels divisible by 3, got {window_sizes}, {channels}")
        self.shifts = shifts
        self.window_sizes = list(window_sizes)
        self.calc_attn = calc_attn
        width = channels * 2 if calc_attn else channels
        self.split_chns = [width // 3] * 3
        self.project_inp = nn.Sequential(nn.Conv2d(channels, width, 1), nn.BatchNorm2d(width))
        self.project_out = nn.Conv2d(channels, channels, 1)

    def forward(
        self, x: torch.Tensor, prev_atns: list[torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, _, hh, ww = x.shape
        parts = torch.split(self.project_inp(x), self.split_chns, dim=1)
        ys, atns = [], []
        for idx, part in enumerate(parts):
            wsize = self.window_sizes[idx]
            if self.shifts > 0:
                part = torch.roll(part, shifts=(-(wsize // 2), -(wsize // 2)), dims=(2, 3))
            if prev_atns is None:
                q, v = _to_windows(part, wsize).chunk(2, dim=-1)
                atn = (q @ q.transpose(-2, -1)).softmax(dim=-1)
            else:
                atn, v = prev_atns[idx], _to_windows(part, wsize)
            y = _from_windows(atn @ v, b, hh, ww, wsize)
            if self.shifts > 0:
                y = torch.roll(y, shifts=(wsize // 2, wsize // 2), dims=(2, 3))
            ys.append(y)
            atns.append(atn)
        return self.project_out(torch.cat(ys, dim=1)), atns


class ELAB(nn.Module):
    """Efficient long-range attention block (keys ``modules_lfe.lfe_i``, ``modules_gmsa.gmsa_i``)."""

    def __init__(
        self, channels: int, exp_ratio: int, shifts: int, window_sizes: Sequence[int], shared_depth: int = 1
    ) -> None:
        super().__init__()
        self.shared_depth = shared_depth
        self.modules_lfe = nn.ModuleDict(
            {f"lfe_{i}": LFE(channels, channels, exp_ratio) for i in range(1 + shared_depth)}
        )
        self.modules_gmsa = nn.ModuleDict(
            {f"gmsa_{i}": GMSA(channels, shifts, window_sizes, calc_attn=(i == 0)) for i in range(1 + shared_depth)}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        atn = None
        for i in range(1 + self.shared_depth):
            x = self.modules_lfe[f"lfe_{i}"](x) + x
            y, atn = self.modules_gmsa[f"gmsa_{i}"](x, atn)
            x = y + x
        return x


class ELAN(nn.Module):
    """ELAN; ELAN-light is the default configuration."""

    def __init__(
        self,
        scale: int = 4,
        m_elan: int = 24,
        c_elan: int = 60,
        n_share: int = 1,
        r_expand: int = 2,
        window_sizes: Sequence[int] = (4, 8, 16),
        rgb_range: float = 255.0,
        colors: int = 3,
    ) -> None:
        super().__init__()
        self.scale = scale
        self.window_sizes = list(window_sizes)
        self.sub_mean = MeanShift(rgb_range)
        self.add_mean = MeanShift(rgb_range, sign=1)
        self.head = nn.Sequential(nn.Conv2d(colors, c_elan, 3, 1, 1))
        # blocks alternate: even index unshifted windows, odd index shifted windows
        self.body = nn.Sequential(
            *(ELAB(c_elan, r_expand, i % 2, window_sizes, n_share) for i in range(m_elan // (1 + n_share)))
        )
        self.tail = nn.Sequential(nn.Conv2d(c_elan, colors * scale * scale, 3, 1, 1), nn.PixelShuffle(scale))

    @property
    def pad_multiple(self) -> int:
        """Input sides are reflect-padded to a multiple of this (lcm of the window sizes)."""
        return math.lcm(*self.window_sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        m = self.pad_multiple
        x = F.pad(x, (0, (m - w % m) % m, 0, (m - h % m) % m), mode="reflect")
        x = self.head(self.sub_mean(x))
        x = self.add_mean(self.tail(self.body(x) + x))
        return x[:, :, : h * self.scale, : w * self.scale]


def _build(scale: int, **kwargs) -> ELAN:
    return ELAN(scale=scale, **kwargs)


ELAN_LIGHT_SPEC = register(
    ModelSpec(
        name="elan-light",
        family="ELAN",
        display_name="ELAN-light",
        builder=_build,
        scales=(2, 3, 4),
        kwargs={"m_elan": 24, "c_elan": 60, "n_share": 1, "r_expand": 2, "window_sizes": (4, 8, 16)},
        checkpoints={},
        data_range=255.0,
        paper="ECCV22",
        published_name="ELAN",
        notes="architecture only (no public checkpoint registered); ELAN-light: 12 ELABs of 60 channels, "
        "shared attention depth 1, windows 4/8/16, input 0-255; params include 38,904 frozen shift-kernel "
        "and mean-shift parameters that params_trainable and thop leave out",
    )
)
