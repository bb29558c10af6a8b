"""Issue 13, item 4: a runtime record whose output is non-finite or far from fp32 is ``invalid``."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from bench import runtime as rt
from bench.commands.runtime import _print_record
from bench.output_check import MIN_PSNR_VS_FP32, output_problem


class _Overflows(nn.Module):
    """z = (1000 (|y| + 1))^2 >= 1e6, then z - z: 0 in fp32; in fp16 (max 65,504) z overflows to inf and
    inf - inf = NaN in every one of the 1x3x16x16 = 768 output values."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 1)
        self.up = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (1000 * (self.up(self.conv(x)).abs() + 1)) ** 2
        return z - z


class _Cancels(nn.Module):
    """(x + 1000) - 1000: x in fp32; in bf16 (8-bit mantissa) 1000 + x is a multiple of 4 (or 8): finite, far."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.PixelShuffle(2)
        self.conv = nn.Conv2d(3, 12, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.up(self.conv(x)) + 1000) - 1000


def _run(net: nn.Module, dtype: str) -> rt.RuntimeRecord:
    return rt.measure_runtime(net, 2, input_size=(8, 8), warmup=1, repeats=3, dtype=dtype, memory=False)


def test_fp16_overflow_to_nan_is_invalid(capsys: pytest.CaptureFixture) -> None:
    net = _Overflows()
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.isfinite(net(x)).all()  # fp32: finite
    rec = _run(net, "fp16")
    assert rec.status == "invalid"
    assert "non-finite output in fp16: 768 NaN and 0 inf of 768 values" in rec.message  # 1x3x16x16 = 768
    assert "the fp32 output is finite: fp16 overflows" in rec.message
    # no time is left in a result field
    assert rec.median_ms is None and rec.mean_ms is None and rec.min_ms is None and rec.times_ms == []
    assert len(rec.protocol["discarded_times_ms"]) == 3
    _print_record(rec)
    out = capsys.readouterr().out
    assert "invalid" in out and " ms" not in out and "median" not in out


def test_lower_precision_far_from_fp32_is_invalid() -> None:
    rec = _run(_Cancels(), "bf16")
    assert rec.status == "invalid"
    assert "bf16 output is" in rec.message and "dB from the fp32 output" in rec.message
    assert rec.median_ms is None


def test_valid_runs_stay_ok() -> None:
    assert _run(_Cancels(), "fp32").status == "ok"  # fp32: nothing to compare, output finite
    rec = _run(nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2)), "bf16")
    assert rec.status == "ok", rec.message
    assert rec.median_ms is not None


def test_output_problem_thresholds() -> None:
    """PSNR vs fp32 over data_range 1: an RMS error of 0.01 is 40 dB (valid), 0.05 is 26.0 dB (invalid)."""
    ref = torch.zeros(1, 3, 4, 4)
    assert output_problem(ref + 0.01, ref, 1.0, "fp16") is None
    msg = output_problem(ref + 0.05, ref, 1.0, "fp16")
    assert msg is not None and f"{10 * math.log10(1 / 0.05**2):.1f} dB" in msg and MIN_PSNR_VS_FP32 == 30.0
    assert output_problem(torch.tensor([1.0, math.inf])) == "non-finite output in fp32: 0 NaN and 1 inf of 2 values"
    assert output_problem(ref, torch.full_like(ref, math.nan), 1.0, "fp16") == (
        "the fp32 reference output is itself non-finite")
    with pytest.raises(ValueError, match="differs"):
        output_problem(ref, torch.zeros(2), 1.0, "fp16")


def test_compare_marks_the_invalid_model_only() -> None:
    ok = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2))
    rec = rt.compare_runtime([_Overflows(), ok], 2, input_size=(8, 8), warmup=0, rounds=2, dtype="fp16")
    bad = rec.records["_Overflows"]
    assert bad.status == "invalid" and "NaN" in bad.message and bad.median_ms is None
    assert rec.records["Sequential"].status == "ok" and rec.records["Sequential"].median_ms is not None
