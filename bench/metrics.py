"""PSNR and SSIM as the SR literature computes them (BasicSR / MATLAB conventions), in float64 torch.

Inputs are images on the 0-255 scale (uint8 arrays/tensors, or float tensors holding integer values
after the output was rounded), ``HxWx3`` RGB arrays or ``3xHxW`` / ``HxW`` tensors.

* ``rgb_to_y``: luma of MATLAB ``rgb2ycbcr``: ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255``
  for R, G, B on 0-255 (range 16-235), kept in float64 (never rounded).
* ``psnr``: ``10 log10(255^2 / MSE)`` in float64 after cropping ``border`` pixels from each side;
  identical images give ``inf``.
* ``ssim``: Wang et al. with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, L = 255,
  statistics over *valid* window positions only (no padding: the map is ``(H-10)x(W-10)``), mean of
  the map; for several channels the mean over channels. This is BasicSR's ``calculate_ssim`` (which
  crops the 'same' ``cv2.filter2D`` output by 5 pixels) and MATLAB's ``ssim_index``.

All functions run on the device of their input, so metrics can stay on the model's GPU.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "to_chw_float64", "rgb_to_y", "crop_border", "psnr", "ssim", "gaussian_window", "gaussian_kernel_1d", "prepare",
]

_Y_COEFFS = (65.481, 128.553, 24.966)


def to_chw_float64(img: np.ndarray | torch.Tensor, device: str | torch.device | None = None) -> torch.Tensor:
    """``HxWxC`` numpy / ``CxHxW`` or ``HxW`` tensor -> ``CxHxW`` float64 tensor (values unchanged)."""
    if isinstance(img, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(img))
        t = t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)
    else:
        t = img.unsqueeze(0) if img.ndim == 2 else img
        if t.ndim == 4:
            if t.shape[0] != 1:
                raise ValueError(f"expected a single image, got a batch of {t.shape[0]}")
            t = t[0]
    return t.to(device=device if device is not None else t.device, dtype=torch.float64)


def rgb_to_y(rgb: torch.Tensor) -> torch.Tensor:
    """MATLAB ``rgb2ycbcr`` luma of a ``3xHxW`` RGB tensor on 0-255 -> ``1xHxW`` float64 (16-235)."""
    if rgb.shape[0] != 3:
        raise ValueError(f"rgb_to_y expects 3 channels (RGB), got {rgb.shape[0]}")
    rgb = rgb.to(torch.float64)
    y = (_Y_COEFFS[0] * rgb[0] + _Y_COEFFS[1] * rgb[1] + _Y_COEFFS[2] * rgb[2]) / 255.0 + 16.0
    return y.unsqueeze(0)


def crop_border(img: torch.Tensor, border: int) -> torch.Tensor:
    """Remove ``border`` pixels from each side of a ``CxHxW`` tensor."""
    if border <= 0:
        return img
    h, w = img.shape[-2:]
    if 2 * border >= min(h, w):
        raise ValueError(f"border {border} leaves nothing of a {h}x{w} image")
    return img[..., border:-border, border:-border]


def prepare(img: np.ndarray | torch.Tensor, channel: str, border: int,
            device: str | torch.device | None = None) -> torch.Tensor:
    """An image as compared by the protocols: float64, Y (``channel="Y"``) or RGB, border cropped."""
    t = to_chw_float64(img, device)
    if channel.upper() == "Y":
        if t.shape[0] == 3:
            t = rgb_to_y(t)
        elif t.shape[0] != 1:
            raise ValueError(f"cannot take the Y channel of a {t.shape[0]}-channel image")
    elif channel.upper() != "RGB":
        raise ValueError(f"channel must be 'Y' or 'RGB', not {channel!r}")
    return crop_border(t, border)


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 255.0) -> float:
    """PSNR in dB of two equally shaped float tensors (already prepared: channel chosen, border cropped)."""
    if a.shape != b.shape:
        raise ValueError(f"PSNR of differently shaped images: {tuple(a.shape)} vs {tuple(b.shape)}")
    mse = torch.mean((a.to(torch.float64) - b.to(torch.float64)) ** 2).item()
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(data_range**2 / mse)


def gaussian_kernel_1d(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Normalised 1-D Gaussian kernel (as ``cv2.getGaussianKernel(size, sigma)``), float64 on CPU."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    g = torch.exp(-(x**2) / (2.0 * sigma**2))
    return g / g.sum()


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Normalised ``size x size`` Gaussian window: the outer product of :func:`gaussian_kernel_1d`."""
    g = gaussian_kernel_1d(size, sigma)
    return torch.outer(g, g)


def ssim(a: torch.Tensor, b: torch.Tensor, data_range: float = 255.0, window_size: int = 11,
         sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> float:
    """Mean SSIM of two ``CxHxW`` tensors (prepared), valid-window Gaussian statistics, mean over channels."""
    if a.shape != b.shape:
        raise ValueError(f"SSIM of differently shaped images: {tuple(a.shape)} vs {tuple(b.shape)}")
    if min(a.shape[-2:]) < window_size:
        raise ValueError(f"SSIM needs images of at least {window_size}x{window_size}, got {tuple(a.shape[-2:])}")
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    x = a.to(torch.float64)
    y = b.to(torch.float64)
    g = gaussian_kernel_1d(window_size, sigma)
    stacked = torch.stack([x, y, x * x, y * y, x * y], dim=0)  # 5 x C x H x W
    stats = _valid_gaussian_filter(stacked, g)
    mu_x, mu_y, e_xx, e_yy, e_xy = stats.unbind(0)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    var_x = e_xx - mu_xx
    var_y = e_yy - mu_yy
    cov = e_xy - mu_xy
    ssim_map = ((2 * mu_xy + c1) * (2 * cov + c2)) / ((mu_xx + mu_yy + c1) * (var_x + var_y + c2))
    return ssim_map.mean(dim=(1, 2)).mean().item()


def _valid_gaussian_filter(t: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable correlation of the last two dims with ``g`` (x) ``g``, 'valid' positions only, float64.

    The 2-D Gaussian window is the outer product of the 1-D kernel, so two 1-D passes give the same
    statistics as the 2-D window (to float64 rounding). Each pass is a sum of ``len(g)`` shifted
    slices, which is fast on CPU (torch's float64 CPU convolution is not) and runs on any device.
    """
    k = g.numel()
    weights = g.tolist()
    h = t.shape[-2] - k + 1
    rows = t[..., 0:h, :] * weights[0]
    for i in range(1, k):
        rows.add_(t[..., i:i + h, :], alpha=weights[i])
    w = t.shape[-1] - k + 1
    out = rows[..., 0:w] * weights[0]
    for i in range(1, k):
        out.add_(rows[..., i:i + w], alpha=weights[i])
    return out
