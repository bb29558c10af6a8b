"""Challenge tables: the paper's table 6 style and the official NTIRE ``results.txt`` style.

Input: the challenge records of a results directory (``<out>/challenge/<team>.json``) or an official
``results.json`` dropped there (expanded to one record per team by :mod:`reports.loader`). Every rule
lives in :mod:`challenge`: records are read by :func:`challenge.rank.metrics_from_record` (each shape
under its own field names, no aliases across conventions), the score, the PSNR thresholds (raw,
unrounded PSNR), Ave Time and every track's rank come from :mod:`challenge.rules` /
:mod:`challenge.rank`, and ``results.txt`` is :func:`challenge.rank.format_results_txt`. Without a
challenge year (the argument, or the one year the records carry) rows are shown but neither scored nor
ranked, and nothing is marked as passing.
"""

from __future__ import annotations

from typing import Any

from bench.errors import UserError
from challenge.rank import format_results_txt, metrics_from_record, rank_teams
from challenge.rules import get_rules, score_terms

from .tables import Column, Table


def score(year: int, runtime_ms: float, flops_g: float, params_m: float) -> float:
    """The NTIRE ``year`` score (2024-2026) of raw runtime (ms), FLOPs (G), params (M); lower is better.

    The rule itself is :func:`challenge.rules.score_terms`; raises ``ValueError`` for a rank-sum or
    unknown year.
    """
    return score_terms(get_rules(year), runtime_ms, flops_g, params_m)["score"]


def _year(records: list[dict[str, Any]], year: int | None) -> int | None:
    """The challenge year: ``year`` if given, else the one year the records carry (``None`` if none).

    Raises :class:`bench.errors.UserError` when the records carry several years or the year has no rules.
    """
    if year is None:
        years = sorted({int(r["year"]) for r in records if r.get("year") is not None})
        if len(years) > 1:
            raise UserError(f"challenge records of several years {years}: pass --year to choose the rules")
        year = years[0] if years else None
    if year is not None:
        try:
            get_rules(year)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    return year


def challenge_rows(records: list[dict[str, Any]], year: int | None = None) -> list[dict[str, Any]]:
    """Normalised rows (team, PSNRs, times, complexity, score, threshold flags, ranks), ranked first.

    Figures as :class:`challenge.score.TeamMetrics` (dB, ms, M, G, M, MiB); ``ave_time`` is its Ave Time
    and ``ave_time_splits`` the splits it covers. With a year: ``score`` (``None`` in rank-sum years),
    ``passes`` / ``rounding_flag`` (raw-PSNR thresholds), ``tracks`` ({track: rank}), ``rank_main`` and
    ``unranked`` (why a passing team is not ranked) from :func:`challenge.rank.rank_teams`. Without one:
    ``score``, ``passes`` and every rank are ``None`` and ``unranked`` says why. Raises
    :class:`bench.errors.UserError` for records of several years or a year without rules.
    """
    y = _year(records, year)
    metrics = [metrics_from_record(rec, rec.get("team") or rec.get("_file")) for rec in records]
    rows: list[dict[str, Any]] = []
    for order, m in enumerate(metrics):
        rows.append({
            "team": m.name, "order": order, "year": y, "val_psnr": m.valid_psnr, "test_psnr": m.test_psnr,
            "val_time": m.valid_runtime_ms, "test_time": m.test_runtime_ms, "ave_time": m.ave_runtime_ms,
            "ave_time_splits": m.ave_time_splits, "params_m": m.params_m, "flops_g": m.flops_g, "acts_m": m.acts_m,
            "mem_mib": m.mem_mib, "conv": m.convs, "status": m.status, "message": m.message, "score": None,
            "passes": None, "rounding_flag": False, "baseline": False, "tracks": {}, "rank_main": None,
            "unranked": "no challenge year (--year): not scored or ranked" if y is None else "",
        })
    if y is not None:
        rules = get_rules(y)
        ranking = rank_teams(rules, metrics)
        for r, ts in zip(rows, ranking.teams):
            r["score"] = ts.score
            r["passes"], r["rounding_flag"], r["baseline"] = ts.passes_threshold, ts.passes_only_rounded, ts.is_baseline
            r["unranked"] = ts.unranked
            r["tracks"] = {track: ranking.rank_of(track, r["team"]) for track in ranking.tracks}
            r["rank_main"] = r["tracks"].get(rules.main_track)
    rows.sort(key=lambda r: (r["rank_main"] is None, r["rank_main"] or 0, r["team"]))
    return rows


def challenge_tables(records: list[dict[str, Any]], year: int | None = None) -> list[Table]:
    """Two tables: paper table 6 style (with score and ranks) and the official results.txt columns."""
    if not records:
        return []
    rows = challenge_rows(records, year)
    for r in rows:
        r["_classes"] = {"val_psnr": None if r["passes"] else "differ", "test_psnr": None if r["passes"] else "differ"}
        r["_no_best"] = not r["passes"] or r["baseline"] or bool(r["unranked"])
        if r["status"] != "ok":
            note = f"{r['status']}: {r['message']}"
        elif r["passes"] is None or r["unranked"]:
            note = r["unranked"]
        elif r["baseline"] and r["passes"]:
            note = "baseline (not ranked)"
        elif r["rounding_flag"]:
            note = "fails PSNR threshold on the raw value (displays as passing after rounding)"
        else:
            note = "" if r["passes"] else "below PSNR threshold"
        if r["ave_time"] is not None and r["ave_time_splits"] != ("valid", "test"):
            note = "; ".join(filter(None, [note, f"Ave Time over {' + '.join(r['ave_time_splits'])} only"]))
        r["note"] = note
    tracks = next((list(r["tracks"]) for r in rows if r["tracks"]), [])
    rank_cols = [Column(f"track:{name}", f"Rank: {name}") for name in tracks[1:]]
    for r in rows:
        r.update({f"track:{name}": rank for name, rank in r["tracks"].items()})
    t6 = Table("challenge", "Challenge results (table 6 style)", [
        Column("rank_main", "Rank"), Column("team", "Team"), Column("val_psnr", "Val PSNR", "{:.2f}"),
        Column("test_psnr", "Test PSNR", "{:.2f}"), Column("ave_time", "Runtime [ms]", "{:.3f}", "min"),
        Column("params_m", "Params [M]", "{:.3f}", "min"), Column("flops_g", "FLOPs [G]", "{:.2f}", "min"),
        Column("score", "Score", "{:.4f}", "min"), *rank_cols, Column("note", "Note")],
        rows=rows, caption=(
            "Runtime = mean of the valid and test per-image mean runtimes; FLOPs by fvcore at 256x256 LR; "
            "score by the year's formula on raw values (lower is better); ranks among rows passing the "
            "PSNR thresholds (checked on raw PSNR)."))
    t6.mark_best()
    official = Table("challenge_official", "Challenge results (official results.txt columns)", [
        Column("team", "Model"), Column("val_psnr", "Val PSNR", "{:.2f}"), Column("test_psnr", "Test PSNR", "{:.2f}"),
        Column("val_time", "Val Time [ms]", "{:.2f}"), Column("test_time", "Test Time [ms]", "{:.2f}"),
        Column("ave_time", "Ave Time [ms]", "{:.2f}"), Column("params_m", "Params [M]", "{:.3f}"),
        Column("flops_g", "FLOPs [G]", "{:.2f}"), Column("acts_m", "Acts [M]", "{:.2f}"),
        Column("mem_mib", "Mem [M]", "{:.2f}"), Column("conv", "Conv", "{}")],
        rows=[{k: v for k, v in r.items() if k != "_rank"} for r in sorted(rows, key=lambda r: r["order"])])
    return [t6, official]


def results_txt(records: list[dict[str, Any]]) -> str:
    """The official ``results.txt`` of ``records`` (input order): :func:`challenge.rank.format_results_txt`."""
    return format_results_txt(metrics_from_record(rec, rec.get("team") or rec.get("_file")) for rec in records)
