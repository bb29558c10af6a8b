"""Rankings of the NTIRE ESR main track and sub-tracks, and the official-style ``results.txt``.

Only teams with status ``ok`` that pass every PSNR threshold on the *raw* value are ranked; the
baseline row (team id ``00``) is scored but not ranked. Teams are compared only when they were timed
on the same splits: the splits of the official Ave Time are the union of those of the ``ok``
non-baseline teams (valid + test whenever any team has both), and a team timed on fewer (a data
folder without the test split) is listed unranked with the reason (``TeamScore.unranked``), never
ranked on its one-split mean. Ranks are competition ranks (ties share
the smaller rank). Rank-sum tracks (2022/2023) first rank each metric among the eligible teams,
then rank the sums.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .rules import YearRules
from .score import TeamMetrics, TeamScore, _num, metrics_from_official, score_team

__all__ = ["Ranking", "load_results", "rank_teams", "format_results_txt", "format_ranking", "ranking_to_json",
           "competition_ranks", "metrics_from_record", "BASELINE_RE"]

#: Team names of the baseline row in the official results (``00_SPAN``, ``000_RLFN``): scored, never ranked.
BASELINE_RE = re.compile(r"^0+_")
_OFFICIAL_KEYS = {"valid_ave_psnr", "num_parameters", "flops"}


def competition_ranks(values: Sequence[float]) -> list[int]:
    """1-based ranks, ascending values, ties share the smallest rank ("min" method)."""
    return [1 + sum(1 for w in values if w < v) for v in values]


@dataclass
class Ranking:
    """Scored teams (input order) and per-track ``[(rank, team, value)]`` lists."""

    rules: YearRules
    teams: list[TeamScore]
    tracks: dict[str, list[tuple[int, str, float]]] = field(default_factory=dict)

    def rank_of(self, track: str, team: str) -> int | None:
        return next((r for r, n, _ in self.tracks[track] if n == team), None)


def _team_value(ts: TeamScore, metric: str) -> float | None:
    if metric == "score":
        return ts.score
    if metric in ("runtime", "flops", "params") and ts.terms:
        return ts.terms[f"exp_{metric}"]
    return ts.metrics.metric(metric)


def rank_teams(rules: YearRules, metrics: Iterable[TeamMetrics]) -> Ranking:
    """Score every team and rank the eligible ones on each of the year's tracks."""
    teams = [score_team(rules, m, is_baseline=bool(BASELINE_RE.match(m.name))) for m in metrics]
    timed = [t for t in teams if t.metrics.status == "ok" and not t.is_baseline]
    union = {s for t in timed for s in t.metrics.ave_time_splits}
    splits = tuple(s for s in ("valid", "test") if s in union)
    for t in timed:
        if t.metrics.ave_time_splits != splits:
            have = " + ".join(t.metrics.ave_time_splits) or "no split"
            t.unranked = (f"timed on {have} only, other teams on {' + '.join(splits)}: its Ave Time is not "
                          "comparable (split-missing)")
    eligible = [t for t in teams if t.passes_threshold and not t.is_baseline and not t.unranked]
    tracks: dict[str, list[tuple[int, str, float]]] = {}
    for track, parts in rules.ranking.items():
        pool = [t for t in eligible if all(_team_value(t, p) is not None for p in parts)]
        if len(parts) == 1:
            values = [float(_team_value(t, parts[0])) for t in pool]  # type: ignore[arg-type]
        else:
            values = [0.0] * len(pool)
            for p in parts:
                for i, r in enumerate(competition_ranks([float(_team_value(t, p)) for t in pool])):  # type: ignore[arg-type]
                    values[i] += r
        ranks = competition_ranks(values)
        tracks[track] = sorted(((r, t.name, v) for r, t, v in zip(ranks, pool, values)), key=lambda x: (x[0], x[1]))
    return Ranking(rules=rules, teams=teams, tracks=tracks)


def metrics_from_record(rec: dict[str, Any], name: str | None = None) -> TeamMetrics:
    """One team's :class:`TeamMetrics` from a ``kind = "challenge"`` record (JSON dict).

    Two shapes are read, each under its own field names, nothing else: an esr-bench challenge record
    (:func:`challenge.runner.build_record`: figures under ``"official"`` in the official ``results.json``
    names, ``status`` and ``message`` beside them), or one team of an official ``results.json`` expanded
    by the report loader (the official fields at the top level, a published result: status ``ok``). A
    runner record without ``status`` gets status ``unknown`` (never ranked); ``below-threshold`` is
    re-checked under the ranking's year; ``ok`` without PSNR is ``incomplete``; a record of neither shape
    is ``unreadable``. ``name`` defaults to the record's ``team`` (or ``model``).
    """
    name = str(name or rec.get("team") or rec.get("model") or "?")
    official = rec.get("official")
    if not isinstance(official, dict):
        if _OFFICIAL_KEYS <= set(rec):  # an official results.json row: published figures
            m = metrics_from_official(name, rec)
            m.status, m.message = "ok", ""
            return m
        return TeamMetrics(name=name.strip(), label=name, status="unreadable",
                           message=f"neither figures under 'official' nor the official fields {sorted(_OFFICIAL_KEYS)}")
    m = metrics_from_official(name, official)
    if "status" not in rec:
        m.status, m.message = "unknown", "the record has no status"
        return m
    m.status = str(rec["status"])
    m.message = str(rec.get("message") or "")
    if m.status == "below-threshold":  # the ranking re-checks thresholds under its own year's rules
        m.status, m.message = "ok", ""
    if m.status == "ok" and m.valid_psnr is None:
        m.status, m.message = "incomplete", "no PSNR in record (validated without --data?)"
    return m


def load_results(path: str | Path) -> list[TeamMetrics]:
    """Teams from an official ``results.json`` or a directory of esr-bench challenge records.

    A directory may be the run's output root (records under ``challenge/``) or the records folder.
    """
    path = Path(path)
    if path.is_dir():
        folder = path / "challenge" if (path / "challenge").is_dir() else path
        files = sorted(folder.glob("*.json"))
        if not files:
            raise FileNotFoundError(f"no *.json challenge records in {folder}")
        out = []
        for f in files:
            try:
                rec = json.loads(f.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ValueError(f"{f}: corrupt JSON record ({exc}); delete it and re-run that team") from exc
            if isinstance(rec, dict) and rec.get("kind") == "challenge":
                out.append(metrics_from_record(rec, rec.get("team") or rec.get("model") or f.stem))
            elif isinstance(rec, dict) and rec and all(
                isinstance(v, dict) and _OFFICIAL_KEYS <= set(v) for v in rec.values()
            ):
                out.extend(metrics_from_official(k, v) for k, v in rec.items())
        return out
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such results file or directory")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    if isinstance(data, dict) and data.get("kind") == "challenge":
        return [metrics_from_record(data, data.get("team") or data.get("model") or path.stem)]
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"{path}: expected the official results.json format {{team: {{valid_ave_psnr: ...}}}}")
    bad = [k for k, v in data.items() if not _OFFICIAL_KEYS <= set(v)]
    if bad:
        raise ValueError(f"{path}: entries {bad[:5]} lack {sorted(_OFFICIAL_KEYS)} (not an official results.json)")
    return [metrics_from_official(k, v) for k, v in data.items()]


def _f(v: float | None, spec: str, width: int) -> str:
    """``v`` formatted, or ``-`` padded to ``width`` on the side the numbers of the column align to."""
    return format(v, spec) if v is not None else format("-", f"{'<' if spec.startswith('<') else '>'}{width}")


def format_results_txt(metrics: Iterable[TeamMetrics]) -> str:
    """The table the official ``test_demo.py`` writes (same columns, widths and rounding), teams in input order.

    The one ``results.txt`` formatter (the CLI and :mod:`reports.challenge` call it): tab-separated
    fixed-width cells, PSNR dB and times ms to 2 decimals, params M to 3, FLOPs G / Acts M / Mem MiB to 2,
    Conv right-aligned in 4; the row name is the team exactly as the source wrote it (``label``). A
    missing figure is ``-`` in its cell (the official file has none); Ave Time is
    :attr:`TeamMetrics.ave_runtime_ms`.
    """
    head = ["Model", "Val PSNR", "Test PSNR", "Val Time [ms]", "Test Time [ms]", "Ave Time [ms]",
            "Params [M]", "FLOPs [G]", "Acts [M]", "Mem [M]", "Conv"]
    widths = [20, 10, 10, 14, 14, 14, 10, 10, 8, 8, 8]
    lines = ["\t".join(format(h, f"{w}s") for h, w in zip(head, widths))]
    for m in metrics:
        cells = [
            format(m.label or m.name, "20s"),
            _f(m.valid_psnr, "<10.2f", 10),
            _f(m.test_psnr, "<10.2f", 10),
            _f(m.valid_runtime_ms, "<14.2f", 14),
            _f(m.test_runtime_ms, "<14.2f", 14),
            _f(m.ave_runtime_ms, "<14.2f", 14),
            _f(m.params_m, "<10.3f", 10),
            _f(m.flops_g, "<10.2f", 10),
            _f(m.acts_m, "<8.2f", 8),
            _f(m.mem_mib, "<8.2f", 8),
            format(m.convs if m.convs is not None else "-", ">4") + "    ",
        ]
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def _status(ts: TeamScore) -> str:
    if ts.metrics.status != "ok":
        return f"{ts.metrics.status}: {ts.metrics.message}" if ts.metrics.message else ts.metrics.status
    if ts.is_baseline:
        return "baseline (not ranked)"
    if ts.unranked:
        return f"not ranked: {ts.unranked}"
    if not ts.passes_threshold:
        fails = ", ".join(f"{c.split} {c.value:.4f} < {c.threshold:.2f}" if c.value is not None
                          else f"{c.split} PSNR missing" for c in ts.checks if not c.passes)
        return "below threshold (" + fails + (", passes only when rounded to 2 decimals" if ts.passes_only_rounded
                                               else "") + ")"
    return "ok"


def format_ranking(r: Ranking) -> str:
    """Human-readable ranking: every team with score/flags, then each track's order."""
    rules = r.rules
    thr = ", ".join(f"{k} >= {v:.2f} dB" for k, v in rules.psnr_threshold.items()) or "none on record"
    out = [f"NTIRE {rules.year} ESR ({rules.repo}); baseline {rules.baseline.model}; threshold (raw PSNR): {thr}"]
    for note in rules.notes:
        out.append(f"note: {note}")
    out.append("")
    out.append(f"{'team':<28} {'val PSNR':>9} {'test PSNR':>9} {'ave ms':>9} {'params M':>9} {'FLOPs G':>9}"
               f" {'score':>10}  status")
    for ts in r.teams:
        m = ts.metrics
        out.append(
            f"{m.name:<28} {_f(m.valid_psnr, '9.4f', 9)} {_f(m.test_psnr, '9.4f', 9)} {_f(m.ave_runtime_ms, '9.3f', 9)}"
            f" {_f(m.params_m, '9.4f', 9)} {_f(m.flops_g, '9.4f', 9)} {_f(ts.score, '10.4f', 10)}  {_status(ts)}"
        )
    if r.tracks and not any(r.tracks.values()):
        broken = sum(ts.metrics.status not in ("ok", "incomplete") for ts in r.teams)
        incomplete = sum(ts.metrics.status == "incomplete" for ts in r.teams)
        below = sum(ts.metrics.status == "ok" and not ts.is_baseline and not ts.passes_threshold for ts in r.teams)
        unranked = sum(bool(ts.unranked) and ts.passes_threshold for ts in r.teams)
        out.append("")
        out.append(f"no team is eligible for ranking: {len(r.teams)} team(s), {broken} broken, {below} below "
                   f"threshold, {incomplete} without PSNR (run with --data), "
                   f"{sum(ts.is_baseline for ts in r.teams)} baseline, {unranked} timed on other splits")
    for track, rows in r.tracks.items():
        out.append("")
        out.append(f"[{track}]")
        for rank, name, value in rows:
            out.append(f"{rank:>3}  {name:<28} {value:.4f}")
    return "\n".join(out) + "\n"


def ranking_to_json(r: Ranking) -> dict[str, Any]:
    """JSON-ready ranking: per team the raw metrics, terms, threshold checks and flags; per track ranks.

    Strict JSON: a score term that overflowed (``math.inf``, :func:`challenge.rules.score_terms`) is
    written as null, and the team gets ``"overflow": [term names]``; its track value is null too.
    """
    teams = []
    for ts in r.teams:
        m = ts.metrics
        overflow = sorted(k for k, v in ts.terms.items() if not math.isfinite(v))
        teams.append({
            "team": m.name,
            "status": m.status,
            "message": m.message,
            "is_baseline": ts.is_baseline,
            "valid_psnr": m.valid_psnr,
            "test_psnr": m.test_psnr,
            "valid_runtime_ms": m.valid_runtime_ms,
            "test_runtime_ms": m.test_runtime_ms,
            "ave_runtime_ms": m.ave_runtime_ms,
            "ave_time_splits": list(m.ave_time_splits),
            "ave_time_official": m.ave_time_official,
            "unranked": ts.unranked,
            "params_m": m.params_m,
            "flops_g": m.flops_g,
            "acts_m": m.acts_m,
            "mem_mib": m.mem_mib,
            "convs": m.convs,
            **{k: _num(v) for k, v in ts.terms.items()},
            **({"overflow": overflow} if overflow else {}),
            "passes_threshold": ts.passes_threshold,
            "passes_only_rounded": ts.passes_only_rounded,
            "threshold_checks": [
                {"split": c.split, "value": c.value, "threshold": c.threshold, "passes": c.passes,
                 "passes_display": c.passes_display}
                for c in ts.checks
            ],
        })
    return {
        "kind": "challenge_ranking",
        "year": r.rules.year,
        "protocol": {
            "score": "weighted exponentials of raw Ave Time/FLOPs/params vs baseline" if r.rules.has_score
            else "rank sums",
            "threshold": "raw PSNR (not the 2-decimal display)",
            "ave_time": "(valid mean + test mean) / 2; a team timed on one split: that split's mean "
                        "(ave_time_splits), listed unranked beside teams timed on both",
            "baseline": r.rules.baseline.model,
        },
        "teams": teams,
        "tracks": {k: [{"rank": a, "team": b, "value": _num(c)} for a, b, c in v]
                   for k, v in r.tracks.items()},
    }
