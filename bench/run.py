"""The main job: every measurement for every model x scale x dataset, resumable, then the report.

One JSON record per measurement, written atomically (temp file + fsync + rename) to
``<out>/<kind>/<model>_x<scale>[_<dataset>][_<variant>].json``. A re-run reuses every record whose status
is ``ok`` / ``skipped`` (and ``no_checkpoint`` while the weights are still missing); ``failed`` records are
retried unless ``retry_failed=False``; ``force=True`` recomputes everything. A record made with other
settings than the ones asked for (runtime device / warm-up / repeats / input size, quality protocol) is
recomputed and replaced, so a results directory never mixes settings under one name. A measurement that raises
becomes a ``failed`` record carrying the message and the run goes on. Models without a checkpoint (or
whose weights are not present) get complexity and runtime; their quality record has status
``no_checkpoint`` and a message naming the fetch command, never a number.

The measurement functions (``measure_complexity``, ``measure_runtime``, ``evaluate`` of bench.complexity,
bench.runtime and bench.quality; their records are those modules' dataclasses) are imported lazily,
and :func:`run_bench` accepts a ``measures`` mapping so tests can inject fakes.
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .records import read_json, to_jsonable, write_json
from .stats import runtime_headline

KINDS = ("complexity", "runtime", "quality")
REUSABLE = ("ok", "skipped")

# AGDN ablation variants of the paper's tables 1-4 (x4), as constructor options of models/agdn.py.
# None: the variant's blocks are not implemented in the zoo (its row stays published-only).
ABLATION_VARIANTS: dict[str, dict[str, Any] | None] = {
    "base": {"spatial_attn": "none", "channel_attn": "none", "sgsa": False},
    "mvsa": {"channel_attn": "none", "sgsa": False},
    "rcca": {"spatial_attn": "none", "sgsa": False},
    "mvsa+rcca": {"sgsa": False},
    "agdn": {},
    "esa+cca": None,
    "agdn-woTLC": {"tlc": False},
    "blocks5": {"num_block": 5},
    "blocks6": {"num_block": 6},
}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", str(text)).strip("-") or "x"


@dataclass(frozen=True)
class Task:
    """One measurement: ``kind`` of ``model`` at ``scale`` (on ``dataset``; of ablation ``variant``)."""

    kind: str
    model: str
    scale: int
    dataset: str | None = None
    variant: str | None = None

    def relpath(self) -> Path:
        name = f"{_slug(self.model)}_x{self.scale}"
        if self.dataset:
            name += f"_{_slug(Path(self.dataset).name)}"
        if self.variant:
            name += f"_{_slug(self.variant)}"
        return Path(self.kind) / f"{name}.json"

    def label(self) -> str:
        extra = "".join(f" {x}" for x in (self.dataset and Path(self.dataset).name, self.variant) if x)
        return f"{self.kind} {self.model} x{self.scale}{extra}"


@dataclass
class BenchSummary:
    out: Path
    computed: int = 0
    reused: int = 0
    failed: list[str] = field(default_factory=list)
    no_checkpoint: list[str] = field(default_factory=list)
    report: Path | None = None
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------- defaults
def default_measures() -> dict[str, Callable[..., Any]]:
    """The real measurement functions, imported on first use (a missing module fails only its records)."""

    def complexity(model, scale, **kw):
        from .complexity import measure_complexity

        return measure_complexity(model, scale, **kw)

    def runtime(model, scale, **kw):
        from .runtime import measure_runtime

        return measure_runtime(model, scale, **kw)

    def quality(model, scale, dataset, **kw):
        from .quality import evaluate

        return evaluate(model, scale, dataset, **kw)

    return {"complexity": complexity, "runtime": runtime, "quality": quality}


def environment() -> dict[str, Any]:
    try:
        from .env import environment as env

        return to_jsonable(env())
    except Exception:  # noqa: BLE001 - bench.env is optional for the job
        import torch

        return {"torch": torch.__version__}


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def default_datasets() -> list[str]:
    """Datasets under ``$ESR_BENCH_DATA`` (benchmark or NTIRE layout) plus the built-in ``samples``."""
    from .paths import data_root

    names: list[str] = []
    root = data_root()
    if root is not None and root.is_dir():
        try:
            from .data import list_datasets

            for d in list_datasets(root):
                # benchmark sets resolve by name; other layouts (NTIRE folders) are passed by path
                layout = getattr(d, "layout", "benchmark")
                names.append(str(d.name if layout in ("benchmark", "samples") else getattr(d, "path", d.name)))
        except ImportError:
            names = sorted(p.name for p in root.iterdir() if (p / "HR").is_dir())
    if "samples" not in names:
        names.append("samples")
    return names


def plan(models: Iterable[str], scales: Iterable[int] | None, datasets: Iterable[str],
         ablations: bool = True) -> list[Task]:
    """Every task, model by model: complexity, runtime, then quality per dataset; AGDN ablations last."""
    from models import get_spec

    wanted = {int(s) for s in scales} if scales else None
    datasets = list(datasets)
    supported = {d: _dataset_scales(d) for d in datasets}
    tasks: list[Task] = []
    for name in models:
        spec = get_spec(name)
        for s in spec.scales:
            if wanted is not None and s not in wanted:
                continue
            tasks += [Task("complexity", spec.name, s), Task("runtime", spec.name, s)]
            tasks += [Task("quality", spec.name, s, d) for d in datasets if supported[d] is None or s in supported[d]]
    names = {get_spec(m).name for m in models}
    if ablations and "agdn" in names and (wanted is None or 4 in wanted):
        tasks += [Task("complexity", "agdn", 4, variant=v) for v in ABLATION_VARIANTS]
    return tasks


def _dataset_scales(dataset: str) -> tuple[int, ...] | None:
    """Scales a dataset supports (NTIRE sets: x4 only); ``None`` = any or unknown (errors surface later)."""
    try:
        from .data import resolve_dataset

        return getattr(resolve_dataset(dataset), "scales", None)
    except Exception:  # noqa: BLE001 - an unresolvable dataset becomes a failed record with the reason
        return None


# ------------------------------------------------------------------------------------------------ core
def _checkpoint_problem(model: str, scale: int, weights_dir: str | None) -> str | None:
    """Why ``model`` x``scale`` cannot be evaluated with official weights (``None`` when it can)."""
    from models import get_spec
    from models.weights import CheckpointError, WeightsNotFoundError, resolve_checkpoint

    spec = get_spec(model)
    if spec.checkpoint(scale) is None:
        from models import create_model

        from .quality import is_weight_free

        if is_weight_free(create_model(model, scale)):
            return None  # weight-free reference (bicubic): nothing to load
        return (f"no checkpoint: {spec.name} has no public x{scale} checkpoint (architecture only), "
                "so no PSNR is reported")
    try:
        resolve_checkpoint(spec, scale, weights_dir)
    except (WeightsNotFoundError, CheckpointError) as exc:
        return f"no checkpoint: {exc}"
    return None


def _listify(v: Any) -> Any:
    return list(v) if isinstance(v, (list, tuple)) else v


def _same_settings(rec: dict[str, Any], task: Task, device: str, runtime_options: Mapping[str, Any],
                   quality_options: Mapping[str, Any]) -> bool:
    """Whether a stored record was made with the settings asked for now (else it is recomputed)."""
    if task.kind == "runtime" and rec.get("status") == "ok":
        if rec.get("device") and str(rec["device"]).split(":")[0] != device.split(":")[0]:
            return False
        for key in ("warmup", "repeats", "input_size"):
            if key in runtime_options and key in rec and _listify(runtime_options[key]) != _listify(rec[key]):
                return False
    if task.kind == "quality" and rec.get("status") == "ok":
        proto = rec.get("protocol")
        want = quality_options.get("protocol")
        if want and isinstance(proto, dict) and proto.get("name") and proto["name"] != want:
            return False
    return True


def _reusable(path: Path, task: Task, retry_failed: bool, weights_dir: str | None, device: str = "cpu",
              runtime_options: Mapping[str, Any] | None = None,
              quality_options: Mapping[str, Any] | None = None) -> bool:
    if not path.is_file():
        return False
    try:
        rec = read_json(path)
    except (OSError, ValueError):
        return False  # corrupt (cannot happen with atomic writes, but never trust a file blindly)
    if not isinstance(rec, dict) or not _same_settings(rec, task, device, runtime_options or {},
                                                      quality_options or {}):
        return False
    status = rec.get("status")
    if status in REUSABLE:
        return True
    if status == "no_checkpoint":
        return _checkpoint_problem(task.model, task.scale, weights_dir) is not None
    if status == "failed":
        return not retry_failed
    return False


def _base(task: Task) -> dict[str, Any]:
    rec: dict[str, Any] = {"kind": task.kind, "model": task.model, "scale": task.scale}
    if task.dataset:
        rec["dataset"] = Path(task.dataset).name
    if task.variant:
        rec["variant"] = task.variant
    return rec


def measure(task: Task, measures: Mapping[str, Callable[..., Any]], device: str,
            runtime_options: Mapping[str, Any], quality_options: Mapping[str, Any],
            weights_dir: str | None) -> dict[str, Any]:
    """Run one task and return its record (a failure is a ``failed`` record, never an exception)."""
    t0 = time.perf_counter()
    try:
        if task.kind == "complexity" and task.variant:
            options = ABLATION_VARIANTS.get(task.variant)
            if options is None:
                rec = _base(task) | {"status": "skipped", "message": f"variant {task.variant!r} is not "
                                     "implemented in the zoo (published numbers only)", "protocol": {}}
            else:
                from models import create_model

                module = create_model(task.model, task.scale, **options)
                rec = to_jsonable(measures["complexity"](module, task.scale, device=device))
                rec.update(_base(task), variant_options=options)
        elif task.kind == "complexity":
            rec = to_jsonable(measures["complexity"](task.model, task.scale, device=device))
        elif task.kind == "runtime":
            rec = to_jsonable(measures["runtime"](task.model, task.scale, device=device, **runtime_options))
        elif task.kind == "quality":
            problem = _checkpoint_problem(task.model, task.scale, weights_dir)
            if problem:
                rec = _base(task) | {"status": "no_checkpoint", "message": problem, "psnr": None, "ssim": None,
                                     "protocol": {"name": quality_options.get("protocol", "paper")}}
            else:
                extra = {"weights_dir": weights_dir} if weights_dir else {}
                rec = to_jsonable(measures["quality"](task.model, task.scale, task.dataset, device=device,
                                                      **quality_options, **extra))
                rec.setdefault("dataset", Path(str(task.dataset)).name)
        else:
            raise ValueError(f"unknown measurement kind {task.kind!r}")
        if not isinstance(rec, dict):
            raise TypeError(f"{task.kind} measurement returned {type(rec).__name__}, not a record")
    except Exception as exc:  # noqa: BLE001 - a failing measurement is recorded, the run continues
        rec = _base(task) | {"status": "failed", "message": f"{type(exc).__name__}: {exc}",
                             "traceback": traceback.format_exc(limit=6)[-4000:], "protocol": {}}
    for key, value in _base(task).items():
        rec.setdefault(key, value)
    rec["kind"] = task.kind  # the file's kind wins over anything a measurement put there
    rec.setdefault("status", "ok")
    rec.setdefault("message", "")
    if not rec.get("env"):
        rec["env"] = environment()
    rec["elapsed_s"] = round(time.perf_counter() - t0, 3)
    rec["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return rec


def fetch_missing(models: Iterable[str], weights_dir: str | None, base_url: str | None = None) -> list[str]:
    """Download (sha256-verified) the official checkpoints of ``models`` that are not present; returns notes.

    Only called with ``fetch=True`` (``esr-bench bench --fetch-weights``): the job never goes to the network
    on its own. A failed download leaves the model's quality record as ``no_checkpoint``.
    """
    from models import get_spec
    from models.weights import fetch_weights

    missing = sorted({get_spec(m).name for m in models for s in get_spec(m).checkpoints
                      if _checkpoint_problem(m, s, weights_dir)})
    if not missing:
        return []
    notes = []
    for r in fetch_weights(missing, dest=weights_dir, base_url=base_url):
        if r.status in ("downloaded", "failed", "rejected"):
            notes.append(f"weights {r.model} x{r.scale}: {r.status}{' - ' + r.message if r.message else ''}")
    return notes


def _clean_stale_temps(out: Path) -> int:
    n = 0
    for kind in (*KINDS, "figures"):
        for tmp in (out / kind).glob(".*.tmp") if (out / kind).is_dir() else ():
            tmp.unlink(missing_ok=True)  # left by a killed writer; the real record was never replaced
            n += 1
    return n


def run_bench(models: Iterable[str] | None = None, scales: Iterable[int] | None = None,
              datasets: Iterable[str] | None = None, device: str | None = None, out: str | Path = "results",
              force: bool = False, retry_failed: bool = True, ablations: bool = True,
              measures: Mapping[str, Callable[..., Any]] | None = None,
              runtime_options: Mapping[str, Any] | None = None, quality_options: Mapping[str, Any] | None = None,
              weights_dir: str | None = None, report: bool = True, visual: bool = True,
              progress: bool = True, fetch: bool = False, fetch_base_url: str | None = None,
              plot: tuple[str, int] = ("B100", 4)) -> BenchSummary:
    """Measure every model x scale x dataset into ``out`` (resumable) and write ``out/report.html``."""
    from models import get_spec, list_models

    start = time.perf_counter()
    out = Path(out)
    models = [get_spec(m).name for m in (models or list_models())]
    datasets = list(datasets) if datasets else default_datasets()
    device = device or default_device()
    measures = {**default_measures(), **(measures or {})}
    if runtime_options is None:
        runtime_options = {"warmup": 10, "repeats": 30} if device.startswith("cuda") else {"warmup": 2, "repeats": 5}
    quality_options = dict(quality_options or {"protocol": "paper"})
    summary = BenchSummary(out=out)
    removed = _clean_stale_temps(out)
    if removed:
        summary.notes.append(f"removed {removed} temporary file(s) of an interrupted write")
    tasks = plan(models, scales, datasets, ablations)
    if not tasks:
        raise ValueError("nothing to measure: no selected model supports the selected scales")
    if fetch:
        summary.notes += fetch_missing(models, weights_dir, fetch_base_url)

    from tqdm.auto import tqdm

    bar = tqdm(total=len(tasks), unit="rec", desc="esr-bench", disable=not progress, dynamic_ncols=True)
    try:
        for task in tasks:
            path = out / task.relpath()
            bar.set_postfix_str(task.label(), refresh=False)
            if not force and _reusable(path, task, retry_failed, weights_dir, device, runtime_options,
                                       quality_options):
                summary.reused += 1
                rec = read_json(path)
            else:
                rec = measure(task, measures, device, runtime_options, quality_options, weights_dir)
                write_json(path, rec)
                summary.computed += 1
            if rec.get("status") == "failed":
                summary.failed.append(f"{task.label()}: {rec.get('message', '')}")
            elif rec.get("status") == "no_checkpoint":
                summary.no_checkpoint.append(task.label())
            bar.update(1)
    finally:
        bar.close()
    if visual:
        _visual_figure(out, models, datasets, device, weights_dir, force, summary)
    if report:
        from reports import build_report

        summary.report = build_report(out, out / "report.html", dataset=plot[0], scale=int(plot[1]))
    summary.elapsed_s = time.perf_counter() - start
    return summary


def _visual_figure(out: Path, models: list[str], datasets: list[str], device: str, weights_dir: str | None,
                   force: bool, summary: BenchSummary) -> None:
    """figures/visual_<dataset>_<image>_x<s>.png for the first benchmark-layout dataset with measured PSNR."""
    from reports.loader import load_results
    from reports.visual import render_png, visual_comparison

    rs = load_results(out)
    ok = [q for q in rs.of("quality") if q.get("status") == "ok" and q.get("model") in models]
    if not ok:
        return
    scale = max(int(q["scale"]) for q in ok)
    dataset = sorted({q["dataset"] for q in ok if int(q["scale"]) == scale})[0]
    chosen = sorted({q["model"] for q in ok if int(q["scale"]) == scale and q["dataset"] == dataset})
    per_image = next((q.get("per_image") for q in ok if q["dataset"] == dataset and q.get("per_image")), None)
    image = per_image[0]["name"] if per_image else None
    if image is None:
        return
    target = out / "figures" / f"visual_{_slug(dataset)}_{_slug(Path(image).stem)}_x{scale}.png"
    meta_path = target.with_suffix(".json")
    if target.is_file() and meta_path.is_file() and not force:
        try:
            if read_json(meta_path).get("models") == chosen:
                return  # same image, same models: reuse
        except (OSError, ValueError):
            pass
    # the record holds the canonical name; find the argument (name or folder) it came from
    source = next((d for d in datasets if Path(d).name == dataset), None) or next(
        (q.get("dataset_path") for q in ok if q["dataset"] == dataset and q.get("dataset_path")), dataset)
    try:
        res = visual_comparison(chosen, source, image, scale, device=device, weights_dir=weights_dir)
    except Exception as exc:  # noqa: BLE001 - the figure is a bonus; its absence is noted, not fatal
        summary.notes.append(f"visual comparison skipped: {exc}")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    write_json(meta_path, res.meta() | {"models": chosen, "dataset": dataset})
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(render_png(res))
    tmp.replace(target)


def summary_lines(summary: BenchSummary) -> list[str]:
    """A short terminal summary: counts, failures, and one line per model with the headline numbers."""
    from reports.loader import load_results

    lines = [f"esr-bench: {summary.computed} measured, {summary.reused} reused, {len(summary.failed)} failed, "
             f"{len(summary.no_checkpoint)} without checkpoint, in {summary.elapsed_s:.1f} s -> {summary.out}"]
    rs = load_results(summary.out)
    for model, scale in rs.models():
        c, r = rs.find("complexity", model, scale), rs.find("runtime", model, scale)
        parts: list[str] = []
        if c and c.get("status") == "ok" and c.get("params") is not None:
            parts.append(f"params {c['params']:,}")
            if c.get("fvcore_flops_lr256") is not None:
                parts.append(f"FLOPs@256 {c['fvcore_flops_lr256'] / 1e9:.2f} G")
        if r and r.get("status") == "ok" and runtime_headline(r)[0] is not None:
            parts.append(f"{runtime_headline(r)[0]:.1f} ms ({r.get('device', '?')})")
        for q in rs.of("quality"):
            if q.get("model") == model and int(q.get("scale", 0)) == scale and not q.get("variant"):
                parts.append(f"{q.get('dataset')} {q['psnr']:.2f} dB" if q.get("status") == "ok" and
                             q.get("psnr") is not None else f"{q.get('dataset')} {q.get('status')}")
        lines.append(f"  {model} x{scale}: " + (", ".join(parts) or "no finished measurement"))
    for f in summary.failed[:10]:
        lines.append(f"  FAILED {f[:200]}")
    if len(summary.failed) > 10:
        lines.append(f"  ... and {len(summary.failed) - 10} more failures (see status=failed records)")
    lines += [f"  note: {n}" for n in summary.notes]
    if summary.report:
        lines.append(f"report: {summary.report}")
    return lines
