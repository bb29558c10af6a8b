"""Plain result records: dataclasses <-> JSON/CSV, written atomically so runs can resume.

Every writer goes through :func:`atomic_write_text`: the data lands in a temporary file in the same
directory, is flushed and fsync'ed, then renamed over the target, so a crash or a kill never leaves a
half-written record behind (a reader sees the old file or the new one).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import UserError


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, paths, numpy scalars/arrays, tuples and non-finite floats -> JSON-safe values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        return to_jsonable(obj.item())
    if hasattr(obj, "tolist"):
        return to_jsonable(obj.tolist())
    return obj


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder + fsync + rename).

    On any failure (e.g. ``OSError`` ENOSPC) the temporary file is removed and the target is left as it
    was; the exception propagates.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, record: Any) -> Path:
    return atomic_write_text(path, json.dumps(to_jsonable(record), indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path) -> Any:
    """Read a JSON record; a corrupt or truncated file raises ``ValueError`` naming the file."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: corrupt JSON record ({exc})") from exc


# ------------------------------------------------------------------------------ validating reader
RECORD_KINDS = ("complexity", "runtime", "quality")
#: Statuses each record kind can have: ``partial`` is a complexity record missing a headline figure,
#: ``invalid`` a runtime record whose output check failed (bench.output_check), ``no_checkpoint`` a
#: quality record without official weights. ``failed`` / ``skipped`` can come from any measurement.
STATUSES_BY_KIND: dict[str, tuple[str, ...]] = {
    "complexity": ("ok", "partial", "failed", "skipped"),
    "runtime": ("ok", "invalid", "failed", "skipped"),
    "quality": ("ok", "failed", "skipped", "no_checkpoint"),
}
_NUM = "number"  # int or finite float, never bool
_OPT_NUM = "number or null"
_COMMON: dict[str, Any] = {
    "model": str, "scale": "positive int", "message": (str, None), "variant": (str, None),
    "options": (dict, None), "identity": (dict, None), "identity_hash": (str, None), "env": (dict, None),
    "protocol": (dict, None), "created": (str, None), "elapsed_s": _OPT_NUM, "dataset": (str, None),
}
_KIND_FIELDS: dict[str, dict[str, Any]] = {
    "complexity": {k: _OPT_NUM for k in (
        "params", "params_before_forward", "params_trainable", "params_thop", "fvcore_flops_lr256",
        "ntire22_hook_flops_lr256", "thop_macs_hr1280x720", "ptflops_macs_hr1280x720", "fvcore_flops_hr1280x720",
        "torch_flops_lr256", "ntire_activations_lr256", "ntire_convs_lr256")}
    | {"uncounted": "object of lists or null", "warnings": "list of strings or null", "variant_options": (dict, None)},
    "runtime": {k: _OPT_NUM for k in (
        "median_ms", "mean_ms", "std_ms", "min_ms", "p90_ms", "iqr_ms", "cv", "peak_mem_forward_mib",
        "peak_mem_total_mib", "ave_time_ms", "warmup", "repeats")}
    | {"device": (str, None), "mode": (str, None), "dtype": (str, None), "input_size": "size or null",
       "times_ms": "list of numbers", "splits": (dict, None), "dataset": (str, None)},
    "quality": {"dataset": str, "dataset_path": (str, None), "psnr": _OPT_NUM, "ssim": _OPT_NUM,
                "n_images": _OPT_NUM, "per_image": "per-image list", "timing": (dict, None)},
}
# numbers a challenge record may hold, type-checked here at the top level and under these sub-dicts
# (challenge.rank.metrics_from_record reads only the official results.json names, under "official" or at the top)
_CHALLENGE_NUMBERS = (
    "valid_ave_psnr", "val_psnr", "valid_psnr", "test_ave_psnr", "test_psnr", "valid_ave_runtime", "val_runtime_ms",
    "valid_runtime_ms", "val_time_ms", "test_ave_runtime", "test_runtime_ms", "test_time_ms", "ave_runtime",
    "ave_runtime_ms", "runtime_ms", "ave_time_ms", "num_parameters", "params_m", "flops", "flops_g", "activations",
    "acts_m", "activations_m", "valid_memory", "memory_mib", "mem_mib", "peak_mem_mib", "num_conv", "convs", "conv",
    "score", "year", "params")
_CHALLENGE_SUBS = ("official", "metrics", "result", "results")
# profile records (bench.profile.ProfileRecord): what the report's "Where the time goes" table reads
_PROFILE_FIELDS: dict[str, Any] = {
    "model": str, "scale": "positive int", "status": (str, None), "message": (str, None), "device": (str, None),
    "input_size": "size or null", "threads": (int, None), "forward_ms": _OPT_NUM, "profiled_ms": _OPT_NUM,
    "self_time_total_ms": _OPT_NUM, "peak_mem_forward_mib": _OPT_NUM, "env": (dict, None),
    "modules": ("rows", "module", ("time_ms", "share")), "operators": ("rows", "operator", ("self_time_ms", "share")),
}


class RecordError(UserError, ValueError):
    """A stored record that cannot be used: unreadable, not JSON, or a field of the wrong type.

    Subclasses :class:`bench.errors.UserError` (exit code 2 in the CLI) and ``ValueError``.
    """


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check(value: Any, rule: Any) -> bool:
    if rule == _NUM:
        return _is_number(value)
    if rule == _OPT_NUM:
        return value is None or _is_number(value)
    if rule == "positive int":
        return isinstance(value, int) and not isinstance(value, bool) and value > 0
    if rule == "size or null":
        return value is None or (isinstance(value, list) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value))
    if rule == "object of lists or null":
        return value is None or (isinstance(value, dict) and all(isinstance(v, list) for v in value.values()))
    if rule == "list of strings or null":
        return value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    if rule == "list of numbers":
        return isinstance(value, list) and all(_is_number(v) for v in value)
    if isinstance(rule, tuple) and rule and rule[0] == "rows":  # ("rows", name field, numeric fields)
        return isinstance(value, list) and all(
            isinstance(r, dict) and isinstance(r.get(rule[1]), str)
            and all(r.get(k) is None or _is_number(r.get(k)) for k in rule[2]) for r in value)
    if rule == "per-image list":
        return isinstance(value, list) and all(
            isinstance(r, dict) and isinstance(r.get("name"), str)
            and all(r.get(k) is None or _is_number(r.get(k)) for k in ("psnr", "ssim")) for r in value)
    if isinstance(rule, tuple) and rule and isinstance(rule[0], str):  # an enumeration of strings
        return value in rule
    types = rule if isinstance(rule, tuple) else (rule,)
    return any(value is None if t is None else isinstance(value, t) for t in types)


def _describe(rule: Any) -> str:
    if isinstance(rule, str):
        return rule
    if isinstance(rule, tuple) and rule and rule[0] == "rows":
        return f"a list of objects with a string {rule[1]!r} and numbers (or null) as {', '.join(rule[2])}"
    if isinstance(rule, tuple) and rule and isinstance(rule[0], str):
        return "one of " + ", ".join(rule)
    types = rule if isinstance(rule, tuple) else (rule,)
    names = {str: "string", dict: "object", list: "list", None: "null"}
    return " or ".join(names.get(t, getattr(t, "__name__", str(t))) for t in types)


def _check_fields(obj: dict[str, Any], rules: dict[str, Any], required: tuple[str, ...], kind: str,
                  source: str) -> None:
    """Raise :class:`RecordError` for a missing required field or a field that breaks its rule."""
    for key, rule in rules.items():
        if key not in obj:
            if key in required:
                raise RecordError(f"{source}: a {kind} record needs the field {key!r}")
            continue
        if not _check(obj[key], rule):
            raise RecordError(f"{source}: field {key!r} must be {_describe(rule)}, got {obj[key]!r}"[:300])


def validate_record(obj: Any, kind: str | None = None, source: str = "record") -> dict[str, Any]:
    """Check a decoded record against its kind's schema and return it (the same dict, unchanged).

    ``kind`` is the folder the record was found in (``complexity`` / ``runtime`` / ``quality`` /
    ``challenge``); the record's own ``kind`` field wins when present. Zoo records need ``model`` (str),
    ``scale`` (int >= 1) and a ``status`` of its kind (:data:`STATUSES_BY_KIND`); every known numeric
    field is a finite number or null (a quality record with status ok needs a number as ``psnr``).
    Records of other kinds (figures, challenge) only need to be JSON objects, plus numbers where the
    challenge tables compute (never a string). Raises :class:`RecordError` naming ``source``, the field and the problem.
    """
    if not isinstance(obj, dict):
        raise RecordError(f"{source}: not a JSON object ({type(obj).__name__})")
    own = obj.get("kind")
    if own is not None and not isinstance(own, str):
        raise RecordError(f"{source}: field 'kind' must be a string, got {own!r}"[:300])
    kind = own or kind
    if kind == "challenge":
        for where in (obj, *(obj[s] for s in _CHALLENGE_SUBS if isinstance(obj.get(s), dict))):
            for key in _CHALLENGE_NUMBERS:
                v = where.get(key)
                if isinstance(v, str) or (isinstance(v, float) and not math.isfinite(v)):  # lists: per-image values
                    raise RecordError(f"{source}: field {key!r} must be a finite number, got {v!r}"[:300])
        for key in ("team", "status", "message"):
            if key in obj and not isinstance(obj[key], str):
                raise RecordError(f"{source}: field {key!r} must be a string, got {obj[key]!r}"[:300])
        return obj
    if kind == "profile":
        _check_fields(obj, _PROFILE_FIELDS, ("model", "scale"), kind, source)
        return obj
    if kind not in RECORD_KINDS:
        return obj
    rules = {**_COMMON, **_KIND_FIELDS[kind], "status": STATUSES_BY_KIND[kind]}
    _check_fields(obj, rules, ("model", "scale", "dataset") if kind == "quality" else ("model", "scale"), kind, source)
    if kind == "quality" and obj.get("status", "ok") == "ok" and not _is_number(obj.get("psnr")):
        raise RecordError(f"{source}: a quality record with status ok needs a number as 'psnr'")
    return obj


def read_record(path: str | Path, kind: str | None = None) -> dict[str, Any]:
    """Read and validate one JSON record (:func:`validate_record`); every problem is a :class:`RecordError`.

    ``kind`` defaults to the name of the record's folder (``<out>/<kind>/<name>.json``).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: cannot read the record ({exc})") from exc
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise RecordError(f"{path}: corrupt JSON record ({exc})"[:500]) from exc
    return validate_record(obj, kind or path.parent.name, source=str(path))


def write_csv(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    rows = [to_jsonable(r) for r in rows]
    fields: list[str] = []
    for r in rows:
        fields.extend(k for k in r if k not in fields)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in r.items()})
    return atomic_write_text(path, buf.getvalue())
