"""MATLAB-compatible bicubic ``imresize`` (downscaling bit-exact for uint8 images).

This follows the algorithm of MATLAB's ``imresize(img, scale, 'bicubic')`` (Image Processing Toolbox):

* cubic convolution kernel with ``a = -0.5`` (Keys), support 4;
* when shrinking (``scale < 1``) the kernel is *antialiased*: stretched by ``1/scale`` and scaled
  by ``scale``, so its support becomes ``4/scale`` input pixels;
* output pixel ``x`` (1-based) maps to input coordinate ``u = x/scale + 0.5*(1 - 1/scale)``; the
  weights of the ``ceil(width) + 2`` taps starting at ``floor(u - width/2)`` are normalised to sum 1;
* out-of-range taps use symmetric padding (mirroring that repeats the edge pixel); taps whose weight
  is zero for every output pixel are dropped;
* the image is resized one dimension at a time, the dimension with the smaller scale factor first
  (the stronger shrink; rows first for equal factors), and for ``uint8`` input every pass is rounded
  back to ``uint8`` (round half away from zero, clamped to 0..255) before the next one.

The reference LR images of the SR community (``Set5/LR_bicubic/X{2,3,4}``) were made this way, and
:func:`imresize` reproduces them pixel for pixel. Each pass is a dense matrix product (weights
``out x in``), computed in float64; the same weights serve float (``torch``) inputs through
:func:`imresize_torch`, which is what the ``bicubic`` zoo model uses.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

__all__ = ["cubic", "resize_weights", "imresize", "imresize_torch", "output_size"]


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with ``a = -0.5`` (MATLAB's ``cubic``)."""
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * (
        (ax > 1) & (ax <= 2)
    )


def output_size(in_size: int, scale: float) -> int:
    """MATLAB's output length for a scale factor: ``ceil(in_size * scale)``."""
    return int(math.ceil(in_size * scale - 1e-9))


@lru_cache(maxsize=256)
def _weights_cached(in_len: int, out_len: int, scale: float, antialias: bool) -> np.ndarray:
    kernel_width = 4.0
    if scale < 1 and antialias:
        def h(x: np.ndarray) -> np.ndarray:
            return scale * cubic(scale * x)

        kernel_width = kernel_width / scale
    else:
        h = cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)[:, None]
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left + np.arange(taps, dtype=np.float64)[None, :]  # 1-based input positions
    w = h(u - indices)
    w = w / w.sum(axis=1, keepdims=True)
    # symmetric padding: positions 1..n, then n..1, repeating
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    idx = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_len)]
    keep = np.any(w != 0, axis=0)
    w, idx = w[:, keep], idx[:, keep]
    dense = np.zeros((out_len, in_len), dtype=np.float64)
    rows = np.repeat(np.arange(out_len), w.shape[1])
    np.add.at(dense, (rows, idx.ravel()), w.ravel())
    dense.setflags(write=False)
    return dense


def resize_weights(in_len: int, out_len: int, scale: float, antialias: bool = True) -> np.ndarray:
    """Dense ``(out_len, in_len)`` float64 matrix of MATLAB's bicubic weights along one dimension.

    Taps that fall on the same input pixel after symmetric padding are summed.
    """
    return _weights_cached(int(in_len), int(out_len), float(scale), bool(antialias))


def _round_uint8(x: np.ndarray) -> np.ndarray:
    # MATLAB's double -> uint8 conversion: round half away from zero, saturate
    return np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)


def _dim_order(scale_h: float, scale_w: float) -> tuple[int, ...]:
    # MATLAB sorts the scale factors ascending (stable): strongest shrink first, rows on a tie
    return (0, 1) if scale_h <= scale_w else (1, 0)


def _normalise_scale(img_shape: tuple[int, ...], scale: float | tuple[float, float] | None,
                     size: tuple[int, int] | None) -> tuple[tuple[float, float], tuple[int, int]]:
    h, w = img_shape[:2]
    if size is not None:
        oh, ow = int(size[0]), int(size[1])
        return (oh / h, ow / w), (oh, ow)
    if scale is None:
        raise ValueError("imresize needs a scale or an output size")
    sh, sw = (scale, scale) if np.isscalar(scale) else (float(scale[0]), float(scale[1]))
    return (float(sh), float(sw)), (output_size(h, sh), output_size(w, sw))


def imresize(
    img: np.ndarray,
    scale: float | tuple[float, float] | None = None,
    *,
    size: tuple[int, int] | None = None,
    antialias: bool = True,
) -> np.ndarray:
    """MATLAB ``imresize(img, scale, 'bicubic')`` for an ``HxW`` or ``HxWxC`` array.

    ``uint8`` input gives ``uint8`` output rounded after every one-dimensional pass, as MATLAB does
    (bit-exact against MATLAB-made LR images); float input gives float64 output, unclamped.
    Pass ``scale=1/4`` for x4 downscaling (the factor itself is used in the kernel, as in MATLAB),
    or ``size=(H, W)``.
    """
    arr = np.asarray(img)
    if arr.ndim not in (2, 3):
        raise ValueError(f"imresize expects an HxW or HxWxC image, got shape {arr.shape}")
    is_uint8 = arr.dtype == np.uint8
    if not is_uint8 and not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"imresize supports uint8 and float images, not {arr.dtype}")
    (sh, sw), (oh, ow) = _normalise_scale(arr.shape, scale, size)
    out = arr.astype(np.float64)
    for dim in _dim_order(sh, sw):
        in_len = out.shape[dim]
        s, o = (sh, oh) if dim == 0 else (sw, ow)
        if o == in_len and s == 1:
            continue
        w = resize_weights(in_len, o, s, antialias)
        out = np.tensordot(w, out, axes=([1], [dim]))
        if dim == 1:
            out = np.moveaxis(out, 0, 1)
        if is_uint8:
            out = _round_uint8(out).astype(np.float64)
    return out.astype(np.uint8) if is_uint8 else out


def imresize_torch(
    x: torch.Tensor,
    scale: float | tuple[float, float],
    *,
    antialias: bool = True,
    quantize: bool = False,
    data_range: float = 1.0,
) -> torch.Tensor:
    """MATLAB bicubic resize of an ``NxCxHxW`` float tensor (same weights and pass order as :func:`imresize`).

    With ``quantize=True`` each pass is rounded to the uint8 grid of ``data_range`` (half away from
    zero, clamped), reproducing MATLAB on uint8 images; otherwise it is MATLAB on double images.
    Computed in float64 on the tensor's device; returned in the input dtype.
    """
    if x.ndim != 4:
        raise ValueError(f"imresize_torch expects NxCxHxW, got shape {tuple(x.shape)}")
    h, w = x.shape[-2:]
    (sh, sw), (oh, ow) = _normalise_scale((h, w), scale, None)
    step = 255.0 / data_range
    out = x.to(torch.float64)
    if quantize:  # work on the 0-255 integer grid, exactly as MATLAB does on uint8 data
        out = torch.round(out * step)
    for dim in _dim_order(sh, sw):
        if dim == 0:
            m = torch.from_numpy(np.array(resize_weights(h, oh, sh, antialias))).to(x.device)
            out = torch.einsum("oh,nchw->ncow", m, out)
        else:
            m = torch.from_numpy(np.array(resize_weights(w, ow, sw, antialias))).to(x.device)
            out = torch.einsum("ow,nchw->ncho", m, out)
        if quantize:
            out = torch.floor(out + 0.5).clamp_(0, 255)
    if quantize:
        out = out / step
    return out.to(x.dtype)
