"""Fast inference form of AGDN / AGDN-S: same parameters, same checkpoints, outputs within 1e-5.

The AGDN paper closes with "we will focus on optimizing the network runtime": AGDN-S needs a fifth of
RLFN's arithmetic but runs several times slower, bound by memory traffic and many small operators.
:class:`FastAGDN` is the reference :class:`models.agdn.AGDN` (same modules, same ``state_dict`` keys,
so official checkpoints load with ``strict=True``) with an inference-only forward that:

- keeps every feature map in channels-last memory (depth-wise and 1x1 convolutions take oneDNN's
  NHWC kernels; the channel LayerNorm becomes one fused ``F.layer_norm`` over contiguous channels);
- runs TLC on NHWC windows: the windows are cut once from the NHWC ``qkv`` map, the Gram matrices of
  all windows and heads are one batched matmul (heads kept apart by a block-diagonal mask, exact
  zeros), the window outputs are one batched matmul, and the overlap average uses a count map
  computed once per (size, window) and cached; the merge adds windows in the reference's order;
- runs 1x1 convolutions as GEMMs over NHWC pixels (``F.linear``) and keeps every map that feeds an
  element-wise op contiguous: the ``qkv`` and GDFN projections are split into contiguous channel groups
  (a depth-wise conv splits exactly), since element-wise ops on NHWC channel slices are several times
  slower; MVSA's four view branches run as one GEMM and one grouped depth-wise conv, the two ranges are
  up-sampled once as a sum (bilinear interpolation is linear), CCA's statistics are reduced over the
  contiguous pixel axis, and residual/gating arithmetic is written as in-place ``addcmul``/``mul``.

Complexity counters (module hooks, ``torch.jit`` tracing, dispatch modes) see the reference forward,
so a fast row reports the architecture's parameters and MACs (see ``_observed``).

Numerics: the reordering changes float32 rounding only (max |diff| to the official outputs stays
below 1e-5 on every shared parity file; see ``tests/test_agdn_fast.py``). Training mode, or a model
switched to ``train()``, runs the reference forward.

On CUDA, :func:`optimize` can wrap the network in :class:`CUDAGraphForward`, which captures one CUDA
graph per input shape and replays it (the AGDN forward launches hundreds of small kernels).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .agdn import AGDB, AGDN, AGDN_S_SPEC, AGDN_SPEC, MVSA, RCCA, SGSABlock, SparseGlobalSelfAttention, tlc_windows
from .common import local_variance
from .registry import register

__all__ = ["FastAGDN", "CUDAGraphForward", "optimize", "tlc_count_map"]

_CL = torch.channels_last


def _cl(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=_CL)


def tlc_count_map(h: int, w: int, kernel: int, device: torch.device | str = "cpu",
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """How many TLC windows cover each pixel: an ``h x w x 1`` tensor (values 1-4 for AGDN's layout).

    The windows are :func:`models.agdn.tlc_windows`'s; the count is accumulated in the same order as the
    reference merge, so dividing by it gives the reference's average.
    """
    k1, k2, corners = tlc_windows(h, w, kernel)
    count = torch.zeros((h, w, 1), dtype=dtype, device=device)
    for i, j in corners:
        count[i : i + k1, j : j + k2] += 1.0
    return count


def _head_mask(channels: int, heads: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    d = channels // heads
    return torch.block_diag(*[torch.ones(d, d, device=device, dtype=dtype)] * heads)


class _CountCache:
    """Count maps and head masks keyed by shape/device/dtype (tiny; rebuilt on a new size)."""

    def __init__(self) -> None:
        self._store: dict[tuple, torch.Tensor] = {}

    def get(self, key: tuple, make: Callable[[], torch.Tensor]) -> torch.Tensor:
        t = self._store.get(key)
        if t is None:
            if len(self._store) > 64:
                self._store.clear()
            t = self._store[key] = make()
        return t


_CACHE = _CountCache()


# ------------------------------------------------------------------------------------------ pieces
# On NHWC memory, an element-wise op on a channel slice is several times slower than on a whole map
# (measured: GELU on 12 of 36 channels 16 ms vs 3 ms contiguous), so sibling convs are fused only where
# their outputs feed convolutions, and 1x1 convs that must be split are run as separate GEMMs.
def _pointwise(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """A 1x1 convolution as one GEMM over the NHWC pixels (``F.linear``); returns channels-last NCHW."""
    return F.linear(_cl(x).permute(0, 2, 3, 1), weight.flatten(1), bias).permute(0, 3, 1, 2)


def _pad(dw: nn.Conv2d) -> list[int]:
    return [dw.padding[1]] * 2 + [dw.padding[0]] * 2


def _reflect_dw(x: torch.Tensor, dw: nn.Conv2d) -> torch.Tensor:
    """The reflect-padded depth-wise conv of a BSConvU, on an already point-wise-projected input."""
    return F.conv2d(F.pad(x, _pad(dw), mode="reflect"), dw.weight, dw.bias, dw.stride, 0, dw.dilation, dw.groups)


def _distill(b: AGDB, x: torch.Tensor) -> torch.Tensor:
    """``feature_distillation`` (same operator order), each map kept contiguous channels-last."""
    ds = []
    h = x
    for d_conv, r_conv in ((b.c1_d, b.c1_r), (b.c2_d, b.c2_r), (b.c3_d, b.c3_r)):
        ds.append(F.gelu(_pointwise(h, d_conv.weight, d_conv.bias)))
        r = _reflect_dw(_pointwise(h, r_conv.pw.weight), r_conv.dw)
        h = F.gelu(r.add_(h))
    ds.append(F.gelu(b.c4(h)))
    return _pointwise(torch.cat(ds, dim=1), b.c5.weight, b.c5.bias)


def _mvsa(m: MVSA, x: torch.Tensor) -> torch.Tensor:
    """MVSA + its residual, ``x * mask + x``; the four view branches run as one grouped conv."""
    e = m.body[0]
    f = e.conv1.out_channels
    squeezed = _pointwise(x, e.conv1.weight, e.conv1.bias)
    branches = (e.conv2_1, e.conv2_2, e.conv2_3, e.conv2_4)
    y = _pointwise(squeezed, torch.cat([c.pw.weight for c in branches], 0))
    dw = branches[0].dw
    z = F.conv2d(F.pad(y, _pad(dw), mode="reflect"), torch.cat([c.dw.weight for c in branches], 0),
                 torch.cat([c.dw.bias for c in branches], 0), dw.stride, 0, dw.dilation, 4 * f)
    view_max5 = e.maxPooling_1(z[:, :f])
    view_max7 = e.maxPooling_2(z[:, f : 2 * f])
    view_var7 = local_variance(z[:, 2 * f : 3 * f], 7, 1)
    view_var5 = local_variance(z[:, 3 * f :], 5, 1)
    range1 = e.conv3_1(F.gelu(e.conv_max_1(view_max5 + view_var5)))
    range2 = e.conv3_2(F.gelu(e.conv_max_2(view_max7 + view_var7)))
    size = (x.size(2), x.size(3))
    if range1.shape == range2.shape:  # bilinear up-sampling is linear: one up-sampling of the sum
        up = F.interpolate(range1 + range2, size, mode="bilinear", align_corners=False)
    else:  # the two pooled views differ in size on some inputs
        up = F.interpolate(range1, size, mode="bilinear", align_corners=False)
        up = up.add_(F.interpolate(range2, size, mode="bilinear", align_corners=False))
    local = _pointwise(squeezed, e.conv_f.weight, e.conv_f.bias)
    mask = torch.sigmoid(_pointwise(up.add_(local), e.conv4.weight, e.conv4.bias))
    return torch.addcmul(x, x, mask)


def _std_plus_mean(y: torch.Tensor) -> torch.Tensor:
    """``channel_std(y) + avg_pool(y)`` of CCA, reduced over the contiguous NHWC pixel axis (1 x C x 1 x 1)."""
    t = _cl(y).permute(0, 2, 3, 1).reshape(-1, y.size(1))
    n = t.size(0)
    mean = t.sum(0) / n
    std = ((t - mean).pow_(2).sum(0) / n).pow_(0.5)
    return (std + t.mean(0)).view(1, -1, 1, 1)


def _rcca(m: RCCA, x: torch.Tensor) -> torch.Tensor:
    y = F.gelu(m.dwconv(x))
    g = F.gelu(_pointwise(y, m.decompose.weight, m.decompose.bias))
    cca = m.cca
    s = cca.conv_du(_std_plus_mean(y))
    out = (y - g).mul_(m.sigma.scale)
    return out.addcmul_(y, s).add_(x)


def _layer_norm(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    ln = norm.body
    t = _cl(x).permute(0, 2, 3, 1)
    return F.layer_norm(t, (t.size(-1),), ln.weight, ln.bias, 1e-5).permute(0, 3, 1, 2)


def _split_pw_dw(x: torch.Tensor, pw: nn.Conv2d, dw: nn.Conv2d, parts: int) -> list[torch.Tensor]:
    """``dw(pw(x))`` (bias-free 1x1 then depth-wise 3x3) as ``parts`` contiguous channel groups.

    A depth-wise conv splits exactly along channels, so each group is its own GEMM + depth-wise conv
    instead of element-wise work on strided channel slices.
    """
    return [F.conv2d(_pointwise(x, wp), wd, None, dw.stride, dw.padding, dw.dilation, wd.size(0))
            for wp, wd in zip(pw.weight.chunk(parts, 0), dw.weight.chunk(parts, 0))]


def _windows(t: torch.Tensor, k1: int, k2: int, corners: list[tuple[int, int]]) -> torch.Tensor:
    """``N x (k1 k2) x C`` windows of an ``H x W x C`` map (NHWC rows, one copy)."""
    return torch.stack([t[i : i + k1, j : j + k2] for i, j in corners]).view(len(corners), k1 * k2, t.size(-1))


def _sgsa(a: SparseGlobalSelfAttention, x: torch.Tensor) -> torch.Tensor:
    """SGSA on NHWC windows: one batched Gram, one batched window product, cached count map.

    The Gram of raw q, k is divided by the product of their L2 norms (``F.normalize`` then matmul in the
    reference), heads are kept apart by a block-diagonal 0/1 mask over the full C x C Gram.
    """
    q, k, v = (m[0].permute(1, 2, 0) for m in _split_pw_dw(x, a.qkv, a.qkv_dwconv, 3))  # H x W x C each
    h, w, c = q.shape
    tlc = a.tlc
    if tlc:
        k1, k2, corners = tlc_windows(h, w, a.tlc_kernel)
        tlc = len(corners) > 1
    if tlc:
        q, k, v = (_windows(t, k1, k2, corners) for t in (q, k, v))
    else:
        q, k, v = (t.reshape(1, h * w, c) for t in (q, k, v))
    eps = 1e-12  # F.normalize's default
    nq = torch.linalg.vector_norm(q, dim=1).clamp_min_(eps)  # N x C
    nk = torch.linalg.vector_norm(k, dim=1).clamp_min_(eps)
    heads = a.num_heads
    mask = _CACHE.get(("mask", c, heads, q.device, q.dtype), lambda: _head_mask(c, heads, q.device, q.dtype))
    temp = a.temperature.reshape(heads, 1).repeat_interleave(c // heads, 0)  # C x 1
    gram = q.transpose(1, 2) @ k  # N x C x C, every head at once
    attn = torch.relu(gram.mul_(temp / (nq[:, :, None] * nk[:, None, :]))).mul_(mask)
    out = v @ attn.transpose(1, 2)  # N x P x C
    if not tlc:
        merged = out.view(1, h, w, c)
    else:
        out = out.view(len(corners), k1, k2, c)
        merged = torch.zeros((1, h, w, c), dtype=out.dtype, device=out.device)
        for n, (i, j) in enumerate(corners):  # the reference's window order (bit-identical sums)
            merged[0, i : i + k1, j : j + k2] += out[n]
        count = _CACHE.get(("count", h, w, a.tlc_kernel, out.device, out.dtype),
                           lambda: tlc_count_map(h, w, a.tlc_kernel, out.device, out.dtype))
        merged = merged.div_(count)
    return _pointwise(merged.permute(0, 3, 1, 2), a.project_out.weight)


def _sgsa_block(m: SGSABlock, x: torch.Tensor) -> torch.Tensor:
    x = _sgsa(m.restormer_attn, _layer_norm(m.norm3, x)).add_(x)
    f = m.restormer_ffn
    gate, value = _split_pw_dw(_layer_norm(m.norm4, x), f.project_in, f.dwconv, 2)
    return _pointwise(F.gelu(gate).mul_(value), f.project_out.weight).add_(x)


def _range(name: str) -> torch.profiler.record_function:
    # ``esr-bench profile`` shows ranges named "module:<qualified name>" as module rows (bench.profile)
    return torch.profiler.record_function("module:" + name)


def _block(b: AGDB, x: torch.Tensor, name: str) -> torch.Tensor:
    with _range(name):
        with _range(name + ".distill"):
            out = _distill(b, x)
        if isinstance(b.esa, MVSA):
            with _range(name + ".esa"):
                out = _mvsa(b.esa, out)
        if isinstance(b.cca, RCCA):
            with _range(name + ".cca"):
                out = _rcca(b.cca, out)
        if isinstance(b.ea, SGSABlock):
            with _range(name + ".ea"):
                out = _sgsa_block(b.ea, out)
        return out.add_(x)


# ------------------------------------------------------------------------------------------- model
#: Attribute that marks a forward hook as a pure profiler range (``bench.profile.module_ranges``): such
#: hooks only label time, so the fast forward still runs under them.
PROFILE_RANGE_HOOK = "_esr_profile_range"


def _observed(net: nn.Module) -> bool:
    """Whether something counts this forward per module or per operator (complexity counters).

    thop, ptflops and the NTIRE hook counter hook module forwards, fvcore traces with ``torch.jit``,
    ``FlopCounterMode`` and shape-only counting are dispatch modes. They count the *architecture*, so
    under them the reference forward runs: the fast form then reports the reference's parameters and
    MACs instead of undercounting the convolutions it calls as functions.
    """
    from torch.nn.modules import module as module_mod
    from torch.utils._python_dispatch import _get_current_dispatch_mode

    if torch.jit.is_tracing() or _get_current_dispatch_mode() is not None:
        return True
    if module_mod._global_forward_hooks or module_mod._global_forward_pre_hooks:
        return True
    mods = net.__dict__.get("_esr_module_list")
    if mods is None:  # walking the module tree each forward costs more than the check itself
        mods = net.__dict__["_esr_module_list"] = tuple(net.modules())
    for m in mods:
        for hooks in (m._forward_hooks, m._forward_pre_hooks):
            if hooks and any(not getattr(h, PROFILE_RANGE_HOOK, False) for h in hooks.values()):
                return True
    return False


class FastAGDN(AGDN):
    """AGDN / AGDN-S with the fast inference forward (same constructor, parameters and checkpoints).

    ``forward(x)``: ``x`` is ``B x 3 x H x W`` in 0-1 (any memory format); returns
    ``B x 3 x sH x sW`` (channels-last memory). In training mode the reference forward runs.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or _observed(self):
            return super().forward(x)
        if x.size(0) != 1:  # image by image (TLC windows and CCA statistics are per image)
            return torch.cat([self.forward(x[i : i + 1]) for i in range(x.size(0))], dim=0)
        mean = self.mean.type_as(x)
        shallow = self.fea_conv(_cl(x - mean))
        feats = []
        h = shallow
        for n in range(1, self.num_block + 1):
            h = _block(getattr(self, f"B{n}"), h, f"B{n}")
            feats.append(h)
        fused = self.c2(F.gelu(self.c1(torch.cat(feats, dim=1))))
        return self.upsampler(fused.add_(shallow)) + mean


class CUDAGraphForward(nn.Module):
    """Replays a captured CUDA graph of ``net``'s forward, one graph per (shape, dtype, device).

    Inference only (``torch.inference_mode`` inside). The output is a fresh tensor (a clone of the
    graph's static output). On a CPU input, or with grad enabled for training, it simply calls ``net``.
    Source of the technique: ``torch.cuda.graphs`` documentation (warm-up on a side stream, capture,
    ``replay``).
    """

    def __init__(self, net: nn.Module, warmup: int = 3) -> None:
        super().__init__()
        self.net = net
        self.warmup = int(warmup)
        self._graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor]] = {}
        for attr in ("esr_spec", "esr_scale", "data_range"):
            if hasattr(net, attr):
                setattr(self, attr, getattr(net, attr))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cuda" or self.training:
            return self.net(x)
        key = (tuple(x.shape), x.dtype, x.device, x.is_contiguous(memory_format=_CL))
        entry = self._graphs.get(key)
        if entry is None:
            entry = self._graphs[key] = self._capture(x)
        graph, static_in, static_out = entry
        static_in.copy_(x)
        graph.replay()
        return static_out.clone()

    def _capture(self, x: torch.Tensor) -> tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor]:
        static_in = x.clone()
        side = torch.cuda.Stream(device=x.device)
        side.wait_stream(torch.cuda.current_stream(x.device))
        with torch.inference_mode(), torch.cuda.stream(side):
            for _ in range(self.warmup):
                self.net(static_in)
        torch.cuda.current_stream(x.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), torch.cuda.graph(graph):
            static_out = self.net(static_in)
        return graph, static_in, static_out


def optimize(model: nn.Module, cuda_graphs: bool = False) -> nn.Module:
    """The fast inference form of an AGDN / AGDN-S ``model`` (a copy; ``model`` is left as it is).

    Returns a :class:`FastAGDN` in eval mode holding copies of ``model``'s parameters (so the same
    official checkpoint numbers), keeping its ``esr_spec`` / ``esr_scale`` / ``data_range``;
    ``cuda_graphs=True`` wraps it in :class:`CUDAGraphForward` (useful on CUDA only).
    Raises ``TypeError`` for a model that is not an :class:`models.agdn.AGDN`.
    """
    if not isinstance(model, AGDN):
        raise TypeError(f"optimize() takes an AGDN / AGDN-S model, not {type(model).__name__}")
    keep = {id(v): v for a in ("esr_spec",) if (v := getattr(model, a, None)) is not None}
    fast = copy.deepcopy(model, memo=keep)  # the spec is shared, not copied
    fast.__class__ = FastAGDN  # same modules and parameters; only the forward differs
    fast.eval()
    return CUDAGraphForward(fast) if cuda_graphs else fast


# --------------------------------------------------------------------------------------- zoo rows
def _fast_spec(base):
    from dataclasses import replace

    return replace(base, name=f"{base.name}-fast", display_name=f"{base.display_name} (fast)",
                   kwargs={**base.kwargs, "fast": True},
                   notes=f"{base.notes}; fast inference form (models/agdn_fast.py), same checkpoint")


AGDN_FAST_SPEC = register(_fast_spec(AGDN_SPEC))
AGDN_S_FAST_SPEC = register(_fast_spec(AGDN_S_SPEC), aliases=("agdn_s_fast", "agdns-fast"))
