"""AGDN and AGDN-S: Attention Guidance Distillation Network (Wang et al., CVPRW 2024).

Written for esr-bench from the paper and the layout of the official checkpoints
(daydreamer2024/AGDN ``basicsr/archs/AGDN_arch.py`` / ``AGDN_S_arch.py``): parameter names, operator
order and numerics follow the official model so that its checkpoints load with ``strict=True`` and its
outputs are reproduced to float precision.

Structure: RGB mean shift -> 3x3 conv -> N x AGDB -> concat of every block's output -> 1x1 conv ->
GELU -> BSConv -> long skip -> 3x3 conv + PixelShuffle -> mean shift back. Input range 0-1.

AGDB = BSConv distillation (three distill/refine steps, eq. 6-7) -> MVSA (multi-view spatial
attention, ``esa``) -> RCCA (re-parameterised contrast channel attention, ``cca``) -> SGSA (sparse
global self-attention with GDFN, ``ea``) -> residual.

SGSA in eval mode uses TLC (test-time local converter): attention is computed over overlapping local
windows of ``tlc_kernel`` pixels (48 for AGDN, 96 for AGDN-S) and averaged back; ``tlc=False`` gives
global attention over the whole image (the paper's "AGDN-woTLC").

Ablation switches (tables 1-4 of the paper): ``spatial_attn`` ("mvsa" | "none"), ``channel_attn``
("rcca" | "none"), ``sgsa`` (bool), ``tlc`` (bool), ``num_block``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .common import (
    DIV2K_RGB_MEAN,
    BSConvU,
    ContrastChannelAttention,
    blocks_and_fusion,
    feature_distillation,
    local_variance,
    pixelshuffle_upsampler,
)
from .registry import Checkpoint, ModelSpec, register

__all__ = ["AGDN", "AGDB", "tlc_windows"]


def _bsconv(in_ch: int, out_ch: int, kernel_size: int = 3, stride: int = 1, padding: int = 1) -> BSConvU:
    # AGDN's BSConvU always pads its depth-wise conv by reflection
    return BSConvU(in_ch, out_ch, kernel_size, stride, padding, dw_padding_mode="reflect")


class ElementScale(nn.Module):
    """Learnable per-channel scale (parameter ``scale`` of shape 1xCx1x1)."""

    def __init__(self, channels: int, init_value: float = 0.0) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((1, channels, 1, 1), float(init_value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class RCCA(nn.Module):
    """Re-parameterised contrast channel attention: dwconv -> GELU -> (decomposition + CCA) + skip."""

    def __init__(self, channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(channels, channels, kernel_size, 1, kernel_size // 2, groups=channels)
        self.decompose = nn.Conv2d(channels, 1, 1)
        self.sigma = ElementScale(channels, init_value=1e-5)
        self.cca = ContrastChannelAttention(channels, channels // 4)
        self.act = nn.GELU()
        self.decompose_act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.dwconv(x))
        decomposed = self.sigma(y - self.decompose_act(self.decompose(y)))
        return decomposed + self.cca(y) + x


class MultiViewESA(nn.Module):
    """Enhanced spatial attention with two max-pool views and two local-variance views."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        f = channels // 4
        self.conv1 = nn.Conv2d(channels, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv2_1 = _bsconv(f, f, 3, 2, 1)
        self.conv2_2 = _bsconv(f, f, 3, 2, 1)
        self.conv2_3 = _bsconv(f, f, 3, 2, 1)
        self.conv2_4 = _bsconv(f, f, 3, 2, 1)
        self.maxPooling_1 = nn.MaxPool2d(kernel_size=5, stride=3, padding=1)
        self.maxPooling_2 = nn.MaxPool2d(kernel_size=7, stride=3, padding=1)
        self.conv_max_1 = _bsconv(f, f)
        self.conv_max_2 = _bsconv(f, f)
        self.conv3_1 = _bsconv(f, f)
        self.conv3_2 = _bsconv(f, f)
        self.conv4 = nn.Conv2d(f, channels, 1)
        self.sigmoid = nn.Sigmoid()
        self.GELU = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = self.conv1(x)
        view_max5 = self.maxPooling_1(self.conv2_1(squeezed))
        view_max7 = self.maxPooling_2(self.conv2_2(squeezed))
        view_var7 = local_variance(self.conv2_3(squeezed), 7, 1)
        view_var5 = local_variance(self.conv2_4(squeezed), 5, 1)
        range1 = self.conv3_1(self.GELU(self.conv_max_1(view_max5 + view_var5)))
        range2 = self.conv3_2(self.GELU(self.conv_max_2(view_max7 + view_var7)))
        size = (x.size(2), x.size(3))
        up1 = F.interpolate(range1, size, mode="bilinear", align_corners=False)
        up2 = F.interpolate(range2, size, mode="bilinear", align_corners=False)
        mask = self.sigmoid(self.conv4(up1 + up2 + self.conv_f(squeezed)))
        return x * mask


class MVSA(nn.Module):
    """Multi-view spatial attention with a residual connection (checkpoint keys ``body.0.*``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(MultiViewESA(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x


class WithBiasLayerNorm(nn.Module):
    """LayerNorm over channels of an NCHW tensor (Restormer's "WithBias" variant, eps 1e-5)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.permute(0, 2, 3, 1)  # b h w c, a view as the official b (h w) c
        mu = t.mean(-1, keepdim=True)
        var = t.var(-1, keepdim=True, unbiased=False)
        return ((t - mu) / torch.sqrt(var + 1e-5) * self.weight + self.bias).permute(0, 3, 1, 2)


class ChannelLayerNorm(nn.Module):
    """Wrapper kept for checkpoint key compatibility (``normN.body.weight``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = WithBiasLayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class GDFN(nn.Module):
    """Gated-Dconv feed-forward network (Restormer), no biases."""

    def __init__(self, channels: int, expansion: float = 2.0) -> None:
        super().__init__()
        hidden = int(channels * expansion)
        self.project_in = nn.Conv2d(channels, hidden * 2, 1, bias=False)
        self.dwconv = nn.Conv2d(hidden * 2, hidden * 2, 3, 1, 1, groups=hidden * 2, bias=False)
        self.project_out = nn.Conv2d(hidden, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, value = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(gate) * value)


def tlc_windows(h: int, w: int, kernel: int) -> tuple[int, int, list[tuple[int, int]]]:
    """Top-left corners of TLC's overlapping windows (as megvii-research/TLC lays them out).

    Returns ``(k1, k2, corners)`` with the effective window size ``min(h, kernel) x min(w, kernel)``.
    """
    h, w, kernel = int(h), int(w), int(kernel)  # plain ints even under jit tracing (fvcore)
    k1, k2 = min(h, kernel), min(w, kernel)
    rows, cols = (h - 1) // k1 + 1, (w - 1) // k2 + 1
    step_i = k1 if rows == 1 else math.ceil((h - k1) / (rows - 1) - 1e-8)
    step_j = k2 if cols == 1 else math.ceil((w - k2) / (cols - 1) - 1e-8)
    corners: list[tuple[int, int]] = []
    i, last_i = 0, False
    while i < h and not last_i:
        if i + k1 >= h:
            i, last_i = h - k1, True
        j, last_j = 0, False
        while j < w and not last_j:
            if j + k2 >= w:
                j, last_j = w - k2, True
            corners.append((i, j))
            j += step_j
        i += step_i
    return k1, k2, corners


class SparseGlobalSelfAttention(nn.Module):
    """Channel-wise (transposed) self-attention with ReLU instead of softmax (SGSA).

    ``q`` and ``k`` are L2-normalised along the spatial axis, ``attn = relu(q k^T * temperature)``,
    ``out = attn v``. In eval mode with ``tlc`` on, the attention runs on TLC windows.
    """

    def __init__(self, channels: int, num_heads: int = 3, tlc: bool = True, tlc_kernel: int = 48) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.tlc = tlc
        self.tlc_kernel = tlc_kernel
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.qkv = nn.Conv2d(channels, channels * 3, 1, bias=False)
        self.qkv_dwconv = nn.Conv2d(channels * 3, channels * 3, 3, 1, 1, groups=channels * 3, bias=False)
        self.project_out = nn.Conv2d(channels, channels, 1, bias=False)
        self.act = nn.ReLU()

    def _attend(self, qkv: torch.Tensor) -> torch.Tensor:
        b, c3, h, w = qkv.shape
        heads = self.num_heads
        q, k, v = (t.reshape(b, heads, c3 // 3 // heads, h * w) for t in qkv.chunk(3, dim=1))
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
        attn = self.act((q @ k.transpose(-2, -1)) * self.temperature)
        return (attn @ v).reshape(b, c3 // 3, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = self.qkv_dwconv(self.qkv(x))
        if self.training or not self.tlc:
            return self.project_out(self._attend(qkv))
        b, c3, h, w = qkv.shape
        if b != 1:  # windows are stacked along the batch axis, as the official TLC does
            return torch.cat([self.forward(x[i : i + 1]) for i in range(b)], dim=0)
        k1, k2, corners = tlc_windows(h, w, self.tlc_kernel)
        windows = torch.cat([qkv[:, :, i : i + k1, j : j + k2] for i, j in corners], dim=0)
        outs = self._attend(windows)
        merged = torch.zeros((1, c3 // 3, h, w), dtype=outs.dtype, device=outs.device)
        count = torch.zeros((1, 1, h, w), dtype=outs.dtype, device=outs.device)
        for n, (i, j) in enumerate(corners):
            merged[0, :, i : i + k1, j : j + k2] += outs[n]
            count[0, 0, i : i + k1, j : j + k2] += 1.0
        return self.project_out(merged / count)


class SGSABlock(nn.Module):
    """Pre-norm transformer block: x + SGSA(LN(x)), then x + GDFN(LN(x))."""

    def __init__(self, channels: int, num_heads: int = 3, ffn_expansion: float = 2.0, tlc: bool = True,
                 tlc_kernel: int = 48) -> None:
        super().__init__()
        self.norm3 = ChannelLayerNorm(channels)
        self.norm4 = ChannelLayerNorm(channels)
        self.restormer_attn = SparseGlobalSelfAttention(channels, num_heads, tlc, tlc_kernel)
        self.restormer_ffn = GDFN(channels, ffn_expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.restormer_attn(self.norm3(x)) + x
        return self.restormer_ffn(self.norm4(x)) + x


class AGDB(nn.Module):
    """Attention guidance distillation block."""

    def __init__(self, channels: int, spatial_attn: str = "mvsa", channel_attn: str = "rcca", sgsa: bool = True,
                 tlc: bool = True, tlc_kernel: int = 48) -> None:
        super().__init__()
        dc = channels // 2
        self.c1_d = nn.Conv2d(channels, dc, 1)
        self.c1_r = _bsconv(channels, channels)
        self.c2_d = nn.Conv2d(channels, dc, 1)
        self.c2_r = _bsconv(channels, channels)
        self.c3_d = nn.Conv2d(channels, dc, 1)
        self.c3_r = _bsconv(channels, channels)
        self.c4 = nn.Conv2d(channels, dc, 3, 1, 1, groups=dc)
        self.act = nn.GELU()
        self.c5 = nn.Conv2d(dc * 4, channels, 1)
        if spatial_attn not in ("mvsa", "none"):
            raise ValueError(f"spatial_attn must be 'mvsa' or 'none', not {spatial_attn!r}")
        if channel_attn not in ("rcca", "none"):
            raise ValueError(f"channel_attn must be 'rcca' or 'none', not {channel_attn!r}")
        self.esa = MVSA(channels) if spatial_attn == "mvsa" else nn.Identity()
        self.cca = RCCA(channels) if channel_attn == "rcca" else nn.Identity()
        self.ea = SGSABlock(channels, tlc=tlc, tlc_kernel=tlc_kernel) if sgsa else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = feature_distillation(self, x)
        return self.ea(self.cca(self.esa(out))) + x


class AGDN(nn.Module):
    """AGDN (num_feat 42, 7 blocks, TLC window 48) / AGDN-S (24, 4 blocks, window 96); input 0-1."""

    def __init__(
        self,
        scale: int = 4,
        num_feat: int = 42,
        num_block: int = 7,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        spatial_attn: str = "mvsa",
        channel_attn: str = "rcca",
        sgsa: bool = True,
        tlc: bool = True,
        tlc_kernel: int = 48,
        rgb_mean: tuple[float, float, float] = DIV2K_RGB_MEAN,
    ) -> None:
        super().__init__()
        self.scale = scale
        self.num_block = num_block
        self.register_buffer("mean", torch.tensor(rgb_mean).view(1, 3, 1, 1), persistent=False)
        self.fea_conv = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        for n in range(1, num_block + 1):
            self.add_module(
                f"B{n}", AGDB(num_feat, spatial_attn, channel_attn, sgsa, tlc, tlc_kernel)
            )
        self.c1 = nn.Conv2d(num_feat * num_block, num_feat, 1)
        self.GELU = nn.GELU()
        self.c2 = _bsconv(num_feat, num_feat)
        self.upsampler = pixelshuffle_upsampler(num_feat, num_out_ch, scale)

    @property
    def tlc(self) -> bool:
        return any(m.tlc for m in self.modules() if isinstance(m, SparseGlobalSelfAttention))

    def set_tlc(self, enabled: bool) -> None:
        """Switch TLC on or off in every SGSA (eval mode only; training always uses global attention)."""
        for m in self.modules():
            if isinstance(m, SparseGlobalSelfAttention):
                m.tlc = bool(enabled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = self.mean.type_as(x)
        x = x - mean
        shallow = self.fea_conv(x)
        fused = blocks_and_fusion(self, shallow)
        return self.upsampler(fused + shallow) + mean


def _build(scale: int, fast: bool = False, **kwargs) -> AGDN:
    """``fast=True``: the inference form of :mod:`models.agdn_fast` (same parameters and checkpoints)."""
    if fast:
        from .agdn_fast import FastAGDN

        return FastAGDN(scale=scale, **kwargs)
    return AGDN(scale=scale, **kwargs)


_AGDN_REPO = "daydreamer2024/AGDN"
_AGDN_COMMIT = "4eb39dc9a398d97e68090953db1acf83980a66a2"

AGDN_SPEC = register(
    ModelSpec(
        name="agdn",
        family="AGDN",
        display_name="AGDN",
        builder=_build,
        scales=(2, 3, 4),
        kwargs={"num_feat": 42, "num_block": 7, "tlc_kernel": 48},
        checkpoints={
            2: Checkpoint("AGDN_x2.pth", "950fd2370dfbea4f936b4b34b3db2a61e1e38c9743ee3fe504eccc46feb08014",
                          _AGDN_REPO, _AGDN_COMMIT, "pretrain/AGDN_x2.pth", "params_ema", bytes=2565454),
            3: Checkpoint("AGDN_x3.pth", "2b9dfcb380704377548c1df1d243d1c1fc24999a6d70ec3e34985300687274f4",
                          _AGDN_REPO, _AGDN_COMMIT, "pretrain/AGDN_x3.pth", "params_ema", bytes=2610894),
            4: Checkpoint("AGDN_x4.pth", "ca2a1c952f44f104f3f5aa327b59efcec985775c6451bbaa132ec98be48a3dfc",
                          _AGDN_REPO, _AGDN_COMMIT, "pretrain/AGDN_x4.pth", "params_ema", bytes=2674766),
        },
        data_range=1.0,
        paper="CVPRW24",
        published_name="AGDN",
        notes="42 channels, 7 AGDBs, TLC window 48 in eval mode",
    )
)

AGDN_S_SPEC = register(
    ModelSpec(
        name="agdn-s",
        family="AGDN",
        display_name="AGDN-S",
        builder=_build,
        scales=(4,),
        kwargs={"num_feat": 24, "num_block": 4, "tlc_kernel": 96},
        checkpoints={
            4: Checkpoint("AGDN-S_ntire2024_team31.pth",
                          "795b7724e5975391c7134b088fb645ae2824e3ed286673dd43f1df3c9270650a",
                          "Amazingren/NTIRE2024_ESR", "6404fa48dde4a4adbf241a51debdc661aef20449",
                          "model_zoo/team31_agdn.pth", None, bytes=366165),
        },
        data_range=1.0,
        paper="CVPRW24",
        published_name="AGDN-S",
        notes="24 channels, 4 AGDBs, TLC window 96; NTIRE 2024 ESR team 31 (XJU_100th Ann)",
    ),
    aliases=("agdn_s", "agdns"),
)
