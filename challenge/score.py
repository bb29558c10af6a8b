"""Per-team scores and PSNR-threshold checks under one year's NTIRE ESR rules.

Inputs are the raw values of an official ``results.json`` entry (or of an esr-bench challenge
record, which stores the same fields under ``"official"``): per-split mean PSNR (RGB, border 4),
per-split mean runtime (ms), params (M), FLOPs (G), activations (M), memory (MiB), convs.
"Ave Time" is ``(valid mean + test mean) / 2`` on the raw means (the official ``results.txt`` shows
it rounded to 2 decimals; the score uses the raw value), :func:`bench.stats.ave_time_ms`. A team timed
on one split only gets that split's mean, which is not the official figure:
:attr:`TeamMetrics.ave_time_splits` says which splits it covers, and :func:`challenge.rank.rank_teams`
never ranks it against teams timed on other splits.

The threshold is checked on the *raw* PSNR. Some official rows were accepted on the 2-decimal
display (2026 PDS: valid 26.8964 displayed as 26.90); such rows are flagged ``passes_only_rounded``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.stats import ave_time_ms

from .rules import YearRules, score_terms

__all__ = ["TeamMetrics", "ThresholdCheck", "TeamScore", "metrics_from_official", "score_team"]


@dataclass
class TeamMetrics:
    """One team's measured figures in official units (see module docstring)."""

    name: str
    valid_psnr: float | None = None
    test_psnr: float | None = None
    valid_runtime_ms: float | None = None
    test_runtime_ms: float | None = None
    params_m: float | None = None
    flops_g: float | None = None
    acts_m: float | None = None
    mem_mib: float | None = None
    convs: int | None = None
    status: str = "ok"
    message: str = ""
    label: str = ""  # the name exactly as the source wrote it (official results.txt keeps blanks)

    @property
    def ave_time_splits(self) -> tuple[str, ...]:
        """The splits with a runtime, in official order: ``("valid", "test")`` for the official Ave Time."""
        return tuple(k for k, v in (("valid", self.valid_runtime_ms), ("test", self.test_runtime_ms)) if v is not None)

    @property
    def ave_time_official(self) -> bool:
        """Whether :attr:`ave_runtime_ms` is the official ``(valid + test) / 2`` (both splits timed)."""
        return self.ave_time_splits == ("valid", "test")

    @property
    def ave_runtime_ms(self) -> float | None:
        """"Ave Time" (ms): mean of the per-split means over :attr:`ave_time_splits` (``None`` when none).

        The official figure when both splits were timed (:attr:`ave_time_official`); otherwise the one
        split's mean, which rankings never compare with two-split figures.
        """
        means = {"valid": self.valid_runtime_ms, "test": self.test_runtime_ms}
        return ave_time_ms({k: means[k] for k in self.ave_time_splits}) if self.ave_time_splits else None

    def metric(self, name: str) -> float | None:
        return {
            "runtime": self.ave_runtime_ms,
            "params": self.params_m,
            "flops": self.flops_g,
            "activations": self.acts_m,
            "memory": self.mem_mib,
        }[name]


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def metrics_from_official(name: str, entry: Mapping[str, Any]) -> TeamMetrics:
    """Metrics from one entry of the official ``results.json`` (test_demo.py format).

    Team names are stripped of surrounding blanks (the 2026 file has ``"         11_VSCINet"``).
    """
    convs = entry.get("num_conv")
    return TeamMetrics(
        name=name.strip(),
        label=name,
        valid_psnr=_num(entry.get("valid_ave_psnr")),
        test_psnr=_num(entry.get("test_ave_psnr")),
        valid_runtime_ms=_num(entry.get("valid_ave_runtime")),
        test_runtime_ms=_num(entry.get("test_ave_runtime")),
        params_m=_num(entry.get("num_parameters")),
        flops_g=_num(entry.get("flops")),
        acts_m=_num(entry.get("activations")),
        mem_mib=_num(entry.get("valid_memory")),
        convs=int(convs) if convs is not None else None,
    )


@dataclass
class ThresholdCheck:
    """PSNR threshold of one split: raw value vs threshold, and what the 2-decimal display suggests."""

    split: str
    value: float | None
    threshold: float
    passes: bool
    passes_display: bool

    @property
    def passes_only_rounded(self) -> bool:
        return self.passes_display and not self.passes


@dataclass
class TeamScore:
    """Score terms (score years) and threshold outcome of one team."""

    metrics: TeamMetrics
    terms: dict[str, float] = field(default_factory=dict)  # exp_runtime, exp_flops, exp_params, score
    checks: list[ThresholdCheck] = field(default_factory=list)
    is_baseline: bool = False
    unranked: str = ""  # why a team that passes is still not ranked (set by challenge.rank.rank_teams)

    @property
    def name(self) -> str:
        return self.metrics.name

    @property
    def score(self) -> float | None:
        return self.terms.get("score")

    @property
    def passes_threshold(self) -> bool:
        return self.metrics.status == "ok" and all(c.passes for c in self.checks)

    @property
    def passes_only_rounded(self) -> bool:
        """Fails on the raw PSNR but would pass on the 2-decimal display (flag, not a pass)."""
        return not self.passes_threshold and self.metrics.status == "ok" and all(
            c.passes_display for c in self.checks
        ) and any(c.passes_only_rounded for c in self.checks)

    @property
    def failed_splits(self) -> list[str]:
        return [c.split for c in self.checks if not c.passes]


def score_team(rules: YearRules, m: TeamMetrics, *, is_baseline: bool = False) -> TeamScore:
    """Threshold checks (raw PSNR) and, for 2024-2026, the exponential score of one team."""
    checks = []
    for split, thr in rules.psnr_threshold.items():
        v = m.valid_psnr if split == "valid" else m.test_psnr
        checks.append(
            ThresholdCheck(
                split=split,
                value=v,
                threshold=thr,
                passes=v is not None and v >= thr,
                passes_display=v is not None and round(v, 2) >= thr,
            )
        )
    terms: dict[str, float] = {}
    t, f, p = m.ave_runtime_ms, m.flops_g, m.params_m
    if rules.has_score and m.status == "ok" and None not in (t, f, p):
        terms = score_terms(rules, t, f, p)  # type: ignore[arg-type]
    return TeamScore(metrics=m, terms=terms, checks=checks, is_baseline=is_baseline)
