"""Full NTIRE evaluation of one submission on ``--data`` (runs inside the sandbox child).

The protocol of the official ``test_demo.py``: images read as 8-bit RGB by
:func:`bench.data.read_image` (grayscale -> 3 channels; 16-bit colour refused), HR cropped to a
multiple of 4, model input ``uint8 / (255 / data_range)``, batch 1, the team's forward (whole image,
official tiling or pad-and-crop: :func:`challenge.worker.team_forward`), output quantised to uint8
values; PSNR of :mod:`bench.metrics` on RGB with a 4-pixel border, float64, averaged per image. The
declared ``data_range`` is checked against the other range on real images (:func:`check_data_range`).
Runtime: the loop of :func:`bench.runtime.timers.time_per_image` (CUDA events around the forward only,
then synchronize, no warm-up; on CPU ``time.perf_counter_ns``), per-image mean per split
(:func:`bench.stats.split_mean_ms`); "Ave Time" = (valid mean + test mean) / 2, computed by
:class:`challenge.score.TeamMetrics` from the record. Memory: :func:`bench.runtime.memory.ntire_max_allocated_mib`
after each split (absolute MiB, never reset; CUDA only). Splits and file naming follow the year's rules
(the job must carry the year: without it a ``year-missing`` error), read by :func:`bench.data.ntire_split`
under the official ``*.png`` file rule (:func:`find_split`). A split whose folders are absent is a
``split-missing`` warning; ``official["splits"]`` lists the splits measured. ``measure = "full"`` adds a
robust-mode runtime (:func:`bench.runtime.measure_runtime`)
and checks the data_range on every image.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .findings import ERROR, INFO, WARNING
from .rules import get_rules

if TYPE_CHECKING:
    from bench.data import ImagePair

__all__ = ["find_split", "evaluate_submission", "check_data_range", "RANGE_CHECK_IMAGES"]

RANGE_CHECK_IMAGES = 1  # images of the first split re-run in the other data_range ("official" measure)
RANGE_TOLERANCE_DB = 0.005  # range-equivariant models give equal PSNR up to rounding in both ranges

def find_split(root: Path, layout: tuple[str, str]) -> list[ImagePair] | None:
    """The checked x4 image pairs of one split, or ``None`` when its folders (or its HR images) are absent.

    ``layout`` is the year's ``(HR folder, LR folder)`` names; the folders and pairs are those of
    :func:`bench.data.ntire_split` with the official ``test_demo.py`` file rule (``image_files="png"``:
    ``<HR>/*.png``), LR ``<stem>x4.png`` or ``<stem>.png`` (NTIRE 2022 test set). Raises
    :class:`bench.data.DatasetError` listing every missing or ambiguous LR file (both names present: which
    one the official harness reads depends on its year, so it is never guessed), wrong LR size or
    unreadable image.
    """
    from bench.data import ntire_split

    ds = ntire_split(root, *layout, image_files="png")
    if ds is None or not ds.hr_files():  # no HR image: the split is absent
        return None
    return ds.pairs(4, lr_source="files")


def _read_lr(lr_p: Path):
    """LR ``1x3xhxw`` float tensor of 0-255 values, read by :func:`bench.data.read_image`."""
    import torch

    from bench.data import read_image

    return torch.from_numpy(read_image(lr_p)).permute(2, 0, 1)[None].float()


def _read_hr(hr_p: Path):
    """Modcropped (to 4) HR ``HxWx3`` uint8 array, read by :func:`bench.data.read_image`."""
    from bench.data import modcrop, read_image

    return modcrop(read_image(hr_p), 4)


def _run_split(model, pairs, dr: float, entry: dict[str, Any], device, timer=None) -> dict[str, Any]:
    """One split as the official ``test_demo.py`` loop: per-image times (ms) and PSNRs, their means, Mem.

    The loop is :func:`bench.runtime.timers.time_per_image` with :func:`~bench.runtime.timers.default_timer`
    in ``"ntire"`` mode (CUDA events without a synchronise before the start; ``perf_counter_ns`` on CPU);
    ``timer`` replaces it (tests). The LR copy to the device and the PSNR (:func:`challenge.worker.psnr_ntire`
    on the output, HR read after the forward) are outside the timed region. Returns ``runtime`` and
    ``psnr`` (per image), ``ave_runtime`` (:func:`bench.stats.split_mean_ms`, the official per-split mean,
    first image included), ``ave_psnr`` (mean dB) and ``memory`` (:func:`bench.runtime.memory.ntire_max_allocated_mib`
    after the split, MiB; ``None`` on CPU). An output whose size is not the modcropped HR's raises ``ValueError``.
    """
    from bench.runtime.memory import ntire_max_allocated_mib
    from bench.runtime.timers import default_timer, time_per_image
    from bench.stats import split_mean_ms

    from .worker import psnr_ntire, team_forward

    psnrs: list[float] = []

    def consume(i: int, y) -> None:
        hr = _read_hr(pairs[i].hr)
        if tuple(y.shape[-2:]) != hr.shape[:2]:
            raise ValueError(f"{pairs[i].lr.name}: output {tuple(y.shape)} vs modcropped HR {hr.shape[:2]}")
        psnrs.append(psnr_ntire(y.float(), hr, dr))

    times = time_per_image(lambda x: team_forward(model, x, entry), (_read_lr(p.lr) / (255.0 / dr) for p in pairs),
                           timer or default_timer(device, "ntire"), lambda t: t.to(device), consume)
    res: dict[str, Any] = {"runtime": times, "psnr": psnrs, "ave_runtime": split_mean_ms(times),
                           "ave_psnr": sum(psnrs) / len(psnrs)}
    res["memory"] = ntire_max_allocated_mib(device) if device.type == "cuda" else None
    return res


def _range_psnr(model, pairs, dr: float, entry: dict[str, Any], device) -> float:
    """Mean PSNR over ``pairs`` with the model fed and read in range ``dr`` (no timing)."""
    import torch

    from .worker import psnr_ntire, team_forward

    vals = []
    with torch.no_grad():
        for pair in pairs:
            y = team_forward(model, (_read_lr(pair.lr) / (255.0 / dr)).to(device), entry)
            vals.append(psnr_ntire(y.float(), _read_hr(pair.hr), dr))
    return sum(vals) / len(vals)


def check_data_range(c, model, pairs, entry: dict[str, Any], device, declared_psnr: list[float]) -> None:
    """Both input ranges on real images: the declared ``data_range`` must give the higher PSNR.

    Uses the first :data:`RANGE_CHECK_IMAGES` pairs (all with ``measure = "full"``); the declared
    range's values come from the timed run (``declared_psnr``), so only the other range is run again.
    """
    n = len(pairs) if c.job.get("measure") == "full" else min(RANGE_CHECK_IMAGES, len(pairs))
    dr = float(entry["data_range"])
    other = 255.0 if dr == 1.0 else 1.0
    try:
        p_other = _range_psnr(model, pairs[:n], other, entry, device)
    except Exception as exc:
        c.add("not-available", INFO, f"data_range check with {other:g} raised {type(exc).__name__}: {exc}")
        return
    p_decl = sum(declared_psnr[:n]) / n
    c.metrics["data_range_check"] = {"images": n, f"psnr_{dr:g}": p_decl, f"psnr_{other:g}": p_other}
    synthetic = [f for f in c.findings if f.code == "wrong-data-range"]  # from the synthetic check image
    c.findings = [f for f in c.findings if f.code != "wrong-data-range"]  # real images decide
    if synthetic and p_other <= p_decl + RANGE_TOLERANCE_DB:
        c.add("data-range-confirmed", INFO, f"the synthetic check image favoured data_range = {other:g}, but on "
              f"{n} real image(s) the declared {dr:g} gives {p_decl:.2f} dB vs {p_other:.2f} dB: declared range kept")
    if p_other > p_decl + RANGE_TOLERANCE_DB:
        c.add("wrong-data-range", ERROR, f"on {n} real image(s) data_range = {other:g} gives {p_other:.2f} dB and the "
              f"declared data_range = {dr:g} gives {p_decl:.2f} dB ({p_other - p_decl:.2f} dB lost): set "
              f"data_range = {other:g} in the manifest")


def evaluate_submission(c, model, entry: dict[str, Any], job: dict[str, Any]) -> None:
    """Valid/test PSNR and runtime on ``job['data']`` (NTIRE layout of the job's year), plus robust runtime."""
    import torch

    from bench.data import DatasetError

    year = job.get("year")
    if year is None:  # the split folders, file names and thresholds are the year's: never guessed
        c.add("year-missing", ERROR, f"--data {job['data']} given without a challenge year: the NTIRE layout "
              "(split folders, LR names) and PSNR thresholds depend on it; pass --year or set `year` in the "
              "manifest", stop=True)
    rules = get_rules(year)
    root = Path(job["data"])
    splits = {}
    layouts = {"valid": rules.valid_layout, "test": rules.test_layout}
    for split, layout in layouts.items():
        try:
            pairs = find_split(root, layout)
        except DatasetError as exc:
            c.add("dataset-missing", ERROR, str(exc), stop=True)
        if pairs:
            splits[split] = pairs
    if not splits:
        c.add("dataset-missing", ERROR, f"{root} has neither {rules.valid_layout} nor {rules.test_layout} "
              f"(NTIRE {year} layout: <HR folder>/<name>.png + <LR folder>/<name>x4.png)", stop=True)
    c.official["splits"] = [k for k in layouts if k in splits]  # which per-split figures exist (Ave Time covers these)
    for split in (k for k in layouts if k not in splits):
        hr, lr = layouts[split]
        c.add("split-missing", WARNING, f"the {split} split ({hr}/ + {lr}/) is not under {root}: only "
              f"{' + '.join(splits)} measured, so Ave Time is the {' + '.join(splits)} mean, not the official "
              f"(valid + test) / 2, and the ranking will not compare this team with teams measured on both splits")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    dr = float(entry["data_range"])
    model.data_range = dr  # what bench.runtime reads to scale its synthetic input
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
    for split, pairs in splits.items():
        try:
            res = _run_split(model, pairs, dr, entry, device)
        except Exception as exc:
            c.add("evaluation-error", ERROR, f"{split} split: {type(exc).__name__}: {exc}", stop=True)
        for k, v in res.items():
            c.official[f"{split}_{k}"] = v
    first = next(iter(splits))
    check_data_range(c, model, splits[first], entry, device, c.official[f"{first}_psnr"])
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
    if job.get("measure", "full") != "full":
        return
    from bench.runtime import measure_runtime  # imported by the worker before the submission (suite_imports)

    try:
        rec = measure_runtime(model, 4, device=device.type, input_size=(256, 256), mode="robust")
        c.metrics["runtime_robust"] = {k: getattr(rec, k, None) for k in ("median_ms", "mean_ms", "std_ms",
                                                                           "iqr_ms", "status", "message")}
    except Exception as exc:
        c.add("not-available", WARNING, f"bench.runtime.measure_runtime failed: {type(exc).__name__}: {exc}")
