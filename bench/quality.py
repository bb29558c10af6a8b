"""Quality evaluation: run a model over a dataset and score it under a named protocol.

Protocols (both: model input ``uint8 / 255 * data_range`` as float32; output clamped to
``[0, data_range]``, scaled by ``255 / data_range`` in float32, rounded half to even, i.e. uint8):

* ``paper`` (AGDN paper table 5, BasicSR): HR cropped to a multiple of the scale, PSNR and SSIM on the
  MATLAB ``rgb2ycbcr`` luma (float64, not rounded), ``border = scale`` pixels cropped, SSIM with the
  11x11 / 1.5 Gaussian window; dataset value = mean of the per-image values.
* ``ntire`` (NTIRE ESR ``test_demo.py``): RGB PSNR, border 4, float64, mean of per-image values;
  SSIM only on request (RGB, same window).

LR images come from the dataset's LR folder when it has one (``lr_source="auto"``/``"files"``),
otherwise from the HR by the bit-exact MATLAB bicubic (:mod:`bench.imresize`).

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

__all__ = ["QualityRecord", "PROTOCOLS", "evaluate", "forward_tiled", "load_model", "protocol_dict"]

PROTOCOLS: dict[str, dict[str, Any]] = {
    "paper": {"channel": "Y", "border": "scale", "ssim": True},
    "ntire": {"channel": "RGB", "border": 4, "ssim": False},
}


@dataclass
class QualityRecord:
    """PSNR/SSIM of one model at one scale on one dataset (see CONTRACTS.md); dB, SSIM in [0, 1]."""

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


def _has_parameters(model: nn.Module) -> bool:
    return any(p.numel() for p in model.parameters())


def load_model(name: str, scale: int, weights_dir: str | Path | None = None,
               **variant_options: Any) -> tuple[nn.Module | None, str]:
    """Zoo model ``name`` with its official weights; ``(None, message)`` when the weights are missing.

    Models without parameters (``bicubic``) need no weights.
    """
    from models import create_model, get_spec
    from models.weights import CheckpointError, WeightsNotFoundError, load_checkpoint_into

    spec = get_spec(name)
    model = create_model(spec.name, scale, **variant_options)
    if not _has_parameters(model):
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


def _quantize(out: torch.Tensor, data_range: float) -> torch.Tensor:
    """Model output -> 0-255 integer-valued float32 (clamp, scale, round half to even)."""
    out = out.float().clamp(0, data_range)
    if data_range != 255.0:
        out = out * (255.0 / data_range)
    return torch.round(out)


def _save_png(arr_chw: torch.Tensor, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    img = arr_chw.to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    tmp = path.with_name(f".{path.name}.tmp.png")
    Image.fromarray(img).save(tmp)
    tmp.replace(path)


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
    ds = dataset if isinstance(dataset, Dataset) else resolve_dataset(dataset)
    pairs: list[ImagePair] = ds.pairs(scale, lr_source)
    effective_lr = "files" if pairs and pairs[0].lr is not None else "bicubic"
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {list(PROTOCOLS)}, not {protocol!r}")
    want_ssim = PROTOCOLS[protocol]["ssim"] if compute_ssim is None else bool(compute_ssim)

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
            sr = _quantize(y[0], data_range)
            a = prepare(sr, channel, border)
            b = prepare(hr, channel, border, device=dev)
            p = psnr(a, b)
            s = ssim(a, b) if want_ssim else None
            record.per_image.append({"name": pair.name, "psnr": p, "ssim": s})
            if save_path is not None:
                _save_png(sr, save_path / f"{pair.name}.png")
            t3 = time.perf_counter()
            t_load += t1 - t0
            t_forward += t2 - t1
            t_metrics += t3 - t2
    except (RuntimeError, ValueError) as exc:
        record.status = "failed"
        record.message = f"{type(exc).__name__}: {exc}"
        return record
    record.n_images = len(record.per_image)
    record.psnr = float(np.mean([r["psnr"] for r in record.per_image]))
    if want_ssim:
        record.ssim = float(np.mean([r["ssim"] for r in record.per_image]))
    total = time.perf_counter() - t_start
    record.timing = {"total_s": total, "forward_s": t_forward, "load_lr_s": t_load, "metrics_save_s": t_metrics,
                     "overhead_fraction": (total - t_forward) / total if total > 0 else math.nan}
    return record
