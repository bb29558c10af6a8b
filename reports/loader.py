"""Load a results directory (one JSON record per measurement) into a :class:`ResultSet`.

Layout (written by bench.commands._bench_job): ``<out>/<kind>/<model>_x<scale>[_<dataset>][_<variant>].json``
with ``kind`` one of complexity / runtime / quality, and ``<out>/challenge/<team>.json``. The loader
trusts the fields inside each record, not the file name, and falls back to the folder name when a
record has no ``kind``. Every record goes through the validating reader
(:func:`bench.records.validate_record`): a file that is not valid JSON, or whose fields have the wrong
types (``"psnr": "abc"``, ``"scale": null``), is listed in :attr:`ResultSet.errors` (shown in the
report) instead of aborting the report.

One row per identity (bench/identity.py): of several records with the same identity only the newest
is kept; a record that did not produce a number (``no_checkpoint``, ``failed``, ``skipped``) is
superseded by a newer ``ok`` record of the same model/scale/dataset/variant; a record written before
identities existed is re-identified from its own fields where they determine it, otherwise it is
*legacy* (:attr:`ResultSet.legacy`) and superseded by any identified record of the same task. Dropped
records are listed in :attr:`ResultSet.superseded`, never shown in a table. Records of a model variant
(constructor options other than the registry's, or an AGDN ablation) keep their ``variant`` label.
An official NTIRE ``results.json`` (team -> {valid_ave_psnr, ...}) dropped into ``challenge/`` is
expanded to one record per team.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.identity import identity_hash, record_identity
from bench.records import RECORD_KINDS, RecordError, validate_record

KINDS = ("complexity", "runtime", "quality", "challenge", "visual", "profile")


@dataclass
class ResultSet:
    """Every record of a results directory, grouped by kind."""

    root: Path | None = None
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file, why it is unreadable)
    legacy: list[tuple[str, str]] = field(default_factory=list)  # (file, what is unknown) - still readable
    superseded: list[tuple[str, str]] = field(default_factory=list)  # (file, by which record) - not in tables

    def of(self, kind: str) -> list[dict[str, Any]]:
        return self.records.get(kind, [])

    def add(self, record: dict[str, Any], kind: str | None = None) -> None:
        kind = record.get("kind") or kind or "unknown"
        record.setdefault("kind", kind)
        self.records.setdefault(kind, []).append(record)

    def find(self, kind: str, model: str, scale: int, dataset: str | None = None,
             variant: str | None = None) -> dict[str, Any] | None:
        """The record of ``kind`` for ``model``/``scale`` (and ``dataset``/``variant``), or ``None``.

        With several (other settings: identities differ) the newest ``ok`` record wins, then the newest.
        """
        for r in sorted(self.of(kind), key=lambda r: (r.get("status", "ok") == "ok", _created(r)), reverse=True):
            if r.get("model") != model or int(r.get("scale") or 0) != int(scale):
                continue
            if dataset is not None and r.get("dataset") != dataset:
                continue
            if (r.get("variant") or None) != (variant or None):
                continue
            return r
        return None

    def models(self) -> list[tuple[str, int]]:
        """(model, scale) pairs measured by any zoo measurement (variants excluded), sorted."""
        seen = set()
        for kind in ("complexity", "runtime", "quality"):
            for r in self.of(kind):
                if r.get("variant"):
                    continue
                if r.get("model") is not None and r.get("scale") is not None:
                    seen.add((str(r["model"]), int(r["scale"])))
        return sorted(seen, key=lambda t: (t[1], t[0]))

    def datasets(self) -> list[str]:
        return sorted({str(r["dataset"]) for r in self.of("quality") if r.get("dataset")})

    def environment(self) -> dict[str, Any]:
        """The ``env`` dicts of the records, de-duplicated (usually one per machine)."""
        envs: list[dict[str, Any]] = []
        for kind in ("runtime", "complexity", "quality", "challenge"):
            for r in self.of(kind):
                env = r.get("env")
                if isinstance(env, dict) and env and env not in envs:
                    envs.append(env)
        return {"environments": envs}


def _is_official_results(obj: Any) -> bool:
    return (isinstance(obj, dict) and bool(obj) and "kind" not in obj
            and all(isinstance(v, dict) and ("valid_ave_psnr" in v or "test_ave_psnr" in v) for v in obj.values()))


def load_results(root: str | Path) -> ResultSet:
    """Read every ``*.json`` under ``root`` (temporary ``.*.tmp`` files of interrupted writes are ignored)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"results directory {root} does not exist (run `esr-bench bench --out {root}` first)")
    rs = ResultSet(root=root)
    for path in sorted(root.rglob("*.json")):
        if path.name.startswith("."):
            continue
        rel = path.relative_to(root)
        folder = rel.parts[0] if len(rel.parts) > 1 else None
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            rs.errors.append((str(rel), f"unreadable record: {exc}"[:500]))
            continue
        if _is_official_results(obj):
            for team, row in obj.items():
                try:
                    rs.add(validate_record({"kind": "challenge", "team": str(team), "source": str(rel), **row},
                                           source=f"{rel} [{team}]"))
                except RecordError as exc:
                    rs.errors.append((f"{rel} [{team}]", f"unreadable record: {exc}"))
            continue
        try:
            validate_record(obj, folder, source=str(rel))
        except RecordError as exc:
            rs.errors.append((str(rel), f"unreadable record: {str(exc).removeprefix(str(rel) + ': ')}"))
            continue
        obj.setdefault("_file", str(rel))
        if folder == "challenge" and "team" not in obj:
            obj["team"] = path.stem
        rs.add(obj, kind=folder if folder in KINDS else None)
    _identify(rs)
    return rs


def _created(r: dict[str, Any]) -> str:
    return str(r.get("created") or "")


def _task_key(r: dict[str, Any]) -> str:
    return json.dumps([r.get(k) for k in ("kind", "model", "scale", "dataset")] + [r.get("variant") or None],
                      sort_keys=True, default=str)


def _identify(rs: ResultSet) -> None:
    """Attach ``_identity`` (hash or None) / ``_legacy`` to zoo records, then drop superseded ones."""
    for kind in RECORD_KINDS:
        recs = rs.of(kind)
        for r in recs:
            ident, how = record_identity(r)
            r["_identity"] = identity_hash(ident) if ident is not None else None
            r["_identity_source"] = how
            if how == "legacy":
                r["_legacy"] = True
                rs.legacy.append((r["_file"], "written before records carried an identity (settings, weights or "
                                  "dataset content unknown); the next `esr-bench bench` recomputes it"))
        drop: dict[int, str] = {}
        newest: dict[str, dict[str, Any]] = {}
        for r in sorted(recs, key=lambda r: (_created(r), r["_file"]), reverse=True):
            h = r["_identity"]
            if h is None:
                continue
            if h in newest:
                drop[id(r)] = f"same identity as the newer {newest[h]['_file']}"
            else:
                newest[h] = r
        tasks: dict[str, list[dict[str, Any]]] = {}
        for r in recs:
            if id(r) not in drop:
                tasks.setdefault(_task_key(r), []).append(r)
        for group in tasks.values():
            if len(group) < 2:
                continue
            for r in group:
                others = [o for o in group if o is not r]
                if r.get("_legacy"):
                    by = next((o for o in others if not o.get("_legacy")), None)
                    if by is not None:
                        drop[id(r)] = f"legacy record superseded by {by['_file']}"
                        continue
                if r.get("status", "ok") != "ok":
                    by = next((o for o in others if o.get("status", "ok") == "ok" and _created(o) >= _created(r)
                               and not (o.get("_legacy") and not r.get("_legacy"))), None)
                    if by is not None:
                        drop[id(r)] = f"{r.get('status')} record superseded by the measured {by['_file']}"
        if drop:
            rs.superseded += [(r["_file"], drop[id(r)]) for r in recs if id(r) in drop]
            rs.records[kind] = [r for r in recs if id(r) not in drop]
