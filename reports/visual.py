"""Visual comparison (the paper's figure 4): HR crop, bicubic and each model's crop, PSNR/SSIM under each.

Protocol of the numbers under each crop: whole-image PSNR/SSIM of the model output against the HR image
(HR mod-cropped to the scale), output clamped and rounded to uint8, Y channel of MATLAB ``rgb2ycbcr``,
``scale`` pixels of border removed, SSIM with an 11x11 Gaussian window (sigma 1.5) — the paper protocol,
computed by :mod:`bench.metrics` (the same code as ``esr-bench eval``). Images are read by
:func:`bench.data.read_image`, models loaded and their output rounded by :mod:`bench.quality`.
The "Bicubic" panel upsamples the LR image with the suite's MATLAB-compatible ``imresize``.
LR: the dataset's ``LR_bicubic/X<s>/<name>x<s>.png`` when present, else the HR downscaled by the
suite's MATLAB-compatible bicubic (:func:`bench.data.make_lr`).
"""

from __future__ import annotations

import base64
import io
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench.data import make_lr, modcrop, read_image, resolve_dataset
from bench.imresize import imresize
from bench.metrics import prepare, psnr, ssim


@dataclass
class Panel:
    title: str
    crop: np.ndarray  # HxWx3 uint8
    psnr: float | None = None
    ssim: float | None = None


@dataclass
class VisualResult:
    image: str
    scale: int
    box: tuple[int, int, int, int]  # x, y, width, height in HR pixels
    panels: list[Panel] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def meta(self) -> dict[str, Any]:
        return {"kind": "visual", "image": self.image, "scale": self.scale, "box": list(self.box),
                "panels": [{"title": p.title, "psnr": p.psnr, "ssim": p.ssim} for p in self.panels],
                "notes": self.notes,
                "protocol": {"name": "paper", "channel": "Y", "border": self.scale, "rounding": "uint8",
                             "scope": "whole image"}}


def psnr_y(sr: np.ndarray, hr: np.ndarray, border: int) -> float:
    """PSNR (dB) on the Y channel with ``border`` pixels cropped (:mod:`bench.metrics`, paper protocol)."""
    return psnr(prepare(sr, "Y", border), prepare(hr, "Y", border))


def ssim_y(sr: np.ndarray, hr: np.ndarray, border: int) -> float:
    """SSIM on Y (Gaussian 11x11, sigma 1.5, valid windows) with ``border`` cropped (:mod:`bench.metrics`)."""
    return ssim(prepare(sr, "Y", border), prepare(hr, "Y", border))


def find_image(dataset: str | Path, image: str, scale: int) -> tuple[Path, Path | None]:
    """HR path and LR path (or ``None``) of ``image`` in a dataset :func:`bench.data.resolve_dataset` knows
    (a name under ``$ESR_BENCH_DATA`` or a folder, any supported layout)."""
    ds = resolve_dataset(dataset)
    pair = next((p for p in ds.pairs(scale) if p.name == Path(image).stem), None)
    if pair is None:
        names = ", ".join(p.stem for p in ds.hr_files()[:20])
        raise FileNotFoundError(f"image {image!r} not in dataset {ds.name} (images: {names} ...)")
    return pair.hr, pair.lr


def run_model(name: Any, scale: int, lr: np.ndarray, device: str = "cpu", weights_dir: str | None = None) -> np.ndarray:
    """Super-resolve an ``HxWx3`` uint8 LR image with the zoo model (or a built module, e.g. your own model
    with its ``data_range`` attribute) -> ``sHxsWx3`` uint8 SR.

    Weights and rounding as ``esr-bench eval``: :func:`bench.quality.load_model` (official checkpoint;
    none needed for a weight-free model) and :func:`bench.quality.quantize_output`. Raises
    ``FileNotFoundError`` when the checkpoint is missing.
    """
    import torch

    from bench.quality import load_model, quantize_output

    if isinstance(name, torch.nn.Module):
        model = name
    else:
        model, message = load_model(name, scale, weights_dir)
        if model is None:
            raise FileNotFoundError(message)
    model = model.to(device).eval()
    rng = float(getattr(model, "data_range", 1.0))
    x = torch.from_numpy(np.ascontiguousarray(lr)).permute(2, 0, 1)[None].to(device).float().div(255.0 / rng)
    with torch.inference_mode():
        y = quantize_output(model(x)[0], rng)
    return y.to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def visual_comparison(models: list[str], dataset: str | Path, image: str, scale: int = 4,
                      box: tuple[int, int, int, int] | None = None, device: str = "cpu",
                      weights_dir: str | None = None, sr_fn=None) -> VisualResult:
    """Crops of HR, bicubic and every model for ``image``; ``box`` = (x, y, w, h) in HR pixels (default: a
    centred square of a quarter of the shorter side). ``sr_fn(model, scale, lr) -> uint8 SR`` overrides
    the model call (tests)."""
    hr_path, lr_path = find_image(dataset, image, scale)  # Dataset.pairs checked the LR size against the HR
    hr = modcrop(read_image(hr_path), scale)
    h, w = hr.shape[:2]
    notes: list[str] = []
    lr = read_image(lr_path) if lr_path else make_lr(hr, scale)
    if box is None:
        side = max(8, min(h, w) // 4)
        box = ((w - side) // 2, (h - side) // 2, side, side)
    x0, y0, bw, bh = box
    if x0 < 0 or y0 < 0 or bw <= 0 or bh <= 0 or x0 + bw > w or y0 + bh > h:
        raise ValueError(f"box {box} (x, y, w, h) does not fit the {w}x{h} HR image")

    def crop(img: np.ndarray) -> np.ndarray:
        return img[y0:y0 + bh, x0:x0 + bw]

    res = VisualResult(image=hr_path.stem, scale=scale, box=tuple(box), notes=notes)
    res.panels.append(Panel("HR", crop(hr)))
    bic = np.asarray(imresize(lr, float(scale)))
    res.panels.append(Panel("Bicubic", crop(bic), psnr_y(bic, hr, scale), ssim_y(bic, hr, scale)))
    sr_fn = sr_fn or (lambda m, s, x: run_model(m, s, x, device=device, weights_dir=weights_dir))
    for model in models:
        spec = getattr(model, "esr_spec", None)  # a module built from a reference (your own model)
        name = spec.name if spec is not None else model
        try:
            sr = sr_fn(model, scale, lr)
        except Exception as exc:  # noqa: BLE001 - one model's failure is a note, not the end of the figure
            res.notes.append(f"{name}: {exc}")
            continue
        from .tables import _label

        res.panels.append(Panel(_label(name), crop(sr), psnr_y(sr, hr, scale), ssim_y(sr, hr, scale)))
    return res


def render_png(res: VisualResult) -> bytes:
    """The panels side by side with PSNR/SSIM captions, as PNG bytes."""
    import matplotlib.pyplot as plt

    n = len(res.panels)
    fig, axes = plt.subplots(1, n, figsize=(2.0 * n, 2.5))
    axes = np.atleast_1d(axes)
    for ax, p in zip(axes, res.panels):
        ax.imshow(p.crop, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("\n".join(textwrap.wrap(p.title, 18)) or p.title, fontsize=8)
        ax.set_xlabel("PSNR/SSIM" if p.psnr is None else f"{p.psnr:.2f}/{p.ssim:.4f}", fontsize=7)
    fig.suptitle(f"{res.image} x{res.scale}, box x={res.box[0]} y={res.box[1]} {res.box[2]}x{res.box[3]}",
                 fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def write_figure(png_path: str | Path, png: bytes, meta: dict[str, Any]) -> Path:
    """Write a figure's PNG, then its JSON of numbers next to it (``.json``), each atomically.

    The JSON is written only once the PNG is in place, so a figure's JSON never exists without its
    PNG; a failed write (e.g. ``OSError`` ENOSPC) leaves no temporary file and propagates.
    """
    from bench.outputs import atomic_write_bytes
    from bench.records import write_json

    png_path = Path(png_path)
    atomic_write_bytes(png_path, png)
    write_json(png_path.with_suffix(".json"), meta)
    return png_path


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def image_data_uri(png: bytes) -> str:
    """A data URI for embedding ``png`` in the HTML report: lossless WebP when Pillow can write it (the
    same pixels, typically 40 % fewer bytes), else the PNG itself."""
    try:
        with Image.open(io.BytesIO(png)) as im:
            buf = io.BytesIO()
            im.save(buf, format="WEBP", lossless=True, quality=100, method=6)
    except (OSError, ValueError, KeyError):  # no WebP encoder in this Pillow build
        return png_data_uri(png)
    webp = buf.getvalue()
    if len(webp) >= len(png):
        return png_data_uri(png)
    return "data:image/webp;base64," + base64.b64encode(webp).decode("ascii")
