"""Full NTIRE evaluation of one submission on ``--data`` (runs inside the sandbox child).

The protocol of the official ``test_demo.py``: images read as 8-bit RGB (grayscale -> 3 channels),
HR cropped to a multiple of 4, model input ``uint8 / (255 / data_range)``, batch 1, whole image
(tiles only when the team asked for them), output ``clamp(0, data_range) * 255 / data_range``,
rounded to uint8; PSNR on RGB with a 4-pixel border, float64, averaged per image. Runtime: CUDA
events around the forward only, then synchronize, no warm-up, per-image mean per split (on CPU,
``time.perf_counter``); "Ave Time" = (valid mean + test mean) / 2. Memory: ``max_memory_allocated``
after each split, never reset (CUDA only). Splits and file naming follow the year's rules.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from .findings import ERROR, INFO, WARNING
from .rules import get_rules

__all__ = ["find_split", "evaluate_submission"]

_ALIASES = {
    "DIV2K_LSDIR_valid_HR": ("LSDIR_DIV2K_valid_HR",),
    "DIV2K_LSDIR_test_HR": ("LSDIR_DIV2K_test_HR",),
    "DIV2K_LSDIR_valid_LR": ("LSDIR_DIV2K_valid_LR",),
    "DIV2K_LSDIR_test_LR": ("LSDIR_DIV2K_test_LR",),
}


def _dir(root: Path, name: str) -> Path | None:
    for n in (name, *_ALIASES.get(name, ())):
        if (root / n).is_dir():
            return root / n
    return None


def find_split(root: Path, layout: tuple[str, str]) -> list[tuple[str, Path, Path]] | None:
    """``[(stem, hr_path, lr_path)]`` of one split, or ``None`` when its folders are absent.

    LR files are ``<stem>x4.png``, or ``<stem>.png`` (NTIRE 2022 test set).
    """
    hr_dir, lr_dir = _dir(root, layout[0]), _dir(root, layout[1])
    if hr_dir is None or lr_dir is None:
        return None
    pairs = []
    for hr in sorted(hr_dir.glob("*.png")):
        for cand in (lr_dir / f"{hr.stem}x4.png", lr_dir / f"{hr.stem}.png"):
            if cand.is_file():
                pairs.append((hr.stem, hr, cand))
                break
        else:
            raise FileNotFoundError(f"no LR image for {hr.name} in {lr_dir} (expected {hr.stem}x4.png)")
    return pairs


def _read_rgb(path: Path):
    import numpy as np
    import torch
    from PIL import Image

    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)[None].float()


def _forward(model, x, tile: int | None):
    import torch

    if not tile or (x.shape[-1] <= tile and x.shape[-2] <= tile):
        return model(x)
    overlap, s = 8, 4
    _, _, h, w = x.shape
    out = torch.zeros(1, 3, h * s, w * s, device=x.device)
    weight = torch.zeros_like(out)
    step = tile - overlap
    for top in list(range(0, max(h - tile, 0), step)) + [max(h - tile, 0)]:
        for left in list(range(0, max(w - tile, 0), step)) + [max(w - tile, 0)]:
            patch = model(x[..., top:top + tile, left:left + tile])
            out[..., top * s:(top + tile) * s, left * s:(left + tile) * s] += patch
            weight[..., top * s:(top + tile) * s, left * s:(left + tile) * s] += 1
    return out / weight


def _run_split(model, pairs, dr: float, tile: int | None, device) -> dict[str, Any]:
    import torch

    psnrs, times = [], []
    cuda = device.type == "cuda"
    for _stem, hr_p, lr_p in pairs:
        hr = _read_rgb(hr_p)
        h, w = hr.shape[-2] // 4 * 4, hr.shape[-1] // 4 * 4
        hr = hr[..., :h, :w]
        x = (_read_rgb(lr_p) / (255.0 / dr)).to(device)
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            y = _forward(model, x, tile)
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            y = _forward(model, x, tile)
            times.append((time.perf_counter() - t0) * 1000)
        sr = (y.detach().float().clamp(0, dr) * (255.0 / dr)).round().cpu().double()
        if sr.shape[-2:] != hr.shape[-2:]:
            raise ValueError(f"{lr_p.name}: output {tuple(sr.shape)} vs HR {tuple(hr.shape)}")
        d = (sr - hr.double())[..., 4:-4, 4:-4]
        mse = float((d ** 2).mean())
        psnrs.append(float("inf") if mse == 0 else 20 * math.log10(255.0 / math.sqrt(mse)))
    res: dict[str, Any] = {"runtime": times, "psnr": psnrs, "ave_runtime": sum(times) / len(times),
                           "ave_psnr": sum(psnrs) / len(psnrs)}
    res["memory"] = torch.cuda.max_memory_allocated(device) / 1024 ** 2 if cuda else None
    return res


def evaluate_submission(c, model, entry: dict[str, Any], job: dict[str, Any]) -> None:
    """Valid/test PSNR and runtime on ``job['data']`` (NTIRE layout of the job's year), plus robust runtime."""
    import torch

    year = job.get("year") or 2026
    rules = get_rules(year)
    root = Path(job["data"])
    splits = {}
    for split, layout in (("valid", rules.valid_layout), ("test", rules.test_layout)):
        try:
            pairs = find_split(root, layout)
        except FileNotFoundError as exc:
            c.add("dataset-missing", ERROR, str(exc), stop=True)
        if pairs:
            splits[split] = pairs
    if not splits:
        c.add("dataset-missing", ERROR, f"{root} has neither {rules.valid_layout} nor {rules.test_layout} "
              f"(NTIRE {year} layout: <HR folder>/<name>.png + <LR folder>/<name>x4.png)", stop=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    dr = float(entry["data_range"])
    model.data_range = dr  # what bench.runtime reads to scale its synthetic input
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
    for split, pairs in splits.items():
        try:
            res = _run_split(model, pairs, dr, entry.get("tile"), device)
        except Exception as exc:
            c.add("evaluation-error", ERROR, f"{split} split: {type(exc).__name__}: {exc}", stop=True)
        for k, v in res.items():
            c.official[f"{split}_{k}"] = v
    c.metrics["eval_device"] = str(device)
    c.metrics["eval_images"] = {k: len(v) for k, v in splits.items()}
    if device.type != "cuda":
        c.add("not-available", INFO, "no CUDA device: runtimes are CPU perf_counter times and memory is not "
              "measured; official figures need the year's GPU")
    for split, thr in rules.psnr_threshold.items():
        v = c.official.get(f"{split}_ave_psnr")
        if v is None:
            continue
        if v < thr:
            shown = f"{v:.2f}"
            extra = f" although it displays as {shown}" if float(shown) >= thr else ""
            c.add("below-threshold", ERROR, f"{split} PSNR {v:.4f} dB is below the NTIRE {year} threshold "
                  f"{thr:.2f} dB{extra} (checked on the raw value)")
    try:
        from .worker import suite_imports

        with suite_imports(entry["root"]):
            from bench.runtime import measure_runtime
    except ImportError:
        c.add("not-available", INFO, "bench.runtime is not installed: robust-mode runtime skipped")
    else:
        try:
            rec = measure_runtime(model, 4, device=device.type, input_size=(256, 256), mode="robust")
            c.metrics["runtime_robust"] = {k: getattr(rec, k, None) for k in ("median_ms", "mean_ms", "std_ms",
                                                                               "iqr_ms", "status", "message")}
        except Exception as exc:
            c.add("not-available", WARNING, f"bench.runtime.measure_runtime failed: {type(exc).__name__}: {exc}")
