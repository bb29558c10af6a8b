"""Submission manifests (``submission.toml`` / ``submission.yaml``): what the official ``test_demo.py``
hard-codes in one ``elif model_id == N`` branch per team, as data.

A manifest lists one or more teams (``[[team]]`` tables; a single team may be written at top level)::

    year = 2024                      # optional default for `challenge validate/run`
    [[team]]
    id = "07"                        # two digits in the official layout
    name = "TinySR"
    class = "TinySR"                 # nn.Module class in the model file
    model = "models/team07_TinySR.py"            # default: models/team<id>_<name>.py
    checkpoint = "model_zoo/team07_TinySR.pth"   # default: model_zoo/team<id>_<name>.(pth|pt|ckpt)
    kwargs = { channels = 16 }       # constructor keyword arguments
    key = "params"                   # state-dict nesting key ("params", "params_ema", ...); "" = auto
    strip_prefix = "module."         # key prefix to strip
    strict = true                    # strict loading (false is reported with the exact keys)
    data_range = 1.0                 # model input range: 1.0 or 255.0
    tile = 0                         # optional tile size the team asked for (0 = whole image)

Paths are relative to the manifest's folder (the submission / challenge-repository root).
"""

from __future__ import annotations

import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import UserError

__all__ = ["ManifestError", "TeamEntry", "Manifest", "load_manifest", "find_manifest", "MANIFEST_NAMES"]

MANIFEST_NAMES = ("submission.toml", "submission.yaml", "submission.yml")
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt")
_TEAM_KEYS = {"id", "name", "class", "model", "checkpoint", "kwargs", "key", "strip_prefix", "strict",
              "data_range", "tile", "scale"}
_TOP_KEYS = {"year", "team", "teams"}


class ManifestError(UserError, ValueError):
    """A manifest that cannot be used; the message says which entry and what to change."""


@dataclass
class TeamEntry:
    """One team of a manifest, paths resolved against the submission root."""

    team_id: str
    name: str
    class_name: str
    model_file: Path
    checkpoint: Path | None
    root: Path
    kwargs: dict[str, Any] = field(default_factory=dict)
    key: str | None = None
    strip_prefix: str = ""
    strict: bool = True
    data_range: float = 1.0
    tile: int | None = None
    scale: int = 4

    @property
    def label(self) -> str:
        """Official-style row name ``<id>_<name>`` (also the result file stem)."""
        return f"{self.team_id}_{self.name}"

    @property
    def safe_label(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", self.label)

    def to_job(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("model_file", "checkpoint", "root"):
            d[k] = str(d[k]) if d[k] is not None else None
        return d

    @classmethod
    def from_job(cls, d: dict[str, Any]) -> TeamEntry:
        d = dict(d)
        for k in ("model_file", "checkpoint", "root"):
            d[k] = Path(d[k]) if d[k] is not None else None
        return cls(**d)


@dataclass
class Manifest:
    path: Path
    teams: list[TeamEntry]
    year: int | None = None

    def select(self, names: list[str] | None) -> list[TeamEntry]:
        """Teams whose id, name or label is in ``names`` (all when ``names`` is empty)."""
        if not names:
            return list(self.teams)
        wanted = set(names)
        chosen = [t for t in self.teams if {t.team_id, t.name, t.label} & wanted]
        known = {x for t in self.teams for x in (t.team_id, t.name, t.label)}
        unknown = sorted(wanted - known)
        if unknown:
            raise ManifestError(f"{self.path}: no team {unknown}; teams: {[t.label for t in self.teams]}")
        return chosen


def find_manifest(submission: str | Path) -> Path:
    """The manifest file of ``submission`` (a manifest path or a folder holding one)."""
    p = Path(submission).expanduser()
    if p.is_file():
        return p
    if p.is_dir():
        for n in MANIFEST_NAMES:
            if (p / n).is_file():
                return p / n
        raise ManifestError(
            f"{p}: no {' / '.join(MANIFEST_NAMES)} found; write one describing the team "
            "(id, name, class, checkpoint, data_range; see `esr-bench challenge validate --help`)"
        )
    raise ManifestError(f"{p}: no such submission folder or manifest file")


def _number(where: str, key: str, value: Any, kind: type = int) -> Any:
    """``value`` as an ``int`` (or ``float``); a bool, text or table is a :class:`ManifestError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
        raise ManifestError(f"{where}: {key} must be a{'n integer' if kind is int else ' number'}, got {value!r}")
    return kind(value)


def _parse(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 text (byte {exc.start}); save the manifest as UTF-8") from None
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read the manifest ({exc.strerror or exc})") from None
    try:
        if path.suffix == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover
                import tomli as tomllib
            return tomllib.loads(text)
        import yaml

        data = yaml.safe_load(text)
    except Exception as exc:  # tomllib.TOMLDecodeError / yaml.YAMLError
        raise ManifestError(f"{path}: cannot parse manifest: {exc}") from exc
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: the manifest must be a mapping of keys (found {type(data).__name__})")
    return data


def _default_checkpoint(root: Path, stem: str) -> Path | None:
    for suf in CHECKPOINT_SUFFIXES:
        cand = root / "model_zoo" / f"{stem}{suf}"
        if cand.is_file():
            return cand
    return None


def _team(path: Path, root: Path, raw: Any, idx: int) -> TeamEntry:
    where = f"{path}: team #{idx + 1}"
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: expected a table of keys, found {type(raw).__name__}")
    unknown = sorted(map(str, set(raw) - _TEAM_KEYS))
    if unknown:
        raise ManifestError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(_TEAM_KEYS)}")
    for req in ("id", "name", "class"):
        if req not in raw or raw[req] in (None, ""):
            raise ManifestError(f"{where}: missing required key {req!r}")
    team_id = raw["id"]
    team_id = f"{team_id:02d}" if isinstance(team_id, int) else str(team_id)
    name = str(raw["name"])
    where = f"{path}: team {team_id}_{name}"
    stem = f"team{team_id}_{name}"
    for k in ("model", "checkpoint"):
        if raw.get(k) is not None and not isinstance(raw[k], str):
            raise ManifestError(f"{where}: {k} must be a path (text), got {raw[k]!r}")
    model = root / raw["model"] if raw.get("model") else root / "models" / f"{stem}.py"
    ckpt_raw = raw.get("checkpoint")
    ckpt = (root / ckpt_raw) if ckpt_raw else _default_checkpoint(root, stem)
    dr = raw.get("data_range", 1.0)
    try:
        dr = float(dr)
    except (TypeError, ValueError):
        raise ManifestError(f"{where}: data_range must be 1.0 or 255.0, got {dr!r}") from None
    if dr not in (1.0, 255.0):
        raise ManifestError(f"{where}: data_range must be 1.0 or 255.0 (the model's input range), got {dr}")
    kwargs = raw.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise ManifestError(f"{where}: kwargs must be a table of constructor arguments")
    tile = raw.get("tile")
    if tile is not None:
        tile = _number(where, "tile", tile)
        if tile < 0:
            raise ManifestError(f"{where}: tile must be 0 (whole image) or a positive LR size, got {tile}")
    scale = _number(where, "scale", raw.get("scale", 4))
    if scale != 4:
        raise ManifestError(f"{where}: NTIRE ESR is x4 only (scale = {scale})")
    strict = raw.get("strict", True)
    if not isinstance(strict, bool):
        raise ManifestError(f"{where}: strict must be true or false")
    return TeamEntry(
        team_id=team_id,
        name=name,
        class_name=str(raw["class"]),
        model_file=model,
        checkpoint=ckpt,
        root=root,
        kwargs=dict(kwargs),
        key=str(raw["key"]) if raw.get("key") else None,
        strip_prefix=str(raw.get("strip_prefix") or ""),
        strict=strict,
        data_range=dr,
        tile=int(tile) if tile else None,
        scale=scale,
    )


def load_manifest(submission: str | Path) -> Manifest:
    """Parse the manifest of ``submission`` into team entries (paths resolved, values checked)."""
    path = find_manifest(submission).resolve()
    data = _parse(path)
    root = path.parent
    if "team" in data or "teams" in data:
        unknown = sorted(map(str, set(data) - _TOP_KEYS))
        if unknown:
            raise ManifestError(f"{path}: unknown top-level key(s) {unknown}; team keys go under [[team]]")
        raw_teams = data.get("team", data.get("teams"))
        if isinstance(raw_teams, dict):
            raw_teams = [raw_teams]
        if raw_teams is not None and not isinstance(raw_teams, list):
            raise ManifestError(f"{path}: 'team' must be a list of tables ([[team]]), got {raw_teams!r}")
    else:
        raw_teams = [{k: v for k, v in data.items() if k != "year"}]
    if not raw_teams:
        raise ManifestError(f"{path}: no team described")
    teams = [_team(path, root, t, i) for i, t in enumerate(raw_teams)]
    labels = [t.label for t in teams]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ManifestError(f"{path}: duplicate team(s) {dup}")
    year = data.get("year")
    year = _number(f"{path}", "year", year) if year is not None else None
    return Manifest(path=path, teams=teams, year=year or None)
