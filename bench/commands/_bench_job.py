"""The main job: every measurement for every model x scale x dataset, resumable, then the report.

One JSON record per measurement, written atomically (temp file + fsync + rename) to
``<out>/<kind>/<model>_x<scale>[_<dataset>][_<variant>].json``. Every record carries its **identity**
(bench/identity.py: model, options, checkpoint sha256, dataset content, protocol, runtime settings,
device, versions) and its hash. A re-run reuses a record only when its identity is exactly the one asked
for now and its status is ``ok`` / ``skipped`` / ``no_checkpoint`` (the checkpoint's absence is part of
the identity: fetching it makes the record stale); ``failed`` records are retried unless
``retry_failed=False``; ``force=True`` recomputes everything. Anything else is recomputed.

Records with different identities on disk: the file name holds the task (kind, model, scale, dataset)
and the *variant*, i.e. the constructor options that differ from the registry's (``tlc=false``) or the
AGDN ablation name, so a variant never shares a file with the official model. Settings of a run
(device, input size, protocol, dataset content, weights, versions) are not in the name: a run with other
settings replaces the record of that task, the older one being superseded. A measurement that raises
becomes a ``failed`` record carrying the message and the run goes on. Models without a checkpoint (or
whose weights are not present) get complexity and runtime; their quality record has status
``no_checkpoint`` and a message naming the fetch command, never a number.

The measurement functions (``measure_complexity``, ``measure_runtime``, ``evaluate`` of bench.complexity,
bench.runtime and bench.quality; their records are those modules' dataclasses) are imported lazily,
and :func:`run_bench` accepts a ``measures`` mapping so tests can inject fakes.

This is the ``esr-bench bench`` command's job and part of the CLI layer: it ends by building the report
(``reports``), which the measurement modules of ``bench/`` never import.
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import identity as ident
from ..records import RecordError, read_json, read_record, to_jsonable, write_json
from ..stats import runtime_headline

KINDS = ("complexity", "runtime", "quality")
REUSABLE = ("ok", "skipped", "no_checkpoint")

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
    return re.sub(r"[^A-Za-z0-9.+=,-]+", "-", str(text)).strip("-") or "x"


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
        from ..complexity import measure_complexity

        return measure_complexity(model, scale, **kw)

    def runtime(model, scale, **kw):
        from ..runtime import measure_runtime

        return measure_runtime(model, scale, **kw)

    def quality(model, scale, dataset, **kw):
        from ..quality import evaluate

        return evaluate(model, scale, dataset, **kw)

    return {"complexity": complexity, "runtime": runtime, "quality": quality}


def environment() -> dict[str, Any]:
    """This process's versions and hardware (:func:`bench.env.environment`), JSON-ready."""
    from ..env import environment as env

    return to_jsonable(env())


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def default_datasets() -> list[str]:
    """Datasets under ``$ESR_BENCH_DATA`` (benchmark or NTIRE layout) plus the built-in ``samples``."""
    from ..paths import data_root

    names: list[str] = []
    root = data_root()
    if root is not None and root.is_dir():
        from ..data import list_datasets

        for d in list_datasets(root):
            # benchmark sets resolve by name; other layouts (NTIRE folders) are passed by path
            names.append(str(d.name if d.layout in ("benchmark", "samples") else d.path))
    if "samples" not in names:
        names.append("samples")
    return names


def plan(models: Iterable[str], scales: Iterable[int] | None, datasets: Iterable[str],
         ablations: bool = True, sources: Mapping[str, Any] | None = None) -> list[Task]:
    """Every task, model by model: complexity, runtime, then quality per dataset; AGDN ablations last.

    ``sources`` maps the record names of models given by reference (your own, :mod:`models.refs`) to their
    :class:`~models.refs.ModelRecipe`; they are measured at ``scales`` (default x4)."""
    from models import get_spec

    sources = sources or {}
    wanted = {int(s) for s in scales} if scales else None
    datasets = list(datasets)
    supported = {d: _dataset_scales(d) for d in datasets}
    tasks: list[Task] = []
    for name in models:
        spec_name, spec_scales = (name, tuple(sorted(wanted or {4}))) if name in sources else (
            get_spec(name).name, get_spec(name).scales)
        for s in spec_scales:
            if wanted is not None and s not in wanted:
                continue
            tasks += [Task("complexity", spec_name, s), Task("runtime", spec_name, s)]
            tasks += [Task("quality", spec_name, s, d) for d in datasets if supported[d] is None or s in supported[d]]
    names = {m if m in sources else get_spec(m).name for m in models}
    if ablations and "agdn" in names and (wanted is None or 4 in wanted):
        tasks += [Task("complexity", "agdn", 4, variant=v) for v in ABLATION_VARIANTS]
    return tasks


def _dataset_scales(dataset: str) -> tuple[int, ...] | None:
    """Scales a dataset supports (NTIRE sets: x4 only); ``None`` = any or unknown (errors surface later)."""
    try:
        from ..data import resolve_dataset

        return getattr(resolve_dataset(dataset), "scales", None)
    except Exception:  # noqa: BLE001 - an unresolvable dataset becomes a failed record with the reason
        return None


# ------------------------------------------------------------------------------------------------ core
def _checkpoint_problem(model: str, scale: int, weights_dir: str | None, source: Any = None) -> str | None:
    """Why ``model`` x``scale`` cannot be evaluated with official weights (``None`` when it can)."""
    from models import get_spec
    from models.weights import CheckpointError, WeightsNotFoundError, resolve_checkpoint

    if source is not None:  # your own model: its --weights, or none
        if source.weights or not source.describe(scale)[1]:
            return None
        return f"no checkpoint: pass --weights FILE for {source.ref}, so no PSNR is reported"
    spec = get_spec(model)
    if spec.checkpoint(scale) is None:
        from models import create_model

        from ..quality import is_weight_free

        if is_weight_free(create_model(model, scale)):
            return None  # weight-free reference (bicubic): nothing to load
        return (f"no checkpoint: {spec.name} has no public x{scale} checkpoint (architecture only), "
                "so no PSNR is reported")
    try:
        resolve_checkpoint(spec, scale, weights_dir)
    except (WeightsNotFoundError, CheckpointError) as exc:
        return f"no checkpoint: {exc}"
    return None


def task_options(task: Task) -> dict[str, Any]:
    """Constructor options of ``task``'s model: an AGDN ablation's switches, else none (the official model)."""
    return dict(ABLATION_VARIANTS.get(task.variant) or {}) if task.variant else {}


def task_identity(task: Task, device: str, runtime_options: Mapping[str, Any], quality_options: Mapping[str, Any],
                  weights_dir: str | None, source: Any = None) -> dict[str, Any] | None:
    """The identity (bench/identity.py) the record of ``task`` must have; ``None`` if it cannot be known.

    ``None`` (e.g. a dataset that does not resolve) means: measure; the measurement records the error.
    """
    try:
        if task.kind == "complexity":
            out = ident.complexity_identity(task.model, task.scale, task_options(task), source=source)
            return out | {"ablation": task.variant} if task.variant else out
        if task.kind == "runtime":
            return ident.runtime_identity(task.model, task.scale, task_options(task), device=device,
                                          source=source, **runtime_options)
        if task.kind == "quality":
            return ident.quality_identity(task.model, task.scale, task.dataset, task_options(task),
                                          weights_dir=weights_dir, source=source, **quality_options)
    except Exception:  # noqa: BLE001 - an unknowable identity only means the task is measured again
        return None
    return None


def _reusable(path: Path, expected: dict[str, Any] | None, retry_failed: bool) -> bool:
    """Whether the record at ``path`` has exactly the ``expected`` identity and a reusable status."""
    if expected is None or not path.is_file():
        return False
    try:
        rec = read_record(path)
    except RecordError:
        return False  # unreadable or wrong types: never trust it, measure again
    stored, _how = ident.record_identity(rec)
    if stored is None or ident.identity_hash(stored) != ident.identity_hash(expected):
        return False
    status = rec.get("status", "ok")
    if status in REUSABLE:
        return True
    return status == "failed" and not retry_failed


def _base(task: Task) -> dict[str, Any]:
    rec: dict[str, Any] = {"kind": task.kind, "model": task.model, "scale": task.scale}
    if task.dataset:
        rec["dataset"] = Path(task.dataset).name
    if task.variant:
        rec["variant"] = task.variant
    return rec


def measure(task: Task, measures: Mapping[str, Callable[..., Any]], device: str,
            runtime_options: Mapping[str, Any], quality_options: Mapping[str, Any],
            weights_dir: str | None, identity: Mapping[str, Any] | None = None,
            source: Any = None) -> dict[str, Any]:
    """Run one task and return its record (a failure is a ``failed`` record, never an exception).

    ``identity`` (:func:`task_identity`) is stamped on the record with its hash. ``source``: the
    :class:`~models.refs.ModelRecipe` of a model given by reference; it is built for the task and measured
    as a module, and the record gets ``model_source`` (provenance) and ``user_model``."""
    t0 = time.perf_counter()
    provenance = None
    try:
        if source is not None:
            module, src = source.build(task.scale)
            provenance = src.record()
            task_model: Any = module
        else:
            task_model = task.model
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
            rec = to_jsonable(measures["complexity"](task_model, task.scale, device=device))
        elif task.kind == "runtime":
            rec = to_jsonable(measures["runtime"](task_model, task.scale, device=device, **runtime_options))
        elif task.kind == "quality":
            problem = _checkpoint_problem(task.model, task.scale, weights_dir, source)
            if problem:
                rec = _base(task) | {"status": "no_checkpoint", "message": problem, "psnr": None, "ssim": None,
                                     "protocol": {"name": quality_options.get("protocol", "paper")}}
            else:
                extra = {"weights_dir": weights_dir} if weights_dir else {}
                rec = to_jsonable(measures["quality"](task_model, task.scale, task.dataset, device=device,
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
    if source is not None:
        rec["model"], rec["model_source"], rec["user_model"] = task.model, provenance, True
    rec.setdefault("status", "ok")
    rec.setdefault("message", "")
    if not rec.get("env"):
        rec["env"] = environment()
    rec["elapsed_s"] = round(time.perf_counter() - t0, 3)
    rec["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if identity is not None:
        ident.stamp(rec, identity)
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


def upfront_problems(tasks: Iterable[Task], weights_dir: str | None,
                     sources: Mapping[str, Any] | None = None) -> list[str]:
    """What is known to be missing before the first measurement, and what the run will still do."""
    from ..paths import data_root

    lines: list[str] = []
    pairs = sorted({(t.model, t.scale) for t in tasks if t.kind == "quality"})
    sources = sources or {}
    missing = [(m, s) for m, s in pairs if _checkpoint_problem(m, s, weights_dir, sources.get(m))]
    if missing:
        names = sorted({m for m, _ in missing if m not in sources})
        lines.append(f"no checkpoint for {len(missing)} model/scale(s): "
                     + ", ".join(f"{m} x{s}" for m, s in missing)
                     + "; they still get complexity and runtime, their quality records say no_checkpoint"
                     + f" (fetch: esr-bench weights fetch {' '.join(names)})")
    datasets = sorted({Path(str(t.dataset)).name for t in tasks if t.kind == "quality"})
    if datasets == ["samples"] and data_root() is None:
        lines.append("datasets: only the built-in 'samples' set (set ESR_BENCH_DATA to a folder holding Set5, "
                     "Set14, B100, Urban100, Manga109 for the paper's tables)")
    return lines


def _tally(summary: BenchSummary, task: Task, rec: Mapping[str, Any], lines: Any, status: str) -> None:
    """Count one finished task in the summary and print its progress line."""
    if rec.get("status") == "failed":
        summary.failed.append(f"{task.label()}: {rec.get('message', '')}")
    elif rec.get("status") == "no_checkpoint":
        summary.no_checkpoint.append(task.label())
    node = rec.get("node") if isinstance(rec.get("node"), dict) else {}
    where = f" @{node['host']}" if node.get("ray_node_id") else ""
    lines.task_done(task.label() + where, status, None if status == "reused" else rec.get("elapsed_s"))


def run_bench(models: Iterable[str] | None = None, scales: Iterable[int] | None = None,
              datasets: Iterable[str] | None = None, device: str | None = None, out: str | Path = "results",
              force: bool = False, retry_failed: bool = True, ablations: bool = True,
              measures: Mapping[str, Callable[..., Any]] | None = None,
              runtime_options: Mapping[str, Any] | None = None, quality_options: Mapping[str, Any] | None = None,
              weights_dir: str | None = None, report: bool = True, visual: bool = True,
              progress: bool = True, fetch: bool = False, fetch_base_url: str | None = None,
              plot: tuple[str, int] = ("B100", 4), executor: Any = None,
              sources: Mapping[str, Any] | None = None) -> BenchSummary:
    """Measure every model x scale x dataset into ``out`` (resumable) and write ``out/report.html``.

    ``executor`` (bench/executors.py) runs the measurements: ``None`` = one after another in this process;
    a ``RayExecutor`` spreads them over a Ray cluster. Either way this process writes every record.
    ``sources``: record name -> :class:`~models.refs.ModelRecipe` for models given by reference (your own);
    their names in ``models`` are those record names."""
    from models import get_spec, list_models

    start = time.perf_counter()
    out = Path(out)
    sources = dict(sources or {})
    models = [m if m in sources else get_spec(m).name for m in (models or list_models())]
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
    tasks = plan(models, scales, datasets, ablations, sources)
    if not tasks:
        raise ValueError("nothing to measure: no selected model supports the selected scales")
    from ..progress import ProgressLines

    lines = ProgressLines(len(tasks), enabled=progress)
    lines.note(f"{len(tasks)} measurements of {len(models)} model(s) on {device}; datasets: {', '.join(datasets)}"
               f" -> {out}")
    if fetch:
        fetched = fetch_missing([m for m in models if m not in sources], weights_dir, fetch_base_url)
        summary.notes += fetched
        for note in fetched:
            lines.note(note)
    for line in upfront_problems(tasks, weights_dir, sources):
        lines.note(line)

    pending: dict[Task, tuple[Path, dict[str, Any] | None]] = {}
    for task in tasks:
        path = out / task.relpath()
        expected = task_identity(task, device, runtime_options, quality_options, weights_dir,
                                 sources.get(task.model))
        if not force and _reusable(path, expected, retry_failed):
            summary.reused += 1
            _tally(summary, task, read_record(path), lines, "reused")
        else:
            pending[task] = (path, expected)

    from ..executors import Job, make_executor

    jobs = [Job(measure, (task, measures, device, runtime_options, quality_options, weights_dir, expected,
                          sources.get(task.model)),
                gpu=task.kind == "runtime" and device.startswith("cuda"), label=task.label(),
                meta={"task": task, **_base(task)})
            for task, (_path, expected) in pending.items()]
    runner = executor if executor is not None else make_executor("local", device)
    try:
        for job, rec in runner.map(jobs):
            task = job.meta["task"]
            path, expected = pending[task]
            rec = {k: v for k, v in rec.items() if k != "task"}
            if expected is not None and "identity" not in rec:
                ident.stamp(rec, expected)  # a worker that died returns a bare failed record
            write_json(path, rec)
            summary.computed += 1
            _tally(summary, task, rec, lines, str(rec.get("status")))
    finally:
        if executor is None:
            runner.close()
    if visual:
        _visual_figure(out, models, datasets, device, weights_dir, force, summary, sources)
    if report:
        from reports import build_report

        summary.report = build_report(out, out / "report.html", dataset=plot[0], scale=int(plot[1]))
    summary.elapsed_s = time.perf_counter() - start
    return summary


def _visual_figure(out: Path, models: list[str], datasets: list[str], device: str, weights_dir: str | None,
                   force: bool, summary: BenchSummary, sources: Mapping[str, Any] | None = None) -> None:
    """figures/visual_<dataset>_<image>_x<s>.png for the first benchmark-layout dataset with measured PSNR."""
    from reports.loader import load_results
    from reports.visual import render_png, visual_comparison, write_figure

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
        built = [sources[m].build(scale)[0] if m in (sources or {}) else m for m in chosen]
        res = visual_comparison(built, source, image, scale, device=device, weights_dir=weights_dir)
    except Exception as exc:  # noqa: BLE001 - the figure is a bonus; its absence is noted, not fatal
        summary.notes.append(f"visual comparison skipped: {exc}")
        return
    try:  # PNG first, then its JSON; nothing temporary left on a failed write
        write_figure(target, render_png(res), res.meta() | {"models": chosen, "dataset": dataset})
    except OSError as exc:
        summary.notes.append(f"visual comparison not written: {exc}")


def summary_lines(summary: BenchSummary, models: set[str] | None = None,
                  scales: set[int] | None = None) -> list[str]:
    """A short terminal summary: counts, failures, and one line per model with the headline numbers.

    ``models`` / ``scales``: the run's selection; other model/scales the folder holds are counted in one
    line instead of listed (``None`` / empty: list everything)."""
    from reports.loader import load_results

    lines = [f"esr-bench: {summary.computed} measured, {summary.reused} reused, {len(summary.failed)} failed, "
             f"{len(summary.no_checkpoint)} without checkpoint, in {summary.elapsed_s:.1f} s -> {summary.out}"]
    rs = load_results(summary.out)
    pairs = rs.models()
    chosen = [(m, s) for m, s in pairs if (models is None or m in models) and (not scales or s in scales)]
    if len(chosen) < len(pairs):
        other = len(pairs) - len(chosen)
        lines.append(f"  ({other} other model/scale result{'s' if other != 1 else ''} in {summary.out} not part "
                     f"of this run: `esr-bench report {summary.out}` shows everything)")
    for model, scale in chosen:
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
    lr_notes = {n for q in rs.of("quality") if (q.get("lr_check") or {}).get("values_differing")
                for n in q.get("notes", []) if "not the MATLAB-exact bicubic" in n}
    lines += [f"  note: {n}" for n in sorted(lr_notes)]  # LR folders that are not the protocol's bicubic
    if summary.report:
        lines.append(f"report: {summary.report}")
    return lines
