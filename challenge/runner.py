"""Run many submissions, one sandboxed child per team, one JSON record per team, resumable.

Records go to ``<out>/challenge/<id>_<name>.json`` and are written atomically (temporary file,
fsync, rename: :func:`bench.records.write_json`), so a killed run never leaves a half-written record.
A re-run skips a team only when its record exists, parses and has the same *identity*: the sha256
of the manifest entry as written, the checkpoint and model file contents, the data fingerprint
(names, sizes and mtimes of the year's split images, or no data) and the measurement settings (year,
measure, allow_pickle, isolation). A team that hit the timeout or memory limit is always re-run.
Anything else is recomputed and said so (``stale``);
``force`` recomputes regardless. A crash, hang or OOM of one team is recorded as that team's failure
(status ``broken``) and the run goes on with the next team; a team whose only error is a PSNR below
the year's threshold is ``below-threshold``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.records import read_json, write_json

from .manifest import TeamEntry, load_manifest
from .rules import get_rules
from .sandbox import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S
from .validate import ValidationReport, validate_team

__all__ = ["RunOutcome", "record_path", "build_record", "run_submissions", "record_identity", "record_status",
           "data_fingerprint", "format_outcome"]


@dataclass
class RunOutcome:
    team: str
    action: str  # "ran" | "skipped"
    status: str  # record status: "ok" | "below-threshold" | "broken"
    path: Path
    reason: str = ""  # why a team ran again (no record, stale identity, --force)
    record: dict[str, Any] | None = None


def record_path(out: str | Path, entry: TeamEntry) -> Path:
    return Path(out) / "challenge" / f"{entry.safe_label}.json"


def _env() -> dict[str, Any]:
    """This process's platform, for records whose child never reported one (torch is not imported here)."""
    return {"python": platform.python_version(), "platform": platform.platform(),
            "note": "the sandboxed child did not report its environment"}


def _sha256(path: Path | None) -> str | None:
    if path is None or not Path(path).is_file():
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def data_fingerprint(data: str | Path | None, year: int | None) -> dict[str, Any] | None:
    """Names, sizes and mtimes (ns) of the images of the year's valid/test folders under ``data``."""
    if not data:
        return None
    from bench.data import ntire_folder

    from .rules import get_rules

    rules = get_rules(year or 2026)
    root = Path(data).resolve()
    h, n = hashlib.sha256(), 0
    for layout in (rules.valid_layout, rules.test_layout):
        for name in layout:
            d = ntire_folder(root, name)
            for f in sorted(d.iterdir()) if d else []:
                st = f.stat()
                h.update(f"{d.name}/{f.name}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
                n += 1
    return {"path": str(root), "files": n, "sha256": h.hexdigest()}


def record_identity(entry: TeamEntry, settings: dict[str, Any], data_fp: dict[str, Any] | None) -> dict[str, Any]:
    """What a record was computed from; equal identities make a record reusable (see module doc)."""
    ident = {
        "entry": json.loads(json.dumps(entry.raw, sort_keys=True, default=str)),
        "checkpoint_sha256": _sha256(entry.checkpoint),
        "model_file_sha256": _sha256(entry.model_file),
        "data": data_fp,
        "settings": settings,
    }
    ident["sha256"] = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()
    return ident


def record_status(rep: ValidationReport) -> str:
    """``ok``, ``below-threshold`` (the only errors are PSNR thresholds) or ``broken``."""
    errors = rep.errors
    if not errors:
        return "ok"
    return "below-threshold" if all(f.code == "below-threshold" for f in errors) else "broken"


def build_record(rep: ValidationReport, year: int | None, data: str | Path | None,
                 identity: dict[str, Any] | None = None, measure: str = "official") -> dict[str, Any]:
    """The per-team JSON record (``kind = "challenge"``) from a validation report."""
    errors = rep.errors
    rules = get_rules(year) if year else None
    env = rep.env or _env()  # the sandboxed child's environment: the figures were measured there
    threads = rep.metrics.get("threads")
    return {
        "kind": "challenge",
        "model": rep.team,
        "scale": 4,
        "status": record_status(rep),
        "message": "; ".join(f"{f.code}: {f.message}" for f in errors)[:2000],
        "team": rep.team,
        "team_id": rep.entry.team_id,
        "team_name": rep.entry.name,
        "year": year,
        "findings": [f.to_dict() for f in rep.findings],
        "metrics": rep.metrics,
        "official": rep.official,
        "child": {"status": rep.child_status, "stage": rep.stage, "wall_s": round(rep.wall_s, 3)},
        "protocol": {
            "name": f"NTIRE {year} ESR" if year else "NTIRE ESR (year not given)",
            "measure": measure,
            "flops_counter": rules.flops_counter if rules else None,
            "counting_input": "1x3x256x256 LR",
            "params": "sum(p.numel()) after the post-load steps and the first forward",
            "data": str(data) if data else None,
            "threads": threads,
            "isolation": rep.isolation,
        },
        "identity": identity,
        "env": env,
        "finished_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _reusable(path: Path, identity: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """(record, "") when ``path`` holds a finished record of the same identity, else (None, reason)."""
    if not path.is_file():
        return None, "no record"
    try:
        rec = read_json(path)
    except ValueError:
        return None, "unreadable record"
    if not (isinstance(rec, dict) and rec.get("kind") == "challenge"
            and rec.get("status") in ("ok", "below-threshold", "broken")):
        return None, "unfinished record"
    old = rec.get("identity") or {}
    if old.get("sha256") == identity["sha256"]:
        return rec, ""
    changed = [k for k in ("entry", "checkpoint_sha256", "model_file_sha256", "data", "settings")
               if old.get(k) != identity.get(k)]
    return None, "stale: " + (", ".join(changed) if changed else "record has no identity") + " changed"


def run_submissions(
    submission: str | Path,
    out: str | Path,
    *,
    year: int | None = None,
    data: str | Path | None = None,
    teams: list[str] | None = None,
    force: bool = False,
    allow_pickle: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int | None = DEFAULT_MEMORY_MB,
    measure: str = "official",
    progress: Callable[[RunOutcome], None] | None = None,
    executor: Any = None,
) -> list[RunOutcome]:
    """Validate (and with ``data`` evaluate) every selected team; reuse records of the same identity.

    ``executor`` (bench/executors.py): ``None`` runs the teams one after another here; a ``RayExecutor``
    runs each team as a Ray task (its sandboxed child on the worker's node; a team timed with ``data``
    asks for a whole GPU when the executor's device is CUDA). This process writes every record either way.
    """
    from .sandbox import isolation_mode

    manifest = load_manifest(submission)
    year = year or manifest.year
    data_fp = data_fingerprint(data, year)
    # what changes the numbers; the limits only decide whether a team finishes (timeouts are re-run below)
    settings = {"year": year, "measure": measure, "allow_pickle": bool(allow_pickle), "isolation": isolation_mode()}
    outcomes: dict[str, RunOutcome] = {}
    order = [entry.label for entry in manifest.select(teams)]
    pending = []
    for entry in manifest.select(teams):
        path = record_path(out, entry)
        identity = record_identity(entry, settings, data_fp)
        rec, reason = (None, "--force") if force else _reusable(path, identity)
        if rec is not None and (rec.get("child") or {}).get("status") in ("timeout", "oom"):
            rec, reason = None, f"previous run hit a limit ({rec['child']['status']})"
        if rec is not None:
            outcomes[entry.label] = oc = RunOutcome(entry.label, "skipped", rec["status"], path, "same identity", rec)
            if progress:
                progress(oc)
        else:
            pending.append((entry, path, identity, reason))

    from bench.executors import Job, make_executor

    runner = executor if executor is not None else make_executor("local")
    # a team measured with --data is timed: under Ray it gets a whole GPU when the cluster times on GPUs
    timed_on_gpu = bool(data) and str(getattr(runner, "device", "cpu")).startswith("cuda")
    jobs = [Job(_run_team, (entry, year, data, allow_pickle, timeout_s, memory_mb, measure, identity),
                gpu=timed_on_gpu, label=entry.label, meta={"i": i})
            for i, (entry, _path, identity, _reason) in enumerate(pending)]
    try:
        for job, rec in runner.map(jobs):
            entry, path, identity, reason = pending[job.meta["i"]]
            if rec.get("kind") != "challenge":  # the worker process died (Ray gave up): a broken team
                rec = {"kind": "challenge", "model": entry.label, "scale": 4, "team": entry.label,
                       "team_id": entry.team_id, "team_name": entry.name, "year": year, "status": "broken",
                       "message": rec.get("message", ""), "findings": [], "metrics": {}, "official": {},
                       "protocol": {"measure": measure}, "identity": identity,
                       **{k: rec[k] for k in ("node", "device_name") if k in rec}}
            write_json(path, rec)
            outcomes[entry.label] = oc = RunOutcome(entry.label, "ran", rec["status"], path, reason, rec)
            if progress:
                progress(oc)
    finally:
        if executor is None:
            runner.close()
    return [outcomes[label] for label in order if label in outcomes]


def _run_team(entry: TeamEntry, year: int | None, data: str | Path | None, allow_pickle: bool, timeout_s: float,
              memory_mb: int | None, measure: str, identity: dict[str, Any]) -> dict[str, Any]:
    """One team, start to finish (sandboxed child, then its record); runs locally or as a Ray task."""
    rep = validate_team(entry, year=year, data=data, allow_pickle=allow_pickle, timeout_s=timeout_s,
                        memory_mb=memory_mb, measure=measure)
    return build_record(rep, year, data, identity, measure)


def format_outcome(oc: RunOutcome) -> str:
    """Text lines of one team: action and status, headline figures, threshold verdict, findings."""
    rec = oc.record or {}
    o, m = rec.get("official") or {}, rec.get("metrics") or {}
    why = f" ({oc.reason})" if oc.action == "ran" and oc.reason and oc.reason != "no record" else ""
    lines = [f"{oc.action}{why}: {oc.team} {oc.status.upper()} -> {oc.path}"]

    def f(v: Any, fmt: str, unit: str = "") -> str:
        return "-" if v is None else f"{format(v, fmt)}{unit}"

    params = m.get("params")
    counter = (rec.get("protocol") or {}).get("flops_counter") or "fvcore"
    lines.append(f"  params {f(params, ',')} | FLOPs {f(o.get('flops'), '.4f', ' G')} ({counter}, 1x3x256x256)"
                 f" | activations {f(o.get('activations'), '.4f', ' M')} | convs {f(o.get('num_conv'), 'd')}")
    if "valid_ave_psnr" in o or "test_ave_psnr" in o:
        rt = [o.get(f"{s}_ave_runtime") for s in ("valid", "test")]
        ave = sum(rt) / 2 if None not in rt else next((r for r in rt if r is not None), None)
        lines.append(f"  PSNR valid {f(o.get('valid_ave_psnr'), '.4f', ' dB')}, test "
                     f"{f(o.get('test_ave_psnr'), '.4f', ' dB')} | runtime valid {f(rt[0], '.2f', ' ms')}, test "
                     f"{f(rt[1], '.2f', ' ms')}, ave {f(ave, '.2f', ' ms')} ({m.get('eval_device', '?')}, "
                     f"{m.get('threads', '?')} thread(s))")
        rules = get_rules(rec["year"]) if rec.get("year") else None
        if rules and rules.psnr_threshold:
            verdict = [f"{s} {'pass' if o.get(f'{s}_ave_psnr', -1) >= t else 'FAIL'} (>= {t:.2f})"
                       for s, t in rules.psnr_threshold.items() if f"{s}_ave_psnr" in o]
            lines.append("  threshold: " + (", ".join(verdict) or "not checked (split missing)"))
    else:
        lines.append("  PSNR / runtime: not measured (no --data)")
    for fd in rec.get("findings") or []:
        if fd["severity"] != "info":
            lines.append(f"  [{fd['severity']}] {fd['code']}: {fd['message']}")
    return "\n".join(lines)
