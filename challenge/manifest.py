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
    tile_overlap = 32                # LR overlap of tiles (official test_demo.py default: 32)
    args = [3, 3]                    # positional constructor arguments
    forward = "whole"                # "whole" or "pad-crop" (pad LR to a multiple, run, crop)
    pad_multiple = 16                # pad-crop only: LR padded (right/bottom, `pad_mode`) to a multiple
    pad_mode = "reflect"             # pad-crop only: torch.nn.functional.pad mode
    post_load = [                    # steps after loading, in order, as the official branch does
        { call = "repa" },                # model.repa()
        { call_each = "switch_deploy" },  # m.switch_deploy() for every m in model.modules() that has it
        { load = "load_weights" },        # model.load_weights(<checkpoint path>) instead of load_state_dict
    ]

Python ``None`` in ``args`` / ``kwargs`` is written ``{ null = true }`` in TOML (TOML has no null;
YAML's ``null`` works as is). Tiling follows the official ``forward(img, model, tile,
tile_overlap=32)``: ``tile = min(tile, h, w)``, overlapping tiles averaged (:mod:`bench.tiling`).
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
              "data_range", "tile", "scale", "args", "tile_overlap", "forward", "pad_multiple", "pad_mode",
              "post_load"}
FORWARDS = ("whole", "pad-crop")
POST_LOAD_KINDS = ("call", "call_each", "load")
PAD_MODES = ("reflect", "replicate", "constant", "circular")
_TOP_KEYS = {"year", "team", "teams"}


class ManifestError(UserError, ValueError):
    """A manifest that cannot be used; the message says which entry and what to change."""


#: Defaults of the forward options (official ``test_demo.py``: ``tile_overlap=32``; the pad-crop
#: forward of window-attention teams pads to a multiple of 16 with reflection). The one place they are
#: stored: :class:`TeamEntry`, the manifest reader and :func:`challenge.worker.team_forward` read them here.
FORWARD_DEFAULTS: dict[str, Any] = {"tile_overlap": 32, "pad_multiple": 16, "pad_mode": "reflect"}


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
    args: list[Any] = field(default_factory=list)
    tile_overlap: int = FORWARD_DEFAULTS["tile_overlap"]
    forward: str = "whole"
    pad_multiple: int = FORWARD_DEFAULTS["pad_multiple"]
    pad_mode: str = FORWARD_DEFAULTS["pad_mode"]
    post_load: list[dict[str, str]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)  # the manifest table as written (record identity)

    @property
    def loader(self) -> str | None:
        """Name of the model method that loads the checkpoint path (``post_load`` ``load`` step), if any."""
        return next((s["load"] for s in self.post_load if "load" in s), None)

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


def _nulls(v: Any) -> Any:
    """``{ null = true }`` (TOML has no null) -> ``None``, recursively in lists and tables."""
    if isinstance(v, dict):
        if set(v) == {"null"} and v["null"] is True:
            return None
        return {k: _nulls(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_nulls(x) for x in v]
    return v


def _post_load(where: str, raw: Any) -> list[dict[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ManifestError(f"{where}: post_load must be a list of steps like {{ call = \"repa\" }}")
    steps = []
    for i, step in enumerate(raw):
        ok = isinstance(step, dict) and len(step) == 1 and next(iter(step)) in POST_LOAD_KINDS
        name = next(iter(step.values())) if ok else None
        if not ok or not isinstance(name, str) or not name.isidentifier():
            raise ManifestError(f"{where}: post_load step #{i + 1} {step!r} must be one of "
                                "{ call = \"method\" }, { call_each = \"method\" }, { load = \"method\" }")
        steps.append({str(k): str(v) for k, v in step.items()})
    if sum("load" in s for s in steps) > 1:
        raise ManifestError(f"{where}: post_load has more than one `load` step")
    return steps


def _int_option(where: str, raw: dict[str, Any], key: str, default: int | None, minimum: int) -> int | None:
    v = raw.get(key, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ManifestError(f"{where}: {key} must be an integer >= {minimum}, got {v!r}")
    return v


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
    tile = _int_option(where, raw, "tile", None, 0)
    tile_overlap = _int_option(where, raw, "tile_overlap", FORWARD_DEFAULTS["tile_overlap"], 0)
    if tile and tile <= tile_overlap:
        raise ManifestError(f"{where}: tile {tile} must be larger than tile_overlap {tile_overlap} "
                            "(the official tiling loop is undefined otherwise)")
    args = raw.get("args") or []
    if not isinstance(args, list):
        raise ManifestError(f"{where}: args must be a list of positional constructor arguments")
    fwd = raw.get("forward", "whole")
    if fwd not in FORWARDS:
        raise ManifestError(f"{where}: forward must be one of {list(FORWARDS)}, got {fwd!r}")
    pad_mode = raw.get("pad_mode", FORWARD_DEFAULTS["pad_mode"])
    if pad_mode not in PAD_MODES:
        raise ManifestError(f"{where}: pad_mode must be one of {list(PAD_MODES)}, got {pad_mode!r}")
    pad_multiple = _int_option(where, raw, "pad_multiple", FORWARD_DEFAULTS["pad_multiple"], 1)
    if fwd == "pad-crop" and tile:
        raise ManifestError(f"{where}: forward = \"pad-crop\" and tile cannot be combined (the official "
                            "pad-and-crop forward runs the whole image)")
    post_load = _post_load(where, raw.get("post_load"))
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
        kwargs=_nulls(dict(kwargs)),
        key=str(raw["key"]) if raw.get("key") else None,
        strip_prefix=str(raw.get("strip_prefix") or ""),
        strict=strict,
        data_range=dr,
        tile=int(tile) if tile else None,
        scale=scale,
        args=_nulls(list(args)),
        tile_overlap=int(tile_overlap),
        forward=str(fwd),
        pad_multiple=int(pad_multiple),
        pad_mode=str(pad_mode),
        post_load=post_load,
        raw=dict(raw),
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
