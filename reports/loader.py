"""Load a results directory (one JSON record per measurement) into a :class:`ResultSet`.

Layout (written by bench.run): ``<out>/<kind>/<model>_x<scale>[_<dataset>][_<variant>].json`` with ``kind``
one of complexity / runtime / quality, and ``<out>/challenge/<team>.json``. The loader trusts the
``kind``/``model``/``scale``/``dataset``/``variant`` fields inside each record, not the file name, and
falls back to the folder name when a record has no ``kind``. A file that is not valid JSON is listed in
:attr:`ResultSet.errors` (shown in the report) instead of aborting the report. An official NTIRE
``results.json`` (team -> {valid_ave_psnr, ...}) dropped into ``challenge/`` is expanded to one
record per team.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("complexity", "runtime", "quality", "challenge", "visual")


@dataclass
class ResultSet:
    """Every record of a results directory, grouped by kind."""

    root: Path | None = None
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return self.records.get(kind, [])

    def add(self, record: dict[str, Any], kind: str | None = None) -> None:
        kind = record.get("kind") or kind or "unknown"
        record.setdefault("kind", kind)
        self.records.setdefault(kind, []).append(record)

    def find(self, kind: str, model: str, scale: int, dataset: str | None = None,
             variant: str | None = None) -> dict[str, Any] | None:
        """The record of ``kind`` for ``model``/``scale`` (and ``dataset``/``variant``), or ``None``."""
        for r in self.of(kind):
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
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            rs.errors.append((str(rel), f"unreadable record: {exc}"))
            continue
        if _is_official_results(obj):
            for team, row in obj.items():
                rs.add({"kind": "challenge", "team": team, "source": str(rel), **row})
            continue
        if not isinstance(obj, dict):
            rs.errors.append((str(rel), "not a JSON object"))
            continue
        obj.setdefault("_file", str(rel))
        if folder == "challenge" and "team" not in obj:
            obj["team"] = path.stem
        rs.add(obj, kind=folder if folder in KINDS else None)
    return rs
