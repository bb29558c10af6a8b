"""Rules of the NTIRE Efficient Super-Resolution challenges 2022-2026 (x4), as data.

Facts come from the official challenge repositories and reports (ofsoundof/NTIRE2022_ESR,
ofsoundof/NTIRE2023_ESR, Amazingren/NTIRE2024_ESR, Amazingren/NTIRE2025_ESR, Amazingren/NTIRE2026_ESR).
Units follow the official ``results.txt``: runtime in ms (per-image mean of a split; "Ave Time" is
the mean of the valid and test means), parameters in M (``sum(p.numel())`` after inference), FLOPs in
G (2022/2023: the NTIRE hook counter of conv MACs + activation elements; 2024-2026: fvcore
``FlopCountAnalysis(...).total()``, one fused multiply-add = 1 flop), activations in M, memory in MiB,
all counted on a 1x3x256x256 LR input.

Scores (2024-2026): ``Score = w_t*exp(2*T/T0) + w_f*exp(2*F/F0) + w_p*exp(2*P/P0)`` with the baseline's
(T0, F0, P0); the baseline therefore scores ``exp(2) = 7.3891`` on every term. Lower is better.
Rank-sum years (2022/2023): the main track ranks runtime; sub-tracks sum ranks of several metrics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Baseline", "ScoreWeights", "YearRules", "RULES", "get_rules", "score_terms", "YEARS"]

#: Metric names used in every challenge record (keys of :class:`challenge.score.TeamMetrics`).
METRICS = ("runtime", "params", "flops", "activations", "memory")


@dataclass(frozen=True)
class Baseline:
    """The year's baseline and its official figures (runtime ms, params M, FLOPs G, acts M, mem MiB)."""

    model: str
    checkpoint: str
    val_psnr: float
    test_psnr: float | None
    runtime_ms: float
    params_m: float
    flops_g: float
    acts_m: float | None = None
    mem_mib: float | None = None
    convs: int | None = None
    data_range: float | None = None


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the runtime, FLOPs and params exponential terms (2024-2026)."""

    runtime: float
    flops: float
    params: float


@dataclass(frozen=True)
class YearRules:
    """One year's challenge rules.

    ``ranking`` maps a track name to the metrics whose ranks are summed (one metric = plain rank);
    the special metric ``"score"`` ranks by the exponential score. ``psnr_threshold`` holds the
    minimum PSNR per split (compared with the *raw* value, never a rounded display).
    """

    year: int
    repo: str
    gpu: str | None
    baseline: Baseline
    psnr_threshold: dict[str, float]  # split -> dB; empty when the rules on record give none
    flops_counter: str  # "hook" (NTIRE get_model_flops) or "fvcore"
    ranking: dict[str, tuple[str, ...]]
    weights: ScoreWeights | None = None  # None for rank-sum years
    valid_layout: tuple[str, str] = ("DIV2K_LSDIR_valid_HR", "DIV2K_LSDIR_valid_LR")
    test_layout: tuple[str, str] = ("DIV2K_LSDIR_test_HR", "DIV2K_LSDIR_test_LR")
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def main_track(self) -> str:
        return next(iter(self.ranking))

    @property
    def has_score(self) -> bool:
        return self.weights is not None


_RANK_SUM_2022 = {
    "main (runtime)": ("runtime",),
    "sub-track 1 (params + FLOPs)": ("params", "flops"),
    "sub-track 2 (overall: runtime, params, FLOPs, activations, memory)": METRICS,
}
_RANK_SUM_2023 = {
    "main (runtime)": ("runtime",),
    "model complexity (params + FLOPs)": ("params", "flops"),
    "overall (runtime, params, FLOPs, activations, memory)": METRICS,
}
_SCORE_TRACKS = {
    "main (score)": ("score",),
    "sub-track runtime": ("runtime",),
    "sub-track FLOPs": ("flops",),
    "sub-track params": ("params",),
}

RULES: dict[int, YearRules] = {
    2022: YearRules(
        year=2022,
        repo="ofsoundof/NTIRE2022_ESR",
        gpu="NVIDIA Titan Xp",
        baseline=Baseline("IMDN", "IMDN-NTIRE_x4.pth", 29.13, 28.78, 50.86, 0.894, 58.53, 154.14, 471.76, 43),
        psnr_threshold={"valid": 29.00},
        flops_counter="hook",
        ranking=_RANK_SUM_2022,
        valid_layout=("DIV2K_valid_HR", "DIV2K_valid_LR"),
        test_layout=("DIV2K_test_HR", "DIV2K_test_LR"),
        notes=("test LR files carry no x4 suffix (0901.png)",),
    ),
    2023: YearRules(
        year=2023,
        repo="ofsoundof/NTIRE2023_ESR",
        gpu=None,
        baseline=Baseline("RFDN", "RFDN-AIM_x4.pth", 29.04, 27.11, 35.54, 0.433, 27.10, 112.03, 788.13, 64, 255.0),
        psnr_threshold={},
        flops_counter="hook",
        ranking=_RANK_SUM_2023,
        valid_layout=("DIV2K_valid_HR", "DIV2K_valid_LR"),
        test_layout=("LSDIR_DIV2K_test_HR", "LSDIR_DIV2K_test_LR"),
        notes=("no PSNR threshold recorded in the rules on file; threshold not checked",),
    ),
    2024: YearRules(
        year=2024,
        repo="Amazingren/NTIRE2024_ESR",
        gpu="NVIDIA GeForce RTX 3090",
        baseline=Baseline("RLFN", "RLFN-NTIRE_x4.pth", 26.96, 27.07, 13.54, 0.317, 19.67, 80.05, 467.70, 39, 255.0),
        psnr_threshold={"valid": 26.90, "test": 26.99},
        flops_counter="fvcore",
        ranking=_SCORE_TRACKS,
        weights=ScoreWeights(0.7, 0.15, 0.15),
    ),
    2025: YearRules(
        year=2025,
        repo="Amazingren/NTIRE2025_ESR",
        gpu="NVIDIA RTX A6000",
        baseline=Baseline("EFDN", "EFDN_x4.pth", 26.93, 27.01, 16.69, 0.276, 16.70, 111.1167, 662.886, 65, 1.0),
        psnr_threshold={"valid": 26.90, "test": 26.99},
        flops_counter="fvcore",
        ranking=_SCORE_TRACKS,
        weights=ScoreWeights(0.7, 0.15, 0.15),
    ),
    2026: YearRules(
        year=2026,
        repo="Amazingren/NTIRE2026_ESR",
        gpu="NVIDIA RTX A6000",
        baseline=Baseline("SPAN (ch 28)", "SPAN-ch28_x4.pth", 26.94, 27.01, 7.74, 0.151, 9.83, 41.68, None, 22, 1.0),
        psnr_threshold={"valid": 26.90, "test": 26.99},
        flops_counter="fvcore",
        ranking=_SCORE_TRACKS,
        weights=ScoreWeights(0.8, 0.1, 0.1),
    ),
}

YEARS = tuple(sorted(RULES))


def get_rules(year: int | str) -> YearRules:
    """Rules of ``year``; an unknown year raises ``ValueError`` listing the known ones."""
    try:
        return RULES[int(year)]
    except (KeyError, ValueError):
        raise ValueError(f"no NTIRE ESR rules for year {year!r}; known years: {', '.join(map(str, YEARS))}") from None


def _exp_or_inf(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def score_terms(rules: YearRules, runtime_ms: float, flops_g: float, params_m: float) -> dict[str, float]:
    """Exponential terms and total score of the 2024-2026 rule, from raw (unrounded) values.

    Returns the unweighted terms ``exp_runtime = exp(2*T/T0)``, ``exp_flops``, ``exp_params`` (the
    baseline gets ``exp(2) = 7.3891`` on each), and ``score = w_t*exp_runtime + w_f*exp_flops +
    w_p*exp_params`` (the weights sum to 1, so the baseline's score is 7.3891 as well). A term whose
    exponent exceeds the float range (a figure above about 355x the baseline's, e.g. a 2026 Ave Time
    above 2,747 ms) is ``math.inf``, as numpy's ``exp`` gives: the team ranks last, never crashes the
    ranking.
    """
    if rules.weights is None:
        raise ValueError(f"NTIRE {rules.year} ranks by rank sums, it has no exponential score")
    b, w = rules.baseline, rules.weights
    terms = {
        "exp_runtime": _exp_or_inf(2.0 * runtime_ms / b.runtime_ms),
        "exp_flops": _exp_or_inf(2.0 * flops_g / b.flops_g),
        "exp_params": _exp_or_inf(2.0 * params_m / b.params_m),
    }
    terms["score"] = w.runtime * terms["exp_runtime"] + w.flops * terms["exp_flops"] + w.params * terms["exp_params"]
    return terms
