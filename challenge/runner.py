"""Run many submissions, one sandboxed child per team, one JSON record per team, resumable.

Records go to ``<out>/challenge/<id>_<name>.json`` and are written atomically (temporary file,
fsync, rename: :func:`bench.records.write_json`), so a killed run never leaves a half-written record.
A re-run skips every team whose record exists and parses, unless ``force``; a corrupt record (only
possible if written by something else) is recomputed. A crash, hang or OOM of one team is recorded
as that team's failure and the run goes on with the next team.
"""

from __future__ import annotations

import datetime as _dt
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

__all__ = ["RunOutcome", "record_path", "build_record", "run_submissions"]


@dataclass
class RunOutcome:
    team: str
    action: str  # "ran" | "skipped"
    status: str  # record status: "ok" | "failed"
    path: Path


def record_path(out: str | Path, entry: TeamEntry) -> Path:
    return Path(out) / "challenge" / f"{entry.safe_label}.json"


def _env() -> dict[str, Any]:
    try:
        from bench.env import environment  # runtime helper's module, when merged

        return environment()
    except Exception:
        import torch

        return {"torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform()}


def build_record(rep: ValidationReport, year: int | None, data: str | Path | None) -> dict[str, Any]:
    """The per-team JSON record (``kind = "challenge"``) from a validation report."""
    errors = rep.errors
    rules = get_rules(year) if year else None
    return {
        "kind": "challenge",
        "model": rep.team,
        "scale": 4,
        "status": "ok" if not errors else "failed",
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
            "flops_counter": rules.flops_counter if rules else None,
            "counting_input": "1x3x256x256 LR",
            "params": "sum(p.numel()) after the first forward",
            "data": str(data) if data else None,
            "isolation": "child process, wall-clock timeout, RLIMIT_AS memory limit",
        },
        "env": _env(),
        "finished_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _finished(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        rec = read_json(path)
    except ValueError:
        return False
    return isinstance(rec, dict) and rec.get("kind") == "challenge" and rec.get("status") in ("ok", "failed")


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
    progress: Callable[[RunOutcome], None] | None = None,
) -> list[RunOutcome]:
    """Validate (and with ``data`` evaluate) every selected team; skip finished ones unless ``force``."""
    manifest = load_manifest(submission)
    year = year or manifest.year
    outcomes = []
    for entry in manifest.select(teams):
        path = record_path(out, entry)
        if not force and _finished(path):
            rec = read_json(path)
            oc = RunOutcome(entry.label, "skipped", rec["status"], path)
        else:
            rep = validate_team(entry, year=year, data=data, allow_pickle=allow_pickle, timeout_s=timeout_s,
                                memory_mb=memory_mb)
            rec = build_record(rep, year, data)
            write_json(path, rec)
            oc = RunOutcome(entry.label, "ran", rec["status"], path)
        outcomes.append(oc)
        if progress:
            progress(oc)
    return outcomes
