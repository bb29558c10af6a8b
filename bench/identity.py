"""The identity of a record: everything that determines its value, as a canonical JSON dict + a short hash.

A record is reused only when its identity is exactly the one asked for (bench/commands/_bench_job.py), and the report
shows one row per identity (reports/loader.py). Names are not identity: ``agdn-s x4 on Set5`` measured
with ``tlc=False``, with other weights, on a Set5 folder whose images differ, or under the NTIRE protocol
are four different numbers. The parts, per kind of record:

- every kind: the **model part** (:func:`model_identity`): zoo spec name, scale and the constructor
  options that differ from the registry's (``{}`` for the official model);
- complexity: + versions of torch and of the counting libraries (fvcore, thop, ptflops);
- runtime: + device type and name (CPU model / GPU name), LR input size, dtype, threads, memory format
  (channels-last), ``torch.compile``, cuDNN benchmark, mode, warm-up, repeats and the torch version;
- quality: + the checkpoint's sha256 (of the file that is loaded; ``None`` when there is none), the
  dataset's content fingerprint (:func:`dataset_identity`: names, sizes and sha256 of the images read)
  and the protocol (name, LR source, tiling, SSIM on/off).

Deliberately *not* identity: the device of a quality evaluation (the same numbers up to float rounding)
and the device of a complexity count (device independent). File content hashes are cached in one small
JSON file keyed by absolute path, size and mtime (``$ESR_BENCH_HASH_CACHE``, default
``~/.cache/esr-bench/file-hashes.json``), so a dataset is hashed once, not on every run.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .records import atomic_write_text, to_jsonable

__all__ = [
    "IDENTITY_VERSION",
    "canonical_json",
    "identity_hash",
    "file_sha256",
    "model_identity",
    "variant_options",
    "options_label",
    "dataset_identity",
    "complexity_identity",
    "runtime_identity",
    "quality_identity",
    "stamp",
    "record_identity",
    "reidentify",
]

IDENTITY_VERSION = 1  # bump when the definition below changes: every stored record is then recomputed
HASH_CACHE_ENV = "ESR_BENCH_HASH_CACHE"
COUNTING_LIBRARIES = ("torch", "fvcore", "thop", "ptflops")


# ------------------------------------------------------------------------------------------- hashing
def canonical_json(obj: Any) -> str:
    """``obj`` as JSON with sorted keys and no spaces (the form that is hashed)."""
    return json.dumps(to_jsonable(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def identity_hash(identity: Mapping[str, Any]) -> str:
    """First 16 hex digits of the sha256 of :func:`canonical_json` (64 bits: collisions are not a concern)."""
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:16]


def hash_cache_path() -> Path:
    """``$ESR_BENCH_HASH_CACHE``, else ``$XDG_CACHE_HOME/esr-bench/file-hashes.json`` (``~/.cache`` default)."""
    env = os.environ.get(HASH_CACHE_ENV)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "esr-bench" / "file-hashes.json"


class _HashCache:
    """sha256 of files keyed by (absolute path, size, mtime_ns); kept in memory, saved as one JSON file."""

    def __init__(self) -> None:
        self.entries: dict[str, list[Any]] = {}
        self.loaded_from: Path | None = None
        self.dirty = False

    def _load(self) -> None:
        path = hash_cache_path()
        if self.loaded_from == path:
            return
        self.entries, self.loaded_from, self.dirty = {}, path, False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # absent or damaged: start afresh (it is only a cache)
        if isinstance(data, dict):
            self.entries = {k: v for k, v in data.items() if isinstance(v, list) and len(v) == 3}

    def sha256(self, path: Path) -> str:
        from models.weights import sha256_file

        self._load()
        st = path.stat()
        key = str(path.resolve())
        hit = self.entries.get(key)
        if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns and isinstance(hit[2], str):
            return hit[2]
        digest = sha256_file(path)
        self.entries[key] = [st.st_size, st.st_mtime_ns, digest]
        self.dirty = True
        return digest

    def save(self) -> None:
        if not self.dirty or self.loaded_from is None:
            return
        try:
            atomic_write_text(self.loaded_from, json.dumps(self.entries, sort_keys=True))
            self.dirty = False
        except OSError:
            pass  # a read-only cache folder costs re-hashing next time, never a wrong identity


_CACHE = _HashCache()


def file_sha256(path: str | Path) -> str:
    """sha256 (hex) of a file's bytes, cached by (absolute path, size, mtime_ns). Raises ``OSError``."""
    digest = _CACHE.sha256(Path(path))
    _CACHE.save()
    return digest


def _fingerprint(files: Iterable[tuple[str, Path]]) -> dict[str, Any]:
    """Names, sizes and content hashes of ``(label, path)`` files folded into one sha256."""
    rows = []
    try:
        for label, path in sorted(files, key=lambda t: t[0]):
            rows.append([label, path.stat().st_size, _CACHE.sha256(path)])
    finally:
        _CACHE.save()
    return {"files": len(rows), "bytes": sum(r[1] for r in rows),
            "sha256": hashlib.sha256(canonical_json(rows).encode()).hexdigest()}


# -------------------------------------------------------------------------------------------- model
def _constructor_defaults(spec: Any) -> dict[str, Any]:
    """The constructor arguments the registry builds ``spec`` with (signature defaults + ``spec.kwargs``)."""
    defaults: dict[str, Any] = {}
    try:
        params = inspect.signature(spec.builder).parameters
    except (TypeError, ValueError):
        params = {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        try:  # a thin builder(scale, **kw) -> Class: the class's own defaults
            cls = typing.get_type_hints(spec.builder).get("return")
            if isinstance(cls, type):
                defaults.update({n: p.default for n, p in inspect.signature(cls.__init__).parameters.items()
                                 if p.default is not p.empty})
        except Exception:  # noqa: BLE001 - unresolvable hints: only the explicit defaults are known
            pass
    defaults.update({n: p.default for n, p in params.items() if p.default is not p.empty})
    defaults.update(spec.kwargs)
    defaults.pop("scale", None)
    return defaults


def variant_options(model: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The constructor ``options`` that differ from the registry's build of ``model`` (sorted by name).

    ``{}`` means the official model: ``tlc=True`` on AGDN (already its default) is not a variant.
    """
    from models import get_spec

    if not options:
        return {}
    defaults = _constructor_defaults(get_spec(model))
    out = {}
    for key in sorted(options):
        value = to_jsonable(options[key])
        if key in defaults and to_jsonable(defaults[key]) == value:
            continue
        out[str(key)] = value
    return out


def options_label(options: Mapping[str, Any] | None) -> str | None:
    """``{"tlc": False, "num_block": 5}`` -> ``"num_block=5,tlc=false"``; ``None`` for no options."""
    if not options:
        return None
    return ",".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in sorted(options.items()))


def checkpoint_sha256(model: str, scale: int, weights_dir: str | Path | None = None) -> str | None:
    """sha256 of the checkpoint file ``create_model(model, scale, pretrained=True)`` would load, or ``None``.

    ``None`` when the registry has no checkpoint for ``model`` x``scale`` or the file is not present
    (then the quality record says ``no_checkpoint``; fetching the file changes the identity).
    """
    from models import get_spec
    from models.weights import CheckpointError, WeightsNotFoundError, resolve_checkpoint

    spec = get_spec(model)
    if spec.checkpoint(int(scale)) is None:
        return None
    try:
        path = resolve_checkpoint(spec, int(scale), weights_dir)
    except (WeightsNotFoundError, CheckpointError):
        return None
    return file_sha256(path)


def model_identity(model: str, scale: int, options: Mapping[str, Any] | None = None, *,
                   weights_dir: str | Path | None = None, checkpoint: bool = True,
                   source: Any = None) -> dict[str, Any]:
    """The model part of an identity: ``{"model", "scale", "options"[, "checkpoint_sha256"]}``.

    ``source``: a :class:`models.refs.ModelRecipe` for a model given by reference (your own): its part is
    ``{"model", "scale", "options": {}, "source"}`` where ``source`` holds the model file's sha256, class,
    constructor options and the checkpoint's sha256 (``ModelSource.identity``), so editing the file or
    the weights re-measures it.

    ``model`` is a zoo name or alias (stored as the spec's canonical name); ``options`` are constructor
    overrides, kept only where they differ from the registry's (:func:`variant_options`).
    ``checkpoint=True`` adds the sha256 of the checkpoint that would be loaded (:func:`checkpoint_sha256`).
    Raises ``models.UnknownModelError`` for an unknown name.
    """
    if source is not None:
        return {"model": str(model), "scale": int(scale), "options": {}, "source": source.describe(scale)[0]}
    from models import get_spec

    spec = get_spec(model)
    ident: dict[str, Any] = {"model": spec.name, "scale": int(scale), "options": variant_options(spec.name, options)}
    if checkpoint:
        ident["checkpoint_sha256"] = checkpoint_sha256(spec.name, scale, weights_dir)
    return ident


# ------------------------------------------------------------------------------------------ dataset
def dataset_identity(dataset: Any, scale: int, lr_source: str = "auto") -> dict[str, Any]:
    """Name and content fingerprint of the images an evaluation at ``scale`` reads from ``dataset``.

    The HR images always; the images of the dataset's LR folder for ``scale`` unless ``lr_source`` is
    ``"bicubic"`` (then LR is computed from HR and the folder is never read). Returns ``{"name",
    "files", "bytes", "sha256"}``; the dataset's location is not part of it (a copy elsewhere is the
    same dataset). Raises ``bench.data.DatasetError`` for a dataset that cannot be resolved.
    """
    from .data import Dataset, resolve_dataset

    ds = dataset if isinstance(dataset, Dataset) else resolve_dataset(dataset)

    def label(role: str, p: Path) -> str:
        try:
            return f"{role}/{p.relative_to(ds.path).as_posix()}"
        except ValueError:
            return f"{role}/{p.name}"

    files = [(label("HR", p), p) for p in ds.hr_files()]
    lr_dir = ds.lr_dir(int(scale))
    if lr_source != "bicubic" and lr_dir is not None and lr_dir.is_dir():
        files += [(label("LR", p), p) for p in ds.lr_files(scale)]
    return {"name": ds.name, **_fingerprint(files)}


# ------------------------------------------------------------------------------------------- kinds
def software_versions() -> dict[str, str | None]:
    """Installed versions of torch and of the complexity counters (``None`` when one is missing)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in COUNTING_LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    import torch

    out["torch"] = torch.__version__  # the imported build (a CUDA suffix included), not the dist metadata
    return out


def device_name(device: str) -> str | None:
    """CPU model name for ``cpu``; the GPU name (``torch.cuda.get_device_name``) for ``cuda[:i]``."""
    import torch

    dev = torch.device(device)
    if dev.type == "cpu":
        from .env import cpu_model

        return cpu_model()
    if dev.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(dev.index if dev.index is not None else torch.cuda.current_device())
    return None


def _base(kind: str, model_part: dict[str, Any]) -> dict[str, Any]:
    return {"version": IDENTITY_VERSION, "kind": kind, "model": model_part}


def complexity_identity(model: str, scale: int, options: Mapping[str, Any] | None = None, *,
                        source: Any = None) -> dict[str, Any]:
    """Identity of a complexity record: model part (no checkpoint: counts do not read weights) + versions."""
    versions = software_versions()
    return _base("complexity", model_identity(model, scale, options, checkpoint=False, source=source)) | {
        "software": {k: versions.get(k) for k in COUNTING_LIBRARIES}}


def _keyword_defaults(fn: Any) -> dict[str, Any]:
    return {n: p.default for n, p in inspect.signature(fn).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is not p.empty}


# keywords of measure_runtime / evaluate that decide the value (the others: logging, paths, test hooks)
RUNTIME_SETTINGS = ("input_size", "warmup", "repeats", "mode", "dtype", "channels_last", "compile", "threads",
                    "cudnn_benchmark")
QUALITY_SETTINGS = ("protocol", "lr_source", "tile", "tile_overlap", "compute_ssim")


def runtime_identity(model: str, scale: int, options: Mapping[str, Any] | None = None, *, device: str = "cpu",
                     source: Any = None, **settings: Any) -> dict[str, Any]:
    """Identity of a runtime record; ``settings`` are ``bench.runtime.measure_runtime`` keywords.

    Settings not given take measure_runtime's defaults (read from its signature, not copied here);
    ``threads=None`` is resolved as measure_runtime resolves it (1 on CPU in robust mode, else the
    process's ``torch.get_num_threads()``) and ``warmup=None`` as the mode's default. Any other keyword
    given to the measurement is part of the identity as given (under ``extra``).
    """
    import torch

    from .runtime import DEFAULT_CPU_THREADS, DEFAULT_WARMUP, measure_runtime

    dev = torch.device(device)
    given = dict(settings)
    s = {k: given.pop(k) if k in given else v for k, v in _keyword_defaults(measure_runtime).items()
         if k in RUNTIME_SETTINGS}
    if s["threads"] is None:
        s["threads"] = DEFAULT_CPU_THREADS if dev.type == "cpu" and s["mode"] == "robust" else torch.get_num_threads()
    if s["warmup"] is None:
        s["warmup"] = DEFAULT_WARMUP.get(s["mode"])
    s["input_size"] = [int(v) for v in s["input_size"]] if s["input_size"] is not None else None
    s["cudnn_benchmark"] = bool(s["cudnn_benchmark"]) if dev.type == "cuda" else None
    if given:
        s["extra"] = to_jsonable(dict(sorted(given.items())))
    return _base("runtime", model_identity(model, scale, options, checkpoint=False, source=source)) | {
        "device": {"type": dev.type, "name": device_name(device)}, "settings": to_jsonable(s),
        "torch": software_versions()["torch"]}


def quality_identity(model: str, scale: int, dataset: Any, options: Mapping[str, Any] | None = None, *,
                     weights_dir: str | Path | None = None, source: Any = None, **settings: Any) -> dict[str, Any]:
    """Identity of a quality record; ``settings`` are ``bench.quality.evaluate`` keywords (its defaults apply).

    ``compute_ssim=None`` resolves to the protocol's default (paper: on, ntire: off); ``tile_overlap``
    only counts when tiling. A dataset that does not resolve is identified by its name and
    ``"unresolved": true`` (its evaluation fails; once it resolves, the identity changes).
    """
    from .data import DatasetError
    from .quality import PROTOCOLS, evaluate

    given = dict(settings)
    s = {k: given.pop(k) if k in given else v for k, v in _keyword_defaults(evaluate).items()
         if k in QUALITY_SETTINGS}
    proto = {"name": s["protocol"], "lr_source": s["lr_source"], "tile": s["tile"],
             "tile_overlap": s["tile_overlap"] if s["tile"] else None,
             "ssim": bool(PROTOCOLS.get(s["protocol"], {}).get("ssim") if s["compute_ssim"] is None
                          else s["compute_ssim"])}
    if given:
        proto["extra"] = to_jsonable(dict(sorted(given.items())))
    try:
        data = dataset_identity(dataset, scale, s["lr_source"])
    except (DatasetError, OSError):
        data = {"name": Path(str(getattr(dataset, "name", dataset))).name, "unresolved": True}
    return _base("quality", model_identity(model, scale, options, weights_dir=weights_dir, source=source)) | {
        "dataset": data, "protocol": proto}


# ---------------------------------------------------------------------------------------- records
def stamp(record: dict[str, Any], identity: Mapping[str, Any]) -> dict[str, Any]:
    """Attach ``identity``, ``identity_hash`` and (for a model variant) ``options`` / ``variant`` to ``record``."""
    identity = to_jsonable(dict(identity))
    record["identity"] = identity
    record["identity_hash"] = identity_hash(identity)
    opts = identity.get("model", {}).get("options") or {}
    if opts:
        record["options"] = opts
        record.setdefault("variant", options_label(opts))
    return record


def record_identity(record: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """``(identity, how)`` of a stored record: ``how`` is ``"recorded"``, ``"re-identified"`` or ``"legacy"``.

    A record whose ``identity_hash`` does not match its ``identity`` (edited by hand) counts as legacy.
    """
    ident = record.get("identity")
    if isinstance(ident, dict):
        if record.get("identity_hash") == identity_hash(ident):
            return ident, "recorded"
        return None, "legacy"
    again = reidentify(record)
    return (again, "re-identified") if again is not None else (None, "legacy")


def reidentify(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The identity of a record written before identities existed, when its own fields determine it.

    Runtime records spell out every setting (device and its name, input size, dtype, threads, memory
    format, compile, warm-up, repeats, torch version), so they are re-identified; complexity records
    lack the counters' versions and quality records the dataset's content, so they stay legacy
    (``None``) and are recomputed by the next run.
    """
    if record.get("kind") != "runtime" or record.get("status") not in ("ok", "failed", "skipped"):
        return None
    proto, env = record.get("protocol"), record.get("env")
    if not isinstance(proto, dict) or not isinstance(env, dict):
        return None
    try:
        from models import get_spec

        dev = str(record["device"]).split(":")[0]
        size = record.get("input_size")
        settings = {
            "input_size": [int(v) for v in size] if size is not None else None, "dtype": record["dtype"],
            "threads": int(proto["threads"]), "channels_last": bool(proto["channels_last"]),
            "compile": bool(proto["compile"]),
            "cudnn_benchmark": bool(proto["cudnn_benchmark"]) if dev == "cuda" else None,
            "mode": record["mode"], "warmup": int(record["warmup"]), "repeats": int(record["repeats"])}
        model_part = {"model": get_spec(record["model"]).name, "scale": int(record["scale"]),
                      "options": dict(record.get("options") or {})}
        return _base("runtime", model_part) | {"device": {"type": dev, "name": env["device_name"]},
                                               "settings": settings, "torch": env["torch"]}
    except (KeyError, TypeError, ValueError):
        return None
