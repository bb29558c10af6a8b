"""One rule, one place: figures keep one meaning (runtime headline, memory), shared readers and metrics."""

from __future__ import annotations

from pathlib import Path

from reports import load_results
from reports.tables import runtime_table
from tests.fakes_bench import write


def _runtime(model: str, mode: str, **fields) -> dict:
    rec = {"kind": "runtime", "model": model, "scale": 4, "device": "cpu", "mode": mode, "status": "ok",
           "input_size": None, "dataset": None, "median_ms": None, "ave_time_ms": None, "iqr_ms": None}
    rec.update(fields)
    return rec


def test_runtime_table_headline_and_best_only_among_comparable_rows(tmp_path: Path) -> None:
    root = tmp_path / "results"
    write(root, "runtime/agdn_x4.json", _runtime("agdn", "robust", input_size=[256, 256], median_ms=10.0))
    write(root, "runtime/agdn-s_x4.json", _runtime("agdn-s", "robust", input_size=[256, 256], median_ms=20.0))
    write(root, "runtime/rlfn-ntire22_x4.json", _runtime("rlfn-ntire22", "robust", input_size=[64, 64],
                                                         median_ms=1.0))
    # NTIRE row: Ave Time 18 ms; its pooled median (if any) is never shown
    write(root, "runtime/span-ch28_x4.json", _runtime("span-ch28", "ntire", dataset="DIV2K_LSDIR_valid",
                                                      ave_time_ms=18.0, median_ms=2.0))
    t = runtime_table(load_results(root))
    rows = {r["model"]: r for r in t.rows}
    assert rows["span-ch28"]["time_ms"] == 18.0 and rows["span-ch28"]["statistic"] == "NTIRE Ave Time"
    assert rows["agdn"]["time_ms"] == 10.0 and rows["agdn"]["statistic"] == "median"
    # best/second only within (device, mode, input): 64x64 and NTIRE rows do not outrank the 256x256 ones
    ranks = {m: r["_rank"].get("time_ms") for m, r in rows.items()}
    assert ranks == {"agdn": 1, "agdn-s": 2, "rlfn-ntire22": 1, "span-ch28": 1}
    assert "after warm-up" not in t.caption.split("NTIRE rows")[1]
