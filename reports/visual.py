"""Visual comparison (the paper's figure 4): HR crop, bicubic and each model's crop, PSNR/SSIM under each.

Protocol of the numbers under each crop: whole-image PSNR/SSIM of the model output against the HR image
(HR mod-cropped to the scale), output clamped and rounded to uint8, Y channel of MATLAB ``rgb2ycbcr``,
``scale`` pixels of border removed, SSIM with an 11x11 Gaussian window (sigma 1.5) — the paper protocol.
The "Bicubic" panel upsamples the LR image with the suite's MATLAB-compatible ``imresize`` (PIL's
bicubic when that module is absent; it differs by a fraction of a dB).
LR: the dataset's ``LR_bicubic/X<s>/<name>x<s>.png`` when present, else the HR downscaled by the
suite's MATLAB-compatible bicubic when available.
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


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2ycbcr`` luma of a uint8 RGB image, as float64 in [16, 235]."""
    x = img.astype(np.float64)
    return 16.0 + (65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]) / 255.0


def psnr_y(sr: np.ndarray, hr: np.ndarray, border: int) -> float:
    """PSNR on Y with ``border`` pixels cropped (the quality module's metric when it is installed)."""
    try:
        from bench.metrics import prepare, psnr

        return psnr(prepare(sr, "Y", border), prepare(hr, "Y", border))
    except ImportError:
        pass
    a, b = rgb_to_y(sr), rgb_to_y(hr)
    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ssim_y(sr: np.ndarray, hr: np.ndarray, border: int) -> float:
    """SSIM on Y (Gaussian 11x11, sigma 1.5, valid region), as in the paper's MATLAB-derived code."""
    try:
        from bench.metrics import prepare, ssim

        return ssim(prepare(sr, "Y", border), prepare(hr, "Y", border))
    except ImportError:
        pass
    from scipy.signal import convolve2d

    a, b = rgb_to_y(sr), rgb_to_y(hr)
    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g)
    w /= w.sum()

    def f(x: np.ndarray) -> np.ndarray:
        return convolve2d(x, w, mode="valid")

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = f(a), f(b)
    va, vb, cov = f(a * a) - mu_a**2, f(b * b) - mu_b**2, f(a * b) - mu_a * mu_b
    m = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))
    return float(m.mean())


def _load_rgb(path: Path) -> np.ndarray:
    try:  # the quality module's reader (16-bit, grey and alpha handled as the evaluation does)
        from bench.data import read_image

        return np.ascontiguousarray(read_image(path))
    except ImportError:
        return np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8).copy()


def _upscale(lr: np.ndarray, scale: int) -> np.ndarray:
    """The "Bicubic" panel: MATLAB bicubic when the suite's imresize is present, else PIL bicubic."""
    try:
        from bench.imresize import imresize

        return np.asarray(imresize(lr, float(scale)))
    except ImportError:
        h, w = lr.shape[:2]
        return np.asarray(Image.fromarray(lr).resize((w * scale, h * scale), Image.BICUBIC))


def find_image(dataset: str | Path, image: str, scale: int) -> tuple[Path, Path | None]:
    """HR path and LR path (or ``None``) of ``image`` in a benchmark-layout dataset (name under
    ``$ESR_BENCH_DATA`` or a folder)."""
    from bench.paths import data_root

    try:  # the quality module's dataset resolution (names, aliases, NTIRE layout)
        from bench.data import resolve_dataset

        ds = resolve_dataset(dataset)
        hits = [p for p in ds.hr_files() if p.stem == Path(image).stem]
        if not hits:
            names = ", ".join(p.stem for p in ds.hr_files()[:20])
            raise FileNotFoundError(f"image {image!r} not in dataset {ds.name} (images: {names} ...)")
        lr_dir = ds.lr_dir(scale)
        lr = [p for p in sorted(lr_dir.glob(f"{hits[0].stem}x{scale}.*"))] if lr_dir else []
        if lr_dir and not lr:
            lr = [p for p in sorted(lr_dir.glob(f"{hits[0].stem}.*"))]
        return hits[0], (lr[0] if lr else None)
    except ImportError:
        pass
    root = Path(dataset)
    if not root.is_dir():
        base = data_root()
        if base is None or not (base / str(dataset)).is_dir():
            raise FileNotFoundError(f"dataset {dataset!r} not found: pass a folder or set ESR_BENCH_DATA to the "
                                    "folder that holds it (<root>/<Name>/HR/*.png)")
        root = base / str(dataset)
    hr_dir = root / "HR" if (root / "HR").is_dir() else root
    stem = Path(image).stem
    hits = [p for p in sorted(hr_dir.iterdir()) if p.stem == stem]
    if not hits:
        names = ", ".join(p.stem for p in sorted(hr_dir.iterdir())[:20])
        raise FileNotFoundError(f"image {image!r} not in {hr_dir} (images: {names} ...)")
    lr_dir = root / "LR_bicubic" / f"X{scale}"
    lr = [p for p in sorted(lr_dir.glob(f"{stem}x{scale}.*"))] if lr_dir.is_dir() else []
    return hits[0], (lr[0] if lr else None)


def _downscale(hr: np.ndarray, scale: int, notes: list[str]) -> np.ndarray:
    try:  # the quality module's MATLAB-compatible (bit-exact) bicubic, when present
        from bench.data import make_lr

        return np.asarray(make_lr(hr, scale))
    except ImportError:
        notes.append("LR made with PIL bicubic (no LR file and no MATLAB-compatible bicubic available)")
        h, w = hr.shape[0] // scale, hr.shape[1] // scale
        return np.asarray(Image.fromarray(hr).resize((w, h), Image.BICUBIC))


def run_model(name, scale: int, lr: np.ndarray, device: str = "cpu", weights_dir: str | None = None) -> np.ndarray:  # noqa: ANN001
    """Super-resolve a uint8 LR image with the zoo model's official weights (or a built module, with its
    ``data_range`` attribute) -> uint8 SR (clamped, rounded)."""
    import torch

    from models import create_model

    model = (name if isinstance(name, torch.nn.Module) else
             create_model(name, scale, pretrained=True, weights_dir=weights_dir)).to(device)
    rng = float(model.data_range)
    x = torch.from_numpy(np.ascontiguousarray(lr).copy()).permute(2, 0, 1)[None].float().div(255.0).mul(rng).to(device)
    with torch.inference_mode():
        y = model(x)
    y = y.float().div(rng).clamp(0, 1).mul(255.0).round().to(torch.uint8)
    return y[0].permute(1, 2, 0).cpu().numpy()


def visual_comparison(models: list[str], dataset: str | Path, image: str, scale: int = 4,
                      box: tuple[int, int, int, int] | None = None, device: str = "cpu",
                      weights_dir: str | None = None, sr_fn=None) -> VisualResult:
    """Crops of HR, bicubic and every model for ``image``; ``box`` = (x, y, w, h) in HR pixels (default: a
    centred square of a quarter of the shorter side). ``sr_fn(model, scale, lr) -> uint8 SR`` overrides
    the model call (tests)."""
    hr_path, lr_path = find_image(dataset, image, scale)
    hr = _load_rgb(hr_path)
    h, w = (hr.shape[0] // scale) * scale, (hr.shape[1] // scale) * scale
    hr = hr[:h, :w]
    notes: list[str] = []
    lr = _load_rgb(lr_path) if lr_path else _downscale(hr, scale, notes)
    if lr.shape[0] * scale != h or lr.shape[1] * scale != w:
        raise ValueError(f"LR {lr_path} is {lr.shape[1]}x{lr.shape[0]}, "
                         f"expected {w // scale}x{h // scale} for x{scale}")
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
    bic = _upscale(lr, scale)
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
