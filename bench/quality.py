"""Quality evaluation: run a model over a dataset and score it under a named protocol.

Protocols (both: model input ``uint8 / 255 * data_range`` as float32; output clamped to
``[0, data_range]``, scaled by ``255 / data_range`` in float32, rounded half to even, i.e. uint8):

* ``paper`` (AGDN paper table 5, BasicSR): HR cropped to a multiple of the scale, PSNR and SSIM on the
  MATLAB ``rgb2ycbcr`` luma (float64, not rounded), ``border = scale`` pixels cropped, SSIM with the
  11x11 / 1.5 Gaussian window; dataset value = mean of the per-image values.
* ``ntire`` (NTIRE ESR ``test_demo.py``): RGB PSNR, border 4, float64, mean of per-image values;
  SSIM only on request (RGB, same window).

LR source (``lr_source``): ``"bicubic"`` makes LR from the HR by the bit-exact MATLAB bicubic
(:mod:`bench.imresize`); ``"files"`` reads the dataset's LR folder; ``"auto"`` (default) follows the
protocol: under ``paper`` the LR is the exact bicubic the protocol defines, and LR files, when the
dataset has them, are only compared with it on the fly (``QualityRecord.lr_check``: how many values
differ and by how much; e.g. the SelfExSR-made B100/Urban100 folders differ in ~1% of values by up to
10, worth +0.0005-0.0014 dB); under ``ntire`` the official LR files are used when present.

Large images can be processed in overlapping tiles (:func:`bench.tiling.forward_tiled`, centre rule):
each output pixel is taken from the tile where it lies farthest from a cut, so a model whose receptive
field is below the overlap gives exactly the whole-image result.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .data import Dataset, ImagePair, make_lr, modcrop, read_image, resolve_dataset
from .metrics import prepare, psnr, ssim
from .tiling import forward_tiled

__all__ = ["QualityRecord", "PROTOCOLS", "evaluate", "forward_tiled", "load_model", "min_hr_side", "protocol_dict",
           "is_weight_free", "quantize_output"]

PROTOCOLS: dict[str, dict[str, Any]] = {
    "paper": {"channel": "Y", "border": "scale", "ssim": True},
    "ntire": {"channel": "RGB", "border": 4, "ssim": False},
}


@dataclass
class QualityRecord:
    """PSNR/SSIM of one model at one scale on one dataset (fields below); dB, SSIM in [0, 1]."""

    model: str
    scale: int
    dataset: str
    dataset_path: str
    protocol: dict[str, Any]
    n_images: int = 0
    psnr: float | None = None
    ssim: float | None = None
    per_image: list[dict[str, Any]] = field(default_factory=list)
    status: str = "ok"
    message: str = ""
    env: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)  # seconds: total, forward, load, lr, metrics
    kind: str = "quality"
    # LR files compared with the exact bicubic (paper protocol, lr_source auto); None when not compared
    lr_check: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)  # e.g. saving SR images stopped (disk full)


def _env(device: str) -> dict[str, Any]:
    from .env import environment

    return environment(device=device)


def protocol_dict(protocol: str, scale: int, lr_source: str, data_range: float, tile: int | None,
                  tile_overlap: int, want_ssim: bool) -> dict[str, Any]:
    """The protocol spelled out for the record."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {list(PROTOCOLS)}, not {protocol!r}")
    p = PROTOCOLS[protocol]
    border = scale if p["border"] == "scale" else int(p["border"])
    return {
        "name": protocol,
        "channel": p["channel"],
        "ycbcr": "MATLAB rgb2ycbcr luma, float64: 16 + (65.481 R + 128.553 G + 24.966 B) / 255"
        if p["channel"] == "Y" else None,
        "border": border,
        "hr": f"modcrop to a multiple of {scale}",
        "lr_source": lr_source,
        "lr_bicubic": "MATLAB imresize(uint8, 1/s, 'bicubic'), bit-exact" if lr_source != "files" else None,
        "model_input": f"float32 uint8 / 255 * {data_range:g}",
        "rounding": f"clamp(0, {data_range:g}) * 255 / {data_range:g} (float32), round half to even, uint8",
        "psnr": "float64, 10 log10(255^2 / MSE), mean of per-image values",
        "ssim": "Gaussian 11x11 sigma 1.5, K1 0.01 K2 0.03, L 255, valid windows, mean of per-image"
        if want_ssim else None,
        "tile": tile,
        "tile_overlap": tile_overlap if tile else None,
        "data_range": data_range,
    }


def is_weight_free(model: nn.Module) -> bool:
    """True when ``model`` has nothing to load (empty ``state_dict``: no parameters, no persistent buffers),
    e.g. the ``bicubic`` reference: it is evaluated without a checkpoint. The one place this is decided."""
    return not model.state_dict()


def load_model(name: str, scale: int, weights_dir: str | Path | None = None,
               **variant_options: Any) -> tuple[nn.Module | None, str]:
    """Zoo model ``name`` with its official weights; ``(None, message)`` when the weights are missing.

    Models without parameters (``bicubic``) need no weights.
    """
    from models import create_model, get_spec
    from models.weights import CheckpointError, WeightsNotFoundError, load_checkpoint_into

    spec = get_spec(name)
    model = create_model(spec.name, scale, **variant_options)
    if is_weight_free(model):
        return model, ""
    if not spec.checkpoints:
        return None, f"model {spec.name!r} has no public checkpoint (architecture only); pass a checkpoint"
    try:
        load_checkpoint_into(model, spec, scale, True, weights_dir=weights_dir)  # as create_model(pretrained=True)
        return model.eval(), ""
    except WeightsNotFoundError as exc:
        return None, f"{exc}"
    except CheckpointError as exc:
        if spec.checkpoint(scale) is None:
            return None, str(exc)
        raise


def quantize_output(out: torch.Tensor, data_range: float) -> torch.Tensor:
    """Model output -> the uint8 image it stands for, as 0-255 integer-valued float32.

    ``out``: any shape, values in ``[0, data_range]`` (clamped first); scaled by ``255 / data_range``
    and rounded half to even (``torch.round``; BasicSR ``tensor2img`` and the NTIRE ``test_demo.py``
    quantise the same way before PSNR). Same shape as ``out``.
    """
    out = out.float().clamp(0, data_range)
    if data_range != 255.0:
        out = out * (255.0 / data_range)
    return torch.round(out)


def _save_png(arr_chw: torch.Tensor, path: Path) -> None:
    """Write a ``3xHxW`` 0-255 tensor as PNG atomically (no temporary file left on failure)."""
    import io

    from PIL import Image

    from .outputs import atomic_write_bytes

    img = arr_chw.to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


def min_hr_side(border: int, want_ssim: bool, window: int = 11) -> tuple[int, str]:
    """Smallest modcropped HR side a protocol can score, and why: ``2 * border`` plus one pixel for
    PSNR, or plus the 11x11 SSIM window (:func:`bench.metrics.ssim`, valid windows only)."""
    if want_ssim:
        return 2 * border + window, f"border {border} on each side and the {window}x{window} SSIM window"
    return 2 * border + 1, f"border {border} on each side"


class _LRCheck:
    """Running comparison of LR files with the exact bicubic (counts of differing uint8 values)."""

    def __init__(self, lr_dir: Path | None) -> None:
        self.lr_dir = lr_dir
        self.images = self.images_differing = self.values = self.values_differing = self.max_abs_diff = 0
        self.worst: list[dict[str, Any]] = []

    def add(self, name: str, file_lr: np.ndarray, exact: np.ndarray) -> None:
        self.images += 1
        self.values += exact.size
        if file_lr.shape != exact.shape:
            raise ValueError(f"{name}: LR file is {file_lr.shape[:2]}, the exact bicubic {exact.shape[:2]}")
        diff = np.abs(file_lr.astype(np.int16) - exact.astype(np.int16))
        n = int(np.count_nonzero(diff))
        if n:
            self.images_differing += 1
            self.values_differing += n
            m = int(diff.max())
            self.max_abs_diff = max(self.max_abs_diff, m)
            self.worst.append({"name": name, "values_differing": n, "max_abs_diff": m})

    def result(self) -> dict[str, Any]:
        return {"lr_dir": str(self.lr_dir) if self.lr_dir else None,
                "reference": "MATLAB imresize(uint8, 1/s, 'bicubic'), bit-exact (the LR the evaluation used)",
                "images": self.images, "images_differing": self.images_differing, "values": self.values,
                "values_differing": self.values_differing, "max_abs_diff": self.max_abs_diff,
                "per_image": sorted(self.worst, key=lambda r: -r["values_differing"])[:20]}

    def summary(self) -> str:
        if not self.values_differing:
            return f"LR files in {self.lr_dir} match the exact bicubic (0 differing values in {self.images} images)"
        pct = 100.0 * self.values_differing / max(1, self.values)
        return (f"LR files in {self.lr_dir} are not the MATLAB-exact bicubic: {self.values_differing} of "
                f"{self.values} values ({pct:.2f}%) differ in {self.images_differing} of {self.images} images, "
                f"max |diff| {self.max_abs_diff}; the scores use the exact bicubic (paper protocol), "
                "--lr files would use the files")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def evaluate(
    model: str | nn.Module,
    scale: int,
    dataset: str | Path | Dataset,
    *,
    protocol: str = "paper",
    lr_source: str = "auto",
    device: str = "cpu",
    tile: int | None = None,
    tile_overlap: int = 16,
    save_dir: str | Path | None = None,
    weights_dir: str | Path | None = None,
    progress: bool = False,
    compute_ssim: bool | None = None,
    model_options: dict[str, Any] | None = None,
) -> QualityRecord:
    """PSNR/SSIM of ``model`` (zoo name or module) at ``scale`` on ``dataset`` under ``protocol``.

    The dataset is resolved and every pair checked before the model is loaded or run
    (:class:`bench.data.DatasetError`). A zoo model whose checkpoint is not available gives a record
    with status ``"no_checkpoint"`` and a message saying how to fetch it. ``compute_ssim`` defaults to
    the protocol's choice (paper: yes, ntire: no). ``model_options`` are constructor overrides for a
    zoo name (e.g. ``{"tlc": False}`` for AGDN). A module must accept ``1x3xHxW`` input in its
    ``data_range`` (attribute, default 1.0) and return the upscaled image in the same range.
    """
    t_start = time.perf_counter()
    scale = int(scale)
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {list(PROTOCOLS)}, not {protocol!r}")
    want_ssim = PROTOCOLS[protocol]["ssim"] if compute_ssim is None else bool(compute_ssim)
    border0 = scale if PROTOCOLS[protocol]["border"] == "scale" else int(PROTOCOLS[protocol]["border"])
    min_side, why = min_hr_side(border0, want_ssim)
    ds = dataset if isinstance(dataset, Dataset) else resolve_dataset(dataset)
    pairs: list[ImagePair] = ds.pairs(scale, lr_source, min_side=min_side, min_side_why=f"{protocol} protocol: {why}")
    has_files = bool(pairs) and pairs[0].lr is not None
    # paper protocol, auto: the LR is the exact bicubic the protocol defines; files are only compared
    check_files = has_files and lr_source == "auto" and protocol == "paper"
    effective_lr = "files" if has_files and not check_files else "bicubic"
    lr_check = _LRCheck(ds.lr_dir(scale)) if check_files else None

    name = model if isinstance(model, str) else getattr(getattr(model, "esr_spec", None), "name", type(model).__name__)
    message = ""
    net: nn.Module | None
    if isinstance(model, str):
        net, message = load_model(model, scale, weights_dir, **(model_options or {}))
    else:
        net = model
        model_scale = getattr(model, "esr_scale", None)
        if model_scale is not None and int(model_scale) != scale:
            raise ValueError(f"model {name} is built for x{model_scale}, evaluation asked for x{scale}")
    if net is not None:
        data_range = float(getattr(net, "data_range", 1.0))
    else:
        from models import get_spec

        data_range = float(get_spec(name).data_range)
    proto = protocol_dict(protocol, scale, effective_lr, data_range, tile, tile_overlap, want_ssim)
    record = QualityRecord(model=name, scale=scale, dataset=ds.name, dataset_path=str(ds.path), protocol=proto,
                           env=_env(device))
    if net is None:
        record.status, record.message = "no_checkpoint", message
        return record

    dev = torch.device(device)
    net = net.to(dev).eval()
    border = proto["border"]
    channel = proto["channel"]
    in_div = 255.0 / data_range
    t_forward = t_load = t_metrics = 0.0
    iterator: Any = pairs
    if progress:
        from tqdm import tqdm

        iterator = tqdm(pairs, desc=f"{name} x{scale} {ds.name}", unit="img", leave=False)
    save_path = Path(save_dir) if save_dir is not None else None
    try:
        for pair in iterator:
            t0 = time.perf_counter()
            hr = modcrop(read_image(pair.hr), scale)
            if lr_check is not None and pair.lr is not None:
                lr = make_lr(hr, scale)
                lr_check.add(pair.name, read_image(pair.lr), lr)
            else:
                lr = read_image(pair.lr) if pair.lr is not None else make_lr(hr, scale)
            x = torch.from_numpy(lr).permute(2, 0, 1).unsqueeze(0).to(dev).float().div_(in_div)
            _sync(dev)
            t1 = time.perf_counter()
            with torch.no_grad():
                y = net(x) if not tile else forward_tiled(net, x, scale, tile, tile_overlap)
            _sync(dev)
            t2 = time.perf_counter()
            if tuple(y.shape[-2:]) != hr.shape[:2]:
                raise RuntimeError(
                    f"{pair.name}: model output is {tuple(y.shape[-2:])} but the modcropped HR is {hr.shape[:2]}"
                )
            sr = quantize_output(y[0], data_range)
            a = prepare(sr, channel, border)
            b = prepare(hr, channel, border, device=dev)
            p = psnr(a, b)
            s = ssim(a, b) if want_ssim else None
            record.per_image.append({"name": pair.name, "psnr": p, "ssim": s})
            if save_path is not None:
                try:
                    _save_png(sr, save_path / f"{pair.name}.png")
                except OSError as exc:  # disk full, folder gone: the scores still count
                    from .outputs import describe_write_error

                    record.notes.append(f"saving SR images to {save_path} stopped at {pair.name}.png "
                                        f"({describe_write_error(exc)}); scores are unaffected")
                    save_path = None
            t3 = time.perf_counter()
            t_load += t1 - t0
            t_forward += t2 - t1
            t_metrics += t3 - t2
    except (RuntimeError, ValueError) as exc:
        record.status = "failed"
        record.message = f"{type(exc).__name__}: {exc}"
        return record
    if lr_check is not None:
        record.lr_check = lr_check.result()
        if lr_check.values_differing:
            record.notes.append(lr_check.summary())
    record.n_images = len(record.per_image)
    record.psnr = float(np.mean([r["psnr"] for r in record.per_image]))
    if want_ssim:
        record.ssim = float(np.mean([r["ssim"] for r in record.per_image]))
    total = time.perf_counter() - t_start
    record.timing = {"total_s": total, "forward_s": t_forward, "load_lr_s": t_load, "metrics_save_s": t_metrics,
                     "overhead_fraction": (total - t_forward) / total if total > 0 else math.nan}
    return record
