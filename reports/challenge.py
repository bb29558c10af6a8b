"""Challenge tables: the paper's table 6 style and the official NTIRE ``results.txt`` style.

Input: the challenge records of a results directory (``<out>/challenge/<team>.json``) or an official
``results.json`` dropped there. Field names are read with aliases so both the challenge runner's
records and the official format work. For a year with rules on record (2022-2026), the score, the PSNR
thresholds (raw, unrounded PSNR) and every track's rank come from :mod:`challenge.rules` /
:mod:`challenge.rank`, the one place those rules are stored. Without a known year, a record's own
``score`` and ``passes`` are shown and the rows are ranked by score (or by average runtime), then by
runtime, FLOPs and params, each among the passing rows.
"""

from __future__ import annotations

from typing import Any

from challenge.rank import BASELINE_RE, competition_ranks, rank_teams
from challenge.rules import get_rules, score_terms
from challenge.score import TeamMetrics

from .tables import Column, Table

_ALIASES = {
    "team": ("team", "name", "model"),
    "val_psnr": ("valid_ave_psnr", "val_psnr", "valid_psnr"),
    "test_psnr": ("test_ave_psnr", "test_psnr"),
    "val_time": ("valid_ave_runtime", "val_runtime_ms", "valid_runtime_ms", "val_time_ms"),
    "test_time": ("test_ave_runtime", "test_runtime_ms", "test_time_ms"),
    "ave_time": ("ave_runtime", "ave_runtime_ms", "runtime_ms", "ave_time_ms"),
    "params_m": ("num_parameters", "params_m"),
    "flops_g": ("flops", "flops_g"),
    "acts_m": ("activations", "acts_m", "activations_m"),
    "mem_mib": ("valid_memory", "memory_mib", "mem_mib", "peak_mem_mib"),
    "conv": ("num_conv", "convs", "conv"),
    "score": ("score",),
    "year": ("year",),
}


def _get(rec: dict[str, Any], key: str) -> Any:
    for alias in _ALIASES[key]:
        v = rec.get(alias)
        if isinstance(v, (int, float, str)) and not isinstance(v, bool):
            return v
    for sub in ("official", "metrics", "result", "results"):
        if isinstance(rec.get(sub), dict):
            v = _get(rec[sub], key) if key != "team" else None
            if v is not None:
                return v
    return None


def score(year: int, runtime_ms: float, flops_g: float, params_m: float) -> float:
    """The NTIRE ``year`` score (2024-2026) of raw runtime (ms), FLOPs (G), params (M); lower is better.

    The rule itself is :func:`challenge.rules.score_terms`; raises ``ValueError`` for a rank-sum or
    unknown year.
    """
    return score_terms(get_rules(year), runtime_ms, flops_g, params_m)["score"]


def challenge_rows(records: list[dict[str, Any]], year: int | None = None) -> list[dict[str, Any]]:
    """Normalised rows (team, PSNRs, times, complexity, score, threshold flags, ranks)."""
    rows = []
    for order, rec in enumerate(records):
        row: dict[str, Any] = {k: _get(rec, k) for k in _ALIASES}
        row["team"] = str(row["team"] or rec.get("_file", "?"))
        row["order"] = order
        if row["params_m"] is None and isinstance(rec.get("params"), int):
            row["params_m"] = rec["params"] / 1e6
        if row["ave_time"] is None and row["val_time"] is not None and row["test_time"] is not None:
            row["ave_time"] = (row["val_time"] + row["test_time"]) / 2
        elif row["ave_time"] is None:
            row["ave_time"] = row["val_time"] if row["val_time"] is not None else row["test_time"]
        y = int(row["year"] or year or 0) or None
        row["year"] = y
        row["status"] = rec.get("status", "ok")
        row["message"] = rec.get("message", "")
        row["passes"], row["rounding_flag"] = rec.get("passes", True), False
        if row["status"] != "ok":
            row["passes"] = False
        rows.append(row)
    for r in rows:
        r["baseline"] = bool(BASELINE_RE.match(r["team"]))
    if not _official_ranking(rows, rows[0]["year"] if rows and rows[0]["year"] else year):
        _rank(rows, "rank_main", "score" if any(r["score"] is not None for r in rows) else "ave_time")
        for key, col in (("rank_runtime", "ave_time"), ("rank_flops", "flops_g"), ("rank_params", "params_m")):
            _rank(rows, key, col)
    rows.sort(key=lambda r: (r["rank_main"] is None, r["rank_main"] or 0, r["team"]))
    return rows


def _rank(rows: list[dict[str, Any]], key: str, col: str) -> None:
    """Competition ranks (ties share the smaller rank) among passing, non-baseline rows."""
    pool = [r for r in rows if r["passes"] and not r["baseline"] and r.get(col) is not None]
    for r in rows:
        r[key] = None
    for r, rank in zip(pool, competition_ranks([r[col] for r in pool])):
        r[key] = rank


def _official_ranking(rows: list[dict[str, Any]], year: int | None) -> bool:
    """Score, thresholds and every track's rank by the year's rules (:mod:`challenge.rules`).

    Fills ``score``, ``passes``, ``rounding_flag``, ``rank_main`` and ``tracks`` ({track: rank}); returns
    False (rows keep their own score/passes and get plain ranks) when no rules are on record for ``year``.
    """
    if not year:
        return False
    try:
        rules = get_rules(year)
    except ValueError:
        return False
    metrics = [TeamMetrics(name=r["team"], valid_psnr=r["val_psnr"], test_psnr=r["test_psnr"],
                           valid_runtime_ms=r["val_time"] if r["val_time"] is not None else r["ave_time"],
                           test_runtime_ms=r["test_time"] if r["test_time"] is not None else r["ave_time"],
                           params_m=r["params_m"], flops_g=r["flops_g"], acts_m=r["acts_m"], mem_mib=r["mem_mib"],
                           convs=r["conv"], status=r["status"], message=r["message"] or "") for r in rows]
    ranking = rank_teams(rules, metrics)
    for r, ts in zip(rows, ranking.teams):
        r["score"] = ts.score if ts.score is not None else r["score"]
        r["passes"], r["rounding_flag"], r["baseline"] = ts.passes_threshold, ts.passes_only_rounded, ts.is_baseline
        r["tracks"] = {track: ranking.rank_of(track, r["team"]) for track in ranking.tracks}
        r["rank_main"] = r["tracks"].get(rules.main_track)
    return True


def challenge_tables(records: list[dict[str, Any]], year: int | None = None) -> list[Table]:
    """Two tables: paper table 6 style (with score and ranks) and the official results.txt columns."""
    if not records:
        return []
    rows = challenge_rows(records, year)
    for r in rows:
        r["_classes"] = {"val_psnr": None if r["passes"] else "differ", "test_psnr": None if r["passes"] else "differ"}
        r["_no_best"] = not r["passes"] or r.get("baseline", False)
        if r.get("baseline") and r["passes"]:
            r["note"] = "baseline (not ranked)"
        elif r["rounding_flag"]:
            r["note"] = "fails PSNR threshold on the raw value (displays as passing after rounding)"
        elif r["passes"]:
            r["note"] = ""
        else:
            r["note"] = "below PSNR threshold" if r["status"] == "ok" else f"{r['status']}: {r['message']}"
    tracks = next((list(r["tracks"]) for r in rows if r.get("tracks")), None)
    if tracks:
        rank_cols = [Column(f"track:{name}", f"Rank: {name}") for name in tracks[1:]]
        for r in rows:
            r.update({f"track:{name}": rank for name, rank in (r.get("tracks") or {}).items()})
    else:
        rank_cols = [Column("rank_runtime", "Runtime rank"), Column("rank_flops", "FLOPs rank"),
                     Column("rank_params", "Params rank")]
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


def results_txt(records: list[dict[str, Any]], year: int | None = None) -> str:
    """The official ``results.txt`` layout (tab-separated, fixed-width fields), teams in input order."""
    rows = sorted(challenge_rows(records, year), key=lambda r: r["order"])

    def f(v: Any, spec: str, width: int) -> str:
        return (spec.format(v) if isinstance(v, (int, float)) else "-").ljust(width)

    head = ["Model".ljust(20), "Val PSNR".ljust(10), "Test PSNR".ljust(10), "Val Time [ms]".ljust(14),
            "Test Time [ms]".ljust(14), "Ave Time [ms]".ljust(14), "Params [M]".ljust(10), "FLOPs [G]".ljust(10),
            "Acts [M]".ljust(8), "Mem [M]".ljust(8), "Conv".ljust(8)]
    lines = ["\t".join(head)]
    for r in rows:
        lines.append("\t".join([
            r["team"].ljust(20), f(r["val_psnr"], "{:.2f}", 10), f(r["test_psnr"], "{:.2f}", 10),
            f(r["val_time"], "{:.2f}", 14), f(r["test_time"], "{:.2f}", 14), f(r["ave_time"], "{:.2f}", 14),
            f(r["params_m"], "{:.3f}", 10), f(r["flops_g"], "{:.2f}", 10), f(r["acts_m"], "{:.2f}", 8),
            f(r["mem_mib"], "{:.2f}", 8), (f"{r['conv']:>4}" if isinstance(r["conv"], int) else "   -").ljust(8)]))
    return "\n".join(lines) + "\n"
